"""SVD and eigh gradients entry by entry against PyTorch in two corners: ``full_matrices=True``
on non-square matrices (the extra columns of U / rows of Vh get no gradient), and complex
losses that depend on the singular / eigenvector phases (PyTorch raises only beyond an
absolute tolerance, 5e-3 for svd and 1e-2 for eigh, and differentiates below it).

The two libraries may pick different phases (signs) for the same singular / eigenvectors, so
each loss ``Re sum(conj(G) * U)`` is written for PyTorch's vectors and carried over to
chainrule's by the measured phases ``d`` (``U_torch = U_cr diag(d)``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwad

import chainrule as cr

RNG = np.random.default_rng(2613)


def _randn(shape, dtype) -> np.ndarray:
    x = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype)


def _mh(x: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(x, -1, -2))


def _set_phase(g: np.ndarray, vecs: np.ndarray, im: np.ndarray) -> np.ndarray:
    """``g`` (..., p, k) changed along ``vecs`` (orthonormal columns) so that
    ``Im diag(vecs^H g) = im``: the loss's dependence on the k phases, set exactly."""
    cur = np.diagonal(_mh(vecs) @ g, 0, -2, -1).imag
    return g + vecs * (1j * (im - cur))[..., None, :].astype(g.dtype)


def _svd_grad(lib, a, gu, gs, gvh, full):
    """The gradient of Re sum(conj(gU) U) + sum(gS S) + Re sum(conj(gVh) Vh), or "raise"."""
    x = lib.tensor(a, requires_grad=True)
    if lib is torch:
        u, s, vh = torch.linalg.svd(x, full_matrices=full)
    else:
        u, s, vh = cr.linalg.svd(x, full_matrices=full)
    loss = (lib.tensor(gs) * s).sum() if gs is not None else 0.0
    if gu is not None:
        loss = loss + (lib.tensor(gu).conj() * u).real.sum()
    if gvh is not None:
        loss = loss + (lib.tensor(gvh).conj() * vh).real.sum()
    try:
        loss.backward()
    except RuntimeError as e:
        assert "svd_backward: The singular vectors in the complex case" in str(e)
        return "raise"
    return x.grad.detach().numpy()


def _svd_case(a, gu, gs, gvh, full, rtol):
    """Same gradient (or both raise) for the loss given for PyTorch's U, Vh."""
    k = min(a.shape[-2:])
    ut = torch.linalg.svd(torch.tensor(a), full_matrices=False)[0].numpy()
    uc = cr.linalg.svd(cr.tensor(a), full_matrices=False)[0].numpy()
    d = np.sum(np.conj(uc) * ut, axis=-2)  # U_torch = U_cr diag(d), Vh_torch = conj(d) Vh_cr
    gu_c = gvh_c = None
    if gu is not None:
        gu_c = gu.copy()
        gu_c[..., :k] *= np.conj(d)[..., None, :]
    if gvh is not None:
        gvh_c = gvh.copy()
        gvh_c[..., :k, :] *= d[..., :, None]
    want = _svd_grad(torch, a, gu, gs, gvh, full)
    got = _svd_grad(cr, a, gu_c, gs, gvh_c, full)
    if isinstance(want, str) or isinstance(got, str):
        assert got == want
        return got
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    return got


def _svd_loss(a, full, im_u, im_v):
    """Random gU, gS, gVh for PyTorch's SVD of ``a`` with Im diag(U^H gU) = im_u and
    Im diag(V^H gV) = im_v over the first k columns (None: that part is not used)."""
    u, s, vh = (t.numpy() for t in torch.linalg.svd(torch.tensor(a), full_matrices=full))
    k = s.shape[-1]
    gu = _randn(u.shape, a.dtype) if im_u is not None else None
    gvh = _randn(vh.shape, a.dtype) if im_v is not None else None
    if a.dtype.kind == "c":
        if gu is not None:
            gu[..., :k] = _set_phase(gu[..., :k], u[..., :k], im_u)
        if gvh is not None:
            gv = _set_phase(_mh(gvh[..., :k, :]), _mh(vh[..., :k, :]), im_v)
            gvh[..., :k, :] = _mh(gv)
    return gu, RNG.standard_normal(s.shape).astype(s.dtype), gvh


# ------------------------------------------------------- full_matrices=True, non-square
@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 4, 2), (2, 2, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_svd_full_matrices_non_square_grad_matches_torch(shape, dtype):
    a = _randn(shape, dtype)
    zero = np.zeros(shape[:-2] + (min(shape[-2:]),))
    gu, gs, gvh = _svd_loss(a, True, zero, zero)
    k = min(shape[-2:])
    got = _svd_case(a, gu, gs, gvh, True, 1e-10)
    # the extra columns of gU / rows of gVh are ignored: the reduced SVD's gradient
    reduced = _svd_case(a, gu[..., :k], gs, gvh[..., :k, :], False, 1e-10)
    np.testing.assert_allclose(got, reduced, rtol=1e-12, atol=1e-12)


def test_torch_svd_some_false_matches_torch():
    a = _randn((2, 4, 3), np.float64)
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    w, c = RNG.standard_normal((2, 4, 3)), RNG.standard_normal((4, 4))
    for lib, inp in ((cr, x), (torch, t)):
        u, s, v = lib.svd(inp, some=False)
        assert tuple(u.shape) == (2, 4, 4) and tuple(v.shape) == (2, 3, 3)
        # sign-invariant: U_k diag(S) V_k^T and the projector on the first two columns
        proj = u[..., :2] @ u[..., :2].mT
        rebuilt = (u[..., :3] * s.unsqueeze(-2)) @ v.mT
        ((rebuilt * lib.tensor(w)).sum() + (proj * lib.tensor(c)).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (2, 4)])
def test_svd_full_matrices_non_square_gradcheck(shape):
    k = min(shape)
    w = cr.tensor(RNG.standard_normal(k))

    def loss(x):  # the first k columns / rows only, through phase-invariant products
        u, s, vh = cr.linalg.svd(x, full_matrices=True)
        uk, vhk = u[..., :k], vh[..., :k, :]
        return (uk * w) @ uk.mH, vhk.mH @ (vhk * w.unsqueeze(-1)), s

    for dtype in (np.float64, np.complex128):
        x = cr.tensor(_randn(shape, dtype), requires_grad=True)
        assert cr.autograd.gradcheck(loss, (x,), check_forward_ad=True)
        assert cr.autograd.gradgradcheck(loss, (x,))


@pytest.mark.parametrize("shape", [(4, 3), (2, 4, 2), (3, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.complex64])
@pytest.mark.parametrize("full", [True, False])
def test_svd_forward_mode_matches_torch(shape, dtype, full):
    """Tangents of U, S, Vh (PyTorch's gauge: each pair's phase split evenly between U and V;
    the extra columns / rows of a full_matrices SVD have a zero tangent)."""
    a, t = _randn(shape, dtype), _randn(shape, dtype)
    with fwad.dual_level():
        out = torch.linalg.svd(fwad.make_dual(torch.tensor(a), torch.tensor(t)), full)
        want = [fwad.unpack_dual(x).tangent.numpy() for x in out]
        u_t = out[0].detach().numpy()
    fw = cr.autograd.forward_ad
    with fw.dual_level():
        out = cr.linalg.svd(fw.make_dual(cr.tensor(a), cr.tensor(t)), full)
        got = [fw.unpack_dual(x).tangent.numpy() for x in out]
        u_c = out[0].detach().numpy()
    k = min(shape[-2:])
    d = np.sum(np.conj(u_c[..., :k]) * u_t[..., :k], axis=-2)  # U_torch = U_cr diag(d)
    tol = 1e-4 if dtype == np.complex64 else 1e-10
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
    np.testing.assert_allclose(got[0][..., :k] * d[..., None, :], want[0][..., :k], atol=tol)
    np.testing.assert_array_equal(got[0][..., k:], 0)
    np.testing.assert_allclose(got[1], want[1], atol=tol)
    np.testing.assert_allclose(
        np.conj(d)[..., :, None] * got[2][..., :k, :], want[2][..., :k, :], atol=tol
    )
    np.testing.assert_array_equal(got[2][..., k:, :], 0)


# ------------------------------------------------------------- svd: phase-dependent losses
def _im(shape, *, bound, spike=None):
    """Random imaginary diagonals within +-bound; ``spike`` sets entry [0, ..., 0] (the
    first matrix of the batch, first vector)."""
    im = RNG.uniform(-bound, bound, shape)
    if spike is not None:
        im.reshape(-1)[0] = spike
    return im


@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 3), (2, 2, 3)])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_svd_phase_dependent_loss_below_tolerance_matches_torch(shape, dtype):
    """|Im diag(U^H gU + V^H gV)| <= 5e-3 everywhere: no error, and PyTorch's gradient,
    which keeps U's share i Im diag(U^H gU) / S; for U alone, Vh alone and both."""
    a = _randn(shape, dtype)
    k = (*shape[:-2], min(shape[-2:]))
    rtol = 2e-4 if dtype == np.complex64 else 1e-10
    for im_u, im_v in [(_im(k, bound=2e-3), _im(k, bound=2e-3)), (_im(k, bound=4.5e-3), None)]:
        gu, gs, gvh = _svd_loss(a, False, im_u, im_v)
        assert not isinstance(_svd_case(a, gu, gs, gvh, False, rtol), str)
    gu, gs, gvh = _svd_loss(a, True, None, _im(k, bound=4.5e-3))
    assert not isinstance(_svd_case(a, gu, gs, gvh, True, rtol), str)
    # Vh used with a zero gradient is not Vh unused: PyTorch keeps U's phase share then
    gu, gs, _ = _svd_loss(a, False, _im(k, bound=4.5e-3), None)
    vh_zero = np.zeros(shape[:-2] + (k[-1], shape[-1]), dtype)
    with_zero = _svd_case(a, gu, gs, vh_zero, False, rtol)
    unused = _svd_case(a, gu, gs, None, False, rtol)
    assert np.abs(with_zero - unused).max() > 1e-4  # each equals torch to rtol
    # S unused, U and Vh used
    gu, _, gvh = _svd_loss(a, False, _im(k, bound=2e-3), _im(k, bound=2e-3))
    assert not isinstance(_svd_case(a, gu, None, gvh, False, rtol), str)
    # opposite phases on U and V cancel: only their sum is checked
    im = _im(k, bound=1e-2, spike=2e-2)
    gu, gs, gvh = _svd_loss(a, False, im, -im + _im(k, bound=1e-3))
    assert not isinstance(_svd_case(a, gu, gs, gvh, False, rtol), str)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_svd_phase_dependent_loss_above_tolerance_raises_like_torch(dtype):
    a = _randn((2, 4, 3), dtype)
    k = (2, 3)
    cases = [
        (_im(k, bound=1e-3, spike=6e-3), None),
        (None, _im(k, bound=1e-3, spike=-6e-3)),
        (_im(k, bound=0.0, spike=3e-3), _im(k, bound=0.0, spike=3e-3)),  # the sum counts
        (_im(k, bound=1.0), _im(k, bound=1.0)),
    ]
    for im_u, im_v in cases:
        for full in (False, True):
            gu, gs, gvh = _svd_loss(a, full, im_u, im_v)
            assert _svd_case(a, gu, gs, gvh, full, 1e-4) == "raise"


# -------------------------------------------------------------------- eigh: the same
def _eigh_grad(lib, a, gv, gw):
    x = lib.tensor(a, requires_grad=True)
    w, v = lib.linalg.eigh(x)
    loss = (lib.tensor(gv).conj() * v).real.sum()
    if gw is not None:  # None: the eigenvalues unused (PyTorch then keeps the phase term)
        loss = loss + (lib.tensor(gw) * w).sum()
    try:
        loss.backward()
    except RuntimeError as e:
        assert "linalg_eigh_backward: The eigenvectors in the complex case" in str(e)
        return "raise"
    return x.grad.detach().numpy()


def _eigh_case(a, im, rtol, use_w=True):
    """Same gradient (or both raise) for a random eigenvector loss with Im diag(V^H gV) = im,
    given for PyTorch's eigenvectors and carried over to chainrule's."""
    vt = torch.linalg.eigh(torch.tensor(a))[1].numpy()
    vc = cr.linalg.eigh(cr.tensor(a))[1].numpy()
    d = np.sum(np.conj(vc) * vt, axis=-2)
    gv = _set_phase(_randn(a.shape, a.dtype), vt, im)
    gw = RNG.standard_normal(a.shape[:-1]).astype(vt.real.dtype) if use_w else None
    want = _eigh_grad(torch, a, gv, gw)
    got = _eigh_grad(cr, a, gv * np.conj(d)[..., None, :], gw)
    if isinstance(want, str) or isinstance(got, str):
        assert got == want
        return got
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    return got


@pytest.mark.parametrize("shape", [(2, 3, 3), (4, 4)])
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_eigh_phase_dependent_loss_matches_torch(shape, dtype):
    """Below 1e-2 PyTorch differentiates (the phase term is anti-Hermitian: the Hermitian
    gradient drops it, unless the eigenvalues are unused); beyond it, or at a NaN, both
    raise."""
    m = _randn(shape, dtype)
    a = m + _mh(m)
    rtol = 2e-4 if dtype == np.complex64 else 1e-10
    n = shape[:-1]
    assert not isinstance(_eigh_case(a, _im(n, bound=9e-3), rtol), str)
    assert not isinstance(_eigh_case(a, _im(n, bound=9e-3), rtol, use_w=False), str)
    assert _eigh_case(a, _im(n, bound=1e-3, spike=1.1e-2), rtol, use_w=False) == "raise"
    assert _eigh_case(a, _im(n, bound=1e-3, spike=1.2e-2), rtol) == "raise"
    assert _eigh_case(a, _im(n, bound=1e-3, spike=-1.2e-2), rtol) == "raise"
    assert _eigh_case(a, _im(n, bound=1e-3, spike=np.nan), rtol) == "raise"


# ------------------------------------------------------- the exact tolerances, inclusive
@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_gauge_tolerances_are_absolute_and_inclusive(dtype):
    """A diagonal A has U = V = I exactly, so Im diag(U^H gU) is the value put in gU: PyTorch
    accepts 5e-3 (svd) and 1e-2 (eigh) and rejects the next float, at any scale of A."""
    for scale in (1e-3, 1e3):
        a = (np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]]) * scale).astype(dtype)
        h = (np.diag([1.0, 2.0]) * scale).astype(dtype)
        for tol, make in ((5e-3, "svd"), (1e-2, "eigh")):
            for value in (tol, np.nextafter(np.array(tol, a.real.dtype), np.inf), np.nan):
                g = np.zeros((3, 2) if make == "svd" else (2, 2), dtype)
                g[1, 1] = 1j * value
                if make == "svd":
                    want = _svd_grad(torch, a, g, np.zeros(2), None, False)
                    got = _svd_grad(cr, a, g, np.zeros(2), None, False)
                else:
                    want = _eigh_grad(torch, h, g, np.zeros(2))
                    got = _eigh_grad(cr, h, g, np.zeros(2))
                assert isinstance(got, str) == isinstance(want, str) == (value != tol)
                if not isinstance(want, str):
                    rtol = 1e-10 if dtype == np.complex128 else 5e-3  # small S: rounding
                    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


def test_unused_outputs_are_undefined_gradients_as_in_torch():
    """eigvalsh / svdvals at repeated values: finite (the unused vectors add no 0/0 term);
    a vector output used with weight 0 is a gradient of zeros, non-finite there in both."""
    for lib in (torch, cr):
        x = lib.tensor(np.eye(3), requires_grad=True)
        lib.linalg.eigvalsh(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), np.eye(3))
        x = lib.tensor(np.eye(3), requires_grad=True)
        w, v = lib.linalg.eigh(x)
        (w.sum() + 0 * v.sum()).backward()
        assert np.isnan(x.grad.numpy()).all()
        x = lib.tensor(np.eye(3)[:, :2], requires_grad=True)
        u, s, vh = lib.linalg.svd(x, full_matrices=True)
        s.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), np.eye(3)[:, :2])
        x = lib.tensor(np.eye(3)[:, :2], requires_grad=True)
        u, s, vh = lib.linalg.svd(x, full_matrices=True)
        (s.sum() + 0 * vh.sum()).backward()
        assert not np.isfinite(x.grad.numpy()).all()
