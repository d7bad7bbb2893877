"""Drawing random constructions, session 47 (see :mod:`.kinds_layers` for the drawers'
contract): the arguments the earlier drawers take one at a time, all at once.
``ConvAllS47``: ``Conv1-3d`` with groups, dilation, a non-zero ``padding_mode`` and
``padding="same"`` (or explicit, or an asymmetric-free tuple) together; ``NormStatsS47``:
``InstanceNorm1-3d`` with ``track_running_stats`` and ``affine`` (momentum ``None``: the
cumulative average) and ``GroupNorm`` with one channel per group, on inputs of +-1 or a
constant (a variance of 0, eps alone in the root); ``DecoderS47``: ``TransformerDecoderLayer``
with ``bias=False``, ``layer_norm_eps``, ``norm_first`` and every mask, ``tgt_is_causal``
with its causal mask and ``memory_is_causal``; ``BagS47``: ``EmbeddingBag`` with empty bags,
``padding_idx``, ``max_norm`` and per-sample weights together.
"""

from __future__ import annotations

import numpy as np

from .kinds_layers import pick

__all__ = ["S47_DRAWERS"]


def conv_all(rng: np.random.Generator) -> tuple:
    """``Conv{d}d`` with groups, dilation, a padding mode and padding together."""
    d = int(rng.integers(1, 4))
    groups = int(pick(rng, (2, 3)))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    k = int(rng.integers(1, 4))
    dil = int(rng.integers(1, 3))
    modes = ("reflect", "replicate", "circular", "zeros")
    kw: dict = {"groups": groups, "dilation": dil, "bias": bool(rng.random() < 0.5),
                "padding_mode": pick(rng, modes)}  # fmt: skip
    r = rng.random()
    kw["padding"] = "same" if r < 0.4 else int(rng.integers(0, 3)) if r < 0.8 else "valid"
    if kw["padding"] != "same" and rng.random() < 0.5:
        kw["stride"] = int(rng.integers(1, 3))
    # sizes large enough for the reflect padding (a pad below the size) and the kernel
    eff = dil * (k - 1) + 1
    sizes = tuple(max(eff, 3) + int(rng.integers(0, 2)) for _ in range(d))
    lead = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
    return f"Conv{d}d", (cin, cout, k), tuple(kw.items()), (("f", lead + (cin,) + sizes),)


def norm_stats(rng: np.random.Generator) -> tuple:
    """``InstanceNorm`` tracking statistics, or ``GroupNorm`` of one channel per group, on
    +-1 or constant inputs."""
    c = int(rng.integers(1, 4))
    spec = pick(rng, ("f", "sign", "k"))
    if rng.random() < 0.5:
        d = int(rng.integers(1, 4))
        kw = {"affine": bool(rng.random() < 0.5), "track_running_stats": True,
              "momentum": pick(rng, (None, 0.1, 1.0)), "eps": pick(rng, (1e-5, 0.5))}  # fmt: skip
        lead = () if rng.random() < 0.3 else (int(rng.integers(1, 3)),)
        sizes = {1: (3,), 2: (2, 2), 3: (1, 2, 2)}[d]
        inp = (spec, lead + (c,) + sizes) + ((1.5,) if spec == "k" else ())
        return f"InstanceNorm{d}d", (c,), tuple(kw.items()), (inp,)
    kw = {"eps": pick(rng, (1e-5, 0.5)), "affine": bool(rng.random() < 0.5)}
    shape = (int(rng.integers(1, 3)), c, int(rng.integers(1, 4)))
    inp = (spec, shape) + ((-2.0,) if spec == "k" else ())
    return "GroupNorm", (c, c), tuple(kw.items()), (inp,)


def decoder(rng: np.random.Generator) -> tuple:
    """``TransformerDecoderLayer`` with its newer options and every mask."""
    heads = int(rng.integers(1, 3))
    d = heads * int(rng.integers(1, 3))
    bf = bool(rng.random() < 0.5)
    kw = {"dim_feedforward": int(rng.integers(1, 5)), "dropout": 0.0, "batch_first": bf,
          "norm_first": bool(rng.random() < 0.5), "bias": bool(rng.random() < 0.5),
          "layer_norm_eps": pick(rng, (1e-5, 0.5)),
          "activation": pick(rng, ("relu", "gelu"))}  # fmt: skip
    n, s, m = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4))

    def shape(length: int) -> tuple:
        return (n, length, d) if bf else (length, n, d)

    def mask(shape: tuple) -> tuple:
        if rng.random() < 0.4:
            return ("none",)
        return (pick(rng, ("bmask", "fmask")), shape, pick(rng, (0.0, 0.3)))

    causal = bool(rng.random() < 0.5)
    tgt_mask = ("cmask", s, pick(rng, ("bool", "float"))) if causal else mask((s, s))
    mem_causal = bool(rng.random() < 0.3) and s == m
    mem_mask = ("cmask", s, "float") if mem_causal else mask((s, m))
    inputs = (("f", shape(s)), ("f", shape(m)), tgt_mask, mem_mask, mask((n, s)), mask((n, m)),
              ("val", causal), ("val", mem_causal))  # fmt: skip
    return "TransformerDecoderLayer", (d, heads), tuple(kw.items()), inputs


def bag(rng: np.random.Generator) -> tuple:
    """``EmbeddingBag`` with empty bags, padding_idx, max_norm and per-sample weights."""
    n, dim = int(rng.integers(2, 5)), int(rng.integers(1, 3))
    mode = pick(rng, ("sum", "mean", "max"))
    ilo = bool(rng.random() < 0.5)
    kw = {"mode": mode, "padding_idx": int(rng.integers(-n, n)), "include_last_offset": ilo,
          "max_norm": pick(rng, (None, None, 1.0))}  # fmt: skip
    total = int(rng.integers(2, 6))
    offsets = [0, 0, int(rng.integers(0, total + 1)), total]
    offsets = sorted(offsets)[: 4 if ilo else int(rng.integers(2, 5))]
    if ilo:
        offsets[-1] = total
    inputs: tuple = (("i", (total,), 0, n), ("ints", tuple(offsets)))
    if mode == "sum" and rng.random() < 0.5:
        inputs += (("f", (total,)),)
    return "EmbeddingBag", (n, dim), tuple(kw.items()), inputs


S47_DRAWERS = {"ConvAllS47": conv_all, "NormStatsS47": norm_stats, "DecoderS47": decoder,
               "BagS47": bag}  # fmt: skip
