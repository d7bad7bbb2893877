"""Autoregressive sampling shared by the language models, and the bigram model.

``generate_tokens`` is the loop every language model here uses for ``model.generate``: crop
the context to the model's ``block_size``, take the logits of the last position, scale by
``1/temperature``, keep the ``top_k`` largest, and draw the next token from the softmax with a
seeded ``cr.Generator``. ``BigramLanguageModel`` is the first model of a language-modelling
course: the next character depends on the current one only (a table of logits).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import host
from ..random import Generator, gen
from .registry import register_model

__all__ = ["BigramLanguageModel", "bigram", "generate_tokens"]


def _sample_next(
    logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator
) -> np.ndarray:
    """One token per row of ``logits`` (B, V), drawn from softmax(logits / temperature)."""
    logits = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.partition(logits, -top_k, axis=-1)[:, -top_k][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    logits -= logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    # torch.multinomial(probs, 1)'s draw: the largest probs / Exp(1) (with PyTorch's numbers)
    return np.argmax(probs / -np.log1p(-rng.random(probs.shape)), axis=-1)


def generate_tokens(
    model: Any,
    idx: Any,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: Generator | None = None,
    block_size: int | None = None,
) -> Tensor:
    """Extend the (B, T) int64 token tensor ``idx`` by ``max_new_tokens`` sampled tokens.

    Args:
        model: maps (B, T) token ids to (B, T, V) logits (or a tuple whose first item is).
        temperature: > 0; below 1 sharpens, above 1 flattens the distribution.
        top_k: sample only among the ``top_k`` most likely tokens (None: all).
        generator: a seeded ``cr.Generator`` for reproducible samples.
        block_size: the longest context the model accepts (default ``model.block_size``).

    Raises:
        ValueError: bad ``temperature``, ``top_k``, ``max_new_tokens`` or ``idx``.
    """
    if not temperature > 0 or not np.isfinite(temperature):
        raise ValueError(f"generate: temperature must be a finite number > 0, got {temperature}")
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"generate: top_k must be a positive int or None, got {top_k!r}")
    if not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    # token ids and sampling stay on the host (one row of logits per step comes back from
    # the GPU); the model runs where ``idx`` lives, and so does the result
    device = idx.device if isinstance(idx, Tensor) else None
    arr = host(idx._data if isinstance(idx, Tensor) else idx)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 1 or arr.dtype.kind not in "iu":
        raise ValueError(
            f"generate: idx must be a (batch, time) integer tensor with at least "
            f"one token, got shape {tuple(arr.shape)} of {arr.dtype}"
        )
    block = block_size if block_size is not None else getattr(model, "block_size", None)
    rng = gen(generator)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            out = arr.astype(np.int64)
            for _ in range(int(max_new_tokens)):
                ctx = out if block is None else out[:, -int(block) :]
                logits = model(Tensor._new(ctx) if device is None else Tensor._new(ctx).to(device))
                if isinstance(logits, tuple):
                    logits = logits[0]
                nxt = _sample_next(host(logits._data[:, -1, :]), float(temperature), top_k, rng)
                out = np.concatenate([out, nxt[:, None].astype(np.int64)], axis=1)
    finally:
        model.train(was_training)
    return Tensor._new(out) if device is None else Tensor._new(out).to(device)


class BigramLanguageModel(nn.Module):
    """Next-token logits from the current token alone: one embedding row per token.

    Shape:
        input (B, T) int64 -> logits (B, T, vocab_size).
    """

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = int(vocab_size)
        self.table = nn.Embedding(self.vocab_size, self.vocab_size)

    def forward(self, idx: Tensor) -> Tensor:
        return self.table(idx)

    def generate(
        self,
        idx: Any,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: Generator | None = None,
    ) -> Tensor:
        """Sample ``max_new_tokens`` tokens after ``idx`` (see :func:`generate_tokens`)."""
        return generate_tokens(
            self, idx, max_new_tokens, temperature, top_k, generator, block_size=1
        )


@register_model
def bigram(vocab_size: int = 65) -> BigramLanguageModel:
    """The bigram language model (``vocab_size`` x ``vocab_size`` logits)."""
    return BigramLanguageModel(vocab_size)
