"""Batch-Constrained deep Q-learning (Fujimoto et al. 2019) as sfujim/BCQ writes it
(``continuous_BCQ/BCQ.py``: ``Actor``, ``Critic``, ``VAE``, ``BCQ.select_action``,
``BCQ.train``; ``continuous_BCQ/utils.py``: ``ReplayBuffer``), size-reduced.

Kept verbatim: the perturbation ``Actor``'s ``self.phi * self.max_action * torch.tanh(...)``
and ``(a + action).clamp(-self.max_action, self.max_action)``; the twin ``Critic`` with its
``q1`` method; the ``VAE``'s ``self.log_std(z).clamp(-4, 15)``, ``mean + std *
torch.randn_like(std)`` and ``decode``'s ``torch.randn((state.shape[0], self.latent_dim)).to(
self.device).clamp(-0.5,0.5)``; ``select_action``'s ``torch.FloatTensor(state.reshape(1,
-1)).repeat(100, 1)``, ``q1.argmax(0)`` and ``action[ind].cpu().data.numpy().flatten()``;
``train``'s VAE loss ``-0.5 * (1 + torch.log(std.pow(2)) - mean.pow(2) - std.pow(2)).mean()``,
the critic target under ``torch.no_grad()`` with ``torch.repeat_interleave(next_state, 10,
0)``, the soft clipped double-Q ``self.lmbda * torch.min(target_Q1, target_Q2) + (1. -
self.lmbda) * torch.max(target_Q1, target_Q2)`` and ``target_Q.reshape(batch_size, -1).max(1)[0]
.reshape(-1, 1)``, the DPG actor loss ``-self.critic.q1(state, perturbed_actions).mean()``, the
target networks from ``copy.deepcopy`` updated by ``target_param.data.copy_(self.tau *
param.data + (1 - self.tau) * target_param.data)``; ``torch.optim.Adam(self.vae.parameters())``
with the default learning rate; ``ReplayBuffer.sample``'s ``np.random.randint`` indices and
``torch.FloatTensor(self.state[ind]).to(self.device)``.

Changed: hidden sizes 400/300/750 -> 16/12/20, a 3-d state and 2-d action with random
transitions instead of a D4RL/Gym buffer, batch 100 -> 8, 4 iterations, ``select_action``'s
100 repeats -> 10; ``np.random.randint`` drawn from a seeded ``np.random.RandomState``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

__all__ = ["DTYPE", "run"]

DTYPE = "float32"  # torch.FloatTensor batches, as the repository
H1, H2, HV = 16, 12, 20


def _nets(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Actor(nn.Module):
        def __init__(self, state_dim, action_dim, max_action, phi=0.05):  # noqa: ANN001
            super(Actor, self).__init__()  # noqa: UP008
            self.l1 = nn.Linear(state_dim + action_dim, H1)
            self.l2 = nn.Linear(H1, H2)
            self.l3 = nn.Linear(H2, action_dim)

            self.max_action = max_action
            self.phi = phi

        def forward(self, state, action):  # noqa: ANN001, ANN201
            a = F.relu(self.l1(torch.cat([state, action], 1)))
            a = F.relu(self.l2(a))
            a = self.phi * self.max_action * torch.tanh(self.l3(a))
            return (a + action).clamp(-self.max_action, self.max_action)

    class Critic(nn.Module):
        def __init__(self, state_dim, action_dim):  # noqa: ANN001
            super(Critic, self).__init__()  # noqa: UP008
            self.l1 = nn.Linear(state_dim + action_dim, H1)
            self.l2 = nn.Linear(H1, H2)
            self.l3 = nn.Linear(H2, 1)

            self.l4 = nn.Linear(state_dim + action_dim, H1)
            self.l5 = nn.Linear(H1, H2)
            self.l6 = nn.Linear(H2, 1)

        def forward(self, state, action):  # noqa: ANN001, ANN201
            q1 = F.relu(self.l1(torch.cat([state, action], 1)))
            q1 = F.relu(self.l2(q1))
            q1 = self.l3(q1)

            q2 = F.relu(self.l4(torch.cat([state, action], 1)))
            q2 = F.relu(self.l5(q2))
            q2 = self.l6(q2)
            return q1, q2

        def q1(self, state, action):  # noqa: ANN001, ANN201
            q1 = F.relu(self.l1(torch.cat([state, action], 1)))
            q1 = F.relu(self.l2(q1))
            q1 = self.l3(q1)
            return q1

    # Vanilla Variational Auto-Encoder
    class VAE(nn.Module):
        def __init__(self, state_dim, action_dim, latent_dim, max_action, device):  # noqa: ANN001
            super(VAE, self).__init__()  # noqa: UP008
            self.e1 = nn.Linear(state_dim + action_dim, HV)
            self.e2 = nn.Linear(HV, HV)

            self.mean = nn.Linear(HV, latent_dim)
            self.log_std = nn.Linear(HV, latent_dim)

            self.d1 = nn.Linear(state_dim + latent_dim, HV)
            self.d2 = nn.Linear(HV, HV)
            self.d3 = nn.Linear(HV, action_dim)

            self.max_action = max_action
            self.latent_dim = latent_dim
            self.device = device

        def forward(self, state, action):  # noqa: ANN001, ANN201
            z = F.relu(self.e1(torch.cat([state, action], 1)))
            z = F.relu(self.e2(z))

            mean = self.mean(z)
            # Clamped for numerical stability
            log_std = self.log_std(z).clamp(-4, 15)
            std = torch.exp(log_std)
            z = mean + std * torch.randn_like(std)

            u = self.decode(state, z)

            return u, mean, std

        def decode(self, state, z=None):  # noqa: ANN001, ANN201
            # When sampling from the VAE, the latent vector is clipped to [-0.5, 0.5]
            if z is None:
                z = (torch.randn((state.shape[0], self.latent_dim)).to(self.device)
                     .clamp(-0.5, 0.5))  # fmt: skip

            a = F.relu(self.d1(torch.cat([state, z], 1)))
            a = F.relu(self.d2(a))
            return self.max_action * torch.tanh(self.d3(a))

    class BCQ:
        def __init__(self, state_dim, action_dim, max_action, device, discount=0.99, tau=0.005,
                     lmbda=0.75, phi=0.05):  # noqa: ANN001 # fmt: skip
            latent_dim = action_dim * 2

            self.actor = Actor(state_dim, action_dim, max_action, phi).to(device)
            self.actor_target = copy.deepcopy(self.actor)
            self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=1e-3)

            self.critic = Critic(state_dim, action_dim).to(device)
            self.critic_target = copy.deepcopy(self.critic)
            self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=1e-3)

            self.vae = VAE(state_dim, action_dim, latent_dim, max_action, device).to(device)
            self.vae_optimizer = torch.optim.Adam(self.vae.parameters())

            self.max_action = max_action
            self.action_dim = action_dim
            self.discount = discount
            self.tau = tau
            self.lmbda = lmbda
            self.device = device

        def select_action(self, state):  # noqa: ANN001, ANN201
            with torch.no_grad():
                state = torch.FloatTensor(state.reshape(1, -1)).repeat(10, 1).to(self.device)
                action = self.actor(state, self.vae.decode(state))
                q1 = self.critic.q1(state, action)
                ind = q1.argmax(0)
            return action[ind].cpu().data.numpy().flatten()

        def train(self, replay_buffer, iterations, batch_size=100):  # noqa: ANN001, ANN201
            losses = []
            for _it in range(iterations):
                # Sample replay buffer / batch
                state, action, next_state, reward, not_done = replay_buffer.sample(batch_size)

                # Variational Auto-Encoder Training
                recon, mean, std = self.vae(state, action)
                recon_loss = F.mse_loss(recon, action)
                KL_loss = -0.5 * (1 + torch.log(std.pow(2)) - mean.pow(2) - std.pow(2)).mean()
                vae_loss = recon_loss + 0.5 * KL_loss

                self.vae_optimizer.zero_grad()
                vae_loss.backward()
                self.vae_optimizer.step()

                # Critic Training
                with torch.no_grad():
                    # Duplicate next state 10 times
                    next_state = torch.repeat_interleave(next_state, 10, 0)

                    # Compute value of perturbed actions sampled from the VAE
                    target_Q1, target_Q2 = self.critic_target(
                        next_state, self.actor_target(next_state, self.vae.decode(next_state))
                    )

                    # Soft Clipped Double Q-learning
                    target_Q = self.lmbda * torch.min(target_Q1, target_Q2) + (
                        1.0 - self.lmbda
                    ) * torch.max(target_Q1, target_Q2)
                    # Take max over each action sampled from the VAE
                    target_Q = target_Q.reshape(batch_size, -1).max(1)[0].reshape(-1, 1)

                    target_Q = reward + not_done * self.discount * target_Q

                current_Q1, current_Q2 = self.critic(state, action)
                critic_loss = F.mse_loss(current_Q1, target_Q) + F.mse_loss(current_Q2, target_Q)

                self.critic_optimizer.zero_grad()
                critic_loss.backward()
                self.critic_optimizer.step()

                # Pertubation Model / Action Training
                sampled_actions = self.vae.decode(state)
                perturbed_actions = self.actor(state, sampled_actions)

                # Update through DPG
                actor_loss = -self.critic.q1(state, perturbed_actions).mean()

                self.actor_optimizer.zero_grad()
                actor_loss.backward()
                self.actor_optimizer.step()

                # Update Target Networks
                for param, target_param in zip(self.critic.parameters(),
                                               self.critic_target.parameters()):  # fmt: skip
                    target_param.data.copy_(
                        self.tau * param.data + (1 - self.tau) * target_param.data
                    )

                for param, target_param in zip(self.actor.parameters(),
                                               self.actor_target.parameters()):  # fmt: skip
                    target_param.data.copy_(
                        self.tau * param.data + (1 - self.tau) * target_param.data
                    )
                losses += [vae_loss.item(), critic_loss.item(), actor_loss.item()]
            return losses

    return locals()


def _replay_buffer(torch_like: Any) -> type:
    torch = torch_like

    class ReplayBuffer:
        def __init__(self, state_dim, action_dim, device, rng, max_size=int(1e6)):  # noqa: ANN001
            self.max_size = max_size
            self.ptr = 0
            self.size = 0

            self.state = np.zeros((max_size, state_dim))
            self.action = np.zeros((max_size, action_dim))
            self.next_state = np.zeros((max_size, state_dim))
            self.reward = np.zeros((max_size, 1))
            self.not_done = np.zeros((max_size, 1))

            self.device = device
            self.rng = rng

        def add(self, state, action, next_state, reward, done):  # noqa: ANN001, ANN201
            self.state[self.ptr] = state
            self.action[self.ptr] = action
            self.next_state[self.ptr] = next_state
            self.reward[self.ptr] = reward
            self.not_done[self.ptr] = 1.0 - done

            self.ptr = (self.ptr + 1) % self.max_size
            self.size = min(self.size + 1, self.max_size)

        def sample(self, batch_size):  # noqa: ANN001, ANN201
            ind = self.rng.randint(0, self.size, size=batch_size)

            return (
                torch.FloatTensor(self.state[ind]).to(self.device),
                torch.FloatTensor(self.action[ind]).to(self.device),
                torch.FloatTensor(self.next_state[ind]).to(self.device),
                torch.FloatTensor(self.reward[ind]).to(self.device),
                torch.FloatTensor(self.not_done[ind]).to(self.device),
            )

    return ReplayBuffer


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    rs = np.random.RandomState(0)
    state_dim, action_dim, max_action = 3, 2, 1.0
    buffer = _replay_buffer(torch_like)(state_dim, action_dim, "cpu", rs, max_size=64)
    for _ in range(40):
        s = rs.normal(size=state_dim)
        a = np.clip(rs.normal(scale=0.5, size=action_dim), -1, 1)
        buffer.add(
            s, a, s + 0.1 * np.concatenate([a, [0.0]]), -np.sum(s**2), float(rs.rand() < 0.1)
        )
    torch.manual_seed(0)
    policy = _nets(torch_like)["BCQ"](state_dim, action_dim, max_action, "cpu")
    values = policy.train(buffer, iterations=4, batch_size=8)
    action = policy.select_action(np.array([0.1, -0.2, 0.3]))
    values += [
        float(action.sum()),
        float(sum(p.detach().sum() for p in policy.actor_target.parameters())),
    ]
    return values
