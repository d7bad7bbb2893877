"""Transformer layers as in PyTorch 2.13: encoder/decoder layers, stacks, and ``Transformer``.

Names, defaults, submodule names (``self_attn``, ``multihead_attn``, ``linear1``, ``dropout``,
``linear2``, ``norm1``..``norm3``, ``dropout1``..``dropout3``, ``layers.N``) and parameter
counts equal PyTorch's, so state dicts load in both directions. Stacks deep-copy the layer
they are given, like PyTorch's ``_get_clones``, so every layer starts with the same weights
unless re-initialised (``nn.Transformer`` then applies xavier_uniform_ to every matrix).

PyTorch's inference "fast paths" (the fused encoder-layer kernel and nested tensors for
padded batches) are not run as such, but what they show is mirrored: ``TransformerEncoder``
sets ``use_nested_tensor`` by PyTorch's rule (warning why not when ``enable_nested_tensor``
asked for it), and where PyTorch's nested path would run (eval, no gradient wanted, a
left-aligned ``src_key_padding_mask`` and no ``mask``) the outputs at padded positions are
zeros, as PyTorch's nested tensors give them back.

This file holds the five public classes; the parts they are built from (the shared layer
base with its attention/feed-forward blocks, the causal-mask helpers, the layer cloning) are
in ``_transformer_parts.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ...autograd.state import is_grad_enabled
from ...autograd.tensor import Tensor
from ...backends import mha
from ...settings import is_warn_always_enabled
from .. import functional as F
from .. import init
from ..module import Module
from ._transformer_parts import (
    _clones,
    _detect_is_causal_mask,
    _same_type_masks,
    _seq_len,
    _square_subsequent_mask,
    _TransformerLayer,
)
from .normalization import LayerNorm

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a feed-forward network, each with a residual and a LayerNorm.

    Post-norm (default): x = norm1(x + SA(x)); x = norm2(x + FF(x)). With ``norm_first``:
    x = x + SA(norm1(x)); x = x + FF(norm2(x)). FF(x) = linear2(dropout(act(linear1(x)))).

    Shape: src (S, N, E), (N, S, E) with ``batch_first``, or unbatched (S, E); unchanged.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        self._init_layer(
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            {"device": device, "dtype": dtype},
            cross_attention=False,
        )

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        src_key_padding_mask, src_mask = _same_type_masks(
            src, src_key_padding_mask, src_mask, ("src_key_padding_mask", "src_mask")
        )
        x = self._residual(
            src, self.norm1, lambda y: self._sa_block(y, src_mask, src_key_padding_mask, is_causal)
        )
        return self._residual(x, self.norm2, lambda y: self._ff_block(y, self.dropout2))


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention, attention over the encoder output (``memory``), then feed-forward.

    Post-norm (default): x = norm1(x + SA(x)); x = norm2(x + MHA(x, mem)); x = norm3(x + FF(x));
    ``norm_first`` moves each norm inside its residual branch.

    Shape: tgt (T, N, E) / (N, T, E) / (T, E); memory (S, N, E) / (N, S, E) / (S, E).
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        self._init_layer(
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            {"device": device, "dtype": dtype},
            cross_attention=True,
        )

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = self._residual(
            tgt,
            self.norm1,
            lambda y: self._sa_block(y, tgt_mask, tgt_key_padding_mask, tgt_is_causal),
        )
        x = self._residual(
            x,
            self.norm2,
            lambda y: self._mha_block(
                y, memory, memory_mask, memory_key_padding_mask, memory_is_causal
            ),
        )
        return self._residual(x, self.norm3, lambda y: self._ff_block(y, self.dropout3))

    def _mha_block(
        self,
        x: Tensor,
        mem: Tensor,
        attn_mask: Tensor | None,
        key_padding_mask: Tensor | None,
        is_causal: bool,
    ) -> Tensor:
        x = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)


_NESTED_WARNED = [False]  # PyTorch warns once per process that nested tensors are a prototype


def _why_not_nested(layer: Module) -> str:
    """Why PyTorch's encoder cannot use nested tensors with ``layer`` ('' when it can), its
    reasons in its order and words."""
    if not isinstance(layer, TransformerEncoderLayer):
        return "encoder_layer was not TransformerEncoderLayer"
    attn = layer.self_attn
    checks = (
        (layer.norm_first, "encoder_layer.norm_first was True"),
        (
            not attn.batch_first,
            "encoder_layer.self_attn.batch_first was not True"
            "(use batch_first for better inference performance)",
        ),
        (not attn._qkv_same_embed_dim, "encoder_layer.self_attn._qkv_same_embed_dim was not True"),
        (attn.in_proj_bias is None, "encoder_layer.self_attn was passed bias=False"),
        (not layer.activation_relu_or_gelu, "encoder_layer.activation_relu_or_gelu was not True"),
        (
            layer.norm1.eps != layer.norm2.eps,
            "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps",
        ),
        (attn.num_heads % 2 == 1, "encoder_layer.self_attn.num_heads is odd"),
    )
    return next((why for failed, why in checks if failed), "")


def _left_aligned(padded: Tensor) -> bool:
    """Every row's kept tokens come first (no kept token after a padded one)."""
    pad = padded._data
    return not (pad[..., :-1] & ~pad[..., 1:]).any()


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer``, then the optional ``norm``.

    ``use_nested_tensor`` follows PyTorch's rule (``enable_nested_tensor`` and a layer its
    fast path takes; otherwise PyTorch's warning says why not). Where PyTorch would run the
    stack on nested tensors (see :meth:`forward`) the padded positions come out as zeros.
    """

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm
        why_not = _why_not_nested(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn(
                "enable_nested_tensor is True, but self.use_nested_tensor is False because "
                f"{why_not}",
                UserWarning,
                stacklevel=2,
            )
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor and not why_not
        self.mask_check = mask_check

    def _nested_padding(self, src: Tensor, mask: Any, src_key_padding_mask: Any) -> Any:
        """The padded positions (a bool Tensor) where PyTorch would run the stack on nested
        tensors, whose padded outputs are zeros; None where it takes the ordinary path (in
        training, gradients wanted for the input or the first layer's weights, no padding
        mask, a ``mask`` too, an unbatched input, padding that is not left-aligned, or the fast
        path turned off with ``backends.mha.set_fastpath_enabled(False)``)."""
        if not mha.get_fastpath_enabled():  # PyTorch's first test: the fast path is off
            return None
        if not self.use_nested_tensor or not self.num_layers or self.layers[0].training:
            return None
        if src_key_padding_mask is None or mask is not None or src.ndim != 3:
            return None
        if is_grad_enabled() and (
            src.requires_grad or any(p.requires_grad for p in self.layers[0].parameters())
        ):
            return None
        padded = src_key_padding_mask != 0  # a float mask: every non-zero entry is padding
        if not _left_aligned(padded):
            if self.mask_check:
                return None
            raise NotImplementedError(
                "TransformerEncoder: mask_check=False with a src_key_padding_mask that is not "
                "left-aligned (PyTorch's nested path then misreads the rows) is not supported"
            )
        if not _NESTED_WARNED[0] or is_warn_always_enabled():
            _NESTED_WARNED[0] = True
            warnings.warn(
                "The PyTorch API of nested tensors is in prototype stage and will change in the "
                "near future. We recommend specifying layout=torch.jagged when constructing a "
                "nested tensor, as this layout receives active development, has better operator "
                "coverage, and works with torch.compile.",
                UserWarning,
                stacklevel=3,
            )
        return padded

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        first = self.layers[0] if self.num_layers else None
        batch_first = bool(getattr(getattr(first, "self_attn", None), "batch_first", False))
        is_causal = _detect_is_causal_mask(mask, is_causal, _seq_len(src, batch_first))
        padded = self._nested_padding(src, mask, src_key_padding_mask)
        src_key_padding_mask, mask = _same_type_masks(
            src, src_key_padding_mask, mask, ("src_key_padding_mask", "mask")
        )
        out = src
        for mod in self.layers:
            out = mod(
                out, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask
            )
        out = self.norm(out) if self.norm is not None else out
        return out if padded is None else out.masked_fill(padded.unsqueeze(-1), 0.0)


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer``, then the optional ``norm``."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        first = self.layers[0] if self.num_layers else None
        batch_first = bool(getattr(getattr(first, "self_attn", None), "batch_first", False))
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
        out = tgt
        for mod in self.layers:
            out = mod(
                out,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need" (PyTorch's layout).

    Every parameter with more than one dimension is re-initialised with xavier_uniform_.

    Shape: src (S, N, E), tgt (T, N, E) (batch first with ``batch_first``; unbatched
    (S, E), (T, E)); output (T, N, E).
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        layer_kw = dict(
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            **kw,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, **layer_kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, **layer_kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batched = src.ndim == 3
        bdim = 0 if self.batch_first else 1
        if batched and src.shape[bdim] != tgt.shape[bdim]:
            raise RuntimeError(
                f"Transformer: the batch number of src and tgt must be equal, "
                f"got src {tuple(src.shape)} and tgt {tuple(tgt.shape)}"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(
                f"Transformer: the feature number of src and tgt must be equal "
                f"to d_model ({self.d_model}), got {src.shape[-1]} and "
                f"{tgt.shape[-1]}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """A float (sz, sz) mask with -inf above the diagonal and 0 elsewhere."""
        return _square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
