"""Step kinds for :mod:`tests.fuzz.programs`, session 38: ``torch.autograd.functional``
(``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp`` with ``create_graph=True``, so
their results stay differentiable in the slot, ``vectorize``/``strategy``/``strict``), the
dtype-conversion methods (``type_as``, ``type(dtype)``, ``new_*``, ``half``/``bfloat16`` round
trips, ``to(tensor)``, ``to(copy=True)``, float -> integer truncation), ``linalg.norm`` (vector
or matrix by ``ord``/``dim``, ``keepdim``, ``dtype=``) and ``torch.norm``, the general
eigenproblem (``linalg.eig``/``eigvals`` read through invariants: eigenvalue order and
eigenvector phases are LAPACK's choice), in-place ops whose result type cannot be cast
back to the written tensor's dtype (both refuse: compared by presence) and the in-place
math methods the other tables leave out (``fmod_``, ``remainder_``, ``hypot_``,
``atan2_``, ``xlogy_``, ``copysign_``, ``float_power_``, ``renorm_``, ``addcdiv_``,
``nan_to_num_``, ``clamp_min_``/``clamp_max_`` with a tensor bound, ``sinc_``) on an
intermediate, differentiated through.

As the other tables: every kind is valid for every slot (operands made from a slot's elements
by :func:`~tests.fuzz.nn_step_parts._filled`, so gradients flow back to it); an operation
both libraries refuse is an error event, compared by presence.
"""

from __future__ import annotations

import math
from typing import Any

from .more_steps import _dim, near_zero
from .nn_step_parts import _filled

__all__ = ["S38", "s38_step"]

S38 = ("autograd_fn", "dtype_method", "linalg_norm", "eig_general", "inplace_promo",
       "inplace_math")  # fmt: skip


def _float(lib: Any, x: Any) -> Any:
    return x if x.is_floating_point() else x.double()


def _autograd_fn(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    AF = lib.autograd.functional
    v = _float(lib, x)
    a = _filled(lib, v, (3,))
    w = _filled(lib, _float(lib, other), (3,)).to(a.dtype)
    f = ints[4] % 8

    def fn(t: Any) -> Any:
        return (t.sin() * t + val * t * t.sum()).tanh()

    def scal(t: Any) -> Any:
        return (t.exp() * w.detach()).sum() + (t * t).sum() * val

    if f == 0:
        vec = bool(ints[3] % 2)
        if vec and ints[2] % 2:
            # forward mode: torch refuses it with create_graph=True (NotImplementedError).
            # Of a detached input: torch 2.13's forward-mode Jacobian of an input requiring
            # grad stays attached to the graph (requires_grad, a grad_fn) without
            # create_graph, chainrule's is detached as its reverse-mode one (seed 934;
            # test_found_cases_s38.py, xfail)
            return AF.jacobian(fn, a.detach(), vectorize=True, strategy="forward-mode")
        # (a copy: torch's vectorized Jacobian is a view from a multi-output view function
        # (its split), which refuses an in-place write later; chainrule's is a plain tensor
        # there; session 42, seed 977, reported)
        jac = AF.jacobian(fn, a, create_graph=True, vectorize=vec)
        return jac * 1 if vec else jac
    if f == 1:
        return AF.hessian(scal, a, create_graph=True, vectorize=bool(ints[3] % 2))
    if f == 2:
        out, g = AF.vjp(fn, a, w, create_graph=True)
        return g if ints[3] % 2 else out
    if f == 3:
        out, g = AF.jvp(fn, a, w, create_graph=True)
        return g if ints[3] % 2 else out
    if f == 4:
        out, g = AF.hvp(scal, a, w, create_graph=True)
        return g if ints[3] % 2 else out
    if f == 5:
        out, g = AF.vhp(scal, a, w, create_graph=True)
        return g if ints[3] % 2 else out
    if f == 6:
        # two inputs, two outputs: a tuple of tuples of Jacobians
        jac = AF.jacobian(lambda p, q: (p * q, (p - q).sum()), (a, w), create_graph=True)
        return jac[ints[3] % 2][ints[2] % 2]
    # strict: an output independent of its input raises in both (a detached result)
    return AF.jacobian(lambda t: t.detach() * 2, a, strict=bool(ints[3] % 2))


def _dtype_method(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    f = ints[4] % 12
    if f == 0:
        return x.type_as(other) * 1
    if f == 1:
        dt = (lib.float32, lib.float64, lib.int64, lib.bool, lib.int16)[ints[3] % 5]
        return x.type(dt)
    if f == 2:
        shape = (2, ints[3] % 3)
        return x.new_full(shape, val) + x.new_zeros(shape) + x.new_ones(shape)
    if f == 3:
        return x.new_tensor([val, 2.0, -1.0]) if ints[3] % 2 else x.new_empty((2, 0))
    if f == 4:
        if not x.is_floating_point():
            return x.half()
        # a float16/bfloat16 round trip: the gradient is cast back (rounded values; small
        # ints drawn, so both formats hold most of them exactly)
        low = x.half() if ints[3] % 2 else x.bfloat16()
        return low.to(x.dtype) * 2
    if f == 5:
        return x.to(other) * 1
    if f == 6:
        return x.to(x.dtype, copy=True) * 1
    if f == 7:
        # float -> integer: truncation toward zero (kept in range: out-of-range casts are
        # undefined in C)
        y = _float(lib, x).detach().clamp(-50, 50) * 3.7
        return y.to((lib.int32, lib.int8, lib.int64)[ints[3] % 3])
    if f == 8:
        return x.bool().float() * x.float() if ints[3] % 2 else x.double().long()
    if f == 9:
        return x.to(dtype=lib.float32).to(lib.float64) if ints[3] % 2 else x.float().sum()
    if f == 10:
        # complex round trip: the real part keeps the gradient
        z = x.to(lib.complex128) if ints[3] % 2 else x.cfloat()
        return (z * (1 + 1j)).real
    return x.new_tensor(x.detach()) * 2 if ints[3] % 2 else x.new_ones(()).expand(2) * x.sum()


def _linalg_norm(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    L = lib.linalg
    v = _float(lib, x)
    keep = bool(ints[3] % 2)
    f = ints[4] % 7
    if f == 0:
        # vector: ord None/inf/-inf/0/1/2/-1/0.5 over all elements or one dim
        ord_ = (None, math.inf, -math.inf, 0, 1, 2, -1, 0.5)[ints[2] % 8]
        # off zero: the p-norms with p < 1 (and ord=2) have no derivative at 0
        y = v + 0.125 * near_zero(v)
        dim = None if ints[1] % 2 or v.dim() > 1 else _dim(v, ints[1])
        if dim is None and v.dim() > 2 and ord_ is not None:
            y = y.reshape(-1)  # linalg.norm with an ord over > 2 dims needs a dim
        return L.norm(y, ord_, dim, keepdim=keep)
    m = _filled(lib, v, (2, 3)) if ints[1] % 2 else _filled(lib, v, (2, 2, 3))
    m = m + 0.125 * near_zero(m)
    if f == 1:
        ord_ = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)[ints[2] % 8]
        return L.norm(m, ord_, (-2, -1), keepdim=keep)
    if f == 2:
        # dtype=: computed in the wider type. The float32 input detached: torch 2.13's
        # backward casts the float64 gradient to float32 before its formula (x / norm in
        # float32), chainrule's works in float64 and rounds once: 1 float32 ulp apart
        # (test_found_cases_s38.py, xfail); the values agree
        wide = L.norm(m.float().detach(), dtype=lib.float64)
        return wide if ints[2] % 2 else L.norm(m, keepdim=keep)
    if f == 3:
        # a 2-tuple dim with no ord: Frobenius
        return L.norm(m, dim=(0, -1), keepdim=keep)
    if f == 4:
        p = ("fro", 2, 1, math.inf, 3)[ints[2] % 5]
        dim = (0, 1) if ints[1] % 3 else None
        return lib.norm(m, p=p, dim=dim, keepdim=keep) if dim else lib.norm(m, p=p)
    if f == 5:
        # an ord the matrix norm refuses (3) / a vector ord over a 2-tuple: both raise
        return L.norm(m, 3, (0, 1)) if ints[2] % 2 else L.matrix_norm(m, ord=0.5)
    return L.norm(m.to(lib.complex128) * (1 + 0.5j), keepdim=keep)


def _nonsym(lib: Any, y: Any, k: int, ints: tuple) -> Any:
    """A k x k real matrix from ``y`` with well separated eigenvalues (a spread diagonal plus a
    small, NaN-free, non-symmetric part), so the eigenvalue derivatives are well conditioned."""
    a = _filled(lib, _float(lib, y), (k, k))
    a = lib.where(a.isfinite(), a, 0.0).tanh() * 0.3
    diag = lib.arange(k, dtype=a.dtype) * 2.0 + 1.0
    if ints[3] % 3 == 0:
        # a rotation block: a complex-conjugate pair of eigenvalues
        rot = lib.zeros(k, k, dtype=a.dtype)
        rot[0, 1], rot[1, 0] = 2.0, -2.0
        return a + rot + lib.diag_embed(diag)
    return a + lib.diag_embed(diag)


def _eig_general(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    L = lib.linalg
    k = 2 + ints[1] % 2
    a = _nonsym(lib, x, k, ints)
    f = ints[4] % 6
    if f == 0:
        w = L.eigvals(a)
        return w.prod().real  # the determinant
    if f == 1:
        w = L.eigvals(a)
        return (w * w).sum().real  # trace(A^2)
    if f == 2:
        w, vec = L.eig(a)
        # eigenvectors: unit columns of a LAPACK-chosen phase; |v| is invariant
        return (vec.abs() ** 2).sum(-2) + w.abs().sum()
    if f == 3:
        w, vec = L.eig(a)
        # A V - V diag(w): the residual, through both outputs (zero up to rounding: scaled)
        return (a.to(vec.dtype) @ vec - vec * w).abs().sum() * 0 + w.real.sum()
    if f == 4:
        # a complex input
        z = a.to(lib.complex128) * (1 + 0.25j)
        return L.eigvals(z).sum()
    # an integer or a non-square matrix: both refuse
    return L.eig(_filled(lib, x, (2, 3))) if ints[3] % 2 else L.eigvals(a.long())


def _inplace_promo(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """An in-place op on a copy of ``x`` with an operand of another dtype: the result type
    must cast to ``x``'s dtype (float into int, or anything but bool into bool, raises)."""
    y = x.detach().clone()
    src = _filled(lib, other.detach(), tuple(y.shape))
    f = ints[4] % 8
    if f == 0:
        y.add_(src)
    elif f == 1:
        y.mul_(val)  # a Python float into an integer tensor: refused
    elif f == 2:
        y.sub_(3)  # an int into a bool tensor: refused (sub on bools too)
    elif f == 3:
        y.div_(2) if ints[3] % 2 else y.div_(2, rounding_mode="floor")
    elif f == 4:
        y.copy_(src)  # copy_ casts whatever the dtypes
    elif f == 5:
        y.clamp_(min=0.5) if ints[3] % 2 else y.clamp_(min=0)
    elif f == 6:
        y.masked_fill_(src != 0, val)  # masked_fill_ casts its value
    else:
        y.pow_(2) if ints[3] % 2 else y.bitwise_and_(src) if not y.is_floating_point() else y.abs_()
    return y


def _inplace_math(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """One in-place math method on ``y = x * 1`` (an intermediate: the write is recorded)
    with an operand made from ``other``; ``y`` is returned."""
    y = _float(lib, x) * 1
    o = _filled(lib, _float(lib, other), tuple(y.shape)).to(y.dtype)
    f = ints[4] % 12
    if f == 0:
        # divisors off 0 and the dividend off the jumps (a multiple of the divisor)
        d = o.abs() + 0.75
        y.add_(0.01 * d).fmod_(d) if ints[3] % 2 else y.remainder_(d)
    elif f == 1:
        y.hypot_(o * o + 0.5)  # off (0, 0): no derivative there
    elif f == 2:
        y.atan2_(o * o + 0.25)
    elif f == 3:
        y.xlogy_(o * o + 0.5)
    elif f == 4:
        y.add_(0.125 * near_zero(y)).copysign_(o + 0.125 * near_zero(o))
    elif f == 5:
        # float_power_ of a float64 tensor (refused in place for float32: the result is
        # float64): both refuse or both compute
        y.abs_().add_(0.5).float_power_(1.5 if ints[3] % 2 else 2)
    elif f == 6:
        if y.dim() >= 1:
            y.renorm_(2, 0, 0.5 + ints[3] % 2) if ints[3] % 3 else y.renorm_(1, -1, 1.0)
        else:
            y.mul_(2)
    elif f == 7:
        y.addcdiv_(o, o * o + 1.0, value=val)
    elif f == 8:
        y.div_(o.abs() < 0.3).nan_to_num_(nan=0.5, posinf=2.0, neginf=-2.0)
    elif f == 9:
        # bounds off y's values (clamp's gradient at a tie is each library's own)
        bound = o.detach() + 0.0625 * (o.detach() == y.detach())
        y.clamp_min_(bound) if ints[3] % 2 else y.clamp_max_(bound)
    elif f == 10:
        y.sinc_()
    else:
        y.lerp_(o, (o * 0.5).sigmoid()).sub_(o, alpha=val)
    return y


_TABLE = {
    "autograd_fn": _autograd_fn,
    "dtype_method": _dtype_method,
    "linalg_norm": _linalg_norm,
    "eig_general": _eig_general,
    "inplace_promo": _inplace_promo,
    "inplace_math": _inplace_math,
}


def s38_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    return _TABLE[kind](lib, x, other, ints, val)
