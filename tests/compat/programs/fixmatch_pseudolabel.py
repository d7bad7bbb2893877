"""Semi-supervised training steps as kekmodel/FixMatch-pytorch (``train.py``,
``models/ema.py``) and YU1ut/MixMatch-pytorch (``train.py``) write them, size-reduced.

The idioms: FixMatch's ``interleave``/``de_interleave`` (``s = list(x.shape)``, ``x.reshape([-1,
size] + s[1:]).transpose(0, 1).reshape([-1] + s[1:])`` so BatchNorm sees one mixed batch),
``torch.cat((inputs_x, inputs_u_w, inputs_u_s))``, ``logits[batch_size:].chunk(2)``, the
pseudo-labels ``torch.softmax(logits_u_w.detach()/args.T, dim=-1)``, ``max_probs, targets_u =
torch.max(pseudo_label, dim=-1)``, ``mask = max_probs.ge(args.threshold).float()``, ``Lu =
(F.cross_entropy(logits_u_s, targets_u, reduction='none') * mask).mean()``; the parameter
groups without weight decay for biases and BatchNorm (``no_decay = ['bias', 'bn']``, ``any(nd
in n for nd in no_decay)``), ``optim.SGD(..., momentum=0.9, nesterov=True)`` and
``get_cosine_schedule_with_warmup`` (a ``LambdaLR`` with ``num_cycles=7./16.`` and ``max(0.,
math.cos(math.pi * num_cycles * no_progress))``); ``ModelEMA`` (``deepcopy(model)``,
``p.requires_grad_(False)``, ``param_keys``/``buffer_keys`` from ``named_parameters``/
``named_buffers``, ``esd[k].copy_(ema_v * self.decay + (1. - self.decay) * model_v)`` under
``torch.no_grad()``); MixMatch's sharpened guess (``p = (torch.softmax(outputs_u, dim=1) +
torch.softmax(outputs_u2, dim=1)) / 2``, ``pt = p**(1/args.T)``, ``pt / pt.sum(dim=1,
keepdim=True)``), one-hot targets ``torch.zeros(batch_size, n).scatter_(1, targets_x.view(-1,
1).long(), 1)``, mixup with ``l = np.random.beta(args.alpha, args.alpha)``, ``l = max(l, 1-l)``
and a permutation, the list ``interleave_offsets``/``interleave`` (``xy[0][i], xy[i][i] =
xy[i][i], xy[0][i]``) over ``list(torch.split(mixed_input, batch_size))``, ``SemiLoss``
(``-torch.mean(torch.sum(F.log_softmax(outputs_x, dim=1) * targets_x, dim=1))``,
``torch.mean((probs_u - targets_u)**2)``, ``linear_rampup`` with ``np.clip``) and
``WeightEMA`` (``ema_param.mul_(self.alpha)``, ``ema_param.add_(param * one_minus_alpha)``,
``param.mul_(1 - self.wd)``) next to the ``param.mul_(decay).add_(p, alpha=1 - decay)`` form.

The augmentations are tensor ops: a flip (``torch.flip(x, dims=[3])`` picked per image with
``torch.where``), a random crop (``F.pad(x, (2, 2, 2, 2), mode="reflect")`` and slicing), noise
and a cutout mask for the strong view, with NumPy's generator choosing.

Changed: WideResNet-28-2 -> a one-block BatchNorm CNN, CIFAR-10 -> 3x6x6 NumPy images of 3
classes, batch 64 (mu 7) -> 2 (mu 2), 2**20 steps -> 3 FixMatch and 2 MixMatch steps;
``WeightEMA``'s ``ema_param.dtype==torch.float32`` test reads ``is_floating_point()`` (the run
is in float64); ``torch.randperm`` is a NumPy permutation (the generators differ).
"""

from __future__ import annotations

import math
from copy import deepcopy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_CLASSES, BATCH, MU, THRESHOLD, T, LAMBDA_U = 3, 2, 2, 0.4, 1.0, 1.0
LR, WDECAY, WARMUP, TOTAL_STEPS, EMA_DECAY = 0.05, 5e-4, 1, 4, 0.9
MM_T, MM_ALPHA, MM_LAMBDA_U, MM_EPOCHS = 0.5, 0.75, 75.0, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class WideResNet(nn.Module):
        """Stands in for ``models.wideresnet.build_wideresnet(depth=28, widen_factor=2)``."""

        def __init__(self, num_classes: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4, momentum=0.001)
            self.relu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
            self.fc = nn.Linear(4, num_classes)

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = torch_like.nn.functional.adaptive_avg_pool2d(out, 1)
            out = out.view(-1, 4)
            return self.fc(out)

    return WideResNet(N_CLASSES)


def interleave(x: Any, size: int) -> Any:
    s = list(x.shape)
    return x.reshape([-1, size] + s[1:]).transpose(0, 1).reshape([-1] + s[1:])


def de_interleave(x: Any, size: int) -> Any:
    s = list(x.shape)
    return x.reshape([size, -1] + s[1:]).transpose(0, 1).reshape([-1] + s[1:])


def interleave_offsets(batch: int, nu: int) -> list[int]:
    groups = [batch // (nu + 1)] * (nu + 1)
    for x in range(batch - sum(groups)):
        groups[-x - 1] += 1
    offsets = [0]
    for g in groups:
        offsets.append(offsets[-1] + g)
    assert offsets[-1] == batch
    return offsets


def interleave_list(torch_like: Any, xy: list, batch: int) -> list:
    nu = len(xy) - 1
    offsets = interleave_offsets(batch, nu)
    xy = [[v[offsets[p] : offsets[p + 1]] for p in range(nu + 1)] for v in xy]
    for i in range(1, nu + 1):
        xy[0][i], xy[i][i] = xy[i][i], xy[0][i]
    return [torch_like.cat(v, dim=0) for v in xy]


def get_cosine_schedule_with_warmup(
    torch_like: Any, optimizer, num_warmup_steps, num_training_steps, num_cycles=7.0 / 16.0
):
    def _lr_lambda(current_step: int) -> float:
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        no_progress = float(current_step - num_warmup_steps) / float(
            max(1, num_training_steps - num_warmup_steps)
        )
        return max(0.0, math.cos(math.pi * num_cycles * no_progress))

    return torch_like.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda, -1)


class ModelEMA:
    def __init__(self, torch_like: Any, model: Any, decay: float) -> None:
        self.torch = torch_like
        self.ema = deepcopy(model)
        self.ema.eval()
        self.decay = decay
        self.ema_has_module = hasattr(self.ema, "module")
        self.param_keys = [k for k, _ in self.ema.named_parameters()]
        self.buffer_keys = [k for k, _ in self.ema.named_buffers()]
        for p in self.ema.parameters():
            p.requires_grad_(False)

    def update(self, model: Any) -> None:
        needs_module = hasattr(model, "module") and not self.ema_has_module
        with self.torch.no_grad():
            msd = model.state_dict()
            esd = self.ema.state_dict()
            for k in self.param_keys:
                j = "module." + k if needs_module else k
                model_v = msd[j].detach()
                ema_v = esd[k]
                esd[k].copy_(ema_v * self.decay + (1.0 - self.decay) * model_v)
            for k in self.buffer_keys:
                j = "module." + k if needs_module else k
                esd[k].copy_(msd[j])


class WeightEMA:
    def __init__(self, model: Any, ema_model: Any, alpha: float = 0.999, lr: float = LR) -> None:
        self.model = model
        self.ema_model = ema_model
        self.alpha = alpha
        self.params = list(model.state_dict().values())
        self.ema_params = list(ema_model.state_dict().values())
        self.wd = 0.02 * lr
        for param, ema_param in zip(self.params, self.ema_params, strict=True):
            param.data.copy_(ema_param.data)

    def step(self) -> None:
        one_minus_alpha = 1.0 - self.alpha
        for param, ema_param in zip(self.params, self.ema_params, strict=True):
            if ema_param.is_floating_point():
                ema_param.mul_(self.alpha)
                ema_param.add_(param * one_minus_alpha)
                # customized weight decay
                param.mul_(1 - self.wd)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(3)
    values: list[float] = []

    def weak(x: Any) -> Any:
        flip = as_tensor(torch, rng.random(x.shape[0]) < 0.5)
        x = torch.where(flip[:, None, None, None], torch.flip(x, dims=[3]), x)
        padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
        offsets = rng.integers(0, 5, size=(x.shape[0], 2))
        return torch.stack(
            [padded[i, :, a : a + 6, b : b + 6] for i, (a, b) in enumerate(offsets.tolist())]
        )

    def strong(x: Any) -> Any:
        x = weak(x) + 0.3 * as_tensor(torch, rng.standard_normal(tuple(x.shape)))
        keep = np.ones((x.shape[0], 1, 6, 6))
        for i, (a, b) in enumerate(rng.integers(0, 4, size=(x.shape[0], 2)).tolist()):
            keep[i, :, a : a + 3, b : b + 3] = 0.0  # cutout
        return x * as_tensor(torch, keep)

    # ---- FixMatch -------------------------------------------------------------------------
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    no_decay = ["bias", "bn"]
    grouped_parameters = [
        {
            "params": [
                p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)
            ],
            "weight_decay": WDECAY,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.SGD(grouped_parameters, lr=LR, momentum=0.9, nesterov=True)
    scheduler = get_cosine_schedule_with_warmup(torch, optimizer, WARMUP, TOTAL_STEPS)
    ema_model = ModelEMA(torch, model, EMA_DECAY)
    model.zero_grad()
    model.train()
    for _step in range(3):
        raw_x = as_tensor(torch, rng.random((BATCH, 3, 6, 6)))
        targets_x = as_tensor(torch, rng.integers(0, N_CLASSES, size=BATCH))
        raw_u = as_tensor(torch, rng.random((BATCH * MU, 3, 6, 6)))
        inputs_x, inputs_u_w, inputs_u_s = weak(raw_x), weak(raw_u), strong(raw_u)
        batch_size = inputs_x.shape[0]
        inputs = interleave(torch.cat((inputs_x, inputs_u_w, inputs_u_s)), 2 * MU + 1)
        logits = model(inputs)
        logits = de_interleave(logits, 2 * MU + 1)
        logits_x = logits[:batch_size]
        logits_u_w, logits_u_s = logits[batch_size:].chunk(2)
        del logits

        Lx = F.cross_entropy(logits_x, targets_x, reduction="mean")
        pseudo_label = torch.softmax(logits_u_w.detach() / T, dim=-1)
        max_probs, targets_u = torch.max(pseudo_label, dim=-1)
        mask = max_probs.ge(THRESHOLD).float()
        Lu = (F.cross_entropy(logits_u_s, targets_u, reduction="none") * mask).mean()
        loss = Lx + LAMBDA_U * Lu
        loss.backward()
        optimizer.step()
        scheduler.step()
        ema_model.update(model)
        model.zero_grad()
        values += [loss.item(), Lx.item(), Lu.item(), mask.mean().item()]
        values += [scheduler.get_last_lr()[0], float(targets_u.sum())]
    ema_model.ema.eval()
    with torch.no_grad():
        values.append(ema_model.ema(inputs_x).sum().item())
        values.append(ema_model.ema.bn1.running_var.sum().item())

    # ---- MixMatch --------------------------------------------------------------------------
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    ema = make_model(torch_like)
    load_numpy_state(torch_like, ema, init)
    for param in ema.parameters():
        param.detach_()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    ema_optimizer = WeightEMA(model, ema, alpha=0.9)
    model.train()
    train_iteration = 2
    for batch_idx in range(train_iteration):
        epoch = 1
        inputs_x = weak(as_tensor(torch, rng.random((BATCH, 3, 6, 6))))
        targets_x = as_tensor(torch, rng.integers(0, N_CLASSES, size=BATCH))
        raw_u = as_tensor(torch, rng.random((BATCH, 3, 6, 6)))
        inputs_u, inputs_u2 = weak(raw_u), weak(raw_u)
        batch_size = inputs_x.size(0)
        targets_x = torch.zeros(batch_size, N_CLASSES).scatter_(1, targets_x.view(-1, 1).long(), 1)
        with torch.no_grad():
            outputs_u = model(inputs_u)
            outputs_u2 = model(inputs_u2)
            p = (torch.softmax(outputs_u, dim=1) + torch.softmax(outputs_u2, dim=1)) / 2
            pt = p ** (1 / MM_T)
            targets_u = pt / pt.sum(dim=1, keepdim=True)
            targets_u = targets_u.detach()

        all_inputs = torch.cat([inputs_x, inputs_u, inputs_u2], dim=0)
        all_targets = torch.cat([targets_x, targets_u, targets_u], dim=0)
        l = rng.beta(MM_ALPHA, MM_ALPHA)  # noqa: E741 (as in the repository)
        l = max(l, 1 - l)  # noqa: E741
        idx = as_tensor(torch, rng.permutation(all_inputs.size(0)))
        input_a, input_b = all_inputs, all_inputs[idx]
        target_a, target_b = all_targets, all_targets[idx]
        mixed_input = l * input_a + (1 - l) * input_b
        mixed_target = l * target_a + (1 - l) * target_b

        # interleave labeled and unlabed samples between batches to get correct batchnorm
        mixed_input = list(torch.split(mixed_input, batch_size))
        mixed_input = interleave_list(torch, mixed_input, batch_size)
        logits = [model(mixed_input[0])]
        for input in mixed_input[1:]:
            logits.append(model(input))
        logits = interleave_list(torch, logits, batch_size)
        logits_x = logits[0]
        logits_u = torch.cat(logits[1:], dim=0)

        current = epoch + batch_idx / train_iteration
        rampup = float(np.clip(current / MM_EPOCHS, 0.0, 1.0))
        probs_u = torch.softmax(logits_u, dim=1)
        Lx = -torch.mean(
            torch.sum(F.log_softmax(logits_x, dim=1) * mixed_target[:batch_size], dim=1)
        )
        Lu = torch.mean((probs_u - mixed_target[batch_size:]) ** 2)
        loss = Lx + MM_LAMBDA_U * rampup * Lu
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema_optimizer.step()
        values += [loss.item(), Lx.item(), Lu.item()]
    with torch.no_grad():
        # the one-line EMA many re-implementations write instead of ``WeightEMA``
        for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
            p_ema.mul_(EMA_DECAY).add_(p, alpha=1 - EMA_DECAY)
    values.append(sum(p.sum().item() for p in ema.parameters()))
    values.append(ema.bn1.running_mean.sum().item())
    return values
