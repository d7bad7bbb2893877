"""iTransformer, as thuml/iTransformer writes it (``model/iTransformer.py``,
``layers/Embed.py``'s ``DataEmbedding_inverted``, ``layers/SelfAttention_Family.py``'s
``FullAttention`` / ``AttentionLayer``, ``layers/Transformer_EncDec.py``'s ``EncoderLayer`` /
``Encoder``), with the ``RevIN`` module of ts-kmeans/RevIN (``layers/RevIN.py``) as the
Time-Series-Library models use it; size-reduced (96 -> 16 steps, 4 variates, d_model 8).

The idioms: the inverted embedding (variates as tokens) ``x = x.permute(0, 2, 1)`` then
``self.value_embedding(torch.cat([x, x_mark.permute(0, 2, 1)], 1))`` (the time covariates are
tokens too) and ``self.projector(enc_out).permute(0, 2, 1)[:, :, :N]``; the non-stationary
normalisation ``means = x_enc.mean(1, keepdim=True).detach()``, ``stdev =
torch.sqrt(torch.var(x_enc, dim=1, keepdim=True, unbiased=False) + 1e-5)``, the in-place
``x_enc /= stdev`` and the de-normalisation ``dec_out * (stdev[:, 0, :].unsqueeze(1).repeat(1,
self.pred_len, 1))``; ``FullAttention``'s ``torch.einsum("blhe,bshe->bhls", queries, keys)``,
``scores.masked_fill_(attn_mask.mask, -np.inf)`` with the ``TriangularCausalMask``
(``torch.triu(torch.ones(mask_shape, dtype=torch.bool), diagonal=1)`` under
``torch.no_grad()``), ``torch.softmax(scale * scores, dim=-1)``, ``torch.einsum("bhls,bshd->
blhd", A, values)`` and ``V.contiguous()``; the ``EncoderLayer``'s pointwise ``nn.Conv1d(d_model,
d_ff, kernel_size=1)`` over ``y.transpose(-1, 1)`` with ``F.gelu``; ``RevIN``'s ``_get_statistics``
(``dim2reduce = tuple(range(1, x.ndim - 1))``, ``torch.var(x, dim=dim2reduce, keepdim=True,
unbiased=False)``), ``affine_weight`` / ``affine_bias`` and the ``denorm`` inverse
``(x - self.affine_bias) / (self.affine_weight + self.eps * self.eps)``; and the
``output_attention`` path returning the attention maps.
"""

from __future__ import annotations

from math import sqrt
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SEQ_LEN, PRED_LEN, N_VAR, N_MARK, D_MODEL, N_HEADS, D_FF, STEPS = 16, 4, 4, 2, 8, 2, 16, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class TriangularCausalMask:
        def __init__(self, B: int, L: int, device: str = "cpu") -> None:
            mask_shape = [B, 1, L, L]
            with torch.no_grad():
                self._mask = torch.triu(torch.ones(mask_shape, dtype=torch.bool), diagonal=1).to(
                    device
                )

        @property
        def mask(self) -> Any:
            return self._mask

    class FullAttention(nn.Module):
        def __init__(self, mask_flag: bool = True, factor: int = 5, scale: Any = None,
                     attention_dropout: float = 0.1,
                     output_attention: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.scale = scale
            self.mask_flag = mask_flag
            self.output_attention = output_attention
            self.dropout = nn.Dropout(attention_dropout)

        def forward(self, queries: Any, keys: Any, values: Any, attn_mask: Any, tau: Any = None,
                    delta: Any = None) -> tuple:  # fmt: skip
            B, L, H, E = queries.shape
            _, S, _, D = values.shape
            scale = self.scale or 1.0 / sqrt(E)
            scores = torch.einsum("blhe,bshe->bhls", queries, keys)
            if self.mask_flag:
                if attn_mask is None:
                    attn_mask = TriangularCausalMask(B, L, device=queries.device)
                scores.masked_fill_(attn_mask.mask, -np.inf)
            A = self.dropout(torch.softmax(scale * scores, dim=-1))
            V = torch.einsum("bhls,bshd->blhd", A, values)
            if self.output_attention:
                return (V.contiguous(), A)
            return (V.contiguous(), None)

    class AttentionLayer(nn.Module):
        def __init__(self, attention: Any, d_model: int, n_heads: int) -> None:
            super().__init__()
            d_keys = d_model // n_heads
            d_values = d_model // n_heads
            self.inner_attention = attention
            self.query_projection = nn.Linear(d_model, d_keys * n_heads)
            self.key_projection = nn.Linear(d_model, d_keys * n_heads)
            self.value_projection = nn.Linear(d_model, d_values * n_heads)
            self.out_projection = nn.Linear(d_values * n_heads, d_model)
            self.n_heads = n_heads

        def forward(self, queries: Any, keys: Any, values: Any, attn_mask: Any,
                    tau: Any = None, delta: Any = None) -> tuple:  # fmt: skip
            B, L, _ = queries.shape
            _, S, _ = keys.shape
            H = self.n_heads
            queries = self.query_projection(queries).view(B, L, H, -1)
            keys = self.key_projection(keys).view(B, S, H, -1)
            values = self.value_projection(values).view(B, S, H, -1)
            out, attn = self.inner_attention(queries, keys, values, attn_mask, tau=tau,
                                             delta=delta)  # fmt: skip
            out = out.view(B, L, -1)
            return self.out_projection(out), attn

    class EncoderLayer(nn.Module):
        def __init__(self, attention: Any, d_model: int, d_ff: int | None = None,
                     dropout: float = 0.1, activation: str = "relu") -> None:  # fmt: skip
            super().__init__()
            d_ff = d_ff or 4 * d_model
            self.attention = attention
            self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
            self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
            self.norm1 = nn.LayerNorm(d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.dropout = nn.Dropout(dropout)
            self.activation = F.relu if activation == "relu" else F.gelu

        def forward(self, x: Any, attn_mask: Any = None, tau: Any = None, delta: Any = None):
            new_x, attn = self.attention(x, x, x, attn_mask=attn_mask, tau=tau, delta=delta)
            x = x + self.dropout(new_x)
            y = x = self.norm1(x)
            y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
            y = self.dropout(self.conv2(y).transpose(-1, 1))
            return self.norm2(x + y), attn

    class Encoder(nn.Module):
        def __init__(self, attn_layers: list, norm_layer: Any = None) -> None:
            super().__init__()
            self.attn_layers = nn.ModuleList(attn_layers)
            self.norm = norm_layer

        def forward(self, x: Any, attn_mask: Any = None) -> tuple:
            attns = []
            for attn_layer in self.attn_layers:
                x, attn = attn_layer(x, attn_mask=attn_mask)
                attns.append(attn)
            if self.norm is not None:
                x = self.norm(x)
            return x, attns

    class DataEmbedding_inverted(nn.Module):
        def __init__(self, c_in: int, d_model: int, dropout: float = 0.1) -> None:
            super().__init__()
            self.value_embedding = nn.Linear(c_in, d_model)
            self.dropout = nn.Dropout(p=dropout)

        def forward(self, x: Any, x_mark: Any) -> Any:
            x = x.permute(0, 2, 1)
            # x: [Batch Variate Time]
            if x_mark is None:
                x = self.value_embedding(x)
            else:
                x = self.value_embedding(torch.cat([x, x_mark.permute(0, 2, 1)], 1))
            return self.dropout(x)

    class RevIN(nn.Module):
        def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True) -> None:
            super().__init__()
            self.num_features = num_features
            self.eps = eps
            self.affine = affine
            if self.affine:
                self._init_params()

        def forward(self, x: Any, mode: str) -> Any:
            if mode == "norm":
                self._get_statistics(x)
                x = self._normalize(x)
            elif mode == "denorm":
                x = self._denormalize(x)
            else:
                raise NotImplementedError
            return x

        def _init_params(self) -> None:
            self.affine_weight = nn.Parameter(torch.ones(self.num_features))
            self.affine_bias = nn.Parameter(torch.zeros(self.num_features))

        def _get_statistics(self, x: Any) -> None:
            dim2reduce = tuple(range(1, x.ndim - 1))
            self.mean = torch.mean(x, dim=dim2reduce, keepdim=True).detach()
            self.stdev = torch.sqrt(
                torch.var(x, dim=dim2reduce, keepdim=True, unbiased=False) + self.eps
            ).detach()

        def _normalize(self, x: Any) -> Any:
            x = x - self.mean
            x = x / self.stdev
            if self.affine:
                x = x * self.affine_weight
                x = x + self.affine_bias
            return x

        def _denormalize(self, x: Any) -> Any:
            if self.affine:
                x = x - self.affine_bias
                x = x / (self.affine_weight + self.eps * self.eps)
            x = x * self.stdev
            x = x + self.mean
            return x

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seq_len, self.pred_len = SEQ_LEN, PRED_LEN
            self.output_attention = True
            self.use_norm = True
            self.enc_embedding = DataEmbedding_inverted(SEQ_LEN, D_MODEL, 0.0)
            self.encoder = Encoder(
                [
                    EncoderLayer(
                        AttentionLayer(
                            FullAttention(False, 5, attention_dropout=0.0,
                                          output_attention=self.output_attention),
                            D_MODEL, N_HEADS,
                        ),
                        D_MODEL, D_FF, dropout=0.0, activation="gelu",
                    )
                    for _l in range(2)
                ],
                norm_layer=torch.nn.LayerNorm(D_MODEL),
            )  # fmt: skip
            self.projector = nn.Linear(D_MODEL, PRED_LEN, bias=True)
            self.causal = FullAttention(True, attention_dropout=0.0)
            self.revin = RevIN(N_VAR)

        def forecast(self, x_enc: Any, x_mark_enc: Any) -> tuple:
            if self.use_norm:
                means = x_enc.mean(1, keepdim=True).detach()
                x_enc = x_enc - means
                stdev = torch.sqrt(torch.var(x_enc, dim=1, keepdim=True, unbiased=False) + 1e-5)
                x_enc /= stdev
            _, _, N = x_enc.shape  # B L N
            enc_out = self.enc_embedding(x_enc, x_mark_enc)
            enc_out, attns = self.encoder(enc_out, attn_mask=None)
            dec_out = self.projector(enc_out).permute(0, 2, 1)[:, :, :N]
            if self.use_norm:
                dec_out = dec_out * (stdev[:, 0, :].unsqueeze(1).repeat(1, self.pred_len, 1))
                dec_out = dec_out + (means[:, 0, :].unsqueeze(1).repeat(1, self.pred_len, 1))
            return dec_out, attns

        def forward(self, x_enc: Any, x_mark_enc: Any) -> tuple:
            dec_out, attns = self.forecast(x_enc, x_mark_enc)
            return dec_out[:, -self.pred_len :, :], attns

    return Model()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    criterion = nn.MSELoss()
    rng = np.random.default_rng(12)
    t = np.arange(SEQ_LEN + PRED_LEN)
    values: list[float] = []
    for _step in range(STEPS):
        phase = rng.uniform(0, 3, (3, 1, N_VAR))
        scale = rng.uniform(0.5, 4, (3, 1, N_VAR))
        full = scale * np.sin(t[None, :, None] / 3.0 + phase) + 5 * scale
        x = as_tensor(torch_like, full[:, :SEQ_LEN])
        y = as_tensor(torch_like, full[:, SEQ_LEN:])
        mark = as_tensor(torch_like, np.stack([np.sin(t[:SEQ_LEN]), np.cos(t[:SEQ_LEN])], 1))
        x_mark = mark.unsqueeze(0).expand(3, -1, -1)
        outputs, attns = model(x, x_mark)
        loss = criterion(outputs, y)
        # the RevIN module around the same encoder input (norm, then denorm of a forecast)
        normed = model.revin(x, "norm")
        loss = loss + 0.1 * criterion(model.revin(normed[:, -PRED_LEN:], "denorm"), y)
        # a causal FullAttention over the variate tokens (the mask path)
        q = normed.view(3, SEQ_LEN, N_HEADS, N_VAR // N_HEADS)
        causal_out, _ = model.causal(q, q, q, None)
        loss = loss + 0.01 * causal_out.pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.extend([loss.item(), attns[0].sum().item(), attns[1][0, 0, 0].max().item()])
    return values
