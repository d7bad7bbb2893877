"""Making sparse COO tensors: ``cr.sparse_coo_tensor``, ``Tensor.to_sparse()`` and the
dense side of ``to_dense``/``is_sparse``, plus the legacy ``cr.sparse.FloatTensor``-style
constructors.

``sparse_coo_tensor`` copies the indices into a read-only int64 array (a later change to the
caller's index tensor cannot alter the sparse tensor) and keeps the values tensor itself, so
that gradients reach it. The index checks PyTorch runs only under ``check_invariants=True``
(no negative index, none past the size, a claimed ``is_coalesced`` that holds) always run
here: they cost one pass over the indices, and without them NumPy would silently wrap a
negative index into a wrong answer. PyTorch warns once per process when ``check_invariants``
is left implicit (its unchecked tensors can crash the process); chainrule gives the same
warning in the same cases (:mod:`.sparse_invariants`), saying that it checks anyway.

Values of more than one dim make a hybrid tensor (``dense_dim > 0``: a dense block per
entry, as an embedding's sparse gradient), and ``to_sparse(sparse_dim)`` /
``to_sparse(dense_dim=)`` make one from a dense tensor, as PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._user_warnings import warn_once
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device
from ..creation import as_tensor, tensor
from ..meta.array import COPY_OUT, MetaArray
from ..meta.results import any_meta
from ..size import Size
from . import sparse_functions as fn
from .number_arguments import is_parser_int
from .parser_type_errors import (
    COO_SIZE_UNSET,
    SPARSE_DIM_UNSET,
    sparse_coo_size_error,
    to_sparse_dim_error,
)
from .sparse_autograd import refuse_vmap
from .sparse_compressed import INFO as COMPRESSED
from .sparse_convert import to_sparse_layout
from .sparse_csr import refuse_complex_grad
from .sparse_invariants import warn_implicit_checks
from .sparse_meta import refuse_dense_meta
from .sparse_pattern import SparsePattern
from .sparse_tensor import _LEAF_MESSAGE, SparseTensor, make_sparse
from .tensor_queries import sparse_coo, strided

__all__ = [
    "dense_dim",
    "is_sparse",
    "legacy_sparse_type",
    "sparse_coo_tensor",
    "sparse_dim",
    "to_dense",
    "to_sparse",
    "to_sparse_coo",
]


def _index_array(indices: Any) -> Any:
    if isinstance(indices, SparseTensor):
        raise TypeError("sparse_coo_tensor: indices must be a dense tensor, got a sparse tensor")
    arr = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if arr.dtype.kind == "f":
        xp = get_array_module(arr)
        if not bool(xp.all(arr == xp.floor(arr))):
            raise RuntimeError("sparse_coo_tensor: indices must be integers, got fractions")
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"sparse_coo_tensor: indices must be integers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise RuntimeError(
            f"sparse_coo_tensor: indices must be a 2-d (sparse_dim, nnz) tensor, got shape "
            f"{tuple(arr.shape)}"
        )
    return get_array_module(arr).array(arr, dtype=np.int64, copy=True, order="C")


def _size(size: Any, indices: Any, rows: tuple, values_nnz: int) -> tuple:
    """The sparse part of the size (``rows``: the values' shape past ``nnz``, the dense
    part of a hybrid tensor; ``values_nnz``: the values' first size, which must be the
    indices' nnz; PyTorch's checks, in its order, and messages)."""
    sparse_dim, nnz = indices.shape
    if size is not None:
        dims = _size_arg(size, sparse_dim + len(rows), sparse_dim)
    if values_nnz != nnz:
        raise RuntimeError(
            "indices and values must have same nnz, but got nnz from "
            f"indices: {nnz}, nnz from values: {values_nnz}"
        )
    if size is None:
        if nnz == 0:
            return (0,) * sparse_dim
        return tuple(int(m) + 1 for m in indices.max(axis=1).tolist())
    if tuple(dims[sparse_dim:]) != tuple(rows):
        expected = [nnz] + list(dims[sparse_dim:])
        raise RuntimeError(
            f"values has incorrect size, expected {expected}, got {[nnz] + list(rows)}"
        )
    return dims[:sparse_dim]


def _size_arg(size: Any, ndim: int, sparse_dim: int) -> tuple:
    """``size`` read as a tuple of ``ndim`` non-negative ints (PyTorch's errors)."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size,)
    try:
        dims = tuple(size)
    except TypeError:
        raise TypeError(
            f"sparse_coo_tensor: size must be a tuple of ints, got {type(size).__name__}"
        ) from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"sparse_coo_tensor: size must be a tuple of ints, got {dims}")
        if d < 0:
            raise RuntimeError(f"sparse_coo_tensor: negative size {tuple(dims)}")
    if len(dims) != ndim:
        raise RuntimeError(
            f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = "
            f"{len(dims)}, sparse_dim = {sparse_dim}, dense_dim = {ndim - sparse_dim}"
        )
    return tuple(int(d) for d in dims)


def _check_range(indices: Any, shape: tuple) -> None:
    if indices.shape[1] == 0 or type(indices) is MetaArray:  # meta: no values to check
        return
    low, high = indices.min(axis=1).tolist(), indices.max(axis=1).tolist()
    for dim, (lo, hi, n) in enumerate(zip(low, high, shape)):
        if lo < 0:
            raise RuntimeError(f"found negative index {lo} for dim {dim}")
        if hi >= n:
            raise RuntimeError(
                f"size is inconsistent with indices: for dim {dim}, size is {n} but found "
                f"index {hi}"
            )


def sparse_coo_tensor(
    indices: Any,
    values: Any,
    size: Any = COO_SIZE_UNSET,
    *,
    dtype: Any = None,
    device: Any = None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants: bool | None = None,
    is_coalesced: bool | None = None,
) -> SparseTensor:
    """A sparse COO tensor with ``values[e]`` at ``indices[:, e]`` (``torch.sparse_coo_tensor``).

    Args:
        indices: integer ``(sparse_dim, nnz)`` tensor, list or array.
        values: the ``nnz`` values: 1-d, or ``(nnz, *dense_size)`` for a hybrid tensor
            (``dense_dim > 0``: a dense block per entry). A Tensor is kept as is, so
            gradients of every op on the sparse tensor reach it (give it ``requires_grad``).
        size: the tensor's size (sparse dims, then the values' dense dims); by default one
            past the largest index in each sparse dim.
        dtype, device: convert the values (and move the indices) as ``Tensor.to``.
        requires_grad: only False: a sparse leaf's gradient would be sparse; give the
            values ``requires_grad`` instead.
        check_invariants: the index checks always run; None (the default, while
            ``cr.sparse.check_sparse_tensor_invariants`` was never set) warns once per
            process, as PyTorch (:mod:`.sparse_invariants`).
        is_coalesced: declare the indices sorted and unique (checked); by default a tensor
            is coalesced only when it has at most one element.

    Raises:
        RuntimeError: an index out of range, mismatched nnz, or a size of the wrong length.
        NotImplementedError: ``requires_grad``, ``pin_memory``.
    """
    if size is COO_SIZE_UNSET:
        size = None
    elif not (isinstance(size, (tuple, list)) and all(is_parser_int(d) for d in size)):
        # PyTorch's parser refuses an explicit None, a bare int, a float or bool in it
        raise sparse_coo_size_error(indices, values, size)
    else:
        size = tuple(int(d) for d in size)  # NumPy ints, 0-d integer tensors
    warn_implicit_checks(check_invariants)
    if requires_grad:
        raise NotImplementedError(f"sparse_coo_tensor(requires_grad=True): {_LEAF_MESSAGE}")
    if pin_memory:
        raise NotImplementedError("sparse_coo_tensor: pin_memory=True is not supported")
    if check_invariants is not None and not isinstance(check_invariants, bool):  # 1 is not
        raise TypeError(
            f"sparse_coo_tensor: check_invariants must be a bool, got {check_invariants!r}"
        )
    refuse_vmap(None, indices, values)
    idx = _index_array(indices)
    if isinstance(values, SparseTensor):
        raise TypeError("sparse_coo_tensor: values must be a dense tensor, got a sparse tensor")
    vals = values if isinstance(values, Tensor) else tensor(values)  # data is copied
    _meta_checks(indices, vals, check_invariants)
    if vals.ndim == 0:
        raise RuntimeError(
            "sparse_coo_tensor: values must have at least one dim (nnz, *dense_size), got a "
            "0-d tensor"
        )
    shape = _size(size, idx, tuple(vals.shape[1:]), vals.shape[0])
    _check_range(idx, shape)
    if dtype is not None or device is not None:
        vals = vals.to(device=device, dtype=dtype)
    idx = to_device(idx, vals.device)
    pattern = SparsePattern(idx, shape, idx.shape[1] <= 1 and is_coalesced is not False)
    if is_coalesced:
        keys = pattern.keys()
        if not bool(get_array_module(keys).all(keys[1:] > keys[:-1])):
            raise RuntimeError(
                "cannot set is_coalesced to true if indices correspond to uncoalesced COO tensor"
            )
        pattern.coalesced = True
    if vals.requires_grad and is_grad_enabled():  # PyTorch's node (the grad_fn's name)
        vals = fn.SparseValuesAlias.apply(vals, None)
    return make_sparse(vals, pattern)


def _meta_checks(indices: Any, vals: Tensor, check_invariants: Any) -> None:
    """PyTorch's errors for meta parts: CPU indices beside meta values, and the invariant
    checks, which copy the indices out of a meta tensor."""
    if type(vals._data) is MetaArray and isinstance(indices, Tensor) and not any_meta(indices):
        raise RuntimeError("backend of indices (CPU) must match backend of values (Meta)")
    if check_invariants and any_meta(indices, vals):
        raise NotImplementedError(COPY_OUT)


# --------------------------------------------------------------------- dense tensors
def to_sparse(
    self: Tensor,
    sparse_dim: int | None = SPARSE_DIM_UNSET,  # type: ignore[assignment]
    *,
    layout: Any = None,
    blocksize: Any = None,
    dense_dim: int | None = None,
) -> SparseTensor:
    """``Tensor.to_sparse()``: the non-zero elements of a dense tensor as a coalesced sparse
    COO tensor (differentiable: the values are read from the dense tensor by an op)."""
    if sparse_dim is SPARSE_DIM_UNSET:
        sparse_dim = None
    elif is_parser_int(sparse_dim):
        sparse_dim = int(sparse_dim)
    else:  # None, a bool, a float: PyTorch's parser refuses them
        raise to_sparse_dim_error(self, sparse_dim)
    refuse_complex_grad(self, "_to_sparse")
    refuse_vmap(layout._name[7:].upper() if layout in COMPRESSED else None, self)
    refuse_dense_meta("_to_sparse" if sparse_dim is None else "_to_sparse.sparse_dim", self)
    if layout in COMPRESSED:
        if sparse_dim is not None:
            raise NotImplementedError(f"to_sparse(layout={layout!r}): sparse_dim={sparse_dim}")
        return to_sparse_layout(self, layout, blocksize, dense_dim, "ToSparseBackward1")
    if layout not in (None, sparse_coo):
        raise NotImplementedError(
            f"to_sparse: layout={layout!r}; the sparse layouts are sparse_coo, sparse_csr, "
            "sparse_csc, sparse_bsr and sparse_bsc"
        )
    if blocksize is not None:
        raise RuntimeError(
            "dense_to_sparse: conversion from Strided to Sparse with blocksize argument given is "
            "not supported"
        )
    n = self.ndim
    if sparse_dim is not None and not (0 <= sparse_dim <= n):
        raise RuntimeError(
            f"dense_to_sparse: sparse_dim argument must be in [0,{n}] range, but "
            f"{sparse_dim} is given"
        )
    if dense_dim is not None and not (0 <= dense_dim <= n):
        raise RuntimeError(
            f"dense_to_sparse: dense_dim argument must be in [0,{n}] range, but "
            f"{dense_dim} is given"
        )
    if sparse_dim is not None and dense_dim is not None and sparse_dim + dense_dim != n:
        raise RuntimeError(
            f"to_sparse: sparse_dim ({sparse_dim}) + dense_dim ({dense_dim}) must be the "
            f"tensor's number of dims ({n})"
        )
    nsparse = n - (dense_dim or 0) if sparse_dim is None else sparse_dim
    if nsparse == 0 and n > 0:
        raise RuntimeError("dense_to_sparse: sparse_dim argument must be in >0 when self.dim()>0")
    arr = self._data
    xp = get_array_module(arr)
    if nsparse == 0:  # one entry holding the whole tensor (none for an all-zero one)
        indices = xp.zeros((0, int(bool(xp.any(arr != 0)))), dtype=np.int64)
    else:  # hybrid: an entry per position of the sparse dims whose dense block is non-zero
        mask = arr != 0 if nsparse == n else xp.any(arr != 0, axis=tuple(range(nsparse, n)))
        indices = xp.stack(xp.nonzero(mask)).astype(np.int64, copy=False)
    pattern = SparsePattern(xp.ascontiguousarray(indices), tuple(arr.shape[:nsparse]), True)
    gather = fn.ToSparse if sparse_dim is None else fn.ToSparseDim
    return make_sparse(gather.apply(self, pattern), pattern, source=self)


def to_sparse_coo(self: Tensor) -> SparseTensor:
    """``Tensor.to_sparse_coo()``: ``to_sparse()``."""
    return to_sparse(self)


def to_dense(self: Tensor, dtype: Any = None, *, masked_grad: Any = None) -> Tensor:
    """``Tensor.to_dense()`` of a dense tensor: the tensor itself (converted to ``dtype``);
    ``masked_grad`` changes nothing for a dense tensor (no mask), as in PyTorch."""
    if masked_grad is not None and not isinstance(masked_grad, bool):
        raise TypeError(
            f"to_dense(): argument 'masked_grad' must be bool, not {type(masked_grad).__name__}"
        )
    return self if dtype is None else self.to(dtype)


def dense_dim(self: Tensor) -> int:
    """``Tensor.dense_dim()`` of a dense tensor: all its dimensions are dense."""
    return self.ndim


def sparse_dim(self: Tensor) -> int:
    """``Tensor.sparse_dim()`` of a dense tensor: 0."""
    return 0


def is_sparse(self: Tensor) -> bool:
    """``Tensor.is_sparse``: False for a dense (strided) tensor."""
    return self.layout is not strided


# --------------------------------------------------------------------- legacy types
class _LegacySparseMeta(type):
    dtype: np.dtype

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, SparseTensor) and obj.dtype == cls.dtype

    def __call__(cls, *args: Any, device: Any = None) -> SparseTensor:
        name = f"chainrule.sparse.{cls.__name__}"
        if len(args) == 1 and isinstance(args[0], (tuple, list)) and not isinstance(args[0], Size):
            raise TypeError(
                "chainrule.sparse.SparseTensor(sequence) only accepts sizes.  Please use "
                "chainrule.sparse_coo_tensor() or construct a strided tensor and convert it to "
                "sparse via to_sparse."
            )
        sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in sizes):
            # PyTorch warns once per process for each form (TORCH_WARN_ONCE)
            if sizes:
                _warn_legacy("shape", "shape, *, device=", "shape, dtype=, device=")
            else:  # no arguments at all: an empty 1-d tensor
                sizes = (0,)
                _warn_legacy("empty", "", "(0,), dtype=")
            empty = np.zeros((len(sizes), 0), dtype=np.int64)
            values = as_tensor(np.zeros(0, dtype=cls.dtype))
            return sparse_coo_tensor(empty, values, tuple(sizes), device=device)
        if len(args) not in (2, 3) or not all(isinstance(a, Tensor) for a in args[:2]):
            raise TypeError(
                f"{name}(): expected (indices, values[, size]) tensors or sizes (ints), got "
                f"{tuple(type(a).__name__ for a in args)}"
            )
        if len(args) == 3:
            _warn_legacy(
                "indices_values_shape",
                "indices, values, shape, *, device=",
                "indices, values, shape, dtype=, device=",
            )
        else:
            _warn_legacy(
                "indices_values", "indices, values, *, device=", "indices, values, dtype=, device="
            )
        # As PyTorch: the values keep their own dtype (the class names only the default).
        return sparse_coo_tensor(*args, device=device)

    def __repr__(cls) -> str:
        return f"<class 'chainrule.sparse.{cls.__name__}'>"


def _warn_legacy(form: str, arguments: str, replacement: str) -> None:
    """The deprecation warning of one form of the legacy constructors: PyTorch issues each
    form's once per process, whichever legacy type (FloatTensor, DoubleTensor, ...) is used."""
    warn_once(
        f"legacy_sparse_constructor_{form}",
        f"chainrule.sparse.SparseTensor({arguments}) is deprecated.  Please use "
        f"chainrule.sparse_coo_tensor({replacement}).",
    )


def legacy_sparse_type(name: str, dtype: Any) -> type:
    """``torch.sparse.FloatTensor``-style legacy type: a constructor (deprecated, warns)
    and an ``isinstance`` test of a sparse tensor's dtype."""
    doc = f"Legacy sparse constructor/type of {np.dtype(dtype)} (``torch.sparse.{name}``)."
    return _LegacySparseMeta(name, (), {"dtype": np.dtype(dtype), "__doc__": doc})
