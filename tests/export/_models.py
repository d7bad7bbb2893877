"""Models written once for torch and chainrule (``lib`` is either module), for the export
tests: the tutorial's MLP with a BatchNorm and buffers, a small CNN, and helpers to give
both frameworks the same weights and inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import chainrule as cr


def mlp(lib: Any) -> Any:
    """Linear -> BatchNorm1d -> ReLU -> Linear, with a buffer, a non-persistent buffer and a
    plain tensor attribute (a CONSTANT_TENSOR)."""
    nn = lib.nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1 = nn.Linear(4, 8)
            self.bn = nn.BatchNorm1d(8)
            self.l2 = nn.Linear(8, 2)
            self.register_buffer("scale", lib.ones(2) * 2)
            self.register_buffer("shift", lib.ones(2) / 4, persistent=False)
            self.c = lib.tensor([1.0, -1.0])

        def forward(self, x: Any) -> Any:
            h = lib.relu(self.bn(self.l1(x)))
            return self.l2(h) * self.scale + self.c + self.shift, h.sum()

    return MLP()


def cnn(lib: Any) -> Any:
    """Conv2d -> BatchNorm2d -> ReLU -> MaxPool -> flatten -> Linear (the tutorial's CNN)."""
    nn = lib.nn
    F = lib.nn.functional

    class CNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4 * 3 * 3, 5)

        def forward(self, x: Any) -> Any:
            x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
            return self.fc(lib.flatten(x, 1))

    return CNN()


def kwargs_model(lib: Any) -> Any:
    """A module taking a keyword-only tensor (``export(..., kwargs=...)``)."""

    class K(lib.nn.Module):
        def forward(self, x: Any, *, bias: Any = None, scale: float = 2.0) -> Any:
            return x * scale + bias

    return K()


def adder(lib: Any) -> Any:
    """``x * 2 + y``: the dynamic-shape examples' module."""

    class E(lib.nn.Module):
        def forward(self, x: Any, y: Any) -> Any:
            return x * 2 + y

    return E()


def pair(builder: Any, train: bool = False) -> tuple[Any, Any]:
    """The torch and chainrule modules of ``builder`` with the same state (BatchNorm
    statistics made non-trivial). torch's generator is seeded before the modules are built:
    the conftest reseeds chainrule's and NumPy's for each test, not torch's, so torch's
    initial weights (which chainrule's copy) otherwise depend on the tests run before in the
    process (under pytest-xdist, on how the load spread the tests over the workers)."""
    torch.manual_seed(0)
    theirs, ours = builder(torch), builder(cr)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, b in theirs.named_buffers():
            if "running" in name:
                b.copy_(torch.rand_like(b) + 0.5)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    for name, b in theirs.named_buffers():
        if name not in theirs.state_dict():
            setattr(ours, name, cr.tensor(b.numpy()))
    theirs.train(train)
    ours.train(train)
    return theirs, ours


def inputs(*shape: int, seed: int = 0) -> tuple[torch.Tensor, cr.Tensor]:
    """The same float32 random input for torch and chainrule."""
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return torch.tensor(a), cr.tensor(a)


def error_of(fn: Any, *args: Any) -> tuple[str, str] | None:
    """``(type name, message)`` of what ``fn(*args)`` raises, None when it returns."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - compared by the tests
        return type(exc).__name__, str(exc)
    return None


def recurrent(lib: Any) -> Any:
    """An LSTM, a TransformerEncoderLayer and a Linear head (layers export keeps as calls)."""
    nn = lib.nn

    class R(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(4, 6, batch_first=True)
            self.enc = nn.TransformerEncoderLayer(6, 2, 8, dropout=0.0, batch_first=True)
            self.head = nn.Linear(6, 2)

        def forward(self, x: Any) -> Any:
            out, (h, _) = self.lstm(x)
            return self.head(self.enc(out))[:, -1] + h[-1].sum()

    return R()
