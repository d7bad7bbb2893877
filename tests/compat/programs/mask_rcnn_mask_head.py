"""The Mask R-CNN mask branch without torchvision's compiled ops, as torchvision's pure-Python
fallbacks (``ops/roi_align.py``'s ``_roi_align`` / ``_bilinear_interpolate``,
``models/detection/roi_heads.py``'s ``project_masks_on_boxes``, ``maskrcnn_loss`` and
``maskrcnn_inference``, ``models/detection/transform.py``'s ``paste_masks_in_image``) and
detectron2's ``_do_paste_mask`` write it, size-reduced.

The idioms: RoIAlign by explicit bilinear sampling (``torch.arange(pooled_height)``, ``rois[:,
0].int()``, ``torch.clamp(roi_width, min=1.0)``, sample coordinates broadcast as ``[K, PH, IY]``
by ``ph[None, :, None] * bin_size_h[:, None, None]``, ``y.clamp(min=0)``, ``y.int()``,
``torch.where(y_low >= height - 1, height - 1, y_low + 1)``, six-way advanced indexing
``input[roi_batch_ind[:, None, None, None, None, None], c[None, :, None, None, None, None],
y[:, None, :, None, :, None], x[:, None, None, :, None, :]]``, out-of-range samples zeroed by
``torch.where``, ``val.sum((-1, -2)) / count``); the mask head (``Conv2d`` 3x3 + ``ReLU``
stacks and ``MaskRCNNPredictor``'s ``OrderedDict`` of ``ConvTranspose2d(k=2, s=2)`` + 1x1
``Conv2d``, ``nn.init.kaiming_normal_(mode="fan_out", nonlinearity="relu")``); the targets
``project_masks_on_boxes`` (``torch.cat([matched_idxs[:, None].to(proposals), proposals],
dim=1)``, ``gt_masks[:, None].to(rois)``, ``roi_align(...)[:, 0]``); the loss
``F.binary_cross_entropy_with_logits(mask_logits[torch.arange(labels.shape[0],
device=labels.device), labels], mask_targets)`` with the labels and targets gathered per image
and ``torch.cat``; inference ``x.sigmoid()``, ``mask_prob[index, labels][:, None]``,
``mask_prob.split(boxes_per_image, dim=0)``; torchvision's ``paste_masks_in_image``
(``expand_boxes`` into ``torch.zeros_like(boxes)``, ``expand_masks`` by ``F.pad(mask,
(padding,) * 4)``, ``.to(dtype=torch.int64)``, ``mask.expand((1, 1, -1, -1))``,
``F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False)``, ``max(box[0], 0)``
on 0-d tensors used as slice bounds); detectron2's ``_do_paste_mask`` (``torch.clamp(
boxes.min(dim=0).values.floor()[:2] - 1, min=0).to(dtype=torch.int32)``, ``torch.split(boxes,
1, dim=1)``, ``torch.arange(y0_int, y1_int, dtype=torch.float32) + 0.5``, ``gx = img_x[:,
None, :].expand(N, img_y.size(1), img_x.size(1))``, ``torch.stack([gx, gy], dim=3)``,
``F.grid_sample(masks, grid.to(masks.dtype), align_corners=False)``); the ``> 0.5`` threshold
and a mask IoU. Trained with ``SGD(momentum=0.9, weight_decay=1e-4)``.

Changed: a random feature map instead of a backbone + FPN, 2 images with 2-3 boxes each,
3 classes, 8x8 mask targets (28 in the paper), 32x32 images.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

C_IN, DIM, NUM_CLASSES, POOL, M, IMG = 4, 6, 3, 4, 8, 32
SCALE = 0.25  # feature stride 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class MaskRCNNHeads(nn.Sequential):
        def __init__(self, in_channels: int, layers: tuple, dilation: int) -> None:
            blocks = []
            next_feature = in_channels
            for layer_features in layers:
                blocks.append(
                    nn.Conv2d(
                        next_feature, layer_features, 3, 1, padding=dilation, dilation=dilation
                    )
                )
                blocks.append(nn.ReLU(inplace=True))
                next_feature = layer_features
            super().__init__(*blocks)
            for layer in self.modules():
                if isinstance(layer, nn.Conv2d):
                    nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                    if layer.bias is not None:
                        nn.init.zeros_(layer.bias)

    class MaskRCNNPredictor(nn.Sequential):
        def __init__(self, in_channels: int, dim_reduced: int, num_classes: int) -> None:
            super().__init__(
                OrderedDict(
                    [
                        ("conv5_mask", nn.ConvTranspose2d(in_channels, dim_reduced, 2, 2, 0)),
                        ("relu", nn.ReLU(inplace=True)),
                        ("mask_fcn_logits", nn.Conv2d(dim_reduced, num_classes, 1, 1, 0)),
                    ]
                )
            )
            for name, param in self.named_parameters():
                if "weight" in name:
                    nn.init.kaiming_normal_(param, mode="fan_out", nonlinearity="relu")

    class MaskBranch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mask_head = MaskRCNNHeads(C_IN, (DIM, DIM), 1)
            self.mask_predictor = MaskRCNNPredictor(DIM, DIM, NUM_CLASSES)

        def forward(self, x: Any) -> Any:
            return self.mask_predictor(self.mask_head(x))

    return MaskBranch()


def _helpers(torch: Any) -> dict:
    F = torch.nn.functional

    def _bilinear_interpolate(input, roi_batch_ind, y, x, ymask, xmask):  # noqa: ANN001, ANN202
        _, channels, height, width = input.size()
        # deal with inverse element out of feature map boundary
        y = y.clamp(min=0)
        x = x.clamp(min=0)
        y_low = y.int()
        x_low = x.int()
        y_high = torch.where(y_low >= height - 1, height - 1, y_low + 1)
        y_low = torch.where(y_low >= height - 1, height - 1, y_low)
        y = torch.where(y_low >= height - 1, y.to(input.dtype), y)
        x_high = torch.where(x_low >= width - 1, width - 1, x_low + 1)
        x_low = torch.where(x_low >= width - 1, width - 1, x_low)
        x = torch.where(x_low >= width - 1, x.to(input.dtype), x)
        ly = y - y_low
        lx = x - x_low
        hy = 1.0 - ly
        hx = 1.0 - lx

        def masked_index(y, x):  # noqa: ANN001, ANN202
            if ymask is not None:
                y = torch.where(ymask[:, None, :], y, 0)
                x = torch.where(xmask[:, None, :], x, 0)
            return input[
                roi_batch_ind[:, None, None, None, None, None],
                torch.arange(channels, device=input.device)[None, :, None, None, None, None],
                y[:, None, :, None, :, None],  # prev [K, PH, IY]
                x[:, None, None, :, None, :],  # prev [K, PW, IX]
            ]  # [K, C, PH, PW, IY, IX]

        v1 = masked_index(y_low, x_low)
        v2 = masked_index(y_low, x_high)
        v3 = masked_index(y_high, x_low)
        v4 = masked_index(y_high, x_high)

        def outer_prod(y, x):  # noqa: ANN001, ANN202
            return y[:, None, :, None, :, None] * x[:, None, None, :, None, :]

        w1 = outer_prod(hy, hx)
        w2 = outer_prod(hy, lx)
        w3 = outer_prod(ly, hx)
        w4 = outer_prod(ly, lx)
        return w1 * v1 + w2 * v2 + w3 * v3 + w4 * v4

    def roi_align(input, rois, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):  # noqa: ANN001, ANN202
        pooled_height, pooled_width = output_size
        _, _, height, width = input.size()
        ph = torch.arange(pooled_height, device=input.device)  # [PH]
        pw = torch.arange(pooled_width, device=input.device)  # [PW]
        roi_batch_ind = rois[:, 0].int()  # [K]
        offset = 0.5 if aligned else 0.0
        roi_start_w = rois[:, 1] * spatial_scale - offset  # [K]
        roi_start_h = rois[:, 2] * spatial_scale - offset
        roi_end_w = rois[:, 3] * spatial_scale - offset
        roi_end_h = rois[:, 4] * spatial_scale - offset
        roi_width = roi_end_w - roi_start_w
        roi_height = roi_end_h - roi_start_h
        if not aligned:
            roi_width = torch.clamp(roi_width, min=1.0)
            roi_height = torch.clamp(roi_height, min=1.0)
        bin_size_h = roi_height / pooled_height
        bin_size_w = roi_width / pooled_width
        roi_bin_grid_h = sampling_ratio
        roi_bin_grid_w = sampling_ratio
        count = max(roi_bin_grid_h * roi_bin_grid_w, 1)
        iy = torch.arange(roi_bin_grid_h, device=input.device)
        ix = torch.arange(roi_bin_grid_w, device=input.device)

        def from_K(t):  # noqa: ANN001, ANN202
            return t[:, None, None]

        y = (
            from_K(roi_start_h)
            + ph[None, :, None] * from_K(bin_size_h)
            + (iy[None, None, :] + 0.5).to(input.dtype) * from_K(bin_size_h / roi_bin_grid_h)
        )  # [K, PH, IY]
        x = (
            from_K(roi_start_w)
            + pw[None, :, None] * from_K(bin_size_w)
            + (ix[None, None, :] + 0.5).to(input.dtype) * from_K(bin_size_w / roi_bin_grid_w)
        )  # [K, PW, IX]
        val = _bilinear_interpolate(input, roi_batch_ind, y, x, None, None)
        # samples outside [-1, H] x [-1, W] contribute zero
        valid = ((y >= -1.0) & (y <= height))[:, None, :, None, :, None] & (
            (x >= -1.0) & (x <= width)
        )[:, None, None, :, None, :]
        val = torch.where(valid, val, 0)
        output = val.sum((-1, -2))  # remove IY, IX ~> [K, C, PH, PW]
        output /= count
        return output

    def project_masks_on_boxes(gt_masks, boxes, matched_idxs, M):  # noqa: ANN001, ANN202
        matched_idxs = matched_idxs.to(boxes)
        rois = torch.cat([matched_idxs[:, None], boxes], dim=1)
        gt_masks = gt_masks[:, None].to(rois)
        return roi_align(gt_masks, rois, (M, M), 1.0)[:, 0]

    def maskrcnn_loss(mask_logits, proposals, gt_masks, gt_labels, mask_matched_idxs):  # noqa: ANN001, ANN202
        discretization_size = mask_logits.shape[-1]
        labels = [gt_label[idxs] for gt_label, idxs in zip(gt_labels, mask_matched_idxs)]
        mask_targets = [
            project_masks_on_boxes(m, p, i, discretization_size)
            for m, p, i in zip(gt_masks, proposals, mask_matched_idxs)
        ]
        labels = torch.cat(labels, dim=0)
        mask_targets = torch.cat(mask_targets, dim=0)
        if mask_targets.numel() == 0:
            return mask_logits.sum() * 0
        mask_loss = F.binary_cross_entropy_with_logits(
            mask_logits[torch.arange(labels.shape[0], device=labels.device), labels], mask_targets
        )
        return mask_loss

    def maskrcnn_inference(x, labels):  # noqa: ANN001, ANN202
        mask_prob = x.sigmoid()
        num_masks = x.shape[0]
        boxes_per_image = [label.shape[0] for label in labels]
        labels = torch.cat(labels)
        index = torch.arange(num_masks, device=labels.device)
        mask_prob = mask_prob[index, labels][:, None]
        mask_prob = mask_prob.split(boxes_per_image, dim=0)
        return mask_prob

    def expand_boxes(boxes, scale):  # noqa: ANN001, ANN202
        w_half = (boxes[:, 2] - boxes[:, 0]) * 0.5
        h_half = (boxes[:, 3] - boxes[:, 1]) * 0.5
        x_c = (boxes[:, 2] + boxes[:, 0]) * 0.5
        y_c = (boxes[:, 3] + boxes[:, 1]) * 0.5
        w_half *= scale
        h_half *= scale
        boxes_exp = torch.zeros_like(boxes)
        boxes_exp[:, 0] = x_c - w_half
        boxes_exp[:, 2] = x_c + w_half
        boxes_exp[:, 1] = y_c - h_half
        boxes_exp[:, 3] = y_c + h_half
        return boxes_exp

    def expand_masks(mask, padding):  # noqa: ANN001, ANN202
        M = mask.shape[-1]
        scale = float(M + 2 * padding) / M
        padded_mask = F.pad(mask, (padding,) * 4)
        return padded_mask, scale

    def paste_mask_in_image(mask, box, im_h, im_w):  # noqa: ANN001, ANN202
        TO_REMOVE = 1
        w = int(box[2] - box[0] + TO_REMOVE)
        h = int(box[3] - box[1] + TO_REMOVE)
        w = max(w, 1)
        h = max(h, 1)
        # Set shape to [batchxCxHxW]
        mask = mask.expand((1, 1, -1, -1))
        # Resize mask
        mask = F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False)
        mask = mask[0][0]
        im_mask = torch.zeros((im_h, im_w), dtype=mask.dtype, device=mask.device)
        x_0 = max(box[0], 0)
        x_1 = min(box[2] + 1, im_w)
        y_0 = max(box[1], 0)
        y_1 = min(box[3] + 1, im_h)
        im_mask[y_0:y_1, x_0:x_1] = mask[
            (y_0 - box[1]) : (y_1 - box[1]), (x_0 - box[0]) : (x_1 - box[0])
        ]
        return im_mask

    def paste_masks_in_image(masks, boxes, img_shape, padding=1):  # noqa: ANN001, ANN202
        masks, scale = expand_masks(masks, padding=padding)
        boxes = expand_boxes(boxes, scale).to(dtype=torch.int64)
        im_h, im_w = img_shape
        res = [paste_mask_in_image(m[0], b, im_h, im_w) for m, b in zip(masks, boxes)]
        if len(res) > 0:
            ret = torch.stack(res, dim=0)[:, None]
        else:
            ret = masks.new_empty((0, 1, im_h, im_w))
        return ret

    def _do_paste_mask(masks, boxes, img_h: int, img_w: int, skip_empty: bool = True):  # noqa: ANN001, ANN202
        device = masks.device
        if skip_empty:
            x0_int, y0_int = torch.clamp(boxes.min(dim=0).values.floor()[:2] - 1, min=0).to(
                dtype=torch.int32
            )
            x1_int = torch.clamp(boxes[:, 2].max().ceil() + 1, max=img_w).to(dtype=torch.int32)
            y1_int = torch.clamp(boxes[:, 3].max().ceil() + 1, max=img_h).to(dtype=torch.int32)
        else:
            x0_int, y0_int = 0, 0
            x1_int, y1_int = img_w, img_h
        x0, y0, x1, y1 = torch.split(boxes, 1, dim=1)  # each is Nx1
        N = masks.shape[0]
        img_y = torch.arange(y0_int, y1_int, device=device, dtype=torch.float32) + 0.5
        img_x = torch.arange(x0_int, x1_int, device=device, dtype=torch.float32) + 0.5
        img_y = (img_y - y0) / (y1 - y0) * 2 - 1
        img_x = (img_x - x0) / (x1 - x0) * 2 - 1
        # img_x, img_y have shapes (N, w), (N, h)
        gx = img_x[:, None, :].expand(N, img_y.size(1), img_x.size(1))
        gy = img_y[:, :, None].expand(N, img_y.size(1), img_x.size(1))
        grid = torch.stack([gx, gy], dim=3)
        if not masks.dtype.is_floating_point:
            masks = masks.float()
        img_masks = F.grid_sample(masks, grid.to(masks.dtype), align_corners=False)
        if skip_empty:
            return img_masks[:, 0], (slice(y0_int, y1_int), slice(x0_int, x1_int))
        return img_masks[:, 0], ()

    return {
        "roi_align": roi_align,
        "maskrcnn_loss": maskrcnn_loss,
        "maskrcnn_inference": maskrcnn_inference,
        "paste_masks_in_image": paste_masks_in_image,
        "_do_paste_mask": _do_paste_mask,
    }


def _data() -> dict:
    rng = np.random.default_rng(7)
    feats = rng.normal(size=(2, C_IN, IMG // 4, IMG // 4))
    gt_boxes = [
        np.array([[2.0, 3.0, 18.0, 20.0], [12.0, 10.0, 30.0, 29.0]]),
        np.array([[0.0, 0.0, 14.0, 12.0], [8.0, 6.0, 24.0, 26.0], [20.0, 2.0, 31.0, 15.0]]),
    ]
    gt_labels = [np.array([1, 2]), np.array([2, 0, 1])]
    gt_masks = []
    yy, xx = np.mgrid[0:IMG, 0:IMG]
    for boxes in gt_boxes:
        ms = []
        for x0, y0, x1, y1 in boxes:
            cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
            ms.append((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0).astype(np.uint8))
        gt_masks.append(np.stack(ms))
    # proposals: jittered ground-truth boxes, matched to their source box
    proposals, matched = [], []
    for boxes in gt_boxes:
        idx = np.concatenate([np.arange(len(boxes)), rng.integers(0, len(boxes), size=1)])
        jitter = rng.uniform(-2.0, 2.0, size=(len(idx), 4))
        proposals.append(np.clip(boxes[idx] + jitter, 0.0, IMG - 1.0))
        matched.append(idx)
    return {
        "feats": feats,
        "gt_labels": gt_labels,
        "gt_masks": gt_masks,
        "proposals": proposals,
        "matched": matched,
    }


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    h = _helpers(torch)
    d = _data()
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)

    feats = as_tensor(torch, d["feats"])
    gt_labels = [as_tensor(torch, a) for a in d["gt_labels"]]
    gt_masks = [as_tensor(torch, a) for a in d["gt_masks"]]
    proposals = [as_tensor(torch, a) for a in d["proposals"]]
    matched = [as_tensor(torch, a) for a in d["matched"]]
    rois = torch.cat(
        [torch.cat([torch.full((len(p), 1), float(i)), p], dim=1) for i, p in enumerate(proposals)],
        dim=0,
    )

    values: list[float] = []
    feats.requires_grad_()
    for _step in range(4):
        pooled = h["roi_align"](feats, rois, (POOL, POOL), spatial_scale=SCALE, sampling_ratio=2)
        mask_logits = model(pooled)
        loss = h["maskrcnn_loss"](mask_logits, proposals, gt_masks, gt_labels, matched)
        optimizer.zero_grad()
        feats.grad = None
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(feats.grad.norm())]

    # aligned RoIAlign on the features as a spot check
    aligned = h["roi_align"](feats.detach(), rois, (3, 3), SCALE, 2, aligned=True)
    values += [float(aligned.sum()), float(aligned.abs().max())]

    model.eval()
    with torch.no_grad():
        pooled = h["roi_align"](feats, rois, (POOL, POOL), spatial_scale=SCALE, sampling_ratio=2)
        mask_logits = model(pooled)
        labels = [lab[i] for lab, i in zip(gt_labels, matched)]
        mask_probs = h["maskrcnn_inference"](mask_logits, labels)
        for probs, boxes, gts, idx in zip(mask_probs, proposals, gt_masks, matched):
            pasted = h["paste_masks_in_image"](probs, boxes, (IMG, IMG), padding=1)
            values += [float(pasted.sum()), float(pasted.shape[0])]
            binary = pasted[:, 0] > 0.5
            target = gts[idx].bool()
            inter = (binary & target).sum(dim=(1, 2)).float()
            union = (binary | target).sum(dim=(1, 2)).float()
            values += (inter / union.clamp(min=1)).tolist()
            img_masks, spatial = h["_do_paste_mask"](probs, boxes, IMG, IMG, skip_empty=True)
            full = torch.zeros(len(boxes), IMG, IMG)
            full[(torch.arange(len(boxes)),) + spatial] = img_masks
            values += [float(full.sum()), float((full >= 0.5).sum())]
            img_masks2, _ = h["_do_paste_mask"](probs, boxes, IMG, IMG, skip_empty=False)
            values.append(float((img_masks2 - full).abs().max()))
    return values
