"""Registry and dispatch for ``kl_divergence(p, q)``.

Closed forms of ``KL(p || q)`` are registered per pair of distribution classes with
:func:`register_kl`; the formulas themselves live next to the families (``_kl_pairs_a.py``
and the part-B modules). This module only owns the table, the lookup and a few small
helpers those formulas share.

Lookup rule (the same one PyTorch documents): among the registered pairs ``(P, Q)`` with
``type(p) <= P`` and ``type(q) <= Q`` pick the most specific. "Most specific" is taken in two
lexicographic orders: first by ``P`` then ``Q``, and first by ``Q`` then ``P``. If the two
winners are different functions the choice is ambiguous; the first-order winner is used and a
``RuntimeWarning`` suggests the pair to register to settle it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import chainrule as cr

from .distribution import Distribution

__all__ = ["register_kl", "kl_divergence"]

_KLFunction = Callable[[Any, Any], cr.Tensor]

# The registered (P, Q) -> function table, in registration order.
_KL_REGISTRY: dict[tuple[type, type], _KLFunction] = {}
# Resolved lookups per concrete (type(p), type(q)); NotImplemented when nothing applies.
# Emptied whenever the table changes, since a new pair can change any resolution.
_KL_MEMOIZE: dict[tuple[type, type], Any] = {}


def _require_class(arg: object, name: str) -> None:
    # Only non-classes are rejected (a class outside the Distribution hierarchy is accepted,
    # as in PyTorch, where it simply never matches a distribution's type).
    if not isinstance(arg, type):
        raise TypeError(f"Expected {name} to be a Distribution subclass but got {arg!r}")


def register_kl(type_p: type, type_q: type) -> Callable[[_KLFunction], _KLFunction]:
    """Decorator: make the decorated ``fn(p, q)`` the KL for ``p`` of class ``type_p`` (or a
    subclass) and ``q`` of class ``type_q`` (or a subclass).

    When several registered pairs apply, :func:`kl_divergence` prefers the most specific; if
    that is not well defined it warns, and registering the more specific pair it names
    removes the ambiguity. The decorated function is returned unchanged.
    """
    _require_class(type_p, "type_p")
    _require_class(type_q, "type_q")

    def add_to_registry(fn: _KLFunction) -> _KLFunction:
        _KL_REGISTRY[type_p, type_q] = fn
        _KL_MEMOIZE.clear()
        return fn

    return add_to_registry


def _strictly_before(a: tuple[type, ...], b: tuple[type, ...]) -> bool:
    """Whether the class tuple ``a`` is strictly more specific than ``b``, comparing
    position by position: the first position whose classes differ decides (``a``'s class
    must be a subclass of ``b``'s there); positions before it must be subclasses too."""
    if a == b:
        return False
    for cls_a, cls_b in zip(a, b):
        if not issubclass(cls_a, cls_b):
            return False
        if cls_a is not cls_b:
            return True
    return True


def _most_specific(candidates: list[tuple[type, ...]]) -> tuple[type, ...]:
    """The first candidate that no later candidate strictly beats (a linear scan: the order
    is only partial, so the scan order, i.e. registration order, breaks ties)."""
    best = candidates[0]
    for cand in candidates[1:]:
        if _strictly_before(cand, best):
            best = cand
    return best


def _resolve(type_p: type, type_q: type) -> Any:
    """The registered function for this pair of concrete classes, or ``NotImplemented``."""
    applicable = [
        (cls_p, cls_q)
        for cls_p, cls_q in _KL_REGISTRY
        if issubclass(type_p, cls_p) and issubclass(type_q, cls_q)
    ]
    if not applicable:
        return NotImplemented
    by_p_p, by_p_q = _most_specific(applicable)
    by_q_q, by_q_p = _most_specific([(cls_q, cls_p) for cls_p, cls_q in applicable])
    chosen = _KL_REGISTRY[by_p_p, by_p_q]
    if chosen is not _KL_REGISTRY[by_q_p, by_q_q]:
        warnings.warn(
            f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
            f"Please register_kl({by_p_p.__name__}, {by_q_q.__name__})",
            RuntimeWarning,
            stacklevel=3,
        )
    return chosen


def kl_divergence(p: Distribution, q: Distribution) -> cr.Tensor:
    """``KL(p || q) = E_p[log p(X) - log q(X)]``, one value per entry of the batch shape.

    The function is found from ``(type(p), type(q))`` by the most-specific-match rule in
    the module docstring, and remembered for later calls with the same pair of classes.

    Raises:
        NotImplementedError: no registered pair applies to ``(type(p), type(q))``.
    """
    key = (type(p), type(q))
    fn = _KL_MEMOIZE.get(key)
    if fn is None:
        fn = _KL_MEMOIZE[key] = _resolve(*key)
    if fn is NotImplemented:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {key[0].__name__} and "
            f"q type {key[1].__name__}"
        )
    return fn(p, q)


# ---------------------------------------------------------------------------------------
# Small helpers shared by the pair implementations
# ---------------------------------------------------------------------------------------


def _infinite_like(ref: cr.Tensor) -> cr.Tensor:
    """``+inf`` everywhere, with ``ref``'s shape and dtype: the KL when q gives zero mass to a
    region that p does not."""
    return cr.full_like(ref, math.inf)


def _x_log_x(x: cr.Tensor) -> cr.Tensor:
    """``x log x`` with the limit value 0 at ``x = 0`` (via ``xlogy``)."""
    return cr.special.xlogy(x, x)


def _batch_trace_XXT(bmat: cr.Tensor) -> cr.Tensor:
    """``tr(X X^T)`` per matrix of a batch, i.e. the sum of the squared entries of each."""
    batch_shape = tuple(bmat.shape[:-2])
    return bmat.pow(2).reshape(batch_shape + (-1,)).sum(-1)
