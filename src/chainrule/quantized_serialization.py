"""Quantized tensors in PyTorch's checkpoint format, for ``cr.save`` / ``cr.load``.

``torch.save`` writes a quantized tensor as ``torch._utils._rebuild_qtensor(storage,
offset, size, stride, quantizer_params, requires_grad, backward_hooks)`` with a
``torch.QUInt8Storage`` / ``QInt8Storage`` / ``QInt32Storage`` of its integers and
``quantizer_params`` ``(torch.per_tensor_affine, scale, zero_point)`` or
``(torch.per_channel_affine, scales, zero_points, axis)`` (scales float64 and zero points
int64 tensors). The quantized dtypes themselves (a quantized model's state dict holds
``torch.qint8``) are the globals ``torch.qint8`` etc. The writer and the reader of
``serialization`` call these two halves.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .autograd.tensor import Tensor
from .qtypes import (
    QUANTIZED_DTYPES,
    QDtype,
    QScheme,
    per_channel_affine,
    per_tensor_affine,
)
from .quantized_tensor import (
    QuantizedTensor,
    make_per_channel_quantized,
    make_per_tensor_quantized,
)
from .serialization.archive import StorageType, owned_copy, tensor_view
from .serialization.source import LoadError
from .serialization.torch_pickler import Global, PersistentId, Reduce

__all__ = ["QUANTIZED_GLOBALS", "quantized_record"]

_STORAGES = {"qint8": "QInt8Storage", "quint8": "QUInt8Storage", "qint32": "QInt32Storage"}
_BY_NAME = {d.name: d for d in QUANTIZED_DTYPES}
_WHERE = "a PyTorch checkpoint"


def quantized_record(obj: Any, storage: Callable[[np.ndarray], tuple]) -> Any:
    """The pickle record of a quantized tensor or a quantized dtype/scheme (None for
    anything else). ``storage(arr)`` gives ``(key, offset, stride, numel)`` of the
    archive storage holding ``arr``."""
    if isinstance(obj, (QDtype, QScheme)):
        return Global("torch", obj.name)
    if not isinstance(obj, QuantizedTensor):
        return None
    ints = obj._q_int
    if obj._q_cl and ints.ndim == 4:  # written channels last, as torch holds it
        ints = np.ascontiguousarray(ints.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    key, offset, stride, numel = storage(ints)
    pid = PersistentId(("storage", Global("torch", _STORAGES[obj.dtype.name]), key, "cpu", numel))
    if obj._q_axis is None:
        params: tuple = (Global("torch", "per_tensor_affine"), float(obj._q_scale), int(obj._q_zp))
    else:
        params = (
            Global("torch", "per_channel_affine"),
            Tensor._make(np.asarray(obj._q_scale, np.float64), False, None, 0),
            Tensor._make(np.asarray(obj._q_zp, np.int64), False, None, 0),
            int(obj._q_axis),
        )
    size = tuple(int(n) for n in obj.shape)
    args = (pid, offset, size, stride, params, False, OrderedDict())
    return Reduce(Global("torch._utils", "_rebuild_qtensor"), args)


def _rebuild_qtensor(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    quantizer_params: Any,
    requires_grad: Any,
    backward_hooks: Any,
) -> QuantizedTensor:
    """``torch._utils._rebuild_qtensor``: a quantized tensor of ``storage``'s integers."""
    ints = owned_copy(tensor_view(storage, storage_offset, size, stride, _WHERE), storage, _WHERE)
    dtype = {np.dtype(np.int8): "qint8", np.dtype(np.uint8): "quint8"}.get(ints.dtype, "qint32")
    qdtype = _BY_NAME[dtype]
    if not isinstance(quantizer_params, tuple) or not quantizer_params:
        raise LoadError(f"cr.load: {_WHERE} has a quantized tensor without quantizer params")
    scheme = quantizer_params[0]
    if scheme is per_tensor_affine and len(quantizer_params) == 3:
        _, scale, zero_point = quantizer_params
        cl = _channels_last(size, stride)
        return make_per_tensor_quantized(ints, qdtype, float(scale), int(zero_point), cl)
    if scheme is per_channel_affine and len(quantizer_params) == 4:
        _, scales, zero_points, axis = quantizer_params
        out = make_per_channel_quantized(
            ints, qdtype, np.asarray(scales._data), np.asarray(zero_points._data), int(axis)
        )
        out._q_cl = _channels_last(size, stride)
        return out
    raise LoadError(
        f"cr.load: {_WHERE} has a quantized tensor with scheme {scheme!r}, which chainrule "
        "cannot rebuild (per_tensor_affine, per_channel_affine)"
    )


def _channels_last(size: Any, stride: Any) -> bool:
    """Whether ``stride`` lays a 4-d ``size`` out channels last (NHWC) and not row-major."""
    size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
    if len(size) != 4:
        return False
    n, c, h, w = size
    row_major = (c * h * w, h * w, w, 1)
    nhwc = (h * w * c, 1, w * c, c)
    keep = [i for i in range(4) if size[i] != 1]  # strides of size-1 dims do not matter
    same = all(stride[i] == nhwc[i] for i in keep)
    return same and not all(stride[i] == row_major[i] for i in keep)


QUANTIZED_GLOBALS: dict[str, Any] = {
    "torch._utils._rebuild_qtensor": _rebuild_qtensor,
    "torch.per_tensor_affine": per_tensor_affine,
    "torch.per_channel_affine": per_channel_affine,
    **{f"torch.{name}": StorageType(str(d.storage)) for d in QUANTIZED_DTYPES
       for name in [_STORAGES[d.name]]},
    **{f"torch.{d.name}": d for d in QUANTIZED_DTYPES},
}  # fmt: skip
