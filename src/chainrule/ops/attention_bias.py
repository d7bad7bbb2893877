"""Causal masks as objects (PyTorch's ``torch.nn.attention.bias``): ``causal_upper_left(L, S)``
and ``causal_lower_right(L, S)`` stand for an (L, S) causal mask without building it, and
``scaled_dot_product_attention`` takes one as ``attn_mask``.

The two alignments differ when the query and key lengths differ. Upper left, query ``i``
sees keys ``0..i`` (``tril(ones(L, S))``, what ``is_causal=True`` means); lower right, the
last query sees every key and query ``i`` sees keys ``0..i + S - L`` (``tril(ones(L, S),
S - L)``), which is what decoding with a KV cache needs: the L new queries come after the
S - L cached positions. With L > S the first L - S queries of a lower-right mask see no key
(PyTorch warns that its kernels give NaN there; chainrule's attention gives 0 for such rows,
as PyTorch's math path).

As PyTorch's, a :class:`CausalBias` is a Tensor subclass (``issubclass(type(bias),
torch.Tensor)``, which the SDPA tutorial asserts) built by the legacy sizes constructor: its
own data is an uninitialised ``(variant, L, S)`` tensor of the default dtype (torch passes its
constructor arguments, the variant an int 1 or 2, to ``Tensor.__new__``), and it prints as its
bool mask (:meth:`CausalBias._materialize`). Only ``scaled_dot_product_attention`` reads it
as a mask; other ops see the placeholder data and, as in PyTorch, their results keep the
``CausalBias`` type (``bias + 0``, ``bias.to(dtype)``, ``bias[0]``) through its
``__torch_function__``, without its attributes: such a result neither prints nor masks
(AttributeError, as PyTorch's). The handler is set after the class statement and switched on
when a first CausalBias is made, so that defining the class at import wraps nothing.
"""

from __future__ import annotations

import warnings
from enum import IntEnum
from typing import Any

import numpy as np

from .. import overrides as _overrides
from ..autograd import torch_function as _tf
from ..autograd.tensor import Tensor

__all__ = [
    "CausalVariant",
    "CausalBias",
    "causal_upper_left",
    "causal_lower_right",
    "resolve_causal_bias",
]


class CausalVariant(IntEnum):
    """Where the causal triangle is anchored: ``UPPER_LEFT`` (query i sees keys 0..i) or
    ``LOWER_RIGHT`` (the last query sees every key)."""

    UPPER_LEFT = 1
    LOWER_RIGHT = 2


class CausalBias(Tensor):
    """An (seq_len_q, seq_len_kv) causal mask of a given :class:`CausalVariant`, for the
    ``attn_mask`` of ``scaled_dot_product_attention``; build one with
    :func:`causal_upper_left` or :func:`causal_lower_right`."""

    def __init__(self, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> None:
        if not isinstance(variant, CausalVariant):
            raise TypeError(f"CausalBias: variant must be a CausalVariant, got {variant!r}")
        for name, n in (("seq_len_q", seq_len_q), ("seq_len_kv", seq_len_kv)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
                raise TypeError(f"CausalBias: {name} must be a non-negative int, got {n!r}")
        # torch's Tensor.__new__(cls, variant, L, S): the sizes form, (variant, L, S)
        super().__init__(int(variant), int(seq_len_q), int(seq_len_kv))
        _ensure_dispatch()
        self.variant = variant
        self.seq_len_q = int(seq_len_q)
        self.seq_len_kv = int(seq_len_kv)

    def _upper_left(self, device: Any = None) -> Tensor:
        """The bool mask ``tril(ones(L, S))``."""
        return self._mask(0)

    def _lower_right(self, device: Any = None) -> Tensor:
        """The bool mask ``tril(ones(L, S), S - L)``."""
        return self._mask(self.seq_len_kv - self.seq_len_q)

    def _materialize(self, device: Any = None) -> Tensor:
        """The mask as a bool (L, S) tensor (True: the query may attend to the key)."""
        if self.variant is CausalVariant.UPPER_LEFT:
            return self._upper_left(device)
        return self._lower_right(device)

    def _mask(self, diagonal: int) -> Tensor:
        m = np.tril(np.ones((self.seq_len_q, self.seq_len_kv), dtype=bool), diagonal)
        return Tensor._make(m, False, None, 0)

    def __repr__(self) -> str:
        return repr(self._materialize())


def _torch_function(
    cls: type, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
) -> Any:
    """``CausalBias.__torch_function__``: ``scaled_dot_product_attention`` reads the bias as
    its mask (a plain Tensor result); every other op runs on the placeholder data and returns
    a CausalBias (``Tensor.__torch_function__``)."""
    if getattr(func, "__name__", None) == "scaled_dot_product_attention":
        with _tf.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))
    return _tf.default_torch_function(cls, func, types, args, kwargs)


# Set after the class statement (as NestedTensor's), so that defining the class at
# ``import chainrule`` does not put the public API behind the protocol.
CausalBias.__torch_function__ = classmethod(_torch_function)


def _ensure_dispatch() -> None:
    """Route CausalBias instances to their handler (again, after ``overrides._uninstall``)."""
    if CausalBias not in _tf._DISPATCHING or not _overrides._installed[0]:
        _tf.register_dispatching_type(CausalBias)
        _overrides.install()


def _size(name: str, size: tuple) -> tuple[int, int]:
    if len(size) != 2:
        raise AssertionError(f"{name} only supports 2D tensors")
    return size[0], size[1]


def causal_upper_left(*size: int) -> CausalBias:
    """A causal mask anchored at the upper left: ``causal_upper_left(L, S)``, query i sees
    keys 0..i (the mask of ``is_causal=True``)."""
    seq_len_q, seq_len_kv = _size("causal_upper_left", size)
    return CausalBias(CausalVariant.UPPER_LEFT, seq_len_q, seq_len_kv)


def causal_lower_right(*size: int) -> CausalBias:
    """A causal mask anchored at the lower right: ``causal_lower_right(L, S)``, query i sees
    keys 0..i + S - L (L new queries after S - L cached keys)."""
    seq_len_q, seq_len_kv = _size("causal_lower_right", size)
    if seq_len_q > seq_len_kv:
        warnings.warn(
            "Lower right causal bias will produce NaNs in the output when seq_len_q > seq_len_kv!",
            stacklevel=2,
        )
    return CausalBias(CausalVariant.LOWER_RIGHT, seq_len_q, seq_len_kv)


def resolve_causal_bias(attn_mask: Any, is_causal: bool) -> tuple[Any, bool]:
    """``scaled_dot_product_attention``'s ``(attn_mask, is_causal)`` with a
    :class:`CausalBias` mask replaced: upper left is ``is_causal=True``, lower right its
    bool mask. Raises ValueError for a CausalBias together with ``is_causal=True`` (as
    PyTorch)."""
    if not isinstance(attn_mask, CausalBias):
        return attn_mask, is_causal
    if is_causal:
        raise ValueError("CausalBias should not be used with causal=True")
    # PyTorch's order: equal lengths first (a CausalBias made by an op lacks both attributes)
    if attn_mask.seq_len_q == attn_mask.seq_len_kv or attn_mask.variant is CausalVariant.UPPER_LEFT:
        return None, True
    return attn_mask._materialize(), False
