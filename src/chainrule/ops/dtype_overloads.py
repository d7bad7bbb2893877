"""PyTorch's TypeError for a ``dtype=`` that names no dtype, given to a factory with several
overloads: PyTorch's parser fits the call to none of them and lists them all (``arange():
received an invalid combination of arguments - got (int, dtype=bool), but expected one
of: ...``) where a factory with one form names the argument (``zeros(): argument 'dtype'
must be torch.dtype, not bool``, written by ``number_arguments.dtype_type_error``).

The arguments the user passed are read from the public function's frame (its parameters in
signature order, a ``*sizes`` tuple as one argument each) and the call's keywords from the
call site, as ``invalid_arguments.combination_error`` does for other ops. Error path only.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

from ._tensor_args import _PACKAGE
from .invalid_arguments import combination_error

__all__ = ["dtype_combination_error"]

_FACTORY = (
    "torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, "
    "bool pin_memory = False, bool requires_grad = False)"
)
_OUT = f"*, Tensor out = None, {_FACTORY}"
_GEN = f"*, torch.Generator generator, Tensor out = None, {_FACTORY}"
_LIKE = "torch.memory_format memory_format = None, " + _FACTORY
_SPACE = [
    f"({a} start, {b} end, int steps, {{base}}{_OUT}"
    for a, b in (("Tensor", "Tensor"), ("Number", "Tensor"), ("Tensor", "Number"))
] + [f"(Number start, Number end, int steps, {{base}}{_OUT}"]

#: Each factory's overloads as PyTorch prints them (torch 2.13).
FORMS: dict[str, tuple[str, ...]] = {
    "arange": (
        f"(Number end, {_OUT}",
        f"(Number start, Number end, *, {_FACTORY}",
        f"(Number start, Number end, Number step = 1, {_OUT}",
    ),
    "linspace": tuple(f.format(base="") for f in _SPACE),
    "logspace": tuple(f.format(base="float base = 10.0, ") for f in _SPACE),
    "eye": (f"(int n, {_OUT}", f"(int n, int m, {_OUT}"),
    "randn": (f"(tuple of ints size, {_GEN}", f"(tuple of ints size, {_OUT}"),
    "rand": (f"(tuple of ints size, {_GEN}", f"(tuple of ints size, {_OUT}"),
    "randperm": (f"(int n, {_GEN}", f"(int n, {_OUT}"),
    "randn_like": (
        f"(Tensor input, *, torch.Generator generator, {_LIKE}",
        f"(Tensor input, *, {_LIKE}",
    ),
    "rand_like": (
        f"(Tensor input, *, torch.Generator generator, {_LIKE}",
        f"(Tensor input, *, {_LIKE}",
    ),
}


def _public_frame() -> types.FrameType | None:
    """The outermost chainrule frame: the public function the user called."""
    frame: types.FrameType | None = sys._getframe(1)
    public = None
    while frame is not None:
        if frame.f_code.co_filename.startswith(_PACKAGE):
            public = frame
        frame = frame.f_back
    return public


def _parameters(frame: types.FrameType) -> list[tuple[str, Any]]:
    """The frame's parameters in signature order, a ``*args`` tuple spread as one each."""
    code = frame.f_code
    values = frame.f_locals
    n = code.co_argcount
    k = code.co_kwonlyargcount
    names = code.co_varnames
    params = [(name, values.get(name)) for name in names[:n]]
    if code.co_flags & inspect.CO_VARARGS:
        rest = values.get(names[n + k], ())
        params += [(f"{names[n + k]}[{i}]", v) for i, v in enumerate(rest)]
    params += [(name, values.get(name)) for name in names[n : n + k]]
    return params


def dtype_combination_error(name: str) -> TypeError | None:
    """PyTorch's "invalid combination of arguments" TypeError for the factory ``name`` called
    with an argument none of its overloads takes (a ``dtype`` that names no dtype,
    ``linspace``'s ``steps`` a bool); None where ``name`` has one form only."""
    forms = FORMS.get(name)
    frame = _public_frame() if forms is not None else None
    if frame is None or frame.f_code.co_name != name:
        return None
    return combination_error(name, _parameters(frame), forms)
