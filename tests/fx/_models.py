"""The same models and functions written once for torch and chainrule (``lib`` is either
module), so that each can be traced by both frameworks and compared; plus the helpers that
compare two traces."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import torch

import chainrule as cr


def mlp(lib: Any) -> Any:
    """Linear-ReLU-Linear, ReLU by module and by function."""
    nn, F = lib.nn, lib.nn.functional

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(6, 8)
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return F.relu(self.fc2(self.act(self.fc1(x)))) + x.mean()

    return MLP()


def cnn(lib: Any) -> Any:
    """Conv-BN-ReLU-pool twice, flatten, a Sequential head."""
    nn = lib.nn

    class CNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 6, 3)
            self.pool = nn.MaxPool2d(2)
            self.head = nn.Sequential(nn.Linear(6 * 1 * 1, 5), nn.ReLU(), nn.Linear(5, 2))

        def forward(self, x):
            x = self.pool(lib.relu(self.bn1(self.conv1(x))))
            x = self.pool(self.conv2(x).relu())
            x = x.flatten(1)
            return self.head(x)

    return CNN()


def residual(lib: Any) -> Any:
    """A ResNet basic block: the skip connection reuses the input."""
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 3, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(3)
            self.conv2 = nn.Conv2d(3, 3, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(3)
            self.scale = nn.Parameter(lib.ones(1, 3, 1, 1))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out)) * self.scale
            out = out + x
            return F.relu(out)

    return Block()


def methods(lib: Any) -> Any:
    """Tensor methods, size/shape reads, getitem, a buffer and a constant tensor."""
    nn = lib.nn

    class Methods(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 4)
            self.register_buffer("offset", lib.arange(4.0))

        def forward(self, x, y=None):
            b = x.size(0)
            h = self.lin(x.view(b, -1, 4)).flatten(1)
            h = h[:, 1:] * x.shape[1] + h[:, :1]
            h = h.reshape(b, -1).sum(dim=1, keepdim=True) - self.offset[0]
            h = lib.cat([h, -h, h @ lib.ones(1, 2)], 1)
            return {"out": h.transpose(0, 1), "pair": (h.abs(), b)}

    return Methods()


def function(lib: Any) -> Any:
    """A free function of two tensors: root ops, operators, reflected operators."""

    def fn(x, y):
        z = lib.add(x, y, alpha=2)
        w = lib.sigmoid(z).neg().abs() - 2 * x / (3 + y.exp())
        return lib.stack([w, lib.tanh(z) ** 2, ~(x > 0) * 1.0, x.T.T], 0)

    return fn


def branchy(lib: Any) -> Any:
    """A function whose branch depends on a plain argument (traced with concrete_args)."""

    def branchy(x, scale, mode):
        if mode == "double":
            return x * scale * 2
        return x - scale

    return branchy


BUILDERS = {"mlp": mlp, "cnn": cnn, "residual": residual, "methods": methods}
INPUT_SHAPES = {"mlp": (5, 6), "cnn": (2, 3, 8, 8), "residual": (2, 3, 5, 5), "methods": (3, 2, 4)}


def copy_weights(theirs: Any, ours: Any) -> None:
    """Load torch module ``theirs``'s state into chainrule module ``ours``."""
    state = {k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def pair_inputs(shape: tuple[int, ...], seed: int = 0) -> tuple[Any, Any]:
    """The same float32 random input for torch and chainrule."""
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return torch.tensor(a), cr.tensor(a)


def target_name(node: Any) -> str:
    """A target comparable between the frameworks: the function's name for
    ``call_function`` (``add`` for operator.add and torch.add alike, so the operator module
    is marked), the string for the others."""
    t = node.target
    if node.op == "call_function":
        prefix = "operator." if getattr(operator, t.__name__, None) is t else ""
        return prefix + t.__name__
    return str(t)


def signature(graph: Any) -> list[tuple[str, str, str]]:
    """(op, name, target name) of every node, in order."""
    return [(n.op, n.name, target_name(n)) for n in graph.nodes]


def to_numpy(value: Any) -> Any:
    """Nested outputs of either framework as NumPy arrays (plain values kept)."""
    if isinstance(value, (torch.Tensor, cr.Tensor)):
        return value.detach().numpy()
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    return value


def assert_same(a: Any, b: Any, tol: float = 1e-5) -> None:
    """Nested outputs equal within ``tol``."""
    a, b = to_numpy(a), to_numpy(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k], tol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y, tol)
    elif isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    else:
        assert a == b
