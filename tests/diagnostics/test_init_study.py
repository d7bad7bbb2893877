"""The lectures' initialization experiment reproduces the expected statistics."""

from __future__ import annotations

import pytest

from chainrule.cli import main
from chainrule.diagnostics import init_study


def test_small_init_collapses():
    s = init_study("tanh", "small", depth=7, width=512, batch=16)
    assert s.stds[0] < 0.3 and s.stds[-1] < 1e-4
    assert all(b < a for a, b in zip(s.stds, s.stds[1:]))  # shrinks every layer
    assert all(abs(m) < 1e-2 for m in s.means)


def test_large_init_saturates_tanh():
    s = init_study("tanh", "large", depth=7, width=4096, batch=8)
    assert all(r["frac_saturated"] > 0.25 for r in s.layers)
    assert s.stds[-1] > 0.8  # values pile up at +-1


def test_xavier_tanh_and_kaiming_relu_well_scaled():
    x = init_study("tanh", "xavier", depth=7, width=512, batch=16)
    assert 0.15 < x.stds[-1] < 0.7 and max(r["frac_saturated"] for r in x.layers) < 0.05
    k = init_study("relu", "kaiming", depth=7, width=512, batch=16)
    assert all(0.6 < s < 1.1 for s in k.stds)  # variance preserved through depth
    small = init_study("relu", "xavier", depth=7, width=512, batch=16)
    assert small.stds[-1] < 0.3 * k.stds[-1]  # Xavier is too small for ReLU


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown init"):
        init_study("tanh", "huge", width=8)
    with pytest.raises(ValueError, match="unknown activation"):
        init_study("gelu", "small", width=8)


def test_cli_inspect_init(capsys, tmp_path):
    code = main(
        [
            "inspect-init",
            "--activation",
            "relu",
            "--init",
            "kaiming",
            "--depth",
            "5",
            "--width",
            "256",
            "--batch",
            "8",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(0.5 < float(r[2]) < 1.2 for r in rows)  # std column
    png = tmp_path / "init_relu_kaiming.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
