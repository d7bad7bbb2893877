"""Loss functions with PyTorch's formulas, argument names and reductions.

``reduction`` is 'none' (per element), 'mean' or 'sum'. These functions check the
arguments, flatten the class dimension and reduce; most losses are composed from ops, and
cross-entropy, NLL and binary cross-entropy call their fused ops in ``ops/losses.py``
(cross-entropy: a numerically stable log-softmax and the weighted, label-smoothed NLL in one
op, about 3x fewer passes than the composite log_softmax + gather graph).

bfloat16 losses compute in float32 and round once, as PyTorch's CPU kernels; under CPU
autocast they return float32 (the losses are on its float32 list): see
:func:`bfloat16_in_float32`.

This file holds the regression losses (``mse_loss``, ``l1_loss``, ``huber_loss``,
``smooth_l1_loss``), ``kl_div`` and ``cosine_embedding_loss``; the argument and reduction
rules every loss family shares are in ``_loss_args.py``, the bfloat16 policy in
``_loss_precision.py`` (both re-exported here), the classification losses in
``classification_loss.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...ops._tensor_args import first_not_tensor
from ...ops._util import DtypeError, ShapeError
from ...ops.binary import where
from ...ops.losses import MseLossFn
from ...ops.margin_losses import add_number, clamp_min_number, number_sub, sub_number
from ...ops.smooth_losses import HuberLossFn, SmoothL1LossFn
from ...ops.special import xlogy
from ._arg_types import as_float, bad_bool
from ._loss_args import (  # re-exported: the other loss families imported them from here
    _check_reduction,
    _legacy_reduction,
    _pair,
    _reduce,
    _scalar_name,
)
from ._loss_precision import (
    bfloat16_in_float32,
    same_dtype_as_input,  # noqa: F401 - re-exported (see above)
)

__all__ = [  # (the shared loss helpers are in _loss_args.py and _loss_precision.py)
    "cosine_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "smooth_l1_loss",
]


# ------------------------------------------------------------------ regression losses
def _weighted(loss: Tensor, weight: Tensor | None, input: Tensor, op: str, reduction: str) -> Any:
    """``loss * weight`` reduced as PyTorch's weighted mse/l1 (mean = Σ w·loss / Σ w);
    None when there is no weight."""
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or weight.shape != input.shape:
        raise ValueError(
            f"{op}: Weights and input must have the same size (weight "
            f"{getattr(weight, 'shape', type(weight).__name__)}, input {tuple(input.shape)})."
        )
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def _pointwise_loss(
    op: str,
    input: Tensor,
    target: Tensor,
    size_average: Any,
    reduce: Any,
    reduction: str,
    weight: Tensor | None,
    fn: Any,
    fused: Any = None,
) -> Tensor:
    """``fn(input - target)`` reduced as mse/l1 are: shapes broadcast with PyTorch's warning,
    the legacy ``size_average``/``reduce`` arguments honoured, an optional ``weight``;
    without one, the op's ``fused`` Function (if any) computes the loss and its reduction."""
    input, target = _pair(input, target, op, "warn", "promote_any")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    input, target = _broadcast_pair(input, target)  # PyTorch's broadcast_tensors (expand)
    if weight is None and fused is not None:
        return fused.apply(input, target, reduction)
    loss = fn(input - target)
    if reduction == "mean" and loss.dtype.kind in "iu":  # l1_loss of integers
        raise DtypeError(
            f"{op}: mean(): could not infer output dtype. Input dtype must be either a "
            f"floating point or complex dtype. Got: {_scalar_name(loss.dtype)}"
        )
    out = _weighted(loss, weight, input, op, reduction)
    return _reduce(loss, reduction) if out is None else out


@bfloat16_in_float32(native=lambda a: a["weight"] is None)
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """(x - y)², optionally times ``weight`` (input's shape; 'mean' then divides by Σ w).

    Input and target of different shapes are broadcast, with PyTorch's UserWarning.
    """
    return _pointwise_loss(
        "mse_loss",
        input,
        target,
        size_average,
        reduce,
        reduction,
        weight,
        lambda d: d * d,
        MseLossFn,
    )


@bfloat16_in_float32
def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """|x - y|, optionally times ``weight`` (input's shape; 'mean' then divides by Σ w).

    Input and target of different shapes are broadcast, with PyTorch's UserWarning.
    """
    return _pointwise_loss("l1_loss", input, target, size_average, reduce, reduction, weight, abs)


@bfloat16_in_float32(native=lambda a: a["weight"] is None, mixed_as_is=True)
def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """½d² if |d| < δ else δ(|d| - ½δ), d = x - y; optionally times ``weight``.

    With ``weight`` (input's shape), 'mean' is the plain mean of the weighted losses, as
    PyTorch. Input and target of different shapes are broadcast, with PyTorch's UserWarning.
    """
    _check_reduction(reduction, "huber_loss")
    if type(delta) is not float:  # PyTorch's parser: a real number
        delta = as_float("huber_loss", "delta", delta, 4)
    if not delta > 0:  # NaN too, as PyTorch
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input, target = _pair(input, target, "huber_loss", "warn", "keep")
    if weight is not None and (not isinstance(weight, Tensor) or weight.shape != input.shape):
        raise ValueError(
            "huber_loss: Weights and input must have the same size (weight "
            f"{getattr(weight, 'shape', type(weight).__name__)}, input {tuple(input.shape)})."
        )
    input, target = _broadcast_pair(input, target)
    if weight is None:  # one HuberLossBackward0 node, reduction included
        return HuberLossFn.apply(input, target, reduction, float(delta))
    return _reduce(HuberLossFn.apply(input, target, "none", float(delta)) * weight, reduction)


@bfloat16_in_float32(native=lambda a: a["beta"] != 0)
def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """½d²/β if |d| < β else |d| - ½β (plain L1 when β = 0).

    Input and target of different shapes are broadcast, with PyTorch's UserWarning.
    """
    input, target = _pair(input, target, "smooth_l1_loss", "warn", "promote_any")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    if type(beta) is not float:  # PyTorch's parser: a real number
        beta = as_float("smooth_l1_loss", "beta", beta, 4)
    if not beta >= 0:  # NaN too, as PyTorch
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:  # plain L1, composed as PyTorch composes it (abs, then the reduction)
        return _reduce(abs(input - target), reduction)
    input, target = _broadcast_pair(input, target)
    return SmoothL1LossFn.apply(input, target, reduction, float(beta))


def _broadcast_pair(input: Tensor, target: Tensor) -> tuple:
    """Both expanded to their broadcast shape (PyTorch's loss node reads two ExpandBackward0
    nodes when the shapes differ); unchanged when they agree."""
    if input.shape == target.shape:
        return input, target
    shape = tuple(np.broadcast_shapes(input.shape, target.shape))
    return (
        input if input.shape == shape else input.expand(shape),
        target if target.shape == shape else target.expand(shape),
    )


# ------------------------------------------------------------------ classification
@bfloat16_in_float32(mixed_as_is=True)
def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target ‖ exp(input)) pointwise: y (log y - x), or e^y (y - x) if log_target.

    ``input`` holds log-probabilities. 'batchmean' divides the sum by input.shape[0] (the
    mathematically correct KL); 'mean' divides by the number of elements, as PyTorch.
    """
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":  # PyTorch's warning, word for word
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            UserWarning,
            stacklevel=2,
        )
    _check_reduction(reduction, op, ("batchmean",))
    if type(log_target) is not bool:  # PyTorch's parser: a Python bool only
        bad_bool(op, "log_target", log_target)
    for t in (input, target):
        if isinstance(t, Tensor) and t.dtype.kind in "iub":  # PyTorch's words
            raise DtypeError(f"kl_div: Integral inputs not supported. (got {t.dtype})")
    # the target's own terms (e^y, y log y) in its dtype, then promoted with the input's, as
    # PyTorch (a float32 target of a float64 input: e^y rounded to float32)
    input, target = _pair(input, target, op, "broadcast", "keep")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # target log target, 0 at target = 0 (PyTorch's xlogy); a negative target gives
        # log < 0 = NaN as in PyTorch, not a silent 0
        loss = xlogy(target, target) - target * input  # PyTorch's XlogyBackward0
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


@bfloat16_in_float32(mixed_as_is=True)
def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1."""
    op = "cosine_embedding_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    tensors = [("input1", input1), ("input2", input2), ("target", target)]
    if not all(isinstance(t, Tensor) for _, t in tensors):  # PyTorch's ATen call's parser
        raise first_not_tensor(op, tensors, False)
    if type(margin) is not float:  # PyTorch's parser: a real number
        margin = as_float(op, "margin", margin, 4)
    if target.ndim > 1 or input1.ndim != input2.ndim or input1.ndim != target.ndim + 1:
        first = (  # PyTorch's words
            "0D or 1D target tensor expected, multi-target not supported"
            if target.ndim > 1
            else f"{target.ndim}D target tensor expects {target.ndim + 1}D input tensors, but "
            f"found inputs with sizes {list(input1.shape)} and {list(input2.shape)}."
        )
        raise ShapeError(
            f"{first}\n{op}: inputs must both be (N, D) with a (N,) target or (D,) with a 0-d "
            f"target, got {tuple(input1.shape)}, {tuple(input2.shape)} and target "
            f"{tuple(target.shape)}"
        )
    try:  # the three broadcast (a (1, D) input, a (1,) target), as PyTorch
        rows = np.broadcast_shapes(input1.shape, input2.shape)[:-1]
        np.broadcast_shapes(rows, target.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)} and target "
            f"{tuple(target.shape)} cannot be broadcast together"
        ) from None
    d = input1.ndim - 1
    eps = 1e-12
    # PyTorch's composition: its numbers C++ Scalars (AddBackward1, SubBackward1), 1 - cos
    # with the 1 wrapped (SubBackward0 listing None, cos)
    prod = (input1 * input2).sum(d)
    m1 = add_number((input1 * input1).sum(d), eps)
    m2 = add_number((input2 * input2).sum(d), eps)
    cos = prod / (m1 * m2).sqrt()
    t = target._data
    # clamp_min, not relu: at cos = margin the gradient passes, as PyTorch's clamp_min_
    neg = clamp_min_number(sub_number(cos, margin), 0)
    loss = where(t == 1, number_sub(1, cos), 0.0) + where(t == -1, neg, 0.0)
    return _reduce(loss, reduction)
