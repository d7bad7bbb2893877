"""The PyTorch tutorial "Double Backward with Custom Functions"
(``intermediate/custom_function_double_backward_tutorial``), size-reduced, plus the
``mark_non_differentiable`` idiom of "Extending torch.autograd" that the same scripts use.

The idioms: ``Square`` saving its input with ``ctx.save_for_backward(x)`` and a backward
(``grad_out * 2 * x``) that autograd records, so it is differentiable again;
``torch.autograd.gradcheck(Square.apply, x)`` and ``torch.autograd.gradgradcheck(Square.apply,
x)`` on ``torch.rand(3, 3, requires_grad=True, dtype=torch.double)``; ``Exp`` saving its
*output* (``ctx.save_for_backward(result)``) on ``torch.tensor(1., requires_grad=True,
dtype=torch.double).clone()``; ``Sinh`` saving the intermediates ``exp(x)``/``exp(-x)`` by
returning them as extra outputs (``return (expx - expnegx) / 2, expx, expnegx``) whose grads
the backward still accumulates (``grad_input += _grad_out_exp * expx``), wrapped as
``sinh(x) = Sinh.apply(x)[0]``; ``SinhBad`` keeping them on ``ctx`` instead (first derivative
right, ``gradgradcheck(..., raise_exception=False)`` False because the second is lost);
``Cube`` whose backward is itself a custom ``CubeBackward`` Function with its own backward
(``return dgrad_out, dx``), checked with ``gradcheck``/``gradgradcheck`` on a 0-dim double.
Around them: a ``SortedWithIndex`` Function returning ``(values, indices)`` with
``ctx.mark_non_differentiable(indices)`` (its indices come back ``requires_grad=False``) and
``ctx.set_materialize_grads(False)`` (a backward that handles ``None``); second derivatives
through ``torch.autograd.grad(y.sum(), x, create_graph=True)`` then ``backward()``; and the
custom functions inside a small model trained with a gradient penalty (the double-backward
use case: ``grad(out.sum(), inputs, create_graph=True)`` and ``penalty.backward()``).

Changed: the tutorial's torchviz graphs are replaced by the values they explain; the model and
data (6 samples, 3 features) are added to exercise the functions in training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def _functions(torch_like: Any) -> dict[str, Any]:
    torch = torch_like

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            # Because we are saving one of the inputs use `save_for_backward`
            # Save non-tensors and non-inputs/non-outputs directly on ctx
            ctx.save_for_backward(x)
            return x**2

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            # A function support double backward automatically if autograd
            # is able to record the computations performed in backward
            (x,) = ctx.saved_tensors
            return grad_out * 2 * x

    class Exp(torch.autograd.Function):
        # Simple case where everything goes well
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            # This time we save the output
            result = torch.exp(x)
            # Note that we should use `save_for_backward` here when
            # the tensor saved is an ouptut (or an input).
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            (result,) = ctx.saved_tensors
            return result * grad_out

    class Sinh(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            expx = torch.exp(x)
            expnegx = torch.exp(-x)
            ctx.save_for_backward(expx, expnegx)
            # In order to be able to save the intermediate results, a trick is to
            # include them as our outputs, so that the backward graph is constructed
            return (expx - expnegx) / 2, expx, expnegx

        @staticmethod
        def backward(ctx: Any, grad_out: Any, _grad_out_exp: Any, _grad_out_negexp: Any) -> Any:
            expx, expnegx = ctx.saved_tensors
            grad_input = grad_out * (expx + expnegx) / 2
            # We cannot skip accumulating these even though we won't use the outputs
            # directly. They will be used later in the second backward.
            grad_input += _grad_out_exp * expx
            grad_input -= _grad_out_negexp * expnegx
            return grad_input

    def sinh(x: Any) -> Any:
        # Create a wrapper that only returns the first output
        return Sinh.apply(x)[0]

    class SinhBad(torch.autograd.Function):
        # This is an example of what NOT to do!
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            expx = torch.exp(x)
            expnegx = torch.exp(-x)
            ctx.expx = expx
            ctx.expnegx = expnegx
            return (expx - expnegx) / 2

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            expx = ctx.expx
            expnegx = ctx.expnegx
            grad_input = grad_out * (expx + expnegx) / 2
            return grad_input

    def cube_forward(x: Any) -> Any:
        return x**3

    def cube_backward(grad_out: Any, x: Any) -> Any:
        return grad_out * 3 * x**2

    def cube_backward_backward(grad_out: Any, sav_grad_out: Any, x: Any) -> Any:
        return grad_out * sav_grad_out * 6 * x

    def cube_backward_backward_grad_out(grad_out: Any, x: Any) -> Any:
        return grad_out * 3 * x**2

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return cube_forward(x)

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            (x,) = ctx.saved_tensors
            return CubeBackward.apply(grad_out, x)

    class CubeBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, grad_out: Any, x: Any) -> Any:
            ctx.save_for_backward(x, grad_out)
            return cube_backward(grad_out, x)

        @staticmethod
        def backward(ctx: Any, grad_out: Any) -> Any:
            x, sav_grad_out = ctx.saved_tensors
            dx = cube_backward_backward(grad_out, sav_grad_out, x)
            dgrad_out = cube_backward_backward_grad_out(grad_out, x)
            return dgrad_out, dx

    class SortedWithIndex(torch.autograd.Function):
        """Sort along the last dim; the indices are an output nobody differentiates."""

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.set_materialize_grads(False)
            values, indices = torch.sort(x, dim=-1)
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx: Any, grad_values: Any, _grad_indices: Any) -> Any:
            if grad_values is None:
                return None
            (indices,) = ctx.saved_tensors
            grad_input = torch.zeros_like(grad_values)
            grad_input.scatter_(-1, indices, grad_values)
            return grad_input

    return {
        "Square": Square,
        "Exp": Exp,
        "Sinh": Sinh,
        "sinh": sinh,
        "SinhBad": SinhBad,
        "Cube": Cube,
        "SortedWithIndex": SortedWithIndex,
    }


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    fns = _functions(torch_like)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(3, 4)
            self.fc2 = nn.Linear(4, 1)

        def forward(self, x: Any) -> Any:
            h = fns["sinh"](self.fc1(x))
            h = fns["Square"].apply(h) * 0.5 + fns["Cube"].apply(h) * 0.1
            values, _ = fns["SortedWithIndex"].apply(h)
            return self.fc2(values)

    return Net()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    fns = _functions(torch_like)
    Square, Exp, Cube = fns["Square"], fns["Exp"], fns["Cube"]
    sinh, SinhBad, SortedWithIndex = fns["sinh"], fns["SinhBad"], fns["SortedWithIndex"]
    rng = np.random.default_rng(29)
    values: list[float] = []

    # Use double precision because finite differencing method magnifies errors
    x = as_tensor(torch, rng.random((3, 3))).requires_grad_(True)
    assert torch.autograd.gradcheck(Square.apply, x)
    # Use gradcheck to verify second-order derivatives
    assert torch.autograd.gradgradcheck(Square.apply, x)

    x = torch.tensor(1.0, requires_grad=True, dtype=torch.double).clone()
    # Validate our gradients using gradcheck
    assert torch.autograd.gradcheck(Exp.apply, x)
    assert torch.autograd.gradgradcheck(Exp.apply, x)

    x = as_tensor(torch, rng.random((3, 3))).requires_grad_(True)
    assert torch.autograd.gradcheck(sinh, x)
    assert torch.autograd.gradgradcheck(sinh, x)

    # SinhBad: the first derivative is right, the second is lost (expx was never recorded)
    assert torch.autograd.gradcheck(SinhBad.apply, x)
    values.append(float(torch.autograd.gradgradcheck(SinhBad.apply, x, raise_exception=False)))
    (g,) = torch.autograd.grad(SinhBad.apply(x).sum(), x, create_graph=True)
    values.append(float(g.requires_grad))

    x = torch.tensor(2.0, requires_grad=True, dtype=torch.double)
    assert torch.autograd.gradcheck(Cube.apply, x)
    assert torch.autograd.gradgradcheck(Cube.apply, x)

    # second derivatives by hand: d/dx of dy/dx, through each custom backward
    for fn in (Square.apply, Exp.apply, sinh, Cube.apply):
        x = as_tensor(torch, rng.standard_normal(4)).requires_grad_(True)
        y = fn(x)
        (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        dy.pow(2).sum().backward()
        values.extend(dy.detach().tolist())
        values.extend(x.grad.tolist())

    # Sinh's extra outputs: using them makes their grads flow through the same backward
    x = as_tensor(torch, rng.standard_normal(3)).requires_grad_(True)
    s, expx, expnegx = fns["Sinh"].apply(x)
    (s * 2 + expx - 0.5 * expnegx).sum().backward()
    values.extend(x.grad.tolist())

    # mark_non_differentiable + set_materialize_grads(False)
    x = as_tensor(torch, rng.standard_normal((2, 4))).requires_grad_(True)
    sorted_values, indices = SortedWithIndex.apply(x)
    assert not indices.requires_grad and sorted_values.requires_grad
    assert indices.dtype == torch.int64
    (sorted_values * torch.arange(4.0)).sum().backward()
    values.extend(x.grad.flatten().tolist())
    assert torch.autograd.gradcheck(lambda t: SortedWithIndex.apply(t)[0], x)

    # the functions in a model, trained with a gradient penalty on the input
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = as_tensor(torch, rng.standard_normal((6, 3)) * 0.5)
    target = as_tensor(torch, rng.standard_normal((6, 1)))
    for _step in range(4):
        optimizer.zero_grad()
        inputs = data.clone().requires_grad_(True)
        out = model(inputs)
        (grad_inputs,) = torch.autograd.grad(out.sum(), inputs, create_graph=True)
        penalty = grad_inputs.pow(2).sum(dim=1).mean()
        loss = torch.nn.functional.mse_loss(out, target) + 0.1 * penalty
        loss.backward()
        optimizer.step()
        values.extend([loss.item(), penalty.item()])
    values.extend(model.fc1.weight.grad.flatten().tolist())
    return values
