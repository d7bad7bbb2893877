"""Step kinds for :mod:`tests.fuzz.programs`, session 41: the in-place shape methods
(``squeeze_``, ``unsqueeze_``, ``swapaxes_``, ``swapdims_``, ``t_``, ``tril_``, ``triu_``,
``as_strided_``) on an intermediate or on a view of one, ``conj_physical``/``conj_physical_``
and the lazily conjugated tensors through autograd, the deprecated linear algebra names
(``pinverse``, ``nuclear_norm``, ``frobenius_norm``, ``ger``, ``trapz``), the splitting
``*_copy`` functions (``split_copy``, ``split_with_sizes_copy``, ``unsafe_split``,
``view_as_real_copy``, ``as_strided_copy``, ``segment_reduce``), the sparse-times-dense
products (``smm``, ``dsmm``, ``saddmm``, ``sspaddmm``, ``sparse_mask``, blocked layouts),
the activations and dropouts in eval form (``celu_``, ``selu_``, ``rrelu``, ``alpha_dropout``,
``dropout1d``, ...) with ``adaptive_max_pool3d`` and the shifted Chebyshev polynomials, and
the value queries (``isin``, ``nonzero_static``, ``histogramdd``, ``result_type``).

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

from typing import Any

from .more_steps import _dim, near_zero
from .nn_step_parts import _filled
from .s37_steps import _complex_of

__all__ = ["S41", "s41_step"]

S41 = ("shape_", "conj_phys", "old_linalg", "split_copies", "sparse_mm", "act_eval", "query_ops")


def _float(lib: Any, x: Any) -> Any:
    x = x.real if x.is_complex() else x
    return x if x.is_floating_point() else x.double()


def _dual(lib: Any, t: Any) -> bool:
    """Whether ``t`` has a forward-mode tangent (the forward run of a program)."""
    return lib.autograd.forward_ad.unpack_dual(t).tangent is not None


def _target(y: Any, r: int) -> Any:
    """``y`` itself or a view of it: its transpose, its rows from the second on, a reshape."""
    if r == 1 and y.dim() >= 2:
        return y.transpose(0, 1)
    if r == 2 and y.dim() >= 1 and y.shape[0] > 1:
        return y[1:]
    if r == 3 and y.numel():
        return y.view(-1)
    return y


def _shape_(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """An in-place shape method on ``y = x * 1`` or on a view of it, the result then written
    in place (sometimes) and read back through ``y`` or through the reshaped tensor."""
    # contiguous: x * 1 of a transposed x keeps its layout in torch, chainrule lays it out
    # row-major (a known layout difference), and y.view(-1) would then fail in one only
    y = _float(lib, x).contiguous() * 1
    v = _target(y, ints[1] % 4)
    n = v.dim()
    f = ints[4] % 8
    if f == 0:
        v.squeeze_() if ints[2] % 2 else v.squeeze_(_dim(v, ints[3]))
    elif f == 1:
        v.unsqueeze_(ints[2] % (n + 1) - (n + 1) * (ints[3] % 2))
    elif f == 2:
        v.swapaxes_(_dim(v, ints[2]), _dim(v, ints[3]))
    elif f == 3:
        v.swapdims_(_dim(v, ints[2]), -1 if n else 0)
    elif f == 4:
        v.t_() if n <= 2 else v.transpose_(0, n - 1)
    elif f in (5, 6):
        while v.dim() < 2:
            v = v.unsqueeze(0)
        k = ints[2] % 3 - 1
        v.tril_(k) if f == 5 else v.triu_(k)
    else:
        m = y.numel()
        if m == 0:
            return y * val
        # the first elements of y's storage, as a matrix of its strides (a fresh y:
        # contiguous in both, so the storage is the same in both)
        rows = 1 + ints[2] % max(1, min(m, 3))
        cols = max(1, (m - 1) // rows)
        y.as_strided_((rows, min(cols, 2)), (cols, 1), 0)
        v = y
    if ints[0] % 3 == 1:
        v.mul_(val)
    return v * 1 if ints[0] % 3 == 2 else y


def _conj_phys(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    z = _complex_of(lib, x, other)
    f = ints[4] % 6
    if f == 0:
        w = lib.conj_physical(z)
    elif f == 1:
        w = z * 1
        w.conj_physical_()
    elif f == 2:
        # conj_physical_ of a row of a copy (not a write through z.conj(): chainrule has no
        # lazy conjugate bit, its conj() is a copy; documented in ops/complex_ops.py)
        w = z * 1
        if w.dim():
            w[ints[2] % w.shape[0]].conj_physical_()
        else:
            w.conj_physical_()
    elif f == 3:
        # a conjugated view resolved, and its negative bit from the imaginary part
        c = z.conj()
        r = c.resolve_conj() if ints[2] % 2 else c.imag.neg()
        w = r * val
    elif f == 4:
        # conj of a real tensor is itself, conj_physical a copy
        v = _float(lib, x)
        return lib.conj_physical(v) * val + v.conj() + float(v.conj().is_conj())
    else:
        w = lib.sgn(z) * z.conj()
    if not w.is_complex():
        return w
    # (not view_as_real of an empty w: torch 2.13's backward of it fails, "Tensor must
    # have a last dimension with stride 1" (the empty gradient's strides), where
    # chainrule's gives the empty gradient; session 42, seed 976)
    return lib.view_as_real(w).sum(-1) if ints[3] % 2 and w.numel() else w.abs()


def _spread(lib: Any, v: Any, n: int, m: int) -> Any:
    """An n x m matrix from ``v``'s elements, small, plus 1, 2, ... on its diagonal: full
    rank with distinct singular values."""
    a = _filled(lib, v, (n, m)).tanh() * 0.25
    return a + lib.eye(n, m, dtype=v.dtype) * lib.arange(1, m + 1, dtype=v.dtype)


def _old_linalg(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    n, m = 1 + ints[1] % 3, 1 + ints[2] % 3
    f = ints[4] % 6
    if f == 0:
        # full rank, distinct singular values (pinv's derivative is smooth there)
        return lib.pinverse(_spread(lib, v, n, m), rcond=1e-10 if ints[3] % 2 else 1e-15)
    if f == 1:
        return lib.nuclear_norm(_spread(lib, v, n, m), keepdim=bool(ints[3] % 2))
    if f == 2:
        a = _filled(lib, v, (2, n, m)) + 0.5
        dims = ((0, 1), (1, 2), (0, 2), (-1, -2))[ints[3] % 4]
        return lib.frobenius_norm(a, dim=dims, keepdim=bool(ints[0] % 2))
    if f == 3:
        return lib.ger(_filled(lib, v, (n,)), _filled(lib, o, (m,)))
    if f == 4:
        y = _filled(lib, v, (n + 1, m))
        if ints[3] % 2:
            xs = lib.cumsum(_filled(lib, o, (n + 1,)).abs() + 0.25, 0)
            return lib.trapz(y, xs, dim=0)
        return lib.trapz(y, dx=val, dim=-1)
    # the regularized upper incomplete gamma (its derivative in the first argument: none in
    # torch, an error event): the first argument detached
    a = _filled(lib, v, (n, m)).detach().abs() + 0.5
    return lib.igammac(a, _filled(lib, o, (n, m)).abs() + 0.25)


def _split_copies(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """A splitting copy (every piece a fresh tensor, stacked or concatenated back), then one
    piece written in place: ``x`` must stay as it was."""
    f = ints[4] % 7
    d = _dim(x, ints[1])
    if f <= 3:
        if x.dim() == 0:
            return lib.split_copy(x.reshape(1), 1)[0] * val
        size = x.shape[d]
        k = 1 + ints[2] % 2
        if f == 0:
            parts = lib.split_copy(x, k, d)
        elif f == 1:
            parts = lib.unsafe_split(x, k, d)
        else:
            first = ints[3] % (size + 1)
            sizes = [first, size - first]
            fn = lib.split_with_sizes_copy if f == 2 else lib.unsafe_split_with_sizes
            parts = fn(x, sizes, d)
        parts = list(parts)
        if _dual(lib, x):
            # forward mode: the pieces not written. torch's tangent of a *_copy piece is
            # a view of the input's tangent (a write to the copy changes the input's
            # tangent, not its value: a torch bug), not mirrored
            return lib.cat(parts, d)
        if parts and parts[0].is_floating_point() and not (f == 1 and len(parts) > 1):
            # (unsafe_split's pieces are views torch lets one write; a write of one
            # piece that requires grad is a version error in torch when there are others)
            parts[0].mul_(val)
        return lib.cat(parts, d)
    if f == 4:
        z = _complex_of(lib, x, other)
        r = lib.view_as_real_copy(z)
        r.mul_(val)
        # detached: torch has no derivative for view_as_complex_copy's complex output (an
        # error), chainrule has one (more, not mirrored); the gradient flows through r
        return lib.view_as_complex_copy(r.detach() * 1).abs() + r.sum(-1)
    v = _float(lib, x)
    if f == 5:
        if _dual(lib, v):
            # forward mode on a contiguous copy: as_strided of a view that does not cover
            # its storage (x.real of a complex) reads the elements between, and chainrule's
            # tangent there is 0 where torch's is the base's (session 42, seed 976;
            # test_found_cases_s42.py, xfail; the views machinery is another session's)
            v = v.contiguous()
        m = v.numel()
        if m < 2:
            return lib.as_strided_copy(v.reshape(-1), (m,), (1,))
        return lib.as_strided_copy(v.reshape(-1), (m // 2, 2), (1, 1), ints[2] % 2 * (m % 2))
    flat = v.reshape(-1)
    m = flat.shape[0]
    first = ints[2] % (m + 1)
    lengths = lib.tensor([first, m - first])
    red = ("sum", "mean", "max", "min", "prod")[ints[3] % 5]
    return lib.segment_reduce(flat, red, lengths=lengths, unsafe=bool(ints[0] % 2), initial=None)


def _sparse_of(lib: Any, m: Any, seed: int) -> Any:
    """``m`` with a fixed pattern of zeros (about a third), as a sparse COO tensor."""
    keep = (lib.arange(m.numel()).reshape(m.shape) * (seed % 5 + 2)) % 3 != 0
    return (m * keep).to_sparse()


def _sparse_mm(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    o = _float(lib, other).to(v.dtype)
    n, k, m = 1 + ints[1] % 3, 1 + ints[2] % 3, 1 + ints[3] % 2
    f = ints[4] % 7
    s = _sparse_of(lib, _filled(lib, v, (n, k)), ints[0])
    d = _filled(lib, o, (k, m))
    if f == 0:
        return lib.smm(s, d).to_dense() if ints[0] % 2 else lib.dsmm(s, d)
    if f == 1:
        return lib.mm(s, d) * val
    if f == 2:
        c = _sparse_of(lib, _filled(lib, o, (n, m)), ints[0] + 1)
        return lib.saddmm(c, s, d, beta=val, alpha=0.5).to_dense()
    if f == 3:
        c = _sparse_of(lib, _filled(lib, o, (n, m)), ints[0] + 2)
        return lib.sspaddmm(c, s, d, beta=0.5, alpha=val).to_dense()
    if f == 4:
        dense = _filled(lib, o, (n, k))
        return dense.sparse_mask(s.coalesce()).to_dense() * val
    # blocked layouts (values only: no autograd in torch for these conversions)
    a = _filled(lib, v, (2 * n, 2 * k)).detach()
    a = a * ((lib.arange(2 * n).reshape(-1, 1) + lib.arange(2 * k)) % 3 != 0)
    if f == 5:
        b = a.to_sparse_bsr((2, 2))
        return b.values().sum() + b.to_dense() * val + b.crow_indices().sum()
    b = a.to_sparse_bsc((1, 2))
    return b.to_dense() * val + b.ccol_indices().sum() + b.row_indices().sum()


def _act_eval(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    F = lib.nn.functional
    v = _float(lib, x)
    # off the kink at 0 (an ulp either side is a different slope)
    y = v * 1 + 0.125 * near_zero(v)
    f = ints[4] % 10
    if f == 0:
        return F.celu_(y, alpha=abs(val)) if ints[2] % 2 else F.celu(y, abs(val), True)
    if f == 1:
        return F.selu_(y) if ints[2] % 2 else F.selu(y, inplace=True)
    if f == 2:
        lo, hi = sorted((0.125, abs(val) / 4))
        return F.rrelu(y, lo, hi, training=False, inplace=bool(ints[2] % 2))
    if f == 3:
        return F.rrelu_(y, 0.25, 0.5, training=False)
    if f == 4:
        return F.alpha_dropout(y, 0.5, training=False, inplace=bool(ints[2] % 2))
    if f == 5:
        fn = (F.dropout1d, F.dropout2d, F.dropout3d, F.feature_alpha_dropout)[ints[3] % 4]
        shape = ((2, 3), (2, 2, 3), (1, 2, 2, 2), (2, 2, 3))[ints[3] % 4]
        return fn(_filled(lib, y, shape), 0.5, training=False)
    if f == 6:
        # distinct values: ties make the chosen index the library's own choice
        shape = (1, 2, 2 + ints[1] % 2, 3, 2 + ints[2] % 2)
        numel = 1
        for s in shape:
            numel *= s
        base = lib.arange(numel, dtype=v.dtype).reshape(shape) * 0.01
        z = base + _filled(lib, v, shape).tanh() * 0.001
        size = (1 + ints[3] % 2, None, 2)
        out, idx = F.adaptive_max_pool3d(z, size, return_indices=True)
        return out * val + idx.to(out.dtype)
    if f == 7:
        # x in [0, 1] (the shifted polynomials' interval); no derivative in torch (an
        # error event), so detached
        t = (v.tanh() * 0.5 + 0.5).detach()
        name = "shifted_chebyshev_polynomial_" + "uvwt"[ints[3] % 4]
        return getattr(lib.special, name)(t, ints[2] % 5)
    if f == 8:
        return F.softsign(y) * F.tanhshrink(y) + F.hardtanh_(y * 1, -abs(val), abs(val) + 0.5)
    return F.threshold_(y, 0.3, val) if ints[2] % 2 else F.threshold(y, 0.3, val, True)


def _query_ops(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = _float(lib, x)
    f = ints[4] % 6
    if f == 0:
        a = (v * 2).round().long()
        b = _filled(lib, (_float(lib, other) * 2).round().long(), (1 + ints[2] % 3,))
        r = lib.isin(a, b, invert=bool(ints[3] % 2), assume_unique=False)
        return r.to(v.dtype) * v
    if f == 1:
        fill = -1 - ints[3] % 2
        r = lib.nonzero_static((v * 2).round(), size=ints[2] % 4, fill_value=fill)
        return r.to(v.dtype) * val
    if f == 2:
        pts = _filled(lib, v.detach(), (3 + ints[2] % 3, 2))
        # an explicit range: with equal points a dimension's range is [p - 0.5, p + 0.5] and
        # the point sits on a bin edge, on either side by an ulp of the edge's rounding
        bins = [1 + ints[3] % 3, 2]
        rng = [-2.5, 2.25, -2.0, 2.5]
        h, edges = lib.histogramdd(pts, bins=bins, range=rng, density=bool(ints[0] % 2))
        return h + edges[0].sum()
    if f == 3:
        t = lib.result_type(x, val)
        p = lib.promote_types(x.dtype, lib.float32 if ints[2] % 2 else lib.int32)
        ok = lib.can_cast(x.dtype, p)
        return (v.to(t) if t.is_floating_point else v) * float(ok) + str(p).__len__()
    if f == 4:
        n = 2 + ints[2] % 3
        return (
            lib.logspace(-1.0, val, n, base=2.0 if ints[3] % 2 else 10.0, dtype=v.dtype) * v.sum()
        )
    return lib.scalar_tensor(val, dtype=v.dtype) * v + lib.empty_like(v).zero_()


def s41_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One step of kind ``kind`` on ``x`` (``other``: another slot; ``third`` unused)."""
    if kind == "shape_":
        return _shape_(lib, x, other, ints, val)
    if kind == "conj_phys":
        return _conj_phys(lib, x, other, ints, val)
    if kind == "old_linalg":
        return _old_linalg(lib, x, other, ints, val)
    if kind == "split_copies":
        return _split_copies(lib, x, other, ints, val)
    if kind == "sparse_mm":
        return _sparse_mm(lib, x, other, ints, val)
    if kind == "act_eval":
        return _act_eval(lib, x, other, ints, val)
    return _query_ops(lib, x, other, ints, val)
