"""Indexing nodes as PyTorch's (session 45): the chain of ``grad_fn`` names and
``next_functions`` that a subscript records, compared with torch on 60 forms (ints,
slices with steps, None, Ellipsis, negatives, bool scalars, index tensors mixed), the
slices over whole dims PyTorch skips in a tuple index (an alias: ``autograd.grad``
returns the caller's gradient), and the ops that slice through ``at::slice`` (``narrow``,
``tensor_split``), which never skip.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

__all__: list[str] = []

FORMS = [
    "x[1]",
    "x[-1]",
    "x[1:3]",
    "x[::2]",
    "x[1::2]",
    "x[-3:-1]",
    "x[:, 1]",
    "x[:, -1]",
    "x[:, 1:3]",
    "x[:, ::2]",
    "x[1, 2]",
    "x[1, 2, 0]",
    "x[:2, :2]",
    "x[0, :3]",
    "x[0, 1:3]",
    "x[1:3, 0]",
    "x[None]",
    "x[None, None]",
    "x[:, None]",
    "x[..., None]",
    "x[None, 1]",
    "x[1, None]",
    "x[..., 1]",
    "x[..., 1:3]",
    "x[1, ...]",
    "x[1, ..., 2]",
    "x[..., ::2, 1]",
    "x[True]",
    "x[False]",
    "x[:, True]",
    "x[None, ..., None]",
    "x[1:, None, 2]",
    "x[t.tensor([0, 2])]",
    "x[t.tensor([0, 2]), 1]",
    "x[1, t.tensor([0, 2])]",
    "x[:, t.tensor([0, 2])]",
    "x[t.tensor([0, 2]), 1:3]",
    "x[t.tensor(1)]",
    "x[t.tensor([True, False, True])]",
    "x[x > 0]",
    "x[[0, 1]]",
    "x[:, :, 1]",
    "x[:, :2, :1]",
    "x[2:0]",
    "x[-1, -1, -1]",
    "x[::3, ::2]",
    "x[:4, 1]",
    "x[:4, :4]",
    "x[(0, 1)]",
    "x[1][2]",
    "x[0:3, 0:4, 0:4]",
    "x[:, :, :]",
    "x[..., :4]",
    "x[0:, 1]",
    "x[-3:, 1]",
    "x[:, 0:4:1, 2]",
    "x[None, :, 0:4]",
    "x[1, :, None, 0:2]",
    "x[:, 1:2][0]",
    "x.narrow(1, 0, 4)[0, 1:]",
]


def _x(lib):
    return lib.arange(48.0, dtype=lib.float64).reshape(3, 4, 4).sub(20).requires_grad_()


def _chain(lib, expr: str) -> list:
    """``(name, number of next_functions)`` from ``y.grad_fn`` down to the leaf."""
    y = eval(expr, {"x": _x(lib), "t": lib})
    out, n = [], y.grad_fn
    while n is not None:
        nf = n.next_functions
        out.append((n.name().rpartition("::")[2], type(n).__name__, len(nf)))
        n = nf[0][0] if nf else None
    return out


@pytest.mark.parametrize("expr", FORMS)
def test_index_node_chain_as_torch(expr: str) -> None:
    assert _chain(cr, expr) == _chain(torch, expr)


@pytest.mark.parametrize("expr", FORMS)
def test_index_gradient_values_as_torch(expr: str) -> None:
    """The chain is listed only: the gradient (one node in chainrule) is PyTorch's."""
    got = []
    for lib in (cr, torch):
        x = _x(lib)
        y = eval(expr, {"x": x, "t": lib})
        g = lib.arange(float(y.numel()), dtype=lib.float64).reshape(y.shape) + 1
        (r,) = lib.autograd.grad(y, x, g)
        got.append(np.asarray(r.tolist()))
    np.testing.assert_array_equal(got[0], got[1])


def test_chain_nodes_are_the_same_objects_each_walk() -> None:
    x = _x(cr)
    y = x[0, 1:3]
    a = y.grad_fn.next_functions[0][0]
    assert a is y.grad_fn.next_functions[0][0]
    assert a.name() == "SelectBackward0" and type(a).__name__ == "SelectBackward0"
    assert a.next_functions[0][0] is x.grad_fn or a.next_functions[0][0].variable is x


def test_chain_step_refuses_hooks() -> None:
    """A listed step never runs: a hook there would never fire, so it is refused."""
    y = _x(cr)[0, 1:3]
    step = y.grad_fn.next_functions[0][0]
    with pytest.raises(NotImplementedError, match="register the hook there"):
        step.register_hook(lambda gi, go: None)
    with pytest.raises(NotImplementedError, match="register the hook there"):
        step.register_prehook(lambda go: None)


def test_chain_reaches_a_non_leaf_input() -> None:
    got = []
    for lib in (cr, torch):
        x = _x(lib)
        y = (x * 2)[1, :, 0:2]
        names = []
        n = y.grad_fn
        for _ in range(3):
            names.append(n.name())
            n = n.next_functions[0][0]
        got.append(names)
    assert got[0] == got[1] == ["SliceBackward0", "SelectBackward0", "MulBackward0"]


# ---------------------------------------- at::slice (ops) never skips a whole-dim slice
SLICED = [
    "m.narrow(1, 0, 3)",
    "m.narrow(0, 0, 2)",
    "m.narrow(-1, 0, 3)",
    "m.tensor_split(1)[0]",
    "m.tensor_split(1, 1)[0]",
    "t.tensor_split(m, [3], 1)[0]",
    "m[:, 0:3]",
    "m[0:2, :]",
    "m[0:2]",
    "m[:, -3:]",
]


def _sliced(lib, expr: str) -> tuple:
    m = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = eval(expr, {"m": m, "t": lib})
    g = lib.ones(y.shape)
    (r,) = lib.autograd.grad(y, m, g)
    fields = (
        (y.grad_fn._saved_dim, y.grad_fn._saved_start, y.grad_fn._saved_end)
        if y.grad_fn.name() == "SliceBackward0"
        else None
    )
    return y.grad_fn.name(), r.data_ptr() == g.data_ptr(), r._version, fields


@pytest.mark.parametrize("expr", SLICED)
def test_slice_ops_node_and_alias_as_torch(expr: str) -> None:
    assert _sliced(cr, expr) == _sliced(torch, expr)


@pytest.mark.parametrize(
    "expr", ["m[:, :]", "m[:, 0:3]", "m[..., :9]", "m[0:2, ...]", "m[:, 0:3, None]"]
)
def test_whole_dim_slices_double_backward_as_torch(expr: str) -> None:
    """``create_graph`` through the alias / unsqueeze that skipping makes: PyTorch's values."""
    got = []
    for lib in (cr, torch):
        m = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=lib.float64, requires_grad=True)
        y = eval(expr, {"m": m}).sin()
        (gm,) = lib.autograd.grad(y.sum(), m, create_graph=True)
        gm.square().sum().backward()
        got.append((gm.tolist(), m.grad.tolist()))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12)


@pytest.mark.parametrize("expr", ["m[None]", "m[None, :, None]", "m[:, None, 0:3]", "m[..., None]"])
def test_new_dims_recorded_backward_is_a_squeeze_as_torch(expr: str) -> None:
    """Under ``create_graph`` the gradient of ``x[None]`` & co. is a view of the incoming
    gradient (PyTorch's ``squeeze``): its strides, ``_base`` and version."""
    out = []
    for lib in (cr, torch):
        m = lib.ones(2, 3, requires_grad=True)
        y = eval(expr, {"m": m})
        g = lib.ones(tuple(reversed(y.shape))).permute(*reversed(range(y.ndim)))
        (r,) = lib.autograd.grad(y, m, g, create_graph=True)
        out.append((r.stride(), r._base is g, r._version, r.tolist()))
    assert out[0] == out[1]


SAVED = [
    "m[1:2, 0:3]",
    "m[:, 1:3]",
    "m[0, 1:3]",
    "m[0:1, 0:5]",
    "m[0:2, 1]",
    "m[0, 0:3]",
    "m[0, 1]",
    "m[..., 1:3]",
    "m[None, 1, 0:2]",
    "m[1:, None, 2]",
    "m.narrow(1, 0, 3)",
    "m.narrow(-1, 1, 2)",
    "m.select(1, 2)",
    "m[:, 0:3, None]",
]


def _saved(lib, expr: str) -> tuple:
    m = lib.ones(2, 3, requires_grad=True)
    n = eval(expr, {"m": m}).grad_fn
    fields = {}
    for k in ("dim", "start", "end", "index", "step", "self_sym_sizes"):
        if hasattr(n, "_saved_" + k):
            v = getattr(n, "_saved_" + k)
            fields[k] = tuple(v) if k == "self_sym_sizes" else v
    return n.name(), fields


@pytest.mark.parametrize("expr", SAVED)
def test_index_top_node_saved_fields_as_torch(expr: str) -> None:
    """The top node's ``_saved_*``: the dim and sizes of the tensor its step was applied to
    (after the earlier items), as PyTorch's chain records them."""
    assert _saved(cr, expr) == _saved(torch, expr)
