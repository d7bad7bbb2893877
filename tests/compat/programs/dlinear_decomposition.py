"""DLinear and NLinear, as cure-lab/LTSF-Linear writes them (``models/DLinear.py``:
``moving_avg``, ``series_decomp``, ``Model`` with ``individual`` heads; ``models/NLinear.py``;
``exp/exp_main.py``'s train/vali loop, ``utils/tools.py``'s ``adjust_learning_rate`` and
``EarlyStopping``, ``utils/metrics.py``), size-reduced (seq_len 336 -> 12, pred_len 96 -> 4,
3 channels, kernel 25 -> 5).

The idioms: the replicate padding of the moving average written with ``repeat``
(``front = x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)``, ``end = x[:, -1:,
:].repeat(...)``, ``torch.cat([front, x, end], dim=1)``) and ``nn.AvgPool1d(kernel_size,
stride=1, padding=0)`` over ``x.permute(0, 2, 1)``; ``res = x - moving_mean``; the individual
per-channel heads ``seasonal_output = torch.zeros([B, C, pred_len],
dtype=seasonal_init.dtype).to(seasonal_init.device)`` filled with ``seasonal_output[:, i, :] =
self.Linear_Seasonal[i](seasonal_init[:, i, :])``; the shared-head variant and its
``nn.Parameter((1 / self.seq_len) * torch.ones([self.pred_len, self.seq_len]))`` averaging
init; NLinear's ``seq_last = x[:, -1:, :].detach()``; the loop's ``batch_x.float()``,
``dec_inp = torch.zeros_like(batch_y[:, -pred_len:, :]).float()``, ``torch.cat([batch_y[:,
:label_len, :], dec_inp], dim=1).float()``, ``f_dim = -1 if features == 'MS' else 0``,
``outputs[:, -pred_len:, f_dim:]``, ``nn.MSELoss()``, ``np.average(total_loss)``; the
``lr_adjust = {epoch: learning_rate * (0.5 ** ((epoch - 1) // 1))}`` schedule written into
``param_group['lr']``; ``EarlyStopping`` with ``torch.save(model.state_dict(), path)`` and
``model.load_state_dict(torch.load(best_model_path))``; and ``metric``'s MAE/MSE/RSE/CORR on
``.detach().cpu().numpy()`` predictions; the data through ``Dataset``/``DataLoader(shuffle=True,
drop_last=True)``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "run"]

DTYPE = "float32"
SEQ_LEN, LABEL_LEN, PRED_LEN, CHANNELS, KERNEL, EPOCHS = 12, 6, 4, 3, 5, 3


class Configs:
    def __init__(self, individual: bool) -> None:
        self.seq_len, self.label_len, self.pred_len = SEQ_LEN, LABEL_LEN, PRED_LEN
        self.individual, self.enc_in, self.features = individual, CHANNELS, "M"
        self.learning_rate = 0.01


def _models(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn

    class moving_avg(nn.Module):
        """
        Moving average block to highlight the trend of time series
        """

        def __init__(self, kernel_size: int, stride: int) -> None:
            super(moving_avg, self).__init__()  # noqa: UP008 (as written)
            self.kernel_size = kernel_size
            self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

        def forward(self, x: Any) -> Any:
            # padding on the both ends of time series
            front = x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)
            end = x[:, -1:, :].repeat(1, (self.kernel_size - 1) // 2, 1)
            x = torch.cat([front, x, end], dim=1)
            x = self.avg(x.permute(0, 2, 1))
            x = x.permute(0, 2, 1)
            return x

    class series_decomp(nn.Module):
        """
        Series decomposition block
        """

        def __init__(self, kernel_size: int) -> None:
            super(series_decomp, self).__init__()  # noqa: UP008 (as written)
            self.moving_avg = moving_avg(kernel_size, stride=1)

        def forward(self, x: Any) -> tuple[Any, Any]:
            moving_mean = self.moving_avg(x)
            res = x - moving_mean
            return res, moving_mean

    class DLinear(nn.Module):
        """
        Decomposition-Linear
        """

        def __init__(self, configs: Configs) -> None:
            super().__init__()
            self.seq_len = configs.seq_len
            self.pred_len = configs.pred_len
            kernel_size = KERNEL
            self.decompsition = series_decomp(kernel_size)
            self.individual = configs.individual
            self.channels = configs.enc_in
            if self.individual:
                self.Linear_Seasonal = nn.ModuleList()
                self.Linear_Trend = nn.ModuleList()
                for _i in range(self.channels):
                    self.Linear_Seasonal.append(nn.Linear(self.seq_len, self.pred_len))
                    self.Linear_Trend.append(nn.Linear(self.seq_len, self.pred_len))
            else:
                self.Linear_Seasonal = nn.Linear(self.seq_len, self.pred_len)
                self.Linear_Trend = nn.Linear(self.seq_len, self.pred_len)
                self.Linear_Seasonal.weight = nn.Parameter(
                    (1 / self.seq_len) * torch.ones([self.pred_len, self.seq_len])
                )
                self.Linear_Trend.weight = nn.Parameter(
                    (1 / self.seq_len) * torch.ones([self.pred_len, self.seq_len])
                )

        def forward(self, x: Any) -> Any:
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

    class NLinear(nn.Module):
        """
        Normalization-Linear
        """

        def __init__(self, configs: Configs) -> None:
            super().__init__()
            self.seq_len = configs.seq_len
            self.pred_len = configs.pred_len
            self.Linear = nn.Linear(self.seq_len, self.pred_len)

        def forward(self, x: Any) -> Any:
            seq_last = x[:, -1:, :].detach()
            x = x - seq_last
            x = self.Linear(x.permute(0, 2, 1)).permute(0, 2, 1)
            x = x + seq_last
            return x

    return {"DLinear": DLinear, "NLinear": NLinear}


def init_state(tmp_path: Any) -> dict:
    import torch

    models = _models(torch)
    states = {}
    with_default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        for name, individual in (("DLinear", True), ("DLinear", False), ("NLinear", False)):
            torch.manual_seed(0)
            model = models[name](Configs(individual))
            states[f"{name}-{individual}"] = {
                k: v.detach().numpy().copy() for k, v in model.state_dict().items()
            }
    finally:
        torch.set_default_dtype(with_default)
    return {"states": states, "dir": str(tmp_path)}


def metric(pred: np.ndarray, true: np.ndarray) -> tuple:
    mae = np.mean(np.abs(pred - true))
    mse = np.mean((pred - true) ** 2)
    rse = np.sqrt(np.sum((true - pred) ** 2)) / np.sqrt(np.sum((true - true.mean()) ** 2))
    u = ((true - true.mean(0)) * (pred - pred.mean(0))).sum(0)
    d = np.sqrt(((true - true.mean(0)) ** 2 * (pred - pred.mean(0)) ** 2).sum(0))
    corr = 0.01 * (u / d).mean(-1)
    return mae, mse, rse, float(np.mean(corr))


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    models = _models(torch_like)
    t = np.arange(80)
    series = np.stack([np.sin(t / 3.0) + 0.02 * t, np.cos(t / 5.0), 0.5 * np.sin(t / 2.0 + 1)], 1)

    class Dataset_Custom(torch.utils.data.Dataset):
        def __init__(self, data: np.ndarray) -> None:
            self.data_x = self.data_y = data

        def __getitem__(self, index: int) -> tuple:
            s_begin = index
            s_end = s_begin + SEQ_LEN
            r_begin = s_end - LABEL_LEN
            r_end = r_begin + LABEL_LEN + PRED_LEN
            return self.data_x[s_begin:s_end], self.data_y[r_begin:r_end]

        def __len__(self) -> int:
            return len(self.data_x) - SEQ_LEN - PRED_LEN + 1

    train_data, vali_data = Dataset_Custom(series[:60]), Dataset_Custom(series[50:])
    values: list[float] = []
    for key, state in init["states"].items():
        name, individual = key.split("-")
        args = Configs(individual == "True")
        model = models[name](args)
        load_numpy_state(torch_like, model, state)
        torch.manual_seed(0)
        train_loader = torch.utils.data.DataLoader(
            train_data, batch_size=8, shuffle=True, num_workers=0, drop_last=True
        )
        vali_loader = torch.utils.data.DataLoader(vali_data, batch_size=8, shuffle=False)
        model_optim = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
        criterion = nn.MSELoss()
        best_score, path = None, os.path.join(init["dir"], f"{key}-{torch.__name__}.pth")

        def step(batch_x: Any, batch_y: Any, model: Any = model, args: Any = args) -> tuple:
            batch_x = batch_x.float()
            batch_y = batch_y.float()
            dec_inp = torch.zeros_like(batch_y[:, -args.pred_len :, :]).float()
            dec_inp = torch.cat([batch_y[:, : args.label_len, :], dec_inp], dim=1).float()
            outputs = model(batch_x)
            f_dim = -1 if args.features == "MS" else 0
            outputs = outputs[:, -args.pred_len :, f_dim:]
            batch_y = batch_y[:, -args.pred_len :, f_dim:]
            return outputs, batch_y

        for epoch in range(EPOCHS):
            train_loss = []
            model.train()
            for batch_x, batch_y in train_loader:
                model_optim.zero_grad()
                outputs, batch_y = step(batch_x, batch_y)
                loss = criterion(outputs, batch_y)
                train_loss.append(loss.item())
                loss.backward()
                model_optim.step()
            total_loss = []
            model.eval()
            with torch.no_grad():
                for batch_x, batch_y in vali_loader:
                    outputs, batch_y = step(batch_x, batch_y)
                    pred = outputs.detach().cpu()
                    true = batch_y.detach().cpu()
                    total_loss.append(criterion(pred, true))
            vali_loss = np.average(total_loss)
            score = -vali_loss
            if best_score is None or score > best_score:
                best_score = score
                torch.save(model.state_dict(), path)
            lr_adjust = {epoch + 1: args.learning_rate * (0.5 ** ((epoch + 1 - 1) // 1))}
            if epoch + 1 in lr_adjust.keys():
                lr = lr_adjust[epoch + 1]
                for param_group in model_optim.param_groups:
                    param_group["lr"] = lr
            values.extend([float(np.average(train_loss)), float(vali_loss)])
        model.load_state_dict(torch.load(path))
        preds, trues = [], []
        with torch.no_grad():
            for batch_x, batch_y in vali_loader:
                outputs, batch_y = step(batch_x, batch_y)
                preds.append(outputs.detach().cpu().numpy())
                trues.append(batch_y.detach().cpu().numpy())
        values.extend(metric(np.concatenate(preds), np.concatenate(trues)))
    return values
