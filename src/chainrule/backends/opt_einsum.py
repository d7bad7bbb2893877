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

import importlib
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Whether the optional package is installed: found without importing it, so that
# ``import chainrule`` does not pay for opt_einsum's import (it is loaded on first use).
_AVAILABLE: bool = importlib.util.find_spec("opt_einsum") is not None

__all__ = ["enabled", "flags", "get_opt_einsum", "is_available", "set_flags", "strategy"]

enabled: bool = _AVAILABLE
strategy: Any = "auto" if _AVAILABLE else None


def is_available() -> bool:
    """Whether the ``opt_einsum`` package is installed (``pip install opt-einsum``)."""
    return _AVAILABLE


def get_opt_einsum() -> Any:
    """The ``opt_einsum`` package when it is installed, else None."""
    return importlib.import_module("opt_einsum") if _AVAILABLE else None


def set_flags(_enabled: bool | None = None, _strategy: Any = None) -> tuple[bool, Any]:
    """Set ``enabled`` and/or ``strategy`` (None leaves one as it is), checked as PyTorch
    checks them here: ``enabled`` needs the package, and a ``strategy`` (``"auto"``,
    ``"greedy"`` or ``"optimal"``) needs it enabled. Returns the values they had before, as
    a pair, for restoring them. (Assigning the attributes directly is not checked, as in
    PyTorch; an unknown strategy then fails in ``einsum``.)

    Raises:
        ValueError: ``enabled`` without the package, a strategy while not enabled or without
            the package, or a strategy other than those three.
    """
    global enabled, strategy
    before = (enabled, strategy)
    if _enabled is not None:
        if _enabled and not _AVAILABLE:
            raise ValueError(
                f"opt_einsum is not available, so setting `enabled` to {_enabled} will not "
                "reap the benefits of calculating an optimal path for einsum. cr.einsum will "
                "fall back to contracting from left to right. To enable this optimal path "
                "calculation, please install opt-einsum."
            )
        enabled = _enabled
    if _strategy is not None:
        if not _AVAILABLE:
            raise ValueError(
                f"opt_einsum is not available, so setting `strategy` to {_strategy} will not "
                "be meaningful. cr.einsum will bypass path calculation and simply contract "
                "from left to right. Please install opt_einsum or unset `strategy`."
            )
        if not enabled:
            raise ValueError(
                f"opt_einsum is not enabled, so setting a `strategy` to {_strategy} will not "
                "be meaningful. cr.einsum will bypass path calculation and simply contract "
                "from left to right. Please set `enabled` to `True` as well or unset "
                "`strategy`."
            )
        if _strategy not in ("auto", "greedy", "optimal"):
            raise ValueError(
                "`strategy` must be one of the following: [auto, greedy, optimal] but is "
                f"{_strategy}"
            )
        strategy = _strategy
    return before


@contextmanager
def flags(enabled: bool | None = None, strategy: Any = None) -> Iterator[None]:
    """``enabled``/``strategy`` set (and checked) by :func:`set_flags` for the ``with``
    block, and restored after it, even when it raises; a refused setting changes nothing."""
    saved = set_flags()
    try:
        set_flags(enabled, strategy)
    except ValueError:
        _restore(saved)
        raise
    try:
        yield
    finally:
        _restore(saved)


def _restore(saved: tuple[bool, Any]) -> None:
    """Put back switches saved by ``set_flags()`` (unchecked: they were in force)."""
    global enabled, strategy
    enabled, strategy = saved


def contraction_path(equation: str, arrays: tuple) -> Any:
    """The ``optimize=`` argument for ``np.einsum`` over ``arrays``: False for one or two
    operands, opt_einsum's path under ``strategy`` when it is enabled and installed, else
    left to right (operands 0 and 1, then that result and the next, ...)."""
    if len(arrays) < 3:
        return False
    if enabled and _AVAILABLE:
        shapes = [a.shape for a in arrays]
        path, _ = get_opt_einsum().contract_path(equation, *shapes, shapes=True, optimize=strategy)
        return ["einsum_path", *path]
    return ["einsum_path", *([(0, 1)] * (len(arrays) - 1))]
