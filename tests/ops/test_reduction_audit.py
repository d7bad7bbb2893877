"""Reductions, order statistics, sorting, scans and counting against PyTorch: an audit.

Each case runs the same call on chainrule and on torch over the same array (contiguous, or a
transposed / stepped view of it) and compares the results' shapes, dtypes and values (NaN
included), the error type where torch raises, and, for float inputs, the gradients of a
weighted sum of the differentiable outputs.

The first part holds what the audit found broken (fixed with this file): the descending sort
of integers negated with wrap-around (``-(-128)`` is -128 in int8, ``-1`` is 255 in uint8)
and of bools (NumPy has no ``-`` for them); ``unique`` merging NaNs; ``var(x, True)``
refused; bool input accepted by ``argmax``/``argmin``/``topk``/``median``/``kthvalue``, which
PyTorch refuses; the SVD behind ``norm(p='nuc')`` hanging on inf. The second part is a sample
of the cases that already agreed, so that they stay that way.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

_RNG = np.random.default_rng(7)
NAN, INF = float("nan"), float("inf")


def _f32(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape).astype(np.float32)


def _with(a: np.ndarray, **where: float) -> np.ndarray:
    """``a`` with entries set: ``_with(a, i0_1=nan)`` sets a[0, 1]."""
    a = a.copy()
    for key, value in where.items():
        a[tuple(int(i) for i in key[1:].split("_"))] = value
    return a


ARRAYS = {
    "f32": _f32(3, 4),
    "f32_3d": _f32(2, 3, 4),
    "f64": _RNG.standard_normal((3, 4)),
    "f16": _f32(3, 4).astype(np.float16),
    "ties": np.array([[1, 3, 3, 0], [2, 2, 1, 1], [5, 5, 5, 5]], np.float32),
    "nan": _with(_f32(3, 4), i0_1=NAN, i2_3=NAN),
    "inf": _with(_f32(3, 4), i1_2=INF, i0_0=-INF),
    "zeros": np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0], [1.0, 2.0, -1.0]], np.float32),
    "i64": _RNG.integers(-5, 6, (3, 4)),
    "i8ext": np.array([[-128, 127, 0, -1], [5, -128, 3, 3]], np.int8),
    "i64ext": np.array([[-(2**63), 2**63 - 1, 0], [1, -1, -(2**63)]], np.int64),
    "u8": np.array([[0, 255, 1, 1], [2, 0, 200, 0]], np.uint8),
    "bool": np.array([[True, False, True, True], [False, False, True, False]]),
    "0d": np.array(1.5, np.float32),
    "1d": _f32(5),
    "empty": np.zeros((0, 3), np.float32),
}


def _view(lib, t, layout: str):
    if layout == "T":
        return t.transpose(0, 1)
    if layout == "step":
        return t[::2]
    return t


def _outputs(out) -> list:
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _outputs(o)]
    return [out]


def _run(lib, fn, array: np.ndarray, layout: str, grad: bool):
    """(outputs, gradient of the input or None), or ("raised", exception)."""
    x = lib.tensor(array.copy(), requires_grad=grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # var's degrees-of-freedom warning, in both
        try:
            out = fn(lib, _view(lib, x, layout))
        except Exception as err:  # noqa: BLE001 - compared with torch's below
            return "raised", err
        leaves = _outputs(out)
        if not grad:
            return leaves, None
        weighted = [
            (
                o
                * lib.tensor(np.linspace(-1.0, 2.0, o.numel()).reshape(tuple(o.shape))).to(o.dtype)
            ).sum()
            for o in leaves
            if o.requires_grad
        ]
        if weighted:
            sum(weighted).backward()
    return leaves, x.grad


def _numpy(t) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _same(c, t, what: str) -> None:
    assert tuple(c.shape) == tuple(t.shape), (what, tuple(c.shape), tuple(t.shape))
    assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (what, c.dtype, t.dtype)
    a, b = _numpy(c), _numpy(t)
    if b.dtype.kind == "f":
        rtol = {2: 2e-3, 4: 2e-5}.get(b.dtype.itemsize, 1e-10)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol / 10, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def check(fn, name: str, layout: str = "id", differentiable: bool = True) -> None:
    """``fn(lib, x)`` on ``ARRAYS[name]`` (viewed by ``layout``) agrees with torch."""
    array = ARRAYS[name]
    grad = differentiable and array.dtype.kind == "f"
    t_out, t_grad = _run(torch, fn, array, layout, grad)
    c_out, c_grad = _run(cr, fn, array, layout, grad)
    if t_out == "raised":
        assert c_out == "raised", f"torch raised {t_grad!r}, chainrule returned {c_out}"
        assert isinstance(c_grad, type(t_grad)) or (
            isinstance(t_grad, RuntimeError) and isinstance(c_grad, RuntimeError)
        ), (t_grad, c_grad)
        return
    assert c_out != "raised", f"chainrule raised {c_grad!r} where torch computes"
    assert len(c_out) == len(t_out)
    for i, (c, t) in enumerate(zip(c_out, t_out)):
        _same(c, t, f"output {i}")
    if t_grad is None:
        assert c_grad is None
    else:
        _same(c_grad, t_grad, "gradient")


# --------------------------------------------------------------- fixed by this audit


def _topk_checked(lib, x, k: int, dim: int):
    values, indices = lib.topk(x, k, dim)
    return values, lib.gather(x, dim, indices)


_DESCENDING = {
    "sort_desc": lambda L, x: L.sort(x, dim=-1, descending=True, stable=True),
    "sort_desc_dim0": lambda L, x: L.sort(x, dim=0, descending=True, stable=True),
    "argsort_desc": lambda L, x: L.argsort(x, dim=-1, descending=True, stable=True),
    # topk's order among ties is unspecified: its values, and the input read at its indices
    "topk_2": lambda L, x: _topk_checked(L, x, 2, -1),
    "topk_1_dim0": lambda L, x: _topk_checked(L, x, 1, 0),
    "msort": lambda L, x: L.msort(x),
    "sort_desc_method": lambda L, x: x.sort(descending=True, stable=True),
}


@pytest.mark.parametrize("name", ["i8ext", "i64ext", "u8", "bool", "nan", "inf"])
@pytest.mark.parametrize("op", list(_DESCENDING))
@pytest.mark.parametrize("layout", ["id", "T"])
def test_descending_order_of_integers_and_bools(op, name, layout):
    """``~x`` reverses integer and bool orders without wrapping (was ``-x``: wrong for the
    most negative signed value and every unsigned one, a NumPy TypeError for bool; topk of
    bool is a RuntimeError in both)."""
    check(_DESCENDING[op], name, layout)


_UNIQUE = {
    "plain": lambda L, x: L.unique(x),
    "inverse_counts": lambda L, x: L.unique(x, return_inverse=True, return_counts=True),
    "unsorted": lambda L, x: L.unique(x, sorted=False, return_counts=True),
    "consecutive": lambda L, x: L.unique_consecutive(x, return_inverse=True, return_counts=True),
}


@pytest.mark.parametrize("name", ["nan", "f32", "ties", "i64", "bool"])
@pytest.mark.parametrize("op", list(_UNIQUE))
def test_unique_keeps_each_nan(op, name):
    """Each NaN is a value of its own (NaN != NaN), sorted last, as torch.unique (NumPy's
    default merged them into one)."""
    check(_UNIQUE[op], name, differentiable=False)  # (torch: no derivative for unique)


def test_unique_all_nan_counts():
    x = np.array([NAN, 1.0, NAN, NAN], np.float32)
    values, inverse, counts = cr.unique(cr.tensor(x), return_inverse=True, return_counts=True)
    tv, ti, tc = torch.unique(torch.tensor(x), return_inverse=True, return_counts=True)
    assert values.shape == tv.shape == (4,)
    np.testing.assert_array_equal(inverse.numpy(), ti.numpy())
    np.testing.assert_array_equal(counts.numpy(), tc.numpy())


_POSITIONAL_UNBIASED = {
    "var_true": lambda L, x: L.var(x, True),
    "var_false": lambda L, x: L.var(x, False),
    "std_true": lambda L, x: L.std(x, True),
    "std_false": lambda L, x: L.std(x, False),
    "method_var_false": lambda L, x: x.var(False),
    "method_std_true": lambda L, x: x.std(True),
    "var_dim_unbiased": lambda L, x: L.var(x, 0, False, True),
    "std_mean_false": lambda L, x: L.std_mean(x, False),
}


@pytest.mark.parametrize("name", ["f32", "f64", "i64", "0d"])
@pytest.mark.parametrize("op", list(_POSITIONAL_UNBIASED))
def test_var_std_positional_unbiased(op, name):
    """``var(input, unbiased)``: PyTorch's second overload (a bool second argument is
    ``unbiased``, not ``dim``); chainrule raised TypeError."""
    check(_POSITIONAL_UNBIASED[op], name)


_BOOL_REFUSED = {
    "argmax": lambda L, x: L.argmax(x),
    "argmax_dim": lambda L, x: L.argmax(x, dim=1, keepdim=True),
    "argmin": lambda L, x: x.argmin(),
    "argmin_bad_dim": lambda L, x: L.argmin(x, dim=5),
    "topk": lambda L, x: L.topk(x, 1, largest=False),
    "median": lambda L, x: L.median(x),
    "median_dim": lambda L, x: L.median(x, 0),
    "median_bad_dim": lambda L, x: L.median(x, 5),
    "nanmedian_dim": lambda L, x: L.nanmedian(x, -1, True),
    "kthvalue": lambda L, x: L.kthvalue(x, 1, 0),
    "kthvalue_bad_dim": lambda L, x: L.kthvalue(x, 1, 5),
    # what PyTorch does compute on bool
    "max_dim": lambda L, x: L.max(x, 1),
    "mode": lambda L, x: L.mode(x, 0),
    "amax": lambda L, x: L.amax(x, 0),
    "aminmax": lambda L, x: L.aminmax(x),
    "sort": lambda L, x: L.sort(x, stable=True),
}


@pytest.mark.parametrize("op", list(_BOOL_REFUSED))
def test_bool_input_refused_where_torch_has_no_kernel(op):
    check(_BOOL_REFUSED[op], "bool")


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.median(L.zeros(0, dtype=L.bool)),  # the empty median: True
        lambda L: L.nanmedian(L.zeros(0, dtype=L.bool)),
        lambda L: L.kthvalue(L.tensor(True), 1),  # a 0-d tensor is its own k-th value
    ],
)
def test_bool_cases_torch_still_answers(fn):
    c, t = fn(cr), fn(torch)
    for a, b in zip(_outputs(c), _outputs(t)):
        _same(a, b, "bool")


_NON_FINITE_SVD = """
import numpy as np
import chainrule as cr
a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
a[1, 2], a[0, 0] = np.inf, -np.inf
x = cr.tensor(a, requires_grad=True)
y = cr.norm(x, p="nuc")
y.backward()
u, s, vh = cr.linalg.svd(cr.tensor(a.astype(np.float64)))
print(float(y), bool(x.grad.isnan().all()), tuple(u.shape), tuple(vh.shape), bool(s.isnan().all()))
"""


def test_nuclear_norm_of_inf_returns_nan_instead_of_hanging():
    """LAPACK's gesdd never returns on a matrix holding inf (U and V wanted): the process
    hung. PyTorch returns NaN factors there; so does chainrule now. Run in a child process
    with a timeout, so that a regression fails instead of hanging the suite."""
    out = subprocess.run(
        [sys.executable, "-c", _NON_FINITE_SVD], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["nan", "True", "(3,", "3)", "(4,", "4)", "True"]
    t = torch.tensor(np.array([[1.0, INF], [2.0, 3.0]]))
    assert torch.linalg.svdvals(t).isnan().all()


@pytest.mark.parametrize(
    "fn",
    [
        lambda L, x: L.linalg.svd(x),
        lambda L, x: L.linalg.svdvals(x),
        lambda L, x: L.norm(x, p="nuc"),
        lambda L, x: L.linalg.matrix_norm(x, 2),
    ],
)
def test_svd_of_nan_raises_linalg_error(fn):
    """A NaN entry: PyTorch's LinAlgError (a RuntimeError), not NumPy's own LinAlgError."""
    a = _with(_f32(3, 4), i1_2=NAN)
    with pytest.raises(RuntimeError, match="non-finite"):
        fn(torch, torch.tensor(a))
    with pytest.raises(RuntimeError, match="non-finite"):
        fn(cr, cr.tensor(a))


# --------------------------------------------------------- a sample that already agreed

_DIMS = [{}, {"dim": 0}, {"dim": -1, "keepdim": True}, {"dim": (0, 1)}, {"dim": []}]

_AGREED = {}
for _op in ("sum", "mean", "nansum", "nanmean", "amax", "amin", "logsumexp_"):
    for _i, _kw in enumerate(_DIMS):
        _name = _op.rstrip("_")
        if _name == "logsumexp" and ("dim" not in _kw or _kw["dim"] == []):
            continue  # (torch's logsumexp(dim=[]) raises an internal shape error)
        _AGREED[f"{_name}_{_i}"] = lambda L, x, n=_name, kw=_kw: getattr(L, n)(x, **kw)
for _i, _kw in enumerate(
    [{}, {"dim": 0}, {"dim": -1, "correction": 0}, {"dim": (0, 1), "unbiased": False},
     {"dim": 0, "correction": 2, "keepdim": True}]
):  # fmt: skip
    for _op in ("var", "std", "var_mean", "std_mean"):
        _AGREED[f"{_op}_{_i}"] = lambda L, x, n=_op, kw=_kw: getattr(L, n)(x, **kw)
_AGREED.update(
    {
        "sum_dtype_f64": lambda L, x: L.sum(x, dtype=L.float64),
        "prod": lambda L, x: L.prod(x),
        "prod_dim": lambda L, x: L.prod(x, 0, keepdim=True),
        "max": lambda L, x: L.max(x),
        "max_dim": lambda L, x: L.max(x, 0),
        "min_dim_keep": lambda L, x: L.min(x, -1, keepdim=True),
        "argmax_dim": lambda L, x: L.argmax(x, 0),
        "argmin": lambda L, x: L.argmin(x),
        "aminmax_dim": lambda L, x: L.aminmax(x, dim=0),
        "all_dim": lambda L, x: L.all(x, 0),
        "any_tuple": lambda L, x: L.any(x, (0, 1)),
        "count_nonzero": lambda L, x: L.count_nonzero(x, 0),
        "norm": lambda L, x: L.norm(x),
        "norm_1": lambda L, x: L.norm(x, 1, 0),
        "norm_inf": lambda L, x: L.norm(x, INF, -1),
        "norm_3": lambda L, x: L.norm(x, 3, 0, True),
        "norm_half": lambda L, x: L.norm(x, 0.5),
        "median": lambda L, x: L.median(x),
        "median_dim": lambda L, x: L.median(x, 0),
        "nanmedian_dim": lambda L, x: L.nanmedian(x, -1),
        "mode": lambda L, x: L.mode(x, 0),
        "quantile": lambda L, x: L.quantile(x, 0.3),
        "quantile_dim": lambda L, x: L.quantile(x, 0.75, 0, interpolation="nearest"),
        "nanquantile_q": lambda L, x: L.nanquantile(
            x, L.tensor([0.1, 0.5, 0.9], dtype=x.dtype), -1, True, interpolation="midpoint"
        ),
        "kthvalue": lambda L, x: L.kthvalue(x, 2, 0),
        "topk": lambda L, x: L.topk(x, 2, 0, largest=False).values,
        "sort": lambda L, x: L.sort(x, dim=0, stable=True),
        "cummax": lambda L, x: L.cummax(x, 0),
        "cummin": lambda L, x: L.cummin(x, -1),
        "cumsum": lambda L, x: L.cumsum(x, 0),
        "cumprod": lambda L, x: L.cumprod(x, -1),
        "cumsum_dtype": lambda L, x: L.cumsum(x, 0, dtype=L.float64),
    }
)


# Known, documented differences left out of the sample:
# - amax/amin/aminmax along a slice holding NaN: torch's gradient is NaN over the whole slice
#   (0/0 from its tie count); chainrule routes it to the NaNs (extremes._extreme_mask), as
#   torch's own max() / max(dim) do.
# - var_mean/std_mean's mean of a slice holding inf: torch's Welford update gives NaN
#   (inf - inf); chainrule gives +-inf, as torch.mean does.
# - mode of a slice mixing NaN and numbers, kthvalue among ties: implementation-defined in
#   torch (see their docstrings in ops/order_statistics.py).
_KNOWN = {
    ("amax", "nan"), ("amin", "nan"), ("aminmax", "nan"), ("var_mean", "inf"),
    ("std_mean", "inf"), ("mode", "nan"), ("kthvalue", "zeros"),
}  # fmt: skip
_SAMPLE = [
    (op, name)
    for op in _AGREED
    for name in ("f32", "nan", "inf", "zeros", "i64", "empty", "0d")
    if (op.rsplit("_", 1)[0] if op[-1].isdigit() else op.split("_")[0], name) not in _KNOWN
]


@pytest.mark.parametrize(("op", "name"), _SAMPLE)
def test_reductions_agree(op, name):
    check(_AGREED[op], name)


@pytest.mark.parametrize("name", ["f32_3d", "ties", "f16", "f64", "u8", "1d"])
@pytest.mark.parametrize(
    "op", ["sum_2", "mean_3", "var_1", "std_mean_3", "amax_2", "max_dim", "median_dim",
           "quantile", "cumprod", "sort", "prod_dim", "norm_3"]
)  # fmt: skip
@pytest.mark.parametrize("layout", ["id", "T", "step"])
def test_reductions_agree_on_views(op, name, layout):
    if layout == "T" and ARRAYS[name].ndim < 2:
        pytest.skip("a transposed view needs two dims")
    check(_AGREED[op], name, layout)
