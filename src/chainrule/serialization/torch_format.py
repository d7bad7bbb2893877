"""PyTorch's checkpoint names, mapped to chainrule rebuild functions (torch never imported).

A ``torch.save`` pickle names a handful of globals: ``torch._utils._rebuild_tensor_v2``
for every tensor, storage classes such as ``torch.FloatStorage`` for its dtype,
``torch._utils._rebuild_parameter`` for Parameters, ``collections.OrderedDict`` for state
dicts, and occasionally ``torch.Size``, ``torch.device`` or a dtype such as
``torch.float16``. :data:`TORCH_GLOBALS` maps exactly these names to functions here that
check their arguments and build chainrule tensors from the archive's storages; nothing
else from ``torch`` is recognised, so nothing else can be called.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import Device
from ..dtype_objects import dtype as PublicDtype
from ..dtype_objects import public_dtype
from ..ops.tensor_queries import layout, sparse_coo, strided
from ..quantized_serialization import QUANTIZED_GLOBALS
from ..size import Size
from .archive import Storage, StorageType, tensor_view
from .source import LoadError
from .unpickle import Unsupported

__all__ = ["TORCH_GLOBALS"]

_WHERE = "a PyTorch checkpoint"

_STORAGES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}
_DTYPES = {
    "float32": "float32",
    "float": "float32",
    "float64": "float64",
    "double": "float64",
    "float16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "int8": "int8",
    "int16": "int16",
    "short": "int16",
    "int32": "int32",
    "int": "int32",
    "int64": "int64",
    "long": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "bool": "bool",
    "complex64": "complex64",
    "cfloat": "complex64",
    "complex128": "complex128",
    "cdouble": "complex128",
    # the float8 types (ml_dtypes'): saved as PyTorch saves them, an untyped byte storage
    # and the dtype (torch._utils._rebuild_tensor_v3)
    "float8_e4m3fn": "float8_e4m3fn",
    "float8_e4m3fnuz": "float8_e4m3fnuz",
    "float8_e5m2": "float8_e5m2",
    "float8_e5m2fnuz": "float8_e5m2fnuz",
    "float8_e8m0fnu": "float8_e8m0fnu",
}

# torch dtypes that chainrule has no counterpart for: a file naming one gets an error
# saying so (the quantized ones are in quantized_serialization)
_MISSING_DTYPES = (
    "float4_e2m1fn_x2",
    "complex32",
    "chalf",
    "bits8",
    "bits16",
    "bits1x8",
    "bits2x4",
    "bits4x2",
    *(f"int{n}" for n in range(1, 8)),
    *(f"uint{n}" for n in range(1, 8)),
)


class _TensorType:
    """What ``torch.Tensor`` / ``torch.nn.Parameter`` resolve to (only as a type tag)."""

    def __init__(self, name: str) -> None:
        self.name = name


_TENSOR = _TensorType("Tensor")
_PARAMETER = _TensorType("Parameter")


def _check_hooks(hooks: Any) -> None:
    if hooks is not None and not (isinstance(hooks, dict) and not hooks):
        raise LoadError(
            f"cr.load: {_WHERE} holds a tensor with backward hooks, which a "
            "weights-only load cannot restore"
        )


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise LoadError(f"cr.load: {_WHERE} has a tensor whose {what} is {value!r}, not a bool")
    return value


def _rebuild_tensor_v2(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    backward_hooks: Any,
    metadata: Any = None,
) -> Tensor:
    """``torch._utils._rebuild_tensor_v2``: a tensor viewing ``storage``."""
    _check_hooks(backward_hooks)
    storage = _with_metadata(storage, metadata)
    arr = tensor_view(storage, storage_offset, size, stride, _WHERE)
    return Tensor._make(arr, _flag(requires_grad, "requires_grad"), None, 0)


def _with_metadata(storage: Any, metadata: Any) -> Any:
    """``storage`` as the tensor metadata ``torch.save`` records beside a view says to read
    it: ``{"conj": True}`` for ``x.conj()`` and ``{"neg": True}`` for a negative view, whose
    storages hold the values before conjugation / negation. chainrule has no lazy conjugate
    or negative bits, so the loaded tensor views a computed copy of the storage (one per
    storage, however many tensors view it, so a file cannot claim more memory than it
    holds), no longer sharing memory with the tensors that view the storage as it is."""
    if metadata is None:
        return storage
    if not isinstance(metadata, dict) or not set(metadata) <= {"conj", "neg"}:
        raise LoadError(
            f"cr.load: {_WHERE} has a tensor with metadata {str(metadata)[:80]}; "
            "chainrule reads only 'conj' and 'neg'"
        )
    conj = _flag(metadata.get("conj", False), "conj")
    neg = _flag(metadata.get("neg", False), "neg")
    if not (conj or neg) or not isinstance(storage, Storage):
        return storage  # tensor_view refuses anything but a storage
    if neg and storage.dtype == np.bool_:
        raise LoadError(
            f"cr.load: {_WHERE} has a negative view of the bool storage {storage.key!r}"
        )
    if conj:
        storage = storage.variant("conj", np.conj)
    if neg:
        storage = storage.variant("neg", np.negative)
    return storage


def _rebuild_tensor_v3(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    backward_hooks: Any,
    dtype: Any,
    metadata: Any = None,
) -> Tensor:
    """``torch._utils._rebuild_tensor_v3``: an untyped (byte) storage read as ``dtype``."""
    if isinstance(dtype, _LazyDtype):  # a float8 type: ml_dtypes now
        dtype = dtype()
    if isinstance(dtype, PublicDtype):
        dtype = dtype.dtype
    if not isinstance(storage, Storage) or not isinstance(dtype, np.dtype):
        raise LoadError(
            f"cr.load: {_WHERE} rebuilds a tensor from {type(storage).__name__} as {dtype!r}"
        )
    if storage.dtype != dtype:
        if storage.dtype != np.uint8 or len(storage) % dtype.itemsize:
            raise LoadError(
                f"cr.load: {_WHERE} reads storage {storage.key!r} of {storage.dtype} as {dtype}"
            )
        storage = storage.variant(f"as {dtype.str}", lambda a: a.view(dtype))
    return _rebuild_tensor_v2(
        storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata
    )


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> Tensor:
    """``torch._utils._rebuild_tensor`` (older files)."""
    return Tensor._make(tensor_view(storage, storage_offset, size, stride, _WHERE), False, None, 0)


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any) -> Any:
    """``torch._utils._rebuild_parameter``: a ``cr.nn.Parameter`` sharing ``data``."""
    from ..nn.parameter import Parameter

    if not isinstance(data, Tensor):
        raise LoadError(
            f"cr.load: {_WHERE} rebuilds a Parameter from {type(data).__name__}, not from a tensor"
        )
    _check_hooks(backward_hooks)
    return Parameter(data, requires_grad=_flag(requires_grad, "requires_grad"))


def _set_state(obj: Tensor, state: Any) -> Tensor:
    """Restore the attributes ``torch.save`` kept with a tensor or Parameter (its
    ``__dict__``, or a ``(dict, slots)`` pair), as ``torch.load`` does. A name the tensor
    class defines itself (a method, a property) is refused: no file PyTorch writes holds one,
    and setting it would shadow chainrule's own."""
    if not state:
        return obj
    parts = state if isinstance(state, tuple) and len(state) == 2 else (state, None)
    for part in parts:
        if part is None:
            continue
        if not isinstance(part, dict) or not all(isinstance(k, str) for k in part):
            raise LoadError(f"cr.load: {_WHERE} has an invalid tensor state {str(state)[:80]}")
        for name, value in part.items():
            if hasattr(type(obj), name) or name.startswith("__"):
                raise LoadError(
                    f"cr.load: {_WHERE} sets the tensor attribute {name!r}, which chainrule's "
                    "tensor class defines itself"
                )
            setattr(obj, name, value)
    return obj


def _rebuild_parameter_with_state(
    data: Any, requires_grad: Any, backward_hooks: Any, state: Any
) -> Any:
    """``torch._utils._rebuild_parameter_with_state``: a Parameter with the attributes a
    program set on it (``p._optim = {...}``) restored."""
    return _set_state(_rebuild_parameter(data, requires_grad, backward_hooks), state)


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> Any:
    """``torch._tensor._rebuild_from_type_v2``: only plain tensors/Parameters, with the
    attributes a program set on them restored."""
    known = (_rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_tensor, _rebuild_parameter)
    subclass = _tensor_subclass(new_type)
    if func not in known or not (subclass or isinstance(new_type, _TensorType)):
        raise LoadError(
            f"cr.load: {_WHERE} rebuilds a tensor subclass, which a weights-only "
            "load cannot restore"
        )
    if not isinstance(args, tuple):
        raise LoadError(f"cr.load: {_WHERE} rebuilds a tensor from {type(args).__name__} args")
    from ..nn.parameter import Parameter

    out = func(*args)
    if subclass:  # a program's own Tensor subclass (the unpickler resolved it: allowed)
        if type(out) is not new_type:
            out = out.as_subclass(new_type)
        if getattr(new_type, "__setstate__", None) is not getattr(Tensor, "__setstate__", None):
            out.__setstate__(state)  # the class's own, as torch.load calls it
            return out
        return _set_state(out, state)
    if new_type is _PARAMETER and not isinstance(out, Parameter):
        out = _rebuild_parameter(out, out.requires_grad, None)
    return _set_state(out, state)


def _tensor_subclass(new_type: Any) -> bool:
    """Whether ``new_type`` is a program's own subclass of chainrule's Tensor (what
    ``_rebuild_from_type_v2`` names for a subclass instance; the unpickler has let it through:
    ``weights_only=False`` or ``add_safe_globals``)."""
    from ..nn.parameter import Parameter  # in here: nn imports serialization

    return (
        isinstance(new_type, type)
        and issubclass(new_type, Tensor)
        and new_type is not Tensor
        and not issubclass(new_type, Parameter)
    )


def _size(dims: Any = ()) -> Size:
    """``torch.Size(dims)`` -> a ``cr.Size``, as ``torch.load`` gives a ``torch.Size``."""
    if not isinstance(dims, (list, tuple)) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in dims
    ):
        raise LoadError(f"cr.load: {_WHERE} has an invalid torch.Size {str(dims)[:80]}")
    return Size(dims)


def _device(spec: Any, index: Any = None) -> Any:
    """``torch.device(spec[, index])`` -> a ``cr.device`` (or its string if unknown here)."""
    if not isinstance(spec, str) or (index is not None and not isinstance(index, int)):
        raise LoadError(f"cr.load: {_WHERE} has an invalid torch.device({spec!r}, {index!r})")
    text = spec if index is None else f"{spec}:{index}"
    try:
        return Device(text)
    except (ValueError, TypeError, RuntimeError):
        return text


def _get_layout(name: Any) -> layout:
    """``torch.serialization._get_layout("torch.strided")``, which is how ``torch.save``
    writes a ``torch.layout``: the ``cr`` layout of that name."""
    found = _LAYOUTS.get(name) if isinstance(name, str) else None
    if found is None:
        raise LoadError(
            f"cr.load: {_WHERE} has the layout {str(name)[:40]!r}; chainrule has "
            f"{', '.join(_LAYOUTS)} only"
        )
    return found


_LAYOUTS = {repr(x): x for x in (strided, sparse_coo)}


def _dtype_global(name: str) -> Any:
    """``torch.<name>`` as the dtype object users hold (``cr.float32``), as torch's load
    gives ``torch.float32``; a tensor's rebuild reads the NumPy dtype inside it."""
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            return "bfloat16"
        return public_dtype(np.dtype(ml_dtypes.bfloat16))
    if name.startswith("float8_"):  # ml_dtypes' on first use (see chainrule/float8.py)
        from ..dtypes import as_dtype

        return _LazyDtype(name, as_dtype)
    return public_dtype(np.dtype(name))


class _LazyDtype:
    """A float8 dtype global resolved when a file names it (importing ml_dtypes then)."""

    def __init__(self, name: str, resolve: Any) -> None:
        self.name, self._resolve = name, resolve

    def __call__(self) -> Any:
        return public_dtype(self._resolve(self.name))


def _table() -> dict[str, Any]:
    table: dict[str, Any] = {
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch.storage.UntypedStorage": StorageType("uint8"),
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.Tensor": _TENSOR,
        "torch._tensor.Tensor": _TENSOR,
        "torch.nn.parameter.Parameter": _PARAMETER,
        "torch.Size": _size,
        "torch.device": _device,
        "torch.serialization._get_layout": _get_layout,
        "collections.OrderedDict": OrderedDict,
    }
    for name, dtype in _STORAGES.items():
        table[f"torch.{name}"] = StorageType(dtype)
    for name, dtype in _DTYPES.items():
        table[f"torch.{name}"] = _dtype_global(dtype)
    for name in _MISSING_DTYPES:
        table[f"torch.{name}"] = Unsupported(f"the dtype torch.{name}")
    table.update(QUANTIZED_GLOBALS)  # torch._utils._rebuild_qtensor, torch.qint8, ...
    return table


TORCH_GLOBALS: dict[str, Any] = _table()
