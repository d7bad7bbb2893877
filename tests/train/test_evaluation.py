"""``cr.train.evaluate`` / ``predict``: a model over a loader with no optimizer, and the CLI
job's split from the library (issue 10, item 3)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli
from chainrule.train import Trainer, evaluate, predict

from ._tiny import TinyMLP, cross_entropy, loaders


def test_evaluate_and_predict_need_no_optimizer():
    model = TinyMLP()
    _, val = loaders()
    model.train()
    res = evaluate(model, cross_entropy, val)
    assert model.training  # the mode is restored
    assert set(res) == {"loss", "acc"} and 0.0 <= res["acc"] <= 1.0
    # the same numbers as a Trainer's (which delegates to these functions)
    trainer = Trainer(model, cross_entropy, cr.optim.SGD(model.parameters(), lr=0.1), verbose=False)
    assert trainer.evaluate(val) == res
    out = predict(model, val)
    assert out.shape == (48, 3)
    np.testing.assert_array_equal(out, trainer.predict(val))
    x = cr.cat([b[0] for b in val])
    with cr.no_grad():
        model.eval()
        np.testing.assert_allclose(out, model(x)._data, rtol=1e-6)


def test_evaluate_rejects_unpaired_batches():
    with pytest.raises(ValueError, match="evaluate: each batch must be a pair"):
        evaluate(TinyMLP(), cross_entropy, [cr.zeros(2, 4)])


def test_load_data_speaks_as_a_library_function():
    from chainrule.data.datasets import load_data

    with pytest.raises(ValueError, match="load_data: unknown data set 'nope'") as info:
        load_data("nope")
    assert "chainrule" not in str(info.value)
    with pytest.raises(ValueError, match="load_data: cifar10 needs a data root"):
        load_data("cifar10")


def test_old_job_path_reexports_the_moved_names():
    from chainrule.commands import _classifier
    from chainrule.data.datasets import load_data
    from chainrule.train import job

    assert job.load_data is load_data
    assert job.TrainConfig is _classifier.TrainConfig
    assert job.evaluate_run is _classifier.evaluate_run


def test_cli_evaluate_builds_no_optimizer(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert (
        cli.main(
            [
                "train",
                "--data",
                "mnist1d",
                "--epochs",
                "1",
                "--limit-train",
                "100",
                "--hidden",
                "8",
                "--batch-size",
                "50",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )

    def no_optimizer(*args, **kwargs):
        raise AssertionError("evaluation must not build an optimizer")

    for name in ("SGD", "Adam"):
        monkeypatch.setattr(cr.optim, name, no_optimizer)
    assert cli.main(["evaluate", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
