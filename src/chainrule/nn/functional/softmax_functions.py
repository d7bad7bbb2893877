"""``F.softmax``, ``F.log_softmax`` and ``F.softmin``: the functional forms, which (unlike
``cr.softmax`` and ``Tensor.softmax``) may be called without ``dim``.

PyTorch's functional forms take ``(input, dim=None, _stacklevel=3, dtype=None)``: with no
``dim`` they pick one by a legacy rule (0 for 0-, 1- and 3-d inputs, else 1) and warn that the
implicit choice is deprecated; ``_stacklevel`` only placed that warning, which chainrule
attributes to the user's line itself, so the argument is accepted for its position and unused.
``cr.softmax(x)`` and ``x.softmax()`` without ``dim`` are a TypeError, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from ..._user_warnings import warn_at_caller
from ...autograd.tensor import Tensor
from ...ops._util import NAMED_ERRORS, lead_with
from ...ops.number_arguments import parser_int
from ...ops.softmax import log_softmax as _log_softmax
from ...ops.softmax import softmax as _softmax

__all__ = ["log_softmax", "softmax", "softmin"]


def implicit_softmax_dim(op: str, ndim: int) -> int:
    """The dimension PyTorch picks when the functional ``softmax``/``log_softmax``/``softmin``
    get no ``dim`` (0 for 0-, 1- and 3-d inputs, else 1: a legacy guess at the batch
    layout), with PyTorch's deprecation warning, reported at the user's call."""
    warn_at_caller(
        f"Implicit dimension choice for {op} has been deprecated. "
        "Change the call to include dim=X as an argument."
    )
    return 0 if ndim in (0, 1, 3) else 1


def _resolved(op: str, input: Any, dim: int | None) -> int | None:  # noqa: A002
    if dim is None and isinstance(input, Tensor):
        return implicit_softmax_dim(op, input.ndim)
    if type(dim) is not int and dim is not None and isinstance(input, Tensor):
        # PyTorch's functional calls input.softmax(dim) positionally: "(position 1)"
        name = "log_softmax" if op == "log_softmax" else "softmax"
        return parser_int(name, "dim", 1, dim, keywords=False)
    return dim


def softmax(
    input: Tensor,  # noqa: A002 - PyTorch's names
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: Any = None,
) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (PyTorch's implicit dim, with its warning, when
    ``dim`` is None), computed in ``dtype`` when given."""
    return _softmax(input, _resolved("softmax", input, dim), dtype)


def log_softmax(
    input: Tensor,  # noqa: A002 - PyTorch's names
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: Any = None,
) -> Tensor:
    """x - log(sum(exp(x))) along ``dim`` (PyTorch's implicit dim when None), in ``dtype``."""
    return _log_softmax(input, _resolved("log_softmax", input, dim), dtype)


def softmin(
    input: Tensor,  # noqa: A002 - PyTorch's names
    dim: int | None = None,
    _stacklevel: int = 3,
    dtype: Any = None,
) -> Tensor:
    """softmax(-x) along ``dim`` (PyTorch's implicit dim when None), errors named softmin."""
    dim = _resolved("softmin", input, dim)
    try:
        return _softmax(-input, dim, dtype)
    except NAMED_ERRORS as err:
        lead_with("softmin", err)
        raise
