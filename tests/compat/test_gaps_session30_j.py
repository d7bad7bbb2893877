"""Gaps found by the session-30 (batch j) drop-in programs
(``torchvision_classification_reference``, ``x_transformers_idioms``), checked against PyTorch.

torchvision's ``RandomMixup`` / ``RandomCutmix`` draw their mixing weight with
``torch._sample_dirichlet(torch.tensor([alpha, alpha]))``:

- ``torch._sample_dirichlet``, ``torch._standard_gamma``, ``torch._standard_gamma_grad`` and
  ``torch._dirichlet_grad`` were missing at chainrule's top level (the kernels existed for
  ``cr.distributions``).
- Gamma draws (and so Dirichlet, Beta, Chi2, StudentT samples) came from NumPy's gamma sampler
  on the mt19937 engine, not PyTorch's values: now PyTorch's CPU sampler (Marsaglia-Tsang on
  float64 uniforms and cached Box-Muller normals, the ``alpha < 1`` boost, float32
  concentrations boosted in float32), the same numbers under the same seed.
- Dirichlet shares are clamped to [smallest normal, the float below 1] of the dtype, as
  PyTorch (a float32 share that underflowed was 0, one that rounded up was 1).
- a 0-d concentration gives PyTorch's single share (the float below 1) instead of raising;
  integer and half concentrations raise PyTorch's NotImplementedError (was RuntimeError, and
  float16 was accepted).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

BOTH = [torch, chainrule]


def _same(fn: Any, seed: int = 0) -> None:
    got = []
    for m in BOTH:
        m.manual_seed(seed)
        got.append(np.asarray(fn(m)))
    assert got[0].shape == got[1].shape and got[0].dtype == got[1].dtype
    np.testing.assert_allclose(got[1], got[0], rtol=1e-15, atol=0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_standard_gamma_draws_torch_values(dtype: str, seed: int) -> None:
    alphas = [0.5, 5.0, 0.01, 100.0, 1.0, 0.0, 1e-4]

    def draw(m: Any) -> Any:
        a = m.tensor(alphas, dtype=getattr(m, dtype))
        first = m._standard_gamma(a)
        return m.cat([first, m._standard_gamma(a), m.rand(3, dtype=a.dtype)]).numpy()

    _same(draw, seed)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sample_dirichlet_draws_torch_values(dtype: str) -> None:
    def draw(m: Any) -> Any:
        a = m.tensor([[0.2, 0.2], [1.0, 2.0], [1e-3, 1e-3]], dtype=getattr(m, dtype))
        return m.cat([m._sample_dirichlet(a), m._sample_dirichlet(a)]).numpy()

    _same(draw, 3)


def test_mixup_lambda_with_a_generator() -> None:
    def draw(m: Any) -> Any:
        g = m.Generator().manual_seed(5)
        one = m._sample_dirichlet(m.tensor([0.2, 0.2]), generator=g)
        return m.stack([one, m._sample_dirichlet(m.tensor([1.0, 1.0]), generator=g)]).numpy()

    _same(draw)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.distributions.Gamma(m.tensor([0.5, 2.0]), m.tensor([1.0, 3.0])).sample((3,)),
        lambda m: m.distributions.Beta(m.tensor([0.5, 2.0]), m.tensor([1.0, 3.0])).rsample((3,)),
        lambda m: m.distributions.Dirichlet(m.tensor([0.5, 2.0, 1.0])).sample((2,)),
        lambda m: m.distributions.Chi2(m.tensor([3.0])).sample((4,)),
        lambda m: m.distributions.StudentT(m.tensor([3.0])).sample((4,)),
    ],
    ids=["gamma", "beta", "dirichlet", "chi2", "studentt"],
)
def test_gamma_based_distributions_sample_torch_values(make: Any) -> None:
    _same(lambda m: make(m).detach().numpy(), 11)


def test_dirichlet_shares_are_clamped_as_torch() -> None:
    # float32 shares of tiny concentrations: no exact 0 (or 1) share
    def draw(m: Any) -> Any:
        return m._sample_dirichlet(m.full((20, 2), 1e-3)).numpy()

    _same(draw, 2)
    for m in BOTH:
        m.manual_seed(2)
        x = m._sample_dirichlet(m.full((20, 2), 1e-3))
        assert bool((x > 0).all()) and bool((x < 1).all())


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_zero_dim_dirichlet_is_one_share(m: Any) -> None:
    x = m._sample_dirichlet(m.tensor(2.0))
    assert x.shape == () and x.item() == float(np.nextafter(np.float32(1), np.float32(0)))


@pytest.mark.parametrize("m", BOTH, ids=["torch", "chainrule"])
def test_gamma_and_dirichlet_dtype_errors(m: Any) -> None:
    with pytest.raises(NotImplementedError, match="\"gamma_cpu\" not implemented for 'Long'"):
        m._standard_gamma(m.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"dirichlet\" not implemented for 'Long'"):
        m._sample_dirichlet(m.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
        m._sample_dirichlet(m.tensor([1.0, 2.0], dtype=m.float16))


def test_gamma_grad_root_forms_match_torch() -> None:
    def grads(m: Any) -> Any:
        a = m.tensor([0.5, 2.0, 7.0], dtype=m.float64)
        x = m.tensor([0.3, 1.5, 9.0], dtype=m.float64)
        total = m.tensor([3.0, 4.0, 9.0], dtype=m.float64)
        xs = m.tensor([0.2, 0.6, 0.7], dtype=m.float64)
        return np.concatenate([m._standard_gamma_grad(a, x), m._dirichlet_grad(xs, a, total)])

    got = [grads(m) for m in BOTH]
    # PyTorch's kernels are rational approximations (see ops/random_gamma.py)
    np.testing.assert_allclose(got[1], got[0], rtol=5e-3)


def test_large_gamma_draws_are_torchs():
    """Gamma draws of any size are PyTorch's (a compiled kernel since session 31; up to then
    calls above 1,024 elements fell back to NumPy's sampler)."""
    import torch

    torch.manual_seed(0)
    expected = torch._standard_gamma(torch.full((8192,), 2.0, dtype=torch.float64)).numpy()
    chainrule.manual_seed(0)
    full = chainrule.full((8192,), 2.0, dtype=chainrule.float64)
    x = chainrule._standard_gamma(full).numpy()
    np.testing.assert_allclose(x, expected, rtol=1e-12)
