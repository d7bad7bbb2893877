"""``torch.masked.MaskedTensor``: a tensor whose elements outside a bool mask are "not there".

A MaskedTensor is a :class:`~chainrule.Tensor` subclass: the tensor itself holds the data
(with its autograd history, so a MaskedTensor that requires grad is a leaf of the graph
like any tensor) and ``_masked_mask`` holds the mask, a bool tensor of the same shape.
Every op called on it (``cr.exp(mt)``, ``mt + mt``, ``mt.sum(1)``, ``cr.where(c, mt, mt)``)
goes through ``__torch_function__`` to the rules of :mod:`chainrule.masked._dispatch`,
which compute on the data and give the result its mask, as torch's MaskedTensor: pointwise
ops keep the mask (two MaskedTensors must have equal masks), reductions see only the
elements in the mask, and view ops move the mask with the data. An op torch's MaskedTensor
has no rule for raises TypeError, as torch's.

The protocol is switched on when the first MaskedTensor is built (not at import, which
would slow every op of a program that never makes one).
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import overrides
from ..autograd import torch_function as _tf
from ..autograd.tensor import Tensor
from ..dtype_objects import bool_

__all__ = ["MaskedTensor", "as_masked_tensor", "is_masked_tensor", "masked_tensor"]

PROTOTYPE_WARNING = (
    "The PyTorch API of MaskedTensors is in prototype stage and will change in the near "
    "future. Please open a Github issue for features requests and see our documentation on "
    "the torch.masked module for further information about the project."
)


def _ensure_dispatch() -> None:
    """Route MaskedTensors to their ``__torch_function__`` (again after the test suite's
    per-test reset of the protocol)."""
    if MaskedTensor not in _tf._DISPATCHING:
        _tf.register_dispatching_type(MaskedTensor)
        overrides.install()


def _check(data: Any, mask: Any) -> None:
    """torch's checks of a MaskedTensor's data and mask (types, mask dtype, shapes)."""
    if not isinstance(data, Tensor):
        raise TypeError(f"data must be a Tensor, got {type(data).__name__}")
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a Tensor, got {type(mask).__name__}")
    if data.layout != mask.layout or data.is_sparse:
        raise NotImplementedError(
            "MaskedTensor: sparse data or masks are not supported (torch's fail too); pass "
            "strided tensors"
        )
    if mask.dtype != bool_:
        raise TypeError(f"mask must have dtype bool, got {mask.dtype}")
    if tuple(data.shape) != tuple(mask.shape):
        raise ValueError(
            f"data.size() must equal mask.size(): got {tuple(data.shape)} and {tuple(mask.shape)}"
        )


def wrap(data: Tensor, mask: Tensor) -> MaskedTensor:
    """A MaskedTensor on ``data`` (sharing its memory and autograd history) and ``mask``,
    without the checks or the prototype warning (the results of ops)."""
    _ensure_dispatch()
    with _tf.DisableTorchFunctionSubclass():
        out = data.as_subclass(MaskedTensor)
        plain_mask = mask if type(mask) is Tensor else mask.as_subclass(Tensor)
    out._masked_mask = plain_mask.detach()
    return out


class MaskedTensor(Tensor):
    """``torch.masked.MaskedTensor(data, mask, requires_grad=False)``: ``data`` (detached,
    as torch's) with the bool ``mask`` of its shape. Prefer :func:`masked_tensor`."""

    def __new__(cls, data: Tensor, mask: Tensor, requires_grad: bool = False) -> MaskedTensor:
        """Check, warn (torch's prototype warning) and build; see :func:`masked_tensor`."""
        _check(data, mask)
        warnings.warn(PROTOTYPE_WARNING, UserWarning, stacklevel=2)
        out = wrap(data.detach(), mask)
        if requires_grad:
            with _tf.DisableTorchFunctionSubclass():
                out.requires_grad_(True)
        return out

    def get_data(self) -> Tensor:
        """The data as a plain tensor, masked-out elements included; gradients flow from it
        back to this MaskedTensor."""
        with _tf.DisableTorchFunctionSubclass():
            if self.requires_grad:
                return Tensor.view_as(self, self)
            return self.as_subclass(Tensor)

    def get_mask(self) -> Tensor:
        """The bool mask (True: the element is there)."""
        return self._masked_mask

    def to_tensor(self, value: Any) -> Tensor:
        """A plain tensor: the data where the mask is True, ``value`` elsewhere."""
        with _tf.DisableTorchFunctionSubclass():
            data = self.get_data()
            fill = value if isinstance(value, Tensor) else Tensor._new(value)
            return Tensor.where(data, self._masked_mask, fill.to(data.dtype))

    @property
    def is_sparse(self) -> bool:
        """Whether the data is sparse (never: sparse MaskedTensors are not supported)."""
        return False

    @property
    def grad(self) -> MaskedTensor | None:
        """The accumulated gradient as a MaskedTensor with this tensor's mask (None before a
        backward)."""
        g = self._grad
        return None if g is None else wrap(g, self._masked_mask)

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if isinstance(value, MaskedTensor):
            value = value.get_data().detach()
        Tensor.grad.fset(self, value)

    def __repr__(self) -> str:
        """torch's MaskedTensor layout: ``--`` for a masked-out element."""
        return masked_repr(self.get_data(), self._masked_mask)

    __str__ = __repr__

    def tolist(self) -> list:
        """Refused, as torch's (a list has no place for the mask)."""
        raise RuntimeError(".tolist() is not supported for tensor subclasses, got MaskedTensor")

    def numpy(self, *, force: bool = False) -> Any:
        """Refused, as torch's (an array has no place for the mask)."""
        raise RuntimeError(".numpy() is not supported for tensor subclasses.")


def _element(value: Any, floating: bool) -> str:
    return f"{value:8.4f}" if floating else str(value)


def _row(values: Any, keep: Any, floating: bool) -> str:
    """One innermost row: ``--`` right-aligned to the widest element in the mask of the
    row (at least 8 characters), as torch's."""
    shown = [_element(v.item(), floating) if k else None for v, k in zip(values, keep)]
    blank = "--".rjust(max([8] + [len(e) for e in shown if e is not None]))
    return "[" + ", ".join(blank if e is None else e for e in shown) + "]"


def masked_repr(data: Tensor, mask: Tensor) -> str:
    """``MaskedTensor(...)`` as torch prints it: one nested list, 2 spaces per level, each
    element ``%8.4f`` (floats) or ``str`` (integers, bools), ``--`` for masked-out ones.

    Raises:
        ValueError: an empty MaskedTensor (torch's printing fails the same way).
    """
    values = data.detach().numpy()
    keep = mask.numpy()
    floating = data.dtype.is_floating_point
    if data.dim() == 0:
        shown = _element(values.item(), floating) if keep.item() else "--"
        return f"MaskedTensor({shown}, {bool(keep.item())})"
    if data.numel() == 0:
        raise ValueError("max() arg is an empty sequence")

    def lines(v: Any, k: Any, indent: str) -> list[str]:
        if v.ndim == 1:
            return [indent + _row(v, k, floating)]
        out = [indent + "["]
        for i in range(v.shape[0]):
            inner = lines(v[i], k[i], indent + "  ")
            if i < v.shape[0] - 1:
                inner[-1] += ","
            out.extend(inner)
        out.append(indent + "]")
        return out

    return "MaskedTensor(\n" + "\n".join(lines(values, keep, "  ")) + "\n)"


def masked_tensor(data: Tensor, mask: Tensor, requires_grad: bool = False) -> MaskedTensor:
    """``torch.masked.masked_tensor``: a MaskedTensor of ``data`` (detached) and the bool
    ``mask`` of its shape, a leaf that requires grad when asked (its gradient is a
    MaskedTensor with the same mask). Warns torch's prototype UserWarning.

    Raises:
        TypeError: ``data`` or ``mask`` is not a Tensor, or ``mask`` is not bool.
        ValueError: their shapes differ.
    """
    _check(data, mask)
    warnings.warn(PROTOTYPE_WARNING, UserWarning, stacklevel=2)
    out = wrap(data.detach(), mask)
    if requires_grad:
        with _tf.DisableTorchFunctionSubclass():
            out.requires_grad_(True)
    return out


def as_masked_tensor(data: Tensor, mask: Tensor) -> MaskedTensor:
    """``torch.masked.as_masked_tensor``: a MaskedTensor that keeps ``data``'s autograd
    history (gradients flow through it back to ``data``, as plain tensors)."""
    _check(data, mask)
    warnings.warn(PROTOTYPE_WARNING, UserWarning, stacklevel=2)
    with _tf.DisableTorchFunctionSubclass():
        alias = Tensor.view_as(data, data) if data.requires_grad else data
    return wrap(alias, mask)


def is_masked_tensor(obj: Any, /) -> bool:
    """``torch.masked.is_masked_tensor``: whether ``obj`` is a MaskedTensor."""
    return isinstance(obj, MaskedTensor)
