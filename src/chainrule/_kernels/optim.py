"""Optimizer arithmetic as PyTorch's CPU kernels round it: a fused multiply-add that rounds
once, and the fused Adam/AdamW, SGD and RMSprop updates built on it (Adagrad, Adamax, NAdam
and RAdam: :mod:`.optim_more`).

PyTorch's vectorised CPU kernels compute, in float32 (found by experiment against torch 2.13;
``fma`` rounds once, every other operation rounds to float32, scalars are rounded to
float32 first):

- ``x.lerp_(end, w)``: ``fma(w, end - x, x)`` for ``|w| < 0.5``, else
  ``fma(-(end - x), 1 - w, end)`` (``1 - w`` in float32);
- ``x.addcmul_(a, b, value=v)``: ``fma(v * a, b, x)``;
- ``x.add_(y, alpha=a)``: ``fma(a, y, x)``;
- ``x.addcdiv_(a, b, value=v)``: ``x + (v * a) / b`` (no fma);
- ``x.mul_(s)``, ``x / s``, ``x.add_(s)``: one float32 operation each.

:func:`fma` is the one-rounding multiply-add of float32 operands: the hardware instruction
(LLVM's ``llvm.fma.f32``) in compiled kernels; in NumPy the product in float64 (exact) plus
the addend, rounded to float32 (exact but for rare double-rounding ties, see
:func:`fma32_numpy`). For float64 and other dtypes it is ``a * b + c`` rounded twice, in
both paths (NumPy has no exact float64 fma), so the compiled and NumPy paths always agree
bit for bit.

The fused Adam/AdamW loop (:func:`adam_step`) reads each element once and writes three
(NumPy's in-place sequence reads and writes the arrays about ten times); with AMSGrad
(:func:`adam_amsgrad_step`, a second kernel so that plain Adam's call keeps its six
arguments) the running maximum ``vmax = maximum(vmax, v)`` (NumPy's NaN-propagating
``maximum``) takes ``v``'s place under the square root::

    p  = p * decay                               (AdamW only: DECAY)
    g  = fma(wd, p, ±grad)                       (MAXIMIZE, WEIGHT_DECAY)
    m  = lerp(m, g, 1 - beta1)                   (PyTorch's two branches)
    v  = fma((1 - beta2) * g, g, v * beta2)
    p  = p + (m * -step_size) / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The Adam, SGD and RMSprop steps (and :mod:`.optim_more`'s) read their options from one
``mode`` int and their scalars from one ``scalars`` argument, a tuple of Python floats that
the kernel rounds to the arrays' dtype (``t(scalars[i])``, as NumPy's ``np.array(scalars,
dtype)`` rounds them; an array of the dtype works too): each argument costs Numba's
dispatcher time, which is most of a small parameter's update, and a tuple costs less than
making an array.

All arrays are flat (1-d) views of C-contiguous arrays of one dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import jit, jit_helpers

__all__ = [
    "adam_amsgrad_step",
    "adam_grad",
    "adam_moments",
    "adam_options",
    "adam_step",
    "fma",
    "fma32_numpy",
    "fma_arrays",
    "fma_scalar",
    "rmsprop_step",
    "sgd_step",
]


def fma(a, b, c):  # noqa: ANN001, ANN201 - a kernel helper (scalars)
    """``a * b + c`` for kernel bodies: a float32 fma rounded once (the FMA instruction
    once Numba is imported: this name is then rebound to :func:`_fma_intrinsic`'s
    intrinsic), else ``a * b + c``."""
    if isinstance(a, np.float32):
        return fma32_numpy(np.float32(a), np.float32(b), np.float32(c))[()]
    return a * b + c


def _fma_intrinsic(numba: Any, fn: Any) -> Any:
    """:func:`fma` as a Numba intrinsic: ``llvm.fma.f32`` for float32 (one rounding; the
    FMA instruction, vectorised by LLVM), ``fmul`` + ``fadd`` for float64."""
    from llvmlite import ir  # noqa: PLC0415 - only with Numba, which depends on llvmlite
    from numba.core import cgutils  # noqa: PLC0415
    from numba.extending import intrinsic  # noqa: PLC0415

    types = numba.types

    @intrinsic
    def fma_(typingctx: Any, a: Any, b: Any, c: Any) -> Any:  # pragma: no cover - compile time
        if not (isinstance(a, types.Float) and a == b == c):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            if a.bitwidth == 32:
                flt = ir.FloatType()
                fnty = ir.FunctionType(flt, [flt, flt, flt])
                fn_ = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f32")
                return builder.call(fn_, list(args))
            return builder.fadd(builder.fmul(args[0], args[1]), args[2])

        return a(a, b, c), codegen

    return fma_


fma = jit_helpers._register_helper(fma, _fma_intrinsic)  # noqa: SLF001


# NumPy's default ufunc buffer (np.getbufsize()): an add with an output cast up to this size
# is one buffered chunk
_ONE_BUFFER = 8192


def fma32_numpy(a: Any, b: Any, c: Any, out: Any = None) -> Any:
    """``a * b + c`` of float32 operands (arrays or float32 scalars, broadcast) rounded to
    float32 as an FMA instruction rounds it, in NumPy: a float32 product is exact in float64,
    so the float64 sum is off the exact one by one float64 rounding, and rounding that to
    float32 gives the FMA's result except where the float64 sum lands exactly on a float32
    tie it was not (about one element in 2^28 of random data: not repaired, since finding
    them costs three more passes on every call, which doubled small optimizer steps).
    Writes ``out`` (which may be one of the operands) if given.

    Two NumPy calls for an ``out`` of up to :data:`_ONE_BUFFER` elements: the float64 sum is
    rounded into ``out`` by the add's own output cast (measured, CPU time, 2-core machine
    under load: 2.2 vs 2.9 µs at 1 element, 2.55 vs 2.8 µs at 256, equal at 8192); larger,
    the add in place and a separate cast (the buffered cast measured 5% slower at 30000)."""
    s = np.multiply(a, b, dtype=np.float64)
    if out is not None and out.size <= _ONE_BUFFER:
        np.add(s, c, out=out, casting="same_kind")
        return out
    if type(s) is np.ndarray and s.shape == np.shape(c):
        np.add(s, c, out=s)
    else:
        s = np.add(s, c, dtype=np.float64)
    if out is None:
        return np.asarray(s).astype(np.float32)
    np.copyto(out, s, casting="same_kind")
    return out


def _fma_scalar_numpy(s, x, y, out) -> None:  # noqa: ANN001
    if out.dtype == np.float32:
        fma32_numpy(s, x, y, out=out)
    else:
        np.add(x * s, y, out=out)


@jit.kernel(fallback=_fma_scalar_numpy)
def fma_scalar(s, x, y, out):  # pragma: no cover - compiled by Numba
    """``out = fma(s, x, y)`` elementwise (``s`` a scalar of the arrays' dtype)."""
    for i in range(out.size):
        out[i] = fma(s, x[i], y[i])


def _fma_arrays_numpy(x, y, z, out) -> None:  # noqa: ANN001
    if out.dtype == np.float32:
        fma32_numpy(x, y, z, out=out)
    else:
        np.add(x * y, z, out=out)


@jit.kernel(fallback=_fma_arrays_numpy)
def fma_arrays(x, y, z, out):  # pragma: no cover - compiled by Numba
    """``out = fma(x, y, z)`` elementwise."""
    for i in range(out.size):
        out[i] = fma(x[i], y[i], z[i])


# The mode bits of the optimizer kernels (one int argument: each argument costs Numba's
# dispatcher time, which is most of a small parameter's update); DECAY is AdamW's decoupled
# ``p *= 1 - lr·wd`` before the update (Adam, NAdam, RAdam)
MAXIMIZE, WEIGHT_DECAY, MOMENTUM, FIRST, NESTEROV, CENTERED, DECAY = 1, 2, 4, 8, 16, 32, 64


def _scalars(scalars, param):  # noqa: ANN001, ANN202
    """A NumPy fallback's ``scalars`` (a tuple of Python floats, or an array) as an array of
    ``param``'s dtype: each float rounded to it, as the compiled kernels' ``t(scalars[i])``
    and PyTorch round a Python-float scalar."""
    return np.asarray(scalars, param.dtype)


def _grad_numpy(param, grad, wd, mode):  # noqa: ANN001, ANN202
    """The gradient a rule sees (a new array): negated under MAXIMIZE, plus the L2 term."""
    g = np.negative(grad) if mode & MAXIMIZE else grad.copy()
    if mode & WEIGHT_DECAY:
        _fma_scalar_numpy(wd, param, g, g)
    return g


def _lerp_numpy(m, g, w, one) -> None:  # noqa: ANN001
    """``m.lerp_(g, w)`` in place, PyTorch's two branches."""
    diff = g - m
    if abs(w) < 0.5:
        _fma_scalar_numpy(w, diff, m, m)
    else:
        np.negative(diff, out=diff)
        _fma_scalar_numpy(one - w, diff, g, m)


@jit.inline
def adam_grad(p, g, decay, wd, has_decay, maximize, has_wd):  # noqa: ANN001, ANN201
    """The Adam family's first step for one element (a kernel helper, inlined): ``p *=
    decay`` (AdamW's decoupled decay), ``g = -g`` (maximize), ``g = fma(wd, p, g)`` (L2);
    returns ``(p, g)``."""
    if has_decay:
        p = p * decay
    if maximize:
        g = -g
    if has_wd:
        g = fma(wd, p, g)
    return p, g


@jit.inline
def adam_moments(g, mi, vi, lerp_w, low, omb2, beta2):  # noqa: ANN001, ANN201
    """The Adam family's moments for one element (a kernel helper, inlined): ``m`` lerped
    towards ``g`` (PyTorch's two branches: ``low`` is ``|1 - beta1| < 0.5``), ``v = fma(g *
    (1 - beta2), g, v * beta2)``; returns ``(m, v)``."""
    mi = fma(lerp_w, g - mi, mi) if low else fma(lerp_w, -(g - mi), g)
    return mi, fma(g * omb2, g, vi * beta2)


@jit.inline
def adam_options(param, scalars, mode):  # noqa: ANN001, ANN201
    """The scalars and options of :func:`adam_step` and :func:`adam_amsgrad_step` (a kernel
    helper, inlined): ``scalars`` rounded to ``param``'s dtype, PyTorch's lerp branch (``low``
    is ``|1 - beta1| < 0.5``, ``lerp_w`` the weight that branch takes) and ``mode``'s bits;
    returns ``(lerp_w, low, beta2, 1 - beta2, bc2_sqrt, eps, -step_size, wd, decay,
    maximize, has_wd, has_decay)``."""
    t = param.dtype.type
    w, beta2, omb2 = t(scalars[0]), t(scalars[1]), t(scalars[2])
    bc2_sqrt, eps, neg_step = t(scalars[3]), t(scalars[4]), t(scalars[5])
    wd, decay, one = t(scalars[6]), t(scalars[7]), t(scalars[8])
    low = abs(w) < 0.5
    lerp_w = w if low else one - w
    maximize = (mode & MAXIMIZE) != 0
    has_wd = (mode & WEIGHT_DECAY) != 0
    has_decay = (mode & DECAY) != 0
    return lerp_w, low, beta2, omb2, bc2_sqrt, eps, neg_step, wd, decay, maximize, has_wd, has_decay


def _adam_numpy(param, grad, m, v, scalars, mode, vmax=None) -> None:  # noqa: ANN001
    w, beta2, omb2, bc2_sqrt, eps, neg_step, wd, decay, one = _scalars(scalars, param)
    if mode & DECAY:
        param *= decay
    g = _grad_numpy(param, grad, wd, mode)
    _lerp_numpy(m, g, w, one)  # exp_avg.lerp_(grad, 1 - beta1)
    v *= beta2  # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    _fma_arrays_numpy(g * omb2, g, v, v)
    if vmax is not None:  # torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        np.maximum(vmax, v, out=vmax)
        v = vmax
    den = np.sqrt(v)
    den /= bc2_sqrt
    den += eps
    np.multiply(m, neg_step, out=g)  # param.addcdiv_(exp_avg, denom, value=-step_size)
    g /= den
    param += g


@jit.kernel(fallback=_adam_numpy)
def adam_step(param, grad, m, v, scalars, mode):  # pragma: no cover - compiled by Numba
    """One Adam/AdamW update of ``param``, ``m`` and ``v`` in place: ``p *= decay``
    (``DECAY``), ``g = fma(wd, p, ±grad)`` (``MAXIMIZE``, ``WEIGHT_DECAY``), ``m`` lerped
    towards ``g`` by ``w = 1 - beta1`` (PyTorch's two branches), ``v = fma(g * (1 - beta2),
    g, v * beta2)``, ``p = p + (m * -step_size) / (sqrt(v) / bc2_sqrt + eps)``. ``scalars``
    = ``(1 - beta1, beta2, 1 - beta2, bc2_sqrt, eps, -step_size, weight_decay, decay, 1)``,
    Python floats (or an array) rounded here to the arrays' dtype."""
    (lerp_w, low, beta2, omb2, bc2_sqrt, eps, neg_step, wd, decay, maximize, has_wd, has_decay) = (
        adam_options(param, scalars, mode)
    )
    for i in range(param.size):
        p, g = adam_grad(param[i], grad[i], decay, wd, has_decay, maximize, has_wd)
        mi, vi = adam_moments(g, m[i], v[i], lerp_w, low, omb2, beta2)
        m[i] = mi
        v[i] = vi
        param[i] = p + (mi * neg_step) / (np.sqrt(vi) / bc2_sqrt + eps)


def _adam_amsgrad_numpy(param, grad, m, v, vmax, scalars, mode) -> None:  # noqa: ANN001
    _adam_numpy(param, grad, m, v, scalars, mode, vmax)


@jit.kernel(fallback=_adam_amsgrad_numpy)
def adam_amsgrad_step(param, grad, m, v, vmax, scalars, mode):  # pragma: no cover - compiled
    """:func:`adam_step` with AMSGrad: after ``v``'s update, ``vmax = maximum(vmax, v)``
    (``vmax`` when ``vmax > v`` or ``vmax`` is NaN, else ``v``: NumPy's ``maximum``, NaN
    propagated, a tie of 0 and -0 giving ``v``) is stored and its square root taken in
    ``v``'s place. The same ``scalars`` and ``mode``."""
    (lerp_w, low, beta2, omb2, bc2_sqrt, eps, neg_step, wd, decay, maximize, has_wd, has_decay) = (
        adam_options(param, scalars, mode)
    )
    for i in range(param.size):
        p, g = adam_grad(param[i], grad[i], decay, wd, has_decay, maximize, has_wd)
        mi, vi = adam_moments(g, m[i], v[i], lerp_w, low, omb2, beta2)
        m[i] = mi
        v[i] = vi
        x = vmax[i]
        if not (x > vi or x != x):  # a tie gives v, as NumPy's maximum (its sign of 0)
            x = vi
        vmax[i] = x
        param[i] = p + (mi * neg_step) / (np.sqrt(x) / bc2_sqrt + eps)


def _sgd_numpy(param, grad, buf, scalars, mode) -> None:  # noqa: ANN001
    neg_lr, wd, momentum, one_minus_damp = _scalars(scalars, param)
    g = np.negative(grad) if mode & MAXIMIZE else grad.copy()
    if mode & WEIGHT_DECAY:
        _fma_scalar_numpy(wd, param, g, g)  # grad.add(param, alpha=weight_decay)
    if mode & MOMENTUM:
        if mode & FIRST:
            buf[...] = g  # the first buffer: a copy of the gradient
        else:  # buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            buf *= momentum
            _fma_scalar_numpy(one_minus_damp, g, buf, buf)
        if mode & NESTEROV:
            _fma_scalar_numpy(momentum, buf, g, g)  # grad.add(buf, alpha=momentum)
        else:
            g = buf
    _fma_scalar_numpy(neg_lr, g, param, param)  # param.add_(grad, alpha=-lr)


@jit.kernel(fallback=_sgd_numpy)
def sgd_step(param, grad, buf, scalars, mode):  # pragma: no cover - compiled by Numba
    """One SGD update of ``param`` in place, PyTorch's single-tensor sequence: ``g = fma(wd,
    p, ±grad)``; with ``MOMENTUM``, ``buf = fma(1 - dampening, g, buf * momentum)`` (the
    gradient itself when ``FIRST``) and ``g = fma(momentum, buf, g)`` (``NESTEROV``) or ``g =
    buf``; then ``p = fma(-lr, g, p)``. ``scalars`` holds ``(-lr, weight_decay, momentum, 1 -
    dampening)`` in the arrays' dtype; ``buf`` is not read without ``MOMENTUM``."""
    t = param.dtype.type  # the scalars (a tuple of floats or an array) in the dtype
    neg_lr, wd, momentum = t(scalars[0]), t(scalars[1]), t(scalars[2])
    one_minus_damp = t(scalars[3])
    maximize = (mode & MAXIMIZE) != 0
    has_wd = (mode & WEIGHT_DECAY) != 0
    has_mom = (mode & MOMENTUM) != 0
    first = (mode & FIRST) != 0
    nesterov = (mode & NESTEROV) != 0
    for i in range(param.size):
        g = grad[i]
        if maximize:
            g = -g
        if has_wd:
            g = fma(wd, param[i], g)
        if has_mom:
            if first:
                b = g
            else:
                b = fma(one_minus_damp, g, buf[i] * momentum)
            buf[i] = b
            if nesterov:
                g = fma(momentum, b, g)
            else:
                g = b
        param[i] = fma(neg_lr, g, param[i])


def _rmsprop_numpy(param, grad, sq, grad_avg, buf, scalars, mode) -> None:  # noqa: ANN001
    neg_lr, wd, alpha, w, eps, momentum, one = _scalars(scalars, param)
    g = np.negative(grad) if mode & MAXIMIZE else grad.copy()
    if mode & WEIGHT_DECAY:
        _fma_scalar_numpy(wd, param, g, g)
    sq *= alpha  # square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    _fma_arrays_numpy(g * w, g, sq, sq)
    if (
        mode & CENTERED
    ):  # grad_avg.lerp_(grad, 1 - alpha), square_avg.addcmul(grad_avg, grad_avg, -1)
        diff = g - grad_avg
        if abs(w) < 0.5:
            _fma_scalar_numpy(w, diff, grad_avg, grad_avg)
        else:
            np.negative(diff, out=diff)
            _fma_scalar_numpy(one - w, diff, g, grad_avg)
        avg = np.empty_like(sq)
        _fma_arrays_numpy(np.negative(grad_avg), grad_avg, sq, avg)
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(sq)
    avg += eps
    if mode & MOMENTUM:  # buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
        buf *= momentum
        buf += g / avg
        _fma_scalar_numpy(neg_lr, buf, param, param)
    else:  # param.addcdiv_(grad, avg, value=-lr)
        g *= neg_lr
        g /= avg
        param += g


@jit.kernel(fallback=_rmsprop_numpy)
def rmsprop_step(param, grad, sq, grad_avg, buf, scalars, mode):  # pragma: no cover - compiled
    """One RMSprop update of ``param`` and ``sq`` in place (``grad_avg`` with ``CENTERED``,
    ``buf`` with ``MOMENTUM``: not read otherwise), PyTorch's single-tensor sequence: ``g =
    fma(wd, p, ±grad)``, ``sq = fma(g * (1 - alpha), g, sq * alpha)``; centered, ``grad_avg``
    lerped towards ``g`` (``fma(w, g - a, a)`` for ``|w| < 0.5``, else ``fma(1 - w, -(g -
    a), g)``, ``w = 1 - alpha``) and ``avg = sqrt(fma(-a, a, sq)) + eps``, else ``avg =
    sqrt(sq) + eps``; with momentum ``buf = buf * momentum + g / avg`` and ``p = fma(-lr,
    buf, p)``, else ``p = p + (g * -lr) / avg``. ``scalars`` holds ``(-lr, weight_decay,
    alpha, 1 - alpha, eps, momentum, 1)`` in the arrays' dtype."""
    t = param.dtype.type  # the scalars (a tuple of floats or an array) in the dtype
    neg_lr, wd, alpha = t(scalars[0]), t(scalars[1]), t(scalars[2])
    w, eps = t(scalars[3]), t(scalars[4])
    momentum = t(scalars[5])
    low = abs(w) < 0.5
    lerp_w = w if low else t(scalars[6]) - w  # 1 - w rounded in the dtype
    maximize = (mode & MAXIMIZE) != 0
    has_wd = (mode & WEIGHT_DECAY) != 0
    has_mom = (mode & MOMENTUM) != 0
    centered = (mode & CENTERED) != 0
    for i in range(param.size):
        g = grad[i]
        if maximize:
            g = -g
        if has_wd:
            g = fma(wd, param[i], g)
        s = fma(g * w, g, sq[i] * alpha)
        sq[i] = s
        if centered:
            a = grad_avg[i]
            if low:
                a = fma(lerp_w, g - a, a)
            else:
                a = fma(lerp_w, -(g - a), g)
            grad_avg[i] = a
            avg = np.sqrt(fma(-a, a, s)) + eps
        else:
            avg = np.sqrt(s) + eps
        if has_mom:
            b = buf[i] * momentum + g / avg
            buf[i] = b
            param[i] = fma(neg_lr, b, param[i])
        else:
            param[i] = param[i] + (g * neg_lr) / avg
