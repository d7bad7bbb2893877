"""ConvMixer ("Patches Are All You Need?"), as locuslab/convmixer (``convmixer.py``) and
locuslab/convmixer-cifar10 (``train.py``) write it, trained with the timm recipe pieces the
paper uses (``timm/loss/cross_entropy.py``: ``LabelSmoothingCrossEntropy``,
``SoftTargetCrossEntropy``; ``timm/data/mixup.py``: ``one_hot``, ``mixup_target``,
``rand_bbox``, ``Mixup._mix_batch``), size-reduced.

The idioms: ``Residual`` (``self.fn(x) + x``); the ``ConvMixer`` factory as one
``nn.Sequential`` (patch embedding ``nn.Conv2d(3, dim, kernel_size=patch_size,
stride=patch_size)``, ``nn.GELU()``, ``nn.BatchNorm2d(dim)``, a list comprehension of blocks
unpacked with ``*[...]``: the depthwise ``nn.Conv2d(dim, dim, kernel_size, groups=dim,
padding="same")`` inside ``Residual``, then the pointwise ``nn.Conv2d(dim, dim,
kernel_size=1)``; ``nn.AdaptiveAvgPool2d((1,1))``, ``nn.Flatten()``); the CIFAR script's
piecewise-linear schedule ``lr_schedule = lambda t: np.interp([t], [0, epochs*2//5,
epochs*4//5, epochs], [0, lr_max, lr_max/20.0, 0])[0]`` applied with
``opt.param_groups[0].update(lr=lr)``, ``optim.AdamW(model.parameters(), lr=args.lr_max,
weight_decay=args.wd)``, ``nn.utils.clip_grad_norm_(model.parameters(), 1.0)`` after
``scaler.unscale_(opt)`` (a disabled ``GradScaler``), ``train_loss += loss.item() *
y.size(0)``, ``(output.max(1)[1] == y).sum().item()``; the timm side: ``one_hot`` as
``torch.full((x.size()[0], num_classes), off_value, device=device).scatter_(1, x, on_value)``
with ``x.long().view(-1, 1)``, ``mixup_target`` (``y1 * lam + y2 * (1. - lam)`` with ``y2`` the
flipped targets), mixup as ``x_flipped = x.flip(0).mul_(1. - lam)``, ``x.mul_(lam).add_(
x_flipped)``, CutMix as ``x[:, :, yl:yh, xl:xh] = x.flip(0)[:, :, yl:yh, xl:xh]`` from
``rand_bbox`` (``np.sqrt(1 - lam)``, ``np.clip``) and ``lam = 1. - (yu - yl) * (xu - xl) /
float(img_shape[-2] * img_shape[-1])``; ``SoftTargetCrossEntropy`` (``torch.sum(-target *
F.log_softmax(x, dim=-1), dim=-1).mean()``); ``LabelSmoothingCrossEntropy`` (``-logprobs.gather(
dim=-1, index=target.unsqueeze(1))``, ``self.confidence * nll_loss + self.smoothing *
smooth_loss``) checked against ``nn.CrossEntropyLoss(label_smoothing=0.1)``; a second model
under ``torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=..., epochs=..., steps_per_epoch=...,
pct_start=0.25)`` (cycling AdamW's ``betas``); evaluation under ``model.eval()`` and
``torch.no_grad()``.

Changed: ConvMixer-8/2 with kernel 5 and patch 2 on 8 x 8 NumPy images, 4 classes; the mixup
coin flips and ``np.random.beta`` draws come from a seeded NumPy generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, DEPTH, KS, PATCH, NCLS, IMG, BS, EPOCHS, ITERS = 8, 2, 5, 2, 4, 8, 6, 3, 2
LR_MAX, WD, SMOOTHING = 0.01, 0.005, 0.1


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Residual(nn.Module):
        def __init__(self, fn: Any) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, x: Any) -> Any:
            return self.fn(x) + x

    def ConvMixer(dim, depth, kernel_size=9, patch_size=7, n_classes=1000):  # noqa: ANN001, ANN202, N802
        return nn.Sequential(
            nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size),
            nn.GELU(),
            nn.BatchNorm2d(dim),
            *[
                nn.Sequential(
                    Residual(
                        nn.Sequential(
                            nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                            nn.GELU(),
                            nn.BatchNorm2d(dim),
                        )
                    ),
                    nn.Conv2d(dim, dim, kernel_size=1),
                    nn.GELU(),
                    nn.BatchNorm2d(dim),
                )
                for i in range(depth)
            ],
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
            nn.Linear(dim, n_classes),
        )

    return nn.ModuleList(
        [
            ConvMixer(DIM, DEPTH, kernel_size=KS, patch_size=PATCH, n_classes=NCLS),
            ConvMixer(DIM, DEPTH, kernel_size=KS - 1, patch_size=PATCH, n_classes=NCLS),
        ]
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class LabelSmoothingCrossEntropy(nn.Module):
        def __init__(self, smoothing: float = 0.1) -> None:
            super().__init__()
            assert smoothing < 1.0
            self.smoothing = smoothing
            self.confidence = 1.0 - smoothing

        def forward(self, x: Any, target: Any) -> Any:
            logprobs = F.log_softmax(x, dim=-1)
            nll_loss = -logprobs.gather(dim=-1, index=target.unsqueeze(1))
            nll_loss = nll_loss.squeeze(1)
            smooth_loss = -logprobs.mean(dim=-1)
            loss = self.confidence * nll_loss + self.smoothing * smooth_loss
            return loss.mean()

    class SoftTargetCrossEntropy(nn.Module):
        def forward(self, x: Any, target: Any) -> Any:
            loss = torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1)
            return loss.mean()

    def one_hot(x, num_classes, on_value=1.0, off_value=0.0, device="cpu"):  # noqa: ANN001
        x = x.long().view(-1, 1)
        return torch.full((x.size()[0], num_classes), off_value, device=device).scatter_(
            1, x, on_value
        )

    def mixup_target(target, num_classes, lam=1.0, smoothing=0.0, device="cpu"):  # noqa: ANN001
        off_value = smoothing / num_classes
        on_value = 1.0 - smoothing + off_value
        y1 = one_hot(target, num_classes, on_value=on_value, off_value=off_value, device=device)
        y2 = one_hot(
            target.flip(0), num_classes, on_value=on_value, off_value=off_value, device=device
        )
        return y1 * lam + y2 * (1.0 - lam)

    def rand_bbox(img_shape, lam, rng, margin=0.0, count=None):  # noqa: ANN001
        ratio = np.sqrt(1 - lam)
        img_h, img_w = img_shape[-2:]
        cut_h, cut_w = int(img_h * ratio), int(img_w * ratio)
        margin_y, margin_x = int(margin * cut_h), int(margin * cut_w)
        cy = rng.integers(0 + margin_y, img_h - margin_y, size=count)
        cx = rng.integers(0 + margin_x, img_w - margin_x, size=count)
        yl = np.clip(cy - cut_h // 2, 0, img_h)
        yh = np.clip(cy + cut_h // 2, 0, img_h)
        xl = np.clip(cx - cut_w // 2, 0, img_w)
        xh = np.clip(cx + cut_w // 2, 0, img_w)
        return yl, yh, xl, xh

    def mix_batch(x, target, rng):  # noqa: ANN001
        lam = float(rng.beta(0.8, 0.8))
        if rng.uniform() < 0.5:  # CutMix
            yl, yh, xl, xh = rand_bbox(x.shape, lam, rng)
            x[:, :, yl:yh, xl:xh] = x.flip(0)[:, :, yl:yh, xl:xh]
            lam = 1.0 - (yh - yl) * (xh - xl) / float(x.shape[-2] * x.shape[-1])
        else:  # Mixup
            x_flipped = x.flip(0).mul_(1.0 - lam)
            x.mul_(lam).add_(x_flipped)
        return x, mixup_target(target, NCLS, lam, SMOOTHING)

    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    model, model2 = models[0], models[1]
    rng = np.random.default_rng(7)
    lr_schedule = lambda t: np.interp(  # noqa: E731
        [t], [0, EPOCHS * 2 // 5, EPOCHS * 4 // 5, EPOCHS], [0, LR_MAX, LR_MAX / 20.0, 0]
    )[0]
    opt = torch.optim.AdamW(model.parameters(), lr=LR_MAX, weight_decay=WD)
    opt2 = torch.optim.AdamW(model2.parameters(), lr=LR_MAX, weight_decay=WD)
    sched2 = torch.optim.lr_scheduler.OneCycleLR(
        opt2, max_lr=LR_MAX, epochs=EPOCHS, steps_per_epoch=ITERS, pct_start=0.25
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=SMOOTHING)
    ls_ce = LabelSmoothingCrossEntropy(SMOOTHING)
    soft_ce = SoftTargetCrossEntropy()
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    values: list[float] = []
    for epoch in range(EPOCHS):
        train_loss, train_acc, n = 0.0, 0, 0
        for i in range(ITERS):
            X = as_tensor(torch, rng.standard_normal((BS, 3, IMG, IMG)))
            y = as_tensor(torch, rng.integers(0, NCLS, BS))
            lr = lr_schedule(epoch + (i + 1) / ITERS)
            opt.param_groups[0].update(lr=lr)
            opt.zero_grad()
            output = model(X)
            loss = criterion(output, y)
            values.append(ls_ce(output, y).item() - loss.item())
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            train_loss += loss.item() * y.size(0)
            train_acc += (output.max(1)[1] == y).sum().item()
            n += y.size(0)

            # the timm recipe: mixup / cutmix with soft targets, OneCycleLR
            Xm, ym = mix_batch(X.clone(), y, rng)
            out2 = model2(Xm)
            loss2 = soft_ce(out2, ym)
            opt2.zero_grad()
            loss2.backward()
            opt2.step()
            sched2.step()
            values += [loss2.item(), sched2.get_last_lr()[0], opt2.param_groups[0]["betas"][0]]
        values += [train_loss / n, train_acc / n]
    for m in (model, model2):
        m.eval()
        with torch.no_grad():
            X = as_tensor(torch, rng.standard_normal((BS, 3, IMG, IMG)))
            values.append(m(X).softmax(-1).max(1)[0].sum().item())
    return values
