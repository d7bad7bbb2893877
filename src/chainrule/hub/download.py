"""``torch.hub.download_url_to_file`` over chainrule's one downloader (:mod:`.._download`)."""

from __future__ import annotations

from .._download import fetch

__all__ = ["download_url_to_file"]


def download_url_to_file(
    url: str, dst: str, hash_prefix: str | None = None, progress: bool = True
) -> None:
    """Download the object at ``url`` to the path ``dst`` (mirrors
    ``torch.hub.download_url_to_file``).

    The bytes stream to ``<dst>.<random>.partial`` in ``dst``'s folder, are checked, and
    only then replace ``dst``, so ``dst`` is either the old file or the complete new one.

    Args:
        url: the URL of the object (``https://...``, ``file:///...``).
        dst: the full destination path, e.g. ``/tmp/resnet18.pth``; its folder must exist.
        hash_prefix: if not None, the SHA-256 of the download must start with it.
        progress: show a progress bar on stderr (needs tqdm; without it, no bar).

    Raises:
        RuntimeError: the SHA-256 does not start with ``hash_prefix``.
        urllib.error.URLError: the URL cannot be opened.
        FileNotFoundError: ``dst``'s folder does not exist.

    Example:
        >>> cr.hub.download_url_to_file(  # doctest: +SKIP
        ...     "https://download.pytorch.org/models/resnet18-f37072fd.pth", "/tmp/r18.pth"
        ... )
    """
    fetch(url, dst, hash_prefix=hash_prefix, progress=progress)
