"""Self-supervised losses with a momentum target, as facebookresearch/barlowtwins (``main.py``),
lucidrains/byol-pytorch and facebookresearch/moco (``moco/builder.py``, MoCo v3's
``_update_momentum_encoder``) write them, size-reduced.

Barlow Twins: a projector ``nn.Sequential`` of ``nn.Linear(..., bias=False)``,
``nn.BatchNorm1d`` and ``nn.ReLU(inplace=True)`` built from ``"8-8"``-style size strings, the
normaliser ``nn.BatchNorm1d(sizes[-1], affine=False)``, the cross-correlation ``c =
self.bn(z1).T @ self.bn(z2)`` scaled in place (``c.div_(batch_size)``), ``on_diag =
torch.diagonal(c).add_(-1).pow_(2).sum()`` (in-place ops on a diagonal view of a tensor that
needs a gradient), ``off_diagonal(x) = x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()``
and the repository's ``LARS`` optimizer (an ``optim.Optimizer`` subclass with ``@torch.no_grad()
step``, ``dp.add(p, alpha=...)``, nested ``torch.where`` trust ratios, a ``'mu'`` state
buffer, ``exclude_bias_and_norm``, separate weight and bias groups).

BYOL: ``copy.deepcopy`` of the online encoder as the target, ``set_requires_grad(model, False)``,
the predictor MLP, ``loss_fn = 2 - 2 * (F.normalize(x, dim=-1, p=2) * F.normalize(y, dim=-1,
p=2)).sum(dim=-1)``, the symmetrised loss with the target under ``torch.no_grad()`` and
``.detach_()``, and ``EMA.update_average`` applied as ``ma_params.data =
ema_updater.update_average(old_weight, up_weight)``.

MoCo: the key encoder initialised with ``param_k.data.copy_(param_q.data)`` and
``param_k.requires_grad = False``, the momentum update ``param_k.data.mul_(m).add_(param_q.data,
alpha=1 - m)`` (checked against ``torch._foreach_mul_``/``torch._foreach_add_`` on a copy), the
queue buffer ``nn.functional.normalize(torch.randn(dim, K), dim=0)`` and ``queue_ptr``, positive
and negative logits by ``torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)`` and
``torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])``, ``logits /= self.T``,
``torch.zeros(logits.shape[0], dtype=torch.long)`` labels, ``_dequeue_and_enqueue``
(``self.queue[:, ptr:ptr + batch_size] = keys.T``, ``self.queue_ptr[0] = ptr``) and ``SGD``
with momentum and weight decay.

SimSiam (facebookresearch/simsiam ``builder.py``, ``main_simsiam.py``): the encoder's ``fc``
replaced by a projection ``nn.Sequential`` that reuses it (``self.encoder.fc[6].bias
.requires_grad = False``), ``nn.CosineSimilarity(dim=1)`` as the criterion, ``-(criterion(p1,
z2).mean() + criterion(p2, z1).mean()) * 0.5``, ``fix_lr`` parameter groups and a cosine
``adjust_learning_rate``. VICReg (facebookresearch/vicreg): ``F.mse_loss``, ``torch.sqrt(x.var(
dim=0) + 0.0001)``, ``F.relu(1 - std_x)``, ``(x.T @ x) / (batch_size - 1)`` with the same
``off_diagonal``, Nesterov SGD, and two EMA copies of it: ``torch.optim.swa_utils
.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))`` and timm's ``ModelEmaV3``
update ``torch._foreach_lerp_(ema_params, model_params, weight=1. - decay)`` on a
``copy.deepcopy(model).eval().requires_grad_(False)``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

IN_DIM, FEATURES, PROJECTOR, PRED_HIDDEN, BATCH, STEPS = 6, 8, "8-8", 12, 8, 3
LAMBD, LR, EMA_DECAY, MOCO_M, MOCO_T, QUEUE = 0.05, 0.05, 0.9, 0.8, 0.2, 16


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def off_diagonal(x: Any) -> Any:
        # return a flattened view of the off-diagonal elements of a square matrix
        n, m = x.shape
        assert n == m
        return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()

    def backbone() -> Any:
        return nn.Sequential(nn.Linear(IN_DIM, FEATURES), nn.ReLU(), nn.Linear(FEATURES, FEATURES))

    class BarlowTwins(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone()
            sizes = [FEATURES] + list(map(int, PROJECTOR.split("-")))
            layers: list[Any] = []
            for i in range(len(sizes) - 2):
                layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=False))
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
            self.projector = nn.Sequential(*layers)
            self.bn = nn.BatchNorm1d(sizes[-1], affine=False)

        def forward(self, y1: Any, y2: Any) -> tuple[Any, Any, Any]:
            z1 = self.projector(self.backbone(y1))
            z2 = self.projector(self.backbone(y2))
            c = self.bn(z1).T @ self.bn(z2)
            c.div_(BATCH)
            on_diag = torch.diagonal(c).add_(-1).pow_(2).sum()
            off_diag = off_diagonal(c).pow_(2).sum()
            loss = on_diag + LAMBD * off_diag
            return loss, on_diag, off_diag

    class MLP(nn.Module):
        def __init__(self, dim: int, projection_size: int, hidden_size: int) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(dim, hidden_size),
                nn.BatchNorm1d(hidden_size),
                nn.ReLU(inplace=True),
                nn.Linear(hidden_size, projection_size),
            )

        def forward(self, x: Any) -> Any:
            return self.net(x)

    def loss_fn(x: Any, y: Any) -> Any:
        x = F.normalize(x, dim=-1, p=2)
        y = F.normalize(y, dim=-1, p=2)
        return 2 - 2 * (x * y).sum(dim=-1)

    def set_requires_grad(model: Any, val: bool) -> None:
        for p in model.parameters():
            p.requires_grad = val

    class BYOL(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.online_encoder = nn.Sequential(backbone(), MLP(FEATURES, FEATURES, PRED_HIDDEN))
            self.target_encoder = None
            self.online_predictor = MLP(FEATURES, FEATURES, PRED_HIDDEN)

        def _get_target_encoder(self) -> Any:
            if self.target_encoder is not None:
                return self.target_encoder
            target_encoder = copy.deepcopy(self.online_encoder)
            set_requires_grad(target_encoder, False)
            self.target_encoder = target_encoder
            return target_encoder

        def forward(self, image_one: Any, image_two: Any) -> Any:
            online_proj_one = self.online_encoder(image_one)
            online_proj_two = self.online_encoder(image_two)
            online_pred_one = self.online_predictor(online_proj_one)
            online_pred_two = self.online_predictor(online_proj_two)
            with torch.no_grad():
                target_encoder = self._get_target_encoder()
                target_proj_one = target_encoder(image_one)
                target_proj_two = target_encoder(image_two)
                target_proj_one.detach_()
                target_proj_two.detach_()
            loss_one = loss_fn(online_pred_one, target_proj_two.detach())
            loss_two = loss_fn(online_pred_two, target_proj_one.detach())
            loss = loss_one + loss_two
            return loss.mean()

    class MoCo(nn.Module):
        def __init__(self, dim: int = FEATURES, K: int = QUEUE, m: float = MOCO_M) -> None:
            super().__init__()
            self.K = K
            self.m = m
            self.T = MOCO_T
            self.encoder_q = backbone()
            self.encoder_k = backbone()
            for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                param_k.data.copy_(param_q.data)  # initialize
                param_k.requires_grad = False  # not update by gradient
            self.register_buffer("queue", torch.randn(dim, K))
            self.queue = nn.functional.normalize(self.queue, dim=0)
            self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

        @torch.no_grad()
        def _momentum_update_key_encoder(self) -> None:
            for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                param_k.data.mul_(self.m).add_(param_q.data, alpha=1 - self.m)

        @torch.no_grad()
        def _dequeue_and_enqueue(self, keys: Any) -> None:
            batch_size = keys.shape[0]
            ptr = int(self.queue_ptr)
            assert self.K % batch_size == 0  # for simplicity
            self.queue[:, ptr : ptr + batch_size] = keys.T
            ptr = (ptr + batch_size) % self.K  # move pointer
            self.queue_ptr[0] = ptr

        def forward(self, im_q: Any, im_k: Any) -> tuple[Any, Any]:
            q = self.encoder_q(im_q)
            q = nn.functional.normalize(q, dim=1)
            with torch.no_grad():
                self._momentum_update_key_encoder()
                k = self.encoder_k(im_k)
                k = nn.functional.normalize(k, dim=1)
            l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
            l_neg = torch.einsum("nc,ck->nk", [q, self.queue.clone().detach()])
            logits = torch.cat([l_pos, l_neg], dim=1)
            logits /= self.T
            labels = torch.zeros(logits.shape[0], dtype=torch.long)
            self._dequeue_and_enqueue(k)
            return logits, labels

    class Encoder(nn.Module):
        """A torchvision-style base encoder: a body and a ``fc`` head."""

        def __init__(self, num_classes: int) -> None:
            super().__init__()
            self.body = backbone()
            self.fc = nn.Linear(FEATURES, num_classes)

        def forward(self, x: Any) -> Any:
            return self.fc(self.body(x))

    class SimSiam(nn.Module):
        def __init__(self, base_encoder: Any, dim: int = FEATURES, pred_dim: int = PRED_HIDDEN):
            super().__init__()
            self.encoder = base_encoder(num_classes=dim)
            prev_dim = self.encoder.fc.weight.shape[1]
            self.encoder.fc = nn.Sequential(
                nn.Linear(prev_dim, prev_dim, bias=False),
                nn.BatchNorm1d(prev_dim),
                nn.ReLU(inplace=True),  # first layer
                nn.Linear(prev_dim, prev_dim, bias=False),
                nn.BatchNorm1d(prev_dim),
                nn.ReLU(inplace=True),  # second layer
                self.encoder.fc,
                nn.BatchNorm1d(dim, affine=False),
            )  # output layer
            self.encoder.fc[
                6
            ].bias.requires_grad = False  # hack: not use bias as it is followed by BN
            self.predictor = nn.Sequential(
                nn.Linear(dim, pred_dim, bias=False),
                nn.BatchNorm1d(pred_dim),
                nn.ReLU(inplace=True),  # hidden layer
                nn.Linear(pred_dim, dim),
            )  # output layer

        def forward(self, x1: Any, x2: Any) -> tuple[Any, Any, Any, Any]:
            z1 = self.encoder(x1)  # NxC
            z2 = self.encoder(x2)  # NxC
            p1 = self.predictor(z1)  # NxC
            p2 = self.predictor(z2)  # NxC
            return p1, p2, z1.detach(), z2.detach()

    class VICReg(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_features = int(PROJECTOR.split("-")[-1])
            self.backbone = backbone()
            self.projector = nn.Sequential(
                nn.Linear(FEATURES, FEATURES), nn.BatchNorm1d(FEATURES), nn.ReLU(True),
                nn.Linear(FEATURES, self.num_features, bias=False),
            )  # fmt: skip

        def forward(self, x: Any, y: Any) -> Any:
            x = self.projector(self.backbone(x))
            y = self.projector(self.backbone(y))
            repr_loss = F.mse_loss(x, y)
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
            return 25.0 * repr_loss + 25.0 * std_loss + 1.0 * cov_loss

    class Models(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.barlow = BarlowTwins()
            self.byol = BYOL()
            self.moco = MoCo()
            self.simsiam = SimSiam(Encoder)
            self.criterion = nn.CosineSimilarity(dim=1)
            self.vicreg = VICReg()

    return Models()


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
            weight_decay_filter: bool = False,
            lars_adaptation_filter: bool = False,
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

        def exclude_bias_and_norm(self, p: Any) -> bool:
            return p.ndim == 1

        @torch.no_grad()
        def step(self) -> None:
            for g in self.param_groups:
                for p in g["params"]:
                    dp = p.grad
                    if dp is None:
                        continue
                    if not g["weight_decay_filter"] or not self.exclude_bias_and_norm(p):
                        dp = dp.add(p, alpha=g["weight_decay"])
                    if not g["lars_adaptation_filter"] or not self.exclude_bias_and_norm(p):
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


class EMA:
    def __init__(self, beta: float) -> None:
        self.beta = beta

    def update_average(self, old: Any, new: Any) -> Any:
        if old is None:
            return new
        return old * self.beta + (1 - self.beta) * new


def update_moving_average(ema_updater: EMA, ma_model: Any, current_model: Any) -> None:
    for current_params, ma_params in zip(current_model.parameters(), ma_model.parameters()):
        old_weight, up_weight = ma_params.data, current_params.data
        ma_params.data = ema_updater.update_average(old_weight, up_weight)


def barlow_steps(torch_like: Any, model: Any, views: list) -> list[float]:
    LARS = make_lars(torch_like)
    param_weights, param_biases = [], []
    for param in model.parameters():
        if param.ndim == 1:
            param_biases.append(param)
        else:
            param_weights.append(param)
    parameters = [{"params": param_weights}, {"params": param_biases}]
    optimizer = LARS(
        parameters,
        lr=0,
        weight_decay=1e-6,
        weight_decay_filter=True,
        lars_adaptation_filter=True,
    )
    values: list[float] = []
    for y1, y2 in views:
        optimizer.param_groups[0]["lr"] = LR * 0.2
        optimizer.param_groups[1]["lr"] = LR * 0.0048
        optimizer.zero_grad()
        loss, on_diag, off_diag = model(y1, y2)
        loss.backward()
        optimizer.step()
        values += [loss.item(), on_diag.item(), off_diag.item()]
        values += [model.projector[0].weight.grad.abs().sum().item()]
    values += model.bn.running_mean.tolist()
    return values + [float(len(optimizer.state)), float(model.bn.num_batches_tracked.item())]


def byol_steps(torch_like: Any, model: Any, views: list) -> list[float]:
    optimizer = torch_like.optim.SGD(
        list(model.online_encoder.parameters()) + list(model.online_predictor.parameters()),
        lr=LR,
        momentum=0.9,
    )
    ema = EMA(EMA_DECAY)
    values: list[float] = []
    for y1, y2 in views:
        loss = model(y1, y2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        update_moving_average(ema, model.target_encoder, model.online_encoder)
        target_weight = model.target_encoder[0][0].weight
        values += [
            loss.item(),
            target_weight.abs().sum().item(),
            float(target_weight.requires_grad),
        ]
    return values


def moco_steps(torch_like: Any, model: Any, views: list) -> list[float]:
    torch = torch_like
    optimizer = torch.optim.SGD(model.parameters(), LR, momentum=0.9, weight_decay=1e-4)
    criterion = torch.nn.CrossEntropyLoss()
    values: list[float] = []
    for y1, y2 in views:
        k_params = [p.detach().clone() for p in model.encoder_k.parameters()]
        q_params = [p.detach().clone() for p in model.encoder_q.parameters()]
        torch._foreach_mul_(k_params, MOCO_M)
        torch._foreach_add_(k_params, q_params, alpha=1 - MOCO_M)
        output, target = model(im_q=y1, im_k=y2)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        foreach_gap = max(
            (a - b).abs().max().item()
            for a, b in zip(k_params, model.encoder_k.parameters(), strict=True)
        )
        values += [loss.item(), foreach_gap, float(model.queue_ptr.item())]
        values += [model.queue.norm(dim=0).sum().item()]
    return values + [float(any(p.grad is not None for p in model.encoder_k.parameters()))]


def simsiam_steps(torch_like: Any, models: Any, views: list) -> list[float]:
    model, criterion = models.simsiam, models.criterion
    init_lr = LR * BATCH / 256
    optim_params = [
        {"params": model.encoder.parameters(), "fix_lr": False},
        {"params": model.predictor.parameters(), "fix_lr": True},
    ]
    optimizer = torch_like.optim.SGD(optim_params, init_lr, momentum=0.9, weight_decay=1e-4)
    values: list[float] = []
    for epoch, (y1, y2) in enumerate(views):
        cur_lr = init_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / STEPS))
        for param_group in optimizer.param_groups:
            if "fix_lr" in param_group and param_group["fix_lr"]:
                param_group["lr"] = init_lr
            else:
                param_group["lr"] = cur_lr
        p1, p2, z1, z2 = model(x1=y1, x2=y2)
        loss = -(criterion(p1, z2).mean() + criterion(p2, z1).mean()) * 0.5
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(model.encoder.fc[6].bias.grad is None)]
    return values + [group["lr"] for group in optimizer.param_groups]


def vicreg_steps(torch_like: Any, model: Any, views: list) -> list[float]:
    """VICReg with two EMA copies: ``AveragedModel`` with ``get_ema_multi_avg_fn`` and timm's
    ``ModelEmaV3`` update, ``torch._foreach_lerp_(ema_params, model_params, 1 - decay)``."""
    torch = torch_like
    swa_utils = torch.optim.swa_utils
    averaged = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, nesterov=True)
    values: list[float] = []
    for y1, y2 in views:
        loss = model(y1, y2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        averaged.update_parameters(model)
        with torch.no_grad():
            ema_params = tuple(ema.parameters())
            model_params = tuple(model.parameters())
            torch._foreach_lerp_(ema_params, model_params, weight=1.0 - 0.9)
        gap = max(
            (a - b).abs().max().item()
            for a, b in zip(averaged.module.parameters(), ema.parameters(), strict=True)
        )
        values += [loss.item(), float(averaged.n_averaged.item()), gap]
    return values + averaged.module.projector[0].weight.flatten()[:4].tolist()


def run(torch_like: Any, init: dict) -> list[float]:
    rng = np.random.default_rng(29)
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    models.train()
    base = rng.standard_normal((STEPS, BATCH, IN_DIM))
    views = [
        (
            as_tensor(torch_like, b + 0.1 * rng.standard_normal(b.shape)),
            as_tensor(torch_like, b * (1 + 0.1 * rng.standard_normal(b.shape))),
        )
        for b in base
    ]
    values = barlow_steps(torch_like, models.barlow, views)
    values += byol_steps(torch_like, models.byol, views)
    values += simsiam_steps(torch_like, models, views)
    values += vicreg_steps(torch_like, models.vicreg, views)
    return values + moco_steps(torch_like, models.moco, views)


def check(values: list[float]) -> None:
    assert values[-1] == 0.0  # the key encoder never gets a gradient
    for step in range(STEPS):
        assert values[-2 - 4 * step - 2] < 1e-12  # the _foreach_ update is MoCo's update
