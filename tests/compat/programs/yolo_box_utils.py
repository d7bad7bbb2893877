"""Detection utilities as the YOLOv3 (eriklindernoren/PyTorch-YOLOv3) and YOLOv5
(``utils/general.py``, ``utils/metrics.py``, ``utils/loss.py``) ports write them by hand,
size-reduced.

``xywh2xyxy`` (``y = x.clone() if isinstance(x, torch.Tensor) else np.copy(x)`` and four column
assignments), ``box_area`` and ``box_iou`` (``(torch.min(box1[:, None, 2:], box2[:, 2:]) -
torch.max(box1[:, None, :2], box2[:, :2])).clamp(0).prod(2)``), the greedy NMS loop of the
pre-torchvision ports (``order = scores.argsort(descending=True)``, ``while order.numel() > 0``,
``x1[order[1:]].clamp(min=x1[i])``, ``torch.nonzero(iou <= thresh).squeeze()``, ``order =
order[idx + 1]``) checked against the vectorised ``index_select`` form, confidence filtering with
``torch.where(conf > t)`` (one argument), ``masked_select``, ``max(1, keepdim=True)`` and
``topk``. ``bbox_iou`` with ``xywh`` chunks and the GIoU / DIoU / CIoU terms (``torch.atan(w2 /
h2)``, ``alpha`` computed under ``torch.no_grad()``). A tiny detection head (an ``nn.Conv2d``
emitting ``na * (5 + nc)`` channels, ``view(bs, na, no, ny, nx).permute(0, 1, 3, 4,
2).contiguous()``) trained as ``ComputeLoss`` does: ``pxy = ps[:, :2].sigmoid() * 2 - 0.5``,
``pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * anchors``, ``lbox += (1.0 - iou).mean()``, the
objectness target ``iou.detach().clamp(0).type(tobj.dtype)`` written into ``tobj[b, a, gj,
gi]``, ``nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))`` for objectness and classes,
``torch.full_like(pcls, cn)`` class targets, and SGD with Nesterov momentum.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

NA, NC, CH, GRID, BS, STEPS = 2, 3, 4, 4, 2, 4
ANCHORS = ((1.0, 1.5), (2.0, 1.0))


def xywh2xyxy(torch_like: Any, x: Any) -> Any:
    # Convert nx4 boxes from [x, y, w, h] to [x1, y1, x2, y2] where xy1=top-left, xy2=bottom-right
    y = x.clone() if isinstance(x, torch_like.Tensor) else np.copy(x)
    y[:, 0] = x[:, 0] - x[:, 2] / 2  # top left x
    y[:, 1] = x[:, 1] - x[:, 3] / 2  # top left y
    y[:, 2] = x[:, 0] + x[:, 2] / 2  # bottom right x
    y[:, 3] = x[:, 1] + x[:, 3] / 2  # bottom right y
    return y


def box_area(box: Any) -> Any:
    # box = 4xn
    return (box[2] - box[0]) * (box[3] - box[1])


def box_iou(torch_like: Any, box1: Any, box2: Any) -> Any:
    """IoU of every box1 with every box2 (xyxy), as an N x M matrix."""
    torch = torch_like
    area1 = box_area(box1.T)
    area2 = box_area(box2.T)
    inter = (
        (torch.min(box1[:, None, 2:], box2[:, 2:]) - torch.max(box1[:, None, :2], box2[:, :2]))
        .clamp(0)
        .prod(2)
    )
    return inter / (area1[:, None] + area2 - inter)


def bbox_iou(
    torch_like: Any,
    box1: Any,
    box2: Any,
    xywh: bool = True,
    GIoU: bool = False,
    DIoU: bool = False,
    CIoU: bool = False,
    eps: float = 1e-7,
) -> Any:
    torch = torch_like
    if xywh:  # transform from xywh to xyxy
        (x1, y1, w1, h1), (x2, y2, w2, h2) = box1.chunk(4, -1), box2.chunk(4, -1)
        w1_, h1_, w2_, h2_ = w1 / 2, h1 / 2, w2 / 2, h2 / 2
        b1_x1, b1_x2, b1_y1, b1_y2 = x1 - w1_, x1 + w1_, y1 - h1_, y1 + h1_
        b2_x1, b2_x2, b2_y1, b2_y2 = x2 - w2_, x2 + w2_, y2 - h2_, y2 + h2_
    else:  # x1, y1, x2, y2 = box1
        b1_x1, b1_y1, b1_x2, b1_y2 = box1.chunk(4, -1)
        b2_x1, b2_y1, b2_x2, b2_y2 = box2.chunk(4, -1)
        w1, h1 = b1_x2 - b1_x1, (b1_y2 - b1_y1).clamp(eps)
        w2, h2 = b2_x2 - b2_x1, (b2_y2 - b2_y1).clamp(eps)
    inter = (b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp(0) * (
        b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)
    ).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    if CIoU or DIoU or GIoU:
        cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)  # convex (smallest enclosing box) width
        ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)  # convex height
        if CIoU or DIoU:
            c2 = cw**2 + ch**2 + eps  # convex diagonal squared
            rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2) ** 2 + (b2_y1 + b2_y2 - b1_y1 - b1_y2) ** 2) / 4
            if CIoU:
                v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
                with torch.no_grad():
                    alpha = v / (v - iou + (1 + eps))
                return iou - (rho2 / c2 + v * alpha)  # CIoU
            return iou - rho2 / c2  # DIoU
        c_area = cw * ch + eps  # convex area
        return iou - (c_area - union) / c_area  # GIoU
    return iou


def nms(torch_like: Any, boxes: Any, scores: Any, thresh: float) -> Any:
    """Greedy NMS as the pre-torchvision ports loop it."""
    torch = torch_like
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        if order.numel() == 1:
            keep.append(order.item())
            break
        i = order[0].item()
        keep.append(i)
        xx1 = x1[order[1:]].clamp(min=x1[i])
        yy1 = y1[order[1:]].clamp(min=y1[i])
        xx2 = x2[order[1:]].clamp(max=x2[i])
        yy2 = y2[order[1:]].clamp(max=y2[i])
        inter = (xx2 - xx1).clamp(min=0) * (yy2 - yy1).clamp(min=0)
        iou = inter / (areas[i] + areas[order[1:]] - inter)
        idx = torch.nonzero(iou <= thresh).squeeze()
        if idx.numel() == 0:
            break
        order = order[idx + 1]
    return torch.LongTensor(keep)


def nms_vectorised(torch_like: Any, boxes: Any, scores: Any, thresh: float) -> Any:
    """The same NMS over the IoU matrix, with index_select of the sorted boxes."""
    torch = torch_like
    order = torch.argsort(scores, descending=True)
    ious = box_iou(torch, boxes.index_select(0, order), boxes.index_select(0, order))
    suppressed = torch.zeros(order.numel(), dtype=torch.bool)
    keep = []
    for i in range(order.numel()):
        if suppressed[i]:
            continue
        keep.append(order[i])
        suppressed |= ious[i] > thresh
    return torch.stack(keep)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Detect(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.no = NC + 5
            self.backbone = nn.Sequential(nn.Conv2d(3, CH, 3, padding=1), nn.SiLU())
            self.m = nn.Conv2d(CH, NA * self.no, 1)

        def forward(self, x: Any) -> Any:
            x = self.m(self.backbone(x))
            bs, _, ny, nx = x.shape
            return x.view(bs, NA, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()

    return Detect()


def detection_loss(torch_like: Any, p: Any, targets: Any, anchors: Any) -> tuple[Any, Any]:
    """YOLOv5's ComputeLoss on one level, targets as (image, class, anchor, gx, gy, w, h)."""
    torch = torch_like
    nn = torch.nn
    BCEcls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))
    BCEobj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))
    b, tcls, a = targets[:, 0].long(), targets[:, 1].long(), targets[:, 2].long()
    gxy, gwh = targets[:, 3:5], targets[:, 5:7]
    gij = gxy.long()
    gi, gj = gij.T
    tbox = torch.cat((gxy - gij, gwh), 1)
    tobj = torch.zeros(p.shape[:4], dtype=p.dtype)
    ps = p[b, a, gj, gi]
    pxy = ps[:, :2].sigmoid() * 2 - 0.5
    pwh = (ps[:, 2:4].sigmoid() * 2) ** 2 * anchors[a]
    pbox = torch.cat((pxy, pwh), 1)
    iou = bbox_iou(torch, pbox, tbox, CIoU=True).squeeze()
    lbox = (1.0 - iou).mean()
    iou = iou.detach().clamp(0).type(tobj.dtype)
    tobj[b, a, gj, gi] = iou
    t = torch.full_like(ps[:, 5:], 0.0)
    t[range(targets.shape[0]), tcls] = 1.0
    lcls = BCEcls(ps[:, 5:], t)
    lobj = BCEobj(p[..., 4], tobj)
    loss = 0.05 * lbox + 1.0 * lobj + 0.5 * lcls
    return loss * p.shape[0], torch.cat((lbox.reshape(1), lobj.reshape(1), lcls.reshape(1)))


def box_checks(torch_like: Any, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    values: list[float] = []
    xywh = rng.random((8, 4)) * [10, 10, 4, 4] + [0, 0, 1, 1]
    boxes = xywh2xyxy(torch, as_tensor(torch, xywh))
    np_boxes = xywh2xyxy(torch, xywh)
    values += [float(np.abs(boxes.numpy() - np_boxes).max())]
    scores = as_tensor(torch, rng.random(8))
    ious = box_iou(torch, boxes, boxes)
    values += ious.flatten().tolist()
    keep = nms(torch, boxes, scores, 0.3)
    keep_vec = nms_vectorised(torch, boxes, scores, 0.3)
    values += keep.tolist() + [float(keep.dtype == torch.int64), float(keep.equal(keep_vec))]

    conf = scores.clone()
    i = torch.where(conf > 0.4)
    values += [float(len(i)), *i[0].tolist()]
    values += torch.masked_select(conf, conf > 0.4).tolist()
    cls_scores = as_tensor(torch, rng.random((8, NC)))
    best, j = cls_scores.max(1, keepdim=True)
    values += best.flatten().tolist() + j.flatten().tolist()
    top, top_i = scores.topk(3)
    low, low_i = torch.topk(scores, 2, largest=False, sorted=True)
    values += top.tolist() + top_i.tolist() + low.tolist() + low_i.tolist()
    det = torch.cat((boxes, best, j.float()), 1)[conf > 0.4]
    values += [float(det.shape[0]), det.sum().item()]

    box1 = as_tensor(torch, xywh[:4], requires_grad=True)
    box2 = as_tensor(torch, xywh[4:])
    for kind in ({}, {"GIoU": True}, {"DIoU": True}, {"CIoU": True}):
        iou = bbox_iou(torch, box1, box2, **kind)
        (grad,) = torch.autograd.grad((1 - iou).sum(), box1)
        values += iou.flatten().tolist() + grad.flatten().tolist()
    xyxy = bbox_iou(torch, boxes[:4], boxes[4:], xywh=False, GIoU=True)
    values += xyxy.flatten().tolist()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    values = box_checks(torch, rng)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.937, nesterov=True)
    anchors = torch.tensor(ANCHORS)
    images = as_tensor(torch, rng.standard_normal((BS, 3, GRID, GRID)))
    targets = as_tensor(
        torch,
        np.array(
            [
                [0, 1, 0, 1.3, 2.6, 1.2, 1.4],
                [0, 2, 1, 3.5, 0.4, 2.2, 0.9],
                [1, 0, 1, 2.2, 2.1, 1.5, 1.1],
            ]
        ),
    )
    model.train()
    for _step in range(STEPS):
        optimizer.zero_grad()
        pred = model(images)
        loss, items = detection_loss(torch, pred, targets, anchors)
        loss.backward()
        optimizer.step()
        values += [loss.item(), *items.tolist(), model.m.bias.grad.abs().sum().item()]
    with torch.no_grad():
        pred = model(images)
        conf = pred[..., 4].sigmoid()
        values += [conf.max().item(), float(pred.is_contiguous())]
    return values


def check(values: list[float]) -> None:
    assert values[0] == 0.0  # tensor and NumPy xywh2xyxy agree
