"""Tarvainen & Valpola 2017 "Mean teachers are better role models" as CuriousAI/mean-teacher
(``pytorch/main.py``, ``pytorch/mean_teacher/losses.py``, ``ramps.py``, ``architectures.py``)
writes it, size-reduced.

The idioms: ``create_model(ema=True)`` detaching every parameter in place (``param.detach_()``);
``cifar_cnn13``-style ``convlarge`` layers under the old ``weight_norm`` hook (``from
torch.nn.utils import weight_norm``) with ``nn.LeakyReLU(0.1)``, ``MaxPool2d(2, stride=2,
padding=0)``, ``AvgPool2d``, ``x.view(-1, n)`` and two heads (``return self.fc1(x),
self.fc2(x)``); ``update_ema_variables`` with ``alpha = min(1 - 1 / (global_step + 1), alpha)``
and the deprecated overload ``ema_param.data.mul_(alpha).add_(1 - alpha, param.data)``;
``softmax_mse_loss`` (``F.mse_loss(input_softmax, target_softmax, size_average=False) /
num_classes``), ``softmax_kl_loss`` (``F.kl_div(input_log_softmax, target_softmax,
size_average=False)``) and ``symmetric_mse_loss``; ``nn.CrossEntropyLoss(size_average=False,
ignore_index=NO_LABEL)`` with ``NO_LABEL = -1`` for the unlabeled half;
``target_var.data.ne(NO_LABEL).sum()``; ``ema_logit = Variable(ema_logit.detach().data,
requires_grad=False)``; ``ramps.sigmoid_rampup`` (``np.clip``, ``float(np.exp(-5.0 * phase *
phase))``), ``linear_rampup`` and ``cosine_rampdown`` driving ``adjust_learning_rate``'s
``param_group['lr'] = lr``; ``accuracy`` (``output.topk(maxk, 1, True, True)``, ``pred.t()``,
``pred.eq(target.view(1, -1).expand_as(pred))``, ``correct_k.mul_(100.0 /
labeled_minibatch_size)``); SGD with ``nesterov=True``.

Changed: CIFAR-10 and the 13-layer net -> 3x6x6 NumPy images of 3 classes and two conv layers
(widths 4/6), dropout 0 (the generators differ); ``TransformTwice``'s two augmentations are two
NumPy noise draws; ``loss.data[0]`` -> ``loss.item()`` and ``correct[:k].view(-1)`` ->
``.reshape(-1)`` (both fail in current PyTorch); the deprecation warnings the 2017 code raises
(``size_average``, the scale-first ``add_``, the old ``weight_norm``) are silenced around the
calls; 4 steps of batch 6 (3 labeled), both consistency losses.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NO_LABEL = -1
N_CLASSES, BATCH, EMA_DECAY, CONSISTENCY, CONSISTENCY_RAMPUP = 3, 6, 0.95, 10.0, 3
LR, INITIAL_LR, LR_RAMPUP, LR_RAMPDOWN, LOGIT_DISTANCE_COST = 0.05, 0.01, 2, 6, 0.01


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class CNN(nn.Module):
        def __init__(self, num_classes: int = 10) -> None:
            super().__init__()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                weight_norm = torch_like.nn.utils.weight_norm
                self.conv1a = weight_norm(nn.Conv2d(3, 4, 3, padding=1))
                self.bn1a = nn.BatchNorm2d(4)
                self.activation = nn.LeakyReLU(0.1)
                self.mp1 = nn.MaxPool2d(2, stride=2, padding=0)
                self.drop1 = nn.Dropout(0.0)
                self.conv2a = weight_norm(nn.Conv2d(4, 6, 3, padding=0))
                self.bn2a = nn.BatchNorm2d(6)
                self.ap3 = nn.AvgPool2d(1, stride=2, padding=0)
                self.fc1 = weight_norm(nn.Linear(6, num_classes))
                self.fc2 = weight_norm(nn.Linear(6, num_classes))

        def forward(self, x: Any) -> tuple[Any, Any]:
            x = self.activation(self.bn1a(self.conv1a(x)))
            x = self.drop1(self.mp1(x))
            x = self.activation(self.bn2a(self.conv2a(x)))
            x = self.ap3(x)
            x = x.view(-1, 6)
            return self.fc1(x), self.fc2(x)

    return CNN(N_CLASSES)


def sigmoid_rampup(current: float, rampup_length: float) -> float:
    """Exponential rampup from https://arxiv.org/abs/1610.02242"""
    if rampup_length == 0:
        return 1.0
    current = np.clip(current, 0.0, rampup_length)
    phase = 1.0 - current / rampup_length
    return float(np.exp(-5.0 * phase * phase))


def linear_rampup(current: float, rampup_length: float) -> float:
    """Linear rampup"""
    assert current >= 0 and rampup_length >= 0
    if current >= rampup_length:
        return 1.0
    return current / rampup_length


def cosine_rampdown(current: float, rampdown_length: float) -> float:
    """Cosine rampdown from https://arxiv.org/abs/1608.03983"""
    assert 0 <= current <= rampdown_length
    return float(0.5 * (np.cos(np.pi * current / rampdown_length) + 1))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Variable = torch_like.autograd.Variable
    rng = np.random.default_rng(43)

    def create_model(ema: bool = False) -> Any:
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        if ema:
            for param in model.parameters():
                param.detach_()
        return model

    def softmax_mse_loss(input_logits: Any, target_logits: Any) -> Any:
        assert input_logits.size() == target_logits.size()
        input_softmax = F.softmax(input_logits, dim=1)
        target_softmax = F.softmax(target_logits, dim=1)
        num_classes = input_logits.size()[1]
        return F.mse_loss(input_softmax, target_softmax, size_average=False) / num_classes

    def softmax_kl_loss(input_logits: Any, target_logits: Any) -> Any:
        assert input_logits.size() == target_logits.size()
        input_log_softmax = F.log_softmax(input_logits, dim=1)
        target_softmax = F.softmax(target_logits, dim=1)
        return F.kl_div(input_log_softmax, target_softmax, size_average=False)

    def symmetric_mse_loss(input1: Any, input2: Any) -> Any:
        assert input1.size() == input2.size()
        num_classes = input1.size()[1]
        return torch.sum((input1 - input2) ** 2) / num_classes

    def update_ema_variables(model: Any, ema_model: Any, alpha: float, global_step: int):
        # Use the true average until the exponential average is more correct
        alpha = min(1 - 1 / (global_step + 1), alpha)
        for ema_param, param in zip(ema_model.parameters(), model.parameters()):
            ema_param.data.mul_(alpha).add_(1 - alpha, param.data)

    def adjust_learning_rate(optimizer: Any, epoch: int, step_in_epoch: int, total: int):
        epoch = epoch + step_in_epoch / total
        lr = linear_rampup(epoch, LR_RAMPUP) * (LR - INITIAL_LR) + INITIAL_LR
        lr *= cosine_rampdown(epoch, LR_RAMPDOWN)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr

    def accuracy(output: Any, target: Any, topk: tuple = (1,)) -> list:
        maxk = max(topk)
        labeled_minibatch_size = max(target.ne(NO_LABEL).sum(), 1e-8)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / labeled_minibatch_size))
        return res

    model = create_model()
    ema_model = create_model(ema=True)
    optimizer = torch.optim.SGD(
        model.parameters(), INITIAL_LR, momentum=0.9, weight_decay=1e-4, nesterov=True
    )
    with warnings.catch_warnings():  # size_average=False: deprecated since 2018
        warnings.simplefilter("ignore", UserWarning)
        class_criterion = nn.CrossEntropyLoss(size_average=False, ignore_index=NO_LABEL)
    residual_logit_criterion = symmetric_mse_loss
    protos = rng.random((N_CLASSES, 3, 6, 6))
    values: list[float] = []
    global_step = 0
    model.train()
    ema_model.train()
    for i in range(4):
        epoch, steps = i // 2, 2
        labels = rng.integers(0, N_CLASSES, BATCH)
        clean = protos[labels]
        input = as_tensor(torch, clean + 0.2 * rng.standard_normal(clean.shape))
        ema_input = as_tensor(torch, clean + 0.2 * rng.standard_normal(clean.shape))
        target = torch.from_numpy(np.where(np.arange(BATCH) % 2 == 0, labels, NO_LABEL))
        consistency_criterion = softmax_mse_loss if i % 2 == 0 else softmax_kl_loss
        adjust_learning_rate(optimizer, epoch, i % steps, steps)
        input_var = torch.autograd.Variable(input)
        with torch.no_grad():
            ema_input_var = torch.autograd.Variable(ema_input)
        target_var = torch.autograd.Variable(target)
        minibatch_size = len(target_var)
        labeled_minibatch_size = target_var.data.ne(NO_LABEL).sum()
        assert labeled_minibatch_size > 0
        ema_model_out = ema_model(ema_input_var)
        model_out = model(input_var)
        assert len(model_out) == 2
        assert len(ema_model_out) == 2
        logit1, logit2 = model_out
        ema_logit, _ = ema_model_out
        ema_logit = Variable(ema_logit.detach().data, requires_grad=False)
        class_logit, cons_logit = logit1, logit2
        with warnings.catch_warnings():  # size_average=False: deprecated since 2018
            warnings.simplefilter("ignore", UserWarning)
            res_loss = (
                LOGIT_DISTANCE_COST * residual_logit_criterion(class_logit, cons_logit)
            ) / minibatch_size
            class_loss = class_criterion(class_logit, target_var) / minibatch_size
            ema_class_loss = class_criterion(ema_logit, target_var) / minibatch_size
            consistency_weight = CONSISTENCY * sigmoid_rampup(
                epoch + i % steps / steps, CONSISTENCY_RAMPUP
            )
            consistency_loss = (
                consistency_weight * consistency_criterion(cons_logit, ema_logit) / minibatch_size
            )
        loss = class_loss + consistency_loss + res_loss
        assert not (np.isnan(loss.item()) or loss.item() > 1e5), f"Loss explosion: {loss.item()}"
        prec1, prec2 = accuracy(class_logit.data, target_var.data, topk=(1, 2))
        ema_prec1, _ = accuracy(ema_logit.data, target_var.data, topk=(1, 2))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        global_step += 1
        with warnings.catch_warnings():  # the scale-first add_ overload (deprecated)
            warnings.simplefilter("ignore", UserWarning)
            update_ema_variables(model, ema_model, EMA_DECAY, global_step)
        values += [loss.item(), class_loss.item(), ema_class_loss.item(), consistency_loss.item()]
        values += [res_loss.item(), prec1.item(), prec2.item(), ema_prec1.item()]
        values.append(optimizer.param_groups[0]["lr"])
    ema_model.eval()
    with torch.no_grad():
        out, _ = ema_model(as_tensor(torch, protos))
    values += out.flatten().tolist()
    values += [float(p.requires_grad) for p in ema_model.parameters()][:2]
    return values
