"""A CIFAR-10 ResNet trainer as the popular recipes assemble it, size-reduced: kuangliu/
pytorch-cifar's ``models/resnet.py`` (``BasicBlock`` with ``expansion = 1``, an empty
``nn.Sequential()`` shortcut or a 1x1 ``Conv2d``+``BatchNorm2d`` one, the in-place residual
``out += self.shortcut(x)``, ``ResNet._make_layer`` with ``strides = [stride] + [1]*(
num_blocks-1)``, ``F.avg_pool2d(out, 4)``, ``out.view(out.size(0), -1)``); facebookresearch/
mixup-cifar10's ``mixup_data`` (``lam = np.random.beta(alpha, alpha)`` -- a NumPy float
multiplying tensors, ``lam * x + (1 - lam) * x[index, :]``) and ``mixup_criterion``, with its
mixed accuracy ``lam * predicted.eq(targets_a.data).cpu().sum().float() + ...``; the
``torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, epochs=..., steps_per_epoch=...)``
schedule stepped per optimizer step, ``nn.CrossEntropyLoss(label_smoothing=0.1)``,
``SGD(momentum=0.9, weight_decay=5e-4, nesterov=True)``, gradient accumulation
(``loss / accum_steps``, ``(i + 1) % accum_steps == 0``) with ``clip_grad_norm_``; and the
stochastic-weight-averaging recipe of the ``torch.optim`` docs (``AveragedModel(model)``,
``SWALR(optimizer, swa_lr=...)``, ``CosineAnnealingLR`` before ``swa_start``,
``swa_model.update_parameters(model)``, ``torch.optim.swa_utils.update_bn(loader, swa_model)``)
and the test loop's ``correct += predicted.eq(targets).sum().item()``.

Changed: 32x32 CIFAR images -> 8x8 NumPy images, ResNet18's [2, 2, 2, 2] blocks of 64..512
planes -> [1, 1] blocks of 4 and 8 planes, ``F.avg_pool2d(out, 4)``, 200 epochs -> 2 + 3 SWA
epochs, batch 128 -> 4; ``np.random.beta`` and ``torch.randperm`` draw from a seeded NumPy
generator (``torch.from_numpy(rng.permutation(batch_size))``) so both frameworks mix the same
pairs; the ``Variable`` wrapping of the 2017 mixup code is dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

NUM_CLASSES = 3


def _resnet(torch_like: Any) -> tuple[type, type]:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
            super(BasicBlock, self).__init__()  # noqa: UP008 (as in the repository)
            self.conv1 = nn.Conv2d(
                in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False
            )
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)

            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != self.expansion * planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(
                        in_planes,
                        self.expansion * planes,
                        kernel_size=1,
                        stride=stride,
                        bias=False,
                    ),
                    nn.BatchNorm2d(self.expansion * planes),
                )

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.shortcut(x)
            out = F.relu(out)
            return out

    class ResNet(nn.Module):
        def __init__(self, block: type, num_blocks: list[int], num_classes: int = 10) -> None:
            super(ResNet, self).__init__()  # noqa: UP008
            self.in_planes = 4

            self.conv1 = nn.Conv2d(3, 4, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.layer1 = self._make_layer(block, 4, num_blocks[0], stride=1)
            self.layer2 = self._make_layer(block, 8, num_blocks[1], stride=2)
            self.linear = nn.Linear(8 * block.expansion, num_classes)

        def _make_layer(self, block: type, planes: int, num_blocks: int, stride: int) -> Any:
            strides = [stride] + [1] * (num_blocks - 1)
            layers = []
            for stride in strides:
                layers.append(block(self.in_planes, planes, stride))
                self.in_planes = planes * block.expansion
            return nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer1(out)
            out = self.layer2(out)
            out = F.avg_pool2d(out, 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    return BasicBlock, ResNet


def make_model(torch_like: Any) -> Any:
    BasicBlock, ResNet = _resnet(torch_like)
    return ResNet(BasicBlock, [1, 1], num_classes=NUM_CLASSES)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    AveragedModel, SWALR = torch.optim.swa_utils.AveragedModel, torch.optim.swa_utils.SWALR
    rng = np.random.default_rng(9)
    labels = np.arange(24) % NUM_CLASSES
    images = rng.standard_normal((24, 3, 8, 8)) * 0.3
    images[np.arange(24), labels] += 0.8
    dataset = torch.utils.data.TensorDataset(
        as_tensor(torch_like, images[:16]), as_tensor(torch_like, labels[:16])
    )
    testset = torch.utils.data.TensorDataset(
        as_tensor(torch_like, images[16:]), as_tensor(torch_like, labels[16:])
    )
    trainloader = torch.utils.data.DataLoader(dataset, batch_size=4, shuffle=False)
    testloader = torch.utils.data.DataLoader(testset, batch_size=4, shuffle=False)

    net = make_model(torch_like)
    if init is not None:
        net.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    device = "cpu"
    net = net.to(device)
    values: list[float] = []

    def mixup_data(x: Any, y: Any, alpha: float = 1.0) -> tuple[Any, Any, Any, float]:
        """Returns mixed inputs, pairs of targets, and lambda"""
        if alpha > 0:
            lam = rng.beta(alpha, alpha)
        else:
            lam = 1

        batch_size = x.size()[0]
        index = torch.from_numpy(rng.permutation(batch_size))

        mixed_x = lam * x + (1 - lam) * x[index, :]
        y_a, y_b = y, y[index]
        return mixed_x, y_a, y_b, lam

    def mixup_criterion(criterion: Any, pred: Any, y_a: Any, y_b: Any, lam: float) -> Any:
        return lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)

    epochs, accum_steps, alpha = 2, 2, 1.0
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(trainloader) // accum_steps
    )

    # Training
    def train(epoch: int) -> None:
        net.train()
        train_loss = 0
        correct = 0
        total = 0
        optimizer.zero_grad()
        for batch_idx, (inputs, targets) in enumerate(trainloader):
            inputs, targets = inputs.to(device), targets.to(device)
            inputs, targets_a, targets_b, lam = mixup_data(inputs, targets, alpha)
            outputs = net(inputs)
            loss = mixup_criterion(criterion, outputs, targets_a, targets_b, lam)
            (loss / accum_steps).backward()
            if (batch_idx + 1) % accum_steps == 0:
                nn.utils.clip_grad_norm_(net.parameters(), max_norm=2.0)
                optimizer.step()
                optimizer.zero_grad()
                scheduler.step()
                values.append(scheduler.get_last_lr()[0])

            train_loss += loss.item()
            _, predicted = torch.max(outputs.data, 1)
            total += targets.size(0)
            correct += (
                lam * predicted.eq(targets_a.data).cpu().sum().float()
                + (1 - lam) * predicted.eq(targets_b.data).cpu().sum().float()
            )
        values.extend([train_loss / (batch_idx + 1), float(100.0 * correct / total)])

    def test(model: Any) -> float:
        model.eval()
        correct = 0
        total = 0
        with torch.no_grad():
            for inputs, targets in testloader:
                inputs, targets = inputs.to(device), targets.to(device)
                outputs = model(inputs)
                _, predicted = outputs.max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
                values.append(criterion(outputs, targets).item())
        return 100.0 * correct / total

    for epoch in range(epochs):
        train(epoch)
        values.append(test(net))

    # stochastic weight averaging, as the torch.optim docs show it
    swa_model = AveragedModel(net)
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
    swa_start = 1
    swa_scheduler = SWALR(optimizer, swa_lr=0.02, anneal_epochs=2)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(3):
        net.train()
        for input, target in trainloader:
            optimizer.zero_grad()
            loss_fn(net(input), target).backward()
            optimizer.step()
        if epoch > swa_start - 1:
            swa_model.update_parameters(net)
            swa_scheduler.step()
        else:
            scheduler.step()
        values.append(optimizer.param_groups[0]["lr"])

    # Update bn statistics for the swa_model at the end
    torch.optim.swa_utils.update_bn(trainloader, swa_model)
    values.append(float(swa_model.n_averaged))
    values += swa_model.module.bn1.running_var.tolist()
    values.append(test(swa_model))
    return values
