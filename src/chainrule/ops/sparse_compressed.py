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

The invariants are always checked, with PyTorch's messages (PyTorch checks them only on
request). Batched and hybrid tensors are not supported (NotImplementedError).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device
from . import sparse_functions as fn
from .sparse_csr import SparseCsrTensor, carry_source, make_csr
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
        return False

    crow_indices = _accessor("crow_indices")
    col_indices = _accessor("col_indices")
    ccol_indices = _accessor("ccol_indices")
    row_indices = _accessor("row_indices")

    def values(self) -> Tensor:
        """The values, in the graph: ``nnz`` numbers (CSC) or ``(nnz, *blocksize)`` blocks."""
        if not INFO[self._sc_layout][4]:
            return self._sp_values
        blocks = reshape(self._sp_values, (self._nnz(),) + self._sc_block)
        return fn.named(blocks, "ValuesBackward0")

    def _nnz(self) -> int:
        """The number of specified elements (CSC) or blocks (BSR/BSC)."""
        return int(self._sc_plain.shape[0])

    # ------------------------------------------------------------------ same-pattern results
    def _like(self, coo: SparseTensor) -> SparseCompressedTensor:
        """``coo``'s values (on this tensor's element pattern) in this tensor's layout."""
        if coo._sp_pattern is not self._sp_pattern:
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
        plain = self._sc_plain[:0]
        block = self._sc_block if keep_blocks else (1, 1)
        return make_compressed(
            self._sc_layout, compressed, plain, coo._sp_values, coo._sp_pattern, block
        )

    # ------------------------------------------------------------------ arithmetic
    def mul(self, other: Any) -> SparseCompressedTensor:
        """``s * c`` for a number or a 0-d dense tensor ``c`` (PyTorch has no CPU kernel of a
        CSC/BSR/BSC matrix times a dense or sparse matrix)."""
        if isinstance(other, Tensor) and (type(other) in SPARSE_TYPES or other.ndim):
            raise RuntimeError(
                f"mul: a sparse {layout_name(self)} matrix times a tensor of layout "
                f"{layout_name(other)} is not supported (as in PyTorch, on CPU); multiply by "
                "a number, or convert with .to_sparse_csr() or .to_dense() first"
            )
        return self._like(SparseTensor.mul(self, other))

    __mul__ = __rmul__ = multiply = mul

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The sum of all elements (a dense 0-d tensor); PyTorch sums over a dim only of CSR."""
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
        return transposed(self, "TBackward0")

    def transpose(self, dim0: int, dim1: int) -> Any:
        if {dim0 % 2, dim1 % 2} == {0}:
            return self
        return transposed(self, "TransposeBackward0")

    def __repr__(self) -> str:
        _, cname, pname, _, _ = INFO[self._sc_layout]
        fields = [
            (cname, to_device(self._sc_compressed, "cpu")),
            (pname, to_device(self._sc_plain, "cpu")),
            ("values", to_device(self.values()._data, "cpu")),
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
    block = getattr(self, "_sc_block", (1, 1)) if layout is not sparse_csr else (1, 1)
    values = self._sp_values
    if INFO[layout][4]:
        nnz = int(plain.shape[0])
        values = reshape(reshape(values, (nnz,) + block).transpose(1, 2), (-1,))
    values = fn.named(values, node)
    shape = tuple(reversed(self.shape))
    out = _build(flipped, compressed, plain, values, shape, block[::-1])
    return carry_source(out, None if self._sp_source is None else self._sp_source.t())


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
    """The (row, col) of every element of a compressed matrix, in storage order."""
    xp = get_array_module(compressed)
    counts = xp.diff(compressed).astype(np.int64)
    outer = xp.repeat(xp.arange(compressed.shape[0] - 1, dtype=np.int64), counts)
    plain = plain.astype(np.int64)
    brow, bcol = (outer, plain) if INFO[layout][3] else (plain, outer)
    br, bc = block
    rows = brow[:, None, None] * br + xp.arange(br)[None, :, None]
    cols = bcol[:, None, None] * bc + xp.arange(bc)[None, None, :]
    shape = (brow.shape[0], br, bc)
    return xp.stack(
        [xp.broadcast_to(rows, shape).reshape(-1), xp.broadcast_to(cols, shape).reshape(-1)]
    )


def make_compressed(
    layout: Any, compressed: Any, plain: Any, values: Tensor, pattern: SparsePattern, block: tuple
) -> SparseCsrTensor:
    """A matrix of ``layout`` from its index arrays, flat element ``values`` and the element
    ``pattern`` (:func:`element_indices`); a CSR one is a ``SparseCsrTensor``."""
    if layout is sparse_csr:
        return make_csr(values, pattern, compressed.dtype)
    t = make_sparse(values, pattern, SparseCompressedTensor)
    t._csr_index_dtype = np.dtype(compressed.dtype)
    t._sc_layout, t._sc_block = layout, tuple(int(b) for b in block)
    t._sc_compressed, t._sc_plain = compressed, plain
    return t


def _build(
    layout: Any, compressed: Any, plain: Any, values: Tensor, shape: tuple, block: tuple
) -> SparseCsrTensor:
    """A matrix of ``layout`` from checked index arrays and flat element ``values``."""
    indices = to_device(element_indices(layout, compressed, plain, block), values.device)
    coalesced = layout is sparse_csr or (layout is sparse_bsr and block[0] == 1)
    pattern = SparsePattern(indices, shape, coalesced)
    if layout is sparse_csr:
        pattern = _as_coalesced(pattern)
    return make_compressed(layout, compressed, plain, values, pattern, block)


def compressed_from_pattern(
    values: Tensor,
    pattern: SparsePattern,
    layout: Any,
    block: tuple,
    index_dtype: Any,
    node: str,
    dense: Tensor | None = None,
) -> SparseCsrTensor:
    """``values`` on a coalesced 2-d ``pattern`` as a matrix of ``layout`` (CSR/CSC: those
    entries; BSR/BSC: every block holding one, its other elements read from ``dense``, the
    matrix, when given, else zero), recorded as ``node``."""
    xp = get_array_module(pattern.indices)
    rows, cols = pattern.shape
    br, bc = block
    row, col = pattern.indices
    brow, bcol = row // br, col // bc
    nbr, nbc = rows // br, cols // bc
    row_major = INFO[layout][3]
    key = brow * nbc + bcol if row_major else bcol * nbr + brow
    blocks = xp.unique(key)
    outer, inner = (blocks // nbc, blocks % nbc) if row_major else (blocks // nbr, blocks % nbr)
    n_outer = nbr if row_major else nbc
    counts = xp.bincount(outer, minlength=n_outer)
    compressed = xp.concatenate([xp.zeros(1, np.int64), xp.cumsum(counts)]).astype(index_dtype)
    plain = inner.astype(index_dtype)
    if block == (1, 1):  # the entries themselves, reordered to the layout's order
        order = xp.searchsorted(key, blocks) if row_major else xp.argsort(key, kind="stable")
        flat = values if row_major else values[Tensor._make(order, False, None, 0)]
    else:
        dense = fn.SparseToDense.apply(values, pattern) if dense is None else dense
        indices = element_indices(layout, compressed, plain, block)
        flat = fn.SparseGather.apply(dense, SparsePattern(indices, pattern.shape, False))
    out = _build(layout, compressed, plain, fn.named(flat, node), pattern.shape, block)
    return out
