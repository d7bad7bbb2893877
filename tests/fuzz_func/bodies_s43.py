"""Body steps of the ``torch.func`` fuzzer added in session 43 (:mod:`.bodies` draws them with
its own): the special functions ``special.i1``, ``special.i1e`` and ``special.erfcx``,
``msort`` (the scans and ``sort`` are :mod:`.bodies_s37`'s), ``fmod`` and ``remainder`` by
``y`` moved off 0, and the reductions keeping a dim ``nanmean`` / ``nanmedian`` /
``nanquantile`` over a value with NaN at fixed places and ``kthvalue``, which the transforms
must see through as torch.func does.

As :mod:`.bodies_s42`: the binary steps broadcast the running value with ``y``'s shape
(:func:`~.bodies.shape_after` reads :data:`S43_BINARY`, the reducing ones
:data:`S43_REDUCING`); every other step keeps the shape.
"""

from __future__ import annotations

from typing import Any

__all__ = ["S43_BINARY", "S43_REDUCING", "S43_STEPS", "apply_s43", "s43_steps_for"]

S43_UNARY = ("i1", "i1e", "erfcx", "msort_v")
S43_BINARY = ("fmod_y", "remainder_y")
S43_REDUCING = ("nanmean_keep", "nanmedian_keep", "nanquantile_keep", "kth_keep")
S43_STEPS = S43_UNARY + S43_BINARY + S43_REDUCING


def s43_steps_for(shape: tuple, broadcasts: bool) -> list:
    """The names of this table valid for a running value of ``shape`` (``broadcasts``:
    whether it broadcasts with ``y``)."""
    out = list(S43_UNARY) if shape else ["i1", "i1e", "erfcx"]  # (msort needs a dim)
    if broadcasts:
        out += list(S43_BINARY)
    if shape:
        out += list(S43_REDUCING)
    return out


def _dim(shape: tuple, a: int) -> int:
    """:func:`.bodies._dim`'s dim of ``shape`` for ``a`` (negative for even ``a``)."""
    r = len(shape)
    d = a % r
    return d - r if a % 2 == 0 else d


def _spread(lib: Any, h: Any, d: int) -> Any:
    """``h`` plus a different multiple of 0.75 at each place along dim ``d``: no ties among
    the values a sort, median or extreme picks from (their derivative follows the pick)."""
    n = h.shape[d]
    ramp = lib.arange(n, dtype=h.dtype) * 0.75
    shape = [1] * h.dim()
    shape[d] = n
    return h.tanh() * 0.25 + ramp.reshape(shape).flip(d) * (1 if d % 2 else -1)


def _nans(lib: Any, h: Any, d: int) -> Any:
    """``h`` with NaN at every third place along dim ``d`` (the first kept)."""
    n = h.shape[d]
    shape = [1] * h.dim()
    shape[d] = n
    mask = (lib.arange(n) % 3 == 1).reshape(shape)
    return h.masked_fill(mask, float("nan"))


def apply_s43(lib: Any, step: tuple, h: Any, y: Any) -> Any:
    """Run step ``(name, a)`` of this table on ``h`` with ``lib``."""
    name, a = step
    shape = tuple(h.shape)
    sp = lib.special
    if name == "i1":
        return sp.i1(h)
    if name == "i1e":
        return sp.i1e(h * 2.0)
    if name == "erfcx":
        return sp.erfcx(h)
    if name in S43_BINARY or name == "copysign_y_c":
        # both operands carry every vmap level (see bodies_s39)
        u, t = h + 0 * y, y + 0 * h
        if name == "copysign_y_c":  # bodies_s42's copysign_y by its formula (bodies.steer)
            return u.abs() * (1.0 if a % 2 else -1.0)
        # the divisor off 0 and the quotient small (the kinks where it crosses an integer
        # are met with probability 0)
        div = t.abs() + 0.75 if a % 2 else -(t.abs() + 0.75)
        return lib.fmod(u, div) if name == "fmod_y" else lib.remainder(u, div)
    d = _dim(shape, a)
    if name == "msort_v":
        return lib.msort(_spread(lib, h, 0))
    if name == "normalize_c":  # bodies_s38's normalize by its formula (see bodies.steer)
        p = 2.0 if a % 3 else 3.0
        g = h + 0.5
        return g / ((g.abs() ** p).sum(d, keepdim=True) ** (1 / p)).clamp_min(1e-12)
    if name == "nanmean_keep":
        return lib.nanmean(_nans(lib, h, d), d, keepdim=True)
    if name == "nanmedian_keep":
        return _nans(lib, _spread(lib, h, d), d).nanmedian(d, keepdim=True)[0]
    if name == "nanquantile_keep":
        z = _nans(lib, _spread(lib, h, d), d)
        how = ("linear", "midpoint", "lower", "nearest")[a // 2 % 4]
        return lib.nanquantile(z, 0.375, dim=d, keepdim=True, interpolation=how)
    z = _spread(lib, h, d)
    return z.kthvalue(1 + a // 2 % z.shape[d], d, keepdim=True)[0]
