"""Gradient layouts of pointwise ops whose PyTorch backward reads the input first (session 46).

PyTorch lays an elementwise gradient out by its backward kernel's operands in order: most
put the incoming gradient first (``grad * f'(x)``), but ``threshold_backward(grad, self)``
(relu, threshold), ``leaky_relu_backward``, ``_prelu_kernel_backward``, ``erf``/``erfc``/
``erfinv``/``erfcx``/``ndtr`` (``f'(x) * grad``), ``sinc`` (a ``where`` on ``x``) and
``maximum``/``minimum`` (a ``where`` on ``self == other``) put the input first, so a
channels-last input with a row-major incoming gradient gets a channels-last gradient
(``ops/input_first_grads.py``). Each case runs PyTorch live: the strides and values of the
results and gradients, under ``create_graph`` and in forward mode too, and after a
convolution (whose channel-major result carries a layout mark in chainrule).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(4646)
X = _RNG.standard_normal((2, 4, 3, 5)) - 0.1
G = _RNG.standard_normal((2, 4, 3, 5))
W = _RNG.standard_normal((4, 4, 3, 3)) * 0.3


def F(lib: Any) -> Any:  # noqa: N802 - the usual F
    return lib.nn.functional


def lay(t: Any) -> list:
    """Shape, strides and channels-last / row-major contiguity of ``t``."""
    lib = torch if isinstance(t, torch.Tensor) else cr
    cl = t.is_contiguous(memory_format=lib.channels_last) if t.dim() == 4 else None
    return [tuple(t.shape), t.stride(), t.is_contiguous(), cl]


def values(got: Any, want: Any, atol: float = 1e-10) -> None:
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=atol)


def view(lib: Any, kind: str, a: Any = X) -> Any:
    """``a``'s values as a leaf that requires grad seen channels-last (``cl``), with its
    last two dims transposed in memory (``t``) or row-major (``row``)."""
    if kind == "cl":
        return lib.tensor(a.transpose(0, 2, 3, 1).copy(), requires_grad=True).permute(0, 3, 1, 2)
    if kind == "t":
        return lib.tensor(a.swapaxes(2, 3).copy(), requires_grad=True).transpose(2, 3)
    return lib.tensor(a, requires_grad=True)


OPS: dict[str, Any] = {
    # the ops whose PyTorch backward reads the input (or result) first
    "relu": lambda lib, a: F(lib).relu(a),
    "relu_method": lambda lib, a: a.relu(),
    "relu_inplace": lambda lib, a: F(lib).relu(a * 1, inplace=True),
    "relu_module": lambda lib, a: lib.nn.ReLU()(a),
    "leaky_relu": lambda lib, a: F(lib).leaky_relu(a, 0.2),
    "leaky_relu_inplace": lambda lib, a: F(lib).leaky_relu(a * 1, 0.2, inplace=True),
    "leaky_relu_module": lambda lib, a: lib.nn.LeakyReLU(0.1)(a),
    "threshold": lambda lib, a: F(lib).threshold(a, 0.1, 2.0),
    "prelu": lambda lib, a: F(lib).prelu(a, lib.linspace(0.1, 0.4, 4, dtype=a.dtype)),
    "prelu_one": lambda lib, a: F(lib).prelu(a, lib.full((1,), 0.2, dtype=a.dtype)),
    "rrelu_eval": lambda lib, a: F(lib).rrelu(a, training=False),
    "maximum": lambda lib, a: lib.maximum(a, lib.tensor(G)),
    "maximum_swapped": lambda lib, a: lib.maximum(lib.tensor(G), a),
    "maximum_broadcast": lambda lib, a: lib.maximum(a, lib.tensor(G[0, :, :1, :1])),
    "maximum_self": lambda lib, a: lib.maximum(a, a * 0.5),
    "minimum": lambda lib, a: lib.minimum(a, lib.tensor(G)),
    "erf": lambda lib, a: a.erf(),
    "erfc": lambda lib, a: a.erfc(),
    "erfinv": lambda lib, a: (a * 0.3).erfinv(),
    "erfcx": lambda lib, a: lib.special.erfcx(a),
    "ndtr": lambda lib, a: lib.special.ndtr(a),
    "sinc": lambda lib, a: a.sinc(),
    "sqrt_of_relu": lambda lib, a: F(lib).relu(a).sqrt(),
    # controls: PyTorch's backward reads the gradient first (unchanged)
    "hardtanh": lambda lib, a: F(lib).hardtanh(a, -0.3, 0.3),
    "hardshrink": lambda lib, a: F(lib).hardshrink(a, 0.3),
    "elu": lambda lib, a: F(lib).elu(a),
    "gelu": lambda lib, a: F(lib).gelu(a),
    "sigmoid": lambda lib, a: a.sigmoid(),
    "fmax": lambda lib, a: lib.fmax(a, lib.tensor(G)),
    "mul": lambda lib, a: a * lib.tensor(G),
    "ndtri": lambda lib, a: lib.special.ndtri(a.sigmoid()),
}


def first_order(lib: Any, op: str, kind: str) -> list:
    a = view(lib, kind)
    y = OPS[op](lib, a)
    return [y, *lib.autograd.grad((y * lib.tensor(G)).sum(), a)]


@pytest.mark.parametrize("kind", ["cl", "t", "row"])
@pytest.mark.parametrize("op", list(OPS))
def test_gradient_layout_of_a_channels_last_or_transposed_input(op: str, kind: str) -> None:
    got, want = first_order(cr, op, kind), first_order(torch, op, kind)
    for g, w in zip(got, want, strict=True):
        assert lay(g) == lay(w)
        values(g, w)


def test_prelu_weight_gradient() -> None:
    def run(lib: Any) -> list:
        a = view(lib, "cl")
        w = lib.linspace(0.1, 0.4, 4, dtype=a.dtype).requires_grad_()
        return list(lib.autograd.grad((F(lib).prelu(a, w) * lib.tensor(G)).sum(), (a, w)))

    got, want = run(cr), run(torch)
    for g, w in zip(got, want, strict=True):
        assert lay(g) == lay(w)
        values(g, w)


SECOND = ["relu", "leaky_relu", "threshold", "prelu", "maximum", "erf", "sinc", "hardtanh"]


@pytest.mark.parametrize("op", SECOND)
def test_create_graph_and_second_order(op: str) -> None:
    """The first-order gradient's layout under ``create_graph``; the second order's values
    and layout."""

    def run(lib: Any) -> list:
        a = view(lib, "cl")
        g = lib.autograd.grad((OPS[op](lib, a) * lib.tensor(G)).sum(), a, create_graph=True)[0]
        if not g.requires_grad:  # (a piecewise-linear op: no second order)
            return [g]
        return [g, lib.autograd.grad((g * g).sum(), a, allow_unused=True)[0]]

    got, want = run(cr), run(torch)
    assert len(got) == len(want)
    assert lay(got[0]) == lay(want[0])
    values(got[0], want[0])
    if len(got) > 1 and want[1] is not None:
        values(got[1], want[1], 1e-9)


@pytest.mark.parametrize("op", ["relu", "relu_double"])
def test_relu_double_backward_layout(op: str) -> None:
    """relu's double backward (``threshold_backward(gg, y)``): laid out by ``y`` first."""

    def run(lib: Any) -> list:
        a = view(lib, "cl")
        g0 = lib.tensor(G, requires_grad=True)
        g = lib.autograd.grad((F(lib).relu(a) * g0).sum(), a, create_graph=True)[0]
        gg = lib.autograd.grad((g * lib.tensor(X)).sum(), g0)[0]
        return [g, gg]

    got, want = run(cr), run(torch)
    for g, w in zip(got, want, strict=True):
        assert lay(g) == lay(w)
        values(g, w)


# (not maximum: PyTorch's tangent of it loads its decompositions, seconds of CPU once)
@pytest.mark.parametrize("op", ["relu", "leaky_relu", "erf", "threshold", "sinc"])
def test_tangent_layout(op: str) -> None:
    def run(lib: Any) -> Any:
        fwd = lib.autograd.forward_ad
        with fwd.dual_level():
            p = lib.tensor(X.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2)
            a = fwd.make_dual(p, lib.tensor(G))
            return fwd.unpack_dual(OPS[op](lib, a)).tangent

    got, want = run(cr), run(torch)
    assert lay(got) == lay(want)
    values(got, want)


AFTER_CONV = ["relu", "leaky_relu", "erf", "maximum", "threshold", "prelu", "gelu"]


@pytest.mark.parametrize("kind", ["row", "cl"])
@pytest.mark.parametrize("op", AFTER_CONV)
def test_after_a_convolution(op: str, kind: str) -> None:
    """Of a convolution's result (channel-major memory with a layout mark in chainrule for a
    row-major input; channels-last for a channels-last one) with a row-major or
    channels-last incoming gradient: every gradient's layout and values as PyTorch's."""

    def run(lib: Any) -> list:
        a = view(lib, kind)
        w = lib.tensor(W, requires_grad=True)
        y = OPS[op](lib, F(lib).conv2d(a, w, padding=1))
        out = [y]
        for g in (lib.tensor(G), lib.tensor(G.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2)):
            out += lib.autograd.grad((y * g).sum(), (a, w), retain_graph=True)
        return out

    got, want = run(cr), run(torch)
    for g, w in zip(got, want, strict=True):
        assert lay(g) == lay(w)
        values(g, w, 1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_array_path_values_and_row_major_inputs(dtype: str) -> None:
    """relu's first-order array path (the hot one): a row-major input and gradient stay
    row-major; a transposed gradient beside a row-major input takes PyTorch's layout; the
    values are the same bits as PyTorch's."""
    x0 = _RNG.standard_normal((6, 5)).astype(dtype)
    g0 = _RNG.standard_normal((5, 6)).astype(dtype)

    def run(lib: Any) -> list:
        out = []
        for x_t, g_t in ((False, False), (False, True), (True, False), (True, True)):
            x = lib.tensor(x0.T.copy() if x_t else x0, requires_grad=True)
            x1 = x.t() if x_t else x
            g = lib.tensor(g0).t() if g_t else lib.tensor(g0.T.copy())
            out += lib.autograd.grad(F(lib).relu(x1), x, g)
        return out

    got, want = run(cr), run(torch)
    for g, w in zip(got, want, strict=True):
        assert lay(g) == lay(w)
        np.testing.assert_array_equal(g.numpy(), w.numpy())
