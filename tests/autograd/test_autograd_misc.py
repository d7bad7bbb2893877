"""``is_tensor_like`` and the per-thread switches ``set_multithreading_enabled`` /
``is_multithreading_enabled`` and ``_force_original_view_tracking`` /
``is_view_replay_enabled`` of ``cr.autograd``, against ``torch.autograd``."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import chainrule as cr

SWITCHES = [
    (
        "multithreading",
        cr.autograd.set_multithreading_enabled,
        cr.autograd.is_multithreading_enabled,
        torch.autograd.set_multithreading_enabled,
        torch.autograd.is_multithreading_enabled,
    ),
    (
        "view_replay",
        cr.autograd._force_original_view_tracking,
        cr.autograd.is_view_replay_enabled,
        torch.autograd._force_original_view_tracking,
        torch.autograd.is_view_replay_enabled,
    ),
]


class _TensorLike:
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return -1


class _NotATensor:
    pass


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.zeros(2),
        lambda lib: lib.nn.Parameter(lib.zeros(2)),
        lambda lib: lib.Tensor,
        lambda lib: 6,
        lambda lib: None,
        lambda lib: _NotATensor(),
        lambda lib: _TensorLike(),
        lambda lib: [lib.zeros(2)],
    ],
    ids=["tensor", "parameter", "tensor_class", "int", "none", "object", "tensor_like", "list"],
)
def test_is_tensor_like_matches_torch(make):
    assert cr.autograd.is_tensor_like(make(cr)) == torch.autograd.is_tensor_like(make(torch))


def _trace(set_fn, is_fn):
    """The flag's value at each step of every way of using the switch."""
    seen = [is_fn()]
    s = set_fn(False)
    seen.append(is_fn())  # a plain call switches at once
    with set_fn(True):
        seen.append(is_fn())
    seen.append(is_fn())  # restored to the value before the block's switch
    set_fn(True)
    seen.append(is_fn())
    with s:
        seen.append(is_fn())
    seen.append(is_fn())

    @set_fn(False)
    def f():
        return is_fn()

    seen.append(is_fn())  # decorating: PyTorch's own quirks per switch
    seen.append(f())
    seen.append(is_fn())

    @set_fn(True)
    def gen():
        yield is_fn()
        yield is_fn()

    with set_fn(False):
        seen.extend(gen())
        seen.append(is_fn())
    seen.append(is_fn())
    return seen


@pytest.mark.parametrize("switch", SWITCHES, ids=[s[0] for s in SWITCHES])
def test_switch_semantics_match_torch(switch):
    _, cr_set, cr_is, t_set, t_is = switch
    t_before, c_before = t_is(), cr_is()
    try:
        assert _trace(cr_set, cr_is) == _trace(t_set, t_is)
    finally:
        t_set(t_before)
        cr_set(c_before)
        t_set(t_before)  # _force_original_view_tracking's constructor switches too
    assert cr_is() == c_before


@pytest.mark.parametrize("switch", SWITCHES, ids=[s[0] for s in SWITCHES])
def test_switch_is_per_thread(switch):
    _, cr_set, cr_is, _, _ = switch
    default = cr_is()
    seen = []
    with cr_set(not default):
        t = threading.Thread(target=lambda: seen.append(cr_is()))
        t.start()
        t.join()
        assert cr_is() is (not default)
    assert seen == [default]
    assert cr_is() is default


def test_defaults_match_torch():
    assert cr.autograd.is_multithreading_enabled() is torch.autograd.is_multithreading_enabled()
    assert cr.autograd.is_view_replay_enabled() is torch.autograd.is_view_replay_enabled()


@pytest.mark.parametrize("mode", [False, True])
def test_backward_results_do_not_depend_on_switches(mode):
    """The switches are reported only: a backward through a view whose base was changed in
    place, and an ordinary one, give PyTorch's gradients with either setting."""
    grads = []
    for lib, set_mt, force in (
        (cr, cr.autograd.set_multithreading_enabled, cr.autograd._force_original_view_tracking),
        (
            torch,
            torch.autograd.set_multithreading_enabled,
            torch.autograd._force_original_view_tracking,
        ),
    ):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        with set_mt(mode), force(mode):
            base = x * 1.0
            view = base[:, 1:]
            base.mul_(3.0)
            (view * view).sum().backward()
        grads.append(x.grad.numpy().copy())
    np.testing.assert_allclose(grads[0], grads[1])
