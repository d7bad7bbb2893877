"""The profiler's records: one :class:`FunctionEvent` per op call or range, and the
:class:`FunctionEventAvg` rows that ``key_averages()`` sums them into.

Names and attributes follow ``torch.autograd.profiler_util`` (``key``, ``count``,
``cpu_time_total``, ``self_cpu_time_total``, ``cpu_time``, ``input_shapes``,
``cpu_memory_usage``, ``self_cpu_memory_usage``, ``cpu_children``, ``cpu_parent``, ...).
Times are microseconds (floats) from the start of the profile; memory is bytes. chainrule
runs on the CPU only, so every device time and memory figure is zero.
"""

from __future__ import annotations

__all__ = [
    "Interval",
    "FunctionEvent",
    "FunctionEventAvg",
    "format_time",
    "format_memory",
    "format_time_share",
]


class Interval:
    """A time span in microseconds (``FunctionEvent.time_range``)."""

    __slots__ = ("start", "end")

    def __init__(self, start: float, end: float):
        self.start = start
        self.end = end

    def elapsed_us(self) -> float:
        """The span's length in microseconds."""
        return self.end - self.start


class _TimeStrings:
    """The formatted time properties an event and an averaged row share (PyTorch's names)."""

    @property
    def cpu_time_str(self) -> str:
        return format_time(self.cpu_time)

    @property
    def cpu_time_total_str(self) -> str:
        return format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self) -> str:
        return format_time(self.self_cpu_time_total)


class FunctionEvent(_TimeStrings):
    """One recorded call: an op's forward, a backward rule, or a ``record_function`` range.

    ``cpu_children`` are the events that ran inside it (in the same thread), ``cpu_parent``
    the event it ran in. ``cpu_time_total`` is its wall time, ``self_cpu_time_total`` that
    time less its children's; ``cpu_memory_usage`` the bytes of new op outputs made inside
    it (with ``profile_memory=True``), ``self_cpu_memory_usage`` those not made by a child.
    """

    def __init__(
        self,
        id: int,  # noqa: A002 - PyTorch's argument name
        name: str,
        thread: int,
        start_us: float,
        end_us: float,
        input_shapes: list | None = None,
        stack: list | None = None,
        scope: int = 0,
        cpu_memory_usage: int = 0,
        is_user_annotation: bool = False,
        trace_name: str | None = None,
        sequence_nr: int = -1,
    ):
        self.id = id
        self.node_id = -1
        self.name = name
        self.overload_name = ""
        self.trace_name = trace_name if trace_name is not None else name
        self.time_range = Interval(start_us, end_us)
        self.thread = thread
        self.fwd_thread = None
        self.count = 1
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.stack = stack if stack is not None else []
        self.scope = scope
        self.use_device = None
        self.cpu_memory_usage = cpu_memory_usage
        self.device_memory_usage = 0
        self.is_async = False
        self.is_remote = False
        self.is_legacy = False
        self.sequence_nr = sequence_nr
        self.device_type = "CPU"
        self.device_index = 0
        self.flops = 0
        self.is_user_annotation = is_user_annotation
        self.kernels: list = []

    @property
    def key(self) -> str:
        """What ``key_averages`` groups by: the event's name."""
        return self.name

    @property
    def cpu_time_total(self) -> float:
        """Wall time of the call, in microseconds."""
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self) -> float:
        """``cpu_time_total`` less the time of the calls made inside this one."""
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        """Time per call (one call: ``cpu_time_total``)."""
        return self.cpu_time_total / self.count

    @property
    def self_cpu_memory_usage(self) -> int:
        """Bytes allocated by this call itself, not by the calls inside it."""
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    # chainrule runs on the CPU: device figures are zero (PyTorch's names kept for ports)
    device_time_total = 0.0
    self_device_time_total = 0.0
    device_time = 0.0
    cuda_time_total = 0.0
    self_cuda_time_total = 0.0
    self_device_memory_usage = 0
    self_cuda_memory_usage = 0

    def append_cpu_child(self, child: FunctionEvent) -> None:
        """Add ``child`` as a call made inside this one."""
        self.cpu_children.append(child)

    def set_cpu_parent(self, parent: FunctionEvent) -> None:
        """Set the call this one ran inside."""
        self.cpu_parent = parent

    def __repr__(self) -> str:
        return (
            f"<FunctionEvent id={self.id} name={self.name} cpu_time={self.cpu_time_str} "
            f"start_us={self.time_range.start:.3f} end_us={self.time_range.end:.3f} "
            f"cpu_children={[c.id for c in self.cpu_children]} thread={self.thread} "
            f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage}>"
        )


class FunctionEventAvg(_TimeStrings):
    """The sum of the events sharing a key (``key_averages()``'s rows): ``count`` calls,
    their total and self times and memory; ``cpu_time`` is the mean time per call."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.count = 0
        self.node_id = 0
        self.is_async = False
        self.is_remote = False
        self.use_device = None
        self.cpu_time_total = 0.0
        self.device_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.self_device_time_total = 0.0
        self.input_shapes: list | None = None
        self.overload_name: str | None = None
        self.stack: list | None = None
        self.scope: int | None = None
        self.cpu_memory_usage = 0
        self.device_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.self_device_memory_usage = 0
        self.cpu_children: list | None = None
        self.cpu_parent: FunctionEvent | None = None
        self.device_type = "CPU"
        self.is_legacy = False
        self.flops = 0
        self.is_user_annotation = False

    def add(self, other: FunctionEvent | FunctionEventAvg) -> FunctionEventAvg:
        """Add an event (or another average with the same key) into this row."""
        if self.key is None:  # the first event sets the row's description
            self.key = other.key
            self.node_id = other.node_id
            self.is_async = other.is_async
            self.is_remote = other.is_remote
            self.cpu_parent = other.cpu_parent
            self.cpu_children = other.cpu_children
            self.input_shapes = other.input_shapes
            self.overload_name = other.overload_name
            self.stack = other.stack
            self.scope = other.scope
            self.is_legacy = other.is_legacy
            self.is_user_annotation = other.is_user_annotation
        elif other.key != self.key:
            raise ValueError(
                f"FunctionEventAvg.add: cannot add an event with key {other.key!r} to the "
                f"average of {self.key!r}"
            )
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        self.count += other.count
        return self

    def __iadd__(self, other: FunctionEvent | FunctionEventAvg) -> FunctionEventAvg:
        return self.add(other)

    @property
    def cpu_time(self) -> float:
        """Mean time per call, in microseconds."""
        return 0.0 if not self.count else self.cpu_time_total / self.count

    device_time = 0.0
    cuda_time = 0.0

    def __repr__(self) -> str:
        return (
            f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
            f"cpu_time={self.cpu_time_str} input_shapes={self.input_shapes} "
            f"cpu_memory_usage={self.cpu_memory_usage}>"
        )


def format_time(time_us: float, unit: str | None = None) -> str:
    """Microseconds as PyTorch's tables print them: ``12.345us``, ``1.234ms``, ``2.500s``
    (``unit`` "s", "ms" or "us" forces one; anything else chooses by size, as PyTorch)."""
    if unit == "s" or (unit not in ("ms", "us") and abs(time_us) >= 1e6):
        return f"{time_us / 1e6:.3f}s"
    if unit == "ms" or (unit != "us" and abs(time_us) >= 1e3):
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def format_memory(nbytes: int) -> str:
    """Bytes as PyTorch's tables print them: ``52 B``, ``1.00 KB``, ``-1.12 GB``."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def format_time_share(time_us: float, total_us: float) -> str:
    """A share of the total as a percentage (``NaN`` for an empty profile)."""
    if total_us == 0:
        return "NaN"
    return f"{time_us * 100.0 / total_us:.2f}%"
