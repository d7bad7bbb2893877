"""Callbacks: small objects the :class:`~chainrule.train.Trainer` calls at fixed points.

Hooks (all optional; each gets the trainer first):
``on_train_begin``, ``on_epoch_begin(epoch)``, ``on_batch_begin(batch)``,
``on_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``,
``on_epoch_complete(epoch, logs)`` (after all ``on_epoch_end``), ``on_train_end(logs)``.
Epoch ``logs`` hold ``epoch``, ``loss``, ``acc``, ``val_loss``, ``val_acc``, ``lr``, ``time``;
batch logs hold ``loss`` and ``size``. A callback stops training by setting
``trainer.stop_training = True``. Callbacks with state worth resuming (early stopping,
schedules, history) give ``state_dict`` / ``load_state_dict``; the trainer's checkpoint
stores them.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from ..distributed.training import is_main_process
from ..io import save
from ..optim.lr_scheduler import ReduceLROnPlateau
from .plots import plot_history

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "LRSchedulerStep",
    "ModelCheckpoint",
    "PlotCurves",
    "ProgressBar",
    "TerminateOnNaN",
]


class Callback:
    """Base class: override the hooks you need.

    ``main_process_only = True`` marks callbacks that only print or write files: in
    distributed training the trainer runs them on rank 0 alone.
    """

    main_process_only = False

    def on_train_begin(self, trainer: Trainer) -> None: ...
    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None: ...
    def on_batch_begin(self, trainer: Trainer, batch: int) -> None: ...
    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict) -> None: ...
    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None: ...
    def on_train_end(self, trainer: Trainer, logs: dict) -> None: ...

    def on_epoch_complete(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        """Called after every callback's ``on_epoch_end`` (checkpoints are written here,
        so they include this epoch's updates to schedules and early-stopping state)."""


def _resolve_mode(mode: str, monitor: str, who: str) -> str:
    if mode not in ("min", "max", "auto"):
        raise ValueError(f"{who}: mode must be 'min', 'max' or 'auto', got {mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.startswith("fmeasure")) else "min"
    return mode


class _Monitor:
    """Tracks the best value of one logged metric."""

    def __init__(self, monitor: str, mode: str, min_delta: float, who: str) -> None:
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor, who)
        self.min_delta = abs(float(min_delta))
        self.who = who
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs: dict) -> float | None:
        v = logs.get(self.monitor)
        if v is None:
            raise KeyError(
                f"{self.who}: monitored metric {self.monitor!r} is not in the logs "
                f"(available: {sorted(logs)}); pass a validation loader for "
                "'val_*' metrics"
            )
        return float(v)

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when a monitored metric has not improved for ``patience`` epochs.

    Args:
        monitor: the epoch-log key to watch (``"val_loss"``, ``"val_acc"``, ``"loss"`` ...).
        mode: ``"min"``, ``"max"``, or ``"auto"`` (max for accuracies, else min).
        patience: epochs without improvement before stopping.
        min_delta: smallest change that counts as an improvement.
        restore_best_weights: at the end of training, load the model weights of the best
            epoch (kept as an in-memory copy of the state dict).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
    ) -> None:
        self._mon = _Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.patience = int(patience)
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.best_epoch = -1
        self.stopped_epoch = -1
        self.best_weights: dict | None = None

    @property
    def best(self) -> float:
        return self._mon.best

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        value = self._mon.value(logs)
        if self._mon.improved(value):
            self._mon.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = {
                    k: v._data.copy() for k, v in trainer.model.state_dict().items()
                }
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer, logs: dict) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
        if self.stopped_epoch >= 0 and trainer.verbose:
            print(
                f"Early stopping at epoch {self.stopped_epoch + 1}: {self._mon.monitor} best "
                f"{self.best:.4g} at epoch {self.best_epoch + 1}"
            )

    def state_dict(self) -> dict:
        return {
            "best": self._mon.best,
            "wait": self.wait,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict) -> None:
        self._mon.best = float(state["best"])
        self.wait = int(state["wait"])
        self.best_epoch = int(state["best_epoch"])
        self.stopped_epoch = int(state["stopped_epoch"])
        bw = state.get("best_weights")
        self.best_weights = (
            None if bw is None else {k: np.array(getattr(v, "_data", v)) for k, v in bw.items()}
        )


class ModelCheckpoint(Callback):
    """Save the model (or a full training checkpoint) at the end of epochs.

    Args:
        filepath: where to write; may contain ``{epoch}`` and log keys, e.g.
            ``"ckpt/epoch{epoch:02d}-{val_loss:.3f}.safetensors"``.
        monitor / mode: the metric that decides what "best" means.
        save_best_only: write only when the monitored metric improves.
        save_weights_only: write ``model.state_dict()`` only; otherwise the trainer's full
            checkpoint (model, optimizer, scheduler, epoch, RNG state, callbacks, extra).
    """

    main_process_only = True

    def __init__(
        self,
        filepath: str,
        monitor: str = "val_loss",
        mode: str = "auto",
        save_best_only: bool = False,
        save_weights_only: bool = False,
    ) -> None:
        self.filepath = os.fspath(filepath)
        self._mon = _Monitor(monitor, mode, 0.0, "ModelCheckpoint")
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.last_saved: str | None = None

    def on_epoch_complete(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        if self.save_best_only:
            value = self._mon.value(logs)
            if not self._mon.improved(value):
                return
            self._mon.best = value
        path = self.filepath.format(**{**logs, "epoch": epoch + 1})
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if self.save_weights_only:
            save(trainer.model.state_dict(), path)
        else:
            trainer.save_checkpoint(path)
        self.last_saved = path

    def state_dict(self) -> dict:
        return {"best": self._mon.best}

    def load_state_dict(self, state: dict) -> None:
        self._mon.best = float(state["best"])


def _is_plateau(scheduler: Any) -> bool:
    return isinstance(scheduler, ReduceLROnPlateau)


class LRSchedulerStep(Callback):
    """Step a learning-rate scheduler after every epoch (default) or every batch.

    ``ReduceLROnPlateau`` is stepped once per epoch with the monitored metric.

    Args:
        scheduler: a ``cr.optim.lr_scheduler`` scheduler.
        interval: ``"epoch"`` or ``"batch"``.
        monitor: the epoch-log key passed to ``ReduceLROnPlateau.step``.
    """

    def __init__(self, scheduler: Any, interval: str = "epoch", monitor: str = "val_loss") -> None:
        if interval not in ("epoch", "batch"):
            raise ValueError(
                f"LRSchedulerStep: interval must be 'epoch' or 'batch', got {interval!r}"
            )
        self.scheduler = scheduler
        self.plateau = _is_plateau(scheduler)
        self.interval = "epoch" if self.plateau else interval
        self.monitor = monitor

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict) -> None:
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        if self.plateau:
            key = self.monitor if self.monitor in logs else "loss"
            self.scheduler.step(logs[key])
        elif self.interval == "epoch":
            self.scheduler.step()

    def state_dict(self) -> dict:
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state["scheduler"])


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def __init__(self) -> None:
        self.stopped_batch: int | None = None

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict) -> None:
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.stopped_batch = batch
            trainer.stop_training = True
            if trainer.verbose:
                print(f"Batch {batch}: invalid loss {loss}, terminating training")


class History(Callback):
    """Record every epoch's logs in ``history`` (a dict of lists); optionally write files.

    Args:
        csv_path: write the table as CSV after every epoch (one row per epoch).
        json_path: write ``{"epoch": [...], "loss": [...], ...}`` as JSON after every epoch.
    """

    def __init__(self, csv_path: str | None = None, json_path: str | None = None) -> None:
        self.csv_path = csv_path
        self.json_path = json_path
        self.rows: list[dict] = []

    @property
    def history(self) -> dict[str, list]:
        keys: list[str] = []
        for row in self.rows:
            keys += [k for k in row if k not in keys]
        return {k: [row.get(k) for row in self.rows] for k in keys}

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        self.rows.append(dict(logs))
        if not is_main_process():  # distributed: every rank records, rank 0 writes
            return
        if self.csv_path:
            self.write_csv(self.csv_path)
        if self.json_path:
            with open(self.json_path, "w") as fh:
                json.dump(self.history, fh, indent=1)

    def write_csv(self, path: str) -> None:
        hist = self.history
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(list(hist))
            for row in self.rows:
                writer.writerow([_fmt(row.get(k)) for k in hist])

    def state_dict(self) -> dict:
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict) -> None:
        self.rows = [dict(r) for r in state["rows"]]


def _fmt(v: Any) -> Any:
    return "" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)


class ProgressBar(Callback):
    """Per-batch progress with loss and speed (tqdm), and a one-line summary per epoch.

    The bar is shown only when tqdm is installed and the stream is a terminal (or
    ``force=True``); otherwise only the per-epoch summary lines are printed.
    """

    main_process_only = True

    def __init__(
        self,
        stream: Any = None,
        force: bool = False,
        summary: bool = True,
        mininterval: float = 0.1,
    ) -> None:
        self.stream = stream
        self.force = force
        self.mininterval = mininterval
        self.summary = summary
        self._bar = None

    def _tqdm(self):
        stream = self.stream or sys.stderr
        if not (self.force or (hasattr(stream, "isatty") and stream.isatty())):
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        tqdm = self._tqdm()
        if tqdm is not None:
            total = trainer.batches_per_epoch
            self._bar = tqdm(
                total=total,
                desc=f"epoch {epoch + 1}/{trainer.epochs}",
                unit="batch",
                leave=False,
                file=self.stream or sys.stderr,
                dynamic_ncols=True,
                mininterval=self.mininterval,
            )

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict) -> None:
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)
            self._bar.update(1)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.summary:
            print(format_epoch(logs, trainer.epochs), file=self.stream or sys.stdout, flush=True)

    def on_train_end(self, trainer: Trainer, logs: dict) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def format_epoch(logs: dict, epochs: int | None = None) -> str:
    """``epoch 3/10  loss 0.512  acc 81.2%  val_loss 0.55  val_acc 80.1%  lr 0.001  2.1s``"""
    total = f"/{epochs}" if epochs else ""
    parts = [f"epoch {logs.get('epoch', 0) + 1:>3}{total}"]
    for key in ("loss", "acc", "val_loss", "val_acc"):
        if key in logs and logs[key] is not None:
            v = logs[key]
            parts.append(f"{key} {100 * v:5.2f}%" if key.endswith("acc") else f"{key} {v:.4f}")
    if "lr" in logs:
        parts.append(f"lr {logs['lr']:.3g}")
    if "time" in logs:
        parts.append(f"{logs['time']:.1f}s")
    return "  ".join(parts)


class PlotCurves(Callback):
    """Write training/validation loss and accuracy curves to a PNG after every epoch."""

    main_process_only = True

    def __init__(self, path: str, every_epoch: bool = False) -> None:
        self.path = path
        self.every_epoch = every_epoch

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        if self.every_epoch:
            self._plot(trainer)

    def on_train_end(self, trainer: Trainer, logs: dict) -> None:
        self._plot(trainer)

    def _plot(self, trainer: Trainer) -> None:
        if trainer.history.rows:
            plot_history(trainer.history.history, self.path)
