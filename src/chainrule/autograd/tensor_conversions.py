"""``TensorConversions``: how a Tensor turns into other things -- NumPy arrays, Python
numbers, other dtypes and devices (``numpy``, ``item``, ``to``, ``float``, ``cpu``...).

A mixin of :class:`~chainrule.autograd.tensor.Tensor`, kept apart so that ``tensor.py`` stays
about what a tensor is and how it enters the graph.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes as _dt
from .._type_names import dtype_of_type_name, type_name
from .._user_warnings import warn_at_caller
from ..backend import DEVICE_TYPES, Device, to_device
from .shared_memory import mark_shared
from .state import is_grad_enabled

if TYPE_CHECKING:  # annotations only: tensor.py imports this module
    from .tensor import Tensor

__all__ = [
    "AUTOCAST",
    "Float32Composite",
    "ItemConversionError",
    "LowerPrecisionComposite",
    "TensorConversions",
    "autocast_arguments",
    "autocast_float32",
    "autocast_float32_op",
    "autocast_lower_precision",
    "autocast_lower_precision_op",
    "computing_in_float32",
    "in_float32_rerun",
    "in_float32_rounded_once",
    "outside_autocast",
    "run_in_float32",
    "without_autocast",
]

# Autocast's link into Function.apply: AUTOCAST[0] counts the enabled autocast contexts
# (a cheap test on every op), AUTOCAST[1] is the function that casts an op's arguments
# (set by chainrule.amp, which Function.apply cannot import: amp is built on autograd).
AUTOCAST: list[Any] = [0, None]
_LOCAL = threading.local()  # .float32: inside run_in_float32, where autocast stays out

# Ops that run on bfloat16 arrays as they are: conversions (running them in float32 would
# recurse) and ops found to return a view of their input (a float32 copy would cut the
# view's link to its base). run_in_float32 adds each view-returning op it meets.
_NATIVE_BF16 = {"Cast", "Clone", "ToDevice", "GetItem"}
# Ops PyTorch has no bfloat16 kernel for (decompositions, solvers, FFTs): the Function's
# class name and the op's name in PyTorch's error.
_NO_BF16_KERNEL = {
    "Inv": "linalg.inv",
    "Solve": "linalg.solve",
    "Det": "linalg.det",
    "SlogDet": "linalg.slogdet",
    "ComplexSlogDet": "linalg.slogdet",
    "Pinv": "linalg.pinv",
    "LUFactor": "linalg.lu_factor",
    "SVD": "linalg.svd",
    "SVDVals": "linalg.svdvals",
    "Cholesky": "linalg.cholesky",
    "QR": "linalg.qr",
    "Eigh": "linalg.eigh",
    "Geqrf": "geqrf",
    "LOBPCGFn": "lobpcg",
    "FftTransform": "fft",
}

_WARNED = []  # PyTorch warns once per process
# PyTorch's error for numpy() / np.asarray() of a tensor that requires grad (grad mode on)
_NUMPY_REQUIRES_GRAD = (
    "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
)
# The Cast subclass that rounds an op's float32 result back to bfloat16 under the op's own
# node name (``y.grad_fn`` of a bfloat16 product reads ``MulBackward0``, not
# ``ToCopyBackward0``); built on first use, see _rounding_cast.
_ROUNDING_CAST: list[type] = []


def _warn_scalar_of_grad_tensor() -> None:
    """``float(t)``/``complex(t)`` of a tensor that requires grad: PyTorch 2.13's one-time
    warning (``item()``, ``int()`` and ``bool()`` do not warn, there either)."""
    if not _WARNED:
        _WARNED.append(True)
        warn_at_caller(
            "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
            "behavior.\nConsider using tensor.detach() first."
        )


def _root(arr: Any) -> Any:
    """The array owning ``arr``'s memory."""
    while getattr(arr, "base", None) is not None:
        arr = arr.base
    return arr


def _keeps_bfloat16(args: tuple) -> bool:
    """Whether a result computed in float32 from these arguments is bfloat16 in PyTorch: no
    other floating tensor of the same rank takes part (bfloat16 with float16 or float32 is
    float32; a 0-d float32 tensor beside a bfloat16 one with dimensions does not count)."""
    bf16_dims = any(
        isinstance(a, TensorConversions) and _dt.is_bfloat16(a._data.dtype) and a._data.ndim
        for a in args
    )
    for a in args:
        if isinstance(a, TensorConversions):
            d = a._data
            if d.dtype.kind in "fc" and (d.ndim or not bf16_dims):
                return False
    return True


def _rounding_cast() -> type:
    """The Cast Function whose node carries the name of the op it rounds (read from its
    input edge, :func:`_rounded_op_name`; same forward, backward and jvp as Cast, so gradients
    are unchanged; ``__name__`` stays ``Cast`` for the tables that key on it, and vmap finds
    Cast's rule through the base class). One class serves every op."""
    if not _ROUNDING_CAST:
        from ..ops.cast import Cast  # in here: ops are built on autograd

        attrs = {"node_name": staticmethod(_rounded_op_name), "__module__": Cast.__module__}
        sub = type("Cast", (Cast,), attrs)
        sub.__qualname__ = "Cast[rounding]"
        _ROUNDING_CAST.append(sub)
    return _ROUNDING_CAST[0]


def _rounded_op_name(ctx: Any) -> str:
    """The node name of a cast rounding an op's float32 result to bfloat16: the name of the
    op's own node (its input), so ``y.grad_fn.name()`` reads as in PyTorch."""
    inner = ctx.next_edges[0] if ctx.next_edges else None
    return inner[0].name() if type(inner) is tuple else "ToCopyBackward0"


def run_in_float32(cls: type, args: tuple, kwargs: dict) -> Any:
    """Run the op ``cls`` on bfloat16 tensors in float32 and round its floating results
    back to bfloat16 once, as PyTorch's CPU kernels compute bfloat16 ops; or
    ``NotImplemented`` for ops that run on bfloat16 as they are (conversions, views, and
    Functions marked ``native_bfloat16 = True``, which compute in float32 inside their own
    node and round once: PyTorch's one node, no casts around it).

    The casts are recorded ops, so gradients flow to bfloat16 leaves (and arrive in
    bfloat16). An op returning a view of its float32 input is rerun on the bfloat16 input
    (a view must share its base's memory) and remembered as such."""
    name = cls.__name__
    native = getattr(cls, "native_bfloat16", False)  # True, or a test of the arguments
    if name in _NATIVE_BF16 or native is True or (native and native(args)):
        return NotImplemented  # (native_bfloat16: the op computes in float32 inside its node)
    if name in _NO_BF16_KERNEL:
        raise NotImplementedError(
            f"{_NO_BF16_KERNEL[name]}: not implemented for 'BFloat16' (PyTorch has no "
            "bfloat16 kernel for it either); convert the input with .float() first"
        )
    ups = []
    roots = []
    for a in args:
        if isinstance(a, TensorConversions) and _dt.is_bfloat16(a._data.dtype):
            a = a.to(_dt.float32)
            roots.append(_root(a._data))
        ups.append(a)
    outer = getattr(_LOCAL, "float32", False)
    _LOCAL.float32 = True  # autocast must not cast these float32 arguments back
    try:
        out = cls.apply(*ups, **kwargs)
    finally:
        _LOCAL.float32 = outer
    outs = out if isinstance(out, tuple) else (out,)
    if any(
        isinstance(o, TensorConversions) and any(_root(o._data) is r for r in roots) for o in outs
    ):
        _NATIVE_BF16.add(name)  # a view: rerun on the bfloat16 tensors themselves
        return NotImplemented
    if not _keeps_bfloat16(args):
        return out
    bf16 = _dt.bfloat16_dtype()
    rounding = _rounding_cast()
    back = tuple(
        rounding.apply(o, bf16)
        if isinstance(o, TensorConversions) and o._data.dtype == _dt.float32
        else o
        for o in outs
    )
    return back if isinstance(out, tuple) else back[0]


def autocast_arguments(cls: type, args: tuple) -> tuple:
    """``args`` as an active autocast would pass them to the op ``cls``: for a composed op
    (``conv3d``) that must cast all its arguments, bias included, before its own checks,
    rather than have each inner op cast its part."""
    return AUTOCAST[1](cls, args) if AUTOCAST[0] else args


class RequiresGradDtypeError(TypeError, RuntimeError):
    """``requires_grad`` asked of an integer or bool tensor. PyTorch raises ``RuntimeError``;
    chainrule has raised ``TypeError``: this is both, so either ``except`` clause catches it."""


class ItemConversionError(ValueError, RuntimeError):
    """``item()`` on a tensor of other than one element. PyTorch raises ``RuntimeError``;
    chainrule has raised ``ValueError``: this is both, so either ``except`` clause catches it."""


class Float32Composite:
    """Stands for a composed op of PyTorch's CPU autocast float32 list (``mse_loss``,
    ``l1_loss``, ``kl_div``, ...) in :func:`autocast_float32` (chainrule.amp casts for it)."""


class LowerPrecisionComposite:
    """Stands for a composed op of PyTorch's CPU autocast lower-precision list (``addmm``,
    ``baddbmm``, ``addbmm``, ``prelu``, ``linalg.vecdot``) in
    :func:`autocast_lower_precision` (chainrule.amp casts for it)."""


def autocast_lower_precision(*tensors: Any) -> tuple:
    """``tensors`` as an active CPU autocast passes them to an op of its lower-precision list:
    float32 (and float16) ones cast to the autocast dtype, so that every argument of a
    composed op (the added term of ``addmm`` too) is cast before its dtype checks, as in
    PyTorch. Outside autocast the tensors are returned as is."""
    return AUTOCAST[1](LowerPrecisionComposite, tensors) if AUTOCAST[0] else tensors


def autocast_float32(*tensors: Any) -> tuple:
    """``tensors`` as an active CPU autocast passes them to an op of its float32 list:
    bfloat16 ones cast to float32 (the op then computes and returns float32, as PyTorch's).
    For composed ops, called first thing; outside autocast the tensors are returned as is."""
    return AUTOCAST[1](Float32Composite, tensors) if AUTOCAST[0] else tensors


def _cast_first(fn: Callable, cast: Callable) -> Callable:
    """``fn`` with its tensor arguments passed through ``cast`` (an autocast rule) while
    CPU autocast is on, and its own parts then left alone (PyTorch runs one kernel below
    autocast). Outside autocast the call costs one integer test."""

    @functools.wraps(fn)
    def cast_then_call(*args: Any, **kwargs: Any) -> Any:
        if not AUTOCAST[0]:
            return fn(*args, **kwargs)
        args = cast(*args)
        if kwargs:
            kwargs = dict(zip(kwargs, cast(*kwargs.values())))
        with computing_in_float32():  # its parts are not cast again
            return fn(*args, **kwargs)

    return cast_then_call


def autocast_float32_op(fn: Callable) -> Callable:
    """Decorator for a public op of PyTorch's CPU autocast float32 list (the FFTs, the
    linear-algebra solvers and decompositions, 3-d and fractional max pooling, reflection and
    replication padding, several losses, ``quantile``, ``stft``, ``polar``): inside an
    active CPU autocast its float16 and bfloat16 tensor arguments are cast to float32 first,
    before the op's own dtype checks, so it computes and returns float32 as in PyTorch."""
    return _cast_first(fn, autocast_float32)


def autocast_lower_precision_op(fn: Callable) -> Callable:
    """Decorator for a public op that PyTorch's CPU autocast runs in the autocast dtype
    because its own parts are on the lower-precision list (the RNN cells are linear layers,
    ``scaled_dot_product_attention``): inside an active CPU autocast its float32 (and other
    half) tensor arguments are cast to the autocast dtype first."""
    return _cast_first(fn, autocast_lower_precision)


@contextlib.contextmanager
def computing_in_float32() -> Iterator[None]:
    """A block that computes a composed bfloat16 op in float32 (to round it once): autocast
    leaves its float32 ops alone, as inside :func:`run_in_float32`."""
    outer = getattr(_LOCAL, "float32", False)
    _LOCAL.float32 = True
    try:
        yield
    finally:
        _LOCAL.float32 = outer


def outside_autocast() -> contextlib.AbstractContextManager[None]:
    """A block whose ops autocast leaves alone: for ops that PyTorch's autocast does not cast
    (``mv``, ``dot``, ``addmv``, adaptive average pooling) but that chainrule composes from
    ops that it does cast (matmul). The same switch as :func:`computing_in_float32`."""
    return computing_in_float32()


def without_autocast(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with CPU autocast leaving the ops ``fn`` is composed of alone: for ops on
    none of PyTorch's autocast lists that chainrule composes from ops on them (``mv``,
    ``dot``, ``addmv``, adaptive average pooling). A plain call when no autocast is active."""
    if not AUTOCAST[0]:
        return fn(*args)
    with outside_autocast():
        return fn(*args)


def in_float32_rounded_once(fn: Any, input: Any, *args: Any) -> Any:  # noqa: A002
    """``fn(input, *args)`` for an op that PyTorch's CPU kernels compute in float32 for a
    bfloat16 ``input``, rounding the result once (adaptive average pooling); other dtypes
    run as they are. Autocast leaves the ops of ``fn`` alone (:func:`without_autocast`)."""
    if isinstance(input, TensorConversions) and _dt.is_bfloat16(input._data.dtype):
        with computing_in_float32():  # autocast stays out too
            return fn(input.float(), *args).to(input.dtype)
    return without_autocast(fn, input, *args)


def in_float32_rerun() -> bool:
    """Whether this thread is inside :func:`run_in_float32` (autocast leaves ops alone)."""
    return getattr(_LOCAL, "float32", False)


class TensorConversions:
    """Conversion methods of ``Tensor`` (which provides ``_data``, ``dtype``, ``device``,
    ``requires_grad`` and ``clone``)."""

    __slots__ = ()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU).

        ``force=True``: of ``self.detach().cpu()``, so a tensor that requires grad or lives on
        a GPU converts too (a copy for the latter), as in PyTorch. A tensor that requires grad
        converts without ``force`` where grad mode is off (``no_grad``, ``inference_mode``), as
        in PyTorch.
        """
        if _dt.is_bfloat16(self._data.dtype):  # PyTorch's error, also with force=True
            raise TypeError(
                "Got unsupported ScalarType BFloat16: NumPy has no bfloat16; convert first "
                "with tensor.float().numpy()"
            )
        if force:
            return self.detach().cpu().numpy()
        if self.requires_grad and is_grad_enabled():  # torch allows it under no_grad
            raise RuntimeError(_NUMPY_REQUIRES_GRAD)
        if self.device.type != "cpu":
            raise TypeError("numpy(): the tensor is on cuda; call .cpu() first")
        return mark_shared(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """``np.asarray(t)`` / ``np.array(t)``: the data as a NumPy array (copied off a GPU).
        A tensor that requires grad refuses while grad mode is on, as ``numpy()`` and as in
        PyTorch (the array would silently leave the graph); ``t.detach()`` converts."""
        if (self._rg or self._view is not None and self.requires_grad) and is_grad_enabled():
            raise RuntimeError(_NUMPY_REQUIRES_GRAD)
        arr = mark_shared(np.asarray(to_device(self._data, "cpu")))  # 0-d: may be a scalar
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def item(self) -> Any:
        if self._data.size != 1:
            raise ItemConversionError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar "
                f"(item() needs a one-element tensor, got shape {tuple(self.shape)})"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return to_device(self._data, "cpu").tolist()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data.reshape(()))

    def __contains__(self, element: Any) -> bool:
        """``element in t``: whether any element of ``t`` equals ``element`` (a number, or a
        tensor broadcast against ``t``), PyTorch's ``(element == t).any()``; works on 0-d
        tensors, which cannot be iterated."""
        if not isinstance(element, (TensorConversions, int, float, complex, np.number, np.bool_)):
            raise RuntimeError(
                "Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                f"{type(element)}"
            )
        return bool((self == element).any())

    def __float__(self) -> float:
        if self.requires_grad:
            _warn_scalar_of_grad_tensor()
        return float(self._real_item("double"))

    def __complex__(self) -> complex:
        if self.requires_grad:
            _warn_scalar_of_grad_tensor()
        return complex(self.item())

    def __int__(self) -> int:
        return int(self._real_item("int64_t"))

    def _real_item(self, ctype: str) -> Any:
        """``item()`` for ``int(t)``/``float(t)``: a complex value gives its real part when its
        imaginary part is 0 (and, for an int, the real part is finite), else PyTorch's
        RuntimeError naming the C type (``ctype``) it cannot be converted to."""
        value = self.item()
        if type(value) is complex:
            if value.imag != 0 or ctype != "double" and not np.isfinite(value.real):
                raise RuntimeError(f"value cannot be converted to type {ctype} without overflow")
            return value.real
        return value

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __dlpack__(self, *args: Any, **kwargs: Any):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``, each
        optionally followed by ``non_blocking`` and ``copy`` (positional bools, as PyTorch),
        and the keyword ``memory_format`` (``cr.channels_last``, ...)."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)  # copies are synchronous
        copy = kwargs.pop("copy", False)
        fmt = kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to(): unexpected arguments {sorted(kwargs)}")
        flags = []
        for a in args:
            if isinstance(a, bool):  # non_blocking, then copy
                flags.append(a)
            elif flags:
                raise TypeError(
                    f"to(): a {type(a).__name__} after the non_blocking/copy flags; the forms "
                    "are to(device, dtype, non_blocking, copy), to(dtype, non_blocking, copy) "
                    "and to(tensor, non_blocking, copy)"
                )
            elif isinstance(a, TensorConversions):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (Device,)) or (
                isinstance(a, str) and a.split(":")[0] in DEVICE_TYPES
            ):
                device = a
            else:
                dtype = a
        if len(flags) > 2:
            raise TypeError(f"to(): at most two flags (non_blocking, copy), got {len(flags)}")
        if len(flags) == 2:
            copy = copy or flags[1]
        from ..ops.memory_format import to_memory_format  # in here: ops import autograd
        from ..ops.unary import cast, to_device_op

        out = self
        if dtype is not None and _dt.as_dtype(dtype) != self.dtype:
            out = cast(out, _dt.as_dtype(dtype))
        if device is not None and Device(device) != self.device:
            out = to_device_op(out, Device(device))
        if fmt is not None:
            out = to_memory_format(out, fmt, "to")
        if copy and out is self:
            out = self.clone()
        return out

    def float(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.float32, memory_format=memory_format)

    def double(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.float64, memory_format=memory_format)

    def half(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.float16, memory_format=memory_format)

    def bfloat16(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.bfloat16_dtype(), memory_format=memory_format)

    def cfloat(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.complex64, memory_format=memory_format)

    def cdouble(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.complex128, memory_format=memory_format)

    def chalf(self, memory_format: Any = None) -> "Tensor":
        raise NotImplementedError(
            "Tensor.chalf: NumPy has no complex32 (complex half) dtype; use cfloat() instead"
        )

    def long(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.int64, memory_format=memory_format)

    def int(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.int32, memory_format=memory_format)

    def bool(self, memory_format: Any = None) -> "Tensor":
        return self.to(_dt.bool_, memory_format=memory_format)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """Without an argument, PyTorch's legacy type name (``'torch.FloatTensor'``: the
        string old code compares against); with a dtype, a legacy type such as
        ``cr.LongTensor`` or its name, the tensor converted to it."""
        if dtype is None:
            return type_name(self.dtype)
        if isinstance(dtype, str):
            if ".cuda." in dtype:  # 'torch.cuda.FloatTensor': a CUDA tensor of that type
                return self.to("cuda", dtype_of_type_name(dtype))
            dtype = dtype_of_type_name(dtype)
        elif isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), np.dtype):
            dtype = dtype.dtype  # a legacy type class (cr.FloatTensor, ...)
        return self.to(dtype)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as in PyTorch; other tensors take
        only an empty spec (``f"{x}"``), and a format spec for them raises TypeError."""
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def cpu(self, memory_format: Any = None) -> "Tensor":
        return self.to("cpu", memory_format=memory_format)

    def cuda(
        self, device: int | None = None, non_blocking: bool = False, memory_format: Any = None
    ) -> "Tensor":
        """A copy on a CUDA device (``non_blocking`` changes nothing: copies are synchronous)."""
        return self.to(Device("cuda", device or 0), memory_format=memory_format)
