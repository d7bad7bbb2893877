"""``chainrule train``: train a classifier end to end and write a run directory.

Examples::

    chainrule train                                   # MNIST-1D, MLP, < 1 min on 2 cores
    chainrule train --data fashion-mnist --hidden 256 128 --epochs 15
    chainrule train --data mnist1d --model <zoo name> --epochs 20
"""
from __future__ import annotations

import argparse

from ..train.job import DATASETS, OPTIMIZERS, TrainConfig

_D = TrainConfig()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="train a model on a data set (default: MLP on MNIST-1D)",
        description="Train a classifier: load data (validation split from the training set, "
                    "test set held out), standardize (fitted on train), train with progress, "
                    "and write history.csv, curves.png, model.safetensors and config.json to "
                    "--out.")
    p.add_argument("--data", choices=DATASETS, default=_D.data, help="data set")
    p.add_argument("--data-root", default=None, help="folder holding the data files")
    p.add_argument("--model", default=_D.model,
                   help="'mlp' or a cr.models zoo name (e.g. lenet5, resnet20)")
    p.add_argument("--hidden", type=int, nargs="+", default=_D.hidden,
                   help="MLP hidden layer sizes (default: %(default)s)")
    p.add_argument("--dropout", type=float, default=_D.dropout, help="MLP dropout rate")
    p.add_argument("--augment", action="store_true",
                   help="augment training images: random shift by up to 2 pixels and "
                        "horizontal flip (image data sets only)")
    p.add_argument("--epochs", type=int, default=_D.epochs)
    p.add_argument("--batch-size", type=int, default=_D.batch_size)
    p.add_argument("--lr", type=float, default=_D.lr, help="learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=_D.optimizer)
    p.add_argument("--momentum", type=float, default=_D.momentum,
                   help="momentum for --optimizer momentum/nesterov")
    p.add_argument("--weight-decay", type=float, default=_D.weight_decay)
    p.add_argument("--schedule", choices=("cosine", "plateau", "none"), default=_D.schedule,
                   help="learning-rate schedule (default: %(default)s)")
    p.add_argument("--patience", type=int, default=None,
                   help="early stopping patience on val_loss (restores the best weights)")
    p.add_argument("--val-fraction", type=float, default=_D.val_fraction)
    p.add_argument("--limit-train", type=int, default=None,
                   help="use only this many training samples (quick runs)")
    p.add_argument("--seed", type=int, default=_D.seed)
    p.add_argument("--out", default=_D.out, help="run directory (default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.safetensors if it exists")
    p.add_argument("--quiet", action="store_true", help="print only the final result")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train.job import run_training

    if args.epochs < 1 or args.batch_size < 1:
        raise SystemExit("chainrule train: --epochs and --batch-size must be >= 1")
    cfg = TrainConfig(data=args.data, model=args.model, hidden=list(args.hidden),
                      epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      optimizer=args.optimizer, weight_decay=args.weight_decay,
                      momentum=args.momentum, val_fraction=args.val_fraction,
                      limit_train=args.limit_train, seed=args.seed, data_root=args.data_root,
                      out=args.out, patience=args.patience, schedule=args.schedule,
                      dropout=args.dropout, augment=args.augment)
    results = run_training(cfg, resume=args.resume, verbose=not args.quiet)
    if args.quiet:
        print(f"test accuracy {100 * results['test_acc']:.2f}%")
    return 0
