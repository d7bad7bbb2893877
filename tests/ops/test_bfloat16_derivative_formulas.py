"""Derivative formulas composed in PyTorch's order, compared live with PyTorch.

A bfloat16 backward rule runs on bfloat16 tensors, each op rounding once, so the order of
its ops decides the last bit: ``g * (y * ln 2)`` and ``(g * y) * ln 2`` differ on a third of
the elements. These ops state their rule in PyTorch's order (``g / (x^2 + 1)``, ``g *
rsqrt(1 - x^2)``, ``g * b * reciprocal(a^2 + b^2)``, ``-g * ((a / b) / b)``, ...), with the
Python number of ``x ** 1.7`` and ``1.7 ** x`` as given (the forward rounds it to bfloat16,
the gradient does not), and logit's and xlogy's bfloat16 forwards round each step as
PyTorch does. Checked here: bfloat16 bit for bit on both of PyTorch's kernel paths (8,320
elements run its vector loop, 30 its scalar loop), float32/float64 gradients close (the
float64 gradient of log10 bit for bit: PyTorch's ln 10 literal is one ulp under
``math.log(10)``), double backward and forward mode against PyTorch.

PyTorch's bfloat16 ``rsqrt`` rounds ``sqrt`` first in its scalar loop (the last ``n % 32``
elements of a contiguous tensor) and not in its vector loop; chainrule's rounds once, so
asin/acos/asinh/acosh are bit-equal on the vector path only (``SCALAR_TAIL_DIFFERS``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

SHAPES = {"vector": (64, 130), "scalar": (6, 5)}

# name -> (function of module m and inputs, input transform of module m, arity)
OPS = {
    "exp2": (lambda m, x: x.exp2(), lambda x: x),
    "asin": (lambda m, x: x.asin(), lambda x: x * 0.4),
    "acos": (lambda m, x: x.acos(), lambda x: x * 0.4),
    "atan": (lambda m, x: x.atan(), lambda x: x),
    "asinh": (lambda m, x: x.asinh(), lambda x: x),
    "acosh": (lambda m, x: x.acosh(), lambda x: x.abs() + 1.5),
    "atanh": (lambda m, x: x.atanh(), lambda x: x * 0.4),
    "logit": (lambda m, x: x.logit(), lambda x: x * 0.2 + 0.5),
    "logit_eps": (lambda m, x: x.logit(0.3), lambda x: x * 0.2 + 0.5),
    "sinc": (lambda m, x: x.sinc(), lambda x: x),
    "log10": (lambda m, x: x.log10(), lambda x: x.abs() + 0.5),
    "pow_number": (lambda m, x: x**1.7, lambda x: x.abs() + 0.1),
    "number_pow": (lambda m, x: 1.7**x, lambda x: x),
    "pow": (lambda m, x, y: x**y, lambda x, y: (x.abs() + 0.5, y)),
    "atan2": (lambda m, x, y: m.atan2(x, y), lambda x, y: (x, y)),
    "logaddexp": (lambda m, x, y: m.logaddexp(x, y), lambda x, y: (x, y)),
    "logaddexp2": (lambda m, x, y: m.logaddexp2(x, y), lambda x, y: (x, y)),
    "hypot": (lambda m, x, y: m.hypot(x, y), lambda x, y: (x, y)),
    "xlogy": (lambda m, x, y: m.xlogy(x, y), lambda x, y: (x, y.abs() + 0.1)),
    "div": (lambda m, x, y: x / y, lambda x, y: (x, y * y + 0.5)),
}
SCALAR_TAIL_DIFFERS = {"asin", "acos", "asinh", "acosh"}  # see the module docstring


def _arity(name: str) -> int:
    return OPS[name][0].__code__.co_argcount - 1


def _run(m, dtype, name, shape, broadcast, seed=1, create_graph=False):
    """The op's output and the gradients of its inputs (the second broadcast over rows
    when ``broadcast``) under module ``m``, from the same NumPy draws."""
    f, transform = OPS[name]
    arity = _arity(name)
    rng = np.random.default_rng(seed)
    shapes = [shape, (1, shape[1]) if broadcast else shape][:arity]
    raw = [rng.uniform(-2, 2, s).astype(np.float32) for s in shapes]
    xs = [m.tensor(a).to(dtype) for a in raw]
    xs = list(transform(*xs)) if arity == 2 else [transform(xs[0])]
    xs = [x.detach().requires_grad_() for x in xs]
    y = f(m, *xs)
    g = m.tensor(rng.uniform(-2, 2, tuple(y.shape)).astype(np.float32)).to(dtype)
    grads = m.autograd.grad(y, xs, g, create_graph=create_graph)
    return xs, y, grads


def _np(t) -> np.ndarray:
    return t.detach().double().numpy()


@pytest.mark.parametrize("path", sorted(SHAPES))
@pytest.mark.parametrize("name", sorted(OPS))
def test_bfloat16_forward_and_gradients_bit_equal(name, path):
    _, yc, gc = _run(cr, cr.bfloat16, name, SHAPES[path], broadcast=True)
    _, yt, gt = _run(torch, torch.bfloat16, name, SHAPES[path], broadcast=True)
    np.testing.assert_array_equal(_np(yc), _np(yt))
    for a, b in zip(gc, gt):
        if path == "scalar" and name in SCALAR_TAIL_DIFFERS:
            np.testing.assert_allclose(_np(a), _np(b), rtol=2**-6, atol=0)  # ulps
        else:
            np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_wider_gradients_close(name, dtype):
    _, yc, gc = _run(cr, getattr(cr, dtype), name, (100, 100), broadcast=False)
    _, yt, gt = _run(torch, getattr(torch, dtype), name, (100, 100), broadcast=False)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(_np(yc), _np(yt), rtol=rtol, atol=rtol)
    # sinc's numerator cancels near 0: float32 keeps ~1e-4 there, chainrule's and PyTorch's
    # both (chainrule's nearer the float64 value at the element that differs most)
    atol = 1e-4 if name == "sinc" and dtype == "float32" else rtol
    for a, b in zip(gc, gt):
        np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)


def test_log10_float64_gradient_bit_equal():
    _, _, (gc,) = _run(cr, cr.float64, "log10", (100, 100), broadcast=False)
    _, _, (gt,) = _run(torch, torch.float64, "log10", (100, 100), broadcast=False)
    np.testing.assert_array_equal(_np(gc), _np(gt))


@pytest.mark.parametrize("name", sorted(OPS))
def test_double_backward_matches_torch(name):
    """create_graph: the gradient of (first gradients . v) by the inputs, in float64."""
    results = []
    for m in (cr, torch):
        xs, _, grads = _run(m, m.float64, name, (7, 9), broadcast=True, create_graph=True)
        rng = np.random.default_rng(5)
        total = sum((gr * m.tensor(rng.uniform(-1, 1, tuple(gr.shape)))).sum() for gr in grads)
        results.append(m.autograd.grad(total, xs, allow_unused=True))
    for a, b in zip(*results):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "bfloat16"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_forward_mode_matches_torch(name, dtype):
    """jvp runs the same chain rule on the tangents. bfloat16 widens and rounds once (not
    PyTorch's bfloat16 steps), so it is compared with PyTorch's float64 jvp at the same
    (bfloat16) points: within a few bfloat16 roundings."""
    f, transform = OPS[name]
    arity = _arity(name)
    rng = np.random.default_rng(3)
    raw = [rng.uniform(-2, 2, (5, 8)).astype(np.float32) for _ in range(2 * arity)]
    xs = [torch.tensor(a).to(getattr(torch, dtype)) for a in raw[:arity]]
    xs = list(transform(*xs)) if arity == 2 else [transform(xs[0])]
    points = [_np(x) for x in xs]  # exact in dtype (bfloat16 rounds each input step)
    tangents = [_np(torch.tensor(a).to(getattr(torch, dtype))) for a in raw[arity:]]
    out = []
    for m, dt in ((cr, getattr(cr, dtype)), (torch, torch.float64)):
        xs = tuple(m.tensor(a).to(dt) for a in points)
        ts = tuple(m.tensor(a).to(dt) for a in tangents)
        _, tangent = m.func.jvp(lambda *a, m=m: f(m, *a), xs, ts)
        out.append(_np(tangent))
    # bfloat16: the saved output is rounded (and 1.7 ** x computes with 1.703125, as PyTorch)
    rtol = 1e-12 if dtype == "float64" else 2**-6
    np.testing.assert_allclose(out[0], out[1], rtol=rtol, atol=rtol)
