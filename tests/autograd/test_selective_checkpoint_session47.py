"""Selective activation checkpointing (``create_selective_checkpoint_contexts``,
``CheckpointPolicy``, ``cr.ops.aten``) against torch, run live on the same small blocks.

Where chainrule runs one op for what PyTorch decomposes (``linear`` = ``t`` + ``addmm``,
``view``s around batched products), torch's extra layout ops are left out of the compared
sequence (``_TORCH_ONLY``); the ops doing the work map one to one.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tck
import torch.utils.flop_counter as tflop

import chainrule as cr
import chainrule.utils.checkpoint as cck
import chainrule.utils.flop_counter as cflop
from chainrule.autograd.function import Function

_TORCH_ONLY = {"aten.t.default", "aten.view.default", "aten._unsafe_view.default"}


def _params(T):
    w1 = T.tensor(np.arange(32.0).reshape(8, 4) / 10 - 1, requires_grad=True)
    b1 = T.tensor(np.linspace(-0.5, 0.5, 8), requires_grad=True)
    w2 = T.tensor(np.arange(24.0).reshape(3, 8) / 20 - 0.5, requires_grad=True)
    return w1, b1, w2


def _mlp(T, ws):
    w1, b1, w2 = ws
    F = T.nn.functional

    def f(x):
        return F.linear(F.gelu(F.linear(x, w1, b1)), w2).sum()

    return f


def _attention(T, ws):
    wq, _, wv = ws  # (8, 4), -, (3, 8)

    def f(x):  # x (5, 4): one head of attention, written out
        q = T.matmul(x, wq.transpose(0, 1))
        k = x @ wq.transpose(0, 1) * 0.5
        p = T.softmax(q @ k.transpose(0, 1) / 2.0, dim=-1)
        return (T.tanh(p @ q) @ wv.transpose(0, 1)).mean()

    return f


def _run(T, make, context_fn, shape=(2, 4)):
    """(loss, [grads of x and the weights]) of the block under checkpoint."""
    ws = _params(T)
    x = T.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), requires_grad=True)
    ck = T.utils.checkpoint
    if context_fn is None:
        y = make(T, ws)(x)
    else:
        y = ck.checkpoint(make(T, ws), x, use_reentrant=False, context_fn=context_fn)
    y.backward()
    return y.item(), [t.grad.numpy() for t in (x, *ws) if t.grad is not None]


def _recording_policy(T, seen):
    ck = T.utils.checkpoint
    save = (T.ops.aten.mm.default, T.ops.aten.addmm.default)

    def policy(ctx, op, *args, **kwargs):
        seen.append((str(op), ctx.is_recompute))
        return ck.CheckpointPolicy.MUST_SAVE if op in save else ck.CheckpointPolicy.PREFER_RECOMPUTE

    return functools.partial(ck.create_selective_checkpoint_contexts, policy)


@pytest.mark.parametrize(("make", "shape"), [(_mlp, (2, 4)), (_attention, (5, 4))])
def test_policy_sees_the_ops_and_results_match(make, shape):
    got = {}
    for T in (torch, cr):
        seen = []
        loss, grads = _run(T, make, _recording_policy(T, seen), shape)
        got[T] = ([s for s in seen if s[0] not in _TORCH_ONLY], loss, grads)
        plain_loss, plain_grads = _run(T, make, None, shape)
        assert loss == pytest.approx(plain_loss, rel=1e-12)
        for a, b in zip(grads, plain_grads, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    (ts, tl, tg), (cs, cl, cg) = got[torch], got[cr]
    assert cs == ts  # the policy runs in the forward only (is_recompute False), as torch 2.13
    assert cl == pytest.approx(tl, rel=1e-12)
    for a, b in zip(cg, tg, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _backward_flops(T, flop_mod, context_fn):
    ws = _params(T)
    x = T.tensor(np.linspace(-1, 1, 8).reshape(2, 4), requires_grad=True)
    y = T.utils.checkpoint.checkpoint(_mlp(T, ws), x, use_reentrant=False, context_fn=context_fn)
    counter = flop_mod.FlopCounterMode(display=False)
    with counter:
        y.backward()
    return counter.get_total_flops()


def test_saved_products_are_not_recomputed():
    """Saving mm/addmm: the backward runs no product of the forward again (its FLOPs are the
    gradients' only), as torch's; the list form gives the same."""
    for T, mod in ((torch, tflop), (cr, cflop)):
        ops = [T.ops.aten.mm.default, T.ops.aten.addmm.default]
        lst = functools.partial(T.utils.checkpoint.create_selective_checkpoint_contexts, ops)
        got = (_backward_flops(T, mod, lst), _backward_flops(T, mod, _recording_policy(T, [])))
        if T is torch:
            expected = got
        else:
            assert got == expected
    assert expected[0] == 448  # 2 * (128 + 96): dx, dW of both products, nothing recomputed


def test_recompute_reuses_saved_outputs_only():
    """Counting the ops run during the recomputation: everything but the saved op reruns."""
    ran = []
    plain = Function.__dict__["apply"]
    ws = _params(cr)
    x = cr.tensor(np.linspace(-1, 1, 8).reshape(2, 4), requires_grad=True)
    cf = functools.partial(cck.create_selective_checkpoint_contexts, [cr.ops.aten.addmm.default])
    y = cck.checkpoint(_mlp(cr, ws), x, use_reentrant=False, context_fn=cf)
    assert Function.__dict__["apply"] is plain  # no interception outside the contexts

    def counting(cls, *args, **kwargs):
        ran.append(cls.__name__)
        return plain.__func__(cls, *args, **kwargs)

    Function.apply = classmethod(counting)
    try:
        y.backward()
    finally:
        Function.apply = plain
    assert "LinearFn" in ran  # the second product (mm) reran
    assert ran.count("LinearFn") == 1 and "_Replay" in ran and "Gelu" in ran


def test_bool_policy_and_mutated_cache_and_second_backward():
    for T in (torch, cr):
        ck = T.utils.checkpoint
        w = T.tensor(np.eye(3) + 0.5, requires_grad=True)

        def f(x, mutate=False, w=w, T=T):
            h = T.mm(x, w)
            if mutate:
                h.mul_(2)
            return T.sin(h).sum()

        cf = functools.partial(
            ck.create_selective_checkpoint_contexts,
            lambda ctx, op, *a, T=T, **k: op == T.ops.aten.mm.default,
        )
        x = T.tensor(np.ones((2, 3)), requires_grad=True)
        y = ck.checkpoint(f, x, use_reentrant=False, context_fn=cf)
        y.backward(retain_graph=True)
        wn = w.detach().numpy()
        np.testing.assert_allclose(x.grad.numpy(), np.cos(np.ones((2, 3)) @ wn) @ wn.T)
        with pytest.raises(RuntimeError, match="Trying to backward an extra time"):
            y.backward()
        y = ck.checkpoint(functools.partial(f, mutate=True), x, use_reentrant=False, context_fn=cf)
        with pytest.raises(RuntimeError, match="^Tensor cached during selective activation"):
            y.backward()
        allow = functools.partial(
            ck.create_selective_checkpoint_contexts, [T.ops.aten.mm.default], True
        )
        ck.checkpoint(
            functools.partial(f, mutate=True), x, use_reentrant=False, context_fn=allow
        ).backward()


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e), str(e)
    return None


@pytest.mark.parametrize(
    "case",
    [
        lambda T: T.utils.checkpoint.create_selective_checkpoint_contexts([1]),
        lambda T: T.utils.checkpoint.create_selective_checkpoint_contexts(3),
        lambda T: T.utils.checkpoint.checkpoint(
            T.sin,
            T.ones(2, requires_grad=True),
            use_reentrant=True,
            context_fn=functools.partial(
                T.utils.checkpoint.create_selective_checkpoint_contexts, []
            ),
        ),
        lambda T: T.ops.aten.no_such_op_xyz,
        lambda T: T.ops.aten.mm.no_such_overload,
    ],
)
def test_errors_match_torch(case):
    expected = _error(lambda: case(torch))
    assert expected is not None
    assert _error(lambda: case(cr)) == expected


def test_packet_in_list_and_handles():
    t = _error(lambda: tck.create_selective_checkpoint_contexts([torch.ops.aten.mm]))
    c = _error(lambda: cck.create_selective_checkpoint_contexts([cr.ops.aten.mm]))
    assert c[0] is t[0] is ValueError
    # the type's repr names the library's own class
    assert c[1].replace("chainrule.ops.aten_namespace", "torch._ops") == t[1]
    for name, ov in (("mm", "default"), ("add", "Tensor"), ("addmm", "default")):
        th, ch = getattr(getattr(torch.ops.aten, name), ov), getattr(getattr(cr.ops.aten, name), ov)
        assert (str(ch), repr(ch), ch.name()) == (str(th), repr(th), th.name())
        assert repr(getattr(cr.ops.aten, name)) == repr(getattr(torch.ops.aten, name))
        assert ch is getattr(getattr(cr.ops.aten, name), ov) and ch != cr.ops.aten.bmm.default
    assert [p.value for p in cck.CheckpointPolicy] == [p.value for p in tck.CheckpointPolicy]
    assert [p.name for p in cck.CheckpointPolicy] == [p.name for p in tck.CheckpointPolicy]


def test_modes_interleaved_with_a_flop_counter():
    """A FlopCounterMode entered inside a forward context and left after it: the apply it
    puts back is ours, idle; entering a context again must not wrap it twice."""
    plain = Function.__dict__["apply"]
    fwd, _ = cck.create_selective_checkpoint_contexts([])
    counter = cflop.FlopCounterMode(display=False)
    fwd.__enter__()
    counter.__enter__()
    fwd.__exit__(None, None, None)
    counter.__exit__(None, None, None)
    try:
        x = cr.ones(2, 2, requires_grad=True)
        assert cr.mm(x, x).sum().item() == 8.0
        loss, grads = _run(cr, _mlp, _recording_policy(cr, []))
        plain_loss, _ = _run(cr, _mlp, None)
        assert loss == pytest.approx(plain_loss, rel=1e-12)
    finally:
        Function.apply = plain


@pytest.mark.parametrize("handle", ["packet", "overload"])
def test_handles_name_ops_and_call_them(handle):
    """torch's handles call the kernel, and so do chainrule's (the calls against torch are in
    tests/ops/test_aten_handles_session47.py); one chainrule cannot run is refused with a clear
    error, never a wrong or silent answer."""
    a = cr.ones(2, 2)
    h = cr.ops.aten.mm if handle == "packet" else cr.ops.aten.mm.default
    want = torch.ops.aten.mm if handle == "packet" else torch.ops.aten.mm.default
    assert h(a, a).numpy().tolist() == want(torch.ones(2, 2), torch.ones(2, 2)).tolist()
    sdpa = cr.ops.aten._scaled_dot_product_flash_attention_for_cpu
    with pytest.raises(NotImplementedError, match="cannot call this operator handle"):
        (sdpa if handle == "packet" else sdpa.default)(a, a, a)
    assert str(h) == str(want)
