"""``cr.autograd.profiler``: PyTorch's older profiler API (``torch.autograd.profiler``).

``profile`` here is the context manager of ``torch.autograd.profiler.profile``: it records
the same events as :class:`chainrule.profiler.profile` (ops, backward rules, user ranges),
keeps them in ``prof.function_events`` and prints them with ``prof.table()`` (one row per
event) or ``prof.key_averages().table()`` (one row per name). ``record_function``,
``EventList``, ``FunctionEvent`` and ``FunctionEventAvg`` are the profiler package's own.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from .. import cuda as _cuda
from ..profiler.event_list import EventList
from ..profiler.events import FunctionEvent, FunctionEventAvg
from ..profiler.hooks import Session
from ..profiler.profiler import refuse
from ..profiler.record import record_function

__all__ = [
    "profile",
    "record_function",
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "kineto_available",
    "emit_nvtx",
]


def kineto_available() -> bool:
    """Whether PyTorch's Kineto tracing library is built in: never here (chainrule's
    profiler records ops in Python, see :mod:`chainrule.profiler`)."""
    return False


class profile:  # noqa: N801 - PyTorch's name
    """Record ops, backward rules and ``record_function`` ranges of the calling thread
    while the block runs (``enabled=False``: record nothing). ``use_cuda=True`` or a
    ``use_device`` warns that the device is not available, as PyTorch on a machine without
    it, and the CPU is profiled."""

    def __init__(
        self,
        enabled: bool = True,
        *,
        use_cuda: bool = False,
        use_device: str | None = None,
        record_shapes: bool = False,
        with_flops: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_modules: bool = False,
        use_kineto: bool = False,
        use_cpu: bool = True,
        experimental_config: Any = None,
        acc_events: bool = False,
        custom_trace_id_callback: Any = None,
        post_processing_timeout_s: float | None = None,
        activity_filters: dict | None = None,
    ):
        refuse(
            "profile",
            with_flops=with_flops,
            experimental_config=experimental_config,
            custom_trace_id_callback=custom_trace_id_callback,
            post_processing_timeout_s=post_processing_timeout_s,
            activity_filters=activity_filters,
        )
        if not use_cpu:
            raise NotImplementedError(
                "profile(use_cpu=False) is not supported: chainrule records CPU activity only"
            )
        if use_cuda:
            warnings.warn(
                "The attribute `use_cuda` will be deprecated soon, please use "
                "``use_device = 'cuda'`` instead.",
                FutureWarning,
                stacklevel=2,
            )
            use_device = "cuda"
        if use_device is not None:
            warnings.warn(
                f"{use_device.upper()} is not available, disabling {use_device.upper()} profiling",
                stacklevel=2,
            )
        self.enabled = enabled
        self.use_cuda = use_cuda
        self.use_device = None
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.use_kineto = use_kineto
        self.acc_events = acc_events
        self.entered = False
        self.function_events: EventList | None = None
        self._session: Session | None = None
        self._base_us = 0.0

    def __enter__(self) -> profile | None:
        if not self.enabled:
            return None  # PyTorch's disabled profiler gives None to ``as``
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._base_us = time.time_ns() / 1000.0
        self._session = Session(self.record_shapes, self.profile_memory, self.with_stack)
        self._session.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.enabled or self._session is None:
            return
        s, self._session = self._session, None
        s.stop()
        kept = list(self.function_events or []) if self.acc_events else []
        self.function_events = EventList(
            kept + ([] if s.taken_over else s.events),
            profile_memory=self.profile_memory,
            _trace_flags={
                "record_shapes": self.record_shapes,
                "profile_memory": self.profile_memory,
                "with_stack": self.with_stack,
            },
            _base_us=self._base_us,
        )
        self.entered = False

    def _check_finish(self) -> EventList:
        """The recorded events; before the profile has run, none (as PyTorch 2.13)."""
        if self.function_events is None:
            return EventList(profile_memory=self.profile_memory)
        return self.function_events

    def table(
        self,
        sort_by: str | None = None,
        row_limit: int = 100,
        max_src_column_width: int = 75,
        max_name_column_width: int = 55,
        max_shapes_column_width: int = 80,
        header: str | None = None,
        top_level_events_only: bool = False,
    ) -> str:
        """Every recorded event, one row each (``key_averages().table()`` sums by name)."""
        return self._check_finish().table(
            sort_by=sort_by,
            row_limit=row_limit,
            max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width,
            header=header,
            top_level_events_only=top_level_events_only,
        )

    def __str__(self) -> str:
        return self.table()

    def key_averages(
        self,
        group_by_input_shape: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """The events summed by name (and input shapes, stack frames)."""
        return self._check_finish().key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name
        )

    def total_average(self) -> FunctionEventAvg:
        """All events summed into one row keyed ``"Total"``."""
        return self._check_finish().total_average()

    @property
    def self_cpu_time_total(self) -> float:
        """The profiled time, each microsecond counted once."""
        return self._check_finish().self_cpu_time_total

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as Chrome trace-event JSON (``chrome://tracing``, Perfetto)."""
        self._check_finish().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write collapsed stacks for a flame graph (needs ``with_stack=True``)."""
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        self._check_finish().export_stacks(path, metric)


class emit_nvtx:  # noqa: N801  (torch's name)
    """``torch.autograd.profiler.emit_nvtx``: NVTX ranges around every op for nvprof / Nsight.

    Disabled (the tuning guide's ``emit_nvtx(enabled=False)``, kept in scripts to switch the
    annotation off) it does nothing. Enabled it needs CUDA: without a GPU it raises torch's
    "not compiled with CUDA" error from ``cuda.synchronize()``; with one it raises
    NotImplementedError, chainrule emitting no NVTX ranges.
    """

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled = enabled
        self.entered = False
        self.record_shapes = record_shapes

    def __enter__(self) -> None:
        if not self.enabled:
            return
        if self.entered:
            raise RuntimeError("NVTX annotation context manager is not reentrant")
        self.entered = True
        _cuda.synchronize()
        raise NotImplementedError(
            "torch.autograd.profiler.emit_nvtx(enabled=True): chainrule emits no NVTX ranges"
        )

    def __exit__(self, *exc_info: object) -> bool:
        return False
