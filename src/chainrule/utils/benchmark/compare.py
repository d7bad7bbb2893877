"""``Compare``: measurements side by side in PyTorch's text table (one table per label, a
row per sub-label, a column per description, a block per thread count)."""

from __future__ import annotations

import enum
import math
from typing import Any

from .common import Measurement, ordered_unique, select_unit, trim_sigfig, unit_to_english

__all__ = ["Colorize", "Compare"]

BEST = "\033[92m"
GOOD = "\033[34m"
BAD = "\033[2m\033[91m"
VERY_BAD = "\033[31m"
BOLD = "\033[1m"
TERMINATE = "\033[0m"
_WARN_FOOTER = "(! XX%) Measurement has high variance, where XX is the IQR / median * 100."


class Colorize(enum.Enum):
    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


def _color(value: float, best: float, text: str) -> str:
    """Green for the best time, blue within 10% of it, faint red from 2x, red from 5x."""
    if value <= best:
        return BEST + BOLD + text + TERMINATE * 2
    if value <= best * 1.1:
        return GOOD + BOLD + text + TERMINATE * 2
    if value >= best * 5:
        return VERY_BAD + BOLD + text + TERMINATE * 2
    if value >= best * 2:
        return BAD + text + TERMINATE * 2
    return text


class Compare:
    """Collects :class:`Measurement` objects and prints them as tables.

    Results with the same label share a table; within it, rows are sub-labels (the statement
    when there is none), columns descriptions, and rows are grouped by thread count.
    Measurements of the same task are merged. Times are medians, in the unit of the
    table's fastest entry.
    """

    def __init__(self, results: list[Measurement]) -> None:
        self._results: list[Measurement] = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def __str__(self) -> str:
        return "\n".join(self._render())

    def extend_results(self, results: list[Measurement]) -> None:
        """Add more measurements."""
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(f"Compare: expected Measurement objects, got {type(r).__name__}")
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        """Print each time to its measurement's significant figures."""
        self._trim_significant_figures = True

    def colorize(self, rowwise: bool = False) -> None:
        """Color each time against the best of its column (``rowwise``: of its row)."""
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        """Mark high-variance times with ``(! XX%)``, XX the IQR / median in percent."""
        self._highlight_warnings = True

    def print(self) -> None:
        print(str(self))

    # ------------------------------------------------------------------ rendering
    def _render(self) -> list[str]:
        results = Measurement.merge(self._results)
        groups: dict[str | None, list[Measurement]] = {}
        for r in results:
            groups.setdefault(r.label, []).append(r)
        return [self._layout(label, group) for label, group in groups.items()]

    def _value(self, m: Measurement, scale: float) -> tuple[float, int]:
        """A time in the table's unit and the decimals it supports: one without trimming,
        else as many as its significant figures leave after the integer digits."""
        value = m.median / scale
        if not self._trim_significant_figures:
            return value, 1
        figures = m.significant_figures
        digits = max(0, figures - math.ceil(math.log10(value))) if value > 0 else 0
        return trim_sigfig(value, figures), digits

    def _layout(self, label: str | None, group: list[Measurement]) -> str:
        unit, scale = select_unit(min(m.median for m in group))
        columns = ordered_unique(m.description for m in group)
        threads = sorted(ordered_unique(m.num_threads for m in group))
        envs = ordered_unique(m.env for m in group)
        show_env = len(envs) > 1
        cells: dict[tuple, Measurement] = {}
        blocks: dict[int, list[tuple[str, str]]] = {t: [] for t in threads}
        for m in group:
            key = (m.env, m.as_row_name)
            if key not in blocks[m.num_threads]:
                blocks[m.num_threads].append(key)
            cells[(m.num_threads, key, m.description)] = m

        shown: dict[tuple, float] = {}
        digits: dict[Any, int] = {}  # per column: the fewest decimals of its times
        for k, m in cells.items():
            shown[k], d = self._value(m, scale)
            digits[k[2]] = min(d, digits.get(k[2], d))
        text = {k: f"{v:.{digits[k[2]]}f}" for k, v in shown.items()}
        values = {k: m.median for k, m in cells.items()}  # colors compare untrimmed times
        warned = set()
        for k, m in cells.items():
            if self._highlight_warnings and m.has_warnings:
                text[k] += f" (! {m.iqr / m.median * 100:.0f}%)"
                warned.add(k[2])
        for k, m in cells.items():
            if k[2] in warned and not (self._highlight_warnings and m.has_warnings):
                text[k] += " " * 7

        widths = {c: max([len(str(c))] + [len(t) for k, t in text.items() if k[2] == c])
                  for c in columns}  # fmt: skip
        env_width = max(len(f"({e})") for e in envs) if show_env else 0
        name_width = max(len(name) for b in blocks.values() for _, name in b)
        row_rows = []
        for t in threads:
            prev_env = None
            for env, name in blocks[t]:
                env_txt = f"({env})" if show_env and env != prev_env else ""
                prev_env = env
                prefix = f"  {env_txt:<{env_width}}  " if show_env else "      "
                row_rows.append((t, (env, name), prefix + name.ljust(name_width) + "  "))
        first_width = max(len(r[2]) for r in row_rows)

        def colored(t: int, key: tuple, c: Any) -> str:
            k = (t, key, c)
            if k not in text:
                return " " * widths[c]
            s = text[k].rjust(widths[c])
            if self._colorize is Colorize.NONE:
                return s
            if self._colorize is Colorize.ROWWISE:
                peers = [values[(t, key, c2)] for c2 in columns if (t, key, c2) in values]
            else:
                peers = [values[(t, k2, c)] for k2 in blocks[t] if (t, k2, c) in values]
            return _color(values[k], min(peers), s)

        header = " " * first_width + "|  " + "  |  ".join(str(c).center(widths[c]) for c in columns)
        body_width = first_width + 1 + sum(widths[c] + 4 for c in columns) + len(columns) - 1
        body_width -= 2  # the last column has no trailing padding
        lines = [header]
        for t in threads:
            lines.append(f"{t} threads: ".ljust(body_width, "-"))
            for _, key, first in (r for r in row_rows if r[0] == t):
                row = "  |  ".join(colored(t, key, c) for c in columns)
                lines.append(first.ljust(first_width) + "|  " + row)
        title = f" {'' if label is None else label} ".center(body_width - 2, "-")
        out = [f"[{title}]", *lines, "", f"Times are in {unit_to_english(unit)}s ({unit})."]
        if warned:
            out.append(_WARN_FOOTER)
        return "\n".join(out) + "\n"
