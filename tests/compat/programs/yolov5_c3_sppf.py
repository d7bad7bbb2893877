"""YOLOv5 as ultralytics' ``models/common.py``, ``models/yolo.py``, ``utils/loss.py`` and
``utils/metrics.py`` write it, size-reduced.

The idioms: ``autopad`` and ``Conv`` (``default_act = nn.SiLU()`` as a class attribute,
``nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)``, BN, ``self.act
= self.default_act if act is True else ...``); ``Focus`` (``torch.cat((x[..., ::2, ::2], x[...,
1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), 1)``); ``Bottleneck`` / ``C3``
(``self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))``,
``self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))``); ``SPPF`` (one
``nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)`` applied three times under
``warnings.catch_warnings()``); ``nn.Upsample(None, 2, "nearest")`` and ``Concat``; the model's
``_forward_once`` over layers tagged with ``m.f`` / ``m.i`` and a ``self.save`` list; the stride
probe ``torch.tensor([s / x.shape[-2] for x in self.forward(torch.zeros(1, ch, s, s))])``,
``m.anchors /= m.stride.view(-1, 1, 1)`` and ``_initialize_biases`` (``b = mi.bias.view(m.na,
-1)``, ``b.data[:, 4] += math.log(8 / (640 / s) ** 2)``, ``mi.bias =
torch.nn.Parameter(b.view(-1), requires_grad=True)``); ``initialize_weights`` (BN ``eps =
1e-3``, ``momentum = 0.03``, ``m.inplace = True``); ``Detect`` (``register_buffer("anchors",
torch.tensor(anchors).float().view(self.nl, -1, 2))``, ``x[i].view(bs, self.na, self.no, ny,
nx).permute(0, 1, 3, 4, 2).contiguous()``, ``_make_grid`` with ``torch.meshgrid(y, x,
indexing="ij")``, ``torch.stack((xv, yv), 2).expand(shape) - 0.5``, the inference decode
``x[i].sigmoid().split((2, 2, self.nc + 1), 4)``, ``(xy * 2 + self.grid[i]) * self.stride[i]``,
``(wh * 2) ** 2 * self.anchor_grid[i]``); ``ComputeLoss.build_targets`` (``targets.repeat(na, 1,
1)`` with the anchor index, ``torch.max(r, 1 / r).max(2)[0] < anchor_t``, the neighbour-cell
offsets ``((gxy % 1 < g) & (gxy > 1)).T``, ``t.repeat((5, 1, 1))[j]``, ``gij = (gxy -
offsets).long()``, ``gj.clamp_(0, shape[2] - 1)``) and its ``__call__`` (``pi[b, a, gj,
gi].split((2, 2, 1, self.nc), 1)``, the v6 ``bbox_iou(pbox.T, tbox[i], x1y1x2y2=False,
CIoU=True)`` with ``torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)`` and ``alpha``
under ``torch.no_grad()``, the objectness target written into ``tobj[b, a, gj, gi]``,
``BCEWithLogitsLoss(pos_weight=...)``); ``smart_optimizer``'s three groups (``bn = tuple(v for
k, v in nn.__dict__.items() if "Norm" in k)``, ``named_parameters(recurse=0)``,
``optimizer.add_param_group``) with Nesterov SGD; the inference confidence filter.

Changed: the yaml-parsed yolov5s is a hand-listed seven-layer backbone of widths 8..32 with two
detection levels on 32x32 random NumPy images, three classes, two steps.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NC, IMG, BATCH, STEPS = 3, 32, 2, 2
ANCHORS = ([4, 5, 8, 10, 13, 9], [16, 30, 33, 23, 30, 61])
HYP = {"box": 0.05, "obj": 1.0, "cls": 0.5, "anchor_t": 4.0}


def autopad(k, p=None, d=1):
    # Pad to 'same' shape outputs
    if d > 1:
        k = d * (k - 1) + 1 if isinstance(k, int) else [d * (x - 1) + 1 for x in k]
    if p is None:
        p = k // 2 if isinstance(k, int) else [x // 2 for x in k]
    return p


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    class Conv(nn.Module):
        # Standard convolution with args(ch_in, ch_out, kernel, stride, padding, groups, dilation)
        default_act = nn.SiLU()

        def __init__(self, c1, c2, k=1, s=1, p=None, g=1, d=1, act=True):
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

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    class Focus(nn.Module):
        # Focus wh information into c-space
        def __init__(self, c1, c2, k=1, s=1, p=None, g=1, act=True):
            super().__init__()
            self.conv = Conv(c1 * 4, c2, k, s, p, g, act=act)

        def forward(self, x):  # x(b,c,w,h) -> y(b,4c,w/2,h/2)
            return self.conv(
                torch.cat(
                    (x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), 1
                )
            )

    class Bottleneck(nn.Module):
        def __init__(self, c1, c2, shortcut=True, g=1, e=0.5):
            super().__init__()
            c_ = int(c2 * e)  # hidden channels
            self.cv1 = Conv(c1, c_, 1, 1)
            self.cv2 = Conv(c_, c2, 3, 1, g=g)
            self.add = shortcut and c1 == c2

        def forward(self, x):
            return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))

    class C3(nn.Module):
        # CSP Bottleneck with 3 convolutions
        def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5):
            super().__init__()
            c_ = int(c2 * e)  # hidden channels
            self.cv1 = Conv(c1, c_, 1, 1)
            self.cv2 = Conv(c1, c_, 1, 1)
            self.cv3 = Conv(2 * c_, c2, 1)
            self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))

        def forward(self, x):
            return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))

    class SPPF(nn.Module):
        # Spatial Pyramid Pooling - Fast (SPPF) layer for YOLOv5 by Glenn Jocher
        def __init__(self, c1, c2, k=5):  # equivalent to SPP(k=(5, 9, 13))
            super().__init__()
            c_ = c1 // 2  # hidden channels
            self.cv1 = Conv(c1, c_, 1, 1)
            self.cv2 = Conv(c_ * 4, c2, 1, 1)
            self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

        def forward(self, x):
            x = self.cv1(x)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # suppress torch 1.9.0 max_pool2d() warning
                y1 = self.m(x)
                y2 = self.m(y1)
                return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))

    class Concat(nn.Module):
        def __init__(self, dimension=1):
            super().__init__()
            self.d = dimension

        def forward(self, x):
            return torch.cat(x, self.d)

    class Detect(nn.Module):
        stride = None  # strides computed during build
        dynamic = False  # force grid reconstruction
        export = False  # export mode

        def __init__(self, nc=80, anchors=(), ch=(), inplace=True):
            super().__init__()
            self.nc = nc  # number of classes
            self.no = nc + 5  # number of outputs per anchor
            self.nl = len(anchors)  # number of detection layers
            self.na = len(anchors[0]) // 2  # number of anchors
            self.grid = [torch.empty(0) for _ in range(self.nl)]  # init grid
            self.anchor_grid = [torch.empty(0) for _ in range(self.nl)]  # init anchor grid
            self.register_buffer("anchors", torch.tensor(anchors).float().view(self.nl, -1, 2))
            self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)
            self.inplace = inplace

        def forward(self, x):
            z = []  # inference output
            for i in range(self.nl):
                x[i] = self.m[i](x[i])  # conv
                bs, _, ny, nx = x[i].shape  # x(bs,255,20,20) to x(bs,3,20,20,85)
                x[i] = x[i].view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()

                if not self.training:  # inference
                    if self.dynamic or self.grid[i].shape[2:4] != x[i].shape[2:4]:
                        self.grid[i], self.anchor_grid[i] = self._make_grid(nx, ny, i)
                    xy, wh, conf = x[i].sigmoid().split((2, 2, self.nc + 1), 4)
                    xy = (xy * 2 + self.grid[i]) * self.stride[i]  # xy
                    wh = (wh * 2) ** 2 * self.anchor_grid[i]  # wh
                    y = torch.cat((xy, wh, conf), 4)
                    z.append(y.view(bs, self.na * nx * ny, self.no))
            return (
                x if self.training else (torch.cat(z, 1),) if self.export else (torch.cat(z, 1), x)
            )

        def _make_grid(self, nx=20, ny=20, i=0):
            d = self.anchors[i].device
            t = self.anchors[i].dtype
            shape = 1, self.na, ny, nx, 2  # grid shape
            y, x = torch.arange(ny, device=d, dtype=t), torch.arange(nx, device=d, dtype=t)
            yv, xv = torch.meshgrid(y, x, indexing="ij")
            grid = (
                torch.stack((xv, yv), 2).expand(shape) - 0.5
            )  # add grid offset, i.e. y = 2.0 * x - 0.5
            anchor_grid = (
                (self.anchors[i] * self.stride[i]).view((1, self.na, 1, 1, 2)).expand(shape)
            )
            return grid, anchor_grid

    class DetectionModel(nn.Module):
        def __init__(self, ch=3, nc=NC, anchors=ANCHORS):
            super().__init__()
            layers = [
                (-1, Focus(ch, 8, 3)),  # 0-P1/2
                (-1, Conv(8, 16, 3, 2)),  # 1-P2/4
                (-1, C3(16, 16, 1)),  # 2
                (-1, Conv(16, 32, 3, 2)),  # 3-P3/8
                (-1, C3(32, 32, 1)),  # 4
                (-1, SPPF(32, 32, 5)),  # 5
                (-1, nn.Upsample(None, 2, "nearest")),  # 6
                ([-1, 2], Concat(1)),  # 7 cat backbone P2
                (-1, C3(48, 16, 1, False)),  # 8 (P2/4-small)
                ([8, 5], Detect(nc, anchors, (16, 32))),  # 9 Detect(P2, P3)
            ]
            save = []
            for i, (f, m_) in enumerate(layers):
                m_.i, m_.f, m_.type = i, f, type(m_).__name__
                m_.np = sum(x.numel() for x in m_.parameters())  # number params
                save.extend(x % i for x in ([f] if isinstance(f, int) else f) if x != -1)
            self.model = nn.Sequential(*(m_ for _, m_ in layers))
            self.save = sorted(save)
            self.names = [str(i) for i in range(nc)]
            self.inplace = True

            m = self.model[-1]  # Detect()
            s = 64  # 2x min stride
            m.inplace = self.inplace
            m.stride = torch.tensor(
                [s / x.shape[-2] for x in self.forward(torch.zeros(1, ch, s, s))]
            )
            m.anchors /= m.stride.view(-1, 1, 1)
            self.stride = m.stride
            self._initialize_biases()
            initialize_weights(self)

        def forward(self, x):
            return self._forward_once(x)

        def _forward_once(self, x):
            y = []  # outputs
            for m in self.model:
                if m.f != -1:  # if not from previous layer
                    x = y[m.f] if isinstance(m.f, int) else [x if j == -1 else y[j] for j in m.f]
                x = m(x)  # run
                y.append(x if m.i in self.save else None)  # save output
            return x

        def _initialize_biases(self, cf=None):
            m = self.model[-1]  # Detect() module
            for mi, s in zip(m.m, m.stride, strict=True):  # from
                b = mi.bias.view(m.na, -1)  # conv.bias(255) to (3,85)
                b.data[:, 4] += math.log(8 / (640 / s) ** 2)  # obj (8 objects per 640 image)
                b.data[:, 5 : 5 + m.nc] += (
                    math.log(0.6 / (m.nc - 0.99999)) if cf is None else torch.log(cf / cf.sum())
                )  # cls
                mi.bias = torch.nn.Parameter(b.view(-1), requires_grad=True)

    def initialize_weights(model):
        for m in model.modules():
            t = type(m)
            if t is nn.Conv2d:
                pass  # nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif t is nn.BatchNorm2d:
                m.eps = 1e-3
                m.momentum = 0.03
            elif t in [nn.Hardswish, nn.LeakyReLU, nn.ReLU, nn.ReLU6, nn.SiLU]:
                m.inplace = True

    return DetectionModel()


def bbox_iou(torch_like, box1, box2, x1y1x2y2=True, GIoU=False, DIoU=False, CIoU=False, eps=1e-7):
    # Returns the IoU of box1 to box2. box1 is 4, box2 is nx4
    torch = torch_like
    box2 = box2.T

    # Get the coordinates of bounding boxes
    if x1y1x2y2:  # x1, y1, x2, y2 = box1
        b1_x1, b1_y1, b1_x2, b1_y2 = box1[0], box1[1], box1[2], box1[3]
        b2_x1, b2_y1, b2_x2, b2_y2 = box2[0], box2[1], box2[2], box2[3]
    else:  # transform from xywh to xyxy
        b1_x1, b1_x2 = box1[0] - box1[2] / 2, box1[0] + box1[2] / 2
        b1_y1, b1_y2 = box1[1] - box1[3] / 2, box1[1] + box1[3] / 2
        b2_x1, b2_x2 = box2[0] - box2[2] / 2, box2[0] + box2[2] / 2
        b2_y1, b2_y2 = box2[1] - box2[3] / 2, box2[1] + box2[3] / 2

    # Intersection area
    inter = (torch.min(b1_x2, b2_x2) - torch.max(b1_x1, b2_x1)).clamp(0) * (
        torch.min(b1_y2, b2_y2) - torch.max(b1_y1, b2_y1)
    ).clamp(0)

    # Union Area
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    union = w1 * h1 + w2 * h2 - inter + eps

    iou = inter / union
    if CIoU or DIoU or GIoU:
        cw = torch.max(b1_x2, b2_x2) - torch.min(
            b1_x1, b2_x1
        )  # convex (smallest enclosing box) width
        ch = torch.max(b1_y2, b2_y2) - torch.min(b1_y1, b2_y1)  # convex height
        if CIoU or DIoU:  # Distance or Complete IoU https://arxiv.org/abs/1911.08287v1
            c2 = cw**2 + ch**2 + eps  # convex diagonal squared
            rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2) ** 2 + (b2_y1 + b2_y2 - b1_y1 - b1_y2) ** 2) / 4
            if (
                CIoU
            ):  # https://github.com/Zzh-tju/DIoU-SSD-pytorch/blob/master/utils/box/box_utils.py#L47
                v = (4 / math.pi**2) * torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)
                with torch.no_grad():
                    alpha = v / (v - iou + (1 + eps))
                return iou - (rho2 / c2 + v * alpha)  # CIoU
            return iou - rho2 / c2  # DIoU
        c_area = cw * ch + eps  # convex area
        return iou - (c_area - union) / c_area  # GIoU https://arxiv.org/pdf/1902.09630.pdf
    return iou  # IoU


class ComputeLoss:
    def __init__(self, torch_like, model):
        torch = torch_like
        nn = torch.nn
        self.torch = torch
        self.device = next(model.parameters()).device  # get model device
        self.hyp = HYP
        BCEcls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0], device=self.device))
        BCEobj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0], device=self.device))
        self.cp, self.cn = 1.0, 0.0  # smooth_BCE(eps=0.0)
        m = model.model[-1]  # Detect() module
        self.balance = {3: [4.0, 1.0, 0.4]}.get(m.nl, [4.0, 1.0, 0.25, 0.06, 0.02])
        self.BCEcls, self.BCEobj, self.gr = BCEcls, BCEobj, 1.0
        self.na = m.na  # number of anchors
        self.nc = m.nc  # number of classes
        self.nl = m.nl  # number of layers
        self.anchors = m.anchors

    def __call__(self, p, targets):  # predictions, targets
        torch = self.torch
        lcls = torch.zeros(1, device=self.device)  # class loss
        lbox = torch.zeros(1, device=self.device)  # box loss
        lobj = torch.zeros(1, device=self.device)  # object loss
        tcls, tbox, indices, anchors = self.build_targets(p, targets)  # targets

        # Losses
        for i, pi in enumerate(p):  # layer index, layer predictions
            b, a, gj, gi = indices[i]  # image, anchor, gridy, gridx
            tobj = torch.zeros(pi.shape[:4], dtype=pi.dtype, device=self.device)  # target obj

            n = b.shape[0]  # number of targets
            if n:
                pxy, pwh, _, pcls = pi[b, a, gj, gi].split((2, 2, 1, self.nc), 1)

                # Regression
                pxy = pxy.sigmoid() * 2 - 0.5
                pwh = (pwh.sigmoid() * 2) ** 2 * anchors[i]
                pbox = torch.cat((pxy, pwh), 1)  # predicted box
                iou = bbox_iou(torch, pbox.T, tbox[i], x1y1x2y2=False, CIoU=True)
                lbox += (1.0 - iou).mean()  # iou loss

                # Objectness
                iou = iou.detach().clamp(0).type(tobj.dtype)
                if self.gr < 1:
                    iou = (1.0 - self.gr) + self.gr * iou
                tobj[b, a, gj, gi] = iou  # iou ratio

                # Classification
                if self.nc > 1:  # cls loss (only if multiple classes)
                    t = torch.full_like(pcls, self.cn, device=self.device)  # targets
                    t[range(n), tcls[i]] = self.cp
                    lcls += self.BCEcls(pcls, t)  # BCE

            obji = self.BCEobj(pi[..., 4], tobj)
            lobj += obji * self.balance[i]  # obj loss

        lbox *= self.hyp["box"]
        lobj *= self.hyp["obj"]
        lcls *= self.hyp["cls"]
        bs = tobj.shape[0]  # batch size

        return (lbox + lobj + lcls) * bs, torch.cat((lbox, lobj, lcls)).detach()

    def build_targets(self, p, targets):
        # Build targets for compute_loss(), input targets(image,class,x,y,w,h)
        torch = self.torch
        na, nt = self.na, targets.shape[0]  # number of anchors, targets
        tcls, tbox, indices, anch = [], [], [], []
        gain = torch.ones(7, device=self.device)  # normalized to gridspace gain
        ai = torch.arange(na, device=self.device).float().view(na, 1).repeat(1, nt)
        targets = torch.cat((targets.repeat(na, 1, 1), ai[..., None]), 2)  # append anchor indices

        g = 0.5  # bias
        off = (
            torch.tensor(
                [[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]],  # j,k,l,m
                device=self.device,
            ).float()
            * g
        )  # offsets

        for i in range(self.nl):
            anchors, shape = self.anchors[i], p[i].shape
            gain[2:6] = torch.tensor(shape)[[3, 2, 3, 2]]  # xyxy gain

            # Match targets to anchors
            t = targets * gain  # shape(3,n,7)
            if nt:
                # Matches
                r = t[..., 4:6] / anchors[:, None]  # wh ratio
                j = torch.max(r, 1 / r).max(2)[0] < self.hyp["anchor_t"]  # compare
                t = t[j]  # filter

                # Offsets
                gxy = t[:, 2:4]  # grid xy
                gxi = gain[[2, 3]] - gxy  # inverse
                j, k = ((gxy % 1 < g) & (gxy > 1)).T
                l, m = ((gxi % 1 < g) & (gxi > 1)).T
                j = torch.stack((torch.ones_like(j), j, k, l, m))
                t = t.repeat((5, 1, 1))[j]
                offsets = (torch.zeros_like(gxy)[None] + off[:, None])[j]
            else:
                t = targets[0]
                offsets = 0

            # Define
            bc, gxy, gwh, a = t.chunk(4, 1)  # (image, class), grid xy, grid wh, anchors
            a, (b, c) = a.long().view(-1), bc.long().T  # anchors, image, class
            gij = (gxy - offsets).long()
            gi, gj = gij.T  # grid indices

            # Append
            indices.append((b, a, gj.clamp_(0, shape[2] - 1), gi.clamp_(0, shape[3] - 1)))
            tbox.append(torch.cat((gxy - gij, gwh), 1))  # box
            anch.append(anchors[a])  # anchors
            tcls.append(c)  # class

        return tcls, tbox, indices, anch


def smart_optimizer(torch_like, model, lr=0.001, momentum=0.9, decay=1e-5):
    torch = torch_like
    nn = torch.nn
    g = [], [], []  # optimizer parameter groups
    bn = tuple(v for k, v in nn.__dict__.items() if "Norm" in k)  # normalization layers
    for v in model.modules():
        for p_name, p in v.named_parameters(recurse=0):
            if p_name == "bias":  # bias (no decay)
                g[2].append(p)
            elif p_name == "weight" and isinstance(v, bn):  # weight (no decay)
                g[1].append(p)
            else:
                g[0].append(p)  # weight (with decay)
    optimizer = torch.optim.SGD(g[2], lr=lr, momentum=momentum, nesterov=True)
    optimizer.add_param_group({"params": g[0], "weight_decay": decay})  # add g0 with weight_decay
    optimizer.add_param_group({"params": g[1], "weight_decay": 0.0})  # add g1 (BatchNorm2d weights)
    return optimizer, [len(x) for x in g]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    detect = model.model[-1]
    values: list[float] = detect.stride.tolist() + detect.anchors.flatten().tolist()
    values += [float(model.model[1].bn.eps), float(model.model[1].bn.momentum)]
    values += model.save + [float(model.model[4].m[0].add), float(model.model[8].m[0].add)]
    values += [float(m.np) for m in model.model]
    load_numpy_state(torch, model, init)

    optimizer, sizes = smart_optimizer(torch, model, lr=0.01, momentum=0.937, decay=5e-4)
    values += [float(s) for s in sizes]
    compute_loss = ComputeLoss(torch, model)
    rng = np.random.default_rng(7)
    imgs = as_tensor(torch, rng.random((BATCH, 3, IMG, IMG)))
    # image, class, x, y, w, h (normalised); centres kept clear of cell-boundary ties
    targets = as_tensor(
        torch,
        np.array(
            [
                [0, 1, 0.30, 0.40, 0.20, 0.30],
                [0, 2, 0.71, 0.62, 0.45, 0.35],
                [1, 0, 0.55, 0.27, 0.15, 0.10],
                [1, 1, 0.21, 0.83, 0.60, 0.52],
            ]
        ),
    )
    model.train()
    for _step in range(STEPS):
        pred = model(imgs)  # forward
        loss, loss_items = compute_loss(pred, targets)  # loss scaled by batch_size
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), *loss_items.tolist()]
        values += [float(p.shape[1] * p.shape[2]) for p in pred] + [float(pred[0].is_contiguous())]
        values += [detect.m[1].bias.grad.abs().sum().item()]
        values += [model.model[5].cv2.conv.weight.grad.norm().item()]
    tcls, tbox, indices, anch = compute_loss.build_targets(pred, targets)
    for i in range(len(indices)):
        values += [float(len(tcls[i]))] + tcls[i].tolist() + tbox[i].flatten().tolist()
        values += [v for ix in indices[i] for v in ix.tolist()] + anch[i].flatten().tolist()
    values += model.model[2].cv1.bn.running_mean.tolist()

    model.eval()
    with torch.no_grad():
        out, train_out = model(imgs)
    values += list(out.shape) + out.flatten()[::7].tolist()
    values += list(detect.grid[0].shape) + detect.grid[1].flatten()[:10].tolist()
    values += detect.anchor_grid[1][0, :, 0, 0].flatten().tolist()
    xc = out[..., 4] > 0.02  # candidates
    values += [float(xc.sum())] + out[0][xc[0]][:, :4].flatten().tolist()
    values += [float(train_out[1].is_contiguous())]
    return values
