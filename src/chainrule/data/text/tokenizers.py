"""Tokenizers: text <-> integer token ids.

``CharTokenizer`` maps each distinct character of a training text to an id (the classic
character-level language model). ``ByteBPETokenizer`` is a byte-level byte-pair encoder with
its own small trainer, so it works offline: it starts from the 256 byte values and repeatedly
merges the most frequent adjacent pair into a new token, as GPT-2's tokenizer does. Pairs are
counted inside pre-tokenized chunks (words with their leading space, digits, punctuation runs)
so that merges never cross a word boundary; ties are broken by the smaller pair of ids, which
makes training deterministic. ``TiktokenTokenizer`` adapts a ``tiktoken`` encoding (optional
extra: ``pip install "chainrule[text]"``).

Each tokenizer has ``encode(str) -> list[int]``, ``decode(ids) -> str``, ``vocab_size`` and
``save(path)`` / ``load(path)`` (JSON, never pickle).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ByteBPETokenizer", "CharTokenizer", "TiktokenTokenizer", "load_tokenizer"]

# Words with an optional leading space, numbers, runs of other symbols, runs of whitespace.
# A simplified GPT-2 pre-tokenizer written with the standard `re` module.
_CHUNK = re.compile(r" ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")
_MAX_JSON_BYTES = 64 << 20


def _ids(ids: Any, who: str) -> list[int]:
    """Token ids as a list of Python ints from a list, an array or a 1-d integer Tensor."""
    arr = np.asarray(getattr(ids, "_data", ids))
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise TypeError(
            f"{who}.decode: expected a 1-d sequence of integer ids, got "
            f"shape {tuple(arr.shape)} of {arr.dtype}"
        )
    return arr.astype(np.int64).tolist()


class CharTokenizer:
    """One id per distinct character, ids in sorted character order.

    Args:
        chars: the vocabulary (any iterable of single characters); see :meth:`from_text`.

    Example:
        >>> tok = CharTokenizer.from_text("hello")
        >>> tok.encode("hole"), tok.decode(tok.encode("hole"))
        ([1, 3, 2, 0], 'hole')
    """

    kind = "char"

    def __init__(self, chars: Iterable[str]):
        chars = sorted(set(chars))
        if not chars or any(len(c) != 1 for c in chars):
            raise ValueError(
                "CharTokenizer: the vocabulary must be a non-empty set of single characters"
            )
        self.chars = chars
        self._stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose vocabulary is every character occurring in ``text``."""
        return cls(set(text))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self._stoi[c] for c in text]
        except KeyError as e:
            raise ValueError(
                f"CharTokenizer.encode: character {e.args[0]!r} is not in the "
                f"vocabulary ({self.vocab_size} characters); build the tokenizer "
                "from a text that contains it"
            ) from None

    def decode(self, ids: Any) -> str:
        ids = _ids(ids, "CharTokenizer")
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"CharTokenizer.decode: id {bad[0]} is outside [0, {self.vocab_size})")
        return "".join(self.chars[i] for i in ids)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": "".join(self.chars)}

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> CharTokenizer:
        return load_tokenizer(path)


class ByteBPETokenizer:
    """Byte-level BPE: 256 byte tokens plus learned merges (GPT-2's scheme, trained here).

    Args:
        merges: ordered list of merged pairs ``(a, b)``; merge ``k`` creates id ``256 + k``.

    Use :meth:`train` to learn merges from a text. Any string encodes (every byte has an id),
    and ``decode(encode(s)) == s`` for every string ``s``.
    """

    kind = "byte_bpe"

    def __init__(self, merges: Sequence[Sequence[int]] = ()):
        self.merges: list[tuple[int, int]] = []
        self._vocab: list[bytes] = [bytes([b]) for b in range(256)]
        for k, pair in enumerate(merges):
            a, b = (int(v) for v in pair)
            if not (0 <= a < 256 + k and 0 <= b < 256 + k):
                raise ValueError(
                    f"ByteBPETokenizer: merge {k} {pair} refers to an id that does "
                    f"not exist yet (valid: 0..{255 + k})"
                )
            self.merges.append((a, b))
            self._vocab.append(self._vocab[a] + self._vocab[b])
        self._ranks = {p: k for k, p in enumerate(self.merges)}
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    @classmethod
    def train(cls, text: str, vocab_size: int, verbose: bool = False) -> ByteBPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text`` (deterministic).

        Raises:
            ValueError: when ``vocab_size`` < 256.
        """
        if not isinstance(vocab_size, int) or vocab_size < 256:
            raise ValueError(
                f"ByteBPETokenizer.train: vocab_size must be an int >= 256 (the "
                f"byte alphabet), got {vocab_size!r}"
            )
        words = Counter(_CHUNK.findall(text))
        seqs = [list(w.encode("utf-8")) for w in words]
        counts = list(words.values())
        merges: list[tuple[int, int]] = []
        for new_id in range(256, vocab_size):
            pairs: Counter = Counter()
            for seq, n in zip(seqs, counts):
                for p in zip(seq, seq[1:]):
                    pairs[p] += n
            if not pairs:
                break  # every chunk is a single token: nothing left to merge
            best_n = max(pairs.values())
            best = min(p for p, n in pairs.items() if n == best_n)
            merges.append(best)
            seqs = [_merge(seq, best, new_id) for seq in seqs]
            if verbose:
                print(f"merge {new_id - 255}: {best} -> {new_id} ({best_n} times)")
        return cls(merges)

    def _encode_chunk(self, chunk: str) -> list[int]:
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        seq = list(chunk.encode("utf-8"))
        while len(seq) > 1:
            ranked = [(self._ranks.get(p, -1), p) for p in zip(seq, seq[1:])]
            ranked = [rp for rp in ranked if rp[0] >= 0]
            if not ranked:
                break
            rank, pair = min(ranked)
            seq = _merge(seq, pair, 256 + rank)
        if len(self._cache) < 100_000:
            self._cache[chunk] = seq
        return seq

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"ByteBPETokenizer.encode: expected str, got {type(text).__name__}")
        out: list[int] = []
        for chunk in _CHUNK.findall(text):
            out.extend(self._encode_chunk(chunk))
        return out

    def decode(self, ids: Any) -> str:
        ids = _ids(ids, "ByteBPETokenizer")
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(
                f"ByteBPETokenizer.decode: id {bad[0]} is outside [0, {self.vocab_size})"
            )
        return b"".join(self._vocab[i] for i in ids).decode("utf-8", errors="replace")

    def token_bytes(self, i: int) -> bytes:
        """The bytes token ``i`` stands for."""
        return self._vocab[i]

    def mergeable_ranks(self) -> dict[bytes, int]:
        """``{token bytes: id}`` in tiktoken's format (used by :class:`TiktokenTokenizer`)."""
        return {b: i for i, b in enumerate(self._vocab)}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "merges": [list(p) for p in self.merges]}

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> ByteBPETokenizer:
        return load_tokenizer(path)


def _merge(seq: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair`` in ``seq`` by ``new_id``."""
    a, b = pair
    out = []
    i, n = 0, len(seq)
    while i < n:
        if i + 1 < n and seq[i] == a and seq[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return out


class TiktokenTokenizer:
    """Adapter for a ``tiktoken`` encoding (OpenAI's fast BPE), with the same interface.

    Args:
        encoding: a ``tiktoken.Encoding`` or the name of one (``"gpt2"``; named encodings
            are fetched by tiktoken on first use, which needs the network once).
        allowed_special: passed to ``Encoding.encode`` (``"all"`` or a set of strings).

    Raises:
        ImportError: tiktoken is not installed (``pip install "chainrule[text]"``).
    """

    kind = "tiktoken"

    def __init__(self, encoding: Any = "gpt2", allowed_special: Any = frozenset()):
        try:
            import tiktoken
        except ImportError as e:
            raise ImportError(
                "TiktokenTokenizer needs the optional package tiktoken: "
                'pip install "chainrule[text]" (or pip install tiktoken)'
            ) from e
        self.encoding = tiktoken.get_encoding(encoding) if isinstance(encoding, str) else encoding
        self.allowed_special = allowed_special

    @classmethod
    def from_bpe(cls, bpe: ByteBPETokenizer, name: str = "chainrule-bpe") -> TiktokenTokenizer:
        """A tiktoken encoding with ``bpe``'s merges and pre-tokenizer (fast encoding)."""
        import tiktoken

        enc = tiktoken.Encoding(
            name=name,
            pat_str=_CHUNK.pattern,
            mergeable_ranks=bpe.mergeable_ranks(),
            special_tokens={},
        )
        return cls(enc)

    @property
    def vocab_size(self) -> int:
        return int(self.encoding.n_vocab)

    def encode(self, text: str) -> list[int]:
        return list(self.encoding.encode(text, allowed_special=self.allowed_special))

    def decode(self, ids: Any) -> str:
        return self.encoding.decode(_ids(ids, "TiktokenTokenizer"))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.encoding.name}

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")


def load_tokenizer(path: str | os.PathLike) -> Any:
    """Read a tokenizer written by ``save`` (JSON), validating its contents.

    Raises:
        ValueError: the file is not a tokenizer file this version understands.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_tokenizer: {path} does not exist")
    if path.stat().st_size > _MAX_JSON_BYTES:
        raise ValueError(
            f"load_tokenizer: {path} is larger than {_MAX_JSON_BYTES >> 20} MiB; "
            "not a tokenizer file"
        )
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:
        raise ValueError(f"load_tokenizer: {path} is not valid JSON ({e})") from None
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind == "char" and isinstance(spec.get("chars"), str):
        return CharTokenizer(spec["chars"])
    if kind == "byte_bpe" and isinstance(spec.get("merges"), list):
        merges = spec["merges"]
        if not all(
            isinstance(m, list) and len(m) == 2 and all(type(v) is int for v in m) for m in merges
        ):
            raise ValueError(f"load_tokenizer: {path}: 'merges' must be a list of [int, int]")
        return ByteBPETokenizer(merges)
    if kind == "tiktoken" and isinstance(spec.get("name"), str):
        return TiktokenTokenizer(spec["name"])
    raise ValueError(
        f"load_tokenizer: {path} is not a chainrule tokenizer file (expected "
        "'kind' char, byte_bpe or tiktoken with its fields)"
    )
