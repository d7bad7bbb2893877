"""Regression tests for what the loading fuzzer (:mod:`tests.fuzz_load.hunt`) found: each
file is built by hand, small, and must fail with an error naming it (or load)."""

from __future__ import annotations

import io
import json
import pickle
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.serialization import LoadError

from .runner import judge, run_cases


def _zip(path, pkl: bytes, method: int = zipfile.ZIP_STORED, storage: bytes | None = None) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pkl, compress_type=method)
        zf.writestr("archive/byteorder", "little")
        if storage is not None:
            zf.writestr("archive/data/0", storage)
    return str(path)


def _read(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _patch(path, offset: int, raw: bytes) -> str:
    data = bytearray(_read(path))
    data[offset : offset + len(raw)] = raw
    with open(path, "wb") as fh:
        fh.write(data)
    return str(path)


@pytest.mark.parametrize(
    ("pkl", "what"),
    [
        (b"\x80\x02}(K\x01u.", "odd number of items for SETITEMS"),
        (b"\x80\x02h\x05.", "Memo value not found"),
        (b"\x80\x02(.", "unexpected MARK found"),
        (b"\x80\x02N0.", "stack underflow"),
    ],
)
@pytest.mark.parametrize("weights_only", [True, False])
def test_corrupt_pickle_opcodes_name_the_file(tmp_path, pkl, what, weights_only):
    # CPython's unpickler raised these as bare UnpicklingErrors, without the file's name
    path = _zip(tmp_path / "ops.pt", pkl)
    with pytest.raises(LoadError, match=what) as info:
        cr.load(path, weights_only=weights_only)
    assert "ops.pt" in str(info.value) and "corrupt pickle" in str(info.value)


def test_refused_global_still_raises_unpicklingerror_naming_the_file(tmp_path):
    path = _zip(tmp_path / "evil.pt", b"\x80\x02cos\nsystem\n(Vtouch x\ntR.")
    with pytest.raises(pickle.UnpicklingError, match="os.system") as info:
        cr.load(path)
    assert "evil.pt" in str(info.value)


def test_allowed_rebuild_refusing_its_arguments_names_the_file(tmp_path):
    path = _zip(tmp_path / "ba.pt", b"\x80\x02c__builtin__\nbytearray\nJ\x00\x00\x00\x40\x85R.")
    with pytest.raises(pickle.UnpicklingError, match="bytearray") as info:
        cr.load(path)
    assert "ba.pt" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("central_method", b"\xff\xff", "compression method"),  # zipfile: NotImplementedError
        ("central_version", b"\xff\x00", "zip file version"),  # zipfile: NotImplementedError
    ],
)
def test_unreadable_zip_entries_name_the_file(tmp_path, field, value, what):
    path = _zip(tmp_path / "entry.pt", b"\x80\x02}q\x00.")
    data = _read(path)
    central = data.find(b"PK\x01\x02")
    offset = central + (10 if field == "central_method" else 6)
    _patch(path, offset, value)
    with pytest.raises(LoadError, match=what) as info:
        cr.load(path)
    assert "entry.pt" in str(info.value)


def test_corrupt_deflate_stream_names_the_file(tmp_path):
    # zipfile lets zlib.error (not an OSError or ValueError) out of a corrupt deflated entry
    path = _zip(tmp_path / "deflate.pt", b"\x80\x02}q\x00." * 50, zipfile.ZIP_DEFLATED)
    data = _read(path)
    start = data.find(b"archive/data.pkl") + len("archive/data.pkl")
    _patch(path, start, b"\xff")  # BTYPE 11: an invalid deflate block
    with pytest.raises(LoadError, match="deflate.pt.*corrupt entry.*invalid block type"):
        cr.load(path)


def _saved_at(tmp_path, location: str) -> str:
    """A cr.save archive of one tensor whose storage claims to come from ``location``."""
    path = tmp_path / "loc.pt"
    cr.save({"w": cr.ones(2)}, path)
    with zipfile.ZipFile(path) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in entries:
            if name.endswith("data.pkl"):
                assert raw.count(b"X\x03\x00\x00\x00cpu") == 1
                new = location.encode()
                raw = raw.replace(
                    b"X\x03\x00\x00\x00cpu", b"X" + len(new).to_bytes(4, "little") + new
                )
            zf.writestr(name, raw)
    return str(path)


@pytest.mark.parametrize("location", ["1", "meta", "x" * 200, "cuda:-1"])
def test_a_storage_saved_at_an_unknown_location_names_the_file(tmp_path, location):
    # was a DeviceError / UnsupportedDeviceError from chainrule.backend without the file
    path = _saved_at(tmp_path, location)
    with pytest.raises(LoadError, match="loc.pt.*location.*map_location='cpu'"):
        cr.load(path)
    assert cr.load(path, map_location="cpu")["w"].tolist() == [1.0, 1.0]


@pytest.mark.skipif(cr.cuda.is_available(), reason="tests the CPU-only answer")
def test_a_cuda_storage_without_a_gpu_names_the_file(tmp_path):
    path = _saved_at(tmp_path, "cuda:99")
    with pytest.raises(RuntimeError, match="CUDA device.*map_location.*loc.pt"):
        cr.load(path)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11+")
def test_full_unpickle_errors_keep_their_type_and_note_the_file(tmp_path):
    # weights_only=False runs the pickle: what it raises is raised as torch.load raises it
    # (an AttributeError for a class that is gone), with a note naming the file
    path = _zip(tmp_path / "gone.pt", b"\x80\x02cchainrule\nNoSuchClass\n)R.")
    with pytest.raises(AttributeError) as info:
        cr.load(path, weights_only=False)
    assert any("gone.pt" in note for note in info.value.__notes__)
    path = _zip(tmp_path / "call.pt", b"\x80\x02cbuiltins\nint\n(K\x01K\x02K\x03tR.")
    with pytest.raises(TypeError) as info:
        cr.load(path, weights_only=False)
    assert any("call.pt" in note for note in info.value.__notes__)


def _safetensors(path, header: dict, body: bytes, length_delta: int = 0) -> str:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as fh:
        fh.write((len(raw) + length_delta).to_bytes(8, "little") + raw + body)
    return str(path)


_TWO = {
    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
}


def test_safetensors_tiling_is_what_loads(tmp_path):
    path = _safetensors(tmp_path / "ok.safetensors", _TWO, bytes(16))
    assert sorted(cr.load(path)) == ["a", "b"]


@pytest.mark.parametrize(
    ("offsets", "body", "delta", "what"),
    [
        # a header length one short still parses (its padding is spaces): every tensor then
        # read its neighbour's bytes, and the file loaded garbage without an error
        (None, 16, -1, "cover 16 of the 17 bytes"),
        ({"b": [4, 12]}, 12, 0, "overlaps"),  # "a" and "b" share bytes 4..8
        ({"b": [12, 20]}, 20, 0, "gap"),
        ({"b": [0, 8]}, 8, 0, "overlaps"),  # the same bytes twice
        (None, 20, 0, "cover 16 of the 20 bytes"),  # bytes appended after the tensors
    ],
)
def test_safetensors_ranges_must_tile_the_data(tmp_path, offsets, body, delta, what):
    header = json.loads(json.dumps(_TWO))
    for name, value in (offsets or {}).items():
        header[name]["data_offsets"] = value
    path = _safetensors(tmp_path / "tiles.safetensors", header, bytes(body), delta)
    for mmap in (False, True):
        with pytest.raises(LoadError, match=what) as info:
            cr.load(path, mmap=mmap)
        assert "tiles.safetensors" in str(info.value)


# Files whose few kilobytes named one small storage many times, each use copying up to
# 64 MiB (or the whole claimed size): loaded in the fuzzer's memory-limited child, where
# allocating what they claim is a MemoryError.


class _Ref:
    def __init__(self, numel: int, storage: str) -> None:
        self.numel, self.storage = numel, storage


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Ref):
            return ("storage", getattr(torch, obj.storage), "0", "cpu", obj.numel)
        return None


class _Rebuild:
    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def _torch_zip(
    path, obj, numel: int = 1, storage: str = "FloatStorage", item: int = 4, data: bytes = b""
) -> str:
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", buf.getvalue())
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/data/0", data or bytes(numel * item))
        zf.writestr("archive/version", "3\n")
    return str(path)


def _v2(numel, size, stride, metadata=None, storage="FloatStorage"):
    args = (_Ref(numel, storage), 0, size, stride, False, OrderedDict())
    return _Rebuild(torch._utils._rebuild_tensor_v2, *args, *([metadata] if metadata else []))


def _amplifiers(d) -> dict[str, str]:
    qparams = (torch.per_tensor_affine, 1.0, 0)
    qtensor = _Rebuild(
        torch._utils._rebuild_qtensor,
        _Ref(1, "QInt8Storage"),
        0,
        (2**40,),
        (0,),
        qparams,
        False,
        OrderedDict(),
    )
    return {
        # 200 expanded tensors of one 4-byte storage, each a 64 MiB copy: 12.5 GiB
        "expanded": _torch_zip(d / "expanded.pt", [_v2(1, (2**24,), (0,)) for _ in range(200)]),
        # a negative view of a 2**40-element expansion: np.negative of the whole view
        "neg": _torch_zip(d / "neg.pt", [_v2(1, (2**40,), (0,), {"neg": True})]),
        # one 4 MiB storage conjugated for each of 300 tensors: 1.2 GiB of copies
        "conj": _torch_zip(
            d / "conj.pt",
            [_v2(2**19, (2**19,), (1,), {"conj": True}, "ComplexFloatStorage") for _ in range(300)],
            numel=2**19,
            item=8,
        ),
        # a quantized tensor copies its integers: of a 2**40-element expansion
        "qtensor": _torch_zip(d / "q.pt", [qtensor], storage="QInt8Storage", item=1),
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc")
def test_one_storage_named_many_times_never_allocates_what_the_file_claims(tmp_path):
    files = _amplifiers(tmp_path)
    cases = [{"entry": "load", "path": p, "fmt": "zip"} for p in files.values()]
    results = run_cases(cases, str(tmp_path))
    for i, (name, path) in enumerate(files.items()):
        res = results[(i, "cr")]
        assert judge(res, path) is None, (name, res)
        if name == "qtensor":  # its copy is refused, by name
            assert res["type"] == "LoadError" and "zero strides" in res["message"], res
        else:
            assert res["type"] is None, (name, res)


def test_expanded_and_conjugated_views_load_with_their_values(tmp_path):
    path = _torch_zip(
        tmp_path / "small.pt",
        [_v2(2, (3, 2), (0, 1)), _v2(2, (2,), (1,), {"neg": True}), _v2(2, (2,), (1,))],
        numel=2,
        data=np.array([1.5, -2.0], np.float32).tobytes(),
    )
    ours, theirs = cr.load(path), torch.load(path)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.resolve_neg().numpy())
    ours[0][0, 0] = 7.0  # the expanded tensor is a copy: writing it changes one element
    assert ours[0].tolist() == [[7.0, -2.0], [1.5, -2.0], [1.5, -2.0]]
    assert ours[2].tolist() == [1.5, -2.0]  # the negative view does not share the storage


@pytest.mark.parametrize("record", [b"[1]", b"7", b"null", b'"kinds"'])
def test_a_kinds_record_that_is_not_an_object_names_the_file(tmp_path, record):
    # read_kinds called .get on whatever the JSON was: AttributeError for a list or number
    path = tmp_path / "kinds.pt"
    cr.save({"a": np.arange(3.0)}, path)
    with zipfile.ZipFile(path) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    assert any(name.endswith(".data/chainrule.json") for name, _ in entries)
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in entries:
            zf.writestr(name, record if name.endswith(".data/chainrule.json") else raw)
    with pytest.raises(LoadError, match="kinds.pt.*corrupt .*chainrule.json"):
        cr.load(path)


def test_an_entry_flagged_as_encrypted_names_the_file(tmp_path):
    # zipfile raises RuntimeError ("password required") when opening such an entry
    path = _zip(tmp_path / "crypt.pt", b"\x80\x02}q\x00." * 50, zipfile.ZIP_DEFLATED)
    data = _read(path)
    for sig, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(sig) + flags_at
        _patch(path, at, bytes([data[at] | 1]))
    with pytest.raises(LoadError, match="crypt.pt.*encrypted"):
        cr.load(path)


def test_any_error_of_a_weights_only_rebuild_names_the_file(tmp_path):
    # complex(10**400) raises OverflowError, which was not among the errors turned into a
    # LoadError, and left the unpickler raw
    big = (10**400).to_bytes(167, "little", signed=True)
    pkl = b"\x80\x02c__builtin__\ncomplex\n(\x8a" + bytes([len(big)]) + big + b"tR."
    path = _zip(tmp_path / "overflow.pt", pkl)
    with pytest.raises(LoadError, match="overflow.pt.*OverflowError"):
        cr.load(path)
