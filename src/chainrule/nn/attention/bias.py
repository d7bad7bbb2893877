"""``cr.nn.attention.bias`` (PyTorch's ``torch.nn.attention.bias``): causal masks as objects
for ``scaled_dot_product_attention``'s ``attn_mask``; see :mod:`chainrule.ops.attention_bias`.

Example:
    >>> import chainrule as cr
    >>> from chainrule.nn.attention.bias import causal_lower_right
    >>> q, kv = cr.ones(1, 1, 2, 4), cr.ones(1, 1, 3, 4)
    >>> mask = causal_lower_right(2, 3)  # 2 new queries after 1 cached key
    >>> cr.nn.functional.scaled_dot_product_attention(q, kv, kv, attn_mask=mask).shape
    torch.Size([1, 1, 2, 4])
"""

from __future__ import annotations

from ...ops.attention_bias import (
    CausalBias,
    CausalVariant,
    causal_lower_right,
    causal_upper_left,
)

__all__ = ["CausalBias", "CausalVariant", "causal_lower_right", "causal_upper_left"]
