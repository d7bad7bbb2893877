"""The compressed sparse layouts besides CSR: ``sparse_csc`` (compressed columns),
``sparse_bsr`` and ``sparse_bsc`` (the same two of dense blocks), as PyTorch's.

A compressed matrix holds ``compressed_indices`` (``crow_indices`` for CSR/BSR, ``ccol_indices``
for CSC/BSC: one offset per row/column (block) + 1), ``plain_indices`` (``col_indices`` or
``row_indices``: the other coordinate of each entry or block) and ``values`` (``nnz`` numbers,
or ``nnz`` blocks of ``blocksize`` for BSR/BSC). :class:`SparseCompressedTensor` keeps the two
index arrays as given and, for the arithmetic, the COO pattern of its *elements* in storage
order (a block's elements row by row, explicit zeros included): its flat values on that
pattern are the COO machinery's (``to_dense``, products, ``sum``, autograd through the values:
:mod:`.sparse_tensor`), so the gradient of an op reaches the values the tensor was made of.
``values()`` of a BSR/BSC tensor is those flat values as ``(nnz, *blocksize)`` blocks.

Batched tensors (index arrays with leading batch dims, the same ``nnz`` in each batch) and
hybrid ones (values with trailing dense dims) are this class too, CSR ones included (a plain
2-d CSR matrix is a :class:`SparseCsrTensor`): the element pattern then has the batch dims
as leading sparse dims and the flat values keep the dense dims (a hybrid COO tensor's).

The invariants are always checked, with PyTorch's messages (PyTorch checks them only on
request).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device
from ..meta.array import MetaArray
from . import sparse_functions as fn
from ._util import dim_range_error
from .sparse_csr import SparseCsrTensor, carry_source, make_csr
from .sparse_meta import compressed_add_on_meta, empty_compressed_on_meta, is_sparse_meta
from .sparse_nodense import unsupported
from .sparse_pattern import SparsePattern
from .sparse_tensor import SPARSE_TYPES, SparseTensor, make_sparse, sparse_repr
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr
from .views import reshape

__all__ = [
    "SparseCompressedTensor",
    "compressed_from_pattern",
    "layout_name",
    "make_compressed",
]

# layout -> (PyTorch's name, compressed name, plain name, rows compressed, blocked)
INFO = {
    sparse_csr: ("SparseCsr", "crow_indices", "col_indices", True, False),
    sparse_csc: ("SparseCsc", "ccol_indices", "row_indices", False, False),
    sparse_bsr: ("SparseBsr", "crow_indices", "col_indices", True, True),
    sparse_bsc: ("SparseBsc", "ccol_indices", "row_indices", False, True),
}
_KIND = {"crow_indices": "row", "col_indices": "row", "ccol_indices": "column"}
_KIND["row_indices"] = "column"
_TORCH_DTYPE = {"int32": "Int", "int64": "Long", "float32": "Float", "float64": "Double"}


def layout_name(t: Any) -> str:
    """PyTorch's name of a tensor's layout in its messages (``SparseCsc``, ``Strided``)."""
    info = INFO.get(getattr(t, "layout", None))
    if info is not None:
        return info[0]
    return "Sparse" if type(t) is SparseTensor else "Strided"


def _accessor(name: str) -> Any:
    """``crow_indices``/``col_indices``/``ccol_indices``/``row_indices``: the stored array,
    or PyTorch's error for a tensor of another layout."""

    def method(self: SparseCompressedTensor) -> Tensor:
        _, cname, pname, _, _ = INFO[self._sc_layout]
        if name not in (cname, pname):
            raise RuntimeError(
                f"{name} expected sparse {_KIND[name]} compressed tensor layout but got "
                f"{layout_name(self)}"
            )
        arr = self._sc_compressed if name == cname else self._sc_plain
        return Tensor._make(arr, False, None, 0)

    method.__name__ = name
    method.__doc__ = f"``{name}``: the stored index tensor (int32 or int64, as given)."
    return method


class SparseCompressedTensor(SparseCsrTensor):
    """A 2-d sparse CSC, BSR or BSC matrix. Made by :func:`chainrule.sparse_csc_tensor`,
    ``sparse_bsr_tensor``, ``sparse_bsc_tensor``, ``sparse_compressed_tensor`` or
    ``Tensor.to_sparse_csc()``/``to_sparse_bsr(blocksize)``/``to_sparse_bsc(blocksize)``.

    Methods: the index accessors of its layout, ``values``, ``_nnz``, ``to_dense``, the
    conversions ``to_sparse``/``to_sparse_csr``/``_csc``/``_bsr``/``_bsc``, ``t``, ``@`` with
    dense operands where PyTorch's CPU kernels have it, ``* c``, ``-s``, ``+`` of two of one
    layout, ``sum()``, the zero-preserving unary ops, ``to``/``detach``/``clone``.
    """

    __slots__ = ("_sc_layout", "_sc_block", "_sc_compressed", "_sc_plain")

    def __getattribute__(self, name: str) -> Any:
        if name in _SC_OWN or name[:2] == "__":
            return object.__getattribute__(self, name)
        return SparseCsrTensor.__getattribute__(self, name)

    @property
    def layout(self) -> Any:
        return self._sc_layout

    @property
    def is_sparse_csr(self) -> bool:
        return self._sc_layout is sparse_csr

    def dense_dim(self) -> int:
        """The number of trailing dense dims (a hybrid tensor's; 0 otherwise)."""
        return self._sp_values.ndim - 1

    crow_indices = _accessor("crow_indices")
    col_indices = _accessor("col_indices")
    ccol_indices = _accessor("ccol_indices")
    row_indices = _accessor("row_indices")

    def values(self) -> Tensor:
        """The values, in the graph: ``(*batch, nnz, *dense)`` numbers (CSR/CSC) or
        ``(*batch, nnz, *blocksize, *dense)`` blocks (BSR/BSC)."""
        flat = self._sp_values
        blocked = INFO[self._sc_layout][4]
        if not blocked and self._sc_plain.ndim == 1:
            return fn.named(flat, "ValuesBackward0")  # PyTorch's node (in a graph)
        block = self._sc_block if blocked else ()
        shape = tuple(self._sc_plain.shape) + block + tuple(flat.shape[1:])
        return fn.named(reshape(flat, shape), "ValuesBackward0")

    def _nnz(self) -> int:
        """The number of specified elements (CSR/CSC) or blocks (BSR/BSC) of each batch."""
        return int(self._sc_plain.shape[-1])

    # ------------------------------------------------------------------ same-pattern results
    def _like(self, coo: SparseTensor) -> SparseCompressedTensor:
        """``coo``'s values (on this tensor's element pattern) in this tensor's layout."""
        if coo._sp_pattern is not self._sp_pattern:
            if is_sparse_meta(coo) and coo._sp_pattern.nnz == 0:  # to("meta"), to(dtype)
                return empty_compressed_on_meta(self, coo._sp_values, make_compressed)
            raise unsupported(f"a result of a {self._sc_layout} tensor on another pattern")
        return carry_source(self._with_values(coo._sp_values), coo._sp_source)

    def _with_values(self, values: Tensor) -> SparseCompressedTensor:
        """This tensor's indices with other flat element ``values``."""
        return make_compressed(
            self._sc_layout,
            self._sc_compressed,
            self._sc_plain,
            values,
            self._sp_pattern,
            self._sc_block,
        )

    def _zeros_like(self, dtype: Any = None, keep_blocks: bool = False) -> SparseCompressedTensor:
        """No entries, this size (``keep_blocks``: a block layout too, as ``zero_`` makes)."""
        if INFO[self._sc_layout][4] and not keep_blocks:
            raise RuntimeError(
                "zeros_sparse_compressed expected sparse compressed (non-block) tensor layout "
                f"but got {layout_name(self)}"
            )
        coo = SparseTensor._zeros_like(self, dtype)
        xp = get_array_module(self._sc_compressed)
        compressed = xp.zeros_like(self._sc_compressed)
        plain = self._sc_plain[..., :0]
        block = self._sc_block if keep_blocks else (1, 1)
        return make_compressed(
            self._sc_layout, compressed, plain, coo._sp_values, coo._sp_pattern, block
        )

    # ------------------------------------------------------------------ arithmetic
    def mul(self, other: Any) -> SparseCompressedTensor:
        """``s * c`` for a number or a 0-d dense tensor ``c`` (PyTorch has no CPU kernel of a
        CSC/BSR/BSC matrix times a dense or sparse matrix)."""
        if type(other) in SPARSE_TYPES:  # PyTorch's words, CPU and meta (session 46)
            if INFO[self._sc_layout][4]:  # a block layout
                raise RuntimeError(
                    "empty_sparse_compressed expected sparse compressed (non-block) tensor "
                    f"layout but got {layout_name(self)}"
                )
            raise RuntimeError("Expected result Tensor to be of format CSR")
        if isinstance(other, Tensor) and other.ndim:
            raise RuntimeError(
                f"mul: a sparse {layout_name(self)} matrix times a tensor of layout "
                f"{layout_name(other)} is not supported (as in PyTorch, on CPU); multiply by "
                "a number, or convert with .to_sparse_csr() or .to_dense() first"
            )
        return self._like(SparseTensor.mul(self, other))

    __mul__ = multiply = mul
    __rmul__ = SparseCsrTensor.__rmul__  # (a sparse left operand's own product)

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The sum of all elements (a dense 0-d tensor); PyTorch sums over a dim only of CSR."""
        if dim is not None and self._sc_layout is sparse_csr:
            if not keepdim:
                raise RuntimeError(
                    "reduction operations on CSR tensors with keepdim=False is unsupported"
                )
            raise NotImplementedError(
                "sum(dim, keepdim=True) of a batched or hybrid sparse CSR tensor (PyTorch fails "
                "an internal assert, input_dim == 2); call .to_dense() first"
            )
        if dim is not None:
            raise RuntimeError(
                "Currently the only compressed sparse format supported for sum.dim_IntList is "
                f"CSR, but got layout {layout_name(self)}"
            )
        return SparseTensor.sum(self.to_sparse_coo(), dtype=dtype)

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """``s + other``: the same layout (and blocksize) for a sparse ``other`` of it, a dense
        tensor for a dense ``other`` of a CSC ``s`` (as PyTorch)."""
        if type(other) in SPARSE_TYPES:
            if other.layout is not self.layout:
                raise RuntimeError(
                    f"add: a sparse {layout_name(self)} and a sparse {layout_name(other)} "
                    "tensor; convert one to the other's layout first"
                )
            if other._sc_block != self._sc_block:
                raise RuntimeError(
                    f"add: blocksizes {list(self._sc_block)} and {list(other._sc_block)} "
                    "differ; sparse BSR/BSC tensors of one blocksize only"
                )
            if is_sparse_meta(self) or is_sparse_meta(other):  # self's entries (PyTorch)
                return self._with_values(compressed_add_on_meta(self, other, alpha))
            a, b = self.to_sparse_coo(), other.to_sparse_coo()
            a, b = (make_sparse(t._sp_values, _as_coalesced(t._sp_pattern)) for t in (a, b))
            total = SparseTensor.add(a, b, alpha=alpha).coalesce()
            return compressed_from_pattern(
                total._sp_values, total._sp_pattern, self._sc_layout, self._sc_block,
                self._sc_compressed.dtype, "AddBackward0",
            )  # fmt: skip
        if isinstance(other, Tensor) and INFO[self._sc_layout][4]:
            raise RuntimeError(
                f"add: a dense tensor and a sparse {layout_name(self)} tensor are not supported "
                "(PyTorch fails an internal assert); convert with .to_dense() first"
            )
        return SparseCsrTensor.add(self, other, alpha=alpha)

    __add__ = add

    def __radd__(self, other: Any) -> Tensor:
        return self.add(other)

    # ------------------------------------------------------------------ transpose
    def t(self) -> SparseCompressedTensor:
        """The transpose: CSC <-> CSR, BSR <-> BSC on the same index arrays (as PyTorch)."""
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        return transposed(self, "TBackward0")

    def transpose(self, dim0: int, dim1: int) -> Any:
        """The two sparse dims swapped (the other orientation's layout, as :meth:`t`);
        PyTorch refuses to swap dims of different kinds (batch, sparse, dense)."""
        return compressed_transpose(self, dim0, dim1)

    def __repr__(self) -> str:
        _, cname, pname, _, _ = INFO[self._sc_layout]
        fields = [
            (cname, self._sc_compressed),
            (pname, self._sc_plain),
            ("values", self.values()._data),
        ]
        return sparse_repr(self, fields, self._sc_layout, force_newline=False)


def _refused(name: str, message: str) -> Any:
    """PyTorch's error for a method of a CSC/BSR/BSC matrix that it has not (``{}``: the
    layout's name)."""

    def method(self: SparseCompressedTensor, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(message.format(layout_name(self)))

    method.__name__ = name
    return method


for _name in ("indices", "is_coalesced", "coalesce"):
    setattr(
        SparseCompressedTensor,
        _name,
        _refused(_name, _name + " expected sparse coordinate tensor layout but got {}"),
    )
for _name in ("div", "__truediv__", "sub", "__sub__", "pow", "__pow__", "square"):
    setattr(SparseCompressedTensor, _name, _refused(_name, "unsupported tensor layout: {}"))
_SC_OWN = SparseCompressedTensor.__dict__
SPARSE_TYPES.add(SparseCompressedTensor)


def transposed(self: SparseCsrTensor, node: str) -> SparseCompressedTensor:
    """The transpose of a compressed matrix: the layout of the other orientation, the same
    index arrays, each block transposed (differentiable in the values)."""
    layout = self.layout
    flipped = {sparse_csr: sparse_csc, sparse_csc: sparse_csr}.get(layout) or (
        sparse_bsc if layout is sparse_bsr else sparse_bsr
    )
    if layout is sparse_csr:
        compressed, plain = self.crow_indices()._data, self.col_indices()._data
    else:
        compressed, plain = self._sc_compressed, self._sc_plain
    block = getattr(self, "_sc_block", (1, 1))
    values = self._sp_values
    dense = tuple(values.shape[1:])
    if INFO[layout][4]:
        values = reshape(values, (-1,) + block + dense).transpose(1, 2)
        values = reshape(values, (-1,) + dense)
    values = fn.named(values, node)
    shape = self._sp_pattern.shape
    shape = shape[:-2] + shape[:-3:-1]
    out = _build(flipped, compressed, plain, values, shape, block[::-1])
    if self._sp_source is None or self.ndim != 2:
        return out
    return carry_source(out, self._sp_source.t())


def compressed_transpose(self: SparseCsrTensor, dim0: int, dim1: int) -> Any:
    """``transpose`` of a compressed tensor: the two sparse dims swapped (:func:`transposed`),
    the same dim twice: the tensor; PyTorch's errors for other pairs."""
    ndim = self.ndim
    for d in (dim0, dim1):
        if not -ndim <= d < ndim:
            raise dim_range_error(d, ndim)
    d0, d1 = sorted((dim0 % ndim, dim1 % ndim))
    if d0 == d1:
        return self
    if self.dense_dim():
        raise RuntimeError(
            "transpose(): hybrid sparse compressed tensors with dense dimensions are not supported"
        )
    nb = len(self._sp_pattern.shape) - 2
    kinds = ["Batch"] * nb + ["Sparse"] * 2 + ["Dense"] * (ndim - nb - 2)
    if kinds[d0] != kinds[d1]:
        raise RuntimeError(
            "transpose(): can only transpose dimensions of the same type (Batch, Sparse, "
            f"Dense), got {d0}({kinds[d0]}) and {d1}({kinds[d1]})"
        )
    if kinds[d0] == "Batch":
        return _batches_swapped(self, d0, d1)
    return transposed(self, "TransposeBackward0")


def _batches_swapped(self: Any, d0: int, d1: int) -> SparseCompressedTensor:
    """Two batch dims of a batched tensor swapped: its index arrays and values likewise."""
    shape = list(self._sp_pattern.shape)
    shape[d0], shape[d1] = shape[d1], shape[d0]
    compressed, plain = (a.swapaxes(d0, d1).copy() for a in (self._sc_compressed, self._sc_plain))
    values = self._sp_values
    per_batch = values.shape[0] // max(int(np.prod(self._sc_plain.shape[:-1])), 1)
    batched = reshape(values, tuple(self._sc_plain.shape[:-1]) + (per_batch,))
    flat = reshape(batched.transpose(d0, d1), (-1,))
    flat = fn.named(flat, "TransposeBackward0")
    return _build(self._sc_layout, compressed, plain, flat, tuple(shape), self._sc_block)


def _as_coalesced(pattern: SparsePattern) -> SparsePattern:
    """``pattern`` flagged coalesced when its (distinct) entries are in row-major order."""
    keys = pattern.keys()
    xp = get_array_module(keys)
    ordered = pattern.coalesced or bool(xp.all(keys[1:] > keys[:-1]))
    return (
        pattern
        if ordered == pattern.coalesced
        else SparsePattern(pattern.indices, pattern.shape, ordered)
    )


def element_indices(layout: Any, compressed: Any, plain: Any, block: tuple) -> Any:
    """The (*batch, row, col) of every element of a compressed tensor, in storage order
    (batch by batch: ``compressed`` is ``(*batch, n + 1)``, ``plain`` ``(*batch, nnz)``)."""
    xp = get_array_module(compressed)
    if MetaArray in (type(compressed), type(plain)):  # meta: how many elements, not where
        return xp.zeros((compressed.ndim + 1, plain.size * block[0] * block[1]), np.int64)
    batch = tuple(compressed.shape[:-1])
    n_outer = compressed.shape[-1] - 1
    flat = compressed.reshape(-1, n_outer + 1)
    counts = xp.diff(flat, axis=1).astype(np.int64).reshape(-1)
    outer = xp.repeat(xp.tile(xp.arange(n_outer, dtype=np.int64), flat.shape[0]), counts)
    plain = plain.astype(np.int64).reshape(-1)
    brow, bcol = (outer, plain) if INFO[layout][3] else (plain, outer)
    br, bc = block
    rows = brow[:, None, None] * br + xp.arange(br)[None, :, None]
    cols = bcol[:, None, None] * bc + xp.arange(bc)[None, None, :]
    shape = (brow.shape[0], br, bc)
    coords = [rows, cols]
    if batch:
        nnz = int(plain.shape[0]) // max(flat.shape[0], 1)
        which = xp.repeat(xp.arange(flat.shape[0], dtype=np.int64), nnz)
        coords = [c[:, None, None] for c in xp.unravel_index(which, batch)] + coords
    return xp.stack([xp.broadcast_to(c, shape).reshape(-1) for c in coords])


def make_compressed(
    layout: Any, compressed: Any, plain: Any, values: Tensor, pattern: SparsePattern, block: tuple
) -> SparseCsrTensor:
    """A matrix of ``layout`` from its index arrays, flat element ``values`` and the element
    ``pattern`` (:func:`element_indices`); a CSR one is a ``SparseCsrTensor``."""
    if layout is sparse_csr and compressed.ndim == 1 and values.ndim == 1:
        return make_csr(values, pattern, compressed.dtype)
    t = make_sparse(values, pattern, SparseCompressedTensor)
    t._csr_index_dtype = np.dtype(compressed.dtype)
    t._sc_layout, t._sc_block = layout, tuple(int(b) for b in block)
    t._sc_compressed, t._sc_plain = compressed, plain
    return t


def _build(
    layout: Any, compressed: Any, plain: Any, values: Tensor, shape: tuple, block: tuple
) -> SparseCsrTensor:
    """A tensor of ``layout`` from checked index arrays, flat element ``values`` and its
    sparse ``shape`` (batch dims and the matrix's two)."""
    indices = to_device(element_indices(layout, compressed, plain, block), values.device)
    coalesced = layout is sparse_csr or (layout is sparse_bsr and block[0] == 1)
    pattern = SparsePattern(indices, shape, coalesced)
    if layout is sparse_csr and compressed.ndim == 1:
        pattern = _as_coalesced(pattern)
    return make_compressed(layout, compressed, plain, values, pattern, block)


def _blocks(pattern: SparsePattern, layout: Any, block: tuple) -> tuple:
    """The compressed and plain index arrays (int64) of the blocks holding ``pattern``'s
    entries (coalesced, ``(*batch, rows, cols)``), and each entry's block key."""
    xp = get_array_module(pattern.indices)
    shape, idx = pattern.shape, pattern.indices
    batch, (rows, cols) = shape[:-2], shape[-2:]
    n_batch = int(np.prod(batch, dtype=np.int64))
    which = xp.ravel_multi_index(tuple(idx[:-2]), batch) if batch else idx[0] * 0
    br, bc = block
    row_major = INFO[layout][3]
    outer, inner = (idx[-2] // br, idx[-1] // bc) if row_major else (idx[-1] // bc, idx[-2] // br)
    n_outer, n_inner = (rows // br, cols // bc) if row_major else (cols // bc, rows // br)
    key = (which * n_outer + outer) * n_inner + inner
    blocks = xp.unique(key)
    per = max(n_outer * n_inner, 1)
    b_of, outer_b, inner_b = blocks // per, (blocks % per) // max(n_inner, 1), blocks % per
    inner_b = inner_b % max(n_inner, 1)
    counts = xp.bincount(b_of, minlength=n_batch)
    if n_batch and bool(xp.any(counts != counts[0])):
        raise RuntimeError("Expect the same number of specified elements per batch.")
    nnz = int(counts[0]) if n_batch else 0
    per_outer = xp.bincount(b_of * n_outer + outer_b, minlength=n_batch * n_outer)
    offsets = xp.cumsum(per_outer.reshape(n_batch, n_outer), axis=1)
    compressed = xp.concatenate([xp.zeros((n_batch, 1), np.int64), offsets], axis=1)
    compressed = compressed.reshape(batch + (n_outer + 1,))
    return compressed, inner_b.reshape(batch + (nnz,)), key


def compressed_from_pattern(
    values: Tensor | None,
    pattern: SparsePattern,
    layout: Any,
    block: tuple,
    index_dtype: Any,
    node: str,
    dense: Tensor | None = None,
) -> SparseCsrTensor:
    """A tensor of ``layout`` holding a coalesced ``(*batch, rows, cols)`` ``pattern``'s
    entries (``values``: ``(nnz, *dense)``): CSR/CSC those entries, BSR/BSC every block
    holding one, its other elements read from ``dense`` (the full tensor) when given, else
    zero. Recorded as ``node``."""
    compressed, plain, key = _blocks(pattern, layout, block)
    compressed, plain = compressed.astype(index_dtype), plain.astype(index_dtype)
    if block == (1, 1) and dense is None:
        xp = get_array_module(key)
        order = xp.argsort(key, kind="stable") if xp is np else xp.argsort(key)
        in_order = bool(xp.all(order == xp.arange(order.shape[0])))
        flat = values if in_order else values[Tensor._make(order, False, None, 0)]
    else:
        full = fn.SparseToDense.apply(values, pattern) if dense is None else dense
        indices = element_indices(layout, compressed, plain, block)
        flat = fn.SparseGather.apply(full, SparsePattern(indices, pattern.shape, False))
    return _build(layout, compressed, plain, fn.named(flat, node), pattern.shape, block)
