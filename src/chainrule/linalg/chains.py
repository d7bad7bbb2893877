"""``linalg.multi_dot`` and PyTorch's deprecated top-level ``chain_matmul``: a chain of
matrix products in the cheapest order.

    multi_dot([A1, ..., An]) = A1 @ A2 @ ... @ An

The order of the products is the classic dynamic programme over scalar multiplications
(what PyTorch does); each product is the differentiable ``matmul``, so every derivative
comes from it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ..autograd.tensor import Tensor
from ..ops._util import as_tensor
from ..ops.keywords import write_out
from ..ops.linalg import matmul
from ..ops.linalg_out import with_out

__all__ = ["chain_matmul", "chain_product", "multi_dot"]


def _order(dims: list[int]) -> list[list[int]]:
    """``split[i][j]``: where the optimal parenthesisation of matrices ``i..j`` splits."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = -1
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] < 0 or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def chain_product(mats: Sequence[Tensor], op: str) -> Tensor:
    """The product of the 2-d ``mats`` (sizes already checked), in the cheapest order."""
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(
                f"{op}(): tensors {i} and {i + 1} with shapes {list(mats[i].shape)} and "
                f"{list(mats[i + 1].shape)} cannot be multiplied"
            )
    if len(mats) == 1:
        return mats[0].clone()
    split = _order([mats[0].shape[0]] + [m.shape[1] for m in mats])

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        k = split[i][j]
        return matmul(product(i, k), product(k + 1, j))

    return product(0, len(mats) - 1)


@with_out("linalg.multi_dot")
def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """``tensors[0] @ ... @ tensors[-1]`` for two or more tensors: all 2-d, except that the
    first may be 1-d (a row vector) and the last 1-d (a column vector); those dims are
    dropped from the result, as in PyTorch."""
    op = "linalg.multi_dot"
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if len(tensors) < 2:
        raise RuntimeError(f"{op}(): expected at least 2 tensors but got {len(tensors)}")
    mats = [as_tensor(t) for t in tensors]
    first_vec, last_vec = mats[0].ndim == 1, mats[-1].ndim == 1
    for i, m in enumerate(mats):
        allowed = (1, 2) if i in (0, len(mats) - 1) else (2,)
        if m.ndim not in allowed:
            where_ = "first" if i == 0 else "last" if i == len(mats) - 1 else f"tensors[{i}]"
            raise RuntimeError(
                f"{op}(): {where_} tensor must be "
                f"{'1D or 2D' if len(allowed) == 2 else '2D'} but got {m.ndim}D"
            )
    dtypes = {m.dtype for m in mats}
    if len(dtypes) != 1:
        raise RuntimeError(
            f"{op}(): all tensors must have the same dtype, got {sorted(map(str, dtypes))}"
        )
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(-1)
    out = chain_product(mats, op)
    # PyTorch views the product as the result's shape (one ViewBackward0, the vectors' dims
    # dropped)
    shape = tuple(out.shape[:1] if not first_vec else ()) + tuple(
        out.shape[1:] if not last_vec else ()
    )
    return out.reshape(shape)


def chain_matmul(*matrices: Tensor, out: Any = None) -> Tensor:
    """The product of the 2-d ``matrices`` in the cheapest order (``linalg.multi_dot`` of
    them; deprecated in PyTorch, with a ``UserWarning``, as here). One matrix: a copy."""
    op = "chain_matmul"
    warnings.warn(
        "chain_matmul is deprecated and will be removed in a future release. Use "
        "linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
        "multiple parameters.",
        UserWarning,
        stacklevel=2,
    )
    if not matrices:
        raise RuntimeError(f"{op}(): Expected one or more matrices")
    mats = [as_tensor(m) for m in matrices]
    for i, m in enumerate(mats):
        if m.ndim != 2:
            raise RuntimeError(f"{op}(): matrices[{i}] has dimension {m.ndim}, expected 2")
    if len({m.dtype for m in mats}) != 1:
        raise RuntimeError(
            f"{op}(): all tensors must have the same dtype, got {[str(m.dtype) for m in mats]}"
        )
    result = chain_product(mats, op)
    if len(mats) > 1:  # PyTorch's (linalg.multi_dot's) view of the product
        result = result.reshape(tuple(result.shape))
    return result if out is None else write_out(op, result, out)
