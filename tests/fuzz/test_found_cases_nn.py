"""Fuzzer findings (split from ``test_found_cases.py``), rounds 3 and 4: ``nn.functional``
norms, losses, convolutions, pooling and activations. Each case is a small program run on
torch and chainrule whose results (or raising) must agree; open ones are
``xfail(strict=True)``."""

from __future__ import annotations

import numpy as np
import pytest

from ._found import forward as _fw
from ._found import same as _same
from ._found import tensor as _t

__all__: list[str] = []


# --- fuzz round 3 (tests/fuzz/nn_steps.py) ------------------------------------------------


def test_layer_norm_double_backward_over_every_dim():
    # no leading dims: the create_graph rebuild summed the weight's gradient to a 0-d one
    # (src/chainrule/ops/layer_norm.py)
    def program(lib):
        x = _t(lib, [0.7, -0.2])
        w = _t(lib, [0.3, 1.5])
        y = lib.nn.functional.layer_norm(x, (2,), w, None, eps=0.25)
        gx, gw = lib.autograd.grad(
            (y * _t(lib, [3.0, 1.0], False)).sum(), [x, w], create_graph=True
        )
        (gx.square().sum() + gw.square().sum()).backward()
        return [gx, gw, x.grad, w.grad]

    _same(program)


@pytest.mark.parametrize("op", ["maximum", "minimum", "max", "min"])
def test_nan_gradient_does_not_reach_the_losing_operand(op):
    # max(x, 0.5) where x wins everywhere: 0 * NaN reached the 0.5 (src/chainrule/ops/binary.py)
    def program(lib):
        a, b = _t(lib, [1.0, 2.0, -3.0]), _t(lib, 0.5)
        y = getattr(lib, op)(a, b)
        y.backward(lib.tensor([float("nan"), 1.0, 2.0], dtype=lib.float64))
        return [a.grad, b.grad]

    _same(program)


@pytest.mark.parametrize("f", ["threshold", "hardshrink", "softshrink"])
def test_nan_gradient_stops_where_an_activation_is_flat(f):
    # src/chainrule/ops/activation_primitives.py
    def program(lib):
        x = _t(lib, [1.0, -0.2, 3.0])
        F = lib.nn.functional
        y = F.threshold(x, 0.0, 1.0) if f == "threshold" else getattr(F, f)(x, 0.5)
        y.backward(lib.tensor([1.0, float("nan"), 2.0], dtype=lib.float64))
        return [x.grad]

    _same(program)


@pytest.mark.parametrize("alpha", [2, 0, -1, True])
def test_add_of_bool_tensors_with_alpha_stays_bool(alpha):
    # True + 2 * True was the int64 3 (src/chainrule/ops/number_operands.py)
    def program(lib):
        a = lib.tensor([False, True, False, True])
        b = lib.tensor([False, False, True, True])
        out = lib.zeros(4, dtype=lib.float64)
        lib.add(a, b, alpha=alpha, out=out)
        y = lib.add(a, b, alpha=alpha)
        return [y, str(y.dtype).split(".")[-1], out]

    _same(program)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_threshold_of_an_integer_tensor(dtype):
    # torch truncates the numbers into the dtype; chainrule refused integers (uint8 left
    # out: torch refuses -1.5 there as an overflow, but wraps -1)
    def program(lib):
        x = lib.tensor([-2, -1, 0, 1, 2]).to(getattr(lib, dtype))
        F = lib.nn.functional
        y = F.threshold(x, -1.5, 7.9)
        F.threshold_(x, 0.5, -1)
        return [y, x, str(y.dtype)]

    _same(program)


@pytest.mark.parametrize("op", ["avg_pool1d", "conv1d", "conv_transpose1d"])
def test_bool_pooling_and_convolution_raise(op):
    def program(lib):
        b = lib.tensor([[[True, False, True, True]]])
        F = lib.nn.functional
        if op == "avg_pool1d":
            return [F.avg_pool1d(b, 2)]
        return [getattr(F, op)(b, b[..., :2])]

    _same(program)


@pytest.mark.parametrize("dtypes", [("bool", "float32"), ("int64", "float64"), ("int64", "int64")])
def test_cosine_similarity_in_the_common_dtype(dtypes):
    def program(lib):
        a = lib.tensor([1, 0, 2]).to(getattr(lib, dtypes[0]))
        b = lib.tensor([1.0, 2.0, 3.0]).to(getattr(lib, dtypes[1]))
        y = lib.nn.functional.cosine_similarity(a, b, dim=0)
        return [y, str(y.dtype)]

    _same(program)


@pytest.mark.parametrize("op", ["cumsum", "sum", "prod", "cumprod"])
def test_out_into_an_integer_tensor_of_an_input_that_requires_grad_raises(op):
    def program(lib):
        x = _t(lib, [1.0, 2.0])
        out = lib.zeros(2, dtype=lib.int64)
        getattr(lib, op)(x * 1, 0, out=out)
        return [out]

    _same(program)


def test_jvp_of_logcumsumexp_with_a_primal_that_requires_grad():
    # func.jvp went through two reverse passes with a zero cotangent, where logcumsumexp's
    # log-domain backward has a masked (0) derivative (src/chainrule/autograd/transforms.py)
    def program(lib):
        x = _t(lib, [0.3, -1.0])
        t = lib.tensor([0.75, 0.5], dtype=lib.float64)
        return list(lib.func.jvp(lambda a: a.logcumsumexp(0), (x,), (t,)))

    _same(program)


# --- fuzz round 4 (session 30): seeds 101-107 left overs and hunts from seed 200 ----------


@pytest.mark.parametrize("log_target", [True, False])
def test_kl_div_of_a_float32_target_computes_its_terms_in_float32(log_target):
    # fixed: src/chainrule/nn/functional/loss.py (kl_div promoted the target to float64
    # before e^y and y log y; PyTorch computes them in the target's dtype, then promotes)
    def program(lib):
        x = _t(lib, [0.3, -0.2])
        y = lib.tensor([0.125, 1.5], dtype=lib.float32, requires_grad=True)
        loss = lib.nn.functional.kl_div(x, y, reduction="sum", log_target=log_target)
        loss.backward()
        return [loss, x.grad, y.grad, str(loss.dtype), str(y.grad.dtype)]

    _same(program)


@pytest.mark.parametrize("padding", ["same", "valid", 0])
@pytest.mark.parametrize("bias_dtype", ["int64", "bool", "float64"])
@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv3d"])
def test_convolution_with_a_padding_string_adds_a_bias_of_another_dtype(op, bias_dtype, padding):
    # fixed: src/chainrule/ops/conv.py, nn/functional/conv3d.py (string_padding_bias): with
    # padding='same' or 'valid' PyTorch adds the bias in the input's dtype; a numeric
    # padding refuses it (as chainrule did for both)
    def program(lib):
        dims = int(op[4])
        x = _t(lib, np.arange(6.0).reshape(1, 2, 3, *(1,) * (dims - 1)) / 4).float()
        w = lib.ones(2, 2, *(1,) * dims, requires_grad=True)
        b = lib.tensor([3, -1]).to(getattr(lib, bias_dtype))
        if bias_dtype == "float64":
            b = lib.tensor([0.25, 1.5], dtype=lib.float64, requires_grad=True)
        y = getattr(lib.nn.functional, op)(x, w, b, padding=padding)
        y.sum().backward()
        return [y, str(y.dtype), w.grad, b.grad, None if b.grad is None else str(b.grad.dtype)]

    _same(program)


@pytest.mark.parametrize("f", ["std", "var"])
def test_tangent_of_std_over_empty_lines(f):
    # fixed in round 3 (src/chainrule/ops/fused_statistics.py: 0 / 0, a NaN tangent where
    # torch's is 0); found again from where_s -> diagonal (a (3, 0) diagonal) -> std
    _same(lambda lib: _fw(lib, lambda lib, x: getattr(x, f)(1), np.zeros((3, 0)), np.zeros((3, 0))))


def test_double_backward_of_cosine_similarity_at_a_zero_vector():
    # was a known difference (chainrule 0): the 2-norm's create_graph backward is torch's
    # norm_backward op for op since session 45, NaN at a zero vector as torch's
    def program(lib):
        x, y = _t(lib, [0.5, -1.0]), _t(lib, [0.0, 0.0])
        gx, gy = lib.autograd.grad(
            lib.nn.functional.cosine_similarity(x, y, dim=0), (x, y), create_graph=True
        )
        ((gx * gx).sum() + (gy * gy).sum()).backward()
        return [gx, gy, x.grad, y.grad]

    _same(program)


@pytest.mark.parametrize("shape", [(0,), (0, 2), (2, 0)])
@pytest.mark.parametrize("inplace", [False, True])
def test_index_add_into_an_empty_tensor_checks_bounds_when_1d(shape, inplace):
    # fixed: src/chainrule/ops/index_ops.py (no bounds check for any empty self; PyTorch's
    # 1-d path checks them: IndexError for zeros(0).index_add(0, [0], ones(1)))
    def program(lib):
        x = lib.zeros(shape)
        src = lib.ones((1, *shape[1:]))
        f = x.index_add_ if inplace else x.index_add
        return [f(0, lib.tensor([0]), src)]

    _same(program)


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy", "cross_entropy_smoothed"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nan_upstream_gradient_of_a_loss_skips_the_ignored_rows(loss, reduction):
    # fixed: src/chainrule/ops/losses.py (NLLLossFn multiplied the gradient by a dense
    # one-hot matrix, CrossEntropyFn by coefficients 0 on ignored rows: NaN * 0 everywhere;
    # PyTorch's entries off the valid targets stay 0); found as nll_loss -> pow_ of its NaN
    def program(lib):
        x = _t(lib, [[0.3, -0.4], [1.0, 0.5], [0.2, 0.1]])
        t = lib.tensor([0, 1, 1])
        F = lib.nn.functional
        if loss == "nll_loss":
            y = F.nll_loss(x.log_softmax(1), t, ignore_index=1, reduction=reduction)
        else:
            smooth = 0.25 if loss.endswith("smoothed") else 0.0
            y = F.cross_entropy(x, t, ignore_index=1, reduction=reduction, label_smoothing=smooth)
        seed = lib.full(tuple(y.shape), float("nan"), dtype=lib.float64)
        (g,) = lib.autograd.grad(y, x, grad_outputs=seed, create_graph=True)
        (g2,) = lib.autograd.grad(y, x, grad_outputs=seed)
        return [g, g2]

    _same(program)


@pytest.mark.parametrize("reduction", ["sum", "none", "mean"])
@pytest.mark.parametrize(
    "dtypes",
    [
        ("int64", "int64"),
        ("int32", "int64"),
        ("int8", "int8"),
        ("bool", "int64"),
        ("bool", "float64"),
    ],
)
def test_l1_loss_of_integer_tensors(reduction, dtypes):
    # fixed: src/chainrule/nn/functional/loss.py (_pair refused any non-floating input;
    # PyTorch's l1_loss is |x - y| in the integers, its 'mean' refused as integer means are;
    # and it cast a bool input to a floating target's dtype, where PyTorch's bool - float
    # raises)
    def program(lib):
        x = lib.tensor([3, -1, 2]).to(getattr(lib, dtypes[0]))
        y = lib.tensor([1, 100, 0]).to(getattr(lib, dtypes[1]))
        out = lib.nn.functional.l1_loss(x, y, reduction=reduction)
        return [out, str(out.dtype)]

    _same(program)


@pytest.mark.parametrize("kernel", [1, (1, 3), (2, 1), 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_unfold_columns_are_new_memory(kernel, stride):
    # fixed: src/chainrule/nn/functional/fold.py (windows that reshape without a copy came
    # out as a view of the input: an in-place op on them wrote into it, or was refused as an
    # op on a view of a leaf); found as im2col -> add_
    def program(lib):
        x = _t(lib, np.arange(6.0).reshape(1, 1, 2, 3))
        v = x * 1
        cols = lib.nn.functional.unfold(v, kernel, stride=stride)
        cols.add_(1.0)
        (cols * cols).sum().backward()
        leaf_cols = lib.nn.functional.unfold(x, kernel, stride=stride)
        leaf_cols.mul_(2.0)
        return [v, cols, x.grad, leaf_cols, cols.is_leaf]

    _same(program)


def test_hardsigmoid_gradient_is_scaled_by_a_float32_sixth():
    # fixed: src/chainrule/ops/hardsigmoid.py (g / 6; PyTorch multiplies g by 1/6 rounded to
    # float32 in every dtype: a float64 gradient of 0.1666666716337204)
    def program(lib):
        x = _t(lib, [-0.8233450945073083, 1.3, 2.5])
        (g,) = lib.autograd.grad(lib.nn.functional.hardsigmoid(x).sum(), x)
        x32 = lib.tensor([0.1, -0.7, 2.9], requires_grad=True)
        w = lib.tensor([0.3, 1.7, -2.2])
        (g32,) = lib.autograd.grad((lib.nn.functional.hardsigmoid(x32) * w).sum(), x32)
        return [g, g32]

    _same(program)


@pytest.mark.parametrize("slope", [-1.5, 0.0, 0.5])
@pytest.mark.parametrize("form", ["leaky_relu_", "inplace", "module"])
def test_in_place_leaky_relu_with_a_negative_slope_has_no_gradient(slope, form):
    # fixed: src/chainrule/nn/functional/activation.py (chainrule differentiated it; PyTorch's
    # in-place node saves the result, whose sign no longer tells the input's, and raises)
    def program(lib):
        x = _t(lib, [1.0, -2.0, 0.5])
        y = x * 1
        F = lib.nn.functional
        if form == "leaky_relu_":
            F.leaky_relu_(y, slope)
        elif form == "inplace":
            F.leaky_relu(y, slope, inplace=True)
        else:
            lib.nn.LeakyReLU(slope, inplace=True)(y)
        (g,) = lib.autograd.grad(y.sum(), x)
        return [y, g]

    _same(program)


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy", "cross_entropy_smoothed"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_ignored_rows_over_a_nan_input_lose_nothing(loss, reduction):
    # fixed: src/chainrule/ops/losses.py (an ignored row's loss was 0 * NaN; PyTorch writes
    # no term for it); found as pow_ (a NaN) -> nll_loss
    def program(lib):
        x = lib.tensor([[0.3, float("nan")], [float("nan"), 1.0], [0.2, 0.1]], dtype=lib.float64)
        t = lib.tensor([0, 1, 1])
        F = lib.nn.functional
        if loss == "nll_loss":
            return [F.nll_loss(x, t, ignore_index=1, reduction=reduction)]
        smooth = 0.25 if loss.endswith("smoothed") else 0.0
        return [F.cross_entropy(x, t, ignore_index=1, reduction=reduction, label_smoothing=smooth)]

    _same(program)


@pytest.mark.parametrize(
    "shapes",
    [
        ((1, 0), (0, 1)),  # an empty inner dimension: all False, no kernel
        ((2, 1, 0), (0, 3)),
        ((0, 1), (1,)),  # an empty result
        ((1, 1), (1, 1)),  # something to sum: PyTorch has no bool kernel and raises
        ((0,), (0,)),  # two vectors: "dot" raises even when empty
    ],
)
def test_bool_matmul_with_nothing_to_sum_is_all_false(shapes):
    # fixed: src/chainrule/ops/linalg.py (every bool product raised; PyTorch raises only when
    # a kernel has something to sum); found as diagonal (1, 0) -> matmul with its transpose
    def program(lib):
        a, b = (lib.ones(s, dtype=lib.bool) for s in shapes)
        return [a @ b]

    _same(program)


@pytest.mark.parametrize("norm", ["batch_norm", "instance_norm", "group_norm"])
def test_norm_tangent_constant_along_the_axes_is_exactly_zero(norm):
    # fixed: src/chainrule/ops/normalization.py, group_norm.py (the tangent rule's second
    # mean over the uncentred tangent left rounding noise, which a later inf ** 2 turned into
    # ±inf where PyTorch's exact 0 gives NaN); found as index_add -> batch_norm -> pow
    def program(lib):
        F = lib.nn.functional
        x = _t(
            lib,
            [
                [
                    [184.53964051629183, 184.63487858081572],
                    [184.44111947053295, 184.70905135425483],
                ],
                [[186.063449548674, 186.92059212938895], [186.1558835263529, 186.85250642402977]],
            ],
            rg=False,
        )
        t = lib.full((2, 2, 2), -1.2183194691806305, dtype=lib.float64)
        fwad = lib.autograd.forward_ad
        with fwad.dual_level():
            d = fwad.make_dual(x, t)
            if norm == "batch_norm":
                y = F.batch_norm(d, None, None, training=True)
            elif norm == "instance_norm":
                y = F.instance_norm(d)
            else:
                y = F.group_norm(d, 1)
            y = (y + 1e200) ** 2  # inf, whose tangent is inf * the norm's tangent
            return [fwad.unpack_dual(y).tangent]

    _same(program)
