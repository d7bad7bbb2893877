"""Where a storage was saved (``torch.save`` records ``"cuda:0"`` for a GPU tensor) decides
where ``cr.load`` puts it, as in PyTorch: back on that device by default, refused without a
GPU, and moved by ``map_location`` (a device, a dict of locations, or a function given the
location). The GPU side is tested in tests/gpu/test_cuda_training.py."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch

import chainrule as cr


def _saved_on_cuda() -> bytes:
    """A checkpoint of {"w": tensor} whose storage says it was saved from ``cuda:0``
    (written on the CPU, then its location string rewritten in data.pkl)."""
    buf = io.BytesIO()
    cr.save({"w": cr.arange(6.0).reshape(2, 3)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data.pkl"):
                assert data.count(b"X\x03\x00\x00\x00cpu") == 1
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            dst.writestr(info.filename, data)
    return out.getvalue()


pytestmark = pytest.mark.skipif(cr.cuda.is_available(), reason="tests the CPU-only answers")


def test_a_cuda_storage_without_a_gpu_is_refused_as_in_torch():
    blob = _saved_on_cuda()
    with pytest.raises(RuntimeError, match="map_location") as ours:
        cr.load(io.BytesIO(blob))
    with pytest.raises(RuntimeError, match="map_location") as theirs:
        torch.load(io.BytesIO(blob))
    assert "CUDA device" in str(ours.value) and "CUDA device" in str(theirs.value)


@pytest.mark.parametrize(
    "where", ["cpu", cr.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage]
)
def test_map_location_brings_a_cuda_storage_to_the_cpu(where):
    state = cr.load(io.BytesIO(_saved_on_cuda()), map_location=where)
    assert state["w"].device == cr.device("cpu")
    np.testing.assert_array_equal(state["w"].numpy(), np.arange(6.0).reshape(2, 3))
    twhere = {"cuda:0": "cpu"} if isinstance(where, dict) else where
    if isinstance(where, cr.device):
        twhere = torch.device("cpu")
    assert torch.load(io.BytesIO(_saved_on_cuda()), map_location=twhere)["w"].device.type == "cpu"


def test_map_location_function_is_told_the_saved_location():
    seen = []
    cr.load(io.BytesIO(_saved_on_cuda()), map_location=lambda s, loc: seen.append(loc) or s)
    tseen = []
    torch.load(io.BytesIO(_saved_on_cuda()), map_location=lambda s, loc: tseen.append(loc) or s)
    assert seen == tseen == ["cuda:0"]


def test_a_dict_that_does_not_name_the_location_keeps_it_and_so_refuses():
    with pytest.raises(RuntimeError, match="CUDA device"):
        cr.load(io.BytesIO(_saved_on_cuda()), map_location={"cuda:1": "cpu"})
