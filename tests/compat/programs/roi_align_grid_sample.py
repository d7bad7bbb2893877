"""RoIAlign over an FPN written in pure PyTorch, as detectors that avoid torchvision's compiled
op write it (``F.affine_grid`` + ``F.grid_sample`` per box, e.g. the "RoIAlign in pure PyTorch"
snippets of mmdetection forks, DETR-style mask heads and ONNX-exportable detectors), with
torchvision ``MultiScaleRoIAlign``'s level mapper, size-reduced.

The idioms: a tiny backbone whose strided ``nn.Conv2d`` stages give P2..P5 (strides 4..32); the
FPN level of each box as ``torch.floor(k0 + torch.log2(torch.sqrt(area) / canonical_scale +
1e-6))`` then ``torch.clamp(levels, min=k_min, max=k_max)`` and ``.to(torch.int64) - k_min``;
boxes ``(batch_idx, x1, y1, x2, y2)`` turned into affine ``theta`` rows in the normalised
``[-1, 1]`` frame of ``align_corners=False`` (``theta[:, 0, 0] = (x2 - x1) / W``, ``theta[:, 0,
2] = (x1 + x2) / W - 1``, the same for y, with ``W = feature_width * stride``), built with
``boxes.new_zeros((n, 2, 3))`` and slice assignment; ``F.affine_grid(theta, (n, C, out *
sampling_ratio, out * sampling_ratio), align_corners=False)`` then ``F.grid_sample(
feature[batch_idx], grid, mode="bilinear", padding_mode="zeros", align_corners=False)`` (the
per-box feature picked by ``index_select``), and the ``sampling_ratio`` points of each bin
averaged by ``F.avg_pool2d(x, sampling_ratio)``; the per-level results written into ``result =
feats.new_zeros((num_rois, C, out, out))`` by ``idx_in_level = torch.where(levels == level)[0]``
and ``result[idx_in_level] = pooled`` (torchvision's pattern); then a box head (``flatten(1)``,
``nn.Linear``, ``F.relu``) with ``F.cross_entropy`` classification and ``F.smooth_l1_loss``
regression (``beta=1 / 9``) trained with ``SGD(momentum=0.9, weight_decay=1e-4)``. The
gradient reaches the feature maps through ``grid_sample`` and ``index_put``: their norms per
level are reported, and the grid's own gradient too (``theta.requires_grad_()``, as a spatial
transformer would learn it).

Changed: the canonical scale is 16 instead of 224 (the images are 64 pixels wide), sizes are
tiny and the data is random.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMG, CH, OUT, SAMPLING, NUM_CLASSES, STEPS = 64, 3, 2, 2, 3, 3
K0, CANONICAL, K_MIN, K_MAX = 4, 16, 2, 5
STRIDES = (4, 8, 16, 32)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class TinyFPN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, CH, 3, stride=4, padding=1)
            self.stages = nn.ModuleList(
                [nn.Conv2d(CH, CH, 3, stride=2, padding=1) for _ in range(len(STRIDES) - 1)]
            )

        def forward(self, x: Any) -> list:
            feats = [F.relu(self.stem(x))]
            for stage in self.stages:
                feats.append(F.relu(stage(feats[-1])))
            return feats

    class BoxHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc6 = nn.Linear(CH * OUT * OUT, 8)
            self.cls_score = nn.Linear(8, NUM_CLASSES)
            self.bbox_pred = nn.Linear(8, 4)

        def forward(self, x: Any) -> tuple[Any, Any]:
            x = F.relu(self.fc6(x.flatten(start_dim=1)))
            return self.cls_score(x), self.bbox_pred(x)

    class Detector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = TinyFPN()
            self.box_head = BoxHead()

    return Detector()


def map_levels(torch_like: Any, boxes: Any) -> Any:
    """torchvision's ``LevelMapper``: the FPN paper's eq. 1, clamped to the levels present."""
    torch = torch_like
    area = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 4] - boxes[:, 2])
    s = torch.sqrt(area)
    target_lvls = torch.floor(K0 + torch.log2(s / CANONICAL + 1e-6))
    target_lvls = torch.clamp(target_lvls, min=K_MIN, max=K_MAX)
    return (target_lvls.to(torch.int64) - K_MIN).to(torch.int64)


def boxes_to_theta(boxes: Any, feat_w: int, feat_h: int, stride: int) -> Any:
    """Affine rows mapping the output grid onto each box, in ``align_corners=False`` units."""
    W, H = feat_w * stride, feat_h * stride
    x1, y1, x2, y2 = boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    theta = boxes.new_zeros((boxes.size(0), 2, 3))
    theta[:, 0, 0] = (x2 - x1) / W
    theta[:, 0, 2] = (x1 + x2) / W - 1
    theta[:, 1, 1] = (y2 - y1) / H
    theta[:, 1, 2] = (y1 + y2) / H - 1
    return theta


def roi_align(torch_like: Any, feature: Any, theta: Any, batch_idx: Any) -> Any:
    F = torch_like.nn.functional
    n, c = theta.size(0), feature.size(1)
    size = (n, c, OUT * SAMPLING, OUT * SAMPLING)
    grid = F.affine_grid(theta, size, align_corners=False)
    per_box = feature.index_select(0, batch_idx)
    sampled = F.grid_sample(
        per_box, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return F.avg_pool2d(sampled, SAMPLING)


def multiscale_roi_align(torch_like: Any, feats: list, boxes: Any) -> tuple[Any, Any]:
    levels = map_levels(torch_like, boxes)
    num_rois, C = boxes.size(0), feats[0].size(1)
    result = feats[0].new_zeros((num_rois, C, OUT, OUT))
    for level, (feature, stride) in enumerate(zip(feats, STRIDES, strict=True)):
        idx_in_level = torch_like.where(levels == level)[0]
        if idx_in_level.numel() == 0:
            continue
        rois = boxes[idx_in_level]
        theta = boxes_to_theta(rois, feature.size(-1), feature.size(-2), stride)
        batch_idx = rois[:, 0].long()
        result[idx_in_level] = roi_align(torch_like, feature, theta, batch_idx)
    return result, levels


def _data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    images = rng.standard_normal((2, 3, IMG, IMG))
    rows = []
    for size in (6.0, 12.0, 20.0, 30.0, 44.0, 60.0, 9.0, 26.0):
        w, h = size * rng.uniform(0.7, 1.3), size * rng.uniform(0.7, 1.3)
        x1 = rng.uniform(-2.0, IMG - w + 2.0)
        y1 = rng.uniform(-2.0, IMG - h + 2.0)
        rows.append([len(rows) % 2, x1, y1, x1 + w, y1 + h])
    labels = rng.integers(0, NUM_CLASSES, size=len(rows))
    deltas = rng.standard_normal((len(rows), 4)) * 0.3
    return images, np.array(rows), labels, deltas


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(5)
    images_np, boxes_np, labels_np, deltas_np = _data(rng)
    images = as_tensor(torch, images_np)
    boxes = as_tensor(torch, boxes_np)
    labels = as_tensor(torch, labels_np)
    deltas = as_tensor(torch, deltas_np)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    values: list[float] = []

    for _step in range(STEPS):
        feats = model.backbone(images)
        for f in feats:
            f.retain_grad()
        pooled, levels = multiscale_roi_align(torch, feats, boxes)
        class_logits, box_regression = model.box_head(pooled)
        loss_cls = F.cross_entropy(class_logits, labels)
        loss_box = F.smooth_l1_loss(box_regression, deltas, beta=1 / 9, reduction="sum")
        loss = loss_cls + loss_box / labels.numel()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), loss_cls.item(), pooled.abs().sum().item()]
        values += [f.grad.norm().item() for f in feats]
    values += levels.tolist()

    # the sampling grid's gradient: the box itself learnt, as a spatial transformer would
    feature = feats[1].detach()
    theta = boxes_to_theta(boxes[:3], feature.size(-1), feature.size(-2), STRIDES[1])
    theta.requires_grad_()
    out = roi_align(torch, feature, theta, boxes[:3, 0].long())
    (out * torch.linspace(-1.0, 1.0, out.numel()).view_as(out)).sum().backward()
    values += theta.grad.flatten().tolist() + [out.sum().item()]
    return values
