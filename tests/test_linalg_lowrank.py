"""``geqrf`` / ``orgqr`` / ``ormqr``, ``svd_lowrank`` / ``pca_lowrank`` and torch's removed
``eig`` / ``symeig`` / ``solve`` / ``lstsq``, checked against torch 2.13 (``lobpcg``:
tests/test_linalg_lowrank_lobpcg.py).

``orgqr`` and ``ormqr`` are also in tests/ops/op_specs_linalg_lowrank.py (values, gradients,
gradcheck, forward mode, double backward, bad inputs). The randomized functions draw other
random numbers than torch, so they are checked by what does not depend on the draw: exact
reconstruction of a matrix of rank <= q, singular values against ``torch.linalg``,
orthonormality, shapes, and gradients of losses that do not depend on the random subspace
against torch's gradients of the same losses.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(1234)


def _np(t) -> np.ndarray:
    return t.detach().numpy()


def _low_rank(shape: tuple, rank: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    *batch, m, n = shape
    return rng.standard_normal((*batch, m, rank)) @ rng.standard_normal((*batch, rank, n))


# --- geqrf, orgqr, ormqr ------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", [(5, 3), (3, 5), (4, 4), (2, 6, 4), (2, 3, 4, 4), (0, 3), (3, 0), (1, 1), (6, 1)]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64])
def test_geqrf_matches_lapack_via_torch(shape, dtype):
    x = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":  # zlarfg: real beta, complex tau, H^H on the trailing part
        x = x + 1j * RNG.standard_normal(shape)
    x = x.astype(dtype)
    want_a, want_tau = torch.geqrf(torch.tensor(x))
    got = cr.geqrf(cr.tensor(x))
    tol = 1e-12 if dtype in (np.float64, np.complex128) else 2e-5
    for g, w in ((got.a, want_a), (got.tau, want_tau)):
        assert _np(g).dtype == _np(w).dtype and _np(g).shape == _np(w).shape
        np.testing.assert_allclose(_np(g), _np(w), rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "x",
    [
        [[-0.0, 1.0], [1.0, 2.0]],  # -0.0 leading entry counts as positive (dlarfg)
        [[0.0, 1.0], [0.0, 2.0]],  # zero column below the diagonal: tau = 0
        [[-1.0, 1.0], [0.0, 2.0]],  # tau = 0 keeps a negative diagonal entry
        [[0.0, 0.0], [0.0, 0.0]],
        [[1j, 1.0], [0.0, 2.0]],  # complex: x = 0 but alpha not real still reflects
        [[2.0 + 0j, 1.0], [0.0, 1j]],  # complex: x = 0 and alpha real, tau = 0
    ],
)
def test_geqrf_sign_conventions_match_torch(x):
    want = torch.geqrf(torch.tensor(x))
    got = cr.geqrf(cr.tensor(x))
    np.testing.assert_array_equal(_np(got.a), _np(want.a))
    np.testing.assert_array_equal(_np(got.tau), _np(want.tau))


def test_geqrf_result_reconstructs_a_with_orgqr_and_ormqr():
    x = RNG.standard_normal((2, 6, 4))
    a, tau = cr.geqrf(cr.tensor(x))
    q = cr.orgqr(a, tau)
    r = a.triu()[..., :4, :]
    np.testing.assert_allclose(_np(q @ r), x, atol=1e-12)
    full_r = cr.cat([r, cr.zeros(2, 2, 4, dtype=cr.float64)], dim=-2)
    np.testing.assert_allclose(_np(cr.ormqr(a, tau, full_r)), x, atol=1e-12)
    np.testing.assert_allclose(_np(a.ormqr(tau, cr.tensor(x), True, True)), _np(full_r), atol=1e-12)


def test_geqrf_is_a_tensor_method_with_named_result_and_out():
    x = cr.tensor(RNG.standard_normal((4, 3)))
    res = x.geqrf()
    want = torch.geqrf(torch.zeros(2, 2))
    assert res._fields == ("a", "tau") and hasattr(want, "a") and hasattr(want, "tau")
    out = (cr.empty(4, 3, dtype=cr.float64), cr.empty(3, dtype=cr.float64))
    written = cr.geqrf(x, out=out)
    assert written.a is out[0] and written.tau is out[1]
    np.testing.assert_array_equal(_np(out[0]), _np(res.a))


def test_geqrf_has_no_derivative_as_in_torch():
    x = cr.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    a, tau = cr.geqrf(x)
    t = torch.tensor(_np(x), requires_grad=True)
    ta, _ = torch.geqrf(t)
    assert a.requires_grad and tau.requires_grad and ta.requires_grad
    with pytest.raises(NotImplementedError, match="derivative for 'geqrf'"):
        a.sum().backward()
    with pytest.raises(NotImplementedError, match="derivative for 'geqrf'"):
        ta.sum().backward()


@pytest.mark.parametrize(
    "make, exc",
    [
        (lambda lib: lib.geqrf(lib.zeros(3, dtype=lib.float64)), RuntimeError),
        (lambda lib: lib.geqrf(lib.ones(3, 3, dtype=lib.int64)), NotImplementedError),
        (lambda lib: lib.geqrf(lib.ones(3, 3, dtype=lib.float16)), NotImplementedError),
        (
            lambda lib: lib.ormqr(
                *(lib.ones(s, dtype=lib.float16) for s in ((4, 2), (2,), (4, 1)))
            ),
            NotImplementedError,
        ),
        (
            lambda lib: lib.ormqr(
                lib.ones(4, 2, dtype=lib.float64),
                lib.ones(2, dtype=lib.float32),
                lib.ones(4, 1, dtype=lib.float64),
            ),
            RuntimeError,
        ),
        (
            lambda lib: lib.ormqr(
                *(lib.ones(s, dtype=lib.float64) for s in ((4, 2), (2,), (4, 1))), 1
            ),
            TypeError,
        ),
        (
            lambda lib: lib.orgqr(*(lib.ones(s, dtype=lib.float64) for s in ((2, 3), (2,)))),
            RuntimeError,
        ),
    ],
)
def test_householder_bad_inputs_raise_like_torch(make, exc):
    with pytest.raises(exc):
        make(torch)
    with pytest.raises(exc, match="geqrf|ormqr|orgqr"):
        make(cr)


def test_orgqr_ormqr_take_torchs_keyword_names():
    x = RNG.standard_normal((5, 3))
    a, tau = torch.geqrf(torch.tensor(x))
    c = RNG.standard_normal((5, 2))
    want = torch.ormqr(a, input2=tau, input3=torch.tensor(c), transpose=True)
    ca, ctau = cr.tensor(_np(a)), cr.tensor(_np(tau))
    got = cr.ormqr(ca, input2=ctau, input3=cr.tensor(c), transpose=True)
    np.testing.assert_allclose(_np(got), _np(want), atol=1e-12)
    np.testing.assert_allclose(_np(ca.orgqr(input2=ctau)), _np(a.orgqr(input2=tau)), atol=1e-12)
    with pytest.raises(TypeError):
        torch.ormqr(a, tau=tau, other=torch.tensor(c))
    with pytest.raises(TypeError):
        cr.ormqr(ca, tau=ctau, other=cr.tensor(c))
    out = cr.empty(5, 2, dtype=cr.float64)
    assert cr.ormqr(ca, ctau, cr.tensor(c), out=out) is out


# --- svd_lowrank, pca_lowrank -------------------------------------------------------------


def _reconstruct(u, s, v):
    return (u * s.unsqueeze(-2)) @ v.mT


def _assert_orthonormal(x, atol=1e-10):
    k = x.shape[-1]
    np.testing.assert_allclose(
        _np(x.mT @ x), np.broadcast_to(np.eye(k), _np(x.mT @ x).shape), atol=atol
    )


@pytest.mark.parametrize(
    "shape, rank, q",
    [((8, 5), 3, 4), ((5, 8), 3, 3), ((2, 9, 6), 2, 6), ((3, 1, 6, 7), 4, 5)],
)
def test_svd_lowrank_recovers_exact_low_rank_matrices(shape, rank, q):
    x = _low_rank(shape, rank)
    u, s, v = cr.svd_lowrank(cr.tensor(x), q=q)
    tu, ts, tv = torch.svd_lowrank(torch.tensor(x), q=q)
    assert (u.shape, s.shape, v.shape) == (tu.shape, ts.shape, tv.shape)
    np.testing.assert_allclose(_np(_reconstruct(u, s, v)), x, atol=1e-10)
    top = torch.linalg.svdvals(torch.tensor(x))[..., :rank].numpy()
    np.testing.assert_allclose(_np(s)[..., :rank], top, rtol=1e-10)
    np.testing.assert_allclose(_np(s)[..., :rank], ts.numpy()[..., :rank], rtol=1e-10)
    assert np.all(np.abs(_np(s)[..., rank:]) < 1e-10)
    _assert_orthonormal(u)
    _assert_orthonormal(v)


@pytest.mark.parametrize("shape, q, niter", [((5, 3), 6, 2), ((5, 3), 6, 0), ((3, 5), 0, 2)])
def test_svd_lowrank_shapes_follow_torch_when_q_exceeds_the_rank(shape, q, niter):
    x = RNG.standard_normal(shape)
    got = cr.svd_lowrank(cr.tensor(x), q=q, niter=niter)
    want = torch.svd_lowrank(torch.tensor(x), q=q, niter=niter)
    assert isinstance(got, tuple) and type(got) is type(want)
    assert [t.shape for t in got] == [t.shape for t in want]


def test_svd_lowrank_is_reproducible_from_the_seed():
    x = cr.tensor(RNG.standard_normal((7, 6)))
    cr.manual_seed(3)
    first = cr.svd_lowrank(x, q=2, niter=0)
    cr.manual_seed(3)
    again = cr.svd_lowrank(x, q=2, niter=0)
    other = cr.svd_lowrank(x, q=2, niter=0)  # the next draw: another approximation
    assert all(cr.equal(a, b) for a, b in zip(first, again))
    assert not cr.equal(first[1], other[1])


def test_svd_lowrank_subtracts_the_broadcast_mean():
    low = _low_rank((2, 9, 5), 2, seed=3)
    mean = RNG.standard_normal((5,))
    x = low + mean  # A - M has rank 2
    u, s, v = cr.svd_lowrank(cr.tensor(x), q=3, M=cr.tensor(mean))
    np.testing.assert_allclose(_np(_reconstruct(u, s, v)), low, atol=1e-10)
    want = np.linalg.svd(low, compute_uv=False)[..., :2]
    np.testing.assert_allclose(_np(s)[..., :2], want, rtol=1e-10)
    ts = torch.svd_lowrank(torch.tensor(x), q=3, M=torch.tensor(mean))[1]
    np.testing.assert_allclose(_np(s)[..., :2], ts.numpy()[..., :2], rtol=1e-10)
    wide_low = np.swapaxes(low, -1, -2)  # the wide path transposes M too
    mean_w = RNG.standard_normal((9,))
    u, s, v = cr.svd_lowrank(cr.tensor(wide_low + mean_w), q=2, M=cr.tensor(mean_w))
    np.testing.assert_allclose(_np(_reconstruct(u, s, v)), wide_low, atol=1e-10)


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda lib, x: lib.svd_lowrank(x[0]), ValueError),
        (lambda lib, x: lib.svd_lowrank(x, q=-1), RuntimeError),
        (lambda lib, x: lib.svd_lowrank(x, q=2.5), TypeError),
        (lambda lib, x: lib.svd_lowrank(x, M=x[:, :2]), RuntimeError),
        (lambda lib, x: lib.svd_lowrank(x, M=x.float()), RuntimeError),
        (lambda lib, x: lib.svd_lowrank(x.to(lib.int64)), RuntimeError),
        (lambda lib, x: lib.pca_lowrank(x, q=5), ValueError),
        (lambda lib, x: lib.pca_lowrank(x, q=-1), ValueError),
        (lambda lib, x: lib.pca_lowrank(x, niter=-1), ValueError),
        (lambda lib, x: lib.pca_lowrank(x.to(lib.int64)), RuntimeError),
    ],
)
def test_lowrank_bad_inputs_raise_like_torch(call, exc):
    x = RNG.standard_normal((5, 4))
    with pytest.raises(exc) as want:
        call(torch, torch.tensor(x))
    with pytest.raises(exc) as got:
        call(cr, cr.tensor(x))
    if exc is ValueError and "pca" in str(want.value):
        assert str(got.value) == str(want.value)


def test_svd_lowrank_singular_value_gradient_matches_torchs_full_svd():
    # For rank(A) <= q, d S_i = u_i^T dA v_i whatever the random range basis (Q^T dQ is
    # skew), so a loss of the top singular values has the full SVD's gradient.
    x = _low_rank((2, 7, 6), 3, seed=5)
    w = np.array([1.0, -0.5, 2.0])
    a = cr.tensor(x, requires_grad=True)
    (cr.svd_lowrank(a, q=4)[1][..., :3] * cr.tensor(w)).sum().backward()
    t = torch.tensor(x, requires_grad=True)
    (torch.linalg.svdvals(t)[..., :3] * torch.tensor(w)).sum().backward()
    t2 = torch.tensor(x, requires_grad=True)
    (torch.svd_lowrank(t2, q=4)[1][..., :3] * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(_np(a.grad), t.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(_np(a.grad), t2.grad.numpy(), atol=1e-9)


def test_svd_lowrank_gradient_reaches_m():
    low = _low_rank((6, 5), 2, seed=6)
    mean = RNG.standard_normal((6, 5))
    mm = cr.tensor(mean, requires_grad=True)
    cr.svd_lowrank(cr.tensor(low + mean), q=3, M=mm)[1][:2].sum().backward()
    t = torch.tensor(low + mean)
    tm = torch.tensor(mean, requires_grad=True)
    torch.linalg.svdvals(t - tm)[:2].sum().backward()
    np.testing.assert_allclose(_np(mm.grad), tm.grad.numpy(), atol=1e-9)


def test_svd_lowrank_with_q_at_full_rank_is_differentiable_twice():
    # q = min(m, n): Q spans A's whole range, so U U^T and S are those of the exact SVD
    x = RNG.standard_normal((6, 4))
    w1, w2 = RNG.standard_normal((6, 6)), RNG.standard_normal(4)

    def loss(lib, u, s):
        return ((u @ u.mT) * lib.tensor(w1)).sum() + (s * lib.tensor(w2)).sum()

    def fn(a):
        cr.manual_seed(0)  # the same test matrix R at every evaluation
        u, s, _ = cr.svd_lowrank(a, q=4)
        return loss(cr, u, s)

    a = cr.tensor(x, requires_grad=True)
    fn(a).backward()
    t = torch.tensor(x, requires_grad=True)
    u, s, _ = torch.linalg.svd(t, full_matrices=False)
    loss(torch, u, s).backward()
    np.testing.assert_allclose(_np(a.grad), t.grad.numpy(), atol=1e-10)
    assert cr.autograd.gradcheck(fn, (a,), eps=1e-6, atol=1e-6, rtol=1e-4)
    assert cr.autograd.gradgradcheck(fn, (a,), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("shape", [(9, 4), (2, 10, 7), (4, 9)])
def test_pca_lowrank_centers_and_defaults_q(shape):
    x = _low_rank(shape, 2, seed=7) + RNG.standard_normal(shape[-1])  # centered rank 2
    got = cr.pca_lowrank(cr.tensor(x))
    want = torch.pca_lowrank(torch.tensor(x))
    q = min(6, *shape[-2:])
    assert [t.shape for t in got] == [t.shape for t in want]
    assert got[1].shape[-1] == q
    centered = x - x.mean(axis=-2, keepdims=True)
    np.testing.assert_allclose(_np(_reconstruct(*got)), centered, atol=1e-10)
    np.testing.assert_allclose(_np(got[1])[..., :2], want[1].numpy()[..., :2], rtol=1e-10)
    raw = cr.pca_lowrank(cr.tensor(x), q=3, center=False)  # rank 3 uncentered: exact
    np.testing.assert_allclose(_np(_reconstruct(*raw)), x, atol=1e-10)


def test_pca_lowrank_of_empty_matrix_matches_torch():
    got = cr.pca_lowrank(cr.zeros(0, 4, dtype=cr.float64))
    want = torch.pca_lowrank(torch.zeros(0, 4, dtype=torch.float64))
    assert [t.shape for t in got] == [t.shape for t in want]


# --- removed functions --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, replacement",
    [
        (lambda lib, x: lib.eig(x), "linalg.eigvals"),
        (lambda lib, x: lib.eig(x, True), "linalg.eig"),
        (lambda lib, x: x.eig(eigenvectors=True), "linalg.eig"),
        (lambda lib, x: lib.symeig(x, upper=False), "linalg.eigvalsh"),
        (lambda lib, x: x.symeig(), "linalg.eigh"),
        (lambda lib, x: lib.solve(x, x), "linalg.solve"),
        (lambda lib, x: x.solve(x), "linalg.solve"),
        (lambda lib, x: lib.lstsq(x, x), "linalg.lstsq"),
        (lambda lib, x: x.lstsq(x), "linalg.lstsq"),
    ],
)
def test_removed_functions_raise_like_torch(call, replacement):
    x = RNG.standard_normal((3, 3))
    with pytest.raises(RuntimeError, match="deprecated since version 1.9 and is now removed"):
        call(torch, torch.tensor(x))
    with pytest.raises(
        RuntimeError, match="deprecated since version 1.9 and is now removed"
    ) as err:
        call(cr, cr.tensor(x))
    assert replacement in str(err.value)
