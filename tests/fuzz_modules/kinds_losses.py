"""Drawing random constructions of the loss modules: ``reduction``, class ``weight``,
``ignore_index``, ``label_smoothing``, ``pos_weight``, margins and norms, with matching
inputs and targets (see :mod:`.kinds_layers` for the drawers' contract)."""

from __future__ import annotations

import numpy as np

from .kinds_layers import bad, pick

__all__ = ["LOSS_DRAWERS"]

_RED = ("mean", "sum", "none")


def _reduction(rng, extra: tuple = ()) -> str:
    return bad(rng, pick(rng, _RED + extra), ("bogus", "Mean", None))


def _kw(rng, items: dict) -> tuple:
    return tuple((k, v) for k, v in items.items() if rng.random() < 0.6)


def _shape(rng, low: int = 0) -> tuple:
    return tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(low, 4))))


def _weight(rng, c: int) -> tuple:
    return ("T", tuple(float(v) for v in rng.uniform(0.2, 2.0, c)))


def pointwise(rng: np.random.Generator) -> tuple:
    """A random ``pointwise`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, ("L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "SoftMarginLoss"))
    items: dict = {"reduction": _reduction(rng)}
    if name == "SmoothL1Loss":
        items["beta"] = bad(rng, pick(rng, (0.0, 0.5, 2.0)), (-1.0,))
    if name == "HuberLoss":
        items["delta"] = bad(rng, pick(rng, (0.5, 2.0)), (0.0, -1.0))
    s = _shape(rng)
    target = ("sign", s) if name == "SoftMarginLoss" else ("c", s)
    return name, (), _kw(rng, items), (("f", s), target)


def cross_entropy(rng: np.random.Generator) -> tuple:
    """A random ``cross_entropy`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, ("CrossEntropyLoss", "NLLLoss"))
    c = int(rng.integers(1, 5))
    items: dict = {"reduction": _reduction(rng)}
    if rng.random() < 0.5:
        items["weight"] = bad(rng, _weight(rng, c), (_weight(rng, c + 1),))
    items["ignore_index"] = int(pick(rng, (-100, 0, c - 1, -1)))
    probs = name == "CrossEntropyLoss" and rng.random() < 0.3
    if name == "CrossEntropyLoss":
        items["label_smoothing"] = bad(rng, pick(rng, (0.0, 0.1, 0.5)), (-0.1, 1.5))
    lead = () if rng.random() < 0.2 else (int(rng.integers(1, 4)),)
    extra = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 3)))) if lead else ()
    x = lead + (c,) + extra
    if probs:
        target: tuple = ("p", x, False)
    else:
        target = ("i", lead + extra, 0, c)
    return name, (), _kw(rng, items), (("f", x), target)


def bce(rng: np.random.Generator) -> tuple:
    """A random ``bce`` construction: (name, args, kwargs, inputs)."""
    logits = rng.random() < 0.5
    s = _shape(rng, 1)
    items: dict = {"reduction": _reduction(rng)}
    if rng.random() < 0.4:
        items["weight"] = _weight(rng, s[-1])
    if logits and rng.random() < 0.5:
        items["pos_weight"] = bad(rng, _weight(rng, s[-1]), (_weight(rng, s[-1] + 1),))
    x = ("f", s) if logits else ("p", s, True)
    name = "BCEWithLogitsLoss" if logits else "BCELoss"
    return name, (), _kw(rng, items), (x, ("p", s, False))


def kl_div(rng: np.random.Generator) -> tuple:
    """A random ``kl_div`` construction: (name, args, kwargs, inputs)."""
    s = _shape(rng, 1)
    log_target = bool(rng.random() < 0.5)
    items = {"reduction": _reduction(rng, ("batchmean",)), "log_target": log_target}
    kw = _kw(rng, items)
    lt = dict(kw).get("log_target", False)
    return "KLDivLoss", (), kw, (("f", s), ("f", s) if lt else ("p", s, True))


def margin(rng: np.random.Generator) -> tuple:
    """A random ``margin`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, ("MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss"))
    items = {"margin": pick(rng, (0.0, 0.5, -0.3, 1.0)), "reduction": _reduction(rng)}
    if name == "MarginRankingLoss":
        s = _shape(rng)
        inputs: tuple = (("f", s), ("f", s), ("sign", s))
    elif name == "HingeEmbeddingLoss":
        s = _shape(rng)
        inputs = (("f", s), ("sign", s))
    else:
        n, d = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        unb = rng.random() < 0.2
        inputs = ((("f", (d,)), ("f", (d,)), ("sign", ())) if unb
                  else (("f", (n, d)), ("f", (n, d)), ("sign", (n,))))  # fmt: skip
    return name, (), _kw(rng, items), inputs


def multi_margin(rng: np.random.Generator) -> tuple:
    """A random ``multi_margin`` construction: (name, args, kwargs, inputs)."""
    c = int(rng.integers(1, 4))
    n = int(rng.integers(1, 4))
    name = pick(rng, ("MultiMarginLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss"))
    items: dict = {"reduction": _reduction(rng)}
    if name == "MultiMarginLoss":
        items["p"] = bad(rng, pick(rng, (1, 2)), (3,))
        items["margin"] = pick(rng, (1.0, 0.5))
        if rng.random() < 0.4:
            items["weight"] = _weight(rng, c)
        inputs: tuple = (("f", (n, c)), ("i", (n,), 0, c))
    elif name == "MultiLabelMarginLoss":
        inputs = (("f", (n, c)), ("mll", (n, c)))
    else:
        if rng.random() < 0.4:
            items["weight"] = _weight(rng, c)
        inputs = (("f", (n, c)), ("p", (n, c), False))
    return name, (), _kw(rng, items), inputs


def nll_like(rng: np.random.Generator) -> tuple:
    """A random ``nll_like`` construction: (name, args, kwargs, inputs)."""
    name = pick(rng, ("PoissonNLLLoss", "GaussianNLLLoss", "TripletMarginLoss"))
    s = _shape(rng, 1)
    if name == "PoissonNLLLoss":
        items = {"log_input": bool(rng.random() < 0.5), "full": bool(rng.random() < 0.5),
                 "eps": pick(rng, (1e-8, 0.1)), "reduction": _reduction(rng)}  # fmt: skip
        kw = _kw(rng, items)
        log_input = dict(kw).get("log_input", True)
        x = ("f", s) if log_input else ("pos", s, True)
        return name, (), kw, (x, ("pos", s, False))
    if name == "GaussianNLLLoss":
        items = {"full": bool(rng.random() < 0.5), "eps": bad(rng, pick(rng, (1e-6, 0.1)), (-1.0,)),
                 "reduction": _reduction(rng)}  # fmt: skip
        var = pick(rng, (s, s[:-1] + (1,), s[:-1]))
        return name, (), _kw(rng, items), (("f", s), ("c", s), ("pos", var, True))
    items = {"margin": pick(rng, (1.0, 0.5)), "p": pick(rng, (2.0, 1.0, 3.0)),
             "swap": bool(rng.random() < 0.5), "reduction": _reduction(rng)}  # fmt: skip
    d = (int(rng.integers(1, 3)), int(rng.integers(1, 4)))
    return name, (), _kw(rng, items), (("f", d), ("f", d), ("f", d))


LOSS_DRAWERS = {
    "PointwiseLoss": pointwise,
    "CrossEntropy": cross_entropy,
    "BCE": bce,
    "KLDiv": kl_div,
    "MarginLoss": margin,
    "MultiMargin": multi_margin,
    "NLLLike": nll_like,
}
