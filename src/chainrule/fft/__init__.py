"""Discrete Fourier transforms, mirroring ``torch.fft``.

Every transform is differentiable (reverse and forward mode, complex inputs included, in
PyTorch's conjugate convention) through the primitives of ``ops/fft.py``; argument rules,
result dtypes and errors are PyTorch's: real float32 input gives complex64, float64 gives
complex128, integers are promoted to the default float dtype first; ``n``/``s`` cut or
zero-pad the input; ``norm`` is ``"backward"`` (default: the inverse scales by 1/n),
``"forward"`` or ``"ortho"``.

One difference: PyTorch's CPU build fails with an MKL error on a transform over a tensor
with a zero-sized batch dim; chainrule returns the empty result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import creation as _creation
from .. import dtypes as _dt
from .._package_dir import package_dir as _package_dir
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.tensor import Tensor
from ..ops._tensor_args import called_as
from ..ops._util import as_tensor
from ..ops.fft import (
    Plan,
    as_int,
    canonical_shape_dims,
    fft_argument_error,
    finish,
    norm_mode,
    promote,
    require_real,
    resize,
    transform,
    wrap_dim,
)
from ..ops.rearranging import roll

__all__ = [
    "fft",
    "ifft",
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfft2",
    "irfft2",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "hfft2",
    "ihfft2",
    "hfftn",
    "ihfftn",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]

_Dims = Any  # an int or a sequence of ints


def _int_n(n: Any, op: str) -> int:
    """The signal length ``n``: an int or a 0-d integer tensor (PyTorch refuses floats and
    bools)."""
    value = as_int(n)
    if value is None:
        raise fft_argument_error(op, "n", 2, n, "int")
    return value


def _one_dim(input: Any, n: int | None, dim: int, op: str, complex_in: bool) -> tuple:  # noqa: A002
    """Promote, wrap ``dim`` and check ``n``: (tensor, dim, n or the input's length)."""
    x = promote(input, op, require_complex=complex_in)
    d = wrap_dim(dim, x.ndim, op)
    length = x.shape[d] if n is None else _int_n(n, op)
    if length < 1:
        raise RuntimeError(f"{op}: Invalid number of data points ({length}) specified")
    return x, d, length


def _c2c_or_r2c(x: Tensor, shape: list, dims: list, norm: str | None, fwd: bool, op: str):
    """A full complex transform over ``dims``: c2c for complex input, r2c (not onesided) for
    real input (PyTorch promotes real input of fftn to complex; the result is the same)."""
    mode = norm_mode(norm, fwd, op)
    x = resize(x, dims, shape)
    if not dims:
        return promote(x, op, require_complex=True) * 1
    if x.dtype.kind == "c":
        return transform(x, Plan("c2c", tuple(dims), mode, fwd))
    return transform(x, Plan("r2c", tuple(dims), mode, fwd, onesided=False))


def _c2c_1d(input: Any, n: Any, dim: int, norm: Any, out: Any, fwd: bool, op: str) -> Tensor:
    x, d, length = _one_dim(input, n, dim, op, complex_in=False)
    return finish(_c2c_or_r2c(x, [length], [d], norm, fwd, op), out, op)


@autocast_float32_op
def fft(
    input: Any, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """One-dimensional discrete Fourier transform along ``dim``."""
    return _c2c_1d(input, n, dim, norm, out, True, "fft")


@autocast_float32_op
def ifft(
    input: Any, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """One-dimensional inverse discrete Fourier transform along ``dim``."""
    return _c2c_1d(input, n, dim, norm, out, False, "ifft")


def _tensor_arg(input: Any, op: str) -> Tensor:  # noqa: A002
    """``input`` as a Tensor, before its dtype is checked (the n-d transforms check their
    ``s`` and ``dim`` first, as PyTorch)."""
    x = as_tensor(input)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    return x


def _c2c_nd(input: Any, s: Any, dim: Any, norm: Any, out: Any, fwd: bool, op: str) -> Tensor:
    x = _tensor_arg(input, op)
    shape, dims = canonical_shape_dims(x, s, dim, op)
    x = promote(x, op)
    return finish(_c2c_or_r2c(x, shape, dims, norm, fwd, op), out, op)


@autocast_float32_op
def fftn(
    input: Any, s: Any = None, dim: _Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """N-dimensional discrete Fourier transform over ``dim`` (default: all dims, or the last
    ``len(s)`` when ``s`` is given)."""
    return _c2c_nd(input, s, dim, norm, out, True, "fftn")


@autocast_float32_op
def ifftn(
    input: Any, s: Any = None, dim: _Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """N-dimensional inverse discrete Fourier transform."""
    return _c2c_nd(input, s, dim, norm, out, False, "ifftn")


@autocast_float32_op
def fft2(
    input: Any, s: Any = None, dim: _Dims = (-2, -1), norm: str | None = None, *, out: Any = None
) -> Tensor:
    """Two-dimensional discrete Fourier transform (``fftn`` over the last two dims)."""
    if dim is None:  # PyTorch's 2-d forms take no None (the n-d ones do)
        raise _no_dims("fft2")
    return _c2c_nd(input, s, dim, norm, out, True, "fft2")


@autocast_float32_op
def ifft2(
    input: Any, s: Any = None, dim: _Dims = (-2, -1), norm: str | None = None, *, out: Any = None
) -> Tensor:
    """Two-dimensional inverse discrete Fourier transform."""
    if dim is None:  # PyTorch's 2-d forms take no None (the n-d ones do)
        raise _no_dims("ifft2")
    return _c2c_nd(input, s, dim, norm, out, False, "ifft2")


# ---- real input, onesided (Hermitian) output: rfft, ihfft and their n-d forms ----


def _r2c(input: Any, s: Any, dim: Any, norm: Any, out: Any, fwd: bool, op: str, one: bool):
    if one:  # rfft / ihfft: one dim, n
        x = promote(input, op)
        require_real(x, op)
        x, d, length = _one_dim(x, s, dim, op, complex_in=False)
        shape, dims = [length], [d]
    else:  # PyTorch: rfftn refuses complex input first, ihfftn checks s and dim first
        x = _tensor_arg(input, op)
        if fwd:
            require_real(x, op)
        shape, dims = canonical_shape_dims(x, s, dim, op)
        if not dims:
            raise RuntimeError(f"{op} must transform at least one axis")
        x = promote(x, op)
        require_real(x, op)
    x = resize(x, dims, shape)
    plan = Plan("r2c", tuple(dims), norm_mode(norm, fwd, op), fwd, onesided=True, last=shape[-1])
    return finish(transform(x, plan), out, op)


@autocast_float32_op
def rfft(
    input: Any, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """Fourier transform of a real signal: the ``n // 2 + 1`` non-negative frequencies."""
    return _r2c(input, n, dim, norm, out, True, "rfft", True)


@autocast_float32_op
def ihfft(
    input: Any, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """Inverse of ``hfft``: the onesided inverse transform of a real signal."""
    return _r2c(input, n, dim, norm, out, False, "ihfft", True)


@autocast_float32_op
def rfftn(
    input: Any, s: Any = None, dim: _Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """N-dimensional transform of a real signal, halved along the last transformed dim."""
    return _r2c(input, s, dim, norm, out, True, "rfftn", False)


@autocast_float32_op
def ihfftn(
    input: Any, s: Any = None, dim: _Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """N-dimensional inverse of ``hfftn``."""
    return _r2c(input, s, dim, norm, out, False, "ihfftn", False)


@autocast_float32_op
def rfft2(
    input: Any, s: Any = None, dim: _Dims = (-2, -1), norm: str | None = None, *, out: Any = None
) -> Tensor:
    """``rfftn`` over the last two dims."""
    if dim is None:  # PyTorch's 2-d forms take no None (the n-d ones do)
        raise _no_dims("rfft2")
    return _r2c(input, s, dim, norm, out, True, "rfft2", False)


@autocast_float32_op
def ihfft2(
    input: Any, s: Any = None, dim: _Dims = (-2, -1), norm: str | None = None, *, out: Any = None
) -> Tensor:
    """``ihfftn`` over the last two dims."""
    if dim is None:  # PyTorch's 2-d forms take no None (the n-d ones do)
        raise _no_dims("ihfft2")
    return _r2c(input, s, dim, norm, out, False, "ihfft2", False)


def _no_dims(op: str) -> TypeError:
    """PyTorch's parser error for ``dim=None`` given to a 2-d transform."""
    where = "" if "dim" in called_as((op,))[2] else " (position 3)"
    return TypeError(f"fft_{op}(): argument 'dim'{where} must be tuple of ints, not NoneType")


# ---- onesided (Hermitian) input, real output: irfft, hfft and their n-d forms ----


def _c2r(input: Any, s: Any, dim: Any, norm: Any, out: Any, fwd: bool, op: str, one: bool):
    if one:  # irfft / hfft: one dim, n
        x = promote(input, op, require_complex=True)
        d = wrap_dim(dim, x.ndim, op)
        last = 2 * (x.shape[d] - 1) if s is None else _int_n(s, op)
        dims, shape = [d], [x.shape[d]]
    else:  # PyTorch checks s and dim before the dtype
        x = _tensor_arg(input, op)
        shape, dims = canonical_shape_dims(x, s, dim, op)
        if not dims:
            raise RuntimeError(f"{op} must transform at least one axis")
        x = promote(x, op, require_complex=True)
        s_last = None if s is None else (as_int(s) if as_int(s) is not None else list(s)[-1])
        last = 2 * (x.shape[dims[-1]] - 1) if as_int(s_last) in (None, -1) else shape[-1]
    if last < 1:
        raise RuntimeError(f"{op}: Invalid number of data points ({last}) specified")
    x = resize(x, dims, shape[:-1] + [last // 2 + 1])
    plan = Plan("c2r", tuple(dims), norm_mode(norm, fwd, op), fwd, last=last)
    return finish(transform(x, plan), out, op)


@autocast_float32_op
def irfft(
    input: Any, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """Inverse of ``rfft``: the real signal of length ``n`` (default ``2 * (m - 1)``) whose
    onesided spectrum is ``input``."""
    return _c2r(input, n, dim, norm, out, False, "irfft", True)


@autocast_float32_op
def hfft(
    input: Any, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """Transform of a Hermitian-symmetric signal given by its onesided half: a real result."""
    return _c2r(input, n, dim, norm, out, True, "hfft", True)


@autocast_float32_op
def irfftn(
    input: Any, s: Any = None, dim: _Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """N-dimensional inverse of ``rfftn``."""
    return _c2r(input, s, dim, norm, out, False, "irfftn", False)


@autocast_float32_op
def hfftn(
    input: Any, s: Any = None, dim: _Dims = None, norm: str | None = None, *, out: Any = None
) -> Tensor:
    """N-dimensional ``hfft``: Hermitian input given by its half along the last dim."""
    return _c2r(input, s, dim, norm, out, True, "hfftn", False)


@autocast_float32_op
def irfft2(
    input: Any, s: Any = None, dim: _Dims = (-2, -1), norm: str | None = None, *, out: Any = None
) -> Tensor:
    """``irfftn`` over the last two dims."""
    if dim is None:  # PyTorch's 2-d forms take no None (the n-d ones do)
        raise _no_dims("irfft2")
    return _c2r(input, s, dim, norm, out, False, "irfft2", False)


@autocast_float32_op
def hfft2(
    input: Any, s: Any = None, dim: _Dims = (-2, -1), norm: str | None = None, *, out: Any = None
) -> Tensor:
    """``hfftn`` over the last two dims."""
    if dim is None:  # PyTorch's 2-d forms take no None (the n-d ones do)
        raise _no_dims("hfft2")
    return _c2r(input, s, dim, norm, out, True, "hfft2", False)


# ---- sample frequencies and shifts ----


def _freq(
    values: Any,
    n: int,
    d: float,
    op: str,
    out: Any,
    dtype: Any,
    layout: Any,
    device: Any,
    requires_grad: bool,
) -> Tensor:
    if layout is not None and str(layout) not in ("torch.strided", "chainrule.strided", "strided"):
        raise NotImplementedError(f"{op}: only the strided layout is supported, got {layout!r}")
    if out is not None and dtype is None:
        dtype = out.dtype
    dt = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype)
    if dt.kind not in "fcV":  # V: bfloat16
        raise RuntimeError(f"{op} requires a floating point or complex dtype, got {dt}")
    if dt.kind == "c":  # as PyTorch on the CPU, whose arange has no complex kernel
        raise NotImplementedError(f"{op}: complex dtype {dt} is not supported; use a float dtype")
    # As PyTorch: the integer ramp in the result dtype times 1 / (n d) in that precision.
    with np.errstate(divide="ignore", invalid="ignore"):  # n d == 0: inf, as PyTorch
        scale = np.float64(1.0) / np.float64(n * d)
        arr = np.asarray(values, dtype=dt) * dt.type(scale)
    res = _creation.tensor(arr, dtype=dt, device=device, requires_grad=requires_grad)
    return res if out is None else finish(res, out, op)


def _check_n(n: Any, op: str, count: int | None = None) -> int:
    """``n`` as an int; ``count`` (default ``n``), the number of frequencies, must not be
    negative."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise fft_argument_error(op, "n", 2, n, "int")
    count = int(n) if count is None else count
    if count < 0:
        raise RuntimeError(
            f"{op}: Trying to create tensor with negative dimension {count}: [{count}]"
        )
    return int(n)


def fftfreq(
    n: int,
    d: float = 1.0,
    *,
    out: Any = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Sample frequencies of an ``n``-point transform with sample spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d n)``."""
    n = _check_n(n, "fftfreq")
    ramp = np.concatenate([np.arange((n + 1) // 2), np.arange(-(n // 2), 0)])
    return _freq(ramp, n, d, "fftfreq", out, dtype, layout, device, requires_grad)


def rfftfreq(
    n: int,
    d: float = 1.0,
    *,
    out: Any = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Sample frequencies of ``rfft`` of an ``n``-point signal: ``[0, ..., n // 2] / (d n)``.

    As PyTorch, a negative ``n`` is refused only when ``n / 2 + 1`` (C's division, rounding
    towards zero) is negative: ``n = -1`` gives ``[-0.]``, ``n = -2`` and ``-3`` nothing."""
    count = 0
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        count = (n // 2 if n >= 0 else -(-n // 2)) + 1
    n = _check_n(n, "rfftfreq", count)
    return _freq(np.arange(count), n, d, "rfftfreq", out, dtype, layout, device, requires_grad)


def _shift(input: Any, dim: Any, op: str, inverse: bool) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if dim is None:
        dims = list(range(input.ndim))
    else:
        seq = [dim] if as_int(dim) is not None else list(dim)
        dims = [wrap_dim(d, input.ndim, op) for d in seq]
    if not dims:  # PyTorch's roll refuses an empty list of dims (a 0-d input, dim=())
        raise RuntimeError(f"{op}: `shifts` required (no dims to shift: got dim={dim!r})")
    shifts = [(input.shape[d] + 1) // 2 if inverse else input.shape[d] // 2 for d in dims]
    return roll(input, tuple(shifts), tuple(dims))


def fftshift(input: Tensor, dim: _Dims = None) -> Tensor:  # noqa: A002
    """Move the zero-frequency term to the centre (roll by ``n // 2`` along each of ``dim``,
    default all dims)."""
    return _shift(input, dim, "fftshift", False)


def ifftshift(input: Tensor, dim: _Dims = None) -> Tensor:  # noqa: A002
    """Inverse of ``fftshift`` (roll by ``(n + 1) // 2``)."""
    return _shift(input, dim, "ifftshift", True)


# dir(): the public names, not the submodules importing binds (see _package_dir)
__dir__ = _package_dir(globals(), public_only=True)
