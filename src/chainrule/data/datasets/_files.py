"""Reading IDX files, locating dataset folders, and verified atomic downloads.

IDX (the MNIST format): 2 zero bytes, a type code, the number of dimensions ``d``, then ``d``
big-endian uint32 sizes and the values in C order. Files may be gzip-compressed. A file whose
header is wrong, whose length does not match its header, or whose gzip stream is damaged is
refused with a ``ValueError`` naming the file: never silently wrong data.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..._download import fetch

_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(
            f"read_idx: {path} is a damaged or truncated gzip file ({e}); delete "
            f"it and download it again"
        ) from e


def parse_idx(buf: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array (native byte order), validating header and length."""
    if len(buf) < 4:
        raise ValueError(f"read_idx: {name} is too short ({len(buf)} bytes) to be an IDX file")
    if buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_TYPES:
        raise ValueError(
            f"read_idx: {name} has a bad magic number {buf[:4].hex()} (expected "
            f"00 00 <type in 08,09,0b,0c,0d,0e> <ndim>); not an IDX file"
        )
    dtype, ndim = _IDX_TYPES[buf[2]], buf[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(buf) < header:
        raise ValueError(
            f"read_idx: {name} has a truncated header ({len(buf)} bytes for {ndim} dimensions)"
        )
    dims = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(buf) != expected:
        what = "truncated" if len(buf) < expected else "longer than its header says"
        raise ValueError(
            f"read_idx: {name} is {what}: header says shape {dims} of {dtype} "
            f"({expected} bytes), file has {len(buf)} bytes"
        )
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) into a NumPy array.

    Raises:
        ValueError: for a bad magic number, a truncated/oversized file or damaged gzip data.
    """
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip when ``compress`` or the name ends in .gz)."""
    path = Path(path)
    array = np.asarray(array)
    codes = {v.str.lstrip("<>|=")[-2:]: k for k, v in _IDX_TYPES.items()}
    key = array.dtype.str.lstrip("<>|=")[-2:]
    if key not in codes:
        raise TypeError(f"write_idx: unsupported dtype {array.dtype}")
    code = codes[key]
    body = (
        bytes([0, 0, code, array.ndim])
        + np.asarray(array.shape, ">u4").tobytes()
        + np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes()
    )
    if compress or (compress is None and path.suffix == ".gz"):
        body = gzip.compress(body)
    path.write_bytes(body)


def default_roots(extra: Iterable[str] = ()) -> list[Path]:
    """Folders searched when ``root=None``: ``$CHAINRULE_DATA``, ``~/.cache/chainrule``, extras."""
    roots = []
    if os.environ.get("CHAINRULE_DATA"):
        roots.append(Path(os.environ["CHAINRULE_DATA"]).expanduser())
    roots.append(Path("~/.cache/chainrule").expanduser())
    roots.extend(Path(p) for p in extra)
    return roots


def cache_root() -> Path:
    """Where downloads and generated data go: ``$CHAINRULE_DATA`` or ``~/.cache/chainrule``."""
    return default_roots()[0]


def find_file(folders: Sequence[Path], stem: str) -> Path | None:
    """The first ``folder/stem`` or ``folder/stem.gz`` that exists."""
    for folder in folders:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_url(
    urls: Sequence[str],
    dest: Path,
    md5: str | None = None,
    size: int | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch the first working URL to ``dest``, verifying size and MD5, writing atomically.

    The data goes to a temporary file in the destination folder and is renamed into place
    only after the checks pass, so an interrupted or corrupted download never leaves a file
    that looks complete.

    Raises:
        RuntimeError: when every URL fails or gives data with the wrong size/checksum.
    """
    dest = Path(dest)
    if dest.is_file() and (md5 is None or _md5(dest) == md5):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        try:
            fetch(
                url,
                dest,
                hash_name="md5",
                hash_prefix=md5,
                size=size,
                progress=False,
                timeout=timeout,
            )
            return dest
        except Exception as e:  # noqa: BLE001 - report every mirror's failure together
            errors.append(f"{url}: {e}")
    raise RuntimeError(
        f"download of {dest.name} failed from every mirror:\n  " + "\n  ".join(errors)
    )
