"""Berman et al.'s Lovasz-Softmax / Lovasz hinge losses (bermanmaxim/LovaszSoftmax,
``pytorch/lovasz_losses.py``) training a tiny segmentation net, size-reduced.

``lovasz_grad``: ``gts = gt_sorted.sum()``, ``intersection = gts - gt_sorted.float().cumsum(0)``,
``union = gts + (1 - gt_sorted).float().cumsum(0)``, ``jaccard = 1. - intersection / union`` and
the in-place ``jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]``. ``lovasz_softmax_flat``: per
``present`` class, ``fg = (labels == c).float()``, ``errors = (Variable(fg) - class_pred).abs()``,
``errors_sorted, perm = torch.sort(errors, 0, descending=True)``, ``perm = perm.data``,
``torch.dot(errors_sorted, Variable(lovasz_grad(fg_sorted)))``; ``flatten_probas`` with
``permute(0, 2, 3, 1).contiguous().view(-1, C)`` and the ignore label removed through
``probas[valid.nonzero().squeeze()]``; the module's own iterator ``mean`` (``acc += v``). The
binary ``lovasz_hinge`` (``per_image=True``, ``signs = 2. * labels.float() - 1.``,
``torch.dot(F.relu(errors_sorted), Variable(grad))``) trains a foreground head. The net is a
two-layer conv encoder with a 1x1 classifier and ``F.interpolate(..., mode='bilinear',
align_corners=False)`` back to the label size; the loss is CE (``ignore_index=255``) plus
Lovasz-Softmax on ``F.softmax(out, dim=1)``, optimised by ``SGD`` with ``PolynomialLR``.
"""

from __future__ import annotations

from itertools import filterfalse as ifilterfalse
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
N_CLASSES, IGNORE = 3, 255


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class TinySeg(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(1, 6, 3, padding=1),
                nn.BatchNorm2d(6),
                nn.ReLU(inplace=True),
                nn.Conv2d(6, 8, 3, stride=2, padding=1),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
            )
            self.classifier = nn.Conv2d(8, N_CLASSES, 1)
            self.fg_head = nn.Conv2d(8, 1, 1)

        def forward(self, x: Any) -> tuple[Any, Any]:
            size = x.shape[-2:]
            f = self.encoder(x)
            out = F.interpolate(self.classifier(f), size=size, mode="bilinear", align_corners=False)
            fg = F.interpolate(self.fg_head(f), size=size, mode="bilinear", align_corners=False)
            return out, fg.squeeze(1)

    return TinySeg()


def lovasz_losses(torch_like: Any) -> Any:
    """The functions of ``lovasz_losses.py``, bound to ``torch_like``."""
    torch = torch_like
    F = torch_like.nn.functional
    Variable = torch_like.autograd.Variable

    def lovasz_grad(gt_sorted: Any) -> Any:
        """
        Computes gradient of the Lovasz extension w.r.t sorted errors
        See Alg. 1 in paper
        """
        p = len(gt_sorted)
        gts = gt_sorted.sum()
        intersection = gts - gt_sorted.float().cumsum(0)
        union = gts + (1 - gt_sorted).float().cumsum(0)
        jaccard = 1.0 - intersection / union
        if p > 1:  # cover 1-pixel case
            jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
        return jaccard

    def isnan(x: Any) -> bool:
        return x != x

    def mean(values: Any, ignore_nan: bool = False, empty: Any = 0) -> Any:
        """
        nanmean compatible with generators.
        """
        values = iter(values)
        if ignore_nan:
            values = ifilterfalse(isnan, values)
        try:
            n = 1
            acc = next(values)
        except StopIteration:
            if empty == "raise":
                raise ValueError("Empty mean") from None
            return empty
        for n, v in enumerate(values, 2):  # noqa: B007
            acc += v
        if n == 1:
            return acc
        return acc / n

    def lovasz_hinge_flat(logits: Any, labels: Any) -> Any:
        if len(labels) == 0:
            # only void pixels, the gradients should be 0
            return logits.sum() * 0.0
        signs = 2.0 * labels.float() - 1.0
        errors = 1.0 - logits * Variable(signs)
        errors_sorted, perm = torch.sort(errors, dim=0, descending=True)
        perm = perm.data
        gt_sorted = labels[perm]
        grad = lovasz_grad(gt_sorted)
        loss = torch.dot(F.relu(errors_sorted), Variable(grad))
        return loss

    def flatten_binary_scores(scores: Any, labels: Any, ignore: Any = None) -> tuple[Any, Any]:
        scores = scores.view(-1)
        labels = labels.view(-1)
        if ignore is None:
            return scores, labels
        valid = labels != ignore
        vscores = scores[valid]
        vlabels = labels[valid]
        return vscores, vlabels

    def lovasz_hinge(logits: Any, labels: Any, per_image: bool = True, ignore: Any = None):
        if per_image:
            loss = mean(
                lovasz_hinge_flat(
                    *flatten_binary_scores(log.unsqueeze(0), lab.unsqueeze(0), ignore)
                )
                for log, lab in zip(logits, labels)
            )
        else:
            loss = lovasz_hinge_flat(*flatten_binary_scores(logits, labels, ignore))
        return loss

    def lovasz_softmax_flat(probas: Any, labels: Any, classes: Any = "present") -> Any:
        if probas.numel() == 0:
            # only void pixels, the gradients should be 0
            return probas * 0.0
        C = probas.size(1)
        losses = []
        class_to_sum = list(range(C)) if classes in ["all", "present"] else classes
        for c in class_to_sum:
            fg = (labels == c).float()  # foreground for class c
            if classes == "present" and fg.sum() == 0:
                continue
            if C == 1:
                if len(classes) > 1:
                    raise ValueError("Sigmoid output possible only with 1 class")
                class_pred = probas[:, 0]
            else:
                class_pred = probas[:, c]
            errors = (Variable(fg) - class_pred).abs()
            errors_sorted, perm = torch.sort(errors, 0, descending=True)
            perm = perm.data
            fg_sorted = fg[perm]
            losses.append(torch.dot(errors_sorted, Variable(lovasz_grad(fg_sorted))))
        return mean(losses)

    def flatten_probas(probas: Any, labels: Any, ignore: Any = None) -> tuple[Any, Any]:
        if probas.dim() == 3:
            # assumes output of a sigmoid layer
            B, H, W = probas.size()
            probas = probas.view(B, 1, H, W)
        B, C, H, W = probas.size()
        probas = probas.permute(0, 2, 3, 1).contiguous().view(-1, C)  # B * H * W, C = P, C
        labels = labels.view(-1)
        if ignore is None:
            return probas, labels
        valid = labels != ignore
        vprobas = probas[valid.nonzero().squeeze()]
        vlabels = labels[valid]
        return vprobas, vlabels

    def lovasz_softmax(
        probas: Any,
        labels: Any,
        classes: Any = "present",
        per_image: bool = False,
        ignore: Any = None,
    ) -> Any:
        if per_image:
            loss = mean(
                lovasz_softmax_flat(
                    *flatten_probas(prob.unsqueeze(0), lab.unsqueeze(0), ignore), classes=classes
                )
                for prob, lab in zip(probas, labels)
            )
        else:
            loss = lovasz_softmax_flat(*flatten_probas(probas, labels, ignore), classes=classes)
        return loss

    return lovasz_softmax, lovasz_hinge, lovasz_grad


def _images(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    images = 0.3 * rng.standard_normal((n, 1, 8, 8))
    labels = np.zeros((n, 8, 8), dtype=np.int64)
    for i in range(n):
        r, c = rng.integers(0, 4, size=2)
        images[i, 0, r : r + 4, c : c + 4] += 1.0
        labels[i, r : r + 4, c : c + 4] = 1
        images[i, 0, :, 0] -= 1.0
        labels[i, :, 0] = 2
        labels[i, 0, 7] = IGNORE  # a void pixel
    return images, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    lovasz_softmax, lovasz_hinge, lovasz_grad = lovasz_losses(torch_like)
    rng = np.random.default_rng(36)
    images, labels = _images(rng, 3)
    x, y = as_tensor(torch, images).float(), as_tensor(torch, labels)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=8, power=0.9)
    criterion = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)
    values = []
    model.train()
    for step in range(4):
        out, fg = model(x)
        ce = criterion(out, y)
        lov = lovasz_softmax(F.softmax(out, dim=1), y, ignore=IGNORE, per_image=step % 2 == 1)
        hinge = lovasz_hinge(fg, (y == 1).long(), per_image=True, ignore=None)
        loss = ce + lov + 0.5 * hinge
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values.extend([ce.item(), lov.item(), hinge.item()])
    model.eval()
    with torch.no_grad():
        out, fg = model(x)
        probas = F.softmax(out, dim=1)
        values.append(lovasz_softmax(probas, y, classes="all", ignore=IGNORE).item())
        values.append(lovasz_softmax(probas, y, classes=[1, 2], ignore=IGNORE).item())
        values.append(lovasz_hinge(fg, (y == 1).long(), per_image=False).item())
    values.extend(lovasz_grad(torch.tensor([1, 1, 0, 1, 0, 0])).tolist())
    values.append(scheduler.get_last_lr()[0])
    return values
