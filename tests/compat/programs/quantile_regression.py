"""Quantile regression with the pinball loss, as the widely copied PyTorch quantile-regression
notebooks and forecasting libraries (pytorch-forecasting's ``QuantileLoss``) write it,
size-reduced, with the calibration checks that go with it.

The loss, per quantile ``q``: ``errors = target - preds[:, i]``, ``torch.max((q - 1) * errors,
q * errors).unsqueeze(1)``, ``torch.mean(torch.sum(torch.cat(losses, dim=1), dim=1))``; an MLP
with one output per quantile trained by ``Adam``, the quantile crossings repaired with
``torch.sort(preds, dim=1)``. Calibration: ``torch.quantile`` of the residuals and of the data
(a tensor of ``q``, a float ``q``, ``dim=`` with and without ``keepdim``, every
``interpolation=``), ``torch.nanquantile`` of data with missing values, the empirical coverage
``(y <= preds[:, i]).float().mean()``, ``torch.argsort(stable=True)`` of tied scores,
``torch.searchsorted`` of predictions into sorted data (``right=`` and ``side=``, a scalar
value, ``out_int32``) and ``torch.bucketize`` into calibration bins (the reliability diagram's
``bin_ids``), bin counts with ``torch.histc(bins=..., min=..., max=...)`` and with
``torch.bincount``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

QUANTILES = (0.1, 0.5, 0.9)
N, IN, HIDDEN, STEPS = 40, 2, 16, 5
MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class QuantileNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU())
            self.final = nn.Linear(HIDDEN, len(QUANTILES))

        def forward(self, x: Any) -> Any:
            return self.final(self.base(x))

    return QuantileNet()


class QuantileLoss:
    def __init__(self, torch_like: Any, quantiles: tuple[float, ...]) -> None:
        self.torch = torch_like
        self.quantiles = quantiles

    def __call__(self, preds: Any, target: Any) -> Any:
        torch = self.torch
        assert not target.requires_grad
        assert preds.size(0) == target.size(0)
        losses = []
        for i, q in enumerate(self.quantiles):
            errors = target - preds[:, i]
            losses.append(torch.max((q - 1) * errors, q * errors).unsqueeze(1))
        return torch.mean(torch.sum(torch.cat(losses, dim=1), dim=1))


def quantile_stats(torch_like: Any, preds: Any, y: Any, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    values: list[float] = []
    qs = torch.tensor(QUANTILES, dtype=preds.dtype)
    for mode in MODES:
        values += torch.quantile(y, qs, interpolation=mode).tolist()
        per_col = torch.quantile(preds, 0.25, dim=0, keepdim=True, interpolation=mode)
        values += per_col.flatten().tolist() + [float(per_col.dim())]
        both = torch.quantile(preds, qs, dim=1)
        values += [float(s) for s in both.shape] + [both.sum().item()]
    residual = y - preds[:, 1]
    values += [residual.quantile(0.5).item(), torch.median(residual).item()]
    values += preds.quantile(qs, dim=0, keepdim=True).flatten().tolist()

    data = rng.standard_normal((3, 7))
    data[0, 2] = data[1, 5] = data[1, 6] = np.nan
    data[2, :] = np.nan
    holes = as_tensor(torch, data)
    for mode in MODES:
        nq = torch.nanquantile(holes, qs, dim=1, interpolation=mode)
        values += nq[:, :2].flatten().tolist() + [float(bool(nq[:, 2].isnan().all()))]
    values += [torch.nanquantile(holes[:2], 0.5).item(), float(torch.quantile(holes, 0.5).isnan())]

    for i, _q in enumerate(QUANTILES):
        values.append((y <= preds[:, i]).float().mean().item())
    scores = torch.round(preds[:, 1] * 2) / 2
    order = torch.argsort(scores, stable=True)
    s_values, s_idx = torch.sort(scores, stable=True, descending=True)
    values += order.tolist() + s_idx.tolist() + s_values[:5].tolist()

    sorted_y, _ = torch.sort(y)
    median_pred = preds[:, 1].contiguous()  # searchsorted warns on strided values
    values += torch.searchsorted(sorted_y, median_pred).tolist()
    values += torch.searchsorted(sorted_y, median_pred, right=True).tolist()
    values += torch.searchsorted(
        sorted_y, preds[:5, 0].contiguous(), side="right", out_int32=True
    ).tolist()
    values += [float(torch.searchsorted(sorted_y, 0.0).item())]
    rows = torch.sort(preds.t().contiguous(), dim=1)[0]
    batched = torch.searchsorted(rows, y[:4].expand(3, 4).contiguous())
    values += batched.flatten().tolist()

    probs = torch.sigmoid(preds[:, 1])
    edges = torch.linspace(0, 1, 6, dtype=probs.dtype)
    bin_ids = torch.bucketize(probs, edges[1:-1])
    bin_right = torch.bucketize(probs, edges, right=True)
    values += bin_ids.tolist() + bin_right.tolist()
    values += torch.bincount(bin_ids, minlength=5).tolist()
    values += torch.histc(probs, bins=5, min=0, max=1).tolist()
    values += torch.histc(residual, bins=4).tolist()
    bin_conf = torch.zeros(5, dtype=probs.dtype).scatter_add_(0, bin_ids, probs)
    values += bin_conf.tolist()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(19)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    x_np = rng.standard_normal((N, IN))
    y_np = x_np @ [1.0, -0.5] + (0.5 + 0.5 * np.abs(x_np[:, 0])) * rng.standard_normal(N)
    x, y = as_tensor(torch, x_np), as_tensor(torch, y_np)
    criterion = QuantileLoss(torch, QUANTILES)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    values: list[float] = []
    for _step in range(STEPS):
        optimizer.zero_grad()
        preds = model(x)
        loss = criterion(preds, y)
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.final.bias.grad.abs().sum().item()]
    model.eval()
    with torch.no_grad():
        preds, _ = torch.sort(model(x), dim=1)
    return values + quantile_stats(torch, preds, y, rng)


def check(values: list[float]) -> None:
    assert values[1] > 0.0  # the pinball loss reaches the quantile biases
