"""``feature_alpha_dropout``: alpha dropout (SELU-preserving) of whole channels.

The mask is drawn once per (sample, channel), of shape (N, C, 1, ..., 1), from chainrule's
default generator (torch's signature: no ``generator=``), so ``cr.manual_seed`` makes it
reproducible. As in
PyTorch's ``_dropout_impl``, a dropped channel goes to SELU's negative saturation -alpha
(alpha = 1.7580993408473766, SELU's scale times its alpha) and the result is affinely
corrected to keep mean 0 and variance 1: y = a x keep + b with
a = ((1 - p)(1 + p alpha^2))^(-1/2) and b = a alpha (keep - 1) + a alpha p. The derivative
is dy/dx = a keep (a constant mask), so gradients of every order follow from the product.
"""

from __future__ import annotations

import math

from ...autograd.tensor import Tensor
from ...ops.inplace import single_node_result as _result
from .dropout import _affine, _check_p, _keep_mask

__all__ = ["feature_alpha_dropout"]

_ALPHA = 1.7580993408473766  # SELU_SCALE * SELU_ALPHA


def feature_alpha_dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Alpha dropout of whole channels (``torch.nn.functional.feature_alpha_dropout``).

    Identity when not ``training`` or ``p == 0``; zeros when ``p == 1`` (PyTorch multiplies
    by 0 there). ``inplace=True`` writes the result into ``input`` and returns it. An empty
    input is returned as is.

    Raises:
        ValueError: ``p`` outside [0, 1].
        RuntimeError: input with fewer than 2 dims (the mask is per (N, C)), or an integer
            input in training (the result is floating point).
    """
    op = "feature_alpha_dropout"
    _check_p(p, op)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if not training or p == 0.0:
        return input
    if input.numel() == 0:
        return input
    if input.dtype.kind not in "fcV":  # V: bfloat16
        raise RuntimeError(
            f"{op}: result type Float can't be cast to the desired output type {input.dtype}"
        )
    if p == 1.0:  # before the rank check, as PyTorch (no mask is drawn: any rank is zeroed)
        return _result(input, inplace, op, lambda t: t * 0.0)
    if input.ndim < 2:
        raise RuntimeError(
            f"{op}: Feature dropout requires at least 2 dimensions in the input, got shape "
            f"{tuple(input.shape)}"
        )
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    keep = _keep_mask(shape, input, p, None)
    k = keep.astype(input.dtype, copy=False)  # keeps vmap's per-sample marks
    b = (k - 1) * (_ALPHA * a) + _ALPHA * a * p
    scale, shift = Tensor._make(k * a, False, None, 0), Tensor._make(b, False, None, 0)
    return _affine(input, inplace, op, scale, shift)
