"""Streaming, verified, atomic downloads: the one downloader behind ``cr.hub`` and the
data sets and corpora (``data/datasets/_files.py``).

:func:`fetch` reads a URL in 128 KiB chunks into a temporary file beside the destination,
hashing as it goes (never holding the whole download in memory), checks the size and the
digest (a full hex digest or only its first characters, as PyTorch's checkpoint names
carry), and only then renames the file into place. An interrupted, truncated or corrupted
download therefore never leaves a file that looks complete, and the temporary is removed
on every failure. A progress bar goes to stderr through tqdm when it is installed (the
``progress`` extra); without tqdm there is no bar and no error.

:func:`.hub.download_url_to_file` is ``torch.hub.download_url_to_file`` on top of it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
import uuid
from typing import Any

__all__ = ["CHUNK_SIZE", "USER_AGENT", "fetch"]

CHUNK_SIZE = 128 * 1024
USER_AGENT = "chainrule"


def _progress_bar(total: int | None, enabled: bool) -> Any:
    """A tqdm bar counting bytes (None when disabled or tqdm is not installed)."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm  # optional dependency (the ``progress`` extra)
    except ImportError:
        return None
    return tqdm(
        total=total, disable=False, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr
    )


def _content_length(response: Any) -> int | None:
    value = response.headers.get("Content-Length") if hasattr(response, "headers") else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def fetch(
    url: str,
    dst: str | os.PathLike,
    *,
    hash_name: str = "sha256",
    hash_prefix: str | None = None,
    size: int | None = None,
    progress: bool = True,
    timeout: float | None = None,
) -> str:
    """Download ``url`` to ``dst`` through a temporary file, verifying it before the rename.

    Args:
        url: any URL ``urllib`` opens (``https://``, ``http://``, ``file://``).
        dst: the destination path; its folder must exist. An existing file is replaced.
        hash_name: the ``hashlib`` algorithm of ``hash_prefix`` (``"sha256"``, ``"md5"``).
        hash_prefix: the expected hex digest, or its first characters; ``None`` skips the
            check. Compared as written (PyTorch's checkpoint names use lowercase hex).
        size: the expected size in bytes (``None``: not checked).
        progress: show a tqdm bar on stderr (when tqdm is installed).
        timeout: seconds for the connection (``None``: the socket default).

    Returns:
        The hex digest of the downloaded bytes.

    Raises:
        RuntimeError: the digest does not start with ``hash_prefix`` (PyTorch's message:
            ``invalid hash value (expected "...", got "...")``) or the size is wrong.
        urllib.error.URLError: the URL cannot be opened (no such file, no network, HTTP
            error).
        FileNotFoundError: the destination folder does not exist.
    """
    dst = os.path.abspath(os.path.expanduser(os.fspath(dst)))
    tmp = f"{dst}.{uuid.uuid4().hex}.partial"
    digest = hashlib.new(hash_name)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    kwargs = {} if timeout is None else {"timeout": timeout}
    with urllib.request.urlopen(request, **kwargs) as response:
        total = _content_length(response)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as out:
                bar = _progress_bar(total, progress)
                got = 0
                try:
                    while chunk := response.read(CHUNK_SIZE):
                        out.write(chunk)
                        digest.update(chunk)
                        got += len(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
                finally:
                    if bar is not None:
                        bar.close()
            hexdigest = digest.hexdigest()
            if size is not None and got != size:
                raise RuntimeError(
                    f"download of {url!r} has the wrong size: {got} bytes, expected {size}"
                )
            if hash_prefix is not None and not hexdigest.startswith(hash_prefix):
                kind = "" if hash_name == "sha256" else f"{hash_name.upper()} "  # torch's text
                raise RuntimeError(
                    f'invalid {kind}hash value (expected "{hash_prefix}", got "{hexdigest}")'
                )
            os.replace(tmp, dst)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return hexdigest
