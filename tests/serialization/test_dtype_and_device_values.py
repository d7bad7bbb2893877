"""dtypes and devices stored as values (a training config, ``{"dtype": torch.float32}``)
move between ``torch.save``/``torch.load`` and ``cr.save``/``cr.load`` with
``weights_only=True`` both ways, as the globals ``torch.float32`` and ``torch.device(...)``
that a weights-only load allows. chainrule used to write its own global (refused by both
loaders) and to read ``torch.float32`` as a NumPy dtype instead of ``cr.float32``."""

from __future__ import annotations

import io

import pytest
import torch

import chainrule as cr

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int8", "uint8", "bool"]


def _round_trip(save, load, obj):
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    return load(buffer, weights_only=True)


@pytest.mark.parametrize("name", DTYPES)
def test_dtype_values_cross_both_ways(name) -> None:
    ours, theirs = getattr(cr, name), getattr(torch, name)
    assert _round_trip(cr.save, torch.load, ours) is theirs
    assert _round_trip(torch.save, cr.load, theirs) is ours
    assert _round_trip(cr.save, cr.load, ours) is ours


@pytest.mark.parametrize("spec", [("cpu",), ("cuda", 1)])
def test_device_values_cross_both_ways(spec) -> None:
    ours, theirs = cr.device(*spec), torch.device(*spec)
    back = _round_trip(cr.save, torch.load, {"device": ours})["device"]
    assert back == theirs
    mine = _round_trip(torch.save, cr.load, {"device": theirs})["device"]
    assert mine == ours and isinstance(mine, cr.device)


def test_a_config_with_tensors_dtypes_and_devices() -> None:
    config = {"dtype": cr.float64, "device": cr.device("cpu"), "w": cr.arange(3.0)}
    back = _round_trip(cr.save, torch.load, config)
    assert back["dtype"] is torch.float64 and back["device"] == torch.device("cpu")
    assert back["w"].tolist() == [0.0, 1.0, 2.0]
    again = _round_trip(torch.save, cr.load, back)
    assert again["dtype"] is cr.float64 and again["w"].tolist() == [0.0, 1.0, 2.0]
