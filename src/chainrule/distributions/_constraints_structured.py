"""Constraints with structure beyond a pointwise test: matrix shapes and factorisations,
constraints assembled slice by slice (``cat`` / ``stack``), and the support of a
``MixtureSameFamily``. ``constraints`` re-exports all of them."""

from __future__ import annotations

from collections.abc import Sequence

import chainrule as cr

from .constraints import Constraint

__all__ = ["MixtureSameFamilyConstraint"]


def _require_constraints(items: Sequence[object]) -> list[Constraint]:
    """The items as a list, after making sure every one is a ``Constraint``."""
    seq = list(items)
    for item in seq:
        if not isinstance(item, Constraint):
            raise AssertionError(
                f"All elements of cseq must be Constraint instances, got {type(item).__name__}"
            )
    return seq


def _flatten_after(t: cr.Tensor, keep: int) -> cr.Tensor:
    """``t`` with every dim after the first ``keep`` merged into a single last dim."""
    return t.reshape(tuple(t.shape[:keep]) + (-1,))


class MixtureSameFamilyConstraint(Constraint):
    """Support of a ``MixtureSameFamily``.

    The component distribution carries one extra batch dim (the mixture index) immediately to
    the left of its event dims. A value is accepted when the component constraint holds for it
    against every component: we insert a size-1 component dim, let the base check broadcast
    over it, then reduce that dim (and anything to its right) with ``all``.
    """

    def __init__(self, base_constraint: Constraint) -> None:
        if not isinstance(base_constraint, Constraint):
            raise AssertionError(
                f"base_constraint must be a Constraint, got {type(base_constraint).__name__}"
            )
        self.base_constraint = base_constraint
        super().__init__()

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim

    def check(self, value: cr.Tensor) -> cr.Tensor:
        """Boolean tensor over the mixture's batch shape: is ``value`` a possible outcome."""
        n_event = self.event_dim
        if value.dim() < n_event:
            raise ValueError(f"Expected value.dim() >= {n_event} but got {value.dim()}")
        per_component = self.base_constraint.check(value.unsqueeze(-1 - n_event))
        return _flatten_after(per_component, value.dim() - n_event).all(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_constraint!r})"


# ---------------------------------------------------------------------------------------
# Matrix constraints (event_dim = 2: the trailing two dims form one matrix)
# ---------------------------------------------------------------------------------------


def _all_over_matrix(mask: cr.Tensor) -> cr.Tensor:
    """Reduce an elementwise mask over the trailing two (matrix) dims."""
    return _flatten_after(mask, mask.dim() - 2).all(-1)


def _tril_mask(value: cr.Tensor) -> cr.Tensor:
    """Per matrix: no nonzero entry above the main diagonal."""
    return _all_over_matrix(value == value.tril())


def _positive_diagonal(value: cr.Tensor) -> cr.Tensor:
    return value.diagonal(dim1=-2, dim2=-1).gt(0).all(-1)


class _LowerTriangular(Constraint):
    """Square matrices whose entries above the diagonal are all zero."""

    event_dim = 2

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return _tril_mask(value)


class _LowerCholesky(Constraint):
    """Valid Cholesky factors: lower-triangular with a strictly positive diagonal."""

    event_dim = 2

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return _tril_mask(value) & _positive_diagonal(value)


class _CorrCholesky(Constraint):
    """Cholesky factors of correlation matrices.

    ``L L^T`` has a unit diagonal exactly when every row of ``L`` has Euclidean norm 1; the
    rows are compared with a tolerance of ``10 * n * eps`` of the dtype (n = matrix size) to
    absorb the rounding of the norm itself.
    """

    event_dim = 2

    def check(self, value: cr.Tensor) -> cr.Tensor:
        n = value.size(-1)
        tolerance = 10 * n * cr.finfo(value.dtype).eps
        norms = cr.linalg.norm(value.detach(), dim=-1)
        unit_rows = ((norms - 1.0).abs() <= tolerance).all(dim=-1)
        return _tril_mask(value) & _positive_diagonal(value) & unit_rows


class _Square(Constraint):
    """Matrices with as many rows as columns (decided from the shape alone)."""

    event_dim = 2

    def check(self, value: cr.Tensor) -> cr.Tensor:
        rows, cols = value.shape[-2], value.shape[-1]
        return cr.full(size=tuple(value.shape[:-2]), fill_value=rows == cols, dtype=cr.bool)


class _Symmetric(_Square):
    """Square matrices equal to their transpose, up to an absolute tolerance of 1e-6.

    Each refinement below first runs its parent's test and returns that answer unchanged if
    any matrix fails it, so the costlier test only ever sees inputs it can handle.
    """

    def check(self, value: cr.Tensor) -> cr.Tensor:
        is_square = super().check(value)
        if not bool(is_square.all()):
            return is_square
        return _all_over_matrix(cr.isclose(value, value.mT, atol=1e-6))


class _PositiveSemidefinite(_Symmetric):
    """Symmetric matrices with no negative eigenvalue."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        is_symmetric = super().check(value)
        if not bool(is_symmetric.all()):
            return is_symmetric
        return (cr.linalg.eigvalsh(value) >= 0).all(-1)


class _PositiveDefinite(_Symmetric):
    """Symmetric matrices with a Cholesky factorisation (all eigenvalues positive)."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        is_symmetric = super().check(value)
        if not bool(is_symmetric.all()):
            return is_symmetric
        return cr.linalg.cholesky_ex(value).info == 0


# ---------------------------------------------------------------------------------------
# Constraints assembled from pieces along one dim
# ---------------------------------------------------------------------------------------


def _validate_dim(dim: int, value: cr.Tensor) -> None:
    ndim = value.dim()
    if dim < -ndim or dim >= ndim:
        raise AssertionError(f"dim {dim} out of range for value with {ndim} dimensions")


class _Cat(Constraint):
    """One constraint per block of a tensor built with ``cr.cat``.

    ``cseq[i]`` governs the i-th block along ``dim``, which is ``lengths[i]`` wide (1 each by
    default). The per-block answers are concatenated back along ``dim``.
    """

    def __init__(
        self, cseq: Sequence[Constraint], dim: int = 0, lengths: Sequence[int] | None = None
    ) -> None:
        self.cseq = _require_constraints(cseq)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise AssertionError(
                f"lengths ({len(self.lengths)}) must match cseq ({len(self.cseq)})"
            )
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(c.event_dim for c in self.cseq)

    def check(self, value: cr.Tensor) -> cr.Tensor:
        _validate_dim(self.dim, value)
        pieces: list[cr.Tensor] = []
        offset = 0
        for constraint, width in zip(self.cseq, self.lengths):
            pieces.append(constraint.check(value.narrow(self.dim, offset, width)))
            offset += width
        return cr.cat(pieces, self.dim)


class _Stack(Constraint):
    """One constraint per slice of a tensor built with ``cr.stack``.

    ``cseq[i]`` governs ``value.select(dim, i)``; the answers are stacked back along ``dim``.
    """

    def __init__(self, cseq: Sequence[Constraint], dim: int = 0) -> None:
        self.cseq = _require_constraints(cseq)
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        # A negative stacking dim that lands inside the event dims makes the stacked dim
        # itself part of the event.
        inner = max(c.event_dim for c in self.cseq)
        return inner + 1 if self.dim + inner < 0 else inner

    def check(self, value: cr.Tensor) -> cr.Tensor:
        _validate_dim(self.dim, value)
        answers = [
            constraint.check(value.select(self.dim, i))
            for i, constraint in zip(range(value.size(self.dim)), self.cseq)
        ]
        return cr.stack(answers, self.dim)
