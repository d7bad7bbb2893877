"""``load_state_dict_from_url``: download a checkpoint once, cache it, load it safely.

The cache is ``<hub dir>/checkpoints/`` (see :mod:`chainrule.hub.dirs`), or ``model_dir``.
A file already there is loaded without downloading again. With ``check_hash=True`` the
file name carries the expected SHA-256 prefix, as in PyTorch: the first ``-<hex>.`` in the
name (``resnet18-f37072fd.pth`` expects a digest starting ``f37072fd``; a name with no such
part is not checked).

Loading never runs code from the file: unlike ``torch.hub.load_state_dict_from_url``, whose
``weights_only=False`` default unpickles anything, chainrule always loads weights-only
(tensors, containers, numbers, strings, plus what ``cr.serialization.add_safe_globals``
allows). A file that needs more is refused with an error saying so; if it is trusted, load
the cached file with ``cr.load(path, weights_only=False)`` yourself.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
import zipfile
from typing import Any
from urllib.parse import urlparse

from .. import io
from .archives import extract_member
from .dirs import get_dir
from .download import download_url_to_file

__all__ = ["HASH_REGEX", "load_state_dict_from_url"]

# The first "-<lowercase hex>." in a file name: the expected SHA-256 prefix.
HASH_REGEX = re.compile(r"-([0-9a-f]*)\.")


def _single_entry_zip(path: str) -> zipfile.ZipInfo | None:
    """The only entry of a zip holding exactly one file (a checkpoint shipped zipped, which
    PyTorch unpacks), or None. PyTorch's own checkpoint format is also a zip, but always of
    several entries, so it is not mistaken for one."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    if len(infos) != 1 or infos[0].is_dir():
        return None
    return infos[0]


def _unzip_single(path: str, info: zipfile.ZipInfo, folder: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return extract_member(archive, info, folder)


def _load_weights_only(path: str, map_location: Any) -> Any:
    try:
        return io.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise pickle.UnpicklingError(
            f"{exc}\n(cr.hub.load_state_dict_from_url always loads weights-only, whatever "
            f"weights_only says: chainrule never runs code from a downloaded file. The file "
            f"is cached at {path!r}.)"
        ) from None


def load_state_dict_from_url(
    url: str,
    model_dir: str | None = None,
    map_location: Any = None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: str | None = None,
    weights_only: bool = False,
) -> dict[str, Any]:
    """Load the checkpoint at ``url``, downloading it into the cache the first time
    (mirrors ``torch.hub.load_state_dict_from_url``; ``cr.utils.model_zoo.load_url``).

    A downloaded zip holding a single file (how some checkpoints are shipped) is unpacked
    into ``model_dir`` and that file is loaded.

    Args:
        url: the URL of the checkpoint (``https://...``, ``file:///...``).
        model_dir: the cache folder; default ``<cr.hub.get_dir()>/checkpoints``. Created if
            missing.
        map_location: a device for the tensors (``None`` / ``"cpu"`` keep them on CPU), as
            in :func:`chainrule.load`.
        progress: show a download progress bar on stderr (needs tqdm).
        check_hash: verify the download against the SHA-256 prefix in the file name
            (``name-<hex>.ext``); a name without one is not checked.
        file_name: the name to cache the file under (default: the last part of the URL's
            path). Its hash part is the one checked.
        weights_only: accepted for PyTorch's signature (default ``False`` as there); the
            load is weights-only either way, so that a downloaded file never executes code.

    Returns:
        What the file holds, normally a state dict of tensors.

    Raises:
        RuntimeError: the SHA-256 does not match the name's prefix (nothing is cached).
        pickle.UnpicklingError: the file holds objects a weights-only load refuses.
        urllib.error.URLError: the URL cannot be opened.

    Example:
        >>> state = cr.hub.load_state_dict_from_url(  # doctest: +SKIP
        ...     "https://download.pytorch.org/models/resnet18-f37072fd.pth", check_hash=True
        ... )
    """
    if not isinstance(weights_only, bool):
        raise TypeError(
            "load_state_dict_from_url: weights_only must be a bool, got "
            f"{type(weights_only).__name__}"
        )
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    model_dir = os.path.expanduser(os.fspath(model_dir))
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    if not filename:
        raise ValueError(
            f"load_state_dict_from_url: cannot take a file name from the URL {url!r}; "
            "pass file_name="
        )
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached_file, match.group(1) if match else None, progress)
    info = _single_entry_zip(cached_file)
    if info is not None:
        cached_file = _unzip_single(cached_file, info, model_dir)
    return _load_weights_only(cached_file, map_location)
