"""``accumulate_grad``: the one place a backward writes a leaf's ``.grad``.

What PyTorch's ``AccumulateGrad`` node does (``accumulate_grad.py`` is that node's public
view and its hooks): the first gradient laid out by PyTorch's gradient layout contract and
kept without a copy when nothing else holds it, later ones added in place, ``.grad``'s
version as PyTorch's, then the post-accumulate-grad hooks. It lived in ``engine.py`` until
session 40 (``engine`` re-exports it; ``Tensor.backward(inputs=...)`` and
``autograd.backward`` call it too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import grad_layout, grad_order, is_vmap_array, relaid_tensor
from ..backend import get_array_module, is_writeable
from .accumulate_grad import copied_version, relaid_version
from .engine_sparse import accumulate_sparse as _accumulate_sparse
from .post_accumulate import POST_ACCUMULATE_HOOKS, run_post_accumulate_grad_hooks
from .tensor import Tensor

__all__ = ["accumulate_grad"]


def accumulate_grad(t: Tensor, g: Tensor, create_graph: bool, owned: set | None) -> None:
    """Add ``g`` into ``t.grad``: the one place backward writes ``.grad``.

    The first gradient is laid out as PyTorch's gradient layout contract says: with the
    leaf's strides when the leaf is dense and non-overlapping, else row-major
    (:func:`~chainrule._layout.grad_layout`); later ones are added keeping ``.grad``'s
    layout. Without ``create_graph`` the first gradient's array becomes ``.grad`` directly
    when this backward made it, it is in that layout and nothing else holds it; otherwise
    it is copied, so that later in-place updates of ``.grad`` cannot alias another tensor.
    Later gradients are added into that ``.grad`` in place (PyTorch's accumulation: the same
    tensor object, its version bumped).
    ``owned`` holds the ids of arrays already handed out (and of the caller's own gradient
    arrays); None means the array may be shared and is always copied. Then ``t``'s
    post-accumulate-grad hooks run.
    """
    if (type(g) is not Tensor and g.is_sparse) or (
        t._grad is not None and type(t._grad) is not Tensor and t._grad.is_sparse
    ):
        _accumulate_sparse(t, g, create_graph)
    elif create_graph:
        t.grad = _first_grad(t, g) if t._grad is None else t._grad + g  # _grad: no warning
    else:
        arr = g._data
        if t._grad is None:
            # .grad's version as PyTorch's: the in-place sums of a gradient taken as it is,
            # 1 for a copy into the leaf's layout (copy_) or of the caller's gradient
            version = g._vc[0]
            if arr.base is None and arr.strides == t._data.strides:
                # the common case: a fresh (so dense) array in the leaf's own strides
                if owned is None or id(arr) in owned or not arr.flags.owndata:
                    version = copied_version(arr, owned, version)
                    arr = arr.copy(order="K")
            elif (
                type(arr) is np.ndarray
                and type(leaf := t._data) is np.ndarray
                and (leaf.ndim < 2 or leaf.flags.c_contiguous)
            ):
                # a row-major leaf's .grad is row-major (grad_layout's answer, inlined: ~0.5 us
                # less for a sum's expanded gradient); a copy unless the array already is
                if not arr.flags.c_contiguous:
                    arr, version = np.ascontiguousarray(arr), 1
                elif _shared(arr, owned):
                    version = copied_version(arr, owned, version)
                    arr = arr.copy(order="K")
            else:
                laid = grad_layout(arr, t._data)
                if laid is arr and _shared(arr, owned):
                    version = copied_version(arr, owned, version)
                    laid = arr.copy(order="K")  # a dense array keeps its strides
                elif laid is not arr:
                    version = relaid_version(t._data)
                arr = laid
            if owned is not None:
                owned.add(id(arr))
            t.grad = Tensor._make(arr, False, None, 0)
            if version:
                t._grad._vc[0] = version
        else:
            grad = t._grad
            old = grad._data
            if is_writeable(old) and old.shape == arr.shape and old.dtype == arr.dtype:
                # added into .grad in place, as PyTorch: a reference to t.grad (or a view of
                # it) taken after the last backward sees this one too
                get_array_module(old).add(old, arr, out=old)
                grad._vc[0] += 1
            elif old.ndim and old.flags.c_contiguous:  # NumPy's sum is row-major then too
                t.grad = Tensor._make(old + arr, False, None, 0)
            else:  # .grad's layout kept (NumPy's would be row-major; a scalar for 0-d)
                out = np.add(old, arr, out=get_array_module(old).empty_like(old))
                t.grad = Tensor._make(out, False, None, 0)
    if POST_ACCUMULATE_HOOKS:  # Tensor.register_post_accumulate_grad_hook
        run_post_accumulate_grad_hooks(t, create_graph)


def _shared(arr: Any, owned: set | None) -> bool:
    """Whether ``arr`` may be held elsewhere, so that ``.grad`` must not be it (see
    :func:`accumulate_grad`)."""
    return owned is None or id(arr) in owned or arr.base is not None or not arr.flags.owndata


def _first_grad(t: Tensor, g: Tensor) -> Tensor:
    """``g`` (recorded, for ``create_graph``) in the layout of ``t``'s first ``.grad``
    (:func:`accumulate_grad`): a differentiable copy, ``contiguous`` between two permutes,
    when it is not in it already."""
    arr, leaf = g._data, t._data
    if type(g) is not Tensor or is_vmap_array(arr) or is_vmap_array(leaf):
        return g  # a cr.func.vmap batched gradient: its layout is the batch's
    if leaf.flags.c_contiguous and arr.flags.c_contiguous:
        return g  # the common case
    return relaid_tensor(g, grad_order(leaf))
