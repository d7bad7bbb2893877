"""A continuous normalizing flow as rtqichen/ffjord and torchdyn write it, size-reduced (a 2-D
toy density, fixed-step RK4 in place of ``torchdiffeq.odeint``).

The idioms: FFJORD's ``ConcatSquashLinear`` (``self._layer(x) * torch.sigmoid(self._hyper_gate(
t.view(1, 1))) + self._hyper_bias(t.view(1, 1))``) stacked in an ``ODEnet`` with ``tanh``;
``ODEfunc`` with a ``register_buffer("_num_evals", torch.tensor(0.))`` counter
(``self._num_evals.fill_(0)``, ``+= 1``), ``before_odeint(e=None)``, a forward that runs
``with torch.set_grad_enabled(True):`` / ``y.requires_grad_(True)`` and returns ``(dy,
-divergence)``: the Hutchinson estimator ``divergence_approx`` (``torch.autograd.grad(f, y, e,
create_graph=True)[0]``, ``(e_dzdx * e).view(y.shape[0], -1).sum(dim=1)``) with Rademacher
noise (``torch.randint(low=0, high=2, size=y.shape).to(y) * 2 - 1``, checked for its values
only; the noise the losses use comes from NumPy), and in evaluation the brute-force trace
``divergence_bf`` (a loop of ``torch.autograd.grad(dx[:, i].sum(), y, create_graph=True)[0]
.contiguous()[:, i].contiguous()``); ``CNF`` with ``register_buffer("sqrt_end_time",
torch.sqrt(torch.tensor(T)))``, ``torch.zeros(z.shape[0], 1).to(z)``, ``integration_times =
torch.tensor([0.0, self.sqrt_end_time * self.sqrt_end_time]).to(z)`` (a list holding a 0-d
tensor), ``_flip(integration_times, 0)`` for the reverse pass and ``tuple(s[1] for s in
state_t)``; the loss ``logpx = standard_normal_logprob(z).view(z.shape[0], -1).sum(1,
keepdim=True) - delta_logp`` (``logZ = -0.5 * math.log(2 * math.pi)``) next to
``torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2)).log_prob(z)``;
torchdyn's ``autograd_trace`` / ``hutch_trace`` (``torch.einsum('bi,bi->b', jvp, noise)``) and
its augmented ``CNF`` forward (``x[:, 1:].requires_grad_(True)``, ``torch.cat([-trJ[:, None],
x_out], 1) + 0 * x``); Adam steps back-propagated through the integrator (double backward).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, HIDDEN, BATCH, N_STEPS, TRAIN_STEPS, LR = 2, 8, 16, 4, 3, 1e-2


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class ConcatSquashLinear(nn.Module):
        def __init__(self, dim_in: int, dim_out: int) -> None:
            super().__init__()
            self._layer = nn.Linear(dim_in, dim_out)
            self._hyper_bias = nn.Linear(1, dim_out, bias=False)
            self._hyper_gate = nn.Linear(1, dim_out)

        def forward(self, t: Any, x: Any) -> Any:
            return self._layer(x) * torch.sigmoid(
                self._hyper_gate(t.view(1, 1))
            ) + self._hyper_bias(t.view(1, 1))

    class ODEnet(nn.Module):
        def __init__(self, dims: tuple) -> None:
            super().__init__()
            self.layers = nn.ModuleList(
                [ConcatSquashLinear(a, b) for a, b in zip(dims[:-1], dims[1:])]
            )
            self.activation_fns = nn.ModuleList([nn.Tanh() for _ in range(len(dims) - 2)])

        def forward(self, t: Any, y: Any) -> Any:
            dx = y
            for l, layer in enumerate(self.layers):  # noqa: E741 (FFJORD's name)
                dx = layer(t, dx)
                if l < len(self.layers) - 1:
                    dx = self.activation_fns[l](dx)
            return dx

    class ODEfunc(nn.Module):
        def __init__(self, diffeq: Any) -> None:
            super().__init__()
            self.diffeq = diffeq
            self.register_buffer("_num_evals", torch.tensor(0.0))
            self._e = None

        def before_odeint(self, e: Any = None) -> None:
            self._e = e
            self._num_evals.fill_(0)

        def num_evals(self) -> float:
            return self._num_evals.item()

        def forward(self, t: Any, states: tuple) -> tuple:
            y = states[0]
            self._num_evals += 1
            t = t.type_as(y)
            batchsize = y.shape[0]
            with torch.set_grad_enabled(True):
                y.requires_grad_(True)
                dy = self.diffeq(t, y)
                if not self.training and dy.view(dy.shape[0], -1).shape[1] == 2:
                    divergence = divergence_bf(torch, dy, y).view(batchsize, 1)
                else:
                    divergence = divergence_approx(torch, dy, y, e=self._e).view(batchsize, 1)
            return dy, -divergence

    class CNF(nn.Module):
        def __init__(self, odefunc: Any, T: float = 1.0) -> None:
            super().__init__()
            self.register_buffer("sqrt_end_time", torch.sqrt(torch.tensor(T)))
            self.odefunc = odefunc

        def forward(self, z: Any, logpz: Any = None, e: Any = None, reverse: bool = False) -> Any:
            _logpz = torch.zeros(z.shape[0], 1).to(z) if logpz is None else logpz
            integration_times = torch.tensor([0.0, self.sqrt_end_time * self.sqrt_end_time]).to(z)
            if reverse:
                integration_times = _flip(torch, integration_times, 0)
            self.odefunc.before_odeint(e)
            state_t = odeint_rk4(torch, self.odefunc, (z, _logpz), integration_times)
            state_t = tuple(s[1] for s in state_t)
            z_t, logpz_t = state_t[:2]
            return z_t, logpz_t

    return CNF(ODEfunc(ODEnet((DIM, HIDDEN, HIDDEN, DIM))), T=0.5)


def _flip(torch_like: Any, x: Any, dim: int) -> Any:
    indices = [slice(None)] * x.dim()
    indices[dim] = torch_like.arange(x.size(dim) - 1, -1, -1, dtype=torch_like.long)
    return x[tuple(indices)]


def divergence_bf(torch_like: Any, dx: Any, y: Any) -> Any:
    sum_diag = 0.0
    for i in range(y.shape[1]):
        grad = torch_like.autograd.grad(dx[:, i].sum(), y, create_graph=True)[0]
        sum_diag += grad.contiguous()[:, i].contiguous()
    return sum_diag.contiguous()


def divergence_approx(torch_like: Any, f: Any, y: Any, e: Any = None) -> Any:
    e_dzdx = torch_like.autograd.grad(f, y, e, create_graph=True)[0]
    e_dzdx_e = e_dzdx * e
    return e_dzdx_e.view(y.shape[0], -1).sum(dim=1)


def sample_rademacher_like(torch_like: Any, y: Any) -> Any:
    return torch_like.randint(low=0, high=2, size=y.shape).to(y) * 2 - 1


def odeint_rk4(torch_like: Any, func: Any, y0: tuple, t: Any) -> tuple:
    """Classic RK4 over N_STEPS equal steps between t[0] and t[-1]; returns each state at both
    ends, stacked along dim 0 as ``odeint`` does."""
    torch = torch_like
    h = (t[-1] - t[0]) / N_STEPS
    y, tt = y0, t[0]
    for _ in range(N_STEPS):
        k1 = func(tt, y)
        k2 = func(tt + h / 2, tuple(a + h / 2 * k for a, k in zip(y, k1)))
        k3 = func(tt + h / 2, tuple(a + h / 2 * k for a, k in zip(y, k2)))
        k4 = func(tt + h, tuple(a + h * k for a, k in zip(y, k3)))
        y = tuple(
            a + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4) for a, d1, d2, d3, d4 in zip(y, k1, k2, k3, k4)
        )
        tt = tt + h
    return tuple(torch.stack([a, b]) for a, b in zip(y0, y))


def standard_normal_logprob(z: Any) -> Any:
    logZ = -0.5 * math.log(2 * math.pi)
    return logZ - z.pow(2) / 2


def torchdyn_traces(torch_like: Any, model: Any, x: Any, noise: Any) -> list[float]:
    """torchdyn's augmented CNF forward with its exact and Hutchinson traces."""
    torch = torch_like
    net = model.odefunc.diffeq
    t = torch.tensor(0.25)

    def autograd_trace(x_out: Any, x_in: Any, **kwargs: Any) -> Any:
        trJ = 0.0
        for i in range(x_in.shape[1]):
            trJ += torch.autograd.grad(
                x_out[:, i].sum(), x_in, allow_unused=False, create_graph=True
            )[0][:, i]
        return trJ

    def hutch_trace(x_out: Any, x_in: Any, noise: Any = None, **kwargs: Any) -> Any:
        jvp = torch.autograd.grad(x_out, x_in, noise, create_graph=True)[0]
        return torch.einsum("bi,bi->b", jvp, noise)

    values = []
    aug = torch.cat([torch.zeros(x.shape[0], 1), x], 1)
    for trace_estimator in (autograd_trace, hutch_trace):
        with torch.set_grad_enabled(True):
            x_in = aug[:, 1:].requires_grad_(True)
            x_out = net(t, x_in)
            trJ = trace_estimator(x_out, x_in, noise=noise)
        out = torch.cat([-trJ[:, None], x_out], 1) + 0 * aug
        values += out[:4].flatten().tolist()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=1e-5)
    base = torch.distributions.MultivariateNormal(torch.zeros(DIM), torch.eye(DIM))

    torch.manual_seed(0)
    e = sample_rademacher_like(torch, torch.zeros(BATCH, DIM))
    values = [float(set(e.unique().tolist()) <= {-1.0, 1.0}), float(e.dtype == torch.float64)]

    for _step in range(TRAIN_STEPS):
        x = as_tensor(torch, rng.standard_normal((BATCH, DIM)) * [1.0, 0.3] + [0.5, -1.0])
        noise = as_tensor(torch, rng.integers(0, 2, (BATCH, DIM)) * 2.0 - 1.0)
        optimizer.zero_grad()
        zero = torch.zeros(x.shape[0], 1).to(x)
        z, delta_logp = model(x, zero, e=noise)
        logpz = standard_normal_logprob(z).view(z.shape[0], -1).sum(1, keepdim=True)
        logpx = logpz - delta_logp
        loss = -torch.mean(logpx)
        loss.backward()
        optimizer.step()
        mvn = base.log_prob(z.detach())
        values += [
            loss.item(),
            model.odefunc.num_evals(),
            (mvn - logpz.detach()[:, 0]).abs().max().item(),
        ]

    model.eval()
    x = as_tensor(torch, rng.standard_normal((6, DIM)))
    z, delta_logp = model(x)  # exact trace: evaluation, two dimensions
    values += z.detach().flatten().tolist() + delta_logp.detach().flatten().tolist()
    x_back, logp_back = model(z, delta_logp, reverse=True)
    values += [(x_back - x).abs().max().item(), logp_back.abs().max().item()]
    with torch.no_grad():
        samples = base.sample(torch.Size([3]))
        values += [*samples.shape, float(samples.requires_grad)]
    values += torchdyn_traces(
        torch, model, x, as_tensor(torch, rng.integers(0, 2, (6, DIM)) * 2.0 - 1.0)
    )
    return values
