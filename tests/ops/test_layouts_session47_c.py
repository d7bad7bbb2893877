"""Batch and group norm's gradient layouts under ``create_graph`` (session 47).

PyTorch's batch norm double backward (``batchnorm_double_backward``) builds the input's
second-order gradient from ``input - mean``, so it comes in the input's own layout
(channels-last, transposed); chainrule's rebuilt graph gave a row-major one. Group norm under
``create_graph`` runs ``infinitely_differentiable_native_group_norm_backward``, elementwise
terms led by ``dY.reshape(N, G, D, HxW)``: a channels-last incoming gradient lays out the
first-order input gradient (any input layout) and the second order with it; chainrule's were
row-major. Every case runs PyTorch live: strides, and values to 1e-12 in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(47473)
X = _RNG.standard_normal((2, 4, 3, 5))
G = _RNG.standard_normal((2, 4, 3, 5))
KINDS = ["cl", "row", "t"]


def F(lib: Any) -> Any:  # noqa: N802 - the usual F
    return lib.nn.functional


def lay(t: Any) -> tuple:
    return tuple(t.shape), t.stride()


def laid(lib: Any, a: Any, kind: str, grad: bool = False) -> Any:
    """``a``'s values channels-last (``cl``), last dims transposed (``t``), row-major
    (``row``) or in memory order ``kind`` (a tuple: the dims outermost first)."""
    order = {"cl": (0, *range(2, a.ndim), 1), "t": (0, 1, 3, 2), "row": None}.get(kind, kind)
    if order is None:
        return lib.tensor(a, requires_grad=grad)
    t = lib.tensor(a.transpose(order).copy(), requires_grad=grad)
    return t.permute(*[order.index(d) for d in range(a.ndim)])


NORMS: dict[str, Any] = {
    "batch_norm": lambda lib, a: F(lib).batch_norm(a, None, None, training=True),
    "batch_norm_affine": lambda lib, a: F(lib).batch_norm(
        a, None, None, lib.linspace(0.5, 2, 4, dtype=a.dtype), lib.ones(4, dtype=a.dtype), True
    ),
    "group_norm": lambda lib, a: F(lib).group_norm(a, 2),
    "group_norm_1": lambda lib, a: F(lib).group_norm(a, 1),
    "group_norm_affine": lambda lib, a: F(lib).group_norm(
        a, 4, lib.linspace(0.5, 2, 4, dtype=a.dtype), lib.ones(4, dtype=a.dtype)
    ),
}


def both_orders(lib: Any, op: str, inp: Any, grad: Any, x: Any = X, g: Any = G) -> list:
    """The input gradient under ``create_graph`` and the gradient of its squared sum."""
    a = laid(lib, x, inp, grad=True)
    y = NORMS[op](lib, a)
    first = lib.autograd.grad((y * laid(lib, g, grad)).sum(), a, create_graph=True)[0]
    return [first, lib.autograd.grad((first * first).sum(), a)[0]]


def check(got: list, want: list) -> None:
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=0, atol=1e-12)
    assert [lay(g) for g in got] == [lay(w) for w in want]


@pytest.mark.parametrize("grad", KINDS)
@pytest.mark.parametrize("inp", KINDS)
@pytest.mark.parametrize("op", list(NORMS))
def test_norm_layouts_under_create_graph(op: str, inp: str, grad: str) -> None:
    """Batch norm's second order in the input's layout, group norm's first and second order
    channels-last for a channels-last incoming gradient (row-major else)."""
    check(both_orders(cr, op, inp, grad), both_orders(torch, op, inp, grad))


@pytest.mark.parametrize(
    ("op", "shape", "inp", "grad"),
    [
        ("batch_norm_affine", (2, 4, 2, 3, 2), "cl", "row"),  # channels_last_3d
        ("batch_norm", (2, 4, 3), (0, 2, 1), "row"),  # (N, C, L): C fastest
        ("group_norm", (2, 4, 3), "row", (0, 2, 1)),
        ("group_norm_affine", (2, 4, 2, 3, 2), (0, 1, 4, 3, 2), "cl"),
        ("batch_norm", (2, 4, 2, 3, 2), (0, 1, 4, 3, 2), "cl"),
    ],
)
def test_norm_layouts_under_create_graph_other_ranks(
    op: str, shape: tuple, inp: Any, grad: Any
) -> None:
    x, g = _RNG.standard_normal(shape), _RNG.standard_normal(shape)
    check(both_orders(cr, op, inp, grad, x, g), both_orders(torch, op, inp, grad, x, g))


GN_OTHER_ORDERS = (
    "group norm under create_graph with an incoming gradient in another dense order (here "
    "C outermost, then N): PyTorch's TensorIterator lays the input gradient out as that "
    "gradient for one group (its (N, G, 1, 1) statistics no longer order N against G) and "
    "row-major for more; chainrule's is row-major"
)


@pytest.mark.xfail(strict=True, reason=GN_OTHER_ORDERS)
def test_group_norm_one_group_follows_any_gradient_order() -> None:
    check(
        both_orders(cr, "group_norm_1", "row", (1, 0, 2, 3)),
        both_orders(torch, "group_norm_1", "row", (1, 0, 2, 3)),
    )


def test_group_norm_more_groups_row_major_for_other_orders() -> None:
    """The same gradient order with two groups: row-major in both."""
    order = (1, 0, 2, 3)
    check(
        both_orders(cr, "group_norm", "row", order), both_orders(torch, "group_norm", "row", order)
    )


def test_instance_norm_gradient_with_batch_inner_layout() -> None:
    """An incoming gradient laid out with (N, C) innermost, C fastest: instance norm views
    it as (1, N·C, H, W), channels-last with a size-1 batch. PyTorch 2.13's CPU batch norm
    backward returns wrong values for it (off by ~3.5 here; the same gradient row-major
    gives the exact ones), so chainrule's is checked against PyTorch's on a row-major copy
    of that gradient."""
    order = (2, 3, 0, 1)
    a = cr.tensor(X, requires_grad=True)
    gx = cr.autograd.grad(F(cr).instance_norm(a), a, laid(cr, G, order))[0]
    t = torch.tensor(X, requires_grad=True)
    laid_out = torch.autograd.grad(F(torch).instance_norm(t), t, laid(torch, G, order))[0]
    want = torch.autograd.grad(F(torch).instance_norm(t), t, torch.tensor(G))[0]
    np.testing.assert_allclose(gx.numpy(), want.numpy(), rtol=0, atol=1e-12)
    assert lay(gx) == lay(laid_out)


def third_order(lib: Any, norm: Any) -> list:
    a = laid(lib, X, "cl", grad=True)
    y = norm(lib, a)
    g = lib.autograd.grad((y * y * y).sum(), a, create_graph=True)[0]
    h = lib.autograd.grad((g * g).sum(), a, create_graph=True)[0]
    return [g, h, lib.autograd.grad((h * h).sum(), a)[0]]


def composite_batch_norm(lib: Any, a: Any) -> Any:
    """Training-mode batch norm from elementwise ops and means (PyTorch's autograd through
    it: exact to every order)."""
    m = a.mean((0, 2, 3), keepdim=True)
    return (a - m) / ((a - m) ** 2).mean((0, 2, 3), keepdim=True).add(1e-5).sqrt()


def test_batch_norm_third_order_values() -> None:
    """The third order: chainrule's rebuilt graph is exact, PyTorch 2.13's native one is not
    (``batchnorm_double_backward`` differentiated again is off by ~25% here), so it is
    checked against PyTorch's autograd through the composite formula; layouts as PyTorch's
    native ones."""
    got = third_order(cr, NORMS["batch_norm"])
    want = third_order(torch, composite_batch_norm)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-11, atol=1e-9)
    native = third_order(torch, NORMS["batch_norm"])
    assert [lay(g) for g in got] == [lay(w) for w in native]


GN_THIRD = (
    "group norm's third order of a channels-last input: PyTorch's gradient is channels-last, "
    "chainrule's row-major (the first and second orders match)"
)


@pytest.mark.xfail(strict=True, reason=GN_THIRD)
def test_group_norm_third_order_layout() -> None:
    got, want = third_order(cr, NORMS["group_norm"]), third_order(torch, NORMS["group_norm"])
    assert [lay(g) for g in got] == [lay(w) for w in want]
