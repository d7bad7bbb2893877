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
from typing import Any

from ..autograd.tensor import Tensor
from ._derived import _INT_OO, DerivedDim, DerivedSymbol, Dim, _DimHint
from ._errors import ConstraintViolationError, UserError, with_suffix

__all__ = ["Dim", "ShapesCollection", "Symbol", "ValueRanges", "resolve"]


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
        self.alt_lo = 2  # the smallest second size keeping every derived size >= 2
        self.sources: list[tuple[str, int]] = []  # (L['x'] expression, dim)

    def __repr__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How errors name it: the Dim's name, or the first place it was found."""
        if self.dim_name is not None:
            return self.dim_name
        arg, d = self.sources[0]
        return f"{arg}.size()[{d}]"


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
        """The shapes of ``m``'s inputs ``args``/``kwargs`` by argument name, as torch's:
        nested tuples, lists and dicts keep their structure, with None for a tensor not in
        the collection; ``export`` also takes the collection itself."""
        bound = inspect.signature(m.forward).bind(*args, **(kwargs or {}))
        return {name: self._shape_tree(value) for name, value in bound.arguments.items()}

    def _shape_tree(self, value: Any) -> Any:
        if type(value) in (tuple, list):
            return type(value)(self._shape_tree(v) for v in value)
        if type(value) is dict:
            return {k: self._shape_tree(v) for k, v in value.items()}
        return self._shapes[id(value)][1] if id(value) in self._shapes else None


_DOCS = (
    "For more information about this error, see: https://pytorch.org/docs/main/generated/"
    "exportdb/index.html#dynamic-shapes-validation"
)
_ENTRY_KINDS = "an int, a Dim, Dim.AUTO, Dim.STATIC, or Dim.DYNAMIC"


def _per_dim(where: str, spec: Any, value: Tensor) -> list[Any]:
    """The entry of each dimension of the input whose spec is at ``where`` (Dim, hint or
    None), with torch's errors for a malformed spec."""
    if spec is None:
        return [None] * value.dim()
    if isinstance(spec, dict):
        out: list[Any] = [None] * value.dim()
        for d, entry in spec.items():
            if isinstance(d, bool) or not isinstance(d, int):
                raise UserError(
                    with_suffix(
                        f"Unexpected key {d!r} in input tensor shape {spec} specified at "
                        f"{where}: keys are dimension indices\n{_DOCS}"
                    )
                )
            if not -value.dim() <= d < value.dim():  # torch's list assignment
                raise IndexError(
                    f"list assignment index out of range: dimension {d} of the dynamic shape "
                    f"specified at {where}, for a {value.dim()}-d example"
                )
            out[d] = entry
    elif isinstance(spec, (tuple, list)):
        if len(spec) != value.dim():
            raise UserError(
                with_suffix(
                    f"Expected dynamic shape spec {spec} specified at {where} to have the same "
                    f"length as the actual tensor shape {value.shape} (expected {value.dim()}, "
                    f"but got {len(spec)} instead)\n{_DOCS}"
                )
            )
        out = list(spec)
    else:
        raise UserError(
            with_suffix(
                f"Unexpected input tensor shape {spec} specified at {where} (expected either a "
                "list/tuple of dimensions, or a dict mapping indices to dimensions, where each "
                f"dimension is {_ENTRY_KINDS})\n{_DOCS}"
            )
        )
    for d, entry in enumerate(out):
        if not (entry is None or isinstance(entry, (int, Dim, _DimHint))) or isinstance(
            entry, bool
        ):
            raise UserError(
                with_suffix(
                    f"Unexpected dimension mapped to index {d} in input tensor shape {spec} "
                    f"specified at {where} (expected None, {_ENTRY_KINDS},  but got "
                    f"{entry!r} instead)\n{_DOCS}"
                )
            )
    return out


def _pick_alt(sym: Symbol, taken: set[tuple[int, int]], first: int) -> int | None:
    """A second size for ``sym`` in its range, ``first`` or more away from its example
    (each symbol its own step, so that sizes tell which symbol they follow), distinct
    from other symbols' with the same example size."""
    for step in range(first, first + 8):
        for cand in (sym.hint + step, sym.hint - step):
            if max(sym.lo, sym.alt_lo) <= cand <= sym.hi and (sym.hint, cand) not in taken:
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


def _check_specialized(symbols: dict[Any, Symbol], places: list[tuple[str, str, int]]) -> None:
    """torch's error for a named root whose value, or the size at one of its places, is 0
    or 1: every place of that root (itself and its derived dims, in order, each with its
    size) is reported as specialized, the names sorted in the header, and the fix
    ``root = value`` suggested where the root itself was marked."""
    for sym in symbols.values():
        if sym.dim_name is None:
            continue
        group: dict[str, int] = {}
        for root, label, size in places:
            if root == sym.dim_name:
                group.setdefault(label, size)
        if sym.hint not in (0, 1) and not any(v in (0, 1) for v in group.values()):
            continue
        lines = "".join(
            f"\n  - You marked {label} as dynamic but your code specialized it to be a "
            f"constant ({size}). If you're using mark_dynamic, either remove it or use "
            "maybe_mark_dynamic. If you're using Dim.DYNAMIC, replace it with either "
            "Dim.STATIC or Dim.AUTO."
            for label, size in group.items()
        )
        fix = f"\nSuggested fixes:\n  {sym.dim_name} = {sym.hint}" if sym.dim_name in group else ""
        raise UserError(
            with_suffix(
                f"Constraints violated ({', '.join(sorted(group))})! For more information, run "
                f'with TORCH_LOGS="+dynamic".{lines}{fix}'
            )
        )


def resolve(
    specs: list[Any], where: list[str], names: list[str], values: list[Any]
) -> tuple[list[list[Symbol | None] | None], list[Symbol]]:
    """Per flattened input (None for non-tensors) the symbol of each dimension (None:
    static), and the symbols. ``specs`` holds each input's entry of ``dynamic_shapes``,
    ``where`` its location and ``names`` how torch's errors name the input
    (``L['xs'][1]``; see ``_inputs.leaf_specs``). Raises :class:`UserError` for a
    malformed entry or a dynamic size of 0 or 1, :class:`ConstraintViolationError` for an
    example outside its range."""
    symbols: dict[Any, Symbol] = {}
    derived: dict[tuple, DerivedSymbol] = {}
    dims_of: dict[str, Dim] = {}
    places: list[tuple[str, str, int]] = []  # (root Dim, the Dim or derived dim, size)
    layout: list[list[Symbol | None] | None] = []
    for name, spec, loc, value in zip(names, specs, where, values, strict=True):
        if not isinstance(value, Tensor):
            if spec is not None:
                raise NotImplementedError(
                    f"export: a dynamic shape for the non-tensor input {name!r} (at {loc}) is "
                    "not supported"
                )
            layout.append(None)
            continue
        dims: list[Symbol | None] = []
        for d, entry in enumerate(_per_dim(loc, spec, value)):
            size = int(value.shape[d])
            if isinstance(entry, Dim):  # a DerivedDim is a Dim, as torch's
                root = entry.root if isinstance(entry, DerivedDim) else entry
                _same_definition(root, dims_of)
                places.append((root.__name__, entry.__name__, size))
            if isinstance(entry, DerivedDim) and (entry.coeff, entry.offset) == (1, 0):
                entry = entry.root  # dx * 1, dx - 1 + 1: the root itself
            if isinstance(entry, DerivedDim):
                dims.append(_derived_for(entry, size, name, d, symbols, derived))
            else:
                dims.append(_symbol_for(entry, size, name, d, symbols))
        layout.append(dims)
    _check_specialized(symbols, places)
    taken: set[tuple[int, int]] = set()
    for i, sym in enumerate(symbols.values()):
        sym.alt = _pick_alt(sym, taken, i + 1) or _pick_alt(sym, taken, 1)
    return layout, list(symbols.values())


def _same_definition(dim: Dim, seen: dict[str, Dim]) -> None:
    """torch's error for two different ``Dim``s with one name."""
    first = seen.setdefault(dim.__name__, dim)
    if (first.min, first.max) != (dim.min, dim.max):
        raise UserError(
            with_suffix(
                f"Found different definitions {first!r} and {dim!r} for the same symbolic "
                f"dimension {dim!r}!"
            )
        )


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
        if size in (0, 1):  # reported with the root's other places (_check_specialized)
            sym.sources.append((name, d))
            return sym
        if size != sym.hint and not sym.sources:  # first met through a derived dim
            raise _not_derived(entry.__name__, entry.__name__, sym.hint, name, d, size)
        if size != sym.hint:
            a, ad = sym.sources[0]
            raise UserError(
                with_suffix(
                    f"Constraints violated ({sym.label})! The dimensions {a}.size()[{ad}] "
                    f"(= {sym.hint}) and {name}.size()[{d}] (= {size}) are marked with "
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


def _not_derived(expr: str, root: str, hint: int, name: str, d: int, size: int) -> UserError:
    return UserError(
        with_suffix(
            f"Expected input {name}.size()[{d}] to be equal to {expr}, where {root} = {hint}, "
            f"but got {size}"
        )
    )


def _derived_for(
    entry: DerivedDim,
    size: int,
    name: str,
    d: int,
    symbols: dict[Any, Symbol],
    derived: dict[tuple, DerivedSymbol],
) -> DerivedSymbol:
    """The derived size of ``entry`` (``2 * dx``) at ``name``'s dimension ``d``: the root's
    symbol (made here, its example size solved from ``size``, when the root is not met
    yet), with torch's errors for an example size that does not fit."""
    root = entry.root
    entry.min  # noqa: B018 - torch's AssertionError for a derived min below 0
    key = ("dim", root.__name__)
    if key in symbols:
        sym = symbols[key]
        if size != entry(sym.hint):
            raise _not_derived(entry.__name__, root.__name__, sym.hint, name, d, size)
    else:
        hint, rem = divmod(size - entry.offset, entry.coeff)
        if rem:
            raise UserError(
                with_suffix(
                    f"Expected shape[{d}] = {size} of input Tensor to be of the form "
                    f"{entry.__name__}, where {root.__name__} is an integer"
                )
            )
        if not root.min <= hint <= root.max:
            hi = "int_oo" if entry.max == _INT_OO else int(entry.max)
            lo = max(entry.min, 2)  # as a root's: sizes 0 and 1 are specialized
            raise ConstraintViolationError(with_suffix(f"{size} not in range [{lo}, {hi}]"))
        sym = symbols[key] = Symbol(f"s{len(symbols)}", root.__name__, root.min, root.max, hint)
    out = derived.setdefault(
        (key, entry.coeff, entry.offset), DerivedSymbol(sym, entry.coeff, entry.offset)
    )
    if size in (0, 1):  # reported with the root's other places (_check_specialized)
        out.sources.append((name, d))
        return out
    # the second trace's size keeps this one at 2 or more
    sym.alt_lo = max(sym.alt_lo, -((entry.offset - 2) // entry.coeff))
    out.sources.append((name, d))
    return out
