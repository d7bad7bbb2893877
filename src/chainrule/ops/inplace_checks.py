"""The guards an in-place write passes before it writes: leaf and inference-tensor rules,
writable (non-expanded, non-read-only) memory, and whether autograd must record the write.

PyTorch refuses an in-place op on a leaf that requires grad, on an inference tensor outside
inference mode and on memory where several elements share one location (an expanded view),
with the errors reproduced here; a write autograd does not record (``uniform_``,
``index_put_`` on plain data) is refused into a tensor that requires grad. Kept apart from
:mod:`.inplace` (which runs the write) so both stay one concern each; the subscript writes,
the samplers and ``load_state_dict`` use these guards too.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.forward_ad_captures import GUARDING as _GUARDING
from ..autograd.forward_ad_captures import check_captured_write
from ..autograd.saved import memory_root
from ..autograd.tensor import Tensor
from ..autograd.view_errors import LEAF_MESSAGE, check_view_write
from ..autograd.view_flat import data_pointer
from ..backend import is_writeable
from ..meta.array import MetaArray

__all__ = [
    "INFERENCE_INPLACE_MESSAGE",
    "InPlaceCastError",
    "InPlaceShapeError",
    "check_leaf",
    "check_unrecorded_write",
    "check_writable_memory",
    "writes_into_graph",
]


class InPlaceCastError(TypeError, RuntimeError):
    """An in-place op whose result dtype cannot be written into the tensor (a float result
    into an integer tensor). PyTorch raises RuntimeError ("result type Float can't be cast to
    the desired output type Long"); chainrule raised TypeError: this is both, so code written
    for either keeps catching it."""


class InPlaceShapeError(ValueError, RuntimeError):
    """An in-place op whose result has another shape than the tensor (``x.add_(y)`` with
    ``y`` broadcasting ``x`` to a larger shape). PyTorch raises RuntimeError ("output with
    shape [1, 4] doesn't match the broadcast shape [3, 4]"); chainrule raised ValueError: this
    is both, so code written for either keeps catching it."""


def check_leaf(x: Tensor, name: str) -> None:
    """Refuse an in-place write into a leaf that requires grad (grad mode on), into a view
    made under ``no_grad`` of one, or into an inference tensor outside inference mode."""
    if _GUARDING[0]:
        check_captured_write(x, name)
    view = x._view  # (a view's grad_fn is read through the property: a stale one re-taken)
    if (
        x.requires_grad
        and grad_mode.is_grad_enabled()  # (first: under no_grad a stale view is not re-taken)
        and (x._grad_fn if view is None else x.grad_fn) is None
    ):
        if view is not None:  # a view made under no_grad: PyTorch's error for those
            check_view_write(x, name)
        raise RuntimeError(LEAF_MESSAGE)  # PyTorch's text, word for word (no op named)
    # An inference tensor outside inference mode is refused when the write bumps its version
    # (InferenceVersionCounter.__setitem__), after the write, as PyTorch's check runs after
    # its kernel: the tensor holds the new value when the error is raised (session 43; it
    # was refused here, before the write)


# PyTorch's words (its run-on sentences kept) for an in-place write into an inference tensor
# outside inference_mode (state.InferenceVersionCounter raises them for the other paths)
INFERENCE_INPLACE_MESSAGE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)


# In-place ops PyTorch lets write into an expanded tensor with a deprecation warning (its
# message, by op) instead of refusing: their writes put one value where elements share memory
_EXPANDED_WARNED = {
    "index_fill_": "tensor[mask] = scalar",
    "masked_fill_": "tensor[mask] = scalar",
    "index_put_": "tensor[indices] = tensor",
}
# In-place ops PyTorch lets write into an expanded tensor silently (they write some elements
# only, one after another: ``write_spread``); fill_/zero_ are checked by their caller
_EXPANDED_ALLOWED = frozenset(("tril_", "triu_", "fill_diagonal_"))


def check_writable_memory(
    x: Tensor, name: str, region: Any = None, allow_overlap: bool = False
) -> bool:
    """Refuse in-place writes into an expanded tensor (elements sharing one memory location),
    as PyTorch does; make other views of an expanded tensor's memory writable.

    ``expand``/``broadcast_to`` give read-only NumPy views with zero strides; writing into
    them would write one value for many logical elements. ``region`` is the part of ``x``
    actually written (``x[0] = v`` on an expanded ``x`` writes a row that overlaps nothing,
    which PyTorch allows); ``allow_overlap`` is for ``fill_``/``zero_``, whose one value is
    right for every element sharing a location (PyTorch allows those too). Inside a grad
    transform a captured ``x`` is refused (:func:`check_captured_write`), except as an
    ``out=`` target (``name`` ``"op()"``), which PyTorch allows. ``index_fill_``,
    ``masked_fill_`` and ``index_put_`` write into an expanded ``x`` with PyTorch's deprecation
    warning, ``tril_``, ``triu_`` and ``fill_diagonal_`` without one: True is returned then
    (the write must go element by element, as :func:`.inplace_overlap.write_spread`), else False.
    """
    if _GUARDING[0] and not name.endswith("()"):
        check_captured_write(x, name)
    d = x._data
    target = d if region is None else region
    overlapping = (
        not allow_overlap
        and target.size > 1  # an empty tensor has no elements to share a location
        and 0 in target.strides  # (a C-level test first: the generator only for a 0 stride)
        and type(d) is not MetaArray  # a meta tensor's zero strides hold no data to share
        and any(st == 0 and n > 1 for st, n in zip(target.strides, target.shape))
    )
    spread = overlapping and name in _EXPANDED_WARNED
    if spread:
        warnings.warn(
            f"Use of {name} on expanded tensors is deprecated. Please clone() the tensor "
            "before performing this operation. This also applies to advanced indexing e.g. "
            f"{_EXPANDED_WARNED[name]}",
            UserWarning,
            stacklevel=4,
        )
        overlapping = False
    elif overlapping and name in _EXPANDED_ALLOWED:
        spread, overlapping = True, False
    writable = getattr(d.flags, "writeable", True)
    if not overlapping and not writable:
        alias = _writable_alias(d)  # read-only only because it came from an expanded view
        if alias is not None:
            x._data = alias
            return spread
    if overlapping:  # PyTorch's message, after the op's name
        raise RuntimeError(
            f"{name}: unsupported operation: more than one element of the written-to tensor "
            "refers to a single memory location. Please clone() the tensor before performing "
            "the operation."
        )
    if not writable:
        raise RuntimeError(
            f"{name}: unsupported operation: the written-to tensor (shape {tuple(x.shape)}) "
            "is read-only memory (an expanded view, or a read-only array). Please clone() the "
            "tensor before performing the operation."
        )
    return spread


def _writable_alias(arr: Any) -> Any:
    """``arr`` (a read-only NumPy view) over the same memory, writable, when the array that
    owns the memory is writable; else None."""
    root = memory_root(arr)
    if not isinstance(arr, np.ndarray) or not isinstance(root, np.ndarray):
        return None  # (memory owned by another object, e.g. a DLPack capsule's)
    if not is_writeable(root):
        return None
    if not root.flags.contiguous:  # a dense block in another order (F-order, transposed):
        flat = root.ravel(order="K")  # its elements in memory order, as a view when dense
        if not np.may_share_memory(flat, root) or not is_writeable(flat):
            return None
        root = flat
    offset = data_pointer(arr) - data_pointer(root)
    if offset < 0:
        return None
    return np.ndarray(arr.shape, arr.dtype, buffer=root, offset=offset, strides=arr.strides)


def check_unrecorded_write(x: Tensor, name: str) -> None:
    """Guard a write that autograd does not record (``uniform_``, ``normal_``,
    ``index_put_``): the memory must be writable, and ``x`` must not require grad while
    grad mode is on (the write would silently detach the values from the graph)."""
    if _GUARDING[0]:
        check_captured_write(x, name)
    if x._view is not None and not x._view.grad_mode and writes_into_graph(x):
        check_view_write(x, name)  # a view made under no_grad: PyTorch's error for those
    check_writable_memory(x, name)
    if writes_into_graph(x):
        raise RuntimeError(
            f"{name}: in-place writes into a tensor that requires grad (or a view of one) are not "
            "recorded; wrap them in `with cr.no_grad():` (e.g. for weight init)"
        )


def writes_into_graph(x: Tensor) -> bool:
    """Whether an in-place write into ``x`` must be recorded: grad mode is on and ``x``, or
    the base it is a view of, requires grad."""
    if not grad_mode.is_grad_enabled():
        return False
    return x.requires_grad or (x._view is not None and x._view.base.requires_grad)
