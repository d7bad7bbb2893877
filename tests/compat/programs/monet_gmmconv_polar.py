"""MoNet (Monti et al. 2017, mixture-model CNNs on graphs and meshes) as PyTorch Geometric
writes it: ``torch_geometric/nn/conv/gmm_conv.py`` (``GMMConv``, both the shared and the
``separate_gaussians`` kernels), ``torch_geometric/transforms/polar.py`` and
``cartesian.py`` (the pseudo-coordinates), ``torch_geometric/nn/inits.py`` (``glorot``,
``zeros``), and the superpixel-MNIST MoNet example loop, size-reduced.

The idioms kept: ``GMMConv``'s parameters ``Parameter(torch.empty(in_channels, out_channels *
kernel_size))`` (``glorot``: ``stdv = math.sqrt(6.0 / (value.size(-2) + value.size(-1)))`` and
``value.data.uniform_(-stdv, stdv)``), ``torch.nn.init.normal_(self.mu, 0, 1)`` /
``(self.sigma, 0, 1)``, the root weight without bias; the Gaussian kernel weights
``-0.5 * (edge_attr.view(E, 1, D) - self.mu.view(1, K, D)).pow(2)`` divided by ``EPS +
self.sigma.view(1, K, D).pow(2)``, ``torch.exp(gaussian.sum(dim=-1))``, messages ``(x_j.view(E,
K, M) * gaussian.view(E, K, 1)).sum(dim=-2)`` (shared) or with ``x_j.view(E, F, 1)``, ``[E, F,
K]`` Gaussians and ``self.g.view(1, F, M, K)`` contracted ``.sum(dim=(-3, -1))``
(``separate_gaussians=True``); mean aggregation; ``Polar`` (``torch.norm(cart, p=2,
dim=-1).view(-1, 1)``, ``torch.atan2(cart[..., 1], cart[..., 0]).view(-1, 1)``, ``theta +
(theta < 0).type_as(theta) * (2 * PI)``, ``rho / (rho.max() if self.max is None else
self.max)``, ``torch.cat([rho, theta], dim=-1)``) and ``Cartesian`` (``cart / (2 * max_value)
+ 0.5`` with ``cart.abs().max()``); the example's ``F.elu`` layers, global mean pooling per
graph, ``F.log_softmax``, ``F.nll_loss``, ``Adam(lr=0.01)`` and the accuracy loop
(``pred = model(data).max(1)[1]``, ``pred.eq(data.y).sum().item()``).

Changed: ``MessagePassing.propagate`` is written out as ``x[row]`` gathers and a
``scatter(..., reduce='mean')`` by ``index_add_`` over degrees (``clamp(min=1)``); MNIST
superpixels -> 8 random 2-d point clouds of 7 points (k-nearest-neighbour edges, two classes
by shape); kernel size 25 -> 3, hidden 32/64 -> 6/6; 30 epochs -> 4.
"""

from __future__ import annotations

import math
from math import pi as PI  # noqa: N812
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

K, HID = 3, 6


def _monet(torch_like: Any) -> type:
    torch = torch_like
    Parameter, Linear = torch.nn.Parameter, torch.nn.Linear
    F = torch.nn.functional

    def glorot(value):  # noqa: ANN001, ANN202
        if isinstance(value, torch.Tensor):
            stdv = math.sqrt(6.0 / (value.size(-2) + value.size(-1)))
            value.data.uniform_(-stdv, stdv)

    def zeros(value):  # noqa: ANN001, ANN202
        if isinstance(value, torch.Tensor):
            value.data.fill_(0)

    def scatter_mean(src, index, dim_size):  # noqa: ANN001, ANN202
        out = torch.zeros(dim_size, src.size(-1), dtype=src.dtype).index_add_(0, index, src)
        count = torch.zeros(dim_size, dtype=src.dtype).index_add_(
            0, index, torch.ones(index.size(0), dtype=src.dtype)
        )
        return out / count.clamp(min=1).view(-1, 1)

    class GMMConv(torch.nn.Module):
        def __init__(self, in_channels, out_channels, dim, kernel_size, separate_gaussians=False,
                     root_weight=True, bias=True):  # noqa: ANN001 # fmt: skip
            super().__init__()

            self.in_channels = in_channels
            self.out_channels = out_channels
            self.dim = dim
            self.kernel_size = kernel_size
            self.separate_gaussians = separate_gaussians
            self.root_weight = root_weight

            self.rel_in_channels = in_channels
            self.g = Parameter(torch.empty(in_channels, out_channels * kernel_size))

            if not self.separate_gaussians:
                self.mu = Parameter(torch.empty(kernel_size, dim))
                self.sigma = Parameter(torch.empty(kernel_size, dim))
            if self.separate_gaussians:
                self.mu = Parameter(torch.empty(in_channels, out_channels, kernel_size, dim))
                self.sigma = Parameter(torch.empty(in_channels, out_channels, kernel_size, dim))

            if root_weight:
                self.root = Linear(in_channels, out_channels, bias=False)

            if bias:
                self.bias = Parameter(torch.empty(out_channels))
            else:
                self.register_parameter("bias", None)

            self.reset_parameters()

        def reset_parameters(self) -> None:
            glorot(self.g)
            torch.nn.init.normal_(self.mu, 0, 1)
            torch.nn.init.normal_(self.sigma, 0, 1)
            if self.root_weight:
                glorot(self.root.weight)
            zeros(self.bias)

        def forward(self, x, edge_index, edge_attr=None):  # noqa: ANN001, ANN201
            x = (x, x)

            row, col = edge_index  # j -> i
            if not self.separate_gaussians:
                out = (torch.matmul(x[0], self.g), x[1])
                msg = self.message(out[0][row], edge_attr)
            else:
                msg = self.message(x[0][row], edge_attr)
            out = scatter_mean(msg, col, x[1].size(0))

            x_r = x[1]
            if x_r is not None and self.root_weight:
                out = out + self.root(x_r)

            if self.bias is not None:
                out = out + self.bias

            return out

        def message(self, x_j, edge_attr):  # noqa: ANN001, ANN201
            EPS = 1e-15
            F_, M = self.rel_in_channels, self.out_channels
            (E, D), K_ = edge_attr.size(), self.kernel_size

            if not self.separate_gaussians:
                gaussian = -0.5 * (edge_attr.view(E, 1, D) - self.mu.view(1, K_, D)).pow(2)
                gaussian = gaussian / (EPS + self.sigma.view(1, K_, D).pow(2))
                gaussian = torch.exp(gaussian.sum(dim=-1))  # [E, K]

                return (x_j.view(E, K_, M) * gaussian.view(E, K_, 1)).sum(dim=-2)

            else:
                gaussian = -0.5 * (
                    edge_attr.view(E, 1, 1, 1, D) - self.mu.view(1, F_, M, K_, D)
                ).pow(2)
                gaussian = gaussian / (EPS + self.sigma.view(1, F_, M, K_, D).pow(2))
                gaussian = torch.exp(gaussian.sum(dim=-1))  # [E, F, M, K]

                gaussian = gaussian * self.g.view(1, F_, M, K_)
                gaussian = gaussian.sum(dim=-1)  # [E, F, M]

                return (x_j.view(E, F_, 1) * gaussian).sum(dim=-2)  # [E, M]

        def __repr__(self) -> str:
            return (
                f"{self.__class__.__name__}({self.in_channels}, "
                f"{self.out_channels}, dim={self.dim})"
            )

    class Net(torch.nn.Module):
        def __init__(self, separate: bool) -> None:
            super().__init__()
            self.conv1 = GMMConv(1, HID, dim=2, kernel_size=K, separate_gaussians=separate)
            self.conv2 = GMMConv(HID, HID, dim=2, kernel_size=K, separate_gaussians=separate)
            self.fc1 = torch.nn.Linear(HID, 8)
            self.fc2 = torch.nn.Linear(8, 2)

        def forward(self, data):  # noqa: ANN001, ANN201
            x = F.elu(self.conv1(data.x, data.edge_index, data.edge_attr))
            x = F.elu(self.conv2(x, data.edge_index, data.edge_attr))
            x = scatter_mean(x, data.batch, int(data.batch.max()) + 1)
            x = F.elu(self.fc1(x))
            x = F.dropout(x, training=self.training, p=0.0)
            return F.log_softmax(self.fc2(x), dim=1)

    return Net


def make_model(torch_like: Any) -> Any:
    Net = _monet(torch_like)
    return torch_like.nn.ModuleDict({"shared": Net(False), "separate": Net(True)})


def _clouds(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Point clouds (positions, 3-nearest-neighbour edges, label: stretched or round)."""
    out = []
    for g in range(8):
        label = g % 2
        pos = rng.normal(size=(7, 2)) * (np.array([2.0, 0.4]) if label else 1.0)
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(7) * 1e9
        nbr = np.argsort(d, axis=1)[:, :3]
        edges = np.array([(j, i) for i in range(7) for j in nbr[i]]).T
        out.append((pos, edges, label))
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional

    class Polar:
        r"""Saves the polar coordinates of linked nodes in its edge attributes."""

        def __init__(self, norm=True, max_value=None, cat=True):  # noqa: ANN001
            self.norm = norm
            self.max = max_value
            self.cat = cat

        def __call__(self, data):  # noqa: ANN001, ANN204
            (row, col), pos, pseudo = data.edge_index, data.pos, data.edge_attr
            assert pos.dim() == 2 and pos.size(1) == 2

            cart = pos[col] - pos[row]

            rho = torch.norm(cart, p=2, dim=-1).view(-1, 1)

            theta = torch.atan2(cart[..., 1], cart[..., 0]).view(-1, 1)
            theta = theta + (theta < 0).type_as(theta) * (2 * PI)

            if self.norm:
                rho = rho / (rho.max() if self.max is None else self.max)
                theta = theta / (2 * PI)

            polar = torch.cat([rho, theta], dim=-1)

            if pseudo is not None and self.cat:
                pseudo = pseudo.view(-1, 1) if pseudo.dim() == 1 else pseudo
                data.edge_attr = torch.cat([pseudo, polar.type_as(pos)], dim=-1)
            else:
                data.edge_attr = polar

            return data

    class Cartesian:
        r"""Saves the relative Cartesian coordinates of linked nodes in its edge attributes."""

        def __init__(self, norm=True, max_value=None, cat=True):  # noqa: ANN001
            self.norm = norm
            self.max = max_value
            self.cat = cat

        def __call__(self, data):  # noqa: ANN001, ANN204
            (row, col), pos, pseudo = data.edge_index, data.pos, data.edge_attr

            cart = pos[row] - pos[col]
            cart = cart.view(-1, 1) if cart.dim() == 1 else cart

            if self.norm and cart.numel() > 0:
                max_value = cart.abs().max() if self.max is None else self.max
                cart = cart / (2 * max_value) + 0.5

            if pseudo is not None and self.cat:
                pseudo = pseudo.view(-1, 1) if pseudo.dim() == 1 else pseudo
                data.edge_attr = torch.cat([pseudo, cart.type_as(pseudo)], dim=-1)
            else:
                data.edge_attr = cart

            return data

    class Data:
        def __init__(self, **kw: Any) -> None:
            self.__dict__.update(kw)

    rng = np.random.default_rng(10)
    clouds = _clouds(rng)

    def batch_of(items: list, transform: Any) -> Any:
        xs, pos, edges, ys, batch, offset = [], [], [], [], [], 0
        for b, (p, e, y) in enumerate(items):
            pos.append(p)
            edges.append(e + offset)
            xs.append(np.ones((len(p), 1)))
            ys.append(y)
            batch += [b] * len(p)
            offset += len(p)
        data = Data(
            x=torch.tensor(np.concatenate(xs)),
            pos=torch.tensor(np.concatenate(pos)),
            edge_index=torch.tensor(np.concatenate(edges, 1)),
            edge_attr=None,
            y=torch.tensor(ys),
            batch=torch.tensor(batch),
        )
        return transform(data)

    start = make_model(torch_like)
    load_numpy_state(torch_like, start, init)
    values: list[float] = []
    for name, transform in (("shared", Polar()), ("separate", Cartesian())):
        model = start[name]
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        train_set = [batch_of(clouds[i : i + 3], transform) for i in (0, 3)]
        test_data = batch_of(clouds[6:], transform)
        for _epoch in range(4):
            model.train()
            for data in train_set:
                optimizer.zero_grad()
                F.nll_loss(model(data), data.y).backward()
                optimizer.step()
            model.eval()
            correct = 0
            for data in train_set + [test_data]:
                pred = model(data).max(1)[1]
                correct += pred.eq(data.y).sum().item()
            values.append(correct / 8)
            with torch.no_grad():
                values.append(F.nll_loss(model(test_data), test_data.y).item())
        values.append(train_set[0].edge_attr.sum().item())
        values.append(sum(p.grad.abs().sum().item() for p in model.parameters()))
    return values
