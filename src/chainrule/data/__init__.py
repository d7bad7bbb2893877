"""Data preparation: preprocessing fitted on training data, image transforms, datasets.

``cr.data.preprocessing`` (Standardize, MeanSubtraction, PCA, ZCAWhitening),
``cr.data.transforms`` (torchvision-style image transforms) and ``cr.data.datasets``
(MNIST, FashionMNIST, MNIST1D, CIFAR10). Batching lives in ``cr.utils.data``.
"""
from __future__ import annotations

from . import datasets, preprocessing, text, transforms
from .datasets import CIFAR10, MNIST, MNIST1D, FashionMNIST, ImageFolder
from .preprocessing import PCA, MeanSubtraction, Standardize, ZCAWhitening

__all__ = ["CIFAR10", "MNIST", "MNIST1D", "PCA", "FashionMNIST", "ImageFolder", "MeanSubtraction",
           "Standardize", "ZCAWhitening", "datasets", "preprocessing", "text", "transforms"]
