"""The contractions beside matmul: ``tensordot``, ``trace`` and ``kron``.

``tensordot`` lays both operands out as matrices and takes one GEMM (``linalg._matmul``),
as PyTorch and NumPy do; ``trace`` is one ``TraceBackward0`` node (``matrix_trace.py``);
``kron`` is an outer product between PyTorch's ``_unsafe_view`` reshapes
(:class:`UnsafeView`). Their gradients are those of the ops they are built from. Split
from ``linalg.py`` (the matmul family), which re-exports every name here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.lower_precision import autocast_float32, without_autocast
from ..autograd.tensor import Tensor
from ._util import DtypeError, ShapeError, as_tensor, dim_range_error
from .binding import tensor_method
from .linalg import _matmul
from .linalg_out import with_out, write_linalg_out
from .matrix_trace import Trace
from .number_arguments import tensordot_dim_lists
from .shape import Permute, reshape
from .views import Reshape

__all__ = ["UnsafeView", "kron", "tensordot", "trace"]


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Any = None) -> Tensor:
    """Sum over the last ``dims`` dims of ``a`` and the first ``dims`` of ``b``, or over the
    dims listed in ``dims = (dims_a, dims_b)``; one GEMM of the two operands laid out as
    matrices. ``out`` may be given by position, as PyTorch's (``torch.functional``'s
    Python function takes it so)."""
    result = _tensordot(a, b, dims)
    return result if out is None else write_linalg_out("tensordot", result, out)


def _tensordot(a: Tensor, b: Tensor, dims: Any) -> Tensor:
    """:func:`tensordot` without ``out``."""
    a, b = as_tensor(a), as_tensor(b)
    if a.dtype != b.dtype:  # PyTorch does not promote here
        raise DtypeError(
            f"both inputs should have same dtype\n(tensordot got {a.dtype} and {b.dtype})"
        )
    if isinstance(dims, (int,)) or isinstance(dims, Tensor) and dims.ndim == 0:
        k = int(dims)
        if k < 0:  # PyTorch's words
            raise ShapeError(f"tensordot expects dims >= 0, but got dims={k}")
        if k > min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={k}")
        da, db = list(range(a.ndim - k, a.ndim)), list(range(k))
    elif not isinstance(dims, Tensor):  # a pair of dim lists, read as PyTorch's parser
        da, db = map(list, tensordot_dim_lists(dims))
    else:  # a 2-d tensor of dims
        try:
            da, db = ([int(i) for i in d] for d in dims)
        except (TypeError, ValueError):
            raise TypeError(
                f"tensordot: dims must be an int or a pair of dim lists, got {dims!r}"
            ) from None
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    given, da, db = list(zip(da, db)), [], []
    for gi, gj in given:  # pair by pair, as PyTorch: a size mismatch before a later bad dim
        i, j = _wrapped_dim(gi, a.ndim), _wrapped_dim(gj, b.ndim)
        da, db = [*da, i], [*db, j]
        # a size-1 dim contracted with a longer one: PyTorch sums the longer one first (a
        # broadcast, as a[..., 0, ...] * b.sum(j)), it does not refuse
        if a.shape[i] == 1 and b.shape[j] != 1:
            b = b.sum(j, keepdim=True)
        elif b.shape[j] == 1 and a.shape[i] != 1:
            a = a.sum(i, keepdim=True)
        if a.shape[i] != b.shape[j]:
            raise ShapeError(
                f"contracted dimensions need to match, but first has size "
                f"{a.shape[i]} in dim {gi} and second has size {b.shape[j]} in dim {gj}"
            )
    for dims in (da, db):  # PyTorch's dim bitsets, built after the size checks
        for d in dims:
            if dims.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    # One GEMM, as PyTorch and NumPy: a -> (free_a, contracted) as (M, K), b -> (contracted,
    # free_b) as (K, N). A permutation that is not a view makes its reshape copy, and the
    # matmul then keeps that copy (not a view of a or b), as PyTorch's does.
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    m = math.prod(a.shape[i] for i in fa)
    k = math.prod(a.shape[i] for i in da)
    n = math.prod(b.shape[j] for j in fb)
    am = _as_shape(_permuted(a, fa + da), (m, k))
    bm = _as_shape(_permuted(b, db + fb), (k, n))
    out_shape = tuple(a.shape[i] for i in fa) + tuple(b.shape[j] for j in fb)
    if m == 1 and n == 1:  # PyTorch takes a dot product here, which CPU autocast leaves alone
        return _as_shape(without_autocast(_matmul, am, bm), out_shape)
    return _as_shape(_matmul(am, bm), out_shape)


def _wrapped_dim(d: int, ndim: int) -> int:
    """A ``tensordot`` dim wrapped (``dims=([-1], [0])``); PyTorch's IndexError out of range."""
    n = max(ndim, 1)
    if not -n <= d < n:
        raise dim_range_error(d, n)
    return d % n


def _permuted(x: Tensor, axes: list) -> Tensor:
    return x if axes == sorted(axes) else Permute.apply(x, tuple(axes))


def _as_shape(x: Tensor, shape: tuple) -> Tensor:
    """``x`` reshaped, without a graph node when it already has that shape."""
    return x if tuple(x.shape) == shape else reshape(x, shape)


@tensor_method
def trace(input: Tensor) -> Tensor:  # noqa: A002
    """Sum of the main diagonal of a 2-d tensor (one node, ``TraceBackward0``; see
    ``matrix_trace.py``). On CPU autocast's float32 list: inside the block a bfloat16 input
    gives float32, as in PyTorch."""
    (x,) = autocast_float32(as_tensor(input))
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a 2-d tensor (matrix), got shape {tuple(x.shape)}")
    if x._data.dtype == np.bool_:
        raise NotImplementedError("trace: \"trace\" not implemented for 'Bool' (as PyTorch)")
    return Trace.apply(x)


class UnsafeView(Reshape):
    """PyTorch's ``_unsafe_view`` (kron's reshapes): the reshape's math under PyTorch's
    ``UnsafeViewBackward0`` (as ``linear_graph.UnsafeView``, which imports this module)."""

    node_name = "UnsafeViewBackward0"
    saved_fields = {"self_sym_sizes": lambda n: tuple(n.in_shape)}


@tensor_method
@with_out("kron", "castable")
def kron(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Kronecker product: out[i*B + k] = a[i] * b[k] in every dim (composed from an outer
    product and a reshape; the lower-rank operand gains leading dims of size 1)."""
    a, b = as_tensor(input), as_tensor(other)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    ia = tuple(s for d in sa for s in (d, 1))
    ib = tuple(s for d in sb for s in (1, d))
    # PyTorch's _unsafe_view reshapes (UnsafeViewBackward0) around the product
    prod = UnsafeView.apply(a, ia) * UnsafeView.apply(b, ib)
    return UnsafeView.apply(prod, tuple(x * y for x, y in zip(sa, sb)))
