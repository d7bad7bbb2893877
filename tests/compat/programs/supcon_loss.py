"""Supervised contrastive learning as HobbitLong/SupContrast writes it (``losses.py``,
``main_supcon.py``, ``main_linear.py``, ``networks/resnet_big.py``, ``util.py``),
size-reduced.

The idioms: ``SupConLoss`` (the ``[bsz, n_views, ...]`` shape checks with ``ValueError``,
``features.view(features.shape[0], features.shape[1], -1)``, ``labels.contiguous().view(-1, 1)``,
``mask = torch.eq(labels, labels.T).float().to(device)``, the SimCLR default ``torch.eye(
batch_size, dtype=torch.float32)``, ``contrast_feature = torch.cat(torch.unbind(features, dim=1),
dim=0)``, ``contrast_mode`` ``'one'`` (``features[:, 0]``) and ``'all'``, ``torch.div(
torch.matmul(anchor_feature, contrast_feature.T), self.temperature)``, ``logits_max, _ =
torch.max(anchor_dot_contrast, dim=1, keepdim=True)``, ``anchor_dot_contrast -
logits_max.detach()``, ``mask.repeat(anchor_count, contrast_count)``, ``logits_mask =
torch.scatter(torch.ones_like(mask), 1, torch.arange(batch_size * anchor_count).view(-1,
1).to(device), 0)``, ``exp_logits = torch.exp(logits) * logits_mask``, ``logits -
torch.log(exp_logits.sum(1, keepdim=True))``, the no-positive guard ``torch.where(
mask_pos_pairs < 1e-6, 1, mask_pos_pairs)``, ``- (self.temperature / self.base_temperature) *
mean_log_prob_pos``, ``loss.view(anchor_count, batch_size).mean()``); ``SupConResNet`` with the
``'mlp'`` head (``nn.Sequential(nn.Linear(dim_in, dim_in), nn.ReLU(inplace=True), nn.Linear(
dim_in, feat_dim))``) and ``F.normalize(self.head(feat), dim=1)``; ``TwoCropTransform``
(``[self.transform(x), self.transform(x)]``), ``torch.cat([images[0], images[1]], dim=0)``,
``f1, f2 = torch.split(features, [bsz, bsz], dim=0)``, ``torch.cat([f1.unsqueeze(1),
f2.unsqueeze(1)], dim=1)``; ``util.py``'s ``AverageMeter``, ``adjust_learning_rate`` (the
cosine ``eta_min = lr * (args.lr_decay_rate ** 3)`` and the step ``np.sum(epoch >
np.asarray(args.lr_decay_epochs))`` branches), ``warmup_learning_rate`` (``p = (batch_id +
(epoch - 1) * total_batches) / (args.warm_epochs * total_batches)``, the warm-up target
``eta_min + (args.learning_rate - eta_min) * (1 + math.cos(math.pi * args.warm_epochs /
args.epochs)) / 2``), ``optim.SGD(..., momentum=0.9, weight_decay=1e-4)``; the linear
evaluation (``model.eval()``, ``with torch.no_grad(): features = model.encoder(images)``,
``classifier(features.detach())``, ``accuracy(output, labels, topk=(1,))``); and the
scheduler-object form of the same schedule (``SequentialLR`` of a ``LinearLR`` warm-up and
``CosineAnnealingLR(T_max=..., eta_min=...)``).

Changed: ResNet-50 -> a one-block BatchNorm CNN, CIFAR-10 -> 3x6x6 NumPy images of 3 classes,
the augmentations -> a NumPy flip and jitter, batch 1024 -> 4, feat_dim 128 -> 4, 1000 epochs
-> 3 of 2 batches (warm-up over the first one).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

N_CLASSES, BSZ, FEAT_DIM, DIM_IN, EPOCHS, TEMP = 3, 4, 4, 6, 3, 0.1
LEARNING_RATE, LR_DECAY_RATE, WARM_EPOCHS, WARMUP_FROM = 0.05, 0.1, 1, 0.01


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional
    torch = torch_like

    class ResNet(nn.Module):
        """Stands in for ``resnet50()`` (the encoder without its classifier)."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, DIM_IN, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(DIM_IN)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.avgpool(out)
            out = torch.flatten(out, 1)
            return out

    model_dict = {"resnet50": [ResNet, DIM_IN]}

    class SupConResNet(nn.Module):
        """backbone + projection head"""

        def __init__(self, name="resnet50", head="mlp", feat_dim=128):
            super(SupConResNet, self).__init__()  # noqa: UP008 (as in the repository)
            model_fun, dim_in = model_dict[name]
            self.encoder = model_fun()
            if head == "linear":
                self.head = nn.Linear(dim_in, feat_dim)
            elif head == "mlp":
                self.head = nn.Sequential(
                    nn.Linear(dim_in, dim_in), nn.ReLU(inplace=True), nn.Linear(dim_in, feat_dim)
                )
            else:
                raise NotImplementedError(f"head not supported: {head}")

        def forward(self, x):
            feat = self.encoder(x)
            feat = F.normalize(self.head(feat), dim=1)
            return feat

    class LinearClassifier(nn.Module):
        """Linear classifier"""

        def __init__(self, name="resnet50", num_classes=10):
            super(LinearClassifier, self).__init__()  # noqa: UP008
            _, feat_dim = model_dict[name]
            self.fc = nn.Linear(feat_dim, num_classes)

        def forward(self, features):
            return self.fc(features)

    return nn.ModuleDict(
        {
            "model": SupConResNet(feat_dim=FEAT_DIM),
            "classifier": LinearClassifier(num_classes=N_CLASSES),
        }
    )


def make_criterion(torch_like: Any, temperature: float, contrast_mode: str = "all") -> Any:
    torch = torch_like
    nn = torch_like.nn

    class SupConLoss(nn.Module):
        """Supervised Contrastive Learning: https://arxiv.org/pdf/2004.11362.pdf.
        It also supports the unsupervised contrastive loss in SimCLR"""

        def __init__(self, temperature=0.07, contrast_mode="all", base_temperature=0.07):
            super(SupConLoss, self).__init__()  # noqa: UP008
            self.temperature = temperature
            self.contrast_mode = contrast_mode
            self.base_temperature = base_temperature

        def forward(self, features, labels=None, mask=None):
            device = torch.device("cuda") if features.is_cuda else torch.device("cpu")

            if len(features.shape) < 3:
                raise ValueError(
                    "`features` needs to be [bsz, n_views, ...],at least 3 dimensions are required"
                )
            if len(features.shape) > 3:
                features = features.view(features.shape[0], features.shape[1], -1)

            batch_size = features.shape[0]
            if labels is not None and mask is not None:
                raise ValueError("Cannot define both `labels` and `mask`")
            elif labels is None and mask is None:
                mask = torch.eye(batch_size, dtype=torch.float32).to(device)
            elif labels is not None:
                labels = labels.contiguous().view(-1, 1)
                if labels.shape[0] != batch_size:
                    raise ValueError("Num of labels does not match num of features")
                mask = torch.eq(labels, labels.T).float().to(device)
            else:
                mask = mask.float().to(device)

            contrast_count = features.shape[1]
            contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
            if self.contrast_mode == "one":
                anchor_feature = features[:, 0]
                anchor_count = 1
            elif self.contrast_mode == "all":
                anchor_feature = contrast_feature
                anchor_count = contrast_count
            else:
                raise ValueError(f"Unknown mode: {self.contrast_mode}")

            # compute logits
            anchor_dot_contrast = torch.div(
                torch.matmul(anchor_feature, contrast_feature.T), self.temperature
            )
            # for numerical stability
            logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
            logits = anchor_dot_contrast - logits_max.detach()

            # tile mask
            mask = mask.repeat(anchor_count, contrast_count)
            # mask-out self-contrast cases
            logits_mask = torch.scatter(
                torch.ones_like(mask),
                1,
                torch.arange(batch_size * anchor_count).view(-1, 1).to(device),
                0,
            )
            mask = mask * logits_mask

            # compute log_prob
            exp_logits = torch.exp(logits) * logits_mask
            log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))

            # compute mean of log-likelihood over positive
            # modified to handle edge cases when there is no positive pair
            # for an anchor point.
            # Edge case e.g.:-
            # features of shape: [4,1,...]
            # labels:            [0,1,1,2]
            # loss before mean:  [nan, ..., ..., nan]
            mask_pos_pairs = mask.sum(1)
            mask_pos_pairs = torch.where(mask_pos_pairs < 1e-6, 1, mask_pos_pairs)
            mean_log_prob_pos = (mask * log_prob).sum(1) / mask_pos_pairs

            # loss
            loss = -(self.temperature / self.base_temperature) * mean_log_prob_pos
            loss = loss.view(anchor_count, batch_size).mean()

            return loss

    return SupConLoss(temperature=temperature, contrast_mode=contrast_mode)


class AverageMeter:
    """Computes and stores the average and current value"""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val: float, n: int = 1) -> None:
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


class Opt:
    learning_rate = LEARNING_RATE
    lr_decay_rate = LR_DECAY_RATE
    lr_decay_epochs = [2]
    epochs = EPOCHS
    cosine = True
    warm = True
    warm_epochs = WARM_EPOCHS
    warmup_from = WARMUP_FROM
    eta_min = LEARNING_RATE * (LR_DECAY_RATE**3)
    warmup_to = (
        eta_min + (LEARNING_RATE - eta_min) * (1 + math.cos(math.pi * WARM_EPOCHS / EPOCHS)) / 2
    )


def adjust_learning_rate(args: Any, optimizer: Any, epoch: int) -> None:
    lr = args.learning_rate
    if args.cosine:
        eta_min = lr * (args.lr_decay_rate**3)
        lr = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * epoch / args.epochs)) / 2
    else:
        steps = np.sum(epoch > np.asarray(args.lr_decay_epochs))
        if steps > 0:
            lr = lr * (args.lr_decay_rate**steps)

    for param_group in optimizer.param_groups:
        param_group["lr"] = lr


def warmup_learning_rate(args, epoch, batch_id, total_batches, optimizer):
    if args.warm and epoch <= args.warm_epochs:
        p = (batch_id + (epoch - 1) * total_batches) / (args.warm_epochs * total_batches)
        lr = args.warmup_from + p * (args.warmup_to - args.warmup_from)

        for param_group in optimizer.param_groups:
            param_group["lr"] = lr


def accuracy(torch_like: Any, output: Any, target: Any, topk=(1,)) -> list:
    """Computes the accuracy over the k top predictions for the specified values of k"""
    with torch_like.no_grad():
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


class TwoCropTransform:
    """Create two crops of the same image"""

    def __init__(self, transform: Any) -> None:
        self.transform = transform

    def __call__(self, x: Any) -> list:
        return [self.transform(x), self.transform(x)]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    rng = np.random.default_rng(31)
    images_np = rng.random((2 * BSZ * 2, 3, 6, 6))
    labels_np = rng.integers(0, N_CLASSES, size=len(images_np))

    def train_transform(x: np.ndarray) -> Any:
        flip = rng.random(len(x)) < 0.5
        x = np.where(flip[:, None, None, None], x[..., ::-1], x)
        return torch.tensor(x + 0.05 * rng.standard_normal(x.shape))

    transform = TwoCropTransform(train_transform)
    train_loader = [
        (images_np[i : i + BSZ], labels_np[i : i + BSZ]) for i in range(0, 2 * BSZ, BSZ)
    ]
    values: list[float] = []

    # the shape and argument checks
    criterion = make_criterion(torch, TEMP)
    for bad in (
        lambda: criterion(torch.zeros(BSZ, FEAT_DIM)),
        lambda: criterion(torch.zeros(BSZ, 2, FEAT_DIM), torch.zeros(BSZ), torch.eye(BSZ)),
        lambda: criterion(torch.zeros(BSZ, 2, FEAT_DIM), torch.zeros(BSZ + 1)),
    ):
        try:
            bad()
        except ValueError:
            values.append(1.0)
    # a 4-d feature map and an anchor with no positive pair (the guarded edge case)
    feats = torch.nn.functional.normalize(torch.tensor(rng.standard_normal((4, 1, 2, 3))), dim=2)
    values.append(criterion(feats, torch.tensor([0, 1, 1, 2])).item())
    values.append(make_criterion(torch, TEMP, "one")(feats.view(2, 2, -1)).item())

    for method in ("SupCon", "SimCLR"):
        model = nets["model"]
        load_numpy_state(torch, nets, init)
        optimizer = torch.optim.SGD(
            model.parameters(), lr=LEARNING_RATE, momentum=0.9, weight_decay=1e-4
        )
        opt = Opt()
        for epoch in range(1, EPOCHS + 1):
            adjust_learning_rate(opt, optimizer, epoch)
            model.train()
            losses = AverageMeter()
            for idx, (raw, raw_labels) in enumerate(train_loader):
                images = transform(raw)
                labels = torch.tensor(raw_labels)
                images = torch.cat([images[0], images[1]], dim=0)
                bsz = labels.shape[0]

                # warm-up learning rate
                warmup_learning_rate(opt, epoch, idx, len(train_loader), optimizer)

                # compute loss
                features = model(images)
                f1, f2 = torch.split(features, [bsz, bsz], dim=0)
                features = torch.cat([f1.unsqueeze(1), f2.unsqueeze(1)], dim=1)
                if method == "SupCon":
                    loss = criterion(features, labels)
                else:
                    loss = criterion(features)

                # update metric
                losses.update(loss.item(), bsz)

                # SGD
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                values.append(optimizer.param_groups[0]["lr"])
            values.append(losses.avg)

    # linear evaluation on the frozen encoder
    model, classifier = nets["model"], nets["classifier"]
    ce = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(classifier.parameters(), lr=0.1, momentum=0.9)
    model.eval()
    classifier.train()
    top1 = AverageMeter()
    for raw, raw_labels in train_loader:
        images, labels = torch.tensor(raw), torch.tensor(raw_labels)
        with torch.no_grad():
            features = model.encoder(images)
        output = classifier(features.detach())
        loss = ce(output, labels)
        acc1 = accuracy(torch, output, labels, topk=(1,))
        top1.update(acc1[0][0].item(), labels.shape[0])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    values.append(top1.avg)

    # the same warm-up + cosine schedule written with scheduler objects
    sched_params = [torch.nn.Parameter(torch.zeros(1))]
    optimizer = torch.optim.SGD(sched_params, lr=LEARNING_RATE)
    warmup = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=WARMUP_FROM / LEARNING_RATE, total_iters=2
    )
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=4, eta_min=LEARNING_RATE * LR_DECAY_RATE**3
    )
    scheduler = torch.optim.lr_scheduler.SequentialLR(
        optimizer, schedulers=[warmup, cosine], milestones=[2]
    )
    for _ in range(7):
        optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    return values
