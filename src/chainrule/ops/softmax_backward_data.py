"""``torch._softmax_backward_data`` and ``torch._log_softmax_backward_data``: the backward
formulas of softmax and log_softmax as functions of the saved output.

Hand-written ``autograd.Function``s call them (Hugging Face DeBERTa's ``XSoftmax.backward`` is
``torch._softmax_backward_data(grad_output, output, ctx.dim, output.dtype)``), so they are
written with Tensor ops and stay differentiable (double backward, forward mode):

    softmax:      grad_input = output * (grad_output - sum(grad_output * output, dim))
    log_softmax:  grad_input = grad_output - exp(output) * sum(grad_output, dim)

PyTorch's CPU kernels compute in the dtype of ``grad_output`` (which must equal ``output``'s);
``input_dtype`` only matters for the half-to-float case, which the CPU refuses.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..qtypes import scalar_type_name
from ._util import int_dim
from .reduction import sum as _sum

__all__ = ["_log_softmax_backward_data", "_softmax_backward_data"]


def _checked(
    kernel: str, grad_output: Any, output: Any, dim: Any, input_dtype: Any
) -> tuple[Tensor, Tensor, int]:
    """The arguments after PyTorch's checks (types, dtypes, sizes, dim), with ``dim``
    normalised; ``kernel`` names PyTorch's kernel in the unsupported-dtype error."""
    op = f"_{kernel}_backward_data"
    for name, t in (("grad_output", grad_output), ("output", output)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    gd, od = grad_output.dtype, output.dtype
    if gd != od:
        raise RuntimeError(
            f"expected scalar type {scalar_type_name(gd.dtype)} but found "
            f"{scalar_type_name(od.dtype)}"
        )
    if getattr(input_dtype, "is_floating_point", None) is None:
        raise TypeError(
            f"{op}(): argument 'input_dtype' must be torch.dtype, not {type(input_dtype).__name__}"
        )
    if input_dtype != gd and (str(input_dtype), str(gd)) == ("torch.float16", "torch.float32"):
        # the half-to-float case (float16 input, float32 gradient): a CUDA-only kernel
        raise RuntimeError("expected scalar type Float but found Half")
    if grad_output.shape != output.shape:
        raise RuntimeError(
            f"Expected tensor for argument #1 'grad' to have same size as tensor for argument "
            f"#2 'output'; but {list(grad_output.shape)} does not equal {list(output.shape)} "
            f"(while checking arguments for {kernel}_backward)"
        )
    d = int_dim(dim, max(output.ndim, 1), op)
    if not gd.is_floating_point:
        last = "_lastdim" if d == max(output.ndim, 1) - 1 else ""
        raise NotImplementedError(
            f'"{kernel}_backward{last}_kernel_impl" not implemented for '
            f"'{scalar_type_name(gd.dtype)}'"
        )
    return grad_output, output, d


def _softmax_backward_data(
    grad_output: Tensor, output: Tensor, dim: int, input_dtype: Any
) -> Tensor:
    """The gradient of softmax with respect to its input, from the gradient of its result
    (``grad_output``) and the result itself (``output``): ``output * (grad_output -
    sum(grad_output * output, dim))``. What custom softmax Functions call in their backward."""
    g, y, d = _checked("softmax", grad_output, output, dim, input_dtype)
    if y.ndim == 0:
        return y * (g - g * y)
    return y * (g - _sum(g * y, d, keepdim=True))


def _log_softmax_backward_data(
    grad_output: Tensor, output: Tensor, dim: int, input_dtype: Any
) -> Tensor:
    """The gradient of log_softmax with respect to its input, from the gradient of its result
    and the result (``output``, log-probabilities): ``grad_output - exp(output) *
    sum(grad_output, dim)``."""
    g, y, d = _checked("log_softmax", grad_output, output, dim, input_dtype)
    if y.ndim == 0:
        return g - y.exp() * g
    return g - y.exp() * _sum(g, d, keepdim=True)
