"""Regression tests for differences from PyTorch that the op-spec table had listed as known
(tests/ops/known_bad_input_differences.py, test_extreme_values.py) and that are now fixed:
0-d ``.real``/``.imag``, the complex ``abs`` gradient at a subnormal modulus, the errors of
``complex``/``polar``/``view_as_complex``/``sparse.mm``/sparse softmax, integer
``sparse.addmm``, integer ``F.interpolate`` and the inf/NaN locality of area and antialiased
interpolation. Each compares with PyTorch, run here.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops.complex_ops import complex_sgn

INF, NAN = np.inf, np.nan


def _outcome(fn):
    """``("ok", value)`` or ``("raise", exception)``."""
    try:
        return "ok", fn()
    except Exception as err:  # noqa: BLE001 - the exception is the result compared
        return "raise", err


def _same_error(cr_fn, torch_fn, name: str) -> None:
    """Both raise; chainrule's exception is an instance of PyTorch's class and names ``name``."""
    t_kind, t_err = _outcome(torch_fn)
    c_kind, c_err = _outcome(cr_fn)
    assert t_kind == "raise", "PyTorch was expected to raise"
    assert c_kind == "raise", f"chainrule returned where PyTorch raised {t_err!r}"
    assert isinstance(c_err, type(t_err)), f"{type(c_err)} is not a {type(t_err)}"
    assert name in str(c_err), f"{name!r} not in {c_err}"


def _assert_same(got, want) -> None:
    """Equal values (NaN at the same places, infinities with their signs), close otherwise."""
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))


# ----------------------------------------------------------------------- 1. 0-d real / imag
def test_real_imag_of_0d_complex_keep_the_0d_shape_and_gradient():
    z = np.array(1.5 - 2.0j)
    cz, tz = cr.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    cy, ty = cz.real * 2.0 + cz.imag * 3.0, tz.real * 2.0 + tz.imag * 3.0
    assert tuple(cz.real.shape) == tuple(tz.real.shape) == ()
    assert tuple(cz.imag.shape) == tuple(tz.imag.shape) == ()
    cy.backward()
    ty.backward()
    assert cy.item() == ty.item()
    np.testing.assert_array_equal(cz.grad.numpy(), tz.grad.numpy())


# ------------------------------------------------------------ 2. abs / sgn at subnormal |z|
# 24 elements: PyTorch's vectorised kernel (its 0-d path divides as NumPy does and overflows)
_TINY = np.array(
    [5e-324 + 0j, 1e-310 + 1e-310j, -5e-324 + 5e-324j, 0j, 3 + 4j, 1e-300 - 2e-300j] * 4
)


def test_complex_sgn_is_stable_at_a_subnormal_modulus():
    want = torch.sgn(torch.tensor(_TINY)).numpy()
    got = complex_sgn(cr.tensor(_TINY)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert got[0] == 1.0


def test_complex_sgn_gradient_matches_torch_zero_at_zero():
    z = np.array([3 + 4j, -1 + 2j, 1e-3 - 2j, 0j])
    w = np.array([1 - 2j, 0.5 + 1j, -1 + 0.3j, 2 + 1j])
    cz, tz = cr.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    (complex_sgn(cz) * cr.tensor(w)).real.sum().backward()
    (torch.sgn(tz) * torch.tensor(w)).real.sum().backward()
    np.testing.assert_allclose(cz.grad.numpy(), tz.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_complex_abs_gradient_at_a_subnormal_modulus():
    """d|z|/dz = z / |z|: 1 at 5e-324 + 0i (it was NaN: the complex division overflowed)."""
    cz, tz = cr.tensor(_TINY, requires_grad=True), torch.tensor(_TINY, requires_grad=True)
    cz.abs().sum().backward()
    tz.abs().sum().backward()
    np.testing.assert_allclose(cz.grad.numpy(), tz.grad.numpy(), rtol=1e-15, atol=0)
    assert cz.grad.numpy()[0] == 1.0


# ------------------------------------------------------------------ 3./4. complex and polar
def test_complex_of_shapes_that_do_not_broadcast_raises_runtime_error_naming_complex():
    a, b = np.ones((2, 3)), np.ones(4)
    _same_error(
        lambda: cr.complex(cr.tensor(a), cr.tensor(b)),
        lambda: torch.complex(torch.tensor(a), torch.tensor(b)),
        "complex",
    )
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(4,\)"):
        cr.complex(cr.tensor(a), cr.tensor(b))


@pytest.mark.parametrize(
    "r, t",
    [
        (np.ones(3, np.int64), np.ones(3, np.int64)),
        (np.ones(3), np.ones(3, np.int64)),
        (np.ones(3, np.float32), np.ones(3)),
        (np.ones(3), np.ones(4)),
    ],
    ids=["int64", "float64-int64", "float32-float64", "shapes"],
)
def test_polar_refuses_like_torch_naming_polar(r, t):
    _same_error(
        lambda: cr.polar(cr.tensor(r), cr.tensor(t)),
        lambda: torch.polar(torch.tensor(r), torch.tensor(t)),
        "polar",
    )


def test_polar_still_broadcasts():
    r, t = np.array([[1.0], [2.0]]), np.array([0.3, -1.2, 2.0])
    got = cr.polar(cr.tensor(r), cr.tensor(t)).numpy()
    np.testing.assert_allclose(got, torch.polar(torch.tensor(r), torch.tensor(t)).numpy())


def test_view_as_complex_errors_name_the_op():
    for x in (np.ones((3, 3)), np.ones(())):
        _same_error(
            lambda x=x: cr.view_as_complex(cr.tensor(x)),
            lambda x=x: torch.view_as_complex(torch.tensor(x)),
            "view_as_complex",
        )


# ------------------------------------------------------------------------- 5. sparse addmm
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("beta, alpha", [(0.5, 2.0), (1.9, 2.7), (True, 3), (2, 1)])
def test_sparse_addmm_of_integers_truncates_beta_alpha_like_torch(dtype, beta, alpha):
    m = np.array([[1, 2], [3, 4]], dtype)
    s = np.array([[1, 0], [0, 2]], dtype)
    x = np.array([[1, 1], [2, 3]], dtype)
    got = cr.sparse.addmm(
        cr.tensor(m), cr.tensor(s).to_sparse(), cr.tensor(x), beta=beta, alpha=alpha
    )
    want = torch.sparse.addmm(
        torch.tensor(m), torch.tensor(s).to_sparse(), torch.tensor(x), beta=beta, alpha=alpha
    )
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("beta", [float("nan"), 1e30, -1.5 + 2j])
def test_sparse_addmm_of_integers_refuses_an_unconvertible_scalar(beta):
    m, s = np.ones((2, 2), np.int64), np.eye(2, dtype=np.int64)
    _same_error(
        lambda: cr.sparse.addmm(cr.tensor(m), cr.tensor(s).to_sparse(), cr.tensor(m), beta=beta),
        lambda: torch.sparse.addmm(
            torch.tensor(m), torch.tensor(s).to_sparse(), torch.tensor(m), beta=beta
        ),
        "addmm",
    )


# ------------------------------------------------------------------- 6. sparse mm / softmax
@pytest.mark.parametrize("which", ["sparse-1d", "dense-1d"])
def test_sparse_mm_of_a_1d_operand_raises_index_error(which):
    if which == "sparse-1d":
        a, b = np.ones(3), np.ones((3, 2))
    else:
        a, b = np.ones((3, 3)), np.ones(3)
    _same_error(
        lambda: cr.sparse.mm(cr.tensor(a).to_sparse(), cr.tensor(b)),
        lambda: torch.sparse.mm(torch.tensor(a).to_sparse(), torch.tensor(b)),
        "spmm",
    )


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_sparse_softmax_of_integers_raises_not_implemented(op):
    s = np.array([[1, 0], [0, 2]])
    _same_error(
        lambda: getattr(cr.sparse, op)(cr.tensor(s).to_sparse(), 1),
        lambda: getattr(torch.sparse, op)(torch.tensor(s).to_sparse(), 1),
        op,
    )
    got = getattr(cr.sparse, op)(cr.tensor(s).to_sparse(), 1, dtype=cr.float64)
    want = getattr(torch.sparse, op)(torch.tensor(s).to_sparse(), 1, dtype=torch.float64)
    np.testing.assert_allclose(got.to_dense().numpy(), want.to_dense().numpy())


# --------------------------------------------------------------- 6. interpolate on integers
_MODES_BY_RANK = {
    3: ("nearest", "nearest-exact", "linear", "area"),
    4: ("nearest", "nearest-exact", "bilinear", "bicubic", "area"),
    5: ("nearest", "nearest-exact", "trilinear", "area"),
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_interpolate_of_integers_raises_or_returns_like_torch(dtype):
    for rank, modes in _MODES_BY_RANK.items():
        x = (np.arange(2 * 4 ** (rank - 2)) % 3).reshape((1, 2) + (4,) * (rank - 2)).astype(dtype)
        for mode in modes:
            t_kind, t_val = _outcome(
                lambda x=x, mode=mode: TF.interpolate(torch.tensor(x), scale_factor=2, mode=mode)
            )
            c_kind, c_val = _outcome(
                lambda x=x, mode=mode: F.interpolate(cr.tensor(x), scale_factor=2, mode=mode)
            )
            what = f"{dtype} {rank}-d {mode}"
            if t_kind == "raise":
                assert c_kind == "raise", f"{what}: chainrule returned, PyTorch raised {t_val!r}"
                assert isinstance(c_val, type(t_val)), f"{what}: {c_val!r} vs {t_val!r}"
                assert "interpolate" in str(c_val)
            elif mode.startswith("nearest"):  # uint8: PyTorch's bilinear/bicubic uint8 too,
                assert c_kind == "ok", f"{what}: {c_val!r}"  # which chainrule does not have
                np.testing.assert_array_equal(c_val.numpy(), t_val.numpy(), err_msg=what)


# ------------------------------------------------- 7. area / antialias keep inf and NaN local
def _both(x: np.ndarray, upstream: np.ndarray | None = None, **kw):
    """Values and input gradients of chainrule and PyTorch (seeded upstream weights)."""
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = F.interpolate(cx, **kw), TF.interpolate(tx, **kw)
    w = np.random.default_rng(3).standard_normal(tuple(ty.shape)) if upstream is None else upstream
    (cy * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    return (cy.detach().numpy(), cx.grad.numpy()), (ty.detach().numpy(), tx.grad.numpy())


def test_area_keeps_an_inf_in_its_bins():
    x = np.array([1, 2, INF, 4, 5, 6.0]).reshape(1, 1, 6)
    for size, want in ((3, [1.5, INF, 5.5]), (8, [1, 1.5, INF, INF, 4, 4.5, 5.5, 6])):
        (cy, cg), (ty, tg) = _both(x, size=size, mode="area")
        np.testing.assert_array_equal(ty.ravel(), want)  # the value PyTorch was measured at
        _assert_same(cy, ty)
        _assert_same(cg, tg)


def test_antialias_keeps_a_nan_in_its_window():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    x[0, 0, 0, 0] = NAN
    (cy, cg), (ty, tg) = _both(x, size=(2, 2), mode="bilinear", antialias=True)
    assert np.isnan(ty.ravel()).tolist() == [True, False, False, False]
    _assert_same(cy, ty)
    _assert_same(cg, tg)


_LOCAL_CASES = [  # (input shape, size, mode, antialias, align_corners)
    ((1, 2, 7), (3,), "area", False, None),
    ((2, 1, 5, 6), (3, 4), "area", False, None),
    ((1, 1, 5, 6), (7, 9), "area", False, None),
    ((1, 1, 2, 3, 5), (2, 2, 3), "area", False, None),
    ((2, 1, 9, 7), (4, 3), "bilinear", True, False),
    ((1, 2, 6, 9), (9, 4), "bilinear", True, True),
    ((1, 1, 9, 8), (4, 5), "bicubic", True, False),
    ((1, 1, 7, 6), (3, 10), "bicubic", True, True),
]


@pytest.mark.parametrize("shape, size, mode, aa, ac", _LOCAL_CASES)
@pytest.mark.parametrize("fill", [(INF,), (NAN,), (INF, -INF)], ids=["inf", "nan", "+-inf"])
def test_area_and_antialias_are_local_like_torch(shape, size, mode, aa, ac, fill):
    rng = np.random.default_rng(zlib.crc32(repr((shape, size, mode, len(fill))).encode()))
    x = rng.standard_normal(shape)
    x.reshape(-1)[rng.choice(x.size, len(fill), replace=False)] = fill
    kw = dict(size=size, mode=mode)
    if aa:
        kw.update(antialias=True, align_corners=ac)
    (cy, cg), (ty, tg) = _both(x, **kw)
    _assert_same(cy, ty)
    _assert_same(cg, tg)
    assert np.isfinite(ty).any()  # the case is a locality check: some outputs stay finite


@pytest.mark.parametrize("mode, aa", [("area", False), ("bilinear", True)])
def test_area_and_antialias_gradient_of_an_inf_upstream_stays_local(mode, aa):
    x = np.random.default_rng(5).standard_normal((1, 1, 6, 8))
    w = np.random.default_rng(6).standard_normal((1, 1, 4, 3))
    w[0, 0, 1, 2] = INF
    kw = dict(size=(4, 3), mode=mode, **({"antialias": True} if aa else {}))
    (_, cg), (_, tg) = _both(x, upstream=w, **kw)
    _assert_same(cg, tg)
    assert np.isfinite(tg).any()
