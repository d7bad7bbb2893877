"""Body steps of the ``torch.func`` fuzzer added in session 40 (:mod:`.bodies` draws them with
its own): smooth special functions the earlier tables leave out (``asinh``, ``atan``,
``lgamma`` / ``digamma`` of a positive argument, ``logit`` of a squashed value, ``erfinv``
of a bounded one, ``i0``), the in-place unary methods on a copy of the running value
(``exp_``, ``sin_``, ``mul_`` through a view), the BLAS-style ``addmm``/``addcdiv`` with
``beta``/``alpha``/``value`` against ``y``, ``torch.special`` (``xlog1py``, ``entr`` of a
positive argument, ``log_ndtr``, ``ndtr``), ``F.glu`` of the value concatenated with ``y``
(back to the value's shape), ``F.pairwise_distance`` kept as a dim of one, ``F.cosine_similarity``
against ``y``, ``cummin`` values and ``trapezoid`` with ``dx``, which the transforms must see
through as torch.func does.

As :mod:`.bodies_s39`: the binary steps broadcast the running value with ``y``'s shape, the
reducing ones keep their dim as one (:func:`~.bodies.shape_after` reads
:data:`S40_BINARY` and :data:`S40_REDUCING`); every other step keeps the shape.
"""

from __future__ import annotations

from typing import Any

__all__ = ["S40_BINARY", "S40_REDUCING", "S40_STEPS", "apply_s40", "s40_steps_for"]

# (not lgamma / digamma: torch 2.13's trigamma, their higher derivatives' kernel, is 5e-10
# relative off scipy's, chainrule's exact: float64 results part by 1e-9, past the tolerance)
S40_UNARY = ("asinh", "atan", "logit_sq", "erfinv_b", "i0_s")
S40_UNARY += ("inplace_exp", "inplace_view", "special_p")
S40_BINARY = ("addcdiv_y", "xlog1py_y", "glu_y", "addmm_y")
S40_SHAPED = ("cummin_v", "pdist_keep", "cosine_keep", "trapz_keep")
S40_REDUCING = ("pdist_keep", "cosine_keep", "trapz_keep")
S40_STEPS = S40_UNARY + S40_BINARY + S40_SHAPED


def s40_steps_for(shape: tuple, broadcasts: bool) -> list:
    """The names of this table valid for a running value of ``shape`` (``broadcasts``:
    whether it broadcasts with ``y``)."""
    out = list(S40_UNARY)
    if broadcasts:
        out += [n for n in S40_BINARY if n != "addmm_y" or len(shape) == 2]
    if shape:
        out += list(S40_SHAPED)
    return out


def _dim(shape: tuple, a: int) -> int:
    r = len(shape)
    return a % r - r if a % 2 == 0 else a % r


def apply_s40(lib: Any, step: tuple, h: Any, y: Any) -> Any:
    """Run step ``(name, a)`` of this table on ``h`` with ``lib``."""
    F = lib.nn.functional
    S = lib.special
    name, a = step
    shape = tuple(h.shape)
    if name == "asinh":
        return lib.asinh(h * 1.5)
    if name == "atan":
        return h.atan() if a % 2 else lib.arctan(h)
    if name == "logit_sq":
        return lib.logit(lib.sigmoid(h) * 0.8 + 0.1)
    if name == "erfinv_b":
        return lib.erfinv(lib.tanh(h) * 0.75)
    if name == "i0_s":
        return lib.i0(h * 0.5) if a % 2 else S.i0e(h)
    if name == "inplace_exp":
        # an in-place method on a fresh copy (functionalized by the transforms)
        c = h.clone()
        return c.mul_(0.5).exp_() if a % 2 else c.sin_().add_(h, alpha=0.5)
    if name == "inplace_view":
        c = h * 1.0
        if shape:
            c.narrow(-1, 0, 1).mul_(2.0)  # a view of the copy written in place
        else:
            c.mul_(2.0)
        return c
    if name == "special_p":
        p = h * h + 0.25
        f = a % 4
        if f == 0:
            return S.entr(p)
        if f == 1:
            return S.log_ndtr(h)
        if f == 2:
            return S.ndtr(h) * h
        return S.xlogy(p, p + 1.0)
    # the binary ones: both operands carry every vmap level (see bodies_s39)
    u, t = h + 0 * y, y + 0 * h
    if name == "addcdiv_y":
        return lib.addcdiv(u, u, t * t + 1.0, value=(0.5, -1.5)[a % 2])
    if name == "xlog1py_y":
        return S.xlog1py(u, t * t)
    if name == "glu_y":
        d = _dim(tuple(u.shape), a)
        return F.glu(lib.cat([u, t], dim=d), dim=d)
    if name == "glu_y_c":  # glu composed of its formula (see bodies.steer)
        return u * lib.sigmoid(t)
    if name == "addmm_y":
        w = (t.mT @ t).sin() * 0.5  # (n, n)
        return lib.addmm(u, u, w, beta=0.5, alpha=(1.0, -0.25)[a % 2])
    d = _dim(shape, a)
    if name == "cummin_v":
        return lib.cummin(h, d).values
    if name == "pdist_keep":
        # off 0: the distance has no derivative at a zero difference
        # (over the last dim: d moved there and back)
        g = h.movedim(d, -1)
        dist = F.pairwise_distance(g, g.roll(1, -1) + 0.5, p=(2.0, 3.0)[a % 2], keepdim=True)
        return dist.movedim(-1, d)
    if name == "cosine_keep":
        sim = F.cosine_similarity(h + 0.25, (h * h + 0.5), dim=d)
        return sim.unsqueeze(d)
    if name == "trapz_keep":
        return lib.trapezoid(h, dx=0.5, dim=d).unsqueeze(d)
    raise ValueError(f"unknown step {name!r}")
