"""PyTorch's CPU streams for the rejection samplers and the fills built on draws: after the
same seed, chainrule's Gamma / Dirichlet / Poisson / binomial draws, gumbel_softmax's noise,
rrelu's training slopes and trunc_normal_ are torch's numbers (exact, or to float rounding
where torch's vectorised log/sin/cos differ in the last bits), and the generator is left
where torch leaves it (the next draw is equal). The compiled kernels
(``_kernels/random_draws.py``) and their Python fallbacks give the same numbers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import jit, random_draws
from chainrule.random_mt19937 import TorchStream

BACKENDS = ["numpy"] + (["numba"] if jit.numba_available() else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    with jit.use_backend(request.param):
        yield request.param


def _both(seed: int, fn: Callable, exact: bool = True) -> None:
    """``fn(module)`` under ``manual_seed(seed)`` in torch and chainrule: equal values and
    an equal next draw (a float64 uniform, then a standard normal: the cached one)."""
    torch.manual_seed(seed)
    t = fn(torch).detach().double().numpy()
    t_next = (torch.rand(3, dtype=torch.float64).numpy(), torch.randn(1, dtype=torch.float64))
    cr.manual_seed(seed)
    c = fn(cr).detach().double().numpy()
    c_next = (cr.rand(3, dtype=cr.float64).numpy(), cr.randn(1, dtype=cr.float64))
    assert t.shape == c.shape
    if exact:
        np.testing.assert_array_equal(c, t)
    else:
        np.testing.assert_allclose(c, t, rtol=2e-6, atol=1e-7)
    np.testing.assert_array_equal(c_next[0], t_next[0])
    np.testing.assert_array_equal(c_next[1].numpy(), t_next[1].numpy())


def _dtype(m, name):
    return getattr(m, name)


SIZES = [1, 7, 1025, 20000]
DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dt", DTYPES)
def test_standard_gamma_any_size(backend, n, dt):
    if backend == "numpy" and n > 2000:
        pytest.skip("the Python loop: ~40 µs per element")
    rs = np.random.default_rng(n)
    a = rs.uniform(0.02, 4.0, n) * rs.choice([0.1, 1.0, 30.0], n)
    a[::11] = 0.0
    a = a.astype(dt)
    _both(n, lambda m: m._standard_gamma(m.tensor(a)))
    _both(n, lambda m: m.distributions.Gamma(m.tensor(a) + 0.5, 2.0).sample((2,)), exact=False)


@pytest.mark.parametrize("dt", DTYPES)
def test_dirichlet(backend, dt):
    _both(
        3,
        lambda m: m.distributions.Dirichlet(m.full((300, 4), 0.7, dtype=_dtype(m, dt))).sample(),
        exact=False,
    )
    _both(
        4,
        lambda m: m.distributions.Dirichlet(
            m.tensor([0.2, 3.0, 40.0], dtype=_dtype(m, dt))
        ).rsample((5,)),
        exact=False,
    )


@pytest.mark.parametrize("n", [1, 9, 3000])
@pytest.mark.parametrize("dt", DTYPES)
def test_poisson(backend, n, dt):
    rs = np.random.default_rng(n)
    lam = (rs.uniform(0, 1, n) ** 3 * rs.choice([1.0, 20.0, 1000.0], n)).astype(dt)
    lam[::7] = 0.0
    _both(n, lambda m: m.poisson(m.tensor(lam)))
    _both(n, lambda m: m.distributions.Poisson(m.tensor(lam) + 0.1).sample((2,)))


@pytest.mark.parametrize("n", [1, 9, 3000])
@pytest.mark.parametrize("dt", DTYPES)
def test_binomial(backend, n, dt):
    rs = np.random.default_rng(n)
    count = rs.integers(0, rs.choice([10, 100, 10**7], n)).astype(dt)
    prob = rs.uniform(0, 1, n).astype(dt)
    prob[::5] = rs.choice([0.0, 1.0, 0.5, 0.02])
    _both(n, lambda m: m.binomial(m.tensor(count), m.tensor(prob)))
    _both(n, lambda m: m.distributions.Binomial(m.tensor(count), m.tensor(prob)).sample())


@pytest.mark.parametrize("dt", DTYPES)
def test_binomial_btrs_float32_rounding(dt):
    """Large counts (BTRS), where float32 parameters round n p, sqrt(n p q) and p / q."""
    rs = np.random.default_rng(2)
    count = np.tile(rs.integers(50, 10**7, 100), 30).astype(dt)
    prob = np.tile(rs.uniform(0.05, 0.95, 100), 30).astype(dt)
    _both(5, lambda m: m.binomial(m.tensor(count), m.tensor(prob)))


def test_compiled_equals_fallback():
    if not jit.numba_available():
        pytest.skip("numba is not installed")
    rs = np.random.default_rng(0)
    alpha = rs.uniform(0.01, 5.0, 500)
    lam = rs.uniform(0.0, 40.0, 500)
    count, prob = rs.integers(0, 1000, 500).astype(np.float64), rs.uniform(0, 1, 500)
    for kern, args in (
        (random_draws.gamma_torch, (alpha, True)),
        (random_draws.gamma_torch, (alpha, False)),
        (random_draws.poisson_torch, (lam,)),
        (random_draws.binomial_torch, (count, prob, True)),
    ):
        s1, s2 = TorchStream(7), TorchStream(7)
        s1.normal(size=1), s2.normal(size=1)  # a cached normal going in
        with jit.use_backend("numba"):
            a = random_draws.run(kern, s1, *args)
        with jit.use_backend("numpy"):
            b = random_draws.run(kern, s2, *args)
        np.testing.assert_array_equal(a, b)
        assert s1.normal_cache == s2.normal_cache
        np.testing.assert_array_equal(s1.random(5), s2.random(5))


def test_gamma_nan_draws_nothing(backend):
    s = TorchStream(1)
    out = random_draws.run(random_draws.gamma_torch, s, np.array([np.nan, 0.0]), False)
    assert np.isnan(out[0]) and out[1] == 0.0
    np.testing.assert_array_equal(s.random(3), TorchStream(1).random(3))


@pytest.mark.parametrize("n", [5, 20, 100])
@pytest.mark.parametrize("dt", DTYPES)
def test_gumbel_softmax_noise(n, dt):
    _both(
        n,
        lambda m: m.nn.functional.gumbel_softmax(
            m.linspace(-1, 1, 2 * n, dtype=_dtype(m, dt)).reshape(2, n), tau=0.7
        ),
        exact=False,
    )


@pytest.mark.parametrize("dt", DTYPES)
def test_rrelu_training_draws_for_nonpositive_elements(dt):
    x = np.array([0.0, -0.0, 1.0, -1.0, np.nan, -3.0, 2.0] * 5)
    _both(
        1,
        lambda m: m.nn.functional.rrelu(m.tensor(x, dtype=_dtype(m, dt)), training=True),
        exact=False,
    )
    _both(
        2,
        lambda m: m.nn.functional.rrelu(
            m.linspace(-1, 1, 101, dtype=_dtype(m, dt)), 0.1, 0.6, training=True
        ),
        exact=False,
    )


@pytest.mark.parametrize("n", [5, 20, 100, 1000])
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("args", [(0.1, 0.5, -0.5, 0.6), (0.0, 1.0, -2.0, 2.0)])
def test_trunc_normal_rejection(n, dt, args):
    _both(n, lambda m: m.nn.init.trunc_normal_(m.empty(n, dtype=_dtype(m, dt)), *args), exact=False)


@pytest.mark.filterwarnings("ignore:mean is more than 2 std")
@pytest.mark.parametrize("n", [5, 64, 1000])
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize(
    "args",
    [
        (0.0, 1.0, -0.3, 0.3),  # mass 0.24 < 0.3: the uniform proposal
        (0.0, 1.0, -0.05, 0.05),
        (0.0, 1.0, 1.0, 2.0),  # one-sided, nearest point a > 0
        (0.0, 1.0, -2.0, -1.5),  # nearest point b < 0
        (10.0, 1.0, -2.0, 2.0),  # far in the tail: many rounds (rejection would never end)
        (0.0, 1.0, 0.5, 0.5),  # a == b: filled with a
        (0.0, 1.0, -0.3853, 0.3853),  # mass just below 0.3
        (0.0, 1.0, -0.3854, 0.3854),  # just above: rejection
    ],
)
def test_trunc_normal_uniform_proposal(n, dt, args):
    _both(n, lambda m: m.nn.init.trunc_normal_(m.empty(n, dtype=_dtype(m, dt)), *args), exact=False)


def test_trunc_normal_errors_and_warning_as_torch():
    for m in (torch, cr):
        with pytest.raises(RuntimeError, match=r"uniform_ expects .* from=1 > to=0"):
            m.nn.init.trunc_normal_(m.empty(3), a=1.0, b=0.0)
        with pytest.raises(ZeroDivisionError):
            m.nn.init.trunc_normal_(m.empty(3), std=0.0)
        with pytest.warns(UserWarning, match="mean is more than 2 std from"):
            m.nn.init.trunc_normal_(m.empty(3), mean=5.0)
    w = cr.nn.init.trunc_normal_(cr.empty(1000), mean=0.0, std=-1.0)  # as torch: accepted
    assert float(w.min()) >= -2.0 and float(w.max()) <= 2.0


@pytest.mark.parametrize("n", [5, 20, 100])
@pytest.mark.parametrize("dt", DTYPES)
def test_fills_already_matching(n, dt):
    for fill in (
        lambda m: m.empty(n, dtype=_dtype(m, dt)).exponential_(2.0),
        lambda m: m.empty(n, dtype=_dtype(m, dt)).geometric_(0.3),
        lambda m: m.empty(n, dtype=_dtype(m, dt)).cauchy_(1.0, 2.0),
        lambda m: m.empty(n, dtype=_dtype(m, dt)).log_normal_(0.5, 0.7),
    ):
        _both(n, fill, exact=False)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("n", [5, 16, 17, 50, 64])
@pytest.mark.parametrize(
    "make",
    [
        lambda m, n, d: m.empty(n, dtype=d).normal_(0.5, 2.0),
        lambda m, n, d: m.randn(n, dtype=d),
        lambda m, n, d: m.randn_like(m.zeros(n, dtype=d)),
        lambda m, n, d: m.normal(0.5, 2.0, (n,), dtype=d),
        lambda m, n, d: m.nn.init.trunc_normal_(m.empty(n, dtype=d)),
    ],
    ids=["normal_", "randn", "randn_like", "normal", "trunc_normal_"],
)
def test_half_precision_normals_are_torchs(dt, n, make):
    # float16/bfloat16 fills of 16+ elements: PyTorch draws uniforms for the whole blocks
    # only, then 16 fresh ones for the tail block (float32/float64 draw all n first)
    _both(n, lambda m: make(m, n, _dtype(m, dt)).float(), exact=True)
