"""``cr.fx.Interpreter``, ``Transformer`` and ``wrap`` against torch.fx's (live): the
shape-propagation pass from torch's documentation, the documentation's function-swapping
Interpreter, a Transformer rewriting ReLU into GELU, and wrapped functions recorded as
calls."""

from __future__ import annotations

import pytest
import torch
import torch.fx

import chainrule as cr
import chainrule.fx as fx

from ._models import BUILDERS, INPUT_SHAPES, assert_same, copy_weights, pair_inputs, signature


def scaled_norm(x, k):
    """A function the tracer cannot follow (Python on a value); wrapped below."""
    return x / max(float(len(x)), k)


fx.wrap("scaled_norm")
torch.fx.wrap("scaled_norm")


class ShapeProp:
    """torch.fx's documented shape propagation (the hand-written interpreter loop)."""

    def __init__(self, lib, mod):
        self.lib = lib
        self.mod = mod
        self.graph = mod.graph
        self.modules = dict(self.mod.named_modules())

    def propagate(self, *args):
        args_iter = iter(args)
        env = {}

        def load_arg(a):
            return self.lib.fx.graph.map_arg(a, lambda n: env[n.name])

        def fetch_attr(target):
            attr_itr = self.mod
            for atom in target.split("."):
                attr_itr = getattr(attr_itr, atom)
            return attr_itr

        for node in self.graph.nodes:
            if node.op == "placeholder":
                result = next(args_iter)
            elif node.op == "get_attr":
                result = fetch_attr(node.target)
            elif node.op == "call_function":
                result = node.target(*load_arg(node.args), **load_arg(node.kwargs))
            elif node.op == "call_method":
                self_obj, *args = load_arg(node.args)
                kwargs = load_arg(node.kwargs)
                result = getattr(self_obj, node.target)(*args, **kwargs)
            elif node.op == "call_module":
                result = self.modules[node.target](*load_arg(node.args), **load_arg(node.kwargs))
            else:
                return load_arg(node.args[0])
            if isinstance(result, self.lib.Tensor):
                node.shape = result.shape
                node.dtype = result.dtype
            env[node.name] = result
        return None


def _shape_prop_interpreter(lib):
    class ShapePropInterpreter(lib.fx.Interpreter):
        """The same pass as an Interpreter: run_node records each tensor's shape."""

        def run_node(self, n):
            result = super().run_node(n)
            if isinstance(result, lib.Tensor):
                n.meta["shape"] = tuple(result.shape)
                n.meta["dtype"] = str(result.dtype)
            return result

    return ShapePropInterpreter


def _shapes(graph, key):
    return [(n.name, key(n)) for n in graph.nodes]


@pytest.mark.parametrize("name", ["mlp", "cnn", "residual"])
def test_documented_shape_propagation_as_torchs(name):
    theirs, ours = BUILDERS[name](torch), BUILDERS[name](cr)
    copy_weights(theirs, ours)
    t_gm, c_gm = torch.fx.symbolic_trace(theirs), fx.symbolic_trace(ours)
    tx, cx = pair_inputs(INPUT_SHAPES[name])
    t_out, c_out = ShapeProp(torch, t_gm).propagate(tx), ShapeProp(cr, c_gm).propagate(cx)
    assert_same(c_out, t_out)

    def key(n):
        return (tuple(getattr(n, "shape", ())), str(getattr(n, "dtype", None)))

    assert _shapes(c_gm.graph, key) == _shapes(t_gm.graph, key)


@pytest.mark.parametrize("name", ["mlp", "cnn", "methods"])
def test_interpreter_shape_propagation_as_torchs(name):
    theirs, ours = BUILDERS[name](torch), BUILDERS[name](cr)
    copy_weights(theirs, ours)
    t_gm, c_gm = torch.fx.symbolic_trace(theirs), fx.symbolic_trace(ours)
    tx, cx = pair_inputs(INPUT_SHAPES[name])
    t_out = _shape_prop_interpreter(torch)(t_gm).run(tx)
    c_out = _shape_prop_interpreter(cr)(c_gm).run(cx)
    assert_same(c_out, t_out)

    def key(n):
        return n.meta.get("shape"), n.meta.get("dtype")

    assert _shapes(c_gm.graph, key) == _shapes(t_gm.graph, key)


def _neg_sigm_swap(lib):
    class NegSigmSwapInterpreter(lib.fx.Interpreter):
        """torch.fx's documented Interpreter: sigmoid and neg swapped at run time."""

        def call_function(self, target, args, kwargs):
            if target == lib.sigmoid:
                return lib.neg(*args, **kwargs)
            return super().call_function(target, args, kwargs)

        def call_method(self, target, args, kwargs):
            if target == "neg":
                call_self, *args_tail = args
                return call_self.sigmoid(*args_tail, **kwargs)
            return super().call_method(target, args, kwargs)

    return NegSigmSwapInterpreter


def test_documented_swapping_interpreter():
    def fn(x):
        return lib.sigmoid(x).neg()

    outs = []
    for lib in (torch, cr):
        gm = lib.fx.symbolic_trace(fn)
        x = lib.tensor([[-1.0, 0.5], [2.0, 0.0]])
        outs.append(_neg_sigm_swap(lib)(gm).run(x))
        assert_same(outs[-1], lib.neg(x).sigmoid())
    assert_same(outs[1], outs[0])


def test_interpreter_errors_and_defaults():
    gm = fx.symbolic_trace(BUILDERS["methods"](cr))
    with pytest.raises(RuntimeError, match="Expected positional argument for parameter x"):
        fx.Interpreter(gm).run()
    with pytest.raises(TypeError, match="must be a GraphModule or graph must be given"):
        fx.Interpreter(cr.nn.Linear(2, 2))
    interp = fx.Interpreter(gm)
    with pytest.raises(RuntimeError, match="nonexistent target lin.nope"):
        interp.fetch_attr("lin.nope")
    x = pair_inputs(INPUT_SHAPES["methods"])[1]
    assert_same(fx.Interpreter(gm, garbage_collect_values=False).run(x), gm(x))


def _relu_to_gelu_transformer(lib):
    F = lib.nn.functional

    class ReluToGelu(lib.fx.Transformer):
        def call_function(self, target, args, kwargs):
            if target in (F.relu, lib.relu):
                return super().call_function(F.gelu, args, {})
            return super().call_function(target, args, kwargs)

        def call_method(self, target, args, kwargs):
            if target == "relu":
                return super().call_function(F.gelu, args, {})
            return super().call_method(target, args, kwargs)

        def call_module(self, target, args, kwargs):
            if isinstance(self.fetch_attr(target), lib.nn.ReLU):
                return super().call_function(F.gelu, args, {})
            return super().call_module(target, args, kwargs)

    return ReluToGelu


@pytest.mark.parametrize("name", ["mlp", "cnn", "residual", "methods"])
def test_transformer_relu_to_gelu_as_torchs(name):
    theirs, ours = BUILDERS[name](torch), BUILDERS[name](cr)
    copy_weights(theirs, ours)
    theirs.eval()
    ours.eval()
    t_new = _relu_to_gelu_transformer(torch)(torch.fx.symbolic_trace(theirs)).transform()
    c_new = _relu_to_gelu_transformer(cr)(fx.symbolic_trace(ours)).transform()
    assert signature(c_new.graph) == signature(t_new.graph)
    assert isinstance(c_new, fx.GraphModule)
    tx, cx = pair_inputs(INPUT_SHAPES[name])
    assert_same(c_new(cx), t_new(tx))


def test_wrapped_function_is_one_call_node():
    def fn(x):
        return scaled_norm(x.relu(), 2.0) + 1

    t_gm, c_gm = torch.fx.symbolic_trace(fn), fx.symbolic_trace(fn)
    assert signature(c_gm.graph) == signature(t_gm.graph)
    assert ("call_function", "scaled_norm", "scaled_norm") in signature(c_gm.graph)
    tx, cx = pair_inputs((3, 2))
    assert_same(c_gm(cx), t_gm(tx))
    assert scaled_norm.__module__ == __name__  # the global is restored after tracing
    assert globals()["scaled_norm"] is scaled_norm


def test_wrap_outside_module_scope_and_bad_arguments():
    with pytest.raises(NotImplementedError, match="top level of a module"):
        fx.wrap("scaled_norm")
    with pytest.raises(TypeError, match="expected a function or the name"):
        fx.wrap(3)
