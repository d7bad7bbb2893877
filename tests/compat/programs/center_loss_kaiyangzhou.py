"""KaiyangZhou/pytorch-center-loss (``center_loss.py``, ``main.py``, ``models.py``),
size-reduced: ``CenterLoss`` with ``self.centers = nn.Parameter(torch.randn(self.num_classes,
self.feat_dim))``, the squared distances ``torch.pow(x, 2).sum(dim=1, keepdim=True).expand(
batch_size, self.num_classes) + torch.pow(self.centers, 2).sum(dim=1, keepdim=True).expand(
self.num_classes, batch_size).t()`` then ``distmat.addmm_(x, self.centers.t(), beta=1,
alpha=-2)``, ``classes = torch.arange(self.num_classes).long()``, ``labels.unsqueeze(1).expand(
batch_size, self.num_classes)``, ``mask = labels.eq(classes.expand(batch_size,
self.num_classes))``, ``dist = distmat * mask.float()`` and ``dist.clamp(min=1e-12,
max=1e+12).sum() / batch_size``; ``main.py``'s two optimizers (``SGD(model.parameters(),
lr, weight_decay=5e-04, momentum=0.9)`` and ``SGD(criterion_cent.parameters(), lr=lr_cent)``),
``loss_cent *= args.weight_cent``, both ``zero_grad()``s, and after ``backward`` ``for param
in criterion_cent.parameters(): param.grad.data *= (1. / args.weight_cent)`` so that the
weight does not scale the centers' learning; ``StepLR`` on the model's optimizer; the model's
``PReLU`` layers with a 2-d feature layer (``self.fc1 = nn.Linear(128*3*3, 2)``,
``self.prelu_fc1 = nn.PReLU()``) before the classifier, returning ``x, y``.

Changed: the 6-conv MNIST ``ConvNet`` -> two conv layers on 8x8 images, 10 -> 4 classes,
``use_gpu`` branches dropped, 100 epochs -> 4 steps with a NumPy batch each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_CLASSES = 4


def make_model(torch_like: Any) -> Any:
    nn, F = torch_like.nn, torch_like.nn.functional

    class ConvNet(nn.Module):
        """LeNet++ as described in the ECCV'16 paper, reduced."""

        def __init__(self, num_classes: int = NUM_CLASSES) -> None:
            super(ConvNet, self).__init__()  # noqa: UP008 (as in the repository)
            self.conv1_1 = nn.Conv2d(1, 4, 3, stride=1, padding=1)
            self.prelu1_1 = nn.PReLU()
            self.conv2_1 = nn.Conv2d(4, 8, 3, stride=1, padding=1)
            self.prelu2_1 = nn.PReLU()
            self.fc1 = nn.Linear(8 * 2 * 2, 2)
            self.prelu_fc1 = nn.PReLU()
            self.fc2 = nn.Linear(2, num_classes)

        def forward(self, x: Any) -> tuple[Any, Any]:
            x = self.prelu1_1(self.conv1_1(x))
            x = F.max_pool2d(x, 2)
            x = self.prelu2_1(self.conv2_1(x))
            x = F.max_pool2d(x, 2)
            x = x.view(-1, 8 * 2 * 2)
            x = self.prelu_fc1(self.fc1(x))
            y = self.fc2(x)
            return x, y

    return ConvNet()


def _center_loss(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn

    class CenterLoss(nn.Module):
        """Center loss.

        Reference:
        Wen et al. A Discriminative Feature Learning Approach for Deep Face Recognition. ECCV 2016.
        """

        def __init__(self, num_classes: int = 10, feat_dim: int = 2) -> None:
            super(CenterLoss, self).__init__()  # noqa: UP008
            self.num_classes = num_classes
            self.feat_dim = feat_dim
            self.centers = nn.Parameter(torch.randn(self.num_classes, self.feat_dim))

        def forward(self, x: Any, labels: Any) -> Any:
            batch_size = x.size(0)
            distmat = (
                torch.pow(x, 2).sum(dim=1, keepdim=True).expand(batch_size, self.num_classes)
                + torch.pow(self.centers, 2)
                .sum(dim=1, keepdim=True)
                .expand(self.num_classes, batch_size)
                .t()
            )
            distmat.addmm_(x, self.centers.t(), beta=1, alpha=-2)

            classes = torch.arange(self.num_classes).long()
            labels = labels.unsqueeze(1).expand(batch_size, self.num_classes)
            mask = labels.eq(classes.expand(batch_size, self.num_classes))

            dist = distmat * mask.float()
            loss = dist.clamp(min=1e-12, max=1e12).sum() / batch_size
            return loss

    return CenterLoss


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(7)
    torch.manual_seed(1)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    criterion_xent = nn.CrossEntropyLoss()
    criterion_cent = _center_loss(torch_like)(num_classes=NUM_CLASSES, feat_dim=2)
    optimizer_model = torch.optim.SGD(model.parameters(), lr=0.05, weight_decay=5e-04, momentum=0.9)
    optimizer_centloss = torch.optim.SGD(criterion_cent.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer_model, step_size=2, gamma=0.5)
    weight_cent = 0.1
    values: list[float] = []
    model.train()
    for _step in range(4):
        data = as_tensor(torch, rng.normal(size=(6, 1, 8, 8)))
        labels = as_tensor(torch, rng.integers(0, NUM_CLASSES, size=6))
        features, outputs = model(data)
        loss_xent = criterion_xent(outputs, labels)
        loss_cent = criterion_cent(features, labels)
        loss_cent *= weight_cent
        loss = loss_xent + loss_cent
        optimizer_model.zero_grad()
        optimizer_centloss.zero_grad()
        loss.backward()
        optimizer_model.step()
        # by doing so, weight_cent would not impact on the learning of centers
        for param in criterion_cent.parameters():
            param.grad.data *= 1.0 / weight_cent
        optimizer_centloss.step()
        scheduler.step()
        predictions = outputs.data.max(1)[1]
        correct = (predictions == labels.data).sum()
        values += [loss_xent.item(), loss_cent.item(), float(correct)]
    values += [float(criterion_cent.centers.sum().item())]
    return values
