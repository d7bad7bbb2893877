"""The PyTorch Profiler recipe around a training loop: ``torch.profiler.profile(activities=
[ProfilerActivity.CPU], record_shapes=True, schedule=torch.profiler.schedule(skip_first=1,
wait=1, warmup=1, active=2, repeat=2), on_trace_ready=trace_handler, acc_events=True)``, with
``record_function`` ranges around the forward, the backward and the optimizer step (one as a
decorator), ``prof.step()`` at the end of each iteration, and a ``trace_handler`` that prints
``p.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)`` and writes
``p.export_chrome_trace(f"trace_{p.step_num}.json")``. Afterwards the results are read
programmatically: ``prof.key_averages()`` rows by ``key``/``count``, ``group_by_input_shape``,
``prof.events()``, the exported JSON's ``traceEvents``. A second, short run uses the
TensorBoard recipe's ``on_trace_ready=torch.profiler.tensorboard_trace_handler(log_dir)``.

Compared: the losses, the steps at which ``on_trace_ready`` fired, the call counts of the user
ranges and of ``ProfilerStep*`` in each trace and overall, the ``ProfilerStep#N`` names and the
user ranges in the exported traces. Not compared: timings, and op names (PyTorch's ops are
``aten::addmm``, chainrule's ``chainrule::linear``; see docs/profiler.md).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

USER_RANGES = ("forward", "backward", "optimizer_step", "compute_loss")


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)
    )


def _range_counts(events: Any) -> list[float]:
    """Call counts of the user ranges and of the step ranges in a ``key_averages()`` list."""
    counts = {e.key: e.count for e in events}
    return [float(counts.get(k, 0)) for k in (*USER_RANGES, "ProfilerStep*")]


def _trace_summary(path: str) -> list[float]:
    """From a Chrome trace file: how many user-range events, and the recorded step numbers."""
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = [e.get("name", "") for e in events if e.get("ph") == "X"]
    steps = sorted(int(n.split("#")[1]) for n in set(names) if n.startswith("ProfilerStep#"))
    return [float(sum(n in USER_RANGES for n in names)), *map(float, steps)]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    from_module = torch.profiler
    profile, record_function = from_module.profile, from_module.record_function
    ProfilerActivity, schedule = from_module.ProfilerActivity, from_module.schedule
    rng = np.random.default_rng(23)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()
    data = [
        (as_tensor(torch, rng.standard_normal((8, 6))), as_tensor(torch, rng.integers(0, 3, 8)))
        for _ in range(4)
    ]

    @record_function("compute_loss")
    def compute_loss(out: Any, target: Any) -> Any:
        return loss_fn(out, target)

    losses: list[float] = []
    traces: list[list[float]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:

        def trace_handler(p: Any) -> None:
            table = p.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)
            path = os.path.join(tmp_dir, f"trace_{p.step_num}.json")
            p.export_chrome_trace(path)
            traces.append(
                [
                    float(p.step_num),
                    float(len(table.splitlines())),  # 10 rows, 3 header and 2 footer lines
                    *_range_counts(p.key_averages()),
                    *_trace_summary(path),
                ]
            )

        with profile(
            activities=[ProfilerActivity.CPU],
            record_shapes=True,
            schedule=schedule(skip_first=1, wait=1, warmup=1, active=2, repeat=2),
            on_trace_ready=trace_handler,
            acc_events=True,
        ) as prof:
            for step in range(10):
                x, y = data[step % len(data)]
                with record_function("forward"):
                    out = model(x)
                loss = compute_loss(out, y)
                with record_function("backward"):
                    optimizer.zero_grad()
                    loss.backward()
                with record_function("optimizer_step"):
                    optimizer.step()
                losses.append(loss.item())
                prof.step()

        overall = prof.key_averages()
        by_shape = prof.key_averages(group_by_input_shape=True)
        forward_rows = [e for e in by_shape if e.key == "forward"]
        forward_events = [e for e in prof.events() if e.name == "forward"]
        summary = [
            float(prof.step_num),
            *_range_counts(overall),
            float(len(forward_rows)),
            float(sum(e.count for e in forward_rows)),
            float(len(forward_events)),
            float(all(e.cpu_time_total >= 0 for e in forward_events)),
        ]

        # the TensorBoard recipe: one cycle written by tensorboard_trace_handler
        log_dir = os.path.join(tmp_dir, "log")
        with profile(
            activities=[ProfilerActivity.CPU],
            schedule=schedule(wait=1, warmup=1, active=2, repeat=1),
            on_trace_ready=from_module.tensorboard_trace_handler(log_dir),
        ) as prof:
            for step in range(5):
                x, y = data[step % len(data)]
                with record_function("forward"):
                    loss = compute_loss(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                prof.step()
        written = sorted(os.listdir(log_dir))
        tensorboard = [
            float(len(written)),
            float(all(f.endswith(".pt.trace.json") for f in written)),
            *_trace_summary(os.path.join(log_dir, written[0])),
        ]
    return [*losses, *(v for t in traces for v in t), *summary, *tensorboard]


def check(values: list[float]) -> None:
    """Two traces were handed over, at the ends of the two active phases (steps 5 and 9)."""
    first = values[15:26]
    assert first[0] == 5.0 and first[1] == 15.0, first
    assert first[2:7] == [2.0, 2.0, 2.0, 2.0, 2.0], first  # active=2 steps of each range
