"""The public API used as a typed user would use it; ``tests/test_typing.py`` runs mypy on it.

``assert_type`` makes mypy prove that the ``Tensor`` stub is in use: without it, methods bound
at import time (``tanh``, ``sum``, operators ...) would be unknown attributes. The file also runs
(``assert_type`` does nothing at runtime), so it stays true to the library's behaviour.
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
from chainrule import Tensor

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # Python 3.10 (typing_extensions comes with mypy and torch)
    from typing_extensions import assert_type


def train_step() -> float:
    """One tiny regression step: forward, loss, backward, optimizer update."""
    cr.manual_seed(0)
    model = cr.nn.Linear(3, 2)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x = cr.randn(4, 3)
    target = cr.zeros(4, 2)
    out = model(x)
    loss = cr.nn.functional.mse_loss(out, target)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def main() -> None:
    x = cr.randn(3, requires_grad=True)
    assert_type(x, Tensor)
    h = x.tanh() * 2
    assert_type(h, Tensor)
    y = (h + x.exp().log() - 1.5).sum()
    assert_type(y, Tensor)
    y.backward()
    grad = x.grad
    assert grad is not None
    assert_type(grad, Tensor)
    assert_type(grad.shape, cr.Size)
    assert_type(x.requires_grad, bool)
    assert_type(x.is_leaf, bool)
    assert_type(x.ndim, int)
    assert_type(x.numel(), int)
    assert_type(x.detach().numpy(), np.ndarray)

    z = x.detach().clamp_(-1.0, 1.0)  # an in-place method bound by make_inplace
    assert_type(z, Tensor)
    m = cr.ones(2, 3) @ cr.ones(3, 4)
    assert_type(m, Tensor)
    assert_type(m.reshape(4, 2).transpose(0, 1).mean(dim=1), Tensor)
    assert_type(m.float().double(), Tensor)
    assert_type(m > 0.5, Tensor)
    assert_type(1 - m, Tensor)  # reflected operators
    assert_type(2.0 * m / 4, Tensor)
    assert_type(m.allclose(m), bool)

    out = cr.nn.Linear(3, 2)(x)
    assert out.shape == (2,)
    with cr.no_grad():
        w = x * 3
    assert not w.requires_grad
    assert train_step() >= 0.0


if __name__ == "__main__":
    main()
