"""Non-stationary Transformer: series stationarization with de-stationary attention, as THUML's
``Time-Series-Library`` writes it (``models/Nonstationary_Transformer.py``: ``Projector``,
``Model.forecast``; ``layers/SelfAttention_Family.py``: ``DSAttention``, ``AttentionLayer``;
``layers/Transformer_EncDec.py``: ``EncoderLayer``, ``Encoder``, ``DecoderLayer``, ``Decoder``;
``layers/Embed.py``: ``TokenEmbedding``, ``PositionalEmbedding``, ``TimeFeatureEmbedding``,
``DataEmbedding``; ``utils/masking.py``: ``TriangularCausalMask``; ``exp/exp_long_term_
forecasting.py``: the decoder input and the training step), size-reduced.

The idioms kept verbatim: the stationarization ``x_raw = x_enc.clone().detach()``, ``mean_enc =
x_enc.mean(1, keepdim=True).detach()``, ``torch.sqrt(torch.var(x_enc, dim=1, keepdim=True,
unbiased=False) + 1e-5).detach()`` and the de-normalization ``dec_out * std_enc + mean_enc``;
the ``Projector`` MLPs learning ``tau = self.tau_learner(x_raw, std_enc).exp()`` and ``delta``
from an ``nn.Conv1d(in_channels=seq_len, out_channels=1, ..., padding_mode='circular',
bias=False)`` over the series with ``padding = 1 if torch.__version__ >= '1.5.0' else 2``,
``torch.cat([x, stats], dim=1)`` and ``x.view(batch_size, -1)``; ``DSAttention``'s ``tau =
1.0 if tau is None else tau.unsqueeze(1).unsqueeze(1)``, ``scores = torch.einsum(
"blhe,bshe->bhls", queries, keys) * tau + delta``, the in-place ``scores.masked_fill_(
attn_mask.mask, -np.inf)`` of ``TriangularCausalMask``'s ``torch.triu(torch.ones(mask_shape,
dtype=torch.bool), diagonal=1)`` built under ``torch.no_grad()`` and read through a
``@property``, ``torch.softmax(scale * scores, dim=-1)``, ``torch.einsum("bhls,bshd->blhd", A,
values)`` and ``V.contiguous()``; the layers' ``nn.Conv1d(kernel_size=1)`` feed-forward on
``y.transpose(-1, 1)`` and ``y = x = self.norm1(x)``; the decoder's self-attention with
``delta=None`` and cross-attention with ``delta``; ``PositionalEmbedding``'s float buffer with
its ``pe.require_grad = False``, ``pe[:, 0::2] = torch.sin(position * div_term)`` and
``self.pe[:, :x.size(1)]``; ``TokenEmbedding``'s ``nn.init.kaiming_normal_(m.weight,
mode='fan_in', nonlinearity='leaky_relu')``; ``TimeFeatureEmbedding``'s ``nn.Linear(d_inp,
d_model, bias=False)``; the decoder input ``torch.cat([x_enc[:, -self.label_len:, :],
torch.zeros_like(x_dec[:, -self.pred_len:, :])], dim=1).to(x_enc.device).clone()``; the
training step's ``outputs[:, -self.args.pred_len:, f_dim:]``, ``nn.MSELoss`` and Adam.

Changed: d_model 8, 2 heads, 2 channels, 12 input steps, label 6, prediction 4, one encoder
and one decoder layer, projector hidden [8, 8], 4 time features, dropout 0, 5 steps.
"""

from __future__ import annotations

import math
from math import sqrt
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SEQ_LEN, LABEL_LEN, PRED_LEN, ENC_IN, D_MODEL, N_HEADS, N_MARK, BATCH, STEPS = (
    12, 6, 4, 2, 8, 2, 4, 3, 5,
)  # fmt: skip


class _Configs:
    seq_len, label_len, pred_len = SEQ_LEN, LABEL_LEN, PRED_LEN
    enc_in = dec_in = c_out = ENC_IN
    d_model, n_heads, d_ff = D_MODEL, N_HEADS, 16
    e_layers = d_layers = 1
    factor, dropout, activation = 1, 0.0, "gelu"
    p_hidden_dims, p_hidden_layers = [8, 8], 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class TriangularCausalMask:
        def __init__(self, B, L, device="cpu"):
            mask_shape = [B, 1, L, L]
            with torch.no_grad():
                self._mask = torch.triu(torch.ones(mask_shape, dtype=torch.bool), diagonal=1).to(
                    device
                )

        @property
        def mask(self):
            return self._mask

    class DSAttention(nn.Module):
        """De-stationary Attention"""

        def __init__(self, mask_flag=True, factor=5, scale=None, attention_dropout=0.1,
                     output_attention=False):  # fmt: skip
            super(DSAttention, self).__init__()  # noqa: UP008
            self.scale = scale
            self.mask_flag = mask_flag
            self.output_attention = output_attention
            self.dropout = nn.Dropout(attention_dropout)

        def forward(self, queries, keys, values, attn_mask, tau=None, delta=None):
            B, L, H, E = queries.shape
            _, S, _, D = values.shape
            scale = self.scale or 1.0 / sqrt(E)

            tau = 1.0 if tau is None else tau.unsqueeze(1).unsqueeze(1)  # B x 1 x 1 x 1
            delta = 0.0 if delta is None else delta.unsqueeze(1).unsqueeze(1)  # B x 1 x 1 x S

            # De-stationary Attention, rescaling pre-softmax score with learned de-stationary
            # factors
            scores = torch.einsum("blhe,bshe->bhls", queries, keys) * tau + delta

            if self.mask_flag:
                if attn_mask is None:
                    attn_mask = TriangularCausalMask(B, L, device=queries.device)

                scores.masked_fill_(attn_mask.mask, -np.inf)

            A = self.dropout(torch.softmax(scale * scores, dim=-1))
            V = torch.einsum("bhls,bshd->blhd", A, values)

            if self.output_attention:
                return V.contiguous(), A
            else:
                return V.contiguous(), None

    class AttentionLayer(nn.Module):
        def __init__(self, attention, d_model, n_heads, d_keys=None, d_values=None):
            super(AttentionLayer, self).__init__()  # noqa: UP008
            d_keys = d_keys or (d_model // n_heads)
            d_values = d_values or (d_model // n_heads)
            self.inner_attention = attention
            self.query_projection = nn.Linear(d_model, d_keys * n_heads)
            self.key_projection = nn.Linear(d_model, d_keys * n_heads)
            self.value_projection = nn.Linear(d_model, d_values * n_heads)
            self.out_projection = nn.Linear(d_values * n_heads, d_model)
            self.n_heads = n_heads

        def forward(self, queries, keys, values, attn_mask, tau=None, delta=None):
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
        def __init__(self, attention, d_model, d_ff=None, dropout=0.1, activation="relu"):
            super(EncoderLayer, self).__init__()  # noqa: UP008
            d_ff = d_ff or 4 * d_model
            self.attention = attention
            self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
            self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
            self.norm1 = nn.LayerNorm(d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.dropout = nn.Dropout(dropout)
            self.activation = F.relu if activation == "relu" else F.gelu

        def forward(self, x, attn_mask=None, tau=None, delta=None):
            new_x, attn = self.attention(x, x, x, attn_mask=attn_mask, tau=tau, delta=delta)
            x = x + self.dropout(new_x)
            y = x = self.norm1(x)
            y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
            y = self.dropout(self.conv2(y).transpose(-1, 1))
            return self.norm2(x + y), attn

    class Encoder(nn.Module):
        def __init__(self, attn_layers, conv_layers=None, norm_layer=None):
            super(Encoder, self).__init__()  # noqa: UP008
            self.attn_layers = nn.ModuleList(attn_layers)
            self.conv_layers = nn.ModuleList(conv_layers) if conv_layers is not None else None
            self.norm = norm_layer

        def forward(self, x, attn_mask=None, tau=None, delta=None):
            attns = []
            for attn_layer in self.attn_layers:
                x, attn = attn_layer(x, attn_mask=attn_mask, tau=tau, delta=delta)
                attns.append(attn)
            if self.norm is not None:
                x = self.norm(x)
            return x, attns

    class DecoderLayer(nn.Module):
        def __init__(self, self_attention, cross_attention, d_model, d_ff=None, dropout=0.1,
                     activation="relu"):  # fmt: skip
            super(DecoderLayer, self).__init__()  # noqa: UP008
            d_ff = d_ff or 4 * d_model
            self.self_attention = self_attention
            self.cross_attention = cross_attention
            self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
            self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
            self.norm1 = nn.LayerNorm(d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.norm3 = nn.LayerNorm(d_model)
            self.dropout = nn.Dropout(dropout)
            self.activation = F.relu if activation == "relu" else F.gelu

        def forward(self, x, cross, x_mask=None, cross_mask=None, tau=None, delta=None):
            x = x + self.dropout(
                self.self_attention(x, x, x, attn_mask=x_mask, tau=tau, delta=None)[0]
            )
            x = self.norm1(x)
            x = x + self.dropout(
                self.cross_attention(x, cross, cross, attn_mask=cross_mask, tau=tau, delta=delta)[
                    0
                ]  # fmt: skip
            )
            y = x = self.norm2(x)
            y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
            y = self.dropout(self.conv2(y).transpose(-1, 1))
            return self.norm3(x + y)

    class Decoder(nn.Module):
        def __init__(self, layers, norm_layer=None, projection=None):
            super(Decoder, self).__init__()  # noqa: UP008
            self.layers = nn.ModuleList(layers)
            self.norm = norm_layer
            self.projection = projection

        def forward(self, x, cross, x_mask=None, cross_mask=None, tau=None, delta=None):
            for layer in self.layers:
                x = layer(x, cross, x_mask=x_mask, cross_mask=cross_mask, tau=tau, delta=delta)
            if self.norm is not None:
                x = self.norm(x)
            if self.projection is not None:
                x = self.projection(x)
            return x

    class PositionalEmbedding(nn.Module):
        def __init__(self, d_model, max_len=5000):
            super(PositionalEmbedding, self).__init__()  # noqa: UP008
            # Compute the positional encodings once in log space.
            pe = torch.zeros(max_len, d_model).float()
            pe.require_grad = False

            position = torch.arange(0, max_len).float().unsqueeze(1)
            div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()

            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)

            pe = pe.unsqueeze(0)
            self.register_buffer("pe", pe)

        def forward(self, x):
            return self.pe[:, : x.size(1)]

    class TokenEmbedding(nn.Module):
        def __init__(self, c_in, d_model):
            super(TokenEmbedding, self).__init__()  # noqa: UP008
            padding = 1 if torch.__version__ >= "1.5.0" else 2
            self.tokenConv = nn.Conv1d(in_channels=c_in, out_channels=d_model, kernel_size=3,
                                       padding=padding, padding_mode="circular",
                                       bias=False)  # fmt: skip
            for m in self.modules():
                if isinstance(m, nn.Conv1d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="leaky_relu")

        def forward(self, x):
            x = self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)
            return x

    class TimeFeatureEmbedding(nn.Module):
        def __init__(self, d_model, embed_type="timeF", freq="h"):
            super(TimeFeatureEmbedding, self).__init__()  # noqa: UP008
            freq_map = {"h": 4, "t": 5, "s": 6, "m": 1, "a": 1, "w": 2, "d": 3, "b": 3}
            d_inp = freq_map[freq]
            self.embed = nn.Linear(d_inp, d_model, bias=False)

        def forward(self, x):
            return self.embed(x)

    class DataEmbedding(nn.Module):
        def __init__(self, c_in, d_model, embed_type="fixed", freq="h", dropout=0.1):
            super(DataEmbedding, self).__init__()  # noqa: UP008
            self.value_embedding = TokenEmbedding(c_in=c_in, d_model=d_model)
            self.position_embedding = PositionalEmbedding(d_model=d_model)
            self.temporal_embedding = TimeFeatureEmbedding(d_model=d_model, embed_type=embed_type,
                                                           freq=freq)  # fmt: skip
            self.dropout = nn.Dropout(p=dropout)

        def forward(self, x, x_mark):
            if x_mark is None:
                x = self.value_embedding(x) + self.position_embedding(x)
            else:
                x = (self.value_embedding(x) + self.temporal_embedding(x_mark)
                     + self.position_embedding(x))  # fmt: skip
            return self.dropout(x)

    class Projector(nn.Module):
        """MLP to learn the De-stationary factors"""

        def __init__(self, enc_in, seq_len, hidden_dims, hidden_layers, output_dim,
                     kernel_size=3):  # fmt: skip
            super(Projector, self).__init__()  # noqa: UP008
            padding = 1 if torch.__version__ >= "1.5.0" else 2
            self.series_conv = nn.Conv1d(in_channels=seq_len, out_channels=1,
                                         kernel_size=kernel_size, padding=padding,
                                         padding_mode="circular", bias=False)  # fmt: skip

            layers = [nn.Linear(2 * enc_in, hidden_dims[0]), nn.ReLU()]
            for i in range(hidden_layers - 1):
                layers += [nn.Linear(hidden_dims[i], hidden_dims[i + 1]), nn.ReLU()]

            layers += [nn.Linear(hidden_dims[-1], output_dim, bias=False)]
            self.backbone = nn.Sequential(*layers)

        def forward(self, x, stats):
            # x:     B x S x E
            # stats: B x 1 x E
            # y:     B x O
            batch_size = x.shape[0]
            x = self.series_conv(x)  # B x 1 x E
            x = torch.cat([x, stats], dim=1)  # B x 2 x E
            x = x.view(batch_size, -1)  # B x 2E
            y = self.backbone(x)  # B x O
            return y

    class Model(nn.Module):
        def __init__(self, configs):
            super(Model, self).__init__()  # noqa: UP008
            self.pred_len = configs.pred_len
            self.label_len = configs.label_len
            self.enc_embedding = DataEmbedding(configs.enc_in, configs.d_model, "timeF", "h",
                                               configs.dropout)  # fmt: skip
            self.encoder = Encoder(
                [
                    EncoderLayer(
                        AttentionLayer(
                            DSAttention(False, configs.factor, attention_dropout=configs.dropout,
                                        output_attention=False),
                            configs.d_model, configs.n_heads),
                        configs.d_model, configs.d_ff, dropout=configs.dropout,
                        activation=configs.activation,
                    )
                    for l in range(configs.e_layers)  # noqa: E741
                ],
                norm_layer=torch.nn.LayerNorm(configs.d_model),
            )  # fmt: skip
            self.dec_embedding = DataEmbedding(configs.dec_in, configs.d_model, "timeF", "h",
                                               configs.dropout)  # fmt: skip
            self.decoder = Decoder(
                [
                    DecoderLayer(
                        AttentionLayer(
                            DSAttention(True, configs.factor, attention_dropout=configs.dropout,
                                        output_attention=False),
                            configs.d_model, configs.n_heads),
                        AttentionLayer(
                            DSAttention(False, configs.factor, attention_dropout=configs.dropout,
                                        output_attention=False),
                            configs.d_model, configs.n_heads),
                        configs.d_model, configs.d_ff, dropout=configs.dropout,
                        activation=configs.activation,
                    )
                    for l in range(configs.d_layers)  # noqa: E741
                ],
                norm_layer=torch.nn.LayerNorm(configs.d_model),
                projection=nn.Linear(configs.d_model, configs.c_out, bias=True),
            )  # fmt: skip
            self.tau_learner = Projector(enc_in=configs.enc_in, seq_len=configs.seq_len,
                                         hidden_dims=configs.p_hidden_dims,
                                         hidden_layers=configs.p_hidden_layers,
                                         output_dim=1)  # fmt: skip
            self.delta_learner = Projector(enc_in=configs.enc_in, seq_len=configs.seq_len,
                                           hidden_dims=configs.p_hidden_dims,
                                           hidden_layers=configs.p_hidden_layers,
                                           output_dim=configs.seq_len)  # fmt: skip

        def forecast(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
            x_raw = x_enc.clone().detach()

            # Normalization
            mean_enc = x_enc.mean(1, keepdim=True).detach()  # B x 1 x E
            x_enc = x_enc - mean_enc
            std_enc = torch.sqrt(
                torch.var(x_enc, dim=1, keepdim=True, unbiased=False) + 1e-5
            ).detach()  # B x 1 x E
            x_enc = x_enc / std_enc
            # B x S x E, B x 1 x E -> B x 1, positive scalar
            tau = self.tau_learner(x_raw, std_enc).exp()
            # B x S x E, B x 1 x E -> B x S
            delta = self.delta_learner(x_raw, mean_enc)
            x_dec_new = (
                torch.cat([x_enc[:, -self.label_len :, :],
                           torch.zeros_like(x_dec[:, -self.pred_len :, :])], dim=1)
                .to(x_enc.device)
                .clone()
            )  # fmt: skip

            enc_out = self.enc_embedding(x_enc, x_mark_enc)
            enc_out, attns = self.encoder(enc_out, attn_mask=None, tau=tau, delta=delta)

            dec_out = self.dec_embedding(x_dec_new, x_mark_dec)
            dec_out = self.decoder(dec_out, enc_out, x_mask=None, cross_mask=None, tau=tau,
                                   delta=delta)  # fmt: skip
            dec_out = dec_out * std_enc + mean_enc
            return dec_out

        def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec, mask=None):
            dec_out = self.forecast(x_enc, x_mark_enc, x_dec, x_mark_dec)
            return dec_out[:, -self.pred_len :, :]  # [B, L, D]

    return Model(_Configs())


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model_optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.MSELoss()
    rng = np.random.default_rng(29)
    total = SEQ_LEN + PRED_LEN
    t = np.arange(total)[None, :, None] + rng.integers(0, 24, (BATCH, 1, 1))
    series = 5 + np.sin(t * np.array([0.4, 0.9])) * (1 + 0.05 * t) + 0.1 * t
    marks = np.concatenate([np.sin(t / k) for k in (2.0, 3.0, 5.0, 7.0)], axis=-1)
    values: list[float] = []
    for _ in range(STEPS):
        noisy = series + 0.05 * rng.standard_normal(series.shape)
        batch_x = as_tensor(torch_like, noisy[:, :SEQ_LEN])
        batch_y = as_tensor(torch_like, noisy[:, SEQ_LEN - LABEL_LEN :])
        batch_x_mark = as_tensor(torch_like, marks[:, :SEQ_LEN])
        batch_y_mark = as_tensor(torch_like, marks[:, SEQ_LEN - LABEL_LEN :])
        model_optim.zero_grad()
        # decoder input
        dec_inp = torch.zeros_like(batch_y[:, -PRED_LEN:, :]).float()
        dec_inp = torch.cat([batch_y[:, :LABEL_LEN, :], dec_inp], dim=1).float()
        outputs = model(batch_x, batch_x_mark, dec_inp, batch_y_mark)
        f_dim = 0
        outputs = outputs[:, -PRED_LEN:, f_dim:]
        batch_y = batch_y[:, -PRED_LEN:, f_dim:]
        loss = criterion(outputs, batch_y)
        loss.backward()
        model_optim.step()
        values.append(loss.item())
    return values
