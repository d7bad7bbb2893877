"""``cr.save`` keeps a state dict's ``_metadata`` (module versions) as ``torch.save`` does:
``torch.load`` and ``cr.load`` give it back, and ``load_state_dict`` acts on it."""

from __future__ import annotations

import io
import pickletools
import zipfile
from collections import OrderedDict

import pytest
import torch

import chainrule as cr


def models():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3), lib.nn.LSTM(3, 2))

    return build(cr), build(torch)


def saved_bytes(save, obj):
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()


def data_pkl(raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))


def test_torch_load_sees_the_same_metadata_as_torch_save_writes():
    ours, theirs = models()
    csd = ours.state_dict()
    expect = torch.load(io.BytesIO(saved_bytes(torch.save, theirs.state_dict())))._metadata
    got = torch.load(io.BytesIO(saved_bytes(cr.save, csd)))._metadata
    assert type(got) is OrderedDict and got == expect == csd._metadata
    # the pickle gained a BUILD and names no global beyond those torch.save writes

    def ops(raw):
        return [(op.name, arg) for op, arg, _ in pickletools.genops(data_pkl(raw))]

    ours_ops = ops(saved_bytes(cr.save, csd))
    theirs_ops = ops(saved_bytes(torch.save, theirs.state_dict()))
    assert ours_ops[-2:] == theirs_ops[-2:] == [("BUILD", None), ("STOP", None)]
    assert {a for n, a in ours_ops if n == "GLOBAL"} == {a for n, a in theirs_ops if n == "GLOBAL"}


def test_cr_load_round_trips_metadata_in_nests_and_files(tmp_path):
    ours, _ = models()
    sd = ours.state_dict()
    path = tmp_path / "ckpt.pt"
    cr.save({"model": sd, "step": 3}, path)
    back = cr.load(path)
    assert back["model"]._metadata == sd._metadata and back["step"] == 3
    assert list(back["model"]) == list(sd)
    assert torch.load(path)["model"]._metadata == sd._metadata  # torch reads the same nest


def test_other_ordered_dict_attributes_travel_too():
    d = OrderedDict(a=cr.ones(1))
    d.note = "x"
    assert vars(torch.load(io.BytesIO(saved_bytes(cr.save, d)))) == {"note": "x"}
    assert vars(cr.load(io.BytesIO(saved_bytes(cr.save, d)))) == {"note": "x"}
    assert not vars(cr.load(io.BytesIO(saved_bytes(cr.save, OrderedDict(a=cr.ones(1))))))


@pytest.mark.parametrize("version", [None, 2])
def test_loaded_versions_reach_load_state_dict(version):
    # BatchNorm without num_batches_tracked: fine for an unversioned (old) checkpoint, a
    # missing key for a version-2 one; the saved _metadata decides, in both frameworks
    def attempt(lib, save, load):
        sd = lib.nn.BatchNorm1d(2).state_dict()
        del sd["num_batches_tracked"]
        if version is None:
            del sd._metadata
        else:
            sd._metadata[""]["version"] = version
        try:
            lib.nn.BatchNorm1d(2).load_state_dict(load(io.BytesIO(saved_bytes(save, sd))))
            return "ok"
        except RuntimeError as err:
            return str(err)

    ours = attempt(cr, cr.save, cr.load)
    assert ours == attempt(torch, torch.save, torch.load)
    assert (ours == "ok") == (version is None)


def test_safetensors_path_drops_metadata(tmp_path):
    ours, _ = models()
    sd = ours.state_dict()
    path = tmp_path / "weights.safetensors"
    cr.save(sd, path)
    back = cr.load(path)
    assert list(back) == list(sd) and getattr(back, "_metadata", None) is None
