"""More of ``torch.sparse``: ``sampled_addmm`` (CSR), ``spdiags``, ``spsolve`` (refused, as
PyTorch's CPU build refuses it) and ``as_sparse_gradcheck``.

All differentiable through the values (:mod:`.sparse_tensor`): ``sampled_addmm`` is one
:class:`~.sparse_functions.SampledDot` (``mat1 @ mat2`` read at the input's entries, never
formed), ``spdiags`` reads its values from ``diagonals`` by indexing.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import sparse_functions as fn
from .sparse_csr import SparseCsrTensor, make_csr
from .sparse_meta import refuse_sparse_meta
from .sparse_nodense import dispatcher_error, unsupported
from .sparse_pattern import SparsePattern
from .sparse_tensor import SPARSE_TYPES, SparseTensor, make_sparse
from .tensor_queries import sparse_coo, sparse_csr

__all__ = ["as_sparse_gradcheck", "sampled_addmm", "spdiags", "spsolve"]


def sampled_addmm(
    input: Any,  # noqa: A002 - PyTorch's parameter name
    mat1: Any,
    mat2: Any,
    *,
    beta: Any = 1.0,
    alpha: Any = 1.0,
    out: Any = None,
) -> SparseCsrTensor:
    """``beta * input + alpha * (mat1 @ mat2)`` at the entries of the sparse CSR ``input``
    (a CSR matrix of ``input``'s entries); only those entries of the product are computed."""
    if out is not None:
        raise unsupported("sampled_addmm(out=...)")
    if type(input) is SparseTensor:  # PyTorch's dispatcher (session 46)
        raise dispatcher_error("sparse_sampled_addmm", "SparseCPU")
    if type(input) is not SparseCsrTensor:
        raise NotImplementedError(
            f"sampled_addmm: expected input to have sparse_csr layout, got {input.layout} "
            "(PyTorch has no CPU kernel for the other layouts either)"
        )
    refuse_sparse_meta("sparse_sampled_addmm", input)
    if input._sp_values._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"sampled_addmm: Expected self to be a floating-point or complex tensor, but got "
            f"{input.dtype}"
        )
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if not isinstance(m, Tensor) or type(m) in SPARSE_TYPES or m.ndim != 2:
            raise RuntimeError(f"sampled_addmm: Expected {name} to be a dense 2-d matrix")
        if m.dtype != input.dtype:
            raise RuntimeError(
                f"sampled_addmm: Expected {name} to have the same dtype as input "
                f"({input.dtype}), got {m.dtype}"
            )
    (m, k), (k2, n) = mat1.shape, mat2.shape
    if k != k2:  # PyTorch's words (session 46)
        raise RuntimeError(
            f"sampled_addmm: mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})"
        )
    if (m, n) != tuple(input.shape):
        raise RuntimeError(
            f"sampled_addmm: Expected mat1 @ mat2 of size {list(input.shape)}, got mat1 of "
            f"size {[m, k]} and mat2 of size {[k2, n]}"
        )
    pattern = input._sp_pattern
    values = fn.SampledDot.apply(mat1, mat2.t(), pattern)
    if alpha != 1:
        values = values * alpha
    if beta != 0:
        values = values + (input._sp_values if beta == 1 else input._sp_values * beta)
    return make_csr(values, pattern, input._csr_index_dtype)


def spdiags(diagonals: Any, offsets: Any, shape: Any, layout: Any = None) -> Any:
    """A 2-d sparse matrix of ``shape`` with row ``i`` of ``diagonals`` on the diagonal
    ``offsets[i]`` (0 the main one, > 0 above it): element ``(j - k, j)`` of diagonal ``k``
    is ``diagonals[i, j]`` (SciPy's ``spdiags`` layout). COO (entries diagonal by diagonal,
    as PyTorch) or ``layout=sparse_csr``; differentiable in ``diagonals``."""
    if layout not in (None, sparse_coo, sparse_csr):
        raise NotImplementedError(f"spdiags: layout={layout!r}; sparse_coo or sparse_csr")
    if not isinstance(diagonals, Tensor) or type(diagonals) in SPARSE_TYPES:
        raise TypeError("spdiags: diagonals must be a dense Tensor")
    offs = offsets._data if isinstance(offsets, Tensor) else np.asarray(offsets)
    rows, cols = (int(s) for s in shape)
    if diagonals.ndim != 2:
        raise RuntimeError(
            f"spdiags: Diagonals must be vector or matrix, got {diagonals.ndim}-d"
            if diagonals.ndim > 2
            else "spdiags: diagonals must be a 2-d matrix (one row per offset)"
        )  # fmt: skip
    if offs.ndim != 1 or offs.shape[0] != diagonals.shape[0]:
        raise RuntimeError(
            f"spdiags: Number of diagonals ({diagonals.shape[0]}) does not match the number "
            f"of offsets ({offs.size})"
        )
    if offs.dtype.kind not in "iu":
        raise RuntimeError(f"spdiags: Offsets must be integral, got {offs.dtype}")
    offs = np.asarray(offs).astype(np.int64)
    if np.unique(offs).size != offs.size:
        raise RuntimeError("Offset tensor contains duplicate values")
    width = diagonals.shape[1]
    r_parts, c_parts, flat = [], [], []
    for i, k in enumerate(offs.tolist()):
        j = np.arange(max(0, k), min(cols, rows + k, width), dtype=np.int64)
        r_parts.append(j - k)
        c_parts.append(j)
        flat.append(i * width + j)
    indices = np.stack([np.concatenate(r_parts), np.concatenate(c_parts)]).astype(np.int64)
    take = np.concatenate(flat).astype(np.int64)
    xp = get_array_module(diagonals._data)
    values = diagonals.reshape(-1)[Tensor._make(xp.asarray(take), False, None, 0)]
    pattern = SparsePattern(xp.asarray(indices), (rows, cols), indices.shape[1] <= 1)
    coo = make_sparse(values, pattern)
    if layout is sparse_csr:
        coo = coo.coalesce()
        return make_csr(coo._sp_values, coo._sp_pattern)
    return coo


def spsolve(input: Any, other: Any, *, left: bool = True) -> Tensor:  # noqa: A002
    """PyTorch's CPU build has no ``spsolve`` kernel (it needs cuDSS); refused as there."""
    raise NotImplementedError(
        "sparse.spsolve: not available on CPU (PyTorch runs it with cuDSS on CUDA only); "
        "use cr.linalg.solve(A.to_dense(), b)"
    )


def as_sparse_gradcheck(gradcheck: Any) -> Any:
    """Wrap ``gradcheck`` (or ``gradgradcheck``) so that it takes sparse inputs and outputs:
    each sparse input is checked through its values (the function gets the sparse tensor
    rebuilt on them, as chainrule's gradients reach the values) and each sparse output is
    compared as its dense form."""

    @functools.wraps(gradcheck)
    def checker(func: Any, inputs: Any, **kwargs: Any) -> Any:
        single = isinstance(inputs, Tensor)
        args = (inputs,) if single else tuple(inputs)
        flat, rebuild = [], []
        for a in args:
            if type(a) in SPARSE_TYPES:
                values = a._sp_values.detach().requires_grad_(a.requires_grad)
                flat.append(values)
                rebuild.append(functools.partial(_rebuilt, a))
            else:
                flat.append(a)
                rebuild.append(None)

        def dense_func(*xs: Any) -> Any:
            full = [x if r is None else r(x) for x, r in zip(xs, rebuild)]
            result = func(*full)
            if isinstance(result, (tuple, list)):
                return type(result)(_densified(r) for r in result)
            return _densified(result)

        return gradcheck(dense_func, tuple(flat), **kwargs)

    return checker


def _rebuilt(like: Any, values: Tensor) -> Any:
    pattern = like._sp_pattern
    if type(like) is SparseCsrTensor:
        return make_csr(values, pattern, like._csr_index_dtype)
    return make_sparse(values, pattern)


def _densified(x: Any) -> Any:
    """A sparse output as a dense tensor whose gradient is not masked (PyTorch's checker
    calls ``to_dense(masked_grad=False)``: the numerical Jacobian sees every element)."""
    return x.to_dense(masked_grad=False) if type(x) in SPARSE_TYPES else x
