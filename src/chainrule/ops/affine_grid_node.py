"""``F.affine_grid``'s one node, as PyTorch's ``AffineGridGeneratorBackward0`` (saving
``align_corners`` and ``size``).

With ``B`` the (P, k + 1) base grid of ``[x, (y, z,) 1]`` rows (P pixels) and ``theta`` of
shape (N, k, k + 1), the grid is ``B @ theta[n].T`` per batch element, reshaped to
(N, *spatial, k). The values are computed as PyTorch's CPU kernels add them: a small
product as the ``k + 1`` column products added left to right, a larger one by a matmul.
The gradient is ``g[n].T @ B`` (linear in ``g``, so double backward is this node's own
rule again), the tangent the grid of the tangent of ``theta``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..meta.array import follow

__all__ = ["AffineGrid", "affine_grid_node"]

# PyTorch's CPU batched matmul adds the products of a (points x (k + 1)) @ ((k + 1) x k) product
# left to right, unfused, while points * k * (k + 1) <= 400, and otherwise in a BLAS kernel's
# order, which NumPy's matmul reproduces (measured on float32 and float64 grids).
SMALL_PRODUCT = 400


def _grid(theta: Any, base: Any, small: bool) -> Any:
    """(N, P, k): ``base @ theta[n].T`` per batch element (raw arrays)."""
    if not small:
        return base[None] @ theta.swapaxes(1, 2)
    rows = theta[:, None]  # (N, 1, k, k + 1)
    out = None
    for j in range(theta.shape[-1]):
        term = base[None, :, j : j + 1] * rows[..., j]
        out = term if out is None else out + term
    return out


class AffineGrid(Function):
    """The affine sampling grid of ``theta`` over the base grid ``base`` (a constant)."""

    raw = True
    node_name = "AffineGridGeneratorBackward0"
    saved_fields = {  # grad_fn._saved_* as PyTorch's
        "align_corners": lambda n: n.align_corners,
        "size": lambda n: n.grid_size,
    }

    @staticmethod
    def forward(ctx, theta, base, size, align_corners):
        ctx.base, ctx.grid_size, ctx.align_corners = base, size, align_corners
        ctx.small = base.shape[0] * theta.shape[1] * theta.shape[2] <= SMALL_PRODUCT
        out = _grid(theta, base, ctx.small)
        return out.reshape((size[0], *size[2:], theta.shape[1]))

    @staticmethod
    def backward(ctx, grad):
        base, size = ctx.base, ctx.grid_size
        k = base.shape[1] - 1
        if ctx.create_graph:
            g = grad.reshape(size[0], -1, k).transpose(1, 2)
            return g @ Tensor._make(base, False, None, 0), None, None, None
        g = grad._data.reshape(size[0], -1, k)
        return Tensor._make(g.swapaxes(1, 2) @ base, False, None, 0), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        size = ctx.grid_size
        out = _grid(t, ctx.base, ctx.small)
        return out.reshape((size[0], *size[2:], t.shape[1]))


def affine_grid_node(theta: Tensor, base: np.ndarray, size: tuple, align_corners: bool) -> Tensor:
    """The grid of checked arguments: ``base`` the (P, k + 1) base grid in ``theta``'s dtype,
    ``size`` the full (N, C, *spatial) size (kept as PyTorch's ``_saved_size``)."""
    # base as a tensor input (no gradient): moved to theta's device, and a bfloat16 theta's
    # computed in float32 with it, rounded once (autograd/lower_precision.py)
    base_t = Tensor._make(follow(base, theta._data), False, None, 0)  # meta theta: meta base
    return AffineGrid.apply(theta, base_t, tuple(size), bool(align_corners))
