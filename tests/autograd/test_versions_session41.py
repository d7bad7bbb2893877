"""Version counters as PyTorch's, fifth pass (session 41): ``p.grad._version`` after a
backward through each common op (PyTorch's backward formulas that write into zeros in place
give version 1 or 2; mean's gradient is a new tensor, taken as it is: 0), where one gradient
reaches two leaves (the first leaf PyTorch's engine runs copies it, the last takes it), under
``create_graph`` (a recorded ``copy_`` into the leaf's layout: version 1, CopyBackwards), the
optimizers' state buffers (``exp_avg``, ``momentum_buffer``, ...) and ``zero_grad`` of a
gradient with history.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .test_versions_session40 import OPTIMIZERS

# one backward into fresh leaves: the versions of every leaf's .grad
FRESH = {
    "sum": "p.sum()",
    "mean": "p.mean()",
    "mean_dim": "m.mean(1)",
    "mean_keepdim": "m.mean(0, keepdim=True)",
    "mul_mean": "(p * 2).mean()",
    "index_list": "p[[0, 1]]",
    "index_dup": "p[[0, 0]]",
    "index_bool": "p[p > 1]",
    "index_2d": "m[:, [0, 2]]",
    "index_pair": "m[[0, 1], [1, 2]]",
    "index_tensor": "p[t.tensor([0, 0])]",
    "select": "p[1]",
    "slice": "p[1:]",
    "gather": "p.gather(0, t.tensor([0, 0]))",
    "index_select": "p.index_select(0, t.tensor([0, 2]))",
    "take": "p.take(t.tensor([0, 2]))",
    "masked_select": "p.masked_select(p > 1)",
    "max": "p.max()",
    "min": "p.min()",
    "max_dim": "m.max(1)[0]",
    "max_keepdim": "m.max(1, keepdim=True)[0]",
    "amax": "m.amax(1)",
    "median": "p.median()",
    "median_dim": "m.median(1)[0]",
    "kthvalue": "m.kthvalue(1, 1)[0]",
    "sort": "p.sort()[0]",
    "topk": "p.topk(2)[0]",
    "cummax": "p.cummax(0)[0]",
    "trace": "w.trace()",
    "diagonal": "w.diagonal()",
    "matmul": "m @ w",
    "mv": "w @ p",
    "expand": "p.expand(2, 3)",
    "broadcast_add": "m + p",
    "broadcast_mul": "m * p",
    "embedding": "t.nn.functional.embedding(t.tensor([0, 2, 0]), w)",
    "conv2d": "t.nn.functional.conv2d(t.ones(1, 1, 4, 4), k)",
    "cross_entropy": "t.nn.functional.cross_entropy(m, t.tensor([0, 2]))",
    "cross_entropy_sum": "t.nn.functional.cross_entropy(m, t.tensor([0, 2]), reduction='sum')",
    "mse": "t.nn.functional.mse_loss(p, t.zeros(3))",
    "linear": "t.nn.functional.linear(m, w, p)",
    "layer_norm": "t.nn.functional.layer_norm(m, (3,))",
    "cat": "t.cat([p, q])",
    "unbind": "sum(x * 1 for x in p.unbind())",
    "where": "t.where(p > 1, p, q)",
    # one gradient reaching two leaves (AddBackward0 gives both the same tensor)
    "add_index": "(p + q)[0]",
    "add_exp": "(p + q).exp()",
    "add_mean": "(p + q).mean()",
    "three_leaves": "(p + q + m[0] * 1).exp()",
    "add_sub": "(p - q).exp()",
}


def _fresh(lib, expr: str):
    p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    q = lib.tensor([1.0, 5.0, 3.0], requires_grad=True)
    w = lib.tensor([[1.0, 2.0, 0.5], [0.3, 1.0, 2.0], [1.5, 0.2, 1.0]], requires_grad=True)
    m = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]], requires_grad=True)
    k = lib.ones(1, 1, 3, 3, requires_grad=True)
    y = eval(expr, {"p": p, "q": q, "w": w, "m": m, "k": k, "t": lib})  # noqa: S307 - fixed
    y.sum().backward()
    leaves = {"p": p, "q": q, "w": w, "m": m, "k": k}
    return {n: v.grad._version for n, v in leaves.items() if v.grad is not None}


@pytest.mark.parametrize("case", list(FRESH))
def test_fresh_grad_version_as_torch(case):
    assert _fresh(cr, FRESH[case]) == _fresh(torch, FRESH[case])


def test_mean_gradient_is_a_writable_new_array():
    """mean's gradient is a new tensor as PyTorch's (``grad.expand(sizes) / n``): a hook on
    the input may write into it, and a leaf takes it as its .grad without a copy."""
    seen = []

    def hook(g):
        g.add_(1)  # PyTorch's gradient is writable; an expanded view would refuse this
        seen.append(g)

    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        p.register_hook(hook)
        p.mean().backward()
        assert p.grad.tolist() == [1.25] * 4
        assert p.grad._version == 1
    assert seen[0].tolist() == seen[1].tolist()


def test_shared_gradient_leaves_do_not_alias():
    """Where one gradient reaches two leaves, each .grad is its own memory (the versions
    swap, the arrays do not alias): writing into one leaves the other alone."""
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    q = cr.tensor([3.0, 4.0], requires_grad=True)
    (p + q).exp().sum().backward()
    assert (p.grad._version, q.grad._version) == (1, 0)
    assert not np.shares_memory(p.grad._data, q.grad._data)
    expected = np.exp([4.0, 6.0])
    p.grad.zero_()
    assert np.allclose(q.grad.numpy(), expected)


EXISTING = {
    "mean_after_sum": "p.sum().backward(); p.mean().backward()",
    "index_after_sum": "p.sum().backward(); p[[0, 1]].sum().backward()",
    "gather_twice": "for _ in range(2): p.gather(0, t.tensor([0, 0])).sum().backward()",
    "max_twice": "for _ in range(2): p.max().backward()",
    "mean_twice": "for _ in range(3): p.mean().backward()",
}


@pytest.mark.parametrize("case", list(EXISTING))
def test_accumulated_grad_version_as_torch(case):
    def run(lib):
        p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        exec(EXISTING[case], {"p": p, "t": lib})  # noqa: S102 - fixed test strings
        return p.grad._version, p.grad.tolist()

    assert run(cr) == run(torch)


CREATE_GRAPH = {
    "square": "(p * p).sum()",
    "sum": "p.sum()",
    "mul": "(p * 2).sum()",
    "two_leaves": "(p + q).sum()",
    "cube": "(p ** 3).sum()",
}


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("case", list(CREATE_GRAPH))
def test_create_graph_first_grad_as_torch(case):
    """PyTorch's AccumulateGrad copies the gradient when grad mode is on:
    ``new_empty_strided(...).copy_(g)``: version 1, grad_fn CopyBackwards where ``g`` has
    history; a second backward adds out of place (version 0, AddBackward0)."""

    def run(lib):
        p = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        q = lib.tensor([1.0, 5.0, 3.0], requires_grad=True)
        ns = {"p": p, "q": q, "t": lib}
        out = []
        for _ in range(2):
            eval(CREATE_GRAPH[case], ns).backward(create_graph=True)  # noqa: S307 - fixed
            g = p.grad
            out.append((g._version, g.grad_fn.name() if g.grad_fn else None, g.tolist()))
        out.append(p.grad.requires_grad)
        if p.grad.requires_grad:
            out.append(lib.autograd.grad(p.grad.sum(), p)[0].tolist())
        return out

    assert run(cr) == run(torch)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_grad_of_a_transposed_leaf_as_torch():
    def run(lib):
        m = lib.ones(3, 2).t().requires_grad_()
        (m * m).sum().backward(create_graph=True)
        g = m.grad
        return g._version, g.stride(), g.grad_fn.name(), g.tolist()

    assert run(cr) == run(torch)


def _state_versions(lib, name, kw, foreach, steps):
    shapes = ((2, 3), (3, 2)) if name == "Muon" else ((3,), (2, 2))
    ps = [
        lib.tensor(np.linspace(0.1, 1, int(np.prod(s))).reshape(s), requires_grad=True)
        for s in shapes
    ]
    opt = getattr(lib.optim, name)(ps, **kw, **({} if foreach is None else {"foreach": foreach}))
    out = []
    for i in range(steps):
        opt.zero_grad()
        sum((p * lib.full(p.shape, float(i + 1))).sum() for p in ps).backward()
        opt.step()
        out.append(
            [{k: getattr(v, "_version", None) for k, v in sorted(opt.state[p].items())} for p in ps]
        )
    return out


_MORE = {
    "SGD": [dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=True)],
    "Adam": [dict(maximize=True), dict(amsgrad=True, decoupled_weight_decay=True, weight_decay=1)],
    "RMSprop": [dict(centered=True), dict(momentum=0.5), dict(maximize=True, momentum=0.3)],
    "Adagrad": [dict(initial_accumulator_value=0.5, maximize=True)],
    "Rprop": [dict(maximize=True, etas=(0.4, 1.3))],
    "Muon": [dict(lr=0.01)],
}
_STATE_CASES = [
    (name, kw, foreach)
    for table in (OPTIMIZERS, _MORE)
    for name, configs in table.items()
    for kw in configs
    for foreach in ((None,) if name == "Muon" else (None, False, True))
]


@pytest.mark.parametrize(("name", "kw", "foreach"), _STATE_CASES)
def test_optimizer_state_versions_as_torch(name, kw, foreach):
    """Every state tensor's version after each of three steps (buffers written in place
    once or twice a step, SGD's momentum made from the first gradient, the counters)."""
    assert _state_versions(cr, name, kw, foreach, 3) == _state_versions(torch, name, kw, foreach, 3)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("where", ["optimizer", "module"])
def test_zero_grad_keeps_a_grad_with_history_detached_as_torch(where):
    """``zero_grad(set_to_none=False)`` of a gradient made under ``create_graph``: PyTorch
    detaches it in place (the same object, no history) and zeroes it (version + 1)."""

    def run(lib):
        m = lib.nn.Linear(2, 2)
        (m(lib.ones(1, 2)) ** 2).sum().backward(create_graph=True)
        g = m.weight.grad
        before = (g._version, g.grad_fn is not None, g.requires_grad)
        if where == "optimizer":
            lib.optim.SGD(m.parameters(), lr=0.1).zero_grad(set_to_none=False)
        else:
            m.zero_grad(set_to_none=False)
        after = m.weight.grad
        return before, (after is g, g._version, g.grad_fn, g.requires_grad, g.tolist())

    assert run(cr) == run(torch)


def test_assigned_grad_is_the_tensor_as_torch():
    """``p.grad = t``: the same object, so ``t.add_`` shows in ``p.grad`` and both versions;
    backward and ``zero_grad(set_to_none=False)`` then write into it in place."""

    def run(lib):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        t = lib.ones(2)
        p.grad = t
        t.add_(1)
        out = [(p.grad is t, p.grad._version, p.grad.tolist())]
        (p * 2).sum().backward()
        out.append((p.grad is t, t._version, t.tolist()))
        lib.optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
        out.append((p.grad is t, t._version, t.tolist()))
        return out

    assert run(cr) == run(torch)
