"""The PyTorch "Learning PyTorch with Examples" tutorial (``beginner/pytorch_with_examples``):
fitting ``sin(x)`` on ``[-pi, pi]`` with a third-order polynomial, in each of the tutorial's
stages, size-reduced (2000 points -> 200, 2000 iterations -> 30 each):

1. tensors with hand-written backward (``torch.linspace(..., device=device, dtype=dtype)``,
   ``torch.randn(())``, ``(y_pred - y).pow(2).sum().item()``);
2. autograd (``requires_grad=True`` scalars, updates under ``torch.no_grad()``, ``a.grad = None``);
3. a custom ``torch.autograd.Function`` ``LegendrePolynomial3`` (``ctx.save_for_backward``,
   ``P3 = LegendrePolynomial3.apply``, ``torch.full((), ...)``);
4. ``nn``: ``x.unsqueeze(-1).pow(p)`` with ``p = torch.tensor([1, 2, 3])``,
   ``nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))``, ``nn.MSELoss(reduction='sum')``,
   ``model.zero_grad()``, ``param -= learning_rate * param.grad``, ``model[0]``,
   ``linear_layer.bias.item()``, ``linear_layer.weight[:, 0].item()``;
5. ``optim.RMSprop``;
6. a custom ``nn.Module`` ``Polynomial3`` (``torch.nn.Parameter(torch.randn(()))``, ``string()``)
   with ``optim.SGD``;
7. ``DynamicNet``: control flow and weight sharing (``random.randint(4, 5)`` extra layers of
   the same ``self.e`` parameter) trained with momentum SGD.

``torch.randn`` draws (random, and different between the two frameworks) are replaced by NumPy
draws passed in with ``torch.tensor``/``torch.from_numpy``; ``random.randint`` uses a seeded
``random.Random``.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

DTYPE = "float32"  # the tutorial works in torch.float
N_POINTS, ITERS = 200, 30


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(1)
    values: list[float] = []
    dtype = torch.float
    device = torch.device("cpu")

    def randn() -> Any:  # stands in for torch.randn((), device=device, dtype=dtype)
        return torch.tensor(float(rng.standard_normal()), device=device, dtype=dtype)

    # Create random input and output data
    x = torch.linspace(-math.pi, math.pi, N_POINTS, device=device, dtype=dtype)
    y = torch.sin(x)

    # --- 1. Tensors: manual forward and backward -----------------------------------------
    a, b, c, d = randn(), randn(), randn(), randn()
    learning_rate = 1e-5
    for _t in range(ITERS):
        # Forward pass: compute predicted y
        y_pred = a + b * x + c * x**2 + d * x**3

        # Compute and print loss
        loss = (y_pred - y).pow(2).sum().item()
        values.append(loss)

        # Backprop to compute gradients of a, b, c, d with respect to loss
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x**2).sum()
        grad_d = (grad_y_pred * x**3).sum()

        # Update weights using gradient descent
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    values += [a.item(), b.item(), c.item(), d.item()]

    # --- 2. Autograd ---------------------------------------------------------------------
    a, b, c, d = (randn().requires_grad_() for _ in range(4))
    for _t in range(ITERS):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        values.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            # Manually zero the gradients after updating weights
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

    # --- 3. A custom autograd Function ---------------------------------------------------
    class LegendrePolynomial3(torch.autograd.Function):
        """
        We can implement our own custom autograd Functions by subclassing
        torch.autograd.Function and implementing the forward and backward passes
        which operate on Tensors.
        """

        @staticmethod
        def forward(ctx: Any, input: Any) -> Any:
            """
            In the forward pass we receive a Tensor containing the input and return
            a Tensor containing the output. ctx is a context object that can be used
            to stash information for backward computation. You can cache tensors for
            use in the backward pass using the ``ctx.save_for_backward`` method. Other
            objects can be stored directly as attributes on the ctx object, such as
            ``ctx.my_object = my_object``. Check out `Extending torch.autograd
            <https://docs.pytorch.org/docs/stable/notes/extending.html#extending-torch-autograd>`_
            for further details.
            """
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            """
            In the backward pass we receive a Tensor containing the gradient of the loss
            with respect to the output, and we need to compute the gradient of the loss
            with respect to the input.
            """
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    for _t in range(ITERS):
        # To apply our Function, we use Function.apply method. We alias this as 'P3'.
        P3 = LegendrePolynomial3.apply

        # Forward pass: compute predicted y using operations; we compute
        # P3 using our custom autograd operation.
        y_pred = a + b * P3(c + d * x)

        # Compute and print loss
        loss = (y_pred - y).pow(2).sum()
        values.append(loss.item())

        # Use autograd to compute the backward pass.
        loss.backward()

        # Update weights using gradient descent
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            # Manually zero the gradients after updating weights
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    values += [a.item(), b.item(), c.item(), d.item()]

    # --- 4. nn, 5. optim ------------------------------------------------------------------
    # For this example, the output y is a linear function of (x, x^2, x^3), so
    # we can consider it as a linear layer neural network. Let's prepare the
    # tensor (x, x^2, x^3).
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)

    def polynomial_model() -> Any:
        model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
        with torch.no_grad():  # stands in for the Linear's random initialisation
            model[0].weight.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, (1, 3))))
            model[0].bias.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, 1)))
        return model

    model = polynomial_model()
    loss_fn = torch.nn.MSELoss(reduction="sum")
    learning_rate = 1e-6
    for _t in range(ITERS):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        values.append(loss.item())
        # Zero the gradients before running the backward pass.
        model.zero_grad()
        loss.backward()
        # Update the weights using gradient descent.
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    # You can access the first layer of `model` like accessing the first item of a list
    linear_layer = model[0]
    values += [linear_layer.bias.item(), *(linear_layer.weight[:, i].item() for i in range(3))]

    model = polynomial_model()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for _t in range(ITERS):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        values.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # --- 6. A custom nn.Module, 7. control flow and weight sharing -----------------------
    class Polynomial3(torch.nn.Module):
        def __init__(self) -> None:
            """
            In the constructor we instantiate four parameters and assign them as
            member parameters.
            """
            super().__init__()
            self.a = torch.nn.Parameter(randn())
            self.b = torch.nn.Parameter(randn())
            self.c = torch.nn.Parameter(randn())
            self.d = torch.nn.Parameter(randn())

        def forward(self, x: Any) -> Any:
            return self.a + self.b * x + self.c * x**2 + self.d * x**3

        def string(self) -> str:
            return (
                f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
                f"{self.d.item()} x^3"
            )

    class DynamicNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Parameter(randn())
            self.b = torch.nn.Parameter(randn())
            self.c = torch.nn.Parameter(randn())
            self.d = torch.nn.Parameter(randn())
            self.e = torch.nn.Parameter(randn())
            self.draw = random.Random(0)

        def forward(self, x: Any) -> Any:
            """
            For the forward pass of the model, we randomly choose either 4, 5
            and reuse the e parameter to compute the contribution of these orders.
            """
            y = self.a + self.b * x + self.c * x**2 + self.d * x**3
            for exp in range(4, self.draw.randint(4, 6)):
                y = y + self.e * x**exp
            return y

        def string(self) -> str:
            return (
                f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
                f"{self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?"
            )

    for net_cls, lr, momentum in ((Polynomial3, 1e-6, 0.0), (DynamicNet, 1e-8, 0.9)):
        model = net_cls()
        criterion = torch.nn.MSELoss(reduction="sum")
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        for _t in range(ITERS):
            y_pred = model(x)
            loss = criterion(y_pred, y)
            values.append(loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"Result: {model.string()}")
        values += [float(v) for v in model.string().replace("?", "").split() if _is_float(v)]
    return values


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return "." in s
