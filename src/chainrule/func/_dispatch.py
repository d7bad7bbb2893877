"""Where a batched op goes: the batching-rule table and the per-sample fallback.

``Function.apply`` calls :func:`dispatch` first whenever a vmap is active in the thread
(one per-thread list read otherwise). ``dispatch`` finds the innermost vmap level among the
op's batched arguments and runs the op's batching rule for that level: a function
``rule(cls, level, args, kwargs)`` that computes the op on the physical values (batch dim
first) with ordinary ops and returns the result wrapped as a :class:`BatchedTensor`. A rule
may return ``NotImplemented`` for a case it does not cover (an advanced index, a batched
class weight); an op without a rule, or such a case, runs the *fallback*: the op once per
sample on slices, results stacked. The fallback is always correct, only slower, and the
rules cover the ops that matter for speed (see the modules ``_rules_*``).

Rules are looked up by the op's class and, failing that, its base classes, so one rule
serves every ``UnaryElementwise`` or ``BinaryElementwise`` op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd import function as _function
from ..ops.indexing import getitem
from ..ops.shape import stack
from ._batched import BatchedTensor, Level, wrap
from ._random import lift_draw
from ._user_vmap import has_user_rule, user_rule

__all__ = ["dispatch", "fallback", "register", "rule_for", "STATS"]

_RULES: dict = {}
_CACHE: dict = {}
# How many ops ran per sample, and the last one's name (read by tests and diagnostics).
STATS: dict = {"fallback": 0, "last": None}


def register(*classes: type) -> Callable:
    """Decorator: ``@register(Sum)`` makes the function the batching rule of ``Sum``."""

    def deco(fn: Callable) -> Callable:
        for c in classes:
            _RULES[c] = fn
        _CACHE.clear()
        return fn

    return deco


def rule_for(cls: type) -> Callable | None:
    """The batching rule of ``cls`` (or of its nearest base class that has one)."""
    try:
        return _CACHE[cls]
    except KeyError:
        pass
    rule = None
    for base in cls.__mro__:
        if base in _RULES:
            rule = _RULES[base]
            break
    _CACHE[cls] = rule
    return rule


def _innermost(args: tuple, kwargs: dict) -> Level | None:
    level = None
    for a in args:
        if type(a) is BatchedTensor and (level is None or a._level.id > level.id):
            level = a._level
    if kwargs:
        for a in kwargs.values():
            if type(a) is BatchedTensor and (level is None or a._level.id > level.id):
                level = a._level
    return level


def dispatch(cls: type, args: tuple, kwargs: dict) -> Any:
    """Run ``cls`` on batched arguments, or return NotImplemented if none is batched."""
    args = tuple(lift_draw(a) for a in args)  # per-sample arrays (draws, masks) are batched
    if kwargs:
        kwargs = {k: lift_draw(v) for k, v in kwargs.items()}
    level = _innermost(args, kwargs)
    if level is None:
        return NotImplemented
    if cls._user and has_user_rule(cls):  # a user's Function with its own vmap staticmethod
        out = user_rule(cls, level, args, kwargs)
        if out is not NotImplemented:
            return out
    rule = rule_for(cls)
    if rule is not None:
        out = rule(cls, level, args, kwargs)
        if out is not NotImplemented:
            return out
    return fallback(cls, level, args, kwargs)


def _select(x: Any, level: Level, b: int) -> Any:
    if type(x) is BatchedTensor and x._level is level:
        return getitem(x._value, b)
    return x


def fallback(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """``cls`` once per sample of ``level`` (slices of the batched arguments), stacked."""
    STATS["fallback"] += 1
    STATS["last"] = cls.__name__
    per_sample = []
    for b in range(level.size):
        a_b = tuple(_select(a, level, b) for a in args)
        kw_b = {k: _select(v, level, b) for k, v in kwargs.items()}
        per_sample.append(cls.apply(*a_b, **kw_b))
    if isinstance(per_sample[0], tuple):
        return tuple(
            wrap(stack([o[i] for o in per_sample], 0), level) for i in range(len(per_sample[0]))
        )
    return wrap(stack(per_sample, 0), level)


_function.vmap_dispatch = dispatch
