"""Round 6 of the random-program fuzzer (the groups left by round 5, seeds 301-419): the
discrepancies with torch 2.13 found and fixed, as plain regression tests in the style of
``test_found_cases_r5.py``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ._compare import same

__all__: list[str] = []

NAN = float("nan")


_same = same


def _transposed(lib: Any, *shape: int) -> Any:
    """A dense tensor of ``shape`` whose last two dims are swapped in memory."""
    n = int(np.prod(shape))
    base = lib.arange(n, dtype=lib.float64).reshape(*shape[:-2], shape[-1], shape[-2])
    return (base.mT * 0.25).sin()


# --- fixed: ops/layer_norm.py, ops/normalization.py, ops/batch_norm_eval.py,
# nn/functional/normalization.py (the result layout of the norms; seed 411) ---------------


@pytest.mark.parametrize("norm", ["layer_norm", "rms_norm", "batch_norm", "batch_norm_eval"])
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (2, 3, 4, 2)])
def test_norm_of_a_transposed_input_has_torchs_layout(norm, shape):
    # layer norm is row-major whatever the input; batch and rms norm take the input's
    # suggest_memory_format() (row-major here). Observable: an in-place write through a
    # reshape of the result reaches it or not (F.embedding(max_norm=) renormalising a
    # weight made by reshaping a layer norm's output, fuzz seed 411)
    def program(lib):
        x = _transposed(lib, *shape)
        F = lib.nn.functional
        c = shape[1]
        if norm == "layer_norm":
            y = F.layer_norm(x, shape[-1:])
        elif norm == "rms_norm":
            y = F.rms_norm(x, shape[-1:])
        elif norm == "batch_norm":
            y = F.batch_norm(x, None, None, training=True)
        else:
            rm, rv = lib.zeros(c, dtype=lib.float64), lib.ones(c, dtype=lib.float64)
            y = F.batch_norm(x, rm, rv, training=False)
        y.reshape(-1)[:2].mul_(0.5)
        return [tuple(y.stride()), y]

    _same(program)


def test_batch_norm_of_a_channels_last_input_stays_channels_last():
    def program(lib):
        x = lib.arange(48, dtype=lib.float64).reshape(2, 3, 4, 2).permute(0, 3, 1, 2).cos()
        F = lib.nn.functional
        c = 2
        w = lib.ones(c, dtype=lib.float64, requires_grad=True)
        rm, rv = lib.zeros(c, dtype=lib.float64), lib.ones(c, dtype=lib.float64)
        return [
            tuple(F.batch_norm(x, None, None, training=True).stride()),
            tuple(F.batch_norm(x, rm, rv, w, training=False).stride()),
            tuple(F.rms_norm(x, (2,)).stride()),
            tuple(F.layer_norm(x, (2,)).stride()),
        ]

    _same(program)


# --- fixed: ops/keywords.py (out= partially overlapping an input; seeds 416, 417) --------


_OUT_CASES = {
    "add_transposed": lambda lib, x: lib.add(x.t(), x.t(), out=x),
    "mul_scalar": lambda lib, x: lib.mul(x.t(), 2.0, out=x),
    "exp": lambda lib, x: lib.exp(x.t(), out=x),
    "shifted_rows": lambda lib, x: lib.add(x.view(-1)[0:6], 1, out=x.view(-1)[3:9]),
    "cat": lambda lib, x: lib.cat([x.view(-1)[:4], x.view(-1)[4:8]], out=x.view(-1)[1:9]),
    "cumsum": lambda lib, x: lib.cumsum(x.t(), 0, out=x),
    "where": lambda lib, x: lib.where(x > 2, x.t(), x, out=x),
    "clamp_tensor": lambda lib, x: lib.clamp(lib.zeros(3, 3, dtype=x.dtype), x.t(), out=x),
    # allowed by torch: the very same elements, no overlap, a layout it cannot decide
    # (not dense), reductions and matmuls (no check), a resized out
    "add_itself": lambda lib, x: lib.add(x, x, out=x),
    "disjoint_rows": lambda lib, x: lib.add(x[0], 1, out=x[1]),
    "not_dense": lambda lib, x: lib.add(x[:, :2], 1, out=x[:, 1:]),
    "sum": lambda lib, x: lib.sum(x, 0, out=x[0]),
    "mm": lambda lib, x: lib.mm(x.t(), x, out=x),
    "cumsum_itself": lambda lib, x: lib.cumsum(x, 0, out=x),
    "resized": lambda lib, x: lib.add(x.t()[:2], 1, out=x),
}


@pytest.mark.parametrize("case", sorted(_OUT_CASES))
def test_out_overlapping_an_input(case):
    def program(lib):
        x = lib.arange(9, dtype=lib.float64).reshape(3, 3).clone()
        _OUT_CASES[case](lib, x)
        # a reduction or matmul into its own input reads what it already wrote in torch
        # (an order-dependent answer): only that it runs is compared
        return [] if case in ("sum", "mm") else [x]

    _same(program)


# --- fixed: ops/index_ops.py, ops/index_selection.py (index_add into an empty self with a
# source that needs a gradient; seeds 418, 419) ------------------------------------------


@pytest.mark.parametrize(
    ("shape", "index", "src_shape"),
    [((1, 0), [0], (1, 1)), ((2, 0), [7], (2, 1)), ((0, 3), [0, 2], (0, 2))],
)
def test_index_add_into_an_empty_self_keeps_the_source_graph(shape, index, src_shape):
    # torch records the op (IndexAddBackward0) and its backward to source is
    # grad.index_select(dim, index): refused on an empty dim with a non-empty index
    def program(lib):
        s = lib.ones(src_shape, dtype=lib.float64, requires_grad=True)
        y = lib.zeros(shape, dtype=lib.float64).index_add(1, lib.tensor(index), s, alpha=2)
        out = [y.requires_grad, y.grad_fn.name(), tuple(y.shape)]
        y.sum().backward()
        return [*out, s.grad]

    _same(program)


def test_index_add_into_an_empty_self_tangent():
    def program(lib):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            s = fw.make_dual(lib.ones(2, 1, dtype=lib.float64), lib.ones(2, 1, dtype=lib.float64))
            p, t = fw.unpack_dual(
                lib.zeros(2, 0, dtype=lib.float64).index_add(1, lib.tensor([0]), s)
            )
            return [tuple(p.shape), tuple(t.shape)]

    _same(program)


# --- fixed: ops/binary_cross_entropy.py (a tangent on the weight only; seed 415) ----------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_a_dual_weight_only(reduction):
    # torch's forward-mode rule ignores the weight (no tangent); chainrule's crashed
    def program(lib):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            w = fw.make_dual(lib.tensor(0.5, dtype=lib.float64), lib.tensor(0.3, dtype=lib.float64))
            x = lib.tensor(1).sigmoid()
            y = lib.nn.functional.binary_cross_entropy(x, x, w.abs(), reduction=reduction)
            p, t = fw.unpack_dual(y)
            return [str(p.dtype), p, t]

    _same(program)


# --- fixed: _kernels/activations.py, ops/fused_grads.py, ops/unary.py (relu at NaN; seeds
# 301, 415) -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [8, 40000])  # NumPy's path and the compiled kernel's
def test_relu_passes_the_gradient_and_tangent_at_a_nan(n):
    # torch's relu derivative is threshold_backward's: 0 where x <= 0, else the incoming
    # value; at a NaN x (not <= 0) the gradient or tangent passes, a NaN one at x > 0 too
    xs = np.tile([1.0, -1.0, 0.0, NAN, -0.0, 1.0, -1.0, NAN], n // 8)
    ts = np.tile([NAN, NAN, NAN, NAN, NAN, 2.0, 2.0, 2.0], n // 8)

    def program(lib):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            tangent = fw.unpack_dual(lib.relu(fw.make_dual(lib.tensor(xs), lib.tensor(ts))))[1]
        x = lib.tensor(xs, requires_grad=True)
        (g,) = lib.autograd.grad(lib.relu(x), x, lib.tensor(ts), create_graph=True)
        return [tangent[:8], g[:8]]

    _same(program)


# --- fixed: ops/cumulative.py, ops/__init__.py (bool cumsum_ / cumprod_ in place) --------


@pytest.mark.parametrize("shape", [(), (0,), (2, 0), (1,), (2, 3)])
@pytest.mark.parametrize("op", ["cumsum_", "cumprod_"])
def test_bool_running_sum_in_place(shape, op):
    # in place the scan is in x's own dtype: torch has no bool kernel, but a 0-d or empty
    # x needs none (left as it is)
    def program(lib):
        x = lib.ones(shape, dtype=lib.bool)
        y = getattr(x, op)(0 if shape else -1)
        return [y is x, str(x.dtype), x]

    _same(program)


# --- fixed: ops/rounded_division.py (the sign of a zero remainder; seed 503) ---------------


@pytest.mark.parametrize("op", ["remainder", "fmod"])
@pytest.mark.parametrize("grad", [False, True])
def test_zero_remainder_keeps_the_dividends_sign(op, grad):
    # torch's remainder is fmod moved by the divisor where the signs differ: a zero keeps
    # the dividend's sign (NumPy's % gives the divisor's); with a gradient the composite
    # a - q * b gave +0 for both ops
    def program(lib):
        a = lib.tensor([-1.5, 1.5, -2.0, 3.0, -0.0, 2.5, 5.3, -5.3], dtype=lib.float64)
        b = lib.tensor([-1.5, 1.5, 1.0, -1.0, 1.0, -2.5, 0.1, 0.1], dtype=lib.float64)
        a.requires_grad_(grad)
        y = getattr(lib, op)(a, b)
        signs = tuple(bool(s) for s in lib.signbit(y.detach()).tolist())
        return [signs, y]

    _same(program)


# --- fixed: ops/pooling.py (a NaN gradient through max pooling; seed 503) -----------------


@pytest.mark.parametrize(("k", "stride"), [(3, 1), (2, 2), (3, 2)])
def test_max_pool_sends_a_nan_gradient_to_the_argmax_only(k, stride):
    def program(lib):
        x = lib.zeros(1, 1, 6, dtype=lib.float64, requires_grad=True)
        y = lib.nn.functional.max_pool1d(x, k, stride)
        y.backward(lib.full(tuple(y.shape), NAN, dtype=lib.float64))
        return [x.grad]

    _same(program)


# --- fixed: ops/bce_with_logits.py (a 0-d pos_weight with targets of another dtype; 507) --


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_bce_with_logits_0d_pos_weight_and_mixed_dtypes(reduction):
    def program(lib):
        x = lib.tensor(-0.689, dtype=lib.float64, requires_grad=True)
        t = lib.tensor(False).sigmoid()  # float32
        f = lib.nn.functional.binary_cross_entropy_with_logits
        y = f(x, t, None, reduction=reduction, pos_weight=lib.tensor(0.7, dtype=lib.float64))
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        g.backward()  # double backward: the mixed-dtype rule with a 0-d x (seed 507 too)
        return [str(y.dtype), y, g, x.grad]

    _same(program)


# --- fixed: nn/functional/classification_loss.py (probability targets: negated after the
# reduction, a loss of zeros is -0.0; seed 505) ------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_probabilities_of_one_class_is_minus_zero(reduction, weighted):
    def program(lib):
        x = lib.tensor([[0.3], [-0.2]], dtype=lib.float64)
        t = lib.tensor([[1.0], [1.0]], dtype=lib.float64)
        w = lib.tensor([1.3], dtype=lib.float64) if weighted else None
        y = lib.nn.functional.cross_entropy(x, t, w, reduction=reduction)
        return [tuple(bool(s) for s in lib.signbit(y).reshape(-1).tolist()), y]

    _same(program)
