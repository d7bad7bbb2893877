"""Checks on the user functions DataPipes call, and applying one to chosen columns.

``map``/``filter`` take an ``input_col`` (one key or index, or several) and ``map`` an
``output_col``; the rules, measured on PyTorch's pipes:

* no ``input_col``: ``fn(item)``, the result replaces the item (``output_col`` must be None);
* one ``input_col``: ``fn(item[c])`` written back to ``item[c]``, or to ``output_col``
  (``-1`` appends);
* several: ``fn(item[c0], item[c1], ...)``; without ``output_col`` the result goes to
  ``c0`` and the other input columns are deleted. Tuples are edited as lists and returned as
  tuples, the input is never modified (a shallow copy is edited).
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

__all__ = [
    "apply_to_columns",
    "check_arity",
    "check_callable",
    "check_output_col",
    "warn_unpicklable",
]


def check_callable(fn: Any) -> None:
    """Raise PyTorch's ``TypeError`` for a function argument that is not callable."""
    if not callable(fn):
        raise TypeError(f"A callable function is expected, but {type(fn)} is provided.")


def warn_unpicklable(fn: Callable[..., Any]) -> None:
    """Warn (``UserWarning``, as PyTorch) when ``fn`` cannot be pickled for worker processes:
    a lambda or a function defined inside another function (also under ``partial``)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    qualname = getattr(fn, "__qualname__", "")
    if "<locals>" in qualname:
        kind = "Local function"
    elif getattr(fn, "__name__", "") == "<lambda>":
        kind = "Lambda function"
    else:
        return
    warnings.warn(
        f"{kind} is not supported by pickle, please use regular python function or "
        "functools.partial instead.",
        UserWarning,
        stacklevel=4,
    )


def check_arity(fn: Callable[..., Any], input_col: Any) -> None:
    """``fn`` must take as many positional arguments as ``input_col`` names (one if None).

    Raises:
        ValueError: with PyTorch's wording, when the counts cannot match.
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return
    needed = len(input_col) if isinstance(input_col, (list, tuple)) else 1
    positional = [
        p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    has_varargs = any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values())
    required = [p for p in positional if p.default is p.empty]
    name = getattr(fn, "__name__", repr(fn))
    if len(required) > needed:
        raise ValueError(
            f"The function {name} takes {len(required)} positional parameters, but "
            f"{needed} are required."
        )
    if len(positional) < needed and not has_varargs:
        raise ValueError(
            f"The function {name} takes {len(positional)} parameters, but {needed} are required."
        )


def check_output_col(input_col: Any, output_col: Any) -> None:
    """Raise PyTorch's ``ValueError`` for an ``output_col`` that cannot be used."""
    if input_col is None and output_col is not None:
        raise ValueError("`output_col` must be None when `input_col` is None.")
    if isinstance(output_col, (list, tuple)):
        if len(output_col) > 1:
            raise ValueError("`output_col` must be a single-element list or tuple")


def apply_to_columns(fn: Callable[..., Any], item: Any, input_col: Any, output_col: Any) -> Any:
    """Apply ``fn`` to the chosen columns of ``item`` (rules in the module docstring)."""
    if input_col is None:
        return fn(item)
    several = isinstance(input_col, (list, tuple))
    result = fn(*(item[c] for c in input_col)) if several else fn(item[input_col])
    was_tuple = isinstance(item, tuple)
    edited = list(item) if was_tuple else item.copy()
    if isinstance(output_col, (list, tuple)):
        output_col = output_col[0]
    if output_col is None:
        if several:
            edited[input_col[0]] = result
            for c in sorted(input_col[1:], reverse=True):
                del edited[c]
        else:
            edited[input_col] = result
    elif output_col == -1:
        edited.append(result)
    else:
        edited[output_col] = result
    return tuple(edited) if was_tuple else edited
