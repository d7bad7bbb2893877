"""torch.linalg and the matrix products against PyTorch: the cases a broad audit found
wrong (each named in its test) and a sample of the cases that already agreed, so that both
stay caught. Every case runs the same call in torch and chainrule and compares the values,
dtypes and shapes, the error type, and where the op is differentiable the gradient of a
random weighted sum (float64 / complex128)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

_DTYPES = {
    "f32": np.float32,
    "f64": np.float64,
    "c64": np.complex64,
    "c128": np.complex128,
}


def _arr(shape: tuple, dt: str = "f64", seed: int = 0, kind: str = "gen") -> np.ndarray:
    """A random array; ``kind`` 'wellcond' adds n I, 'spd' makes it Hermitian positive
    definite, 'herm' Hermitian, 'sing' zeroes the last row (exactly singular)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dt.startswith("c"):
        a = a + 1j * rng.standard_normal(shape)
    n = shape[-1] if shape else 1
    if kind == "wellcond":
        a = a + n * np.eye(shape[-2], shape[-1])
    elif kind == "spd":
        a = a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n)
    elif kind == "herm":
        a = a + np.conj(np.swapaxes(a, -1, -2))
    elif kind == "sing":
        a[..., -1, :] = 0
    return np.ascontiguousarray(a.astype(_DTYPES[dt]))


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().resolve_conj().numpy()
    return np.asarray(x.detach().numpy())


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [y for x in out for y in _flat(x)]
    return [out]


def _loss(lib: Any, outs: list, seed: int = 7) -> Any:
    """A random weighted sum of the float outputs (|.|^2 of complex ones: a real loss)."""
    rng = np.random.default_rng(seed)
    total = 0
    for y in outs:
        if not y.dtype.is_floating_point and not y.dtype.is_complex:
            continue
        w = lib.tensor(rng.standard_normal(tuple(y.shape)), dtype=y.real.dtype)
        total = total + (((y * w).abs() ** 2).sum() if y.dtype.is_complex else (y * w).sum())
    return total


def _compare(
    fn: Callable[[Any, list], Any],
    inputs: list,
    grad: bool = True,
    tol: float = 1e-9,
    constant: tuple = (),
) -> None:
    """Run ``fn(lib, tensors)`` in torch and chainrule and compare the results, the error
    type, and (``grad``) the gradients of a random weighted sum of the outputs with respect
    to the float inputs (but those at the indices ``constant``)."""
    results = []
    for lib in (torch, cr):
        ts = [
            lib.tensor(a, requires_grad=grad and a.dtype.kind in "fc" and i not in constant)
            if isinstance(a, np.ndarray)
            else a
            for i, a in enumerate(inputs)
        ]
        try:
            out = fn(lib, ts)
        except Exception as err:  # noqa: BLE001 - compared below
            results.append(err)
            continue
        outs = _flat(out)
        grads = None
        leaves = [t for t in ts if getattr(t, "requires_grad", False)]
        if grad and leaves and any(getattr(y, "requires_grad", False) for y in outs):
            try:
                grads = lib.autograd.grad(_loss(lib, outs), leaves, allow_unused=True)
            except Exception as err:  # noqa: BLE001 - compared below
                grads = err
        results.append((outs, grads))
    t_res, c_res = results
    if not isinstance(t_res, Exception) and not isinstance(c_res, Exception):
        t_g, c_g = t_res[1], c_res[1]
        if isinstance(t_g, Exception) or isinstance(c_g, Exception):
            assert isinstance(t_g, Exception), f"chainrule's backward raised {c_g!r}"
            assert isinstance(c_g, RuntimeError), f"torch's backward raised {t_g!r}"
            t_res, c_res = (t_res[0], None), (c_res[0], None)
    if isinstance(t_res, Exception):
        assert isinstance(c_res, Exception), f"torch raised {t_res!r}; chainrule computed"
        assert isinstance(c_res, RuntimeError if isinstance(t_res, RuntimeError) else type(t_res))
        return
    assert not isinstance(c_res, Exception), f"chainrule raised {c_res!r}; torch computed"
    (t_outs, t_grads), (c_outs, c_grads) = t_res, c_res
    assert len(t_outs) == len(c_outs)
    for a, b in zip(t_outs, c_outs):
        if not isinstance(a, torch.Tensor):
            assert a == b
            continue
        assert str(b.dtype) == str(a.dtype)
        assert tuple(b.shape) == tuple(a.shape)
        np.testing.assert_allclose(_np(b), _np(a), rtol=tol, atol=tol, equal_nan=True)
    if t_grads is not None:
        assert c_grads is not None
        for a, b in zip(t_grads, c_grads):
            if a is None or b is None:
                assert a is None and b is None or not np.any(_np(a if b is None else b))
                continue
            np.testing.assert_allclose(_np(b), _np(a), rtol=tol * 10, atol=tol * 10)


# ---------------------------------------------------------------- found by the audit


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((2, 3, 3), (3, 2)),  # B.mT has A's batch shape: it was read as a batch of vectors
        ((0, 3, 3), (3, 0)),
        ((2, 3, 3), (4, 3)),
        ((2, 3, 3), (2, 4, 3)),
        ((3, 3), (2, 5, 3)),
        ((2, 3, 3), (2, 3)),  # a vector B: no left=False
        ((3, 3), (3,)),
        ((1, 1), (1,)),
        ((2, 1, 1), (2, 1)),
        ((1, 1), (3, 1)),
    ],
)
@pytest.mark.parametrize("op", ["solve", "solve_ex"])
def test_solve_left_false_shapes(a_shape: tuple, b_shape: tuple, op: str) -> None:
    a, b = _arr(a_shape, seed=1, kind="wellcond"), _arr(b_shape, seed=2)
    _compare(lambda lib, t: getattr(lib.linalg, op)(*t, left=False), [a, b])


@pytest.mark.parametrize("uplo", ["l", "u", "L", "U"])
def test_eigh_uplo_either_case(uplo: str) -> None:
    a = _arr((3, 3), seed=3)  # not symmetric: the triangle read matters
    _compare(lambda lib, t: lib.linalg.eigvalsh(t[0], UPLO=uplo), [a])
    _compare(lambda lib, t: lib.linalg.eigh(t[0], UPLO=uplo).eigenvalues, [a])
    with pytest.raises(RuntimeError, match="UPLO"):
        cr.linalg.eigh(cr.tensor(a), UPLO="lower")


@pytest.mark.parametrize("hermitian", [False, True])
def test_pinv_matrix_rank_per_matrix_tolerances(hermitian: bool) -> None:
    """Tensor atol/rtol hold one tolerance per matrix of the batch (NumPy raised)."""
    a = _arr((2, 3, 3), seed=4, kind="herm" if hermitian else "gen")
    tol = np.array([0.3, 1.5])
    for fn in (
        lambda lib, t: lib.linalg.pinv(t[0], rtol=t[1], hermitian=hermitian),
        lambda lib, t: lib.linalg.pinv(t[0], atol=t[1], hermitian=hermitian),
        lambda lib, t: lib.linalg.matrix_rank(t[0], atol=t[1], hermitian=hermitian),
        lambda lib, t: lib.linalg.matrix_rank(t[0], rtol=t[1], hermitian=hermitian),
    ):
        _compare(fn, [a, tol], constant=(1,))


def test_matrix_rank_tol_excludes_atol() -> None:
    a = _arr((3, 3))
    _compare(lambda lib, t: lib.linalg.matrix_rank(t[0], tol=1.0, atol=1.0), [a])
    _compare(lambda lib, t: lib.linalg.matrix_rank(t[0], tol=1.0), [a])


@pytest.mark.parametrize(
    ("shape", "ord_", "dim"),
    [
        ((2, 3, 4), "fro", None),  # a string ord with no dim on 3-d: PyTorch raises
        ((2, 3, 4), "nuc", None),
        ((2, 3, 4), "fro", 1),  # an int dim for a matrix norm: RuntimeError, not TypeError
        ((3, 4), "nuc", 0),
        ((3,), "fro", None),
        ((3, 4), "fro", None),
        ((2, 3, 4), 2, None),
        ((2, 3, 4), "nuc", (1, 2)),
        ((2, 3, 4), None, (0, 2)),
        ((2, 3, 4), 3, 1),
    ],
)
def test_linalg_norm_dims(shape: tuple, ord_: Any, dim: Any) -> None:
    _compare(lambda lib, t: lib.linalg.norm(t[0], ord_, dim), [_arr(shape, seed=5)])


@pytest.mark.parametrize("p", [None, "fro", "nuc", 1, -1, math.inf, -math.inf, 2, -2])
@pytest.mark.parametrize("dt", ["f64", "c64", "c128"])
def test_cond_empty_batch_is_real(p: Any, dt: str) -> None:
    _compare(lambda lib, t: lib.linalg.cond(t[0], p), [_arr((0, 3, 3), dt)])


@pytest.mark.parametrize(
    ("eq", "shapes"),
    [
        ("ij,jk->ik", [(2, 1), (3, 4)]),  # j of size 1 against 3: the gradient had size 3
        ("ij,jk->ik", [(2, 3), (1, 4)]),
        ("bij,bjk->bik", [(1, 2, 3), (4, 3, 4)]),
        ("ij,ij->", [(1, 3), (2, 3)]),
        ("iij,jk->ik", [(2, 2, 1), (3, 4)]),
        ("...j,...j->...", [(2, 1, 3), (4, 3)]),
        ("ij,jk,k->i", [(2, 1), (3, 1), (5,)]),
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ii->i", [(3, 3)]),
    ],
)
@pytest.mark.parametrize("dt", ["f64", "c128"])
def test_einsum_size_one_broadcast_grad(eq: str, shapes: list, dt: str) -> None:
    ins = [_arr(s, dt, seed=i) for i, s in enumerate(shapes)]
    _compare(lambda lib, t: lib.einsum(eq, *t), ins)


_HALF_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "det": lambda lib, a: lib.linalg.det(a),
    "slogdet": lambda lib, a: lib.linalg.slogdet(a),
    "inv": lambda lib, a: lib.linalg.inv(a),
    "cholesky": lambda lib, a: lib.linalg.cholesky(a),
    "qr": lambda lib, a: lib.linalg.qr(a),
    "eigh": lambda lib, a: lib.linalg.eigh(a),
    "eigvals": lambda lib, a: lib.linalg.eigvals(a),
    "svdvals": lambda lib, a: lib.linalg.svdvals(a),
    "pinv": lambda lib, a: lib.linalg.pinv(a),
    "matrix_rank": lambda lib, a: lib.linalg.matrix_rank(a),
    "lu_factor": lambda lib, a: lib.linalg.lu_factor(a),
    "ldl_factor": lambda lib, a: lib.linalg.ldl_factor(a),
    "solve": lambda lib, a: lib.linalg.solve(a, a),
    "lstsq": lambda lib, a: lib.linalg.lstsq(a, a),
    "solve_triangular": lambda lib, a: lib.linalg.solve_triangular(a, a, upper=True),
    "householder_product": lambda lib, a: lib.linalg.householder_product(a, a[0]),
    "cholesky_solve": lambda lib, a: lib.cholesky_solve(a, a),
    "matrix_norm_nuc": lambda lib, a: lib.linalg.matrix_norm(a, "nuc"),
    "matrix_power_neg": lambda lib, a: lib.linalg.matrix_power(a, -1),
    # PyTorch has float16 kernels for these: they compute
    "matrix_norm": lambda lib, a: lib.linalg.matrix_norm(a),
    "vector_norm": lambda lib, a: lib.linalg.vector_norm(a),
    "matrix_power": lambda lib, a: lib.linalg.matrix_power(a, 2),
    "cross": lambda lib, a: lib.linalg.cross(a, a),
    "vecdot": lambda lib, a: lib.linalg.vecdot(a, a),
    "lu_unpack": lambda lib, a: lib.lu_unpack(a, lib.tensor([2, 3, 3], dtype=lib.int32)),
}


@pytest.mark.parametrize("name", sorted(_HALF_OPS))
@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_low_precision_error_or_result(name: str, half: str) -> None:
    """float16 raised NumPy's TypeError ("array type float16 is unsupported in linalg") or
    computed where PyTorch raises; now PyTorch's NotImplementedError (a RuntimeError)."""
    base = _arr((3, 3), kind="spd")
    outs = []
    for lib in (torch, cr):
        a = lib.tensor(base).to(getattr(lib, half))
        try:
            outs.append(_HALF_OPS[name](lib, a))
        except Exception as err:  # noqa: BLE001 - compared below
            outs.append(err)
    t_out, c_out = outs
    if isinstance(t_out, Exception):
        assert isinstance(c_out, RuntimeError), repr(c_out)
        return
    assert not isinstance(c_out, Exception), repr(c_out)
    for a, b in zip(_flat(t_out), _flat(c_out)):
        assert str(a.dtype) == str(b.dtype)
        np.testing.assert_allclose(_np(b.float()), _np(a.float()), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("op", "shapes"),
    [
        ("addmm", [(3, 5), (3, 4), (4, 5)]),
        ("addmv", [(3,), (3, 4), (4,)]),
        ("addr", [(3, 4), (3,), (4,)]),
        ("baddbmm", [(2, 3, 5), (2, 3, 4), (2, 4, 5)]),
        ("addbmm", [(3, 5), (2, 3, 4), (2, 4, 5)]),
    ],
)
@pytest.mark.parametrize(("beta", "alpha"), [(1j, 1), (1, 1j), (0, 2.0), (0.5, -1)])
@pytest.mark.parametrize("dt", ["f64", "c128"])
def test_add_products_scales(op: str, shapes: list, beta: Any, alpha: Any, dt: str) -> None:
    """A complex alpha/beta with real tensors raises in PyTorch (it gave a complex result)."""
    ins = [_arr(s, dt, seed=i) for i, s in enumerate(shapes)]
    _compare(lambda lib, t: getattr(lib, op)(*t, beta=beta, alpha=alpha), ins)


@pytest.mark.parametrize("op", ["addmm", "addmv", "addr", "baddbmm", "addbmm"])
def test_add_products_beta_zero_ignores_nan(op: str) -> None:
    shapes = {
        "addmm": [(3, 5), (3, 4), (4, 5)],
        "addmv": [(3,), (3, 4), (4,)],
        "addr": [(3, 4), (3,), (4,)],
        "baddbmm": [(2, 3, 5), (2, 3, 4), (2, 4, 5)],
        "addbmm": [(3, 5), (2, 3, 4), (2, 4, 5)],
    }[op]
    ins = [_arr(s, seed=i) for i, s in enumerate(shapes)]
    ins[0] = ins[0] * np.nan
    _compare(lambda lib, t: getattr(lib, op)(*t, beta=0, alpha=1.5), ins)


_BATCH_MISMATCH: dict[str, Callable[[Any, list], Any]] = {
    "solve": lambda lib, t: lib.linalg.solve(t[0], t[1]),
    "solve_left_false": lambda lib, t: lib.linalg.solve(t[0], t[1].mT, left=False),
    "solve_ex": lambda lib, t: lib.linalg.solve_ex(t[0], t[1]),
    "solve_triangular": lambda lib, t: lib.linalg.solve_triangular(t[0], t[1], upper=True),
    "cholesky_solve": lambda lib, t: lib.cholesky_solve(t[1], t[0]),
    "triangular_solve": lambda lib, t: lib.triangular_solve(t[1], t[0]),
    "lu_solve": lambda lib, t: lib.linalg.lu_solve(*lib.linalg.lu_factor(t[0]), t[1]),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # triangular_solve is deprecated
@pytest.mark.parametrize("name", sorted(_BATCH_MISMATCH))
@pytest.mark.parametrize("b_batch", [(4,), (2,), (1,), (3, 2)])
def test_solver_batch_broadcasting(name: str, b_batch: tuple) -> None:
    """Batches that do not broadcast raise RuntimeError (was NumPy's ValueError). The
    factor of cholesky_solve/triangular_solve is held constant: PyTorch's gradient there
    also fills the triangle the solve never reads (see the report)."""
    a = _arr((2, 3, 3), seed=1, kind="spd")
    b = _arr((*b_batch, 3, 2), seed=2)
    factor_only = name in ("cholesky_solve", "triangular_solve")
    _compare(lambda lib, t: _BATCH_MISMATCH[name](lib, t), [a, b], constant=(0,) * factor_only)


@pytest.mark.parametrize("b_batch", [(4,), (2,), (1,), (3, 2)])
def test_ldl_solve_batch_broadcasting(b_batch: tuple) -> None:
    """As above for ldl_solve, checked against linalg.solve (torch 2.13's ldl_solve crashes
    the process on batches that do not broadcast)."""
    a = cr.tensor(_arr((2, 3, 3), seed=1, kind="spd"))
    b = cr.tensor(_arr((*b_batch, 3, 2), seed=2))
    if b_batch[-1] not in (1, 2):
        with pytest.raises(RuntimeError, match="must match the size"):
            cr.linalg.ldl_solve(*cr.linalg.ldl_factor(a), b)
        return
    x = cr.linalg.ldl_solve(*cr.linalg.ldl_factor(a), b)
    np.testing.assert_allclose(x.numpy(), cr.linalg.solve(a, b).numpy(), rtol=1e-10)


@pytest.mark.parametrize("pivots", [[5, 2, 3], [0, 2, 3], [-1, 2, 3], [3, 3, 3]])
def test_lu_solve_pivot_range(pivots: list) -> None:
    lu = _arr((3, 3), seed=1, kind="wellcond")
    b = _arr((3, 1), seed=2)

    def fn(lib: Any, t: list) -> Any:
        return lib.linalg.lu_solve(t[0], lib.tensor(pivots, dtype=lib.int32), t[1])

    _compare(fn, [lu, b])


def test_solve_zero_dim_b() -> None:
    _compare(lambda lib, t: lib.linalg.solve(*t), [_arr((3, 3), kind="wellcond"), np.array(1.0)])


@pytest.mark.parametrize("shape", [(0, 3, 3), (3, 0), (2, 0, 0), (0, 4, 3), (2, 2)])
@pytest.mark.parametrize("op", ["lu", "lu_factor", "lu_factor_ex"])
def test_lu_without_pivoting_empty(shape: tuple, op: str) -> None:
    """Nothing to pivot in an empty input: PyTorch returns it (P empty for linalg.lu)."""
    _compare(lambda lib, t: getattr(lib.linalg, op)(t[0], pivot=False), [np.zeros(shape)])


# ---------------------------------------------------- a sample of the agreeing cases

_SQUARE: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "det": (lambda lib, a: lib.linalg.det(a), "wellcond"),
    "det_singular": (lambda lib, a: lib.linalg.slogdet(a), "sing"),
    "slogdet": (lambda lib, a: lib.linalg.slogdet(a), "wellcond"),
    "logdet": (lambda lib, a: lib.logdet(a), "spd"),
    "inv": (lambda lib, a: lib.linalg.inv(a), "wellcond"),
    "inv_ex_singular": (lambda lib, a: lib.linalg.inv_ex(a).info, "sing"),
    "inv_singular": (lambda lib, a: lib.linalg.inv(a), "sing"),
    "cholesky": (lambda lib, a: lib.linalg.cholesky(a), "spd"),
    "cholesky_upper": (lambda lib, a: lib.linalg.cholesky(a, upper=True), "spd"),
    "cholesky_ex_not_pd": (lambda lib, a: lib.linalg.cholesky_ex(-a).info, "spd"),
    "eigvalsh": (lambda lib, a: lib.linalg.eigvalsh(a), "spd"),
    "eigh_abs": (lambda lib, a: lib.linalg.eigh(a, UPLO="U").eigenvectors.abs(), "spd"),
    "matrix_exp": (lambda lib, a: lib.linalg.matrix_exp(a), "gen"),
    "matrix_power_-2": (lambda lib, a: lib.linalg.matrix_power(a, -2), "wellcond"),
    "matrix_power_3": (lambda lib, a: lib.linalg.matrix_power(a, 3), "gen"),
    "solve": (lambda lib, a: lib.linalg.solve(a, a[..., 0]), "wellcond"),
    "solve_left_false": (lambda lib, a: lib.linalg.solve(a, a[..., :2, :], left=False), "wellcond"),
    "lu_factor": (lambda lib, a: lib.linalg.lu_factor(a).LU, "wellcond"),
    "lu_solve_adjoint": (
        lambda lib, a: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), a, adjoint=True),
        "wellcond",
    ),
    "solve_triangular_unit": (
        lambda lib, a: lib.linalg.solve_triangular(a, a, upper=False, unitriangular=True),
        "gen",
    ),
    "cond_fro": (lambda lib, a: lib.linalg.cond(a, "fro"), "wellcond"),
    "cholesky_inverse": (lambda lib, a: lib.cholesky_inverse(lib.linalg.cholesky(a)), "spd"),
}


@pytest.mark.parametrize("name", sorted(_SQUARE))
@pytest.mark.parametrize("dt", ["f64", "c128"])
def test_square_sample(name: str, dt: str) -> None:
    fn, kind = _SQUARE[name]
    # no gradient at singular inputs (PyTorch: inf/nan; chainrule: LinAlgError) nor for
    # cond with an inverse (PyTorch's own backward fails: an in-place write it checks)
    grad = "singular" not in name and name not in ("cond_fro", "cholesky_ex_not_pd")
    _compare(lambda lib, t: fn(lib, t[0]), [_arr((2, 3, 3), dt, seed=11, kind=kind)], grad)


_RECT: dict[str, Callable[[Any, Any], Any]] = {
    "svdvals": lambda lib, a: lib.linalg.svdvals(a),
    "svd_reconstruct": lambda lib, a: (lambda u, s, vh: (u * s.to(u.dtype).unsqueeze(-2)) @ vh)(
        *lib.linalg.svd(a, full_matrices=False)
    ),
    "qr_reduced": lambda lib, a: (lambda q, r: (q @ r, r.abs()))(*lib.linalg.qr(a)),
    "qr_r": lambda lib, a: lib.linalg.qr(a, mode="r").R.abs(),
    "pinv": lambda lib, a: lib.linalg.pinv(a),
    "pinv_rtol": lambda lib, a: lib.linalg.pinv(a, rtol=0.3),
    "matrix_rank": lambda lib, a: lib.linalg.matrix_rank(a, atol=1.0),
    "lstsq_gelsd": lambda lib, a: lib.linalg.lstsq(a, a[..., :1], driver="gelsd"),
    "lstsq_gels_vector": lambda lib, a: lib.linalg.lstsq(a, a[..., 0], driver="gels").solution,
    "matrix_norm_nuc": lambda lib, a: lib.linalg.matrix_norm(a, "nuc", keepdim=True),
    "matrix_norm_inf": lambda lib, a: lib.linalg.matrix_norm(a, math.inf, dim=(0, 2)),
    "matrix_norm_-2": lambda lib, a: lib.linalg.matrix_norm(a, -2),
    "vector_norm_3": lambda lib, a: lib.linalg.vector_norm(a, 3, dim=(0, -1)),
    "vector_norm_inf": lambda lib, a: lib.linalg.vector_norm(a, math.inf, dim=-1, keepdim=True),
    "vector_norm_0": lambda lib, a: lib.linalg.vector_norm(a, 0),
    "cond": lambda lib, a: lib.linalg.cond(a),
    "householder_product": lambda lib, a: lib.linalg.householder_product(a, a[..., 0, :2]),
    "vecdot": lambda lib, a: lib.linalg.vecdot(a, a.flip(-1)),
    "cross_dim": lambda lib, a: lib.linalg.cross(a[..., :3], a[..., 1:4], dim=-1),
    "diagonal": lambda lib, a: lib.linalg.diagonal(a, offset=-1),
    "vander": lambda lib, a: lib.linalg.vander(a[..., 0], N=4),
    "multi_dot": lambda lib, a: lib.linalg.multi_dot([a[0], a[1].mT, a[0]]),
}


@pytest.mark.parametrize("name", sorted(_RECT))
@pytest.mark.parametrize("dt", ["f64", "c128"])
def test_rectangular_sample(name: str, dt: str) -> None:
    _compare(lambda lib, t: _RECT[name](lib, t[0]), [_arr((2, 5, 3), dt, seed=12)])


_PRODUCTS = [
    ("mm", [(3, 4), (4, 5)]),
    ("mm", [(3, 0), (0, 5)]),
    ("bmm", [(0, 3, 4), (0, 4, 5)]),
    ("matmul", [(3,), (5, 3, 2)]),
    ("matmul", [(2, 1, 3, 4), (5, 4, 2)]),
    ("matmul", [(3,), (4,)]),
    ("mv", [(3, 4), (4,)]),
    ("dot", [(3,), (3,)]),
    ("vdot", [(3,), (3,)]),
    ("inner", [(2, 3), (4, 3)]),
    ("outer", [(3,), (4,)]),
    ("kron", [(2, 1, 3), (3,)]),
]


@pytest.mark.parametrize(("op", "shapes"), _PRODUCTS)
@pytest.mark.parametrize("dt", ["f64", "c128"])
def test_products_sample(op: str, shapes: list, dt: str) -> None:
    ins = [_arr(s, dt, seed=i) for i, s in enumerate(shapes)]
    _compare(lambda lib, t: getattr(lib, op)(*t), ins)


@pytest.mark.parametrize(
    ("sa", "sb", "dims"),
    [((3, 4, 5), (4, 5, 6), 2), ((3, 4, 5), (5, 4), ([1, 2], [1, 0])), ((3, 4), (5, 6), 0)],
)
def test_tensordot_sample(sa: tuple, sb: tuple, dims: Any) -> None:
    _compare(lambda lib, t: lib.tensordot(*t, dims), [_arr(sa), _arr(sb, seed=1)])


def test_tensorinv_tensorsolve_sample() -> None:
    a = (_arr((6, 6)) + 4 * np.eye(6)).reshape(6, 2, 3)
    _compare(lambda lib, t: lib.linalg.tensorinv(t[0], ind=1), [a])
    b = _arr((6,), seed=1)
    _compare(lambda lib, t: lib.linalg.tensorsolve(t[0], t[1], dims=(0,)), [a, b.reshape(2, 3)])


@pytest.mark.parametrize("op", ["pinv", "matrix_rank", "lstsq"])
def test_nan_input_raises_linalg_error(op: str) -> None:
    """A NaN reaches LAPACK's SVD: PyTorch raises (LinAlgError, a RuntimeError); pinv,
    matrix_rank and lstsq let NumPy's LinAlgError (no RuntimeError) out."""
    a = _arr((3, 3))
    a[0, 0] = np.nan
    args = (a, _arr((3, 1))) if op == "lstsq" else (a,)
    _compare(lambda lib, t: getattr(lib.linalg, op)(*t), list(args), grad=False)
    with pytest.raises(cr.linalg.LinAlgError, match=op):
        getattr(cr.linalg, op)(*(cr.tensor(x) for x in args))


@pytest.mark.parametrize("op", ["pinv", "lstsq"])
def test_inf_input_raises_instead_of_hanging(op: str) -> None:
    """LAPACK's gesdd never returns on an inf: pinv and lstsq hung the process. They raise
    LinAlgError now (PyTorch's answers there vary by driver and batch: zeros, NaN, or its
    LinAlgError)."""
    a = np.ones((3, 3))
    a[0, 0] = np.inf
    args = [cr.tensor(a)] + ([cr.tensor(np.ones((3, 1)))] if op == "lstsq" else [])
    with pytest.raises(cr.linalg.LinAlgError, match="non-finite"):
        getattr(cr.linalg, op)(*args)
    assert int(cr.linalg.matrix_rank(cr.tensor(a))) == int(
        torch.linalg.matrix_rank(torch.tensor(a))
    )
