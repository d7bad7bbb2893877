"""Text corpora: a file by path, a named corpus from the data directory (or downloaded with a
checksum), or the small sample shipped with chainrule so that language models train offline.

Named corpora are looked up as ``<root>/<file>`` in ``$CHAINRULE_DATA`` and
``~/.cache/chainrule`` (the same roots as the image datasets). ``download=True`` fetches a
missing one from its public address, verifying size and MD5 before it is renamed into place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..datasets._files import cache_root, default_roots, download_url

__all__ = ["CORPORA", "Corpus", "load_corpus", "resolve_corpus", "sample_text"]

_SAMPLE = Path(__file__).with_name("sample.txt")
_MAX_TEXT_BYTES = 2 << 30


@dataclass(frozen=True)
class Corpus:
    """A named public corpus: its file name, addresses, size in bytes and MD5."""

    filename: str
    urls: tuple
    size: int
    md5: str


CORPORA = {
    "tiny-shakespeare": Corpus(
        "tiny-shakespeare.txt",
        (
            "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
            "input.txt",
        ),
        1_115_394,
        "6fb458f1232090904fb40fe944165e91",
    ),
    "names": Corpus(
        "names.txt",
        ("https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",),
        228_145,
        "401b3c4cac9e28a586ed15e81256680d",
    ),
}


def sample_text() -> str:
    """The built-in sample (about 12 KB of Shakespeare, public domain): always available."""
    return _SAMPLE.read_text(encoding="utf-8")


def resolve_corpus(
    name: str, root: str | os.PathLike | None = None, download: bool = False
) -> Path:
    """The path of a named corpus, downloading it (verified) when asked and missing.

    Raises:
        ValueError: an unknown name.
        FileNotFoundError: not found and ``download`` is False (the message says where to put
            the file or how to download it).
    """
    if name not in CORPORA:
        raise ValueError(
            f"unknown corpus {name!r}; named corpora: {sorted(CORPORA)} (or pass "
            "a path to any UTF-8 text file, or 'sample')"
        )
    corpus = CORPORA[name]
    roots = [Path(root)] if root is not None else default_roots()
    for folder in roots:
        if (folder / corpus.filename).is_file():
            return folder / corpus.filename
    if not download:
        where = ", ".join(str(r) for r in roots)
        raise FileNotFoundError(
            f"corpus {name!r} ({corpus.filename}) not found in {where}; "
            "pass download=True to fetch it, "
            "or put the file there"
        )
    dest = (Path(root) if root is not None else cache_root()) / corpus.filename
    return download_url(corpus.urls, dest, md5=corpus.md5, size=corpus.size)


def load_corpus(
    spec: str | os.PathLike, root: str | os.PathLike | None = None, download: bool = False
) -> str:
    """Read a corpus: ``"sample"``, a name in :data:`CORPORA`, or a path to a UTF-8 text file.

    Raises:
        FileNotFoundError / ValueError: a missing file, an unknown name, a file that is not
            UTF-8 text, empty, or larger than 2 GiB (use a memory-mapped token file instead).
    """
    if str(spec) == "sample":
        return sample_text()
    if isinstance(spec, str) and spec in CORPORA:
        path = resolve_corpus(spec, root, download)
    else:
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(
                f"text corpus {str(spec)!r} is not a file (named corpora: "
                f"{sorted(CORPORA)}, or 'sample')"
            )
    size = path.stat().st_size
    if size > _MAX_TEXT_BYTES:
        raise ValueError(
            f"text corpus {path} is {size} bytes; texts over 2 GiB must be "
            "tokenized in pieces into a token file (write_token_file)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"text corpus {path} is not UTF-8 text ({e})") from None
    if not text:
        raise ValueError(f"text corpus {path} is empty")
    return text
