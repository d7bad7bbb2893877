"""2-d grid sampling (bilinear / nearest / bicubic): the derivative rule behind ``F.grid_sample``.

For each output point the normalised grid coordinate ``g`` in [-1, 1] is mapped to a pixel
coordinate exactly as PyTorch's ``grid_sampler_compute_source_index`` does,

    ix = (g + 1) / 2 * (W - 1)          (align_corners=True)
    ix = ((g + 1) * W - 1) / 2          (align_corners=False)

then clipped (``border``) or reflected and clipped (``reflection``). Each of these maps is
piecewise linear, so locally ``ix = m * g + a`` with a constant slope ``m`` (the scale, times
±1 for each reflection, or 0 where clipping is active): the *plan* computed once in the
forward keeps, per tap, the flat pixel index, an in-bounds mask, the interpolation weight
and its derivatives with respect to ``ix`` / ``iy``, plus the slopes ``m``. Bicubic (as
PyTorch) pads the 16 tap positions instead of the coordinate, so its slope is the scale alone
and its weights are the cubic-convolution polynomials (A = -0.75) of the fractions.

* Forward: the taps (1, 4 or 16) gathered by ``take_along_axis`` over (N, C, H_out*W_out).
* Backward: the input gradient is one ``bincount`` scatter of ``grad * weight``; the grid
  gradient is ``Σ_c grad · Σ_k value_k · ∂w_k/∂ix`` times the slope (zero for ``nearest``,
  as PyTorch).
* ``create_graph``: the same formulas written with differentiable Tensor ops (gather,
  scatter_add, products with the grid through ``ix = m g + a``), so double backward is exact
  (PyTorch supports it too).
* Forward mode (``jvp``): the sample of the input tangent plus ``∂out/∂ix · m · t_gx`` (+ y);
  PyTorch 2.13 has no forward-mode rule for ``grid_sampler_2d``, chainrule does.

``F.grid_sample`` (``nn/functional/vision.py``) checks the arguments and calls
:class:`GridSample2dFn`.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from .gather_scatter import gather, scatter_add
from .joining import stack

__all__ = ["GridSample2dFn"]


def _clip(ix: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's ``clip_coordinates_set_grad``: clamp to [0, size - 1]; slope 0 when clamped
    (including exactly on the bounds)."""
    inside = (ix > 0) & (ix < size - 1)
    return np.clip(ix, 0, size - 1), inside.astype(ix.dtype)


def _reflect(ix: np.ndarray, twice_low: int, twice_high: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's ``reflect_coordinates_set_grad``: reflect into [low, high]; slope ±1."""
    if twice_low == twice_high:
        return np.zeros_like(ix), np.zeros_like(ix)
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    d = ix - lo
    sign = np.where(d < 0, -1.0, 1.0).astype(ix.dtype)
    d = np.abs(d)
    extra = np.fmod(d, span)
    odd = np.fmod(np.floor(d / span), 2) == 1
    out = np.where(odd, span - extra + lo, extra + lo).astype(ix.dtype)
    return out, np.where(odd, -sign, sign)


def _source_index(coord: np.ndarray, size: int, padding: str, align: bool):
    """(pixel coordinate, d pixel / d coord) for normalised ``coord`` along a ``size`` axis."""
    if align:
        ix = (coord + 1) / 2 * (size - 1)
        mult = np.full_like(coord, (size - 1) / 2)
    else:
        ix = ((coord + 1) * size - 1) / 2
        mult = np.full_like(coord, size / 2)
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
    v = np.where(np.isfinite(v), v, -1)
    return np.clip(v, -1, size).astype(np.int64)


_A = -0.75  # PyTorch's bicubic convolution coefficient


def _bilinear_weights(ix, iy, x0f, y0f) -> list:
    """(w, dw/dix, dw/diy) of the four corners nw, ne, sw, se, written as PyTorch does
    (``(ix_se - ix) * (iy_se - iy)`` ...); ``ix``/``iy`` are arrays or Tensors."""
    a, b = (x0f + 1) - ix, ix - x0f
    c, d = (y0f + 1) - iy, iy - y0f
    return [(a * c, -c, -a), (b * c, c, -b), (a * d, -d, a), (b * d, d, b)]


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


def _bicubic_weights(ix, iy, x0f, y0f) -> list:
    """(w, dw/dix, dw/diy) of the 16 corners (row j, column i), row-major."""
    wx, dwx = _cubic(ix - x0f)
    wy, dwy = _cubic(iy - y0f)
    return [(wx[i] * wy[j], dwx[i] * wy[j], wx[i] * dwy[j]) for j in range(4) for i in range(4)]


def _pad_position(pos: np.ndarray, size: int, padding: str, align: bool) -> np.ndarray:
    """PyTorch's ``compute_coordinates`` on a bicubic tap position (no slope needed)."""
    if padding == "border":
        return np.clip(pos, 0, size - 1)
    if padding == "reflection":
        pos = _reflect(pos, 0, 2 * (size - 1))[0] if align else _reflect(pos, -1, 2 * size - 1)[0]
        return np.clip(pos, 0, size - 1)
    return pos


class _Plan:
    """The taps of every output point, computed once from the grid in the forward.

    ``idx``: flat pixel index per tap (N, P); ``mask``: tap in bounds; ``w``: weight x mask;
    ``dx`` / ``dy``: d weight / d ix, d iy (masked; None for nearest); ``mx`` / ``my``:
    d ix / d grid_x, d iy / d grid_y; ``ix``/``iy``: the pixel coordinates and
    ``x0f``/``y0f`` their floors, from which :meth:`weights` rebuilds the weights."""

    def __init__(self, grid: np.ndarray, h: int, w: int, mode: str, padding: str, align: bool):
        n = grid.shape[0]
        g = grid.reshape(n, grid.shape[1] * grid.shape[2], 2)
        # bicubic pads the tap positions, not the coordinate (as PyTorch)
        coord_padding = "zeros" if mode == "bicubic" else padding
        ix, self.mx = _source_index(g[..., 0], w, coord_padding, align)
        iy, self.my = _source_index(g[..., 1], h, coord_padding, align)
        self.ix, self.iy = ix, iy
        self.mode = mode
        if mode == "nearest":
            taps = [(np.rint(ix), np.rint(iy))]
            weights = [(None, None, None)]
        else:
            self.x0f, self.y0f = x0f, y0f = np.floor(ix), np.floor(iy)
            if mode == "bilinear":
                taps = [(x0f, y0f), (x0f + 1, y0f), (x0f, y0f + 1), (x0f + 1, y0f + 1)]
            else:
                taps = [
                    (
                        _pad_position(x0f + (i - 1), w, padding, align),
                        _pad_position(y0f + (j - 1), h, padding, align),
                    )
                    for j in range(4)
                    for i in range(4)
                ]
            weights = self.weights(ix, iy)
        self.idx, self.w, self.dx, self.dy, self.mask = [], [], [], [], []
        for (xf, yf), (wt, dxw, dyw) in zip(taps, weights):
            xs, ys = _safe_int(xf, w), _safe_int(yf, h)
            inb = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
            mask = inb.astype(grid.dtype)
            self.idx.append(np.where(inb, ys * w + xs, 0))
            self.mask.append(mask)
            self.w.append(mask if wt is None else np.where(inb, wt, 0).astype(grid.dtype))
            self.dx.append(None if dxw is None else np.where(inb, dxw, 0).astype(grid.dtype))
            self.dy.append(None if dyw is None else np.where(inb, dyw, 0).astype(grid.dtype))

    def weights(self, ix, iy) -> list:
        """(w, dw/dix, dw/diy) per tap for pixel coordinates ``ix``, ``iy`` (arrays, or Tensors
        equal to the plan's coordinates: the differentiable path), without the masks."""
        fn = _bilinear_weights if self.mode == "bilinear" else _bicubic_weights
        return fn(ix, iy, self.x0f, self.y0f)

    def sample(self, x: np.ndarray) -> np.ndarray:
        """Σ_k x[corner_k] w_k as (N, C, P) for x of shape (N, C, H, W)."""
        n, c = x.shape[:2]
        xf = x.reshape(n, c, x.shape[2] * x.shape[3])
        out = np.zeros((n, c, self.idx[0].shape[1]), x.dtype)
        if xf.shape[2] == 0 or out.size == 0:
            return out
        for idx, wt in zip(self.idx, self.w):
            out += np.take_along_axis(xf, idx[:, None, :], axis=2) * wt[:, None, :]
        return out

    def coord_derivs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(d out / d ix, d out / d iy) as (N, C, P) arrays (bilinear and bicubic)."""
        n, c = x.shape[:2]
        xf = x.reshape(n, c, x.shape[2] * x.shape[3])
        p = self.idx[0].shape[1]
        ox, oy = np.zeros((n, c, p), x.dtype), np.zeros((n, c, p), x.dtype)
        for idx, dx, dy in zip(self.idx, self.dx, self.dy):
            v = np.take_along_axis(xf, idx[:, None, :], axis=2)
            ox += v * dx[:, None, :]
            oy += v * dy[:, None, :]
        return ox, oy

    def scatter(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        """The adjoint of :meth:`sample`: g (N, C, P) scattered into ``shape`` (N, C, H, W)."""
        n, c, h, w = shape
        hw = h * w
        if g.size == 0 or hw == 0:
            return np.zeros(shape, g.dtype)
        base = (np.arange(n * c, dtype=np.int64) * hw).reshape(n, c, 1)
        targets = np.concatenate([(base + idx[:, None, :]).reshape(-1) for idx in self.idx])
        weights = np.concatenate([(g * wt[:, None, :]).reshape(-1) for wt in self.w])
        out = np.bincount(targets, weights=weights, minlength=n * c * hw)
        return out.astype(g.dtype, copy=False).reshape(shape)


class GridSample2dFn(Function):
    """out[n, c, i, j] = input[n, c] sampled at grid[n, i, j] = (x, y) (4-d input)."""

    raw = True
    node_name = "GridSampler2DBackward0"

    @staticmethod
    def forward(ctx, x, grid, mode, padding_mode, align_corners):
        n, c, h, w = x.shape
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite grid points read 0
            plan = _Plan(grid, h, w, mode, padding_mode, align_corners)
        ctx.plan, ctx.in_shape = plan, x.shape
        ctx.save_for_backward(x, grid)
        return plan.sample(x).reshape(n, c, grid.shape[1], grid.shape[2])

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
            gg = np.zeros(grid.shape, grid.dtype)
            if plan.mode != "nearest":
                ox, oy = plan.coord_derivs(x._data)
                gg[..., 0] = ((g * ox).sum(1) * plan.mx).reshape(grid.shape[:-1])
                gg[..., 1] = ((g * oy).sum(1) * plan.my).reshape(grid.shape[:-1])
            gg = Tensor._make(gg, False, None, 0)
        return gx, gg, None, None, None

    @staticmethod
    def jvp(ctx, tx, tg, *_):
        plan = ctx.plan
        x = ctx.primals[0]
        x = x._data if isinstance(x, Tensor) else x
        n, c = x.shape[:2]
        out_shape = ctx.out.shape
        out = np.zeros((n, c, plan.idx[0].shape[1]), x.dtype)
        if tx is not None:
            out += plan.sample(tx)
        if tg is not None and plan.mode != "nearest":
            ox, oy = plan.coord_derivs(x)
            tgf = tg.reshape(n, 1, plan.idx[0].shape[1], 2)
            out += ox * (tgf[..., 0] * plan.mx[:, None, :]) + oy * (
                tgf[..., 1] * plan.my[:, None, :]
            )
        return out.reshape(out_shape)


def _backward_tensors(plan: _Plan, x: Tensor, grid: Tensor, grad: Tensor, needs) -> tuple:
    """The backward of :class:`GridSample2dFn` as differentiable Tensor ops (create_graph).

    The weights are rebuilt from the grid Tensor through ``ix = m g + a`` (``a`` the constant
    offset of the plan's piecewise-linear map), so their derivatives in the grid are exact."""
    n, c, h, w = x.shape
    p = plan.idx[0].shape[1]
    g = grad.reshape(n, c, p)
    xf = x.reshape(n, c, h * w)
    idx = [np.ascontiguousarray(np.broadcast_to(i[:, None, :], (n, c, p))) for i in plan.idx]
    if plan.mode != "nearest":
        gflat = grid.reshape(n, p, 2)
        # ix as a Tensor: slope m times the grid, plus the constant that makes it equal the
        # plan's value (ix - m g), so that d ix / d g = m exactly.
        gd = grid._data.reshape(n, p, 2)
        ix = gflat[..., 0] * plan.mx + (plan.ix - plan.mx * gd[..., 0])
        iy = gflat[..., 1] * plan.my + (plan.iy - plan.my * gd[..., 1])
        wts = plan.weights(ix, iy)
        ws = [wt * m for (wt, _, _), m in zip(wts, plan.mask)]
        dxs = [dx for _, dx, _ in wts]
        dys = [dy for _, _, dy in wts]
    else:
        ws = [Tensor._make(plan.w[0], False, None, 0)]
    gx = gg = None
    if needs[0]:
        gx = Tensor._make(np.zeros((n, c, h * w), x.dtype), False, None, 0)
        for i, wt in zip(idx, ws):
            gx = scatter_add(gx, 2, i, g * wt.reshape(n, 1, p))
        gx = gx.reshape(x.shape)
    if needs[1]:
        if plan.mode != "nearest":
            ox = oy = None
            for i, dx, dy, m in zip(idx, dxs, dys, plan.mask):
                v = gather(xf, 2, i) * g  # (N, C, P)
                sx = v * (dx * m).reshape(n, 1, p)
                sy = v * (dy * m).reshape(n, 1, p)
                ox = sx if ox is None else ox + sx
                oy = sy if oy is None else oy + sy
            gg = stack([ox.sum(1) * plan.mx, oy.sum(1) * plan.my], -1).reshape(grid.shape)
        else:
            gg = Tensor._make(np.zeros(grid.shape, grid.dtype), False, None, 0)
    return gx, gg
