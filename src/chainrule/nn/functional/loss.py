"""Loss functions with PyTorch's formulas, argument names and reductions.

``reduction`` is 'none' (per element), 'mean' or 'sum'. These functions check the
arguments, flatten the class dimension and reduce; most losses are composed from ops, and
cross-entropy, NLL and binary cross-entropy call their fused ops in ``ops/losses.py``
(cross-entropy: a numerically stable log-softmax and the weighted, label-smoothed NLL in one
op, about 3x fewer passes than the composite log_softmax + gather graph).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._util import DtypeError, ShapeError, no_integer_kernel
from ...ops.binary import where
from ...ops.losses import BinaryCrossEntropyFn, CrossEntropyFn, NLLLossFn, index_weights
from ...ops.softmax import log_softmax
from ...ops.unary import log, relu, softplus

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "multi_margin_loss",
    "nll_loss",
    "smooth_l1_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


def _const(arr: Any) -> Tensor:
    return Tensor._make(arr, False, None, 0)


def _legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's deprecated ``size_average`` / ``reduce`` flags, read as PyTorch reads them
    (they override ``reduction``, with the same UserWarning), never silently ignored."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(
        "size_average and reduce args will be deprecated, please use "
        f"reduction='{reduction}' instead.",
        UserWarning,
        stacklevel=3,
    )
    return reduction


def _check_reduction(reduction: str, op: str, extra: tuple = ()) -> None:
    if reduction not in _REDUCTIONS + extra:
        raise ValueError(
            f"{op}: reduction must be one of {list(_REDUCTIONS + extra)}, got {reduction!r}"
        )


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(input: Any, target: Any, op: str, shapes: str = "same") -> tuple:
    """Check a loss's (input, target) pair; ``shapes`` says what PyTorch does when they differ.

    'same': raise (binary cross-entropy, PyTorch's ValueError); 'warn': broadcast them with
    PyTorch's UserWarning (mse/l1/smooth-l1/huber); 'broadcast': broadcast silently (kl_div).
    Shapes that do not broadcast raise a ShapeError naming the op.
    """
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError(
            f"{op}: input and target must be Tensors, got {type(input).__name__} "
            f"and {type(target).__name__}"
        )
    if input.shape != target.shape:
        if shapes == "same":
            raise ShapeError(
                f"{op}: Using a target size ({target.shape}) that is different to the input "
                f"size ({input.shape}) is deprecated. Please ensure they have the same size."
            )
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ShapeError(
                f"{op}: target shape {target.shape} and input shape {input.shape} cannot "
                "be broadcast together (sizes must be equal or 1 in each trailing dimension)"
            ) from None
        if shapes == "warn":  # PyTorch's warning, word for word (filters match its start)
            warnings.warn(
                f"Using a target size ({target.shape}) that is different to the input size "
                f"({input.shape}). This will likely lead to incorrect results due to "
                "broadcasting. Please ensure they have the same size.",
                UserWarning,
                stacklevel=3,
            )
    if input.dtype.kind != "f":
        raise DtypeError(f"{op}: input must be floating point, got {input.dtype}")
    if target.dtype != input.dtype and target.dtype.kind in "fc":
        target = target.to(input.dtype)
    return input, target


# ------------------------------------------------------------------ regression losses
def _weighted(loss: Tensor, weight: Tensor | None, input: Tensor, op: str, reduction: str) -> Any:
    """``loss * weight`` reduced as PyTorch's weighted mse/l1 (mean = Σ w·loss / Σ w);
    None when there is no weight."""
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or weight.shape != input.shape:
        raise ValueError(
            f"{op}: Weights and input must have the same size (weight "
            f"{getattr(weight, 'shape', type(weight).__name__)}, input {input.shape})."
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
) -> Tensor:
    """``fn(input - target)`` reduced as mse/l1 are: shapes broadcast with PyTorch's warning,
    the legacy ``size_average``/``reduce`` arguments honoured, an optional ``weight``."""
    input, target = _pair(input, target, op, "warn")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    loss = fn(input - target)
    out = _weighted(loss, weight, input, op, reduction)
    return _reduce(loss, reduction) if out is None else out


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
        "mse_loss", input, target, size_average, reduce, reduction, weight, lambda d: d * d
    )


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
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair(input, target, "huber_loss", "warn")
    d = input - target
    ad = abs(d)
    loss = where(ad._data < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape != input.shape:
            raise ValueError(
                "huber_loss: Weights and input must have the same size (weight "
                f"{getattr(weight, 'shape', type(weight).__name__)}, input {input.shape})."
            )
        loss = loss * weight
    return _reduce(loss, reduction)


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
    input, target = _pair(input, target, "smooth_l1_loss", "warn")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    d = input - target
    ad = abs(d)
    if beta == 0:
        return _reduce(ad, reduction)
    loss = where(ad._data < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


# ------------------------------------------------------------------ classification
def _class_target(op: str, input: Tensor, target: Tensor) -> None:
    """Validate integer class-index targets against (C,), (N, C) or (N, C, d1, ...) input."""
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dimension, got a 0-d tensor")
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if target.shape != expected and not (input.ndim == 1 and target.shape == (1,)):
        raise ShapeError(
            f"{op}: for input of shape {input.shape} the class-index target must have shape "
            f"{expected}, got {target.shape}"
            + (
                " (class probabilities must have the input's shape)"
                if target.dtype.kind == "f"
                else ""
            )
        )


def _flatten_classes(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N·d1·..., C); (C,) -> (1, C)."""
    if x.ndim == 1:
        return x.reshape((1, -1))
    if x.ndim == 2:
        return x
    c = x.shape[1]
    return x.movedim(1, -1).reshape((-1, c))


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits ``input`` and class indices or class probabilities.

    Shapes: input (C,), (N, C) or (N, C, d1, ...); target class indices () / (N,) /
    (N, d1, ...) (integer) or probabilities of the input's shape (float). With indices and
    reduction='mean', the sum is divided by Σ w[target] over non-ignored entries (as
    PyTorch); with probabilities it is divided by the number of samples N·d1·....
    """
    op = "cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"{op}: input and target must be Tensors")
    if input.dtype.kind != "f":
        raise DtypeError(f"{op}: input (logits) must be floating point, got {input.dtype}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    c = input.shape[1] if input.ndim >= 2 else input.shape[0] if input.ndim == 1 else 0
    if weight is not None and weight.shape != (c,):
        raise ShapeError(f"{op}: weight must have shape ({c},) (one per class), got {weight.shape}")
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            raise ShapeError(
                f"{op}: a floating target is read as class probabilities and must "
                f"have the input's shape {input.shape}, got {target.shape}; for "
                "class indices pass an integer tensor (target.long())"
            )
        cdim = 1 if input.ndim >= 2 else 0
        tgt = target.to(input.dtype)
        if label_smoothing > 0:
            tgt = tgt * (1.0 - label_smoothing) + label_smoothing / c
        lp = log_softmax(input, cdim)
        if weight is not None:
            shp = (c,) + (1,) * (input.ndim - 2) if input.ndim >= 2 else (c,)
            lp = lp * weight.to(input.dtype).reshape(shp)
        loss = -(lp * tgt).sum(cdim)
        if reduction == "mean":
            return loss.sum() / max(input.numel() // max(c, 1), 1)
        return _reduce(loss, reduction)
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must be integer class indices or float probabilities, got {target.dtype}"
        )
    _class_target(op, input, target)
    x2 = _flatten_classes(input)
    out = CrossEntropyFn.apply(
        x2, target, weight, int(ignore_index), float(label_smoothing), reduction
    )
    if reduction == "none":  # (C,) logits with a (1,) target give a 0-d loss, as PyTorch
        return out.reshape(target.shape if input.ndim >= 2 else ())
    return out


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` at class indices ``target``.

    Shapes as :func:`cross_entropy` with index targets; 'mean' divides by Σ w[target].
    """
    op = "nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got {target.dtype}")
    _class_target(op, input, target)
    no_integer_kernel(op, input)
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if weight is not None and weight.shape != (c,):
        raise ShapeError(f"{op}: weight must have shape ({c},), got {weight.shape}")
    out = NLLLossFn.apply(_flatten_classes(input), target, weight, int(ignore_index), reduction)
    if reduction == "none":  # (C,) log-probabilities with a (1,) target: 0-d, as PyTorch
        return out.reshape(target.shape if input.ndim >= 2 else ())
    return out


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """-w (y log x + (1-y) log(1-x)) for probabilities x in [0, 1] (logs clamped >= -100)."""
    op = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    input, target = _pair(input, target, op)
    xd = input._data
    if xd.size and not (xd.min() >= 0 and xd.max() <= 1):  # NaN fails both comparisons
        raise ValueError(
            f"{op}: all elements of input should be between 0 and 1 (got range "
            f"[{float(xd.min()):.4g}, {float(xd.max()):.4g}]); apply sigmoid first "
            "or use binary_cross_entropy_with_logits"
        )
    yd = target._data
    if yd.size and not (yd.min() >= 0 and yd.max() <= 1):  # NaN fails both comparisons
        raise ValueError(
            f"{op}: all elements of target should be between 0 and 1 (got range "
            f"[{float(yd.min()):.4g}, {float(yd.max()):.4g}])"
        )
    loss = BinaryCrossEntropyFn.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


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
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
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


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge (SVM) loss: Σ_{j≠y} max(0, w_y (margin - x_y + x_j))^p / C."""
    op = "multi_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, got {p}")
    if input.ndim not in (1, 2):
        raise ShapeError(f"{op}: expected input of shape (C,) or (N, C), got {input.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got {target.dtype}")
    x = input.reshape((1, -1)) if input.ndim == 1 else input
    n, c = x.shape
    t = target._data.reshape(-1)
    if t.shape != (n,):
        raise ShapeError(
            f"{op}: target must have shape ({n},) for input {input.shape}, got {target.shape}"
        )
    index_weights(op, t, c, None, -(10**18), x.dtype)
    xp = get_array_module(t)
    rows = xp.arange(n)
    xy = x[rows, t].reshape((n, 1))
    z = relu(x - xy + margin)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight[t].reshape((n, 1))
    mask = xp.ones((n, c), x.dtype)
    mask[rows, t] = 0
    loss = (z * _const(mask)).sum(1) / c
    if input.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


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
    input, target = _pair(input, target, op, "broadcast")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        pos = target._data > 0
        safe = where(pos, target, 1.0)
        loss = where(pos, target * log(safe), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


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
    if input1.shape != input2.shape or input1.ndim not in (1, 2):
        raise ShapeError(
            f"{op}: inputs must both be (N, D) or (D,), got {input1.shape} and {input2.shape}"
        )
    expected = input1.shape[:1] if input1.ndim == 2 else ()
    if target.shape != expected:
        raise ShapeError(f"{op}: target must have shape {expected}, got {target.shape}")
    d = input1.ndim - 1
    eps = 1e-12
    prod = (input1 * input2).sum(d)
    m1 = (input1 * input1).sum(d) + eps
    m2 = (input2 * input2).sum(d) + eps
    cos = prod / (m1 * m2).sqrt()
    t = target._data
    loss = where(t == 1, 1.0 - cos, 0.0) + where(t == -1, relu(cos - margin), 0.0)
    return _reduce(loss, reduction)
