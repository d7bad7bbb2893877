"""One fuzz case: a family, a seed (which fixes the batch shape and the parameter values),
a dtype, ``validate_args`` and whether edge values are allowed. ``check(case)`` builds the
distribution in torch and chainrule and returns the list of differences (empty: agree)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd

from .compare import RTOL, RTOL_EDGE, attempt, close, compare_results, grads, to_np
from .families import FAMILIES, NAMES

BATCHES = ((), (1,), (3,), (2, 3), (3, 1), (2, 1, 2))

# Families whose ``sample`` draws the same numbers as torch's after both libraries'
# ``manual_seed(s)``: chainrule's generator mirrors torch's CPU rand/randn stream, and every
# sampler consumes it as torch's does (rejection samplers for gamma/poisson/binomial too)
# except VonMises's rejection loop and Wishart's Bartlett draws (checked case by case:
# 4 of 4 seeds agree for each family here, VonMises 1 of 4, Wishart 0 of 4). For those two
# only sample shapes and dtypes are compared.
OTHER_STREAM = frozenset({"VonMises", "Wishart"})
SAME_STREAM = frozenset(NAMES) - OTHER_STREAM
GAMMA_BASED = frozenset("Gamma Beta Chi2 Dirichlet FisherSnedecor InverseGamma StudentT".split())


@dataclasses.dataclass(frozen=True)
class Case:
    family: str
    seed: int
    dtype: str = "float64"
    va: bool = False
    edge: bool = False
    bad: bool = False  # one parameter entry made invalid (negative, zero, NaN, out of [0, 1])


# torch quirk: GeneralizedPareto's log_prob/cdf/entropy compare the concentration with a
# default-dtype ``torch.tensor(0.0)`` (``isclose``), which raises "Double did not match Float"
# for float64 parameters; its cases are drawn in float32 only.
FLOAT32_ONLY = frozenset({"GeneralizedPareto"})


def draw(rng: np.random.Generator, families: tuple = NAMES) -> Case:
    family = families[int(rng.integers(len(families)))]
    dtype = "float64" if rng.random() < 0.6 else "float32"
    return Case(
        family=family,
        seed=int(rng.integers(2**31)),
        dtype="float32" if family in FLOAT32_ONLY else dtype,
        va=bool(rng.random() < 0.5),
        edge=bool(rng.random() < 0.3),
        bad=bool(rng.random() < 0.12),
    )


def skipped(case: Case, P: dict, what: str) -> bool:
    """Checks steered away from torch quirks."""
    if case.family == "Kumaraswamy" and what == "mode":
        # torch quirk: its Kumaraswamy.mode is NaN for every valid parameter; chainrule returns
        # the true mode on purpose (documented in kumaraswamy.py)
        return True
    return False


def grad_close(case: Case, gt: np.ndarray, gc: np.ndarray, rtol: float, atol: float):
    """``close`` for gradients: float32 edge cases overflow inside torch (VonMises's Bessel
    ratios at a concentration of 1e6 give NaN gradients) where chainrule's intermediates stay
    finite; those entries are not compared."""
    if case.edge and case.dtype == "float32":
        keep = np.isfinite(gt)
        gt, gc = np.where(keep, gt, 0.0), np.where(keep, gc, 0.0)
    return close(gt, gc, rtol, grad_atol(case, gt, atol, rtol))


def grad_atol(case: Case, g: np.ndarray, atol: float, rtol: float) -> float:
    """Gradients of edge cases (scales 1e-6..1e6) cancel terms of the size of the largest
    entry; rounding there is relative to that entry, not to each one."""
    if case.edge and g.size:
        finite = np.abs(g[np.isfinite(g)])
        return atol + rtol * float(finite.max(initial=0.0))
    return atol


def params_of(case: Case, family: str | None = None, salt: int = 0, batch=None):
    rng = np.random.default_rng([case.seed, salt])
    if batch is None:
        batch = BATCHES[int(rng.integers(len(BATCHES)))]
    P, meta = FAMILIES[family or case.family][0](rng, batch, case.edge)
    P = {k: np.asarray(v, dtype=case.dtype) for k, v in P.items()}
    if case.bad and not salt:
        name = sorted(P)[int(rng.integers(len(P)))]
        flat = P[name].reshape(-1)
        flat[int(rng.integers(flat.size))] = rng.choice([-1.0, 0.0, np.nan, 1.5, -np.inf])
    return P, meta, rng


def build_both(case: Case, P: dict, meta: dict, family: str | None = None):
    """(torch params, torch dist or attempt error, chainrule params, chainrule dist or error)"""
    make = FAMILIES[family or case.family][1]
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in P.items()}
    cp = {k: cr.tensor(v, requires_grad=True) for k, v in P.items()}
    return (
        tp,
        attempt(lambda: make(td, tp, meta, case.va)),
        cp,
        attempt(lambda: make(crd, cp, meta, case.va)),
    )


def _outside(t, v: torch.Tensor, rng) -> torch.Tensor | None:
    """A value like ``v`` with some entries outside the support (None if none is found)."""
    tries = [v - 1e3, v + 0.5, -v - 0.5, v * 2.0 + 0.25, v * 0.0 - 1.0]
    for w in [tries[i] for i in rng.permutation(len(tries))]:
        try:
            w = w.to(v.dtype)
            ok = t.support.check(w)
        except Exception:  # noqa: BLE001
            continue
        if not bool(ok.all()):
            return w
    return None


def check(case: Case) -> list[str]:
    """The differences between torch and chainrule on ``case`` (warnings of both libraries,
    such as torch's "Singular sample detected" or NumPy's overflow, are silenced)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _check(case)


def _check(case: Case) -> list[str]:
    out: list[str] = []
    P, meta, rng = params_of(case)
    tp, t, cp, c = build_both(case, P, meta)
    rtol = (RTOL_EDGE if case.edge else RTOL)[case.dtype]
    atol = rtol * 1e-3
    if t[0] == "err" or c[0] == "err" or case.bad:
        # an invalid parameter: both raise (validate_args) or both build (what the garbage
        # evaluates to is not compared)
        # torch factorises the low-rank capacitance before validating arguments, so a NaN
        # cov_diag raises its LinAlgError where chainrule's validation raises ValueError first
        order = t[0] == c[0] == "err" and t[1] == "_LinAlgError" and c[1] == "ValueError"
        if (t[0] == "err" or c[0] == "err") and not order:
            compare_results("construct", t, c, rtol, atol, out)
        return out
    t, c = t[1], c[1]
    if tuple(t.batch_shape) != tuple(c.batch_shape) or tuple(t.event_shape) != tuple(c.event_shape):
        shapes = f"torch {t.batch_shape}/{t.event_shape} chainrule {c.batch_shape}/{c.event_shape}"
        out.append(f"shapes: {shapes}")
        return out
    ts, cs = type(t.support).__name__, type(c.support).__name__
    if ts.lstrip("_") != cs.lstrip("_"):
        out.append(f"support: torch {ts} chainrule {cs}")
    t64 = _ref64(case, P, meta)
    for name in ("mean", "variance", "stddev", "mode"):
        if skipped(case, P, name):
            continue
        ref = attempt(lambda n=name: getattr(t64, n)) if t64 is not None else None
        compare_results(
            name,
            attempt(lambda n=name: getattr(t, n)),
            attempt(lambda n=name: getattr(c, n)),
            rtol,
            atol,
            out,
            ref,
        )
    ref = attempt(t64.entropy) if t64 is not None else None
    compare_results("entropy", attempt(t.entropy), attempt(c.entropy), rtol, atol, out, ref)
    # each phase with a backward pass gets fresh distributions: lazily cached parameters
    # (``logits`` of a ``probs`` distribution, a Cholesky factor) hold a graph that the first
    # backward frees
    _values(case, *_fresh(case, P, meta), rng, rtol, atol, out, t64)
    _samples(case, *_fresh(case, P, meta), rtol, atol, out)
    _expand(t, c, rtol, atol, out)
    _kl(case, *_fresh(case, P, meta), rng, rtol, atol, out)
    return out


def _ref64(case, P, meta):
    """torch's float64 twin of a float32 case (the rounding reference), else None."""
    if case.dtype != "float32" or case.family in FLOAT32_ONLY:
        return None
    P64 = {k: torch.tensor(v.astype(np.float64)) for k, v in P.items()}
    r = attempt(lambda: FAMILIES[case.family][1](td, P64, meta, case.va))
    return r[1] if r[0] == "ok" else None


def _as64(v: torch.Tensor) -> torch.Tensor:
    return v.double() if v.is_floating_point() else v


def _fresh(case, P, meta):
    tp, t, cp, c = build_both(case, P, meta)
    return t[1], c[1], tp, cp


def _value_atol(case: Case, v: torch.Tensor, atol: float):
    """Wishart draws can be near-singular (torch warns "Singular sample detected" and the
    smallest eigenvalue is ~1e-9 of the largest); log-determinants then carry rounding of
    ~cond * eps, so the tolerance grows with each draw's condition number."""
    if case.family != "Wishart":
        return atol
    cond = np.linalg.cond(to_np(v).astype(np.float64))
    return atol + np.finfo(case.dtype).eps * np.where(np.isfinite(cond), cond, 0.0)


def _values(case, t, c, tp, cp, rng, rtol, atol, out, t64):
    def ref(fn, x):
        return attempt(lambda: fn(t64)(_as64(x))) if t64 is not None else None

    torch.manual_seed(case.seed % 1000)
    s = attempt(lambda: t.sample((2,)))
    if s[0] == "err":
        return
    v = s[1]
    cv = cr.tensor(to_np(v))
    lp_t, lp_c = attempt(lambda: t.log_prob(v)), attempt(lambda: c.log_prob(cv))
    compare_results(
        "log_prob(sample)",
        lp_t,
        lp_c,
        rtol,
        _value_atol(case, v, atol),
        out,
        ref(lambda d: d.log_prob, v),
    )
    finite = lp_t[0] == "ok" and bool(torch.isfinite(lp_t[1]).all())
    if finite and lp_c[0] == "ok" and lp_t[1].requires_grad:
        w = rng.normal(size=tuple(lp_t[1].shape))
        fin = np.isfinite(to_np(lp_t[1]))
        w = np.where(fin, w, 0.0).astype(case.dtype)
        r_t, r_c = (
            attempt(
                lambda: (
                    (torch.where(torch.tensor(fin), lp_t[1], 0.0) * torch.tensor(w))
                    .sum()
                    .backward()
                )
            ),
            attempt(
                lambda: (cr.where(cr.tensor(fin), lp_c[1], 0.0) * cr.tensor(w)).sum().backward()
            ),
        )
        gt, gc = grads(tp), grads(cp)
        compare_results("log_prob backward", r_t, r_c, rtol, atol, out)
        if r_t[0] == r_c[0] == "ok":
            for k in gt:
                if case.family == "Wishart" and k == "scale_tril":
                    # torch quirk: its cholesky_solve backward sends gradient into the upper
                    # triangle of scale_tril, which no computation reads (true gradient 0)
                    gt[k], gc[k] = np.tril(gt[k]), np.tril(gc[k])
                d = grad_close(case, gt[k], gc[k], rtol * 10, atol * 10)
                if d:
                    out.append(f"log_prob grad {k}: {d}")
    if t.event_shape == ():
        cdf_t, cdf_c = attempt(lambda: t.cdf(v)), attempt(lambda: c.cdf(cv))
        compare_results("cdf(sample)", cdf_t, cdf_c, rtol, atol, out, ref(lambda d: d.cdf, v))
        u = rng.uniform(0.001, 0.999, (2,) + tuple(t.batch_shape)).astype(case.dtype)
        if rng.random() < 0.2:
            u.reshape(-1)[0] = rng.choice([0.0, 1.0])
        tu = torch.tensor(u)
        icdf_t, icdf_c = attempt(lambda: t.icdf(tu)), attempt(lambda: c.icdf(cr.tensor(u)))
        compare_results("icdf", icdf_t, icdf_c, rtol, atol, out, ref(lambda d: d.icdf, tu))
    w = _outside(t, v, rng)
    if w is not None:
        cw = cr.tensor(to_np(w))
        lp_t, lp_c = attempt(lambda: t.log_prob(w)), attempt(lambda: c.log_prob(cw))
        compare_results(
            "log_prob(outside)", lp_t, lp_c, rtol, atol, out, ref(lambda d: d.log_prob, w)
        )


def _samples(case, t, c, tp, cp, rtol, atol, out):
    for meth in ("sample", "rsample"):
        if meth == "rsample" and not t.has_rsample:
            if c.has_rsample:
                out.append("has_rsample: chainrule True, torch False")
            continue
        torch.manual_seed(case.seed)
        cr.manual_seed(case.seed)
        st = attempt(lambda m=meth: getattr(t, m)((3, 1)))
        sc = attempt(lambda m=meth: getattr(c, m)((3, 1)))
        if st[0] == "err" or sc[0] == "err":
            compare_results(meth, st, sc, rtol, atol, out)
            continue
        a, b = to_np(st[1]), to_np(sc[1])
        if a.shape != b.shape or a.dtype != b.dtype:
            out.append(
                f"{meth} shape/dtype: torch {a.shape} {a.dtype} chainrule {b.shape} {b.dtype}"
            )
            continue
        if case.family not in SAME_STREAM:
            continue
        compare_results(meth, st, sc, rtol * 10, atol * 10, out)
        if meth == "rsample" and st[1].requires_grad:
            w = np.random.default_rng(case.seed).normal(size=a.shape).astype(case.dtype)
            fin = np.isfinite(a) & np.isfinite(b)
            w = np.where(fin, w, 0.0).astype(case.dtype)
            (torch.where(torch.tensor(fin), st[1], 0.0) * torch.tensor(w)).sum().backward()
            (cr.where(cr.tensor(fin), sc[1], 0.0) * cr.tensor(w)).sum().backward()
            gt, gc = grads(tp), grads(cp)
            for k in gt:
                # torch differentiates gamma draws with an approximation of the implicit
                # derivative d sample / d concentration (~1e-4 relative); all gamma-based
                # families (Beta, Chi2, Dirichlet, FisherSnedecor, InverseGamma, StudentT)
                # inherit it
                g_rtol = 1e-3 if case.family in GAMMA_BASED else rtol * 10
                g_atol = atol * 10
                if case.family in GAMMA_BASED:  # ... relative to the largest entry
                    g_atol += g_rtol * float(np.abs(gt[k][np.isfinite(gt[k])]).max(initial=0.0))
                d = grad_close(case, gt[k], gc[k], max(g_rtol, rtol * 10), g_atol)
                if d:
                    out.append(f"rsample grad {k}: {d}")


def _expand(t, c, rtol, atol, out):
    shape = (2,) + tuple(t.batch_shape)
    et, ec = attempt(lambda: t.expand(shape)), attempt(lambda: c.expand(shape))
    if et[0] == "err" or ec[0] == "err":
        compare_results("expand", et, ec, rtol, atol, out)
        return
    et, ec = et[1], ec[1]
    if tuple(ec.batch_shape) != shape or tuple(ec.event_shape) != tuple(et.event_shape):
        shapes = (
            f"chainrule {ec.batch_shape}/{ec.event_shape} torch {et.batch_shape}/{et.event_shape}"
        )
        out.append(f"expand: {shapes}")
        return
    compare_results(
        "expand.mean", attempt(lambda: et.mean), attempt(lambda: ec.mean), rtol, atol, out
    )
    st, sc = attempt(lambda: et.sample((2,))), attempt(lambda: ec.sample((2,)))
    if st[0] == sc[0] == "ok" and tuple(st[1].shape) != tuple(sc[1].shape):
        out.append(
            f"expand.sample shape: torch {tuple(st[1].shape)} chainrule {tuple(sc[1].shape)}"
        )


def _kl_partners(t) -> list[str]:
    names = []
    for p_cls, q_cls in td.kl._KL_REGISTRY:
        if p_cls is type(t) and q_cls.__name__ in FAMILIES:
            names.append(q_cls.__name__)
    return sorted(set(names))


def _kl(case, t, c, tp, cp, rng, rtol, atol, out):
    partners = _kl_partners(t)
    if not partners:
        return
    fam = partners[int(rng.integers(len(partners)))]
    for salt in range(1, 40):
        P, meta, _ = params_of(case, fam, salt, tuple(t.batch_shape))
        tq_p, tq, cq_p, cq = build_both(case, P, meta, fam)
        if tq[0] == "ok" and cq[0] == "ok" and tq[1].event_shape == t.event_shape:
            k_p = getattr(t, "_param", None)
            k_q = getattr(tq[1], "_param", None)
            if k_p is None or k_q is None or k_p.shape[-1:] == k_q.shape[-1:]:
                break
    else:
        return
    tq, cq = tq[1], cq[1]
    if tuple(tq.batch_shape) != tuple(t.batch_shape):
        return
    kt = attempt(lambda: td.kl_divergence(t, tq))
    kc = attempt(lambda: crd.kl_divergence(c, cq))
    if kt[0] == "err" and kc[0] == "ok" and "LowRank" in type(t).__name__ + type(tq).__name__:
        # torch quirk: its low-rank KL formulas expand the unbroadcast factors to a wrong
        # shape when the parameters broadcast differently (loc (1, 3, n), cov_factor
        # (3, n, r), ...) and raise; chainrule's value matches torch's on pre-expanded params
        # (test_found_cases.py)
        return
    compare_results(f"kl({case.family}, {fam})", kt, kc, rtol * 10, atol * 10, out)
    if kt[0] == kc[0] == "ok" and kt[1].requires_grad and bool(torch.isfinite(kt[1]).all()):
        fin = np.isfinite(to_np(kt[1]))
        r_t = attempt(lambda: torch.where(torch.tensor(fin), kt[1], 0.0).sum().backward())
        r_c = attempt(lambda: cr.where(cr.tensor(fin), kc[1], 0.0).sum().backward())
        compare_results("kl backward", r_t, r_c, rtol, atol, out)
        gt, gc = (
            grads({**tp, **{"q." + k: v for k, v in tq_p.items()}}),
            grads({**cp, **{"q." + k: v for k, v in cq_p.items()}}),
        )
        for k in gt:
            d = grad_close(case, gt[k], gc[k], rtol * 100, atol * 100)
            if d:
                out.append(f"kl grad {k}: {d}")
