"""Calling ``cr.ops.aten.<op>.<overload>`` handles and packets against ``torch.ops.aten``, live:
values, dtype and shape of every output (tuples and lists element by element), gradients
through the call for the differentiable cases, and the packets' choice of overload."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.ops.aten_calls import CALLS
from chainrule.ops.aten_namespace import _ATEN, _BY_CLASS, _packet

_X = np.linspace(-1.5, 1.5, 6).reshape(2, 3)
_Y = np.array([[0.5, -2.0, 1.0], [3.0, 0.25, -0.75]])
_P = np.linspace(0.5, 2.0, 6).reshape(2, 3)
_M = np.linspace(-1, 1, 12).reshape(3, 4)
_B = np.linspace(-1, 1, 24).reshape(2, 3, 4)
_B2 = np.linspace(1, -1, 16).reshape(2, 4, 2)
_I = np.array([2, 0, 1, 2])
_C = np.array([[True, False, True], [False, True, False]])
_IMG = np.linspace(-1, 1, 50).reshape(1, 2, 5, 5)
_W = np.linspace(-0.5, 0.5, 36).reshape(2, 2, 3, 3)


_POSITIVE = {"log", "sqrt", "rsqrt"}


def _t(T, a, grad=False):
    return T.tensor(
        np.ascontiguousarray(a),
        requires_grad=grad and np.issubdtype(np.asarray(a).dtype, np.floating),
    )


# "<op>.<overload>" -> (T, g) -> (args, kwargs); g: whether float inputs require grad
_CASES = {
    **{
        f"{u}.default": (lambda T, g, u=u: ((_t(T, _P if u in _POSITIVE else _X, g),), {}))
        for u in "neg exp log sqrt rsqrt tanh sigmoid relu abs sin cos reciprocal sign t "
        "detach silu".split()
    },
    "relu_.default": lambda T, g: ((_t(T, _X),), {}),
    "gelu.default": lambda T, g: ((_t(T, _X, g),), {"approximate": "tanh"}),
    "mm.default": lambda T, g: ((_t(T, _X, g), _t(T, _M, g)), {}),
    "bmm.default": lambda T, g: ((_t(T, _B, g), _t(T, _B2, g)), {}),
    "mv.default": lambda T, g: ((_t(T, _M, g), _t(T, _M[0], g)), {}),
    "dot.default": lambda T, g: ((_t(T, _M[0], g), _t(T, _M[1], g)), {}),
    "matmul.default": lambda T, g: ((_t(T, _B, g), _t(T, _M.T, g)), {}),
    "linear.default": lambda T, g: ((_t(T, _M, g), _t(T, _M, g), _t(T, _M[0, :3], g)), {}),
    "addmm.default": lambda T, g: (
        (_t(T, _Y[0, :1], g), _t(T, _X, g), _t(T, _M, g)),
        {"beta": 0.5, "alpha": 2},
    ),
    "baddbmm.default": lambda T, g: (
        (_t(T, _M[:3, :2], g), _t(T, _B, g), _t(T, _B2, g)),
        {"beta": 2, "alpha": 0.5},
    ),
    "add.Tensor": lambda T, g: ((_t(T, _X, g), _t(T, _Y, g)), {"alpha": 2}),
    "add.Scalar": lambda T, g: ((_t(T, _X, g), 3), {"alpha": 2}),
    "sub.Tensor": lambda T, g: ((_t(T, _X, g), _t(T, _Y, g)), {"alpha": -1.5}),
    "sub.Scalar": lambda T, g: ((_t(T, _X, g), 0.5), {}),
    "mul.Tensor": lambda T, g: ((_t(T, _X, g), _t(T, _Y, g)), {}),
    "mul.Scalar": lambda T, g: ((_t(T, _X, g), 3), {}),
    "div.Tensor": lambda T, g: ((_t(T, _X, g), _t(T, _Y, g)), {}),
    "div.Scalar": lambda T, g: ((_t(T, _X, g), 4), {}),
    "div.Tensor_mode": lambda T, g: ((_t(T, _X * 7), _t(T, _Y)), {"rounding_mode": "floor"}),
    "div.Scalar_mode": lambda T, g: ((_t(T, _X * 7), 2), {"rounding_mode": "trunc"}),
    "pow.Tensor_Tensor": lambda T, g: ((_t(T, _P, g), _t(T, _Y, g)), {}),
    "pow.Tensor_Scalar": lambda T, g: ((_t(T, _X, g), 3), {}),
    "pow.Scalar": lambda T, g: ((2.0, _t(T, _Y, g)), {}),
    "maximum.default": lambda T, g: ((_t(T, _X, g), _t(T, _Y, g)), {}),
    "minimum.default": lambda T, g: ((_t(T, _X, g), _t(T, _Y, g)), {}),
    "eq.Tensor": lambda T, g: ((_t(T, _X), _t(T, _X[::-1])), {}),
    "eq.Scalar": lambda T, g: ((_t(T, _I), 2), {}),
    "gt.Tensor": lambda T, g: ((_t(T, _X), _t(T, _Y)), {}),
    "gt.Scalar": lambda T, g: ((_t(T, _X), 0), {}),
    "lt.Tensor": lambda T, g: ((_t(T, _X), _t(T, _Y)), {}),
    "lt.Scalar": lambda T, g: ((_t(T, _X), 0.3), {}),
    "where.self": lambda T, g: ((_t(T, _C), _t(T, _X, g), _t(T, _Y, g)), {}),
    "where.ScalarOther": lambda T, g: ((_t(T, _C), _t(T, _X, g), 0.0), {}),
    "where.ScalarSelf": lambda T, g: ((_t(T, _C), 1.0, _t(T, _Y, g)), {}),
    "where.Scalar": lambda T, g: ((_t(T, _C), 1.0, 2), {}),
    "clamp.default": lambda T, g: ((_t(T, _X, g), -0.5, 0.7), {}),
    "clamp.Tensor": lambda T, g: ((_t(T, _X, g),), {"max": _t(T, _Y, g)}),
    "sum.default": lambda T, g: ((_t(T, _P, g),), {"dtype": T.float32}),
    "sum.dim_IntList": lambda T, g: ((_t(T, _B, g), [0, 2], True), {}),
    "mean.default": lambda T, g: ((_t(T, _X, g),), {}),
    "mean.dim": lambda T, g: ((_t(T, _B, g), [-1]), {}),
    "amax.default": lambda T, g: ((_t(T, _B, g), [1]), {"keepdim": True}),
    "amin.default": lambda T, g: ((_t(T, _B, g),), {}),
    "argmax.default": lambda T, g: ((_t(T, _Y), 1), {}),
    "var.default": lambda T, g: ((_t(T, _B, g), False), {}),
    "var.dim": lambda T, g: ((_t(T, _B, g), [0, 2]), {"keepdim": True}),
    "var.correction": lambda T, g: ((_t(T, _B, g), [1]), {"correction": 0, "keepdim": True}),
    "_softmax.default": lambda T, g: ((_t(T, _B, g), 1, False), {}),
    "_log_softmax.default": lambda T, g: ((_t(T, _B, g), -1, False), {}),
    "native_layer_norm.default": lambda T, g: (
        (_t(T, _B, g), [4], _t(T, _M[0], g), _t(T, _M[1], g), 1e-5),
        {},
    ),
    "convolution.default": lambda T, g: (
        (_t(T, _IMG, g), _t(T, _W, g), _t(T, _Y[0, :2], g), [2, 1], [1, 0], [1, 1], False)
        + ([0, 0], 1),
        {},
    ),
    "embedding.default": lambda T, g: ((_t(T, _M, g), _t(T, _I), 0), {}),
    "view.default": lambda T, g: ((_t(T, _B, g), [4, -1]), {}),
    "_unsafe_view.default": lambda T, g: ((_t(T, _B, g), [6, 4]), {}),
    "reshape.default": lambda T, g: ((_t(T, _B, g), [2, 12]), {}),
    "transpose.int": lambda T, g: ((_t(T, _B, g), 0, -1), {}),
    "permute.default": lambda T, g: ((_t(T, _B, g), [2, 0, 1]), {}),
    "expand.default": lambda T, g: ((_t(T, _M[:1], g), [2, 3, -1]), {}),
    "slice.Tensor": lambda T, g: ((_t(T, _B, g), -1, 1, 2**63 - 1, 2), {}),
    "select.int": lambda T, g: ((_t(T, _B, g), 1, -1), {}),
    "index_select.default": lambda T, g: ((_t(T, _M, g), 0, _t(T, _I)), {}),
    "unsqueeze.default": lambda T, g: ((_t(T, _X, g), -1), {}),
    "squeeze.default": lambda T, g: ((_t(T, _M[:1, None], g),), {}),
    "squeeze.dim": lambda T, g: ((_t(T, _M[:1], g), 0), {}),
    "squeeze.dims": lambda T, g: ((_t(T, _M[:1, None], g), [0, 1]), {}),
    "split.Tensor": lambda T, g: ((_t(T, _B, g), 3, 2), {}),
    "split.sizes": lambda T, g: ((_t(T, _B, g), [1, 2], 1), {}),
    "clone.default": lambda T, g: ((_t(T, _X, g),), {}),
    "cat.default": lambda T, g: (([_t(T, _X, g), _t(T, _Y, g)], 1), {}),
    "stack.default": lambda T, g: (([_t(T, _X, g), _t(T, _Y, g)],), {"dim": -1}),
    "zeros_like.default": lambda T, g: ((_t(T, _X),), {"dtype": T.int32}),
    "ones_like.default": lambda T, g: ((_t(T, _I),), {}),
    "full.default": lambda T, g: (([2, 3], 7), {}),
    "zeros.default": lambda T, g: (([3],), {"dtype": T.float16}),
    "ones.default": lambda T, g: (([2, 1],), {}),
}
_GRAD = [
    "add.Tensor",
    "addmm.default",
    "baddbmm.default",
    "pow.Scalar",
    "where.ScalarSelf",
    "clamp.Tensor",
    "sum.dim_IntList",
    "amax.default",
    "var.correction",
    "_log_softmax.default",
    "native_layer_norm.default",
    "convolution.default",
    "embedding.default",
    "slice.Tensor",
    "select.int",
    "split.sizes",
    "stack.default",
]


def _handle(T, full):
    name, overload = full.split(".")
    return getattr(getattr(T.ops.aten, name), overload)


def _same(c, t):
    if isinstance(t, (tuple, list)):
        assert type(c) is type(t) and len(c) == len(t)
        for a, b in zip(c, t):
            _same(a, b)
        return
    assert str(c.dtype) == str(t.dtype) and tuple(c.shape) == tuple(t.shape)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("full", sorted(_CASES))
def test_overload_call_matches_torch(full):
    c_args, c_kw = _CASES[full](cr, False)
    t_args, t_kw = _CASES[full](torch, False)
    _same(_handle(cr, full)(*c_args, **c_kw), _handle(torch, full)(*t_args, **t_kw))


@pytest.mark.parametrize("full", _GRAD)
def test_gradients_through_the_call(full):
    def grads(T):
        args, kw = _CASES[full](T, True)
        out = _handle(T, full)(*args, **kw)
        first = out[0] if isinstance(out, (tuple, list)) else out
        w = T.tensor(np.arange(first.numel(), dtype=np.float64).reshape(tuple(first.shape)))
        (first * w.to(first.dtype)).sum().backward()
        flat = [a for x in args for a in (x if isinstance(x, list) else [x])]
        return [a.grad for a in flat if getattr(a, "requires_grad", False)]

    c, t = grads(cr), grads(torch)
    assert len(c) == len(t) > 0
    _same(list(c), list(t))


_PACKETS = [
    ("add", lambda T: ((_t(T, _X), _t(T, _Y)), {"alpha": 3})),
    ("add", lambda T: ((_t(T, _X), 2), {})),
    ("mul", lambda T: ((_t(T, _X), 0.5), {})),
    ("div", lambda T: ((_t(T, _X), _t(T, _Y)), {"rounding_mode": "floor"})),
    ("pow", lambda T: ((_t(T, _P), 0.5), {})),
    ("pow", lambda T: ((3, _t(T, _X)), {})),
    ("where", lambda T: ((_t(T, _C), _t(T, _X), 0.0), {})),
    ("clamp", lambda T: ((_t(T, _X),), {"min": 0})),
    ("sum", lambda T: ((_t(T, _B),), {})),
    ("sum", lambda T: ((_t(T, _B), [1]), {})),
    ("mean", lambda T: ((_t(T, _B),), {"dim": [0, 1], "keepdim": True})),
    ("squeeze", lambda T: ((_t(T, _M[:1, None]), 1), {})),
    ("split", lambda T: ((_t(T, _B), [3, 1], -1), {})),
    ("split", lambda T: ((_t(T, _B), 1), {})),
    ("mm", lambda T: ((_t(T, _X), _t(T, _M)), {})),
    ("transpose", lambda T: ((_t(T, _X), 0, 1), {})),
    ("slice", lambda T: ((_t(T, _B), 2, None, -1), {})),
    ("var", lambda T: ((_t(T, _B), False), {})),
    ("var", lambda T: ((_t(T, _B), [1], True, True), {})),
    ("var", lambda T: ((_t(T, _B), 1), {"correction": 2})),
    ("empty", lambda T: (([0, 3],), {"dtype": T.int64})),
]


@pytest.mark.parametrize(
    ("name", "make"), _PACKETS, ids=[f"{n}{i}" for i, (n, _) in enumerate(_PACKETS)]
)
def test_packet_call_matches_torch(name, make):
    (ca, ck), (ta, tk) = make(cr), make(torch)
    _same(getattr(cr.ops.aten, name)(*ca, **ck), getattr(torch.ops.aten, name)(*ta, **tk))


def test_relu_inplace_and_empty_and_dropout():
    c, t = cr.tensor(_X), torch.tensor(_X)
    assert cr.ops.aten.relu_.default(c) is c and torch.ops.aten.relu_.default(t) is t
    _same(c, t)
    e, te = cr.ops.aten.empty.memory_format([2, 3]), torch.ops.aten.empty.memory_format([2, 3])
    assert str(e.dtype) == str(te.dtype) and tuple(e.shape) == tuple(te.shape)
    for p, train in [(0.0, True), (1.0, None), (0.5, False)]:
        _same(
            cr.ops.aten.native_dropout.default(cr.tensor(_X), p, train),
            torch.ops.aten.native_dropout.default(torch.tensor(_X), p, train),
        )
    x = cr.tensor(_X, requires_grad=True)
    out, mask = cr.ops.aten.native_dropout.default(x, 0.5, True)
    assert str(mask.dtype) == "torch.bool"
    np.testing.assert_allclose(out.detach().numpy(), _X * mask.numpy() * 2.0)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), mask.numpy() * 2.0)


def test_refusals():
    x = cr.tensor(_X)
    with pytest.raises(RuntimeError) as t:
        torch.ops.aten._softmax.default(torch.tensor(_X).half(), 1, True)
    with pytest.raises(RuntimeError) as c:
        cr.ops.aten._softmax.default(x.half(), 1, True)
    assert str(c.value).splitlines()[0] == str(t.value).splitlines()[0]
    for step in (0, -1):
        with pytest.raises(RuntimeError) as t:
            torch.ops.aten.slice.Tensor(torch.tensor(_X), 0, 0, 2, step)
        with pytest.raises(RuntimeError) as c:
            cr.ops.aten.slice.Tensor(x, 0, 0, 2, step)
        assert str(c.value) == str(t.value).splitlines()[0]
    handle = cr.ops.aten._scaled_dot_product_flash_attention_for_cpu.default
    with pytest.raises(NotImplementedError, match="_scaled_dot_product_flash_attention_for_cpu"):
        handle(x, x, x)
    with pytest.raises(NotImplementedError, match="chainrule.foo.default"):
        _packet("chainrule", "foo").default(x)
    with pytest.raises(AttributeError, match="no overload name 'dtype'"):
        cr.ops.aten.mm.dtype  # noqa: B018


def test_table_is_consistent_with_torch_schemas():
    """Every overload listed exists in torch; every callable one is listed; op_for's names too."""
    for name, overloads in _ATEN.items():
        for o in overloads:
            assert o in getattr(torch.ops.aten, name).overloads(), f"{name}.{o}"
    for full in CALLS:
        name, o = full.split(".")
        assert o in _ATEN[name], full
    assert set(CALLS) <= set(_CASES) | {
        "relu_.default",
        "empty.memory_format",
        "native_dropout.default",
    }
    for how in _BY_CLASS.values():
        if isinstance(how, str):
            name, o = how.split(".")
            assert o in _ATEN[name], how


def _block(T):
    F = T.nn.functional
    i = T.tensor([0, 2])

    def f(x):
        ys = [
            T.abs(x) + T.sin(x) * T.cos(x) + T.reciprocal(x + 3) + T.sign(x),
            T.maximum(x, x * 2) - T.minimum(x, x * 0.5),
            T.where(x > 0, x, x * 3) + T.clamp(x, -0.5, 0.5) + T.pow(x, 2),
            T.amax(x, 1, True) + T.log_softmax(x, 1),
            T.index_select(x, 1, i).sum() + F.embedding(i // 2, x).sum() + T.stack([x, x]).sum(),
            F.conv1d(x[None], x[:, :2, None]).sum(),
        ]
        return sum(y.sum() for y in ys)

    return f


def _seen(T):
    ck, seen = T.utils.checkpoint, set()

    def policy(ctx, op, *args, **kwargs):
        seen.add(str(op))
        return ck.CheckpointPolicy.PREFER_RECOMPUTE

    x = T.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    ctx = functools.partial(ck.create_selective_checkpoint_contexts, policy)
    ck.checkpoint(_block(T), x, use_reentrant=False, context_fn=ctx).backward()
    return seen


def test_op_for_names_the_newly_mapped_ops_as_torch():
    """The handles a selective-checkpoint policy sees for the ops mapped this session are
    those torch's policy sees for the same block."""
    mine = {s for s in _seen(cr) if s.startswith("aten.")}
    new = "abs sin cos reciprocal sign maximum minimum amax clamp index_select stack embedding"
    want = {f"aten.{n}.default" for n in new.split()}
    want |= {"aten.pow.Tensor_Scalar", "aten.where.self", "aten._log_softmax.default"}
    want |= {"aten.convolution.default"}
    assert want <= mine
    assert mine <= _seen(torch)
