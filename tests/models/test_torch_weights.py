"""torchvision-style weights load into the zoo models and give the same outputs.

torchvision cannot be installed beside torch here, so the reference architectures are
written below in plain torch.nn with torchvision's module names (test-only code).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn

import chainrule as cr
from chainrule import models

safetensors_torch = pytest.importorskip("safetensors.torch")
safetensors_numpy = pytest.importorskip("safetensors.numpy")


class TBasicBlock(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = tnn.Sequential(
                tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout)
            )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


class TResNet18(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, c in enumerate((64, 128, 256, 512)):
            s = 1 if i == 0 else 2
            setattr(
                self, f"layer{i + 1}", tnn.Sequential(TBasicBlock(cin, c, s), TBasicBlock(c, c, 1))
            )
            cin = c
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _cbr(cin, cout, k=3, s=1, g=1):
    return tnn.Sequential(
        tnn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=g, bias=False),
        tnn.BatchNorm2d(cout),
        tnn.ReLU6(inplace=True),
    )


class TInvRes(tnn.Module):
    def __init__(self, cin, cout, s, t):
        super().__init__()
        hid = cin * t
        self.use_res = s == 1 and cin == cout
        layers = [_cbr(cin, hid, 1)] if t != 1 else []
        layers += [
            _cbr(hid, hid, 3, s, hid),
            tnn.Conv2d(hid, cout, 1, bias=False),
            tnn.BatchNorm2d(cout),
        ]
        self.conv = tnn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class TMobileNetV2(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        setting = [
            [1, 16, 1, 1],
            [6, 24, 2, 2],
            [6, 32, 3, 2],
            [6, 64, 4, 2],
            [6, 96, 3, 1],
            [6, 160, 3, 2],
            [6, 320, 1, 1],
        ]
        feats, cin = [_cbr(3, 32, 3, 2)], 32
        for t, c, n, s in setting:
            for i in range(n):
                feats.append(TInvRes(cin, c, s if i == 0 else 1, t))
                cin = c
        feats.append(_cbr(cin, 1280, 1))
        self.features = tnn.Sequential(*feats)
        self.classifier = tnn.Sequential(tnn.Dropout(0.2), tnn.Linear(1280, num_classes))

    def forward(self, x):
        x = tnn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def _randomise_bn(model):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(1 + 0.2 * torch.rand(m.running_var.shape, generator=g))


@pytest.mark.parametrize(
    "name,tmodel,size", [("resnet18", TResNet18, 64), ("mobilenet_v2", TMobileNetV2, 64)]
)
def test_torchvision_style_state_dict_gives_same_outputs(tmp_path, name, tmodel, size):
    torch.manual_seed(0)
    ref = tmodel().eval()
    _randomise_bn(ref)
    path = tmp_path / f"{name}.safetensors"
    safetensors_torch.save_file(ref.state_dict(), str(path))
    ours = models.get_model(name).eval()
    result = ours.load_state_dict(safetensors_numpy.load_file(str(path)), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        want = ref(torch.tensor(x)).numpy()
    with cr.no_grad():
        got = ours(cr.tensor(x)).data
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    assert (got.argmax(1) == want.argmax(1)).all()
