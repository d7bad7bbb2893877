"""Language-model training (the ``chainrule train --data text:...`` job), nanoGPT's loop.

Iteration-based rather than epoch-based: each step draws ``batch_size`` random windows of
``block_size`` tokens, and every ``eval_interval`` steps the mean loss over ``eval_iters``
batches of each split is printed (nats per token), with a short sample. The learning rate
warms up linearly for ``warmup_iters`` steps, then follows a cosine down to ``min_lr`` at
``lr_decay_iters``. AdamW decays matrices only (embeddings and weights), never biases and
norm gains, as in GPT-2's recipe. Gradients are clipped to ``grad_clip`` (0: off).

A run directory holds ``config.json`` (settings + tokenizer + results), ``model.safetensors``,
``checkpoint.safetensors`` (written at each evaluation; ``resume=True`` continues exactly:
the same batches, dropout masks and updates as an uninterrupted run), ``history.csv`` and
``samples.txt``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..data.text import ByteBPETokenizer, CharTokenizer, TokenData, load_corpus, split_tokens
from ..data.text.tokenizers import load_tokenizer
from ..io import load, save
from ..models.registry import get_model
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..optim import AdamW
from ..random import Generator, manual_seed
from ..utils.tensorboard import SummaryWriter
from .checkpoint import load_checkpoint, save_checkpoint

__all__ = [
    "LM_MODELS",
    "LMConfig",
    "build_language_model",
    "lr_at",
    "run_lm_training",
    "sample_from_run",
]

LM_MODELS = ("gpt", "char_lstm", "bigram")


@dataclass
class LMConfig:
    """Settings of a language-model run. The defaults are nanoGPT's Shakespeare-char CPU
    recipe (4 layers, 4 heads, 128-dim, block 64, batch 12, 2 000 iterations, AdamW 1e-3
    with warm-up and cosine decay to 1e-4, beta2 0.99, no dropout)."""

    data: str = "sample"  # "sample", "tiny-shakespeare", "names" or a path to a text file
    model: str = "gpt"
    tokenizer: str = "char"  # "char" or "bpe:<vocab size>"
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False
    batch_size: int = 12
    max_iters: int = 2000
    eval_interval: int = 250
    eval_iters: int = 20
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int | None = None  # default: max_iters
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    val_fraction: float = 0.1
    sample_tokens: int = 200
    seed: int = 1337
    out: str = "runs/lm"
    data_root: str | None = None
    download: bool = False
    tensorboard: str | None = None  # TensorBoard log directory (None: off)


def lr_at(it: int, cfg: LMConfig) -> float:
    """Learning rate at step ``it``: linear warm-up, cosine decay to ``min_lr``, then flat."""
    decay_iters = cfg.lr_decay_iters or cfg.max_iters
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / (cfg.warmup_iters + 1)
    if it > decay_iters:
        return cfg.min_lr
    ratio = (it - cfg.warmup_iters) / max(decay_iters - cfg.warmup_iters, 1)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (cfg.lr - cfg.min_lr)


def _tokenizer(spec: str, text: str) -> Any:
    if spec == "char":
        return CharTokenizer.from_text(text)
    if spec.startswith("bpe:") and spec[4:].isdigit():
        return ByteBPETokenizer.train(text, int(spec[4:]))
    raise ValueError(
        f"language model: tokenizer must be 'char' or 'bpe:<vocab size>', got {spec!r}"
    )


def build_language_model(cfg: LMConfig, vocab_size: int) -> nn.Module:
    """The model named by ``cfg.model`` for ``vocab_size`` tokens."""
    if cfg.model == "gpt":
        return get_model(
            "gpt",
            vocab_size=vocab_size,
            block_size=cfg.block_size,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
            dropout=cfg.dropout,
            bias=cfg.bias,
        )
    if cfg.model == "char_lstm":
        return get_model(
            "char_lstm",
            vocab_size=vocab_size,
            embedding_dim=cfg.n_embd,
            hidden_size=cfg.n_embd,
            num_layers=cfg.n_layer,
            dropout=cfg.dropout,
        )
    if cfg.model == "bigram":
        return get_model("bigram", vocab_size=vocab_size)
    raise ValueError(
        f"language model: unknown model {cfg.model!r}; choose from {', '.join(LM_MODELS)}"
    )


def _optimizer(model: nn.Module, cfg: LMConfig) -> AdamW:
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return AdamW([g for g in groups if g["params"]], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def _loss(model: nn.Module, x: Any, y: Any) -> Any:
    logits = model(x)
    if isinstance(logits, tuple):
        logits = logits[0]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _estimate(model: nn.Module, data: TokenData, cfg: LMConfig, it: int) -> dict[str, float]:
    """Mean loss over ``eval_iters`` batches per split, drawn from a generator of their own
    (so evaluation never shifts the training batches)."""
    out = {}
    model.eval()
    with no_grad():
        for split in ("train", "val"):
            if len(data.splits[split]) <= cfg.block_size:
                continue
            g = Generator().manual_seed(cfg.seed * 1_000_003 + it * 2 + (split == "val"))
            losses = [
                float(_loss(model, *data.get_batch(split, cfg.batch_size, g)).item())
                for _ in range(cfg.eval_iters)
            ]
            out[split] = float(np.mean(losses))
    model.train()
    return out


def _sample(
    model: nn.Module,
    tok: Any,
    cfg: LMConfig,
    seed: int,
    prompt: str = "\n",
    tokens: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> str:
    try:
        start = tok.encode(prompt) or [0]
    except ValueError:
        start = [0]
    out = model.generate(
        np.array([start], dtype=np.int64),
        cfg.sample_tokens if tokens is None else tokens,
        temperature=temperature,
        top_k=top_k,
        generator=Generator().manual_seed(seed),
    )
    return tok.decode(out._data[0])


def _validate(cfg: LMConfig) -> None:
    ints = {
        "block_size": 1,
        "n_layer": 1,
        "n_head": 1,
        "n_embd": 1,
        "batch_size": 1,
        "max_iters": 0,
        "eval_interval": 1,
        "eval_iters": 1,
        "warmup_iters": 0,
        "sample_tokens": 0,
    }
    for name, low in ints.items():
        v = getattr(cfg, name)
        if not isinstance(v, int) or v < low:
            raise ValueError(f"language model: {name} must be an int >= {low}, got {v!r}")
    for name in ("lr", "min_lr", "weight_decay", "grad_clip", "dropout"):
        v = getattr(cfg, name)
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"language model: {name} must be a finite number >= 0, got {v!r}")
    if (
        cfg.dropout >= 1
        or not 0 <= cfg.val_fraction < 1
        or not 0 <= cfg.beta2 < 1
        or not 0 <= cfg.beta1 < 1
    ):
        raise ValueError("language model: dropout, val_fraction, beta1 and beta2 must be in [0, 1)")
    if cfg.model == "gpt" and cfg.n_embd % cfg.n_head:
        raise ValueError(
            f"language model: n_embd ({cfg.n_embd}) must be divisible by n_head ({cfg.n_head})"
        )


def run_lm_training(cfg: LMConfig, resume: bool = False, verbose: bool = True) -> dict:
    """Train a language model and write its run directory; returns the results dict.

    Raises:
        FloatingPointError: the loss became NaN or infinite (nothing is saved as final).
    """
    _validate(cfg)
    start = time.perf_counter()
    os.makedirs(cfg.out, exist_ok=True)
    manual_seed(cfg.seed)
    text = load_corpus(cfg.data, cfg.data_root, cfg.download)
    tok = _tokenizer(cfg.tokenizer, text)
    data = TokenData(
        *split_tokens(np.asarray(tok.encode(text), dtype=np.int64), cfg.val_fraction),
        block_size=cfg.block_size,
    )
    model = build_language_model(cfg, tok.vocab_size)
    opt = _optimizer(model, cfg)
    batches = Generator().manual_seed(cfg.seed + 1)
    n_params = int(sum(p.numel() for p in model.parameters()))
    ckpt = os.path.join(cfg.out, "checkpoint.safetensors")
    history: list[dict] = []
    first = 0
    if resume and os.path.exists(ckpt):
        state = load_checkpoint(ckpt, model, opt, generators=[batches])
        first, history = int(state["epoch"]), list(state["extra"].get("history", []))
        if verbose:
            print(f"resumed from {ckpt} at iteration {first}")
    if verbose:
        print(
            f"data {cfg.data}: {len(data.splits['train']):,} train / "
            f"{len(data.splits['val']):,} val tokens, vocabulary {tok.vocab_size} "
            f"({cfg.tokenizer})"
        )
        print(
            f"model {cfg.model}: {n_params:,} parameters; {cfg.max_iters} iterations of "
            f"{cfg.batch_size} x {cfg.block_size} tokens"
        )
    writer = SummaryWriter(cfg.tensorboard) if cfg.tensorboard else None
    model.train()
    for it in range(first, cfg.max_iters + 1):
        if (it % cfg.eval_interval == 0 or it == cfg.max_iters) and not (
            it == first and resume and history
        ):
            losses = _estimate(model, data, cfg, it)
            row = {
                "iter": it,
                "train_loss": losses.get("train", float("nan")),
                "val_loss": losses.get("val", float("nan")),
                "lr": lr_at(it, cfg),
                "seconds": time.perf_counter() - start,
            }
            history.append(row)
            if writer is not None:
                writer.add_scalar("loss/train", row["train_loss"], it)
                writer.add_scalar("loss/val", row["val_loss"], it)
                writer.add_scalar("lr", row["lr"], it)
                writer.flush()
            if verbose:
                print(
                    f"iter {it}: train loss {row['train_loss']:.4f}, val loss "
                    f"{row['val_loss']:.4f} (nats/token), lr {row['lr']:.2e}, "
                    f"{row['seconds']:.1f} s"
                )
                if cfg.sample_tokens:
                    text = _sample(
                        model, tok, cfg, cfg.seed + it, tokens=min(cfg.sample_tokens, 100)
                    )
                    print("  sample: " + text.strip().replace("\n", " / "))
            save_checkpoint(
                ckpt, model, opt, epoch=it, generators=[batches], extra={"history": history}
            )
        if it == cfg.max_iters:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(it, cfg)
        x, y = data.get_batch("train", cfg.batch_size, batches)
        loss = _loss(model, x, y)
        if not math.isfinite(float(loss.item())):
            raise FloatingPointError(
                f"language model: the loss became {float(loss.item())} at "
                f"iteration {it}; lower the learning rate (lr) or set "
                "grad_clip. The last good checkpoint is "
                f"{ckpt}"
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
    if writer is not None:
        writer.close()
    elapsed = time.perf_counter() - start
    sample = _sample(model, tok, cfg, cfg.seed, tokens=cfg.sample_tokens)
    save(model.state_dict(), os.path.join(cfg.out, "model.safetensors"))
    tok.save(os.path.join(cfg.out, "tokenizer.json"))
    _write_history(os.path.join(cfg.out, "history.csv"), history)
    with open(os.path.join(cfg.out, "samples.txt"), "w", encoding="utf-8") as fh:
        fh.write(sample)
    final = history[-1] if history else {}
    results = {
        "train_loss": final.get("train_loss"),
        "val_loss": final.get("val_loss"),
        "iters": cfg.max_iters,
        "seconds": elapsed,
    }
    config = {
        **asdict(cfg),
        "kind": "language-model",
        "vocab_size": tok.vocab_size,
        "num_parameters": n_params,
        "results": results,
    }
    _write_json(os.path.join(cfg.out, "config.json"), config)
    if verbose:
        print(
            f"val loss {results['val_loss']:.4f} nats/token after {cfg.max_iters} "
            f"iterations ({elapsed:.1f} s); wrote {cfg.out}/"
        )
        print("sample:\n" + sample)
    return results


def _write_history(path: str, rows: list[dict]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["iter", "train_loss", "val_loss", "lr", "seconds"])
        w.writeheader()
        w.writerows(rows)


def _write_json(path: str, obj: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2)
    os.replace(tmp, path)


def sample_from_run(
    run_dir: str,
    prompt: str = "\n",
    tokens: int = 300,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
) -> str:
    """Rebuild a language model from its run directory and sample ``tokens`` after ``prompt``.

    Raises:
        FileNotFoundError / ValueError: not a finished language-model run.
    """
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"sample_from_run: {path} not found; pass the out directory of a "
            "finished language-model run (run_lm_training)"
        )
    with open(path) as fh:
        try:
            raw = json.load(fh)
        except ValueError as e:
            raise ValueError(f"sample_from_run: {path} is not valid JSON ({e})") from None
    if not isinstance(raw, dict) or raw.get("kind") != "language-model":
        raise ValueError(
            f"sample_from_run: {run_dir} is not a language-model run (config.json has "
            "no kind 'language-model')"
        )
    known = {k: raw[k] for k in LMConfig.__dataclass_fields__ if k in raw}
    cfg = LMConfig(**known)
    _validate(cfg)
    tok = load_tokenizer(os.path.join(run_dir, "tokenizer.json"))
    if tok.vocab_size != raw.get("vocab_size"):
        raise ValueError(
            f"sample_from_run: {run_dir}: tokenizer.json has {tok.vocab_size} tokens but "
            f"config.json says {raw.get('vocab_size')}"
        )
    model = build_language_model(cfg, tok.vocab_size)
    model.load_state_dict(load(os.path.join(run_dir, "model.safetensors")))
    return _sample(
        model, tok, cfg, seed, prompt=prompt, tokens=tokens, temperature=temperature, top_k=top_k
    )
