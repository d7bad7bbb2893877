"""EfficientNet-B0's MBConv blocks, as lukemelas/EfficientNet-PyTorch's ``model.py`` /
``utils.py`` and timm's ``efficientnet_blocks.py`` write them (and the many copies of them),
size-reduced.

The idioms: ``round_filters`` (``new_filters = max(min_depth, int(filters + divisor / 2) //
divisor * divisor)``, ``if new_filters < 0.9 * filters: new_filters += divisor``) and
``round_repeats`` (``int(math.ceil(multiplier * repeats))``); ``Conv2dStaticSamePadding``
(TensorFlow's 'SAME' padding computed once: ``pad_h = max((oh - 1) * self.stride[0] + (kh - 1)
* self.dilation[0] + 1 - ih, 0)``, ``nn.ZeroPad2d((pad_w // 2, pad_w - pad_w // 2, pad_h // 2,
pad_h - pad_h // 2))``) and ``Conv2dDynamicSamePadding`` (the same amounts from ``x.size()[-2:]``
at each call, ``F.pad(x, [...])`` then ``F.conv2d(x, self.weight, self.bias, self.stride,
self.padding, self.dilation, self.groups)``), with ``math.ceil(ih / sh)``; the depthwise conv
(``groups=oup``); ``MemoryEfficientSwish`` as a ``torch.autograd.Function`` (``ctx.
save_for_backward(i)``, ``i * torch.sigmoid(i)``, ``sigmoid_i * (1 + i * (1 - sigmoid_i))``)
next to the plain ``Swish``; squeeze-and-excitation (``F.adaptive_avg_pool2d(x, 1)``, reduce and
expand 1x1 convs with bias, ``torch.sigmoid(x_squeezed) * x``); ``drop_connect`` (``keep_prob =
1 - p``, ``random_tensor = keep_prob + torch.rand([batch_size, 1, 1, 1], dtype=inputs.dtype,
device=inputs.device)``, ``binary_tensor = torch.floor(random_tensor)``, ``inputs / keep_prob *
binary_tensor``) with the uniform draws from NumPy, and its eval-mode identity; the identity
skip when ``stride == 1`` and ``input_filters == output_filters``; ``nn.BatchNorm2d(num_features
=oup, momentum=bn_mom, eps=bn_eps)`` with ``bn_mom = 1 - 0.99`` and ``eps=1e-3``; timm's
``_init_weight_goog`` via ``model.apply`` (``nn.init.kaiming_normal_(m.weight, mode='fan_out',
nonlinearity='relu')`` for convs, ``m.weight.data.uniform_(-init_range, init_range)`` with
``init_range = 1.0 / math.sqrt(m.weight.size(0))`` for the head); ``_swish`` swapped by
``set_swish(memory_efficient=...)``; and the reference training recipe's ``RMSprop(
lr=..., alpha=0.9, eps=1e-3, momentum=0.9, weight_decay=1e-5)`` with ``ExponentialLR(gamma=0.97)``.

The uniform draws of ``drop_connect`` come from NumPy, since the two libraries' generators
differ; the initial weights are torch's, loaded into both runs.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

WIDTH, DEPTH, IMG, CLASSES, BATCH, STEPS = 0.5, 1.2, 8, 5, 4, 4
BN_MOM, BN_EPS, DROP_CONNECT = 1 - 0.99, 1e-3, 0.2
# (repeats, kernel, stride, expand_ratio, input_filters, output_filters, se_ratio)
BLOCKS_ARGS = [(1, 3, 1, 1, 32, 16, 0.25), (1, 3, 2, 6, 16, 24, 0.25), (1, 5, 1, 6, 24, 24, 0.25)]


def round_filters(filters: int, width_coefficient: float, depth_divisor: int = 8) -> int:
    multiplier = width_coefficient
    divisor = depth_divisor
    min_depth = None
    filters *= multiplier
    min_depth = min_depth or divisor
    new_filters = max(min_depth, int(filters + divisor / 2) // divisor * divisor)
    if new_filters < 0.9 * filters:  # prevent rounding by more than 10%
        new_filters += divisor
    return int(new_filters)


def round_repeats(repeats: int, depth_coefficient: float) -> int:
    multiplier = depth_coefficient
    if not multiplier:
        return repeats
    return int(math.ceil(multiplier * repeats))


def drop_connect(torch_like: Any, inputs: Any, p: float, training: bool, uniform: Any) -> Any:
    """``drop_connect`` with ``torch.rand`` replaced by given uniform draws."""
    torch = torch_like
    assert 0 <= p <= 1, "p must be in range of [0,1]"
    if not training:
        return inputs
    batch_size = inputs.shape[0]
    keep_prob = 1 - p
    # generate binary_tensor mask according to probability (p for 0, 1-p for 1)
    random_tensor = keep_prob
    random_tensor += uniform.view(batch_size, 1, 1, 1).to(dtype=inputs.dtype, device=inputs.device)
    binary_tensor = torch.floor(random_tensor)
    output = inputs / keep_prob * binary_tensor
    return output


def make_model(torch_like: Any, memory_efficient: bool = True) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class SwishImplementation(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, i: Any) -> Any:
            result = i * torch.sigmoid(i)
            ctx.save_for_backward(i)
            return result

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            i = ctx.saved_tensors[0]
            sigmoid_i = torch.sigmoid(i)
            return grad_output * (sigmoid_i * (1 + i * (1 - sigmoid_i)))

    class MemoryEfficientSwish(nn.Module):
        def forward(self, x: Any) -> Any:
            return SwishImplementation.apply(x)

    class Swish(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * torch.sigmoid(x)

    class Conv2dDynamicSamePadding(nn.Conv2d):
        """2D Convolutions like TensorFlow, for a dynamic image size."""

        def __init__(self, in_channels, out_channels, kernel_size, stride=1, dilation=1, **kw):
            super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, **kw)
            self.stride = self.stride if len(self.stride) == 2 else [self.stride[0]] * 2

        def forward(self, x: Any) -> Any:
            ih, iw = x.size()[-2:]
            kh, kw = self.weight.size()[-2:]
            sh, sw = self.stride
            oh, ow = math.ceil(ih / sh), math.ceil(iw / sw)
            pad_h = max((oh - 1) * self.stride[0] + (kh - 1) * self.dilation[0] + 1 - ih, 0)
            pad_w = max((ow - 1) * self.stride[1] + (kw - 1) * self.dilation[1] + 1 - iw, 0)
            if pad_h > 0 or pad_w > 0:
                x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
            return F.conv2d(
                x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )

    class Conv2dStaticSamePadding(nn.Conv2d):
        """2D Convolutions like TensorFlow's 'SAME' mode, with the given input image size."""

        def __init__(self, in_channels, out_channels, kernel_size, stride=1, image_size=None, **kw):
            super().__init__(in_channels, out_channels, kernel_size, stride, **kw)
            self.stride = self.stride if len(self.stride) == 2 else [self.stride[0]] * 2
            assert image_size is not None
            ih, iw = (image_size, image_size) if isinstance(image_size, int) else image_size
            kh, kw = self.weight.size()[-2:]
            sh, sw = self.stride
            oh, ow = math.ceil(ih / sh), math.ceil(iw / sw)
            pad_h = max((oh - 1) * self.stride[0] + (kh - 1) * self.dilation[0] + 1 - ih, 0)
            pad_w = max((ow - 1) * self.stride[1] + (kw - 1) * self.dilation[1] + 1 - iw, 0)
            if pad_h > 0 or pad_w > 0:
                self.static_padding = nn.ZeroPad2d(
                    (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
                )
            else:
                self.static_padding = nn.Identity()

        def forward(self, x: Any) -> Any:
            x = self.static_padding(x)
            return F.conv2d(
                x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )

    def get_same_padding_conv2d(image_size: Any = None) -> Any:
        if image_size is None:
            return Conv2dDynamicSamePadding
        return partial(Conv2dStaticSamePadding, image_size=image_size)

    def calculate_output_image_size(input_image_size: int, stride: int) -> int:
        return int(math.ceil(input_image_size / stride))

    class MBConvBlock(nn.Module):
        def __init__(self, block_args: tuple, image_size: int) -> None:
            super().__init__()
            _, kernel, stride, expand_ratio, inp_f, out_f, se_ratio = block_args
            self._bn_mom = BN_MOM
            self._bn_eps = BN_EPS
            self.has_se = (se_ratio is not None) and (0 < se_ratio <= 1)
            self.id_skip = True
            self.input_filters, self.output_filters, self.stride = inp_f, out_f, stride
            inp = inp_f  # number of input channels
            oup = inp_f * expand_ratio  # number of output channels
            if expand_ratio != 1:
                Conv2d = get_same_padding_conv2d(image_size=image_size)
                self._expand_conv = Conv2d(
                    in_channels=inp, out_channels=oup, kernel_size=1, bias=False
                )
                self._bn0 = nn.BatchNorm2d(
                    num_features=oup, momentum=self._bn_mom, eps=self._bn_eps
                )
            # Depthwise convolution phase
            Conv2d = get_same_padding_conv2d(image_size=image_size)
            self._depthwise_conv = Conv2d(
                in_channels=oup,
                out_channels=oup,
                groups=oup,  # groups makes it depthwise
                kernel_size=kernel,
                stride=stride,
                bias=False,
            )
            self._bn1 = nn.BatchNorm2d(num_features=oup, momentum=self._bn_mom, eps=self._bn_eps)
            image_size = calculate_output_image_size(image_size, stride)
            if self.has_se:
                Conv2d = get_same_padding_conv2d(image_size=(1, 1))
                num_squeezed_channels = max(1, int(inp_f * se_ratio))
                self._se_reduce = Conv2d(
                    in_channels=oup, out_channels=num_squeezed_channels, kernel_size=1
                )
                self._se_expand = Conv2d(
                    in_channels=num_squeezed_channels, out_channels=oup, kernel_size=1
                )
            # Pointwise convolution phase
            Conv2d = get_same_padding_conv2d(image_size=image_size)
            self._project_conv = Conv2d(
                in_channels=oup, out_channels=out_f, kernel_size=1, bias=False
            )
            self._bn2 = nn.BatchNorm2d(num_features=out_f, momentum=self._bn_mom, eps=self._bn_eps)
            self._swish = MemoryEfficientSwish()
            self.expand_ratio = expand_ratio

        def forward(self, inputs: Any, drop_connect_rate: Any = None, uniform: Any = None):
            x = inputs
            if self.expand_ratio != 1:
                x = self._expand_conv(inputs)
                x = self._bn0(x)
                x = self._swish(x)
            x = self._depthwise_conv(x)
            x = self._bn1(x)
            x = self._swish(x)
            if self.has_se:
                x_squeezed = F.adaptive_avg_pool2d(x, 1)
                x_squeezed = self._se_reduce(x_squeezed)
                x_squeezed = self._swish(x_squeezed)
                x_squeezed = self._se_expand(x_squeezed)
                x = torch.sigmoid(x_squeezed) * x
            x = self._project_conv(x)
            x = self._bn2(x)
            if self.id_skip and self.stride == 1 and self.input_filters == self.output_filters:
                if drop_connect_rate:
                    x = drop_connect(torch, x, drop_connect_rate, self.training, uniform)
                x = x + inputs  # skip connection
            return x

        def set_swish(self, memory_efficient: bool = True) -> None:
            self._swish = MemoryEfficientSwish() if memory_efficient else Swish()

    class EfficientNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            Conv2d = get_same_padding_conv2d(image_size=IMG)
            in_channels = 3
            out_channels = round_filters(32, WIDTH)
            self._conv_stem = Conv2d(in_channels, out_channels, kernel_size=3, stride=2, bias=False)
            self._bn0 = nn.BatchNorm2d(num_features=out_channels, momentum=BN_MOM, eps=BN_EPS)
            image_size = calculate_output_image_size(IMG, 2)
            self._blocks = nn.ModuleList([])
            for block_args in BLOCKS_ARGS:
                repeats, k, s, e, inp, out, se = block_args
                block_args = (
                    round_repeats(repeats, DEPTH), k, s, e,
                    round_filters(inp, WIDTH), round_filters(out, WIDTH), se,
                )  # fmt: skip
                self._blocks.append(MBConvBlock(block_args, image_size=image_size))
                image_size = calculate_output_image_size(image_size, s)
                if block_args[0] > 1:  # modify block_args to keep same output size
                    block_args = (block_args[0], k, 1, e, block_args[5], block_args[5], se)
                for _ in range(block_args[0] - 1):
                    self._blocks.append(MBConvBlock(block_args, image_size=image_size))
            in_channels = block_args[5]
            out_channels = round_filters(64, WIDTH)
            Conv2d = get_same_padding_conv2d(image_size=image_size)
            self._conv_head = Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
            self._bn1 = nn.BatchNorm2d(num_features=out_channels, momentum=BN_MOM, eps=BN_EPS)
            self._avg_pooling = nn.AdaptiveAvgPool2d(1)
            self._dropout = nn.Dropout(0.2)
            self._fc = nn.Linear(out_channels, CLASSES)
            self._swish = MemoryEfficientSwish()
            self.dynamic = Conv2dDynamicSamePadding(3, 4, 3, stride=2, bias=False)

        def set_swish(self, memory_efficient: bool = True) -> None:
            self._swish = MemoryEfficientSwish() if memory_efficient else Swish()
            for block in self._blocks:
                block.set_swish(memory_efficient)

        def extract_features(self, inputs: Any, uniforms: list) -> Any:
            x = self._swish(self._bn0(self._conv_stem(inputs)))
            for idx, block in enumerate(self._blocks):
                drop_connect_rate = DROP_CONNECT
                if drop_connect_rate:
                    drop_connect_rate *= float(idx) / len(self._blocks)
                x = block(x, drop_connect_rate=drop_connect_rate, uniform=uniforms[idx])
            return self._swish(self._bn1(self._conv_head(x)))

        def forward(self, inputs: Any, uniforms: list) -> Any:
            x = self.extract_features(inputs, uniforms)
            x = self._avg_pooling(x)
            x = x.flatten(start_dim=1)
            if not self.training:  # (in training its draws would differ between libraries)
                x = self._dropout(x)
            return self._fc(x)

    def _init_weight_goog(m: Any) -> None:
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()
        elif isinstance(m, nn.Linear):
            init_range = 1.0 / math.sqrt(m.weight.size(0))
            m.weight.data.uniform_(-init_range, init_range)
            m.bias.data.zero_()

    model = EfficientNet()
    model.apply(_init_weight_goog)
    model.set_swish(memory_efficient)
    return model


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(13)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = [float(round_filters(v, WIDTH)) for v in (32, 16, 24, 40, 1280)]
    values += [float(round_repeats(r, DEPTH)) for r in (1, 2, 3, 4)]
    values += [float(len(model._blocks))]
    values += list(model._blocks[2]._depthwise_conv.static_padding.padding)
    fan_out = init["_conv_stem.weight"]
    values += [float(np.std(fan_out) > 0)]

    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(
        model.parameters(), lr=0.01, alpha=0.9, eps=1e-3, momentum=0.9, weight_decay=1e-5
    )
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.97)
    x = as_tensor(torch_like, rng.standard_normal((BATCH, 3, IMG, IMG)))
    target = as_tensor(torch_like, rng.integers(0, CLASSES, BATCH))
    model.train()
    for _step in range(STEPS):
        uniforms = [as_tensor(torch_like, rng.uniform(size=BATCH)) for _ in model._blocks]
        optimizer.zero_grad()
        loss = criterion(model(x, uniforms), target)
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), scheduler.get_last_lr()[0]]
        values += [model._blocks[0]._depthwise_conv.weight.grad.abs().sum().item()]
    values += model._bn0.running_mean.tolist() + model._bn0.running_var.tolist()
    values += [float(model._bn0.num_batches_tracked.item())]

    model.eval()
    with torch.no_grad():
        uniforms = [as_tensor(torch_like, rng.uniform(size=BATCH)) for _ in model._blocks]
        logits = model(x, uniforms)
        model.set_swish(memory_efficient=False)
        plain = model(x, uniforms)
        odd = as_tensor(torch_like, rng.standard_normal((1, 3, 7, 5)))
        dyn = model.dynamic(odd)
    values += logits.flatten().tolist() + [(plain - logits).abs().max().item()]
    values += list(dyn.shape) + dyn.flatten().tolist()

    grads = []
    model.train()
    for memory_efficient in (True, False):
        model.set_swish(memory_efficient)
        model.zero_grad()
        uniforms = [as_tensor(torch_like, np.full(BATCH, 0.5)) for _ in model._blocks]
        criterion(model(x, uniforms), target).backward()
        grads.append(model._blocks[2]._expand_conv.weight.grad.clone())
    values += [(grads[0] - grads[1]).abs().max().item()]
    return values
