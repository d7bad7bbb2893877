"""``cr.export.Dim`` and the ``dynamic_shapes`` argument of ``export`` (torch.export's).

A ``Dim("batch", min=2, max=64)`` marks a dimension of an example input as free to vary
in a range; ``Dim.AUTO`` (dynamic unless the code fixes it), ``Dim.DYNAMIC`` (dynamic, an
error if the code fixes it) and ``Dim.STATIC`` are the unnamed hints. :func:`resolve`
turns ``dynamic_shapes`` (a dict by argument name or a tuple by position) into one
:class:`Symbol` per free size: unnamed dimensions with the same example size share one,
as torch's "duck sizing"; a named ``Dim`` used twice is one symbol.

Each symbol also gets a second, nearby size (``alt``): export runs the program on inputs of
both sizes, so a size the code bakes in (``x.view(3, -1)``) or an intermediate size that
follows the symbol are told apart without symbolic algebra.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from ..autograd.tensor import Tensor
from ._errors import ConstraintViolationError, UserError, with_suffix

__all__ = ["Dim", "ShapesCollection", "Symbol", "ValueRanges", "resolve"]

_INT_OO = math.inf


class _DimHint:
    """``Dim.AUTO`` / ``Dim.STATIC`` / ``Dim.DYNAMIC`` (torch's ``_DimHint``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"DimHint({self.kind})"


class Dim:
    """``torch.export.Dim``: a named dynamic dimension with an inclusive range ``[min, max]``
    (``max`` unbounded by default). Sizes 0 and 1 are always specialized, as torch's."""

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

    def _derived(self, *_: Any) -> Any:
        raise NotImplementedError(
            f"Dim {self.__name__}: derived dims (arithmetic on a Dim, as 2 * dim) are not "
            "supported by chainrule.export"
        )

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __floordiv__ = _derived


class ValueRanges:
    """A symbol's range, printed as torch's ``VR[2, 10]`` (``int_oo``: unbounded)."""

    def __init__(self, lower: int, upper: float) -> None:
        self.lower = lower
        self.upper = upper

    def __repr__(self) -> str:
        upper = "int_oo" if self.upper == _INT_OO else str(int(self.upper))
        return f"VR[{self.lower}, {upper}]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValueRanges) and (self.lower, self.upper) == (
            other.lower,
            other.upper,
        )

    __hash__ = None  # type: ignore[assignment]


class Symbol:
    """One free size: its printed name (``s0``), the ``Dim`` name (None for unnamed ones),
    its range, example size (``hint``), second trace size (``alt``) and whether a trace
    that fixes it is an error (``strict``: named dims and ``Dim.DYNAMIC``)."""

    def __init__(self, name: str, dim_name: str | None, lo: int, hi: float, hint: int) -> None:
        self.name = name
        self.dim_name = dim_name
        self.lo = lo
        self.hi = hi
        self.hint = hint
        self.alt: int | None = None
        self.strict = dim_name is not None
        self.sources: list[tuple[str, int]] = []

    def __repr__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How errors name it: the Dim's name, or the first place it was found."""
        if self.dim_name is not None:
            return self.dim_name
        arg, d = self.sources[0]
        return f"L['{arg}'].size()[{d}]"


class ShapesCollection:
    """``torch.export.ShapesCollection``: dynamic shapes given per example tensor
    (``sc[x] = (Dim("b"), 4)``), turned into ``export``'s argument by :meth:`dynamic_shapes`."""

    def __init__(self) -> None:
        self._shapes: dict[int, tuple[Tensor, Any]] = {}

    def __setitem__(self, t: Tensor, shape: Any) -> None:
        if not isinstance(t, Tensor):
            raise ValueError(f"ShapesCollection: keys must be tensors, got {type(t).__name__}")
        self._shapes[id(t)] = (t, shape)

    def __getitem__(self, t: Tensor) -> Any:
        return self._shapes[id(t)][1]

    def __contains__(self, t: object) -> bool:
        return id(t) in self._shapes

    def __len__(self) -> int:
        return len(self._shapes)

    def dynamic_shapes(self, m: Any, args: tuple, kwargs: dict | None = None) -> dict[str, Any]:
        """The shapes of ``m``'s inputs ``args``/``kwargs`` by argument name, as torch's
        (None for an input not in the collection); ``export`` also takes the collection
        itself. Only top-level tensor inputs are supported."""
        bound = inspect.signature(m.forward).bind(*args, **(kwargs or {}))
        out: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if not isinstance(value, Tensor) and isinstance(value, (list, tuple, dict)):
                raise NotImplementedError(
                    "ShapesCollection.dynamic_shapes: nested inputs are not supported"
                )
            out[name] = self._shapes[id(value)][1] if id(value) in self._shapes else None
        return out


def _per_dim(name: str, spec: Any, value: Tensor) -> list[Any]:
    """The entry of each dimension of input ``name`` (Dim, hint or None)."""
    if spec is None:
        return [None] * value.dim()
    if isinstance(spec, dict):
        out: list[Any] = [None] * value.dim()
        for d, entry in spec.items():
            if isinstance(d, bool) or not isinstance(d, int) or not -value.dim() <= d < value.dim():
                raise UserError(
                    with_suffix(
                        f"Dynamic shape of input {name!r}: dimension {d!r} is not a valid "
                        f"dimension of its {value.dim()}-d example"
                    )
                )
            out[d] = entry
        return out
    if isinstance(spec, (tuple, list)):
        if len(spec) != value.dim():
            raise UserError(
                with_suffix(
                    f"Expected dynamic shape spec {spec} of input {name!r} to have length "
                    f"{value.dim()} (the number of dimensions of its example), got {len(spec)}"
                )
            )
        return list(spec)
    raise UserError(
        with_suffix(
            f"Unexpected dynamic shape spec {spec!r} of input {name!r}: expected None, a dict "
            "of dimension -> Dim, or a tuple/list of Dims"
        )
    )


def _pick_alt(sym: Symbol, taken: set[tuple[int, int]], first: int) -> int | None:
    """A second size for ``sym`` in its range, ``first`` or more away from its example
    (each symbol its own step, so that sizes tell which symbol they follow), distinct
    from other symbols' with the same example size."""
    for step in range(first, first + 8):
        for cand in (sym.hint + step, sym.hint - step):
            if max(sym.lo, 2) <= cand <= sym.hi and (sym.hint, cand) not in taken:
                taken.add((sym.hint, cand))
                return cand
    return None


def _specialized(sym: Symbol, value: int) -> UserError:
    line = (
        f"  - You marked {sym.label} as dynamic but your code specialized it to be a constant "
        f"({value}). If you're using mark_dynamic, either remove it or use maybe_mark_dynamic. "
        "If you're using Dim.DYNAMIC, replace it with either Dim.STATIC or Dim.AUTO."
    )
    return UserError(
        with_suffix(
            f"Constraints violated ({sym.label})! For more information, run with "
            f'TORCH_LOGS="+dynamic".\n{line}\nSuggested fixes:\n  {sym.label} = {value}'
        )
    )


def resolve(
    dynamic_shapes: Any, names: list[str], values: list[Any]
) -> tuple[list[list[Symbol | None] | None], list[Symbol]]:
    """Per input (None for non-tensors) the symbol of each dimension (None: static), and
    the symbols. Raises :class:`UserError` for a malformed ``dynamic_shapes`` or a dynamic
    size of 0 or 1, :class:`ConstraintViolationError` for an example outside its range."""
    if dynamic_shapes is None:
        specs: list[Any] = [None] * len(names)
    elif isinstance(dynamic_shapes, dict):
        if sorted(dynamic_shapes) != sorted(names):
            raise UserError(
                with_suffix(
                    "When `dynamic_shapes` is specified as a dict, its top-level keys must be "
                    f"the arg names {names} of `inputs`, but here they are "
                    f"{list(dynamic_shapes)}. Alternatively, you could also ignore arg names "
                    "entirely and specify `dynamic_shapes` as a list/tuple matching `inputs`. "
                    "For more information about this error, see: https://pytorch.org/docs/main/"
                    "generated/exportdb/index.html#dynamic-shapes-validation"
                )
            )
        specs = [dynamic_shapes[n] for n in names]
    elif isinstance(dynamic_shapes, (tuple, list)):
        if len(dynamic_shapes) != len(names):
            raise UserError(
                with_suffix(
                    f"When `dynamic_shapes` is specified as a tuple/list, it must have one "
                    f"entry per input ({len(names)}: {names}), got {len(dynamic_shapes)}"
                )
            )
        specs = list(dynamic_shapes)
    else:
        raise UserError(
            with_suffix(
                f"Unexpected dynamic_shapes {dynamic_shapes!r}: expected a dict, tuple or list"
            )
        )
    symbols: dict[Any, Symbol] = {}
    layout: list[list[Symbol | None] | None] = []
    for name, spec, value in zip(names, specs, values, strict=True):
        if not isinstance(value, Tensor):
            if spec is not None:
                raise NotImplementedError(
                    f"export: a dynamic shape for the non-tensor input {name!r} is not supported"
                )
            layout.append(None)
            continue
        dims: list[Symbol | None] = []
        for d, entry in enumerate(_per_dim(name, spec, value)):
            size = int(value.shape[d])
            dims.append(_symbol_for(entry, size, name, d, symbols))
        layout.append(dims)
    taken: set[tuple[int, int]] = set()
    for i, sym in enumerate(symbols.values()):
        sym.alt = _pick_alt(sym, taken, i + 1) or _pick_alt(sym, taken, 1)
    return layout, list(symbols.values())


def _symbol_for(
    entry: Any, size: int, name: str, d: int, symbols: dict[Any, Symbol]
) -> Symbol | None:
    if entry is None or entry is Dim.STATIC or (isinstance(entry, int) and entry == size):
        return None
    if isinstance(entry, _DimHint):
        if size in (0, 1):
            if entry is Dim.AUTO:
                return None
            sym = Symbol("", None, 2, _INT_OO, size)
            sym.sources.append((name, d))
            raise _specialized(sym, size)
        key: Any = ("duck", size)
        if key not in symbols:
            symbols[key] = Symbol(f"s{len(symbols)}", None, 2, _INT_OO, size)
        sym = symbols[key]
        sym.strict = sym.strict or entry is Dim.DYNAMIC
    elif isinstance(entry, Dim):
        key = ("dim", entry.__name__)
        if key not in symbols:
            lo = max(entry.min, 2)  # sizes 0 and 1 are specialized; the range keeps min
            symbols[key] = Symbol(f"s{len(symbols)}", entry.__name__, entry.min, entry.max, size)
            if not lo <= size <= entry.max and size not in (0, 1):
                hi = "int_oo" if entry.max == _INT_OO else entry.max
                raise ConstraintViolationError(with_suffix(f"{size} not in range [{lo}, {hi}]"))
        sym = symbols[key]
        if size in (0, 1):
            sym.sources.append((name, d))
            raise _specialized(sym, size)
        if size != sym.hint:
            a, ad = sym.sources[0]
            raise UserError(
                with_suffix(
                    f"Constraints violated ({sym.label})! The dimensions L['{a}'].size()[{ad}] "
                    f"(= {sym.hint}) and L['{name}'].size()[{d}] (= {size}) are marked with "
                    f"the same Dim {sym.label} but have different example sizes"
                )
            )
    else:
        raise UserError(
            with_suffix(
                f"Unexpected dimension mapped to index {d} of input {name!r}: expected a Dim, "
                f"Dim.AUTO/STATIC/DYNAMIC, None or its example size {size}, got {entry!r}"
            )
        )
    sym.sources.append((name, d))
    return sym
