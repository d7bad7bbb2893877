"""Arguments whose default is a sentinel, so that an explicit None is told from no argument
and refused as PyTorch's parser refuses it (``x.add(y, alpha=None)``, ``x.round(decimals=
None)``, ``eye(2, None)``, ``arange(0, None)``), with those ops' argument errors. The ops'
fast paths test ``arg is SENTINEL`` (as cheap as ``is None``); everything else here runs on
their non-plain or error paths only (split from number_arguments.py, session 38)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._tensor_args import called_as, torch_type_name
from .number_arguments import _is_int, _where, parser_int, parser_numbers

__all__ = [
    "ALPHA_UNSET",
    "ARANGE_UNSET",
    "DECIMALS_UNSET",
    "EYE_M_UNSET",
    "arange_type_error",
    "parser_alpha",
    "parser_eye_sizes",
    "parser_round_decimals",
]


class _Unset:
    """An argument's default where PyTorch's parser refuses an explicit None: ``add``/
    ``sub``'s ``alpha`` (PyTorch's 1, not multiplied in), ``round``'s ``decimals``. Printed
    as PyTorch's default (in signatures)."""

    __slots__ = ("_shown",)

    def __init__(self, shown: str) -> None:
        self._shown = shown

    def __repr__(self) -> str:
        return self._shown


ALPHA_UNSET = _Unset("1")
DECIMALS_UNSET = _Unset("0")
EYE_M_UNSET = _Unset("None")
ARANGE_UNSET = _Unset("None")


def parser_round_decimals(input: Any, decimals: Any) -> int:  # noqa: A002
    """``round``'s ``decimals`` (given, not a plain int): an int where PyTorch's parser
    reads one, else its TypeError: the method's names the argument, the function's lists
    its overloads (``torch.round(x, decimals=None)``)."""
    if _is_int(decimals):
        return int(decimals)
    if called_as(("round",))[1]:
        return parser_int("round", "decimals", 2, decimals)
    from .invalid_arguments import combination_error  # noqa: PLC0415 - error path only

    raise combination_error(
        "round",
        [("input", input), ("decimals", decimals)],
        (
            "(Tensor input, *, Tensor out = None)",
            "(Tensor input, *, int decimals, Tensor out = None)",
        ),
    )


_ARANGE_REST = (
    "torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, bool "
    "pin_memory = False, bool requires_grad = False)"
)
_ARANGE_FORMS = (
    f"(Number end, *, Tensor out = None, {_ARANGE_REST}",
    f"(Number start, Number end, *, {_ARANGE_REST}",
    f"(Number start, Number end, Number step = 1, *, Tensor out = None, {_ARANGE_REST}",
)


def arange_type_error(params: Sequence[tuple[str, Any]]) -> TypeError:
    """PyTorch's TypeError for ``arange``'s bounds (``params``: (name, value) as given, the
    one-bound form's named ``end``) where one is no Number: the one-bound form names it
    (``arange(): argument 'end' (position 1) must be Number, not NoneType``), the others
    list the overloads (``arange(0, None)``)."""
    if len(params) == 1:
        name, value = params[0]
        _, where = _where("arange", name, 1)
        return TypeError(
            f"arange(): argument '{name}'{where} must be Number, not {torch_type_name(value)}"
        )
    from .invalid_arguments import combination_error  # noqa: PLC0415 - error path only

    return combination_error("arange", params, _ARANGE_FORMS)


_EYE_REST = (
    "*, Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, torch.device "
    "device = None, bool pin_memory = False, bool requires_grad = False)"
)
_EYE_FORMS = (f"(int n, {_EYE_REST}", f"(int n, int m, {_EYE_REST}")


def parser_eye_sizes(n: Any, m: Any) -> tuple[int, int | None]:
    """``eye``'s ``n`` and ``m`` where one is not a plain int (``m`` :data:`EYE_M_UNSET`
    where not given): as ints, or PyTorch's TypeError (``eye(): argument 'n' (position 1)
    must be int, not float``; with ``m`` given, its overloads: ``eye(2, None)``)."""
    if m is EYE_M_UNSET:
        return parser_int("eye", "n", 1, n), None
    if _is_int(n) and _is_int(m):
        return int(n), int(m)
    from .invalid_arguments import combination_error  # noqa: PLC0415 - error path only

    raise combination_error("eye", [("n", n), ("m", m)], _EYE_FORMS)


def parser_alpha(op: str, alpha: Any) -> Any:
    """``alpha`` given to ``op`` (not a plain int or float): as given where PyTorch reads it
    as a Number (a bool, a complex, a NumPy scalar, a 0-d tensor), else its TypeError
    (``add(): argument 'alpha' must be Number, not NoneType``)."""
    if isinstance(alpha, (numbers.Number, np.generic)) or (
        isinstance(alpha, Tensor) and alpha.ndim == 0
    ):
        return alpha
    parser_numbers(op, [("alpha", alpha)])
    return alpha
