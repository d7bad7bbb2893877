"""Detectron2's RetinaNet (``modeling/meta_arch/retinanet.py``, ``dense_detector.py``), with the
anchor generator (``modeling/anchor_generator.py``), ``Box2BoxTransform``
(``modeling/box_regression.py``), ``Matcher`` (``modeling/matcher.py``), ``pairwise_iou``
(``structures/boxes.py``) and the ``sigmoid_focal_loss`` / ``batched_nms`` it takes from
torchvision (``ops/focal_loss.py``, ``ops/boxes.py``) written out in plain PyTorch, size-reduced.

The idioms: ``generate_cell_anchors`` (``w = math.sqrt(area / aspect_ratio)``, ``h = aspect_ratio
* w``, ``torch.tensor(anchors)``); ``_create_grid_offsets`` (``torch.arange(offset * stride,
grid_width * stride, step=stride, dtype=torch.float32)``, ``torch.meshgrid(shifts_y, shifts_x,
indexing="ij")``) and ``(shifts.view(-1, 1, 4) + base_anchors.view(1, -1, 4)).reshape(-1, 4)``;
``pairwise_intersection`` / ``pairwise_iou`` (``torch.min(boxes1[:, None, 2:], boxes2[:, 2:]) -
torch.max(boxes1[:, None, :2], boxes2[:, :2])``, ``width_height.clamp_(min=0)``,
``.prod(dim=2)``, ``torch.where(inter > 0, inter / (area1[:, None] + area2 - inter),
torch.zeros(1, dtype=inter.dtype, device=inter.device))``); the ``Matcher`` with thresholds
``[-inf, 0.4, 0.5, inf]`` and labels ``[0, -1, 1]`` (``match_quality_matrix.max(dim=0)``,
``matches.new_full(matches.size(), 1, dtype=torch.int8)``, ``(matched_vals >= low) &
(matched_vals < high)``, ``set_low_quality_matches_`` through ``nonzero_tuple`` =
``x.nonzero(as_tuple=True)``, the empty-ground-truth branch); ``label_anchors``
(``gt_labels_i[anchor_labels == 0] = self.num_classes``, ``torch.zeros_like(matched_idxs) +
self.num_classes`` without boxes); ``Box2BoxTransform.get_deltas`` (``torch.log(target_widths /
src_widths)``, ``torch.stack((dx, dy, dw, dh), dim=1)``) and ``apply_deltas``
(``deltas[:, 0::4] / wx``, ``torch.clamp(dw, max=self.scale_clamp)`` with ``math.log(1000.0 /
16)``, ``torch.exp(dw) * widths[:, None]``, ``torch.stack((x1, y1, x2, y2), dim=-1)
.reshape(deltas.shape)``); the head (``cls_subnet`` / ``bbox_subnet`` conv stacks,
``torch.nn.init.normal_(layer.weight, mean=0, std=...)``, the prior bias ``-(math.log((1 -
prior_prob) / prior_prob))``) and ``permute_to_N_HWA_K`` (``tensor.view(N, -1, K, H, W)
.permute(0, 3, 4, 1, 2).reshape(N, -1, K)``); ``losses`` (``valid_mask = gt_labels >= 0``,
``pos_mask = (gt_labels >= 0) & (gt_labels != self.num_classes)``, the EMA loss normalizer
``max(num_pos_anchors, 1)``, ``F.one_hot(gt_labels[valid_mask], num_classes=self.num_classes +
1)[:, :-1]``, torchvision's ``sigmoid_focal_loss`` with ``reduction="sum"`` and
``F.smooth_l1_loss(..., beta=1 / 9, reduction="sum")`` on ``pos_mask``); inference
(``[x.sigmoid_() for x in box_cls]`` under ``torch.no_grad``, ``keep_idxs = pred_scores >
score_thresh``, ``torch.nonzero(keep_idxs)``, ``pred_scores.topk(num_topk)``,
``topk_idxs.unbind(dim=1)``, ``clip`` by ``clamp(min=0, max=w)``, ``nonempty``, and
torchvision's ``_batched_nms_vanilla`` loop over ``torch.unique(idxs)`` with
``torch.nonzero(idxs == class_id, as_tuple=True)[0]`` around a greedy ``nms`` on
``torch.argsort(scores, descending=True, stable=True)``, ``keep_mask[curr_indices[
curr_keep_indices]] = True``, ``keep_indices[scores[keep_indices].sort(descending=True)[1]]``,
``keep[: max_detections_per_image]``); a detection count per image by ``torch.where(n > 0, n,
torch.tensor(0))`` on scalar tensors; ``optim.SGD(momentum=0.9, weight_decay=1e-4)``.

Changed: the ResNet-FPN backbone is three strided convs giving two levels (8 x 8 and 4 x 4) of
32 x 32 images; widths 256 -> 8, 80 classes -> 3, 9 anchors -> 3 per location; the head's init
std 0.01 -> 0.1 and prior 0.01 -> 0.2 (so a few steps give detections above the 0.05 score
threshold); ``smooth_l1_beta`` 0.1 -> 1 / 9; ``apply_deltas``' ``deltas.float()`` is dropped
(the run is float64); the C++ ``nms`` is the greedy loop; ground truth from NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

NUM_CLASSES = 3
IMAGE_SIZE = 32


def _cell_anchors(torch_like: Any, sizes: list[float], aspect_ratios: list[float]) -> Any:
    anchors = []
    for size in sizes:
        area = size**2.0
        for aspect_ratio in aspect_ratios:
            w = math.sqrt(area / aspect_ratio)
            h = aspect_ratio * w
            x0, y0, x1, y1 = -w / 2.0, -h / 2.0, w / 2.0, h / 2.0
            anchors.append([x0, y0, x1, y1])
    return torch_like.tensor(anchors)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class RetinaNetHead(nn.Module):
        def __init__(self, in_channels: int, num_anchors: int, num_convs: int = 2) -> None:
            super().__init__()
            prior_prob, std = 0.2, 0.1
            cls_subnet, bbox_subnet = [], []
            for _ in range(num_convs):
                cls_subnet.append(nn.Conv2d(in_channels, in_channels, 3, stride=1, padding=1))
                cls_subnet.append(nn.ReLU())
                bbox_subnet.append(nn.Conv2d(in_channels, in_channels, 3, stride=1, padding=1))
                bbox_subnet.append(nn.ReLU())
            self.cls_subnet = nn.Sequential(*cls_subnet)
            self.bbox_subnet = nn.Sequential(*bbox_subnet)
            self.cls_score = nn.Conv2d(
                in_channels, num_anchors * NUM_CLASSES, kernel_size=3, stride=1, padding=1
            )
            self.bbox_pred = nn.Conv2d(
                in_channels, num_anchors * 4, kernel_size=3, stride=1, padding=1
            )
            for modules in [self.cls_subnet, self.bbox_subnet, self.cls_score, self.bbox_pred]:
                for layer in modules.modules():
                    if isinstance(layer, nn.Conv2d):
                        torch.nn.init.normal_(layer.weight, mean=0, std=std)
                        torch.nn.init.constant_(layer.bias, 0)
            bias_value = -(math.log((1 - prior_prob) / prior_prob))
            torch.nn.init.constant_(self.cls_score.bias, bias_value)

        def forward(self, features: list[Any]) -> tuple[list[Any], list[Any]]:
            logits, bbox_reg = [], []
            for feature in features:
                logits.append(self.cls_score(self.cls_subnet(feature)))
                bbox_reg.append(self.bbox_pred(self.bbox_subnet(feature)))
            return logits, bbox_reg

    class Backbone(nn.Module):
        def __init__(self, width: int = 8) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, width, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
            )
            self.p4 = nn.Conv2d(width, width, 3, stride=2, padding=1)

        def forward(self, x: Any) -> list[Any]:
            p3 = self.stem(x)
            return [p3, self.p4(torch.relu(p3))]

    class RetinaNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = Backbone()
            self.head = RetinaNetHead(8, 3)

        def forward(self, images: Any) -> tuple[list[Any], list[Any], list[Any]]:
            features = self.backbone(images)
            logits, deltas = self.head(features)
            return features, logits, deltas

    return RetinaNet()


def _detector_utils(torch_like: Any) -> dict[str, Any]:
    torch, F = torch_like, torch_like.nn.functional

    def nonzero_tuple(x: Any) -> Any:
        return x.nonzero(as_tuple=True)

    class DefaultAnchorGenerator:
        def __init__(
            self, sizes: list[list[float]], aspect_ratios: list[float], strides: list[int]
        ):
            self.strides = strides
            self.offset = 0.0
            self.cell_anchors = [_cell_anchors(torch_like, s, aspect_ratios) for s in sizes]

        def _create_grid_offsets(self, size: Any, stride: int, offset: float) -> tuple[Any, Any]:
            grid_height, grid_width = size
            shifts_x = torch.arange(
                offset * stride, grid_width * stride, step=stride, dtype=torch.float32
            )
            shifts_y = torch.arange(
                offset * stride, grid_height * stride, step=stride, dtype=torch.float32
            )
            shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
            shift_x = shift_x.reshape(-1)
            shift_y = shift_y.reshape(-1)
            return shift_x, shift_y

        def __call__(self, features: list[Any]) -> list[Any]:
            grid_sizes = [feature_map.shape[-2:] for feature_map in features]
            anchors = []
            for size, stride, base_anchors in zip(grid_sizes, self.strides, self.cell_anchors):
                shift_x, shift_y = self._create_grid_offsets(size, stride, self.offset)
                shifts = torch.stack((shift_x, shift_y, shift_x, shift_y), dim=1)
                anchors.append((shifts.view(-1, 1, 4) + base_anchors.view(1, -1, 4)).reshape(-1, 4))
            return anchors

    def area(boxes: Any) -> Any:
        return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])

    def pairwise_intersection(boxes1: Any, boxes2: Any) -> Any:
        width_height = torch.min(boxes1[:, None, 2:], boxes2[:, 2:]) - torch.max(
            boxes1[:, None, :2], boxes2[:, :2]
        )  # [N,M,2]
        width_height.clamp_(min=0)  # [N,M,2]
        intersection = width_height.prod(dim=2)  # [N,M]
        return intersection

    def pairwise_iou(boxes1: Any, boxes2: Any) -> Any:
        area1 = area(boxes1)  # [N]
        area2 = area(boxes2)  # [M]
        inter = pairwise_intersection(boxes1, boxes2)
        # handle empty boxes
        iou = torch.where(
            inter > 0,
            inter / (area1[:, None] + area2 - inter),
            torch.zeros(1, dtype=inter.dtype, device=inter.device),
        )
        return iou

    class Matcher:
        def __init__(
            self, thresholds: list[float], labels: list[int], allow_low_quality_matches: bool
        ):
            thresholds = thresholds[:]
            thresholds.insert(0, -float("inf"))
            thresholds.append(float("inf"))
            self.thresholds = thresholds
            self.labels = labels
            self.allow_low_quality_matches = allow_low_quality_matches

        def __call__(self, match_quality_matrix: Any) -> tuple[Any, Any]:
            assert match_quality_matrix.dim() == 2
            if match_quality_matrix.numel() == 0:
                default_matches = match_quality_matrix.new_full(
                    (match_quality_matrix.size(1),), 0, dtype=torch.int64
                )
                default_match_labels = match_quality_matrix.new_full(
                    (match_quality_matrix.size(1),), self.labels[0], dtype=torch.int8
                )
                return default_matches, default_match_labels
            assert torch.all(match_quality_matrix >= 0)
            matched_vals, matches = match_quality_matrix.max(dim=0)
            match_labels = matches.new_full(matches.size(), 1, dtype=torch.int8)
            for label, low, high in zip(self.labels, self.thresholds[:-1], self.thresholds[1:]):
                low_high = (matched_vals >= low) & (matched_vals < high)
                match_labels[low_high] = label
            if self.allow_low_quality_matches:
                self.set_low_quality_matches_(match_labels, match_quality_matrix)
            return matches, match_labels

        def set_low_quality_matches_(self, match_labels: Any, match_quality_matrix: Any) -> None:
            highest_quality_foreach_gt, _ = match_quality_matrix.max(dim=1)
            _, pred_inds_with_highest_quality = nonzero_tuple(
                match_quality_matrix == highest_quality_foreach_gt[:, None]
            )
            match_labels[pred_inds_with_highest_quality] = 1

    class Box2BoxTransform:
        def __init__(self, weights: tuple[float, ...], scale_clamp: float = math.log(1000.0 / 16)):
            self.weights = weights
            self.scale_clamp = scale_clamp

        def get_deltas(self, src_boxes: Any, target_boxes: Any) -> Any:
            src_widths = src_boxes[:, 2] - src_boxes[:, 0]
            src_heights = src_boxes[:, 3] - src_boxes[:, 1]
            src_ctr_x = src_boxes[:, 0] + 0.5 * src_widths
            src_ctr_y = src_boxes[:, 1] + 0.5 * src_heights
            target_widths = target_boxes[:, 2] - target_boxes[:, 0]
            target_heights = target_boxes[:, 3] - target_boxes[:, 1]
            target_ctr_x = target_boxes[:, 0] + 0.5 * target_widths
            target_ctr_y = target_boxes[:, 1] + 0.5 * target_heights
            wx, wy, ww, wh = self.weights
            dx = wx * (target_ctr_x - src_ctr_x) / src_widths
            dy = wy * (target_ctr_y - src_ctr_y) / src_heights
            dw = ww * torch.log(target_widths / src_widths)
            dh = wh * torch.log(target_heights / src_heights)
            deltas = torch.stack((dx, dy, dw, dh), dim=1)
            assert (src_widths > 0).all().item(), "Input boxes to Box2BoxTransform are not valid!"
            return deltas

        def apply_deltas(self, deltas: Any, boxes: Any) -> Any:
            boxes = boxes.to(deltas.dtype)
            widths = boxes[:, 2] - boxes[:, 0]
            heights = boxes[:, 3] - boxes[:, 1]
            ctr_x = boxes[:, 0] + 0.5 * widths
            ctr_y = boxes[:, 1] + 0.5 * heights
            wx, wy, ww, wh = self.weights
            dx = deltas[:, 0::4] / wx
            dy = deltas[:, 1::4] / wy
            dw = deltas[:, 2::4] / ww
            dh = deltas[:, 3::4] / wh
            # Prevent sending too large values into torch.exp()
            dw = torch.clamp(dw, max=self.scale_clamp)
            dh = torch.clamp(dh, max=self.scale_clamp)
            pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
            pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
            pred_w = torch.exp(dw) * widths[:, None]
            pred_h = torch.exp(dh) * heights[:, None]
            x1 = pred_ctr_x - 0.5 * pred_w
            y1 = pred_ctr_y - 0.5 * pred_h
            x2 = pred_ctr_x + 0.5 * pred_w
            y2 = pred_ctr_y + 0.5 * pred_h
            pred_boxes = torch.stack((x1, y1, x2, y2), dim=-1)
            return pred_boxes.reshape(deltas.shape)

    def sigmoid_focal_loss(
        inputs: Any, targets: Any, alpha: float = 0.25, gamma: float = 2, reduction: str = "none"
    ) -> Any:
        p = torch.sigmoid(inputs)
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha >= 0:
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            loss = alpha_t * loss
        if reduction == "none":
            pass
        elif reduction == "mean":
            loss = loss.mean()
        elif reduction == "sum":
            loss = loss.sum()
        else:
            raise ValueError(f"Invalid Value for arg 'reduction': '{reduction}")
        return loss

    def nms(boxes: Any, scores: Any, iou_threshold: float) -> Any:
        order = torch.argsort(scores, descending=True, stable=True)
        keep = []
        while order.numel() > 0:
            i = order[0]
            keep.append(i)
            if order.numel() == 1:
                break
            ious = pairwise_iou(boxes[i].unsqueeze(0), boxes[order[1:]]).squeeze(0)
            order = order[1:][ious <= iou_threshold]
        if not keep:
            return torch.empty((0,), dtype=torch.int64)
        return torch.stack(keep)

    def batched_nms(boxes: Any, scores: Any, idxs: Any, iou_threshold: float) -> Any:
        keep_mask = torch.zeros_like(scores, dtype=torch.bool)
        for class_id in torch.unique(idxs):
            curr_indices = torch.nonzero(idxs == class_id, as_tuple=True)[0]
            curr_keep_indices = nms(boxes[curr_indices], scores[curr_indices], iou_threshold)
            keep_mask[curr_indices[curr_keep_indices]] = True
        keep_indices = torch.nonzero(keep_mask, as_tuple=True)[0]
        return keep_indices[scores[keep_indices].sort(descending=True)[1]]

    def permute_to_N_HWA_K(tensor: Any, K: int) -> Any:  # noqa: N802 (detectron2's name)
        assert tensor.dim() == 4, tensor.shape
        N, _, H, W = tensor.shape
        tensor = tensor.view(N, -1, K, H, W)
        tensor = tensor.permute(0, 3, 4, 1, 2)
        tensor = tensor.reshape(N, -1, K)  # Size=(N,HWA,K)
        return tensor

    return {
        "DefaultAnchorGenerator": DefaultAnchorGenerator,
        "pairwise_iou": pairwise_iou,
        "Matcher": Matcher,
        "Box2BoxTransform": Box2BoxTransform,
        "sigmoid_focal_loss": sigmoid_focal_loss,
        "batched_nms": batched_nms,
        "permute_to_N_HWA_K": permute_to_N_HWA_K,
    }


def _data(rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    images = rng.standard_normal((3, 3, IMAGE_SIZE, IMAGE_SIZE))
    boxes, classes = [], []
    for n in (3, 1, 0):
        xy = rng.uniform(0, 20, (n, 2))
        wh = rng.uniform(6, 12, (n, 2))
        boxes.append(np.concatenate([xy, np.minimum(xy + wh, IMAGE_SIZE)], axis=1))
        classes.append(rng.integers(0, NUM_CLASSES, n))
    return images, boxes, classes


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    u = _detector_utils(torch_like)
    rng = np.random.default_rng(2029)
    images_np, boxes_np, classes_np = _data(rng)
    images = as_tensor(torch, images_np)
    gt_boxes = [as_tensor(torch, b.reshape(-1, 4)) for b in boxes_np]
    gt_classes = [as_tensor(torch, c.astype(np.int64)) for c in classes_np]

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    anchor_generator = u["DefaultAnchorGenerator"](
        sizes=[[8.0], [16.0]], aspect_ratios=[0.5, 1.0, 2.0], strides=[4, 8]
    )
    box2box_transform = u["Box2BoxTransform"](weights=(1.0, 1.0, 1.0, 1.0))
    anchor_matcher = u["Matcher"]([0.4, 0.5], [0, -1, 1], allow_low_quality_matches=True)
    permute = u["permute_to_N_HWA_K"]
    focal_loss_alpha, focal_loss_gamma, smooth_l1_beta = 0.25, 2.0, 1 / 9
    loss_normalizer, loss_normalizer_momentum = 100.0, 0.9
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    values: list[float] = []

    def label_anchors(anchors: Any) -> tuple[list[Any], list[Any]]:
        gt_labels, matched_gt_boxes = [], []
        for boxes_i, classes_i in zip(gt_boxes, gt_classes):
            match_quality_matrix = u["pairwise_iou"](boxes_i, anchors)
            matched_idxs, anchor_labels = anchor_matcher(match_quality_matrix)
            del match_quality_matrix
            if len(boxes_i) > 0:
                matched_gt_boxes_i = boxes_i[matched_idxs]
                gt_labels_i = classes_i[matched_idxs]
                # Anchors with label 0 are treated as background.
                gt_labels_i[anchor_labels == 0] = NUM_CLASSES
                # Anchors with label -1 are ignored.
                gt_labels_i[anchor_labels == -1] = -1
            else:
                matched_gt_boxes_i = torch.zeros_like(anchors)
                gt_labels_i = torch.zeros_like(matched_idxs) + NUM_CLASSES
            gt_labels.append(gt_labels_i)
            matched_gt_boxes.append(matched_gt_boxes_i)
        return gt_labels, matched_gt_boxes

    for _step in range(3):
        features, logits, deltas = model(images)
        anchors = anchor_generator(features)
        pred_logits = [permute(x, NUM_CLASSES) for x in logits]
        pred_anchor_deltas = [permute(x, 4) for x in deltas]
        all_anchors = torch.cat(anchors)
        gt_labels, gt_boxes_matched = label_anchors(all_anchors)
        gt_labels = torch.stack(gt_labels)  # (N, R)
        valid_mask = gt_labels >= 0
        pos_mask = (gt_labels >= 0) & (gt_labels != NUM_CLASSES)
        num_pos_anchors = pos_mask.sum().item()
        loss_normalizer = loss_normalizer_momentum * loss_normalizer + (
            1 - loss_normalizer_momentum
        ) * max(num_pos_anchors, 1)
        # classification and regression loss
        gt_labels_target = F.one_hot(gt_labels[valid_mask], num_classes=NUM_CLASSES + 1)[:, :-1]
        loss_cls = u["sigmoid_focal_loss"](
            torch.cat(pred_logits, dim=1)[valid_mask],
            gt_labels_target.to(pred_logits[0].dtype),
            alpha=focal_loss_alpha,
            gamma=focal_loss_gamma,
            reduction="sum",
        )
        gt_anchor_deltas = [box2box_transform.get_deltas(all_anchors, k) for k in gt_boxes_matched]
        gt_anchor_deltas = torch.stack(gt_anchor_deltas)  # (N, R, 4)
        loss_box_reg = F.smooth_l1_loss(
            torch.cat(pred_anchor_deltas, dim=1)[pos_mask],
            gt_anchor_deltas[pos_mask],
            beta=smooth_l1_beta,
            reduction="sum",
        )
        losses = {
            "loss_cls": loss_cls / loss_normalizer,
            "loss_box_reg": loss_box_reg / loss_normalizer,
        }
        loss = sum(losses.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [losses["loss_cls"].item(), losses["loss_box_reg"].item(), num_pos_anchors]
    values.append(float(all_anchors.shape[0]))

    # inference
    score_thresh, topk_candidates, nms_thresh, max_detections_per_image = 0.05, 20, 0.5, 10
    model.eval()
    with torch.no_grad():
        features, logits, deltas = model(images)
        anchors = anchor_generator(features)
        pred_logits = [permute(x, NUM_CLASSES) for x in logits]
        pred_anchor_deltas = [permute(x, 4) for x in deltas]
        for img_idx in range(images.shape[0]):
            box_cls = [x[img_idx].sigmoid_() for x in pred_logits]
            box_delta = [x[img_idx] for x in pred_anchor_deltas]
            boxes_all, scores_all, classes_all = [], [], []
            for anchors_i, box_cls_i, box_reg_i in zip(anchors, box_cls, box_delta):
                keep_idxs = box_cls_i > score_thresh  # R x K
                pred_scores = box_cls_i[keep_idxs]
                topk_idxs = torch.nonzero(keep_idxs)  # Kx2
                num_topk = min(topk_candidates, topk_idxs.size(0))
                pred_scores, idxs = pred_scores.topk(num_topk)
                topk_idxs = topk_idxs[idxs]
                anchor_idxs, classes_idxs = topk_idxs.unbind(dim=1)
                pred_boxes = box2box_transform.apply_deltas(
                    box_reg_i[anchor_idxs], anchors_i[anchor_idxs]
                )
                boxes_all.append(pred_boxes)
                scores_all.append(pred_scores)
                classes_all.append(classes_idxs)
            boxes = torch.cat(boxes_all)
            scores = torch.cat(scores_all)
            classes = torch.cat(classes_all)
            # clip, then drop empty boxes
            boxes[:, 0].clamp_(min=0, max=IMAGE_SIZE)
            boxes[:, 1].clamp_(min=0, max=IMAGE_SIZE)
            boxes[:, 2].clamp_(min=0, max=IMAGE_SIZE)
            boxes[:, 3].clamp_(min=0, max=IMAGE_SIZE)
            widths = boxes[:, 2] - boxes[:, 0]
            heights = boxes[:, 3] - boxes[:, 1]
            nonempty = (widths > 0.0) & (heights > 0.0)
            boxes, scores, classes = boxes[nonempty], scores[nonempty], classes[nonempty]
            keep = u["batched_nms"](boxes, scores, classes, nms_thresh)
            keep = keep[:max_detections_per_image]
            n = torch.tensor(keep.numel())
            count = torch.where(n > 0, n, torch.tensor(0))
            values += [
                count.item(),
                scores[keep].sum().item(),
                boxes[keep].sum().item(),
                classes[keep].sum().item(),
            ]
            if keep.numel() > 1:
                values.append(float((scores[keep][:-1] >= scores[keep][1:]).all().item()))
    return values
