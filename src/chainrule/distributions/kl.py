"""Kullback-Leibler divergence dispatch, mirroring ``torch.distributions.kl``.

``register_kl(P, Q)`` registers a function computing ``KL(p || q)`` for ``p`` of type ``P``
and ``q`` of type ``Q``; ``kl_divergence(p, q)`` finds the most specific registered pair by
subclass order (warning ``RuntimeWarning`` when the left and right lexicographic orders
disagree) and raises ``NotImplementedError`` when none matches. The pair implementations
live with the families (see ``_kl_pairs_a.py`` and the part-B modules); this module holds
only the registry and small helpers they share.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import total_ordering
from typing import Any

import chainrule as cr

from .distribution import Distribution

__all__ = ["register_kl", "kl_divergence"]

# Source of truth: a few general (type, type) pairs -> functions.
_KL_REGISTRY: dict[tuple[type, type], Callable] = {}
# Memoised lookups: many specific (type, type) pairs -> functions (or NotImplemented).
_KL_MEMOIZE: dict[tuple[type, type], Any] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[Callable], Callable]:
    """Decorator registering a pairwise function with :func:`kl_divergence`.

    Lookup returns the most specific ``(type, type)`` match ordered by subclass; if the match
    is ambiguous a ``RuntimeWarning`` is issued (register a more specific pair to break
    the tie).
    """
    if not isinstance(type_p, type) and issubclass(type_p, Distribution):
        raise TypeError(f"Expected type_p to be a Distribution subclass but got {type_p}")
    if not isinstance(type_q, type) and issubclass(type_q, Distribution):
        raise TypeError(f"Expected type_q to be a Distribution subclass but got {type_q}")

    def decorator(fun: Callable) -> Callable:
        _KL_REGISTRY[type_p, type_q] = fun
        _KL_MEMOIZE.clear()  # lookup order may have changed
        return fun

    return decorator


@total_ordering
class _Match:
    __slots__ = ["types"]

    def __init__(self, *types: type) -> None:
        self.types = types

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Match) and self.types == other.types

    def __le__(self, other: _Match) -> bool:
        for x, y in zip(self.types, other.types):
            if not issubclass(x, y):
                return False
            if x is not y:
                break
        return True

    __hash__ = None  # type: ignore[assignment]


def _dispatch_kl(type_p: type, type_q: type) -> Any:
    """The most specific registered match (single inheritance assumed), or NotImplemented."""
    matches = [
        (super_p, super_q)
        for super_p, super_q in _KL_REGISTRY
        if issubclass(type_p, super_p) and issubclass(type_q, super_q)
    ]
    if not matches:
        return NotImplemented
    # the left- and right-lexicographic orders must agree
    left_p, left_q = min(_Match(*m) for m in matches).types
    right_q, right_p = min(_Match(*reversed(m)) for m in matches).types
    left_fun = _KL_REGISTRY[left_p, left_q]
    right_fun = _KL_REGISTRY[right_p, right_q]
    if left_fun is not right_fun:
        warnings.warn(
            f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
            f"Please register_kl({left_p.__name__}, {right_q.__name__})",
            RuntimeWarning,
            stacklevel=2,
        )
    return left_fun


def _infinite_like(tensor: cr.Tensor) -> cr.Tensor:
    """A tensor of +inf like ``tensor`` (KL is infinite where supports do not nest)."""
    return cr.full_like(tensor, float("inf"))


def _x_log_x(tensor: cr.Tensor) -> cr.Tensor:
    """``x * log(x)``, 0 at 0."""
    return cr.special.xlogy(tensor, tensor)


def _batch_trace_XXT(bmat: cr.Tensor) -> cr.Tensor:
    """``trace(X X^T)`` of a batch of matrices with arbitrary leading batch dims."""
    n = bmat.size(-1)
    m = bmat.size(-2)
    flat_trace = bmat.reshape(-1, m * n).pow(2).sum(-1)
    return flat_trace.reshape(tuple(bmat.shape[:-2]))


def kl_divergence(p: Distribution, q: Distribution) -> cr.Tensor:
    """``KL(p || q) = ∫ p(x) log(p(x) / q(x)) dx``, batched over ``batch_shape``.

    Raises:
        NotImplementedError: no pair matching ``(type(p), type(q))`` has been registered
            with :func:`register_kl`.
    """
    try:
        fun = _KL_MEMOIZE[type(p), type(q)]
    except KeyError:
        fun = _dispatch_kl(type(p), type(q))
        _KL_MEMOIZE[type(p), type(q)] = fun
    if fun is NotImplemented:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {p.__class__.__name__} and "
            f"q type {q.__class__.__name__}"
        )
    return fun(p, q)
