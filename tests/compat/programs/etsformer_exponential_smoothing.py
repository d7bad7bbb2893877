"""ETSformer: exponential-smoothing attention, frequency attention and damped growth for
forecasting, as Salesforce's ``ETSformer`` writes them (``models/etsformer/
exponential_smoothing.py``: ``ExponentialSmoothing``; ``modules.py``: ``ETSEmbedding``,
``Transform``, ``conv1d_fft``, ``Feedforward``; ``encoder.py``: ``GrowthLayer``,
``FourierLayer``, ``LevelLayer``, ``EncoderLayer``, ``Encoder``; ``decoder.py``:
``DampingLayer``, ``DecoderLayer``, ``Decoder``; ``model.py``: ``Model.forward``;
``exp/exp_main.py``: the training step), size-reduced.

The idioms kept verbatim: ``conv1d_fft``'s ``fft.rfft(f, fast_len, dim=dim)``, ``F_f *
F_g.conj()``, ``fft.irfft(F_fg, fast_len, dim=dim)``, ``out.roll((-1,), dims=(dim,))`` and
``torch.as_tensor(range(fast_len - N, fast_len))`` for ``index_select``; the smoothing
weights ``torch.sigmoid(self._smoothing_weight)`` as a ``@property``, raised to
``torch.flip(powers, dims=(0,))`` of a float32 ``torch.arange(T, dtype=torch.float)``; the
level layer's auxiliary convolution over the default last dim; ``FourierLayer``'s
``fft.rfft(x, dim=1)`` with ``fft.rfftfreq(t)[self.low_freq:-1]``, ``torch.topk(x_freq.abs(),
self.k, dim=1, largest=True, sorted=True)``, the ``torch.meshgrid`` index tuple gathering
complex coefficients ``x_freq[index_tuple]``, and the extrapolation ``torch.cat([x_freq,
x_freq.conj()], dim=1)``, ``x_freq.abs() / t`` and ``x_freq.angle()`` into ``amp *
torch.cos(2 * math.pi * f * t_val + phase)`` (gradients through complex ``abs``/``angle``);
``GrowthLayer``'s first differences ``values[:, 1:] - values[:, :-1]`` after prepending
``z0``; ``DampingLayer``'s ``self.damping_factor ** powers`` with ``.cumsum(dim=0)``;
``Feedforward``'s ``self.activation = getattr(F, activation)``; ``ETSEmbedding``'s
``self.conv(x.permute(0, 2, 1))[..., :-2]`` after ``padding=2`` with
``nn.init.kaiming_normal_``; ``Transform``'s ``@torch.no_grad()`` scale / shift / jitter
augmentation applied under ``with torch.no_grad(): if self.training:``; the decoder's
``sum(growth_repr)`` of a Python list and ``preds = level[:, -1:] + growth + season``;
``nn.MSELoss`` with Adam.

Changed: the einops ``rearrange``/``repeat``/``reduce`` calls written out with ``view``,
``expand`` and ``sum``; ``scipy.fftpack.next_fast_len`` is a small NumPy search of 2-3-5
smooth lengths; ``torch.meshgrid`` is given ``indexing='ij'`` (its default, which torch now
warns about); one encoder and one decoder layer, d_model 8, 2 heads, 2 channels, 12 input
steps, 4 predicted, k = 2 frequencies, dropout 0, 5 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SEQ_LEN, PRED_LEN, C_OUT, D_MODEL, NHEAD, K, BATCH, STEPS = 12, 4, 2, 8, 2, 2, 3, 5


def next_fast_len(target: int) -> int:
    n = target
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F, fft = nn.functional, torch.fft

    def conv1d_fft(f, g, dim=-1):
        N = f.size(dim)
        M = g.size(dim)
        fast_len = next_fast_len(N + M - 1)
        F_f = fft.rfft(f, fast_len, dim=dim)
        F_g = fft.rfft(g, fast_len, dim=dim)
        F_fg = F_f * F_g.conj()
        out = fft.irfft(F_fg, fast_len, dim=dim)
        out = out.roll((-1,), dims=(dim,))
        idx = torch.as_tensor(range(fast_len - N, fast_len)).to(out.device)
        out = out.index_select(dim, idx)
        return out

    class ExponentialSmoothing(nn.Module):
        def __init__(self, dim, nhead, dropout=0.1, aux=False):
            super().__init__()
            self._smoothing_weight = nn.Parameter(torch.randn(nhead, 1))
            self.v0 = nn.Parameter(torch.randn(1, 1, nhead, dim))
            self.dropout = nn.Dropout(dropout)
            if aux:
                self.aux_dropout = nn.Dropout(dropout)

        def forward(self, values, aux_values=None):
            b, t, h, d = values.shape
            init_weight, weight = self.get_exponential_weight(t)
            output = conv1d_fft(self.dropout(values), weight, dim=1)
            output = init_weight * self.v0 + output
            if aux_values is not None:
                aux_weight = weight / (1 - self.weight) * self.weight
                aux_output = conv1d_fft(self.aux_dropout(aux_values), aux_weight)
                output = output + aux_output
            return output

        def get_exponential_weight(self, T):
            # Generate array [0, 1, ..., T-1]
            powers = torch.arange(T, dtype=torch.float, device=self.weight.device)
            # (1 - \alpha) * \alpha^t, for all t = T-1, T-2, ..., 0]
            weight = (1 - self.weight) * (self.weight ** torch.flip(powers, dims=(0,)))
            # \alpha^t for all t = 1, 2, ..., T
            init_weight = self.weight ** (powers + 1)
            h = init_weight.shape[0]  # rearrange(w, 'h t -> 1 t h 1')
            return init_weight.t().reshape(1, T, h, 1), weight.t().reshape(1, T, h, 1)

        @property
        def weight(self):
            return torch.sigmoid(self._smoothing_weight)

    class GrowthLayer(nn.Module):
        def __init__(self, d_model, nhead, d_head=None, dropout=0.1, output_attention=False):
            super().__init__()
            self.d_head = d_head or (d_model // nhead)
            self.d_model = d_model
            self.nhead = nhead
            self.output_attention = output_attention
            self.z0 = nn.Parameter(torch.randn(self.nhead, self.d_head))
            self.in_proj = nn.Linear(self.d_model, self.d_head * self.nhead)
            self.es = ExponentialSmoothing(self.d_head, self.nhead, dropout=dropout)
            self.out_proj = nn.Linear(self.d_head * self.nhead, self.d_model)
            assert self.d_head * self.nhead == self.d_model, "d_model must be divisible by nhead"

        def forward(self, inputs):
            b, t, d = inputs.shape
            values = self.in_proj(inputs).view(b, t, self.nhead, -1)
            z0 = self.z0.unsqueeze(0).unsqueeze(0).expand(b, 1, -1, -1)  # 'h d -> b 1 h d'
            values = torch.cat([z0, values], dim=1)
            values = values[:, 1:] - values[:, :-1]
            out = self.es(values)
            out = torch.cat([self.es.v0.expand(b, -1, -1, -1), out], dim=1)
            out = out.reshape(b, out.shape[1], -1)  # 'b t h d -> b t (h d)'
            return self.out_proj(out)

    class FourierLayer(nn.Module):
        def __init__(self, d_model, pred_len, k=None, low_freq=1):
            super().__init__()
            self.d_model = d_model
            self.pred_len = pred_len
            self.k = k
            self.low_freq = low_freq

        def forward(self, x):
            """x: (b, t, d)"""
            b, t, d = x.shape
            x_freq = fft.rfft(x, dim=1)
            if t % 2 == 0:
                x_freq = x_freq[:, self.low_freq : -1]
                f = fft.rfftfreq(t)[self.low_freq : -1]
            else:
                x_freq = x_freq[:, self.low_freq :]
                f = fft.rfftfreq(t)[self.low_freq :]
            x_freq, index_tuple = self.topk_freq(x_freq)
            f = f.view(1, -1, 1).expand(x_freq.size(0), -1, x_freq.size(2))  # repeat
            f = f[index_tuple].unsqueeze(2).to(x_freq.device)  # 'b f d -> b f () d'
            return self.extrapolate(x_freq, f, t)

        def extrapolate(self, x_freq, f, t):
            x_freq = torch.cat([x_freq, x_freq.conj()], dim=1)
            f = torch.cat([f, -f], dim=1)
            t_val = torch.arange(t + self.pred_len, dtype=torch.float).view(1, 1, -1, 1)
            t_val = t_val.to(x_freq.device)
            amp = (x_freq.abs() / t).unsqueeze(2)
            phase = x_freq.angle().unsqueeze(2)
            x_time = amp * torch.cos(2 * math.pi * f * t_val + phase)
            return x_time.sum(1)  # reduce(x_time, 'b f t d -> b t d', 'sum')

        def topk_freq(self, x_freq):
            values, indices = torch.topk(x_freq.abs(), self.k, dim=1, largest=True, sorted=True)
            mesh_a, mesh_b = torch.meshgrid(
                torch.arange(x_freq.size(0)), torch.arange(x_freq.size(2)), indexing="ij"
            )
            index_tuple = (mesh_a.unsqueeze(1), indices, mesh_b.unsqueeze(1))
            x_freq = x_freq[index_tuple]
            return x_freq, index_tuple

    class LevelLayer(nn.Module):
        def __init__(self, d_model, c_out, dropout=0.1):
            super().__init__()
            self.d_model = d_model
            self.c_out = c_out
            self.es = ExponentialSmoothing(1, self.c_out, dropout=dropout, aux=True)
            self.growth_pred = nn.Linear(self.d_model, self.c_out)
            self.season_pred = nn.Linear(self.d_model, self.c_out)

        def forward(self, level, growth, season):
            b, t, _ = level.shape
            growth = self.growth_pred(growth).view(b, t, self.c_out, 1)
            season = self.season_pred(season).view(b, t, self.c_out, 1)
            growth = growth.view(b, t, self.c_out, 1)
            season = season.view(b, t, self.c_out, 1)
            level = level.view(b, t, self.c_out, 1)
            out = self.es(level - season, aux_values=growth)
            return out.reshape(b, t, -1)  # 'b t h d -> b t (h d)'

    class Feedforward(nn.Module):
        def __init__(self, d_model, dim_feedforward, dropout=0.1, activation="sigmoid"):
            # Implementation of Feedforward model
            super().__init__()
            self.linear1 = nn.Linear(d_model, dim_feedforward, bias=False)
            self.dropout1 = nn.Dropout(dropout)
            self.linear2 = nn.Linear(dim_feedforward, d_model, bias=False)
            self.dropout2 = nn.Dropout(dropout)
            self.activation = getattr(F, activation)

        def forward(self, x):
            x = self.linear2(self.dropout1(self.activation(self.linear1(x))))
            return self.dropout2(x)

    class EncoderLayer(nn.Module):
        def __init__(self, d_model, nhead, c_out, seq_len, pred_len, k, dim_feedforward=None,
                     dropout=0.1, activation="sigmoid", layer_norm_eps=1e-5):  # fmt: skip
            super().__init__()
            self.d_model = d_model
            self.nhead = nhead
            self.c_out = c_out
            self.seq_len = seq_len
            self.pred_len = pred_len
            dim_feedforward = dim_feedforward or 4 * d_model
            self.dim_feedforward = dim_feedforward
            self.growth_layer = GrowthLayer(d_model, nhead, dropout=dropout)
            self.seasonal_layer = FourierLayer(d_model, pred_len, k=k)
            self.level_layer = LevelLayer(d_model, c_out, dropout=dropout)
            # Implementation of Feedforward model
            self.ff = Feedforward(d_model, dim_feedforward, dropout=dropout, activation=activation)
            self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
            self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
            self.dropout1 = nn.Dropout(dropout)
            self.dropout2 = nn.Dropout(dropout)

        def forward(self, res, level, attn_mask=None):
            season = self._season_block(res)
            res = res - season[:, : -self.pred_len]
            growth = self._growth_block(res)
            res = self.norm1(res - growth[:, 1:])
            res = self.norm2(res + self.ff(res))
            level = self.level_layer(level, growth[:, :-1], season[:, : -self.pred_len])
            return res, level, growth, season

        def _growth_block(self, x):
            x = self.growth_layer(x)
            return self.dropout1(x)

        def _season_block(self, x):
            x = self.seasonal_layer(x)
            return self.dropout2(x)

    class Encoder(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.layers = nn.ModuleList(layers)

        def forward(self, res, level, attn_mask=None):
            growths = []
            seasons = []
            for layer in self.layers:
                res, level, growth, season = layer(res, level, attn_mask=None)
                growths.append(growth)
                seasons.append(season)
            return level, growths, seasons

    class DampingLayer(nn.Module):
        def __init__(self, pred_len, nhead, dropout=0.1, output_attention=False):
            super().__init__()
            self.pred_len = pred_len
            self.nhead = nhead
            self.output_attention = output_attention
            self._damping_factor = nn.Parameter(torch.randn(1, nhead))
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            x = x.expand(-1, self.pred_len, -1)  # repeat(x, 'b 1 d -> b t d', t=self.pred_len)
            b, t, d = x.shape
            powers = torch.arange(self.pred_len).to(self._damping_factor.device) + 1
            powers = powers.view(self.pred_len, 1)
            damping_factors = self.damping_factor**powers
            damping_factors = damping_factors.cumsum(dim=0)
            x = x.reshape(b, t, self.nhead, -1)
            x = self.dropout(x) * damping_factors.unsqueeze(-1)
            x = x.view(b, t, d)
            if self.output_attention:
                return x, damping_factors
            return x, None

        @property
        def damping_factor(self):
            return torch.sigmoid(self._damping_factor)

    class DecoderLayer(nn.Module):
        def __init__(self, d_model, nhead, c_out, pred_len, dropout=0.1, output_attention=False):
            super().__init__()
            self.d_model = d_model
            self.nhead = nhead
            self.c_out = c_out
            self.pred_len = pred_len
            self.output_attention = output_attention
            self.growth_damping = DampingLayer(pred_len, nhead, dropout=dropout,
                                               output_attention=output_attention)  # fmt: skip
            self.dropout1 = nn.Dropout(dropout)

        def forward(self, growth, season):
            growth_horizon, growth_damping = self.growth_damping(growth[:, -1:])
            growth_horizon = self.dropout1(growth_horizon)
            seasonal_horizon = season[:, -self.pred_len :]
            return growth_horizon, seasonal_horizon, growth_damping

    class Decoder(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.d_model = layers[0].d_model
            self.c_out = layers[0].c_out
            self.pred_len = layers[0].pred_len
            self.nhead = layers[0].nhead
            self.layers = nn.ModuleList(layers)
            self.pred = nn.Linear(self.d_model, self.c_out)

        def forward(self, growths, seasons):
            growth_repr = []
            season_repr = []
            growth_dampings = []
            for idx, layer in enumerate(self.layers):
                growth_horizon, season_horizon, growth_damping = layer(growths[idx], seasons[idx])
                growth_repr.append(growth_horizon)
                season_repr.append(season_horizon)
                growth_dampings.append(growth_damping)
            growth_repr = sum(growth_repr)
            season_repr = sum(season_repr)
            return self.pred(growth_repr), self.pred(season_repr), growth_dampings

    class ETSEmbedding(nn.Module):
        def __init__(self, c_in, d_model, dropout=0.1):
            super().__init__()
            self.conv = nn.Conv1d(in_channels=c_in, out_channels=d_model, kernel_size=3,
                                  padding=2, bias=False)  # fmt: skip
            self.dropout = nn.Dropout(p=dropout)
            nn.init.kaiming_normal_(self.conv.weight)

        def forward(self, x):
            x = self.conv(x.permute(0, 2, 1))[..., :-2]
            return self.dropout(x.transpose(1, 2))

    class Transform:
        def __init__(self, sigma):
            self.sigma = sigma

        @torch.no_grad()
        def transform(self, x):
            return self.jitter(self.shift(self.scale(x)))

        def jitter(self, x):
            return x + (torch.randn(x.shape).to(x.device) * self.sigma)

        def scale(self, x):
            return x * (torch.randn(x.size(-1)).to(x.device) * self.sigma + 1)

        def shift(self, x):
            return x + (torch.randn(x.size(-1)).to(x.device) * self.sigma)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.pred_len = PRED_LEN
            self.enc_embedding = ETSEmbedding(C_OUT, D_MODEL, dropout=0.0)
            self.encoder = Encoder([EncoderLayer(D_MODEL, NHEAD, C_OUT, SEQ_LEN, PRED_LEN, K,
                                                 dim_feedforward=16, dropout=0.0,
                                                 activation="sigmoid")])  # fmt: skip
            self.decoder = Decoder([DecoderLayer(D_MODEL, NHEAD, C_OUT, PRED_LEN, dropout=0.0)])
            self.transform = Transform(sigma=0.05)

        def forward(self, x_enc):
            with torch.no_grad():
                if self.training:
                    x_enc = self.transform.transform(x_enc)
            res = self.enc_embedding(x_enc)
            level, growths, seasons = self.encoder(res, x_enc, attn_mask=None)
            growth, season, growth_dampings = self.decoder(growths, seasons)
            preds = level[:, -1:] + growth + season
            return preds

    return Model()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    torch.manual_seed(12)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model_optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.MSELoss()
    rng = np.random.default_rng(13)
    t = np.arange(SEQ_LEN + PRED_LEN)[None, :, None] + rng.integers(0, 10, (BATCH, 1, 1))
    series = np.cos(t * np.array([0.7, 1.3])) + 0.05 * t
    values: list[float] = []
    for step in range(STEPS):  # noqa: B007
        model.train()
        noisy = series + 0.05 * rng.standard_normal(series.shape)
        batch_x = as_tensor(torch_like, noisy[:, :SEQ_LEN])
        batch_y = as_tensor(torch_like, noisy[:, -PRED_LEN:])
        model_optim.zero_grad()
        outputs = model(batch_x)
        loss = criterion(outputs, batch_y)
        loss.backward()
        model_optim.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        values.append(model(as_tensor(torch_like, series[:, :SEQ_LEN])).sum().item())
    return values
