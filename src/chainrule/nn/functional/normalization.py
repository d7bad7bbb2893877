"""Normalisation: batch_norm, layer_norm and group_norm, as in ``torch.nn.functional``
(instance_norm, built on batch norm as PyTorch's, is in ``instance_normalization.py``;
rms_norm and normalize, composed from ops, in ``composed_norms.py``, re-exported here).

Batch, layer, group and instance norm standardise over some axes, x̂ = (x - μ) / √(σ² + ε),
then apply a per-feature affine map y = γ x̂ + β. These functions check the arguments, update
running statistics and call the fused ops of ``ops/normalization.py``:
:class:`~chainrule.ops.normalization.NormalizeFn` (the standardisation, with a two-reduction
backward) and :class:`~chainrule.ops.normalization.BatchNormFn` (training-mode batch norm
with the affine map fused in). ``group_norm`` is one node with its affine map,
:class:`~chainrule.ops.group_norm.GroupNormFn` (PyTorch's ``NativeGroupNormBackward0``).
The checks and dtype rules all the norms share are ``_norm_shared.py``'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

from numpy import bool_, float32, integer

from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.saved_fields import given  # grad_fn._saved_*
from ...autograd.state import LOCAL
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._tensor_args import not_tensor
from ...ops._util import ShapeError, dim_range_error, no_integer_kernel, torch_words
from ...ops.batch_norm_eval import BatchNormEvalFn
from ...ops.group_norm import GroupNormFn
from ...ops.layer_norm import LayerNormFn
from ...ops.memory_format import channels_last, channels_last_3d
from ...ops.normalization import BatchNormFn, BatchStats, NormalizeFn
from ...ops.number_arguments import parser_int
from ._arg_types import as_float, bad_bool
from ._norm_shared import (
    _bshape,
    _empty_result,
    _input_dtype,
    _no_complex,
    _normalized_shape,
    _same_param_dtype,
    _suggested,
)
from .batch_norm_param_shapes import batch_norm_other_param_shapes
from .composed_norms import normalize, rms_norm

__all__ = ["batch_norm", "group_norm", "layer_norm", "normalize", "rms_norm"]


class _NoChannelDim(ShapeError, IndexError):
    """batch_norm of a 0-d or 1-d input, which has no channel dimension 1. PyTorch raises
    IndexError ("Dimension out of range") or, given running statistics, RuntimeError; this is
    both (and ValueError, as every chainrule ShapeError)."""


def _check_batch(input: Tensor, given: tuple, training: bool) -> None:
    """PyTorch's F.batch_norm checks of the input's sizes and the running statistics'
    presence, in its order and words: one value per channel in training (its Python
    ``_verify_batch_size``, a ValueError), the statistics evaluation needs, then an input
    without a channel dim 1 (a 1-d input: its IndexError "Dimension out of range", given
    running statistics or parameters, its count check against 0 channels). ``given``: the
    running mean and variance, the weight and the bias, each a Tensor or None."""
    names = ("running_mean", "running_var", "weight", "bias")
    shape = tuple(input.shape)
    if training and len(shape) == 0:  # PyTorch's Python reads size[0]: "tuple index out of range"
        raise _NoChannelDim(
            "batch_norm: expected an input with at least 2 dims (N, C, ...), got shape (): "
            "its channel dimension 1 is out of range"
        )
    if training and shape[0] * math.prod(shape[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {input.size()}"
        )
    for name, t in zip(names[:2], given[:2]):
        if not training and t is None:
            raise ShapeError(f"{name} must be defined in evaluation mode")
    if len(shape) >= 2:
        return
    for name, t in zip(names, given):
        if t is not None and t.numel():
            raise _NoChannelDim(
                f"{name} should contain 0 elements not {t.numel()}\n"
                f"batch_norm: expected an input with at least 2 dims (N, C, ...), got shape "
                f"{shape}: PyTorch counts its channels as 0"
            )
    if shape:  # PyTorch's words, which a module's forward leaves unprefixed
        raise torch_words(_NoChannelDim(str(dim_range_error(1, 1))))
    raise _NoChannelDim(  # PyTorch's kernel fails reading the sizes of a 0-d input
        "batch_norm: expected an input with at least 2 dims (N, C, ...), got shape (): its "
        "channel dimension 1 is out of range"
    )


def normalize_axes(x: Tensor, axes: tuple, eps: float, stats: BatchStats | None = None) -> Tensor:
    """Standardise ``x`` over ``axes`` with the fused op (internal building block)."""
    return NormalizeFn.apply(x, axes, float(eps), stats)


def _composite_normalize(x: Tensor, axes: tuple, eps: float) -> Tensor:
    """The same standardisation built from primitive ops (reference for tests/benchmarks)."""
    mean = x.mean(axes, keepdim=True)
    xc = x - mean
    return xc * ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()


def _constant(t: Tensor | None) -> bool:
    """No gradient and no forward-mode tangent flows through ``t`` here."""
    return t is None or (not (t.requires_grad and is_grad_enabled()) and t._fw_tangent is None)


def _same_float_dtype(input: Tensor, *params: Tensor | None) -> bool:
    return input.dtype.kind == "f" and all(p is None or p.dtype == input.dtype for p in params)


def _update_running_stats(
    input: Tensor, running_mean: Tensor, running_var: Tensor, m: float
) -> None:
    """The running-statistics update with Tensor ops, each sample of a vmap batch with its own
    statistics (the fused kernel's raw-array update has no per-sample form):
    ``r = (1 - m) r + m stat``, the variance unbiased, as PyTorch's."""
    batched = [hasattr(t, "_level") for t in (input, running_mean, running_var)]  # vmap's
    if batched[0] and not (batched[1] and batched[2]):
        raise RuntimeError(
            "Batch norm got a batched tensor as input while the running_mean or running_var, "
            "which will be updated in place, were not batched.\nIf you are using a module and "
            "do not need eval mode, please set `track_running_stats` to be False.If you are "
            "using a prebuilt module and do not need eval mode, please see the functorch "
            "website for resources on how to patch your module to work with vmap"
        )
    dims = [0, *range(2, input.ndim)]
    with no_grad():
        x = input.detach()
        running_mean.mul_(1 - m).add_(m * x.mean(dims))
        running_var.mul_(1 - m).add_(m * x.var(dims, unbiased=True))


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over (N, *spatial) per channel C of (N, C, *) inputs.

    Training uses the batch statistics and, if running buffers are given, updates them in
    place: running = (1 - momentum) · running + momentum · batch_stat, with the unbiased
    batch variance (as PyTorch). As PyTorch's kernel, the update leaves the buffers'
    ``_version`` as it was (nor is it refused inside a grad transform: it is not the user's
    in-place op). Evaluation uses the running statistics.
    """
    if type(training) is not bool:  # PyTorch's parser: a Python bool (position 6 always)
        bad_bool("batch_norm", "training", training, 6)
    if not isinstance(momentum, (Real, Tensor, bool_)):  # None: PyTorch's parser refuses it
        raise TypeError(
            "batch_norm(): argument 'momentum' (position 7) must be float, not "
            f"{type(momentum).__name__}"
        )
    _check_batch(input, (running_mean, running_var, weight, bias), training)
    no_integer_kernel("batch_norm", input)
    _no_complex("batch_norm", input)
    if eps <= 0 if training else eps < 0:  # PyTorch's check (NaN passes, as there)
        need = "positive during training" if training else "non-negative"
        raise ValueError(f"batch_norm: eps must be {need}, but got {eps}")
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.numel() != c:  # PyTorch's words (it checks the count)
            raise ShapeError(
                f"{name} should contain {c} elements not {t.numel()}\n"
                f"batch_norm: {name} must have shape ({c},) for an input with "
                f"{c} channels (shape {tuple(input.shape)}), got {tuple(t.shape)}"
            )
        if t is not None and t.ndim != 1 and name.startswith("running"):
            raise ShapeError(  # PyTorch's kernel reads the statistics as 1-d
                f"TensorAccessor expected 1 dims but tensor has {t.ndim}\n"
                f"batch_norm: {name} must have shape ({c},) for an input with "
                f"{c} channels (shape {tuple(input.shape)}), got {tuple(t.shape)}"
            )
    if (weight is not None and weight.ndim != 1) or (bias is not None and bias.ndim != 1):
        # C values in another shape: PyTorch's forward takes them, its backward does not
        return batch_norm_other_param_shapes(
            batch_norm, input, running_mean, running_var, weight, bias, training, momentum, eps
        )
    _same_param_dtype(
        "batch_norm",
        input,
        running_mean=running_mean,
        running_var=running_var,
        weight=weight,
        bias=bias,
    )
    nd = input.ndim
    if training:
        count = input.numel() // c
        if count == 0:  # PyTorch: an empty result, the running statistics left untouched
            return _empty_result(input, weight, bias)
        stats = BatchStats()
        y = BatchNormFn.apply(input, weight, bias, float(eps), stats)
        given(y, running_mean=running_mean, running_var=running_var)  # _saved_*
        y = _input_dtype(y, input)
        if running_mean is not None and running_var is not None:
            if LOCAL.state.vmap:  # running statistics batched by vmap (model ensembles)
                _update_running_stats(input, running_mean, running_var, momentum)
                return y
            mean, var = stats.mean, stats.var
            m = float(momentum)  # (a 0-dim tensor too, as PyTorch's parser takes one)
            rm, rv = running_mean._data, running_var._data
            rm *= 1 - m
            rm += m * mean.reshape(c).astype(rm.dtype, copy=False)
            rv *= 1 - m
            rv += (m * count / (count - 1)) * var.reshape(c).astype(rv.dtype, copy=False)
            # (no version bump: PyTorch's kernel writes the running statistics unrecorded)
        return y
    # evaluation: the running statistics, then the affine map as ordinary ops
    if running_mean is None or running_var is None:
        raise ValueError(
            "batch_norm: running_mean and running_var are required when training=False"
        )
    if LOCAL.state.vmap:
        # running statistics (and affine parameters) batched by vmap (model ensembles):
        # their raw arrays have no per-sample form, so the map is made of tensor ops
        shp = (c,) + (1,) * (nd - 2)
        invstd = (running_var + eps).rsqrt().reshape(shp)
        y = (input - running_mean.reshape(shp)) * invstd
        if weight is not None:
            y = y * _bshape(weight, nd)
        if bias is not None:
            y = y + _bshape(bias, nd)
        return _input_dtype(y, input)
    xp = get_array_module(input._data)
    half = input._data.dtype.char in "eE"  # float16, bfloat16: α, β and y in float32 (PyTorch)
    rv, rm = running_var._data, running_mean._data
    if half:
        rv, rm = rv.astype(float32), rm.astype(float32)
    invstd = 1.0 / xp.sqrt(rv + eps)
    if _constant(weight) and _constant(bias) and _same_float_dtype(input, weight, bias):
        # one pass, y = x α + β (ops/batch_norm_eval.py)
        alpha = invstd if weight is None else invstd * weight._data
        beta = -rm * alpha
        if bias is not None:
            beta = beta + bias._data
        if half:  # α, β kept in float32: BatchNormEvalFn rounds y once
            return BatchNormEvalFn.apply(input, alpha, beta)
        return BatchNormEvalFn.apply(
            input, alpha.astype(input.dtype, copy=False), beta.astype(input.dtype, copy=False)
        )
    if half:  # normalised in float32, rounded once at the end (PyTorch's kernel)
        x = input.float()
        shp = (c,) + (1,) * (nd - 2)
        y = (x - Tensor._make(rm.reshape(shp), False, None, 0)) * Tensor._make(
            invstd.reshape(shp), False, None, 0
        )
        if weight is not None:
            y = y * _bshape(weight.float(), nd)
        if bias is not None:
            y = y + _bshape(bias.float(), nd)
        return y.to(input.dtype)
    shift = (-running_mean._data * invstd).astype(input.dtype, copy=False)
    shp = (c,) + (1,) * (nd - 2)
    y = input * Tensor._make(
        invstd.astype(input.dtype, copy=False).reshape(shp), False, None, 0
    ) + Tensor._make(shift.reshape(shp), False, None, 0)
    if weight is not None:
        y = y * _bshape(weight, nd)
    if bias is not None:
        y = y + _bshape(bias, nd)
    return _suggested(_input_dtype(y, input), input)


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims, then y = γ x̂ + β.

    The checks read the arrays' plain shape tuples (``Tensor.shape`` builds a ``Size``, and
    slicing one another): this runs once per layer norm, 9 times per nanoGPT step.
    """
    shape = _normalized_shape("layer_norm", normalized_shape)
    eps = eps if type(eps) is float else as_float("layer_norm", "eps", eps, 5)  # a real
    k = len(shape)
    ishape = input._data.shape if isinstance(input, Tensor) else tuple(input.shape)
    if k == 0 or len(ishape) < k or ishape[len(ishape) - k :] != shape:
        raise ShapeError(
            f"layer_norm: normalized_shape {list(shape)} does not match the "
            f"trailing dims of the input of shape {tuple(ishape)}"
        )
    for position, name, t in ((3, "weight", weight), (4, "bias", bias)):
        if t is not None and not isinstance(t, Tensor):  # PyTorch's TypeError (positional:
            raise not_tensor("layer_norm", name, position, t, keywords=False)  # F passes so)
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"layer_norm: {name} must have shape {shape}, got {tuple(t.shape)}")
    no_integer_kernel("layer_norm", input)
    _no_complex("layer_norm", input)
    _same_param_dtype("layer_norm", input, weight=weight, bias=bias)
    # a bfloat16 input with float32 parameters runs in float32: rounded back, as PyTorch
    return _input_dtype(LayerNormFn.apply(input, weight, bias, k, float(eps)), input)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Split C channels into groups, normalise each (sample, group), then per-channel affine:
    one node, PyTorch's ``NativeGroupNormBackward0`` (:mod:`chainrule.ops.group_norm`)."""
    if type(num_groups) is not int:  # PyTorch's ``N * C // num_groups`` comes first:
        if not isinstance(num_groups, (Real, complex, integer, bool_, Tensor)):
            0 // num_groups  # Python's TypeError for None, a str, a tuple
        # then its parser's: a NumPy integer or an integer 0-d tensor is the int
        num_groups = parser_int("group_norm", "num_groups", 2, num_groups, keywords=False)
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ShapeError(  # PyTorch's words, as the checks below
            f"Expected at least 2 dimensions for input tensor but received {len(shape)}"
        )
    n, c = shape[0], shape[1]
    if num_groups == 0:  # PyTorch: Python's own error, from the batch-size check
        raise ZeroDivisionError("integer division or modulo by zero")
    count = n * c // num_groups
    for d in shape[2:]:
        count *= d
    if count == 1:
        raise ValueError(
            f"group_norm: expected more than 1 value per channel when training, "
            f"got input size {list(shape)}"
        )
    eps = eps if type(eps) is float else as_float("group_norm", "eps", eps, 5)  # a real
    if num_groups < 0:
        raise ShapeError(f"Expected num groups to be greater than 0, got {num_groups}")
    if c % num_groups != 0:
        raise ShapeError(
            f"Expected number of channels in input to be divisible by "
            f"num_groups, but got input of shape {list(shape)} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(
                f"group_norm: expected {name} to be a vector of size equal to "
                f"the number of channels in input, but got {name} of shape "
                f"{list(t.shape)} and input of shape {list(shape)}"
            )
    no_integer_kernel("group_norm", input)
    _no_complex("group_norm", input)
    _same_param_dtype("group_norm", input, weight=weight, bias=bias)
    # as PyTorch: strided operands are made contiguous first (a CloneBackward0 in the graph);
    # a channels-last input is taken as it is (the result keeps its layout)
    if not LOCAL.state.vmap:  # (a batched tensor under vmap has no layout to query)
        input, weight, bias = (_dense(t) for t in (input, weight, bias))
    return GroupNormFn.apply(input, weight, bias, int(num_groups), float(eps))


def _dense(t: Tensor | None) -> Tensor | None:
    """``t`` contiguous in row-major or, for 4-d and 5-d tensors, channels-last order."""
    if t is None or t.is_contiguous():
        return t
    fmt = {4: channels_last, 5: channels_last_3d}.get(t.ndim)
    if fmt is not None and t.is_contiguous(memory_format=fmt):
        return t
    return t.contiguous()
