"""float16 cdist and einsum: computed in float32 and rounded once (NumPy's float16 loops ran
10-25x slower than float32), values and gradients checked against float64 and PyTorch.

PyTorch's CPU cdist has no float16 kernel (``NotImplementedError``); chainrule's takes it,
so its results are checked against the float64 distances of the same float16 inputs: within
one float16 rounding of the exact value (outputs) and a few epsilons (gradients).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

EPS = 2.0**-10


def _error(res: np.ndarray, ref: np.ndarray) -> float:
    """Largest error relative to max(|ref|, 1% of the largest |ref|), in float16 epsilons."""
    scale = float(np.max(np.abs(ref))) or 1.0
    den = np.maximum(np.abs(ref), 1e-2 * scale)
    return float(np.max(np.abs(res - ref) / den)) / EPS


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf"), 0.0])
def test_cdist_float16_vs_float64(p: float) -> None:
    r = np.random.default_rng(0)
    a = r.standard_normal((2, 30, 16)).astype(np.float16)
    b = r.standard_normal((2, 27, 16)).astype(np.float16)
    g = r.standard_normal((2, 30, 27)).astype(np.float16)
    ca, cb = (cr.tensor(v, requires_grad=True) for v in (a, b))
    out = cr.cdist(ca, cb, p=p)
    assert out.dtype == cr.float16
    (out * cr.tensor(g)).sum().backward()
    assert ca.grad.dtype == cb.grad.dtype == cr.float16
    ta, tb = (torch.tensor(v).double().requires_grad_(True) for v in (a, b))
    ref = torch.cdist(ta, tb, p=p)
    (ref * torch.tensor(g).double()).sum().backward()
    # one rounding of the float32 result: half an epsilon, relative
    assert _error(out.detach().numpy().astype(np.float64), ref.detach().numpy()) <= 0.51
    refs = [ta.grad.numpy(), tb.grad.numpy()]
    if p == float("inf"):  # tied maxima (frequent in float16) share the gradient here, where
        da, db = (cr.tensor(v.astype(np.float64), requires_grad=True) for v in (a, b))
        (cr.cdist(da, db, p=p) * cr.tensor(g.astype(np.float64))).sum().backward()
        refs = [da.grad.numpy(), db.grad.numpy()]  # PyTorch's each get all of it (see cdist)
    if p != 0.0:
        for c, ref_grad in zip((ca, cb), refs):
            assert _error(c.grad.numpy().astype(np.float64), ref_grad) <= 4.0


def test_cdist_float16_double_backward() -> None:
    r = np.random.default_rng(1)
    a = cr.tensor(r.standard_normal((6, 4)).astype(np.float16), requires_grad=True)
    b = cr.tensor(r.standard_normal((5, 4)).astype(np.float16), requires_grad=True)
    for p in (2.0, 3.0):
        (ga,) = cr.autograd.grad(cr.cdist(a, b, p=p).sum(), [a], create_graph=True)
        assert ga.dtype == cr.float16
        (gga,) = cr.autograd.grad(ga.float().pow(2).sum(), [b])
        assert gga.dtype == cr.float16 and np.isfinite(gga.float().numpy()).all()


EINSUMS = {
    "bhid,bhjd->bhij": [(2, 3, 16, 64), (2, 3, 16, 64)],
    "ij->j": [(512, 8)],
    "i,j->ij": [(64,), (48,)],
    "ii->i": [(32, 32)],
    "bij,bjk->bik": [(4, 32, 256), (4, 256, 8)],
    "ijk,ikl,ilm->ijm": [(2, 8, 64), (2, 64, 32), (2, 32, 8)],
}


@pytest.mark.parametrize("eq", sorted(EINSUMS))
def test_einsum_float16_within_torchs_error(eq: str) -> None:
    r = np.random.default_rng(2)
    vals = [r.uniform(0, 1, s).astype(np.float16) for s in EINSUMS[eq]]
    c_in = [cr.tensor(v, requires_grad=True) for v in vals]
    t_in = [torch.tensor(v).requires_grad_(True) for v in vals]
    r_in = [torch.tensor(v).double().requires_grad_(True) for v in vals]
    c, t, ref = cr.einsum(eq, *c_in), torch.einsum(eq, *t_in), torch.einsum(eq, *r_in)
    assert c.dtype == cr.float16
    g = r.standard_normal(tuple(ref.shape)).astype(np.float16)
    (c * cr.tensor(g)).float().sum().backward()
    (t * torch.tensor(g)).float().sum().backward()
    (ref * torch.tensor(g).double()).sum().backward()
    pairs = [(c.detach().numpy(), t.detach().numpy(), ref.detach().numpy())]
    pairs += [(a.grad.numpy(), b.grad.numpy(), x.grad.numpy()) for a, b, x in zip(c_in, t_in, r_in)]
    for k, (cv, tv, rv) in enumerate(pairs):
        assert cv.dtype == np.float16
        c_err = _error(cv.astype(np.float64), rv)
        t_err = _error(tv.astype(np.float64), rv)
        assert c_err <= max(2.0 * t_err, 1.0), f"{eq} result {k}: {c_err:.2f} vs {t_err:.2f}"
