"""The classification data sets as whole NumPy arrays: ``load_data(name)`` returns train and
test inputs and labels in one call (the fast path of training scripts and ``chainrule
train``; no per-sample transforms)."""

from __future__ import annotations

import numpy as np

from .cifar import CIFAR10
from .mnist import MNIST, FashionMNIST
from .mnist1d import MNIST1D

__all__ = ["ARRAY_DATASETS", "load_data"]

ARRAY_DATASETS = ("mnist1d", "fashion-mnist", "mnist", "cifar10")


def load_data(
    name: str, root: str | None = None, channel: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(x_train, y_train, x_test, y_test, class names) as float32 / int64 arrays.

    Args:
        name: one of ``mnist1d``, ``fashion-mnist``, ``mnist``, ``cifar10``.
        root: where the files are (default: each dataset's search path; CIFAR-10 has none
            and needs the extracted ``cifar-10-batches-py`` folder).
        channel: keep a channel axis, (N, C, ...), for convolutional models; otherwise
            MNIST-1D is (N, 40) and images are flattened to (N, C*H*W).

    Raises:
        ValueError: an unknown ``name``, or ``cifar10`` without ``root``.
    """
    if name == "mnist1d":
        tr, te = MNIST1D(root, train=True), MNIST1D(root, train=False)
        (x, y), (xt, yt) = tr.as_arrays(channel=channel), te.as_arrays(channel=channel)
    elif name in ("fashion-mnist", "mnist"):
        cls = FashionMNIST if name == "fashion-mnist" else MNIST
        tr, te = cls(root, train=True), cls(root, train=False)
        (x, y), (xt, yt) = tr.as_arrays(), te.as_arrays()
    elif name == "cifar10":
        if root is None:
            raise ValueError(
                "load_data: cifar10 needs a data root (--data-root on the command "
                "line) pointing at the extracted cifar-10-batches-py folder"
            )
        tr, te = CIFAR10(root, train=True), CIFAR10(root, train=False)
        (x, y), (xt, yt) = tr.as_arrays(), te.as_arrays()
    else:
        raise ValueError(
            f"load_data: unknown data set {name!r}; choose from {', '.join(ARRAY_DATASETS)}"
        )
    if not channel and x.ndim > 2:
        x, xt = x.reshape(len(x), -1), xt.reshape(len(xt), -1)
    classes = list(getattr(tr, "classes", [str(i) for i in range(int(y.max()) + 1)]))
    return (
        x.astype(np.float32),
        y.astype(np.int64),
        xt.astype(np.float32),
        yt.astype(np.int64),
        classes,
    )
