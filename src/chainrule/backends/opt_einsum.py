"""``cr.backends.opt_einsum``: how ``cr.einsum`` orders the contractions of three operands
or more, with PyTorch's switches.

As in PyTorch, the order comes from the ``opt_einsum`` package when it is installed
(``pip install opt-einsum``; :func:`is_available` says whether it is) and ``enabled`` is
True: ``strategy`` (``"auto"``, ``"greedy"``, ``"optimal"``, or any other path optimiser
opt_einsum knows) is handed to ``opt_einsum.contract_path`` unchanged, so an unknown name
fails there, as in PyTorch. Without the package, or with ``enabled = False``, the operands
are contracted from left to right, two at a time. Either way NumPy's ``einsum`` runs the
pairwise contractions (on BLAS where it can). Two operands have only one order.

The defaults are PyTorch's: ``enabled`` is True and ``strategy`` is ``"auto"`` when the
package is importable, False and None otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:
    import opt_einsum as _opt_einsum  # optional: the contraction-path optimiser
except ImportError:  # pragma: no cover - depends on the environment
    _opt_einsum = None

__all__ = ["enabled", "flags", "get_opt_einsum", "is_available", "set_flags", "strategy"]

enabled: bool = _opt_einsum is not None
strategy: Any = "auto" if _opt_einsum is not None else None


def is_available() -> bool:
    """Whether the ``opt_einsum`` package is installed (``pip install opt-einsum``)."""
    return _opt_einsum is not None


def get_opt_einsum() -> Any:
    """The ``opt_einsum`` package when it is installed, else None."""
    return _opt_einsum


def set_flags(_enabled: bool | None = None, _strategy: Any = None) -> tuple[bool, Any]:
    """Set ``enabled`` and/or ``strategy`` (None leaves one as it is); returns the values
    they had before, as a pair, for restoring them."""
    global enabled, strategy
    before = (enabled, strategy)
    if _enabled is not None:
        enabled = _enabled
    if _strategy is not None:
        strategy = _strategy
    return before


@contextmanager
def flags(enabled: bool | None = None, strategy: Any = None) -> Iterator[None]:
    """``enabled``/``strategy`` set for the ``with`` block and restored after it, even when
    it raises."""
    before = set_flags(enabled, strategy)
    try:
        yield
    finally:
        set_flags(*before)


def contraction_path(equation: str, arrays: tuple) -> Any:
    """The ``optimize=`` argument for ``np.einsum`` over ``arrays``: False for one or two
    operands, opt_einsum's path under ``strategy`` when it is enabled and installed, else
    left to right (operands 0 and 1, then that result and the next, ...)."""
    if len(arrays) < 3:
        return False
    if enabled and _opt_einsum is not None:
        shapes = [a.shape for a in arrays]
        path, _ = _opt_einsum.contract_path(equation, *shapes, shapes=True, optimize=strategy)
        return ["einsum_path", *path]
    return ["einsum_path", *([(0, 1)] * (len(arrays) - 1))]
