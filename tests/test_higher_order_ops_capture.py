"""cond / while_loop refuse writes into tensors the branch captures, as PyTorch's tracer does.

chainrule runs both branches of a tensor-predicate ``cond``; a branch that wrote into a module
buffer or a closure tensor used to do so silently (the untaken branch's write stayed: a wrong
state with no error). Each case runs in torch 2.13 and chainrule: both refuse, or both give the
same values.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import chainrule as cr

GLOBAL_TORCH = torch.zeros(2)
GLOBAL_CR = cr.zeros(2)


def _build(T, case):
    """(pred, true_fn, false_fn, operands, state) for ``case`` in framework ``T``."""
    T.manual_seed(0)
    g = GLOBAL_TORCH if T is torch else GLOBAL_CR
    g.zero_()

    class Net(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = T.nn.BatchNorm1d(3)
            self.lin = T.nn.Linear(3, 3)
            self.register_buffer("count", T.zeros(()))

        def bump(self, x):
            self.count.add_(1)
            return x * 2

        def norm(self, x):
            return self.bn(x)

        def linear(self, x):
            return self.lin(x)

        def double(self, x):
            return x * 2

    net = Net()
    frozen = Net().eval()
    box = [T.zeros(2)]
    x = T.ones(4, 3)
    y = T.ones(2)

    def add_to_box(v):
        box[0].add_(1)
        return v + 1

    def add_to_global(v):
        g.add_(1)
        return v + 1

    def helper(v):
        return add_to_global(v)

    def write_own(v):
        t = T.zeros(2)
        t.add_(v)  # a tensor made inside the branch: allowed
        return t

    def scale_into(buf, v):
        buf.mul_(2)
        return v + 1

    minus = lambda v: v - 1  # noqa: E731
    true = T.tensor(True)
    false = T.tensor(False)
    cases = {
        "buffer_taken": (true, net.bump, net.double, (x,), net.count),
        "buffer_untaken": (false, net.bump, net.double, (x,), net.count),
        "bn_train": (true, net.norm, net.double, (x,), net.bn.running_mean),
        "bn_eval": (true, frozen.norm, frozen.double, (x,), frozen.bn.running_mean),
        "params_read": (false, net.linear, net.double, (x,), net.lin.weight),
        "closure_list": (false, add_to_box, minus, (y,), box[0]),
        "global": (false, add_to_global, minus, (y,), g),
        "global_through_helper": (true, minus, helper, (y,), g),
        "own_tensor": (true, write_own, minus, (y,), y),
        "partial": (false, functools.partial(scale_into, box[0]), minus, (y,), box[0]),
    }
    return cases[case]


CASES = [
    "buffer_taken",
    "buffer_untaken",
    "bn_train",
    "bn_eval",
    "params_read",
    "closure_list",
    "global",
    "global_through_helper",
    "own_tensor",
    "partial",
]


def _run(T, case):
    pred, t, f, ops, state = _build(T, case)
    try:
        out = T.cond(pred, t, f, ops)
    except RuntimeError as e:
        return "error", str(e)
    return out.detach().numpy(), state.detach().numpy().copy()


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", CASES)
def test_cond_captured_mutation_as_torch(case):
    expected = _run(torch, case)
    got = _run(cr, case)
    if isinstance(expected[0], str):
        assert got[0] == "error", f"torch refuses {case}; chainrule gave {got}"
        assert "Encountered input mutation" in got[1]
        assert "do not support input mutation" in got[1]
        assert type(cr._dynamo.exc.UncapturedHigherOrderOpError) is type
    else:
        assert not isinstance(got[0], str), got[1]
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-6)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("mutate", [False, True])
def test_while_loop_body_writing_a_captured_tensor(mutate):
    results = []
    for T in (torch, cr):
        counter = T.zeros(())

        def cond_fn(i, v):
            return i < 3

        def body_fn(i, v, counter=counter):
            if mutate:
                counter.add_(1)
            return i + 1, v * 2

        try:
            i, v = T.while_loop(cond_fn, body_fn, (T.tensor(0), T.ones(2)))
            results.append((int(i), v.numpy().tolist()))
        except RuntimeError as e:
            results.append(("error", "input mutation" in str(e)))
    assert results[0] == results[1]
    assert (results[0][0] == "error") == mutate
