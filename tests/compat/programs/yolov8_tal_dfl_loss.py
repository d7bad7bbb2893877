"""The YOLOv8 detection loss, as ultralytics/ultralytics writes it (``utils/tal.py``:
``make_anchors``, ``dist2bbox``, ``bbox2dist``, ``TaskAlignedAssigner``; ``utils/loss.py``:
``DFLoss``, ``BboxLoss``, ``v8DetectionLoss``; ``utils/metrics.py``: ``bbox_iou``;
``nn/modules/head.py``: ``Detect``, ``DFL``; ``nn/modules/conv.py``: ``Conv``), size-reduced.

The idioms: ``make_anchors`` (``torch.arange(end=w, device=device, dtype=dtype) +
grid_cell_offset``, ``torch.meshgrid(sy, sx, indexing="ij")``, ``torch.stack((sx, sy),
-1).view(-1, 2)``, ``torch.full((h * w, 1), stride, dtype=dtype, device=device)``);
``dist2bbox`` / ``bbox2dist`` (``distance.chunk(2, dim)``, ``.clamp_(0, reg_max - 0.01)``);
the ``DFL`` module (a frozen ``nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)`` whose
``weight.data[:] = nn.Parameter(x.view(1, c1, 1, 1))``, ``x.view(b, 4, self.c1, a).transpose(2,
1).softmax(1)``) and ``bbox_decode``'s ``pred_dist.view(b, a, 4, c // 4).softmax(3).matmul(
self.proj.type(pred_dist.dtype))``; ``DFLoss`` (``target.clamp_(0, reg_max - 1 - 0.01)``, ``tl
= target.long()``, ``F.cross_entropy(pred_dist, tl.view(-1), reduction="none").view(tl.shape)
* wl``, ``.mean(-1, keepdim=True)``); ``BboxLoss`` (``target_scores.sum(-1)[fg_mask]
.unsqueeze(-1)``, CIoU ``bbox_iou`` with ``box1.chunk(4, -1)``, ``.minimum`` / ``.maximum``,
``.clamp_(0)``, ``(w2 / h2).atan()``, ``alpha`` under ``torch.no_grad()``);
``TaskAlignedAssigner`` under ``@torch.no_grad()`` (``select_candidates_in_gts`` with
``bbox_deltas.amin(3).gt_(eps)``; ``get_box_metrics`` with ``ind = torch.zeros([2, bs,
n_max_boxes], dtype=torch.long)``, ``ind[0] = torch.arange(end=bs).view(-1, 1).expand(-1,
n_max_boxes)``, ``bbox_scores[mask_gt] = pd_scores[ind[0], :, ind[1]][mask_gt]``,
``pd_bboxes.unsqueeze(1).expand(-1, n_max_boxes, -1, -1)[mask_gt]``, ``bbox_scores.pow(alpha)
* overlaps.pow(beta)``; ``select_topk_candidates`` with ``torch.topk(metrics, topk, dim=-1,
largest=True)``, ``topk_idxs.masked_fill_(~topk_mask, 0)``, an ``int8`` count tensor grown by
``scatter_add_(-1, topk_idxs[:, :, k : k + 1], ones)`` and ``count_tensor.masked_fill_(
count_tensor > 1, 0)``; ``select_highest_overlaps`` with ``fg_mask.max() > 1``,
``overlaps.argmax(1)``, ``is_max_overlaps.scatter_(1, max_overlaps_idx.unsqueeze(1), 1)``,
``mask_pos.argmax(-2)``; ``get_targets`` with ``gt_labels.long().flatten()[target_gt_idx]``,
``target_labels.clamp_(0)``, an ``int64`` ``scatter_(2, target_labels.unsqueeze(-1), 1)``,
``fg_mask[:, :, None].repeat(1, 1, nc)``, ``torch.where(fg_scores_mask > 0, target_scores,
0)``; the normalisation ``align_metric.amax(dim=-1, keepdim=True)``, ``.amax(-2)``);
``v8DetectionLoss`` (``torch.cat([xi.view(b, no, -1) for xi in feats], 2).split((reg_max * 4,
nc), 1)``, ``.permute(0, 2, 1).contiguous()``, ``torch.tensor(feats[0].shape[2:]) *
stride[0]``, ``imgsz[[1, 0, 1, 0]]``; ``preprocess`` with ``i.unique(return_counts=True)``,
``counts.max()`` as a size, ``if n := matches.sum(): out[j, :n] = targets[matches, 1:]``,
``xywh2xyxy(out[..., 1:5].mul_(scale_tensor))``; ``gt_bboxes.sum(2, keepdim=True).gt_(0.0)``;
``max(target_scores.sum(), 1)``; ``nn.BCEWithLogitsLoss(reduction="none")``; ``loss =
torch.zeros(3)`` filled per term and ``loss.sum() * batch_size, loss.detach()``); ``Detect``'s
``bias_init`` (``b[-1].bias.data[: m.nc] = math.log(5 / m.nc / (640 / s) ** 2)``) and its
inference decode (``(x.transpose(0, 1) for x in make_anchors(...))``, ``torch.cat((dbox,
cls.sigmoid()), 1)``); ``SGD(momentum=0.937, nesterov=True)``.

Changed: a two-level backbone of ``Conv`` blocks on 16 x 16 NumPy images (strides 4 and 8),
``reg_max`` 4, three classes, ``topk`` 4, two images with ragged box lists.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NC, REG_MAX, STRIDES, IMG, BS, STEPS = 3, 4, (4.0, 8.0), 16, 2, 3
# (batch_idx, cls, cx, cy, w, h) normalised
LABELS = np.array(
    [
        [0, 1, 0.40, 0.45, 0.50, 0.60],
        [0, 2, 0.70, 0.30, 0.40, 0.35],
        [1, 0, 0.50, 0.50, 0.70, 0.65],
        [0, 0, 0.25, 0.70, 0.35, 0.45],
    ]
)


def xywh2xyxy(torch: Any, x: Any) -> Any:
    y = x.clone() if isinstance(x, torch.Tensor) else np.copy(x)
    dw = x[..., 2] / 2
    dh = x[..., 3] / 2
    y[..., 0] = x[..., 0] - dw
    y[..., 1] = x[..., 1] - dh
    y[..., 2] = x[..., 0] + dw
    y[..., 3] = x[..., 1] + dh
    return y


def make_anchors(torch: Any, feats: Any, strides: Any, grid_cell_offset: float = 0.5) -> Any:
    anchor_points, stride_tensor = [], []
    assert feats is not None
    dtype, device = feats[0].dtype, feats[0].device
    for i, stride in enumerate(strides):
        h, w = (
            feats[i].shape[2:] if isinstance(feats, list) else (int(feats[i][0]), int(feats[i][1]))
        )
        sx = torch.arange(end=w, device=device, dtype=dtype) + grid_cell_offset
        sy = torch.arange(end=h, device=device, dtype=dtype) + grid_cell_offset
        sy, sx = torch.meshgrid(sy, sx, indexing="ij")
        anchor_points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_tensor.append(torch.full((h * w, 1), stride, dtype=dtype, device=device))
    return torch.cat(anchor_points), torch.cat(stride_tensor)


def dist2bbox(torch: Any, distance: Any, anchor_points: Any, xywh: bool = True, dim: int = -1):
    lt, rb = distance.chunk(2, dim)
    x1y1 = anchor_points - lt
    x2y2 = anchor_points + rb
    if xywh:
        c_xy = (x1y1 + x2y2) / 2
        wh = x2y2 - x1y1
        return torch.cat((c_xy, wh), dim)
    return torch.cat((x1y1, x2y2), dim)


def bbox2dist(torch: Any, anchor_points: Any, bbox: Any, reg_max: float) -> Any:
    x1y1, x2y2 = bbox.chunk(2, -1)
    return torch.cat((anchor_points - x1y1, x2y2 - anchor_points), -1).clamp_(0, reg_max - 0.01)


def bbox_iou(torch: Any, box1: Any, box2: Any, xywh: bool = True, CIoU: bool = False, eps=1e-7):
    if xywh:
        (x1, y1, w1, h1), (x2, y2, w2, h2) = box1.chunk(4, -1), box2.chunk(4, -1)
        w1_, h1_, w2_, h2_ = w1 / 2, h1 / 2, w2 / 2, h2 / 2
        b1_x1, b1_x2, b1_y1, b1_y2 = x1 - w1_, x1 + w1_, y1 - h1_, y1 + h1_
        b2_x1, b2_x2, b2_y1, b2_y2 = x2 - w2_, x2 + w2_, y2 - h2_, y2 + h2_
    else:
        b1_x1, b1_y1, b1_x2, b1_y2 = box1.chunk(4, -1)
        b2_x1, b2_y1, b2_x2, b2_y2 = box2.chunk(4, -1)
        w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
        w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    inter = (b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp_(0) * (
        b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)
    ).clamp_(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    if CIoU:
        cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)
        ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)
        c2 = cw.pow(2) + ch.pow(2) + eps
        rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2).pow(2) + (b2_y1 + b2_y2 - b1_y1 - b1_y2).pow(2)) / 4
        v = (4 / math.pi**2) * ((w2 / h2).atan() - (w1 / h1).atan()).pow(2)
        with torch.no_grad():
            alpha = v / (v - iou + (1 + eps))
        return iou - (rho2 / c2 + v * alpha)
    return iou


def _modules(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    nn = torch.nn

    def autopad(k: int, p: Any = None, d: int = 1) -> Any:
        if p is None:
            p = k // 2 if isinstance(k, int) else [x // 2 for x in k]
        return p

    class Conv(nn.Module):
        default_act = nn.SiLU()

        def __init__(self, c1, c2, k=1, s=1, p=None, g=1, d=1, act=True):  # noqa: ANN001
            super().__init__()
            self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
            self.bn = nn.BatchNorm2d(c2)
            self.act = (
                self.default_act
                if act is True
                else act
                if isinstance(act, nn.Module)
                else nn.Identity()
            )

        def forward(self, x: Any) -> Any:
            return self.act(self.bn(self.conv(x)))

    class DFL(nn.Module):
        def __init__(self, c1: int = 16) -> None:
            super().__init__()
            self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
            x = torch.arange(c1, dtype=torch.float)
            self.conv.weight.data[:] = nn.Parameter(x.view(1, c1, 1, 1))
            self.c1 = c1

        def forward(self, x: Any) -> Any:
            b, _, a = x.shape
            return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)

    class Detect(nn.Module):
        def __init__(self, nc: int, ch: tuple[int, ...]) -> None:
            super().__init__()
            self.nc = nc
            self.nl = len(ch)
            self.reg_max = REG_MAX
            self.no = nc + self.reg_max * 4
            self.stride = torch.tensor(STRIDES)
            c2, c3 = max((8, ch[0] // 4, self.reg_max * 4)), max(ch[0], min(self.nc, 100))
            self.cv2 = nn.ModuleList(
                nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * self.reg_max, 1))
                for x in ch
            )
            self.cv3 = nn.ModuleList(
                nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, self.nc, 1))
                for x in ch
            )
            self.dfl = DFL(self.reg_max) if self.reg_max > 1 else nn.Identity()

        def forward(self, x: list[Any]) -> Any:
            for i in range(self.nl):
                x[i] = torch.cat((self.cv2[i](x[i]), self.cv3[i](x[i])), 1)
            if self.training:
                return x
            shape = x[0].shape
            x_cat = torch.cat([xi.view(shape[0], self.no, -1) for xi in x], 2)
            self.anchors, self.strides = (
                x.transpose(0, 1) for x in make_anchors(torch, x, self.stride, 0.5)
            )
            box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
            dbox = dist2bbox(torch, self.dfl(box), self.anchors.unsqueeze(0), xywh=True, dim=1)
            dbox = dbox * self.strides
            return torch.cat((dbox, cls.sigmoid()), 1), x

        def bias_init(self) -> None:
            m = self
            for a, b, s in zip(m.cv2, m.cv3, m.stride):
                a[-1].bias.data[:] = 1.0
                b[-1].bias.data[: m.nc] = math.log(5 / m.nc / (640 / s) ** 2)

    class TinyYOLO(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.b0 = nn.Sequential(Conv(3, 4, 3, 2), Conv(4, 8, 3, 2))
            self.b1 = Conv(8, 8, 3, 2)
            self.detect = Detect(NC, (8, 8))
            self.detect.bias_init()
            self.args = SimpleNamespace(box=7.5, cls=0.5, dfl=1.5)

        def forward(self, x: Any) -> Any:
            p3 = self.b0(x)
            p4 = self.b1(p3)
            return self.detect([p3, p4])

    return {"TinyYOLO": TinyYOLO}


def make_model(torch_like: Any) -> Any:
    return _modules(torch_like)["TinyYOLO"]()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class TaskAlignedAssigner(nn.Module):
        def __init__(self, topk=13, num_classes=80, alpha=1.0, beta=6.0, eps=1e-9):  # noqa: ANN001
            super().__init__()
            self.topk = topk
            self.num_classes = num_classes
            self.alpha = alpha
            self.beta = beta
            self.eps = eps

        @torch.no_grad()
        def forward(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt):  # noqa: ANN001
            self.bs = pd_scores.shape[0]
            self.n_max_boxes = gt_bboxes.shape[1]
            mask_pos, align_metric, overlaps = self.get_pos_mask(
                pd_scores, pd_bboxes, gt_labels, gt_bboxes, anc_points, mask_gt
            )
            target_gt_idx, fg_mask, mask_pos = self.select_highest_overlaps(
                mask_pos, overlaps, self.n_max_boxes
            )
            target_labels, target_bboxes, target_scores = self.get_targets(
                gt_labels, gt_bboxes, target_gt_idx, fg_mask
            )
            align_metric *= mask_pos
            pos_align_metrics = align_metric.amax(dim=-1, keepdim=True)
            pos_overlaps = (overlaps * mask_pos).amax(dim=-1, keepdim=True)
            norm_align_metric = (
                (align_metric * pos_overlaps / (pos_align_metrics + self.eps))
                .amax(-2)
                .unsqueeze(-1)
            )
            target_scores = target_scores * norm_align_metric
            return target_labels, target_bboxes, target_scores, fg_mask.bool(), target_gt_idx

        def get_pos_mask(self, pd_scores, pd_bboxes, gt_labels, gt_bboxes, anc_points, mask_gt):  # noqa: ANN001
            mask_in_gts = self.select_candidates_in_gts(anc_points, gt_bboxes)
            align_metric, overlaps = self.get_box_metrics(
                pd_scores, pd_bboxes, gt_labels, gt_bboxes, mask_in_gts * mask_gt
            )
            mask_topk = self.select_topk_candidates(
                align_metric, topk_mask=mask_gt.expand(-1, -1, self.topk).bool()
            )
            mask_pos = mask_topk * mask_in_gts * mask_gt
            return mask_pos, align_metric, overlaps

        def get_box_metrics(self, pd_scores, pd_bboxes, gt_labels, gt_bboxes, mask_gt):  # noqa: ANN001
            na = pd_bboxes.shape[-2]
            mask_gt = mask_gt.bool()
            overlaps = torch.zeros(
                [self.bs, self.n_max_boxes, na], dtype=pd_bboxes.dtype, device=pd_bboxes.device
            )
            bbox_scores = torch.zeros(
                [self.bs, self.n_max_boxes, na], dtype=pd_scores.dtype, device=pd_scores.device
            )
            ind = torch.zeros([2, self.bs, self.n_max_boxes], dtype=torch.long)
            ind[0] = torch.arange(end=self.bs).view(-1, 1).expand(-1, self.n_max_boxes)
            ind[1] = gt_labels.squeeze(-1)
            bbox_scores[mask_gt] = pd_scores[ind[0], :, ind[1]][mask_gt]
            pd_boxes = pd_bboxes.unsqueeze(1).expand(-1, self.n_max_boxes, -1, -1)[mask_gt]
            gt_boxes = gt_bboxes.unsqueeze(2).expand(-1, -1, na, -1)[mask_gt]
            overlaps[mask_gt] = self.iou_calculation(gt_boxes, pd_boxes)
            align_metric = bbox_scores.pow(self.alpha) * overlaps.pow(self.beta)
            return align_metric, overlaps

        def iou_calculation(self, gt_bboxes: Any, pd_bboxes: Any) -> Any:
            return (
                bbox_iou(torch, gt_bboxes, pd_bboxes, xywh=False, CIoU=True).squeeze(-1).clamp_(0)
            )

        def select_topk_candidates(self, metrics, largest=True, topk_mask=None):  # noqa: ANN001
            topk_metrics, topk_idxs = torch.topk(metrics, self.topk, dim=-1, largest=largest)
            if topk_mask is None:
                topk_mask = (topk_metrics.max(-1, keepdim=True)[0] > self.eps).expand_as(topk_idxs)
            topk_idxs.masked_fill_(~topk_mask, 0)
            count_tensor = torch.zeros(metrics.shape, dtype=torch.int8, device=topk_idxs.device)
            ones = torch.ones_like(topk_idxs[:, :, :1], dtype=torch.int8, device=topk_idxs.device)
            for k in range(self.topk):
                count_tensor.scatter_add_(-1, topk_idxs[:, :, k : k + 1], ones)
            count_tensor.masked_fill_(count_tensor > 1, 0)
            return count_tensor.to(metrics.dtype)

        def get_targets(self, gt_labels, gt_bboxes, target_gt_idx, fg_mask):  # noqa: ANN001
            batch_ind = torch.arange(end=self.bs, dtype=torch.int64, device=gt_labels.device)[
                ..., None
            ]
            target_gt_idx = target_gt_idx + batch_ind * self.n_max_boxes
            target_labels = gt_labels.long().flatten()[target_gt_idx]
            target_bboxes = gt_bboxes.view(-1, gt_bboxes.shape[-1])[target_gt_idx]
            target_labels.clamp_(0)
            target_scores = torch.zeros(
                (target_labels.shape[0], target_labels.shape[1], self.num_classes),
                dtype=torch.int64,
                device=target_labels.device,
            )
            target_scores.scatter_(2, target_labels.unsqueeze(-1), 1)
            fg_scores_mask = fg_mask[:, :, None].repeat(1, 1, self.num_classes)
            target_scores = torch.where(fg_scores_mask > 0, target_scores, 0)
            return target_labels, target_bboxes, target_scores

        @staticmethod
        def select_candidates_in_gts(xy_centers: Any, gt_bboxes: Any, eps: float = 1e-9) -> Any:
            n_anchors = xy_centers.shape[0]
            bs, n_boxes, _ = gt_bboxes.shape
            lt, rb = gt_bboxes.view(-1, 1, 4).chunk(2, 2)
            bbox_deltas = torch.cat((xy_centers[None] - lt, rb - xy_centers[None]), dim=2).view(
                bs, n_boxes, n_anchors, -1
            )
            return bbox_deltas.amin(3).gt_(eps)

        @staticmethod
        def select_highest_overlaps(mask_pos: Any, overlaps: Any, n_max_boxes: int) -> Any:
            fg_mask = mask_pos.sum(-2)
            if fg_mask.max() > 1:
                mask_multi_gts = (fg_mask.unsqueeze(1) > 1).expand(-1, n_max_boxes, -1)
                max_overlaps_idx = overlaps.argmax(1)
                is_max_overlaps = torch.zeros(
                    mask_pos.shape, dtype=mask_pos.dtype, device=mask_pos.device
                )
                is_max_overlaps.scatter_(1, max_overlaps_idx.unsqueeze(1), 1)
                mask_pos = torch.where(mask_multi_gts, is_max_overlaps, mask_pos).float()
                fg_mask = mask_pos.sum(-2)
            target_gt_idx = mask_pos.argmax(-2)
            return target_gt_idx, fg_mask, mask_pos

    class DFLoss(nn.Module):
        def __init__(self, reg_max: int = 16) -> None:
            super().__init__()
            self.reg_max = reg_max

        def __call__(self, pred_dist: Any, target: Any) -> Any:
            target = target.clamp_(0, self.reg_max - 1 - 0.01)
            tl = target.long()
            tr = tl + 1
            wl = tr - target
            wr = 1 - wl
            return (
                F.cross_entropy(pred_dist, tl.view(-1), reduction="none").view(tl.shape) * wl
                + F.cross_entropy(pred_dist, tr.view(-1), reduction="none").view(tl.shape) * wr
            ).mean(-1, keepdim=True)

    class BboxLoss(nn.Module):
        def __init__(self, reg_max: int = 16) -> None:
            super().__init__()
            self.dfl_loss = DFLoss(reg_max) if reg_max > 1 else None

        def forward(self, pred_dist, pred_bboxes, anchor_points, target_bboxes, target_scores,  # noqa: ANN001
                    target_scores_sum, fg_mask):  # fmt: skip
            weight = target_scores.sum(-1)[fg_mask].unsqueeze(-1)
            iou = bbox_iou(
                torch, pred_bboxes[fg_mask], target_bboxes[fg_mask], xywh=False, CIoU=True
            )
            loss_iou = ((1.0 - iou) * weight).sum() / target_scores_sum
            target_ltrb = bbox2dist(torch, anchor_points, target_bboxes, self.dfl_loss.reg_max - 1)
            loss_dfl = (
                self.dfl_loss(
                    pred_dist[fg_mask].view(-1, self.dfl_loss.reg_max), target_ltrb[fg_mask]
                )
                * weight
            )
            loss_dfl = loss_dfl.sum() / target_scores_sum
            return loss_iou, loss_dfl

    class v8DetectionLoss:  # noqa: N801
        def __init__(self, model: Any, tal_topk: int = 10) -> None:
            device = next(model.parameters()).device
            h = model.args
            m = model.detect
            self.bce = nn.BCEWithLogitsLoss(reduction="none")
            self.hyp = h
            self.stride = m.stride
            self.nc = m.nc
            self.no = m.nc + m.reg_max * 4
            self.reg_max = m.reg_max
            self.device = device
            self.use_dfl = m.reg_max > 1
            self.assigner = TaskAlignedAssigner(
                topk=tal_topk, num_classes=self.nc, alpha=0.5, beta=6.0
            )
            self.bbox_loss = BboxLoss(m.reg_max).to(device)
            self.proj = torch.arange(m.reg_max, dtype=torch.float, device=device)

        def preprocess(self, targets: Any, batch_size: int, scale_tensor: Any) -> Any:
            nl, ne = targets.shape
            if nl == 0:
                out = torch.zeros(batch_size, 0, ne - 1, device=self.device)
            else:
                i = targets[:, 0]
                _, counts = i.unique(return_counts=True)
                counts = counts.to(dtype=torch.int32)
                out = torch.zeros(batch_size, counts.max(), ne - 1, device=self.device)
                for j in range(batch_size):
                    matches = i == j
                    if n := matches.sum():
                        out[j, :n] = targets[matches, 1:]
                out[..., 1:5] = xywh2xyxy(torch, out[..., 1:5].mul_(scale_tensor))
            return out

        def bbox_decode(self, anchor_points: Any, pred_dist: Any) -> Any:
            if self.use_dfl:
                b, a, c = pred_dist.shape
                pred_dist = (
                    pred_dist.view(b, a, 4, c // 4)
                    .softmax(3)
                    .matmul(self.proj.type(pred_dist.dtype))
                )
            return dist2bbox(torch, pred_dist, anchor_points, xywh=False)

        def __call__(self, preds: Any, batch: dict) -> tuple[Any, Any]:
            loss = torch.zeros(3, device=self.device)
            feats = preds[1] if isinstance(preds, tuple) else preds
            pred_distri, pred_scores = torch.cat(
                [xi.view(feats[0].shape[0], self.no, -1) for xi in feats], 2
            ).split((self.reg_max * 4, self.nc), 1)
            pred_scores = pred_scores.permute(0, 2, 1).contiguous()
            pred_distri = pred_distri.permute(0, 2, 1).contiguous()
            dtype = pred_scores.dtype
            batch_size = pred_scores.shape[0]
            imgsz = (
                torch.tensor(feats[0].shape[2:], device=self.device, dtype=dtype) * self.stride[0]
            )
            anchor_points, stride_tensor = make_anchors(torch, feats, self.stride, 0.5)
            targets = torch.cat(
                (batch["batch_idx"].view(-1, 1), batch["cls"].view(-1, 1), batch["bboxes"]), 1
            )
            targets = self.preprocess(
                targets.to(self.device), batch_size, scale_tensor=imgsz[[1, 0, 1, 0]]
            )
            gt_labels, gt_bboxes = targets.split((1, 4), 2)
            mask_gt = gt_bboxes.sum(2, keepdim=True).gt_(0.0)
            pred_bboxes = self.bbox_decode(anchor_points, pred_distri)
            _, target_bboxes, target_scores, fg_mask, _ = self.assigner(
                pred_scores.detach().sigmoid(),
                (pred_bboxes.detach() * stride_tensor).type(gt_bboxes.dtype),
                anchor_points * stride_tensor,
                gt_labels,
                gt_bboxes,
                mask_gt,
            )
            target_scores_sum = max(target_scores.sum(), 1)
            loss[1] = self.bce(pred_scores, target_scores.to(dtype)).sum() / target_scores_sum
            if fg_mask.sum():
                target_bboxes /= stride_tensor
                loss[0], loss[2] = self.bbox_loss(
                    pred_distri, pred_bboxes, anchor_points, target_bboxes, target_scores,
                    target_scores_sum, fg_mask,
                )  # fmt: skip
            loss[0] *= self.hyp.box
            loss[1] *= self.hyp.cls
            loss[2] *= self.hyp.dfl
            return loss.sum() * batch_size, loss.detach()

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    criterion = v8DetectionLoss(model, tal_topk=4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.937, nesterov=True)
    rng = np.random.default_rng(5)
    batch = {
        "batch_idx": as_tensor(torch, LABELS[:, 0]),
        "cls": as_tensor(torch, LABELS[:, 1]),
        "bboxes": as_tensor(torch, LABELS[:, 2:]),
    }
    values: list[float] = []
    for _ in range(STEPS):
        imgs = as_tensor(torch, rng.standard_normal((BS, 3, IMG, IMG)))
        preds = model(imgs)
        loss, loss_items = criterion(preds, batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
        optimizer.step()
        values += [loss.item(), *loss_items.tolist()]
    model.eval()
    with torch.no_grad():
        y, _ = model(as_tensor(torch, rng.standard_normal((1, 3, IMG, IMG))))
    values += [y[:, :4].sum().item(), y[:, 4:].max().item(), float(y.shape[-1])]
    return values
