"""Same-shape views (``x.view(x.shape)``, ``reshape``, ``expand``, ``broadcast_to``, ``view_as``,
...) against PyTorch 2.13: a new tensor that is a view of ``x`` (never ``x`` itself, except where
PyTorch returns ``x``: ``flatten`` with nothing to merge, ``contiguous``, ``to`` the same dtype),
sharing memory and version counter, with its own ``requires_grad``, hooks and ``.data``
(``ops/_same_shape_views.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

Op = Callable[[Any, Any], Any]  # (library, tensor) -> result

OPS_2D: dict[str, Op] = {
    "view_shape": lambda L, t: t.view(t.shape),
    "view_sizes": lambda L, t: t.view(2, 3),
    "view_minus1": lambda L, t: t.view(2, -1),
    "view_size_kw": lambda L, t: t.view(size=(2, 3)),
    "view_as": lambda L, t: t.view_as(t),
    "reshape_shape": lambda L, t: t.reshape(t.shape),
    "reshape_minus1": lambda L, t: t.reshape(-1, 3),
    "reshape_fn": lambda L, t: L.reshape(t, (2, 3)),
    "reshape_as": lambda L, t: t.reshape_as(t),
    "expand_shape": lambda L, t: t.expand(t.shape),
    "expand_minus1": lambda L, t: t.expand(-1, -1),
    "expand_as": lambda L, t: t.expand_as(t),
    "broadcast_to": lambda L, t: t.broadcast_to(t.shape),
    "broadcast_to_fn": lambda L, t: L.broadcast_to(t, (2, 3)),
    "squeeze_nothing": lambda L, t: t.squeeze(),
    "squeeze_dim": lambda L, t: t.squeeze(0),
    "unflatten": lambda L, t: t.unflatten(1, (3,)),
    "permute_identity": lambda L, t: t.permute(0, 1),
    "flatten_one_dim": lambda L, t: t.flatten(1, 1),
    "contiguous": lambda L, t: t.contiguous(),
    "to_same_dtype": lambda L, t: t.to(L.float32),
    "sum_to_size": lambda L, t: t.sum_to_size(t.shape),
}

OPS_1D: dict[str, Op] = {
    "view_minus1": lambda L, t: t.view(-1),
    "reshape_minus1": lambda L, t: t.reshape(-1),
    "ravel": lambda L, t: t.ravel(),
    "flatten": lambda L, t: t.flatten(),
    "flatten_fn": lambda L, t: L.flatten(t),
}

CASES = [(n, f, (2, 3)) for n, f in OPS_2D.items()] + [(n, f, (6,)) for n, f in OPS_1D.items()]
IDS = [f"{n}-{len(s)}d" for n, _, s in CASES]


def _pair(shape: tuple, requires_grad: bool = False) -> tuple[Any, Any]:
    a = np.arange(float(np.prod(shape)), dtype=np.float32).reshape(shape)
    return (
        torch.tensor(a, requires_grad=requires_grad),
        cr.tensor(a, requires_grad=requires_grad),
    )


def _node(t: Any) -> str | None:
    return None if t.grad_fn is None else type(t.grad_fn).__name__


def _identity(x: Any, y: Any) -> tuple:
    base = y._base
    return (y is x, base is x, base is None, y._is_view(), y.is_leaf, y.requires_grad)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_identity_and_base_match_torch(name: str, op: Op, shape: tuple, requires_grad: bool):
    tx, cx = _pair(shape, requires_grad)
    ty, cy = op(torch, tx), op(cr, cx)
    assert _identity(cx, cy) == _identity(tx, ty)
    assert _node(cy) == _node(ty)
    assert tuple(cy.shape) == tuple(ty.shape)
    assert cy.stride() == ty.stride()


@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_version_shared_and_inplace_through_view(name: str, op: Op, shape: tuple):
    results = []
    for L, x in zip((torch, cr), _pair(shape)):
        y = op(L, x)
        y.add_(1)
        results.append((x.tolist(), x._version, y._version))
        x.mul_(2)
        results.append((y.tolist(), x._version, y._version))
    assert results[:2] == results[2:]


@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_requires_grad_of_the_view_is_its_own(name: str, op: Op, shape: tuple):
    results = []
    for L, x in zip((torch, cr), _pair(shape)):
        y = op(L, x)
        y.requires_grad_()
        results.append((x.requires_grad, x.is_leaf, y.requires_grad, y.is_leaf))
    assert results[0] == results[1]


@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_data_assignment_does_not_reach_input(name: str, op: Op, shape: tuple):
    results = []
    for L, x in zip((torch, cr), _pair(shape)):
        y = op(L, x)
        y.data = L.zeros(4)
        results.append((tuple(x.shape), x.tolist(), tuple(y.shape)))
    assert results[0] == results[1]


@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_hooks_stay_on_the_view(name: str, op: Op, shape: tuple):
    results = []
    for L, x in zip((torch, cr), _pair(shape)):
        calls: list[str] = []
        y = op(L, x)
        y.requires_grad_()
        y.register_hook(lambda g, calls=calls: calls.append("y"))
        (y * 2).sum().backward()
        results.append((calls, x.requires_grad, x.grad is None, y.grad is None))
    assert results[0] == results[1]


@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_hook_on_a_recorded_view(name: str, op: Op, shape: tuple):
    results = []
    for L, leaf in zip((torch, cr), _pair(shape, True)):
        calls: list[str] = []
        x = leaf * 1
        x.register_hook(lambda g, calls=calls: calls.append("x"))
        y = op(L, x)
        if y is not x:
            y.register_hook(lambda g, calls=calls: calls.append("y"))
        (y * 3).sum().backward()
        results.append((calls, leaf.grad.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_inplace_through_recorded_view_gradient(name: str, op: Op, shape: tuple):
    results = []
    for L, leaf in zip((torch, cr), _pair(shape, True)):
        x = leaf * 1
        y = op(L, x)
        if "expand" in name or "broadcast" in name:
            y = y.clone()  # PyTorch refuses in-place writes to an expanded view with grad
        y.mul_(L.arange(1.0, 7.0).reshape(y.shape))
        (x * x).sum().backward()
        results.append((_node(y), _node(x), x.tolist(), leaf.grad.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_base_requires_grad_later(name: str, op: Op, shape: tuple):
    results = []
    for L, x in zip((torch, cr), _pair(shape)):
        y = op(L, x)
        x.requires_grad_()
        results.append((y.requires_grad, _node(y)))
    assert results[0] == results[1]


@pytest.mark.parametrize(("name", "op", "shape"), CASES, ids=IDS)
def test_under_no_grad(name: str, op: Op, shape: tuple):
    results = []
    for L, x in zip((torch, cr), _pair(shape, True)):
        with L.no_grad():
            y = op(L, x)
        results.append((_identity(x, y), _node(y)))
    assert results[0] == results[1]


def test_view_of_a_view_has_the_root_base():
    for x in _pair((2, 3)):
        row = x[0]
        for y in (row.view(row.shape), row.reshape(3), row.expand(3), row.view_as(row)):
            assert y is not row and y._base is x
            y.add_(1)
        assert x._version == 4 and row._version == 4


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.zeros(1, 3)[:, :2],
        lambda L: L.zeros(3, 4)[:, :1],
        lambda L: L.zeros(2, 1, 4)[:, :, ::2],
        lambda L: L.zeros(4, 1, 3).permute(2, 1, 0),
        lambda L: L.zeros(1, 1, 5)[:, :, 1:],
        lambda L: L.zeros(2, 3)[:, None, :1],
        lambda L: L.zeros(6)[::2].view(3, 1),
        lambda L: L.zeros(1, 4).t(),
    ],
)
def test_strides_on_size_one_dims_match_torch(make: Callable[[Any], Any]):
    t, c = make(torch), make(cr)
    assert c.stride() == t.stride()
    for op in (
        lambda x: x.view(x.shape),
        lambda x: x.reshape(x.shape),
        lambda x: x.view_as(x),
        lambda x: x.reshape_as(x),
        lambda x: x.expand(x.shape),
        lambda x: x.broadcast_to(x.shape),
        lambda x: x.squeeze(-1) if x.shape[-1] != 1 else x.squeeze(0),
    ):
        ty, cy = op(t), op(c)
        assert (tuple(cy.shape), cy.stride()) == (tuple(ty.shape), ty.stride())
    tl, cl = t.clone().requires_grad_(), c.clone().requires_grad_()
    assert cl.view(cl.shape).stride() == tl.view(tl.shape).stride()


def test_same_shape_view_writes_reach_base_with_size_one_strides():
    for L in (torch, cr):
        base = L.zeros(2, 3)
        x = base[:1]
        y = x.view(x.shape)
        y.fill_(5.0)
        assert base.tolist() == [[5.0, 5.0, 5.0], [0.0, 0.0, 0.0]]
        assert y._base is base


def test_forward_ad_tangent_is_viewed():
    import torch.autograd.forward_ad as tfwad

    import chainrule.autograd.forward_ad as cfwad

    results = []
    for L, fwad in ((torch, tfwad), (cr, cfwad)):
        with fwad.dual_level():
            x = fwad.make_dual(L.ones(2, 3), L.full((2, 3), 2.0))
            y = x.view(x.shape)
            z = x.expand(2, 3)
            results.append(
                (fwad.unpack_dual(y).tangent.tolist(), fwad.unpack_dual(z).tangent.tolist())
            )
    assert results[0] == results[1]


def test_vmap_same_shape_view():
    x = cr.randn(4, 2, 3)
    out = cr.func.vmap(lambda t: t.view(t.shape) * 2)(x)
    assert out.shape == (4, 2, 3)
    np.testing.assert_allclose(out.numpy(), x.numpy() * 2)
    out = cr.func.vmap(lambda t: t.expand(2, 3) + t.reshape(2, 3))(x)
    np.testing.assert_allclose(out.numpy(), x.numpy() * 2)


def test_gradient_through_same_shape_views():
    results = []
    for x in _pair((2, 3), True):
        y = x.view(x.shape) * 2 + x.reshape(x.shape) + x.expand(2, 3) * x.broadcast_to((2, 3))
        y.sum().backward()
        results.append((_node(x.view(2, 3)), x.grad.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize("grad", [True, False])
def test_view_of_a_same_shape_view_of_a_conv_output(grad):
    """A convolution's output is laid out channels-outermost in chainrule (contiguous in
    torch); a same-shape view of it used to keep that order, so a later ``.view(n, -1)``
    raised where torch's succeeds (``x.view(b, c, h, w)`` then ``x.view(b, -1)``)."""
    for lib in (torch, cr):
        conv = lib.nn.Conv2d(3, 8, 3)
        x = lib.randn(2, 3, 10, 10)
        with lib.set_grad_enabled(grad):
            y = conv(x).relu()
            b, c, h, w = y.shape
            z = y.view(b, c, h, w)
            assert tuple(z.view(b, -1).shape) == tuple(y.view(b, -1).shape) == (2, 512)
            assert tuple(y.reshape(b, c, h, w).view(b, -1).shape) == (2, 512)
            assert z.stride() == (512, 64, 8, 1)
