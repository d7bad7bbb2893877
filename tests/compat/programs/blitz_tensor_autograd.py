"""The PyTorch "Deep Learning with PyTorch: A 60 Minute Blitz" tensor and autograd tutorials
(``beginner/blitz/tensor_tutorial.py``, ``beginner/blitz/autograd_tutorial.py``) with the
warm-ups of "Learning PyTorch with Examples" (``beginner/pytorch_with_examples``), size-reduced.

The idioms: ``torch.tensor(data)``; ``torch.from_numpy(np_array)`` and the memory shared both
ways (``n = t.numpy(); t.add_(1)`` seen in ``n``; ``np.add(n, 1, out=n)`` seen in ``t``);
``torch.ones_like(x_data)``; ``torch.rand_like(x_data, dtype=torch.float)`` (shape and dtype
compared, the values are random); ``torch.rand(shape)`` / ``torch.ones(shape)`` /
``torch.zeros(shape)`` with ``shape = (2, 3,)``; ``tensor.shape`` / ``.dtype`` / ``.device``;
``tensor[:, 1] = 0``, ``tensor[0]``, ``tensor[:, 0]``, ``tensor[..., -1]``; ``torch.cat([tensor,
tensor, tensor], dim=1)``; ``y1 = tensor @ tensor.T``, ``y2 = tensor.matmul(tensor.T)``,
``torch.matmul(tensor, tensor.T, out=y3)`` into ``y3 = torch.rand_like(y1)``; ``z1 = tensor *
tensor``, ``z2 = tensor.mul(tensor)``, ``torch.mul(tensor, tensor, out=z3)``; ``agg =
tensor.sum(); agg_item = agg.item()``; in-place ``tensor.add_(5)``, ``copy_``, ``t_``;
autograd with ``a = torch.tensor([2., 3.], requires_grad=True)``, ``Q = 3*a**3 - b**2``,
``Q.backward(gradient=external_grad)``, ``9*a**2 == a.grad``; ``requires_grad`` of ``x + y``
and ``x + z``; frozen parameters (``for param in model.parameters(): param.requires_grad =
False`` then ``model.fc = nn.Linear(...)``, ``optim.SGD(model.parameters(), ...)`` updating
only ``fc``); the warm-ups' manual gradients with tensors, then autograd, the
``LegendrePolynomial3`` ``torch.autograd.Function`` (``ctx.save_for_backward``,
``ctx.saved_tensors``, ``.apply``), ``nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))`` on
``x.unsqueeze(-1).pow(p)`` with ``p = torch.tensor([1, 2, 3])`` and ``torch.optim.RMSprop``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_POINTS, ITERS = 50, 8


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SmallNet(nn.Module):
        """Stands in for the tutorial's ``resnet18``: a backbone and an ``fc`` classifier."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 3, 3)
            self.relu = nn.ReLU()
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(3, 4)

        def forward(self, x: Any) -> Any:
            x = self.avgpool(self.relu(self.conv1(x)))
            return self.fc(x.flatten(1))

    return SmallNet()


def tensor_tutorial(torch_like: Any, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    values: list[float] = []
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    values += [float(x_data.dtype == torch.int64), float(torch.equal(x_data, x_np))]
    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    values += x_ones.flatten().tolist() + [float(x_ones.dtype == torch.int64)]
    values += list(x_rand.shape) + [float(x_rand.dtype == torch.float32)]
    values += [float(((x_rand >= 0) & (x_rand < 1)).all())]

    shape = (2, 3)
    rand_tensor, ones_tensor = torch.rand(shape), torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    values += list(rand_tensor.shape) + ones_tensor.flatten().tolist()
    values += zeros_tensor.flatten().tolist() + [float(rand_tensor.dtype == torch.float64)]

    tensor = torch.rand(3, 4)
    values += list(tensor.shape) + [float(str(tensor.device) == "cpu")]
    values += [float(tensor.device.type == "cpu")]

    tensor = torch.ones(4, 4)
    values += tensor[0].tolist() + tensor[:, 0].tolist() + tensor[..., -1].tolist()
    tensor[:, 1] = 0
    values += tensor.flatten().tolist()
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    values += list(t1.shape) + t1.sum(0).tolist()

    tensor = as_tensor(torch_like, rng.standard_normal((4, 4)))
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    out = torch.matmul(tensor, tensor.T, out=y3)
    values += y1.flatten().tolist() + [float(torch.equal(y1, y2)), float(out is y3)]
    values += [(y3 - y1).abs().max().item()]
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    values += z1.flatten().tolist() + [float(torch.equal(z1, z2)), float(torch.equal(z1, z3))]

    agg = tensor.sum()
    agg_item = agg.item()
    values += [agg_item, float(isinstance(agg_item, float))]
    tensor.add_(5)
    values += tensor.flatten().tolist()
    target = torch.zeros(4, 4)
    target.copy_(tensor.T)
    values += target[0].tolist()
    tensor.t_()
    values += [float(torch.equal(tensor, target))]

    # bridge with NumPy: the memory is shared both ways
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    values += n.tolist()
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    values += t.tolist() + [float(t.dtype == torch.float64)]
    n[0] = 7.0
    values += [t[0].item()]
    return values


def autograd_tutorial(torch_like: Any, init: dict, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    optim = torch_like.optim
    values: list[float] = []

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    data = as_tensor(torch_like, rng.standard_normal((2, 1, 6, 6)))
    labels = as_tensor(torch_like, rng.standard_normal((2, 4)))
    prediction = model(data)
    loss = (prediction - labels).sum()
    loss.backward()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    optimizer.step()
    values += [loss.item(), model.conv1.weight.grad.abs().sum().item()]

    a = torch.tensor([2.0, 3.0], requires_grad=True)
    b = torch.tensor([6.0, 4.0], requires_grad=True)
    Q = 3 * a**3 - b**2
    external_grad = torch.tensor([1.0, 1.0])
    Q.backward(gradient=external_grad)
    values += a.grad.tolist() + b.grad.tolist()
    values += (9 * a**2 == a.grad).tolist() + (-2 * b == b.grad).tolist()

    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    aa = x + y
    values += [float(aa.requires_grad), float((x + z).requires_grad)]

    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(3, 10)
    optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    frozen = model.conv1.weight.detach().clone()
    with torch.no_grad():
        model.fc.weight.copy_(as_tensor(torch_like, rng.standard_normal((10, 3))))
        model.fc.bias.zero_()
    out = model(data)
    out.pow(2).mean().backward()
    optimizer.step()
    values += [float(model.conv1.weight.grad is None), float(model.fc.weight.grad is not None)]
    values += [float(torch.equal(frozen, model.conv1.weight))]
    values += model.fc.weight.flatten().tolist()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    values += [float(trainable)]
    return values


def _legendre(torch_like: Any) -> type:
    torch = torch_like

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, input: Any) -> Any:
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    return LegendrePolynomial3


def warm_ups(torch_like: Any, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    values: list[float] = []
    x = torch.linspace(-math.pi, math.pi, N_POINTS)
    y = torch.sin(x)

    # tensors, gradients by hand
    a, b, c, d = (as_tensor(torch_like, v) for v in rng.standard_normal(4))
    learning_rate = 1e-4
    for _ in range(ITERS):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum().item()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x**2).sum()
        grad_d = (grad_y_pred * x**3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
        values.append(loss)

    # autograd with a custom Function
    P3 = _legendre(torch_like).apply
    a = torch.full((), 0.0, requires_grad=True)
    b = torch.full((), -1.0, requires_grad=True)
    c = torch.full((), 0.0, requires_grad=True)
    d = torch.full((), 0.3, requires_grad=True)
    learning_rate = 5e-4
    for _ in range(ITERS):
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        values.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for param in (a, b, c, d):
                param -= learning_rate * param.grad
                param.grad = None
    values += [a.item(), b.item(), c.item(), d.item()]

    # nn + RMSprop
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():
        model[0].weight.copy_(as_tensor(torch_like, rng.standard_normal((1, 3)) * 0.1))
        model[0].bias.fill_(0.0)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for _ in range(ITERS):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        values.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_layer = model[0]
    values += [linear_layer.bias.item(), linear_layer.weight[:, 0].item()]
    values += [linear_layer.weight[:, 1].item(), linear_layer.weight[:, 2].item()]
    values += list(xx.shape) + [float(xx.dtype == torch.float64)]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    rng = np.random.default_rng(60)
    values = tensor_tutorial(torch_like, rng)
    values += autograd_tutorial(torch_like, init, rng)
    values += warm_ups(torch_like, rng)
    return values
