"""Grid sampling, the plan and derivative rules behind ``F.grid_sample``: 2-d (bilinear /
nearest / bicubic) here, 3-d (trilinear / nearest) in ``grid_sample_3d.py`` on the same plan.

The grid's last dim holds one normalised coordinate ``g`` in [-1, 1] per spatial axis, x
first: (x, y) address (W, H) and (x, y, z) address (W, H, D). Each is mapped to a pixel
coordinate as PyTorch's ``grid_sampler_compute_source_index`` does,

    ix = (g + 1) / 2 * (W - 1)          (align_corners=True)
    ix = ((g + 1) * W - 1) / 2          (align_corners=False)

rounded as PyTorch's CPU kernels round it: in 2-d, ``(g + 1) * W - 1`` is one fused
multiply-add (:func:`fused_multiply_add`), in 3-d two roundings, so that a grid from
``F.affine_grid`` lands on (or an ulp off) the same pixel centres as in PyTorch, which decides
the one-sided grid gradient of bilinear there. The result is then clipped (``border``) or
reflected and clipped (``reflection``). Each of these maps is piecewise linear, so locally
``ix = m * g + a`` with a constant slope ``m`` (the scale, times
±1 for each reflection, or 0 where clipping is active): the *plan* computed once in the
forward keeps, per tap, the flat pixel index, an in-bounds mask, the interpolation weight
and its derivative with respect to each pixel coordinate, plus the slopes ``m``. The
(multi)linear weight of a corner of the 2^k cell around the point is the product over the
axes of ``(x0 + 1 - ix)`` (low corner) or ``(ix - x0)`` (high corner), ``x0 = floor(ix)``;
``nearest`` reads the one pixel at the coordinates rounded half to even. Bicubic (2-d only,
as PyTorch) pads the 16 tap positions instead of the coordinate, so its slope is the scale
alone and its weights are the cubic-convolution polynomials (A = -0.75) of the fractions.

* Forward: the taps (1, 2^k or 16) gathered by ``take_along_axis`` over (N, C, P points).
* Backward: the input gradient is one ``bincount`` scatter of ``grad * weight``; the grid
  gradient along axis a is ``Σ_c grad · Σ_k value_k · ∂w_k/∂ix_a`` times the slope (zero for
  ``nearest``, as PyTorch).
* ``create_graph``: the same formulas written with differentiable Tensor ops (gather,
  scatter_add, products with the grid through ``ix = m g + a``), so double backward is exact
  (PyTorch supports it too).
* Forward mode (``jvp``): the sample of the input tangent plus ``Σ_a ∂out/∂ix_a · m_a ·
  t_a``; PyTorch 2.13 has no forward-mode rule for ``grid_sampler_2d``/``_3d``, chainrule
  does.

``F.grid_sample`` (``nn/functional/vision.py``) checks the arguments and calls
:class:`GridSample2dFn` or :class:`~chainrule.ops.grid_sample_3d.GridSample3dFn`.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module
from .gather_scatter import gather, scatter_add
from .joining import stack

__all__ = ["GridSample2dFn", "fused_multiply_add"]

# PyTorch's GridSamplerInterpolation / GridSamplerPadding enums (``_saved_*_mode``)
_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}


def _clip(ix: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's ``clip_coordinates_set_grad``: clamp to [0, size - 1]; slope 0 when clamped
    (including exactly on the bounds)."""
    inside = (ix > 0) & (ix < size - 1)
    return get_array_module(ix).clip(ix, 0, size - 1), inside.astype(ix.dtype)


def _reflect(ix: np.ndarray, twice_low: int, twice_high: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's ``reflect_coordinates_set_grad``: reflect into [low, high]; slope ±1."""
    xp = get_array_module(ix)
    if twice_low == twice_high:
        return xp.zeros_like(ix), xp.zeros_like(ix)
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    d = ix - lo
    sign = xp.where(d < 0, -1.0, 1.0).astype(ix.dtype)
    d = xp.abs(d)
    extra = xp.fmod(d, span)
    odd = xp.fmod(xp.floor(d / span), 2) == 1
    out = xp.where(odd, span - extra + lo, extra + lo).astype(ix.dtype)
    return out, xp.where(odd, -sign, sign)


_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant, splits a float64 into two 26-bit halves


def fused_multiply_add(a: np.ndarray, k, c: float) -> np.ndarray:
    """``a * k + c`` rounded once, as a fused multiply-add, for integer-valued ``k`` (an int or
    an array; |k| < 2**26) and c = ±1, in ``a``'s dtype (float32 or float64).

    PyTorch's CPU kernels fuse this product and sum (its ``linspace`` and the 2-d
    ``grid_sample`` unnormalisation); rounding the product first can move a point that should
    sit on a pixel centre by one unit in the last place, which changes bilinear's one-sided
    grid gradient there. float32: the product of a float32 and such a k is exact in float64,
    and so is the sum while |a k| < 2**28, leaving one rounding to float32. float64: ``a`` is
    split (Veltkamp) into ``hi + lo`` of 26 bits each, so ``hi k + c`` and ``lo k`` are exact
    and their sum is the one rounding; points with |a| >= 2**25 (far outside any image) and
    non-finite ones keep the plain ``a * k + c``. Other dtypes round twice."""
    if isinstance(k, int) and k > 0 and k & (k - 1) == 0:
        return a * k + c  # the product by a power of two is exact: one rounding already
    xp = get_array_module(a, k)
    with errstate(xp, over="ignore", invalid="ignore"):  # far points: replaced below
        if a.dtype == np.float32:
            t = a.astype(np.float64) * k
            t += c
            return t.astype(np.float32)
        if a.dtype != np.float64:
            return a * k + c
        hi = a * _SPLIT
        hi -= hi - a  # the 26 leading bits of a
        out = hi * k
        out += c
        out += (a - hi) * k
    # (no ``initial=`` for max/min: CuPy lacks it; an empty ``a`` has no far points)
    if a.size == 0 or (a.max() < 2.0**25 and a.min() > -(2.0**25)):
        return out  # (nan fails both tests)
    return xp.where(xp.abs(a) < 2.0**25, out, a * k + c)


def _source_index(coord: np.ndarray, size: int, padding: str, align: bool, fused: bool):
    """(pixel coordinate, d pixel / d coord) for normalised ``coord`` along a ``size`` axis;
    ``fused``: the align_corners=False map's multiply-add is rounded once (PyTorch's 2-d
    kernels; its 3-d ones round twice)."""
    xp = get_array_module(coord)
    if align:
        ix = (coord + 1) / 2 * (size - 1)
        mult = xp.full_like(coord, (size - 1) / 2)
    else:
        one = coord + 1
        ix = (fused_multiply_add(one, size, -1) if fused else one * size - 1) / 2
        mult = xp.full_like(coord, size / 2)
    if padding == "border":
        ix, m = _clip(ix, size)
        mult = mult * m
    elif padding == "reflection":
        ix, m = _reflect(ix, 0, 2 * (size - 1)) if align else _reflect(ix, -1, 2 * size - 1)
        mult = mult * m
        ix, m = _clip(ix, size)
        mult = mult * m
    return ix, mult


def _safe_int(v: np.ndarray, size: int) -> np.ndarray:
    """Integer positions for indexing; far-away and non-finite ones become -1 (out of range)."""
    xp = get_array_module(v)
    v = xp.where(xp.isfinite(v), v, -1)
    return xp.clip(v, -1, size).astype(np.int64)


def _offsets(k: int, taps: int) -> list[tuple[int, ...]]:
    """The tap offsets (o_x, o_y, ...) of a ``taps``^k neighbourhood, x fastest (PyTorch's
    order: nw, ne, sw, se in 2-d; tnw, tne, tsw, tse, bnw, ... in 3-d)."""
    return [offs[::-1] for offs in itertools.product(range(taps), repeat=k)]


def _product(factors: list):
    """f_0 * f_1 * ... in order (arrays or Tensors)."""
    return functools.reduce(operator.mul, factors)


def _linear_weights(coords: list, floors: list) -> list:
    """(w, [dw/dix_a per axis]) of the 2^k corners (bilinear, trilinear), written as PyTorch
    does (``(ix_se - ix) * (iy_se - iy)`` ...); ``coords`` are arrays or Tensors."""
    pairs = [((f + 1) - c, c - f) for c, f in zip(coords, floors)]  # (low, high) per axis
    out = []
    for offs in _offsets(len(coords), 2):
        fac = [pairs[a][o] for a, o in enumerate(offs)]
        others = [_product(fac[:a] + fac[a + 1 :]) for a in range(len(fac))]
        out.append((_product(fac), [d if o else -d for d, o in zip(others, offs)]))
    return out


_A = -0.75  # PyTorch's bicubic convolution coefficient


def _cubic(t) -> tuple[list, list]:
    """The four cubic-convolution coefficients (A = -0.75) at fraction ``t`` and their
    derivatives in ``t`` (arrays or Tensors)."""
    u, v, s = 1 - t, 2 - t, t + 1

    def far(z):  # |z| in (1, 2)
        return ((_A * z - 5 * _A) * z + 8 * _A) * z - 4 * _A

    def far_d(z):
        return (3 * _A * z - 10 * _A) * z + 8 * _A

    def near(z):  # |z| <= 1
        return ((_A + 2) * z - (_A + 3)) * z * z + 1

    def near_d(z):
        return (3 * (_A + 2) * z - 2 * (_A + 3)) * z

    return [far(s), near(t), near(u), far(v)], [far_d(s), near_d(t), -near_d(u), -far_d(v)]


def _bicubic_weights(coords: list, floors: list) -> list:
    """(w, [dw/dix, dw/diy]) of the 16 corners (row j, column i), row-major (2-d only)."""
    (wx, dwx), (wy, dwy) = (_cubic(c - f) for c, f in zip(coords, floors))
    return [(wx[i] * wy[j], [dwx[i] * wy[j], wx[i] * dwy[j]]) for j in range(4) for i in range(4)]


def _pad_position(pos: np.ndarray, size: int, padding: str, align: bool) -> np.ndarray:
    """PyTorch's ``compute_coordinates`` on a bicubic tap position (no slope needed)."""
    xp = get_array_module(pos)
    if padding == "border":
        return xp.clip(pos, 0, size - 1)
    if padding == "reflection":
        pos = _reflect(pos, 0, 2 * (size - 1))[0] if align else _reflect(pos, -1, 2 * size - 1)[0]
        return xp.clip(pos, 0, size - 1)
    return pos


class _Plan:
    """The taps of every output point, computed once from the grid in the forward.

    ``sizes``: the input's spatial sizes in the grid's coordinate order (W, H[, D]).
    ``idx``: flat pixel index per tap (N, P); ``mask``: tap in bounds; ``w``: weight x mask;
    ``dw``: per tap, d weight / d ix_a for each axis a (masked; None for nearest);
    ``slopes``: d ix_a / d grid_a; ``coords``: the pixel coordinates and ``floors`` their
    floors, from which :meth:`weights` rebuilds the weights."""

    def __init__(self, grid: np.ndarray, sizes: tuple, mode: str, padding: str, align: bool):
        xp = get_array_module(grid)
        n, k = grid.shape[0], grid.shape[-1]
        g = grid.reshape(n, math.prod(grid.shape[1:-1]), k)
        # bicubic pads the tap positions, not the coordinate (as PyTorch)
        coord_padding = "zeros" if mode == "bicubic" else padding
        maps = [_source_index(g[..., a], sizes[a], coord_padding, align, k == 2) for a in range(k)]
        self.coords = [ix for ix, _ in maps]
        self.slopes = [m for _, m in maps]
        self.mode, self.padding, self.align = mode, padding, align
        # PyTorch's 2-d bilinear (zeros padding) and bicubic kernels multiply a non-finite
        # coordinate's NaN weights into the sum even where the taps read 0: NaN out there
        # (its 3-d and nearest kernels skip out-of-range taps: 0, as below)
        self.nan_points = self.grad_nan = None
        if k == 2 and (mode == "bicubic" or (mode == "bilinear" and padding == "zeros")):
            fin = [xp.isfinite(self.coords[0]), xp.isfinite(self.coords[1])]
            bad = ~(fin[0] & fin[1])
            self.nan_points = bad if bad.any() else None
            # and its backward the grid gradient's: NaN whatever the output gradient (0 * NaN),
            # bilinear's in the other coordinate (the factor (ix_se - ix) of one axis
            # multiplies the other's derivative), bicubic's in both
            if self.nan_points is not None:
                pair = [bad, bad] if mode == "bicubic" else [~fin[1], ~fin[0]]
                self.grad_nan = xp.stack(pair, -1)
        if mode == "nearest":
            taps = [[xp.rint(ix) for ix in self.coords]]
            weights = [(None, [None] * k)]
        else:
            self.floors = [xp.floor(ix) for ix in self.coords]
            if mode == "bilinear":
                taps = [
                    [f + o if o else f for f, o in zip(self.floors, offs)]
                    for offs in _offsets(k, 2)
                ]
            else:
                taps = [
                    [
                        _pad_position(f + (o - 1), s, padding, align)
                        for f, o, s in zip(self.floors, offs, sizes)
                    ]
                    for offs in _offsets(k, 4)
                ]
            weights = self.weights(self.coords)
        self.idx, self.w, self.dw, self.mask = [], [], [], []
        for pos, (wt, dws) in zip(taps, weights):
            ints = [_safe_int(p, s) for p, s in zip(pos, sizes)]
            inb = functools.reduce(operator.and_, [(i >= 0) & (i < s) for i, s in zip(ints, sizes)])
            flat = ints[-1]  # row-major over (..., H, W): ((z H) + y) W + x
            for a in range(k - 2, -1, -1):
                flat = flat * sizes[a] + ints[a]
            mask = inb.astype(grid.dtype)
            self.idx.append(xp.where(inb, flat, 0))
            self.mask.append(mask)
            self.w.append(mask if wt is None else xp.where(inb, wt, 0).astype(grid.dtype))
            self.dw.append(
                [None if d is None else xp.where(inb, d, 0).astype(grid.dtype) for d in dws]
            )

    def weights(self, coords: list) -> list:
        """(w, [dw/dix_a]) per tap for pixel coordinates ``coords`` (arrays, or Tensors equal
        to the plan's coordinates: the differentiable path), without the masks."""
        fn = _linear_weights if self.mode == "bilinear" else _bicubic_weights
        return fn(coords, self.floors)

    @staticmethod
    def _flat(x: np.ndarray) -> np.ndarray:
        """x (N, C, *spatial) as (N, C, prod(spatial)) (a view when x is contiguous)."""
        return x.reshape(*x.shape[:2], math.prod(x.shape[2:]))

    def sample(self, x: np.ndarray) -> np.ndarray:
        """Σ_k x[corner_k] w_k as (N, C, P) for x of shape (N, C, *spatial)."""
        xp = get_array_module(x)
        xf = self._flat(x)
        out = xp.zeros((*xf.shape[:2], self.idx[0].shape[1]), x.dtype)
        if xf.shape[2] == 0 or out.size == 0:
            return out
        for idx, wt in zip(self.idx, self.w):
            out += xp.take_along_axis(xf, idx[:, None, :], axis=2) * wt[:, None, :]
        if self.nan_points is not None:
            out[xp.broadcast_to(self.nan_points[:, None, :], out.shape)] = np.nan
        return out

    def coord_derivs(self, x: np.ndarray) -> list[np.ndarray]:
        """d out / d ix_a per axis a, each (N, C, P) (bilinear and bicubic)."""
        xp = get_array_module(x)
        xf = self._flat(x)
        shape = (*xf.shape[:2], self.idx[0].shape[1])
        outs = [xp.zeros(shape, x.dtype) for _ in self.slopes]
        for idx, dws in zip(self.idx, self.dw):
            v = xp.take_along_axis(xf, idx[:, None, :], axis=2)
            for o, d in zip(outs, dws):
                o += v * d[:, None, :]
        return outs

    def scatter(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        """The adjoint of :meth:`sample`: g (N, C, P) scattered into ``shape`` (N, C, ...)."""
        xp = get_array_module(g)
        n, c = shape[:2]
        size = math.prod(shape[2:])
        if g.size == 0 or size == 0:
            return xp.zeros(shape, g.dtype)
        base = (xp.arange(n * c, dtype=np.int64) * size).reshape(n, c, 1)
        targets = xp.concatenate([(base + idx[:, None, :]).reshape(-1) for idx in self.idx])
        weights = xp.concatenate([(g * wt[:, None, :]).reshape(-1) for wt in self.w])
        out = xp.bincount(targets, weights=weights, minlength=n * c * size)
        return out.astype(g.dtype, copy=False).reshape(shape)


class _GridSampleFn(Function):
    """out[n, c, *o] = input[n, c] sampled at grid[n, *o] = (x, y[, z]); the rank of the
    input picks 2-d or 3-d (subclasses name PyTorch's node)."""

    raw = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): modes as its enums
        "align_corners": lambda n: n.plan.align,
        "grid": 1,
        "input": 0,
        "interpolation_mode": lambda n: _MODES[n.plan.mode],
        "padding_mode": lambda n: _PADDINGS[n.plan.padding],
    }

    @staticmethod
    def forward(ctx, x, grid, mode, padding_mode, align_corners):
        n, c = x.shape[:2]
        xp = get_array_module(grid)
        with errstate(xp, invalid="ignore", over="ignore"):  # non-finite points: 0 or NaN
            plan = _Plan(grid, x.shape[:1:-1], mode, padding_mode, align_corners)
        ctx.plan = plan
        ctx.save_for_backward(x, grid)
        return plan.sample(x).reshape(n, c, *grid.shape[1:-1])

    @staticmethod
    def backward(ctx, grad):
        x, grid = ctx.saved_tensors  # version check: in-place changes after the forward raise
        needs = ctx.needs_input_grad
        plan = ctx.plan
        if ctx.create_graph:
            gx, gg = _backward_tensors(plan, x, grid, grad, needs)
            return gx, gg, None, None, None
        n, c = x.shape[:2]
        g = grad._data.reshape(n, c, plan.idx[0].shape[1])
        gx = gg = None
        if needs[0]:
            gx = Tensor._make(plan.scatter(g, x.shape), False, None, 0)
        if needs[1]:
            gg = get_array_module(g).zeros(grid.shape, grid._data.dtype)
            if plan.mode != "nearest":
                for a, (o, m) in enumerate(zip(plan.coord_derivs(x._data), plan.slopes)):
                    gg[..., a] = ((g * o).sum(1) * m).reshape(grid.shape[:-1])
            if plan.grad_nan is not None:
                gg[plan.grad_nan.reshape(grid.shape)] = np.nan
            gg = Tensor._make(gg, False, None, 0)
        return gx, gg, None, None, None

    @staticmethod
    def jvp(ctx, tx, tg, *_):
        plan = ctx.plan
        x = ctx.primals[0]
        x = x._data if isinstance(x, Tensor) else x
        n, c = x.shape[:2]
        p = plan.idx[0].shape[1]
        out = get_array_module(x).zeros((n, c, p), x.dtype)
        if tx is not None:
            out += plan.sample(tx)
        if tg is not None and plan.mode != "nearest":
            tgf = tg.reshape(n, 1, p, len(plan.slopes))
            out += functools.reduce(
                operator.add,
                [
                    o * (tgf[..., a] * m[:, None, :])
                    for a, (o, m) in enumerate(zip(plan.coord_derivs(x), plan.slopes))
                ],
            )
        return out.reshape(ctx.out.shape)


class GridSample2dFn(_GridSampleFn):
    """out[n, c, i, j] = input[n, c] sampled at grid[n, i, j] = (x, y) (4-d input)."""

    node_name = "GridSampler2DBackward0"


def _const(a: np.ndarray) -> Tensor:
    """An array of the plan as a constant Tensor (no grad)."""
    return Tensor._make(a, False, None, 0)


def _backward_tensors(plan: _Plan, x: Tensor, grid: Tensor, grad: Tensor, needs) -> tuple:
    """The backward of :class:`_GridSampleFn` as differentiable Tensor ops (create_graph).

    The weights are rebuilt from the grid Tensor through ``ix = m g + a`` (``a`` the constant
    offset of the plan's piecewise-linear map), so their derivatives in the grid are exact."""
    n, c = x.shape[:2]
    k = grid.shape[-1]
    p = plan.idx[0].shape[1]
    g = grad.reshape(n, c, p)
    xf = x.reshape(n, c, math.prod(x.shape[2:]))
    xp = get_array_module(x._data)
    idx = [xp.ascontiguousarray(xp.broadcast_to(i[:, None, :], (n, c, p))) for i in plan.idx]
    if plan.mode != "nearest":
        gflat = grid.reshape(n, p, k)
        # ix as a Tensor: slope m times the grid, plus the constant that makes it equal the
        # plan's value (ix - m g), so that d ix / d g = m exactly.
        # Where the slope is 0 (a clipped point) the grid is left out (0 * inf is NaN), and a
        # non-finite coordinate is read as 0: its taps are all masked out (weights 0, as the
        # first-order rule's; its NaN grid gradient is added below)
        gd = grid._data.reshape(n, p, k)
        coords = []
        with errstate(xp, invalid="ignore"):
            for a, (ix, m) in enumerate(zip(plan.coords, plan.slopes)):
                off = (m == 0) | ~xp.isfinite(ix)
                const = xp.where(off, xp.where(xp.isfinite(ix), ix, 0), ix - m * gd[..., a])
                coords.append(
                    gflat[..., a].masked_fill(_const(off), 0.0) * _const(m) + _const(const)
                )
        floors = [_const(xp.where(xp.isfinite(f), f, 0)) for f in plan.floors]
        # the plan's arrays as constant Tensors: a Tensor operator declines an ndarray
        weights = _linear_weights if plan.mode == "bilinear" else _bicubic_weights
        wts = weights(coords, floors)
        ws = [wt * _const(m) for (wt, _), m in zip(wts, plan.mask)]
    else:
        ws = [Tensor._make(plan.w[0], False, None, 0)]
    gx = gg = None
    if needs[0]:
        gx = Tensor._make(xp.zeros(xf.shape, x._data.dtype), False, None, 0)
        for i, wt in zip(idx, ws):
            gx = scatter_add(gx, 2, i, g * wt.reshape(n, 1, p))
        gx = gx.reshape(x.shape)
    if needs[1]:
        if plan.mode != "nearest":
            outs = [None] * k
            for i, (_, dws), m in zip(idx, wts, plan.mask):
                v = gather(xf, 2, i) * g  # (N, C, P)
                for a, d in enumerate(dws):
                    s = v * (d * _const(m)).reshape(n, 1, p)
                    outs[a] = s if outs[a] is None else outs[a] + s
            gg = stack([o.sum(1) * _const(m) for o, m in zip(outs, plan.slopes)], -1)
            gg = gg.reshape(grid.shape)
            if plan.grad_nan is not None:  # the first-order rule's NaN (see _Plan)
                nan = xp.where(plan.grad_nan.reshape(grid.shape), np.nan, 0.0)
                gg = gg + _const(nan.astype(grid._data.dtype))
        else:
            gg = Tensor._make(xp.zeros(grid.shape, grid._data.dtype), False, None, 0)
    return gx, gg
