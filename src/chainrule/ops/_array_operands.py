"""PyTorch's TypeError for a NumPy array given to ``torch.add``/``sub``/``mul``/``div`` (and
their aliases and method forms) or as ``torch.where``'s condition: its argument parser
takes only Tensors (and numbers) there. The Python operators keep taking an array
(``x + arr``, ``x @ arr``: the operator converts it, in PyTorch too), and chainrule's own
code may pass arrays, so the error is raised only for a call from user code that is not an
operator. Everything here runs on the ops' non-Tensor paths only.
"""

from __future__ import annotations

import dis
import os
import sys
import types
from typing import Any

from ._tensor_args import first_not_tensor, invalid_combination

__all__ = ["refuse_user_array", "user_call"]

_OPS = os.path.dirname(os.path.abspath(__file__))  # src/chainrule/ops
_PACKAGE = os.path.dirname(_OPS)
_ENTRY = frozenset(  # the op's own files and the wrappers around it
    os.path.join(_OPS, name)
    for name in (
        "_array_operands.py",
        "binary.py",
        "binary_call.py",  # _call, which add/sub/mul/div go through
        "selection_where.py",
        "binding.py",
        "keywords.py",
        "logical.py",  # the comparisons (eq, lt, ...)
        "deprecated_overloads.py",
        "aliases.py",
        "inplace.py",
        "inplace_names.py",  # the named in-place wrappers (eq_ ... ge_ record PyTorch's node)
        "sparse_pointwise.py",
        "__init__.py",  # its method bindings
        "tensor_operators.py",  # bind_special: x.where(cond, y) calls where(cond, x, y)
    )
)

_NAMES = {
    "add": ("add",),
    "sub": ("sub", "subtract"),
    "mul": ("mul", "multiply"),
    "div": ("div", "divide", "true_divide"),
}
_TENSOR_OTHER = "(Tensor input, Tensor other, *, Tensor out = None)"
_ALIAS_FORMS = {  # PyTorch's overloads of the aliases (whose error lists them)
    "subtract": (
        "(Tensor input, Tensor other, *, Number alpha = 1, Tensor out = None)",
        "(Tensor input, Number other, Number alpha = 1)",
    ),
    "multiply": (_TENSOR_OTHER, "(Tensor input, Number other)"),
    "true_divide": (_TENSOR_OTHER, "(Tensor input, Number other)"),
    "divide": (
        _TENSOR_OTHER,
        "(Tensor input, Tensor other, *, str rounding_mode, Tensor out = None)",
        "(Tensor input, Number other)",
        "(Tensor input, Number other, *, str rounding_mode)",
    ),
}
_ROUNDED_DIV_FORMS = (
    _TENSOR_OTHER,
    "(Tensor input, Tensor other, *, str rounding_mode, Tensor out = None)",
    "(Tensor input, Number other, *, str rounding_mode)",
)


def _caller() -> types.FrameType | None:
    """The frame that called the op: the first outside its files and wrappers."""
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename in _ENTRY:
        frame = frame.f_back
    return frame


def _is_operator(frame: types.FrameType) -> bool:
    """Whether ``frame`` is running a Python operator (``x + arr``, ``x += arr``) rather
    than a call (unreadable bytecode: an operator, so that nothing is refused wrongly)."""
    try:  # the instruction running: the last to start at or before f_lasti (its caches)
        current = None
        for ins in dis.get_instructions(frame.f_code):
            if ins.offset > frame.f_lasti:
                break
            current = ins
    except Exception:  # noqa: BLE001 - unreadable bytecode: accept the array
        return True
    return current is None or not current.opname.startswith("CALL")


def user_call() -> bool:
    """Whether the op was called, not by an operator, from code outside chainrule."""
    frame = _caller()
    return (
        frame is not None
        and not frame.f_code.co_filename.startswith(_PACKAGE)
        and not _is_operator(frame)
    )


def refuse_user_array(op: str, a: Any, b: Any, rounding_mode: Any = None) -> None:
    """Raise PyTorch's TypeError for ``op(a, b)`` (``add``, ``sub``, ``mul``, ``div``) where
    ``a`` or ``b`` is a NumPy array, a list or a tuple given by user code (not an operator:
    those decline such operands before the op runs, ``tensor_numpy.py``); return otherwise
    (the caller converts it)."""
    names = _NAMES.get(op)
    if names is None or not user_call():
        return
    params = (("input", a), ("other", b))
    if rounding_mode is not None:
        kw = (*params, ("rounding_mode", rounding_mode))
        raise invalid_combination(names, kw, _ROUNDED_DIV_FORMS)
    error = first_not_tensor(names, params)
    called = str(error).split("(", 1)[0]
    if called in _ALIAS_FORMS:
        raise invalid_combination(names, params, _ALIAS_FORMS[called])
    raise error
