"""The checks of optimizer arguments that every optimizer shares, with PyTorch's texts.

``Optimizer.__init__`` and each optimizer's constructor read their options through these:
:data:`required` (a default every parameter group must give), :func:`_check_number` and
:func:`_check_non_negative` (``lr``, ``eps``, ``weight_decay``, ...), :func:`_check_betas`
(Adam's family) and :func:`_split_names` (named parameters). Kept out of ``optimizer.py``
(which re-exports them under their old names) so that the base class reads on its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor

__all__ = ["required"]


class _RequiredParameter:
    """Marks a default that every parameter group must give (PyTorch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _check_number(name: str, value: Any, what: str) -> None:
    """Options such as ``lr`` must be real numbers (a bool counts, as in PyTorch) or 1-element
    tensors, never strings.

    A Tensor with several elements gets PyTorch's "Tensor lr must be 1-element"; a string
    (PyTorch fails on a bare comparison) gets a TypeError naming the optimizer.
    """
    if isinstance(value, Tensor):
        if value.numel() == 1:
            return
        raise ValueError(f"Tensor {name} must be 1-element")
    # a bool is an int, as PyTorch reads it (lr=True steps with lr 1)
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{what}: {name} must be a real number, got {value!r} of type {type(value).__name__}"
        )


# PyTorch's wording per option: "Invalid learning rate: -1.0", "Invalid epsilon value: ...",
# otherwise "Invalid <option> value: ...".
_INVALID_TEXT = {"lr": "Invalid learning rate: {}", "eps": "Invalid epsilon value: {}"}


def _check_non_negative(name: str, value: float, what: str, nan_ok: bool = False) -> None:
    """``value >= 0`` with PyTorch's "Invalid <name> value: <value>" text.

    ``name`` is the option's key (``lr``, ``eps``, ``weight_decay``, ...). NaN is refused
    too unless ``nan_ok`` (PyTorch's SGD checks only ``value < 0`` and so takes a NaN lr,
    momentum or weight_decay).
    """
    _check_number(name, value, what)
    if value < 0.0 or not (nan_ok or value >= 0.0):
        text = _INVALID_TEXT.get(name, f"Invalid {name} value: {{}}")
        raise ValueError(text.format(value))


def _check_beta(index: int, value: float, what: str) -> None:
    """``0 <= betas[index] < 1`` (NaN refused) with PyTorch's text."""
    if not isinstance(value, Tensor):  # a Tensor is compared as PyTorch does
        _check_number(f"betas[{index}]", value, what)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"Invalid beta parameter at index {index}: {value}")


def _check_betas(betas: Any, what: str) -> None:
    """``betas`` read as PyTorch's constructors read them (``betas[0]`` checked by
    :func:`_check_beta`, then ``betas[1]``): what cannot be indexed so raises Python's own
    TypeError or IndexError ("'float' object is not subscriptable", "tuple index out of
    range"), its words first. More than two values pass here as in PyTorch; the step then
    refuses them (:func:`_unpack_betas`)."""
    hint = f"\n{what}: betas must be a pair (beta1, beta2), got {betas!r}"
    if isinstance(betas, Tensor) and betas.ndim == 0:  # PyTorch's indexing words
        raise IndexError(
            "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
            f"`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number{hint}"
        )
    for index in (0, 1):
        try:
            value = betas[index]
        except (TypeError, IndexError) as err:
            kind = IndexError if isinstance(err, IndexError) else TypeError
            raise kind(f"{err}{hint}") from None
        _check_beta(index, value, what)


def _unpack_betas(group: dict[str, Any]) -> tuple[Any, Any]:
    """A group's ``(beta1, beta2)`` unpacked as PyTorch's ``step`` does first, before any
    state: betas of another length raise Python's ValueError ("too many values to unpack
    (expected 2)"), as there."""
    beta1, beta2 = group["betas"]
    return beta1, beta2


def _split_names(params: list, name: str) -> tuple[list, list | None]:
    """PyTorch's named parameters (``model.named_parameters()``): ``(name, tensor)`` pairs
    become the tensors and the group's ``param_names`` list. Plain tensors: no names (None).

    Raises:
        ValueError: some parameters are named and others are not.
    """
    named = [p for p in params if isinstance(p, tuple)]
    if not named:
        return params, None
    if len(named) != len(params):
        raise ValueError(
            "all optimizer params should be with/without names. Some param names are missing"
        )
    for p in named:
        if len(p) < 2:
            raise ValueError(
                f"{name}: a named parameter is a (name, tensor) pair, got a tuple of {len(p)}"
            )
    return [p[1] for p in named], [p[0] for p in named]
