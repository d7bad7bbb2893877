"""``LowRankMultivariateNormal``: a Gaussian over vectors of length ``n`` whose covariance is
"low rank plus diagonal", ``Σ = W Wᵀ + D`` with ``W`` of shape ``n × m`` (usually ``m ≪ n``)
and ``D = diag(d)``; constructor, attributes and results follow
``torch.distributions.LowRankMultivariateNormal``.

No ``n × n`` factorisation is needed for the density: with the ``m × m`` *capacitance*
``C = I + Wᵀ D⁻¹ W`` and its Cholesky factor ``L_C``,

* matrix determinant lemma: ``log det Σ = log det C + Σᵢ log dᵢ``;
* Woodbury identity:        ``Σ⁻¹ = D⁻¹ - Aᵀ A`` with ``A = L_C⁻¹ Wᵀ D⁻¹`` (``m × n``),
  so ``xᵀ Σ⁻¹ x = Σᵢ xᵢ² / dᵢ - ‖L_C⁻¹ Wᵀ D⁻¹ x‖²``.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .multivariate_normal import _mahalanobis_sq, _matvec, _tril_half_logdet
from .utils import _EMPTY_SIZE, _standard_normal, lazy_property

__all__ = ["LowRankMultivariateNormal"]

_LOG_TWO_PI = math.log(2.0 * math.pi)


def _plus_identity(mat: Tensor) -> Tensor:
    """``mat + I`` for a batch of square matrices."""
    return mat + cr.eye(mat.shape[-1], dtype=mat.dtype, device=mat.device)


def _scaled_factor_t(factor: Tensor, diag: Tensor) -> Tensor:
    """``Wᵀ D⁻¹`` (shape ``m × n``): the transposed factor with column ``i`` divided by ``dᵢ``."""
    return (factor / diag.unsqueeze(-1)).mT


def _capacitance_cholesky(factor: Tensor, diag: Tensor) -> Tensor:
    """Lower Cholesky factor of the capacitance ``C = I + Wᵀ D⁻¹ W`` (``m × m``)."""
    return cr.linalg.cholesky(_plus_identity(cr.matmul(_scaled_factor_t(factor, diag), factor)))


def _woodbury_root(factor: Tensor, diag: Tensor, cap_tril: Tensor) -> Tensor:
    """``A = L_C⁻¹ Wᵀ D⁻¹``, the ``m × n`` matrix with ``Σ⁻¹ = D⁻¹ - Aᵀ A``."""
    return cr.linalg.solve_triangular(cap_tril, _scaled_factor_t(factor, diag), upper=False)


def _lowrank_logdet(factor: Tensor, diag: Tensor, cap_tril: Tensor) -> Tensor:
    """``log det(W Wᵀ + D) = log det C + Σᵢ log dᵢ`` (matrix determinant lemma)."""
    return 2.0 * _tril_half_logdet(cap_tril) + diag.log().sum(-1)


def _lowrank_mahalanobis(factor: Tensor, diag: Tensor, x: Tensor, cap_tril: Tensor) -> Tensor:
    """``xᵀ (W Wᵀ + D)⁻¹ x = Σᵢ xᵢ²/dᵢ - ‖L_C⁻¹ Wᵀ D⁻¹ x‖²`` (Woodbury identity); ``x`` may
    carry sample dims in front of the batch dims."""
    projected = _matvec(_scaled_factor_t(factor, diag), x)  # Wᵀ D⁻¹ x, length m
    return (x.pow(2) / diag).sum(-1) - _mahalanobis_sq(cap_tril, projected)


class LowRankMultivariateNormal(Distribution):
    r"""Gaussian with covariance ``cov_factor @ cov_factor.mT + diag(cov_diag)``.

    Args:
        loc: mean, shape ``batch_shape + (n,)``.
        cov_factor: ``W``, shape ``batch_shape + (n, m)``.
        cov_diag: ``d``, the positive diagonal part, shape ``batch_shape + (n,)``.
        validate_args: check the arguments against :attr:`arg_constraints`.

    The batch dims of the three arguments are broadcast together. Density, entropy and
    precision use only the ``m × m`` capacitance matrix (see the module docstring), so their
    cost is linear in ``n``. ``rsample`` draws ``loc + W ε₁ + √d ⊙ ε₂`` with independent
    standard normal ``ε₁`` (length ``m``) and ``ε₂`` (length ``n``), whose covariance is
    exactly ``W Wᵀ + D``.

    Example::

        >>> m = LowRankMultivariateNormal(cr.zeros(2), cr.tensor([[1.0], [0.0]]), cr.ones(2))
        >>> m.sample().shape
        torch.Size([2])
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        cov_factor: Tensor,
        cov_diag: Tensor,
        validate_args: bool | None = None,
    ) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.dim() < 2:
            raise ValueError(
                "cov_factor must be at least two-dimensional, with optional leading batch "
                f"dimensions; got shape {tuple(cov_factor.shape)}"
            )
        if cov_factor.shape[-2] != n:
            raise ValueError(
                f"cov_factor must be a batch of matrices with shape {n} x m; "
                f"got shape {tuple(cov_factor.shape)}"
            )
        if tuple(cov_diag.shape[-1:]) != (n,):
            raise ValueError(
                f"cov_diag must be a batch of vectors with shape {(n,)}; "
                f"got shape {tuple(cov_diag.shape)}"
            )
        try:
            batch_shape = cr.broadcast_shapes(
                loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1]
            )
        except RuntimeError as err:
            raise ValueError(
                f"Incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                f"{tuple(cov_factor.shape)}, cov_diag {tuple(cov_diag.shape)}"
            ) from err
        self.loc = loc.expand(batch_shape + (n,))
        self.cov_factor = cov_factor.expand(batch_shape + tuple(cov_factor.shape[-2:]))
        self.cov_diag = cov_diag.expand(batch_shape + (n,))
        super().__init__(batch_shape, loc.shape[-1:], validate_args=validate_args)
        # the un-broadcast parameters feed every computation (no copies along the batch)
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _capacitance_cholesky(cov_factor, cov_diag)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = cr.Size(batch_shape)
        vector_shape = batch_shape + self._event_shape
        new.loc = self.loc.expand(vector_shape)
        new.cov_diag = self.cov_diag.expand(vector_shape)
        new.cov_factor = self.cov_factor.expand(vector_shape + self.cov_factor.shape[-1:])
        for shared in ("_unbroadcasted_cov_factor", "_unbroadcasted_cov_diag", "_capacitance_tril"):
            setattr(new, shared, getattr(self, shared))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _parts(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(W, d, L_C)`` with their own (un-broadcast) batch shapes."""
        return self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, self._capacitance_tril

    def _full_square(self, mat: Tensor) -> Tensor:
        """``mat`` broadcast to ``batch_shape + (n, n)``."""
        return mat.expand(self._batch_shape + self._event_shape + self._event_shape)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:
        factor, diag, _ = self._parts()
        # diag(W Wᵀ)ᵢ is the squared norm of row i of W
        return (factor.pow(2).sum(-1) + diag).expand(self._batch_shape + self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        # Factor Σ = D^½ (I + D^-½ W Wᵀ D^-½) D^½ rather than Σ itself: the middle matrix has
        # every eigenvalue ≥ 1, so its Cholesky factorisation is well conditioned, and scaling
        # the rows of that factor by √d keeps it lower triangular.
        factor, diag, _ = self._parts()
        root_d = diag.sqrt().unsqueeze(-1)
        whitened = factor / root_d
        inner = _plus_identity(cr.matmul(whitened, whitened.mT))
        return self._full_square(root_d * cr.linalg.cholesky(inner))

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        factor, diag, _ = self._parts()
        return self._full_square(cr.matmul(factor, factor.mT) + cr.diag_embed(diag))

    @lazy_property
    def precision_matrix(self) -> Tensor:
        # Woodbury: Σ⁻¹ = D⁻¹ - Aᵀ A
        factor, diag, cap_tril = self._parts()
        root = _woodbury_root(factor, diag, cap_tril)
        return self._full_square(cr.diag_embed(diag.reciprocal()) - cr.matmul(root.mT, root))

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        shape = self._extended_shape(sample_shape)
        factor, diag, _ = self._parts()
        rank = self.cov_factor.shape[-1]
        kw = {"dtype": self.loc.dtype, "device": self.loc.device}
        low_rank_noise = _standard_normal(shape[:-1] + (rank,), **kw)
        diagonal_noise = _standard_normal(shape, **kw)
        return self.loc + _matvec(factor, low_rank_noise) + diag.sqrt() * diagonal_noise

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        factor, diag, cap_tril = self._parts()
        maha = _lowrank_mahalanobis(factor, diag, value - self.loc, cap_tril)
        logdet = _lowrank_logdet(factor, diag, cap_tril)
        return -0.5 * (self._event_shape[0] * _LOG_TWO_PI + logdet + maha)

    def entropy(self) -> Tensor:
        logdet = _lowrank_logdet(*self._parts())
        entropy = 0.5 * (self._event_shape[0] * (1.0 + _LOG_TWO_PI) + logdet)
        return entropy.expand(self._batch_shape)
