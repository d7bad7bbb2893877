"""Shared pieces of the version-counter case tables (tests/autograd/test_versions_session4*):
a per-file case registry, the leaves the cases start from and the hook recorder they share,
built in either library (``t``: torch or chainrule), and the comparison of a case's outcome
in both (:func:`compare`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch

import chainrule as cr

__all__ = [
    "M",
    "P",
    "Uncomparable",
    "case_registry",
    "compare",
    "hook_trace",
    "nested_tuple",
    "non_leaf",
    "normalize",
    "run",
]


def case_registry() -> tuple[dict, Callable[[Callable], Callable]]:
    """A fresh ``CASES`` dict and the ``@case`` decorator that files a function in it by name."""
    cases: dict = {}

    def case(f: Callable) -> Callable:
        cases[f.__name__] = f
        return f

    return cases, case


def P(t: Any, n: int = 3) -> Any:
    """A 1-d leaf ``[1, 2, 3][:n]`` requiring grad."""
    return t.tensor([1.0, 2.0, 3.0][:n], requires_grad=True)


def M(t: Any) -> Any:
    """A (2, 3) leaf requiring grad."""
    return t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)


def non_leaf(t: Any) -> tuple[Any, Any]:
    """A non-leaf (2, 3) tensor ``M(t) * 1`` and its leaf (the base the view cases write)."""
    m = M(t)
    return m * 1, m


def nested_tuple(value: Any) -> Any:
    """``value`` (a ``tolist()``) with its lists made tuples: the case tables compare tuples,
    numbers and tensors only."""
    return tuple(nested_tuple(v) for v in value) if isinstance(value, list) else value


def hook_trace(x: Any) -> list:
    """Register a tensor hook on ``x`` that records each gradient it sees (as nested tuples)
    and return the list it appends to."""
    seen: list = []
    x.register_hook(lambda g: seen.append(nested_tuple(g.tolist())))
    return seen


class Uncomparable(TypeError):
    """A case returned something :func:`normalize` does not compare (a test bug)."""


def normalize(r: Any) -> Any:
    """A case's result made comparable across the two libraries: a tensor as its values,
    version, ``requires_grad`` and node name; a node as its class name; tuples and lists
    element by element. Anything else raises :class:`Uncomparable` (before session 46 a list
    or a node raised AttributeError here in both libraries alike: the case compared
    nothing)."""
    if r is None or isinstance(r, (bool, int, float, str)):
        return r
    if isinstance(r, (tuple, list)):
        return tuple(normalize(x) for x in r)
    if isinstance(r, (torch.Tensor, cr.Tensor)):
        name = type(r.grad_fn).__name__ if r.grad_fn is not None else None
        return (r.tolist(), r._version, r.requires_grad, name)
    if hasattr(r, "next_functions"):  # a grad_fn
        return ("node", type(r).__name__)
    raise Uncomparable(f"a case returned {type(r).__name__}, which the tables do not compare")


def run(lib: Any, f: Callable) -> Any:
    """``("ok", normalized result)`` or ``("raise", type name, message)`` of ``f(lib)`` (a
    view's ``grad_fn`` read while normalizing may raise too: an outcome); a result the tables
    cannot compare fails the test instead of passing as an outcome."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ("ok", normalize(f(lib)))
    except Uncomparable:
        raise
    except Exception as e:  # noqa: BLE001 - the outcome compared with torch's
        return ("raise", type(e).__name__, str(e))


def compare(f: Callable) -> None:
    """``f``'s outcome in chainrule and in PyTorch: equal, or the same error type with
    PyTorch's message (chainrule's may name the op first)."""
    got, want = run(cr, f), run(torch, f)
    if want[0] == "raise":
        assert got[:2] == want[:2], got
        assert got[2].endswith(want[2]), (got[2], want[2])
    else:
        assert got == want
