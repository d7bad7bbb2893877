"""Conformalized quantile regression (Romano et al. 2019) as yromano/cqr writes it
(``cqr/torch_models.py``: ``AllQuantileLoss``, ``all_q_model``, ``epoch_internal_train``,
``rearrange``, ``LearnerOptimizedCrossing.fit``/``predict``; ``cqr/helper.py``:
``AllQNet_RegressorAdapter``; nonconformist's ``QuantileRegErrFunc`` and ``IcpRegressor``
calibration), size-reduced.

Kept verbatim: the pinball loss ``torch.max((q-1) * errors, q * errors).unsqueeze(1)`` summed
with ``torch.mean(torch.sum(torch.cat(losses, dim=1), dim=1))`` after ``assert not
target.requires_grad``; ``all_q_model``'s ``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``/
``nn.Dropout`` with ``nn.init.orthogonal_(m.weight)`` and ``nn.init.constant_(m.bias, 0)``
over ``self.base_model``, and ``torch.squeeze(self.base_model(x))``;
``epoch_internal_train``'s shuffle of torch tensors by a NumPy index array (``x_train =
x_train[shuffle_idx]``), the minibatch slices ``x_train[idx : min(idx + batch_size,
x_train.shape[0]),:]`` and ``epoch_losses.append(loss.cpu().detach().numpy())``; ``fit``'s
``torch.from_numpy(x).float().requires_grad_(False)``, the train/validation split, the
validation loss under ``model.eval()`` and the best model kept with ``copy.deepcopy(
self.model)``; ``torch.optim.Adam(self.model.parameters(), lr=lr, weight_decay=wd)``;
``predict``'s ``self.model(torch.from_numpy(x).to(self.device).requires_grad_(False))
.cpu().detach().numpy()`` and the NumPy ``rearrange`` of crossing quantiles; the split-conformal
calibration ``np.maximum(y_lower - y, y - y_upper)`` with the ``ceil((n + 1) * (1 -
alpha))``-th score.

Changed: 64 hidden units -> 8, 1000 epochs with early stopping -> 4, batch 64 -> 16, a
synthetic heteroscedastic 1-d regression of 120 points instead of the UCI data sets, the
quantiles (0.05, 0.95) -> (0.1, 0.5, 0.9); ``np.random.shuffle`` from a seeded generator.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["DTYPE", "make_model", "run"]

DTYPE = "float32"  # torch.from_numpy(x).float(), as the repository
QUANTILES = [0.1, 0.5, 0.9]


def _model(torch_like: Any) -> type:
    nn = torch_like.nn
    torch = torch_like

    class all_q_model(nn.Module):  # noqa: N801 (as in the repository)
        """Conditional quantile estimator, formulated as neural net"""

        def __init__(self, quantiles, in_shape=1, hidden_size=64, dropout=0.5):  # noqa: ANN001
            super().__init__()
            self.quantiles = quantiles
            self.num_quantiles = len(quantiles)
            self.hidden_size = hidden_size
            self.in_shape = in_shape
            self.out_shape = len(quantiles)
            self.dropout = dropout
            self.build_model()
            self.init_weights()

        def build_model(self):  # noqa: ANN201
            """Construct the network"""
            self.base_model = nn.Sequential(
                nn.Linear(self.in_shape, self.hidden_size),
                nn.ReLU(),
                nn.Dropout(self.dropout),
                nn.Linear(self.hidden_size, self.hidden_size),
                nn.ReLU(),
                nn.Dropout(self.dropout),
                nn.Linear(self.hidden_size, self.num_quantiles),
            )

        def init_weights(self):  # noqa: ANN201
            """Initialize the network parameters"""
            for m in self.base_model:
                if isinstance(m, nn.Linear):
                    nn.init.orthogonal_(m.weight)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):  # noqa: ANN001, ANN201
            """Run forward pass"""
            return torch.squeeze(self.base_model(x))

    return all_q_model


def make_model(torch_like: Any) -> Any:
    return _model(torch_like)(QUANTILES, in_shape=1, hidden_size=8, dropout=0.1)


def rearrange(all_quantiles, quantile_low, quantile_high, test_preds):  # noqa: ANN001, ANN201
    """Produce monotonic quantiles (Chernozhukov et al.'s rearrangement)"""
    scaling = all_quantiles[-1] - all_quantiles[0]
    low_val = (quantile_low - all_quantiles[0]) / scaling
    high_val = (quantile_high - all_quantiles[0]) / scaling
    q_fixed = np.quantile(test_preds, (low_val, high_val), method="linear", axis=1)
    return q_fixed.T


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn = torch.nn
    rng = np.random.default_rng(17)
    x_all = rng.uniform(0, 5, (120, 1)).astype(np.float32)
    y_all = (np.sin(x_all[:, 0]) + (0.1 + 0.3 * x_all[:, 0]) * rng.normal(size=120)).astype(
        np.float32
    )
    x_train, y_train = x_all[:60], y_all[:60]
    x_cal, y_cal = x_all[60:90], y_all[60:90]
    x_test, y_test = x_all[90:], y_all[90:]

    class AllQuantileLoss(nn.Module):
        """Pinball loss function"""

        def __init__(self, quantiles):  # noqa: ANN001
            super().__init__()
            self.quantiles = quantiles

        def forward(self, preds, target):  # noqa: ANN001, ANN201
            assert not target.requires_grad
            assert preds.size(0) == target.size(0)
            losses = []

            for i, q in enumerate(self.quantiles):
                errors = target - preds[:, i]
                losses.append(torch.max((q - 1) * errors, q * errors).unsqueeze(1))

            loss = torch.mean(torch.sum(torch.cat(losses, dim=1), dim=1))
            return loss

    def epoch_internal_train(model, loss_func, x_train, y_train, batch_size, optimizer, cnt=0,
                             best_cnt=np.inf):  # noqa: ANN001, ANN202 # fmt: skip
        model.train()
        shuffle_idx = np.arange(x_train.shape[0])
        rng.shuffle(shuffle_idx)
        x_train = x_train[shuffle_idx]
        y_train = y_train[shuffle_idx]
        epoch_losses = []
        for idx in range(0, x_train.shape[0], batch_size):
            cnt = cnt + 1
            optimizer.zero_grad()
            batch_x = x_train[idx : min(idx + batch_size, x_train.shape[0]), :]
            batch_y = y_train[idx : min(idx + batch_size, y_train.shape[0])]
            preds = model(batch_x)
            loss = loss_func(preds, batch_y)
            loss.backward()
            optimizer.step()
            epoch_losses.append(loss.cpu().detach().numpy())

            if cnt >= best_cnt:
                break

        epoch_loss = np.mean(epoch_losses)

        return epoch_loss, cnt

    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    loss_func = AllQuantileLoss(QUANTILES)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-6)

    # fit: a train/validation split, the best model by validation loss kept
    idx = rng.permutation(len(x_train))
    n_val = 12
    xx = torch.from_numpy(x_train[idx[n_val:]]).float().requires_grad_(False)
    yy = torch.from_numpy(y_train[idx[n_val:]]).float().requires_grad_(False)
    xx_val = torch.from_numpy(x_train[idx[:n_val]]).float().requires_grad_(False)
    yy_val = torch.from_numpy(y_train[idx[:n_val]]).float().requires_grad_(False)
    best_epoch, best_val_loss, best_model = 0, np.inf, None
    values: list[float] = []
    for e in range(4):
        epoch_loss, _ = epoch_internal_train(model, loss_func, xx, yy, 16, optimizer)
        model.eval()
        preds = model(xx_val)
        val_loss = loss_func(preds, yy_val).cpu().detach().numpy()
        if val_loss < best_val_loss:
            best_val_loss = val_loss
            best_epoch = e
            best_model = copy.deepcopy(model)
        values += [float(epoch_loss), float(val_loss)]
    model = best_model
    values.append(float(best_epoch))

    def predict(x):  # noqa: ANN001, ANN202
        model.eval()
        ret_val = model(torch.from_numpy(x).requires_grad_(False)).cpu().detach().numpy()
        return rearrange(QUANTILES, 0.1, 0.9, ret_val)

    # split conformal calibration (QuantileRegErrFunc) at alpha = 0.2
    pred_cal = predict(x_cal)
    scores = np.maximum(pred_cal[:, 0] - y_cal, y_cal - pred_cal[:, 1])
    alpha = 0.2
    k = int(np.ceil((len(scores) + 1) * (1 - alpha)))
    q_hat = np.sort(scores)[min(k, len(scores)) - 1]
    pred_test = predict(x_test)
    lower, upper = pred_test[:, 0] - q_hat, pred_test[:, 1] + q_hat
    coverage = np.mean((y_test >= lower) & (y_test <= upper))
    values += [float(q_hat), float(np.mean(upper - lower)), float(coverage)]
    return values
