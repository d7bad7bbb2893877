"""Norms' input gradients in PyTorch's layouts, whatever the incoming gradient's (session 47).

PyTorch's batch and group norm backward kernels allocate the input gradient in the input's
suggested memory format (channels-last, else row-major) whatever the incoming gradient's
layout, and layer norm's is always row-major (``dY.contiguous()``, a row-major ``dX``);
instance norm runs batch norm on a reshaped row-major view, so its gradient is row-major.
chainrule's followed the incoming gradient's layout (a channels-last or transposed one), and
batch norm's input gradient of a channels-last input with a row-major incoming gradient
stayed row-major (session 45's strict xfail: with batch norm summing a channels-last
incoming gradient from a row-major copy since session 46, laying it out channels-last keeps
the drop-in programs within tolerance). Every case runs PyTorch live: strides and values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(4747)
X = _RNG.standard_normal((2, 4, 3, 5))
G = _RNG.standard_normal((2, 4, 3, 5))
KINDS = ["cl", "row", "t"]


def F(lib: Any) -> Any:  # noqa: N802 - the usual F
    return lib.nn.functional


def lay(t: Any) -> list:
    lib = torch if isinstance(t, torch.Tensor) else cr
    return [tuple(t.shape), t.stride(), t.is_contiguous(memory_format=lib.channels_last)]


def laid(lib: Any, a: Any, kind: str, grad: bool = False) -> Any:
    """``a``'s values channels-last (``cl``), last dims transposed (``t``) or row-major."""
    if kind == "cl":
        return lib.tensor(a.transpose(0, 2, 3, 1).copy(), requires_grad=grad).permute(0, 3, 1, 2)
    if kind == "t":
        return lib.tensor(a.swapaxes(2, 3).copy(), requires_grad=grad).transpose(2, 3)
    return lib.tensor(a, requires_grad=grad)


NORMS: dict[str, Any] = {
    "batch_norm": lambda lib, a: F(lib).batch_norm(a, None, None, training=True),
    "batch_norm_affine": lambda lib, a: F(lib).batch_norm(
        a, None, None, lib.linspace(0.5, 2, 4, dtype=a.dtype), lib.ones(4, dtype=a.dtype), True
    ),
    "group_norm": lambda lib, a: F(lib).group_norm(a, 2),
    "group_norm_affine": lambda lib, a: F(lib).group_norm(
        a, 4, lib.linspace(0.5, 2, 4, dtype=a.dtype), lib.ones(4, dtype=a.dtype)
    ),
    "instance_norm": lambda lib, a: F(lib).instance_norm(a),
    "layer_norm": lambda lib, a: F(lib).layer_norm(a, (5,)),
    "layer_norm_3d": lambda lib, a: F(lib).layer_norm(a, (4, 3, 5)),
}


def first_order(lib: Any, op: str, inp: str, grad: str, dtype: str = "float64") -> Any:
    a = laid(lib, X.astype(dtype), inp, grad=True)
    y = NORMS[op](lib, a)
    return lib.autograd.grad((y * laid(lib, G.astype(dtype), grad)).sum(), a)[0]


@pytest.mark.parametrize("grad", KINDS)
@pytest.mark.parametrize("inp", KINDS)
@pytest.mark.parametrize("op", list(NORMS))
def test_norm_input_gradient_layout_whatever_the_incoming_gradients(
    op: str, inp: str, grad: str
) -> None:
    got, want = first_order(cr, op, inp, grad), first_order(torch, op, inp, grad)
    assert lay(got) == lay(want)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-10)


@pytest.mark.parametrize("grad", ["row", "t"])
@pytest.mark.parametrize("op", ["batch_norm_affine", "group_norm_affine", "layer_norm"])
def test_norm_input_gradient_layout_in_float32(op: str, grad: str) -> None:
    """The compiled kernels' float32 paths laid out as PyTorch's too."""
    got = first_order(cr, op, "cl", grad, "float32")
    want = first_order(torch, op, "cl", grad, "float32")
    assert lay(got) == lay(want)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_batch_norm_channels_last_module_gradients() -> None:
    """``nn.BatchNorm2d`` on a channels-last batch with a row-major incoming gradient: the
    input gradient channels-last (the former strict xfail), the parameters' gradients and
    the running statistics as PyTorch's."""

    def run(lib: Any) -> list:
        m = lib.nn.BatchNorm2d(4).double()
        a = lib.tensor(X).to(memory_format=lib.channels_last).requires_grad_()  # a leaf
        y = m(a)
        (y * lib.tensor(G)).sum().backward()
        return [a.grad, m.weight.grad, m.bias.grad, m.running_mean, m.running_var]

    got, want = run(cr), run(torch)
    assert lay(got[0]) == lay(want[0])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=1e-10)


def second_order(lib: Any, op: str, inp: str, grad: str) -> list:
    a = laid(lib, X, inp, grad=True)
    y = NORMS[op](lib, a)
    g = lib.autograd.grad((y * laid(lib, G, grad)).sum(), a, create_graph=True)[0]
    return [g, lib.autograd.grad((g * g).sum(), a)[0]]


@pytest.mark.parametrize("grad", KINDS)
@pytest.mark.parametrize("inp", KINDS)
@pytest.mark.parametrize("op", ["layer_norm", "layer_norm_3d"])
def test_layer_norm_gradient_layout_under_create_graph(op: str, inp: str, grad: str) -> None:
    """Layer norm's input gradient under ``create_graph`` is row-major too (a recorded copy
    where the rebuilt one is not), and so is the second order's here and in PyTorch."""
    got, want = second_order(cr, op, inp, grad), second_order(torch, op, inp, grad)
    assert [lay(g) for g in got] == [lay(w) for w in want]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=1e-9)


@pytest.mark.parametrize(
    ("op", "inp", "grad"),
    [
        ("batch_norm", "cl", "row"),  # the former strict xfails (session 47); the full grid:
        ("batch_norm", "t", "row"),  # test_layouts_session47_c.py
        ("group_norm", "row", "cl"),
        ("batch_norm", "row", "cl"),
        ("group_norm", "cl", "row"),
    ],
)
def test_norm_second_order_layouts(op: str, inp: str, grad: str) -> None:
    """The second order's layouts: batch norm's in the input's own layout, group norm's in a
    channels-last incoming gradient's (values match everywhere)."""
    got, want = second_order(cr, op, inp, grad), second_order(torch, op, inp, grad)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=1e-9)
    assert [lay(g) for g in got] == [lay(w) for w in want]
