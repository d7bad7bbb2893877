"""Session 39's first-order backward paths: mul, sub, exp, log, sqrt, tanh, sigmoid and relu
compute their gradients on the arrays (``ops/_first_order.py``) and transpose/permute invert
the permutation in Python. The same results bit for bit (values, dtype, strides) as the
recorded Tensor-op path (``create_graph=True``), the same values as torch, and the same
behaviour where the fast path steps aside (``__torch_function__`` operands, in-place
changes, vmap, forward mode, the meta device, a convolution's layout mark), and the same
anomaly-mode error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

_OPS = {
    "mul": lambda x, w: x * w,
    "mul_self": lambda x, w: x * x,
    "mul_broadcast": lambda x, w: x * w[0],
    "mul_broadcast_left": lambda x, w: w[:, :1] * x,
    "mul_number": lambda x, w: x * 2.5,
    "mul_int": lambda x, w: 3 * x,
    "mul_constant": lambda x, w: x * w.detach(),
    "mul_of_transposed": lambda x, w: x.transpose(0, 2) * w.transpose(0, 2),
    "mul_0d": lambda x, w: x.sum() * w.sum(),
    "mul_0d_by_tensor": lambda x, w: x[0, 0, 0] * w,
    "sub": lambda x, w: x - w,
    "sub_broadcast": lambda x, w: x[:, :1] - w,
    "rsub_number": lambda x, w: 1.5 - x,
    "rsub_tensors": lambda x, w: cr.rsub(x, w) if isinstance(x, cr.Tensor) else torch.rsub(x, w),
    "sub_alpha": lambda x, w: (
        cr.sub(x, w, alpha=2.5) if isinstance(x, cr.Tensor) else torch.sub(x, w, alpha=2.5)
    ),
    "sub_constant": lambda x, w: x.detach() - w,
    "exp": lambda x, w: x.exp(),
    "log": lambda x, w: (x * x + 0.5).log(),
    "log_of_zero": lambda x, w: (x * 0).log() * 0,
    "sqrt": lambda x, w: (x * x + 0.5).sqrt(),
    "sqrt_of_zero": lambda x, w: (x * 0).sqrt() * 0,
    "sqrt_of_transposed": lambda x, w: (x.transpose(0, 2) ** 2).sqrt(),
    "exp_of_transposed": lambda x, w: x.transpose(1, 2).exp(),
    "tanh": lambda x, w: x.tanh(),
    "sigmoid": lambda x, w: x.sigmoid(),
    "relu": lambda x, w: x.relu(),
    "relu_of_transposed": lambda x, w: x.transpose(0, 1).relu(),
    "chain": lambda x, w: (x * w).tanh().sigmoid().exp().relu() * 2.0,
    "transpose": lambda x, w: x.transpose(0, 2),
    "transpose_negative": lambda x, w: x.transpose(-1, 0),
    "t": lambda x, w: x[0].t() * w[0].t(),
    "permute": lambda x, w: x.permute(2, 0, 1),
    "permute_then_mul": lambda x, w: x.permute(1, 2, 0) * w.permute(1, 2, 0),
}


def _inputs(m, dtype, seed=0):
    rng = np.random.default_rng(seed)
    xa = rng.standard_normal((3, 5, 4)).astype(dtype)
    xa[0, 0, :2] = 0.0  # relu's tie at 0 (and -0.0)
    xa[0, 1, 0] = -0.0
    wa = rng.standard_normal((3, 5, 4)).astype(dtype)
    return m.tensor(xa, requires_grad=True), m.tensor(wa, requires_grad=True)


def _grads(name: str, dtype: type, create_graph: bool, grad_layout: str) -> list[np.ndarray]:
    x, w = _inputs(cr, dtype)
    y = _OPS[name](x, w)
    rng = np.random.default_rng(1)
    ga = rng.standard_normal(tuple(y.shape)[::-1]).astype(dtype)
    g = cr.tensor(ga.T if grad_layout == "transposed" else ga.T.copy())
    gx, gw = cr.autograd.grad(y, (x, w), g, create_graph=create_graph, allow_unused=True)
    return [t.detach().numpy() for t in (gx, gw) if t is not None]


@pytest.mark.parametrize("grad_layout", ["row_major", "transposed"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(_OPS))
def test_first_order_equals_recorded_path(name, dtype, grad_layout):
    fast = _grads(name, dtype, False, grad_layout)
    recorded = _grads(name, dtype, True, grad_layout)
    assert len(fast) == len(recorded) > 0
    for a, b in zip(fast, recorded):
        assert a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("name", "dtype"),
    [(n, np.float16) for n in ("mul", "mul_number", "exp", "tanh", "chain")]
    + [(n, np.complex64) for n in ("mul", "mul_number", "exp")],
)
def test_other_dtypes_keep_the_recorded_path(name, dtype):
    rng = np.random.default_rng(2)
    results = []
    for create_graph in (False, True):
        x = cr.tensor(rng.standard_normal((4, 3)).astype(dtype), requires_grad=True)
        w = cr.tensor(rng.standard_normal((4, 3)).astype(dtype), requires_grad=True)
        y = _OPS[name](x, w)
        g = cr.ones_like(y)
        grads = cr.autograd.grad(y, (x, w), g, create_graph=create_graph, allow_unused=True)
        results.append([t.detach().numpy() for t in grads if t is not None])
        rng = np.random.default_rng(2)
    for a, b in zip(*results, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def _torch_op(name: str):
    return _OPS[name]  # every op here is spelled the same in torch


@pytest.mark.parametrize("name", sorted(_OPS))
def test_gradients_match_torch(name):
    out = {}
    for m in (cr, torch):
        x, w = _inputs(m, np.float64, seed=3)
        y = _OPS[name](x, w) if m is cr else _torch_op(name)(x, w)
        y.backward(m.tensor(np.linspace(-1.0, 2.0, y.numel()).reshape(tuple(y.shape))))
        out[m.__name__] = [None if t.grad is None else t.grad.numpy() for t in (x, w)]
    for a, b in zip(out["chainrule"], out["torch"]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
            assert np.array_equal(np.signbit(a), np.signbit(b))  # relu's -0.0 and 0.0


@pytest.mark.parametrize("name", ["mul", "exp", "tanh", "sigmoid", "relu", "chain"])
def test_double_backward_matches_torch(name):
    out = {}
    for m in (cr, torch):
        x, w = _inputs(m, np.float64, seed=4)
        y = _OPS[name](x, w)
        (gx,) = m.autograd.grad(y.sum(), (x,), create_graph=True)
        (ggx,) = m.autograd.grad((gx * gx).sum(), (x,), allow_unused=True)
        out[m.__name__] = None if ggx is None else ggx.detach().numpy()
    if out["torch"] is None:
        assert out["chainrule"] is None or not out["chainrule"].any()
    else:
        np.testing.assert_allclose(out["chainrule"], out["torch"], rtol=1e-12, atol=1e-14)


def test_hooks_see_the_first_order_gradients_as_torch():
    seen = {}
    for m in (cr, torch):
        x, w = _inputs(m, np.float32, seed=5)
        grads = []
        x.register_hook(lambda g, grads=grads: grads.append(g.numpy().copy()))
        h = x * w
        h.register_hook(lambda g, grads=grads: grads.append(g.numpy().copy()))
        ((h.tanh() * 2.0).sigmoid().exp().relu()).sum().backward()
        seen[m.__name__] = grads
    for a, b in zip(seen["chainrule"], seen["torch"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_in_place_change_of_a_saved_operand_still_raises():
    x = cr.ones(3, requires_grad=True)
    w = cr.ones(3) * 2
    y = x * w
    w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    z = x.exp()
    with cr.no_grad():
        z.mul_(2)  # exp saved its output
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_anomaly_mode_names_the_node_as_before():
    # the engine checks a rule's results in anomaly mode (the ops inside it unchecked), so
    # the array path gives the same error as the recorded one
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([1e30, 1.0])
    with cr.autograd.detect_anomaly():
        for create_graph in (False, True):
            y = x * w
            with pytest.raises(RuntimeError, match="MulBackward0 returned NaN or Inf in its gra"):
                y.backward(cr.tensor([1e30, 1.0]), create_graph=create_graph)


def test_torch_function_subclass_operand_keeps_the_recorded_path():
    calls = []

    class Logged(cr.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    x = cr.ones(2, 2, requires_grad=True)
    w = cr.full((2, 2), 3.0).as_subclass(Logged)
    y = x * w
    calls.clear()
    y.backward(cr.ones(2, 2))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 3.0, np.float32))
    assert calls  # the backward's g * w went through the subclass, as before


def test_parameter_operand_takes_the_array_path_with_the_same_result():
    p = cr.nn.Parameter(cr.tensor([[1.5, -2.0], [0.25, 4.0]], dtype=cr.float64))
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float64, requires_grad=True)
    (x * p).tanh().sum().backward()
    tp = torch.nn.Parameter(torch.tensor([[1.5, -2.0], [0.25, 4.0]], dtype=torch.float64))
    tx = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    (tx * tp).tanh().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["mul", "exp", "tanh", "sigmoid", "relu", "transpose"])
def test_vmap_of_grad_matches_torch(name):
    rng = np.random.default_rng(6)
    xa, wa = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    out = {}
    for m in (cr, torch):

        def f(x, w, m=m):
            return _OPS[name](x.reshape(3, 1, 2), w.reshape(3, 1, 2)).sum()

        gx = m.func.vmap(m.func.grad(f))(m.tensor(xa), m.tensor(wa))
        out[m.__name__] = gx.numpy()
    np.testing.assert_allclose(out["chainrule"], out["torch"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["mul", "exp", "tanh", "sigmoid", "relu"])
def test_forward_over_reverse_matches_torch(name):
    rng = np.random.default_rng(7)
    xa, wa, ta = (rng.standard_normal((3, 2)) for _ in range(3))
    out = {}
    for m in (cr, torch):
        w = m.tensor(wa)

        def f(x, m=m, w=w):
            return m.func.grad(lambda x: _OPS[name](x, w).sum())(x)

        _, tangent = m.func.jvp(f, (m.tensor(xa),), (m.tensor(ta),))
        out[m.__name__] = tangent.numpy()
    np.testing.assert_allclose(out["chainrule"], out["torch"], rtol=1e-12, atol=1e-14)


def test_meta_tensors_keep_shape_only_gradients():
    x = cr.empty(4, 3, device="meta", requires_grad=True)
    w = cr.empty(4, 3, device="meta", requires_grad=True)
    ((x * w).tanh().sigmoid().exp().relu().transpose(0, 1)).sum().backward()
    assert x.grad.is_meta and w.grad.is_meta
    assert tuple(x.grad.shape) == tuple(w.grad.shape) == (4, 3)


def test_convolution_layout_mark_gradients_as_the_recorded_path():
    rng = np.random.default_rng(8)
    xa = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    results = []
    for create_graph in (False, True):
        cr.manual_seed(0)
        conv = cr.nn.Conv2d(3, 4, 3)
        x = cr.tensor(xa, requires_grad=True)
        h = conv(x)
        y = (h.relu() * h.sigmoid()).tanh().exp()
        grads = cr.autograd.grad(y, (x, conv.weight), cr.ones_like(y), create_graph=create_graph)
        results.append([g.detach().numpy() for g in grads])
    for a, b in zip(*results, strict=True):
        assert a.strides == b.strides
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("name", "node_module", "node"),
    [
        ("mul", "chainrule.ops.binary", "Mul"),
        ("mul_number", "chainrule.ops.binary", "Mul"),
        ("sub", "chainrule.ops.unary", "Neg"),
        ("rsub_number", "chainrule.ops.unary", "Neg"),
        ("exp", "chainrule.ops.binary", "Mul"),
        ("log", "chainrule.ops.binary", "Div"),
        ("sqrt", "chainrule.ops.binary", "Div"),
        ("tanh", "chainrule.ops.fused_grads", "TanhGrad"),
        ("sigmoid", "chainrule.ops.fused_grads", "SigmoidGrad"),
        ("relu", "chainrule.ops.fused_grads", "ReluGrad"),
    ],
)
def test_first_order_records_no_gradient_op(name, node_module, node, monkeypatch):
    # the array path is taken (no Function.apply of the gradient's op); create_graph records it
    import importlib

    cls = getattr(importlib.import_module(node_module), node)
    calls = []
    original = cls.apply.__func__

    def counting(c, *args, **kwargs):
        calls.append(c.__name__)
        return original(c, *args, **kwargs)

    monkeypatch.setattr(cls, "apply", classmethod(counting))
    for create_graph in (False, True):
        x, w = _inputs(cr, np.float32)
        y = _OPS[name](x, w)
        calls.clear()
        cr.autograd.grad(
            y, (w if name == "sub" else x,), cr.ones_like(y), create_graph=create_graph
        )
        assert (node in calls) is create_graph
