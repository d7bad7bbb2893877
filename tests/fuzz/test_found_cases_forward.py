"""Fuzzer findings (split from ``test_found_cases.py``), session 29: dtypes, forward-mode
tangents and NaN gradients. Each case is a small program run on torch and chainrule whose
results (or raising) must agree; open ones are ``xfail(strict=True)``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from ._found import forward as _fw
from ._found import same as _same
from ._found import tensor as _t

__all__: list[str] = []


# --- found with the dtype, forward-mode and extra-step dimensions (session 29) -----------


@pytest.mark.parametrize("op", ["remainder", "fmod"])
def test_tangent_of_remainder_and_fmod(op):
    # fixed: src/chainrule/ops/rounded_division.py (the tangent was dropped: None)
    _same(lambda lib: _fw(lib, lambda lib, x: getattr(lib, op)(x, 0.7), [1.5, -2.5], [1.0, 3.0]))


def test_tangent_of_a_rounded_division_is_zeros():
    # fixed: src/chainrule/ops/no_derivative.py (RoundedDivision: None instead of zeros)
    _same(lambda lib: _fw(lib, lambda lib, x: lib.div(x, 0.7, rounding_mode="floor"), [1.5], [1.0]))


@pytest.mark.parametrize("op", ["floor", "ceil", "round", "trunc", "sign"])
def test_rounding_stops_a_nan_gradient(op):
    # fixed: src/chainrule/ops/rounding.py (the rule was g * 0, NaN for a NaN g)
    def program(lib):
        x = _t(lib, [-1.3, 0.4])
        (getattr(x, op)() * float("nan")).sum().backward()
        return [x.grad]

    _same(program)


@pytest.mark.parametrize("op", ["max", "min", "median"])
def test_whole_tensor_extreme_sends_a_nan_gradient_to_the_extreme_only(op):
    # fixed: src/chainrule/ops/extremes.py and order_statistics.py (grad * mask spread a NaN
    # gradient to every element; PyTorch writes it into zeros)
    def program(lib):
        x = _t(lib, [3.0, 1.0, 2.0])
        (getattr(x, op)() * float("nan")).backward()
        return [x.grad, x.amax().grad_fn.name() == "AmaxBackward0"]

    _same(program)


def test_tangent_of_where_on_a_mean_keeps_its_dtype():
    # fixed: src/chainrule/autograd/forward_tangents.py (mean's tangent was a NumPy scalar,
    # where() then made a float32 tangent)
    def program(lib):
        out = _fw(lib, lambda lib, x: lib.where(x.mean() > 0, x.mean(), x.mean()), 1.5, 1.0)
        return out + [str(out[1].dtype)]

    _same(program)


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_tangent_of_scatter_reduce_without_self_that_ties(reduce):
    # fixed: src/chainrule/ops/scatter_reduce.py (the excluded self was counted as a tie in
    # the tangent; PyTorch's backward counts it, its forward mode does not)
    def program(lib, x):
        return x.scatter_reduce(0, lib.tensor([0, 1]), x + 0, reduce, include_self=False)

    _same(lambda lib: _fw(lib, program, [1.0, 2.0], [1.0, 10.0]))


@pytest.mark.parametrize(
    "op",
    [
        lambda lib, b: b.abs(),
        lambda lib, b: b @ b,
        lambda lib, b: lib.addcmul(b, b, b),
        lambda lib, b: b.scatter_reduce(0, lib.tensor([0, 0]), b, "mean"),
    ],
)
def test_bool_tensors_where_torch_has_no_kernel(op):
    # fixed: src/chainrule/ops/unary.py, linalg.py, pointwise_extra.py, scatter_reduce.py
    _same(lambda lib: [op(lib, lib.tensor([True, False]))])


def test_max_along_a_dim_of_a_zero_dim_bool_tensor_keeps_bool():
    # fixed: src/chainrule/ops/extremes.py (x * 1 made it int64)
    _same(lambda lib: [str(lib.tensor(True).max(0)[0].dtype)])


@pytest.mark.parametrize("op", ["masked_fill", "index_fill"])
def test_fill_of_an_integer_tensor_with_a_value_that_requires_grad(op):
    # fixed: src/chainrule/ops/indexing.py, index_ops.py (PyTorch raises "Autograd not
    # support dtype"; chainrule filled quietly)
    def program(lib):
        x, v = lib.tensor([1, 2]), _t(lib, 0.5)
        if op == "masked_fill":
            return [x.masked_fill(lib.tensor([True, False]), v)]
        return [x.index_fill(0, lib.tensor([0]), v)]

    _same(program)


def test_setitem_into_a_bool_tensor_from_a_value_that_requires_grad():
    # fixed: src/chainrule/ops/subscript.py (chainrule refused; PyTorch converts the value)
    def program(lib):
        x = lib.tensor([True, False])
        x[0] = _t(lib, 0.0)
        return [x, x.requires_grad]

    _same(program)


@pytest.mark.parametrize("op", ["remainder", "fmod"])
def test_remainder_of_a_bool_tensor_by_one_that_requires_grad(op):
    # fixed: src/chainrule/ops/rounded_division.py (bool - q * y raised)
    def program(lib):
        y = _t(lib, [0.7, -0.4])
        r = getattr(lib, op)(lib.tensor([True, False]), y)
        r.sum().backward()
        return [r, y.grad]

    _same(program)


def test_scatter_reduce_prod_in_place_with_a_zero():
    # fixed: src/chainrule/ops/scatter_reduce.py (the node saved self, which the in-place
    # op then overwrote: backward raised "modified by an inplace operation")
    def program(lib):
        x = _t(lib, [0.0, 2.0])
        w = x * 1
        w.scatter_reduce_(0, lib.tensor([0, 0]), _t(lib, [3.0, 4.0], False), "prod")
        w.sum().backward()
        return [w, x.grad]

    _same(program)


def test_transpose_in_place_of_a_squeeze_that_removed_nothing():
    # fixed: src/chainrule/ops/views.py (squeeze returned x itself, so transpose_ of the
    # "view" transposed x)
    def program(lib):
        x = lib.tensor([[1.0, 2.0]])
        s = x.squeeze(1)
        s.transpose_(0, 1)
        return [str(tuple(x.shape)), str(tuple(s.shape)), s is x]

    _same(program)


def test_tangent_of_the_product_of_an_empty_tensor():
    # fixed: src/chainrule/ops/reduction.py (_prod_others raised IndexError)
    _same(lambda lib: _fw(lib, lambda lib, x: x.prod(), np.zeros(0), np.zeros(0)))


def test_lerp_with_a_0d_bool_or_integer_weight_is_a_number():
    """A 0-d bool or integer weight is read as a number (lerp_ found it: chainrule computed
    ``1 - weight`` on the bool tensor and raised)."""
    for w in (True, False, 1, 0):
        outs = []
        for lib in (torch, cr):
            x = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
            y = lib.lerp(x, lib.zeros(2, 2), lib.tensor(w))
            z = x.clone().lerp_(lib.zeros(2, 2), lib.tensor(w))
            outs.append((y.tolist(), str(y.dtype).replace("torch.", ""), z.tolist()))
        assert outs[0] == outs[1]


# --- found by the hunter with NaNs from negative bases to fractional powers (session 29) --


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_tangent_of_the_variance_of_an_empty_tensor(correction):
    # fixed: src/chainrule/ops/fused_statistics.py (Var.jvp: 0 / 0, NaN; torch's is 0)
    _same(lambda lib: _fw(lib, lambda lib, x: x.var(correction=correction), np.zeros(0), []))


@pytest.mark.parametrize("shape", [(0,), (2, 0)])
def test_tangent_of_the_logsumexp_of_an_empty_tensor(shape):
    # fixed: src/chainrule/ops/fused_statistics.py (Logsumexp.jvp gave 0; torch's is NaN)
    _same(lambda lib: _fw(lib, lambda lib, x: x.logsumexp(-1), np.zeros(shape), np.zeros(shape)))


@pytest.mark.parametrize("op", ["scatter", "scatter_value", "scatter_", "index_copy"])
def test_overwritten_positions_get_no_nan_gradient(op):
    # fixed: src/chainrule/ops/gather_scatter.py (Scatter.backward multiplied the gradient
    # by a 0/1 mask: NaN * 0 reached the overwritten positions)
    def program(lib):
        x = _t(lib, [1.0, 2.0, 3.0])
        i, src = lib.tensor([1]), _t(lib, [5.0])
        if op == "scatter":
            y = x.scatter(0, i, src)
        elif op == "scatter_value":
            y = x.scatter(0, i, 5.0)
        elif op == "scatter_":
            y = (x * 1).scatter_(0, i, src)
        else:
            y = x.index_copy(0, i, src)
        (y * _t(lib, [float("nan")] * 3, False)).sum().backward()
        return [y, x.grad]

    _same(program)


@pytest.mark.parametrize("bounds", ["min", "max", "both"])
@pytest.mark.parametrize("nan_at", ["x", "bound"])
def test_tangent_of_clamp_by_tensors_at_nan_and_ties(bounds, nan_at):
    # fixed: src/chainrule/ops/clamping.py (ClampTensor.jvp used the backward's masks, in
    # which a NaN compares into none: torch's tangent picks the bound's, a tie too)
    nan = float("nan")
    xs = [nan, 0.0, 1.0, 2.0] if nan_at == "x" else [0.5, 0.0, 1.0, 2.0]
    lo = [0.0, 0.0, 2.0, 1.0] if nan_at == "x" else [nan, 0.0, 2.0, 1.0]
    hi = [2.0, 0.0, 1.0, 2.0] if nan_at == "x" else [nan, 0.0, 1.0, 2.0]

    def program(lib):
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            x = fwad.make_dual(_t(lib, xs, False), _t(lib, [1.0] * 4, False))
            a = fwad.make_dual(_t(lib, lo, False), _t(lib, [10.0] * 4, False))
            b = fwad.make_dual(_t(lib, hi, False), _t(lib, [100.0] * 4, False))
            kw = {"min": {"min": a}, "max": {"max": b}, "both": {"min": a, "max": b}}[bounds]
            return [fwad.unpack_dual(lib.clamp(x, **kw)).tangent]

    _same(program)


def test_tangent_of_amax_with_a_nan_tangent_elsewhere():
    # fixed: src/chainrule/ops/extremes.py (Amax.jvp summed t * share: a NaN tangent of a
    # non-maximal element reached the result; torch's amax keeps it out, while its max()
    # and inf-norms let it in: extremes.AmaxSpread)
    def program(lib):
        outs = []
        for f in (
            lambda x: x.amax(),
            lambda x: x.reshape(1, 3).amin(1),
            lambda x: x.max(),
            lambda x: x.norm(float("inf")),
            lambda x: lib.linalg.vector_norm(x, float("-inf")),
        ):
            outs += _fw(lib, lambda lib, x, f=f: f(x), [1.0, 3.0, -3.0], [float("nan"), 1.0, 2.0])
        return outs

    _same(program)


@pytest.mark.parametrize("exponent", ["tensor", "number", "in_place"])
def test_zeroth_power_stops_a_nan_gradient_and_tangent(exponent):
    # fixed: src/chainrule/ops/power.py (Pow.chain_a was g * 0 where the exponent is 0,
    # NaN for a NaN g; torch writes 0 there). Found as x.pow(x.round()) of a negative x
    # then used as an exponent of a negative base.
    def f(lib, x):
        if exponent == "number":
            return x.pow(0.0)
        e = lib.tensor([0.0, 0.0, 1.0], dtype=lib.float64)
        return x.pow(e) if exponent == "tensor" else (x * 1).pow_(e)

    def program(lib):
        x = _t(lib, [-0.5, 0.0, 2.0])
        (f(lib, x) * float("nan")).sum().backward()
        return [x.grad, *_fw(lib, f, [-0.5, 0.0, 2.0], [float("nan")] * 3)]

    _same(program)


@pytest.mark.parametrize("nan_at", [0, 1, 2])
def test_tangent_of_logcumsumexp_with_a_nan_tangent(nan_at):
    # fixed: src/chainrule/ops/cumulative_extremes.py (the tangent, split into its positive
    # and negative parts, dropped a NaN: 0 where torch gives NaN from there on)
    tangent = [1.0, 2.0, 3.0]
    tangent[nan_at] = float("nan")
    _same(lambda lib: _fw(lib, lambda lib, x: x.logcumsumexp(0), [1.0, 2.0, 3.0], tangent))


@pytest.mark.xfail(
    strict=True,
    reason="second derivative of a tensor power at a zero base: torch's is NaN (its "
    "where() masks 0 * log(0) in the first derivative, and the masked branch's derivative "
    "is 0 * inf), chainrule's is finite (it masks the base inside the log too; "
    "src/chainrule/ops/power.py Pow.derivative_b); as norms at 0, the fuzzer steers "
    "pow_t around zero bases",
)
def test_double_backward_of_a_power_at_a_zero_base():
    def program(lib):
        x, e = _t(lib, [0.0, 1.0]), _t(lib, [2.0, 3.0])
        gx, ge = lib.autograd.grad(x.pow(e).sum(), (x, e), create_graph=True)
        ((gx * gx).sum() + (ge * ge).sum()).backward()
        return [gx, ge, x.grad, e.grad]

    _same(program)


def test_double_backward_of_std_at_a_zero_deviation():
    # was a known difference (chainrule finite): Std's create_graph backward is torch's
    # std_backward op for op since session 45, NaN there as torch's
    def program(lib):
        x = _t(lib, [1.0, 1.0, 1.0, 3.0])
        m = x.reshape(2, 2)
        (g,) = lib.autograd.grad((m.std(1) * m[:, 0]).sum(), x, create_graph=True)
        (g * g).sum().backward()
        return [g, x.grad]

    _same(program)


def test_addcdiv_gradient_with_an_integer_operand_is_exact():
    """torch computes the gradient of addcdiv's/addcmul's floating operand through
    ``value * t1`` of an integer ``t1`` in float32 (off by ~1e-8 in float64): chainrule's
    is exact. Not mirrored; the fuzzer casts such operands (extra_steps._float_pair)."""
    x = cr.tensor(-0.58593578, dtype=cr.float64, requires_grad=True)
    y = cr.addcdiv(cr.zeros(1, dtype=cr.float64), cr.tensor([1]), x.abs() + 1, value=0.3)
    y.sum().backward()
    assert abs(x.grad.item() - 0.3 / (1.58593578**2)) < 1e-15
