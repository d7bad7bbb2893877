"""TD3 as sfujim/TD3 writes it (``TD3.py``, ``utils.py`` and ``main.py``), size-reduced, on a
tiny deterministic continuous-control environment.

The idioms: ``Actor`` ending in ``self.max_action * torch.tanh(self.l3(a))``; ``Critic`` with
twin Q heads over ``torch.cat([state, action], 1)`` and a ``Q1`` method; target networks from
``copy.deepcopy``; ``torch.optim.Adam(..., lr=3e-4)``; ``select_action`` through
``torch.FloatTensor(state.reshape(1, -1)).to(device)`` and ``.cpu().data.numpy().flatten()``;
``ReplayBuffer`` on NumPy arrays whose ``sample`` returns ``torch.FloatTensor(self.state[ind])
.to(self.device)``; ``train`` with ``self.total_it += 1``, target policy smoothing under
``torch.no_grad()`` (``noise = (torch.randn_like(action) * self.policy_noise).clamp(
-self.noise_clip, self.noise_clip)``, ``(self.actor_target(next_state) + noise).clamp(
-self.max_action, self.max_action)``), clipped double-Q targets (``torch.min(target_Q1,
target_Q2)``, ``reward + not_done * self.discount * target_Q``), the summed ``F.mse_loss``
critic loss, delayed policy updates (``if self.total_it % self.policy_freq == 0``) with
``-self.critic.Q1(state, self.actor(state)).mean()``, and Polyak averaging
``target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)``;
``save``/``load`` of the networks' and optimizers' state dicts through ``torch.save`` /
``torch.load`` (here into ``io.BytesIO``); ``main.py``'s exploration ``(policy.select_action(
np.array(state)) + np.random.normal(0, max_action * expl_noise, size=action_dim)).clip(
-max_action, max_action)``.

``torch.randn_like`` draws inside the library, so the compared training steps take the
standard-normal draw from NumPy (``train(replay_buffer, batch_size, eps)``); a separate run
with ``torch.randn_like`` itself checks what holds for any draw (shape, dtype, the clamp).
The buffer samples with a seeded NumPy generator instead of the global ``np.random``.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # torch.FloatTensor batches: TD3 trains in float32
STATE_DIM, ACTION_DIM, HIDDEN, MAX_ACTION = 3, 2, 32, 2.0
BATCH, START_STEPS, TRAIN_STEPS, EXPL_NOISE = 8, 12, 6, 0.1


class ToyReacher:
    """A point pushed by a bounded 2-d action towards the origin; the third coordinate is a
    velocity-like term. Deterministic given the seed of ``reset``."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.state = np.zeros(STATE_DIM)
        self.t = 0

    def reset(self, seed: int | None = None) -> np.ndarray:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = self.rng.uniform(-1.0, 1.0, STATE_DIM)
        self.t = 0
        return self.state.copy()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool]:
        x, y, v = self.state
        self.state = np.array([x + 0.1 * action[0], y + 0.1 * action[1], 0.9 * v + 0.05 * x])
        self.t += 1
        reward = -float(np.sum(self.state[:2] ** 2) + 0.01 * np.sum(action**2))
        return self.state.copy(), reward, self.t >= 5


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Actor(nn.Module):
        def __init__(self, state_dim: int, action_dim: int, max_action: float) -> None:
            super(Actor, self).__init__()  # noqa: UP008 (as in TD3.py)

            self.l1 = nn.Linear(state_dim, HIDDEN)
            self.l2 = nn.Linear(HIDDEN, HIDDEN)
            self.l3 = nn.Linear(HIDDEN, action_dim)

            self.max_action = max_action

        def forward(self, state: Any) -> Any:
            a = F.relu(self.l1(state))
            a = F.relu(self.l2(a))
            return self.max_action * torch.tanh(self.l3(a))

    class Critic(nn.Module):
        def __init__(self, state_dim: int, action_dim: int) -> None:
            super(Critic, self).__init__()  # noqa: UP008 (as in TD3.py)

            # Q1 architecture
            self.l1 = nn.Linear(state_dim + action_dim, HIDDEN)
            self.l2 = nn.Linear(HIDDEN, HIDDEN)
            self.l3 = nn.Linear(HIDDEN, 1)

            # Q2 architecture
            self.l4 = nn.Linear(state_dim + action_dim, HIDDEN)
            self.l5 = nn.Linear(HIDDEN, HIDDEN)
            self.l6 = nn.Linear(HIDDEN, 1)

        def forward(self, state: Any, action: Any) -> tuple[Any, Any]:
            sa = torch.cat([state, action], 1)

            q1 = F.relu(self.l1(sa))
            q1 = F.relu(self.l2(q1))
            q1 = self.l3(q1)

            q2 = F.relu(self.l4(sa))
            q2 = F.relu(self.l5(q2))
            q2 = self.l6(q2)
            return q1, q2

        def Q1(self, state: Any, action: Any) -> Any:
            sa = torch.cat([state, action], 1)

            q1 = F.relu(self.l1(sa))
            q1 = F.relu(self.l2(q1))
            q1 = self.l3(q1)
            return q1

    class Nets(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.actor = Actor(STATE_DIM, ACTION_DIM, MAX_ACTION)
            self.critic = Critic(STATE_DIM, ACTION_DIM)

    return Nets()


class ReplayBuffer:
    def __init__(self, torch_like: Any, state_dim: int, action_dim: int, max_size: int) -> None:
        self.torch = torch_like
        self.max_size = max_size
        self.ptr = 0
        self.size = 0

        self.state = np.zeros((max_size, state_dim))
        self.action = np.zeros((max_size, action_dim))
        self.next_state = np.zeros((max_size, state_dim))
        self.reward = np.zeros((max_size, 1))
        self.not_done = np.zeros((max_size, 1))

        self.device = torch_like.device("cpu")
        self.rng = np.random.default_rng(7)

    def add(self, state: Any, action: Any, next_state: Any, reward: float, done: bool) -> None:
        self.state[self.ptr] = state
        self.action[self.ptr] = action
        self.next_state[self.ptr] = next_state
        self.reward[self.ptr] = reward
        self.not_done[self.ptr] = 1.0 - done

        self.ptr = (self.ptr + 1) % self.max_size
        self.size = min(self.size + 1, self.max_size)

    def sample(self, batch_size: int) -> tuple:
        torch = self.torch
        ind = self.rng.integers(0, self.size, size=batch_size)

        return (
            torch.FloatTensor(self.state[ind]).to(self.device),
            torch.FloatTensor(self.action[ind]).to(self.device),
            torch.FloatTensor(self.next_state[ind]).to(self.device),
            torch.FloatTensor(self.reward[ind]).to(self.device),
            torch.FloatTensor(self.not_done[ind]).to(self.device),
        )


class TD3:
    def __init__(
        self,
        torch_like: Any,
        nets: Any,
        max_action: float,
        discount: float = 0.99,
        tau: float = 0.005,
        policy_noise: float = 0.2,
        noise_clip: float = 0.5,
        policy_freq: int = 2,
    ) -> None:
        torch = torch_like
        self.torch = torch_like
        device = torch.device("cpu")
        self.actor = nets.actor.to(device)
        self.actor_target = copy.deepcopy(self.actor)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)

        self.critic = nets.critic.to(device)
        self.critic_target = copy.deepcopy(self.critic)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=3e-4)

        self.max_action = max_action
        self.discount = discount
        self.tau = tau
        self.policy_noise = policy_noise
        self.noise_clip = noise_clip
        self.policy_freq = policy_freq
        self.device = device

        self.total_it = 0

    def select_action(self, state: np.ndarray) -> np.ndarray:
        state = self.torch.FloatTensor(state.reshape(1, -1)).to(self.device)
        return self.actor(state).cpu().data.numpy().flatten()

    def train(self, replay_buffer: ReplayBuffer, batch_size: int, eps: Any = None) -> list:
        torch = self.torch
        F = torch.nn.functional
        self.total_it += 1

        # Sample replay buffer
        state, action, next_state, reward, not_done = replay_buffer.sample(batch_size)

        with torch.no_grad():
            # Select action according to policy and add clipped noise
            draw = torch.randn_like(action) if eps is None else torch.FloatTensor(eps)
            noise = (draw * self.policy_noise).clamp(-self.noise_clip, self.noise_clip)

            next_action = (self.actor_target(next_state) + noise).clamp(
                -self.max_action, self.max_action
            )

            # Compute the target Q value
            target_Q1, target_Q2 = self.critic_target(next_state, next_action)
            target_Q = torch.min(target_Q1, target_Q2)
            target_Q = reward + not_done * self.discount * target_Q

        # Get current Q estimates
        current_Q1, current_Q2 = self.critic(state, action)

        # Compute critic loss
        critic_loss = F.mse_loss(current_Q1, target_Q) + F.mse_loss(current_Q2, target_Q)

        # Optimize the critic
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        out = [critic_loss.item(), noise.abs().max().item()]

        # Delayed policy updates
        if self.total_it % self.policy_freq == 0:
            # Compute actor losse
            actor_loss = -self.critic.Q1(state, self.actor(state)).mean()

            # Optimize the actor
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            out.append(actor_loss.item())

            # Update the frozen target models
            for param, target_param in zip(
                self.critic.parameters(), self.critic_target.parameters(), strict=True
            ):
                target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)

            for param, target_param in zip(
                self.actor.parameters(), self.actor_target.parameters(), strict=True
            ):
                target_param.data.copy_(self.tau * param.data + (1 - self.tau) * target_param.data)
        return out

    def save(self) -> dict:
        files = {}
        for name in ("critic", "critic_optimizer", "actor", "actor_optimizer"):
            buffer = io.BytesIO()
            self.torch.save(getattr(self, name).state_dict(), buffer)
            files[name] = buffer.getvalue()
        return files

    def load(self, files: dict) -> None:
        torch = self.torch

        def read(name: str) -> Any:
            return torch.load(io.BytesIO(files[name]))

        self.critic.load_state_dict(read("critic"))
        self.critic_optimizer.load_state_dict(read("critic_optimizer"))
        self.critic_target = copy.deepcopy(self.critic)

        self.actor.load_state_dict(read("actor"))
        self.actor_optimizer.load_state_dict(read("actor_optimizer"))
        self.actor_target = copy.deepcopy(self.actor)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(11)
    nets = make_model(torch)
    load_numpy_state(torch, nets, init)
    policy = TD3(torch, nets, MAX_ACTION)
    replay_buffer = ReplayBuffer(torch, STATE_DIM, ACTION_DIM, max_size=64)
    env = ToyReacher()
    values: list[float] = [float(policy.actor_target is not policy.actor)]
    values += [float(policy.actor_target.l1.weight.data_ptr() != policy.actor.l1.weight.data_ptr())]

    state, episode_reward = env.reset(seed=0), 0.0
    for t in range(START_STEPS + TRAIN_STEPS):
        action = (
            policy.select_action(np.array(state))
            + rng.normal(0, MAX_ACTION * EXPL_NOISE, size=ACTION_DIM)
        ).clip(-MAX_ACTION, MAX_ACTION)
        next_state, reward, done = env.step(action)
        replay_buffer.add(state, action, next_state, reward, float(done))
        state = next_state
        episode_reward += reward
        if t >= START_STEPS:
            values += policy.train(replay_buffer, BATCH, rng.standard_normal((BATCH, ACTION_DIM)))
        if done:
            values += [episode_reward]
            state, episode_reward = env.reset(), 0.0
    values += [p.sum().item() for p in policy.critic_target.parameters()]
    values += [p.sum().item() for p in policy.actor_target.parameters()]
    values += policy.select_action(np.zeros(STATE_DIM)).tolist()
    values += [policy.total_it]

    # save / load round trip: the reloaded agent acts and trains on as before
    files = policy.save()
    clone = TD3(torch, make_model(torch), MAX_ACTION)
    clone.load(files)
    probe = np.array([0.3, -0.2, 0.1])
    values += [float(np.array_equal(clone.select_action(probe), policy.select_action(probe)))]
    step = clone.actor_optimizer.state_dict()["state"][0]["step"]
    values += [
        float(step),
        float(clone.critic_target.l6.bias.item() == clone.critic.l6.bias.item()),
    ]

    # target policy smoothing with torch.randn_like: what holds for any draw
    torch.manual_seed(0)
    action = torch.FloatTensor(np.zeros((256, ACTION_DIM)))
    raw = torch.randn_like(action)
    noise = (raw * 0.2).clamp(-0.5, 0.5)
    values += [float(raw.shape == action.shape), float(raw.dtype == torch.float32)]
    values += [float(noise.abs().max().item() <= 0.5), float(abs(raw.mean().item()) < 0.2)]
    values += [float(torch.equal(noise, (raw * 0.2).clamp(-0.5, 0.5)))]
    out = clone.train(replay_buffer, BATCH)
    values += [float(len(out) == 2), float(out[1] <= clone.noise_clip), float(np.isfinite(out[0]))]
    return values
