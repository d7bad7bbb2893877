"""Attention functions: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

``scaled_dot_product_attention`` is the fused op of :mod:`chainrule.ops.attention`.
``multi_head_attention_forward`` is PyTorch's functional form of ``nn.MultiheadAttention``:
input projections, optional learned key/value biases and a zero key/value, the merge of
``key_padding_mask`` into ``attn_mask``, attention over ``num_heads`` heads with the fused op
(also when the weights are requested: the same op returns them), and the output projection.

Masks follow ``nn.MultiheadAttention``'s convention, the opposite of SDPA's for booleans: a
True entry in a bool ``attn_mask`` / ``key_padding_mask`` means "do not attend"; float masks
are added to the scores. As in PyTorch 2.13, a query whose keys are all masked out gives NaN
when ``need_weights=True`` (weights and output: the plain softmax of an all -inf row) and
zeros when ``need_weights=False`` (the fused kernel's safe softmax).
"""

from __future__ import annotations

import warnings
from typing import Any

from ...autograd.tensor import Tensor
from ...creation import zeros
from ...ops.attention import attention, scaled_dot_product_attention
from ...ops.binary import where
from ...ops.shape import cat, pad
from .linear import linear

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


class _MHAAssertionError(ValueError, AssertionError):
    """A check PyTorch's ``multi_head_attention_forward`` makes with ``assert`` (so it raises
    AssertionError); a ValueError too, as chainrule raised before."""


class _MHADtypeError(TypeError, AssertionError):
    """A mask of a dtype neither bool nor floating: PyTorch asserts (AssertionError)."""


class _MHAMaskShapeError(ValueError, RuntimeError):
    """A batched ``attn_mask`` of the wrong shape: PyTorch raises RuntimeError."""


def _err(msg: str, error: type[Exception] = _MHAAssertionError) -> None:
    raise error(f"multi_head_attention_forward: {msg}")


def _canonical_mask(mask: Any, name: str, dtype: Any) -> Tensor | None:
    """A bool mask (True = masked) becomes a float mask of 0 / -inf; float masks pass."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(
            f"multi_head_attention_forward: {name} must be a Tensor, got {type(mask).__name__}"
        )
    if mask.dtype.kind == "b":
        xp_zero = zeros(mask.shape, dtype=dtype)
        return where(mask._data, float("-inf"), xp_zero)
    if mask.dtype.kind not in "fV":  # V: bfloat16
        raise _MHADtypeError(
            f"multi_head_attention_forward: only bool and floating types of "
            f"{name} are supported, got {mask.dtype}"
        )
    return mask if mask.dtype == dtype else mask.to(dtype)


def _warn_mismatched_masks(
    key_padding_mask: Any,
    attn_mask: Any,
    names: tuple[str, str] = ("key_padding_mask", "attn_mask"),
) -> bool:
    """PyTorch's deprecation warning for a padding mask and an attention mask of different
    dtypes (a bool one next to a float one), which it still merges; True when it warned."""
    if not (isinstance(key_padding_mask, Tensor) and isinstance(attn_mask, Tensor)):
        return False
    if key_padding_mask.dtype == attn_mask.dtype:
        return False
    warnings.warn(
        f"Support for mismatched {names[0]} and {names[1]} is deprecated. "
        "Use same type for both instead.",
        UserWarning,
        stacklevel=3,
    )
    return True


def _shape_check(
    query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any, attn_mask: Any, num_heads: int
) -> bool:
    """Validate ranks; True for batched (L, N, E) input, False for unbatched (L, E)."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            _err(
                f"for batched (3-D) query, key and value must be 3-D, got key.dim()="
                f"{key.ndim} and value.dim()={value.ndim}"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            _err(
                f"for batched (3-D) query, key_padding_mask must be 2-D (N, S), got "
                f"{key_padding_mask.ndim}-D"
            )
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            _err(f"for batched (3-D) query, attn_mask must be 2-D or 3-D, got {attn_mask.ndim}-D")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            _err(
                f"for unbatched (2-D) query, key and value must be 2-D, got key.dim()="
                f"{key.ndim} and value.dim()={value.ndim}"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            _err(
                f"for unbatched (2-D) query, key_padding_mask must be 1-D (S,), got "
                f"{key_padding_mask.ndim}-D"
            )
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                _err(
                    f"for unbatched (2-D) query, attn_mask must be 2-D or 3-D, got "
                    f"{attn_mask.ndim}-D"
                )
            want = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != want:
                _err(f"expected a 3-D attn_mask of shape {want}, got {tuple(attn_mask.shape)}")
        return False
    _err(f"query must be 2-D (unbatched) or 3-D (batched), got {query.ndim}-D")
    return False


def _project(query, key, value, in_proj_weight, in_proj_bias, separate, q_w, k_w, v_w):
    """The three input projections (one matmul when query is key is value, packed)."""
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias.chunk(3)
    if separate:
        for name, w in (("q_proj_weight", q_w), ("k_proj_weight", k_w), ("v_proj_weight", v_w)):
            if w is None:
                _err(f"use_separate_proj_weight is True but {name} is None")
        eq, ek, ev = query.shape[-1], key.shape[-1], value.shape[-1]  # PyTorch's _in_projection
        for what, t, want in (
            *(("query weights", q_w, (eq, eq)), ("key weights", k_w, (eq, ek))),
            *(("value weights", v_w, (eq, ev)), ("query bias", bq, (eq,))),
            *(("key bias", bk, (eq,)), ("value bias", bv, (eq,))),
        ):
            if t is not None and tuple(t.shape) != want:
                raise AssertionError(f"expecting {what} shape of {want}, but got {t.shape}")
        return linear(query, q_w, bq), linear(key, k_w, bk), linear(value, v_w, bv)
    if in_proj_weight is None:
        _err("use_separate_proj_weight is False but in_proj_weight is None")
    if query is key and key is value:
        return linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
    wq, wk, wv = in_proj_weight.chunk(3)
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def _heads(t: Tensor, static: Tensor | None, bh: int, head_dim: int, name: str) -> Tensor:
    """(S, N, E) -> (N·H, S, head_dim), or the given static keys/values."""
    if static is None:
        return t.reshape(t.shape[0], bh, head_dim).transpose(0, 1)
    if static.ndim != 3 or static.shape[0] != bh or static.shape[2] != head_dim:
        _err(f"expected {name} of shape ({bh}, S, {head_dim}), got {tuple(static.shape)}")
    return static


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on sequence-first inputs (PyTorch's functional form).

    Shape:
        query (L, N, E) or (L, E); key (S, N, kdim) or (S, kdim); value (S, N, vdim) or
        (S, vdim); key_padding_mask (N, S) or (S,); attn_mask (L, S) or (N·num_heads, L, S).
        Returns (L, N, E) and weights (N, L, S) averaged over heads or (N, num_heads, L, S)
        (None when ``need_weights`` is False).
    """
    batched = _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        _err(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        _err(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            _err(
                f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                f"{tuple(value.shape[:2])}"
            )
    elif key.shape != value.shape:
        _err(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
    dtype = query.dtype
    _warn_mismatched_masks(key_padding_mask, attn_mask)
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "multi_head_attention_forward: need attn_mask if specifying the "
            "is_causal hint; nn.Transformer.generate_square_subsequent_mask "
            "creates one"
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint alone drives the fused op's causal mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype)
        is_causal = False  # a merged or explicit mask is used instead of the hint
    q, k, v = _project(
        query,
        key,
        value,
        in_proj_weight,
        in_proj_bias,
        use_separate_proj_weight,
        q_proj_weight,
        k_proj_weight,
        v_proj_weight,
    )
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                _err(
                    f"the shape of the 2-D attn_mask is {tuple(attn_mask.shape)}, but should "
                    f"be {(tgt_len, src_len)}",
                    _MHAMaskShapeError,
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
            _err(
                f"the shape of the 3-D attn_mask is {tuple(attn_mask.shape)}, but should be "
                f"{(bsz * num_heads, tgt_len, src_len)}",
                _MHAMaskShapeError,
            )
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            _err("bias cannot be added to static key/value (bias_k with static_k/static_v)")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif (bias_k is None) != (bias_v is None):
        _err("bias_k and bias_v must both be given or both be None")
    bh = bsz * num_heads
    q = q.reshape(tgt_len, bh, head_dim).transpose(0, 1)
    k = _heads(k, static_k, bh, head_dim, "static_k")
    v = _heads(v, static_v, bh, head_dim, "static_v")
    if add_zero_attn:
        k = cat([k, zeros((bh, 1, head_dim), dtype=k.dtype)], 1)
        v = cat([v, zeros((bh, 1, head_dim), dtype=v.dtype)], 1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            _err(
                f"expected key_padding_mask of shape {(bsz, src_len)}, got "
                f"{tuple(key_padding_mask.shape)}"
            )
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bh, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if attn_mask is not None:  # (1 or N·H, L, S) -> broadcastable to (N, H, L, S)
        attn_mask = (
            attn_mask.unsqueeze(0)
            if attn_mask.shape[0] == 1
            else attn_mask.reshape(bsz, num_heads, -1, src_len)
        )
    q4 = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k4 = k.reshape(bsz, num_heads, src_len, head_dim)
    v4 = v.reshape(bsz, num_heads, src_len, v.shape[-1])
    p = dropout_p if training else 0.0
    if need_weights and p > 1.0:  # PyTorch: F.dropout's ValueError (its fused path's error
        # for need_weights=False, a RuntimeError, is attention()'s below)
        raise ValueError(
            f"multi_head_attention_forward: dropout probability has to be between 0 and 1, "
            f"but got {p}"
        )
    if need_weights and p < 0.0:  # PyTorch drops out only when p > 0: a negative p is none
        p = 0.0
    res = attention(
        q4,
        k4,
        v4,
        attn_mask,
        p,
        is_causal,
        need_weights=need_weights,
        nan_rows=need_weights,
    )
    out, weights = res if need_weights else (res, None)
    out = out.permute(2, 0, 1, 3).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias)
    out = out.reshape(tgt_len, bsz, out.shape[-1])  # not -1: ambiguous when bsz or tgt_len is 0
    if weights is not None and average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights
