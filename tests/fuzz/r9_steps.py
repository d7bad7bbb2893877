"""Step kinds for :mod:`tests.fuzz.programs`, round 9: the ops the other tables leave out:
the newer ``special.*`` functions (Bessel and Airy functions, orthogonal polynomials,
``gammainc``), ``index_reduce``, the ``*_scatter`` ops, ``take_along_dim``/``index_put``/
``put``, copying rearrangements (``narrow_copy``, ``flatten``, ``atleast_*d``, stacks and
splits, ``meshgrid``, ``broadcast_tensors``, ``argwhere``), statistics (``cov``,
``corrcoef``, ``histogram``, ``frexp``, ``nextafter``), batched products (``addbmm``,
``baddbmm``, ``addr``, ``vdot``, ``inner``, ``chain_matmul``) and ``pdist``; views
(``movedim``, ``unflatten``, ``swapaxes``, ``view_as_real``/``view_as_complex``, the pieces
of ``split``/``chunk``/``unbind``) and in-place ops (``index_reduce_``, ``index_put_``,
``put_``, writes through ``view_as_real``).

As the other tables: every kind is valid for every slot (dims and indices modulo the
sizes, operands made from other slots by :func:`~tests.fuzz.nn_step_parts._filled`);
integer and bool operands are used as they are (where torch refuses them, chainrule must).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .extra_steps import no_nan
from .more_steps import _dim, _fit, near_zero
from .nn_step_parts import _filled

__all__ = ["R9", "R9_VIEWS", "R9_INPLACE", "r9_step", "r9_view", "r9_inplace"]

R9 = (
    "special_new", "index_reduce", "scatter_into", "take_put", "copy_shape", "stats",
    "batched_product", "pdist",
)  # fmt: skip
R9_VIEWS = ("movedim", "unflatten", "swapaxes", "complex_view", "split_piece")
R9_INPLACE = ("index_reduce_", "index_put_", "put_", "complex_view_mul_")

# torch computes these without autograd (their results never require grad): the input is
# detached here for both, so a chainrule gradient would show as a flag difference
# (not bessel_j0/j1/y0/y1: torch's Cephes kernels are off by up to 4e-7 near x = 5 and
# ~1e-7 relative near their zeros, chainrule's within an ulp or two of SciPy: not compared)
_NO_GRAD = (
    "modified_bessel_i0",
    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
    "airy_ai",
)  # fmt: skip
_POLY = (
    "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
    "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "hermite_polynomial_h",
    "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p",
)  # fmt: skip
_POS = ("modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
        "scaled_modified_bessel_k1")  # fmt: skip


def _like(y: Any, x: Any) -> Any:
    """``y`` in ``x``'s dtype where both are floating."""
    return y.to(x.dtype) if x.is_floating_point() and y.is_floating_point() else y


def _own(x: Any, src: Any) -> Any:
    """``src``, cloned where it shares ``x``'s memory: torch's index_reduce_, index_put_ and
    put_ refuse any overlap of the source with self, even the very same elements, chainrule
    refuses partial overlaps only (reported, ops/inplace.py is another helper's)."""
    if hasattr(x, "_vc"):
        return src.clone() if x._vc is src._vc else src
    same = x.untyped_storage().data_ptr() == src.untyped_storage().data_ptr()
    return src.clone() if same else src


def _special_new(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    S = lib.special
    which = ints[2] % 6
    if which <= 1:
        name = _NO_GRAD[(ints[3] * 2 + which) % len(_NO_GRAD)]
        y = x.detach()
        if name in _POS and y.is_floating_point():
            y = y.abs() + 0.5
        if name == "airy_ai" and y.is_floating_point():
            # above -2.09: below it torch's Cephes kernel is accurate to ~1e-6 only,
            # chainrule's to a few ulp (a documented difference, special/_airy.py)
            y = y.clamp(min=-2.0)
        return getattr(S, name)(y)
    if which == 2:
        name = _POLY[ints[3] % len(_POLY)]
        y = x.detach().tanh() if x.is_floating_point() else x
        n = ints[4] % 5 if ints[0] % 2 else _filled(lib, other.detach(), tuple(x.shape))
        if not isinstance(n, int) and n.is_floating_point():
            n = n.abs().round()  # a degree: a non-negative integral value
        return getattr(S, name)(y, n)
    if which == 3:
        # gammainc/gammaincc: differentiable in x only (torch: "derivative for 'igamma:
        # input' is not implemented"), so a is detached
        a = _filled(lib, other, tuple(x.shape)).detach()
        a = a.abs() + 0.5 if a.is_floating_point() else a
        z = x.abs() + 0.25 if x.is_floating_point() else x
        return (S.gammainc if ints[4] % 2 else S.gammaincc)(_like(a, z), z)
    if which == 4:
        d = _dim(x, ints[1])
        f = ("softmax", "log_softmax", "logsumexp")[ints[4] % 3]
        if f == "logsumexp":
            return S.logsumexp(x, d if x.dim() else 0, keepdim=bool(ints[3] % 2))
        return getattr(S, f)(x, d, dtype=lib.float64 if ints[3] % 2 else None)
    z = x.abs() + 1.5 if x.is_floating_point() else x
    f = ints[4] % 4
    if f == 0:
        return S.multigammaln(z, 1 + ints[3] % 3)
    if f == 1:
        return S.logit(x.sigmoid() if x.is_floating_point() else x, eps=(None, 0.25)[ints[3] % 2])
    if f == 2:
        return S.psi(z) if ints[3] % 2 else S.gammaln(z)
    return S.xlogy(x, _filled(lib, other, tuple(x.shape)).abs() + 0.5 if other.is_floating_point()
                   else val)  # fmt: skip


def _index_reduce(lib: Any, x: Any, other: Any, ints: tuple, inplace: bool) -> None | Any:
    n = x.dim()
    d = _dim(x, ints[1])
    size = x.shape[d] if n else 1
    k = 1 if n == 0 else 1 + ints[4] % 3
    idx = lib.tensor(np.array([(ints[2] + j * ints[3]) % max(size, 1) for j in range(k)]))
    sshape = tuple(x.shape)[:d] + (k,) + tuple(x.shape)[d + 1 :] if n else ()
    src = _filled(lib, other, sshape)
    src = src.to(x.dtype) if x.is_floating_point() or not src.is_floating_point() else src
    reduce = ("prod", "mean", "amax", "amin")[ints[2] % 4]
    include = bool(ints[0] % 2)
    if inplace and reduce == "mean" and x.dtype == lib.bool:
        # torch (beyond 1-d, slice by slice) adds into x and then raises (no bool division);
        # chainrule raises before writing: not mirrored (as scatter_reduce_, extra_steps)
        reduce = "prod"
    if reduce in ("amax", "amin"):
        src = no_nan(lib, src)
        if not inplace:
            x = no_nan(lib, x)
        elif x.is_floating_point() and bool(x.isnan().any()):
            x.masked_fill_(x.isnan(), 0.0)  # as no_nan, in place (as extra_steps' scatters)
    if inplace:
        x.index_reduce_(d, idx, _own(x, src), reduce, include_self=include)
        return None
    return x.index_reduce(d, idx, src, reduce, include_self=include)


def _scatter_into(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    if x.is_complex():
        # detached: chainrule's func.jvp, recording (another primal requires grad), hands f
        # every primal as a leaf that requires grad, and the complex refusal of reverse mode
        # then fires where torch's jvp runs (reported: autograd/forward_ad_jvp.py)
        x, other = x.detach(), other.detach()
    n = x.dim()
    shape = tuple(x.shape)
    which = ints[4] % 3
    if which == 0 and n >= 2:
        off = ints[2] % 3 - 1
        d1, d2 = _dim(x, ints[1]), _dim(x, ints[1] + 1)
        size = x.diagonal(off, d1, d2).shape
        return lib.diagonal_scatter(x, _like(_filled(lib, other, tuple(size)), x), off, d1, d2)
    if n == 0:
        return x.clone()
    d = _dim(x, ints[1])
    if which == 1:
        i = ints[2] % shape[d] - (shape[d] if ints[3] % 2 else 0)
        src = _filled(lib, other, shape[:d] + shape[d + 1 :])
        return lib.select_scatter(x, _like(src, x), d, i)
    start = ints[2] % shape[d]
    step = 1 + ints[3] % 2
    end = None if ints[0] % 2 else shape[d]
    count = len(range(start, shape[d], step))
    src = _filled(lib, other, shape[:d] + (count,) + shape[d + 1 :])
    return lib.slice_scatter(x, _like(src, x), d, start, end, step)


def _take_put(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    n = x.dim()
    shape = tuple(x.shape)
    which = ints[4] % 4
    if which == 0:
        if n == 0 or ints[3] % 3 == 0:
            idx = np.random.default_rng(ints[2]).integers(0, max(x.numel(), 1), (3,))
            # contiguous: torch's take_along_dim without a dim flattens x by view() and
            # refuses a layout that view cannot flatten; chainrule lays op results out its
            # own way (a known difference of view, programs._view), not mirrored
            return lib.take_along_dim(x.contiguous(), lib.tensor(idx)) if x.numel() else x
        d = _dim(x, ints[1])
        # dim= by keyword: torch's parser has no overload for argsort(int, stable=bool) (a
        # TypeError), chainrule takes it (a lenient signature, not mirrored)
        return lib.take_along_dim(x, x.argsort(dim=d, stable=True).flip(d), d)
    if which == 3:
        if x.numel() == 0:
            return x
        idx = np.random.default_rng(ints[2]).permutation(x.numel())[: 1 + ints[3] % 3]
        src = _like(_filled(lib, other, (len(idx),)), x)
        return x.put(lib.tensor(idx), src, accumulate=bool(ints[0] % 2))
    if n == 0:
        return x * 2
    rng = np.random.default_rng(ints[2])
    acc = bool(ints[0] % 2)
    if which == 1:  # integer index lists on the first dims (repeats where accumulating)
        k = 1 + ints[3] % 3
        m = 1 + ints[1] % min(n, 2)
        if acc:
            index = tuple(lib.tensor(rng.integers(0, shape[j], k)) for j in range(m))
        else:
            index = tuple(lib.tensor(rng.permutation(shape[j])[:1]) for j in range(m))
        vshape = (len(index[0]),) + shape[m:]
    else:  # a bool mask on the leading dims
        m = 1 + ints[1] % min(n, 2)
        mask = _filled(lib, other.detach(), shape[:m]) > 0
        index = (mask,)
        vshape = (int(mask.sum()),) + shape[m:]
    values = _filled(lib, other, vshape if ints[3] % 2 else ())
    return x.index_put(index, _like(values, x), accumulate=acc)


def _copy_shape(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    n = x.dim()
    shape = tuple(x.shape)
    d = _dim(x, ints[1])
    which = ints[4] % 12
    if which == 0:
        if n == 0:
            return x.reshape(1).narrow_copy(0, 0, 1)
        start = ints[2] % shape[d]
        return x.narrow_copy(d, start, 1 + ints[3] % (shape[d] - start))
    if which == 1:
        return x.flatten(d, _dim(x, ints[2])) if d <= _dim(x, ints[2]) else x.ravel()
    if which == 2:
        return (lib.atleast_1d, lib.atleast_2d, lib.atleast_3d)[ints[3] % 3](x) * 1
    if which in (3, 4):
        y = _filled(lib, other, shape)
        f = (lib.hstack, lib.vstack, lib.dstack, lib.column_stack, lib.row_stack)[ints[3] % 5]
        return f([x, y]) if which == 3 else f([x])
    if which == 5:
        if n == 0:
            return x
        k = 1 + ints[3] % 3
        f = (lib.hsplit, lib.vsplit, lib.dsplit)[min(ints[2] % 3, n - 1)] if n >= 2 else None
        parts = f(x, [k]) if f is not None else lib.tensor_split(x, [k])
        return parts[ints[0] % len(parts)] + 0
    if which == 6:
        a = x.reshape(-1)[:3]
        b = other.reshape(-1)[:2]
        return lib.stack(lib.meshgrid(a, _like(b, a), indexing=("ij", "xy")[ints[3] % 2]))
    if which == 7:
        a, b = lib.broadcast_tensors(x, other if ints[3] % 2 else other.sum())
        return a + b if a.dtype == b.dtype else a * 1
    if which == 8:
        return lib.argwhere(x)
    if which == 9:
        if n == 0:
            return x
        return lib.fliplr(x) if n >= 2 and ints[3] % 2 else lib.flipud(x)
    if which == 10:
        r = lib.triu_indices if ints[3] % 2 else lib.tril_indices
        k = 1 + ints[2] % 3
        i = r(k, k + ints[0] % 2, ints[1] % 3 - 1)
        flat = x.reshape(-1)
        return flat[i[0] % max(flat.numel(), 1)] * 2 if flat.numel() else i
    if n == 0:
        return x * 1
    return lib.msort(x)


def _stats(lib: Any, x: Any, other: Any, ints: tuple) -> Any:
    which = ints[4] % 6
    if which in (0, 1):
        m = x if x.dim() <= 2 else x.reshape(x.shape[0], -1)
        # real: chainrule's cov of complex input is a documented NotImplementedError
        m = m.real if m.is_complex() else m
        if which == 1 and m.numel() < 2:
            # one observation: corrcoef is 0/0, NaN in both, and the second-order gradients
            # through that NaN are NaN or 0 by each library's formula order (not compared)
            return m * 2
        if which == 1:
            if m.is_floating_point() and m.numel() and bool(near_zero(m - m.mean(-1, True)).any()):
                m = m + 0.37 * lib.arange(m.numel(), dtype=m.dtype).reshape(tuple(m.shape)) ** 2
            # two observations: every correlation is +-1, its gradient (0) a cancellation
            # residue (float32: 1e-4 apart): the values compared, not differentiated
            return lib.corrcoef(m.detach() if m.dim() and m.shape[-1] == 2 else m)
        cols = m.shape[-1] if m.dim() else 1
        fw = lib.tensor(np.arange(cols) % 3 + 1) if ints[3] % 3 == 1 else None
        aw = _filled(lib, other, (cols,)).abs() + 0.5 if ints[3] % 3 == 2 else None
        if aw is not None and not aw.is_floating_point() or cols == 1:
            # one observation with weights: torch 2.13's cov subtracts the mean from its
            # input in place (a leaf refuses, another tensor is zeroed): a torch bug
            fw = aw = None
        return lib.cov(m, correction=ints[2] % 2, fweights=fw, aweights=aw)
    if which == 2:
        if not x.is_floating_point():
            return x
        h, edges = lib.histogram(x.detach(), bins=1 + ints[3] % 4, density=bool(ints[2] % 2))
        return h + edges[:-1]
    if which == 3:
        if not x.is_floating_point():
            return lib.frexp(x)[0]
        mant, ex = lib.frexp(x)
        return mant * ex if ints[3] % 2 else ex
    if which == 4:
        y = _filled(lib, other, tuple(x.shape))
        return lib.nextafter(x, _like(y, x) if ints[3] % 2 else x.detach() + 1)
    d = _dim(x, ints[1])
    f = "cummax" if ints[3] % 2 else "cummin"
    v, i = getattr(x, f)(d)
    return i


def _batched_product(lib: Any, x: Any, other: Any, third: Any, ints: tuple, val: float) -> Any:
    k = 1 + ints[2] % 3
    which = ints[4] % 7
    if which in (0, 1):
        b1 = _filled(lib, x, (2, k, 2))
        b2 = _like(_filled(lib, other, (2, 2, 3)), b1)
        inp = _like(_filled(lib, third, (k, 3) if ints[3] % 2 else (3,)), b1)
        if which == 0:
            return lib.addbmm(inp, b1, b2, beta=val, alpha=0.5)
        return lib.baddbmm(inp, b1, b2, beta=val if ints[0] % 2 else 1, alpha=2.0)
    a = _filled(lib, x, (k,))
    b = _like(_filled(lib, other, (3,)), a)
    if which == 2:
        m = _like(_filled(lib, third, (k, 3)), a)
        # one dtype: torch 2.13's addr of mixed dtypes runs forward but its backward fails
        # ("addmv input tensors must have the same dtype"): a torch bug, not mirrored
        a, b = a.to(m.dtype), b.to(m.dtype)
        return lib.addr(m, a, b, beta=val if ints[3] % 2 else 1, alpha=0.5)
    if which == 3:
        if a.dtype == lib.bool:
            # torch has no bool vdot kernel (NotImplementedError), chainrule's computes it
            # (test_found_cases_r12.py, xfail): steered around
            a = a.long()
        return lib.vdot(a, _like(_filled(lib, other, (k,)), a))
    if which == 4:
        m = _filled(lib, x, (k, 2))
        return lib.inner(m, _like(_filled(lib, other, (3, 2) if ints[3] % 2 else (2,)), m))
    if which == 5:
        m = _filled(lib, x, (k, 2))
        q = _like(_filled(lib, other, (2, 2)), m)
        return lib.chain_matmul(m, q, _like(_filled(lib, third, (2, 3)), m))
    m = _filled(lib, x, (k, 3))
    return lib.mv(m, b) if ints[3] % 2 else lib.dot(b, b.flip(0))


def _pdist(lib: Any, x: Any, ints: tuple) -> Any:
    k = 2 + ints[2] % 3
    a = _filled(lib, x, (k, 2))
    if a.dtype == lib.float32:
        # in float64: a float32 gradient of distances 10 apart cancels to a residue of 6e-5
        # (x + 10 rounded), each library its own, past the float32 tolerance
        a = a.double()
    if a.is_floating_point():
        # points kept apart (a distance at 0 has no derivative): shifted by their row
        a = a + lib.arange(k, dtype=a.dtype).unsqueeze(-1) * 10.0
    return lib.pdist(a, p=(2.0, 1.0, math.inf, 3.0, 0.5)[ints[3] % 5])


def r9_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    if kind == "special_new":
        return _special_new(lib, x, other, ints, val)
    if kind == "index_reduce":
        return _index_reduce(lib, x, other, ints, False)
    if kind == "scatter_into":
        return _scatter_into(lib, x, other, ints)
    if kind == "take_put":
        return _take_put(lib, x, other, ints)
    if kind == "copy_shape":
        return _copy_shape(lib, x, other, ints)
    if kind == "stats":
        return _stats(lib, x, other, ints)
    if kind == "batched_product":
        return _batched_product(lib, x, other, third, ints, val)
    if kind == "pdist":
        return _pdist(lib, x, ints)
    raise AssertionError(kind)


def r9_view(lib: Any, kind: str, x: Any, ints: tuple) -> Any:
    """A view step (its result is a view of ``x``)."""
    n = x.dim()
    shape = tuple(x.shape)
    d = _dim(x, ints[1])
    if kind == "movedim":
        if n < 2:
            return lib.movedim(x, 0, 0) if n else x[...]
        if ints[3] % 2:
            return lib.movedim(x, d, _dim(x, ints[2]))
        return x.moveaxis((0, d), (_dim(x, ints[2]), (_dim(x, ints[2]) + 1) % n)) if d else x
    if kind == "unflatten":
        if n == 0:
            return x[...]
        size = shape[d]
        split = next((f for f in (3, 2) if size % f == 0 and size > f), None)
        sizes = (-1, split) if split else (1, -1) if ints[3] % 2 else (size, 1)
        return x.unflatten(d, sizes)
    if kind == "swapaxes":
        return x.swapaxes(d, _dim(x, ints[2])) if n else x[...]
    if kind == "complex_view":
        if x.is_complex():
            return lib.view_as_real(x)
        if x.is_floating_point() and x.dtype != lib.float16 and n and shape[-1] == 2:
            # of a contiguous copy: whether x's own layout allows the view depends on its
            # strides, which the libraries lay out differently for op results (as view())
            return lib.view_as_complex(x.contiguous().clone())
        return x[...]
    if kind == "split_piece":
        if n == 0:
            return x[...]
        which = ints[4] % 3
        if which == 0:
            parts = x.split(1 + ints[2] % 2, d)
        elif which == 1:
            parts = x.chunk(1 + ints[2] % 3, d)
        else:
            parts = x.unbind(d)
        return parts[ints[3] % len(parts)] if parts else x[...]
    raise AssertionError(kind)


def r9_inplace(lib: Any, kind: str, x: Any, other: Any, ints: tuple, val: float) -> None:
    """One in-place step of kind ``kind`` on ``x`` (``other``: another slot, not aliasing
    ``x``'s memory)."""
    shape = tuple(x.shape)
    if any(st == 0 and k > 1 for st, k in zip(x.stride(), shape)):
        # into an expanded tensor: known differences (test_found_cases.py), not fuzzed
        x.add_(val)
        return
    if kind == "index_reduce_":
        _index_reduce(lib, x, other, ints, True)
        return
    if kind == "index_put_":
        if x.dim() == 0:
            x.mul_(val)
            return
        rng = np.random.default_rng(ints[2])
        acc = bool(ints[0] % 2)
        k = 1 + ints[3] % 3 if acc else 1
        index = (lib.tensor(rng.integers(0, shape[0], k)),)
        values = _filled(lib, other, (k,) + shape[1:] if ints[4] % 2 else ())
        if not x.is_floating_point():
            values = values.detach()  # as index_fill_ (more_steps): a torch bug not mirrored
        x.index_put_(index, _own(x, _like(values, x)), accumulate=acc)
        return
    if kind == "put_":
        if x.numel() == 0:
            return
        idx = np.random.default_rng(ints[2]).permutation(x.numel())[: 1 + ints[3] % 3]
        src = _like(_filled(lib, other, (len(idx),)), x)
        if not x.is_floating_point():
            src = src.detach()
        x.put_(lib.tensor(idx), _own(x, src), accumulate=bool(ints[0] % 2))
        return
    if kind == "complex_view_mul_":
        v = lib.view_as_real(x) if x.is_complex() else x
        v.mul_(_like(_fit(other, tuple(v.shape)), v) if ints[4] % 2 else val)
        return
    raise AssertionError(kind)
