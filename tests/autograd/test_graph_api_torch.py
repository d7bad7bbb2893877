"""``cr.autograd.graph``'s PyTorch names, compared live with ``torch.autograd.graph``: the
abstract ``Node`` and its ``metadata``, ``GradientEdge`` / ``get_gradient_edge`` (and edges
among ``autograd.grad``'s inputs and outputs), ``register_multi_grad_hook`` and
``increment_version``."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import multi_grad_hook

LIBS = (torch, cr)
X = np.array([0.5, -1.0, 2.0])


def _leaf(lib, values=X):
    return lib.tensor(values, dtype=lib.float64, requires_grad=True)


def _np(t):
    return None if t is None else t.detach().numpy()


def _close(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        if u is None or v is None:
            assert u is None and v is None
        else:
            np.testing.assert_allclose(_np(u), _np(v), rtol=1e-12, atol=1e-12)


def _error(fn):
    """The exception type and message ``fn()`` raises (fails the test if none)."""
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


class _Twice:
    """A custom Function in both libraries (a Function node among the graph's nodes)."""

    @staticmethod
    def make(lib):
        class Twice(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, grad):
                return grad * 2

        return Twice


# ----------------------------------------------------------------------------------- Node
def _nodes(lib):
    x = _leaf(lib)
    a, b = (x * 1).split([1, 2])
    y = _Twice.make(lib).apply(x).exp()
    return [
        (x * x).grad_fn,
        a.grad_fn,
        y.grad_fn,
        y.grad_fn.next_functions[0][0],  # the custom Function's node
        (x * x).grad_fn.next_functions[0][0],  # the leaf's AccumulateGrad
        (x.sum() * 2).grad_fn.next_functions[1][0],  # None: the scalar PyTorch wraps
    ]


def test_node_isinstance_matches_torch():
    got = {lib: [isinstance(n, lib.autograd.graph.Node) for n in _nodes(lib)] for lib in LIBS}
    assert got[cr] == got[torch] == [True] * 5 + [False]
    for lib in LIBS:
        node_cls = lib.autograd.graph.Node
        others = [None, 3, _leaf(lib), lib.autograd.Function, object()]
        assert not any(isinstance(o, node_cls) for o in others)
        assert issubclass(type(_nodes(lib)[0]), node_cls)
        assert isinstance(node_cls, type) and getattr(node_cls, "__abstractmethods__", None)
        assert _error(node_cls)[0] is TypeError  # abstract: not made by hand
    public = {"name", "next_functions", "metadata", "register_hook", "register_prehook"}
    assert public <= torch.autograd.graph.Node.__abstractmethods__
    assert public <= cr.autograd.graph.Node.__abstractmethods__
    for node in _nodes(cr)[:5]:
        assert all(hasattr(node, m) for m in public)


def test_node_metadata_is_a_dict_per_node():
    for lib in LIBS:
        x = _leaf(lib)
        y = x * 2
        z = y.exp()
        assert y.grad_fn.metadata == {} and type(y.grad_fn.metadata) is dict
        y.grad_fn.metadata["stage"] = 1
        assert y.grad_fn.metadata == {"stage": 1}  # the same dict every time
        assert z.grad_fn.next_functions[0][0].metadata == {"stage": 1}  # the same node
        assert z.grad_fn.metadata == {}
        acc = y.grad_fn.next_functions[0][0]
        acc.metadata["leaf"] = True
        assert (x + 1).grad_fn.next_functions[0][0].metadata == {"leaf": True}
        assert _Twice.make(lib).apply(x).grad_fn.metadata == {}


# ------------------------------------------------------------------------- GradientEdge
def test_get_gradient_edge_matches_torch():
    assert cr.autograd.graph.GradientEdge._fields == torch.autograd.graph.GradientEdge._fields
    assert cr.autograd.graph.GradientEdge._field_defaults == {"ownership_token": None}
    for lib in LIBS:
        g = lib.autograd.graph
        x = _leaf(lib)
        y = x * 2
        leaf_edge = g.get_gradient_edge(x)
        assert leaf_edge.node is y.grad_fn.next_functions[0][0]
        assert (leaf_edge.output_nr, leaf_edge.ownership_token) == (0, None)
        assert g.get_gradient_edge(x) == leaf_edge
        assert g.get_gradient_edge(y) == (y.grad_fn, 0, None)
        _, b = (x * 1).split([1, 2])
        assert g.get_gradient_edge(b) == (b.grad_fn, 1, None)
    errors = [
        _error(lambda lib=lib: lib.autograd.graph.get_gradient_edge(lib.ones(2))) for lib in LIBS
    ]
    assert errors[0] == errors[1]


def _edge_grads(lib):
    """Gradients with respect to edges, the tensors themselves deleted first."""
    g = lib.autograd.graph
    x = _leaf(lib)
    y = x.exp()
    a, b = (y * 1).split([1, 2])
    loss = (y * y).sum() + (a * 3).sum() + (b * b).sum()
    e_y, e_a, e_b, e_x = (g.get_gradient_edge(t) for t in (y, a, b, x))
    del y, a, b  # the tensors are gone (no cycle holds them): the edges still work
    out = list(lib.autograd.grad(loss, [e_y, x, e_b, e_a, e_y, e_x], retain_graph=True))
    out += lib.autograd.grad(loss, e_y, retain_graph=True)  # one edge, not in a list
    (gy,) = lib.autograd.grad(loss, [e_y], create_graph=True)
    out += lib.autograd.grad(gy.sum(), x)  # a second derivative through the edge's gradient
    return out


def test_grad_with_respect_to_edges_matches_torch():
    _close(_edge_grads(cr), _edge_grads(torch))


def _edge_hooks_and_unused(lib):
    g = lib.autograd.graph
    x = _leaf(lib)
    x.register_hook(lambda grad: grad * 10)  # hooks apply to the edge's gradient
    y = x * 3
    y.register_hook(lambda grad: grad + 1)
    loss = (y * y).sum()
    unused = g.get_gradient_edge(_leaf(lib) * 2)
    out = list(lib.autograd.grad(loss, g.get_gradient_edge(x), retain_graph=True))
    out += lib.autograd.grad(loss, g.get_gradient_edge(y), retain_graph=True)
    out += lib.autograd.grad(loss, [unused, x], retain_graph=True, allow_unused=True)
    return out


def test_edge_gradients_run_hooks_and_may_be_unused_as_torch():
    _close(_edge_hooks_and_unused(cr), _edge_hooks_and_unused(torch))


def test_edge_input_errors_match_torch():
    def materialize(lib, used):
        x = _leaf(lib)
        y = x * 2
        edge = lib.autograd.graph.get_gradient_edge(y if used else x * 5)
        return lib.autograd.grad(y.sum(), [x, edge], materialize_grads=True)

    _close(materialize(cr, True), materialize(torch, True))  # fine while the edge is used
    assert _error(lambda: materialize(cr, False)) == _error(lambda: materialize(torch, False))
    for lib in LIBS:  # an unused edge without allow_unused; a bare tuple is not an edge
        x = _leaf(lib)
        y = x * 2
        grad = lib.autograd.grad
        unused = lib.autograd.graph.get_gradient_edge(x * 5)
        kind, _ = _error(lambda grad=grad, y=y, e=unused: grad(y.sum(), e, retain_graph=True))
        assert kind is RuntimeError
        kind, msg = _error(lambda grad=grad, y=y: grad(y.sum(), [(y.grad_fn, 0)]))
        assert kind is RuntimeError and "all inputs have to be Tensors or GradientEdges" in msg


def _edge_outputs(lib):
    g = lib.autograd.graph
    x = _leaf(lib)
    w = (x * 3).sin()
    s = (x * x).sum()
    ew, es, ex = g.get_gradient_edge(w), g.get_gradient_edge(s), g.get_gradient_edge(x)
    ones = lib.ones(3, dtype=lib.float64)
    out = list(lib.autograd.grad(ew, x, grad_outputs=ones * 2, retain_graph=True))
    out += lib.autograd.grad([ew, w.sum()], x, grad_outputs=[ones, None], retain_graph=True)
    out += lib.autograd.grad(es, x, retain_graph=True)  # a scalar output needs no gradient
    out += lib.autograd.grad(ex, x, grad_outputs=ones)  # a leaf's edge: the gradient itself
    batched = lib.ones(2, 3, dtype=lib.float64)
    out += lib.autograd.grad(ew, x, grad_outputs=batched, is_grads_batched=True, retain_graph=True)
    lib.autograd.backward(ew, grad_tensors=ones, retain_graph=True)
    lib.autograd.backward(s, inputs=[ex], retain_graph=True)  # a leaf's edge fills its .grad
    out.append(x.grad)
    return out, _error(lambda: lib.autograd.grad(ew, x))


def _hand_built_edges(lib):
    x = _leaf(lib)
    y = x.exp()
    z = (y * y).sin()
    edge_y = lib.autograd.graph.GradientEdge(y.grad_fn, 0)  # not from get_gradient_edge
    edge_z = lib.autograd.graph.GradientEdge(z.grad_fn, 0)
    ones = lib.ones(3, dtype=lib.float64)
    out = list(lib.autograd.grad(z.sum(), edge_y, retain_graph=True))
    out += lib.autograd.grad(edge_z, [x, edge_y], grad_outputs=ones * 3)
    return out


def test_hand_built_edges_match_torch():
    _close(_hand_built_edges(cr), _hand_built_edges(torch))


def test_edges_as_outputs_match_torch():
    (got, err_cr), (want, err_torch) = _edge_outputs(cr), _edge_outputs(torch)
    _close(got, want)
    assert err_cr[0] is err_torch[0] is RuntimeError
    assert "grad can be implicitly created only for scalar outputs" in err_cr[1]


# --------------------------------------------------------------------- multi-grad hooks
def _four(lib):
    a = _leaf(lib, [1.0, 2.0])
    b = _leaf(lib, [3.0, 4.0])
    return a, b, a * b, a * b


def _record(calls):
    def fn(grads):
        calls.append(tuple(None if t is None else _np(t).tolist() for t in grads))

    return fn


def _multi_all(lib):
    calls = []
    reg = lib.autograd.graph.register_multi_grad_hook
    a, b, c, d = _four(lib)
    h = reg((a, b, c, d), _record(calls))
    c.sum().backward(retain_graph=True)  # d is not reached: None
    c.sum().backward(retain_graph=True)  # again: called again
    c.sum().backward(inputs=(a,), retain_graph=True)  # b is not needed: None
    (c.sum() + d.sum()).backward(retain_graph=True)
    (a * 5).sum().backward()  # only a
    (_leaf(lib) * 2).sum().backward()  # none of them: no call
    h.remove()
    c.sum().backward(retain_graph=True)  # removed: no call
    e, f = c * 2, c * 3
    h = reg((c, d, e), _record(calls))
    lib.autograd.grad(e.sum() + d.sum(), [c], retain_graph=True)  # d is not needed
    lib.autograd.grad(e.sum() + d.sum(), [a], retain_graph=True)
    lib.autograd.grad(e.sum() + d.sum(), [e], retain_graph=True)  # only e is computed
    f.sum().backward(retain_graph=True)
    (e.sum() + d.sum()).backward(inputs=[c], retain_graph=True)
    h.remove()
    with reg([c, c], _record(calls)):  # a tensor twice; the handle as a context manager
        c.sum().backward(retain_graph=True)
    c.sum().backward(retain_graph=True)
    return calls


def test_multi_grad_hook_all_matches_torch():
    assert _multi_all(cr) == _multi_all(torch)


def _multi_any(lib):
    calls = []
    a, b, c, d = _four(lib)
    e = c * 2

    def fn(grad):
        calls.append(_np(grad).tolist())

    reg = lib.autograd.graph.register_multi_grad_hook
    h = reg((a, b, c, lib.ones(2)), fn, mode="any")  # a tensor without grad is allowed
    c.sum().backward(retain_graph=True)  # c's gradient comes first
    (c * 3).sum().backward(retain_graph=True)
    lib.autograd.grad(e.sum(), [c], retain_graph=True)
    lib.autograd.grad((e * 7).sum() + (d * 5).sum(), [e], retain_graph=True)  # none computed
    (b * 5).sum().backward(retain_graph=True)
    h.remove()
    c.sum().backward()
    return calls


def test_multi_grad_hook_any_matches_torch():
    assert _multi_any(cr) == _multi_any(torch)


def test_multi_grad_hook_arguments_match_torch():
    for mode in ("all", "any"):
        calls = {}
        for lib in LIBS:  # the hook's return value is ignored
            a, b, c, d = _four(lib)
            lib.autograd.graph.register_multi_grad_hook([c, d], lambda g: [x * 100 for x in g])
            (c.sum() + d.sum()).backward()
            calls[lib] = _np(a.grad)
        np.testing.assert_array_equal(calls[cr], calls[torch])
        errors = []
        for lib in LIBS:
            a, other = _leaf(lib), lib.ones(2)
            reg = lib.autograd.graph.register_multi_grad_hook
            errors.append(_error(lambda reg=reg, a=a: reg((a,), print, mode="some")))
            if mode == "all":
                kind, _ = _error(lambda reg=reg, a=a, o=other: reg((a, o), print))
                assert kind is AssertionError
        assert errors[0] == errors[1]


def test_multi_grad_hook_costs_the_engine_nothing_once_gone():
    live = multi_grad_hook.MULTI_GRAD_HOOKS
    gc.collect()  # hooks of earlier tests' dead graphs
    before = len(live)
    a, b, c, d = _four(cr)
    handle = cr.autograd.graph.register_multi_grad_hook((c, d), print)
    assert len(live) == before + 1  # the engine tracks backward passes while one is alive
    handle.remove()
    assert len(live) == before
    cr.autograd.graph.register_multi_grad_hook((a, c), print)
    del a, b, c, d, handle
    gc.collect()
    assert len(live) == before  # dropped with the graph and the leaf


def test_multi_grad_hook_leaf_in_autograd_grad():
    """PyTorch refuses mode='all' over a leaf during autograd.grad ("currently not
    supported"); chainrule applies the documented rule: the leaf counts as an input."""
    a, b, c, d = _four(torch)
    torch.autograd.graph.register_multi_grad_hook((a, c), print)
    assert _error(lambda: torch.autograd.grad(c.sum(), [a]))[0] is RuntimeError
    calls = []
    a, b, c, d = _four(cr)
    cr.autograd.graph.register_multi_grad_hook((a, b, c), _record(calls))
    (ga,) = cr.autograd.grad(c.sum(), [a])
    assert calls == [(ga.tolist(), None, [1.0, 1.0])]


def test_tensor_backward_accepts_edges_as_inputs():
    grads = []
    for lib in (torch, cr):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, -1.0], requires_grad=True)
        y = ((a * 2) * (a * w)).sum()
        y.backward(inputs=[lib.autograd.graph.get_gradient_edge(a)])
        grads.append((a.grad.tolist(), w.grad))
        y = (a * a).sum()
        a.grad = None
        y.backward(inputs=lib.autograd.graph.get_gradient_edge(a))
        grads.append((a.grad.tolist(), w.grad))
    assert grads[:2] == grads[2:]
