"""LSTNet (Lai et al., 2018) as laiguokun/LSTNet writes it (``models/LSTNet.py``'s ``Model``,
``utils.py``'s ``Data_utility``, ``Optim.py``'s clipping wrapper, ``main.py``'s ``train`` and
``evaluate``), size-reduced, with the Python 3 fork's ``int(...)`` for the skip length and
``.item()`` for ``.data[0]``.

The idioms: the CNN over the whole window ``nn.Conv2d(1, self.hidC, kernel_size = (self.Ck,
self.m))`` on ``x.view(-1, 1, self.P, self.m)`` then ``torch.squeeze(c, 3)``; the GRU on
``c.permute(2, 0, 1).contiguous()`` keeping only ``_, r = self.GRU1(r)`` and
``torch.squeeze(r,0)``; the skip-RNN reshapes ``c[:,:, int(-self.pt * self.skip):].
contiguous()``, ``s.view(batch_size, self.hidC, self.pt, self.skip)``, ``s.permute(2,0,3,1).
contiguous()``, ``s.view(self.pt, batch_size * self.skip, self.hidC)``, ``s.view(batch_size,
self.skip * self.hidS)``; the highway autoregression ``z = x[:, -self.hw:, :]``, ``z.permute(0,
2,1).contiguous().view(-1, self.hw)``, ``z.view(-1,self.m)``; ``self.output = F.sigmoid`` (the
deprecated alias) or ``F.tanh``; ``Data_utility`` (``normalize == 2`` per-column max scaling,
``_batchify`` filling ``torch.zeros((n,self.P,self.m))`` row by row from ``torch.from_numpy``,
``self.scale = torch.from_numpy(self.scale).float()``, ``normal_std``'s ``x.std() * np.sqrt((len(x)
- 1.)/(len(x)))``, ``torch.mean(torch.abs(tmp - torch.mean(tmp)))``, ``get_batches`` over
``torch.randperm(length)`` or ``torch.LongTensor(range(length))``); the losses
``nn.MSELoss(size_average=False)`` / ``nn.L1Loss(size_average=False)`` (legacy arguments, with
their deprecation warning) on ``output * scale`` with ``scale = data.scale.expand(output.size(0),
data.m)``; ``Optim.step``'s manual clipping (``math.pow(param.grad.data.norm(), 2)``,
``param.grad.data.mul_(shrinkage)``) around ``optim.Adam``; ``evaluate``'s ``torch.cat((predict,
output))`` accumulation and NumPy RSE/RAE/correlation.

Changed: the electricity/solar data -> 3 NumPy-drawn seasonal series of 60 steps, window 168 ->
12, ``hidCNN``/``hidRNN`` 100 -> 5, ``hidSkip`` 5 -> 3, ``CNN_kernel`` 6 -> 4, skip 24 -> 4,
``highway_window`` 24 -> 3, batch 128 -> 8, one epoch of a few batches per model (one with
``sigmoid`` output and MSE, one with ``tanh`` and L1, dropout 0.2 -> 0).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
M, WINDOW, HORIZON, LENGTH, BATCH = 3, 12, 2, 60, 8


class _Args:
    def __init__(self, output_fun: str) -> None:
        self.cuda, self.window, self.hidRNN, self.hidCNN, self.hidSkip = False, WINDOW, 5, 5, 3
        self.CNN_kernel, self.skip, self.highway_window = 4, 4, 3
        self.dropout, self.output_fun = 0.0, output_fun


class _DataShape:
    m = M


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional

    class Model(nn.Module):
        def __init__(self, args, data):  # noqa: ANN001
            super(Model, self).__init__()  # noqa: UP008 (as in the repository)
            self.use_cuda = args.cuda
            self.P = args.window
            self.m = data.m
            self.hidR = args.hidRNN
            self.hidC = args.hidCNN
            self.hidS = args.hidSkip
            self.Ck = args.CNN_kernel
            self.skip = args.skip
            self.pt = int((self.P - self.Ck) / self.skip)
            self.hw = args.highway_window
            self.conv1 = nn.Conv2d(1, self.hidC, kernel_size=(self.Ck, self.m))
            self.GRU1 = nn.GRU(self.hidC, self.hidR)
            self.dropout = nn.Dropout(p=args.dropout)
            if self.skip > 0:
                self.GRUskip = nn.GRU(self.hidC, self.hidS)
                self.linear1 = nn.Linear(self.hidR + self.skip * self.hidS, self.m)
            else:
                self.linear1 = nn.Linear(self.hidR, self.m)
            if self.hw > 0:
                self.highway = nn.Linear(self.hw, 1)
            self.output = None
            if args.output_fun == "sigmoid":
                self.output = F.sigmoid
            if args.output_fun == "tanh":
                self.output = F.tanh

        def forward(self, x):  # noqa: ANN001, ANN202
            batch_size = x.size(0)

            # CNN
            c = x.view(-1, 1, self.P, self.m)
            c = F.relu(self.conv1(c))
            c = self.dropout(c)
            c = torch.squeeze(c, 3)

            # RNN
            r = c.permute(2, 0, 1).contiguous()
            _, r = self.GRU1(r)
            r = self.dropout(torch.squeeze(r, 0))

            # skip-rnn
            if self.skip > 0:
                s = c[:, :, int(-self.pt * self.skip) :].contiguous()
                s = s.view(batch_size, self.hidC, self.pt, self.skip)
                s = s.permute(2, 0, 3, 1).contiguous()
                s = s.view(self.pt, batch_size * self.skip, self.hidC)
                _, s = self.GRUskip(s)
                s = s.view(batch_size, self.skip * self.hidS)
                s = self.dropout(s)
                r = torch.cat((r, s), 1)

            res = self.linear1(r)

            # highway
            if self.hw > 0:
                z = x[:, -self.hw :, :]
                z = z.permute(0, 2, 1).contiguous().view(-1, self.hw)
                z = self.highway(z)
                z = z.view(-1, self.m)
                res = res + z

            if self.output:
                res = self.output(res)
            return res

    return nn.ModuleList([Model(_Args("sigmoid"), _DataShape), Model(_Args("tanh"), _DataShape)])


def _data_utility(torch_like: Any, rawdat: np.ndarray) -> Any:
    torch = torch_like

    def normal_std(x):  # noqa: ANN001, ANN202
        return x.std() * np.sqrt((len(x) - 1.0) / (len(x)))

    class Data_utility:  # noqa: N801
        def __init__(self, train, valid, horizon, window):  # noqa: ANN001
            self.cuda = False
            self.P = window
            self.h = horizon
            self.rawdat = rawdat
            self.dat = np.zeros(self.rawdat.shape)
            self.n, self.m = self.dat.shape
            self.normalize = 2
            self.scale = np.ones(self.m)
            self._normalized(self.normalize)
            self._split(int(train * self.n), int((train + valid) * self.n), self.n)
            self.scale = torch.from_numpy(self.scale).float()
            tmp = self.test[1] * self.scale.expand(self.test[1].size(0), self.m)
            self.rse = normal_std(tmp)
            self.rae = torch.mean(torch.abs(tmp - torch.mean(tmp)))

        def _normalized(self, normalize):  # noqa: ANN001, ANN202
            # normalized by the maximum value of each row(sensor).
            if normalize == 2:
                for i in range(self.m):
                    self.scale[i] = np.max(np.abs(self.rawdat[:, i]))
                    self.dat[:, i] = self.rawdat[:, i] / np.max(np.abs(self.rawdat[:, i]))

        def _split(self, train, valid, test):  # noqa: ANN001, ANN202
            train_set = range(self.P + self.h - 1, train)
            valid_set = range(train, valid)
            test_set = range(valid, self.n)
            self.train = self._batchify(train_set, self.h)
            self.valid = self._batchify(valid_set, self.h)
            self.test = self._batchify(test_set, self.h)

        def _batchify(self, idx_set, horizon):  # noqa: ANN001, ANN202
            n = len(idx_set)
            X = torch.zeros((n, self.P, self.m))  # noqa: N806
            Y = torch.zeros((n, self.m))  # noqa: N806
            for i in range(n):
                end = idx_set[i] - self.h + 1
                start = end - self.P
                X[i, :, :] = torch.from_numpy(self.dat[start:end, :])
                Y[i, :] = torch.from_numpy(self.dat[idx_set[i], :])
            return [X, Y]

        def get_batches(self, inputs, targets, batch_size, shuffle=True):  # noqa: ANN001, ANN202
            length = len(inputs)
            if shuffle:
                index = torch.randperm(length)
            else:
                index = torch.LongTensor(range(length))
            start_idx = 0
            while start_idx < length:
                end_idx = min(length, start_idx + batch_size)
                excerpt = index[start_idx:end_idx]
                X = inputs[excerpt]  # noqa: N806
                Y = targets[excerpt]  # noqa: N806
                yield X, Y
                start_idx += batch_size

    return Data_utility(0.6, 0.2, HORIZON, WINDOW)


class Optim:
    """``Optim.py``: global-norm clipping by hand, then the wrapped optimizer's step."""

    def _makeOptimizer(self, optim: Any) -> None:  # noqa: N802
        if self.method == "adam":
            self.optimizer = optim.Adam(self.params, lr=self.lr)
        else:
            raise RuntimeError("Invalid optim method: " + self.method)

    def __init__(self, params: Any, method: str, lr: float, max_grad_norm: float, optim: Any):
        self.params = list(params)  # careful: params may be a generator
        self.last_ppl = None
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.method = method
        self._makeOptimizer(optim)

    def step(self) -> float:
        # Compute gradients norm.
        grad_norm = 0
        for param in self.params:
            grad_norm += math.pow(param.grad.data.norm(), 2)
        grad_norm = math.sqrt(grad_norm)
        if grad_norm > 0:
            shrinkage = self.max_grad_norm / grad_norm
        else:
            shrinkage = 1.0
        for param in self.params:
            if shrinkage < 1:
                param.grad.data.mul_(shrinkage)
        self.optimizer.step()
        return grad_norm


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    rng = np.random.default_rng(6)
    t = np.arange(LENGTH)[:, None]
    rawdat = 5 + np.sin(2 * np.pi * t / np.array([6.0, 8.0, 12.0])) * np.array([2.0, 3.0, 1.0])
    rawdat = rawdat + 0.2 * rng.normal(size=rawdat.shape)
    torch.manual_seed(54321)
    Data = _data_utility(torch_like, rawdat)  # noqa: N806
    values = [Data.rse.item(), Data.rae.item()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # size_average's deprecation; F.sigmoid/F.tanh's
        for model, l1 in zip(models, (False, True)):
            if l1:
                criterion = nn.L1Loss(size_average=False)
            else:
                criterion = nn.MSELoss(size_average=False)
            evaluateL2 = nn.MSELoss(size_average=False)  # noqa: N806
            evaluateL1 = nn.L1Loss(size_average=False)  # noqa: N806
            optim = Optim(model.parameters(), "adam", 0.01, 1.0, torch.optim)

            # train
            model.train()
            total_loss = 0
            n_samples = 0
            for X, Y in Data.get_batches(Data.train[0], Data.train[1], BATCH, True):  # noqa: N806
                model.zero_grad()
                output = model(X)
                scale = Data.scale.expand(output.size(0), Data.m)
                loss = criterion(output * scale, Y * scale)
                loss.backward()
                grad_norm = optim.step()
                total_loss += loss.item()
                n_samples += output.size(0) * Data.m
                values.append(grad_norm)
            values.append(total_loss / n_samples)

            # evaluate
            model.eval()
            total_loss = 0
            total_loss_l1 = 0
            n_samples = 0
            predict = None
            test = None
            for X, Y in Data.get_batches(Data.valid[0], Data.valid[1], BATCH, False):  # noqa: N806
                output = model(X)
                if predict is None:
                    predict = output
                    test = Y
                else:
                    predict = torch.cat((predict, output))
                    test = torch.cat((test, Y))
                scale = Data.scale.expand(output.size(0), Data.m)
                total_loss += evaluateL2(output * scale, Y * scale).item()
                total_loss_l1 += evaluateL1(output * scale, Y * scale).item()
                n_samples += output.size(0) * Data.m
            rse = math.sqrt(total_loss / n_samples) / Data.rse
            rae = (total_loss_l1 / n_samples) / Data.rae
            predict = predict.data.cpu().numpy()
            Ytest = test.data.cpu().numpy()  # noqa: N806
            sigma_p = (predict).std(axis=0)
            sigma_g = (Ytest).std(axis=0)
            mean_p = predict.mean(axis=0)
            mean_g = Ytest.mean(axis=0)
            index = sigma_g != 0
            correlation = ((predict - mean_p) * (Ytest - mean_g)).mean(axis=0) / (sigma_p * sigma_g)
            correlation = (correlation[index]).mean()
            values.extend([float(rse), float(rae), float(correlation)])
    return values
