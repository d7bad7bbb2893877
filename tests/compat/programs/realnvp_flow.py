"""senya-ashukha/real-nvp-pytorch (``real-nvp-pytorch.ipynb``), the much-copied minimal RealNVP
normalizing flow on two moons, size-reduced: ``RealNVP(nets, nett, mask, prior)`` keeping the
coupling masks as ``nn.Parameter(mask, requires_grad=False)`` (so they sit in the state dict),
``torch.nn.ModuleList([nett() for _ in range(len(masks))])`` over the notebook's global
``masks``; the inverse ``g`` (``x_ + (1 - self.mask[i]) * (x * torch.exp(s) + t)``) and the
forward ``f`` accumulating ``log_det_J`` from ``x.new_zeros(x.shape[0])`` with ``log_det_J -=
s.sum(dim=1)`` over ``reversed(range(len(self.t)))``; ``log_prob`` through
``distributions.MultivariateNormal(torch.zeros(2), torch.eye(2)).log_prob``; the ``nets``/
``nett`` lambdas (``nn.Sequential`` of ``Linear``/``LeakyReLU``, ``nn.Tanh`` on the scale
net); ``masks = torch.from_numpy(np.array([[0, 1], [1, 0]] * 3).astype(np.float32))``; the
loop (``torch.optim.Adam([p for p in flow.parameters() if p.requires_grad==True], lr=1e-4)``,
``-flow.log_prob(torch.from_numpy(noisy_moons)).mean()``, ``loss.backward(retain_graph=True)``,
``'loss = %.3f' % loss`` on a tensor -- here on
``loss.detach()``, since formatting a tensor that requires grad through ``__float__`` warns in
PyTorch 2.13, once per process); ``flow.f(...)[0].detach().numpy()`` and ``sample``
(``self.prior.sample((batchSize, 1))``, ``self.g(z)`` on the (N, 1, 2) draw).

Changed: ``sklearn.datasets.make_moons(n_samples=100, noise=.05)`` is a NumPy two-moons
generator of the same construction (seeded), hidden width 256 -> 16, 5001 iterations -> 8,
lr 1e-4 -> 1e-2; ``prior.sample`` is replaced by a NumPy standard-normal draw of the same
shape (the two frameworks' generators differ) pushed through ``g`` the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float32"
RTOL = 2e-4
ATOL = 1e-5
HIDDEN = 16


def make_moons(rng: np.random.Generator, n_samples: int, noise: float) -> np.ndarray:
    """Two interleaving half circles with Gaussian noise, as ``sklearn.datasets.make_moons``."""
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = np.stack([np.cos(np.linspace(0, np.pi, n_out)), np.sin(np.linspace(0, np.pi, n_out))])
    inner = np.stack(
        [1 - np.cos(np.linspace(0, np.pi, n_in)), 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5]
    )
    X = np.concatenate([outer, inner], axis=1).T
    return X + rng.normal(scale=noise, size=X.shape)


def _flow(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    distributions = torch_like.distributions

    masks = torch.from_numpy(np.array([[0, 1], [1, 0]] * 3).astype(np.float32))

    class RealNVP(nn.Module):
        def __init__(self, nets: Any, nett: Any, mask: Any, prior: Any) -> None:
            super(RealNVP, self).__init__()  # noqa: UP008 (as in the notebook)

            self.prior = prior
            self.mask = nn.Parameter(mask, requires_grad=False)
            self.t = torch.nn.ModuleList([nett() for _ in range(len(masks))])
            self.s = torch.nn.ModuleList([nets() for _ in range(len(masks))])

        def g(self, z: Any) -> Any:
            x = z
            for i in range(len(self.t)):
                x_ = x * self.mask[i]
                s = self.s[i](x_) * (1 - self.mask[i])
                t = self.t[i](x_) * (1 - self.mask[i])
                x = x_ + (1 - self.mask[i]) * (x * torch.exp(s) + t)
            return x

        def f(self, x: Any) -> tuple[Any, Any]:
            log_det_J, z = x.new_zeros(x.shape[0]), x
            for i in reversed(range(len(self.t))):
                z_ = self.mask[i] * z
                s = self.s[i](z_) * (1 - self.mask[i])
                t = self.t[i](z_) * (1 - self.mask[i])
                z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + z_
                log_det_J -= s.sum(dim=1)
            return z, log_det_J

        def log_prob(self, x: Any) -> Any:
            z, logp = self.f(x)
            return self.prior.log_prob(z) + logp

        def sample(self, batchSize: int, z: Any = None) -> Any:
            if z is None:
                z = self.prior.sample((batchSize, 1))
            logp = self.prior.log_prob(z)  # noqa: F841 (as in the notebook)
            x = self.g(z)
            return x

    def nets() -> Any:
        return nn.Sequential(
            nn.Linear(2, HIDDEN), nn.LeakyReLU(), nn.Linear(HIDDEN, HIDDEN), nn.LeakyReLU(),
            nn.Linear(HIDDEN, 2), nn.Tanh(),
        )  # fmt: skip

    def nett() -> Any:
        return nn.Sequential(
            nn.Linear(2, HIDDEN), nn.LeakyReLU(), nn.Linear(HIDDEN, HIDDEN), nn.LeakyReLU(),
            nn.Linear(HIDDEN, 2),
        )  # fmt: skip

    prior = distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    return RealNVP(nets, nett, masks, prior)


def make_model(torch_like: Any) -> Any:
    return _flow(torch_like)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    flow = _flow(torch_like)
    if init is not None:
        flow.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    rng = np.random.default_rng(0)
    values: list[float] = []
    log = []

    optimizer = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad == True], lr=1e-2)  # noqa: E712
    for t in range(8):
        noisy_moons = make_moons(rng, n_samples=100, noise=0.05).astype(np.float32)
        loss = -flow.log_prob(torch.from_numpy(noisy_moons)).mean()

        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()

        if t % 2 == 0:
            log.append("iter %s:" % t + " loss = %.3f" % loss.detach())  # noqa: UP031
        values.append(loss.item())
    values.append(float(len(log[-1])))
    values.append(float(flow.mask.grad is None and not flow.mask.requires_grad))

    noisy_moons = make_moons(rng, n_samples=50, noise=0.05).astype(np.float32)
    z = flow.f(torch.from_numpy(noisy_moons))[0].detach().numpy()
    x = flow.sample(10, z=torch.from_numpy(rng.standard_normal((10, 1, 2)).astype(np.float32)))
    x = x.detach().numpy()
    values += z[:5].ravel().tolist() + x.ravel().tolist() + [float(x.shape[1])]
    return values
