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

The same search, collecting every tensor (:func:`reachable_tensors`), gives what the grad
transforms of ``cr.func`` refuse to let ``f`` change in place (:mod:`chainrule.func._captures`);
the refusal itself (:func:`captured_writes_refused`, :func:`check_captured_write`) is here,
where the in-place ops of :mod:`chainrule.ops.inplace` find it at one test of a counter.
"""

from __future__ import annotations

import functools
import threading
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .saved import memory_root
from .tensor import Tensor

__all__ = [
    "GUARDING",
    "captured_writes_refused",
    "captures_grad",
    "check_captured_write",
    "reachable_tensors",
    "remembered",
]

_MAX_DEPTH = 8
_MAX_VISITS = 5000
_PLAIN = (type(None), bool, int, float, complex, str, bytes, type, types.ModuleType)
_MODULE_TABLES = frozenset({"_parameters", "_buffers", "_modules"})
_LIBRARIES = ("chainrule", "numpy", "torch", "builtins", "functools", "typing", "math")


class _GiveUp(Exception):
    """Too much to search: left to the results (see the module docstring)."""


class _Search:
    """With ``collect`` (a list), every tensor found is appended to it and the search goes
    on; without, it stops at the first tensor that requires grad."""

    def __init__(self, collect: list | None = None) -> None:
        self.seen: set[int] = set()
        self.visits = 0
        self.collect = collect

    def found(self, obj: Any, depth: int) -> bool:  # noqa: C901, PLR0911, PLR0912
        self.visits += 1  # every value counts (a long list of numbers ends the search)
        if self.visits > _MAX_VISITS:
            raise _GiveUp
        if isinstance(obj, _PLAIN) or depth > _MAX_DEPTH:
            return False
        if isinstance(obj, Tensor):
            if self.collect is not None:
                self.collect.append(obj)
                return False
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
            mods = list(obj.modules())  # (one walk of the module tree)
            tensors = _module_tensors(mods)
            if self.collect is not None:
                self.collect.extend(tensors)
            elif any(t.requires_grad for t in tensors):
                return True
            own = {k: v for k, v in vars(obj).items() if k not in _MODULE_TABLES}
            forwards = {getattr(type(m), "forward", None) for m in mods}
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


def _module_tensors(mods: list) -> list:
    """The parameters and buffers of the modules ``mods`` (a module and its descendants)."""
    return [
        t
        for m in mods
        for table in (getattr(m, "_parameters", None) or {}, getattr(m, "_buffers", None) or {})
        for t in table.values()
        if t is not None
    ]


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


def reachable_tensors(f: Any) -> list:
    """The tensors ``f`` reaches (the search of :func:`captures_grad`, not stopping at the
    first; a search that grows too large gives what it found so far): what a grad transform
    of ``cr.func`` refuses to let ``f`` change in place (:mod:`chainrule.func._captures`)."""
    table = _MEMO.table
    key = ("tensors", id(f))
    if table is not None and key in table:
        return table[key][1]
    found: list = []
    try:
        _Search(found).found(f, 0)
    except _GiveUp:
        pass
    if table is not None:
        table[key] = (f, found)
    return found


class _Captured(threading.local):
    """Per thread: the memory roots (by id) that the innermost running grad transform of
    ``cr.func`` refuses to write (see :func:`captured_writes_refused`), innermost last."""

    def __init__(self) -> None:
        self.stack: list[dict[int, Any]] = []


_CAPTURED = _Captured()
GUARDING = [0]  # such transforms running now, in every thread: the one test on the fast path
_GUARDING_LOCK = threading.Lock()


def _memory_root_of(t: Tensor) -> Any:
    while getattr(t, "vmap_inplace", None) is not None:  # a vmap-batched tensor: its value
        t = t._value
    return memory_root(t._data)


class captured_writes_refused:  # noqa: N801 - used as a function, a context manager
    """While this runs (the function given to a grad transform of ``cr.func``), an in-place
    write into the memory of a ``captured`` tensor (one the function reads from outside: a
    closure, a global, a module's buffer) raises, as torch.func's grad transforms do; the
    write does not happen. The transform's ``inputs`` (the tensors the function is given)
    may be written, even where an enclosing transform captured them; what an enclosing
    transform refuses stays refused otherwise (a tensor made inside its function is captured
    by the inner one's). The memory, not the tensor, decides: a view, ``detach()`` or
    ``.data`` of a captured tensor is refused too, as in PyTorch."""

    __slots__ = ("refuse",)

    def __init__(self, captured: Iterable[Tensor], inputs: Iterable[Tensor]) -> None:
        stack = _CAPTURED.stack
        refuse = dict(stack[-1]) if stack else {}
        for t in captured:
            root = _memory_root_of(t)
            refuse[id(root)] = root  # (kept alive: its id is not reused meanwhile)
        for t in inputs:
            refuse.pop(id(_memory_root_of(t)), None)
        self.refuse = refuse

    def __enter__(self) -> None:
        _CAPTURED.stack.append(self.refuse)
        with _GUARDING_LOCK:
            GUARDING[0] += 1

    def __exit__(self, *exc: Any) -> None:
        with _GUARDING_LOCK:
            GUARDING[0] -= 1
        _CAPTURED.stack.pop()


def check_captured_write(x: Tensor, name: str) -> None:
    """PyTorch's error for an in-place write into a captured tensor inside a grad transform
    (:func:`captured_writes_refused`): the in-place paths of :mod:`chainrule.ops.inplace`
    call it (after testing ``GUARDING[0]``); other in-place ops may too."""
    if not GUARDING[0]:
        return
    stack = _CAPTURED.stack
    if not stack or id(_memory_root_of(x)) not in stack[-1]:
        return
    op = "copy_" if name == "setitem" else name
    raise RuntimeError(
        "During a grad (vjp, jvp, grad, etc) transform, the function provided attempted to "
        f"call in-place operation (aten::{op}) that would mutate a captured Tensor. This is "
        "not supported; please rewrite the function being transformed to explicitly accept "
        "the mutated Tensor(s) as inputs."
    )
