"""The FFT primitives behind ``cr.fft`` (PyTorch's ``_fft_c2c``, ``_fft_r2c``, ``_fft_c2r``).

Every discrete Fourier transform is linear, so one pattern covers them all: a :class:`Plan`
says which transform to run (kind, dims, scaling, sign of the exponent) and knows its
*adjoint* plan. The forward pass runs the plan with NumPy's pocketfft (which computes in the
input's precision: complex64 in, complex64 out); the backward pass applies the adjoint plan
to the gradient through the same Function, so double backward is free; forward mode runs the
plan on the tangent.

Gradients follow PyTorch's conjugate convention (``complex_grad = True``): for a real loss
the gradient of ``z = x + iy`` is ``dL/dx + i dL/dy``, and the vjp of a C-linear map ``A`` is
``A^H g``. Kinds and adjoints (``s`` the scale, ``T`` the unnormalised DFT in direction
``forward``, ``P`` the cut to the onesided half along the last dim):

- ``c2c``: ``y = s T z``; adjoint ``s T^H g``: the same kind in the other direction.
- ``r2c``: ``y = s P T x`` for real ``x``; adjoint (``r2c_t``) ``Re(s T^H P^T g)``: zero-pad
  ``g`` to the full length, transform in the other direction, keep the real part (PyTorch's
  ``fft_r2c_backward``).
- ``c2r``: ``y = s T_herm(z)``, the real signal whose onesided spectrum is ``z`` (``forward``
  conjugates ``z`` first, as ``hfft``); adjoint (``c2r_t``) is the onesided real-to-complex
  transform of ``g`` in the other direction with the entries that stand for two spectrum
  values doubled (PyTorch's ``fft_c2r_backward``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..autograd.saved_fields import input_tensor, tensor_field  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import fft_layout  # (PyTorch's layout of an FFT result)
from ._tensor_args import called_as, torch_type_name
from ._util import as_tensor, dim_range_error, no_dims_error
from .joining import cat
from .keywords import write_out

__all__ = [
    "Plan",
    "as_int",
    "canonical_shape_dims",
    "finish",
    "norm_mode",
    "promote",
    "require_real",
    "resize",
    "transform",
    "wrap_dim",
]

_COMPLEX_OF = {
    np.dtype(np.float32): np.dtype(np.complex64),
    np.dtype(np.float64): np.dtype(np.complex128),
}

# NumPy's ``norm`` string giving scale n ** (-mode / 2) for each direction.
_NORM = {True: ("backward", "ortho", "forward"), False: ("forward", "ortho", "backward")}


@dataclass(frozen=True)
class Plan:
    """One linear FFT map.

    kind: ``"c2c"``, ``"r2c"``, ``"r2c_t"``, ``"c2r"`` or ``"c2r_t"`` (see the module doc).
    dims: the transformed dims, in order; the halved (Hermitian) dim is the last.
    mode: scaling of the result by ``n ** (-mode / 2)`` (0 none, 1 ``1/sqrt(n)``, 2 ``1/n``),
        ``n`` the product of the logical signal lengths (PyTorch's ``fft_norm_mode``).
    forward: sign of the exponent (True: ``exp(-2 pi i jk / n)``).
    onesided: r2c / r2c_t: the complex side keeps ``last // 2 + 1`` entries of the last dim.
    last: the real-side length along ``dims[-1]`` (r2c_t, c2r, c2r_t).
    """

    kind: str
    dims: tuple
    mode: int
    forward: bool
    onesided: bool = True
    last: int = 0

    def adjoint(self) -> Plan:
        """The plan of the vjp (the conjugate transpose, as a real-linear map)."""
        if self.kind == "c2c":
            return replace(self, forward=not self.forward)
        flip = {"r2c": "r2c_t", "r2c_t": "r2c", "c2r": "c2r_t", "c2r_t": "c2r"}
        return replace(self, kind=flip[self.kind])

    def run(self, x: Any) -> Any:
        """Apply the map to the array ``x``."""
        xp = get_array_module(x)
        f, dims, fwd = xp.fft, list(self.dims), self.forward
        if self.kind == "c2c":
            return (f.fftn if fwd else f.ifftn)(x, axes=dims, norm=_NORM[fwd][self.mode])
        if self.kind == "r2c":
            if not self.onesided:
                return (f.fftn if fwd else f.ifftn)(x, axes=dims, norm=_NORM[fwd][self.mode])
            y = f.rfftn(x, axes=dims, norm=_NORM[True][self.mode])
            return y if fwd else xp.conj(y)
        if self.kind == "r2c_t":
            d = dims[-1]
            if self.onesided and x.shape[d] < self.last:
                widths = [(0, 0)] * x.ndim
                widths[d] = (0, self.last - x.shape[d])
                x = xp.pad(x, widths)
            y = (f.ifftn if fwd else f.fftn)(x, axes=dims, norm=_NORM[not fwd][self.mode])
            # the real part as a view of the complex result, as PyTorch's ``at::real``: a
            # leaf's .grad copies it into its layout (version 1), as PyTorch's does
            return y.real
        if self.kind == "c2r":
            if fwd:
                x = xp.conj(x)
            s = [x.shape[d] for d in dims[:-1]] + [self.last]
            return f.irfftn(x, s=s, axes=dims, norm=_NORM[False][self.mode])
        # c2r_t: onesided transform of the real gradient, doubled where one entry of the
        # half spectrum stands for two of the full one.
        y = f.rfftn(x, axes=dims, norm=_NORM[True][self.mode])
        if fwd:  # c2r read conj(z): its adjoint conjugates too
            y = xp.conj(y)
        double = self.last - (self.last // 2 + 1)
        if double > 0:
            index = [slice(None)] * y.ndim
            index[dims[-1]] = slice(1, 1 + double)
            y[tuple(index)] *= 2
        return y


# the plan kinds whose results follow PyTorch's FFT layout (``_result_layout.fft_layout``);
# a one-sided r2c keeps its halved dim innermost. (The adjoint kinds keep NumPy's.)
_LAID_OUT = frozenset(("c2c", "r2c", "c2r"))


class FftTransform(Function):
    """Run a :class:`Plan`: forward by NumPy's FFT, backward by the adjoint plan (itself a
    recorded ``FftTransform``, so higher derivatives work), forward mode by the same plan."""

    raw = True
    complex_grad = True

    @staticmethod
    def forward(ctx, x, plan):
        ctx.plan = plan
        y = plan.run(x)
        kind, dims = plan.kind, plan.dims
        if kind not in _LAID_OUT or type(y) is not np.ndarray or type(x) is not np.ndarray:
            return y  # (CuPy, vmap and meta arrays keep their own)
        nd = y.ndim
        if x.flags.c_contiguous and y.flags.c_contiguous and dims and dims[-1] == nd - 1:
            # a row-major x over its trailing dims in order: row-major in PyTorch too (but
            # ihfftn's r2c of its last dim, then c2c of the others)
            k = len(dims)
            if k == 1 or (dims == tuple(range(nd - k, nd)) and (plan.forward or kind != "r2c")):
                return y
        # PyTorch's layout rule for its FFT results: a two-sided r2c (``fftn`` of a real x)
        # is its c2c of x made complex; ihfftn (an inverse one-sided r2c) its r2c of the
        # last dim, then c2c of the others
        rule = kind
        if kind == "r2c":
            rule = "c2c" if not plan.onesided else "r2c" if plan.forward else "ihfftn"
        return fft_layout(y, x, dims, rule)

    @staticmethod
    def backward(ctx, grad):
        return transform(grad, ctx.plan.adjoint()), None

    @staticmethod
    def jvp(ctx, t, _):
        return ctx.primals[1].run(t)


def _fft_fields(*names: str) -> dict:
    """``grad_fn._saved_*`` of PyTorch's FFT nodes, read from the plan: the transformed
    dims, the scaling mode (its ``fft_norm_mode``: 0 none, 1 by sqrt(n), 2 by n), and where
    listed the direction, the one-sidedness and the input (``self``, where reachable)."""
    every = {
        "dim": lambda n: tuple(n.plan.dims),
        "forward": lambda n: n.plan.forward,
        "normalization": lambda n: n.plan.mode,
        "onesided": lambda n: n.plan.onesided,
        "self": tensor_field(lambda n: input_tensor(n, 0)),
    }
    return {k: every[k] for k in names}


class FftC2C(FftTransform):
    node_name = "FftC2CBackward0"
    saved_fields = _fft_fields("dim", "forward", "normalization")  # grad_fn._saved_*


class FftR2C(FftTransform):
    node_name = "FftR2CBackward0"
    saved_fields = _fft_fields("dim", "normalization", "onesided", "self")  # _saved_*


class FftC2R(FftTransform):
    node_name = "FftC2RBackward0"
    saved_fields = _fft_fields("dim", "normalization")  # grad_fn._saved_*


_BY_KIND = {"c2c": FftC2C, "r2c": FftR2C, "r2c_t": FftC2R, "c2r": FftC2R, "c2r_t": FftR2C}


def transform(x: Any, plan: Plan) -> Any:
    """Apply ``plan`` to the Tensor ``x`` (differentiable)."""
    return _BY_KIND[plan.kind].apply(x, plan)


# ---- argument handling shared by the ``cr.fft`` functions (PyTorch's SpectralOps.cpp) ----


def norm_mode(norm: str | None, forward: bool, op: str) -> int:
    """PyTorch's ``norm_from_string``: the scaling mode of ``norm`` for a transform in the
    direction ``forward`` ("backward": the inverse scales by 1/n, "forward": the forward does,
    "ortho": both by 1/sqrt(n))."""
    if norm is not None and not isinstance(norm, str):
        raise fft_argument_error(op, "norm", 4, norm, "str")
    if norm is None or norm == "backward":
        return 0 if forward else 2
    if norm == "forward":
        return 2 if forward else 0
    if norm == "ortho":
        return 1
    raise RuntimeError(  # PyTorch's words, then the valid modes
        f'Invalid normalization mode: "{norm}"\n{op}: valid modes: None, "backward", '
        '"forward", "ortho"'
    )


def promote(input: Any, op: str, require_complex: bool = False) -> Tensor:  # noqa: A002
    """PyTorch's ``promote_tensor_fft``: integers and bools become the default float dtype
    (its complex counterpart with ``require_complex``); float16 is refused as by PyTorch on
    the CPU; a real tensor is made complex when ``require_complex``."""
    x = as_tensor(input)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    kind = x.dtype.kind
    if kind in "biu":
        x = x.to(_dt.get_default_dtype())
    elif kind in "fV" and x.dtype not in _COMPLEX_OF:  # V: bfloat16, refused as float16
        raise RuntimeError(
            f"{op}: Unsupported dtype {x.dtype} (FFTs take float32, float64, "
            "complex64 or complex128 tensors)"
        )
    if require_complex and x.dtype.kind != "c":
        x = x.to(_COMPLEX_OF[x.dtype])
    return x


def require_real(x: Tensor, op: str) -> None:
    """r2c transforms (``rfft``, ``ihfft``...) take real input only, as in PyTorch."""
    if x.dtype.kind == "c":
        raise RuntimeError(f"{op} expects a real input tensor, but got {x.dtype}")


def fft_argument_error(op: str, arg: str, position: int, value: Any, want: str) -> TypeError:
    """PyTorch's parser's TypeError for ``cr.fft.<op>``'s argument ``arg`` (at ``position``
    of ``(input, n or s, dim, norm)``) given no ``want``, naming the op by its ATen name
    (``fft_fft(): argument 'norm' (position 4) must be str, not bool``; no position for a
    keyword argument, as its parser). Error path only."""
    name = f"fft_{op}"
    if arg in called_as((op,))[2]:  # given by keyword
        return TypeError(f"{name}(): argument '{arg}' must be {want}, not {torch_type_name(value)}")
    head = f"{name}(): argument '{arg}' (position {position}) must be {want}"
    if want == "tuple of ints" and isinstance(value, (tuple, list)):
        pos = next((i for i, v in enumerate(value) if as_int(v) is None), 0)
        return TypeError(
            f"{head}, but found element of type {torch_type_name(value[pos])} at pos {pos}"
        )
    return TypeError(f"{head}, not {torch_type_name(value)}")


def as_int(v: Any) -> int | None:
    """``v`` as a Python int when PyTorch's argument parser takes it for an ``int``: an int,
    a NumPy integer or a 0-d integer tensor (never a bool or a float); else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, Tensor) and v.ndim == 0 and v.dtype.kind in "iu":
        return int(v.item())
    return None


def wrap_dim(dim: Any, ndim: int, op: str) -> int:
    """One dim index, wrapped as PyTorch's ``maybe_wrap_dim`` (no wrapping of 0-d tensors)."""
    value = as_int(dim)
    if value is None:
        raise fft_argument_error(op, "dim", 3, dim, "int")
    dim = value
    if ndim == 0:
        raise no_dims_error(dim)
    if not -ndim <= dim < ndim:
        raise dim_range_error(dim, ndim)
    return dim % ndim


def _ints(v: Any, name: str, op: str) -> list:
    seq = [v] if as_int(v) is not None else v
    values = [as_int(i) for i in seq] if isinstance(seq, Sequence) else [None]
    if None in values:
        raise fft_argument_error(op, name, 2 if name == "s" else 3, v, "tuple of ints")
    return values


def canonical_shape_dims(x: Tensor, s: Any, dim: Any, op: str) -> tuple:
    """PyTorch's ``canonicalize_fft_shape_and_dim_args``: the signal lengths and dims of an
    n-dimensional transform (``s`` without ``dim``: the last ``len(s)`` dims; neither: all
    dims; ``-1`` in ``s``: the input's length)."""
    ndim = x.ndim
    dims = None
    if dim is not None:
        dims = [wrap_dim(d, ndim, op) for d in _ints(dim, "dim", op)]
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op}: FFT dims must be unique, got {dim!r}")
    if s is not None:
        shape = _ints(s, "s", op)
        if dims is not None and len(dims) != len(shape):
            raise RuntimeError(
                f"{op}: When given, dim and shape arguments must have the same length "
                f"(got s={s!r}, dim={dim!r})"
            )
        if len(shape) > ndim:
            raise RuntimeError(
                f"{op}: Got shape with {len(shape)} values but input tensor only has {ndim} "
                "dimensions."
            )
        if dims is None:
            dims = list(range(ndim - len(shape), ndim))
        shape = [x.shape[d] if n == -1 else n for n, d in zip(shape, dims)]
    else:
        dims = list(range(ndim)) if dims is None else dims
        shape = [x.shape[d] for d in dims]
    for n in shape:
        if n < 1:
            raise RuntimeError(f"{op}: Invalid number of data points ({n}) specified")
    return shape, dims


def resize(x: Tensor, dims: Sequence, sizes: Sequence) -> Tensor:
    """PyTorch's ``resize_fft_input``: cut each of ``dims`` to its size or zero-pad it at the
    end (differentiable, complex too)."""
    cut = [slice(None)] * x.ndim
    pads = []
    for d, n in zip(dims, sizes):
        if x.shape[d] > n:
            cut[d] = slice(0, n)
        elif x.shape[d] < n:
            pads.append((d, n))
    if any(c != slice(None) for c in cut):
        x = x[tuple(cut)]
    for d, n in pads:
        shape = list(x.shape)
        shape[d] = n - shape[d]
        xp = get_array_module(x._data)
        zeros = Tensor._make(xp.zeros(shape, x.dtype), False, None, 0)
        x = cat([x, zeros], d)
    return x


def finish(result: Tensor, out: Any, op: str) -> Tensor:
    """The result, or ``out`` holding it (PyTorch's ``out=``: complex results need a complex
    ``out``, real ones a floating ``out``; autograd refused)."""
    if out is None:
        return result
    if isinstance(out, Tensor):
        want = "c" if result.dtype.kind == "c" else "f"
        if out.dtype.kind not in want:
            kind = "complex" if want == "c" else "floating point"
            raise RuntimeError(f"{op} expects a {kind} output tensor, but got {out.dtype}")
    return write_out(op, result, out)
