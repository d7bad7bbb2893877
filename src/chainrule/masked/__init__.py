"""``cr.masked`` (``torch.masked``): reductions that see only the elements a mask keeps, and
``MaskedTensor``, a tensor that carries its mask through ops.

- The functions ``sum``, ``prod``, ``amax``, ``amin``, ``argmax``, ``argmin``, ``mean``,
  ``median``, ``norm``, ``var``, ``std``, ``logsumexp`` (reductions), ``cumsum``,
  ``cumprod``, ``softmax``, ``log_softmax``, ``softmin``, ``normalize`` and ``logaddexp``
  take dense tensors and ``mask=`` and return dense tensors, with torch's values for a
  slice with no element in (``_reductions.py``, ``_normalizations.py``). They are
  differentiable through chainrule's autograd.
- ``masked_tensor(data, mask)`` / ``as_masked_tensor`` build a :class:`MaskedTensor`
  (``core.py``); what ops do with its mask is in ``_dispatch.py``.

>>> import chainrule as cr
>>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> cr.masked.sum(x, 1, mask=cr.tensor([[True, False], [False, False]]))
tensor([1., 0.])
"""

from __future__ import annotations

from . import _dispatch  # noqa: F401 - installs MaskedTensor's __torch_function__
from ._normalizations import cumprod, cumsum, log_softmax, logaddexp, normalize, softmax, softmin
from ._reductions import (
    amax,
    amin,
    argmax,
    argmin,
    logsumexp,
    mean,
    median,
    norm,
    prod,
    std,
    sum,  # noqa: A004 - mirrors torch.masked.sum
    var,
)
from .core import MaskedTensor, as_masked_tensor, is_masked_tensor, masked_tensor

__all__ = [
    "MaskedTensor",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "as_masked_tensor",
    "cumprod",
    "cumsum",
    "is_masked_tensor",
    "log_softmax",
    "logaddexp",
    "logsumexp",
    "masked_tensor",
    "mean",
    "median",
    "norm",
    "normalize",
    "prod",
    "softmax",
    "softmin",
    "std",
    "sum",
    "var",
]
