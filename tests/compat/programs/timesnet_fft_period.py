"""TimesNet (Wu et al. 2023) as thuml/Time-Series-Library writes it (``models/TimesNet.py``,
``layers/Conv_Blocks.py``, ``layers/Embed.py``, ``exp/exp_long_term_forecasting.py``,
``exp/exp_imputation.py``), size-reduced: the same model trained for forecasting and for
imputation.

The idioms: ``FFT_for_Period`` (``xf = torch.fft.rfft(x, dim=1)``, the builtin ``abs(xf)``,
``.mean(0).mean(-1)``, ``frequency_list[0] = 0``, ``torch.topk``, ``top_list.detach().cpu()
.numpy()``, ``period = x.shape[1] // top_list`` as a NumPy array whose ``np.int64`` entries
then size ``torch.zeros([...])`` and ``reshape``, and ``abs(xf).mean(-1)[:, top_list]`` indexed
by that NumPy array, so the gradient runs through ``rfft``'s magnitude); ``TimesBlock`` (zero
padding to a multiple of the period by ``torch.cat``, ``out.reshape(B, length // period,
period, N).permute(0, 3, 1, 2).contiguous()``, 2-D convolutions, ``permute(0, 2, 3,
1).reshape(B, -1, N)``, ``torch.stack(res, dim=-1)``, ``F.softmax(period_weight, dim=1)``,
``period_weight.unsqueeze(1).unsqueeze(1).repeat(1, T, N, 1)``, ``torch.sum(res * period_weight,
-1)``); ``Inception_Block_V1`` (``nn.Conv2d(..., kernel_size=2 * i + 1, padding=i)`` in an
``nn.ModuleList``, ``nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')``,
``torch.stack(res_list, dim=-1).mean(-1)``); ``DataEmbedding`` (``TokenEmbedding``'s
``padding = 1 if torch.__version__ >= '1.5.0' else 2`` and circular ``nn.Conv1d``,
``kaiming_normal_(mode='fan_in', nonlinearity='leaky_relu')``; ``PositionalEmbedding``'s
``pe.require_grad = False``, ``pe[:, 0::2] = torch.sin(position * div_term)``,
``register_buffer('pe', pe)``; ``TimeFeatureEmbedding``; ``nn.Dropout``); the forecast's
non-stationary normalisation (``x_enc.mean(1, keepdim=True).detach()``, ``x_enc.sub(means)``,
``torch.var(x_enc, dim=1, keepdim=True, unbiased=False)``, ``predict_linear`` over the time
axis, ``stdev[:, 0, :].unsqueeze(1).repeat(1, self.pred_len + self.seq_len, 1)``,
``dec_out.mul`` / ``.add``); the imputation's masked statistics (``torch.sum(x_enc, dim=1) /
torch.sum(mask == 1, dim=1)`` dividing by an integer count, ``x_enc.masked_fill(mask == 0,
0)``); the experiment loops (``dec_inp = torch.zeros_like(batch_y[:, -pred_len:, :]).float()``,
``torch.cat([batch_y[:, :label_len, :], dec_inp], dim=1).float().to(self.device)``,
``outputs[:, -self.args.pred_len:, f_dim:]``; the random mask ``mask[mask <= mask_rate] = 0``
/ ``mask[mask > mask_rate] = 1`` and ``criterion(outputs[mask == 0], batch_x[mask == 0])``;
``adjust_learning_rate``'s ``type1`` schedule written into ``param_group['lr']``; ``vali`` with
``np.average(total_loss)``).

Changed: ETTh1 -> NumPy sinusoids plus noise (3 variables, 12 steps in, 4 out), d_model 16 ->
4, d_ff 32 -> 6, 6 kernels -> 3, dropout 0.1 -> 0.0, ``torch.rand`` masks drawn by NumPy.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "run"]

DTYPE = "float32"

SEQ_LEN, LABEL_LEN, PRED_LEN, ENC_IN, MARK = 12, 6, 4, 3, 4


def _configs(task_name: str) -> argparse.Namespace:
    return argparse.Namespace(
        task_name=task_name,
        seq_len=SEQ_LEN,
        label_len=LABEL_LEN,
        pred_len=PRED_LEN if task_name == "long_term_forecast" else 0,
        enc_in=ENC_IN,
        c_out=ENC_IN,
        d_model=4,
        d_ff=6,
        num_kernels=3,
        top_k=2,
        e_layers=2,
        embed="timeF",
        freq="h",
        dropout=0.0,
        features="M",
    )


def make_model(torch_like: Any, configs: argparse.Namespace | None = None) -> Any:
    configs = configs if configs is not None else _configs("long_term_forecast")
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Inception_Block_V1(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            num_kernels: int = 6,
            init_weight: bool = True,
        ) -> None:
            super(Inception_Block_V1, self).__init__()  # noqa: UP008 (as in the library)
            self.in_channels = in_channels
            self.out_channels = out_channels
            self.num_kernels = num_kernels
            kernels = []
            for i in range(self.num_kernels):
                kernels.append(
                    nn.Conv2d(in_channels, out_channels, kernel_size=2 * i + 1, padding=i)
                )
            self.kernels = nn.ModuleList(kernels)
            if init_weight:
                self._initialize_weights()

        def _initialize_weights(self) -> None:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)

        def forward(self, x: Any) -> Any:
            res_list = []
            for i in range(self.num_kernels):
                res_list.append(self.kernels[i](x))
            res = torch.stack(res_list, dim=-1).mean(-1)
            return res

    def FFT_for_Period(x: Any, k: int = 2) -> tuple[np.ndarray, Any]:
        # [B, T, C]
        xf = torch.fft.rfft(x, dim=1)
        # find period by amplitudes
        frequency_list = abs(xf).mean(0).mean(-1)
        frequency_list[0] = 0
        _, top_list = torch.topk(frequency_list, k)
        top_list = top_list.detach().cpu().numpy()
        period = x.shape[1] // top_list
        return period, abs(xf).mean(-1)[:, top_list]

    class TimesBlock(nn.Module):
        def __init__(self, configs: argparse.Namespace) -> None:
            super(TimesBlock, self).__init__()  # noqa: UP008
            self.seq_len = configs.seq_len
            self.pred_len = configs.pred_len
            self.k = configs.top_k
            # parameter-efficient design
            self.conv = nn.Sequential(
                Inception_Block_V1(configs.d_model, configs.d_ff, num_kernels=configs.num_kernels),
                nn.GELU(),
                Inception_Block_V1(configs.d_ff, configs.d_model, num_kernels=configs.num_kernels),
            )

        def forward(self, x: Any) -> Any:
            B, T, N = x.size()
            period_list, period_weight = FFT_for_Period(x, self.k)

            res = []
            for i in range(self.k):
                period = period_list[i]
                # padding
                if (self.seq_len + self.pred_len) % period != 0:
                    length = (((self.seq_len + self.pred_len) // period) + 1) * period
                    padding = torch.zeros(
                        [x.shape[0], (length - (self.seq_len + self.pred_len)), x.shape[2]]
                    ).to(x.device)
                    out = torch.cat([x, padding], dim=1)
                else:
                    length = self.seq_len + self.pred_len
                    out = x
                # reshape
                out = out.reshape(B, length // period, period, N).permute(0, 3, 1, 2).contiguous()
                # 2D conv: from 1d Variation to 2d Variation
                out = self.conv(out)
                # reshape back
                out = out.permute(0, 2, 3, 1).reshape(B, -1, N)
                res.append(out[:, : (self.seq_len + self.pred_len), :])
            res = torch.stack(res, dim=-1)
            # adaptive aggregation
            period_weight = F.softmax(period_weight, dim=1)
            period_weight = period_weight.unsqueeze(1).unsqueeze(1).repeat(1, T, N, 1)
            res = torch.sum(res * period_weight, -1)
            # residual connection
            res = res + x
            return res

    class PositionalEmbedding(nn.Module):
        def __init__(self, d_model: int, max_len: int = 5000) -> None:
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

        def forward(self, x: Any) -> Any:
            return self.pe[:, : x.size(1)]

    class TokenEmbedding(nn.Module):
        def __init__(self, c_in: int, d_model: int) -> None:
            super(TokenEmbedding, self).__init__()  # noqa: UP008
            padding = 1 if torch.__version__ >= "1.5.0" else 2
            self.tokenConv = nn.Conv1d(
                in_channels=c_in,
                out_channels=d_model,
                kernel_size=3,
                padding=padding,
                padding_mode="circular",
                bias=False,
            )
            for m in self.modules():
                if isinstance(m, nn.Conv1d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="leaky_relu")

        def forward(self, x: Any) -> Any:
            x = self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)
            return x

    class TimeFeatureEmbedding(nn.Module):
        def __init__(self, d_model: int, embed_type: str = "timeF", freq: str = "h") -> None:
            super(TimeFeatureEmbedding, self).__init__()  # noqa: UP008
            freq_map = {"h": 4, "t": 5, "s": 6, "m": 1, "a": 1, "w": 2, "d": 3, "b": 3}
            d_inp = freq_map[freq]
            self.embed = nn.Linear(d_inp, d_model, bias=False)

        def forward(self, x: Any) -> Any:
            return self.embed(x)

    class DataEmbedding(nn.Module):
        def __init__(
            self, c_in: int, d_model: int, embed_type: str = "fixed", freq: str = "h",
            dropout: float = 0.1,
        ) -> None:  # fmt: skip
            super(DataEmbedding, self).__init__()  # noqa: UP008
            self.value_embedding = TokenEmbedding(c_in=c_in, d_model=d_model)
            self.position_embedding = PositionalEmbedding(d_model=d_model)
            self.temporal_embedding = TimeFeatureEmbedding(
                d_model=d_model, embed_type=embed_type, freq=freq
            )
            self.dropout = nn.Dropout(p=dropout)

        def forward(self, x: Any, x_mark: Any) -> Any:
            if x_mark is None:
                x = self.value_embedding(x) + self.position_embedding(x)
            else:
                x = (
                    self.value_embedding(x)
                    + self.temporal_embedding(x_mark)
                    + self.position_embedding(x)
                )
            return self.dropout(x)

    class Model(nn.Module):
        """
        Paper link: https://openreview.net/pdf?id=ju_Uqw384Oq
        """

        def __init__(self, configs: argparse.Namespace) -> None:
            super(Model, self).__init__()  # noqa: UP008
            self.configs = configs
            self.task_name = configs.task_name
            self.seq_len = configs.seq_len
            self.label_len = configs.label_len
            self.pred_len = configs.pred_len
            self.model = nn.ModuleList([TimesBlock(configs) for _ in range(configs.e_layers)])
            self.enc_embedding = DataEmbedding(
                configs.enc_in, configs.d_model, configs.embed, configs.freq, configs.dropout
            )
            self.layer = configs.e_layers
            self.layer_norm = nn.LayerNorm(configs.d_model)
            if self.task_name == "long_term_forecast" or self.task_name == "short_term_forecast":
                self.predict_linear = nn.Linear(self.seq_len, self.pred_len + self.seq_len)
                self.projection = nn.Linear(configs.d_model, configs.c_out, bias=True)
            if self.task_name == "imputation" or self.task_name == "anomaly_detection":
                self.projection = nn.Linear(configs.d_model, configs.c_out, bias=True)

        def forecast(self, x_enc: Any, x_mark_enc: Any, x_dec: Any, x_mark_dec: Any) -> Any:
            # Normalization from Non-stationary Transformer
            means = x_enc.mean(1, keepdim=True).detach()
            x_enc = x_enc.sub(means)
            stdev = torch.sqrt(torch.var(x_enc, dim=1, keepdim=True, unbiased=False) + 1e-5)
            x_enc = x_enc.div(stdev)

            # embedding
            enc_out = self.enc_embedding(x_enc, x_mark_enc)  # [B,T,C]
            enc_out = self.predict_linear(enc_out.permute(0, 2, 1)).permute(
                0, 2, 1
            )  # align temporal dimension
            # TimesNet
            for i in range(self.layer):
                enc_out = self.layer_norm(self.model[i](enc_out))
            # porject back
            dec_out = self.projection(enc_out)

            # De-Normalization from Non-stationary Transformer
            dec_out = dec_out.mul(
                stdev[:, 0, :].unsqueeze(1).repeat(1, self.pred_len + self.seq_len, 1)
            )
            dec_out = dec_out.add(
                means[:, 0, :].unsqueeze(1).repeat(1, self.pred_len + self.seq_len, 1)
            )
            return dec_out

        def imputation(
            self, x_enc: Any, x_mark_enc: Any, x_dec: Any, x_mark_dec: Any, mask: Any
        ) -> Any:
            # Normalization from Non-stationary Transformer
            means = torch.sum(x_enc, dim=1) / torch.sum(mask == 1, dim=1)
            means = means.unsqueeze(1).detach()
            x_enc = x_enc.sub(means)
            x_enc = x_enc.masked_fill(mask == 0, 0)
            stdev = torch.sqrt(torch.sum(x_enc * x_enc, dim=1) / torch.sum(mask == 1, dim=1) + 1e-5)
            stdev = stdev.unsqueeze(1).detach()
            x_enc /= stdev

            # embedding
            enc_out = self.enc_embedding(x_enc, x_mark_enc)  # [B,T,C]
            # TimesNet
            for i in range(self.layer):
                enc_out = self.layer_norm(self.model[i](enc_out))
            # porject back
            dec_out = self.projection(enc_out)

            # De-Normalization from Non-stationary Transformer
            dec_out = dec_out.mul(
                stdev[:, 0, :].unsqueeze(1).repeat(1, self.pred_len + self.seq_len, 1)
            )
            dec_out = dec_out.add(
                means[:, 0, :].unsqueeze(1).repeat(1, self.pred_len + self.seq_len, 1)
            )
            return dec_out

        def forward(
            self, x_enc: Any, x_mark_enc: Any, x_dec: Any, x_mark_dec: Any, mask: Any = None
        ) -> Any:
            if self.task_name == "long_term_forecast" or self.task_name == "short_term_forecast":
                dec_out = self.forecast(x_enc, x_mark_enc, x_dec, x_mark_dec)
                return dec_out[:, -self.pred_len :, :]  # [B, L, D]
            if self.task_name == "imputation":
                dec_out = self.imputation(x_enc, x_mark_enc, x_dec, x_mark_dec, mask)
                return dec_out  # [B, L, D]
            return None

    return Model(configs)


def init_state(tmp_path: Any) -> dict[str, dict[str, np.ndarray]]:
    import torch

    from ._common import state_to_numpy

    torch.manual_seed(0)
    return {
        task: state_to_numpy(make_model(torch, _configs(task)))
        for task in ("long_term_forecast", "imputation")
    }


def _series(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` windows of a 3-variable series with periods 4 and 6, plus time features."""
    t = np.arange(n + SEQ_LEN + PRED_LEN + 8)
    base = np.stack(
        [
            np.sin(2 * np.pi * t / 4),
            np.cos(2 * np.pi * t / 6) + 0.5,
            np.sin(2 * np.pi * t / 6) * np.cos(2 * np.pi * t / 4),
        ],
        axis=1,
    )
    data = (base + 0.1 * rng.normal(size=base.shape)).astype(np.float32)
    mark = np.stack([(t % 24) / 23 - 0.5, (t % 7) / 6 - 0.5, (t % 31) / 30 - 0.5,
                     (t % 365) / 364 - 0.5], axis=1).astype(np.float32)  # fmt: skip
    return data, mark


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(7)
    data, mark = _series(rng, 10)
    device = torch.device("cpu")
    values: list[float] = []

    def batches(idx: list[int]) -> list[tuple[Any, Any, Any, Any]]:
        out = []
        for start in range(0, len(idx), 3):
            seq = idx[start : start + 3]
            bx = np.stack([data[i : i + SEQ_LEN] for i in seq])
            by = np.stack([data[i + SEQ_LEN - LABEL_LEN : i + SEQ_LEN + PRED_LEN] for i in seq])
            bxm = np.stack([mark[i : i + SEQ_LEN] for i in seq])
            bym = np.stack([mark[i + SEQ_LEN - LABEL_LEN : i + SEQ_LEN + PRED_LEN] for i in seq])
            out.append(tuple(torch.from_numpy(a) for a in (bx, by, bxm, bym)))
        return out

    train_loader, vali_loader = batches(list(range(6))), batches([6, 7, 8])

    def adjust_learning_rate(optimizer: Any, epoch: int, args: Any) -> None:
        # lr = args.learning_rate * (0.2 ** (epoch // 2))
        if args.lradj == "type1":
            lr_adjust = {epoch: args.learning_rate * (0.5 ** ((epoch - 1) // 1))}
        if epoch in lr_adjust.keys():
            lr = lr_adjust[epoch]
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr

    args = argparse.Namespace(learning_rate=0.01, lradj="type1", mask_rate=0.25)

    # long-term forecasting (exp_long_term_forecasting.train / vali)
    configs = _configs("long_term_forecast")
    model = make_model(torch_like, configs).float().to(device)
    load_numpy_state(torch, model, init["long_term_forecast"])
    model_optim = optim.Adam(model.parameters(), lr=args.learning_rate)
    criterion = nn.MSELoss()
    f_dim = -1 if configs.features == "MS" else 0

    def forecast_step(batch_x: Any, batch_y: Any, batch_x_mark: Any, batch_y_mark: Any) -> Any:
        dec_inp = torch.zeros_like(batch_y[:, -configs.pred_len :, :]).float()
        dec_inp = torch.cat([batch_y[:, : configs.label_len, :], dec_inp], dim=1).float().to(device)
        outputs = model(batch_x, batch_x_mark, dec_inp, batch_y_mark)
        outputs = outputs[:, -configs.pred_len :, f_dim:]
        batch_y = batch_y[:, -configs.pred_len :, f_dim:].to(device)
        return criterion(outputs, batch_y)

    for epoch in range(2):
        model.train()
        for batch_x, batch_y, batch_x_mark, batch_y_mark in train_loader:
            model_optim.zero_grad()
            loss = forecast_step(batch_x.float(), batch_y.float(), batch_x_mark, batch_y_mark)
            values.append(loss.item())
            loss.backward()
            model_optim.step()
        total_loss = []
        model.eval()
        with torch.no_grad():
            for batch_x, batch_y, batch_x_mark, batch_y_mark in vali_loader:
                loss = forecast_step(batch_x.float(), batch_y.float(), batch_x_mark, batch_y_mark)
                total_loss.append(loss.item())
        values.append(np.average(total_loss))
        adjust_learning_rate(model_optim, epoch + 1, args)
    values.append(model_optim.param_groups[0]["lr"])

    # imputation (exp_imputation.train)
    configs = _configs("imputation")
    model = make_model(torch_like, configs).float().to(device)
    load_numpy_state(torch, model, init["imputation"])
    model_optim = optim.Adam(model.parameters(), lr=args.learning_rate)
    for batch_x, _batch_y, batch_x_mark, _batch_y_mark in train_loader:
        batch_x = batch_x.float().to(device)
        # random mask
        B, T, N = batch_x.shape
        mask = torch.from_numpy(rng.random((B, T, N))).to(device)
        mask[mask <= args.mask_rate] = 0  # masked
        mask[mask > args.mask_rate] = 1  # remained
        inp = batch_x.masked_fill(mask == 0, 0)

        outputs = model(inp, batch_x_mark, None, None, mask)
        outputs = outputs[:, :, f_dim:]
        loss = criterion(outputs[mask == 0], batch_x[mask == 0])
        model_optim.zero_grad()
        loss.backward()
        model_optim.step()
        values += [loss.item(), float((mask == 0).sum())]
    return values
