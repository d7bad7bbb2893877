"""CornerNet as princeton-vl/CornerNet-Lite (``core/models/py_utils/modules.py``, ``losses.py``,
``utils.py``) writes it, with the corner pooling of open-mmlab/mmcv (``mmcv/ops/corner_pool.py``),
size-reduced: corner heatmaps, embeddings and offsets trained a few steps, then decoded.

The idioms: mmcv's ``CornerPool`` (the class tables ``pool_functions`` / ``cummax_dim_flip =
{'bottom': (2, False), 'left': (3, True), ...}``, the ``torch.__version__ != 'parrots'`` branch
with ``torch.onnx.is_in_onnx_export()``, ``x.flip(dim)``, ``pool_tensor, _ = torch.cummax(x,
dim=dim)``); CornerNet's ``convolution`` (``bias=not with_bn``, ``nn.Sequential()`` as the
identity when there is no BN) and the ``pool`` module (two pooled branches summed, ``p_bn1 +
bn1`` through ``nn.ReLU(inplace=True)``) subclassed as ``tl_pool`` / ``br_pool`` with
``super(tl_pool, self).__init__(dim, TopPool, LeftPool)``; the heads' bias init
``torch.nn.init.constant_(tl_heat[-1].bias, -2.19)``; ``_sigmoid`` (``torch.clamp(x.sigmoid_(),
min=1e-4, max=1-1e-4)``); ``_tranpose_and_gather_feat`` / ``_gather_feat`` (``feat.permute(0, 2,
3, 1).contiguous()``, ``ind.unsqueeze(2).expand(ind.size(0), ind.size(1), dim)``,
``feat.gather(1, ind)``); ``_focal_loss`` (``gt.eq(1)``, ``gt.lt(1)``, ``torch.pow(1 -
gt[neg_inds], 4)``, ``pos_pred.nelement() == 0``); ``_ae_loss`` (the pull term over
``tag0[mask].sum()``, the push term from ``mask.unsqueeze(1) + mask.unsqueeze(2)`` on a
``uint8`` mask, ``mask.eq(2)``, ``1 - torch.abs(dist)``, ``nn.functional.relu(dist,
inplace=True)``, ``dist / (num2 + 1e-4)``, ``dist[mask]``); ``_off_loss``
(``mask.unsqueeze(2).expand_as(gt_off)``, ``nn.functional.smooth_l1_loss(off, gt_off,
reduction="sum")``); ``CornerNet_Loss`` returning ``loss.unsqueeze(0)``; ``_decode`` (``_nms``
by ``nn.functional.max_pool2d(heat, (kernel, kernel), stride=1, padding=pad)`` and ``(hmax ==
heat).float()``, ``_topk``'s ``(topk_inds / (height * width)).int()`` and ``(topk_inds /
width).int().float()``, ``tl_ys.view(batch, K, 1).expand(batch, K, K)``, the ``K x K`` corner
pairs, ``torch.stack((tl_xs, tl_ys, br_xs, br_ys), dim=3)``, rejection by ``scores[cls_inds] =
-1`` boolean writes, ``torch.topk(scores, num_dets)`` and ``torch.cat([bboxes, scores,
tl_scores, br_scores, clses], dim=2)``).

Changed: the hourglass backbone is one strided ``convolution``; 256 / 128 channels -> 8 / 4, 80
classes -> 2, 128 x 128 heatmaps -> 8 x 8, 128 objects per image -> 2; ground truth from NumPy;
``K`` 100 -> 3 and ``num_dets`` 1000 -> 9 (all pairs), and the detections are reported as sums
so that the order of tied rejected pairs does not matter; the ``uint8`` mask indexing of the
(PyTorch 0.4) losses warns a deprecation on every use, silenced around the training step.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DIM, MID, N_CLS, H = 8, 4, 2, 8


def _corner_pool(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn

    class CornerPool(nn.Module):
        """Corner Pooling."""

        pool_functions = {
            "bottom": "BottomPoolFunction",
            "left": "LeftPoolFunction",
            "right": "RightPoolFunction",
            "top": "TopPoolFunction",
        }

        cummax_dim_flip = {
            "bottom": (2, False),
            "left": (3, True),
            "right": (3, False),
            "top": (2, True),
        }

        def __init__(self, mode: str):
            super().__init__()
            assert mode in self.pool_functions
            self.mode = mode

        def forward(self, x: Any) -> Any:
            if torch.__version__ != "parrots":
                if torch.onnx.is_in_onnx_export():
                    raise AssertionError("corner_pool only supports ONNX export with torch >= 1.7")
                dim, flip = self.cummax_dim_flip[self.mode]
                if flip:
                    x = x.flip(dim)
                pool_tensor, _ = torch.cummax(x, dim=dim)
                if flip:
                    pool_tensor = pool_tensor.flip(dim)
                return pool_tensor
            raise NotImplementedError("the compiled corner_pool kernels")

    class TopPool(CornerPool):
        def __init__(self) -> None:
            super().__init__("top")

    class LeftPool(CornerPool):
        def __init__(self) -> None:
            super().__init__("left")

    class BottomPool(CornerPool):
        def __init__(self) -> None:
            super().__init__("bottom")

    class RightPool(CornerPool):
        def __init__(self) -> None:
            super().__init__("right")

    return {"TopPool": TopPool, "LeftPool": LeftPool, "BottomPool": BottomPool,
            "RightPool": RightPool}  # fmt: skip


def _cornernet(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    pools = _corner_pool(torch_like)
    TopPool, LeftPool = pools["TopPool"], pools["LeftPool"]
    BottomPool, RightPool = pools["BottomPool"], pools["RightPool"]

    class convolution(nn.Module):  # noqa: N801 (as in the repository)
        def __init__(self, k, inp_dim, out_dim, stride=1, with_bn=True):  # noqa: ANN001
            super(convolution, self).__init__()  # noqa: UP008

            pad = (k - 1) // 2
            self.conv = nn.Conv2d(inp_dim, out_dim, (k, k), padding=(pad, pad),
                                  stride=(stride, stride), bias=not with_bn)  # fmt: skip
            self.bn = nn.BatchNorm2d(out_dim) if with_bn else nn.Sequential()
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x: Any) -> Any:
            conv = self.conv(x)
            bn = self.bn(conv)
            relu = self.relu(bn)
            return relu

    class pool(nn.Module):  # noqa: N801
        def __init__(self, dim, pool1, pool2):  # noqa: ANN001
            super(pool, self).__init__()  # noqa: UP008
            self.p1_conv1 = convolution(3, dim, MID)
            self.p2_conv1 = convolution(3, dim, MID)

            self.p_conv1 = nn.Conv2d(MID, dim, (3, 3), padding=(1, 1), bias=False)
            self.p_bn1 = nn.BatchNorm2d(dim)

            self.conv1 = nn.Conv2d(dim, dim, (1, 1), bias=False)
            self.bn1 = nn.BatchNorm2d(dim)
            self.relu1 = nn.ReLU(inplace=True)

            self.conv2 = convolution(3, dim, dim)

            self.pool1 = pool1()
            self.pool2 = pool2()

        def forward(self, x: Any) -> Any:
            # pool 1
            p1_conv1 = self.p1_conv1(x)
            pool1 = self.pool1(p1_conv1)

            # pool 2
            p2_conv1 = self.p2_conv1(x)
            pool2 = self.pool2(p2_conv1)

            # pool 1 + pool 2
            p_conv1 = self.p_conv1(pool1 + pool2)
            p_bn1 = self.p_bn1(p_conv1)

            conv1 = self.conv1(x)
            bn1 = self.bn1(conv1)
            relu1 = self.relu1(p_bn1 + bn1)

            conv2 = self.conv2(relu1)
            return conv2

    class tl_pool(pool):  # noqa: N801
        def __init__(self, dim):  # noqa: ANN001
            super(tl_pool, self).__init__(dim, TopPool, LeftPool)  # noqa: UP008

    class br_pool(pool):  # noqa: N801
        def __init__(self, dim):  # noqa: ANN001
            super(br_pool, self).__init__(dim, BottomPool, RightPool)  # noqa: UP008

    def _pred_mod(dim):  # noqa: ANN001, ANN202
        return nn.Sequential(convolution(3, DIM, DIM, with_bn=False), nn.Conv2d(DIM, dim, (1, 1)))

    class CornerNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre = convolution(3, 3, DIM, stride=2)
            self.tl_modules = nn.ModuleList([tl_pool(DIM)])
            self.br_modules = nn.ModuleList([br_pool(DIM)])
            self.tl_heats = nn.ModuleList([_pred_mod(N_CLS)])
            self.br_heats = nn.ModuleList([_pred_mod(N_CLS)])
            self.tl_tags = nn.ModuleList([_pred_mod(1)])
            self.br_tags = nn.ModuleList([_pred_mod(1)])
            self.tl_offs = nn.ModuleList([_pred_mod(2)])
            self.br_offs = nn.ModuleList([_pred_mod(2)])
            for tl_heat, br_heat in zip(self.tl_heats, self.br_heats, strict=True):
                torch.nn.init.constant_(tl_heat[-1].bias, -2.19)
                torch.nn.init.constant_(br_heat[-1].bias, -2.19)

        def forward(self, image: Any) -> list[list[Any]]:
            cnv = self.pre(image)
            tl_mod, br_mod = self.tl_modules[0](cnv), self.br_modules[0](cnv)
            return [
                [self.tl_heats[0](tl_mod)],
                [self.br_heats[0](br_mod)],
                [self.tl_tags[0](tl_mod)],
                [self.br_tags[0](br_mod)],
                [self.tl_offs[0](tl_mod)],
                [self.br_offs[0](br_mod)],
            ]

    return CornerNet


def _utils(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn

    def _gather_feat(feat, ind, mask=None):  # noqa: ANN001, ANN202
        dim = feat.size(2)
        ind = ind.unsqueeze(2).expand(ind.size(0), ind.size(1), dim)
        feat = feat.gather(1, ind)
        if mask is not None:
            mask = mask.unsqueeze(2).expand_as(feat)
            feat = feat[mask]
            feat = feat.view(-1, dim)
        return feat

    def _nms(heat, kernel=1):  # noqa: ANN001, ANN202
        pad = (kernel - 1) // 2

        hmax = nn.functional.max_pool2d(heat, (kernel, kernel), stride=1, padding=pad)
        keep = (hmax == heat).float()
        return heat * keep

    def _tranpose_and_gather_feat(feat, ind):  # noqa: ANN001, ANN202
        feat = feat.permute(0, 2, 3, 1).contiguous()
        feat = feat.view(feat.size(0), -1, feat.size(3))
        feat = _gather_feat(feat, ind)
        return feat

    def _topk(scores, K=20):  # noqa: ANN001, ANN202, N803
        batch, cat, height, width = scores.size()

        topk_scores, topk_inds = torch.topk(scores.view(batch, -1), K)

        topk_clses = (topk_inds / (height * width)).int()

        topk_inds = topk_inds % (height * width)
        topk_ys = (topk_inds / width).int().float()
        topk_xs = (topk_inds % width).int().float()
        return topk_scores, topk_inds, topk_clses, topk_ys, topk_xs

    def _decode(tl_heat, br_heat, tl_tag, br_tag, tl_regr, br_regr, K=100, kernel=1,
                ae_threshold=1, num_dets=1000):  # noqa: ANN001, ANN202, N803 # fmt: skip
        batch, cat, height, width = tl_heat.size()

        tl_heat = torch.sigmoid(tl_heat)
        br_heat = torch.sigmoid(br_heat)

        # perform nms on heatmaps
        tl_heat = _nms(tl_heat, kernel=kernel)
        br_heat = _nms(br_heat, kernel=kernel)

        tl_scores, tl_inds, tl_clses, tl_ys, tl_xs = _topk(tl_heat, K=K)
        br_scores, br_inds, br_clses, br_ys, br_xs = _topk(br_heat, K=K)

        tl_ys = tl_ys.view(batch, K, 1).expand(batch, K, K)
        tl_xs = tl_xs.view(batch, K, 1).expand(batch, K, K)
        br_ys = br_ys.view(batch, 1, K).expand(batch, K, K)
        br_xs = br_xs.view(batch, 1, K).expand(batch, K, K)

        if tl_regr is not None and br_regr is not None:
            tl_regr = _tranpose_and_gather_feat(tl_regr, tl_inds)
            tl_regr = tl_regr.view(batch, K, 1, 2)
            br_regr = _tranpose_and_gather_feat(br_regr, br_inds)
            br_regr = br_regr.view(batch, 1, K, 2)

            tl_xs = tl_xs + tl_regr[..., 0]
            tl_ys = tl_ys + tl_regr[..., 1]
            br_xs = br_xs + br_regr[..., 0]
            br_ys = br_ys + br_regr[..., 1]

        # all possible boxes based on top k corners (ignoring class)
        bboxes = torch.stack((tl_xs, tl_ys, br_xs, br_ys), dim=3)

        tl_tag = _tranpose_and_gather_feat(tl_tag, tl_inds)
        tl_tag = tl_tag.view(batch, K, 1)
        br_tag = _tranpose_and_gather_feat(br_tag, br_inds)
        br_tag = br_tag.view(batch, 1, K)
        dists = torch.abs(tl_tag - br_tag)

        tl_scores = tl_scores.view(batch, K, 1).expand(batch, K, K)
        br_scores = br_scores.view(batch, 1, K).expand(batch, K, K)
        scores = (tl_scores + br_scores) / 2

        # reject boxes based on classes
        tl_clses = tl_clses.view(batch, K, 1).expand(batch, K, K)
        br_clses = br_clses.view(batch, 1, K).expand(batch, K, K)
        cls_inds = tl_clses != br_clses

        # reject boxes based on distances
        dist_inds = dists > ae_threshold

        # reject boxes based on widths and heights
        width_inds = br_xs < tl_xs
        height_inds = br_ys < tl_ys

        scores[cls_inds] = -1
        scores[dist_inds] = -1
        scores[width_inds] = -1
        scores[height_inds] = -1

        scores = scores.view(batch, -1)
        scores, inds = torch.topk(scores, num_dets)
        scores = scores.unsqueeze(2)

        bboxes = bboxes.view(batch, -1, 4)
        bboxes = _gather_feat(bboxes, inds)

        clses = tl_clses.contiguous().view(batch, -1, 1)
        clses = _gather_feat(clses, inds).float()

        tl_scores = tl_scores.contiguous().view(batch, -1, 1)
        tl_scores = _gather_feat(tl_scores, inds).float()
        br_scores = br_scores.contiguous().view(batch, -1, 1)
        br_scores = _gather_feat(br_scores, inds).float()

        detections = torch.cat([bboxes, scores, tl_scores, br_scores, clses], dim=2)
        return detections

    return {"_tranpose_and_gather_feat": _tranpose_and_gather_feat, "_decode": _decode}


def _losses(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    _tranpose_and_gather_feat = _utils(torch_like)["_tranpose_and_gather_feat"]

    def _sigmoid(x):  # noqa: ANN001, ANN202
        return torch.clamp(x.sigmoid_(), min=1e-4, max=1 - 1e-4)

    def _ae_loss(tag0, tag1, mask):  # noqa: ANN001, ANN202
        num = mask.sum(dim=1, keepdim=True).float()
        tag0 = tag0.squeeze()
        tag1 = tag1.squeeze()

        tag_mean = (tag0 + tag1) / 2

        tag0 = torch.pow(tag0 - tag_mean, 2) / (num + 1e-4)
        tag0 = tag0[mask].sum()
        tag1 = torch.pow(tag1 - tag_mean, 2) / (num + 1e-4)
        tag1 = tag1[mask].sum()
        pull = tag0 + tag1

        mask = mask.unsqueeze(1) + mask.unsqueeze(2)
        mask = mask.eq(2)
        num = num.unsqueeze(2)
        num2 = (num - 1) * num
        dist = tag_mean.unsqueeze(1) - tag_mean.unsqueeze(2)
        dist = 1 - torch.abs(dist)
        dist = nn.functional.relu(dist, inplace=True)
        dist = dist - 1 / (num + 1e-4)
        dist = dist / (num2 + 1e-4)
        dist = dist[mask]
        push = dist.sum()
        return pull, push

    def _off_loss(off, gt_off, mask):  # noqa: ANN001, ANN202
        num = mask.float().sum()
        mask = mask.unsqueeze(2).expand_as(gt_off)

        off = off[mask]
        gt_off = gt_off[mask]

        off_loss = nn.functional.smooth_l1_loss(off, gt_off, reduction="sum")
        off_loss = off_loss / (num + 1e-4)
        return off_loss

    def _focal_loss(preds, gt):  # noqa: ANN001, ANN202
        pos_inds = gt.eq(1)
        neg_inds = gt.lt(1)

        neg_weights = torch.pow(1 - gt[neg_inds], 4)

        loss = 0
        for pred in preds:
            pos_pred = pred[pos_inds]
            neg_pred = pred[neg_inds]

            pos_loss = torch.log(pos_pred) * torch.pow(1 - pos_pred, 2)
            neg_loss = torch.log(1 - neg_pred) * torch.pow(neg_pred, 2) * neg_weights

            num_pos = pos_inds.float().sum()
            pos_loss = pos_loss.sum()
            neg_loss = neg_loss.sum()

            if pos_pred.nelement() == 0:
                loss = loss - neg_loss
            else:
                loss = loss - (pos_loss + neg_loss) / num_pos
        return loss

    class CornerNet_Loss(nn.Module):  # noqa: N801
        def __init__(self, pull_weight=1, push_weight=1, off_weight=1, focal_loss=_focal_loss):  # noqa: ANN001
            super(CornerNet_Loss, self).__init__()  # noqa: UP008

            self.pull_weight = pull_weight
            self.push_weight = push_weight
            self.off_weight = off_weight
            self.focal_loss = focal_loss
            self.ae_loss = _ae_loss
            self.off_loss = _off_loss

        def forward(self, outs: list[Any], targets: list[Any]) -> Any:
            tl_heats = outs[0]
            br_heats = outs[1]
            tl_tags = outs[2]
            br_tags = outs[3]
            tl_offs = outs[4]
            br_offs = outs[5]

            gt_tl_heat = targets[0]
            gt_br_heat = targets[1]
            gt_mask = targets[2]
            gt_tl_off = targets[3]
            gt_br_off = targets[4]
            gt_tl_ind = targets[5]
            gt_br_ind = targets[6]

            # focal loss
            focal_loss = 0

            tl_heats = [_sigmoid(t) for t in tl_heats]
            br_heats = [_sigmoid(b) for b in br_heats]

            focal_loss += self.focal_loss(tl_heats, gt_tl_heat)
            focal_loss += self.focal_loss(br_heats, gt_br_heat)

            # tag loss
            pull_loss = 0
            push_loss = 0
            tl_tags = [_tranpose_and_gather_feat(tl_tag, gt_tl_ind) for tl_tag in tl_tags]
            br_tags = [_tranpose_and_gather_feat(br_tag, gt_br_ind) for br_tag in br_tags]
            for tl_tag, br_tag in zip(tl_tags, br_tags, strict=True):
                pull, push = self.ae_loss(tl_tag, br_tag, gt_mask)
                pull_loss += pull
                push_loss += push
            pull_loss = self.pull_weight * pull_loss
            push_loss = self.push_weight * push_loss

            off_loss = 0
            tl_offs = [_tranpose_and_gather_feat(tl_off, gt_tl_ind) for tl_off in tl_offs]
            br_offs = [_tranpose_and_gather_feat(br_off, gt_br_ind) for br_off in br_offs]
            for tl_off, br_off in zip(tl_offs, br_offs, strict=True):
                off_loss += self.off_loss(tl_off, gt_tl_off, gt_mask)
                off_loss += self.off_loss(br_off, gt_br_off, gt_mask)
            off_loss = self.off_weight * off_loss

            loss = (focal_loss + pull_loss + push_loss + off_loss) / max(len(tl_heats), 1)
            return loss.unsqueeze(0)

    return CornerNet_Loss


def make_model(torch_like: Any) -> Any:
    return _cornernet(torch_like)()


def _targets(rng: np.random.Generator) -> list[np.ndarray]:
    batch, n_obj = 2, 2
    tl_heat = np.zeros((batch, N_CLS, H, H))
    br_heat = np.zeros((batch, N_CLS, H, H))
    mask = np.zeros((batch, n_obj), dtype=np.uint8)
    tl_off = np.zeros((batch, n_obj, 2))
    br_off = np.zeros((batch, n_obj, 2))
    tl_ind = np.zeros((batch, n_obj), dtype=np.int64)
    br_ind = np.zeros((batch, n_obj), dtype=np.int64)
    yy, xx = np.mgrid[0:H, 0:H]
    for b in range(batch):
        for k in range(n_obj if b == 0 else 1):
            c = int(rng.integers(0, N_CLS))
            x0, y0 = rng.uniform(0, H / 2 - 1, 2)
            x1, y1 = rng.uniform(H / 2, H - 1, 2)
            for heat, (x, y), off, ind in ((tl_heat, (x0, y0), tl_off, tl_ind),
                                           (br_heat, (x1, y1), br_off, br_ind)):  # fmt: skip
                xi, yi = int(x), int(y)
                g = np.exp(-((xx - xi) ** 2 + (yy - yi) ** 2) / 2.0)
                heat[b, c] = np.maximum(heat[b, c], g)
                off[b, k] = [x - xi, y - yi]
                ind[b, k] = yi * H + xi
            mask[b, k] = 1
    return [tl_heat, br_heat, mask, tl_off, br_off, tl_ind, br_ind]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    loss_fn = _losses(torch_like)()
    _decode = _utils(torch_like)["_decode"]
    optimizer = torch.optim.Adam(model.parameters(), lr=2.5e-3)
    rng = np.random.default_rng(8)
    values: list[float] = []
    for _step in range(3):
        images = as_tensor(torch, rng.normal(size=(2, 3, 2 * H, 2 * H)))
        t = _targets(rng)
        targets = [as_tensor(torch, a) for a in t]
        model.train()
        with warnings.catch_warnings():  # the repository indexes with its uint8 mask
            warnings.filterwarnings("ignore", "indexing with dtype torch.uint8", UserWarning)
            outs = model(images)
            loss = loss_fn(outs, targets)
            loss = loss.mean()
            optimizer.zero_grad()
            loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        outs = model(images)
        dets = _decode(outs[0][0], outs[1][0], outs[2][0], outs[3][0], outs[4][0], outs[5][0],
                       K=3, kernel=3, ae_threshold=0.5, num_dets=9)  # fmt: skip
    valid = dets[..., 4] > -1
    values += [float(valid.sum()), dets[..., 4].sum().item(), dets[..., 5:].sum().item(),
               (dets[..., :4] * valid.unsqueeze(2)).sum().item()]  # fmt: skip
    return values
