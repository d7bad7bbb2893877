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
import weakref
from typing import Any

from .. import overrides
from ..autograd import torch_function as _tf
from ..autograd.tensor import Tensor
from ..dtype_objects import bool_, uint8

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
    if data.dtype == uint8:
        raise TypeError("torch.uint8 is not supported in MaskedTensor.")
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
        return _leaf(data, mask, requires_grad)

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
            value = value.get_data()  # keeps a create_graph gradient's history
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
    return _leaf(data, mask, requires_grad)


def as_masked_tensor(data: Tensor, mask: Tensor) -> MaskedTensor:
    """``torch.masked.as_masked_tensor``: a MaskedTensor that keeps ``data``'s autograd
    history: gradients flow through it back to ``data``, and reach ``data`` (its ``.grad``,
    or ``autograd.grad(out, data)``) as MaskedTensors with ``mask``, as torch's."""
    _check(data, mask)
    warnings.warn(PROTOTYPE_WARNING, UserWarning, stacklevel=2)
    if not data.requires_grad:
        return wrap(data, mask)
    with _tf.DisableTorchFunctionSubclass():
        out = wrap(Tensor.view_as(data, data), mask)
    _mask_data_grad(data, out)
    return out


def _leaf(data: Tensor, mask: Tensor, requires_grad: bool) -> MaskedTensor:
    """The checked, detached MaskedTensor leaf of :func:`masked_tensor` (prototype warning
    at the caller's caller)."""
    _check(data, mask)
    warnings.warn(PROTOTYPE_WARNING, UserWarning, stacklevel=3)
    out = wrap(data.detach(), mask)
    if requires_grad:
        with _tf.DisableTorchFunctionSubclass():
            out.requires_grad_(True)
        mask_leaf_grad(out)
    return out


def _as_masked(g: Tensor, mask: Tensor) -> Tensor:
    return g if isinstance(g, MaskedTensor) else wrap(g, mask)


def mask_leaf_grad(mt: MaskedTensor) -> None:
    """Make the gradients ``autograd.grad`` returns for the leaf ``mt`` MaskedTensors with
    its mask, as torch's (``mt.grad`` wraps on reading). Once per tensor."""
    if mt.requires_grad and mt.grad_fn is None and not mt.__dict__.get("_masked_hooked"):
        mt.__dict__["_masked_hooked"] = True
        mask = mt._masked_mask  # not mt itself: no reference cycle through its hooks
        with _tf.DisableTorchFunctionSubclass():
            mt.register_hook(lambda g: _as_masked(g, mask))


# id(data tensor) -> the state of its as_masked_tensor gradient hooks, for as long as the
# tensor lives (not on the tensor: torch.save and deepcopy would carry it along)
_GRAD_STATES: dict[int, dict[str, Tensor]] = {}


def _mask_data_grad(data: Tensor, alias: MaskedTensor) -> None:
    """``as_masked_tensor``'s gradient rule: a backward pass through ``alias`` gives ``data``
    its gradient as a MaskedTensor with ``alias``'s mask (torch's gradients are MaskedTensors
    all the way down). ``alias``'s hook marks the pass; ``data`` carries one hook (and, for a
    leaf, one post-accumulate hook) for all its MaskedTensors, so repeated calls in a training
    loop add nothing."""
    state = _GRAD_STATES.get(id(data))
    if state is None:
        state = _GRAD_STATES[id(data)] = {}
        weakref.finalize(data, _GRAD_STATES.pop, id(data), None)

        def on_data(g: Tensor) -> Tensor:
            mask = state.pop("pending", None)
            if mask is None:
                return g
            state["accumulated"] = mask
            return _as_masked(g, mask)

        def after_accumulate(t: Tensor) -> None:
            mask = state.pop("accumulated", None)
            if mask is not None and type(t._grad) is Tensor:
                t._grad = wrap(t._grad, mask)

        data.register_hook(on_data)
        if data.grad_fn is None:
            data.register_post_accumulate_grad_hook(after_accumulate)

    def on_alias(g: Tensor) -> None:
        state["pending"] = alias_mask

    alias_mask = alias._masked_mask
    with _tf.DisableTorchFunctionSubclass():
        alias.register_hook(on_alias)


def is_masked_tensor(obj: Any, /) -> bool:
    """``torch.masked.is_masked_tensor``: whether ``obj`` is a MaskedTensor."""
    return isinstance(obj, MaskedTensor)
