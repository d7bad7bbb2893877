"""``chainrule train``: train a classifier or a language model and write a run directory.

Examples::

    chainrule train                                   # MNIST-1D, MLP, < 1 min on 2 cores
    chainrule train --data fashion-mnist --hidden 256 128 --epochs 15
    chainrule train --data mnist1d --model <zoo name> --epochs 20
    chainrule train --data mnist1d --model gru --epochs 30       # MNIST-1D as a sequence
    chainrule train --data tiny-shakespeare --model gpt          # nanoGPT's CPU recipe
    chainrule train --data text:my.txt --model char_lstm --max-iters 1000

Classifier data sets are the names in ``DATASETS``; ``text`` (the built-in sample),
``text:PATH``, ``tiny-shakespeare`` and ``names`` train a language model (``gpt``,
``char_lstm`` or ``bigram``) with nanoGPT's loop (``chainrule.train.lm``).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys

from ..data.text import CORPORA
from ..distributed.training import is_main_process
from ..train.lm import LM_MODELS, LMConfig, run_lm_training
from ._classifier import (
    DATASETS,
    OPTIMIZERS,
    TrainConfig,
    TrainingDivergedError,
    run_training,
)
from ._run_config import validate_train_config

_D = TrainConfig()
_L = LMConfig()


def text_corpus(data: str) -> str | None:
    """The corpus a ``--data`` value names for language modelling, or None (a classifier
    data set): ``text`` -> the built-in sample, ``text:PATH`` -> PATH, a corpus name."""
    if data == "text":
        return "sample"
    if data.startswith("text:"):
        return data[5:] or "sample"
    return data if data in CORPORA else None


def _data_arg(value: str) -> str:
    if value in DATASETS or text_corpus(value) is not None:
        return value
    raise argparse.ArgumentTypeError(
        f"unknown data {value!r}: choose a data set ({', '.join(DATASETS)}) or text for a "
        f"language model (text, text:PATH, {', '.join(CORPORA)})"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model on a data set (default: MLP on MNIST-1D)",
        description="Train a classifier: load data (validation split from the training set, "
        "test set held out), standardize (fitted on train), train with progress, "
        "and write history.csv, curves.png, model.safetensors and config.json to "
        "--out.",
    )
    p.add_argument(
        "--data",
        type=_data_arg,
        default=_D.data,
        help=f"data set ({', '.join(DATASETS)}) or text for a language model "
        f"(text, text:PATH, {', '.join(CORPORA)}); default %(default)s",
    )
    p.add_argument("--data-root", default=None, help="folder holding the data files")
    p.add_argument(
        "--model",
        default=None,
        help="'mlp' (default) or a cr.models zoo name (e.g. lenet5, resnet20, gru); "
        f"for text: {', '.join(LM_MODELS)} (default gpt)",
    )
    p.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=_D.hidden,
        help="MLP hidden layer sizes (default: %(default)s)",
    )
    p.add_argument(
        "--dropout",
        type=float,
        default=None,
        help=f"dropout rate (MLP default {_D.dropout}, language models {_L.dropout})",
    )
    p.add_argument(
        "--augment",
        action="store_true",
        help="augment training images: random shift by up to 2 pixels and "
        "horizontal flip (image data sets only)",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training over the processes of an MPI launch "
        "(mpirun -n N chainrule train --distributed ...); --batch-size is the "
        "global batch, split evenly over the processes",
    )
    p.add_argument("--epochs", type=int, default=_D.epochs)
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"batch size (default {_D.batch_size}; language models {_L.batch_size})",
    )
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help=f"learning rate (default {_D.lr}; language models {_L.lr})",
    )
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=_D.optimizer)
    p.add_argument(
        "--momentum",
        type=float,
        default=_D.momentum,
        help="momentum for --optimizer momentum/nesterov",
    )
    p.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help=f"weight decay (default {_D.weight_decay}; language models "
        f"{_L.weight_decay}, AdamW on matrices only)",
    )
    p.add_argument(
        "--schedule",
        choices=("cosine", "plateau", "none"),
        default=_D.schedule,
        help="learning-rate schedule (default: %(default)s)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=None,
        help="early stopping patience on val_loss (restores the best weights)",
    )
    p.add_argument("--val-fraction", type=float, default=_D.val_fraction)
    p.add_argument(
        "--limit-train",
        type=int,
        default=None,
        help="use only this many training samples (quick runs)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"random seed (default {_D.seed}; language models {_L.seed})",
    )
    p.add_argument(
        "--tensorboard",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="log to TensorBoard (default directory OUT/tensorboard)",
    )
    lm = p.add_argument_group("language models (--data text...)")
    for flag, typ, help_ in (
        ("--block-size", int, "context length"),
        ("--n-layer", int, "layers"),
        ("--n-head", int, "attention heads"),
        ("--n-embd", int, "embedding width"),
        ("--max-iters", int, "training iterations"),
        ("--eval-interval", int, "iterations between evaluations"),
        ("--eval-iters", int, "batches per evaluation"),
        ("--warmup-iters", int, "linear warm-up iterations"),
        ("--lr-decay-iters", int, "cosine decay length (default: --max-iters)"),
        ("--min-lr", float, "learning rate at the end of the cosine"),
        ("--grad-clip", float, "clip the gradient norm (0: off)"),
        ("--beta2", float, "AdamW beta2"),
        ("--sample-tokens", int, "tokens sampled at the end (and 100 at evaluations)"),
    ):
        dest = flag[2:].replace("-", "_")
        lm.add_argument(flag, type=typ, default=None, help=f"{help_} (default {getattr(_L, dest)})")
    lm.add_argument(
        "--tokenizer",
        default=None,
        help="char (default) or bpe:<vocab size> (byte-level BPE trained on the text)",
    )
    lm.add_argument("--bias", action="store_true", help="GPT: biases in linear and norm layers")
    lm.add_argument(
        "--download",
        action="store_true",
        help="download a named corpus (checksum-verified) if it is not found",
    )
    p.add_argument("--out", default=_D.out, help="run directory (default: %(default)s)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/checkpoint.safetensors if it exists",
    )
    p.add_argument("--quiet", action="store_true", help="print only the final result")
    p.set_defaults(func=run)


def _given(args: argparse.Namespace, names: tuple) -> dict:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def run(args: argparse.Namespace) -> int:
    """Validate the flags, train, and return the exit status (2: bad input, 1: diverged)."""
    corpus = text_corpus(args.data)
    if corpus is not None:
        return _run_language_model(args, corpus)
    cfg = TrainConfig(
        data=args.data,
        model=args.model or _D.model,
        hidden=list(args.hidden),
        epochs=args.epochs,
        optimizer=args.optimizer,
        momentum=args.momentum,
        val_fraction=args.val_fraction,
        limit_train=args.limit_train,
        data_root=args.data_root,
        out=args.out,
        patience=args.patience,
        schedule=args.schedule,
        augment=args.augment,
        distributed=args.distributed,
        tensorboard=_tb_dir(args),
        **_given(args, ("batch_size", "lr", "weight_decay", "seed", "dropout")),
    )
    try:
        validate_train_config(cfg)
        results = run_training(cfg, resume=args.resume, verbose=not args.quiet)
    except TrainingDivergedError as err:
        print(err, file=sys.stderr)
        return 1
    except (ValueError, OSError, pickle.UnpicklingError) as err:
        msg = str(err)
        print(msg if msg.startswith("chainrule") else f"chainrule train: {msg}", file=sys.stderr)
        return 2
    if args.quiet and is_main_process():  # --distributed: rank 0 reports
        print(f"test accuracy {100 * results['test_acc']:.2f}%")
    return 0


def _tb_dir(args: argparse.Namespace) -> str | None:
    if args.tensorboard is None:
        return None
    return args.tensorboard or os.path.join(args.out, "tensorboard")


def _run_language_model(args: argparse.Namespace, corpus: str) -> int:
    """``--data text...``: the language-model job (``chainrule.train.lm``)."""
    if args.distributed or args.augment:
        print(
            "chainrule train: --distributed and --augment apply to classifiers, not to "
            "language models",
            file=sys.stderr,
        )
        return 2
    names = (
        "batch_size",
        "lr",
        "weight_decay",
        "seed",
        "dropout",
        "block_size",
        "n_layer",
        "n_head",
        "n_embd",
        "max_iters",
        "eval_interval",
        "eval_iters",
        "warmup_iters",
        "lr_decay_iters",
        "min_lr",
        "grad_clip",
        "beta2",
        "sample_tokens",
        "tokenizer",
    )
    cfg = LMConfig(
        data=corpus,
        model=args.model or _L.model,
        out=args.out,
        data_root=args.data_root,
        download=args.download,
        bias=args.bias,
        val_fraction=args.val_fraction,
        tensorboard=_tb_dir(args),
        **_given(args, names),
    )
    try:
        results = run_lm_training(cfg, resume=args.resume, verbose=not args.quiet)
    except FloatingPointError as err:
        print(f"chainrule train: {err} (command-line flags: --lr, --grad-clip)", file=sys.stderr)
        return 1
    except (ValueError, OSError, RuntimeError) as err:
        hint = ""
        if isinstance(err, FileNotFoundError) and corpus in CORPORA and not args.download:
            hint = " (add --download to fetch it)"
        print(f"chainrule train: {err}{hint}", file=sys.stderr)
        return 2
    if args.quiet:
        print(f"val loss {results['val_loss']:.4f} nats/token")
    return 0
