"""Writing a profile out: Chrome trace-event JSON, collapsed stacks, TensorBoard's folder.

``export_chrome_trace`` writes the JSON object format of the Trace Event Format that
``chrome://tracing``, Perfetto (ui.perfetto.dev) and TensorBoard's profiler plugin open:
``{"traceEvents": [...], ...}`` with one complete event (``"ph": "X"``, ``ts``/``dur`` in
microseconds) per recorded call. ``export_stacks`` writes one line per call made with a
recorded stack, ``outer;...;inner;op value``: the collapsed-stack format FlameGraph's
``flamegraph.pl`` and speedscope read.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["chrome_trace", "write_chrome_trace", "write_stacks", "tensorboard_trace_handler"]

STACK_METRICS = [
    "self_cpu_time_total",
    "self_cuda_time_total",
    "self_xpu_time_total",
    "self_privateuse1_time_total",
]


def chrome_trace(events: Sequence[Any], base_us: float, flags: dict, name: str) -> dict:
    """The trace-event JSON object of ``events`` (``base_us``: the profile's start, in
    microseconds since the epoch, so ``ts`` values are wall-clock times)."""
    pid = os.getpid()
    threads = sorted({e.thread for e in events})
    trace: list[dict] = [
        {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": "python"}},
        {"ph": "M", "name": "process_labels", "pid": pid, "tid": 0, "args": {"labels": "CPU"}},
    ]
    for t in threads:
        trace.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": pid,
                "tid": t,
                "args": {"name": f"thread {t}"},
            }
        )
    for i, e in enumerate(events):
        args: dict[str, Any] = {"External id": e.id, "Ev Idx": i}
        if flags.get("record_shapes") and not e.is_user_annotation:
            args["Input Dims"] = e.input_shapes
        if flags.get("profile_memory"):
            args["CPU Mem"] = e.cpu_memory_usage
            args["Self CPU Mem"] = e.self_cpu_memory_usage
        if e.stack:
            args["Call stack"] = ";".join(e.stack)
        if getattr(e, "args", None) is not None:
            args["Args"] = e.args
        trace.append(
            {
                "ph": "X",
                "cat": "user_annotation" if e.is_user_annotation else "cpu_op",
                "name": e.trace_name,
                "pid": pid,
                "tid": e.thread,
                "ts": round(base_us + e.time_range.start, 3),
                "dur": round(e.time_range.elapsed_us(), 3),
                "args": args,
            }
        )
    return {
        "schemaVersion": 1,
        "deviceProperties": [],
        **flags.get("metadata", {}),
        "with_stack": int(bool(flags.get("with_stack"))),
        "profile_memory": int(bool(flags.get("profile_memory"))),
        "record_shapes": int(bool(flags.get("record_shapes"))),
        "host_name": socket.gethostname(),
        "displayTimeUnit": "ms",
        "baseTimeNanoseconds": int(base_us * 1000),
        "traceEvents": trace,
        "traceName": name,
    }


def write_chrome_trace(events: Sequence[Any], path: str, base_us: float, flags: dict) -> None:
    """Write :func:`chrome_trace` to ``path`` (gzip-compressed when it ends in ``.gz``)."""
    text = json.dumps(chrome_trace(events, base_us, flags, str(path)), indent=1)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def write_stacks(events: Sequence[Any], path: str, metric: str) -> None:
    """Write the collapsed stacks of ``events`` weighted by ``metric`` (integer
    microseconds; calls with no stack or a zero value are left out)."""
    if metric not in STACK_METRICS:
        raise ValueError(f"metric should be one of: {STACK_METRICS}")
    with open(path, "w", encoding="utf-8") as f:
        for e in events:
            value = int(getattr(e, metric, 0) or 0)
            if e.stack and value > 0:
                f.write(";".join([*reversed(e.stack), e.name]) + f" {value}\n")


def tensorboard_trace_handler(
    dir_name: str,
    worker_name: str | None = None,
    use_gzip: bool = False,
    use_python_export: bool = False,
) -> Callable[[Any], None]:
    """An ``on_trace_ready`` handler writing each trace to ``dir_name`` as
    ``{worker_name}.{nanoseconds}.pt.trace.json[.gz]``, the files TensorBoard's profiler
    plugin reads (``worker_name`` defaults to ``{hostname}_{pid}``, as PyTorch).
    ``use_python_export`` is accepted: chainrule's export is always Python."""
    if not isinstance(dir_name, (str, os.PathLike)):
        raise TypeError(f"tensorboard_trace_handler: dir_name must be a path, got {dir_name!r}")

    def handler_fn(prof: Any) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns()}.pt.trace.json"
        if use_gzip:
            name += ".gz"
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler_fn
