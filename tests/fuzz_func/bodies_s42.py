"""Body steps of the ``torch.func`` fuzzer added in session 42 (:mod:`.bodies` draws them with
its own): the special functions ``lgamma``, ``special.log_ndtr`` and ``special.ndtri`` (on a
squashed value), ``gelu`` with ``approximate='tanh'`` and ``softplus`` with ``beta`` and
``threshold``, ``copysign`` and ``binary_cross_entropy_with_logits`` against ``y``,
``renorm`` along a dim, and for a square running value ``linalg.det``, ``linalg.slogdet``,
``linalg.cholesky`` of a positive definite matrix made from it, ``tril``/``triu`` and
``linalg.matrix_power``, which the transforms must see through as torch.func does.

As :mod:`.bodies_s41`: the binary steps broadcast the running value with ``y``'s shape
(:func:`~.bodies.shape_after` reads :data:`S42_BINARY`); every other step keeps the shape.
"""

from __future__ import annotations

import itertools
from typing import Any

__all__ = ["S42_BINARY", "S42_STEPS", "apply_s42", "s42_steps_for"]

# (not lgamma: torch's trigamma, its second derivative, is off by ~1e-9 in float64, e.g.
# 1.5e-9 at 0.51 against SciPy's polygamma(1, x); chainrule's matches SciPy)
S42_UNARY = ("log_ndtr", "ndtri_s", "gelu_tanh", "softplus_bt")
S42_BINARY = ("copysign_y", "bce_logits_y")
S42_SHAPED = ("renorm_d",)
S42_SQUARE = ("det_sq", "slogdet_sq", "cholesky_sq", "tri_sq", "mpower_sq")
S42_STEPS = S42_UNARY + S42_BINARY + S42_SHAPED + S42_SQUARE


def s42_steps_for(shape: tuple, broadcasts: bool) -> list:
    """The names of this table valid for a running value of ``shape`` (``broadcasts``:
    whether it broadcasts with ``y``)."""
    out = list(S42_UNARY)
    if broadcasts:
        out += list(S42_BINARY)
    if len(shape) >= 2:
        out += list(S42_SHAPED)  # renorm needs a dim to keep besides the one it norms
    if len(shape) == 2 and shape[0] == shape[1]:
        out += list(S42_SQUARE)
    return out


def _unary(lib: Any, name: str, a: int, h: Any) -> Any:
    F = lib.nn.functional
    if name == "log_ndtr":
        return lib.special.log_ndtr(h)
    if name == "ndtri_s":
        # inside (0, 1), away from the ends
        return lib.special.ndtri(lib.sigmoid(h) * 0.75 + 0.125)
    if name == "gelu_tanh":
        return F.gelu(h * 1.5, approximate="tanh")
    # the threshold above every value: the smooth branch (the switch is a kink)
    return F.softplus(h, beta=(0.5, 2.0)[a % 2], threshold=40.0)


def _dim(shape: tuple, a: int) -> int:
    """:func:`.bodies._dim`'s dim of ``shape`` for ``a`` (negative for even ``a``)."""
    r = len(shape)
    d = a % r
    return d - r if a % 2 == 0 else d


def _leibniz(m: Any) -> Any:
    """The determinant of a small square ``m`` as a sum over permutations (Leibniz)."""
    n = m.shape[0]
    total = None
    for perm in itertools.permutations(range(n)):
        inversions = sum(perm[i] > perm[j] for i in range(n) for j in range(i + 1, n))
        term = m[0, perm[0]]
        for i in range(1, n):
            term = term * m[i, perm[i]]
        term = -term if inversions % 2 else term
        total = term if total is None else total + term
    return total


def apply_s42(lib: Any, step: tuple, h: Any, y: Any) -> Any:
    """Run step ``(name, a)`` of this table on ``h`` with ``lib``."""
    F = lib.nn.functional
    name, a = step
    shape = tuple(h.shape)
    if name in S42_UNARY:
        return _unary(lib, name, a, h)
    if name == "pdist_keep_c":  # bodies_s40's pdist_keep by its formula (see bodies.steer)
        d = _dim(shape, a)
        g = h.movedim(d, -1)
        p = (2.0, 3.0)[a % 2]
        diff = g - (g.roll(1, -1) + 0.5) + 1e-6  # pairwise_distance's eps
        return ((diff.abs() ** p).sum(-1, keepdim=True) ** (1 / p)).movedim(-1, d)
    if name in S42_BINARY:
        # both operands carry every vmap level (see bodies_s39)
        u, t = h + 0 * y, y + 0 * h
        if name == "copysign_y":
            # the sign from y moved off 0 (copysign's derivative jumps there)
            return lib.copysign(u, t.abs() + 0.25 if a % 2 else -(t.abs() + 0.25))
        return F.binary_cross_entropy_with_logits(u, lib.sigmoid(t), reduction="none")
    if name == "renorm_d":
        # a max norm well below every slice's norm (the clip is a kink where they meet)
        return lib.renorm(h + 2.0, 2.0, a % 2, 0.5)
    n = shape[0]
    eye = lib.eye(n, dtype=h.dtype)
    if name == "det_sq":
        return h * lib.linalg.det(eye * 2.0 + h * 0.25)
    if name == "slogdet_sq":
        sign, logabs = lib.linalg.slogdet(eye * 2.0 + h * 0.25)
        return h * logabs + sign
    if name in ("det_sq_c", "slogdet_sq_c"):  # det by its formula (see bodies.steer)
        det = _leibniz(eye * 2.0 + h * 0.25)
        return h * det if name == "det_sq_c" else h * lib.log(det.abs()) + lib.sign(det)
    if name == "cholesky_sq":
        m = h * 0.25
        return lib.linalg.cholesky(m @ m.mT + eye * 1.5, upper=bool(a % 2))
    if name == "tri_sq":
        return lib.tril(h, a % 2 - 1) + lib.triu(h * 0.5, a // 2)
    return lib.linalg.matrix_power(h * 0.5, 2 + a % 2)
