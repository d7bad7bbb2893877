"""Drawing random constructions of the recurrent and attention modules (session 46; see
:mod:`.kinds_layers` for the drawers' contract): ``RNN`` / ``LSTM`` / ``GRU`` with every
constructor argument at once (``proj_size``, ``bidirectional``, ``batch_first``,
``num_layers``, ``bias``, ``nonlinearity``) called on a packed sequence (sorted or not) or a
padded batch, with or without an initial state; ``MultiheadAttention`` with ``kdim`` /
``vdim``, ``add_bias_kv`` / ``add_zero_attn`` and masks together; ``TransformerEncoderLayer``
with masks, ``norm_first``, ``bias`` and ``layer_norm_eps``.

Dropout is 0 (a random output is compared by shape only), and a mask never masks a query's
every key (:func:`.case._mask` keeps the first key).
"""

from __future__ import annotations

import numpy as np

from .kinds_layers import pick

__all__ = ["S46_DRAWERS"]


def rnn_packed(rng: np.random.Generator) -> tuple:
    """``RNN`` / ``LSTM`` / ``GRU`` with many arguments, on packed or padded input."""
    name = pick(rng, ("RNN", "LSTM", "GRU"))
    i, h = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    layers = int(rng.integers(1, 4))
    bf, bidir = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    kw: dict = {"num_layers": layers, "bias": bool(rng.random() < 0.7), "batch_first": bf,
                "bidirectional": bidir}  # fmt: skip
    if name == "RNN":
        kw["nonlinearity"] = pick(rng, ("tanh", "relu"))
    proj = 0
    if name == "LSTM" and h > 1 and rng.random() < 0.5:
        proj = int(rng.integers(1, h))
        kw["proj_size"] = proj
    seq, n = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    dirs = 2 if bidir else 1
    shape = (n, seq, i) if bf else (seq, n, i)
    if rng.random() < 0.6:
        enforce = bool(rng.random() < 0.5)
        lengths = [int(v) for v in rng.integers(1, seq + 1, n)]
        lengths[int(rng.integers(n))] = seq  # the padded length is the longest
        if enforce:
            lengths = sorted(lengths, reverse=True)
        inputs: list = [("packed", shape, tuple(lengths), bf, enforce)]
    else:
        inputs = [("f", shape)]
    if rng.random() < 0.5:
        hshape = (layers * dirs, n, proj or h)
        if name == "LSTM":
            inputs.append(("tuple", (("f", hshape), ("f", hshape[:-1] + (h,)))))
        else:
            inputs.append(("f", hshape))
    return name, (i, h), tuple(kw.items()), tuple(inputs)


def _mask(rng: np.random.Generator, shape: tuple) -> tuple:
    return (pick(rng, ("bmask", "fmask")), shape, pick(rng, (0.0, 0.3, 0.5)))


def mha_kv(rng: np.random.Generator) -> tuple:
    """``MultiheadAttention`` with kdim / vdim, bias_kv, zero_attn and masks together."""
    heads = int(rng.integers(1, 3))
    e = heads * int(rng.integers(1, 3))
    kd, vd = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    bf = bool(rng.random() < 0.5)
    kw = {"dropout": 0.0, "bias": bool(rng.random() < 0.7), "kdim": kd, "vdim": vd,
          "add_bias_kv": bool(rng.random() < 0.5), "add_zero_attn": bool(rng.random() < 0.5),
          "batch_first": bf}  # fmt: skip
    lq, ls, n = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))

    def shape(length: int, d: int) -> tuple:
        return (n, length, d) if bf else (length, n, d)

    # with add_bias_kv / add_zero_attn the masks get a column per added key (torch pads
    # them), so the masks here are of the given keys
    kpm = _mask(rng, (n, ls)) if rng.random() < 0.5 else ("none",)
    attn = _mask(rng, (lq, ls)) if rng.random() < 0.5 else ("none",)
    need, avg = bool(rng.random() < 0.6), bool(rng.random() < 0.5)
    inputs = (("f", shape(lq, e)), ("f", shape(ls, kd)), ("f", shape(ls, vd)), kpm,
              ("val", need), attn, ("val", avg))  # fmt: skip
    return "MultiheadAttention", (e, heads), tuple(kw.items()), inputs


def encoder_layer(rng: np.random.Generator) -> tuple:
    """``TransformerEncoderLayer`` with its options and masks (dropout 0)."""
    heads = int(rng.integers(1, 3))
    d = heads * int(rng.integers(1, 3))
    bf = bool(rng.random() < 0.5)
    kw = {"dim_feedforward": int(rng.integers(1, 5)), "dropout": 0.0, "batch_first": bf,
          "norm_first": bool(rng.random() < 0.5), "bias": bool(rng.random() < 0.6),
          "layer_norm_eps": pick(rng, (1e-5, 1e-3, 0.5)),
          "activation": pick(rng, ("relu", "gelu"))}  # fmt: skip
    n, s = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    x = (n, s, d) if bf else (s, n, d)
    sq = _mask(rng, (s, s)) if rng.random() < 0.5 else ("none",)
    kpm = _mask(rng, (n, s)) if rng.random() < 0.5 else ("none",)
    return "TransformerEncoderLayer", (d, heads), tuple(kw.items()), (("f", x), sq, kpm)


S46_DRAWERS = {"RNNPacked": rnn_packed, "MHAKdim": mha_kv, "EncoderLayerS46": encoder_layer}
