"""One-stage detector training utilities as the plain-PyTorch FCOS / RetinaNet re-implementations
write them (tianzhi0549/FCOS's ``fcos_core`` and maskrcnn-benchmark's ``BoxCoder`` / ``Matcher``,
yhenon/pytorch-retinanet, torchvision's ``sigmoid_focal_loss`` and ``batched_nms`` copied
without ``torchvision.ops``), size-reduced.

The idioms: the sigmoid focal loss (``p = torch.sigmoid(inputs)``, ``F.
binary_cross_entropy_with_logits(inputs, targets, reduction="none")``, ``p_t = p * targets +
(1 - p) * (1 - targets)``, ``ce_loss * ((1 - p_t) ** gamma)``, the ``alpha_t`` weighting);
FCOS's ``IOULoss`` in its GIoU form over (l, t, r, b) distances (``torch.min`` / ``torch.max``
of two tensors, ``(losses * weight).sum() / weight.sum()``); the centerness target
(``left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0]``, ``torch.sqrt``) and its
``F.binary_cross_entropy_with_logits``; ``compute_locations`` (``torch.arange(0, w * stride,
step=stride, dtype=torch.float32)``, ``torch.meshgrid(shifts_y, shifts_x, indexing="ij")``,
``torch.stack((shift_x, shift_y), dim=1) + stride // 2``); the target assignment
(``reg_targets.min(dim=2)[0] > 0``, ``area[None].repeat(len(locations), 1)``, boolean-mask
writes of ``INF``, ``.min(dim=1)``, ``reg_targets[range(len(locations)), inds]``,
``labels[min_area == INF] = 0``, ``torch.nonzero(labels > 0).squeeze(1)``); RetinaNet's
anchors (``(w_ratios[:, None] * scales[None, :]).view(-1)``, ``torch.stack([-ws, -hs, ws, hs],
dim=1) / 2``, ``.round()``, ``shifts.view(-1, 1, 4) + base_anchors.view(1, -1, 4)``); the
``Matcher`` (``match_quality_matrix.max(dim=0)``, ``matches[below] = -1``,
``torch.where(match_quality_matrix == highest[:, None])`` for low-quality matches,
``nonzero(as_tuple=True)``); the ``BoxCoder`` (``TO_REMOVE = 1`` widths, ``torch.log`` encode,
``rel_codes[:, 0::4] / wx``, ``torch.clamp(dw, max=math.log(1000. / 16))``, ``torch.exp``,
``pred_boxes[:, 0::4] = ...`` into ``torch.zeros_like``); the post-processing
(``box_cls.sigmoid()``, ``candidate_inds = box_cls > thresh``, ``.topk``, ``clamp(min=0,
max=w - 1)``); a pure-PyTorch greedy NMS (``scores.argsort(descending=True)``, an IoU matrix,
a keep loop) and YOLACT's matrix "fast NMS" (``torch.triu(iou, diagonal=1).max(dim=0)``), both
batched by category offsets (``idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_CLASSES, CH, STRIDES, SIZES = 3, 6, (8, 16), ((4, 4), (2, 2))
IMG, STEPS, LR, INF = 32, 3, 0.02, 100000000
OBJECT_SIZES = ((-1, 12), (12, INF))
GT_BOXES = np.array([[2.0, 3.0, 14.0, 12.0], [10.0, 8.0, 30.0, 29.0], [18.0, 1.0, 27.0, 9.0]])
GT_LABELS = np.array([1, 3, 2])


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class Scale(nn.Module):
        def __init__(self, init_value: float = 1.0) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.FloatTensor([init_value]))

        def forward(self, input: Any) -> Any:
            return input * self.scale

    class FCOSHead(nn.Module):
        def __init__(self, in_channels: int, num_classes: int) -> None:
            super().__init__()
            self.cls_tower = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, padding=1),
                nn.GroupNorm(2, in_channels),
                nn.ReLU(),
            )
            self.bbox_tower = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, 3, padding=1),
                nn.GroupNorm(2, in_channels),
                nn.ReLU(),
            )
            self.cls_logits = nn.Conv2d(in_channels, num_classes, 3, padding=1)
            self.bbox_pred = nn.Conv2d(in_channels, 4, 3, padding=1)
            self.centerness = nn.Conv2d(in_channels, 1, 3, padding=1)
            for modules in [self.cls_tower, self.bbox_tower, self.cls_logits, self.bbox_pred]:
                for layer in modules.modules():
                    if isinstance(layer, nn.Conv2d):
                        torch.nn.init.normal_(layer.weight, std=0.01)
                        torch.nn.init.constant_(layer.bias, 0)
            prior_prob = 0.01
            bias_value = -math.log((1 - prior_prob) / prior_prob)
            torch.nn.init.constant_(self.cls_logits.bias, bias_value)
            self.scales = nn.ModuleList([Scale(init_value=1.0) for _ in range(len(STRIDES))])

        def forward(self, x: list) -> tuple[list, list, list]:
            logits, bbox_reg, centerness = [], [], []
            for level, feature in enumerate(x):
                cls_tower = self.cls_tower(feature)
                logits.append(self.cls_logits(cls_tower))
                centerness.append(self.centerness(cls_tower))
                bbox_reg.append(
                    torch.exp(self.scales[level](self.bbox_pred(self.bbox_tower(feature))))
                )
            return logits, bbox_reg, centerness

    return FCOSHead(CH, NUM_CLASSES)


def sigmoid_focal_loss(
    torch_like: Any,
    inputs: Any,
    targets: Any,
    alpha: float = 0.25,
    gamma: float = 2,
    reduction: str = "none",
) -> Any:
    F = torch_like.nn.functional
    p = torch_like.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def giou_loss(torch_like: Any, pred: Any, target: Any, weight: Any = None) -> Any:
    torch = torch_like
    pred_left, pred_top, pred_right, pred_bottom = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    target_left, target_top = target[:, 0], target[:, 1]
    target_right, target_bottom = target[:, 2], target[:, 3]
    target_area = (target_left + target_right) * (target_top + target_bottom)
    pred_area = (pred_left + pred_right) * (pred_top + pred_bottom)
    w_intersect = torch.min(pred_left, target_left) + torch.min(pred_right, target_right)
    g_w_intersect = torch.max(pred_left, target_left) + torch.max(pred_right, target_right)
    h_intersect = torch.min(pred_bottom, target_bottom) + torch.min(pred_top, target_top)
    g_h_intersect = torch.max(pred_bottom, target_bottom) + torch.max(pred_top, target_top)
    ac_uion = g_w_intersect * g_h_intersect + 1e-7
    area_intersect = w_intersect * h_intersect
    area_union = target_area + pred_area - area_intersect
    ious = (area_intersect + 1.0) / (area_union + 1.0)
    gious = ious - (ac_uion - area_union) / ac_uion
    losses = 1 - gious
    if weight is not None and weight.sum() > 0:
        return (losses * weight).sum() / weight.sum()
    return losses.mean()


def compute_locations(torch_like: Any, h: int, w: int, stride: int) -> Any:
    torch = torch_like
    shifts_x = torch.arange(0, w * stride, step=stride, dtype=torch.float32)
    shifts_y = torch.arange(0, h * stride, step=stride, dtype=torch.float32)
    shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
    shift_x = shift_x.reshape(-1)
    shift_y = shift_y.reshape(-1)
    return torch.stack((shift_x, shift_y), dim=1) + stride // 2


def compute_targets(torch_like: Any, locations: list, bboxes: Any, labels: Any) -> tuple:
    torch = torch_like
    sizes = [locations[lv].new_tensor(OBJECT_SIZES[lv]) for lv in range(len(locations))]
    expanded = [sizes[lv][None].expand(len(locations[lv]), -1) for lv in range(len(locations))]
    object_sizes_of_interest = torch.cat(expanded, dim=0)
    points = torch.cat(locations, dim=0).to(bboxes.dtype)
    xs, ys = points[:, 0], points[:, 1]
    area = (bboxes[:, 2] - bboxes[:, 0]) * (bboxes[:, 3] - bboxes[:, 1])
    l = xs[:, None] - bboxes[:, 0][None]  # noqa: E741 (FCOS's name)
    t = ys[:, None] - bboxes[:, 1][None]
    r = bboxes[:, 2][None] - xs[:, None]
    b = bboxes[:, 3][None] - ys[:, None]
    reg_targets_per_im = torch.stack([l, t, r, b], dim=2)
    is_in_boxes = reg_targets_per_im.min(dim=2)[0] > 0
    max_reg_targets_per_im = reg_targets_per_im.max(dim=2)[0]
    is_cared_in_the_level = (max_reg_targets_per_im >= object_sizes_of_interest[:, [0]]) & (
        max_reg_targets_per_im <= object_sizes_of_interest[:, [1]]
    )
    locations_to_gt_area = area[None].repeat(len(points), 1)
    locations_to_gt_area[is_in_boxes == 0] = INF
    locations_to_gt_area[is_cared_in_the_level == 0] = INF
    locations_to_min_area, locations_to_gt_inds = locations_to_gt_area.min(dim=1)
    reg_targets_per_im = reg_targets_per_im[range(len(points)), locations_to_gt_inds]
    labels_per_im = labels[locations_to_gt_inds]
    labels_per_im[locations_to_min_area == INF] = 0
    return labels_per_im, reg_targets_per_im


def compute_centerness_targets(torch_like: Any, reg_targets: Any) -> Any:
    left_right = reg_targets[:, [0, 2]]
    top_bottom = reg_targets[:, [1, 3]]
    centerness = (left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0]) * (
        top_bottom.min(dim=-1)[0] / top_bottom.max(dim=-1)[0]
    )
    return torch_like.sqrt(centerness)


def fcos_loss(torch_like: Any, head_out: tuple, labels: Any, reg_targets: Any) -> tuple:
    torch = torch_like
    F = torch_like.nn.functional
    box_cls, box_regression, centerness = head_out
    box_cls_flatten = torch.cat(
        [c.permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES) for c in box_cls], dim=0
    )
    box_regression_flatten = torch.cat(
        [r.permute(0, 2, 3, 1).reshape(-1, 4) for r in box_regression], dim=0
    )
    centerness_flatten = torch.cat([c.reshape(-1) for c in centerness], dim=0)
    pos_inds = torch.nonzero(labels > 0).squeeze(1)
    num_pos = max(pos_inds.numel(), 1.0)
    one_hot = F.one_hot(labels, NUM_CLASSES + 1)[:, 1:].to(box_cls_flatten.dtype)
    cls_loss = sigmoid_focal_loss(torch, box_cls_flatten, one_hot, reduction="sum") / num_pos
    box_regression_flatten = box_regression_flatten[pos_inds]
    reg_targets_flatten = reg_targets[pos_inds]
    centerness_flatten = centerness_flatten[pos_inds]
    centerness_targets = compute_centerness_targets(torch, reg_targets_flatten)
    reg_loss = giou_loss(torch, box_regression_flatten, reg_targets_flatten, centerness_targets)
    centerness_loss = F.binary_cross_entropy_with_logits(centerness_flatten, centerness_targets)
    return cls_loss, reg_loss, centerness_loss


def box_iou(torch_like: Any, boxes1: Any, boxes2: Any) -> Any:
    torch = torch_like
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    return inter / (area1[:, None] + area2 - inter)


def nms(torch_like: Any, boxes: Any, scores: Any, iou_threshold: float) -> Any:
    """Greedy NMS: keep the best box, drop those overlapping it, repeat."""
    torch = torch_like
    order = scores.argsort(descending=True)
    iou = box_iou(torch, boxes[order], boxes[order])
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return order[torch.as_tensor(keep, dtype=torch.long)]


def fast_nms(torch_like: Any, boxes: Any, scores: Any, iou_threshold: float) -> Any:
    """YOLACT's matrix NMS: a box survives unless a higher-scored box overlaps it."""
    torch = torch_like
    scores, idx = scores.sort(0, descending=True)
    iou = box_iou(torch, boxes[idx], boxes[idx])
    iou = torch.triu(iou, diagonal=1)
    iou_max, _ = iou.max(dim=0)
    keep = iou_max <= iou_threshold
    return idx[keep]


def batched_nms(torch_like: Any, boxes: Any, scores: Any, idxs: Any, thr: float, fn: Any) -> Any:
    torch = torch_like
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    boxes_for_nms = boxes + offsets[:, None]
    return fn(torch, boxes_for_nms, scores, thr)


class BoxCoder:
    """maskrcnn-benchmark's box coder: (dx, dy, dw, dh) targets against reference boxes."""

    def __init__(self, torch_like: Any, weights: tuple, bbox_xform_clip: float) -> None:
        self.torch = torch_like
        self.weights = weights
        self.bbox_xform_clip = bbox_xform_clip

    def encode(self, reference_boxes: Any, proposals: Any) -> Any:
        torch = self.torch
        TO_REMOVE = 1
        ex_widths = proposals[:, 2] - proposals[:, 0] + TO_REMOVE
        ex_heights = proposals[:, 3] - proposals[:, 1] + TO_REMOVE
        ex_ctr_x = proposals[:, 0] + 0.5 * ex_widths
        ex_ctr_y = proposals[:, 1] + 0.5 * ex_heights
        gt_widths = reference_boxes[:, 2] - reference_boxes[:, 0] + TO_REMOVE
        gt_heights = reference_boxes[:, 3] - reference_boxes[:, 1] + TO_REMOVE
        gt_ctr_x = reference_boxes[:, 0] + 0.5 * gt_widths
        gt_ctr_y = reference_boxes[:, 1] + 0.5 * gt_heights
        wx, wy, ww, wh = self.weights
        targets_dx = wx * (gt_ctr_x - ex_ctr_x) / ex_widths
        targets_dy = wy * (gt_ctr_y - ex_ctr_y) / ex_heights
        targets_dw = ww * torch.log(gt_widths / ex_widths)
        targets_dh = wh * torch.log(gt_heights / ex_heights)
        return torch.stack((targets_dx, targets_dy, targets_dw, targets_dh), dim=1)

    def decode(self, rel_codes: Any, boxes: Any) -> Any:
        torch = self.torch
        boxes = boxes.to(rel_codes.dtype)
        TO_REMOVE = 1
        widths = boxes[:, 2] - boxes[:, 0] + TO_REMOVE
        heights = boxes[:, 3] - boxes[:, 1] + TO_REMOVE
        ctr_x = boxes[:, 0] + 0.5 * widths
        ctr_y = boxes[:, 1] + 0.5 * heights
        wx, wy, ww, wh = self.weights
        dx = rel_codes[:, 0::4] / wx
        dy = rel_codes[:, 1::4] / wy
        dw = rel_codes[:, 2::4] / ww
        dh = rel_codes[:, 3::4] / wh
        dw = torch.clamp(dw, max=self.bbox_xform_clip)
        dh = torch.clamp(dh, max=self.bbox_xform_clip)
        pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
        pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
        pred_w = torch.exp(dw) * widths[:, None]
        pred_h = torch.exp(dh) * heights[:, None]
        pred_boxes = torch.zeros_like(rel_codes)
        pred_boxes[:, 0::4] = pred_ctr_x - 0.5 * pred_w
        pred_boxes[:, 1::4] = pred_ctr_y - 0.5 * pred_h
        pred_boxes[:, 2::4] = pred_ctr_x + 0.5 * pred_w - 1
        pred_boxes[:, 3::4] = pred_ctr_y + 0.5 * pred_h - 1
        return pred_boxes


def anchors(torch_like: Any, stride: int, h: int, w: int) -> Any:
    torch = torch_like
    scales = torch.as_tensor([2.0 * stride, 3.0 * stride])
    aspect_ratios = torch.as_tensor([0.5, 1.0, 2.0])
    h_ratios = torch.sqrt(aspect_ratios)
    w_ratios = 1 / h_ratios
    ws = (w_ratios[:, None] * scales[None, :]).view(-1)
    hs = (h_ratios[:, None] * scales[None, :]).view(-1)
    base_anchors = (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()
    shifts_x = torch.arange(0, w, dtype=torch.int32) * stride
    shifts_y = torch.arange(0, h, dtype=torch.int32) * stride
    shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
    shift_x, shift_y = shift_x.reshape(-1), shift_y.reshape(-1)
    shifts = torch.stack((shift_x, shift_y, shift_x, shift_y), dim=1)
    return (shifts.view(-1, 1, 4) + base_anchors.view(1, -1, 4)).reshape(-1, 4)


def match(torch_like: Any, match_quality_matrix: Any, low: float, high: float) -> Any:
    """maskrcnn-benchmark's Matcher with low-quality matches allowed."""
    torch = torch_like
    matched_vals, matches = match_quality_matrix.max(dim=0)
    all_matches = matches.clone()
    below_low_threshold = matched_vals < low
    between_thresholds = (matched_vals >= low) & (matched_vals < high)
    matches[below_low_threshold] = -1
    matches[between_thresholds] = -2
    highest_quality_foreach_gt, _ = match_quality_matrix.max(dim=1)
    gt_pred_pairs = torch.where(match_quality_matrix == highest_quality_foreach_gt[:, None])
    pred_inds_to_update = gt_pred_pairs[1]
    matches[pred_inds_to_update] = all_matches[pred_inds_to_update]
    return matches


def anchor_facts(torch_like: Any) -> list[float]:
    torch = torch_like
    all_anchors = torch.cat([anchors(torch, s, *hw) for s, hw in zip(STRIDES, SIZES)])
    gt = as_tensor(torch, GT_BOXES)
    matches = match(torch, box_iou(torch, gt, all_anchors.to(gt.dtype)), 0.4, 0.5)
    (fg_rows,) = (matches >= 0).nonzero(as_tuple=True)
    coder = BoxCoder(torch, (10.0, 10.0, 5.0, 5.0), math.log(1000.0 / 16))
    matched_gt = gt[matches[fg_rows]]
    proposals = all_anchors[fg_rows].to(gt.dtype)
    codes = coder.encode(matched_gt, proposals)
    decoded = coder.decode(codes, proposals)
    values = [float(all_anchors.dtype == torch.float32), *all_anchors.shape]
    values += all_anchors[:8].flatten().tolist() + matches.tolist() + fg_rows.tolist()
    values += codes.flatten().tolist() + [(decoded + 1 - matched_gt).abs().max().item()]
    big = coder.decode(torch.full((1, 4), 40.0, dtype=gt.dtype), gt[:1])  # clamped dw, dh
    return values + big.flatten().tolist()


def postprocess(torch_like: Any, locations: list, head_out: tuple) -> list[float]:
    torch = torch_like
    box_cls, box_regression, centerness = head_out
    boxes_all, scores_all, labels_all = [], [], []
    for level, points in enumerate(locations):
        cls = box_cls[level].permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES).sigmoid()
        reg = box_regression[level].permute(0, 2, 3, 1).reshape(-1, 4)
        ctr = centerness[level].permute(0, 2, 3, 1).reshape(-1).sigmoid()
        candidate_inds = cls > 0.002
        pre_nms_top_n = candidate_inds.reshape(-1).sum().clamp(max=12)
        scores = cls * ctr[:, None]
        per_scores = scores[candidate_inds]
        per_scores, top_k_indices = per_scores.topk(int(pre_nms_top_n.item()), sorted=False)
        candidate_nonzeros = candidate_inds.nonzero()[top_k_indices, :]
        box_loc, per_class = candidate_nonzeros[:, 0], candidate_nonzeros[:, 1] + 1
        pts, rg = points[box_loc].to(reg.dtype), reg[box_loc] * STRIDES[level]
        detections = torch.stack(
            [
                pts[:, 0] - rg[:, 0],
                pts[:, 1] - rg[:, 1],
                pts[:, 0] + rg[:, 2],
                pts[:, 1] + rg[:, 3],
            ],
            dim=1,
        )
        detections[:, 0].clamp_(min=0, max=IMG - 1)
        detections[:, 1].clamp_(min=0, max=IMG - 1)
        detections[:, 2].clamp_(min=0, max=IMG - 1)
        detections[:, 3].clamp_(min=0, max=IMG - 1)
        boxes_all.append(detections)
        scores_all.append(torch.sqrt(per_scores))
        labels_all.append(per_class)
    boxes, scores, labels = torch.cat(boxes_all), torch.cat(scores_all), torch.cat(labels_all)
    keep = batched_nms(torch, boxes, scores, labels, 0.3, nms)
    fast_keep = batched_nms(torch, boxes, scores, labels, 0.3, fast_nms)
    # topk(sorted=False) leaves its order to the implementation: compare what NMS keeps, in
    # the (descending score) order both NMS forms return it
    values = [float(len(boxes)), float(len(keep)), float(len(fast_keep))]
    values += boxes[keep].flatten().tolist() + scores[keep].tolist() + labels[keep].tolist()
    values += boxes[fast_keep].flatten().tolist() + labels[fast_keep].tolist()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(7)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    features = [as_tensor(torch, rng.standard_normal((1, CH, h, w))) for h, w in SIZES]
    locations = [compute_locations(torch, h, w, s) for (h, w), s in zip(SIZES, STRIDES)]
    labels, reg_targets = compute_targets(
        torch, locations, as_tensor(torch, GT_BOXES), as_tensor(torch, GT_LABELS)
    )
    values = [float(locations[0].dtype == torch.float32)] + locations[1].flatten().tolist()
    values += labels.tolist() + reg_targets[labels > 0].flatten().tolist()

    logits = as_tensor(torch, rng.standard_normal((5, NUM_CLASSES)), requires_grad=True)
    targets = as_tensor(torch, (rng.random((5, NUM_CLASSES)) > 0.6).astype(np.float64))
    focal = sigmoid_focal_loss(torch, logits, targets, reduction="mean")
    (grad,) = torch.autograd.grad(focal, logits)
    values += [focal.item()] + grad.flatten().tolist()
    values += anchor_facts(torch)

    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=1e-4)
    for _step in range(STEPS):
        cls_loss, reg_loss, ctr_loss = fcos_loss(torch, model(features), labels, reg_targets)
        loss = cls_loss + reg_loss + ctr_loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 3.0)
        optimizer.step()
        values += [cls_loss.item(), reg_loss.item(), ctr_loss.item()]
    model.eval()
    with torch.no_grad():
        values += postprocess(torch, locations, model(features))
    return values
