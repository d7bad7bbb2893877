"""Complex numbers: building them, taking them apart, and their non-holomorphic ops.

PyTorch's convention, followed throughout: the gradient of a real loss ``L`` with respect to a
complex ``z = x + iy`` is ``dL/dx + i dL/dy`` (the conjugate Wirtinger derivative, doubled).
So ``real(z)`` sends a real ``g`` back as ``g + 0i``, ``imag(z)`` as ``i g``, ``conj`` sends
``conj(g)``, and ``|z|`` sends ``g z / |z|``. Which existing ops accept complex tensors in
autograd is listed in ``ops/complex_support.py``.

chainrule has no lazy conjugate bit: ``conj`` copies where PyTorch flips a flag, and
``is_conj`` is always False (the values are the same; only aliasing differs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module
from ..meta.array import MetaArray
from ._first_order import grad_array, wrapped
from ._result_layout import elementwise_layout
from ._tensor_args import first_not_tensor
from ._util import ShapeError, as_tensor
from .binding import numpy_keywords, tensor_method
from .inplace_names import renamed_node

__all__ = [
    "angle",
    "complex",
    "complex_sgn",
    "conj",
    "conj_physical",
    "imag",
    "polar",
    "real",
    "set_imag",
    "set_real",
    "view_as_complex",
    "view_as_real",
]

_COMPLEX_OF = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}


def _to_complex(g: Tensor) -> Tensor:
    """A real gradient as the complex one of a complex input (``g + 0i``)."""
    return g.to(_COMPLEX_OF.get(g._data.dtype, np.complex128))


class Real(Function):
    """``real(z)``: the real part, a view of ``z``'s memory (strides twice ``z``'s, as
    PyTorch's: writing into it changes ``z``); gradient ``g + 0i``."""

    raw = True
    complex_grad = True
    is_view = True

    @staticmethod
    def forward(ctx, z):
        return z.real

    @staticmethod
    def backward(ctx, g):
        return _to_complex(g)

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else t.real


class Imag(Function):
    """``imag(z)``: the imaginary part, a view of ``z``'s memory (see :class:`Real`);
    gradient ``i g``."""

    raw = True
    complex_grad = True
    is_view = True

    @staticmethod
    def forward(ctx, z):
        return z.imag

    @staticmethod
    def backward(ctx, g):
        # complex(0, g), not (g + 0i) * 1j: NumPy's complex product gives a NaN or infinite
        # g a NaN real part (nan * 1j is nan+nanj), PyTorch's gradient keeps it 0
        data = grad_array(ctx, g)
        if data is None:  # a graph recorded, a transform's tensor, ...: the recorded op
            return ComplexFromParts.apply(g.new_zeros(g.shape), g)
        # first order on a plain array: ComplexFromParts' own forward, nothing recorded
        return wrapped(ComplexFromParts.forward(None, np.zeros((), data.dtype), data))

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else t.imag


class Conj(Function):
    """``conj(z)``: anti-linear, so the gradient is ``conj(g)`` (the tangent ``conj(t)``)."""

    raw = True
    complex_grad = True

    @staticmethod
    def forward(ctx, z):
        return get_array_module(z).conj(z)

    @staticmethod
    def backward(ctx, g):
        return Conj.apply(g)

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else get_array_module(t).conj(t)


class Angle(Function):
    """``angle(z) = atan2(imag, real)``; gradient ``g * i z / |z|^2`` (0 at ``z = 0``). For a
    real input the angle is 0 or pi and its gradient zero (PyTorch)."""

    raw = True
    complex_grad = True

    @staticmethod
    def forward(ctx, z):
        xp = get_array_module(z)
        ctx.save_for_backward(z)  # a real input too: PyTorch's node keeps it (_saved_self)
        if z.dtype.kind != "c":
            out = xp.where(z < 0, np.pi, 0.0).astype(z.dtype)
            return xp.where(xp.isnan(z), z, out)
        return xp.angle(z)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        if z._data.dtype.kind != "c":
            return g * 0.0
        # PyTorch's where(z == 0, 0, g z i / |z|^2): the division is by |z|^2 itself, so a
        # second backward sends the zero selected there through it (0 / 0: NaN at z == 0)
        r2 = (z * z.conj()).real
        zero = Tensor._make(r2._data == 0, False, None, 0)
        return (_to_complex(g) * (z * 1j) / r2).masked_fill(zero, 0.0)

    @staticmethod
    def jvp(ctx, t):
        z = ctx.primals[0]
        if t is None or z.dtype.kind != "c":
            return None if t is None else t * 0.0
        r2 = (z * z.conj()).real
        xp = get_array_module(z)
        with errstate(xp, divide="ignore", invalid="ignore"):
            d = xp.where(r2 == 0, 0.0, (z.real * t.imag - z.imag * t.real) / r2)
        return d.astype(r2.dtype, copy=False)


class ComplexFromParts(Function):
    """``complex(real, imag) = real + i imag``; gradients ``(Re g, Im g)``."""

    raw = True
    complex_grad = True

    @staticmethod
    def forward(ctx, re, im):
        out = get_array_module(re).empty(
            np.broadcast_shapes(re.shape, im.shape), _COMPLEX_OF[re.dtype]
        )
        if not (re.flags.c_contiguous and im.flags.c_contiguous):
            out = elementwise_layout(out, re, im)  # PyTorch's elementwise layout
        out.real = re
        out.imag = im
        return out

    @staticmethod
    def backward(ctx, g):
        return g.real, g.imag

    @staticmethod
    def jvp(ctx, t_re, t_im):
        re, im = ctx.primals
        xp = get_array_module(re, im)
        zero = xp.zeros((), re.dtype)
        a = zero if t_re is None else t_re
        b = zero if t_im is None else t_im
        return ComplexFromParts.forward(None, xp.asarray(a, re.dtype), xp.asarray(b, re.dtype))


class Complex(ComplexFromParts):
    """``torch.complex``'s own node (``ComplexBackward0``): it lists both parts and keeps each
    part that needs a gradient (``_saved_real`` / ``_saved_imag``, None for the other), as
    PyTorch's, so an in-place change to a kept part raises at backward there too."""

    node_name = ("ComplexBackward0", (0, 1))
    saved_fields = {"imag": 1, "real": 0}

    @staticmethod
    def forward(ctx, re, im):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(re if needs[0] else None, im if needs[1] else None)
        return ComplexFromParts.forward(ctx, re, im)


class ViewAsReal(Function):
    """``view_as_real(z)``: shape ``(..., 2)`` holding (real, imag), a view of ``z``'s memory
    (writing into either changes both, as PyTorch's); gradient back as ``g[..., 0] + i
    g[..., 1]``."""

    raw = True
    complex_grad = True
    is_view = True

    @staticmethod
    def forward(ctx, z):
        # a new last axis of size 1 is contiguous, so any strides reinterpret as (re, im)
        return z[..., None].view(z.real.dtype)

    @staticmethod
    def backward(ctx, g):
        return ViewAsComplex.apply(g.contiguous())

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else ViewAsReal.forward(None, t)


class ViewAsComplex(Function):
    """``view_as_complex(x)``: the last dimension (size 2) as (real, imag), a view of ``x``'s
    memory when its pairs are adjacent in the array (as PyTorch's always are)."""

    raw = True
    complex_grad = True
    is_view = True

    @staticmethod
    def forward(ctx, x):
        if x.ndim and x.strides[-1] == x.itemsize:
            return x.view(_COMPLEX_OF[x.dtype])[..., 0]
        return ComplexFromParts.forward(None, x[..., 0], x[..., 1])

    @staticmethod
    def backward(ctx, g):
        return ViewAsReal.apply(g)

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else ViewAsComplex.forward(None, t)


def real(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.real``: the real part of a complex tensor, a view of its memory (as
    PyTorch's: ``z.real.mul_(2)`` or ``z.real[0] = 1`` changes ``z``); a real tensor is
    returned as is."""
    x = as_tensor(input)
    return Real.apply(x) if x._data.dtype.kind == "c" else x


def imag(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.imag``: the imaginary part of a complex tensor, a view of its memory."""
    x = as_tensor(input)
    if x._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(x)


def set_real(input: Tensor, value: Any) -> None:  # noqa: A002 - PyTorch's name
    """``x.real = value``: PyTorch's ``x.real.copy_(value)``, the real parts replaced in place
    (``value`` broadcast to ``x``'s shape; a real ``x`` is overwritten whole). Autograd sees
    the write as ``x.copy_(complex(value, x.imag))``: the gradient reaches ``value`` from
    the real parts and the old ``x`` from the imaginary ones."""
    _set_part(input, value, 0)


def set_imag(input: Tensor, value: Any) -> None:  # noqa: A002 - PyTorch's name
    """``x.imag = value``: the imaginary parts replaced in place (complex ``x`` only)."""
    _set_part(input, value, 1)


def _set_part(x: Tensor, value: Any, part: int) -> None:
    if x._data.dtype.kind != "c":
        if part:
            raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
        x.copy_(value)
        return
    keep = imag(x) if part == 0 else real(x)
    new = as_tensor(value).to(keep.dtype).expand(x.shape)
    x.copy_(ComplexFromParts.apply(*((new, keep) if part == 0 else (keep, new))))


@tensor_method
def conj(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.conj``: the complex conjugate; a real tensor is returned as is."""
    x = as_tensor(input)
    return Conj.apply(x) if x._data.dtype.kind == "c" else x


@tensor_method(inplace=True, keywords=True)
def conj_physical(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.conj_physical``: the conjugate, materialised (the same as :func:`conj` here,
    since chainrule never conjugates lazily), its node PyTorch's ``ConjPhysicalBackward0``."""
    out = conj(input)
    if out._grad_fn is not None and out is not input:
        renamed_node(out._grad_fn, "ConjPhysicalBackward0")
    return out


@tensor_method(keywords=True)
def angle(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.angle``: the argument of each element in radians (real input: 0 or pi); an
    integer or bool input gives the default floating dtype, as PyTorch."""
    x = as_tensor(input)
    if x._data.dtype.kind in "biu":
        x = x.to(_dt.get_default_dtype())
    return Angle.apply(x)


def _check_parts(op: str, a: Tensor, b: Tensor, names: tuple[str, str]) -> None:
    """``complex``'s and ``polar``'s argument checks: one float dtype for both, shapes that
    broadcast (RuntimeError / ShapeError naming ``op``, as PyTorch raises RuntimeError)."""
    da, db = a._data.dtype, b._data.dtype
    if da not in _COMPLEX_OF or db not in _COMPLEX_OF:
        raise RuntimeError(
            f"{op}: expected both inputs to be float or double tensors, but got {da} and {db}"
        )
    if da != db:
        raise RuntimeError(
            f"{op}: expected object of scalar type {da} but got scalar type {db} for second "
            f"argument ({names[0]} and {names[1]} must have the same dtype)"
        )
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: the shapes of {names[0]} {tuple(a.shape)} and {names[1]} "
            f"{tuple(b.shape)} do not broadcast (sizes must be equal or 1 in each trailing "
            "dimension)"
        ) from None


@numpy_keywords
def complex(real: Any, imag: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    """``torch.complex(real, imag)``: a complex tensor from two float tensors of one dtype
    (float32 -> complex64, float64 -> complex128), broadcast together."""
    if not isinstance(real, Tensor) or not isinstance(imag, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("complex", (("real", real), ("imag", imag)))
    re, im = real, imag
    _check_parts("complex", re, im, ("real", "imag"))
    return Complex.apply(re, im)


def complex_sgn(z: Tensor) -> Tensor:
    """``sgn(z) = z / |z|`` of a complex tensor (0 where ``z == 0``), as two real divisions
    ``Re z / |z| + i Im z / |z|``: NumPy's complex division scales by ``|b|^2``, which
    overflows for a subnormal ``|z|`` (``5e-324 / 5e-324`` came out ``inf + nan i``; PyTorch
    gives 1). Composed of differentiable ops, so ``|z|``'s gradient ``g sgn(z)`` built on it
    has every order."""
    mag = z.abs()
    zero = (mag == 0).to(mag.dtype)
    safe = mag + zero  # 1 where z == 0, and there the factor 1 - zero makes value and gradient 0
    keep = 1 - zero
    return ComplexFromParts.apply(Real.apply(z) / safe * keep, Imag.apply(z) / safe * keep)


@numpy_keywords
@autocast_float32_op
def polar(abs: Any, angle: Any) -> Tensor:  # noqa: A002 - PyTorch's names
    """``torch.polar(abs, angle)``: ``abs * (cos(angle) + i sin(angle))``, from two float
    tensors of one dtype whose shapes broadcast (integers are refused, as PyTorch does)."""
    if not isinstance(abs, Tensor) or not isinstance(angle, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("polar", (("abs", abs), ("angle", angle)))
    r, t = abs, angle
    _check_parts("polar", r, t, ("abs", "angle"))
    from .take_polar import PolarFn  # noqa: PLC0415

    return PolarFn.apply(r, t)  # one PolarBackward0 node, saving the result


@tensor_method
def view_as_real(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.view_as_real``: a complex tensor as a real one with a last dimension of 2
    (real, imag), sharing ``input``'s memory."""
    x = as_tensor(input)
    if x._data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(x)


@tensor_method
def view_as_complex(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.view_as_complex``: a float tensor whose last dimension is 2 as a complex one."""
    x = as_tensor(input)
    if x._data.dtype not in _COMPLEX_OF:
        raise RuntimeError(
            f"view_as_complex is only supported for float and double tensors, but got a "
            f"tensor of scalar type: {x.dtype}"
        )
    if x.ndim == 0:
        raise RuntimeError("view_as_complex: Input tensor must have one or more dimensions")
    if x.shape[-1] != 2:
        raise RuntimeError(
            f"view_as_complex: Tensor must have a last dimension of size 2, got shape "
            f"{tuple(x.shape)}"
        )
    _check_complex_view_layout(x)
    return ViewAsComplex.apply(x)


def _check_complex_view_layout(x: Tensor) -> None:
    """``view_as_complex``'s memory rules (RuntimeError, as PyTorch): pairs must be adjacent
    (last stride 1), every other dimension of size > 1 must step whole pairs (an even
    stride), and the view must start on a pair (an even storage offset)."""
    if type(x._data) is MetaArray:  # strides are not modelled on meta: taken as contiguous
        return
    strides = x.stride()
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(st % 2 for size, st in zip(x.shape[:-1], strides[:-1]) if size != 1):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if x.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
