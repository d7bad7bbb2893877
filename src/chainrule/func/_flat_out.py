"""Nested pytree outputs for ``vjp`` and ``jvp``: the core transforms of
:mod:`chainrule.autograd.transforms` take a tensor or a flat tuple of tensors as ``f``'s
output; ``torch.func``'s take any pytree (``vjp(lambda x: (x, (x * 2, x * 3)), x)``, a
function that returns another transform's tuple of results). :func:`flat_outputs` wraps
``f`` so that such an output reaches the core as the flat tuple of its leaves, and
:func:`restore` gives results back their structure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..utils._pytree import tree_leaves, tree_structure

__all__ = ["flat_outputs", "restore"]


def _nested(out: Any) -> bool:
    """Whether ``out`` is a pytree the core transforms do not take: a dict, or a tuple/list
    holding a container."""
    if isinstance(out, dict):
        return True
    return isinstance(out, (tuple, list)) and any(isinstance(o, (tuple, list, dict)) for o in out)


def flat_outputs(f: Callable, has_aux: bool) -> tuple[Callable, list]:
    """``(g, box)``: ``g`` is ``f`` with a nested output flattened to a tuple of its leaves
    (the aux of a ``has_aux`` function kept as it is), ``box`` the nested outputs seen (the
    latest last; empty when ``f``'s output was flat, and ``g``'s results are then ``f``'s)."""
    box: list = []

    def g(*args: Any, **kwargs: Any) -> Any:
        res = f(*args, **kwargs)
        if has_aux and not (isinstance(res, tuple) and len(res) == 2):
            return res  # the transform raises its own error for this
        out = res[0] if has_aux else res
        if not _nested(out):
            return res
        box.append(out)
        flat = tuple(tree_leaves(out))
        return (flat, res[1]) if has_aux else flat

    g._guards_captures = getattr(f, "_guards_captures", False)  # type: ignore[attr-defined]
    return g, box


def restore(like: Any, flat: Any) -> Any:
    """``flat`` (a tuple of leaves) in the pytree structure of ``like``."""
    spec = tree_structure(like)
    return spec.unflatten(list(flat))
