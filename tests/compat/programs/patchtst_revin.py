"""PatchTST ("A Time Series is Worth 64 Words", Nie et al. 2023) for forecasting as the official
repo writes it (``PatchTST_supervised/layers/RevIN.py``, ``layers/PatchTST_backbone.py``,
``models/PatchTST.py``, ``exp/exp_main.py``), with the encoder from ``nn.TransformerEncoder``
as in the PyTorch ports, size-reduced.

The idioms: ``RevIN`` (``forward(x, mode)`` dispatching on ``'norm'``/``'denorm'`` and raising
``NotImplementedError`` otherwise; ``_get_statistics`` with ``dim2reduce = tuple(range(1,
x.ndim - 1))``, ``torch.mean(..., keepdim=True).detach()``, ``torch.sqrt(torch.var(x,
dim=dim2reduce, keepdim=True, unbiased=False) + self.eps).detach()`` and ``subtract_last``'s
``x[:, -1, :].unsqueeze(1)``; the affine ``x * self.affine_weight + self.affine_bias`` undone as
``(x - self.affine_bias) / (self.affine_weight + self.eps * self.eps)``); the backbone's
``x.permute(0, 2, 1)``, the end padding ``nn.ReplicationPad1d((0, stride))``, patching with
``z.unfold(dimension=-1, size=patch_len, step=stride)`` and ``.permute(0, 1, 3, 2)``; channel
independence by ``torch.reshape(x, (x.shape[0] * x.shape[1], x.shape[2], x.shape[3]))`` after
the patch embedding ``W_P``, a learnable ``W_pos`` (``nn.init.uniform_(W_pos, -0.02, 0.02)``),
``nn.TransformerEncoder(nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout,
batch_first=True, activation="gelu"), n_layers)`` and the reshape back to ``(-1, n_vars, ...)``;
the ``Flatten_Head`` (``nn.Flatten(start_dim=-2)``, ``nn.Linear(nf, target_window)``); and
``exp_main``'s loop (``nn.MSELoss()``, ``optim.Adam``, ``outputs[:, -self.args.pred_len:,
f_dim:]``, ``model.eval()`` with ``torch.no_grad()`` for the validation loss).

Changed: sizes (3 variables, look-back 16, horizon 4, patches of 4 with stride 2, d_model 8,
2 heads, 2 layers, 4 steps on a synthetic seasonal series); dropout is 0 so both frameworks
draw nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

N_VARS, SEQ_LEN, PRED_LEN, PATCH, STRIDE = 3, 16, 4, 4, 2
D_MODEL, HEADS, D_FF, LAYERS, BATCH, STEPS, LR = 8, 2, 16, 2, 4, 4, 1e-3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class RevIN(nn.Module):
        def __init__(
            self, num_features: int, eps: float = 1e-5, affine: bool = True, subtract_last=False
        ) -> None:
            super().__init__()
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
            x = x - self.last if self.subtract_last else x - self.mean
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
            x = x + self.last if self.subtract_last else x + self.mean
            return x

    class Flatten_Head(nn.Module):
        def __init__(self, nf: int, target_window: int, head_dropout: float = 0.0) -> None:
            super().__init__()
            self.flatten = nn.Flatten(start_dim=-2)
            self.linear = nn.Linear(nf, target_window)
            self.dropout = nn.Dropout(head_dropout)

        def forward(self, x: Any) -> Any:  # x: [bs x nvars x d_model x patch_num]
            x = self.flatten(x)
            x = self.linear(x)
            return self.dropout(x)

    class TSTiEncoder(nn.Module):
        def __init__(self, patch_num: int, patch_len: int) -> None:
            super().__init__()
            self.W_P = nn.Linear(patch_len, D_MODEL)
            self.W_pos = nn.Parameter(torch.empty((patch_num, D_MODEL)))
            nn.init.uniform_(self.W_pos, -0.02, 0.02)
            self.dropout = nn.Dropout(0.0)
            layer = nn.TransformerEncoderLayer(
                D_MODEL, HEADS, D_FF, dropout=0.0, activation="gelu", batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, LAYERS)

        def forward(self, x: Any) -> Any:  # x: [bs x nvars x patch_len x patch_num]
            n_vars = x.shape[1]
            x = x.permute(0, 1, 3, 2)  # [bs x nvars x patch_num x patch_len]
            x = self.W_P(x)  # [bs x nvars x patch_num x d_model]
            u = torch.reshape(x, (x.shape[0] * x.shape[1], x.shape[2], x.shape[3]))
            u = self.dropout(u + self.W_pos)
            z = self.encoder(u)  # [bs * nvars x patch_num x d_model]
            z = torch.reshape(z, (-1, n_vars, z.shape[-2], z.shape[-1]))
            return z.permute(0, 1, 3, 2)  # [bs x nvars x d_model x patch_num]

    class PatchTST_backbone(nn.Module):
        def __init__(self, c_in: int, context_window: int, target_window: int) -> None:
            super().__init__()
            self.revin_layer = RevIN(c_in, affine=True, subtract_last=False)
            self.patch_len = PATCH
            self.stride = STRIDE
            patch_num = int((context_window - PATCH) / STRIDE + 1)
            self.padding_patch_layer = nn.ReplicationPad1d((0, STRIDE))
            patch_num += 1
            self.backbone = TSTiEncoder(patch_num, PATCH)
            self.head_nf = D_MODEL * patch_num
            self.head = Flatten_Head(self.head_nf, target_window)

        def forward(self, z: Any) -> Any:  # z: [bs x nvars x seq_len]
            z = z.permute(0, 2, 1)
            z = self.revin_layer(z, "norm")
            z = z.permute(0, 2, 1)
            z = self.padding_patch_layer(z)
            z = z.unfold(dimension=-1, size=self.patch_len, step=self.stride)
            z = z.permute(0, 1, 3, 2)  # [bs x nvars x patch_len x patch_num]
            z = self.backbone(z)
            z = self.head(z)  # [bs x nvars x target_window]
            z = z.permute(0, 2, 1)
            z = self.revin_layer(z, "denorm")
            return z.permute(0, 2, 1)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = PatchTST_backbone(N_VARS, SEQ_LEN, PRED_LEN)

        def forward(self, x: Any) -> Any:  # x: [Batch, Input length, Channel]
            x = x.permute(0, 2, 1)
            x = self.model(x)
            return x.permute(0, 2, 1)  # [Batch, Output length, Channel]

    return Model()


def make_batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seasonal series with per-window level and scale (what RevIN removes)."""
    t0 = rng.integers(0, 50, (BATCH, 1, 1))
    t = t0 + np.arange(SEQ_LEN + PRED_LEN)[None, :, None]
    period = np.array([4.0, 6.0, 8.0])[None, None, :]
    level = rng.normal(0.0, 5.0, (BATCH, 1, N_VARS))
    scale = rng.uniform(0.5, 3.0, (BATCH, 1, N_VARS))
    series = level + scale * np.sin(2 * np.pi * t / period) + 0.1 * rng.standard_normal(t.shape)
    return series[:, :SEQ_LEN], series[:, SEQ_LEN:]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    rng = np.random.default_rng(13)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    revin = model.model.revin_layer

    # RevIN round trip, both statistics modes, and the unknown mode's error
    x = as_tensor(torch_like, rng.normal(3.0, 2.0, (2, SEQ_LEN, N_VARS)))
    with torch.no_grad():
        revin.affine_weight.mul_(1.5)
        normed = revin(x, "norm")
        back = revin(normed, "denorm")
        revin.affine_weight.div_(1.5)
        last = type(revin)(N_VARS, subtract_last=True)
        normed_last = last(x, "norm")
    try:
        revin(x, "scale")
        raised = 0.0
    except NotImplementedError:
        raised = 1.0
    patches = nn.ReplicationPad1d((0, STRIDE))(x.permute(0, 2, 1)).unfold(-1, PATCH, STRIDE)
    values = [
        float(torch.allclose(back, x, atol=1e-9)),
        raised,
        *normed[0].var(0, unbiased=False).tolist(),
        *normed_last[1, -1].tolist(),
        *patches.shape,
        *patches[0, 1, -1].tolist(),
    ]

    criterion = nn.MSELoss()
    model_optim = torch.optim.Adam(model.parameters(), lr=LR)
    f_dim = 0
    for _step in range(STEPS):
        batch_x, batch_y = (as_tensor(torch_like, a) for a in make_batch(rng))
        model.train()
        model_optim.zero_grad()
        outputs = model(batch_x)
        outputs = outputs[:, -PRED_LEN:, f_dim:]
        batch_y = batch_y[:, -PRED_LEN:, f_dim:]
        loss = criterion(outputs, batch_y)
        loss.backward()
        model_optim.step()
        values.append(loss.item())

    model.eval()
    with torch.no_grad():
        batch_x, batch_y = (as_tensor(torch_like, a) for a in make_batch(rng))
        pred = model(batch_x)
        values += [criterion(pred, batch_y).item(), *pred[0, :, 2].tolist()]
    return values


def check(values: list[float]) -> None:
    """RevIN's denorm inverted its norm and an unknown mode raised NotImplementedError."""
    assert values[:2] == [1.0, 1.0], values[:2]
