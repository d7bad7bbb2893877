"""The LKJ distribution over Cholesky factors of correlation matrices, mirroring
``torch.distributions.LKJCholesky`` (which follows NumPyro's implementation)."""

from __future__ import annotations

import math
from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import _EMPTY_SIZE, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    r"""
    LKJ distribution for lower Cholesky factor of correlation matrices.

    The ``concentration`` parameter :math:`\eta` makes the probability of the correlation
    matrix :math:`M = L L^\top` proportional to :math:`\det(M)^{\eta - 1}`; with
    ``concentration == 1`` it is uniform over Cholesky factors of correlation matrices::

        L ~ LKJCholesky(dim, concentration)
        X = L @ L' ~ LKJCorr(dim, concentration)

    Sampling uses the Onion method of Lewandowski, Kurowicka and Joe (2009), Section 3
    (vectorised, for heterogeneous :math:`\eta`); it is not reparameterised.

    Example::

        >>> l = LKJCholesky(3, 0.5)
        >>> l.sample()  # l @ l.T is a sample of a correlation 3x3 matrix  # doctest: +SKIP

    Args:
        dim (int): dimension of the matrices (at least 2)
        concentration (float or Tensor): concentration/shape parameter of the distribution
            (often referred to as eta)
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(
        self,
        dim: int,
        concentration: Tensor | float = 1.0,
        validate_args: bool | None = None,
    ) -> None:
        if dim < 2:
            raise ValueError(
                f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}."
            )
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = cr.Size((dim, dim))
        # the Beta marginals of the Onion method (Sec. 3.2), drawn vectorised
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = cr.arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = cr.cat([offset.new_zeros((1,)), offset])
        beta_conc1 = offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = cr.Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Onion-method draws. As in PyTorch (differences from the paper): vectorised over
        rows, valid for heterogeneous eta, and only the Cholesky rows ``w`` are generated."""
        with cr.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = cr.randn(*tuple(self._extended_shape(sample_shape)), dtype=y.dtype).tril(-1)
            u_hypersphere = u_normal / u_normal.norm(dim=-1, keepdim=True)
            # the first row is 0 / 0: set it to zero
            first_row = (cr.arange(self.dim) == 0).unsqueeze(-1)
            u_hypersphere = cr.where(first_row, 0.0, u_hypersphere)
            w = cr.sqrt(y) * u_hypersphere
            # the diagonal, clamped for numerical stability
            eps = cr.finfo(w.dtype).tiny
            diag_elems = cr.clamp(1 - cr.sum(w**2, dim=-1), min=eps).sqrt()
            return w + cr.diag_embed(diag_elems)

    def log_prob(self, value: Tensor) -> Tensor:
        # p(L) is proportional to prod_i L_ii^(2 (eta - 1) + D - i), i = 2..D: det(M)^(eta-1)
        # times the Jacobian prod_i L_ii^(D - i) of L -> L L^T (Stan's LKJ Cholesky density)
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = cr.arange(2, self.dim + 1)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = cr.sum(order * diag_elems.log(), dim=-1)
        # normalisation constant (page 1999 of Lewandowski et al.)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = cr.lgamma(alpha) * dm1
        numerator = cr.mvlgamma(alpha - 0.5, dm1)
        # the paper's pi constant is D (D - 1) / 4 log(pi), multigammaln's (D - 1)(D - 2) / 4
        # log(pi): the difference is (D - 1) log(pi) / 2
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        normalize_term = pi_constant + numerator - denominator
        return unnormalized_log_pdf - normalize_term
