"""Grad mode, anomaly mode and forward-mode state are per thread, with PyTorch's semantics.

Each test forces the interleaving it needs with ``threading.Barrier`` / ``Event``, so a
process-wide flag would fail it deterministically rather than by chance.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

TIMEOUT = 30


def _run_threads(*targets):
    """Run each target in its own thread; re-raise the first exception in the main thread."""
    errors: list = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - re-raised below
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "thread did not finish (deadlock?)"
    if errors:
        raise errors[0]


def _train(seed: int, steps: int, barrier: threading.Barrier | None = None) -> list:
    """A small tanh MLP trained with SGD on fixed data; returns the final weights."""
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((16, 4)))
    y = cr.tensor(rng.standard_normal((16, 1)))
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    with cr.no_grad():
        for p in model.parameters():
            p.copy_(cr.tensor(rng.standard_normal(p.shape) * 0.5))
    opt = cr.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        if barrier is not None:
            barrier.wait(TIMEOUT)  # lockstep: the other thread is mid-step too
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        with cr.no_grad():  # a no_grad block in every step, overlapping the other thread's
            model(x)
            if barrier is not None:
                barrier.wait(TIMEOUT)
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_new_thread_starts_with_grad_enabled():
    seen = {}
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        _run_threads(
            lambda: seen.update(
                grad=cr.is_grad_enabled(), req=(cr.ones(2, requires_grad=True) * 2).requires_grad
            )
        )
    assert seen == {"grad": True, "req": True}


def test_no_grad_in_one_thread_does_not_leak_into_another():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def holder():
        with cr.no_grad():
            inside.set()
            done.wait(TIMEOUT)

    def other():
        inside.wait(TIMEOUT)
        seen["req"] = (cr.ones(2, requires_grad=True) * 2).requires_grad
        done.set()

    _run_threads(holder, other)
    assert seen["req"] is True
    assert cr.is_grad_enabled()


def test_interleaved_context_managers_restore_each_threads_mode():
    # Thread A enters no_grad, B enters enable_grad inside its no_grad, A exits first, then B:
    # with one process-wide flag, B's exit would leave grad mode off for everyone.
    b = threading.Barrier(2)
    seen = {}

    def a():
        with cr.no_grad():
            b.wait(TIMEOUT)  # 1: both inside their first block
            b.wait(TIMEOUT)  # 2
        b.wait(TIMEOUT)  # 3: A has exited
        seen["a_after"] = cr.is_grad_enabled()
        b.wait(TIMEOUT)  # 4

    def bthread():
        with cr.no_grad():
            b.wait(TIMEOUT)  # 1
            with cr.enable_grad():
                b.wait(TIMEOUT)  # 2
                seen["b_inner"] = cr.is_grad_enabled()
            b.wait(TIMEOUT)  # 3
            seen["b_still_off"] = cr.is_grad_enabled()
        b.wait(TIMEOUT)  # 4
        seen["b_after"] = cr.is_grad_enabled()

    _run_threads(a, bthread)
    assert seen == {"a_after": True, "b_inner": True, "b_still_off": False, "b_after": True}
    assert cr.is_grad_enabled()


def test_two_threads_training_concurrently_match_sequential_runs_bit_exactly():
    steps = 25
    expected = [_train(1, steps), _train(2, steps)]
    barrier = threading.Barrier(2)
    got: dict = {}
    _run_threads(
        lambda: got.__setitem__(1, _train(1, steps, barrier)),
        lambda: got.__setitem__(2, _train(2, steps, barrier)),
    )
    for seed, want in zip((1, 2), expected):
        for g, w in zip(got[seed], want):
            np.testing.assert_array_equal(g, w)


def test_train_in_one_thread_while_another_evaluates_under_no_grad():
    steps = 20
    expected = _train(3, steps)
    stop = threading.Event()
    evals = []

    def evaluate():
        model = nn.Linear(4, 2)
        x = cr.randn(8, 4)
        while not stop.is_set():
            with cr.no_grad():
                out = model(x)
                evals.append(out.requires_grad)

    got: dict = {}

    def train():
        try:
            got["w"] = _train(3, steps)
        finally:
            stop.set()

    _run_threads(evaluate, train)
    assert evals and not any(evals)
    for g, w in zip(got["w"], expected):
        np.testing.assert_array_equal(g, w)


def test_backward_does_not_switch_grad_mode_for_other_threads():
    # run_backward turns recording off only in the thread running it.
    in_backward, checked = threading.Event(), threading.Event()
    seen = {}

    def hook(g):
        in_backward.set()
        checked.wait(TIMEOUT)
        return g

    def trainer():
        x = cr.ones(3, requires_grad=True)
        y = (x * 2).sum()
        y.register_hook(hook)
        y.backward()

    def other():
        in_backward.wait(TIMEOUT)
        seen["req"] = (cr.ones(2, requires_grad=True) * 2).requires_grad
        checked.set()

    _run_threads(trainer, other)
    assert seen["req"] is True


def test_set_grad_enabled_as_function_context_manager_and_decorator():
    cr.set_grad_enabled(False)
    assert not cr.is_grad_enabled()
    cr.set_grad_enabled(True)
    assert cr.is_grad_enabled()
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()

    @cr.set_grad_enabled(False)
    def f(x):
        return (x * 2).requires_grad, cr.is_grad_enabled()

    assert cr.is_grad_enabled(), "decorating must not switch the mode"
    assert f(cr.ones(2, requires_grad=True)) == (False, False)
    assert cr.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled"):
        cr.set_grad_enabled(1)


def test_set_grad_enabled_decorator_matches_torch():
    @torch.set_grad_enabled(False)
    def tf():
        return torch.is_grad_enabled()

    @cr.set_grad_enabled(False)
    def cf():
        return cr.is_grad_enabled()

    assert (torch.is_grad_enabled(), tf(), torch.is_grad_enabled()) == (
        cr.is_grad_enabled(),
        cf(),
        cr.is_grad_enabled(),
    )


def test_decorated_function_switches_only_in_the_calling_thread():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    @cr.no_grad()
    def slow():
        inside.set()
        done.wait(TIMEOUT)
        return cr.is_grad_enabled()

    def other():
        inside.wait(TIMEOUT)
        seen["other"] = cr.is_grad_enabled()
        done.set()

    _run_threads(lambda: seen.update(slow=slow()), other)
    assert seen == {"slow": False, "other": True}


@pytest.mark.parametrize("deco", ["no_grad", "enable_grad"])
def test_decorators_with_and_without_parentheses(deco):
    sw = getattr(cr, deco)

    @sw
    def bare():
        return cr.is_grad_enabled()

    @sw()
    def called():
        return cr.is_grad_enabled()

    want = deco == "enable_grad"
    with cr.set_grad_enabled(not want):
        assert bare() is want and called() is want
        assert cr.is_grad_enabled() is (not want)


def test_decorated_generator_runs_each_step_in_the_mode():
    @cr.no_grad()
    def gen():
        for _ in range(2):
            yield cr.is_grad_enabled()

    it = gen()
    assert next(it) is False
    assert cr.is_grad_enabled()  # restored between steps
    assert next(it) is False


def test_inference_mode_like_torch():
    x = cr.ones(2, requires_grad=True)
    for mode in (True, False):
        with torch.inference_mode(mode), cr.inference_mode(mode):
            assert cr.is_inference_mode_enabled() == torch.is_inference_mode_enabled()
            assert cr.is_grad_enabled() == torch.is_grad_enabled()
            assert (x * 2).requires_grad == (torch.ones(2, requires_grad=True) * 2).requires_grad
    with cr.no_grad(), cr.inference_mode(False):  # inference_mode(False) enables grad
        assert cr.is_grad_enabled() and not cr.is_inference_mode_enabled()

    @cr.inference_mode
    def bare():
        return cr.is_inference_mode_enabled(), cr.is_grad_enabled()

    @cr.inference_mode()
    def called():
        return cr.is_inference_mode_enabled(), cr.is_grad_enabled()

    assert bare() == called() == (True, False)
    assert cr.is_grad_enabled() and not cr.is_inference_mode_enabled()
    assert cr.autograd.inference_mode is cr.inference_mode


def test_anomaly_mode_is_per_thread():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def detector():
        with cr.autograd.detect_anomaly():
            inside.set()
            done.wait(TIMEOUT)
            seen["detector"] = cr.autograd.is_anomaly_enabled()

    def other():
        inside.wait(TIMEOUT)
        seen["other"] = cr.autograd.is_anomaly_enabled()
        x = cr.tensor([-1.0], requires_grad=True)
        with np.errstate(invalid="ignore"):
            seen["nan_ok"] = bool(cr.isnan(cr.log(x)).all())  # no anomaly error here
        done.set()

    _run_threads(detector, other)
    assert seen == {"detector": True, "other": False, "nan_ok": True}
    assert not cr.autograd.is_anomaly_enabled()


def test_intra_op_thread_pool_still_works_with_grad():
    prev = cr.get_num_threads()
    cr.set_num_threads(2)
    try:
        n = (8 << 20) // 8 + 1  # above the elementwise split threshold (float64)
        a = cr.ones(n, dtype=cr.float64, requires_grad=True)
        b = cr.full((n,), 2.0, dtype=cr.float64, requires_grad=True)
        (a * b + a).sum().backward()
        assert float(a.grad.data.min()) == float(a.grad.data.max()) == 3.0
        assert float(b.grad.data.max()) == 1.0
    finally:
        cr.set_num_threads(prev)
