"""The argument rules the loss functions share: ``reduction`` (and PyTorch's deprecated
``size_average``/``reduce``), the reduction itself, and the (input, target) pair check with
its shape and dtype policies; PyTorch's dtype names for the messages.

Kept apart from ``loss.py`` (the regression losses) because every loss family imports them:
``classification_loss.py``, ``binary_classification_loss.py``, ``loss_extra.py``,
``distance.py``, ``ctc.py`` and the loss modules of ``nn/layers``. The names keep their
leading underscore: they are the losses' internals, not ``nn.functional`` API.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..._type_names import type_name
from ...autograd.tensor import Tensor
from ...dtypes import is_floating, promote_types
from ...ops._tensor_args import torch_type_name
from ...ops._util import DtypeError, ShapeError, broadcast_error

__all__ = [  # private to the loss functions (the names they had in loss.py)
    "_REDUCTIONS",
    "_check_reduction",
    "_check_reduction_concat",
    "_legacy_reduction",
    "_pair",
    "_reduce",
    "_scalar_name",
]

_REDUCTIONS = ("none", "mean", "sum")


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
    (a 0-d tensor as its number). The one check of every loss (the modules check nothing at
    construction, as PyTorch's); :func:`_check_reduction_concat` for the ones PyTorch writes
    in Python."""
    if reduction not in _REDUCTIONS + extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction_concat(
    reduction: Any, text: str = " is not a valid value for reduction"
) -> None:
    """:func:`_check_reduction` for a loss PyTorch writes in Python as ``reduction + text``
    (poisson_nll_loss; gaussian_nll_loss and multilabel_soft_margin_loss with ``text``
    " is not valid"): a value that is no str fails in that concatenation, with Python's (or
    NumPy's) error, as PyTorch's ("unsupported operand type(s) for +: 'NoneType' and 'str'")."""
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + text)  # (the concatenation itself fails as PyTorch's)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# the losses whose formula meets the target first: PyTorch's broadcast error names it "a"
_TARGET_FIRST = frozenset({"kl_div", "multilabel_soft_margin_loss"})


#: The losses whose PyTorch form first compares ``target.size()`` with ``input.size()`` (a
#: number fails there with Python's AttributeError), and those whose ATen call's parser
#: refuses it first (its TypeError naming the argument).
_SIZE_FIRST = frozenset(
    ("l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy")
    + ("binary_cross_entropy_with_logits",)
)
_PARSER_FIRST = frozenset(("kl_div", "poisson_nll_loss", "soft_margin_loss"))


def _not_tensors(input: Any, target: Any, op: str) -> Exception:  # noqa: A002
    """The error for a loss's input or target that is no Tensor: PyTorch's where its form
    has one (its words first), the op and both types on the next line."""
    hint = f"{op}: input and target must be Tensors, got {type(input).__name__} and "
    hint += type(target).__name__
    if op in _SIZE_FIRST:
        bad = next(v for v in (target, input) if not isinstance(v, Tensor))
        if isinstance(bad, np.generic):  # its ``size`` is an int: calling it fails
            return TypeError(f"'int' object is not callable\n{hint}")
        if not hasattr(bad, "size"):
            name = type(bad).__name__ if type(bad).__module__ == "builtins" else None
            if name is not None:
                return AttributeError(f"'{name}' object has no attribute 'size'\n{hint}")
    if op in _PARSER_FIRST:
        pos, name, bad = (
            (1, "input", input) if not isinstance(input, Tensor) else (2, "target", target)
        )
        return TypeError(
            f"{op}(): argument '{name}' (position {pos}) must be Tensor, not "
            f"{torch_type_name(bad)}\n{hint}"
        )
    return TypeError(hint)


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
        raise _not_tensors(input, target, op)
    if input.shape != target.shape:
        if shapes == "same":
            raise ShapeError(  # PyTorch's words, then the op's name
                f"Using a target size ({target.shape}) that is different to the input "
                f"size ({input.shape}) is deprecated. Please ensure they have the same size."
                f"\n{op}: input and target must have the same shape"
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
        except ValueError:  # PyTorch's words (kl_div's formula has the target first)
            pair = (target, input) if op in _TARGET_FIRST else (input, target)
            raise broadcast_error(op, *pair) from None
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
