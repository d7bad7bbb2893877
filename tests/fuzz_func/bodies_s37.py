"""Body steps of the ``torch.func`` fuzzer added in session 37 (:mod:`.bodies` draws them with
its own): ops the first table does not put under the transforms -- sorting and scans
(``sort`` values, ``cummax``, ``cumprod``, ``logcumsumexp``, ``diff`` with ``prepend``),
``gather`` and ``masked_fill`` with fixed indices and masks, ``F.pad`` in its four modes
(cropped back to the shape), more activations (``elu``, ``silu``, ``mish``, ``logsigmoid``,
``hardswish``, ``celu``), binary ops with ``y`` (``atan2``, ``lerp``, ``addcmul``, ``xlogy``,
``hypot``) and in-place ops on a clone (``mul_``/``add_``, a slice assignment), which the
transforms must see through as torch.func does.

Every step keeps the running value's shape (the binary ones broadcast it with ``y``'s, as
the first table's :data:`~.bodies.BINARY`), so :func:`~.bodies.shape_after` needs only
:data:`S37_BINARY`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["S37_BINARY", "S37_STEPS", "apply_s37", "s37_steps_for"]

S37_UNARY = ("elu", "silu", "mish", "logsigmoid", "hardswish", "celu", "masked_fill_c")
S37_UNARY += ("inplace_c",)
S37_BINARY = ("atan2_y", "lerp_y", "addcmul_y", "xlogy_y", "hypot_y")
S37_SHAPED = ("sort_v", "cummax_v", "cumprod", "logcumsumexp", "diff_pre", "gather_c")
S37_SHAPED += ("pad_crop", "setitem_c")
S37_STEPS = S37_UNARY + S37_BINARY + S37_SHAPED


def s37_steps_for(shape: tuple, broadcasts: bool) -> list:
    """The names of this table valid for a running value of ``shape`` (``broadcasts``:
    whether it broadcasts with ``y``)."""
    out = list(S37_UNARY)
    if broadcasts:
        out += list(S37_BINARY)
    if shape:
        out += list(S37_SHAPED)
    return out


def _dim(shape: tuple, a: int) -> int:
    r = len(shape)
    return a % r - r if a % 2 == 0 else a % r


def apply_s37(lib: Any, step: tuple, h: Any, y: Any) -> Any:
    """Run step ``(name, a)`` of this table on ``h`` with ``lib``."""
    F = lib.nn.functional
    name, a = step
    shape = tuple(h.shape)
    if name == "elu":
        return F.elu(h, alpha=0.5 if a % 2 else 1.0)
    if name == "silu":
        return F.silu(h)
    if name == "mish":
        return F.mish(h)
    if name == "logsigmoid":
        return F.logsigmoid(h)
    if name == "hardswish":  # (its kinks at +-3 are far from these values)
        return F.hardswish(h * 0.5)
    if name == "celu":
        return F.celu(h, alpha=1.5)
    if name == "masked_fill_c":
        return h.masked_fill(h > 0.5, 0.25) if a % 2 else lib.where(h < -0.5, 0.0, h)
    if name == "inplace_c":  # in-place ops on a copy inside the transforms
        c = h.clone()
        c.mul_(1.5).add_(h.sin())
        return c
    if name == "atan2_y":
        return lib.atan2(h, y * y + 1.0)
    if name == "lerp_y":
        return lib.lerp(h, y, 0.3) if a % 2 else h.lerp(y, y.sigmoid())
    if name == "addcmul_y":
        return lib.addcmul(h, h, y, value=0.5)
    if name == "xlogy_y":
        return lib.xlogy(h, y * y + 1.0)
    if name == "hypot_y":  # (off 0: hypot has no derivative there)
        return lib.hypot(h, y * y + 0.5)
    d = _dim(shape, a)
    if name == "sort_v":  # (stable: tied elements keep their order in both)
        return h.sort(dim=d, descending=bool(a % 2), stable=True).values
    if name == "cummax_v":
        return h.cummax(d).values if a % 2 else h.cummin(d).values
    if name == "cumprod":
        return (h.tanh() * 0.5 + 1.0).cumprod(d)
    if name == "logcumsumexp" and 0 not in shape:
        return h.logcumsumexp(d)
    if name in ("logcumsumexp", "logcumsumexp_c"):
        # its formula (bodies.steer), and on an empty h: torch 2.13's forward-mode formula of
        # logcumsumexp takes a max over the dim, which raises when h is empty (IndexError
        # "max(): Expected reduction dim 0 to have non-zero size"; a torch bug, chainrule's
        # tangent is empty)
        return h.exp().cumsum(d).log()
    if name == "diff_pre":
        return lib.diff(h, dim=d, prepend=h.narrow(d, 0, 1) * 0.5)
    if name == "gather_c":
        n = shape[d]
        idx = (np.arange(int(np.prod(shape))).reshape(shape) * 7 + a) % max(n, 1)
        return h.gather(d, lib.tensor(idx))
    if name == "pad_crop":
        mode = ("constant", "reflect", "replicate", "circular")[a % 4]
        k = shape[-1]
        if mode == "reflect" and k < 2:
            mode = "replicate"  # reflect pads less than the size only
        w = h if len(shape) == 2 else h[None]  # the three non-constant modes take (C, W)
        kw = {"value": 0.5} if mode == "constant" else {}
        p = F.pad(w, (1, 1), mode=mode, **kw)
        p = p[..., a % 3 : a % 3 + k]
        return p if len(shape) == 2 else p[0]
    if name == "setitem_c":  # a slice assignment into a copy
        c = h.clone()
        c[..., :1] = h[..., -1:] * 2.0
        return c
    raise ValueError(f"unknown step {name!r}")
