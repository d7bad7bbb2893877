"""``EventList``: the recorded events (a list) and what people do with them: sum them by key
(``key_averages``), print the table, export a Chrome trace or collapsed stacks."""

from __future__ import annotations

from typing import Any

from .events import FunctionEvent, FunctionEventAvg
from .table import build_table
from .trace_export import STACK_METRICS, write_chrome_trace, write_stacks

__all__ = ["EventList"]


class EventList(list):
    """A list of :class:`FunctionEvent` (``prof.events()``) or of :class:`FunctionEventAvg`
    (``prof.key_averages()``), in PyTorch's ``torch.autograd.profiler_util.EventList``.

    Keyword arguments: ``profile_memory`` (the table shows the memory columns),
    ``with_flops`` and ``use_device`` (PyTorch's; chainrule counts no FLOPs and has no
    device timeline, so only their default values are accepted).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        use_device = kwargs.pop("use_device", None)
        with_flops = kwargs.pop("with_flops", False)
        profile_memory = kwargs.pop("profile_memory", False)
        self._stack_rows = kwargs.pop("_stack_rows", 0)
        self._trace_flags = kwargs.pop("_trace_flags", {"profile_memory": profile_memory})
        self._base_us = kwargs.pop("_base_us", 0.0)
        if kwargs:
            raise TypeError(f"EventList() got unexpected keyword arguments {sorted(kwargs)}")
        if use_device is not None:
            raise NotImplementedError(
                f"EventList(use_device={use_device!r}): chainrule profiles the CPU only"
            )
        if with_flops:
            raise NotImplementedError("EventList(with_flops=True): FLOPs are not counted")
        super().__init__(*args)
        self._profile_memory = profile_memory

    def _like(self, items: list, **extra: Any) -> EventList:
        return EventList(
            items,
            profile_memory=self._profile_memory,
            _trace_flags=self._trace_flags,
            _base_us=self._base_us,
            **extra,
        )

    @property
    def self_cpu_time_total(self) -> float:
        """The sum of the events' self times: the profiled time, counted once."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(
        self,
        group_by_input_shapes: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """One :class:`FunctionEventAvg` per event name (and per input shapes, and per the
        innermost ``group_by_stack_n`` stack frames, when asked), in order of first call."""
        rows: dict[tuple, FunctionEventAvg] = {}
        for e in self:
            key: tuple = (e.key,)
            if group_by_input_shapes:
                key += (str(e.input_shapes),)
            if group_by_stack_n > 0:
                key += tuple((e.stack or [])[:group_by_stack_n])
            if group_by_overload_name:
                key += (e.overload_name,)
            row = rows.get(key)
            if row is None:
                row = rows[key] = FunctionEventAvg()
            row.add(e)
        out = list(rows.values())
        for row in out:
            if not group_by_input_shapes:
                row.input_shapes = None
            if group_by_stack_n <= 0:
                row.stack = None
        return self._like(out, _stack_rows=group_by_stack_n)

    def total_average(self) -> FunctionEventAvg:
        """All events summed into one row keyed ``"Total"``."""
        total = FunctionEventAvg()
        for e in self:
            total.cpu_time_total += e.cpu_time_total
            total.self_cpu_time_total += e.self_cpu_time_total
            total.cpu_memory_usage += e.cpu_memory_usage
            total.self_cpu_memory_usage += e.self_cpu_memory_usage
            total.count += e.count
        total.key = "Total"
        return total

    def table(
        self,
        sort_by: str | None = None,
        row_limit: int = 100,
        max_src_column_width: int = 75,
        max_name_column_width: int = 55,
        max_shapes_column_width: int = 80,
        header: str | None = None,
        top_level_events_only: bool = False,
        time_unit: str | None = None,
    ) -> str:
        """The events as PyTorch's text table (see :mod:`chainrule.profiler.table`)."""
        return build_table(
            self,
            sort_by=sort_by,
            row_limit=row_limit,
            max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width,
            header=header,
            top_level_events_only=top_level_events_only,
            time_unit=time_unit,
            profile_memory=self._profile_memory,
            stack_rows=self._stack_rows,
        )

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as Chrome trace-event JSON (``chrome://tracing``, Perfetto)."""
        events = [e for e in self if isinstance(e, FunctionEvent)]
        write_chrome_trace(events, path, self._base_us, self._trace_flags)

    def export_stacks(self, path: str, metric: str) -> None:
        """Write the collapsed stacks of the events with a recorded stack, weighted by
        ``metric`` (one of :meth:`supported_export_stacks_metrics`)."""
        write_stacks(self, path, metric)

    def supported_export_stacks_metrics(self) -> list[str]:
        """The metrics ``export_stacks`` accepts (PyTorch's list)."""
        return list(STACK_METRICS)
