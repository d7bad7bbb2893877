"""Classification metrics and running averages (``cr.train.metrics``).

All functions take Tensors or NumPy arrays and return plain Python numbers / NumPy arrays:
metrics are bookkeeping, not part of the graph, so they never record gradients.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor

__all__ = ["AverageMeter", "MetricTracker", "accuracy", "confusion_matrix", "top_k_accuracy"]


def _np(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x._data
    if not isinstance(x, np.ndarray):
        get = getattr(x, "get", None)  # CuPy
        x = get() if get is not None else np.asarray(x)
    return x


def _labels(output: Any, where: str) -> np.ndarray:
    out = _np(output)
    if out.ndim == 2:
        return out.argmax(axis=1)
    if out.ndim == 1:
        return out.astype(np.int64, copy=False)
    raise ValueError(
        f"{where}: expected logits of shape (N, C) or labels of shape (N,), got shape "
        f"{tuple(out.shape)}"
    )


def accuracy(output: Any, target: Any) -> float:
    """Fraction of samples whose predicted class equals the target.

    Args:
        output: logits / scores of shape (N, C) (the argmax is the prediction), or
            predicted labels of shape (N,).
        target: integer labels of shape (N,).

    Returns:
        The accuracy in [0, 1] (NaN for an empty batch).
    """
    pred = _labels(output, "accuracy")
    tgt = _np(target).reshape(-1)
    if pred.shape[0] != tgt.shape[0]:
        raise ValueError(f"accuracy: {pred.shape[0]} predictions but {tgt.shape[0]} targets")
    if tgt.size == 0:
        return math.nan
    return float((pred == tgt).mean())


def top_k_accuracy(output: Any, target: Any, k: int = 5) -> float:
    """Fraction of samples whose target is among the ``k`` highest-scoring classes.

    Args:
        output: scores of shape (N, C).
        target: integer labels of shape (N,).
        k: how many top classes count as a hit (1 <= k <= C).
    """
    out = _np(output)
    tgt = _np(target).reshape(-1)
    if out.ndim != 2:
        raise ValueError(f"top_k_accuracy: expected scores of shape (N, C), got {tuple(out.shape)}")
    if not 1 <= k <= out.shape[1]:
        raise ValueError(
            f"top_k_accuracy: k={k} must be between 1 and the number of classes {out.shape[1]}"
        )
    if out.shape[0] != tgt.shape[0]:
        raise ValueError(
            f"top_k_accuracy: {out.shape[0]} rows of scores but {tgt.shape[0]} targets"
        )
    if tgt.size == 0:
        return math.nan
    top = np.argpartition(-out, k - 1, axis=1)[:, :k]
    return float((top == tgt[:, None]).any(axis=1).mean())


def confusion_matrix(output: Any, target: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts ``M[i, j]`` of samples with true class ``i`` predicted as class ``j``.

    Args:
        output: logits (N, C) or predicted labels (N,).
        target: integer labels (N,).
        num_classes: size of the matrix (default: C for logits, else the largest label + 1).

    Returns:
        An int64 array of shape (num_classes, num_classes); rows are true classes.
    """
    out = _np(output)
    pred = _labels(out, "confusion_matrix").astype(np.int64)
    tgt = _np(target).reshape(-1).astype(np.int64)
    if pred.shape[0] != tgt.shape[0]:
        raise ValueError(
            f"confusion_matrix: {pred.shape[0]} predictions but {tgt.shape[0]} targets"
        )
    if num_classes is None:
        num_classes = (
            out.shape[1]
            if out.ndim == 2
            else int(max(pred.max(initial=-1), tgt.max(initial=-1))) + 1
        )
    if tgt.size and (min(pred.min(), tgt.min()) < 0 or max(pred.max(), tgt.max()) >= num_classes):
        raise ValueError(f"confusion_matrix: labels must lie in [0, {num_classes})")
    flat = np.bincount(tgt * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


class AverageMeter:
    """A running, sample-weighted average (e.g. of per-batch losses over an epoch).

    Example:
        >>> m = AverageMeter("loss")
        >>> m.update(1.0, n=2); m.update(4.0, n=1)
        >>> m.avg
        2.0
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.reset()

    def reset(self) -> None:
        self.val = 0.0
        self.sum = 0.0
        self.count = 0

    def update(self, value: float, n: int = 1) -> None:
        """Add ``value`` (the mean over ``n`` samples)."""
        self.val = float(value)
        self.sum += float(value) * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else math.nan

    def __repr__(self) -> str:
        return f"AverageMeter({self.name!r}, avg={self.avg:.6g}, count={self.count})"


class MetricTracker:
    """Accumulates loss and accuracy over an epoch without storing every prediction."""

    def __init__(self) -> None:
        self.loss = AverageMeter("loss")
        self.correct = 0
        self.total = 0

    def update(self, loss: float, output: Any = None, target: Any = None) -> None:
        n = 1
        if output is not None and target is not None:
            out = _np(output)
            tgt = _np(target).reshape(-1)
            n = tgt.shape[0]
            if out.ndim == 2 and np.issubdtype(tgt.dtype, np.integer):
                self.correct += int((out.argmax(axis=1) == tgt).sum())
                self.total += n
        self.loss.update(loss, n)

    def result(self) -> dict[str, float]:
        res = {"loss": self.loss.avg}
        if self.total:
            res["acc"] = self.correct / self.total
        return res
