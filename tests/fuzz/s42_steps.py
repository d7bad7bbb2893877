"""Step kinds for :mod:`tests.fuzz.programs`, session 42: the in-place random fills and
random functions after ``manual_seed`` (chainrule's generator mirrors torch's CPU stream:
``uniform_``, ``normal_``, ``exponential_``, ``cauchy_``, ``geometric_``, ``log_normal_``,
``random_``, ``bernoulli``, ``*_like``, ``randperm``, ``multinomial``, ``normal`` with tensor
arguments, training dropout), the aliases and queries no other table calls (``arccos``,
``rad2deg``, ``greater_equal``, ``bitwise_or``/shifts, ``nextafter_``, ``arctan2_``,
``is_neg``, ``element_size``, ...), the storage methods (``set_``, ``resize_as_``,
``slice_inverse``, ``apply_``/``map_``/``map2_``, ``detach_``), fractional max pooling with
explicit or seeded samples, the sparse compressed constructors (``sparse_csr_tensor``,
``sparse_csc_tensor``, ``sparse_bsr_tensor``, ``sparse_compressed_tensor``, ``spmm``, the
``*_indices_copy`` functions), fake quantization (per tensor and per channel, its
straight-through gradient), ``linear_cross_entropy`` with its options and the randomized
low-rank factorizations (``svd_lowrank``, ``pca_lowrank``) read through invariants.

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

from .more_steps import _dim, near_zero
from .nn_step_parts import _filled

__all__ = ["S42", "s42_step"]

S42 = ("rng_fill", "alias_ops", "storage_ops", "frac_pool", "sparse_ctor", "fake_quant",
       "linear_ce", "lowrank")  # fmt: skip


def _float(lib: Any, x: Any) -> Any:
    x = x.real if x.is_complex() else x
    return x if x.is_floating_point() else x.double()


def _dual(lib: Any, t: Any) -> bool:
    """Whether ``t`` has a forward-mode tangent (the forward run of a program)."""
    return lib.autograd.forward_ad.unpack_dual(t).tangent is not None


def _rng_fill(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """A random fill of a fresh tensor (detached: the fills have no derivative) after
    ``manual_seed``, added to ``x`` so the slot's gradient still flows."""
    # contiguous: a fill (and *_like, dropout's mask) runs in memory order, and a LAPACK or
    # stft result slot is column-major in torch, row-major in chainrule (a known layout
    # gap; seeds 975, 977)
    v = _float(lib, x).contiguous()
    lib.manual_seed(ints[0] * 13 + ints[3])
    w = v.detach().clone()
    f = ints[4] % 12
    if f == 0:
        w.uniform_(-1.0, val)
    elif f == 1:
        w.normal_(val, 0.5)
    elif f == 2:
        w.exponential_(abs(val))
    elif f == 3:
        w.cauchy_(0.0, 0.5)
    elif f == 4:
        w.geometric_(0.25 + ints[2] % 3 * 0.25)
    elif f == 5:
        w.log_normal_(0.0, 0.25)
    elif f == 6:
        w = (w * 0).long() if ints[2] % 2 else w
        w.random_(ints[1] % 3, 5) if ints[3] % 2 else w.random_(7)
        return v + w
    elif f == 7:
        p = (v.detach().tanh() * 0.5 + 0.5).clamp(0, 1)
        return v * (lib.bernoulli(p) if ints[2] % 2 else w.bernoulli_(0.25 * (1 + ints[3] % 3)))
    elif f == 8:
        like = (lib.rand_like, lib.randn_like)[ints[2] % 2](v)
        return v * like + lib.randint_like(v, 3, 9 + ints[3] % 3)
    elif f == 9:
        n = 1 + ints[2] % 5
        probs = _filled(lib, v.detach(), (2, n)).abs() + 0.125
        picks = lib.multinomial(probs, min(n, 1 + ints[3] % 3), bool(ints[1] % 2))
        return v.sum() + lib.randperm(n).to(v.dtype) + picks.to(v.dtype).sum()
    elif f == 10:
        # the reparametrized normal: differentiable in mean (and std) in both
        std = v.abs() + 0.25
        return lib.normal(v * val, std) if ints[2] % 2 else lib.normal(v, 0.5)
    else:
        F = lib.nn.functional
        if ints[2] % 2:
            return F.dropout(v * 1, 0.25 * (1 + ints[3] % 3), training=True)
        return F.rrelu(v * 1, 0.125, 0.375, training=True)
    return v + w


def _alias_ops(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    o = _filled(lib, _float(lib, other).to(v.dtype), tuple(v.shape))
    f = ints[4] % 10
    if f == 0:
        t = v.tanh() * 0.875
        name = ("arccos", "arcsin", "arctanh", "arcsinh", "arccosh")[ints[2] % 5]
        arg = v.abs() + 1.5 if name == "arccosh" else (v if name == "arcsinh" else t)
        return getattr(arg, name)() if ints[3] % 2 else getattr(lib, name)(arg)
    if f == 1:
        return lib.rad2deg(v) * val if ints[2] % 2 else v.rad2deg()
    if f == 2:
        fn = ("greater_equal", "not_equal")[ints[2] % 2]
        m = getattr(v, fn)(o) if ints[3] % 2 else getattr(lib, fn)(v, val)
        return m.to(v.dtype) * v
    if f == 3:
        return lib.logical_or(v > 0.5, o).to(v.dtype) * v + v.logical_or(o).to(v.dtype)
    if f == 4:
        a = (v.detach() * 4).round().long()
        b = (o.detach().abs() * 2).round().long().clamp(0, 5)
        g = ints[2] % 4
        if g == 0:
            r = lib.bitwise_or(a, b) if ints[3] % 2 else a.bitwise_or(b)
        elif g == 1:
            r = lib.bitwise_not(a) if ints[3] % 2 else (a > 0).bitwise_not().long()
        elif g == 2:
            r = lib.bitwise_left_shift(a, b) if ints[3] % 2 else a.bitwise_left_shift(1)
        else:
            r = lib.bitwise_right_shift(a, b) if ints[3] % 2 else a.bitwise_right_shift(b)
        return r.to(v.dtype) * v
    if f == 5:
        # no derivative for nextafter (an error event in both on a tensor needing grad):
        # a detached copy, its (tiny) step added back to v
        w = v.detach().clone()
        w.nextafter_(o.detach())
        return v + (w - v.detach()) * 2**40
    if f == 6:
        w = v * 1
        w.arctan2_(o.abs() + 0.5)
        return w
    if f == 7:
        one = v.reshape(-1)[:1] if v.numel() else v.new_ones(1)
        flags = (
            float(v.is_neg()), float(v.is_signed()), float(one.is_nonzero()),
            float(v.is_same_size(o)), float(v.ndimension()), float(v.nelement()),
            float(v.element_size()), float(x.element_size()), float(v.dense_dim()),
            float(v.is_inference()), float(x.is_signed()),
        )  # fmt: skip
        return v * sum(k * f for k, f in enumerate(flags, 1))
    if f == 8:
        if ints[2] % 2:
            return v.cdouble().abs() * val
        return (v.detach() * 8).round().clamp(-100, 100).char().to(v.dtype) * v
    w = v * 1
    # (not under forward mode: chainrule's detach_ keeps the forward tangent, torch's drops
    # it; ops/inplace_views.py is another session's file, reported and pinned xfail in
    # test_found_cases_s42.py; drop this guard once fixed)
    if ints[2] % 2 and not _dual(lib, w):
        w.detach_()
        return w * val + v
    return w.detach() + v


def _storage_ops(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Methods on storage: values compared, the gradient kept flowing through ``v``."""
    v = _float(lib, x)
    src = v.detach().contiguous().clone()  # storage order: see _rng_fill
    f = ints[4] % 6
    if f == 0:
        a = lib.zeros(3, dtype=v.dtype)
        a.set_(src)
        a.mul_(val)  # a shares src's storage: src is written too
        return src + a + v
    if f == 1:
        o = other.detach()
        if o.numel() <= src.numel():
            src.resize_as_(o)
        else:
            src.resize_(src.numel())
        return src * val + v.sum()
    if f == 2:
        n = v.shape[0] if v.dim() else 1
        base = _filled(lib, v, (n + 2, 2))
        start = ints[2] % 2
        piece = base[start : start + n : 1]
        return lib.slice_inverse(piece, base, 0, start, start + n, 1) * val
    if f == 3:
        o = _filled(lib, _float(lib, other).detach().to(v.dtype), tuple(v.shape))
        g = ints[2] % 3
        if g == 0:
            src.apply_(lambda t: t * 2.0 + 1.0)
        elif g == 1:
            src.map_(o, lambda a, b: a - 2.0 * b)
        else:
            src.map2_(o, o * 0.5, lambda a, b, c: a * b + c)
        return src + v
    if f == 4:
        m = src.numel()
        if m == 0:
            return v * val
        flat = src.reshape(-1)
        a = lib.empty(0, dtype=v.dtype)
        off = ints[2] % m
        size = (m - off,) if ints[3] % 2 else (1, m - off)
        a.set_(flat.untyped_storage(), off, size, (1,) * len(size))
        a.mul_(val)
        return flat + a.sum() + v.sum()
    w = src.share_memory_()
    return v * (float(w.is_shared()) + 2.0 * float(w.is_pinned()) + 1.0)


def _frac_pool(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Fractional max pooling on distinct values (ties make the pick the library's own)."""
    v = _float(lib, x)
    F = lib.nn.functional
    three = bool(ints[1] % 2)
    n, c = 1, 1 + ints[2] % 2
    sp = (4 + ints[3] % 2,) * (3 if three else 2)
    shape = (n, c, *sp)
    numel = 1
    for s in shape:
        numel *= s
    base = lib.arange(numel, dtype=v.dtype).reshape(shape) * 0.01
    z = base.flip(-1) + _filled(lib, v, shape).tanh() * 0.001
    if ints[0] % 3 == 0:
        z = z[0]  # unbatched
    kw: dict = {"return_indices": bool(ints[4] % 2)}
    if ints[4] // 2 % 2:
        # a tuple: torch documents a single number too but calls len() on it (TypeError
        # in torch's Python wrapper, a torch bug not mirrored)
        kw["output_ratio"] = (0.5,) * len(sp) if ints[3] % 2 else (0.5, 0.75, 0.5)[: len(sp)]
    else:
        kw["output_size"] = 2 if ints[3] % 2 else (2,) * (len(sp) - 1) + (3,)
    if ints[0] % 2:
        # explicit samples in [0, 1): (N, C, dims)
        samples = _filled(lib, v.detach(), (n, c, len(sp))).tanh() * 0.45 + 0.5
        kw["_random_samples"] = samples
    else:
        lib.manual_seed(ints[2] * 7 + ints[3])
    fn = F.fractional_max_pool3d if three else F.fractional_max_pool2d
    out = fn(z, 2, **kw)
    if kw["return_indices"]:
        out, idx = out
        return out * val + idx.to(out.dtype)
    return out * val


def _sparse_ctor(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    n, m = 2 + ints[1] % 2, 2 + ints[2] % 3
    pattern = (lib.arange(n * m).reshape(n, m) * (ints[0] % 5 + 2)) % 3 != 0
    f = ints[4] % 7
    if f <= 1:
        d = pattern.to(v.dtype)
        s = d.to_sparse_csr() if f == 0 else d.to_sparse_csc()
        comp = s.crow_indices() if f == 0 else s.ccol_indices()
        plain = s.col_indices() if f == 0 else s.row_indices()
        vals = _filled(lib, v, (int(pattern.sum()),))
        ctor = lib.sparse_csr_tensor if f == 0 else lib.sparse_csc_tensor
        t = ctor(comp, plain, vals, (n, m))
        return t.to_dense() * val
    if f == 2:
        d = pattern.to(v.dtype)
        layout = (lib.sparse_csr, lib.sparse_csc)[ints[3] % 2]
        s = d.to_sparse(layout=layout)
        comp = s.crow_indices() if layout == lib.sparse_csr else s.ccol_indices()
        plain = s.col_indices() if layout == lib.sparse_csr else s.row_indices()
        vals = _filled(lib, v.detach(), (int(pattern.sum()),))
        t = lib.sparse_compressed_tensor(comp, plain, vals, (n, m), layout=layout)
        return t.to_dense() + v.sum()
    if f == 3:
        a = _filled(lib, v.detach(), (2 * n, 2 * m))
        a = a * ((lib.arange(2 * n).reshape(-1, 1) // 2 + lib.arange(2 * m) // 2) % 2 == 0)
        b = a.to_sparse_bsr((2, 2))
        t = lib.sparse_bsr_tensor(b.crow_indices(), b.col_indices(), b.values(), a.shape)
        return t.to_dense() * val + v.sum()
    if f == 4:
        s = (_filled(lib, v.detach(), (n, m)) * pattern).to_sparse_csr()
        parts = (
            lib.crow_indices_copy(s), lib.col_indices_copy(s), lib.values_copy(s),
        )  # fmt: skip
        return parts[2].sum() * v + parts[0].sum() + parts[1].sum()
    if f == 5:
        s = (_filled(lib, v, (n, m)) * pattern).to_sparse_coo()
        d = _filled(lib, _float(lib, other).to(v.dtype), (m, 2))
        return lib.spmm(s, d) * val
    # a compressed tensor back to COO (not indices_copy/values_copy of a COO tensor: torch
    # has no sparse kernel for them, chainrule has: more, not mirrored)
    c = (_filled(lib, v.detach(), (n, m)) * pattern).to_sparse_csr().to_sparse_coo()
    dims = c.sparse_dim() * 10 + c.dense_dim() + float(c.is_coalesced())
    return c.indices().to(v.dtype).sum() + c.values().sum() * v + dims


def _fake_quant(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Fake quantization of float32 values (its kernels' dtype) off the rounding ties; the
    result moved by a distinct tiny step per element: quantized values tie, and a later
    kthvalue/median/sort would pick among them each library its own way (seed 986)."""
    out = _fake_quant_values(lib, x, other, ints, val)
    ramp = lib.arange(out.numel(), dtype=out.dtype).reshape(tuple(out.shape))
    return out + ramp * 2.0**-10


def _fake_quant_values(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x).float()
    scale = 0.1 + 0.05 * (ints[2] % 3)
    # off the .5 ties: a value a rounding away from a tie rounds either way
    y = v * 1.0 + scale * 0.25 * near_zero(v)
    qmin, qmax = (0, 255) if ints[3] % 2 else (-128, 127)
    zp = (ints[1] % 5) + (0 if qmin == 0 else -2)
    f = ints[4] % 4
    if f == 0:
        return lib.fake_quantize_per_tensor_affine(y, scale, zp, qmin, qmax) * val
    if f == 1:
        st = lib.tensor(scale, dtype=lib.float32)
        zt = lib.tensor(zp, dtype=lib.int32)
        return lib.fake_quantize_per_tensor_affine(y, st, zt, qmin, qmax)
    if f == 2:
        w = y if y.dim() else y.reshape(1)
        axis = _dim(w, ints[2])
        k = w.shape[axis]
        scales = lib.arange(1, k + 1, dtype=lib.float32) * 0.05 + 0.05
        zps = lib.arange(k, dtype=lib.int32) % 3
        return lib.fake_quantize_per_channel_affine(w, scales, zps, axis, qmin, qmax) * val
    q = lib.quantize_per_tensor(y.detach(), scale, max(zp, 0), lib.quint8)
    return q.dequantize() + q.int_repr().to(lib.float32) + y


def _linear_ce(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    nb, d, c = 1 + ints[1] % 3, 1 + ints[2] % 3, 2 + ints[3] % 3
    inp = _filled(lib, v, (nb, d))
    w = _filled(lib, o, (c, d)) * 0.5 + 0.25
    kw: dict = {"reduction": ("mean", "sum", "none")[ints[0] % 3]}
    f = ints[4] % 6
    if f in (1, 4):
        kw["label_smoothing"] = 0.125 * (1 + ints[2] % 2)
    if f in (2, 4):
        kw["weight"] = lib.arange(1, c + 1, dtype=v.dtype) * 0.5
    if f == 3:
        kw["linear_bias"] = _filled(lib, v, (c,)) * 0.5
    if f == 5:
        target = _filled(lib, o, (nb, c)).softmax(-1)
    else:
        target = lib.arange(nb) * (1 + ints[0] % 2) % c
        if ints[1] % 2:
            kw["ignore_index"] = int(target[0]) if f != 4 else -100
    return lib.nn.functional.linear_cross_entropy(inp, w, target, **kw)


def _lowrank(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Randomized low-rank SVD/PCA with a full sketch (q = min(n, m)): exact, so read through
    invariants (reconstruction, singular values; vector signs are LAPACK's choice)."""
    v = _float(lib, x)
    n, m = 2 + ints[1] % 3, 2 + ints[2] % 3
    a = _filled(lib, v, (n, m)).tanh() * 0.25
    a = a + lib.eye(n, m, dtype=v.dtype) * lib.arange(1, m + 1, dtype=v.dtype)
    lib.manual_seed(ints[0] * 3 + ints[3])
    center = bool(ints[3] % 2)
    # a centered matrix loses a rank: a zero singular value in the sketch has no unique
    # singular vectors (torch's gradient is then nan, chainrule's finite: both arbitrary)
    q = min(n - 1, m) if center and not ints[4] % 2 else min(n, m)
    if ints[4] % 2:
        u, s, vt = lib.svd_lowrank(a, q=q, niter=ints[3] % 3)
        rec = u @ lib.diag(s) @ vt.mT
    else:
        u, s, vt = lib.pca_lowrank(a, q=q, center=center, niter=1)
        mean = a.mean(0, keepdim=True) if center else a * 0
        rec = u @ lib.diag(s) @ vt.mT + mean
    return rec * val + s.sum()


def s42_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One step of kind ``kind`` on ``x`` (``other``: another slot; ``third`` unused)."""
    fn = {
        "rng_fill": _rng_fill, "alias_ops": _alias_ops, "storage_ops": _storage_ops,
        "frac_pool": _frac_pool, "sparse_ctor": _sparse_ctor, "fake_quant": _fake_quant,
        "linear_ce": _linear_ce, "lowrank": _lowrank,
    }[kind]  # fmt: skip
    return fn(lib, x, other, ints, val)
