"""Reading PyTorch's own .pt / .pth files with cr.load: no torch import, no code run."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


def _torch_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    )


def _cr_mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def test_state_dict_loads_into_equivalent_model_and_matches_outputs(tmp_path):
    tm = _torch_mlp()
    tm.train()
    tm(torch.randn(16, 4, dtype=torch.float32))  # non-trivial running statistics
    tm.eval()
    path = tmp_path / "mlp.pth"
    torch.save(tm.state_dict(), path)
    sd = cr.load(path)
    assert isinstance(sd, OrderedDict) and list(sd) == list(tm.state_dict())
    assert all(isinstance(v, cr.Tensor) for v in sd.values())
    assert sd["1.num_batches_tracked"].dtype == cr.int64
    model = _cr_mlp()
    model.load_state_dict(sd)
    model.eval()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    want = tm(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_optimizer_state_dict_loads_into_chainrule_optimizer(tmp_path):
    tm = _torch_mlp()
    opt = torch.optim.Adam(tm.parameters(), lr=1e-2)
    tm(torch.randn(6, 4)).sum().backward()
    opt.step()
    torch.save({"model": tm.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ck.pt")
    ck = cr.load(tmp_path / "ck.pt")
    state = ck["optimizer"]
    assert state["param_groups"][0]["betas"] == (0.9, 0.999)
    assert state["param_groups"][0]["params"] == list(range(6))
    assert set(state["state"]) == set(range(6))
    ref = opt.state_dict()["state"][0]["exp_avg_sq"].numpy()
    np.testing.assert_array_equal(state["state"][0]["exp_avg_sq"].numpy(), ref)
    model = _cr_mlp()
    model.load_state_dict(ck["model"])
    copt = cr.optim.Adam(model.parameters(), lr=1e-2)
    copt.load_state_dict(state)
    assert copt.param_groups[0]["lr"] == 1e-2


def test_nested_containers_primitives_and_dtypes(tmp_path):
    tensors = {
        "f16": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "f64": torch.tensor([1e-300], dtype=torch.float64),
        "i8": torch.tensor([-3, 4], dtype=torch.int8),
        "i16": torch.tensor([300], dtype=torch.int16),
        "i32": torch.tensor([7], dtype=torch.int32),
        "u8": torch.tensor([255], dtype=torch.uint8),
        "b": torch.tensor([True, False]),
        "scalar": torch.tensor(3.25),
    }
    obj = {
        "t": tensors,
        "list": [torch.ones(2), (1, "a", None)],
        "num": 2.5,
        "flag": True,
        "bytes": b"\x00\xff",
        "c": 1 + 2j,
        "size": torch.Size([2, 3]),
        "od": OrderedDict(a=1),
        "set": {1, 2},
    }
    torch.save(obj, tmp_path / "n.pt")
    back = cr.load(tmp_path / "n.pt")
    for k, t in tensors.items():
        assert back["t"][k].numpy().dtype == t.numpy().dtype, k
        np.testing.assert_array_equal(back["t"][k].numpy(), t.numpy())
    assert back["t"]["scalar"].shape == ()
    assert isinstance(back["list"][1], tuple) and back["list"][1] == (1, "a", None)
    assert back["num"] == 2.5 and back["flag"] is True and back["bytes"] == b"\x00\xff"
    assert back["c"] == 1 + 2j and back["size"] == (2, 3) and back["set"] == {1, 2}
    assert isinstance(back["od"], OrderedDict)


def test_views_offsets_strides_and_shared_storage(tmp_path):
    base = torch.arange(24.0).reshape(4, 6)
    obj = {
        "base": base,
        "t": base.t(),
        "cols": base[:, 1::2],
        "tail": base[2:],
        "expanded": torch.arange(3.0)[:, None].expand(3, 5),
    }
    torch.save(obj, tmp_path / "v.pt")
    back = cr.load(tmp_path / "v.pt")
    for k, t in obj.items():
        np.testing.assert_array_equal(back[k].numpy(), t.numpy(), err_msg=k)
    assert np.shares_memory(back["base"].data, back["tail"].data)  # one storage, as in torch
    back["expanded"].data[0, 0] = 99.0  # expanded views are copied: one element changes
    assert back["expanded"].numpy()[0, 1] == 0.0


def test_parameters_come_back_as_parameters(tmp_path):
    torch.save(
        [
            torch.nn.Parameter(torch.ones(2)),
            torch.nn.Parameter(torch.zeros(1), requires_grad=False),
        ],
        tmp_path / "p.pt",
    )
    p, q = cr.load(tmp_path / "p.pt")
    assert isinstance(p, nn.Parameter) and p.requires_grad and not q.requires_grad


def test_bfloat16_uses_ml_dtypes(tmp_path):
    pytest.importorskip("ml_dtypes")
    torch.save({"w": torch.tensor([1.0, -2.5], dtype=torch.bfloat16)}, tmp_path / "bf.pt")
    w = cr.load(tmp_path / "bf.pt")["w"]
    assert w.data.dtype.name == "bfloat16"
    np.testing.assert_array_equal(w.data.float().numpy(), [1.0, -2.5])


def test_malicious_pickle_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"w": torch.ones(1), "evil": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"Weights only load failed.*system"):
        cr.load(tmp_path / "evil.pt")
    assert not marker.exists()


def test_unknown_torch_global_is_refused_with_its_name(tmp_path):
    torch.save({"fn": torch.nn.functional.relu}, tmp_path / "f.pt")
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.functional.relu"):
        cr.load(tmp_path / "f.pt")


def test_reading_does_not_import_torch(tmp_path):
    torch.save({"w": torch.arange(3.0)}, tmp_path / "w.pt")
    code = (
        "import sys, chainrule as cr; w = cr.load(sys.argv[1])['w']; "
        "assert 'torch' not in sys.modules; print(w.numpy().tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "w.pt")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert out.stdout.strip() == "[0.0, 1.0, 2.0]"


def test_legacy_pickle_format_is_reported(tmp_path):
    torch.save({"w": torch.ones(1)}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="legacy format"):
        cr.load(tmp_path / "old.pt")


def test_map_location_and_unsupported_arguments(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "w.pt")
    assert cr.load(tmp_path / "w.pt", map_location="cpu")["w"].device.type == "cpu"
    assert cr.load(tmp_path / "w.pt", mmap=True)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(NotImplementedError, match="pickle_module"):
        cr.load(tmp_path / "w.pt", pickle_module=pickle)
    with pytest.raises(NotImplementedError, match="encoding"):
        cr.load(tmp_path / "w.pt", encoding="latin1")


def test_unsigned_and_complex_tensors_use_untyped_storages(tmp_path):
    obj = {
        "u16": torch.tensor([1, 65535], dtype=torch.uint16),
        "u32": torch.tensor([3], dtype=torch.uint32),
        "u64": torch.tensor([2**63], dtype=torch.uint64),
        "c64": torch.tensor([1 + 2j]),
        "c128": torch.tensor([1 - 2j], dtype=torch.complex128),
    }
    torch.save(obj, tmp_path / "u.pt")
    back = cr.load(tmp_path / "u.pt")
    for k, t in obj.items():
        ref = (
            t.numpy()
            if not k.startswith("u") or k == "u16"
            else np.array(t.tolist(), dtype=k.replace("u", "uint"))
        )
        assert back[k].data.dtype == ref.dtype, k
        np.testing.assert_array_equal(back[k].data, ref, err_msg=k)


def test_bfloat16_without_ml_dtypes_is_a_clear_error(tmp_path, monkeypatch):
    torch.save({"w": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bf.pt")
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import now raises ImportError
    with pytest.raises(ValueError, match="bfloat16.*pip install ml-dtypes"):
        cr.load(tmp_path / "bf.pt")


def test_big_endian_archives_are_byteswapped(tmp_path):
    import zipfile

    want = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    torch.save({"w": torch.from_numpy(want.copy())}, tmp_path / "le.pt")
    with (
        zipfile.ZipFile(tmp_path / "le.pt") as src,
        zipfile.ZipFile(tmp_path / "be.pt", "w") as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in info.filename:
                data = np.frombuffer(data, "<f4").astype(">f4").tobytes()
            dst.writestr(info.filename, data)
    back = cr.load(tmp_path / "be.pt")["w"]
    assert back.dtype == cr.float32
    np.testing.assert_array_equal(back.numpy(), want)
