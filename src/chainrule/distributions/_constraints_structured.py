"""Structured constraints (matrices, ``cat``/``stack`` of constraints, mixtures), mirroring
their ``torch.distributions.constraints`` counterparts; re-exported by ``constraints``."""

from __future__ import annotations

from collections.abc import Sequence

import chainrule as cr

from .constraints import Constraint

__all__ = ["MixtureSameFamilyConstraint"]


class MixtureSameFamilyConstraint(Constraint):
    """Constraint of a ``MixtureSameFamily``: adds back the right-most batch dim (the
    component dim) before checking with the component distribution's constraint."""

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
        """Whether ``value`` is a possible outcome of the mixture."""
        unsqueezed_value = value.unsqueeze(-1 - self.event_dim)
        result = self.base_constraint.check(unsqueezed_value)
        if value.dim() < self.event_dim:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        num_dim_to_keep = value.dim() - self.event_dim
        result = result.reshape(tuple(result.shape[:num_dim_to_keep]) + (-1,))
        return result.all(-1)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({repr(self.base_constraint)})"


def _is_lower_triangular(value: cr.Tensor) -> cr.Tensor:
    return (value.tril() == value).reshape(tuple(value.shape[:-2]) + (-1,)).all(-1)


class _LowerTriangular(Constraint):
    """Lower-triangular square matrices."""

    event_dim = 2

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return _is_lower_triangular(value)


class _LowerCholesky(Constraint):
    """Lower-triangular square matrices with positive diagonals."""

    event_dim = 2

    def check(self, value: cr.Tensor) -> cr.Tensor:
        positive_diagonal = (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)
        return _is_lower_triangular(value) & positive_diagonal


class _CorrCholesky(Constraint):
    """Lower-Cholesky factors of correlation matrices: each row has unit norm (to
    ``10 * n * eps``)."""

    event_dim = 2

    def check(self, value: cr.Tensor) -> cr.Tensor:
        tol = cr.finfo(value.dtype).eps * value.size(-1) * 10  # 10 is a fudge factor
        row_norm = cr.linalg.norm(value.detach(), dim=-1)
        unit_row_norm = (row_norm - 1.0).abs().le(tol).all(dim=-1)
        return _LowerCholesky().check(value) & unit_row_norm


class _Square(Constraint):
    """Square matrices."""

    event_dim = 2

    def check(self, value: cr.Tensor) -> cr.Tensor:
        return cr.full(
            size=tuple(value.shape[:-2]),
            fill_value=(value.shape[-2] == value.shape[-1]),
            dtype=cr.bool,
        )


class _Symmetric(_Square):
    """Symmetric square matrices (to ``atol=1e-6``)."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        square_check = super().check(value)
        if not bool(square_check.all()):
            return square_check
        return cr.isclose(value, value.mT, atol=1e-6).all(-2).all(-1)


class _PositiveSemidefinite(_Symmetric):
    """Positive-semidefinite matrices (symmetric, eigenvalues >= 0)."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        sym_check = super().check(value)
        if not bool(sym_check.all()):
            return sym_check
        return cr.linalg.eigvalsh(value).ge(0).all(-1)


class _PositiveDefinite(_Symmetric):
    """Positive-definite matrices (symmetric, Cholesky succeeds)."""

    def check(self, value: cr.Tensor) -> cr.Tensor:
        sym_check = super().check(value)
        if not bool(sym_check.all()):
            return sym_check
        return cr.linalg.cholesky_ex(value).info.eq(0)


def _check_dim(dim: int, value: cr.Tensor) -> None:
    if not (-value.dim() <= dim < value.dim()):
        raise AssertionError(f"dim {dim} out of range for value with {value.dim()} dimensions")


class _Cat(Constraint):
    """Applies constraints ``cseq`` to consecutive slices (of sizes ``lengths``) along
    ``dim``, as ``cr.cat`` would join them."""

    def __init__(
        self, cseq: Sequence[Constraint], dim: int = 0, lengths: Sequence[int] | None = None
    ) -> None:
        if not all(isinstance(c, Constraint) for c in cseq):
            raise AssertionError("All elements of cseq must be Constraint instances")
        self.cseq = list(cseq)
        if lengths is None:
            lengths = [1] * len(self.cseq)
        self.lengths = list(lengths)
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
        _check_dim(self.dim, value)
        checks = []
        start = 0
        for constr, length in zip(self.cseq, self.lengths):
            checks.append(constr.check(value.narrow(self.dim, start, length)))
            start = start + length
        return cr.cat(checks, self.dim)


class _Stack(Constraint):
    """Applies constraints ``cseq`` to the slices along ``dim``, as ``cr.stack`` would
    join them."""

    def __init__(self, cseq: Sequence[Constraint], dim: int = 0) -> None:
        if not all(isinstance(c, Constraint) for c in cseq):
            raise AssertionError("All elements of cseq must be Constraint instances")
        self.cseq = list(cseq)
        self.dim = dim
        super().__init__()

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        dim = max(c.event_dim for c in self.cseq)
        if self.dim + dim < 0:
            dim += 1
        return dim

    def check(self, value: cr.Tensor) -> cr.Tensor:
        _check_dim(self.dim, value)
        vs = [value.select(self.dim, i) for i in range(value.size(self.dim))]
        return cr.stack([constr.check(v) for v, constr in zip(vs, self.cseq)], self.dim)
