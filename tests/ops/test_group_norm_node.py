"""F.group_norm as one node (NativeGroupNormBackward0), compared against PyTorch: values and
gradients over shapes, groups, affine or not and dtypes; gradcheck/gradgradcheck; forward
mode against torch's; vmap; the argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwd
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd.forward_ad import dual_level, make_dual, unpack_dual

RNG = np.random.default_rng(7)
CASES = [
    ((2, 4), 2),
    ((2, 4, 3), 2),
    ((3, 6, 4, 5), 3),
    ((2, 6, 4, 5), 1),
    ((2, 4, 3, 3), 4),
    ((2, 6, 2, 3, 2), 3),
]
# dtype: (chainrule, torch, tolerance of values / gradients relative to their scale)
DTYPES = {
    "float64": (cr.float64, torch.float64, 1e-12),
    "float32": (cr.float32, torch.float32, 1e-5),
    "float16": (cr.float16, torch.float16, 2e-2),
    "bfloat16": (cr.bfloat16, torch.bfloat16, 6e-2),
}


def _both(a: np.ndarray, dt: str, grad: bool = True) -> tuple:
    cdt, tdt, _ = DTYPES[dt]
    t = torch.tensor(a).to(tdt).requires_grad_(grad)
    c = cr.tensor(t.detach().double().numpy()).to(cdt).requires_grad_(grad)
    return c, t


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().double().numpy()
    return t.detach().to(cr.float64).numpy()


def _close(c, t, tol: float) -> None:
    a, b = _np(c), _np(t)
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale)


@pytest.mark.parametrize("dt", list(DTYPES))
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("shape,groups", CASES)
def test_matches_torch(shape, groups, affine, dt):
    tol = DTYPES[dt][2]
    x, tx = _both(RNG.standard_normal(shape) * 2 + 0.5, dt)
    w = tw = b = tb = None
    if affine:  # float32 parameters with half inputs (PyTorch's mixed-dtype kernel)
        pdt = "float32" if dt in ("float16", "bfloat16") else dt
        w, tw = _both(RNG.standard_normal(shape[1]), pdt)
        b, tb = _both(RNG.standard_normal(shape[1]), pdt)
    g = RNG.standard_normal(shape)
    y = F.group_norm(x, groups, w, b, eps=1e-3)
    ty = TF.group_norm(tx, groups, tw, tb, eps=1e-3)
    assert y.dtype == x.dtype and y.grad_fn.name() == ty.grad_fn.name()
    _close(y, ty, tol)
    y.backward(cr.tensor(g).to(y.dtype))
    ty.backward(torch.tensor(g).to(ty.dtype))
    assert x.grad.dtype == x.dtype
    _close(x.grad, tx.grad, tol)
    if affine:
        assert w.grad.dtype == w.dtype and b.grad.dtype == b.dtype
        _close(w.grad, tw.grad, tol)
        _close(b.grad, tb.grad, tol)


def test_graph_and_saved():
    x = cr.randn(2, 4, 3, dtype=cr.float64, requires_grad=True)
    w = cr.randn(4, dtype=cr.float64, requires_grad=True)
    y = F.group_norm(x, 2, w)
    assert y.grad_fn.name() == "NativeGroupNormBackward0"
    nexts = y.grad_fn.next_functions
    assert len(nexts) == 3 and nexts[2][0] is None
    assert F.group_norm(x.detach(), 2, w).grad_fn.next_functions[0][0] is None
    assert F.group_norm(x.detach(), 2).grad_fn is None
    m = cr.nn.GroupNorm(2, 4).double()
    assert m(x).grad_fn.name() == "NativeGroupNormBackward0"


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("shape,groups", [((2, 4, 3), 2), ((2, 6, 2, 3), 3), ((3, 2), 1)])
def test_gradcheck(shape, groups, affine):
    x = cr.tensor(RNG.standard_normal(shape), requires_grad=True)
    params = ()
    if affine:
        params = tuple(
            cr.tensor(RNG.standard_normal(shape[1]), requires_grad=True) for _ in range(2)
        )

    def fn(x, *p):
        return F.group_norm(x, groups, *p, eps=1e-2)

    assert cr.autograd.gradcheck(fn, (x, *params))
    assert cr.autograd.gradgradcheck(fn, (x, *params))


def test_channels_last_layout_and_values():
    a = RNG.standard_normal((2, 6, 4, 5))
    ga = RNG.standard_normal(a.shape)
    x = cr.tensor(a).to(memory_format=cr.channels_last).requires_grad_()
    w = cr.tensor(RNG.standard_normal(6), requires_grad=True)
    tx = torch.tensor(a).to(memory_format=torch.channels_last).requires_grad_()
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    y, ty = F.group_norm(x, 3, w), TF.group_norm(tx, 3, tw)
    assert y.stride() == ty.stride()
    y.backward(cr.tensor(ga))
    ty.backward(torch.tensor(ga))
    _close(y, ty, 1e-12)
    _close(x.grad, tx.grad, 1e-12)
    _close(w.grad, tw.grad, 1e-12)


@pytest.mark.parametrize("affine", [False, True])
def test_jvp_matches_torch_forward_ad(affine):
    shape = (2, 6, 3, 2)
    arrays = [RNG.standard_normal(shape), RNG.standard_normal(shape)]
    if affine:
        arrays += [RNG.standard_normal(6) for _ in range(4)]
    with tfwd.dual_level():
        tp = [
            tfwd.make_dual(torch.tensor(arrays[i]), torch.tensor(arrays[i + 1]))
            for i in range(0, len(arrays), 2)
        ]
        tt = tfwd.unpack_dual(TF.group_norm(tp[0], 3, *tp[1:])).tangent
    with dual_level():
        cp = [
            make_dual(cr.tensor(arrays[i]), cr.tensor(arrays[i + 1]))
            for i in range(0, len(arrays), 2)
        ]
        ct = unpack_dual(F.group_norm(cp[0], 3, *cp[1:])).tangent
    _close(ct, tt, 1e-12)


def test_vmap_matches_loop():
    x = cr.randn(4, 2, 6, 3, dtype=cr.float64)
    w, b = cr.randn(6, dtype=cr.float64), cr.randn(6, dtype=cr.float64)
    y = cr.func.vmap(lambda t: F.group_norm(t, 3, w, b))(x)
    ref = cr.stack([F.group_norm(t, 3, w, b) for t in x])
    np.testing.assert_allclose(y.numpy(), ref.numpy(), atol=1e-12)
    ws = cr.randn(4, 6, dtype=cr.float64)  # batched weight: per-sample fallback
    y = cr.func.vmap(lambda wi: F.group_norm(x[0], 3, wi))(ws)
    ref = cr.stack([F.group_norm(x[0], 3, wi) for wi in ws])
    np.testing.assert_allclose(y.numpy(), ref.numpy(), atol=1e-12)
    # per-sample gradients through the batched rule
    gx = cr.func.vmap(cr.func.grad(lambda t: (F.group_norm(t, 3, w, b) ** 3).sum()))(x)
    tg = torch.func.vmap(
        torch.func.grad(
            lambda t: (
                TF.group_norm(t, 3, torch.tensor(w.numpy()), torch.tensor(b.numpy())) ** 3
            ).sum()
        )
    )(torch.tensor(x.numpy()))
    _close(gx, tg, 1e-10)


def test_empty_batch():
    x = cr.zeros(0, 4, 3, requires_grad=True)
    w = cr.ones(4, requires_grad=True)
    y = F.group_norm(x, 2, w, w)
    assert y.shape == (0, 4, 3) and y.grad_fn.name() == "NativeGroupNormBackward0"
    y.sum().backward()
    assert x.grad.shape == (0, 4, 3)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(4, np.float32))


@pytest.mark.parametrize(
    "shape,groups,kwargs",
    [
        ((2, 4, 3), 3, {}),
        ((2,), 1, {}),
        ((2, 4, 3), -2, {}),
        ((2, 4, 3), 0, {}),
        ((2, 4, 3), 2.0, {}),
        ((2, 4, 3), True, {}),
        ((1, 2), 2, {}),
        ((2, 4, 3), 2, {"weight": (3,)}),
        ((2, 4, 3), 2, {"bias": (4, 1)}),
    ],
)
def test_errors_as_torch(shape, groups, kwargs):
    args = {k: (v,) for k, v in kwargs.items()}
    with pytest.raises(Exception) as theirs:
        TF.group_norm(
            torch.randn(*shape), groups, **{k: torch.randn(*v) for k, (v,) in args.items()}
        )
    with pytest.raises(type(theirs.value)):
        F.group_norm(cr.randn(*shape), groups, **{k: cr.randn(*v) for k, (v,) in args.items()})


def test_integer_and_mixed_dtypes_refused():
    with pytest.raises(NotImplementedError):
        F.group_norm(cr.ones(2, 4, 3, dtype=cr.int64), 2)
    with pytest.raises(RuntimeError):
        F.group_norm(cr.randn(2, 4, 3, dtype=cr.float64), 2, cr.randn(4))
