"""torchvision-style builder keywords: weights=None / pretrained=False build random weights,
asking for downloaded weights fails clearly."""

from __future__ import annotations

import pytest

import chainrule as cr


@pytest.mark.parametrize("name", ["resnet18", "lenet5", "resnet20", "cnn1d"])
def test_weights_none_and_pretrained_false_build_the_model(name):
    cr.manual_seed(0)
    a = cr.models.get_model(name, weights=None)
    cr.manual_seed(0)
    b = getattr(cr.models, name)(pretrained=False, progress=False)
    assert a.num_parameters() == b.num_parameters() > 0


@pytest.mark.parametrize(
    "kw", [{"weights": "IMAGENET1K_V1"}, {"weights": "DEFAULT"}, {"pretrained": True}]
)
def test_downloaded_weights_are_refused_with_the_way_out(kw):
    with pytest.raises(NotImplementedError, match="weights=None"):
        cr.models.resnet18(**kw)


def test_progress_must_be_a_bool():
    with pytest.raises(TypeError, match="progress"):
        cr.models.lenet5(progress="yes")
