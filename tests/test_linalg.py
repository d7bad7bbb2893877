"""cr.linalg beyond the op-spec table: errors for singular / non-square / non-PD input, the
removable singularities (norm at 0, det of a singular matrix), lstsq's driver semantics,
matrix_rank, qr/svd modes, and the namespace itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import linalg as LA


def test_namespace_is_torch_linalg_not_the_internal_module():
    assert cr.linalg is LA
    assert issubclass(LA.LinAlgError, RuntimeError)
    for name in LA.__all__:
        assert hasattr(torch.linalg, name), name
    assert not hasattr(cr, "shape") and not hasattr(cr, "unary")


@pytest.mark.parametrize("name", ["inv", "solve"])
def test_singular_matrix_raises_linalg_error(name):
    # by name: a function object taken at collection may be the __torch_function__ wrapper a
    # Tensor subclass defined by another test module installed then (conftest removes it)
    a = cr.tensor([[1.0, 2.0], [2.0, 4.0]])
    args = (a,) if name == "inv" else (a, cr.ones(2))
    with pytest.raises(LA.LinAlgError, match="singular"):
        getattr(LA, name)(*args)
    with pytest.raises(RuntimeError):
        getattr(torch.linalg, name)(*[torch.tensor(x.numpy()) for x in args])


@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "cholesky", "eigh", "matrix_power"])
def test_non_square_is_refused_with_the_shape(name):
    args = (cr.zeros(2, 3),) + ((2,) if name == "matrix_power" else ())
    with pytest.raises(RuntimeError, match="2 by 3"):
        getattr(LA, name)(*args)
    with pytest.raises(RuntimeError):
        getattr(torch.linalg, name)(torch.zeros(2, 3), *args[1:])


def test_cholesky_of_non_positive_definite_raises():
    with pytest.raises(LA.LinAlgError, match="positive-definite"):
        LA.cholesky(cr.tensor([[1.0, 2.0], [2.0, 1.0]]))


def test_integer_and_1d_inputs_are_refused():
    with pytest.raises(RuntimeError, match="floating point"):
        LA.inv(cr.tensor([[1, 0], [0, 1]]))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.svdvals(cr.ones(3))


def test_vector_norm_gradient_at_zero_is_zero_like_torch():
    x = cr.zeros(3, requires_grad=True)
    LA.vector_norm(x).backward()
    t = torch.zeros(3, requires_grad=True)
    torch.linalg.vector_norm(t).backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    y = cr.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    LA.vector_norm(y, dim=1).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [[0, 0], [0.6, 0.8]])


def test_det_gradient_of_a_singular_matrix_is_the_adjugate():
    # d det / dA = adj(A)^T, the cofactor matrix, which is not zero for a rank n-1 matrix.
    # (PyTorch 2.13 returns all zeros for this input; the finite differences agree with us.)
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    x = cr.tensor(a, requires_grad=True)
    LA.det(x).backward()
    cof = np.array(
        [
            [np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) * (-1) ** (i + j) for j in range(3)]
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(x.grad.numpy(), cof, atol=1e-10)
    assert np.abs(cof).max() > 1  # a real test: the gradient is not zero
    assert cr.autograd.gradcheck(LA.det, [cr.tensor(a, requires_grad=True)])


@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
def test_lstsq_matches_torch_per_driver(driver):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    ours = LA.lstsq(cr.tensor(a), cr.tensor(b), driver=driver)
    ref = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    for got, want in zip(ours, ref):
        assert tuple(got.shape) == tuple(want.shape), (driver, got.shape, want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-9)
    with pytest.raises(RuntimeError, match="driver"):
        LA.lstsq(cr.tensor(a), cr.tensor(b), driver="magic")


def test_matrix_rank_and_tolerances():
    a = np.outer([1.0, 2.0, 3.0], [1.0, 0.5, 2.0]) + np.diag([0.0, 0.0, 1e-3])
    for kw in ({}, {"atol": 1e-2}, {"rtol": 1e-2}, {"atol": 1e-6, "rtol": 0.0}):
        assert (
            LA.matrix_rank(cr.tensor(a), **kw).item()
            == torch.linalg.matrix_rank(torch.tensor(a), **kw).item()
        ), kw


def test_qr_modes_and_svd_full_matrices():
    a = np.random.default_rng(2).standard_normal((4, 2))
    q, r = LA.qr(cr.tensor(a), mode="complete")
    assert q.shape == (4, 4) and r.shape == (4, 2)
    np.testing.assert_allclose((q @ r).numpy(), a, atol=1e-12)
    q, r = LA.qr(cr.tensor(a), mode="r")
    assert q.numel() == 0 and r.shape == (2, 2)
    with pytest.raises(RuntimeError, match="unrecognized mode"):
        LA.qr(cr.tensor(a), mode="full")
    u, s, vh = LA.svd(cr.tensor(a))
    assert u.shape == (4, 4) and vh.shape == (2, 2)
    u, s, vh = LA.svd(cr.tensor(a, requires_grad=True))  # differentiable, as in torch
    u.sum().backward()
    with pytest.raises(NotImplementedError, match="driver"):
        LA.svd(cr.tensor(a), driver="gesvd")


def test_norm_dispatch_like_torch():
    x = np.random.default_rng(3).standard_normal((3, 4))
    for kw in (
        {},
        {"ord": 2},
        {"ord": "fro"},
        {"ord": "nuc"},
        {"ord": 1, "dim": 1},
        {"ord": float("inf")},
        {"dim": (0, 1)},
        {"ord": 3, "dim": 0, "keepdim": True},
    ):
        np.testing.assert_allclose(
            LA.norm(cr.tensor(x), **kw).numpy(),
            torch.linalg.norm(torch.tensor(x), **kw).numpy(),
            err_msg=str(kw),
        )
    with pytest.raises(RuntimeError, match="1D or 2D"):
        LA.norm(cr.ones(2, 2, 2), ord=1)


def test_cross_broadcasts_and_checks_length():
    a, b = cr.tensor([[1.0, 0.0, 0.0]]), cr.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(LA.cross(a, b).numpy(), [[0, 0, 1], [0, -1, 0]])
    with pytest.raises(RuntimeError, match="length 3"):
        LA.cross(cr.ones(2), cr.ones(2))


def test_vector_norm_over_an_empty_dim_list_reduces_every_dim_as_torch() -> None:
    x = np.array([[3.0, -4.0], [1.0, 2.0]])
    for dim in ((), []):
        for keepdim in (False, True):
            ours = cr.linalg.vector_norm(cr.tensor(x), dim=dim, keepdim=keepdim)
            theirs = torch.linalg.vector_norm(torch.tensor(x), dim=dim, keepdim=keepdim)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy())
