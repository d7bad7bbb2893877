"""``cr.load(..., mmap=True)`` and the mmap options, against ``torch.load(..., mmap=True)``."""

from __future__ import annotations

import io
import mmap
import struct
import zipfile

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._memory import root_array
from chainrule.serialization import LoadError
from chainrule.serialization import source as source_module


@pytest.fixture(autouse=True)
def _private_defaults():
    """Every test starts and ends with both libraries' default, MAP_PRIVATE."""
    cr.serialization.set_default_mmap_options(mmap.MAP_PRIVATE)
    torch.serialization.set_default_mmap_options(mmap.MAP_PRIVATE)
    yield
    cr.serialization.set_default_mmap_options(mmap.MAP_PRIVATE)
    torch.serialization.set_default_mmap_options(mmap.MAP_PRIVATE)


def _is_mapped(t: cr.Tensor) -> bool:
    buffer = root_array(t._data).base  # np.frombuffer wraps the mmap in a memoryview
    return isinstance(getattr(buffer, "obj", buffer), mmap.mmap)


def _torch_objects() -> dict:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    return {
        "f32": base,
        "row": base[1],
        "col": base[:, 2],
        "t": base.t(),
        "f64": torch.linspace(-1, 1, 7, dtype=torch.float64),
        "f16": torch.tensor([0.5, -2.0], dtype=torch.float16),
        "bf16": torch.tensor([1.5, 3.0], dtype=torch.bfloat16),
        "i64": torch.arange(5),
        "i8": torch.tensor([-3, 4], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "c64": torch.tensor([1 + 2j, -3j], dtype=torch.complex64),
        "u16": torch.tensor([1, 65535], dtype=torch.uint16),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(7.0),
        "expanded": torch.ones(1).expand(4),
        "param": torch.nn.Parameter(torch.ones(2, 2)),
    }


def _same(ours, theirs) -> None:
    assert isinstance(ours, cr.Tensor)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert ours.requires_grad == theirs.requires_grad
    assert ours.detach().tolist() == theirs.detach().tolist()


def test_torch_saved_file_loads_mapped_like_torch(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(_torch_objects(), path)
    ours, theirs = cr.load(path, mmap=True), torch.load(path, mmap=True)
    assert set(ours) == set(theirs)
    for key in theirs:
        _same(ours[key], theirs[key])
    assert isinstance(ours["param"], cr.nn.Parameter)
    assert _is_mapped(ours["f32"]) and _is_mapped(ours["f64"]) and _is_mapped(ours["bf16"])


def test_cr_saved_file_loads_mapped_in_both_libraries(tmp_path):
    path = tmp_path / "w.pt"
    obj = {
        "w": cr.arange(12.0).reshape(3, 4),
        "i": cr.tensor([1, 2, 3]),
        "c": cr.tensor([1 + 1j, 2 - 1j]),
        "p": cr.nn.Parameter(cr.ones(3)),
    }
    cr.save(obj, path)
    ours, theirs = cr.load(path, mmap=True), torch.load(path, mmap=True)
    for key in obj:
        _same(ours[key], theirs[key])
        np.testing.assert_array_equal(ours[key].detach().numpy(), obj[key].detach().numpy())
    assert _is_mapped(ours["w"])


def test_views_of_one_storage_share_the_mapping(tmp_path):
    path = tmp_path / "w.pt"
    base = torch.arange(12.0).reshape(3, 4)
    torch.save({"a": base, "row": base[1], "col": base[:, 0]}, path)
    d = cr.load(path, mmap=True)
    assert d["a"].untyped_storage().data_ptr() == d["row"].untyped_storage().data_ptr()
    d["a"][1, 0] = 99.0
    assert d["row"].tolist() == [99.0, 5.0, 6.0, 7.0]
    assert d["col"].tolist() == [0.0, 99.0, 8.0]
    t = torch.load(path, mmap=True)  # what torch does
    t["a"][1, 0] = 99.0
    assert t["row"].tolist() == d["row"].tolist()


def test_map_private_never_writes_the_file(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.arange(4.0)}, path)
    before = path.read_bytes()
    assert cr.serialization.get_default_mmap_options() == mmap.MAP_PRIVATE
    assert torch.serialization.get_default_mmap_options() == mmap.MAP_PRIVATE
    d = cr.load(path, mmap=True)
    d["a"].add_(10.0)
    d["a"][0] = -1.0
    assert d["a"].tolist() == [-1.0, 11.0, 12.0, 13.0]
    del d
    assert path.read_bytes() == before
    assert torch.load(path)["a"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_map_shared_writes_reach_the_file(tmp_path):
    path = tmp_path / "w.pt"
    base = torch.arange(6.0)
    torch.save({"a": base, "tail": base[3:], "i": torch.arange(3)}, path)
    cr.serialization.set_default_mmap_options(mmap.MAP_SHARED)
    assert cr.serialization.get_default_mmap_options() == mmap.MAP_SHARED
    d = cr.load(path, mmap=True)
    d["tail"].mul_(10.0)
    d["i"][2] = 42
    del d
    back = torch.load(path)
    assert back["a"].tolist() == [0.0, 1.0, 2.0, 30.0, 40.0, 50.0]
    assert back["i"].tolist() == [0, 1, 42]
    assert cr.load(path)["tail"].tolist() == [30.0, 40.0, 50.0]


def test_set_default_mmap_options_as_context_manager_restores():
    for lib in (cr, torch):
        ser = lib.serialization
        with ser.set_default_mmap_options(mmap.MAP_SHARED) as value:
            assert value is None
            assert ser.get_default_mmap_options() == mmap.MAP_SHARED
            with ser.set_default_mmap_options(mmap.MAP_PRIVATE):
                assert ser.get_default_mmap_options() == mmap.MAP_PRIVATE
            assert ser.get_default_mmap_options() == mmap.MAP_SHARED
        assert ser.get_default_mmap_options() == mmap.MAP_PRIVATE
        setter = ser.set_default_mmap_options(mmap.MAP_SHARED)  # restores what it replaced
        with setter:
            pass
        assert ser.get_default_mmap_options() == mmap.MAP_PRIVATE


def test_context_manager_applies_to_loads_inside_it(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.zeros(2)}, path)
    with cr.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        d = cr.load(path, mmap=True)
    d["a"][0] = 5.0
    del d
    assert torch.load(path)["a"].tolist() == [5.0, 0.0]


@pytest.mark.parametrize("bad", [5, 0, None, "x"])
def test_invalid_mmap_options_raise_like_torch(bad):
    with pytest.raises(ValueError) as theirs:
        torch.serialization.set_default_mmap_options(bad)
    with pytest.raises(ValueError) as ours:
        cr.serialization.set_default_mmap_options(bad)
    assert str(ours.value) == str(theirs.value)
    assert cr.serialization.get_default_mmap_options() == mmap.MAP_PRIVATE


def test_file_objects_are_refused_like_torch(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.ones(2)}, path)
    with open(path, "rb") as fh:
        with pytest.raises(ValueError) as theirs:
            torch.load(fh, mmap=True)
        with pytest.raises(ValueError) as ours:
            cr.load(fh, mmap=True)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
        cr.load(io.BytesIO(path.read_bytes()), mmap=True)
    assert cr.load(io.BytesIO(path.read_bytes()), mmap=False)["a"].tolist() == [1.0, 1.0]


def test_legacy_file_keeps_its_error_with_mmap(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"w": torch.ones(1)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="mmap can only be used"):
        torch.load(path, mmap=True)
    with pytest.raises(LoadError, match="legacy format"):
        cr.load(path, mmap=True)


def test_path_like_map_location_and_falsy_mmap(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.arange(3.0)}, path)
    assert cr.load(str(path), mmap=True, map_location="cpu")["a"].tolist() == [0.0, 1.0, 2.0]
    got = cr.load(path, mmap=True, map_location=lambda storage, loc: storage)
    assert got["a"].tolist() == [0.0, 1.0, 2.0] and _is_mapped(got["a"])
    for off in (False, None, 0):
        assert not _is_mapped(cr.load(path, mmap=off)["a"])


def test_mapped_tensors_behave_as_tensors(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.tensor([1.0, 2.0, 3.0]), "n": torch.arange(4)}, path)
    d = cr.load(path, mmap=True)
    w = d["w"].requires_grad_()
    (w * w).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0, 6.0]
    arr = d["n"].numpy()
    arr[0] = 7
    assert d["n"].tolist() == [7, 1, 2, 3]
    d["n"].add_(1)
    assert arr.tolist() == [8, 2, 3, 4]
    assert (d["n"] * 2).tolist() == [16, 4, 6, 8]
    assert type(d["n"].clone()._data) is np.ndarray


def test_pickled_module_loads_mapped(tmp_path):
    path = tmp_path / "m.pt"
    model = cr.nn.Linear(3, 2)
    cr.save(model, path)
    back = cr.load(path, mmap=True, weights_only=False)
    assert isinstance(back, cr.nn.Linear)
    np.testing.assert_array_equal(back.weight.detach().numpy(), model.weight.detach().numpy())
    assert _is_mapped(back.weight)
    back(cr.ones(1, 3)).sum().backward()
    assert back.weight.grad is not None


def test_safetensors_file_loads_mapped(tmp_path):
    path = tmp_path / "w.safetensors"
    cr.save({"a": cr.arange(6.0).reshape(2, 3), "n": np.arange(4, dtype=np.int32)}, path)
    before = path.read_bytes()
    d = cr.load(path, mmap=True)
    assert d["a"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and _is_mapped(d["a"])
    assert isinstance(d["n"], np.ndarray) and d["n"].tolist() == [0, 1, 2, 3]
    d["a"][0, 0] = 9.0
    del d
    assert path.read_bytes() == before
    with cr.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        d = cr.load(path, mmap=True)
    d["a"][0, 0] = 9.0
    del d
    assert cr.load(path)["a"].tolist()[0] == [9.0, 1.0, 2.0]


def _rewrite(src, dst, *, big: bool = False, compress: bool = False) -> None:
    """Copy a torch checkpoint, byte-swapping it to big-endian or deflating its storages."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            storage = "/data/" in info.filename
            if big and info.filename.endswith("/byteorder"):
                data = b"big"
            if big and storage:
                dtype = np.float32 if info.filename.endswith("/0") else np.int64
                data = np.frombuffer(data, dtype).byteswap().tobytes()
            method = zipfile.ZIP_DEFLATED if compress and storage else zipfile.ZIP_STORED
            zout.writestr(info.filename, data, compress_type=method)


@pytest.mark.parametrize("kind", ["big", "compress"])
def test_unmappable_storages_copy_when_private_and_refuse_when_shared(tmp_path, kind):
    plain, path = tmp_path / "plain.pt", tmp_path / f"{kind}.pt"
    torch.save({"a": torch.arange(4.0), "i": torch.arange(3)}, plain)
    _rewrite(plain, path, big=kind == "big", compress=kind == "compress")
    before = path.read_bytes()
    d = cr.load(path, mmap=True)
    assert d["a"].tolist() == [0.0, 1.0, 2.0, 3.0] and d["i"].tolist() == [0, 1, 2]
    assert not _is_mapped(d["a"])
    d["a"][0] = 5.0
    assert path.read_bytes() == before
    with cr.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        with pytest.raises(NotImplementedError, match="MAP_SHARED"):
            cr.load(path, mmap=True)
    assert path.read_bytes() == before


def _local_header_offset(path, name_suffix: str) -> int:
    with zipfile.ZipFile(path) as zf:
        (info,) = [i for i in zf.infolist() if i.filename.endswith(name_suffix)]
        return info.header_offset


def test_local_header_claiming_data_past_the_end_is_a_load_error(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.arange(4.0)}, path)
    raw = bytearray(path.read_bytes())
    at = _local_header_offset(path, "/data/0")
    raw[at + 28 : at + 30] = (0xFFFF).to_bytes(2, "little")  # local extra length
    path.write_bytes(bytes(raw))
    with pytest.raises(LoadError, match="past the end"):
        cr.load(path, mmap=True)


def test_local_header_without_signature_is_a_load_error(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.arange(4.0)}, path)
    raw = bytearray(path.read_bytes())
    at = _local_header_offset(path, "/data/0")
    raw[at : at + 4] = b"JUNK"
    path.write_bytes(bytes(raw))
    with pytest.raises(LoadError, match="local header"):
        cr.load(path, mmap=True)


def test_storage_larger_than_the_file_is_refused_before_mapping(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.arange(4.0)}, path)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = [i for i in zf.infolist() if i.filename.endswith("/data/0")][0]
    # Truncate the file just inside the storage's bytes: its claimed range no longer fits.
    path.write_bytes(bytes(raw[: info.header_offset + 40]))
    with pytest.raises(LoadError):
        cr.load(path, mmap=True)


def test_map_shared_on_a_read_only_file_says_so(tmp_path, monkeypatch):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.ones(2)}, path)
    real_open = open

    def read_only_open(file, mode="r", *args, **kwargs):  # as for a file without write access
        if "+" in mode or "w" in mode:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(source_module, "open", read_only_open, raising=False)
    with cr.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        with pytest.raises(PermissionError, match="cannot be opened for writing"):
            cr.load(path, mmap=True)
    assert cr.load(path, mmap=True)["a"].tolist() == [1.0, 1.0]  # MAP_PRIVATE needs no write


def test_truncated_safetensors_is_a_load_error_with_mmap(tmp_path):
    path = tmp_path / "w.safetensors"
    cr.save({"a": cr.arange(64.0)}, path)
    path.write_bytes(path.read_bytes()[:-16])
    with pytest.raises(LoadError, match="truncated or corrupt"):
        cr.load(path, mmap=True)


def test_cr_save_aligns_storages_as_torch_save(tmp_path):
    """Every storage's bytes start on a 64-byte boundary of the file, as torch.save writes
    them (so mapped tensors are aligned arrays), and the archive says so."""
    state = {
        "a": cr.arange(7.0),
        "b": cr.ones(3, dtype=cr.float64),
        "c": cr.ones(5, dtype=cr.int16),
    }
    path = tmp_path / "aligned.pt"
    cr.save(state, path)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        assert zf.read("archive/.storage_alignment") == b"64"
        starts = []
        for info in zf.infolist():
            if "/data/" in info.filename:
                name_len, extra_len = struct.unpack(
                    "<HH", raw[info.header_offset + 26 : info.header_offset + 30]
                )
                starts.append(info.header_offset + 30 + name_len + extra_len)
    assert len(starts) == 3 and all(s % 64 == 0 for s in starts), starts
    loaded = cr.load(path, mmap=True)
    assert all(t.numpy().ctypes.data % 64 == 0 for t in loaded.values())
    reference = torch.load(path, weights_only=True)
    for key, value in loaded.items():
        np.testing.assert_array_equal(value.numpy(), reference[key].numpy())
