"""``SparseCsrTensor``: a 2-d sparse matrix in compressed-row form (PyTorch's ``sparse_csr``
layout): ``crow_indices`` (rows + 1 offsets), ``col_indices`` and ``values`` (``nnz`` each).

A CSR matrix holds the same entries as a coalesced 2-d COO tensor, in the same (row-major)
order, so it is kept as one: a :class:`SparseTensor` subclass whose pattern is that COO
pattern, plus the dtype of its index tensors (int32 or int64, as given). The products,
``to_dense``, ``sum`` and autograd through the values are therefore COO's (one code path);
what differs is what PyTorch's CSR tensors answer: ``layout`` is :data:`sparse_csr`,
``is_sparse`` is False, ``crow_indices``/``col_indices`` replace ``indices``, and the COO-only
methods (``indices``, ``coalesce``, ``transpose`` to CSC, ``/``) raise PyTorch's errors.
Batched and hybrid CSR tensors are :mod:`.sparse_compressed`'s class, as the CSC/BSR/BSC
layouts; the constructor ``sparse_csr_tensor`` is in :mod:`.sparse_compressed_tensors`.

Like COO tensors, a CSR tensor is not a graph leaf: give the values ``requires_grad`` and the
gradient lands in ``values.grad``. Its invariants (``crow_indices`` starting at 0, rising to
``nnz``; columns in range, sorted and distinct in each row) are always checked: PyTorch skips
the check by default and can then crash; chainrule never builds an invalid one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _user_warnings
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray
from . import sparse_functions as fn
from ._raw_checks import RankError
from ._util import dim_range_error
from .number_arguments import parser_int
from .sparse_autograd import refuse_vmap
from .sparse_meta import (
    compressed_add_on_meta,
    is_sparse_meta,
    refuse_dense_meta,
    refuse_sparse_meta,
)
from .sparse_nodense import method_error, unsupported
from .sparse_pattern import SparsePattern
from .sparse_tensor import (
    _OWN,
    _PASS,
    SPARSE_TYPES,
    SparseTensor,
    make_sparse,
    sparse_repr,
)
from .tensor_queries import sparse_coo, sparse_csr

__all__ = ["SparseCsrTensor", "refuse_complex_grad", "to_sparse_csr"]

_BETA_WARNING = (
    "Sparse CSR tensor support is in beta state. If you miss a functionality in the sparse "
    "tensor support, please submit a feature request to "
    "https://github.com/pytorch/pytorch/issues."
)


_CSR_LEAF_MESSAGE = (
    "a sparse CSR tensor cannot be a leaf that requires grad (PyTorch's gradient of one is a "
    "dense matrix, which chainrule does not accumulate); give the values requires_grad "
    "instead: cr.sparse_csr_tensor(crow, col, values.requires_grad_(), size); the gradient "
    "then lands in values.grad"
)


def _refused(name: str, expected: str, got: str) -> Any:
    """A method raising PyTorch's error for a tensor of the wrong layout."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{name} expected {expected} but got {got}")

    method.__name__ = name
    return method


def _compressed_refused(name: str, kind: str, got: str) -> Any:
    """PyTorch's error for a compressed-index accessor on the wrong layout."""
    return _refused(name, f"sparse {kind} compressed tensor layout", got)


def _layout_refused(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("unsupported tensor layout: SparseCsr")  # (torch: no op name)

    method.__name__ = name
    return method


class SparseCsrTensor(SparseTensor):
    """A 2-d sparse CSR matrix. Made by :func:`chainrule.sparse_csr_tensor` or
    ``Tensor.to_sparse_csr()``, never directly.

    Methods: ``crow_indices``, ``col_indices``, ``values``, ``_nnz``, ``to_dense``,
    ``to_sparse``/``to_sparse_coo``, ``@``/``mm``/``mv``/``addmm`` with dense operands,
    ``* c`` by a number, ``-s``, ``+`` of two CSR matrices or with a dense one, ``sum()``,
    ``to``/``detach``/``clone``. Anything else raises NotImplementedError: call
    ``.to_dense()`` first.
    """

    __slots__ = ("_csr_index_dtype",)

    def __getattribute__(self, name: str) -> Any:
        if (
            name in _PASS
            or name in _CSR_OWN
            or name in _OWN
            or name[:2] == "__"
            or not hasattr(Tensor, name)
        ):
            return object.__getattribute__(self, name)
        raise method_error(self, name)

    @property
    def layout(self) -> Any:
        return sparse_csr

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def is_sparse_csr(self) -> bool:
        return True

    # ------------------------------------------------------------------ the index tensors
    def crow_indices(self) -> Tensor:
        """The ``rows + 1`` row offsets: row ``i``'s entries are ``crow[i]:crow[i + 1]``."""
        pattern = self._sp_pattern
        xp = get_array_module(pattern.indices)
        if type(pattern.indices) is MetaArray:  # no entries to count: the size only
            crow = xp.zeros(pattern.shape[0] + 1, np.int64)
        else:
            counts = xp.bincount(pattern.indices[0], minlength=pattern.shape[0])
            crow = xp.concatenate([xp.zeros(1, np.int64), xp.cumsum(counts)])
        return Tensor._make(crow.astype(self._csr_index_dtype), False, None, 0)

    def col_indices(self) -> Tensor:
        """The column of each entry, row by row."""
        cols = self._sp_pattern.indices[1].astype(self._csr_index_dtype)
        return Tensor._make(cols, False, None, 0)

    def values(self) -> Tensor:
        """The ``nnz`` values, in the graph (gradients reach their producer)."""
        return fn.named(self._sp_values, "ValuesBackward0")  # PyTorch's node (in a graph)

    def sparse_dim(self) -> int:
        return 2

    def dense_dim(self) -> int:
        return 0

    # ------------------------------------------------------------------ conversions
    def to_sparse(self, *args: Any, layout: Any = None, **kwargs: Any) -> Any:
        """The COO tensor of the same entries (``layout=sparse_csr``: this tensor)."""
        if layout is sparse_csr:
            return self
        if args and args[0] != 2:
            raise NotImplementedError(
                f"to_sparse: sparse_dim={args[0]} of a CSR matrix; only 2 is supported"
            )
        if layout not in (None, sparse_coo) or kwargs:
            raise NotImplementedError(f"to_sparse of a CSR matrix: layout={layout!r}, {kwargs}")
        return self.to_sparse_coo()

    def to_sparse_coo(self) -> SparseTensor:
        """The COO tensor of the same entries, flagged coalesced: a product's result may list
        a row's columns out of order, which PyTorch keeps (and ``+`` merges in that order)."""
        pattern = self._sp_pattern
        if type(self) is SparseCsrTensor and not pattern.coalesced:
            pattern = SparsePattern(pattern.indices, pattern.shape, True)
        return make_sparse(self._sp_values, pattern, source=self._sp_source)

    def to_sparse_csr(self, dense_dim: int | None = None) -> SparseCsrTensor:
        if dense_dim not in (None, 0):
            raise NotImplementedError("to_sparse_csr: hybrid CSR tensors are not supported")
        return self

    def _like(self, coo: SparseTensor) -> SparseCsrTensor:
        """``coo`` (values on this tensor's pattern, or a coalesced 2-d one) as CSR."""
        return carry_source(
            make_csr(coo._sp_values, coo._sp_pattern, self._csr_index_dtype), coo._sp_source
        )

    def to(self, *args: Any, **kwargs: Any) -> SparseCsrTensor:
        out = SparseTensor.to(self, *args, **kwargs)
        return self if out is self else self._like(out)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        if dtype is None:
            raise RuntimeError("type(): Unimplemented backend SparseCsrCPU")
        return self._like(SparseTensor.type(self, dtype, non_blocking))

    def detach(self) -> SparseCsrTensor:
        return self._like(SparseTensor.detach(self))

    def clone(self, *, memory_format: Any = None) -> SparseCsrTensor:
        return self._like(SparseTensor.clone(self))

    def __deepcopy__(self, memo: dict) -> SparseCsrTensor:
        if id(self) in memo:
            return memo[id(self)]
        out = self._like(SparseTensor.__deepcopy__(self, {}))
        memo[id(self)] = out
        return out

    def _zeros_like(self, dtype: Any = None) -> SparseCsrTensor:
        return self._like(SparseTensor._zeros_like(self, dtype))

    # ------------------------------------------------------------------ arithmetic
    def mul(self, other: Any) -> SparseCsrTensor:
        """``s * c`` for a Python number or a 0-d dense tensor ``c``, or ``s * d`` for a dense
        ``d`` of the same size (``d`` read at the entries): a CSR matrix, as PyTorch."""
        if isinstance(other, Tensor) and type(other) not in SPARSE_TYPES and other.ndim:
            if tuple(other.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"mul: a sparse CSR matrix of size {list(self.shape)} times a dense tensor "
                    f"of size {list(other.shape)}: the sizes must be equal"
                )
            picked = fn.SparseGather.apply(other, self._sp_pattern)
            return make_csr(self._sp_values * picked, self._sp_pattern, self._csr_index_dtype)
        return self._like(SparseTensor.mul(self, other))

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The sum of all entries (a dense 0-d tensor), or, over ``dim`` with ``keepdim=True``,
        a CSR matrix of the row (column) sums at the rows (columns) holding entries."""
        if dim is not None:
            if not keepdim:
                raise RuntimeError(
                    "reduction operations on CSR tensors with keepdim=False is unsupported"
                )
            return _sum_keepdim(self, dim, dtype)
        return SparseTensor.sum(self.to_sparse_coo(), dtype=dtype)

    def neg(self) -> SparseCsrTensor:
        return self._like(SparseTensor.neg(self))

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """``s + other``: a CSR matrix for a CSR ``other`` of the same size, a dense tensor
        for a dense ``other`` (as PyTorch)."""
        if isinstance(other, SparseCsrTensor):
            if self.dtype == other.dtype == np.bool_:
                raise NotImplementedError(
                    "\"add_out_sparse_csr_impl_mkl\" not implemented for 'Bool'"
                )
            if is_sparse_meta(self) or is_sparse_meta(other):  # self's entries (PyTorch)
                values = compressed_add_on_meta(self, other, alpha)
                return make_csr(values, self._sp_pattern, self._csr_index_dtype)
            a, b = self.to_sparse_coo(), other.to_sparse_coo()
            out = SparseTensor.add(a, b, alpha=alpha)
            return self._like(_in_kernel_order(out, a._sp_pattern, b._sp_pattern))
        if isinstance(other, SparseTensor):
            raise unsupported("add of a sparse CSR and a sparse COO tensor")
        if isinstance(other, Tensor):
            return SparseTensor.__radd__(self, other if alpha == 1 else other * alpha)
        raise unsupported(f"add of a sparse CSR tensor and {type(other).__name__}")

    __mul__ = mul
    __neg__ = neg

    def __rmul__(self, other: Any) -> Any:
        """``other * self``: a sparse ``other``'s own product (Python calls a subclass's
        reflected operator first: ``coo * csr`` is COO's ``mul``, as PyTorch's)."""
        if type(other) in SPARSE_TYPES:
            return other.mul(self)
        return self.mul(other)

    __add__ = add

    def __radd__(self, other: Any) -> Tensor:
        return self.add(other)

    # ------------------------------------------------------------------ python
    def __repr__(self) -> str:
        fields = [
            ("crow_indices", self.crow_indices()._data),
            ("col_indices", self.col_indices()._data),
            ("values", self._sp_values._data),
        ]
        return sparse_repr(self, fields, sparse_csr, force_newline=False)


SparseCsrTensor._leaf_message = _CSR_LEAF_MESSAGE
_CSR_OWN = SparseCsrTensor.__dict__
SPARSE_TYPES.add(SparseCsrTensor)

for _name in ("indices", "is_coalesced", "coalesce"):
    setattr(SparseCsrTensor, _name, _refused(_name, "sparse coordinate tensor layout", "SparseCsr"))
for _name in ("ccol_indices", "row_indices"):
    setattr(SparseCsrTensor, _name, _compressed_refused(_name, "column", "SparseCsr"))
for _name in ("_indices", "_values"):
    setattr(SparseCsrTensor, _name, _layout_refused(_name))
for _name in ("div", "__truediv__", "sub", "__sub__"):
    setattr(SparseCsrTensor, _name, _layout_refused(_name.strip("_")))


def _transposed(self: SparseCsrTensor, *args: Any) -> Any:
    raise NotImplementedError(
        "transpose of a sparse CSR matrix gives a sparse CSC one, a layout chainrule does not "
        "have; use s.to_sparse_coo().t() or s.to_dense().t()"
    )


SparseCsrTensor.t = SparseCsrTensor.transpose = _transposed


def _sum_keepdim(self: SparseCsrTensor, dim: Any, dtype: Any) -> SparseCsrTensor:
    """``sum(dim, keepdim=True)`` of a CSR matrix, as PyTorch's: a (1, n), (m, 1) or (1, 1)
    CSR matrix with an entry per column (row) holding entries, even when its sum is zero."""
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    axes: list[int] = []
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"sum(): argument 'dim' must be tuple of ints, not {type(d).__name__}")
        if not -2 <= d < 2:
            raise dim_range_error(d, 2)
        if int(d) % 2 in axes:
            raise RuntimeError(f"sum: dim {int(d) % 2} appears multiple times in the list of dims")
        axes.append(int(d) % 2)
    values, kind = self._sp_values, self._sp_values._data.dtype.kind
    if kind == "b" and dtype is None:
        raise NotImplementedError("\"_sparse_csr_sum_cpu\" not implemented for 'Bool'")
    if kind == "c" and dtype is not None:  # PyTorch's cast of complex values fails so
        raise RuntimeError("Sparse CSR tensors do not have strides")
    if dtype is not None:
        values = values.to(dtype)
    elif kind in "iu":
        values = values.to(np.int64)  # integers sum in int64, as dense sums
    pattern = self._sp_pattern
    xp = get_array_module(pattern.indices)
    rows, cols = pattern.indices
    (m, n), nnz = pattern.shape, pattern.nnz
    if len(axes) == 1:
        kept, group = xp.unique(rows if axes[0] == 1 else cols, return_inverse=True)
        zeros = xp.zeros(kept.shape[0], np.int64)
        indices = xp.stack([kept, zeros] if axes[0] == 1 else [zeros, kept]).astype(np.int64)
        shape = (m, 1) if axes[0] == 1 else (1, n)
    else:  # every dim (also dim=()): one entry, if any
        group, k = xp.zeros(nnz, np.int64), int(nnz > 0)
        indices, shape = xp.zeros((2, k), np.int64), (1, 1)
    group = Tensor._make(xp.asarray(group, np.int64).reshape(-1), False, None, 0)
    summed = values.new_zeros((indices.shape[1],)).index_add(0, group, values)
    return make_csr(fn.named(summed, "SumBackward1"), SparsePattern(indices, shape, True))


def _in_kernel_order(out: SparseTensor, a: SparsePattern, b: SparsePattern) -> SparseTensor:
    """``out = a + b`` (entries sorted) in the order of PyTorch's CSR add: sorted when both
    operands list each row's columns in ascending order, else each row lists ``b``'s columns
    (in ``b``'s order), then those of ``a`` that ``b`` lacks (in ``a``'s order)."""
    xp = get_array_module(a.indices)
    ka, kb = a.keys(), b.keys()
    if bool(xp.all(ka[1:] > ka[:-1])) and bool(xp.all(kb[1:] > kb[:-1])):
        return out
    keys = xp.concatenate([kb, ka[~xp.isin(ka, kb)]])
    keys = keys[xp.argsort(keys // out.shape[1], kind="stable")]
    order = xp.searchsorted(out._sp_pattern.keys(), keys)
    values = fn.named(out._sp_values[Tensor._make(order, False, None, 0)], "AddBackward0")
    indices = xp.ascontiguousarray(out._sp_pattern.indices[:, order])
    pattern = SparsePattern(indices, out.shape, False)
    return make_sparse(values, pattern, source=out._sp_source)


def make_csr(
    values: Tensor, pattern: SparsePattern, index_dtype: Any = np.int64
) -> SparseCsrTensor:
    """A CSR matrix of ``values`` on ``pattern`` (2-d, coalesced: row-major, distinct)."""
    t = make_sparse(values, pattern, SparseCsrTensor)
    t._csr_index_dtype = np.dtype(index_dtype)
    return t


def refuse_complex_grad(self: Tensor, op: str) -> None:
    """PyTorch's error for a complex dense tensor in a graph converted to a sparse layout."""
    if self._data.dtype.kind == "c" and self.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{op} does not support automatic differentiation for outputs with complex dtype."
        )


def carry_source(t: SparseTensor, source: Any) -> SparseTensor:
    """``t`` with ``source`` as its dense source (``make_sparse``'s ``source``: PyTorch's
    products give it the full gradient) while that is in a graph; ``t`` returned."""
    if source is not None and source.requires_grad and is_grad_enabled():
        t._sp_source = source
    return t


# the conversion of batched and hybrid tensors (ops/sparse_convert.py's, registered there)
GENERAL_CONVERSION: dict[str, Any] = {}


def to_sparse_csr(self: Tensor, dense_dim: int | None = None) -> SparseCsrTensor:
    """``Tensor.to_sparse_csr()``: a 2-d dense matrix's non-zero elements, or a 2-d COO
    tensor's entries (coalesced), as a CSR matrix (differentiable in the values); a batched
    (3-d or more) or hybrid (``dense_dim``) one as a batched or hybrid CSR tensor."""
    if dense_dim is not None and type(dense_dim) is not int:  # PyTorch's parser: an int
        dense_dim = parser_int("to_sparse_csr", "dense_dim", 2, dense_dim)  # the method's 1
    if type(self) not in SPARSE_TYPES:  # (torch: no forward formula; session 47)
        refuse_vmap("CSR", self)
    if self.ndim < 2:
        raise RankError(
            f"to_sparse_csr: expected a 2-d matrix, got a {self.ndim}-d tensor of size "
            f"{tuple(self.shape)}"
        )
    if self.ndim != 2 or (dense_dim is not None and (dense_dim != 0 or type(self) in SPARSE_TYPES)):
        return GENERAL_CONVERSION["to_compressed"](self, sparse_csr, None, dense_dim)
    refuse_sparse_meta("_to_sparse_csr", self)
    refuse_dense_meta("_to_sparse_csr", self)
    coo = self.coalesce() if isinstance(self, SparseTensor) else None
    source = self if coo is None else coo._sp_source
    if coo is None:
        refuse_complex_grad(self, "_to_sparse_csr")
        arr = self._data
        xp = get_array_module(arr)
        indices = xp.ascontiguousarray(xp.stack(xp.nonzero(arr)).astype(np.int64, copy=False))
        pattern = SparsePattern(indices, tuple(arr.shape), True)
        values = fn.ToSparseCsr.apply(self, pattern)
    else:
        if coo.sparse_dim() != 2:
            raise RuntimeError(
                "coo_to_sparse_csr: conversion from Sparse to SparseCsr for input tensors with "
                "sparse_dim()!=2 is not supported"
            )
        if coo.dense_dim():
            raise NotImplementedError("to_sparse_csr: hybrid COO tensors are not supported")
        pattern, values = coo._sp_pattern, coo._sp_values
        if values.requires_grad and is_grad_enabled():  # PyTorch's node (the grad_fn's name)
            values = fn.ToSparseCsrAlias.apply(values, None)
    _user_warnings.warn_once("sparse_csr_beta", _BETA_WARNING)
    return carry_source(make_csr(values, pattern), source)


SparseTensor.to_sparse_csr = to_sparse_csr  # a 2-d COO tensor's CSR form (coalesced)


# PyTorch's dense tensors have the sparse accessors too, refusing with these errors.
DENSE_ACCESSORS = {
    "crow_indices": _compressed_refused("crow_indices", "row", "Strided"),
    "col_indices": _compressed_refused("col_indices", "row", "Strided"),
    "ccol_indices": _compressed_refused("ccol_indices", "column", "Strided"),
    "row_indices": _compressed_refused("row_indices", "column", "Strided"),
    "indices": _refused("indices", "sparse coordinate tensor layout", "Strided"),
    "values": _refused("values", "sparse tensor layout", "Strided"),
}
