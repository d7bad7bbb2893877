"""PyTorch's graph node for ``F.scaled_dot_product_attention`` where PyTorch 2.13's CPU flash
kernel runs: which calls those are, and the node's ``_saved_*`` fields.

PyTorch records ``ScaledDotProductFlashAttentionForCpuBackward0`` (inputs query, key, value;
saved query, key, value, output, logsumexp, dropout_p, is_causal, scale, attn_mask) when its
CPU dispatcher picks the flash kernel; otherwise its math path records a chain of views,
``bmm`` and ``_safe_softmax`` nodes, which chainrule's single fused node does not copy
(about ten extra nodes and their saved copies: slower). The flash kernel is picked for
4-d float32/float64 inputs of one head size with unit last stride, non-empty sequences, equal
batch and head sizes, no dropout, and an ``attn_mask`` of 2 or 4 dims that does not require
grad (sdp_utils_cpp.cpp, checked against torch 2.13 in
tests/autograd/test_graph_names_session37.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.saved_fields import given_value, tensor_field
from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["FLASH_NODE", "flash_mask", "flash_saved_fields", "row_logsumexp", "torch_picks_flash"]

FLASH_NODE = ("ScaledDotProductFlashAttentionForCpuBackward0", (0, 1, 2))
"""PyTorch's name of the flash node and the inputs it lists (query, key, value)."""

# position in ScaledDotProductAttention's save_for_backward of the output, which only the
# flash node keeps, and of a bool mask's additive form when is_causal is set too
_OUTPUT, _MASK = 8, 9


def torch_picks_flash(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any, p: float) -> bool:
    """Whether PyTorch 2.13 on CPU runs (and records) its flash kernel for these arguments
    (``attn_mask`` as the caller gave it, after ``CausalBias`` resolution; key and value
    after grouped-query repetition)."""
    if LOCAL.state.vmap:
        # a batched tensor under vmap has no layout to query (its raw array refuses
        # .strides), and no graph node is shown there: chainrule's own node
        return False
    q, k, v = query._data, key._data, value._data
    qs, ks, vs = q.shape, k.shape, v.shape
    if p != 0.0 or len(qs) != 4 or len(ks) != 4 or len(vs) != 4 or q.dtype.char not in "fd":
        return False
    if qs[:2] != ks[:2] or ks[:2] != vs[:2] or qs[3] != ks[3] or ks[3] != vs[3]:
        return False
    size = q.itemsize  # (q, k and v share a dtype: checked before)
    if q.strides[3] != size or k.strides[3] != size or v.strides[3] != size:
        return False
    if not (qs[2] and ks[2]):
        return False
    if attn_mask is None:
        return True
    return np.ndim(attn_mask) in (2, 4) and not getattr(attn_mask, "requires_grad", False)


def flash_mask(mask: Any, blocked: Any, attn_mask: Any, is_causal: bool) -> tuple[int | None, Any]:
    """Where the mask PyTorch's flash node keeps (``_saved_attn_mask``: a float mask as
    given, a bool one as its additive 0 / -inf form, the causal mask not folded in) is
    saved: (saved position or None, the array to save there or None). ``mask`` / ``blocked``
    are what :func:`.attention_inputs.masks` made of ``attn_mask``, so only a bool mask with
    ``is_causal`` needs one more saved value."""
    if attn_mask is None:
        return None, None
    if mask is not None:
        return 3, None
    if not is_causal:
        return 5, None
    allowed = attn_mask._data if isinstance(attn_mask, Tensor) else attn_mask
    xp = get_array_module(blocked)
    return _MASK, xp.where(xp.asarray(allowed), blocked.dtype.type(0), blocked.dtype.type(-np.inf))


def row_logsumexp(lse: Any) -> Tensor:
    """Row log-sum-exps (…, L, 1) as PyTorch's flash node shows them: (…, L), a row with
    every key masked out 0 (chainrule's rule keeps +inf there, which rebuilds its zeros)."""
    xp = get_array_module(lse)
    a = lse[..., 0]
    if xp.isinf(a).any():
        a = xp.where(a == np.inf, a.dtype.type(0), a)
    return Tensor._make(xp.ascontiguousarray(a), False, None, 0)


def flash_saved_fields(node: Any, logsumexp: Any) -> dict | None:
    """The flash node's ``_saved_*`` declaration (``logsumexp(node)`` recomputes the row
    log-sum-exps on access), or None (chainrule's own naming) for the fused node PyTorch has
    no counterpart of."""
    if not getattr(node, "flash", False):
        return None
    slot = given_value(node, "mask_slot")
    return {
        "attn_mask": _no_mask if slot is None else slot,
        "dropout_p": lambda n: 0.0,
        "is_causal": lambda n: given_value(n, "is_causal", False),
        "key": 1,
        "logsumexp": tensor_field(logsumexp),
        "output": _OUTPUT,
        "query": 0,
        "scale": lambda n: given_value(n, "scale"),
        "value": 2,
    }


def _no_mask(node: Any) -> None:
    return None
