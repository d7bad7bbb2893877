"""More checks of one distribution fuzz case (called from :func:`.cases.check`): log_prob,
cdf and entropy at the edges of the support (a value on a lower or upper bound, an integer
support's 0, a simplex vertex), ``expand`` to more leading dims and to a shape that does
not broadcast (both must refuse), and ``kl_divergence`` with a family torch has no formula
for (both must raise NotImplementedError)."""

from __future__ import annotations

import numpy as np
import torch
import torch.distributions as td

import chainrule as cr
import chainrule.distributions as crd

from .compare import attempt, compare_results, to_np

__all__ = ["support_edges", "expand_more", "kl_unregistered"]


def _bound(b, v: torch.Tensor) -> torch.Tensor | None:
    """``b`` (a number or a tensor) broadcast like the value ``v``, or None."""
    if b is None:
        return None
    try:
        return torch.as_tensor(b, dtype=v.dtype).expand(v.shape).clone()
    except RuntimeError:
        return None


def _edge_value(t, v: torch.Tensor, rng: np.random.Generator) -> torch.Tensor | None:
    """``v`` with some entries moved onto an edge of ``t``'s support."""
    sup = t.support
    while type(sup).__name__ == "_IndependentConstraint":
        sup = sup.base_constraint
    name = type(sup).__name__
    if name == "_Simplex":  # a vertex: one entry 1, the others 0
        k = v.shape[-1]
        return torch.nn.functional.one_hot(torch.tensor(int(rng.integers(k))), k).to(v.dtype)
    if name == "_Boolean":
        return torch.full_like(v, float(rng.integers(0, 2)))
    lo, hi = getattr(sup, "lower_bound", None), getattr(sup, "upper_bound", None)
    edges = [e for e in (_bound(lo, v), _bound(hi, v)) if e is not None]
    if not edges or v.numel() == 0:
        return None
    e = edges[int(rng.integers(len(edges)))].detach()
    pick = torch.tensor(rng.random(tuple(v.shape)) < 0.5)
    return torch.where(pick, e, v.detach())


def support_edges(case, t, c, rng, rtol: float, atol: float, out: list) -> None:
    """log_prob and cdf of a value on the support's edge, and the entropy again (the
    distribution's own parameters may sit on an edge: probabilities 0 and 1)."""
    torch.manual_seed(case.seed % 997)
    s = attempt(lambda: t.sample())
    if s[0] == "err" or not torch.is_tensor(s[1]):
        return
    w = attempt(lambda: _edge_value(t, s[1], rng))
    if w[0] == "err" or w[1] is None:
        return
    w = w[1]
    cw = cr.tensor(to_np(w))
    for what in ("log_prob", "cdf"):
        if what == "cdf" and t.event_shape != ():
            continue
        if what == "cdf" and type(t).__name__ == "Kumaraswamy":
            continue  # no cdf in torch (NotImplementedError both) - compared elsewhere
        a = attempt(lambda m=what: getattr(t, m)(w))
        b = attempt(lambda m=what: getattr(c, m)(cw))
        compare_results(f"{what}(support edge)", a, b, rtol, atol, out)


def expand_more(t, c, rtol: float, atol: float, out: list) -> None:
    """``expand`` to two more leading dims: the batch shape as torch's, and log_prob of a
    sample the expanded log_prob of the unexpanded distribution, broadcast (chainrule against
    itself: the values against torch's are compared in :func:`.cases._values`, with their
    tolerances for ill-conditioned draws); and to a shape that does not broadcast with the
    batch shape (both refuse)."""
    shape = (2, 1) + tuple(t.batch_shape)
    et, ec = attempt(lambda: t.expand(shape)), attempt(lambda: c.expand(shape))
    if et[0] == "err" or ec[0] == "err":  # (two distributions: their values below)
        compare_results("expand(2, 1, ...)", et, ec, rtol, atol, out)
    elif tuple(et[1].batch_shape) != tuple(ec[1].batch_shape):
        out.append(f"expand(2, 1, ...): torch {et[1].batch_shape} chainrule {ec[1].batch_shape}")
    else:
        torch.manual_seed(7)
        s = attempt(lambda: et[1].sample())
        if s[0] == "ok":
            v = cr.tensor(to_np(s[1]))
            a = attempt(lambda: c.log_prob(v).expand(tuple(s[1].shape)[: len(shape)]))
            b = attempt(lambda: ec[1].log_prob(v))
            compare_results("expand.log_prob (chainrule unexpanded)", a, b, 1e-12, 0.0, out)
    if t.batch_shape and t.batch_shape[-1] > 1:
        bad = tuple(t.batch_shape[:-1]) + (t.batch_shape[-1] + 1,)
        et, ec = attempt(lambda: t.expand(bad)), attempt(lambda: c.expand(bad))
        if et[0] == "err" or ec[0] == "err":
            compare_results("expand(bad shape)", et, ec, rtol, atol, out)


def kl_unregistered(case, t, c, q_family: str, build, rtol: float, atol: float, out: list):
    """kl_divergence(p, q) for a q of a family torch has no formula with p's (if one exists
    in the fuzzer): both raise NotImplementedError."""
    for p_cls, q_cls in td.kl._KL_REGISTRY:
        if p_cls is type(t) and q_cls.__name__ == q_family:
            return
    q = build(q_family)
    if q is None:
        return
    tq, cq = q
    a = attempt(lambda: td.kl_divergence(t, tq))
    b = attempt(lambda: crd.kl_divergence(c, cq))
    if a[0] == "ok" and b[0] == "ok":
        return  # a formula through a parent class in both: compared by value elsewhere
    compare_results(f"kl(unregistered {q_family})", a, b, rtol, atol, out)
