"""Drawing random constructions of attention modules called with masks (session 43; see
:mod:`.kinds_layers` for the drawers' contract): ``MultiheadAttention`` with a key padding
mask, an attention mask (2-D or per head, bool or float with -inf), ``need_weights``,
``average_attn_weights`` and the ``is_causal`` hint (with a causal mask, or another mask:
PyTorch then drops the mask in one path and keeps it in the other), and
``TransformerEncoderLayer`` / ``TransformerDecoderLayer`` with their ``src``/``tgt``/
``memory`` masks and causal hints, batched or not, in train and eval mode (dropout 0).

The masks never mask a query's every key (:func:`.case._mask` keeps the first key): a row
masked whole is NaN in one of PyTorch's paths and not in the other.
"""

from __future__ import annotations

import numpy as np

from .kinds_layers import pick

__all__ = ["S43_DRAWERS"]


def _mask(rng: np.random.Generator, shape: tuple) -> tuple:
    """A bool or float attention mask spec of ``shape`` (see :func:`.case._mask`)."""
    return (pick(rng, ("bmask", "fmask")), shape, pick(rng, (0.0, 0.3, 0.5)))


def _causal(rng: np.random.Generator, n: int) -> tuple:
    """An ``(n, n)`` causal mask spec (see :func:`.case._mask`): bool, True above the
    diagonal, or float, -inf above the diagonal and 0 elsewhere."""
    return ("cmask", n, pick(rng, ("bool", "float")))


def mha_mask(rng: np.random.Generator) -> tuple:
    """``MultiheadAttention`` called with masks: (name, args, kwargs, inputs)."""
    heads = int(rng.integers(1, 3))
    e = heads * int(rng.integers(1, 3))
    bf = bool(rng.random() < 0.5)
    kw = {"dropout": 0.0, "batch_first": bf, "bias": bool(rng.random() < 0.7)}
    if rng.random() < 0.3:
        kw["add_bias_kv"] = True
    if rng.random() < 0.3:
        kw["add_zero_attn"] = True
    lq = int(rng.integers(1, 4))
    ls = lq if rng.random() < 0.5 else int(rng.integers(1, 4))
    n = int(rng.integers(1, 3))
    unbatched = rng.random() < 0.2

    def shape(length: int) -> tuple:
        if unbatched:
            return (length, e)
        return (n, length, e) if bf else (length, n, e)

    inputs: list = [("f", shape(lq)), ("f", shape(ls)), ("f", shape(ls))]
    kpm = _mask(rng, (ls,) if unbatched else (n, ls)) if rng.random() < 0.5 else ("none",)
    need = bool(rng.random() < 0.5)
    causal = bool(rng.random() < 0.3)
    f = rng.random()
    if causal and lq == ls and f < 0.6:
        attn = _causal(rng, lq)
    elif f < 0.8:
        per_head = rng.random() < 0.3 and not unbatched
        attn = _mask(rng, (n * heads, lq, ls) if per_head else (lq, ls))
    else:
        attn = ("none",)
    avg = bool(rng.random() < 0.5)
    inputs += [kpm, ("val", need), attn, ("val", avg), ("val", causal)]
    return "MultiheadAttention", (e, heads), tuple(kw.items()), tuple(inputs)


def encoder_mask(rng: np.random.Generator) -> tuple:
    """``TransformerEncoderLayer`` / ``TransformerDecoderLayer`` called with masks."""
    dec = rng.random() < 0.4
    heads = int(rng.integers(1, 3))
    d = heads * int(rng.integers(1, 3))
    bf = bool(rng.random() < 0.5)
    kw = {
        "dim_feedforward": int(rng.integers(1, 5)), "dropout": 0.0, "batch_first": bf,
        "norm_first": bool(rng.random() < 0.5), "activation": pick(rng, ("relu", "gelu")),
    }  # fmt: skip
    n, s = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    m = int(rng.integers(1, 4))
    unbatched = rng.random() < 0.2

    def shape(length: int) -> tuple:
        if unbatched:
            return (length, d)
        return (n, length, d) if bf else (length, n, d)

    def kpm(length: int) -> tuple:
        if rng.random() < 0.5:
            return ("none",)
        return _mask(rng, (length,) if unbatched else (n, length))

    causal = bool(rng.random() < 0.3)
    if causal and rng.random() < 0.7:
        sq = _causal(rng, s)
    else:
        sq = _mask(rng, (s, s)) if rng.random() < 0.6 else ("none",)
    if not dec:
        inputs = (("f", shape(s)), sq, kpm(s), ("val", causal))
        return "TransformerEncoderLayer", (d, heads), tuple(kw.items()), inputs
    mem_mask = _mask(rng, (s, m)) if rng.random() < 0.4 else ("none",)
    inputs = (("f", shape(s)), ("f", shape(m)), sq, mem_mask, kpm(s), kpm(m), ("val", causal))
    return "TransformerDecoderLayer", (d, heads), tuple(kw.items()), inputs


S43_DRAWERS = {"MHAMask": mha_mask, "EncoderMask": encoder_mask}
