"""Stanford CS231n's layer assignments (``cs231n/layers.py``, ``gradient_check.py``,
``classifiers/fc_net.py``, the ``FullyConnectedNets`` / ``BatchNormalization`` / ``Dropout`` /
``ConvolutionalNetworks`` notebooks) ported to tensors, size-reduced.

The idioms: layers written as ``torch.autograd.Function`` subclasses with hand-derived backward
passes (``ctx.save_for_backward`` / ``ctx.saved_tensors``, a non-tensor ``dict`` argument,
``None`` returned for a non-differentiable mask, ``ctx.needs_input_grad``): ``affine`` (``x.reshape(
x.shape[0], -1).mm(w) + b``; ``dx = dout.mm(w.t()).reshape(x.shape)``), ``relu``
(``dout * (x > 0)``), training-mode batch norm with the simplified backward ``(gamma * istd / N)
* (N * dout - dout.sum(0) - xhat * (dout * xhat).sum(0))`` and running statistics updated by
``momentum * running + (1 - momentum) * batch`` in the forward, inverted dropout with a fixed
mask (``mask = (rng.random(x.shape) < p) / p``); the naive convolution and max pool written with
loops over output positions (``F.pad`` then windows ``x_pad[:, :, i*s:i*s+HH, j*s:j*s+WW]``,
``torch.einsum("nchw,fchw->nf", ...)``, ``amax(dim=(2, 3))`` and ``torch.stack``), checked
against ``F.conv2d`` and ``F.max_pool2d``; ``softmax_loss`` / ``svm_loss`` returning
``(loss, dx)`` computed by hand (``dx[torch.arange(N), y] -= 1``) and compared with autograd
through ``F.cross_entropy`` / ``F.multi_margin_loss``; the numeric gradient
``eval_numerical_gradient_array(f, x, df, h=1e-5)`` with ``np.nditer(x, flags=["multi_index"],
op_flags=["readwrite"])`` and ``it.multi_index`` / ``it.iternext()``, writing ``x[ix] = oldval +
h`` through ``tensor.numpy()`` (which shares memory with the tensor, so the layer sees the
change), and the scalar ``eval_numerical_gradient`` over a ``TwoLayerNet``'s ``model.params``;
``rel_error``'s ``np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))``; and
``torch.autograd.gradcheck`` / ``gradgradcheck`` of the Functions on float64 inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["run"]

RTOL = 1e-7
ATOL = 1e-10


def rel_error(x: Any, y: Any) -> float:
    """returns relative error"""
    x, y = np.asarray(x), np.asarray(y)
    return float(np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y)))))


def eval_numerical_gradient(f: Any, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """a naive implementation of numerical gradient of f at x (f returns a number)"""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h  # increment by h
        fxph = f(x)  # evalute f(x + h)
        x[ix] = oldval - h
        fxmh = f(x)  # evaluate f(x - h)
        x[ix] = oldval  # restore
        grad[ix] = (fxph - fxmh) / (2 * h)  # the slope
        it.iternext()
    return grad


def eval_numerical_gradient_array(f: Any, x: np.ndarray, df: np.ndarray, h: float = 1e-5):
    """Evaluate a numeric gradient for a function that accepts a numpy array and returns a
    numpy array."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = f(x).copy()
        x[ix] = oldval - h
        neg = f(x).copy()
        x[ix] = oldval
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def _layers(torch: Any) -> dict[str, Any]:
    Function = torch.autograd.Function

    class Affine(Function):
        @staticmethod
        def forward(ctx: Any, x: Any, w: Any, b: Any) -> Any:
            ctx.save_for_backward(x, w)
            return x.reshape(x.shape[0], -1).mm(w) + b

        @staticmethod
        def backward(ctx: Any, dout: Any) -> tuple:
            x, w = ctx.saved_tensors
            dx = dout.mm(w.t()).reshape(x.shape) if ctx.needs_input_grad[0] else None
            dw = x.reshape(x.shape[0], -1).t().mm(dout)
            db = dout.sum(0)
            return dx, dw, db

    class ReLU(Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx: Any, dout: Any) -> Any:
            (x,) = ctx.saved_tensors
            return dout * (x > 0)

    class BatchNorm(Function):
        @staticmethod
        def forward(ctx: Any, x: Any, gamma: Any, beta: Any, bn_param: dict) -> Any:
            eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
            mu = x.mean(dim=0)
            var = x.var(dim=0, unbiased=False)
            istd = 1.0 / torch.sqrt(var + eps)
            xhat = (x - mu) * istd
            bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mu
            bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var
            ctx.save_for_backward(xhat, gamma, istd)
            return gamma * xhat + beta

        @staticmethod
        def backward(ctx: Any, dout: Any) -> tuple:
            xhat, gamma, istd = ctx.saved_tensors
            N = dout.shape[0]
            dgamma = (dout * xhat).sum(dim=0)
            dbeta = dout.sum(dim=0)
            dx = (gamma * istd / N) * (N * dout - dbeta - xhat * dgamma)
            return dx, dgamma, dbeta, None

    class Dropout(Function):
        @staticmethod
        def forward(ctx: Any, x: Any, mask: Any) -> Any:
            ctx.save_for_backward(mask)
            return x * mask

        @staticmethod
        def backward(ctx: Any, dout: Any) -> tuple:
            (mask,) = ctx.saved_tensors
            return dout * mask, None

    return {"affine": Affine, "relu": ReLU, "batchnorm": BatchNorm, "dropout": Dropout}


def conv_forward_naive(torch: Any, x: Any, w: Any, b: Any, conv_param: dict) -> Any:
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="constant", value=0)
    rows = []
    for i in range(H_out):
        cols = []
        for j in range(W_out):
            window = x_pad[:, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
            cols.append(torch.einsum("nchw,fchw->nf", window, w) + b)
        rows.append(torch.stack(cols, dim=-1))
    return torch.stack(rows, dim=2)


def max_pool_forward_naive(torch: Any, x: Any, pool_param: dict) -> Any:
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = torch.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * s : i * s + ph, j * s : j * s + pw].amax(dim=(2, 3))
    return out


def softmax_loss(torch: Any, x: Any, y: Any) -> tuple[Any, Any]:
    shifted_logits = x - x.max(dim=1, keepdim=True).values
    Z = torch.exp(shifted_logits).sum(dim=1, keepdim=True)
    log_probs = shifted_logits - torch.log(Z)
    probs = torch.exp(log_probs)
    N = x.shape[0]
    loss = -log_probs[torch.arange(N), y].sum() / N
    dx = probs.clone()
    dx[torch.arange(N), y] -= 1
    dx /= N
    return loss, dx


def svm_loss(torch: Any, x: Any, y: Any) -> tuple[Any, Any]:
    N = x.shape[0]
    correct_class_scores = x[torch.arange(N), y]
    margins = torch.clamp(x - correct_class_scores[:, None] + 1.0, min=0)
    margins[torch.arange(N), y] = 0
    loss = margins.sum() / N
    num_pos = (margins > 0).sum(dim=1)
    dx = (margins > 0).to(x.dtype)
    dx[torch.arange(N), y] -= num_pos.to(x.dtype)
    dx /= N
    return loss, dx


class TwoLayerNet:
    """affine - relu - affine - softmax, its parameters in ``self.params`` (a dict)."""

    def __init__(self, torch: Any, rng: np.random.Generator, dims: tuple, reg: float) -> None:
        self.torch = torch
        self.reg = reg
        d, h, c = dims
        self.params = {
            "W1": as_tensor(torch, 1e-1 * rng.standard_normal((d, h))),
            "b1": as_tensor(torch, 1e-2 * rng.standard_normal(h)),
            "W2": as_tensor(torch, 1e-1 * rng.standard_normal((h, c))),
            "b2": as_tensor(torch, 1e-2 * rng.standard_normal(c)),
        }

    def loss(self, X: Any, y: Any) -> tuple[float, dict[str, Any]]:
        torch = self.torch
        params = {k: v.detach().requires_grad_() for k, v in self.params.items()}
        hidden = torch.relu(X.mm(params["W1"]) + params["b1"])
        scores = hidden.mm(params["W2"]) + params["b2"]
        data_loss = torch.nn.functional.cross_entropy(scores, y)
        reg_loss = 0.5 * self.reg * ((params["W1"] ** 2).sum() + (params["W2"] ** 2).sum())
        loss = data_loss + reg_loss
        if not torch.is_grad_enabled():  # the numeric check only needs the loss
            return loss.item(), {}
        grads = dict(zip(params, torch.autograd.grad(loss, list(params.values())), strict=True))
        return loss.item(), grads


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(231)
    L = _layers(torch)
    values: list[float] = []
    errors: list[float] = []

    # affine: manual backward vs numeric vs autograd of the plain expression
    x = as_tensor(torch, rng.standard_normal((3, 2, 3)))
    w = as_tensor(torch, rng.standard_normal((6, 4)))
    b = as_tensor(torch, rng.standard_normal(4))
    dout = rng.standard_normal((3, 4))
    for t in (x, w, b):
        t.requires_grad_()
    out = L["affine"].apply(x, w, b)
    out.backward(as_tensor(torch, dout))
    with torch.no_grad():
        dx_num = eval_numerical_gradient_array(
            lambda _: L["affine"].apply(x, w, b).numpy(), x.detach().numpy(), dout
        )
        dw_num = eval_numerical_gradient_array(
            lambda _: L["affine"].apply(x, w, b).numpy(), w.detach().numpy(), dout
        )
    ref = torch.autograd.grad(
        (x.reshape(3, -1) @ w + b).mul(as_tensor(torch, dout)).sum(), [x, w, b]
    )
    errors += [rel_error(dx_num, x.grad.numpy()), rel_error(dw_num, w.grad.numpy())]
    errors += [rel_error(r.numpy(), g.numpy()) for r, g in zip(ref, (x.grad, w.grad, b.grad))]
    values += [out.sum().item(), x.grad.sum().item(), w.grad.abs().sum().item(), dx_num.sum()]

    # relu (inputs kept away from the kink)
    xr = as_tensor(torch, rng.standard_normal((4, 5)))
    xr = (xr + 0.1 * xr.sign()).requires_grad_()
    dout = rng.standard_normal((4, 5))
    L["relu"].apply(xr).backward(as_tensor(torch, dout))
    with torch.no_grad():
        dxr_num = eval_numerical_gradient_array(
            lambda _: L["relu"].apply(xr).numpy(), xr.detach().numpy(), dout
        )
    errors.append(rel_error(dxr_num, xr.grad.numpy()))
    values.append(xr.grad.sum().item())

    # batch norm: training forward, hand backward vs numeric and vs the autograd of F.batch_norm
    N, D = 6, 4
    xb = as_tensor(torch, 5 * rng.standard_normal((N, D)) + 12).requires_grad_()
    gamma = as_tensor(torch, rng.standard_normal(D)).requires_grad_()
    beta = as_tensor(torch, rng.standard_normal(D)).requires_grad_()
    bn_param = {"mode": "train", "running_mean": torch.zeros(D), "running_var": torch.zeros(D)}
    dout = rng.standard_normal((N, D))
    outb = L["batchnorm"].apply(xb, gamma, beta, bn_param)
    values += outb.mean(dim=0).tolist() + outb.std(dim=0, unbiased=False).tolist()
    outb.backward(as_tensor(torch, dout))
    with torch.no_grad():
        fx = lambda _: L["batchnorm"].apply(xb, gamma, beta, dict(bn_param)).numpy()  # noqa: E731
        dxb_num = eval_numerical_gradient_array(fx, xb.detach().numpy(), dout)
        dg_num = eval_numerical_gradient_array(fx, gamma.detach().numpy(), dout)
    rm, rv = torch.zeros(D), torch.ones(D)
    ref_out = F.batch_norm(xb, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5)
    ref = torch.autograd.grad(ref_out, [xb, gamma, beta], as_tensor(torch, dout))
    errors += [rel_error(dxb_num, xb.grad.numpy()), rel_error(dg_num, gamma.grad.numpy())]
    errors += [
        rel_error(r.numpy(), g.numpy()) for r, g in zip(ref, (xb.grad, gamma.grad, beta.grad))
    ]
    values += [xb.grad.abs().sum().item(), gamma.grad.sum().item(), beta.grad.sum().item()]
    values += bn_param["running_mean"].tolist() + bn_param["running_var"].tolist()
    # test mode: normalise with the running statistics
    with torch.no_grad():
        test_out = (
            gamma * (xb - bn_param["running_mean"]) / torch.sqrt(bn_param["running_var"] + 1e-5)
            + beta
        )
    values.append(test_out.sum().item())

    # inverted dropout with a fixed mask
    p = 0.6
    xd = as_tensor(torch, rng.standard_normal((5, 6))).requires_grad_()
    mask = as_tensor(torch, (rng.random((5, 6)) < p) / p)
    outd = L["dropout"].apply(xd, mask)
    outd.sum().backward()
    values += [outd.sum().item(), xd.grad.sum().item(), float((outd == 0).sum().item())]
    values.append(abs(outd.mean().item() - xd.mean().item()))

    # naive conv and max pool vs the library ops, and numeric gradients of the conv
    xc = as_tensor(torch, rng.standard_normal((2, 2, 5, 5))).requires_grad_()
    wc = as_tensor(torch, rng.standard_normal((3, 2, 3, 3))).requires_grad_()
    bc = as_tensor(torch, rng.standard_normal(3)).requires_grad_()
    conv_param = {"stride": 2, "pad": 1}
    outc = conv_forward_naive(torch, xc, wc, bc, conv_param)
    dout = rng.standard_normal(tuple(outc.shape))
    outc.backward(as_tensor(torch, dout))
    ref_c = F.conv2d(xc, wc, bc, stride=2, padding=1)
    ref = torch.autograd.grad(ref_c, [xc, wc, bc], as_tensor(torch, dout))
    errors.append(rel_error(outc.detach().numpy(), ref_c.detach().numpy()))
    errors += [rel_error(r.numpy(), g.numpy()) for r, g in zip(ref, (xc.grad, wc.grad, bc.grad))]
    with torch.no_grad():
        fc = lambda _: conv_forward_naive(torch, xc, wc, bc, conv_param).numpy()  # noqa: E731
        dw_num = eval_numerical_gradient_array(fc, wc.detach().numpy(), dout)
    errors.append(rel_error(dw_num, wc.grad.numpy()))
    values += [outc.sum().item(), xc.grad.abs().sum().item(), dw_num.sum(), bc.grad.sum().item()]

    xp = as_tensor(torch, rng.standard_normal((2, 3, 4, 4))).requires_grad_()
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    outp = max_pool_forward_naive(torch, xp, pool_param)
    outp.backward(torch.ones_like(outp))
    ref_p = F.max_pool2d(xp, kernel_size=2, stride=2)
    (ref_gp,) = torch.autograd.grad(ref_p.sum(), [xp])
    errors += [rel_error(outp.detach().numpy(), ref_p.detach().numpy())]
    errors += [rel_error(xp.grad.numpy(), ref_gp.numpy())]
    values += [outp.sum().item(), xp.grad.sum().item()]

    # losses with hand gradients vs autograd through the library losses
    num_classes, n = 5, 7
    xs = as_tensor(torch, 0.5 * rng.standard_normal((n, num_classes))).requires_grad_()
    ys = as_tensor(torch, rng.integers(0, num_classes, n))
    loss, dx = softmax_loss(torch, xs.detach(), ys)
    ce = F.cross_entropy(xs, ys)
    (g_ce,) = torch.autograd.grad(ce, [xs])
    errors += [rel_error(loss.item(), ce.item()), rel_error(dx.numpy(), g_ce.numpy())]
    loss_s, dx_s = svm_loss(torch, xs.detach(), ys)
    mm = F.multi_margin_loss(xs, ys, reduction="sum") * num_classes / n
    (g_mm,) = torch.autograd.grad(mm, [xs])
    errors += [rel_error(loss_s.item(), mm.item()), rel_error(dx_s.numpy(), g_mm.numpy())]
    values += [loss.item(), loss_s.item(), dx.abs().sum().item(), dx_s.abs().sum().item()]

    # the notebook's gradient check of a whole model, parameter by parameter
    X = as_tensor(torch, rng.standard_normal((3, 4)))
    y = as_tensor(torch, rng.integers(0, 3, 3))
    model = TwoLayerNet(torch, rng, (4, 5, 3), reg=0.7)
    loss, grads = model.loss(X, y)
    values.append(loss)
    for name in sorted(grads):
        f = lambda _: model.loss(X, y)[0]  # noqa: E731
        with torch.no_grad():
            grad_num = eval_numerical_gradient(f, model.params[name].numpy(), h=1e-6)
        errors.append(rel_error(grad_num, grads[name].numpy()))
        values.append(float(np.abs(grad_num).sum()))

    # torch.autograd.gradcheck / gradgradcheck of the Functions, in float64
    gradcheck = torch.autograd.gradcheck
    xa = as_tensor(torch, rng.standard_normal((2, 3)), requires_grad=True)
    wa = as_tensor(torch, rng.standard_normal((3, 2)), requires_grad=True)
    ba = as_tensor(torch, rng.standard_normal(2), requires_grad=True)
    checks = [
        gradcheck(L["affine"].apply, (xa, wa, ba), eps=1e-6, atol=1e-4),
        gradcheck(lambda a: L["relu"].apply(a + 0.1 * a.detach().sign()), (xa,)),
        gradcheck(
            lambda a, g, bt: L["batchnorm"].apply(
                a, g, bt, {"running_mean": torch.zeros(3), "running_var": torch.zeros(3)}
            ),
            (xa, ba.detach()[:1].expand(3).clone().requires_grad_(), torch.zeros(3)),
        ),
        gradcheck(
            lambda a: conv_forward_naive(torch, a, wc.detach(), bc.detach(), conv_param),
            (xc.detach()[:1].clone().requires_grad_(),),
        ),
        torch.autograd.gradgradcheck(lambda a, m: (a.tanh() * m).sum(), (xa, wa.t().detach())),
    ]
    values += [float(c) for c in checks]
    assert all(checks), checks

    assert max(errors) < 1e-6, errors
    values.append(float(len(errors)))
    return values
