"""Model zoo: registry, exact parameter counts, forward shapes, torchvision-style weights."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn
from chainrule.nn.layers.conv import _ConvNd

# torchvision's counts at 1000 classes (and the CIFAR papers' counts at 10 classes)
COUNTS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "wide_resnet50_2": 68_883_240,
    "resnext50_32x4d": 25_028_904,
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg11_bn": 132_868_840,
    "vgg13": 133_047_848,
    "vgg13_bn": 133_053_736,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240,
    "vgg19_bn": 143_678_248,
    "googlenet": 6_624_904,
    "densenet121": 7_978_856,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v1": 4_231_976,
    "se_resnet50": 28_088_024,
}
CIFAR_COUNTS = {  # He et al. 2015 Table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "wrn28_10": 36_479_194,
    "densenet_bc_100_12": 769_162,
    "preact_resnet18": 11_172_170,
    "resnet18_cifar": 11_173_962,
}


@pytest.fixture
def cheap_init(monkeypatch):
    """Counting parameters does not need random weights: skip the (slow) initialisers."""

    # Zero-fill rather than skip: parameters start as uninitialised memory (empty), and a
    # forward pass over garbage can overflow to NaN/Inf at random.
    def zero_all(self):
        for p in self.parameters(recurse=False):
            p.data.fill_(0.0)

    def zero_tensor(t, *args, **kwargs):
        t.data.fill_(0.0)
        return t

    monkeypatch.setattr(_ConvNd, "reset_parameters", zero_all)
    monkeypatch.setattr(nn.Linear, "reset_parameters", zero_all)
    for name in ("normal_", "kaiming_normal_", "trunc_normal_", "uniform_"):
        monkeypatch.setattr(nn.init, name, zero_tensor)


def test_registry_lists_everything_required():
    names = set(models.list_models())
    assert set(COUNTS) | set(CIFAR_COUNTS) | {"lenet5", "cnn1d"} <= names
    with pytest.raises(ValueError, match="resnet18"):
        models.get_model("resnet81")
    for n in names:
        assert models.registry._MODELS[n].__doc__, f"{n} builder has no docstring"


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_imagenet_param_counts(name, cheap_init):
    m = models.get_model(name, num_classes=1000)
    assert sum(int(p.numel()) for p in m.parameters()) == COUNTS[name]


@pytest.mark.parametrize("name", sorted(CIFAR_COUNTS))
def test_cifar_param_counts(name, cheap_init):
    m = models.get_model(name, num_classes=10)
    assert m.num_parameters() == CIFAR_COUNTS[name]


def test_googlenet_aux_adds_classifiers(cheap_init):
    m = models.googlenet(aux_logits=True)
    assert m.num_parameters() > COUNTS["googlenet"]


@pytest.mark.parametrize(
    "name,shape,kw",
    [
        ("lenet5", (2, 1, 28, 28), {}),
        ("lenet5", (2, 3, 32, 32), {"in_channels": 3, "input_size": 32}),
        ("cnn1d", (2, 40), {}),
        ("cnn1d", (2, 1, 40), {}),
        ("resnet20", (2, 1, 28, 28), {"in_channels": 1}),
        ("resnet18", (1, 3, 32, 32), {}),
        ("mobilenet_v2", (1, 3, 32, 32), {}),
        pytest.param("preact_resnet18", (1, 3, 32, 32), {}, marks=pytest.mark.slow),
        pytest.param("mobilenet_v1", (1, 3, 64, 64), {}, marks=pytest.mark.slow),
        pytest.param("densenet_bc_100_12", (1, 3, 32, 32), {}, marks=pytest.mark.slow),
        pytest.param("googlenet", (1, 3, 64, 64), {}, marks=pytest.mark.slow),
        pytest.param("resnext50_32x4d", (1, 3, 64, 64), {}, marks=pytest.mark.slow),
        pytest.param("se_resnet50", (1, 3, 64, 64), {}, marks=pytest.mark.slow),
    ],
)
def test_forward_shapes(name, shape, kw):
    m = models.get_model(name, num_classes=7, **kw).eval()
    with cr.no_grad():
        out = m(cr.randn(*shape))
    assert out.shape == (shape[0], 7)
    assert np.isfinite(out.data).all()


@pytest.mark.slow
def test_googlenet_aux_outputs_in_training():
    m = models.googlenet(num_classes=5, aux_logits=True).train()
    with cr.no_grad():
        out, aux2, aux1 = m(cr.randn(2, 3, 96, 96))
    assert out.shape == aux1.shape == aux2.shape == (2, 5)


@pytest.mark.parametrize(
    "name,mb,gmacs",
    [
        ("resnet18", 1, 1.814),
        ("alexnet", 1, 0.714),
        pytest.param("resnet50", 1, 4.089, marks=pytest.mark.slow),
        pytest.param("vgg16", 1, 15.47, marks=pytest.mark.slow),
    ],
)
def test_summary_macs_match_torchvision(name, mb, gmacs, cheap_init):
    m = models.get_model(name).eval()
    s = models.summary(m, (mb, 3, 224, 224))
    assert abs(s.total_macs / 1e9 - gmacs) / gmacs < 0.02
    assert s.total_params == COUNTS[name]
    text = str(s)
    assert "Total params" in text and f"{COUNTS[name]:,}" in text
    assert s.activation_bytes > 0 and s.layers[0].output_shape[0] == mb


def test_summary_small_table():
    s = models.summary(models.lenet5(), (1, 1, 28, 28))
    convs = [li for li in s.layers if li.kind == "Conv2d"]
    assert convs[0].output_shape == (1, 6, 28, 28)
    assert convs[0].macs == 6 * 28 * 28 * 25 and convs[0].params == 156
    assert s.total_params == 61_706


def test_training_steps_reduce_loss():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    for name, shape in (("lenet5", (16, 1, 28, 28)), ("resnet20", (16, 3, 32, 32))):
        m = models.get_model(name, num_classes=4, in_channels=shape[1])
        x = cr.tensor(rng.standard_normal(shape).astype(np.float32))
        y = cr.tensor(rng.integers(0, 4, shape[0]))
        opt = cr.optim.Adam(m.parameters(), lr=3e-3)
        losses = []
        for _ in range(10):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
        assert losses[-1] < 0.7 * losses[0], (name, losses)
