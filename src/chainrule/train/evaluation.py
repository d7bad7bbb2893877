"""Evaluating a model without training it: ``evaluate`` (mean loss and accuracy) and
``predict`` (the outputs), each in eval mode and under ``no_grad``.

They need no optimizer; :class:`~chainrule.train.Trainer`'s ``evaluate`` and ``predict``
call them with the trainer's model, loss and device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from .metrics import MetricTracker

__all__ = ["evaluate", "predict", "split_batch"]


def split_batch(batch: Any, who: str = "Trainer") -> tuple[Any, Any]:
    """``(inputs, targets)`` of a batch; anything else is refused, naming ``who`` asked."""
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(
        f"{who}: each batch must be a pair (inputs, targets), got "
        f"{type(batch).__name__}; return (x, y) from the dataset"
    )


def _move(x: Any, device: Any) -> Any:
    if device is None or not hasattr(x, "to"):
        return x
    return x.to(device)


def evaluate(
    model: Any, loss_fn: Callable, loader: Iterable, device: Any = None
) -> dict[str, float]:
    """Mean loss (and accuracy for classification) of ``model`` over ``loader``.

    The model is put in eval mode for the pass and restored to its previous mode; no
    gradient is recorded.

    Args:
        model: a ``cr.nn.Module`` (any callable with ``eval``/``train``).
        loss_fn: ``loss_fn(outputs, targets) -> scalar Tensor``.
        loader: batches ``(inputs, targets)``.
        device: if given, each batch is moved there with ``.to(device)``.

    Returns:
        ``{"loss": ..., "acc": ...}`` (``acc`` for integer class targets).
    """
    was_training = getattr(model, "training", False)
    model.eval()
    tracker = MetricTracker()
    try:
        with no_grad():
            for batch in loader:
                x, y = split_batch(batch, "evaluate")
                x, y = _move(x, device), _move(y, device)
                out = model(x)
                tracker.update(float(loss_fn(out, y).item()), out, y)
    finally:
        model.train(was_training)
    return tracker.result()


def predict(model: Any, loader: Iterable, device: Any = None) -> np.ndarray:
    """The model's outputs over ``loader`` (inputs only, or (inputs, targets) batches),
    concatenated into one NumPy array; eval mode, no gradients."""
    was_training = getattr(model, "training", False)
    model.eval()
    outs = []
    try:
        with no_grad():
            for batch in loader:
                x = batch[0] if isinstance(batch, (list, tuple)) else batch
                outs.append(np.asarray(model(_move(x, device)).detach().cpu()._data))
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,))
