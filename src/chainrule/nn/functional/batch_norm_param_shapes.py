"""``F.batch_norm`` with an affine parameter that holds one value per channel but is not 1-d
(a 0-d or ``(1, 1)`` weight for one channel, as a ``BatchNorm1d``/``SyncBatchNorm`` whose
parameters were replaced): PyTorch checks the element count only, so its forward computes
as with the ``(C,)`` parameter, and its backward fails where its kernel reads the weight as
1-d ("TensorAccessor expected 1 dims but tensor has 0") or returns a ``(C,)`` bias gradient
that a bias of 2 or more dims cannot take (a 0-d bias takes it, summed to 0-d). Mirrored
here: the forward through the reshaped parameters, the backward refused by a gradient hook
with PyTorch's words. Reached only for such parameters: the usual call pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...autograd.tensor import Tensor

__all__ = ["batch_norm_other_param_shapes"]


def _refusing(message: str) -> Callable[[Any], Any]:
    """A gradient hook raising PyTorch's RuntimeError ``message`` when the backward reaches
    it (not before: PyTorch's forward succeeds)."""

    def hook(grad: Any) -> Any:
        raise RuntimeError(message)

    return hook


def batch_norm_other_param_shapes(
    batch_norm: Callable[..., Tensor],
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    momentum: Any,
    eps: float,
) -> Tensor:
    """``batch_norm`` (F.batch_norm itself) with ``weight``/``bias`` of ``C`` elements
    reshaped to ``(C,)``, the backward refused as PyTorch's: any backward through the result
    for a weight that is not 1-d, the bias's gradient for a bias of 2 or more dims."""
    c = input.shape[1]
    w = weight if weight is None or weight.ndim == 1 else weight.reshape(c)
    b = bias if bias is None or bias.ndim == 1 else bias.reshape(c)
    y = batch_norm(input, running_mean, running_var, w, b, training, momentum, eps)
    hint = "\nbatch_norm: give the {} shape ({},) (it has {}); PyTorch's backward refuses this"
    if weight is not None and weight.ndim != 1 and y.requires_grad:
        y.register_hook(
            _refusing(
                f"TensorAccessor expected 1 dims but tensor has {weight.ndim}"
                + hint.format("weight", c, tuple(weight.shape))
            )
        )
    if bias is not None and bias.ndim > 1 and b.requires_grad:
        b.register_hook(
            _refusing(
                "Function NativeBatchNormBackward0 returned an invalid gradient at index 2 - "
                f"got [{c}] but expected shape compatible with {list(bias.shape)}"
                + hint.format("bias", c, tuple(bias.shape))
            )
        )
    return y
