"""Argument checks shared by the raw top-level functions (``raw_functional.py`` and the
``raw_*.py`` modules it gathers): tensor-ness and rank, floating dtypes, one dtype for all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd.tensor import Tensor

__all__ = [
    "RankError",
    "need_floating",
    "need_tensor",
    "same_dtype",
    "shape_of",
    "tensor_argument",
]


class RankError(IndexError, RuntimeError):
    """A tensor with too few dimensions. PyTorch's raw functions do not check ranks: they fail
    reading a missing dimension (``IndexError``) or further on (``RuntimeError``), depending
    on the function; this is both, so either ``except`` works."""


def shape_of(t: Any) -> str:
    """``t``'s shape as PyTorch prints it (``[2, 3]``), or its type name if not a Tensor."""
    return str(list(t.shape)) if isinstance(t, Tensor) else type(t).__name__


def tensor_argument(op: str, name: str, pos: int, v: Any, optional: bool = False) -> Any:
    """``v`` if it is a Tensor (or None, when ``optional``), else PyTorch's argument-parser
    TypeError naming the argument and its position."""
    if v is None and optional:
        return None
    if not isinstance(v, Tensor):
        raise TypeError(
            f"{op}(): argument '{name}' (position {pos}) must be Tensor, not {type(v).__name__}"
        )
    return v


def need_tensor(op: str, name: str, t: Any, ndim: int | None = None) -> None:
    """``t`` is a Tensor (TypeError) of ``ndim`` dimensions when given: too few raise
    :class:`RankError`, too many RuntimeError."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, got {type(t).__name__}")
    if ndim is not None and t.ndim != ndim:
        error = RankError if t.ndim < ndim else RuntimeError
        raise error(f"{op}: expected {name} to be {ndim}-D, got shape {shape_of(t)}")


def need_floating(op: str, named: Sequence[tuple[str, Any]]) -> None:
    """Every given tensor (None skipped) has a floating dtype (RuntimeError otherwise)."""
    for name, t in named:
        if t is not None and not t.is_floating_point():
            raise RuntimeError(
                f"{op}: expected floating point tensors, but {name} has dtype {t.dtype}"
            )


def same_dtype(op: str, named: Sequence[tuple[str, Any]]) -> None:
    """All given tensors (None skipped) share the first one's dtype (no type promotion)."""
    first_name, first = named[0]
    for name, t in named[1:]:
        if t is not None and t.dtype != first.dtype:
            raise RuntimeError(
                f"{op}: expected all tensors to have the same dtype, but {first_name} is "
                f"{first.dtype} and {name} is {t.dtype}"
            )
