"""``scaled_dot_product_attention``'s arguments checked and prepared before the fused op
(``attention.py``): query/key/value shapes and dtypes, grouped-query heads repeated, and the
masks split into a float additive tensor and a constant 0 / -inf "blocked" array (a bool
mask, the causal mask, or both, as PyTorch 2.13 combines them on CPU)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_floating
from .attention_fused import _causal_blocked

__all__ = ["check_inputs", "fail", "grouped_query_heads", "masks", "repeat_heads"]


def fail(msg: str) -> None:
    raise RuntimeError(f"scaled_dot_product_attention: {msg}")


def check_inputs(query: Any, key: Any, value: Any) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"scaled_dot_product_attention: {name} must be a Tensor, got {type(t).__name__}"
            )
    if min(query.ndim, key.ndim, value.ndim) < 2:
        fail(
            f"expected query, key and value to be at least 2-dimensional, got "
            f"query.dim()={query.ndim}, key.dim()={key.ndim}, value.dim()={value.ndim}"
        )
    if not (query.dtype == key.dtype == value.dtype) or not is_floating(query.dtype):
        fail(
            f"expected query, key and value to have the same floating dtype, got "
            f"{query.dtype}, {key.dtype} and {value.dtype}"
        )
    if query.shape[-1] != key.shape[-1]:
        fail(
            f"query and key must have the same embedding size (last dim), got query "
            f"{tuple(query.shape)} and key {tuple(key.shape)}"
        )
    if key.shape[-2] != value.shape[-2]:
        fail(
            f"key and value must have the same sequence length (dim -2), got key "
            f"{tuple(key.shape)} and value {tuple(value.shape)}"
        )


def repeat_heads(t: Tensor, groups: int) -> Tensor:
    """repeat_interleave(groups, dim=-3): each key/value head serves ``groups`` query heads."""
    shape = t.shape
    t = t.unsqueeze(-3).expand(shape[:-2] + (groups,) + shape[-2:])
    return t.reshape(shape[:-3] + (shape[-3] * groups,) + shape[-2:])


def grouped_query_heads(query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
    if min(query.ndim, key.ndim, value.ndim) < 3:
        fail("enable_gqa needs a head dimension (dim -3) on query, key and value")
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hk != hv or hq % hk != 0:
        fail(
            f"enable_gqa: the number of heads in key and value ({hk}, {hv}) must be equal "
            f"and divide the number of query heads ({hq})"
        )
    if hq == hk:
        return key, value
    return repeat_heads(key, hq // hk), repeat_heads(value, hq // hk)


def masks(query: Tensor, key: Tensor, attn_mask: Any, is_causal: bool):
    """Split ``attn_mask`` into (float additive Tensor or None, blocked array or None): a bool
    mask or the causal mask becomes a constant 0 / -inf array added to the scores. With both
    an ``attn_mask`` and ``is_causal`` a key must pass both (as PyTorch 2.13 on CPU)."""
    xp = get_array_module(query._data)
    L, S = query.shape[-2], key.shape[-2]
    causal = _causal_blocked(L, S, query.dtype.str, xp) if is_causal else None
    if attn_mask is None:
        return None, causal
    mask, blocked = _explicit_mask(query, key, attn_mask, xp)
    if causal is None:
        return mask, blocked
    return mask, causal if blocked is None else blocked + causal


def _explicit_mask(query: Tensor, key: Tensor, attn_mask: Any, xp: Any):
    """``masks`` for an explicit ``attn_mask``: its shape and dtype checked."""
    L, S = query.shape[-2], key.shape[-2]
    m = attn_mask if isinstance(attn_mask, Tensor) else Tensor._new(attn_mask)
    target = np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2])) + (L, S)
    try:
        ok = np.broadcast_shapes(tuple(m.shape), target) == target
    except ValueError:
        ok = False
    if not ok:
        fail(
            f"attn_mask of shape {tuple(m.shape)} cannot be broadcast to the attention "
            f"weights' shape {target} (…, L, S)"
        )
    if m.dtype == np.bool_:
        return None, xp.where(m._data, query.dtype.type(0), query.dtype.type(-np.inf))
    if not is_floating(m.dtype):
        fail(f"attn_mask must be bool or floating point, got dtype {m.dtype}")
    if m.dtype != query.dtype:
        m = m.to(query.dtype)
    return m, None
