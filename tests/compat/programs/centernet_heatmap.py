"""CenterNet ("Objects as Points") as xingyizhou's ``CenterNet`` writes it
(``utils/image.py``, ``models/losses.py``, ``models/utils.py``, ``models/decode.py``,
``trains/ctdet.py``) with mmdetection's tensor port of the target drawing
(``models/utils/gaussian_target.py``), size-reduced.

The idioms: ``gaussian_radius`` (the three quadratics' roots with ``sqrt``, ``min(r1, r2,
r3)``), NumPy ``gaussian2D`` (``np.ogrid[-m : m + 1, -n : n + 1]``, ``h[h <
np.finfo(h.dtype).eps * h.max()] = 0``) and ``draw_umich_gaussian`` (``np.maximum(masked_heatmap,
masked_gaussian * k, out=masked_heatmap)`` on a slice of the ``float32`` target), and the tensor
``gen_gaussian_target`` (``torch.arange(-radius, radius + 1).view(1, -1)``, ``torch.finfo``,
``torch.max(masked_heatmap, masked_gaussian * k, out=out_heatmap[y - top : y + bottom, x - left
: x + right])`` writing into a view of the heatmap); the dataset's ``ind[k] = ct_int[1] *
output_w + ct_int[0]``, ``reg = ct - ct_int`` and ``reg_mask``; heads registered with
``self.__setattr__(head, fc)`` (``fc[-1].bias.data.fill_(-2.19)``, ``fill_fc_weights``);
``_sigmoid`` (``torch.clamp(x.sigmoid_(), min=1e-4, max=1 - 1e-4)``); the penalty-reduced focal
loss ``_neg_loss`` (``gt.eq(1).float()``, ``gt.lt(1).float()``, ``torch.pow(1 - gt, 4)``,
``torch.log(pred) * torch.pow(1 - pred, 2) * pos_inds``, ``if num_pos == 0``);
``_gather_feat`` / ``_transpose_and_gather_feat`` (``feat.permute(0, 2, 3, 1).contiguous()``,
``ind.unsqueeze(2).expand(ind.size(0), ind.size(1), dim)``, ``feat.gather(1, ind)``, the mask
path ``feat[mask].view(-1, dim)``); ``RegL1Loss`` (``mask.unsqueeze(2).expand_as(pred).float()``,
``F.l1_loss(pred * mask, target * mask, reduction="sum") / (mask.sum() + 1e-4)``); the
``CtdetLoss`` weighting and ``loss_stats`` dict; and ``ctdet_decode``: ``_nms`` (``hmax =
nn.functional.max_pool2d(heat, (kernel, kernel), stride=1, padding=pad)``, ``keep = (hmax ==
heat).float()``), ``_topk`` (``torch.topk(scores.view(batch, cat, -1), K)``, ``topk_inds %
(height * width)``, ``(topk_inds / width).int().float()``, a second ``topk`` over ``cat * K``,
``(topk_ind / K).int()``), box assembly with ``torch.cat`` on ``dim=2``.

Changed: the DLA-34 / hourglass backbones are two convs (down ratio 2) on 32x32 random NumPy
images, 3 classes, ``K = 4`` detections, two Adam steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

NUM_CLASSES, IMG, DOWN, BATCH, K, HEAD_CONV, STEPS = 3, 32, 2, 2, 4, 8, 2
OUT = IMG // DOWN
# per image: (x1, y1, x2, y2, class) in output-map pixels
BOXES = (
    ((1.0, 2.0, 7.5, 6.0, 0), (8.2, 9.1, 14.6, 15.3, 2), (3.3, 10.0, 6.1, 14.8, 0)),
    ((0.4, 0.6, 4.1, 3.2, 1), (9.0, 1.5, 15.5, 7.7, 1), (1.2, 3.4, 14.7, 15.9, 2)),
)
MAX_OBJS = 4


def gaussian_radius(det_size, min_overlap=0.7):
    height, width = det_size

    a1 = 1
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    sq1 = np.sqrt(b1**2 - 4 * a1 * c1)
    r1 = (b1 + sq1) / 2

    a2 = 4
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    sq2 = np.sqrt(b2**2 - 4 * a2 * c2)
    r2 = (b2 + sq2) / 2

    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    sq3 = np.sqrt(b3**2 - 4 * a3 * c3)
    r3 = (b3 + sq3) / 2
    return min(r1, r2, r3)


def gaussian2D_np(shape, sigma=1):
    m, n = [(ss - 1.0) / 2.0 for ss in shape]
    y, x = np.ogrid[-m : m + 1, -n : n + 1]

    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    return h


def draw_umich_gaussian(heatmap, center, radius, k=1):
    diameter = 2 * radius + 1
    gaussian = gaussian2D_np((diameter, diameter), sigma=diameter / 6)

    x, y = int(center[0]), int(center[1])

    height, width = heatmap.shape[0:2]

    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)

    masked_heatmap = heatmap[y - top : y + bottom, x - left : x + right]
    masked_gaussian = gaussian[radius - top : radius + bottom, radius - left : radius + right]
    if min(masked_gaussian.shape) > 0 and min(masked_heatmap.shape) > 0:  # TODO debug
        np.maximum(masked_heatmap, masked_gaussian * k, out=masked_heatmap)
    return heatmap


def gaussian2D(torch_like, radius, sigma=1, dtype=None, device="cpu"):
    """mmdet's tensor version: a (2 * radius + 1) square gaussian kernel."""
    torch = torch_like
    dtype = dtype or torch.float32
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device).view(1, -1)
    y = torch.arange(-radius, radius + 1, dtype=dtype, device=device).view(-1, 1)

    h = (-(x * x + y * y) / (2 * sigma * sigma)).exp()

    h[h < torch.finfo(h.dtype).eps * h.max()] = 0
    return h


def gen_gaussian_target(torch_like, heatmap, center, radius, k=1):
    torch = torch_like
    diameter = 2 * radius + 1
    gaussian_kernel = gaussian2D(
        torch, radius, sigma=diameter / 6, dtype=heatmap.dtype, device=heatmap.device
    )

    x, y = center

    height, width = heatmap.shape[:2]

    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)

    masked_heatmap = heatmap[y - top : y + bottom, x - left : x + right]
    masked_gaussian = gaussian_kernel[
        radius - top : radius + bottom, radius - left : radius + right
    ]
    out_heatmap = heatmap
    torch.max(
        masked_heatmap,
        masked_gaussian * k,
        out=out_heatmap[y - top : y + bottom, x - left : x + right],
    )

    return out_heatmap


def make_targets() -> dict[str, np.ndarray]:
    """CenterNet's ``CTDetDataset.__getitem__`` target arrays for every image, batched."""
    batch = {"hm": [], "reg_mask": [], "ind": [], "wh": [], "reg": [], "radius": []}
    for anns in BOXES:
        hm = np.zeros((NUM_CLASSES, OUT, OUT), dtype=np.float32)
        wh = np.zeros((MAX_OBJS, 2), dtype=np.float32)
        reg = np.zeros((MAX_OBJS, 2), dtype=np.float32)
        ind = np.zeros((MAX_OBJS), dtype=np.int64)
        reg_mask = np.zeros((MAX_OBJS), dtype=np.uint8)
        radii = np.zeros((MAX_OBJS), dtype=np.int64)
        for k, (*bbox, cls_id) in enumerate(anns):
            bbox = np.array(bbox, dtype=np.float32)
            h, w = bbox[3] - bbox[1], bbox[2] - bbox[0]
            if h > 0 and w > 0:
                radius = gaussian_radius((math.ceil(h), math.ceil(w)))
                radius = max(0, int(radius))
                ct = np.array([(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2], dtype=np.float32)
                ct_int = ct.astype(np.int32)
                draw_umich_gaussian(hm[cls_id], ct_int, radius)
                wh[k] = 1.0 * w, 1.0 * h
                ind[k] = ct_int[1] * OUT + ct_int[0]
                reg[k] = ct - ct_int
                reg_mask[k] = 1
                radii[k] = radius
        for key, value in zip(batch, (hm, reg_mask, ind, wh, reg, radii), strict=True):
            batch[key].append(value)
    return {key: np.stack(value) for key, value in batch.items()}


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    def fill_fc_weights(layers):
        for m in layers.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    class CenterNetTiny(nn.Module):
        def __init__(self, heads, head_conv):
            super().__init__()
            self.heads = heads
            self.base = nn.Sequential(
                nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
                nn.Conv2d(8, 8, kernel_size=3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
            )
            for head in self.heads:
                classes = self.heads[head]
                fc = nn.Sequential(
                    nn.Conv2d(8, head_conv, kernel_size=3, padding=1, bias=True),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(head_conv, classes, kernel_size=1, stride=1, padding=0, bias=True),
                )
                if "hm" in head:
                    fc[-1].bias.data.fill_(-2.19)
                else:
                    fill_fc_weights(fc)
                self.__setattr__(head, fc)

        def forward(self, x):
            x = self.base(x)
            ret = {}
            for head in self.heads:
                ret[head] = self.__getattr__(head)(x)
            return [ret]

    return CenterNetTiny({"hm": NUM_CLASSES, "wh": 2, "reg": 2}, HEAD_CONV)


def _sigmoid(torch_like, x):
    y = torch_like.clamp(x.sigmoid_(), min=1e-4, max=1 - 1e-4)
    return y


def _gather_feat(feat, ind, mask=None):
    dim = feat.size(2)
    ind = ind.unsqueeze(2).expand(ind.size(0), ind.size(1), dim)
    feat = feat.gather(1, ind)
    if mask is not None:
        mask = mask.unsqueeze(2).expand_as(feat)
        feat = feat[mask]
        feat = feat.view(-1, dim)
    return feat


def _transpose_and_gather_feat(feat, ind):
    feat = feat.permute(0, 2, 3, 1).contiguous()
    feat = feat.view(feat.size(0), -1, feat.size(3))
    feat = _gather_feat(feat, ind)
    return feat


def _neg_loss(torch_like, pred, gt):
    """Modified focal loss. Exactly the same as CornerNet."""
    torch = torch_like
    pos_inds = gt.eq(1).float()
    neg_inds = gt.lt(1).float()

    neg_weights = torch.pow(1 - gt, 4)

    loss = 0

    pos_loss = torch.log(pred) * torch.pow(1 - pred, 2) * pos_inds
    neg_loss = torch.log(1 - pred) * torch.pow(pred, 2) * neg_weights * neg_inds

    num_pos = pos_inds.float().sum()
    pos_loss = pos_loss.sum()
    neg_loss = neg_loss.sum()

    if num_pos == 0:
        loss = loss - neg_loss
    else:
        loss = loss - (pos_loss + neg_loss) / num_pos
    return loss


def reg_l1_loss(torch_like, output, mask, ind, target):
    F = torch_like.nn.functional
    pred = _transpose_and_gather_feat(output, ind)
    mask = mask.unsqueeze(2).expand_as(pred).float()
    loss = F.l1_loss(pred * mask, target * mask, reduction="sum")
    loss = loss / (mask.sum() + 1e-4)
    return loss


def ctdet_loss(torch_like, outputs, batch, opt):
    hm_loss, wh_loss, off_loss = 0, 0, 0
    for s in range(opt["num_stacks"]):
        output = outputs[s]
        output["hm"] = _sigmoid(torch_like, output["hm"])
        hm_loss += _neg_loss(torch_like, output["hm"], batch["hm"]) / opt["num_stacks"]
        wh_loss += (
            reg_l1_loss(torch_like, output["wh"], batch["reg_mask"], batch["ind"], batch["wh"])
            / opt["num_stacks"]
        )
        off_loss += (
            reg_l1_loss(torch_like, output["reg"], batch["reg_mask"], batch["ind"], batch["reg"])
            / opt["num_stacks"]
        )
    loss = opt["hm_weight"] * hm_loss + opt["wh_weight"] * wh_loss + opt["off_weight"] * off_loss
    loss_stats = {"loss": loss, "hm_loss": hm_loss, "wh_loss": wh_loss, "off_loss": off_loss}
    return loss, loss_stats


def _nms(torch_like, heat, kernel=3):
    pad = (kernel - 1) // 2
    hmax = torch_like.nn.functional.max_pool2d(heat, (kernel, kernel), stride=1, padding=pad)
    keep = (hmax == heat).float()
    return heat * keep


def _topk(torch_like, scores, K=40):
    torch = torch_like
    batch, cat, height, width = scores.size()

    topk_scores, topk_inds = torch.topk(scores.view(batch, cat, -1), K)

    topk_inds = topk_inds % (height * width)
    topk_ys = (topk_inds / width).int().float()
    topk_xs = (topk_inds % width).int().float()

    topk_score, topk_ind = torch.topk(topk_scores.view(batch, -1), K)
    topk_clses = (topk_ind / K).int()
    topk_inds = _gather_feat(topk_inds.view(batch, -1, 1), topk_ind).view(batch, K)
    topk_ys = _gather_feat(topk_ys.view(batch, -1, 1), topk_ind).view(batch, K)
    topk_xs = _gather_feat(topk_xs.view(batch, -1, 1), topk_ind).view(batch, K)

    return topk_score, topk_inds, topk_clses, topk_ys, topk_xs


def ctdet_decode(torch_like, heat, wh, reg=None, K=100):
    torch = torch_like
    batch, cat, height, width = heat.size()

    # heat = torch.sigmoid(heat)
    # perform nms on heatmaps
    heat = _nms(torch, heat)

    scores, inds, clses, ys, xs = _topk(torch, heat, K=K)
    if reg is not None:
        reg = _transpose_and_gather_feat(reg, inds)
        reg = reg.view(batch, K, 2)
        xs = xs.view(batch, K, 1) + reg[:, :, 0:1]
        ys = ys.view(batch, K, 1) + reg[:, :, 1:2]
    else:
        xs = xs.view(batch, K, 1) + 0.5
        ys = ys.view(batch, K, 1) + 0.5
    wh = _transpose_and_gather_feat(wh, inds)
    wh = wh.view(batch, K, 2)
    clses = clses.view(batch, K, 1).float()
    scores = scores.view(batch, K, 1)
    bboxes = torch.cat(
        [
            xs - wh[..., 0:1] / 2,
            ys - wh[..., 1:2] / 2,
            xs + wh[..., 0:1] / 2,
            ys + wh[..., 1:2] / 2,
        ],
        dim=2,
    )
    detections = torch.cat([bboxes, scores, clses], dim=2)

    return detections


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    targets = make_targets()
    values: list[float] = targets["radius"].flatten().tolist()
    values += [float(targets["hm"].sum()), float((targets["hm"] == 1).sum())]

    # mmdet's tensor drawing gives CenterNet's NumPy heatmaps
    hm_t = torch.zeros(BATCH, NUM_CLASSES, OUT, OUT)
    for i, anns in enumerate(BOXES):
        for k, (*bbox, cls_id) in enumerate(anns):
            ct_int = int((bbox[0] + bbox[2]) / 2), int((bbox[1] + bbox[3]) / 2)
            radius = int(targets["radius"][i, k])
            gen_gaussian_target(torch, hm_t[i, cls_id], ct_int, radius)
    values += [(hm_t - as_tensor(torch, targets["hm"]).double()).abs().max().item()]
    values += [float(hm_t.is_contiguous()), hm_t.sum().item()]
    kernel = gaussian2D(torch, 3, sigma=7 / 6, dtype=torch.float64)
    values += [kernel.sum().item(), float((kernel == 0).sum())]

    batch = {key: as_tensor(torch, value) for key, value in targets.items()}
    model = make_model(torch)
    values += model.hm[-1].bias.tolist()
    load_numpy_state(torch, model, init)
    opt = {"num_stacks": 1, "hm_weight": 1.0, "wh_weight": 0.1, "off_weight": 1.0}
    optimizer = torch.optim.Adam(model.parameters(), lr=1.25e-2)
    rng = np.random.default_rng(11)
    images = as_tensor(torch, rng.standard_normal((BATCH, 3, IMG, IMG)))
    model.train()
    for _step in range(STEPS):
        outputs = model(images)
        loss, loss_stats = ctdet_loss(torch, outputs, batch, opt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss_stats[k].item() for k in ("loss", "hm_loss", "wh_loss", "off_loss")]
        values += [model.wh[0].weight.grad.norm().item(), model.hm[-1].bias.grad.abs().sum().item()]

    # the gather with a mask (the ``feat[mask]`` path) and the decode
    feat = outputs[0]["wh"].detach().permute(0, 2, 3, 1).contiguous().view(BATCH, -1, 2)
    picked = _gather_feat(feat, batch["ind"], mask=batch["reg_mask"].bool())
    values += list(picked.shape) + picked.flatten().tolist()
    model.eval()
    with torch.no_grad():
        output = model(images)[-1]
        hm = output["hm"].sigmoid_()
        wh = output["wh"]
        reg = output["reg"]
        dets = ctdet_decode(torch, hm, wh, reg=reg, K=K)
        peaks = _nms(torch, hm)
    values += list(dets.shape) + dets.flatten().tolist()
    values += [float((peaks > 0).sum()), peaks.sum().item()]
    scores, inds, clses, ys, xs = _topk(torch, peaks, K=K)
    values += inds.flatten().tolist() + clses.flatten().tolist() + ys.flatten().tolist()
    values += [float(inds.dtype == torch.int64), float(clses.dtype == torch.int32)]
    return values


def check(values: list[float]) -> None:
    n = BATCH * MAX_OBJS
    assert values[n + 2] < 1e-6, values[n + 2]  # tensor and NumPy gaussians agree
