"""Round 2 of the nn-module fuzzer's families: FractionalMaxPool (seeded: both libraries draw
the same samples from one seed), CrossMapLRN2d, SyncBatchNorm on CPU, the lazy modules
(materialised by their first call: class, repr and state compared after it), the upsampling
aliases, softmax modules over inputs of every rank (``dim=None``'s implicit choice) and
TripletMarginWithDistanceLoss (see :mod:`.kinds_layers` for the drawers' contract)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .kinds_layers import bad, batch, opt_kw, pick

__all__ = ["ROUND2_DRAWERS"]


def _sizes(rng: np.random.Generator, d: int, low: int, high: int) -> tuple:
    return tuple(int(v) for v in rng.integers(low, high, d))


def fractional_max_pool(rng: np.random.Generator) -> tuple:
    """A random ``FractionalMaxPool2d/3d``: a kernel, an output size (some entries None
    never: PyTorch needs them) or an output ratio, return_indices; the input large enough."""
    d = int(pick(rng, (2, 3)))
    k: Any = int(rng.integers(1, 3)) if rng.random() < 0.5 else _sizes(rng, d, 1, 3)
    ks = (k,) * d if isinstance(k, int) else k
    sizes = tuple(kk + int(rng.integers(1, 4)) for kk in ks)
    kw: dict = {}
    if rng.random() < 0.5:
        outs = tuple(int(rng.integers(1, s - kk + 2)) for s, kk in zip(sizes, ks))
        kw["output_size"] = outs[0] if rng.random() < 0.3 and len(set(outs)) == 1 else outs
        kw["output_size"] = bad(rng, kw["output_size"], (0, (sizes[0] + 1,) * d))
    else:
        ratio: Any = float(pick(rng, (0.5, 0.7, 0.9)))
        if rng.random() < 0.4:
            ratio = tuple(float(pick(rng, (0.5, 0.7))) for _ in range(d))
        kw["output_ratio"] = bad(rng, ratio, (1.0, 0.0, 1.5))
    if rng.random() < 0.4:
        kw["return_indices"] = bool(rng.random() < 0.5)
    lead = () if rng.random() < 0.3 else (int(rng.integers(1, 3)),)
    shape = lead + (int(rng.integers(1, 3)),) + sizes
    return (
        f"FractionalMaxPool{d}d",
        (bad(rng, k, ((1,) * (d + 1), [2])),),
        tuple(kw.items()),
        (("f", shape),),
    )


def cross_map_lrn(rng: np.random.Generator) -> tuple:
    """A random ``CrossMapLRN2d`` (the legacy LRN over 4-D inputs)."""
    kw = opt_kw(rng, {"alpha": pick(rng, (1e-4, 0.5)), "beta": pick(rng, (0.75, 0.5)),
                      "k": pick(rng, (1, 2.0))})  # fmt: skip
    c = int(rng.integers(1, 5))
    shape = (int(rng.integers(1, 3)), c) + _sizes(rng, 2, 1, 4)
    return "CrossMapLRN2d", (bad(rng, int(rng.integers(1, 4)), (0,)),), tuple(kw), (("f", shape),)


def sync_batch_norm(rng: np.random.Generator) -> tuple:
    """A random ``SyncBatchNorm`` run on CPU without a process group."""
    c = int(rng.integers(1, 4))
    kw = opt_kw(rng, {
        "eps": float(pick(rng, (1e-5, 0.1))),
        "momentum": pick(rng, (None, 0.1, 0.5)),
        "affine": bool(rng.random() < 0.5),
        "track_running_stats": bool(rng.random() < 0.5),
    })  # fmt: skip
    shape = (int(rng.integers(2, 4)), c) + batch(rng, 2)
    return "SyncBatchNorm", (bad(rng, c, (0, -1)),), tuple(kw), (("f", shape),)


def lazy(rng: np.random.Generator) -> tuple:
    """A random lazy module: LazyLinear, LazyConv/ConvTranspose 1-3d, LazyBatchNorm 1-3d or
    LazyInstanceNorm 1-3d, called once on an input that fixes its in-features."""
    kind = pick(rng, ("Linear", "Conv", "ConvTranspose", "BatchNorm", "InstanceNorm"))
    cin = int(rng.integers(1, 4))
    if kind == "Linear":
        kw = opt_kw(rng, {"bias": bool(rng.random() < 0.5)})
        out = bad(rng, int(rng.integers(1, 4)), (0, -1))
        return "LazyLinear", (out,), tuple(kw), (("f", batch(rng) + (cin,)),)
    d = int(rng.integers(1, 4))
    n = int(rng.integers(1, 3))
    if kind in ("Conv", "ConvTranspose"):
        k = int(rng.integers(1, 3))
        kw = dict(opt_kw(rng, {"stride": pick(rng, (1, 2)), "padding": pick(rng, (0, 1)),
                               "bias": bool(rng.random() < 0.5)}))  # fmt: skip
        shape = (n, cin) + _sizes(rng, d, k, k + 3)
        out = bad(rng, int(rng.integers(1, 4)), (0,))
        return f"Lazy{kind}{d}d", (out, k), tuple(kw.items()), (("f", shape),)
    kw = opt_kw(rng, {"eps": 1e-3, "momentum": pick(rng, (0.1, None)),
                      "affine": bool(rng.random() < 0.5),
                      "track_running_stats": bool(rng.random() < 0.5)})  # fmt: skip
    sizes = {1: pick(rng, ((), (3,))), 2: (2, 3), 3: (2, 1, 2)}[d]
    if kind == "InstanceNorm" and d == 1:
        sizes = (3,)
    return f"Lazy{kind}{d}d", (), tuple(kw), (("f", (n + 1, cin) + sizes),)


def upsampling_alias(rng: np.random.Generator) -> tuple:
    """A random ``UpsamplingNearest2d`` / ``UpsamplingBilinear2d`` (size or scale_factor)."""
    name = pick(rng, ("UpsamplingNearest2d", "UpsamplingBilinear2d"))
    if rng.random() < 0.5:
        kw: dict = {"size": pick(rng, (int(rng.integers(1, 5)), _sizes(rng, 2, 1, 5)))}
    else:
        kw = {"scale_factor": pick(rng, (2, 1.5, 0.5, (2.0, 1.0)))}
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + _sizes(rng, 2, 1, 4)
    return name, (), tuple(kw.items()), (("f", shape),)


def softmax_dims(rng: np.random.Generator) -> tuple:
    """A softmax module on an input of rank 0-4 with ``dim`` None (PyTorch's implicit
    choice, with its warning) or an int; Softmax2d on 3-D and 4-D inputs."""
    name = pick(rng, ("Softmax", "LogSoftmax", "Softmin", "Softmax2d"))
    nd = int(rng.integers(3, 5)) if name == "Softmax2d" else int(rng.integers(0, 5))
    shape = _sizes(rng, nd, 1, 4)
    if name == "Softmax2d":
        return name, (), (), (("f", shape),)
    dim = pick(rng, (None, None, 0, -1, nd - 1 if nd else 0))
    kw = (("dim", dim),) if rng.random() < 0.8 else ()
    return name, (), kw, (("f", shape),)


def triplet_distance(rng: np.random.Generator) -> tuple:
    """A random ``TripletMarginWithDistanceLoss`` (the default pairwise distance)."""
    items = {"margin": bad(rng, pick(rng, (1.0, 0.5, 2)), (0.0, -1.0)),
             "swap": bool(rng.random() < 0.5),
             "reduction": bad(rng, pick(rng, ("mean", "sum", "none")), ("bogus",))}  # fmt: skip
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    if rng.random() < 0.2:
        shape = shape[1:]
    kw = tuple((k, v) for k, v in items.items() if rng.random() < 0.6)
    return "TripletMarginWithDistanceLoss", (), kw, (("f", shape), ("f", shape), ("f", shape))


ROUND2_DRAWERS = {
    "FractionalMaxPool": fractional_max_pool,
    "CrossMapLRN2d": cross_map_lrn,
    "SyncBatchNorm": sync_batch_norm,
    "Lazy": lazy,
    "UpsamplingAlias": upsampling_alias,
    "SoftmaxDims": softmax_dims,
    "TripletDistance": triplet_distance,
}
