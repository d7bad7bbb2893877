"""Batch augmentation (random shift + flip) and `chainrule train --augment`."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli
from chainrule.data.datasets import write_idx
from chainrule.train.augment import AugmentedTensorDataset, random_shift_flip
from chainrule.utils.data import DataLoader


def _reference(img: np.ndarray, top: int, left: int, mirrored: bool, p: int, fill):
    """RandomCrop(padding=p, fill) at offset (top, left) then an optional flip, for one image."""
    c, h, w = img.shape
    padded = np.empty((c, h + 2 * p, w + 2 * p), img.dtype)
    padded[...] = np.asarray(fill, img.dtype).reshape(-1, 1, 1)
    padded[:, p : p + h, p : p + w] = img
    out = padded[:, top : top + h, left : left + w]
    return out[..., ::-1] if mirrored else out


def test_each_image_is_a_shifted_and_maybe_flipped_copy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2, 7, 9)).astype(np.float32)
    fill = np.array([-1.5, 3.0], np.float32)
    out = random_shift_flip(x, max_shift=2, fill=fill, generator=cr.Generator().manual_seed(3))
    assert out.shape == x.shape and out.dtype == x.dtype
    seen = set()
    for i in range(len(x)):
        matches = [
            (t, l, m)
            for t in range(5)
            for l in range(5)
            for m in (False, True)
            if np.array_equal(out[i], _reference(x[i], t, l, m, 2, fill))
        ]
        assert matches, f"image {i} is not a shift/flip of its input"
        seen.add(matches[0])
    assert len(seen) > 20  # offsets and flips really vary from image to image
    assert any(m for _, _, m in seen) and not all(m for _, _, m in seen)


def test_no_shift_no_flip_is_identity_and_input_untouched():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float64).reshape(2, 1, 4, 4)
    before = x.copy()
    np.testing.assert_array_equal(random_shift_flip(x, max_shift=0, flip=False), x)
    random_shift_flip(x)
    np.testing.assert_array_equal(x, before)


def test_seeded_generator_is_reproducible_and_errors_are_clear():
    x = np.random.default_rng(1).standard_normal((8, 1, 6, 6))
    a = random_shift_flip(x, generator=cr.Generator().manual_seed(5))
    b = random_shift_flip(x, generator=cr.Generator().manual_seed(5))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"random_shift_flip.*\(N, C, H, W\).*\(6, 6\)"):
        random_shift_flip(np.zeros((6, 6)))
    with pytest.raises(ValueError, match="max_shift must be >= 0"):
        random_shift_flip(x, max_shift=-1)


def test_dataset_batches_keep_labels_and_use_the_loader_fast_path():
    x = np.random.default_rng(2).standard_normal((10, 1, 5, 5)).astype(np.float32)
    y = np.arange(10)
    ds = AugmentedTensorDataset(x, y, generator=cr.Generator().manual_seed(0))
    assert len(ds) == 10
    xb, yb = ds[3]
    assert xb.shape == (1, 5, 5) and int(yb.item()) == 3
    seen = []
    for xb, yb in DataLoader(
        ds, batch_size=4, shuffle=True, generator=cr.Generator().manual_seed(1)
    ):
        assert xb.shape[1:] == (1, 5, 5) and xb.shape[0] == yb.shape[0]
        for img, label in zip(xb.numpy(), yb.numpy()):  # each image comes from its label's
            assert any(
                np.array_equal(img, _reference(x[label], t, l, m, 2, 0.0))
                for t in range(5)
                for l in range(5)
                for m in (False, True)
            )
        seen += yb.numpy().tolist()
    assert sorted(seen) == list(range(10))
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        AugmentedTensorDataset(x, y[:9])


def _fashion_files(folder, n_train=60, n_test=20):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        write_idx(
            folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8)
        )


def test_cli_train_with_augment_on_images(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "cache"))
    data = tmp_path / "fmnist"
    _fashion_files(data)
    out = tmp_path / "run"
    assert (
        cli.main(
            [
                "train",
                "--data",
                "fashion-mnist",
                "--data-root",
                str(data),
                "--model",
                "lenet5",
                "--augment",
                "--epochs",
                "1",
                "--batch-size",
                "16",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["augment"] is True and config["input_shape"] == [1, 28, 28]
    assert (
        cli.main(
            [
                "train",
                "--data",
                "mnist1d",
                "--model",
                "cnn1d",
                "--augment",
                "--epochs",
                "1",
                "--limit-train",
                "50",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert re.search(r"--augment.*shape \(1, 40\)", capsys.readouterr().err)
