"""Drawing random constructions of the recurrent, attention, dropout, resampling, folding,
flattening and activation modules (see :mod:`.kinds_layers` for the drawers' contract)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .kinds_layers import bad, batch, opt_kw, pick

__all__ = ["MORE_DRAWERS"]


def rnn(rng: np.random.Generator) -> tuple:
    """A random ``rnn`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, ("RNN", "LSTM", "GRU"))
    i, h = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    layers = int(rng.integers(1, 3))
    items: dict = {
        "num_layers": bad(rng, layers, (0, -1, 1.5)),
        "bias": bool(rng.random() < 0.5),
        "batch_first": bool(rng.random() < 0.5),
        "bidirectional": bool(rng.random() < 0.5),
        "dropout": pick(rng, (0.0, 0.0, 0.5)),
    }
    if name == "RNN":
        items["nonlinearity"] = bad(rng, pick(rng, ("tanh", "relu")), ("sigmoid",))
    proj = 0
    if name == "LSTM" and rng.random() < 0.4:
        proj = int(rng.integers(1, h + 1))
        items["proj_size"] = bad(rng, proj, (h, -1))
    kw = dict(opt_kw(rng, items))
    if rng.random() < 0.1:
        kw["dropout"] = pick(rng, (-0.1, 1.5, True))
    bf, dirs = kw.get("batch_first", False), 2 if kw.get("bidirectional") else 1
    layers = kw["num_layers"] if isinstance(kw.get("num_layers"), int) else 1
    proj = kw["proj_size"] if isinstance(kw.get("proj_size"), int) else 0
    seq, n = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    unbatched = rng.random() < 0.25
    x = (seq, i) if unbatched else ((n, seq, i) if bf else (seq, n, i))
    inputs: list = [("f", x)]
    if rng.random() < 0.4:
        hs = proj or h
        hshape = (layers * dirs, hs) if unbatched else (layers * dirs, n, hs)
        if name == "LSTM":
            cshape = hshape[:-1] + (h,)
            inputs.append(("tuple", (("f", hshape), ("f", cshape))))
        else:
            inputs.append(("f", hshape))
    return name, (i, h), tuple(kw.items()), tuple(inputs)


def rnn_cell(rng: np.random.Generator) -> tuple:
    """A random ``rnn_cell`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, ("RNNCell", "LSTMCell", "GRUCell"))
    i, h = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    items: dict = {"bias": bool(rng.random() < 0.5)}
    if name == "RNNCell":
        items["nonlinearity"] = bad(rng, pick(rng, ("tanh", "relu")), ("gelu",))
    lead = () if rng.random() < 0.3 else (int(rng.integers(1, 3)),)
    inputs: list = [("f", lead + (i,))]
    if rng.random() < 0.4:
        hh = ("f", lead + (h,))
        inputs.append(("tuple", (hh, hh)) if name == "LSTMCell" else hh)
    return name, (bad(rng, i, (0, -1)), h), tuple(opt_kw(rng, items)), tuple(inputs)


def mha(rng: np.random.Generator) -> tuple:
    """A random ``mha`` construction: (name, args, kwargs, inputs)."""
    heads = int(rng.integers(1, 3))
    e = heads * int(rng.integers(1, 3))
    kdim, vdim = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    kw = dict(opt_kw(rng, {
        "dropout": 0.0, "bias": bool(rng.random() < 0.5),
        "add_bias_kv": bool(rng.random() < 0.5), "add_zero_attn": bool(rng.random() < 0.5),
        "kdim": kdim, "vdim": vdim, "batch_first": bool(rng.random() < 0.5),
    }, 0.4))  # fmt: skip
    kd, vd = kw.get("kdim", e), kw.get("vdim", e)
    lq, ls, n = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    bf = kw.get("batch_first", False)

    def shape(length, d):
        return (n, length, d) if bf else (length, n, d)

    args = (e, bad(rng, heads, (0, e + 1)))
    inputs = (("f", shape(lq, e)), ("f", shape(ls, kd)), ("f", shape(ls, vd)))
    return "MultiheadAttention", args, tuple(kw.items()), inputs


def transformer_layer(rng: np.random.Generator) -> tuple:
    """A random ``transformer_layer`` construction: (name, args, kwargs, inputs)."""
    dec = rng.random() < 0.4
    heads = int(rng.integers(1, 3))
    d = heads * int(rng.integers(1, 3))
    kw = dict(opt_kw(rng, {
        "dim_feedforward": int(rng.integers(1, 6)), "dropout": pick(rng, (0.0, 0.1)),
        "activation": pick(rng, ("relu", "gelu")), "layer_norm_eps": 1e-3,
        "batch_first": bool(rng.random() < 0.5), "norm_first": bool(rng.random() < 0.5),
        "bias": bool(rng.random() < 0.5),
    }))  # fmt: skip
    if rng.random() < 0.05:
        kw["activation"] = "bogus"
    n, s = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    x = (n, s, d) if kw.get("batch_first") else (s, n, d)
    inputs: tuple = (("f", x),)
    if dec:
        inputs += (("f", x),)
    name = "TransformerDecoderLayer" if dec else "TransformerEncoderLayer"
    return name, (d, bad(rng, heads, (0, d + 1))), tuple(kw.items()), inputs


def dropout(rng: np.random.Generator) -> tuple:
    """A random ``dropout`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                      "FeatureAlphaDropout"))  # fmt: skip
    kw = opt_kw(rng, {"p": bad(rng, pick(rng, (0.0, 0.3, 1.0)), (-0.1, 1.5)),
                      "inplace": bool(rng.random() < 0.2)})  # fmt: skip
    nd = {"Dropout1d": pick(rng, (2, 3)), "Dropout2d": pick(rng, (3, 4)),
          "Dropout3d": pick(rng, (4, 5))}.get(name, int(rng.integers(1, 5)))  # fmt: skip
    shape = tuple(int(v) for v in rng.integers(1, 4, nd))
    inplace = dict(kw).get("inplace", False)
    return name, (), tuple(kw), (("c" if inplace else "f", shape),)


def upsample(rng: np.random.Generator) -> tuple:
    """A random ``upsample`` construction: (name, args, kwargs, inputs)."""
    d = int(rng.integers(1, 4))
    mode = pick(rng, ("nearest", "nearest-exact", {1: "linear", 2: "bilinear", 3: "trilinear"}[d],
                      "bicubic" if d == 2 else "nearest"))  # fmt: skip
    kw: dict = {"mode": bad(rng, mode, ("bogus", "area"))}
    if rng.random() < 0.5:
        kw["size"] = pick(
            rng, (int(rng.integers(1, 6)), tuple(int(v) for v in rng.integers(1, 6, d)))
        )
    else:
        kw["scale_factor"] = pick(
            rng, (2, 1.5, 0.5, tuple(float(v) for v in rng.uniform(0.5, 2.5, d)))
        )
        if rng.random() < 0.3:
            kw["recompute_scale_factor"] = bool(rng.random() < 0.5)
    if "linear" in mode or mode == "bicubic" or rng.random() < 0.1:
        if rng.random() < 0.6:
            kw["align_corners"] = bool(rng.random() < 0.5)
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + tuple(
        int(v) for v in rng.integers(1, 5, d)
    )
    return "Upsample", (), tuple(kw.items()), (("f", shape),)


def pixel_shuffle(rng: np.random.Generator) -> tuple:
    """A random ``pixel_shuffle`` construction: (name, args, kwargs, inputs)."""
    r = int(rng.integers(1, 4))
    if rng.random() < 0.5:
        c = int(rng.integers(1, 3)) * r * r
        shape = batch(rng, 1) + (c, int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        return "PixelShuffle", (bad(rng, r, (0, -1)),), (), (("f", shape),)
    shape = batch(rng, 1) + (int(rng.integers(1, 3)), r * int(rng.integers(1, 3)), r)
    return "PixelUnshuffle", (bad(rng, r, (0, -1)),), (), (("f", shape),)


def fold(rng: np.random.Generator) -> tuple:
    """A random ``fold`` construction: (name, args, kwargs, inputs)."""
    k = pick(rng, (1, 2, (2, 1), (1, 3)))
    kw = dict(opt_kw(rng, {"dilation": pick(rng, (1, 2, (1, 2))),
                           "padding": pick(rng, (0, 1, (1, 0))),
                           "stride": pick(rng, (1, 2, (2, 1)))}))  # fmt: skip
    kw["kernel_size"] = bad(rng, k, (0, (1, 2, 3)))
    h, w = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    if rng.random() < 0.5:
        return "Unfold", (), tuple(kw.items()), (("f", (n, c, h, w)),)
    kh, kwid = (k, k) if isinstance(k, int) else k
    dil = kw.get("dilation", 1)
    dh, dw = (dil, dil) if isinstance(dil, int) else dil
    pad = kw.get("padding", 0)
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    st = kw.get("stride", 1)
    sh, sw = (st, st) if isinstance(st, int) else st
    lh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    lw = (w + 2 * pw - dw * (kwid - 1) - 1) // sw + 1
    blocks = max(lh, 1) * max(lw, 1) + (1 if rng.random() < 0.05 else 0)
    x = batch(rng, 0) + ((n,) if rng.random() < 0.7 else ()) + (c * kh * kwid, blocks)
    kw["output_size"] = pick(rng, ((h, w), (h, w))) if rng.random() < 0.9 else h
    return "Fold", (), tuple(kw.items()), (("f", x),)


def flatten(rng: np.random.Generator) -> tuple:
    """A random ``flatten`` construction: (name, args, kwargs, inputs)."""
    shape = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(1, 5))))
    nd = len(shape)
    if rng.random() < 0.5:
        kw = opt_kw(
            rng, {"start_dim": int(rng.integers(-nd, nd)), "end_dim": int(rng.integers(-nd, nd))}
        )
        return "Flatten", (), tuple(kw), (("f", shape),)
    dim = int(rng.integers(-nd, nd))
    size = shape[dim]
    sizes: Any = pick(rng, ((size,), (size, 1), (1, size), (-1,), (size, -1)))
    if rng.random() < 0.3:
        sizes = list(sizes)
    return "Unflatten", (dim, bad(rng, sizes, ((size + 1,), (-1, -1)))), (), (("f", shape),)


_ACT = {
    "ELU": lambda rng: {"alpha": pick(rng, (0.5, 2.0))},
    "CELU": lambda rng: {"alpha": bad(rng, pick(rng, (0.5, 2.0)), (0.0,))},
    "SELU": lambda rng: {},
    "GELU": lambda rng: {"approximate": bad(rng, pick(rng, ("none", "tanh")), ("bogus",))},
    "Hardtanh": lambda rng: {"min_val": pick(rng, (-1.0, -0.5)), "max_val": bad(rng, 0.7, (-2.0,))},
    "LeakyReLU": lambda rng: {"negative_slope": pick(rng, (0.1, -0.5, 2.0))},
    "PReLU": lambda rng: {"num_parameters": pick(rng, (1, 2)), "init": pick(rng, (0.25, -0.3))},
    "Softplus": lambda rng: {"beta": pick(rng, (0.5, 2.0)), "threshold": pick(rng, (0.5, 20.0))},
    "Threshold": lambda rng: {"threshold": 0.1, "value": -2.0},
    "Softmax": lambda rng: {"dim": pick(rng, (None, 0, -1))},
    "LogSoftmax": lambda rng: {"dim": pick(rng, (None, 0, -1))},
    "Softmin": lambda rng: {"dim": pick(rng, (None, 0, -1))},
    "GLU": lambda rng: {"dim": pick(rng, (-1, 0))},
    "Hardshrink": lambda rng: {"lambd": pick(rng, (0.3, 1.0))},
    "Softshrink": lambda rng: {"lambd": bad(rng, pick(rng, (0.3, 1.0)), (-0.5,))},
    "RReLU": lambda rng: {"lower": 0.1, "upper": pick(rng, (0.3, 0.1))},
    "ReLU6": lambda rng: {"inplace": False},
    "SiLU": lambda rng: {},
    "Mish": lambda rng: {},
    "Hardswish": lambda rng: {},
    "Hardsigmoid": lambda rng: {},
    "Tanhshrink": lambda rng: {},
    "LogSigmoid": lambda rng: {},
    "Softsign": lambda rng: {},
    "Softmax2d": lambda rng: {},
    "Identity": lambda rng: {"unused": 3},
    "Tanh": lambda rng: {},
    "Sigmoid": lambda rng: {},
    "ReLU": lambda rng: {"inplace": False},
}
# positional order of the activations' arguments (Threshold's two are required)
_POSITIONAL = {"Threshold": ("threshold", "value")}


def activation(rng: np.random.Generator) -> tuple:
    """A random ``activation`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, tuple(_ACT))
    items = _ACT[name](rng)
    kw = dict(opt_kw(rng, items, 0.6))
    args: tuple = ()
    if name in _POSITIONAL:
        args = tuple(items[k] for k in _POSITIONAL[name])
        kw = {}
    elif kw and rng.random() < 0.3:  # the first argument given positionally
        first = next(iter(items))
        if first in kw:
            args = (kw.pop(first),)
    ndim = 4 if name == "Softmax2d" else int(rng.integers(1, 4))
    shape = [int(v) for v in rng.integers(1, 4, ndim)]
    if name == "GLU":
        shape[kw.get("dim", args[0] if args else -1)] = 2 * int(rng.integers(1, 3))
    if name == "PReLU" and ndim > 1:
        shape[1] = kw.get("num_parameters", args[0] if args else 1)
    return name, args, tuple(kw.items()), (("f", tuple(shape)),)


def padding(rng: np.random.Generator) -> tuple:
    """A random ``padding`` construction: (name, args, kwargs, inputs)."""
    kind = pick(rng, ("Zero", "Constant", "Reflection", "Replication", "Circular"))
    d = int(rng.integers(1, 4)) if kind != "Zero" else int(rng.integers(1, 4))
    pad: Any = (
        int(rng.integers(0, 3))
        if rng.random() < 0.5
        else tuple(
            int(v) for v in rng.integers(-1 if kind in ("Zero", "Constant") else 0, 3, 2 * d)
        )
    )
    pad = bad(rng, pad, ((1,) * (2 * d + 1), -5))
    args = (pad, 1.5) if kind == "Constant" else (pad,)
    shape = (
        batch(rng, 1) + (int(rng.integers(1, 3)),) + tuple(int(v) for v in rng.integers(3, 5, d))
    )
    return f"{kind}Pad{d}d", args, (), (("f", shape),)


MORE_DRAWERS = {
    "RNN": rnn,
    "RNNCell": rnn_cell,
    "MultiheadAttention": mha,
    "TransformerLayer": transformer_layer,
    "Dropout": dropout,
    "Upsample": upsample,
    "PixelShuffle": pixel_shuffle,
    "Fold": fold,
    "Flatten": flatten,
    "Activation": activation,
    "Padding": padding,
}
