"""``F.affine_grid`` and ``F.grid_sample`` round their coordinates exactly as PyTorch's CPU
kernels do: the base grid (``linspace`` from both ends with fused multiply-adds, then the
pixel-centre scaling) bit for bit, the 2-d ``align_corners=False`` unnormalisation
``fma(g + 1, size, -1) / 2`` (the 3-d one rounds twice) bit for bit, and therefore the grid
gradient at exactly the identity transform, where sample points sit on (or an ulp off) pixel
centres and bilinear takes a one-sided difference (the spatial-transformer tutorial)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops.grid_sample import fused_multiply_add

DTYPES = (np.float32, np.float64)
SIZES_2D = [(1, 2), (3, 5), (7, 10), (13, 62), (28, 28), (33, 17), (61, 3), (100, 1)]
SIZES_3D = [(2, 3, 4), (5, 7, 9), (13, 6, 11), (1, 28, 15)]


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.int32 if a.dtype == np.float32 else np.int64)


def _thetas(k: int, dtype, rng: np.random.Generator) -> list[np.ndarray]:
    """The identity and two random scale-and-translation maps (N = 2): their grids involve no
    sum of two rounded products, so they are exact whatever order a matmul adds in."""
    eye = np.zeros((2, k, k + 1), dtype)
    for j in range(k):
        eye[:, j, j] = 1
    out = [eye]
    for _ in range(2):
        theta = np.zeros_like(eye)
        for j in range(k):
            theta[:, j, j] = rng.uniform(-2, 2, 2)
            theta[:, j, k] = rng.uniform(-1, 1, 2)
        out.append(theta)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_bits_match_torch(dtype, align):
    rng = np.random.default_rng(0)
    for spatial in SIZES_2D + SIZES_3D:
        if align and min(spatial) == 1:
            continue  # warns (unit size with align_corners=True); covered elsewhere
        k = len(spatial)
        for theta in _thetas(k, dtype, rng):
            size = (2, 1, *spatial)
            ours = F.affine_grid(cr.tensor(theta), size, align_corners=align).numpy()
            ref = torch.nn.functional.affine_grid(
                torch.from_numpy(theta), size, align_corners=align
            ).numpy()
            assert ours.dtype == ref.dtype
            np.testing.assert_array_equal(_bits(ours), _bits(ref), err_msg=f"{spatial}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_affine_grid_small_general_theta_bits_match_torch(dtype):
    # points * k * (k + 1) <= 400: PyTorch adds x a + y b (+ z c) + t left to right, unfused
    rng = np.random.default_rng(4)
    for spatial in [(3, 22), (7, 9), (2, 5), (3, 5, 2), (2, 3, 5)]:
        k = len(spatial)
        theta = rng.standard_normal((3, k, k + 1)).astype(dtype)
        for align in (False, True):
            size = (3, 1, *spatial)
            ours = F.affine_grid(cr.tensor(theta), size, align_corners=align).numpy()
            ref = torch.nn.functional.affine_grid(
                torch.from_numpy(theta), size, align_corners=align
            ).numpy()
            np.testing.assert_array_equal(_bits(ours), _bits(ref), err_msg=f"{spatial}")


def _weights_along_x(impl, g: np.ndarray, width: int, dims: int) -> np.ndarray:
    """(width, P) bilinear weights that ``impl`` (torch or chainrule) gives to each column
    for normalised x coordinates g (y, z = 0 on a unit-size axis): a one-hot input per
    channel reads the weights back exactly."""
    p = len(g)
    eye = np.eye(width, dtype=g.dtype)
    if dims == 2:
        grid = np.zeros((1, 1, p, 2), g.dtype)
        grid[0, 0, :, 0] = g
        x = eye.reshape(1, width, 1, width)
    else:
        grid = np.zeros((1, 1, 1, p, 3), g.dtype)
        grid[0, 0, 0, :, 0] = g
        x = eye.reshape(1, width, 1, 1, width)
    if impl is torch:
        out = torch.nn.functional.grid_sample(
            torch.from_numpy(x), torch.from_numpy(grid), align_corners=False
        ).numpy()
    else:
        out = F.grid_sample(cr.tensor(x), cr.tensor(grid), align_corners=False).numpy()
    return out.reshape(width, p)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", [2, 3])
def test_source_coordinates_match_torch(dtype, dims):
    # 2-d: fma(g + 1, W, -1) / 2; 3-d: ((g + 1) W - 1) / 2 with two roundings.
    rng = np.random.default_rng(1)
    for width in (3, 7, 10, 33, 100):
        g = rng.uniform(-1, 1, 301).astype(dtype)
        centres = (np.arange(width) * 2 + 1) / width - 1  # pixel centres, then an ulp around
        g[:width] = centres.astype(dtype)
        g[width : 2 * width] = np.nextafter(g[:width], dtype(2))
        ours = _weights_along_x(cr, g, width, dims)
        ref = _weights_along_x(torch, g, width, dims)
        np.testing.assert_array_equal(_bits(ours), _bits(ref), err_msg=f"W={width}")


def _identity_round_trip(lib, x: np.ndarray, u: np.ndarray, mode: str, pad: str, align: bool):
    """Outputs and the gradients of (θ, input) for the STN step at exactly the identity θ."""
    k = x.ndim - 2
    theta = np.zeros((x.shape[0], k, k + 1), x.dtype)
    for j in range(k):
        theta[:, j, j] = 1
    mod = torch if lib is torch else cr
    fn = torch.nn.functional if lib is torch else F
    th = mod.tensor(theta, requires_grad=True)
    inp = mod.tensor(x, requires_grad=True)
    grid = fn.affine_grid(th, x.shape, align_corners=align)
    out = fn.grid_sample(inp, grid, mode=mode, padding_mode=pad, align_corners=align)
    out.backward(mod.tensor(u))
    return out.detach().numpy(), th.grad.numpy(), inp.grad.numpy()


CASES = [
    ((2, 2, 28, 28), "bilinear", "zeros", False),  # the tutorial's call
    ((2, 2, 9, 13), "bilinear", "zeros", True),
    ((2, 2, 10, 7), "bilinear", "border", False),
    ((2, 2, 11, 6), "bilinear", "reflection", False),
    ((2, 2, 12, 15), "bicubic", "zeros", False),
    ((1, 2, 5, 7, 9), "bilinear", "zeros", False),
    ((1, 2, 6, 4, 11), "bilinear", "reflection", True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "mode", "pad", "align"), CASES)
def test_identity_transform_gradients_match_torch(dtype, shape, mode, pad, align):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    u = rng.standard_normal(shape).astype(dtype)
    ours = _identity_round_trip(cr, x, u, mode, pad, align)
    ref = _identity_round_trip(torch, x, u, mode, pad, align)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(ours, ref):
        # a sample point on the other side of a pixel centre changes θ's gradient by O(1)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


def test_fused_multiply_add_rounds_once():
    rng = np.random.default_rng(3)
    a = rng.uniform(-2, 2, 400)
    a[:100] = rng.uniform(-1, 1, 100).astype(np.float32) + 1  # g + 1 of float32 grids
    ks = rng.integers(-5000, 5000, 400)
    for c in (-1.0, 1.0):
        exact = [float(Fraction(x) * int(k) + Fraction(c)) for x, k in zip(a, ks)]
        np.testing.assert_array_equal(fused_multiply_add(a, ks, c), np.array(exact))
        a32 = a.astype(np.float32)
        exact32 = [Fraction(float(x)) * int(k) + Fraction(c) for x, k in zip(a32, ks)]
        # correct rounding to float32: the nearer of the two float32 neighbours of the value
        ours = fused_multiply_add(a32, ks, c)
        assert ours.dtype == np.float32
        for o, e in zip(ours, exact32):
            lo_err = abs(Fraction(float(o)) - e)
            for nb in (np.nextafter(o, np.float32(np.inf)), np.nextafter(o, np.float32(-np.inf))):
                assert lo_err <= abs(Fraction(float(nb)) - e)
    # non-finite and far-away points keep the plain product and sum
    far = np.array([np.inf, -np.inf, np.nan, 1e30, -3e300])
    np.testing.assert_array_equal(fused_multiply_add(far, 7, -1.0), far * 7 - 1.0)
