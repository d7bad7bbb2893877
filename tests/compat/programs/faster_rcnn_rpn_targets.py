"""Faster R-CNN's region proposal network as torchvision writes it
(``models/detection/rpn.py``: ``RPNHead``, ``permute_and_flatten``,
``concat_box_prediction_layers``, ``assign_targets_to_anchors``, ``filter_proposals``,
``compute_loss``; ``_utils.py``: ``Matcher``, ``BalancedPositiveNegativeSampler``,
``encode_boxes``; ``ops/boxes.py``: ``box_iou``, ``batched_nms``), trained a few steps on a
tiny backbone, size-reduced.

The idioms: anchors per level (``torch.stack([-ws, -hs, ws, hs], dim=1) / 2``, ``.round()``,
``torch.meshgrid(shifts_y, shifts_x, indexing="ij")``, ``(shifts.view(-1, 1, 4) +
base_anchors.view(1, -1, 4)).reshape(-1, 4)``); ``box_iou`` by hand (``torch.max(boxes1[:,
None, :2], boxes2[:, :2])``, ``(rb - lt).clamp(min=0)``, ``inter / union``); ``Matcher(0.7, 0.3,
allow_low_quality_matches=True)`` (``match_quality_matrix.max(dim=0)``, ``matches.clone()``,
``matches[below_low_threshold] = self.BELOW_LOW_THRESHOLD``, ``torch.nonzero(
match_quality_matrix == highest_quality_foreach_gt[:, None], as_tuple=True)``); the labels
(``matched_idxs >= 0`` to float, ``labels[bg_indices] = 0.0``, ``labels[inds_to_discard] =
-1.0``, ``matched_idxs.clamp(min=0)``, an image without boxes given all-background labels);
``BalancedPositiveNegativeSampler`` (``torch.where(matched_idxs_per_image >= 1)[0]``,
``torch.randperm(positive.numel(), generator=...)[:num_pos]``, ``torch.zeros_like(...,
dtype=torch.uint8)`` masks); ``encode_boxes`` (``targets_dw = ww * torch.log(gt_widths /
ex_widths)``, ``torch.cat((targets_dx, targets_dy, targets_dw, targets_dh), dim=1)``); the
head (``conv`` + ``cls_logits`` + ``bbox_pred``, ``layer.view(N, -1, C, H, W)``,
``.permute(0, 3, 4, 1, 2)``, ``torch.cat(box_cls_flattened, dim=1).flatten(0, -2)``); the loss
(``torch.where(torch.cat(sampled_pos_inds, dim=0))[0]``, ``F.smooth_l1_loss(...,
beta=1 / 9, reduction="sum") / (sampled_inds.numel())``,
``F.binary_cross_entropy_with_logits(objectness[sampled_inds], labels[sampled_inds])``);
proposals (``objectness.detach()``, per-level ``topk`` over ``ob.split(num_anchors_per_level,
1)``, ``levels[batch_idx, top_n_idx]``, ``torch.sigmoid``, box decoding with
``torch.clamp(dw, max=math.log(1000.0 / 16))``, clipping, ``batched_nms`` by the coordinate
offset ``idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))`` over a greedy
``nms``, ``keep[: post_nms_top_n]``); ``SGD(momentum=0.9, weight_decay=1e-4)``.

Changed: a two-conv backbone on 32 x 32 NumPy images (feature maps 4 x 4 and 2 x 2, three
anchors a location); ``batch_size_per_image`` 256 keeps every candidate anchor in the losses
(the random subset never decides a compared number), and a sampler with a small batch is
checked for what holds for every draw; three training steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMAGE, SIZES, RATIOS, PRE_NMS, POST_NMS, NMS_THRESH = (
    32,
    ((8.0,), (16.0,)),
    (0.5, 1.0, 2.0),
    10,
    6,
    0.7,
)


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Backbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 6, 8, stride=8), nn.ReLU())
            self.down = nn.Sequential(nn.Conv2d(6, 6, 3, stride=2, padding=1), nn.ReLU())

        def forward(self, x: Any) -> dict[str, Any]:
            c1 = self.body(x)
            return {"0": c1, "1": self.down(c1)}

    class RPNHead(nn.Module):
        def __init__(self, in_channels: int, num_anchors: int) -> None:
            super().__init__()
            self.conv = nn.Sequential(nn.Conv2d(in_channels, in_channels, 3, padding=1),
                                      nn.ReLU(inplace=True))  # fmt: skip
            self.cls_logits = nn.Conv2d(in_channels, num_anchors, kernel_size=1, stride=1)
            self.bbox_pred = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=1, stride=1)

        def forward(self, x: list[Any]) -> tuple[list[Any], list[Any]]:
            logits, bbox_reg = [], []
            for feature in x:
                t = self.conv(feature)
                logits.append(self.cls_logits(t))
                bbox_reg.append(self.bbox_pred(t))
            return logits, bbox_reg

    class Matcher:
        BELOW_LOW_THRESHOLD = -1
        BETWEEN_THRESHOLDS = -2

        def __init__(self, high: float, low: float, allow_low_quality_matches: bool) -> None:
            self.high_threshold, self.low_threshold = high, low
            self.allow_low_quality_matches = allow_low_quality_matches

        def __call__(self, match_quality_matrix: Any) -> Any:
            matched_vals, matches = match_quality_matrix.max(dim=0)
            all_matches = matches.clone() if self.allow_low_quality_matches else None
            below_low_threshold = matched_vals < self.low_threshold
            between_thresholds = (matched_vals >= self.low_threshold) & (
                matched_vals < self.high_threshold
            )
            matches[below_low_threshold] = self.BELOW_LOW_THRESHOLD
            matches[between_thresholds] = self.BETWEEN_THRESHOLDS
            if self.allow_low_quality_matches:
                highest_quality_foreach_gt, _ = match_quality_matrix.max(dim=1)
                gt_pred_pairs_of_highest_quality = torch.nonzero(
                    match_quality_matrix == highest_quality_foreach_gt[:, None], as_tuple=True
                )
                pred_inds_to_update = gt_pred_pairs_of_highest_quality[1]
                matches[pred_inds_to_update] = all_matches[pred_inds_to_update]
            return matches

    class BalancedPositiveNegativeSampler:
        def __init__(self, batch_size_per_image: int, positive_fraction: float, gen: Any):
            self.batch_size_per_image = batch_size_per_image
            self.positive_fraction = positive_fraction
            self.generator = gen

        def __call__(self, matched_idxs: list[Any]) -> tuple[list[Any], list[Any]]:
            pos_idx, neg_idx = [], []
            for matched_idxs_per_image in matched_idxs:
                positive = torch.where(matched_idxs_per_image >= 1)[0]
                negative = torch.where(matched_idxs_per_image == 0)[0]
                num_pos = int(self.batch_size_per_image * self.positive_fraction)
                num_pos = min(positive.numel(), num_pos)
                num_neg = self.batch_size_per_image - num_pos
                num_neg = min(negative.numel(), num_neg)
                perm1 = torch.randperm(positive.numel(), generator=self.generator)[:num_pos]
                perm2 = torch.randperm(negative.numel(), generator=self.generator)[:num_neg]
                pos_idx_per_image = positive[perm1]
                neg_idx_per_image = negative[perm2]
                pos_mask = torch.zeros_like(matched_idxs_per_image, dtype=torch.uint8)
                neg_mask = torch.zeros_like(matched_idxs_per_image, dtype=torch.uint8)
                pos_mask[pos_idx_per_image] = 1
                neg_mask[neg_idx_per_image] = 1
                pos_idx.append(pos_mask)
                neg_idx.append(neg_mask)
            return pos_idx, neg_idx

    return Backbone, RPNHead, Matcher, BalancedPositiveNegativeSampler


def make_model(torch_like: Any) -> Any:
    Backbone, RPNHead, _, _ = _classes(torch_like)
    model = torch_like.nn.Module()
    model.backbone = Backbone()
    model.head = RPNHead(6, len(RATIOS))
    return model


def _functions(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    F = torch_like.nn.functional

    def grid_anchors(feature_sizes: list[tuple[int, int]]) -> list[Any]:
        anchors = []
        for (gh, gw), scales in zip(feature_sizes, SIZES):
            scales_t = torch.as_tensor(scales)
            aspect_ratios = torch.as_tensor(RATIOS)
            h_ratios = torch.sqrt(aspect_ratios)
            w_ratios = 1 / h_ratios
            ws = (w_ratios[:, None] * scales_t[None, :]).view(-1)
            hs = (h_ratios[:, None] * scales_t[None, :]).view(-1)
            base = (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()
            stride_h, stride_w = IMAGE // gh, IMAGE // gw
            shifts_x = torch.arange(0, gw, dtype=torch.int32) * stride_w
            shifts_y = torch.arange(0, gh, dtype=torch.int32) * stride_h
            shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
            shift_x, shift_y = shift_x.reshape(-1), shift_y.reshape(-1)
            shifts = torch.stack((shift_x, shift_y, shift_x, shift_y), dim=1)
            anchors.append((shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4))
        return anchors

    def box_area(boxes: Any) -> Any:
        return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])

    def box_iou(boxes1: Any, boxes2: Any) -> Any:
        area1, area2 = box_area(boxes1), box_area(boxes2)
        lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
        rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[:, :, 0] * wh[:, :, 1]
        union = area1[:, None] + area2 - inter
        return inter / union

    def encode_boxes(reference_boxes: Any, proposals: Any, weights: Any) -> Any:
        wx, wy, ww, wh = weights[0], weights[1], weights[2], weights[3]
        proposals_x1, proposals_y1 = proposals[:, 0].unsqueeze(1), proposals[:, 1].unsqueeze(1)
        proposals_x2, proposals_y2 = proposals[:, 2].unsqueeze(1), proposals[:, 3].unsqueeze(1)
        reference_boxes_x1 = reference_boxes[:, 0].unsqueeze(1)
        reference_boxes_y1 = reference_boxes[:, 1].unsqueeze(1)
        reference_boxes_x2 = reference_boxes[:, 2].unsqueeze(1)
        reference_boxes_y2 = reference_boxes[:, 3].unsqueeze(1)
        ex_widths = proposals_x2 - proposals_x1
        ex_heights = proposals_y2 - proposals_y1
        ex_ctr_x = proposals_x1 + 0.5 * ex_widths
        ex_ctr_y = proposals_y1 + 0.5 * ex_heights
        gt_widths = reference_boxes_x2 - reference_boxes_x1
        gt_heights = reference_boxes_y2 - reference_boxes_y1
        gt_ctr_x = reference_boxes_x1 + 0.5 * gt_widths
        gt_ctr_y = reference_boxes_y1 + 0.5 * gt_heights
        targets_dx = wx * (gt_ctr_x - ex_ctr_x) / ex_widths
        targets_dy = wy * (gt_ctr_y - ex_ctr_y) / ex_heights
        targets_dw = ww * torch.log(gt_widths / ex_widths)
        targets_dh = wh * torch.log(gt_heights / ex_heights)
        return torch.cat((targets_dx, targets_dy, targets_dw, targets_dh), dim=1)

    def decode(rel_codes: Any, boxes: Any) -> Any:
        widths = boxes[:, 2] - boxes[:, 0]
        heights = boxes[:, 3] - boxes[:, 1]
        ctr_x = boxes[:, 0] + 0.5 * widths
        ctr_y = boxes[:, 1] + 0.5 * heights
        dx, dy, dw, dh = rel_codes.unbind(dim=1)
        dw = torch.clamp(dw, max=math.log(1000.0 / 16))
        dh = torch.clamp(dh, max=math.log(1000.0 / 16))
        pred_ctr_x, pred_ctr_y = dx * widths + ctr_x, dy * heights + ctr_y
        pred_w, pred_h = torch.exp(dw) * widths, torch.exp(dh) * heights
        return torch.stack(
            (pred_ctr_x - 0.5 * pred_w, pred_ctr_y - 0.5 * pred_h,
             pred_ctr_x + 0.5 * pred_w, pred_ctr_y + 0.5 * pred_h), dim=1,
        )  # fmt: skip

    def nms(boxes: Any, scores: Any, iou_threshold: float) -> Any:
        order = scores.argsort(descending=True)
        keep = []
        while order.numel() > 0:
            i = order[0]
            keep.append(i)
            if order.numel() == 1:
                break
            ious = box_iou(boxes[i].unsqueeze(0), boxes[order[1:]])[0]
            order = order[1:][ious <= iou_threshold]
        return torch.stack(keep) if keep else torch.empty((0,), dtype=torch.int64)

    def batched_nms(boxes: Any, scores: Any, idxs: Any, iou_threshold: float) -> Any:
        if boxes.numel() == 0:
            return torch.empty((0,), dtype=torch.int64)
        max_coordinate = boxes.max()
        offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
        boxes_for_nms = boxes + offsets[:, None]
        return nms(boxes_for_nms, scores, iou_threshold)

    def permute_and_flatten(layer: Any, N: int, A: int, C: int, H: int, W: int) -> Any:
        layer = layer.view(N, -1, C, H, W)
        layer = layer.permute(0, 3, 4, 1, 2)
        return layer.reshape(N, -1, C)

    def concat_box_prediction_layers(box_cls: list[Any], box_regression: list[Any]) -> Any:
        box_cls_flattened, box_regression_flattened = [], []
        for box_cls_per_level, box_regression_per_level in zip(box_cls, box_regression):
            N, AxC, H, W = box_cls_per_level.shape
            Ax4 = box_regression_per_level.shape[1]
            A = Ax4 // 4
            C = AxC // A
            box_cls_flattened.append(permute_and_flatten(box_cls_per_level, N, A, C, H, W))
            box_regression_flattened.append(
                permute_and_flatten(box_regression_per_level, N, A, 4, H, W)
            )
        box_cls = torch.cat(box_cls_flattened, dim=1).flatten(0, -2)
        box_regression = torch.cat(box_regression_flattened, dim=1).reshape(-1, 4)
        return box_cls, box_regression

    def rpn_loss(objectness: Any, pred_bbox_deltas: Any, labels: list, targets: list, sampler):
        sampled_pos_inds, sampled_neg_inds = sampler(labels)
        sampled_pos_inds = torch.where(torch.cat(sampled_pos_inds, dim=0))[0]
        sampled_neg_inds = torch.where(torch.cat(sampled_neg_inds, dim=0))[0]
        sampled_inds = torch.cat([sampled_pos_inds, sampled_neg_inds], dim=0)
        objectness = objectness.flatten()
        labels = torch.cat(labels, dim=0)
        regression_targets = torch.cat(targets, dim=0)
        box_loss = F.smooth_l1_loss(
            pred_bbox_deltas[sampled_pos_inds],
            regression_targets[sampled_pos_inds],
            beta=1 / 9,
            reduction="sum",
        ) / (sampled_inds.numel())
        objectness_loss = F.binary_cross_entropy_with_logits(
            objectness[sampled_inds], labels[sampled_inds]
        )
        return objectness_loss, box_loss, sampled_pos_inds.numel(), sampled_inds.numel()

    return {
        "grid_anchors": grid_anchors, "box_iou": box_iou, "encode_boxes": encode_boxes,
        "decode": decode, "batched_nms": batched_nms, "rpn_loss": rpn_loss,
        "concat": concat_box_prediction_layers,
    }  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    _, _, Matcher, BalancedPositiveNegativeSampler = _classes(torch_like)
    fns = _functions(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(2)
    images = as_tensor(torch, rng.normal(size=(2, 3, IMAGE, IMAGE)))
    gt = [
        as_tensor(torch, np.array([[2.0, 3.0, 13.0, 11.0], [17.0, 14.0, 30.0, 29.0]])),
        as_tensor(torch, np.array([[5.0, 18.0, 11.5, 27.0]])),
    ]
    proposal_matcher = Matcher(0.7, 0.3, allow_low_quality_matches=True)
    fg_bg_sampler = BalancedPositiveNegativeSampler(256, 0.5, torch.Generator().manual_seed(0))
    weights = torch.tensor([1.0, 1.0, 1.0, 1.0])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
    values: list[float] = []

    for step in range(3):
        features = list(model.backbone(images).values())
        objectness, pred_bbox_deltas = model.head(features)
        feature_sizes = [tuple(f.shape[-2:]) for f in features]
        anchors_per_level = fns["grid_anchors"](feature_sizes)
        anchors_image = torch.cat(anchors_per_level).to(images.dtype)
        num_anchors_per_level = [a.shape[0] for a in anchors_per_level]
        objectness, pred_bbox_deltas = fns["concat"](objectness, pred_bbox_deltas)

        labels, regression_targets = [], []
        for gt_boxes in gt:
            match_quality_matrix = fns["box_iou"](gt_boxes, anchors_image)
            matched_idxs = proposal_matcher(match_quality_matrix)
            matched_gt_boxes = gt_boxes[matched_idxs.clamp(min=0)]
            labels_per_image = (matched_idxs >= 0).to(dtype=torch.float32)
            bg_indices = matched_idxs == Matcher.BELOW_LOW_THRESHOLD
            labels_per_image[bg_indices] = 0.0
            inds_to_discard = matched_idxs == Matcher.BETWEEN_THRESHOLDS
            labels_per_image[inds_to_discard] = -1.0
            labels.append(labels_per_image.to(images.dtype))
            regression_targets.append(fns["encode_boxes"](matched_gt_boxes, anchors_image, weights))
            if step == 0:
                values += [(matched_idxs >= 0).sum().item(), int(inds_to_discard.sum())]
                values.append(match_quality_matrix.max().item())

        loss_objectness, loss_rpn_box_reg, n_pos, n_sampled = fns["rpn_loss"](
            objectness, pred_bbox_deltas, labels, regression_targets, fg_bg_sampler
        )
        losses = {"loss_objectness": loss_objectness, "loss_rpn_box_reg": loss_rpn_box_reg}
        loss = sum(loss for loss in losses.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss_objectness.item(), loss_rpn_box_reg.item(), n_pos, n_sampled]

    # proposals: decode, top-n per level, batched NMS across levels
    with torch.no_grad():
        features = list(model.backbone(images).values())
        obj, deltas = model.head(features)
        obj, deltas = fns["concat"](obj, deltas)
        num_images = images.shape[0]
        proposals = fns["decode"](deltas.detach(), anchors_image.repeat(num_images, 1))
        proposals = proposals.view(num_images, -1, 4)
        objectness = obj.detach().reshape(num_images, -1)
        levels = [
            torch.full((n,), idx, dtype=torch.int64) for idx, n in enumerate(num_anchors_per_level)
        ]
        levels = torch.cat(levels, 0).reshape(1, -1).expand_as(objectness)
        top_n_idx, offset = [], 0
        for ob in objectness.split(num_anchors_per_level, 1):
            num_anchors = ob.shape[1]
            _, top_n = ob.topk(min(PRE_NMS, num_anchors), dim=1)
            top_n_idx.append(top_n + offset)
            offset += num_anchors
        top_n_idx = torch.cat(top_n_idx, dim=1)
        batch_idx = torch.arange(num_images)[:, None]
        objectness = objectness[batch_idx, top_n_idx]
        levels = levels[batch_idx, top_n_idx]
        proposals = proposals[batch_idx, top_n_idx]
        objectness_prob = torch.sigmoid(objectness)
        for boxes, scores, lvl in zip(proposals, objectness_prob, levels):
            boxes = boxes.clone()
            boxes[..., 0::2] = boxes[..., 0::2].clamp(min=0, max=IMAGE)
            boxes[..., 1::2] = boxes[..., 1::2].clamp(min=0, max=IMAGE)
            ws, hs = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
            keep = torch.where((ws >= 1e-3) & (hs >= 1e-3))[0]
            boxes, scores, lvl = boxes[keep], scores[keep], lvl[keep]
            keep = fns["batched_nms"](boxes, scores, lvl, NMS_THRESH)
            keep = keep[:POST_NMS]
            values += [keep.numel(), boxes[keep].sum().item(), scores[keep].sum().item()]
            values += lvl[keep].tolist()

    # an image without boxes: every anchor is background
    labels_empty = torch.zeros((anchors_image.shape[0],), dtype=torch.float32)
    values.append(labels_empty.sum().item())

    # the sampler with a small batch: what holds for every draw
    sampler = BalancedPositiveNegativeSampler(8, 0.25, torch.Generator().manual_seed(3))
    matched = as_tensor(torch, rng.integers(-2, 3, size=40))
    for _ in range(2):
        (pos_mask,), (neg_mask,) = sampler([matched])
        values += [int(pos_mask.sum()), int(neg_mask.sum())]
        values.append(bool((matched[pos_mask.bool()] >= 1).all()))
        values.append(bool((matched[neg_mask.bool()] == 0).all()))
        values.append(int((pos_mask & neg_mask).sum()))
    return values
