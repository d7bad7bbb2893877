"""``nn.MultiheadAttention``: PyTorch's layer, parameter for parameter.

Parameters (names and shapes as in PyTorch 2.13, so state dicts move both ways):
``in_proj_weight`` (3E, E) when key and value have the embedding size, else
``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
``in_proj_bias`` (3E,); ``out_proj`` (a Linear E -> E); ``bias_k``, ``bias_v`` (1, 1, E) with
``add_bias_kv``. Initialisation: xavier_uniform_ on the input projections, zeros on both
biases, xavier_normal_ on bias_k / bias_v, Linear's default on ``out_proj.weight``.
"""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ...creation import empty
from .. import init
from ..functional.attention import _MHAAssertionError, multi_head_attention_forward
from ..module import Module
from ..parameter import Parameter
from .linear import Linear

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for ``MultiheadAttention.out_proj`` (same repr)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of size ``embed_dim // num_heads``.

    Args:
        embed_dim: E, the model (query) dimension. num_heads: H; must divide E.
        dropout: dropout on the attention weights (training mode only).
        bias: biases on the input and output projections.
        add_bias_kv: learn a key and a value appended to the sequence (bias_k, bias_v).
        add_zero_attn: append an all-zero key and value after the projections.
        kdim, vdim: key / value feature sizes (default E).
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).

    Shape:
        query (L, N, E) / (N, L, E) / unbatched (L, E); key (S, N, kdim); value (S, N, vdim);
        key_padding_mask (N, S) or (S,), True / -inf = ignore that key; attn_mask (L, S) or
        (N·H, L, S), True / -inf = not allowed. Output (L, N, E) and, with
        ``need_weights``, weights (N, L, S) averaged over heads or (N, H, L, S).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        if embed_dim % num_heads != 0:  # PyTorch asserts it: AssertionError (and ValueError)
            raise _MHAAssertionError(
                f"embed_dim must be divisible by num_heads\nMultiheadAttention: embed_dim "
                f"({embed_dim}) is not divisible by num_heads ({num_heads})"
            )
        # any dropout is accepted here and checked by the training-mode forward, as PyTorch
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        kw = {"dtype": dtype, "device": device}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value``; returns (output, weights or None)."""
        batched = query.ndim == 3
        if self.batch_first and batched:  # keep `is` identities: they select packed projection
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = query.transpose(1, 0), key.transpose(1, 0)
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        out, weights = multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
        )
        if self.batch_first and batched:
            # PyTorch's result is this transposed view too, so its strides are PyTorch's (an
            # unmarked array's are: _layout_marks.py), and dropout draws in its memory order
            out = out.transpose(1, 0)
        return out, weights
