"""Munchausen DQN as BY571/Munchausen-RL writes it (``M-DQN.py``'s ``M_DQN_Agent.learn`` and
``soft_update``, ``model.py``'s ``DDQN`` with ``weight_init``), size-reduced.

The idioms kept: ``weight_init`` (``torch.nn.init.kaiming_normal_(layer.weight,
nonlinearity='relu')`` over a list of layers); the soft target with the log-sum-exp trick
(``Q_targets_next.max(1)[0].unsqueeze(-1)``, ``torch.logsumexp((Q_targets_next - ...) /
self.entropy_tau, 1).unsqueeze(-1)``, ``tau_log_pi_next = Q_targets_next - ... -
self.entropy_tau*logsum``, ``pi_target = F.softmax(Q_targets_next/self.entropy_tau, dim=1)``,
``(self.GAMMA * (pi_target * (Q_targets_next-tau_log_pi_next)*(1 - dones.unsqueeze(-1))).sum(1))
.unsqueeze(-1)``); the Munchausen bonus (``log_pi.gather(1, actions)``, ``rewards +
self.alpha*torch.clamp(munchausen_addon, min=self.lo, max=0)``) on ``.detach()``-ed target
outputs; ``q_k.gather(1, actions)`` with ``F.mse_loss``; ``clip_grad_norm_(
self.qnetwork_local.parameters(), 1)``; the Polyak ``soft_update`` (``target_param.data.copy_(
self.TAU*local_param.data + (1.0-self.TAU)*target_param.data)``); the replay ``experiences``
built with ``torch.from_numpy(np.vstack([e.state for e in experiences if e is not None]))
.float()`` and ``.long()``; epsilon-greedy ``act`` under ``eval()``/``torch.no_grad()`` with
``np.argmax(action_values.cpu().data.numpy())``.

Changed: the environment is ``_fake_env.FakeCartPole`` and the replay buffer a seeded NumPy
``deque`` sample; 256 units -> 8, batch 32 -> 6, 8 learning steps; ``random.random()`` for
epsilon-greedy is a seeded NumPy generator; ``.float()`` of the batch is kept (float32
tensors into a float64 network would not run, so the network is float32: ``DTYPE``).
"""

from __future__ import annotations

from collections import deque, namedtuple
from typing import Any

import numpy as np

from ._fake_env import FakeCartPole

__all__ = ["DTYPE", "make_model", "run"]

DTYPE = "float32"
STATE, ACTIONS, HID, BATCH = 4, 2, 8, 6

Experience = namedtuple("Experience", ["state", "action", "reward", "next_state", "done"])


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    def weight_init(layers):
        for layer in layers:
            torch_like.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")

    class DDQN(nn.Module):
        def __init__(self, state_size, action_size, layer_size):
            super().__init__()
            self.input_shape = state_size
            self.action_size = action_size
            self.head_1 = nn.Linear(self.input_shape[0], layer_size)
            self.ff_1 = nn.Linear(layer_size, layer_size)
            self.ff_2 = nn.Linear(layer_size, action_size)
            weight_init([self.head_1, self.ff_1])

        def forward(self, input):
            x = torch_like.relu(self.head_1(input))
            x = torch_like.relu(self.ff_1(x))
            out = self.ff_2(x)
            return out

    return DDQN((STATE,), ACTIONS, HID)


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    from_numpy = torch.from_numpy
    qnetwork_local, qnetwork_target = make_model(torch_like), make_model(torch_like)
    qnetwork_local.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    qnetwork_target.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = torch.optim.Adam(qnetwork_local.parameters(), lr=5e-3)
    GAMMA, TAU, entropy_tau, alpha, lo = 0.99, 0.1, 0.03, 0.9, -1
    rng = np.random.default_rng(4)
    memory: deque = deque(maxlen=100)
    env = FakeCartPole(max_steps=6)

    def act(state, eps=0.0):
        state = from_numpy(state).float().unsqueeze(0)
        qnetwork_local.eval()
        with torch.no_grad():
            action_values = qnetwork_local(state)
        qnetwork_local.train()
        if rng.random() > eps:  # select greedy action if random number is higher than epsilon
            return int(np.argmax(action_values.cpu().data.numpy()))
        return int(rng.integers(ACTIONS))

    def soft_update(local_model, target_model):
        for target_param, local_param in zip(target_model.parameters(), local_model.parameters()):
            target_param.data.copy_(TAU * local_param.data + (1.0 - TAU) * target_param.data)

    def learn(experiences):
        states, actions, rewards, next_states, dones = experiences
        Q_targets_next = qnetwork_target(next_states).detach()
        # calculate entropy term with logsum
        logsum = torch.logsumexp(
            (Q_targets_next - Q_targets_next.max(1)[0].unsqueeze(-1)) / entropy_tau, 1
        ).unsqueeze(-1)
        tau_log_pi_next = (
            Q_targets_next - Q_targets_next.max(1)[0].unsqueeze(-1) - entropy_tau * logsum
        )
        # target policy
        pi_target = F.softmax(Q_targets_next / entropy_tau, dim=1)
        Q_target = (
            GAMMA
            * (pi_target * (Q_targets_next - tau_log_pi_next) * (1 - dones.unsqueeze(-1))).sum(1)
        ).unsqueeze(-1)
        # calculate munchausen addon with logsum trick
        q_k_targets = qnetwork_target(states).detach()
        v_k_target = q_k_targets.max(1)[0].unsqueeze(-1)
        logsum = torch.logsumexp((q_k_targets - v_k_target) / entropy_tau, 1).unsqueeze(-1)
        log_pi = q_k_targets - v_k_target - entropy_tau * logsum
        munchausen_addon = log_pi.gather(1, actions)
        # calc munchausen reward:
        munchausen_reward = rewards + alpha * torch.clamp(munchausen_addon, min=lo, max=0)
        # Compute Q targets for current states
        Q_targets = munchausen_reward + Q_target
        # Get expected Q values from local model
        q_k = qnetwork_local(states)
        Q_expected = q_k.gather(1, actions)
        # Compute loss
        loss = F.mse_loss(Q_expected, Q_targets)
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(qnetwork_local.parameters(), 1)
        optimizer.step()
        # ------------------- update target network ------------------- #
        soft_update(qnetwork_local, qnetwork_target)
        return loss.detach().cpu().numpy(), float(grad_norm)

    def sample():
        experiences = [memory[i] for i in rng.choice(len(memory), BATCH, replace=False)]
        states = from_numpy(np.stack([e.state for e in experiences if e is not None])).float()
        actions = from_numpy(np.vstack([e.action for e in experiences if e is not None])).long()
        rewards = from_numpy(np.vstack([e.reward for e in experiences if e is not None])).float()
        next_states = from_numpy(
            np.stack([e.next_state for e in experiences if e is not None])
        ).float()
        dones = from_numpy(
            np.array([e.done for e in experiences if e is not None]).astype(np.uint8)
        ).float()
        return (states, actions, rewards, next_states, dones)

    out: list[float] = []
    state, _ = env.reset(seed=0)
    eps = 1.0
    for t in range(20):
        action = act(state, eps)
        next_state, reward, done, _, _ = env.step(action)
        memory.append(Experience(state, action, reward, next_state, done))
        state = env.reset()[0] if done else next_state
        eps = max(0.05, eps * 0.8)
        if len(memory) >= BATCH and t % 2 == 1:
            loss, grad_norm = learn(sample())
            out += [float(loss), grad_norm, action]
    return out
