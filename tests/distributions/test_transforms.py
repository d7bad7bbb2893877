"""Transforms, ``biject_to``/``transform_to`` and ``TransformedDistribution`` against
PyTorch in float64: forward, inverse and log|det J| (values and gradients), the log-det
against an autograd Jacobian, shapes, signs, caching, equality, domains and codomains."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.distributions as td
import torch.distributions.transforms as tT

import chainrule as cr
import chainrule.distributions as crd
import chainrule.distributions.transforms as cT
from chainrule.distributions.constraint_registry import biject_to, transform_to
from chainrule.distributions.log_normal import LogNormal
from chainrule.distributions.multivariate_normal import MultivariateNormal
from chainrule.distributions.transformed_distribution import TransformedDistribution

from ._helpers import assert_close, to_np

rng = np.random.default_rng(0)


def _lib(T: Any) -> Any:
    return torch if T is tT else cr


# name -> (transform over a transforms module, input generator)
TRANSFORMS: dict[str, tuple[Any, Any]] = {
    "exp": (lambda T: T.ExpTransform(), lambda: rng.standard_normal((2, 3))),
    "power": (
        lambda T: T.PowerTransform(_lib(T).tensor(np.array([0.5, 2.0, -1.5]))),
        lambda: rng.uniform(0.2, 3, (2, 3)),
    ),
    "sigmoid": (lambda T: T.SigmoidTransform(), lambda: rng.standard_normal((2, 3)) * 3),
    "softplus": (lambda T: T.SoftplusTransform(), lambda: rng.standard_normal((2, 3)) * 3),
    "tanh": (lambda T: T.TanhTransform(), lambda: rng.standard_normal((2, 3))),
    "abs": (lambda T: T.AbsTransform(), lambda: rng.standard_normal((2, 3))),
    "affine_scalar": (lambda T: T.AffineTransform(1.5, -2.0), lambda: rng.standard_normal((2, 3))),
    "affine_tensor": (
        lambda T: T.AffineTransform(
            _lib(T).tensor(np.array([0.1, 0.2, 0.3])), _lib(T).tensor(np.array([2.0, -0.5, 1.0]))
        ),
        lambda: rng.standard_normal((2, 3)),
    ),
    "affine_event": (
        lambda T: T.AffineTransform(0.0, _lib(T).tensor(np.array([2.0, -0.5, 1.0])), event_dim=1),
        lambda: rng.standard_normal((2, 3)),
    ),
    "softmax": (lambda T: T.SoftmaxTransform(), lambda: rng.standard_normal((2, 4))),
    "stick_breaking": (lambda T: T.StickBreakingTransform(), lambda: rng.standard_normal((2, 3))),
    "lower_cholesky": (
        lambda T: T.LowerCholeskyTransform(),
        lambda: rng.standard_normal((2, 3, 3)),
    ),
    "positive_definite": (
        lambda T: T.PositiveDefiniteTransform(),
        lambda: rng.standard_normal((2, 3, 3)),
    ),
    "corr_cholesky": (lambda T: T.CorrCholeskyTransform(), lambda: rng.standard_normal((2, 6))),
    "compose": (
        lambda T: T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 3.0)]),
        lambda: rng.standard_normal((2, 3)),
    ),
    "compose_event": (
        lambda T: T.ComposeTransform([T.StickBreakingTransform(), T.ExpTransform()]),
        lambda: rng.standard_normal((2, 3)),
    ),
    "identity": (lambda T: T.identity_transform, lambda: rng.standard_normal((2, 3))),
    "independent": (
        lambda T: T.IndependentTransform(T.SigmoidTransform(), 1),
        lambda: rng.standard_normal((2, 3)),
    ),
    "reshape": (lambda T: T.ReshapeTransform((6,), (2, 3)), lambda: rng.standard_normal((4, 6))),
    "sigmoid_inv": (lambda T: T.SigmoidTransform().inv, lambda: rng.uniform(0.05, 0.95, (2, 3))),
    "cdf": (
        lambda T: T.CumulativeDistributionTransform(
            (td if T is tT else crd).Normal(
                _lib(T).tensor(np.array([0.1, -0.3, 0.5])),
                _lib(T).tensor(np.array([1.0, 2.0, 0.5])),
            )
        ),
        lambda: rng.standard_normal((2, 3)),
    ),
    "cat": (
        lambda T: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], 1, [1, 2]),
        lambda: rng.standard_normal((2, 3)),
    ),
    "stack": (
        lambda T: T.StackTransform([T.ExpTransform(), T.TanhTransform()], 1),
        lambda: rng.standard_normal((3, 2)),
    ),
}


def _grads(out: Any, leaves: list[Any], lib: Any) -> list[Any]:
    w = np.random.default_rng(5).standard_normal(tuple(out.shape))
    if lib is torch:
        return list(
            torch.autograd.grad(
                (out * torch.tensor(w)).sum(), leaves, allow_unused=True, retain_graph=True
            )
        )
    return list(
        cr.autograd.grad((out * cr.tensor(w)).sum(), leaves, allow_unused=True, retain_graph=True)
    )


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_forward_inverse_logdet_match_torch(name: str) -> None:
    make, gen = TRANSFORMS[name]
    c, t = make(cT), make(tT)
    x = gen()
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = c(cx), t(tx)
    assert_close(cy, ty)
    assert_close(_grads(cy, [cx], cr)[0], _grads(ty, [tx], torch)[0])
    # the inverse on a fresh output (no cache)
    y = to_np(ty)
    cyv, tyv = cr.tensor(y, requires_grad=True), torch.tensor(y, requires_grad=True)
    cinv, tinv = c.inv(cyv), t.inv(tyv)
    assert_close(cinv, tinv, rtol=1e-8, atol=1e-10)
    assert_close(_grads(cinv, [cyv], cr)[0], _grads(tinv, [tyv], torch)[0], rtol=1e-7, atol=1e-9)
    try:
        tl = t.log_abs_det_jacobian(tx, ty)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            c.log_abs_det_jacobian(cx, cy)
        return
    cl = c.log_abs_det_jacobian(cx, cy)
    assert_close(cl, tl)
    if not tl.requires_grad:  # constant in x (affine maps)
        assert not cl.requires_grad
        return
    assert_close(_grads(cl, [cx], cr)[0], _grads(tl, [tx], torch)[0], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_metadata_matches_torch(name: str) -> None:
    make, gen = TRANSFORMS[name]
    c, t = make(cT), make(tT)
    x = gen()
    for attr in ("bijective",):
        assert getattr(c, attr) == getattr(t, attr)
    assert repr(c.domain).replace("torch.", "") == repr(t.domain).replace("torch.", "")
    assert repr(c.codomain).replace("torch.", "") == repr(t.codomain).replace("torch.", "")
    assert c.domain.event_dim == t.domain.event_dim
    assert c.codomain.event_dim == t.codomain.event_dim
    shape = tuple(x.shape)
    assert tuple(c.forward_shape(cr.Size(shape))) == tuple(t.forward_shape(torch.Size(shape)))
    y_shape = tuple(t(torch.tensor(x)).shape)
    assert tuple(c.inverse_shape(cr.Size(y_shape))) == tuple(t.inverse_shape(torch.Size(y_shape)))
    try:
        ts = t.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            _ = c.sign
        return
    assert_close(np.asarray(to_np(c.sign), dtype=float), np.asarray(to_np(ts), dtype=float))


JACOBIAN_CASES = [
    "exp",
    "power",
    "sigmoid",
    "softplus",
    "tanh",
    "affine_tensor",
    "affine_event",
    "compose",
    "independent",
    "sigmoid_inv",
    "cdf",
    "stick_breaking",
]


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_log_abs_det_jacobian_matches_autograd_jacobian(name: str) -> None:
    make, gen = TRANSFORMS[name]
    t = make(cT)
    x = gen()[0]  # one event (a vector)

    def f(v: cr.Tensor) -> cr.Tensor:
        y = t(v)
        return y[:-1] if name == "stick_breaking" else y  # the last coordinate is determined

    jac = to_np(cr.autograd.functional.jacobian(f, cr.tensor(x)))
    want = np.log(np.abs(np.linalg.det(jac)))
    xt = cr.tensor(x)
    got = to_np(t.log_abs_det_jacobian(xt, t(xt)))
    if t.domain.event_dim == 0:
        got = got.sum()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


def test_inverse_caching_and_identity() -> None:
    t = cT.ExpTransform(cache_size=1)
    x = cr.tensor([0.5, 1.0], dtype=cr.float64)
    y = t(x)
    assert t(x) is y and t.inv(y) is x
    u = cT.ExpTransform()
    assert u.inv(u(x)) is not x
    assert u.inv.inv is u
    assert u.with_cache(1)._cache_size == 1 and u.with_cache(0) is u
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        cT.ExpTransform(cache_size=2)
    assert cT.ExpTransform() == cT.ExpTransform() and cT.ExpTransform() != cT.TanhTransform()
    assert cT.AffineTransform(1.0, 2.0) == cT.AffineTransform(1.0, 2.0)
    assert cT.AffineTransform(1.0, 2.0) != cT.AffineTransform(1.0, 3.0)
    assert cT.identity_transform(x) is x
    assert cT.ComposeTransform([u, cT.TanhTransform()]).inv.parts[0] == cT.TanhTransform().inv
    assert repr(cT.ExpTransform()) == "ExpTransform()"
    assert repr(cT.ExpTransform().inv) == "_InverseTransform(ExpTransform())"
    with pytest.raises(ValueError, match="different numbers of elements"):
        cT.ReshapeTransform((2, 3), (5,))


CONSTRAINTS = [
    ("real", lambda C: C.real),
    ("positive", lambda C: C.positive),
    ("nonnegative", lambda C: C.nonnegative),
    ("greater_than", lambda C: C.greater_than(1.5)),
    ("less_than", lambda C: C.less_than(-2.0)),
    ("unit_interval", lambda C: C.unit_interval),
    ("interval", lambda C: C.interval(-1.0, 3.0)),
    ("simplex", lambda C: C.simplex),
    ("independent", lambda C: C.independent(C.positive, 1)),
    ("lower_cholesky", lambda C: C.lower_cholesky),
    ("positive_definite", lambda C: C.positive_definite),
    ("corr_cholesky", lambda C: C.corr_cholesky),
]


@pytest.mark.parametrize("name, make", CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry_matches_torch(name: str, make: Any, registry: str) -> None:
    creg = biject_to if registry == "biject_to" else transform_to
    treg = getattr(td, registry)
    cc, tc = make(crd.constraints), make(td.constraints)
    try:
        tt = treg(tc)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            creg(cc)
        return
    ct = creg(cc)
    assert type(ct).__name__ == type(tt).__name__
    shape = {"lower_cholesky": (2, 3, 3), "positive_definite": (2, 3, 3)}.get(name, (2, 3))
    x = rng.standard_normal(shape)
    y = ct(cr.tensor(x))
    assert_close(y, tt(torch.tensor(x)), rtol=1e-9)
    assert bool(cc.check(y).all())
    if registry == "biject_to":
        assert ct.bijective
        assert_close(ct.inv(y), x, rtol=1e-7, atol=1e-9)


def test_constraint_registry_register_and_errors() -> None:
    with pytest.raises(NotImplementedError, match="Cannot transform"):
        biject_to(crd.constraints.boolean)
    with pytest.raises(TypeError, match="Constraint subclass or instance"):
        biject_to.register(int, lambda c: cT.ExpTransform())


# ------------------------------------------------------------- TransformedDistribution
def _pair(make: Any, x: dict[str, np.ndarray]) -> tuple[Any, Any, dict, dict]:
    cp = {k: cr.tensor(v, requires_grad=True) for k, v in x.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in x.items()}
    return make(crd, cT, cp), make(td, tT, tp), cp, tp


TD_CASES = {
    "exp_affine": (
        lambda D, T, p: (TransformedDistribution if D is crd else td.TransformedDistribution)(
            D.Normal(p["loc"], p["s"]), [T.ExpTransform(), T.AffineTransform(p["a"], p["b"])]
        ),
        {
            "loc": rng.standard_normal(3),
            "s": rng.uniform(0.5, 2, 3),
            "a": rng.standard_normal(3),
            "b": rng.uniform(0.5, 2, 3),
        },
        lambda: np.exp(rng.standard_normal((4, 3))) * 1.5 + 1.2,
    ),
    "negative_scale": (
        lambda D, T, p: (TransformedDistribution if D is crd else td.TransformedDistribution)(
            D.Exponential(p["r"]), T.AffineTransform(0.0, -2.0)
        ),
        {"r": rng.uniform(0.5, 2, 3)},
        lambda: -rng.uniform(0.1, 3, (4, 3)),
    ),
    "stick_breaking": (
        lambda D, T, p: (TransformedDistribution if D is crd else td.TransformedDistribution)(
            (MultivariateNormal if D is crd else td.MultivariateNormal)(p["loc"], p["S"]),
            T.StickBreakingTransform(),
        ),
        {"loc": rng.standard_normal(3), "S": np.eye(3) * 0.7 + 0.1},
        lambda: np.random.default_rng(4).dirichlet(np.ones(4), 5),
    ),
    "reshape": (
        lambda D, T, p: (TransformedDistribution if D is crd else td.TransformedDistribution)(
            D.Independent(D.Normal(p["loc"], p["s"]), 1), T.ReshapeTransform((6,), (2, 3))
        ),
        {"loc": rng.standard_normal(6), "s": rng.uniform(0.5, 2, 6)},
        lambda: rng.standard_normal((4, 2, 3)),
    ),
}


@pytest.mark.parametrize("name", sorted(TD_CASES))
def test_transformed_distribution_matches_torch(name: str) -> None:
    make, params, gen = TD_CASES[name]
    c, t, cp, tp = _pair(make, params)
    assert tuple(c.batch_shape) == tuple(t.batch_shape)
    assert tuple(c.event_shape) == tuple(t.event_shape)
    assert repr(c.support).replace("torch.", "") == repr(t.support).replace("torch.", "")
    v = gen()
    cl, tl = c.log_prob(cr.tensor(v)), t.log_prob(torch.tensor(v))
    assert_close(cl, tl)
    for a, b in zip(_grads(cl, list(cp.values()), cr), _grads(tl, list(tp.values()), torch)):
        assert_close(a, b, rtol=1e-8, atol=1e-10)
    for shape in [(), (5,)]:
        assert tuple(c.sample(shape).shape) == tuple(t.sample(shape).shape)
        assert tuple(c.rsample(shape).shape) == tuple(t.rsample(shape).shape)
    assert bool(c.support.check(c.sample((7,))).all())
    e = c.expand((2, *c.batch_shape))
    assert tuple(e.batch_shape) == tuple(t.expand((2, *t.batch_shape)).batch_shape)


def test_transformed_distribution_cdf_icdf_and_errors() -> None:
    loc, s = np.array([0.2, -0.1]), np.array([0.7, 1.4])
    c = TransformedDistribution(
        crd.Normal(cr.tensor(loc), cr.tensor(s)), cT.AffineTransform(1.0, -2.0)
    )
    t = td.TransformedDistribution(
        td.Normal(torch.tensor(loc), torch.tensor(s)), tT.AffineTransform(1.0, -2.0)
    )
    v = rng.standard_normal((3, 2))
    assert_close(c.cdf(cr.tensor(v)), t.cdf(torch.tensor(v)))
    u = rng.uniform(0.05, 0.95, (3, 2))
    assert_close(c.icdf(cr.tensor(u)), t.icdf(torch.tensor(u)))
    with pytest.raises(ValueError, match="transforms must be a Transform or"):
        TransformedDistribution(crd.Normal(0.0, 1.0), [1])
    with pytest.raises(NotImplementedError):
        _ = c.mean
    ln = LogNormal(cr.tensor(loc), cr.tensor(s))
    assert_close(ln.mean, td.LogNormal(torch.tensor(loc), torch.tensor(s)).mean)
