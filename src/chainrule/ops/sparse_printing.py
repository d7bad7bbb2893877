"""How a sparse tensor prints: PyTorch's ``repr`` of every sparse layout.

``tensor(indices=tensor(...), values=tensor(...), size=..., nnz=..., layout=...)``: each
index or values array printed as the inner ``tensor(...)`` of a dense tensor, then the
suffixes laid out as a dense tensor's (``printing.add_suffixes``). On the meta device there
are no values to print: PyTorch writes ``tensor(..., size=(...))`` for each array and leaves
out ``nnz=``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from .. import printing as _printing
from ..autograd.tensor import Tensor
from ..backend import to_device
from ..meta.array import MetaArray

__all__ = ["grad_suffix", "sparse_repr"]


def sparse_repr(t: Any, fields: list, layout: Any, force_newline: bool) -> str:
    """``repr`` of a sparse tensor as PyTorch prints it: ``tensor(name=tensor(...), ...``
    for each (name, array) of ``fields``, then the size, nnz, dtype, layout and grad suffixes
    laid out as a dense tensor's (``printing.add_suffixes``)."""
    values = t._sp_values
    lead = " " * len("tensor(")
    meta = type(values._data) is MetaArray
    parts = [f"{name}=" + _body(arr, f"tensor({name}=", meta) for name, arr in fields]
    tail = []
    if values.device.type != "cpu":
        tail.append(f"device='{values.device}'")
    tail.append(f"size={tuple(t._data.shape)}")
    if not meta:  # PyTorch prints no nnz for a meta tensor
        tail.append(f"nnz={t._nnz()}")
    dt = values.dtype
    # as a dense tensor's: the default dtype, int64, bool and the default complex are implied
    implied = (np.dtype(np.int64), np.dtype(np.bool_), _dt.get_default_complex_dtype())
    if dt != _dt.get_default_dtype() and dt not in implied:
        tail.append(f"dtype={dt}")
    tail.append(f"layout={layout!r}")
    tail += grad_suffix(values)
    text = "tensor(" + (",\n" + lead).join(parts)
    return _printing.add_suffixes(text, tail, len(lead), force_newline=force_newline)


def grad_suffix(values: Tensor) -> list[str]:
    """The repr's autograd suffix: the node that made the values, as PyTorch prints the
    sparse tensor's ``grad_fn``, or ``requires_grad=True`` for values that are a leaf."""
    if values.grad_fn is not None:
        return [f"grad_fn=<{values.grad_fn.name()}>"]
    return ["requires_grad=True"] if values.requires_grad else []


def _body(arr: Any, prefix: str, meta: bool) -> str:
    """A dense array printed as the inner ``tensor(...)`` of a sparse repr (``...`` and its
    size for a meta tensor's)."""
    if meta:
        return f"tensor(..., size={tuple(arr.shape)})"
    arr = to_device(arr, "cpu")
    text = _printing.values_text(arr, len(prefix) + len("tensor("))
    size = f", size={tuple(arr.shape)}" if arr.size == 0 else ""
    return "tensor(" + text + size + ")"
