"""The ``Tensor`` methods whose call or result differs from their function's
(:func:`bind_special`: ``x.where(cond, y)``, ``x.T``, ``x.real``, ...) and Python's
operators (:func:`bind_operators`: ``a + b`` is ``add``, ``a @ b`` is ``matmul``, ...).

Bound once by :func:`chainrule.ops._bind`, after the ``@tensor_method`` ops, since the
operators are those bound methods (``T.__add__ = T.add``: no wrapper on the hot path). Kept
apart from ``ops/__init__.py``, which collects the public ops and the Tensor-only table.
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .._user_warnings import warn_once
from ..autograd.tensor import Tensor
from . import (
    binary,
    complex_ops,
    indexing,
    inplace,
    linalg_more,
    permutations,
    reduction,
    sparse_construction,
    special,
    tensor_flags,
    tensor_queries,
)
from . import cumulative as cumulative_ops
from .linalg import _matmul

__all__: list[str] = []  # no public ops: bind_special / bind_operators are for ops/__init__.py


def _rev(fn: Callable[..., Any]) -> Callable[..., Any]:
    # Annotated for the generated stub (tools/gen_tensor_stub.py): ``2 - x`` is a Tensor.
    def method(self: Tensor, other: object) -> Tensor:
        return fn(other, self)

    return method


def _reversed_dims(self: Tensor) -> Tensor:
    """``Tensor.T``: every dim in reverse order (the transpose of a matrix). As in PyTorch,
    any other ndim than 2 warns once per process: 0-d (the identity) with its own message,
    the others (NumPy's reversal, which PyTorch deprecates in favour of ``mT``) with one."""
    if self.ndim == 0:
        warn_once(
            "T-0d",
            "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.",
        )
    elif self.ndim != 2:
        warn_once(
            "T-not-2d",
            "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
            "deprecated and it will throw an error in a future release. Consider `x.mT` to "
            "transpose batches of matrices or `x.permute(*cr.arange(x.ndim - 1, -1, -1))` to "
            "reverse the dimensions of a tensor.",
        )
    # builtins.range: this module's ``range`` is the public op ``cr.range`` (torch.range)
    return permutations.permute(self, tuple(reversed(builtins.range(self.ndim))))


def _matrix_transpose(self: Tensor) -> Tensor:
    """``Tensor.mT``: the last two dims swapped; matrices or batches of them only (a 0-d
    tensor is the result itself, with PyTorch's once-per-process deprecation warning)."""
    if self.ndim == 0:
        warn_once(
            "mT-0d",
            "Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases.",
        )
        return self  # the tensor itself, as PyTorch returns it
    if self.ndim < 2:
        raise RuntimeError(
            f"tensor.mT is only supported on matrices or batches of matrices. "
            f"Got {self.ndim}-D tensor."
        )
    return permutations.transpose(self, -2, -1)


def bind_special(T: Any) -> None:
    """Methods whose call or result differs from the function's."""
    # x.where(cond, y) is where(cond, x, y): the tensor is the second argument.
    T.where = lambda self, condition, other: binary.where(condition, self, other)
    # Tensor.norm takes no out= (chainrule.norm does); neither takes NumPy's aliases.
    T.norm = reduction.norm
    # x.polygamma(n) is polygamma(n, x): the order differs (the function takes n first).
    T.polygamma = special.polygamma_method
    T.polygamma_ = inplace.make_inplace("polygamma_", special.polygamma_method)
    # x.cumsum_(d) / x.cumprod_(d) scan in x's dtype: a bool x as PyTorch's (no kernel)
    T.cumsum_ = inplace.make_inplace("cumsum_", cumulative_ops.cumsum_in_place)
    T.cumprod_ = inplace.make_inplace("cumprod_", cumulative_ops.cumprod_in_place)
    T.T = property(_reversed_dims)
    T.mT = property(_matrix_transpose)
    # mH / H: the conjugate transpose (for real tensors the transpose) and its 0-d/ndim rules.
    T.mH = property(linalg_more.matrix_adjoint)
    T.H = property(linalg_more.conj_transpose)
    # itemsize / nbytes / layout: properties on a PyTorch tensor, not methods.
    T.itemsize = property(tensor_queries.itemsize)
    T.nbytes = property(tensor_queries.nbytes)
    T.layout = property(tensor_queries.tensor_layout)
    T.is_sparse = property(sparse_construction.is_sparse)  # SparseTensor overrides both
    # real / imag: properties on a PyTorch tensor (torch.real / torch.imag are functions).
    T.real = property(complex_ops.real, complex_ops.set_real)  # x.real = v writes in place
    T.imag = property(complex_ops.imag, complex_ops.set_imag)
    # flags of backends chainrule lacks (is_meta, is_quantized, ...), output_nr, volatile
    for name in tensor_flags.ABSENT_FLAGS:
        setattr(T, name, property(tensor_flags.absent))
    T.output_nr = property(tensor_flags.output_nr)
    T.volatile = property(tensor_flags.get_volatile, tensor_flags.set_volatile)


def bind_operators(T: Any) -> None:
    """Python's operators: each is the op of the same meaning (``a + b`` is ``add``)."""
    T.__getitem__ = indexing.getitem
    T.__setitem__ = indexing.setitem
    T.__add__ = T.__radd__ = T.add
    T.__sub__, T.__rsub__ = T.sub, binary.reversed_sub  # PyTorch's operator nodes
    T.__mul__ = T.__rmul__ = T.mul
    T.__truediv__, T.__rtruediv__ = T.div, binary.reversed_div
    T.__floordiv__, T.__rfloordiv__ = T.floor_divide, _rev(T.floor_divide)
    T.__mod__, T.__rmod__ = T.remainder, _rev(T.remainder)
    T.__pow__, T.__rpow__ = T.pow, _rev(T.pow)
    # the operator never takes out=: bound past matmul's out= wrapper (one call layer less)
    T.__matmul__, T.__rmatmul__ = _matmul, _rev(_matmul)
    T.__neg__ = T.neg
    T.__pos__ = lambda self: self
    T.__abs__ = T.abs
    T.__eq__, T.__ne__ = _equality_operator(T.eq), _equality_operator(T.ne)
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = T.lt, T.le, T.gt, T.ge
    T.__and__ = T.__rand__ = T.bitwise_and
    T.__or__ = T.__ror__ = T.bitwise_or
    T.__xor__ = T.__rxor__ = T.bitwise_xor
    T.__invert__ = T.bitwise_not
    T.__lshift__, T.__rlshift__ = T.bitwise_left_shift, _rev(T.bitwise_left_shift)
    T.__rshift__, T.__rrshift__ = T.bitwise_right_shift, _rev(T.bitwise_right_shift)
    T.__iadd__, T.__isub__ = T.add_, T.sub_
    T.__imul__, T.__itruediv__ = T.mul_, T.div_
    T.__iand__, T.__ior__, T.__ixor__ = T.bitwise_and_, T.bitwise_or_, T.bitwise_xor_
    T.__ilshift__, T.__irshift__ = T.bitwise_left_shift_, T.bitwise_right_shift_
    T.__ifloordiv__, T.__imod__ = T.floor_divide_, T.remainder_
    T.__ipow__ = T.pow_  # without it ``x **= 2`` would rebind x to a new tensor


def _equality_operator(method: Callable[..., Any]) -> Callable[..., Any]:
    """``==`` / ``!=`` as PyTorch's: elementwise against a tensor, a number or a NumPy
    array; anything else (``None``, a string, a list, ``...``) is not compared elementwise
    but left to Python, so ``t == None`` is False and ``t != None`` True (user code tests
    ``if mask == None:``), where converting it would raise."""

    def operator(self: Any, other: Any) -> Tensor:  # (or NotImplemented, as any __eq__)
        if isinstance(other, (Tensor, numbers.Number, np.ndarray, np.generic)):
            return method(self, other)
        return NotImplemented

    operator.__name__ = f"__{method.__name__}__"
    return operator
