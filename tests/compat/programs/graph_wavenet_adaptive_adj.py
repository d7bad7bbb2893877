"""Graph WaveNet (Wu et al. 2019) for traffic forecasting as nnzhan/Graph-WaveNet's ``model.py``,
``util.py`` and ``engine.py`` write it, size-reduced.

The idioms: ``nconv`` as ``torch.einsum('ncvl,vw->ncwl', (x, A))`` then ``.contiguous()``;
``linear`` as a ``Conv2d`` with ``kernel_size=(1, 1)``; ``gcn`` concatenating the diffusion steps
(``x1 = self.nconv(x, a)``, ``x2 = self.nconv(x1, a)`` for ``order=2``, ``torch.cat(out,
dim=1)``, ``F.dropout(h, self.dropout, training=self.training)``); the adaptive adjacency
``F.softmax(F.relu(torch.mm(self.nodevec1, self.nodevec2)), dim=1)`` from
``nn.Parameter(torch.randn(num_nodes, 10))``-style node embeddings, appended to the fixed
``supports`` (the random-walk forward and backward transition matrices ``asym_adj``:
``d_inv = np.power(rowsum, -1).flatten()``, ``d_inv[np.isinf(d_inv)] = 0.``); the model
(``nn.functional.pad(input, (self.receptive_field - in_len, 0, 0, 0))``, ``start_conv``, the
dilated gated TCN ``filter = torch.tanh(self.filter_convs[i](residual))`` times ``gate =
torch.sigmoid(self.gate_convs[i](residual))`` with ``kernel_size=(1, 2)`` and ``dilation``
doubling inside each block, skips cut to the current length ``skip = skip[:, :, :,
-s.size(3):]`` (the first ``skip = 0`` caught by ``except``), ``x = x + residual[:, :, :,
-x.size(3):]``, ``nn.BatchNorm2d``, ``F.relu(skip)``, ``end_conv_1``/``end_conv_2``, the output
``.transpose(1, 3)``); the data ``StandardScaler`` (``inverse_transform``); and ``engine.train``:
``Adam(lr, weight_decay)``, ``nn.functional.pad(input, (1, 0, 0, 0))``, ``real =
torch.unsqueeze(real_val, dim=1)``, ``predict = self.scaler.inverse_transform(output)``, the
masked MAE (``mask = (labels != null_val)`` or ``~torch.isnan(labels)``, ``mask /=
torch.mean(mask)``, ``mask = torch.where(torch.isnan(mask), torch.zeros_like(mask), mask)``,
``loss = torch.abs(preds - labels) * mask`` with the same ``torch.where`` on ``loss``),
``torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)``, and the masked MAPE and
RMSE metrics reported next to it.

Changed: METR-LA -> 6 sensors of synthetic daily-cycle speeds, 5 input / 4 output steps (so the
receptive field of 7 pads the input on the left), the
channels 4 to 8 wide, 2 blocks of 2 layers; the missing readings are written as 0 (METR-LA's
convention, ``null_val=0.0``) and a few as NaN to exercise both masks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NODES, IN_LEN, OUT_LEN, BATCH, STEPS, CLIP = 6, 5, 4, 4, 3, 5.0
RES, DIL, SKIP, END, BLOCKS, LAYERS = 4, 4, 8, 8, 2, 2


def _adjacency() -> np.ndarray:
    rng = np.random.default_rng(21)
    adj = (rng.random((NODES, NODES)) < 0.4) * rng.uniform(0.2, 1.0, (NODES, NODES))
    adj[3, :] = 0.0  # a sensor with no outgoing edges: its degree's inverse is inf, set to 0
    return adj


def asym_adj(adj: np.ndarray) -> np.ndarray:
    rowsum = np.array(adj.sum(1))
    with np.errstate(divide="ignore"):
        d_inv = np.power(rowsum, -1).flatten()
    d_inv[np.isinf(d_inv)] = 0.0
    d_mat = np.diag(d_inv)
    return d_mat.dot(adj).astype(np.float64)


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class nconv(nn.Module):
        def forward(self, x: Any, A: Any) -> Any:
            x = torch.einsum("ncvl,vw->ncwl", (x, A))
            return x.contiguous()

    class linear(nn.Module):
        def __init__(self, c_in: int, c_out: int) -> None:
            super().__init__()
            self.mlp = torch.nn.Conv2d(
                c_in, c_out, kernel_size=(1, 1), padding=(0, 0), stride=(1, 1), bias=True
            )

        def forward(self, x: Any) -> Any:
            return self.mlp(x)

    class gcn(nn.Module):
        def __init__(
            self, c_in: int, c_out: int, dropout: float, support_len: int = 3, order: int = 2
        ) -> None:
            super().__init__()
            self.nconv = nconv()
            c_in = (order * support_len + 1) * c_in
            self.mlp = linear(c_in, c_out)
            self.dropout = dropout
            self.order = order

        def forward(self, x: Any, support: list) -> Any:
            out = [x]
            for a in support:
                x1 = self.nconv(x, a)
                out.append(x1)
                for _k in range(2, self.order + 1):
                    x2 = self.nconv(x1, a)
                    out.append(x2)
                    x1 = x2
            h = torch.cat(out, dim=1)
            h = self.mlp(h)
            h = F.dropout(h, self.dropout, training=self.training)
            return h

    class gwnet(nn.Module):
        def __init__(
            self, num_nodes: int, dropout: float = 0.3, supports: Any = None, in_dim: int = 2
        ) -> None:
            super().__init__()
            self.dropout = dropout
            self.blocks = BLOCKS
            self.layers = LAYERS
            self.filter_convs = nn.ModuleList()
            self.gate_convs = nn.ModuleList()
            self.residual_convs = nn.ModuleList()
            self.skip_convs = nn.ModuleList()
            self.bn = nn.ModuleList()
            self.gconv = nn.ModuleList()
            self.start_conv = nn.Conv2d(in_channels=in_dim, out_channels=RES, kernel_size=(1, 1))
            self.supports = supports
            receptive_field = 1
            self.supports_len = len(supports) + 1
            self.nodevec1 = nn.Parameter(torch.randn(num_nodes, 5), requires_grad=True)
            self.nodevec2 = nn.Parameter(torch.randn(5, num_nodes), requires_grad=True)
            for _b in range(self.blocks):
                additional_scope = 2 - 1
                new_dilation = 1
                for _i in range(self.layers):
                    self.filter_convs.append(
                        nn.Conv2d(RES, DIL, kernel_size=(1, 2), dilation=new_dilation)
                    )
                    self.gate_convs.append(
                        nn.Conv2d(RES, DIL, kernel_size=(1, 2), dilation=new_dilation)
                    )
                    self.residual_convs.append(nn.Conv2d(DIL, RES, kernel_size=(1, 1)))
                    self.skip_convs.append(nn.Conv2d(DIL, SKIP, kernel_size=(1, 1)))
                    self.bn.append(nn.BatchNorm2d(RES))
                    new_dilation *= 2
                    receptive_field += additional_scope
                    additional_scope *= 2
                    self.gconv.append(gcn(DIL, RES, dropout, support_len=self.supports_len))
            self.end_conv_1 = nn.Conv2d(SKIP, END, kernel_size=(1, 1), bias=True)
            self.end_conv_2 = nn.Conv2d(END, OUT_LEN, kernel_size=(1, 1), bias=True)
            self.receptive_field = receptive_field

        def forward(self, input: Any) -> Any:
            in_len = input.size(3)
            if in_len < self.receptive_field:
                x = nn.functional.pad(input, (self.receptive_field - in_len, 0, 0, 0))
            else:
                x = input
            x = self.start_conv(x)
            skip = 0
            adp = F.softmax(F.relu(torch.mm(self.nodevec1, self.nodevec2)), dim=1)
            new_supports = self.supports + [adp]
            for i in range(self.blocks * self.layers):
                residual = x
                filter = self.filter_convs[i](residual)
                filter = torch.tanh(filter)
                gate = self.gate_convs[i](residual)
                gate = torch.sigmoid(gate)
                x = filter * gate
                s = x
                s = self.skip_convs[i](s)
                try:
                    skip = skip[:, :, :, -s.size(3) :]
                except TypeError:  # the first layer's skip is the number 0
                    skip = 0
                skip = s + skip
                x = self.gconv[i](x, new_supports)
                x = x + residual[:, :, :, -x.size(3) :]
                x = self.bn[i](x)
            x = F.relu(skip)
            x = F.relu(self.end_conv_1(x))
            x = self.end_conv_2(x)
            return x

    return gwnet


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    supports = [as_tensor(torch, asym_adj(a)) for a in (_adjacency(), _adjacency().T)]
    return _classes(torch_like)(NODES, dropout=0.0, supports=supports)


class StandardScaler:
    def __init__(self, mean: float, std: float) -> None:
        self.mean, self.std = mean, std

    def transform(self, data: Any) -> Any:
        return (data - self.mean) / self.std

    def inverse_transform(self, data: Any) -> Any:
        return (data * self.std) + self.mean


def masked_mae(torch_like: Any, preds: Any, labels: Any, null_val: float = float("nan")) -> Any:
    torch = torch_like
    if np.isnan(null_val):
        mask = ~torch.isnan(labels)
    else:
        mask = labels != null_val
    mask = mask.float()
    mask /= torch.mean(mask)
    mask = torch.where(torch.isnan(mask), torch.zeros_like(mask), mask)
    loss = torch.abs(preds - labels)
    loss = loss * mask
    loss = torch.where(torch.isnan(loss), torch.zeros_like(loss), loss)
    return torch.mean(loss)


def masked_mape(torch_like: Any, preds: Any, labels: Any, null_val: float = float("nan")) -> Any:
    torch = torch_like
    mask = ~torch.isnan(labels) if np.isnan(null_val) else labels != null_val
    mask = mask.float()
    mask /= torch.mean(mask)
    mask = torch.where(torch.isnan(mask), torch.zeros_like(mask), mask)
    loss = torch.abs(preds - labels) / labels
    loss = loss * mask
    loss = torch.where(torch.isnan(loss), torch.zeros_like(loss), loss)
    return torch.mean(loss)


def masked_rmse(torch_like: Any, preds: Any, labels: Any, null_val: float = float("nan")) -> Any:
    torch = torch_like
    mask = ~torch.isnan(labels) if np.isnan(null_val) else labels != null_val
    mask = mask.float()
    mask /= torch.mean(mask)
    mask = torch.where(torch.isnan(mask), torch.zeros_like(mask), mask)
    loss = (preds - labels) ** 2
    loss = loss * mask
    loss = torch.where(torch.isnan(loss), torch.zeros_like(loss), loss)
    return torch.sqrt(torch.mean(loss))


def _data() -> tuple[np.ndarray, np.ndarray]:
    """Speeds with a daily cycle per sensor, plus the time-of-day channel; some readings 0."""
    rng = np.random.default_rng(4)
    total = IN_LEN + OUT_LEN + BATCH
    t = np.arange(total)
    tod = (t % 12) / 12.0
    phase = rng.uniform(0, 2 * np.pi, NODES)
    speed = 55 + 10 * np.sin(2 * np.pi * tod[:, None] + phase) + rng.normal(0, 1, (total, NODES))
    speed[rng.random((total, NODES)) < 0.08] = 0.0
    xs, ys = [], []
    for b in range(BATCH):
        window = speed[b : b + IN_LEN]
        xs.append(np.stack([window, np.repeat(tod[b : b + IN_LEN, None], NODES, 1)], -1))
        ys.append(speed[b + IN_LEN : b + IN_LEN + OUT_LEN])
    return np.array(xs), np.array(ys)  # (B, T, N, 2), (B, T_out, N)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    x_np, y_np = _data()
    scaler = StandardScaler(mean=x_np[..., 0].mean(), std=x_np[..., 0].std())
    x_np[..., 0] = scaler.transform(x_np[..., 0])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    trainx = as_tensor(torch, x_np).transpose(1, 3)  # (B, 2, N, T)
    trainy = as_tensor(torch, y_np).transpose(1, 2)  # (B, N, T_out)
    values: list[float] = []

    for _step in range(STEPS):
        model.train()
        optimizer.zero_grad()
        input = torch.nn.functional.pad(trainx, (1, 0, 0, 0))
        output = model(input)
        output = output.transpose(1, 3)  # (B, 1, N, T_out)
        real = torch.unsqueeze(trainy, dim=1)
        predict = scaler.inverse_transform(output)
        loss = masked_mae(torch, predict, real, 0.0)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        mape = masked_mape(torch, predict, real, 0.0).item()
        rmse = masked_rmse(torch, predict, real, 0.0).item()
        values += [loss.item(), mape, rmse, model.nodevec1.grad.norm().item()]
        values += [model.filter_convs[3].weight.grad.abs().sum().item()]

    model.eval()
    with torch.no_grad():
        output = model(torch.nn.functional.pad(trainx, (1, 0, 0, 0))).transpose(1, 3)
        predict = scaler.inverse_transform(output)
        real = torch.unsqueeze(trainy, dim=1)
        real_nan = torch.where(real == 0, torch.full_like(real, float("nan")), real)
        values += [masked_mae(torch, predict, real, 0.0).item()]
        values += [masked_mae(torch, predict, real_nan).item()]
        values += [masked_rmse(torch, predict, real_nan).item()]
        adp = torch.softmax(torch.relu(torch.mm(model.nodevec1, model.nodevec2)), dim=1)
        values += adp.sum(0).tolist() + [model.receptive_field]
    return values
