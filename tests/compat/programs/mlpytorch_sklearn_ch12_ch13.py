"""Raschka, Liu, Mirjalili, "Machine Learning with PyTorch and Scikit-Learn"
(rasbt/machine-learning-book): chapter 12 (``ch12/ch12_part2.ipynb``, the Iris ``Model`` with
``nn.Sigmoid()``/``nn.Softmax(dim=1)`` trained with ``loss_hist[epoch] +=
loss.item()*y_batch.size(0)`` and ``is_correct = (torch.argmax(pred, dim=1) ==
y_batch).float()``, saved and re-loaded for the test accuracy) and chapter 13
(``ch13/ch13_part1.ipynb``: ``torch.bucketize(v, boundaries, right=True)``; the XOR
``nn.Sequential`` with ``nn.init.xavier_uniform_(model[0].weight)`` and an L1 penalty
``l1_weight * model[2].weight.abs().sum()``; the ``NoisyLinear`` custom layer built on the
legacy constructor ``torch.Tensor(input_size, output_size)`` and
``torch.Tensor(output_size).fill_(0)`` wrapped in ``nn.Parameter``, adding ``torch.normal(0.0,
self.noise_stddev, x.shape)`` in training, ``torch.add(torch.mm(x_new, self.w), self.b)``;
``MyNoisyModule.forward(x, training=False)`` and ``predict`` with ``(pred>=0.5).float()``; the
XOR data ``y[x[:, 0] * x[:, 1]<0] = 0`` and the epoch loop accumulating
``accuracy_hist_train[epoch] += is_correct.sum()`` then ``/= n_train/batch_size``;
``nn.BCELoss()``, ``torch.optim.SGD(model.parameters(), lr=0.015)``).

Changed: Iris from scikit-learn -> 30 seeded 4-feature points in 3 classes, 100 epochs -> 5
(chapter 12), ``torch.save(model, path)`` of the whole model -> a ``state_dict`` round trip (the
class here is local to a function, which pickle cannot name); 200 XOR points -> 40 (n_train 20),
200 epochs -> 6 (chapter 13); batch 2 -> 4.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

DTYPE = "float32"


def _iris_model(torch_like: Any) -> type:
    nn = torch_like.nn

    class Model(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):  # noqa: ANN001
            super().__init__()
            self.layer1 = nn.Linear(input_size, hidden_size)
            self.layer2 = nn.Linear(hidden_size, output_size)

        def forward(self, x):  # noqa: ANN001, ANN202
            x = self.layer1(x)
            x = nn.Sigmoid()(x)
            x = self.layer2(x)
            x = nn.Softmax(dim=1)(x)
            return x

    return Model


def run(torch_like: Any, init: Any) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader
    out: list[float] = []

    # chapter 12: Iris
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 4)) + np.repeat(np.arange(3), 10)[:, None]
    y = np.repeat(np.arange(3), 10)
    X_train_norm = (X - np.mean(X)) / np.std(X)
    X_train_norm = torch.from_numpy(X_train_norm).float()
    y_train = torch.from_numpy(y)
    train_ds = TensorDataset(X_train_norm, y_train)
    torch.manual_seed(1)
    batch_size = 4
    train_dl = DataLoader(train_ds, batch_size, shuffle=True)
    Model = _iris_model(torch)
    input_size = X_train_norm.shape[1]
    hidden_size = 16
    output_size = 3
    model = Model(input_size, hidden_size, output_size)
    learning_rate = 0.001
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    num_epochs = 5
    loss_hist = [0] * num_epochs
    accuracy_hist = [0] * num_epochs
    for epoch in range(num_epochs):
        for x_batch, y_batch in train_dl:
            pred = model(x_batch)
            loss = loss_fn(pred, y_batch.long())
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            loss_hist[epoch] += loss.item()*y_batch.size(0)  # fmt: skip
            is_correct = (torch.argmax(pred, dim=1) == y_batch).float()
            accuracy_hist[epoch] += is_correct.sum()
        loss_hist[epoch] /= len(train_dl.dataset)
        accuracy_hist[epoch] /= len(train_dl.dataset)
    out += loss_hist + [float(a) for a in accuracy_hist]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "iris_classifier.pt"
        torch.save(model.state_dict(), path)  # (the book saves the whole model object)
        model_new = Model(input_size, hidden_size, output_size)
        model_new.load_state_dict(torch.load(path))
        pred_test = model_new(X_train_norm)
        correct = (torch.argmax(pred_test, dim=1) == y_train).float()
        out.append(correct.mean().item())

    # chapter 13: bucketize
    v = torch.tensor([3.0, 8.0, 0.5, 7.0, 5.0])
    boundaries = torch.tensor([1.0, 5.0, 7.0])
    out += torch.bucketize(v, boundaries, right=True).tolist()
    out += torch.bucketize(v, boundaries, right=False).tolist()

    # chapter 13: XOR
    np.random.seed(1)
    torch.manual_seed(1)
    x = np.random.uniform(low=-1, high=1, size=(40, 2))
    y = np.ones(len(x))
    y[x[:, 0] * x[:, 1]<0] = 0  # fmt: skip
    n_train = 20
    x_train = torch.tensor(x[:n_train, :], dtype=torch.float32)
    y_train = torch.tensor(y[:n_train], dtype=torch.float32)
    x_valid = torch.tensor(x[n_train:, :], dtype=torch.float32)
    y_valid = torch.tensor(y[n_train:], dtype=torch.float32)
    train_ds = TensorDataset(x_train, y_train)
    batch_size = 4
    train_dl = DataLoader(train_ds, batch_size, shuffle=True)

    model = nn.Sequential(
        nn.Linear(2, 4),
        nn.ReLU(),
        nn.Linear(4, 4),
        nn.ReLU(),
        nn.Linear(4, 1),
        nn.Sigmoid()
    )  # fmt: skip
    nn.init.xavier_uniform_(model[0].weight)
    l1_weight = 0.01
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.015)

    def train(model, num_epochs, train_dl, x_valid, y_valid, noisy=False):  # noqa: ANN001, ANN202
        loss_hist_train = [0] * num_epochs
        accuracy_hist_train = [0] * num_epochs
        loss_hist_valid = [0] * num_epochs
        accuracy_hist_valid = [0] * num_epochs
        for epoch in range(num_epochs):
            for x_batch, y_batch in train_dl:
                pred = (model(x_batch, True) if noisy else model(x_batch))[:, 0]
                loss = loss_fn(pred, y_batch)
                if not noisy:
                    loss = loss + l1_weight * model[2].weight.abs().sum()
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                loss_hist_train[epoch] += loss.item()
                is_correct = ((pred>=0.5).float() == y_batch).float()  # fmt: skip
                accuracy_hist_train[epoch] += is_correct.sum()
            loss_hist_train[epoch] /= n_train/batch_size  # fmt: skip
            accuracy_hist_train[epoch] /= n_train/batch_size  # fmt: skip

            pred = model(x_valid)[:, 0]
            loss = loss_fn(pred, y_valid)
            loss_hist_valid[epoch] = loss.item()
            is_correct = ((pred>=0.5).float() == y_valid).float()  # fmt: skip
            accuracy_hist_valid[epoch] += is_correct.mean()
        return loss_hist_train, loss_hist_valid, accuracy_hist_train, accuracy_hist_valid

    history = train(model, 6, train_dl, x_valid, y_valid)
    out += [float(v) for h in history for v in h]

    class NoisyLinear(nn.Module):
        def __init__(self, input_size, output_size, noise_stddev=0.1):  # noqa: ANN001
            super().__init__()
            w = torch.Tensor(input_size, output_size)
            self.w = nn.Parameter(w)  # nn.Parameter is a Tensor that's a module parameter.
            nn.init.xavier_uniform_(self.w)
            b = torch.Tensor(output_size).fill_(0)
            self.b = nn.Parameter(b)
            self.noise_stddev = noise_stddev

        def forward(self, x, training=False):  # noqa: ANN001, ANN202
            if training:
                noise = torch.normal(0.0, self.noise_stddev, x.shape)
                x_new = torch.add(x, noise)
            else:
                x_new = x
            return torch.add(torch.mm(x_new, self.w), self.b)

    class MyNoisyModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = NoisyLinear(2, 4, 0.07)
            self.a1 = nn.ReLU()
            self.l2 = nn.Linear(in_features=4, out_features=4)
            self.a2 = nn.ReLU()
            self.l3 = nn.Linear(in_features=4, out_features=1)
            self.a3 = nn.Sigmoid()

        def forward(self, x, training=False):  # noqa: ANN001, ANN202
            x = self.l1(x, training)
            x = self.a1(x)
            x = self.l2(x)
            x = self.a2(x)
            x = self.l3(x)
            x = self.a3(x)
            return x

        def predict(self, x):  # noqa: ANN001, ANN202
            x = torch.tensor(x, dtype=torch.float32)
            pred = self.forward(x)[:, 0]
            return (pred>=0.5).float()  # fmt: skip

    torch.manual_seed(1)
    model = MyNoisyModule()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.015)
    history = train(model, 6, train_dl, x_valid, y_valid, noisy=True)
    out += [float(v) for h in history for v in h]
    out += model.predict(x[:6]).tolist()
    return out
