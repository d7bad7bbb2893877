"""``chainrule.storage``: PyTorch's storage API (``torch.storage``).

A storage is the memory block behind tensors: ``UntypedStorage`` its bytes,
``TypedStorage`` (deprecated in PyTorch) its elements of one dtype. ``Tensor.untyped_storage()``,
``Tensor.storage()`` and ``Tensor.set_()`` are the tensor methods built on them
(:mod:`.tensor_methods`). ``cr.is_storage`` (``ops/tensor_queries.py``) recognises both.
"""

from __future__ import annotations

from .tensor_methods import set_, storage, untyped_storage
from .typed import TypedStorage
from .untyped import UntypedStorage

__all__ = ["TypedStorage", "UntypedStorage", "set_", "storage", "untyped_storage"]
