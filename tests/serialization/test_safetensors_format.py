"""cr.save / cr.load in safetensors: compatibility, new dtypes, malformed files, temporaries."""

from __future__ import annotations

import io
import json
import os
import time

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import chainrule as cr
from chainrule.serialization import LoadError


def test_written_files_open_with_the_safetensors_library(tmp_path):
    arrays = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.array([1, 2], np.int8),
        "c": np.array(True),
        "d": np.zeros((0, 4), np.float64),
        "e": np.ones(3, np.uint16),
    }
    cr.save(arrays, tmp_path / "x.safetensors")
    back = load_file(str(tmp_path / "x.safetensors"))
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k], v)


def test_library_files_load_as_flat_dicts(tmp_path):
    save_file(
        {"w": np.arange(4, dtype=np.float16), "i": np.array([7], np.int64)},
        str(tmp_path / "lib.safetensors"),
    )
    back = cr.load(tmp_path / "lib.safetensors")
    assert back["w"].dtype == cr.float16 and back["i"].numpy().tolist() == [7]
    assert back["w"].data.numpy().flags.writeable


def test_complex_datetime_and_scalar_round_trip(tmp_path):
    obj = {
        "c64": np.array([1 + 2j, -3j], np.complex64),
        "c128": cr.tensor(np.array([[1 - 1j]], np.complex128)),
        "dt": np.array(["2026-01-01", "NaT"], "datetime64[D]"),
        "td": np.array([5, -1], "timedelta64[ms]"),
        "sc": np.complex64(1.5 - 2j),
        "sd": np.datetime64("2026-11-30T12:00", "m"),
        "st": np.timedelta64(3, "s"),
        "u64": np.uint64(2**64 - 1),
        "b": np.bool_(True),
    }
    cr.save(obj, tmp_path / "c.safetensors")
    back = cr.load(tmp_path / "c.safetensors")
    for key in ("c64", "dt", "td"):
        assert back[key].dtype == obj[key].dtype
        np.testing.assert_array_equal(back[key], obj[key])
    assert isinstance(back["c128"], cr.Tensor) and back["c128"].data.dtype == np.complex128
    np.testing.assert_array_equal(back["c128"].data, obj["c128"].data)
    for key in ("sc", "sd", "st", "u64", "b"):
        assert type(back[key]) is type(obj[key]) and back[key] == obj[key], key


def test_long_double_raises_clearly(tmp_path):
    if np.dtype(np.longdouble).itemsize == 8:
        pytest.skip("long double is float64 on this platform")
    with pytest.raises(TypeError, match="long double"):
        cr.save({"x": np.ones(2, np.longdouble)}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="float128|longdouble|float96"):
        cr.save({"x": np.longdouble(1)}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def _with_tree(path, tree_json: str, arrays=None):
    meta = '{"format": "chainrule", "version": 1, "tree": ' + tree_json + "}"
    save_file(arrays or {"w": np.ones(3, np.float32)}, str(path), metadata={"chainrule": meta})
    return path


@pytest.mark.parametrize(
    "tree, message",
    [
        ('{"a": {"__items__": [[1]]}}', "is not a \\[key, value\\] pair"),
        ('{"a": {"__items__": [[[1], 2]]}}', "key \\[1\\] is not"),
        ('{"a": {"__tuple__": 7}}', "__tuple__ holds int"),
        ('{"a": {"__scalar__": "x", "dtype": "float32"}}', "float32 scalar holds x"),
        ('{"a": {"__scalar__": 300, "dtype": "int8"}}', "out of range"),
        ('{"a": {"__scalar__": 1, "dtype": ["float32"]}}', "is not a string"),
        ('{"a": {"__tensor__": "w", "kind": "pickle"}}', "kind 'pickle'"),
        ('{"a": {"__tensor__": "w", "complex": true}}', "not as \\(..., 2\\) floats"),
        ('{"a": {"__tensor__": "w", "dtype": "datetime64[ns]"}}', "invalid dtype"),
        ('{"a": {"__tensor__": ["w"]}}', "refers to tensor"),
    ],
)
def test_malformed_structures_name_the_file_and_the_problem(tmp_path, tree, message):
    path = _with_tree(tmp_path / "bad.safetensors", tree)
    with pytest.raises(LoadError, match=message) as info:
        cr.load(path)
    assert "bad.safetensors" in str(info.value)


def test_version_and_header_checks(tmp_path):
    for version, message in (
        ('"2"', "invalid chainrule format version"),
        ("99", "newer chainrule"),
    ):
        meta = '{"format": "chainrule", "version": ' + version + ', "tree": {}}'
        save_file({}, str(tmp_path / "v.safetensors"), metadata={"chainrule": meta})
        with pytest.raises(LoadError, match=message):
            cr.load(tmp_path / "v.safetensors")
    raw = json.dumps({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}).encode()
    (tmp_path / "s.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + b"\0" * 4)
    with pytest.raises(LoadError, match="invalid shape"):
        cr.load(tmp_path / "s.safetensors")


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / ".tmp-chainrule-999999999-abcdef.part"  # no such pid
    live = tmp_path / f".tmp-chainrule-{os.getppid()}-abcdef.part"
    legacy_old = tmp_path / ".tmp-abcd1234.safetensors"
    legacy_new = tmp_path / ".tmp-wxyz9876.safetensors"
    other = tmp_path / ".tmp-notours.bin"
    for p in (dead, live, legacy_old, legacy_new, other):
        p.write_bytes(b"x" * 10)
    old = time.time() - 2 * 3600
    os.utime(legacy_old, (old, old))
    cr.save({"w": np.ones(1)}, tmp_path / "ckpt.safetensors")
    left = set(os.listdir(tmp_path))
    assert dead.name not in left and legacy_old.name not in left
    assert {live.name, legacy_new.name, other.name, "ckpt.safetensors"} <= left


def test_saved_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        cr.save({"w": np.ones(1)}, tmp_path / "a.safetensors")
        cr.save(cr.nn.Linear(1, 1), tmp_path / "m.pt")
        os.umask(0o077)
        cr.save({"w": np.ones(1)}, tmp_path / "b.safetensors")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "a.safetensors").st_mode & 0o777 == 0o644
    assert os.stat(tmp_path / "m.pt").st_mode & 0o777 == 0o644
    assert os.stat(tmp_path / "b.safetensors").st_mode & 0o777 == 0o600


def test_streams_and_offsets_in_file_objects(tmp_path):
    buf = io.BytesIO(b"JUNK")
    buf.seek(4)
    cr.save({"x": cr.arange(3.0)}, buf)
    buf.seek(4)
    assert cr.load(buf)["x"].numpy().tolist() == [0.0, 1.0, 2.0]

    class Stream(io.RawIOBase):  # not seekable: read as far as it really goes
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self._data.readinto(b)

    assert cr.load(Stream(buf.getvalue()[4:]))["x"].numpy().tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(LoadError, match="not a chainrule/safetensors file"):
        cr.load(io.BytesIO(b"\x01\x02"))


def test_bfloat16_round_trip(tmp_path):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    arr = np.array([1.0, -2.5, 3.0], dtype=ml_dtypes.bfloat16)
    cr.save({"w": arr}, tmp_path / "bf.safetensors")
    assert load_file(str(tmp_path / "bf.safetensors"))["w"].dtype == arr.dtype
    back = cr.load(tmp_path / "bf.safetensors")["w"]
    np.testing.assert_array_equal(back.astype(np.float32), arr.astype(np.float32))
