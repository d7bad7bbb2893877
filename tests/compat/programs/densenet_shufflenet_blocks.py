"""DenseNet and ShuffleNetV2 as torchvision writes them (``torchvision/models/densenet.py`` and
``shufflenetv2.py``), size-reduced to one dense block, a transition and two shuffle stages.

The idioms: ``_DenseLayer`` with ``bn_function(self, inputs: List[Tensor])`` doing
``concated_features = torch.cat(inputs, 1)``, ``any_requires_grad`` over the inputs, the
memory-efficient path ``call_checkpoint_bottleneck`` decorated ``@torch.jit.unused`` that runs
``cp.checkpoint(closure, *input, use_reentrant=False)`` (``torch.utils.checkpoint as cp``),
``torch.jit.is_scripting()`` and ``torch.jit.annotate(List[Tensor], [])``, the overloads'
``isinstance(input, Tensor)`` check, ``F.dropout(new_features, p=self.drop_rate,
training=self.training)``; ``_DenseBlock(nn.ModuleDict)`` with ``self.add_module('denselayer%d'
% (i + 1), layer)`` and ``for name, layer in self.items()``; ``_Transition(nn.Sequential)`` with
``nn.AvgPool2d(kernel_size=2, stride=2)``; ``nn.Sequential(OrderedDict([...]))`` and
``self.features.add_module('denseblock%d' % (i + 1), block)``; ``F.adaptive_avg_pool2d(out,
(1, 1))`` and ``torch.flatten(out, 1)``; ShuffleNetV2's ``channel_shuffle`` (``x.view(
batchsize, groups, channels_per_group, height, width)``, ``torch.transpose(x, 1, 2).contiguous()``,
``x.view(batchsize, -1, height, width)``), ``InvertedResidual`` with ``x1, x2 = x.chunk(2,
dim=1)`` and the stride-2 two-branch form with a depthwise ``nn.Conv2d(..., groups=i)``, the
global pool ``x.mean([2, 3])``; the init loops ``nn.init.kaiming_normal_(m.weight)`` /
``nn.init.constant_(m.bias, 0)`` / ``nn.init.zeros_``; and a few SGD steps with
``nesterov=True`` momentum and weight decay, then ``model.eval()`` forwards that must match
between the memory-efficient and the plain dense layers.

The weights come from the torch run's state dict (the init draws differ between libraries);
the init loops' effect is checked for what always holds (constant 1/0 BN, zero biases).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, List  # noqa: UP035 - torchvision annotates with typing.List

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

GROWTH, BN_SIZE, INIT_FEATURES, LAYERS, CLASSES, STEPS = 4, 2, 8, 3, 5, 3


def channel_shuffle(torch_like: Any, x: Any, groups: int) -> Any:
    torch = torch_like
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    # reshape
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    # flatten
    x = x.view(batchsize, -1, height, width)
    return x


def make_model(torch_like: Any, memory_efficient: bool = False) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    cp = torch_like.utils.checkpoint
    Tensor = torch_like.Tensor

    class _DenseLayer(nn.Module):
        def __init__(self, num_input_features: int, drop_rate: float) -> None:
            super().__init__()
            self.norm1 = nn.BatchNorm2d(num_input_features)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(
                num_input_features, BN_SIZE * GROWTH, kernel_size=1, stride=1, bias=False
            )
            self.norm2 = nn.BatchNorm2d(BN_SIZE * GROWTH)
            self.relu2 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(
                BN_SIZE * GROWTH, GROWTH, kernel_size=3, stride=1, padding=1, bias=False
            )
            self.drop_rate = float(drop_rate)
            self.memory_efficient = memory_efficient

        def bn_function(self, inputs: List[Tensor]) -> Tensor:  # noqa: UP006
            concated_features = torch.cat(inputs, 1)
            return self.conv1(self.relu1(self.norm1(concated_features)))

        def any_requires_grad(self, input: List[Tensor]) -> bool:  # noqa: UP006
            return any(tensor.requires_grad for tensor in input)

        @torch.jit.unused
        def call_checkpoint_bottleneck(self, input: List[Tensor]) -> Tensor:  # noqa: UP006
            def closure(*inputs: Any) -> Any:
                return self.bn_function(inputs)

            return cp.checkpoint(closure, *input, use_reentrant=False)

        def forward(self, input: Any) -> Tensor:
            prev_features = [input] if isinstance(input, Tensor) else input
            if self.memory_efficient and self.any_requires_grad(prev_features):
                if torch.jit.is_scripting():
                    raise Exception("Memory Efficient not supported in JIT")
                bottleneck_output = self.call_checkpoint_bottleneck(prev_features)
            else:
                bottleneck_output = self.bn_function(prev_features)
            new_features = self.conv2(self.relu2(self.norm2(bottleneck_output)))
            if self.drop_rate > 0:
                new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
            return new_features

    class _DenseBlock(nn.ModuleDict):
        _version = 2

        def __init__(self, num_layers: int, num_input_features: int) -> None:
            super().__init__()
            for i in range(num_layers):
                layer = _DenseLayer(num_input_features + i * GROWTH, drop_rate=0.0)
                self.add_module("denselayer%d" % (i + 1), layer)  # noqa: UP031

        def forward(self, init_features: Tensor) -> Tensor:
            features = torch.jit.annotate(List[Tensor], [init_features])  # noqa: UP006
            for _name, layer in self.items():
                new_features = layer(features)
                features.append(new_features)
            return torch.cat(features, 1)

    class _Transition(nn.Sequential):
        def __init__(self, num_input_features: int, num_output_features: int) -> None:
            super().__init__()
            self.norm = nn.BatchNorm2d(num_input_features)
            self.relu = nn.ReLU(inplace=True)
            self.conv = nn.Conv2d(
                num_input_features, num_output_features, kernel_size=1, stride=1, bias=False
            )
            self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, oup: int, stride: int) -> None:
            super().__init__()
            if not (1 <= stride <= 3):
                raise ValueError("illegal stride value")
            self.stride = stride
            branch_features = oup // 2
            if (self.stride == 1) and (inp != branch_features << 1):
                raise ValueError(
                    f"Invalid combination of stride {stride}, inp {inp} and oup {oup} values. "
                    "If stride == 1 then inp should be equal to oup // 2 << 1."
                )
            if self.stride > 1:
                self.branch1 = nn.Sequential(
                    self.depthwise_conv(inp, inp, kernel_size=3, stride=self.stride, padding=1),
                    nn.BatchNorm2d(inp),
                    nn.Conv2d(inp, branch_features, kernel_size=1, stride=1, padding=0, bias=False),
                    nn.BatchNorm2d(branch_features),
                    nn.ReLU(inplace=True),
                )
            else:
                self.branch1 = nn.Sequential()
            self.branch2 = nn.Sequential(
                nn.Conv2d(
                    inp if (self.stride > 1) else branch_features,
                    branch_features,
                    kernel_size=1,
                    stride=1,
                    padding=0,
                    bias=False,
                ),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True),
                self.depthwise_conv(
                    branch_features, branch_features, kernel_size=3, stride=self.stride, padding=1
                ),
                nn.BatchNorm2d(branch_features),
                nn.Conv2d(branch_features, branch_features, kernel_size=1, stride=1, bias=False),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True),
            )

        @staticmethod
        def depthwise_conv(
            i: int, o: int, kernel_size: int, stride: int = 1, padding: int = 0, bias: bool = False
        ) -> Any:
            return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)

        def forward(self, x: Tensor) -> Tensor:
            if self.stride == 1:
                x1, x2 = x.chunk(2, dim=1)
                out = torch.cat((x1, self.branch2(x2)), dim=1)
            else:
                out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
            return channel_shuffle(torch_like, out, 2)

    class DenseShuffleNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                OrderedDict(
                    [
                        ("conv0", nn.Conv2d(3, INIT_FEATURES, 3, stride=1, padding=1, bias=False)),
                        ("norm0", nn.BatchNorm2d(INIT_FEATURES)),
                        ("relu0", nn.ReLU(inplace=True)),
                    ]
                )
            )
            num_features = INIT_FEATURES
            block = _DenseBlock(LAYERS, num_features)
            self.features.add_module("denseblock%d" % 1, block)  # noqa: UP031
            num_features = num_features + LAYERS * GROWTH
            trans = _Transition(num_features, num_features // 2)
            self.features.add_module("transition%d" % 1, trans)  # noqa: UP031
            num_features = num_features // 2
            self.stage2 = nn.Sequential(
                InvertedResidual(num_features, 16, 2), InvertedResidual(16, 16, 1)
            )
            self.conv5 = nn.Sequential(
                nn.Conv2d(16, 24, 1, 1, 0, bias=False),
                nn.BatchNorm2d(24),
                nn.ReLU(inplace=True),
            )
            self.classifier = nn.Linear(24, CLASSES)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x: Tensor) -> Tensor:
            features = self.features(x)
            out = F.relu(features, inplace=True)
            out = self.stage2(out)
            out = self.conv5(out)
            pooled = F.adaptive_avg_pool2d(out, (1, 1))
            pooled = torch.flatten(pooled, 1)
            return self.classifier(pooled) + 0.1 * self.classifier(out.mean([2, 3]))

    return DenseShuffleNet()


def init_facts(torch_like: Any) -> list[float]:
    """What the init loops guarantee whatever the draws: BN 1/0, zero Linear bias."""
    nn = torch_like.nn
    model = make_model(torch_like)
    values = []
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            values += [float((m.weight == 1).all()), float((m.bias == 0).all())]
    values += [
        float((model.classifier.bias == 0).all()),
        float(model.classifier.weight.std() < 0.1),
    ]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(8)
    values = init_facts(torch_like)
    plain = make_model(torch_like)
    efficient = make_model(torch_like, memory_efficient=True)
    load_numpy_state(torch_like, plain, init)
    load_numpy_state(torch_like, efficient, init)
    values += [float(len(plain.features)), float(len(plain.features.denseblock1))]
    values += channel_shuffle(torch_like, torch.arange(8.0).view(1, 8, 1, 1), 2).flatten().tolist()
    for model in (plain, efficient):
        optimizer = torch.optim.SGD(
            model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4
        )
        data = np.random.default_rng(9)
        for _step in range(STEPS):
            x = as_tensor(torch_like, data.standard_normal((4, 3, 8, 8)))
            y = as_tensor(torch_like, data.integers(0, CLASSES, 4))
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            conv_grad = model.features.denseblock1.denselayer2.conv1.weight.grad
            values += [loss.item(), conv_grad.abs().sum().item()]
    plain.eval()
    efficient.eval()
    x = as_tensor(torch_like, rng.standard_normal((2, 3, 8, 8)))
    with torch.no_grad():
        out_plain = plain(x)
    out_efficient = efficient(x)  # eval with grad enabled: weights require grad, so checkpointed
    values += out_plain.flatten().tolist()
    values += [float(torch.allclose(out_plain, out_efficient, rtol=1e-10, atol=1e-12))]
    values += [plain.features.norm0.running_mean.sum().item()]
    values += [float(plain.features.norm0.num_batches_tracked)]
    return values
