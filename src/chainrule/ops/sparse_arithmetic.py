"""The arithmetic of sparse tensors (``+ - * /`` and negation), split out of
:mod:`.sparse_tensor` (session 47) so that the class file keeps to its metadata, autograd
plumbing and conversions.

:class:`SparseArithmetic` is a base of :class:`~.sparse_tensor.SparseTensor` (before
``Tensor``, so its methods replace the dense ones): ``s * c`` / ``s / c`` by a number or a
0-d dense tensor, ``-s``, ``s + t`` / ``s - t`` of two sparse tensors of one size (PyTorch's
coalescing and entry order), ``dense + s`` / ``dense - s`` (handed to the dense op). Every
result's values are a dense op of the operands' values (the graph goes through them), and a
tensor converted from a dense one keeps that dense source through them (PyTorch's product
gradients read it; :func:`~.sparse_tensor.make_sparse`). The class is built by
``SparseTensor._make_coo`` (``make_sparse``), bound there, which keeps this module free of
an import of :mod:`.sparse_tensor`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import sparse_functions as fn
from .joining import cat
from .sparse_merge import merged_entries
from .sparse_meta import empty_on_meta, is_sparse_meta, refuse_sparse_meta
from .sparse_nodense import unsupported
from .sparse_pattern import SparsePattern

__all__ = ["ARITHMETIC_NAMES", "SparseArithmetic"]


class SparseArithmetic:
    """``+ - * /`` and negation of a sparse tensor (a base of ``SparseTensor``)."""

    __slots__ = ()
    _make_coo: Callable[..., Any]  # make_sparse (bound by sparse_tensor)
    _coo_class: type  # SparseTensor (the COO class; CSR & co. are its subclasses)

    def mul(self, other: Any) -> Any:
        """``s * c`` for a Python number or a 0-d dense tensor ``c``."""
        values = self._sp_values * _scalar("mul", other)
        return self._make_coo(
            values, self._sp_pattern, source=_source_of(self, lambda s: s * other)
        )

    def div(self, other: Any, *, rounding_mode: Any = None) -> Any:
        if rounding_mode is not None:
            raise NotImplementedError("div of a sparse tensor: rounding_mode is not supported")
        refuse_sparse_meta("div.Tensor", self)
        values = self._sp_values / _scalar("div", other)
        return self._make_coo(
            values, self._sp_pattern, source=_source_of(self, lambda s: s / other)
        )

    def neg(self) -> Any:
        if type(self) is self._coo_class:  # (the compressed layouts' run on meta: PyTorch's)
            refuse_sparse_meta("neg", self)
        return self._make_coo(
            -self._sp_values, self._sp_pattern, source=_source_of(self, lambda s: -s)
        )

    def add(
        self, other: Any, *, alpha: Any = 1, _node: str = "AddBackward0", _concat: bool = False
    ) -> Any:
        """``s + other`` for a sparse ``other`` of the same size (a coalesced result when both
        operands are coalesced, as PyTorch; ``_concat``: the entries concatenated otherwise, as
        PyTorch's autograd sums two sparse gradients, else merged as its ``+``)."""
        if isinstance(other, Tensor) and not isinstance(other, SparseArithmetic):
            raise RuntimeError(
                "add(sparse, dense) is not supported. Use add(dense, sparse) instead."
            )
        if not isinstance(other, SparseArithmetic):
            raise unsupported(f"add of a sparse tensor and {type(other).__name__}")
        if other.shape != self.shape:  # PyTorch's texts
            raise RuntimeError(
                f"add: expected sizes of 'self' and 'other' to match, but {list(self.shape)} "
                f"!= {list(other.shape)}"
            )
        if other.sparse_dim() != self.sparse_dim():
            raise RuntimeError(
                "add: expected 'self' and 'other' to have same density, but 'self' has "
                f"{self.sparse_dim()} sparse dimensions while 'other' has {other.sparse_dim()} "
                "sparse dimensions"
            )
        if self._sp_values._data.dtype.kind == "b" == other._sp_values._data.dtype.kind:
            raise NotImplementedError("\"cadd_sparse\" not implemented for 'Bool'")
        values = other._sp_values if alpha == 1 else other._sp_values * alpha
        a, b = self._sp_pattern, other._sp_pattern
        if is_sparse_meta(self) or is_sparse_meta(other):  # no entries (PyTorch)
            both = cat([self._sp_values.narrow(0, 0, 0), values.narrow(0, 0, 0)])
            return self._make_coo(*empty_on_meta(both, a, _node))
        indices = get_array_module(a.indices).concatenate([a.indices, b.indices], axis=1)
        if (a.coalesced and b.coalesced) or _concat:
            both = SparsePattern(indices, a.shape, False)
            out = self._make_coo(cat([self._sp_values, values]), both)
            out = out.coalesce() if a.coalesced and b.coalesced else out
        else:
            out = self._make_coo(*merged_entries(self._sp_values, values, a, b))
        source = None
        if self._sp_source is not None or other._sp_source is not None:  # see make_sparse
            sa, sb = (t.to_dense() if t._sp_source is None else t._sp_source for t in (self, other))
            source = sa + (sb if alpha == 1 else sb * alpha)
        return self._make_coo(fn.named(out._sp_values, _node), out._sp_pattern, source=source)

    def sub(self, other: Any, *, alpha: Any = 1) -> Any:
        refuse_sparse_meta("sub.Tensor", self, other)
        if getattr(other, "dtype", None) == self.dtype == np.bool_:
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. Use "
                "the `^` or `logical_xor()` operator instead."
            )
        return self.add(other, alpha=-alpha, _node="SubBackward0")

    __mul__ = __rmul__ = mul
    __truediv__ = div
    __neg__ = neg
    __add__ = add
    __sub__ = sub

    def __radd__(self, other: Any) -> Tensor:
        """``dense + sparse``: a dense tensor of the same size (``binary.add``, through
        ``sparse_dense_add``; torch has no sparse + dense)."""
        if isinstance(other, Tensor) and not isinstance(other, SparseArithmetic):
            return other.add(self)
        return self.add(other)

    def __rsub__(self, other: Any) -> Tensor:
        """``dense - sparse``: a dense tensor of the same size (``binary.sub``)."""
        if isinstance(other, Tensor) and not isinstance(other, SparseArithmetic):
            return other.sub(self)
        raise unsupported("__rsub__")

    def __pos__(self) -> Any:
        return self


# the non-dunder names SparseTensor's attribute filter lets through
ARITHMETIC_NAMES = frozenset(n for n in vars(SparseArithmetic) if n[:2] != "__")


def _scalar(op: str, other: Any) -> Any:
    if isinstance(other, SparseArithmetic):
        raise unsupported(f"{op} of two sparse tensors")
    if isinstance(other, Tensor) and other.ndim != 0:
        raise unsupported(f"{op} of a sparse tensor and a dense tensor of shape {other.shape}")
    if not isinstance(other, (Tensor, int, float, complex, np.number, np.bool_, bool)):
        raise TypeError(f"{op}: a sparse tensor can be scaled by a number, got {type(other)}")
    return other


def _source_of(t: Any, op: Any) -> Any:
    """``op`` of ``t``'s dense source, if it has one (see ``make_sparse``)."""
    return None if t._sp_source is None else op(t._sp_source)
