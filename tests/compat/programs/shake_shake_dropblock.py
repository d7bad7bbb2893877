"""hysts/pytorch_shake_shake (``functions/shake_shake_function.py``,
``models/shake_shake.py``) with miguelvr/dropblock (``dropblock/dropblock.py``,
``dropblock/scheduler.py``), size-reduced: the custom ``ShakeFunction(torch.autograd.
Function)`` mixing two branches with ``alpha`` forward and ``beta`` backward
(``ctx.save_for_backward(x1, x2, alpha, beta)``, ``ctx.needs_input_grad[0]``, returning
``grad_x1, grad_x2, grad_alpha, grad_beta`` with None for the coefficients),
``shake_function = ShakeFunction.apply``, ``get_alpha_beta`` (``torch.rand(1)`` per batch or
``torch.rand(batch_size).view(batch_size, 1, 1, 1)`` per image, ``torch.FloatTensor([0.5])`` at
evaluation, ``.to(device)``); ``ResidualPath`` with ``F.relu(x, inplace=False)``;
``SkipConnection``'s two strided paths (``F.avg_pool2d(x, kernel_size=1,
stride=self.stride)`` and ``F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))``) joined by ``torch.cat``;
``initialize_weights`` (``nn.init.kaiming_normal_(module.weight.data, mode='fan_out')``,
``module.bias.data.zero_()``); ``DropBlock2D`` (``mask = (torch.rand(x.shape[0],
*x.shape[2:]) < gamma).float()``, ``F.max_pool2d(input=mask[:, None, :, :],
kernel_size=(self.block_size, self.block_size), stride=(1, 1), padding=self.block_size //
2)``, the even-block crop ``block_mask[:, :, :-1, :-1]``, ``1 - block_mask.squeeze(1)``,
``out * block_mask.numel() / block_mask.sum()``) and its ``LinearScheduler`` (a
``np.linspace`` of drop probabilities stepped per iteration, the module forwarding to the
wrapped one).

Changed: the CIFAR ResNet-26 2x32d -> one stage of two shake blocks on 8x8 inputs with 4 -> 8
channels, DropBlock with block size 2 (the even crop) and 3 on the stem, 1800 epochs -> 4
SGD steps and an evaluation pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def _shake_function(torch: Any) -> Any:
    class ShakeFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x1: Any, x2: Any, alpha: Any, beta: Any) -> Any:
            ctx.save_for_backward(x1, x2, alpha, beta)

            y = x1 * alpha + x2 * (1 - alpha)
            return y

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple:
            x1, x2, alpha, beta = ctx.saved_tensors
            grad_x1 = grad_x2 = grad_alpha = grad_beta = None

            if ctx.needs_input_grad[0]:
                grad_x1 = grad_output * beta
            if ctx.needs_input_grad[1]:
                grad_x2 = grad_output * (1 - beta)

            return grad_x1, grad_x2, grad_alpha, grad_beta

    return ShakeFunction.apply


def get_alpha_beta(torch: Any, batch_size: int, shake_config: tuple, device: Any) -> tuple:
    forward_shake, backward_shake, shake_image = shake_config

    if forward_shake and not shake_image:
        alpha = torch.rand(1)
    elif forward_shake and shake_image:
        alpha = torch.rand(batch_size).view(batch_size, 1, 1, 1)
    else:
        alpha = torch.FloatTensor([0.5])

    if backward_shake and not shake_image:
        beta = torch.rand(1)
    elif backward_shake and shake_image:
        beta = torch.rand(batch_size).view(batch_size, 1, 1, 1)
    else:
        beta = torch.FloatTensor([0.5])

    alpha = alpha.to(device)
    beta = beta.to(device)

    return alpha, beta


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional
    shake_function = _shake_function(torch)

    def initialize_weights(module: Any) -> None:
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight.data, mode="fan_out")
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.data.fill_(1)
            module.bias.data.zero_()
        elif isinstance(module, nn.Linear):
            module.bias.data.zero_()

    class DropBlock2D(nn.Module):
        r"""Randomly zeroes 2D spatial blocks of the input tensor."""

        def __init__(self, drop_prob: float, block_size: int) -> None:
            super(DropBlock2D, self).__init__()  # noqa: UP008
            self.drop_prob = drop_prob
            self.block_size = block_size

        def forward(self, x: Any) -> Any:
            # shape: (bsize, channels, height, width)
            assert x.dim() == 4, "Expected input with 4 dimensions (bsize, channels, height, width)"

            if not self.training or self.drop_prob == 0.0:
                return x
            else:
                # get gamma value
                gamma = self._compute_gamma(x)
                # sample mask
                mask = (torch.rand(x.shape[0], *x.shape[2:]) < gamma).float()
                # place mask on input device
                mask = mask.to(x.device)
                # compute block mask
                block_mask = self._compute_block_mask(mask)
                # apply block mask
                out = x * block_mask[:, None, :, :]
                # scale output
                out = out * block_mask.numel() / block_mask.sum()
                return out

        def _compute_block_mask(self, mask: Any) -> Any:
            block_mask = F.max_pool2d(
                input=mask[:, None, :, :],
                kernel_size=(self.block_size, self.block_size),
                stride=(1, 1),
                padding=self.block_size // 2,
            )
            if self.block_size % 2 == 0:
                block_mask = block_mask[:, :, :-1, :-1]
            block_mask = 1 - block_mask.squeeze(1)
            return block_mask

        def _compute_gamma(self, x: Any) -> float:
            return self.drop_prob / (self.block_size**2)

    class LinearScheduler(nn.Module):
        def __init__(self, dropblock: Any, start_value: float, stop_value: float,
                     nr_steps: int) -> None:  # fmt: skip
            super(LinearScheduler, self).__init__()  # noqa: UP008
            self.dropblock = dropblock
            self.i = 0
            self.drop_values = np.linspace(start=start_value, stop=stop_value, num=int(nr_steps))

        def forward(self, x: Any) -> Any:
            return self.dropblock(x)

        def step(self) -> None:
            if self.i < len(self.drop_values):
                self.dropblock.drop_prob = self.drop_values[self.i]
            self.i += 1

    class ResidualPath(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
            super(ResidualPath, self).__init__()  # noqa: UP008
            self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(out_channels)
            self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(out_channels)

        def forward(self, x: Any) -> Any:
            x = F.relu(x, inplace=False)
            x = F.relu(self.bn1(self.conv1(x)), inplace=False)
            x = self.bn2(self.conv2(x))
            return x

    class SkipConnection(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
            super(SkipConnection, self).__init__()  # noqa: UP008
            self.stride = stride
            self.conv1 = nn.Conv2d(in_channels, out_channels // 2, 1, 1, 0, bias=False)
            self.conv2 = nn.Conv2d(in_channels, out_channels // 2, 1, 1, 0, bias=False)
            self.bn = nn.BatchNorm2d(out_channels)

        def forward(self, x: Any) -> Any:
            x = F.relu(x, inplace=False)
            y1 = F.avg_pool2d(x, kernel_size=1, stride=self.stride, padding=0)
            y1 = self.conv1(y1)

            y2 = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
            y2 = F.avg_pool2d(y2, kernel_size=1, stride=self.stride, padding=0)
            y2 = self.conv2(y2)

            z = torch.cat([y1, y2], dim=1)
            z = self.bn(z)
            return z

    class BasicBlock(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, stride: int,
                     shake_config: tuple) -> None:  # fmt: skip
            super(BasicBlock, self).__init__()  # noqa: UP008
            self.shake_config = shake_config
            self.residual_path1 = ResidualPath(in_channels, out_channels, stride)
            self.residual_path2 = ResidualPath(in_channels, out_channels, stride)
            self.shortcut = nn.Sequential()
            if in_channels != out_channels:
                self.shortcut.add_module("skip", SkipConnection(in_channels, out_channels, stride))

        def forward(self, x: Any) -> Any:
            x1 = self.residual_path1(x)
            x2 = self.residual_path2(x)

            if self.training:
                shake_config = self.shake_config
            else:
                shake_config = (False, False, False)

            alpha, beta = get_alpha_beta(torch, x.size(0), shake_config, x.device)
            y = shake_function(x1, x2, alpha, beta)

            return self.shortcut(x) + y

    class Network(nn.Module):
        def __init__(self) -> None:
            super(Network, self).__init__()  # noqa: UP008
            self.shake_config = (True, True, True)
            self.conv = nn.Conv2d(3, 4, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(4)
            self.dropblock = LinearScheduler(
                DropBlock2D(drop_prob=0.0, block_size=3), start_value=0.0, stop_value=0.25,
                nr_steps=3,
            )  # fmt: skip
            self.stage1 = nn.Sequential(
                BasicBlock(4, 8, 2, self.shake_config),
                BasicBlock(8, 8, 1, (True, True, False)),
            )
            self.dropblock2 = DropBlock2D(drop_prob=0.2, block_size=2)
            self.fc = nn.Linear(8, 3)
            self.apply(initialize_weights)

        def forward(self, x: Any) -> Any:
            x = F.relu(self.bn(self.conv(x)), inplace=True)
            x = self.dropblock(x)
            x = self.stage1(x)
            x = self.dropblock2(x)
            x = F.relu(x, inplace=True)
            x = F.adaptive_avg_pool2d(x, output_size=1)
            x = x.view(x.size(0), -1)
            x = self.fc(x)
            return x

    return Network()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(2)
    torch.manual_seed(4)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4,
                                nesterov=True)  # fmt: skip
    criterion = nn.CrossEntropyLoss(reduction="mean")
    values: list[float] = []
    model.train()
    for _ in range(4):
        model.dropblock.step()
        data = as_tensor(torch, rng.normal(size=(4, 3, 8, 8)))
        targets = as_tensor(torch, rng.integers(0, 3, size=4))
        optimizer.zero_grad()
        outputs = model(data)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(model.dropblock.dropblock.drop_prob)]
    model.eval()
    with torch.no_grad():
        outputs = model(as_tensor(torch, rng.normal(size=(2, 3, 8, 8))))
    values += outputs.flatten().tolist()
    return values
