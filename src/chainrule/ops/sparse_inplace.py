"""In-place ops of sparse tensors (``s.abs_()``, ``s.mul_(2)``, ``s.add_(t)``, ``s.zero_()``,
...) as PyTorch allows them, its errors where it does not, and the dense ``coalesce()`` /
``is_coalesced()`` errors.

An in-place op computes the out-of-place result (a sparse tensor whose values are a dense op of
the operand's: :mod:`.sparse_pointwise`) and moves it into the operand: its values, pattern
(a COO tensor is coalesced first by the non-linear ops, as PyTorch) and ``grad_fn``, with the
version counter bumped. Gradients flow as for the out-of-place op; the values tensor the sparse
tensor was made from is not written to (chainrule's sparse tensors own no memory of it).
"""

from __future__ import annotations

from typing import Any

from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import ACTIVE as _META
from .linear_maps import LinearMap, adjoint_pair
from .sparse_compressed import SparseCompressedTensor, layout_name
from .sparse_csr import SparseCsrTensor, make_csr
from .sparse_meta import backend_error, coo_add_on_meta, coo_meta_op, is_sparse_meta
from .sparse_nodense import dispatcher_error
from .sparse_pattern import SparsePattern
from .sparse_pointwise import UNARY
from .sparse_tensor import SPARSE_TYPES, SparseTensor, make_sparse

__all__ = ["DENSE_METHODS", "ZeroValues", "move_into"]

# PyTorch's in-place forms of the zero-preserving unary ops (``square_`` is ``pow_``, which
# its sparse kernels lack; ``nan_to_num_`` has no CSR kernel).
_NO_INPLACE = ("square", "isnan", "isinf", "isposinf", "isneginf", "signbit")
_UNARY_INPLACE = [n for n in UNARY if n not in _NO_INPLACE]
_UNARY_INPLACE += ["neg", "negative"]
_COO_ONLY = ("nan_to_num", "div", "sub")


def move_into(self: SparseTensor, out: SparseTensor) -> SparseTensor:
    """Make ``self`` hold ``out``'s entries (an in-place op's result); bump its version."""
    if type(out) is not type(self):
        raise RuntimeError(
            f"an in-place op of a {self.layout} tensor gave a {out.layout} one; use the "
            "out-of-place form"
        )
    for slot in ("_sp_values", "_sp_pattern", "_sp_source", "_data", "grad_fn"):
        setattr(self, slot, getattr(out, slot))
    for slot in ("_csr_index_dtype", "_sc_layout", "_sc_block", "_sc_compressed", "_sc_plain"):
        if hasattr(out, slot):
            setattr(self, slot, getattr(out, slot))
    self._vc[0] += 1
    return self


def _refuse(self: Any, name: str) -> None:
    raise RuntimeError(f"unsupported tensor layout: {layout_name(self)}")  # (torch: no op name)


def _inplace(name: str) -> Any:
    base = name.rstrip("_")

    def method(self: SparseTensor, *args: Any, **kwargs: Any) -> SparseTensor:
        if type(self) is not SparseTensor and base == "nan_to_num":
            if is_sparse_meta(self):
                raise backend_error("nan_to_num.out", self)
            raise dispatcher_error("nan_to_num.out", "SparseCsrCPU")  # PyTorch's
        if type(self) is not SparseTensor and base in _COO_ONLY:
            _refuse(self, name)
        if base in ("add", "sub") and args and type(args[0]) not in SPARSE_TYPES:
            raise RuntimeError(  # PyTorch's words (add's for sub_ too)
                "add(sparse, dense) is not supported. Use add(dense, sparse) instead."
            )
        if _META and type(self) is SparseTensor and is_sparse_meta(self):
            if base == "add" and args and type(args[0]) is SparseTensor:
                return _add_on_meta(self, args[0], kwargs.get("alpha", 1))
            raise backend_error(coo_meta_op(base, True), self)
        out = move_into(self, getattr(self, base)(*args, **kwargs))
        if base in ("mul", "multiply") and type(self) is SparseTensor and args:
            if type(args[0]) not in SPARSE_TYPES:  # by a number: PyTorch flags it uncoalesced
                p = self._sp_pattern
                self._sp_pattern = SparsePattern(p.indices, p.shape, False)
        return out

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{base}`` of a sparse tensor (PyTorch's sparse kernels)."
    return method


class ZeroValues(LinearMap):
    """v -> its first 0 rows: the values of ``s.zero_()`` in a graph (PyTorch's node; the
    gradient of the old values is zero)."""

    node_name = "ZeroBackward0"

    @staticmethod
    def map(x: Any, shape: tuple) -> Any:
        return x[:0]


class _ZeroGradient(LinearMap):
    """The adjoint of :class:`ZeroValues`: zeros of the old values' ``shape``."""

    @staticmethod
    def map(x: Any, shape: tuple) -> Any:
        return get_array_module(x).zeros(shape, x.dtype)


adjoint_pair(ZeroValues, _ZeroGradient)


def _add_on_meta(self: SparseTensor, other: SparseTensor, alpha: Any) -> SparseTensor:
    """``s.add_(t)`` of COO tensors on meta: PyTorch's kernel keeps entries
    (:func:`~.sparse_meta.coo_add_on_meta`)."""
    SparseTensor.add(self.detach(), other.detach(), alpha=alpha)  # its checks (no entries)
    values, pattern = coo_add_on_meta(self, other, alpha)
    return move_into(self, make_sparse(values, pattern))


def _zero_(self: SparseTensor) -> SparseTensor:
    """``s.zero_()``: no entries left (the size kept), as PyTorch; in a graph, the empty
    values under PyTorch's ``ZeroBackward0`` (after the tensor's node)."""
    if isinstance(self, SparseCompressedTensor):  # BSR/BSC too: no blocks left
        out = self._zeros_like(keep_blocks=True)
    else:
        out = self._zeros_like()
    values = self._sp_values
    if values.requires_grad and is_grad_enabled():
        empty = ZeroValues.apply(values, tuple(values.shape))
        out._sp_values = empty
        out.grad_fn = empty.grad_fn
    return move_into(self, out)


def _fill_(self: SparseTensor, value: Any) -> SparseTensor:
    """``s.fill_(v)`` of a compressed matrix: every specified entry set to ``v`` (PyTorch has
    no COO kernel)."""
    if type(self) is SparseTensor:
        raise NotImplementedError(
            "fill_: not supported for sparse COO tensors (PyTorch has no SparseCPU kernel)"
        )
    values = self._sp_values * 0 + value
    return move_into(
        self,
        self._with_values(values) if hasattr(self, "_sc_layout") else self._like_values(values),
    )


def _refused(name: str) -> Any:
    def method(self: SparseTensor, *args: Any, **kwargs: Any) -> Any:
        if type(self) is SparseTensor:
            raise NotImplementedError(
                f"{name}: not supported for sparse COO tensors (PyTorch has no SparseCPU "
                "kernel); call .to_dense() first"
            )
        _refuse(self, name)

    method.__name__ = name
    return method


def _transpose_(self: SparseTensor, dim0: int = 0, dim1: int = 1) -> SparseTensor:
    if type(self) is not SparseTensor:
        raise RuntimeError(
            "torch.transpose_: in-place transposition is not supported for "
            f"{layout_name(self)} layout"
        )
    return move_into(self, self.transpose(dim0, dim1))


def _t_(self: SparseTensor) -> SparseTensor:
    if type(self) is not SparseTensor:
        return _transpose_(self)
    return move_into(self, self.t())


def _dense_refused(name: str) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{name} expected sparse coordinate tensor layout but got Strided")

    method.__name__ = name
    return method


# PyTorch's dense tensors have these sparse methods, refusing with its errors
DENSE_METHODS = {name: _dense_refused(name) for name in ("coalesce", "is_coalesced")}


def _like_values(self: SparseCsrTensor, values: Tensor) -> SparseCsrTensor:
    return make_csr(values, self._sp_pattern, self._csr_index_dtype)


def _bind() -> None:
    for cls in (SparseTensor, SparseCsrTensor, SparseCompressedTensor):
        for base in _UNARY_INPLACE + ["mul", "add", "div", "sub", "multiply"]:
            setattr(cls, base + "_", _inplace(base + "_"))
        cls.__imul__ = cls.mul_
        cls.__iadd__ = cls.add_
        cls.zero_ = _zero_
        cls.fill_ = _fill_
        cls.t_ = _t_
        cls.transpose_ = _transpose_
        for name in ("pow_", "square_", "exp_", "clamp_", "clamp_min_", "clamp_max_"):
            setattr(cls, name, _refused(name))
    SparseTensor.__itruediv__ = SparseTensor.div_
    SparseTensor.__isub__ = SparseTensor.sub_
    SparseCsrTensor._like_values = _like_values
    for name, method in DENSE_METHODS.items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, method)


_bind()
