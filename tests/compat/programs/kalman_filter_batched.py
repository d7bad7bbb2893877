"""A differentiable batched Kalman filter and Rauch-Tung-Striebel smoother whose noise
covariances are learned by maximum likelihood, as the PyTorch Kalman-filter code bases
(``torch-kalman``, ``pykalman``-style ports, the "differentiable Kalman filter" tutorials,
``KalmanNet``'s baseline) write it, size-reduced.

The idioms: the covariances parameterised by a Cholesky factor (``torch.tril(raw, diagonal=-1)
+ torch.diag_embed(F.softplus(raw_diag))``, ``L @ L.mT``) and a log-variance (``torch.diag(
log_r.exp())``); the batched predict step (``m @ F.T``, ``F @ P @ F.T + Q`` broadcast over
the batch, ``torch.bmm``); the update step with ``torch.linalg.cholesky(S)``, the gain from
``torch.cholesky_solve(H @ P_pred, L_S).mT``, the Joseph form ``(I - K H) P (I - K H)^T + K R
K^T`` and a symmetrising ``0.5 * (P + P.mT)``; the innovation log-likelihood twice, by
``torch.distributions.MultivariateNormal(loc, scale_tril=L_S).log_prob(y)`` and by hand from
``torch.linalg.slogdet`` and ``torch.linalg.solve``; the RTS smoother backwards
(``torch.linalg.solve(P_pred[t + 1], F @ P[t]).mT`` for the smoother gain,
``torch.stack``-ed histories, ``.unsqueeze(-1)`` / ``.squeeze(-1)`` for matrix-vector products);
the negative log-likelihood minimised with ``torch.optim.Adam``; data simulated from a
constant-velocity model (``np.random`` noise, ``torch.from_numpy``).

Changed: a two-dimensional state, tiny batch and horizon, a few optimiser steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check", "run"]

RTOL, ATOL = 1e-8, 1e-10
BATCH, T, STEPS, DT = 3, 8, 4, 0.5


def simulate(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    F = np.array([[1.0, DT], [0.0, 1.0]])
    q_true = np.array([[0.05, 0.0], [0.02, 0.1]])
    x = np.zeros((BATCH, T, 2))
    state = rng.standard_normal((BATCH, 2))
    for t in range(T):
        state = state @ F.T + rng.standard_normal((BATCH, 2)) @ q_true.T
        x[:, t] = state
    y = x[:, :, :1] + 0.3 * rng.standard_normal((BATCH, T, 1))
    return x, y


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    nn = torch.nn
    Fn = nn.functional
    MultivariateNormal = torch.distributions.MultivariateNormal
    rng = np.random.default_rng(3)
    x_true, y_np = simulate(rng)
    y = torch.from_numpy(y_np)
    x_true_t = torch.from_numpy(x_true)

    class KalmanModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("F", torch.tensor([[1.0, DT], [0.0, 1.0]]))
            self.register_buffer("H", torch.tensor([[1.0, 0.0]]))
            self.q_raw_diag = nn.Parameter(torch.full((2,), -1.0))
            self.q_raw_off = nn.Parameter(torch.zeros(2, 2))
            self.log_r = nn.Parameter(torch.zeros(1))
            self.m0 = nn.Parameter(torch.zeros(2))
            self.register_buffer("P0", torch.eye(2))

        def Q(self) -> Any:
            L = torch.tril(self.q_raw_off, diagonal=-1) + torch.diag_embed(
                Fn.softplus(self.q_raw_diag)
            )
            return L @ L.mT

        def R(self) -> Any:
            return torch.diag(self.log_r.exp())

        def forward(self, y: Any) -> dict[str, Any]:
            B, T_, obs_dim = y.shape
            F, H, Q, R = self.F, self.H, self.Q(), self.R()
            eye = torch.eye(2, dtype=y.dtype)
            m = self.m0.expand(B, -1)
            P = self.P0.expand(B, -1, -1)
            ms, Ps, m_preds, P_preds = [], [], [], []
            ll = y.new_zeros(B)
            ll_manual = y.new_zeros(B)
            for t in range(T_):
                m_pred = m @ F.T
                P_pred = torch.bmm(F.expand(B, -1, -1), P) @ F.T + Q
                S = H @ P_pred @ H.T + R
                L_S = torch.linalg.cholesky(S)
                y_pred = m_pred @ H.T
                v = y[:, t] - y_pred
                K = torch.cholesky_solve(H @ P_pred, L_S).mT
                m = m_pred + (K @ v.unsqueeze(-1)).squeeze(-1)
                I_KH = eye - K @ H
                P = I_KH @ P_pred @ I_KH.mT + K @ R @ K.mT
                P = 0.5 * (P + P.mT)
                ll = ll + MultivariateNormal(y_pred, scale_tril=L_S).log_prob(y[:, t])
                sign, logabsdet = torch.linalg.slogdet(S)
                maha = (v.unsqueeze(-2) @ torch.linalg.solve(S, v.unsqueeze(-1))).squeeze((-1, -2))
                ll_manual = ll_manual - 0.5 * (maha + logabsdet + obs_dim * math.log(2 * math.pi))
                ms.append(m)
                Ps.append(P)
                m_preds.append(m_pred)
                P_preds.append(P_pred)
            return {
                "m": torch.stack(ms, dim=1),
                "P": torch.stack(Ps, dim=1),
                "m_pred": torch.stack(m_preds, dim=1),
                "P_pred": torch.stack(P_preds, dim=1),
                "ll": ll,
                "ll_manual": ll_manual,
            }

        def smooth(self, out: dict[str, Any]) -> tuple[Any, Any]:
            m, P, m_pred, P_pred = out["m"], out["P"], out["m_pred"], out["P_pred"]
            ms = [m[:, -1]]
            Ps = [P[:, -1]]
            for t in reversed(range(m.shape[1] - 1)):
                G = torch.linalg.solve(P_pred[:, t + 1], self.F @ P[:, t]).mT
                m_s = m[:, t] + (G @ (ms[0] - m_pred[:, t + 1]).unsqueeze(-1)).squeeze(-1)
                P_s = P[:, t] + G @ (Ps[0] - P_pred[:, t + 1]) @ G.mT
                ms.insert(0, m_s)
                Ps.insert(0, P_s)
            return torch.stack(ms, dim=1), torch.stack(Ps, dim=1)

    model = KalmanModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    values: list[float] = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        out = model(y)
        loss = -out["ll"].mean()
        loss.backward()
        optimizer.step()
        values += [loss.item(), (out["ll"] - out["ll_manual"]).abs().max().item()]
        values += [model.log_r.grad.item(), model.q_raw_diag.grad.norm().item()]
    with torch.no_grad():
        out = model(y)
        m_s, P_s = model.smooth(out)
        rmse_filter = (out["m"][..., 0] - x_true_t[..., 0]).pow(2).mean().sqrt()
        rmse_smooth = (m_s[..., 0] - x_true_t[..., 0]).pow(2).mean().sqrt()
        values += [rmse_filter.item(), rmse_smooth.item()]
        values += P_s.diagonal(dim1=-2, dim2=-1).flatten().tolist()
        gap = (out["P"].diagonal(dim1=-2, dim2=-1) - P_s.diagonal(dim1=-2, dim2=-1)).min()
        values += [gap.item(), model.Q().flatten().tolist()[0], model.R().item()]
    # the smoothed last step equals the filtered one
    values += [(m_s[:, -1] - out["m"][:, -1]).abs().max().item()]
    return values


def check(values: list[float]) -> None:
    for step in range(STEPS):
        assert values[4 * step + 1] < 1e-10  # MultivariateNormal.log_prob == slogdet/solve
    assert values[0] > values[4 * (STEPS - 1)]  # the likelihood improves
    assert values[-4] > -1e-12  # smoothing never increases the marginal variances
    assert values[-1] == 0.0
