"""PyTorch's parser errors for ``linalg.pinv`` and ``linalg.matrix_rank``, whose overloads
take ``atol``/``rtol`` (tensors or numbers, keyword-only) or a positional ``rcond``/``tol``,
and a ``bool hermitian``: an explicit ``rcond=None``, a string ``rcond`` or a ``hermitian``
that is not a bool fits none of them ("received an invalid combination of arguments").
Everything here runs only where a value is not a plain one (the ops' fast test first)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..ops._tensor_args import called_as
from ..ops.invalid_arguments import format_invalid_args, positional_count

__all__ = ["UNSET", "refuse_tolerance_forms"]


class _Unset:
    """``rcond``/``tol``'s default: not given (PyTorch's parser refuses an explicit None)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "None"


UNSET: Any = _Unset()


def _forms(name: str) -> tuple[str, ...]:
    return (
        "(Tensor input, *, Tensor atol = None, Tensor rtol = None, bool hermitian = False, "
        "Tensor out = None)",
        "(Tensor input, *, float atol = None, float rtol = None, bool hermitian = False, "
        "Tensor out = None)",
        f"(Tensor input, Tensor {name}, bool hermitian = False, *, Tensor out = None)",
        f"(Tensor input, float {name}, bool hermitian = False, *, Tensor out = None)",
    )


def _tolerance(value: Any) -> bool:
    """Whether PyTorch's parser reads ``value`` as a Tensor or float tolerance."""
    if isinstance(value, Tensor):
        return True
    return isinstance(value, numbers.Real | np.integer | np.floating)


def refuse_tolerance_forms(
    op: str, A: Any, tol_name: str, tol: Any, hermitian: Any, atol: Any, rtol: Any
) -> None:
    """PyTorch's TypeError for ``linalg_<op>`` where its arguments fit no overload (``tol``:
    the positional tolerance, ``rcond`` or ``tol``, :data:`UNSET` where not given)."""
    fits = type(hermitian) is bool and all(v is None or _tolerance(v) for v in (atol, rtol))
    if tol is not UNSET:
        fits = fits and _tolerance(tol)
    if fits:
        return
    _, _, given = called_as((op,))
    values = {"A": A, tol_name: tol, "hermitian": hermitian, "atol": atol, "rtol": rtol}
    count = positional_count((op,))
    order = ["A", tol_name, "hermitian"]
    if count is None:
        count = 1 + (tol is not UNSET and tol_name not in given)
    args = [values[k] for k in order if k not in given][:count]
    kwargs = [(k, values[k]) for k in reversed(given) if k in values]
    raise TypeError(format_invalid_args(f"linalg_{op}", args, kwargs, _forms(tol_name)))
