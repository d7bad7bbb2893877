"""``TensorBoardLogger``: the Trainer's epoch metrics (and weight histograms) in TensorBoard.

Each epoch's ``loss``/``val_loss`` go on one "loss" chart and ``acc``/``val_acc`` on an
"accuracy" chart (TensorBoard's usual train/validation overlay), the learning rate on its
own; optionally a histogram of every parameter. View with ``tensorboard --logdir <dir>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..utils.tensorboard import SummaryWriter
from .callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = ["TensorBoardLogger"]

_PAIRS = {"loss": ("loss", "val_loss"), "accuracy": ("acc", "val_acc")}


class TensorBoardLogger(Callback):
    """Write epoch metrics to ``log_dir`` (rank 0 only in distributed training).

    Args:
        log_dir: the TensorBoard run directory.
        histograms: also log a histogram of each parameter every epoch.
    """

    main_process_only = True

    def __init__(self, log_dir: str, histograms: bool = False) -> None:
        self.log_dir, self.histograms = log_dir, histograms
        self.writer: SummaryWriter | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        self.writer = SummaryWriter(self.log_dir)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        w = self.writer
        if w is None:
            return
        step = int(logs.get("epoch", epoch))
        for chart, (train_key, val_key) in _PAIRS.items():
            values = {
                name: logs[key]
                for name, key in (("train", train_key), ("val", val_key))
                if logs.get(key) is not None
            }
            for name, value in values.items():
                w.add_scalar(f"{chart}/{name}", value, step)
        if logs.get("lr") is not None:
            w.add_scalar("lr", logs["lr"], step)
        if self.histograms:
            for name, p in trainer.model.named_parameters():
                w.add_histogram(name, p.detach(), step)
        w.flush()

    def on_train_end(self, trainer: Trainer, logs: dict) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def state_dict(self) -> dict[str, Any]:
        return {}
