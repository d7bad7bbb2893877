"""``TensorConversions``: how a Tensor turns into other things -- NumPy arrays, Python
numbers, other dtypes and devices (``numpy``, ``item``, ``to``, ``float``, ``cpu``...).

A mixin of :class:`~chainrule.autograd.tensor.Tensor`, kept apart so that ``tensor.py`` stays
about what a tensor is and how it enters the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes as _dt
from .._layout_marks import LAYOUT_MARKS
from .._layout_relay import before_alias
from .._type_names import dtype_of_type_name, type_name
from .._user_warnings import warn_at_caller
from ..backend import DEVICE_TYPES, Device, to_device
from ..meta.array import ITEM_ERROR, MetaArray
from .shared_memory import mark_shared
from .state import is_grad_enabled
from .to_arguments import check_to_forms, to_fallback

if TYPE_CHECKING:  # annotations only: tensor.py imports this module
    from .tensor import Tensor

__all__ = ["ItemConversionError", "RequiresGradDtypeError", "TensorConversions"]

_WARNED = []  # PyTorch warns once per process
_TO_KEYWORDS = {"dtype", "device", "non_blocking", "copy", "memory_format"}
# PyTorch's error for numpy() / np.asarray() of a tensor that requires grad (grad mode on)
_NUMPY_REQUIRES_GRAD = (
    "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
)


def _warn_scalar_of_grad_tensor() -> None:
    """``float(t)``/``complex(t)`` of a tensor that requires grad: PyTorch 2.13's one-time
    warning (``item()``, ``int()`` and ``bool()`` do not warn, there either)."""
    if not _WARNED:
        _WARNED.append(True)
        warn_at_caller(
            "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
            "behavior.\nConsider using tensor.detach() first."
        )


class RequiresGradDtypeError(TypeError, RuntimeError):
    """``requires_grad`` asked of an integer or bool tensor. PyTorch raises ``RuntimeError``;
    chainrule has raised ``TypeError``: this is both, so either ``except`` clause catches it."""


class ItemConversionError(ValueError, RuntimeError):
    """``item()`` on a tensor of other than one element. PyTorch raises ``RuntimeError``;
    chainrule has raised ``ValueError``: this is both, so either ``except`` clause catches it."""


class TensorConversions:
    """Conversion methods of ``Tensor`` (which provides ``_data``, ``dtype``, ``device``,
    ``requires_grad`` and ``clone``)."""

    __slots__ = ()
    # whether ``format(t, spec)`` of a 0-d tensor formats its value (a plain tensor) or is
    # ``object.__format__`` (``nn.Parameter``, as PyTorch's ``type(t) is Tensor`` test)
    _FORMAT_VALUE = True

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
        if _dt.is_float8(self._data.dtype):  # PyTorch's error, also with force=True
            from ..float8 import scalar_type_name

            raise TypeError(f"Got unsupported ScalarType {scalar_type_name(self._data.dtype)}")
        if force:
            return self.detach().cpu().numpy()
        if self.requires_grad and is_grad_enabled():  # torch allows it under no_grad
            raise RuntimeError(_NUMPY_REQUIRES_GRAD)
        if self.device.type != "cpu":
            raise TypeError(  # PyTorch's words
                f"can't convert {self.device.type} device type tensor to numpy. Use "
                "Tensor.cpu() to copy the tensor to host memory first."
            )
        if LAYOUT_MARKS:  # a convolution's result: row-major first, as PyTorch's array
            before_alias(self)  # (_layout_relay.py; the array shares the memory for good)
        return mark_shared(self._data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """``np.asarray(t)`` / ``np.array(t)``: the data as a NumPy array (copied off a GPU).
        A tensor that requires grad refuses while grad mode is on, as ``numpy()`` and as in
        PyTorch (the array would silently leave the graph); ``t.detach()`` converts."""
        if (self._rg or self._view is not None and self.requires_grad) and is_grad_enabled():
            raise RuntimeError(_NUMPY_REQUIRES_GRAD)
        if LAYOUT_MARKS:  # a convolution's result: row-major first (_layout_relay.py)
            before_alias(self)
        arr = mark_shared(np.asarray(to_device(self._data, "cpu")))  # 0-d: may be a scalar
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __array_wrap__(self, array: Any, context: Any = None, return_scalar: bool = False) -> Any:
        """What NumPy functions give back for a tensor argument, as PyTorch's Tensor does:
        ``np.sin(t)``, ``np.add(t, 1)``, ``np.transpose(t)``, ``np.argsort(t)``,
        ``np.linspace(t0, t1, n)`` return a CPU tensor over NumPy's result (0-d where NumPy
        would give a scalar: ``return_scalar`` is not honoured, as in PyTorch), a bool result
        as a ``uint8`` tensor (PyTorch's legacy byte mask). A result of a dtype no tensor
        holds (a string, an object) stays NumPy's."""
        arr = np.asarray(array)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8)
        if arr.dtype.kind not in "iufc" or arr.dtype == np.longdouble:
            return array
        return type(self)._make(mark_shared(arr), False, None, 0)

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
        if self._data.size != 1:  # PyTorch's texts, word for word (users match on them)
            many = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {many} is ambiguous")
        if type(self._data) is MetaArray:  # no value (its raw array answers ops' checks)
            raise RuntimeError(ITEM_ERROR)
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
        if len(kwargs) == 1 and "memory_format" in kwargs:  # x.float(), x.long(), ...
            dtype = device = None
            copy = unusual = False
            fmt = kwargs["memory_format"]
        elif kwargs:  # (non_blocking changes nothing: copies are synchronous)
            dtype = kwargs.get("dtype")
            device = kwargs.get("device")
            copy = kwargs.get("copy", False)
            fmt = kwargs.get("memory_format")
            unusual = not kwargs.keys() <= _TO_KEYWORDS or (
                args and (dtype is not None or device is not None)
            )
        else:
            dtype = device = fmt = None
            copy = unusual = False
        if unusual or len(args) > 1:
            check_to_forms(args, kwargs)  # unusual calls only: PyTorch's forms, or its error
        flags = []
        for a in args:
            if isinstance(a, bool):  # non_blocking, then copy
                flags.append(a)
            elif isinstance(a, TensorConversions):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (Device,)) or (
                isinstance(a, str) and a.split(":")[0] in DEVICE_TYPES
            ):
                device = a
            else:
                dtype = a
        if flags and type(args[0]) is bool:  # PyTorch reads it as a tensor: to(bool)
            dtype, flags = _dt.bool_, flags[1:]
        if len(flags) == 2:
            copy = copy or flags[1]
        from ..ops.memory_format import to_memory_format  # in here: ops import autograd
        from ..ops.unary import cast, to_device_op

        out = self
        if dtype is not None:
            try:
                target = _dt.as_dtype(dtype)
            except TypeError:  # a number or string PyTorch reads otherwise, or its error
                target, device = to_fallback(dtype, args, kwargs)
            if target is not None and target != self.dtype:
                out = cast(out, target)
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
        from ..dtype_objects import dtype as _dtype_object  # cr.float32's class (quantized too)

        if isinstance(dtype, str):
            cuda, dtype = _parse_type_string(dtype)
            if cuda:  # 'torch.cuda.FloatTensor': a CUDA tensor of that type
                return self.to("cuda", dtype)
        elif isinstance(dtype, type):
            dtype = _dtype_of_type_class(dtype)
        elif not isinstance(dtype, _dtype_object):
            # PyTorch's TypeError (NumPy dtype instances, numbers... are not types)
            raise TypeError("dtype must be a type, str, or dtype object")
        return self.to(dtype)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as in PyTorch; other tensors take
        only an empty spec (``f"{x}"``, their ``str``), and a format spec for them raises
        TypeError. As PyTorch's, only a plain tensor's value is formatted: a Parameter's or
        a user subclass's ``f"{p}"`` is its ``str`` (``Parameter containing: ...``)."""
        cls = type(self)
        if cls._FORMAT_VALUE and cls.__module__.startswith("chainrule."):
            if self._data.ndim == 0:
                return format(self.item(), spec)
            if spec:  # chainrule's own subclasses (Buffer ...) are plain tensors in PyTorch
                raise TypeError("unsupported format string passed to Tensor.__format__")
        return object.__format__(self, spec)

    def cpu(self, memory_format: Any = None) -> "Tensor":
        return self.to("cpu", memory_format=memory_format)

    def cuda(
        self, device: int | None = None, non_blocking: bool = False, memory_format: Any = None
    ) -> "Tensor":
        """A copy on a CUDA device (``non_blocking`` changes nothing: copies are synchronous)."""
        return self.to(Device("cuda", device or 0), memory_format=memory_format)


def _invalid_type(name: str) -> ValueError:
    return ValueError(f"invalid type: {name!r}")  # PyTorch's message, word for word


def _parse_type_string(name: str) -> tuple[bool, Any]:
    """``'torch.FloatTensor'`` (or its ``'torch.cuda.'`` / ``'torch.sparse.'`` forms, or
    ``'torch.Tensor'``) -> (is CUDA, dtype); anything else -- ``'float'``,
    ``'FloatTensor'``, ``'torch.float32'`` -- raises PyTorch's ``ValueError: invalid type:
    'float'``."""
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "torch":
        raise _invalid_type(name)
    middle, short = parts[1:-1], parts[-1]
    if middle not in ([], ["cuda"], ["sparse"], ["cuda", "sparse"]):
        raise _invalid_type(name)
    cuda = "cuda" in middle
    if short == "Tensor":
        if middle == ["sparse"]:  # PyTorch has no 'torch.sparse.Tensor'
            raise _invalid_type(name)
        return cuda, _dt.get_default_dtype()
    if not short.endswith("Tensor"):
        raise _invalid_type(name)
    try:
        return cuda, dtype_of_type_name(short)
    except (ValueError, TypeError):
        raise _invalid_type(name) from None


def _dtype_of_type_class(cls: type) -> Any:
    """The dtype of a legacy type class (``cr.FloatTensor``, ``cr.sparse.FloatTensor``;
    ``cr.Tensor``: the default dtype); any other class (``int``, ``float``, ``np.float32``)
    raises PyTorch's ``ValueError: invalid type: 'int'``."""
    from .tensor import Tensor  # tensor.py imports this module

    if cls is Tensor:
        return _dt.get_default_dtype()
    dtype = getattr(cls, "dtype", None)
    if isinstance(dtype, np.dtype):
        return dtype
    # Python's name for the class, as PyTorch words it: a class defined in Python by its
    # name, a built-in one (written in C) by its full name, builtins without a module
    if cls.__flags__ & (1 << 9) or cls.__module__ == "builtins":  # Py_TPFLAGS_HEAPTYPE
        raise _invalid_type(cls.__name__)
    raise _invalid_type(f"{cls.__module__}.{cls.__qualname__}")
