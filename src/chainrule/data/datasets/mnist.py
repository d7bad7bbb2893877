"""MNIST and Fashion-MNIST: 28x28 grey images in 10 classes, read from IDX files.

Files are looked for (raw or ``.gz``) in ``root``, ``root/<Name>/raw`` (torchvision's layout)
and ``root/<Name>``; with ``root=None`` in ``$CHAINRULE_DATA``, ``~/.cache/chainrule`` and the
Debian package folder (``apt-get install dataset-fashion-mnist`` puts the four ``.gz`` files
in ``/usr/share/datasets/fashion-mnist``). ``download=True`` fetches the official files into
the cache and verifies their size and MD5.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...autograd.tensor import Tensor
from ...utils.data.dataset import Dataset
from ._files import cache_root, default_roots, download_url, find_file, read_idx

__all__ = ["MNIST", "FashionMNIST"]

_STEMS = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class MNIST(Dataset):
    """The MNIST handwritten digits (60,000 train / 10,000 test images).

    Args:
        root: folder holding the IDX files (see the module docstring for the search order).
        train: the training split (else the test split).
        download: fetch missing files into ``root`` (or the cache) with checksum verification.
        transform: applied to each uint8 (28, 28) image; default: ``ToTensor`` semantics, a
            float32 (1, 28, 28) Tensor in [0, 1].
        target_transform: applied to each int label.

    Attributes:
        data: uint8 array (N, 28, 28).
        targets: int64 array (N,).
        classes: class names.
    """

    mirrors: ClassVar[list[str]] = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources: ClassVar[dict[str, tuple[str, int]]] = {  # file name: (md5, size in bytes)
        "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
        "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432", 28881),
        "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3", 1648877),
        "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c", 4542),
    }
    system_dirs: tuple[str, ...] = ("/usr/share/datasets/mnist",)
    classes: ClassVar[list[str]] = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = False,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ):
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        name = type(self).__name__
        bases = [Path(root).expanduser()] if root is not None else default_roots(self.system_dirs)
        folders = [f for b in bases for f in (b, b / name / "raw", b / name, b / name.lower())]
        stems = _STEMS[self.train]
        paths = [find_file(folders, s) for s in stems]
        if None in paths and download:
            target = (bases[0] if root is not None else cache_root()) / name / "raw"
            paths = [self._download(target, s) for s in stems]
        if None in paths:
            missing = [s for s, p in zip(stems, paths) if p is None]
            raise RuntimeError(
                f"{name}: dataset files {missing} (raw or .gz) not found in any "
                f"of {[str(f) for f in folders]}; pass download=True, set "
                f"$CHAINRULE_DATA, or give root="
            )
        self.root = paths[0].parent
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(
                f"{name}: {paths[0]} should hold uint8 images of shape (N, 28, 28), "
                f"got {images.dtype} {tuple(images.shape)}"
            )
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"{name}: {paths[1]} holds {tuple(labels.shape)} labels for "
                f"{images.shape[0]} images in {paths[0]}"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise ValueError(f"{name}: {paths[1]} has labels outside 0..{len(self.classes) - 1}")
        self.data = images
        self.targets = labels.astype(np.int64)

    def _download(self, folder: Path, stem: str) -> Path:
        fname = stem + ".gz"
        md5, size = self.resources[fname]
        return download_url([m + fname for m in self.mirrors], folder / fname, md5, size)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        else:
            img = Tensor._make(img[None].astype(np.float32) / np.float32(255.0), False, None, 0)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def as_arrays(self, flatten: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """All images as float32 in [0, 1], shape (N, 1, 28, 28) (or (N, 784) when
        ``flatten``), and int64 labels: the fast path for training loops (no transforms)."""
        x = self.data.astype(np.float32) / np.float32(255.0)
        x = x.reshape(len(x), -1) if flatten else x[:, None]
        return x, self.targets.copy()

    @property
    def _gather(self) -> Callable | None:
        """Batch fetch for the DataLoader's fast path (only with the default transforms)."""
        if self.transform is not None or self.target_transform is not None:
            return None

        def gather(indices: Any) -> tuple[Tensor, Tensor]:
            idx = np.asarray(indices, dtype=np.int64)
            x = self.data[idx][:, None].astype(np.float32) / np.float32(255.0)
            return (
                Tensor._make(x, False, None, 0),
                Tensor._make(self.targets[idx], False, None, 0),
            )

        return gather

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (
            f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
            f"    Root location: {self.root}\n    Split: {split}"
        )


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 clothing classes, MNIST's format."""

    mirrors: ClassVar[list[str]] = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources: ClassVar[dict[str, tuple[str, int]]] = {
        "train-images-idx3-ubyte.gz": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880),
        "train-labels-idx1-ubyte.gz": ("25c81989df183df01b3e8a0aad5dffbe", 29515),
        "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79", 4422102),
        "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310", 5148),
    }
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    classes: ClassVar[list[str]] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
