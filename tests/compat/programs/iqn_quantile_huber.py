"""Implicit Quantile Networks (IQN), size-reduced from BY571/IQN-and-Extensions (``IQN.py``
and the agent's ``learn``) with the quantile Huber loss as dopamine's and cleanrl-style
ports write it, on a toy replay batch.

The idioms: ``self.pis = torch.FloatTensor([np.pi * i for i in range(1, self.n_cos + 1)])
.view(1, 1, self.n_cos)``; ``calc_cos``'s ``taus = torch.rand(batch_size, n_tau)
.unsqueeze(-1)`` and ``torch.cos(taus * self.pis)`` with its shape ``assert``; the forward's
``cos.view(batch_size * num_tau, self.n_cos)``, ``torch.relu(self.cos_embedding(cos)).view(
batch_size, num_tau, self.layer_size)``, ``(x.unsqueeze(1) * cos_x).view(batch_size *
num_tau, self.layer_size)``; ``get_qvalues``' ``quantiles.mean(dim=1)``; ``learn``'s
``Q_targets_next.detach().cpu()``, ``torch.argmax(Q_targets_next.mean(dim=1), dim=1,
keepdim=True)``, ``Q_targets_next.gather(2, action_indx.unsqueeze(-1).expand(
self.BATCH_SIZE, self.N, 1)).transpose(1, 2)``, ``rewards.unsqueeze(-1) + (self.GAMMA **
self.n_step * Q_targets_next * (1.0 - dones.unsqueeze(-1)))``, ``td_error = Q_targets -
Q_expected`` broadcast to (batch, N, N); ``calculate_huber_loss``'s ``torch.where(
td_errors.abs() <= k, 0.5 * td_errors.pow(2), k * (td_errors.abs() - 0.5 * k))``; the
builtin ``abs(taus - (td_error.detach() < 0).float())``; ``quantil_l.sum(dim=1).mean(
dim=1)``; ``clip_grad_norm_(self.qnetwork_local.parameters(), 1)``; the soft update
``target_param.data.copy_(self.TAU * local_param.data + (1.0 - self.TAU) *
target_param.data)``; and the ``F.smooth_l1_loss(..., reduction="none")`` form of the Huber
term with ``torch.abs(tau - delta.lt(0).float())`` weighting, compared to the first.

Changed: LunarLander's 8-d states -> 4-d random states, 4 actions, layer size 16, 8 taus,
n_cos 64 -> 16, a few steps on a fixed replay batch; taus from ``torch.rand`` under
``torch.manual_seed`` (both libraries reproduce PyTorch's CPU generator).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

STATE, ACTIONS, LAYER, N, N_COS, BATCH, STEPS = 4, 3, 16, 8, 16, 5, 3
GAMMA, TAU, N_STEP = 0.99, 1e-2, 1


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class IQN(nn.Module):
        def __init__(self, state_size, action_size, layer_size, n_step, seed, N) -> None:
            super().__init__()
            self.input_shape = state_size
            self.action_size = action_size
            self.N = N
            self.n_cos = N_COS
            self.layer_size = layer_size
            self.pis = torch.FloatTensor([np.pi * i for i in range(1, self.n_cos + 1)]).view(
                1, 1, self.n_cos
            )
            self.head = nn.Linear(self.input_shape[0], layer_size)
            self.cos_embedding = nn.Linear(self.n_cos, layer_size)
            self.ff_1 = nn.Linear(layer_size, layer_size)
            self.ff_2 = nn.Linear(layer_size, action_size)

        def calc_cos(self, batch_size: int, n_tau: int = 8) -> tuple[Any, Any]:
            """
            Calculating the cosinus values depending on the number of tau samples
            """
            taus = torch.rand(batch_size, n_tau).unsqueeze(-1)  # (batch_size, n_tau, 1)
            cos = torch.cos(taus * self.pis)
            assert cos.shape == (batch_size, n_tau, self.n_cos), "cos shape is incorrect"
            return cos, taus

        def forward(self, input: Any, num_tau: int = 8) -> tuple[Any, Any]:
            batch_size = input.shape[0]
            x = torch.relu(self.head(input))
            cos, taus = self.calc_cos(batch_size, num_tau)  # cos shape (batch, num_tau, layer_size)
            cos = cos.view(batch_size * num_tau, self.n_cos)
            cos_x = torch.relu(self.cos_embedding(cos)).view(batch_size, num_tau, self.layer_size)
            # x has shape (batch, layer_size) for multiplication –> reshape to (batch, 1, layer)
            x = (x.unsqueeze(1) * cos_x).view(batch_size * num_tau, self.layer_size)
            x = torch.relu(self.ff_1(x))
            out = self.ff_2(x)
            return out.view(batch_size, num_tau, self.action_size), taus

        def get_qvalues(self, inputs: Any) -> Any:
            quantiles, _ = self.forward(inputs, self.N)
            actions = quantiles.mean(dim=1)
            return actions

    return IQN((STATE,), ACTIONS, LAYER, N_STEP, 0, N)


def calculate_huber_loss(torch_like: Any, td_errors: Any, k: float = 1.0) -> Any:
    """
    Calculate huber loss element-wisely depending on kappa k.
    """
    loss = torch_like.where(
        td_errors.abs() <= k, 0.5 * td_errors.pow(2), k * (td_errors.abs() - 0.5 * k)
    )
    assert loss.shape == (td_errors.shape[0], N, N), "huber loss has wrong shape"
    return loss


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    clip_grad_norm_ = torch_like.nn.utils.clip_grad_norm_
    rng = np.random.default_rng(6)
    qnetwork_local = make_model(torch_like)
    load_numpy_state(torch_like, qnetwork_local, init)
    qnetwork_target = make_model(torch_like)
    load_numpy_state(torch_like, qnetwork_target, init)
    optimizer = torch.optim.Adam(qnetwork_local.parameters(), lr=5e-4)
    torch.manual_seed(4)
    states = as_tensor(torch, rng.normal(size=(BATCH, STATE)))
    next_states = as_tensor(torch, rng.normal(size=(BATCH, STATE)))
    actions = as_tensor(torch, rng.integers(0, ACTIONS, (BATCH, 1)))
    rewards = as_tensor(torch, rng.normal(size=(BATCH, 1)))
    dones = as_tensor(torch, (rng.uniform(size=(BATCH, 1)) < 0.3).astype(np.float64))
    values: list[float] = []
    for _step in range(STEPS):
        optimizer.zero_grad()
        # Get max predicted Q values (for next states) from target model
        Q_targets_next, _ = qnetwork_target(next_states)
        Q_targets_next = Q_targets_next.detach().cpu()  # (batch, num_tau, actions)
        action_indx = torch.argmax(Q_targets_next.mean(dim=1), dim=1, keepdim=True)
        Q_targets_next = Q_targets_next.gather(
            2, action_indx.unsqueeze(-1).expand(BATCH, N, 1)
        ).transpose(1, 2)
        assert Q_targets_next.shape == (BATCH, 1, N)
        # Compute Q targets for current states
        Q_targets = rewards.unsqueeze(-1) + (
            GAMMA**N_STEP * Q_targets_next * (1.0 - dones.unsqueeze(-1))
        )
        # Get expected Q values from local model
        Q_expected, taus = qnetwork_local(states)
        Q_expected = Q_expected.gather(2, actions.unsqueeze(-1).expand(BATCH, 8, 1))
        # Quantile Huber loss
        td_error = Q_targets - Q_expected
        assert td_error.shape == (BATCH, 8, 8), "wrong td error shape"
        huber_l = calculate_huber_loss(torch, td_error, 1.0)
        quantil_l = abs(taus - (td_error.detach() < 0).float()) * huber_l / 1.0
        loss = quantil_l.sum(dim=1).mean(dim=1)  # , keepdim=True if per weights get multipl
        loss = loss.mean()
        # the smooth_l1_loss form of the same loss
        delta = Q_targets - Q_expected
        huber2 = F.smooth_l1_loss(Q_expected.expand(-1, -1, N), Q_targets.expand(-1, N, -1),
                                  reduction="none", beta=1.0)  # fmt: skip
        loss2 = (torch.abs(taus - delta.lt(0).float()) * huber2).sum(1).mean()
        # Minimize the loss
        loss.backward()
        norm = clip_grad_norm_(qnetwork_local.parameters(), 1)
        optimizer.step()
        # ------------------- update target network ------------------- #
        for target_param, local_param in zip(
            qnetwork_target.parameters(), qnetwork_local.parameters(), strict=True
        ):
            target_param.data.copy_(TAU * local_param.data + (1.0 - TAU) * target_param.data)
        values += [loss.item(), loss2.item(), norm.item(), taus.mean().item()]
    with torch.no_grad():
        q = qnetwork_local.get_qvalues(states)
        values += q.flatten().tolist() + q.argmax(1).tolist()
    return values
