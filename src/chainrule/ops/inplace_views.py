"""In-place changes of a tensor's shape: ``t_``, ``transpose_``, ``swapdims_``, ``swapaxes_``,
``squeeze_``, ``unsqueeze_`` (PyTorch's ``Tensor``-only in-place view ops).

As in PyTorch the tensor itself becomes the view (its shape and strides change, its memory
does not), its version counter is bumped and, when recorded, its ``grad_fn`` becomes the
view op's node, under PyTorch's name for the in-place form (``unsqueeze_`` is
``UnsqueezeBackward1``, ``squeeze_`` ``SqueezeBackward3/4/5``, ``t_`` ``TBackward1``,
``transpose_`` / ``swapdims_`` / ``swapaxes_`` ``TransposeBackward1``, ``as_strided_``
``AsStridedBackward1``: :func:`_in_place_node`; the computation and saved fields are the
out-of-place op's). ``detach_`` is here too. Bound through ``_TENSOR_ONLY`` in
``ops/__init__.py``. Inside a grad transform of ``cr.func`` each refuses a captured tensor,
as PyTorch does (:func:`~chainrule.autograd.forward_ad_captures.check_captured_write`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd import grad_mode
from ..autograd.forward_ad_captures import GUARDING as _GUARDING
from ..autograd.forward_ad_captures import check_captured_write
from ..autograd.node import _node_type
from ..autograd.tensor import Tensor
from ..autograd.view_errors import LEAF_MESSAGE, check_view_write
from .permutations import t as _t
from .permutations import transpose
from .views import squeeze, unsqueeze

__all__ = [
    "detach_",
    "metadata_inplace",
    "squeeze_",
    "swapaxes_",
    "swapdims_",
    "t_",
    "transpose_",
    "unsqueeze_",
]


def metadata_inplace(x: Tensor, name: str, fn: Callable, *args: Any) -> Tensor:
    """Make ``x`` itself the view ``fn(x, *args)`` (PyTorch's in-place view ops). Inside a
    grad transform of ``cr.func`` a captured ``x`` is refused, as PyTorch refuses it (the
    change of shape is a mutation of the tensor: :func:`check_captured_write`); ``name`` may
    carry PyTorch's overload (``squeeze_.dim``), which the messages name."""
    if _GUARDING[0]:
        check_captured_write(x, name)
    name = name.partition(".")[0]
    if x.requires_grad and grad_mode.is_grad_enabled() and x.grad_fn is None:  # (no_grad first)
        if x._view is not None:  # a view made under no_grad: PyTorch's error for those
            check_view_write(x, name)
        raise RuntimeError(LEAF_MESSAGE)  # PyTorch's text, word for word
    if x._view is not None and x.requires_grad and grad_mode.is_grad_enabled():
        check_view_write(x, name)  # a view of a leaf that requires grad: PyTorch's error
    out = fn(x, *args)
    node = out._grad_fn  # (the slot: out, a view of x, is stale once x's version moves)
    if node is not None:
        _in_place_node(node)
    x._data = out._data
    x._vc[0] += 1
    if node is not None:
        x._grad_fn, x._output_nr = node, out._output_nr
    if x._fw_tangent is not None:
        x._fw_tangent = out._fw_tangent
    if x._view is not None and out._view is not None:
        x._view = out._view  # still a view of the same base, now in the new layout
        x._view.version = x._vc[0]
    return x


# PyTorch's node names for the in-place view ops, by the out-of-place op's name
_IN_PLACE_NAMES = {
    "SqueezeBackward0": "SqueezeBackward3",  # squeeze_()
    "SqueezeBackward1": "SqueezeBackward4",  # squeeze_(dim)
    "SqueezeBackward2": "SqueezeBackward5",  # squeeze_(dims)
    "UnsqueezeBackward0": "UnsqueezeBackward1",
    "TBackward0": "TBackward1",
    "TransposeBackward0": "TransposeBackward1",
    "AsStridedBackward0": "AsStridedBackward1",
}
_RENAMED: dict[tuple[type, str], type] = {}


class _NamedAs:
    """``node`` read under its out-of-place name: what the out-of-place Function's
    ``saved_fields`` (keyed by its node's name) expects."""

    def __init__(self, node: Any, name: str):
        self._node, self._name = node, name

    def name(self) -> str:
        return self._name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._node, attr)


def _renamed(fn: type, old: str, new: str) -> type:
    """``fn`` (the out-of-place view's Function) recording under ``new``: the same forward,
    backward and jvp, and the saved fields ``fn`` declares for ``old``."""
    cls = _RENAMED.get((fn, new))
    if cls is None:
        spec = getattr(fn, "saved_fields", None)
        attrs: dict[str, Any] = {"node_name": new, "__module__": fn.__module__}
        if callable(spec):
            attrs["saved_fields"] = staticmethod(lambda node: spec(_NamedAs(node, old)))
        cls = type(new[:-1], (fn,), attrs)
        cls._node_type = _node_type(new)
        _RENAMED[(fn, new)] = cls
    return cls


def _in_place_node(node: Any) -> None:
    """Give the node just recorded by the out-of-place view op PyTorch's in-place name."""
    old = node.name()
    new = _IN_PLACE_NAMES.get(old)
    if new is None or node._forward_cls is None:
        return
    node._forward_cls = _renamed(node._forward_cls, old, new)
    node.__class__ = _node_type(new)


def t_(x: Tensor) -> Tensor:
    """In-place ``t()``: ``x`` becomes its own transpose (at most 2 dims)."""
    return metadata_inplace(x, "t_", _t)


def transpose_(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place ``transpose(dim0, dim1)``."""
    return metadata_inplace(x, "transpose_", transpose, dim0, dim1)


def swapdims_(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place ``swapdims`` (``transpose_``)."""
    return metadata_inplace(x, "swapdims_", transpose, dim0, dim1)


def swapaxes_(x: Tensor, axis0: int, axis1: int) -> Tensor:
    """In-place ``swapaxes`` (``transpose_``)."""
    return metadata_inplace(x, "swapaxes_", transpose, axis0, axis1)


def squeeze_(x: Tensor, dim: Any = None) -> Tensor:
    """In-place ``squeeze``: drop size-1 dims (all, or those in ``dim``)."""
    many = isinstance(dim, (tuple, list))
    overload = "squeeze_" if dim is None else "squeeze_.dims" if many else "squeeze_.dim"
    return metadata_inplace(x, overload, squeeze, *(() if dim is None else (dim,)))


def unsqueeze_(x: Tensor, dim: int) -> Tensor:
    """In-place ``unsqueeze``: insert a size-1 dim at ``dim``."""
    return metadata_inplace(x, "unsqueeze_", unsqueeze, dim)


def detach_(x: Tensor) -> Tensor:
    """``Tensor.detach_``: make ``x`` a leaf that does not require grad and has no
    forward-mode tangent (its version is not bumped), as PyTorch's. A view cannot be detached
    in place (its history is its base's); inside a grad transform of ``cr.func`` a captured
    ``x`` is refused, as PyTorch refuses it."""
    if _GUARDING[0]:
        check_captured_write(x, "detach_")
    if x._view is not None:  # PyTorch's rule: a view stays tied to its base's history
        raise RuntimeError(
            "Can't detach views in-place. Use detach() instead. If you are using "
            "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as "
            "True, gradients are views of DDP buckets, and hence detach_() cannot be called on "
            "these gradients. To fix this error, please refer to the Optimizer.zero_grad() "
            "function in torch/optim/optimizer.py as the solution."
        )
    x.grad_fn = None
    x._rg = False
    x._fw = None  # PyTorch's detach_ also drops the forward-mode tangent (any level)
    return x
