"""SwAV (facebookresearch/swav, ``main_swav.py`` and ``src/resnet50.py``), size-reduced: online
clustering with Sinkhorn-Knopp over multi-crop views and a feature queue.

The idioms: ``distributed_sinkhorn`` under ``@torch.no_grad()`` (``Q = torch.exp(out /
epsilon).t()``, ``sum_Q = torch.sum(Q)``, in-place ``Q /= sum_Q``, row and column
normalisation ``Q /= torch.sum(Q, dim=1, keepdim=True)``, ``Q /= K``, ``Q /= torch.sum(Q,
dim=0, keepdim=True)``, ``Q /= B``, ``Q *= B``, ``Q.t()``; ``dist.all_reduce`` is the identity
with one process); the prototypes normalised before each step (``w =
model.prototypes.weight.data.clone()``, ``nn.functional.normalize(w, dim=1, p=2)``,
``model.prototypes.weight.copy_(w)`` under ``torch.no_grad()``); the multi-resolution forward
(``idx_crops = torch.cumsum(torch.unique_consecutive(torch.tensor([inp.shape[-1] for inp in
inputs]), return_counts=True)[1], 0)``, ``torch.cat(inputs[start_idx: end_idx])`` slicing a
list with 0-d tensors, ``torch.cat((output, _out))``), ``forward_head`` (projection head,
``nn.functional.normalize(x, dim=1, p=2)``, ``nn.Linear(output_dim, nmb_prototypes,
bias=False)`` prototypes); the queue (``torch.zeros(len(crops_for_assign), queue_length,
feat_dim)``, ``torch.all(queue[i, -1, :] == 0)``, ``torch.cat((torch.mm(queue[i],
model.prototypes.weight.t()), out))``, ``queue[i, bs:] = queue[i, :-bs].clone()``,
``queue[i, :bs] = embedding[crop_id * bs: (crop_id + 1) * bs]``); the swapped prediction loss
over ``np.delete(np.arange(np.sum(nmb_crops)), crop_id)`` with ``subloss -=
torch.mean(torch.sum(q * F.log_softmax(x, dim=1), dim=1))`` and ``loss += subloss /
(np.sum(nmb_crops) - 1)`` (a NumPy integer in the divisor); the prototypes frozen for the first
iterations by ``p.grad = None``; the schedule ``np.linspace`` warm-up + cosine as a NumPy array
whose ``float64`` entries are written into ``param_group["lr"]``.

Changed: ResNet-50 -> a two-conv backbone with ``nn.AdaptiveAvgPool2d``; 224/96 crops -> 8/4
pixel NumPy crops of the same "images"; 3000 prototypes -> 6, feat_dim 128 -> 4, batch 4,
queue 3840 -> 8; LARS -> SGD; one process.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

NMB_CROPS, CROPS_FOR_ASSIGN, BS, FEAT, N_PROTO, QUEUE = [2, 2], [0, 1], 4, 4, 6, 8
EPSILON, SINKHORN_ITERS, TEMPERATURE, FREEZE_ITERS = 0.05, 3, 0.1, 2


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class SwAVNet(nn.Module):
        def __init__(self, output_dim: int = FEAT, hidden_mlp: int = 8, nmb_prototypes: int = 6):
            super().__init__()
            self.l2norm = True
            self.backbone = nn.Sequential(
                nn.Conv2d(3, 6, 3, padding=1, bias=False),
                nn.BatchNorm2d(6),
                nn.ReLU(inplace=True),
                nn.Conv2d(6, 8, 3, padding=1),
                nn.ReLU(inplace=True),
            )
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.projection_head = nn.Sequential(
                nn.Linear(8, hidden_mlp),
                nn.BatchNorm1d(hidden_mlp),
                nn.ReLU(inplace=True),
                nn.Linear(hidden_mlp, output_dim),
            )
            self.prototypes = nn.Linear(output_dim, nmb_prototypes, bias=False)

        def forward_backbone(self, x):
            x = self.backbone(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return x

        def forward_head(self, x):
            if self.projection_head is not None:
                x = self.projection_head(x)

            if self.l2norm:
                x = nn.functional.normalize(x, dim=1, p=2)

            if self.prototypes is not None:
                return x, self.prototypes(x)
            return x

        def forward(self, inputs):
            if not isinstance(inputs, list):
                inputs = [inputs]
            idx_crops = torch.cumsum(
                torch.unique_consecutive(
                    torch.tensor([inp.shape[-1] for inp in inputs]),
                    return_counts=True,
                )[1],
                0,
            )
            start_idx = 0
            for end_idx in idx_crops:
                _out = self.forward_backbone(torch.cat(inputs[start_idx:end_idx]))
                if start_idx == 0:
                    output = _out
                else:
                    output = torch.cat((output, _out))
                start_idx = end_idx
            return self.forward_head(output)

    return SwAVNet(nmb_prototypes=N_PROTO)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    rng = np.random.default_rng(2006)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []

    @torch.no_grad()
    def distributed_sinkhorn(out):
        Q = torch.exp(out / EPSILON).t()  # Q is K-by-B for consistency with notations from paper
        B = Q.shape[1] * 1  # number of samples to assign (world_size 1)
        K = Q.shape[0]  # how many prototypes

        # make the matrix sums to 1
        sum_Q = torch.sum(Q)
        Q /= sum_Q

        for it in range(SINKHORN_ITERS):  # noqa: B007 (as in the repo)
            # normalize each row: total weight per prototype must be 1/K
            sum_of_rows = torch.sum(Q, dim=1, keepdim=True)
            Q /= sum_of_rows
            Q /= K

            # normalize each column: total weight per sample must be 1/B
            Q /= torch.sum(Q, dim=0, keepdim=True)
            Q /= B

        Q *= B  # the colomns must sum to 1 so that Q is an assignment
        return Q.t()

    n_iters, warmup_epochs, epochs, iters_per_epoch = 6, 1, 3, 2
    base_lr, final_lr, start_warmup = 0.6, 0.0006, 0.0
    warmup_lr_schedule = np.linspace(start_warmup, base_lr, iters_per_epoch * warmup_epochs)
    iters = np.arange(iters_per_epoch * (epochs - warmup_epochs))
    cosine_lr_schedule = np.array(
        [
            final_lr
            + 0.5
            * (base_lr - final_lr)
            * (1 + math.cos(math.pi * t / (iters_per_epoch * (epochs - warmup_epochs))))
            for t in iters
        ]
    )
    lr_schedule = np.concatenate((warmup_lr_schedule, cosine_lr_schedule))
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, weight_decay=1e-6)

    queue = torch.zeros(len(CROPS_FOR_ASSIGN), QUEUE, FEAT)
    use_the_queue = False
    images = rng.random((3 * BS, 3, 8, 8))
    model.train()
    for it in range(n_iters):
        batch = images[(it % 3) * BS : (it % 3 + 1) * BS]
        big = [batch, batch[:, :, ::-1, :] + 0.05 * rng.standard_normal(batch.shape)]
        small = [batch[:, :, ::2, ::2], batch[:, :, 1::2, 1::2]]
        inputs = [torch.tensor(np.ascontiguousarray(c)) for c in big + small]
        iteration = it
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr_schedule[iteration]

        # normalize the prototypes
        with torch.no_grad():
            w = model.prototypes.weight.data.clone()
            w = nn.functional.normalize(w, dim=1, p=2)
            model.prototypes.weight.copy_(w)

        # ============ multi-res forward passes ... ============
        embedding, output = model(inputs)
        embedding = embedding.detach()
        bs = inputs[0].size(0)

        # ============ swav loss ... ============
        loss = 0
        for i, crop_id in enumerate(CROPS_FOR_ASSIGN):
            with torch.no_grad():
                out = output[bs * crop_id : bs * (crop_id + 1)].detach()

                # time to use the queue
                if queue is not None:
                    if use_the_queue or not torch.all(queue[i, -1, :] == 0):
                        use_the_queue = True
                        out = torch.cat((torch.mm(queue[i], model.prototypes.weight.t()), out))
                    # fill the queue
                    queue[i, bs:] = queue[i, :-bs].clone()
                    queue[i, :bs] = embedding[crop_id * bs : (crop_id + 1) * bs]

                # get assignments
                q = distributed_sinkhorn(out)[-bs:]

            # cluster assignment prediction
            subloss = 0
            for v in np.delete(np.arange(np.sum(NMB_CROPS)), crop_id):
                x = output[bs * v : bs * (v + 1)] / TEMPERATURE
                subloss -= torch.mean(torch.sum(q * F.log_softmax(x, dim=1), dim=1))
            loss += subloss / (np.sum(NMB_CROPS) - 1)
        loss /= len(CROPS_FOR_ASSIGN)

        # ============ backward and optim step ... ============
        optimizer.zero_grad()
        loss.backward()
        # cancel gradients for the prototypes
        if iteration < FREEZE_ITERS:
            for name, p in model.named_parameters():
                if "prototypes" in name:
                    p.grad = None
        optimizer.step()
        values.extend([loss.item(), float(use_the_queue), optimizer.param_groups[0]["lr"]])
        values.append(q.sum(1).mean().item())  # each assignment sums to 1
    values.append(model.prototypes.weight.norm(dim=1).mean().item())
    values.extend(queue[0, :, 0].tolist())
    return values
