"""SegRNN long-term forecasting (lss-1138/SegRNN, ``models/SegRNN.py``, ``layers/RevIN.py``,
``exp/exp_main.py``, ``utils/tools.py``), size-reduced: each channel's look-back window is cut
into segments, embedded and run through one RNN; the forecast is decoded either all at once
from positional/channel embeddings ("pmf") or segment by segment ("rmf").

The idioms kept: ``seq_last = x[:, -1:, :].detach()`` and ``(x - seq_last).permute(0, 2, 1)``
or RevIN (``dim2reduce = tuple(range(1, x.ndim - 1))``, ``torch.var(..., unbiased=False)``
under ``.detach()``, ``x[:, -1, :].unsqueeze(1)`` for ``subtract_last``, the affine denorm
``x / (self.affine_weight + self.eps * self.eps)``); ``self.valueEmbedding(x.reshape(-1,
seg_num_x, seg_len))`` with ``nn.Sequential(nn.Linear, nn.ReLU())``; ``nn.RNN``/``nn.GRU``/
``nn.LSTM`` (``batch_first=True``) returning ``_, hn`` or ``_, (hn, cn)``; "pmf" decoding with
``torch.cat([self.pos_emb.unsqueeze(0).repeat(enc_in, 1, 1), self.channel_emb.unsqueeze(1)
.repeat(1, seg_num_y, 1)], dim=-1).view(-1, 1, d_model).repeat(batch_size, 1, 1)`` (or
``self.pos_emb.repeat(batch_size * enc_in, 1).unsqueeze(1)``) and the state
``hn.repeat(1, 1, seg_num_y).view(1, -1, d_model)``; "rmf" decoding feeding each predicted
segment back (``yy.permute(1, 0, 2)``, ``torch.stack(y, dim=1).squeeze(2).reshape(-1, enc_in,
pred_len)``); ``nn.Parameter(torch.randn(...))`` embeddings; the experiment loop's ``f_dim =
-1 if features == 'MS' else 0``, ``outputs[:, -pred_len:, f_dim:]``, ``nn.L1Loss()``/
``nn.MSELoss()``, ``OneCycleLR(optimizer=..., steps_per_epoch=..., pct_start=...,
epochs=..., max_lr=...)`` stepped per batch, ``adjust_learning_rate``'s 'type1' halving
(``param_group['lr'] = lr``) and ``EarlyStopping``'s ``torch.save(model.state_dict(), path)``
re-loaded for the test pass under ``torch.no_grad()``.

Changed: seq_len 720 -> 12, pred_len 96 -> 6, seg_len 48 -> 3, d_model 512 -> 8, 7 channels
-> 3; four configurations of one model (GRU/pmf/RevIN, LSTM/rmf, RNN/pmf without channel
ids, LSTM/pmf with ``subtract_last``) held in an ``nn.ModuleDict``; seeded NumPy windows,
2 epochs of 2 batches each.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
SEQ_LEN, PRED_LEN, SEG_LEN, D_MODEL, ENC_IN, BATCH = 12, 6, 3, 8, 3, 4
CONFIGS = {
    "gru_pmf": dict(rnn_type="gru", dec_way="pmf", channel_id=1, revin=1, subtract_last=False),
    "lstm_rmf": dict(rnn_type="lstm", dec_way="rmf", channel_id=1, revin=0, subtract_last=False),
    "rnn_pmf": dict(rnn_type="rnn", dec_way="pmf", channel_id=0, revin=0, subtract_last=False),
    "lstm_pmf": dict(rnn_type="lstm", dec_way="pmf", channel_id=1, revin=1, subtract_last=True),
}


class Configs:
    def __init__(self, **kwargs: Any) -> None:
        self.seq_len, self.pred_len, self.seg_len = SEQ_LEN, PRED_LEN, SEG_LEN
        self.enc_in, self.d_model, self.dropout = ENC_IN, D_MODEL, 0.0
        self.__dict__.update(kwargs)


def _classes(torch: Any) -> tuple[type, type]:
    nn = torch.nn

    class RevIN(nn.Module):
        def __init__(self, num_features: int, eps=1e-5, affine=True, subtract_last=False):  # noqa: ANN001
            super(RevIN, self).__init__()  # noqa: UP008
            self.num_features = num_features
            self.eps = eps
            self.affine = affine
            self.subtract_last = subtract_last
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
            if self.subtract_last:
                self.last = x[:, -1, :].unsqueeze(1)
            else:
                self.mean = torch.mean(x, dim=dim2reduce, keepdim=True).detach()
            self.stdev = torch.sqrt(
                torch.var(x, dim=dim2reduce, keepdim=True, unbiased=False) + self.eps
            ).detach()

        def _normalize(self, x: Any) -> Any:
            if self.subtract_last:
                x = x - self.last
            else:
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
            if self.subtract_last:
                x = x + self.last
            else:
                x = x + self.mean
            return x

    class Model(nn.Module):
        def __init__(self, configs: Any) -> None:
            super(Model, self).__init__()  # noqa: UP008
            self.seq_len = configs.seq_len
            self.pred_len = configs.pred_len
            self.enc_in = configs.enc_in
            self.d_model = configs.d_model
            self.dropout = configs.dropout
            self.rnn_type = configs.rnn_type
            self.dec_way = configs.dec_way
            self.seg_len = configs.seg_len
            self.channel_id = configs.channel_id
            self.revin = configs.revin
            assert self.rnn_type in ["rnn", "gru", "lstm"]
            assert self.dec_way in ["rmf", "pmf"]
            self.seg_num_x = self.seq_len // self.seg_len
            self.valueEmbedding = nn.Sequential(nn.Linear(self.seg_len, self.d_model), nn.ReLU())
            if self.rnn_type == "rnn":
                self.rnn = nn.RNN(input_size=self.d_model, hidden_size=self.d_model,
                                  num_layers=1, bias=True, batch_first=True,
                                  bidirectional=False)  # fmt: skip
            elif self.rnn_type == "gru":
                self.rnn = nn.GRU(input_size=self.d_model, hidden_size=self.d_model,
                                  num_layers=1, bias=True, batch_first=True,
                                  bidirectional=False)  # fmt: skip
            elif self.rnn_type == "lstm":
                self.rnn = nn.LSTM(input_size=self.d_model, hidden_size=self.d_model,
                                   num_layers=1, bias=True, batch_first=True,
                                   bidirectional=False)  # fmt: skip
            if self.dec_way == "rmf":
                self.seg_num_y = self.pred_len // self.seg_len
                self.predict = nn.Sequential(
                    nn.Dropout(self.dropout), nn.Linear(self.d_model, self.seg_len)
                )
            elif self.dec_way == "pmf":
                self.seg_num_y = self.pred_len // self.seg_len
                if self.channel_id:
                    self.pos_emb = nn.Parameter(torch.randn(self.seg_num_y, self.d_model // 2))
                    self.channel_emb = nn.Parameter(torch.randn(self.enc_in, self.d_model // 2))
                else:
                    self.pos_emb = nn.Parameter(torch.randn(self.seg_num_y, self.d_model))
                self.predict = nn.Sequential(
                    nn.Dropout(self.dropout), nn.Linear(self.d_model, self.seg_len)
                )
            if self.revin:
                self.revinLayer = RevIN(self.enc_in, affine=True,
                                        subtract_last=configs.subtract_last)  # fmt: skip

        def forward(self, x: Any) -> Any:
            batch_size = x.size(0)
            if self.revin:
                x = self.revinLayer(x, "norm").permute(0, 2, 1)
            else:
                seq_last = x[:, -1:, :].detach()
                x = (x - seq_last).permute(0, 2, 1)  # b,c,s
            x = self.valueEmbedding(x.reshape(-1, self.seg_num_x, self.seg_len))
            if self.rnn_type == "lstm":
                _, (hn, cn) = self.rnn(x)
            else:
                _, hn = self.rnn(x)  # bc,n,d  1,bc,d
            if self.dec_way == "rmf":
                y = []
                for _i in range(self.seg_num_y):
                    yy = self.predict(hn)  # 1,bc,l
                    yy = yy.permute(1, 0, 2)  # bc,1,l
                    y.append(yy)
                    yy = self.valueEmbedding(yy)
                    if self.rnn_type == "lstm":
                        _, (hn, cn) = self.rnn(yy, (hn, cn))
                    else:
                        _, hn = self.rnn(yy, hn)
                y = torch.stack(y, dim=1).squeeze(2).reshape(-1, self.enc_in, self.pred_len)
            elif self.dec_way == "pmf":
                if self.channel_id:
                    pos_emb = (
                        torch.cat(
                            [
                                self.pos_emb.unsqueeze(0).repeat(self.enc_in, 1, 1),
                                self.channel_emb.unsqueeze(1).repeat(1, self.seg_num_y, 1),
                            ],
                            dim=-1,
                        )
                        .view(-1, 1, self.d_model)
                        .repeat(batch_size, 1, 1)
                    )
                else:
                    pos_emb = self.pos_emb.repeat(batch_size * self.enc_in, 1).unsqueeze(1)
                if self.rnn_type == "lstm":
                    _, (hy, cy) = self.rnn(
                        pos_emb,
                        (
                            hn.repeat(1, 1, self.seg_num_y).view(1, -1, self.d_model),
                            cn.repeat(1, 1, self.seg_num_y).view(1, -1, self.d_model),
                        ),
                    )
                else:
                    _, hy = self.rnn(
                        pos_emb, hn.repeat(1, 1, self.seg_num_y).view(1, -1, self.d_model)
                    )
                y = self.predict(hy).view(-1, self.enc_in, self.pred_len)
            if self.revin:
                y = self.revinLayer(y.permute(0, 2, 1), "denorm")
            else:
                y = y.permute(0, 2, 1) + seq_last
            return y

    return Model, RevIN


def make_model(torch_like: Any) -> Any:
    Model, _ = _classes(torch_like)
    return torch_like.nn.ModuleDict({k: Model(Configs(**c)) for k, c in CONFIGS.items()})


def _windows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(SEQ_LEN + PRED_LEN)[None, :, None] + rng.integers(0, 50, (n, 1, 1))
    series = np.sin(t / np.array([2.0, 3.0, 5.0])) + 0.1 * rng.standard_normal(
        (n, SEQ_LEN + PRED_LEN, ENC_IN)
    )
    return series[:, :SEQ_LEN], series[:, SEQ_LEN - 2 :]  # batch_y holds label_len + pred_len


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    rng = np.random.default_rng(720)
    values: list[float] = []
    train_epochs, train_steps, learning_rate = 2, 2, 0.01
    for name, model in models.items():
        features = "MS" if name == "rnn_pmf" else "M"
        criterion = nn.L1Loss() if name.startswith("lstm") else nn.MSELoss()
        model_optim = torch.optim.Adam(model.parameters(), lr=learning_rate)
        scheduler = None
        if name != "lstm_rmf":
            scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer=model_optim,
                steps_per_epoch=train_steps,
                pct_start=0.3,
                epochs=train_epochs,
                max_lr=learning_rate,
            )
        for epoch in range(train_epochs):
            model.train()
            for _i in range(train_steps):
                batch_x, batch_y = (as_tensor(torch, a).float() for a in _windows(rng, BATCH))
                model_optim.zero_grad()
                outputs = model(batch_x)
                f_dim = -1 if features == "MS" else 0
                outputs = outputs[:, -PRED_LEN:, f_dim:]
                batch_y = batch_y[:, -PRED_LEN:, f_dim:]
                loss = criterion(outputs, batch_y)
                values.append(loss.item())
                loss.backward()
                model_optim.step()
                if scheduler is not None:
                    scheduler.step()
            if scheduler is None:  # adjust_learning_rate, lradj 'type1'
                lr_adjust = {epoch + 1: learning_rate * (0.5 ** ((epoch + 1 - 1) // 1))}
                if epoch + 1 in lr_adjust.keys():
                    lr = lr_adjust[epoch + 1]
                    for param_group in model_optim.param_groups:
                        param_group["lr"] = lr
            values.append(model_optim.param_groups[0]["lr"])
        with tempfile.TemporaryDirectory() as path:
            torch.save(model.state_dict(), path + "/" + "checkpoint.pth")
            best_model_path = str(Path(path) / "checkpoint.pth")
            model.load_state_dict(torch.load(best_model_path))
        model.eval()
        with torch.no_grad():
            batch_x, batch_y = (as_tensor(torch, a).float() for a in _windows(rng, 2))
            pred = model(batch_x)[:, -PRED_LEN:, :]
            values.append(float(torch.mean(torch.abs(pred - batch_y[:, -PRED_LEN:, :]))))
    return values
