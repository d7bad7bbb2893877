"""Dense-prediction losses as torchvision (``torchvision/ops/focal_loss.py``,
``giou_loss.py``), segmentation_models_pytorch (``losses/dice.py``, ``tversky.py``,
``jaccard.py``, ``focal.py``) and the SSD ports' ``MultiBoxLoss`` write them, size-reduced, on
a small conv head trained for a few steps.

The idioms: ``sigmoid_focal_loss`` (``p = torch.sigmoid(inputs)``,
``F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")``, ``p_t = p * targets
+ (1 - p) * (1 - targets)``, ``ce_loss * ((1 - p_t) ** gamma)``, ``alpha_t``, the
``reduction`` switch raising ``ValueError``); a softmax focal loss through ``F.log_softmax``
and ``.gather(1, target.unsqueeze(1))``; soft Dice / Tversky / Jaccard scores with
``torch.sum(..., dim=dims)``, ``smooth`` and ``eps`` terms, ``clamp_min(eps)``,
``F.one_hot(...).permute(0, 3, 1, 2)`` and ``y_true.sum(dims) > 0`` masks; the generalized IoU
box loss (``torch.max``/``torch.min`` of corners, ``.clamp(min=0)``, ``torch.where(n > 0, ...)``
over ``unbind(dim=-1)`` coordinates); ``F.smooth_l1_loss(..., beta=1/9, reduction="sum")`` box
regression; SSD's hard-negative mining (``loss_c[pos] = 0``, ``loss_c.sort(1, descending=
True)``, ``loss_idx.sort(1)``, ``num_neg = torch.clamp(3 * num_pos, max=pos.size(1) - 1)``,
``idx_rank < num_neg.expand_as(idx_rank)``) and its ``topk`` form; ``nn.BCEWithLogitsLoss(
pos_weight=torch.tensor([...]))``; ``nn.CrossEntropyLoss(weight=..., ignore_index=255,
label_smoothing=0.1)`` on ``(N, C, H, W)`` logits; and ``torch.optim.SGD(momentum=0.9,
nesterov=True)`` on the combined loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N, C_IN, H, W, NUM_CLASSES, STEPS = 2, 3, 6, 6, 4, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class DenseHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(C_IN, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True)
            )
            self.cls_logits = nn.Conv2d(8, NUM_CLASSES, 3, padding=1)
            self.bbox_pred = nn.Conv2d(8, 4, 1)
            self.objectness = nn.Conv2d(8, 1, 1)

        def forward(self, x):
            f = self.stem(x)
            return self.cls_logits(f), self.bbox_pred(f), self.objectness(f)

    return DenseHead()


def losses(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    F = torch_like.nn.functional

    def sigmoid_focal_loss(inputs, targets, alpha: float = 0.25, gamma: float = 2,
                           reduction: str = "none"):  # fmt: skip
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
            raise ValueError(
                f"Invalid Value for arg 'reduction': '{reduction} \n Supported reduction modes:"
                " 'none', 'mean', 'sum'"
            )
        return loss

    def softmax_focal_loss(logits, target, gamma=2.0, ignore_index=255):
        logpt = F.log_softmax(logits, dim=1)
        valid = target != ignore_index
        safe = torch.where(valid, target, torch.zeros_like(target))
        logpt = logpt.gather(1, safe.unsqueeze(1)).squeeze(1)
        pt = logpt.exp()
        loss = -((1 - pt) ** gamma) * logpt
        return loss[valid].mean()

    def soft_dice_score(output, target, smooth=0.0, eps=1e-7, dims=None):
        assert output.size() == target.size()
        if dims is not None:
            intersection = torch.sum(output * target, dim=dims)
            cardinality = torch.sum(output + target, dim=dims)
        else:
            intersection = torch.sum(output * target)
            cardinality = torch.sum(output + target)
        return (2.0 * intersection + smooth) / (cardinality + smooth).clamp_min(eps)

    def soft_tversky_score(output, target, alpha, beta, smooth=0.0, eps=1e-7, dims=None):
        intersection = torch.sum(output * target, dim=dims)
        fp = torch.sum(output * (1.0 - target), dim=dims)
        fn = torch.sum((1 - output) * target, dim=dims)
        return (intersection + smooth) / (intersection + alpha * fp + beta * fn + smooth).clamp_min(
            eps
        )

    def soft_jaccard_score(output, target, smooth=0.0, eps=1e-7, dims=None):
        intersection = torch.sum(output * target, dim=dims)
        cardinality = torch.sum(output + target, dim=dims)
        union = cardinality - intersection
        return (intersection + smooth) / (union + smooth).clamp_min(eps)

    def multiclass_region_losses(y_pred, y_true, smooth=1.0, eps=1e-7):
        bs, num_classes = y_pred.size(0), y_pred.size(1)
        dims = (0, 2)
        y_pred = y_pred.log_softmax(dim=1).exp()
        y_true = y_true.view(bs, -1)
        y_pred = y_pred.view(bs, num_classes, -1)
        y_true = F.one_hot(y_true, num_classes)  # N, H*W -> N, H*W, C
        y_true = y_true.permute(0, 2, 1)  # N, C, H*W
        y_true = y_true.type_as(y_pred)
        mask = y_true.sum(dims) > 0
        dice = 1.0 - soft_dice_score(y_pred, y_true, smooth, eps, dims=dims)
        tversky = 1.0 - soft_tversky_score(y_pred, y_true, 0.3, 0.7, smooth, eps, dims=dims)
        jaccard = 1.0 - soft_jaccard_score(y_pred, y_true, smooth, eps, dims=dims)
        dice = dice * mask.to(dice.dtype)
        return dice.mean(), (tversky**1.5).mean(), jaccard.mean()

    def generalized_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
        x1, y1, x2, y2 = boxes1.unbind(dim=-1)
        x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
        xkis1 = torch.max(x1, x1g)
        ykis1 = torch.max(y1, y1g)
        xkis2 = torch.min(x2, x2g)
        ykis2 = torch.min(y2, y2g)
        intsctk = torch.zeros_like(x1)
        mask = (ykis2 > ykis1) & (xkis2 > xkis1)
        intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
        unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
        iouk = intsctk / (unionk + eps)
        xc1 = torch.min(x1, x1g)
        yc1 = torch.min(y1, y1g)
        xc2 = torch.max(x2, x2g)
        yc2 = torch.max(y2, y2g)
        area_c = (xc2 - xc1).clamp(min=0) * (yc2 - yc1).clamp(min=0)
        miouk = iouk - ((area_c - unionk) / (area_c + eps))
        loss = 1 - miouk
        return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss

    def hard_negative_mining(loss_c, pos, neg_pos_ratio=3):
        loss_c = loss_c.clone()
        loss_c[pos] = 0
        _, loss_idx = loss_c.sort(1, descending=True)
        _, idx_rank = loss_idx.sort(1)
        num_pos = pos.long().sum(1, keepdim=True)
        num_neg = torch.clamp(neg_pos_ratio * num_pos, max=pos.size(1) - 1)
        neg = idx_rank < num_neg.expand_as(idx_rank)
        return neg, num_pos

    return {
        "sigmoid_focal_loss": sigmoid_focal_loss,
        "softmax_focal_loss": softmax_focal_loss,
        "region": multiclass_region_losses,
        "giou": generalized_box_iou_loss,
        "mining": hard_negative_mining,
    }


def boxes(torch_like: Any, raw: Any) -> Any:
    """Well-formed (x1, y1, x2, y2) boxes from raw regressions."""
    torch = torch_like
    xy = raw[..., :2]
    wh = torch.exp(raw[..., 2:].clamp(max=4.0))
    return torch.cat([xy, xy + wh], dim=-1)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    L = losses(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    seg_ce = nn.CrossEntropyLoss(
        weight=torch.tensor([0.5, 1.0, 2.0, 1.5]), ignore_index=255, label_smoothing=0.1
    )
    obj_bce = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))
    values: list[float] = []
    try:
        L["sigmoid_focal_loss"](torch.zeros(2), torch.ones(2), reduction="avg")
    except ValueError as e:
        values.append(float("Invalid Value" in str(e)))

    rng = np.random.default_rng(4)
    for _step in range(STEPS):
        x = as_tensor(torch, rng.standard_normal((N, C_IN, H, W)))
        seg = rng.integers(0, NUM_CLASSES, (N, H, W))
        seg[0, :2, :2] = 255
        seg_t = as_tensor(torch, seg)
        obj_t = as_tensor(torch, (rng.random((N, 1, H, W)) < 0.2).astype(np.float64))
        gt_boxes = as_tensor(torch, rng.standard_normal((N, H * W, 4)) * 0.5)

        cls_logits, bbox_raw, obj = model(x)
        ce = seg_ce(cls_logits, seg_t)
        focal = L["softmax_focal_loss"](cls_logits, seg_t)
        safe_seg = torch.where(seg_t == 255, torch.zeros_like(seg_t), seg_t)
        dice, tversky, jaccard = L["region"](cls_logits, safe_seg)
        sfl = L["sigmoid_focal_loss"](obj, obj_t, reduction="mean")
        bce = obj_bce(obj, obj_t)

        pred = bbox_raw.flatten(2).transpose(1, 2)  # N, H*W, 4
        pos = obj_t.flatten(1) > 0
        giou = L["giou"](boxes(torch, pred[pos]), boxes(torch, gt_boxes[pos]), reduction="mean")
        smooth = F.smooth_l1_loss(pred[pos], gt_boxes[pos], beta=1 / 9, reduction="sum")
        smooth = smooth / max(1, int(pos.sum().item()))

        with torch.no_grad():
            loss_c = F.cross_entropy(cls_logits.detach(), safe_seg, reduction="none")
            loss_c = loss_c.flatten(1)  # N, H*W
        neg, num_pos = L["mining"](loss_c, pos)
        picked = (pos | neg).float()
        mined = F.cross_entropy(cls_logits, safe_seg, reduction="none").flatten(1) * picked
        mined = mined.sum() / num_pos.sum().clamp(min=1)
        num_neg = min(3 * int(pos.sum().item()), loss_c.numel() - 1)
        topk_vals, _ = loss_c.flatten().topk(num_neg)
        values += [float(neg.sum().item()), topk_vals.sum().item()]

        loss = ce + focal + dice + tversky + jaccard + sfl + bce + giou + smooth + 0.1 * mined
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [t.item() for t in (ce, focal, dice, tversky, jaccard, sfl, bce, giou, smooth,
                                      mined, loss)]  # fmt: skip
    values += [model.stem[1].running_mean.sum().item(), model.cls_logits.weight.sum().item()]
    return values
