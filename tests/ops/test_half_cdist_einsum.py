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


def _half_sample() -> np.ndarray:
    """float32 bit patterns covering every sign and exponent: each with all 1024 values of
    the 10 mantissa bits float16 keeps, times low 13-bit tails below, at and above the
    rounding tie (and random ones); the ties of float16's subnormal range lie in the kept
    bits. Then random patterns, and edge values."""
    rng = np.random.default_rng(7)
    tails = np.array([0, 1, 0xFFF, 0x1000, 0x1001, 0x1FFF, *rng.integers(0, 0x2000, 4)])
    top = (np.arange(512, dtype=np.uint32) << 23)[:, None, None]
    mant = (np.arange(1024, dtype=np.uint32) << 13)[None, :, None]
    dense = (top | mant | tails.astype(np.uint32)[None, None, :]).ravel()
    rand = rng.integers(0, 2**32, 1 << 20, dtype=np.uint64).astype(np.uint32)
    edges = np.array([65504, 65519.996, 65520, 2.0**-24, 2.0**-25, 3 * 2.0**-26], np.float32)
    return np.concatenate([dense, rand, edges.view(np.uint32), (-edges).view(np.uint32)])


def test_to_half_kernel_bits_match_numpy() -> None:
    """The compiled float32 -> float16 conversion equals NumPy's ``astype`` bit for bit
    (ties to even, subnormals, overflow to inf, NaN payloads). Run once over all 2**32
    float32 patterns in chunks of 2**26: no difference (641 s); here a dense sample."""
    from chainrule._kernels import half_gemm as HG
    from chainrule._kernels import jit

    if not jit.numba_available():
        pytest.skip("numba not installed")
    a = _half_sample().view(np.float32)
    with np.errstate(all="ignore"):
        want = a.astype(np.float16).view(np.uint16)
    got = np.empty(a.size, np.uint16)
    HG._to_half_kernel.compiled(a, got)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [hex(b) for b in a.view(np.uint32)[bad[:5]]]


def test_to_single_kernel_bits_match_numpy() -> None:
    """float16 -> float32: all 65536 float16 patterns, bit for bit with ``astype``."""
    from chainrule._kernels import half_gemm as HG
    from chainrule._kernels import jit

    if not jit.numba_available():
        pytest.skip("numba not installed")
    bits = np.arange(2**16, dtype=np.uint16)
    got = np.empty(bits.size, np.float32)
    HG._to_single_kernel.compiled(bits, got)
    want = bits.view(np.float16).astype(np.float32)
    assert (got.view(np.uint32) == want.view(np.uint32)).all()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_to_half_layouts(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrappers on C and Fortran order, transposed and strided views, small and empty
    arrays, other dtypes: ``astype``'s values, dtype and memory order."""
    from chainrule._kernels import half_gemm as HG
    from chainrule._kernels import jit

    if backend == "numba" and not jit.numba_available():
        pytest.skip("numba not installed")
    monkeypatch.setattr(HG, "TO_HALF_MIN_SIZE", 8)
    monkeypatch.setattr(HG, "TO_SINGLE_MIN_SIZE", 8)
    base = np.random.default_rng(8).standard_normal((6, 40, 12)).astype(np.float32) * 3e4
    cases = [
        base,
        np.asfortranarray(base),
        base.transpose(2, 0, 1),
        base[:, ::3, 1:],
        base[::-1],
        base[0, 0, :5],
        base[:0],
        np.float32(2.5) * np.ones(()),
        base.astype(np.float64),
    ]
    with jit.use_backend(backend), np.errstate(over="ignore"):
        for a in cases:
            want = a.astype(np.float16)
            got = HG.to_half(a)
            assert got.dtype == np.float16 and got.shape == want.shape
            assert np.array_equal(got.view(np.uint16), want.view(np.uint16))
            if a.ndim == 3 and a.base is None:  # a whole array: astype's order
                assert got.strides == want.strides
            back = HG.to_single(want)
            assert back.dtype == np.float32
            assert np.array_equal(back, want.astype(np.float32), equal_nan=True)
