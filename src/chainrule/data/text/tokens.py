"""Token arrays for language modelling: next-token windows, train/validation splits, random
batches, and memory-mapped token files for corpora larger than memory.

A language model learns ``p(x[t+1] | x[:t+1])``: every window ``x = tokens[i : i+B]`` comes with
its target ``y = tokens[i+1 : i+B+1]`` (the same window shifted by one). ``NextTokenDataset``
serves the windows by index (for a ``DataLoader``); ``TokenData.get_batch`` draws random
windows as nanoGPT's training loop does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...random import Generator, gen
from ...utils.data.dataset import Dataset

__all__ = ["NextTokenDataset", "TokenData", "load_token_file", "split_tokens", "write_token_file"]

_MAGIC = b"CRTOKENS"
_HEADER = 16  # magic (8) + dtype code (1) + padding (7); the count follows from the size
_DTYPES = {1: np.dtype("<u2"), 2: np.dtype("<u4"), 3: np.dtype("<i8")}


def _as_tokens(tokens: Any, who: str) -> np.ndarray:
    arr = tokens._data if isinstance(tokens, Tensor) else tokens
    if isinstance(arr, np.memmap):
        return arr
    arr = np.asarray(arr)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise TypeError(
            f"{who}: tokens must be a 1-d integer array, got shape {tuple(arr.shape)} of "
            f"{arr.dtype}"
        )
    return arr


def _check_block(block_size: Any, n: int, who: str) -> int:
    if (
        not isinstance(block_size, (int, np.integer))
        or isinstance(block_size, bool)
        or block_size < 1
    ):
        raise ValueError(f"{who}: block_size must be a positive int, got {block_size!r}")
    if n < block_size + 1:
        raise ValueError(
            f"{who}: {n} tokens are too few for block_size={block_size} (need at "
            f"least block_size + 1 = {block_size + 1})"
        )
    return int(block_size)


def split_tokens(tokens: Any, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Split a token array into (train, validation): the last ``val_fraction`` is validation.

    The split is contiguous (not shuffled) so no validation window overlaps training text.
    """
    arr = _as_tokens(tokens, "split_tokens")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"split_tokens: val_fraction must be in [0, 1), got {val_fraction!r}")
    cut = int(round(len(arr) * (1.0 - float(val_fraction))))
    return arr[:cut], arr[cut:]


class NextTokenDataset(Dataset):
    """Windows of ``block_size`` tokens and their next-token targets.

    Item ``i`` is ``(tokens[i*stride : i*stride+block_size], the same shifted by one)`` as
    int64 tensors. ``stride`` defaults to ``block_size`` (non-overlapping windows).
    """

    def __init__(self, tokens: Any, block_size: int, stride: int | None = None):
        self.tokens = _as_tokens(tokens, "NextTokenDataset")
        self.block_size = _check_block(block_size, len(self.tokens), "NextTokenDataset")
        self.stride = self.block_size if stride is None else int(stride)
        if self.stride < 1:
            raise ValueError(f"NextTokenDataset: stride must be >= 1, got {stride!r}")

    def __len__(self) -> int:
        return (len(self.tokens) - self.block_size - 1) // self.stride + 1

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"NextTokenDataset: index {index} out of range for {n} windows")
        start = (index % n) * self.stride
        chunk = np.asarray(self.tokens[start : start + self.block_size + 1], dtype=np.int64)
        return Tensor._new(chunk[:-1]), Tensor._new(chunk[1:])


class TokenData:
    """Train and validation token arrays with nanoGPT-style random batches.

    Args:
        train, val: 1-d integer token arrays (NumPy arrays or memory maps).
        block_size: context length of each window.
    """

    def __init__(self, train: Any, val: Any, block_size: int):
        self.splits = {"train": _as_tokens(train, "TokenData"), "val": _as_tokens(val, "TokenData")}
        self.block_size = _check_block(block_size, len(self.splits["train"]), "TokenData")
        if len(self.splits["val"]):
            _check_block(block_size, len(self.splits["val"]), "TokenData (validation split)")

    def get_batch(
        self, split: str, batch_size: int, generator: Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """``batch_size`` random windows from ``split``: inputs and targets, (B, T) int64."""
        if split not in self.splits:
            raise ValueError(f"TokenData.get_batch: split must be 'train' or 'val', got {split!r}")
        data = self.splits[split]
        if len(data) <= self.block_size:
            raise ValueError(
                f"TokenData.get_batch: the {split} split has {len(data)} tokens, "
                f"too few for block_size={self.block_size}"
            )
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(
                f"TokenData.get_batch: batch_size must be a positive int, got {batch_size!r}"
            )
        rng = gen(generator)
        starts = rng.integers(0, len(data) - self.block_size, size=int(batch_size))
        offsets = np.arange(self.block_size + 1)
        windows = np.asarray(data[starts[:, None] + offsets], dtype=np.int64)
        return Tensor._new(windows[:, :-1]), Tensor._new(windows[:, 1:])


def write_token_file(path: str | os.PathLike, tokens: Any) -> Path:
    """Write tokens to a flat binary file readable by :func:`load_token_file` (memory-mapped).

    The smallest of uint16 / uint32 / int64 that holds every id is used.
    """
    arr = _as_tokens(tokens, "write_token_file")
    if arr.size and arr.min() < 0:
        raise ValueError("write_token_file: token ids must be non-negative")
    top = int(arr.max()) if arr.size else 0
    code = 1 if top < 1 << 16 else 2 if top < 1 << 32 else 3
    path = Path(path)
    with open(path, "wb") as f:
        f.write(_MAGIC + bytes([code]) + bytes(_HEADER - len(_MAGIC) - 1))
        f.write(np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes())
    return path


def load_token_file(path: str | os.PathLike) -> np.memmap:
    """Memory-map a token file written by :func:`write_token_file` (read-only, no copy).

    Raises:
        ValueError: not a token file, or a length that is not a whole number of tokens.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_token_file: {path} is not a regular file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(_HEADER)
    if len(head) < _HEADER or head[:8] != _MAGIC or head[8] not in _DTYPES:
        raise ValueError(f"load_token_file: {path} is not a chainrule token file (bad header)")
    dtype = _DTYPES[head[8]]
    body = size - _HEADER
    if body % dtype.itemsize:
        raise ValueError(
            f"load_token_file: {path} holds {body} bytes of data, not a whole "
            f"number of {dtype} tokens (truncated?)"
        )
    if body == 0:
        return np.zeros(0, dtype)  # np.memmap refuses empty files
    return np.memmap(path, dtype=dtype, mode="r", offset=_HEADER, shape=(body // dtype.itemsize,))
