"""Questions about a tensor that PyTorch answers from its storage and dtype: ``itemsize``,
``nbytes``, ``storage_offset``, ``is_signed``, ``is_nonzero``, ``is_same_size``, ``layout``
(the layouts :data:`strided` and :data:`sparse_coo`);
and the root helpers ``typename`` and ``is_storage``.

The Tensor-only ones are bound in ``ops/__init__.py`` (``_TENSOR_ONLY``; properties by
``tensor_operators.bind_special``); the root functions reach ``chainrule.*`` through
``settings.__all__``.
Nothing here records a graph: the answers are Python values.
"""

from __future__ import annotations

from typing import Any

from .._memory import root_array
from ..autograd.tensor import Tensor
from ..autograd.view_replay import data_pointer
from ..dtypes import is_bfloat16
from ..meta.array import MetaArray
from ..serialization.archive import Storage
from ..storage import TypedStorage, UntypedStorage

__all__ = [
    "is_nonzero",
    "is_same_size",
    "is_signed",
    "is_storage",
    "itemsize",
    "layout",
    "nbytes",
    "sparse_bsc",
    "sparse_bsr",
    "sparse_coo",
    "sparse_csc",
    "sparse_csr",
    "storage_offset",
    "strided",
    "tensor_layout",
    "typename",
]


class layout:  # noqa: N801 - PyTorch's name (torch.layout)
    """A tensor memory layout (``torch.layout``). chainrule has six: :data:`strided` (dense
    arrays with strides, NumPy's and CuPy's only layout), :data:`sparse_coo` (sparse COO
    tensors, ``ops/sparse_tensor.py``) and :data:`sparse_csr` (2-d compressed-row matrices,
    ``ops/sparse_csr.py``), with :data:`sparse_csc`, :data:`sparse_bsr` and :data:`sparse_bsc`
    (``ops/sparse_compressed.py``); PyTorch's mkldnn layout has no chainrule counterpart."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"  # as PyTorch prints it (and cr.Size, cr.float32)

    def __reduce__(self) -> str:
        return self._name  # pickles as the module-level singleton


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")  # ops/sparse_compressed.py, as the two below
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")


def _check_tensor(op: str, arg: str, position: int, value: Any) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{op}(): argument '{arg}' (position {position}) must be Tensor, not "
            f"{type(value).__name__}"
        )


def tensor_layout(self: Tensor) -> layout:
    """``Tensor.layout`` of a dense tensor: :data:`strided` (a sparse tensor's class
    answers :data:`sparse_coo` itself)."""
    return strided


def itemsize(self: Tensor) -> int:
    """``Tensor.itemsize``: the size of one element in bytes (``element_size()``)."""
    return int(self._data.itemsize)


def nbytes(self: Tensor) -> int:
    """``Tensor.nbytes``: ``numel() * itemsize`` (the tensor's elements, not its storage's:
    a view of part of a larger tensor counts only its own elements, as PyTorch)."""
    return int(self._data.size) * int(self._data.itemsize)


def storage_offset(self: Tensor) -> int:
    """``Tensor.storage_offset()``: how many elements the tensor's first element lies after
    the start of the memory it shares (the NumPy/CuPy array owning it): 0 for a tensor that
    owns its memory, ``1`` for ``x[1:]``.

    chainrule's storage is the array that owns the memory; for a tensor made by
    ``from_numpy``/``as_tensor`` of a NumPy *view*, that is the NumPy array the view was
    taken from, where PyTorch's storage starts at the view's first element (offset 0)."""
    arr = self._data
    root = root_array(arr)  # an array, also over a foreign buffer (frombuffer, shared memory)
    if root is arr:
        return 0
    if type(arr) is MetaArray:  # its offset is kept beside its zero strides
        return arr._off
    return (data_pointer(arr) - data_pointer(root)) // int(arr.itemsize)


def is_signed(self: Tensor) -> bool:
    """``Tensor.is_signed()``: True for signed integer, floating and complex dtypes; False
    for unsigned integers and bool."""
    d = self._data.dtype  # float8_e8m0fnu has no sign bit (PyTorch: False)
    return d.kind in "ifc" or is_bfloat16(d) or (d.kind == "V" and d.name != "float8_e8m0fnu")


def is_nonzero(input: Tensor) -> bool:  # noqa: A002 - PyTorch's parameter name
    """Whether a one-element tensor is not zero (``torch.is_nonzero``; NaN is non-zero).

    Raises:
        TypeError: ``input`` is not a tensor.
        RuntimeError: ``input`` has no element or more than one (as PyTorch).
    """
    _check_tensor("is_nonzero", "input", 1, input)
    n = int(input._data.size)
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input._data.reshape(-1)[0] != 0)


def is_same_size(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    """Whether two tensors have the same shape (dtypes may differ)."""
    _check_tensor("is_same_size", "input", 1, input)
    _check_tensor("is_same_size", "other", 2, other)
    return tuple(input._data.shape) == tuple(other._data.shape)


def typename(obj: Any, /) -> str:
    """A string naming ``obj``'s type (``torch.typename``): ``tensor.type()`` for a tensor
    (``'torch.FloatTensor'``), else ``module.qualname`` of the object (a class or function)
    or of its class, without the module for builtins (``'int'``)."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    if module in ("", "builtins"):
        return qualname
    return f"{module}.{qualname}"


def is_storage(obj: Any, /) -> bool:
    """Whether ``obj`` is a storage (``torch.is_storage``): an ``UntypedStorage`` or
    ``TypedStorage`` (``Tensor.untyped_storage()``, ``Tensor.storage()``) or a storage read
    from a PyTorch checkpoint (``serialization.archive.Storage``); tensors are not."""
    return isinstance(obj, (Storage, UntypedStorage, TypedStorage))
