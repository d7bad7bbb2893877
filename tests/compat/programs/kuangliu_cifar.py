"""kuangliu/pytorch-cifar (``main.py`` with ``models/preact_resnet.py``, ``models/dpn.py``,
``models/regnet.py``), size-reduced: ``PreActBlock`` (``out = F.relu(self.bn1(x))``,
``shortcut = self.shortcut(out) if hasattr(self, 'shortcut') else x``, ``out += shortcut``);
DPN's ``Bottleneck`` (grouped 3x3 ``Conv2d(..., groups=...)``, an empty ``nn.Sequential()``
shortcut unless ``first_layer``, the dual-path ``torch.cat([x[:,:d,:,:]+out[:,:d,:,:],
x[:,d:,:,:], out[:,d:,:,:]], 1)``, ``_make_layer`` growing ``last_planes``); RegNet's ``SE``
(``F.adaptive_avg_pool2d(x, (1, 1))``, ``self.se2(out).sigmoid()``, ``x * out``) inside a
``Block`` with ``w_b = int(round(w_out * bottleneck_ratio))`` and ``groups = w_b //
group_width``; the nets end in ``F.avg_pool2d(out, 4)`` / ``F.adaptive_avg_pool2d(out, (1,
1))``, ``out.view(out.size(0), -1)`` and a ``Linear``. ``main.py``'s loop: ``criterion =
nn.CrossEntropyLoss()``, ``optim.SGD(net.parameters(), lr=args.lr, momentum=0.9,
weight_decay=5e-4)``, ``torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=200)``
stepped per epoch; ``train``/``test`` accumulating ``train_loss += loss.item()``, ``_, predicted
= outputs.max(1)``, ``total += targets.size(0)``, ``correct += predicted.eq(targets).sum()
.item()`` and ``progress_bar``'s ``'Loss: %.3f | Acc: %.3f%% (%d/%d)'`` text; the best-accuracy
checkpoint ``state = {'net': net.state_dict(), 'acc': acc, 'epoch': epoch}`` saved with
``torch.save(state, './checkpoint/ckpt.pth')`` and resumed (``--resume``) with
``checkpoint['net']``, ``checkpoint['acc']``, ``checkpoint['epoch']``.

Widths 64..512 -> 4..8, DPN's 32 groups -> 2, 32x32 CIFAR-10 -> random 8x8 images with 4
classes, 200 epochs -> 2 per model, and ``torch.backends.cudnn.benchmark``/``DataParallel``
only on CUDA, as in ``main.py``.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class PreActBlock(nn.Module):
        """Pre-activation version of the BasicBlock."""

        expansion = 1

        def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.bn1 = nn.BatchNorm2d(in_planes)
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, self.expansion * planes, 1, stride, bias=False)
                )

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(x))
            shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
            out = self.conv1(out)
            out = self.conv2(F.relu(self.bn2(out)))
            out += shortcut
            return out

    class PreActResNet(nn.Module):
        def __init__(self, block: Any, num_blocks: list, num_classes: int = 4) -> None:
            super().__init__()
            self.in_planes = 4
            self.conv1 = nn.Conv2d(3, 4, kernel_size=3, stride=1, padding=1, bias=False)
            self.layer1 = self._make_layer(block, 4, num_blocks[0], stride=1)
            self.layer2 = self._make_layer(block, 8, num_blocks[1], stride=2)
            self.bn = nn.BatchNorm2d(8 * block.expansion)
            self.linear = nn.Linear(8 * block.expansion, num_classes)

        def _make_layer(self, block: Any, planes: int, num_blocks: int, stride: int) -> Any:
            strides = [stride] + [1] * (num_blocks - 1)
            layers = []
            for stride in strides:
                layers.append(block(self.in_planes, planes, stride))
                self.in_planes = planes * block.expansion
            return nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            out = self.conv1(x)
            out = self.layer1(out)
            out = self.layer2(out)
            out = F.relu(self.bn(out))
            out = F.avg_pool2d(out, 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    class Bottleneck(nn.Module):
        def __init__(
            self,
            last_planes: int,
            in_planes: int,
            out_planes: int,
            dense_depth: int,
            stride: int,
            first_layer: bool,
        ) -> None:
            super().__init__()
            self.out_planes = out_planes
            self.dense_depth = dense_depth
            self.conv1 = nn.Conv2d(last_planes, in_planes, kernel_size=1, bias=False)
            self.bn1 = nn.BatchNorm2d(in_planes)
            self.conv2 = nn.Conv2d(
                in_planes, in_planes, kernel_size=3, stride=stride, padding=1, groups=2, bias=False
            )
            self.bn2 = nn.BatchNorm2d(in_planes)
            self.conv3 = nn.Conv2d(in_planes, out_planes + dense_depth, kernel_size=1, bias=False)
            self.bn3 = nn.BatchNorm2d(out_planes + dense_depth)
            self.shortcut = nn.Sequential()
            if first_layer:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(
                        last_planes,
                        out_planes + dense_depth,
                        kernel_size=1,
                        stride=stride,
                        bias=False,
                    ),
                    nn.BatchNorm2d(out_planes + dense_depth),
                )

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            x = self.shortcut(x)
            d = self.out_planes
            out = torch.cat(
                [x[:, :d, :, :] + out[:, :d, :, :], x[:, d:, :, :], out[:, d:, :, :]], 1
            )
            out = F.relu(out)
            return out

    class DPN(nn.Module):
        def __init__(self, cfg: dict) -> None:
            super().__init__()
            in_planes, out_planes = cfg["in_planes"], cfg["out_planes"]
            num_blocks, dense_depth = cfg["num_blocks"], cfg["dense_depth"]
            self.conv1 = nn.Conv2d(3, 4, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.last_planes = 4
            self.layer1 = self._make_layer(
                in_planes[0], out_planes[0], num_blocks[0], dense_depth[0], stride=1
            )
            self.layer2 = self._make_layer(
                in_planes[1], out_planes[1], num_blocks[1], dense_depth[1], stride=2
            )
            self.linear = nn.Linear(out_planes[1] + (num_blocks[1] + 1) * dense_depth[1], 4)

        def _make_layer(
            self, in_planes: int, out_planes: int, num_blocks: int, dense_depth: int, stride: int
        ) -> Any:
            strides = [stride] + [1] * (num_blocks - 1)
            layers = []
            for i, stride in enumerate(strides):
                layers.append(
                    Bottleneck(self.last_planes, in_planes, out_planes, dense_depth, stride, i == 0)
                )
                self.last_planes = out_planes + (i + 2) * dense_depth
            return nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer1(out)
            out = self.layer2(out)
            out = F.avg_pool2d(out, 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    class SE(nn.Module):
        """Squeeze-and-Excitation block."""

        def __init__(self, in_planes: int, se_planes: int) -> None:
            super().__init__()
            self.se1 = nn.Conv2d(in_planes, se_planes, kernel_size=1, bias=True)
            self.se2 = nn.Conv2d(se_planes, in_planes, kernel_size=1, bias=True)

        def forward(self, x: Any) -> Any:
            out = F.adaptive_avg_pool2d(x, (1, 1))
            out = F.relu(self.se1(out))
            out = self.se2(out).sigmoid()
            out = x * out
            return out

    class Block(nn.Module):
        def __init__(
            self,
            w_in: int,
            w_out: int,
            stride: int,
            group_width: int,
            bottleneck_ratio: float,
            se_ratio: float,
        ) -> None:
            super().__init__()
            # 1x1
            w_b = int(round(w_out * bottleneck_ratio))
            self.conv1 = nn.Conv2d(w_in, w_b, kernel_size=1, bias=False)
            self.bn1 = nn.BatchNorm2d(w_b)
            # 3x3
            num_groups = w_b // group_width
            self.conv2 = nn.Conv2d(
                w_b, w_b, kernel_size=3, stride=stride, padding=1, groups=num_groups, bias=False
            )
            self.bn2 = nn.BatchNorm2d(w_b)
            # se
            self.with_se = se_ratio > 0
            if self.with_se:
                w_se = int(round(w_in * se_ratio))
                self.se = SE(w_b, w_se)
            # 1x1
            self.conv3 = nn.Conv2d(w_b, w_out, kernel_size=1, bias=False)
            self.bn3 = nn.BatchNorm2d(w_out)
            self.shortcut = nn.Sequential()
            if stride != 1 or w_in != w_out:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(w_in, w_out, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(w_out),
                )

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            if self.with_se:
                out = self.se(out)
            out = self.bn3(self.conv3(out))
            out += self.shortcut(x)
            out = F.relu(out)
            return out

    class RegNet(nn.Module):
        def __init__(self, cfg: dict, num_classes: int = 4) -> None:
            super().__init__()
            self.cfg = cfg
            self.in_planes = 4
            self.conv1 = nn.Conv2d(3, 4, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.layer1 = self._make_layer(0)
            self.layer2 = self._make_layer(1)
            self.linear = nn.Linear(self.cfg["widths"][-1], num_classes)

        def _make_layer(self, idx: int) -> Any:
            depth = self.cfg["depths"][idx]
            width = self.cfg["widths"][idx]
            stride = self.cfg["strides"][idx]
            group_width = self.cfg["group_width"]
            bottleneck_ratio = self.cfg["bottleneck_ratio"]
            se_ratio = self.cfg["se_ratio"]
            layers = []
            for i in range(depth):
                s = stride if i == 0 else 1
                layers.append(
                    Block(self.in_planes, width, s, group_width, bottleneck_ratio, se_ratio)
                )
                self.in_planes = width
            return nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer1(out)
            out = self.layer2(out)
            out = F.adaptive_avg_pool2d(out, (1, 1))
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    def PreActResNet18() -> Any:  # noqa: N802 (the repository's names)
        return PreActResNet(PreActBlock, [1, 1])

    def DPN26() -> Any:  # noqa: N802
        cfg = {
            "in_planes": (4, 8),
            "out_planes": (8, 12),
            "num_blocks": (1, 2),
            "dense_depth": (2, 4),
        }
        return DPN(cfg)

    def RegNetY_400MF() -> Any:  # noqa: N802
        cfg = {
            "depths": [1, 2],
            "widths": [8, 8],
            "strides": [1, 2],
            "group_width": 4,
            "bottleneck_ratio": 1,
            "se_ratio": 0.25,
        }
        return RegNet(cfg)

    return nn.ModuleDict({"preact": PreActResNet18(), "dpn": DPN26(), "regnet": RegNetY_400MF()})


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    rng = np.random.default_rng(10)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    labels = rng.integers(0, 4, 24)
    images = rng.normal(size=(24, 3, 8, 8)).astype(np.float32) * 0.5
    images[np.arange(24), labels % 3, :4, :] += 1.0
    trainloader = [
        (torch.from_numpy(images[i : i + 8]), torch.from_numpy(labels[i : i + 8]))
        for i in range(0, 16, 8)
    ]
    testloader = [(torch.from_numpy(images[16:]), torch.from_numpy(labels[16:]))]
    nets = make_model(torch_like)
    load_numpy_state(torch_like, nets, init)
    tmp = tempfile.TemporaryDirectory()  # where ./checkpoint/ goes
    values: list[float] = []
    logs: list[str] = []

    def progress_bar(batch_idx: int, total_batches: int, msg: str) -> None:
        logs.append(f"[{batch_idx + 1}/{total_batches}] {msg}")

    def train_model(name: str) -> None:
        """main.py for one ``--net``."""
        net = nets[name].to(device)
        if device == "cuda":
            net = torch.nn.DataParallel(net)
            torch.backends.cudnn.benchmark = True
        criterion = nn.CrossEntropyLoss()
        optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=200)
        best_acc = 0

        def train(epoch: int) -> None:
            net.train()
            train_loss = 0
            correct = 0
            total = 0
            for batch_idx, (inputs, targets) in enumerate(trainloader):
                inputs, targets = inputs.to(device), targets.to(device)
                optimizer.zero_grad()
                outputs = net(inputs)
                loss = criterion(outputs, targets)
                loss.backward()
                optimizer.step()
                train_loss += loss.item()
                _, predicted = outputs.max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
                progress_bar(
                    batch_idx,
                    len(trainloader),
                    "Loss: %.3f | Acc: %.3f%% (%d/%d)"  # noqa: UP031 (progress_bar's)
                    % (train_loss / (batch_idx + 1), 100.0 * correct / total, correct, total),
                )
                values.append(loss.item())

        def test(epoch: int) -> None:
            nonlocal best_acc
            net.eval()
            test_loss = 0
            correct = 0
            total = 0
            with torch.no_grad():
                for batch_idx, (inputs, targets) in enumerate(testloader):  # noqa: B007
                    inputs, targets = inputs.to(device), targets.to(device)
                    outputs = net(inputs)
                    loss = criterion(outputs, targets)
                    test_loss += loss.item()
                    _, predicted = outputs.max(1)
                    total += targets.size(0)
                    correct += predicted.eq(targets).sum().item()
            values.append(test_loss)
            # Save checkpoint.
            acc = 100.0 * correct / total
            if acc >= best_acc:
                state = {"net": net.state_dict(), "acc": acc, "epoch": epoch}
                if not os.path.isdir(CHECKPOINT):
                    os.mkdir(CHECKPOINT)
                torch.save(state, os.path.join(CHECKPOINT, "ckpt.pth"))
                best_acc = acc

        CHECKPOINT = os.path.join(tmp.name, name, "checkpoint")
        os.makedirs(os.path.dirname(CHECKPOINT), exist_ok=True)
        for epoch in range(2):
            train(epoch)
            test(epoch)
            scheduler.step()
        values.append(scheduler.get_last_lr()[0])
        # --resume
        checkpoint = torch.load(os.path.join(CHECKPOINT, "ckpt.pth"))
        net.load_state_dict(checkpoint["net"])
        values.extend([checkpoint["acc"], float(checkpoint["epoch"])])

    for name in ("preact", "dpn", "regnet"):
        train_model(name)
    tmp.cleanup()
    values.append(float(sum(len(s) for s in logs)))
    return values
