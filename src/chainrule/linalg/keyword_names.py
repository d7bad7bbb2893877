"""PyTorch's keyword names for ``cr.linalg``'s functions.

PyTorch's documentation writes most ``torch.linalg`` functions with ``A`` (``linalg.cholesky(A,
*, upper=False)``), but its argument parser takes the native schema's name: ``input`` for most
(``torch.linalg.cholesky(input=a)``; ``A=a`` is a TypeError), ``b`` for ``lstsq``'s second,
``other`` for ``tensorsolve``'s. The parser also takes NumPy's names for some of them:
``x``, ``a`` and ``x1`` for ``input``, ``x2`` for ``other``, ``axis`` for ``dim`` and
``keepdims`` for ``keepdim``. chainrule's functions keep their documented parameter names;
:func:`torch_keywords` wraps one so that it takes (and only takes) PyTorch's keywords.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ..ops.keyword_aliases import NUMPY_ALIASES  # the one table of PyTorch's parser

__all__ = ["tol_positional", "torch_keywords"]


def torch_keywords(fn: Callable, renames: dict[str, str], op: str | None = None) -> Callable:
    """``fn`` taking PyTorch's keyword names: ``renames`` maps each of PyTorch's names to
    ``fn``'s parameter (``{"input": "A"}``); NumPy's aliases of a PyTorch name are taken too.
    ``fn``'s own name for a renamed parameter (``A=``) is a TypeError, as in PyTorch."""
    name = op or fn.__name__
    table: dict[str, str] = {}
    for theirs, ours in renames.items():
        for alias in (theirs, *NUMPY_ALIASES.get(theirs, ())):
            table[alias] = ours
    refused = frozenset(set(renames.values()) - set(table))

    @functools.wraps(fn)
    def with_torch_keywords(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            kwargs = _renamed(name, kwargs, table, refused)
        return fn(*args, **kwargs)

    params = [
        p.replace(name=_first_key(renames, p.name))
        for p in inspect.signature(fn).parameters.values()
    ]
    with_torch_keywords.__signature__ = inspect.signature(fn).replace(parameters=params)  # type: ignore[attr-defined]
    return with_torch_keywords


def _first_key(renames: dict[str, str], param: str) -> str:
    """PyTorch's name for ``fn``'s parameter ``param`` (itself when not renamed)."""
    return next((k for k, v in renames.items() if v == param), param)


def _renamed(name: str, kwargs: dict, table: dict[str, str], refused: frozenset) -> dict:
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in refused:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
        target = table.get(key, key)
        if target in out:
            raise TypeError(f"{name}() got multiple values for argument '{target}'")
        out[target] = value
    return out


def tol_positional(fn: Callable) -> Callable:
    """``matrix_rank`` taking PyTorch's older overload ``(input, tol, hermitian=False)``:
    ``tol`` (and ``hermitian``) given by position after the matrix."""

    @functools.wraps(fn)
    def with_positional_tol(*args: Any, **kwargs: Any) -> Any:
        if len(args) > 3:
            raise TypeError(
                "linalg_matrix_rank() takes from 1 to 3 positional arguments but "
                f"{len(args)} were given"
            )
        for key, value in zip(("tol", "hermitian"), args[1:]):
            if key in kwargs:
                raise TypeError(f"linalg_matrix_rank() got multiple values for argument '{key}'")
            kwargs[key] = value
        return fn(*args[:1], **kwargs)

    return with_positional_tol
