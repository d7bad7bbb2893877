"""Gaps found by the session-38 drop-in programs (helper a: PyTorch tutorials and recipes,
UvA and university course notebooks).

Each test pins one fix against the installed PyTorch: chainrule functions called on
``fx.Proxy`` values outside a trace (the ``fx.Transformer`` and decomposition idioms of the
torch.fx docs), and ``torch.utils.benchmark``'s input fuzzers (the "PyTorch Benchmark"
recipe's ``Fuzzer``).
"""

from __future__ import annotations

import importlib
import operator
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _both() -> list[Any]:
    return [torch, cr]


def _transformed(lib: Any) -> tuple[Any, list[tuple[str, str]]]:
    """The docs' ``Transformer`` swapping ``relu`` for ``neg`` (a function call on proxies),
    and ``sum`` for a mean of ``exp``, with a ``torch.Tensor.dim_order`` call on the way (a
    Tensor method called through the class: ``call_method``)."""
    fx = lib.fx

    class M(lib.nn.Module):
        def forward(self, x: Any) -> Any:
            return lib.relu(x).sum(dim=1) + lib.sigmoid(x)[:, 0]

    class Swap(fx.Transformer):
        def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
            if target == lib.relu:
                return lib.neg(*args, **kwargs)
            return super().call_function(target, args, kwargs)

        def call_method(self, target: Any, args: Any, kwargs: Any) -> Any:
            if target == "sum":
                lib.Tensor.dim_order(args[0])  # a Tensor-only method, called through the class
                return lib.exp(args[0]).mean(**kwargs)
            return super().call_method(target, args, kwargs)

    gm = Swap(fx.symbolic_trace(M())).transform()
    nodes = [(n.op, getattr(n.target, "__name__", n.target)) for n in gm.graph.nodes]
    return gm, nodes


def test_transformer_override_calling_a_function_records_it() -> None:
    """``return torch.neg(*args, **kwargs)`` inside ``Transformer.call_function`` receives
    proxies and must record a node (torch's ``Proxy.__torch_function__``); a Tensor method
    called through the class records ``call_method``."""
    gm_t, nodes_t = _transformed(torch)
    gm_c, nodes_c = _transformed(cr)
    assert nodes_c == nodes_t
    assert ("call_function", "neg") in nodes_c and ("call_method", "dim_order") in nodes_c
    x = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_allclose(
        gm_c(cr.tensor(x)).numpy(), gm_t(torch.tensor(x)).numpy(), rtol=1e-12
    )


def _decomposed(lib: Any) -> tuple[list[str], Any]:
    """The torch.fx docs' "Proxy/Retracing" decomposition: run a rule on ``fx.Proxy(node)``
    values that calls library functions, then copy the other nodes."""
    fx, F = lib.fx, lib.nn.functional

    def gelu_decomposition(x: Any) -> Any:
        return 0.5 * x * (1 + lib.erf(x / 1.4142135623730951))

    class M(lib.nn.Module):
        def forward(self, x: Any) -> Any:
            return F.gelu(x) * 2

    graph = fx.symbolic_trace(M()).graph
    new_graph = fx.Graph()
    env: dict[str, Any] = {}
    tracer = fx.proxy.GraphAppendingTracer(new_graph)
    for node in graph.nodes:
        if node.op == "call_function" and node.target is F.gelu:
            proxy_args = [fx.Proxy(env[a.name], tracer) for a in node.args]
            env[node.name] = gelu_decomposition(*proxy_args).node
        else:
            env[node.name] = new_graph.node_copy(node, lambda a: env[a.name])
    gm = fx.GraphModule(M(), new_graph)
    return [str(n.op) for n in gm.graph.nodes], gm


def test_decomposition_on_graph_appending_proxies() -> None:
    ops_t, gm_t = _decomposed(torch)
    ops_c, gm_c = _decomposed(cr)
    assert ops_c == ops_t
    x = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(
        gm_c(cr.tensor(x)).numpy(), gm_t(torch.tensor(x)).numpy(), rtol=1e-12
    )


@pytest.mark.parametrize("lib_name", ["torch", "chainrule"])
def test_proxies_of_two_tracers_raise(lib_name: str) -> None:
    lib = importlib.import_module(lib_name)
    fx = lib.fx
    a = fx.Proxy(fx.Graph().placeholder("a"))
    b = fx.Proxy(fx.Graph().placeholder("b"))
    with pytest.raises(RuntimeError, match="Found multiple different tracers"):
        lib.add(a, b)


def test_operators_on_proxies_still_record_operator_functions() -> None:
    """The fix routes library functions; ``x + 1`` on a proxy stays ``operator.add``."""
    graph = cr.fx.Graph()
    p = cr.fx.Proxy(graph.placeholder("x"))
    out = cr.relu(p + 1)
    assert [n.target for n in graph.nodes][1:] == [operator.add, cr.relu]
    assert out.node.args[0].target is operator.add


def _fuzz(lib: Any) -> list[Any]:
    bm = importlib.import_module(f"{lib.__name__}.utils.benchmark")
    fuzzer = bm.Fuzzer(
        parameters=[
            bm.FuzzedParameter("k0", minval=1, maxval=1000, distribution="loguniform"),
            bm.FuzzedParameter("k1", minval=1, maxval=1000, distribution="loguniform"),
            bm.FuzzedParameter("d", minval=1, maxval=3, distribution="uniform"),
            bm.FuzzedParameter("u", minval=0.0, maxval=3, distribution="uniform", strict=True),
            bm.FuzzedParameter("k2", minval=1, maxval=3, distribution="uniform"),
        ],
        tensors=[
            bm.FuzzedTensor(
                "x",
                size=("k0", "k1"),
                min_elements=128,
                max_elements=100000,
                probability_contiguous=0.6,
            ),  # fmt: skip
            bm.FuzzedTensor(
                "y",
                size=("k1", "k2", 3),
                steps=(1, 2, "d"),
                dim_parameter="d",
                dtype=lib.int64,
                max_allocation_bytes=10**6,
            ),  # fmt: skip
        ],
        constraints=[lambda p: p["k0"] % 2 == 0],
        seed=0,
    )
    out: list[Any] = []
    for tensors, props, params in fuzzer.take(6):
        out.append(sorted(params.items()))
        for name, t in tensors.items():
            p = props[name]
            out.append((name, tuple(t.shape), t.stride(), t.double().sum().item()))
            out.append((p["numel"], list(p["order"]), p["is_contiguous"], p["dtype"], p["steps"]))
    out.append(fuzzer.rejection_rate)
    return out


def test_fuzzer_draws_torchs_parameters_layouts_and_values() -> None:
    """Same seed, same draws: parameters, resampling under constraints, sizes truncated by
    ``dim_parameter``, strided allocations, non-contiguous permutations and the tensors'
    values (the global generator is seeded from the fuzzer's RandomState)."""
    assert _fuzz(cr) == _fuzz(torch)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"minval": 1, "maxval": 2, "distribution": "normal"}, "Unknown distribution: normal"),
        ({"distribution": {1: -0.5, 2: 1.5}}, "Probabilities cannot be negative"),
        ({"distribution": {1: 0.5, 2: 0.5}}, "Distribution is not normalized"),
        ({"minval": 1, "distribution": {1: 0.5, 2: 0.2}}, "'minval' must be None"),
    ],
)
def test_fuzzed_parameter_checks_match_torch(kwargs: dict, message: str) -> None:
    """torch 2.13's own checks, including its inverted normalisation test (a dict that sums to
    one is the one refused)."""
    for lib in _both():
        bm = importlib.import_module(f"{lib.__name__}.utils.benchmark")
        with pytest.raises(AssertionError, match=message):
            bm.FuzzedParameter("p", **kwargs)


def test_fuzzer_errors_match_torch() -> None:
    for lib in _both():
        bm = importlib.import_module(f"{lib.__name__}.utils.benchmark")
        p = bm.FuzzedParameter("x", minval=1, maxval=4, distribution="uniform")
        with pytest.raises(ValueError, match="Duplicate names in parameters and tensors"):
            bm.Fuzzer([p], [bm.FuzzedTensor("x", size=(2,))], seed=0)
        never = bm.Fuzzer([p], [], constraints=[lambda params: False], seed=0)
        with pytest.raises(ValueError, match="Failed to generate a set of valid parameters"):
            next(never.take(1))
        aliases = {"a": bm.ParameterAlias("b"), "b": bm.ParameterAlias("a")}
        with pytest.raises(ValueError, match="ParameterAlias cycle detected"):
            bm.Fuzzer._resolve_aliases(aliases)
        assert bm.Fuzzer._resolve_aliases({"a": bm.ParameterAlias("b"), "b": 3}) == {"a": 3, "b": 3}
        assert repr(bm.ParameterAlias("k")) == "ParameterAlias[alias_to: k]"


def test_fuzzed_tensor_cuda_is_refused() -> None:
    with pytest.raises(NotImplementedError, match="cuda=True"):
        cr.utils.benchmark.FuzzedTensor("x", size=(2,), cuda=True)


@pytest.mark.parametrize("variant", ["causal_upper_left", "causal_lower_right"])
def test_causal_bias_is_a_tensor_subclass_like_torchs(variant: str) -> None:
    """The SDPA tutorial asserts ``issubclass(type(upper_left_bias), torch.Tensor)`` and
    prints the bias: a Tensor subclass made by the legacy sizes constructor ``(variant, L,
    S)`` of the default dtype, printing as its bool mask, still read as a mask by SDPA."""
    make_t = getattr(importlib.import_module("torch.nn.attention.bias"), variant)
    make_c = getattr(importlib.import_module("chainrule.nn.attention.bias"), variant)
    for lib, make in ((torch, make_t), (cr, make_c)):
        bias = make(2, 5)
        assert issubclass(type(bias), lib.Tensor)
        assert type(bias).__name__ == "CausalBias"
        assert tuple(bias.shape) == (int(bias.variant), 2, 5)
        assert bias.dtype == lib.get_default_dtype()
        assert bias.requires_grad is False
    assert repr(make_c(2, 5)) == repr(make_t(2, 5))
    assert str(make_c(3, 3)) == str(make_t(3, 3))
    rng = np.random.default_rng(0)
    q, k, v = rng.random((1, 2, 2, 4)), rng.random((1, 2, 5, 4)), rng.random((1, 2, 5, 4))
    got = cr.nn.functional.scaled_dot_product_attention(
        cr.tensor(q), cr.tensor(k), cr.tensor(v), make_c(2, 5)
    )
    want = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), torch.tensor(v), make_t(2, 5)
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
