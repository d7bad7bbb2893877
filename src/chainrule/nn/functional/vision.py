"""``F.affine_grid`` and ``F.grid_sample``: the sampling pair of spatial transformer networks.

``affine_grid`` is a batched matmul of a constant base grid of normalised coordinates
``[x, y, (z,) 1]`` with θᵀ, one node as PyTorch's ``AffineGridGeneratorBackward0``
(``ops/affine_grid_node.py``; differentiable in θ, any order, both modes); the base grid
is rounded bit for bit as PyTorch's CPU kernel rounds it (see ``_linspace_from_neg_one``),
so the identity θ gives PyTorch's sample points exactly.
``grid_sample`` checks its arguments and calls
:class:`~chainrule.ops.grid_sample.GridSample2dFn` (4-d input; bilinear, nearest and bicubic)
or :class:`~chainrule.ops.grid_sample_3d.GridSample3dFn` (5-d input; trilinear and nearest).
Both warn, as PyTorch does, when ``align_corners`` is left as None (then False).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ...autograd.lower_precision import autocast_lower_precision
from ...autograd.tensor import Tensor
from ...creation import linspace_points
from ...ops.affine_grid_node import affine_grid_node
from ...ops.grid_sample import GridSample2dFn
from ...ops.grid_sample_3d import GridSample3dFn

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)


def _linspace_from_neg_one(num: int, align_corners: bool, dtype: np.dtype) -> np.ndarray:
    """PyTorch's ``linspace_from_neg_one``: pixel centres (or corners) in [-1, 1], rounded as
    PyTorch's CPU ``linspace`` and ``affine_grid`` round them in float32 and float64.

    ``linspace(-1, 1, num)`` takes step = 2 / (num - 1) and computes the first ``num // 2``
    points from the start, ``-1 + i step``, and the others from the end, ``1 - (num - 1 - i)
    step``, each with one rounding (a fused multiply-add); for pixel centres the result is
    then multiplied by (num - 1) and divided by num, rounding each time. The identity
    transform thus samples exactly where PyTorch does (half a unit in the last place off some
    centres, which decides bilinear's one-sided grid gradient there)."""
    if num <= 1:
        return np.zeros(1, dtype)
    if dtype not in (np.float32, np.float64):  # float16 / bfloat16: float64, then cast
        return _linspace_from_neg_one(num, align_corners, np.dtype(np.float64)).astype(dtype)
    r = linspace_points(-1.0, 1.0, num, dtype)
    if not align_corners:
        r = r * (num - 1) / num
    return r


def _base_grid(spatial: Sequence[int], align_corners: bool, dtype) -> np.ndarray:
    """(*spatial, k + 1) array of ``[x, y, (z,) 1]`` (x varies along the last spatial dim)."""
    dtype = np.dtype(dtype)
    axes = [_linspace_from_neg_one(s, align_corners, dtype) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # one array per (d,) h, w
    coords = list(mesh[::-1]) + [np.ones(tuple(spatial), dtype)]
    return np.stack(coords, -1)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The (N, H, W, 2) (or (N, D, H, W, 3)) sampling grid of the affine maps ``theta``.

    ``theta`` is (N, 2, 3) for a 4-d ``size`` (N, C, H, W) and (N, 3, 4) for a 5-d one;
    grid[n, i, j] = θ_n [x_j, y_i, 1]ᵀ with x, y the normalised pixel coordinates (pixel
    centres when ``align_corners=False``, corner pixels at ±1 when True).

    Raises:
        ValueError: non-floating theta, theta of the wrong shape, or a non-positive size.
        NotImplementedError: a size that is not 4-d or 5-d (as PyTorch).
        RuntimeError: theta's batch size differs from size[0].
    """
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid(): expected theta to be a Tensor, got {type(theta).__name__}")
    if not theta.is_floating_point():
        raise ValueError(
            f"affine_grid: Expected theta to have floating point type, but got {theta.dtype}"
        )
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(
                f"affine_grid: Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                f"{size}. Got {tuple(theta.shape)}."
            )
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(
                f"affine_grid: Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                f"{size}. Got {tuple(theta.shape)}."
            )
        spatial = size[-3:]
    else:
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    if align_corners and min(spatial) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the "
            "documentation of affine_grid for details.",
            stacklevel=2,
        )
    elif min(size) <= 0:
        raise ValueError(f"affine_grid: Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(
            f"affine_grid: theta has batch size {theta.shape[0]} but size[0] is {size[0]}; "
            "they must match"
        )
    # PyTorch computes the grid with a batched matmul, which CPU autocast casts
    (theta,) = autocast_lower_precision(theta)
    k = len(spatial)
    base_array = _base_grid(spatial, align_corners, theta.dtype).reshape(-1, k + 1)
    # one AffineGridGeneratorBackward0, as PyTorch's; its small batched matmul adds the k + 1
    # products left to right, unfused (affine_grid_node.py)
    return affine_grid_node(theta, base_array, size, align_corners)


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample ``input`` (N, C, H_in, W_in) at the normalised (x, y) points of ``grid``
    (N, H_out, W_out, 2), giving (N, C, H_out, W_out); or a volume (N, C, D_in, H_in, W_in) at
    the (x, y, z) points of a grid (N, D_out, H_out, W_out, 3), giving (N, C, D_out, H_out,
    W_out). x addresses W, y H and z D, as PyTorch.

    (-1, -1) is the top-left pixel (its centre when ``align_corners=False``, its corner
    point when True). ``mode`` is 'bilinear' (trilinear over the 8 corners of a voxel cell
    for 5-d input), 'nearest' (round half to even, as PyTorch) or 'bicubic' (4-d only: cubic
    convolution with A = -0.75 over a 4x4 neighbourhood, as PyTorch); ``padding_mode`` says
    what points outside the image read: 'zeros', 'border' (the nearest edge pixel) or
    'reflection' (the coordinate reflected at the border). Differentiable in input and grid
    (the grid gradient is zero for 'nearest', as PyTorch), twice in reverse mode and in
    forward mode.

    Raises:
        ValueError: unknown ``mode`` or ``padding_mode``.
        RuntimeError: mismatched batch sizes, ranks or dtypes, a last grid dim other than 2
            (4-d) or 3 (5-d), an empty spatial input dimension, or 'bicubic' on 5-d input.
        NotImplementedError: integer input (as PyTorch).
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    for name, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"grid_sample(): expected {name} to be a Tensor, got {type(t).__name__}"
            )
    ishape, gshape = list(input.shape), list(grid.shape)
    if not ishape or not gshape or ishape[0] != gshape[0]:
        raise RuntimeError(
            "grid_sample(): expected grid and input to have same batch size, but got input "
            f"with sizes {ishape} and grid with sizes {gshape}"
        )
    if gshape[-1] != input.ndim - 2:
        raise RuntimeError(
            f"grid_sample(): expected grid to have size {input.ndim - 2} in last dimension, "
            f"but got grid with sizes {gshape}"
        )
    if input.ndim != grid.ndim:
        raise RuntimeError(
            "grid_sample(): expected grid to have the same number of dimensions as input, but "
            f"got input with sizes {ishape} and grid with sizes {gshape}"
        )
    if input.ndim not in (4, 5):
        raise RuntimeError(
            "grid_sample(): expected 4D or 5D input and grid with same number of dimensions, "
            f"but got input with sizes {ishape} and grid with sizes {gshape}"
        )
    for i in range(2, input.ndim):
        if ishape[i] == 0:
            raise RuntimeError(
                "grid_sample(): expected input to have non-empty spatial dimensions, but input "
                f"has sizes {ishape} with dimension {i} being empty"
            )
    if input.ndim == 5 and mode == "bicubic":
        raise RuntimeError("grid_sample(): bicubic interpolation only supports 4D input")
    if not input.is_floating_point() or not grid.is_floating_point():
        raise NotImplementedError(
            f"grid_sample(): not implemented for input {input.dtype} and grid {grid.dtype} "
            "(floating point only)"
        )
    if input.dtype != grid.dtype:
        raise RuntimeError(
            f"grid_sample(): expected input and grid to have the same dtype, but input has "
            f"{input.dtype} and grid has {grid.dtype}"
        )
    fn = GridSample3dFn if input.ndim == 5 else GridSample2dFn
    return fn.apply(input, grid, mode, padding_mode, bool(align_corners))
