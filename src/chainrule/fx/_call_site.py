"""Which form a traced call was written in: ``Tensor.split(x, 2)`` (the method form, which
torch.fx records as ``call_method``) or ``cr.split(x, 2)`` (the function form:
``call_function``).

chainrule binds one object to both forms where their arguments match (``cr.split is
Tensor.split``), so the tracer's function mode, handed that object, cannot tell them apart;
torch's can, as its function and method are different objects. The form is read, during a
trace only, from the calling frame's bytecode: the object the called attribute was loaded
from (a module: the function form; a class or an instance: the method form), with the same
reader as the ops' argument errors (``ops/_tensor_args.py``).
"""

from __future__ import annotations

import dis
import os
import sys
import types
from typing import Any

from ..autograd.tensor import Tensor
from ..ops._tensor_args import attribute_receiver, instructions_so_far
from ..ops.keyword_aliases import unaliased

__all__ = ["as_torch_records", "records_method"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # src/chainrule
_DISPATCH_FILES = frozenset(  # the frames between a user's call and the recording handler
    os.path.join(_PACKAGE, *parts)
    for parts in (
        ("autograd", "torch_function.py"),
        ("overrides.py",),
        ("ops", "binding.py"),
        ("ops", "keywords.py"),
        ("fx", "tracer.py"),
        ("fx", "proxy.py"),
        ("fx", "_call_site.py"),
    )
)
_LOADS = ("LOAD_METHOD", "LOAD_ATTR")
# torch's split and norm are written in Python and hand their arguments on to
# handle_torch_function as (tensor, leading positionals..., the rest by keyword, defaults
# included): what its trace records. (name, method form) -> (positional names, keywords)
_PYTHON_WRITTEN: dict[tuple[str, bool], tuple[tuple[str, ...], dict[str, Any]]] = {
    ("split", True): (("split_size",), {"dim": 0}),
    ("split", False): (("split_size_or_sections",), {"dim": 0}),
    ("norm", True): ((), {"p": "fro", "dim": None, "keepdim": False, "dtype": None}),
    ("norm", False): (
        (),
        {"p": "fro", "dim": None, "keepdim": False, "out": None, "dtype": None},
    ),
}
_NAMED_LOADS = ("LOAD_FAST", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLASSDEREF")
_MODULE_OR_CLASS = (types.ModuleType, type)  # what _receiver reads attributes of


def records_method(func: Any) -> bool:
    """Whether a call of ``func`` met by a tracer is recorded as ``call_method`` (target
    its name) rather than ``call_function``: a Tensor method that is not also chainrule's
    function of that name always is; one that is both (``split``, ``relu``, ``reshape``)
    when the caller wrote the method form (``Tensor.split(x, 2)``, ``buf.reshape(s)``)."""
    name = getattr(func, "__name__", "")
    if not name or getattr(Tensor, name, None) is not func:
        return False
    root = getattr(sys.modules["chainrule"], name, None)
    if root is not func and _op(root) is not _op(func):  # (cr.<name> may wrap the method)
        return True
    frame = _caller()
    if frame is None:
        return False
    try:
        return _method_form(frame, name)
    except Exception:  # noqa: BLE001 - unreadable bytecode or lookup: the function form
        return False


def _op(fn: Any) -> Any:
    """The op under ``fn``'s ``__torch_function__`` dispatch and keyword-alias wrappers."""
    return unaliased(getattr(fn, "__torch_function_wrapped__", fn))


def _caller() -> types.FrameType | None:
    """The innermost frame outside the dispatch machinery: the code making the call."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in _DISPATCH_FILES:
        frame = frame.f_back
    return frame


def _method_form(frame: types.FrameType, name: str) -> bool:
    """Whether the callee of ``frame``'s current call, a load of ``name``, was read from
    something other than a module. The callee is the last load of ``name`` that starts
    where the call's expression starts (so that in ``Tensor.split(cr.split(x, 2)[0], 1)``
    the outer call finds ``Tensor.split``); the last load of ``name`` without positions."""
    ins = instructions_so_far(frame)
    if not ins:
        return False
    start = _start(ins[-1])
    for k in range(len(ins) - 1, -1, -1):
        if ins[k].argval != name or (start is not None and _start(ins[k]) != start):
            continue
        if ins[k].opname in _LOADS:
            return not isinstance(_receiver(frame, ins, k), types.ModuleType)
        if ins[k].opname.startswith(_NAMED_LOADS):
            return False  # from chainrule import split; split(x, 2)
    return False


def _start(instruction: dis.Instruction) -> tuple[int, int] | None:
    """Where the source of ``instruction`` starts (line, column); None when unknown."""
    pos = getattr(instruction, "positions", None)
    if pos is None or pos.lineno is None or pos.col_offset is None:
        return None
    return pos.lineno, pos.col_offset


def _receiver(frame: types.FrameType, ins: list[dis.Instruction], k: int) -> Any:
    """What ``ins[k]``'s attribute was loaded from, followed through modules and classes
    only (``cr.Tensor``, ``chainrule.nn.functional``): the walk stops at the first other
    object (``self``, a tensor), so that no module or tensor attribute (a parameter read,
    a property) is evaluated a second time. None for a computed receiver or a name not
    found. The walk is ``_tensor_args.attribute_receiver``'s, the argument errors' reader."""
    try:
        return attribute_receiver(frame, ins, k, through=_MODULE_OR_CLASS)
    except LookupError:  # the name is in no scope of the frame
        return None


def as_torch_records(name: str, method: bool, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The arguments torch's trace records for a call of ``name`` (in the method form or
    not): for torch's Python-written ``split``/``norm``, the first arguments positionally
    and the others by keyword with their defaults (``x.split(2)`` records
    ``x.split(2, dim = 0)``); every other call's as given."""
    rule = _PYTHON_WRITTEN.get((name, method))
    if rule is None or not args:
        return args, kwargs
    positional, defaults = rule
    kwargs = dict(kwargs)
    lead = [args[0]]
    rest = list(args[1:])
    for pname in positional:
        if rest:
            lead.append(rest.pop(0))
        elif pname in kwargs:
            lead.append(kwargs.pop(pname))
        elif name == "split" and "split_size" in kwargs:  # cr.split(x, split_size=2)
            lead.append(kwargs.pop("split_size"))
        else:
            return args, kwargs  # an argument missing: the call's own error will say
    names = list(defaults)
    if len(rest) > len(names):
        return args, kwargs
    out: dict[str, Any] = {}
    for i, k in enumerate(names):
        if i < len(rest):
            if k in kwargs:  # given twice: the call's own error will say
                return args, kwargs
            out[k] = rest[i]
        else:
            out[k] = kwargs.pop(k, defaults[k])
    out.update(kwargs)  # unknown keywords: passed on to the call's own check
    return tuple(lead), out
