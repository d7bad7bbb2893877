"""``ImageFolder``: images in one sub-folder per class (torchvision's layout and rules).

``root/cat/001.png``, ``root/dog/xyz.jpg``: classes are the sub-folder names in sorted
order, ``class_to_idx`` maps them to 0, 1, ...; ``samples`` lists ``(path, class_index)``
sorted by class and then by path. Images are read with Pillow (an optional dependency:
``pip install pillow``) and converted to RGB, as torchvision's default loader does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ...utils.data.dataset import Dataset

try:  # Pillow is optional; ImageFolder says so when it is missing
    from PIL import Image as _Image
except ImportError:  # pragma: no cover - depends on the environment
    _Image = None

__all__ = ["IMG_EXTENSIONS", "DatasetFolder", "ImageFolder", "pil_loader"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pil_loader(path: str) -> Any:
    """Open an image file with Pillow and convert it to RGB."""
    if _Image is None:
        raise ImportError("ImageFolder needs Pillow to read images: pip install pillow")
    with open(path, "rb") as f:
        return _Image.open(f).convert("RGB")


def find_classes(directory: str) -> tuple[list[str], dict[str, int]]:
    """The sorted class folder names of ``directory`` and their indices."""
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


class DatasetFolder(Dataset):
    """Samples in one sub-folder per class, read with ``loader``.

    Args:
        root: the folder holding one sub-folder per class.
        loader: reads one file into a sample.
        extensions: file endings to accept (case-insensitive); exclusive with
            ``is_valid_file``.
        transform, target_transform: applied to each sample and to each class index.
        is_valid_file: ``f(path) -> bool`` deciding which files count.
        allow_empty: allow class folders without any valid file.

    Raises:
        FileNotFoundError: when there is no class folder, or a class has no valid file.
        ValueError: when both or neither of ``extensions`` and ``is_valid_file`` are given.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        loader: Callable[[str], Any],
        extensions: tuple[str, ...] | None = None,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ):
        self.root = os.fspath(root)
        if (extensions is None) == (is_valid_file is None):
            raise ValueError(
                "Both extensions and is_valid_file cannot be None or not None at the same time"
            )
        self.classes, self.class_to_idx = find_classes(self.root)
        valid = is_valid_file or (lambda p: p.lower().endswith(tuple(extensions)))
        self.samples = self._make_dataset(valid, allow_empty, extensions)
        self.loader = loader
        self.extensions = extensions
        self.targets = [t for _, t in self.samples]
        self.transform, self.target_transform = transform, target_transform

    def _make_dataset(
        self, valid: Callable[[str], bool], allow_empty: bool, extensions: Any
    ) -> list[tuple[str, int]]:
        samples, empty = [], []
        for name in self.classes:
            folder = os.path.join(self.root, name)
            found = 0
            for dirpath, _, files in sorted(os.walk(folder, followlinks=True)):
                for fname in sorted(files):
                    path = os.path.join(dirpath, fname)
                    if valid(path):
                        samples.append((path, self.class_to_idx[name]))
                        found += 1
            if not found:
                empty.append(name)
        if empty and not allow_empty:
            what = f"Supported extensions are: {', '.join(extensions)}" if extensions else ""
            raise FileNotFoundError(
                f"Found no valid file for the classes {', '.join(empty)}. " + what
            )
        return samples

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self) -> int:
        return len(self.samples)


class ImageFolder(DatasetFolder):
    """Images in one sub-folder per class (``torchvision.datasets.ImageFolder``).

    ``ds[i]`` is ``(image, class_index)`` with the image a PIL RGB image unless
    ``transform`` converts it (e.g. ``transforms.ToTensor()``). ``imgs`` is ``samples``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        loader: Callable[[str], Any] = pil_loader,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ):
        super().__init__(
            root,
            loader,
            IMG_EXTENSIONS if is_valid_file is None else None,
            transform=transform,
            target_transform=target_transform,
            is_valid_file=is_valid_file,
            allow_empty=allow_empty,
        )
        self.imgs = self.samples
