"""Particular data and its preparation: what torchvision and torchtext (and scikit-learn's
preprocessing) provide on top of ``torch.utils.data``.

``cr.data.datasets`` (MNIST, FashionMNIST, MNIST1D, CIFAR10, ImageFolder, ``load_data``),
``cr.data.transforms`` (torchvision-style image transforms), ``cr.data.augment`` (batch-level
shift-and-flip augmentation), ``cr.data.text`` (tokenizers, corpora, token windows) and
``cr.data.preprocessing`` (Standardize, MeanSubtraction, PCA, ZCAWhitening, fitted on
training data). The machinery that feeds any data to a model - ``Dataset``, samplers,
``DataLoader`` - is ``cr.utils.data``, as in PyTorch; ``cr.data`` builds on it, never the
reverse.
"""

from __future__ import annotations

from . import augment, datasets, preprocessing, text, transforms
from .datasets import CIFAR10, MNIST, MNIST1D, FashionMNIST, ImageFolder
from .preprocessing import PCA, MeanSubtraction, Standardize, ZCAWhitening

__all__ = [
    "CIFAR10",
    "MNIST",
    "MNIST1D",
    "PCA",
    "FashionMNIST",
    "ImageFolder",
    "MeanSubtraction",
    "Standardize",
    "ZCAWhitening",
    "augment",
    "datasets",
    "preprocessing",
    "text",
    "transforms",
]
