"""Making CSC/BSR/BSC (and CSR) matrices from their index tensors: PyTorch's
``sparse_compressed_tensor``, ``sparse_csc_tensor``, ``sparse_bsr_tensor`` and
``sparse_bsc_tensor``, with its invariants always checked (its messages, in its order)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _user_warnings
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..creation import tensor
from . import sparse_functions as fn
from .sparse_compressed import _TORCH_DTYPE, INFO, _build
from .sparse_csr import _BETA_WARNING, SparseCsrTensor
from .sparse_invariants import warn_implicit_checks
from .sparse_tensor import SPARSE_TYPES
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_csc
from .views import reshape

__all__ = [
    "sparse_bsc_tensor",
    "sparse_bsr_tensor",
    "sparse_compressed_tensor",
    "sparse_csc_tensor",
]


# --------------------------------------------------------------------- construction
def _index_array(op: str, value: Any) -> Any:
    if type(value) in SPARSE_TYPES:
        raise TypeError(f"{op}: the index tensors must be dense tensors, got a sparse tensor")
    arr = value._data if isinstance(value, Tensor) else np.asarray(value)
    if arr.size == 0 and arr.dtype.kind == "f" and not isinstance(value, Tensor):
        return arr.astype(np.int64)  # an empty list
    return arr


def _check_invariants(
    layout: Any, compressed: Any, plain: Any, vshape: tuple, shape: tuple
) -> None:
    """PyTorch's invariants of a compressed matrix, in its order, with its messages."""
    _, cname, pname, row_major, blocked = INFO[layout]
    block = tuple(vshape[1:3]) if blocked else (1, 1)
    for d in (0, 1):
        if shape[d] % block[d]:
            raise RuntimeError(
                f"tensor shape[{d}] (={shape[d]}) must be divisible with blocksize[{d}] "
                f"(={block[d]}) as defined by values shape"
            )
    n_outer = shape[0] // block[0] if row_major else shape[1] // block[1]
    n_plain = shape[1] // block[1] if row_major else shape[0] // block[0]
    what = ("row" if row_major else "column") + (" blocks" if blocked else "s")
    if compressed.shape[0] != n_outer + 1:
        raise RuntimeError(
            f"{cname}.shape[-1] must be equal to the number of {what} + 1 (={n_outer + 1}), "
            f"but got {compressed.shape[0]}"
        )
    nnz = vshape[0]
    if plain.shape[0] != nnz:
        raise RuntimeError(
            f"{pname}.shape[-1] must be equal to nnz (={nnz}) as defined by values.shape[0], "
            f"but got {plain.shape[0]}"
        )
    xp = get_array_module(compressed)
    plain_dim, outer_dim = ("ncols", "nrows") if row_major else ("nrows", "ncols")
    if int(compressed[0]) != 0:
        raise RuntimeError(f"`{cname}[..., 0] == 0` is not satisfied.")
    if int(compressed[-1]) != nnz:
        raise RuntimeError(f"`{cname}[..., -1] == nnz` is not satisfied.")
    diff = xp.diff(compressed)
    if not bool(xp.all((diff >= 0) & (diff <= n_plain))):
        raise RuntimeError(
            f"`0 <= {cname}[..., 1:] - {cname}[..., :-1] <= {plain_dim}` is not satisfied."
        )
    if nnz and not bool(xp.all((plain >= 0) & (plain < n_plain))):
        raise RuntimeError(f"`0 <= {pname} < {plain_dim}` is not satisfied.")
    outer = xp.repeat(xp.arange(n_outer, dtype=np.int64), diff.astype(np.int64))
    same = outer[1:] == outer[:-1]
    if not bool(xp.all(~same | (plain[1:] > plain[:-1]))):
        raise RuntimeError(
            f"`{pname}[..., {cname}[..., i - 1]:{cname}[..., i]] for all i = 1, ..., "
            f"{outer_dim} are sorted and distinct along the last dimension values` is not "
            "satisfied."
        )


def sparse_compressed_tensor(
    compressed_indices: Any,
    plain_indices: Any,
    values: Any,
    size: Any = None,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants: bool | None = None,
) -> SparseCsrTensor:
    """A 2-d sparse matrix of a compressed ``layout`` (``torch.sparse_compressed_tensor``):
    ``sparse_csr``/``sparse_bsr`` compress rows (of blocks), ``sparse_csc``/``sparse_bsc``
    columns; outer index ``i``'s entries are ``compressed_indices[i]:compressed_indices[i + 1]``
    at the other coordinates ``plain_indices[...]``.

    Args:
        compressed_indices, plain_indices: int32 or int64 tensors of one dtype.
        values: ``nnz`` numbers (CSR/CSC) or ``(nnz, r, c)`` blocks (BSR/BSC). A Tensor is
            kept in the graph: gradients of ops on the matrix reach it.
        size: the matrix's size; by default inferred from the indices (and blocksize).
        dtype, device: convert the values as ``Tensor.to``.
        layout: one of the four compressed layouts (required).
        check_invariants: the checks always run; None warns once, as PyTorch
            (:mod:`.sparse_invariants`).

    Raises:
        RuntimeError: a broken invariant or a non-compressed layout (PyTorch's messages).
        NotImplementedError: batched or hybrid tensors, ``requires_grad``, ``pin_memory``.
    """
    warn_implicit_checks(check_invariants)
    if layout not in INFO:
        got = (
            "none"
            if layout is None
            else {"sparse_coo": "Sparse", "strided": "Strided"}.get(
                getattr(layout, "_name", ""), repr(layout)
            )
        )
        raise RuntimeError(
            f"sparse_compressed_tensor expected sparse compressed tensor layout but got {got}"
        )
    op = f"sparse_{layout._name[7:]}_tensor"
    if requires_grad:
        raise NotImplementedError(f"{op}(requires_grad=True): {SparseCsrTensor._leaf_message}")
    if pin_memory:
        raise NotImplementedError(f"{op}: pin_memory=True is not supported")
    _, cname, pname, row_major, blocked = INFO[layout]
    compressed, plain = _index_array(op, compressed_indices), _index_array(op, plain_indices)
    for arr in (compressed, plain):
        if arr.dtype not in (np.int32, np.int64) and compressed.dtype == plain.dtype:
            raise RuntimeError(
                f"{cname} and {pname} dtype must be Int or Long, but got "
                f"{_TORCH_DTYPE.get(str(arr.dtype), arr.dtype)}"
            )
    if compressed.dtype != plain.dtype:
        a, b = (_TORCH_DTYPE.get(str(t.dtype), t.dtype) for t in (compressed, plain))
        raise RuntimeError(
            f"{cname} and {pname} must have the same dtype, bot got {a} and {b}, respectively"
        )
    if compressed.ndim != 1 or plain.ndim != 1:
        raise NotImplementedError(
            f"{op}: batched tensors ({cname} of shape {tuple(compressed.shape)}) are not "
            "supported; only 1-d index tensors"
        )
    vals = values if isinstance(values, Tensor) else tensor(values)
    want = 3 if blocked else 1
    if blocked and vals.ndim < 3:
        raise RuntimeError(
            "values must have dimensionality > sum of batch and block dimensionalities (=0 + "
            f"2) but got {vals.ndim}"
        )
    if vals.ndim != want:
        raise NotImplementedError(
            f"{op}: values of shape {tuple(vals.shape)}; only {want}-d values (no hybrid or "
            "batched tensors) are supported"
        )
    block = tuple(int(b) for b in vals.shape[1:]) if blocked else (1, 1)
    if size is None:
        n_outer = compressed.shape[0] - 1
        n_plain = int(plain.max()) + 1 if plain.size else 0
        shape = (n_outer, n_plain) if row_major else (n_plain, n_outer)
        shape = (shape[0] * block[0], shape[1] * block[1])
    else:
        shape = tuple(int(s) for s in size)
        if len(shape) != 2:
            raise RuntimeError(
                "tensor dimensionality must be sum of batch, base, and dense dimensionalities "
                f"(=0 + 2 + 0) but got {len(shape)}"
            )
    _check_invariants(layout, compressed, plain, tuple(vals.shape), shape)
    _user_warnings.warn_once("sparse_csr_beta", _BETA_WARNING)
    if dtype is not None or device is not None:
        vals = vals.to(device=device, dtype=dtype)
    flat = reshape(vals, (-1,)) if blocked else vals
    if vals.requires_grad and is_grad_enabled():  # PyTorch's node (the grad_fn's name)
        flat = fn.CompressedValuesAlias.apply(flat, None)
    xp = get_array_module(vals._data)
    compressed, plain = (xp.asarray(a) for a in (compressed, plain))
    return _build(layout, compressed, plain, flat, shape, block)


def _make(layout: Any, compressed: Any, plain: Any, values: Any, size: Any, kw: dict) -> Any:
    """A layout's own constructor (which warned for its caller first): the general one."""
    return sparse_compressed_tensor(compressed, plain, values, size, layout=layout, **kw)


def sparse_csc_tensor(
    ccol_indices: Any,
    row_indices: Any,
    values: Any,
    size: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants: bool | None = None,
) -> SparseCsrTensor:
    """``torch.sparse_csc_tensor``: a 2-d sparse CSC matrix (see
    :func:`sparse_compressed_tensor`: the arguments, the checks, what is not supported)."""
    warn_implicit_checks(check_invariants)
    kw = dict(dtype=dtype, device=device, pin_memory=pin_memory, requires_grad=requires_grad,
              check_invariants=check_invariants)  # fmt: skip
    return _make(sparse_csc, ccol_indices, row_indices, values, size, kw)


def sparse_bsr_tensor(
    crow_indices: Any,
    col_indices: Any,
    values: Any,
    size: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants: bool | None = None,
) -> SparseCsrTensor:
    """``torch.sparse_bsr_tensor``: a 2-d sparse BSR matrix (see
    :func:`sparse_compressed_tensor`: the arguments, the checks, what is not supported)."""
    warn_implicit_checks(check_invariants)
    kw = dict(dtype=dtype, device=device, pin_memory=pin_memory, requires_grad=requires_grad,
              check_invariants=check_invariants)  # fmt: skip
    return _make(sparse_bsr, crow_indices, col_indices, values, size, kw)


def sparse_bsc_tensor(
    ccol_indices: Any,
    row_indices: Any,
    values: Any,
    size: Any = None,
    *,
    dtype: Any = None,
    device: Any = None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants: bool | None = None,
) -> SparseCsrTensor:
    """``torch.sparse_bsc_tensor``: a 2-d sparse BSC matrix (see
    :func:`sparse_compressed_tensor`: the arguments, the checks, what is not supported)."""
    warn_implicit_checks(check_invariants)
    kw = dict(dtype=dtype, device=device, pin_memory=pin_memory, requires_grad=requires_grad,
              check_invariants=check_invariants)  # fmt: skip
    return _make(sparse_bsc, ccol_indices, row_indices, values, size, kw)
