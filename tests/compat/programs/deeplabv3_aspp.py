"""DeepLabV3 as torchvision writes it (``models/segmentation/deeplabv3.py``, ``fcn.py``,
``_utils.py``) and trained as ``references/segmentation/train.py`` and ``utils.py`` do,
size-reduced.

The idioms: ``ASPPConv(nn.Sequential)`` (``nn.Conv2d(in_channels, out_channels, 3,
padding=dilation, dilation=dilation, bias=False)`` -> ``BatchNorm2d`` -> ``ReLU``);
``ASPPPooling(nn.Sequential)`` (``nn.AdaptiveAvgPool2d(1)``, a 1x1 conv, BN, ReLU, iterated
with ``for mod in self`` and brought back with ``F.interpolate(x, size=size, mode="bilinear",
align_corners=False)`` from ``size = x.shape[-2:]``); ``ASPP`` (a ``nn.ModuleList`` of the 1x1
branch, one ``ASPPConv`` per atrous rate and the pooling branch, ``torch.cat(_res, dim=1)``,
``project`` with ``nn.Dropout(0.5)``); ``DeepLabHead(nn.Sequential)`` and ``FCNHead`` (the
auxiliary classifier); ``_SimpleSegmentationModel`` (``input_shape = x.shape[-2:]``, the
backbone's ``OrderedDict`` with ``"out"`` and ``"aux"``, logits upsampled to the input size,
``result["out"]`` / ``result["aux"]``); a backbone whose last stage trades stride for dilation
(``replace_stride_with_dilation``); the reference ``criterion`` (``nn.functional.cross_entropy(x,
target, ignore_index=255)`` per output, ``losses["out"] + 0.5 * losses["aux"]``); the parameter
groups (backbone, classifier, and the aux classifier at ``lr * 10``) into ``SGD(momentum=0.9,
weight_decay=1e-4)``; the poly schedule both as ``PolynomialLR(optimizer, total_iters=...,
power=0.9)`` and as the older ``LambdaLR(optimizer, lambda x: (1 - x / total) ** 0.9)``; and
``ConfusionMatrix`` (``k = (a >= 0) & (a < n)``, ``inds = n * a[k].to(torch.int64) + b[k]``,
``self.mat += torch.bincount(inds, minlength=n**2).reshape(n, n)`` under
``torch.inference_mode()``, then ``acc_global``, per-class ``acc`` and ``iu`` from
``torch.diag(h)``), with ``confmat.update(target.flatten(), output.argmax(1).flatten())``.

Changed: the ResNet backbone is two small conv stages (the second dilated instead of strided);
256 ASPP channels are 8 and the rates (12, 24, 36) are (2, 4, 6); VOC images are random 12x12
NumPy images whose masks are thresholded channels with a border of ``255`` (ignored) pixels;
the dropout modules are put in eval mode during training (their draws would differ between the
libraries).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

CLASSES, IMG, BATCH, EPOCHS, ITERS = 3, 12, 4, 2, 3
RATES = (2, 4, 6)
ASPP_CH = 8


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class ASPPConv(nn.Sequential):
        def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
            modules = [
                nn.Conv2d(
                    in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False
                ),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
            ]
            super().__init__(*modules)

    class ASPPPooling(nn.Sequential):
        def __init__(self, in_channels: int, out_channels: int) -> None:
            super().__init__(
                nn.AdaptiveAvgPool2d(1),
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
            )

        def forward(self, x: Any) -> Any:
            size = x.shape[-2:]
            for mod in self:
                x = mod(x)
            return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    class ASPP(nn.Module):
        def __init__(self, in_channels: int, atrous_rates: Any, out_channels: int = 256) -> None:
            super().__init__()
            modules = []
            modules.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, 1, bias=False),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(),
                )
            )
            rates = tuple(atrous_rates)
            for rate in rates:
                modules.append(ASPPConv(in_channels, out_channels, rate))
            modules.append(ASPPPooling(in_channels, out_channels))
            self.convs = nn.ModuleList(modules)
            self.project = nn.Sequential(
                nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
                nn.Dropout(0.5),
            )

        def forward(self, x: Any) -> Any:
            _res = []
            for conv in self.convs:
                _res.append(conv(x))
            res = torch.cat(_res, dim=1)
            return self.project(res)

    class DeepLabHead(nn.Sequential):
        def __init__(self, in_channels: int, num_classes: int, atrous_rates: Any) -> None:
            super().__init__(
                ASPP(in_channels, atrous_rates, ASPP_CH),
                nn.Conv2d(ASPP_CH, ASPP_CH, 3, padding=1, bias=False),
                nn.BatchNorm2d(ASPP_CH),
                nn.ReLU(),
                nn.Conv2d(ASPP_CH, num_classes, 1),
            )

    class FCNHead(nn.Sequential):
        def __init__(self, in_channels: int, channels: int) -> None:
            inter_channels = in_channels // 4
            layers = [
                nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(inter_channels),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Conv2d(inter_channels, channels, 1),
            ]
            super().__init__(*layers)

    class Backbone(nn.Module):
        """Two stages; the second keeps the resolution and dilates instead of striding."""

        def __init__(self) -> None:
            super().__init__()
            self.layer1 = nn.Sequential(
                nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
            )
            self.layer2 = nn.Sequential(
                nn.Conv2d(8, 16, 3, stride=1, padding=2, dilation=2, bias=False),
                nn.BatchNorm2d(16),
                nn.ReLU(inplace=True),
            )

        def forward(self, x: Any) -> Any:
            out = OrderedDict()
            x = self.layer1(x)
            out["aux"] = x
            out["out"] = self.layer2(x)
            return out

    class DeepLabV3(nn.Module):
        def __init__(self, backbone: Any, classifier: Any, aux_classifier: Any = None) -> None:
            super().__init__()
            self.backbone = backbone
            self.classifier = classifier
            self.aux_classifier = aux_classifier

        def forward(self, x: Any) -> dict:
            input_shape = x.shape[-2:]
            features = self.backbone(x)
            result = OrderedDict()
            x = features["out"]
            x = self.classifier(x)
            x = F.interpolate(x, size=input_shape, mode="bilinear", align_corners=False)
            result["out"] = x
            if self.aux_classifier is not None:
                x = features["aux"]
                x = self.aux_classifier(x)
                x = F.interpolate(x, size=input_shape, mode="bilinear", align_corners=False)
                result["aux"] = x
            return result

    return DeepLabV3(Backbone(), DeepLabHead(16, CLASSES, RATES), FCNHead(8, CLASSES))


def _confusion_matrix_class(torch_like: Any) -> type:
    torch = torch_like

    class ConfusionMatrix:
        def __init__(self, num_classes: int) -> None:
            self.num_classes = num_classes
            self.mat = None

        def update(self, a: Any, b: Any) -> None:
            n = self.num_classes
            if self.mat is None:
                self.mat = torch.zeros((n, n), dtype=torch.int64, device=a.device)
            with torch.inference_mode():
                k = (a >= 0) & (a < n)
                inds = n * a[k].to(torch.int64) + b[k]
                self.mat += torch.bincount(inds, minlength=n**2).reshape(n, n)

        def reset(self) -> None:
            self.mat.zero_()

        def compute(self) -> tuple:
            h = self.mat.float()
            acc_global = torch.diag(h).sum() / h.sum()
            acc = torch.diag(h) / h.sum(1)
            iu = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))
            return acc_global, acc, iu

    return ConfusionMatrix


def _data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    images = rng.standard_normal((BATCH * ITERS, 3, IMG, IMG))
    masks = (images[:, 0] > 0.3).astype(np.int64) + (images[:, 1] > 0.6).astype(np.int64)
    masks[:, 0, :] = 255  # the VOC boundary label, ignored by the loss and the metric
    masks[:, :, -1] = 255
    return images, masks


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    images, masks = _data(np.random.default_rng(3))

    def criterion(inputs: dict, target: Any) -> Any:
        losses = {}
        for name, x in inputs.items():
            losses[name] = nn.functional.cross_entropy(x, target, ignore_index=255)
        if len(losses) == 1:
            return losses["out"]
        return losses["out"] + 0.5 * losses["aux"]

    lr = 0.02
    params_to_optimize = [
        {"params": [p for p in model.backbone.parameters() if p.requires_grad]},
        {"params": [p for p in model.classifier.parameters() if p.requires_grad]},
    ]
    params = [p for p in model.aux_classifier.parameters() if p.requires_grad]
    params_to_optimize.append({"params": params, "lr": lr * 10})
    optimizer = torch.optim.SGD(params_to_optimize, lr=lr, momentum=0.9, weight_decay=1e-4)
    total = ITERS * EPOCHS
    lr_scheduler = torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=total, power=0.9)
    # the older spelling of the same schedule, on a twin optimizer
    twin = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    lambda_sched = torch.optim.lr_scheduler.LambdaLR(twin, lambda x: (1 - x / total) ** 0.9)

    values: list[float] = []
    for _epoch in range(EPOCHS):
        model.train()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.eval()
        for it in range(ITERS):
            image = as_tensor(torch_like, images[it * BATCH : (it + 1) * BATCH])
            target = as_tensor(torch_like, masks[it * BATCH : (it + 1) * BATCH])
            output = model(image)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            lr_scheduler.step()
            twin.step()
            lambda_sched.step()
            values += [loss.item(), optimizer.param_groups[0]["lr"]]
            values += [optimizer.param_groups[2]["lr"], lambda_sched.get_last_lr()[0]]
        values += model.classifier[0].convs[2][1].running_var.tolist()

    ConfusionMatrix = _confusion_matrix_class(torch_like)
    confmat = ConfusionMatrix(CLASSES)
    model.eval()
    with torch.inference_mode():
        for it in range(ITERS):
            image = as_tensor(torch_like, images[it * BATCH : (it + 1) * BATCH])
            target = as_tensor(torch_like, masks[it * BATCH : (it + 1) * BATCH])
            output = model(image)
            output = output["out"]
            confmat.update(target.flatten(), output.argmax(1).flatten())
            values += [output.sum().item()]
    acc_global, acc, iu = confmat.compute()
    values += confmat.mat.flatten().tolist()
    values += [acc_global.item() * 100, iu.mean().item() * 100]
    values += [float(str(confmat.mat.dtype) == "torch.int64"), float(iu.dtype == torch.float32)]
    values += (acc * 100).tolist() + (iu * 100).tolist()
    # the matrix was made under inference_mode: resetting it outside raises, a clone resets
    try:
        confmat.reset()
        values += [0.0]
    except RuntimeError:
        values += [1.0]
    confmat.mat = confmat.mat.clone()
    confmat.reset()
    values += [float(confmat.mat.sum().item()), float(confmat.mat.is_inference())]
    return values
