"""Small helpers shared across ``chainrule.distributions``.

Parameter handling (``broadcast_all``), conversions between probabilities and logits, a
cached-attribute decorator used for lazily derived parameters, and the packing of
lower-triangular matrices into vectors and back. Public names follow
``torch.distributions.utils``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import update_wrapper
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

__all__ = [
    "broadcast_all",
    "logits_to_probs",
    "clamp_probs",
    "probs_to_logits",
    "lazy_property",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

#: The Euler-Mascheroni constant gamma = lim (H_n - log n), used by several entropies.
euler_constant = 0.57721566490153286060

# Python scalars accepted wherever a parameter may be a number instead of a tensor.
_Number = (int, float, bool)

# Shared empty shape, the default ``sample_shape``/``batch_shape`` (Sizes are immutable).
_EMPTY_SIZE = cr.Size()


def broadcast_all(*values: Any) -> tuple[cr.Tensor, ...]:
    """Turn every argument into a tensor and broadcast them to one common shape.

    Python numbers are converted with the dtype of the first tensor argument, so that a
    float64 parameter next to a literal keeps float64; with no tensor at all they get the
    default dtype. Anything else is rejected with ``ValueError``.
    """
    for v in values:
        if not isinstance(v, (cr.Tensor, *_Number)):
            raise ValueError(  # PyTorch's words, then what was given
                "Input arguments must all be instances of Number, torch.Tensor or objects "
                f"implementing __torch_function__.\nchainrule.distributions: got a "
                f"{type(v).__name__}; pass numbers or chainrule tensors"
            )
    first_tensor = next((v for v in values if isinstance(v, cr.Tensor)), None)
    dtype = cr.get_default_dtype() if first_tensor is None else first_tensor.dtype
    as_tensors = [v if isinstance(v, cr.Tensor) else cr.tensor(v, dtype=dtype) for v in values]
    return tuple(cr.broadcast_tensors(*as_tensors))


def _standard_normal(shape: Sequence[int], dtype: Any, device: Any = None) -> cr.Tensor:
    """N(0, 1) draws of ``shape`` from the default (seeded) generator; ``device`` is kept
    for signature compatibility and has a single possible value (the CPU)."""
    return cr.randn(tuple(shape), dtype=dtype)


def _sum_rightmost(value: cr.Tensor, dim: int) -> cr.Tensor:
    """Reduce the last ``dim`` dims of ``value`` by summation (``dim = 0``: unchanged)."""
    if dim == 0:
        return value
    kept = tuple(value.shape[: value.dim() - dim])
    return value.reshape(kept + (-1,)).sum(-1)


def logits_to_probs(logits: cr.Tensor, is_binary: bool = False) -> cr.Tensor:
    """Probabilities from logits.

    Binary case: logits are log-odds and the probability is their sigmoid. Otherwise the
    last dim holds unnormalised log-probabilities, normalised with a softmax.
    """
    return cr.sigmoid(logits) if is_binary else F.softmax(logits, dim=-1)


def clamp_probs(probs: cr.Tensor) -> cr.Tensor:
    """Probabilities pulled into ``[eps, 1 - eps]`` (``eps`` = machine epsilon of the dtype),
    so that ``log(p)`` and ``log(1 - p)`` stay finite."""
    tiny = cr.finfo(probs.dtype).eps
    return probs.clamp(min=tiny, max=1 - tiny)


def probs_to_logits(probs: cr.Tensor, is_binary: bool = False) -> cr.Tensor:
    """Logits from probabilities (after :func:`clamp_probs`, so 0 and 1 map to finite values).

    Binary case: the log-odds ``log p - log(1 - p)``. Otherwise ``log p`` per category, which
    is a valid set of (normalised) logits.
    """
    p = clamp_probs(probs)
    log_p = cr.log(p)
    return log_p - cr.log1p(-p) if is_binary else log_p


class lazy_property:
    """Descriptor for an attribute derived from others and computed at most once.

    The first read on an instance evaluates the wrapped method and stores the result in the
    instance ``__dict__`` under the same name, which then shadows this (non-data) descriptor.
    Evaluation always runs with grad enabled: a parameter first derived inside ``no_grad``
    must still be connected to the one it came from.
    """

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            # Read on the class: hand out an object that is also a ``property``, so it is
            # recognised as one, while ``Distribution`` can still tell it is lazy.
            return _lazy_property_and_property(self.wrapped)
        with cr.enable_grad():
            result = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, result)
        return result


class _lazy_property_and_property(lazy_property, property):
    """Class-level view of a :class:`lazy_property`: an instance of both classes."""

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        property.__init__(self, wrapped)


# ---------------------------------------------------------------------------------------
# Packing the lower triangle of a square matrix
# ---------------------------------------------------------------------------------------


def _tril_positions(n: int, diag: int) -> np.ndarray:
    """Flat (row-major) indices of the entries of an ``n x n`` matrix on or below diagonal
    ``diag`` (0: main diagonal, > 0 above it, < 0 below it), in row order."""
    rows, cols = np.indices((n, n))
    return np.flatnonzero((cols - rows <= diag).reshape(-1))


def _tril_count(n: int, diag: int) -> int:
    """How many entries of an ``n x n`` matrix lie on or below diagonal ``diag``.

    Row ``i`` holds ``min(max(i + diag + 1, 0), n)`` of them: none in the rows above
    ``i = -diag``, all ``n`` from ``i = n - diag - 1`` on, ``i + diag + 1`` in between.
    """
    first_partial = min(n, max(0, -diag))
    first_full = min(n, max(0, n - diag - 1))
    partial = max(0, first_full - first_partial)
    partial_sum = partial * (diag + 1) + partial * (first_partial + first_full - 1) // 2
    return partial_sum + (n - max(first_full, first_partial)) * n


def _tril_size_for(length: int, diag: int) -> int | None:
    """The matrix size ``n`` whose diagonal-``diag`` lower triangle has exactly ``length``
    entries (the largest such ``n``), or ``None`` when no size fits."""
    # The count never decreases with n: find the first n whose count exceeds ``length``.
    lo, hi = 0, length + abs(diag) + 2
    while lo < hi:
        mid = (lo + hi) // 2
        if _tril_count(mid, diag) > length:
            hi = mid
        else:
            lo = mid + 1
    n = lo - 1
    return n if n >= 0 and _tril_count(n, diag) == length else None


def tril_matrix_to_vec(mat: cr.Tensor, diag: int = 0) -> cr.Tensor:
    """The entries of each (batched) ``n x n`` matrix on or below diagonal ``diag``, read
    row by row into the last dim. Differentiable (a gather)."""
    n = mat.shape[-1]
    if not -n <= diag < n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    positions = cr.tensor(_tril_positions(n, diag), dtype=cr.int64)
    rows_flat = mat.reshape(tuple(mat.shape[:-2]) + (n * n,))
    return cr.index_select(rows_flat, -1, positions)


def vec_to_tril_matrix(vec: cr.Tensor, diag: int = 0) -> cr.Tensor:
    """Inverse of :func:`tril_matrix_to_vec`: scatter each (batched) vector into the lower
    triangle (on or below diagonal ``diag``) of an ``n x n`` matrix, zeros elsewhere.

    ``n`` is recovered from the vector length; a length that is no triangle size raises
    ``ValueError``. Built as a gather from the vector padded with a leading zero, so it is
    differentiable like any indexing op.
    """
    length = vec.shape[-1]
    n = _tril_size_for(length, diag)
    if n is None:
        raise ValueError(
            f"The size of last dimension is {length} which cannot be expressed as "
            "the lower triangular part of a square D x D matrix."
        )
    # Position p of the flattened matrix reads padded[source[p]]: 0 (the zero pad) outside
    # the triangle, k + 1 for the k-th triangle entry.
    source = np.zeros(n * n, dtype=np.int64)
    source[_tril_positions(n, diag)] = np.arange(1, length + 1)
    batch = tuple(vec.shape[:-1])
    padded = cr.cat([vec.new_zeros(batch + (1,)), vec], dim=-1)
    gathered = cr.index_select(padded, -1, cr.tensor(source, dtype=cr.int64))
    return gathered.reshape(batch + (n, n))
