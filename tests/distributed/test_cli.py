"""`chainrule launch -n 2 -- chainrule train --distributed` against one process, and resuming a
2-process checkpoint in 1 process."""

import csv
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli
from chainrule.distributed.launcher import launch_environment

from ._launch import needs_mpirun

ARGS = [
    "--data",
    "mnist1d",
    "--limit-train",
    "128",
    "--batch-size",
    "64",
    "--dropout",
    "0",
    "--hidden",
    "16",
    "--optimizer",
    "sgd",
    "--schedule",
    "none",
    "--quiet",
]


@needs_mpirun
@pytest.mark.slow
def test_distributed_train_matches_one_process_and_resumes_on_one(tmp_path):
    two = tmp_path / "two"
    cmd = [
        sys.executable,
        "-m",
        "chainrule",
        "launch",
        "-n",
        "2",
        "--oversubscribe",
        "--",
        sys.executable,
        "-m",
        "chainrule",
        "train",
        "--distributed",
        "--epochs",
        "1",
        "--out",
        str(two),
        *ARGS,
    ]
    env = launch_environment()
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("test accuracy") == 1  # rank 0 alone reports
    assert (two / "checkpoint.safetensors").is_file()
    # Resume the 2-process run in a single process for a second epoch ...
    assert cli.main(["train", "--resume", "--epochs", "2", "--out", str(two), *ARGS]) == 0
    # ... and compare with one process doing both epochs with the whole batch.
    one = tmp_path / "one"
    assert cli.main(["train", "--epochs", "2", "--out", str(one), *ARGS]) == 0
    a, b = cr.load(one / "model.safetensors"), cr.load(two / "model.safetensors")
    for key in a:
        assert np.allclose(a[key].data, b[key].data, rtol=0, atol=1e-5), key
    rows = [list(csv.DictReader((d / "history.csv").read_text().splitlines())) for d in (one, two)]
    assert [r["epoch"] for r in rows[1]] == ["0", "1"]
    for r1, r2 in zip(*rows):
        assert abs(float(r1["loss"]) - float(r2["loss"])) < 1e-4


def test_distributed_flag_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "--distributed" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["launch", "--help"])
    assert "--hostfile" in capsys.readouterr().out


def test_launch_dry_run_and_errors(capsys, tmp_path):
    assert cli.main(["launch", "-n", "3", "--dry-run", "--", "python", "t.py", "--x", "1"]) == 0
    out = capsys.readouterr().out
    assert " -n 3 " in out and out.strip().endswith("python t.py --x 1")
    assert (
        cli.main(
            ["launch", "-n", "2", "--hostfile", str(tmp_path / "nope"), "--", "python", "t.py"]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["launch", "-n", "2"]) == 2
    assert "no program" in capsys.readouterr().err
