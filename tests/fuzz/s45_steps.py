"""Step kinds for :mod:`tests.fuzz.programs`, session 45: ops at their singular points, where
first and second derivatives are defined by convention (``singular2``: norms, distances,
``normalize``, ``atan2`` / ``hypot``, ``std`` of constant lines, ``logsumexp`` of ``-inf``
lines, ``abs`` / ``sqrt`` / fractional powers at 0, ``renorm`` at its bound), ``prod`` /
``cumprod`` with zeros and infinities in one slice (``prod_edge``, PyTorch's zero-safe
backward mirrored in session 45), ``scaled_dot_product_attention`` with ``enable_gqa``,
masks that cover whole rows and ``is_causal`` with more keys than queries (``sdpa_gqa``),
the Bessel functions of ``torch.special`` at 0, negatives, infinities and NaN
(``bessel_edge``) and ``conv_transpose3d`` with groups, output padding and dilation
(``conv_t3d``).

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

from .nn_step_parts import _filled

__all__ = ["S45", "s45_step"]

S45 = ("singular2", "prod_edge", "sdpa_gqa", "bessel_edge", "conv_t3d")

_INF = float("inf")


def _float(lib: Any, x: Any) -> Any:
    x = x.real if x.is_complex() else x
    return x if x.is_floating_point() else x.double()


def _holes(lib: Any, t: Any, ints: tuple, fill: float = 0.0) -> Any:
    """``t`` (2-d) with a whole row (``ints[2]`` odd) or a few entries set to ``fill``
    (differentiable in the rest: masked_fill)."""
    rows, cols = t.shape
    if ints[2] % 2:
        mask = (lib.arange(rows) == ints[3] % rows).reshape(rows, 1).expand(rows, cols)
    else:
        mask = (lib.arange(rows * cols) % (2 + ints[3] % 3) == 0).reshape(rows, cols)
    return t.masked_fill(mask, fill)


def _singular2(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """An op whose derivative at the holes (zeros, or ``-inf`` for logsumexp) is a
    convention; the programs with ``double`` take its second derivative there too."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    f = ints[4] % 14
    a = _holes(lib, _filled(lib, v, (3, 2 + ints[1] % 3)), ints)
    if f in (2, 3):
        # finite points for cdist / pdist: an inf - inf coordinate makes a NaN distance,
        # whose gradient torch's kernel spreads as NaN over the pair (its zero-difference
        # coordinates too) where chainrule's keeps 0 there (core seed 1007, xfail in
        # test_found_cases_s45_b.py)
        a = lib.where(a.isfinite(), a, 3.0)
    b = _filled(lib, o, tuple(a.shape))
    b = lib.where(a == 0, a, b)  # b equals a where a has a hole: zero differences there
    d = ints[0] % 2
    if f == 0:
        p = (2.0, 1.0, _INF, 0.5, 3.0, 1.5, -1.0)[ints[1] % 7]
        return lib.linalg.vector_norm(a, ord=p, dim=d if ints[3] % 2 else None)
    if f == 1:
        return lib.nn.functional.normalize(a, p=(2.0, 1.0, 3.0)[ints[1] % 3], dim=d)
    if f == 2:
        # no p = inf: with tied largest differences torch's cdist / pdist give each tie the
        # full gradient, chainrule's share it (a documented deliberate difference, ops/
        # distance.py's cdist, as vector_norm's ord=inf, where torch shares too)
        return lib.cdist(a, b, p=(2.0, 1.0, 3.0, 0.5)[ints[1] % 4])
    if f == 3:
        return lib.pdist(lib.cat([a, a[:1]], 0), p=(2.0, 1.0, 3.0)[ints[1] % 3])
    if f == 4:
        return lib.atan2(a, a * val)  # (0, 0) at the holes
    if f == 5:
        return lib.hypot(a, a * val)
    if f == 6:
        c = a.detach().round() + (a - a.detach())  # constant lines: std 0
        return c.std(d, correction=ints[1] % 2) if ints[3] % 2 else lib.std_mean(c, d)[0]
    if f == 7:
        m = _holes(lib, _filled(lib, v, tuple(a.shape)), ints, -_INF)
        return lib.logsumexp(m, d)
    if f == 8:
        return a.abs() * val
    if f == 9:
        return a.abs().sqrt()
    if f == 10:
        return a.abs().pow((1.5, 0.5, 2.5, 3.0)[ints[1] % 4])
    if f == 11:
        return lib.nn.functional.cosine_similarity(a, b, dim=d)
    if f == 12:
        return lib.dist(a, b, p=(2.0, 1.0, 0.5, 3.0, _INF)[ints[1] % 5])
    return lib.renorm(a, (2.0, 1.0)[ints[1] % 2], d, 0.5 + ints[3] % 2)


def _prod_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """prod / cumprod over slices holding zeros and +-inf together (PyTorch's zero-safe
    backward: its first and second derivatives at inf differ from the textbook's)."""
    v = _float(lib, x)
    n = 2 + ints[1] % 3
    t = _filled(lib, v, (2, n))
    idx = lib.arange(2 * n).reshape(2, n)
    t = t.masked_fill(idx % (2 + ints[2] % 3) == 0, 0.0)
    t = t.masked_fill(idx % (3 + ints[3] % 2) == 1, (_INF, -_INF)[ints[3] % 2])
    d = ints[0] % 2
    f = ints[4] % 4
    if f == 0:
        return t.prod(d, keepdim=bool(ints[2] % 2))
    if f == 1:
        return t.prod() * val
    if f == 2:
        return t.cumprod(d)
    return t.reshape(-1).cumprod(0)


def _sdpa_gqa(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """scaled_dot_product_attention with grouped keys (enable_gqa), a bool mask covering
    whole rows (NaN rows in both), a float mask with -inf, is_causal with L != S."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    # finite q, k, v: with +-inf in them the NaN pattern of the tangent follows each
    # library's arithmetic order (torch's NaN in every column, chainrule's not in the
    # first; core seed 1003), not a rule
    v, o = lib.nan_to_num(v, 0.0, 3.0, -3.0), lib.nan_to_num(o, 0.0, 3.0, -3.0)
    hq, hk = ((2, 1), (4, 2), (2, 2))[ints[1] % 3]
    length, keys = 2 + ints[2] % 2, 2 + ints[3] % 3
    q = _filled(lib, v, (1, hq, length, 3)) * 0.5
    k = _filled(lib, o, (1, hk, keys, 3)).flip(-1)
    w = _filled(lib, v, (1, hk, keys, 2))
    F = lib.nn.functional
    f = ints[4] % 4
    gqa = hq != hk
    if f == 0:
        return F.scaled_dot_product_attention(q, k, w, enable_gqa=gqa)
    if f == 1:
        m = (lib.arange(length * keys).reshape(length, keys) % 3) != 0
        m = m & (lib.arange(length).reshape(length, 1) != 0)  # row 0: all masked
        return F.scaled_dot_product_attention(q, k, w, attn_mask=m, enable_gqa=gqa)
    if f == 2:
        m = lib.zeros(length, keys, dtype=v.dtype).masked_fill(
            (lib.arange(length * keys).reshape(length, keys) % 2) == 1, -_INF
        )
        return F.scaled_dot_product_attention(q, k, w, attn_mask=m, scale=val, enable_gqa=gqa)
    return F.scaled_dot_product_attention(q, k, w, is_causal=True, enable_gqa=gqa)


_BESSEL = (
    "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
)  # fmt: skip
_EDGES = (0.0, -0.0, -1.5, _INF, -_INF, float("nan"), 40.0, -40.0, 1e-300, 700.0)


def _bessel_edge(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """A Bessel function of ``torch.special`` at edge values (no derivative in torch).
    Only the edges: torch's ``bessel_j0/j1/y0/y1`` are single-precision approximations
    (relative error 1e-8 at 4.6, 1.6e-5 for ``y1(5.5)``), chainrule's agree with mpmath
    (tests/test_special.py), so the slot's values (random) are not fed in."""
    v = _float(lib, x)
    name = _BESSEL[(ints[4] + 3 * ints[1]) % len(_BESSEL)]
    edges = lib.tensor(_EDGES, dtype=v.dtype)
    out = getattr(lib.special, name)(edges.roll(ints[3] % len(_EDGES)))
    # NaN and +-inf as sentinels (7, 8, -8: no Bessel value at these edges) and huge values
    # squashed by asinh, so that later steps see moderate finite numbers: their NaN and
    # overflow patterns (group_norm, sdpa, logcumsumexp of a NaN or 1e302: core seed 1004)
    # are each library's arithmetic order, not a rule. The step's own values still compare
    out = lib.nan_to_num(out, 7.0, 8.0, -8.0).asinh()
    return out.reshape(2, -1) if ints[0] % 2 else out


def _conv_t3d(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """conv_transpose3d with groups, stride, output padding (below stride or dilation),
    dilation and a bias."""
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    groups = 1 + ints[1] % 2
    cin, cout = 2, 2 * groups
    # finite operands: with +-inf in them the NaN pattern of the tangent follows each
    # library's algorithm (torch's GEMM + col2im meets 0 * inf where chainrule's does not;
    # the values agree), not a rule
    v, o = lib.nan_to_num(v, 0.0, 3.0, -3.0), lib.nan_to_num(o, 0.0, 3.0, -3.0)
    # in float64: torch's float32 convolutions (oneDNN) drop a NaN of the second-order
    # gradient that its float64 ones and chainrule's keep (a seed-998 program: 0 vs NaN)
    back, v, o = v.dtype, v.double(), o.double()
    pad = ints[0] % 2
    # no output size of 0 (a last dim of 1 with padding 1): torch refuses it with groups=1
    # ("Output size is too small") and returns an empty tensor with groups=2 (its grouped
    # path skips the check); chainrule refuses both
    inp = _filled(lib, v, (1, cin, 2, 2, 1 + pad + ints[2] % 2))
    wt = _filled(lib, o, (cin, cout // groups, 2, 1, 2)) * 0.5
    bias = _filled(lib, v, (cout,)) if ints[3] % 2 else None
    stride = (1 + ints[2] % 2, 2, 1)
    dil = (1, 1 + ints[3] % 2, 1)
    out_pad = (ints[4] % 2 if stride[0] > 1 else 0, 1, 0)
    F = lib.nn.functional
    return F.conv_transpose3d(inp, wt, bias, stride, pad, out_pad, groups, dil).to(back)


def s45_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One step of kind ``kind`` on ``x`` (``other``: another slot; ``third`` unused)."""
    fn = {
        "singular2": _singular2, "prod_edge": _prod_edge, "sdpa_gqa": _sdpa_gqa,
        "bessel_edge": _bessel_edge, "conv_t3d": _conv_t3d,
    }[kind]  # fmt: skip
    return fn(lib, x, other, ints, val)
