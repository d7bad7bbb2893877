"""Rezende & Mohamed 2015 "Variational Inference with Normalizing Flows": planar and radial flows
as VincentStimper/normalizing-flows (``normflows/flows/planar.py``, ``radial.py``,
``distributions/base.py``, ``target.py``, ``core.py``) and tonyduan/normalizing-flows
(``nf/flows.py``) write them, fitted to a two-mode 2-D density by reverse KL, size-reduced.

The idioms: normflows' ``Planar`` (``nn.Parameter(torch.empty(shape)[None])`` filled by
``nn.init.uniform_(self.u, -lim_u, lim_u)``, ``lin = torch.sum(self.w * z, list(range(1,
self.w.dim())), keepdim=True) + self.b``, the invertibility fix ``(torch.log(1 +
torch.exp(inner)) - 1 - inner) * self.w / torch.sum(self.w**2)``, ``h_ = 1 - h_**2`` or the
LeakyReLU form ``(h_ < 0) * (self.h.negative_slope - 1.0) + 1.0`` on a bool tensor,
``log_det.reshape(-1)``); ``Radial`` (``torch.prod(torch.tensor(shape))``, ``beta =
torch.log(1 + torch.exp(self.beta)) - torch.abs(self.alpha)``, ``torch.linalg.vector_norm(dz,
dim=list(range(1, self.z_0.dim())), keepdim=True)``, ``(self.d - 1) * torch.log(1 + h_arr) +
torch.log(1 + h_arr + h_arr_)``); tonyduan's 1-D parameter form (``self.w @ self.u``,
``torch.norm(self.w) ** 2``, ``torch.unsqueeze(x @ self.w, 1) + self.b``, ``phi @ u``);
``DiagGaussian`` (``-0.5 * self.d * np.log(2 * np.pi) - torch.sum(self.log_scale + 0.5 *
torch.pow(eps, 2), list(range(1, self.n_dim + 1)))``); the ``TwoModes`` target (``torch.norm(z,
dim=1)``, ``torch.abs(torch.tensor(self.loc))``); ``reverse_kld`` (``log_q -= log_det``,
``torch.mean(log_q) - beta * torch.mean(log_p)``) with the annealing ``np.min([1., 0.01 + it /
annealing_steps])`` and the guard ``if ~(torch.isnan(loss) | torch.isinf(loss))``; Adam with
``weight_decay``; and the grid plot's ``torch.meshgrid(..., indexing="ij")``, ``torch.cat([xx
.unsqueeze(2), yy.unsqueeze(2)], 2).view(-1, 2)``, ``prob[torch.isnan(prob)] = 0``.

Changed: 32 planar layers over 2**10 samples -> 4 planar (tanh and leaky_relu), 2 radial and one
1-D planar layer over 16 NumPy draws; ``q0``'s ``torch.randn`` is a NumPy draw; 5 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, N_SAMPLES = 2, 16


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    init = torch_like.nn.init

    class Planar(nn.Module):
        def __init__(self, shape: tuple, act: str = "tanh") -> None:
            super().__init__()
            lim_w = np.sqrt(2.0 / np.prod(shape))
            lim_u = np.sqrt(2)
            self.u = nn.Parameter(torch.empty(shape)[None])
            nn.init.uniform_(self.u, -lim_u, lim_u)
            self.w = nn.Parameter(torch.empty(shape)[None])
            nn.init.uniform_(self.w, -lim_w, lim_w)
            self.b = nn.Parameter(torch.zeros(1))
            self.act = act
            if act == "tanh":
                self.h = torch.tanh
            elif act == "leaky_relu":
                self.h = torch.nn.LeakyReLU(negative_slope=0.2)
            else:
                raise NotImplementedError("Nonlinearity is not implemented.")

        def forward(self, z: Any) -> tuple[Any, Any]:
            lin = torch.sum(self.w * z, list(range(1, self.w.dim())), keepdim=True) + self.b
            inner = torch.sum(self.w * self.u)
            u = self.u + (torch.log(1 + torch.exp(inner)) - 1 - inner) * self.w / torch.sum(
                self.w**2
            )  # constraint w.T * u > -1
            h_ = self.h(lin)
            z_ = z + u * h_
            if self.act == "tanh":  # derivative of tanh
                h_ = 1 - h_**2
            elif self.act == "leaky_relu":
                h_ = (h_ < 0) * (self.h.negative_slope - 1.0) + 1.0
            log_det = torch.log(torch.abs(1 + torch.sum(self.w * u) * h_))
            log_det = log_det.reshape(-1)
            return z_, log_det

    class Radial(nn.Module):
        def __init__(self, shape: tuple, z_0: Any = None) -> None:
            super().__init__()
            self.d_cpt = torch.prod(torch.tensor(shape))
            self.d = shape[0]
            lim = 1.0 / np.prod(shape)
            self.beta = nn.Parameter(torch.empty(1))
            nn.init.uniform_(self.beta, -lim - 1.0, lim - 1.0)
            self.alpha = nn.Parameter(torch.empty(1))
            nn.init.uniform_(self.alpha, -lim, lim)
            if z_0 is not None:
                self.z_0 = nn.Parameter(z_0)
            else:
                self.z_0 = nn.Parameter(torch.randn(shape)[None])

        def forward(self, z: Any) -> tuple[Any, Any]:
            beta = torch.log(1 + torch.exp(self.beta)) - torch.abs(self.alpha)
            dz = z - self.z_0
            r = torch.linalg.vector_norm(dz, dim=list(range(1, self.z_0.dim())), keepdim=True)
            h_arr = beta / (torch.abs(self.alpha) + r)
            h_arr_ = -beta * r / (torch.abs(self.alpha) + r) ** 2
            z_ = z + h_arr * dz
            log_det = (self.d - 1) * torch.log(1 + h_arr) + torch.log(1 + h_arr + h_arr_)
            log_det = log_det.reshape(-1)
            return z_, log_det

    class PlanarFlow(nn.Module):
        """tonyduan/normalizing-flows' planar flow with 1-D parameters."""

        def __init__(self, dim: int, nonlinearity: Any = torch.tanh) -> None:
            super().__init__()
            self.h = nonlinearity
            self.w = nn.Parameter(torch.Tensor(dim))
            self.u = nn.Parameter(torch.Tensor(dim))
            self.b = nn.Parameter(torch.Tensor(1))
            self.reset_parameters(dim)

        def reset_parameters(self, dim: int) -> None:
            init.uniform_(self.w, -math.sqrt(1 / dim), math.sqrt(1 / dim))
            init.uniform_(self.u, -math.sqrt(1 / dim), math.sqrt(1 / dim))
            init.uniform_(self.b, -math.sqrt(1 / dim), math.sqrt(1 / dim))

        def forward(self, x: Any) -> tuple[Any, Any]:
            if self.h in (F.elu, F.leaky_relu):
                u = self.u
            elif self.h == torch.tanh:
                scal = torch.log(1 + torch.exp(self.w @ self.u)) - self.w @ self.u - 1
                u = self.u + scal * self.w / torch.norm(self.w) ** 2
            else:
                raise NotImplementedError("Non-linearity is not supported.")
            lin = torch.unsqueeze(x @ self.w, 1) + self.b
            z = x + u * self.h(lin)
            phi = (1 - torch.tanh(lin) ** 2) * self.w
            log_det = torch.log(torch.abs(1 + phi @ u) + 1e-4)
            return z, log_det

    class DiagGaussian(nn.Module):
        def __init__(self, shape: int) -> None:
            super().__init__()
            self.shape = (shape,)
            self.n_dim = len(self.shape)
            self.d = np.prod(self.shape)
            self.loc = nn.Parameter(torch.zeros(1, *self.shape))
            self.log_scale = nn.Parameter(torch.zeros(1, *self.shape))

        def forward(self, eps: Any) -> tuple[Any, Any]:
            z = self.loc + torch.exp(self.log_scale) * eps
            log_p = -0.5 * self.d * np.log(2 * np.pi) - torch.sum(
                self.log_scale + 0.5 * torch.pow(eps, 2), list(range(1, self.n_dim + 1))
            )
            return z, log_p

    class NormalizingFlow(nn.Module):
        def __init__(self, q0: Any, flows: list) -> None:
            super().__init__()
            self.q0 = q0
            self.flows = nn.ModuleList(flows)

        def reverse_kld(self, target: Any, eps: Any, beta: float = 1.0) -> Any:
            z, log_q_ = self.q0(eps)
            log_q = torch.zeros_like(log_q_)
            log_q += log_q_
            for flow in self.flows:
                z, log_det = flow(z)
                log_q -= log_det
            log_p = target.log_prob(z)
            return torch.mean(log_q) - beta * torch.mean(log_p)

    flows = [Planar((DIM,)), Radial((DIM,)), Planar((DIM,), act="leaky_relu"), Radial((DIM,))]
    flows += [Planar((DIM,)), Planar((DIM,), act="leaky_relu"), PlanarFlow(DIM)]
    return NormalizingFlow(DiagGaussian(DIM), flows)


class TwoModes:
    def __init__(self, torch: Any, loc: float, scale: float) -> None:
        self.torch, self.loc, self.scale = torch, loc, scale

    def log_prob(self, z: Any) -> Any:
        torch = self.torch
        a = torch.abs(z[:, 0])
        eps = torch.abs(torch.tensor(self.loc))
        log_prob = (
            -0.5 * ((torch.norm(z, dim=1) - self.loc) / (2 * self.scale)) ** 2
            - 0.5 * ((a - eps) / (3 * self.scale)) ** 2
            + torch.log(1 + torch.exp(-2 * (a * eps) / (3 * self.scale**2)))
        )
        return log_prob


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(36)
    nfm = make_model(torch_like)
    load_numpy_state(torch_like, nfm, init)
    target = TwoModes(torch, 2.0, 0.1)
    optimizer = torch.optim.Adam(nfm.parameters(), lr=1e-2, weight_decay=1e-4)
    annealing_steps = 4
    values: list[float] = []
    for it in range(5):
        optimizer.zero_grad()
        eps = as_tensor(torch, rng.standard_normal((N_SAMPLES, DIM)))
        loss = nfm.reverse_kld(target, eps, beta=np.min([1.0, 0.01 + it / annealing_steps]))
        if ~(torch.isnan(loss) | torch.isinf(loss)):
            loss.backward()
            optimizer.step()
        values.append(loss.to("cpu").data.numpy().item())
    grid_size = 5
    xx, yy = torch.meshgrid(
        torch.linspace(-3, 3, grid_size), torch.linspace(-3, 3, grid_size), indexing="ij"
    )
    zz = torch.cat([xx.unsqueeze(2), yy.unsqueeze(2)], 2).view(-1, 2)
    log_prob = target.log_prob(zz).to("cpu").view(*xx.shape)
    prob = torch.exp(log_prob)
    prob[torch.isnan(prob)] = 0
    values += prob.sum(dim=0).tolist()
    with torch.no_grad():
        z, _ = nfm.q0(as_tensor(torch, rng.standard_normal((4, DIM))))
        for flow in nfm.flows:
            z, log_det = flow(z)
            values.append(log_det.sum().item())
    values += z.flatten().tolist()
    return values
