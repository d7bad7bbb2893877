"""LKJ distribution over lower Cholesky factors of correlation matrices, with the same API as
``torch.distributions.LKJCholesky``.

For ``L`` with unit-norm rows and positive diagonal, ``M = L L^T`` is a correlation matrix.
The LKJ law puts density proportional to ``det(M)**(eta - 1)`` on ``M``; expressed on ``L``
(including the Jacobian of ``L -> L L^T``) this becomes

    p(L)  ∝  prod_{i=2..D} L_ii ** (2 (eta - 1) + D - i).

Sampling follows the onion construction of Lewandowski, Kurowicka and Joe (2009, Sec. 3):
row ``i`` of ``L`` is ``sqrt(y_i) * u_i`` off the diagonal, with ``y_i`` Beta-distributed and
``u_i`` uniform on the unit sphere of the first ``i - 1`` coordinates; the diagonal entry then
fills the row up to unit norm.
"""

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


def _onion_row_betas(dim: int, eta: Tensor) -> Beta:
    """The per-row Beta laws of the onion method, batched over ``eta`` and the ``dim`` rows.

    Row ``i`` (0-based, ``i >= 1``) uses ``Beta((i - 1)/2 + 1/2, eta + (dim - 2)/2 - (i - 1)/2)``.
    Row 0 has no off-diagonal entries; it is given the same law as row 1 so that every row can
    be drawn in a single call (its draw is multiplied by a zero direction later).
    """
    steps = cr.arange(dim - 1, dtype=eta.dtype)
    steps = cr.cat([cr.zeros((1,), dtype=eta.dtype), steps])
    base = eta + 0.5 * (dim - 2)
    return Beta(steps + 0.5, base.unsqueeze(-1) - 0.5 * steps)


class LKJCholesky(Distribution):
    """LKJ law on ``dim x dim`` Cholesky factors of correlation matrices.

    ``concentration`` (``eta > 0``) controls how strongly correlations shrink toward zero:
    ``eta = 1`` is uniform over correlation matrices, larger values favour the identity.
    ``dim`` must be at least 2. Sampling is not reparameterised.
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
        self._beta = _onion_row_betas(dim, self.concentration)
        super().__init__(
            cr.Size(self.concentration.shape), cr.Size((dim, dim)), validate_args=validate_args
        )

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        target = cr.Size(batch_shape)
        out = self._get_checked_instance(LKJCholesky, _instance)
        out.dim = self.dim
        out.concentration = self.concentration.expand(target)
        out._beta = self._beta.expand(target + (self.dim,))
        Distribution.__init__(out, target, self.event_shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    def sample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        """Draw Cholesky factors by the onion method (all rows at once, any batch of eta)."""
        with cr.no_grad():
            # Squared norm of each row's off-diagonal part, shape (..., dim, 1).
            radius_sq = self._beta.sample(sample_shape).unsqueeze(-1)
            # Uniform directions: normalised Gaussians restricted to the strict lower triangle.
            shape = tuple(self._extended_shape(sample_shape))
            gauss = cr.randn(tuple(shape), dtype=radius_sq.dtype).tril(-1)
            length = gauss.norm(dim=-1, keepdim=True)
            # Row 0 is all zeros; dividing it by 1 instead of 0 keeps it zero.
            length = cr.where(length == 0, cr.ones_like(length), length)
            off_diag = cr.sqrt(radius_sq) * (gauss / length)
            # The diagonal completes each row to unit norm (floored at the smallest normal
            # number so that rounding never produces sqrt of a negative).
            leftover = 1 - (off_diag * off_diag).sum(dim=-1)
            diag = leftover.clamp(min=cr.finfo(off_diag.dtype).tiny).sqrt()
            return off_diag + cr.diag_embed(diag)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        d = self.dim
        # Unnormalised part: sum_{i=2..D} (2 (eta - 1) + D - i) log L_ii.
        log_diag = value.diagonal(dim1=-1, dim2=-2)[..., 1:].log()
        row = cr.arange(2, d + 1)
        powers = 2 * (self.concentration - 1).unsqueeze(-1) + (d - row)
        unnormalised = (powers * log_diag).sum(dim=-1)
        # Log normalising constant (Lewandowski et al., 2009, p. 1999), written with the
        # multivariate log-gamma of order m = D - 1 and a = eta + m / 2:
        #   log C = m/2 log(pi) + mvlgamma(a - 1/2, m) - m lgamma(a).
        m = d - 1
        a = self.concentration + 0.5 * m
        log_norm = 0.5 * m * math.log(math.pi) + cr.mvlgamma(a - 0.5, m) - m * cr.lgamma(a)
        return unnormalised - log_norm
