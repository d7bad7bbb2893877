"""Training-mode batch norm keeps only what PyTorch keeps for backward (its input and the
per-channel statistics; x̂ is recomputed), and the recomputing backward and forward-mode
rules agree with PyTorch under both kernel paths, including the paths where only the
affine parameters want a gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import graph

TOL = {"float32": dict(rtol=3e-5, atol=3e-5), "float64": dict(rtol=1e-10, atol=1e-10)}


def _arrays(value) -> list:
    if isinstance(value, graph.SavedInput):
        return [value.tensor._data]
    if isinstance(value, graph.SavedOutput):
        return [value.array]
    if isinstance(value, graph.SavedConstant):
        return _arrays(value.value)
    if isinstance(value, np.ndarray):
        return [value]
    return []


def _cnhw(shape, dtype, seed):
    """Values stored channel-major (C, N, H, W), as chainrule's convolution output."""
    x = (np.random.default_rng(seed).standard_normal(shape) * 2 + 0.7).astype(dtype)
    return np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)


def test_saves_input_and_statistics_only(kernel_backend):
    xa = _cnhw((4, 3, 5, 6), "float32", 0)
    x = cr.tensor(xa, requires_grad=True)
    bn = cr.nn.BatchNorm2d(3)
    y = bn(x)
    (node,) = [n for n in graph.walk(y) if "BatchNorm" in n.name()]
    saved = [a for v in node.saved_values for a in _arrays(v)]
    assert any(a is x._data for a in saved)
    held = [a for v in vars(node).values() for a in _arrays(v)] + [
        a for a in saved if a is not x._data and a is not bn.weight._data
    ]
    assert sum(a.nbytes for a in held) <= 8 * 3 * 8  # a few (C,) statistics, no x̂
    y.sum().backward()  # still differentiable after the forward dropped x̂
    assert x.grad is not None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_grad", [True, False])
def test_recomputed_backward_vs_torch(kernel_backend, dtype, x_grad):
    xa = _cnhw((5, 4, 3, 7), dtype, 1)
    rng = np.random.default_rng(2)
    wa, ba = rng.standard_normal(4).astype(dtype), rng.standard_normal(4).astype(dtype)
    ga = rng.standard_normal(xa.shape).astype(dtype)
    grads = []
    for m in (cr, torch):
        x = m.tensor(xa, requires_grad=x_grad)
        w, b = m.tensor(wa, requires_grad=True), m.tensor(ba, requires_grad=True)
        y = m.nn.functional.batch_norm(x, None, None, w, b, True, 0.1, 1e-5)
        y.backward(m.tensor(ga))
        grads.append([t.grad.numpy() for t in ((x, w, b) if x_grad else (w, b))])
    for a, t in zip(*grads):
        np.testing.assert_allclose(a, t, **TOL[dtype])


def test_forward_mode_vs_torch(kernel_backend):
    xa, ta = _cnhw((3, 2, 4, 4), "float64", 3), _cnhw((3, 2, 4, 4), "float64", 4)
    rng = np.random.default_rng(5)
    wa, ba, twa = rng.standard_normal(2), rng.standard_normal(2), rng.standard_normal(2)

    def run(m, jvp):
        def f(x, w):
            return m.nn.functional.batch_norm(x, None, None, w, m.tensor(ba), True)

        return jvp(f, (m.tensor(xa), m.tensor(wa)), (m.tensor(ta), m.tensor(twa)))

    (y, dy), (ty, tdy) = run(cr, cr.func.jvp), run(torch, torch.func.jvp)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), **TOL["float64"])
    np.testing.assert_allclose(dy.numpy(), tdy.numpy(), **TOL["float64"])
