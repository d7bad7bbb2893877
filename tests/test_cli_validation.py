"""The CLI rejects bad input with a clear message and a non-zero exit, never a traceback
(issue 9, sections 3 and 5): numeric flags, --out, run configs, diverging runs, explain."""

from __future__ import annotations

import json
import os

import pytest

import chainrule as cr
from chainrule import cli
from chainrule.commands._classifier import build_model


@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("--lr", "inf", "--lr must be a finite number"),
        ("--lr", "nan", "--lr must be a finite number"),
        ("--lr", "-0.1", "--lr must be a finite number > 0"),
        ("--val-fraction", "1.5", "--val-fraction must be strictly between 0 and 1"),
        ("--val-fraction", "nan", "--val-fraction must be a finite number"),
        ("--patience", "-1", "--patience must be an integer >= 1"),
        ("--seed", "-1", "--seed must be an integer in [0, 2**63)"),
        ("--momentum", "inf", "--momentum must be a finite number"),
        ("--weight-decay", "-1", "--weight-decay must be a finite number >= 0"),
        ("--dropout", "1", "--dropout must be in [0, 1)"),
        ("--limit-train", "0", "--limit-train must be an integer >= 1"),
        ("--batch-size", "0", "--batch-size must be an integer >= 1"),
        ("--hidden", "0", "hidden layer sizes must be"),
    ],
)
def test_numeric_flags_are_validated_before_anything_runs(tmp_path, capsys, flag, value, expected):
    out = tmp_path / "run"
    assert cli.main(["train", flag, value, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.startswith("chainrule train:") and "Traceback" not in err
    assert not out.exists()


def test_bad_out_directories(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli.main(["train", "--out", str(afile), "--quiet"]) == 2
    assert "--out must be a directory path" in capsys.readouterr().err
    assert cli.main(["train", "--out", str(afile / "sub"), "--epochs", "1", "--quiet"]) == 2
    assert "cannot create --out directory" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_diverging_run_stops_without_saving_a_model(tmp_path, capsys):
    out = tmp_path / "run"
    rc = cli.main(
        [
            "train",
            "--optimizer",
            "sgd",
            "--lr",
            "1e30",
            "--epochs",
            "3",
            "--limit-train",
            "64",
            "--hidden",
            "8",
            "--schedule",
            "none",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "training loss became" in err and "--lr" in err
    assert not (out / "model.safetensors").exists() and not (out / "config.json").exists()


def _good_run(tmp_path, hidden=(8,)):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    model = build_model("mlp", (40,), 10, list(hidden))
    cr.save(model.state_dict(), run / "model.safetensors")
    config = {
        "data": "mnist1d",
        "model": "mlp",
        "input_shape": [40],
        "num_classes": 10,
        "hidden": [8],
        "dropout": 0.0,
    }
    return run, config


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ("{}", "lacks data, model, input_shape, num_classes, hidden"),
        (
            '{"data": "mnist1d", "model": "mlp", "input_shape": [40], "num_classes": 10, '
            '"hidden": [1000000000]}',
            "hidden layer sizes must be",
        ),
        (
            '{"data": "mnist1d", "model": "mlp", "input_shape": [40], "num_classes": 1000000000, '
            '"hidden": [8]}',
            "'num_classes' must be an integer",
        ),
        (
            '{"data": "mnist1d", "model": "mlp", "input_shape": [100000, 100000], '
            '"num_classes": 10, "hidden": [8]}',
            "'input_shape' must be",
        ),
        (
            '{"data": "mnist1d", "model": "os.system", "input_shape": [40], "num_classes": 10, '
            '"hidden": [8]}',
            "'model' must be",
        ),
        (
            '{"data": "mnist1d", "model": "mlp", "input_shape": [40], "num_classes": 10, '
            '"hidden": [16]}',
            "does not match its config.json",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_corrupt_keyless_or_hostile_config(tmp_path, capsys, content, expected):
    run, _ = _good_run(tmp_path)
    (run / "config.json").write_text(content)
    assert cli.main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.startswith("chainrule evaluate:"), err


def test_evaluate_with_a_mismatched_zoo_classifier(tmp_path, capsys):
    run, config = _good_run(tmp_path)
    model = cr.models.get_model("cnn1d", num_classes=5, in_channels=1)
    cr.save(model.state_dict(), run / "model.safetensors")
    config.update(model="cnn1d", input_shape=[1, 40])
    (run / "config.json").write_text(json.dumps(config))
    assert cli.main(["evaluate", str(run)]) == 2
    assert "no layer of the weights has 10 outputs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("9**9**9*x", "not a finite real number"),
        ("1e400*x", "too large for a float64"),
        ("9" * 1990 + "*x", "too large for a float64"),
        ("(" * 250 + "x" + ")" * 250, "cannot parse"),
        ("+".join(["x"] * 600), "nested more than 400 levels"),
        ("-" * 700 + "x", "nested more than 400 levels"),
        ("x" + "+x" * 1100, "too long"),
        ("0**-1 + x", "not a finite real number"),
    ],
)
def test_explain_rejects_huge_deep_or_large_expressions(capsys, expr, expected):
    assert cli.main(["explain", "--at", "x=2", "--", expr]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.startswith("chainrule explain:") and "Traceback" not in err
    assert os.linesep.join(err.splitlines()) == err.rstrip("\n")


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["inspect-init", "--width", "1000000000"], "--width must be an integer in [1, 16384]"),
        (["inspect-init", "--depth", "-1"], "--depth must be an integer"),
        (["inspect-init", "--init", "nan"], "--init must be a finite number > 0.0"),
        (["sanity", "--lr", "inf"], "--lr must be a finite number > 0.0"),
        (["sanity", "--examples", "0"], "--examples must be an integer"),
        (["sanity", "--seed", "-1"], "--seed must be an integer"),
        (["graph", "--model", "lenet5", "--input-shape", "100000,100000"], "at most 10**7"),
        (["graph", "--model", "lenet5", "--input-shape", "a,b"], "comma-separated integers"),
    ],
)
def test_other_commands_validate_numbers(capsys, argv, expected):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.startswith(f"chainrule {argv[0]}:"), err
