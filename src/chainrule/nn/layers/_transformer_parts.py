"""The private parts that ``transformer.py``'s five public modules are assembled from.

- ``_TransformerLayer``: what ``TransformerEncoderLayer`` and ``TransformerDecoderLayer``
  share (submodule construction in PyTorch's registration order, the self-attention and
  feed-forward blocks, the residual-plus-LayerNorm step), with ``_activation``, which turns
  the ``activation`` argument into a callable;
- the causal-mask helpers: ``_square_subsequent_mask`` (behind
  ``Transformer.generate_square_subsequent_mask``) and ``_detect_is_causal_mask``, with
  which the stacks infer ``is_causal`` from the mask they are given;
- ``_same_type_masks``: a bool padding mask next to a float attention mask (or the reverse)
  warned about under the encoder's own argument names and both made float, as PyTorch's
  encoder layer and stack do before their attention sees them;
- ``_clones``: the stacks' deep copies of the layer they are given (PyTorch's
  ``_get_clones``).

They live apart so that ``transformer.py`` holds PyTorch's public classes only; those stay
there, so that pickled modules keep naming ``chainrule.nn.layers.transformer``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ...autograd.tensor import Tensor
from ...creation import full
from ...ops.triangles import triu
from .. import functional as F
from ..functional.attention import _canonical_mask, _warn_mismatched_masks
from ..module import Module
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .normalization import LayerNorm

__all__ = [
    "_TransformerLayer",
    "_activation",
    "_clones",
    "_detect_is_causal_mask",
    "_seq_len",
    "_square_subsequent_mask",
]


def _activation(activation: str | Callable) -> Callable:
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(
            f"activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}"
        )
    return activation


def _square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
    """(sz, sz) float mask: 0 on and below the diagonal, -inf above (future positions)."""
    return triu(full((sz, sz), float("-inf"), dtype=dtype, device=device), diagonal=1)


def _seq_len(x: Tensor, batch_first: bool) -> int:
    return x.shape[0] if x.ndim == 2 else x.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask: Tensor | None, is_causal: bool | None, size: int) -> bool:
    """``is_causal`` if given, else whether ``mask`` equals the square subsequent mask."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    if tuple(mask.shape) != (size, size):
        return False
    ref = _square_subsequent_mask(size, dtype=mask.dtype)
    return bool((mask._data == ref._data).all())


def _same_type_masks(
    x: Tensor, key_padding_mask: Any, mask: Any, names: tuple[str, str]
) -> tuple[Any, Any]:
    """The two masks unchanged when their dtypes agree; else PyTorch's deprecation warning
    (named as the caller's arguments) and both as float masks of ``x``'s dtype (0 / -inf), so
    that the attention below neither warns again nor sees mixed types."""
    if not _warn_mismatched_masks(key_padding_mask, mask, names):
        return key_padding_mask, mask
    return (
        _canonical_mask(key_padding_mask, names[0], x.dtype),
        _canonical_mask(mask, names[1], x.dtype),
    )


class _TransformerLayer(Module):
    """What encoder and decoder layers share: construction, the self-attention and
    feed-forward blocks, and the residual-plus-LayerNorm step in either norm placement."""

    def _init_layer(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int,
        dropout: float,
        activation: str | Callable,
        layer_norm_eps: float,
        batch_first: bool,
        norm_first: bool,
        bias: bool,
        kw: dict,
        cross_attention: bool,
    ) -> None:
        """Submodules in PyTorch's registration order (so state dicts list the same keys):
        self_attn, [multihead_attn,] linear1, dropout, linear2, [activation,] norm1.., then
        dropout1..; the decoder (``cross_attention``) has three norms and dropouts, not two."""
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )
        if cross_attention:
            self.multihead_attn = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
            )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        fn = _activation(activation)
        # 1 for relu, 2 for gelu: the functions and the modules (any GELU approximation), as
        # PyTorch counts them (its nested-tensor fast path requires one of them)
        relu, gelu = fn is F.relu or isinstance(fn, ReLU), fn is F.gelu or isinstance(fn, GELU)
        self.activation_relu_or_gelu = 1 if relu else 2 if gelu else 0
        self.activation = fn  # a Module becomes a submodule, as in PyTorch
        self.norm_first = norm_first
        blocks = range(1, 4 if cross_attention else 3)
        for i in blocks:
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for i in blocks:
            setattr(self, f"dropout{i}", Dropout(dropout))

    def _residual(self, x: Tensor, norm: LayerNorm, block: Callable[[Tensor], Tensor]) -> Tensor:
        """x + block(norm(x)) with ``norm_first``, else norm(x + block(x))."""
        if self.norm_first:
            return x + block(norm(x))
        return norm(x + block(x))

    def _sa_block(
        self, x: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool
    ) -> Tensor:
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor, out_dropout: Dropout) -> Tensor:
        return out_dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _deepcopy(module: Module) -> Module:
    """``copy.deepcopy(module)``, as PyTorch's ``_get_clones``: every parameter and buffer in
    new memory (a parameter's copy without its ``.grad``); one shared between submodules
    stays shared in the copy."""
    return copy.deepcopy(module)


def _clones(module: Module, n: int) -> ModuleList:
    """``n`` independent deep copies of ``module`` (PyTorch's ``_get_clones``)."""
    if n < 0:
        raise ValueError(f"the number of layers must be non-negative, got {n}")
    return ModuleList([_deepcopy(module) for _ in range(n)])
