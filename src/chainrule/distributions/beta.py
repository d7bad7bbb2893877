"""Beta distribution with API of ``torch.distributions.Beta``.

``Beta(a, b)`` is the first coordinate of ``Dirichlet([a, b])``. All the work (reparameterised
sampling, density, entropy) is delegated to a two-component :class:`Dirichlet` whose last axis
holds ``(concentration1, concentration0)``.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule import Tensor

from . import constraints
from .dirichlet import Dirichlet
from .exp_family import ExponentialFamily
from .utils import _EMPTY_SIZE, _Number, broadcast_all

__all__ = ["Beta"]


class Beta(ExponentialFamily):
    r"""Beta law on ``[0, 1]`` with density ``x**(a-1) (1-x)**(b-1) / B(a, b)``.

    Args:
        concentration1 (float or Tensor): ``a`` (alpha), the exponent attached to ``x``.
        concentration0 (float or Tensor): ``b`` (beta), the exponent attached to ``1 - x``.
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(
        self,
        concentration1: Tensor | float,
        concentration0: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        scalars = isinstance(concentration1, _Number) and isinstance(concentration0, _Number)
        if scalars:
            pair = cr.tensor([float(concentration1), float(concentration0)])
        else:
            pair = cr.stack(broadcast_all(concentration1, concentration0), -1)
        self._dirichlet = Dirichlet(pair, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(Beta, _instance)
        shape = cr.Size(batch_shape)
        out._dirichlet = self._dirichlet.expand(shape)
        # Arguments were checked when self was built; only copy the flag across.
        super(Beta, out).__init__(shape, validate_args=False)
        out._validate_args = self._validate_args
        return out

    # ---- parameters: views into the Dirichlet concentration --------------------------------
    @property
    def concentration1(self) -> Tensor:
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self) -> Tensor:
        return self._dirichlet.concentration[..., 1]

    # ---- moments ---------------------------------------------------------------------------
    @property
    def mean(self) -> Tensor:
        """``a / (a + b)``."""
        a, b = self.concentration1, self.concentration0
        return a / (a + b)

    @property
    def mode(self) -> Tensor:
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Tensor:
        """``a b / ((a + b)**2 (a + b + 1))``."""
        a, b = self.concentration1, self.concentration0
        s = a + b
        return a * b / (s.square() * (s + 1))

    # ---- sampling, density, entropy --------------------------------------------------------
    def rsample(self, sample_shape: Any = _EMPTY_SIZE) -> Tensor:
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        # The point x of [0, 1] is the point (x, 1 - x) of the 2-simplex.
        return self._dirichlet.log_prob(cr.stack([value, 1.0 - value], -1))

    def entropy(self) -> Tensor:
        return self._dirichlet.entropy()

    # ---- exponential-family form: natural parameters (a, b), normaliser log B(a, b) --------
    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        return cr.lgamma(x) + cr.lgamma(y) - cr.lgamma(x + y)
