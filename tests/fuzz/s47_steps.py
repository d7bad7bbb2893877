"""Step kinds for :mod:`tests.fuzz.programs`, session 47: the ``nn.functional`` samplers and
gathers at their edges, where the earlier tables draw them on plain data: ``interpolate``
(every mode, ``align_corners``, scales) over infinities and NaN (``interp_edge``),
``grid_sample`` / ``affine_grid`` with grid points on and past the borders, non-finite grid
points and 3-d grids (``grid_edge``), ``unfold`` / ``fold`` with dilation, padding and strides
whose windows overlap or skip (``fold_edge``), ``embedding_bag`` with empty bags, a
``padding_idx`` filling a bag and ``include_last_offset`` (``bag_edge``), ``ctc_loss`` with
empty and impossible targets and ``zero_infinity`` (``ctc_edge``), ``pdist`` with repeated
rows and every ``p`` (``pdist_edge``), ``F.pad`` with negative (cropping) pads in every mode
(``pad_edge``), ``nll_loss`` / ``cross_entropy`` with zero class weights, every target
ignored and K-d inputs (``nll_edge``), ``det`` / ``slogdet`` / ``solve`` / ``qr`` / ``pinv``
of exactly singular or ill-conditioned matrices (``linalg_ill``) and ``polar`` /
``view_as_real`` / ``view_as_complex`` / ``sgn`` / ``angle`` at 0 and infinities
(``complex_edge``).

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .nn_step_parts import _filled, _spread

__all__ = ["S47", "s47_step"]

S47 = ("interp_edge", "grid_edge", "fold_edge", "bag_edge", "ctc_edge", "pdist_edge",
       "pad_edge", "nll_edge", "linalg_ill", "complex_edge")  # fmt: skip

_INF, _NAN = float("inf"), float("nan")


def _float(lib: Any, x: Any) -> Any:
    x = x.real if x.is_complex() else x
    return x if x.is_floating_point() else x.double()


def _finite(lib: Any, t: Any) -> Any:
    return lib.nan_to_num(t, 0.0, 3.0, -3.0)


def _holes(lib: Any, t: Any, every: int, value: float) -> Any:
    """``t`` with every ``every``-th element (flat order) set to ``value``."""
    n = t.numel()
    return t.masked_fill((lib.arange(n) % every == every - 1).reshape(tuple(t.shape)), value)


def _interp_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``interpolate`` of inputs holding +-inf / NaN, every mode, ``align_corners``."""
    v = _float(lib, x)
    F = lib.nn.functional
    g = ints[4] % 6
    mode = ("linear", "bilinear", "bicubic", "trilinear", "nearest", "area")[g]
    rank = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(mode, 1 + ints[3] % 2)
    shape = (1, 1 + ints[3] % 2) + (2, 3, 2)[:rank]
    inp = _filled(lib, v, shape)
    fill = (_INF, -_INF, _NAN, 1e300)[ints[1] % 4]
    inp = _holes(lib, inp, 2 + ints[2] % 3, fill)
    align = bool(ints[0] % 2) if mode not in ("nearest", "area") else None
    if ints[2] % 2:
        size = tuple(1 + (n + ints[0]) % 4 for n in shape[2:])
        return F.interpolate(inp, size=size, mode=mode, align_corners=align)
    scale = (2.0, 0.5, 1.5, 0.75)[ints[0] // 2 % 4]
    return F.interpolate(inp, scale_factor=scale, mode=mode, align_corners=align)


def _grid_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``grid_sample`` at grid points on the borders (+-1), past them, non-finite, 2-d and
    3-d, every mode and padding mode."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    F = lib.nn.functional
    three = ints[3] % 3 == 2
    mode = ("bilinear", "nearest", "bicubic")[ints[4] % 3]
    if three and mode == "bicubic":
        mode = "bilinear"  # (no bicubic 5-d sampling: both refuse, drawn once is enough)
    pad = ("zeros", "border", "reflection")[ints[1] % 3]
    align = bool(ints[0] % 2)
    inp = _spread(lib, _filled(lib, v, (1, 1, 2, 3, 2) if three else (1, 1 + ints[2] % 2, 3, 2)))
    gshape = (1, 2, 1, 2, 3) if three else (1, 2, 2, 2)
    grid = _filled(lib, o, gshape).tanh() * (1.0, 1.5, 3.0)[ints[2] % 3]
    edge = (1.0, -1.0, 0.0, 2.5)[ints[3] % 4]
    grid = _holes(lib, grid, 3, edge)  # exactly on the borders, the middle, past them
    if ints[0] // 2 % 3 == 1 and mode != "nearest":
        # a non-finite grid point, with "zeros" padding (NaN or +-inf) or bilinear "border"
        # (+-inf, clipped to the edge): not NaN with "border" nor any with "reflection", where
        # torch's kernels index memory with the NaN cast to an integer (a segmentation fault
        # with "border", values of whatever memory otherwise), nor with "nearest" (the same
        # undefined cast); core seeds 1020-1021. The grid is detached there: torch's second
        # derivatives at such points are its double-backward kernel's NaN pattern, not a
        # rule (the first-order ones are pinned in test_found_cases_s47.py; seed 1023)
        if pad == "zeros":
            grid = _holes(lib, grid, 4, (_INF, -_INF, _NAN)[ints[2] % 3]).detach()
        elif pad == "border" and mode == "bilinear":
            grid = _holes(lib, grid, 4, (_INF, -_INF)[ints[2] % 2]).detach()
    out = F.grid_sample(inp, grid, mode=mode, padding_mode=pad, align_corners=align)
    return out * val


def _fold_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``unfold`` then ``fold`` (or ``fold`` alone) with dilation, padding and strides that
    make windows overlap (sums in ``fold``) or skip elements."""
    v = _float(lib, x)
    F = lib.nn.functional
    k = (1 + ints[1] % 2, 1 + ints[2] % 3)
    dil = (1 + ints[3] % 2, 1)
    pad = (ints[0] % 2, ints[4] % 2)
    stride = (1 + ints[4] // 2 % 2, 1 + ints[0] // 2 % 3)
    size = (3, 4)
    inp = _filled(lib, v, (1 + ints[3] // 2 % 2, 2, *size))
    if ints[4] // 4 % 2:
        cols = F.unfold(inp, k, dilation=dil, padding=pad, stride=stride)
        return F.fold(cols * val, size, k, dilation=dil, padding=pad, stride=stride)
    n_blocks = 1
    for i in range(2):
        n_blocks *= (size[i] + 2 * pad[i] - dil[i] * (k[i] - 1) - 1) // stride[i] + 1
    cols = _filled(lib, v, (2 * k[0] * k[1], n_blocks))  # unbatched (C * prod(k), L)
    return F.fold(cols, size, k, dilation=dil, padding=pad, stride=stride)


def _bag_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``embedding_bag`` with empty bags (repeated offsets), a bag of ``padding_idx`` only,
    ``include_last_offset`` and per-sample weights."""
    w = _spread(lib, _float(lib, x))
    weight = _filled(lib, w, (4, 1 + ints[3] % 2))
    F = lib.nn.functional
    mode = ("sum", "mean", "max")[ints[4] % 3]
    idx = lib.tensor([1, 2, 2, 0, 3, 1][: 4 + ints[1] % 3])
    n = idx.shape[0]
    offs = ([0, 0, 2, n] if ints[2] % 2 else [0, 2, 2, 3])[: 3 + ints[0] % 2]
    last = len(offs) == 4 and offs[-1] == n and bool(ints[0] // 2 % 2)
    pad = (None, 2, 1)[ints[3] // 2 % 3]
    psw = None
    if mode == "sum" and ints[1] // 3 % 2:
        psw = _filled(lib, _float(lib, other).to(weight.dtype), (n,))
    return F.embedding_bag(idx, weight, lib.tensor(offs), mode=mode, per_sample_weights=psw,
                           include_last_offset=last, padding_idx=pad)  # fmt: skip


def _ctc_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``ctc_loss`` with empty targets, targets too long for the input (an infinite loss, or
    0 with ``zero_infinity``), repeated labels (which need a blank between them), every
    reduction, batched and unbatched."""
    v = _finite(lib, _float(lib, x))
    F = lib.nn.functional
    t_len, c = 3 + ints[1] % 2, 3
    lp = _filled(lib, v, (t_len, 2, c)).log_softmax(-1)
    targets = [[1, 1, 2], [2, 1, 2], [1, 2, 1]][ints[2] % 3]
    tl = [(0, 2, 3)[ints[3] % 3], (3, 1, 0)[ints[0] % 3]]
    if ints[4] % 4 == 3:
        tl = [3, 3]  # "1 1 2" needs 4 steps: infinite with t_len 3
    reduction = ("mean", "sum", "none")[ints[4] % 3]
    zinf = bool(ints[0] // 3 % 2)
    tgt = lib.tensor([targets, targets])
    il = lib.tensor([t_len, t_len - ints[2] // 3 % 2])
    if ints[1] // 2 % 3 == 2:  # unbatched: (T, C) with 1-d targets
        return F.ctc_loss(lp[:, 0], tgt[0, : tl[0]], lib.tensor(t_len), lib.tensor(tl[0]),
                          reduction=reduction, zero_infinity=zinf)  # fmt: skip
    return F.ctc_loss(lp, tgt, il, lib.tensor(tl), reduction=reduction, zero_infinity=zinf)


def _pdist_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``pdist`` with repeated rows (zero distances), one row (no pairs), every ``p``."""
    v = _finite(lib, _float(lib, x))
    n, c = 1 + ints[1] % 4, 1 + ints[2] % 3
    rows = _filled(lib, v, (n, c))
    if ints[3] % 2 and n > 1:
        rows = lib.cat([rows[:1], rows[:-1]])  # the first row twice: a zero distance
    # no p = inf: repeated elements tie the largest |difference|, where torch gives each tie
    # the full gradient and chainrule shares it (the documented difference of s46_steps'
    # cdist_inf)
    p = (2.0, 1.0, 0.0, 3.0, 0.5, 1.5)[ints[4] % 6]
    return lib.pdist(rows, p=p)


def _pad_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``F.pad`` with negative (cropping) pads, zero pads and a pad as large as reflect and
    circular allow, every mode, on 1-d, 2-d and 3-d spatial dims."""
    v = _float(lib, x)
    F = lib.nn.functional
    mode = ("constant", "reflect", "replicate", "circular")[ints[4] % 4]
    rank = 1 + ints[3] % 3
    inp = _filled(lib, v, (1, 1) + (3, 2, 3)[:rank])
    pads = []
    for d in range(rank):
        size = tuple(inp.shape)[-1 - d]
        lo = (-1, 0, 1, size - 1)[(ints[1] + d) % 4]
        hi = (1, -1, 0, size - 1)[(ints[2] + d) % 4]
        if mode == "reflect" and rank == 3 and size + lo + hi <= 0:
            # no 3-d reflection pad to an empty dim: torch 2.13's reflection_pad3d backward
            # then returns uninitialized memory as the gradient (a torch bug; chainrule's is
            # zeros; core seed 1023)
            hi = 0
        pads += [lo, hi]
    if mode == "constant":
        return F.pad(inp, pads, value=(val, _INF)[ints[0] % 2])
    return F.pad(inp, pads, mode=mode)


def _nll_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``nll_loss`` / ``cross_entropy`` with zero class weights, every target ignored (a
    0 / 0 mean: NaN), K-d inputs and label smoothing."""
    v = _finite(lib, _float(lib, x))
    o = _finite(lib, _float(lib, other)).to(v.dtype)
    F = lib.nn.functional
    c = 3
    kd = ints[3] % 3 == 2
    inp = _filled(lib, v, (2, c, 2) if kd else (2 + ints[1] % 2, c))
    n = inp.shape[0]
    tgt = [(i + ints[2]) % c for i in range(n * (2 if kd else 1))]
    ignore = (-100, 1, tgt[0])[ints[0] % 3]
    if ints[4] % 5 == 4:
        ignore, tgt = 2, [2] * len(tgt)  # every target ignored
    tgt = lib.tensor(tgt).reshape((n, 2) if kd else (n,))
    weight = None
    if ints[1] // 2 % 2:
        weight = lib.tensor([0.0, 1.5, 0.5], dtype=v.dtype)
        if ints[2] % 4 == 3:  # a weight that requires grad with the slot: torch refuses it
            weight = o.reshape(-1)[:1].abs() * 0.0 + weight
    reduction = ("mean", "sum", "none")[ints[4] % 3]
    if ints[3] // 3 % 2:
        smooth = (0.0, 0.2)[ints[2] // 2 % 2]
        out = F.cross_entropy(inp, tgt, weight, ignore_index=ignore, reduction=reduction,
                              label_smoothing=smooth)  # fmt: skip
    else:
        out = F.nll_loss(inp.log_softmax(1), tgt, weight, ignore_index=ignore, reduction=reduction)
    if ints[4] % 5 == 4 and reduction == "mean":
        # every target ignored, 'mean': 0 / 0, NaN. Detached: torch's double backward there
        # is nll_loss(ggI) / total weight 0, NaN second derivatives where chainrule's are 0
        # (a difference left, the report; core seed 1024)
        out = out.detach()
    return out


def _linalg_ill(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``det`` / ``slogdet`` / ``solve`` / ``qr`` / ``pinv`` / ``matrix_rank`` of exactly
    singular matrices (a repeated row, a zero row: integer-valued, so that the singularity is
    exact in both libraries) and of mildly ill-conditioned ones (condition ~1e2)."""
    v = _finite(lib, _float(lib, x))
    n = 2 + ints[1] % 2
    base = lib.tensor(np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])[:n, :n])
    base = base.to(v.dtype)
    g = ints[2] % 3
    if g == 0:
        base = lib.cat([base[:1], base[:1], base[2:]])  # a repeated row
    elif g == 1:
        base = base * (lib.arange(n) != n - 1).to(v.dtype).reshape(n, 1)  # a zero row
    else:
        # mildly ill-conditioned (condition ~1e2), in float64 only: a pinv's gradient
        # multiplies rounding by the condition squared (1e4 gave float64 gradients 1e-9
        # apart, core seed 1028; float32 tangents 1e-3 apart, seed 1024)
        base, v = base.double(), v.double()
        base = base * lib.tensor([1.0, 1e-1, 1e-2][:n], dtype=v.dtype).reshape(n, 1)
    # the slot enters as a tiny-free additive 0 * (x - x.detach()): its gradient flows, the
    # values (and the exact singularity) stay
    link = _filled(lib, v, (n, n))
    a = base + (link - link.detach())
    f = ints[4] % 6
    if g < 2 and f in (0, 1, 3):
        # no gradient nor tangent of det / slogdet / qr at an exactly singular matrix: torch's
        # slogdet / qr ones are its LU / triangular solves' inf and NaN, where chainrule
        # raises (LinAlgError; the xfails of test_found_cases_s47.py; core seed 1020), and
        # torch 2.13's det gradient there is 0 where the cofactor matrix is not (a torch bug:
        # det is a polynomial; chainrule gives the cofactors; core seed 1021)
        a = a.detach()
    if f == 0:
        return lib.linalg.det(a) * val
    if f == 1:
        sign, logabs = lib.linalg.slogdet(a)
        return lib.stack([sign, logabs.clamp(-50.0, 50.0)])
    if f == 2:
        return lib.linalg.solve(a, _filled(lib, v, (n, 1)))
    if f == 3:
        q, r = lib.linalg.qr(a)
        return (q @ r) * val  # (q's signs are LAPACK's choice: compared through q r only)
    if f == 4:
        return lib.linalg.pinv(a, hermitian=False) @ a if g != 2 else lib.linalg.pinv(a)
    return lib.linalg.matrix_rank(a.detach()).to(v.dtype) + a.sum() * 0.0


def _complex_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """``polar`` with zero, negative and infinite magnitudes, ``view_as_real`` /
    ``view_as_complex`` round trips, ``sgn`` / ``angle`` /
    ``abs`` of complex zeros."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    n = 2 + ints[1] % 3
    mag = _filled(lib, v, (n,))
    mag = _holes(lib, mag, 2 + ints[2] % 2, (0.0, -1.0, _INF)[ints[3] % 3])
    ang = _finite(lib, _filled(lib, o, (n,)))
    f = ints[4] % 5
    if f == 0:
        return lib.view_as_real(lib.polar(mag.abs() if ints[0] % 2 else mag, ang))
    z = lib.complex(_finite(lib, mag), ang)
    z = _holes(lib, z, 2, 0.0)  # complex zeros
    if f == 1:
        return lib.view_as_real(z.sgn()) * val
    if f == 2:
        return lib.stack([z.angle(), z.abs()])
    if f == 3:
        # not view_as_real(z.conj()): torch refuses its lazy conjugate, chainrule has no lazy
        # conjugation (conj() is a copy; is_conj() is always False), a documented design
        return lib.view_as_complex(lib.view_as_real(z) * val)
    return lib.view_as_real(z * z.conj()).sum(-1)


def s47_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One step of kind ``kind`` on ``x`` (``other``: another slot)."""
    fn = {
        "interp_edge": _interp_edge, "grid_edge": _grid_edge, "fold_edge": _fold_edge,
        "bag_edge": _bag_edge, "ctc_edge": _ctc_edge, "pdist_edge": _pdist_edge,
        "pad_edge": _pad_edge, "nll_edge": _nll_edge, "linalg_ill": _linalg_ill,
        "complex_edge": _complex_edge,
    }[kind]  # fmt: skip
    out = fn(lib, x, other, ints, val)
    # NaN and +-inf as sentinels, so that later steps see finite numbers (as s46_steps)
    return lib.nan_to_num(out, 7.0, 8.0, -8.0) if out.is_floating_point() else out
