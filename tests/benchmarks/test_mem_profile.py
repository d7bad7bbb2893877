"""benchmarks/mem_profile.py counts what a graph keeps for backward: each buffer once,
parameters excluded, batch norm's x̂ not among them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "mem_profile.py"


@pytest.fixture(scope="module")
def prof():
    spec = importlib.util.spec_from_file_location("mem_profile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["mem_profile"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("mem_profile", None)


def test_saved_bytes_of_linear_bn_relu(prof):
    cr.manual_seed(0)
    n, cin, c = 8, 5, 6
    model = cr.nn.Sequential(cr.nn.Linear(cin, c), cr.nn.BatchNorm1d(c), cr.nn.ReLU())
    x = cr.tensor(np.random.default_rng(0).standard_normal((n, cin)).astype(np.float32))
    out = model(x).sum()
    by_op, total = prof.saved_bytes_by_op(out)
    act = n * c * 4
    # the input (not a parameter), the Linear output (batch norm's input), the ReLU output,
    # and batch norm's per-channel mean and 1/sigma; weights and biases are not counted
    assert total == x._data.nbytes + act + act + 2 * c * 4
    assert by_op["ReluBackward0"] == (act, 1)
    assert by_op["NativeBatchNormBackward0"][0] == act + 2 * c * 4
