"""Binary classification losses: ``binary_cross_entropy`` (on probabilities) and
``binary_cross_entropy_with_logits``, PyTorch's signatures and semantics.

Both are one node where PyTorch has one (``BinaryCrossEntropyBackward0`` in
``ops/binary_cross_entropy.py``, ``BinaryCrossEntropyWithLogitsBackward0`` in
``ops/bce_with_logits.py``); with weights that require grad, or logits that are not floating,
``binary_cross_entropy_with_logits`` is composed from ops instead so that those weights
get their gradients. Moved out of ``classification_loss.py`` (session 40), which
re-exports both; the shared argument handling (legacy ``size_average``/``reduce``,
reductions, shape checks) is in :mod:`.loss`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.lower_precision import autocast_float32
from ...autograd.state import is_grad_enabled
from ...autograd.tensor import Tensor
from ...dtypes import is_bfloat16, is_floating
from ...meta.array import MetaArray
from ...ops._util import ShapeError, operands_broadcast_error, torch_words
from ...ops.bce_with_logits import BinaryCrossEntropyWithLogitsFn
from ...ops.binary_cross_entropy import BinaryCrossEntropyFn
from ...ops.unary import softplus
from ._loss_args import _check_reduction, _legacy_reduction, _pair, _reduce, _scalar_name
from ._loss_precision import bfloat16_in_float32

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits"]


class _ProbabilityRangeError(ValueError, RuntimeError):
    """binary_cross_entropy's input or target outside [0, 1]: PyTorch's RuntimeError, and a
    ValueError as chainrule raised before."""


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """-w (y log x + (1-y) log(1-x)) for probabilities x in [0, 1] (logs clamped >= -100).

    One node, PyTorch's ``BinaryCrossEntropyBackward0``, with the weight (broadcast to the
    input's shape, taking no gradient, as PyTorch) and the reduction inside; float16 and
    bfloat16 are computed as PyTorch's CPU kernel computes them. Inside CPU autocast (the op
    is on its float32 list) float16 and bfloat16 arguments are cast to float32 first.
    """
    op = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if weight is not None and not isinstance(weight, Tensor):
        raise TypeError(f"{op}(): argument 'weight' must be Tensor, not {type(weight).__name__}")
    input, target, weight = autocast_float32(input, target, weight)
    input, target = _pair(input, target, op, dtypes="exact")
    if not is_floating(target.dtype):
        raise RuntimeError(
            f"{op}: Found dtype {_scalar_name(target.dtype)} but expected "
            f"{_scalar_name(input.dtype)} (the target holds probabilities: convert it with "
            "target.float())"
        )
    xd, yd = input._data, target._data
    if type(xd) is MetaArray or type(yd) is MetaArray:  # no values to check (PyTorch's meta)
        xd = yd = xd.reshape(-1)[:0]
    if xd.size and not (xd.min() >= 0 and xd.max() <= 1):  # NaN fails both comparisons
        raise _ProbabilityRangeError(
            f"{op}: all elements of input should be between 0 and 1 (got range "
            f"[{float(xd.min()):.4g}, {float(xd.max()):.4g}]); apply sigmoid first "
            "or use binary_cross_entropy_with_logits"
        )
    if yd.size and not (yd.min() >= 0 and yd.max() <= 1):  # NaN fails both comparisons
        raise _ProbabilityRangeError(
            f"{op}: all elements of target should be between 0 and 1 (got range "
            f"[{float(yd.min()):.4g}, {float(yd.max()):.4g}])"
        )
    _check_weight_shape(op, "weight", weight, input.shape)
    if weight is not None and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(  # PyTorch's words: its derivative has no rule for the weight
            f"The function '{op}' is not differentiable with respect to argument 'weight'. "
            "This input cannot have requires_grad True."
        )
    return BinaryCrossEntropyFn.apply(input, target, weight, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Stable BCE on logits: (1-y) x + (1 + (pw-1) y) · softplus(-x), times ``weight``.

    softplus(-x) = max(-x, 0) + log(1 + e^(-|x|)) never overflows; without pos_weight this is
    max(x, 0) - x·y + log(1 + e^(-|x|)).

    The result has ``target``'s floating dtype, as in PyTorch (float32 logits with a bfloat16
    target give bfloat16; float64 logits with a float32 target give float32), computed in
    the wider of the two dtypes (float32 for bfloat16) and rounded once. Inside CPU autocast
    (the op is on its float32 list) bfloat16 and float16 arguments are cast to float32 first.
    """
    if isinstance(input, Tensor) and isinstance(target, Tensor):
        if not is_floating(target.dtype) and is_floating(input.dtype):
            raise RuntimeError(
                "binary_cross_entropy_with_logits: result type "
                f"{_scalar_name(input.dtype)} can't be cast to the desired output type "
                f"{_scalar_name(target.dtype)} (the target holds probabilities: convert it "
                "with target.float())"
            )
        (target,) = autocast_float32(target)
        want = target.dtype
        if _one_node(weight, pos_weight) and is_floating(input.dtype):
            # logits and targets of two floating dtypes go in as they are: the node gives
            # PyTorch's roundings and a loss of the target's dtype
            (input,) = autocast_float32(input)
            out = _bce_with_logits_node(
                input, target, weight, size_average, reduce, reduction, pos_weight
            )
        else:
            if want != input.dtype and is_floating(want) and is_floating(input.dtype):
                wide = _computing_dtype(input.dtype, want)
                input, target = input.to(wide), target.to(wide)
            out = _bce_with_logits(
                input, target, weight, size_average, reduce, reduction, pos_weight
            )
        return out.to(want) if is_floating(want) and out.dtype != want else out
    return _bce_with_logits(input, target, weight, size_average, reduce, reduction, pos_weight)


def _one_node(weight: Any, pos_weight: Any) -> bool:
    """Whether the loss is PyTorch's one node: weights that are tensors (or None) taking no
    gradient. PyTorch refuses weights that require one; chainrule composes the loss then,
    so they get their gradients."""
    return all(
        w is None or (isinstance(w, Tensor) and not w.requires_grad) for w in (weight, pos_weight)
    )


def _target_size_error(op: str, input: Tensor, target: Tensor) -> ShapeError:  # noqa: A002
    """PyTorch's ValueError for a target of another shape than the input's, its words first
    (no op name: CONTRIBUTING.md, "Error messages"), the op on the next line."""
    return torch_words(  # type: ignore[return-value]
        ShapeError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})\n"
            f"{op}: the target must have the input's shape"
        )
    )


def _check_weight_shape(op: str, name: str, w: Tensor | None, shape: tuple) -> None:
    """PyTorch's RuntimeError for a weight that does not broadcast to the input's shape, its
    words: the broadcast error of its ``loss * weight`` (``pos_weight * target``, pos_weight
    first) where the shapes do not broadcast, else its in-place "output with shape ...";
    the op and the weight on the next line."""
    if w is None:
        return
    shape, wshape = tuple(shape), tuple(w.shape)
    hint = f"{op}: {name} of shape {wshape} must broadcast to the input's shape {shape}"
    try:
        full = tuple(np.broadcast_shapes(wshape, shape))
    except ValueError:
        pair = (wshape, shape) if name == "pos_weight" else (shape, wshape)
        err = operands_broadcast_error(op, *pair)
        err.args = (err.args[0].split("\n")[0] + "\n" + hint,)
        raise err from None
    if full != shape:
        raise torch_words(
            RuntimeError(
                f"output with shape {list(shape)} doesn't match the broadcast shape "
                f"{list(full)}\n{hint}"
            )
        )


def _bce_with_logits_node(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    size_average: Any,
    reduce: Any,
    reduction: str,
    pos_weight: Tensor | None,
) -> Tensor:
    """:func:`binary_cross_entropy_with_logits` as PyTorch's one node (any floating dtype;
    float16/bfloat16 computed in float32 inside it)."""
    op = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if input.shape != target.shape:
        raise _target_size_error(op, input, target)
    input, target = _pair(input, target, op, dtypes="keep")
    _check_weight_shape(op, "weight", weight, input.shape)
    _check_weight_shape(op, "pos_weight", pos_weight, input.shape)
    return BinaryCrossEntropyWithLogitsFn.apply(input, target, weight, pos_weight, reduction)


def _computing_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    """The dtype two floating dtypes are computed in: float32 for bfloat16 with a narrower
    one (NumPy has no bfloat16 arithmetic), else NumPy's promotion."""
    if is_bfloat16(a) or is_bfloat16(b):
        return np.dtype(np.float64) if np.float64 in (a, b) else np.dtype(np.float32)
    return np.promote_types(a, b)


@bfloat16_in_float32
def _bce_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    size_average: Any,
    reduce: Any,
    reduction: str,
    pos_weight: Tensor | None,
) -> Tensor:
    """:func:`binary_cross_entropy_with_logits` (bfloat16 computed in float32)."""
    op = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if isinstance(input, Tensor) and isinstance(target, Tensor) and input.shape != target.shape:
        raise _target_size_error(op, input, target)
    input, target = _pair(input, target, op)
    sp = softplus(-input, 1.0, float("inf"))
    if pos_weight is not None:
        lw = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + lw * sp
    else:
        loss = (1.0 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
