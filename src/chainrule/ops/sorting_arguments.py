"""The arguments of ``sort``/``argsort``'s ``stable=`` as PyTorch's parser takes them.

PyTorch has two overloads, ``(*, bool stable, int dim=-1, bool descending=False)`` and
``(int dim=-1, bool descending=False)``: with ``stable=`` given, ``dim`` and ``descending``
are keywords only (``x.sort(1, stable=True)`` is a TypeError). Python cannot tell a
positional ``dim`` from a keyword one, so a call that gives ``stable=`` (its default is the
distinct :data:`UNSET`) reads its call site's argument count from the bytecode, once per
call site; calls without ``stable=`` pay one identity test.
"""

from __future__ import annotations

import dis
import types
from typing import Any

from ._tensor_args import (
    _user_frame,
    attribute_receiver,
    called_as,
    instructions_so_far,
    invalid_combination,
    torch_type_name,
)
from .number_arguments import is_parser_int

__all__ = ["UNSET", "refuse_sort_types", "refuse_stable_form", "refuse_topk_types"]


class _Unset:
    """The default of ``sort``/``argsort``'s ``stable`` (shown as ``False``): a distinct
    object, so that a ``stable=`` the caller gave (even ``False`` or ``None``) is known."""

    def __repr__(self) -> str:
        return "False"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()
_CALLS = {dis.opmap[n] for n in ("CALL", "CALL_KW") if n in dis.opmap}
_CALL_SITES: dict[tuple[Any, int, tuple], int | None] = {}  # (code, offset, names) -> count
_SORT_FORMS = (
    "(Tensor input, *, bool stable, int dim = -1, bool descending = False, "
    "tuple of Tensors out = None)",
    "(Tensor input, int dim = -1, bool descending = False, *, tuple of Tensors out = None)",
)
_ARGSORT_FORMS = (
    "(Tensor input, *, bool stable, int dim = -1, bool descending = False, Tensor out = None)",
    "(Tensor input, int dim = -1, bool descending = False)",
)
_METHOD_FORMS = (
    "(*, bool stable, int dim = -1, bool descending = False)",
    "(int dim = -1, bool descending = False)",
)


def _positional_count(names: tuple[str, ...] = ("sort", "argsort")) -> int | None:
    """How many arguments the user's call of the op (``names``: its names, by default
    ``sort``/``argsort``) passed positionally (``self`` included for a method), read from
    its ``CALL`` instruction once per call site (cached: the bytecode read costs tens of
    microseconds); None where unreadable (``f(*args)``, an unknown bytecode) or where the
    call site calls no such op (a module's forward). Read on error paths and where
    ``stable=`` is given only."""
    frame = _user_frame()
    if frame is None:
        return None
    key = (frame.f_code, frame.f_lasti, names)
    n = _CALL_SITES.get(key, UNSET)
    if n is UNSET:
        if len(_CALL_SITES) > 4096:  # code made on the fly (exec): keep the cache bounded
            _CALL_SITES.clear()
        try:
            n = _read_positional_count(frame, names)
        except Exception:  # noqa: BLE001 - an unknown bytecode: not refused
            n = None
        _CALL_SITES[key] = n
    return n


def _read_positional_count(frame: Any, names: tuple[str, ...]) -> int | None:
    """:func:`_positional_count` read from ``frame``'s bytecode: the call's argument count
    less its keywords, plus ``self`` where the op was read from a tensor (``x.sort``, not
    ``cr.sort`` nor ``cr.Tensor.sort``)."""
    code, at = frame.f_code.co_code, frame.f_lasti
    while at > 0 and code[at] == 0:  # CACHE entries after the call (CPython 3.11+)
        at -= 2
    if code[at] not in _CALLS or (at >= 2 and code[at - 2] == dis.EXTENDED_ARG):
        return None
    _, _, keywords = called_as(names)
    ins = instructions_so_far(frame)  # (the CACHE entries after ``at`` are not listed)
    k = max((j for j, i in enumerate(ins) if i.argval in names), default=-1)
    if k < 0:  # not a call of the op (a chainrule function or module that calls one)
        return None
    if ins[k].opname not in ("LOAD_METHOD", "LOAD_ATTR"):
        return code[at + 1] - len(keywords)  # a name (from chainrule import sort)
    receiver = attribute_receiver(frame, ins, k)  # None: computed (x.clone().sort), a tensor
    bound = receiver is None or not isinstance(receiver, (type, types.ModuleType))
    return code[at + 1] - len(keywords) + bound


def _given(op: str, input: Any, dim: Any, descending: Any) -> list[tuple[str, Any]]:
    """The arguments the user's call of ``op`` gave, as PyTorch's error lists them: the
    positional ones (``self`` included), then those given by keyword."""
    n = _positional_count()
    n = 1 if n is None else n
    values = (("input", input), ("dim", dim), ("descending", descending))
    _, _, keywords = called_as((op,))
    return [*values[:n], *((k, v) for k, v in values[n:] if k in keywords)]


def refuse_sort_types(op: str, input: Any, dim: Any, descending: Any) -> None:
    """PyTorch's TypeError for ``sort``/``argsort`` given a ``descending`` that is not a
    Python bool (``x.sort(1, 0)``, ``descending=np.bool_(True)``) or a bool ``dim``
    (``x.sort(True)``), or a ``dim`` that is no int (``x.sort(1.5)``, ``x.sort(None)``): no
    overload takes them. Called where either is not of its plain type; returns where the
    parser reads them (a NumPy integer or 0-d integer tensor ``dim``)."""
    if type(descending) is bool and is_parser_int(dim):
        return
    from .invalid_arguments import combination_error  # noqa: PLC0415 - it imports this module

    forms = _SORT_FORMS if op == "sort" else _ARGSORT_FORMS
    params = [("input", input), ("dim", dim), ("descending", descending)]
    raise combination_error(op, params, forms, _METHOD_FORMS)


def refuse_stable_form(op: str, input: Any, dim: Any, descending: Any, stable: Any) -> None:
    """PyTorch's TypeError for a ``stable=`` its parser takes in no overload of ``sort`` or
    ``argsort``: ``stable`` comes only with ``dim``/``descending`` by keyword
    (``x.sort(1, stable=True)`` is refused), is a bool (``None`` too for ``sort``, not for
    ``argsort``). Called only where ``stable=`` was given."""
    bad_type = not isinstance(stable, bool) and not (stable is None and op == "sort")
    n = _positional_count()
    if not bad_type and (n is None or n <= 1):
        return
    n = 1 if n is None else n
    values = (("input", input), ("dim", dim), ("descending", descending))
    _, _, keywords = called_as((op,))
    params = [*values[:n], *((k, v) for k, v in values[n:] if k in keywords)]
    params.append(("stable", stable))
    forms = _SORT_FORMS if op == "sort" else _ARGSORT_FORMS
    raise invalid_combination(op, params, forms, _METHOD_FORMS)


def refuse_topk_types(k: Any, dim: Any, largest: Any, sorted: Any) -> None:  # noqa: A002
    """PyTorch's TypeError for ``topk``'s first argument of the wrong type: ``k`` and
    ``dim`` ints (not bools), ``largest`` and ``sorted`` Python bools (``x.topk(2, 1, 0)``:
    "topk(): argument 'largest' (position 3) must be bool, not int"). Called only where one
    is not of the plain type; returns where all are taken."""
    args = (("k", k, "int"), ("dim", dim, "int"), ("largest", largest, "bool"))
    for pos, (arg, value, kind) in enumerate((*args, ("sorted", sorted, "bool")), start=2):
        if type(value) is bool if kind == "bool" else is_parser_int(value):
            continue
        name, method, given = called_as(("topk",))
        where = "" if arg in given else f" (position {pos - method})"
        raise TypeError(
            f"{name}(): argument '{arg}'{where} must be {kind}, not {torch_type_name(value)}"
        )
