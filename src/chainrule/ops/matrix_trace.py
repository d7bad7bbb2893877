"""``trace``: the sum of a matrix's main diagonal, as one node (PyTorch's ``TraceBackward0``).

It was a composition (a flattening view, two slices and a sum: four nodes). As one op it
saves nothing but the input's shape, as PyTorch's node, so the input may be modified in place
after forward. ``y = sum_i x[i, i]``; ``dy/dx`` is the identity matrix of ``x``'s shape
(rectangular: ones on the main diagonal), so the gradient is ``g * eye(n, m)`` and the tangent
``trace(t)``.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["Trace"]


class Trace(Function):
    """The sum of a 2-d array's main diagonal; integers and bools are summed in int64 and
    float16 accumulates in float32, as ``sum``."""

    raw = True
    complex_grad = True  # real-linear: its transpose is right for complex gradients
    node_name = "TraceBackward0"
    saved_fields = {"self_sym_sizes": lambda n: tuple(n.in_shape)}  # grad_fn._saved_*

    @staticmethod
    def forward(ctx, x):
        ctx.in_shape = x.shape
        return _trace(x)

    @staticmethod
    def backward(ctx, grad):
        eye = get_array_module(grad._data).eye(*ctx.in_shape, dtype=grad.dtype)
        gx = grad * Tensor._make(eye, False, None, 0)
        gx._vc[0] = 2  # PyTorch's zeros (zero_), then its diagonal written: version 2
        return gx

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else _trace(t)


def _trace(x):
    xp = get_array_module(x)
    diag = xp.diagonal(x)  # a view: only the diagonal is read
    if x.dtype.kind in "biu":
        return xp.asarray(diag.sum(dtype=np.int64))
    if x.dtype == np.float16:
        return xp.asarray(diag.sum(dtype=np.float32).astype(np.float16))
    return xp.asarray(diag.sum())
