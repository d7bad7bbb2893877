"""PyTorch's reading of ``norm``'s order ``p`` where it is no plain number nor one of the
names ``norm`` knows ('fro', 'nuc', 'inf'): a NumPy number or a 0-d real tensor is read as
the Python number it holds (``x.norm(cr.tensor(1.5))`` is the 1.5-norm, as in torch); any
other string is ``linalg.matrix_norm``'s RuntimeError, a complex order
``linalg.vector_norm``'s, and anything else (a tuple, a list, a tensor with elements) the
TypeError of ``linalg_vector_norm``'s ``Scalar ord``. Called on ``norm``'s error path only,
so a valid call pays nothing.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._tensor_args import torch_type_name
from ._util import torch_words

__all__ = ["norm_order", "refuse_norm_keepdim"]


def _torch_words(err: Exception) -> Exception:
    """``err`` marked as PyTorch's own text, which a composite (``F.normalize``) re-raises
    without its own name in front (see ``_util.lead_with``)."""
    return torch_words(err)


def norm_order(p: Any) -> float | int:
    """``p`` (which ``norm`` could not use as given) as the real number PyTorch reads, or
    PyTorch's error for it."""
    if isinstance(p, (np.number, np.bool_)) or (isinstance(p, Tensor) and p.ndim == 0):
        p = p.item()
    if isinstance(p, str):
        raise _torch_words(RuntimeError(f"linalg.matrix_norm: Order {p} not supported."))
    if isinstance(p, complex):
        raise _torch_words(
            RuntimeError("linalg.vector_norm: Expected a non-complex scalar as the order of norm.")
        )
    if not isinstance(p, numbers.Real):
        raise _torch_words(
            TypeError(
                "linalg_vector_norm(): argument 'ord' (position 2) must be Number, not "
                f"{torch_type_name(p)}"
            )
        )
    return p


_MATRIX_NORM_FORMS = (
    " * (Tensor input, Number ord, tuple of ints dim = {-2,-1}, bool keepdim = False, *, "
    "torch.dtype dtype = None, Tensor out = None)\n"
    ' * (Tensor input, str ord = "fro", tuple of ints dim = {-2,-1}, bool keepdim = False, *, '
    "torch.dtype dtype = None, Tensor out = None)\n"
)


def refuse_norm_keepdim(p: Any, dim: Any, keepdim: Any, dtype: Any) -> None:
    """PyTorch's TypeError for ``norm``'s ``keepdim`` that is no Python bool (``None``, an
    int, a NumPy bool): ``linalg_vector_norm``'s parser error, or for ``p='nuc'``
    ``linalg_matrix_norm``'s invalid combination (``dim=None`` reaches it as a list)."""
    if p == "nuc":
        dims = "list" if dim is None else torch_type_name(dim)
        raise TypeError(
            "linalg_matrix_norm() received an invalid combination of arguments - got "
            f"(Tensor, str, {dims}, {torch_type_name(keepdim)}, "
            f"dtype={torch_type_name(dtype)}), but expected one of:\n{_MATRIX_NORM_FORMS}"
        )
    raise TypeError(
        "linalg_vector_norm(): argument 'keepdim' (position 4) must be bool, not "
        f"{torch_type_name(keepdim)}"
    )
