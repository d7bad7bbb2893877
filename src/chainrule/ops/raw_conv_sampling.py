"""PyTorch's raw forms of convolution and spatial sampling: ``torch.convolution``,
``grid_sampler`` (with ``grid_sampler_2d``/``grid_sampler_3d``) and ``affine_grid_generator``.

They are what ``F.conv*d``/``F.conv_transpose*d``, ``F.grid_sample`` and ``F.affine_grid``
call in PyTorch, with explicit arguments (every convolution parameter a list, the sampling
modes as integers) and no defaults. Here each is a thin layer over chainrule's functional
form (the same kernels, so gradients, forward mode and double backward are theirs):

* ``convolution`` dispatches on the weight's rank (3, 4, 5: 1-, 2-, 3-d) and ``transposed``;
  like PyTorch it ignores ``output_padding`` for a non-transposed convolution (the forward
  convolution has no such parameter).
* ``grid_sampler`` maps the integer modes to names (interpolation 0 bilinear, 1 nearest,
  2 bicubic; padding 0 zeros, 1 border, 2 reflection). PyTorch does not check the integers
  (an unknown one falls through to some mode); chainrule raises ValueError for them.
  ``grid_sampler_2d`` and ``grid_sampler_3d`` also require 4-d or 5-d (volumetric) input
  and grid; bicubic is 4-d only (PyTorch's RuntimeError).
* ``affine_grid_generator`` is θ applied to the base grid of normalised coordinates, without
  ``F.affine_grid``'s checks and warnings (an empty size gives an empty grid, as PyTorch);
  an integer θ gives PyTorch's integer grid (the base coordinates truncated to integers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.lower_precision import without_autocast
from ..autograd.tensor import Tensor
from ._raw_checks import RankError, need_tensor
from .affine_grid_node import affine_grid_node
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d

__all__ = [
    "affine_grid_generator",
    "convolution",
    "grid_sampler",
    "grid_sampler_2d",
    "grid_sampler_3d",
]

_INTERPOLATION = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


# ----------------------------------------------------------------------------- convolution


def _int_list(op: str, name: str, value: Any, n: int) -> tuple[int, ...]:
    """A list argument of ``n`` ints (or one, repeated), as PyTorch's ``IntArrayRef``."""
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise TypeError(
            f"{op}(): argument '{name}' must be tuple of ints, not {type(value).__name__}"
        )
    if len(value) not in (1, n):
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {n} values to match "
            f"the convolution dimensions, but got {name}={list(value)}"
        )
    return tuple(value) * n if len(value) == 1 else tuple(value)


def convolution(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    transposed: bool,
    output_padding: Sequence[int],
    groups: int,
) -> Tensor:
    """A 1-, 2- or 3-d (transposed) convolution, PyTorch's ``torch.convolution``.

    The weight's rank k + 2 picks the dimension k; input must be batched, (N, C, *k spatial).
    weight is (O, C/groups, *kernel) for a convolution and (C, O/groups, *kernel) when
    ``transposed``; stride, padding, dilation and output_padding are lists of k ints (or of
    one, used for every dimension). ``output_padding`` applies to transposed convolutions
    only and is ignored otherwise, as in PyTorch.
    """
    from ..nn.functional.conv3d import conv3d, conv_transpose3d  # in here: nn imports ops

    op = "convolution"
    need_tensor(op, "input", input)
    need_tensor(op, "weight", weight)
    if weight.ndim < 3:
        raise RuntimeError(
            f"{op}: weight should have at least three dimensions, got shape {list(weight.shape)}"
        )
    if weight.ndim > 5:
        raise NotImplementedError(
            f"{op}: only 1-, 2- and 3-d convolutions are implemented, got a "
            f"{weight.ndim}-dimensional weight {list(weight.shape)}"
        )
    if input.ndim != weight.ndim:
        raise RuntimeError(
            f"{op}: Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional weight "
            f"{list(weight.shape)}, but got {input.ndim}-dimensional input of size "
            f"{list(input.shape)} instead"
        )
    if not isinstance(transposed, bool):
        raise TypeError(
            f"{op}(): argument 'transposed' must be bool, not {type(transposed).__name__}"
        )
    if bias is not None:
        need_tensor(op, "bias", bias)
        out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
        if tuple(bias.shape) != (out_channels,):
            raise RuntimeError(
                f"{op}: Given {'transposed=1, ' if transposed else ''}weight of size "
                f"{list(weight.shape)}, expected bias to be 1-dimensional with {out_channels} "
                f"elements, but got bias of size {list(bias.shape)} instead"
            )
    if not isinstance(groups, int) or isinstance(groups, bool):
        raise TypeError(f"{op}(): argument 'groups' must be int, not {type(groups).__name__}")
    k = weight.ndim - 2
    stride = _int_list(op, "stride", stride, k)
    padding = _int_list(op, "padding", padding, k)
    dilation = _int_list(op, "dilation", dilation, k)
    output_padding = _int_list(op, "output_padding", output_padding, k)
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got {list(stride)}")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: negative padding is not supported, got {list(padding)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, got {list(dilation)}")
    if transposed:
        if any(p < 0 for p in output_padding):
            raise RuntimeError(
                f"{op}: negative output_padding is not supported, got {list(output_padding)}"
            )
        fn = (conv_transpose1d, conv_transpose2d, conv_transpose3d)[k - 1]
        args = (input, weight, bias, stride, padding, output_padding, groups, dilation)
    else:
        fn = (conv1d, conv2d, conv3d)[k - 1]
        args = (input, weight, bias, stride, padding, dilation, groups)
    # torch.convolution is on none of PyTorch's CPU autocast lists (its _convolution is)
    return without_autocast(fn, *args)


# ----------------------------------------------------------------------------- sampling


def _mode(op: str, name: str, value: Any, names: tuple[str, ...]) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    if not 0 <= value < len(names):
        valid = ", ".join(f"{i} ({n})" for i, n in enumerate(names))
        raise ValueError(f"{op}(): {name} must be one of {valid}, got {value}")
    return names[value]


def _sample(
    op: str,
    input: Tensor,
    grid: Tensor,
    interpolation_mode: int,
    padding_mode: int,
    align_corners: bool,
    ndim: int | None,
) -> Tensor:
    from ..nn.functional.vision import grid_sample  # in here: nn imports ops

    mode = _mode(op, "interpolation_mode", interpolation_mode, _INTERPOLATION)
    padding = _mode(op, "padding_mode", padding_mode, _PADDING)
    if not isinstance(align_corners, bool):
        raise TypeError(
            f"{op}(): argument 'align_corners' must be bool, not {type(align_corners).__name__}"
        )
    need_tensor(op, "input", input)
    need_tensor(op, "grid", grid)
    if ndim is not None and (input.ndim != ndim or grid.ndim != ndim):
        raise RuntimeError(
            f"grid_sampler(): expected {ndim}D input and grid with same number of dimensions, "
            f"but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )
    return grid_sample(input, grid, mode, padding, align_corners)


def grid_sampler(
    input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
) -> Tensor:
    """``F.grid_sample`` with integer modes, PyTorch's ``torch.grid_sampler``.

    interpolation_mode: 0 bilinear, 1 nearest, 2 bicubic; padding_mode: 0 zeros, 1 border,
    2 reflection. input (N, C, H, W) and grid (N, H_out, W_out, 2) -> (N, C, H_out, W_out);
    input (N, C, D, H, W) and grid (N, D_out, H_out, W_out, 3) -> (N, C, D_out, H_out,
    W_out) (not bicubic).
    """
    return _sample(
        "grid_sampler", input, grid, interpolation_mode, padding_mode, align_corners, None
    )


def grid_sampler_2d(
    input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
) -> Tensor:
    """:func:`grid_sampler` for 4-d input and grid only, PyTorch's ``torch.grid_sampler_2d``."""
    return _sample(
        "grid_sampler_2d", input, grid, interpolation_mode, padding_mode, align_corners, 4
    )


def grid_sampler_3d(
    input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
) -> Tensor:
    """:func:`grid_sampler` for 5-d input and grid only, PyTorch's ``torch.grid_sampler_3d``.

    input (N, C, D, H, W) sampled at grid (N, D_out, H_out, W_out, 3) of (x, y, z) points;
    interpolation_mode 0 (trilinear) or 1 (nearest): 2 (bicubic) raises RuntimeError, as
    PyTorch.
    """
    return _sample(
        "grid_sampler_3d", input, grid, interpolation_mode, padding_mode, align_corners, 5
    )


def affine_grid_generator(theta: Tensor, size: Sequence[int], align_corners: bool) -> Tensor:
    """The sampling grid of the affine maps ``theta``, PyTorch's ``torch.affine_grid_generator``.

    size (N, C, H, W) with theta (N, 2, 3) -> (N, H, W, 2); size (N, C, D, H, W) with theta
    (N, 3, 4) -> (N, D, H, W, 3): grid[n, ..., :] = θ_n [x, y, (z,) 1]ᵀ with x, y, z the
    normalised coordinates of the pixel centres (``align_corners=False``) or corners (True).
    """
    from ..nn.functional.vision import _base_grid  # in here: nn imports ops

    op = "affine_grid_generator"
    need_tensor(op, "theta", theta)
    if not isinstance(align_corners, bool):
        raise TypeError(
            f"{op}(): argument 'align_corners' must be bool, not {type(align_corners).__name__}"
        )
    if not isinstance(size, (list, tuple)) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in size
    ):
        raise TypeError(f"{op}(): argument 'size' must be tuple of ints, not {size!r}")
    if len(size) not in (4, 5):
        raise RuntimeError(
            f"AffineGridGenerator needs 4d (spatial) or 5d (volumetric) inputs, got size "
            f"{list(size)}"
        )
    if any(s < 0 for s in size):
        raise RuntimeError(f"{op}: size must be non-negative, got {list(size)}")
    if theta._data.dtype.kind not in "fiu":
        raise RuntimeError(f"{op}: expected a real-valued theta, got dtype {theta.dtype}")
    k = len(size) - 2
    if theta.ndim < 3:  # PyTorch fails reading its dimension 2
        raise RankError(f"{op}: expected a 3-d theta (N, {k}, {k + 1}), got {list(theta.shape)}")
    if tuple(theta.shape) != (size[0], k, k + 1):
        raise RuntimeError(
            f"{op}: expected theta of shape {[size[0], k, k + 1]} for size {list(size)} "
            f"(a {k}-d affine matrix per batch element), got {list(theta.shape)}"
        )
    spatial = tuple(size[2:])
    if min(spatial) == 0:
        base_array = np.zeros((0, k + 1), dtype=theta._data.dtype)
    else:
        base_array = _base_grid(spatial, align_corners, theta._data.dtype).reshape(-1, k + 1)
    return affine_grid_node(theta, base_array, size, align_corners)  # F.affine_grid's node
