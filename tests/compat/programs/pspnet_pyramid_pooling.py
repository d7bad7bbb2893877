"""hszhao/semseg (``model/pspnet.py``, ``tool/train.py``, ``util/util.py``), size-reduced:
``PPM`` builds a list of ``nn.Sequential(nn.AdaptiveAvgPool2d(bin), Conv2d(1x1, bias=False),
BatchNorm2d, ReLU(inplace=True))`` for bins ``(1, 2, 3, 6)``, wraps it in ``nn.ModuleList`` and
concatenates ``F.interpolate(f(x), x_size[2:], mode='bilinear', align_corners=True)``;
``PSPNet`` turns its backbone's ``layer3``/``layer4`` into dilated stages by rewriting
``m.dilation, m.padding, m.stride`` over ``named_modules()`` (``'conv2' in n``,
``'downsample.0' in n``), checks ``(x_size[2]-1) % 8 == 0``, computes ``h = int((x_size[2] - 1)
/ 8 * self.zoom_factor + 1)``, runs the ``cls`` head (``nn.Dropout2d``) and the ``aux`` head on
``layer3``'s output, upsamples both with ``align_corners=True`` and returns ``x.max(1)[1],
main_loss, aux_loss`` from ``nn.CrossEntropyLoss(ignore_index=255)``; ``train.py``'s SGD over
``params_list`` groups (backbone at ``base_lr``, ``ppm``/``cls``/``aux`` at ``base_lr * 10``),
``poly_learning_rate`` (``base_lr * (1 - float(curr_iter) / max_iter) ** power``) written into
``optimizer.param_groups[index]['lr']`` around ``index_split``, ``main_loss + aux_weight *
aux_loss``; ``intersectionAndUnionGPU`` (``output[target == ignore_index] = ignore_index``,
``output[output == target]``, ``torch.histc(..., bins=K, min=0, max=K-1)``) and the mIoU/allAcc
bookkeeping; the evaluation forward in ``model.eval()`` with ``F.softmax(output, dim=1)``.

Changed: ResNet-50 -> a two-block conv backbone with the same module names, 2048 -> 8
features, 473x473 crops -> 17x17, 2 classes -> 3, dropout 0.1 -> 0 (a random mask per run),
``histc`` of ``.float()`` predictions (torch's CPU ``histc`` rejects int64; the repository
runs it on CUDA), and data from a seeded NumPy generator with some pixels at 255.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

CLASSES, FEA = 3, 8


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class Bottleneck(nn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.downsample(x)
            return self.relu(out)

    class PPM(nn.Module):
        def __init__(self, in_dim: int, reduction_dim: int, bins: tuple) -> None:
            super(PPM, self).__init__()  # noqa: UP008 (as in the repository)
            self.features = []
            for bin in bins:
                self.features.append(
                    nn.Sequential(
                        nn.AdaptiveAvgPool2d(bin),
                        nn.Conv2d(in_dim, reduction_dim, kernel_size=1, bias=False),
                        nn.BatchNorm2d(reduction_dim),
                        nn.ReLU(inplace=True),
                    )
                )
            self.features = nn.ModuleList(self.features)

        def forward(self, x: Any) -> Any:
            x_size = x.size()
            out = [x]
            for f in self.features:
                out.append(F.interpolate(f(x), x_size[2:], mode="bilinear", align_corners=True))
            return torch.cat(out, 1)

    class PSPNet(nn.Module):
        def __init__(self, bins: tuple = (1, 2, 3, 6), dropout: float = 0.1,
                     classes: int = 2, zoom_factor: int = 8, use_ppm: bool = True,
                     criterion: Any = nn.CrossEntropyLoss(ignore_index=255)  # noqa: B008
                     ) -> None:  # fmt: skip
            super(PSPNet, self).__init__()  # noqa: UP008
            assert FEA % len(bins) == 0
            assert classes > 1
            assert zoom_factor in [1, 2, 4, 8]
            self.zoom_factor = zoom_factor
            self.use_ppm = use_ppm
            self.criterion = criterion

            self.layer0 = nn.Sequential(
                nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(4),
                nn.ReLU(inplace=True),
            )
            self.layer1 = nn.Sequential(Bottleneck(4, 4))
            self.layer2 = nn.Sequential(Bottleneck(4, 4, stride=2))
            self.layer3 = nn.Sequential(Bottleneck(4, 6, stride=2))
            self.layer4 = nn.Sequential(Bottleneck(6, FEA, stride=2))

            for n, m in self.layer3.named_modules():
                if "conv2" in n:
                    m.dilation, m.padding, m.stride = (2, 2), (2, 2), (1, 1)
                elif "downsample.0" in n:
                    m.stride = (1, 1)
            for n, m in self.layer4.named_modules():
                if "conv2" in n:
                    m.dilation, m.padding, m.stride = (4, 4), (4, 4), (1, 1)
                elif "downsample.0" in n:
                    m.stride = (1, 1)

            fea_dim = FEA
            if use_ppm:
                self.ppm = PPM(fea_dim, int(fea_dim / len(bins)), bins)
                fea_dim *= 2
            self.cls = nn.Sequential(
                nn.Conv2d(fea_dim, 8, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(8),
                nn.ReLU(inplace=True),
                nn.Dropout2d(p=dropout),
                nn.Conv2d(8, classes, kernel_size=1),
            )
            if self.training:
                self.aux = nn.Sequential(
                    nn.Conv2d(6, 4, kernel_size=3, padding=1, bias=False),
                    nn.BatchNorm2d(4),
                    nn.ReLU(inplace=True),
                    nn.Dropout2d(p=dropout),
                    nn.Conv2d(4, classes, kernel_size=1),
                )

        def forward(self, x: Any, y: Any = None) -> Any:
            x_size = x.size()
            assert (x_size[2] - 1) % 8 == 0 and (x_size[3] - 1) % 8 == 0
            h = int((x_size[2] - 1) / 8 * self.zoom_factor + 1)
            w = int((x_size[3] - 1) / 8 * self.zoom_factor + 1)

            x = self.layer0(x)
            x = self.layer1(x)
            x = self.layer2(x)
            x_tmp = self.layer3(x)
            x = self.layer4(x_tmp)
            if self.use_ppm:
                x = self.ppm(x)
            x = self.cls(x)
            if self.zoom_factor != 1:
                x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=True)

            if self.training:
                aux = self.aux(x_tmp)
                if self.zoom_factor != 1:
                    aux = F.interpolate(aux, size=(h, w), mode="bilinear", align_corners=True)
                main_loss = self.criterion(x, y)
                aux_loss = self.criterion(aux, y)
                return x.max(1)[1], main_loss, aux_loss
            else:
                return x

    return PSPNet(dropout=0.0, classes=CLASSES)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(473)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    base_lr, power, aux_weight, max_iter, K, ignore_label = 0.01, 0.9, 0.4, 6, CLASSES, 255

    modules_ori = [model.layer0, model.layer1, model.layer2, model.layer3, model.layer4]
    modules_new = [model.ppm, model.cls, model.aux]
    params_list = []
    for module in modules_ori:
        params_list.append(dict(params=module.parameters(), lr=base_lr))
    for module in modules_new:
        params_list.append(dict(params=module.parameters(), lr=base_lr * 10))
    index_split = 5
    optimizer = torch.optim.SGD(params_list, lr=base_lr, momentum=0.9, weight_decay=1e-4)

    def poly_learning_rate(base_lr: float, curr_iter: int, max_iter: int, power: float) -> float:
        """poly learning rate policy"""
        lr = base_lr * (1 - float(curr_iter) / max_iter) ** power
        return lr

    def intersectionAndUnionGPU(output: Any, target: Any, K: int, ignore_index: int = 255):
        # 'K' classes, output and target sizes are N or N * L or N * H * W, each value in range
        # 0 to K - 1.
        assert output.dim() in [1, 2, 3]
        assert output.shape == target.shape
        output = output.view(-1)
        target = target.view(-1)
        output[target == ignore_index] = ignore_index
        intersection = output[output == target]
        area_intersection = torch.histc(intersection.float(), bins=K, min=0, max=K - 1)
        area_output = torch.histc(output.float(), bins=K, min=0, max=K - 1)
        area_target = torch.histc(target.float(), bins=K, min=0, max=K - 1)
        area_union = area_output + area_target - area_intersection
        return area_intersection, area_union, area_target

    values: list[float] = []
    intersection_sum = union_sum = target_sum = 0
    model.train()
    for current_iter in range(1, 4):
        input = torch.from_numpy(rng.random((2, 3, 17, 17)))
        target_np = rng.integers(0, CLASSES, (2, 17, 17))
        target_np[:, :3, :] = 255
        target = torch.from_numpy(target_np)
        output, main_loss, aux_loss = model(input, target)
        loss = main_loss + aux_weight * aux_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        n = input.size(0)
        intersection, union, target = intersectionAndUnionGPU(output, target, K, ignore_label)
        intersection, union, target = (
            intersection.cpu().numpy(),
            union.cpu().numpy(),
            target.cpu().numpy(),
        )
        intersection_sum += intersection
        union_sum += union
        target_sum += target
        accuracy = sum(intersection) / (sum(target) + 1e-10)

        current_lr = poly_learning_rate(base_lr, current_iter, max_iter, power=power)
        for index in range(0, index_split):
            optimizer.param_groups[index]["lr"] = current_lr
        for index in range(index_split, len(optimizer.param_groups)):
            optimizer.param_groups[index]["lr"] = current_lr * 10
        values += [main_loss.item(), aux_loss.item(), loss.item() * n, float(accuracy)]
    iou_class = intersection_sum / (union_sum + 1e-10)
    accuracy_class = intersection_sum / (target_sum + 1e-10)
    values += [float(np.mean(iou_class)), float(np.mean(accuracy_class))]

    model.eval()
    with torch.no_grad():
        output = model(torch.from_numpy(rng.random((1, 3, 17, 17))))
        output = torch.nn.functional.softmax(output, dim=1)
    values += [output[:, 0].sum().item(), output.max(1)[1].sum().item()]
    return values
