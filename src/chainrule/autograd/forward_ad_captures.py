"""Whether the function given to ``cr.func.jvp`` captures a tensor that requires grad.

``jvp`` records the reverse-mode graph of its one forward pass only where the autograd
around will read it: a primal or tangent that requires grad, or a tensor that requires grad
which ``f`` reads from outside (a module's parameter, a tensor in a closure or a global).
The first two are seen in the arguments; the last is looked for here before ``f`` runs, so
that ``f`` runs once, as in PyTorch. The search follows what ``f`` can reach: its closure
cells, defaults and the globals its code names (nested code too), bound methods, partials,
modules (their parameters, buffers and ``forward``), containers, and the attributes of
other objects, up to a bounded depth. Library code is not entered. A capture it misses
(say, a tensor behind an object it does not open) shows in the results, and ``jvp`` then
runs ``f`` a second time, recording (:mod:`.forward_ad_jvp`).
"""

from __future__ import annotations

import functools
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .tensor import Tensor

__all__ = ["captures_grad", "remembered"]

_MAX_DEPTH = 8
_MAX_VISITS = 5000
_PLAIN = (type(None), bool, int, float, complex, str, bytes, type, types.ModuleType)
_MODULE_TABLES = frozenset({"_parameters", "_buffers", "_modules"})
_LIBRARIES = ("chainrule", "numpy", "torch", "builtins", "functools", "typing", "math")


class _GiveUp(Exception):
    """Too much to search: left to the results (see the module docstring)."""


class _Search:
    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.visits = 0

    def found(self, obj: Any, depth: int) -> bool:  # noqa: C901, PLR0911, PLR0912
        self.visits += 1  # every value counts (a long list of numbers ends the search)
        if self.visits > _MAX_VISITS:
            raise _GiveUp
        if isinstance(obj, _PLAIN) or depth > _MAX_DEPTH:
            return False
        if isinstance(obj, Tensor):
            return bool(obj.requires_grad)
        if id(obj) in self.seen:
            return False
        self.seen.add(id(obj))
        d = depth + 1
        if isinstance(obj, types.FunctionType):
            return self._function(obj, d)
        if isinstance(obj, types.MethodType):
            return self.found(obj.__self__, d) or self.found(obj.__func__, d)
        if isinstance(obj, functools.partial):
            return (
                self.found(obj.func, d)
                or any(self.found(a, d) for a in obj.args)
                or any(self.found(v, d) for v in obj.keywords.values())
            )
        if isinstance(obj, (list, tuple, set, frozenset)):
            return any(self.found(v, d) for v in obj)
        if isinstance(obj, dict):
            return any(self.found(v, d) for v in obj.values())
        if _is_module(obj):
            if any(t is not None and t.requires_grad for t in _module_tensors(obj)):
                return True
            own = {k: v for k, v in vars(obj).items() if k not in _MODULE_TABLES}
            forwards = {getattr(type(m), "forward", None) for m in obj.modules()}
            return any(self.found(fw, d) for fw in forwards) or self.found(own, d)
        call = type(obj).__call__ if callable(obj) else None
        if isinstance(call, types.FunctionType) and self.found(call, d):
            return True
        return self.found(_own_attributes(obj), d)

    def _function(self, fn: types.FunctionType, d: int) -> bool:
        cells = fn.__closure__ or ()
        for c in cells:
            try:
                value = c.cell_contents
            except ValueError:  # an empty cell
                continue
            if self.found(value, d):
                return True
        if self.found(fn.__defaults__, d) or self.found(fn.__kwdefaults__, d):
            return True
        if _from_library(fn):  # its globals are the library's
            return False
        names = fn.__globals__
        return any(self.found(names[n], d) for n in _code_names(fn.__code__) if n in names)


def _code_names(code: types.CodeType) -> list:
    names = list(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names.extend(_code_names(c))
    return names


def _from_library(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".", 1)[0] in _LIBRARIES


def _is_module(obj: Any) -> bool:
    from ..nn.module import Module

    return isinstance(obj, Module)


def _module_tensors(m: Any) -> list:
    return [*m.parameters(), *m.buffers()]


def _own_attributes(obj: Any) -> Any:
    try:
        return dict(vars(obj))
    except TypeError:  # no __dict__ (slots, a C type)
        return None


class _Memo(threading.local):
    table: dict | None = None


_MEMO = _Memo()


@contextmanager
def remembered() -> Iterator[None]:
    """Search each function once while this runs (``jacfwd``: one jvp per input element of
    the same function)."""
    saved = _MEMO.table
    _MEMO.table = {}
    try:
        yield
    finally:
        _MEMO.table = saved


def captures_grad(f: Any) -> bool:
    """Whether ``f`` reaches a tensor that requires grad (see the module docstring)."""
    table = _MEMO.table
    if table is not None and id(f) in table:
        return table[id(f)][1]
    try:
        found = _Search().found(f, 0)
    except _GiveUp:
        found = False
    if table is not None:
        table[id(f)] = (f, found)  # (f kept alive: its id is not reused meanwhile)
    return found
