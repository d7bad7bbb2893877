"""cross_entropy's compiled row pass (float32 rows large enough for the kernels) against
torch, including the rows the pass hands back to the NumPy path (NaN, +inf, all -inf)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import jit

F = cr.nn.functional
M, C = 768, 65  # nanoGPT's logits: above the kernels' minimum size


def _compare(logits, target, **kw):
    x = cr.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor(target), **kw)
    xt = torch.tensor(logits, requires_grad=True)
    want = torch.nn.functional.cross_entropy(xt, torch.tensor(target), **kw)
    g = np.random.default_rng(5).standard_normal(tuple(want.shape)).astype(np.float32)
    loss.backward(cr.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(loss.detach().numpy(), want.detach().numpy(), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fused_rows_match_torch(reduction):
    rng = np.random.default_rng(0)
    logits = (3 * rng.standard_normal((M, C))).astype(np.float32)
    target = rng.integers(0, C, M)
    _compare(logits, target, reduction=reduction)


def test_fused_rows_with_weight_and_ignore_index():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((M, C)).astype(np.float32)
    target = rng.integers(0, C, M)
    target[::7] = -100
    weight = rng.uniform(0.5, 2.0, C).astype(np.float32)
    x = cr.tensor(logits, requires_grad=True)
    got = F.cross_entropy(x, cr.tensor(target), weight=cr.tensor(weight))
    got.backward()
    xt = torch.tensor(logits, requires_grad=True)
    want = torch.nn.functional.cross_entropy(xt, torch.tensor(target), weight=torch.tensor(weight))
    want.backward()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=2e-5)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=2e-5, atol=1e-8)


def test_target_far_below_the_row_maximum_keeps_its_loss():
    """A target probability that underflows float32 still gives a finite loss (log-sum-exp
    minus the target's logit, not log of a rounded probability)."""
    logits = np.zeros((M, C), np.float32)
    logits[:, 0] = 200.0
    target = np.full(M, 3)
    loss = F.cross_entropy(cr.tensor(logits), cr.tensor(target), reduction="none")
    want = torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor(target), reduction="none"
    )
    np.testing.assert_allclose(loss.numpy(), want.numpy(), rtol=1e-6)
    assert np.all(np.isfinite(loss.numpy()))


@pytest.mark.parametrize("bad", [np.nan, np.inf, "all -inf"])
def test_rows_the_pass_hands_back(bad):
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((M, C)).astype(np.float32)
    if bad == "all -inf":
        logits[10] = -np.inf
    else:
        logits[10, 4] = bad
    target = rng.integers(0, C, M)
    x = cr.tensor(logits)
    got = F.cross_entropy(x, cr.tensor(target), reduction="none").numpy()
    want = torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor(target), reduction="none"
    ).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=2e-5)


def test_compiled_and_numpy_paths_agree():
    rng = np.random.default_rng(3)
    logits = (4 * rng.standard_normal((M, C))).astype(np.float32)
    target = rng.integers(0, C, M)
    out = {}
    for backend in ("numba", "numpy"):
        if backend == "numba" and not jit.numba_available():
            continue
        with jit.use_backend(backend):
            x = cr.tensor(logits, requires_grad=True)
            loss = F.cross_entropy(x, cr.tensor(target))
            loss.backward()
            out[backend] = (loss.detach().numpy(), x.grad.numpy())
    if len(out) == 2:
        np.testing.assert_allclose(out["numba"][0], out["numpy"][0], rtol=1e-6)
        np.testing.assert_allclose(out["numba"][1], out["numpy"][1], rtol=1e-5, atol=1e-9)
