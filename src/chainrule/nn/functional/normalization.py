"""Normalisation: batch_norm, layer_norm, group_norm, rms_norm and normalize, as in
``torch.nn.functional`` (instance_norm, built on batch norm as PyTorch's, is in
``instance_normalization.py``).

Batch, layer, group and instance norm standardise over some axes, x̂ = (x - μ) / √(σ² + ε),
then apply a per-feature affine map y = γ x̂ + β. These functions check the arguments, update
running statistics and call the fused ops of ``ops/normalization.py``:
:class:`~chainrule.ops.normalization.NormalizeFn` (the standardisation, with a two-reduction
backward) and :class:`~chainrule.ops.normalization.BatchNormFn` (training-mode batch norm
with the affine map fused in). ``group_norm`` is one node with its affine map,
:class:`~chainrule.ops.group_norm.GroupNormFn` (PyTorch's ``NativeGroupNormBackward0``).
``rms_norm`` and ``normalize`` are composed from ops.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Real
from typing import Any

from numpy import bool_, finfo, float16, float32, integer

from ..._user_warnings import warn_once
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.saved_fields import given  # grad_fn._saved_*
from ...autograd.state import LOCAL
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...dtypes import is_bfloat16, is_floating
from ...ops._tensor_args import not_tensor
from ...ops._util import NAMED_ERRORS, DtypeError, ShapeError, lead_with, no_integer_kernel
from ...ops.batch_norm_eval import BatchNormEvalFn
from ...ops.group_norm import GroupNormFn
from ...ops.keywords import write_out
from ...ops.layer_norm import LayerNormFn
from ...ops.memory_format import channels_last, channels_last_3d, suggested_format
from ...ops.normalization import BatchNormFn, BatchStats, NormalizeFn
from ._arg_types import as_float, bad_bool

__all__ = ["batch_norm", "group_norm", "layer_norm", "normalize", "rms_norm"]


class _NoChannelDim(ShapeError, IndexError):
    """batch_norm of a 0-d or 1-d input, which has no channel dimension 1. PyTorch raises
    IndexError ("Dimension out of range") or, given running statistics, RuntimeError; this is
    both (and ValueError, as every chainrule ShapeError)."""


def normalize_axes(x: Tensor, axes: tuple, eps: float, stats: BatchStats | None = None) -> Tensor:
    """Standardise ``x`` over ``axes`` with the fused op (internal building block)."""
    return NormalizeFn.apply(x, axes, float(eps), stats)


def _composite_normalize(x: Tensor, axes: tuple, eps: float) -> Tensor:
    """The same standardisation built from primitive ops (reference for tests/benchmarks)."""
    mean = x.mean(axes, keepdim=True)
    xc = x - mean
    return xc * ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()


def _empty_result(input: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """Normalising an empty batch: an empty result, still connected to the input and the
    affine parameters (whose gradient is then zero), as PyTorch."""
    y = input * 1.0
    if weight is not None:
        y = y * _bshape(weight, input.ndim)
    return y if bias is None else y + _bshape(bias, input.ndim)


def _same_param_dtype(op: str, input: Tensor, **params: Tensor | None) -> None:
    """The given affine parameters and running statistics share one dtype: the input's or,
    for a float16 or bfloat16 input, float32 (PyTorch's mixed-precision kernels, whose result
    stays in the input's dtype: autocast's bfloat16 activations meet float32 norm weights).
    PyTorch promotes nothing else and raises RuntimeError; so does this."""
    dt = input.dtype
    if all(t is None or t.dtype == dt for t in params.values()):  # the common case, first
        return
    given = {name: t for name, t in params.items() if t is not None}
    dts = {t.dtype for t in given.values()}
    half = _is_half(input.dtype)
    if not dts or dts == {input.dtype} or (half and all(d == float32 for d in dts)):
        return
    also = f" (or all float32, for this {input.dtype} input)" if half else ""
    got = ", ".join(f"{name} {t.dtype}" for name, t in given.items())
    raise RuntimeError(
        f"{op}: expected {', '.join(given)} to have the dtype of input, {input.dtype}"
        f"{also}, got {got}; PyTorch promotes nothing here: convert them with "
        f".to({input.dtype})"
    )


def _eps(dtype: Any) -> float:
    """The machine epsilon of a floating dtype, bfloat16's (2⁻⁷) included."""
    return 2.0**-7 if is_bfloat16(dtype) else float(finfo(dtype).eps)


def _is_half(dtype: Any) -> bool:
    """float16 or bfloat16: the dtypes whose norms take float32 parameters."""
    return dtype == float16 or is_bfloat16(dtype)


def _opmath(input: Tensor, *params: Tensor | None) -> Tensor:
    """The input to normalise: a float16 or bfloat16 input with float32 parameters is
    normalised in float32, as PyTorch's mixed-precision kernels (:func:`_input_dtype` rounds
    back)."""
    if _is_half(input.dtype) and any(t is not None and t.dtype == float32 for t in params):
        return input.to(float32)
    return input


def _input_dtype(y: Tensor, input: Tensor) -> Tensor:
    """``y`` in the input's dtype: a float16 or bfloat16 input with float32 parameters gives
    a result in the input's dtype, as PyTorch (computed in float32, rounded once)."""
    return y if y.dtype == input.dtype else y.to(input.dtype)


def _constant(t: Tensor | None) -> bool:
    """No gradient and no forward-mode tangent flows through ``t`` here."""
    return t is None or (not (t.requires_grad and is_grad_enabled()) and t._fw_tangent is None)


def _same_float_dtype(input: Tensor, *params: Tensor | None) -> bool:
    return input.dtype.kind == "f" and all(p is None or p.dtype == input.dtype for p in params)


def _suggested(y: Tensor, like: Tensor) -> Tensor:
    """``y`` (shaped as ``like``) in ``like.suggest_memory_format()``, PyTorch's layout for
    batch norm and rms norm results: channels-last (3d) where ``like`` suggests it, else
    row-major (a recorded copy where it is not already)."""
    if LOCAL.state.vmap or (y._data.flags.c_contiguous and like._data.flags.c_contiguous):
        return y
    fmt = suggested_format(like._data)
    return y if fmt is None else y.contiguous(memory_format=fmt)  # None: a conv's own layout


def _bshape(t: Tensor, ndim: int) -> Tensor:
    """Reshape a per-channel (C,) tensor to broadcast over (N, C, *spatial)."""
    return t.reshape((t.shape[0],) + (1,) * (ndim - 2))


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
            "do not need eval mode, please set `track_running_stats` to be False."
        )
    dims = [0, *range(2, input.ndim)]
    with no_grad():
        x = input.detach()
        running_mean.mul_(1 - m).add_(m * x.mean(dims))
        running_var.mul_(1 - m).add_(m * x.var(dims, unbiased=True))


def _no_complex(op: str, x: Any) -> None:
    """PyTorch's CPU norm kernels have no complex instance ("not implemented for
    'ComplexFloat'"): refused, not computed."""
    if isinstance(x, Tensor) and x._data.dtype.kind == "c":
        raise NotImplementedError(f"{op}: not implemented for complex input ({x.dtype})")


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
    if input.ndim < 2:
        raise _NoChannelDim(
            f"batch_norm: expected an input with at least 2 dims (N, C, ...), "
            f"got shape {tuple(input.shape)}: its channel dimension 1 is out of range"
        )
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
        if t is not None and t.shape != (c,):
            raise ShapeError(
                f"batch_norm: {name} must have shape ({c},) for an input with "
                f"{c} channels (shape {tuple(input.shape)}), got {tuple(t.shape)}"
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
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when "
                f"training, got input of shape {tuple(input.shape)}"
            )
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


def _normalized_shape(op: str, normalized_shape: Any) -> tuple[int, ...]:
    """``normalized_shape`` as a tuple, refused as PyTorch refuses it: a bare int or a
    non-integer element is a TypeError (``nn.LayerNorm(4)`` takes an int; ``F.layer_norm``
    does not), an empty shape a RuntimeError."""
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(
            f"{op}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
            f"not {type(normalized_shape).__name__}"
        )
    for pos, n in enumerate(normalized_shape):
        if isinstance(n, bool) or not isinstance(n, (int, integer)):
            raise TypeError(
                f"{op}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                f"but found element of type {type(n).__name__} at pos {pos}"
            )
    if not normalized_shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
            "least one element, but got normalized_shape = []"
        )
    return tuple(int(n) for n in normalized_shape)


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
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, integer)):
        raise TypeError(
            f"group_norm(): argument 'num_groups' (position 2) must be int, "
            f"not {type(num_groups).__name__}"
        )
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ShapeError(
            f"group_norm: expected at least 2 dimensions for input tensor (N, C, *) but "
            f"received {len(shape)} (shape {shape})"
        )
    n, c = shape[0], shape[1]
    if num_groups == 0:  # PyTorch: Python's own error, from the batch-size check
        raise ZeroDivisionError("group_norm: num_groups must be positive, got 0")
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
        raise ShapeError(f"group_norm: expected num groups to be greater than 0, got {num_groups}")
    if c % num_groups != 0:
        raise ShapeError(
            f"group_norm: expected number of channels in input to be divisible by "
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


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim`` (written into ``out`` when given, as PyTorch)."""
    from ...ops.margin_losses import clamp_min_number
    from ...ops.reduction import norm

    try:
        n = norm(input, p, dim, keepdim=True)
    except NAMED_ERRORS as err:
        lead_with("normalize", err)
        raise
    # PyTorch's input / norm.clamp_min(eps).expand_as(input): ClampMinBackward0, then
    # ExpandBackward0 (the clamp a plain one for a complex norm's real result)
    denom = clamp_min_number(n, eps) if n.dtype.kind in "fV" else n.clamp(eps, None)
    result = input / denom.expand_as(input)
    return result if out is None else write_out("normalize", result, out)


def rms_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """y = x / √(mean(x²) + ε) · γ over the trailing ``normalized_shape`` dims (RMSNorm).

    Composed from primitives (square, mean, rsqrt), so double backward and forward mode come
    for free. ``eps=None`` uses the machine epsilon of the dtype computed in (the input's;
    float32 for float16 and bfloat16), as PyTorch.
    """
    shape = _normalized_shape("rms_norm", normalized_shape)
    k = len(shape)
    if input.ndim < k:  # PyTorch's ValueError (a ShapeError is one, and a RuntimeError)
        raise ShapeError(
            f"rms_norm: Input tensor must have at least {k} dimensions, but got {input.ndim}"
        )
    if k == 0 or tuple(input.shape[-k:]) != shape:
        raise RuntimeError(
            f"rms_norm: given normalized_shape={list(shape)}, expected an input "
            f"with shape [*, {', '.join(map(str, shape))}], but got input of "
            f"size {list(input.shape)}"
        )
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"rms_norm: weight must have shape {shape}, got {tuple(weight.shape)}")
    if not (is_floating(input.dtype) or input.dtype.kind == "c"):
        # complex too: PyTorch's composite runs as written, with x * x (not |x|^2)
        raise DtypeError(f"rms_norm: expected a floating-point input, got {input.dtype}")
    dims = tuple(range(input.ndim - k, input.ndim))
    # float16 and bfloat16 are normalised in float32, rounded once at the end (PyTorch)
    x = input.float() if _is_half(input.dtype) else input
    # eps=None is the epsilon of the dtype computed in: float32's for a half input, as
    # PyTorch (the half dtype's own, 2^-10 or 2^-7, would swamp a small mean square)
    e = _eps(x.dtype) if eps is None else as_float("rms_norm", "eps", eps, 4)
    y = x * ((x * x).mean(dims, keepdim=True) + e).rsqrt()
    if weight is None:
        return _suggested(_input_dtype(y, input), input)
    if weight.dtype.kind == "c" and input.dtype.kind != "c":
        # PyTorch multiplies by the complex weight, then casts back to the real input's
        # dtype with a warning: Re(y * w) = y * Re(w) for a real y
        warnings.warn(
            "rms_norm: casting complex values to real discards the imaginary part (a complex "
            "weight with a real input gives a result in the input's dtype, as PyTorch)",
            UserWarning,
            stacklevel=2,
        )
        weight = weight.real
    if weight.dtype != input.dtype:  # PyTorch's TORCH_WARN_ONCE, then the composite path
        names = {
            "float32": "float",
            "float64": "double",
            "float16": "c10::Half",
            "bfloat16": "c10::BFloat16",
        }
        a, b = (
            names.get(str(t).split(".")[-1], str(t).split(".")[-1])
            for t in (input.dtype, weight.dtype)
        )
        warn_once(
            "rms_norm_mismatch_dtype",
            f"Mismatch dtype between input and weight: input dtype = {a}, weight dtype = {b}, "
            "Cannot dispatch to fused implementation.",
        )
    # PyTorch keeps the input's dtype whatever the weight's: it does not promote
    return _suggested(_input_dtype(y * weight, input), input)
