"""``SparseTensor``: a sparse COO tensor (PyTorch's ``torch.sparse_coo`` layout).

A sparse COO tensor stores ``nnz`` elements: an int64 ``indices`` array of shape
``(sparse_dim, nnz)`` (kept in a :class:`~.sparse_pattern.SparsePattern`, with its cached
plans) and a dense ``values`` Tensor ``(nnz, *dense_size)`` (a hybrid tensor when
``dense_dim > 0``). It is a :class:`Tensor` subclass; its layout is :data:`sparse_coo`.

Autograd goes through the values: the sparse tensor is not itself a graph node, and every
op on it (``to_dense``, ``coalesce``, products, ``s * 2``) is an op on its values tensor
with the pattern as a constant (:mod:`.sparse_functions`); a tensor made by ``to_sparse()``
also keeps its dense source for PyTorch's product gradients (:func:`make_sparse`).

A sparse tensor has no dense array. Its ``_data`` (what every dense op reads) is a
:class:`NoDenseData` that answers only ``shape``/``dtype``/``ndim``/``size`` and raises a
NotImplementedError naming the operation for anything that would compute with it, and the
Tensor methods that are not sparse methods raise the same error before running, so a dense
op given a sparse tensor never returns a wrong answer (or a NumPy traceback): it says to
call ``.to_dense()`` first. Dense tensors are untouched: nothing here runs for them.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._type_names import dtype_of_type_name, type_name
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..autograd.torch_function import disabled_torch_function_impl
from ..backend import Device, get_array_module, to_device
from . import sparse_functions as fn
from ._util import dim_range_error
from .sparse_arithmetic import ARITHMETIC_NAMES, SparseArithmetic
from .sparse_autograd import input_edge_property, slot_property
from .sparse_meta import dense_on_meta, empty_on_meta, is_sparse_meta, refuse_sparse_meta
from .sparse_nodense import NoDenseData, method_error, raiser, unsupported
from .sparse_pattern import SparsePattern
from .sparse_printing import sparse_repr
from .tensor_queries import sparse_coo

__all__ = ["SPARSE_TYPES", "SparseTensor", "make_sparse", "sparse_repr"]


# Tensor attributes that hold for a sparse tensor as they are (they read only the shape
# and dtype, or are autograd bookkeeping); every other Tensor attribute that SparseTensor
# does not define raises ``unsupported``.
_PASS = frozenset(
    {
        "_data", "_grad", "grad_fn", "_grad_fn", "_output_nr", "_vc", "_hooks", "_fw", "_view",
        "_fw_tangent", "_version", "_base", "_is_view", "size", "dim", "numel", "nelement",
        "ndimension", "element_size", "is_floating_point", "is_complex", "is_signed",
        "is_cuda", "is_cpu", "is_mps", "is_xpu", "get_device", "float", "double", "half",
        "long", "int", "bool", "cfloat", "cdouble", "cpu", "cuda", "shape", "ndim",
        "dtype", "is_ipu", "is_maia", "is_meta", "is_mkldnn", "is_mtia", "is_nested",
        "is_quantized", "is_sparse_csr", "is_vulkan", "is_xla", "is_pinned", "pin_memory",
    }
) | ARITHMETIC_NAMES  # fmt: skip


class SparseTensor(SparseArithmetic, Tensor):
    """A sparse COO tensor: ``values[e]`` sits at ``indices[:, e]`` of a tensor of
    ``shape``; unlisted positions are zero and duplicate positions add up.

    Made by :func:`chainrule.sparse_coo_tensor` or ``Tensor.to_sparse()``, never directly.
    Methods: ``to_dense``, ``coalesce``, ``is_coalesced``, ``indices``/``values`` (of a
    coalesced tensor), ``_indices``/``_values``, ``_nnz``, ``sparse_dim``, ``dense_dim``,
    ``t``/``transpose``, ``* / -`` by scalars, ``+``/``-`` of sparse tensors of one size,
    ``@`` a dense matrix, ``sum``, ``to``/``float``/``double``/``cpu``, ``detach``,
    ``clone``. Anything else raises NotImplementedError: call ``.to_dense()`` first.
    """

    __torch_function__ = disabled_torch_function_impl  # results are plain Tensors (as torch)

    __slots__ = ("_sp_pattern", "_sp_values", "_sp_source", "_sp_edge")
    _leaf_message: str  # why it cannot be a leaf requiring grad (set below the class)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "SparseTensor is not constructed directly; use chainrule.sparse_coo_tensor("
            "indices, values, size) or dense.to_sparse()"
        )

    def __getattribute__(self, name: str) -> Any:
        if name in _PASS or name in _OWN or name[:2] == "__" or not hasattr(Tensor, name):
            return object.__getattribute__(self, name)
        raise method_error(self, name)

    # ------------------------------------------------------------------ metadata
    @property
    def layout(self) -> Any:
        return sparse_coo

    @property
    def is_sparse(self) -> bool:
        return True

    @property
    def device(self) -> Device:
        return self._sp_values.device

    @property
    def is_meta(self) -> bool:
        """Whether the tensor is on the meta device: its values are (as PyTorch)."""
        return self._sp_values.is_meta

    @property
    def requires_grad(self) -> bool:
        return self._sp_values.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if bool(value) and not self._sp_values.requires_grad:
            raise NotImplementedError(self._leaf_message)
        if not value and self._sp_values.requires_grad:
            raise RuntimeError(
                "requires_grad_(False): the values of this sparse tensor are in a graph; "
                "use .detach()"
            )

    def requires_grad_(self, requires_grad: bool = True) -> SparseTensor:
        self.requires_grad = requires_grad
        return self

    @property
    def _rg(self) -> bool:
        """What ``Function.apply`` reads of each argument: False for a sparse tensor outside
        any graph (a constant operand, as a custom Function's sparse adjacency matrix:
        ``my_sparse_mm.apply(L, x)``), True when its values require grad: the Function's
        edge is then :attr:`_grad_fn` (:mod:`.sparse_autograd`)."""
        return self._sp_values.requires_grad

    _grad_fn = input_edge_property()
    grad_fn = slot_property("The values' node, under PyTorch's name for the op that made it.")

    @property
    def is_leaf(self) -> bool:
        return not self._sp_values.requires_grad

    @property
    def grad(self) -> None:
        """Always None: gradients go to the values tensor the sparse tensor was made from
        (and on to whatever produced it)."""
        return None

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            raise NotImplementedError(self._leaf_message)

    @property
    def data(self) -> SparseTensor:
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        raise unsupported("assigning .data of a sparse tensor")

    def backward(self, *args: Any, **kwargs: Any) -> None:
        raise unsupported("backward from a sparse tensor (reduce it first, e.g. cr.sparse.sum)")

    def is_coalesced(self) -> bool:
        return self._sp_pattern.coalesced

    def _nnz(self) -> int:
        return self._sp_pattern.nnz

    def sparse_dim(self) -> int:
        return len(self._sp_pattern.shape)

    def dense_dim(self) -> int:
        return self._sp_values.ndim - 1

    def _indices(self) -> Tensor:
        """The indices ``(sparse_dim, nnz)`` as stored (read-only memory; duplicates kept)."""
        return Tensor._make(self._sp_pattern.indices, False, None, 0)

    def _values(self) -> Tensor:
        """The values as stored, detached from the graph (as PyTorch's ``_values()``)."""
        return self._sp_values.detach()

    def indices(self) -> Tensor:
        if not self._sp_pattern.coalesced:
            raise RuntimeError(
                "Cannot get indices on an uncoalesced tensor, please call .coalesce() first"
            )
        return self._indices()

    def values(self) -> Tensor:
        """The values of a coalesced tensor, in the graph (gradients reach their producer)."""
        if not self._sp_pattern.coalesced:
            raise RuntimeError(
                "Cannot get values on an uncoalesced tensor, please call .coalesce() first"
            )
        return fn.named(self._sp_values, "ValuesBackward0")  # PyTorch's node (in a graph)

    # ------------------------------------------------------------------ conversions
    def coalesce(self) -> SparseTensor:
        """Duplicates summed, entries in row-major order (differentiable in the values)."""
        pattern = self._sp_pattern
        if pattern.coalesced:
            return self
        refuse_sparse_meta("_coalesce", self)
        plan = pattern.coalesce_plan()
        values = fn.Coalesce.apply(self._sp_values, plan)
        return make_sparse(values, plan.pattern, source=self._sp_source)

    def to_dense(self, dtype: Any = None, *, masked_grad: Any = None) -> Tensor:
        """The dense tensor (differentiable in the values). ``masked_grad=False``: a tensor
        converted from a dense one that requires grad gives it the whole gradient, not only
        at the stored entries (PyTorch's unmasked gradient; otherwise the same)."""
        if masked_grad is not None and not isinstance(masked_grad, bool):
            raise TypeError(
                f"to_dense(): argument 'masked_grad' must be bool, not {type(masked_grad).__name__}"
            )
        if is_sparse_meta(self):
            return dense_on_meta(self, dtype)
        if masked_grad is False and self._sp_source is not None:
            out = fn.SourceToDense.apply(self._sp_source, self._sp_values, self._sp_pattern)
            return out if dtype is None else out.to(dtype)
        out = fn.SparseToDense.apply(self._sp_values, self._sp_pattern)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, *args: Any, **kwargs: Any) -> SparseTensor:
        if args and args[0] != self.sparse_dim():
            raise NotImplementedError(
                f"to_sparse: changing sparse_dim of a sparse tensor ({self.sparse_dim()} -> "
                f"{args[0]}) is not supported"
            )
        return self

    def to_sparse_coo(self) -> SparseTensor:
        return self

    def to(self, *args: Any, **kwargs: Any) -> SparseTensor:
        """``to(dtype)`` / ``to(device)`` / ``to(other)``: the values converted as a dense
        tensor's ``to`` would (differentiable), the indices moved with them."""
        values = self._sp_values.to(*args, **kwargs)
        if values is self._sp_values:
            return self
        pattern = self._sp_pattern
        if values.device != self._sp_values.device:
            indices = to_device(pattern.indices, values.device)
            pattern = SparsePattern(indices, pattern.shape, pattern.coalesced)
        if values.is_meta:  # converted or moved onto meta: no entries (PyTorch)
            values, pattern = empty_on_meta(values, pattern)
        return make_sparse(values, pattern, source=_source(self, lambda s: s.to(*args, **kwargs)))

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """PyTorch's legacy type name (``'torch.sparse.FloatTensor'``), or the tensor
        converted to a dtype, a legacy type or its name."""
        if dtype is None:
            return type_name(self.dtype).replace("torch.", "torch.sparse.")
        if isinstance(dtype, str):
            dtype = dtype_of_type_name(dtype)
        elif isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), np.dtype):
            dtype = dtype.dtype  # a legacy type class (cr.sparse.FloatTensor, ...)
        return self.to(dtype)

    def detach(self) -> SparseTensor:
        return make_sparse(self._sp_values.detach(), self._sp_pattern)

    def clone(self, *, memory_format: Any = None) -> SparseTensor:
        values, pattern = self._sp_values.clone(), self._sp_pattern
        if is_sparse_meta(self) and type(self) is SparseTensor:  # no entries (PyTorch)
            values, pattern = empty_on_meta(values, pattern, "CloneBackward0")
        return make_sparse(values, pattern, source=self._sp_source)

    def __deepcopy__(self, memo: dict) -> SparseTensor:
        if id(self) in memo:
            return memo[id(self)]
        if self._sp_values.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) "
                "support the deepcopy protocol; call .detach() first"
            )
        out = make_sparse(copy.deepcopy(self._sp_values, memo), self._sp_pattern)
        memo[id(self)] = out
        return out

    # ------------------------------------------------------------------ shape
    def _zeros_like(self, dtype: Any = None) -> SparseTensor:
        """``zeros_like``/``empty_like`` of a sparse tensor: no entries, same size (torch)."""
        p = self._sp_pattern
        dt = self.dtype if dtype is None else dtype
        xp = get_array_module(p.indices)
        rows = tuple(self._sp_values.shape[1:])  # a hybrid tensor's dense part
        values = Tensor._make(xp.zeros((0,) + rows, _dt.as_dtype(dt)), False, None, 0)
        indices = xp.zeros((p.indices.shape[0], 0), np.int64)
        return make_sparse(values, SparsePattern(indices, p.shape, True))

    def t(self) -> SparseTensor:
        if self.sparse_dim() > 2 or self.dense_dim() > 0:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions"
            )
        return self if self.sparse_dim() < 2 else self.transpose(0, 1, _node="TBackward0")

    def transpose(self, dim0: int, dim1: int, _node: str = "TransposeBackward0") -> SparseTensor:
        n, ndim = self.sparse_dim(), max(self.ndim, 1)
        for d in (dim0, dim1):
            if not -ndim <= d < ndim:
                raise dim_range_error(d, ndim)
        d0, d1 = dim0 % ndim, dim1 % ndim
        if d0 == d1:
            return self
        if d0 >= n or d1 >= n:  # a hybrid tensor's dense dims stay in place (PyTorch)
            raise RuntimeError(
                f"sparse transpose: transposed dimensions must be sparse Got sparse_dim: {n}, "
                f"d0: {d0}, d1: {d1}"
            )
        values, pattern = self._sp_values, self._sp_pattern.transposed(d0, d1)
        if is_sparse_meta(self):  # no entries (PyTorch's meta kernel)
            values, pattern = empty_on_meta(values, pattern, _node)
        else:
            values = fn.named(values, _node)
        return make_sparse(values, pattern, source=_source(self, lambda s: s.transpose(d0, d1)))

    def __format__(self, spec: str) -> str:
        if spec:
            raise unsupported(f"format spec {spec!r}")
        return repr(self)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ python
    def __repr__(self) -> str:
        fields = [("indices", self._sp_pattern.indices), ("values", self._sp_values._data)]
        return sparse_repr(self, fields, sparse_coo, force_newline=True)  # size on a new line


_OWN = SparseTensor.__dict__  # live: sparse_products binds more methods

# The sparse classes (SparseTensor and sparse_csr's subclass): the products test an operand's
# exact type against this set, as cheap as one ``is`` on the dense path.
SPARSE_TYPES: set[type] = {SparseTensor}

_LEAF_MESSAGE = (
    "a sparse COO tensor cannot be a leaf that requires grad (its gradient would be a "
    "sparse tensor, which chainrule does not accumulate); give the values requires_grad "
    "instead: cr.sparse_coo_tensor(indices, values.requires_grad_(), size); the gradient "
    "then lands in values.grad"
)
SparseTensor._leaf_message = _LEAF_MESSAGE

for _name in (
    "__rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ "
    "__abs__ __invert__ __and__ __rand__ __or__ __ror__ __xor__ __rxor__ __lshift__ "
    "__rlshift__ __rshift__ __rrshift__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ "
    "__getitem__ __setitem__ __iter__ __bool__ __float__ __int__ __index__ __array__ "
    "__dlpack__ __dlpack_device__ __iadd__ __isub__ __imul__ __itruediv__ __ifloordiv__ "
    "__imod__ __iand__ __ior__ __ixor__ __ilshift__ __irshift__"
).split():
    setattr(SparseTensor, _name, raiser(_name))


def make_sparse(
    values: Tensor, pattern: SparsePattern, cls: type | None = None, source: Any = None
) -> SparseTensor:
    """A sparse tensor of ``values`` (a Tensor, one row per entry) on ``pattern``; of class
    ``cls`` (a subclass: ``sparse_csr.SparseCsrTensor``) if given.

    ``source``: the dense tensor ``dense.to_sparse()`` converted (kept through ``t``, ``+``,
    ``coalesce``, ``* c``) while in a graph: PyTorch's products (``mm``, ``@``, ``addmm``;
    not ``sparse.mm``) give it the full gradient ``G @ Xᵀ``, read by ``sparse_products``."""
    t = object.__new__(cls or SparseTensor)
    # a hybrid tensor (dense_dim > 0, e.g. an nn.Embedding(sparse=True) gradient) stores a
    # dense row per entry: its size is the pattern's (sparse) size + the rows' size
    t._data = NoDenseData(pattern.shape + tuple(values.shape[1:]), values.dtype)
    t._grad = None
    t.grad_fn = values.grad_fn  # PyTorch's node of the op that made the tensor (its name)
    t._output_nr = 0
    t._vc = [0]
    t._hooks = None
    t._fw = None
    t._view = None
    t._sp_pattern = pattern
    t._sp_values = values
    keep = source is not None and source.requires_grad and is_grad_enabled()
    t._sp_source = source if keep else None
    t._sp_edge = None  # Function.apply's edge, made on first use (sparse_autograd)
    return t


SparseTensor._make_coo = staticmethod(make_sparse)  # what SparseArithmetic builds with
SparseTensor._coo_class = SparseTensor


def _source(t: SparseTensor, op: Any) -> Any:
    """``op`` of ``t``'s dense source, if it has one (see :func:`make_sparse`)."""
    return None if t._sp_source is None else op(t._sp_source)
