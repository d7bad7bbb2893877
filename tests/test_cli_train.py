"""`chainrule train` / `chainrule evaluate` in-process on a tiny MNIST-1D run."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli
from chainrule.data.datasets import write_idx


def _train(out, *extra):
    return cli.main(
        [
            "train",
            "--data",
            "mnist1d",
            "--epochs",
            "2",
            "--limit-train",
            "400",
            "--hidden",
            "32",
            "--batch-size",
            "50",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_train_then_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out) == 0
    printed = capsys.readouterr().out
    assert "epoch   2/2" in printed and "test accuracy" in printed
    for name in (
        "model.safetensors",
        "config.json",
        "history.csv",
        "curves.png",
        "preprocess.safetensors",
        "checkpoint.safetensors",
    ):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["n_train"] == 400 and config["n_val"] == 40 and config["n_test"] == 1000
    assert config["input_shape"] == [40] and config["num_classes"] == 10
    rows = list(csv.DictReader((out / "history.csv").read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert {"loss", "acc", "val_loss", "val_acc", "lr"} <= set(rows[0])
    weights = cr.load(out / "model.safetensors")
    shapes = sorted(tuple(v.shape) for k, v in weights.items() if k.endswith("weight"))
    assert shapes == [(10, 32), (32, 40)]

    assert cli.main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    acc = config["results"]["test_acc"]
    assert f"test accuracy {100 * acc:.2f}%" in printed  # same model, same number
    assert "per-class accuracy" in printed


def test_resume_matches_uninterrupted(tmp_path, capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    _train(full, "--epochs", "3", "--schedule", "none")
    _train(part, "--epochs", "2", "--schedule", "none")
    _train(part, "--epochs", "3", "--schedule", "none", "--resume")
    out = capsys.readouterr().out
    assert out.count("epoch   3/3") == 2  # the resumed run trained only the third epoch
    a, b = cr.load(full / "model.safetensors"), cr.load(part / "model.safetensors")
    for k in a:
        np.testing.assert_array_equal(a[k].data, b[k].data, err_msg=k)
    rows = list(csv.DictReader((part / "history.csv").read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]


def test_evaluate_missing_dir_and_bad_args(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "config.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--data", "imagenet"])
    assert cli.main(["train", "--epochs", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--epochs must be an integer >= 1" in capsys.readouterr().err


def test_checkpoint_holds_preprocessing_and_zoo_model_trains(tmp_path, capsys):
    out = tmp_path / "run"
    _train(out, "--epochs", "1")
    ckpt = cr.load(out / "checkpoint.safetensors")
    assert ckpt["epoch"] == 1 and set(ckpt["extra"]["preprocess"]) >= {"mean", "std"}
    np.testing.assert_array_equal(
        ckpt["extra"]["preprocess"]["mean"], cr.load(out / "preprocess.safetensors")["mean"]
    )
    if "cnn1d" not in cr.models.list_models():
        pytest.skip("the 1-D CNN is not in the model zoo yet")
    zoo = tmp_path / "zoo"
    assert (
        cli.main(
            [
                "train",
                "--model",
                "cnn1d",
                "--epochs",
                "1",
                "--limit-train",
                "200",
                "--out",
                str(zoo),
                "--quiet",
            ]
        )
        == 0
    )
    config = json.loads((zoo / "config.json").read_text())
    assert config["input_shape"] == [1, 40]
    assert cli.main(["evaluate", str(zoo)]) == 0
    assert f"{100 * config['results']['test_acc']:.2f}%" in capsys.readouterr().out


def test_resume_with_augmentation_matches_uninterrupted(tmp_path, capsys):
    """--augment draws shifts and flips from the dataset's own generator: a resumed run must
    restore it too (the checkpoint once saved only the loader's, so a resumed augmented run
    drew epoch 1's augmentations again)."""
    root = tmp_path / "data"
    root.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 10)):
        write_idx(
            root / f"{prefix}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    args = ["--data", "fashion-mnist", "--data-root", str(root), "--augment", "--model", "lenet5"]
    args += ["--limit-train", "40", "--batch-size", "10", "--schedule", "none"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert _train(full, *args, "--epochs", "3") == 0
    assert _train(part, *args, "--epochs", "2") == 0
    assert _train(part, *args, "--epochs", "3", "--resume") == 0, capsys.readouterr().err
    assert capsys.readouterr().out.count("epoch   3/3") == 2
    a, b = cr.load(full / "model.safetensors"), cr.load(part / "model.safetensors")
    for k in a:
        np.testing.assert_array_equal(a[k].data, b[k].data, err_msg=k)
