"""HRNet/HRNet-Semantic-Segmentation (``lib/core/criterion.py``) with abhuse/polyloss-pytorch
(``polyloss.py``), size-reduced: ``OhemCrossEntropy`` (``nn.CrossEntropyLoss(weight=weight,
ignore_index=ignore_label, reduction='none')``, the score upsampled by ``F.interpolate(
input=score, size=(h, w), mode='bilinear', align_corners=...)`` when its size differs,
``pixel_losses = self.criterion(score, target).contiguous().view(-1)``, ``mask =
target.contiguous().view(-1) != self.ignore_label``, ``tmp_target[tmp_target ==
self.ignore_label] = 0``, ``pred.gather(1, tmp_target.unsqueeze(1))``, ``pred, ind =
pred.contiguous().view(-1,)[mask].contiguous().sort()``, ``min_value = pred[min(
self.min_kept, pred.numel() - 1)]``, Python's ``max(min_value, self.thresh)`` of a tensor
and a float, ``pixel_losses[mask][ind]``, ``pixel_losses[pred < threshold].mean()``) and the
multi-output ``forward`` with ``functions = [self._ce_forward] * (len(weights) - 1) +
[self._ohem_forward]`` summed with ``BALANCE_WEIGHTS``; ``Poly1CrossEntropyLoss``
(``F.one_hot(labels, num_classes=self.num_classes).to(device=logits.device,
dtype=logits.dtype)``, ``pt = torch.sum(labels_onehot * F.softmax(logits, dim=-1), dim=-1)``,
``F.cross_entropy(input=logits, target=labels, reduction='none', weight=self.weight)``,
``CE + self.epsilon * (1 - pt)``) and ``Poly1FocalLoss`` for segmentation labels
(``F.one_hot(labels.unsqueeze(1), self.num_classes).transpose(1, -1).squeeze_(-1)``,
``F.binary_cross_entropy_with_logits(input=logits, target=labels, reduction="none",
weight=self.weight, pos_weight=self.pos_weight)``, ``pt = labels * p + (1 - labels) * (1 -
p)``, the ``alpha_t`` weighting and ``self.epsilon * torch.pow(1 - pt, self.gamma + 1)``).

Changed: HRNet -> a two-conv network with a half-resolution main head, an auxiliary head and
an image-level head, 19 -> 3 classes on 8x8 label maps with ignored (-1) pixels, min_kept
100000 -> 20, 4 SGD steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_CLASSES, IGNORE = 3, -1
BALANCE_WEIGHTS = [0.4, 1.0]
ALIGN_CORNERS = False


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinySegNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6), nn.ReLU(inplace=True)
            )
            self.aux_head = nn.Conv2d(6, NUM_CLASSES, 1)
            self.cls_head = nn.Conv2d(6, NUM_CLASSES, 3, padding=1)
            self.img_head = nn.Linear(6, NUM_CLASSES)

        def forward(self, x: Any) -> tuple:
            f = self.stem(x)
            return [self.aux_head(f), self.cls_head(f)], self.img_head(f.mean((2, 3)))

    return TinySegNet()


def _losses(torch: Any) -> tuple:
    nn, F = torch.nn, torch.nn.functional

    class OhemCrossEntropy(nn.Module):
        def __init__(self, ignore_label: int = -1, thres: float = 0.7, min_kept: int = 100000,
                     weight: Any = None) -> None:  # fmt: skip
            super(OhemCrossEntropy, self).__init__()  # noqa: UP008
            self.thresh = thres
            self.min_kept = max(1, min_kept)
            self.ignore_label = ignore_label
            self.criterion = nn.CrossEntropyLoss(
                weight=weight, ignore_index=ignore_label, reduction="none"
            )

        def _ce_forward(self, score: Any, target: Any) -> Any:
            ph, pw = score.size(2), score.size(3)
            h, w = target.size(1), target.size(2)
            if ph != h or pw != w:
                score = F.interpolate(input=score, size=(h, w), mode="bilinear",
                                      align_corners=ALIGN_CORNERS)  # fmt: skip

            loss = self.criterion(score, target)

            return loss.sum() / (target != self.ignore_label).sum()

        def _ohem_forward(self, score: Any, target: Any, **kwargs: Any) -> Any:
            ph, pw = score.size(2), score.size(3)
            h, w = target.size(1), target.size(2)
            if ph != h or pw != w:
                score = F.interpolate(input=score, size=(h, w), mode="bilinear",
                                      align_corners=ALIGN_CORNERS)  # fmt: skip
            pred = F.softmax(score, dim=1)
            pixel_losses = self.criterion(score, target).contiguous().view(-1)
            mask = target.contiguous().view(-1) != self.ignore_label

            tmp_target = target.clone()
            tmp_target[tmp_target == self.ignore_label] = 0
            pred = pred.gather(1, tmp_target.unsqueeze(1))
            pred, ind = pred.contiguous().view(-1,)[mask].contiguous().sort()  # fmt: skip
            min_value = pred[min(self.min_kept, pred.numel() - 1)]
            threshold = max(min_value, self.thresh)

            pixel_losses = pixel_losses[mask][ind]
            pixel_losses = pixel_losses[pred < threshold]
            return pixel_losses.mean()

        def forward(self, score: Any, target: Any) -> Any:
            if not (isinstance(score, list) or isinstance(score, tuple)):  # noqa: SIM101
                score = [score]

            weights = BALANCE_WEIGHTS
            assert len(weights) == len(score)

            functions = [self._ce_forward] * (len(weights) - 1) + [self._ohem_forward]
            return sum([w * func(x, target) for (w, x, func) in zip(weights, score, functions)])

    class Poly1CrossEntropyLoss(nn.Module):
        def __init__(self, num_classes: int, epsilon: float = 1.0, reduction: str = "none",
                     weight: Any = None) -> None:  # fmt: skip
            super(Poly1CrossEntropyLoss, self).__init__()  # noqa: UP008
            self.num_classes = num_classes
            self.epsilon = epsilon
            self.reduction = reduction
            self.weight = weight

        def forward(self, logits: Any, labels: Any) -> Any:
            labels_onehot = F.one_hot(labels, num_classes=self.num_classes).to(
                device=logits.device, dtype=logits.dtype
            )
            pt = torch.sum(labels_onehot * F.softmax(logits, dim=-1), dim=-1)
            CE = F.cross_entropy(input=logits, target=labels, reduction="none",
                                 weight=self.weight)  # fmt: skip
            poly1 = CE + self.epsilon * (1 - pt)
            if self.reduction == "mean":
                poly1 = poly1.mean()
            elif self.reduction == "sum":
                poly1 = poly1.sum()
            return poly1

    class Poly1FocalLoss(nn.Module):
        def __init__(self, num_classes: int, epsilon: float = 1.0, alpha: float = 0.25,
                     gamma: float = 2.0, reduction: str = "none", weight: Any = None,
                     pos_weight: Any = None, label_is_onehot: bool = False) -> None:  # fmt: skip
            super(Poly1FocalLoss, self).__init__()  # noqa: UP008
            self.num_classes = num_classes
            self.epsilon = epsilon
            self.alpha = alpha
            self.gamma = gamma
            self.reduction = reduction
            self.weight = weight
            self.pos_weight = pos_weight
            self.label_is_onehot = label_is_onehot

        def forward(self, logits: Any, labels: Any) -> Any:
            p = torch.sigmoid(logits)

            if not self.label_is_onehot:
                # if labels are of shape [N]
                # convert to one-hot tensor of shape [N, num_classes]
                if labels.ndim == 1:
                    labels = F.one_hot(labels, num_classes=self.num_classes)

                # if labels are of shape [N, ...] e.g. segmentation task
                # convert to one-hot tensor of shape [N, num_classes, ...]
                else:
                    labels = (
                        F.one_hot(labels.unsqueeze(1), self.num_classes)
                        .transpose(1, -1)
                        .squeeze_(-1)
                    )

            labels = labels.to(device=logits.device, dtype=logits.dtype)

            ce_loss = F.binary_cross_entropy_with_logits(
                input=logits, target=labels, reduction="none", weight=self.weight,
                pos_weight=self.pos_weight,
            )  # fmt: skip
            pt = labels * p + (1 - labels) * (1 - p)
            FL = ce_loss * ((1 - pt) ** self.gamma)

            if self.alpha >= 0:
                alpha_t = self.alpha * labels + (1 - self.alpha) * (1 - labels)
                FL = alpha_t * FL

            poly1 = FL + self.epsilon * torch.pow(1 - pt, self.gamma + 1)

            if self.reduction == "mean":
                poly1 = poly1.mean()
            elif self.reduction == "sum":
                poly1 = poly1.sum()

            return poly1

    return OhemCrossEntropy, Poly1CrossEntropyLoss, Poly1FocalLoss


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(31)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    Ohem, Poly1CE, Poly1Focal = _losses(torch)
    class_weights = torch.tensor([1.0, 0.8, 1.2])
    criterion = Ohem(ignore_label=IGNORE, thres=0.7, min_kept=20, weight=class_weights)
    poly_ce = Poly1CE(num_classes=NUM_CLASSES, epsilon=1.0, reduction="mean")
    poly_focal = Poly1Focal(num_classes=NUM_CLASSES, epsilon=1.0, reduction="mean",
                            pos_weight=torch.tensor([1.0, 2.0, 1.0]).view(3, 1, 1))  # fmt: skip
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    values: list[float] = []
    for _ in range(4):
        images = as_tensor(torch, rng.normal(size=(2, 3, 8, 8)))
        labels = rng.integers(0, NUM_CLASSES, size=(2, 8, 8))
        labels[rng.random((2, 8, 8)) < 0.15] = IGNORE
        labels = as_tensor(torch, labels)
        image_labels = as_tensor(torch, rng.integers(0, NUM_CLASSES, size=2))
        scores, image_logits = model(images)
        seg_loss = criterion(scores, labels)
        cls_loss = poly_ce(image_logits, image_labels)
        low_res = labels[:, ::2, ::2].clamp(min=0)
        focal_loss = poly_focal(scores[1], low_res)
        loss = seg_loss + cls_loss + 0.5 * focal_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [seg_loss.item(), cls_loss.item(), focal_loss.item()]
    return values
