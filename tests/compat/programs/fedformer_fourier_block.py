"""FEDformer's frequency-enhanced block and seasonal-trend decomposition, as MAZiqing's
``FEDformer`` writes them (``layers/FourierCorrelation.py``: ``get_frequency_modes``,
``FourierBlock``; ``layers/AutoCorrelation.py``: ``AutoCorrelationLayer``;
``layers/Autoformer_EncDec.py``: ``moving_avg``, ``series_decomp``, ``series_decomp_multi``,
``EncoderLayer``, ``my_Layernorm``; ``layers/Embed.py``: ``TokenEmbedding``; ``models/
FEDformer.py``: the decomposition of the input and ``exp/exp_main.py``'s training step),
size-reduced.

The idioms kept verbatim: ``get_frequency_modes`` with ``np.random.shuffle`` of the mode list;
the complex parameter ``nn.Parameter(self.scale * torch.rand(8, in_channels // 8, out_channels
// 8, len(self.index), dtype=torch.cfloat))`` trained by Adam; ``torch.fft.rfft(x, dim=-1)``,
``torch.zeros(B, H, E, L // 2 + 1, device=x.device, dtype=torch.cfloat)``, the per-mode
``out_ft[:, :, :, wi] = self.compl_mul1d(x_ft[:, :, :, i], self.weights1[:, :, :, wi])`` with
``torch.einsum("bhi,hio->bho", input, weights)`` and ``torch.fft.irfft(out_ft, n=x.size(-1))``;
``moving_avg``'s edge padding ``x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)`` and
``nn.AvgPool1d`` over ``x.permute(0, 2, 1)``; ``series_decomp_multi``'s plain list of
``moving_avg`` modules (not registered) mixed by ``nn.Softmax(-1)(self.layer(x.unsqueeze(-1)))``;
the encoder layer's ``nn.Conv1d(..., kernel_size=1, bias=False)`` feed-forward on
``y.transpose(-1, 1)``; ``my_Layernorm``'s ``x_hat - torch.mean(x_hat, dim=1).unsqueeze(1)
.repeat(1, x.shape[1], 1)``; ``TokenEmbedding``'s ``padding = 1 if torch.__version__ >=
'1.5.0' else 2`` with ``padding_mode='circular'`` and ``nn.init.kaiming_normal_(m.weight,
mode='fan_in', nonlinearity='leaky_relu')``; the model's ``mean = torch.mean(x_enc,
dim=1).unsqueeze(1).repeat(1, self.pred_len, 1)``, ``trend_init = torch.cat([trend_init[:,
-self.label_len:, :], mean], dim=1)`` and ``F.pad(seasonal_init[:, -self.label_len:, :], (0, 0,
0, self.pred_len))``; ``outputs[:, -self.args.pred_len:, f_dim:]`` with ``nn.MSELoss``.

Changed: d_model 16, 8 heads of 2 (the block's ``8`` groups), 4 modes of a 12-step input, 2
channels, one encoder layer; the decoder (a cross Fourier block) is replaced by a linear
projection of the encoded seasonal part added to the trend; no time-feature embedding;
dropout 0; float32 (the block's ``cfloat`` weights are single precision).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 2e-5, 2e-6
SEQ_LEN, LABEL_LEN, PRED_LEN, C, D_MODEL, HEADS, MODES, BATCH, STEPS = 12, 6, 4, 2, 16, 8, 4, 3, 5


def get_frequency_modes(seq_len, modes=64, mode_select_method="random"):
    """get modes on frequency domain: 'random' means sampling randomly; 'else' means
    sampling the lowest modes."""
    modes = min(modes, seq_len // 2)
    if mode_select_method == "random":
        index = list(range(0, seq_len // 2))
        np.random.shuffle(index)
        index = index[:modes]
    else:
        index = list(range(0, modes))
    index.sort()
    return index


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class FourierBlock(nn.Module):
        def __init__(
            self, in_channels, out_channels, seq_len, modes=0, mode_select_method="random"
        ):
            super(FourierBlock, self).__init__()  # noqa: UP008
            self.index = get_frequency_modes(
                seq_len, modes=modes, mode_select_method=mode_select_method
            )
            self.scale = 1 / (in_channels * out_channels)
            self.weights1 = nn.Parameter(
                self.scale
                * torch.rand(
                    8, in_channels // 8, out_channels // 8, len(self.index), dtype=torch.cfloat
                )
            )

        def compl_mul1d(self, input, weights):
            # (batch, in_channel, x ), (in_channel, out_channel, x) -> (batch, out_channel, x)
            return torch.einsum("bhi,hio->bho", input, weights)

        def forward(self, q, k, v, mask):
            # size = [B, L, H, E]
            B, L, H, E = q.shape
            x = q.permute(0, 2, 3, 1)
            # Compute Fourier coefficients
            x_ft = torch.fft.rfft(x, dim=-1)
            # Perform Fourier neural operations
            out_ft = torch.zeros(B, H, E, L // 2 + 1, device=x.device, dtype=torch.cfloat)
            for wi, i in enumerate(self.index):
                out_ft[:, :, :, wi] = self.compl_mul1d(x_ft[:, :, :, i], self.weights1[:, :, :, wi])
            # Return to time domain
            x = torch.fft.irfft(out_ft, n=x.size(-1))
            return (x, None)

    class AutoCorrelationLayer(nn.Module):
        def __init__(self, correlation, d_model, n_heads, d_keys=None, d_values=None):
            super(AutoCorrelationLayer, self).__init__()  # noqa: UP008
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

    class moving_avg(nn.Module):
        """Moving average block to highlight the trend of time series"""

        def __init__(self, kernel_size, stride):
            super(moving_avg, self).__init__()  # noqa: UP008
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
        def __init__(self, kernel_size):
            super(series_decomp, self).__init__()  # noqa: UP008
            self.moving_avg = moving_avg(kernel_size, stride=1)

        def forward(self, x):
            moving_mean = self.moving_avg(x)
            res = x - moving_mean
            return res, moving_mean

    class series_decomp_multi(nn.Module):
        def __init__(self, kernel_size):
            super(series_decomp_multi, self).__init__()  # noqa: UP008
            self.moving_avg = [moving_avg(kernel, stride=1) for kernel in kernel_size]
            self.layer = torch.nn.Linear(1, len(kernel_size))

        def forward(self, x):
            moving_mean = []
            for func in self.moving_avg:
                moving_avg_ = func(x)
                moving_mean.append(moving_avg_.unsqueeze(-1))
            moving_mean = torch.cat(moving_mean, dim=-1)
            moving_mean = torch.sum(
                moving_mean * nn.Softmax(-1)(self.layer(x.unsqueeze(-1))), dim=-1
            )
            res = x - moving_mean
            return res, moving_mean

    class EncoderLayer(nn.Module):
        def __init__(self, attention, d_model, d_ff=None, moving_avg=25, dropout=0.1,
                     activation="relu"):  # fmt: skip
            super(EncoderLayer, self).__init__()  # noqa: UP008
            d_ff = d_ff or 4 * d_model
            self.attention = attention
            self.conv1 = nn.Conv1d(
                in_channels=d_model, out_channels=d_ff, kernel_size=1, bias=False
            )
            self.conv2 = nn.Conv1d(
                in_channels=d_ff, out_channels=d_model, kernel_size=1, bias=False
            )
            if isinstance(moving_avg, list):
                self.decomp1 = series_decomp_multi(moving_avg)
                self.decomp2 = series_decomp_multi(moving_avg)
            else:
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

    class my_Layernorm(nn.Module):
        """Special designed layernorm for the seasonal part"""

        def __init__(self, channels):
            super(my_Layernorm, self).__init__()  # noqa: UP008
            self.layernorm = nn.LayerNorm(channels)

        def forward(self, x):
            x_hat = self.layernorm(x)
            bias = torch.mean(x_hat, dim=1).unsqueeze(1).repeat(1, x.shape[1], 1)
            return x_hat - bias

    class TokenEmbedding(nn.Module):
        def __init__(self, c_in, d_model):
            super(TokenEmbedding, self).__init__()  # noqa: UP008
            padding = 1 if torch.__version__ >= "1.5.0" else 2
            self.tokenConv = nn.Conv1d(
                in_channels=c_in, out_channels=d_model, kernel_size=3, padding=padding,
                padding_mode="circular", bias=False,
            )  # fmt: skip
            for m in self.modules():
                if isinstance(m, nn.Conv1d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="leaky_relu")

        def forward(self, x):
            x = self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)
            return x

    class Model(nn.Module):
        def __init__(self):
            super(Model, self).__init__()  # noqa: UP008
            self.label_len, self.pred_len = LABEL_LEN, PRED_LEN
            kernel_size = [3, 5]
            self.decomp = series_decomp_multi(kernel_size)
            self.enc_embedding = TokenEmbedding(C, D_MODEL)
            self.dropout = nn.Dropout(p=0.0)
            encoder_self_att = FourierBlock(in_channels=D_MODEL, out_channels=D_MODEL,
                                            seq_len=LABEL_LEN + PRED_LEN, modes=MODES,
                                            mode_select_method="random")  # fmt: skip
            self.encoder = EncoderLayer(
                AutoCorrelationLayer(encoder_self_att, D_MODEL, HEADS), D_MODEL, 2 * D_MODEL,
                moving_avg=kernel_size, dropout=0.0, activation="gelu",
            )  # fmt: skip
            self.norm = my_Layernorm(D_MODEL)
            self.projection = nn.Linear(D_MODEL, C, bias=True)

        def forward(self, x_enc):
            mean = torch.mean(x_enc, dim=1).unsqueeze(1).repeat(1, self.pred_len, 1)
            seasonal_init, trend_init = self.decomp(x_enc)
            trend_init = torch.cat([trend_init[:, -self.label_len :, :], mean], dim=1)
            seasonal_init = F.pad(seasonal_init[:, -self.label_len :, :], (0, 0, 0, self.pred_len))
            enc_out = self.dropout(self.enc_embedding(seasonal_init))
            enc_out, attns = self.encoder(enc_out, attn_mask=None)
            seasonal_part = self.projection(self.norm(enc_out))
            return trend_init + seasonal_part

    np.random.seed(2021)  # run.py's fix_seed: the Fourier modes are drawn with NumPy
    return Model()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model_optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.MSELoss()
    rng = np.random.default_rng(21)
    t = np.arange(SEQ_LEN + PRED_LEN)[None, :, None] + rng.integers(0, 20, (BATCH, 1, 1))
    series = np.sin(t * np.array([0.5, 0.9])) + 0.1 * t / 10
    values: list[float] = []
    for _ in range(STEPS):
        noisy = series + 0.05 * rng.standard_normal(series.shape)
        batch_x = as_tensor(torch_like, noisy[:, :SEQ_LEN], dtype=torch.float32)
        batch_y = as_tensor(torch_like, noisy[:, -(LABEL_LEN + PRED_LEN) :], dtype=torch.float32)
        model_optim.zero_grad()
        outputs = model(batch_x)
        f_dim = 0
        outputs = outputs[:, -PRED_LEN:, f_dim:]
        batch_y = batch_y[:, -PRED_LEN:, f_dim:]
        loss = criterion(outputs, batch_y)
        loss.backward()
        model_optim.step()
        values.append(loss.item())
    values.append(model.encoder.attention.inner_correlation.weights1.abs().sum().item())
    return values
