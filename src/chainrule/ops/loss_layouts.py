"""PyTorch's memory layouts of the elementwise losses' per-element results and gradients.

PyTorch computes ``reduction='none'`` losses and their input gradients with TensorIterator
kernels, so their strides follow its elementwise rule over the kernel's operands in the
kernel's order (``_result_layout.elementwise_layout``: the first operand that tells two
dims apart decides), or a buffer it allocates row-major. Measured on PyTorch 2.13 (session
47), for a channels-last or transposed input or target:

- ``mse_loss``, ``smooth_l1_loss``, ``huber_loss``, ``soft_margin_loss``,
  ``binary_cross_entropy``: the loss is laid out by ``(input, target)``;
  ``binary_cross_entropy_with_logits``: by ``(target, input)`` (its formula starts with
  ``(1 - target)``);
- ``mse_loss``'s gradients (input's and target's) are row-major (``mse_loss_backward``
  writes into ``zeros_like(input, LEGACY_CONTIGUOUS_MEMORY_FORMAT)``);
- ``soft_margin_loss``'s input gradient is laid out by ``(target, input, grad)``;
  ``binary_cross_entropy``'s gradients by ``(input, target, grad)``.

Every helper returns its argument untouched, after flag tests only, when all the arrays
are row-major (the hot path), and where a layout mark is on one of them (a convolution's
channel-major result: its own strides are not PyTorch's, ``input_first_grads.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._result_layout import elementwise_tensor, in_elementwise_layout
from .input_first_grads import plain_layout

__all__ = ["loss_layout", "loss_layout_tensor", "row_major_grad"]


def loss_layout(out: Any, *operands: Any) -> Any:
    """The raw array ``out`` (a loss per element, or an input gradient) in PyTorch's
    elementwise layout for ``operands`` (raw arrays, numbers or None, in the kernel's
    order); ``out`` itself when it is not an n-d NumPy array (a reduced loss, CuPy, meta),
    when it and every operand are row-major, or where a layout mark is on any of them."""
    if type(out) is not np.ndarray or out.ndim < 2:
        return out
    arrays = [o for o in operands if type(o) is np.ndarray]
    if out.flags.c_contiguous and all(o.flags.c_contiguous for o in arrays):
        return out
    if not plain_layout(out, *arrays):
        return out
    return in_elementwise_layout(out, *arrays)


def row_major_grad(g: Tensor | None) -> Tensor | None:
    """The gradient ``g`` row-major, as PyTorch allocates a loss's ``grad_input`` that it
    writes into (``LEGACY_CONTIGUOUS_MEMORY_FORMAT``): ``g`` itself when it already is, has
    fewer than two dims or carries a layout mark; a recorded copy when it has history
    (``create_graph``), else a plain one."""
    if g is None:
        return g
    arr = g._data
    if type(arr) is not np.ndarray or arr.ndim < 2 or arr.flags.c_contiguous:
        return g
    if not plain_layout(arr):
        return g
    if g.requires_grad:
        return g.contiguous()
    return Tensor._make(np.ascontiguousarray(arr), False, None, 0)


def loss_layout_tensor(out: Tensor | None, *operands: Any) -> Tensor | None:
    """:func:`loss_layout` for a gradient computed with Tensor ops (``create_graph``): a
    recorded relaid copy where PyTorch's layout for ``operands`` (Tensors or numbers) differs;
    ``out`` itself when it and every operand are row-major or a layout mark is on any."""
    if out is None or type(out._data) is not np.ndarray or out._data.ndim < 2:
        return out
    raws = [o._data for o in operands if isinstance(o, Tensor)]
    if out._data.flags.c_contiguous and all(r.flags.c_contiguous for r in raws):
        return out
    if not plain_layout(out, *raws):
        return out
    return elementwise_tensor(out, *[o for o in operands if isinstance(o, Tensor)])
