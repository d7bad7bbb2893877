"""The rule between the two data packages (issue 10, item 3): ``cr.utils.data`` is
``torch.utils.data`` (Dataset, samplers, DataLoader) and knows no particular data;
``cr.data`` is what torchvision/torchtext provide on top of it (datasets, transforms,
augmentation, tokenizers, preprocessing) and imports ``cr.utils.data``, never the reverse."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import chainrule.utils.data as ud

SRC = Path(ud.__file__).resolve().parent


def test_utils_data_never_imports_cr_data():
    pattern = re.compile(r"^\s*(from|import)\s+(\.\.\.data\b|chainrule\.data\b)", re.M)
    offenders = [p.name for p in SRC.glob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
    code = (
        "import sys, chainrule.utils.data; "
        "print(sorted(m for m in sys.modules if m.startswith('chainrule.data')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_cr_data_builds_on_utils_data():
    import chainrule.data as d

    for dataset in (
        d.MNIST,
        d.CIFAR10,
        d.ImageFolder,
        d.augment.AugmentedTensorDataset,
        d.text.tokens.NextTokenDataset,
    ):
        assert issubclass(dataset, ud.Dataset), dataset


def test_augmentation_moved_to_cr_data_with_the_old_path_kept():
    from chainrule.data import augment
    from chainrule.train import augment as old

    assert old.AugmentedTensorDataset is augment.AugmentedTensorDataset
    assert old.random_shift_flip is augment.random_shift_flip
