"""Step kinds for :mod:`tests.fuzz.programs`, round 11: sparse COO and CSR tensors in chains
(products, sums, softmax, pointwise ops, hybrid tensors, ``index_select``, ``sampled_addmm``,
CSR/CSC conversions, ``sparse_coo_tensor`` with duplicates, back to dense), ``masked``
reductions and normalizations with a ``mask=``, casts through bfloat16/float16/float8 in
chains, the ``func`` transforms (``vmap`` with ``in_dims``/``out_dims``/``chunk_size`` and
nested, ``grad``, ``vjp``, ``jvp``, ``linearize``, ``jacrev`` with ``argnums``, ``jacfwd``,
``hessian``) over small functions of a slot and ``utils.checkpoint`` (non-reentrant,
``checkpoint_sequential``); the ``nn.functional`` ones (``grid_sample``/``affine_grid``, attention,
``stft``/``istft``, ``local_response_norm``, ``one_hot``, channel shuffles, ``ctc_loss``,
``as_strided_scatter``, nested tensors) are :mod:`tests.fuzz.r11_nn_steps`'s, dispatched
from here (one table, ``R11``, for :mod:`tests.fuzz.programs`).

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); integer and
bool slots are used as they are where both libraries take or refuse them alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .more_steps import _dim, near_zero
from .nn_step_parts import _filled, _floating
from .r11_nn_steps import R11_NN, r11_nn_step

__all__ = ["R11", "r11_step"]

R11 = ("sparse_coo", "sparse_csr", "masked_red", "lowp_chain", "func_transform", "sparse_more",
       "func_more", "checkpoint", *R11_NN)  # fmt: skip


def _pattern(lib: Any, m: Any, seed: int) -> Any:
    """``m`` with about a third of its elements zeroed (a fixed pattern from ``seed``), so
    its sparse form has structural zeros; differentiable in ``m``."""
    keep = np.random.default_rng(seed).random(tuple(m.shape)) > 0.35
    return m * lib.tensor(keep).to(m.dtype)


def _mat(lib: Any, x: Any, ints: tuple) -> Any:
    m = _pattern(lib, _filled(lib, x, (2 + ints[2] % 2, 1 + ints[3] % 3)), ints[0])
    # rounding residues of 0 made exact: a sparse form stores what is not exactly 0, so a
    # -1e-16 in one library and a 0 in the other changed the pattern (and what
    # sampled_addmm computes) at seed 934
    return m * ~near_zero(m) if m.is_floating_point() else m


def _sparse_coo(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    m = _mat(lib, x, ints)
    s = m.to_sparse()
    # the dense operands in the sparse one's dtype: torch checks that they match only when
    # the sparse operand has stored elements (with none, an int64 @ float64 product is float64
    # zeros, a CSR one int64 zeros), chainrule always (test_found_cases_r11.py, xfail)
    d = _filled(lib, other, (m.shape[1], 2)).to(m.dtype)
    f = ints[4] % 9
    if f == 0:
        return lib.sparse.mm(s, d)
    if f == 1:
        return s @ d if ints[1] % 2 else lib.mm(s, d)
    if f == 2:
        if ints[1] % 3 == 2:
            return lib.sparse.sum(s)
        return lib.sparse.sum(s, dim=ints[1] % 2).to_dense()
    if f == 3:
        g = lib.sparse.log_softmax if ints[1] % 2 else lib.sparse.softmax
        return g(s, ints[3] % 2).to_dense()
    if f == 4:
        return (s * val).sin().to_dense() if ints[1] % 2 else s.abs().neg().to_dense()
    if f == 5:
        # * 1: values() is a view of the sparse tensor's values in torch, which its in-place
        # ops (and their backward) refuse ("Sparse CSR tensors do not have strides", "more
        # than one element ... refers to a single memory location"); chainrule writes them
        return (s + s).coalesce().values() * 1
    if f == 6:
        bias = _filled(lib, other, (m.shape[0], 2)).to(m.dtype)
        if m.dtype == lib.bool:
            # torch 2.13's sparse addmm of bool operands has no kernel ("addmm_sparse_dense"
            # not implemented for 'Bool') but returns beta * bias when the sparse operand
            # stores no element; chainrule always refuses (seed 933): float64 operands (not
            # int64: a float beta with integer operands meets the same quirk)
            s, d, bias = s.double(), d.double(), bias.double()
        return lib.sparse.addmm(bias, s, d, beta=val, alpha=0.5)
    if f == 7:
        return s.t().to_dense() if ints[1] % 2 else s.to_dense() * 2
    return (s * _floating(lib, _filled(lib, other, tuple(m.shape)), m)).to_dense()


def _sparse_csr(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    m = _mat(lib, x, ints)
    f = ints[4] % 6
    if f == 0:
        return m.detach().to_sparse_csr().col_indices()
    if f == 1:
        return m.detach().to_sparse_csr().crow_indices()
    s = m.to_sparse_csr()
    if f == 2:
        # detached: torch's gradient through a CSR's values() does not record a graph (its
        # double backward is silently 0; test_found_cases_r11.py, xfail); * 1 as sparse_coo's
        return m.detach().to_sparse_csr().values() * 1
    if f == 3:
        return s.to_dense() * val
    if f == 4:
        if not m.is_floating_point():
            # an integer or bool CSR product: torch refuses it when elements are stored and
            # returns zeros when none are (test_found_cases_r11.py): not fuzzed
            s = s.double()
        return s @ _filled(lib, other, (m.shape[1], 2)).to(s.dtype)
    # a copy: torch's indices() is a writable view of the sparse tensor's indices,
    # chainrule's a read-only array (test_found_cases_r11.py, xfail)
    return s.to_sparse().coalesce().indices().clone()


_MASKED = (
    "sum", "mean", "amax", "amin", "prod", "var", "std", "norm", "softmax", "log_softmax",
    "logsumexp", "cumsum", "cumprod", "softmin", "normalize", "argmax", "argmin", "median",
)  # fmt: skip


def _masked_red(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    M = lib.masked
    # not at 0: a slot that is 0 in one library is a rounding residue (2e-17) in the other
    mask = _filled(lib, other, tuple(x.shape)) > 0.125
    if ints[3] % 4 == 3:
        mask = None  # no mask: every element counts
    name = _MASKED[ints[4] % len(_MASKED)]
    if name in ("amax", "amin") and x.dtype == lib.bool:
        # chainrule's masked amax/amin refuse bool (test_found_cases_r11.py, xfail)
        x = x.long()
    d = _dim(x, ints[1])
    keep = bool(ints[2] % 2)
    f = getattr(M, name)
    if name in ("softmax", "log_softmax", "cumsum", "cumprod", "softmin"):
        return f(x, d, mask=mask)
    if name == "normalize":
        return f(x, 2.0 if ints[2] % 2 else 1.0, d, mask=mask)
    if name == "norm":
        return f(x, (2.0, 1.0, float("inf"))[ints[2] % 3], d, keepdim=keep, mask=mask)
    if name in ("var", "std"):
        if mask is not None:
            # an element of each line kept: the gradient of a line with none is NaN in torch,
            # 0 in chainrule (test_found_cases_r11.py, xfail)
            # std: two kept where the line has them, so the kept ones are not all equal:
            # at a zero std torch's second derivative is NaN at every element, chainrule's
            # at the kept ones (sqrt'(0) = inf: undefined; test_found_cases_r12.py, xfail)
            kept = 2 if name == "std" else 1
            first = (lib.arange(x.shape[d]) < kept) if x.dim() else lib.tensor(True)
            mask = mask | first.reshape([-1 if i == d else 1 for i in range(x.dim())])
        return f(x, d, unbiased=bool(ints[0] % 2), keepdim=keep, mask=mask)
    if name in ("argmax", "argmin", "median"):
        return f(x, d, keepdim=keep, mask=mask)
    if ints[0] % 3 == 0:
        # over every dim; * 1: torch's prod of a 0-d tensor without a mask is the input itself
        # (test_found_cases_r11.py, xfail)
        return f(x, mask=mask) * 1 if name == "prod" and x.dim() == 0 else f(x, mask=mask)
    return f(x, d, keepdim=keep, mask=mask)


def _lowp_chain(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Casts through float8 (the e4m3fn one saturates to NaN past 448: values kept small),
    bfloat16 and float16, with ops in between that round once in the low precision."""
    if not x.is_floating_point():
        y = x
    else:
        y = x.clamp(-200.0, 200.0)
    low = (lib.float8_e4m3fn, lib.float8_e5m2, lib.bfloat16, lib.float16)
    a = low[ints[2] % 4]
    b = low[ints[3] % 4]
    h = y.to(a)
    f = ints[4] % 7
    back = x.dtype if x.is_floating_point() else lib.float32
    if f == 0:
        return h.to(b).to(back)
    if f == 1:
        return h.to(lib.float32).to(b).to(back) * val
    if a in low[:2]:
        h = h.to(lib.bfloat16)  # float8 arithmetic: refused by both, fuzzed by the casts only
    if f == 2:
        return (h * val).to(back)
    if f == 3:
        return h.abs().amax().to(back) if h.numel() else h.to(back)
    if f == 4:
        return lib.where(h > 0, h, -h).to(b).to(back)
    if f == 5:
        o = _filled(lib, other, tuple(h.shape))
        return (h + o.to(h.dtype)).to(back)
    return h.neg().to(lib.float64)


def _func_transform(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    fn = lib.func
    v = x if x.is_floating_point() else x.double()
    w = _floating(lib, _filled(lib, other, (3,)), v)
    w = w if w.is_floating_point() else w.to(v.dtype)
    v3 = _filled(lib, v, (3,))
    f = ints[4] % 7
    if f == 0:
        m = _filled(lib, v, (2, 3))
        dim = ints[1] % 2
        return fn.vmap(lambda r: r.sin() * r.sum(), in_dims=dim, out_dims=ints[2] % 2)(m)
    if f == 1:
        a = _filled(lib, v, (2, 2, 3))
        return fn.vmap(lambda p, q: p @ q, in_dims=(0, None))(a, w)
    # * 1 on jacobians: torch's are views out of a multi-output op (its in-place ops refuse
    # them when they require grad), chainrule's plain views (test_found_cases_r11.py, xfail)
    if f == 2:
        return fn.jacrev(lambda u: (u.tanh() * w).cumsum(0))(v3) * 1
    if f == 3:
        return fn.jacfwd(lambda u: (u.tanh() * w).cumsum(0))(v3) * 1
    if f == 4:
        return fn.hessian(lambda u: (u.sin() * u).sum() * val)(v3) * 1
    if f == 5:
        return fn.grad(lambda u: (u * u * w).sum())(v3)
    out, pull = fn.vjp(lambda u: u.exp() * w, v3)
    return pull(w)[0] + out


def _sparse_more(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    m = _mat(lib, x, ints)
    f = ints[4] % 8
    if f == 0:
        h = m.to_sparse(sparse_dim=1)  # a hybrid tensor: one sparse dim, one dense
        return h.to_dense() * val if ints[1] % 2 else lib.sparse.sum(h, dim=0)
    if f == 1:
        idx = lib.tensor([ints[1] % m.shape[0], 0])
        return m.to_sparse().index_select(0, idx).to_dense()
    if f == 2:
        a = m if m.is_floating_point() else m.double()
        d1 = _filled(lib, other, (a.shape[0], 2)).to(a.dtype)
        d2 = _filled(lib, other, (2, a.shape[1])).to(a.dtype)
        out = lib.sparse.sampled_addmm(a.to_sparse_csr(), d1, d2, beta=val, alpha=0.5)
        return out.to_dense()
    s = m.to_sparse()
    if f == 3:
        return s.transpose(0, 1).coalesce().to_dense()
    if f == 4:
        if m.dtype == lib.bool:
            # torch 2.13 has no bool sparse product ("mul_out_sparse" not implemented for
            # 'Bool'), chainrule computes it (seed 946); not mirrored
            s = s.long()
        return (s * s).to_dense()
    if f == 5:
        return m.to_sparse_csr().to_sparse_csc().to_dense() if m.is_floating_point() else m
    if f == 6:
        # duplicate indices, summed by coalesce; the values detached: torch's double backward
        # through sparse_coo_tensor(values).to_dense() drops the terms of the upstream
        # gradient (test_found_cases_r11.py, xfail)
        v = _filled(lib, x, (3,)).detach()
        idx = lib.tensor([[0, 1, 0], [1, 0, 1]])
        return lib.sparse_coo_tensor(idx, v, (2, 2)).coalesce().to_dense()
    return s.abs().sqrt().to_dense() if m.is_floating_point() else s.abs().to_dense()


def _func_more(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    fn = lib.func
    v = x if x.is_floating_point() else x.double()
    m = _filled(lib, v, (2, 3))
    b = _filled(lib, other, (3, 2))
    b = b.to(v.dtype) if b.dtype != v.dtype else b
    f = ints[4] % 6
    if f == 0:
        return fn.vmap(lambda p, q: p * q.sum(), in_dims=(0, 1))(m, b)
    if f == 1:
        return fn.vmap(lambda r: r.amax() + r.logsumexp(0), chunk_size=1)(m)
    if f == 2:
        ja, jb = fn.jacrev(lambda p, q: (p @ q).tanh(), argnums=(0, 1))(m, b)
        return (ja if ints[1] % 2 else jb) * 1  # as _func_transform's
    if f == 3:
        out, jvp_fn = fn.linearize(lambda p: p.sin() * p, m)
        return jvp_fn(m.cos()) + out
    if f == 4:
        return fn.vmap(fn.vmap(lambda e: e * e + val))(m)
    out, tan = fn.jvp(lambda p: p.exp().cumsum(-1), (m,), (b.mT.contiguous(),))
    return tan if ints[1] % 2 else out


def _checkpoint(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    v = x if x.is_floating_point() else x.double()
    w = _filled(lib, other, tuple(v.shape))
    w = w.to(v.dtype) if w.dtype != v.dtype else w

    def body(a: Any, b: Any) -> Any:
        return (a.sin() * b + a * val).tanh()

    cp = lib.utils.checkpoint.checkpoint
    if ints[4] % 2:
        return cp(body, v, w, use_reentrant=False)
    # bounded: exp of a large value then cos amplifies an ulp of the input past 1e-9
    fns = [lambda t: t.tanh() * 2, lambda t: t.exp(), lambda t: t.cos()]
    return lib.utils.checkpoint.checkpoint_sequential(fns, 2, v, use_reentrant=False)


def r11_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    if kind in R11_NN:
        return r11_nn_step(lib, kind, x, other, third, ints, val)
    if kind == "sparse_coo":
        return _sparse_coo(lib, x, other, ints, val)
    if kind == "sparse_csr":
        return _sparse_csr(lib, x, other, ints, val)
    if kind == "masked_red":
        return _masked_red(lib, x, other, ints, val)
    if kind == "lowp_chain":
        return _lowp_chain(lib, x, other, ints, val)
    if kind == "func_transform":
        return _func_transform(lib, x, other, ints, val)
    if kind == "sparse_more":
        return _sparse_more(lib, x, other, ints, val)
    if kind == "func_more":
        return _func_more(lib, x, other, ints, val)
    if kind == "checkpoint":
        return _checkpoint(lib, x, other, ints, val)
    raise AssertionError(kind)
