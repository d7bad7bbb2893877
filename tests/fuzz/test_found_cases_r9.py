"""Round 9 of the random-program fuzzer (seeds 820 on, with the steps of ``r9_steps.py``:
newer special functions, index_reduce, the *_scatter ops, take/put, statistics, batched
products and new views): the discrepancies with torch 2.13 found and fixed, as plain
regression tests in the style of ``test_found_cases_r8.py``."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from ._compare import same

__all__: list[str] = []


def _dual(lib: Any, primals: list, tangents: list, f: Any) -> list:
    """``f`` of dual tensors (a None tangent: a plain tensor): the primal result and its
    tangent (zeros where None) and whether it was None."""
    fa = lib.autograd.forward_ad
    with fa.dual_level():
        args = [
            lib.tensor(p) if t is None else fa.make_dual(lib.tensor(p), lib.tensor(t))
            for p, t in zip(primals, tangents)
        ]
        p, t = fa.unpack_dual(f(*args))
        return [p, lib.zeros_like(p) if t is None else t, t is None]


# --- fixed: ops/pointwise_extra.py nextafter's gradient (seed 820) -------------------------

_NA = np.array([0.5, 1.2, 0.0, 1.0, np.inf, np.nan, 3.0])
_NB = np.array([2.0, 1.2, -0.0, 1.0, np.inf, 2.0, np.nan])


def test_nextafter_gradient_passes_where_input_differs_from_other():
    # torch: the gradient passes to input where input != other (0 where equal, the result
    # is other there), zeros to other
    def prog(L):
        a = L.tensor(_NA, requires_grad=True)
        b = L.tensor(_NB, requires_grad=True)
        y = L.nextafter(a, b)
        (y.nan_to_num(0.0, 0.0, 0.0) * L.arange(7.0, dtype=L.float64)).sum().backward()
        return [y, a.grad, b.grad, y.requires_grad, type(y.grad_fn).__name__]

    same(prog)


def test_nextafter_of_itself_has_a_zero_gradient():
    def prog(L):
        a = L.tensor([0.5, -2.0], requires_grad=True)
        L.nextafter(a, a).sum().backward()
        return [a.grad]

    same(prog)


@pytest.mark.parametrize("which", ["input", "other", "both"])
def test_nextafter_tangent_is_input_s(which):
    # the tangent is input's where input != other; other's alone gives none (None)
    ta = None if which == "other" else np.arange(7.0)
    tb = None if which == "input" else np.ones(7)
    same(lambda L: _dual(L, [_NA, _NB], [ta, tb], L.nextafter))


# --- fixed: ops/covariance.py cov/corrcoef of bool (seed 821) ------------------------------


@pytest.mark.parametrize("fn", ["cov", "corrcoef"])
@pytest.mark.parametrize("dtype", ["bool", "float64"])
def test_cov_refuses_bool_input(fn, dtype):
    x = np.array([[True, False, True], [True, True, False]])
    same(lambda L: [getattr(L, fn)(L.tensor(x).to(getattr(L, dtype)))])


# --- fixed: ops/misc_more.py index_reduce of bool and complex (seeds 821-823) -------------


@pytest.mark.parametrize("shape", [(3,), (3, 2), (2, 1, 1, 1)])
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", ["bool", "complex128"])
def test_index_reduce_of_bool_and_complex(shape, reduce, include_self, dtype):
    # torch's CPU kernels: none without include_self nor for 1-d input; beyond 1-d slice by
    # slice, with no bool mean and no complex amax/amin
    x = (np.arange(np.prod(shape)).reshape(shape) % 3).astype(bool)
    s = np.ones((1, *shape[1:]), dtype=bool)

    def prog(L):
        dt = getattr(L, dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: index_reduce() is in beta
            y = L.tensor(x).to(dt).index_reduce(0, L.tensor([1]), L.tensor(s).to(dt), reduce,
                                                 include_self=include_self)  # fmt: skip
        return [L.view_as_real(y) if dtype == "complex128" else y.long()]

    same(prog)


# --- fixed: ops/selection_where.py where with a Python bool beside a bool tensor (seed 823) -


@pytest.mark.parametrize("fn", ["tril", "triu", "where_other", "where_input"])
def test_bool_tensor_with_a_bool_number_stays_bool(fn):
    # a regression of the NumPy-bool-is-a-float rule: the number fitted to the tensor's
    # dtype came back a NumPy bool, read as a float (tril/triu of bool masks gave float32)
    m = np.array([[True, False, True], [True, True, False]])

    def prog(L):
        x = L.tensor(m)
        c = L.tensor([[True, False, False], [False, True, True]])
        y = {
            "tril": lambda: x.tril(-1),
            "triu": lambda: L.triu(x, 1),
            "where_other": lambda: L.where(c, x, False),
            "where_input": lambda: L.where(c, True, x),
        }[fn]()
        return [y.long(), str(y.dtype).split(".")[-1]]

    same(prog)


# --- fixed: ops/index_ops.py, ops/numpy_style.py *_scatter of integer self (seed 823) ------


@pytest.mark.parametrize("op", ["select_scatter", "slice_scatter", "diagonal_scatter"])
@pytest.mark.parametrize("dtype", ["bool", "int64", "float32"])
@pytest.mark.parametrize("grad", [True, False])
def test_scatter_of_a_grad_source_into_an_integer_self_refused(op, dtype, grad):
    # torch: "Autograd not support dtype: Bool" (the result would have to require grad)
    def prog(L):
        x = L.tensor([[1, 0, 1]]).to(getattr(L, dtype))
        s = L.tensor([1.5, 0.0, 2.0], dtype=L.float64, requires_grad=grad)
        y = {
            "select_scatter": lambda: L.select_scatter(x, s, 0, 0),
            "slice_scatter": lambda: L.slice_scatter(x, s[None], 0, 0),
            "diagonal_scatter": lambda: L.diagonal_scatter(x, s[:1], 0),
        }[op]()
        return [y.double(), y.requires_grad]

    same(prog)


# --- fixed: ops/trig.py atan2's tangent at the origin (seed 824) ---------------------------


@pytest.mark.parametrize("which", ["input", "other", "both"])
def test_atan2_tangent_at_the_origin_is_nan(which):
    # torch's forward rule (b ta - a tb) / (a^2 + b^2) is not masked at 0 (its gradient is)
    a = np.array([0.0, 1.0, 0.0, 0.0])
    b = np.array([0.0, 0.0, 2.0, 0.0])
    ta = None if which == "other" else np.ones(4)
    tb = None if which == "input" else np.full(4, 2.0)
    same(lambda L: _dual(L, [a, b], [ta, tb], L.atan2))


def test_atan2_gradient_at_the_origin_stays_zero():
    def prog(L):
        a = L.tensor([0.0, 1.0], requires_grad=True)
        b = L.tensor([0.0, 0.0], requires_grad=True)
        L.atan2(a, b).sum().backward()
        return [a.grad, b.grad]

    same(prog)


# --- fixed: ops/_misc_more_root.py histogram over a range a few ulps wide (seed 822) -------


@pytest.mark.parametrize("bins", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("density", [False, True])
def test_histogram_of_values_an_ulp_apart(bins, dtype, density):
    # NumPy refuses bins narrower than an ulp; torch counts with its linspace edges (equal
    # edges included) and its local search around a linear estimate of the bin
    v = {
        "float64": [-0.7252011829996848, -0.7252011829996847, -0.7252011829996848],
        "float32": [1.0, 1.0000001, 1.0000001, 1.0],
    }[dtype]

    def prog(L):
        x = L.tensor(v, dtype=getattr(L, dtype))
        w = L.arange(1.0, len(v) + 1, dtype=x.dtype)
        h, e = L.histogram(x, bins=bins, density=density)
        hw = L.histogram(x, bins=bins, weight=w)[0]
        return [h.nan_to_num(0.0, 1.0, 1.0), e, hw]

    same(prog)


# --- fixed: ops/search.py histc in the data's dtype (seed 832) -----------------------------


@pytest.mark.parametrize("value", [-0.27718145, 0.3, 0.0, 1e-6])
@pytest.mark.parametrize("bins", [2, 3, 7])
def test_histc_of_float32_bins_in_float32(value, bins):
    # torch's position (x - min) * bins / (max - min) is float32 arithmetic for float32 data
    same(lambda L: [L.histc(L.tensor([value, value / 3], dtype=L.float32), bins=bins)])


# --- fixed: ops/pointwise_more.py frexp of a 0-d tensor (seed 829) -------------------------


def test_frexp_of_a_0d_tensor_is_writable():
    def prog(L):
        m, e = L.frexp(L.tensor(0.75, dtype=L.float64))
        e.scatter_reduce_(0, L.tensor(0), L.tensor(3, dtype=L.int32), "sum")
        m.mul_(2)
        return [m, e]

    same(prog)


# --- fixed: scalar_range.py a negative float into an unsigned tensor (seed 825) ------------


@pytest.mark.parametrize("value", [-1.5, -1, -0.5, -0.0, 2.5])
@pytest.mark.parametrize("op", ["masked_fill_", "fill_", "full", "setitem"])
def test_negative_float_into_uint8_refused(value, op):
    # torch wraps a negative integer around but refuses a negative float (-0.5 included)
    def prog(L):
        x = L.zeros(2, dtype=L.uint8)
        if op == "masked_fill_":
            x.masked_fill_(L.tensor([True, False]), value)
        elif op == "fill_":
            x.fill_(value)
        elif op == "full":
            x = L.full((2,), value, dtype=L.uint8)
        else:
            x[0] = value
        return [x.long()]

    same(prog)


# --- fixed: ops/pooling.py avg_pool of small ints, ops/conv.py dilated (seeds 827, 831, 835)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8"])
@pytest.mark.parametrize(
    "op", ["avg_pool1d", "avg_pool2d", "conv2d", "conv2d_dilated", "conv1d_dilated"]
)
def test_integer_pooling_and_dilated_conv_dtypes(dtype, op):
    # torch's CPU kernels: avg_pool and dilated conv2d take int64 only among the integers
    def prog(L):
        F = L.nn.functional
        x = (L.arange(25).reshape(1, 1, 5, 5) % 4).to(getattr(L, dtype))
        w = L.ones(1, 1, 2, 2, dtype=getattr(L, dtype))
        y = {
            "avg_pool1d": lambda: F.avg_pool1d(x[0], 2),
            "avg_pool2d": lambda: F.avg_pool2d(x, 2),
            "conv2d": lambda: F.conv2d(x, w),
            "conv2d_dilated": lambda: F.conv2d(x, w, dilation=(1, 2)),
            "conv1d_dilated": lambda: F.conv1d(x[0], w[0, :, 0], dilation=2),
        }[op]()
        return [y.long()]

    same(prog)


# --- fixed: ops/index_ops.py select/slice_scatter of complex tensors needing grad (832) ----


@pytest.mark.parametrize("op", ["select_scatter", "slice_scatter", "diagonal_scatter"])
@pytest.mark.parametrize("which", ["self", "src", "neither"])
def test_complex_scatter_with_grad(op, which):
    # torch: select/slice_scatter have no complex derivative (refused), diagonal_scatter has
    def prog(L):
        x = L.zeros(2, 2, dtype=L.complex128, requires_grad=which == "self")
        s = L.tensor([1.0 + 1j, 2.0], requires_grad=which == "src")
        y = {
            "select_scatter": lambda: L.select_scatter(x, s, 0, 0),
            "slice_scatter": lambda: L.slice_scatter(x, s[None], 0, 0, 1),
            "diagonal_scatter": lambda: L.diagonal_scatter(x, s * 1),
        }[op]()
        return [L.view_as_real(y.detach()), y.requires_grad]

    same(prog)


# --- fixed: ops/_pointwise_special.py mvlgamma of bool (seed 840) --------------------------


@pytest.mark.parametrize("dtype", ["bool", "int64", "float64"])
@pytest.mark.parametrize("fn", ["mvlgamma", "multigammaln"])
def test_mvlgamma_refuses_bool(dtype, fn):
    def prog(L):
        x = L.tensor([3, 4]).to(getattr(L, dtype))
        f = L.mvlgamma if fn == "mvlgamma" else L.special.multigammaln
        return [f(x, 2)]

    same(prog)


# --- fixed: ops/index_ops.py index_fill of a real tensor with a complex 0-d value (842) ----


@pytest.mark.parametrize("value", [1 + 0j, 1 + 2j, 2.0])
@pytest.mark.parametrize("dtype", ["float32", "complex64"])
def test_index_fill_with_a_complex_tensor_value(value, dtype):
    # torch refuses a complex value tensor for a real tensor, even with imaginary part 0
    def prog(L):
        x = L.zeros(2, dtype=getattr(L, dtype))
        x.index_fill_(0, L.tensor([0]), L.tensor(value))
        return [L.view_as_real(x) if x.is_complex() else x]

    same(prog)
