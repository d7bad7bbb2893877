"""PyTorch's user-facing warnings, side by side with torch: category, text, the line they
point at, and whether they repeat.

Five warnings: softmax/log_softmax/softmin without ``dim``; ``torch.tensor(t)`` and
``x.new_tensor(t)`` of a tensor; a scheduler's ``step()`` before the optimizer's; ``x.T``
on a tensor that is not 2-d (and ``x.mT`` on a 0-d one); an optimizer group that lists a
parameter twice. The texts are torch's, with ``torch.`` spelled ``cr.``; the C++ location
torch appends (``(Triggered internally at ...)``) is left out.

Where torch reports its own file (``nn.Softmax`` through ``Module.__call__``, the schedulers
``SequentialLR``/``ChainedScheduler`` run, the duplicate-parameter warning), chainrule reports
the user's line, which is what the warning is about.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import _user_warnings

torch = pytest.importorskip("torch")

HERE = os.path.abspath(__file__)


def _record(fn: Callable[[], Any], action: str = "always") -> tuple[Any, list[tuple]]:
    """``fn()``'s result and its warnings as (category, text, file) under filter ``action``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(action)
        out = fn()
    return out, [
        (w.category, str(w.message).split(" (Triggered internally")[0], w.filename) for w in caught
    ]


def _as_cr(text: str) -> str:
    """torch's text as chainrule spells it: ``torch.`` becomes ``cr.`` (not in pytorch.org)."""
    return re.sub(r"(?<![\w.])torch\.", "cr.", text)


def _same_warnings(got: list[tuple], want: list[tuple], torch_at_caller: bool = True) -> None:
    """Same categories and texts; chainrule's point at this file, and so do torch's when
    ``torch_at_caller``."""
    # torch's words: chainrule's either spell its names as cr. or keep torch.'s text
    # exactly (so that a filter on torch's message matches: test_warnings_session32.py)
    assert [(c, _as_cr(m)) for c, m, _ in want] == [(c, _as_cr(m)) for c, m, _ in got]
    assert all(f == HERE for _, _, f in got), got
    if torch_at_caller:
        assert all(f == HERE for _, _, f in want), want


# ------------------------------------------------------------------ softmax without dim
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_softmax_without_dim_warns_and_picks_torchs_dim(name: str, ndim: int) -> None:
    data = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim])
    want, t_warn = _record(lambda: getattr(torch.nn.functional, name)(torch.tensor(data)))
    got, c_warn = _record(lambda: getattr(cr.nn.functional, name)(cr.tensor(data)))
    _same_warnings(c_warn, t_warn)
    assert len(c_warn) == 1 and f"choice for {name} has" in c_warn[0][1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "Softmin"])
def test_softmax_modules_without_dim_warn_at_the_call(name: str) -> None:
    data = np.random.default_rng(0).standard_normal((2, 3))
    want, t_warn = _record(lambda: getattr(torch.nn, name)()(torch.tensor(data)))
    got, c_warn = _record(lambda: getattr(cr.nn, name)()(cr.tensor(data)))
    _same_warnings(c_warn, t_warn, torch_at_caller=False)  # torch names its module.py
    assert len(c_warn) == 1
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_softmax_with_dim_does_not_warn() -> None:
    x = cr.randn(2, 3)
    for fn in (
        lambda: cr.nn.functional.softmax(x, 0),
        lambda: cr.nn.functional.log_softmax(x, dim=1),
        lambda: cr.nn.functional.softmin(x, -1),
        lambda: cr.nn.Softmax(dim=1)(x),
        lambda: cr.nn.Softmax2d()(cr.randn(2, 3, 4, 4)),
    ):
        assert _record(fn)[1] == []


def test_softmax_warning_repeats_only_under_always() -> None:
    def three(lib: ModuleType) -> Callable[[], None]:
        x = lib.ones(2, 3)
        return lambda: [lib.nn.functional.softmax(x) for _ in range(3)]

    for action, count in (("default", 1), ("always", 3)):
        assert len(_record(three(torch), action)[1]) == count
        assert len(_record(three(cr), action)[1]) == count


# -------------------------------------------------------------- tensor(t) of a tensor
def _copy_cases(lib: ModuleType) -> list[Callable[[], Any]]:
    t = lib.arange(3.0)
    return [
        lambda: lib.tensor(t),
        lambda: lib.tensor(lib.nn.Parameter(t)),
        lambda: lib.tensor(lib.tensor(1.0)),
        lambda: lib.tensor(t, dtype=lib.float64),
        lambda: t.new_tensor(t),
    ]


@pytest.mark.parametrize("case", range(5))
def test_copy_constructing_from_a_tensor_warns(case: int) -> None:
    want, t_warn = _record(_copy_cases(torch)[case])
    got, c_warn = _record(_copy_cases(cr)[case])
    _same_warnings(c_warn, t_warn)
    assert len(c_warn) == 1
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.dtype == getattr(cr, str(want.dtype).removeprefix("torch."))


def test_tensor_from_data_or_as_tensor_does_not_warn() -> None:
    for lib in (torch, cr):
        t = lib.arange(3.0)
        assert _record(lambda lib=lib: lib.tensor([1.0, 2.0]))[1] == []
        assert _record(lambda lib=lib, t=t: lib.as_tensor(t))[1] == []


def test_copy_construct_warning_repeats_only_under_always() -> None:
    for lib in (torch, cr):

        def three(lib: ModuleType = lib) -> list:
            t = lib.ones(2)
            return [lib.tensor(t) for _ in range(3)]

        assert len(_record(three, "default")[1]) == 1
        assert len(_record(three, "always")[1]) == 3


# ------------------------------------------------------- scheduler before the optimizer
def _scheduled(lib: ModuleType, make: str = "step") -> tuple[Any, Any, Any]:
    p = lib.nn.Parameter(lib.ones(2))
    p.grad = lib.ones(2)
    opt = lib.optim.SGD([p], lr=0.1)
    sched = lib.optim.lr_scheduler
    if make == "step":
        s = sched.StepLR(opt, 1, gamma=0.5)
    elif make == "onecycle":
        s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    elif make == "cyclic":
        s = sched.CyclicLR(opt, 0.01, 0.1)
    elif make == "warm_restarts":
        s = sched.CosineAnnealingWarmRestarts(opt, 2)
    elif make == "sequential":
        s = sched.SequentialLR(opt, [sched.StepLR(opt, 1), sched.ExponentialLR(opt, 0.9)], [2])
    else:
        s = sched.ChainedScheduler([sched.StepLR(opt, 1), sched.ExponentialLR(opt, 0.9)])
    return p, opt, s


def _sched_first(lib: ModuleType, make: str = "step") -> None:
    _, opt, s = _scheduled(lib, make)
    s.step()
    s.step()
    opt.step()
    s.step()


def _opt_first(lib: ModuleType) -> None:
    _, opt, s = _scheduled(lib)
    for _ in range(2):
        opt.step()
        s.step()


def _opt_stepped_before_the_scheduler_existed(lib: ModuleType) -> None:
    p = lib.nn.Parameter(lib.ones(2))
    p.grad = lib.ones(2)
    opt = lib.optim.SGD([p], lr=0.1)
    opt.step()  # not seen: torch starts watching when the first scheduler is made
    lib.optim.lr_scheduler.StepLR(opt, 1).step()


def _second_scheduler_after_a_step(lib: ModuleType) -> None:
    _, opt, s = _scheduled(lib)
    opt.step()
    s.step()
    lib.optim.lr_scheduler.ExponentialLR(opt, 0.9).step()  # the optimizer has stepped


def _two_schedulers_first(lib: ModuleType) -> None:
    _, opt, s = _scheduled(lib)
    s2 = lib.optim.lr_scheduler.ExponentialLR(opt, 0.9)
    s.step()
    s2.step()


def _step_replaced_after_the_scheduler(lib: ModuleType) -> None:
    _, opt, s = _scheduled(lib)
    opt.step = lambda *args, **kwargs: None
    opt.step()
    s.step()


def _subclass_step(lib: ModuleType, scheduler_first: bool) -> None:
    class Mine(lib.optim.SGD):
        def step(self, closure: Any = None) -> Any:
            return None  # never calls SGD.step: calling this one still counts

    p = lib.nn.Parameter(lib.ones(2))
    opt = Mine([p], lr=0.1)
    s = lib.optim.lr_scheduler.StepLR(opt, 1)
    if scheduler_first:
        s.step()
    opt.step()
    s.step()


def _plateau_first(lib: ModuleType) -> None:
    p = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([p], lr=0.1)
    s = lib.optim.lr_scheduler.ReduceLROnPlateau(opt)
    s.step(1.0)
    opt.step()


ORDERS: dict[str, tuple[Callable[[ModuleType], None], bool]] = {
    # name: (scenario, torch reports the user's line)
    "scheduler_first": (_sched_first, True),
    "onecycle_first": (lambda lib: _sched_first(lib, "onecycle"), True),
    "cyclic_first": (lambda lib: _sched_first(lib, "cyclic"), True),
    "warm_restarts_first": (lambda lib: _sched_first(lib, "warm_restarts"), True),
    "sequential_first": (lambda lib: _sched_first(lib, "sequential"), False),
    "chained_first": (lambda lib: _sched_first(lib, "chained"), False),
    "plateau_first": (_plateau_first, True),
    "optimizer_first": (_opt_first, True),
    "optimizer_stepped_before_scheduler": (_opt_stepped_before_the_scheduler_existed, True),
    "second_scheduler_after_a_step": (_second_scheduler_after_a_step, True),
    "two_schedulers_first": (_two_schedulers_first, True),
    "step_replaced": (_step_replaced_after_the_scheduler, True),
    "subclass_step_first": (lambda lib: _subclass_step(lib, False), True),
    "subclass_scheduler_first": (lambda lib: _subclass_step(lib, True), True),
}


@pytest.mark.parametrize("name", list(ORDERS))
def test_scheduler_step_order_warnings_match_torch(name: str) -> None:
    scenario, torch_at_caller = ORDERS[name]
    _, t_warn = _record(lambda: scenario(torch))
    _, c_warn = _record(lambda: scenario(cr))
    _same_warnings(c_warn, t_warn, torch_at_caller)


def test_scheduler_step_order_warning_cases_are_not_vacuous() -> None:
    counts = {name: len(_record(lambda s=s: s(torch))[1]) for name, (s, _) in ORDERS.items()}
    assert counts["scheduler_first"] == 1 and counts["chained_first"] == 2
    assert counts["optimizer_first"] == 0 and counts["plateau_first"] == 0
    _, caught = _record(lambda: _step_replaced_after_the_scheduler(cr))
    assert caught[0][1].startswith("Seems like `optimizer.step()` has been overridden")


def test_scheduler_warning_repeats_only_under_always() -> None:
    for lib in (torch, cr):

        def three(lib: ModuleType = lib) -> None:
            for _ in range(3):
                _scheduled(lib)[2].step()

        assert len(_record(three, "default")[1]) == 1
        assert len(_record(three, "always")[1]) == 3


# ------------------------------------------------------------------ x.T when not 2-d
_TRANSPOSES = """
import warnings
import {lib} as lib
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    lib.ones(3).T
    lib.ones(3).T
    lib.ones(2, 2, 2).T
    lib.ones(2, 2).T
    s = lib.tensor(1.0)
    assert s.T.shape == () and s.mT is s
    s.T
    s.mT
for w in caught:
    print(w.category.__name__, w.lineno, str(w.message).split(" (Triggered internally")[0])
"""


def _run_transposes(lib: str) -> list[str]:
    """The warnings of ``_TRANSPOSES`` run in a fresh process (they are once per process)."""
    src = str(Path(cr.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_TRANSPOSES.format(lib=lib))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return out.stdout.splitlines()


def test_transpose_warnings_are_torchs_once_per_process_even_under_always() -> None:
    want = _run_transposes("torch")
    got = _run_transposes("chainrule")
    assert got == [_as_cr(line) for line in want]
    assert [line.split()[:2] for line in got] == [
        ["UserWarning", "7"],  # 1-d: one warning for every ndim but 2, not repeated at 9
        ["UserWarning", "12"],  # 0-d: its own text, once
        ["UserWarning", "12"],  # 0-d mT: the identity, once
    ]


def test_transpose_warnings_point_at_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_user_warnings, "_issued", set())  # as in a fresh process
    got, caught = _record(lambda: cr.ones(2, 3, 4).T)
    assert got.shape == (4, 3, 2)
    assert [(c, f) for c, _, f in caught] == [(UserWarning, HERE)]
    assert "`x.permute(*cr.arange(x.ndim - 1, -1, -1))`" in caught[0][1]
    assert _record(lambda: cr.ones(2, 3).T)[1] == []


# -------------------------------------------------- a parameter twice in one group
DUPLICATE_TEXT = "optimizer contains a parameter group with duplicate parameters"


def _duplicated(lib: ModuleType, name: str, **options: Any) -> tuple[Any, list[tuple]]:
    """Three steps of ``name`` over [p, p, q]: p's values and the state dict."""
    p = lib.nn.Parameter(lib.tensor([1.0, -2.0], dtype=lib.float64))
    q = lib.nn.Parameter(lib.tensor([0.5], dtype=lib.float64))
    opt, caught = _record(lambda: getattr(lib.optim, name)([p, p, q], **options))
    for i in range(3):
        p.grad = lib.tensor([1.0, 0.5], dtype=lib.float64) * (i + 1)
        q.grad = lib.tensor([0.3], dtype=lib.float64)
        opt.step()
    return (p.detach().numpy().copy(), opt.state_dict()), caught


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("SGD", {"lr": 0.1}),
        ("SGD", {"lr": 0.1, "momentum": 0.9}),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        ("Adam", {"lr": 0.1}),
        ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
        ("Adagrad", {"lr": 0.1}),
    ],
)
def test_duplicate_parameters_warn_and_step_as_torch(name: str, options: dict) -> None:
    (t_p, t_sd), t_warn = _duplicated(torch, name, **options)
    (c_p, c_sd), c_warn = _duplicated(cr, name, **options)
    _same_warnings(c_warn, t_warn, torch_at_caller=False)  # torch names its _compile.py
    assert len(c_warn) == 1 and c_warn[0][1].startswith(DUPLICATE_TEXT)
    np.testing.assert_allclose(c_p, t_p, rtol=1e-12)  # every copy is updated in turn
    assert c_sd["param_groups"][0]["params"] == t_sd["param_groups"][0]["params"] == [1, 1, 2]
    assert c_sd["state"].keys() == t_sd["state"].keys()
    for key, state in t_sd["state"].items():
        assert c_sd["state"][key].keys() == state.keys()
        for k, v in state.items():
            got = c_sd["state"][key][k]
            np.testing.assert_allclose(np.asarray(got), np.asarray(v), rtol=1e-12, err_msg=k)


def test_duplicate_parameters_in_add_param_group_and_across_groups() -> None:
    for lib in (torch, cr):
        p, q = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(1))
        opt = lib.optim.SGD([p], lr=0.1)
        _, caught = _record(lambda: opt.add_param_group({"params": [q, q]}))  # noqa: B023
        assert [m for _, m, _ in caught] == [caught[0][1]] and DUPLICATE_TEXT in caught[0][1]
        assert len(opt.param_groups[1]["params"]) == 2
        with pytest.raises(ValueError, match="more than one parameter group"):
            opt.add_param_group({"params": [p]})


def test_duplicate_parameter_state_dict_loads_back() -> None:
    (_, sd), _ = _duplicated(cr, "SGD", lr=0.1, momentum=0.9)
    p = cr.nn.Parameter(cr.tensor([1.0, -2.0], dtype=cr.float64))
    q = cr.nn.Parameter(cr.tensor([0.5], dtype=cr.float64))
    with pytest.warns(UserWarning, match=DUPLICATE_TEXT):
        opt = cr.optim.SGD([p, p, q], lr=0.1, momentum=0.9)
    opt.load_state_dict(sd)
    np.testing.assert_array_equal(
        opt.state[p]["momentum_buffer"], sd["state"][1]["momentum_buffer"]
    )
    assert opt.state_dict()["param_groups"][0]["params"] == [1, 1, 2]
