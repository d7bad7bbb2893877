"""``torch._tensor_str``'s public-in-practice names: ``PRINT_OPTS`` (the print options as
attributes, read and set), ``get_printoptions``, ``set_printoptions`` and the
``printoptions(...)`` context manager, over :mod:`chainrule.printing`'s options, so code
written against torch's module (``with torch._tensor_str.printoptions(precision=2):``)
prints the same here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from . import printing as _printing
from .printing import get_printoptions, set_printoptions

__all__ = ["PRINT_OPTS", "get_printoptions", "printoptions", "set_printoptions"]

_NAMES = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")


class _PrinterOptions:
    """The print options as attributes (torch's ``PRINT_OPTS``): reading one gives the value
    in use, setting one changes how tensors print from then on, as in torch."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name in _NAMES:
            return _printing._OPTIONS[name]
        raise AttributeError(f"'PRINT_OPTS' has no option {name!r}; valid: {list(_NAMES)}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _NAMES:
            raise AttributeError(f"'PRINT_OPTS' has no option {name!r}; valid: {list(_NAMES)}")
        _printing._OPTIONS[name] = value

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={_printing._OPTIONS[k]!r}" for k in _NAMES)
        return f"__PrinterOptions({shown})"


PRINT_OPTS = _PrinterOptions()


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """``set_printoptions(**kwargs)`` for the ``with`` block, then the options as they were
    (also when the block raises); an unknown keyword is ``set_printoptions``'s TypeError."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)
