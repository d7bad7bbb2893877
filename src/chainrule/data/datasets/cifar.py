"""CIFAR-10 from the standard "python version" batches, read without running pickle code.

The official files (``cifar-10-batches-py/data_batch_1..5``, ``test_batch``, ``batches.meta``)
are pickles. Loading a pickle normally lets the file call any importable function, so here a
restricted ``Unpickler`` resolves only the few globals these files need (NumPy's array and
dtype reconstruction, ``_frombuffer`` for protocol 5, ``_codecs.encode`` for bytes written
by Python 3) and refuses every other one with ``pickle.UnpicklingError``: a malicious file
cannot execute code.
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...utils.data.dataset import Dataset

__all__ = ["CIFAR10", "safe_unpickle"]

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's _reconstruct, version-proof
_SCALAR = np.float64(0).__reduce__()[0]
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]  # pickle protocol 5 array reconstruction


def _codecs_encode(obj: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    if not isinstance(obj, str):
        raise pickle.UnpicklingError("_codecs.encode: only str arguments are allowed")
    return obj.encode(encoding, errors)


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs_encode,
}
_SAFE_BUILTINS = {
    "set": set,
    "frozenset": frozenset,
    "bytearray": bytearray,
    "complex": complex,
    "slice": slice,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module in ("builtins", "__builtin__") and name in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[name]
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name}: only NumPy "
            f"arrays, numbers, strings and containers are allowed"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing persistent ids in a data pickle")


def safe_unpickle(data: bytes) -> Any:
    """Unpickle ``data`` allowing only plain data (containers, numbers, bytes, NumPy arrays).

    Raises:
        pickle.UnpicklingError: if the pickle references any other global (code execution).
    """
    return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def _get(d: dict, key: str) -> Any:
    if key in d:
        return d[key]
    if key.encode() in d:
        return d[key.encode()]
    raise KeyError(key)


class CIFAR10(Dataset):
    """CIFAR-10: 32x32 colour images in 10 classes (50,000 train / 10,000 test).

    Args:
        root: the folder containing ``cifar-10-batches-py`` (or that folder itself).
        train: the five training batches (else ``test_batch``).
        transform: applied to each uint8 (32, 32, 3) HWC image; default: a float32
            (3, 32, 32) Tensor in [0, 1].
        target_transform: applied to each int label.
        download: not supported (the official archive must be fetched and extracted by hand).

    Attributes:
        data: uint8 array (N, 32, 32, 3), as torchvision.
        targets: int64 array (N,).
        classes: names from ``batches.meta``.
    """

    base_folder = "cifar-10-batches-py"
    train_list = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_list = ("test_batch",)
    meta_file = "batches.meta"
    meta_key = "label_names"
    labels_key = "labels"

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ):
        if download:
            raise NotImplementedError(
                f"{type(self).__name__}: download=True is not supported; "
                f"extract the official python-version archive under root"
            )
        root = Path(root).expanduser()
        folder = root / self.base_folder if (root / self.base_folder).is_dir() else root
        self.root, self.train = folder, bool(train)
        self.transform, self.target_transform = transform, target_transform
        xs, ys = [], []
        for name in self.train_list if self.train else self.test_list:
            path = folder / name
            if not path.is_file():
                raise RuntimeError(
                    f"{type(self).__name__}: {path} not found; expected the "
                    f"python-version batches under {folder}"
                )
            entry = safe_unpickle(path.read_bytes())
            data = np.asarray(_get(entry, "data"))
            labels = np.asarray(_get(entry, self.labels_key), dtype=np.int64)
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
                raise ValueError(
                    f"{type(self).__name__}: {path} 'data' should be uint8 of "
                    f"shape (N, 3072), got {data.dtype} {tuple(data.shape)}"
                )
            if labels.shape != (data.shape[0],):
                raise ValueError(
                    f"{type(self).__name__}: {path} has {tuple(labels.shape)} labels for "
                    f"{data.shape[0]} images"
                )
            xs.append(data.reshape(-1, 3, 32, 32))
            ys.append(labels)
        self.data = np.ascontiguousarray(np.concatenate(xs).transpose(0, 2, 3, 1))
        self.targets = np.concatenate(ys)
        meta_path = folder / self.meta_file
        if meta_path.is_file():
            names = _get(safe_unpickle(meta_path.read_bytes()), self.meta_key)
            self.classes = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        else:
            self.classes = [str(i) for i in range(int(self.targets.max(initial=-1)) + 1)]
        if self.targets.size and (
            self.targets.min() < 0 or self.targets.max() >= len(self.classes)
        ):
            raise ValueError(f"{type(self).__name__}: labels outside 0..{len(self.classes) - 1}")

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        else:
            chw = img.transpose(2, 0, 1).astype(np.float32) / np.float32(255.0)
            img = Tensor._make(chw, False, None, 0)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def as_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All images as float32 (N, 3, 32, 32) in [0, 1] and int64 labels (no transforms)."""
        x = self.data.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
        return np.ascontiguousarray(x), self.targets.copy()
