"""Pickling and shallow-copying a tensor, as PyTorch does.

``pickle.dumps(t)`` keeps what PyTorch's pickle keeps: the values (dtype, shape), the class (a
``Parameter`` stays a ``Parameter``; a subclass keeps its ``__dict__``), ``requires_grad`` and
the device. The result is a new leaf with its own memory; the gradient and the graph are not
pickled (a graph output comes back as a leaf that requires grad, as in PyTorch).
``copy.copy(t)`` is a new tensor object sharing ``t``'s memory, as PyTorch's.

Unpickling calls only :func:`rebuild_tensor` on plain arrays, but unpickling untrusted bytes is
unsafe in any Python program: files go through ``cr.save`` / ``cr.load``, whose reader
(``serialization/``) never runs code from the file. Worker processes use their own reducers
(``utils/data/worker.py``, ``multiprocessing/``), which take precedence over these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module, to_device
from ..meta.array import MetaArray

__all__ = ["rebuild_tensor", "reduce_tensor", "shallow_copy"]


def reduce_tensor(t: Any) -> tuple:
    """``t.__reduce__()``: the rebuild function and its arguments (a host copy of the
    values; the class, requires_grad, device and the subclass's own attributes)."""
    data = t._data
    if t.is_sparse:
        raise NotImplementedError(
            "pickling a sparse tensor is not supported by chainrule; pickle "
            "(t.indices(), t.values(), t.shape), or use cr.save"
        )
    xp = get_array_module(data)
    if type(data) is MetaArray:  # no values: a meta array in its strides (torch's keep them)
        host = data.copy("K")
    else:
        host = np.asarray(data if xp is np else xp.asnumpy(data), order="C")  # keeps 0-d
    device = str(t.device)
    state = dict(getattr(t, "__dict__", None) or {})
    return rebuild_tensor, (type(t), host, bool(t.requires_grad), device, state)


def rebuild_tensor(cls: type, array: Any, requires_grad: bool, device: str, state: dict) -> Any:
    """A leaf of class ``cls`` over ``array`` (moved to ``device``), with ``state`` as its
    attributes."""
    new = object.__new__(cls)
    data = np.array(array, copy=True) if not array.flags.writeable else array
    new._init_leaf(data if device == "cpu" else to_device(data, device), requires_grad)
    if state:
        new.__dict__.update(state)
    return new


def shallow_copy(t: Any) -> Any:
    """``copy.copy(t)``: a new leaf of the same class over the same memory (writes through
    either show in both, as in PyTorch), with ``t``'s requires_grad and attributes."""
    new = object.__new__(type(t))
    new._init_leaf(t._data, bool(t.requires_grad))
    state = getattr(t, "__dict__", None)
    if state:
        new.__dict__.update(state)
    return new
