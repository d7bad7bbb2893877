"""The quantization-aware-training part of PyTorch's "(beta) Static Quantization with Eager Mode"
tutorial (``advanced/static_quantization_tutorial``), size-reduced: the tutorial's quantizable
``MobileNetV2`` fused, prepared for QAT, fine-tuned and converted after each epoch.

The idioms kept: ``_make_divisible``; ``ConvBNReLU(nn.Sequential)`` built through
``super(ConvBNReLU, self).__init__(nn.Conv2d(..., groups=groups, bias=False),
nn.BatchNorm2d(out_planes, momentum=0.1), nn.ReLU(inplace=False))``; ``InvertedResidual`` with
``self.skip_add = nn.quantized.FloatFunctional()`` and ``self.skip_add.add(x, self.conv(x))``;
``QuantStub()`` / ``DeQuantStub()`` around ``features``, ``x.mean([2, 3])``; the init loop
(``nn.init.kaiming_normal_(m.weight, mode='fan_out')``, ``nn.init.normal_(m.weight, 0, 0.01)``);
``fuse_model(is_qat=True)`` choosing ``torch.ao.quantization.fuse_modules_qat``, with ``type(m) ==
ConvBNReLU`` and ``fuse_modules(m.conv, [str(idx), str(idx + 1)], inplace=True)``;
``qat_model.qconfig = torch.ao.quantization.get_default_qat_qconfig('x86')``,
``torch.ao.quantization.prepare_qat(qat_model, inplace=True)``; ``train_one_epoch`` with the
tutorial's ``AverageMeter`` (summing the loss tensor itself; ``'{name} {val' + self.fmt + '} ({avg'
+ self.fmt + '})'``-formatted accuracy tensors) and ``accuracy``
(``correct[:k].reshape(-1).float().sum(0, keepdim=True)``, ``correct_k.mul_(100.0 / batch_size)``);
the epoch loop's ``qat_model.apply(torch.ao.quantization.disable_observer)`` and
``qat_model.apply(torch.nn.intrinsic.qat.freeze_bn_stats)``; ``torch.ao.quantization.convert(
qat_model.eval(), inplace=False)`` and ``evaluate`` on the int8 model under ``torch.no_grad()``.

Changed: ImageNet MobileNetV2 -> 12x12 random images (a 3x3 final map) of 4 classes, a stem of 8
channels, two inverted-residual stages (t=1/c=8, t=2/c=8 twice), ``last_channel`` 16, classifier
dropout 0.2 -> 0 (random masks cannot agree between two frameworks), 8 epochs of 20 batches -> 3 of
2, lr 1e-4 -> 0.05; the observers are frozen after epoch 1 and the BN statistics after epoch 0."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL = 1e-4


def _make_divisible(v, divisor, min_value=None):  # noqa: ANN001, ANN202
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _classes(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    QuantStub, DeQuantStub = torch.ao.quantization.QuantStub, torch.ao.quantization.DeQuantStub

    class ConvBNReLU(nn.Sequential):
        def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, groups=1):  # noqa: ANN001
            padding = (kernel_size - 1) // 2
            super(ConvBNReLU, self).__init__(  # noqa: UP008 (as in the tutorial)
                nn.Conv2d(in_planes, out_planes, kernel_size, stride, padding, groups=groups,
                          bias=False),
                nn.BatchNorm2d(out_planes, momentum=0.1),
                # Replace with ReLU
                nn.ReLU(inplace=False),
            )  # fmt: skip

    class InvertedResidual(nn.Module):
        def __init__(self, inp, oup, stride, expand_ratio):  # noqa: ANN001
            super(InvertedResidual, self).__init__()  # noqa: UP008
            self.stride = stride
            assert stride in [1, 2]

            hidden_dim = int(round(inp * expand_ratio))
            self.use_res_connect = self.stride == 1 and inp == oup

            layers = []
            if expand_ratio != 1:
                # pw
                layers.append(ConvBNReLU(inp, hidden_dim, kernel_size=1))
            layers.extend([
                # dw
                ConvBNReLU(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
                # pw-linear
                nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                nn.BatchNorm2d(oup, momentum=0.1),
            ])  # fmt: skip
            self.conv = nn.Sequential(*layers)
            # Replace torch.add with floatfunctional
            self.skip_add = nn.quantized.FloatFunctional()

        def forward(self, x: Any) -> Any:
            if self.use_res_connect:
                return self.skip_add.add(x, self.conv(x))
            else:
                return self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self, num_classes=4, width_mult=1.0, inverted_residual_setting=None,
                     round_nearest=8):  # noqa: ANN001 # fmt: skip
            super(MobileNetV2, self).__init__()  # noqa: UP008
            block = InvertedResidual
            input_channel = 8
            last_channel = 16

            if inverted_residual_setting is None:
                inverted_residual_setting = [
                    # t, c, n, s
                    [1, 8, 1, 1],
                    [2, 8, 2, 2],
                ]

            # building first layer
            input_channel = _make_divisible(input_channel * width_mult, round_nearest)
            self.last_channel = _make_divisible(last_channel * max(1.0, width_mult),
                                                round_nearest)  # fmt: skip
            features = [ConvBNReLU(3, input_channel, stride=2)]
            # building inverted residual blocks
            for t, c, n, s in inverted_residual_setting:
                output_channel = _make_divisible(c * width_mult, round_nearest)
                for i in range(n):
                    stride = s if i == 0 else 1
                    features.append(block(input_channel, output_channel, stride, expand_ratio=t))
                    input_channel = output_channel
            # building last several layers
            features.append(ConvBNReLU(input_channel, self.last_channel, kernel_size=1))
            # make it nn.Sequential
            self.features = nn.Sequential(*features)
            self.quant = QuantStub()
            self.dequant = DeQuantStub()
            # building classifier
            self.classifier = nn.Sequential(
                nn.Dropout(0.0),
                nn.Linear(self.last_channel, num_classes),
            )

            # weight initialization
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def forward(self, x: Any) -> Any:
            x = self.quant(x)
            x = self.features(x)
            x = x.mean([2, 3])
            x = self.classifier(x)
            x = self.dequant(x)
            return x

        # Fuse Conv+BN and Conv+BN+Relu modules prior to quantization
        # This operation does not change the numerics
        def fuse_model(self, is_qat=False):  # noqa: ANN001, ANN202
            fuse_modules = (
                torch.ao.quantization.fuse_modules_qat
                if is_qat
                else torch.ao.quantization.fuse_modules
            )
            for m in self.modules():
                if type(m) == ConvBNReLU:  # noqa: E721
                    fuse_modules(m, ["0", "1", "2"], inplace=True)
                if type(m) == InvertedResidual:  # noqa: E721
                    for idx in range(len(m.conv)):
                        if type(m.conv[idx]) == nn.Conv2d:  # noqa: E721
                            fuse_modules(m.conv, [str(idx), str(idx + 1)], inplace=True)

    return {"MobileNetV2": MobileNetV2}


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["MobileNetV2"]()


class AverageMeter(object):  # noqa: UP004
    """Computes and stores the average and current value"""

    def __init__(self, name, fmt=":f"):  # noqa: ANN001
        self.name = name
        self.fmt = fmt
        self.reset()

    def reset(self) -> None:
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):  # noqa: ANN001, ANN201
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self) -> str:
        fmtstr = "{name} {val" + self.fmt + "} ({avg" + self.fmt + "})"
        return fmtstr.format(**self.__dict__)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn = torch.nn
    rng = np.random.default_rng(13)

    def accuracy(output, target, topk=(1,)):  # noqa: ANN001, ANN202
        """Computes the accuracy over the k top predictions for the specified values of k"""
        with torch.no_grad():
            maxk = max(topk)
            batch_size = target.size(0)

            _, pred = output.topk(maxk, 1, True, True)
            pred = pred.t()
            correct = pred.eq(target.view(1, -1).expand_as(pred))

            res = []
            for k in topk:
                correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
                res.append(correct_k.mul_(100.0 / batch_size))
            return res

    def batches(n: int) -> list:
        out = []
        for _ in range(n):
            x = rng.normal(size=(4, 3, 12, 12)).astype(np.float32)
            y = (x[:, 0, :4].mean((1, 2)) > 0).astype(np.int64) + 2 * (x[:, 1].mean((1, 2)) > 0)
            out.append((torch.from_numpy(x), torch.from_numpy(y)))
        return out

    values: list[float] = []

    def train_one_epoch(model, criterion, optimizer, data_loader, device, ntrain_batches):  # noqa: ANN001, ANN202
        model.train()
        top1 = AverageMeter("Acc@1", ":6.2f")
        top5 = AverageMeter("Acc@5", ":6.2f")
        avgloss = AverageMeter("Loss", "1.5f")

        cnt = 0
        for image, target in data_loader:
            cnt += 1
            image, target = image.to(device), target.to(device)
            output = model(image)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            acc1, acc5 = accuracy(output, target, topk=(1, 2))
            top1.update(acc1[0], image.size(0))
            top5.update(acc5[0], image.size(0))
            avgloss.update(loss, image.size(0))
            values.append(loss.item())
            if cnt >= ntrain_batches:
                values.append(avgloss.avg.item())  # the tutorial prints ``avgloss.avg``
                values.append(float("{top1.avg:.3f}".format(top1=top1)))  # noqa: UP032
                values.append(float(str(top1).split()[1]))
                return

    def evaluate(model, criterion, data_loader, neval_batches):  # noqa: ANN001, ANN202
        model.eval()
        top1 = AverageMeter("Acc@1", ":6.2f")
        cnt = 0
        with torch.no_grad():
            for image, target in data_loader:
                output = model(image)
                loss = criterion(output, target)
                cnt += 1
                acc1, _ = accuracy(output, target, topk=(1, 2))
                top1.update(acc1[0], image.size(0))
                values.extend([loss.item(), output.abs().sum().item()])
                if cnt >= neval_batches:
                    return top1

        return top1

    qat_model = make_model(torch_like)
    load_numpy_state(torch_like, qat_model, init)
    qat_model.fuse_model(is_qat=True)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(qat_model.parameters(), lr=0.05)
    qat_model.qconfig = torch.ao.quantization.get_default_qat_qconfig("x86")
    with warnings.catch_warnings():  # the observers' reduce_range deprecation (a script goes on)
        warnings.filterwarnings("ignore", "Please use quant_min and quant_max", UserWarning)
        torch.ao.quantization.prepare_qat(qat_model, inplace=True)
    values.append(float(len(str(qat_model.features[1].conv))))

    data_loader, data_loader_test = batches(2), batches(1)
    num_train_batches = 2
    for nepoch in range(3):
        train_one_epoch(qat_model, criterion, optimizer, data_loader, torch.device("cpu"),
                        num_train_batches)  # fmt: skip
        if nepoch > 1:
            # Freeze quantizer parameters
            qat_model.apply(torch.ao.quantization.disable_observer)
        if nepoch > 0:
            # Freeze batch norm mean and variance estimates
            qat_model.apply(torch.nn.intrinsic.qat.freeze_bn_stats)

        # Check the accuracy after each epoch
        with warnings.catch_warnings():  # the stride-2 block's unused skip_add observer
            warnings.filterwarnings("ignore", "must run observer before", UserWarning)
            quantized_model = torch.ao.quantization.convert(qat_model.eval(), inplace=False)
        quantized_model.eval()
        top1 = evaluate(quantized_model, criterion, data_loader_test, neval_batches=1)
        values.append(float(top1.avg))
    return values
