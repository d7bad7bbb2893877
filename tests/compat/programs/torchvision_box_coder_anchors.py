"""torchvision's detection utilities written in plain PyTorch (``models/detection/
anchor_utils.py``, ``_utils.py``, ``ops/boxes.py``), as Faster R-CNN / RetinaNet use them,
size-reduced.

The idioms: ``AnchorGenerator`` (``sizes=((16,), (32,))``, ``aspect_ratios=((0.5, 1.0, 2.0),)
* len(sizes)``, ``generate_anchors`` with ``torch.as_tensor(scales, dtype=dtype)``,
``h_ratios = torch.sqrt(aspect_ratios)``, ``w_ratios = 1 / h_ratios``, ``(w_ratios[:, None] *
scales[None, :]).view(-1)``, ``torch.stack([-ws, -hs, ws, hs], dim=1) / 2``, ``.round()``;
``grid_anchors`` with ``torch.arange(0, grid_width, dtype=torch.int32) * stride_width``,
``torch.meshgrid(shifts_y, shifts_x, indexing="ij")``, ``shift_x.reshape(-1)``,
``(shifts.view(-1, 1, 4) + base_anchors.view(1, -1, 4)).reshape(-1, 4)``, strides from
``image_size // g``, ``torch.empty((), dtype=torch.int64).fill_(...)``); ``BoxCoder``
(``weights=(10.0, 10.0, 5.0, 5.0)``, ``bbox_xform_clip=math.log(1000.0 / 16)``, ``encode``
with ``torch.cat`` / ``split`` of the reference boxes, ``decode_single`` with ``dx = rel_codes[:,
0::4] / wx``, ``torch.clamp(dw, max=self.bbox_xform_clip)``, ``torch.exp``,
``torch.tensor(0.5, dtype=..., device=...) * w``, ``torch.stack((...), dim=2).flatten(1)``);
``box_area`` / ``_box_inter_union`` / ``box_iou`` (``torch.max(boxes1[:, None, :2], boxes2[:,
:2])``, ``_upcast(rb - lt).clamp(min=0)``); ``Matcher`` with ``BELOW_LOW_THRESHOLD = -1``,
``BETWEEN_THRESHOLDS = -2``, ``match_quality_matrix.max(dim=0)``, ``matches.clone()``,
``set_low_quality_matches_`` (``torch.where(match_quality_matrix ==
highest_quality_foreach_gt[:, None])``); ``clip_boxes_to_image`` (``boxes[..., 0::2]``,
``clamp(min=0, max=width)``); ``remove_small_boxes`` (``torch.where(keep)[0]``); and
``batched_nms`` by the coordinate trick (``max_coordinate = boxes.max()``, ``offsets =
idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))``), with ``nms`` as a greedy
loop over ``scores.argsort(descending=True)``; RPN-style proposal decoding and regression
targets for the matched anchors with ``F.smooth_l1_loss(..., beta=1 / 9, reduction="sum")``.

Changed: the C++ ``nms`` kernel is a loop in tensor ops; images of 32 x 32, feature maps of
4 x 4 and 2 x 2; boxes and scores from NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["run"]

DTYPE = "float32"


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class AnchorGenerator(nn.Module):
        def __init__(self, sizes: Any = ((16,), (32,)), aspect_ratios: Any = None) -> None:
            super().__init__()
            if aspect_ratios is None:
                aspect_ratios = ((0.5, 1.0, 2.0),) * len(sizes)
            self.sizes = sizes
            self.aspect_ratios = aspect_ratios
            self.cell_anchors = [
                self.generate_anchors(size, aspect_ratio)
                for size, aspect_ratio in zip(sizes, aspect_ratios)
            ]

        def generate_anchors(
            self, scales: Any, aspect_ratios: Any, dtype: Any = None, device: Any = None
        ) -> Any:
            dtype = torch.float32 if dtype is None else dtype
            device = torch.device("cpu") if device is None else device
            scales = torch.as_tensor(scales, dtype=dtype, device=device)
            aspect_ratios = torch.as_tensor(aspect_ratios, dtype=dtype, device=device)
            h_ratios = torch.sqrt(aspect_ratios)
            w_ratios = 1 / h_ratios
            ws = (w_ratios[:, None] * scales[None, :]).view(-1)
            hs = (h_ratios[:, None] * scales[None, :]).view(-1)
            base_anchors = torch.stack([-ws, -hs, ws, hs], dim=1) / 2
            return base_anchors.round()

        def num_anchors_per_location(self) -> list[int]:
            return [len(s) * len(a) for s, a in zip(self.sizes, self.aspect_ratios)]

        def grid_anchors(self, grid_sizes: Any, strides: Any) -> list[Any]:
            anchors = []
            for size, stride, base_anchors in zip(grid_sizes, strides, self.cell_anchors):
                grid_height, grid_width = size
                stride_height, stride_width = stride
                device = base_anchors.device
                shifts_x = torch.arange(0, grid_width, dtype=torch.int32, device=device)
                shifts_x = shifts_x * stride_width
                shifts_y = torch.arange(0, grid_height, dtype=torch.int32, device=device)
                shifts_y = shifts_y * stride_height
                shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
                shift_x = shift_x.reshape(-1)
                shift_y = shift_y.reshape(-1)
                shifts = torch.stack((shift_x, shift_y, shift_x, shift_y), dim=1)
                anchors.append((shifts.view(-1, 1, 4) + base_anchors.view(1, -1, 4)).reshape(-1, 4))
            return anchors

        def forward(self, image_size: Any, feature_maps: list[Any]) -> list[Any]:
            grid_sizes = [feature_map.shape[-2:] for feature_map in feature_maps]
            dtype, device = feature_maps[0].dtype, feature_maps[0].device
            strides = [
                [
                    torch.empty((), dtype=torch.int64, device=device).fill_(image_size[0] // g[0]),
                    torch.empty((), dtype=torch.int64, device=device).fill_(image_size[1] // g[1]),
                ]
                for g in grid_sizes
            ]
            self.cell_anchors = [a.to(dtype=dtype, device=device) for a in self.cell_anchors]
            anchors_over_all_feature_maps = self.grid_anchors(grid_sizes, strides)
            return [torch.cat(anchors_over_all_feature_maps)]

    class BoxCoder:
        def __init__(self, weights: Any, bbox_xform_clip: float = math.log(1000.0 / 16)) -> None:
            self.weights = weights
            self.bbox_xform_clip = bbox_xform_clip

        def encode(self, reference_boxes: list[Any], proposals: list[Any]) -> Any:
            boxes_per_image = [len(b) for b in reference_boxes]
            reference_boxes = torch.cat(reference_boxes, dim=0)
            proposals = torch.cat(proposals, dim=0)
            targets = self.encode_single(reference_boxes, proposals)
            return targets.split(boxes_per_image, 0)

        def encode_single(self, reference_boxes: Any, proposals: Any) -> Any:
            dtype, device = reference_boxes.dtype, reference_boxes.device
            weights = torch.as_tensor(self.weights, dtype=dtype, device=device)
            wx, wy, ww, wh = weights[0], weights[1], weights[2], weights[3]
            proposals_x1 = proposals[:, 0].unsqueeze(1)
            proposals_y1 = proposals[:, 1].unsqueeze(1)
            proposals_x2 = proposals[:, 2].unsqueeze(1)
            proposals_y2 = proposals[:, 3].unsqueeze(1)
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

        def decode(self, rel_codes: Any, boxes: list[Any]) -> Any:
            boxes_per_image = [b.size(0) for b in boxes]
            concat_boxes = torch.cat(boxes, dim=0)
            box_sum = sum(boxes_per_image)
            if box_sum > 0:
                rel_codes = rel_codes.reshape(box_sum, -1)
            pred_boxes = self.decode_single(rel_codes, concat_boxes)
            if box_sum > 0:
                pred_boxes = pred_boxes.reshape(box_sum, -1, 4)
            return pred_boxes

        def decode_single(self, rel_codes: Any, boxes: Any) -> Any:
            boxes = boxes.to(rel_codes.dtype)
            widths = boxes[:, 2] - boxes[:, 0]
            heights = boxes[:, 3] - boxes[:, 1]
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
            c_to_c_h = torch.tensor(0.5, dtype=pred_ctr_y.dtype, device=pred_h.device) * pred_h
            c_to_c_w = torch.tensor(0.5, dtype=pred_ctr_x.dtype, device=pred_w.device) * pred_w
            pred_boxes1 = pred_ctr_x - c_to_c_w
            pred_boxes2 = pred_ctr_y - c_to_c_h
            pred_boxes3 = pred_ctr_x + c_to_c_w
            pred_boxes4 = pred_ctr_y + c_to_c_h
            pred_boxes = torch.stack(
                (pred_boxes1, pred_boxes2, pred_boxes3, pred_boxes4), dim=2
            ).flatten(1)
            return pred_boxes

    class Matcher:
        BELOW_LOW_THRESHOLD = -1
        BETWEEN_THRESHOLDS = -2

        def __init__(
            self,
            high_threshold: float,
            low_threshold: float,
            allow_low_quality_matches: bool = False,
        ) -> None:
            self.high_threshold = high_threshold
            self.low_threshold = low_threshold
            self.allow_low_quality_matches = allow_low_quality_matches

        def __call__(self, match_quality_matrix: Any) -> Any:
            if match_quality_matrix.numel() == 0:
                raise ValueError("No ground-truth boxes available for one of the images")
            matched_vals, matches = match_quality_matrix.max(dim=0)
            all_matches = matches.clone() if self.allow_low_quality_matches else None
            below_low_threshold = matched_vals < self.low_threshold
            between_thresholds = (matched_vals >= self.low_threshold) & (
                matched_vals < self.high_threshold
            )
            matches[below_low_threshold] = self.BELOW_LOW_THRESHOLD
            matches[between_thresholds] = self.BETWEEN_THRESHOLDS
            if self.allow_low_quality_matches:
                self.set_low_quality_matches_(matches, all_matches, match_quality_matrix)
            return matches

        def set_low_quality_matches_(
            self, matches: Any, all_matches: Any, match_quality_matrix: Any
        ) -> None:
            highest_quality_foreach_gt, _ = match_quality_matrix.max(dim=1)
            gt_pred_pairs_of_highest_quality = torch.where(
                match_quality_matrix == highest_quality_foreach_gt[:, None]
            )
            pred_inds_to_update = gt_pred_pairs_of_highest_quality[1]
            matches[pred_inds_to_update] = all_matches[pred_inds_to_update]

    return AnchorGenerator, BoxCoder, Matcher


def _upcast(torch: Any, t: Any) -> Any:
    if t.is_floating_point():
        return t if t.dtype in (torch.float32, torch.float64) else t.float()
    return t if t.dtype in (torch.int32, torch.int64) else t.int()


def box_area(torch: Any, boxes: Any) -> Any:
    boxes = _upcast(torch, boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _box_inter_union(torch: Any, boxes1: Any, boxes2: Any) -> Any:
    area1 = box_area(torch, boxes1)
    area2 = box_area(torch, boxes2)
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])  # [N,M,2]
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])  # [N,M,2]
    wh = _upcast(torch, rb - lt).clamp(min=0)  # [N,M,2]
    inter = wh[:, :, 0] * wh[:, :, 1]  # [N,M]
    union = area1[:, None] + area2 - inter
    return inter, union


def box_iou(torch: Any, boxes1: Any, boxes2: Any) -> Any:
    inter, union = _box_inter_union(torch, boxes1, boxes2)
    return inter / union


def clip_boxes_to_image(torch: Any, boxes: Any, size: tuple[int, int]) -> Any:
    dim = boxes.dim()
    boxes_x = boxes[..., 0::2]
    boxes_y = boxes[..., 1::2]
    height, width = size
    boxes_x = boxes_x.clamp(min=0, max=width)
    boxes_y = boxes_y.clamp(min=0, max=height)
    clipped_boxes = torch.stack((boxes_x, boxes_y), dim=dim)
    return clipped_boxes.reshape(boxes.shape)


def remove_small_boxes(torch: Any, boxes: Any, min_size: float) -> Any:
    ws, hs = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    keep = (ws >= min_size) & (hs >= min_size)
    keep = torch.where(keep)[0]
    return keep


def nms(torch: Any, boxes: Any, scores: Any, iou_threshold: float) -> Any:
    order = scores.argsort(descending=True)
    suppressed = torch.zeros(boxes.shape[0], dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        ious = box_iou(torch, boxes[i : i + 1], boxes)[0]
        suppressed |= ious > iou_threshold
    return torch.as_tensor(keep, dtype=torch.int64)


def batched_nms(torch: Any, boxes: Any, scores: Any, idxs: Any, iou_threshold: float) -> Any:
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    boxes_for_nms = boxes + offsets[:, None]
    keep = nms(torch, boxes_for_nms, scores, iou_threshold)
    return keep


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(11)
    AnchorGenerator, BoxCoder, Matcher = _classes(torch)
    values: list[float] = []

    anchor_generator = AnchorGenerator(sizes=((8,), (16, 24)))
    values += anchor_generator.num_anchors_per_location()
    image_size = (32, 32)
    features = [torch.zeros(1, 4, 4, 4), torch.zeros(1, 4, 2, 2)]
    anchors = anchor_generator(image_size, features)[0]
    values += [float(anchors.shape[0]), float(anchors.dtype == torch.float32)]
    values += anchors.sum(0).tolist() + anchors[::7].flatten().tolist()

    gt = as_tensor(
        torch,
        np.array(
            [[2.0, 3.0, 14.0, 12.0], [10.0, 8.0, 30.0, 28.0], [20.0, 1.0, 26.0, 9.0]],
            dtype=np.float32,
        ),
    )
    match_quality_matrix = box_iou(torch, gt, anchors)
    for allow in (False, True):
        matcher = Matcher(0.5, 0.3, allow_low_quality_matches=allow)
        matches = matcher(match_quality_matrix)
        values += matches.tolist()
    box_coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
    fg = torch.where(matches >= 0)[0]
    matched_gt = gt[matches.clamp(min=0)]
    regression_targets = box_coder.encode([matched_gt[fg]], [anchors[fg]])[0]
    values += regression_targets.flatten().tolist()

    # RPN head output decoded to proposals, then a regression loss that trains it
    pred = as_tensor(torch, (0.3 * rng.standard_normal((anchors.shape[0], 4))).astype(np.float32))
    pred.requires_grad_(True)
    objectness = as_tensor(torch, rng.standard_normal(anchors.shape[0]).astype(np.float32))
    with torch.no_grad():
        proposals = box_coder.decode(pred.detach(), [anchors]).view(1, -1, 4)
        boxes = clip_boxes_to_image(torch, proposals[0], image_size)
        keep = remove_small_boxes(torch, boxes, 1e-3)
        boxes, scores = boxes[keep], objectness[keep]
        keep = nms(torch, boxes, scores, 0.7)
        values += [float(keep.numel())] + keep.tolist() + boxes[keep].sum(0).tolist()
    loss = F.smooth_l1_loss(pred[fg], regression_targets, beta=1 / 9, reduction="sum") / max(
        1, fg.numel()
    )
    loss.backward()
    values += [loss.item(), pred.grad.abs().sum().item()]

    # the second-stage coder: weights and the exp clamp
    roi_coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
    codes = as_tensor(
        torch, np.array([[0.5, -0.5, 30.0, -2.0, 1.0, 2.0, 0.1, 0.2]], dtype=np.float32)
    )
    decoded = roi_coder.decode(codes, [gt[:1]])
    values += decoded.flatten().tolist() + [roi_coder.bbox_xform_clip]
    enc = roi_coder.encode_single(gt, gt[[1, 2, 0]])
    dec = roi_coder.decode_single(enc, gt[[1, 2, 0]])
    values.append(float((dec - gt).abs().max().item() < 1e-4))

    # class-aware NMS by offsetting each class's boxes
    det = rng.uniform(0, 24, (12, 2)).astype(np.float32)
    det_boxes = as_tensor(
        torch, np.concatenate([det, det + rng.uniform(4, 10, (12, 2))], 1).astype(np.float32)
    )
    det_scores = as_tensor(torch, rng.uniform(size=12).astype(np.float32))
    labels = as_tensor(torch, rng.integers(0, 3, 12))
    keep = batched_nms(torch, det_boxes, det_scores, labels, 0.3)
    keep = keep[det_scores[keep].argsort(descending=True)]
    values += [float(keep.numel())] + keep.tolist()
    values += torch.sort(det_scores[keep], descending=True).values.tolist()
    return values
