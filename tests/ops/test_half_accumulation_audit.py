"""float16 and bfloat16 reductions and products accumulate in float32 and round once, as
PyTorch's CPU kernels do.

Each case runs one op on the same half-rounded inputs in torch (half), chainrule (half) and
torch in float64 (the reference), then backward with the same half upstream gradient. The
error of chainrule's result and of each input's gradient, relative to the reference and in
units of the dtype's epsilon, must stay within a small multiple of torch's own error (or
within one epsilon): computing in float16 instead gave tens to thousands of epsilons, and
overflow (inf) where torch is finite (squares of values around 300 exceed float16's 65504).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as CF

EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7}
DTYPES = ("float16", "bfloat16")


def _normal(shape: tuple, mu: float = 0.0, sd: float = 1.0) -> Callable:
    return lambda r: r.normal(mu, sd, shape)


def _uniform(shape: tuple, lo: float = 0.0, hi: float = 1.0) -> Callable:
    return lambda r: r.uniform(lo, hi, shape)


def _F(lib: object) -> object:
    return TF if lib is torch else CF


# name: (function of (lib, *tensors), input generators). Every input is floating and
# requires a gradient.
CASES = {
    # fixed here (chainrule computed these in float16)
    "layer_norm": (
        lambda L, x, w, b: _F(L).layer_norm(x, (512,), w, b),
        [_normal((8, 512), 1.0), _normal(512, 1.0, 0.1), _normal(512, 0.0, 0.1)],
    ),
    "layer_norm_300": (
        lambda L, x: _F(L).layer_norm(x, (512,)),
        [_normal((8, 512), 300.0)],
    ),
    "batch_norm_train": (
        lambda L, x, w, b: _F(L).batch_norm(x, None, None, w, b, training=True),
        [_normal((32, 8, 4, 4), 1.0), _normal(8, 1.0, 0.1), _normal(8, 0.0, 0.1)],
    ),
    "batch_norm_train_300": (
        lambda L, x, w, b: _F(L).batch_norm(x, None, None, w, b, training=True),
        [_normal((32, 8, 4, 4), 300.0, 50.0), _normal(8, 1.0, 0.1), _normal(8, 0.0, 0.1)],
    ),
    "batch_norm_eval_300": (
        lambda L, x, w, b: _F(L).batch_norm(
            x, L.full((8,), 300.0, dtype=x.dtype), L.full((8,), 2500.0, dtype=x.dtype), w, b
        ),
        [_normal((16, 8, 4, 4), 300.0, 50.0), _normal(8, 1.0, 0.1), _normal(8, 0.0, 0.1)],
    ),
    "rms_norm_300": (
        lambda L, x, w: _F(L).rms_norm(x, (512,), w),
        [_normal((8, 512), 300.0), _normal(512, 1.0, 0.1)],
    ),
    "vector_norm2_300": (
        lambda L, x: L.linalg.vector_norm(x, dim=1),
        [_normal((4, 2048), 300.0)],
    ),
    "matrix_norm_fro_300": (lambda L, x: L.linalg.norm(x), [_normal((64, 64), 300.0)]),
    "pairwise_distance_300": (
        lambda L, x, y: _F(L).pairwise_distance(x, y),
        [_normal((16, 512), 300.0), _normal((16, 512))],
    ),
    "cosine_similarity_300": (
        lambda L, x, y: _F(L).cosine_similarity(x, y),
        [_normal((16, 512), 300.0), _normal((16, 512), 300.0)],
    ),
    "cumsum": (lambda L, x: L.cumsum(x, 0), [_uniform(4096)]),
    "cumprod": (lambda L, x: L.cumprod(x, 0), [_uniform(512, 0.95, 1.05)]),
    "logcumsumexp": (lambda L, x: L.logcumsumexp(x, 0), [_normal(2048)]),
    "einsum_mm": (
        lambda L, a, b: L.einsum("ij,jk->ik", a, b),
        [_uniform((32, 512)), _uniform((512, 16))],
    ),
    "einsum_sum": (lambda L, a: L.einsum("ij->j", a), [_uniform((2048, 8))]),
    "matmul_shared_weight": (
        lambda L, a, b: L.matmul(a, b),
        [_uniform((4, 32, 512)), _uniform((512, 16))],
    ),
    "linear": (
        lambda L, x, w, b: _F(L).linear(x, w, b),
        [_uniform((64, 512)), _uniform((32, 512)), _normal(32)],
    ),
    "addmm": (
        lambda L, c, a, b: L.addmm(c, a, b),
        [_normal((16, 16)), _uniform((16, 512)), _uniform((512, 16))],
    ),
    "baddbmm": (
        lambda L, c, a, b: L.baddbmm(c, a, b, beta=0.5, alpha=2.0),
        [_normal((2, 16, 16)), _uniform((2, 16, 512)), _uniform((2, 512, 16))],
    ),
    "avg_pool2d_16": (lambda L, x: _F(L).avg_pool2d(x, 16), [_normal((2, 4, 32, 32), 1.0)]),
    "avg_pool2d_3_pad": (
        lambda L, x: _F(L).avg_pool2d(x, 3, 1, 1),
        [_normal((2, 4, 8, 8), 1.0)],
    ),
    "avg_pool1d": (lambda L, x: _F(L).avg_pool1d(x, 32), [_normal((2, 4, 256), 1.0)]),
    "sdpa": (
        lambda L, q, k, v: _F(L).scaled_dot_product_attention(q, k, v, is_causal=True),
        [_normal((1, 2, 64, 32)), _normal((1, 2, 64, 32)), _uniform((1, 2, 64, 32))],
    ),
    # already agreeing: kept against regressions
    "sum": (lambda L, x: L.sum(x), [_normal(10000, 1.0)]),
    "mean_dim": (lambda L, x: x.mean(dim=0), [_normal((2048, 8), 1.0)]),
    "var_300": (lambda L, x: L.var(x, dim=1), [_normal((4, 2048), 300.0)]),
    "std": (lambda L, x: L.std(x), [_normal(4096, 1.0)]),
    "norm_300": (lambda L, x: L.norm(x), [_normal(4096, 300.0)]),
    "vector_norm1": (lambda L, x: L.linalg.vector_norm(x, ord=1), [_normal(4096)]),
    "logsumexp": (lambda L, x: L.logsumexp(x, 1), [_normal((4, 2048), 0.0, 3.0)]),
    "log_softmax": (lambda L, x: L.log_softmax(x, 1), [_normal((4, 2048), 0.0, 3.0)]),
    "matmul": (lambda L, a, b: a @ b, [_uniform((32, 512)), _uniform((512, 16))]),
    "bmm": (lambda L, a, b: L.bmm(a, b), [_uniform((2, 16, 512)), _uniform((2, 512, 16))]),
    "dot": (lambda L, a, b: L.dot(a, b), [_uniform(8192), _uniform(8192)]),
    "conv2d": (
        lambda L, x, w: _F(L).conv2d(x, w, padding=1),
        [_uniform((1, 64, 8, 8)), _uniform((8, 64, 3, 3))],
    ),
    "group_norm": (
        lambda L, x, w, b: _F(L).group_norm(x, 4, w, b),
        [_normal((2, 16, 8, 8), 1.0), _normal(16, 1.0, 0.1), _normal(16, 0.0, 0.1)],
    ),
    "mse_loss": (lambda L, x, y: _F(L).mse_loss(x, y), [_normal(8192, 1.0), _normal(8192)]),
}


def _error(res: np.ndarray, ref: np.ndarray, eps: float) -> float:
    """Largest error relative to max(|ref|, 1% of the largest |ref|), in epsilons; inf where
    the result is not finite but the reference is."""
    assert res.shape == ref.shape
    if (np.isfinite(ref) & ~np.isfinite(res)).any():
        return float("inf")
    fin = np.isfinite(ref)
    if not fin.any():
        return 0.0
    scale = float(np.max(np.abs(ref[fin]))) or 1.0
    den = np.maximum(np.abs(ref), 1e-2 * scale)[fin]
    return float(np.max(np.abs(res - ref)[fin] / den)) / eps


def _run(name: str, dtname: str) -> list:
    """[(what, torch's error, chainrule's error)] for the output and each input gradient."""
    fn, gens = CASES[name]
    r = np.random.default_rng(0)
    tdt = getattr(torch, dtname)
    vals = [torch.tensor(g(r), dtype=torch.float64).to(tdt).double() for g in gens]
    ref_in = [v.clone().requires_grad_() for v in vals]
    t_in = [v.to(tdt).requires_grad_() for v in vals]
    c_in = [cr.tensor(v.float().numpy()).to(getattr(cr, dtname)).requires_grad_() for v in vals]
    ref, tout, cout = fn(torch, *ref_in), fn(torch, *t_in), fn(cr, *c_in)
    assert str(cout.dtype) == str(tout.dtype)
    assert tuple(cout.shape) == tuple(tout.shape)
    up = torch.tensor(np.random.default_rng(1).normal(size=ref.shape)).to(tdt)
    ref.backward(up.double())
    tout.backward(up)
    cout.backward(cr.tensor(up.float().numpy()).to(cout.dtype))
    eps = EPS[dtname]
    rows = [
        (
            "output",
            _error(tout.detach().double().numpy(), ref.detach().numpy(), eps),
            _error(
                np.asarray(cout.detach().float().numpy(), np.float64), ref.detach().numpy(), eps
            ),
        )
    ]
    for i, (a, t, c) in enumerate(zip(ref_in, t_in, c_in)):
        assert str(c.grad.dtype) == str(t.grad.dtype)
        rows.append(
            (
                f"grad {i}",
                _error(t.grad.double().numpy(), a.grad.numpy(), eps),
                _error(c.grad.float().numpy().astype(np.float64), a.grad.numpy(), eps),
            )
        )
    return rows


@pytest.mark.parametrize("dtname", DTYPES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_half_error_within_torchs(name: str, dtname: str) -> None:
    for what, t_err, c_err in _run(name, dtname):
        assert c_err <= max(2.0 * t_err, 1.0), (
            f"{name} {dtname} {what}: chainrule's error {c_err:.2f} eps, torch's {t_err:.2f}"
        )


def test_bfloat16_cdist() -> None:
    """cdist takes bfloat16 (it refused it as a non-floating dtype), computed in float32
    (PyTorch's CPU cdist has bfloat16 on its matrix-product path only: more than 25 rows)."""
    r = np.random.default_rng(0)
    a, b = r.normal(size=(30, 16)), r.normal(size=(27, 16))
    ta = torch.tensor(a).to(torch.bfloat16)
    tb = torch.tensor(b).to(torch.bfloat16)
    ca = cr.tensor(ta.float().numpy()).to(cr.bfloat16)
    cb = cr.tensor(tb.float().numpy()).to(cr.bfloat16)
    got, want = cr.cdist(ca, cb), torch.cdist(ta, tb)
    assert got.dtype == cr.bfloat16
    ref = torch.cdist(ta.double(), tb.double()).numpy()
    np.testing.assert_allclose(got.float().numpy(), ref, rtol=2**-8)
    np.testing.assert_allclose(want.float().numpy(), ref, rtol=2**-7)


@pytest.mark.parametrize("dtname", DTYPES)
def test_half_input_float32_params_gradient_dtypes(dtname: str) -> None:
    """A half input with float32 norm parameters (autocast's mix): the result in the input's
    dtype, the parameters' gradients in float32, as PyTorch."""
    r = np.random.default_rng(0)
    x = r.normal(size=(8, 4, 3, 3))
    w, b = r.normal(size=4), r.normal(size=4)
    for fn in (
        lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda F, x, w, b: F.layer_norm(x, (3,), w[:3], b[:3]),
    ):
        cx = cr.tensor(x.astype(np.float32)).to(getattr(cr, dtname)).requires_grad_()
        cw = cr.tensor(w.astype(np.float32), requires_grad=True)
        cb = cr.tensor(b.astype(np.float32), requires_grad=True)
        y = fn(CF, cx, cw, cb)
        y.sum().backward()
        assert y.dtype == getattr(cr, dtname) and cx.grad.dtype == y.dtype
        assert cw.grad.dtype == cr.float32 and cb.grad.dtype == cr.float32


def test_float16_double_backward_stays_float16() -> None:
    """create_graph=True through the ops changed here keeps float16 gradients."""
    r = np.random.default_rng(0)
    x = cr.tensor(r.normal(size=(4, 3, 5)).astype(np.float16), requires_grad=True)
    m = cr.tensor(r.normal(size=(5, 2)).astype(np.float16), requires_grad=True)
    for y in (
        CF.batch_norm(x, None, None, training=True),
        CF.layer_norm(x, (5,)),
        cr.linalg.vector_norm(x),
        cr.logcumsumexp(x, 1),
        x @ m,
    ):
        grads = cr.autograd.grad((y * y).sum(), [x], create_graph=True)
        assert grads[0].dtype == cr.float16
        assert np.isfinite(grads[0].detach().float().numpy()).all()
