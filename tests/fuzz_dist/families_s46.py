"""Distribution families of the fuzzer, session 46: ``MixtureSameFamily`` over the component
families no mixture drew yet (Laplace, StudentT, Poisson, Bernoulli, Beta, Independent
Gamma, Exponential) and ``TransformedDistribution`` over a bounded or positive base (Gamma,
Beta, Uniform, Exponential) rather than a Normal. Same contract as :mod:`.families`:
``name -> (draw(rng, batch, edge) -> (params, meta), build(lib, params, meta, validate))``.

Self-contained (its own two samplers of parameters): :mod:`.families` imports this table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["S46_FAMILIES"]


def _real(rng, shape):
    return rng.normal(0.0, 2.0, shape)


def _pos(rng, shape, edge=False, lo=-2.0, hi=2.0):
    x = np.exp(rng.uniform(lo, hi, shape))
    if edge and x.size and rng.random() < 0.4:
        x.reshape(-1)[int(rng.integers(x.size))] = rng.choice([1e-3, 1e3])
    return x


_COMPONENTS = ("Laplace", "StudentT", "Poisson", "Bernoulli", "Beta", "IndependentGamma",
               "Exponential")  # fmt: skip


def _mixture_other(rng, b, e):
    k = int(rng.integers(1, 4))
    comp = _COMPONENTS[int(rng.integers(len(_COMPONENTS)))]
    shape = b + (k,)
    P = {"logits": _real(rng, shape)}
    if comp in ("Laplace", "StudentT"):
        P["loc"], P["scale"] = _real(rng, shape), _pos(rng, shape, e)
        if comp == "StudentT":
            P["df"] = _pos(rng, shape, False, 0.0, 2.0)
    elif comp == "Poisson":
        P["rate"] = _pos(rng, shape, e, -2.0, 2.0)
    elif comp == "Bernoulli":
        P["probs"] = rng.uniform(0.05, 0.95, shape)
    elif comp == "Beta":
        P["a"], P["b"] = _pos(rng, shape, e, -1.0, 1.5), _pos(rng, shape, e, -1.0, 1.5)
    elif comp == "IndependentGamma":
        n = int(rng.integers(1, 4))
        P["a"], P["b"] = _pos(rng, shape + (n,), e, -1.0, 1.5), _pos(rng, shape + (n,))
    else:
        P["rate"] = _pos(rng, shape, e)
    return P, {"comp": comp}


def _component(lib, P, comp):
    if comp == "Laplace":
        return lib.Laplace(P["loc"], P["scale"])
    if comp == "StudentT":
        return lib.StudentT(P["df"], P["loc"], P["scale"])
    if comp == "Poisson":
        return lib.Poisson(P["rate"])
    if comp == "Bernoulli":
        return lib.Bernoulli(probs=P["probs"])
    if comp == "Beta":
        return lib.Beta(P["a"], P["b"])
    if comp == "IndependentGamma":
        return lib.Independent(lib.Gamma(P["a"], P["b"]), 1)
    return lib.Exponential(P["rate"])


def _build_mixture(lib, P, meta, va):
    mix = lib.Categorical(logits=P["logits"])
    return lib.MixtureSameFamily(mix, _component(lib, P, meta["comp"]), validate_args=va)


_BASES = ("Gamma", "Beta", "Uniform", "Exponential")
_CHAINS = ("affine", "exp", "power", "sigmoid_affine", "log_affine")


def _transformed_other(rng, b, e):
    base = _BASES[int(rng.integers(len(_BASES)))]
    if base in ("Gamma", "Beta"):
        P = {"a": _pos(rng, b, e, -1.0, 1.5), "b": _pos(rng, b, e, -1.0, 1.5)}
    elif base == "Uniform":
        low = _real(rng, b)
        P = {"a": low, "b": low + _pos(rng, b, False, -1.0, 1.0)}
    else:
        P = {"a": _pos(rng, b, e)}
    chain = _CHAINS[int(rng.integers(len(_CHAINS)))]
    if base == "Uniform" and chain in ("power", "log_affine"):
        chain = "affine"  # a real base: no power / log of negative values
    meta = {"base": base, "chain": chain, "loc": float(rng.normal()),
            "s": float(rng.choice([0.5, 2.0, -1.5]))}  # fmt: skip
    return P, meta


def _chain(lib, meta):
    loc, s = meta["loc"], meta["s"]
    return {
        "affine": [lib.AffineTransform(loc, s)],
        "exp": [lib.ExpTransform()],
        "power": [lib.PowerTransform(abs(s))],
        "sigmoid_affine": [lib.SigmoidTransform(), lib.AffineTransform(loc, s)],
        "log_affine": [lib.ExpTransform().inv, lib.AffineTransform(loc, s)],
    }[meta["chain"]]


def _build_transformed(lib, P, meta, va):
    base = meta["base"]
    if base == "Gamma":
        d = lib.Gamma(P["a"], P["b"])
    elif base == "Beta":
        d = lib.Beta(P["a"], P["b"])
    elif base == "Uniform":
        d = lib.Uniform(P["a"], P["b"])
    else:
        d = lib.Exponential(P["a"])
    return lib.TransformedDistribution(d, _chain(lib, meta), validate_args=va)


S46_FAMILIES: dict[str, tuple[Callable, Callable]] = {
    "MixtureOther": (_mixture_other, _build_mixture),
    "TransformedOther": (_transformed_other, _build_transformed),
}
