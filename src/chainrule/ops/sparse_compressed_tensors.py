"""Making compressed sparse tensors from their index tensors: PyTorch's
``sparse_compressed_tensor``, ``sparse_csr_tensor``, ``sparse_csc_tensor``,
``sparse_bsr_tensor`` and ``sparse_bsc_tensor``, batched (index tensors with leading batch
dims) and hybrid (values with trailing dense dims) ones included, with its invariants always
checked (its messages, in its order).

The four layout constructors share two signatures (rows compressed: ``crow_indices,
col_indices``; columns: ``ccol_indices, row_indices``), each made once by a factory, and all
read their arguments in :func:`sparse_compressed_tensor`."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _user_warnings
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..creation import tensor
from ..meta.array import MetaArray
from . import sparse_functions as fn
from .sparse_autograd import refuse_vmap
from .sparse_compressed import _TORCH_DTYPE, INFO, _build
from .sparse_csr import _BETA_WARNING, SparseCsrTensor
from .sparse_invariants import warn_implicit_checks
from .sparse_tensor import SPARSE_TYPES
from .tensor_queries import sparse_bsc, sparse_bsr, sparse_csc, sparse_csr
from .views import reshape

__all__ = [
    "sparse_bsc_tensor",
    "sparse_bsr_tensor",
    "sparse_compressed_tensor",
    "sparse_csc_tensor",
    "sparse_csr_tensor",
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
    """PyTorch's invariants of a (batched) compressed tensor, in its order, with its
    messages; ``shape`` is the sparse size (batch dims and the matrix's two)."""
    _, cname, pname, row_major, blocked = INFO[layout]
    nb = compressed.ndim - 1
    block = tuple(vshape[nb + 1 : nb + 3]) if blocked else (1, 1)
    rows, cols = shape[nb:]
    for d, n in enumerate((rows, cols)):
        if n % block[d]:
            raise RuntimeError(
                f"tensor shape[{nb + d}] (={n}) must be divisible with blocksize[{d}] "
                f"(={block[d]}) as defined by values shape"
            )
    n_outer = rows // block[0] if row_major else cols // block[1]
    n_plain = cols // block[1] if row_major else rows // block[0]
    what = ("row" if row_major else "column") + (" blocks" if blocked else "s")
    if compressed.shape[-1] != n_outer + 1:
        raise RuntimeError(
            f"{cname}.shape[-1] must be equal to the number of {what} + 1 (={n_outer + 1}), "
            f"but got {compressed.shape[-1]}"
        )
    nnz = vshape[nb]
    if plain.shape[-1] != nnz:
        raise RuntimeError(
            f"{pname}.shape[-1] must be equal to nnz (={nnz}) as defined by values.shape"
            f"[{nb}], but got {plain.shape[-1]}"
        )
    xp = get_array_module(compressed)
    compressed = compressed.reshape(-1, n_outer + 1)
    plain = plain.reshape(compressed.shape[0], nnz)  # (not -1: nnz may be 0)
    plain_dim, outer_dim = ("ncols", "nrows") if row_major else ("nrows", "ncols")
    if compressed.shape[0] == 0 or MetaArray in (type(compressed), type(plain)):
        return  # meta: the sizes are all PyTorch's meta kernel checks
    if bool(xp.any(compressed[:, 0] != 0)):
        raise RuntimeError(f"`{cname}[..., 0] == 0` is not satisfied.")
    if bool(xp.any(compressed[:, -1] != nnz)):
        raise RuntimeError(f"`{cname}[..., -1] == nnz` is not satisfied.")
    diff = xp.diff(compressed, axis=1)
    if not bool(xp.all((diff >= 0) & (diff <= n_plain))):
        raise RuntimeError(
            f"`0 <= {cname}[..., 1:] - {cname}[..., :-1] <= {plain_dim}` is not satisfied."
        )
    if nnz and not bool(xp.all((plain >= 0) & (plain < n_plain))):
        raise RuntimeError(f"`0 <= {pname} < {plain_dim}` is not satisfied.")
    outer = xp.repeat(xp.arange(diff.size, dtype=np.int64), diff.reshape(-1).astype(np.int64))
    flat = plain.reshape(-1)
    if not bool(xp.all((outer[1:] != outer[:-1]) | (flat[1:] > flat[:-1]))):
        raise RuntimeError(
            f"`{pname}[..., {cname}[..., i - 1]:{cname}[..., i]] for all i = 1, ..., "
            f"{outer_dim} are sorted and distinct along the last dimension values` is not "
            "satisfied."
        )


def _check_dims(layout: Any, compressed: Any, plain: Any, vals: Tensor, size: Any) -> tuple:
    """PyTorch's checks of the dimensionalities; the tensor's full size (``size``, or
    inferred from the indices, the blocksize and the values) and the blocksize."""
    _, cname, pname, row_major, blocked = INFO[layout]
    if compressed.ndim < 1:
        raise RuntimeError(f"{cname} must have dimensionality >= 1 but got {compressed.ndim}")
    if compressed.ndim != plain.ndim:
        raise RuntimeError(
            f"{cname} and {pname} dimensionalities must be equal but got {compressed.ndim} and "
            f"{plain.ndim}, respectively"
        )
    nb, nblock = compressed.ndim - 1, 2 if blocked else 0
    if vals.ndim <= nb + nblock:
        raise RuntimeError(
            f"values must have dimensionality > sum of batch and block dimensionalities (={nb} "
            f"+ {nblock}) but got {vals.ndim}"
        )
    block = tuple(int(b) for b in vals.shape[nb + 1 : nb + 3]) if blocked else (1, 1)
    dense = tuple(vals.shape[nb + 1 + nblock :])
    if size is None:
        n_outer = compressed.shape[-1] - 1
        n_plain = int(plain.max()) + 1 if plain.size else 0  # (batch shapes checked below)
        shape = (n_outer, n_plain) if row_major else (n_plain, n_outer)
        shape = tuple(compressed.shape[:-1]) + (shape[0] * block[0], shape[1] * block[1])
        size = shape + dense
    shape = tuple(int(s) for s in size)
    if len(shape) != nb + 2 + len(dense):
        raise RuntimeError(
            "tensor dimensionality must be sum of batch, base, and dense dimensionalities "
            f"(={nb} + 2 + {len(dense)}) but got {len(shape)}"
        )
    batches = [list(t.shape[:nb]) for t in (compressed, plain, vals)]
    if any(b != list(shape[:nb]) for b in batches):
        raise RuntimeError(
            f"all batch dimensions of {cname} (={batches[0]}), {pname} (={batches[1]}), and "
            f"values (={batches[2]}) must be equal to tensor batch dimensions "
            f"(={list(shape[:nb])})"
        )
    if shape[nb + 2 :] != dense:
        raise RuntimeError(
            f"dense dimensions of the size {list(shape[nb + 2 :])} and of the values "
            f"{list(dense)} differ (PyTorch does not check this; chainrule always does)"
        )
    return shape, block


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
    """A sparse tensor of a compressed ``layout`` (``torch.sparse_compressed_tensor``):
    ``sparse_csr``/``sparse_bsr`` compress rows (of blocks), ``sparse_csc``/``sparse_bsc``
    columns; outer index ``i``'s entries are ``compressed_indices[..., i]:[..., i + 1]`` at
    the other coordinates ``plain_indices[...]``.

    Args:
        compressed_indices, plain_indices: int32 or int64 tensors of one dtype, ``(*batch,
            n + 1)`` and ``(*batch, nnz)`` (a batched tensor: one matrix per batch).
        values: ``(*batch, nnz, *dense)`` numbers (CSR/CSC) or ``(*batch, nnz, r, c,
            *dense)`` blocks (BSR/BSC); trailing ``dense`` dims make a hybrid tensor. A
            Tensor is kept in the graph: gradients of ops on the tensor reach it.
        size: the tensor's size; by default inferred from the indices (and blocksize).
        dtype, device: convert the values as ``Tensor.to``.
        layout: one of the four compressed layouts (required).
        check_invariants: the checks always run; None warns once, as PyTorch
            (:mod:`.sparse_invariants`).

    Raises:
        RuntimeError: a broken invariant or a non-compressed layout (PyTorch's messages).
        NotImplementedError: ``requires_grad``, ``pin_memory``.
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
    _, cname, pname, _, blocked = INFO[layout]
    kind = layout._name[7:].upper()
    refuse_vmap(kind, compressed_indices, plain_indices, values)  # (torch's; session 47)
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
    vals = values if isinstance(values, Tensor) else tensor(values)
    for name, arr in ((cname, compressed), (pname, plain)):  # meta beside host (PyTorch)
        if (type(vals._data) is MetaArray) != (type(arr) is MetaArray):
            raise RuntimeError(f"Values and {name} need to be on the same device.")
    shape, block = _check_dims(layout, compressed, plain, vals, size)
    nb = compressed.ndim - 1
    _check_invariants(layout, compressed, plain, tuple(vals.shape), shape[: nb + 2])
    nnz = plain.shape[-1]
    if check_invariants and type(plain) is MetaArray and nnz:  # PyTorch's meta check
        kind = layout._name[7:].upper()
        raise RuntimeError(f"expected nnz to be 0 for sparse {kind} meta tensor but got {nnz}")
    _user_warnings.warn_once("sparse_csr_beta", _BETA_WARNING)
    if dtype is not None or device is not None:
        vals = vals.to(device=device, dtype=dtype)
    flat = vals
    if blocked or nb:
        flat = reshape(vals, (-1,) + tuple(shape[nb + 2 :]))
    if vals.requires_grad and is_grad_enabled():  # PyTorch's node (the grad_fn's name)
        flat = fn.CompressedValuesAlias.apply(flat, None)
    xp = get_array_module(vals._data)
    compressed, plain = (xp.asarray(a) for a in (compressed, plain))
    return _build(layout, compressed, plain, flat, shape[: nb + 2], block)


def _constructor(layout: Any, row_major: bool) -> Any:
    """``torch.sparse_<layout>_tensor``: PyTorch's signature (its index names), reading its
    arguments in :func:`sparse_compressed_tensor`."""
    name = f"sparse_{layout._name[7:]}_tensor"

    def rows(
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
        warn_implicit_checks(check_invariants)
        return sparse_compressed_tensor(
            crow_indices, col_indices, values, size, dtype=dtype, layout=layout, device=device,
            pin_memory=pin_memory, requires_grad=requires_grad, check_invariants=check_invariants,
        )  # fmt: skip

    def columns(
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
        warn_implicit_checks(check_invariants)
        return sparse_compressed_tensor(
            ccol_indices, row_indices, values, size, dtype=dtype, layout=layout, device=device,
            pin_memory=pin_memory, requires_grad=requires_grad, check_invariants=check_invariants,
        )  # fmt: skip

    out = rows if row_major else columns
    out.__name__ = out.__qualname__ = name
    kind = INFO[layout][0][6:].upper()
    out.__doc__ = (
        f"``torch.{name}``: a sparse {kind} tensor, batched and hybrid ones included (see "
        ":func:`sparse_compressed_tensor`: the arguments, the checks, what is not supported)."
    )
    return out


sparse_csr_tensor = _constructor(sparse_csr, True)
sparse_csc_tensor = _constructor(sparse_csc, False)
sparse_bsr_tensor = _constructor(sparse_bsr, True)
sparse_bsc_tensor = _constructor(sparse_bsc, False)
