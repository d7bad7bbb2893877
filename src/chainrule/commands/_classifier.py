"""The ``chainrule train`` / ``chainrule evaluate`` jobs of a classifier: data ->
preprocessing -> model -> fit, and reloading a run to evaluate it. Command-line code: the
settings are the CLI flags and the errors name them (``chainrule train: --lr must be ...``);
the library pieces it uses are ``cr.data.datasets.load_data``, ``cr.train.Trainer`` and
``cr.train.evaluate``.

A run directory holds everything needed to rebuild and evaluate the model::

    config.json             the run's settings, data shapes and final results (JSON)
    model.safetensors       model.state_dict() (cr.save format; any safetensors reader works)
    preprocess.safetensors  the fitted Standardize transform's state
    checkpoint.safetensors  full training checkpoint (resume with --resume)
    history.csv             one row per epoch: loss, acc, val_loss, val_acc, lr, time
    curves.png              training / validation curves (if matplotlib is installed)

The validation set is split off the training set (a seeded permutation); the test set is
only used for the final evaluation. Standardization is fitted on the training split alone.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import nn, optim
from ..creation import tensor
from ..data.augment import AugmentedTensorDataset
from ..data.datasets.arrays import ARRAY_DATASETS, load_data
from ..data.preprocessing import Standardize
from ..distributed.training import prepare_distributed, start_distributed
from ..io import load, save
from ..models import get_model
from ..nn import functional as F
from ..optim import lr_scheduler
from ..random import Generator, manual_seed
from ..train.callbacks import Callback, EarlyStopping, History, ModelCheckpoint, PlotCurves
from ..train.evaluation import evaluate, predict
from ..train.metrics import confusion_matrix
from ..train.tensorboard import TensorBoardLogger
from ..train.trainer import Trainer
from ..utils.data import DataLoader, TensorDataset
from ._run_config import check_mlp_weights, read_run_config, validate_train_config

__all__ = [
    "DATASETS",
    "OPTIMIZERS",
    "TrainConfig",
    "TrainingDivergedError",
    "build_model",
    "evaluate_run",
    "run_training",
]

DATASETS = ARRAY_DATASETS
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "nadam")


@dataclass
class TrainConfig:
    """Settings of one ``chainrule train`` run (the CLI flags).

    The defaults were tuned with real runs on MNIST-1D (4,000 training signals): a
    40-256-256-10 ReLU MLP with dropout 0.1, Adam at 3e-3 with a cosine schedule, 80
    epochs of batch 128, reaches ~65-68% test accuracy in well under a minute on 2 cores.
    """

    data: str = "mnist1d"
    model: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [256, 256])
    epochs: int = 80
    batch_size: int = 128
    lr: float = 3e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9
    val_fraction: float = 0.1
    limit_train: int | None = None
    seed: int = 0
    data_root: str | None = None
    out: str = "runs/latest"
    patience: int | None = None
    schedule: str = "cosine"  # "none", "cosine", "plateau"
    dropout: float = 0.1
    augment: bool = False  # random shift (up to 2 px) + horizontal flip of training images
    distributed: bool = False  # data-parallel over the MPI processes (mpirun/chainrule launch)
    tensorboard: str | None = None  # TensorBoard log directory (None: no TensorBoard logging)


def build_model(
    model: str,
    in_shape: tuple[int, ...],
    num_classes: int,
    hidden: list[int] | tuple[int, ...] = (256, 256),
    dropout: float = 0.0,
):
    """``mlp``: Linear-ReLU stacks with the given hidden sizes; otherwise a zoo model,
    ``cr.models.get_model(model, num_classes=..., in_channels=...)``."""
    if model == "mlp":
        layers: list[Any] = []
        width = int(np.prod(in_shape))
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(nn.Linear(width, num_classes))
        return nn.Sequential(*layers)
    return get_model(model, num_classes=num_classes, in_channels=int(in_shape[0]))


def _optimizer(cfg: TrainConfig, params: Any):
    name, lr, wd = cfg.optimizer.lower(), cfg.lr, cfg.weight_decay
    if name == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        return optim.SGD(
            params, lr=lr, momentum=cfg.momentum, weight_decay=wd, nesterov=name == "nesterov"
        )
    table = {
        "adam": "Adam",
        "adamw": "AdamW",
        "rmsprop": "RMSprop",
        "adagrad": "Adagrad",
        "nadam": "NAdam",
    }
    if name not in table:
        raise ValueError(
            f"chainrule train: unknown optimizer {cfg.optimizer!r}; choose from "
            f"{', '.join(OPTIMIZERS)}"
        )
    return getattr(optim, table[name])(params, lr=lr, weight_decay=wd)


def _scheduler(cfg: TrainConfig, opt: Any):
    if cfg.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
    if cfg.schedule == "plateau":
        return lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2)
    if cfg.schedule in ("none", "", None):
        return None
    raise ValueError(
        f"chainrule train: unknown schedule {cfg.schedule!r}; choose cosine, plateau or none"
    )


def _split(x: np.ndarray, y: np.ndarray, cfg: TrainConfig):
    """Seeded train/validation split of the training set (``limit_train`` caps the train
    part; the validation part is ``val_fraction`` of the full set, or of the limit)."""
    perm = np.random.default_rng(cfg.seed).permutation(len(x))
    n_val = round(cfg.val_fraction * (cfg.limit_train or len(x)))
    n_train = len(x) - n_val if cfg.limit_train is None else min(cfg.limit_train, len(x) - n_val)
    if n_val < 1 or n_train < 1:
        raise ValueError(
            f"chainrule train: val_fraction={cfg.val_fraction} leaves no "
            f"training or no validation data out of {len(x)} samples"
        )
    val, train = perm[:n_val], perm[n_val : n_val + n_train]
    return x[train], y[train], x[val], y[val]


def _loader(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, gen: Any = None):
    return DataLoader(
        TensorDataset(tensor(x), tensor(y)), batch_size=batch_size, shuffle=shuffle, generator=gen
    )


def _augmented_loader(x: np.ndarray, y: np.ndarray, prep: Any, cfg: TrainConfig, gen: Any):
    """Training batches shifted by up to 2 pixels and mirrored at random (``--augment``); the
    border uncovered by a shift gets the standardized value of a black (0) pixel."""
    if x.ndim != 4:
        raise ValueError(
            f"chainrule train: --augment shifts and flips images (N, C, H, W); "
            f"data {cfg.data!r} has samples of shape {x.shape[1:]}"
        )
    black = prep.transform(np.zeros((1,) + x.shape[1:], dtype=np.float32))
    fill = black[0, :, 0, 0].astype(np.float32)
    ds = AugmentedTensorDataset(
        x, y, max_shift=2, flip=True, fill=fill, generator=Generator().manual_seed(cfg.seed + 2)
    )
    return DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, generator=gen)


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN or infinite; nothing was saved for that epoch."""


class _StopOnNonFiniteLoss(Callback):
    """Abort the run at the first non-finite batch loss, before any checkpoint of the
    diverged weights can be written."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def on_batch_end(self, trainer: Any, batch: int, logs: dict) -> None:
        loss = logs.get("loss")
        if loss is not None and not np.isfinite(loss):
            raise TrainingDivergedError(
                f"chainrule train: the training loss became {loss} in epoch {trainer.epoch + 1}"
                f" (batch {batch + 1}); stopped without saving the diverged model. Try a "
                f"smaller --lr (now {self.lr}) or --schedule cosine"
            )


def run_training(cfg: TrainConfig, resume: bool = False, verbose: bool = True) -> dict:
    """Run a whole training job and write the run directory; returns the results dict.

    Raises:
        ValueError: an invalid setting (named) or an unusable ``cfg.out``.
        TrainingDivergedError: the loss became NaN/inf (the last good checkpoint is kept).
    """
    validate_train_config(cfg)
    main = True  # distributed: only rank 0 prints and writes the run directory
    if cfg.distributed:
        main = start_distributed()
        verbose = verbose and main
    start = time.perf_counter()
    try:
        os.makedirs(cfg.out, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"chainrule train: cannot create --out directory {cfg.out!r}: {exc.strerror or exc}"
        ) from None
    manual_seed(cfg.seed)
    channel = cfg.model != "mlp"
    x, y, xt, yt, classes = load_data(cfg.data, cfg.data_root, channel=channel)
    xtr, ytr, xva, yva = _split(x, y, cfg)
    prep = Standardize(per_channel=channel)
    xtr = prep.fit_transform(xtr).astype(np.float32)
    xva = prep.transform(xva).astype(np.float32)
    xte = prep.transform(xt).astype(np.float32)
    num_classes = len(classes)
    model = build_model(cfg.model, xtr.shape[1:], num_classes, cfg.hidden, cfg.dropout)
    opt = _optimizer(cfg, model.parameters())
    sched = _scheduler(cfg, opt)
    gen = Generator().manual_seed(cfg.seed + 1)
    if cfg.augment:
        train_loader = _augmented_loader(xtr, ytr, prep, cfg, gen)
    else:
        train_loader = _loader(xtr, ytr, cfg.batch_size, True, gen)
    val_loader = _loader(xva, yva, 512, False)
    ckpt = os.path.join(cfg.out, "checkpoint.safetensors")
    callbacks = [
        History(csv_path=os.path.join(cfg.out, "history.csv")),
        _StopOnNonFiniteLoss(cfg.lr),
        ModelCheckpoint(ckpt, save_best_only=False),
    ]
    if cfg.patience:
        callbacks.append(EarlyStopping(patience=cfg.patience, restore_best_weights=True))
    if cfg.tensorboard:
        callbacks.append(TensorBoardLogger(cfg.tensorboard))
    if importlib.util.find_spec("matplotlib") is not None:  # an optional dependency
        callbacks.append(PlotCurves(os.path.join(cfg.out, "curves.png")))
    elif verbose:
        print("matplotlib not installed: skipping curves.png (pip install matplotlib)")
    trained = model
    if cfg.distributed:  # DDP + SyncBatchNorm; this rank's slice of every global batch
        trained, train_loader = prepare_distributed(model, train_loader, cfg.batch_size)
    trainer = Trainer(
        trained, F.cross_entropy, opt, scheduler=sched, callbacks=callbacks, verbose=verbose
    )
    trainer.checkpoint_extra = {"preprocess": prep.state_dict()}
    config = {
        **asdict(cfg),
        "num_classes": num_classes,
        "classes": classes,
        "input_shape": list(xtr.shape[1:]),
        "n_train": len(xtr),
        "n_val": len(xva),
        "n_test": len(xte),
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
    }
    if verbose:
        print(
            f"data {cfg.data}: {len(xtr)} train / {len(xva)} val / {len(xte)} test, "
            f"input {tuple(xtr.shape[1:])}, {num_classes} classes"
        )
        print(
            f"model {cfg.model}: {config['num_parameters']:,} parameters; optimizer "
            f"{cfg.optimizer} lr {cfg.lr}; {cfg.epochs} epochs of batch {cfg.batch_size}"
        )
    resume_from = ckpt if resume and os.path.exists(ckpt) else None
    trainer.fit(train_loader, val_loader, epochs=cfg.epochs, resume_from=resume_from)
    if resume_from is not None and main:  # history rows restored from the checkpoint
        callbacks[0].write_csv(callbacks[0].csv_path)
    test = trainer.evaluate(_loader(xte, yt, 1000, False))
    elapsed = time.perf_counter() - start
    if main:
        save(model.state_dict(), os.path.join(cfg.out, "model.safetensors"))
        save(prep.state_dict(), os.path.join(cfg.out, "preprocess.safetensors"))
    hist = trainer.history.history
    results = {
        "test_loss": test["loss"],
        "test_acc": test["acc"],
        "best_val_acc": max(hist.get("val_acc") or [float("nan")]),
        "epochs_run": trainer.epoch,
        "seconds": elapsed,
    }
    config["results"] = results
    if main:
        _write_json(os.path.join(cfg.out, "config.json"), config)
    if verbose:
        print(
            f"test loss {test['loss']:.4f}  test accuracy {100 * test['acc']:.2f}%  "
            f"({len(yt)} samples, {elapsed:.1f}s total)"
        )
        print(f"wrote {cfg.out}/: model.safetensors, config.json, history.csv, curves.png")
    return results


def _write_json(path: str, obj: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2)
    os.replace(tmp, path)


def _check_weights(config: dict, state: Any, path: str) -> None:
    """The weights file must match the config before anything is built from it."""
    if config["model"] == "mlp":
        check_mlp_weights(config, state, path)
        return
    if not isinstance(state, dict):
        raise ValueError(f"chainrule evaluate: {path} does not hold a state dict")
    outputs = {int(v.shape[0]) for v in state.values() if getattr(v, "ndim", 0) >= 2}
    if config["num_classes"] not in outputs:  # no layer can be the classifier
        raise ValueError(
            f"chainrule evaluate: {path} does not match its config.json: no "
            f"layer of the weights has {config['num_classes']} outputs "
            f"(num_classes); it has layers of {sorted(outputs)[:8]} outputs"
        )


def evaluate_run(run_dir: str, data_root: str | None = None, verbose: bool = True) -> dict:
    """Rebuild the model of a run directory, reload its weights and preprocessing, and
    evaluate it on the held-out test set. Returns ``{"loss", "acc", "n"}``."""
    config = read_run_config(run_dir, DATASETS)
    weights_path = os.path.join(run_dir, "model.safetensors")
    state = load(weights_path)
    _check_weights(config, state, weights_path)
    channel = config["model"] != "mlp"
    _, _, xt, yt, classes = load_data(
        config["data"], data_root or config.get("data_root"), channel=channel
    )
    if tuple(xt.shape[1:]) != tuple(config["input_shape"]) and int(np.prod(xt.shape[1:])) != int(
        np.prod(config["input_shape"])
    ):
        raise ValueError(
            f"chainrule evaluate: {run_dir}/config.json says input_shape "
            f"{config['input_shape']} but the {config['data']} test set has "
            f"samples of shape {list(xt.shape[1:])}"
        )
    prep = Standardize(per_channel=channel)
    prep_path = os.path.join(run_dir, "preprocess.safetensors")
    try:
        prep.load_state_dict(load(prep_path))
        xte = prep.transform(xt).astype(np.float32)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(
            f"chainrule evaluate: {prep_path} is not a valid preprocessing state: {exc}"
        ) from None
    model = build_model(
        config["model"],
        tuple(config["input_shape"]),
        config["num_classes"],
        config["hidden"],
        config.get("dropout", 0.0),
    )
    model.load_state_dict(state)
    res = evaluate(model, F.cross_entropy, _loader(xte, yt, 1000, False))
    out = {"loss": res["loss"], "acc": res["acc"], "n": len(yt)}
    if verbose:
        logits = predict(model, _loader(xte, yt, 1000, False))
        cm = confusion_matrix(logits, yt, num_classes=config["num_classes"])
        print(f"{run_dir}: {config['model']} on {config['data']} test set ({len(yt)} samples)")
        print(f"test loss {res['loss']:.4f}  test accuracy {100 * res['acc']:.2f}%")
        print(
            "per-class accuracy: "
            + "  ".join(
                f"{c}:{100 * cm[i, i] / max(cm[i].sum(), 1):.0f}%" for i, c in enumerate(classes)
            )
        )
    return out
