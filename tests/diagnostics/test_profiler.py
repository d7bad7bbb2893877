"""cr.profiler / cr.autograd.profiler against torch.profiler: what is recorded, how it nests,
the table's layout, the schedule's call pattern, the Chrome trace, and zero cost when off."""

from __future__ import annotations

import inspect
import json
import logging
import threading
import warnings
from collections import Counter

import numpy as np
import pytest
import torch
import torch.autograd.profiler as tap
import torch.profiler as tp
from torch.autograd.profiler_util import _format_memory, _format_time

import chainrule as cr
import chainrule.autograd.profiler as cap
from chainrule.autograd import engine, rules
from chainrule.autograd.function import Function
from chainrule.profiler import (
    ProfilerAction,
    ProfilerActivity,
    profile,
    record_function,
    schedule,
    tensorboard_trace_handler,
)
from chainrule.profiler import profiler as _prof_mod
from chainrule.profiler.events import format_memory, format_time
from chainrule.profiler.hooks import PLAIN_APPLY

EVAL = "autograd::engine::evaluate_function: "


def _models():
    """The same small model (Conv, ReLU, 3 Linear) in chainrule and torch, same weights."""
    crm = cr.nn.Sequential(
        cr.nn.Conv2d(1, 2, 3), cr.nn.ReLU(), cr.nn.Flatten(), cr.nn.Linear(8, 6), cr.nn.ReLU(),
        cr.nn.Linear(6, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2),
    )  # fmt: skip
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8, 6),
        torch.nn.ReLU(), torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2),
    )  # fmt: skip
    x = np.random.default_rng(0).standard_normal((3, 1, 4, 4)).astype(np.float32)
    return crm, cr.tensor(x), tm, torch.tensor(x)


def _run_both(**kw):
    crm, cx, tm, tx = _models()
    with profile(**kw) as cprof:
        with record_function("model_inference"):
            loss = crm(cx).sum()
        loss.backward()
    with tp.profile(**kw) as tprof:
        with tp.record_function("model_inference"):
            tloss = tm(tx).sum()
        tloss.backward()
    return cprof, tprof


@pytest.fixture(scope="module")
def both():
    return _run_both(record_shapes=True, profile_memory=True)


def test_op_names_and_counts(both):
    cprof, tprof = both
    counts = {a.key: a.count for a in cprof.key_averages()}
    assert counts["chainrule::linear"] == 3
    assert counts["chainrule::relu"] == 3
    assert counts["chainrule::conv2d"] == 1
    assert counts["model_inference"] == 1
    # the backward pass: one evaluate_function event per node, named as torch names them
    mine = Counter(e.name for e in cprof.events() if e.name.startswith(EVAL))
    theirs = Counter(e.name for e in tprof.events() if e.name.startswith(EVAL))
    for node in ("AddmmBackward0", "ReluBackward0", "ConvolutionBackward0", "SumBackward0"):
        assert mine[EVAL + node] == theirs[EVAL + node] > 0
    acc = EVAL + "torch::autograd::AccumulateGrad"
    assert mine[acc] == theirs[acc] == 8  # one per parameter


def test_nesting_and_self_times(both):
    cprof, _ = both
    events = cprof.events()
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    for e in events:
        assert e.self_cpu_time_total <= e.cpu_time_total + 1e-9
        assert e.self_cpu_time_total >= -1e-6
        for c in e.cpu_children:
            assert c.cpu_parent is e
            assert e.time_range.start <= c.time_range.start <= c.time_range.end
            assert c.time_range.end <= e.time_range.end
    rng = next(e for e in events if e.name == "model_inference")
    assert rng.is_user_annotation and rng.cpu_parent is None
    assert {c.name for c in rng.cpu_children} >= {"chainrule::linear", "chainrule::conv2d"}
    for e in events:  # the rule's ops sit in the node event, in evaluate_function
        if e.name.startswith(EVAL):
            assert [c.name for c in e.cpu_children] == [e.name[len(EVAL) :]]
    relu_rule = next(e for e in events if e.name == "ReluBackward0")
    assert [c.name for c in relu_rule.cpu_children] == ["chainrule::relu_grad"]
    # a parent's self time excludes its children's
    total = rng.cpu_time_total - sum(c.cpu_time_total for c in rng.cpu_children)
    assert rng.self_cpu_time_total == pytest.approx(total)


def test_composite_ops_nest():
    class Twice(Function):  # a user's Function built of ops: they nest inside it
        @staticmethod
        def forward(ctx, x):
            return x * 2.0 + x

        @staticmethod
        def backward(ctx, g):
            return g * 3.0

    x = cr.ones(3, requires_grad=True)
    with profile() as prof:
        Twice.apply(x).sum().backward()
    names = [e.name for e in prof.events()]
    top = next(e for e in prof.events() if e.name == "Twice")
    assert [c.name for c in top.cpu_children] == ["chainrule::mul", "chainrule::add"]
    assert EVAL + "TwiceBackward" in names and "TwiceBackward" in names
    tx = torch.ones(3, requires_grad=True)

    class TTwice(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0 + x

        @staticmethod
        def backward(ctx, g):
            return g * 3.0

    with tp.profile() as tprof:
        TTwice.apply(tx).sum().backward()
    tnames = [e.name for e in tprof.events()]
    assert "TTwice" in tnames and EVAL + "TTwiceBackward" in tnames


def _layout(table: str, row: int) -> tuple:
    """The column titles and widths of a table's header (``row`` = index of its header)."""
    lines = table.split("\n")
    sep, head = lines[row - 1], lines[row]
    widths = [len(c) for c in sep.split("  ")[:-1]]
    titles = [t for t in head.split("  ") if t.strip()]
    return [t.strip() for t in titles], widths


def test_table_layout_matches_torch(both):
    cprof, tprof = both
    mine = cprof.key_averages().table(sort_by="cpu_time_total", row_limit=5)
    theirs = tprof.key_averages().table(sort_by="cpu_time_total", row_limit=5)
    assert _layout(mine, 1)[0] == _layout(theirs, 1)[0]
    assert _layout(mine, 1)[1][1:] == _layout(theirs, 1)[1][1:]  # all but the name column
    assert mine.split("\n")[-2].startswith("Self CPU time total: ")
    assert len(mine.split("\n")) == len(theirs.split("\n"))  # 5 rows, same frame
    shaped = cprof.key_averages(group_by_input_shape=True).table(header="HDR")
    tshaped = tprof.key_averages(group_by_input_shape=True).table(header="HDR")
    assert shaped.split("\n")[1] == tshaped.split("\n")[1] == "HDR"
    assert _layout(shaped, 3)[0] == _layout(tshaped, 3)[0]
    assert _layout(shaped, 3)[0][-1] == "Input Shapes"
    plain = cr.profiler.profile()
    with plain:
        cr.ones(2) * 2
    assert "CPU Mem" not in plain.key_averages().table()
    # sorted largest first; the top-level report keeps rows without a parent only
    rows = cprof.key_averages()
    by_total = sorted(rows, key=lambda a: a.cpu_time_total, reverse=True)
    names = [ln[:55].strip() for ln in mine.split("\n")[3:8]]
    assert names == [_clip(a.key) for a in by_total[:5]]
    top = cprof.key_averages().table(top_level_events_only=True)
    assert "This report only display top-level ops statistics" in top
    assert "chainrule::linear" not in top and "model_inference" in top
    with pytest.raises(AttributeError):
        rows.table(sort_by="no_such_column")


def _clip(name: str) -> str:
    return name[:52] + "..." if len(name) >= 52 else name


def test_averages_and_formats(both):
    cprof, _ = both
    avg = cprof.key_averages()
    lin = next(a for a in avg if a.key == "chainrule::linear")
    evs = [e for e in cprof.events() if e.name == "chainrule::linear"]
    assert lin.cpu_time_total == pytest.approx(sum(e.cpu_time_total for e in evs))
    assert lin.cpu_time == pytest.approx(lin.cpu_time_total / 3)
    assert lin.input_shapes is None
    grouped = cprof.key_averages(group_by_input_shape=True)
    assert sorted(a.input_shapes for a in grouped if a.key == "chainrule::linear") == [
        [[3, 4], [2, 4], [2]],
        [[3, 6], [4, 6], [4]],
        [[3, 8], [6, 8], [6]],
    ]
    total = cprof.events().total_average()
    assert total.key == "Total" and total.count == len(cprof.events())
    assert total.self_cpu_time_total == pytest.approx(cprof.events().self_cpu_time_total)
    for b in (0, 1023, 2048, -3000, 1_500_000, 3 * 2**30):
        assert format_memory(b) == _format_memory(b)
    for t in (0.5, 999.9, 1500.0, 2.5e6):
        assert format_time(t) == _format_time(t)


def test_profile_memory_counts_new_outputs():
    x = cr.ones(4, 5, dtype=cr.float64)
    with profile(profile_memory=True) as prof:
        with record_function("block"):
            y = x * 2.0  # 160 new bytes
            y.view(20)  # a view: no new memory
    ev = {e.name: e for e in prof.events()}
    assert ev["chainrule::mul"].cpu_memory_usage == 160
    assert ev["block"].cpu_memory_usage == 160
    assert ev["block"].self_cpu_memory_usage == 0
    views = [e for e in prof.events() if e.cpu_parent is ev["block"] and e.name != "chainrule::mul"]
    assert views and all(e.cpu_memory_usage == 0 for e in views)


def test_with_stack_names_the_user_line():
    x = cr.ones(3)
    with profile(with_stack=True) as prof:
        x.exp()  # <- this line
    e = next(e for e in prof.events() if e.name == "chainrule::exp")
    assert e.stack[0].endswith(": test_with_stack_names_the_user_line")
    assert "test_profiler.py(" in e.stack[0]


def _fires(mod, kw: dict, n: int) -> list:
    fired = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mod.profile(
            schedule=mod.schedule(**kw), on_trace_ready=lambda p: fired.append(p.step_num)
        ) as p:
            for i in range(n):
                (cr.ones(2) if mod is cr.profiler else torch.ones(2)) * i
                p.step()
    return fired


@pytest.mark.parametrize(
    "kw, n",
    [
        (dict(wait=1, warmup=1, active=2, repeat=2), 10),
        (dict(wait=1, warmup=1, active=2), 10),
        (dict(wait=1, warmup=1, active=2, repeat=1), 3),
        (dict(wait=0, warmup=0, active=1, repeat=2, skip_first=1), 4),
    ],
)
def test_on_trace_ready_steps_match_torch(kw, n):
    assert _fires(cr.profiler, kw, n) == _fires(tp, kw, n)


def test_schedule_actions_and_errors_match_torch():
    for kw in (
        dict(wait=1, warmup=1, active=2, repeat=2),
        dict(wait=2, warmup=1, active=2, repeat=1, skip_first=2, skip_first_wait=1),
    ):
        assert [schedule(**kw)(i).name for i in range(14)] == [
            tp.schedule(**kw)(i).name for i in range(14)
        ]
    with pytest.warns(UserWarning, match="won't be using warmup"):
        schedule(wait=0, warmup=0, active=1)
    for bad in (dict(wait=-1, warmup=0, active=1), dict(wait=0, warmup=1, active=0)):
        with pytest.raises(AssertionError) as mine:
            schedule(**bad)
        with pytest.raises(AssertionError) as theirs:
            tp.schedule(**bad)
        assert str(mine.value) == str(theirs.value)
    with pytest.raises(TypeError):
        schedule(1, 1, 1)
    assert list(ProfilerAction.__members__) == list(tp.ProfilerAction.__members__)
    assert list(ProfilerActivity.__members__) == list(tp.ProfilerActivity.__members__)


def test_steps_are_ranges_and_cycles_clear(monkeypatch):
    monkeypatch.setattr(_prof_mod, "_warned_clear", [False])
    seen = []
    with pytest.warns(UserWarning, match="clears events at the end of each cycle"):
        with profile(
            schedule=schedule(wait=0, warmup=1, active=1),
            on_trace_ready=lambda p: seen.append([e.trace_name for e in p.events()]),
        ) as prof:
            for _ in range(4):
                cr.ones(2) * 2
                prof.step()
    assert seen == [["ProfilerStep#1", "chainrule::mul"], ["ProfilerStep#3", "chainrule::mul"]]
    # stopped in the third cycle's warmup, which dropped the second cycle's events (as torch)
    assert list(prof.events()) == []


def _final_events(mod, n: int, acc: bool) -> tuple:
    """What a scheduled profile reports: the steps that fired ``on_trace_ready`` with the
    count of a user range then, and that count and the last event name after it stops."""
    fired = []
    x = cr.ones(2) if mod is cr.profiler else torch.ones(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mod.profile(
            schedule=mod.schedule(wait=1, warmup=1, active=2),
            acc_events=acc,
            on_trace_ready=lambda p: fired.append(
                (p.step_num, [e.count for e in p.key_averages() if e.key == "fw"])
            ),
        ) as prof:
            for _ in range(n):
                with mod.record_function("fw"):
                    x * 2
                prof.step()
    final = prof.key_averages()
    return fired, [e.count for e in final if e.key == "fw"], sorted(e.key for e in final)[-1:]


@pytest.mark.parametrize("n", [5, 6, 8, 9])
@pytest.mark.parametrize("acc", [False, True])
def test_cycle_start_clears_the_last_cycle_like_torch(n, acc):
    """Stopped in a new cycle's warmup (n = 5, 9), torch reports nothing without acc_events
    (the new cycle dropped the old events as it started); in its wait (n = 8) the last
    cycle; in its active phase (n = 6) what was recorded since; everything with acc_events."""
    assert _final_events(cr.profiler, n, acc) == _final_events(tp, n, acc)


def _exported_per_cycle(mod, tmp_path) -> list:
    """With acc_events=True: per trace handed over, the user ranges and steps in the file
    written by the handler, and the count of the range in events() then."""
    seen = []
    x = cr.ones(2) if mod is cr.profiler else torch.ones(2)

    def handler(p):
        path = tmp_path / f"{mod.__name__}_{p.step_num}.json"
        p.export_chrome_trace(str(path))
        names = [e["name"] for e in json.loads(path.read_text())["traceEvents"] if "dur" in e]
        keep = sorted(n for n in names if n == "fw" or n.startswith("ProfilerStep#"))
        seen.append((keep, sum(e.name == "fw" for e in p.events())))

    with mod.profile(
        schedule=mod.schedule(wait=1, warmup=1, active=2, repeat=2),
        acc_events=True,
        on_trace_ready=handler,
    ) as prof:
        for _ in range(9):
            with mod.record_function("fw"):
                x * 2
            prof.step()
    return seen


def test_trace_file_holds_one_cycle_with_acc_events_like_torch(tmp_path):
    mine = _exported_per_cycle(cr.profiler, tmp_path)
    assert mine == _exported_per_cycle(tp, tmp_path)
    assert mine[1] == (["ProfilerStep#6", "ProfilerStep#7", "fw", "fw"], 4)


def test_chrome_trace_is_valid(both, tmp_path):
    cprof, _ = both
    path = tmp_path / "trace.json"
    cprof.export_chrome_trace(str(path))
    data = json.loads(path.read_text())
    spans = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert len(spans) == len(cprof.events())
    for e in spans:
        assert isinstance(e["ts"], float) and e["dur"] >= 0 and e["name"]
        assert {"pid", "tid", "cat", "args"} <= set(e)
    assert "chainrule::linear" in {e["name"] for e in spans}
    lin = next(e for e in spans if e["name"] == "chainrule::linear")
    assert lin["cat"] == "cpu_op" and lin["args"]["Input Dims"] == [[3, 8], [6, 8], [6]]


def test_tensorboard_handler_writes_trace(tmp_path):
    with profile(on_trace_ready=tensorboard_trace_handler(str(tmp_path / "tb"), "w0")):
        cr.ones(2) + 1
    with tp.profile(on_trace_ready=tp.tensorboard_trace_handler(str(tmp_path / "tt"), "w0")):
        torch.ones(2) + 1
    (f,) = (tmp_path / "tb").iterdir()
    (g,) = (tmp_path / "tt").iterdir()
    mine, theirs = f.name.split("."), g.name.split(".")
    assert [mine[0], *mine[2:]] == [theirs[0], *theirs[2:]] == ["w0", "pt", "trace", "json"]
    assert mine[1].isdigit() and len(mine[1]) == len(theirs[1])  # time.time_ns()
    assert json.loads(f.read_text())["traceEvents"]


def test_zero_cost_when_off():
    plain_fn = PLAIN_APPLY.__func__
    write_leaf = engine._write_leaf
    assert Function.__dict__["apply"] is PLAIN_APPLY
    with profile():
        assert Function.__dict__["apply"] is not PLAIN_APPLY
        assert engine.call_rule is not rules.call_rule
    assert Function.__dict__["apply"] is PLAIN_APPLY and Function.apply.__func__ is plain_fn
    assert engine.call_rule is rules.call_rule and engine._write_leaf is write_leaf
    with pytest.raises(ValueError), profile():  # restored after an exception too
        raise ValueError("boom")
    assert Function.__dict__["apply"] is PLAIN_APPLY


def test_profiler_and_flop_counter_nest_either_way():
    """Each tool wraps what is installed when it starts and puts it back when it stops, so
    both record inside each other and the plain objects are back after both."""
    from chainrule.utils.flop_counter import FlopCounterMode

    lin = cr.nn.Linear(4, 3)
    x = cr.randn(2, 4)
    for profiler_outside in (True, False):
        with profile() if profiler_outside else FlopCounterMode(display=False) as outer:
            with FlopCounterMode(display=False) if profiler_outside else profile() as inner:
                lin(x).sum()
        prof, counter = (outer, inner) if profiler_outside else (inner, outer)
        assert counter.get_total_flops() == 2 * 2 * 4 * 3
        assert "chainrule::linear" in {e.name for e in prof.events()}
        assert Function.__dict__["apply"] is PLAIN_APPLY
        assert engine.call_rule is rules.call_rule


def _thread_events(mod, ones):
    def work():
        with mod.record_function("in_thread"):
            ones(3) * 2

    with mod.profile() as prof:
        t = threading.Thread(target=work)
        t.start()
        t.join()
        ones(2) + 1
    return {e.name for e in prof.events()}


def test_other_threads_not_recorded():
    mine = _thread_events(cr.profiler, cr.ones)
    theirs = _thread_events(tp, torch.ones)
    assert "in_thread" not in mine and "in_thread" not in theirs
    assert "chainrule::mul" not in mine and "aten::mul" not in theirs
    assert "chainrule::add" in mine and "aten::add" in theirs


def test_nested_profiler_takes_over_like_torch(caplog):
    def nest(mod, ones):
        with mod.profile() as outer:
            ones(2) + 1
            with mod.profile() as inner:
                ones(2) * 3
        return outer.events(), inner.events()

    with caplog.at_level(logging.WARNING):
        outer, inner = nest(cr.profiler, cr.ones)
    touter, tinner = nest(tp, torch.ones)
    assert len(outer) == len(touter) == 0
    assert [e.name for e in inner] == ["chainrule::mul"] and "aten::mul" in {e.name for e in tinner}
    assert "took the recording over" in caplog.text


def test_device_activities_like_torch(monkeypatch):
    for mod in (cr.profiler, tp):
        with pytest.warns(UserWarning, match="CUDA is not available, disabling CUDA profiling"):
            with pytest.raises(AssertionError, match="No activities specified"):
                mod.profile(activities=[mod.ProfilerActivity.CUDA]).start()
        with pytest.raises(AssertionError, match="No valid profiler activities found"):
            mod.profile(activities=[]).start()
        with pytest.warns(UserWarning, match="CUDA is not available"):
            with mod.profile(
                activities=[mod.ProfilerActivity.CPU, mod.ProfilerActivity.CUDA]
            ) as prof:
                (cr.ones(2) if mod is cr.profiler else torch.ones(2)) + 1
        assert len(prof.events()) > 0
    assert cr.profiler.supported_activities() == {ProfilerActivity.CPU}
    monkeypatch.setattr(_prof_mod, "cupy_available", lambda: True)  # a CuPy GPU: no kernels
    with pytest.warns(UserWarning, match="CUDA kernels are not profiled"):
        profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    with pytest.raises(NotImplementedError, match="with_flops"):
        profile(with_flops=True)


def test_with_modules_changes_nothing_in_eager_mode_as_torch():
    for mod, lib in ((tp, torch), (cr.profiler, cr)):
        layer = lib.nn.Linear(4, 3)
        x = lib.ones(2, 4)
        names = []
        for flag in (False, True):
            with mod.profile(with_modules=flag) as prof:
                layer(x)
            names.append(sorted({e.name for e in prof.events()}))
        assert names[0] == names[1] and names[0]


def test_record_function_decorator_and_labels():
    @record_function("my_step")
    def step(x):
        return x * 2

    assert step(cr.ones(2)).tolist() == [2.0, 2.0]  # no profiler: plain call
    with profile() as prof:
        step(cr.ones(2))
        with record_function("## forward ##", "note") as rf:
            cr.ones(2).exp()
    assert rf.name == "## forward ##" and rf.args == "note"
    ev = {e.name: e for e in prof.events()}
    assert [c.name for c in ev["my_step"].cpu_children] == ["chainrule::mul"]
    assert [c.name for c in ev["## forward ##"].cpu_children] == ["chainrule::exp"]
    assert ev["my_step"].is_user_annotation and not ev["chainrule::mul"].is_user_annotation


def test_export_stacks(tmp_path):
    with profile() as prof:
        cr.ones(2) * 2
    for mod_prof in (prof,):
        with pytest.raises(AssertionError, match="requires with_stack=True"):
            mod_prof.export_stacks(str(tmp_path / "s.txt"))
    with profile(with_stack=True) as prof:
        cr.ones(200, 200) @ cr.ones(200, 200)
    prof.export_stacks(str(tmp_path / "s.txt"))
    lines = (tmp_path / "s.txt").read_text().splitlines()
    assert lines and all(
        "test_profiler.py(" in ln and ln.rsplit(" ", 1)[1].isdigit() for ln in lines
    )
    with pytest.raises(ValueError, match="metric should be one of"):
        prof.export_stacks(str(tmp_path / "s.txt"), "bogus")


def test_legacy_autograd_profiler():
    x = cr.ones(2, 3, requires_grad=True)
    with cap.profile(record_shapes=True) as prof:
        with cap.record_function("outer"):
            (x * 2).sum().backward()
    assert isinstance(prof.function_events, cap.EventList)
    table = prof.table()
    tx = torch.ones(2, 3, requires_grad=True)
    with tap.profile(record_shapes=True) as tprof:
        with tap.record_function("outer"):
            (tx * 2).sum().backward()
    assert _layout(table, 1)[0] == _layout(tprof.table(), 1)[0]  # per-event rows, shapes
    assert table.count("chainrule::mul") == tprof.table().count("aten::mul") == 2  # fwd + bwd
    assert str(prof) == table
    assert {a.key for a in prof.key_averages()} >= {
        "outer",
        "chainrule::mul",
        EVAL + "MulBackward0",
    }
    with cap.profile(enabled=False) as off:
        pass
    assert off is None
    assert cap.profile().table() == tap.profile().table() == ""  # not run yet: no events
    assert len(cap.profile().key_averages()) == len(tap.profile().key_averages()) == 0
    with pytest.warns(FutureWarning, match="use_cuda"):
        with pytest.warns(UserWarning, match="CUDA is not available"):
            cap.profile(use_cuda=True)


def _params(fn) -> list:
    return [(p.name, p.default, p.kind) for p in inspect.signature(fn).parameters.values()]


def test_signatures_match_torch():
    pairs = [
        (profile.__init__, tp.profile.__init__),
        (schedule, tp.schedule),
        (tensorboard_trace_handler, tp.tensorboard_trace_handler),
        (record_function.__init__, tp.record_function.__init__),
        (profile.key_averages, tp.profile.key_averages),
        (profile.export_stacks, tp.profile.export_stacks),
        (cap.profile.__init__, tap.profile.__init__),
        (cap.profile.table, tap.profile.table),
        (cap.EventList.table, tap.EventList.table),
        (cap.EventList.key_averages, tap.EventList.key_averages),
    ]
    for mine, theirs in pairs:
        assert _params(mine) == _params(theirs), mine.__qualname__


def test_range_closed_after_stop_and_metadata(tmp_path):
    prof = profile()
    prof.start()
    rf = record_function("late").__enter__()
    cr.ones(2) * 2
    prof.stop()
    rf.__exit__(None, None, None)  # the range outlived its profiler: already ended at stop
    late = next(e for e in prof.events() if e.name == "late")
    assert late.time_range.end >= late.cpu_children[0].time_range.end
    prof.add_metadata("run", "r1")
    prof.add_metadata_json("cfg", '{"lr": 0.1}')
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["run"] == "r1" and data["cfg"] == {"lr": 0.1}
