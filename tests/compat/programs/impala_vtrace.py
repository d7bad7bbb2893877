"""IMPALA's V-trace learner (Espeholt et al., 2018) as facebookresearch/torchbeast writes it
(``torchbeast/core/vtrace.py``, ``torchbeast/monobeast.py``), size-reduced.

The idioms: ``action_log_probs`` (``-F.nll_loss(F.log_softmax(torch.flatten(policy_logits,
0, -2), dim=-1), target=torch.flatten(actions), reduction="none").view_as(actions)``), here
checked against ``torch.distributions.Categorical(logits=...).log_prob``; ``from_logits``
(``target_action_log_probs - behavior_action_log_probs`` as ``log_rhos``) and
``from_importance_weights`` under ``@torch.no_grad()`` (``rhos = torch.exp(log_rhos)``,
``clipped_rhos = torch.clamp(rhos, max=clip_rho_threshold)``, ``cs = torch.clamp(rhos,
max=1.0)``, ``values_t_plus_1 = torch.cat([values[1:], torch.unsqueeze(bootstrap_value, 0)],
dim=0)``, the reversed-time loop ``for t in range(discounts.shape[0] - 1, -1, -1)`` with
``result.append(acc)``, ``result.reverse()``, ``torch.stack(result)``, ``torch.add(vs_minus_v_xs,
values)``, ``torch.ones_like(vs[0]) * bootstrap_value``, the clipped policy-gradient
advantages, the ``VTraceFromLogitsReturns`` namedtuple); the losses
(``compute_baseline_loss`` = ``0.5 * torch.sum(advantages ** 2)``, ``compute_entropy_loss``
from ``F.softmax``/``F.log_softmax``, ``compute_policy_gradient_loss`` with
``advantages.detach()``); ``learn`` (``batch["done"]``, ``torch.clamp(rewards, -1, 1)``,
``discounts = (~batch["done"]).float() * flags.discounting``, ``{key: tensor[1:] for key,
tensor in ...}`` shifting the learner outputs, ``bootstrap_value =
learner_outputs["baseline"][-1]``, ``total_loss.backward()``,
``nn.utils.clip_grad_norm_(model.parameters(), flags.grad_norm_clipping)``, ``optimizer.step()``,
``scheduler.step()``); the ``AtariNet``-style model (``torch.flatten(x, 0,
1)``, an ``nn.LSTM`` core over time with ``notdone`` masking of its state, ``policy_logits.view(T,
B, num_actions)``, the ``dict(policy_logits=..., baseline=..., action=...)`` output, the eval
``torch.argmax``); ``torch.optim.RMSprop(model.parameters(), lr=flags.learning_rate,
momentum=flags.momentum, eps=flags.epsilon, alpha=flags.alpha)`` and the linearly decaying
``torch.optim.lr_scheduler.LambdaLR``.

Changed: the actors, the environment and ``torch.multinomial`` sampling are replaced by NumPy
rollouts (the generators differ); conv torso -> one linear layer; unroll 80 -> 5, batch 8 -> 3.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

OBS, HIDDEN, NUM_ACTIONS, T, B, STEPS = 6, 8, 3, 5, 3, 3

VTraceFromLogitsReturns = collections.namedtuple(
    "VTraceFromLogitsReturns",
    [
        "vs",
        "pg_advantages",
        "log_rhos",
        "behavior_action_log_probs",
        "target_action_log_probs",
    ],
)
VTraceReturns = collections.namedtuple("VTraceReturns", "vs pg_advantages")


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class AtariNet(nn.Module):
        def __init__(self, observation_size, num_actions, use_lstm=True):
            super().__init__()
            self.num_actions = num_actions
            self.fc = nn.Linear(observation_size, HIDDEN)
            core_output_size = self.fc.out_features + num_actions + 1
            self.use_lstm = use_lstm
            if use_lstm:
                self.core = nn.LSTM(core_output_size, core_output_size, 1)
            self.policy = nn.Linear(core_output_size, self.num_actions)
            self.baseline = nn.Linear(core_output_size, 1)

        def initial_state(self, batch_size):
            if not self.use_lstm:
                return tuple()
            return tuple(
                torch.zeros(self.core.num_layers, batch_size, self.core.hidden_size)
                for _ in range(2)
            )

        def forward(self, inputs, core_state=()):
            x = inputs["frame"]  # [T, B, obs]
            T, B, *_ = x.shape
            x = torch.flatten(x, 0, 1)  # Merge time and batch.
            x = F.relu(self.fc(x))

            one_hot_last_action = F.one_hot(
                inputs["last_action"].view(T * B), self.num_actions
            ).float()
            clipped_reward = torch.clamp(inputs["reward"], -1, 1).view(T * B, 1)
            core_input = torch.cat([x, clipped_reward, one_hot_last_action], dim=-1)

            if self.use_lstm:
                core_input = core_input.view(T, B, -1)
                core_output_list = []
                notdone = (~inputs["done"]).float()
                for input, nd in zip(core_input.unbind(), notdone.unbind()):
                    # Reset core state to zero whenever an episode ended.
                    # Make `done` broadcastable with (num_layers, B, hidden_size)
                    # states:
                    nd = nd.view(1, -1, 1)
                    core_state = tuple(nd * s for s in core_state)
                    output, core_state = self.core(input.unsqueeze(0), core_state)
                    core_output_list.append(output)
                core_output = torch.flatten(torch.cat(core_output_list), 0, 1)
            else:
                core_output = core_input
                core_state = tuple()

            policy_logits = self.policy(core_output)
            baseline = self.baseline(core_output)

            if self.training:
                action = inputs["action"].view(T * B)  # sampled by the actors
            else:
                # Don't sample when testing.
                action = torch.argmax(policy_logits, dim=1)

            policy_logits = policy_logits.view(T, B, self.num_actions)
            baseline = baseline.view(T, B)
            action = action.view(T, B)

            return (
                dict(policy_logits=policy_logits, baseline=baseline, action=action),
                core_state,
            )

    return AtariNet(OBS, NUM_ACTIONS)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    def action_log_probs(policy_logits, actions):
        return -F.nll_loss(
            F.log_softmax(torch.flatten(policy_logits, 0, -2), dim=-1),
            target=torch.flatten(actions),
            reduction="none",
        ).view_as(actions)

    def from_logits(
        behavior_policy_logits,
        target_policy_logits,
        actions,
        discounts,
        rewards,
        values,
        bootstrap_value,
        clip_rho_threshold=1.0,
        clip_pg_rho_threshold=1.0,
    ):
        """V-trace for softmax policies."""
        target_action_log_probs = action_log_probs(target_policy_logits, actions)
        behavior_action_log_probs = action_log_probs(behavior_policy_logits, actions)
        log_rhos = target_action_log_probs - behavior_action_log_probs
        vtrace_returns = from_importance_weights(
            log_rhos=log_rhos,
            discounts=discounts,
            rewards=rewards,
            values=values,
            bootstrap_value=bootstrap_value,
            clip_rho_threshold=clip_rho_threshold,
            clip_pg_rho_threshold=clip_pg_rho_threshold,
        )
        return VTraceFromLogitsReturns(
            log_rhos=log_rhos,
            behavior_action_log_probs=behavior_action_log_probs,
            target_action_log_probs=target_action_log_probs,
            **vtrace_returns._asdict(),
        )

    @torch.no_grad()
    def from_importance_weights(
        log_rhos,
        discounts,
        rewards,
        values,
        bootstrap_value,
        clip_rho_threshold=1.0,
        clip_pg_rho_threshold=1.0,
    ):
        """V-trace from log importance weights."""
        with torch.no_grad():
            rhos = torch.exp(log_rhos)
            if clip_rho_threshold is not None:
                clipped_rhos = torch.clamp(rhos, max=clip_rho_threshold)
            else:
                clipped_rhos = rhos

            cs = torch.clamp(rhos, max=1.0)
            # Append bootstrapped value to get [v1, ..., v_t+1]
            values_t_plus_1 = torch.cat([values[1:], torch.unsqueeze(bootstrap_value, 0)], dim=0)
            deltas = clipped_rhos * (rewards + discounts * values_t_plus_1 - values)

            acc = torch.zeros_like(bootstrap_value)
            result = []
            for t in range(discounts.shape[0] - 1, -1, -1):
                acc = deltas[t] + discounts[t] * cs[t] * acc
                result.append(acc)
            result.reverse()
            vs_minus_v_xs = torch.stack(result)

            # Add V(x_s) to get v_s.
            vs = torch.add(vs_minus_v_xs, values)

            # Advantage for policy gradient.
            broadcasted_bootstrap_values = torch.ones_like(vs[0]) * bootstrap_value
            vs_t_plus_1 = torch.cat([vs[1:], broadcasted_bootstrap_values.unsqueeze(0)])
            if clip_pg_rho_threshold is not None:
                clipped_pg_rhos = torch.clamp(rhos, max=clip_pg_rho_threshold)
            else:
                clipped_pg_rhos = rhos
            pg_advantages = clipped_pg_rhos * (rewards + discounts * vs_t_plus_1 - values)

        # Make sure no gradients backpropagated through the returned values.
        return VTraceReturns(vs=vs, pg_advantages=pg_advantages)

    def compute_baseline_loss(advantages):
        return 0.5 * torch.sum(advantages**2)

    def compute_entropy_loss(logits):
        """Return the entropy loss, i.e., the negative entropy of the policy."""
        policy = F.softmax(logits, dim=-1)
        log_policy = F.log_softmax(logits, dim=-1)
        return torch.sum(policy * log_policy)

    def compute_policy_gradient_loss(logits, actions, advantages):
        cross_entropy = F.nll_loss(
            F.log_softmax(torch.flatten(logits, 0, 1), dim=-1),
            target=torch.flatten(actions, 0, 1),
            reduction="none",
        )
        cross_entropy = cross_entropy.view_as(advantages)
        return torch.sum(cross_entropy * advantages.detach())

    class Flags:
        discounting = 0.99
        baseline_cost = 0.5
        entropy_cost = 0.0006
        reward_clipping = "abs_one"
        grad_norm_clipping = 40.0
        learning_rate = 0.00048
        momentum = 0
        epsilon = 0.01
        alpha = 0.99
        total_steps = 30

    flags = Flags()
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.RMSprop(
        model.parameters(),
        lr=flags.learning_rate,
        momentum=flags.momentum,
        eps=flags.epsilon,
        alpha=flags.alpha,
    )

    def lr_lambda(epoch):
        return 1 - min(epoch * T * B, flags.total_steps) / flags.total_steps

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    rng = np.random.default_rng(5)
    values: list[float] = []

    for _ in range(STEPS):
        # an actor's unroll of T + 1 steps (the first repeats the last of the previous one)
        behavior_logits = rng.standard_normal((T + 1, B, NUM_ACTIONS))
        batch = {
            "frame": as_tensor(torch, rng.standard_normal((T + 1, B, OBS))),
            "reward": as_tensor(torch, rng.standard_normal((T + 1, B)) * 2),
            "done": as_tensor(torch, rng.random((T + 1, B)) < 0.2),
            "last_action": as_tensor(torch, rng.integers(0, NUM_ACTIONS, (T + 1, B))),
            "action": as_tensor(torch, rng.integers(0, NUM_ACTIONS, (T + 1, B))),
            "policy_logits": as_tensor(torch, behavior_logits),
        }
        initial_agent_state = model.initial_state(B)
        model.train()
        learner_outputs, unused_state = model(batch, initial_agent_state)

        # Take final value function slice for bootstrapping.
        bootstrap_value = learner_outputs["baseline"][-1]

        # Move from obs[t] -> action[t] to action[t] -> obs[t].
        batch = {key: tensor[1:] for key, tensor in batch.items()}
        learner_outputs = {key: tensor[:-1] for key, tensor in learner_outputs.items()}

        rewards = batch["reward"]
        if flags.reward_clipping == "abs_one":
            clipped_rewards = torch.clamp(rewards, -1, 1)
        elif flags.reward_clipping == "none":
            clipped_rewards = rewards

        discounts = (~batch["done"]).float() * flags.discounting

        vtrace_returns = from_logits(
            behavior_policy_logits=batch["policy_logits"],
            target_policy_logits=learner_outputs["policy_logits"],
            actions=batch["action"],
            discounts=discounts,
            rewards=clipped_rewards,
            values=learner_outputs["baseline"],
            bootstrap_value=bootstrap_value,
        )

        pg_loss = compute_policy_gradient_loss(
            learner_outputs["policy_logits"],
            batch["action"],
            vtrace_returns.pg_advantages,
        )
        baseline_loss = flags.baseline_cost * compute_baseline_loss(
            vtrace_returns.vs - learner_outputs["baseline"]
        )
        entropy_loss = flags.entropy_cost * compute_entropy_loss(learner_outputs["policy_logits"])

        total_loss = pg_loss + baseline_loss + entropy_loss

        # the log-probs as a Categorical gives them
        dist = torch.distributions.Categorical(logits=learner_outputs["policy_logits"])
        lp_gap = (dist.log_prob(batch["action"]) - vtrace_returns.target_action_log_probs).abs()

        optimizer.zero_grad()
        total_loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), flags.grad_norm_clipping)
        optimizer.step()
        scheduler.step()

        values += [
            total_loss.item(),
            pg_loss.item(),
            baseline_loss.item(),
            entropy_loss.item(),
            norm.item(),
            lp_gap.max().item(),
            float(vtrace_returns.vs.requires_grad),
            dist.entropy().mean().item(),
            scheduler.get_last_lr()[0],
        ]
        values += vtrace_returns.vs.flatten().tolist()
        values += vtrace_returns.pg_advantages.flatten().tolist()

    model.eval()
    with torch.no_grad():
        out, _ = model(batch, model.initial_state(B))
    values += out["action"].flatten().tolist()
    return values
