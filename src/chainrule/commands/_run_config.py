"""Checking the settings of a training job and the ``config.json`` of a run directory.

Two kinds of untrusted input reach the training jobs: command-line numbers (``--lr inf``,
``--val-fraction 1.5``, ``--seed -1``) and a run directory's ``config.json``, which
``chainrule evaluate`` uses to rebuild a model. A hostile config (``"hidden": [10**9]``)
would make it allocate hundreds of GiB before any weight is read, so every field is checked
against sane bounds *and* against the shapes stored in the weights file before a model is
built. Errors are ``ValueError`` with a message naming the setting or file.
"""

from __future__ import annotations

import json
import math
import os
import stat
from typing import Any

from ..models import list_models

__all__ = ["MAX_CLASSES", "check_mlp_weights", "read_run_config", "validate_train_config"]

MAX_CLASSES = 10_000
MAX_WIDTH = 65_536
MAX_LAYERS = 64
MAX_INPUT_ELEMENTS = 10_000_000
MAX_CONFIG_BYTES = 1 << 20
_NUMBERS = (
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "momentum",
    "val_fraction",
    "dropout",
    "seed",
)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_train_config(cfg: Any, who: str = "chainrule train") -> None:
    """Check every numeric setting of a :class:`~chainrule.commands._classifier.TrainConfig`.

    Raises:
        ValueError: naming the flag, the value received and what is valid.
    """

    def bad(flag: str, value: Any, valid: str) -> ValueError:
        return ValueError(f"{who}: --{flag} must be {valid}, got {value!r}")

    for name in _NUMBERS:
        value = getattr(cfg, name)
        if not _is_real(value) or not math.isfinite(value):
            raise bad(name.replace("_", "-"), value, "a finite number")
    if not _is_int(cfg.epochs) or cfg.epochs < 1:
        raise bad("epochs", cfg.epochs, "an integer >= 1")
    if not _is_int(cfg.batch_size) or cfg.batch_size < 1:
        raise bad("batch-size", cfg.batch_size, "an integer >= 1")
    if cfg.lr <= 0:
        raise bad("lr", cfg.lr, "a finite number > 0")
    if cfg.weight_decay < 0:
        raise bad("weight-decay", cfg.weight_decay, "a finite number >= 0")
    if not 0 <= cfg.momentum < 1:
        raise bad("momentum", cfg.momentum, "in [0, 1)")
    if not 0 < cfg.val_fraction < 1:
        raise bad("val-fraction", cfg.val_fraction, "strictly between 0 and 1")
    if not 0 <= cfg.dropout < 1:
        raise bad("dropout", cfg.dropout, "in [0, 1)")
    if not _is_int(cfg.seed) or not 0 <= cfg.seed < 2**63:
        raise bad("seed", cfg.seed, "an integer in [0, 2**63)")
    if cfg.patience is not None and (not _is_int(cfg.patience) or cfg.patience < 1):
        raise bad("patience", cfg.patience, "an integer >= 1 (omit it to disable early stopping)")
    if cfg.limit_train is not None and (not _is_int(cfg.limit_train) or cfg.limit_train < 1):
        raise bad("limit-train", cfg.limit_train, "an integer >= 1")
    _check_hidden(cfg.hidden, who)
    out = os.fspath(cfg.out)
    if not out or (os.path.exists(out) and not os.path.isdir(out)):
        raise bad(
            "out",
            out,
            "a directory path (it exists and is not a directory)"
            if out
            else "a non-empty directory path",
        )


def _check_hidden(hidden: Any, who: str) -> None:
    ok = (
        isinstance(hidden, (list, tuple))
        and len(hidden) <= MAX_LAYERS
        and all(_is_int(h) and 1 <= h <= MAX_WIDTH for h in hidden)
    )
    if not ok:
        raise ValueError(
            f"{who}: hidden layer sizes must be at most {MAX_LAYERS} integers in "
            f"[1, {MAX_WIDTH}], got {str(hidden)[:80]}"
        )


def _read_json(path: str, who: str) -> Any:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{who}: {path} not found; pass the --out directory of a finished `chainrule train` run"
        ) from None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CONFIG_BYTES:
        raise ValueError(f"{who}: {path} is not a regular file of at most {MAX_CONFIG_BYTES} bytes")
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read(MAX_CONFIG_BYTES + 1).decode("utf-8"))
    except RecursionError:
        raise ValueError(f"{who}: {path} is nested too deeply to be a run config") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{who}: {path} is not valid JSON ({exc})") from None


def read_run_config(
    run_dir: str, datasets: tuple[str, ...], who: str = "chainrule evaluate"
) -> dict:
    """The run's ``config.json``, with every field ``evaluate`` uses checked.

    Raises:
        FileNotFoundError: no ``config.json`` in ``run_dir``.
        ValueError: the file is corrupt, misses a key, or holds an out-of-range value.
    """
    path = os.path.join(run_dir, "config.json")
    config = _read_json(path, who)
    if not isinstance(config, dict):
        raise ValueError(f"{who}: {path} must hold a JSON object, got {type(config).__name__}")
    missing = [
        k for k in ("data", "model", "input_shape", "num_classes", "hidden") if k not in config
    ]
    if missing:
        raise ValueError(
            f"{who}: {path} lacks {', '.join(missing)}; it was not written by `chainrule train`"
        )

    def bad(key: str, valid: str) -> ValueError:
        return ValueError(
            f"{who}: {path}: {key!r} must be {valid}, got {str(config.get(key))[:80]}"
        )

    if config["data"] not in datasets:
        raise bad("data", f"one of {', '.join(datasets)}")
    if config["model"] != "mlp" and config["model"] not in list_models():
        raise bad("model", "'mlp' or a cr.models name")
    shape = config["input_shape"]
    if not (
        isinstance(shape, list)
        and 1 <= len(shape) <= 4
        and all(_is_int(d) and 1 <= d <= MAX_INPUT_ELEMENTS for d in shape)
        and math.prod(shape) <= MAX_INPUT_ELEMENTS
    ):
        raise bad(
            "input_shape",
            f"1 to 4 positive integers with at most {MAX_INPUT_ELEMENTS} elements in all",
        )
    if not _is_int(config["num_classes"]) or not 2 <= config["num_classes"] <= MAX_CLASSES:
        raise bad("num_classes", f"an integer in [2, {MAX_CLASSES}]")
    _check_hidden(config["hidden"], f"{who}: {path}")
    dropout = config.get("dropout", 0.0)
    if not _is_real(dropout) or not 0 <= dropout < 1:
        raise bad("dropout", "a number in [0, 1)")
    classes = config.get("classes")
    if classes is not None and not (
        isinstance(classes, list)
        and len(classes) == config["num_classes"]
        and all(isinstance(c, str) for c in classes)
    ):
        raise bad("classes", f"a list of {config['num_classes']} names")
    if config.get("data_root") is not None and not isinstance(config["data_root"], str):
        raise bad("data_root", "a string or null")
    return config


def check_mlp_weights(config: dict, state: Any, path: str, who: str = "chainrule evaluate") -> None:
    """Check that the MLP ``config`` describes exactly the tensors in ``state`` (loaded from
    ``path``) before the model is built."""
    if not isinstance(state, dict):
        raise ValueError(f"{who}: {path} does not hold a state dict")
    width = math.prod(config["input_shape"])
    sizes = [*config["hidden"], config["num_classes"]]
    expected = {}
    index = 0
    for i, h in enumerate(sizes):
        expected[f"{index}.weight"] = (h, width)
        expected[f"{index}.bias"] = (h,)
        width = h
        if i < len(sizes) - 1:
            index += 3 if config.get("dropout") else 2  # Linear, ReLU[, Dropout]
    found = {k: tuple(getattr(v, "shape", ())) for k, v in state.items()}
    if found != expected:
        diff = sorted(set(found.items()) ^ set(expected.items()))[:4]
        raise ValueError(
            f"{who}: {path} does not match its config.json (input_shape "
            f"{config['input_shape']}, hidden {config['hidden']}, num_classes "
            f"{config['num_classes']}); differing entries: {diff}"
        )
