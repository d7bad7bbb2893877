"""Conv + batch norm fused into one ``torch.autograd.Function``, as PyTorch's "Fusing Convolution
and Batch Norm using Custom Function" tutorial writes it, size-reduced.

The idioms: ``convolution_backward`` by hand (``F.conv2d(X.transpose(0, 1),
grad_out.transpose(0, 1)).transpose(0, 1)`` for the weight, ``F.conv_transpose2d(grad_out,
weight)`` for the input); ``class Conv2D(torch.autograd.Function)`` with ``@staticmethod``
``forward(ctx, X, weight)``, ``ctx.save_for_backward(X, weight)`` and a backward under
``@once_differentiable`` (``from torch.autograd.function import once_differentiable``); the
same op with ``torch.nn.grad.conv2d_input`` / ``torch.nn.grad.conv2d_weight`` and
``ctx.needs_input_grad``; ``torch.autograd.gradcheck(Conv2D.apply, (X, weight))`` on
``torch.rand(..., requires_grad=True, dtype=torch.double)`` inputs; ``unsqueeze_all(t)`` as
``t[None, :, None, None]``; the batch-norm forward (``X.sum(dim=(0, 2, 3))``,
``X.var(unbiased=True, dim=(0, 2, 3))``, ``N = X.numel() / X.size(1)``, ``torch.sqrt``,
``out = X - unsqueeze_all(mean)`` then ``out /= unsqueeze_all(denom)``) with metadata kept on
``ctx`` (``ctx.eps``, ``ctx.sum``, ``ctx.N``, ``ctx.sqrt_var``) and the tutorial's in-place
``batch_norm_backward`` (``tmp *= -1``, ``grad_input += ...``, ``grad_input *= 2 / ((N - 1) *
N)``, ``grad_input /= ...``); ``gradcheck(BatchNorm.apply, (a,), fast_mode=False)``;
``FusedConvBN2DFunction`` recomputing the convolution in backward and returning ``grad_X,
grad_input, None``; the ``FusedConvBN`` module (``factory_kwargs = {'device': device, 'dtype':
dtype}``, ``nn.Parameter(torch.empty(*weight_shape, **factory_kwargs))``,
``nn.init.kaiming_uniform_(self.conv_weight, a=math.sqrt(5))``) in the tutorial's MNIST
``Net`` (``F.max_pool2d``, ``torch.flatten(x, 1)``, ``F.log_softmax``, ``F.nll_loss``),
checked against ``nn.Conv2d(bias=False)`` + ``nn.BatchNorm2d(affine=False)`` and trained a few
steps with ``optim.SGD`` (and the tutorial's ``optim.Adadelta(lr=1.0)`` with ``StepLR(step_size=1,
gamma=0.7)``).

Changed: MNIST 28 x 28 images and 32/64 channels -> random 10 x 10 images and 3/4 channels;
the gradchecks on 2 x 2 x 4 x 4 inputs and 2 x 2 x 3 x 3 weights (gradcheck perturbs every
input element and back-propagates every output element: 3 x 3 x 5 x 5 inputs and 2 x 3 x 3 x 3
weights cost 2-3x the time for the same check); the kaiming init is drawn by the harness's torch
model and copied.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SIDE, BATCH, STEPS = 10, 4, 3


def unsqueeze_all(t: Any) -> Any:
    # Helper function to ``unsqueeze`` all the dimensions that we reduce over
    return t[None, :, None, None]


def batch_norm_backward(
    grad_out: Any,
    X: Any,
    sum: Any,  # noqa: A002 - the tutorial's name
    sqrt_var: Any,
    N: float,
    eps: float,
) -> Any:
    tmp = ((X - unsqueeze_all(sum) / N) * grad_out).sum(dim=(0, 2, 3))
    tmp *= -1
    d_denom = tmp / (sqrt_var + eps) ** 2  # d_denom = -num / denom**2
    d_var = d_denom / (2 * sqrt_var)  # denom = torch.sqrt(var) + eps
    # Compute ``d_mean_dx`` before allocating the final NCHW-sized grad_input buffer
    d_mean_dx = grad_out / unsqueeze_all(sqrt_var + eps)
    d_mean_dx = unsqueeze_all(-d_mean_dx.sum(dim=(0, 2, 3)) / N)
    # (1) unbiased_var(x) = ((X - unsqueeze_all(mean))**2).sum(dim=(0, 2, 3)) / (N - 1)
    grad_input = X * unsqueeze_all(d_var * N)
    grad_input += unsqueeze_all(-d_var * sum)
    grad_input *= 2 / ((N - 1) * N)
    # (2) mean (see above)
    grad_input += d_mean_dx
    # (3) Add 'grad_out / <factor>' without allocating an extra buffer
    grad_input *= unsqueeze_all(sqrt_var + eps)
    grad_input += grad_out
    grad_input /= unsqueeze_all(sqrt_var + eps)  # ``sqrt_var + eps > 0!``
    return grad_input


def _functions(torch_like: Any) -> tuple[type, type, type, type]:
    torch = torch_like
    F = torch.nn.functional
    once_differentiable = torch.autograd.function.once_differentiable

    def convolution_backward(grad_out: Any, X: Any, weight: Any) -> tuple[Any, Any]:
        grad_input = F.conv2d(X.transpose(0, 1), grad_out.transpose(0, 1)).transpose(0, 1)
        grad_X = F.conv_transpose2d(grad_out, weight)
        return grad_X, grad_input

    class Conv2D(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, X: Any, weight: Any) -> Any:
            ctx.save_for_backward(X, weight)
            return F.conv2d(X, weight)

        # Use @once_differentiable by default unless we intend to double backward
        @staticmethod
        @once_differentiable
        def backward(ctx: Any, grad_out: Any) -> tuple[Any, Any]:
            X, weight = ctx.saved_tensors
            return convolution_backward(grad_out, X, weight)

    class Conv2DNNGrad(torch.autograd.Function):
        """The same convolution, its backward from ``torch.nn.grad``."""

        @staticmethod
        def forward(ctx: Any, X: Any, weight: Any) -> Any:
            ctx.save_for_backward(X, weight)
            return F.conv2d(X, weight, padding=1)

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> tuple[Any, Any]:
            X, weight = ctx.saved_tensors
            grad_X = grad_weight = None
            if ctx.needs_input_grad[0]:
                grad_X = torch.nn.grad.conv2d_input(X.shape, weight, grad_out, padding=1)
            if ctx.needs_input_grad[1]:
                grad_weight = torch.nn.grad.conv2d_weight(X, weight.shape, grad_out, padding=1)
            return grad_X, grad_weight

    class BatchNorm(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, X: Any, eps: float = 1e-3) -> Any:
            # Don't save ``keepdim`` values for backward
            sum = X.sum(dim=(0, 2, 3))  # noqa: A001 - the tutorial's name
            var = X.var(unbiased=True, dim=(0, 2, 3))
            N = X.numel() / X.size(1)
            sqrt_var = torch.sqrt(var)
            ctx.save_for_backward(X)
            ctx.eps = eps
            ctx.sum = sum
            ctx.N = N
            ctx.sqrt_var = sqrt_var
            mean = sum / N
            denom = sqrt_var + eps
            out = X - unsqueeze_all(mean)
            out /= unsqueeze_all(denom)
            return out

        @staticmethod
        @once_differentiable
        def backward(ctx: Any, grad_out: Any) -> tuple[Any, None]:
            (X,) = ctx.saved_tensors
            return batch_norm_backward(grad_out, X, ctx.sum, ctx.sqrt_var, ctx.N, ctx.eps), None

    class FusedConvBN2DFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, X: Any, conv_weight: Any, eps: float = 1e-3) -> Any:
            assert X.ndim == 4  # N, C, H, W
            # (1) Only need to save this single buffer for backward!
            ctx.save_for_backward(X, conv_weight)
            # (2) Exact same Conv2D forward from example above
            X = F.conv2d(X, conv_weight)
            # (3) Exact same BatchNorm2D forward from example above
            sum = X.sum(dim=(0, 2, 3))  # noqa: A001 - the tutorial's name
            var = X.var(unbiased=True, dim=(0, 2, 3))
            N = X.numel() / X.size(1)
            sqrt_var = torch.sqrt(var)
            ctx.eps = eps
            ctx.sum = sum
            ctx.N = N
            ctx.sqrt_var = sqrt_var
            mean = sum / N
            denom = sqrt_var + eps
            # Instead of `out = (X - a) / b`, doing `out = X - a; out /= b`
            out = X - unsqueeze_all(mean)
            out /= unsqueeze_all(denom)
            return out

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> tuple[Any, Any, None]:
            X, conv_weight = ctx.saved_tensors
            # (4) Batch norm backward
            # (5) We need to recompute conv
            X_conv_out = F.conv2d(X, conv_weight)
            grad_out = batch_norm_backward(
                grad_out, X_conv_out, ctx.sum, ctx.sqrt_var, ctx.N, ctx.eps
            )
            # (6) Conv2d backward
            grad_X, grad_input = convolution_backward(grad_out, X, conv_weight)
            return grad_X, grad_input, None

    return Conv2D, Conv2DNNGrad, BatchNorm, FusedConvBN2DFunction


def _fused_module(torch_like: Any) -> type:
    torch = torch_like
    nn = torch.nn
    FusedConvBN2DFunction = _functions(torch)[3]

    class FusedConvBN(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            kernel_size: int,
            exp_avg_factor: float = 0.1,
            eps: float = 1e-3,
            device: Any = None,
            dtype: Any = None,
        ) -> None:
            super().__init__()
            factory_kwargs = {"device": device, "dtype": dtype}
            # Conv parameters
            weight_shape = (out_channels, in_channels, kernel_size, kernel_size)
            self.conv_weight = nn.Parameter(torch.empty(*weight_shape, **factory_kwargs))
            # Batch norm parameters
            self.eps = eps
            # Initialize
            self.reset_parameters()

        def forward(self, X: Any) -> Any:
            return FusedConvBN2DFunction.apply(X, self.conv_weight, self.eps)

        def reset_parameters(self) -> None:
            nn.init.kaiming_uniform_(self.conv_weight, a=math.sqrt(5))

    return FusedConvBN


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional
    FusedConvBN = _fused_module(torch)

    class Net(nn.Module):
        def __init__(self, fused: bool = True) -> None:
            super().__init__()
            self.fused = fused
            if fused:
                self.convbn1 = FusedConvBN(1, 3, 3)
                self.convbn2 = FusedConvBN(3, 4, 3)
            else:
                self.conv1 = nn.Conv2d(1, 3, 3, bias=False)
                self.bn1 = nn.BatchNorm2d(3, affine=False, track_running_stats=False)
                self.conv2 = nn.Conv2d(3, 4, 3, bias=False)
                self.bn2 = nn.BatchNorm2d(4, affine=False, track_running_stats=False)
            self.fc1 = nn.Linear(4 * 3 * 3, 8)
            self.dropout = nn.Dropout(0.5)
            self.fc2 = nn.Linear(8, 5)

        def forward(self, x: Any) -> Any:
            if self.fused:
                x = self.convbn1(x)
            else:
                x = self.bn1(self.conv1(x))
            x = F.relu(x)
            if self.fused:
                x = self.convbn2(x)
            else:
                x = self.bn2(self.conv2(x))
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def _gradchecks(torch_like: Any) -> list[float]:
    torch = torch_like
    Conv2D, Conv2DNNGrad, BatchNorm, FusedConvBN2DFunction = _functions(torch)
    rng = np.random.default_rng(1)
    weight = as_tensor(torch, rng.random((2, 2, 3, 3)), dtype=torch.double).requires_grad_()
    X = as_tensor(torch, rng.random((2, 2, 4, 4)), dtype=torch.double).requires_grad_()
    values = [float(torch.autograd.gradcheck(Conv2D.apply, (X, weight)))]
    values += [float(torch.autograd.gradcheck(Conv2DNNGrad.apply, (X, weight)))]
    a = as_tensor(torch, rng.random((1, 2, 3, 4)), dtype=torch.double).requires_grad_()
    values += [float(torch.autograd.gradcheck(BatchNorm.apply, (a,), fast_mode=False))]
    values += [float(torch.autograd.gradcheck(FusedConvBN2DFunction.apply, (X, weight)))]
    # needs_input_grad: a frozen weight gets no gradient, the input still does
    frozen = weight.detach()
    out = Conv2DNNGrad.apply(X, frozen)
    out.pow(2).sum().backward()
    values += [float(frozen.grad is None)] + X.grad.flatten()[:6].tolist()
    # once_differentiable: a second derivative through it is refused
    y = Conv2D.apply(X, weight).sum()
    (gx,) = torch.autograd.grad(y, X, create_graph=True)
    values += [float(gx.requires_grad)]
    try:
        gx.sum().backward()
        values += [0.0]
    except RuntimeError:
        values += [1.0]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    optim = torch.optim
    F = torch.nn.functional
    values = _gradchecks(torch)
    rng = np.random.default_rng(3)
    data = as_tensor(torch, rng.standard_normal((BATCH, 1, SIDE, SIDE)))
    target = as_tensor(torch, rng.integers(0, 5, BATCH))

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    model.eval()  # dropout off; the fused batch norm always uses batch statistics
    reference = make_model(torch)
    reference.fused = False
    reference.conv1 = torch.nn.Conv2d(1, 3, 3, bias=False)
    reference.bn1 = torch.nn.BatchNorm2d(3, affine=False, track_running_stats=False, eps=1e-3)
    reference.conv2 = torch.nn.Conv2d(3, 4, 3, bias=False)
    reference.bn2 = torch.nn.BatchNorm2d(4, affine=False, track_running_stats=False, eps=1e-3)
    with torch.no_grad():
        reference.conv1.weight.copy_(model.convbn1.conv_weight)
        reference.conv2.weight.copy_(model.convbn2.conv_weight)
        reference.fc1.load_state_dict(model.fc1.state_dict())
        reference.fc2.load_state_dict(model.fc2.state_dict())
    reference.eval()
    # the tutorial's batch norm divides by the unbiased std plus eps, nn.BatchNorm2d by
    # sqrt(biased var + eps): close, not equal
    gap = (model(data) - reference(data)).abs().max().item()
    values += [float(gap < 0.5)]

    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _step in range(STEPS):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.convbn1.conv_weight.grad.norm().item()]

    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    for _epoch in range(2):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), scheduler.get_last_lr()[0]]
    values += model.convbn2.conv_weight.flatten()[:8].tolist()
    return values
