"""YOLOv5's training utilities around a tiny backbone and head, as ultralytics/yolov5 writes them
(``utils/torch_utils.py``: ``ModelEMA``, ``de_parallel``, ``copy_attr``, ``smart_optimizer``,
``intersect_dicts``; ``utils/general.py``: ``make_divisible``, ``one_cycle``;
``utils/metrics.py``: ``bbox_iou``; ``models/common.py``: ``autopad``, ``Conv``,
``Bottleneck``, ``C3``, ``SPPF``; ``models/yolo.py``: ``initialize_weights``,
``_initialize_biases``; ``train.py``'s warm-up and step), size-reduced.

The idioms: ``Conv``'s class attribute ``default_act = nn.SiLU()`` shared by every layer and
``self.act = self.default_act if act is True else act if isinstance(act, nn.Module) else
nn.Identity()``; ``autopad``; ``C3``'s ``nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0)
for _ in range(n)))``; ``SPPF``'s ``nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)``
applied three times under ``warnings.catch_warnings()`` and ``torch.cat((x, y1, y2,
self.m(y2)), 1)``; ``initialize_weights`` (``t = type(m)``, ``t is nn.BatchNorm2d: m.eps = 1e-3;
m.momentum = 0.03``, ``t in [nn.Hardswish, nn.LeakyReLU, nn.ReLU, nn.ReLU6, nn.SiLU]: m.inplace =
True``, so the SiLUs run in place after the batch norms); ``_initialize_biases`` (``b =
mi.bias.view(m.na, -1)``, ``b.data[:, 4] += math.log(8 / (640 / s) ** 2)``, ``mi.bias =
torch.nn.Parameter(b.view(-1), requires_grad=True)``); ``make_divisible`` with ``math.ceil``;
``de_parallel`` / ``is_parallel`` (``type(model) in (nn.parallel.DataParallel,
nn.parallel.DistributedDataParallel)``); ``ModelEMA`` (``deepcopy(de_parallel(model)).eval()``,
``for p in self.ema.parameters(): p.requires_grad_(False)``, ``self.decay = lambda x: decay * (1
- math.exp(-x / tau))``, ``msd = de_parallel(model).state_dict()``, ``for k, v in
self.ema.state_dict().items(): if v.dtype.is_floating_point: v *= d; v += (1 - d) *
msd[k].detach()``, ``update_attr`` through ``copy_attr``'s ``b.__dict__.items()``); both
generations of optimizer groups: the old ``train.py`` walk (``hasattr(v, 'bias') and
isinstance(v.bias, nn.Parameter)``, ``isinstance(v, nn.BatchNorm2d)``) and ``smart_optimizer``'s
(``bn = tuple(v for k, v in nn.__dict__.items() if 'Norm' in k)``, ``v.named_parameters(
recurse=0)``), ``torch.optim.SGD(g[2], lr=lr, momentum=momentum, nesterov=True)`` /
``torch.optim.Adam(g0, lr=..., betas=(momentum, 0.999))`` and ``optimizer.add_param_group(
{'params': g[0], 'weight_decay': decay})``; ``lf = one_cycle(1, hyp['lrf'], epochs)`` in
``lr_scheduler.LambdaLR(optimizer, lr_lambda=lf)``; the warm-up ``accumulate = max(1,
np.interp(ni, xi, [1, nbs / batch_size]).round())`` and ``x['lr'] = np.interp(ni, xi,
[hyp['warmup_bias_lr'] if j == 0 else 0.0, x['initial_lr'] * lf(epoch)])``, ``x['momentum'] =
np.interp(...)`` (NumPy floats as learning rates); ``torch.amp.GradScaler('cuda',
enabled=False)`` with ``scaler.scale(loss).backward()``, ``scaler.unscale_(optimizer)``,
``torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)``, ``scaler.step`` /
``scaler.update()``; ``bbox_iou`` with CIoU (``box1.chunk(4, -1)``, ``minimum`` / ``maximum``,
``torch.atan(w2 / h2)``, ``alpha`` under ``torch.no_grad()``); and ``intersect_dicts`` with
``load_state_dict(csd, strict=False)`` for a model with another class count.

Changed: 16 x 16 images from NumPy, widths (8, 16) scaled by ``make_divisible``, one head of
two anchors over a 4 x 4 grid, a fixed set of target cells, a warm-up of 4 iterations over 6,
float64 throughout (no ``.half()``).
"""

from __future__ import annotations

import math
import warnings
from copy import deepcopy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


IMG, NA, NC, BATCH, ITERS, NW, NBS = 16, 2, 2, 4, 6, 4, 8
HYP = {
    "lr0": 0.01,
    "lrf": 0.01,
    "momentum": 0.937,
    "weight_decay": 0.0005,
    "warmup_momentum": 0.8,
    "warmup_bias_lr": 0.1,
}


def make_divisible(x: float, divisor: Any) -> int:
    # Returns nearest x divisible by divisor
    if hasattr(divisor, "max"):  # isinstance(divisor, torch.Tensor) in either library
        divisor = int(divisor.max())
    return math.ceil(x / divisor) * divisor


def autopad(k: Any, p: Any = None, d: int = 1) -> Any:
    # Pad to 'same' shape outputs
    if d > 1:
        k = d * (k - 1) + 1 if isinstance(k, int) else [d * (x - 1) + 1 for x in k]
    if p is None:
        p = k // 2 if isinstance(k, int) else [x // 2 for x in k]
    return p


def one_cycle(y1: float = 0.0, y2: float = 1.0, steps: int = 100) -> Any:
    # lambda function for sinusoidal ramp from y1 to y2 https://arxiv.org/pdf/1812.01187.pdf
    return lambda x: ((1 - math.cos(x * math.pi / steps)) / 2) * (y2 - y1) + y1


def _classes(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    nn = torch_like.nn

    class Conv(nn.Module):
        # Standard convolution with args(ch_in, ch_out, kernel, stride, padding, groups, ...)
        default_act = nn.SiLU()  # default activation

        def __init__(self, c1, c2, k=1, s=1, p=None, g=1, d=1, act=True) -> None:  # noqa: ANN001
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

    class Bottleneck(nn.Module):
        def __init__(self, c1, c2, shortcut=True, g=1, e=0.5) -> None:  # noqa: ANN001
            super().__init__()
            c_ = int(c2 * e)  # hidden channels
            self.cv1 = Conv(c1, c_, 1, 1)
            self.cv2 = Conv(c_, c2, 3, 1, g=g)
            self.add = shortcut and c1 == c2

        def forward(self, x: Any) -> Any:
            return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))

    class C3(nn.Module):
        # CSP Bottleneck with 3 convolutions
        def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5) -> None:  # noqa: ANN001
            super().__init__()
            c_ = int(c2 * e)  # hidden channels
            self.cv1 = Conv(c1, c_, 1, 1)
            self.cv2 = Conv(c1, c_, 1, 1)
            self.cv3 = Conv(2 * c_, c2, 1)  # optional act=FReLU(c2)
            self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, e=1.0) for _ in range(n)))

        def forward(self, x: Any) -> Any:
            return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))

    class SPPF(nn.Module):
        # Spatial Pyramid Pooling - Fast (SPPF) layer for YOLOv5 by Glenn Jocher
        def __init__(self, c1, c2, k=5) -> None:  # noqa: ANN001
            super().__init__()
            c_ = c1 // 2  # hidden channels
            self.cv1 = Conv(c1, c_, 1, 1)
            self.cv2 = Conv(c_ * 4, c2, 1, 1)
            self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

        def forward(self, x: Any) -> Any:
            x = self.cv1(x)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # suppress torch 1.9.0 max_pool2d() warning
                y1 = self.m(x)
                y2 = self.m(y1)
                return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))

    class Detect(nn.Module):
        def __init__(self, nc: int, na: int, ch: int, stride: float) -> None:
            super().__init__()
            self.nc = nc
            self.no = nc + 5  # number of outputs per anchor
            self.na = na
            self.stride = torch.tensor([stride])
            self.m = nn.ModuleList([nn.Conv2d(ch, self.no * self.na, 1)])

        def forward(self, x: Any) -> Any:
            x = self.m[0](x)
            bs, _, ny, nx = x.shape  # x(bs,14,4,4) to x(bs,2,4,4,7)
            return x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()

    class Model(nn.Module):
        def __init__(self, nc: int = NC, width_multiple: float = 0.5) -> None:
            super().__init__()
            c1 = make_divisible(16 * width_multiple, 8)
            c2 = make_divisible(32 * width_multiple, torch.tensor([4, 8]))
            self.nc = nc
            self.names = [f"class{i}" for i in range(nc)]
            self.model = nn.Sequential(
                Conv(3, c1, 3, 2),
                C3(c1, c1, n=1),
                Conv(c1, c2, 3, 2),
                SPPF(c2, c2, k=5),
                Detect(nc, NA, c2, stride=4.0),
            )
            self.stride = self.model[-1].stride
            initialize_weights(self)
            self._initialize_biases()

        def forward(self, x: Any) -> Any:
            return self.model(x)

        def _initialize_biases(self, cf: Any = None) -> None:
            m = self.model[-1]  # Detect() module
            for mi, s in zip(m.m, m.stride):  # from
                b = mi.bias.view(m.na, -1)  # conv.bias(14) to (2,7)
                b.data[:, 4] += math.log(8 / (640 / s) ** 2)  # obj (8 objects per 640 image)
                b.data[:, 5 : 5 + m.nc] += (
                    math.log(0.6 / (m.nc - 0.99999)) if cf is None else torch.log(cf / cf.sum())
                )  # cls
                mi.bias = torch.nn.Parameter(b.view(-1), requires_grad=True)

    def initialize_weights(model: Any) -> None:
        for m in model.modules():
            t = type(m)
            if t is nn.Conv2d:
                pass  # nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif t is nn.BatchNorm2d:
                m.eps = 1e-3
                m.momentum = 0.03
            elif t in [nn.Hardswish, nn.LeakyReLU, nn.ReLU, nn.ReLU6, nn.SiLU]:
                m.inplace = True

    return {"Model": Model}


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["Model"]()


def _utils(torch_like: Any) -> dict[str, Any]:
    torch = torch_like
    nn = torch_like.nn

    def is_parallel(model: Any) -> bool:
        # Returns True if model is of type DP or DDP
        return type(model) in (nn.parallel.DataParallel, nn.parallel.DistributedDataParallel)

    def de_parallel(model: Any) -> Any:
        # De-parallelize a model: returns single-GPU model if model is of type DP or DDP
        return model.module if is_parallel(model) else model

    def copy_attr(a: Any, b: Any, include: Any = (), exclude: Any = ()) -> None:
        # Copy attributes from b to a, options to only include [...] and to exclude [...]
        for k, v in b.__dict__.items():
            if (len(include) and k not in include) or k.startswith("_") or k in exclude:
                continue
            else:
                setattr(a, k, v)

    class ModelEMA:
        """Updated Exponential Moving Average (EMA) from https://github.com/rwightman/pytorch-image-models"""

        def __init__(self, model: Any, decay: float = 0.9999, tau: float = 2000, updates: int = 0):
            # Create EMA
            self.ema = deepcopy(de_parallel(model)).eval()  # FP32 EMA
            self.updates = updates  # number of EMA updates
            self.decay = lambda x: decay * (1 - math.exp(-x / tau))  # decay exponential ramp
            for p in self.ema.parameters():
                p.requires_grad_(False)

        def update(self, model: Any) -> None:
            # Update EMA parameters
            self.updates += 1
            d = self.decay(self.updates)

            msd = de_parallel(model).state_dict()  # model state_dict
            for k, v in self.ema.state_dict().items():
                if v.dtype.is_floating_point:  # true for FP16 and FP32
                    v *= d
                    v += (1 - d) * msd[k].detach()

        def update_attr(
            self, model: Any, include: Any = (), exclude: Any = ("process_group", "reducer")
        ) -> None:
            # Update EMA attributes
            copy_attr(self.ema, model, include, exclude)

    def smart_optimizer(model: Any, name: str = "Adam", lr=0.001, momentum=0.9, decay=1e-5):  # noqa: ANN001
        # YOLOv5 3-param group optimizer: 0) weights with decay, 1) weights no decay, 2) biases
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

        if name == "Adam":
            optimizer = torch.optim.Adam(g[2], lr=lr, betas=(momentum, 0.999))
        elif name == "AdamW":
            optimizer = torch.optim.AdamW(g[2], lr=lr, betas=(momentum, 0.999), weight_decay=0.0)
        elif name == "RMSProp":
            optimizer = torch.optim.RMSprop(g[2], lr=lr, momentum=momentum)
        elif name == "SGD":
            optimizer = torch.optim.SGD(g[2], lr=lr, momentum=momentum, nesterov=True)
        else:
            raise NotImplementedError(f"Optimizer {name} not implemented.")

        optimizer.add_param_group({"params": g[0], "weight_decay": decay})  # add g0 with decay
        optimizer.add_param_group({"params": g[1], "weight_decay": 0.0})  # add g1 (BN weights)
        return optimizer

    def legacy_optimizer(model: Any, hyp: dict) -> Any:
        g0, g1, g2 = [], [], []  # optimizer parameter groups
        for v in model.modules():
            if hasattr(v, "bias") and isinstance(v.bias, nn.Parameter):  # bias
                g2.append(v.bias)
            if isinstance(v, nn.BatchNorm2d):  # weight (no decay)
                g0.append(v.weight)
            elif hasattr(v, "weight") and isinstance(v.weight, nn.Parameter):  # weight (decay)
                g1.append(v.weight)
        optimizer = torch.optim.Adam(g0, lr=hyp["lr0"], betas=(hyp["momentum"], 0.999))
        optimizer.add_param_group({"params": g1, "weight_decay": hyp["weight_decay"]})
        optimizer.add_param_group({"params": g2})  # add g2 (biases)
        return optimizer

    def intersect_dicts(da: dict, db: dict, exclude: Any = ()) -> dict:
        # Dictionary intersection of matching keys and shapes, omitting 'exclude' keys
        return {
            k: v
            for k, v in da.items()
            if k in db and all(x not in k for x in exclude) and v.shape == db[k].shape
        }

    return {
        "de_parallel": de_parallel,
        "ModelEMA": ModelEMA,
        "smart_optimizer": smart_optimizer,
        "legacy_optimizer": legacy_optimizer,
        "intersect_dicts": intersect_dicts,
    }


def bbox_iou(
    torch_like: Any, box1: Any, box2: Any, xywh=True, GIoU=False, DIoU=False, CIoU=False, eps=1e-7
):  # noqa: ANN001
    torch = torch_like
    # Get the coordinates of bounding boxes
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

    # Intersection area
    inter = (b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp(0) * (
        b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)
    ).clamp(0)

    # Union Area
    union = w1 * h1 + w2 * h2 - inter + eps

    # IoU
    iou = inter / union
    if CIoU or DIoU or GIoU:
        cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)  # convex (smallest enclosing box) width
        ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)  # convex height
        if CIoU or DIoU:  # Distance or Complete IoU https://arxiv.org/abs/1911.08287v1
            c2 = cw**2 + ch**2 + eps  # convex diagonal squared
            rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2) ** 2 + (b2_y1 + b2_y2 - b1_y1 - b1_y2) ** 2) / 4
            if (
                CIoU
            ):  # https://github.com/Zzh-tju/DIoU-SSD-pytorch/blob/master/utils/box/box_utils.py#L47
                v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
                with torch.no_grad():
                    alpha = v / (v - iou + (1 + eps))
                return iou - (rho2 / c2 + v * alpha)  # CIoU
            return iou - rho2 / c2  # DIoU
        c_area = cw * ch + eps  # convex area
        return iou - (c_area - union) / c_area  # GIoU https://arxiv.org/pdf/1902.09630.pdf
    return iou  # IoU


def compute_loss(torch_like: Any, p: Any, targets: dict) -> tuple[Any, Any]:
    """A cut-down ``ComputeLoss``: CIoU box loss and BCE class loss at the target cells,
    BCE objectness against the detached IoU everywhere."""
    torch = torch_like
    nn = torch_like.nn
    BCEcls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))
    BCEobj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))
    lcls = torch.zeros(1)  # class loss
    lbox = torch.zeros(1)  # box loss
    lobj = torch.zeros(1)  # object loss
    b, a, gj, gi = targets["indices"]
    tobj = torch.zeros(p.shape[:4], dtype=p.dtype)
    pxy, pwh, _, pcls = p[b, a, gj, gi].split((2, 2, 1, NC), 1)
    pxy = pxy.sigmoid() * 2 - 0.5
    pwh = (pwh.sigmoid() * 2) ** 2 * targets["anchors"]
    pbox = torch.cat((pxy, pwh), 1)
    iou = bbox_iou(torch, pbox, targets["tbox"], CIoU=True).squeeze()
    lbox += (1.0 - iou).mean()  # iou loss
    tobj[b, a, gj, gi] = iou.detach().clamp(0).type(tobj.dtype)
    t = torch.full_like(pcls, 0.0)
    t[range(b.shape[0]), targets["tcls"]] = 1.0
    lcls += BCEcls(pcls, t)  # BCE
    lobj += BCEobj(p[..., 4], tobj)
    bs = tobj.shape[0]
    return (lbox * 0.05 + lobj + lcls * 0.5) * bs, torch.cat((lbox, lobj, lcls)).detach()


def make_targets(torch_like: Any, rng: np.random.Generator) -> dict:
    n = 5
    b = rng.integers(0, BATCH, n)
    a = rng.integers(0, NA, n)
    gj, gi = rng.integers(0, 4, n), rng.integers(0, 4, n)
    tbox = np.concatenate([rng.uniform(0, 1, (n, 2)), rng.uniform(0.5, 2.5, (n, 2))], 1)
    anchors = np.array([[1.0, 1.5], [2.0, 1.0]])[a]
    return {
        "indices": tuple(as_tensor(torch_like, v) for v in (b, a, gj, gi)),
        "tbox": as_tensor(torch_like, tbox),
        "anchors": as_tensor(torch_like, anchors),
        "tcls": as_tensor(torch_like, rng.integers(0, NC, n)),
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    utils = _utils(torch)
    rng = np.random.default_rng(8)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = [make_divisible(13, 8), make_divisible(30, torch.tensor([4, 16]))]
    values += [float(utils["de_parallel"](model) is model)]
    values += [float(m.inplace) for m in model.modules() if isinstance(m, nn.SiLU)]
    values += [model.model[0].bn.eps, model.model[0].bn.momentum]
    values += model.model[-1].m[0].bias.tolist()

    legacy = utils["legacy_optimizer"](model, HYP)
    values += [len(g["params"]) for g in legacy.param_groups]
    optimizer = utils["smart_optimizer"](
        model, "SGD", HYP["lr0"], HYP["momentum"], HYP["weight_decay"]
    )
    values += [len(g["params"]) for g in optimizer.param_groups]
    values += [g["weight_decay"] for g in optimizer.param_groups]
    epochs = 2
    lf = one_cycle(1, HYP["lrf"], epochs)  # cosine 1->hyp['lrf']
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lf)
    ema = utils["ModelEMA"](model, tau=3)
    scaler = torch.amp.GradScaler("cuda", enabled=False)

    imgs_all = as_tensor(torch, rng.uniform(0, 1, (ITERS, BATCH, 3, IMG, IMG)))
    last_opt_step, accumulate = -1, max(round(NBS / BATCH), 1)
    nb = ITERS // epochs
    optimizer.zero_grad()
    model.train()
    for epoch in range(epochs):
        for i in range(nb):
            ni = i + nb * epoch  # number integrated batches (since train start)
            if ni <= NW:
                xi = [0, NW]  # x interp
                accumulate = max(1, np.interp(ni, xi, [1, NBS / BATCH]).round())
                for j, x in enumerate(optimizer.param_groups):
                    # bias lr falls from 0.1 to lr0, all other lrs rise from 0.0 to lr0
                    x["lr"] = np.interp(
                        ni,
                        xi,
                        [HYP["warmup_bias_lr"] if j == 0 else 0.0, x["initial_lr"] * lf(epoch)],
                    )
                    if "momentum" in x:
                        x["momentum"] = np.interp(ni, xi, [HYP["warmup_momentum"], HYP["momentum"]])
            pred = model(imgs_all[ni])
            loss, loss_items = compute_loss(torch, pred, make_targets(torch, rng))
            scaler.scale(loss).backward()
            if ni - last_opt_step >= accumulate:
                scaler.unscale_(optimizer)  # unscale gradients
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
                scaler.step(optimizer)  # optimizer.step
                scaler.update()
                optimizer.zero_grad()
                if ema:
                    ema.update(model)
                last_opt_step = ni
                values += [norm.item()]
            values += [loss.item(), *loss_items.tolist(), float(accumulate)]
            values += [x["lr"] for x in optimizer.param_groups]
        scheduler.step()
        ema.update_attr(model, include=["yaml", "nc", "hyp", "names", "stride", "class_weights"])
        values += scheduler.get_last_lr() + [ema.updates, ema.decay(ema.updates)]

    values += [float(ema.ema.names == model.names), float(ema.ema.training)]
    ema_sd = ema.ema.state_dict()
    values += ema_sd["model.0.bn.running_mean"].tolist() + [
        ema_sd["model.0.bn.num_batches_tracked"]
    ]
    values += [float(all(not p.requires_grad for p in ema.ema.parameters()))]
    with torch.no_grad():
        out = ema.ema(imgs_all[0])
        values += [out.sum().item(), out[..., 4].sigmoid().mean().item()]

    # transfer to a model with another class count: the head's shapes differ
    other = _classes(torch)["Model"](nc=3)
    csd = deepcopy(model).float().state_dict()  # checkpoint FP16 model to FP32
    csd = utils["intersect_dicts"](csd, other.state_dict(), exclude=["anchor"])
    result = other.load_state_dict(csd, strict=False)
    values += [len(csd), len(model.state_dict()), len(result.missing_keys)]
    values += [float(torch.equal(other.model[0].conv.weight, model.model[0].conv.weight))]

    box1 = as_tensor(torch, rng.uniform(0.5, 2, (4, 4)))
    box2 = as_tensor(torch, rng.uniform(0.5, 2, (4, 4)))
    for kw in ({}, {"GIoU": True}, {"DIoU": True}, {"CIoU": True}):
        values += bbox_iou(torch, box1, box2, **kw).flatten().tolist()
    values += bbox_iou(torch, box1, box2, xywh=False, CIoU=True).flatten().tolist()
    return values
