"""ku2482/fqf-iqn-qrdqn.pytorch (``fqf_iqn_qrdqn/utils.py``, ``fqf_iqn_qrdqn/agent/
qrdqn_agent.py``, ``fqf_iqn_qrdqn/network.py``, ``fqf_iqn_qrdqn/model/qrdqn.py``),
size-reduced: the quantile-regression DQN loss ``calculate_huber_loss`` (``torch.where(
td_errors.abs() <= kappa, 0.5 * td_errors.pow(2), kappa * (td_errors.abs() - 0.5 * kappa))``)
and ``calculate_quantile_huber_loss`` (``torch.abs(taus[..., None] - (td_errors.detach() <
0).float()) * element_wise_huber_loss / kappa``, ``.sum(dim=1).mean(dim=1, keepdim=True)``,
weighted by PER's ``weights``), the ``evaluate_quantile_at_action`` gather (``action_index =
actions[..., None].expand(batch_size, N, 1)``, ``s_quantiles.gather(dim=2,
index=action_index)``), the fixed quantile fractions ``taus = torch.arange(0, N+1,
dtype=torch.float32) / N`` and ``tau_hats = ((taus[1:] + taus[:-1]) / 2.0).view(1, N)``;
``calculate_loss`` with ``torch.no_grad()`` targets (``next_q = self.target_net.calculate_q(
states=next_states)``, ``next_actions = torch.argmax(next_q, dim=1, keepdim=True)``,
``target_sa_quantiles = rewards[..., None] + (1.0 - dones[..., None]) * self.gamma_n *
next_sa_quantiles``, ``.transpose(1, 2)``), the ``td_errors`` broadcast ``target_sa_quantiles -
current_sa_quantiles``, the ``assert td_errors.shape == (self.batch_size, self.N, self.N)``,
``update_params``'s ``optim.zero_grad(); loss.backward(retain_graph=retain_graph);
optim.step()``, the ``Adam(lr, eps=1e-2/batch_size)`` optimizer and ``target_net.
load_state_dict(online_net.state_dict())`` updates; the PER priorities ``td_errors.detach().
abs().sum(dim=1).mean(dim=1, keepdim=True)``.

Changed: the DQN conv base on Atari frames -> a two-layer MLP on 6-d states, N 200 -> 8
quantiles, 2 actions, replay memory -> NumPy batches, target update every 2 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N, NUM_ACTIONS, STATE_DIM, BATCH = 8, 2, 6, 5


def calculate_huber_loss(torch: Any, td_errors: Any, kappa: float = 1.0) -> Any:
    return torch.where(
        td_errors.abs() <= kappa,
        0.5 * td_errors.pow(2),
        kappa * (td_errors.abs() - 0.5 * kappa),
    )


def calculate_quantile_huber_loss(
    torch: Any, td_errors: Any, taus: Any, weights: Any = None, kappa: float = 1.0
) -> Any:
    assert not taus.requires_grad
    batch_size, N, N_dash = td_errors.shape

    # Calculate huber loss element-wisely.
    element_wise_huber_loss = calculate_huber_loss(torch, td_errors, kappa)
    assert element_wise_huber_loss.shape == (batch_size, N, N_dash)

    # Calculate quantile huber loss element-wisely.
    element_wise_quantile_huber_loss = (
        torch.abs(taus[..., None] - (td_errors.detach() < 0).float())
        * element_wise_huber_loss
        / kappa
    )
    assert element_wise_quantile_huber_loss.shape == (batch_size, N, N_dash)

    # Quantile huber loss.
    batch_quantile_huber_loss = element_wise_quantile_huber_loss.sum(dim=1).mean(
        dim=1, keepdim=True
    )
    assert batch_quantile_huber_loss.shape == (batch_size, 1)

    if weights is not None:
        quantile_huber_loss = (batch_quantile_huber_loss * weights).mean()
    else:
        quantile_huber_loss = batch_quantile_huber_loss.mean()

    return quantile_huber_loss


def evaluate_quantile_at_action(s_quantiles: Any, actions: Any) -> Any:
    assert s_quantiles.shape[0] == actions.shape[0]

    batch_size = s_quantiles.shape[0]
    N = s_quantiles.shape[1]

    # Expand actions into (batch_size, N, 1).
    action_index = actions[..., None].expand(batch_size, N, 1)

    # Calculate quantile values at specified actions.
    sa_quantiles = s_quantiles.gather(dim=2, index=action_index)

    return sa_quantiles


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class QRDQN(nn.Module):
        def __init__(self, num_channels: int, num_actions: int, N: int = 200) -> None:
            super(QRDQN, self).__init__()  # noqa: UP008
            self.dqn_net = nn.Sequential(nn.Linear(num_channels, 16), nn.ReLU())
            self.q_net = nn.Sequential(
                nn.Linear(16, 16),
                nn.ReLU(),
                nn.Linear(16, num_actions * N),
            )
            self.N = N
            self.num_channels = num_channels
            self.num_actions = num_actions

        def forward(self, states: Any = None, state_embeddings: Any = None) -> Any:
            assert states is not None or state_embeddings is not None
            batch_size = states.shape[0] if states is not None else state_embeddings.shape[0]

            if state_embeddings is None:
                state_embeddings = self.dqn_net(states)

            quantiles = self.q_net(state_embeddings).view(batch_size, self.N, self.num_actions)

            assert quantiles.shape == (batch_size, self.N, self.num_actions)

            return quantiles

        def calculate_q(self, states: Any = None, state_embeddings: Any = None) -> Any:
            assert states is not None or state_embeddings is not None
            batch_size = states.shape[0] if states is not None else state_embeddings.shape[0]

            # Calculate quantiles.
            quantiles = self(states=states, state_embeddings=state_embeddings)

            # Calculate expectations of value distributions.
            q = quantiles.mean(dim=1)
            assert q.shape == (batch_size, self.num_actions)

            return q

    return QRDQN(num_channels=STATE_DIM, num_actions=NUM_ACTIONS, N=N)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(3)
    online_net = make_model(torch_like)
    target_net = make_model(torch_like)
    load_numpy_state(torch_like, online_net, init)
    target_net.load_state_dict(online_net.state_dict())
    for param in target_net.parameters():  # disable_gradients
        param.requires_grad = False
    batch_size, gamma_n, kappa = BATCH, 0.99**3, 1.0
    optim = torch.optim.Adam(online_net.parameters(), lr=5e-3, eps=1e-2 / batch_size)
    taus = torch.arange(0, N + 1, dtype=torch.float32) / N
    tau_hats = ((taus[1:] + taus[:-1]) / 2.0).view(1, N).to(torch.get_default_dtype())
    values: list[float] = []
    for step in range(4):
        states = as_tensor(torch, rng.normal(size=(batch_size, STATE_DIM)))
        actions = as_tensor(torch, rng.integers(0, NUM_ACTIONS, size=(batch_size, 1)))
        rewards = as_tensor(torch, rng.normal(size=(batch_size, 1)))
        next_states = as_tensor(torch, rng.normal(size=(batch_size, STATE_DIM)))
        dones = as_tensor(torch, (rng.random((batch_size, 1)) < 0.3).astype(np.float64))
        weights = as_tensor(torch, rng.uniform(0.5, 1.0, size=(batch_size, 1)))

        # Calculate quantile values of current states and actions at taus.
        current_sa_quantiles = evaluate_quantile_at_action(online_net(states=states), actions)
        assert current_sa_quantiles.shape == (batch_size, N, 1)

        with torch.no_grad():
            # Calculate Q values of next states.
            next_q = target_net.calculate_q(states=next_states)
            # Calculate greedy actions.
            next_actions = torch.argmax(next_q, dim=1, keepdim=True)
            assert next_actions.shape == (batch_size, 1)
            # Calculate quantile values of next states and actions at tau_hats.
            next_sa_quantiles = evaluate_quantile_at_action(
                target_net(states=next_states), next_actions
            ).transpose(1, 2)
            assert next_sa_quantiles.shape == (batch_size, 1, N)
            # Calculate target quantile values.
            target_sa_quantiles = (
                rewards[..., None] + (1.0 - dones[..., None]) * gamma_n * next_sa_quantiles
            )
            assert target_sa_quantiles.shape == (batch_size, 1, N)

        td_errors = target_sa_quantiles - current_sa_quantiles
        assert td_errors.shape == (batch_size, N, N)

        quantile_huber_loss = calculate_quantile_huber_loss(
            torch, td_errors, tau_hats, weights, kappa
        )
        priorities = td_errors.detach().abs().sum(dim=1).mean(dim=1, keepdim=True)

        optim.zero_grad()
        quantile_huber_loss.backward(retain_graph=False)
        optim.step()
        if step % 2 == 1:
            target_net.load_state_dict(online_net.state_dict())
        values += [
            quantile_huber_loss.detach().item(),
            float(priorities.sum()),
            next_q.mean().item(),
        ]
    return values
