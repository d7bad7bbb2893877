"""The learning-rate scheduling section of "Dive into Deep Learning" (d2l.ai, PyTorch edition,
section 12.11 "Learning Rate Scheduling"), size-reduced.

The idioms: ``net_fn``'s LeNet (``nn.Conv2d(1, 6, kernel_size=5, padding=2)``, ``nn.MaxPool2d(
kernel_size=2, stride=2)``, ``nn.Flatten()``, ``nn.Linear(16 * 5 * 5, 120)``) with
``nn.CrossEntropyLoss()``; the section's ``train`` (``net.to(device)``, ``for i, (X, y) in
enumerate(train_iter)``, ``net.train()``, ``metric.add(l * X.shape[0], d2l.accuracy(y_hat, y),
X.shape[0])`` under ``torch.no_grad()``, ``evaluate_accuracy_gpu``'s ``net.eval()`` and
``isinstance(net, nn.Module)``) and its scheduler switch ``if scheduler.__module__ ==
lr_scheduler.__name__: scheduler.step()`` (a PyTorch scheduler) ``else: for param_group in
trainer.param_groups: param_group['lr'] = scheduler(epoch)`` (the hand-written ones); setting
``trainer.param_groups[0]["lr"] = lr`` by hand; the ``SquareRootScheduler`` (``self.lr *
pow(num_update + 1.0, -0.5)``), ``FactorScheduler`` (``max(self.stop_factor_lr, self.base_lr *
self.factor)``) and ``CosineScheduler`` with warm-up (``get_warmup_lr``, ``(1 + math.cos(math.pi
* (epoch - self.warmup_steps) / self.max_steps)) / 2``); ``lr_scheduler.MultiStepLR(trainer,
milestones=[15, 30], gamma=0.5)`` read through ``get_lr(trainer, scheduler)`` (``scheduler.
get_last_lr()[0]``, ``trainer.step()``, ``scheduler.step()``) over ``torch.arange(num_epochs)``;
d2l's ``accuracy`` (``y_hat.argmax(axis=1)``, ``cmp = y_hat.type(y.dtype) == y``,
``float(reduce_sum(astype(cmp, y.dtype)))``).

Changed: Fashion-MNIST 28x28 -> 16 seeded NumPy images of 28x28 in batches of 8 (8 more to
test); 30 epochs -> 2 per schedule (milestones ``[15, 30]`` -> ``[1, 2]`` for the built-in one,
warm-up 5 -> 1, ``max_update`` 20 -> 2); the plots are the returned values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
NUM_EPOCHS = 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    def net_fn():  # noqa: ANN202
        model = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))  # fmt: skip
        return model

    return net_fn()


class Accumulator:
    """For accumulating sums over `n` variables."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args: Any) -> None:
        self.data = [a + float(b) for a, b in zip(self.data, args, strict=True)]

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


class SquareRootScheduler:
    def __init__(self, lr: float = 0.1) -> None:
        self.lr = lr

    def __call__(self, num_update: int) -> float:
        return self.lr * pow(num_update + 1.0, -0.5)


class FactorScheduler:
    def __init__(self, factor: float = 1, stop_factor_lr: float = 1e-7,
                 base_lr: float = 0.1) -> None:  # fmt: skip
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.base_lr = base_lr

    def __call__(self, num_update: int) -> float:
        self.base_lr = max(self.stop_factor_lr, self.base_lr * self.factor)
        return self.base_lr


class CosineScheduler:
    def __init__(self, max_update: int, base_lr: float = 0.01, final_lr: float = 0,
                 warmup_steps: int = 0, warmup_begin_lr: float = 0) -> None:  # fmt: skip
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.warmup_steps = warmup_steps
        self.warmup_begin_lr = warmup_begin_lr
        self.max_steps = self.max_update - self.warmup_steps

    def get_warmup_lr(self, epoch: int) -> float:
        increase = (self.base_lr_orig - self.warmup_begin_lr) \
                       * float(epoch) / float(self.warmup_steps)  # fmt: skip
        return self.warmup_begin_lr + increase

    def __call__(self, epoch: int) -> float:
        if epoch < self.warmup_steps:
            return self.get_warmup_lr(epoch)
        if epoch <= self.max_update:
            self.base_lr = self.final_lr + (
                self.base_lr_orig - self.final_lr) * (1 + math.cos(
                math.pi * (epoch - self.warmup_steps) / self.max_steps)) / 2  # fmt: skip
        return self.base_lr


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    lr_scheduler = torch.optim.lr_scheduler
    device = torch.device("cpu")
    rng = np.random.default_rng(1211)
    images = rng.random((24, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 24)
    dataset = torch.utils.data.TensorDataset(torch.tensor(images[:16]), torch.tensor(labels[:16]))
    train_iter = torch.utils.data.DataLoader(dataset, 8, shuffle=False)
    test_iter = [(torch.tensor(images[16:]), torch.tensor(labels[16:]))]
    loss = nn.CrossEntropyLoss()
    values: list[float] = []

    def accuracy(y_hat: Any, y: Any) -> float:
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    def evaluate_accuracy_gpu(net: Any, data_iter: Any, device: Any = None) -> float:
        if isinstance(net, nn.Module):
            net.eval()
            if not device:
                device = next(iter(net.parameters())).device
        metric = Accumulator(2)
        with torch.no_grad():
            for X, y in data_iter:
                X = X.to(device)
                y = y.to(device)
                metric.add(accuracy(net(X), y), y.numel())
        return metric[0] / metric[1]

    def train(net, train_iter, test_iter, num_epochs, loss, trainer, device,
              scheduler=None):  # noqa: ANN001,ANN202 # fmt: skip
        net.to(device)
        for epoch in range(num_epochs):
            metric = Accumulator(3)
            for _i, (X, y) in enumerate(train_iter):
                net.train()
                trainer.zero_grad()
                X, y = X.to(device), y.to(device)
                y_hat = net(X)
                l = loss(y_hat, y)  # noqa: E741
                l.backward()
                trainer.step()
                with torch.no_grad():
                    metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
                train_loss = metric[0] / metric[2]
                train_acc = metric[1] / metric[2]
            test_acc = evaluate_accuracy_gpu(net, test_iter)
            values.extend([train_loss, train_acc, test_acc, trainer.param_groups[0]["lr"]])
            if scheduler:
                if scheduler.__module__ == lr_scheduler.__name__:
                    # Using PyTorch In-Built scheduler
                    scheduler.step()
                else:
                    # Using custom defined scheduler
                    for param_group in trainer.param_groups:
                        param_group["lr"] = scheduler(epoch)

    def fresh_net() -> Any:
        net = make_model(torch_like)
        load_numpy_state(torch_like, net, init)
        return net

    lr, num_epochs = 0.3, NUM_EPOCHS
    net = fresh_net()
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device)

    lr = 0.1
    trainer.param_groups[0]["lr"] = lr
    values.append(trainer.param_groups[0]["lr"])

    scheduler = SquareRootScheduler(lr=0.1)
    values += [scheduler(t) for t in range(num_epochs)]
    net = fresh_net()
    trainer = torch.optim.SGD(net.parameters(), lr)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device, scheduler)

    scheduler = FactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0)
    values += [scheduler(t) for t in range(50)][-3:]

    net = fresh_net()
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    scheduler = lr_scheduler.MultiStepLR(trainer, milestones=[1, 2], gamma=0.5)

    def get_lr(trainer: Any, scheduler: Any) -> float:
        lr = scheduler.get_last_lr()[0]
        trainer.step()
        scheduler.step()
        return lr

    values += [get_lr(trainer, scheduler) for t in torch.arange(num_epochs)]
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    scheduler = lr_scheduler.MultiStepLR(trainer, milestones=[1, 2], gamma=0.5)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device, scheduler)

    scheduler = CosineScheduler(max_update=2, base_lr=0.3, final_lr=0.01)
    values += [scheduler(t) for t in range(num_epochs + 1)]
    net = fresh_net()
    trainer = torch.optim.SGD(net.parameters(), lr=0.3)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device, scheduler)

    scheduler = CosineScheduler(2, warmup_steps=1, base_lr=0.3, final_lr=0.01)
    values += [scheduler(t) for t in range(num_epochs + 1)]
    net = fresh_net()
    trainer = torch.optim.SGD(net.parameters(), lr=0.3)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device, scheduler)
    return values
