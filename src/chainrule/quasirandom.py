"""``cr.quasirandom.SobolEngine``: Sobol' low-discrepancy sequences (``torch.quasirandom``).

Points come from SciPy's Sobol' generator (``scipy.stats.qmc.Sobol``; install SciPy with
``pip install scipy``, or ``chainrule[all]``), which uses the same direction numbers (Joe and
Kuo's, up to 21,201 dimensions) and the same 30 bits as PyTorch, so the unscrambled sequence
is PyTorch's point for point. ``scramble=True`` applies the same kind of randomisation as
PyTorch (a linear matrix scramble and a digital shift); its random draws are SciPy's, seeded
by ``seed`` (or, when ``seed`` is None, by a number drawn from chainrule's default generator,
so that ``cr.manual_seed`` makes it reproducible): the same seed gives the same points in
chainrule, not PyTorch's points.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .autograd.tensor import Tensor
from .creation import tensor
from .dtypes import as_dtype, get_default_dtype
from .random import gen

__all__ = ["SobolEngine"]


def _qmc() -> Any:
    try:
        from scipy.stats import qmc  # optional: SciPy computes the Sobol' points
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "cr.quasirandom.SobolEngine needs SciPy: pip install scipy (or chainrule[all])"
        ) from exc
    return qmc


class SobolEngine:
    """A generator of Sobol' points in ``[0, 1)^dimension``.

    Args:
        dimension: the number of coordinates, 1 to :attr:`MAXDIM`.
        scramble: randomise the sequence (a linear matrix scramble and a digital shift).
        seed: the seed of the scrambling (None: drawn from chainrule's generator).

    Raises:
        ValueError: ``dimension`` outside ``[1, 21201]``.
    """

    MAXBIT = 30
    MAXDIM = 21201

    def __init__(self, dimension: int, scramble: bool = False, seed: int | None = None) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, (int, np.integer)):
            raise TypeError(
                f"SobolEngine: dimension must be an int, got {type(dimension).__name__}"
            )
        if not 1 <= dimension <= self.MAXDIM:
            raise ValueError(
                f"Supported range of dimensionality for SobolEngine is [1, {self.MAXDIM}]"
            )
        self.dimension = int(dimension)
        self.scramble = scramble
        self.seed = seed
        rng_seed = seed
        if scramble and seed is None:
            rng_seed = int(gen(None).integers(0, 2**63 - 1))
        self._engine = self._make(rng_seed)
        self.num_generated = 0

    def _make(self, rng_seed: int | None) -> Any:
        qmc = _qmc()
        try:  # SciPy 1.15+ names the seed ``rng``; older versions ``seed``
            return qmc.Sobol(self.dimension, scramble=self.scramble, bits=self.MAXBIT, rng=rng_seed)
        except TypeError:  # pragma: no cover - older SciPy
            return qmc.Sobol(
                self.dimension, scramble=self.scramble, bits=self.MAXBIT, seed=rng_seed
            )

    def draw(self, n: int = 1, out: Tensor | None = None, dtype: Any = None) -> Tensor:
        """The next ``n`` points, an ``(n, dimension)`` tensor of ``dtype`` (the default
        dtype when None); written into ``out`` (resized) when given, and ``out`` returned."""
        if n < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {n}: [{n}, {self.dimension}]"
            )
        with warnings.catch_warnings():  # SciPy warns of n not a power of two; torch does not
            warnings.filterwarnings("ignore", "The balance properties", UserWarning)
            points = self._engine.random(n)
        self.num_generated += n
        result = tensor(points, dtype=get_default_dtype() if dtype is None else as_dtype(dtype))
        if out is None:
            return result
        out.resize_(result.shape).copy_(result)
        return out

    def draw_base2(self, m: int, out: Tensor | None = None, dtype: Any = None) -> Tensor:
        """The next ``2**m`` points; the total drawn must stay a power of two (the balance
        properties of Sobol' points need it).

        Raises:
            ValueError: the points drawn so far plus ``2**m`` is not a power of two.
        """
        n = 2**m
        total = self.num_generated + n
        if total & (total - 1):
            raise ValueError(
                "The balance properties of Sobol' points require n to be a power of 2. "
                f"{self.num_generated} points have been previously generated, then: "
                f"n={self.num_generated}+2**{m}={total}. If you still want to do this, please "
                "use 'SobolEngine.draw()' instead."
            )
        return self.draw(n, out=out, dtype=dtype)

    def fast_forward(self, n: int) -> SobolEngine:
        """Skip the next ``n`` points; returns the engine."""
        self._engine.fast_forward(n)
        self.num_generated += n
        return self

    def reset(self) -> SobolEngine:
        """Back to the first point (the same scrambling); returns the engine."""
        self._engine.reset()
        self.num_generated = 0
        return self

    def __repr__(self) -> str:
        extra = ", scramble=True" if self.scramble else ""
        if self.seed is not None:
            extra += f", seed={self.seed}"
        return f"SobolEngine(dimension={self.dimension}{extra})"
