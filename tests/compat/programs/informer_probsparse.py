"""Informer (Zhou et al., AAAI 2021) as zhouhaoyi/Informer2020 (``models/attn.py``,
``models/encoder.py``, ``models/decoder.py``, ``models/embed.py``, ``utils/masking.py``) writes
it, size-reduced.

The idioms: ``ProbAttention._prob_QK`` (``K_expand = K.unsqueeze(-3).expand(B, H, L_Q, L_K,
E)``, the sampled keys ``K_expand[:, :, torch.arange(L_Q).unsqueeze(1), index_sample, :]``,
``torch.matmul(Q.unsqueeze(-2), K_sample.transpose(-2, -1)).squeeze(-2)``, the sparsity
measure ``M = Q_K_sample.max(-1)[0] - torch.div(Q_K_sample.sum(-1), L_K)``, ``M.topk(n_top,
sorted=False)[1]``, the reduced queries ``Q[torch.arange(B)[:, None, None], torch.arange(H)[None,
:, None], M_top, :]``); ``U_part = self.factor * np.ceil(np.log(L_K)).astype('int').item()``;
``_get_initial_context`` (``V.mean(dim=-2)`` ``.unsqueeze(-2).expand(...).clone()`` without a
mask, ``V.cumsum(dim=-2)`` with one); ``ProbMask`` (``torch.ones(L, L, dtype=torch.bool)
.triu(1)``, ``[None, None, :].expand``, the rows picked by the same advanced index,
``.view(scores.shape)``); ``_update_context`` (``scores.masked_fill_(attn_mask.mask, -np.inf)``,
the scatter back ``context_in[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None],
index, :] = torch.matmul(attn, V).type_as(context_in)``, the returned attention ``(torch.ones([B,
H, L_V, L_V]) / L_V).type_as(attn)`` with the same index assignment); ``FullAttention`` with
``TriangularCausalMask`` and ``torch.einsum("blhe,bshe->bhls", ...)``; ``AttentionLayer``
(``view(B, L, H, -1)``, ``mix`` = ``out.transpose(2, 1).contiguous()``); ``ConvLayer``, the
distilling step (``nn.Conv1d(..., padding=1, padding_mode='circular')``, ``nn.BatchNorm1d``,
``nn.ELU()``, ``nn.MaxPool1d(kernel_size=3, stride=2, padding=1)``, ``x.permute(0, 2, 1)``);
``EncoderLayer`` / ``DecoderLayer`` (1x1 ``Conv1d`` feed-forward, ``F.gelu``); ``DataEmbedding``
(``TokenEmbedding``'s circular ``Conv1d`` with ``nn.init.kaiming_normal_(m.weight,
mode='fan_in', nonlinearity='leaky_relu')``, ``PositionalEmbedding``'s sinusoid table built with
``.float()`` and the original's ``pe.require_grad = False`` typo, ``register_buffer``); the
decoder input ``torch.cat([x_dec[:, :label_len, :], torch.zeros(...)], dim=1)``; a few Adam steps
on an MSE loss.

The original's version check ``padding = 1 if torch.__version__ >= '1.5.0' else 2`` is kept
(``torch.__version__`` compares as a version in both frameworks).

Changed: ``torch.randint`` for the key sample is replaced by indices drawn with NumPy (the
generators differ); dropout is 0; widths and lengths are tiny.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

ENC_IN, D_MODEL, HEADS, D_FF, FACTOR = 3, 8, 2, 12, 1
BATCH, SEQ_LEN, LABEL_LEN, PRED_LEN, STEPS = 2, 8, 4, 2, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class TriangularCausalMask:
        def __init__(self, B: int, L: int) -> None:
            mask_shape = [B, 1, L, L]
            with torch.no_grad():
                self._mask = torch.triu(torch.ones(mask_shape, dtype=torch.bool), diagonal=1)

        @property
        def mask(self) -> Any:
            return self._mask

    class ProbMask:
        def __init__(self, B: int, H: int, L: int, index: Any, scores: Any) -> None:
            _mask = torch.ones(L, scores.shape[-1], dtype=torch.bool).triu(1)
            _mask_ex = _mask[None, None, :].expand(B, H, L, scores.shape[-1])
            indicator = _mask_ex[
                torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], index, :
            ]
            self._mask = indicator.view(scores.shape)

        @property
        def mask(self) -> Any:
            return self._mask

    class FullAttention(nn.Module):
        def __init__(self, mask_flag: bool = True, scale: Any = None) -> None:
            super().__init__()
            self.scale = scale
            self.mask_flag = mask_flag
            self.dropout = nn.Dropout(0.0)

        def forward(self, queries: Any, keys: Any, values: Any, attn_mask: Any) -> Any:
            B, L, H, E = queries.shape
            scale = self.scale or 1.0 / math.sqrt(E)
            scores = torch.einsum("blhe,bshe->bhls", queries, keys)
            if self.mask_flag:
                if attn_mask is None:
                    attn_mask = TriangularCausalMask(B, L)
                scores.masked_fill_(attn_mask.mask, -np.inf)
            A = self.dropout(torch.softmax(scale * scores, dim=-1))
            V = torch.einsum("bhls,bshd->blhd", A, values)
            return V.contiguous(), None

    class ProbAttention(nn.Module):
        def __init__(
            self, mask_flag: bool = True, factor: int = 5, output_attention: bool = False
        ) -> None:
            super().__init__()
            self.factor = factor
            self.scale = None
            self.mask_flag = mask_flag
            self.output_attention = output_attention
            self.sample_rng: np.random.Generator | None = None
            self.last_attn: Any = None

        def _prob_QK(self, Q: Any, K: Any, sample_k: int, n_top: int) -> tuple[Any, Any]:
            B, H, L_K, E = K.shape
            _, _, L_Q, _ = Q.shape
            K_expand = K.unsqueeze(-3).expand(B, H, L_Q, L_K, E)
            # torch.randint(L_K, (L_Q, sample_k)) in the original
            assert self.sample_rng is not None
            index_sample = torch.from_numpy(self.sample_rng.integers(L_K, size=(L_Q, sample_k)))
            K_sample = K_expand[:, :, torch.arange(L_Q).unsqueeze(1), index_sample, :]
            Q_K_sample = torch.matmul(Q.unsqueeze(-2), K_sample.transpose(-2, -1)).squeeze(-2)
            M = Q_K_sample.max(-1)[0] - torch.div(Q_K_sample.sum(-1), L_K)
            M_top = M.topk(n_top, sorted=False)[1]
            Q_reduce = Q[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], M_top, :]
            Q_K = torch.matmul(Q_reduce, K.transpose(-2, -1))
            return Q_K, M_top

        def _get_initial_context(self, V: Any, L_Q: int) -> Any:
            B, H, L_V, D = V.shape
            if not self.mask_flag:
                V_sum = V.mean(dim=-2)
                contex = V_sum.unsqueeze(-2).expand(B, H, L_Q, V_sum.shape[-1]).clone()
            else:
                assert L_Q == L_V
                contex = V.cumsum(dim=-2)
            return contex

        def _update_context(
            self, context_in: Any, V: Any, scores: Any, index: Any, L_Q: int
        ) -> tuple[Any, Any]:
            B, H, L_V, D = V.shape
            if self.mask_flag:
                attn_mask = ProbMask(B, H, L_Q, index, scores)
                scores.masked_fill_(attn_mask.mask, -np.inf)
            attn = torch.softmax(scores, dim=-1)
            context_in[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], index, :] = (
                torch.matmul(attn, V).type_as(context_in)
            )
            if self.output_attention:
                attns = (torch.ones([B, H, L_V, L_V]) / L_V).type_as(attn).to(attn.device)
                attns[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], index, :] = (
                    attn
                )
                return context_in, attns
            return context_in, None

        def forward(self, queries: Any, keys: Any, values: Any, attn_mask: Any) -> Any:
            B, L_Q, H, D = queries.shape
            _, L_K, _, _ = keys.shape
            queries = queries.transpose(2, 1)
            keys = keys.transpose(2, 1)
            values = values.transpose(2, 1)
            U_part = self.factor * np.ceil(np.log(L_K)).astype("int").item()
            u = self.factor * np.ceil(np.log(L_Q)).astype("int").item()
            U_part = U_part if U_part < L_K else L_K
            u = u if u < L_Q else L_Q
            scores_top, index = self._prob_QK(queries, keys, sample_k=U_part, n_top=u)
            scale = self.scale or 1.0 / math.sqrt(D)
            if scale is not None:
                scores_top = scores_top * scale
            context = self._get_initial_context(values, L_Q)
            context, attn = self._update_context(context, values, scores_top, index, L_Q)
            self.last_attn = attn
            return context.transpose(2, 1).contiguous(), attn

    class AttentionLayer(nn.Module):
        def __init__(self, attention: Any, d_model: int, n_heads: int, mix: bool = False) -> None:
            super().__init__()
            d_keys = d_model // n_heads
            d_values = d_model // n_heads
            self.inner_attention = attention
            self.query_projection = nn.Linear(d_model, d_keys * n_heads)
            self.key_projection = nn.Linear(d_model, d_keys * n_heads)
            self.value_projection = nn.Linear(d_model, d_values * n_heads)
            self.out_projection = nn.Linear(d_values * n_heads, d_model)
            self.n_heads = n_heads
            self.mix = mix

        def forward(self, queries: Any, keys: Any, values: Any, attn_mask: Any) -> Any:
            B, L, _ = queries.shape
            _, S, _ = keys.shape
            H = self.n_heads
            queries = self.query_projection(queries).view(B, L, H, -1)
            keys = self.key_projection(keys).view(B, S, H, -1)
            values = self.value_projection(values).view(B, S, H, -1)
            out, attn = self.inner_attention(queries, keys, values, attn_mask)
            if self.mix:
                out = out.transpose(2, 1).contiguous()
            out = out.view(B, L, -1)
            return self.out_projection(out), attn

    class ConvLayer(nn.Module):
        def __init__(self, c_in: int) -> None:
            super().__init__()
            padding = 1 if torch.__version__ >= "1.5.0" else 2
            self.downConv = nn.Conv1d(
                in_channels=c_in,
                out_channels=c_in,
                kernel_size=3,
                padding=padding,
                padding_mode="circular",
            )
            self.norm = nn.BatchNorm1d(c_in)
            self.activation = nn.ELU()
            self.maxPool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)

        def forward(self, x: Any) -> Any:
            x = self.downConv(x.permute(0, 2, 1))
            x = self.norm(x)
            x = self.activation(x)
            x = self.maxPool(x)
            x = x.transpose(1, 2)
            return x

    class EncoderLayer(nn.Module):
        def __init__(self, attention: Any, d_model: int, d_ff: int) -> None:
            super().__init__()
            self.attention = attention
            self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
            self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
            self.norm1 = nn.LayerNorm(d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.dropout = nn.Dropout(0.0)
            self.activation = F.gelu

        def forward(self, x: Any, attn_mask: Any = None) -> Any:
            new_x, attn = self.attention(x, x, x, attn_mask=attn_mask)
            x = x + self.dropout(new_x)
            y = x = self.norm1(x)
            y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
            y = self.dropout(self.conv2(y).transpose(-1, 1))
            return self.norm2(x + y), attn

    class Encoder(nn.Module):
        def __init__(self, attn_layers: list, conv_layers: list, norm_layer: Any) -> None:
            super().__init__()
            self.attn_layers = nn.ModuleList(attn_layers)
            self.conv_layers = nn.ModuleList(conv_layers)
            self.norm = norm_layer

        def forward(self, x: Any, attn_mask: Any = None) -> Any:
            attns = []
            for attn_layer, conv_layer in zip(self.attn_layers, self.conv_layers, strict=False):
                x, attn = attn_layer(x, attn_mask=attn_mask)
                x = conv_layer(x)
                attns.append(attn)
            x, attn = self.attn_layers[-1](x, attn_mask=attn_mask)
            attns.append(attn)
            return self.norm(x), attns

    class DecoderLayer(nn.Module):
        def __init__(
            self, self_attention: Any, cross_attention: Any, d_model: int, d_ff: int
        ) -> None:
            super().__init__()
            self.self_attention = self_attention
            self.cross_attention = cross_attention
            self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
            self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
            self.norm1 = nn.LayerNorm(d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.norm3 = nn.LayerNorm(d_model)
            self.dropout = nn.Dropout(0.0)
            self.activation = F.gelu

        def forward(self, x: Any, cross: Any, x_mask: Any = None, cross_mask: Any = None) -> Any:
            x = x + self.dropout(self.self_attention(x, x, x, attn_mask=x_mask)[0])
            x = self.norm1(x)
            x = x + self.dropout(self.cross_attention(x, cross, cross, attn_mask=cross_mask)[0])
            y = x = self.norm2(x)
            y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
            y = self.dropout(self.conv2(y).transpose(-1, 1))
            return self.norm3(x + y)

    class PositionalEmbedding(nn.Module):
        def __init__(self, d_model: int, max_len: int = 64) -> None:
            super().__init__()
            pe = torch.zeros(max_len, d_model).float()
            pe.require_grad = False
            position = torch.arange(0, max_len).float().unsqueeze(1)
            div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0)
            self.register_buffer("pe", pe)

        def forward(self, x: Any) -> Any:
            return self.pe[:, : x.size(1)]

    class TokenEmbedding(nn.Module):
        def __init__(self, c_in: int, d_model: int) -> None:
            super().__init__()
            padding = 1 if torch.__version__ >= "1.5.0" else 2
            self.tokenConv = nn.Conv1d(
                in_channels=c_in,
                out_channels=d_model,
                kernel_size=3,
                padding=padding,
                padding_mode="circular",
            )
            for m in self.modules():
                if isinstance(m, nn.Conv1d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="leaky_relu")

        def forward(self, x: Any) -> Any:
            return self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)

    class DataEmbedding(nn.Module):
        def __init__(self, c_in: int, d_model: int) -> None:
            super().__init__()
            self.value_embedding = TokenEmbedding(c_in=c_in, d_model=d_model)
            self.position_embedding = PositionalEmbedding(d_model=d_model)
            self.dropout = nn.Dropout(p=0.0)

        def forward(self, x: Any) -> Any:
            x = self.value_embedding(x) + self.position_embedding(x)
            return self.dropout(x)

    class Informer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pred_len = PRED_LEN
            self.enc_embedding = DataEmbedding(ENC_IN, D_MODEL)
            self.dec_embedding = DataEmbedding(ENC_IN, D_MODEL)
            self.encoder = Encoder(
                [
                    EncoderLayer(
                        AttentionLayer(ProbAttention(False, FACTOR), D_MODEL, HEADS),
                        D_MODEL,
                        D_FF,
                    )
                    for _ in range(2)
                ],
                [ConvLayer(D_MODEL)],
                norm_layer=nn.LayerNorm(D_MODEL),
            )
            self.decoder = DecoderLayer(
                AttentionLayer(ProbAttention(True, FACTOR), D_MODEL, HEADS, mix=True),
                AttentionLayer(FullAttention(False), D_MODEL, HEADS),
                D_MODEL,
                D_FF,
            )
            self.dec_norm = nn.LayerNorm(D_MODEL)
            self.projection = nn.Linear(D_MODEL, ENC_IN, bias=True)

        def forward(self, x_enc: Any, x_dec: Any) -> Any:
            enc_out = self.enc_embedding(x_enc)
            enc_out, attns = self.encoder(enc_out)
            dec_out = self.dec_embedding(x_dec)
            dec_out = self.dec_norm(self.decoder(dec_out, enc_out))
            dec_out = self.projection(dec_out)
            return dec_out[:, -self.pred_len :, :]

    return Informer()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    rng = np.random.default_rng(7)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    for m in model.modules():
        if type(m).__name__ == "ProbAttention":
            m.sample_rng = rng
    t = np.arange(SEQ_LEN + PRED_LEN)[None, :, None] / 3.0
    series = np.sin(t + rng.uniform(0, 3, (BATCH, 1, ENC_IN))) + 0.1 * rng.standard_normal(
        (BATCH, SEQ_LEN + PRED_LEN, ENC_IN)
    )
    batch_x = as_tensor(torch, series[:, :SEQ_LEN])
    batch_y = as_tensor(torch, series[:, SEQ_LEN - LABEL_LEN :])
    values: list[float] = []

    # ProbAttention alone, returning the attention map, against the same ops written densely
    attn = make_model(torch).decoder.self_attention.inner_attention
    attn.output_attention = True
    attn.sample_rng = np.random.default_rng(1)
    q, k, v = (as_tensor(torch, rng.standard_normal((1, 6, 2, 3))) for _ in range(3))
    ctx, a = attn(q, k, v, None)
    values += ctx.flatten().tolist() + a.sum(-1).flatten().tolist()
    # rows not chosen by the top-u queries keep the cumsum context and the uniform map
    values += [((a - 1.0 / 6).abs() < 1e-6).all(-1).sum().item()]

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.MSELoss()
    for _ in range(STEPS):
        optimizer.zero_grad()
        dec_inp = torch.zeros([batch_y.shape[0], PRED_LEN, batch_y.shape[-1]]).float()
        dec_inp = torch.cat([batch_y[:, :LABEL_LEN, :], dec_inp], dim=1).float()
        outputs = model(batch_x.float(), dec_inp)
        loss = criterion(outputs, batch_y[:, -PRED_LEN:, :].float())
        loss.backward()
        optimizer.step()
        values += [
            loss.item(),
            model.enc_embedding.value_embedding.tokenConv.weight.grad.norm().item(),
            model.encoder.conv_layers[0].norm.running_var.sum().item(),
        ]
    return values


DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5


def check(values: list[float]) -> None:
    # each row of the returned attention map sums to one
    n_ctx = 6 * 2 * 3
    assert max(abs(s - 1.0) for s in values[n_ctx : n_ctx + 12]) < 1e-5
    # ceil(ln 6) = 2 rows per head are computed, the other 4 are the uniform placeholder
    assert values[n_ctx + 12] == 2 * 4
