"""The rest of PyTorch's losses: Gaussian and Poisson NLL, the soft-margin and hinge losses,
the multi-label margin losses and the triplet loss with a custom distance.

All are compositions of differentiable chainrule ops (so gradcheck, double backward and
forward mode come from those ops), composed as PyTorch composes them so that the graphs
(``grad_fn`` and its ``next_functions``) are PyTorch's: log σ(x) is ``logsigmoid`` (stable
for large |x|), PyTorch's C++ numbers are ``AddBackward1`` / ``MulBackward1`` nodes and its
``clamp_min`` is ``ClampMinBackward0`` (``ops/margin_losses.py``). Argument handling
(legacy ``size_average``/``reduce``, reductions, input/target pairs) is shared with
:mod:`.loss`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._layout import is_vmap_batched
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.lower_precision import autocast_float32_op
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...dtypes import get_default_dtype, is_floating
from ...meta.array import ITEM_ERROR, MetaArray, follow
from ...ops._util import DtypeError, ShapeError, check_broadcast, constant
from ...ops.binary import where
from ...ops.clamping import clamp_min
from ...ops.margin_losses import (
    MultilabelMarginLossFn,
    SoftMarginLossFn,
    add_number,
    clamp_min_number,
    mul_number,
    number_sub,
)
from ...ops.unary import log
from ._arg_types import as_float, bad_bool
from ._loss_args import (
    _check_reduction,
    _check_reduction_concat,
    _legacy_reduction,
    _pair,
    _reduce,
)
from .activation_smooth import logsigmoid
from .distance import pairwise_distance

__all__ = [
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_with_distance_loss",
]


def _tensor(x: Any, op: str, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """½ (log max(var, eps) + (input - target)² / max(var, eps)) (+ ½ log 2π if ``full``).

    ``var`` has the input's shape, or one dimension fewer (a variance shared along the last
    dimension), or the input's rank with exactly one dimension of size 1 where the input's
    differs; a float is a constant variance. As PyTorch, the clamp at ``eps`` is applied to a
    copy outside autograd: the gradient w.r.t. ``var`` is the loss's derivative at the clamped
    value, passed straight through (not zeroed where var < eps).
    """
    op = "gaussian_nll_loss"
    input, target = _tensor(input, op, "input"), _tensor(target, op, "target")
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")  # PyTorch's words
        fdtype = input.dtype if is_floating(input.dtype) else get_default_dtype()
        xp = get_array_module(input._data)
        var = constant(follow(xp.full(input.shape, var, dtype=fdtype), input._data))  # var * ones
    elif not isinstance(var, Tensor):
        raise TypeError(f"{op}: var must be a Tensor or a float, got {type(var).__name__}")
    elif type(var._data) is MetaArray:  # PyTorch's torch.any(var < 0) reads a value
        raise RuntimeError(ITEM_ERROR)
    elif is_vmap_batched(var._data):  # that Python-level check under vmap: refused
        from ...func._logical import CONTROL_FLOW_MESSAGE, value_error  # noqa: PLC0415 - func imports nn

        raise value_error(CONTROL_FLOW_MESSAGE, var._data.level)
    elif bool((var._data < 0).any()):
        raise ValueError("var has negative entry/entries")  # PyTorch's words
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (
            var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1
        ):
            raise ShapeError(
                f"{op}: var is of incorrect size: got {tuple(var.shape)} for input "
                f"{tuple(input.shape)} "
                "(valid: the input's shape, the input's shape without its last dimension, or "
                "the input's shape with one mismatched dimension of size 1)"
            )
    _check_reduction_concat(reduction, " is not valid")  # PyTorch's text
    if not is_floating(var.dtype):  # PyTorch fails clamping an integer var (bfloat16 is fine)
        raise DtypeError(f"{op}: var must be floating point, got {var.dtype}")
    check_broadcast(op, input, target)
    check_broadcast(op, input, var)
    if type(eps) is not float:  # PyTorch's clamp_(min=eps): a number (or a tensor)
        if eps is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if not isinstance(eps, Tensor):
            eps = as_float("clamp_", "min", eps)
    # as PyTorch: a clone clamped in place outside autograd (straight-through clamp)
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


@autocast_float32_op
def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: Any = None,
    eps: float = 1e-8,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood: e^x - y x (``log_input``) or x - y log(x + eps).

    ``full`` adds Stirling's approximation of log(y!), y log y - y + ½ log(2π y), where
    y > 1 (zero elsewhere, as PyTorch). Input and target broadcast silently, as PyTorch.
    """
    op = "poisson_nll_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction_concat(reduction)  # PyTorch's text
    input, target = _tensor(input, op, "input"), _tensor(target, op, "target")
    if type(log_input) is not bool or type(full) is not bool or type(eps) is not float:
        bad_bool(op, "log_input", log_input, 3)  # PyTorch's parser: bools, a real eps
        bad_bool(op, "full", full, 4)
        eps = as_float(op, "eps", eps, 5)
    check_broadcast(op, target, input)  # PyTorch: target * input first
    # PyTorch's composition (its numbers C++ Scalars: AddBackward1 / MulBackward1)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * log(add_number(input, eps))
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):  # targets <= 1: masked below
            stirling = (
                target * log(target)
                - target
                + mul_number(log(mul_number(target, 2 * math.pi)), 0.5)
            )
        # in place, as PyTorch: the loss keeps its dtype (a float16 loss with an integer
        # target's float32 Stirling term stays float16)
        loss = loss.add_(stirling.masked_fill(target <= 1, 0))
    return _reduce(loss, reduction)


@autocast_float32_op
def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Two-class logistic loss log(1 + e^(-y x)) for targets y in {1, -1}, one node
    (``SoftMarginLossBackward0``, ``ops/margin_losses.py``; no overflow for large margins).
    As PyTorch's kernel, it has no gradient for the target: a target that requires grad
    raises (outside no_grad)."""
    op = "soft_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    input, target = _pair(input, target, op, "broadcast")
    if target.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{op}: The function 'soft_margin_loss' is not differentiable with respect to "
            "argument 'target'. This input cannot have requires_grad True (detach it)."
        )
    shape = np.broadcast_shapes(input.shape, target.shape)
    if shape != input.shape:  # PyTorch's kernel writes the loss in the input's shape
        raise ShapeError(
            f"{op}: output with shape {list(input.shape)} doesn't match the broadcast shape "
            f"{list(shape)} (the target must broadcast to the input's shape)"
        )
    return SoftMarginLossFn.apply(input, target.detach(), reduction)  # one node


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label one-versus-all logistic loss, averaged over the classes (last dim):
    -(y log σ(x) + (1 - y) log σ(-x)) · w = (y softplus(-x) + (1 - y) softplus(x)) · w.

    Shape: input and target (N, C) (or (C,), or (N, ..., C): the last dimension holds the
    classes); ``weight`` broadcasts against them; 'none' returns one loss per sample.
    """
    op = "multilabel_soft_margin_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction_concat(reduction, " is not valid")  # PyTorch's own text (no get_enum)
    input, target = _pair(input, target, op, "broadcast", "promote")  # f32 with f64: f64
    if input.ndim == 0:
        raise IndexError(f"{op}: input must have a class dimension (the last), got a 0-d tensor")
    # PyTorch's -(y log σ(x) + (1 - y) log σ(-x)), LogSigmoidBackward0 nodes
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        check_broadcast(op, loss, weight)
        loss = loss * weight
    # PyTorch sums over the input's last dimension counted from the front (input.dim() - 1),
    # also when a higher-rank target broadcast the loss to more dimensions
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


@autocast_float32_op
def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (for x a distance, y in {1, -1}).

    As PyTorch, a target that is neither adds both terms (x where y != -1, the hinge where
    y != 1). The target only selects: no gradient flows to it. An integer input is computed
    in integers with the margin truncated, as PyTorch's kernel ('mean' then raises).
    """
    op = "hinge_embedding_loss"
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if type(margin) is not float:  # PyTorch's parser: a real number
        margin = as_float(op, "margin", margin, 3)
    input, target = _tensor(input, op, "input"), _tensor(target, op, "target")
    check_broadcast(op, target, input)  # (PyTorch names the target a)
    zero: float = 0.0
    if input.dtype.kind in "iub":  # PyTorch's integer kernel: the margin truncated to int
        if reduction == "mean":
            raise DtypeError(f"{op}: reduction='mean' needs a floating input, got {input.dtype}")
        margin, zero = int(margin), 0
    t = target._data
    # PyTorch's (margin - x).clamp_min_(0), the margin wrapped (SubBackward0 listing None,
    # x); clamp, not relu: at the kink margin - x = 0 the gradient passes
    if input.dtype.kind in "fV":
        hinge = clamp_min_number(number_sub(margin, input), 0)
    else:
        hinge = clamp_min(margin - input, 0)
    loss = where(t != 1, hinge, zero) + where(t != -1, input, zero)
    return _reduce(loss, reduction)


@autocast_float32_op
def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class multi-label hinge loss Σ_{j ∈ y} Σ_{i ∉ y} max(0, 1 - (x_j - x_i)) / C.

    Shape: input (C,) or (N, C); target int64 of the same shape holding each sample's class
    indices, ended by the first -1 (the rest is ignored, but must still be in [-1, C)).
    A class listed twice counts twice, as PyTorch.
    """
    op = "multilabel_margin_loss"
    if any(isinstance(t, Tensor) and is_vmap_batched(t._data) for t in (input, target)):
        from ...func._per_sample import per_sample  # noqa: PLC0415 - func imports nn

        return per_sample(  # cr.func.vmap: it reads the targets' values, once per sample
            multilabel_margin_loss, input, target, size_average, reduce, reduction
        )
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    input, target = _tensor(input, op, "input"), _tensor(target, op, "target")
    if input.ndim > 2 or (input.ndim >= 1 and input.shape[-1] == 0):
        raise ShapeError(
            f"{op}: Expected non-empty vector or matrix with optional 0-dim batch size, "
            f"but got: {list(input.shape)}"
        )
    c = input.shape[-1] if input.ndim else 1
    if (input.ndim <= 1 and not (target.ndim <= 1 and target.numel() == c)) or (
        input.ndim == 2 and target.shape != input.shape
    ):
        raise ShapeError(
            f"{op}: inconsistent target size: {list(target.shape)} for input of size: "
            f"{list(input.shape)}"
        )
    if target.dtype != np.int64:
        raise DtypeError(f"{op}: expected target of scalar type int64, but found {target.dtype}")
    if input.dtype.kind != "f":
        raise DtypeError(f"{op}: input must be floating point, got {input.dtype}")
    t = target._data.reshape(-1, c)
    if t.size and (int(t.min()) < -1 or int(t.max()) >= c):
        raise RuntimeError(
            f"{op}: argument #2 'target' is out of range: got values in "
            f"[{int(t.min())}, {int(t.max())}], valid class indices are in [0, {c}) and -1 "
            "ends the list"
        )
    return MultilabelMarginLossFn.apply(input, target, reduction)  # one node


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) for any distance ``d`` (default
    :func:`pairwise_distance`); ``swap`` uses min(d(a, n), d(p, n)) as the negative distance.
    """
    op = "triplet_margin_with_distance_loss"
    _check_reduction(reduction, op)  # PyTorch's text (an f-string there: any value)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    dims = [getattr(x, "ndim", None) for x in (anchor, positive, negative)]
    if not dims[0] == dims[1] == dims[2]:
        raise ShapeError(
            f"{op}: The anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and "
            f"negative {dims[2]}D inputs"
        )
    dist = pairwise_distance if distance_function is None else distance_function
    check_broadcast(op, anchor, positive)
    check_broadcast(op, anchor, negative)
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    # PyTorch's torch.clamp_min(margin + d_pos - d_neg, 0)
    return _reduce(clamp_min_number(margin + d_pos - d_neg, 0), reduction)
