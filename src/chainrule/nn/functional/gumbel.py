"""``F.gumbel_softmax``: differentiable samples from a categorical distribution.

``y = softmax((logits + g) / tau)`` with Gumbel noise ``g = -log(-log(u))``; with ``hard=True``
the forward value is the one-hot of ``argmax(y)`` while the gradient is that of ``y`` (the
straight-through estimator), as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ...autograd.tensor import Tensor
from ...meta.array import MetaArray, meta_empty
from ...ops._util import as_tensor
from ...ops.softmax import softmax
from ...random import gen

__all__ = ["gumbel_softmax"]


def gumbel_softmax(
    logits: Tensor,
    tau: float = 1.0,
    hard: bool = False,
    eps: float = 1e-10,
    dim: int = -1,
) -> Tensor:
    """Gumbel-softmax samples over ``dim`` at temperature ``tau`` (``hard``: one-hot forward,
    soft gradient). ``eps`` is accepted for PyTorch compatibility (deprecated there, unused).

    Raises:
        ValueError: ``tau`` not positive.
    """
    x = as_tensor(logits)
    if not tau > 0:
        raise ValueError(f"gumbel_softmax: tau must be > 0, got {tau}")
    stream = gen(None)  # the default generator (torch's signature has no generator=)
    if type(x._data) is MetaArray:  # meta noise: nothing drawn, as PyTorch's meta
        noise = meta_empty(x.shape, x.dtype)
    elif hasattr(stream, "exponential_fill"):  # PyTorch's -log(exponential_()), same draws
        e = stream.exponential_fill(1.0, x.shape)  # inside vmap: per-sample (LogicalArray)
        with np.errstate(divide="ignore"):
            noise = -np.log((e if _per_sample(e) else np.asarray(e)).astype(x.dtype))
    else:
        u = stream.random(x.shape)
        noise = -np.log(-np.log(np.clip(u, np.finfo(np.float64).tiny, 1.0)))
    g = noise.astype(x.dtype, copy=False)
    y = softmax(
        (x + (Tensor._make(g, False, None, 0) if _per_sample(g) else Tensor._new(g))) / tau, dim
    )
    if not hard:
        return y
    d = dim % max(y.ndim, 1)
    index = np.expand_dims(np.argmax(y._data, axis=d), d)  # the first maximum, as PyTorch
    classes = np.arange(y.shape[d]).reshape([-1 if i == d else 1 for i in range(y.ndim)])
    one_hot = (index == classes).astype(y.dtype)  # elementwise: per sample inside vmap
    hot = Tensor._make(one_hot, False, None, 0) if _per_sample(one_hot) else Tensor._new(one_hot)
    return hot - y.detach() + y


def _per_sample(a) -> bool:
    """A per-sample raw array of ``cr.func.vmap`` (kept as is: a Tensor made from it is read
    as batched)."""
    return bool(getattr(a, "vmap_raw_array", False))
