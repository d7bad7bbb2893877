"""Multi-class classification losses: ``cross_entropy``, ``nll_loss`` and
``multi_margin_loss``, PyTorch's signatures and semantics; the binary ones
(``binary_cross_entropy``, ``_with_logits``) are in ``binary_classification_loss.py``
since session 40 and re-exported here.

The fused rules are in :mod:`chainrule.ops.losses`; the shared argument handling (legacy
``size_average``/``reduce``, reductions, shape checks, PyTorch's dtype names) is in
:mod:`.loss`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._layout import is_vmap_batched
from ...autograd.lower_precision import autocast_float32_op
from ...autograd.state import LOCAL, is_grad_enabled
from ...autograd.tensor import Tensor
from ...dtypes import is_bfloat16, is_floating
from ...ops._tensor_args import first_not_tensor
from ...ops._util import DtypeError, ShapeError, no_integer_kernel
from ...ops.losses import CrossEntropyFn, NLLLossFn
from ...ops.margin_losses import MultiMarginLossFn
from ...ops.softmax import log_softmax
from ._arg_types import as_float, as_int, parser_type_name
from ._loss_args import _check_reduction, _legacy_reduction, _scalar_name
from ._loss_precision import bfloat16_in_float32, same_dtype_as_input
from .binary_classification_loss import binary_cross_entropy, binary_cross_entropy_with_logits

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "multi_margin_loss",
    "nll_loss",
]


class _TargetRangeError(IndexError, RuntimeError):
    """multi_margin_loss's class index outside [0, C): PyTorch's RuntimeError, and an
    IndexError as chainrule raised before."""


def _class_target(op: str, xs: tuple, ts: tuple, target: Tensor, want: str) -> None:
    """Integer class-index targets (shape ``ts``) against (C,), (N, C) or (N, C, d1, ...)
    input (shape ``xs``): PyTorch's checks of ``nll_loss_nd``, in its order and words (its
    batch-size errors are ValueErrors, the others RuntimeErrors: a ShapeError is both), the
    target's dtype among them (``want``: what the message says a target must be). Shapes
    are passed in, read once by the caller (each ``.shape`` read builds a Size)."""
    nd = len(xs)
    if nd == 2 and len(ts) == 1 and xs[0] == ts[0]:  # the common case: (N, C) and (N,)
        _index_target_dtype(op, target, want)
        return
    if nd == 0:
        raise ShapeError("Expected 1 or more dimensions (got 0)")
    if nd == 1:
        _index_target_dtype(op, target, want)  # (PyTorch checks it first for a 1-d input)
        if len(ts) == 1 and ts[0] != 1:
            raise ShapeError(
                f"For 1D input, 1D target must have size 1, but got target size: {ts[0]}"
            )
        if len(ts) > 1:
            raise ShapeError("0D or 1D target tensor expected, multi-target not supported")
        return
    batch = ts[0] if ts else 0
    if xs[0] != batch:
        raise ShapeError(
            f"Expected input batch_size ({xs[0]}) to match target batch_size ({batch})."
        )
    if nd == 2 and len(ts) != 1:
        raise ShapeError("0D or 1D target tensor expected, multi-target not supported")
    expected = xs[:1] + xs[2:]
    if nd > 2 and tuple(ts) != tuple(expected):
        raise ShapeError(f"Expected target size {list(expected)}, got {list(ts)}")
    _index_target_dtype(op, target, want)


def _class_weight(xs: tuple, weight: Tensor | None, lead: str = "") -> None:
    """A class weight has one entry per class (``xs``: the input's shape): PyTorch's
    RuntimeError, its words (``lead``: its op-name prefix, which its probabilities path
    has)."""
    if weight is None:
        return
    c = xs[1] if len(xs) >= 2 else xs[0] if len(xs) == 1 else 0
    if weight.shape != (c,):
        raise ShapeError(
            f"{lead}weight tensor should be defined either for all {c} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )


def _same_weight_dtype(input: Tensor, weight: Tensor | None) -> None:
    """PyTorch's class-index kernels take ``weight`` only in ``input``'s dtype (no promotion):
    a float32 weight with float64 logits raises RuntimeError."""
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError(
            f"expected scalar type {_scalar_name(input.dtype)} but found "
            f"{_scalar_name(weight.dtype)}"
        )


def _flatten_classes(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N·d1·..., C); (C,) -> (1, C)."""
    if x.ndim == 1:
        return x.reshape((1, -1))
    if x.ndim == 2:
        return x
    c = x.shape[1]
    return x.movedim(1, -1).reshape((-1, c))


@bfloat16_in_float32(
    check=same_dtype_as_input("weight", index_target=True),
    native=lambda a: a["target"].dtype.kind not in "fV",  # class indices: one fused node
    mixed_as_is=True,  # probabilities or a weight of another dtype: PyTorch's promotions
)
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
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):  # PyTorch's parser
        raise first_not_tensor("cross_entropy_loss", [("input", input), ("target", target)])
    if weight is not None and not isinstance(weight, Tensor):  # (always positional there)
        raise first_not_tensor(
            "cross_entropy_loss", [("input", input), ("target", target), ("weight", weight)], False
        )
    if type(ignore_index) is not int:  # PyTorch's parser: an int, not a bool or a float
        ignore_index = as_int("cross_entropy_loss", "ignore_index", ignore_index, 5)
    if type(label_smoothing) is not float:
        label_smoothing = as_float("cross_entropy_loss", "label_smoothing", label_smoothing, 6)
    if not is_floating(input.dtype):
        raise DtypeError(f"{op}: input (logits) must be floating point, got {input.dtype}")
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    # PyTorch smooths only when it is positive (NaN: none)
    label_smoothing = label_smoothing if label_smoothing > 0 else 0.0
    xs, ts = input.shape, target.shape  # each read once (a Size is built per read)
    c = xs[1] if len(xs) >= 2 else xs[0] if len(xs) == 1 else 0
    want = "integer class indices or float probabilities"
    tkind = target.dtype.kind
    _class_weight(xs, weight, "cross_entropy: " if ts == xs else "")
    if tkind == "f" or (tkind == "V" and is_floating(target.dtype)):  # (bfloat16: "V")
        if ts != xs:  # PyTorch reads it as class indices: its errors
            _class_target(op, xs, ts, target, want)
        if ignore_index >= 0:  # PyTorch refuses a class index; a negative one is unused
            raise RuntimeError("ignore_index is not supported for floating point target")
        cdim = 1 if input.ndim >= 2 else 0
        # PyTorch's composition, each op in its promoted dtype: log_softmax in the logits'
        # dtype, ``-(lp * target * weight).sum(...)`` (a float64 target or weight of float32
        # logits: a float64 loss; the smoothed target in its own dtype)
        tgt = target
        if label_smoothing > 0:
            tgt = tgt * (1.0 - label_smoothing) + label_smoothing / c
        prod = log_softmax(input, cdim) * tgt
        if weight is not None:
            shp = (c,) + (1,) * (input.ndim - 2) if input.ndim >= 2 else (c,)
            prod = prod * weight.reshape(shp)
        if reduction == "none":
            return -prod.sum(cdim)
        if reduction == "sum":
            return -prod.sum()
        if input.numel() == 0:  # PyTorch divides by numel / C: 0 / 0 is NaN
            return prod.sum() * math.nan
        return -prod.sum() / max(input.numel() // max(c, 1), 1)
    if ts == xs:  # PyTorch reads a same-shaped target as probabilities
        raise DtypeError(
            "Expected floating point type for target with class probabilities, got "
            f"{_scalar_name(target.dtype)}\n(cross_entropy: a target of the input's shape "
            "holds class probabilities; class indices have no class dimension)"
        )
    _class_target(op, xs, ts, target, want)
    _weight_without_grad(input, weight)
    _same_weight_dtype(input, weight)
    x2 = _flatten_classes(input)
    out = CrossEntropyFn.apply(
        x2, target, weight, int(ignore_index), float(label_smoothing), reduction
    )
    if reduction == "none":  # (C,) logits with a (1,) target give a 0-d loss, as PyTorch
        return out.reshape(target.shape if input.ndim >= 2 else ())
    return out


@bfloat16_in_float32(check=same_dtype_as_input("weight"), native=lambda a: True)
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
    if type(ignore_index) is not int:  # PyTorch's parser: an int, not a bool or a float
        ignore_index = as_int("nll_loss_nd", "ignore_index", ignore_index, 5)
    if not (
        isinstance(input, Tensor)
        and isinstance(target, Tensor)
        and (weight is None or isinstance(weight, Tensor))
    ):  # PyTorch's TypeError, from the kernel F.nll_loss calls with positional arguments
        tensors = (("input", input), ("target", target), ("weight", weight))
        raise first_not_tensor("nll_loss_nd", tensors[: 2 if weight is None else 3], False)
    xs = input.shape
    _class_target(op, xs, target.shape, target, "integer class indices")
    no_integer_kernel(op, input)
    if input._data.dtype.kind == "c":  # PyTorch: no complex kernel ("nll_loss_out_frame")
        raise NotImplementedError(f"{op}: not implemented for complex input ({input.dtype})")
    _weight_without_grad(input, weight)
    _class_weight(xs, weight)
    _same_weight_dtype(input, weight)
    out = NLLLossFn.apply(_flatten_classes(input), target, weight, int(ignore_index), reduction)
    if reduction == "none":  # (C,) log-probabilities with a (1,) target: 0-d, as PyTorch
        return out.reshape(target.shape if input.ndim >= 2 else ())
    return out


def _weight_without_grad(input: Tensor, weight: Tensor | None) -> None:
    """PyTorch's class weights of an index-target loss take no gradient: its autograd
    refuses a ``weight`` that requires grad (while grad mode is on) before the kernel's own
    checks, in its words (``nll_loss2d_forward`` for inputs of more than 2 dims). Not inside
    ``cr.func.jvp``, whose recording pass makes every tensor derived from its primals require
    grad (torch.func's tensors there do not)."""
    if weight is None or not weight.requires_grad or not is_grad_enabled():
        return
    level = LOCAL.state.fw_level
    if level is None or level.api != "jvp":
        name = "nll_loss2d_forward" if input.ndim > 2 else "nll_loss_forward"
        raise RuntimeError(
            f"The function '{name}' is not differentiable with respect to argument 'weight'. "
            "This input cannot have requires_grad True."
        )


def _index_target_dtype(op: str, target: Tensor, want: str) -> None:
    """Class-index targets are int64 or uint8, as PyTorch's kernels take (an int32 target,
    say from ``np.int32`` labels, needs ``.long()``); PyTorch raises RuntimeError, chainrule
    has raised TypeError: ``DtypeError`` is both."""
    if target.dtype.name not in ("int64", "uint8"):
        raise DtypeError(
            f"expected target dtype to be Long or Byte, but got {_scalar_name(target.dtype)}"
            f"\n({op}: target must be {want}; convert it with target.long())"
        )


@autocast_float32_op
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
    if any(isinstance(t, Tensor) and is_vmap_batched(t._data) for t in (input, target, weight)):
        from ...func._per_sample import per_sample  # noqa: PLC0415 - func imports nn

        return per_sample(  # cr.func.vmap: it reads the targets' values, once per sample
            multi_margin_loss, input, target, p, margin, weight, size_average, reduce, reduction
        )
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, got {p}")
    if type(margin) is not float and not isinstance(margin, (int, np.number, np.bool_)):
        if not (isinstance(margin, Tensor) and margin.ndim == 0):  # PyTorch's parser
            raise TypeError(
                f"{op}(): argument 'margin' (position 4) must be Number, not "
                f"{parser_type_name(margin)}"
            )
    if input.ndim not in (1, 2):
        raise ShapeError(f"{op}: expected input of shape (C,) or (N, C), got {tuple(input.shape)}")
    if target.dtype.kind not in "iu":  # PyTorch's RuntimeError; chainrule's TypeError
        raise DtypeError(
            f"{op}: expected scalar type Long but found {_scalar_name(target.dtype)} (target "
            "must hold integer class indices)"
        )
    x = input.reshape((1, -1)) if input.ndim == 1 else input
    n, c = x.shape
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(  # PyTorch's words
            f"{op}: inconsistent weight size, expected {c} but got {list(weight.shape)}"
        )
    t = target._data.reshape(-1)
    if target.ndim > 1 or t.shape != (n,):  # an (N, 1) target is refused, as PyTorch
        raise ShapeError(
            f"{op}: target must have shape ({n},) for input {tuple(input.shape)}, got "
            f"{tuple(target.shape)}"
        )
    if t.size and (t.min() < 0 or t.max() >= c):  # PyTorch's RuntimeError "target out of range"
        bad = t[(t < 0) | (t >= c)]
        raise _TargetRangeError(
            f"{op}: target out of range: got class {int(bad.flat[0])} for {c} classes (valid: "
            f"0 to {c - 1})"
        )
    if not is_floating(input.dtype):  # PyTorch's kernel has no integer, bool or complex form
        raise NotImplementedError(
            f"\"multi_margin_loss_cpu_kernel\" not implemented for '{_scalar_name(input.dtype)}'"
        )
    if input.dtype == np.float16 or is_bfloat16(input.dtype):  # PyTorch's CPU kernel
        raise NotImplementedError(  # has no half form (autocast computes it in float32)
            f"\"multi_margin_loss_cpu_kernel\" not implemented for '{_scalar_name(input.dtype)}'"
        )
    _same_weight_dtype(input, weight)  # PyTorch's kernel: no promotion of the weight
    if weight is not None and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{op}: The function 'multi_margin_loss' is not differentiable with respect to "
            "argument 'weight'. This input cannot have requires_grad True."
        )
    w = None if weight is None else weight._data.astype(input._data.dtype, copy=False)
    return MultiMarginLossFn.apply(input, target, p, margin, w, reduction)  # one node
