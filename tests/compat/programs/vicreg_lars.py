"""VICReg pre-training and its linear evaluation, as facebookresearch/vicreg writes them
(``main_vicreg.py``, ``resnet.py``, ``evaluate.py``), size-reduced; the parts
``barlow_twins_byol`` does not already cover (its VICReg loss and Barlow Twins' LARS variant).

The idioms: the ``Projector(args, embedding)`` built from ``mlp_spec = f"{embedding}-{args.mlp}"``
and ``list(map(int, mlp_spec.split("-")))`` (``nn.Linear``, ``nn.BatchNorm1d``, ``nn.ReLU(True)``,
a last ``nn.Linear(f[-2], f[-1], bias=False)``); the ResNet backbone's ``nn.init.kaiming_normal_(
m.weight, mode="fan_out", nonlinearity="relu")``, ``nn.init.constant_`` on the norms and
``zero_init_residual`` (``nn.init.constant_(m.bn2.weight, 0)``), ``nn.AdaptiveAvgPool2d((1, 1))``
and ``torch.flatten(x, 1)``, returning ``(model, embedding_dim)``; the module-level
``exclude_bias_and_norm`` passed to ``LARS(model.parameters(), lr=0, weight_decay=...,
weight_decay_filter=exclude_bias_and_norm, lars_adaptation_filter=exclude_bias_and_norm)``
whose ``@torch.no_grad() step`` calls the filter found in the group (``g["weight_decay_filter"]
is None or not g["weight_decay_filter"](p)``), nested ``torch.where`` trust ratios and the
``'mu'`` buffer in ``self.state[p]``; the loss with ``FullGatherLayer`` (a
``torch.autograd.Function`` returning a tuple from ``dist.all_gather`` whose backward
``dist.all_reduce``s ``torch.stack(grads)``), run in a one-process gloo group;
``adjust_learning_rate``'s warm-up then cosine to ``end_lr``; the checkpoint ``state =
dict(epoch=..., model=model.state_dict(), optimizer=optimizer.state_dict())`` saved with
``torch.save`` and resumed with ``torch.load(..., map_location="cpu")`` (the optimizer state
pickles the filter function, so the load sits in ``torch.serialization.safe_globals([
exclude_bias_and_norm])``, as PyTorch 2.6's ``weights_only`` error message advises);
``torch.save(model.backbone.state_dict(), ...)`` and the linear evaluation's
``backbone.load_state_dict(state_dict, strict=False)`` returning empty ``missing_keys,
unexpected_keys``, ``backbone.requires_grad_(False)``, ``head.weight.data.normal_(mean=0.0,
std=0.01)``, ``head.bias.data.zero_()``, ``optim.SGD(param_groups, 0, momentum=0.9,
weight_decay=...)``, ``CosineAnnealingLR`` and ``accuracy(output, target, topk=(1, 5))``
(``output.topk(maxk, 1, True, True)``, ``pred.t()``, ``pred.eq(target.view(1,
-1).expand_as(pred))``, ``correct[:k].reshape(-1).float().sum(0, keepdim=True)``,
``correct_k.mul_(100.0 / batch_size)``).
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["exclude_bias_and_norm", "make_model", "run"]

CHANS, WIDTH, IMG, MLP, BATCH, STEPS, CLASSES = 3, 4, 6, "8-8", 8, 3, 6
SIM_COEFF, STD_COEFF, COV_COEFF, BASE_LR, WD = 25.0, 25.0, 1.0, 0.2, 1e-6


def exclude_bias_and_norm(p: Any) -> bool:
    return p.ndim == 1


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    dist = torch_like.distributed

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes: int, planes: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, zero_init_residual: bool = False) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(CHANS, WIDTH, kernel_size=3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(WIDTH)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = nn.Sequential(BasicBlock(WIDTH, WIDTH))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, BasicBlock):
                        nn.init.constant_(m.bn2.weight, 0)

        def forward(self, x: Any) -> Any:
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer1(x)
            x = self.avgpool(x)
            return torch.flatten(x, 1)

    def resnet_tiny(**kwargs: Any) -> tuple[Any, int]:
        return ResNet(**kwargs), WIDTH

    def Projector(mlp: str, embedding: int) -> Any:
        mlp_spec = f"{embedding}-{mlp}"
        layers: list[Any] = []
        f = list(map(int, mlp_spec.split("-")))
        for i in range(len(f) - 2):
            layers.append(nn.Linear(f[i], f[i + 1]))
            layers.append(nn.BatchNorm1d(f[i + 1]))
            layers.append(nn.ReLU(True))
        layers.append(nn.Linear(f[-2], f[-1], bias=False))
        return nn.Sequential(*layers)

    def off_diagonal(x: Any) -> Any:
        n, m = x.shape
        assert n == m
        return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()

    class FullGatherLayer(torch.autograd.Function):
        """Gather tensors from all process and support backward propagation
        for the gradients across processes."""

        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            output = [torch.zeros_like(x) for _ in range(dist.get_world_size())]
            dist.all_gather(output, x)
            return tuple(output)

        @staticmethod
        def backward(ctx: Any, *grads: Any) -> Any:
            all_gradients = torch.stack(grads)
            dist.all_reduce(all_gradients)
            return all_gradients[dist.get_rank()]

    class VICReg(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_features = int(MLP.split("-")[-1])
            self.backbone, self.embedding = resnet_tiny(zero_init_residual=True)
            self.projector = Projector(MLP, self.embedding)

        def forward(self, x: Any, y: Any) -> Any:
            x = self.projector(self.backbone(x))
            y = self.projector(self.backbone(y))
            repr_loss = F.mse_loss(x, y)
            x = torch.cat(FullGatherLayer.apply(x), dim=0)
            y = torch.cat(FullGatherLayer.apply(y), dim=0)
            x = x - x.mean(dim=0)
            y = y - y.mean(dim=0)
            std_x = torch.sqrt(x.var(dim=0) + 0.0001)
            std_y = torch.sqrt(y.var(dim=0) + 0.0001)
            std_loss = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
            cov_x = (x.T @ x) / (BATCH - 1)
            cov_y = (y.T @ y) / (BATCH - 1)
            cov_loss = off_diagonal(cov_x).pow_(2).sum().div(self.num_features) + off_diagonal(
                cov_y
            ).pow_(2).sum().div(self.num_features)
            loss = SIM_COEFF * repr_loss + STD_COEFF * std_loss + COV_COEFF * cov_loss
            return loss

    return VICReg()


def make_lars(torch_like: Any) -> Any:
    torch = torch_like
    optim = torch_like.optim

    class LARS(optim.Optimizer):
        def __init__(
            self,
            params: Any,
            lr: float,
            weight_decay: float = 0,
            momentum: float = 0.9,
            eta: float = 0.001,
            weight_decay_filter: Any = None,
            lars_adaptation_filter: Any = None,
        ) -> None:
            defaults = dict(
                lr=lr,
                weight_decay=weight_decay,
                momentum=momentum,
                eta=eta,
                weight_decay_filter=weight_decay_filter,
                lars_adaptation_filter=lars_adaptation_filter,
            )
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self) -> None:
            for g in self.param_groups:
                for p in g["params"]:
                    dp = p.grad
                    if dp is None:
                        continue
                    if g["weight_decay_filter"] is None or not g["weight_decay_filter"](p):
                        dp = dp.add(p, alpha=g["weight_decay"])
                    if g["lars_adaptation_filter"] is None or not g["lars_adaptation_filter"](p):
                        param_norm = torch.norm(p)
                        update_norm = torch.norm(dp)
                        one = torch.ones_like(param_norm)
                        q = torch.where(
                            param_norm > 0.0,
                            torch.where(
                                update_norm > 0, (g["eta"] * param_norm / update_norm), one
                            ),
                            one,
                        )
                        dp = dp.mul(q)
                    param_state = self.state[p]
                    if "mu" not in param_state:
                        param_state["mu"] = torch.zeros_like(p)
                    mu = param_state["mu"]
                    mu.mul_(g["momentum"]).add_(dp)
                    p.add_(mu, alpha=-g["lr"])

    return LARS


def adjust_learning_rate(optimizer: Any, loader_len: int, step: int, epochs: int = 3) -> float:
    max_steps = epochs * loader_len
    warmup_steps = 1 * loader_len
    base_lr = BASE_LR * BATCH / 256
    if step < warmup_steps:
        lr = base_lr * step / warmup_steps
    else:
        step -= warmup_steps
        max_steps -= warmup_steps
        q = 0.5 * (1 + math.cos(math.pi * step / max_steps))
        end_lr = base_lr * 0.001
        lr = base_lr * q + end_lr * (1 - q)
    for param_group in optimizer.param_groups:
        param_group["lr"] = lr
    return lr


def accuracy(torch_like: Any, output: Any, target: Any, topk: tuple = (1,)) -> list:
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


def pretrain(torch_like: Any, model: Any, batches: list, start: int, stop: int, state: Any):
    torch = torch_like
    LARS = make_lars(torch_like)
    optimizer = LARS(
        model.parameters(),
        lr=0,
        weight_decay=WD,
        weight_decay_filter=exclude_bias_and_norm,
        lars_adaptation_filter=exclude_bias_and_norm,
    )
    if state is not None:
        # PyTorch 2.6's weights_only load refuses the pickled filter function unless allowed
        with torch.serialization.safe_globals([exclude_bias_and_norm]):
            ckpt = torch.load(state, map_location="cpu")
        start_epoch = ckpt["epoch"]
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        assert start_epoch == start
    values: list[float] = []
    for step in range(start, stop):
        x, y = batches[step]
        lr = adjust_learning_rate(optimizer, 1, step, epochs=len(batches))
        optimizer.zero_grad()
        loss = model.forward(x, y)
        loss.backward()
        optimizer.step()
        values += [loss.item(), lr]
    buffer = io.BytesIO()
    state = dict(epoch=stop, model=model.state_dict(), optimizer=optimizer.state_dict())
    torch.save(state, buffer)
    buffer.seek(0)
    groups = optimizer.state_dict()["param_groups"]
    values += [float(groups[0]["weight_decay_filter"] is exclude_bias_and_norm)]
    values += [float(len(optimizer.state))]
    return values, buffer


def evaluate(torch_like: Any, model: Any, batches: list, labels: list) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    buffer = io.BytesIO()
    torch.save(model.backbone.state_dict(), buffer)
    buffer.seek(0)
    backbone = make_model(torch_like).backbone
    embedding = WIDTH
    state_dict = torch.load(buffer, map_location="cpu")
    missing_keys, unexpected_keys = backbone.load_state_dict(state_dict, strict=False)
    assert missing_keys == [] and unexpected_keys == []
    head = nn.Linear(embedding, CLASSES)
    head.weight.data.normal_(mean=0.0, std=0.01)
    head.bias.data.zero_()
    with torch.no_grad():  # the random init differs between libraries: a fixed one
        head.weight.copy_(torch.linspace(-0.05, 0.05, CLASSES * embedding).view(CLASSES, -1))
    model = nn.Sequential(backbone, head)
    backbone.requires_grad_(False)
    criterion = nn.CrossEntropyLoss()
    param_groups = [dict(params=head.parameters(), lr=0.3)]
    optimizer = torch.optim.SGD(param_groups, 0, momentum=0.9, weight_decay=1e-6)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, len(batches))
    values: list[float] = []
    for (x, _), target in zip(batches, labels):
        model.eval()  # frozen backbone
        output = model(x)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        acc1, acc5 = accuracy(torch_like, output, target, topk=(1, 5))
        values += [loss.item(), acc1.item(), acc5.item(), scheduler.get_last_lr()[0]]
    values += [float(backbone.conv1.weight.grad is None), float(acc1.shape == (1,))]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    dist = torch_like.distributed
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.train()
    base = rng.standard_normal((STEPS, BATCH, CHANS, IMG, IMG))
    batches = [
        (
            as_tensor(torch_like, b + 0.2 * rng.standard_normal(b.shape)),
            as_tensor(torch_like, np.flip(b, axis=3) + 0.2 * rng.standard_normal(b.shape)),
        )
        for b in base
    ]
    labels = [as_tensor(torch_like, rng.integers(0, CLASSES, BATCH)) for _ in range(STEPS)]
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        values, ckpt = pretrain(torch_like, model, batches, 0, 2, None)
        resumed = make_model(torch_like)
        more, _ = pretrain(torch_like, resumed, batches, 2, STEPS, ckpt)
    finally:
        dist.destroy_process_group()
    values += more
    values += [float(resumed.backbone.layer1[0].bn2.weight.abs().sum().item() > 0)]
    return values + evaluate(torch_like, resumed, batches, labels)
