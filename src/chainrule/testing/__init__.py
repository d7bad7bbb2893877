"""Testing helpers, mirroring ``torch.testing``: :func:`assert_close` (compare tensors,
arrays, numbers and nested containers within dtype-dependent tolerances, with PyTorch's
failure messages), :func:`make_tensor` (random test tensors of any shape and dtype) and the
deprecated :func:`assert_allclose`."""

from __future__ import annotations

from ._comparison import assert_allclose, assert_close
from ._creation import make_tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]
