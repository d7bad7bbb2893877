"""``torch.load`` (weights-only, its default) reads what ``cr.save`` writes; ``cr.load`` too.

Every test saves with chainrule and loads with the real PyTorch, then compares values,
dtypes, shapes, flags and key order; the rest check that ``cr.load`` reads the new files
and the formats older chainrule versions wrote, and that other objects keep their path.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.io import _save
from chainrule.serialization import LoadError, pickle_format

ml_dtypes = pytest.importorskip("ml_dtypes")

_DTYPES = [
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "bool",
    "complex64",
    "complex128",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]


def _array(name: str, shape=(2, 3)) -> np.ndarray:
    values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) - 2
    if name == "bool":
        return values > 0
    if name == "bfloat16":
        return values.astype(ml_dtypes.bfloat16)
    if name.startswith("complex"):
        return (values + 1j * values[::-1]).astype(name)
    if name.startswith("uint"):
        values = values + 2
    return values.astype(name)


def _as_numpy(t: torch.Tensor) -> np.ndarray:
    if t.dtype == torch.bfloat16:
        return t.float().numpy().astype(ml_dtypes.bfloat16)
    return t.numpy()


def _torch_load_both_ways(path) -> object:
    first = torch.load(path)
    second = torch.load(path, weights_only=True)
    assert type(first) is type(second)
    return first


def test_every_dtype_and_layout_loads_in_torch(tmp_path):
    obj = {}
    for name in _DTYPES:
        arr = _array(name)
        obj[name] = cr.tensor(arr)
        obj[f"{name}_t"] = cr.tensor(arr).T  # non-contiguous: stored contiguous
        obj[f"{name}_0d"] = cr.tensor(arr[1, 2])
    obj["empty"] = cr.zeros(0, 4)
    obj["view"] = cr.arange(10.0)[2:8:2]
    path = tmp_path / "dtypes.pt"
    cr.save(obj, path)
    back = _torch_load_both_ways(path)
    assert list(back) == list(obj)
    for key, t in obj.items():
        want = t.numpy() if t.dtype != cr.bfloat16 else t._data
        got = back[key]
        assert isinstance(got, torch.Tensor) and not got.requires_grad, key
        assert str(got.dtype) == f"torch.{t._data.dtype.name}", key
        assert tuple(got.shape) == tuple(t.shape), key
        np.testing.assert_array_equal(_as_numpy(got), want, err_msg=key)
    mine = cr.load(path)
    for key, t in obj.items():
        assert mine[key].dtype == t.dtype and mine[key].shape == t.shape, key
        np.testing.assert_array_equal(mine[key]._data, t._data, err_msg=key)


def test_parameters_and_requires_grad(tmp_path):
    obj = {
        "p": nn.Parameter(cr.tensor(np.arange(4.0).reshape(2, 2))),
        "frozen": nn.Parameter(cr.ones(3), requires_grad=False),
        "leaf": cr.tensor([1.0, 2.0], requires_grad=True),
        "plain": cr.tensor([3, 4]),
        "buffer": nn.Buffer(cr.ones(2)),
    }
    path = tmp_path / "p.pt"
    cr.save(obj, path)
    back = _torch_load_both_ways(path)
    assert type(back["p"]) is torch.nn.Parameter and back["p"].requires_grad
    assert back["p"].dtype == torch.float64
    assert torch.equal(back["p"].detach(), torch.arange(4.0, dtype=torch.float64).reshape(2, 2))
    assert type(back["frozen"]) is torch.nn.Parameter and not back["frozen"].requires_grad
    assert type(back["leaf"]) is torch.Tensor and back["leaf"].requires_grad
    assert not back["plain"].requires_grad and back["plain"].dtype == torch.int64
    assert type(back["buffer"]) is torch.Tensor
    mine = cr.load(path)
    assert isinstance(mine["p"], nn.Parameter) and mine["p"].requires_grad
    assert isinstance(mine["frozen"], nn.Parameter) and not mine["frozen"].requires_grad
    assert mine["leaf"].requires_grad and not mine["plain"].requires_grad


def test_containers_and_primitive_values(tmp_path):
    obj = OrderedDict(
        z=1,
        a=[1, -1, 255, 256, 65535, 65536, -(2**31), 2**31, -(2**63) - 1, 2**300, 0],
        floats=(0.5, float("inf"), -0.0, 1e-300),
        flags=[True, False, None],
        text="naïve – ünïcode",
        raw=b"\x00\xffbytes",
        empty_bytes=b"",
        c=3 - 4j,
        s={1, 2, "x"},
        nested={"t": (1, (2, [3, {}])), 7: "int key", (1, 2): "tuple key", None: 0.25},
        od=OrderedDict([("y", 1), ("x", 2)]),
        long_list=list(range(2500)),
        big_dict={f"k{i}": i for i in range(1200)},
        shape=cr.Size([2, 3]),
        empty=((), [], {}),
    )
    path = tmp_path / "c.pt"
    cr.save(obj, path)
    back = _torch_load_both_ways(path)
    assert type(back) is OrderedDict and list(back) == list(obj)
    assert type(back["od"]) is OrderedDict and list(back["od"]) == ["y", "x"]
    assert back["shape"] == torch.Size([2, 3]) and type(back["shape"]) is torch.Size
    assert back["floats"][2] == 0.0 and str(back["floats"][2]) == "-0.0"
    for key in obj:
        if key != "shape":
            assert back[key] == obj[key], key
    assert list(back["nested"]) == list(obj["nested"]) and list(back["big_dict"]) == list(
        obj["big_dict"]
    )
    mine = cr.load(path)
    assert type(mine) is OrderedDict and list(mine) == list(obj)
    assert mine["shape"] == (2, 3)
    assert {k: v for k, v in mine.items() if k != "shape"} == {
        k: v for k, v in obj.items() if k != "shape"
    }


def _pair(kind: str):
    """The same small model in both libraries: (chainrule module, torch module)."""
    cr.manual_seed(0)
    if kind == "conv":
        return (
            nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.LayerNorm(4)),
            torch.nn.Sequential(
                torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3), torch.nn.LayerNorm(4)
            ),
        )
    if kind == "lstm":
        return (
            nn.ModuleDict({"emb": nn.Embedding(10, 4), "rnn": nn.LSTM(4, 5, num_layers=2)}),
            torch.nn.ModuleDict(
                {"emb": torch.nn.Embedding(10, 4), "rnn": torch.nn.LSTM(4, 5, num_layers=2)}
            ),
        )
    return nn.Linear(3, 2), torch.nn.Linear(3, 2)


@pytest.mark.parametrize("kind", ["linear", "conv", "lstm"])
def test_torch_model_loads_a_chainrule_state_dict(tmp_path, kind):
    mine, theirs = _pair(kind)
    path = tmp_path / "model.pt"
    sd = mine.state_dict()
    cr.save(sd, path)
    loaded = torch.load(path)
    assert type(loaded) is OrderedDict and list(loaded) == list(theirs.state_dict())
    theirs.load_state_dict(loaded)
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), sd[key].numpy(), err_msg=key)
        assert value.dtype == getattr(torch, sd[key].dtype.name)
    again, _ = _pair(kind)
    again.load_state_dict(cr.load(path))
    for key, value in again.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), sd[key].numpy(), err_msg=key)


def test_torch_optimizer_resumes_from_chainrule_optimizer_state(tmp_path):
    cr.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = cr.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.95))
    xs = [np.random.default_rng(i).standard_normal((4, 3)).astype(np.float32) for i in range(3)]
    for x in xs[:2]:
        opt.zero_grad()
        model(cr.tensor(x)).pow(2).sum().backward()
        opt.step()
    path = tmp_path / "ckpt.pt"
    cr.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}, path)
    ckpt = torch.load(path)
    assert isinstance(ckpt["optimizer"]["state"][0]["exp_avg"], torch.Tensor)
    tmodel = torch.nn.Linear(3, 2)
    tmodel.load_state_dict(ckpt["model"])
    topt = torch.optim.Adam(tmodel.parameters(), lr=1.0)
    topt.load_state_dict(ckpt["optimizer"])
    assert topt.param_groups[0]["lr"] == 0.01 and topt.param_groups[0]["betas"] == (0.8, 0.95)
    for lib_opt, lib_model, make in ((opt, model, cr.tensor), (topt, tmodel, torch.tensor)):
        lib_opt.zero_grad()
        lib_model(make(xs[2])).pow(2).sum().backward()
        lib_opt.step()
    np.testing.assert_allclose(
        tmodel.weight.detach().numpy(), model.weight.detach().numpy(), rtol=1e-6, atol=1e-7
    )
    mine = cr.load(path)  # chainrule gets its optimizer state back as tensors, as torch
    assert isinstance(mine["optimizer"]["state"][0]["exp_avg"], cr.Tensor)
    assert isinstance(mine["optimizer"]["state"][0]["step"], cr.Tensor)


def test_numpy_values_come_back_as_numpy_in_chainrule(tmp_path):
    obj = {
        "arr": np.arange(6, dtype=np.int32).reshape(2, 3).T,
        "zero_d": np.array(2.5, np.float16),
        "scalar": np.float32(1.5),
        "flag": np.bool_(True),
        "u64": np.uint64(2**64 - 1),
        "big_endian": np.arange(3, dtype=">f8"),
        "tensor": cr.ones(2),
    }
    path = tmp_path / "np.pt"
    cr.save(obj, path)
    back = cr.load(path)
    for key in ("arr", "zero_d", "big_endian"):
        assert type(back[key]) is np.ndarray and back[key].shape == obj[key].shape, key
        np.testing.assert_array_equal(back[key], obj[key])
    for key in ("scalar", "flag", "u64"):
        assert type(back[key]) is type(obj[key]) and back[key] == obj[key], key
    assert isinstance(back["tensor"], cr.Tensor)
    theirs = torch.load(path)
    assert theirs["scalar"].shape == () and theirs["scalar"].item() == 1.5
    assert theirs["u64"].dtype == torch.uint64 and theirs["arr"].dtype == torch.int32
    np.testing.assert_array_equal(theirs["arr"].numpy(), obj["arr"])


def test_pickle_names_only_torch_globals(tmp_path):
    path = tmp_path / "g.pt"
    cr.save({"w": nn.Parameter(cr.ones(2)), "u": cr.tensor(np.zeros(1, np.uint16)), "s": {1}}, path)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        listing = io.StringIO()
        pickletools.dis(zf.read("archive/data.pkl"), out=listing)
    assert {"archive/data.pkl", "archive/byteorder", "archive/version"} <= names
    globals_ = {line.split("'")[1] for line in listing.getvalue().splitlines() if "GLOBAL" in line}
    assert globals_ == {
        "torch._utils _rebuild_parameter",
        "torch._utils _rebuild_tensor_v2",
        "torch._utils _rebuild_tensor_v3",
        "torch FloatStorage",
        "torch.storage UntypedStorage",
        "torch uint16",
        "collections OrderedDict",
        "__builtin__ set",
    }
    assert "highest protocol among opcodes = 2" in listing.getvalue()


def test_file_objects_and_mmap(tmp_path):
    buf = io.BytesIO()
    cr.save({"x": cr.arange(3.0)}, buf)
    assert torch.equal(torch.load(io.BytesIO(buf.getvalue()))["x"], torch.arange(3.0))
    path = tmp_path / "m.pt"
    path.write_bytes(buf.getvalue())
    assert torch.equal(torch.load(path, mmap=True)["x"], torch.arange(3.0))


def test_files_of_earlier_chainrule_versions_still_load(tmp_path):
    """Older chainrule wrote safetensors + JSON (still written for ``.safetensors`` paths)
    and, for other objects, its own pickle archive; both load under any name."""
    obj = {"w": cr.arange(4.0), "arr": np.ones(2, np.int16), "t": (1, "a"), 3: None}
    _save(obj, tmp_path / "old.safetensors", allow_pickle=False)
    assert not zipfile.is_zipfile(tmp_path / "old.safetensors")
    os.replace(tmp_path / "old.safetensors", tmp_path / "old.pt")
    back = cr.load(tmp_path / "old.pt")
    assert back["t"] == (1, "a") and back[3] is None and back["arr"].dtype == np.int16
    np.testing.assert_array_equal(back["w"].numpy(), [0.0, 1.0, 2.0, 3.0])
    with open(tmp_path / "archive.pt", "wb") as fh:
        pickle_format.write(fh, {"b": nn.Buffer(cr.ones(2), persistent=False), "n": 1})
    old = cr.load(tmp_path / "archive.pt")
    assert isinstance(old["b"], nn.Buffer) and old["b"].persistent is False and old["n"] == 1


def test_objects_torch_would_refuse_keep_their_formats(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2))
    model.register_buffer("flag", cr.ones(1))
    cr.save({"model": model, "b": nn.Buffer(cr.ones(1), persistent=False)}, tmp_path / "module.pt")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(tmp_path / "module.pt")
    with pytest.raises(pickle.UnpicklingError, match="weights_only=False"):
        cr.load(tmp_path / "module.pt")
    back = cr.load(tmp_path / "module.pt", weights_only=False)
    assert isinstance(back["b"], nn.Buffer) and back["b"].persistent is False
    assert type(back["model"]) is nn.Sequential and "flag" in back["model"].state_dict()
    dates = {"when": np.array(["2026-01-01"], "datetime64[D]"), "w": cr.ones(1)}
    _save(dates, tmp_path / "dates.pt", allow_pickle=False)  # safetensors: still no pickle
    assert not zipfile.is_zipfile(tmp_path / "dates.pt")
    assert cr.load(tmp_path / "dates.pt")["when"].dtype == np.dtype("datetime64[D]")
    with pytest.raises(TypeError, match="cannot store an object of type function"):
        _save({"f": lambda: 0}, tmp_path / "f.pt", allow_pickle=False)
    assert not (tmp_path / "f.pt").exists()
    with pytest.raises(ValueError, match="nested more than"):
        loop: list = []
        loop.append(loop)
        cr.save(loop, tmp_path / "loop.pt")


def test_training_checkpoint_loads_in_torch(tmp_path):
    model = nn.Linear(2, 1)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(cr.ones(3, 2)).sum().backward()
    opt.step()
    _save(
        {"model": model.state_dict(), "optimizer": opt.state_dict(), "rng": cr.get_rng_state()},
        tmp_path / "ck.pt",
        allow_pickle=False,
    )
    ckpt = torch.load(tmp_path / "ck.pt")
    assert ckpt["rng"].dtype == torch.uint8
    assert ckpt["rng"].numpy().tobytes() == cr.get_rng_state().numpy().tobytes()
    assert isinstance(ckpt["optimizer"]["state"][0]["momentum_buffer"], torch.Tensor)


@pytest.mark.parametrize(
    "record, message",
    [
        (b"not json", "not JSON"),
        (b'{"format": "chainrule", "version": 1, "kinds": {"0": "pickle"}}', "corrupt"),
        (b'{"format": "chainrule", "version": 9, "kinds": {}}', "newer chainrule"),
        (b'{"format": "chainrule", "version": 1, "kinds": {"0": "scalar"}}', "NumPy scalar"),
    ],
)
def test_a_corrupt_numpy_record_is_reported(tmp_path, record, message):
    good = tmp_path / "good.pt"
    cr.save({"a": np.ones(3)}, good)
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = record if info.filename.endswith("chainrule.json") else src.read(info)
            dst.writestr(info.filename, data)
    with pytest.raises(LoadError, match=message):
        cr.load(bad)


def test_writing_does_not_import_torch(tmp_path):
    code = (
        "import sys, numpy as np, chainrule as cr\n"
        "m = cr.nn.Linear(2, 2)\n"
        f"cr.save({{'m': m.state_dict(), 'a': np.ones(2)}}, {str(tmp_path / 'x.pt')!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert list(torch.load(tmp_path / "x.pt")["m"]) == ["weight", "bias"]
