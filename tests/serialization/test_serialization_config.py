"""``cr.utils.serialization.config`` and the ``torch.serialization`` functions around it,
against PyTorch: the default ``mmap`` of ``load``, mmap flags, the byte order of archives
without a record, CRC-less archives (written and read), the storage alignment."""

from __future__ import annotations

import io
import mmap
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule._memory import root_array
from chainrule.utils.serialization import config

torch = pytest.importorskip("torch")
torch_config = pytest.importorskip("torch.utils.serialization").config

LOAD_DEFAULTS = ("mmap", "endianness", "mmap_flags", "calculate_storage_offsets")
SAVE_DEFAULTS = ("compute_crc32", "use_pinned_memory_for_d2h", "storage_alignment")


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    saved = (
        {n: getattr(config.load, n) for n in LOAD_DEFAULTS},
        {n: getattr(config.save, n) for n in SAVE_DEFAULTS},
    )
    torch_saved = torch.serialization.get_crc32_options(), torch_config.save.storage_alignment
    yield
    for n, v in saved[0].items():
        setattr(config.load, n, v)
    for n, v in saved[1].items():
        setattr(config.save, n, v)
    torch.serialization.set_crc32_options(torch_saved[0])
    torch_config.save.storage_alignment = torch_saved[1]
    torch.serialization.set_default_load_endianness(None)


def _is_mapped(t: cr.Tensor) -> bool:
    buffer = root_array(t._data).base  # np.frombuffer wraps the mmap in a memoryview
    return isinstance(getattr(buffer, "obj", buffer), mmap.mmap)


def _local_crcs(path: Path) -> list[int]:
    raw = path.read_bytes()
    infos = zipfile.ZipFile(path).infolist()
    return [struct.unpack("<I", raw[i.header_offset + 14 : i.header_offset + 18])[0] for i in infos]


def test_defaults_and_names_are_torchs() -> None:
    for name in LOAD_DEFAULTS:
        assert getattr(config.load, name) == getattr(torch_config.load, name), name
    for name in SAVE_DEFAULTS:
        assert getattr(config.save, name) == getattr(torch_config.save, name), name
    assert cr.utils.serialization.config is config
    for section in (config.load, config.save):
        with pytest.raises(AttributeError, match="does not exist"):
            section.no_such_switch = 1
        with pytest.raises(AttributeError, match="does not exist"):
            section.no_such_switch  # noqa: B018 - reading it is the test


def test_load_mmap_default_comes_from_config(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    cr.save({"w": cr.arange(6.0)}, path)
    assert not _is_mapped(cr.load(path)["w"])
    config.load.mmap = True
    assert _is_mapped(cr.load(path)["w"])
    assert not _is_mapped(cr.load(path, mmap=False)["w"])
    with open(path, "rb") as fh, pytest.raises(ValueError, match="file path"):
        cr.load(fh)


def test_mmap_flags_are_one_setting() -> None:
    assert cr.serialization.get_default_mmap_options() == config.load.mmap_flags
    with cr.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        assert config.load.mmap_flags == mmap.MAP_SHARED
    assert config.load.mmap_flags == mmap.MAP_PRIVATE
    config.load.mmap_flags = mmap.MAP_SHARED
    assert cr.serialization.get_default_mmap_options() == mmap.MAP_SHARED


def test_crc32_options_write_zero_crcs_that_both_load(tmp_path: Path) -> None:
    assert cr.serialization.get_crc32_options() is True
    cr.serialization.set_crc32_options(False)
    assert config.save.compute_crc32 is False
    path = tmp_path / "nocrc.pt"
    cr.save({"w": cr.arange(4.0), "i": cr.tensor([1, 2])}, path)
    infos = zipfile.ZipFile(path).infolist()
    assert [i.CRC for i in infos] == [0] * len(infos)
    assert _local_crcs(path) == [0] * len(infos)
    for loaded in (cr.load(path), torch.load(path)):
        np.testing.assert_array_equal(np.asarray(loaded["w"]), np.arange(4.0))
        np.testing.assert_array_equal(np.asarray(loaded["i"]), [1, 2])
    cr.serialization.set_crc32_options(True)
    cr.save({"w": cr.arange(4.0)}, path)
    assert all(i.CRC != 0 for i in zipfile.ZipFile(path).infolist())


class _Pipe(io.RawIOBase):
    """A write-only, unseekable stream (a pipe or socket)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:
        self.data += bytes(b)
        return len(b)


def test_crc_less_archive_to_an_unseekable_stream() -> None:
    cr.serialization.set_crc32_options(False)
    pipe = _Pipe()
    cr.save({"w": cr.arange(3.0)}, pipe)
    infos = zipfile.ZipFile(io.BytesIO(bytes(pipe.data))).infolist()
    assert [i.CRC for i in infos] == [0] * len(infos)
    np.testing.assert_array_equal(torch.load(io.BytesIO(bytes(pipe.data)))["w"].numpy(), [0, 1, 2])


def test_torch_crc_less_archive_loads(tmp_path: Path) -> None:
    torch.serialization.set_crc32_options(False)
    path = tmp_path / "t.pt"
    torch.save({"w": torch.arange(5.0)}, path)
    np.testing.assert_array_equal(cr.load(path)["w"].numpy(), np.arange(5.0))


@pytest.mark.parametrize("alignment", [1, 3, 128, 4096])
def test_storage_alignment(tmp_path: Path, alignment: int) -> None:
    config.save.storage_alignment = alignment
    path = tmp_path / "a.pt"
    cr.save({"a": cr.arange(7.0), "b": cr.ones(3, dtype=cr.int32)}, path)
    raw = path.read_bytes()
    zf = zipfile.ZipFile(path)
    assert zf.read("archive/.storage_alignment") == str(alignment).encode()
    for info in zf.infolist():
        if "/data/" in info.filename:
            name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 :][:4])
            assert (info.header_offset + 30 + name_len + extra_len) % alignment == 0
    for loaded in (cr.load(path), torch.load(path), torch.load(path, mmap=True)):
        np.testing.assert_array_equal(np.asarray(loaded["a"]), np.arange(7.0))


@pytest.mark.parametrize("bad", [0, -64, 2.0, True, "64"])
def test_a_bad_storage_alignment_is_refused(tmp_path: Path, bad: object) -> None:
    config.save.storage_alignment = bad
    with pytest.raises(ValueError, match="storage_alignment"):
        cr.save({"a": cr.ones(2)}, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def _without_byteorder(src: Path, dst: Path) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if not info.filename.endswith("/byteorder"):
                zout.writestr(info.filename, zin.read(info.filename))


@pytest.mark.parametrize("endianness", [None, "NATIVE", "LITTLE", "BIG"])
def test_endianness_of_archives_without_a_record(tmp_path: Path, endianness: str | None) -> None:
    torch.save({"w": torch.arange(4.0), "i": torch.tensor([1, 258])}, tmp_path / "t.pt")
    _without_byteorder(tmp_path / "t.pt", tmp_path / "old.pt")
    cr_end = endianness and getattr(cr.serialization.LoadEndianness, endianness)
    torch_end = endianness and getattr(torch.serialization.LoadEndianness, endianness)
    cr.serialization.set_default_load_endianness(cr_end)
    torch.serialization.set_default_load_endianness(torch_end)
    assert cr.serialization.get_default_load_endianness() is cr_end
    assert config.load.endianness is cr_end
    got, want = cr.load(tmp_path / "old.pt"), torch.load(tmp_path / "old.pt")
    for key in ("w", "i"):
        np.testing.assert_array_equal(got[key].numpy(), want[key].numpy())
    # a recorded byte order wins over the setting
    np.testing.assert_array_equal(cr.load(tmp_path / "t.pt")["i"].numpy(), [1, 258])


def test_set_default_load_endianness_refuses_other_types() -> None:
    for lib in (cr, torch):
        with pytest.raises(TypeError, match="Invalid argument type"):
            lib.serialization.set_default_load_endianness("big")
