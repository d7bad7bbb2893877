"""Soft Actor-Critic for discrete actions as vwxyzjn/cleanrl ``cleanrl/sac_atari.py`` writes it
(after Christodoulou 2019), with the log-probabilities of p-christ's
Deep-Reinforcement-Learning-Algorithms-with-PyTorch ``agents/actor_critic_agents/
SAC_Discrete.py`` on alternate steps, size-reduced.

The idioms kept: ``Actor.get_action`` (``Categorical(logits=logits)``, ``policy_dist.probs``,
``F.log_softmax(logits, dim=1)``) and p-christ's ``z = action_probabilities == 0.0; z =
z.float() * 1e-8; log_action_probabilities = torch.log(action_probabilities + z)``; the
automatic entropy tuning (``target_entropy = -scale * torch.log(1 / torch.tensor(n))``,
``log_alpha = torch.zeros(1, requires_grad=True)``, ``alpha = log_alpha.exp().item()``,
``optim.Adam([log_alpha], lr=q_lr, eps=1e-4)``, ``alpha_loss = (action_probs.detach() *
(-log_alpha.exp() * (log_pi + target_entropy).detach())).mean()``); the soft target computed
from the action probabilities instead of a sample (``next_state_action_probs *
(torch.min(qf1_next_target, qf2_next_target) - alpha * next_state_log_pi)`` then
``.sum(dim=1)``, ``data.rewards.flatten() + (1 - data.dones.flatten()) * gamma * ...``); the
taken actions' values ``qf1_values.gather(1, data.actions.long()).view(-1)`` with two
``F.mse_loss``; one Adam over ``list(qf1.parameters()) + list(qf2.parameters())``; the actor
loss ``(action_probs * ((alpha * log_pi) - min_qf_values)).mean()`` with the critics under
``no_grad``; ``qf1_target.load_state_dict(qf1.state_dict())`` and the Polyak update
``target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)``.

Changed: the Atari CNN is a two-layer MLP on 5 numbers; the replay buffer is NumPy arrays of
random transitions sampled by a seeded generator (no environment); the actions the critic loss
reads come from the buffer, so ``policy_dist.sample()`` is not drawn; 6 updates, the policy every
2nd, the targets every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["make_model", "run"]

OBS, N_ACT, HID, BATCH = 5, 3, 8, 6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SoftQNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(OBS, HID)
            self.fc_q = nn.Linear(HID, N_ACT)

        def forward(self, x):
            return self.fc_q(nn.functional.relu(self.fc1(x)))

    class Actor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(OBS, HID)
            self.fc_logits = nn.Linear(HID, N_ACT)

        def forward(self, x):
            return self.fc_logits(nn.functional.relu(self.fc1(x)))

    class Agents(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.actor = Actor()
            self.qf1 = SoftQNetwork()
            self.qf2 = SoftQNetwork()

    return Agents()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = nn.functional
    Categorical = torch.distributions.Categorical
    agents = make_model(torch_like)
    agents.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    actor, qf1, qf2 = agents.actor, agents.qf1, agents.qf2
    qf1_target, qf2_target = make_model(torch_like).qf1, make_model(torch_like).qf2
    qf1_target.load_state_dict(qf1.state_dict())
    qf2_target.load_state_dict(qf2.state_dict())
    q_lr, policy_lr, gamma, tau, scale = 3e-3, 3e-3, 0.99, 0.5, 0.89
    q_optimizer = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=q_lr, eps=1e-4)
    actor_optimizer = optim.Adam(list(actor.parameters()), lr=policy_lr, eps=1e-4)

    def get_action(x, christ):
        logits = actor(x)
        policy_dist = Categorical(logits=logits)
        # Action probabilities for calculating the adapted soft-Q loss
        action_probs = policy_dist.probs
        if christ:
            z = action_probs == 0.0
            z = z.float() * 1e-8
            log_prob = torch.log(action_probs + z)
        else:
            log_prob = F.log_softmax(logits, dim=1)
        return None, log_prob, action_probs

    # Automatic entropy tuning
    target_entropy = -scale * torch.log(1 / torch.tensor(N_ACT))
    log_alpha = torch.zeros(1, requires_grad=True)
    alpha = log_alpha.exp().item()
    a_optimizer = optim.Adam([log_alpha], lr=q_lr, eps=1e-4)

    rng = np.random.default_rng(11)
    size = 32
    buffer = {
        "observations": rng.normal(size=(size, OBS)),
        "next_observations": rng.normal(size=(size, OBS)),
        "actions": rng.integers(0, N_ACT, (size, 1)),
        "rewards": rng.random((size, 1)),
        "dones": (rng.random((size, 1)) < 0.2).astype(np.float64),
    }
    out: list[float] = []
    for global_step in range(6):
        idx = rng.integers(0, size, BATCH)

        class data:  # ReplayBuffer.sample(batch_size)'s named fields
            observations = torch.tensor(buffer["observations"][idx])
            next_observations = torch.tensor(buffer["next_observations"][idx])
            actions = torch.tensor(buffer["actions"][idx])
            rewards = torch.tensor(buffer["rewards"][idx])
            dones = torch.tensor(buffer["dones"][idx])

        christ = global_step % 2 == 1
        # CRITIC training
        with torch.no_grad():
            _, next_state_log_pi, next_state_action_probs = get_action(
                data.next_observations, christ
            )
            qf1_next_target = qf1_target(data.next_observations)
            qf2_next_target = qf2_target(data.next_observations)
            # we can use the action probabilities instead of MC sampling to estimate the
            # expectation
            min_qf_next_target = next_state_action_probs * (
                torch.min(qf1_next_target, qf2_next_target) - alpha * next_state_log_pi
            )
            # adapt Q-target for discrete Q-function
            min_qf_next_target = min_qf_next_target.sum(dim=1)
            next_q_value = data.rewards.flatten() + (1 - data.dones.flatten()) * gamma * (
                min_qf_next_target
            )

        # use Q-values only for the taken actions
        qf1_values = qf1(data.observations)
        qf2_values = qf2(data.observations)
        qf1_a_values = qf1_values.gather(1, data.actions.long()).view(-1)
        qf2_a_values = qf2_values.gather(1, data.actions.long()).view(-1)
        qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
        qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
        qf_loss = qf1_loss + qf2_loss

        q_optimizer.zero_grad()
        qf_loss.backward()
        q_optimizer.step()
        out.append(qf_loss.item())

        # ACTOR training
        if global_step % 2 == 0:
            _, log_pi, action_probs = get_action(data.observations, christ)
            with torch.no_grad():
                qf1_values = qf1(data.observations)
                qf2_values = qf2(data.observations)
                min_qf_values = torch.min(qf1_values, qf2_values)
            # no need for reparameterization, the expectation can be calculated for discrete
            # actions
            actor_loss = (action_probs * ((alpha * log_pi) - min_qf_values)).mean()

            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()

            # re-use action probabilities for temperature loss
            alpha_loss = (
                action_probs.detach() * (-log_alpha.exp() * (log_pi + target_entropy).detach())
            ).mean()

            a_optimizer.zero_grad()
            alpha_loss.backward()
            a_optimizer.step()
            alpha = log_alpha.exp().item()
            out += [actor_loss.item(), alpha_loss.item(), alpha]

        # update the target networks
        for param, target_param in zip(qf1.parameters(), qf1_target.parameters()):
            target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
        for param, target_param in zip(qf2.parameters(), qf2_target.parameters()):
            target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
    return out
