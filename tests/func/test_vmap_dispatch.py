"""The dispatch hook: a batched op runs once for the whole batch (not once per sample), ops
without a rule fall back to a per-sample loop that is still correct, and the vmap state is
per thread and always restored."""

from __future__ import annotations

import inspect
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.state import current
from chainrule.func import _dispatch
from chainrule.ops.affine import LinearFn
from chainrule.ops.conv import Conv2dFn
from chainrule.ops.einsum import Einsum
from chainrule.ops.linalg import MatMul
from chainrule.ops.shape import Roll
from chainrule.ops.unary import Exp

from ._helpers import rand


def _count_forward(monkeypatch, cls):
    calls = []
    original = inspect.getattr_static(cls, "forward")  # may be inherited (Exp's base)
    fn = original.__func__

    def counting(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    wrapped = classmethod(counting) if isinstance(original, classmethod) else staticmethod(counting)
    monkeypatch.setattr(cls, "forward", wrapped)
    return calls


@pytest.mark.parametrize(
    "cls,fn,args,in_dims",
    [
        (Exp, lambda x: x.exp(), (rand(8, 3),), 0),
        (MatMul, lambda a, b: a @ b, (rand(8, 3, 4), rand(4, 2)), (0, None)),
        (Einsum, lambda a, b: cr.einsum("ij,jk->ik", a, b), (rand(8, 3, 4), rand(4, 2)), (0, None)),
        (
            LinearFn,
            lambda x, w: cr.nn.functional.linear(x, w),
            (rand(8, 2, 4), rand(3, 4)),
            (0, None),
        ),
        (
            Conv2dFn,
            lambda x, w: cr.nn.functional.conv2d(x, w),
            (rand(8, 1, 2, 5, 5), rand(3, 2, 3, 3)),
            (0, None),
        ),
        (
            Conv2dFn,
            lambda x, w: cr.nn.functional.conv2d(x, w),
            (rand(1, 2, 5, 5), rand(8, 3, 2, 3, 3)),
            (None, 0),
        ),
    ],
)
def test_batched_op_runs_once_for_the_whole_batch(monkeypatch, cls, fn, args, in_dims):
    calls = _count_forward(monkeypatch, cls)
    out = cr.func.vmap(fn, in_dims=in_dims)(*(cr.tensor(a) for a in args))
    assert out.shape[0] == 8
    assert len(calls) == 1


def test_fallback_runs_once_per_sample_and_is_correct(monkeypatch):
    """roll without dims rolls the flattened sample: no batched form, so per sample."""
    calls = _count_forward(monkeypatch, Roll)
    a = rand(5, 3, 4)
    before = _dispatch.STATS["fallback"]
    out = cr.func.vmap(lambda x: x.roll(2))(cr.tensor(a))
    assert len(calls) == 5 and _dispatch.STATS["fallback"] == before + 1
    want = np.stack([np.roll(s, 2) for s in a])
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)


def test_custom_function_inside_vmap_uses_the_fallback():
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * g

    x = rand(4, 3)
    out = cr.func.vmap(lambda t: Cube.apply(t).sum())(cr.tensor(x))
    np.testing.assert_allclose(out.numpy(), (x**3).sum(1), rtol=1e-12)
    g = cr.func.vmap(cr.func.grad(lambda t: Cube.apply(t).sum()))(cr.tensor(x))
    np.testing.assert_allclose(g.numpy(), 3 * x**2, rtol=1e-12)


def test_vmap_state_is_restored_after_errors():
    with pytest.raises(ValueError):
        cr.func.vmap(lambda x: x.reshape(7))(cr.ones(3, 2))
    assert current().vmap == []


def test_vmap_state_is_per_thread():
    seen = []
    inside = threading.Event()
    release = threading.Event()

    def worker():
        inside.wait()
        seen.append(list(current().vmap))
        x = cr.ones(2, 2)
        seen.append(type(x * 2) is cr.Tensor)
        release.set()

    t = threading.Thread(target=worker)
    t.start()

    def f(x):
        inside.set()
        release.wait(10)
        return x * 2

    cr.func.vmap(f)(cr.ones(3, 2))
    t.join()
    assert seen == [[], True]
