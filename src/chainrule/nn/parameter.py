"""``Parameter``: a tensor that a Module registers as trainable when assigned to it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.tensor import Tensor
from ..autograd.torch_function import disabled_torch_function_impl


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` that ``Module.__setattr__`` registers.

    ``Parameter(t)`` shares ``t``'s memory, like PyTorch.
    """

    __torch_function__ = disabled_torch_function_impl  # results are plain Tensors (as torch)

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            arr = np.empty((0,), _dt.get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = Tensor._new(data)._data
        self._init_leaf(arr, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marker type for ``Module`` buffers assigned by attribute (``self.x = nn.Buffer(t)``)."""

    __torch_function__ = disabled_torch_function_impl

    def __init__(self, data: Any, persistent: bool = True):
        self._init_leaf(data._data if isinstance(data, Tensor) else Tensor._new(data)._data, False)
        self.persistent = persistent
