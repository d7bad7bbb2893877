"""``TensorProperties``: what a tensor can be asked about itself -- shape, dtype, device,
the kind of device, leaf-ness, views and versions, and the sequence protocol (``len``, ``iter``).

A mixin of :class:`~chainrule.autograd.tensor.Tensor`, kept apart so that ``tensor.py`` stays
about a tensor's state and how it enters the graph. Everything here only reads the slots
(``_data``, ``_view``, ``_vc``); ``shape`` and ``dtype`` are on every op's path, so they read
the array directly and build nothing they need not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from .. import autograd as _autograd  # the package (for view_replay), bound at import time
from ..backend import Device, device_of
from ..dtype_objects import _PUBLIC as _PUBLIC_DTYPES
from ..dtype_objects import public_dtype
from ..meta.array import MetaArray
from ..size import Size
from . import view_base as _view_base
from .state import InferenceVersionCounter
from .view_base import hidden_in_jvp, stale_no_grad_view

if TYPE_CHECKING:  # annotations only: tensor.py imports this module
    from .tensor import Tensor

__all__ = ["TensorProperties"]

_new_tuple = tuple.__new__  # Size(shape) without re-checking NumPy's ints


class TensorProperties:
    """Shape, dtype, device and view queries of :class:`Tensor` (a mixin)."""

    __slots__ = ()

    @property
    def shape(self) -> Size:
        return _new_tuple(Size, self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The tensor's ``torch.dtype`` (:class:`chainrule.dtype`; a NumPy dtype too)."""
        try:
            return _PUBLIC_DTYPES[self._data.dtype]
        except KeyError:  # a dtype not seen before
            return public_dtype(self._data.dtype)

    @property
    def device(self) -> Device:
        return device_of(self._data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user (or not requiring grad). As in PyTorch, a
        view made under ``no_grad`` whose base requires grad and was modified in place since
        refuses to answer (RuntimeError): its history cannot be told."""
        if self._view is not None and stale_no_grad_view(self):
            _autograd.view_replay.refuse_stale_no_grad_view(self)
        if _view_base._HIDING and hidden_in_jvp(self):  # inside cr.func.jvp's f: a leaf
            return True  # to the user's code, as torch.func's wrapped tensors
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    @property
    def is_meta(self) -> bool:
        """Whether the tensor is on the meta device (a shape and dtype, no data)."""
        return type(self._data) is MetaArray

    @property
    def is_mps(self) -> bool:
        """False: chainrule has no Apple-GPU backend (``cr.backends.mps``)."""
        return False

    @property
    def is_xpu(self) -> bool:
        """False: chainrule has no Intel-GPU backend."""
        return False

    @property
    def _base(self) -> "Tensor | None":
        """The tensor this one is a view of (the root of the chain of views), or None."""
        return None if self._view is None else self._view.base

    def _is_view(self) -> bool:
        """True if this tensor is a view of another (shares its memory and versions)."""
        return self._view is not None

    def _refresh_view(self) -> None:
        """Re-take this view from its base's current history after the base was modified
        in place (called by ``Function.apply``; see :mod:`chainrule.autograd.view_replay`)."""
        _autograd.view_replay.refresh_view(self)

    @property
    def _version(self) -> int:
        """How many times this tensor (or a view of it) was modified in place."""
        if type(self._vc) is InferenceVersionCounter:
            raise RuntimeError(
                "_version: inference tensors (created inside cr.inference_mode()) do not track "
                "a version counter; clone() it outside inference_mode for one that does"
            )
        return self._vc[0]

    def size(self, dim: int | None = None):
        if dim is None:
            return _new_tuple(Size, self._data.shape)
        n = self._data.ndim
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
            raise IndexError(
                f"size: dimension {dim!r} is out of range for a tensor of shape "
                f"{self._data.shape} (valid dims: {-n} to {n - 1})"
            )
        return self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self._data.shape[0]):
            yield self[i]
