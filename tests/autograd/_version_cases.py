"""Shared pieces of the version-counter case tables (tests/autograd/test_versions_session4*):
a per-file case registry and the two leaves the cases start from, built in either library."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["M", "P", "case_registry"]


def case_registry() -> tuple[dict, Callable[[Callable], Callable]]:
    """A fresh ``CASES`` dict and the ``@case`` decorator that files a function in it by name."""
    cases: dict = {}

    def case(f: Callable) -> Callable:
        cases[f.__name__] = f
        return f

    return cases, case


def P(t: Any, n: int = 3) -> Any:
    """A 1-d leaf ``[1, 2, 3][:n]`` requiring grad (``t``: torch or chainrule)."""
    return t.tensor([1.0, 2.0, 3.0][:n], requires_grad=True)


def M(t: Any) -> Any:
    """A (2, 3) leaf requiring grad."""
    return t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
