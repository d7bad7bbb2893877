"""Drawing random constructions of the layer modules: linear, convolution, pooling,
normalization and embedding layers. Each drawer takes a ``numpy`` generator and returns
``(name, args, kwargs, inputs)`` (see :mod:`.case` for the input specs); a few arguments are
now and then replaced by invalid ones (:func:`bad`)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LAYER_DRAWERS", "pick", "bad", "opt_kw", "batch"]

P_BAD = 0.06


def pick(rng: np.random.Generator, seq: Any) -> Any:
    """One element of ``seq``."""
    return seq[int(rng.integers(len(seq)))]


def bad(rng: np.random.Generator, value: Any, invalid: tuple) -> Any:
    """``value``, or now and then one of the ``invalid`` values."""
    return pick(rng, invalid) if rng.random() < P_BAD else value


def opt_kw(rng: np.random.Generator, items: dict, p: float = 0.5) -> list:
    """Each ``(key, value)`` of ``items`` kept with probability ``p`` (a default otherwise)."""
    return [(k, v) for k, v in items.items() if rng.random() < p]


def batch(rng: np.random.Generator, n: int = 2) -> tuple:
    """0 to ``n`` leading batch dimensions of sizes 1-3."""
    return tuple(int(s) for s in rng.integers(1, 4, int(rng.integers(0, n + 1))))


def _int_or_tuple(rng: np.random.Generator, d: int, low: int, high: int) -> Any:
    if rng.random() < 0.5:
        return int(rng.integers(low, high))
    return tuple(int(v) for v in rng.integers(low, high, d))


def _tup(v: Any, d: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * d


def linear(rng: np.random.Generator) -> tuple:
    """A random ``linear`` construction: (name, args, kwargs, inputs)."""
    i, o = (int(v) for v in rng.integers(1, 5, 2))
    kw = opt_kw(rng, {"bias": bool(rng.random() < 0.5)})
    i_, o_ = bad(rng, i, (-1, 2.5, "3")), bad(rng, o, (-2, 0, 1.5))
    return "Linear", (i_, o_), tuple(kw), (("f", batch(rng) + (i,)),)


def bilinear(rng: np.random.Generator) -> tuple:
    """A random ``bilinear`` construction: (name, args, kwargs, inputs)."""
    a, b, o = (int(v) for v in rng.integers(1, 4, 3))
    kw = opt_kw(rng, {"bias": bool(rng.random() < 0.5)})
    n = batch(rng, 1)
    return "Bilinear", (a, bad(rng, b, (-1, 0)), o), tuple(kw), (("f", n + (a,)), ("f", n + (b,)))


def _conv_common(rng, d: int, transposed: bool):
    groups = int(pick(rng, (1, 1, 2, 3)))
    cin = groups * int(rng.integers(1, 3))
    cout = groups * int(rng.integers(1, 3))
    k = _int_or_tuple(rng, d, 1, 4)
    kw: dict = {}
    if rng.random() < 0.5:
        kw["stride"] = _int_or_tuple(rng, d, 1, 3)
    if rng.random() < 0.4:
        kw["dilation"] = _int_or_tuple(rng, d, 1, 3)
    if groups > 1 or rng.random() < 0.2:
        kw["groups"] = bad(rng, groups, (0, -1, 4))
    if rng.random() < 0.3:
        kw["bias"] = bool(rng.random() < 0.5)
    ks, dil = _tup(k, d), _tup(kw.get("dilation", 1), d)
    eff = [dl * (kk - 1) + 1 for kk, dl in zip(ks, dil)]
    sizes = tuple(e + int(rng.integers(0, 4)) for e in eff)
    if transposed:
        sizes = tuple(int(rng.integers(1, 4)) for _ in range(d))
    lead = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
    return cin, cout, k, kw, lead + (cin,) + sizes


def conv(rng: np.random.Generator, d: int) -> tuple:
    """A random ``conv`` construction: (name, args, kwargs, inputs)."""
    cin, cout, k, kw, shape = _conv_common(rng, d, False)
    r = rng.random()
    if r < 0.2:
        kw["padding"] = pick(rng, ("same", "valid"))
    elif r < 0.6:
        kw["padding"] = _int_or_tuple(rng, d, 0, 3)
    if rng.random() < 0.4:
        kw["padding_mode"] = bad(rng, pick(rng, ("zeros", "reflect", "replicate", "circular")),
                                 ("bogus", "Zeros"))  # fmt: skip
    if "padding" in kw:
        kw["padding"] = bad(rng, kw["padding"], ("full", -1, (1,) * (d + 1)))
    args = (bad(rng, cin, (0, -1)), bad(rng, cout, (0, -2)), bad(rng, k, (0, -1, (2,) * (d + 1))))
    return f"Conv{d}d", args, tuple(kw.items()), (("f", shape),)


def conv_transpose(rng: np.random.Generator, d: int) -> tuple:
    """A random ``conv_transpose`` construction: (name, args, kwargs, inputs)."""
    cin, cout, k, kw, shape = _conv_common(rng, d, True)
    if rng.random() < 0.5:
        kw["padding"] = _int_or_tuple(rng, d, 0, 2)
    if rng.random() < 0.5:
        st, dil = _tup(kw.get("stride", 1), d), _tup(kw.get("dilation", 1), d)
        kw["output_padding"] = tuple(int(rng.integers(0, max(s, dl))) for s, dl in zip(st, dil))
        if rng.random() < 0.5 and len(set(kw["output_padding"])) == 1:
            kw["output_padding"] = kw["output_padding"][0]
        kw["output_padding"] = bad(rng, kw["output_padding"], (3, -1))
    if rng.random() < 0.1:
        kw["padding_mode"] = pick(rng, ("zeros", "reflect", "circular"))
    if rng.random() < 0.05:
        kw["padding"] = "same"
    args = (bad(rng, cin, (0, -1)), cout, k)
    return f"ConvTranspose{d}d", args, tuple(kw.items()), (("f", shape),)


def max_pool(rng: np.random.Generator, d: int) -> tuple:
    """A random ``max_pool`` construction: (name, args, kwargs, inputs)."""
    k = _int_or_tuple(rng, d, 1, 4)
    ks = _tup(k, d)
    kw: dict = {}
    if rng.random() < 0.6:
        kw["stride"] = pick(rng, (None, _int_or_tuple(rng, d, 1, 3)))
    if rng.random() < 0.5:
        kw["padding"] = int(rng.integers(0, min(ks) // 2 + 1))
        kw["padding"] = bad(rng, kw["padding"], (min(ks) // 2 + 1, -1))
    if rng.random() < 0.4:
        kw["dilation"] = bad(rng, _int_or_tuple(rng, d, 1, 3), (0, -1))
    for key in ("return_indices", "ceil_mode"):
        if rng.random() < 0.4:
            kw[key] = bool(rng.random() < 0.5)
    dil = _tup(kw.get("dilation", 1), d) if not isinstance(kw.get("dilation"), int) or \
        kw.get("dilation", 1) > 0 else (1,) * d  # fmt: skip
    sizes = tuple(dl * (kk - 1) + 1 + int(rng.integers(0, 4)) for kk, dl in zip(ks, dil))
    lead = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
    shape = lead + (int(rng.integers(1, 3)),) + sizes
    return f"MaxPool{d}d", (bad(rng, k, (0, -1)),), tuple(kw.items()), (("f", shape),)


def avg_pool(rng: np.random.Generator, d: int) -> tuple:
    """A random ``avg_pool`` construction: (name, args, kwargs, inputs)."""
    k = _int_or_tuple(rng, d, 1, 4)
    ks = _tup(k, d)
    kw: dict = {}
    if rng.random() < 0.6:
        kw["stride"] = pick(rng, (None, _int_or_tuple(rng, d, 1, 3)))
    if rng.random() < 0.5:
        kw["padding"] = bad(rng, int(rng.integers(0, min(ks) // 2 + 1)), (min(ks) // 2 + 1, -1))
    for key in ("ceil_mode", "count_include_pad"):
        if rng.random() < 0.4:
            kw[key] = bool(rng.random() < 0.5)
    if d > 1 and rng.random() < 0.3:
        kw["divisor_override"] = bad(rng, int(rng.integers(1, 5)), (0, -1))
    sizes = tuple(kk + int(rng.integers(0, 4)) for kk in ks)
    lead = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
    shape = lead + (int(rng.integers(1, 3)),) + sizes
    return f"AvgPool{d}d", (bad(rng, k, (0, -1)),), tuple(kw.items()), (("f", shape),)


def lp_pool(rng: np.random.Generator, d: int) -> tuple:
    """A random ``lp_pool`` construction: (name, args, kwargs, inputs)."""
    k = _int_or_tuple(rng, d, 1, 4)
    kw: dict = {}
    if rng.random() < 0.5:
        kw["stride"] = pick(rng, (None, _int_or_tuple(rng, d, 1, 3)))
    if rng.random() < 0.4:
        kw["ceil_mode"] = bool(rng.random() < 0.5)
    norm = pick(rng, (1, 2, 3.0, 1.5))
    sizes = tuple(kk + int(rng.integers(0, 4)) for kk in _tup(k, d))
    # LPPool of negative inputs with a fractional norm is NaN: positive inputs
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + sizes
    return f"LPPool{d}d", (norm, k), tuple(kw.items()), (("pos", shape, True),)


def adaptive_pool(rng: np.random.Generator, d: int) -> tuple:
    """A random ``adaptive_pool`` construction: (name, args, kwargs, inputs)."""
    kind = pick(rng, ("Avg", "Max"))
    if rng.random() < 0.5:
        size: Any = int(rng.integers(1, 4))
    else:
        size = tuple(pick(rng, (None, 1, 2, 3)) for _ in range(d))
    kw = {}
    if kind == "Max" and rng.random() < 0.5:
        kw["return_indices"] = bool(rng.random() < 0.5)
    size = bad(rng, size, (0, -1, (2,) * (d + 1)))
    lead = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
    shape = lead + (2,) + tuple(int(v) for v in rng.integers(1, 6, d))
    return f"Adaptive{kind}Pool{d}d", (size,), tuple(kw.items()), (("f", shape),)


def batch_norm(rng: np.random.Generator, d: int) -> tuple:
    """A random ``batch_norm`` construction: (name, args, kwargs, inputs)."""
    c = int(rng.integers(1, 4))
    kw = opt_kw(rng, {
        "eps": float(pick(rng, (1e-5, 1e-3, 0.1))),
        "momentum": pick(rng, (None, 0.1, 0.5, 1.0)),
        "affine": bool(rng.random() < 0.5),
        "track_running_stats": bool(rng.random() < 0.5),
    })  # fmt: skip
    n = int(rng.integers(2, 4))
    extra = {1: pick(rng, ((), (3,))), 2: (2, 3), 3: (2, 1, 2)}[d]
    return f"BatchNorm{d}d", (bad(rng, c, (0, -1, 1.5)),), tuple(kw), (("f", (n, c) + extra),)


def instance_norm(rng: np.random.Generator, d: int) -> tuple:
    """A random ``instance_norm`` construction: (name, args, kwargs, inputs)."""
    c = int(rng.integers(1, 4))
    kw = opt_kw(rng, {
        "eps": float(pick(rng, (1e-5, 0.1))),
        "momentum": pick(rng, (None, 0.1, 0.5)),
        "affine": bool(rng.random() < 0.5),
        "track_running_stats": bool(rng.random() < 0.5),
    })  # fmt: skip
    lead = () if rng.random() < 0.3 else (int(rng.integers(1, 3)),)
    sizes = {1: (4,), 2: (2, 3), 3: (2, 2, 2)}[d]
    return f"InstanceNorm{d}d", (c,), tuple(kw), (("f", lead + (c,) + sizes),)


def group_norm(rng: np.random.Generator) -> tuple:
    """A random ``group_norm`` construction: (name, args, kwargs, inputs)."""
    g = int(rng.integers(1, 4))
    c = g * int(rng.integers(1, 3))
    kw = opt_kw(rng, {"eps": float(pick(rng, (1e-5, 0.1))), "affine": bool(rng.random() < 0.5)})
    shape = (int(rng.integers(1, 3)), c) + batch(rng)
    return "GroupNorm", (bad(rng, g, (0, c + 1)), c), tuple(kw), (("f", shape),)


def layer_norm(rng: np.random.Generator, name: str) -> tuple:
    """A random ``layer_norm`` construction: (name, args, kwargs, inputs)."""
    last = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(1, 3))))
    ns: Any = last if len(last) > 1 or rng.random() < 0.5 else last[0]
    if name == "LayerNorm":
        items = {"eps": float(pick(rng, (1e-5, 0.1))),
                 "elementwise_affine": bool(rng.random() < 0.5),
                 "bias": bool(rng.random() < 0.5)}  # fmt: skip
    else:
        items = {
            "eps": pick(rng, (None, 1e-6, 0.1)),
            "elementwise_affine": bool(rng.random() < 0.5),
        }
    ns = bad(rng, ns, (-1, (2, -1), 0))
    return name, (ns,), tuple(opt_kw(rng, items)), (("f", batch(rng) + last),)


def local_response_norm(rng: np.random.Generator) -> tuple:
    """A random ``local_response_norm`` construction: (name, args, kwargs, inputs)."""
    kw = opt_kw(rng, {"alpha": 1e-3, "beta": 0.5, "k": 2.0})
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 5)), int(rng.integers(1, 4)))
    return (
        "LocalResponseNorm",
        (bad(rng, int(rng.integers(1, 4)), (0,)),),
        tuple(kw),
        (("f", shape),),
    )


def embedding(rng: np.random.Generator) -> tuple:
    """A random ``embedding`` construction: (name, args, kwargs, inputs)."""
    n, dim = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    kw = opt_kw(rng, {
        "padding_idx": int(rng.integers(-n, n)),
        "max_norm": pick(rng, (None, 1.0, 0.5)),
        "norm_type": float(pick(rng, (2.0, 1.0, 3.0))),
        "scale_grad_by_freq": bool(rng.random() < 0.5),
    }, 0.4)  # fmt: skip
    kw = [(k, bad(rng, v, (n, -n - 1)) if k == "padding_idx" else v) for k, v in kw]
    return "Embedding", (bad(rng, n, (-1,)), dim), tuple(kw), (("i", batch(rng) + (3,), 0, n),)


def embedding_bag(rng: np.random.Generator) -> tuple:
    """A random ``embedding_bag`` construction: (name, args, kwargs, inputs)."""
    n, dim = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    mode = pick(rng, ("sum", "mean", "max"))
    kw = dict(opt_kw(rng, {
        "max_norm": pick(rng, (None, 1.0)),
        "padding_idx": int(rng.integers(-n, n)),
        "include_last_offset": bool(rng.random() < 0.5),
        "scale_grad_by_freq": bool(rng.random() < 0.5),
    }, 0.35))  # fmt: skip
    kw["mode"] = bad(rng, mode, ("bogus", "Sum"))
    ilo = kw.get("include_last_offset", False)
    if rng.random() < 0.5:
        b, length = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        inputs: list = [("i", (b, length), 0, n)]
        psw_shape: tuple = (b, length)
        if ilo or rng.random() < 0.2:
            inputs.append(("none",))
    else:
        total = int(rng.integers(1, 7))
        cuts = sorted(int(v) for v in rng.integers(0, total + 1, int(rng.integers(1, 4))))
        offsets = [0] + cuts[1:] + ([total] if ilo else [])
        inputs = [("i", (total,), 0, n), ("ints", tuple(offsets))]
        psw_shape = (total,)
    if mode == "sum" and rng.random() < 0.4 or rng.random() < 0.05:
        if len(inputs) == 1:
            inputs.append(("none",))
        inputs.append(("f", psw_shape))
    return "EmbeddingBag", (n, dim), tuple(kw.items()), tuple(inputs)


LAYER_DRAWERS = {
    "Linear": linear,
    "Bilinear": bilinear,
    "Conv": lambda rng: conv(rng, int(rng.integers(1, 4))),
    "ConvTranspose": lambda rng: conv_transpose(rng, int(rng.integers(1, 4))),
    "MaxPool": lambda rng: max_pool(rng, int(rng.integers(1, 4))),
    "AvgPool": lambda rng: avg_pool(rng, int(rng.integers(1, 4))),
    "LPPool": lambda rng: lp_pool(rng, int(rng.integers(1, 4))),
    "AdaptivePool": lambda rng: adaptive_pool(rng, int(rng.integers(1, 4))),
    "BatchNorm": lambda rng: batch_norm(rng, int(rng.integers(1, 4))),
    "InstanceNorm": lambda rng: instance_norm(rng, int(rng.integers(1, 4))),
    "GroupNorm": group_norm,
    "LayerNorm": lambda rng: layer_norm(rng, "LayerNorm"),
    "RMSNorm": lambda rng: layer_norm(rng, "RMSNorm"),
    "LocalResponseNorm": local_response_norm,
    "Embedding": embedding,
    "EmbeddingBag": embedding_bag,
}
