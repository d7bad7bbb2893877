"""Session 35: Tracer autowrap_modules/autowrap_functions, pickling GraphModules,
replace_pattern_with_filters, eliminate_dead_code/lint, replace_all_uses_with,
inserting_before/after and Proxy iteration errors, against torch.fx 2.13 live."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.fx as tfx

import chainrule as cr
import chainrule.fx as cfx

from . import _autowrap_session35 as H


def nodes(graph):
    return [(n.op, n.name) for n in graph.nodes]


def error_type(fn):
    """The name of the exception type ``fn()`` raises (None when it returns): chainrule's
    TraceError is its own class of torch's name."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is compared
        return type(exc).__name__
    return None


AUTOWRAP = [
    ("default", {}),
    ("none", {"autowrap_modules": ()}),
    ("functions", {"autowrap_functions": (H.helper,)}),
    ("modules", {"autowrap_modules": (H,)}),
]


@pytest.mark.parametrize("fn", [H.uses_sqrt, H.uses_math_sqrt, H.uses_helper])
@pytest.mark.parametrize(("label", "kw"), AUTOWRAP, ids=[a[0] for a in AUTOWRAP])
def test_autowrap_nodes_match(fn, label, kw):
    def trace(fx):
        return nodes(fx.Tracer(**kw).trace(fn))

    expected = error_type(lambda: trace(tfx))
    assert error_type(lambda: trace(cfx)) == expected
    if expected is None:
        assert trace(cfx) == trace(tfx)


def test_autowrapped_graph_runs_as_torch():
    x = np.arange(4.0)
    ours = cfx.symbolic_trace(H.uses_sqrt)(cr.tensor(x))
    theirs = tfx.symbolic_trace(H.uses_sqrt)(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_tracer_arguments_are_not_ignored():
    with pytest.raises(NotImplementedError, match="param_shapes_constant"):
        cfx.Tracer(param_shapes_constant=True)
    with pytest.raises(TypeError, match="autowrap_modules"):
        cfx.Tracer(autowrap_modules=("math",))


def _model(M):
    class Net(M.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = M.nn.Linear(3, 3)

        def forward(self, x, y):
            a = M.relu(x) + y
            b = M.relu(y) * 2
            c = self.lin(a) - b
            return M.sigmoid(c) + M.relu(x)

    return Net()


def _both():
    cr.manual_seed(0)
    ours = cfx.symbolic_trace(_model(cr))
    theirs = tfx.symbolic_trace(_model(torch))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_graph_module_copies_match(how):
    ours, theirs = _both()

    def dup(m):
        return pickle.loads(pickle.dumps(m)) if how == "pickle" else copy.deepcopy(m)

    c, t = dup(ours), dup(theirs)
    assert nodes(c.graph) == nodes(t.graph)
    assert type(c).__name__ == type(t).__name__
    x, y = np.ones((2, 3), np.float32), np.full((2, 3), 0.5, np.float32)
    np.testing.assert_allclose(
        c(cr.tensor(x), cr.tensor(y)).detach().numpy(),
        t(torch.tensor(x), torch.tensor(y)).detach().numpy(),
        rtol=1e-6,
    )


def _dce(fx, M, gm):
    graph = gm.graph
    x = next(n for n in graph.nodes if n.op == "placeholder")
    with graph.inserting_after(x):
        dead = graph.call_function(M.relu, (x,))
        graph.call_method("neg", (dead,))  # inserted before `dead`: out of order
    return graph.eliminate_dead_code()


def test_eliminate_dead_code_lints_first_as_torch():
    ours, theirs = _both()
    assert error_type(lambda: _dce(cfx, cr, ours)) == error_type(lambda: _dce(tfx, torch, theirs))
    ours, theirs = _both()
    for M, gm in ((cr, ours), (torch, theirs)):
        g = gm.graph
        with g.inserting_before(g.output_node()):
            g.call_method("neg", (g.call_function(M.relu, (next(iter(g.nodes)),)),))
    assert ours.graph.eliminate_dead_code() == theirs.graph.eliminate_dead_code() is True
    assert nodes(ours.graph) == nodes(theirs.graph)


def test_inserting_points_and_replace_all_uses_with_match():
    results = []
    for M, gm in zip((cr, torch), _both(), strict=True):
        g = gm.graph
        x = next(n for n in g.nodes if n.op == "placeholder")
        with g.inserting_after(x):
            g.call_function(M.neg, (x,))
            new = g.call_function(M.tanh, (x,))
        with g.inserting_before(g.output_node()):
            g.call_function(M.exp, (x,))
        with g.inserting_before():
            g.placeholder("z")
        relu = next(n for n in g.nodes if n.name == "relu")
        relu.meta["k"] = 1
        changed = relu.replace_all_uses_with(
            new, delete_user_cb=lambda u: u.name == "add", propagate_meta=True
        )
        results.append((nodes(g), [u.name for u in changed], dict(new.meta)))
        b = next(n for n in g.nodes if n.name == "relu_1")
        b.meta["j"] = 2
        results.append(
            error_type(lambda b=b, relu=relu: relu.replace_all_uses_with(b, propagate_meta=True))
        )
    assert results[0] == results[2]
    assert results[1] == results[3] == "AssertionError"


def test_lint_errors_match():
    def bad_target(gm, op):
        g = gm.graph
        with g.inserting_before(g.output_node()):
            g.create_node(op, "lin.nope" if op == "call_module" else "nope", ())
        g.lint()

    for op in ("get_attr", "call_module"):
        ours, theirs = _both()
        got = error_type(lambda o=ours, k=op: bad_target(o, k))
        assert got == error_type(lambda t=theirs, k=op: bad_target(t, k)), op


def pattern(x, y):
    return cr.relu(x) + y


def replacement(x, y):
    return cr.sigmoid(x) - y


def t_pattern(x, y):
    return torch.relu(x) + y


def t_replacement(x, y):
    return torch.sigmoid(x) - y


def _program(M):
    def f(x, y):
        a = M.relu(x) + y
        b = M.relu(y) + x
        return M.sigmoid(a) * 3 + b

    return f


FILTERS = [
    ("none", {}),
    ("reject", {"match_filters": [lambda m, g, p: False]}),
    ("x input", {"match_filters": [lambda m, g, p: m.placeholder_nodes[0].name == "x"]}),
    ("ignore_literals", {"ignore_literals": True}),
]


@pytest.mark.parametrize(("label", "kw"), FILTERS, ids=[f[0] for f in FILTERS])
def test_replace_pattern_with_filters_matches(label, kw):
    ours = cfx.symbolic_trace(_program(cr))
    theirs = tfx.symbolic_trace(_program(torch))
    got = cfx.subgraph_rewriter.replace_pattern_with_filters(ours, pattern, replacement, **kw)
    want = tfx.subgraph_rewriter.replace_pattern_with_filters(
        theirs, t_pattern, t_replacement, **kw
    )
    assert [r.anchor.name for r in got] == [r.anchor.name for r in want]
    assert [sorted(n.name for n in r.replacements) for r in got] == [
        sorted(n.name for n in r.replacements) for r in want
    ]
    assert nodes(ours.graph) == nodes(theirs.graph)
    assert ours.code.replace("chainrule.", "torch.") == theirs.code


def test_node_name_match_is_refused():
    gm = cfx.symbolic_trace(_program(cr))
    with pytest.raises(NotImplementedError, match="node_name_match"):
        cfx.subgraph_rewriter.replace_pattern_with_filters(
            gm, pattern, replacement, node_name_match="add"
        )


def test_call_module_of_a_missing_submodule_matches():
    for gm in _both():
        with pytest.raises(AttributeError, match="Linear has no attribute `nope`"):
            gm.graph.call_module("lin.nope", ())


def test_replacement_callback_and_literals_match():
    def f(M):
        return lambda x: x * 3 + x * 5

    for kw in ({}, {"ignore_literals": True}):
        ours, theirs = cfx.symbolic_trace(f(cr)), tfx.symbolic_trace(f(torch))
        cfx.subgraph_rewriter.replace_pattern_with_filters(
            ours, lambda x: x * 3, lambda x: x + x + x, **kw
        )
        tfx.subgraph_rewriter.replace_pattern_with_filters(
            theirs, lambda x: x * 3, lambda x: x + x + x, **kw
        )
        assert nodes(ours.graph) == nodes(theirs.graph)
    ours = cfx.symbolic_trace(_program(cr))
    theirs = tfx.symbolic_trace(_program(torch))
    cfx.subgraph_rewriter.replace_pattern_with_filters(
        ours,
        pattern,
        None,
        replacement_callback=lambda m, g, p: cfx.symbolic_trace(replacement).graph,
    )
    tfx.subgraph_rewriter.replace_pattern_with_filters(
        theirs,
        t_pattern,
        None,
        replacement_callback=lambda m, g, p: tfx.symbolic_trace(t_replacement).graph,
    )
    assert nodes(ours.graph) == nodes(theirs.graph)


def _f_len(x):
    return len(x)


def _f_loop(x):
    return [y for y in x]


def _f_unpack(x):
    a, b = x
    return a + b


def _f_shape(x):
    a, b = x.shape
    return x.view(b, a)


def _f_bool(x):
    return 1 if x else 0


@pytest.mark.parametrize("fn", [_f_len, _f_loop, _f_unpack, _f_shape, _f_bool])
def test_proxy_iteration_and_len_match(fn):
    expected = error_type(lambda: tfx.symbolic_trace(fn))
    assert error_type(lambda: cfx.symbolic_trace(fn)) == expected
    if expected is None:
        assert nodes(cfx.symbolic_trace(fn).graph) == nodes(tfx.symbolic_trace(fn).graph)
