"""A profiled backward lists the backward's own ops, as PyTorch's profiler does.

Session 38 gave sum, mean, log_softmax, softmax, matmul, div, cat and permute/transpose a
first-order backward on arrays that records no op. While a profiler or FLOP counter records
(it swaps ``Function.apply``) those rules take the recorded path instead, so the ops under
``SumBackward0``, ``MmBackward0``, ... show as torch's do, and FlopCounterMode counts
matmul's backward as torch's. Outside a profiler the array paths run (and give the same
values: the last tests)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
import torch.utils.flop_counter as tfc

import chainrule as cr
import chainrule.utils.flop_counter as cfc

# chainrule's name for an op -> PyTorch's (chainrule records its own op names)
_ATEN = {
    "broadcast_to": "aten::expand",
    "reshape": "aten::unsqueeze",
    "div": "aten::div",
    "neg": "aten::neg",
    "mul": "aten::mul",
    "mat_mul": "aten::mm",
    "get_item": "aten::narrow",
}

# name: (forward on a module m (torch or cr) of x, y; the backward node's name; the ops of
# that node whose count is compared with torch's)
CASES = {
    "sum": (lambda m, x, y: x.sum(), "SumBackward0", ["aten::expand"]),
    "sum_dim": (lambda m, x, y: x.sum(1).sum(), "SumBackward1", ["aten::expand"]),
    "mean": (lambda m, x, y: x.mean(), "MeanBackward0", ["aten::expand", "aten::div"]),
    "matmul": (lambda m, x, y: x @ y, "MmBackward0", ["aten::mm"]),
    "div": (
        lambda m, x, y: x / y,
        "DivBackward0",
        ["aten::div", "aten::neg", "aten::mul"],
    ),
    "cat": (lambda m, x, y: m.cat([x, y], 0), "CatBackward0", ["aten::narrow"]),
}
# torch computes these in one fused kernel; chainrule's recorded path lists its Tensor ops
FUSED = {
    "log_softmax": (lambda m, x, y: m.log_softmax(x, 1), "LogSoftmaxBackward0"),
    "softmax": (lambda m, x, y: m.softmax(x, 1), "SoftmaxBackward0"),
    "permute": (lambda m, x, y: x.permute(1, 0), "PermuteBackward0"),
    "transpose": (lambda m, x, y: x.transpose(0, 1), "TransposeBackward0"),
}


def _inputs(m, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 4)), rng.standard_normal((4, 4)) + 3.0
    return (
        m.tensor(a, dtype=dtype, requires_grad=True),
        m.tensor(b, dtype=dtype, requires_grad=True),
    )


def _backward(m, out) -> None:
    """``out.backward()``, with a gradient of ones (a contiguous array) for a non-scalar."""
    out.backward(m.ones_like(out) if out.ndim else None)


def _under(names: list[str], node: str) -> list[str]:
    """The op names recorded between ``node``'s range and the next node's."""
    i = names.index(node)
    out = []
    for n in names[i + 1 :]:
        if n.startswith("autograd::engine::evaluate_function"):
            break
        out.append(n)
    return out


def _torch_ops(fn, node):
    x, y = _inputs(torch, torch.float64)
    out = fn(torch, x, y)
    with torch.profiler.profile() as p:
        _backward(torch, out)
    return _under([e.name for e in p.events()], node)


def _cr_ops(fn, node):
    x, y = _inputs(cr, cr.float64)
    out = fn(cr, x, y)
    with cr.profiler.profile() as p:
        _backward(cr, out)
    return _under([e.name for e in p.events()], node)


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_ops_listed_as_torch(name):
    fn, node, compared = CASES[name]
    theirs = Counter(n for n in _torch_ops(fn, node) if n in compared)
    ours = Counter(_ATEN.get(n.split("::")[-1]) for n in _cr_ops(fn, node))
    assert theirs, "torch lists these ops"  # (the comparison is not vacuous)
    assert {k: ours[k] for k in compared} == {k: theirs[k] for k in compared}


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_backward_ops_listed(name):
    fn, node = FUSED[name]
    assert _torch_ops(fn, node)  # torch lists a kernel under the node
    assert _cr_ops(fn, node)  # chainrule lists the ops it computes with (was: none)


def test_profiler_leaves_values_unchanged():
    for name, (fn, _node, _c) in {**CASES, **{k: (*v, None) for k, v in FUSED.items()}}.items():
        grads = []
        for profiled in (False, True):
            x, y = _inputs(cr, cr.float32)
            out = fn(cr, x, y)
            if profiled:
                with cr.profiler.profile():
                    _backward(cr, out)
            else:
                _backward(cr, out)
            grads.append([None if t.grad is None else t.grad.numpy().copy() for t in (x, y)])
        for a, b in zip(*grads):
            assert (a is None) == (b is None), name
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=name)


def test_flop_counter_counts_matmul_backward_as_torch():
    def run(m, fc):
        x, y = _inputs(m, m.float64)
        x2 = m.tensor(np.ones((4, 6)), dtype=m.float64, requires_grad=True)
        counter = fc.FlopCounterMode(display=False)
        with counter:
            ((x @ y) @ x2).sum().backward()
        return counter.get_total_flops(), {
            str(k): v for k, v in counter.get_flop_counts()["Global"].items()
        }

    ours, theirs = run(cr, cfc), run(torch, tfc)
    assert ours[0] == theirs[0] == 3 * (2 * 4 * 4 * 4 + 2 * 4 * 4 * 6)
    assert sorted(ours[1].values()) == sorted(theirs[1].values())


def test_flop_counter_backward_only_as_torch():
    def run(m, fc):
        x, y = _inputs(m, m.float64)
        out = (x @ y).sum()
        counter = fc.FlopCounterMode(display=False)
        with counter:
            out.backward()
        return counter.get_total_flops()

    assert run(cr, cfc) == run(torch, tfc) == 2 * (2 * 4 * 4 * 4)


# ------------------------------------------------------------------ stale views as roots
# The engine refreshes stale roots, then reads each root's node once through the getter
# (autograd/engine.py): the cases where the refresh leaves a root stale or not, vs torch.


def _stale_root(m, *, no_grad: bool, dual: bool):
    """x.grad after backward from a view taken before its base was multiplied in place."""
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    fw = torch.autograd.forward_ad if m is torch else cr.autograd.forward_ad
    with fw.dual_level():
        base = x.clone()
        if dual:
            base = fw.make_dual(base, m.tensor([1.0, 1.0, 1.0]))
        v = base[:2]
        base.mul_(3.0)
        if no_grad:
            with m.no_grad():
                v.backward(m.tensor([1.0, 2.0]))
        else:
            v.backward(m.tensor([1.0, 2.0]))
    return x.grad.tolist()


@pytest.mark.parametrize(
    ("no_grad", "dual"),
    [(False, False), (False, True), (True, True), (True, False)],
)
def test_stale_view_root_backward_as_torch(no_grad, dual):
    assert _stale_root(cr, no_grad=no_grad, dual=dual) == _stale_root(
        torch, no_grad=no_grad, dual=dual
    )


def test_stale_view_roots_autograd_grad_as_torch():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        base = x * 1.0
        a, b = base[:2], base[2:]
        base.mul_(m.tensor([2.0, 3.0, 4.0, 5.0]))
        (g,) = m.autograd.grad([a, b], [x], [m.ones(2), m.tensor([1.0, 2.0])])
        return g.tolist()

    assert run(cr) == run(torch) == [2.0, 3.0, 4.0, 10.0]
