"""The row kernels of layer norm (chainrule._kernels.layernorm) after their speed rework:
float64 statistics in one shifted pass (a second pass for far shifts), elementwise work in
the input's dtype with the mean split in two, backward row sums over float32 chunks. Each
path against the NumPy fallback and F.layer_norm against PyTorch (values and gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._kernels import jit
from chainrule._kernels import layernorm as LN
from chainrule.ops import layer_norm as LNO

needs_numba = pytest.mark.skipif(not jit.numba_available(), reason="needs numba")
TOL = {np.float32: dict(rtol=2e-6, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _rows(kind, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if kind == "offset":  # |μ| ≫ σ: the split mean keeps x - μ exact enough
        x = 1000.0 + 0.01 * x
    elif kind == "far_shift":  # the first value far from the mean: the exact second pass
        x[:, 0] = 1e4
    elif kind == "special":  # NaN, inf and a constant row
        x[1, 3] = np.nan
        x[2, 0] = np.inf
        x[3, 2], x[3, 4] = np.inf, -np.inf
        x[4] = 2.5
    return x.astype(dtype)


def _both_paths(x, w, b, g, want_w, want_b):
    """Forward and backward kernels, compiled then fallback: lists of their outputs."""
    rows, n = x.shape
    outs = []
    for fwd, bwd in (
        (LN.layer_norm_rows.compiled, LN.layer_norm_rows_backward.compiled),
        (LN.layer_norm_rows.fallback, LN.layer_norm_rows_backward.fallback),
    ):
        y, mean, rstd = np.empty_like(x), np.empty(rows), np.empty(rows)
        fwd(x, w, b, 1e-5, y, mean, rstd)
        dx = np.empty_like(x)
        dw, db = np.empty(n if want_w else 0), np.empty(n if want_b else 0)
        bwd(g, x, w, mean, rstd, dx, dw, db)
        outs.append([y, dx, dw, db])
    return outs


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("kind", "shape", "affine"),
    [
        ("normal", (37, 128), "wb"),  # nanoGPT's row length; blocks of 16 rows and a rest
        ("normal", (5, 300), "w"),  # the backward's sums over chunks of 128 columns
        ("normal", (3, 7), ""),
        ("offset", (20, 128), "w"),
        ("far_shift", (6, 64), "b"),
    ],
)
def test_row_kernels_match_fallback(dtype, kind, shape, affine):
    rng = np.random.default_rng(1)
    x = _rows(kind, shape, dtype)
    n = shape[1]
    none = np.empty(0, dtype)
    w = (1 + 0.3 * rng.standard_normal(n)).astype(dtype) if "w" in affine else none
    b = rng.standard_normal(n).astype(dtype) if "b" in affine else none
    g = rng.standard_normal(shape).astype(dtype)
    got, want = _both_paths(x, w, b, g, True, True)
    for a, e, name in zip(got, want, ("y", "dx", "dw", "db")):
        # errors relative to the array's largest value: dx of rows with σ = 0.01 reaches 100
        scale = max(float(np.abs(e).max()), 1.0)
        tol = TOL[dtype]
        if kind == "offset" and dtype == np.float64:  # the fallback's Σx/n: |μ|/σ = 1e5
            tol = dict(rtol=1e-9, atol=1e-9)  # times float64 rounding, in x - μ
        np.testing.assert_allclose(a, e, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=name)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_kernels_keep_nan_and_inf_as_fallback(dtype):
    """Rows with NaN or inf give NaN where the fallback does; a constant row gives 0."""
    x = _rows("special", (6, 9), dtype)
    w = np.linspace(0.5, 1.5, 9).astype(dtype)
    g = np.random.default_rng(2).standard_normal(x.shape).astype(dtype)
    with np.errstate(invalid="ignore"):  # the fallback's inf - inf
        got, want = _both_paths(x, w, np.empty(0, dtype), g, True, False)
    np.testing.assert_array_equal(np.isnan(got[0]), np.isnan(want[0]))
    np.testing.assert_array_equal(np.isnan(got[1]), np.isnan(want[1]))
    np.testing.assert_array_equal(got[0][4], np.zeros(9, dtype))
    ok = ~np.isnan(want[0])
    np.testing.assert_allclose(got[0][ok], want[0][ok], **TOL[dtype])


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_rows_shares_the_forward(dtype):
    """Group and instance norm's kernel (no affine map) against its fallback."""
    x = _rows("offset", (19, 50), dtype)
    res = []
    for fn in (LN.normalize_rows.compiled, LN.normalize_rows.fallback):
        y, mean, rstd = np.empty_like(x), np.empty(19), np.empty(19)
        fn(x, 1e-5, y, mean, rstd)
        res.append((y, mean, rstd))
    tol = TOL[dtype] if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)  # |μ|/σ = 1e5
    for a, e in zip(*res):
        np.testing.assert_allclose(a, e, **tol)


def _torch_ln(xa, wa, ba, ga, shape):
    tx = torch.tensor(xa, requires_grad=True)
    tw = None if wa is None else torch.tensor(wa, requires_grad=True)
    tb = None if ba is None else torch.tensor(ba, requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, shape, tw, tb)
    ty.backward(torch.tensor(ga))
    grads = [t.grad.numpy() for t in (tx, tw, tb) if t is not None]
    return [ty.detach().numpy()] + grads


def _chainrule_ln(xa, wa, ba, ga, shape, transpose=False):
    x = cr.tensor(xa, requires_grad=True)
    w = None if wa is None else cr.tensor(wa, requires_grad=True)
    b = None if ba is None else cr.tensor(ba, requires_grad=True)
    xin = x.transpose(0, 1).transpose(0, 1) if not transpose else x
    y = F.layer_norm(xin, shape, w, b)
    y.backward(cr.tensor(ga))
    grads = [t.grad._data for t in (x, w, b) if t is not None]
    return [y._data] + grads


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("weight", "bias"), [(True, False), (True, True), (False, False)])
def test_layer_norm_vs_torch_nanogpt_shape(backend, dtype, weight, bias):
    """nanoGPT's (12, 64, 128) layer norm, with and without γ and β, on both paths."""
    if backend == "numba" and not jit.numba_available():
        pytest.skip("needs numba")
    rng = np.random.default_rng(3)
    xa = (rng.standard_normal((12, 64, 128)) * 2 + 0.5).astype(dtype)
    wa = (1 + 0.2 * rng.standard_normal(128)).astype(dtype) if weight else None
    ba = rng.standard_normal(128).astype(dtype) if bias else None
    ga = rng.standard_normal(xa.shape).astype(dtype)
    with jit.use_backend(backend):
        got = _chainrule_ln(xa, wa, ba, ga, (128,))
    want = _torch_ln(xa, wa, ba, ga, (128,))
    tol = 2e-6 if dtype == np.float32 else 1e-12
    assert len(got) == len(want)
    for a, e in zip(got, want):
        # relative to the largest value: dγ, dβ sum 768 rows, where PyTorch's own float32
        # error reached 5e-5 (chainrule's: 9e-6, against float64)
        assert a.dtype == e.dtype
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * float(np.abs(e).max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_two_axes_and_strided_input_vs_torch(dtype):
    """normalized_shape over two dims (rows of 12), and a strided input (general path)."""
    rng = np.random.default_rng(4)
    xa = rng.standard_normal((5, 3, 4)).astype(dtype)
    wa = rng.standard_normal((3, 4)).astype(dtype)
    ba = rng.standard_normal((3, 4)).astype(dtype)
    ga = rng.standard_normal((5, 3, 4)).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
    for a, e in zip(_chainrule_ln(xa, wa, ba, ga, (3, 4)), _torch_ln(xa, wa, ba, ga, (3, 4))):
        np.testing.assert_allclose(a, e, **tol)
    xt = rng.standard_normal((7, 6)).astype(dtype)
    x = cr.tensor(xt, requires_grad=True)
    y = F.layer_norm(x.t(), (7,))  # a transposed view: not C-contiguous
    y.backward(cr.tensor(ga[:1, :3].reshape(-1)[:1].repeat(42).reshape(6, 7)))
    tx = torch.tensor(xt, requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx.t(), (7,))
    ty.backward(torch.tensor(ga[:1, :3].reshape(-1)[:1].repeat(42).reshape(6, 7)))
    np.testing.assert_allclose(y._data, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), **tol)


def test_rows_view_for_trailing_axes():
    x = np.zeros((2, 3, 4), np.float32)
    with jit.use_backend("numba" if jit.numba_available() else "numpy"):
        if jit.backend() == "numba":
            assert LNO._ln_rows(x, 1).shape == (6, 4)
            assert LNO._ln_rows(x, 2).shape == (2, 12)
        assert LNO._ln_rows(x.astype(np.float16), 1) is None
        assert LNO._ln_rows(x.astype(">f4"), 1) is None  # not native byte order
        assert LNO._ln_rows(x.transpose(0, 2, 1), 1) is None
        assert LNO._ln_rows(np.zeros((0, 4), np.float32), 1) is None
    with jit.use_backend("numpy"):
        assert LNO._ln_rows(x, 1) is None
    assert LNO._flat_param(None, x).size == 0
    assert LNO._flat_param(np.ones(4), x) is None  # float64 γ for float32 x: not the kernels'


@needs_numba
def test_double_backward_and_forward_mode_after_the_kernels():
    """create_graph rebuilds from Tensor ops; jvp uses the saved statistics: both vs torch."""
    with jit.use_backend("numba"):
        rng = np.random.default_rng(5)
        xa, wa = rng.standard_normal((4, 6)), rng.standard_normal(6)
        x, w = cr.tensor(xa, requires_grad=True), cr.tensor(wa, requires_grad=True)
        tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
        (gx,) = cr.autograd.grad((F.layer_norm(x, (6,), w) ** 3).sum(), x, create_graph=True)
        (tgx,) = torch.autograd.grad(
            (torch.nn.functional.layer_norm(tx, (6,), tw) ** 3).sum(), tx, create_graph=True
        )
        gx.sum().backward()
        tgx.sum().backward()
        np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(w.grad._data, tw.grad.numpy(), rtol=1e-10, atol=1e-10)
        t = rng.standard_normal((4, 6))
        _, jv = cr.func.jvp(
            lambda a: F.layer_norm(a, (6,), cr.tensor(wa)), (cr.tensor(xa),), (cr.tensor(t),)
        )
        _, tjv = torch.func.jvp(
            lambda a: torch.nn.functional.layer_norm(a, (6,), torch.tensor(wa)),
            (torch.tensor(xa),),
            (torch.tensor(t),),
        )
        np.testing.assert_allclose(jv._data, tjv.numpy(), rtol=1e-10, atol=1e-10)


@needs_numba
def test_rows_near_float32_overflow_take_float64():
    """x - μ beyond float32's range (rows of ±3.4e38): computed in float64, as the former
    kernels, equal to PyTorch's float64 result rounded (PyTorch's float32 gives NaN)."""
    xa = np.array([[3.4e38, 3.4e38, -3.4e38, 0.0] * 4, np.arange(16.0)], np.float32)
    ga = np.random.default_rng(6).standard_normal((2, 16)).astype(np.float32)
    x = cr.tensor(xa, requires_grad=True)
    with jit.use_backend("numba"):  # (the NumPy path's float32 mean overflows: NaN)
        y = F.layer_norm(x, (16,))
        y.backward(cr.tensor(ga))
    tx = torch.tensor(xa.astype(np.float64), requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, (16,))
    ty.backward(torch.tensor(ga.astype(np.float64)))
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    want = tx.grad.numpy()  # row 0: float32 subnormals (~1e-39), to their precision
    np.testing.assert_allclose(x.grad._data[0], want[0], rtol=1e-5, atol=1e-44)
    np.testing.assert_allclose(x.grad._data[1], want[1], rtol=1e-5, atol=1e-6)
