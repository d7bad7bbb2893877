"""Autoformer (Wu et al., NeurIPS 2021) as thuml/Autoformer writes it
(``layers/AutoCorrelation.py``, ``layers/Autoformer_EncDec.py``, ``models/Autoformer.py``)
and DLinear (Zeng et al., AAAI 2023, cure-lab/LTSF-Linear ``models/DLinear.py``),
size-reduced.

The idioms: ``moving_avg`` (the ends padded by repeating the first and last steps,
``x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)``, ``torch.cat([front, x, end],
dim=1)``, ``nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)`` on
``x.permute(0, 2, 1)``); ``series_decomp`` (``res = x - moving_mean``); ``AutoCorrelation``
(``q_fft = torch.fft.rfft(queries.permute(0, 2, 3, 1).contiguous(), dim=-1)``, ``res = q_fft *
torch.conj(k_fft)``, ``corr = torch.fft.irfft(res, n=L, dim=-1)``, the zero-padding or
truncation of values/keys to the query length); ``time_delay_agg_training`` (``top_k =
int(self.factor * math.log(length))``, ``mean_value = torch.mean(torch.mean(corr, dim=1),
dim=1)``, ``index = torch.topk(torch.mean(mean_value, dim=0), top_k, dim=-1)[1]``,
``torch.stack([mean_value[:, index[i]] for i in range(top_k)], dim=-1)``, ``torch.softmax``,
``torch.roll(tmp_values, -int(index[i]), -1)``, ``.unsqueeze(1).unsqueeze(1).unsqueeze(1)
.repeat(1, head, channel, length)``); ``time_delay_agg_inference`` (``init_index =
torch.arange(length)...repeat(batch, head, channel, 1)``, ``weights, delay =
torch.topk(mean_value, top_k, dim=-1)``, ``tmp_values = values.repeat(1, 1, 1, 2)``,
``torch.gather(tmp_values, dim=-1, index=tmp_delay)``); ``AutoCorrelationLayer``'s
projections; ``my_Layernorm`` (``x_hat - torch.mean(x_hat, dim=1).unsqueeze(1).repeat(1,
x.shape[1], 1)``); ``EncoderLayer`` (two decompositions around a ``Conv1d`` feed-forward with
``bias=False``); the model's decoder initialisation (``mean = torch.mean(x_enc,
dim=1).unsqueeze(1).repeat(1, self.pred_len, 1)``, ``torch.zeros([x_dec.shape[0],
self.pred_len, x_dec.shape[2]])``, ``torch.cat([trend_init[:, -self.label_len:, :], mean],
dim=1)``); DLinear (``series_decomp``, ``individual`` heads in ``nn.ModuleList``,
``nn.Parameter((1 / self.seq_len) * torch.ones([self.pred_len, self.seq_len]))`` weights,
``seasonal_init.permute(0, 2, 1)``, ``x.permute(0, 2, 1)`` back); ``nn.MSELoss()`` and Adam.

Changed: the decoder's cross auto-correlation and the time-feature embeddings are left out
(the encoder feeds a linear head); seq_len 96 -> 16, d_model 512 -> 8, a few steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SEQ_LEN, LABEL_LEN, PRED_LEN, ENC_IN, D_MODEL, HEADS, D_FF = 16, 8, 4, 3, 8, 2, 12
MOVING_AVG, FACTOR, BATCH, STEPS = 5, 1, 3, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class my_Layernorm(nn.Module):
        """Special designed layernorm for the seasonal part"""

        def __init__(self, channels):
            super().__init__()
            self.layernorm = nn.LayerNorm(channels)

        def forward(self, x):
            x_hat = self.layernorm(x)
            bias = torch.mean(x_hat, dim=1).unsqueeze(1).repeat(1, x.shape[1], 1)
            return x_hat - bias

    class moving_avg(nn.Module):
        """Moving average block to highlight the trend of time series"""

        def __init__(self, kernel_size, stride):
            super().__init__()
            self.kernel_size = kernel_size
            self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

        def forward(self, x):
            # padding on the both ends of time series
            front = x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)
            end = x[:, -1:, :].repeat(1, (self.kernel_size - 1) // 2, 1)
            x = torch.cat([front, x, end], dim=1)
            x = self.avg(x.permute(0, 2, 1))
            x = x.permute(0, 2, 1)
            return x

    class series_decomp(nn.Module):
        """Series decomposition block"""

        def __init__(self, kernel_size):
            super().__init__()
            self.moving_avg = moving_avg(kernel_size, stride=1)

        def forward(self, x):
            moving_mean = self.moving_avg(x)
            res = x - moving_mean
            return res, moving_mean

    class AutoCorrelation(nn.Module):
        """AutoCorrelation Mechanism with the following two phases:
        (1) period-based dependencies discovery
        (2) time delay aggregation
        """

        def __init__(
            self,
            mask_flag=True,
            factor=1,
            scale=None,
            attention_dropout=0.1,
            output_attention=False,
        ):
            super().__init__()
            self.factor = factor
            self.scale = scale
            self.mask_flag = mask_flag
            self.output_attention = output_attention
            self.dropout = nn.Dropout(attention_dropout)

        def time_delay_agg_training(self, values, corr):
            """SpeedUp version of Autocorrelation (a batch-normalization style design)
            This is for the training phase.
            """
            head = values.shape[1]
            channel = values.shape[2]
            length = values.shape[3]
            # find top k
            top_k = int(self.factor * math.log(length))
            mean_value = torch.mean(torch.mean(corr, dim=1), dim=1)
            index = torch.topk(torch.mean(mean_value, dim=0), top_k, dim=-1)[1]
            weights = torch.stack([mean_value[:, index[i]] for i in range(top_k)], dim=-1)
            # update corr
            tmp_corr = torch.softmax(weights, dim=-1)
            # aggregation
            tmp_values = values
            delays_agg = torch.zeros_like(values).float()
            for i in range(top_k):
                pattern = torch.roll(tmp_values, -int(index[i]), -1)
                delays_agg = delays_agg + pattern * (
                    tmp_corr[:, i]
                    .unsqueeze(1)
                    .unsqueeze(1)
                    .unsqueeze(1)
                    .repeat(1, head, channel, length)
                )
            return delays_agg

        def time_delay_agg_inference(self, values, corr):
            """SpeedUp version of Autocorrelation (a batch-normalization style design)
            This is for the inference phase.
            """
            batch = values.shape[0]
            head = values.shape[1]
            channel = values.shape[2]
            length = values.shape[3]
            # index init
            init_index = (
                torch.arange(length)
                .unsqueeze(0)
                .unsqueeze(0)
                .unsqueeze(0)
                .repeat(batch, head, channel, 1)
                .to(values.device)
            )
            # find top k
            top_k = int(self.factor * math.log(length))
            mean_value = torch.mean(torch.mean(corr, dim=1), dim=1)
            weights, delay = torch.topk(mean_value, top_k, dim=-1)
            # update corr
            tmp_corr = torch.softmax(weights, dim=-1)
            # aggregation
            tmp_values = values.repeat(1, 1, 1, 2)
            delays_agg = torch.zeros_like(values).float()
            for i in range(top_k):
                tmp_delay = init_index + delay[:, i].unsqueeze(1).unsqueeze(1).unsqueeze(1).repeat(
                    1, head, channel, length
                )
                pattern = torch.gather(tmp_values, dim=-1, index=tmp_delay)
                delays_agg = delays_agg + pattern * (
                    tmp_corr[:, i]
                    .unsqueeze(1)
                    .unsqueeze(1)
                    .unsqueeze(1)
                    .repeat(1, head, channel, length)
                )
            return delays_agg

        def forward(self, queries, keys, values, attn_mask):
            B, L, H, E = queries.shape
            _, S, _, D = values.shape
            if L > S:
                zeros = torch.zeros_like(queries[:, : (L - S), :]).float()
                values = torch.cat([values, zeros], dim=1)
                keys = torch.cat([keys, zeros], dim=1)
            else:
                values = values[:, :L, :, :]
                keys = keys[:, :L, :, :]

            # period-based dependencies
            q_fft = torch.fft.rfft(queries.permute(0, 2, 3, 1).contiguous(), dim=-1)
            k_fft = torch.fft.rfft(keys.permute(0, 2, 3, 1).contiguous(), dim=-1)
            res = q_fft * torch.conj(k_fft)
            corr = torch.fft.irfft(res, n=L, dim=-1)

            # time delay agg
            if self.training:
                V = self.time_delay_agg_training(
                    values.permute(0, 2, 3, 1).contiguous(), corr
                ).permute(0, 3, 1, 2)
            else:
                V = self.time_delay_agg_inference(
                    values.permute(0, 2, 3, 1).contiguous(), corr
                ).permute(0, 3, 1, 2)

            if self.output_attention:
                return (V.contiguous(), corr.permute(0, 3, 1, 2))
            else:
                return (V.contiguous(), None)

    class AutoCorrelationLayer(nn.Module):
        def __init__(self, correlation, d_model, n_heads, d_keys=None, d_values=None):
            super().__init__()

            d_keys = d_keys or (d_model // n_heads)
            d_values = d_values or (d_model // n_heads)

            self.inner_correlation = correlation
            self.query_projection = nn.Linear(d_model, d_keys * n_heads)
            self.key_projection = nn.Linear(d_model, d_keys * n_heads)
            self.value_projection = nn.Linear(d_model, d_values * n_heads)
            self.out_projection = nn.Linear(d_values * n_heads, d_model)
            self.n_heads = n_heads

        def forward(self, queries, keys, values, attn_mask):
            B, L, _ = queries.shape
            _, S, _ = keys.shape
            H = self.n_heads

            queries = self.query_projection(queries).view(B, L, H, -1)
            keys = self.key_projection(keys).view(B, S, H, -1)
            values = self.value_projection(values).view(B, S, H, -1)

            out, attn = self.inner_correlation(queries, keys, values, attn_mask)
            out = out.view(B, L, -1)

            return self.out_projection(out), attn

    class EncoderLayer(nn.Module):
        """Autoformer encoder layer with the progressive decomposition architecture"""

        def __init__(
            self, attention, d_model, d_ff=None, moving_avg=25, dropout=0.1, activation="relu"
        ):
            super().__init__()
            d_ff = d_ff or 4 * d_model
            self.attention = attention
            self.conv1 = nn.Conv1d(
                in_channels=d_model, out_channels=d_ff, kernel_size=1, bias=False
            )
            self.conv2 = nn.Conv1d(
                in_channels=d_ff, out_channels=d_model, kernel_size=1, bias=False
            )
            self.decomp1 = series_decomp(moving_avg)
            self.decomp2 = series_decomp(moving_avg)
            self.dropout = nn.Dropout(dropout)
            self.activation = F.relu if activation == "relu" else F.gelu

        def forward(self, x, attn_mask=None):
            new_x, attn = self.attention(x, x, x, attn_mask=attn_mask)
            x = x + self.dropout(new_x)
            x, _ = self.decomp1(x)
            y = x
            y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
            y = self.dropout(self.conv2(y).transpose(-1, 1))
            res, _ = self.decomp2(x + y)
            return res, attn

    class Encoder(nn.Module):
        def __init__(self, attn_layers, norm_layer=None):
            super().__init__()
            self.attn_layers = nn.ModuleList(attn_layers)
            self.norm = norm_layer

        def forward(self, x, attn_mask=None):
            attns = []
            for attn_layer in self.attn_layers:
                x, attn = attn_layer(x, attn_mask=attn_mask)
                attns.append(attn)
            if self.norm is not None:
                x = self.norm(x)
            return x, attns

    class Autoformer(nn.Module):
        """Encoder-only Autoformer: decomposition, auto-correlation, a trend + seasonal
        forecast over the decoder's initial sequence."""

        def __init__(self):
            super().__init__()
            self.seq_len = SEQ_LEN
            self.label_len = LABEL_LEN
            self.pred_len = PRED_LEN
            self.decomp = series_decomp(MOVING_AVG)
            self.enc_embedding = nn.Conv1d(
                ENC_IN, D_MODEL, kernel_size=3, padding=1, padding_mode="circular", bias=False
            )
            self.encoder = Encoder(
                [
                    EncoderLayer(
                        AutoCorrelationLayer(
                            AutoCorrelation(False, FACTOR, attention_dropout=0.0),
                            D_MODEL,
                            HEADS,
                        ),
                        D_MODEL,
                        D_FF,
                        moving_avg=MOVING_AVG,
                        dropout=0.0,
                        activation="gelu",
                    )
                ],
                norm_layer=my_Layernorm(D_MODEL),
            )
            self.projection = nn.Linear(D_MODEL, ENC_IN, bias=True)
            self.seasonal_head = nn.Linear(SEQ_LEN, LABEL_LEN + PRED_LEN)

        def forward(self, x_enc, x_dec):
            # decomp init
            mean = torch.mean(x_enc, dim=1).unsqueeze(1).repeat(1, self.pred_len, 1)
            zeros = torch.zeros([x_dec.shape[0], self.pred_len, x_dec.shape[2]])
            seasonal_init, trend_init = self.decomp(x_enc)
            # decoder input
            trend_init = torch.cat([trend_init[:, -self.label_len :, :], mean], dim=1)
            seasonal_init = torch.cat([seasonal_init[:, -self.label_len :, :], zeros], dim=1)
            # enc
            enc_out = self.enc_embedding(x_enc.permute(0, 2, 1)).transpose(1, 2)
            enc_out, attns = self.encoder(enc_out, attn_mask=None)
            seasonal = self.seasonal_head(self.projection(enc_out).permute(0, 2, 1))
            dec_out = trend_init + seasonal.permute(0, 2, 1) + 0.1 * seasonal_init
            return dec_out[:, -self.pred_len :, :]  # [B, L, D]

    class DLinear(nn.Module):
        """Decomposition-Linear"""

        def __init__(self, individual):
            super().__init__()
            self.seq_len = SEQ_LEN
            self.pred_len = PRED_LEN

            # Decompsition Kernel Size
            kernel_size = MOVING_AVG
            self.decompsition = series_decomp(kernel_size)
            self.individual = individual
            self.channels = ENC_IN

            if self.individual:
                self.Linear_Seasonal = nn.ModuleList()
                self.Linear_Trend = nn.ModuleList()

                for i in range(self.channels):  # noqa: B007 (as in the repository)
                    self.Linear_Seasonal.append(nn.Linear(self.seq_len, self.pred_len))
                    self.Linear_Trend.append(nn.Linear(self.seq_len, self.pred_len))
            else:
                self.Linear_Seasonal = nn.Linear(self.seq_len, self.pred_len)
                self.Linear_Trend = nn.Linear(self.seq_len, self.pred_len)

                # Use this two lines if you want to visualize the weights
                self.Linear_Seasonal.weight = nn.Parameter(
                    (1 / self.seq_len) * torch.ones([self.pred_len, self.seq_len])
                )
                self.Linear_Trend.weight = nn.Parameter(
                    (1 / self.seq_len) * torch.ones([self.pred_len, self.seq_len])
                )

        def forward(self, x):
            # x: [Batch, Input length, Channel]
            seasonal_init, trend_init = self.decompsition(x)
            seasonal_init, trend_init = seasonal_init.permute(0, 2, 1), trend_init.permute(0, 2, 1)
            if self.individual:
                seasonal_output = torch.zeros(
                    [seasonal_init.size(0), seasonal_init.size(1), self.pred_len],
                    dtype=seasonal_init.dtype,
                ).to(seasonal_init.device)
                trend_output = torch.zeros(
                    [trend_init.size(0), trend_init.size(1), self.pred_len],
                    dtype=trend_init.dtype,
                ).to(trend_init.device)
                for i in range(self.channels):
                    seasonal_output[:, i, :] = self.Linear_Seasonal[i](seasonal_init[:, i, :])
                    trend_output[:, i, :] = self.Linear_Trend[i](trend_init[:, i, :])
            else:
                seasonal_output = self.Linear_Seasonal(seasonal_init)
                trend_output = self.Linear_Trend(trend_init)

            x = seasonal_output + trend_output
            return x.permute(0, 2, 1)  # to [Batch, Output length, Channel]

    return nn.ModuleDict(
        {"autoformer": Autoformer(), "dlinear": DLinear(False), "dlinear_ind": DLinear(True)}
    )


def make_series(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seasonal + trend + noise series, [n, SEQ_LEN + PRED_LEN, ENC_IN]."""
    t = np.arange(SEQ_LEN + PRED_LEN)[None, :, None]
    period = rng.integers(3, 7, (n, 1, ENC_IN))
    phase = rng.random((n, 1, ENC_IN)) * 2 * np.pi
    slope = rng.standard_normal((n, 1, ENC_IN)) * 0.05
    return (
        np.sin(2 * np.pi * t / period + phase)
        + slope * t
        + 0.1 * rng.standard_normal((n, SEQ_LEN + PRED_LEN, ENC_IN))
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    models = make_model(torch)
    load_numpy_state(torch, models, init)
    rng = np.random.default_rng(21)
    criterion = torch.nn.MSELoss()
    values: list[float] = []

    series = as_tensor(torch, make_series(rng, BATCH))
    batch_x, batch_y = series[:, :SEQ_LEN], series[:, SEQ_LEN - LABEL_LEN :]

    # the decomposition alone: parts add back up, the trend is the replicate-padded mean
    decomp = models["dlinear"].decompsition
    seasonal, trend = decomp(batch_x)
    padded = torch.nn.functional.pad(batch_x.permute(0, 2, 1), (2, 2), mode="replicate")
    ref = padded.unfold(-1, MOVING_AVG, 1).mean(-1).permute(0, 2, 1)
    values += [(seasonal + trend - batch_x).abs().max().item(), (trend - ref).abs().max().item()]

    for name in ("autoformer", "dlinear", "dlinear_ind"):
        model = models[name]
        model_optim = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(STEPS):
            model.train()
            model_optim.zero_grad()
            if name == "autoformer":
                dec_inp = torch.zeros_like(batch_y[:, -PRED_LEN:, :]).float()
                dec_inp = torch.cat([batch_y[:, :LABEL_LEN, :], dec_inp], dim=1).double()
                outputs = model(batch_x, dec_inp)
            else:
                outputs = model(batch_x)
            f_dim = 0
            outputs = outputs[:, -PRED_LEN:, f_dim:]
            target = batch_y[:, -PRED_LEN:, f_dim:]
            loss = criterion(outputs, target)
            loss.backward()
            model_optim.step()
            values.append(loss.item())

    # inference-phase aggregation (gather on the doubled series) against the training one
    model = models["autoformer"]
    corr_layer = model.encoder.attn_layers[0].attention.inner_correlation
    with torch.no_grad():
        v = as_tensor(torch, rng.standard_normal((BATCH, HEADS, D_MODEL // HEADS, SEQ_LEN)))
        corr = as_tensor(torch, rng.standard_normal((BATCH, HEADS, D_MODEL // HEADS, SEQ_LEN)))
        agg_train = corr_layer.time_delay_agg_training(v, corr)
        agg_inf = corr_layer.time_delay_agg_inference(v, corr)
        model.eval()
        out_eval = model(batch_x, torch.zeros(BATCH, LABEL_LEN + PRED_LEN, ENC_IN))
    values += [agg_train.sum().item(), agg_inf.sum().item(), agg_inf.abs().mean().item()]
    values += out_eval.flatten().tolist()
    return values
