"""CPU autocast's cast lists against PyTorch, for both autocast dtypes (float16 and bfloat16)
and float32, float16 and bfloat16 inputs.

For each op, run inside ``autocast("cpu", dtype=D)`` on the same values in both libraries:
the result's dtype must be PyTorch's (or both must raise), and where both compute the values
must agree to the result dtype's precision. This covers the three behaviours of PyTorch's
CPU autocast: the lower-precision list (products, convolutions, attention: every floating
argument cast to D), the float32 list (losses, FFTs, linear-algebra solvers and
decompositions, 3-d and fractional max pooling, reflection/replication padding, ``stft``,
``quantile``, ``polar``: half arguments cast up to float32 before the op's dtype checks, and
the op's own parts not cast again), and everything else (run in the dtype of its inputs).
Until this round float16 autocast raised ``NotImplementedError`` and the float32 list missed
the ops marked "float32 list, added" (a float32 ``ormqr`` also had its inner products cast).

``KNOWN_DIFFERENCES`` lists PyTorch results chainrule does not reproduce (strict xfail: the
test fails the day one is fixed, so the entry must go).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 8)).astype(np.float32)
W = RNG.standard_normal((8, 8)).astype(np.float32)
K1 = RNG.standard_normal((2, 4, 3)).astype(np.float32)  # conv1d weight
K2 = RNG.standard_normal((2, 1, 3, 3)).astype(np.float32)
SQ = (RNG.standard_normal((4, 4)) + 4 * np.eye(4)).astype(np.float32)  # well conditioned


def _ops() -> dict[str, Callable[[Any, Any, Any], Any]]:
    """name -> fn(lib, t, c): ``t`` is the (4, 8) input in the dtype under test, ``c`` a
    helper that makes a float32 constant tensor of ``lib``."""

    def F(L):  # noqa: N802 - torch's F
        return L.nn.functional

    return {
        # lower-precision list
        "mm": lambda L, t, c: t @ c(W),
        "linear": lambda L, t, c: F(L).linear(t, c(W)),
        "bmm": lambda L, t, c: L.bmm(t[None], c(W)[None]),
        "matmul_batched": lambda L, t, c: L.matmul(t[None].expand(2, 4, 8), c(W)),
        "addmm": lambda L, t, c: L.addmm(t, t, c(W)),
        "baddbmm": lambda L, t, c: L.baddbmm(t[None], t[None], c(W)[None]),
        "einsum": lambda L, t, c: L.einsum("ij,jk->ik", t, c(W)),
        "conv1d": lambda L, t, c: F(L).conv1d(t[None], c(K1)),
        "conv2d": lambda L, t, c: F(L).conv2d(t[None, None], c(K2)),
        "conv_transpose2d": lambda L, t, c: F(L).conv_transpose2d(
            t[None, None], c(K2).transpose(0, 1)
        ),
        "sdpa": lambda L, t, c: F(L).scaled_dot_product_attention(t[None], t[None], t[None]),
        "prelu": lambda L, t, c: F(L).prelu(t, c(np.array([0.25], np.float32))),
        "rnn_tanh_cell": lambda L, t, c: L.rnn_tanh_cell(t, t, c(W), c(W)),  # added
        "rnn_relu_cell": lambda L, t, c: L.rnn_relu_cell(t, t, c(W), c(W)),  # added
        # float32 list (fused ops and losses that were already cast)
        "mse_loss": lambda L, t, c: F(L).mse_loss(t, t * 2),
        "cross_entropy": lambda L, t, c: F(L).cross_entropy(t, L.tensor([1, 2, 3, 4])),
        "nll_loss": lambda L, t, c: F(L).nll_loss(t, L.tensor([1, 2, 3, 4])),
        "l1_loss": lambda L, t, c: F(L).l1_loss(t, t * 0.5),
        "smooth_l1_loss": lambda L, t, c: F(L).smooth_l1_loss(t, t * 0.5),
        "huber_loss": lambda L, t, c: F(L).huber_loss(t, t * 0.5),
        "bce": lambda L, t, c: F(L).binary_cross_entropy(t.sigmoid(), (t * 0.5).sigmoid()),
        "bce_with_logits": lambda L, t, c: F(L).binary_cross_entropy_with_logits(t, t.sigmoid()),
        "cosine_embedding_loss": lambda L, t, c: F(L).cosine_embedding_loss(t, t * 2, L.ones(4)),
        "margin_ranking_loss": lambda L, t, c: F(L).margin_ranking_loss(t, t * 2, L.ones(4, 8)),
        "prod": lambda L, t, c: t.prod(),
        "cdist": lambda L, t, c: L.cdist(t, t * 2),
        "trace": lambda L, t, c: L.trace(t),
        "avg_pool3d": lambda L, t, c: F(L).avg_pool3d(t[None, None, None], (1, 2, 2)),
        "adaptive_avg_pool3d": lambda L, t, c: F(L).adaptive_avg_pool3d(
            t[None, None, None], (1, 2, 2)
        ),
        # float32 list, added
        "soft_margin_loss": lambda L, t, c: F(L).soft_margin_loss(t, t.sign()),
        "poisson_nll_loss": lambda L, t, c: F(L).poisson_nll_loss(t, t.abs()),
        "hinge_embedding_loss": lambda L, t, c: F(L).hinge_embedding_loss(t, t.sign()),
        "triplet_margin_loss": lambda L, t, c: F(L).triplet_margin_loss(t, t * 2, t * 0.5),
        "multi_margin_loss": lambda L, t, c: F(L).multi_margin_loss(t, L.tensor([1, 2, 3, 4])),
        "multilabel_margin_loss": lambda L, t, c: F(L).multilabel_margin_loss(
            t, L.tensor([[1, 2, -1, 0, 0, 0, 0, 0]] * 4)
        ),
        "ctc_loss": lambda L, t, c: F(L).ctc_loss(
            t[:, None, :5].log_softmax(-1), L.tensor([[1, 2]]), L.tensor([4]), L.tensor([2])
        ),
        "max_pool3d": lambda L, t, c: F(L).max_pool3d(t[None, None, None], (1, 2, 2)),
        "adaptive_max_pool3d": lambda L, t, c: F(L).adaptive_max_pool3d(
            t[None, None, None], (1, 2, 2)
        ),
        "max_unpool2d": lambda L, t, c: F(L).max_unpool2d(
            *F(L).max_pool2d(t[None, None], 2, return_indices=True), 2
        ),
        "reflect_pad1d": lambda L, t, c: F(L).pad(t[None], (2, 2), mode="reflect"),
        "reflect_pad2d": lambda L, t, c: F(L).pad(t[None, None], (2, 2, 2, 2), mode="reflect"),
        "reflect_pad3d": lambda L, t, c: F(L).pad(  # not on the list: stays half
            t[None, None, None], (1, 1, 1, 1, 0, 0), mode="reflect"
        ),
        "replicate_pad1d": lambda L, t, c: F(L).pad(t[None], (2, 2), mode="replicate"),
        "replicate_pad2d": lambda L, t, c: F(L).pad(t[None, None], (1, 1, 1, 1), "replicate"),
        "replicate_pad3d": lambda L, t, c: F(L).pad(
            t[None, None, None], (1, 1, 1, 1, 1, 1), mode="replicate"
        ),
        "constant_pad": lambda L, t, c: F(L).pad(t, (1, 1)),  # on no list
        "fft": lambda L, t, c: L.fft.fft(t).real,
        "rfft": lambda L, t, c: L.fft.rfft(t).real,
        "irfft": lambda L, t, c: L.fft.irfft(L.fft.rfft(t.float()).real.to(t.dtype)),
        "fft2": lambda L, t, c: L.fft.fft2(t).imag,
        "polar": lambda L, t, c: L.polar(t.abs(), t).real,
        "quantile": lambda L, t, c: L.quantile(t, 0.3),
        "nanquantile": lambda L, t, c: L.nanquantile(t, 0.7, dim=1),
        "stft": lambda L, t, c: (
            L.stft(
                t.reshape(-1), 8, window=L.hann_window(8, dtype=t.dtype), return_complex=True
            ).real
        ),
        # float32 list, added: linear algebra (sq: a well-conditioned 4x4 in t's dtype)
        "linalg.inv": lambda L, t, c: L.linalg.inv(_sq(L, t)),
        "linalg.inv_ex": lambda L, t, c: L.linalg.inv_ex(_sq(L, t))[0],
        "linalg.solve": lambda L, t, c: L.linalg.solve(_sq(L, t), t[:, :4]),
        "linalg.cond": lambda L, t, c: L.linalg.cond(_sq(L, t)),
        "linalg.householder_product": lambda L, t, c: L.linalg.householder_product(t, t[0, :4]),
        "linalg.cholesky": lambda L, t, c: L.linalg.cholesky(_spd(L, t)),
        "linalg.cholesky_ex": lambda L, t, c: L.linalg.cholesky_ex(_spd(L, t))[0],
        "linalg.qr": lambda L, t, c: L.linalg.qr(t)[1].abs(),
        "linalg.eigh": lambda L, t, c: L.linalg.eigh(_spd(L, t))[0],
        "linalg.eigvalsh": lambda L, t, c: L.linalg.eigvalsh(_spd(L, t)),
        "linalg.svd": lambda L, t, c: L.linalg.svd(t)[1],
        "linalg.svdvals": lambda L, t, c: L.linalg.svdvals(t),
        "linalg.eigvals": lambda L, t, c: L.linalg.eigvals(_spd(L, t)).real,
        "linalg.matrix_rank": lambda L, t, c: L.linalg.matrix_rank(t).float(),
        "linalg.lstsq": lambda L, t, c: L.linalg.lstsq(_sq(L, t), t[:, :4]).solution,
        "linalg.tensorinv": lambda L, t, c: L.linalg.tensorinv(_sq(L, t), 1),
        "linalg.tensorsolve": lambda L, t, c: L.linalg.tensorsolve(_sq(L, t), t[0, :4]),
        "cholesky_solve": lambda L, t, c: L.cholesky_solve(
            t[:, :4], L.linalg.cholesky(_spd(L, t.float()))
        ),
        "cholesky_inverse": lambda L, t, c: L.cholesky_inverse(_sq(L, t).tril()),
        "triangular_solve": lambda L, t, c: L.triangular_solve(t[:, :4], _sq(L, t).triu())[0],
        "geqrf": lambda L, t, c: L.geqrf(t)[1],
        "orgqr": lambda L, t, c: L.orgqr(t, t[0, :4]),
        "ormqr": lambda L, t, c: L.ormqr(t, t[0, :4], t[:, :4].T.contiguous()),
        "inverse": lambda L, t, c: L.inverse(_sq(L, t)),
        "cholesky": lambda L, t, c: L.cholesky(_spd(L, t)),
        "qr": lambda L, t, c: L.qr(t)[1].abs(),
        "svd": lambda L, t, c: L.svd(t)[1],
        "pinverse": lambda L, t, c: L.pinverse(_sq(L, t)),
        "lu": lambda L, t, c: L.lu(_sq(L, t))[0],
        # linear algebra on no list: half inputs refused (both), float32 stays float32
        "linalg.det": lambda L, t, c: L.linalg.det(_sq(L, t)),
        "linalg.slogdet": lambda L, t, c: L.linalg.slogdet(_sq(L, t))[1],
        "linalg.lu_factor": lambda L, t, c: L.linalg.lu_factor(_sq(L, t))[0],
        "linalg.solve_triangular": lambda L, t, c: L.linalg.solve_triangular(
            _sq(L, t).triu(), t[:, :4], upper=True
        ),
        "linalg.matrix_power": lambda L, t, c: L.linalg.matrix_power(_sq(L, t), 2),
        "linalg.multi_dot": lambda L, t, c: L.linalg.multi_dot([t, t.T]),
        # on no list: the input's dtype
        "softmax": lambda L, t, c: F(L).softmax(t, -1),
        "exp": lambda L, t, c: t.exp(),
        "layer_norm": lambda L, t, c: F(L).layer_norm(t, (8,)),
        "group_norm": lambda L, t, c: F(L).group_norm(t[None], 2),
        "sum": lambda L, t, c: t.sum(),
        "gelu": lambda L, t, c: F(L).gelu(t),
        "max_pool2d": lambda L, t, c: F(L).max_pool2d(t[None, None], 2),
        "det": lambda L, t, c: L.linalg.det(t[:, :4] + 4 * L.eye(4, dtype=t.dtype)),
    }


def _sq(L: Any, t: Any) -> Any:
    """A well-conditioned 4x4 matrix in ``t``'s dtype."""
    return t[:, :4] + 4 * L.eye(4, dtype=t.dtype)


def _spd(L: Any, t: Any) -> Any:
    """A symmetric positive-definite 4x4 matrix in ``t``'s dtype."""
    return t[:, :4] @ t[:, :4].T + L.eye(4, dtype=t.dtype)


OPS = _ops()
KNOWN_DIFFERENCES: dict[str, str] = {}
AUTOCAST_DTYPES = ("float16", "bfloat16")
INPUT_DTYPES = ("float32", "float16", "bfloat16")
EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-23}


def _run(lib: Any, name: str, autocast_dtype: str, input_dtype: str) -> Any:
    """The op's result, or the exception's type name when it raises."""
    t = lib.tensor(X).to(getattr(lib, input_dtype))

    def const(a: np.ndarray) -> Any:
        return lib.tensor(a)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autocast("cpu", dtype=getattr(lib, autocast_dtype)):
            try:
                return OPS[name](lib, t, const)
            except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
                return type(e).__name__


def _params() -> list:
    out = []
    for name in OPS:
        marks = []
        if name in KNOWN_DIFFERENCES:
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES[name])]
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("input_dtype", INPUT_DTYPES)
@pytest.mark.parametrize("autocast_dtype", AUTOCAST_DTYPES)
@pytest.mark.parametrize("name", _params())
def test_autocast_result_matches_torch(name: str, autocast_dtype: str, input_dtype: str) -> None:
    want = _run(torch, name, autocast_dtype, input_dtype)
    got = _run(cr, name, autocast_dtype, input_dtype)
    if isinstance(want, str) or isinstance(got, str):
        # both refuse (the exception types need not match: PyTorch raises RuntimeError
        # for a dtype mismatch, chainrule a TypeError that is also a RuntimeError)
        assert isinstance(want, str) and isinstance(got, str), (want, got)
        return
    want_dtype = str(want.dtype).replace("torch.", "")
    assert str(got.dtype).replace("torch.", "") == want_dtype
    w = want.detach().float().numpy().astype(np.float64)
    g = got.detach().float().numpy().astype(np.float64)
    assert g.shape == w.shape
    # the inputs were rounded to input_dtype (and maybe to autocast_dtype) the same way;
    # the results may differ by a few roundings to the result's dtype
    tol = 8 * max(EPS[want_dtype], EPS[input_dtype] if input_dtype != "float32" else 0.0)
    np.testing.assert_allclose(g, w, rtol=tol, atol=tol * max(1.0, float(np.abs(w).max())))


@pytest.mark.parametrize("autocast_dtype", AUTOCAST_DTYPES)
def test_autocast_training_step_gradients_reach_float32_parameters(autocast_dtype: str) -> None:
    """A training step of a small MLP under autocast: the loss is float32 (mse_loss is on the
    float32 list), the parameters' gradients are float32, and they equal PyTorch's to the
    autocast dtype's precision."""
    results = []
    for lib in (cr, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(8, 16), lib.nn.ReLU(), lib.nn.Linear(16, 3))
        state = {k: lib.tensor(v) for k, v in _mlp_state().items()}
        model.load_state_dict(state)
        with lib.autocast("cpu", dtype=getattr(lib, autocast_dtype)):
            out = model(lib.tensor(X))
            loss = lib.nn.functional.mse_loss(out, lib.ones(4, 3))
        loss.backward()
        assert str(out.dtype).endswith(autocast_dtype)
        assert str(loss.dtype).endswith("float32")
        grads = [p.grad for p in model.parameters()]
        assert all(str(gr.dtype).endswith("float32") for gr in grads)
        results.append((loss.item(), [gr.numpy().astype(np.float64) for gr in grads]))
    (loss_c, grads_c), (loss_t, grads_t) = results
    tol = 4 * EPS[autocast_dtype]
    assert abs(loss_c - loss_t) <= tol * abs(loss_t)
    for gc, gt in zip(grads_c, grads_t):
        np.testing.assert_allclose(gc, gt, rtol=tol, atol=tol * float(np.abs(gt).max()))


def _mlp_state() -> dict[str, np.ndarray]:
    r = np.random.default_rng(1)
    return {
        "0.weight": r.standard_normal((16, 8)).astype(np.float32) * 0.3,
        "0.bias": r.standard_normal(16).astype(np.float32) * 0.1,
        "2.weight": r.standard_normal((3, 16)).astype(np.float32) * 0.3,
        "2.bias": r.standard_normal(3).astype(np.float32) * 0.1,
    }
