"""Co-teaching, two networks teaching each other on noisy labels, as bhanML/Co-teaching writes it
(``loss.py``, ``model.py``, ``main.py``), size-reduced.

The idioms: ``loss_coteaching`` (``F.cross_entropy(y_1, t, reduce = False)`` with the legacy
argument's deprecation warning, ``np.argsort(loss_1.data)`` on a tensor, which NumPy hands back
as a tensor through ``__array_wrap__``, ``loss_1[ind_1_sorted]``, ``num_remember =
int(remember_rate * len(loss_1_sorted))``, the purity ``np.sum(noise_or_not[ind[ind_1_sorted[
:num_remember]]])`` indexing NumPy arrays with a tensor, the exchanged updates
``F.cross_entropy(y_1[ind_2_update], t[ind_2_update])`` divided by ``num_remember``); the
``CNN`` (``call_bn``, ``F.leaky_relu(..., negative_slope=0.01)``, ``F.max_pool2d``,
``F.dropout2d(h, p=self.dropout_rate)`` always in training mode as the original writes it,
``F.avg_pool2d(h, kernel_size=h.data.shape[2])``, ``h.view(h.size(0), h.size(1))``); ``main.py``'s
``alpha_plan``/``beta1_plan`` and ``adjust_learning_rate`` writing ``param_group['lr']`` and
``param_group['betas']=(beta1_plan[epoch], 0.999)``, the drop-rate schedule ``rate_schedule[
:args.num_gradual] = np.linspace(0, forget_rate**args.exponent, args.num_gradual)``, ``accuracy``
(``F.softmax``, ``output.topk(maxk, 1, True, True)``, ``pred.t()``, ``pred.eq(target.view(1,
-1).expand_as(pred))``, ``correct_k.mul_(100.0 / batch_size)``), ``ind=indexes.cpu().numpy()
.transpose()``, ``Variable(images)``, and the evaluation with ``model.eval()`` and
``torch.max(outputs.data, 1)``.

Changed: 3x32x32 CIFAR images -> 1x12x12 NumPy images, 128/256/512 -> 4/6/8 channels and 3 conv
blocks -> 2, 10 -> 4 classes, 30% symmetric label noise drawn by NumPy, batches of 8, 4 epochs
of 2 batches (decay from epoch 2, ``num_gradual`` 10 -> 2); ``correct[:k].view(-1)`` ->
``.reshape(-1)`` (current PyTorch refuses the view of the transposed comparison for k > 1, as
the copies of this function now write it); ``.cuda()`` calls dropped; dropout rate 0.25 kept
(same masks in both libraries from ``torch.manual_seed``).
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_CLASSES, N_TRAIN, BATCH = 4, 16, 8
ARGS = SimpleNamespace(n_epoch=4, epoch_decay_start=2, num_gradual=2, exponent=1, lr=0.01,
                       forget_rate=0.3)  # fmt: skip


def make_model(torch_like: Any) -> Any:
    nn, F = torch_like.nn, torch_like.nn.functional

    def call_bn(bn: Any, x: Any) -> Any:
        return bn(x)

    class CNN(nn.Module):
        def __init__(self, input_channel: int = 1, n_outputs: int = N_CLASSES,
                     dropout_rate: float = 0.25, momentum: float = 0.1) -> None:  # fmt: skip
            self.dropout_rate = dropout_rate
            self.momentum = momentum
            super().__init__()
            self.c1 = nn.Conv2d(input_channel, 4, kernel_size=3, stride=1, padding=1)
            self.c2 = nn.Conv2d(4, 4, kernel_size=3, stride=1, padding=1)
            self.c4 = nn.Conv2d(4, 6, kernel_size=3, stride=1, padding=1)
            self.c7 = nn.Conv2d(6, 8, kernel_size=3, stride=1, padding=0)
            self.l_c1 = nn.Linear(8, n_outputs)
            self.bn1 = nn.BatchNorm2d(4)
            self.bn2 = nn.BatchNorm2d(4)
            self.bn4 = nn.BatchNorm2d(6)
            self.bn7 = nn.BatchNorm2d(8)

        def forward(self, x: Any) -> Any:
            h = x
            h = self.c1(h)
            h = F.leaky_relu(call_bn(self.bn1, h), negative_slope=0.01)
            h = self.c2(h)
            h = F.leaky_relu(call_bn(self.bn2, h), negative_slope=0.01)
            h = F.max_pool2d(h, kernel_size=2, stride=2)
            h = F.dropout2d(h, p=self.dropout_rate)
            h = self.c4(h)
            h = F.leaky_relu(call_bn(self.bn4, h), negative_slope=0.01)
            h = F.max_pool2d(h, kernel_size=2, stride=2)
            h = F.dropout2d(h, p=self.dropout_rate)
            h = self.c7(h)
            h = F.leaky_relu(call_bn(self.bn7, h), negative_slope=0.01)
            h = F.avg_pool2d(h, kernel_size=h.data.shape[2])
            h = h.view(h.size(0), h.size(1))
            logit = self.l_c1(h)
            return logit

    return CNN()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    Variable = torch.autograd.Variable
    torch.manual_seed(1)
    args = ARGS

    def loss_coteaching(y_1: Any, y_2: Any, t: Any, forget_rate: float, ind: np.ndarray,
                        noise_or_not: np.ndarray) -> tuple:  # fmt: skip
        loss_1 = F.cross_entropy(y_1, t, reduce=False)
        ind_1_sorted = np.argsort(loss_1.data)
        loss_1_sorted = loss_1[ind_1_sorted]
        loss_2 = F.cross_entropy(y_2, t, reduce=False)
        ind_2_sorted = np.argsort(loss_2.data)
        loss_2_sorted = loss_2[ind_2_sorted]
        remember_rate = 1 - forget_rate
        num_remember = int(remember_rate * len(loss_1_sorted))
        pure_ratio_1 = np.sum(noise_or_not[ind[ind_1_sorted[:num_remember]]]) / float(num_remember)
        pure_ratio_2 = np.sum(noise_or_not[ind[ind_2_sorted[:num_remember]]]) / float(num_remember)
        ind_1_update = ind_1_sorted[:num_remember]
        ind_2_update = ind_2_sorted[:num_remember]
        loss_1_update = F.cross_entropy(y_1[ind_2_update], t[ind_2_update])
        loss_2_update = F.cross_entropy(y_2[ind_1_update], t[ind_1_update])
        return (torch.sum(loss_1_update) / num_remember, torch.sum(loss_2_update) / num_remember,
                pure_ratio_1, pure_ratio_2, loss_2_sorted.sum().item())  # fmt: skip

    def accuracy(logit: Any, target: Any, topk: tuple = (1,)) -> list:
        output = F.softmax(logit, dim=1)
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res

    rng = np.random.default_rng(31)
    images_np = rng.normal(size=(N_TRAIN, 1, 12, 12))
    clean = (images_np[:, 0, :6].mean(axis=(1, 2)) > 0).astype(np.int64) * 2 + (
        images_np[:, 0, :, :6].mean(axis=(1, 2)) > 0
    ).astype(np.int64)
    flip = rng.random(N_TRAIN) < 0.3
    noisy = np.where(flip, (clean + rng.integers(1, N_CLASSES, N_TRAIN)) % N_CLASSES, clean)
    noise_or_not = noisy == clean

    mom1, mom2 = 0.9, 0.1
    alpha_plan = [args.lr] * args.n_epoch
    beta1_plan = [mom1] * args.n_epoch
    for i in range(args.epoch_decay_start, args.n_epoch):
        alpha_plan[i] = float(args.n_epoch - i) / (args.n_epoch - args.epoch_decay_start) * args.lr
        beta1_plan[i] = mom2

    def adjust_learning_rate(optimizer: Any, epoch: int) -> None:
        for param_group in optimizer.param_groups:
            param_group["lr"] = alpha_plan[epoch]
            param_group["betas"] = (beta1_plan[epoch], 0.999)

    rate_schedule = np.ones(args.n_epoch) * args.forget_rate
    rate_schedule[: args.num_gradual] = np.linspace(
        0, args.forget_rate**args.exponent, args.num_gradual
    )

    cnn1, cnn2 = make_model(torch_like), make_model(torch_like)
    load_numpy_state(torch_like, cnn1, init)
    load_numpy_state(torch_like, cnn2, {k: v * 0.9 if v.dtype.kind == "f" else v
                                        for k, v in init.items()})  # fmt: skip
    optimizer1 = torch.optim.Adam(cnn1.parameters(), lr=args.lr)
    optimizer2 = torch.optim.Adam(cnn2.parameters(), lr=args.lr)
    values: list[float] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(args.n_epoch):
            cnn1.train()
            adjust_learning_rate(optimizer1, epoch)
            cnn2.train()
            adjust_learning_rate(optimizer2, epoch)
            order = rng.permutation(N_TRAIN)
            for i in range(N_TRAIN // BATCH):
                indexes = as_tensor(torch_like, order[i * BATCH : (i + 1) * BATCH])
                ind = indexes.cpu().numpy().transpose()
                images = Variable(as_tensor(torch_like, images_np[ind]))
                labels = Variable(as_tensor(torch_like, noisy[ind]))
                logits1 = cnn1(images)
                prec1, _ = accuracy(logits1, labels, topk=(1, 2))
                logits2 = cnn2(images)
                prec2, _ = accuracy(logits2, labels, topk=(1, 2))
                loss_1, loss_2, pure_ratio_1, pure_ratio_2, sorted_sum = loss_coteaching(
                    logits1, logits2, labels, rate_schedule[epoch], ind, noise_or_not
                )
                optimizer1.zero_grad()
                loss_1.backward()
                optimizer1.step()
                optimizer2.zero_grad()
                loss_2.backward()
                optimizer2.step()
                values += [loss_1.item(), loss_2.item(), 100 * pure_ratio_1, 100 * pure_ratio_2]
                values += [prec1.item(), prec2.item(), sorted_sum]
            cnn1.eval()
            with torch.no_grad():
                outputs = cnn1(Variable(as_tensor(torch_like, images_np)))
                _, pred = torch.max(outputs.data, 1)
                values.append((pred.cpu() == as_tensor(torch_like, clean)).sum().item())
    values.append(sum("size_average and reduce" in str(w.message) for w in caught))
    return values
