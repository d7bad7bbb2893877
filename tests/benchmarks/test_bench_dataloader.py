"""benchmarks/bench_dataloader.py works: same batches for every num_workers, a quick run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_dataloader.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_dataloader", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_dataloader"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_dataloader", None)


def test_batches_do_not_depend_on_num_workers(bench):
    single = bench.child_run("chainrule", 0, 80, 12)
    workers = bench.child_run("chainrule", 2, 80, 12)
    assert single["n"] == workers["n"] == 80
    assert single["digest"] == workers["digest"]
    assert single["seconds"] > 0 and workers["first_batch"] > 0
    assert workers["cpu"] > 0  # includes the joined workers' CPU time


def test_torch_loader_sees_the_same_batches(bench):
    pytest.importorskip("torch")
    assert (
        bench.child_run("torch", 0, 70, 12)["digest"]
        == bench.child_run("chainrule", 0, 70, 12)["digest"]
    )


def test_per_worker_seeding_check(bench):
    out = bench.child_check(70, 12)
    assert out["reproducible"] and out["same_order"]
    assert out["images_equal_to_single_process"] is False  # each worker has its own stream


def test_report_table(bench):
    runs = {
        ("chainrule", 0): [{"seconds": 2.0, "first_batch": 0.1, "cpu": 2.0}],
        ("chainrule", 2): [
            {"seconds": 1.0, "first_batch": 0.3, "cpu": 2.5},
            {"seconds": 3.0, "first_batch": 0.3, "cpu": 2.1},
            {"seconds": 1.5, "first_batch": 0.2, "cpu": 2.2},
        ],
    }
    table = bench.report(runs, 1000)
    assert table[2] == "| chainrule | 0 | 2.00 s | 100 ms | 500 | 1.00x | 2.00 |"
    assert table[3] == "| chainrule | 2 | 1.50 s | 300 ms | 667 | 1.33x | 2.20 |"


@pytest.mark.slow
def test_quick_run_end_to_end():
    res = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--images",
            "64",
            "--size",
            "12",
            "--torch-workers=",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "byte-identical" in res.stdout
    assert "| chainrule | 2 |" in res.stdout
    assert "load average" in res.stdout
