"""Loss functions with PyTorch's formulas, argument names and reductions.

``reduction`` is 'none' (per element), 'mean' or 'sum'. These functions check the
arguments, flatten the class dimension and reduce; most losses are composed from ops, and
cross-entropy, NLL and binary cross-entropy call their fused ops in ``ops/losses.py``
(cross-entropy: a numerically stable log-softmax and the weighted, label-smoothed NLL in one
op, about 3x fewer passes than the composite log_softmax + gather graph).

bfloat16 losses compute in float32 and round once, as PyTorch's CPU kernels; under CPU
autocast they return float32 (the losses are on its float32 list): see
:func:`bfloat16_in_float32`.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._type_names import type_name
from ...autograd.lower_precision import AUTOCAST, autocast_float32, computing_in_float32
from ...autograd.tensor import Tensor
from ...dtypes import float16, float32, is_bfloat16, is_floating, promote_types
from ...ops._util import DtypeError, ShapeError
from ...ops.binary import where
from ...ops.losses import MseLossFn
from ...ops.margin_losses import add_number, clamp_min_number, number_sub, sub_number
from ...ops.smooth_losses import HuberLossFn, SmoothL1LossFn
from ...ops.special import xlogy
from ._arg_types import as_float, bad_bool

__all__ = [
    "cosine_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "smooth_l1_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


def same_dtype_as_input(*names: str, index_target: bool = False) -> Callable[[dict], None]:
    """A check for :func:`bfloat16_in_float32`: the tensors ``names`` must have ``input``'s
    dtype (PyTorch's kernels raise RuntimeError otherwise); with ``index_target``, only
    when ``target`` holds class indices (probabilities promote instead)."""

    def check(named: dict) -> None:
        x = named["input"]
        if index_target and is_floating(named["target"].dtype):
            return
        for k in names:
            if k in named and named[k].dtype != x.dtype:
                raise RuntimeError(  # PyTorch's words; chainrule's reason after them
                    f"expected scalar type {_scalar_name(x.dtype)} but found "
                    f"{_scalar_name(named[k].dtype)} ({k} must have the same dtype as input)"
                )

    return check


def bfloat16_in_float32(
    fn: Callable[..., Tensor] | None = None,
    *,
    check: Callable[[dict], None] | None = None,
    input_dtype: bool = False,
    native: Callable[[dict], bool] | None = None,
    mixed_as_is: bool = False,
) -> Any:
    """A loss on bfloat16 tensors as PyTorch's CPU computes it: in float32, the result
    rounded once to bfloat16. Inside CPU autocast, where the losses are on the float32 list,
    bfloat16 arguments are cast up and the float32 result is returned. The casts are
    recorded, so gradients reach the bfloat16 tensors.

    Outside autocast, mixing bfloat16 with float32 follows PyTorch: ``check`` (given the
    tensor arguments by name) may refuse a mix; the result is ``input``'s dtype if
    ``input_dtype``, else bfloat16 only when every floating argument is bfloat16 (a float32
    one promotes it to float32).

    ``native`` (given the bound arguments, defaults included) says when the loss is one node
    that computes bfloat16 in float32 itself (``native_bfloat16``): with every floating
    tensor bfloat16 it is called as it is: the graph holds PyTorch's one node, no casts.

    ``mixed_as_is``: floats of several dtypes outside autocast call the loss as is (each op
    in its promoted dtype, as PyTorch's composition: a bfloat16 target's ``exp`` in bfloat16).
    """
    if fn is None:
        kw = {"check": check, "input_dtype": input_dtype, "native": native}
        return functools.partial(bfloat16_in_float32, mixed_as_is=mixed_as_is, **kw)
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Tensor:
        values = (*args, *kwargs.values())
        if not any(isinstance(a, Tensor) and is_bfloat16(a.dtype) for a in values) and not (
            AUTOCAST[0] and any(isinstance(a, Tensor) and a.dtype == float16 for a in values)
        ):  # (float16 only matters inside autocast, which computes the losses in float32)
            return fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        named = {k: v for k, v in bound.arguments.items() if isinstance(v, Tensor)}
        ups = dict(zip(named, autocast_float32(*named.values())))
        autocast = any(ups[k] is not v for k, v in named.items())
        if not autocast:
            if check is not None:
                check(named)
            if mixed_as_is and len({v.dtype for v in named.values() if is_floating(v.dtype)}) > 1:
                return fn(*args, **kwargs)
            if native is not None and all(
                is_bfloat16(v.dtype) for v in named.values() if is_floating(v.dtype)
            ):
                full = signature.bind(*args, **kwargs)
                full.apply_defaults()
                if native(full.arguments):
                    return fn(*args, **kwargs)  # one node, float32 inside (PyTorch's)
            ups = {k: v.to(float32) if is_bfloat16(v.dtype) else v for k, v in named.items()}
        bound.arguments.update(ups)
        with computing_in_float32():
            out = fn(*bound.args, **bound.kwargs)
        if autocast:
            return out  # float32, as PyTorch's autocast float32 list
        floats = [v for v in named.values() if is_floating(v.dtype)]
        first = floats[0]  # the input (a loss refuses a non-floating input)
        keep = (
            is_bfloat16(first.dtype) if input_dtype else all(is_bfloat16(v.dtype) for v in floats)
        )
        return out.to(first.dtype) if keep else out  # else promoted to float32, as PyTorch

    return wrapper


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
    """PyTorch's ``_Reduction.get_enum`` error for a ``reduction`` outside ``'none'``,
    ``'mean'``, ``'sum'`` (and ``extra``), word for word: the value as ``format`` shows it
    (a 0-d tensor as its number)."""
    if reduction not in _REDUCTIONS + extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(input: Any, target: Any, op: str, shapes: str = "same", dtypes: str = "cast") -> tuple:
    """Check a loss's (input, target) pair; ``shapes`` says what PyTorch does when they differ.

    ``dtypes`` says what it does with a floating target of another dtype: 'cast' it to the
    input's; 'promote' both to the wider one (mse/l1/smooth-l1: a float32 output against a
    float64 target gives a float64 loss); 'promote_any': also an integer or bool input or
    target beside a floating one (mse/l1/smooth-l1: the promoted dtype, as PyTorch); 'exact':
    refuse it (binary cross-entropy, PyTorch's RuntimeError); 'keep': leave both as they are
    (the one-node losses that round two dtypes as PyTorch: BCE with logits, Huber).

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
        if shapes == "warn":  # PyTorch's warning, word for word (filters match its start),
            warnings.warn(  # given before the shapes are found not to broadcast, as PyTorch
                f"Using a target size ({target.shape}) that is different to the input size "
                f"({input.shape}). This will likely lead to incorrect results due to "
                "broadcasting. Please ensure they have the same size.",
                UserWarning,
                stacklevel=3,
            )
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ShapeError(
                f"{op}: target shape {tuple(target.shape)} and input shape {tuple(input.shape)} "
                "cannot "
                "be broadcast together (sizes must be equal or 1 in each trailing dimension)"
            ) from None
    if (
        dtypes == "promote_any"
        and input.dtype.kind in "iub"
        and is_floating(target.dtype)
        and not (op == "l1_loss" and input.dtype.kind == "b")
    ):
        # mse/l1/smooth-l1 of an integer or bool input against a floating target compute in
        # the promoted dtype, as PyTorch (float32 target: float32, float64: float64); not
        # l1_loss of a bool input: PyTorch's subtracts first, and refuses bool - float
        input = input.to(promote_types(input.dtype, target.dtype))
    integers = input.dtype.kind in "iu" and target.dtype.kind in "iu"
    if not is_floating(input.dtype) and not (
        op == "l1_loss" and (input.dtype.kind == "c" or integers)
    ):
        # l1_loss is |x - y|, real for complex x and y as in PyTorch (mse_loss and the others
        # have no complex kernel there either), integer for integer x and y (its 'mean'
        # raises as the mean of integers does; bool ones raise in the subtraction)
        raise DtypeError(f"{op}: input must be floating point, got {input.dtype}")
    if target.dtype == input.dtype:
        return input, target
    if is_floating(target.dtype) or target.dtype.kind == "c":
        if dtypes == "exact":
            raise RuntimeError(
                f"{op}: Found dtype {_scalar_name(target.dtype)} but expected "
                f"{_scalar_name(input.dtype)}"
            )
        if dtypes in ("promote", "promote_any"):
            common = promote_types(input.dtype, target.dtype)
            return input.to(common), target.to(common)
        if dtypes != "keep":
            target = target.to(input.dtype)
    elif dtypes == "promote_any" and is_floating(input.dtype) and target.dtype.kind in "iub":
        if op != "l1_loss" or target.dtype.kind != "b":  # (l1: PyTorch's bool subtraction)
            target = target.to(input.dtype)  # as PyTorch's kernels (mse(float16, long): float16)
    return input, target


def _scalar_name(dtype: Any) -> str:
    """PyTorch's name of a dtype in its messages: ``Float``, ``Double``, ``Long``..."""
    try:
        return type_name(dtype).removeprefix("torch.").removesuffix("Tensor")
    except TypeError:
        return str(dtype)


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
    if type(margin) is not float:  # PyTorch's parser: a real number
        margin = as_float(op, "margin", margin, 4)
    if target.ndim > 1 or input1.ndim != input2.ndim or input1.ndim != target.ndim + 1:
        raise ShapeError(
            f"{op}: inputs must both be (N, D) with a (N,) target or (D,) with a 0-d target, "
            f"got {tuple(input1.shape)}, {tuple(input2.shape)} and target "
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
