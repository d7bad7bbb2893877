"""Comparison helpers of the distribution fuzzer: run one step on both libraries, turning
results into numpy arrays (or the exception's class name), and compare them with a tolerance
that depends on the dtype."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import chainrule as cr

# Relative tolerances. float64: the two libraries evaluate the same formulas in a different
# order (and chainrule's special functions are numpy/scipy ones, torch's its own), so ~1e-12
# is typical; 1e-7 leaves room for cancellation in log-normalisers (lbeta, lgamma sums) and
# the iterative special functions (VonMises's Bessel ratios, incomplete betas). float32:
# a few ulps per op through chains of ~10 ops, with cancellation (entropies of
# near-degenerate distributions), hence 2e-3.
RTOL = {"float64": 1e-7, "float32": 2e-3}
# Edge cases (a scale of 1e-6 or 1e6, a concentration of 1e6) evaluate differences of nearly
# equal terms (Weibull's Gamma(1 + 2/k) - Gamma(1 + 1/k)**2 at k = 1e6, a low-rank capacitance
# of a 1e6 diagonal): condition numbers ~1e9..1e12, so float64 keeps ~4 digits and float32
# only its reference slack (below) and a 2% relative one.
RTOL_EDGE = {"float64": 1e-3, "float32": 2e-2}


def to_np(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, cr.Tensor):
        return x.detach().numpy()
    if isinstance(x, (tuple, list)):
        return tuple(to_np(v) for v in x)
    return x


def attempt(fn: Callable[[], Any]) -> tuple:
    """``("ok", value)`` or ``("err", class name, message, names of the class and its bases)``."""
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - the point is to compare the errors
        names = frozenset(k.__name__ for k in type(exc).__mro__)
        return ("err", type(exc).__name__, str(exc)[:120], names)


# Error classes taken as the same error: torch raises RuntimeError from its kernels where
# chainrule (numpy underneath) raises ValueError/IndexError; the class a user catches for an
# invalid argument (ValueError from validate_args, NotImplementedError) must agree exactly.
_SAME = {
    frozenset({"RuntimeError", "ValueError"}),
    frozenset({"RuntimeError", "IndexError"}),
    frozenset({"_LinAlgError", "LinAlgError"}),  # torch.linalg.LinAlgError's class name
}


def same_error(t: tuple, c: tuple) -> bool:
    """Whether chainrule's error (an ``attempt`` result) is torch's or a subclass of it."""
    return any(
        t[1] == n or frozenset({t[1], n}) in _SAME
        for n in c[3] - {"Exception", "BaseException", "object"}
    )


def close(t: Any, c: Any, rtol: float, atol: float = 0.0) -> str | None:
    """None when the arrays agree, else a short description of the difference."""
    a, b = np.asarray(to_np(t)), np.asarray(to_np(c))
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        a, b = a.astype(float), b.astype(float)
    if a.dtype != b.dtype and not (a.dtype.kind in "iu" and b.dtype.kind in "iu"):
        return f"dtype {a.dtype} != {b.dtype}"
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    fa, fb = np.isfinite(a64), np.isfinite(b64)
    bad = (fa != fb) | (~fa & ~fb & ~((a64 == b64) | (np.isnan(a64) & np.isnan(b64))))
    both = fa & fb
    tol = atol + rtol * np.abs(a64)
    bad |= both & ~(np.abs(a64 - b64) <= tol)
    if not bad.any():
        return None
    i = tuple(int(v) for v in np.argwhere(bad)[0])
    return f"at {i}: torch {a64[i]!r} chainrule {b64[i]!r} ({int(bad.sum())} of {bad.size})"


def compare_results(
    what: str, t: tuple, c: tuple, rtol: float, atol: float, out: list, ref: tuple | None = None
) -> None:
    """Append a difference between two ``attempt`` results (values or errors) to ``out``.

    ``ref``: torch's float64 result for a float32 case. Where float32 is ill-conditioned
    (entropies/log-normalisers of huge parameters: sums of terms ~1e7 cancelling to ~10)
    torch's own float32 error ``|t32 - t64|`` is the rounding scale, and chainrule may be off
    by as much (times 10: its own float32 error of similar size on top) besides the tolerance.
    """
    if t[0] == "err" or c[0] == "err":
        if t[0] != c[0]:
            side = "torch" if t[0] == "err" else "chainrule"
            msg = t[1:] if t[0] == "err" else c[1:]
            out.append(f"{what}: only {side} raises {msg[0]}: {msg[1]}")
        elif not same_error(t, c):
            out.append(f"{what}: torch raises {t[1]} ({t[2]}), chainrule {c[1]} ({c[2]})")
        return
    if ref is not None and ref[0] == "ok":
        a, r = np.asarray(to_np(t[1]), np.float64), np.asarray(to_np(ref[1]), np.float64)
        if a.shape == r.shape:
            err = np.abs(a - r)
            atol = atol + 10.0 * np.where(np.isfinite(err), err, 0.0)
    d = close(t[1], c[1], rtol, atol)
    if d:
        out.append(f"{what}: {d}")


def grads(params: dict) -> dict:
    out = {}
    for k, p in params.items():
        g = p.grad
        out[k] = np.zeros(tuple(p.shape)) if g is None else to_np(g).astype(np.float64)
        p.grad = None
    return out
