"""Structural ops of sparse COO tensors: selecting, inserting, reordering and joining dims.

PyTorch runs ``index_select``, ``select`` (and ``s[i]``, ``s[..., i]``, ``s[None]``),
``unsqueeze``, ``permute``, ``cat`` and ``stack`` on sparse COO tensors, hybrid ones
(``dense_dim > 0``) included, and reduces them with ``any`` and ``norm``; ``s // c`` divides
by a number. Each op here computes the new indices from the old ones (NumPy/CuPy integer
arithmetic on the pattern) and takes the new values from the old values tensor with a dense
op (``values[entries]``, ``values.select``...), so autograd reaches the values, as every
sparse op does in chainrule (:mod:`.sparse_functions`). The entries come out in PyTorch's
order (for ``index_select``: by position in ``index``, then by entry) and, as in PyTorch,
the results are marked uncoalesced (a result with at most one entry counts as coalesced).

Not provided, as in PyTorch: slices and tensor indices in ``s[...]``, ``reshape``/``view``/
``flatten``/``expand`` (PyTorch's RuntimeError), ``norm`` over some dims only. Where
PyTorch's ``index_select`` has no backward (its gradient needs ``index_add_`` on a sparse
tensor), chainrule's, taken through the values, works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from .. import ops as _DENSE  # the dense root functions (the package is complete by now)
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..qtypes import scalar_type_name
from . import sparse_functions as fn
from ._util import dim_range_error
from .joining import SPECIAL_JOINS
from .sparse_batched import select_batch
from .sparse_meta import refuse_sparse_meta
from .sparse_nodense import dispatcher_error, unsupported
from .sparse_pattern import SparsePattern
from .sparse_pointwise import _root
from .sparse_tensor import SPARSE_TYPES, SparseTensor, make_sparse

__all__ = [
    "sparse_any",
    "sparse_cat",
    "sparse_floor_divide",
    "sparse_getitem",
    "sparse_index_select",
    "sparse_norm",
    "sparse_permute",
    "sparse_select",
    "sparse_stack",
    "sparse_unsqueeze",
]


def _made(values: Tensor, indices: Any, shape: tuple) -> SparseTensor:
    """A sparse tensor of ``values`` at ``indices``, uncoalesced unless it has <= 1 entry."""
    return make_sparse(values, SparsePattern(indices, shape, indices.shape[1] <= 1))


def _entries(values: Tensor, keep: Any) -> Tensor:
    """The rows ``keep`` (an int array) of ``values``, differentiably."""
    return values[Tensor._make(keep, False, None, 0)]


def _coo(op: str, self: Any) -> None:
    """Refuse the compressed layouts (CSR/CSC/BSR/BSC), which share the COO class's
    methods: these ops are COO kernels."""
    if type(self) is not SparseTensor:
        if op in _CSR_DISPATCH:  # PyTorch's dispatcher error (no SparseCsrCPU kernel)
            raise dispatcher_error(_CSR_DISPATCH[op], "SparseCsrCPU")
        raise unsupported(f"Tensor.{op} of a {self.layout} tensor")


_CSR_DISPATCH = {"index_select": "index_select", "permute": "as_strided"}


def sparse_narrow(self: SparseTensor, dim: int, start: Any, length: Any) -> Any:
    """``narrow`` of a sparse tensor: PyTorch's errors (a view needs strides;
    ``narrow_copy`` makes the copy)."""
    if type(self) is SparseTensor:
        raise dispatcher_error("as_strided", "SparseCPU")
    raise _no_strides(self)


def _no_strides(t: Any, what: str = "strides") -> RuntimeError:
    """PyTorch's error for a compressed tensor (CSR/CSC/BSR/BSC) reaching a strided kernel."""
    return RuntimeError(
        f"Sparse {str(t.layout).rsplit('_', 1)[-1].upper()} tensors do not have {what}"
    )


def _refuse_compressed(tensors: list, dim: Any, ndim: int) -> None:
    """``cat``/``stack`` with a compressed tensor: PyTorch's RuntimeError (a COO first tensor
    sends each tensor to the COO kernel: a compressed one has no strides; otherwise the dense
    kernel asks the first compressed one whether it is contiguous)."""
    compressed = [t for t in tensors if type(t) in SPARSE_TYPES and type(t) is not SparseTensor]
    if not compressed:
        return
    _dim("cat", dim, ndim)
    if type(tensors[0]) is not SparseTensor:
        raise _no_strides(compressed[0], "is_contiguous")
    for i, t in enumerate(tensors):
        if type(t) not in SPARSE_TYPES:
            raise RuntimeError(
                f"Concatenating sparse tensors, but a dense tensor was found at position {i}."
            )
        if type(t) is not SparseTensor:
            raise _no_strides(t)


def _dim(op: str, dim: Any, ndim: int) -> int:
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    if not -n <= dim < n:
        raise dim_range_error(dim, n)
    return int(dim) % n


def sparse_index_select(self: SparseTensor, dim: int, index: Any) -> SparseTensor:
    """``index_select`` of a sparse COO tensor: for each position ``k`` of ``index``, the
    entries whose index along ``dim`` is ``index[k]``, moved to ``k`` (a dense dim of a hybrid
    tensor: its values are selected)."""
    _coo("index_select", self)
    d = _dim("index_select", dim, self.ndim)
    if (
        not isinstance(index, Tensor)
        or type(index) in SPARSE_TYPES
        or index.ndim > 1
        or index.dtype not in (_dt.int64, _dt.int32)
    ):
        raise IndexError(
            "index_select() argument index must be 1-D strided (non-sparse) long-tensor."
        )
    refuse_sparse_meta("index_select", self)
    size = self.shape[d]
    wanted = index._data.reshape(-1).astype(np.int64)
    bad = wanted[(wanted < -size) | (wanted >= size)]
    if bad.size:
        raise IndexError(
            f"index_select(): index contains {int(bad[0])} that is out of range for tensor of "
            f"size {list(self.shape)} at dimension {d}"
        )
    wanted = wanted % size if size else wanted
    pattern, values, sd = self._sp_pattern, self._sp_values, self.sparse_dim()
    shape = self.shape[:d] + (wanted.shape[0],) + self.shape[d + 1 :]
    if d >= sd:  # a dense dim: every entry keeps its place, its values are selected
        picked = values.index_select(d - sd + 1, Tensor._make(wanted, False, None, 0))
        return _made(picked, pattern.indices, shape[:sd])
    xp = get_array_module(pattern.indices)
    along = pattern.indices[d]
    # the matches in PyTorch's order, which follows its two kernels: for an index longer
    # than nnz, entry by entry (each entry's positions in index order), else position by
    # position of the index (each position's entries in stored order)
    wanted_x = xp.asarray(wanted)
    if wanted.shape[0] > pattern.nnz:
        entry, slot = xp.nonzero(along[:, None] == wanted_x[None, :])  # (nnz, len(index))
    else:
        slot, entry = xp.nonzero(along[None, :] == wanted_x[:, None])  # (len(index), nnz)
    indices = pattern.indices[:, entry].copy()
    indices[d] = slot
    return _made(fn.named(_entries(values, entry), "IndexSelectBackward0"), indices, shape[:sd])


def sparse_narrow_copy(self: SparseTensor, dim: int, start: Any, length: Any) -> SparseTensor:
    """``narrow_copy`` of a sparse COO tensor: the entries whose index along ``dim`` lies in
    ``[start, start + length)``, moved to start at 0, in stored order (along a hybrid tensor's
    dense dim: every entry, its values narrowed); coalesced as the input, as PyTorch's."""
    if type(self) is not SparseTensor:  # a compressed layout reaches the strided kernel
        raise _no_strides(self)
    n = self.ndim
    if not 0 <= dim < n:  # PyTorch's sparse kernel wraps no negative dim
        raise RuntimeError(f"Dimension {dim} out of range. Expecting 0 <= dim < {n}.")
    start, length, size = int(start), int(length), self.shape[dim]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start < 0 or start + length > size:
        raise RuntimeError(
            "Invalid range to narrow. range(start, start+length) must be a subset of "
            f"range(0, {size})."
        )
    pattern, values, sd = self._sp_pattern, self._sp_values, self.sparse_dim()
    shape = self.shape[:dim] + (length,) + self.shape[dim + 1 :]
    if dim >= sd:
        values, indices = values.narrow(dim - sd + 1, start, length), pattern.indices
    else:
        xp = get_array_module(pattern.indices)
        along = pattern.indices[dim]
        entry = xp.nonzero((along >= start) & (along < start + length))[0]
        indices = pattern.indices[:, entry].copy()
        indices[dim] -= start
        values = _entries(values, entry)
    out = SparsePattern(indices, shape[:sd], pattern.coalesced)
    return make_sparse(fn.named(values, "NarrowCopyBackward0"), out)


def sparse_select(self: SparseTensor, dim: int, index: int) -> SparseTensor:
    """``select``: the entries whose index along ``dim`` is ``index``, without that dim."""
    if type(self) is not SparseTensor:  # a compressed layout: PyTorch's result is COO
        return _compressed_select(self, _dim("select", dim, self.ndim), index)
    d = _dim("select", dim, self.ndim)
    size = self.shape[d]
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
            f"dimension {d}"
        )
    i, pattern, sd = int(index) % size, self._sp_pattern, self.sparse_dim()
    shape = self.shape[:d] + self.shape[d + 1 :]
    if d >= sd:
        return _made(self._sp_values.select(d - sd + 1, i), pattern.indices, shape[:sd])
    xp = get_array_module(pattern.indices)
    entry = xp.nonzero(pattern.indices[d] == i)[0]
    if sd == 1:  # no sparse dim left: PyTorch returns the dense sum of the entries there
        return _entries(self._sp_values, entry).sum(0)
    indices = xp.ascontiguousarray(xp.delete(pattern.indices[:, entry], d, axis=0))
    return _made(_entries(self._sp_values, entry), indices, shape[: sd - 1])


def _compressed_select(self: Any, d: int, index: int) -> Any:
    """``select`` of a compressed tensor, as PyTorch: a batch of a batched one; of a
    matrix's dim, the COO vector of its elements there (a BSR/BSC matrix's block zeros
    included; PyTorch refuses when they do not sit evenly spaced in the values, as its
    result is a view of them); of a dense dim, the tensor of those values."""
    nb = len(self._sp_pattern.shape) - 2
    if nb:
        return select_batch(self, d, index)
    if d >= 2:  # a hybrid tensor's dense dim: the same indices, the values selected
        size = self.shape[d]
        if not -size <= index < size:
            raise IndexError(
                f"select(): index {index} out of range for tensor of size {list(self.shape)} "
                f"at dimension {d}"
            )
        return self._with_values(self._sp_values.select(d - 1, int(index) % size))
    out = sparse_select(self.to_sparse(), d, index)
    if type(out) is not SparseTensor:
        return out
    if getattr(self, "_sc_block", (1, 1)) != (1, 1):
        size = self.shape[d]
        xp = get_array_module(self._sp_pattern.indices)
        at = xp.nonzero(self._sp_pattern.indices[d] == int(index) % size)[0]
        if at.shape[0] > 2 and not bool(xp.all(xp.diff(at, 2) == 0)):
            raise RuntimeError(
                "select(): no view exists for the given input, consider using torch.select_copy."
            )
    # (its entries stay in row-major order)
    out._sp_pattern = SparsePattern(out._sp_pattern.indices, out._sp_pattern.shape, True)
    return out


def sparse_getitem(self: SparseTensor, key: Any) -> SparseTensor:
    """``s[key]`` for the keys PyTorch takes on a sparse tensor: ints, ``None`` and one
    ``...`` (slices and tensors raise, as PyTorch cannot run them either); of a compressed
    tensor, ints (``select``: a batch of a batched one) and ``...``."""
    items = list(key) if isinstance(key, tuple) else [key]
    if sum(k is Ellipsis for k in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for k in items if k is not None and k is not Ellipsis)
    if consumed > self.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self.ndim} (got {consumed})")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (self.ndim - consumed)
    out, d = self, 0
    for k in items:
        if k is None and type(out) is not SparseTensor:
            raise RuntimeError(f"Sparse {out.layout._name[7:].upper()} tensors do not have strides")
        if k is None:
            out = sparse_unsqueeze(out, d)
            d += 1
        elif isinstance(k, slice) and k == slice(None):
            d += 1
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            out = sparse_select(out, d, int(k))
        else:
            raise NotImplementedError(
                f"indexing a sparse COO tensor with {type(k).__name__} {k!r}: only ints, None "
                "and ... are supported (PyTorch has no sparse kernel for slices or tensor "
                "indices either); call .to_dense() first or use index_select"
            )
    return out


def sparse_unsqueeze(self: SparseTensor, dim: int) -> SparseTensor:
    """``unsqueeze``: a new size-1 dim (sparse when ``dim <= sparse_dim()``, else dense)."""
    d = _dim("unsqueeze", dim, self.ndim + 1)
    if type(self) is not SparseTensor:
        raise _no_strides(self)
    pattern, values, sd = self._sp_pattern, self._sp_values, self.sparse_dim()
    shape = self.shape[:d] + (1,) + self.shape[d:]
    if d > sd:
        return _made(values.unsqueeze(d - sd + 1), pattern.indices, shape[:sd])
    xp = get_array_module(pattern.indices)
    zeros = xp.zeros((1, pattern.nnz), dtype=pattern.indices.dtype)
    indices = xp.concatenate([pattern.indices[:d], zeros, pattern.indices[d:]], axis=0)
    return _made(values.view(values.shape), indices, shape[: sd + 1])


def sparse_permute(self: SparseTensor, *dims: Any) -> SparseTensor:
    """``permute``: sparse dims among themselves, dense dims among themselves."""
    _coo("permute", self)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    n, sd = self.ndim, self.sparse_dim()
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match "
            f"the length of the desired ordering of dimensions i.e. input.dim() = {n} is not "
            f"equal to len(dims) = {len(dims)}"
        )
    order = [_dim("permute", d, n) for d in dims]
    if len(set(order)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    if any(p >= sd for p in order[:sd]):
        raise RuntimeError(
            "permute(sparse_coo): transpositions between sparse and dense dimensions are "
            "not allowed.Only transpositions within sparse and dense dimensions are supported."
        )
    pattern, values = self._sp_pattern, self._sp_values
    xp = get_array_module(pattern.indices)
    indices = xp.ascontiguousarray(pattern.indices[order[:sd]])
    values = values.permute(0, *[p - sd + 1 for p in order[sd:]])
    return _made(values, indices, tuple(self.shape[p] for p in order[:sd]))


def sparse_cat(tensors: Sequence[Any], dim: int = 0) -> SparseTensor:
    """``cat`` of sparse COO tensors of one sparse and dense dim: the entries of each, in
    turn, moved along ``dim`` (along a dense dim, each tensor's values padded with zeros)."""
    tensors = list(tensors)
    _refuse_compressed(tensors, dim, tensors[0].ndim)
    for i, t in enumerate(tensors):
        if type(t) is not SparseTensor:
            raise RuntimeError(
                f"Concatenating sparse tensors, but a dense tensor was found at position {i}."
            )
    first = tensors[0]
    sd, dd = first.sparse_dim(), first.dense_dim()
    for i, t in enumerate(tensors[1:], 1):
        if (t.sparse_dim(), t.dense_dim()) != (sd, dd):
            raise RuntimeError(
                f"All tensors must have the same sparse_dim and dense_dim: {sd}, {dd}, but "
                f"tensor at position {i} has {t.sparse_dim()}, {t.dense_dim()}."
            )
    d = _dim("cat", dim, first.ndim)
    for i, t in enumerate(tensors[1:], 1):
        if any(a != b for j, (a, b) in enumerate(zip(first.shape, t.shape)) if j != d):
            raise RuntimeError(
                f"All tensors must have the same shape: {list(first.shape)} (except in the "
                f"concatenating dimension), but found shape: {list(t.shape)} at position {i}."
            )
    dtype = first.dtype
    for t in tensors[1:]:
        dtype = _dt.promote_types(dtype, t.dtype)
    xp = get_array_module(first._sp_pattern.indices)
    sizes = [t.shape[d] for t in tensors]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    total = int(sum(sizes))
    shape = first.shape[:d] + (total,) + first.shape[d + 1 :]
    parts_i, parts_v = [], []
    for t, off in zip(tensors, offsets):
        indices, values = t._sp_pattern.indices, t._sp_values.to(dtype)
        if d < sd:
            indices = indices.copy()
            indices[d] += int(off)
        else:  # a dense dim: zeros before and after this tensor's slab of the values
            values = _pad(values, d - sd + 1, int(off), total)
        parts_i.append(indices)
        parts_v.append(values)
    indices = xp.concatenate(parts_i, axis=1)
    return _made(_DENSE.cat(parts_v, 0), indices, shape[:sd])


def _pad(values: Tensor, axis: int, before: int, total: int) -> Tensor:
    """``values`` placed at ``before`` in zeros of length ``total`` along ``axis``."""
    shape = list(values.shape)
    after = total - int(before) - shape[axis]
    pieces = []
    for n in (int(before), None, after):
        if n is None:
            pieces.append(values)
        elif n:
            shape[axis] = n
            pieces.append(values.new_zeros(tuple(shape)))
    return _DENSE.cat(pieces, axis) if len(pieces) > 1 else values


def sparse_stack(tensors: Sequence[Any], dim: int = 0) -> SparseTensor:
    """``stack`` of sparse COO tensors: each unsqueezed at ``dim``, then concatenated."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    d = _dim("stack", dim, tensors[0].ndim + 1)
    _refuse_compressed(tensors, d, tensors[0].ndim + 1)
    for i, t in enumerate(tensors):
        if type(t) is not SparseTensor:
            raise RuntimeError(
                f"Concatenating sparse tensors, but a dense tensor was found at position {i}."
            )
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} "
                f"at entry 0 and {list(t.shape)} at entry {i}"
            )
    return sparse_cat([sparse_unsqueeze(t, d) for t in tensors], d)


def sparse_any(self: SparseTensor, *args: Any, **kwargs: Any) -> Tensor:
    """``any()`` of a sparse tensor: whether a stored value is non-zero (a dense 0-d bool)."""
    _coo("any", self)
    if args or kwargs:
        raise NotImplementedError(
            "any of a sparse tensor: only the full reduction any() is supported (PyTorch's "
            "sparse any takes no dim either)"
        )
    return self._sp_values.detach().any()


def sparse_norm(
    self: SparseTensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None
) -> Tensor:
    """``norm`` of a sparse tensor over all its elements (duplicates summed first), a dense
    0-d tensor differentiable in the values; PyTorch reduces sparse tensors only fully."""
    _coo("norm", self)
    full = tuple(range(self.ndim))
    dims = None if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if dims is not None and len(dims) > 2:  # PyTorch's matrix-norm path
        raise RuntimeError(
            f"Expected at most 2 dimensions, but got {len(dims)} dimensions instead."
        )
    if dims is not None and len(dims) and sorted(d % max(self.ndim, 1) for d in dims) != list(full):
        raise RuntimeError(
            "norm_sparse currently only supports full reductions, so 'dim' must either be "
            "empty or contain all dimensions of the input"
        )
    if keepdim:
        raise RuntimeError("norm_sparse currently does not support keepdim=True")
    if dtype is not None:
        if p == "fro":
            raise ValueError("dtype argument is not supported in frobenius norm")
        raise RuntimeError("norm_sparse currently does not support 'dtype' argument")
    if not (self.dtype.is_floating_point or self.dtype.is_complex):
        raise RuntimeError(
            "norm(): input dtype should be either floating point or complex. Got "
            f"{scalar_type_name(self._sp_values._data.dtype)} instead."
        )
    return _DENSE.norm(self.coalesce()._sp_values, 2 if p == "fro" else p)


def sparse_floor_divide(self: SparseTensor, other: Any) -> SparseTensor:
    """``s // c`` for a number or a 0-d dense ``c``: the coalesced values floor-divided."""
    _coo("floor_divide", self)
    if isinstance(other, Tensor) and (type(other) in SPARSE_TYPES or other.ndim != 0):
        raise RuntimeError(
            "Sparse floor division requires a scalar or zero-dim dense tensor divisor (got "
            f"shape {list(other.shape)} for divisor)"
        )
    src = self.coalesce()
    return make_sparse(_DENSE.floor_divide(src._sp_values, other), src._sp_pattern)


def _refuse(message: str) -> Any:
    def method(self: SparseTensor, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(message)

    return method


def _install() -> None:
    methods = {
        "index_select": sparse_index_select,
        "narrow_copy": sparse_narrow_copy,
        "select": sparse_select,
        "unsqueeze": sparse_unsqueeze,
        "permute": sparse_permute,
        "any": sparse_any,
        "norm": sparse_norm,
        "floor_divide": sparse_floor_divide,
    }
    for name, sparse in methods.items():
        setattr(SparseTensor, name, sparse)
        setattr(_DENSE, name, _root(getattr(_DENSE, name), sparse))
    SparseTensor.__getitem__ = sparse_getitem
    SparseTensor.narrow = sparse_narrow  # (the method only: cr.narrow stays the dense one)
    SparseTensor.__floordiv__ = sparse_floor_divide
    for cls in SPARSE_TYPES:  # cat/stack of sparse tensors (ops/joining.py's SPECIAL_JOINS)
        SPECIAL_JOINS[cls] = {"cat": sparse_cat, "stack": sparse_stack}
    for name in ("reshape", "flatten"):  # (view stays NotImplementedError, as PyTorch's)
        setattr(SparseTensor, name, _refuse("reshape is not implemented for sparse tensors"))
    SparseTensor.expand = _refuse("expand is unsupported for Sparse tensors")


_install()
