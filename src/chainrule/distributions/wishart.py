"""The Wishart distribution over p×p positive-definite matrices (API of
``torch.distributions.Wishart``).

With ν degrees of freedom (ν > p - 1) and scale matrix Σ = L Lᵀ, the density of X is

    ln p(X) = (ν - p - 1)/2 · ln|X| - tr(Σ⁻¹ X)/2 - νp/2 · ln 2 - ν/2 · ln|Σ| - ln Γ_p(ν/2),

where Γ_p is the multivariate gamma function. For integer ν it is the law of Σ_k z_k z_kᵀ with
z_k ~ N(0, Σ) i.i.d. Everything is computed from the Cholesky factor L, whichever of the
covariance, precision or factor was given.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .chi2 import Chi2
from .exp_family import ExponentialFamily
from .multivariate_normal import _precision_to_scale_tril
from .utils import _EMPTY_SIZE, _Number, lazy_property

__all__ = ["Wishart"]

_LN2 = math.log(2)
_MATRIX_PARAMS = ("covariance_matrix", "precision_matrix", "scale_tril")


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """Multivariate digamma ``ψ_p(x) = Σ_{i<p} ψ(x - i/2)``, the derivative of ``ln Γ_p``;
    defined for x > (p - 1)/2."""
    if not bool(x.gt((p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    half_steps = cr.arange(p, dtype=x.dtype) / 2
    return cr.digamma(x.unsqueeze(-1) - half_steps).sum(-1)


def _half_log_det_from_tril(tril: Tensor) -> Tensor:
    """``ln|L Lᵀ| / 2 = Σ ln L_ii`` for a Cholesky factor with positive diagonal."""
    return tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


class Wishart(ExponentialFamily):
    r"""Wishart distribution with ``df`` degrees of freedom and scale matrix Σ.

    Σ is given by exactly one of ``covariance_matrix`` (Σ), ``precision_matrix`` (Σ⁻¹) or
    ``scale_tril`` (its lower Cholesky factor L). The batch shape is the broadcast of ``df``'s
    shape with the leading dims of the matrix; the event shape is ``(p, p)``. Samples use the
    Bartlett decomposition and are reparameterised (differentiable in ``df`` and Σ).

    Example:
        >>> d = Wishart(cr.tensor([4.0]), covariance_matrix=cr.eye(2))
        >>> d.mean  # df * Σ
        tensor([[[4., 0.],
                 [0., 4.]]])

    Args:
        df (float or Tensor): degrees of freedom, greater than p - 1 (values below p give
            singular draws with high probability and trigger a warning).
        covariance_matrix (Tensor): Σ, positive definite.
        precision_matrix (Tensor): Σ⁻¹, positive definite.
        scale_tril (Tensor): L, lower triangular with positive diagonal.
        validate_args (bool, optional): check parameters and samples against the constraints.
    """

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:  # type: ignore[override]
        # The df bound depends on the matrix size, so this is built per instance.
        return {
            "covariance_matrix": constraints.positive_definite,
            "precision_matrix": constraints.positive_definite,
            "scale_tril": constraints.lower_cholesky,
            "df": constraints.greater_than(self.event_shape[-1] - 1),
        }

    def __init__(
        self,
        df: Tensor | float,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        given = {
            name: m
            for name, m in zip(_MATRIX_PARAMS, (covariance_matrix, precision_matrix, scale_tril))
            if m is not None
        }
        if len(given) != 1:
            raise AssertionError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        ((kind, matrix),) = given.items()
        if matrix.dim() < 2:
            raise ValueError(
                "scale_tril must be at least two-dimensional, with optional leading batch "
                "dimensions"
            )
        lead = tuple(matrix.shape[:-2])
        if isinstance(df, _Number):
            batch_shape = cr.Size(lead)
            self.df = cr.tensor(df, dtype=matrix.dtype)
        else:
            batch_shape = cr.Size(cr.broadcast_shapes(lead, df.shape))
            self.df = df.expand(batch_shape)
        event_shape = cr.Size(matrix.shape[-2:])
        p = event_shape[-1]

        # The df bound is enforced even when validation is off: below it there is no density.
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        setattr(self, kind, matrix.expand(batch_shape + (-1, -1)))
        if bool(self.df.lt(p).any()):
            warnings.warn(
                "Low df values detected. Singular samples are highly likely to occur for "
                "ndim - 1 < df < ndim.",
                stacklevel=2,
            )

        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(k + 1) for k in range(len(self._batch_shape))]

        if kind == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif kind == "covariance_matrix":
            self._unbroadcasted_scale_tril = cr.linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)
        self._dist_chi2 = self._bartlett_chi2(batch_shape)

    def _bartlett_chi2(self, batch_shape: cr.Size) -> Chi2:
        """Chi-squared laws with ``df - i`` degrees of freedom, i = 0..p-1: the squared
        diagonal of the Bartlett factor."""
        p = self._event_shape[-1]
        shifts = cr.arange(p, dtype=self._unbroadcasted_scale_tril.dtype)
        return Chi2(df=self.df.unsqueeze(-1) - shifts.expand(tuple(batch_shape) + (-1,)))

    def expand(self, batch_shape: Any, _instance: Any = None) -> Wishart:
        target = cr.Size(batch_shape)
        matrix_shape = target + self.event_shape
        out = self._get_checked_instance(Wishart, _instance)
        out._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(matrix_shape)
        out.df = self.df.expand(target)
        out._batch_dims = [-(k + 1) for k in range(len(target))]
        for name in _MATRIX_PARAMS:
            if name in self.__dict__:  # lazily derived ones are recomputed on demand
                setattr(out, name, getattr(self, name).expand(matrix_shape))
        super(Wishart, out).__init__(target, self.event_shape, validate_args=False)
        out._dist_chi2 = out._bartlett_chi2(target)
        out._validate_args = self._validate_args
        return out

    # -- the three views of Σ -----------------------------------------------------------------

    def _per_matrix(self, t: Tensor) -> Tensor:
        """A ``batch_shape`` tensor viewed with two trailing unit dims, to scale each matrix.

        As in PyTorch this is a view to exactly ``batch_shape + (1, 1)``, so a scalar ``df``
        with a batched scale matrix is rejected here rather than broadcast."""
        return t.view(self._batch_shape + (1, 1))

    def _full(self, t: Tensor) -> Tensor:
        return t.expand(self._batch_shape + self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._full(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        tril = self._unbroadcasted_scale_tril
        return self._full(tril @ tril.transpose(-2, -1))

    @lazy_property
    def precision_matrix(self) -> Tensor:
        tril = self._unbroadcasted_scale_tril
        eye = cr.eye(self._event_shape[-1], dtype=tril.dtype)
        return self._full(cr.cholesky_solve(eye, tril))

    # -- moments ------------------------------------------------------------------------------

    @property
    def mean(self) -> Tensor:
        """``ν Σ``."""
        return self._per_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """``(ν - p - 1) Σ`` when ν > p + 1; NaN otherwise (the density then peaks at the
        boundary of the cone)."""
        cov = self.covariance_matrix
        weight = self.df - cov.shape[-1] - 1
        weight = cr.where(weight <= 0, math.nan, weight)
        return self._per_matrix(weight) * cov

    @property
    def variance(self) -> Tensor:
        """Elementwise ``Var[X_ij] = ν (Σ_ij² + Σ_ii Σ_jj)``."""
        cov = self.covariance_matrix
        diag = cov.diagonal(dim1=-2, dim2=-1)
        outer = diag.unsqueeze(-1) * diag.unsqueeze(-2)
        return self._per_matrix(self.df) * (cov * cov + outer)

    # -- sampling -----------------------------------------------------------------------------

    def _bartlett_sampling(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """One draw per sample index and batch entry: ``(L A)(L A)ᵀ`` where A is lower
        triangular with ``A_ii = sqrt(χ²(ν - i))`` and standard normal entries below the
        diagonal (Bartlett's decomposition)."""
        p = self._event_shape[-1]
        root_chi2 = self._dist_chi2.rsample(sample_shape).sqrt()
        # Keep the diagonal strictly positive so that the product stays invertible.
        diag = root_chi2.clamp(min=cr.finfo(root_chi2.dtype).eps)
        shape = tuple(sample_shape) + tuple(self._batch_shape) + (p, p)
        below = cr.randn(tuple(shape), dtype=diag.dtype).tril(-1)
        factor = self._unbroadcasted_scale_tril @ (below + diag.diag_embed(dim1=-2, dim2=-1))
        return factor @ factor.transpose(-2, -1)

    def _singular(self, sample: Tensor, ndim: int) -> Tensor:
        """For each sample index (the leading ``ndim`` dims): does any batch member of
        ``sample`` fail to be positive definite?"""
        failed = ~self.support.check(sample)
        return failed.reshape(tuple(sample.shape[:ndim]) + (-1,)).any(-1)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE, max_try_correction: Any = None) -> Tensor:
        r"""A reparameterised sample by Bartlett's decomposition.

        Rounding can make a draw singular (likely when ν < p). Such draws are redrawn, with a
        warning, up to ``max_try_correction`` times (default 10); one that is still singular
        after that is returned as is (``log_prob`` is then ``-inf``).

        A deliberate difference: PyTorch 2.13 tests ``support.check(sample)`` (true for a
        *valid* draw) as "singular", so it warns "Singular sample detected." and redraws on
        every call; here only draws that are in fact singular are redrawn and warned about.
        """
        tries = 10 if max_try_correction is None else max_try_correction
        sample_shape = cr.Size(sample_shape)
        ndim = len(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        pending = self._singular(sample, ndim)
        if not bool(pending.any()):
            return sample
        warnings.warn("Singular sample detected.", stacklevel=2)
        # Broadcast a per-sample-index flag over the batch and matrix dims.
        flag_shape = tuple(sample_shape) + (1,) * (len(self._batch_shape) + 2)
        for _ in range(tries):
            fresh = self._bartlett_sampling(sample_shape)
            sample = cr.where(pending.reshape(flag_shape), fresh, sample)
            pending = pending & self._singular(fresh, ndim)
            if not bool(pending.any()):
                break
        return sample

    # -- densities ----------------------------------------------------------------------------

    def log_prob(self, value: Tensor) -> Tensor:
        """The log density above; ``tr(Σ⁻¹ X)`` comes from a Cholesky solve with L."""
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        tril = self._unbroadcasted_scale_tril
        log_norm = nu * (p * _LN2 / 2 + _half_log_det_from_tril(tril)) + cr.mvlgamma(nu / 2, p=p)
        log_det_x = cr.linalg.slogdet(value).logabsdet
        trace = cr.cholesky_solve(value, tril).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (nu - p - 1) / 2 * log_det_x - trace / 2 - log_norm

    def entropy(self) -> Tensor:
        """``(p + 1)/2 · ln|Σ| + p(p + 1)/2 · ln 2 + ln Γ_p(ν/2) - (ν - p - 1)/2 · ψ_p(ν/2)
        + νp/2``."""
        nu = self.df
        p = self._event_shape[-1]
        half_nu = nu / 2
        scale_term = (p + 1) * (
            p * _LN2 / 2 + _half_log_det_from_tril(self._unbroadcasted_scale_tril)
        )
        shape_term = cr.mvlgamma(half_nu, p=p) - (nu - p - 1) / 2 * _mvdigamma(half_nu, p=p)
        return scale_term + shape_term + nu * p / 2

    # -- exponential-family form --------------------------------------------------------------

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        """``θ₁ = -Σ⁻¹/2`` (paired with X) and ``θ₂ = (ν - p - 1)/2`` (paired with ln|X|)."""
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        """``F(θ₁, θ₂) = a (p ln 2 - ln|-2θ₁|) + ln Γ_p(a)`` with ``a = θ₂ + (p + 1)/2 = ν/2``."""
        p = self._event_shape[-1]
        a = y + (p + 1) / 2
        return a * (p * _LN2 - cr.linalg.slogdet(-2 * x).logabsdet) + cr.mvlgamma(a, p=p)
