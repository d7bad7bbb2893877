"""Derived dims of ``cr.export`` (torch.export's ``_DerivedDim``): ``2 * dx``, ``dx + 1``,
``2 * dx - 1``... A derived dim is an increasing linear function ``coeff * root + offset``
(``coeff`` a positive integer) of a named ``Dim``; it is not a symbol of its own: its sizes
follow the root's, its range is the root's range mapped through the function, and a
program's guards relate its sizes to the root's (``y.size()[0] == 1 + x.size()[0]``).

:class:`LinearDimOps` gives ``Dim`` and :class:`DerivedDim` the arithmetic (with torch's
errors for anything else: ``Attempted to multiply 2.5 with dx, ...``);
:class:`DerivedSymbol` is a derived size inside ``export`` (``2*s0``), next to the
root's :class:`~chainrule.export.dynamic_shapes.Symbol`.
"""

from __future__ import annotations

import math
from typing import Any

from ._errors import UserError

__all__ = ["DerivedDim", "DerivedSymbol", "Dim", "LinearDimOps", "linear_text", "linear_of"]

_INT_OO = math.inf

_ONLY = "(Only increasing linear operations with integer coefficients are supported.)"


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def linear_text(name: str, coeff: int, offset: int) -> str:
    """``coeff*name + offset`` as torch prints it (``2*dx``, ``dx + 1``, ``2*s0 - 1``)."""
    term = name if coeff == 1 else f"{coeff}*{name}"
    if offset == 0:
        return term
    return f"{term} + {offset}" if offset > 0 else f"{term} - {-offset}"


class LinearDimOps:
    """``+ int``, ``- int`` and ``* positive int`` on a dim, making a :class:`DerivedDim`."""

    __name__: str

    def _linear(self) -> tuple[Any, int, int]:
        return self, 1, 0

    def __add__(self, other: Any) -> DerivedDim:
        if not _is_int(other):
            raise NotImplementedError(
                f"Attempted to add {other} to {self.__name__}, where an integer was expected. "
                f"{_ONLY}"
            )
        root, c, o = self._linear()
        return DerivedDim(root, c, o + other)

    __radd__ = __add__

    def __sub__(self, other: Any) -> DerivedDim:
        if not _is_int(other):
            raise NotImplementedError(
                f"Attempted to subtract {other} from {self.__name__}, where an integer was "
                f"expected. {_ONLY}"
            )
        root, c, o = self._linear()
        return DerivedDim(root, c, o - other)

    def __rsub__(self, other: Any) -> DerivedDim:
        raise NotImplementedError(f"Attempted to negate {self.__name__}. {_ONLY}")

    def __mul__(self, other: Any) -> DerivedDim:
        if not _is_int(other) or other <= 0:
            raise NotImplementedError(
                f"Attempted to multiply {other} with {self.__name__}, where a positive integer "
                f"was expected. {_ONLY}"
            )
        root, c, o = self._linear()
        return DerivedDim(root, c * other, o * other)

    __rmul__ = __mul__


class _DimHint:
    """``Dim.AUTO`` / ``Dim.STATIC`` / ``Dim.DYNAMIC`` (torch's ``_DimHint``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"DimHint({self.kind})"


class Dim(LinearDimOps):
    """``torch.export.Dim``: a named dynamic dimension with an inclusive range ``[min, max]``
    (``max`` unbounded by default). Sizes 0 and 1 are always specialized, as torch's.
    ``2 * dim``, ``dim + 1``... are derived dims (:mod:`._derived`)."""

    AUTO = _DimHint("AUTO")
    STATIC = _DimHint("STATIC")
    DYNAMIC = _DimHint("DYNAMIC")

    def __init__(self, name: str, *, min: int | None = None, max: int | None = None) -> None:  # noqa: A002
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"Dim: name must be a Python identifier (a str), got {name!r}")
        for label, v in (("min", min), ("max", max)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise TypeError(f"Dim: {label} must be an int or None, got {type(v).__name__}")
        lo = 0 if min is None else min
        hi = _INT_OO if max is None else max
        if lo < 0:
            raise UserError(f"Dim {name}: min must be >= 0, got {lo}")
        if hi < lo:
            raise AssertionError(f"Cannot create Dim with inconsistent min={min}, max={max}")
        self.__name__ = name
        self.min = lo
        self.max = hi

    def __repr__(self) -> str:
        parts = [repr(self.__name__)]
        if self.min != 2:
            parts.append(f"min={self.min}")
        if self.max != _INT_OO:
            parts.append(f"max={self.max}")
        return f"Dim({', '.join(parts)})"


class DerivedDim(Dim):
    """``coeff * root + offset`` of a ``Dim`` (see the module docstring); named by that
    expression, with ``min``/``max`` the root's mapped through it."""

    def __init__(self, root: Any, coeff: int, offset: int) -> None:
        self.root = root
        self.coeff = coeff
        self.offset = offset
        self.__name__ = linear_text(root.__name__, coeff, offset)

    def _linear(self) -> tuple[Any, int, int]:
        return self.root, self.coeff, self.offset

    def __call__(self, value: float) -> float:
        return value if value == math.inf else self.coeff * value + self.offset

    @property
    def min(self) -> int:
        """``coeff * root.min + offset``; an AssertionError below 0, as torch's."""
        value = int(self(self.root.min))
        if value < 0:
            raise AssertionError(
                f"Expected derived min value of {self.__name__} to be >= 0. Please specify an "
                f"appropriate min value for {self.root.__name__} (currently {self.root.min})."
            )
        return value

    @property
    def max(self) -> float:
        """``coeff * root.max + offset`` (unbounded if the root is)."""
        return self(self.root.max)

    def __repr__(self) -> str:
        return self.__name__


class DerivedSymbol:
    """A derived size inside ``export``: ``coeff * root + offset`` of the root's symbol,
    with the same attributes the tracer reads from a symbol (``hint``, ``alt``, ``lo``,
    ``hi``, ``name``)."""

    def __init__(self, root: Any, coeff: int, offset: int) -> None:
        self.root = root
        self.coeff = coeff
        self.offset = offset
        self.sources: list[tuple[str, int]] = []

    def _at(self, value: Any) -> Any:
        if value is None or value == math.inf:
            return value
        return self.coeff * value + self.offset

    @property
    def name(self) -> str:
        return linear_text(self.root.name, self.coeff, self.offset)

    @property
    def hint(self) -> int:
        return self._at(self.root.hint)

    @property
    def alt(self) -> int | None:
        return self._at(self.root.alt)

    @property
    def lo(self) -> int:
        return self._at(self.root.lo)

    @property
    def hi(self) -> float:
        return self._at(self.root.hi)

    def __repr__(self) -> str:
        return self.name


def linear_of(entry: Any) -> tuple[Any, int, int]:
    """``(root symbol, coeff, offset)`` of a layout entry (a symbol is its own root)."""
    if isinstance(entry, DerivedSymbol):
        return entry.root, entry.coeff, entry.offset
    return entry, 1, 0
