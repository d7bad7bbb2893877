"""``gradcheck``/``gradgradcheck`` with PyTorch's arguments: each option checks what it names
(a function broken in exactly that way fails it), and the unsupported ones raise."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd.gradcheck import GradcheckError
from chainrule.func import _dispatch
from chainrule.func._batched import physical, wrap


def _x(n=4, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(n), requires_grad=True)


def _square(jvp_factor=2.0, bwd_factor=2.0, bwd_offset=0.0, noise=0.0):
    """x² as a custom Function whose jvp and backward can be broken on purpose."""
    rng = np.random.default_rng(1)

    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            out = bwd_factor * x * g + bwd_offset
            if noise:
                out = out + cr.tensor(rng.standard_normal(x.shape) * noise)
            return out

        @staticmethod
        def jvp(ctx, t):
            return jvp_factor * ctx.primals[0] * t

    return Square.apply


def test_signatures_take_torchs_arguments():
    for name in ("gradcheck", "gradgradcheck"):
        ours = set(inspect.signature(getattr(cr.autograd, name)).parameters)
        theirs = set(inspect.signature(getattr(torch.autograd, name)).parameters)
        theirs -= {"func"}  # ours names the function `fn`
        assert theirs <= ours, theirs - ours


def test_check_forward_ad_catches_a_wrong_jvp():
    fn = _square(jvp_factor=3.0)
    assert cr.autograd.gradcheck(fn, (_x(),))  # backward alone is right
    with pytest.raises(GradcheckError, match="forward mode"):
        cr.autograd.gradcheck(fn, (_x(),), check_forward_ad=True)
    assert not cr.autograd.gradcheck(fn, (_x(),), check_forward_ad=True, raise_exception=False)


def test_check_backward_ad_false_checks_forward_mode_only():
    fn = _square(bwd_factor=5.0)
    with pytest.raises(GradcheckError, match="analytical"):
        cr.autograd.gradcheck(fn, (_x(),))
    assert cr.autograd.gradcheck(fn, (_x(),), check_forward_ad=True, check_backward_ad=False)
    with pytest.raises(ValueError, match="at least one"):
        cr.autograd.gradcheck(fn, (_x(),), check_backward_ad=False)


def test_nondet_tol_bounds_the_difference_between_two_backward_runs():
    fn = _square(noise=1e-9)
    with pytest.raises(GradcheckError, match="not reentrant"):
        cr.autograd.gradcheck(fn, (_x(),))
    # (the noise does not vanish for a zero output gradient: that check is another one)
    assert cr.autograd.gradcheck(fn, (_x(),), nondet_tol=1e-6, check_undefined_grad=False)


def test_check_undefined_grad_wants_zero_gradients_for_zero_cotangents():
    fn = _square(bwd_offset=1e-12)  # below atol for the Jacobian, but not zero for g = 0
    with pytest.raises(GradcheckError, match="zero output gradients"):
        cr.autograd.gradcheck(fn, (_x(),))
    assert cr.autograd.gradcheck(fn, (_x(),), check_undefined_grad=False)


def test_fast_mode_compares_projections_both_ways():
    x = _x(6)
    assert cr.autograd.gradcheck(lambda t: (t.sin() * t.exp()).cumsum(0), (x,), fast_mode=True)
    assert cr.autograd.gradcheck(
        lambda t: t.tanh() ** 2, (x,), fast_mode=True, check_forward_ad=True
    )
    with pytest.raises(GradcheckError, match="fast mode, backward"):
        cr.autograd.gradcheck(_square(bwd_factor=2.5), (x,), fast_mode=True)
    with pytest.raises(GradcheckError, match="fast mode, forward mode"):
        cr.autograd.gradcheck(_square(jvp_factor=2.5), (x,), fast_mode=True, check_forward_ad=True)


def test_check_grad_dtypes_runs_on_mixed_inputs():
    x, w = _x(3), cr.tensor(np.ones(3), requires_grad=True)
    assert cr.autograd.gradcheck(lambda a, b: (a * b).sum(), (x, w), check_grad_dtypes=True)


def test_masked_raises():
    with pytest.raises(NotImplementedError, match="masked"):
        cr.autograd.gradcheck(lambda t: t * 2, (_x(),), masked=True)


_BATCHABLE = {
    "matmul_tanh": lambda a, b, c: (a @ b).tanh(),
    "softmax_two_outputs": lambda a, b, c: ((a @ b).softmax(-1), a.sum()),
    "relu_broadcast_bias": lambda a, b, c: (a @ b + c).relu(),
    "slice_times_vector": lambda a, b, c: (a[:, :2] * c).exp().sum(0),
    "cross_entropy": lambda a, b, c: cr.nn.functional.cross_entropy(a @ b, cr.tensor([0, 1, 1])),
    "layer_norm": lambda a, b, c: cr.nn.functional.layer_norm(a, (4,)),
}


@pytest.mark.parametrize("name", sorted(_BATCHABLE))
def test_batched_checks_pass_where_vmap_lifts_the_derivatives(name):
    rng = np.random.default_rng(1)
    inputs = tuple(
        cr.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 4), (4, 2), (2,))
    )
    assert cr.autograd.gradcheck(
        _BATCHABLE[name],
        inputs,
        check_batched_grad=True,
        check_forward_ad=True,
        check_batched_forward_grad=True,
        check_undefined_grad=False,
    )


class _Double(cr.autograd.Function):
    """x * 2, as a built-in-style (raw array) op: the test gives it a batching rule."""

    raw = True

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2

    @staticmethod
    def jvp(ctx, t):
        return t * 2


@pytest.fixture
def wrong_batching_rule():
    """Register a batching rule for _Double that mixes up the samples (it reverses the
    batch), the kind of bug the batched checks exist to find."""

    @_dispatch.register(_Double)
    def _swapped(cls, level, args, kwargs):
        (x,) = args
        return wrap(_Double.apply(physical(x, level).flip(0)), level)

    yield
    _dispatch._RULES.pop(_Double)
    _dispatch._CACHE.clear()


@pytest.mark.parametrize("option", ["check_batched_grad", "check_batched_forward_grad"])
def test_batched_checks_catch_a_wrong_batching_rule(option, wrong_batching_rule):
    x = _x(3)
    kw = dict(check_forward_ad=True, check_undefined_grad=False)
    assert cr.autograd.gradcheck(_Double.apply, (x,), **kw)  # unbatched: right
    with pytest.raises(GradcheckError, match=f"{option} failed"):
        cr.autograd.gradcheck(_Double.apply, (x,), **{option: True}, **kw)
    assert not cr.autograd.gradcheck(
        _Double.apply, (x,), raise_exception=False, **{option: True}, **kw
    )


def test_batched_checks_pass_with_the_fallback():
    # without a rule, vmap runs the op once per sample: always right
    x = _x(3)
    kw = dict(check_forward_ad=True, check_undefined_grad=False)
    assert cr.autograd.gradcheck(
        _Double.apply, (x,), check_batched_grad=True, check_batched_forward_grad=True, **kw
    )


def test_batched_forward_check_needs_forward_ad_as_in_torch():
    for lib, x in ((cr, _x(3)), (torch, torch.ones(3, dtype=torch.float64, requires_grad=True))):
        with pytest.raises(AssertionError, match="requires check_forward_ad"):
            lib.autograd.gradcheck(lambda t: t * 2, (x,), check_batched_forward_grad=True)


def test_gradgradcheck_options():
    x = _x(5)
    f = lambda t: (t.tanh() * t).sum(0, keepdim=True) * t  # noqa: E731
    assert cr.autograd.gradgradcheck(f, (x,), check_fwd_over_rev=True)
    assert cr.autograd.gradgradcheck(f, (x,), gen_non_contig_grad_outputs=True)
    assert cr.autograd.gradgradcheck(f, (x,), fast_mode=True)
    with pytest.raises(NotImplementedError, match="check_batched_grad"):
        cr.autograd.gradgradcheck(f, (x,), check_batched_grad=True)
