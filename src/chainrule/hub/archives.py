"""Safe zip extraction for ``cr.hub``: GitHub zipballs and zipped checkpoints.

A zip entry is a path chosen by whoever made the archive. :func:`safe_member_path` refuses
any entry that would land outside the target folder (absolute paths, drive letters, ``..``
components, backslash tricks) and symbolic links, before a byte is written, so extracting a
downloaded archive can only create files under the folder asked for. Entries are copied in
chunks, never read whole into memory.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile

__all__ = ["extract_all", "extract_member", "safe_member_path", "single_top_folder"]

_CHUNK = 1 << 20


def safe_member_path(folder: str, name: str) -> str:
    """The path ``name`` (a zip entry) would be extracted to under ``folder``.

    Raises:
        ValueError: the entry is absolute or escapes ``folder`` (PyTorch's message:
            ``Archive entry contains directory traversal: <name>``).
    """
    parts = name.replace("\\", "/").split("/")
    if (
        name.startswith(("/", "\\"))
        or (len(parts[0]) >= 2 and parts[0][1] == ":")
        or any(p == ".." for p in parts)
    ):
        raise ValueError(f"Archive entry contains directory traversal: {name}")
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(root, *[p for p in parts if p not in ("", ".")]))
    if os.path.commonpath([root, target]) != root:
        raise ValueError(f"Archive entry contains directory traversal: {name}")
    return target


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, folder: str) -> str:
    """Extract one entry under ``folder`` (checked with :func:`safe_member_path`); returns
    the path written."""
    target = safe_member_path(folder, info.filename)
    if _is_symlink(info):
        raise ValueError(
            f"Archive entry is a symbolic link, which is not extracted: {info.filename}"
        )
    if info.is_dir():
        os.makedirs(target, exist_ok=True)
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with archive.open(info) as src, open(target, "wb") as out:
        shutil.copyfileobj(src, out, _CHUNK)
    return target


def extract_all(archive: zipfile.ZipFile, folder: str) -> None:
    """Extract every entry under ``folder``, after checking all of them (so a bad entry
    anywhere in the archive means nothing is written)."""
    infos = archive.infolist()
    for info in infos:
        safe_member_path(folder, info.filename)
        if _is_symlink(info):
            raise ValueError(
                f"Archive entry is a symbolic link, which is not extracted: {info.filename}"
            )
    for info in infos:
        extract_member(archive, info, folder)


def single_top_folder(archive: zipfile.ZipFile) -> str | None:
    """The one folder every entry lies in (as in a GitHub zipball), or None."""
    tops = {
        info.filename.replace("\\", "/").lstrip("/").split("/")[0] for info in archive.infolist()
    }
    if len(tops) != 1:
        return None
    top = tops.pop()
    has_children = any("/" in i.filename.replace("\\", "/").strip("/") for i in archive.infolist())
    return top if top and has_children else None
