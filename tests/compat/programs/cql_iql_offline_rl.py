"""Offline RL losses: discrete CQL (the ``CQL`` DQN variants, e.g. ``BY571/CQL``) and IQL
(``gwthomas/IQL-PyTorch`` ``src/iql.py``), size-reduced, on one fixed offline batch.

CQL: a Q-network ``Sequential``; the TD target is computed under ``torch.no_grad()`` from a target
network (``.detach().max(1)[0].unsqueeze(1)``, ``rewards + gamma * Q * (1 - dones)``); the
conservative term is ``torch.logsumexp(q_values, dim=1, keepdim=True).mean() -
q_values.gather(1, actions).mean()``; ``clip_grad_norm_(..., 1.)``; the target is refreshed by
``soft_update`` (``target_param.data.copy_(tau * local_param.data + (1.0 - tau) *
target_param.data)``).

IQL: ``TwinQ`` (``torch.min(*self.both(state, action))``), a ``ValueFunction``, a
``GaussianPolicy`` whose log-std is a ``nn.Parameter`` (``MultivariateNormal(mean,
scale_tril=torch.diag(std))``); ``asymmetric_l2_loss`` (``torch.abs(tau - (u < 0).float()) *
u**2``) for the value, ``F.mse_loss`` over both Q heads, advantage-weighted regression with
``torch.exp(beta * adv.detach()).clamp(max=EXP_ADV_MAX)``; the target Q follows
``update_exponential_moving_average`` (``target_param.data.mul_(1. - alpha).add_(source_param.data,
alpha=alpha)``) and the policy's Adam runs under ``CosineAnnealingLR``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

S_DIM, N_ACT, A_DIM, HIDDEN, N, STEPS = 4, 3, 2, 16, 16, 4
EXP_ADV_MAX = 100.0


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def mlp(dims: list[int], squeeze_output: bool = False) -> Any:
        layers: list[Any] = []
        for i in range(len(dims) - 2):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            layers.append(nn.ReLU())
        layers.append(nn.Linear(dims[-2], dims[-1]))
        if squeeze_output:
            layers.append(Squeeze(-1))
        return nn.Sequential(*layers)

    class Squeeze(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.dim = dim

        def forward(self, x: Any) -> Any:
            return x.squeeze(dim=self.dim)

    class TwinQ(nn.Module):
        def __init__(self, state_dim: int, action_dim: int, hidden_dim: int = HIDDEN) -> None:
            super().__init__()
            dims = [state_dim + action_dim, hidden_dim, hidden_dim, 1]
            self.q1 = mlp(dims, squeeze_output=True)
            self.q2 = mlp(dims, squeeze_output=True)

        def both(self, state: Any, action: Any) -> tuple[Any, Any]:
            sa = torch.cat([state, action], 1)
            return self.q1(sa), self.q2(sa)

        def forward(self, state: Any, action: Any) -> Any:
            return torch.min(*self.both(state, action))

    class ValueFunction(nn.Module):
        def __init__(self, state_dim: int, hidden_dim: int = HIDDEN) -> None:
            super().__init__()
            self.v = mlp([state_dim, hidden_dim, hidden_dim, 1], squeeze_output=True)

        def forward(self, state: Any) -> Any:
            return self.v(state)

    class GaussianPolicy(nn.Module):
        def __init__(self, obs_dim: int, act_dim: int, hidden_dim: int = HIDDEN) -> None:
            super().__init__()
            self.net = mlp([obs_dim, hidden_dim, hidden_dim, act_dim])
            self.log_std = nn.Parameter(torch.zeros(act_dim, dtype=torch.get_default_dtype()))

        def forward(self, obs: Any) -> Any:
            mean = self.net(obs)
            std = torch.exp(self.log_std.clamp(-5.0, 2.0))
            scale_tril = torch.diag(std)
            return torch.distributions.MultivariateNormal(mean, scale_tril=scale_tril)

    class Agents(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cql_q = nn.Sequential(
                nn.Linear(S_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, N_ACT)
            )
            self.qf = TwinQ(S_DIM, A_DIM)
            self.vf = ValueFunction(S_DIM)
            self.policy = GaussianPolicy(S_DIM, A_DIM)

    return Agents()


def asymmetric_l2_loss(torch_like: Any, u: Any, tau: float) -> Any:
    return torch_like.mean(torch_like.abs(tau - (u < 0).float()) * u**2)


def update_exponential_moving_average(target: Any, source: Any, alpha: float) -> None:
    for target_param, source_param in zip(target.parameters(), source.parameters()):
        target_param.data.mul_(1.0 - alpha).add_(source_param.data, alpha=alpha)


def soft_update(local_model: Any, target_model: Any, tau: float) -> None:
    for target_param, local_param in zip(target_model.parameters(), local_model.parameters()):
        target_param.data.copy_(tau * local_param.data + (1.0 - tau) * target_param.data)


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(9)
    agents = make_model(torch_like)
    load_numpy_state(torch_like, agents, init)
    states = torch.tensor(rng.standard_normal((N, S_DIM)))
    next_states = torch.tensor(rng.standard_normal((N, S_DIM)))
    actions = torch.tensor(rng.integers(0, N_ACT, (N, 1)))
    rewards = torch.tensor(rng.standard_normal((N, 1)))
    dones = torch.tensor((rng.random((N, 1)) < 0.2).astype(np.float64))
    cont_actions = torch.tensor(rng.uniform(-1, 1, (N, A_DIM)))
    values: list[float] = []

    # --- discrete CQL ---
    network = agents.cql_q
    target_net = copy.deepcopy(network)
    optimizer = torch.optim.Adam(params=network.parameters(), lr=1e-3)
    gamma, tau = 0.99, 5e-2
    for _ in range(STEPS):
        with torch.no_grad():
            Q_targets_next = target_net(next_states).detach().max(1)[0].unsqueeze(1)
            Q_targets = rewards + (gamma * Q_targets_next * (1 - dones))
        Q_a_s = network(states)
        Q_expected = Q_a_s.gather(1, actions)
        cql1_loss = (
            torch.logsumexp(Q_a_s, dim=1, keepdim=True).mean() - Q_a_s.gather(1, actions).mean()
        )
        bellman_error = F.mse_loss(Q_expected, Q_targets)
        q1_loss = cql1_loss + 0.5 * bellman_error
        optimizer.zero_grad()
        q1_loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        soft_update(network, target_net, tau)
        values += [q1_loss.item(), cql1_loss.item(), bellman_error.item()]

    # --- IQL ---
    qf, vf, policy = agents.qf, agents.vf, agents.policy
    q_target = copy.deepcopy(qf).requires_grad_(False)
    v_optimizer = torch.optim.Adam(vf.parameters(), lr=3e-4)
    q_optimizer = torch.optim.Adam(qf.parameters(), lr=3e-4)
    policy_optimizer = torch.optim.Adam(policy.parameters(), lr=3e-4)
    policy_lr_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(policy_optimizer, STEPS)
    iql_tau, beta, discount, alpha = 0.7, 3.0, 0.99, 0.005
    terminals = dones.squeeze(1)
    r = rewards.squeeze(1)
    for _ in range(STEPS):
        with torch.no_grad():
            target_q = q_target(states, cont_actions)
            next_v = vf(next_states)

        # v, next_v = compute_batched(self.vf, [observations, next_observations])

        # Update value function
        v = vf(states)
        adv = target_q - v
        v_loss = asymmetric_l2_loss(torch_like, adv, iql_tau)
        v_optimizer.zero_grad(set_to_none=True)
        v_loss.backward()
        v_optimizer.step()

        # Update Q function
        targets = r + (1.0 - terminals.float()) * discount * next_v.detach()
        qs = qf.both(states, cont_actions)
        q_loss = sum(F.mse_loss(q, targets) for q in qs) / len(qs)
        q_optimizer.zero_grad(set_to_none=True)
        q_loss.backward()
        q_optimizer.step()

        # Update target Q network
        update_exponential_moving_average(q_target, qf, alpha)

        # Update policy
        exp_adv = torch.exp(beta * adv.detach()).clamp(max=EXP_ADV_MAX)
        policy_out = policy(states)
        if isinstance(policy_out, torch.distributions.Distribution):
            bc_losses = -policy_out.log_prob(cont_actions)
        else:
            raise NotImplementedError
        policy_loss = torch.mean(exp_adv * bc_losses)
        policy_optimizer.zero_grad(set_to_none=True)
        policy_loss.backward()
        policy_optimizer.step()
        policy_lr_schedule.step()
        values += [
            v_loss.item(),
            q_loss.item(),
            policy_loss.item(),
            policy_lr_schedule.get_last_lr()[0],
        ]
    values += [p.sum().item() for p in q_target.parameters()][:2]
    with torch.no_grad():
        values += policy(states[:2]).mean.flatten().tolist()
        values.append(policy(states).entropy().mean().item())
    return values
