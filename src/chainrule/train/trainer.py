"""``Trainer`` / ``fit``: the training loop every example writes, written once.

One epoch is the loop from the lectures::

    for x, y in train_loader:
        loss = loss_fn(model(x), y)     # forward
        optimizer.zero_grad()           # clear old gradients
        loss.backward()                 # backward
        optimizer.step()                # update

followed by an evaluation on the validation loader (``model.eval()`` and ``cr.no_grad()``),
a scheduler step, and the callbacks (progress, early stopping, checkpoints, history).
``fit(epochs=N)`` trains *until* N epochs are complete, so after ``load_checkpoint`` the
same call finishes the interrupted run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..distributed.training import (
    average_logs,
    is_main_process,
    set_sampler_epoch,
    unwrap_model,
)
from ..nn.utils import clip_grad_norm_
from .callbacks import Callback, History, LRSchedulerStep, ProgressBar
from .checkpoint import load_checkpoint, loader_generators, save_checkpoint
from .evaluation import evaluate, predict, split_batch
from .metrics import MetricTracker

__all__ = ["Trainer", "fit"]


class Trainer:
    """Train a model with a loss and an optimizer, with validation and callbacks.

    Args:
        model: a ``cr.nn.Module``.
        loss_fn: ``loss_fn(outputs, targets) -> scalar Tensor`` (e.g. ``nn.CrossEntropyLoss()``).
        optimizer: a ``cr.optim`` optimizer over ``model.parameters()``.
        scheduler: optional learning-rate scheduler, stepped once per epoch after validation
            (``ReduceLROnPlateau`` gets ``val_loss``); use :class:`LRSchedulerStep` with
            ``interval="batch"`` for per-batch schedules instead.
        callbacks: extra :class:`Callback` objects, called in order.
        verbose: print a summary line per epoch (with a tqdm bar on terminals).
        device: if given, each batch is moved there with ``.to(device)``.
        grad_clip_norm: if given, clip the global gradient norm before each step.

    Attributes:
        history: a :class:`History` with every epoch's logs.
        epoch: the number of completed epochs.
        stop_training: set by callbacks to end ``fit`` early.
    """

    def __init__(
        self,
        model: Any,
        loss_fn: Callable,
        optimizer: Any,
        scheduler: Any = None,
        callbacks: Sequence[Callback] = (),
        verbose: bool = True,
        device: Any = None,
        grad_clip_norm: float | None = None,
        monitor: str = "val_loss",
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.verbose = verbose
        self.device = device
        self.grad_clip_norm = grad_clip_norm
        self.history = History()
        user = list(callbacks)
        for cb in user:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"Trainer: callbacks must be Callback instances, got {type(cb).__name__}"
                )
        self._sched_cb = (
            LRSchedulerStep(scheduler, monitor=monitor) if scheduler is not None else None
        )
        progress = (
            [] if not verbose or any(isinstance(c, ProgressBar) for c in user) else [ProgressBar()]
        )
        self.callbacks: list[Callback] = (
            [self.history] + ([self._sched_cb] if self._sched_cb else []) + user + progress
        )
        self.epoch = 0
        self.epochs = 0
        self.stop_training = False
        self.batches_per_epoch: int | None = None
        self._loaders: tuple = ()
        self.checkpoint_extra: dict | None = None  # saved with every checkpoint (preprocessing)
        self._main_process = True  # rank 0 or not distributed; set again by fit()

    # --------------------------------------------------------------------- steps
    def _move(self, x: Any) -> Any:
        if self.device is None or not hasattr(x, "to"):
            return x
        return x.to(self.device)

    def train_step(self, inputs: Any, targets: Any) -> tuple[float, Any]:
        """One optimisation step on a batch; returns (loss value, outputs)."""
        outputs = self.model(inputs)
        loss = self.loss_fn(outputs, targets)
        self.optimizer.zero_grad()
        loss.backward()
        if self.grad_clip_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.grad_clip_norm)
        self.optimizer.step()
        return float(loss.item()), outputs

    def _call(self, hook: str, *args: Any) -> None:
        main = self._main_process
        for cb in self.callbacks:
            if main or not getattr(cb, "main_process_only", False):  # rank 0 prints/writes
                getattr(cb, hook)(self, *args)

    def train_epoch(self, loader: Iterable) -> dict[str, float]:
        """Train for one pass over ``loader``; returns the epoch's mean loss and accuracy."""
        self.model.train()
        tracker = MetricTracker()
        for i, batch in enumerate(loader):
            x, y = split_batch(batch)
            x, y = self._move(x), self._move(y)
            self._call("on_batch_begin", i)
            loss, out = self.train_step(x, y)
            tracker.update(loss, out.detach() if hasattr(out, "detach") else out, y)
            self._call("on_batch_end", i, {"loss": loss, "size": len(y)})
            if self.stop_training:
                break
        return tracker.result()

    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Mean loss (and accuracy for classification) over ``loader``, without gradients
        (:func:`chainrule.train.evaluate` with this trainer's model, loss and device)."""
        return evaluate(self.model, self.loss_fn, loader, self.device)

    def predict(self, loader: Iterable) -> Any:
        """The model's outputs over ``loader``, concatenated into one NumPy array
        (:func:`chainrule.train.predict` with this trainer's model and device)."""
        return predict(self.model, loader, self.device)

    # ----------------------------------------------------------------------- fit
    def fit(
        self,
        train_loader: Iterable,
        val_loader: Iterable | None = None,
        epochs: int = 1,
        resume_from: str | os.PathLike | None = None,
    ) -> History:
        """Train until ``epochs`` epochs are complete (counting epochs already done).

        Args:
            train_loader: yields (inputs, targets) batches; reshuffles each epoch.
            val_loader: optional; evaluated after every epoch (``val_loss``, ``val_acc``).
            epochs: the total number of epochs.
            resume_from: a checkpoint from :meth:`save_checkpoint` to continue from.

        Returns:
            The :class:`History` (``trainer.history.history`` is a dict of lists).
        """
        self._loaders = (train_loader, val_loader)
        self._main_process = is_main_process()
        if resume_from is not None:
            self.load_checkpoint(resume_from)
        self.epochs = int(epochs)
        self.stop_training = False
        try:
            self.batches_per_epoch = len(train_loader)  # type: ignore[arg-type]
        except TypeError:
            self.batches_per_epoch = None
        self._call("on_train_begin")
        logs: dict[str, Any] = {}
        while self.epoch < self.epochs and not self.stop_training:
            epoch = self.epoch
            self._call("on_epoch_begin", epoch)
            start = time.perf_counter()
            lr = self.optimizer.param_groups[0]["lr"]
            set_sampler_epoch(train_loader, epoch)  # DistributedSampler: a new order per epoch
            logs = {"epoch": epoch, **self.train_epoch(train_loader)}
            if val_loader is not None:
                logs.update({f"val_{k}": v for k, v in self.evaluate(val_loader).items()})
            logs = average_logs(logs)  # distributed: every rank logs (and decides) the same
            logs["lr"] = float(lr)
            logs["time"] = time.perf_counter() - start
            self.epoch = epoch + 1
            self._call("on_epoch_end", epoch, logs)
            self._call("on_epoch_complete", epoch, logs)  # checkpoints see every update
        self._call("on_train_end", logs)
        return self.history

    # ---------------------------------------------------------------- checkpoints
    def _callback_states(self) -> dict[str, Any]:
        states = {}
        for i, cb in enumerate(self.callbacks):
            if cb is self._sched_cb:
                continue  # the scheduler is stored on its own
            if hasattr(cb, "state_dict"):
                states[f"{i}:{type(cb).__name__}"] = cb.state_dict()
        return states

    def save_checkpoint(self, path: str | os.PathLike, extra: dict | None = None) -> None:
        """Write model, optimizer, scheduler, epoch, RNG and loader-generator states,
        callback states and ``extra`` (e.g. preprocessing state) to ``path``.

        Distributed: only rank 0 writes, and the model is saved unwrapped (no ``module.``
        prefix), so the checkpoint resumes on any number of processes."""
        if not is_main_process():
            return
        save_checkpoint(
            path,
            unwrap_model(self.model),
            self.optimizer,
            self.scheduler,
            self.epoch,
            loader_generators(*self._loaders),
            self._callback_states(),
            extra if extra is not None else self.checkpoint_extra,
        )

    def load_checkpoint(
        self, path: str | os.PathLike, loaders: Sequence[Any] | None = None
    ) -> dict:
        """Restore everything :meth:`save_checkpoint` wrote; returns the checkpoint dict
        (its ``"extra"`` entry holds the user's extra state).

        Args:
            path: the checkpoint file.
            loaders: the (train, val) loaders whose generators to restore; default: those
                of the current/last ``fit`` call.
        """
        if loaders is not None:
            self._loaders = tuple(loaders)
        state = load_checkpoint(
            path,
            unwrap_model(self.model),
            self.optimizer,
            self.scheduler,
            loader_generators(*self._loaders),
        )
        self.epoch = state["epoch"]  # a non-negative int: checked by load_checkpoint
        saved = state.get("callbacks") or {}
        for key, cb_state in saved.items():
            idx, _, name = str(key).partition(":")
            i = int(idx) if idx.isdigit() else -1
            if 0 <= i < len(self.callbacks) and type(self.callbacks[i]).__name__ == name:
                try:
                    self.callbacks[i].load_state_dict(cb_state)
                except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                    raise ValueError(
                        f"Trainer.load_checkpoint: {os.fspath(path)!r} holds an "
                        f"invalid state for callback {name}: {exc}"
                    ) from None
        return state


def fit(
    model: Any,
    train_loader: Iterable,
    loss_fn: Callable,
    optimizer: Any,
    epochs: int = 1,
    val_loader: Iterable | None = None,
    scheduler: Any = None,
    callbacks: Sequence[Callback] = (),
    verbose: bool = True,
    **kwargs: Any,
) -> History:
    """Functional shortcut: ``Trainer(model, loss_fn, optimizer, ...).fit(...)``.

    Returns:
        The :class:`History` of the run.
    """
    trainer = Trainer(
        model,
        loss_fn,
        optimizer,
        scheduler=scheduler,
        callbacks=callbacks,
        verbose=verbose,
        **kwargs,
    )
    return trainer.fit(train_loader, val_loader, epochs=epochs)
