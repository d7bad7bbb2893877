"""DINO self-distillation (facebookresearch/dino's ``main_dino.py``, ``vision_transformer.py``'s
``DINOHead`` and ``utils.py``), size-reduced: a small MLP backbone on flattened crops stands in
for the ViT.

The idioms: ``DINOHead`` (an MLP of ``nn.Linear`` + ``nn.GELU``, ``self.apply(
self._init_weights)`` with ``trunc_normal_(m.weight, std=.02)`` and ``nn.init.constant_(
m.bias, 0)``, ``F.normalize(x, dim=-1, p=2)``, the last layer ``nn.utils.weight_norm(
nn.Linear(bottleneck_dim, out_dim, bias=False))`` with ``self.last_layer.weight_g.data.fill_(
1)`` and ``weight_g.requires_grad = False``); ``MultiCropWrapper`` (``torch.cumsum(
torch.unique_consecutive(torch.tensor([inp.shape[-1] for inp in x]), return_counts=True)[1],
0)``, ``torch.cat(x[start_idx: end_idx])``, ``nn.Identity()`` replacing the backbone's head);
``DINOLoss`` (``register_buffer("center", torch.zeros(1, out_dim))``, the teacher temperature
warm-up ``np.concatenate((np.linspace(...), np.ones(...) * teacher_temp))``,
``student_output.chunk(self.ncrops)``, ``F.softmax((teacher_output - self.center) / temp,
dim=-1)``, ``.detach().chunk(2)``, ``torch.sum(-q * F.log_softmax(student_out[v], dim=-1),
dim=-1)``, ``@torch.no_grad() update_center`` with ``torch.sum(teacher_output, dim=0,
keepdim=True)`` and ``self.center * self.center_momentum + batch_center * (1 -
self.center_momentum)``); ``cosine_scheduler`` (``np.linspace``, ``np.cos``, ``np.arange``)
feeding ``param_group["lr"]`` / ``param_group["weight_decay"]`` each iteration;
``get_params_groups`` (``name.endswith(".bias") or len(param.shape) == 1`` to
``{'params': not_regularized, 'weight_decay': 0.}``); ``clip_gradients`` (``p.grad.data.norm(
2)``, ``clip_coef = clip / (param_norm + 1e-6)``, ``p.grad.data.mul_(clip_coef)``);
``cancel_gradients_last_layer`` (``p.grad = None`` for ``"last_layer"`` names in the first
epoch); ``teacher.load_state_dict(student.state_dict())`` and ``p.requires_grad = False``; and
the EMA ``param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)`` under ``torch.no_grad()``.
Crops come as NumPy arrays of two sizes (global and local), as the augmentation hands them over.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

GLOBAL, LOCAL, N_LOCAL, BATCH, OUT_DIM, EMBED = 8, 4, 2, 3, 10, 6
EPOCHS, ITERS = 2, 2


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    trunc_normal_ = torch_like.nn.init.trunc_normal_

    class DINOHead(nn.Module):
        def __init__(self, in_dim, out_dim, use_bn=False, norm_last_layer=True, nlayers=3,
                     hidden_dim=12, bottleneck_dim=5):  # fmt: skip
            super().__init__()
            nlayers = max(nlayers, 1)
            if nlayers == 1:
                self.mlp = nn.Linear(in_dim, bottleneck_dim)
            else:
                layers = [nn.Linear(in_dim, hidden_dim)]
                if use_bn:
                    layers.append(nn.BatchNorm1d(hidden_dim))
                layers.append(nn.GELU())
                for _ in range(nlayers - 2):
                    layers.append(nn.Linear(hidden_dim, hidden_dim))
                    if use_bn:
                        layers.append(nn.BatchNorm1d(hidden_dim))
                    layers.append(nn.GELU())
                layers.append(nn.Linear(hidden_dim, bottleneck_dim))
                self.mlp = nn.Sequential(*layers)
            self.apply(self._init_weights)
            with warnings.catch_warnings():  # torch deprecates the hook form
                warnings.simplefilter("ignore", FutureWarning)
                self.last_layer = nn.utils.weight_norm(
                    nn.Linear(bottleneck_dim, out_dim, bias=False)
                )
            self.last_layer.weight_g.data.fill_(1)
            if norm_last_layer:
                self.last_layer.weight_g.requires_grad = False

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):
            x = self.mlp(x)
            x = nn.functional.normalize(x, dim=-1, p=2)
            x = self.last_layer(x)
            return x

    class Backbone(nn.Module):
        """Stands in for the ViT: pools any crop size to one embedding."""

        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(3, EMBED)
            self.norm = nn.LayerNorm(EMBED, eps=1e-6)
            self.head = nn.Linear(EMBED, 4)

        def forward(self, x):
            x = x.flatten(2).transpose(1, 2)  # (B, H*W, 3)
            x = F.gelu(self.proj(x)).mean(dim=1)
            return self.head(self.norm(x))

    class MultiCropWrapper(nn.Module):
        def __init__(self, backbone, head):
            super().__init__()
            backbone.fc, backbone.head = nn.Identity(), nn.Identity()
            self.backbone = backbone
            self.head = head

        def forward(self, x):
            if not isinstance(x, list):
                x = [x]
            idx_crops = torch.cumsum(
                torch.unique_consecutive(
                    torch.tensor([inp.shape[-1] for inp in x]),
                    return_counts=True,
                )[1],
                0,
            )
            start_idx, output = 0, torch.empty(0).to(x[0].device)
            for end_idx in idx_crops:
                _out = self.backbone(torch.cat(x[start_idx:end_idx]))
                if isinstance(_out, tuple):
                    _out = _out[0]
                output = torch.cat((output, _out))
                start_idx = end_idx
            return self.head(output)

    return MultiCropWrapper(Backbone(), DINOHead(EMBED, OUT_DIM, norm_last_layer=True))


def make_loss(torch_like: Any, out_dim, ncrops, warmup_teacher_temp, teacher_temp,
              warmup_teacher_temp_epochs, nepochs, student_temp=0.1,
              center_momentum=0.9) -> Any:  # fmt: skip
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class DINOLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.student_temp = student_temp
            self.center_momentum = center_momentum
            self.ncrops = ncrops
            self.register_buffer("center", torch.zeros(1, out_dim))
            self.teacher_temp_schedule = np.concatenate(
                (
                    np.linspace(warmup_teacher_temp, teacher_temp, warmup_teacher_temp_epochs),
                    np.ones(nepochs - warmup_teacher_temp_epochs) * teacher_temp,
                )
            )

        def forward(self, student_output, teacher_output, epoch):
            student_out = student_output / self.student_temp
            student_out = student_out.chunk(self.ncrops)
            temp = self.teacher_temp_schedule[epoch]
            teacher_out = F.softmax((teacher_output - self.center) / temp, dim=-1)
            teacher_out = teacher_out.detach().chunk(2)
            total_loss = 0
            n_loss_terms = 0
            for iq, q in enumerate(teacher_out):
                for v in range(len(student_out)):
                    if v == iq:
                        continue
                    loss = torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1)
                    total_loss += loss.mean()
                    n_loss_terms += 1
            total_loss /= n_loss_terms
            self.update_center(teacher_output)
            return total_loss

        @torch.no_grad()
        def update_center(self, teacher_output):
            batch_center = torch.sum(teacher_output, dim=0, keepdim=True)
            batch_center = batch_center / len(teacher_output)
            self.center = self.center * self.center_momentum + batch_center * (
                1 - self.center_momentum
            )

    return DINOLoss()


def cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0,
                     start_warmup_value=0):  # fmt: skip
    warmup_schedule = np.array([])
    warmup_iters = warmup_epochs * niter_per_ep
    if warmup_epochs > 0:
        warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = final_value + 0.5 * (base_value - final_value) * (
        1 + np.cos(np.pi * iters / len(iters))
    )
    schedule = np.concatenate((warmup_schedule, schedule))
    assert len(schedule) == epochs * niter_per_ep
    return schedule


def get_params_groups(model):
    regularized = []
    not_regularized = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.endswith(".bias") or len(param.shape) == 1:
            not_regularized.append(param)
        else:
            regularized.append(param)
    return [{"params": regularized}, {"params": not_regularized, "weight_decay": 0.0}]


def clip_gradients(model, clip):
    norms = []
    for _name, p in model.named_parameters():
        if p.grad is not None:
            param_norm = p.grad.data.norm(2)
            norms.append(param_norm.item())
            clip_coef = clip / (param_norm + 1e-6)
            if clip_coef < 1:
                p.grad.data.mul_(clip_coef)
    return norms


def cancel_gradients_last_layer(epoch, model, freeze_last_layer):
    if epoch >= freeze_last_layer:
        return
    for n, p in model.named_parameters():
        if "last_layer" in n:
            p.grad = None


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    student = make_model(torch_like)
    teacher = make_model(torch_like)
    load_numpy_state(torch_like, student, init)
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad = False
    names = [n for n, _ in student.named_parameters()]
    values: list[float] = [float(len(names)), float("head.last_layer.weight_g" in names)]
    values += [float(student.head.last_layer.weight_g.requires_grad)]

    ncrops = 2 + N_LOCAL
    dino_loss = make_loss(torch_like, OUT_DIM, ncrops, 0.04, 0.07, 1, EPOCHS)
    params_groups = get_params_groups(student)
    values += [float(len(params_groups[0]["params"])), float(len(params_groups[1]["params"]))]
    optimizer = torch.optim.AdamW(params_groups)
    lr_schedule = cosine_scheduler(5e-3 * BATCH / 256 * 100, 1e-6, EPOCHS, ITERS, warmup_epochs=1)
    wd_schedule = cosine_scheduler(0.04, 0.4, EPOCHS, ITERS)
    momentum_schedule = cosine_scheduler(0.996, 1, EPOCHS, ITERS)

    rng = np.random.default_rng(3)
    for epoch in range(EPOCHS):
        for it_in_epoch in range(ITERS):
            it = ITERS * epoch + it_in_epoch
            for i, param_group in enumerate(optimizer.param_groups):
                param_group["lr"] = lr_schedule[it]
                if i == 0:
                    param_group["weight_decay"] = wd_schedule[it]
            crops = [rng.standard_normal((BATCH, 3, GLOBAL, GLOBAL)) for _ in range(2)]
            crops += [rng.standard_normal((BATCH, 3, LOCAL, LOCAL)) for _ in range(N_LOCAL)]
            images = [as_tensor(torch, im) for im in crops]
            teacher_output = teacher(images[:2])
            student_output = student(images)
            loss = dino_loss(student_output, teacher_output, epoch)
            if not math.isfinite(loss.item()):
                raise RuntimeError(f"Loss is {loss.item()}, stopping training")
            optimizer.zero_grad()
            loss.backward()
            values += clip_gradients(student, 0.05)
            cancel_gradients_last_layer(epoch, student, 1)
            values += [float(student.head.last_layer.weight_v.grad is None)]
            optimizer.step()
            with torch.no_grad():
                m = momentum_schedule[it]
                for param_q, param_k in zip(student.parameters(), teacher.parameters()):
                    param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)
            values += [loss.item(), optimizer.param_groups[0]["lr"]]
            values += dino_loss.center.flatten().tolist()
    values += [float(dino_loss.center.requires_grad), float(len(dino_loss.state_dict()))]
    values += [p.sum().item() for p in teacher.parameters()]
    return values
