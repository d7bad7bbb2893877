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
    "argument_listing",
    "attribute_receiver",
    "called_as",
    "instructions_so_far",
    "torch_type_name",
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
_WRAPPERS = frozenset(  # the files of the binding wrappers around an op (numpy_keywords')
    os.path.join(_PACKAGE, "ops", name) for name in ("binding.py", "keywords.py")
)
_HEAPTYPE, _IMMUTABLE = 1 << 9, 1 << 8  # Py_TPFLAGS_HEAPTYPE, Py_TPFLAGS_IMMUTABLETYPE
_LOADS = ("LOAD_METHOD", "LOAD_ATTR", "LOAD_SUPER_ATTR")
_NAMED_LOADS = ("LOAD_FAST", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLASSDEREF")


_TORCH_C_TYPES = {
    "dtype": "torch.dtype",
    "QDtype": "torch.dtype",  # qint8, quint8, ...: torch.dtype objects in PyTorch
    "Device": "torch.device",
    "memory_format": "torch.memory_format",
    "layout": "torch.layout",
    "Size": "torch.Size",
}


def torch_type_name(value: Any) -> str:
    """The type name PyTorch's argument parser prints for ``value``: its C type name, which
    for an extension's type carries the module (``numpy.ndarray``, ``collections.deque``)
    and for a class defined in Python does not (``Fraction``, ``MaskedArray``)."""
    t = type(value)
    module = getattr(t, "__module__", "builtins")
    if module.startswith("chainrule") and t.__name__ in _TORCH_C_TYPES:
        return _TORCH_C_TYPES[t.__name__]  # torch's C types: torch.dtype, torch.device, ...
    if module == "builtins" or (t.__flags__ & _HEAPTYPE and not t.__flags__ & _IMMUTABLE):
        return t.__name__
    return f"{module}.{t.__name__}"


def _called_from_chainrule() -> bool:
    """Whether the op raising (the frame below its own module's and its binding wrappers')
    was called by chainrule's own code, which may pass a generator or NumPy arrays where
    PyTorch's parser takes only Tensors (checked on the error path only)."""
    frame: types.FrameType | None = sys._getframe(2)
    own = frame.f_code.co_filename if frame is not None else ""
    while frame is not None and (
        frame.f_code.co_filename in _WRAPPERS or frame.f_code.co_filename == own
    ):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_filename.startswith(_PACKAGE)


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


def attribute_receiver(
    frame: types.FrameType,
    ins: list[dis.Instruction],
    k: int,
    through: tuple[type, ...] | None = None,
) -> Any:
    """The object the attribute load ``ins[k]`` read from in ``frame``: the name that starts
    its chain of attribute loads, followed through them (``cr.nn.functional`` for
    ``cr.nn.functional.linear``); None for a computed receiver (``x.clone().atan2_``: a
    tensor). Raises what the lookup raises where a name or an attribute is not found.
    ``through``: follow the attributes of these types only, returning the first value of
    another type (``fx/_call_site.py`` passes modules and classes, so that no tensor
    attribute, a parameter read or a property, is evaluated a second time). Shared by
    :func:`called_as`, ``sorting_arguments.py``'s argument count and ``fx/_call_site.py``."""
    chain: list[str] = []
    j = k - 1
    while j >= 0 and ins[j].opname in _LOADS:
        chain.append(ins[j].argval)
        j -= 1
    if j < 0 or not ins[j].opname.startswith(_NAMED_LOADS):
        return None
    value = _load_name(frame, ins[j])
    for attr in reversed(chain):
        if through is not None and not isinstance(value, through):
            return value
        value = getattr(value, attr)
    return value


def instructions_so_far(frame: types.FrameType) -> list[dis.Instruction]:
    """``frame``'s instructions up to the one running (the call being made), in order: what
    the call-site readers (:func:`called_as`, ``sorting_arguments.py``) look back through."""
    return [i for i in dis.get_instructions(frame.f_code) if i.offset <= frame.f_lasti]


def _loaded_from_module(frame: types.FrameType, ins: list[dis.Instruction], k: int) -> bool:
    """Whether the attribute loaded by ``ins[k]`` was read from a module (``cr.atan2``,
    ``torch.nn.functional.linear``) rather than from a tensor (``x.atan2``)."""
    try:
        return isinstance(attribute_receiver(frame, ins, k), types.ModuleType)
    except Exception:  # noqa: BLE001 - unreadable: take the method form
        return False


def called_as(names: Sequence[str]) -> tuple[str, bool, tuple[str, ...]]:
    """How the user's code called the op named ``names[0]`` (or one of its aliases
    ``names[1:]``, or an in-place ``<name>_``): the name as called, whether as a method, and
    the names it passed by keyword. The function form, positionally, when unreadable (no
    frame, no bytecode, or opcodes :func:`_read_call` does not know: any error there)."""
    default: tuple[str, bool, tuple[str, ...]] = (names[0], False, ())
    frame = _user_frame()
    if frame is None:
        return default
    try:
        return _read_call(frame, names) or default
    except Exception:  # noqa: BLE001 - an unknown bytecode: the function form
        return default


def _read_call(
    frame: types.FrameType, names: Sequence[str]
) -> tuple[str, bool, tuple[str, ...]] | None:
    """:func:`called_as` read from ``frame``'s bytecode up to its current instruction, for
    CPython 3.11 (``LOAD_METHOD``, ``KW_NAMES``), 3.12 (``LOAD_ATTR`` for methods,
    ``KW_NAMES``) and 3.13 (``CALL_KW`` after a ``LOAD_CONST`` of the keyword names,
    ``LOAD_FAST_LOAD_FAST``); None when the call's op name is not found."""
    code = frame.f_code
    ins = instructions_so_far(frame)
    if not ins:
        return None
    wanted = {*names, *(n + "_" for n in names)}
    keywords: tuple[str, ...] = ()
    for k in range(len(ins) - 1, max(len(ins) - 4, -1), -1):  # the call's own keywords
        if ins[k].opname == "KW_NAMES":  # Python 3.11/3.12
            given = ins[k].argval  # 3.12: the names; 3.11: their index in co_consts
            keywords = tuple(given if isinstance(given, tuple) else code.co_consts[ins[k].arg])
            break
        if ins[k].opname == "LOAD_CONST" and ins[-1].opname == "CALL_KW":  # 3.13
            keywords = tuple(ins[k].argval)
            break
    for k in range(len(ins) - 1, -1, -1):
        i = ins[k]
        if i.argval in wanted and i.opname in _LOADS:
            return i.argval, not _loaded_from_module(frame, ins, k), keywords
        if i.argval in wanted and i.opname.startswith(_NAMED_LOADS):
            return i.argval, False, keywords  # from chainrule import atan2; atan2(x, 2.0)
    return names[0], False, keywords


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
        f"{name}(): argument '{arg}'{where} must be Tensor, not {torch_type_name(value)}"
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
        f"expected Tensor as element {index} in argument 0, but got {torch_type_name(value)}"
    )


def not_tensor_list(op: str, value: Any) -> TypeError:
    """PyTorch's TypeError for ``value`` given as an op's tensor list (``cat(x)``,
    ``stack(2.0)``, ``cat(t for t in ts)``): a Tensor, a number, None, a generator, a set, a
    dict, an array (the position unnamed when passed as ``tensors=``)."""
    name, _, given = called_as((op,))
    where = "" if "tensors" in given else " (position 1)"
    return TypeError(
        f"{name}(): argument 'tensors'{where} must be tuple of Tensors, not "
        f"{torch_type_name(value)}"
    )


def tensor_list(op: str, value: Any) -> list:
    """The non-list path of an op's tensor list (neither a list nor a tuple): PyTorch's
    parser takes no other iterable (a generator, set, dict, range, array), so user code gets
    :func:`not_tensor_list`'s TypeError; chainrule's own code may pass any iterable."""
    if isinstance(value, (Tensor, numbers.Number, str, type(None))) or (
        not _called_from_chainrule()
    ):
        raise not_tensor_list(op, value)
    return list(value)


def tensor_element(seq: Sequence[Any], value: Any) -> Tensor:
    """The non-Tensor path of a tensor list's element: Python data, and from user code an
    array too (PyTorch's parser takes none), raise :func:`not_tensor_element`'s TypeError;
    an array chainrule's own code passes becomes a constant Tensor."""
    if isinstance(value, PYTHON_DATA) or not _called_from_chainrule():
        raise not_tensor_element(seq, value)
    return as_tensor(value)


def argument_listing(first: list[str], named: list[str]) -> str:
    """The "got (...)" listing of PyTorch's invalid-combination TypeErrors: the positional
    arguments joined by ``, ``, then each keyword after ``, `` (or each followed by ``, ``
    where none is positional: ``got (dim=int, )``). One rule for every such message."""
    if first:
        return ", ".join(first) + "".join(f", {k}" for k in named)
    return "".join(f"{k}, " for k in named)


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
    # the positional arguments, then the keywords in reverse call order
    kinds = dict(shown)
    first = [torch_type_name(v) for p, v in shown if p not in given]
    named = [f"{p}={torch_type_name(kinds[p])}" for p in reversed(given) if p in kinds]
    got = argument_listing(first, named)
    if method:
        sigs = method_signatures or ["(" + s.split(", ", 1)[1] for s in signatures]
    else:
        sigs = list(signatures)
    lines = "".join(f"\n * {s}" for s in sigs)
    return TypeError(
        f"{name}() received an invalid combination of arguments - got ({got}), but expected "
        f"one of:{lines}"
    )
