"""Recording: the wrappers a running profiler swaps into autograd, and the session they fill.

Nothing here runs while no profiler records. Starting a :class:`Session` swaps in wrapping
versions of the three places every op and every backward rule pass through, and stopping it
puts the original objects back (as ``autograd/inference.py`` swaps ``Tensor._make``):

* ``Function.apply`` (every op's forward): one event named ``chainrule::<op>`` (see
  :func:`op_name`), around the op, holding the ops it calls;
* ``engine.call_rule`` (one node's backward rule): an event
  ``autograd::engine::evaluate_function: MulBackward0`` holding an event ``MulBackward0``
  that holds the ops the rule calls, as PyTorch's profiler shows a backward pass;
* ``engine._write_leaf`` (a leaf's ``.grad`` written): ``torch::autograd::AccumulateGrad``.

One session records at a time in the process (PyTorch's profiler is process-wide too), and
only the thread that started it: calls in other threads run the plain code (one identity
check). Starting a session while another records takes the recording over, as PyTorch.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import weakref
from typing import Any

from ..autograd import engine as _engine
from ..autograd.anomaly import _PKG_DIR
from ..autograd.function import Function
from ..autograd.node import is_builtin
from ..autograd.saved import memory_root
from ..autograd.tensor import Tensor
from .events import FunctionEvent

__all__ = ["Session", "active_session", "op_name", "PLAIN_APPLY"]

PLAIN_APPLY = Function.__dict__["apply"]  # the classmethod object, put back on stop
_plain_write_leaf = getattr(_engine, "_write_leaf", None)
# What the wrappers call next: the objects installed when recording started (the plain code,
# or another tool's wrappers, e.g. a FlopCounterMode's), put back when it stops.
_next: dict[str, Any] = {
    "apply": PLAIN_APPLY,
    "call_rule": _engine.call_rule,
    "write_leaf": _plain_write_leaf,
}

_lock = threading.Lock()
_active: Session | None = None  # the one recording session of the process
_names: dict[type, str] = {}
_EVAL = "autograd::engine::evaluate_function: "
_ACC = "torch::autograd::AccumulateGrad"


def active_session() -> Session | None:
    """The session recording in the calling thread, or None."""
    s = _active
    return s if s is not None and s.thread == threading.get_ident() else None


def op_name(cls: type) -> str:
    """The event name of an op: ``chainrule::`` + the snake-case name of a built-in
    Function's class without its ``Fn`` suffix (``LinearFn`` -> ``chainrule::linear``,
    ``MaxPool2dFn`` -> ``chainrule::max_pool2d``, ``Mul`` -> ``chainrule::mul``); a user's
    Function is named by its class, as PyTorch's profiler names it."""
    name = _names.get(cls)
    if name is None:
        base = cls.__name__
        if not is_builtin(cls):
            name = base
        else:
            base = base.lstrip("_")
            if base.endswith("Fn") and len(base) > 2:
                base = base[:-2]
            base = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", base)
            name = "chainrule::" + re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", base).lower()
        _names[cls] = name
    return name


def _shapes(args: tuple, kwargs: dict | None = None) -> list:
    """PyTorch's ``input_shapes``: one shape list per argument, ``[]`` for a non-tensor."""
    vals = args if not kwargs else (*args, *kwargs.values())
    return [list(a.shape) if isinstance(getattr(a, "shape", None), tuple) else [] for a in vals]


def _user_stack() -> list:
    """The caller's frames outside chainrule, innermost first, as ``file(line): function``."""
    out = []
    f = sys._getframe(2)
    while f is not None and len(out) < 64:
        code = f.f_code
        if not code.co_filename.startswith(_PKG_DIR):
            out.append(f"{code.co_filename}({f.f_lineno}): {code.co_name}")
        f = f.f_back
    return out


class Session:
    """The events one profiler records, and the open ones (a stack: calls nest)."""

    def __init__(
        self, record_shapes: bool, profile_memory: bool, with_stack: bool, t0: int | None = None
    ):
        self.thread = threading.get_ident()
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.events: list[FunctionEvent] = []
        self.open_events: list[FunctionEvent] = []
        self.t0 = time.perf_counter_ns() if t0 is None else t0  # times count from here
        self.taken_over = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Begin recording in the calling thread (taking over a session that records)."""
        global _active
        with _lock:
            if _active is not None:
                _active.taken_over = True  # PyTorch: the outer profiler ends with no events
                _active.events.clear()
            else:  # install the wrappers over whatever is there, and call it next
                _next["apply"] = Function.__dict__["apply"]
                _next["call_rule"] = _engine.call_rule
                _next["write_leaf"] = getattr(_engine, "_write_leaf", None)
                Function.apply = _PROFILED_APPLY
                _engine.call_rule = _profiled_call_rule
                if _next["write_leaf"] is not None:
                    _engine._write_leaf = _profiled_write_leaf
            _active = self

    def stop(self) -> None:
        """Stop recording; the plain code is back when no session records."""
        global _active
        with _lock:
            if _active is self:
                _active = None
                if Function.__dict__["apply"] is _PROFILED_APPLY:  # still ours: put back
                    Function.apply = _next["apply"]
                if _engine.call_rule is _profiled_call_rule:
                    _engine.call_rule = _next["call_rule"]
                if getattr(_engine, "_write_leaf", None) is _profiled_write_leaf:
                    _engine._write_leaf = _next["write_leaf"]
        now = time.perf_counter_ns()
        while self.open_events:  # ranges still open (a step range, an exception): end now
            self.close(self.open_events[-1], now)

    # ------------------------------------------------------------------ events
    def open(
        self, name: str, shapes: list | None = None, user: bool = False, trace_name: str = None
    ) -> FunctionEvent:
        """Start an event nested in the innermost open one."""
        ev = FunctionEvent(
            len(self.events) + 1,
            name,
            self.thread,
            0.0,
            0.0,
            input_shapes=shapes if self.record_shapes else None,
            stack=_user_stack() if self.with_stack and not user else None,
            is_user_annotation=user,
            trace_name=trace_name,
        )
        if self.open_events:
            parent = self.open_events[-1]
            ev.cpu_parent = parent
            parent.cpu_children.append(ev)
        self.events.append(ev)
        self.open_events.append(ev)
        ev._mem = {} if self.profile_memory else None  # the arrays counted inside it
        ev._start_ns = time.perf_counter_ns()
        return ev

    def close(self, ev: FunctionEvent, now: int | None = None, outputs: Any = None) -> None:
        """End ``ev`` (``outputs``: the op's results, counted with ``profile_memory``)."""
        if ev._start_ns is None:  # already closed (a range ended after its profiler)
            return
        end = time.perf_counter_ns() if now is None else now
        ev.time_range.start = (ev._start_ns - self.t0) / 1000.0
        ev.time_range.end = (end - self.t0) / 1000.0
        ev._start_ns = None
        stack = self.open_events
        if stack and stack[-1] is ev:
            stack.pop()
        elif ev in stack:  # ranges closed out of order (a record_function across a step)
            stack.remove(ev)
        if ev._mem is not None:
            self._count_memory(ev, outputs)

    def _count_memory(self, ev: FunctionEvent, outputs: Any) -> None:
        """``ev.cpu_memory_usage``: bytes of the new arrays its op returned, plus its
        children's; an array a child already returned, or a view of an input, is not new."""
        seen = ev._mem  # id -> weak reference: an id is the same array only while it lives
        total = 0
        for c in ev.cpu_children:
            total += c.cpu_memory_usage
            if c._mem:
                seen.update(c._mem)
                c._mem = None
        if outputs is not None:
            outs, args = outputs
            inputs = {id(memory_root(a._data)) for a in args if isinstance(a, Tensor)}
            for o in outs if type(outs) is tuple else (outs,):
                if isinstance(o, Tensor):
                    root = memory_root(o._data)
                    key = id(root)
                    if key in inputs or (key in seen and _same(seen[key], root)):
                        continue
                    seen[key] = _weak(root)
                    total += int(getattr(root, "nbytes", 0))
        ev.cpu_memory_usage = total


def _weak(root: Any) -> weakref.ref | None:
    """A weak reference to an array; None for an array type without them (then the id
    alone identifies it: no reference may keep device memory alive)."""
    try:
        return weakref.ref(root)
    except TypeError:
        return None


def _same(ref: weakref.ref | None, root: Any) -> bool:
    return ref is None or ref() is root


# ---------------------------------------------------------------------- the swapped-in code
def _profiled_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
    s = _active
    following = _next["apply"].__func__
    if s is None or s.thread != threading.get_ident():
        return following(cls, *args, **kwargs)
    ev = s.open(op_name(cls), _shapes(args, kwargs) if s.record_shapes else None)
    out = None
    try:
        out = following(cls, *args, **kwargs)
    finally:
        s.close(ev, outputs=None if out is None else (out, args))
    return out


def _profiled_call_rule(node: Any, grads: list, *args: Any, **kwargs: Any) -> tuple:
    s = _active
    if s is None or s.thread != threading.get_ident():
        return _next["call_rule"](node, grads, *args, **kwargs)
    name = node.name()
    shapes = _shapes(tuple(g for g in grads if g is not None)) if s.record_shapes else None
    outer = s.open(_EVAL + name, [])
    inner = s.open(name, shapes)
    try:
        return _next["call_rule"](node, grads, *args, **kwargs)
    finally:
        s.close(inner)
        s.close(outer)


def _profiled_write_leaf(leaf: Tensor, g: Tensor, *args: Any) -> Any:
    s = _active
    if s is None or s.thread != threading.get_ident():
        return _next["write_leaf"](leaf, g, *args)
    outer = s.open(_EVAL + _ACC, [])
    inner = s.open(_ACC, [list(g.shape)])
    try:
        return _next["write_leaf"](leaf, g, *args)
    finally:
        s.close(inner)
        s.close(outer)


_PROFILED_APPLY = classmethod(_profiled_apply)
