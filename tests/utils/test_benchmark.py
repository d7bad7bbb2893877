"""cr.utils.benchmark against torch.utils.benchmark: signatures, Measurement statistics and
printed form, Compare's tables, Timer on a deterministic clock, thread count handling."""

from __future__ import annotations

import inspect
import itertools
import random

import pytest
import torch.utils.benchmark as tb

import chainrule as cr
import chainrule.utils.benchmark as cb

NAMES = ["Timer", "Measurement", "Compare", "TaskSpec", "select_unit", "ordered_unique",
         "trim_sigfig", "unit_to_english"]  # fmt: skip
METHODS = {
    "Timer": ["timeit", "repeat", "autorange", "blocked_autorange", "adaptive_autorange",
              "collect_callgrind"],
    "Measurement": ["meets_confidence", "merge"],
    "Compare": ["trim_significant_figures", "colorize", "extend_results",
                "highlight_warnings", "print"],
    "TaskSpec": ["summarize", "setup_str"],
}  # fmt: skip


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_torch(name):
    ours, theirs = getattr(cb, name), getattr(tb, name)
    if name == "Timer":  # the default clock and the Language enum are each library's own
        strip = {"timer", "language"}
        a = [p for p in _params(ours) if p[0] not in strip]
        b = [p for p in _params(theirs) if p[0] not in strip]
        assert a == b
        assert inspect.signature(ours).parameters["language"].default is cb.Language.PYTHON
    else:
        assert _params(ours) == _params(theirs)
    for meth in METHODS.get(name, []):
        assert _params(getattr(ours, meth)) == _params(getattr(theirs, meth)), meth
    props = [n for n in dir(theirs) if not n.startswith("_")]
    assert set(props) <= set(dir(ours))
    assert [e.name for e in cb.Language] == [e.name for e in tb.Language]
    assert [e.value for e in cb.Colorize] == [e.value for e in tb.Colorize]


def _repr(m):
    return "\n".join(repr(m).splitlines()[1:])  # without the "<... object at 0x...>" line


SPECS = [
    dict(stmt="f(x)", setup="x=1", label="Lab", sub_label="s1", description="d1", num_threads=4),
    dict(stmt="f(x)\ng(x)", setup="x=1\ny=2"),
    dict(stmt="f(x)", setup="pass", sub_label="S"),
    dict(stmt="pass", setup="pass", label="L", env="E"),
]  # fmt: skip
RAWS = [[1.0e-3], [1e-3, 1.01e-3, 1.02e-3], [1.0e-3, 1.1e-3, 1.3e-3, 0.9e-3, 2.5e-3, 1.05e-3],
        [5.0, 5.5, 7.0, 4.9], [3e-8, 2e-8], [1e-3] * 3 + [9e-3]]  # fmt: skip


@pytest.mark.parametrize("spec", SPECS)
def test_measurement_matches_torch(spec):
    for raw, number in zip(RAWS, [1, 3, 10, 1, 1, 2]):
        ours = cb.Measurement(number, raw, cb.TaskSpec(**spec), metadata={"a": 1})
        theirs = tb.Measurement(number, raw, tb.TaskSpec(**spec), metadata={"a": 1})
        assert _repr(ours) == _repr(theirs)
        for attr in ("times", "mean", "median", "iqr", "significant_figures", "has_warnings",
                     "title", "env", "as_row_name", "number_per_run", "metadata"):  # fmt: skip
            assert getattr(ours, attr) == pytest.approx(getattr(theirs, attr)), attr
        assert ours.meets_confidence() == theirs.meets_confidence()
        assert ours.meets_confidence(2.0) == theirs.meets_confidence(2.0)
    assert cb.TaskSpec(**spec).summarize() == tb.TaskSpec(**spec).summarize()
    assert cb.TaskSpec(**spec).setup_str() == tb.TaskSpec(**spec).setup_str()
    assert repr(cb.Measurement(1, [1e-3], cb.TaskSpec(**spec))).startswith(
        "<chainrule.utils.benchmark.common.Measurement object at 0x"
    )


def test_significant_figures_match_torch():
    rng = random.Random(0)
    for n, spread in itertools.product([1, 2, 4, 5, 9, 20, 33], [0.0, 0.001, 0.01, 0.05, 0.3]):
        raw = [1e-4 * (1 + rng.random() * spread) for _ in range(n)]
        spec = dict(stmt="f", setup="pass")
        ours = cb.Measurement(1, raw, cb.TaskSpec(**spec))
        theirs = tb.Measurement(1, raw, tb.TaskSpec(**spec))
        assert ours.significant_figures == theirs.significant_figures, (n, spread)
        assert ours.has_warnings == theirs.has_warnings


def test_merge_matches_torch():
    def build(lib):
        a, b = lib.TaskSpec("a", "pass"), lib.TaskSpec("b", "pass")
        ms = [lib.Measurement(2, [1.0], a, {"x": 1}), lib.Measurement(4, [2.0], a),
              lib.Measurement(4, [2.0], b)]  # fmt: skip
        return [(m.number_per_run, m.raw_times, m.metadata, m.stmt)
                for m in lib.Measurement.merge(ms)]  # fmt: skip

    assert build(cb) == build(tb)


@pytest.mark.parametrize("t", [5e-10, 3e-9, 3e-6, 1e-3, 0.5, 5.0, 120.0])
def test_unit_helpers_match_torch(t):
    assert cb.select_unit(t) == tb.select_unit(t)
    unit = tb.select_unit(t)[0]
    assert cb.unit_to_english(unit) == tb.unit_to_english(unit)
    for n in (1, 2, 3, 4):
        assert cb.trim_sigfig(t * 1.2346, n) == tb.trim_sigfig(t * 1.2346, n)
    assert cb.ordered_unique([3, 1, 3, 2, 1]) == tb.ordered_unique([3, 1, 3, 2, 1])


def _add_table(lib, spread3=1.4):
    ms = []
    cases = itertools.product(["[1, 16]", "[64, 256]"], ["torch", "numpy"], [1, 4])
    for i, (sub, desc, nt) in enumerate(cases):
        base = (i + 1) * 1.7e-5 * (10 if sub == "[64, 256]" else 1)
        raw = [base * 100, base * 101, base * 99, base * 100.5, base * 100 * spread3]
        spec = lib.TaskSpec("f(x)", "pass", label="Add", sub_label=sub, description=desc,
                            num_threads=nt)  # fmt: skip
        ms.append(lib.Measurement(100, raw, spec))
    return ms


def _small(lib, **kw):
    def m(v, spread=0.0, **spec):
        spec.setdefault("description", "d")
        raw = [v * (1 + spread * i) for i in range(5)]
        return lib.Measurement(1, raw, lib.TaskSpec(spec.pop("stmt", "f(x)"), "pass", **spec))

    return [m(1e-3, label="L", sub_label="a", env="E1"),
            m(2e-3, label="L", sub_label="a", env="E2"),
            m(3e-3, label="L", sub_label="bb", env="E2"), m(1e-3), m(2e-3, stmt="g(y)"),
            m(1e-3, label="Lab", sub_label="a", description="x", spread=0.2),
            m(2e-3, label="Lab", sub_label="b", description="x"),
            m(1e-3, label="Labe", sub_label="abcdefgh", description="dd"),
            m(1e-3, label="Labe", sub_label="abcdefgh", description="ee", num_threads=2),
            m(1e-3, label="C", sub_label="a", description="x"),
            m(2e-3, label="C", sub_label="a", description="y"),
            m(1.05e-3, label="C", sub_label="b", description="x"),
            m(5e-3, label="C", sub_label="b", description="y")]  # fmt: skip


@pytest.mark.parametrize("build", [_add_table, _small])
@pytest.mark.parametrize("options", ["", "trim", "col", "row", "warn", "trim+warn+col"])
def test_compare_table_matches_torch(build, options):
    tables = []
    for lib in (tb, cb):
        c = lib.Compare(build(lib)[:-4] if build is _small and "row" in options else build(lib))
        if "trim" in options:
            c.trim_significant_figures()
        if "col" in options:
            c.colorize()
        if "row" in options:
            c.colorize(rowwise=True)
        if "warn" in options:
            c.highlight_warnings()
        tables.append(str(c))
    assert tables[1] == tables[0]


def test_compare_print_and_extend(capsys):
    c = cb.Compare(_add_table(cb)[:2])
    c.extend_results(_add_table(cb)[2:])
    c.print()
    t = tb.Compare(_add_table(tb))
    assert capsys.readouterr().out == str(t) + "\n"
    with pytest.raises(ValueError, match="Measurement"):
        c.extend_results([1.0])


class _Clock:
    """A deterministic clock: the statement advances it (``clock.t += step``)."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _timer(clock, **kw):
    return cb.Timer("clock.t += 1e-4; log.append(1)", timer=clock,
                    globals={"clock": clock, "log": kw.pop("log", [])}, **kw)  # fmt: skip


def test_timeit_on_fake_clock():
    clock, log = _Clock(), []
    m = _timer(clock, log=log, label="lbl", sub_label="sub", description="desc").timeit(10)
    assert len(log) == 12  # 2 warm-up runs, then 10 timed
    assert m.number_per_run == 10 and m.raw_times == pytest.approx([1e-3])
    assert m.median == pytest.approx(1e-4) and m.iqr == 0.0
    assert _repr(m) == "lbl: sub\ndesc\n  100.00 us\n  1 measurement, 10 runs , 1 thread"


def test_blocked_and_adaptive_autorange_on_fake_clock():
    clock, calls = _Clock(), []
    m = _timer(clock).blocked_autorange(callback=lambda n, t: calls.append((n, t)))
    # block size: powers of ten until a block takes min_run_time / 1000 (1e-3 s >= 2e-4 s)
    assert m.number_per_run == 10
    assert sum(m.raw_times) >= 0.2 and sum(m.raw_times[:-1]) < 0.2
    assert len(calls) == len(m.raw_times) and calls[0] == (10, pytest.approx(1e-3))
    assert m.median == pytest.approx(1e-4) and not m.has_warnings
    m = _timer(clock).blocked_autorange(min_run_time=0.05)
    assert m.number_per_run == 1 and sum(m.raw_times) == pytest.approx(0.05, abs=2e-4)
    m = _timer(clock).adaptive_autorange()
    assert m.number_per_run == 1 and 0.01 <= sum(m.raw_times) < 0.0102
    assert m.meets_confidence(0.1)


def test_timer_real_clock_and_threads():
    before = cr.get_num_threads()
    seen = []
    t = cb.Timer("seen.append(cr.get_num_threads())", globals={"seen": seen, "cr": cr},
                 num_threads=1)  # fmt: skip
    m = t.blocked_autorange(min_run_time=0.01)
    assert set(seen) == {1} and cr.get_num_threads() == before
    assert m.median > 0 and m.task_spec.num_threads == 1
    stmt = cb.Timer("\n    x = 1\n    y = 2", setup="  z = 3").timeit(5)
    assert _repr(stmt).startswith("stmt:\n  x = 1\n  y = 2\n\nsetup: z = 3\n")


def test_unsupported_raise():
    with pytest.raises(NotImplementedError, match="blocked_autorange"):
        cb.Timer().repeat()
    with pytest.raises(NotImplementedError, match="blocked_autorange"):
        cb.Timer().autorange()
    with pytest.raises(NotImplementedError, match="collect_callgrind"):
        cb.Timer().collect_callgrind()
    for lang in (cb.Language.CPP, "cpp", "c++"):
        with pytest.raises(NotImplementedError, match="CPP"):
            cb.Timer(language=lang)
    with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
        cb.Timer(global_setup="x = 1")
