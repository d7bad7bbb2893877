"""DDPG as the common single-file implementations write it (the ``ddpg.py`` of the
"Continuous control with deep reinforcement learning" ports, ``ghliu/pytorch-ddpg`` and
CleanRL's ``ddpg_continuous_action.py``), size-reduced, on a tiny deterministic
continuous-control environment.

The idioms: a replay buffer of preallocated NumPy arrays sampled with a seeded
``np.random.default_rng`` and converted with ``torch.as_tensor(..., dtype=torch.float32)`` and
``torch.from_numpy(...).float()``; an ``Actor`` ending in ``torch.tanh(self.mu(x)) *
self.action_scale + self.action_bias`` with ``register_buffer``'d action bounds; a ``Critic``
over ``torch.cat([x, a], 1)``; target networks by ``copy.deepcopy`` then
``target.load_state_dict(net.state_dict())``; ``requires_grad_(False)`` targets;
Ornstein-Uhlenbeck exploration noise (``x + theta * (mu - x) * dt + sigma * sqrt(dt) *
normal``) and its ``reset()``; actions clamped with tensor bounds ``torch.clamp(a,
low_t, high_t)`` (and ``torch.max(torch.min(a, high_t), low_t)``); the TD target under
``torch.no_grad()`` (``rewards + gamma * (1 - dones) * target_critic(next_obs,
target_actor(next_obs))``), ``F.mse_loss(q, target.detach())``, the actor loss ``-critic(s,
actor(s)).mean()``, ``nn.utils.clip_grad_norm_`` on the critic and ``clip_grad_value_`` on the
actor; the soft update written both ways, ``for tp, p in zip(target.parameters(),
net.parameters()): tp.data.mul_(1 - tau); tp.data.add_(tau * p.data)`` and ``with
torch.no_grad(): for tp, p in zip(...): tp.lerp_(p, tau)``; ``select_action`` through
``torch.from_numpy(state).float().unsqueeze(0)`` and ``.detach().cpu().numpy()[0]``.

Changed: the Gym environment is a deterministic point-mass ``ToyPendulum`` on NumPy; the OU
process draws its normals from a seeded NumPy generator; networks are small; the compared run
is float32 as DDPG trains, with a handful of updates.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
OBS_DIM, ACT_DIM, HIDDEN = 3, 2, 24
LOW, HIGH = np.array([-1.0, -0.5]), np.array([1.0, 1.5])
BATCH, START_STEPS, TOTAL_STEPS, GAMMA, TAU = 8, 10, 22, 0.99, 0.05


class ToyPendulum:
    """A 2-d point pulled to a target by a bounded action; deterministic given ``reset``'s seed."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.state = np.zeros(OBS_DIM)
        self.t = 0

    def reset(self, seed: int | None = None) -> np.ndarray:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = self.rng.uniform(-1.0, 1.0, OBS_DIM).astype(np.float32)
        self.t = 0
        return self.state.copy()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool]:
        x, y, v = self.state
        self.state = np.array(
            [x + 0.2 * action[0], y + 0.1 * action[1] - 0.05, 0.8 * v + 0.1 * x],
            dtype=np.float32,
        )
        self.t += 1
        reward = -float(np.sum(self.state[:2] ** 2) + 0.05 * np.sum(action**2))
        return self.state.copy(), reward, self.t >= 6


class OrnsteinUhlenbeckActionNoise:
    def __init__(
        self, mu: np.ndarray, sigma: float, rng: Any, theta: float = 0.15, dt: float = 1e-2
    ) -> None:
        self.theta, self.mu, self.sigma, self.dt, self.rng = theta, mu, sigma, dt, rng
        self.x0 = None
        self.reset()

    def __call__(self) -> np.ndarray:
        x = (
            self.x_prev
            + self.theta * (self.mu - self.x_prev) * self.dt
            + self.sigma * np.sqrt(self.dt) * self.rng.normal(size=self.mu.shape)
        )
        self.x_prev = x
        return x

    def reset(self) -> None:
        self.x_prev = self.x0 if self.x0 is not None else np.zeros_like(self.mu)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Actor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(OBS_DIM, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, HIDDEN)
            self.fc_mu = nn.Linear(HIDDEN, ACT_DIM)
            # action rescaling
            self.register_buffer(
                "action_scale", torch.tensor((HIGH - LOW) / 2.0, dtype=torch.float32)
            )
            self.register_buffer(
                "action_bias", torch.tensor((HIGH + LOW) / 2.0, dtype=torch.float32)
            )

        def forward(self, x: Any) -> Any:
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = torch.tanh(self.fc_mu(x))
            return x * self.action_scale + self.action_bias

    class QNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(OBS_DIM + ACT_DIM, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, HIDDEN)
            self.fc3 = nn.Linear(HIDDEN, 1)

        def forward(self, x: Any, a: Any) -> Any:
            x = torch.cat([x, a], 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    class Agent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.actor = Actor()
            self.qf1 = QNetwork()

    return Agent()


class ReplayBuffer:
    def __init__(self, torch_like: Any, capacity: int, seed: int) -> None:
        self.torch = torch_like
        self.obs = np.zeros((capacity, OBS_DIM), dtype=np.float32)
        self.next_obs = np.zeros((capacity, OBS_DIM), dtype=np.float32)
        self.actions = np.zeros((capacity, ACT_DIM), dtype=np.float32)
        self.rewards = np.zeros((capacity,), dtype=np.float32)
        self.dones = np.zeros((capacity,), dtype=np.float32)
        self.capacity, self.pos, self.full = capacity, 0, False
        self.rng = np.random.default_rng(seed)

    def add(self, obs: Any, next_obs: Any, action: Any, reward: float, done: bool) -> None:
        self.obs[self.pos] = obs
        self.next_obs[self.pos] = next_obs
        self.actions[self.pos] = action
        self.rewards[self.pos] = reward
        self.dones[self.pos] = float(done)
        self.pos = (self.pos + 1) % self.capacity
        self.full = self.full or self.pos == 0

    def __len__(self) -> int:
        return self.capacity if self.full else self.pos

    def sample(self, batch_size: int) -> tuple:
        torch = self.torch
        idx = self.rng.choice(len(self), size=batch_size, replace=False)
        return (
            torch.as_tensor(self.obs[idx], dtype=torch.float32),
            torch.from_numpy(self.actions[idx]).float(),
            torch.from_numpy(self.next_obs[idx]).float(),
            torch.as_tensor(self.rewards[idx]).unsqueeze(1),
            torch.from_numpy(self.dones[idx].astype(np.float64)).float().unsqueeze(-1),
        )


def soft_update_data(target: Any, source: Any, tau: float) -> None:
    for tp, p in zip(target.parameters(), source.parameters(), strict=True):
        tp.data.mul_(1 - tau)
        tp.data.add_(tau * p.data)


def soft_update_lerp(torch_like: Any, target: Any, source: Any, tau: float) -> None:
    with torch_like.no_grad():
        for tp, p in zip(target.parameters(), source.parameters(), strict=True):
            tp.lerp_(p, tau)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    agent = make_model(torch)
    load_numpy_state(torch, agent, init)
    actor, qf1 = agent.actor, agent.qf1
    target_actor = copy.deepcopy(actor)
    qf1_target = copy.deepcopy(qf1)
    target_actor.load_state_dict(actor.state_dict())
    qf1_target.load_state_dict(qf1.state_dict())
    for p in list(target_actor.parameters()) + list(qf1_target.parameters()):
        p.requires_grad_(False)
    q_optimizer = torch.optim.Adam(list(qf1.parameters()), lr=1e-3)
    actor_optimizer = torch.optim.Adam(list(actor.parameters()), lr=1e-3)
    low_t = torch.as_tensor(LOW, dtype=torch.float32)
    high_t = torch.from_numpy(HIGH).float()

    rng = np.random.default_rng(3)
    noise = OrnsteinUhlenbeckActionNoise(np.zeros(ACT_DIM), sigma=0.3, rng=rng, dt=0.05)
    rb = ReplayBuffer(torch, 64, seed=4)
    env = ToyPendulum()
    values: list[float] = [float(not any(p.requires_grad for p in qf1_target.parameters()))]
    values += [float(all(p.requires_grad for p in qf1.parameters()))]

    obs, episode_return = env.reset(seed=0), 0.0
    for global_step in range(TOTAL_STEPS):
        with torch.no_grad():
            state = torch.from_numpy(obs).float().unsqueeze(0)
            action = actor(state)
            action += torch.from_numpy(noise()).float()
            action = torch.clamp(action, low_t, high_t)
            clipped_again = torch.max(torch.min(action, high_t), low_t)
            assert torch.equal(action, clipped_again)
            action = action.detach().cpu().numpy()[0]
        next_obs, reward, done = env.step(action)
        rb.add(obs, next_obs, action, reward, done)
        obs, episode_return = next_obs, episode_return + reward
        if done:
            values += [episode_return]
            obs, episode_return = env.reset(), 0.0
            noise.reset()

        if global_step >= START_STEPS:
            b_obs, b_actions, b_next_obs, b_rewards, b_dones = rb.sample(BATCH)
            with torch.no_grad():
                next_state_actions = target_actor(b_next_obs)
                qf1_next_target = qf1_target(b_next_obs, next_state_actions)
                next_q_value = b_rewards + GAMMA * (1 - b_dones) * qf1_next_target
            qf1_a_values = qf1(b_obs, b_actions)
            qf1_loss = F.mse_loss(qf1_a_values, next_q_value.detach())

            q_optimizer.zero_grad()
            qf1_loss.backward()
            q_norm = torch.nn.utils.clip_grad_norm_(qf1.parameters(), 1.0)
            q_optimizer.step()
            values += [qf1_loss.item(), q_norm.item()]

            if global_step % 2 == 0:
                actor_loss = -qf1(b_obs, actor(b_obs)).mean()
                actor_optimizer.zero_grad()
                actor_loss.backward()
                torch.nn.utils.clip_grad_value_(actor.parameters(), 0.5)
                values += [max(p.grad.abs().max().item() for p in actor.parameters())]
                actor_optimizer.step()
                values += [actor_loss.item()]
                # the two soft-update spellings
                soft_update_data(target_actor, actor, TAU)
                soft_update_lerp(torch, qf1_target, qf1, TAU)

    values += [p.sum().item() for p in target_actor.parameters()]
    values += [p.sum().item() for p in qf1_target.parameters()]
    values += [float(target_actor.action_scale.sum().item()), float(len(rb))]

    # the two soft updates agree with each other (and with the closed form)
    a, b = copy.deepcopy(target_actor), copy.deepcopy(target_actor)
    soft_update_data(a, actor, 0.3)
    soft_update_lerp(torch, b, actor, 0.3)
    closed = 0.7 * target_actor.fc1.weight + 0.3 * actor.fc1.weight
    values += [(a.fc1.weight - b.fc1.weight).abs().max().item()]
    values += [(a.fc1.weight - closed).abs().max().item()]
    values += [float(not b.fc1.weight.requires_grad), float(b.fc1.weight.grad is None)]

    # the greedy policy on fresh states respects the bounds
    probe = np.array([[0.5, -0.5, 0.1], [-2.0, 3.0, 0.0]], dtype=np.float32)
    with torch.no_grad():
        greedy = actor(torch.as_tensor(probe))
    values += greedy.flatten().tolist()
    values += [float(((greedy >= low_t) & (greedy <= high_t)).all().item())]
    return values
