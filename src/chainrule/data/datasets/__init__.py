"""Datasets: MNIST, Fashion-MNIST (IDX files), MNIST-1D (generated), CIFAR-10 (python batches)."""

from __future__ import annotations

from ._files import download_url, read_idx, write_idx
from .arrays import ARRAY_DATASETS, load_data
from .cifar import CIFAR10, safe_unpickle
from .image_folder import DatasetFolder, ImageFolder
from .mnist import MNIST, FashionMNIST
from .mnist1d import MNIST1D, make_mnist1d

__all__ = [
    "ARRAY_DATASETS",
    "CIFAR10",
    "MNIST",
    "MNIST1D",
    "DatasetFolder",
    "FashionMNIST",
    "ImageFolder",
    "download_url",
    "load_data",
    "make_mnist1d",
    "read_idx",
    "safe_unpickle",
    "write_idx",
]
