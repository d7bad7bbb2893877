"""PyTorch's ``'meta'`` device: tensors with a shape and a dtype but no data.

``array.py`` holds ``MetaArray`` (a zero-stride ndarray subclass, what marks a raw array
as meta) and its ufunc rules; ``functions.py`` the shape rules of ``np.*`` functions;
``forward.py`` how ``Function.apply`` runs an op on meta inputs; ``strides.py`` the strides
and storage offset PyTorch keeps on a meta tensor, carried beside the zero real ones.
"""

from __future__ import annotations

from .array import COPY_OUT, ITEM_ERROR, MetaArray, as_meta, follow, is_meta, meta_empty

__all__ = ["COPY_OUT", "ITEM_ERROR", "MetaArray", "as_meta", "follow", "is_meta", "meta_empty"]
