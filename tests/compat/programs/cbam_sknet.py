"""CBAM and SKNet attention as their popular ports write them, in a small classifier: Jongchan
Park's ``attention-module/MODELS/cbam.py``, luuuyi's ``CBAM.PyTorch``, ResearchingDexter's and
pppLang's ``SKNet`` and timm's ``layers/selective_kernel.py``, size-reduced.

The idioms, CBAM: ``BasicConv`` (``nn.BatchNorm2d(out_planes, eps=1e-5, momentum=0.01,
affine=True) if bn else None``); ``ChannelGate`` looping over ``pool_types`` (``F.avg_pool2d(x,
(x.size(2), x.size(3)), stride=(x.size(2), x.size(3)))``, the same with ``F.max_pool2d`` and
``F.lp_pool2d(x, 2, ...)``, ``logsumexp_2d`` = ``s, _ = torch.max(tensor_flatten, dim=2,
keepdim=True)`` + ``(tensor_flatten - s).exp().sum(dim=2, keepdim=True).log()``, one shared
``nn.Sequential(Flatten(), Linear, ReLU, Linear)``, ``F.sigmoid(channel_att_sum).unsqueeze(2)
.unsqueeze(3).expand_as(x)``); ``ChannelPool`` (``torch.cat((torch.max(x, 1)[0].unsqueeze(1),
torch.mean(x, 1).unsqueeze(1)), dim=1)``) into a 7x7 ``SpatialGate``; luuuyi's
``ChannelAttention`` (``nn.AdaptiveAvgPool2d(1)`` and ``nn.AdaptiveMaxPool2d(1)`` through one
1x1-conv MLP) and ``SpatialAttention`` (``torch.mean(x, dim=1, keepdim=True)``, ``max_out, _ =
torch.max(x, dim=1, keepdim=True)``) applied as ``out = self.ca(out) * out`` in a residual block.
SKNet: branches with growing ``dilation=1 + i`` / ``padding=1 + i`` and ``groups``, fused by
``functools.reduce(lambda x, y: x + y, output)``, ``nn.AdaptiveAvgPool2d(output_size=1)``, a 1x1
``fc1`` / ``fc2``, ``a_b.reshape(batch_size, self.M, self.out_channels, -1)``, ``nn.Softmax(dim=1)``
and ``a_b.chunk(self.M, dim=1)``; pppLang's ``conv(x).unsqueeze_(dim=1)`` / ``torch.cat``
accumulation, ``fea_U.mean(-1).mean(-1)`` and per-branch ``nn.Linear`` heads; timm's
``SelectiveKernel`` (``torch.split(x, self.in_channels // self.num_paths, 1)`` with
``split_input``, ``torch.stack(x_paths, dim=1)``, ``SelectiveKernelAttn``: ``x.sum(1)``,
``F.adaptive_avg_pool2d``, ``x.view(B, self.num_paths, C // self.num_paths, H, W)``,
``torch.softmax(x, dim=1)``, ``torch.sum(x * x_attn, dim=1)``). Trained with SGD and
``nn.CrossEntropyLoss``, then evaluated.

Changed: ResNet-50 / SKNet-50 stages are one block each of width 16 on 8x8 random NumPy images,
five classes, two steps.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

CLASSES, IMG, BATCH, STEPS, WIDTH = 5, 8, 4, 2, 16


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    # --- CBAM, Jongchan Park's attention-module ---------------------------------------------
    class BasicConv(nn.Module):
        def __init__(
            self, in_planes, out_planes, kernel_size, stride=1, padding=0, dilation=1, groups=1,
            relu=True, bn=True, bias=False,
        ):  # fmt: skip
            super().__init__()
            self.out_channels = out_planes
            self.conv = nn.Conv2d(
                in_planes, out_planes, kernel_size=kernel_size, stride=stride, padding=padding,
                dilation=dilation, groups=groups, bias=bias,
            )  # fmt: skip
            self.bn = (
                nn.BatchNorm2d(out_planes, eps=1e-5, momentum=0.01, affine=True) if bn else None
            )
            self.relu = nn.ReLU() if relu else None

        def forward(self, x):
            x = self.conv(x)
            if self.bn is not None:
                x = self.bn(x)
            if self.relu is not None:
                x = self.relu(x)
            return x

    class Flatten(nn.Module):
        def forward(self, x):
            return x.view(x.size(0), -1)

    def logsumexp_2d(tensor):
        tensor_flatten = tensor.view(tensor.size(0), tensor.size(1), -1)
        s, _ = torch.max(tensor_flatten, dim=2, keepdim=True)
        outputs = s + (tensor_flatten - s).exp().sum(dim=2, keepdim=True).log()
        return outputs

    class ChannelGate(nn.Module):
        def __init__(self, gate_channels, reduction_ratio=16, pool_types=("avg", "max")):
            super().__init__()
            self.gate_channels = gate_channels
            self.mlp = nn.Sequential(
                Flatten(),
                nn.Linear(gate_channels, gate_channels // reduction_ratio),
                nn.ReLU(),
                nn.Linear(gate_channels // reduction_ratio, gate_channels),
            )
            self.pool_types = pool_types

        def forward(self, x):
            channel_att_sum = None
            for pool_type in self.pool_types:
                if pool_type == "avg":
                    avg_pool = F.avg_pool2d(
                        x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3))
                    )
                    channel_att_raw = self.mlp(avg_pool)
                elif pool_type == "max":
                    max_pool = F.max_pool2d(
                        x, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3))
                    )
                    channel_att_raw = self.mlp(max_pool)
                elif pool_type == "lp":
                    lp_pool = F.lp_pool2d(
                        x, 2, (x.size(2), x.size(3)), stride=(x.size(2), x.size(3))
                    )
                    channel_att_raw = self.mlp(lp_pool)
                elif pool_type == "lse":
                    # LSE pool only
                    lse_pool = logsumexp_2d(x)
                    channel_att_raw = self.mlp(lse_pool)

                if channel_att_sum is None:
                    channel_att_sum = channel_att_raw
                else:
                    channel_att_sum = channel_att_sum + channel_att_raw

            scale = F.sigmoid(channel_att_sum).unsqueeze(2).unsqueeze(3).expand_as(x)
            return x * scale

    class ChannelPool(nn.Module):
        def forward(self, x):
            return torch.cat(
                (torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1
            )

    class SpatialGate(nn.Module):
        def __init__(self):
            super().__init__()
            kernel_size = 7
            self.compress = ChannelPool()
            self.spatial = BasicConv(
                2, 1, kernel_size, stride=1, padding=(kernel_size - 1) // 2, relu=False
            )

        def forward(self, x):
            x_compress = self.compress(x)
            x_out = self.spatial(x_compress)
            scale = F.sigmoid(x_out)  # broadcasting
            return x * scale

    class CBAM(nn.Module):
        def __init__(
            self, gate_channels, reduction_ratio=16, pool_types=("avg", "max"), no_spatial=False
        ):
            super().__init__()
            self.ChannelGate = ChannelGate(gate_channels, reduction_ratio, pool_types)
            self.no_spatial = no_spatial
            if not no_spatial:
                self.SpatialGate = SpatialGate()

        def forward(self, x):
            x_out = self.ChannelGate(x)
            if not self.no_spatial:
                x_out = self.SpatialGate(x_out)
            return x_out

    # --- CBAM, luuuyi's CBAM.PyTorch -----------------------------------------------------------
    class ChannelAttention(nn.Module):
        def __init__(self, in_planes, ratio=16):
            super().__init__()
            self.avg_pool = nn.AdaptiveAvgPool2d(1)
            self.max_pool = nn.AdaptiveMaxPool2d(1)
            self.fc = nn.Sequential(
                nn.Conv2d(in_planes, in_planes // ratio, 1, bias=False),
                nn.ReLU(),
                nn.Conv2d(in_planes // ratio, in_planes, 1, bias=False),
            )
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            avg_out = self.fc(self.avg_pool(x))
            max_out = self.fc(self.max_pool(x))
            out = avg_out + max_out
            return self.sigmoid(out)

    class SpatialAttention(nn.Module):
        def __init__(self, kernel_size=7):
            super().__init__()
            self.conv1 = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            avg_out = torch.mean(x, dim=1, keepdim=True)
            max_out, _ = torch.max(x, dim=1, keepdim=True)
            x = torch.cat([avg_out, max_out], dim=1)
            x = self.conv1(x)
            return self.sigmoid(x)

    class CBAMBasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.ca = ChannelAttention(planes, ratio=4)
            self.sa = SpatialAttention()
            self.downsample = downsample
            self.stride = stride

        def forward(self, x):
            residual = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            out = self.ca(out) * out
            out = self.sa(out) * out
            if self.downsample is not None:
                residual = self.downsample(x)
            out += residual
            out = self.relu(out)
            return out

    # --- SKNet, ResearchingDexter's SKConv ---------------------------------------------------
    class SKConv(nn.Module):
        def __init__(self, in_channels, out_channels, stride=1, M=2, r=16, L=32, groups=32):
            super().__init__()
            d = max(in_channels // r, L)
            self.M = M
            self.out_channels = out_channels
            self.conv = nn.ModuleList()
            for i in range(M):
                self.conv.append(
                    nn.Sequential(
                        nn.Conv2d(
                            in_channels, out_channels, 3, stride, padding=1 + i, dilation=1 + i,
                            groups=groups, bias=False,
                        ),
                        nn.BatchNorm2d(out_channels),
                        nn.ReLU(inplace=True),
                    )
                )  # fmt: skip
            self.global_pool = nn.AdaptiveAvgPool2d(output_size=1)
            self.fc1 = nn.Sequential(
                nn.Conv2d(out_channels, d, 1, bias=False), nn.BatchNorm2d(d), nn.ReLU(inplace=True)
            )
            self.fc2 = nn.Conv2d(d, out_channels * M, 1, 1, bias=False)
            self.softmax = nn.Softmax(dim=1)

        def forward(self, input):
            batch_size = input.size(0)
            output = []
            # the part of split
            for _i, conv in enumerate(self.conv):
                output.append(conv(input))
            # the part of fusion
            U = functools.reduce(lambda x, y: x + y, output)
            s = self.global_pool(U)
            z = self.fc1(s)
            a_b = self.fc2(z)
            a_b = a_b.reshape(batch_size, self.M, self.out_channels, -1)
            a_b = self.softmax(a_b)
            # the part of selection
            a_b = list(a_b.chunk(self.M, dim=1))  # split to a and b
            a_b = [x.reshape(batch_size, self.out_channels, 1, 1) for x in a_b]
            V = [x * y for x, y in zip(output, a_b, strict=True)]
            V = functools.reduce(lambda x, y: x + y, V)
            return V

    # --- SKNet, pppLang's SKConv (kernel sizes 3 + 2i, Linear heads) -----------------------------
    class SKConvLinear(nn.Module):
        def __init__(self, features, WH, M, G, r, stride=1, L=32):
            super().__init__()
            d = max(int(features / r), L)
            self.M = M
            self.features = features
            self.convs = nn.ModuleList([])
            for i in range(M):
                self.convs.append(
                    nn.Sequential(
                        nn.Conv2d(
                            features, features, kernel_size=3 + i * 2, stride=stride,
                            padding=1 + i, groups=G,
                        ),
                        nn.BatchNorm2d(features),
                        nn.ReLU(inplace=False),
                    )
                )  # fmt: skip
            self.fc = nn.Linear(features, d)
            self.fcs = nn.ModuleList([])
            for _i in range(M):
                self.fcs.append(nn.Linear(d, features))
            self.softmax = nn.Softmax(dim=1)

        def forward(self, x):
            for i, conv in enumerate(self.convs):
                # the port's ``conv(x).unsqueeze_(dim=1)`` bumps the version of the ReLU output
                # that ReLU's backward saved: PyTorch >= 1.x refuses it at backward time
                fea = conv(x).unsqueeze(dim=1) if self.training else conv(x).unsqueeze_(dim=1)
                if i == 0:
                    feas = fea
                else:
                    feas = torch.cat([feas, fea], dim=1)
            fea_U = torch.sum(feas, dim=1)
            fea_s = fea_U.mean(-1).mean(-1)
            fea_z = self.fc(fea_s)
            for i, fc in enumerate(self.fcs):
                vector = fc(fea_z).unsqueeze_(dim=1)
                if i == 0:
                    attention_vectors = vector
                else:
                    attention_vectors = torch.cat([attention_vectors, vector], dim=1)
            attention_vectors = self.softmax(attention_vectors)
            attention_vectors = attention_vectors.unsqueeze(-1).unsqueeze(-1)
            fea_v = (feas * attention_vectors).sum(dim=1)
            return fea_v

    # --- SKNet, timm's SelectiveKernel -------------------------------------------------------
    class ConvNormAct(nn.Sequential):
        def __init__(self, in_chs, out_chs, kernel_size, stride=1, dilation=1, groups=1):
            super().__init__()
            padding = ((stride - 1) + dilation * (kernel_size - 1)) // 2
            self.conv = nn.Conv2d(
                in_chs, out_chs, kernel_size, stride, padding, dilation, groups, bias=False
            )
            self.bn = nn.BatchNorm2d(out_chs)
            self.act = nn.ReLU(inplace=True)

    class SelectiveKernelAttn(nn.Module):
        def __init__(self, channels, num_paths=2, attn_channels=32):
            super().__init__()
            self.num_paths = num_paths
            self.fc_reduce = nn.Conv2d(channels, attn_channels, kernel_size=1, bias=False)
            self.bn = nn.BatchNorm2d(attn_channels)
            self.act = nn.ReLU(inplace=True)
            self.fc_select = nn.Conv2d(
                attn_channels, channels * num_paths, kernel_size=1, bias=False
            )

        def forward(self, x):
            assert x.shape[1] == self.num_paths
            x = x.sum(1)
            x = F.adaptive_avg_pool2d(x, (1, 1))
            x = self.fc_reduce(x)
            x = self.bn(x)
            x = self.act(x)
            x = self.fc_select(x)
            B, C, H, W = x.shape
            x = x.view(B, self.num_paths, C // self.num_paths, H, W)
            x = torch.softmax(x, dim=1)
            return x

    class SelectiveKernel(nn.Module):
        def __init__(
            self, in_channels, out_channels=None, kernel_size=None, stride=1, dilation=1,
            groups=1, rd_ratio=1.0 / 16, rd_divisor=8, keep_3x3=True, split_input=True,
        ):  # fmt: skip
            super().__init__()
            out_channels = out_channels or in_channels
            kernel_size = kernel_size or [3, 5]  # default to one 3x3 and one 5x5 branch
            if keep_3x3:
                dilation = [dilation * (k - 1) // 2 for k in kernel_size]
                kernel_size = [3] * len(kernel_size)
            else:
                dilation = [dilation] * len(kernel_size)
            self.num_paths = len(kernel_size)
            self.in_channels = in_channels
            self.out_channels = out_channels
            self.split_input = split_input
            if self.split_input:
                assert in_channels % self.num_paths == 0
                in_channels = in_channels // self.num_paths
            groups = min(out_channels, groups)
            self.paths = nn.ModuleList(
                [
                    ConvNormAct(in_channels, out_channels, kernel_size=k, stride=stride,
                                dilation=d, groups=groups)
                    for k, d in zip(kernel_size, dilation, strict=True)
                ]
            )  # fmt: skip
            attn_channels = max(int(out_channels * rd_ratio), rd_divisor)
            self.attn = SelectiveKernelAttn(out_channels, self.num_paths, attn_channels)

        def forward(self, x):
            if self.split_input:
                x_split = torch.split(x, self.in_channels // self.num_paths, 1)
                x_paths = [op(x_split[i]) for i, op in enumerate(self.paths)]
            else:
                x_paths = [op(x) for op in self.paths]
            x = torch.stack(x_paths, dim=1)
            x_attn = self.attn(x)
            x = x * x_attn
            x = torch.sum(x, dim=1)
            return x

    class AttentionNet(nn.Module):
        def __init__(self, num_classes=CLASSES):
            super().__init__()
            self.stem = BasicConv(3, WIDTH, 3, padding=1)
            self.layer1 = CBAMBasicBlock(WIDTH, WIDTH)
            self.sk1 = SKConv(WIDTH, WIDTH, M=2, r=16, L=8, groups=4)
            self.cbam = CBAM(WIDTH, reduction_ratio=4, pool_types=("avg", "max", "lp", "lse"))
            self.sk2 = SKConvLinear(WIDTH, IMG, M=2, G=2, r=2, L=8)
            self.sk3 = SelectiveKernel(WIDTH, WIDTH, groups=2, rd_divisor=8)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(WIDTH, num_classes)

        def forward(self, x):
            x = self.stem(x)
            x = self.layer1(x)
            x = self.sk1(x)
            x = self.cbam(x)
            x = self.sk2(x)
            x = self.sk3(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.fc(x)

    return AttentionNet()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = [
        float(c.dilation[0]) for c in model.sk3.paths.modules() if isinstance(c, nn.Conv2d)
    ]
    values += [float(model.sk1.conv[1][0].groups), float(model.sk3.attn.fc_reduce.out_channels)]

    rng = np.random.default_rng(17)
    images = as_tensor(torch, rng.standard_normal((BATCH, 3, IMG, IMG)))
    labels = as_tensor(torch, rng.integers(0, CLASSES, BATCH))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    model.train()
    for _step in range(STEPS):
        output = model(images)
        loss = criterion(output, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), (output.argmax(1) == labels).float().mean().item()]
        values += [model.cbam.ChannelGate.mlp[1].weight.grad.norm().item()]
        values += [model.cbam.SpatialGate.spatial.conv.weight.grad.abs().sum().item()]
        values += [model.layer1.sa.conv1.weight.grad.norm().item()]
        values += [
            model.sk1.fc2.weight.grad.norm().item(),
            model.sk2.fcs[1].bias.grad.norm().item(),
        ]
        values += [model.sk3.attn.fc_select.weight.grad.norm().item()]
    values += model.sk1.conv[1][1].running_mean.tolist()
    values += model.cbam.SpatialGate.spatial.bn.running_var.tolist()

    # the in-place unsqueeze on a saved ReLU output is refused when the graph is walked back
    sk2 = model.sk2
    feas = [conv(images.new_ones(1, WIDTH, 4, 4)).unsqueeze_(dim=1) for conv in sk2.convs]
    try:
        torch.cat(feas, dim=1).sum().backward()
        values += [0.0]
    except RuntimeError:
        values += [1.0]
    model.zero_grad()

    model.eval()
    with torch.no_grad():
        logits = model(images)
        feat = model.layer1(model.stem(images))
        ca = model.layer1.ca(feat)
        sa = model.layer1.sa(feat)
        x = torch.stack([p(feat[:, i * 8 : (i + 1) * 8]) for i, p in enumerate(model.sk3.paths)], 1)
        attn = model.sk3.attn(x)
    values += logits.flatten().tolist()
    values += (
        list(ca.shape) + ca.flatten()[:8].tolist() + list(sa.shape) + sa.flatten()[::9].tolist()
    )
    values += list(attn.shape) + attn.sum(1).flatten()[:4].tolist() + attn[0, 0].flatten().tolist()
    return values
