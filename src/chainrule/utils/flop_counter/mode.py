"""``FlopCounterMode``: counts the FLOPs of the ops run inside it, per module, and prints
PyTorch's table of them."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ._recording import Recorder, flop_registry

__all__ = [
    "FlopCounterMode",
    "convert_num_with_suffix",
    "convert_to_percent_str",
    "get_suffix_str",
    "register_flop_formula",
    "suffixes",
]

suffixes = ["", "K", "M", "B", "T"]


def get_suffix_str(number: float) -> str:
    """The suffix the table writes a total in: one step per three digits beyond the first
    three (``12345`` -> ``"K"``), as PyTorch chooses it from the number's printed length."""
    index = max(0, min(len(suffixes) - 1, (len(str(number)) - 2) // 3))
    return suffixes[index]


def convert_num_with_suffix(number: float, suffix: str) -> str:
    """``number`` in units of ``suffix`` with three decimals (``1234567, "M"`` -> ``1.235M``)."""
    scale = 1000 ** suffixes.index(suffix)
    return f"{number / scale:.3f}{suffix}"


def convert_to_percent_str(num: float, denom: float) -> str:
    """``num / denom`` as a percentage with two decimals; ``"0%"`` for a zero ``denom``."""
    if denom == 0:
        return "0%"
    return f"{num / denom:.2%}"


def register_flop_formula(targets: Any, get_raw: bool = False) -> Callable:
    """Register ``formula(*input_shapes, out_shape=...) -> int`` for the ops ``targets``.

    chainrule has no aten ops: a target is a :class:`~chainrule.autograd.Function` subclass
    (or a list of them); its FLOPs are counted under ``chainrule::<name>`` (a user Function
    under its class name). The formula receives each argument's shape (other arguments as
    they are) and ``out_shape``; with ``get_raw`` it receives the tensors themselves.
    """
    ops = list(targets) if isinstance(targets, (list, tuple)) else [targets]
    for op in ops:
        if not isinstance(op, type):
            raise TypeError(
                "register_flop_formula: a target is a chainrule Function subclass, "
                f"got {type(op).__name__}"
            )

    def register(formula: Callable) -> Callable:
        for op in ops:
            if op in flop_registry:
                raise RuntimeError(f"register_flop_formula: {op.__name__} is already registered")
            flop_registry[op] = (formula, get_raw)
        return formula

    return register


class FlopCounterMode:
    """Counts the floating-point operations of the matmul family, convolutions and attention
    run inside the ``with`` block, forward and backward, per module.

    Counts are kept per module path (``"Global"`` for everything, ``"Net"``, ``"Net.fc"``
    as PyTorch names modules: the class name of a top-level module, then attribute paths)
    and per op. PyTorch keys ops by aten overload packets (``aten.mm``); chainrule has no
    aten, so the keys are chainrule's op names as strings: ``chainrule::mm``,
    ``chainrule::bmm``, ``chainrule::addmm`` (``linear`` with a bias),
    ``chainrule::convolution``, ``chainrule::convolution_backward``,
    ``chainrule::scaled_dot_product_attention`` (and ``..._backward``), or a registered
    Function's name. Totals equal PyTorch's on CPU; ``addmm``/``baddbmm`` calls count as
    the ``mm``/``bmm`` they are built on, and attention as one op where PyTorch's CPU
    path shows its two ``bmm``.

    Counting costs nothing outside the block: entering swaps counting wrappers into
    ``Function.apply``, the engine's backward-rule call and ``Module.__call__``; exiting
    puts the original objects back. Counters nest (each counts what runs inside it), and
    entering one again starts its counts afresh, as in PyTorch. A profiler may run inside
    a counter; ops are not counted from its start on (it installs its own wrappers over
    the plain objects and puts those back when it stops).

    Args:
        mods: accepted for compatibility; PyTorch ignores it with a warning, and so does this.
        depth: how deep the table printed on exit goes into module paths.
        display: print the table on exit.
        custom_mapping: ``{FunctionClass: formula}``, used before the registered formulas.
    """

    def __init__(
        self,
        mods: Any = None,
        depth: int = 2,
        display: bool = True,
        custom_mapping: dict[Any, Any] | None = None,
    ) -> None:
        if mods is not None:
            warnings.warn(
                "mods argument is not needed anymore, you can stop passing it", stacklevel=2
            )
        self.depth = depth
        self.display = display
        self.custom_mapping = {
            op: (f, bool(getattr(f, "_get_raw", False))) for op, f in (custom_mapping or {}).items()
        }
        self.flop_counts: dict[str, dict[str, int]] = {}
        self._recorder: Recorder | None = None

    def __enter__(self) -> FlopCounterMode:
        rec = Recorder(self.custom_mapping)
        self.flop_counts = rec.counts
        rec.start()
        self._recorder = rec
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._recorder is not None:
            self._recorder.stop()
            self._recorder = None
        if self.display:
            print(self.get_table(self.depth))

    def get_total_flops(self) -> int:
        """All FLOPs counted (the ``Global`` total)."""
        return sum(self.flop_counts.get("Global", {}).values())

    def get_flop_counts(self) -> dict[str, dict[str, int]]:
        """``{module name: {op key: FLOPs}}``, with ``"Global"`` for all ops."""
        return {mod: dict(ops) for mod, ops in self.flop_counts.items()}

    def get_table(self, depth: int | None = None) -> str:
        """PyTorch's table: a row per module path down to ``depth`` (``None``: all) with its
        FLOPs and share of the total, each followed by a row per op (``- chainrule::mm``).
        ``Global`` is left out when one top-level module holds all the FLOPs."""
        if depth is None:
            depth = 999999
        counts = self.flop_counts
        total = self.get_total_flops()
        suffix = get_suffix_str(total)
        rows: list[tuple[str, str, str]] = []

        def add(name: str, shown: str, ops: dict[str, int]) -> int:
            mod_total = sum(ops.values())
            rows.append((shown, _flops_cell(mod_total, suffix), _pct(mod_total, total)))
            for op, n in ops.items():
                rows.append((f"- {op}", _flops_cell(n, suffix), _pct(n, total)))
            return mod_total

        top_totals = {
            sum(ops.values()) for m, ops in counts.items() if m != "Global" and "." not in m
        }
        if "Global" not in counts or total not in top_totals:
            add("Global", "Global", counts.get("Global", {}))
        for name in sorted(m for m in counts if m != "Global"):
            if name.count(".") + 1 > depth:
                continue
            add(name, name, counts[name])
        return _tabulate(("Module", "FLOP", "% Total"), rows)


def _pct(n: int, total: int) -> str:
    return convert_to_percent_str(n, total)


def _flops_cell(n: int, suffix: str) -> str:
    """A FLOP count: ``12.345K``, or the plain integer when the table has no suffix."""
    if suffix == "":
        return str(int(n))
    return convert_num_with_suffix(n, suffix)


def _tabulate(headers: tuple[str, str, str], rows: list[tuple[str, str, str]]) -> str:
    """The "simple" layout PyTorch's table has: the first column left-aligned, the others
    right-aligned, each at least its header plus two wide, two spaces between columns."""
    widths = [max([len(h) + 2] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: tuple[str, str, str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    return "\n".join(out)
