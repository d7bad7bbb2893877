"""Custom Functions, once_differentiable, cr.func transforms vs torch.func, error messages,
numerical stability at +-1e4, and anomaly detection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import Function, once_differentiable


class Cube(Function):
    """y = x^3 written by a user: forward gets Tensors, backward uses Tensor ops."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x * ctx.scale, None


def test_custom_function_forward_backward_and_needs_input_grad():
    seen = {}

    class Mul2(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            seen["needs"] = ctx.needs_input_grad
            a, b = ctx.saved_tensors
            return (
                grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None,
            )

    a = cr.tensor([2.0, 3.0], requires_grad=True)
    b = cr.tensor([5.0, 7.0])
    y = Mul2.apply(a, b)
    assert y.grad_fn.name() == "Mul2Backward"
    y.sum().backward()
    assert seen["needs"] == (True, False)
    np.testing.assert_allclose(a.grad.numpy(), [5.0, 7.0])


def test_custom_function_higher_order():
    x = cr.tensor([2.0], dtype=cr.float64, requires_grad=True)
    y = Cube.apply(x, 2.0)
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    assert g.item() == pytest.approx(24.0)  # 6 x^2
    (gg,) = cr.autograd.grad(g.sum(), x)
    assert gg.item() == pytest.approx(24.0)  # 12 x
    xs = cr.tensor(np.array([0.3, -1.2]), requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: Cube.apply(t, 1.5), [xs])
    assert cr.autograd.gradgradcheck(lambda t: Cube.apply(t, 1.5), [xs])


def test_once_differentiable_double_backward_raises_clearly():
    @once_differentiable
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    x = cr.tensor([3.0], requires_grad=True)
    (g,) = cr.autograd.grad(Square.apply(x).sum(), x)
    assert g.item() == 6.0
    y = Square.apply(x).sum()
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    assert g.item() == 6.0
    assert not g.requires_grad  # as torch: the incoming gradient (ones) needs none
    v = cr.tensor([1.0], requires_grad=True)
    (g,) = cr.autograd.grad(Square.apply(x), x, v, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice .*@once_differentiable"):
        g.sum().backward()


# ------------------------------------------------------------------ cr.func vs torch.func
def _f(x):
    return (x.sin() * x).sum() + (x**2).prod()


def _g(x):
    return x.tanh() * x.sum() + x.exp()


X = np.array([0.3, -0.7, 1.1])


def test_func_grad_vs_torch():
    got = cr.func.grad(_f)(cr.tensor(X))
    ref = torch.func.grad(_f)(torch.tensor(X))
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-10)


def test_func_vjp_and_jvp_vs_torch():
    v = np.array([1.0, -2.0, 0.5])
    out, fn = cr.func.vjp(_g, cr.tensor(X))
    tout, tfn = torch.func.vjp(_g, torch.tensor(X))
    np.testing.assert_allclose(out.detach().numpy(), tout.numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        fn(cr.tensor(v))[0].numpy(), tfn(torch.tensor(v))[0].numpy(), rtol=1e-10
    )
    o, t = cr.func.jvp(_g, (cr.tensor(X),), (cr.tensor(v),))
    to, tt = torch.func.jvp(_g, (torch.tensor(X),), (torch.tensor(v),))
    np.testing.assert_allclose(o.numpy(), to.numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.numpy(), tt.numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
def test_func_jacobians_vs_torch(name):
    got = getattr(cr.func, name)(_g)(cr.tensor(X))
    ref = getattr(torch.func, name)(_g)(torch.tensor(X))
    assert got.shape == tuple(ref.shape)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-10)


def test_func_hessian_vs_torch():
    got = cr.func.hessian(_f)(cr.tensor(X))
    ref = torch.func.hessian(_f)(torch.tensor(X))
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-9, atol=1e-12)


def test_func_grad_of_grad():
    d2 = cr.func.grad(cr.func.grad(lambda x: (x**3).sum()))
    assert d2(cr.tensor(np.array(2.0))).item() == pytest.approx(12.0)


def test_func_grad_argnums_and_has_aux():
    def f(a, b):
        return (a * b).sum(), a.sum()

    (ga, gb), aux = cr.func.grad(f, argnums=(0, 1), has_aux=True)(cr.tensor(X), cr.tensor(X * 2))
    np.testing.assert_allclose(ga.numpy(), X * 2)
    np.testing.assert_allclose(gb.numpy(), X)
    assert aux.item() == pytest.approx(X.sum())


def test_func_grad_non_scalar_raises():
    with pytest.raises(RuntimeError, match="to return a scalar Tensor"):
        cr.func.grad(lambda x: x * 2)(cr.tensor(X))


# ------------------------------------------------------------------ error messages
def test_error_messages_name_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        cr.ones(2, 3) + cr.ones(4)
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(2,\)"):
        cr.ones(2, 3) * cr.ones(2)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\).*\(3\).*\(4\)"):
        cr.ones(2, 3) @ cr.ones(4, 5)
    with pytest.raises(
        ValueError,
        match=r"matmul: batch dimensions of shapes \(2, 3, 4\) and "
        r"\(3, 4, 5\)",
    ):
        cr.ones(2, 3, 4) @ cr.ones(3, 4, 5)
    with pytest.raises(
        ValueError,
        match=r"cat: .*tensor 0 has shape \(2, 3\) but tensor 1 has "
        r"shape \(2, 4\)",
    ):
        cr.cat([cr.ones(2, 3), cr.ones(2, 4)], 0)
    with pytest.raises(  # PyTorch's text (session 39)
        ValueError, match=r"shape '\[4, 2\]' is invalid for input of size 6"
    ):
        cr.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"shape '\[-1, 4\]' is invalid"):
        cr.ones(2, 3).reshape(-1, 4)
    with pytest.raises(
        IndexError,
        match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 3\)",
    ):
        cr.ones(2, 3).sum(3)
    with pytest.raises(ValueError, match=r"where: condition"):
        cr.where(cr.ones(2).bool(), cr.ones(3), cr.ones(4))
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        cr.ones(2, 3)[5]
    with pytest.raises(ValueError, match=r"stack: .*\(2,\).*\(3,\)"):
        cr.stack([cr.ones(2), cr.ones(3)])
    with pytest.raises(ValueError, match=r"permute"):
        cr.ones(2, 3).permute(0, 0)


# ------------------------------------------------------------------ stability
BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 5.0]])


@pytest.mark.parametrize("name", ["log_softmax", "softmax", "logsumexp", "sigmoid", "softplus"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stability_at_plus_minus_1e4(name, dtype):
    fns = {
        "log_softmax": (lambda t: t.log_softmax(1), lambda t: t.log_softmax(1)),
        "softmax": (lambda t: t.softmax(1), lambda t: t.softmax(1)),
        "logsumexp": (lambda t: t.logsumexp(1), lambda t: t.logsumexp(1)),
        "sigmoid": (cr.sigmoid, torch.sigmoid),
        "softplus": (cr.softplus, torch.nn.functional.softplus),
    }
    fc, ft = fns[name]
    x = cr.tensor(BIG.astype(dtype), requires_grad=True)
    tx = torch.tensor(BIG, requires_grad=True)  # float64 reference (torch's float32 logsumexp
    # gradient loses ~1e-4 at 1e4; ours is exact)
    y, ty = fc(x), ft(tx)
    assert np.isfinite(y.detach().numpy()).all()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ anomaly detection
def test_detect_anomaly_names_op_and_user_line():
    x = cr.tensor([1.0, 0.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info, cr.autograd.detect_anomaly():
        y = (x * 2).log()  # ANOMALY-LINE
        y.sum().backward()
    msg = str(info.value)
    assert "Log" in msg
    assert "test_function_and_transforms.py" in msg and "ANOMALY-LINE" in msg
    assert not cr.autograd.is_anomaly_enabled()


def test_detect_anomaly_in_backward_names_forward_line():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info, cr.autograd.detect_anomaly():
        y = x.sqrt()  # SQRT-LINE
        y.sum().backward()
    msg = str(info.value)
    assert "SqrtBackward" in msg and "SQRT-LINE" in msg


def test_without_anomaly_mode_inf_propagates_like_torch():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore"):  # NumPy warns about the division by zero
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])
