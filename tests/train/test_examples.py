"""Every example script runs top to bottom with its --quick setting."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert {
        "two_layer_network.py",
        "logistic_regression.py",
        "fashion_mnist_mlp.py",
        "perceptron.py",
        "pca_whitening.py",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(path), "--quick"])
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert out.strip(), f"{path.name} printed nothing"
    if path.stem == "perceptron":
        assert "AND: learned" in out and "XOR: NOT learned" in out
    if path.stem == "logistic_regression":
        assert "accuracy 9" in out.splitlines()[-2]  # > 90% on well separated clouds
