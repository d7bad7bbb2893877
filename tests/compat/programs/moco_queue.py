"""MoCo v2 as facebookresearch/moco (``moco/builder.py``, ``main_moco.py``) writes it, with the
single-process batch shuffle of its one-GPU forks, size-reduced.

The idioms: ``self.encoder_q = base_encoder(num_classes=dim)`` and the ``mlp`` head
(``dim_mlp = self.encoder_q.fc.weight.shape[1]``, ``nn.Sequential(nn.Linear(dim_mlp,
dim_mlp), nn.ReLU(), self.encoder_q.fc)``); ``for param_q, param_k in
zip(self.encoder_q.parameters(), self.encoder_k.parameters()): param_k.data.copy_(
param_q.data); param_k.requires_grad = False``; ``self.register_buffer("queue",
torch.randn(dim, K))`` then ``self.queue = nn.functional.normalize(self.queue, dim=0)``
(reassigning a buffer), ``self.register_buffer("queue_ptr", torch.zeros(1,
dtype=torch.long))``; ``@torch.no_grad()`` methods: ``_momentum_update_key_encoder``
(``param_k.data = param_k.data * self.m + param_q.data * (1.0 - self.m)``),
``_dequeue_and_enqueue`` (``ptr = int(self.queue_ptr)``, ``assert self.K % batch_size == 0``,
``self.queue[:, ptr:ptr + batch_size] = keys.T``, ``self.queue_ptr[0] = ptr``), the batch
shuffle (``idx_unshuffle = torch.argsort(idx_shuffle)``, ``x[idx_shuffle]``, ``x[idx_unshuffle]``)
around the key encoder's BatchNorm; ``forward``: ``q = nn.functional.normalize(q, dim=1)``,
``with torch.no_grad():`` for the keys, ``l_pos = torch.einsum('nc,nc->n', [q,
k]).unsqueeze(-1)``, ``l_neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])``,
``logits = torch.cat([l_pos, l_neg], dim=1)``, ``logits /= self.T``, ``labels =
torch.zeros(logits.shape[0], dtype=torch.long)``; ``main_moco.py``'s ``nn.CrossEntropyLoss()``,
``torch.optim.SGD(model.parameters(), lr, momentum=0.9, weight_decay=1e-4)``,
``adjust_learning_rate``'s cosine schedule over ``param_group['lr']``, ``accuracy(output,
target, topk=(1, 5))`` (``output.topk(maxk, 1, True, True)``, ``pred.t()``,
``pred.eq(target.view(1, -1).expand_as(pred))``, ``correct[:k].reshape(-1).float().sum(0,
keepdim=True)``, ``.mul_(100.0 / batch_size)``), ``AverageMeter`` and ``ProgressMeter``'s
``'{name} {val' + self.fmt + '} ({avg' + self.fmt + '})'`` formatting.

Changed: a ResNet-50 on 224 x 224 crops, ``dim=128``, ``K=65536`` -> a small conv encoder on
8 x 8 inputs, ``dim=6``, ``K=16``; the shuffle's permutation and the two "augmentations"
(noise) come from NumPy, since the two libraries' generators differ (``torch.randperm``'s
result is checked for what holds for every draw).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, K, M, T, BATCH, STEPS, SIDE, LR, EPOCHS = 6, 16, 0.99, 0.2, 4, 6, 8, 0.03, 6


def _base_encoder(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SmallNet(nn.Module):
        def __init__(self, num_classes: int = 1000) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(4, num_classes)

        def forward(self, x: Any) -> Any:
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.avgpool(x)
            x = torch_like.flatten(x, 1)
            return self.fc(x)

    return SmallNet


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    base_encoder = _base_encoder(torch)

    class MoCo(nn.Module):
        def __init__(
            self,
            base_encoder: Any,
            dim: int = 128,
            K: int = 65536,  # noqa: N803 - the repository's names
            m: float = 0.999,
            T: float = 0.07,  # noqa: N803
            mlp: bool = False,
        ) -> None:
            super().__init__()
            self.K = K
            self.m = m
            self.T = T
            # create the encoders; num_classes is the output fc dimension
            self.encoder_q = base_encoder(num_classes=dim)
            self.encoder_k = base_encoder(num_classes=dim)
            if mlp:  # hack: brute-force replacement
                dim_mlp = self.encoder_q.fc.weight.shape[1]
                self.encoder_q.fc = nn.Sequential(
                    nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), self.encoder_q.fc
                )
                self.encoder_k.fc = nn.Sequential(
                    nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), self.encoder_k.fc
                )
            for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                param_k.data.copy_(param_q.data)  # initialize
                param_k.requires_grad = False  # not update by gradient
            # create the queue
            self.register_buffer("queue", torch.randn(dim, K))
            self.queue = nn.functional.normalize(self.queue, dim=0)
            self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

        @torch.no_grad()
        def _momentum_update_key_encoder(self) -> None:
            """Momentum update of the key encoder."""
            for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                param_k.data = param_k.data * self.m + param_q.data * (1.0 - self.m)

        @torch.no_grad()
        def _dequeue_and_enqueue(self, keys: Any) -> None:
            batch_size = keys.shape[0]
            ptr = int(self.queue_ptr)
            assert self.K % batch_size == 0  # for simplicity
            # replace the keys at ptr (dequeue and enqueue)
            self.queue[:, ptr : ptr + batch_size] = keys.T
            ptr = (ptr + batch_size) % self.K  # move pointer
            self.queue_ptr[0] = ptr

        @torch.no_grad()
        def _batch_shuffle_single_gpu(self, x: Any, idx_shuffle: Any) -> tuple[Any, Any]:
            """Batch shuffle, for making use of BatchNorm."""
            # index for restoring
            idx_unshuffle = torch.argsort(idx_shuffle)
            return x[idx_shuffle], idx_unshuffle

        @torch.no_grad()
        def _batch_unshuffle_single_gpu(self, x: Any, idx_unshuffle: Any) -> Any:
            """Undo batch shuffle."""
            return x[idx_unshuffle]

        def forward(self, im_q: Any, im_k: Any, idx_shuffle: Any) -> tuple[Any, Any]:
            # compute query features
            q = self.encoder_q(im_q)  # queries: NxC
            q = nn.functional.normalize(q, dim=1)
            # compute key features
            with torch.no_grad():  # no gradient to keys
                self._momentum_update_key_encoder()  # update the key encoder
                # shuffle for making use of BN
                im_k, idx_unshuffle = self._batch_shuffle_single_gpu(im_k, idx_shuffle)
                k = self.encoder_k(im_k)  # keys: NxC
                k = nn.functional.normalize(k, dim=1)
                # undo shuffle
                k = self._batch_unshuffle_single_gpu(k, idx_unshuffle)
            # compute logits
            # positive logits: Nx1
            l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
            # negative logits: NxK
            l_neg = torch.einsum("nc,ck->nk", [q, self.queue.clone().detach()])
            # logits: Nx(1+K)
            logits = torch.cat([l_pos, l_neg], dim=1)
            # apply temperature
            logits /= self.T
            # labels: positive key indicators
            labels = torch.zeros(logits.shape[0], dtype=torch.long)
            # dequeue and enqueue
            self._dequeue_and_enqueue(k)
            return logits, labels

    return MoCo(base_encoder, DIM, K, M, T, mlp=True)


class AverageMeter:
    """Computes and stores the average and current value."""

    def __init__(self, name: str, fmt: str = ":f") -> None:
        self.name = name
        self.fmt = fmt
        self.reset()

    def reset(self) -> None:
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val: Any, n: int = 1) -> None:
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self) -> str:
        fmtstr = "{name} {val" + self.fmt + "} ({avg" + self.fmt + "})"
        return fmtstr.format(**self.__dict__)


def accuracy(torch_like: Any, output: Any, target: Any, topk: tuple = (1,)) -> list:
    """Computes the accuracy over the k top predictions for the specified values of k."""
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


def adjust_learning_rate(optimizer: Any, epoch: int) -> float:
    """Decay the learning rate based on schedule (the ``--cos`` branch)."""
    lr = LR
    lr *= 0.5 * (1.0 + math.cos(math.pi * epoch / EPOCHS))
    for param_group in optimizer.param_groups:
        param_group["lr"] = lr
    return lr


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    rng = np.random.default_rng(4)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = [float(p.requires_grad) for p in model.encoder_k.parameters()]
    values += [model.queue.norm(dim=0).sub(1).abs().max().item(), int(model.queue_ptr)]
    values += [float(model.queue_ptr.dtype == torch.int64)]
    perm = torch.randperm(BATCH)  # what holds for every draw
    values += [float(sorted(perm.tolist()) == list(range(BATCH))), float(perm.dtype == torch.long)]

    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), LR, momentum=0.9, weight_decay=1e-4)
    losses = AverageMeter("Loss", ":.4e")
    top1 = AverageMeter("Acc@1", ":6.2f")
    top5 = AverageMeter("Acc@5", ":6.2f")
    model.train()
    base = rng.standard_normal((BATCH * STEPS, 3, SIDE, SIDE))
    for step in range(STEPS):
        values += [adjust_learning_rate(optimizer, step)]
        images = base[step * BATCH : (step + 1) * BATCH]
        im_q = as_tensor(torch, images + 0.1 * rng.standard_normal(images.shape))
        im_k = as_tensor(torch, images + 0.1 * rng.standard_normal(images.shape))
        idx_shuffle = as_tensor(torch, rng.permutation(BATCH))
        output, target = model(im_q=im_q, im_k=im_k, idx_shuffle=idx_shuffle)
        loss = criterion(output, target)
        acc1, acc5 = accuracy(torch, output, target, topk=(1, 5))
        losses.update(loss.item(), im_q.size(0))
        top1.update(acc1[0], im_q.size(0))
        top5.update(acc5[0], im_q.size(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), acc1[0].item(), acc5[0].item()]
        values += [int(model.queue_ptr), model.queue[:, 0].sum().item()]
        values += [float(k.grad is None) for k in model.encoder_k.parameters()][:2]
    values += [losses.avg, float(top1.avg), float(top5.avg)]
    values += [float(str(losses).startswith("Loss ")), float("(" in str(top1))]
    values += [float(str(top5) == f"Acc@5 {top5.val:6.2f} ({top5.avg:6.2f})")]
    diff = [
        (pk - pq).abs().max().item()
        for pq, pk in zip(model.encoder_q.parameters(), model.encoder_k.parameters())
    ]
    values += diff
    values += model.encoder_k.bn1.running_mean.tolist() + model.queue.flatten()[:8].tolist()
    return values
