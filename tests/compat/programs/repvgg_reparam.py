"""RepVGG as DingXiaoH's ``repvgg.py`` writes it (``RepVGGBlock``, ``conv_bn``, ``SEBlock``,
``repvgg_model_convert``), size-reduced.

The idioms: ``conv_bn`` building ``nn.Sequential()`` with ``add_module("conv", ...)`` and
``add_module("bn", ...)``; the three training-time branches (``rbr_dense`` 3x3 conv+BN,
``rbr_1x1`` 1x1 conv+BN with ``padding_11 = padding - kernel_size // 2``, ``rbr_identity`` a bare
``BatchNorm2d`` when ``out_channels == in_channels and stride == 1``, else ``None`` and
``id_out = 0``); ``SEBlock`` (``F.avg_pool2d(inputs, kernel_size=inputs.size(3))``, 1x1 convs,
``torch.sigmoid``, ``x.view(-1, self.input_channels, 1, 1)``); the custom L2 on the equivalent
kernel (``K3[:, :, 1:2, 1:2]``, ``t3 = (bn.weight / ((bn.running_var + bn.eps).sqrt()))
.reshape(-1, 1, 1, 1).detach()``); then the structural re-parameterisation: ``_fuse_bn_tensor``
(``std = (running_var + eps).sqrt()``, ``t = (gamma / std).reshape(-1, 1, 1, 1)``, ``kernel *
t, beta - running_mean * gamma / std``), the identity kernel built in NumPy (``kernel_value[i, i
% input_dim, 1, 1] = 1``, ``torch.from_numpy(kernel_value).to(branch.weight.device)``, cached as
``self.id_tensor``), ``_pad_1x1_to_3x3_tensor`` (``torch.nn.functional.pad(kernel1x1, [1, 1, 1,
1])``), ``switch_to_deploy`` (a new ``nn.Conv2d(..., bias=True)``, ``weight.data = kernel``,
``bias.data = bias``, ``self.__delattr__("rbr_dense")``, ``for para in self.parameters():
para.detach_()``) and ``repvgg_model_convert`` (``copy.deepcopy(model)``, ``for module in
model.modules(): if hasattr(module, "switch_to_deploy")``). The deployed model's eval outputs
must match the multi-branch model's.

Changed: RepVGG-A0's stages of widths 48..1280 are four blocks of width 8 (one grouped, ``groups
= 2``), 8x8 random NumPy images, five classes, three SGD steps.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

CLASSES, IMG, BATCH, STEPS = 5, 8, 4, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    def conv_bn(in_channels, out_channels, kernel_size, stride, padding, groups=1):
        result = nn.Sequential()
        result.add_module(
            "conv",
            nn.Conv2d(
                in_channels=in_channels,
                out_channels=out_channels,
                kernel_size=kernel_size,
                stride=stride,
                padding=padding,
                groups=groups,
                bias=False,
            ),
        )
        result.add_module("bn", nn.BatchNorm2d(num_features=out_channels))
        return result

    class SEBlock(nn.Module):
        def __init__(self, input_channels: int, internal_neurons: int) -> None:
            super().__init__()
            self.down = nn.Conv2d(
                in_channels=input_channels, out_channels=internal_neurons, kernel_size=1,
                stride=1, bias=True,
            )  # fmt: skip
            self.up = nn.Conv2d(
                in_channels=internal_neurons, out_channels=input_channels, kernel_size=1,
                stride=1, bias=True,
            )  # fmt: skip
            self.input_channels = input_channels

        def forward(self, inputs: Any) -> Any:
            x = F.avg_pool2d(inputs, kernel_size=inputs.size(3))
            x = self.down(x)
            x = F.relu(x)
            x = self.up(x)
            x = torch.sigmoid(x)
            x = x.view(-1, self.input_channels, 1, 1)
            return inputs * x

    class RepVGGBlock(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            kernel_size: int,
            stride: int = 1,
            padding: int = 0,
            dilation: int = 1,
            groups: int = 1,
            padding_mode: str = "zeros",
            deploy: bool = False,
            use_se: bool = False,
        ) -> None:
            super().__init__()
            self.deploy = deploy
            self.groups = groups
            self.in_channels = in_channels
            assert kernel_size == 3
            assert padding == 1
            padding_11 = padding - kernel_size // 2
            self.nonlinearity = nn.ReLU()
            if use_se:
                self.se = SEBlock(out_channels, internal_neurons=out_channels // 4)
            else:
                self.se = nn.Identity()
            if deploy:
                self.rbr_reparam = nn.Conv2d(
                    in_channels=in_channels, out_channels=out_channels,
                    kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                    groups=groups, bias=True, padding_mode=padding_mode,
                )  # fmt: skip
            else:
                self.rbr_identity = (
                    nn.BatchNorm2d(num_features=in_channels)
                    if out_channels == in_channels and stride == 1
                    else None
                )
                self.rbr_dense = conv_bn(
                    in_channels=in_channels, out_channels=out_channels,
                    kernel_size=kernel_size, stride=stride, padding=padding, groups=groups,
                )  # fmt: skip
                self.rbr_1x1 = conv_bn(
                    in_channels=in_channels, out_channels=out_channels, kernel_size=1,
                    stride=stride, padding=padding_11, groups=groups,
                )  # fmt: skip

        def forward(self, inputs: Any) -> Any:
            if hasattr(self, "rbr_reparam"):
                return self.nonlinearity(self.se(self.rbr_reparam(inputs)))
            if self.rbr_identity is None:
                id_out = 0
            else:
                id_out = self.rbr_identity(inputs)
            return self.nonlinearity(
                self.se(self.rbr_dense(inputs) + self.rbr_1x1(inputs) + id_out)
            )

        def get_custom_L2(self) -> Any:
            K3 = self.rbr_dense.conv.weight
            K1 = self.rbr_1x1.conv.weight
            bn3, bn1 = self.rbr_dense.bn, self.rbr_1x1.bn
            t3 = (bn3.weight / ((bn3.running_var + bn3.eps).sqrt())).reshape(-1, 1, 1, 1).detach()
            t1 = (bn1.weight / ((bn1.running_var + bn1.eps).sqrt())).reshape(-1, 1, 1, 1).detach()
            l2_loss_circle = (K3**2).sum() - (K3[:, :, 1:2, 1:2] ** 2).sum()
            eq_kernel = K3[:, :, 1:2, 1:2] * t3 + K1 * t1
            l2_loss_eq_kernel = (eq_kernel**2 / (t3**2 + t1**2)).sum()
            return l2_loss_eq_kernel + l2_loss_circle

        def get_equivalent_kernel_bias(self) -> tuple[Any, Any]:
            kernel3x3, bias3x3 = self._fuse_bn_tensor(self.rbr_dense)
            kernel1x1, bias1x1 = self._fuse_bn_tensor(self.rbr_1x1)
            kernelid, biasid = self._fuse_bn_tensor(self.rbr_identity)
            return (
                kernel3x3 + self._pad_1x1_to_3x3_tensor(kernel1x1) + kernelid,
                bias3x3 + bias1x1 + biasid,
            )

        def _pad_1x1_to_3x3_tensor(self, kernel1x1: Any) -> Any:
            if kernel1x1 is None:
                return 0
            return torch.nn.functional.pad(kernel1x1, [1, 1, 1, 1])

        def _fuse_bn_tensor(self, branch: Any) -> tuple[Any, Any]:
            if branch is None:
                return 0, 0
            if isinstance(branch, nn.Sequential):
                kernel = branch.conv.weight
                running_mean = branch.bn.running_mean
                running_var = branch.bn.running_var
                gamma = branch.bn.weight
                beta = branch.bn.bias
                eps = branch.bn.eps
            else:
                assert isinstance(branch, nn.BatchNorm2d)
                if not hasattr(self, "id_tensor"):
                    input_dim = self.in_channels // self.groups
                    kernel_value = np.zeros((self.in_channels, input_dim, 3, 3), dtype=np.float64)
                    for i in range(self.in_channels):
                        kernel_value[i, i % input_dim, 1, 1] = 1
                    self.id_tensor = torch.from_numpy(kernel_value).to(branch.weight.device)
                kernel = self.id_tensor
                running_mean = branch.running_mean
                running_var = branch.running_var
                gamma = branch.weight
                beta = branch.bias
                eps = branch.eps
            std = (running_var + eps).sqrt()
            t = (gamma / std).reshape(-1, 1, 1, 1)
            return kernel * t, beta - running_mean * gamma / std

        def switch_to_deploy(self) -> None:
            if hasattr(self, "rbr_reparam"):
                return
            kernel, bias = self.get_equivalent_kernel_bias()
            self.rbr_reparam = nn.Conv2d(
                in_channels=self.rbr_dense.conv.in_channels,
                out_channels=self.rbr_dense.conv.out_channels,
                kernel_size=self.rbr_dense.conv.kernel_size,
                stride=self.rbr_dense.conv.stride,
                padding=self.rbr_dense.conv.padding,
                dilation=self.rbr_dense.conv.dilation,
                groups=self.rbr_dense.conv.groups,
                bias=True,
            )
            self.rbr_reparam.weight.data = kernel
            self.rbr_reparam.bias.data = bias
            self.__delattr__("rbr_dense")
            self.__delattr__("rbr_1x1")
            if hasattr(self, "rbr_identity"):
                self.__delattr__("rbr_identity")
            if hasattr(self, "id_tensor"):
                self.__delattr__("id_tensor")
            self.deploy = True

    class RepVGG(nn.Module):
        def __init__(self, num_classes: int = 1000, deploy: bool = False) -> None:
            super().__init__()
            self.deploy = deploy
            self.in_planes = 8
            self.stage0 = RepVGGBlock(
                in_channels=3, out_channels=self.in_planes, kernel_size=3, stride=1, padding=1,
                deploy=self.deploy,
            )  # fmt: skip
            self.cur_layer_idx = 1
            self.stage1 = self._make_stage(8, 2, stride=1, groups=(1, 2))
            self.stage2 = self._make_stage(8, 1, stride=2, groups=(1,), use_se=True)
            self.gap = nn.AdaptiveAvgPool2d(output_size=1)
            self.linear = nn.Linear(8, num_classes)

        def _make_stage(self, planes, num_blocks, stride, groups, use_se=False):
            strides = [stride] + [1] * (num_blocks - 1)
            blocks = []
            for stride, cur_groups in zip(strides, groups, strict=True):
                blocks.append(
                    RepVGGBlock(
                        in_channels=self.in_planes, out_channels=planes, kernel_size=3,
                        stride=stride, padding=1, groups=cur_groups, deploy=self.deploy,
                        use_se=use_se,
                    )
                )  # fmt: skip
                self.in_planes = planes
                self.cur_layer_idx += 1
            return nn.ModuleList(blocks)

        def forward(self, x: Any) -> Any:
            out = self.stage0(x)
            for stage in (self.stage1, self.stage2):
                for block in stage:
                    out = block(out)
            out = self.gap(out)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    return RepVGG(num_classes=CLASSES)


def repvgg_model_convert(model: Any, do_copy: bool = True) -> Any:
    if do_copy:
        model = copy.deepcopy(model)
    for module in model.modules():
        if hasattr(module, "switch_to_deploy"):
            module.switch_to_deploy()
    return model


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = [float(model.stage2[0].rbr_identity is None)]
    values += [float(model.stage1[0].rbr_1x1.conv.padding[0])]

    rng = np.random.default_rng(25)
    images = as_tensor(torch, rng.standard_normal((BATCH, 3, IMG, IMG)))
    labels = as_tensor(torch, rng.integers(0, CLASSES, BATCH))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    model.train()
    for _step in range(STEPS):
        output = model(images)
        loss = criterion(output, labels)
        l2 = sum(
            m.get_custom_L2() for m in model.modules() if hasattr(m, "get_custom_L2")
        )  # fmt: skip
        total = loss + 1e-4 * 0.5 * l2
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        values += [loss.item(), l2.item()]
        values += [model.stage1[1].rbr_identity.weight.grad.abs().sum().item()]
    values += model.stage1[1].rbr_identity.running_var.tolist()

    model.eval()
    deployed = repvgg_model_convert(model)
    for para in deployed.parameters():
        para.detach_()
    with torch.no_grad():
        ref = model(images)
        out = deployed(images)
        feat = as_tensor(torch, rng.standard_normal((2, 8, IMG, IMG)))
        block = model.stage1[1]
        ref_block = block(feat)
        fused_block = deployed.stage1[1](feat)
    values += ref.flatten().tolist() + out.flatten().tolist()
    values += [(ref - out).abs().max().item(), (ref_block - fused_block).abs().max().item()]
    names = sorted(n for n, _ in deployed.named_parameters())
    values += [float(len(names)), float(len(list(model.parameters())))]
    values += [
        float(any("rbr_dense" in n for n in names)),
        float(hasattr(model.stage0, "rbr_reparam")),
    ]
    values += deployed.stage1[1].rbr_reparam.weight[:, :, 1, 1].flatten().tolist()
    values += deployed.stage1[1].rbr_reparam.bias.tolist()
    values += [float(deployed.stage1[1].rbr_reparam.weight.requires_grad)]
    return values


def check(values: list[float]) -> None:
    # the fused model reproduces the multi-branch model's eval outputs
    n = CLASSES * BATCH
    start = 2 + 3 * STEPS + 8 + 2 * n
    assert values[start] < 1e-9, values[start]
    assert values[start + 1] < 1e-9, values[start + 1]
