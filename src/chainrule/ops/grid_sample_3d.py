"""3-d (volumetric) grid sampling, trilinear or nearest: the derivative rule behind
``F.grid_sample`` on 5-d input.

input (N, C, D, H, W) is sampled at grid (N, D_out, H_out, W_out, 3), whose last dim holds
(x, y, z) in [-1, 1] addressing (W, H, D), as PyTorch. Each coordinate goes through the same
map (align_corners, padding ``zeros`` / ``border`` / ``reflection``) as in 2-d (but with
``(g + 1) * W - 1`` rounded twice, not fused, as PyTorch's 3-d CPU kernel rounds it), giving
pixel coordinates (ix, iy, iz) with slopes (m_x, m_y, m_z) = d(ix, iy, iz) / d grid.

* ``bilinear`` (trilinear): the 8 corners of the voxel cell, tnw = (x0, y0, z0), tne,
  tsw, tse, bnw, ... (x fastest, as PyTorch), each weighted by the product of
  (x0 + 1 - ix) or (ix - x0) over the three axes; out-of-bounds corners read 0.
  d out / d grid_x = Σ_corners value · ±(w_y · w_z) · m_x, and likewise for y and z.
* ``nearest``: the voxel at the coordinates rounded half to even; grid gradient 0.
* Double backward through the Tensor form of the backward (PyTorch supports it too); forward
  mode through ``jvp`` (PyTorch 2.13 has no forward-mode rule for ``grid_sampler_3d``).

Everything but the node name is the 2-d machinery of ``grid_sample.py``: its plan is
written for k spatial axes (k = 2 or 3), so the taps, the scatter of the input gradient
and the grid gradient are computed the same way.
"""

from __future__ import annotations

from .grid_sample import _GridSampleFn

__all__ = ["GridSample3dFn"]


class GridSample3dFn(_GridSampleFn):
    """out[n, c, d, i, j] = input[n, c] sampled at grid[n, d, i, j] = (x, y, z) (5-d input;
    mode 'bilinear' or 'nearest')."""

    node_name = "GridSampler3DBackward0"
