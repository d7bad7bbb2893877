"""``cr.nn.grad`` (``torch.nn.grad``): a convolution's gradients w.r.t. its input or its weight.

Custom ``autograd.Function`` backward passes (PyTorch's conv + batch-norm fusion tutorial and
the hand-written convolutions built on it) call ``conv2d_input(input.shape, weight,
grad_output, ...)`` and ``conv2d_weight(input, weight.shape, grad_output, ...)``. Each is the
vector-Jacobian product of the convolution with ``grad_output``: the convolution is run on
zeros standing in for the missing argument (it is linear in each argument, so the product does
not depend on their values) and :func:`chainrule.autograd.grad` gives the product, through the
convolution's own backward rule. The result is differentiable (``create_graph``) when the
given tensors require grad.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..autograd import enable_grad
from ..autograd import grad as autograd_grad
from ..autograd.tensor import Tensor
from ..creation import zeros
from ..nn.functional.conv3d import conv3d
from ..ops.conv import conv1d, conv2d

__all__ = [
    "conv1d_input",
    "conv1d_weight",
    "conv2d_input",
    "conv2d_weight",
    "conv3d_input",
    "conv3d_weight",
]


def _vjp(
    name: str, conv: Callable, x: Tensor, w: Tensor, wrt: Tensor, grad_output: Tensor, args: tuple
) -> Tensor:
    if not isinstance(grad_output, Tensor):
        raise TypeError(f"{name}: grad_output must be a Tensor, got {type(grad_output).__name__}")
    if grad_output.dtype != w.dtype or x.dtype != w.dtype:
        raise RuntimeError(  # PyTorch casts nothing here
            f"{name}: expected scalar type {w.dtype} for every tensor, but found input "
            f"{x.dtype}, weight {w.dtype} and grad_output {grad_output.dtype}"
        )
    with enable_grad():
        out = conv(x, w, None, *args)
    if tuple(out.shape) != tuple(grad_output.shape):
        raise RuntimeError(
            f"{name}: grad_output has shape {tuple(grad_output.shape)}, but the convolution "
            f"of an input of size {tuple(x.shape)} with a weight of size {tuple(w.shape)} "
            f"gives an output of shape {tuple(out.shape)}"
        )
    create = any(t.requires_grad for t in (x, w, grad_output) if t is not wrt)
    (g,) = autograd_grad(out, wrt, grad_output, create_graph=create)
    return g


def _input_grad(name: str, conv: Callable) -> Callable[..., Tensor]:
    """``torch.nn.grad.conv<N>d_input`` for the convolution ``conv``: the input stands in as
    zeros of ``input_size`` (the result does not depend on its values)."""

    def input_grad(
        input_size: Sequence[int],
        weight: Tensor,
        grad_output: Tensor,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> Tensor:
        x = zeros(tuple(input_size), dtype=weight.dtype, device=weight.device, requires_grad=True)
        return _vjp(name, conv, x, weight, x, grad_output, (stride, padding, dilation, groups))

    input_grad.__name__ = input_grad.__qualname__ = name
    input_grad.__doc__ = (
        f"The gradient of ``{name.rsplit('_', 1)[0]}`` w.r.t. an input of size ``input_size``."
    )
    return input_grad


def _weight_grad(name: str, conv: Callable) -> Callable[..., Tensor]:
    """``torch.nn.grad.conv<N>d_weight`` for the convolution ``conv``: the weight stands in as
    zeros of ``weight_size``."""

    def weight_grad(
        input: Tensor,  # noqa: A002 - PyTorch's name
        weight_size: Sequence[int],
        grad_output: Tensor,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
    ) -> Tensor:
        w = zeros(tuple(weight_size), dtype=input.dtype, device=input.device, requires_grad=True)
        return _vjp(name, conv, input, w, w, grad_output, (stride, padding, dilation, groups))

    weight_grad.__name__ = weight_grad.__qualname__ = name
    weight_grad.__doc__ = (
        f"The gradient of ``{name.rsplit('_', 1)[0]}`` w.r.t. a weight of size ``weight_size``."
    )
    return weight_grad


conv1d_input = _input_grad("conv1d_input", conv1d)
conv1d_weight = _weight_grad("conv1d_weight", conv1d)
conv2d_input = _input_grad("conv2d_input", conv2d)
conv2d_weight = _weight_grad("conv2d_weight", conv2d)
conv3d_input = _input_grad("conv3d_input", conv3d)
conv3d_weight = _weight_grad("conv3d_weight", conv3d)
