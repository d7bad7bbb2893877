"""``QuantizedTensor``: PyTorch's quantized CPU tensors (``cr.quantize_per_tensor``,
``cr.quantize_per_channel``) and what a quantized tensor answers.

The functions that make one from a float tensor are in :mod:`.quantized_creation`.

A quantized tensor stores integers (``int_repr()``) and the affine map back to numbers:
``value = (q - zero_point) * scale``, with one scale and zero point (per tensor) or one per
index of an axis (per channel). It is a :class:`Tensor` subclass, so ``isinstance(q,
cr.Tensor)`` holds, built as :class:`~chainrule.ops.sparse_tensor.SparseTensor` is: its
``_data`` (what every dense op reads) has only a shape and raises NotImplementedError for
anything that would compute with it, and Tensor methods it does not define raise the same
error, so a dense op given a quantized tensor fails clearly (``call .dequantize() first``)
instead of computing on the stored integers. It never requires grad.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import printing as _printing
from .autograd.tensor import Tensor
from .autograd.torch_function import disabled_torch_function_impl
from .backend import Device
from .qtypes import (
    QDtype,
    QScheme,
    per_channel_affine,
    per_tensor_affine,
    scalar_type_name,
)
from .quantized_kernels import (
    dequantize_array,
    quantize_per_tensor_array,
)

__all__ = [
    "QuantizedTensor",
    "make_per_channel_quantized",
    "make_per_tensor_quantized",
]

_DEPRECATION = (
    "torch.quantize_per_tensor, torch.quantize_per_channel and other quantized tensor creation "
    "functions that produce tensors with dtype torch.quint8, torch.qint8, and torch.qint32 are "
    "deprecated and will be removed in a future PyTorch release. Please see "
    "https://github.com/pytorch/pytorch/issues/184982 for more information."
)


def _unsupported(op: str) -> NotImplementedError:
    return NotImplementedError(
        f"{op}: not supported for quantized tensors (dtype qint8/quint8/qint32); "
        "call .dequantize() first"
    )


class _NoValues:
    """The ``_data`` of a quantized tensor: its shape, and no values to compute with."""

    __slots__ = ("shape", "dtype")
    __array_priority__ = 2000

    def __init__(self, shape: tuple, dtype: QDtype) -> None:
        self.shape, self.dtype = shape, dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    def __getattr__(self, name: str) -> Any:
        raise _unsupported(name)

    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        raise _unsupported(ufunc.__name__)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise _unsupported(func.__name__)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise _unsupported("conversion to a NumPy array")


# Tensor attributes that hold for a quantized tensor as they are (shape, bookkeeping).
_PASS = frozenset(
    {
        "_data", "_grad", "_rg", "grad_fn", "_grad_fn", "_output_nr", "_vc", "_hooks", "_fw",
        "_view",
        "_fw_tangent", "_version", "_base", "_is_view", "size", "dim", "numel", "nelement",
        "ndimension", "element_size", "shape", "ndim", "is_leaf", "requires_grad", "grad",
        "is_cuda", "is_cpu", "is_mps", "is_xpu", "is_sparse", "layout", "get_device",
        "is_floating_point", "is_complex", "itemsize", "nbytes", "is_meta", "is_nested",
        "is_inference", "output_nr",
    }
)  # fmt: skip


class QuantizedTensor(Tensor):
    """A quantized tensor: integers and their scale/zero point. Made by
    :func:`quantize_per_tensor` / :func:`quantize_per_channel`, never directly."""

    __torch_function__ = disabled_torch_function_impl

    # _q_cl: torch would hold it channels last (a quantized convolution's output and what
    # pointwise ops, pooling and adds make of it), which changes torch's rounding of
    # adaptive average pooling (quantized_ops.py); chainrule's integers stay contiguous
    __slots__ = ("_q_int", "_q_dtype", "_q_scheme", "_q_scale", "_q_zp", "_q_axis", "_q_cl")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "QuantizedTensor is not constructed directly; use chainrule.quantize_per_tensor or "
            "chainrule.quantize_per_channel"
        )

    def __getattribute__(self, name: str) -> Any:
        if name in _PASS or name in _OWN or name[:2] == "__" or not hasattr(Tensor, name):
            return object.__getattribute__(self, name)
        raise _unsupported(f"Tensor.{name}")

    # ------------------------------------------------------------------ metadata
    @property
    def dtype(self) -> QDtype:
        return self._q_dtype

    @property
    def device(self) -> Device:
        return Device("cpu")

    @property
    def is_quantized(self) -> bool:
        return True

    def qscheme(self) -> QScheme:
        return self._q_scheme

    def _per_tensor(self, op: str) -> None:
        if self._q_axis is not None:
            raise RuntimeError(
                f"Expected quantizer->qscheme() == kPerTensorAffine to be true, but got "
                f"false. ({op} of a per-channel quantized tensor; use q_per_channel_*)"
            )

    def _per_channel(self, op: str) -> None:
        if self._q_axis is None:
            raise RuntimeError(
                f"Expected quantizer->qscheme() == kPerChannelAffine || quantizer->qscheme() "
                f"== kPerChannelAffineFloatQParams to be true, but got false. ({op} of a "
                "per-tensor quantized tensor)"
            )

    def q_scale(self) -> float:
        self._per_tensor("q_scale")
        return self._q_scale

    def q_zero_point(self) -> int:
        self._per_tensor("q_zero_point")
        return self._q_zp

    def q_per_channel_scales(self) -> Tensor:
        self._per_channel("q_per_channel_scales")
        return Tensor._make(self._q_scale.copy(), False, None, 0)

    def q_per_channel_zero_points(self) -> Tensor:
        self._per_channel("q_per_channel_zero_points")
        return Tensor._make(self._q_zp.copy(), False, None, 0)

    def q_per_channel_axis(self) -> int:
        self._per_channel("q_per_channel_axis")
        return self._q_axis

    # ------------------------------------------------------------------ values
    def int_repr(self) -> Tensor:
        """The stored integers (int8, uint8 or int32), a copy."""
        return Tensor._make(self._q_int.copy(), False, None, 0)

    def dequantize(self) -> Tensor:
        """The float32 values ``(q - zero_point) * scale``."""
        return Tensor._make(
            dequantize_array(self._q_int, self._q_scale, self._q_zp, self._q_axis), False, None, 0
        )

    def detach(self) -> QuantizedTensor:
        return self

    def clone(self, *, memory_format: Any = None) -> QuantizedTensor:
        """A copy; contiguous, as torch's clone of a channels-last quantized tensor is."""
        if memory_format is not None:
            raise NotImplementedError("clone of a quantized tensor: memory_format")
        return _make(self._q_int.copy(), self._q_dtype, self._q_scale, self._q_zp, self._q_axis)

    def _copy_keeping_layout(self) -> QuantizedTensor:
        out = self.clone()
        out._q_cl = self._q_cl
        return out

    def cpu(self) -> QuantizedTensor:
        return self

    # ------------------------------------------------------------------ integer-level ops
    def relu(self) -> QuantizedTensor:
        """``max(x, 0)``: the integers clamped below at the zero point (qparams kept)."""
        self._per_tensor("relu")
        low = np.asarray(self._q_zp, self._q_int.dtype)
        out = _make(np.maximum(self._q_int, low), self._q_dtype, self._q_scale, self._q_zp, None)
        out._q_cl = self._q_cl
        return out

    def relu_(self) -> QuantizedTensor:
        self._q_int[...] = self.relu()._q_int
        return self

    def reshape(self, *shape: Any) -> QuantizedTensor:
        """The same integers and qparams in a new shape (per-tensor tensors only)."""
        self._per_tensor("reshape")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            q = self._q_int.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {self._q_int.size}"
            ) from None
        out = _make(q, self._q_dtype, self._q_scale, self._q_zp, None)
        out._q_cl = self._q_cl and q.shape == self._q_int.shape  # torch keeps the strides
        return out

    view = reshape

    def unsqueeze(self, dim: int) -> QuantizedTensor:
        """A new size-1 dimension at ``dim`` (a reshape of the integers)."""
        shape = list(self._q_int.shape)
        shape.insert(dim % (len(shape) + 1), 1)
        return self.reshape(shape)

    def squeeze(self, dim: Any = None) -> QuantizedTensor:
        """The size-1 dimensions (all, or those in ``dim``) removed."""
        shape = self._q_int.shape
        dims = range(len(shape)) if dim is None else (dim,) if isinstance(dim, int) else dim
        drop = {int(d) % max(len(shape), 1) for d in dims}
        return self.reshape([s for i, s in enumerate(shape) if not (i in drop and s == 1)])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> QuantizedTensor:
        shape = self._q_int.shape
        if not shape:
            return self.reshape(1)
        s, e = start_dim % len(shape), end_dim % len(shape)
        return self.reshape(*shape[:s], int(np.prod(shape[s : e + 1])), *shape[e + 1 :])

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
        """The mean over ``dim`` with the same qparams: ``rint(sum(q) / n)`` on the
        integers, halves to even (PyTorch's quantized mean); a tensor torch holds channels
        last goes through PyTorch's fallback (float32 mean of the dequantized values,
        requantized), whose rounding of halves differs."""
        self._per_tensor("mean")
        if dtype is not None:
            raise NotImplementedError("mean of a quantized tensor: dtype")
        q = self._q_int
        axes = tuple(range(q.ndim)) if dim is None else dim
        axes = tuple(int(d) % q.ndim for d in ((axes,) if isinstance(axes, int) else axes))
        if self._q_cl:
            # torch's kernel needs a contiguous tensor: a channels-last one (a quantized
            # convolution's output) is dequantized, averaged in float32 and requantized
            values = dequantize_array(q, self._q_scale, self._q_zp, None).astype(np.float32)
            mean = np.asarray(values.mean(axis=axes, dtype=np.float32, keepdims=keepdim))
            out = quantize_per_tensor_array(mean, self._q_scale, self._q_zp, self._q_dtype)
            return _make(np.asarray(out), self._q_dtype, self._q_scale, self._q_zp, None)
        n = int(np.prod([q.shape[d] for d in axes]))
        total = q.sum(axis=axes, dtype=np.int64, keepdims=keepdim)
        out = np.rint(total / n).astype(q.dtype)
        return _make(np.asarray(out), self._q_dtype, self._q_scale, self._q_zp, None)

    def contiguous(self, memory_format: Any = None) -> QuantizedTensor:
        if memory_format is not None:
            raise NotImplementedError("contiguous of a quantized tensor: memory_format")
        if not self._q_cl:
            return self
        return _make(self._q_int, self._q_dtype, self._q_scale, self._q_zp, self._q_axis)

    def __deepcopy__(self, memo: dict) -> QuantizedTensor:
        out = memo.get(id(self))
        if out is None:
            out = memo[id(self)] = self._copy_keeping_layout()
        return out

    def __copy__(self) -> QuantizedTensor:
        return self._copy_keeping_layout()

    def __reduce__(self) -> tuple:
        args = (self._q_int, self._q_dtype, self._q_scale, self._q_zp, self._q_axis, self._q_cl)
        return (_unpickle, args)

    def numpy(self, *, force: bool = False) -> Any:
        raise TypeError(f"Got unsupported ScalarType {scalar_type_name(self._q_dtype)}")

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        values = dequantize_array(self._q_int, self._q_scale, self._q_zp, self._q_axis)
        head = "tensor("
        body = np.array2string(
            values, separator=", ", prefix=head, **_printing.array2string_options(values)
        ).replace(", ...,", ",  ...,")
        suffixes = [f"size={tuple(values.shape)}", f"dtype={self._q_dtype!r}"]
        suffixes.append(f"quantization_scheme={self._q_scheme!r}")
        if self._q_axis is None:
            suffixes += [f"scale={self._q_scale!r}", f"zero_point={self._q_zp}"]
        else:
            suffixes += [
                f"scale={self.q_per_channel_scales()!r}",
                f"zero_point={self.q_per_channel_zero_points()!r}",
                f"axis={self._q_axis}",
            ]
        return _add_suffixes(head + body, suffixes, len(head))

    def __format__(self, spec: str) -> str:
        if spec:
            raise _unsupported(f"format spec {spec!r}")
        return repr(self)

    __hash__ = object.__hash__


_OWN = QuantizedTensor.__dict__

_OPERATORS = (
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ "
    "__floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __matmul__ __rmatmul__ "
    "__neg__ __pos__ __abs__ __invert__ __and__ __rand__ __or__ __ror__ __xor__ __rxor__ "
    "__eq__ __ne__ __lt__ __le__ __gt__ __ge__ __getitem__ __setitem__ __iter__ __bool__ "
    "__float__ __int__ __index__ __complex__ __dlpack__ __iadd__ __isub__ __imul__ "
    "__itruediv__"
).split()


def _raiser(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise _unsupported(name)

    method.__name__ = name
    return method


for _name in _OPERATORS:
    setattr(QuantizedTensor, _name, _raiser(_name.strip("_")))
    setattr(_NoValues, _name, _raiser(_name.strip("_")))
QuantizedTensor.__array__ = _raiser("conversion to a NumPy array")


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """PyTorch's tensor-repr tail: each ``, suffix`` on the current line while it fits in
    the line width, else on a new line indented under the values."""
    width = int(_printing.array2string_options()["max_line_width"])
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > width:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(parts) + ")"


def _make(
    q: np.ndarray, dtype: QDtype, scale: Any, zero_point: Any, axis: int | None
) -> QuantizedTensor:
    t = object.__new__(QuantizedTensor)
    t._data = _NoValues(tuple(q.shape), dtype)
    t._grad = None
    t._rg = False
    t.grad_fn = None
    t._output_nr = 0
    t._vc = [0]
    t._hooks = None
    t._fw = None
    t._view = None
    t._q_int = q
    t._q_dtype = dtype
    t._q_scheme = per_tensor_affine if axis is None else per_channel_affine
    t._q_scale = scale
    t._q_zp = zero_point
    t._q_axis = axis
    t._q_cl = False
    return t


def _unpickle(
    q: np.ndarray, dtype: QDtype, scale: Any, zero_point: Any, axis: int | None, cl: bool = False
) -> QuantizedTensor:
    """A pickled quantized tensor rebuilt, with the memory format torch's would keep."""
    out = _make(q, dtype, scale, zero_point, axis)
    out._q_cl = bool(cl)
    return out


def make_per_tensor_quantized(
    q: np.ndarray, dtype: QDtype, scale: float, zero_point: int, channels_last: bool = False
) -> QuantizedTensor:
    """A per-tensor quantized tensor from integers already computed (for chainrule's own
    quantized modules); ``channels_last``: torch's would be (see ``_q_cl``)."""
    out = _make(np.ascontiguousarray(q, dtype.storage), dtype, float(scale), int(zero_point), None)
    out._q_cl = bool(channels_last)
    return out


def make_per_channel_quantized(
    q: np.ndarray, dtype: QDtype, scales: np.ndarray, zero_points: np.ndarray, axis: int
) -> QuantizedTensor:
    """A per-channel quantized tensor from integers already computed."""
    return _make(
        np.ascontiguousarray(q, dtype.storage),
        dtype,
        np.asarray(scales, np.float64),
        np.asarray(zero_points, np.int64),
        int(axis),
    )
