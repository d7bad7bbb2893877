"""``lobpcg`` checked against torch 2.13: eigenvalues against ``torch.linalg.eigh`` (and
torch's own ``lobpcg``), shapes, batching, the generalized problem, the iteration parameters,
bad inputs, and gradients (of losses invariant to the eigenvectors' signs) against torch's,
with gradcheck, gradgradcheck and forward mode. Split from tests/test_linalg_lowrank.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(4321)


def _np(t) -> np.ndarray:
    return t.detach().numpy()


def _spd(m: int, batch: tuple = (), seed: int = 0) -> np.ndarray:
    """Symmetric positive-definite with well separated eigenvalues."""
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.standard_normal((*batch, m, m)))[0]
    w = np.linspace(1.0, 4.0 * m, m) * rng.uniform(0.9, 1.1, (*batch, m))
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def _assert_orthonormal(x, atol):
    k = x.shape[-1]
    gram = _np(x.mT @ x)
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(k), gram.shape), atol=atol)


def _extreme(a: np.ndarray, k: int, largest: bool) -> np.ndarray:
    w = np.linalg.eigvalsh(a)
    return w[..., ::-1][..., :k] if largest else w[..., :k]


@pytest.mark.parametrize(
    "m, k, largest, batch",
    [
        (10, 1, None, ()),
        (12, 3, True, ()),
        (12, 3, False, ()),
        (15, 2, True, (2,)),
        (9, 3, False, (2, 1)),
    ],
)
def test_lobpcg_eigenpairs_match_eigh(m, k, largest, batch):
    a = _spd(m, batch, seed=m)
    cr.manual_seed(0)
    e, v = cr.lobpcg(cr.tensor(a), k=k, largest=largest)
    te, tv = torch.lobpcg(torch.tensor(a), k=k, largest=largest)
    assert e.shape == te.shape and v.shape == tv.shape and e.dtype == cr.float64
    want = _extreme(a, k, largest is not False)
    np.testing.assert_allclose(_np(e), want, rtol=1e-10)
    np.testing.assert_allclose(_np(te), want, rtol=1e-10)
    resid = a @ _np(v) - _np(v) * _np(e)[..., None, :]
    assert np.abs(resid).max() < 1e-5 * np.abs(a).max()
    _assert_orthonormal(v, atol=1e-8)


def test_lobpcg_float32_generalized_initial_x_and_block_size():
    a, b = _spd(12, seed=1), _spd(12, seed=2)
    lb = np.linalg.cholesky(b)
    li = np.linalg.inv(lb)
    want = np.linalg.eigvalsh(li @ a @ li.T)[::-1][:2]  # A x = l B x
    e, v = cr.lobpcg(cr.tensor(a), k=2, B=cr.tensor(b), n=3)
    np.testing.assert_allclose(_np(e), want, rtol=1e-9)
    np.testing.assert_allclose(_np(v.mT @ cr.tensor(b) @ v), np.eye(2), atol=1e-8)  # B-orthonormal
    x0 = RNG.standard_normal((12, 3)).astype(np.float32)
    e32, v32 = cr.lobpcg(cr.tensor(a).float(), X=cr.tensor(x0), largest=False)
    te32, _ = torch.lobpcg(torch.tensor(a).float(), X=torch.tensor(x0), largest=False)
    assert e32.dtype == cr.float32 and e32.shape == te32.shape == (3,)  # k = X's columns
    np.testing.assert_allclose(_np(e32), _extreme(a, 3, False), rtol=1e-4)


def test_lobpcg_niter_and_ortho_params_are_used():
    a = _spd(30, seed=4)
    cr.manual_seed(1)
    e1, _ = cr.lobpcg(cr.tensor(a), k=2, niter=1)  # one step: not converged yet
    assert np.abs(_np(e1) - _extreme(a, 2, True)).max() > 1e-8
    cr.manual_seed(1)
    e1b, _ = cr.lobpcg(cr.tensor(a), k=2, ortho_iparams={"niter": 1})
    np.testing.assert_array_equal(_np(e1), _np(e1b))  # torch lets ortho_iparams override
    cr.manual_seed(1)
    e_inf, _ = cr.lobpcg(cr.tensor(a), k=2, niter=-1, ortho_fparams={"ortho_tol": 1e-10})
    np.testing.assert_allclose(_np(e_inf), _extreme(a, 2, True), rtol=1e-10)


def test_lobpcg_ik_is_unused_by_the_ortho_method_as_in_torch():
    a = _spd(12, seed=5)
    ik = np.diag(1.0 / np.diag(a))
    torch.manual_seed(0)
    plain = torch.lobpcg(torch.tensor(a), k=2)[0]
    torch.manual_seed(0)
    with_ik = torch.lobpcg(torch.tensor(a), k=2, iK=torch.tensor(ik))[0]
    assert torch.equal(plain, with_ik)
    cr.manual_seed(0)
    plain = cr.lobpcg(cr.tensor(a), k=2)[0]
    cr.manual_seed(0)
    with_ik = cr.lobpcg(cr.tensor(a), k=2, iK=cr.tensor(ik))[0]
    assert cr.equal(plain, with_ik)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(k=4), ValueError, "3 x the number of requested eigenpairs"),
        (dict(k=3, n=4), ValueError, "3 x the number"),
        (dict(X=(9, 2)), AssertionError, "X shape mismatch"),
        (dict(B=(9, 9)), AssertionError, "same shape"),
        (dict(X=(10, 2), x_dtype="float32"), RuntimeError, "dtype"),
    ],
)
def test_lobpcg_bad_inputs_raise_like_torch(kwargs, exc, match):
    a = _spd(10)
    kw = dict(kwargs)
    x_dtype = kw.pop("x_dtype", "float64")
    for lib in (torch, cr):
        args = {
            key: (lib.tensor(RNG.standard_normal(val)).to(getattr(lib, x_dtype)))
            if isinstance(val, tuple)
            else val
            for key, val in kw.items()
        }
        with pytest.raises(exc, match=match if lib is cr else None):
            lib.lobpcg(lib.tensor(a), **args)
    with pytest.raises(AssertionError, match="square"):
        cr.lobpcg(cr.tensor(a[:, :9]))


@pytest.mark.parametrize(
    "a_batch, x_shape, exc",
    [((), (2, 10, 2), AssertionError), ((3,), (10, 2), RuntimeError), ((2,), (1, 2, 10, 2), None)],
)
def test_lobpcg_initial_x_must_fit_a_like_torch(a_batch, x_shape, exc):
    a = _spd(10, a_batch, seed=11)
    x = RNG.standard_normal(x_shape)
    for lib in (torch, cr):
        if exc is None:  # torch reshapes X to A's batch when the sizes allow
            e, v = lib.lobpcg(lib.tensor(a), X=lib.tensor(x), k=1)
            assert tuple(e.shape) == (*a_batch, 1) and tuple(v.shape) == (*a_batch, 10, 1)
        else:
            with pytest.raises(exc):
                lib.lobpcg(lib.tensor(a), X=lib.tensor(x))


@pytest.mark.parametrize(
    "kwargs, name", [(dict(method="basic"), "method"), (dict(tracker=print), "tracker")]
)
def test_lobpcg_unsupported_arguments_raise_not_implemented(kwargs, name):
    with pytest.raises(NotImplementedError, match=name):
        cr.lobpcg(cr.tensor(_spd(10)), **kwargs)


def _subspace_loss(e, v, c, w):
    """Invariant to the eigenvectors' signs: sum c_i e_i + sum W * (V V^T)."""
    return (e * c).sum() + ((v @ v.mT) * w).sum()


@pytest.mark.parametrize("largest, batch", [(True, ()), (False, ()), (True, (2,))])
def test_lobpcg_gradient_matches_torch(largest, batch):
    m, k = 12, 3
    a = _spd(m, batch, seed=8)
    a = a + 0.01 * RNG.standard_normal(a.shape)  # not symmetric: the symmetric part is used
    c, w = RNG.standard_normal(k), RNG.standard_normal((m, m))
    ca = cr.tensor(a, requires_grad=True)
    e, v = cr.lobpcg(ca, k=k, largest=largest, tol=1e-12, niter=-1)
    _subspace_loss(e, v, cr.tensor(c), cr.tensor(w)).backward()
    ta = torch.tensor(a, requires_grad=True)
    te, tv = torch.lobpcg(ta, k=k, largest=largest)
    _subspace_loss(te, tv, torch.tensor(c), torch.tensor(w)).backward()
    # torch's gradient through a full eigh of the symmetric part (exact)
    ea = torch.tensor(a, requires_grad=True)
    full_e, full_v = torch.linalg.eigh((ea + ea.mT) / 2)
    idx = torch.arange(m - 1, m - 1 - k, -1) if largest else torch.arange(k)
    _subspace_loss(full_e[..., idx], full_v[..., idx], torch.tensor(c), torch.tensor(w)).backward()
    scale = np.abs(ea.grad.numpy()).max()
    np.testing.assert_allclose(_np(ca.grad), ea.grad.numpy(), atol=1e-8 * scale)
    np.testing.assert_allclose(_np(ca.grad), ta.grad.numpy(), atol=1e-5 * scale)
    np.testing.assert_allclose(_np(ca.grad), np.swapaxes(_np(ca.grad), -1, -2), atol=1e-12)


@pytest.mark.parametrize("part", ["values", "vectors"])
def test_lobpcg_gradient_of_values_or_vectors_alone_matches_eigh(part):
    a = _spd(10, seed=10)
    w = RNG.standard_normal((10, 10))

    def loss(e, v, lib):
        return e.sum() if part == "values" else ((v @ v.mT) * lib.tensor(w)).sum()

    ca = cr.tensor(a, requires_grad=True)
    e, v = cr.lobpcg(ca, k=2, tol=1e-12, niter=-1)
    loss(e, v, cr).backward()
    ta = torch.tensor(a, requires_grad=True)
    full_e, full_v = torch.linalg.eigh(ta)
    loss(full_e[-2:], full_v[:, -2:], torch).backward()
    np.testing.assert_allclose(_np(ca.grad), ta.grad.numpy(), atol=1e-9)


def test_lobpcg_gradcheck_gradgradcheck_and_forward_mode():
    a = cr.tensor(_spd(9, seed=9), requires_grad=True)
    w = cr.tensor(RNG.standard_normal((9, 9)))

    def fn(x):
        cr.manual_seed(0)
        e, v = cr.lobpcg(x, k=2, tol=1e-13, niter=300)
        return 0.3 * e.sum() + ((v @ v.mT) * w).sum()

    assert cr.autograd.gradcheck(fn, (a,), eps=1e-6, atol=1e-5, rtol=1e-4)
    assert cr.autograd.gradgradcheck(fn, (a,), eps=1e-6, atol=1e-4, rtol=1e-3)
    assert cr.autograd.check_vjp_jvp(fn, [a])


def test_lobpcg_backward_with_b_raises_as_in_torch():
    a, b = _spd(10, seed=1), _spd(10, seed=2)
    for lib in (torch, cr):
        x = lib.tensor(a, requires_grad=True)
        e, _ = lib.lobpcg(x, B=lib.tensor(b), k=1)
        with pytest.raises(ValueError, match="B != I"):
            e.sum().backward()
