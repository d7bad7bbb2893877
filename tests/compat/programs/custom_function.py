"""Custom ``autograd.Function``s used in training: a linear map and a smooth activation, each with
``forward(ctx, ...)``/``backward(ctx, grad)``, ``ctx.save_for_backward``, ``ctx.saved_tensors``,
``ctx.needs_input_grad`` (skipping gradients nobody asked for), a non-tensor argument whose
gradient is ``None``, and ``Function.apply``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def _functions(torch_like: Any) -> tuple[Any, Any]:
    Function = torch_like.autograd.Function

    class LinearFunction(Function):
        @staticmethod
        def forward(ctx: Any, x: Any, weight: Any, bias: Any = None) -> Any:
            ctx.save_for_backward(x, weight, bias)
            out = x.mm(weight.t())
            if bias is not None:
                out += bias.unsqueeze(0).expand_as(out)
            return out

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple[Any, Any, Any]:
            x, weight, bias = ctx.saved_tensors
            grad_x = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_x = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(x)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_x, grad_weight, grad_bias

    class SquarePlus(Function):
        """(x + sqrt(x^2 + b)) / 2, a smooth ReLU; ``b`` is a plain float."""

        @staticmethod
        def forward(ctx: Any, x: Any, b: float) -> Any:
            root = torch_like.sqrt(x * x + b)
            ctx.save_for_backward(x, root)
            return (x + root) / 2

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple[Any, None]:
            x, root = ctx.saved_tensors
            return grad_output * (1 + x / root) / 2, None

    return LinearFunction, SquarePlus


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    LinearFunction, SquarePlus = _functions(torch_like)

    class CustomLinear(nn.Module):
        def __init__(self, n_in: int, n_out: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch_like.empty(n_out, n_in))
            self.bias = nn.Parameter(torch_like.zeros(n_out))
            nn.init.uniform_(self.weight, -0.3, 0.3)

        def forward(self, x: Any) -> Any:
            return LinearFunction.apply(x, self.weight, self.bias)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = CustomLinear(3, 5)
            self.out = CustomLinear(5, 1)

        def forward(self, x: Any) -> Any:
            return self.out(SquarePlus.apply(self.hidden(x), 0.5))

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    rng = np.random.default_rng(4)
    x = as_tensor(torch_like, rng.standard_normal((10, 3)))
    y = as_tensor(torch_like, rng.standard_normal((10, 1)))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _step in range(4):
        optimizer.zero_grad()
        loss = torch_like.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    # A gradient with respect to the input only: needs_input_grad is False for the weights.
    LinearFunction, _ = _functions(torch_like)
    x_req = x.clone().requires_grad_(True)
    w = torch_like.ones(2, 3)
    LinearFunction.apply(x_req, w).pow(2).sum().backward()
    return [*losses, *x_req.grad[0].tolist()]
