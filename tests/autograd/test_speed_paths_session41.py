"""Session 41's hot-path changes keep what is observable (PyTorch's answers where it has one):

- ``F.linear`` on inputs that are not 2-d builds its views without re-reading shapes
  (``nn/functional/linear.py``'s ``_linear_views``): the same graph, versions, view
  relations, hook order and results, bit for bit, as the general ``_linear_graph``;
- the engine orders a chain-shaped graph (each node at most one edge to another node)
  without the dependency count: the same order as ``topological_order``, hooks in the same
  order, diamonds and multi-output nodes through the graph walk.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import engine
from chainrule.autograd.graph import topological_order

LINEAR = importlib.import_module("chainrule.nn.functional.linear")
torch = pytest.importorskip("torch")


def _walk(fn: Any) -> str:
    if fn is None:
        return "None"
    return fn.name() + "(" + ",".join(_walk(f) for f, _ in fn.next_functions) + ")"


def _linear_run(lib: Any, shape: tuple, bias: bool, general: bool = False) -> dict:
    rng = np.random.default_rng(3)
    x0 = lib.tensor(rng.standard_normal(shape), dtype=lib.float32, requires_grad=True)
    x = x0 * 1.5  # a non-leaf input: its node is the view's next function
    lin = lib.nn.Linear(shape[-1], 4, bias=bias)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(rng.standard_normal((4, shape[-1])), dtype=lib.float32))
        if bias:
            lin.bias.copy_(lib.tensor(rng.standard_normal(4), dtype=lib.float32))
    order: list = []
    for name, p in lin.named_parameters():
        p.register_post_accumulate_grad_hook(lambda t, n=name: order.append(n))
    x0.register_post_accumulate_grad_hook(lambda t: order.append("x"))
    if general:  # the general builder (what F.linear called before session 41)
        y = LINEAR._linear_graph(x, lin.weight, lin.bias)
    else:
        y = lin(x)
    seen: list = []
    y.register_hook(lambda g: seen.append(tuple(g.shape)))
    out = {
        "graph": _walk(y.grad_fn),
        "shape": tuple(y.shape),
        "is_view": y._is_view(),
        "base_shape": None if y._base is None else tuple(y._base.shape),
        "version": y._version,
        "y": y.detach().numpy().copy(),
    }
    (y * lib.arange(4.0)).sum().backward()
    out.update(
        order=order,
        seen=seen,
        gx=x0.grad.numpy().copy(),
        gw=lin.weight.grad.numpy().copy(),
        gb=None if lin.bias is None else lin.bias.grad.numpy().copy(),
    )
    return out


def _equal(a: dict, b: dict, keys: list) -> None:
    for k in keys:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


_ALL = [
    "graph",
    "shape",
    "is_view",
    "base_shape",
    "version",
    "y",
    "order",
    "seen",
    "gx",
    "gw",
    "gb",
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 5), (2, 1, 3, 5), (0, 5), (2, 0, 5)])
def test_linear_views_equal_the_general_graph(shape: tuple, bias: bool) -> None:
    _equal(_linear_run(cr, shape, bias), _linear_run(cr, shape, bias, general=True), _ALL)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 5)])
def test_linear_views_against_torch(shape: tuple, bias: bool) -> None:
    got, want = _linear_run(cr, shape, bias), _linear_run(torch, shape, bias)
    acc = "torch::autograd::AccumulateGrad()"  # chainrule's fused node lists the weight
    assert got["graph"] == want["graph"].replace(f"TBackward0({acc})", acc)
    _equal(got, want, ["shape", "seen"])
    if bias or len(shape) > 1:  # (1-d without a bias: the strict xfail below)
        _equal(got, want, ["is_view", "base_shape", "version"])
    if bias:
        assert got["order"] == want["order"]
    for k in ("y", "gx", "gw", "gb"):
        if got[k] is not None:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5)


def test_linear_1d_without_bias_is_no_view() -> None:
    """torch's matmul squeezes a 1-d input's product in place (squeeze_: SqueezeBackward4 on
    a tensor that is no view, version 1); so does F.linear since session 42."""
    got, want = _linear_run(cr, (5,), False), _linear_run(torch, (5,), False)
    _equal(got, want, ["is_view", "base_shape", "version"])


def test_linear_views_under_vmap_and_with_a_plain_tensor_weight() -> None:
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.standard_normal((4, 5)), dtype=cr.float32)
    xs = cr.tensor(rng.standard_normal((3, 2, 6, 5)), dtype=cr.float32)
    got = cr.func.vmap(lambda x: cr.nn.functional.linear(x, w))(xs)
    want = np.stack([xs.numpy()[i] @ w.numpy().T for i in range(3)])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6)
    assert tuple(got.shape) == (3, 2, 6, 4)


def test_linear_version_shared_with_input_view() -> None:
    """The input's row view saved by the product shares the input's counter: modifying the
    input after the forward is caught at backward, as PyTorch's."""
    for lib in (cr, torch):
        x = lib.ones(2, 3, 5, requires_grad=True).clone()
        y = lib.nn.functional.linear(x, lib.ones(4, 5, requires_grad=True))
        x.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# ---------------------------------------------------------------------- the engine's chains
def _graphs() -> dict:
    def chain() -> Any:
        x = cr.randn(3, 3, requires_grad=True)
        return (x * 2.0).tanh().reshape(9).sum()

    def diamond() -> Any:
        x = cr.randn(3, 3, requires_grad=True)
        h = x.exp()
        return (h * h.sin()).sum()

    def two_outputs() -> Any:
        x = cr.randn(4, 3, requires_grad=True)
        a, b = (x * 1.0).split(2)
        return (a * b).sum()

    def self_product() -> Any:
        x = cr.randn(3, requires_grad=True)
        h = x * 3.0
        return (h * h).sum()

    return {"chain": chain, "diamond": diamond, "two_outputs": two_outputs, "self": self_product}


@pytest.mark.parametrize("name", sorted(_graphs()))
def test_engine_order_equals_topological_order(name: str) -> None:
    cr.manual_seed(0)
    y = _graphs()[name]()
    assert engine._order([y.grad_fn]) == topological_order([y.grad_fn])


@pytest.mark.parametrize("name", sorted(_graphs()))
def test_engine_order_hooks_and_grads(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Node pre-hooks fire in the engine's order, the gradients the same, with the chain
    shortcut and with the graph walk forced."""
    runs = []
    for forced in (False, True):
        if forced:
            monkeypatch.setattr(engine, "_order", lambda nodes: topological_order(nodes))
        cr.manual_seed(0)
        y = _graphs()[name]()
        seen: list = []
        for node in topological_order([y.grad_fn]):
            node.register_prehook(_recorder(seen, node.name()))
        leaves = _leaves(y)
        y.backward()
        runs.append((seen, [t.grad.numpy().tobytes() for t in leaves]))
    assert runs[0] == runs[1]


def _recorder(seen: list, name: str) -> Any:
    return lambda grads: seen.append(name)


def _leaves(y: Any) -> list:
    out, stack = [], [y.grad_fn]
    while stack:
        node = stack.pop()
        for e in node.next_edges:
            if type(e) is tuple:
                stack.append(e[0])
            elif e is not None and all(e is not t for t in out):
                out.append(e)
    return out
