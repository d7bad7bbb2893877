"""Coordinate grids: ``meshgrid`` (broadcast views of 1-d inputs, so gradients flow back to
them) and ``cartesian_prod`` (their combinations as rows), as PyTorch's, with its checks and
its warning for a missing ``indexing``. Moved out of ``structural.py`` (diagonals, windows,
repeats) in session 38."""

from __future__ import annotations

from typing import Any

from .._user_warnings import warn_once
from ..autograd.tensor import Tensor
from ._tensor_args import torch_type_name
from ._util import as_tensor
from .shape import reshape, stack

__all__ = ["cartesian_prod", "meshgrid"]


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-d tensors (``indexing='ij'`` matrix or ``'xy'`` Cartesian;
    None is ``'ij'`` with PyTorch's warning, once per process, that it will be required).

    The grids are broadcast views of the inputs, so gradients flow back to them.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is not None and type(indexing) is not str:  # PyTorch's parser: a str
        raise TypeError(
            f"meshgrid(): argument 'indexing' must be str, not {torch_type_name(indexing)}"
        )
    if indexing is None:
        warn_once(
            "meshgrid_indexing",
            # PyTorch's text, word for word: filters match it by its start
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.",
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    ts = [as_tensor(t) for t in tensors]
    if len({t.dtype for t in ts}) > 1:  # PyTorch refuses to promote (checked before the ranks)
        raise RuntimeError(
            "meshgrid expects all tensors to have the same dtype, got "
            + ", ".join(str(t.dtype) for t in ts)
        )
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0-d or 1-d tensors, got shape {tuple(t.shape)}")
    ts = [reshape(t, -1) for t in ts]
    n = len(ts)
    swap = indexing == "xy" and n >= 2
    order = list(range(n))
    if swap:
        order[0], order[1] = 1, 0
    shape = [ts[i].shape[0] for i in order]
    grids = []
    for i, t in enumerate(ts):
        pos = order.index(i)
        view = [1] * n
        view[pos] = -1
        grids.append(reshape(t, tuple(view)).expand(*shape))
    return tuple(grids)


def cartesian_prod(*tensors: Any) -> Tensor:
    """All combinations of the elements of 1-d tensors, as rows (a 1-d input is returned)."""
    for t in tensors:
        if as_tensor(t).ndim != 1:
            raise RuntimeError(
                f"cartesian_prod: expected 1-d tensors, got shape {tuple(as_tensor(t).shape)}"
            )
    if len(tensors) == 1:
        return as_tensor(tensors[0])
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)
