"""The distribution families of the fuzzer: for each one a parameter drawer (numpy arrays from
a seeded generator, batch shape given) and a builder that makes the distribution from the
same parameters in either library (``torch.distributions`` or ``chainrule.distributions``).

``FAMILIES[name] = (draw_params, build)``: ``draw_params(rng, batch, edge)`` returns
``(params, meta)`` (float arrays that become leaf tensors with gradients; plain Python
settings such as a ``total_count`` or a transform choice), ``build(lib, P, meta, va)`` the
distribution (``P`` the parameter tensors of ``lib``, ``va`` the ``validate_args`` flag).
``edge`` asks for an edge value now and then (tiny/huge scales, probabilities 0 and 1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .families_s46 import S46_FAMILIES


def _bshape(rng: np.random.Generator, batch: tuple) -> tuple:
    """``batch`` or a broadcastable variant of it (a dropped leading dim or a 1)."""
    r = rng.random()
    if batch and r < 0.2:
        return batch[1:]
    if batch and r < 0.35:
        k = int(rng.integers(len(batch)))
        return batch[:k] + (1,) + batch[k + 1 :]
    return batch


def real(rng, batch, edge=False, event=()):
    x = rng.normal(0.0, 2.0, _bshape(rng, batch) + event)
    if edge and rng.random() < 0.3:
        x = x * 1e4
    return x


def pos(rng, batch, edge=False, event=(), lo=-2.0, hi=2.0):
    x = np.exp(rng.uniform(lo, hi, _bshape(rng, batch) + event))
    if edge and x.size and rng.random() < 0.4:
        flat = x.reshape(-1)
        flat[int(rng.integers(flat.size))] = rng.choice([1e-6, 1e-3, 1e3, 1e6])
    return x


def prob(rng, batch, edge=False, event=()):
    x = rng.uniform(0.02, 0.98, _bshape(rng, batch) + event)
    if edge and x.size and rng.random() < 0.4:
        flat = x.reshape(-1)
        flat[int(rng.integers(flat.size))] = rng.choice([0.0, 1.0, 1e-7, 1 - 1e-7])
    return x


def _k(rng) -> int:
    return int(rng.integers(1, 5))


def _tril(rng, batch, n, edge=False):
    a = rng.normal(0.0, 1.0, batch + (n, n))
    t = np.tril(a, -1)
    d = np.exp(rng.uniform(-1.0, 1.0, batch + (n,)))
    if edge and rng.random() < 0.3:
        d = d * 1e-3
    return t + d[..., :, None] * np.eye(n)


def _spd(rng, batch, n, edge=False):
    t = _tril(rng, batch, n, edge)
    return t @ np.swapaxes(t, -1, -2) + 1e-3 * np.eye(n)


def _probs_or_logits(rng, batch, edge, event=()):
    if rng.random() < 0.5:
        return {"probs": prob(rng, batch, edge, event)}, {"by": "probs"}
    return {"logits": real(rng, batch, edge, event)}, {"by": "logits"}


def _pl(P, meta) -> dict:
    return {meta["by"]: P[meta["by"]]}


# ---- drawers -------------------------------------------------------------------------------
def _loc_scale(rng, b, e):
    return {"loc": real(rng, b, e), "scale": pos(rng, b, e)}, {}


def _scale(rng, b, e):
    return {"scale": pos(rng, b, e)}, {}


def _two_pos(n1, n2):
    def draw(rng, b, e):
        return {n1: pos(rng, b, e), n2: pos(rng, b, e)}, {}

    return draw


def _categorical(rng, b, e):
    k = _k(rng) + 1
    if rng.random() < 0.5:
        p = pos(rng, b, e, (k,))
        if e and rng.random() < 0.3:
            p[..., 0] = 0.0
        return {"probs": p}, {"by": "probs"}
    return {"logits": real(rng, b, e, (k,))}, {"by": "logits"}


def _multinomial(rng, b, e):
    P, meta = _categorical(rng, b, e)
    meta["n"] = int(rng.integers(0, 8))
    return P, meta


def _binomial(rng, b, e):
    P, meta = _probs_or_logits(rng, b, e)
    P["total_count"] = rng.integers(0, 12, _bshape(rng, b)).astype(float)
    return P, meta


def _negbin(rng, b, e):
    P, meta = _probs_or_logits(rng, b, e)
    # probabilities near 1 make the gamma rate of the sampler infinite, where torch.poisson
    # returns INT64_MIN as a float (a torch quirk) and chainrule raises; kept away from
    if meta["by"] == "probs":
        P["probs"] = np.minimum(P["probs"], 0.95)
    else:
        P["logits"] = np.minimum(P["logits"], 3.0)
    P["total_count"] = pos(rng, b, e, lo=-1.0, hi=2.5)
    return P, meta


def _studentt(rng, b, e):
    return {
        "df": pos(rng, b, e, lo=-0.5, hi=3.0),
        "loc": real(rng, b, e),
        "scale": pos(rng, b, e),
    }, {}


def _uniform(rng, b, e):
    low = real(rng, b, e)
    return {"low": low, "high": low + pos(rng, b, e)}, {}


def _relaxed(event):
    def draw(rng, b, e):
        if event:
            P, meta = _categorical(rng, b, e)
        else:
            P, meta = _probs_or_logits(rng, b, e)
        P["temperature"] = pos(rng, (), e, lo=-1.0, hi=1.0)
        return P, meta

    return draw


def _dirichlet(rng, b, e):
    return {"concentration": pos(rng, b, e, (_k(rng) + 1,))}, {}


def _mvn(rng, b, e):
    n, which = (
        _k(rng),
        ["covariance_matrix", "precision_matrix", "scale_tril"][int(rng.integers(3))],
    )
    mb = _bshape(rng, b)
    mat = _tril(rng, mb, n, e) if which == "scale_tril" else _spd(rng, mb, n, e)
    return {"loc": real(rng, b, False, (n,)), which: mat}, {"which": which}


def _lowrank(rng, b, e):
    n, r = _k(rng), _k(rng)
    return {
        "loc": real(rng, b, False, (n,)),
        "cov_factor": rng.normal(0.0, 1.0, _bshape(rng, b) + (n, r)),
        "cov_diag": pos(rng, b, e, (n,), lo=-1.0, hi=1.0),
    }, {}


def _independent(rng, b, e):
    ev = (_k(rng),) if rng.random() < 0.6 else (_k(rng), _k(rng))
    nd = int(rng.integers(1, len(ev) + 1))
    return {"loc": real(rng, b + ev, e), "scale": pos(rng, b + ev, e)}, {"nd": nd}


_CHAINS = ("exp", "affine", "exp_affine", "sigmoid", "tanh", "power", "softplus", "abs")


def _transformed(rng, b, e):
    P, _ = _loc_scale(rng, b, False)
    P["scale"] = np.minimum(P["scale"], 2.0)
    return P, {
        "chain": _CHAINS[int(rng.integers(len(_CHAINS)))],
        "a": float(rng.normal()),
        "s": float(rng.uniform(0.3, 3)),
    }


def _mixture(rng, b, e):
    k = _k(rng) + 1
    ev = (_k(rng),) if rng.random() < 0.4 else ()
    P = {
        "logits": real(rng, b, e, (k,)),
        "loc": real(rng, b + (k,) + ev),
        "scale": pos(rng, b + (k,) + ev),
    }
    return P, {"ind": bool(ev)}


def _mixture_mvn(rng, b, e):
    k, n = _k(rng) + 1, _k(rng)
    P = {"logits": real(rng, b, e, (k,)), "loc": real(rng, b + (k, n))}
    which = "scale_tril" if rng.random() < 0.6 else "covariance_matrix"
    P[which] = _tril(rng, b + (k,), n, e) if which == "scale_tril" else _spd(rng, b + (k,), n, e)
    return P, {"which": which}


def _mixture_gamma(rng, b, e):
    k = _k(rng) + 1
    return {
        "probs": rng.dirichlet(np.ones(k), _bshape(rng, b)),
        "concentration": pos(rng, b + (k,), e, lo=-1.0, hi=2.0),
        "rate": pos(rng, b + (k,), e, lo=-1.0, hi=1.0),
    }, {}


def _independent_other(rng, b, e):
    base = ("Gamma", "Bernoulli", "Beta", "LowRankMultivariateNormal")[int(rng.integers(4))]
    if base == "LowRankMultivariateNormal":
        n, r = _k(rng), _k(rng)
        P = {
            "loc": real(rng, b + (2,), False, (n,)),
            "cov_factor": rng.normal(0.0, 1.0, b + (2, n, r)),
            "cov_diag": pos(rng, b + (2,), e, (n,), lo=-1.0, hi=1.0),
        }
        return P, {"base": base, "nd": 1}
    ev = (_k(rng),) if rng.random() < 0.6 else (_k(rng), _k(rng))
    nd = int(rng.integers(0, len(ev) + 1))
    if base == "Bernoulli":
        return {"probs": prob(rng, b + ev, e)}, {"base": base, "nd": nd}
    names = ("concentration", "rate") if base == "Gamma" else ("concentration1", "concentration0")
    return {k: pos(rng, b + ev, e, lo=-1.0, hi=1.5) for k in names}, {"base": base, "nd": nd}


def _make_independent_other(lib, P, m, va):
    base = getattr(lib, m["base"])(**P)
    return lib.Independent(base, m["nd"], validate_args=va)


def _wishart(rng, b, e):
    n, which = (
        _k(rng),
        ["covariance_matrix", "precision_matrix", "scale_tril"][int(rng.integers(3))],
    )
    mat = (
        _tril(rng, _bshape(rng, b), n, e)
        if which == "scale_tril"
        else _spd(rng, _bshape(rng, b), n, e)
    )
    return {which: mat, "df": n - 1 + pos(rng, b, False, lo=-1.0, hi=2.0)}, {"which": which}


def _lkj(rng, b, e):
    return {"concentration": pos(rng, b, e, lo=-1.0, hi=1.5)}, {"dim": int(rng.integers(2, 5))}


def _gpareto(rng, b, e):
    return {
        "loc": real(rng, b, e),
        "scale": pos(rng, b, e),
        "concentration": rng.uniform(-0.8, 0.8, _bshape(rng, b)),
    }, {}


def _vonmises(rng, b, e):
    return {"loc": real(rng, b, e), "concentration": pos(rng, b, e, lo=-3.0, hi=3.0)}, {}


# ---- builders ------------------------------------------------------------------------------
def _transform_chain(lib, meta):
    a, s = meta["a"], meta["s"]
    return {
        "exp": [lib.ExpTransform()],
        "affine": [lib.AffineTransform(a, s)],
        "exp_affine": [lib.ExpTransform(), lib.AffineTransform(a, s)],
        "sigmoid": [lib.SigmoidTransform()],
        "tanh": [lib.TanhTransform()],
        "power": [lib.ExpTransform(), lib.PowerTransform(s)],
        "softplus": [lib.SoftplusTransform()],
        "abs": [lib.AffineTransform(a, s), lib.ExpTransform(), lib.AbsTransform()],
    }[meta["chain"]]


def _b(cls: str, *names: str) -> Callable:
    def build(lib, P, meta, va):
        return getattr(lib, cls)(*[P[n] for n in names], validate_args=va)

    return build


def _b_pl(cls: str, *names: str) -> Callable:
    def build(lib, P, meta, va):
        return getattr(lib, cls)(*[P[n] for n in names], validate_args=va, **_pl(P, meta))

    return build


FAMILIES: dict[str, tuple[Callable, Callable]] = {
    "Normal": (_loc_scale, _b("Normal", "loc", "scale")),
    "Bernoulli": (_probs_or_logits, _b_pl("Bernoulli")),
    "Categorical": (_categorical, _b_pl("Categorical")),
    "OneHotCategorical": (_categorical, _b_pl("OneHotCategorical")),
    "OneHotCategoricalStraightThrough": (_categorical, _b_pl("OneHotCategoricalStraightThrough")),
    "Multinomial": (
        _multinomial,
        lambda lib, P, m, va: lib.Multinomial(m["n"], validate_args=va, **_pl(P, m)),
    ),
    "Beta": (
        _two_pos("concentration1", "concentration0"),
        _b("Beta", "concentration1", "concentration0"),
    ),
    "Gamma": (_two_pos("concentration", "rate"), _b("Gamma", "concentration", "rate")),
    "InverseGamma": (
        _two_pos("concentration", "rate"),
        _b("InverseGamma", "concentration", "rate"),
    ),
    "Dirichlet": (_dirichlet, _b("Dirichlet", "concentration")),
    "Exponential": (lambda r, b, e: ({"rate": pos(r, b, e)}, {}), _b("Exponential", "rate")),
    "Laplace": (_loc_scale, _b("Laplace", "loc", "scale")),
    "Cauchy": (_loc_scale, _b("Cauchy", "loc", "scale")),
    "StudentT": (_studentt, _b("StudentT", "df", "loc", "scale")),
    "Chi2": (lambda r, b, e: ({"df": pos(r, b, e, lo=-1.0, hi=2.5)}, {}), _b("Chi2", "df")),
    "Poisson": (lambda r, b, e: ({"rate": pos(r, b, e, lo=-3, hi=3)}, {}), _b("Poisson", "rate")),
    "Binomial": (_binomial, _b_pl("Binomial", "total_count")),
    "NegativeBinomial": (_negbin, _b_pl("NegativeBinomial", "total_count")),
    "Geometric": (_probs_or_logits, _b_pl("Geometric")),
    "Uniform": (_uniform, _b("Uniform", "low", "high")),
    "LogNormal": (_loc_scale, _b("LogNormal", "loc", "scale")),
    "Gumbel": (_loc_scale, _b("Gumbel", "loc", "scale")),
    "HalfNormal": (_scale, _b("HalfNormal", "scale")),
    "HalfCauchy": (_scale, _b("HalfCauchy", "scale")),
    "Kumaraswamy": (
        _two_pos("concentration1", "concentration0"),
        _b("Kumaraswamy", "concentration1", "concentration0"),
    ),
    "Weibull": (_two_pos("scale", "concentration"), _b("Weibull", "scale", "concentration")),
    "Pareto": (_two_pos("scale", "alpha"), _b("Pareto", "scale", "alpha")),
    "VonMises": (_vonmises, _b("VonMises", "loc", "concentration")),
    "MultivariateNormal": (
        _mvn,
        lambda lib, P, m, va: lib.MultivariateNormal(
            P["loc"], validate_args=va, **{m["which"]: P[m["which"]]}
        ),
    ),
    "LowRankMultivariateNormal": (
        _lowrank,
        _b("LowRankMultivariateNormal", "loc", "cov_factor", "cov_diag"),
    ),
    "ContinuousBernoulli": (_probs_or_logits, _b_pl("ContinuousBernoulli")),
    "RelaxedBernoulli": (_relaxed(False), _b_pl("RelaxedBernoulli", "temperature")),
    "RelaxedOneHotCategorical": (_relaxed(True), _b_pl("RelaxedOneHotCategorical", "temperature")),
    "Independent": (
        _independent,
        lambda lib, P, m, va: lib.Independent(
            lib.Normal(P["loc"], P["scale"]), m["nd"], validate_args=va
        ),
    ),
    "TransformedDistribution": (
        _transformed,
        lambda lib, P, m, va: lib.TransformedDistribution(
            lib.Normal(P["loc"], P["scale"]), _transform_chain(lib, m), validate_args=va
        ),
    ),
    "MixtureSameFamily": (
        _mixture,
        lambda lib, P, m, va: lib.MixtureSameFamily(
            lib.Categorical(logits=P["logits"]),
            lib.Independent(lib.Normal(P["loc"], P["scale"]), 1)
            if m["ind"]
            else lib.Normal(P["loc"], P["scale"]),
            validate_args=va,
        ),
    ),
    "Wishart": (
        _wishart,
        lambda lib, P, m, va: lib.Wishart(P["df"], validate_args=va, **{m["which"]: P[m["which"]]}),
    ),
    "LKJCholesky": (
        _lkj,
        lambda lib, P, m, va: lib.LKJCholesky(m["dim"], P["concentration"], validate_args=va),
    ),
    "FisherSnedecor": (_two_pos("df1", "df2"), _b("FisherSnedecor", "df1", "df2")),
    "GeneralizedPareto": (_gpareto, _b("GeneralizedPareto", "loc", "scale", "concentration")),
    "LogisticNormal": (_loc_scale, _b("LogisticNormal", "loc", "scale")),
    # session 35: mixtures of multivariate normal and gamma components, Independent over
    # Gamma / Bernoulli / Beta (0 to all event dims) and over a batched low-rank normal
    "MixtureMVN": (
        _mixture_mvn,
        lambda lib, P, m, va: lib.MixtureSameFamily(
            lib.Categorical(logits=P["logits"]),
            lib.MultivariateNormal(P["loc"], **{m["which"]: P[m["which"]]}),
            validate_args=va,
        ),
    ),
    "MixtureGamma": (
        _mixture_gamma,
        lambda lib, P, m, va: lib.MixtureSameFamily(
            lib.Categorical(probs=P["probs"]),
            lib.Gamma(P["concentration"], P["rate"]),
            validate_args=va,
        ),
    ),
    "IndependentOther": (_independent_other, _make_independent_other),
    **S46_FAMILIES,  # session 46: mixtures and transforms of other bases (families_s46.py)
}

NAMES = tuple(FAMILIES)
