"""PyTorch's argument-parser TypeErrors for a number, list, bool or None given where an op
takes only a Tensor (``torch.atan2(x, 2.0)``: "atan2(): argument 'other' (position 2) must be
Tensor, not float"), built only when raising.

PyTorch's positions count from the first argument after ``self`` for a method
(``x.atan2(2.0)``: position 1), a keyword argument names none, and an in-place method is
named as called (``atan2_()``). chainrule binds one function to both forms, so which form
was called is read, on the error path only, from the caller's bytecode: the attribute loaded
for the call (``atan2``, ``arctan2``, ``atan2_``), the object it was loaded from (a module:
the function form; anything else, a tensor: the method form) and the call's keyword names.
Nothing here runs while the arguments are Tensors.
"""

from __future__ import annotations

import dis
import numbers
import os
import sys
import types
from collections.abc import Sequence
from typing import Any

from ..autograd.tensor import Tensor
from ._util import as_tensor

__all__ = [
    "called_as",
    "first_not_tensor",
    "invalid_combination",
    "PYTHON_DATA",
    "not_tensor",
    "not_tensor_element",
    "not_tensor_list",
    "tensor_element",
    "tensor_list",
    "tensor_operand",
]

PYTHON_DATA = (numbers.Number, list, tuple, str, type(None))
"""What PyTorch's parser never reads as a Tensor (NumPy arrays stay chainrule's to convert)."""
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # src/chainrule
_LOADS = ("LOAD_METHOD", "LOAD_ATTR")
_NAMED_LOADS = ("LOAD_FAST", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLASSDEREF")


def _user_frame() -> types.FrameType | None:
    """The innermost frame outside chainrule's package: the caller of the public op."""
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    return frame


def _load_name(frame: types.FrameType, ins: dis.Instruction) -> Any:
    """The value a LOAD_FAST/NAME/GLOBAL/DEREF instruction loaded in ``frame``."""
    name = ins.argval[-1] if isinstance(ins.argval, tuple) else ins.argval
    for scope in (frame.f_locals, frame.f_globals, frame.f_builtins):
        if name in scope:
            return scope[name]
    raise LookupError(name)


def _loaded_from_module(frame: types.FrameType, ins: list[dis.Instruction], k: int) -> bool:
    """Whether the attribute loaded by ``ins[k]`` was read from a module (``cr.atan2``,
    ``torch.nn.functional.linear``) rather than from a tensor (``x.atan2``)."""
    chain: list[str] = []
    j = k - 1
    while j >= 0 and ins[j].opname in _LOADS:
        chain.append(ins[j].argval)
        j -= 1
    if j < 0 or not ins[j].opname.startswith(_NAMED_LOADS):
        return False  # a computed receiver (x.clone().atan2_): a tensor
    try:
        value = _load_name(frame, ins[j])
        for attr in reversed(chain):
            value = getattr(value, attr)
    except Exception:  # noqa: BLE001 - unreadable: take the method form
        return False
    return isinstance(value, types.ModuleType)


def called_as(names: Sequence[str]) -> tuple[str, bool, frozenset[str]]:
    """How the user's code called the op named ``names[0]`` (or one of its aliases
    ``names[1:]``, or an in-place ``<name>_``): the name as called, whether as a method, and
    the names it passed by keyword. The function form, positionally, when unreadable."""
    default = (names[0], False, frozenset[str]())
    frame = _user_frame()
    if frame is None:
        return default
    code = frame.f_code
    try:
        ins = [i for i in dis.get_instructions(code) if i.offset <= frame.f_lasti]
    except Exception:  # noqa: BLE001 - no bytecode to read: the function form
        return default
    wanted = {*names, *(n + "_" for n in names)}
    keywords: frozenset[str] = frozenset()
    for k in range(len(ins) - 1, max(len(ins) - 4, -1), -1):  # the call's own keywords
        if ins[k].opname == "KW_NAMES":  # Python 3.11/3.12
            keywords = frozenset(code.co_consts[ins[k].arg or 0])
        elif ins[k].opname == "LOAD_CONST" and ins[-1].opname == "CALL_KW":  # 3.13
            keywords = frozenset(ins[k].argval)
            break
    for k in range(len(ins) - 1, -1, -1):
        i = ins[k]
        if i.argval in wanted and i.opname in _LOADS:
            return i.argval, not _loaded_from_module(frame, ins, k), keywords
        if i.argval in wanted and i.opname.startswith(_NAMED_LOADS):
            return i.argval, False, keywords  # from chainrule import atan2; atan2(x, 2.0)
    return (default[0], False, keywords)


def not_tensor(
    names: str | Sequence[str], arg: str, position: int, value: Any, keywords: bool = True
) -> TypeError:
    """PyTorch's TypeError for ``value`` (not a Tensor) given as the tensor argument ``arg``,
    at ``position`` (1-based) of the op's function form. ``keywords=False`` for an op whose
    PyTorch form passes every argument positionally (``F.layer_norm``: the position is named
    for a keyword argument too)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    name, method, given = called_as(names)
    where = "" if keywords and arg in given else f" (position {position - method})"
    return TypeError(
        f"{name}(): argument '{arg}'{where} must be Tensor, not {type(value).__name__}"
    )


def first_not_tensor(
    names: str | Sequence[str], params: Sequence[tuple[str, Any]], keywords: bool = True
) -> TypeError:
    """:func:`not_tensor` for the first of ``params`` (the op's tensor arguments, by name, in
    the function form's order from position 1) that is not a Tensor."""
    for pos, (arg, value) in enumerate(params):
        if not isinstance(value, Tensor):
            return not_tensor(names, arg, pos + 1, value, keywords)
    raise AssertionError("first_not_tensor: every argument is a Tensor")


def tensor_operand(
    names: str | Sequence[str], arg: str, position: int, value: Any, keywords: bool = True
) -> Tensor:
    """The non-Tensor path of a tensor-only argument: Python data (a number, bool, list,
    tuple, None) raises :func:`not_tensor`'s TypeError; an array (NumPy's, or vmap's
    per-sample one, which chainrule's own code passes) becomes a constant Tensor."""
    if isinstance(value, PYTHON_DATA):
        raise not_tensor(names, arg, position, value, keywords)
    return as_tensor(value)


def not_tensor_element(seq: Sequence[Any], value: Any) -> TypeError:
    """PyTorch's TypeError for ``value``, a non-tensor element of the tensor list ``seq``
    (``cat``, ``stack``, ``hstack``...)."""
    index = next(i for i, v in enumerate(seq) if v is value)
    return TypeError(
        f"expected Tensor as element {index} in argument 0, but got {type(value).__name__}"
    )


def not_tensor_list(op: str, value: Any) -> TypeError:
    """PyTorch's TypeError for ``value`` given as an op's tensor list (``cat(x)``,
    ``stack(2.0)``): a Tensor, a number, None, a generator."""
    return TypeError(
        f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
        f"{type(value).__name__}"
    )


def tensor_list(op: str, value: Any) -> list:
    """The non-list path of an op's tensor list: a Tensor, number, str or None raises
    :func:`not_tensor_list`'s TypeError; another iterable is listed (PyTorch refuses a
    generator too; chainrule's own code may pass one)."""
    if isinstance(value, (Tensor, numbers.Number, str, type(None))):
        raise not_tensor_list(op, value)
    return list(value)


def tensor_element(seq: Sequence[Any], value: Any) -> Tensor:
    """The non-Tensor path of a tensor list's element: Python data raises
    :func:`not_tensor_element`'s TypeError; an array becomes a constant Tensor."""
    if isinstance(value, PYTHON_DATA):
        raise not_tensor_element(seq, value)
    return as_tensor(value)


def invalid_combination(
    names: str | Sequence[str],
    params: Sequence[tuple[str, Any]],
    signatures: Sequence[str],
    method_signatures: Sequence[str] | None = None,
    method_params: Sequence[tuple[str, Any]] | None = None,
) -> TypeError:
    """PyTorch's TypeError when no overload of an op takes its arguments (``lerp(x, 1.0,
    w)``: "lerp() received an invalid combination of arguments - got (Tensor, float,
    Tensor), but expected one of:" and the overloads). ``params``: the op's given arguments
    in order, ``self`` first; ``signatures``: the function form's overloads (the method's are
    these without their first parameter unless ``method_signatures`` says otherwise;
    ``method_params`` the method's arguments, ``self`` excluded, where they are not
    ``params[1:]``: ``x.where(cond, y)``)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    name, method, given = called_as(names)
    shown = params if not method else params[1:] if method_params is None else method_params
    got = ", ".join(
        f"{p}={type(v).__name__}" if p in given else type(v).__name__
        for p, v in sorted(shown, key=lambda pv: pv[0] in given)
    )
    if method:
        sigs = method_signatures or ["(" + s.split(", ", 1)[1] for s in signatures]
    else:
        sigs = list(signatures)
    lines = "".join(f"\n * {s}" for s in sigs)
    return TypeError(
        f"{name}() received an invalid combination of arguments - got ({got}), but expected "
        f"one of:{lines}"
    )
