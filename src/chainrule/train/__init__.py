"""Training utilities (``cr.train``): the Trainer loop, callbacks, metrics, checkpoints, and
``evaluate`` / ``predict`` (a model over a loader, no optimizer needed).

Example:
    >>> import chainrule as cr
    >>> from chainrule.train import Trainer, EarlyStopping  # doctest: +SKIP
    >>> trainer = Trainer(model, cr.nn.CrossEntropyLoss(), opt,
    ...                   callbacks=[EarlyStopping(patience=3)])  # doctest: +SKIP
    >>> trainer.fit(train_loader, val_loader, epochs=20)  # doctest: +SKIP
"""

from __future__ import annotations

from . import metrics
from .callbacks import (
    Callback,
    EarlyStopping,
    History,
    LRSchedulerStep,
    ModelCheckpoint,
    PlotCurves,
    ProgressBar,
    TerminateOnNaN,
)
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluation import evaluate, predict
from .metrics import AverageMeter, accuracy, confusion_matrix, top_k_accuracy
from .plots import plot_history
from .trainer import Trainer, fit

__all__ = [
    "AverageMeter",
    "Callback",
    "EarlyStopping",
    "History",
    "LRSchedulerStep",
    "ModelCheckpoint",
    "PlotCurves",
    "ProgressBar",
    "TerminateOnNaN",
    "Trainer",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "fit",
    "load_checkpoint",
    "metrics",
    "plot_history",
    "predict",
    "save_checkpoint",
    "top_k_accuracy",
]
