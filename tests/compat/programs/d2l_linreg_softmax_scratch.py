"""Linear and softmax regression from scratch, as "Dive into Deep Learning" (d2l.ai, PyTorch
edition, chapter 3) writes them, size-reduced.

The idioms: ``synthetic_data``'s ``torch.matmul(X, w) + b``, ``y += noise`` and ``y.reshape((-1,
1))``; ``data_iter`` shuffling a Python index list and indexing with ``torch.tensor(indices[i:
min(i + batch_size, num_examples)])``; ``w = torch.normal(0, 0.01, size=(2, 1),
requires_grad=True)`` and ``b = torch.zeros(1, requires_grad=True)``; ``squared_loss``'s ``(y_hat
- y.reshape(y_hat.shape)) ** 2 / 2``; ``sgd(params, lr, batch_size)`` doing ``param -= lr *
param.grad / batch_size`` and ``param.grad.zero_()`` under ``with torch.no_grad():``;
``l.sum().backward()``; ``float(train_l.mean())``; ``true_w - w.reshape(true_w.shape)``. Then
softmax regression: ``X_exp.sum(1, keepdim=True)``, ``X.reshape((-1, W.shape[0]))``,
``cross_entropy``'s ``- torch.log(y_hat[range(len(y_hat)), y])`` and ``y_hat[[0, 1], y]``,
``accuracy``'s ``y_hat.argmax(axis=1)``, ``y_hat.type(y.dtype) == y`` and
``float(cmp.type(y.dtype).sum())``, the ``Accumulator`` class, ``evaluate_accuracy``'s
``isinstance(net, torch.nn.Module)`` / ``net.eval()``, ``train_epoch_ch3``'s
``isinstance(updater, torch.optim.Optimizer)`` switch between the scratch ``sgd`` and
``torch.optim.SGD`` with ``l.mean().backward()``, and the concise ``nn.Sequential(nn.Flatten(),
nn.Linear(...))`` with ``net.apply(init_weights)`` (``type(m) == nn.Linear``,
``nn.init.normal_(m.weight, std=0.01)``), ``nn.CrossEntropyLoss(reduction='none')`` and
``d2l.load_array``'s ``data.TensorDataset`` / ``data.DataLoader`` (not shuffled: the two
frameworks' generators differ). ``float(l.sum())`` on a tensor that requires grad warns (once
per process) in both frameworks; the run ignores that warning as a notebook shows it.

The random draws (features, noise, initial weights) come from NumPy and are copied into the
tensors that ``torch.normal`` made, so both runs start from the same values.
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

N_LIN, BATCH_LIN, EPOCHS_LIN, LR_LIN = 60, 10, 3, 0.03
N_CLS, IMG, CLASSES, BATCH_CLS, EPOCHS_CLS, LR_CLS = 48, 4, 5, 16, 2, 0.1


def init_state(tmp_path: Any) -> dict[str, np.ndarray]:
    """The synthetic features and noise, the initial weights and a small image set."""
    rng = np.random.default_rng(20)
    images = rng.standard_normal((N_CLS, 1, IMG, IMG))
    labels = rng.integers(0, CLASSES, N_CLS)
    return {
        "features": rng.standard_normal((N_LIN, 2)),
        "noise": rng.normal(0, 0.01, N_LIN),
        "w": rng.normal(0, 0.01, (2, 1)),
        "W": rng.normal(0, 0.01, (IMG * IMG, CLASSES)),
        "W_concise": rng.normal(0, 0.01, (CLASSES, IMG * IMG)),
        "images": images + labels[:, None, None, None] * 0.5,
        "labels": labels,
    }


def synthetic_data(torch: Any, w: Any, b: float, init: dict) -> tuple[Any, Any]:
    """y = Xw + b + noise (the draws taken from NumPy)."""
    X = torch.normal(0, 1, (N_LIN, len(w)))
    X = as_tensor(torch, init["features"])  # the same values in both runs
    y = torch.matmul(X, w) + b
    y += as_tensor(torch, init["noise"])
    return X, y.reshape((-1, 1))


def data_iter(torch: Any, batch_size: int, features: Any, labels: Any, seed: int) -> Any:
    num_examples = len(features)
    indices = list(range(num_examples))
    random.Random(seed).shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i : min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linreg(torch: Any, X: Any, w: Any, b: Any) -> Any:
    return torch.matmul(X, w) + b


def squared_loss(y_hat: Any, y: Any) -> Any:
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(torch: Any, params: list, lr: float, batch_size: int) -> None:
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def linear_regression(torch: Any, init: dict) -> list[float]:
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(torch, true_w, true_b, init)
    values = [features[0].tolist()[0], labels[0].item(), float(labels.shape == (N_LIN, 1))]
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    values += [float(w.requires_grad), float(w.is_leaf), float(w.shape == (2, 1))]
    with torch.no_grad():
        w.copy_(as_tensor(torch, init["w"]))
    b = torch.zeros(1, requires_grad=True)
    for epoch in range(EPOCHS_LIN):
        for X, y in data_iter(torch, BATCH_LIN, features, labels, epoch):
            loss = squared_loss(linreg(torch, X, w, b), y)
            loss.sum().backward()
            sgd(torch, [w, b], LR_LIN, BATCH_LIN)
            values.append(float(loss.detach().mean()))
        with torch.no_grad():
            train_l = squared_loss(linreg(torch, features, w, b), labels)
            values.append(float(train_l.mean()))
    values += (true_w - w.reshape(true_w.shape)).tolist() + [true_b - b.item()]
    values += [float(w.grad.abs().sum()), float(b.grad is not None)]
    return values


class Accumulator:
    """Sums over n variables."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args: Any) -> None:
        self.data = [a + float(b) for a, b in zip(self.data, args, strict=True)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def softmax(torch: Any, X: Any) -> Any:
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition


def cross_entropy(torch: Any, y_hat: Any, y: Any) -> Any:
    return -torch.log(y_hat[range(len(y_hat)), y])


def accuracy(y_hat: Any, y: Any) -> float:
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(torch: Any, net: Any, data_iter: Any) -> float:
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(torch: Any, net: Any, train_iter: Any, loss: Any, updater: Any) -> tuple:
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)  # noqa: E741 - d2l's name
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def load_array(torch: Any, data_arrays: tuple, batch_size: int, is_train: bool = True) -> Any:
    data = torch.utils.data
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def softmax_regression(torch: Any, init: dict) -> list[float]:
    nn = torch.nn
    y = torch.tensor([0, 2])
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    values = y_hat[[0, 1], y].tolist() + cross_entropy(torch, y_hat, y).tolist()
    values += [accuracy(y_hat, y) / len(y)]
    X = torch.tensor(np.arange(6.0).reshape(2, 3))
    values += [*X.sum(0, keepdim=True).tolist()[0], *X.sum(1, keepdim=True).flatten().tolist()]
    prob = softmax(torch, X)
    values += prob.flatten().tolist() + prob.sum(1).tolist()

    images, labels = as_tensor(torch, init["images"]), as_tensor(torch, init["labels"])
    train_iter = load_array(torch, (images, labels), BATCH_CLS, is_train=False)
    num_inputs, num_outputs = IMG * IMG, CLASSES
    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    with torch.no_grad():
        W[:] = as_tensor(torch, init["W"])
    b = torch.zeros(num_outputs, requires_grad=True)

    def net(X: Any) -> Any:
        return softmax(torch, torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def updater(batch_size: int) -> None:
        return sgd(torch, [W, b], LR_CLS, batch_size)

    values += [evaluate_accuracy(torch, net, train_iter)]
    for _epoch in range(EPOCHS_CLS):
        loss = lambda y_hat, y: cross_entropy(torch, y_hat, y)  # noqa: E731
        values += train_epoch_ch3(torch, net, train_iter, loss, updater)
        values += [evaluate_accuracy(torch, net, train_iter)]
    values += [float(W.abs().sum()), *b.tolist()]

    concise = nn.Sequential(nn.Flatten(), nn.Linear(num_inputs, num_outputs))

    def init_weights(m: Any) -> None:
        if type(m) == nn.Linear:  # noqa: E721 - d2l's test
            nn.init.normal_(m.weight, std=0.01)

    concise.apply(init_weights)
    with torch.no_grad():
        concise[1].weight.copy_(as_tensor(torch, init["W_concise"]))
        concise[1].bias.zero_()
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(concise.parameters(), lr=LR_CLS)
    for _epoch in range(EPOCHS_CLS):
        values += train_epoch_ch3(torch, concise, train_iter, loss, trainer)
        values += [evaluate_accuracy(torch, concise, train_iter)]
    values += [float(concise.training), float(concise[1].weight.abs().sum())]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    with warnings.catch_warnings():  # train_epoch_ch3's float(l.sum()) of a graph's tensor
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
        return linear_regression(torch_like, init) + softmax_regression(torch_like, init)
