"""``torch.profiler.profile`` for chainrule: record ops, backward rules and user ranges.

Used as PyTorch's::

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(inputs)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

With ``schedule=`` the profile follows the schedule's action at each ``prof.step()``:
nothing, warm-up (nothing is recorded: chainrule has no tracer to warm), record, record and
hand the trace to ``on_trace_ready(prof)``; each recorded step is a range ``ProfilerStep#N``
(key ``ProfilerStep*``). Without a schedule it records from start to stop and calls
``on_trace_ready`` once at stop.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from ..backend import cupy_available
from .event_list import EventList
from .hooks import Session, active_session
from .scheduling import ProfilerAction, ProfilerActivity

__all__ = ["profile", "resolve_activities"]

_log = logging.getLogger(__name__)
_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
_warned_clear = [False]  # PyTorch warns once per process that a new cycle clears events


def resolve_activities(activities: Iterable | None) -> set[ProfilerActivity]:
    """The activities chainrule records for ``activities``: a device activity warns that it
    is disabled (PyTorch's warning on a machine without the device; with a CuPy GPU, that
    kernels are not profiled); none left raises, as PyTorch."""
    if activities is None:
        return {ProfilerActivity.CPU}
    asked = list(activities)
    if not asked:
        raise AssertionError("No valid profiler activities found")
    kept = set()
    for a in asked:
        if isinstance(a, dict):
            raise NotImplementedError(
                "profile(activities=...): per-activity filters (a dict) are not supported; "
                "pass ProfilerActivity values"
            )
        if not isinstance(a, ProfilerActivity):
            raise TypeError(f"profile(activities=...): expected ProfilerActivity, got {a!r}")
        if a is ProfilerActivity.CPU:
            kept.add(a)
        elif a is ProfilerActivity.CUDA and cupy_available():
            warnings.warn(
                "chainrule's profiler records host (CPU) activity only: CUDA kernels are not "
                "profiled (an op on CuPy tensors is timed until its kernels are queued); "
                "disabling CUDA profiling",
                stacklevel=3,
            )
        else:
            warnings.warn(f"{a.name} is not available, disabling {a.name} profiling", stacklevel=3)
    if not kept:
        raise AssertionError("No activities specified for the profiler")
    return kept


def refuse(api: str, **options: Any) -> None:
    """Raise NotImplementedError for an option set away from its default."""
    for name, value in options.items():
        if value:
            raise NotImplementedError(f"{api}({name}={value!r}) is not supported by chainrule")


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


class profile:  # noqa: N801 - PyTorch's name
    """The profiler context manager (PyTorch's ``torch.profiler.profile``); see the module
    docstring. ``record_shapes`` keeps each op's input shapes, ``profile_memory`` the bytes
    of its new outputs, ``with_stack`` the user's ``file(line): function`` frames; events
    accumulate over schedule cycles with ``acc_events=True``. ``with_modules`` records module
    hierarchies for TorchScript models only in PyTorch, so it has no effect on eager code
    there or here."""

    def __init__(
        self,
        *,
        activities: Iterable[ProfilerActivity] | None = None,
        schedule: Callable[[int], ProfilerAction] | None = None,
        on_trace_ready: Callable[..., Any] | None = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        with_modules: bool = False,
        experimental_config: Any = None,
        execution_trace_observer: Any = None,
        acc_events: bool = False,
        use_cuda: bool | None = None,
        custom_trace_id_callback: Callable[[], str] | None = None,
        post_processing_timeout_s: float | None = None,
    ):
        refuse(
            "profile",
            with_flops=with_flops,
            experimental_config=experimental_config,
            execution_trace_observer=execution_trace_observer,
            custom_trace_id_callback=custom_trace_id_callback,
            post_processing_timeout_s=post_processing_timeout_s,
        )
        if use_cuda is not None:
            warnings.warn(
                "`use_cuda` is deprecated, use `activities` argument instead",
                FutureWarning,
                stacklevel=2,
            )
        self.activities = resolve_activities(activities)
        self.record_steps = schedule is not None
        self.schedule = schedule if schedule is not None else _always_record
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._session: Session | None = None
        self._step_range = None
        self._events: list = []  # what events() reports (every cycle's with acc_events)
        self._trace: list = []  # the last cycle's events alone: what a trace file holds
        self._saved_once = False
        self._base_us = 0.0
        self._t0 = 0
        self._metadata: dict[str, Any] = {}

    # ------------------------------------------------------------------ context
    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Begin profiling at step 0 with the schedule's first action."""
        self._t0 = time.perf_counter_ns()  # times are microseconds from here
        self._base_us = time.time_ns() / 1000.0  # ... which is this wall-clock time
        self._transit(None, self.current_action)
        self._open_step()

    def stop(self) -> None:
        """End profiling: a trace being recorded is finished and handed to
        ``on_trace_ready``."""
        self._close_step()
        self._transit(self.current_action, None)

    def step(self) -> None:
        """Mark the end of a training step: the schedule's action for the next step
        number takes effect."""
        self._close_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        self._open_step()

    # ------------------------------------------------------------------ results
    def events(self) -> EventList:
        """The events of the last trace (all traces with ``acc_events=True``)."""
        return self._event_list(self._events)

    def _event_list(self, events: list) -> EventList:
        return EventList(
            events,
            profile_memory=self.profile_memory,
            _trace_flags={
                "record_shapes": self.record_shapes,
                "profile_memory": self.profile_memory,
                "with_stack": self.with_stack,
                "metadata": self._metadata,
            },
            _base_us=self._base_us,
        )

    def key_averages(
        self,
        group_by_input_shape: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """The events summed by name (and input shapes, stack frames): the table's rows."""
        return self.events().key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name
        )

    def add_metadata(self, key: str, value: str) -> None:
        """Add ``key: value`` (a string) to the top level of the exported trace."""
        self._metadata[key] = str(value)

    def add_metadata_json(self, key: str, value: str) -> None:
        """Add ``key`` with the JSON text ``value`` (parsed) to the exported trace."""
        self._metadata[key] = json.loads(value)

    def export_chrome_trace(self, path: str) -> None:
        """Write the trace as Chrome trace-event JSON (``chrome://tracing``, Perfetto): the
        last cycle's events, also with ``acc_events=True`` (as PyTorch, whose trace files
        hold one cycle each while ``events()`` and ``key_averages()`` accumulate)."""
        self._event_list(self._trace).export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Write collapsed stacks for a flame graph (needs ``with_stack=True``)."""
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        self.events().export_stacks(path, metric)

    # ------------------------------------------------------------------ the schedule
    def _transit(self, prev: ProfilerAction | None, cur: ProfilerAction | None) -> None:
        """Act on a change of action (None: before start / after stop), as PyTorch."""
        A = ProfilerAction
        recording = prev in _RECORDING
        if prev is A.RECORD_AND_SAVE:  # whatever comes next, this cycle's trace is done
            self._finish(save=True)
            recording = False
        elif prev is A.RECORD:
            if cur is None:
                self._finish(save=True)
                return
            if cur not in _RECORDING:
                warnings.warn(f"Incorrect schedule: RECORD followed by {cur.name}", stacklevel=3)
                self._finish(save=False)
                recording = False
        elif prev is A.WARMUP and cur is A.NONE:
            warnings.warn("Incorrect schedule: WARMUP followed by NONE", stacklevel=3)
        if cur is A.WARMUP and prev is not A.WARMUP:
            self._begin(record=False)
        elif cur in _RECORDING and not recording:
            self._begin(record=True)

    def _begin(self, record: bool) -> None:
        if self._saved_once and not self.acc_events:
            # A new cycle drops the last one's events as it starts (as PyTorch: a profile
            # stopped during the new cycle's warmup reports no events, not the old cycle's).
            self._events = self._trace = []
            if not _warned_clear[0]:
                _warned_clear[0] = True
                warnings.warn(
                    "Warning: Profiler clears events at the end of each cycle. Only events "
                    "from the current cycle will be reported. To keep events across cycles, "
                    "set acc_events=True.",
                    stacklevel=4,
                )
        if record and self._session is None:
            self._session = Session(
                self.record_shapes, self.profile_memory, self.with_stack, self._t0
            )
            self._session.start()

    def _finish(self, save: bool) -> None:
        s, self._session = self._session, None
        if s is None:
            return
        s.stop()
        if s.taken_over:
            _log.warning(
                "profile: another profiler was started while this one was recording and took "
                "the recording over (as in PyTorch); this profile has no events"
            )
        self._trace = [] if s.taken_over or not save else s.events
        if self.acc_events:
            self._events = self._events + self._trace
        else:
            self._events = self._trace
        if save:
            self._saved_once = True
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def _open_step(self) -> None:
        s = self._session
        if self.record_steps and s is not None and active_session() is s:
            self._step_range = s.open(
                "ProfilerStep*", [], user=True, trace_name=f"ProfilerStep#{self.step_num}"
            )

    def _close_step(self) -> None:
        ev, self._step_range = self._step_range, None
        if ev is not None and self._session is not None:
            self._session.close(ev)
