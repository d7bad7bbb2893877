"""Drawing random constructions of the padding modules with negative pads (session 44; see
:mod:`.kinds_layers` for the drawers' contract): ``ReflectionPad``/``ReplicationPad``/
``CircularPad``/``ZeroPad``/``ConstantPad`` in 1-3 dims with some pads negative (a crop),
a crop to one element or to none along a dim (an empty result along one padded dim is
allowed, along every padded dim refused, in torch's words).

The circular modules' positive pads stay at most the size left after the dim's crops: past
it torch wraps into memory it never wrote (a torch bug; chainrule refuses).
"""

from __future__ import annotations

import numpy as np

from .kinds_layers import batch, pick

__all__ = ["S44_DRAWERS"]


def padding_neg(rng: np.random.Generator) -> tuple:
    """A padding module with negative pads: (name, args, kwargs, inputs)."""
    kind = pick(rng, ("Zero", "Constant", "Reflection", "Replication", "Circular"))
    d = int(rng.integers(1, 4))
    sizes = tuple(int(v) for v in rng.integers(2, 5, d))
    pad = [int(v) for v in rng.integers(-3, 3, 2 * d)]
    for k in range(d):  # pad[2k], pad[2k + 1] pad the last dim but k
        n = sizes[-1 - k]
        lo, hi = pad[2 * k], pad[2 * k + 1]
        lo, hi = max(lo, -n), max(hi, -n - min(lo, 0))  # no crop past the dim
        if kind == "Reflection":  # reflect pads below the dim's size
            lo, hi = min(lo, n - 1), min(hi, n - 1)
            if d == 3 and n + lo + hi < 1:
                # no empty 3-d reflect result: torch's gradient of one is memory it never
                # wrote (NaN, 1e280: a torch bug), chainrule's is zeros
                lo, hi = max(lo, 0), max(hi, 0)
        if kind == "Circular":
            left = n + min(lo, 0) + min(hi, 0)
            lo, hi = min(lo, left), min(hi, left)
        pad[2 * k], pad[2 * k + 1] = lo, hi
    args = (tuple(pad), 0.5) if kind == "Constant" else (tuple(pad),)
    shape = batch(rng, 1) + (int(rng.integers(1, 3)),) + sizes
    return f"{kind}Pad{d}d", args, (), (("f", shape),)


S44_DRAWERS = {"PaddingNeg": padding_neg}
