"""The PyTorch "Reinforcement Learning (DQN) Tutorial" (``intermediate/reinforcement_q_learning``),
size-reduced: ``Transition = namedtuple('Transition', ('state', 'action', 'next_state',
'reward'))`` and ``ReplayMemory`` on a ``deque(maxlen=capacity)``; ``DQN`` (three ``nn.Linear``s);
``select_action`` with the epsilon-greedy threshold ``EPS_END + (EPS_START - EPS_END) *
math.exp(-1. * steps_done / EPS_DECAY)`` and ``policy_net(state).max(1).indices.view(1, 1)``;
``optimize_model`` (``Transition(*zip(*transitions))``, the ``non_final_mask`` built with
``torch.tensor(tuple(map(lambda s: s is not None, ...)), dtype=torch.bool)``, ``torch.cat``,
``policy_net(state_batch).gather(1, action_batch)``, ``next_state_values[non_final_mask] =
target_net(non_final_next_states).max(1).values`` under ``torch.no_grad()``,
``nn.SmoothL1Loss()``, ``optim.AdamW(..., amsgrad=True)``,
``torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)``) and the soft update of the
target network through ``state_dict()`` (``policy_net_state_dict[key]*TAU +
target_net_state_dict[key]*(1-TAU)``, ``target_net.load_state_dict``).

Gym's CartPole is replaced by a tiny deterministic environment (a 4-dimensional state pushed by
the action, done after a few steps), and ``random.random()``/``env.action_space.sample()`` by
draws from a seeded NumPy generator, so both frameworks take the same actions. Sizes: hidden
128 -> 16, BATCH_SIZE 128 -> 8, 600 episodes -> 4 (up to 6 steps each).
"""

from __future__ import annotations

import math
from collections import deque, namedtuple
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"  # the tutorial makes its states with dtype=torch.float32
BATCH_SIZE = 8
GAMMA = 0.99
EPS_START = 0.9
EPS_END = 0.05
EPS_DECAY = 20
TAU = 0.005
LR = 1e-3
N_OBSERVATIONS = 4
N_ACTIONS = 2

Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))


class ReplayMemory:
    def __init__(self, capacity: int, rng: np.random.Generator) -> None:
        self.memory = deque([], maxlen=capacity)
        self.rng = rng

    def push(self, *args: Any) -> None:
        """Save a transition"""
        self.memory.append(Transition(*args))

    def sample(self, batch_size: int) -> list:
        # random.sample(self.memory, batch_size), drawn from NumPy so both runs agree
        idx = self.rng.choice(len(self.memory), batch_size, replace=False)
        return [self.memory[i] for i in idx]

    def __len__(self) -> int:
        return len(self.memory)


class FakeCartPole:
    """A deterministic stand-in for ``gym.make("CartPole-v1")``: linear dynamics, reward 1."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.state = np.zeros(4)
        self.t = 0

    def reset(self) -> tuple[np.ndarray, dict]:
        self.state = self.rng.uniform(-0.05, 0.05, 4)
        self.t = 0
        return self.state.copy(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        push = 1.0 if action == 1 else -1.0
        s = self.state
        self.state = np.array(
            [
                s[0] + 0.1 * s[1],
                s[1] + 0.1 * push,
                s[2] + 0.1 * s[3],
                s[3] - 0.2 * push * s[2] - 0.05 * push,
            ]
        )
        self.t += 1
        terminated = bool(abs(self.state[2]) > 0.2 or self.t >= 6)
        return self.state.copy(), 1.0, terminated, False, {}


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class DQN(nn.Module):
        def __init__(self, n_observations: int, n_actions: int) -> None:
            super(DQN, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.layer1 = nn.Linear(n_observations, 16)
            self.layer2 = nn.Linear(16, 16)
            self.layer3 = nn.Linear(16, n_actions)

        # Called with either one element to determine next action, or a batch
        # during optimization. Returns tensor([[left0exp,right0exp]...]).
        def forward(self, x: Any) -> Any:
            x = F.relu(self.layer1(x))
            x = F.relu(self.layer2(x))
            return self.layer3(x)

    return DQN(N_OBSERVATIONS, N_ACTIONS)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(7)
    device = torch.device("cpu")
    env = FakeCartPole(rng)

    policy_net = make_model(torch_like).to(device)
    load_numpy_state(torch_like, policy_net, init)
    target_net = make_model(torch_like).to(device)
    target_net.load_state_dict(policy_net.state_dict())

    optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(10000, rng)
    steps_done = 0
    values: list[float] = []

    def select_action(state: Any) -> Any:
        nonlocal steps_done
        sample = rng.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1.0 * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                # t.max(1) will return the largest column value of each row.
                # second column on max result is index of where max element was
                # found, so we pick action with the larger expected reward.
                return policy_net(state).max(1).indices.view(1, 1)
        else:
            return torch.tensor(
                [[int(rng.integers(0, N_ACTIONS))]], device=device, dtype=torch.long
            )

    def optimize_model() -> None:
        if len(memory) < BATCH_SIZE:
            return
        transitions = memory.sample(BATCH_SIZE)
        # Transpose the batch (see https://stackoverflow.com/a/19343/3343043 for
        # detailed explanation). This converts batch-array of Transitions
        # to Transition of batch-arrays.
        batch = Transition(*zip(*transitions, strict=True))

        # Compute a mask of non-final states and concatenate the batch elements
        # (a final state would've been the one after which simulation ended)
        non_final_mask = torch.tensor(
            tuple(map(lambda s: s is not None, batch.next_state)),  # noqa: C417
            device=device,
            dtype=torch.bool,
        )
        non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)

        # Compute Q(s_t, a) - the model computes Q(s_t), then we select the
        # columns of actions taken.
        state_action_values = policy_net(state_batch).gather(1, action_batch)

        # Compute V(s_{t+1}) for all next states.
        next_state_values = torch.zeros(BATCH_SIZE, device=device)
        with torch.no_grad():
            next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
        # Compute the expected Q values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch

        # Compute Huber loss
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        values.append(loss.item())

        # Optimize the model
        optimizer.zero_grad()
        loss.backward()
        # In-place gradient clipping
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()

    num_episodes = 4
    for _i_episode in range(num_episodes):
        # Initialize the environment and get its state
        state, info = env.reset()
        state = torch.tensor(state, dtype=torch.float32, device=device).unsqueeze(0)
        for _t in range(100):
            action = select_action(state)
            observation, reward, terminated, truncated, _ = env.step(action.item())
            reward = torch.tensor([reward], device=device)
            done = terminated or truncated

            if terminated:
                next_state = None
            else:
                next_state = torch.tensor(
                    observation, dtype=torch.float32, device=device
                ).unsqueeze(0)

            # Store the transition in memory
            memory.push(state, action, next_state, reward)

            # Move to the next state
            state = next_state

            # Perform one step of the optimization (on the policy network)
            optimize_model()

            # Soft update of the target network's weights
            # θ′ ← τ θ + (1 −τ )θ′
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[
                    key
                ] * TAU + target_net_state_dict[key] * (1 - TAU)
            target_net.load_state_dict(target_net_state_dict)

            if done:
                values.append(float(_t + 1))  # episode_durations.append(t + 1)
                break
    values += [p.sum().item() for p in target_net.parameters()]
    return values
