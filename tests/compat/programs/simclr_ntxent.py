"""Contrastive SimCLR training as three well-known public PyTorch implementations write the
NT-Xent loss, size-reduced: sthalles/SimCLR (``simclr.py``'s ``info_nce_loss``: ``labels =
torch.cat([torch.arange(batch_size) for i in range(n_views)], dim=0)``, ``(labels.unsqueeze(0)
== labels.unsqueeze(1)).float()``, ``F.normalize(features, dim=1)``, ``torch.matmul(features,
features.T)``, ``mask = torch.eye(labels.shape[0], dtype=torch.bool)``, ``labels[~mask].view(
labels.shape[0], -1)``, positives and negatives picked by ``labels.bool()`` masks, ``torch.cat``,
``torch.zeros(..., dtype=torch.long)`` targets, ``logits / temperature``; ``utils.py``'s
``accuracy(output, target, topk=(1, 5))`` with ``output.topk(maxk, 1, True, True)``,
``pred.t()``, ``pred.eq(target.view(1, -1).expand_as(pred))``, ``correct[:k].reshape(-1)
.float().sum(0, keepdim=True)`` and ``mul_(100.0 / batch_size)``; ``ResNetSimCLR``'s projection
head ``nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), self.backbone.fc)`` over
``self.backbone.fc.in_features``; ``run.py``'s ``Adam(..., weight_decay=1e-4)`` and
``CosineAnnealingLR(T_max=len(train_loader), eta_min=0)``; ``torch.cat(images, dim=0)`` of the
two views), Spijkervet/SimCLR (``nt_xent.py``'s ``NT_Xent``: ``mask_correlated_samples`` with
``torch.ones((N, N), dtype=bool)``, ``mask.fill_diagonal_(0)`` and the paired zeros,
``nn.CosineSimilarity(dim=2)`` on ``z.unsqueeze(1)``/``z.unsqueeze(0)``, ``torch.diag(sim,
batch_size)``/``torch.diag(sim, -batch_size)``, ``sim[self.mask].reshape(N, -1)``,
``CrossEntropyLoss(reduction="sum")`` divided by ``N``) and the UvA deep-learning tutorial 17
(``F.cosine_similarity(feats[:, None, :], feats[None, :, :], dim=-1)``, ``cos_sim.masked_fill_(
self_mask, -9e15)``, ``pos_mask = self_mask.roll(shifts=cos_sim.shape[0] // 2, dims=0)``,
``-cos_sim[pos_mask] + torch.logsumexp(cos_sim, dim=-1)``, the ranking metric
``comb_sim.argsort(dim=-1, descending=True).argmin(dim=-1)``). The three losses are the same
function of the features, which ``check`` asserts.

Changed: the ResNet-18 backbone is a one-block CNN (``Conv2d``/``BatchNorm2d``/``ReLU``/
``AdaptiveAvgPool2d``/``flatten``/``fc``) and STL10 is 16 random 3x6x6 NumPy images; the
``ContrastiveLearningViewGenerator`` augmentations are two NumPy views (a flip and Gaussian
jitter from a seeded generator); batch 256 -> 8, out_dim 128 -> 6, 100 epochs -> 2 of 2
batches; top-5 -> top-3 (8 candidates); fp16 autocast left out (CPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

BATCH, N_VIEWS, OUT_DIM, TEMPERATURE = 4, 2, 6, 0.07


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Backbone(nn.Module):
        """Stands in for ``torchvision.models.resnet18(pretrained=False, num_classes=out_dim)``."""

        def __init__(self, num_classes: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 5, kernel_size=3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(5)
            self.relu = nn.ReLU(inplace=True)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(5, num_classes)

        def forward(self, x: Any) -> Any:
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.avgpool(x)
            x = torch_like.flatten(x, 1)
            return self.fc(x)

    class ResNetSimCLR(nn.Module):
        def __init__(self, base_model: str, out_dim: int) -> None:
            super(ResNetSimCLR, self).__init__()  # noqa: UP008 (as in the repository)
            self.resnet_dict = {"resnet18": Backbone}
            self.backbone = self._get_basemodel(base_model)(num_classes=out_dim)
            dim_mlp = self.backbone.fc.in_features

            # add mlp projection head
            self.backbone.fc = nn.Sequential(
                nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), self.backbone.fc
            )

        def _get_basemodel(self, model_name: str) -> Any:
            return self.resnet_dict[model_name]

        def forward(self, x: Any) -> Any:
            return self.backbone(x)

    return ResNetSimCLR(base_model="resnet18", out_dim=OUT_DIM)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    device = "cpu"
    rng = np.random.default_rng(17)
    images = rng.random((16, 3, 6, 6))

    def views(batch: np.ndarray) -> list[Any]:
        flipped = batch[..., ::-1] + 0.1 * rng.standard_normal(batch.shape)
        jittered = batch + 0.1 * rng.standard_normal(batch.shape)
        return [torch.tensor(flipped.copy()), torch.tensor(jittered)]

    train_loader = [(views(images[i : i + BATCH]), None) for i in range(0, 16, BATCH)][:2]

    def info_nce_loss(features: Any) -> tuple[Any, Any]:
        labels = torch.cat([torch.arange(BATCH) for i in range(N_VIEWS)], dim=0)
        labels = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()
        labels = labels.to(device)

        features = F.normalize(features, dim=1)

        similarity_matrix = torch.matmul(features, features.T)

        # discard the main diagonal from both: labels and similarities matrix
        mask = torch.eye(labels.shape[0], dtype=torch.bool).to(device)
        labels = labels[~mask].view(labels.shape[0], -1)
        similarity_matrix = similarity_matrix[~mask].view(similarity_matrix.shape[0], -1)

        # select and combine multiple positives
        positives = similarity_matrix[labels.bool()].view(labels.shape[0], -1)

        # select only the negatives
        negatives = similarity_matrix[~labels.bool()].view(similarity_matrix.shape[0], -1)

        logits = torch.cat([positives, negatives], dim=1)
        labels = torch.zeros(logits.shape[0], dtype=torch.long).to(device)

        logits = logits / TEMPERATURE
        return logits, labels

    def accuracy(output: Any, target: Any, topk: tuple = (1,)) -> list[Any]:
        """Computes the accuracy over the k top predictions for the specified values of k"""
        with torch.no_grad():
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

    class NT_Xent(nn.Module):  # Spijkervet/SimCLR
        def __init__(self, batch_size: int, temperature: float) -> None:
            super(NT_Xent, self).__init__()  # noqa: UP008
            self.batch_size = batch_size
            self.temperature = temperature
            self.mask = self.mask_correlated_samples(batch_size)
            self.criterion = nn.CrossEntropyLoss(reduction="sum")
            self.similarity_f = nn.CosineSimilarity(dim=2)

        def mask_correlated_samples(self, batch_size: int) -> Any:
            N = 2 * batch_size
            mask = torch.ones((N, N), dtype=bool)
            mask = mask.fill_diagonal_(0)
            for i in range(batch_size):
                mask[i, batch_size + i] = 0
                mask[batch_size + i, i] = 0
            return mask

        def forward(self, z_i: Any, z_j: Any) -> Any:
            N = 2 * self.batch_size
            z = torch.cat((z_i, z_j), dim=0)
            sim = self.similarity_f(z.unsqueeze(1), z.unsqueeze(0)) / self.temperature

            sim_i_j = torch.diag(sim, self.batch_size)
            sim_j_i = torch.diag(sim, -self.batch_size)

            # We have 2N samples, but with Distributed training every GPU gets N examples too
            positive_samples = torch.cat((sim_i_j, sim_j_i), dim=0).reshape(N, 1)
            negative_samples = sim[self.mask].reshape(N, -1)

            labels = torch.zeros(N).to(positive_samples.device).long()
            logits = torch.cat((positive_samples, negative_samples), dim=1)
            loss = self.criterion(logits, labels)
            loss /= N
            return loss

    def uva_nce(feats: Any) -> tuple[Any, Any]:  # UvA DL tutorial 17
        cos_sim = F.cosine_similarity(feats[:, None, :], feats[None, :, :], dim=-1)
        self_mask = torch.eye(cos_sim.shape[0], dtype=torch.bool, device=cos_sim.device)
        cos_sim.masked_fill_(self_mask, -9e15)
        pos_mask = self_mask.roll(shifts=cos_sim.shape[0] // 2, dims=0)
        cos_sim = cos_sim / TEMPERATURE
        nll = -cos_sim[pos_mask] + torch.logsumexp(cos_sim, dim=-1)
        nll = nll.mean()
        comb_sim = torch.cat(
            [cos_sim[pos_mask][:, None], cos_sim.masked_fill(pos_mask, -9e15)], dim=-1
        )
        sim_argsort = comb_sim.argsort(dim=-1, descending=True).argmin(dim=-1)
        return nll, (sim_argsort == 0).float().mean()

    model = make_model(torch_like).to(device)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    optimizer = torch.optim.Adam(model.parameters(), 3e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=len(train_loader), eta_min=0, last_epoch=-1
    )
    criterion = torch.nn.CrossEntropyLoss().to(device)
    nt_xent = NT_Xent(BATCH, TEMPERATURE)
    values: list[float] = []
    for _epoch_counter in range(2):
        for images_, _ in train_loader:
            images_ = torch.cat(images_, dim=0)
            images_ = images_.to(device)

            features = model(images_)
            logits, labels = info_nce_loss(features)
            loss = criterion(logits, labels)

            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            top1, top3 = accuracy(logits, labels, topk=(1, 3))
            z_i, z_j = features.detach().chunk(2, dim=0)
            uva, acc_top1 = uva_nce(features.detach())
            values += [loss.item(), nt_xent(z_i, z_j).item(), uva.item()]
            values += [top1[0].item(), top3[0].item(), acc_top1.item()]
        # warmup for the first 10 epochs
        if _epoch_counter >= 1:
            scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    return values


def check(values: list[float]) -> None:
    """sthalles', Spijkervet's and the UvA tutorial's NT-Xent agree on every batch."""
    for i in (0, 6, 13, 19):
        a, b, c = values[i : i + 3]
        assert abs(a - b) < 1e-9 * abs(a) and abs(a - c) < 1e-9 * abs(a), (a, b, c)
