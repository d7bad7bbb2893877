"""PyTorch's "Creating Extensions Using NumPy and SciPy" tutorial
(``advanced/numpy_extensions_tutorial``) and the examples of the ``torch.autograd.function.
FunctionCtx`` reference (``save_for_backward``, ``save_for_forward``, ``mark_dirty``,
``mark_non_differentiable``, ``set_materialize_grads``), run as written and then inside a tiny
training step, size-reduced.

The idioms of the tutorial: ``BadFFTFunction`` (``numpy_input = input.detach().numpy()``,
``abs(rfft2(numpy_input))``, ``input.new(result)`` from a NumPy array, ``grad_output.numpy()``,
``irfft2`` and ``grad_output.new(result)``) with ``result.backward(torch.randn(result.size()))``;
``ScipyConv2dFunction`` (``input, filter, bias = input.detach(), filter.detach(),
bias.detach()``, ``correlate2d(input.numpy(), filter.numpy(), mode='valid')``, ``result +=
bias.numpy()``, ``ctx.save_for_backward(input, filter, bias)``, ``torch.as_tensor(result,
dtype=input.dtype)``; the backward's ``np.sum(grad_output, keepdims=True)``, ``convolve2d(...,
mode='full')`` and ``torch.from_numpy(grad_filter).to(torch.float)``) inside ``ScipyConv2d
(Module)`` (``Parameter(torch.randn(filter_width, filter_height))``, ``list(
module.parameters())``), ``output.backward(torch.randn(8, 8))``, and ``from
torch.autograd.gradcheck import gradcheck`` with ``gradcheck(moduleConv, input, eps=1e-6,
atol=1e-4)`` on a double input. The reference examples: ``Func`` keeping a non-tensor ``ctx.z``
beside ``ctx.save_for_backward(x, y, w, out)`` under ``@once_differentiable`` (``gz = None``);
``ctx.save_for_forward(x, y)`` with a ``jvp`` staticmethod and a ``vjp`` staticmethod (the other
name of ``backward``) under ``fwAD.dual_level()`` / ``fwAD.make_dual`` / ``unpack_dual``;
``Inplace`` writing through ``x.numpy()`` and ``ctx.mark_dirty(x)``, after which ``b.backward()``
of an earlier ``b = a * a`` raises the "modified by an inplace operation" ``RuntimeError``;
``mark_non_differentiable`` on ``x.sort()``'s indices with ``grad_input.index_add_(0, idx, g1)``;
``SimpleFunc`` (``g1 + g2`` with materialised zeros) against ``Func`` after
``ctx.set_materialize_grads(False)`` (``if g1 is not None``); and the
``torch.autograd.function.FunctionCtx`` annotation and ``isinstance`` check.

Changed: the tutorial's 8x8 FFT input and 10x10 / 20x20 maps -> 6x6, 7x7 and 6x6; a few SGD
steps on a ScipyConv2d + Func model are added, so that the custom backward passes feed an
optimiser; the prints are the returned values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.fft import irfft2, rfft2

DTYPE = "float32"


def init_state(tmp_path: Any) -> None:
    """No shared state: the tutorial draws everything from ``torch.manual_seed``."""
    return None


def _tutorial(torch_like: Any, out: list) -> Any:
    # optional dependency (chainrule's "all" extra), imported where used: scipy.signal pulls
    # in scipy.stats (~1.5 s), which every collection of the programs would otherwise pay
    from scipy.signal import convolve2d, correlate2d

    torch = torch_like
    Function = torch.autograd.Function
    Module, Parameter = torch.nn.Module, torch.nn.Parameter
    gradcheck = __import__(f"{torch.__name__}.autograd.gradcheck", fromlist=["gradcheck"]).gradcheck

    class BadFFTFunction(Function):
        @staticmethod
        def forward(ctx, input):  # noqa: ANN001,ANN205,A002
            numpy_input = input.detach().numpy()
            result = abs(rfft2(numpy_input))
            return input.new(result)

        @staticmethod
        def backward(ctx, grad_output):  # noqa: ANN001,ANN205
            numpy_go = grad_output.numpy()
            result = irfft2(numpy_go)
            return grad_output.new(result)

    # since this layer does not have any parameters, we can
    # simply declare this as a function, rather than as an ``nn.Module`` class

    def incorrect_fft(input):  # noqa: ANN001,ANN202,A002
        return BadFFTFunction.apply(input)

    input = torch.randn(6, 6, requires_grad=True)  # noqa: A001
    result = incorrect_fft(input)
    out += result.reshape(-1).tolist()
    result.backward(torch.randn(result.size()))
    out += input.grad.reshape(-1).tolist()

    class ScipyConv2dFunction(Function):
        @staticmethod
        def forward(ctx, input, filter, bias):  # noqa: ANN001,ANN205,A002
            # detach so we can cast to NumPy
            input, filter, bias = input.detach(), filter.detach(), bias.detach()  # noqa: A001
            result = correlate2d(input.numpy(), filter.numpy(), mode="valid")
            result += bias.numpy()
            ctx.save_for_backward(input, filter, bias)
            return torch.as_tensor(result, dtype=input.dtype)

        @staticmethod
        def backward(ctx, grad_output):  # noqa: ANN001,ANN205
            grad_output = grad_output.detach()
            input, filter, bias = ctx.saved_tensors  # noqa: A001
            grad_output = grad_output.numpy()
            grad_bias = np.sum(grad_output, keepdims=True)
            grad_input = convolve2d(grad_output, filter.numpy(), mode="full")
            # the previous line can be expressed equivalently as:
            # grad_input = correlate2d(grad_output, flip(flip(filter.numpy(), axis=0), axis=1),
            #                          mode='full')
            grad_filter = correlate2d(input.numpy(), grad_output, mode="valid")
            return (
                torch.from_numpy(grad_input),
                torch.from_numpy(grad_filter).to(torch.float),
                torch.from_numpy(grad_bias).to(torch.float),
            )  # noqa: E501

    class ScipyConv2d(Module):
        def __init__(self, filter_width, filter_height):  # noqa: ANN001
            super(ScipyConv2d, self).__init__()  # noqa: UP008
            self.filter = Parameter(torch.randn(filter_width, filter_height))
            self.bias = Parameter(torch.randn(1, 1))

        def forward(self, input):  # noqa: ANN001,ANN201,A002
            return ScipyConv2dFunction.apply(input, self.filter, self.bias)

    module = ScipyConv2d(3, 3)
    out += [p.sum().item() for p in list(module.parameters())]
    input = torch.randn(7, 7, requires_grad=True)  # noqa: A001
    output = module(input)
    out += output.reshape(-1).tolist()
    output.backward(torch.randn(5, 5))
    out += input.grad.reshape(-1).tolist()
    out += module.filter.grad.reshape(-1).tolist() + module.bias.grad.reshape(-1).tolist()
    assert module.filter.grad.dtype == torch.float32

    moduleConv = ScipyConv2d(3, 3)
    input = [torch.randn(6, 6, dtype=torch.double, requires_grad=True)]  # noqa: A001
    test = gradcheck(moduleConv, input, eps=1e-6, atol=1e-4)
    out.append(int(test))
    return ScipyConv2d


def _ctx_examples(torch_like: Any, out: list) -> Any:
    torch = torch_like
    Function = torch.autograd.Function
    once_differentiable = torch.autograd.function.once_differentiable
    FunctionCtx = torch.autograd.function.FunctionCtx
    fwAD = torch.autograd.forward_ad

    class Func(Function):
        @staticmethod
        def forward(ctx: FunctionCtx, x: Any, y: Any, z: int) -> Any:
            assert isinstance(ctx, FunctionCtx)
            w = x * z
            out = x * y + y * z + w * y
            ctx.save_for_backward(x, y, w, out)
            ctx.z = z  # z is not a tensor
            return out

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_out):  # noqa: ANN001,ANN205
            x, y, w, out = ctx.saved_tensors
            z = ctx.z
            gx = grad_out * (y + y * z)
            gy = grad_out * (x + z + w)
            gz = None
            return gx, gy, gz

    a = torch.tensor(1.0, requires_grad=True, dtype=torch.double)
    b = torch.tensor(2.0, requires_grad=True, dtype=torch.double)
    c = 4
    d = Func.apply(a, b, c)
    d.backward()
    out += [d.item(), a.grad.item(), b.grad.item()]

    class FwdFunc(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x: Any, y: Any, z: int) -> Any:  # noqa: ANN001
            ctx.save_for_backward(x, y)
            ctx.save_for_forward(x, y)
            ctx.z = z
            return x * y * z

        @staticmethod
        def jvp(ctx, x_t, y_t, _):  # noqa: ANN001,ANN205
            x, y = ctx.saved_tensors
            z = ctx.z
            return z * (y * x_t + x * y_t)

        @staticmethod
        def vjp(ctx, grad_out):  # noqa: ANN001,ANN205
            x, y = ctx.saved_tensors
            z = ctx.z
            return z * grad_out * y, z * grad_out * x, None

    a = torch.tensor(1.0, requires_grad=True, dtype=torch.double)
    t = torch.tensor(1.0, dtype=torch.double)
    b = torch.tensor(2.0, requires_grad=True, dtype=torch.double)
    c = 4
    with fwAD.dual_level():
        a_dual = fwAD.make_dual(a, t)
        d = FwdFunc.apply(a_dual, b, c)
        primal, tangent = fwAD.unpack_dual(d)
        out += [primal.item(), tangent.item()]
    d = FwdFunc.apply(a, b, c)
    d.backward()
    out += [a.grad.item(), b.grad.item()]

    class Inplace(Function):
        @staticmethod
        def forward(ctx, x):  # noqa: ANN001,ANN205
            x_npy = x.numpy()  # x_npy shares storage with x
            x_npy += 1
            ctx.mark_dirty(x)
            return x

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_output):  # noqa: ANN001,ANN205
            return grad_output

    a = torch.tensor(1.0, requires_grad=True, dtype=torch.double).clone()
    b = a * a
    Inplace.apply(a)  # This would lead to wrong gradients!
    # but the engine would not know unless we mark_dirty
    out.append(a.item())
    try:
        b.backward()  # RuntimeError: one of the variables needed for gradient
        # computation has been modified by an inplace operation
    except RuntimeError as err:
        assert "modified by an inplace operation" in str(err), str(err)
        out.append(1)
    a = torch.tensor(1.5, requires_grad=True, dtype=torch.double)
    e = Inplace.apply(a.clone()) * 3
    e.backward()
    out += [e.item(), a.grad.item()]

    class SortFunc(Function):
        @staticmethod
        def forward(ctx, x):  # noqa: ANN001,ANN205
            sorted, idx = x.sort()  # noqa: A001
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return sorted, idx

        @staticmethod
        @once_differentiable
        def backward(ctx, g1, g2):  # still need to accept g2  # noqa: ANN001,ANN205
            x, idx = ctx.saved_tensors
            grad_input = torch.zeros_like(x)
            grad_input.index_add_(0, idx, g1)
            return grad_input

    x = torch.tensor([3.0, 1.0, 2.0, 5.0], requires_grad=True)
    s, idx = SortFunc.apply(x)
    out += [int(idx.requires_grad), int(s.requires_grad)] + idx.tolist()
    (s * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    out += x.grad.tolist()

    class SimpleFunc(Function):
        @staticmethod
        def forward(ctx, x):  # noqa: ANN001,ANN205
            return x.clone(), x.clone()

        @staticmethod
        @once_differentiable
        def backward(ctx, g1, g2):  # noqa: ANN001,ANN205
            return g1 + g2  # No check for None necessary

    # We modify SimpleFunc to handle non-materialized grad outputs
    class MatFunc(Function):
        @staticmethod
        def forward(ctx, x):  # noqa: ANN001,ANN205
            ctx.set_materialize_grads(False)
            ctx.save_for_backward(x)
            return x.clone(), x.clone()

        @staticmethod
        @once_differentiable
        def backward(ctx, g1, g2):  # noqa: ANN001,ANN205
            x, = ctx.saved_tensors  # fmt: skip
            out.append(int(g2 is None))
            grad_input = torch.zeros_like(x)
            if g1 is not None:  # We must check for None now
                grad_input += g1
            if g2 is not None:
                grad_input += g2
            return grad_input

    a = torch.tensor(1.0, requires_grad=True)
    b, _ = SimpleFunc.apply(a)
    b.backward()
    out.append(a.grad.item())
    a = torch.tensor(1.0, requires_grad=True)
    b, _ = MatFunc.apply(a)  # induces g2 to be undefined
    (b * 5).backward()
    out.append(a.grad.item())
    return Func


def run(torch_like: Any, init: None) -> list[float]:
    torch = torch_like
    out: list[float] = []
    torch.manual_seed(0)
    ScipyConv2d = _tutorial(torch_like, out)
    Func = _ctx_examples(torch_like, out)

    torch.manual_seed(1)
    conv = ScipyConv2d(3, 3)
    scale = torch.nn.Parameter(torch.tensor(0.5))
    optimizer = torch.optim.SGD([*conv.parameters(), scale], lr=0.01, momentum=0.9)
    rng = np.random.default_rng(2)
    for _ in range(4):
        image = torch.from_numpy(rng.standard_normal((7, 7)).astype(np.float32))
        target = torch.from_numpy(rng.standard_normal((5, 5)).astype(np.float32))
        optimizer.zero_grad()
        pred = Func.apply(conv(image), scale, 2)
        loss = torch.nn.functional.mse_loss(pred, target)
        loss.backward()
        optimizer.step()
        out += [loss.item(), scale.item()]
    return out
