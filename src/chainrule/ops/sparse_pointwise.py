"""Elementwise ops of sparse COO and CSR tensors that keep them sparse, as PyTorch's do.

- The zero-preserving unary ops (``f(0) == 0``: ``abs``, ``sin``, ``sqrt``, ``relu``,
  ``floor``, ``expm1``, ``isnan``, ...; PyTorch's list) and ``pow`` by a non-zero number: a
  sparse tensor of the same layout whose values are the op of the values. A COO tensor is
  coalesced first (``f(a + b) != f(a) + f(b)``), as PyTorch does; ``neg``/``positive``/
  ``conj`` (linear) keep its entries as they are. Both the method (``s.sin()``) and the root
  function (``cr.sin(s)``) forms.
- ``sparse * dense`` and ``dense * sparse`` (the dense operand broadcast to the sparse size
  and read at the entries: PyTorch's sparse-mask semantics; a sparse result of the sparse
  operand's entries), ``sparse * sparse`` (the product at the positions both hold) and
  ``Tensor.sparse_mask(mask)`` (a tensor's elements at a sparse mask's entries).

Every result's values are a dense op of the operands' values (the graph goes through them,
:mod:`.sparse_tensor`), so gradients and forward mode are the dense ops'. PyTorch has no
gradient for many of these (its backward of ``sparse.sin()`` fails); chainrule gives the
gradient of the values. The root functions are the dense ones wrapped by one type test
(:func:`_install_root_forms`), at the cost of one call for a dense argument.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import ops as _DENSE  # the dense root functions (the package is complete by now)
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import ACTIVE as _META  # non-empty once a meta array exists
from ..meta.array import MetaArray
from . import sparse_functions as fn
from .sparse_compressed import SparseCompressedTensor, layout_name
from .sparse_csr import SparseCsrTensor, make_csr
from .sparse_meta import backend_error, coo_meta_op, is_sparse_meta
from .sparse_nodense import (
    DISPATCHED,
    EMPTY_FIRST,
    NO_SPARSE_KERNEL,
    ROOT_OPS,
    ROOT_WRAPPERS,
    dispatcher_error,
    unsupported,
)
from .sparse_pattern import SparsePattern
from .sparse_tensor import SPARSE_TYPES, SparseTensor, make_sparse

__all__ = ["UNARY", "sparse_angle", "sparse_mask", "sparse_mul", "sparse_pow", "sparse_unary"]

# PyTorch's zero-preserving unary ops with a sparse kernel (COO and CSR; ``square`` and
# ``nan_to_num`` have none for the compressed layouts: refused, as PyTorch), and aliases.
UNARY = (
    "abs absolute sin tan tanh sqrt relu sign floor ceil round trunc fix frac expm1 log1p "
    "asin arcsin atan arctan sinh asinh arcsinh atanh arctanh erf erfinv sgn square deg2rad "
    "rad2deg nan_to_num isnan isinf isposinf isneginf signbit"
).split()
# no coalescing: each entry maps on its own (conj_physical: session 47)
_LINEAR = ("positive", "conj", "negative", "conj_physical")
_COO_ONLY = ("square", "nan_to_num")  # (PyTorch: no kernel for the compressed layouts)


_SCALE = SparseTensor.mul  # ``s * c`` for a number c (the class's own)


class SparseMask(fn.SparseGather):
    node_name = "SparseMaskBackward0"


def _like(self: SparseTensor, values: Tensor, pattern: SparsePattern) -> SparseTensor:
    """A sparse tensor of ``self``'s layout: ``values`` at ``pattern``'s entries."""
    if type(self) is SparseCsrTensor:
        return make_csr(values, pattern, self._csr_index_dtype)
    if type(self) is SparseCompressedTensor:
        if pattern is self._sp_pattern:
            return self._with_values(values)
        raise unsupported(f"a {self.layout} result on other entries than its operand's")
    return make_sparse(values, pattern)


def _entries(self: SparseTensor, coalesce: bool) -> SparseTensor:
    return self.coalesce() if coalesce and type(self) is SparseTensor else self


def sparse_unary(name: str, self: SparseTensor, *args: Any, **kwargs: Any) -> SparseTensor:
    """The op ``name`` (a root function of chainrule.ops) of a sparse tensor's values."""
    if kwargs.get("out") is not None:
        raise unsupported(f"{name}(out=...) of a sparse tensor")
    kwargs.pop("out", None)
    if _META and type(self._sp_values._data) is MetaArray:  # inline: one type test per call
        _refuse_on_meta(name, self)
    if name in _COO_ONLY and type(self) is not SparseTensor:
        _refuse_compressed(name, self)
    src = _entries(self, name not in _LINEAR)
    values = getattr(_DENSE, name)(src._sp_values, *args, **kwargs)
    return _like(self, values, src._sp_pattern)


def _refuse_compressed(name: str, self: SparseTensor) -> None:
    """PyTorch's refusal of ``square`` (its ``pow``) and ``nan_to_num`` of a compressed
    tensor (CSR, CSC, BSR, BSC), which have COO kernels only (session 46: chainrule computed
    them)."""
    if name == "nan_to_num":
        raise dispatcher_error("nan_to_num.out", "SparseCsrCPU")
    raise RuntimeError(f"unsupported tensor layout: {layout_name(self)}")  # (no op name)


def _refuse_on_meta(name: str, self: SparseTensor) -> None:
    """PyTorch's answer to the unary op ``name`` of a sparse tensor on meta: a COO tensor's
    raise (naming its kernel; ``isinf``: its own text), except the linear ``positive`` and
    ``conj``; a compressed one's compute on the values (but ``nan_to_num``)."""
    if name == "nan_to_num":
        raise backend_error("nan_to_num.out", self)
    if type(self) is not SparseTensor or name in ("positive", "conj"):
        return
    if name == "isinf":
        raise NotImplementedError("nyi isinf for SparseMeta")
    raise backend_error(coo_meta_op(name), self)


def sparse_pow(self: SparseTensor, exponent: Any) -> SparseTensor:
    """``s ** p`` for a number (or a 0-d dense tensor) ``p != 0`` (``0 ** p`` stays 0)."""
    if isinstance(exponent, Tensor) and (type(exponent) in SPARSE_TYPES or exponent.ndim):
        raise unsupported("pow of a sparse tensor by a tensor exponent")
    if type(self) is not SparseTensor:  # PyTorch's: no compressed kernel (session 46)
        raise RuntimeError(f"unsupported tensor layout: {layout_name(self)}")
    if not isinstance(exponent, Tensor) and exponent == 0:
        raise RuntimeError(
            "pow: cannot raise to zeroth power on sparse tensor; it would make the result "
            "tensor dense"
        )
    if _META and type(self._sp_values._data) is MetaArray:
        raise backend_error("pow.Tensor_Scalar", self)
    src = _entries(self, True)
    return _like(self, _DENSE.pow(src._sp_values, exponent), src._sp_pattern)


def sparse_angle(self: SparseTensor) -> SparseTensor:
    """``angle`` of a compressed tensor (CSR, CSC, BSR, BSC): the angle of its values, on its
    entries (``angle(0) == 0``); a COO tensor has no kernel (torch's dispatcher error;
    session 47)."""
    if type(self) is SparseTensor:
        raise dispatcher_error("angle", "SparseMeta" if is_sparse_meta(self) else "SparseCPU")
    return _like(self, _DENSE.angle(self._sp_values), self._sp_pattern)


def _check_same_size(op: str, a: Any, b: Any) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise RuntimeError(
            f"{op}: expected 'self' and 'other' to have same size, but self has size "
            f"{list(a.shape)} while other has size {list(b.shape)}"
        )


def sparse_mul(self: SparseTensor, other: Any) -> SparseTensor:
    """``s * other`` for a number, a dense tensor that broadcasts to ``s``'s size (read at
    ``s``'s entries) or a sparse tensor of the same size (the positions both hold)."""
    if type(other) in SPARSE_TYPES and type(other) is not type(self):
        if type(other) is SparseCompressedTensor and type(self) is SparseCsrTensor:
            if not (is_sparse_meta(self) or is_sparse_meta(other)):
                return _times_stored_elements(self, other)
        other = _other_layout(self, other)
    if _META and (
        type(self._sp_values._data) is MetaArray
        or (type(other) in SPARSE_TYPES and type(other._sp_values._data) is MetaArray)
    ):
        _mul_on_meta(self, other)
    if type(other) in SPARSE_TYPES:
        return _sparse_times_sparse(self, other)
    if not isinstance(other, Tensor) or other.ndim == 0:
        return _SCALE(self, other)
    if self.dense_dim():
        raise unsupported("a hybrid sparse tensor (dense_dim > 0) times a dense tensor")
    if tuple(other.shape) != tuple(self.shape):
        try:
            other = other.expand(tuple(self.shape))
        except RuntimeError:
            raise RuntimeError(
                f"mul: a sparse tensor of size {list(self.shape)} times a dense tensor of size "
                f"{list(other.shape)}: the dense operand must broadcast to the sparse size"
            ) from None
    picked = fn.SparseGather.apply(other, self._sp_pattern)
    return _like(self, self._sp_values * picked, self._sp_pattern)


def _other_layout(self: SparseTensor, other: SparseTensor) -> SparseTensor:
    """``s * other`` of two layouts (session 46, torch 2.13's answers): a COO ``s`` times a
    compressed tensor raises its words; a CSR ``s`` times a COO one is the product at the
    positions both hold, as two CSR tensors' (on meta: COO's answer); times a CSC/BSR/BSC one
    on meta, torch's dispatcher error (on CPU :func:`sparse_mul` runs
    :func:`_times_stored_elements`)."""
    if type(self) is SparseTensor:
        raise RuntimeError("Expected result Tensor to be of format CSR")
    meta = is_sparse_meta(self) or is_sparse_meta(other)
    if type(other) is SparseTensor:
        return other if meta else other.coalesce().to_sparse_csr()
    raise backend_error("mul.Tensor", make_sparse(self._sp_values, self._sp_pattern))


def _times_stored_elements(self: SparseTensor, other: SparseTensor) -> SparseTensor:
    """A CSR ``self`` times a CSC/BSR/BSC ``other``, as torch 2.13 computes it (session 47): a
    CSR tensor on ``other``'s stored elements (a block's explicit zeros included) in row-major
    order, each ``self``'s element there times ``other``'s (the dtypes promoted)."""
    if tuple(self.shape) != tuple(other.shape):
        raise RuntimeError(
            "sparse_binary_op_intersection_cpu(): expects sparse inputs with equal "
            "dimensionality, number of sparse dimensions, and shape of sparse dimensions"
        )
    if other.ndim != 2 or other.dense_dim():
        raise NotImplementedError(
            f"mul of a sparse CSR matrix and a batched or hybrid {other.layout} tensor: "
            "convert the other with .to_sparse_csr() first"
        )
    stored = other._sp_pattern
    xp = get_array_module(stored.indices)
    order = xp.argsort(stored.keys(), kind="stable")
    pattern = SparsePattern(xp.ascontiguousarray(stored.indices[:, order]), stored.shape, True)
    mine = fn.SparseGather.apply(self.to_dense(), pattern)
    theirs = other._sp_values[Tensor._make(order, False, None, 0)]
    return make_csr(mine * theirs, pattern, self._csr_index_dtype)


def _mul_on_meta(self: SparseTensor, other: Any) -> None:
    """PyTorch's meta answers to ``s * other``: a compressed tensor times a number computes on
    its values; a COO tensor, or two CSR ones (through COO: its "SparseMeta"), raise."""
    number = not isinstance(other, Tensor) or (type(other) not in SPARSE_TYPES and not other.ndim)
    if type(self) is not SparseTensor and number:
        return
    if type(self) is SparseCsrTensor and type(other) is SparseCsrTensor:
        raise backend_error("mul.Tensor", make_sparse(self._sp_values, self._sp_pattern))
    if type(self) is SparseTensor or type(other) is SparseTensor:
        raise backend_error("mul.Tensor", self if type(self) is SparseTensor else other)


def _sparse_times_sparse(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    if type(a) is not type(b):
        raise unsupported(f"mul of a {a.layout} and a {b.layout} tensor")
    _check_same_size("mul", a, b)
    if not (a._sp_pattern.coalesced and b._sp_pattern.coalesced):  # (CSR: always coalesced)
        return _times_uncoalesced(a, b)
    pa = a._sp_pattern
    xp = get_array_module(pa.indices)
    _, ia, ib = xp.intersect1d(pa.keys(), b._sp_pattern.keys(), return_indices=True)
    pattern = SparsePattern(xp.ascontiguousarray(pa.indices[:, ia]), pa.shape, True)
    values = a._sp_values[Tensor._make(ia, False, None, 0)]
    return _like(a, values * b._sp_values[Tensor._make(ib, False, None, 0)], pattern)


def _times_uncoalesced(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    """``a * b`` with an uncoalesced operand, as PyTorch: the result keeps the entries of the
    uncoalesced one (of both: the one with fewer entries, ``b`` on a tie), each times the
    other's summed value at its position (zero where the other has none)."""
    if not a._sp_pattern.coalesced and not b._sp_pattern.coalesced:
        keep, other = (b, a) if b._nnz() <= a._nnz() else (a, b)
    else:
        keep, other = (a, b) if not a._sp_pattern.coalesced else (b, a)
    other = other.coalesce()
    kp, ok = keep._sp_pattern, other._sp_pattern.keys()
    xp = get_array_module(kp.indices)
    keys = kp.keys()
    at = xp.minimum(xp.searchsorted(ok, keys), max(ok.shape[0] - 1, 0))
    found = (ok[at] == keys) if ok.shape[0] else xp.zeros(keys.shape, bool)
    picked = other._sp_values[Tensor._make(at, False, None, 0)] if ok.shape[0] else None
    rows = (-1,) + (1,) * (keep._sp_values.ndim - 1)
    mask = Tensor._make(found.reshape(rows), False, None, 0)
    if picked is None:
        values = keep._sp_values * 0
    else:
        values = keep._sp_values * picked.where(mask, picked.new_zeros(()))
    return _like(keep, values, kp)


def sparse_mask(self: Tensor, mask: Any) -> SparseTensor:
    """``Tensor.sparse_mask(mask)``: ``self``'s elements at the entries of the sparse
    ``mask`` (its values are ignored), as a sparse tensor of ``mask``'s layout and entries
    (duplicates kept); differentiable in ``self``."""
    if type(mask) not in SPARSE_TYPES:
        raise RuntimeError(
            f"sparse_mask(): expected mask to be a sparse tensor, got layout {mask.layout}"
        )
    if tuple(self.shape) != tuple(mask.shape):
        raise RuntimeError(
            f"sparse_mask(): operands have incompatible sizes; self has size "
            f"{list(self.shape)} but mask has size {list(mask.shape)}"
        )
    dense = self.to_dense() if type(self) in SPARSE_TYPES else self
    return _like(mask, SparseMask.apply(dense, mask._sp_pattern), mask._sp_pattern)


# --------------------------------------------------------------------- installation
def _method(name: str) -> Any:
    def method(self: SparseTensor, *args: Any, **kwargs: Any) -> SparseTensor:
        return sparse_unary(name, self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name}`` of the values: a sparse tensor (coalesced for COO)."
    return method


def _root(dense: Any, sparse: Any, binary: bool = False) -> Any:
    """The root function ``dense``, sending a sparse first (or, ``binary``, second)
    argument to ``sparse``."""

    @functools.wraps(dense)
    def root(*args: Any, **kwargs: Any) -> Any:
        if args and (type(args[0]) in SPARSE_TYPES):
            return sparse(*args, **kwargs)
        if not args and type(kwargs.get("input")) in SPARSE_TYPES:  # cr.abs(input=s)
            return sparse(kwargs.pop("input"), **kwargs)
        if binary and len(args) > 1 and type(args[1]) in SPARSE_TYPES:
            return sparse(args[1], args[0], **kwargs)
        return dense(*args, **kwargs)

    root.__wrapped__ = getattr(dense, "__wrapped__", dense)  # the op, as the package's wrappers
    root.dense_form = dense  # what a dense argument runs (its keywords: out=, ...)
    return root


def _mul_kw(self: Any, other: Any, *, out: Any = None) -> Any:
    if out is not None:
        raise unsupported("mul(out=...) of a sparse tensor")
    return self.mul(other)


def _install_root_forms() -> None:
    for name in UNARY + list(_LINEAR):
        if name not in SparseTensor.__dict__:  # neg, mul, ... are the class's own
            setattr(SparseTensor, name, _method(name))
        dense = getattr(_DENSE, name)
        root = _root(dense, functools.partial(sparse_unary, name))
        setattr(_DENSE, name, root)
        if Tensor.__dict__.get(name) is dense:  # the method is the function (relu, isnan)
            setattr(Tensor, name, root)
    _DENSE.neg = _root(_DENSE.neg, lambda s: s.neg())
    SparseTensor.angle = sparse_angle
    _DENSE.angle = _root(_DENSE.angle, sparse_angle)
    SparseTensor.pow = SparseTensor.__pow__ = sparse_pow
    _DENSE.pow = _root(_DENSE.pow, sparse_pow)
    SparseTensor.mul = SparseTensor.__mul__ = SparseTensor.__rmul__ = sparse_mul
    SparseTensor.multiply = sparse_mul
    for name in ("mul", "multiply"):
        setattr(_DENSE, name, _root(getattr(_DENSE, name), _mul_kw, binary=True))
    Tensor.sparse_mask = sparse_mask
    SparseTensor.sparse_mask = sparse_mask
    _register_root_refusals()


def _register_root_refusals() -> None:
    """The root forms of the ops PyTorch has no sparse kernel for refuse a sparse tensor in
    the method form's words (``sparse_nodense.root_error``): each op's own body by its code
    object (one several ops share only where they name one kernel: ``arccos``, ``acos``),
    the files of the wrappers around it (``__wrapped__``) as wrappers."""
    names: dict[Any, set[str]] = {}
    for name in (*NO_SPARSE_KERNEL, *DISPATCHED, *EMPTY_FIRST):
        f = getattr(_DENSE, name, None)
        while getattr(f, "__wrapped__", None) is not None:
            ROOT_WRAPPERS.add(f.__code__.co_filename)
            f = f.__wrapped__
        code = getattr(f, "__code__", None)
        if code is not None:
            names.setdefault(code, set()).add(name)
    for code, found in names.items():
        if len({NO_SPARSE_KERNEL.get(n, n) for n in found}) == 1:
            ROOT_OPS[code] = min(found)


_install_root_forms()
