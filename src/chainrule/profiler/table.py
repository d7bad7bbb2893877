"""The profiler's text table, in the layout of PyTorch's ``EventList.table()``.

Columns: ``Name``, ``Self CPU %``, ``Self CPU``, ``CPU total %``, ``CPU total``,
``CPU time avg``, then ``CPU Mem`` and ``Self CPU Mem`` when the profile recorded memory,
``# of Calls``, ``Input Shapes`` when the rows carry shapes (raw events with
``record_shapes``, or ``key_averages(group_by_input_shape=True)``) and ``Source Location``
when they carry stacks (``key_averages(group_by_stack_n=n)`` with ``with_stack``). Each cell
is right-aligned and followed by two spaces; percentages are of the total self time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .events import format_memory, format_time, format_time_share

__all__ = ["build_table"]

_TOP_LEVEL_NOTE = "This report only display top-level ops statistics"


def _clip(text: str, limit: int) -> str:
    """PyTorch's cut of a long cell: ``limit - 3`` characters and ``...``."""
    return text[: limit - 3] + "..." if len(text) >= limit - 3 else text


def build_table(
    events: Sequence[Any],
    sort_by: str | None = None,
    row_limit: int = 100,
    max_src_column_width: int = 75,
    max_name_column_width: int = 55,
    max_shapes_column_width: int = 80,
    header: str | None = None,
    top_level_events_only: bool = False,
    time_unit: str | None = None,
    profile_memory: bool = False,
    stack_rows: int = 0,
) -> str:
    """The table of ``events`` (FunctionEvent or FunctionEventAvg rows) as one string.

    ``sort_by`` names an attribute to sort on, largest first (``"cpu_time_total"``,
    ``"self_cpu_time_total"``, ``"count"``, ``"cpu_memory_usage"``, ...); ``row_limit``
    rows are shown (0: none, negative: all); ``stack_rows``: how many frames of each row's
    stack the Source Location column shows (``group_by_stack_n``).
    """
    if not events:
        return ""  # PyTorch prints nothing for an empty profile
    rows = list(events)
    if sort_by is not None:
        rows = sorted(rows, key=lambda e: getattr(e, sort_by), reverse=True)
    if top_level_events_only:
        rows = [e for e in rows if e.cpu_parent is None]
    total_self = sum(e.self_cpu_time_total for e in events)
    shown = rows[:row_limit] if row_limit >= 0 else rows
    has_shapes = any(e.input_shapes for e in events)
    has_stack = stack_rows > 0 and any(e.stack for e in events)

    name_w = min(max((len(e.key) for e in events), default=0) + 4, max_name_column_width)
    heads = [("Name", name_w)]
    heads += [(h, 12) for h in ("Self CPU %", "Self CPU", "CPU total %", "CPU total")]
    heads.append(("CPU time avg", 12))
    if profile_memory:
        heads += [("CPU Mem", 12), ("Self CPU Mem", 12)]
    heads.append(("# of Calls", 12))
    if has_shapes:
        longest = max(len(str(e.input_shapes)) for e in events)
        heads.append(("Input Shapes", min(longest + 4, max_shapes_column_width)))
    if has_stack:
        longest = max((len(f) for e in events for f in (e.stack or [])[:stack_rows]), default=0)
        heads.append(("Source Location", min(longest + 4, max_src_column_width)))
    widths = [w for _, w in heads]

    def line(cells: list[str]) -> str:
        return "".join(c.rjust(w) + "  " for c, w in zip(cells, widths))

    sep = "".join("-" * w + "  " for w in widths)
    out: list[str] = []
    for note in (header, _TOP_LEVEL_NOTE if top_level_events_only else None):
        if note is not None:
            out += ["=" * (len(sep) - 2), note]
    out += [sep, line([h for h, _ in heads]), sep]
    for e in shown:
        cells = [
            _clip(e.key, max_name_column_width),
            format_time_share(e.self_cpu_time_total, total_self),
            format_time(e.self_cpu_time_total, time_unit),
            format_time_share(e.cpu_time_total, total_self),
            format_time(e.cpu_time_total, time_unit),
            format_time(e.cpu_time, time_unit),
        ]
        if profile_memory:
            cells += [format_memory(e.cpu_memory_usage), format_memory(e.self_cpu_memory_usage)]
        cells.append(str(e.count))
        if has_shapes:
            cells.append(_clip(str(e.input_shapes), max_shapes_column_width))
        frames = (e.stack or [])[:stack_rows] if has_stack else []
        if has_stack:
            cells.append(_clip(frames[0], max_src_column_width) if frames else "")
        out.append(line(cells))
        for f in frames[1:]:  # the rest of the stack, one frame a line
            out.append(line([""] * (len(widths) - 1) + [_clip(f, max_src_column_width)]))
    out += [sep, f"Self CPU time total: {format_time(total_self, time_unit)}", ""]
    return "\n".join(out)
