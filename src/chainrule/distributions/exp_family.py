"""``ExponentialFamily``: distributions with density
``p_F(x; θ) = exp(<t(x), θ> - F(θ) + k(x))``, mirroring ``torch.distributions.exp_family``."""

from __future__ import annotations

from typing import Any

import chainrule as cr

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Base class for exponential-family distributions.

    Subclasses give ``_natural_params`` (θ), ``_log_normalizer`` (F) and
    ``_mean_carrier_measure`` (E[k(x)]); the generic ``entropy`` then follows from the
    Bregman divergence of F: ``H = F(θ) - <θ, ∇F(θ)> - E[k(x)]`` (differentiable: the
    gradient of F is taken with ``create_graph=True``).
    """

    @property
    def _natural_params(self) -> tuple[cr.Tensor, ...]:
        """The natural parameters θ, as a tuple of Tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Any) -> cr.Tensor:
        """The log normaliser F(θ)."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> float:
        """The expected carrier measure E[k(x)]."""
        raise NotImplementedError

    def entropy(self) -> cr.Tensor:
        """Entropy via the Bregman divergence of the log normaliser."""
        result: Any = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        with cr.enable_grad():
            lg_normal = self._log_normalizer(*nparams)
            gradients = cr.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for np_, g in zip(nparams, gradients):
            result = result - (np_ * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
