"""Drawing random constructions of the remaining families: whole Transformers and encoder
stacks, CTCLoss, MaxUnpool, ChannelShuffle, distances and AdaptiveLogSoftmaxWithLoss (see
:mod:`.kinds_layers` for the drawers' contract)."""

from __future__ import annotations

import numpy as np

from .kinds_layers import bad, batch, opt_kw, pick

__all__ = ["EXTRA_DRAWERS"]


def transformer(rng: np.random.Generator) -> tuple:
    """A random ``transformer`` construction: (name, args, kwargs, inputs)."""
    heads = int(rng.integers(1, 3))
    d = heads * int(rng.integers(1, 3))
    kw = dict(opt_kw(rng, {
        "nhead": bad(rng, heads, (0, d + 1)),
        "num_encoder_layers": int(rng.integers(0, 3)),
        "num_decoder_layers": int(rng.integers(1, 3)),
        "dim_feedforward": int(rng.integers(1, 5)), "dropout": 0.0,
        "activation": pick(rng, ("relu", "gelu")), "batch_first": bool(rng.random() < 0.5),
        "norm_first": bool(rng.random() < 0.5), "bias": bool(rng.random() < 0.5),
        "layer_norm_eps": 1e-3,
    }))  # fmt: skip
    if "nhead" not in kw and d % 8:
        kw["nhead"] = heads  # the default nhead=8 divides no small d_model
    kw["d_model"] = d
    n, s, t = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    bf = kw.get("batch_first", False)
    src, tgt = ((n, s, d), (n, t, d)) if bf else ((s, n, d), (t, n, d))
    return "Transformer", (), tuple(kw.items()), (("f", src), ("f", tgt))


def ctc(rng: np.random.Generator) -> tuple:
    """A random ``ctc`` construction: (name, args, kwargs, inputs)."""
    c = int(rng.integers(2, 5))
    kw = dict(opt_kw(rng, {"blank": bad(rng, int(rng.integers(0, c)), (c, -1)),
                           "reduction": pick(rng, ("mean", "sum", "none")),
                           "zero_infinity": bool(rng.random() < 0.5)}))  # fmt: skip
    blank = kw.get("blank", 0)
    n, t = int(rng.integers(1, 3)), int(rng.integers(2, 6))
    lens = tuple(int(rng.integers(0, t // 2 + 1)) for _ in range(n))
    smax = max(max(lens), 1)
    labels = [v for v in range(c) if v != blank] or [0]
    tgt = tuple(tuple(int(pick(rng, labels)) for _ in range(smax)) for _ in range(n))
    in_lens = tuple(int(rng.integers(max(1, t - 2), t + 1)) for _ in range(n))
    # normalised log-probabilities: PyTorch's CTC gradient assumes them (its backward is
    # the gradient through a log_softmax), as chainrule's
    return "CTCLoss", (), tuple(kw.items()), (
        ("logp", (t, n, c)), ("ints", tgt), ("ints", in_lens), ("ints", lens),
    )  # fmt: skip


def channel_shuffle(rng: np.random.Generator) -> tuple:
    """A random ``channel_shuffle`` construction: (name, args, kwargs, inputs)."""
    g = int(rng.integers(1, 4))
    c = g * int(rng.integers(1, 3))
    shape = (int(rng.integers(1, 3)), c) + batch(rng, 2)
    return "ChannelShuffle", (bad(rng, g, (0, c + 1)),), (), (("f", shape),)


def distance(rng: np.random.Generator) -> tuple:
    """A random ``distance`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, ("PairwiseDistance", "CosineSimilarity"))
    if name == "PairwiseDistance":
        items = {"p": pick(rng, (2.0, 1.0, 3.0, 0.5)), "eps": pick(rng, (1e-6, 0.1)),
                 "keepdim": bool(rng.random() < 0.5)}  # fmt: skip
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 4)))
    else:
        items = {"dim": pick(rng, (1, 0, -1)), "eps": pick(rng, (1e-8, 0.1))}
        d = (int(rng.integers(1, 3)), int(rng.integers(1, 4)))
    return name, (), tuple(opt_kw(rng, items)), (("f", d), ("f", d))


def max_unpool(rng: np.random.Generator) -> tuple:
    """A random ``max_unpool`` construction: (name, args, kwargs, inputs)."""
    d = int(rng.integers(1, 4))
    k = int(rng.integers(1, 3))
    kw = opt_kw(rng, {"stride": pick(rng, (None, 1, 2)), "padding": 0})
    stride = dict(kw).get("stride") or k
    sizes = tuple(int(v) for v in rng.integers(1, 3, d))
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + sizes
    # indices: each input element's position inside its own window of the output (distinct)
    inputs = (("f", shape), ("unpool", shape, k, stride))
    return f"MaxUnpool{d}d", (bad(rng, k, (0,)),), tuple(kw), inputs


def adaptive_log_softmax(rng: np.random.Generator) -> tuple:
    """A random ``adaptive_log_softmax`` construction: (name, args, kwargs, inputs)."""
    n_classes = int(rng.integers(4, 9))
    cut = sorted({int(v) for v in rng.integers(1, n_classes, int(rng.integers(1, 3)))})
    feats = int(rng.integers(2, 5))
    kw = opt_kw(
        rng, {"div_value": pick(rng, (4.0, 2.0, 1.0)), "head_bias": bool(rng.random() < 0.5)}
    )
    cut = bad(rng, cut, ([n_classes], [2, 2], [0]))
    n = int(rng.integers(1, 4))
    return "AdaptiveLogSoftmaxWithLoss", (feats, n_classes, cut), tuple(kw), (
        ("f", (n, feats)), ("i", (n,), 0, n_classes),
    )  # fmt: skip


def encoder_stack(rng: np.random.Generator) -> tuple:
    """A random ``encoder_stack`` construction: (name, args, kwargs, inputs)."""
    heads = int(rng.integers(1, 3))
    d = heads * int(rng.integers(1, 3))
    layer = ("layer", d, heads, bool(rng.random() < 0.5), bool(rng.random() < 0.5))
    kw = opt_kw(rng, {"norm": ("norm", d), "enable_nested_tensor": False})
    n, s = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    x = (n, s, d) if layer[3] else (s, n, d)
    return "TransformerEncoder", (layer, bad(rng, int(rng.integers(1, 3)), (0,))), tuple(kw), (
        ("f", x),
    )  # fmt: skip


EXTRA_DRAWERS = {
    "Transformer": transformer,
    "CTC": ctc,
    "ChannelShuffle": channel_shuffle,
    "Distance": distance,
    "MaxUnpool": max_unpool,
    "AdaptiveLogSoftmax": adaptive_log_softmax,
    "TransformerEncoder": encoder_stack,
}
