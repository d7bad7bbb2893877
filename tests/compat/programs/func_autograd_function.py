"""PyTorch's "Extending torch.func with autograd.Function" notes (``notes/extending.func``),
size-reduced: ``autograd.Function``s written in the ``setup_context`` style so they work under
``torch.func`` transforms, and used in a small training loop.

The idioms: ``NumpySort`` whose ``forward(x, dim)`` (no ``ctx``) leaves PyTorch for NumPy
(``x.cpu().numpy()``, ``np.argsort``, ``np.take_along_axis``) and returns three tensors,
``setup_context(ctx, inputs, output)`` with ``ctx.mark_non_differentiable(ind, ind_inv)``,
``ctx.save_for_backward(ind, ind_inv)`` and ``ctx.dim = dim``, a ``backward(ctx,
grad_output, _0, _1)`` that calls ``NumpyTake.apply``, and a ``vmap(info, in_dims, x, dim)``
staticmethod (``x.movedim(x_bdim, 0)``, ``return NumpySort.apply(x, dim + 1), (0, 0, 0)``);
``NumpyTake`` with its own ``vmap`` rule (``maybe_expand_bdim_at_front`` with
``info.batch_size``); ``MyCube`` with ``generate_vmap_rule = True`` returning ``(result,
dx)`` and a backward that uses ``grad_dx`` (so ``torch.func.grad(torch.func.grad(my_cube))``
gives ``6 x``); ``MyExp`` with ``ctx.save_for_forward`` and a ``jvp(ctx, x_t)`` staticmethod
for ``torch.func.jvp``. They run under ``torch.func.grad``, ``torch.vmap`` (and
``vmap(grad(...))``), ``torch.func.jacrev`` and ``torch.func.jvp``, and inside a model
(a sorted-feature pooling layer built on ``NumpySort``, ``MyExp`` as an activation) trained
with ``Adam`` and per-sample gradients from ``vmap(grad(functional_call ...))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

STEPS = 4


def _functions(torch_like: Any) -> dict[str, Any]:
    torch = torch_like

    def to_numpy(tensor: Any) -> np.ndarray:
        return tensor.cpu().numpy()

    class NumpySort(torch.autograd.Function):
        # Note that forward does not take ctx
        @staticmethod
        def forward(x: Any, dim: int) -> tuple[Any, Any, Any]:
            device = x.device
            x = to_numpy(x)
            ind = np.argsort(x, axis=dim, kind="stable")
            ind_inv = np.argsort(ind, axis=dim, kind="stable")
            result = np.take_along_axis(x, ind, axis=dim)
            # Any intermediates to be saved in backward must be returned as
            # outputs.
            return (
                # The desired output
                torch.tensor(result, device=device),
                # intermediate to save for backward
                torch.tensor(ind, device=device),
                # intermediate to save for backward
                torch.tensor(ind_inv, device=device),
            )

        # setup_context is responsible for calling methods and/or assigning to
        # the ctx object. Please do not do additional compute (e.g. add
        # Tensors together) in setup_context.
        @staticmethod
        def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
            x, dim = inputs
            # Note that output is whatever you returned from forward.
            # If you returned multiple values, then output is a Tuple of multiple values.
            # If you returned a single Tensor, then output is a Tensor.
            # If you returned a Tuple with a single Tensor, then output is a
            # Tuple with a single Tensor.
            _, ind, ind_inv = output
            ctx.mark_non_differentiable(ind, ind_inv)
            # Tensors must be saved via ctx.save_for_backward. Please do not
            # assign them directly onto the ctx object.
            ctx.save_for_backward(ind, ind_inv)
            # Non-tensors may be saved by assigning them as attributes on the ctx object.
            ctx.dim = dim

        @staticmethod
        def backward(ctx: Any, grad_output: Any, _0: Any, _1: Any) -> tuple[Any, None]:
            # For the autograd.Function to be arbitrarily composable with function
            # transforms, all staticmethod other than forward and setup_context
            # must be implemented in a "transformable" way; that is, they must
            # only consist of PyTorch operations or autograd.Function.
            #
            # For example, this allows us to do double backwards and/or compute
            # second order gradients.
            #
            # We've written the backward pass of NumpySort in terms of another
            # autograd.Function, NumpyTake.
            ind, ind_inv = ctx.saved_tensors
            return NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim), None

        @staticmethod
        def vmap(info: Any, in_dims: tuple, x: Any, dim: int) -> tuple[Any, tuple]:
            x_bdim, _ = in_dims
            x = x.movedim(x_bdim, 0)
            # Handle negative dims correctly
            dim = dim if dim >= 0 else dim + x.dim() - 1
            return NumpySort.apply(x, dim + 1), (0, 0, 0)

    class NumpyTake(torch.autograd.Function):
        @staticmethod
        def forward(x: Any, ind: Any, ind_inv: Any, dim: int) -> Any:
            device = x.device
            x = to_numpy(x)
            ind = to_numpy(ind)
            return torch.tensor(np.take_along_axis(x, ind, dim), device=device)

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            x, ind, ind_inv, dim = inputs
            ctx.save_for_backward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple:
            ind, ind_inv = ctx.saved_tensors
            result = NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim)
            return result, None, None, None

        @staticmethod
        def vmap(info: Any, in_dims: tuple, x: Any, ind: Any, ind_inv: Any, dim: int) -> tuple:
            x_bdim, ind_bdim, ind_inv_bdim, _ = in_dims

            # wrap dim
            logical_dim = x.dim() if x_bdim is None else x_bdim - 1
            dim = dim if dim >= 0 else dim + logical_dim

            def maybe_expand_bdim_at_front(x: Any, x_bdim: Any) -> Any:
                if x_bdim is None:
                    return x.expand(info.batch_size, *x.shape)
                return x.movedim(x_bdim, 0)

            # If the Tensor doesn't have the dimension being vmapped over,
            # expand it out. Otherwise, move it to the front of the Tensor
            x = maybe_expand_bdim_at_front(x, x_bdim)
            ind = maybe_expand_bdim_at_front(ind, ind_bdim)
            ind_inv = maybe_expand_bdim_at_front(ind_inv, ind_inv_bdim)

            # The return is a tuple (output, out_dims). Since output is a Tensor,
            # then out_dims is an Optional[int] (instead of a Tuple).
            return NumpyTake.apply(x, ind, ind_inv, dim + 1), 0

    class MyCube(torch.autograd.Function):
        # Set generate_vmap_rule to True to ask PyTorch to automatically generate
        # a vmap rule.
        generate_vmap_rule = True

        @staticmethod
        def forward(x: Any) -> tuple[Any, Any]:
            result = x**3
            # In regular PyTorch, if we had just run y = x ** 3, then the backward
            # pass computes dx = 3 * x ** 2. In this autograd.Function, we've done
            # that computation here in the forward pass instead.
            dx = 3 * x**2
            return result, dx

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
            (x,) = inputs
            result, dx = output
            ctx.save_for_backward(x, dx)

        @staticmethod
        def backward(ctx: Any, grad_output: Any, grad_dx: Any) -> Any:
            x, dx = ctx.saved_tensors
            # In order for the autograd.Function to work with higher-order
            # gradients, we must add the gradient contribution of `dx`.
            result = grad_output * dx + grad_dx * 6 * x
            return result

    class MyExp(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x: Any) -> Any:
            return x.exp()

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            result = output
            ctx.save_for_backward(result)
            ctx.save_for_forward(result)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            (result,) = ctx.saved_tensors
            return grad_output * result

        @staticmethod
        def jvp(ctx: Any, x_t: Any) -> Any:
            (result,) = ctx.saved_tensors
            return x_t * result

    def numpy_sort(x: Any, dim: int = -1) -> Any:
        result, _, _ = NumpySort.apply(x, dim)
        return result

    def my_cube(x: Any) -> Any:
        result, _ = MyCube.apply(x)
        return result

    return {
        "NumpySort": NumpySort,
        "NumpyTake": NumpyTake,
        "numpy_sort": numpy_sort,
        "my_cube": my_cube,
        "MyExp": MyExp,
    }


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SortPoolNet(nn.Module):
        """Features sorted along the feature axis (a permutation-invariant pooling), then a
        linear head on the sorted features; ``MyExp`` gives positive rates."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(3, 6)
            self.head = nn.Linear(6, 2)

        def forward(self, x: Any) -> Any:
            fns = _functions(torch_like)
            h = torch_like.tanh(self.embed(x))
            h = fns["numpy_sort"](h, -1)
            return fns["MyExp"].apply(self.head(h) * 0.5)

    return SortPoolNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    func = torch.func
    fns = _functions(torch_like)
    numpy_sort, my_cube, MyExp = fns["numpy_sort"], fns["my_cube"], fns["MyExp"]
    rng = np.random.default_rng(11)
    values: list[float] = []

    x = as_tensor(torch, rng.normal(size=(2, 3)))
    grad_x = func.grad(lambda x: (numpy_sort(x) * torch.arange(3.0)).sum())(x)
    values.extend(grad_x.flatten().tolist())
    values.extend(torch.vmap(numpy_sort)(x).flatten().tolist())
    values.extend(torch.vmap(numpy_sort, in_dims=1)(x).flatten().tolist())
    per_row = torch.vmap(func.grad(lambda r: (numpy_sort(r, 0) * torch.arange(3.0)).sum()))(x)
    values.extend(per_row.flatten().tolist())
    jac = func.jacrev(lambda r: numpy_sort(r, 0))(x[0])
    values.extend(jac.flatten().tolist())

    c = torch.tensor(0.7)
    ggx = func.grad(func.grad(my_cube))(c)
    values.append(ggx.item())
    values.extend(torch.vmap(my_cube)(x[0]).tolist())
    values.extend(torch.vmap(func.grad(my_cube))(x[0]).tolist())

    primal, tangent = func.jvp(MyExp.apply, (x[0],), (torch.ones(3),))
    values.extend(primal.tolist() + tangent.tolist())
    values.extend(torch.vmap(MyExp.apply)(x).flatten().tolist())

    # in a model: ordinary training, then per-sample gradients through vmap(grad(...))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    data = as_tensor(torch, rng.normal(size=(5, 3)))
    counts = as_tensor(torch, rng.poisson(1.5, size=(5, 2)).astype(np.float64))
    for _ in range(STEPS):
        optimizer.zero_grad()
        rate = model(data)
        loss = torch.nn.functional.poisson_nll_loss(rate, counts, log_input=False)
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    params = {k: v.detach() for k, v in model.named_parameters()}

    def sample_loss(params: dict, x: Any, y: Any) -> Any:
        rate = func.functional_call(model, params, (x.unsqueeze(0),))
        return torch.nn.functional.poisson_nll_loss(rate, y.unsqueeze(0), log_input=False)

    per_sample = torch.vmap(func.grad(sample_loss), in_dims=(None, 0, 0))(params, data, counts)
    for name in ("embed.weight", "head.weight", "head.bias"):
        values.append(per_sample[name].sum().item())
        values.append(per_sample[name][2].abs().sum().item())
    return values
