"""Meta results for ops that compute outside ``Function.apply``.

Most ops reach a meta input's data only through NumPy's protocols (``meta/array.py``), so
their results come out meta by themselves. An op that first converts its input with
``np.asarray(x._data)`` gets a plain zero-stride array of zeros instead, and would build a
CPU tensor of zeros from it (a silent wrong answer) or fail a value check on the zeros (a
probability sum of zero, a singular matrix). Such ops ask :func:`any_meta` where their
slow path already converts, and answer as PyTorch's meta kernels do: a meta result of the
right shape and dtype (:func:`meta_result`, no generator drawn from), or PyTorch's
NotImplementedError for an operator that has no meta kernel (:func:`refuse_meta`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import DEFAULT_DEVICE, is_meta_device
from .array import ITEM_ERROR, MetaArray, meta_empty

__all__ = ["any_meta", "meta_one_hot", "meta_result", "no_meta_kernel", "refuse_meta", "to_meta"]


def any_meta(*tensors: Any) -> bool:
    """Whether any of ``tensors`` (Tensors, arrays or anything else) is on the meta device."""
    for t in tensors:
        if type(getattr(t, "_data", t)) is MetaArray:
            return True
    return False


def meta_result(shape: Any, dtype: Any) -> Any:
    """A new meta tensor (a leaf, no grad) of ``shape`` and ``dtype``."""
    from ..autograd.tensor import Tensor  # noqa: PLC0415 - the tensor imports meta

    return Tensor._make(meta_empty(tuple(shape), dtype), False, None, 0)


def to_meta(device: Any) -> bool:
    """Whether a factory given ``device`` (None: the default device) makes meta tensors:
    then it draws nothing (PyTorch leaves the generator as it is for meta draws)."""
    return bool((device is not None or DEFAULT_DEVICE[0]) and is_meta_device(device))


def no_meta_kernel(op: str) -> str:
    """PyTorch's message for an operator with no meta kernel (``op``: its aten name)."""
    return (
        f"aten::{op}: attempted to run this operator with Meta tensors, but there was no fake "
        "impl or Meta kernel registered. You may have run into this message while using an "
        "operator with PT2 compilation APIs (torch.compile/torch.export); in order to use this "
        "operator with those APIs you'll need to add a fake impl. Please see the following for "
        "next steps:  https://pytorch.org/tutorials/advanced/custom_ops_landing_page.html"
    )


def refuse_meta(op: str, *tensors: Any) -> None:
    """Raise PyTorch's NotImplementedError for ``op`` when any of ``tensors`` is meta."""
    if any_meta(*tensors):
        raise NotImplementedError(no_meta_kernel(op))


def meta_one_hot(labels: MetaArray, num_classes: int) -> Any:
    """``one_hot`` of meta labels: (*labels.shape, num_classes) int64, their values
    unchecked; without ``num_classes`` PyTorch reads the largest label (``item()``), which
    a meta tensor does not have."""
    if num_classes < 0:
        raise RuntimeError(ITEM_ERROR)
    return meta_result((*labels.shape, num_classes), np.int64)
