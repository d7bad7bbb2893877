"""Chi-squared distribution with API of ``torch.distributions.Chi2``.

The sum of ``df`` squared standard normals is ``Gamma(df / 2, rate=1/2)``; everything is
inherited from :class:`Gamma`, only the parameterisation changes.
"""

from __future__ import annotations

from typing import Any

from chainrule import Tensor

from . import constraints
from .gamma import Gamma

__all__ = ["Chi2"]


class Chi2(Gamma):
    r"""Chi-squared law with ``df`` degrees of freedom, i.e. ``Gamma(0.5 * df, 0.5)``.

    ``df`` may be any positive real, not only an integer.

    Args:
        df (float or Tensor): degrees of freedom (``> 0``).
    """

    arg_constraints = {"df": constraints.positive}

    def __init__(
        self,
        df: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        half_df = 0.5 * df
        super().__init__(half_df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        out = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, out)

    @property
    def df(self) -> Tensor:
        """Recovered from the gamma shape: ``df = 2 * concentration``."""
        return 2 * self.concentration
