"""The PyTorch "What is torch.nn really?" tutorial (``beginner/nn_tutorial``), size-reduced, in
its successive refactorings: the from-scratch logistic regression (``weights =
torch.randn(784, 10) / math.sqrt(784)`` replaced by NumPy, ``weights.requires_grad_()``,
``torch.zeros(10, requires_grad=True)``, ``log_softmax`` as ``x - x.exp().sum(-1).log()
.unsqueeze(-1)``, ``nll`` as ``-input[range(target.shape[0]), target].mean()``, ``accuracy`` with
``torch.argmax``, the manual update under ``torch.no_grad()`` with ``weights -= weights.grad * lr``
and ``weights.grad.zero_()``); ``F.cross_entropy``; ``Mnist_Logistic(nn.Module)`` with
``nn.Parameter``s; then with ``nn.Linear``; ``optim.SGD``; ``TensorDataset``; ``DataLoader``;
``get_data``/``loss_batch``/``fit`` with ``model.train()``/``model.eval()``, ``np.sum(np.multiply(
losses, nums)) / np.sum(nums)``; the CNN ``nn.Sequential`` with a ``Lambda`` layer (``preprocess``
doing ``x.view(-1, 1, 28, 28)``), ``nn.AdaptiveAvgPool2d(1)``, and ``WrappedDataLoader``.

Sizes: 28x28 images -> 8x8 (the ``view``s follow), 50000 training images -> 48, batch size 64 ->
16, ``momentum=0.9`` kept.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DTYPE = "float32"
SIDE = 8
N_IN = SIDE * SIDE
bs = 16  # batch size
lr = 0.5  # learning rate
epochs = 2  # how many epochs to train for


def init_state(tmp_path: Any) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "weights": (rng.standard_normal((N_IN, 10)) / math.sqrt(N_IN)).astype(np.float32),
        "x_train": rng.random((48, N_IN)).astype(np.float32),
        "y_train": rng.integers(0, 10, 48),
        "x_valid": rng.random((32, N_IN)).astype(np.float32),
        "y_valid": rng.integers(0, 10, 32),
        "cnn": [
            rng.uniform(-0.3, 0.3, s).astype(np.float32)
            for s in [(8, 1, 3, 3), (8,), (8, 8, 3, 3), (8,), (10, 8, 3, 3), (10,)]
        ],
    }


def run(torch_like: Any, init: dict[str, Any]) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    F = torch_like.nn.functional
    TensorDataset = torch_like.utils.data.TensorDataset
    DataLoader = torch_like.utils.data.DataLoader
    values: list[float] = []

    x_train, y_train, x_valid, y_valid = map(
        torch.tensor, (init["x_train"], init["y_train"], init["x_valid"], init["y_valid"])
    )
    n, c = x_train.shape

    # Neural net from scratch (no torch.nn)
    weights = torch.tensor(init["weights"])
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)

    def log_softmax(x: Any) -> Any:
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb: Any) -> Any:
        return log_softmax(xb @ weights + bias)

    def nll(input: Any, target: Any) -> Any:
        return -input[range(target.shape[0]), target].mean()

    loss_func = nll

    def accuracy(out: Any, yb: Any) -> Any:
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    xb = x_train[0:bs]  # a mini-batch from x
    yb = y_train[0:bs]
    preds = model(xb)  # predictions
    values += [preds[0].sum().item(), loss_func(preds, yb).item(), accuracy(preds, yb).item()]

    for _epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    values += [loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item()]

    # Using torch.nn.functional
    loss_func = F.cross_entropy

    def model(xb: Any) -> Any:  # noqa: F811 (redefined, as in the tutorial)
        return xb @ weights + bias

    values += [loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item()]

    # Refactor using nn.Module
    class Mnist_Logistic(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = nn.Parameter(torch.tensor(init["weights"]))
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, xb: Any) -> Any:
            return xb @ self.weights + self.bias

    model = Mnist_Logistic()
    values.append(loss_func(model(xb), yb).item())

    def fit() -> None:
        for _epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)

                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * lr
                    model.zero_grad()

    fit()
    values.append(loss_func(model(xb), yb).item())

    # Refactor using nn.Linear
    class Mnist_Logistic(nn.Module):  # noqa: F811 (redefined, as in the tutorial)
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(N_IN, 10)

        def forward(self, xb: Any) -> Any:
            return self.lin(xb)

    def get_model() -> tuple[Any, Any]:
        model = Mnist_Logistic()
        with torch.no_grad():
            model.lin.weight.copy_(torch.tensor(init["weights"]).t())
            model.lin.bias.zero_()
        return model, optim.SGD(model.parameters(), lr=lr)

    # Refactor using Dataset and DataLoader
    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)

    def get_data(train_ds: Any, valid_ds: Any, bs: int) -> tuple[Any, Any]:
        return (
            DataLoader(train_ds, batch_size=bs, shuffle=False),  # shuffle=True in the tutorial
            DataLoader(valid_ds, batch_size=bs * 2),
        )

    def loss_batch(model: Any, loss_func: Any, xb: Any, yb: Any, opt: Any = None) -> tuple:
        loss = loss_func(model(xb), yb)

        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()

        return loss.item(), len(xb)

    def fit(
        epochs: int, model: Any, loss_func: Any, opt: Any, train_dl: Any, valid_dl: Any
    ) -> None:  # noqa: F811
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)

            model.eval()
            with torch.no_grad():
                losses, nums = zip(
                    *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl], strict=True
                )
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)

            print(epoch, val_loss)
            values.append(val_loss)

    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model, opt = get_model()
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    # Switch to CNN, using nn.Sequential with a Lambda layer and a WrappedDataLoader
    class Lambda(nn.Module):
        def __init__(self, func: Any) -> None:
            super().__init__()
            self.func = func

        def forward(self, x: Any) -> Any:
            return self.func(x)

    def preprocess(x: Any, y: Any) -> tuple[Any, Any]:
        return x.view(-1, 1, SIDE, SIDE), y

    class WrappedDataLoader:
        def __init__(self, dl: Any, func: Any) -> None:
            self.dl = dl
            self.func = func

        def __len__(self) -> int:
            return len(self.dl)

        def __iter__(self) -> Any:
            for b in self.dl:
                yield (self.func(*b))

    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    train_dl = WrappedDataLoader(train_dl, preprocess)
    valid_dl = WrappedDataLoader(valid_dl, preprocess)

    model = nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    with torch.no_grad():
        for p, a in zip(model.parameters(), init["cnn"], strict=True):
            p.copy_(torch.tensor(a))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    values.append(len(train_dl))
    return values
