"""``cr.fx.symbolic_trace`` against ``torch.fx.symbolic_trace`` (live): the same models
traced by both give the same nodes (op, name, target), and the GraphModules compute what
the modules do, with the original's state_dict."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch
import torch.fx

import chainrule as cr
import chainrule.fx as fx

from ._models import (
    BUILDERS,
    INPUT_SHAPES,
    assert_same,
    branchy,
    copy_weights,
    function,
    pair_inputs,
    signature,
)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_models_trace_to_torchs_nodes(name):
    theirs, ours = BUILDERS[name](torch), BUILDERS[name](cr)
    t_gm, c_gm = torch.fx.symbolic_trace(theirs), fx.symbolic_trace(ours)
    assert signature(c_gm.graph) == signature(t_gm.graph)
    assert type(c_gm).__name__ == type(t_gm).__name__ == type(ours).__name__


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_graph_module_runs_like_the_module_and_torchs(name):
    theirs, ours = BUILDERS[name](torch), BUILDERS[name](cr)
    copy_weights(theirs, ours)
    theirs.eval()
    ours.eval()
    t_gm, c_gm = torch.fx.symbolic_trace(theirs), fx.symbolic_trace(ours)
    tx, cx = pair_inputs(INPUT_SHAPES[name])
    assert_same(c_gm(cx), ours(cx))
    assert_same(c_gm(cx), t_gm(tx))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_state_dict_keys_and_values_as_torchs(name):
    theirs, ours = BUILDERS[name](torch), BUILDERS[name](cr)
    copy_weights(theirs, ours)
    t_sd = torch.fx.symbolic_trace(theirs).state_dict()
    c_sd = fx.symbolic_trace(ours).state_dict()
    assert list(c_sd) == list(t_sd)
    original = ours.state_dict()
    for key, value in c_sd.items():
        if key in original:
            assert value is original[key] or np.array_equal(value.numpy(), original[key].numpy())


def test_parameters_are_shared_with_the_original():
    ours = BUILDERS["mlp"](cr)
    gm = fx.symbolic_trace(ours)
    assert gm.fc1.weight is ours.fc1.weight
    assert gm.get_submodule("fc1") is ours.fc1


def test_function_with_root_ops_and_operators():
    t_gm = torch.fx.symbolic_trace(function(torch))
    c_gm = fx.symbolic_trace(function(cr))
    assert signature(c_gm.graph) == signature(t_gm.graph)
    (ta, ca), (tb, cb) = pair_inputs((3, 3), 1), pair_inputs((3, 3), 2)
    assert_same(c_gm(ca, cb), t_gm(ta, tb))
    assert_same(c_gm(ca, cb), function(cr)(ca, cb))
    assert type(c_gm).__name__ == "fn"


def test_generated_code_is_torchs_with_chainrule_names():
    t_gm = torch.fx.symbolic_trace(function(torch))
    c_gm = fx.symbolic_trace(function(cr))
    assert c_gm.code == t_gm.code.replace("torch.", "chainrule.")
    t_gm = torch.fx.symbolic_trace(BUILDERS["methods"](torch))
    c_gm = fx.symbolic_trace(BUILDERS["methods"](cr))
    assert c_gm.code == t_gm.code.replace("torch.", "chainrule.")


def test_graph_str_as_torchs():
    t_gm = torch.fx.symbolic_trace(BUILDERS["residual"](torch))
    c_gm = fx.symbolic_trace(BUILDERS["residual"](cr))
    # F.relu is recorded in torch's form (inplace=False added) since session 39
    expected = str(t_gm.graph).replace("torch.", "chainrule.")
    assert str(c_gm.graph) == expected


@pytest.mark.parametrize("mode", ["double", "other"])
def test_concrete_args(mode):
    t_gm = torch.fx.symbolic_trace(branchy(torch), concrete_args={"mode": mode})
    c_gm = fx.symbolic_trace(branchy(cr), concrete_args={"mode": mode})
    assert signature(c_gm.graph) == signature(t_gm.graph)
    tx, cx = pair_inputs((4,))
    assert_same(c_gm(cx, 3.0, mode), t_gm(tx, 3.0, mode))
    other = "other" if mode == "double" else "double"
    with pytest.raises(AssertionError) as t_err:
        t_gm(tx, 3.0, other)
    with pytest.raises(AssertionError) as c_err:
        c_gm(cx, 3.0, other)
    assert str(c_err.value) == str(t_err.value)


def test_concrete_none():
    def f(x, bias):
        return x if bias is None else x + bias

    t_gm = torch.fx.symbolic_trace(f, concrete_args={"bias": None})
    c_gm = fx.symbolic_trace(f, concrete_args={"bias": None})
    assert signature(c_gm.graph)[:-1] == signature(t_gm.graph)[:-1]
    assert c_gm(cr.ones(2), None).tolist() == [1.0, 1.0]
    with pytest.raises(AssertionError, match="specialized to have value None"):
        c_gm(cr.ones(2), 1.0)


def test_control_flow_on_traced_values_is_torchs_trace_error():
    def f(x):
        if x.sum() > 0:
            return x
        return -x

    with pytest.raises(torch.fx.proxy.TraceError) as t_err:
        torch.fx.symbolic_trace(f)
    with pytest.raises(fx.TraceError) as c_err:
        fx.symbolic_trace(f)
    assert str(c_err.value) == str(t_err.value)
    assert isinstance(c_err.value, ValueError)


def test_iterating_a_proxy_is_torchs_trace_error():
    def f(x):
        return [y for y in x]

    with pytest.raises(torch.fx.proxy.TraceError) as t_err:
        torch.fx.symbolic_trace(f)
    with pytest.raises(fx.TraceError) as c_err:
        fx.symbolic_trace(f)
    assert str(c_err.value) == str(t_err.value)


def test_len_of_a_proxy_names_wrap():
    def f(x):
        return x * len(x)

    with pytest.raises(RuntimeError) as t_err:
        torch.fx.symbolic_trace(f)
    with pytest.raises(RuntimeError) as c_err:
        fx.symbolic_trace(f)
    assert str(c_err.value) == str(t_err.value).replace("torch.fx", "chainrule.fx")


def test_tracing_restores_module_call_and_getattr():
    call, getattr_ = cr.nn.Module.__call__, cr.nn.Module.__getattr__

    def f(x):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fx.symbolic_trace(f)
    assert cr.nn.Module.__call__ is call and cr.nn.Module.__getattr__ is getattr_
    model = BUILDERS["mlp"](cr)
    assert isinstance(model(cr.ones(2, 6)), cr.Tensor)  # runs outside a trace as before


def test_custom_leaf_modules():
    class MyLeafTracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return qualname == "head" or super().is_leaf_module(m, qualname)

    class TorchLeafTracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return qualname == "head" or super().is_leaf_module(m, qualname)

    c_graph = MyLeafTracer().trace(BUILDERS["cnn"](cr))
    t_graph = TorchLeafTracer().trace(BUILDERS["cnn"](torch))
    assert signature(c_graph) == signature(t_graph)
    assert ("call_module", "head", "head") in signature(c_graph)


def test_bad_root_and_concrete_names():
    with pytest.raises(TypeError, match="expected an nn.Module or a function, got int"):
        fx.symbolic_trace(3)
    with pytest.raises(TypeError, match=r"concrete_args names \['nope'\]"):
        fx.symbolic_trace(lambda x: x, concrete_args={"nope": 1})
    with pytest.raises(TypeError, match="autowrap_modules takes modules"):
        fx.Tracer(autowrap_modules=(np.sqrt,))


def test_operator_targets_are_the_operator_functions():
    gm = fx.symbolic_trace(lambda x: (x + 1) @ x)
    targets = [n.target for n in gm.graph.nodes if n.op == "call_function"]
    assert targets == [operator.add, operator.matmul]


def _unpacking(lib):
    def unpack(x):
        rows, cols = x.shape
        a, b = x.split(1, dim=1)
        (c, d), e = (x.chunk(2, 0), x)
        return a * rows + b * cols + c.sum() + d.sum() + e

    return unpack


def test_unpacking_a_proxy_records_getitems_as_torch():
    t_gm = torch.fx.symbolic_trace(_unpacking(torch))
    c_gm = fx.symbolic_trace(_unpacking(cr))
    assert signature(c_gm.graph) == signature(t_gm.graph)
    assert c_gm.code == t_gm.code
    tx, cx = pair_inputs((2, 2))
    assert_same(c_gm(cx), t_gm(tx))
