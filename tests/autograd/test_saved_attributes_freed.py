"""The arrays a built-in op's backward reads are saved through ``ctx.save_for_backward``, so a
backward without ``retain_graph`` frees them with the rest of the graph's saved values, and a
second backward then raises as in PyTorch (instead of silently reusing arrays kept on the
node as plain attributes).

For a handful of fused ops (normalisation, a loss, attention, embedding, GELU): after
``loss.backward()`` the op's node holds no saved value and no array attribute, a weak
reference to one of its saved intermediates (statistics, probabilities, a mask) is dead after
``gc.collect()``, and a second backward raises where PyTorch's does.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import jit
from chainrule.autograd.function import SavedConstant, SavedInput, SavedOutput
from chainrule.autograd.graph import walk
from chainrule.autograd.tensor import Tensor
from chainrule.ops.attention import ScaledDotProductAttention
from chainrule.ops.embedding import EmbeddingFn
from chainrule.ops.gelu import Gelu
from chainrule.ops.layer_norm import LayerNormFn
from chainrule.ops.losses import CrossEntropyFn
from chainrule.ops.normalization import BatchNormFn

# Node attributes that are the graph itself (edges to the inputs, their metadata) or the
# engine's store of saved values (checked through saved_values / saved_arrays), not values
# an op kept for its rule on the side.
_GRAPH_ATTRIBUTES = {"fn", "next_edges", "input_meta", "needs_input_grad"}
_GRAPH_ATTRIBUTES |= {"_saved", "_saved_values"}


def _layer_norm(lib, x, w, b):
    return lib.nn.functional.layer_norm(x, (x.shape[-1],), w, b)


def _batch_norm(lib, x, w, b):
    return lib.nn.functional.batch_norm(x, None, None, w, b, training=True)


def _cross_entropy(lib, x, w, b):
    target = lib.tensor(np.array([0, 2, 1, 2]))
    return lib.nn.functional.cross_entropy(x, target, label_smoothing=0.1)


def _attention(lib, x, w, b):
    q = x.reshape(1, 2, 2, 3)
    mask = lib.tensor(np.array([[True, False], [True, True]]))  # a fresh 0 / -inf array
    return lib.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=mask)


def _embedding(lib, x, w, b):
    idx = lib.tensor(np.array([[0, 1, 3], [3, 1, 2]]))
    return lib.nn.functional.embedding(idx, x, padding_idx=1)


def _gelu(lib, x, w, b):
    return lib.nn.functional.gelu(x)


# (name, the graph function, the op's Function, the input's shape and dtype). GELU in float32
# and large enough for its compiled path (when active), which saves the derivative computed
# in the forward pass.
CASES = [
    ("layer_norm", _layer_norm, LayerNormFn, (4, 3), np.float64),
    ("batch_norm", _batch_norm, BatchNormFn, (4, 3), np.float64),
    ("cross_entropy", _cross_entropy, CrossEntropyFn, (4, 3), np.float64),
    ("attention", _attention, ScaledDotProductAttention, (4, 3), np.float64),
    ("embedding", _embedding, EmbeddingFn, (4, 3), np.float64),
    ("gelu", _gelu, Gelu, (512, 64), np.float32),
]


def _run(lib, fn, shape, dtype):
    """The case's loss, the sum of the op's output (a sum saves nothing, so the op's node is
    the one that reads saved values), and the leaves x (``shape``), w and b (the last dim)."""
    rng = np.random.default_rng(0)
    arrays = (rng.standard_normal(shape), rng.standard_normal(shape[-1:]) + 2.0)
    arrays += (rng.standard_normal(shape[-1:]),)
    x, w, b = (lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays)
    return fn(lib, x, w, b).sum(), (x, w, b)


def _node(loss, fn_cls):
    nodes = [n for n in walk(loss) if n._forward_cls is fn_cls]
    assert len(nodes) == 1, [n.name() for n in walk(loss)]
    return nodes[0]


def _arrays_held(node) -> list[str]:
    """Names of the node's attributes (outside the graph edges) that hold an array or a
    Tensor, directly or inside a tuple, list or dict."""

    def holds(v) -> bool:
        if isinstance(v, (np.ndarray, Tensor)):
            return True
        if isinstance(v, (tuple, list)):
            return any(holds(e) for e in v)
        if isinstance(v, dict):
            return any(holds(e) for e in v.values())
        return False

    return [k for k, v in vars(node).items() if k not in _GRAPH_ATTRIBUTES and holds(v)]


def _saved_objects(node, leaves) -> list:
    """The arrays and Tensors behind the node's saved values, except the test's own leaves
    (still referenced here): intermediates, index tensors, masks, views of the leaves."""
    out = []
    for e in node.saved_values:
        if type(e) is SavedInput:
            if not any(e.tensor is leaf for leaf in leaves):
                out.append(e.tensor)
        elif type(e) is SavedOutput:
            out.append(e.array)
        elif type(e) is SavedConstant and isinstance(e.value, np.ndarray):
            out.append(e.value)
    return out


@pytest.mark.parametrize(
    ("name", "fn", "fn_cls", "shape", "dtype"), CASES, ids=[c[0] for c in CASES]
)
def test_backward_frees_every_array_the_op_kept(name, fn, fn_cls, shape, dtype):
    loss, leaves = _run(cr, fn, shape, dtype)
    node = _node(loss, fn_cls)
    kept = _saved_objects(node, leaves)
    if name == "gelu" and jit.backend() != "numba":
        pytest.skip("GELU saves only its input (a leaf here) without the compiled kernels")
    assert kept, f"{name}: expected the op to save an intermediate array or an index"
    refs = [weakref.ref(a) for a in kept]
    del kept
    assert _arrays_held(node) == []  # before backward: everything is in the saved values
    loss.backward()
    gc.collect()
    assert node.saved_values == ()
    assert node.is_freed
    with pytest.raises(RuntimeError, match="second time"):  # saved_arrays, as saved_tensors
        node.saved_arrays  # noqa: B018
    assert _arrays_held(node) == []
    assert all(r() is None for r in refs), f"{name}: a saved value is still alive"


@pytest.mark.parametrize(
    ("name", "fn", "fn_cls", "shape", "dtype"), CASES, ids=[c[0] for c in CASES]
)
def test_second_backward_raises_as_in_torch(name, fn, fn_cls, shape, dtype):
    for lib in (torch, cr):
        loss, _ = _run(lib, fn, shape, dtype)
        loss.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            loss.backward()


@pytest.mark.parametrize(
    ("name", "fn", "fn_cls", "shape", "dtype"), CASES, ids=[c[0] for c in CASES]
)
def test_retained_graph_gives_the_same_gradients_twice(name, fn, fn_cls, shape, dtype):
    loss, (x, w, b) = _run(cr, fn, shape, dtype)
    loss.backward(retain_graph=True)
    first = [None if t.grad is None else t.grad.numpy().copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    loss.backward()
    for g, t in zip(first, (x, w, b)):
        np.testing.assert_array_equal(None if t.grad is None else t.grad.numpy(), g)


SECOND_BACKWARD = [
    "x[2:5].sum()",
    "(x * 2).sum()",
    "(x + x).sum()",
    "x.sum()",
    "(x * x).sum()",
    "x.exp().sum()",
    "(x - 1).abs().sum()",
    "x.view(2, 3).t().sum()",
    "x.relu().sum()",
    "x.mean()",
    "(x / 2).sum()",
    "x.reshape(3, 2)[0].sum()",
    "x.unsqueeze(0).expand(2, 6).sum()",
    "x.clone().sum()",
    "x.max()",
    "x.cumsum(0).sum()",
    "(2**x).sum()",
    "x.pow(2).sum()",
]


@pytest.mark.parametrize("expr", SECOND_BACKWARD)
def test_second_backward_raises_exactly_where_torch_does(expr):
    """A graph whose nodes saved nothing can be run backward again (PyTorch frees saved
    values, not nodes); one that saved something raises the 'second time' error."""
    outcomes = []
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], requires_grad=True)
        y = eval(expr, {"x": x})
        y.backward()
        try:
            y.backward()
            outcomes.append(("ok", x.grad.tolist()))
        except RuntimeError as e:
            assert "second time" in str(e)
            outcomes.append(("raise", None))
    assert outcomes[1] == outcomes[0]
