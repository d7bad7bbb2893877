"""Editing graphs by hand as torch.fx's (live): building a Graph, insert points, erasing,
dead-code elimination, lint, node names; rewriting ReLU into GELU in a traced model, which
must compute what torch's rewritten model computes with the same weights."""

from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.fx

import chainrule as cr
import chainrule.fx as fx

from ._models import BUILDERS, INPUT_SHAPES, assert_same, copy_weights, pair_inputs, signature


def _edited(lib, fxlib):
    """The same editing session on either framework: the resulting graph and the nodes."""
    g = fxlib.Graph()
    x = g.placeholder("x")
    r = g.call_function(lib.relu, (x,))
    g.output(r)
    with g.inserting_after(x):
        g.call_function(lib.neg, (x,))
        g.call_function(lib.abs, (x,))
    with g.inserting_before(r):
        g.call_function(lib.sin, (x,), name="MyName")
    with g.inserting_after(None):
        g.call_method("view", (x, -1))
    g.call_function(lib.mul, (r, r), name="relu")
    g.get_attr("layer.0.weight")
    return g


def test_building_a_graph_names_and_orders_nodes_as_torch():
    ours, theirs = _edited(cr, fx), _edited(torch, torch.fx)
    assert signature(ours) == signature(theirs)
    assert [n.name for n in ours.nodes] == [
        "x", "abs_1", "neg", "MyName", "relu", "output", "view", "relu_1", "layer_0_weight",
    ]  # fmt: skip


def test_users_inputs_and_reversed_iteration():
    g = _edited(cr, fx)
    x = next(iter(g.nodes))
    torch_x = next(iter(_edited(torch, torch.fx).nodes))
    assert [u.name for u in x.users] == [u.name for u in torch_x.users]
    relu = [n for n in g.nodes if n.name == "relu"][0]
    assert relu.all_input_nodes == [x]
    assert [n.name for n in reversed(g.nodes)] == [n.name for n in g.nodes][::-1]
    assert len(g.nodes) == 9
    assert relu.prev.name == "MyName" and relu.next.name == "output"


def test_erase_node_with_users_is_torchs_error():
    ours, theirs = _edited(cr, fx), _edited(torch, torch.fx)
    with pytest.raises(RuntimeError) as t_err:
        theirs.erase_node(next(iter(theirs.nodes)))
    with pytest.raises(RuntimeError) as c_err:
        ours.erase_node(next(iter(ours.nodes)))
    assert str(c_err.value) == str(t_err.value)


def test_eliminate_dead_code_as_torch():
    ours, theirs = _edited(cr, fx), _edited(torch, torch.fx)
    assert ours.eliminate_dead_code() == theirs.eliminate_dead_code() is True
    assert signature(ours) == signature(theirs)
    assert ours.eliminate_dead_code() is theirs.eliminate_dead_code() is False


def test_in_place_methods_survive_dead_code_elimination():
    g = fx.Graph()
    x = g.placeholder("x")
    g.call_method("add_", (x, 1))
    g.call_method("add", (x, 1))
    g.output(x)
    g.eliminate_dead_code()
    assert [n.target for n in g.nodes] == ["x", "add_", "output"]


def _cyclic(lib, fxlib):
    g = fxlib.Graph()
    x = g.placeholder("x")
    a = g.call_function(lib.neg, (x,))
    b = g.call_function(lib.exp, (a,))
    g.output(b)
    g.lint()
    a.args = (b,)
    return g


def test_lint_finds_use_before_definition_as_torch():
    with pytest.raises(RuntimeError) as t_err:
        _cyclic(torch, torch.fx).lint()
    with pytest.raises(RuntimeError) as c_err:
        _cyclic(cr, fx).lint()
    assert str(c_err.value) == str(t_err.value).replace("torch.", "chainrule.")


@pytest.mark.parametrize("target", ["missing", "fc1.nope"])
def test_lint_checks_module_targets_as_torch(target):
    errors = []
    for lib in (torch, cr):
        gm = lib.fx.symbolic_trace(BUILDERS["mlp"](lib))
        gm.graph.lint()
        next(n for n in gm.graph.nodes if n.op == "call_module").target = target
        with pytest.raises(RuntimeError) as err:
            gm.graph.lint()
        errors.append(str(err.value))
    assert errors[1] == errors[0]


def test_replace_all_uses_with_and_python_code():
    ours, theirs = _edited(cr, fx), _edited(torch, torch.fx)
    for g, lib in ((ours, cr), (theirs, torch)):
        x = next(iter(g.nodes))
        with g.inserting_after(x):
            y = g.call_function(lib.exp, (x,))
        changed = x.replace_all_uses_with(y, delete_user_cb=lambda u, y=y: u is not y)
        assert y not in changed and len(changed) == 5
    assert signature(ours) == signature(theirs)
    theirs_src = theirs.python_code("self").src.replace("torch.", "chainrule.")
    assert ours.python_code("self").src == theirs_src


def test_create_node_and_bad_arguments():
    g = fx.Graph()
    x = g.create_node("placeholder", "x")
    n = g.create_node("call_method", "view", (x, 2))
    assert (n.op, n.name, n.args, n.kwargs) == ("call_method", "view", (x, 2), {})
    with pytest.raises(ValueError, match="op must be one of"):
        g.create_node("call", "view")
    with pytest.raises(TypeError, match="args must be a tuple, got list"):
        g.create_node("call_method", "view", [x])
    with pytest.raises(ValueError, match="a Callable is expected"):
        g.create_node("call_function", "relu", (x,))


def test_print_tabular_as_torchs(capsys):
    if importlib.util.find_spec("tabulate") is None:  # both print the same hint and raise
        for lib in (torch, cr):
            with pytest.raises(ModuleNotFoundError):
                _edited(lib, lib.fx).print_tabular()
        t_out, c_out = capsys.readouterr().out.split("\n")[:2]
        assert "pip install tabulate" in c_out and c_out == t_out
    else:
        _edited(cr, fx).print_tabular()
        assert "opcode" in capsys.readouterr().out


def _relu_to_gelu(lib, gm):
    """torch.fx's graph-rewriting recipe: each ReLU (module, function or method) becomes a
    call of F.gelu inserted after it, the ReLU node erased."""
    F = lib.nn.functional
    for node in list(gm.graph.nodes):
        is_fn = node.op == "call_function" and node.target in (F.relu, lib.relu)
        is_method = node.op == "call_method" and node.target == "relu"
        is_module = node.op == "call_module" and isinstance(
            gm.get_submodule(node.target), lib.nn.ReLU
        )
        if is_fn or is_method or is_module:
            with gm.graph.inserting_after(node):
                new = gm.graph.call_function(F.gelu, (node.args[0],))
            node.replace_all_uses_with(new)
            gm.graph.erase_node(node)
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm


@pytest.mark.parametrize("name", ["mlp", "cnn", "residual"])
def test_relu_to_gelu_rewrite_matches_torchs(name):
    theirs, ours = BUILDERS[name](torch), BUILDERS[name](cr)
    copy_weights(theirs, ours)
    theirs.eval()
    ours.eval()
    t_gm = _relu_to_gelu(torch, torch.fx.symbolic_trace(theirs))
    c_gm = _relu_to_gelu(cr, fx.symbolic_trace(ours))
    assert signature(c_gm.graph) == signature(t_gm.graph)
    assert "gelu" in c_gm.code and "relu" not in c_gm.code.replace("gelu", "")
    assert [k for k, _ in c_gm.named_modules()] == [k for k, _ in t_gm.named_modules()]
    tx, cx = pair_inputs(INPUT_SHAPES[name])
    assert_same(c_gm(cx), t_gm(tx))
    with pytest.raises(AssertionError):  # the rewrite changed what it computes
        assert_same(c_gm(cx), ours(cx))


def test_graph_assignment_recompiles():
    gm = fx.symbolic_trace(lambda x: cr.relu(x) * 2)
    g = fx.Graph()
    x = g.placeholder("x")
    g.output(g.call_function(cr.neg, (x,)))
    gm.graph = g
    assert gm(cr.tensor([1.0, -2.0])).tolist() == [-1.0, 2.0]
    assert "chainrule.neg(x)" in gm.code


def test_graph_module_from_a_dict_root_and_copies():
    import copy

    lin = cr.nn.Linear(2, 2)
    g = fx.Graph()
    x = g.placeholder("x")
    g.output(g.call_module("block.lin", (x,)))
    gm = fx.GraphModule({"block.lin": lin}, g)
    assert gm.block.lin is lin and type(gm).__name__ == "GraphModule"
    inp = cr.ones(1, 2)
    assert_same(gm(inp), lin(inp))
    clone = copy.deepcopy(gm)
    assert clone.block.lin is not lin
    assert_same(clone(inp), lin(inp))
    with pytest.raises(AttributeError, match="Module has no attribute `other`"):
        g.call_module("block.other", (x,))  # g is owned: the submodule is looked up
    g2 = fx.Graph()
    g2.output(g2.call_module("block.other", (g2.placeholder("x"),)))
    with pytest.raises(RuntimeError, match="target block.other but that target was not provided"):
        fx.GraphModule({"block.lin": lin}, g2)
