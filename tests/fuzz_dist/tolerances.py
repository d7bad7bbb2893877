"""Tolerances and masks of the distribution fuzzer for results that are rounding: gradients
through a low-rank covariance's small diagonal, log-determinants of near-singular Wishart
draws and scales, StudentT's cancelling df terms (used by :mod:`.cases`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .compare import to_np

__all__ = [
    "cov_diag_atol", "drop_singular", "fisher_df_terms", "lgamma_atol", "singular_scale",
    "studentt_df_terms", "value_atol",
]  # fmt: skip


def cov_diag_atol(case: Any, params: dict, key: str) -> float:
    """The rounding of a gradient with respect to a low-rank ``cov_diag``: its terms are of
    size ~1/D^2 (``(x - loc)^2 / D^2``, the capacitance's ``W' D^-2 W``) and cancel, so a
    small entry (edge: 1e-3, 1e-6) leaves an absolute error of ~eps/D^2 in either library
    (seed 1374769228, float32, D = 1e-3: the true gradient -0.094, torch -0.0625, chainrule
    -0.5625; seed 2043951779, D = 1e-6: true 0.156, torch 0.0, chainrule 2.6e5). The
    gradients of loc and cov_factor go through the same D^-1 products (same seed 1374769228:
    d/d loc true 0.46, torch 0.55, chainrule 0.30), so every key gets it."""
    diags = [np.abs(to_np(v).astype(np.float64)) for k, v in params.items() if "cov_diag" in k]
    low = min((float(d.min(initial=np.inf)) for d in diags), default=np.inf)
    # (x - loc)^2 and (loc_p - loc_q)^2 scale the terms: by the largest loc entry
    locs = [np.abs(to_np(v).astype(np.float64)) for k, v in params.items() if "loc" in k]
    spread = max((float(v.max(initial=0.0)) for v in locs), default=0.0)
    return 8.0 * float(np.finfo(case.dtype).eps) * max(1.0, 2.0 * spread) ** 2 / low**2


def lgamma_atol(case: Any, P: dict) -> float:
    """Beta's and Dirichlet's log-normalizer lgamma(a) + lgamma(b) - lgamma(a + b) sums
    terms of ~1e7 for a concentration of 1e6 (edge), which float32 keeps to an ulp of 1:
    the rounding is eps times their size (seed 58489704: true log_prob 12.009, torch 12.0,
    chainrule 11.63; the terms 1.3e7, so eps32 * 1.3e7 = 1.5)."""
    if case.family in ("Gamma", "Chi2", "InverseGamma"):
        # the same for Gamma(a)'s lgamma(a) against (a - 1) log x - rate x (session 35,
        # seed 2026004175: Chi2 df = 1e6 in float32, log_prob -8.0 vs -7.5 from terms of
        # 6e6)
        a = to_np(P["df"] / 2 if "df" in P else P["concentration"]).astype(np.float64)
        t = np.abs(torch.lgamma(torch.tensor(a)).numpy())
        return 4.0 * float(np.finfo(case.dtype).eps) * float(t[np.isfinite(t)].max(initial=0.0))
    if case.family not in ("Beta", "Dirichlet"):
        return 0.0
    conc = [to_np(v).astype(np.float64) for v in P.values()]
    total = sum(c.sum(axis=-1) if case.family == "Dirichlet" else c for c in conc)
    terms = [np.abs(torch.lgamma(torch.tensor(c)).numpy()) for c in [*conc, total]]
    finite = [t[np.isfinite(t)] for t in terms]
    return 2.0 * float(np.finfo(case.dtype).eps) * sum(float(t.max(initial=0.0)) for t in finite)


def value_atol(case: Any, v: torch.Tensor, atol: float) -> Any:
    """Wishart draws can be near-singular (torch warns "Singular sample detected" and the
    smallest eigenvalue is ~1e-9 of the largest); log-determinants then carry rounding of
    ~cond * eps, so the tolerance grows with each draw's condition number."""
    if case.family != "Wishart":
        return atol
    cond = np.linalg.cond(to_np(v).astype(np.float64))
    return atol + np.finfo(case.dtype).eps * np.where(np.isfinite(cond), cond, 0.0)


def drop_singular(case: Any, v: torch.Tensor, lp: tuple) -> tuple:
    """``lp`` with the log-densities of singular Wishart draws set to 0: a float32 edge draw
    (scale_tril's diagonal 1e-3, seed 528644080) can have a condition number past 1/eps,
    where its log-determinant is rounding (torch: log_prob inf, chainrule 35.8)."""
    if case.family != "Wishart" or lp[0] == "err":
        return lp
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(to_np(v).astype(np.float64))
    singular = ~np.isfinite(cond) | (cond * np.finfo(case.dtype).eps > 0.1)
    if not singular.any():
        return lp
    return ("ok", np.where(singular, 0.0, to_np(lp[1]).astype(np.float64)))


def singular_scale(case: Any, P: dict) -> bool:
    """Whether a Wishart's scale matrix is numerically singular (condition * eps > 1e-3):
    edge draws of scale_tril (diagonal 1e-3, off-diagonal ~1) reach a condition of 1e19
    in float64 (seed 1363357879), where the gradient of log_prob is rounding (torch's
    entries are off by 20x from a 60-digit reference, chainrule's by < 5%): not compared."""
    if case.family != "Wishart":
        return False
    m = next(to_np(v) for k, v in P.items() if k != "df").astype(np.float64)
    if "scale_tril" in P:
        m = m @ np.swapaxes(m, -1, -2)
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(m)
    return bool(np.any(~np.isfinite(cond) | (cond * np.finfo(case.dtype).eps > 1e-3)))


def studentt_df_terms(a: np.ndarray, tp: dict) -> float:
    """The size of the two terms of d sample / d df for StudentT, ``(x - loc) / (2 df)`` and
    ``-(x - loc) / (2 chi2) * d chi2 / d df``: they nearly cancel for a large df (seed
    1089557547: df 19.3, gradient 7.8e-4 from terms of ~5e-2), so torch's approximate gamma
    derivative (~1e-4 relative, chainrule's is exact) errs relative to them, not to the sum."""
    loc, df = to_np(tp["loc"]).astype(np.float64), to_np(tp["df"]).astype(np.float64)
    terms = np.abs(a.astype(np.float64) - loc) / (2.0 * df)
    return float(terms[np.isfinite(terms)].max(initial=0.0))


def fisher_df_terms(a: np.ndarray, tp: dict, k: str) -> float:
    """The size of the two terms of d sample / d df1 (or df2) for FisherSnedecor, ``Y / df``
    and ``Y / X * d X / d df`` (Y = (X1 / df1) / (X2 / df2), X a chi2 draw): they nearly
    cancel, and Y is huge where df2 is small (seed 593323466: df2 0.16, gradient 7.8e8), so
    torch's approximate gamma derivative (~1e-4 relative, chainrule's is exact) errs relative
    to them, not to the sum; summed over the draws each entry of ``df`` collects."""
    df = np.broadcast_to(to_np(tp[k]).astype(np.float64), a.shape)
    terms = np.abs(a.astype(np.float64)) / df
    return float(terms[np.isfinite(terms)].sum())
