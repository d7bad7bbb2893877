"""Deep equilibrium models, as the NeurIPS implicit-layers tutorial (chapter 4, "Deep
equilibrium models") and locuslab/deq (``DEQFixedPoint`` with hook removal) write them,
size-reduced:

- ``ResNetLayer`` (``conv1``/``conv2`` with ``bias=False``, ``nn.GroupNorm``, weights drawn by
  ``self.conv1.weight.data.normal_(0, 0.01)``, ``self.norm3(z + self.norm2(x + self.conv2(y)))``);
- ``anderson`` (``X``/``F`` buffers of ``torch.zeros(bsz, m, d*H*W)``, ``H[:,0,1:] = H[:,1:,0] =
  1``, ``torch.bmm(G, G.transpose(1,2)) + lam*torch.eye(n)[None]``,
  ``torch.linalg.solve(H[:,:n+1,:n+1], y[:,:n+1])[:, 1:n+1, 0]``, ``alpha[:,None] @ F[:,:n]``,
  ``X[:,k%m].view_as(x0)``, the relative residual ``.norm().item()`` with an early ``break``)
  and the plain ``forward_iteration`` solver;
- ``DEQFixedPoint.forward``: the solver under ``torch.no_grad()``, one more ``self.f(z, x)``
  with grad, ``z0 = z.clone().detach().requires_grad_()``, ``f0 = self.f(z0, x)`` and
  ``z.register_hook(backward_hook)`` whose hook solves the implicit backward fixed point
  ``g = J^T g + grad`` with ``autograd.grad(f0, z0, y, retain_graph=True)[0] + grad``; the
  locuslab/deq form keeps ``self.hook`` and calls ``self.hook.remove()`` inside the hook;
- the training loop: ``nn.Sequential`` of a stem conv, ``BatchNorm2d``, the DEQ layer, a head
  (``nn.AdaptiveAvgPool2d``, ``nn.Flatten``, ``nn.Linear``), ``optim.Adam``,
  ``nn.CrossEntropyLoss``, ``model.train()``;
- the tutorial's check of the implicit gradient against ``torch.autograd.gradcheck``-style
  finite differences (here: against unrolling the solver with grad and backpropagating through
  every iteration, which agrees at the converged fixed point).

Changed: CIFAR-10 is a 2x3x6x6 NumPy batch; 4 channels; the stem's BatchNorm weight is 8 (a
strong injection keeps ``f`` a contraction) and Anderson's ``lam`` is 1e-14, so that the solver
reaches ``tol=1e-6`` well before ``max_iter`` and both frameworks stop after the same number of
iterations; the unrolled reference runs 20 plain iterations; one optimizer step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

CHAN = 4


def init_state(tmp_path: Any) -> dict[str, np.ndarray]:
    """Small weights so that ``f`` is a contraction (the tutorial's ``normal_(0, 0.01)``)."""
    rng = np.random.default_rng(5)
    return {
        "stem.weight": rng.standard_normal((CHAN, 3, 3, 3)) * 0.2,
        "conv1.weight": rng.standard_normal((8, CHAN, 3, 3)) * 0.05,
        "conv2.weight": rng.standard_normal((CHAN, 8, 3, 3)) * 0.05,
        "head.weight": rng.standard_normal((3, CHAN)) * 0.5,
        "head.bias": np.zeros(3),
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    autograd = torch.autograd

    class ResNetLayer(nn.Module):
        def __init__(self, n_channels: int, n_inner_channels: int, kernel_size: int = 3,
                     num_groups: int = 2) -> None:  # fmt: skip
            super().__init__()
            self.conv1 = nn.Conv2d(n_channels, n_inner_channels, kernel_size,
                                   padding=kernel_size // 2, bias=False)  # fmt: skip
            self.conv2 = nn.Conv2d(n_inner_channels, n_channels, kernel_size,
                                   padding=kernel_size // 2, bias=False)  # fmt: skip
            self.norm1 = nn.GroupNorm(num_groups, n_inner_channels)
            self.norm2 = nn.GroupNorm(num_groups, n_channels)
            self.norm3 = nn.GroupNorm(num_groups, n_channels)
            self.conv1.weight.data.normal_(0, 0.01)
            self.conv2.weight.data.normal_(0, 0.01)

        def forward(self, z: Any, x: Any) -> Any:
            y = self.norm1(torch.relu(self.conv1(z)))
            return self.norm3(torch.relu(z + self.norm2(x + self.conv2(y))))

    def anderson(f: Any, x0: Any, m: int = 5, lam: float = 1e-4, max_iter: int = 50,
                 tol: float = 1e-2, beta: float = 1.0) -> tuple[Any, list]:  # fmt: skip
        """Anderson acceleration for fixed point iteration."""
        bsz, d, H, W = x0.shape
        X = torch.zeros(bsz, m, d * H * W, dtype=x0.dtype, device=x0.device)
        F = torch.zeros(bsz, m, d * H * W, dtype=x0.dtype, device=x0.device)
        X[:, 0], F[:, 0] = x0.view(bsz, -1), f(x0).view(bsz, -1)
        X[:, 1], F[:, 1] = F[:, 0], f(F[:, 0].view_as(x0)).view(bsz, -1)

        H = torch.zeros(bsz, m + 1, m + 1, dtype=x0.dtype, device=x0.device)
        H[:, 0, 1:] = H[:, 1:, 0] = 1
        y = torch.zeros(bsz, m + 1, 1, dtype=x0.dtype, device=x0.device)
        y[:, 0] = 1

        res = []
        for k in range(2, max_iter):
            n = min(k, m)
            G = F[:, :n] - X[:, :n]
            H[:, 1 : n + 1, 1 : n + 1] = (
                torch.bmm(G, G.transpose(1, 2))
                + lam * torch.eye(n, dtype=x0.dtype, device=x0.device)[None]
            )
            alpha = torch.linalg.solve(H[:, : n + 1, : n + 1], y[:, : n + 1])[:, 1 : n + 1, 0]
            X[:, k % m] = (
                beta * (alpha[:, None] @ F[:, :n])[:, 0]
                + (1 - beta) * (alpha[:, None] @ X[:, :n])[:, 0]
            )
            F[:, k % m] = f(X[:, k % m].view_as(x0)).view(bsz, -1)
            res.append(
                (F[:, k % m] - X[:, k % m]).norm().item() / (1e-5 + F[:, k % m].norm().item())
            )
            if res[-1] < tol:
                break
        return X[:, k % m].view_as(x0), res

    def forward_iteration(f: Any, x0: Any, max_iter: int = 50, tol: float = 1e-2) -> tuple:
        f0 = f(x0)
        res = []
        for _ in range(max_iter):
            x = f0
            f0 = f(x)
            res.append((f0 - x).norm().item() / (1e-5 + f0.norm().item()))
            if res[-1] < tol:
                break
        return f0, res

    class DEQFixedPoint(nn.Module):
        def __init__(self, f: Any, solver: Any, **kwargs: Any) -> None:
            super().__init__()
            self.f = f
            self.solver = solver
            self.kwargs = kwargs
            self.hook = None

        def forward(self, x: Any) -> Any:
            # compute forward pass and re-engage autograd tape
            with torch.no_grad():
                z, self.forward_res = self.solver(
                    lambda z: self.f(z, x), torch.zeros_like(x), **self.kwargs
                )
            z = self.f(z, x)

            # set up Jacobian vector product (without additional forward calls)
            z0 = z.clone().detach().requires_grad_()
            f0 = self.f(z0, x)

            def backward_hook(grad: Any) -> Any:
                if self.hook is not None:
                    self.hook.remove()  # avoid infinite recursion (locuslab/deq)
                g, self.backward_res = self.solver(
                    lambda y: autograd.grad(f0, z0, y, retain_graph=True)[0] + grad,
                    grad,
                    **self.kwargs,
                )
                return g

            self.hook = z.register_hook(backward_hook)
            return z

    torch.manual_seed(0)
    f = ResNetLayer(CHAN, 8, kernel_size=3)
    deq = DEQFixedPoint(f, anderson, tol=1e-6, max_iter=30, m=5, lam=1e-14)
    stem = nn.Conv2d(3, CHAN, kernel_size=3, bias=False, padding=1)
    head = nn.Linear(CHAN, 3)
    model = nn.Sequential(
        stem, nn.BatchNorm2d(CHAN), deq, nn.BatchNorm2d(CHAN), nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(), head,
    )  # fmt: skip
    with torch.no_grad():
        stem.weight.copy_(as_tensor(torch, init["stem.weight"]))
        f.conv1.weight.copy_(as_tensor(torch, init["conv1.weight"]))
        f.conv2.weight.copy_(as_tensor(torch, init["conv2.weight"]))
        head.weight.copy_(as_tensor(torch, init["head.weight"]))
        head.bias.copy_(as_tensor(torch, init["head.bias"]))
        model[1].weight.fill_(8.0)  # a strong injection keeps f a contraction
    rng = np.random.default_rng(9)
    X = as_tensor(torch, rng.standard_normal((2, 3, 6, 6)))
    y = as_tensor(torch, rng.integers(0, 3, (2,)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    values: list[float] = []

    # the implicit gradient against backprop through the unrolled iteration
    model.train()
    x_in = model[1](stem(X)).detach()
    z_star = deq(x_in)
    values += [float(len(deq.forward_res)), z_star.abs().sum().item()]
    (z_star * x_in).sum().backward()
    implicit = [p.grad.clone() for p in f.parameters()]
    values.append(float(len(deq.backward_res)))
    f.zero_grad()
    z_unrolled, res = forward_iteration(
        lambda z: f(z, x_in), torch.zeros_like(x_in), max_iter=20, tol=1e-12
    )
    (z_unrolled * x_in).sum().backward()
    unrolled = [p.grad.clone() for p in f.parameters()]
    diff = max((a - b).abs().max().item() for a, b in zip(implicit, unrolled))
    scale = max(a.abs().max().item() for a in implicit)
    values += [float(diff < 1e-3 * scale), scale]
    f.zero_grad()

    for _ in range(1):
        opt.zero_grad()
        yp = model(X)
        loss = loss_fn(yp, y)
        loss.backward()
        opt.step()
        values += [loss.item(), float(len(deq.forward_res)), float(len(deq.backward_res))]
    return values


def check(values: list[float]) -> None:
    """Implicit differentiation agrees with backprop through the unrolled solver."""
    assert values[3] == 1.0, values[:5]
