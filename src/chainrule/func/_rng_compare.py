"""Whether the default generator drew since a :func:`~chainrule.random_snapshot.snapshot`
(``jacfwd(randomness="error")``: PyTorch's vmap raises on a random op)."""

from __future__ import annotations

from ..random_snapshot import RngSnapshot, snapshot

__all__ = ["drew_since"]


def drew_since(before: RngSnapshot) -> bool:
    """True where the generator of ``before`` has moved (or been reseeded) since."""
    after = snapshot(before.generator)
    if before.stream is None or after.stream is None:
        if before.tensor is None or after.tensor is None:
            return True
        return bool((before.tensor._data != after.tensor._data).any())
    return (
        after.stream is not before.stream
        or after.engine != before.engine
        or after.seed != before.seed
        or after.fresh != before.fresh
        or not _same(after.normal_cache, before.normal_cache)
    )


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b
