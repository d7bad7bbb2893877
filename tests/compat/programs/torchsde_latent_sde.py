"""A latent stochastic differential equation fitted by variational inference, as google-research/
torchsde's ``examples/latent_sde.py`` writes it, with ``torchsde.sdeint``'s Euler-Maruyama
solver (``torchsde/_core/methods/euler.py``, ``base_sde.py``'s ``ForwardSDE.f_and_g_prod``)
written out, size-reduced.

The idioms: ``class LatentSDE(torchsde.SDEIto)`` with ``noise_type="diagonal"`` and the prior
parameters as ``register_buffer("theta", torch.tensor([[theta]]))`` buffers, ``logvar =
math.log(sigma ** 2 / (2. * theta))``; the posterior drift network with the Glow-style zero
initialisation (``self.net[-1].weight.data.fill_(0.)``); ``qy0_mean`` / ``qy0_logvar``
parameters ``nn.Parameter(torch.tensor([[mu]]), requires_grad=True)`` and the ``@property``
stds ``torch.exp(.5 * self.qy0_logvar)``; ``f`` (``if t.dim() == 0: t =
torch.full_like(y, fill_value=t)`` -- a 0-dim tensor as the fill value --, ``torch.cat((
torch.sin(t), torch.cos(t), y), dim=-1)``), ``g`` (``self.sigma.repeat(y.size(0), 1)``),
``h``, the augmented ``f_aug`` / ``g_aug`` carrying the path KL (``_stable_division``:
``torch.where(b.abs().detach() > epsilon, b, torch.full_like(b, fill_value=epsilon) *
b.sign())``, ``.5 * (u ** 2).sum(dim=1, keepdim=True)``, ``torch.zeros_like(y)``);
``forward`` (``torch.randn(batch_size, 1).to(self.qy0_std)``, ``distributions.Normal``,
``distributions.kl_divergence(qy0, py0).sum(dim=1)``, ``torch.zeros(batch_size, 1).to(y0)``,
``aug_ys[:, :, 0:1]``, ``aug_ys[-1, :, 1]``); the Euler-Maruyama step ``y1 = y0 + f * dt +
g * dW`` on a fixed grid with ``ts`` values hit exactly; the training step
(``distributions.Laplace(loc=zs, scale=args.scale)``, ``likelihood.log_prob(ys).sum(dim=0).
mean(dim=0)``, ``loss = -logpy + kl * kl_scheduler.val``, ``LinearScheduler``, ``optim.Adam``
with ``optim.lr_scheduler.ExponentialLR(optimizer=optimizer, gamma=args.lr_gamma)``); the
posterior and prior sampling (``sample_q`` / ``sample_p``) under ``torch.no_grad()`` with NumPy
percentiles of ``zs.cpu().numpy()``.

Changed: 200 hidden units -> 8; the Brownian motion comes from ``torch.randn`` per step (instead
of ``BrownianInterval``), dt 1e-2 -> 0.1 over ``ts_ext`` of 6 points; batch 512 -> 4; 3
iterations; the toy data (``make_segmented_cosine_data``) 4 points.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

HIDDEN, DT, BATCH, ITERS = 8, 0.1, 4, 3


def _latent_sde(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    distributions = torch_like.distributions

    def _stable_division(a: Any, b: Any, epsilon: float = 1e-7) -> Any:
        b = torch.where(
            b.abs().detach() > epsilon, b, torch.full_like(b, fill_value=epsilon) * b.sign()
        )
        return a / b

    def sdeint_euler(sde: Any, y0: Any, ts: Any, dt: float, names: dict) -> Any:
        """torchsde.sdeint(method='euler') on a fixed grid for an Ito SDE, diagonal noise."""
        drift, diffusion = getattr(sde, names["drift"]), getattr(sde, names["diffusion"])
        ys = [y0]
        curr_t, curr_y = ts[0], y0
        for out_t in ts[1:]:
            while curr_t < out_t - 1e-9:
                step = min(dt, float(out_t - curr_t))
                dW = torch.randn_like(curr_y) * math.sqrt(step)
                f, g = drift(curr_t, curr_y), diffusion(curr_t, curr_y)
                curr_y = curr_y + f * step + g * dW
                curr_t = curr_t + step
            ys.append(curr_y)
        return torch.stack(ys, dim=0)

    class LatentSDE(nn.Module):
        sde_type = "ito"

        def __init__(self, theta: float = 1.0, mu: float = 0.0, sigma: float = 0.5) -> None:
            super(LatentSDE, self).__init__()  # noqa: UP008 (as in the example)
            self.noise_type = "diagonal"
            # Prior drift.
            logvar = math.log(sigma**2 / (2.0 * theta))
            self.register_buffer("theta", torch.tensor([[theta]]))
            self.register_buffer("mu", torch.tensor([[mu]]))
            self.register_buffer("sigma", torch.tensor([[sigma]]))

            # p(y0).
            self.register_buffer("py0_mean", torch.tensor([[mu]]))
            self.register_buffer("py0_logvar", torch.tensor([[logvar]]))

            # Approximate posterior drift: Takes in 2 positional encodings and the state.
            self.net = nn.Sequential(
                nn.Linear(3, HIDDEN),
                nn.Tanh(),
                nn.Linear(HIDDEN, HIDDEN),
                nn.Tanh(),
                nn.Linear(HIDDEN, 1),
            )
            # Initialization trick from Glow.
            self.net[-1].weight.data.fill_(0.0)
            self.net[-1].bias.data.fill_(0.0)

            # q(y0).
            self.qy0_mean = nn.Parameter(torch.tensor([[mu]]), requires_grad=True)
            self.qy0_logvar = nn.Parameter(torch.tensor([[logvar]]), requires_grad=True)

        def f(self, t: Any, y: Any) -> Any:  # Approximate posterior drift.
            if t.dim() == 0:
                t = torch.full_like(y, fill_value=t)
            # Positional encoding in transformers for time-inhomogeneous posterior.
            return self.net(torch.cat((torch.sin(t), torch.cos(t), y), dim=-1))

        def g(self, t: Any, y: Any) -> Any:  # Shared diffusion.
            return self.sigma.repeat(y.size(0), 1)

        def h(self, t: Any, y: Any) -> Any:  # Prior drift.
            return self.theta * (self.mu - y)

        def f_aug(self, t: Any, y: Any) -> Any:  # Drift for augmented dynamics with logqp term.
            y = y[:, 0:1]
            f, g, h = self.f(t, y), self.g(t, y), self.h(t, y)
            u = _stable_division(f - h, g)
            f_logqp = 0.5 * (u**2).sum(dim=1, keepdim=True)
            return torch.cat([f, f_logqp], dim=1)

        def g_aug(self, t: Any, y: Any) -> Any:  # Diffusion for augmented dynamics with logqp.
            y = y[:, 0:1]
            g = self.g(t, y)
            g_logqp = torch.zeros_like(y)
            return torch.cat([g, g_logqp], dim=1)

        def forward(self, ts: Any, batch_size: int, eps: Any = None) -> tuple[Any, Any]:
            eps = torch.randn(batch_size, 1).to(self.qy0_std) if eps is None else eps
            y0 = self.qy0_mean + eps * self.qy0_std
            qy0 = distributions.Normal(loc=self.qy0_mean, scale=self.qy0_std)
            py0 = distributions.Normal(loc=self.py0_mean, scale=self.py0_std)
            logqp0 = distributions.kl_divergence(qy0, py0).sum(dim=1)  # KL(t=0).

            aug_y0 = torch.cat([y0, torch.zeros(batch_size, 1).to(y0)], dim=1)
            aug_ys = sdeint_euler(sde=self, y0=aug_y0, ts=ts, dt=DT,
                                  names={"drift": "f_aug", "diffusion": "g_aug"})  # fmt: skip
            ys, logqp_path = aug_ys[:, :, 0:1], aug_ys[-1, :, 1]
            logqp = (logqp0 + logqp_path).mean(dim=0)  # KL(t=0) + KL(path).
            return ys, logqp

        def sample_p(self, ts: Any, batch_size: int, eps: Any = None) -> Any:
            eps = (
                torch.randn(size=(batch_size, 1), device=self.py0_mean.device)
                if eps is None
                else eps
            )
            y0 = self.py0_mean + eps * self.py0_std
            return sdeint_euler(self, y0, ts, dt=DT, names={"drift": "h", "diffusion": "g"})

        def sample_q(self, ts: Any, batch_size: int, eps: Any = None) -> Any:
            eps = (
                torch.randn(size=(batch_size, 1), device=self.qy0_mean.device)
                if eps is None
                else eps
            )
            y0 = self.qy0_mean + eps * self.qy0_std
            return sdeint_euler(self, y0, ts, dt=DT, names={"drift": "f", "diffusion": "g"})

        @property
        def py0_std(self) -> Any:
            return torch.exp(0.5 * self.py0_logvar)

        @property
        def qy0_std(self) -> Any:
            return torch.exp(0.5 * self.qy0_logvar)

    return LatentSDE


def make_model(torch_like: Any) -> Any:
    return _latent_sde(torch_like)()


class LinearScheduler:
    def __init__(self, iters: int, maxval: float = 1.0) -> None:
        self._iters = max(1, iters)
        self._val = maxval / self._iters
        self._maxval = maxval

    def step(self) -> None:
        self._val = min(self._maxval, self._val + self._maxval / self._iters)

    @property
    def val(self) -> float:
        return self._val


def run(torch_like: Any, init: dict) -> list[float]:
    torch, optim, distributions = torch_like, torch_like.optim, torch_like.distributions
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    # make_segmented_cosine_data
    ts_ = np.concatenate((np.linspace(0.3, 0.8, 2), np.linspace(1.2, 1.5, 2)), axis=0)
    ts_ext_ = np.array([0.0] + list(ts_) + [2.0])
    ys_ = np.cos(ts_ * (2.0 * math.pi))[:, None]
    ts, ts_ext = as_tensor(torch_like, ts_), as_tensor(torch_like, ts_ext_)
    ys = as_tensor(torch_like, ys_)

    optimizer = optim.Adam(params=model.parameters(), lr=1e-2)
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer=optimizer, gamma=0.997)
    kl_scheduler = LinearScheduler(iters=100)
    likelihood_constructor = {"laplace": distributions.Laplace,
                              "normal": distributions.Normal}["laplace"]  # fmt: skip
    values: list[float] = [float(ts.sum())]

    for _global_step in range(ITERS):
        # Train.
        optimizer.zero_grad()
        zs, kl = model(ts=ts_ext, batch_size=BATCH)
        zs = zs.squeeze()
        zs = zs[1:-1]  # Drop first and last which are only used to penalize out-of-data region.

        likelihood = likelihood_constructor(loc=zs, scale=0.05)
        logpy = likelihood.log_prob(ys).sum(dim=0).mean(dim=0)

        loss = -logpy + kl * kl_scheduler.val
        loss.backward()

        optimizer.step()
        scheduler.step()
        kl_scheduler.step()
        values += [loss.item(), logpy.item(), kl.item()]

    with torch.no_grad():
        zs = model.sample_q(ts=ts_ext, batch_size=BATCH).squeeze()
        zs_np = zs.cpu().numpy()
        zs_np = np.sort(zs_np, axis=1)
        values += np.percentile(zs_np, [10, 50, 90], axis=1).flatten().tolist()
        values.append(model.sample_p(ts=ts_ext, batch_size=BATCH).mean().item())
    return values
