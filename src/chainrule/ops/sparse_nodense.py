"""``NoDenseData``: the ``_data`` of a sparse COO tensor, which cannot be computed with.

Every dense op reads ``x._data`` and computes on the array. A sparse tensor has no dense
array; its ``_data`` answers ``shape``, ``dtype``, ``ndim`` and ``size`` (metadata that
shape checks and autograd's bookkeeping read) and raises :func:`unsupported` for anything
else: NumPy ufuncs (``__array_ufunc__``), NumPy functions (``__array_function__``),
conversion (``__array__``), array methods and operators. So a dense op given a sparse tensor
fails with a NotImplementedError naming the operation and saying to call ``.to_dense()``,
never with a NumPy traceback or a wrong answer, and no check is added to the dense path.
"""

from __future__ import annotations

import sys
from types import CodeType
from typing import Any

import numpy as np

from ..meta.array import MetaArray

__all__ = [
    "DISPATCHED",
    "EMPTY_FIRST",
    "NO_SPARSE_KERNEL",
    "NoDenseData",
    "dispatcher_error",
    "method_error",
    "ROOT_OPS",
    "ROOT_WRAPPERS",
    "raiser",
    "root_error",
    "unsupported",
]


def unsupported(op: str) -> Exception:
    """The error every dense-only operation raises on a sparse tensor; inside a root function
    PyTorch has no sparse kernel for (``cr.exp(s)``), that op's error (:func:`root_error`)."""
    if ROOT_OPS:
        found = root_error()
        if found is not None:
            return found
    return NotImplementedError(
        f"{op}: not supported for sparse tensors (layouts sparse_coo and sparse_csr); "
        "call .to_dense() first"
    )


def dispatcher_error(op: str, backend: str, note: str = "") -> NotImplementedError:
    """PyTorch's dispatcher error for ``aten::op`` with no kernel for ``backend``
    (``SparseCPU``, ``SparseCsrCPU``, ``SparseMeta``...); ``note``: a line of chainrule's."""
    return NotImplementedError(
        f"Could not run 'aten::{op}' with arguments from the '{backend}' backend. This could "
        "be because the operator doesn't exist for this backend, or was omitted during the "
        "selective/custom build process (if using custom build). If you are a Facebook "
        "employee using PyTorch on mobile, please visit https://fburl.com/ptmfixes for "
        "possible resolutions. " + (f"\n({note})" if note else "")
    )


# Tensor methods PyTorch has no sparse kernel for (f(0) != 0, mostly), by the kernel its
# dispatcher names for a COO tensor; a compressed one's answer is "unsupported tensor layout"
# (measured on torch 2.13; session 46)
NO_SPARSE_KERNEL = {
    **{
        n: n
        for n in (
            "exp exp2 cos cosh sigmoid log log2 log10 reciprocal rsqrt acos acosh lgamma digamma "
            "erfc i0 sinc clamp clamp_min clamp_max bitwise_not hardshrink cos_ cosh_ sigmoid_ "
            "log_ log2_ log10_ reciprocal_ rsqrt_ acos_ acosh_ lgamma_ digamma_ erfc_ i0_ sinc_ "
            "exp2_"
        ).split()
    },
    "arccos": "acos",
    "arccosh": "acosh",
    "arccos_": "acos_",
    "arccosh_": "acosh_",
}
# Tensor methods whose compressed-layout refusal is a dispatcher error too: name -> (COO
# kernel, compressed kernel, whether a block layout (BSR/BSC) fails first in torch's
# empty_sparse_compressed) (torch 2.13; session 46)
DISPATCHED = {
    "softmax": ("_softmax", "_softmax.out", True),
    "log_softmax": ("_log_softmax", "_log_softmax.out", True),
    "cumsum": ("cumsum", "cumsum.out", True),
    "cumprod": ("cumprod", "cumprod.out", True),
    "logit": ("logit", "logit", False),
    "argmax": ("argmax", "argmax.out", False),
    "amax": ("amax", "amax.out", False),
    "prod": ("prod", "prod", False),
    "std": ("std.correction", "std.correction", False),
    "logical_not_": ("logical_not.out", "logical_not.out", False),
}
# Tensor methods whose compressed-layout refusal is torch.empty's (the result allocated as a
# compressed tensor of size [0] first): name -> the COO kernel its dispatcher names (session 47)
EMPTY_FIRST = {"logical_not": "logical_not.out", "logsumexp": "logsumexp.out"}
_COMPRESSED_NAMES = {
    "torch.sparse_csr": "SparseCsr",
    "torch.sparse_csc": "SparseCsc",
    "torch.sparse_bsr": "SparseBsr",
    "torch.sparse_bsc": "SparseBsc",
}


_NOTE = "chainrule: its unstored zeros would not stay zero; call .to_dense() first"


def method_error(t: Any, name: str) -> Exception:
    """The error of ``t.name`` for a sparse tensor ``t`` whose class has no such method:
    PyTorch's for the ops of :data:`NO_SPARSE_KERNEL` (a COO tensor's dispatcher error, a
    compressed one's "unsupported tensor layout"), else :func:`unsupported`'s."""
    kernel = NO_SPARSE_KERNEL.get(name)
    layout = str(t.layout)
    meta = type(t._sp_values._data) is MetaArray
    if name in EMPTY_FIRST:
        if layout not in _COMPRESSED_NAMES:
            return dispatcher_error(EMPTY_FIRST[name], "SparseMeta" if meta else "SparseCPU", _NOTE)
        return RuntimeError(
            "torch.empty: Only batched sparse compressed (non-block) tensors are supported, "
            "but got size [0]"
        )
    if name in DISPATCHED:
        coo, compressed, block_first = DISPATCHED[name]
        if layout not in _COMPRESSED_NAMES:
            return dispatcher_error(coo, "SparseMeta" if meta else "SparseCPU", _NOTE)
        if block_first and layout in ("torch.sparse_bsr", "torch.sparse_bsc"):
            return RuntimeError(
                "empty_sparse_compressed expected sparse compressed (non-block) tensor layout "
                f"but got {_COMPRESSED_NAMES[layout]}"
            )
        return dispatcher_error(compressed, "SparseCsrMeta" if meta else "SparseCsrCPU", _NOTE)
    if kernel is None:
        return unsupported(f"Tensor.{name}")
    if layout in _COMPRESSED_NAMES:
        return RuntimeError(f"unsupported tensor layout: {_COMPRESSED_NAMES[layout]}")
    return dispatcher_error(kernel, "SparseMeta" if meta else "SparseCPU", _NOTE)


# the root functions (``cr.exp``, ``cr.softmax``, ...) PyTorch has no sparse kernel for, by
# the code object of their own body, and the files of the wrappers around them (keyword
# handling, shared by many ops): filled by sparse_pointwise, which knows the ops package
ROOT_OPS: dict[CodeType, str] = {}
ROOT_WRAPPERS: set[str] = set()


def root_error() -> Exception | None:
    """PyTorch's error for ``cr.f(s, ...)`` where ``f`` is a root function of
    :data:`ROOT_OPS` and ``s`` a sparse tensor (the text of ``s.f(...)``, :func:`method_error`;
    torch gives both forms one text), or None outside such a call.

    Read off the call stack on the error path only, so a dense call pays nothing: the
    function the caller called (the outermost chainrule frames, past those in the wrappers'
    files, :data:`ROOT_WRAPPERS`) is one of those ops and its first argument is a sparse tensor
    (session 47; before, the root forms named the NumPy operation that refused)."""
    frame, frames = sys._getframe(1), []
    while frame is not None and frame.f_globals.get("__name__", "").startswith("chainrule."):
        frames.append(frame)
        frame = frame.f_back
    entry = next((f for f in reversed(frames) if f.f_code.co_filename not in ROOT_WRAPPERS), None)
    name = None if entry is None else ROOT_OPS.get(entry.f_code)
    if name is None:
        return None
    code = entry.f_code
    first = entry.f_locals.get(code.co_varnames[0]) if code.co_varnames else None
    if getattr(type(first), "_sp_pattern", None) is None:  # not a sparse tensor
        return None
    return method_error(first, name)


def raiser(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise unsupported(name)

    method.__name__ = name
    return method


class NoDenseData:
    """The ``_data`` of a sparse tensor: its shape and dtype, and no values.

    Dense ops read ``x._data`` and compute on it; this object raises a NotImplementedError
    naming the operation (the ufunc, the NumPy function, the array method) instead, so a
    sparse tensor given to a dense op fails clearly rather than computing garbage."""

    __slots__ = ("shape", "dtype")
    __array_priority__ = 2000
    # no memory that another array could view: what autograd's view bookkeeping reads of an
    # op's arguments (``saved.memory_root``: a custom Function's result beside it is no view)
    base = None

    def __init__(self, shape: tuple, dtype: np.dtype) -> None:
        self.shape, self.dtype = shape, dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __getattr__(self, name: str) -> Any:
        raise unsupported(name)

    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        raise unsupported(ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise unsupported(func.__name__)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise unsupported("conversion to a NumPy array")

    __hash__ = object.__hash__


for _name in (
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ "
    "__floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __matmul__ __rmatmul__ "
    "__neg__ __pos__ __abs__ __invert__ __and__ __rand__ __or__ __ror__ __xor__ __rxor__ "
    "__lshift__ __rshift__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __getitem__ "
    "__setitem__ __len__ __iter__ __bool__ __float__ __int__ __index__ __complex__ "
    "__copy__ __deepcopy__ __dlpack__ __iadd__ __isub__ __imul__ __itruediv__"
).split():
    setattr(NoDenseData, _name, raiser(_name.strip("_")))
