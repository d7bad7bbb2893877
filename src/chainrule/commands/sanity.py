"""``chainrule sanity``: overfit a tiny batch and gradient-check a model before training."""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from .. import models, nn
from ..autograd.tensor import Tensor
from ..data.datasets.mnist import MNIST, FashionMNIST
from ..data.datasets.mnist1d import MNIST1D
from ..diagnostics.sanity import gradient_check, overfit_small_batch
from ..nn import functional as F
from ..random import manual_seed
from ._validate import check_int, check_real


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sanity",
        help="overfit a tiny batch and gradient-check a model",
        description="The first test to run on a new model: train it on a few (<30) examples "
        "until the loss is ~0 and accuracy 100%, and compare backprop gradients "
        "with finite differences.",
    )
    p.add_argument("--model", default="mlp", help="mlp, or a cr.models name (lenet5, cnn1d...)")
    p.add_argument(
        "--data", default="mnist1d", choices=["mnist1d", "mnist", "fashion-mnist", "random"]
    )
    p.add_argument("--examples", type=int, default=20)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-gradcheck", action="store_true")
    p.set_defaults(func=run)


def _batch(name: str, n: int, seed: int, model: str = "mlp"):
    if name == "random":
        rng = np.random.default_rng(seed)
        shape = (n, 1, 40) if model in ("mlp", "cnn1d") else (n, 1, 28, 28)
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 10, n)
    elif name == "mnist1d":
        ds = MNIST1D(train=True)
        x, y = ds.data[:n, None, :], ds.targets[:n]
    else:
        ds = (FashionMNIST if name == "fashion-mnist" else MNIST)(train=True)
        x = (np.asarray(ds.data[:n], dtype=np.float32) / 255.0)[:, None]
        y = np.asarray(ds.targets[:n])
    return (
        Tensor._new(np.ascontiguousarray(x, dtype=np.float32)),
        Tensor._new(np.asarray(y, np.int64)),
    )


def _model(name: str, x_shape: tuple):
    if name == "mlp":
        d = math.prod(x_shape[1:])
        return nn.Sequential(nn.Flatten(), nn.Linear(d, 128), nn.ReLU(), nn.Linear(128, 10))

    kwargs = {"num_classes": 10, "in_channels": x_shape[1]}
    if len(x_shape) >= 3:
        kwargs["input_size"] = x_shape[-1]
    try:
        return models.get_model(name, **kwargs)
    except TypeError:
        return models.get_model(name, num_classes=10)


def run(args: argparse.Namespace) -> int:
    try:
        check_int("--examples", args.examples, 1, 10_000)
        check_int("--steps", args.steps, 1, 1_000_000)
        check_real("--lr", args.lr, 0.0, low_open=True)
        check_int("--seed", args.seed, 0, 2**63 - 1)
    except ValueError as err:
        print(f"chainrule sanity: {err}", file=sys.stderr)
        return 2
    manual_seed(args.seed)
    try:
        x, y = _batch(args.data, args.examples, args.seed, args.model)
        model = _model(args.model, tuple(x.shape))
    except (RuntimeError, KeyError, ValueError) as err:
        print(f"chainrule sanity: {err}", file=sys.stderr)
        return 2
    print(f"model {args.model} on {args.examples} {args.data} examples, input {tuple(x.shape)}")
    try:
        model(x[:1])
    except ValueError as err:
        print(
            f"chainrule sanity: model {args.model!r} does not accept {args.data} input of "
            f"shape {tuple(x.shape)}: {err}",
            file=sys.stderr,
        )
        return 2
    ok = True
    if not args.no_gradcheck:
        if hasattr(model, "eval"):
            model.eval()
        gc = gradient_check(model, (x[:4], y[:4]), F.cross_entropy, n_entries=8)
        print(gc)
        ok = gc.passed
    rep = overfit_small_batch(model, F.cross_entropy, (x, y), steps=args.steps, lr=args.lr)
    print(rep)
    return 0 if ok and rep.passed else 1
