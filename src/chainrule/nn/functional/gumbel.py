"""``F.gumbel_softmax``: differentiable samples from a categorical distribution.

``y = softmax((logits + g) / tau)`` with Gumbel noise ``g = -log(-log(u))``; with ``hard=True``
the forward value is the one-hot of ``argmax(y)`` while the gradient is that of ``y`` (the
straight-through estimator), as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ...autograd.tensor import Tensor
from ...ops._util import as_tensor
from ...ops.softmax import softmax
from ...random import Generator, gen

__all__ = ["gumbel_softmax"]


def gumbel_softmax(
    logits: Tensor,
    tau: float = 1.0,
    hard: bool = False,
    eps: float = 1e-10,
    dim: int = -1,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Gumbel-softmax samples over ``dim`` at temperature ``tau`` (``hard``: one-hot forward,
    soft gradient). ``eps`` is accepted for PyTorch compatibility (deprecated there, unused).

    Raises:
        ValueError: ``tau`` not positive.
    """
    x = as_tensor(logits)
    if not tau > 0:
        raise ValueError(f"gumbel_softmax: tau must be > 0, got {tau}")
    stream = gen(generator)
    if hasattr(stream, "exponential_fill"):  # PyTorch's -log(exponential_()), same draws
        with np.errstate(divide="ignore"):
            noise = -np.log(np.asarray(stream.exponential_fill(1.0, x.shape)).astype(x.dtype))
    else:
        u = stream.random(x.shape)
        noise = -np.log(-np.log(np.clip(u, np.finfo(np.float64).tiny, 1.0)))
    y = softmax((x + Tensor._new(noise.astype(x.dtype))) / tau, dim)
    if not hard:
        return y
    index = y._data.argmax(axis=dim)
    one_hot = np.zeros(y.shape, dtype=y.dtype)
    np.put_along_axis(one_hot, np.expand_dims(index, dim), 1.0, axis=dim)
    return Tensor._new(one_hot) - y.detach() + y
