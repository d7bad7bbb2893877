"""Trainer loop, callbacks and exact resume from a checkpoint (tiny hand-built model)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import (
    Callback,
    EarlyStopping,
    History,
    LRSchedulerStep,
    ModelCheckpoint,
    PlotCurves,
    ProgressBar,
    TerminateOnNaN,
    Trainer,
    fit,
)

from ._tiny import TinyMLP, cross_entropy, loaders


def _weights(model):
    return {k: v.data.numpy().copy() for k, v in model.state_dict().items()}


def test_fit_learns_and_records_history():
    cr.manual_seed(0)
    model = TinyMLP()
    train, val = loaders()
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hist = fit(model, train, cross_entropy, opt, epochs=6, val_loader=val, verbose=False)
    h = hist.history
    assert h["epoch"] == list(range(6))
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_acc"][-1] > 0.8
    assert set(h) >= {"loss", "acc", "val_loss", "val_acc", "lr", "time"}
    assert model.training  # evaluate() restores train mode


class _Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, trainer):
        self.calls.append("train_begin")

    def on_epoch_begin(self, trainer, epoch):
        self.calls.append(f"epoch_begin{epoch}")

    def on_batch_end(self, trainer, batch, logs):
        self.calls.append("batch")

    def on_epoch_end(self, trainer, epoch, logs):
        self.calls.append(f"epoch_end{epoch}")

    def on_train_end(self, trainer, logs):
        self.calls.append("train_end")


def test_callback_order_and_batch_count():
    model = TinyMLP()
    train, _ = loaders(batch_size=32)  # 96 samples -> 3 batches
    rec = _Recorder()
    Trainer(
        model,
        cross_entropy,
        cr.optim.SGD(model.parameters(), lr=0.1),
        callbacks=[rec],
        verbose=False,
    ).fit(train, epochs=2)
    assert rec.calls == (
        ["train_begin", "epoch_begin0"]
        + ["batch"] * 3
        + ["epoch_end0", "epoch_begin1"]
        + ["batch"] * 3
        + ["epoch_end1", "train_end"]
    )


def _run(tmp_path, epochs, resume_from=None, save_every=False):
    """A run with shuffling, dropout, momentum, a schedule and early-stopping state."""
    cr.manual_seed(123)
    model = TinyMLP(seed=5)
    model.drop = 0.2
    gen = cr.Generator().manual_seed(7)
    train, val = loaders(generator=gen)
    opt = cr.optim.Adam(model.parameters(), lr=0.05)
    sched = cr.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    es = EarlyStopping(monitor="val_loss", patience=100)
    cbs = [es]
    if save_every:
        cbs.append(ModelCheckpoint(str(tmp_path / "ep{epoch}.safetensors"), save_best_only=False))
    trainer = Trainer(model, cross_entropy, opt, scheduler=sched, callbacks=cbs, verbose=False)
    trainer.fit(train, val, epochs=epochs, resume_from=resume_from)
    return trainer


def test_resume_equals_uninterrupted_run(tmp_path):
    full = _run(tmp_path, epochs=5, save_every=True)
    rng_after_full = cr.get_rng_state()
    resumed = _run(tmp_path, epochs=5, resume_from=tmp_path / "ep2.safetensors")
    assert resumed.epoch == 5
    for k, v in _weights(full.model).items():
        np.testing.assert_array_equal(_weights(resumed.model)[k], v, err_msg=k)
    assert resumed.optimizer.param_groups[0]["lr"] == full.optimizer.param_groups[0]["lr"]
    np.testing.assert_array_equal(
        resumed.history.history["val_loss"], full.history.history["val_loss"]
    )
    es_full, es_res = full.callbacks[2], resumed.callbacks[2]
    assert (es_res.best, es_res.best_epoch) == (es_full.best, es_full.best_epoch)
    assert cr.equal(cr.get_rng_state(), rng_after_full)  # dropout drew the same numbers


def test_early_stopping_restores_best_weights():
    model = TinyMLP()
    train, val = loaders()
    snapshots = {}

    class Snap(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots[epoch] = (logs["val_loss"], _weights(trainer.model))

    # lr far too high after the first epochs: val loss gets worse, so training stops
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    sched = cr.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0 if e < 2 else 80.0)
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    trainer = Trainer(
        model, cross_entropy, opt, scheduler=sched, callbacks=[Snap(), es], verbose=False
    )
    trainer.fit(train, val, epochs=30)
    assert trainer.epoch < 30 and es.stopped_epoch == trainer.epoch - 1
    best_epoch = min(snapshots, key=lambda e: snapshots[e][0])
    assert es.best_epoch == best_epoch and best_epoch < es.stopped_epoch
    for k, v in snapshots[best_epoch][1].items():
        np.testing.assert_array_equal(_weights(model)[k], v, err_msg=k)


def test_early_stopping_mode_and_min_delta():
    es = EarlyStopping(monitor="val_acc", patience=1, min_delta=0.1)
    assert es._mon.mode == "max"

    class T:
        stop_training = False
        verbose = False

    t = T()
    es.on_epoch_end(t, 0, {"val_acc": 0.5})
    es.on_epoch_end(t, 1, {"val_acc": 0.55})  # +0.05 < min_delta: no improvement
    assert t.stop_training and es.best == 0.5
    with pytest.raises(KeyError, match="val_loss"):
        EarlyStopping().on_epoch_end(t, 0, {"loss": 1.0})


def test_plateau_schedule_reduces_lr():
    model = TinyMLP()
    train, _ = loaders()
    opt = cr.optim.SGD(model.parameters(), lr=1e-3)  # loss cannot improve by 50% per epoch
    sched = cr.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=0.5, patience=1, threshold=0.5
    )
    trainer = Trainer(
        model, cross_entropy, opt, callbacks=[LRSchedulerStep(sched, monitor="loss")], verbose=False
    )
    trainer.fit(train, epochs=5)
    lrs = trainer.history.history["lr"]
    assert lrs[0] == 1e-3 and lrs[-1] < lrs[0] and opt.param_groups[0]["lr"] <= 2.5e-4
    assert lrs == sorted(lrs, reverse=True)


def test_per_batch_schedule_steps_every_batch():
    model = TinyMLP()
    train, _ = loaders(batch_size=32)  # 3 batches per epoch
    opt = cr.optim.SGD(model.parameters(), lr=1.0)
    sched = cr.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    Trainer(
        model,
        cross_entropy,
        opt,
        callbacks=[LRSchedulerStep(sched, interval="batch")],
        verbose=False,
    ).fit(train, epochs=2)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5**6)


def test_terminate_on_nan_stops_within_the_epoch():
    model = TinyMLP()
    train, _ = loaders(batch_size=8)  # 12 batches per epoch
    calls = []

    def loss_fn(out, y):
        calls.append(1)
        loss = cross_entropy(out, y)
        return loss * float("nan") if len(calls) == 3 else loss

    term = TerminateOnNaN()
    trainer = Trainer(
        model, loss_fn, cr.optim.SGD(model.parameters(), lr=0.1), callbacks=[term], verbose=False
    )
    trainer.fit(train, epochs=5)
    assert term.stopped_batch == 2 and len(calls) == 3 and trainer.epoch == 1


def test_history_files_and_curves(tmp_path):
    model = TinyMLP()
    train, val = loaders()
    hist = History(csv_path=str(tmp_path / "h.csv"), json_path=str(tmp_path / "h.json"))
    Trainer(
        model,
        cross_entropy,
        cr.optim.SGD(model.parameters(), lr=0.1),
        callbacks=[hist, PlotCurves(str(tmp_path / "curves.png"))],
        verbose=False,
    ).fit(train, val, epochs=3)
    rows = list(csv.DictReader((tmp_path / "h.csv").read_text().splitlines()))
    assert len(rows) == 3 and float(rows[2]["val_acc"]) == pytest.approx(
        hist.history["val_acc"][2], rel=1e-5
    )
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["epoch"] == [0, 1, 2]
    png = (tmp_path / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_model_checkpoint_best_only(tmp_path):
    model = TinyMLP()
    train, val = loaders()
    saved = []

    class Spy(ModelCheckpoint):
        def on_epoch_complete(self, trainer, epoch, logs):
            before = self.last_saved
            super().on_epoch_complete(trainer, epoch, logs)
            if self.last_saved != before:
                saved.append(epoch)

    ck = Spy(
        str(tmp_path / "best-{epoch}.safetensors"),
        monitor="val_acc",
        save_best_only=True,
        save_weights_only=True,
    )
    trainer = Trainer(
        model,
        cross_entropy,
        cr.optim.SGD(model.parameters(), lr=0.1),
        callbacks=[ck],
        verbose=False,
    )
    trainer.fit(train, val, epochs=4)
    accs = trainer.history.history["val_acc"]
    expected = [e for e in range(4) if accs[e] > max(accs[:e], default=-1)]
    assert saved == expected
    state = cr.load(ck.last_saved)
    assert set(state) == {"w1", "b1", "w2", "b2"}


def test_progress_bar_without_tty_prints_summary_only():
    model = TinyMLP()
    train, val = loaders()
    out = io.StringIO()
    Trainer(
        model,
        cross_entropy,
        cr.optim.SGD(model.parameters(), lr=0.1),
        callbacks=[ProgressBar(stream=out)],
        verbose=True,
    ).fit(train, val, epochs=2)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch   2/2") and "val_acc" in lines[1]
    assert "\r" not in out.getvalue()


def test_progress_bar_with_forced_tqdm():
    pytest.importorskip("tqdm")
    model = TinyMLP()
    train, _ = loaders()
    out = io.StringIO()
    Trainer(
        model,
        cross_entropy,
        cr.optim.SGD(model.parameters(), lr=0.1),
        callbacks=[ProgressBar(stream=out, force=True, mininterval=0)],
    ).fit(train, epochs=1)
    assert "batch" in out.getvalue() and "loss=" in out.getvalue()


def test_bad_batches_and_callbacks_raise():
    model = TinyMLP()
    with pytest.raises(TypeError, match="Callback instances"):
        Trainer(
            model, cross_entropy, cr.optim.SGD(model.parameters(), lr=0.1), callbacks=[object()]
        )
    trainer = Trainer(model, cross_entropy, cr.optim.SGD(model.parameters(), lr=0.1), verbose=False)
    with pytest.raises(ValueError, match="pair"):
        trainer.fit([cr.randn(2, 4)], epochs=1)


def test_load_checkpoint_rejects_bare_state_dict(tmp_path):
    model = TinyMLP()
    cr.save(model.state_dict(), tmp_path / "m.safetensors")
    trainer = Trainer(model, cross_entropy, cr.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="not a chainrule training checkpoint"):
        trainer.load_checkpoint(tmp_path / "m.safetensors")


def test_grad_clip_norm_bounds_the_update():
    model = TinyMLP()
    before = _weights(model)
    train, _ = loaders(batch_size=96)  # one batch
    Trainer(
        model,
        lambda out, y: cross_entropy(out, y) * 1e4,
        cr.optim.SGD(model.parameters(), lr=1.0),
        grad_clip_norm=1e-3,
        verbose=False,
    ).fit(train, epochs=1)
    delta = np.sqrt(sum(((_weights(model)[k] - v) ** 2).sum() for k, v in before.items()))
    assert 0 < delta <= 1e-3 * (1 + 1e-4)  # lr 1 x clipped norm 1e-3


def test_predict_and_evaluate_leave_mode_and_grads_alone():
    model = TinyMLP()
    _, val = loaders()
    trainer = Trainer(model, cross_entropy, cr.optim.SGD(model.parameters(), lr=0.1), verbose=False)
    model.eval()
    logits = trainer.predict(val)
    assert logits.shape == (48, 3) and not model.training
    res = trainer.evaluate(val)
    assert set(res) == {"loss", "acc"} and all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("epoch", -1, "'epoch' is -1"),
        ("epoch", "3", "'epoch' is '3'"),
        ("model", [1, 2], "'model' holds list"),
        ("optimizer", 5, "'optimizer' holds int"),
        ("rng", {"seed": "x"}, "invalid random-number generator state"),
    ],
)
def test_resume_from_malformed_checkpoint_raises_clearly(tmp_path, field, value, message):
    model = TinyMLP()
    train, val = loaders()
    trainer = Trainer(model, cross_entropy, cr.optim.SGD(model.parameters(), lr=0.1), verbose=False)
    trainer.fit(train, val, epochs=1)
    path = tmp_path / "ck.safetensors"
    trainer.save_checkpoint(path)
    state = cr.load(path)
    state[field] = value
    cr.save(state, path)
    fresh = Trainer(
        TinyMLP(), cross_entropy, cr.optim.SGD(model.parameters(), lr=0.1), verbose=False
    )
    with pytest.raises(ValueError, match=message) as info:
        fresh.fit(train, val, epochs=2, resume_from=path)
    assert "ck.safetensors" in str(info.value)


def test_resume_reports_a_bad_callback_state(tmp_path):
    model = TinyMLP()
    train, val = loaders()
    trainer = Trainer(
        model,
        cross_entropy,
        cr.optim.SGD(model.parameters(), lr=0.1),
        callbacks=[EarlyStopping(patience=2)],
        verbose=False,
    )
    trainer.fit(train, val, epochs=1)
    path = tmp_path / "ck.safetensors"
    trainer.save_checkpoint(path)
    state = cr.load(path)
    key = next(k for k in state["callbacks"] if k.endswith(":EarlyStopping"))
    state["callbacks"] = {"not-an-index:History": {}, key: {"wrong": 1}}
    cr.save(state, path)
    with pytest.raises(ValueError, match="invalid state for callback EarlyStopping"):
        trainer.load_checkpoint(path)


def test_checkpoints_are_never_pickled(tmp_path):
    model = TinyMLP()
    trainer = Trainer(model, cross_entropy, cr.optim.SGD(model.parameters(), lr=0.1), verbose=False)
    with pytest.raises(TypeError, match="cannot store an object of type object"):
        trainer.save_checkpoint(tmp_path / "ck.safetensors", extra={"obj": object()})
    assert not (tmp_path / "ck.safetensors").exists()
