"""Gradients that alias the caller's gradient, as PyTorch's (session 44, fourth part).

A backward that hands on a NumPy view of its incoming gradient where PyTorch's makes a new
tensor let a leaf's ``.grad`` (or ``autograd.grad``'s result) share memory with the
caller's ``gradient=`` tensor: a write into one changed the other. ``F.pad``'s backward
(a slice of the gradient; PyTorch's is ``constant_pad_nd(grad, -pad)``, a clone) was the
case found; ``squeeze`` that squeezes nothing, ``x[...]``, ``repeat``/``tile`` by ones
(PyTorch passes the gradient on as it is: a leaf copies it, ``autograd.grad`` returns it)
and ``repeat`` with an added dim (a new sum, not a view of one) are fixed with it. The
other ops surveyed (``roll``, ``take``, ``rot90``, ``as_strided``, ``einsum``) alias as
PyTorch's; their ``_base``/version gaps stay strict xfails in
:mod:`test_versions_session44`.

Also: a vector times a batch (``p @ b3``) folded as PyTorch's matmul folds it (one mv of
``b3.mT`` reshaped): ``b3``'s gradient is transposed, so a row-major ``b3.grad`` is a copy
at version 1.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import chainrule as cr

from ._xfail_params import xfail_params

__all__: list[str] = []

# expression of p (3,), m (2, 3), q (3,) leaves -> output; F is nn.functional, t the library
ALIAS = [
    "F.pad(p, (1, 1))",
    "F.pad(p, (0, 0))",
    "F.pad(p, (2, -1))",
    "F.pad(p, (-1, 0))",
    "F.pad(m, (1, 1, 0, 1))",
    "F.pad(m, (0, 0, 0, 0))",
    "F.pad(m.t(), (1, 0))",
    "F.pad(p, (1, 1), value=2.0)",
    "F.pad(p, (0, 3)) + F.pad(q, (3, 0))",
    "F.pad(p, (1, 1)) + F.pad(q, (1, 1))",
    "m.squeeze()",
    "m.squeeze(0)",
    "m.squeeze((0, 1))",
    "m[None].squeeze()",
    "m[None].squeeze(0)",
    "m.unsqueeze(0).squeeze(1)",
    "p[...]",
    "p[()]",
    "p[:]",
    "m[:, 1:]",
    "m[..., -3:]",
    "p.repeat(1)",
    "p.repeat(1, 1)",
    "p.repeat(2, 1)",
    "m.repeat(1, 1)",
    "m.repeat(2, 1)",
    "p.tile((1,))",
    "m.tile((1, 1))",
    "p.roll(1)",
    "m.roll(1, 0)",
    "p.take(t.tensor([1]))",
    "m.rot90()",
    "p.as_strided((3,), (1,))",
    "t.einsum('ij,jk->ik', m, m.t())",
    "t.einsum('i->i', p)",
    # PyTorch's own views of the gradient (the leaf shares it): unchanged
    "p.view(3)",
    "m.t()",
    "t.cat([p, q])",
    "p.view(3) + q.view(3)",
    "p.expand(2, 3).sum(0)",
]


def _leaves(lib) -> dict:
    f64 = lib.float64
    return {
        "p": lib.tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=f64),
        "q": lib.tensor([0.5, -1.0, 2.0], requires_grad=True, dtype=f64),
        "m": lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, dtype=f64),
    }


def _names(expr: str, names) -> list:
    """The leaves ``expr`` differentiates through (named, not detached)."""
    return [k for k in names if re.search(rf"\b{k}\b(?!\.detach)", expr)]


def _run(lib, expr: str, mode: str) -> tuple:
    """(memory, versions): each gradient is written into (``add_(1)``, in order), then the
    caller's gradient's values, each gradient's values and whether it shares the caller's
    gradient's memory; the gradients' versions before and after and the caller's after."""
    env = _leaves(lib)
    y = eval(expr, {"t": lib, "F": lib.nn.functional, **env})
    g = lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape) + 1
    if mode == "backward":
        y.backward(g)
        rs = [v.grad for v in env.values() if v.grad is not None]
    else:
        ins = [env[k] for k in _names(expr, env)]
        rs = list(lib.autograd.grad(y, ins, g))
    before = [r._version for r in rs]
    for r in rs:
        r.add_(1)
    ptr = g.data_ptr()
    memory = (g.tolist(), [(r.tolist(), r.data_ptr() == ptr) for r in rs])
    return memory, (before, [r._version for r in rs], g._version)


@pytest.mark.parametrize("mode", ["backward", "grad"])
@pytest.mark.parametrize("expr", ALIAS)
def test_gradient_memory_shared_as_torch(expr: str, mode: str) -> None:
    """Whether a write into a leaf's ``.grad`` (``autograd.grad``'s result) shows in the
    caller's gradient (and in another leaf's) as in PyTorch."""
    assert _run(cr, expr, mode)[0] == _run(torch, expr, mode)[0]


# (as_strided's: fixed in session 45; einsum's operand twice: session 47)
VERSION_GAPS: set[str] = set()


@pytest.mark.parametrize("mode", ["backward", "grad"])
@pytest.mark.parametrize(
    "expr",
    xfail_params(
        ALIAS,
        VERSION_GAPS,
        "not aliasing, a version: the gradient of m (an operand twice) is at version 0 "
        "in PyTorch's einsum, 1 in chainrule's (its two parts summed in place)",
    ),
)
def test_gradient_versions_as_torch(expr: str, mode: str) -> None:
    """The gradients' versions (a copy of the caller's is 1, a view of it shares its
    counter, a new tensor 0) and the caller's after the writes."""
    assert _run(cr, expr, mode)[1] == _run(torch, expr, mode)[1]


def test_pad_grad_is_not_the_callers_memory() -> None:
    """The reported case: ``x.grad.add_(1)`` after ``F.pad(x, ...).backward(gradient=g)``
    leaves ``g`` unchanged."""
    x = cr.ones(3, requires_grad=True)
    g = cr.ones(5)
    cr.nn.functional.pad(x, (1, 1)).backward(g)
    x.grad.add_(1)
    assert g.tolist() == [1.0] * 5
    assert x.grad.tolist() == [2.0] * 3
    assert not np.shares_memory(x.grad.numpy(), g.numpy())


# ---------------------------------------------------------- pad's gradient: its layout
PAD_LAYOUTS = [
    ("F.pad(x, (1, 1))", (2, 3), "t.ones(2, 5)"),
    ("F.pad(x, (1, 1))", (2, 3), "t.ones(5, 2).t()"),
    ("F.pad(x, (0, 0))", (2, 3), "t.ones(3, 2).t()"),
    ("F.pad(x, (1, 0, 0, 1))", (2, 3), "t.ones(4, 3).t()"),
    ("F.pad(x, (1, 1, 1, 1))", (1, 2, 3, 3), "t.ones(1, 5, 5, 2).permute(0, 3, 1, 2)"),
    ("F.pad(x, (0, 0, 0, 0))", (1, 2, 3, 3), "t.ones(1, 3, 3, 2).permute(0, 3, 1, 2)"),
    ("F.pad(x, (2, -1))", (2, 3), "t.ones(2, 4)"),
    ("F.pad(x.t(), (1, 1))", (2, 3), "t.ones(3, 4)"),
]


@pytest.mark.parametrize("case", PAD_LAYOUTS, ids=[f"{c[0]}|{c[2]}" for c in PAD_LAYOUTS])
def test_pad_gradient_layout_as_torch(case: tuple) -> None:
    """``autograd.grad``'s result and ``.grad``: ``_base``, version, strides, as PyTorch's
    clone of the cropped gradient lays them out."""
    expr, shape, grad = case
    out = []
    for lib in (cr, torch):
        x = lib.tensor(np.arange(float(np.prod(shape))).reshape(shape), requires_grad=True)
        env = {"F": lib.nn.functional, "x": x, "t": lib}
        g = eval(grad, {"t": lib})
        (r,) = lib.autograd.grad(eval(expr, env), x, g)
        eval(expr, env).backward(g)
        out.append(
            (r._base is None, r._version, r.stride(), x.grad._version, x.grad.stride(), r.tolist())
        )
    assert out[0] == out[1]


# ------------------------------------------------------------ repeat's gradient
REPEATS = [
    ((2, 3), (1, 1)),
    ((2, 3), (2, 1)),
    ((2, 3), (1, 2)),
    ((2, 3), (3, 2, 2)),
    ((2, 3), (1, 1, 1)),
    ((3,), (2, 1)),
    ((0, 3), (2, 1)),
    ((), (2,)),
    ((), ()),
    ((2, 1, 3), (1, 4, 1, 2)),
]


@pytest.mark.parametrize("case", REPEATS, ids=str)
def test_repeat_gradient_as_torch(case: tuple) -> None:
    """``_base``, version, strides, whether it is the caller's memory; values (PyTorch
    sums the added dims first: the same order, within rounding of its vectorized sum)."""
    shape, reps = case
    out, values = [], []
    for lib in (cr, torch):
        x = lib.tensor(np.arange(float(np.prod(shape))).reshape(shape), requires_grad=True)
        y = x.repeat(*reps) if reps else x.repeat(())
        g = lib.tensor(np.random.default_rng(0).standard_normal(tuple(y.shape)))
        (r,) = lib.autograd.grad(y, x, g)
        shared = r.data_ptr() == g.data_ptr() and r.numel() > 0
        out.append((r._base is None, r._version, tuple(r.stride()), shared))
        values.append(np.asarray(r.tolist()))
    assert out[0] == out[1]
    np.testing.assert_allclose(values[0], values[1], rtol=1e-13, atol=1e-13)


def test_repeat_zero_gradient_version() -> None:  # (fixed in session 45)
    out = []
    for lib in (cr, torch):
        x = lib.ones(2, 3, requires_grad=True)
        (r,) = lib.autograd.grad(x.repeat(0, 1), x, lib.ones(0, 3))
        out.append(r._version)
    assert out[0] == out[1]


@pytest.mark.parametrize(
    "expr",
    [
        "F.pad(p, (1, 2)).sin()",
        "m.squeeze().sin()",
        "p[...].sin()",
        "p.repeat(2, 1).sin()",
        "m.repeat(1, 1).sin()",
        "p.repeat(1, 2, 1).sin()",
        "t.matmul(p, b3).sin()",
        "t.matmul(p.detach(), b3).sin()",
    ],
)
def test_double_backward_values_as_torch(expr: str) -> None:
    """The recorded backward (``create_graph``) of the ops changed here: PyTorch's values."""
    got = []
    for lib in (cr, torch):
        env = _leaves(lib)
        b3 = lib.tensor(np.linspace(-1, 1, 24).reshape(2, 3, 4), requires_grad=True)
        y = eval(expr, {"t": lib, "F": lib.nn.functional, "b3": b3, **env}).sum()
        leaves = [v for k, v in {**env, "b3": b3}.items() if k in _names(expr, [k])]
        gs = lib.autograd.grad(y, leaves, create_graph=True)
        sum(v.square().sum() for v in gs).backward()
        got.append([np.asarray(v.detach().tolist()) for v in (*gs, *(x.grad for x in leaves))])
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ------------------------------------------------- a vector times a batch: one mv
VECTOR_BATCH = [
    "t.matmul(p, b3)",
    "t.matmul(p, b3.detach())",
    "t.matmul(p.detach(), b3)",
    "t.matmul(p, a4.mT)",
    "t.matmul(p.detach(), a4.mT)",
    "t.matmul(p.detach(), a3.mT)",
    "t.matmul(p, a3.mT)",
    "t.matmul(p, a3.mT.expand(2, 2, 3, 4))",
    "t.matmul(p.detach(), a3.mT.expand(2, 2, 3, 4))",
    "t.matmul(p, b3[:, :, 1:3])",
    "t.matmul(p, b3).exp()",
    "t.matmul(b3.mT, p)",
]


def _vector_batch(lib, expr: str) -> list:
    gen = np.random.default_rng(0)

    def leaf(*shape):
        return lib.tensor(gen.standard_normal(shape), requires_grad=True)

    env = {"t": lib, "p": leaf(3), "a3": leaf(2, 4, 3), "b3": leaf(2, 3, 4)}
    env["a4"] = leaf(2, 2, 4, 3)
    y = eval(expr, env)
    y.backward(lib.ones_like(y) * 1.5)
    out = []
    for name in ("p", "a3", "b3", "a4"):
        g = env[name].grad
        if g is not None:
            values = np.round(np.asarray(g.tolist()), 10).tolist()
            out.append((name, g._version, g._base is None, tuple(g.stride()), values))
    return out


@pytest.mark.parametrize("expr", VECTOR_BATCH)
def test_vector_times_batch_gradients_as_torch(expr: str) -> None:
    """``.grad``'s version, ``_base``, strides and values (PyTorch folds ``p @ b3`` into one
    mv when ``p`` requires grad, or when ``b3.mT`` folds without a copy)."""
    assert _vector_batch(cr, expr) == _vector_batch(torch, expr)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("expr", ["t.matmul(p, b3)", "t.matmul(p, a4.mT)", "t.matmul(q, b3)"])
def test_vector_fold_first_order_equals_recorded(expr: str, dtype: type) -> None:
    """The first-order arrays and the recorded products (``create_graph``) of the vector
    fold: the same values bit for bit, the same strides."""
    res = []
    for create_graph in (False, True):
        gen = np.random.default_rng(1)
        p = cr.tensor(gen.standard_normal(3).astype(dtype), requires_grad=True)
        q = cr.tensor(gen.standard_normal(3).astype(dtype))  # (not requiring grad)
        b3 = cr.tensor(gen.standard_normal((2, 3, 4)).astype(dtype), requires_grad=True)
        a4 = cr.tensor(gen.standard_normal((2, 2, 4, 3)).astype(dtype), requires_grad=True)
        env = {"t": cr, "p": p, "q": q, "b3": b3, "a4": a4}
        y = eval(expr, env)
        ins = [env[k] for k in _names(expr, ("p", "b3", "a4"))]
        g = cr.tensor(gen.standard_normal(tuple(y.shape)).astype(dtype))
        rs = cr.autograd.grad(y, ins, g, create_graph=create_graph)
        res.append([r.detach().numpy() for r in rs])
    for a, b in zip(*res):
        assert a.strides == b.strides
        np.testing.assert_array_equal(a, b)


INDEX_NAMES = [
    "p[:]",
    "m[0:2]",
    "m[:, 0:2]",
    "m[..., -3:]",
    "p[-5:,]",
    "m[..., ::2]",
    "m[1:, ...]",
    "m[:, 0]",
    "m[None, :]",
    "m[...]",
    "m[()]",
    "m[..., None]",
]
FULL_SLICES = [
    "m[..., :]",
    "m[:, :]",
    "m[:, 0:3]",
    "m[:, :5]",
    "m[0:2, ...]",
    "m[0:, 0:]",
    "p[:,]",
    "m[:, 0:3, None]",
]


def _index_node(lib, expr: str) -> tuple:
    env = _leaves(lib)
    y = eval(expr, env)
    g = lib.ones(y.shape, dtype=y.dtype)
    (r,) = lib.autograd.grad(y, env["m" if "m" in expr else "p"], g)
    return y.grad_fn.name(), r.data_ptr() == g.data_ptr(), r._version


@pytest.mark.parametrize("expr", INDEX_NAMES)
def test_index_node_and_gradient_memory_as_torch(expr: str) -> None:
    """The node, and whether ``autograd.grad``'s result is the caller's gradient's memory
    (``x[...]``, ``x[()]``: AliasBackward0 passes it on as it is; a lone ``x[:]`` is a
    SliceBackward0, a new tensor)."""
    assert _index_node(cr, expr) == _index_node(torch, expr)


@pytest.mark.parametrize("expr", FULL_SLICES)  # (fixed in session 45)
def test_index_full_slices_alias_as_torch(expr: str) -> None:
    assert _index_node(cr, expr) == _index_node(torch, expr)
