"""fmu2/NICE (``modules/nice.py``, ``nice.py``, ``utils.py``, ``train.py``), the NICE flow of
Dinh et al. with additive coupling, size-reduced.

Kept verbatim: ``StandardLogistic(torch.distributions.Distribution)`` (``super(...).__init__()``
with no shapes, ``log_prob = -(F.softplus(x) + F.softplus(-x))``, ``sample`` as ``torch.log(z) -
torch.log(1. - z)`` of ``torch.distributions.Uniform(0., 1.).sample(size)``); ``Coupling``
splitting ``x.reshape((B, W//2, 2))`` into ``x[:, :, 0]``/``x[:, :, 1]`` by ``mask_config``, an
``in_block``/``mid_block`` (``nn.ModuleList`` of ``nn.Sequential``)/``out_block`` shift, joined
back with ``torch.stack((on, off), dim=2)``; ``Scaling`` with ``nn.Parameter(torch.zeros((1,
dim)), requires_grad=True)``, ``log_det_J = torch.sum(self.scale)`` and ``torch.exp(-self.scale)``
in reverse; ``NICE.f``/``g``/``log_prob`` (``torch.sum(self.prior.log_prob(z), dim=1)``) and
``sample``; the Gaussian prior ``torch.distributions.Normal(torch.tensor(0.),
torch.tensor(1.))``; ``utils.prepare_data``'s dequantisation ``(x * 255. + torch.rand(x.size()))
/ 256.`` and ``x.view(x.shape[0], -1)``; ``optim.Adam(..., betas=(momentum, decay), eps=1e-4)``,
``loss = -flow(inputs).mean()``, the bits-per-dim of the report line, and ``flow.g(flow.f(x))``
inverting exactly.

Changed: 784 -> 8 dims (a 2x4 "image" from a seeded NumPy generator), 1000 -> 16 hidden units,
5 -> 3 hidden layers, 4 coupling layers kept, 25000 iterations -> 6 steps of batch 8, both
priors trained (the logistic one first), no ZCA, ``.cuda()`` calls dropped; the warning the
repository's ``StandardLogistic()`` shows (no ``arg_constraints``) is counted, not shown.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["init_state", "run"]

DIM, MID, HIDDEN, COUPLING, BATCH, STEPS = 8, 16, 3, 4, 8, 6


def _nice_classes(torch: Any) -> tuple:
    nn, F = torch.nn, torch.nn.functional

    class StandardLogistic(torch.distributions.Distribution):
        def __init__(self):  # noqa: ANN204 - as in the repository
            super(StandardLogistic, self).__init__()  # noqa: UP008

        def log_prob(self, x):  # noqa: ANN001, ANN201
            """Computes data log-likelihood."""
            return -(F.softplus(x) + F.softplus(-x))

        def sample(self, size):  # noqa: ANN001, ANN201
            """Samples from the distribution."""
            z = torch.distributions.Uniform(0.0, 1.0).sample(size)
            return torch.log(z) - torch.log(1.0 - z)

    class Coupling(nn.Module):
        def __init__(self, in_out_dim, mid_dim, hidden, mask_config):  # noqa: ANN001, ANN204
            super(Coupling, self).__init__()  # noqa: UP008
            self.mask_config = mask_config
            self.in_block = nn.Sequential(nn.Linear(in_out_dim // 2, mid_dim), nn.ReLU())
            self.mid_block = nn.ModuleList(
                [nn.Sequential(nn.Linear(mid_dim, mid_dim), nn.ReLU()) for _ in range(hidden - 1)]
            )
            self.out_block = nn.Linear(mid_dim, in_out_dim // 2)

        def forward(self, x, reverse=False):  # noqa: ANN001, ANN201
            [B, W] = list(x.size())
            x = x.reshape((B, W // 2, 2))
            if self.mask_config:
                on, off = x[:, :, 0], x[:, :, 1]
            else:
                off, on = x[:, :, 0], x[:, :, 1]

            off_ = self.in_block(off)
            for i in range(len(self.mid_block)):
                off_ = self.mid_block[i](off_)
            shift = self.out_block(off_)
            if reverse:
                on = on - shift
            else:
                on = on + shift

            if self.mask_config:
                x = torch.stack((on, off), dim=2)
            else:
                x = torch.stack((off, on), dim=2)
            return x.reshape((B, W))

    class Scaling(nn.Module):
        def __init__(self, dim):  # noqa: ANN001, ANN204
            super(Scaling, self).__init__()  # noqa: UP008
            self.scale = nn.Parameter(torch.zeros((1, dim)), requires_grad=True)

        def forward(self, x, reverse=False):  # noqa: ANN001, ANN201
            log_det_J = torch.sum(self.scale)
            if reverse:
                x = x * torch.exp(-self.scale)
            else:
                x = x * torch.exp(self.scale)
            return x, log_det_J

    class NICE(nn.Module):
        def __init__(self, prior, coupling, in_out_dim, mid_dim, hidden, mask_config):  # noqa: ANN001, ANN204
            super(NICE, self).__init__()  # noqa: UP008
            self.prior = prior
            self.in_out_dim = in_out_dim
            self.coupling = nn.ModuleList(
                [
                    Coupling(
                        in_out_dim=in_out_dim,
                        mid_dim=mid_dim,
                        hidden=hidden,
                        mask_config=(mask_config + i) % 2,
                    )
                    for i in range(coupling)
                ]
            )
            self.scaling = Scaling(in_out_dim)

        def g(self, z):  # noqa: ANN001, ANN201
            x, _ = self.scaling(z, reverse=True)
            for i in reversed(range(len(self.coupling))):
                x = self.coupling[i](x, reverse=True)
            return x

        def f(self, x):  # noqa: ANN001, ANN201
            for i in range(len(self.coupling)):
                x = self.coupling[i](x)
            return self.scaling(x)

        def log_prob(self, x):  # noqa: ANN001, ANN201
            z, log_det_J = self.f(x)
            log_ll = torch.sum(self.prior.log_prob(z), dim=1)
            return log_ll + log_det_J

        def sample(self, size):  # noqa: ANN001, ANN201
            z = self.prior.sample((size, self.in_out_dim))
            return self.g(z)

        def forward(self, x):  # noqa: ANN001, ANN201
            return self.log_prob(x)

    return StandardLogistic, NICE


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(7)
    return {"images": (rng.random((STEPS, BATCH, 1, 2, 4)) ** 2).astype(np.float64)}


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    StandardLogistic, NICE = _nice_classes(torch)
    with warnings.catch_warnings(record=True) as caught:  # the script shows it and goes on
        warnings.simplefilter("always")
        logistic = StandardLogistic()
    values: list[float] = [
        sum("does not define `arg_constraints`" in str(w.message) for w in caught)
    ]
    for prior in (logistic, torch.distributions.Normal(torch.tensor(0.0), torch.tensor(1.0))):
        torch.manual_seed(0)
        flow = NICE(prior=prior, coupling=COUPLING, in_out_dim=DIM, mid_dim=MID, hidden=HIDDEN,
                    mask_config=1.0)  # fmt: skip
        optimizer = torch.optim.Adam(flow.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-4)
        for step in range(STEPS):
            flow.train()
            x = torch.tensor(init["images"][step])
            inputs = (x * 255.0 + torch.rand(x.size())) / 256.0  # utils.prepare_data
            inputs = inputs.view(inputs.shape[0], -1)
            optimizer.zero_grad()
            loss = -flow(inputs).mean()
            loss.backward()
            optimizer.step()
            bit_per_dim = (loss.item() + np.log(256.0) * DIM) / (DIM * np.log(2.0))
            values += [loss.item(), bit_per_dim]
        flow.eval()
        with torch.no_grad():
            z, _ = flow.f(inputs)
            reconst = flow.g(z)
            samples = flow.sample(4)
        values += [float((reconst - inputs).abs().max()) < 1e-12, samples.sum().item()]
    return values
