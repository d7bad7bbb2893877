"""``MultivariateNormal``: the Gaussian ``N(loc, Σ)`` over vectors of length ``n``, with the
constructor, attributes and results of ``torch.distributions.MultivariateNormal``.

Every computation goes through one lower-triangular factor ``L`` with ``Σ = L Lᵀ``:

* log density   ``-½ (n log 2π + ‖L⁻¹(x - μ)‖²) - Σᵢ log Lᵢᵢ``
* entropy       ``½ n (1 + log 2π) + Σᵢ log Lᵢᵢ``
* draws         ``μ + L ε`` with ``ε ~ N(0, I)`` (reparameterised, so gradients flow)

``L`` is stored with the batch shape it was given (``_unbroadcasted_scale_tril``), so that
batched solves and draws never copy it out to the full batch shape of the distribution.
"""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .distribution import Distribution
from .utils import _EMPTY_SIZE, _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]

_LOG_TWO_PI = math.log(2.0 * math.pi)
_MATRIX_ARGS = ("covariance_matrix", "precision_matrix", "scale_tril")


def _matvec(mat: Tensor, vec: Tensor) -> Tensor:
    """``mat @ vec`` for a batch of matrices and a batch of vectors whose batch shapes
    broadcast against each other."""
    return cr.matmul(mat, vec.unsqueeze(-1)).squeeze(-1)


def _tril_half_logdet(tril: Tensor) -> Tensor:
    """``½ log det(L Lᵀ) = Σᵢ log Lᵢᵢ`` for a batch of lower Cholesky factors."""
    return cr.diagonal(tril, dim1=-2, dim2=-1).log().sum(-1)


def _mahalanobis_sq(tril: Tensor, x: Tensor) -> Tensor:
    """``xᵀ (L Lᵀ)⁻¹ x = ‖L⁻¹ x‖²``, batched; ``x`` may carry extra leading (sample) dims.

    The batch dims of ``tril`` line up with the rightmost batch dims of ``x``. Any further
    leading dims of ``x`` are folded into the columns of a single right-hand side, so there
    is one triangular solve per matrix of ``tril`` rather than one per draw, and ``tril`` is
    never copied along the sample dims.
    """
    n = x.shape[-1]
    extra = x.dim() - 1 - (tril.dim() - 2)
    if extra <= 0:
        solved = cr.linalg.solve_triangular(tril, x.unsqueeze(-1), upper=False)
        return solved.squeeze(-1).pow(2).sum(-1)
    outer = tuple(x.shape[:extra])
    inner = tuple(x.shape[extra:-1])
    # (outer..., inner..., n) -> (inner..., n, prod(outer)): every outer index becomes a column
    columns = x.reshape((math.prod(outer),) + inner + (n,)).movedim(0, -1)
    solved = cr.linalg.solve_triangular(tril, columns, upper=False)
    per_column = solved.pow(2).sum(-2)  # (batch..., prod(outer))
    return per_column.movedim(-1, 0).reshape(outer + tuple(per_column.shape[:-1]))


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    """Lower factor ``L`` of ``Σ = P⁻¹`` computed without ever forming ``Σ``.

    Reversing the order of rows and columns of ``P`` and taking a Cholesky factor of that
    gives, once reversed back, an *upper* triangular ``U`` with ``P = U Uᵀ``. Hence
    ``Σ = U⁻ᵀ U⁻¹`` and ``L = U⁻ᵀ`` is lower triangular with a positive diagonal. Only
    triangular solves are used, which is better conditioned than inverting ``P``.
    """
    n = precision.shape[-1]
    reversed_factor = cr.linalg.cholesky(cr.flip(precision, (-2, -1)))
    upper = cr.flip(reversed_factor, (-2, -1))
    eye = cr.eye(n, dtype=precision.dtype, device=precision.device)
    return cr.linalg.solve_triangular(upper, eye, upper=True).mT


# how each accepted matrix argument is turned into the lower factor of the covariance
_TO_SCALE_TRIL = {
    "covariance_matrix": cr.linalg.cholesky,
    "precision_matrix": _precision_to_scale_tril,
    "scale_tril": lambda tril: tril,
}


class MultivariateNormal(Distribution):
    r"""Gaussian over vectors, given a mean ``loc`` (shape ``batch + (n,)``) and exactly one
    of three descriptions of the ``n × n`` covariance ``Σ`` (each with optional batch dims):

    * ``covariance_matrix``: ``Σ`` itself, positive definite;
    * ``precision_matrix``: ``Σ⁻¹``, positive definite;
    * ``scale_tril``: a lower-triangular ``L`` with positive diagonal and ``Σ = L Lᵀ``.

    Whatever is given is converted once to ``L`` (a Cholesky factorisation, or the
    reversed-order factorisation of :func:`_precision_to_scale_tril`); passing ``scale_tril``
    skips that step. The two other matrices are derived from ``L`` on first access.
    ``rsample`` is reparameterised: ``loc + L ε`` with standard normal ``ε``.

    Example::

        >>> m = MultivariateNormal(cr.zeros(2), cr.eye(2))
        >>> m.sample().shape
        torch.Size([2])
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {
            "covariance_matrix": covariance_matrix,
            "precision_matrix": precision_matrix,
            "scale_tril": scale_tril,
        }
        supplied = [(name, mat) for name, mat in given.items() if mat is not None]
        if len(supplied) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                f"specified; got {[name for name, _ in supplied] or 'none'}."
            )
        name, matrix = supplied[0]
        if matrix.dim() < 2:
            raise ValueError(
                f"{name} must be at least two-dimensional, with optional leading batch "
                f"dimensions; got shape {tuple(matrix.shape)}"
            )
        batch_shape = cr.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        # the argument, broadcast to the full batch, is what validation checks
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        # factorise only after validation, so a bad matrix reports a constraint error
        self._unbroadcasted_scale_tril = _TO_SCALE_TRIL[name](matrix)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = cr.Size(batch_shape)
        square = batch_shape + self._event_shape + self._event_shape
        new.loc = self.loc.expand(batch_shape + self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        # carry over only the matrix views that already exist; the others stay lazy
        for name in _MATRIX_ARGS:
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(square))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _full_square(self, mat: Tensor) -> Tensor:
        """``mat`` broadcast to ``batch_shape + (n, n)``."""
        return mat.expand(self._batch_shape + self._event_shape + self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._full_square(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        tril = self._unbroadcasted_scale_tril
        return self._full_square(cr.matmul(tril, tril.mT))

    @lazy_property
    def precision_matrix(self) -> Tensor:
        # (L Lᵀ)⁻¹ straight from the factor
        return self._full_square(cr.cholesky_inverse(self._unbroadcasted_scale_tril))

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        # diag(L Lᵀ)ᵢ is the squared norm of row i of L
        row_norms = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return row_norms.expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        shape = self._extended_shape(sample_shape)
        noise = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _matvec(self._unbroadcasted_scale_tril, noise)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        tril = self._unbroadcasted_scale_tril
        maha = _mahalanobis_sq(tril, value - self.loc)
        n = self._event_shape[0]
        return -0.5 * (n * _LOG_TWO_PI + maha) - _tril_half_logdet(tril)

    def entropy(self) -> Tensor:
        n = self._event_shape[0]
        entropy = 0.5 * n * (1.0 + _LOG_TWO_PI) + _tril_half_logdet(self._unbroadcasted_scale_tril)
        return entropy.expand(self._batch_shape)
