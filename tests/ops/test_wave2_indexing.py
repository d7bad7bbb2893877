"""Wave-2 indexing, shape and linear-algebra ops beyond the op-spec table: in-place forms,
writes through views, version counters, integer and bool results, Tensor-only methods and
PyTorch's special return values, each against PyTorch (float64 gradients via autograd.grad).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
A34 = RNG.standard_normal((3, 4))
S32 = RNG.standard_normal((3, 2))


def _lib(x):
    return cr if isinstance(x, cr.Tensor) else torch


def _idx(x, values):
    return _lib(x).tensor(np.asarray(values))


def _run(lib, fn, arrays):
    """``fn(lib, *leaves)`` -> (value, gradients of every leaf for a fixed upstream grad)."""
    leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(lib, *leaves)
    up = lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))
    grads = lib.autograd.grad((out * up).sum(), leaves, allow_unused=True)
    value = out.detach().numpy()
    return value, [None if g is None else g.detach().numpy() for g in grads]


def assert_like_torch(fn, *arrays):
    c_val, c_grads = _run(cr, fn, arrays)
    t_val, t_grads = _run(torch, fn, arrays)
    np.testing.assert_allclose(c_val, t_val, rtol=1e-12, atol=1e-12)
    for k, (c, t) in enumerate(zip(c_grads, t_grads)):
        if t is None or c is None:
            assert (t is None or not t.any()) and (c is None or not c.any()), k
        else:
            np.testing.assert_allclose(c, t, rtol=1e-10, atol=1e-12, err_msg=f"grad {k}")


# ------------------------------------------------------------------ in-place forms
INPLACE = {
    "index_add_": lambda L, t, x, s: t.index_add_(1, _idx(x, [3, 0]), s, alpha=-2.0),
    "index_copy_": lambda L, t, x, s: t.index_copy_(1, _idx(x, [3, 1]), s),
    "index_fill_": lambda L, t, x, s: t.index_fill_(1, _idx(x, [2, 0]), -1.5) * s.sum(),
    "index_fill_tensor_": lambda L, t, x, s: t.index_fill_(0, _idx(x, [1]), s[0, 0]),
    "masked_scatter_": lambda L, t, x, s: t.masked_scatter_(
        L.tensor([[True, False, False, True]]), s
    ),
    "scatter_reduce_sum_": lambda L, t, x, s: t.scatter_reduce_(
        1, _idx(x, [[0, 0], [3, 1], [2, 2]]), s, "sum"
    ),
    "scatter_reduce_amax_": lambda L, t, x, s: t.scatter_reduce_(
        1, _idx(x, [[0, 0], [3, 1], [2, 2]]), s, "amax", include_self=False
    ),
    "scatter_reduce_mean_": lambda L, t, x, s: t.scatter_reduce_(
        0, _idx(x, [[0, 2], [0, 2], [1, 1]]), s, "mean"
    ),
    "scatter_reduce_prod_": lambda L, t, x, s: t.scatter_reduce_(
        1, _idx(x, [[0, 0], [3, 1], [2, 2]]), s, "prod"
    ),
    "renorm_": lambda L, t, x, s: t.renorm_(2, 0, 1.0) * s.sum(),
    "tril_": lambda L, t, x, s: t.tril_(1) * s.sum(),
    "triu_": lambda L, t, x, s: t.triu_(-1) * s.sum(),
    "fill_diagonal_": lambda L, t, x, s: t.fill_diagonal_(2.5) * s.sum(),
    "addbmm_": lambda L, t, x, s: t.addbmm_(
        s.reshape(1, 3, 2), s.reshape(1, 2, 3)[..., :2] @ x[:2], beta=0.5, alpha=3.0
    ),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_form_matches_torch(name):
    assert_like_torch(lambda L, x, s: INPLACE[name](L, x * 1, x, s), A34, S32)


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_form_on_a_view_rebases_the_base(name):
    """The in-place op applied to a (3, 4) view of a larger non-leaf tensor changes the
    base, and the base's gradients are PyTorch's (CopySlices)."""

    def through_view(L, x, s):
        base = L.zeros(4, 5, dtype=x.dtype) + s.mean()
        base[1:, :4] = x * 1
        out = INPLACE[name](L, base[1:, :4], x, s)
        return base * 2 + out.sum()

    assert_like_torch(through_view, A34, S32)


def test_inplace_on_a_view_via_the_op_itself():
    def fn(L, x, s):
        base = x * 1
        view = base[:, 1:3]  # (3, 2), non-contiguous
        view.index_add_(1, _idx(x, [1, 1]), s)
        view.masked_scatter_(L.tensor([True, False]), s[:, 1] * 2)
        return base * base

    assert_like_torch(fn, A34, S32)

    def fn_t(L, x, s):
        base = x * 1
        view = base.t()  # (4, 3)
        view.index_copy_(0, _idx(x, [2]), s[:, :1].t())
        view.index_fill_(1, _idx(x, [0]), s[0, 1])
        return base.exp()

    assert_like_torch(fn_t, A34, S32)


def test_inplace_bumps_the_version_and_returns_self():
    x = cr.zeros(3, 4)
    v = x._version
    for call in (
        lambda: x.index_add_(1, cr.tensor([0]), cr.ones(3, 1)),
        lambda: x.index_copy_(1, cr.tensor([1]), cr.ones(3, 1)),
        lambda: x.index_fill_(0, cr.tensor([2]), 3.0),
        lambda: x.masked_scatter_(cr.tensor([True, False, False, False]), cr.ones(3)),
        lambda: x.scatter_reduce_(1, cr.tensor([[0], [0], [0]]), cr.ones(3, 1), "prod"),
        lambda: x.tril_(),
        lambda: x.fill_diagonal_(7.0),
    ):
        assert call() is x
        v += 1
        assert x._version == v
    t = torch.zeros(3, 4)
    t.index_add_(1, torch.tensor([0]), torch.ones(3, 1))
    t.index_copy_(1, torch.tensor([1]), torch.ones(3, 1))
    t.index_fill_(0, torch.tensor([2]), 3.0)
    t.masked_scatter_(torch.tensor([True, False, False, False]), torch.ones(3))
    t.scatter_reduce_(1, torch.tensor([[0], [0], [0]]), torch.ones(3, 1), "prod")
    t.tril_().fill_diagonal_(7.0)
    np.testing.assert_array_equal(x.numpy(), t.numpy())


def test_saved_tensor_modified_by_new_inplace_op_raises():
    x = cr.tensor(A34, requires_grad=True)
    y = x * 1
    z = y.exp()  # saves its result
    z.index_fill_(1, cr.tensor([0]), 0.0)
    w = y.sin()  # saves y
    y.index_add_(0, cr.tensor([1]), cr.ones(1, 4, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="inplace operation"):
        w.sum().backward()


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.index_add_(0, cr.tensor([0]), cr.ones(1, 4)),
        lambda x: x.index_fill_(0, cr.tensor([0]), 1.0),
        lambda x: x.tril_(),
        lambda x: x.fill_diagonal_(1.0),
        lambda x: x.t_(),
        lambda x: x.unsqueeze_(0),
    ],
)
def test_inplace_on_a_leaf_that_requires_grad_raises(call):
    x = cr.tensor(A34, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        call(x)


# ------------------------------------------------------------------ integer and bool results
def _same(c, t):
    assert str(c.dtype) == str(t.dtype)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: (
            L.arange(12)
            .reshape(3, 4)
            .index_add(1, L.tensor([3, 0, 3]), L.ones(3, 3).long(), alpha=2)
        ),
        lambda L: (
            L.arange(12).reshape(3, 4).index_add(0, L.tensor([1]), L.full((1, 4), 3), alpha=2.5)
        ),
        lambda L: L.arange(12).reshape(3, 4).index_copy(0, L.tensor([2]), L.zeros(1, 4).long()),
        lambda L: L.arange(12).reshape(3, 4).index_fill(1, L.tensor([-1, 1]), 2.7),
        lambda L: L.zeros(3, 4, dtype=L.bool).index_fill(0, L.tensor([1]), True),
        lambda L: (
            L.arange(12)
            .reshape(3, 4)
            .masked_scatter(L.tensor([True, False, True, False]), -L.arange(6))
        ),
        lambda L: L.take(L.arange(12).reshape(3, 4), L.tensor([[11, -12], [0, 5]])),
        lambda L: L.select_scatter(L.zeros(3, 4, dtype=L.bool), L.ones(4, dtype=L.bool), 0, 1),
        lambda L: L.slice_scatter(L.arange(12).reshape(3, 4), L.zeros(3, 2).long(), 1, 1, 3),
        lambda L: L.tensor_split(L.arange(10), L.tensor([2, 5]))[1],
        lambda L: L.tensor_split(L.arange(10), L.tensor(4))[3],
        lambda L: L.fliplr(L.arange(6).reshape(2, 3)),
        lambda L: L.inner(L.arange(6).reshape(2, 3), L.arange(3)),
        lambda L: L.vdot(L.arange(3), L.arange(3)),
        lambda L: L.ger(L.arange(3), L.arange(2)),
    ],
)
def test_integer_and_bool_results_match_torch(fn):
    _same(fn(cr), fn(torch))


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_integer_matches_torch(reduce, include_self):
    def fn(L):
        x = L.tensor([[-1, 2, 3, 7], [4, 5, 6, -3]])
        idx = L.tensor([[0, 0, 3], [1, 1, 1]])
        src = L.tensor([[-4, 3, 5], [3, -7, 2]])
        return x.scatter_reduce(1, idx, src, reduce, include_self=include_self)

    _same(fn(cr), fn(torch))


# ------------------------------------------------------------------ scatter_reduce details
@pytest.mark.parametrize("reduce", ["amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_share_the_gradient_like_torch(reduce, include_self):
    x = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]])
    src = np.array([[1.0, 1.0, 3.0], [0.5, 4.0, 4.0]])
    idx = [[0, 0, 2], [0, 2, 2]]
    assert_like_torch(
        lambda L, a, s: a.scatter_reduce(1, _idx(a, idx), s, reduce, include_self=include_self),
        x,
        src,
    )


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_with_zeros_matches_torch(include_self):
    x = np.array([[1.0, 0.0, 3.0, 0.0], [2.0, -1.0, 0.0, 4.0]])
    src = np.array([[2.0, 0.0, 5.0, 0.0, 0.0], [0.0, 3.0, -2.0, 0.5, 1.5]])
    idx = [[1, 0, 2, 3, 3], [0, 0, 2, 1, 3]]
    assert_like_torch(
        lambda L, a, s: a.scatter_reduce(1, _idx(a, idx), s, "prod", include_self=include_self),
        x,
        src,
    )


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_with_zeros_forward_mode_matches_reverse_mode(include_self):
    x = cr.tensor([[1.0, 0.0, 3.0, 0.0], [2.0, -1.0, 0.0, 4.0]])
    src = cr.tensor([[2.0, 0.0, 5.0, 0.0, 0.0], [0.0, 3.0, -2.0, 0.5, 1.5]])
    idx = cr.tensor([[1, 0, 2, 3, 3], [0, 0, 2, 1, 3]])
    assert cr.autograd.check_vjp_jvp(
        lambda a, s: a.scatter_reduce(1, idx, s, "prod", include_self=include_self), (x, src)
    )


def test_scatter_reduce_prod_with_zeros_refuses_double_backward():
    x = cr.tensor([[1.0, 0.0, 3.0]], requires_grad=True)
    src = cr.tensor([[2.0, 5.0]], requires_grad=True)
    out = x.scatter_reduce(1, cr.tensor([[1, 2]]), src, "prod")
    (gx,) = cr.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(NotImplementedError, match="prod"):
        gx.sum().backward()


def test_scatter_reduce_accepts_max_and_min_as_torch_does():
    for L in (cr, torch):
        x = L.tensor([[1.0, 5.0], [2.0, 0.0]])
        out = x.scatter_reduce(1, L.tensor([[1], [1]]), L.tensor([[3.0], [-1.0]]), "max")
        assert out.tolist() == [[1.0, 5.0], [2.0, 0.0]]
        out = x.scatter_reduce(1, L.tensor([[1], [1]]), L.tensor([[3.0], [-1.0]]), "min")
        assert out.tolist() == [[1.0, 3.0], [2.0, -1.0]]


def test_scatter_reduce_rejects_unknown_reduce_and_dtype_mismatch():
    x = cr.zeros(2, 3)
    # (PyTorch's words since session 45: neither names scatter_reduce)
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean"):
        x.scatter_reduce(1, cr.tensor([[0]]), cr.ones(1, 1), "add")
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        x.scatter_reduce(1, cr.tensor([[0]]), cr.ones(1, 1, dtype=cr.float64), "sum")


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.zeros(3, 4).index_add(1, L.tensor([3, 0]), L.ones(3, 2, dtype=L.float64)),
        lambda L: L.zeros(3, 4).index_add(1, L.tensor([3, 0]), L.ones(3, 3)),
        lambda L: L.zeros(3, 4).index_copy(1, L.tensor([-1]), L.ones(3, 1)),
        lambda L: L.zeros(3, 4).index_fill(1, L.tensor([-5]), 1.0),
        lambda L: L.zeros(3, 4).index_fill(1, L.tensor([0]), L.ones(2)),
        lambda L: L.zeros(3, 4).masked_scatter(L.tensor([True, True, False, True]), L.ones(8)),
        lambda L: L.zeros(3, 4).masked_scatter(L.ones(4), L.ones(12)),
        lambda L: L.take(L.zeros(2, 3), L.tensor([6])),
        lambda L: L.select(L.zeros(()), 0, 0),
        lambda L: L.select_scatter(L.zeros(3, 4), L.ones(1, 4), 0, 1),
        lambda L: L.slice_scatter(L.zeros(3, 4), L.ones(3, 2), 1, 1, 2),
        lambda L: L.tensor_split(L.zeros(()), 2),
        lambda L: L.fliplr(L.zeros(3)),
        lambda L: L.renorm(L.zeros(3, 4), 0, 0, 1.0),
        lambda L: L.vdot(L.zeros(3), L.zeros(3, dtype=L.float64)),
        lambda L: L.zeros(3, 4).sum_to_size(3, 5),
        lambda L: L.zeros(3, 2, 3).fill_diagonal_(1.0),
    ],
)
def test_bad_arguments_raise_like_torch(fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(Exception) as c_err:
        fn(cr)
    assert isinstance(c_err.value, type(t_err.value)), (c_err.value, t_err.value)


# ------------------------------------------------------------------ Tensor-only methods
@pytest.mark.parametrize(
    "fn",
    [
        lambda L, x: x.t_(),
        lambda L, x: x.transpose_(0, 1),
        lambda L, x: x.swapdims_(1, 0),
        lambda L, x: x.swapaxes_(0, -1),
        lambda L, x: x.unsqueeze_(1),
        lambda L, x: x.unsqueeze_(0).squeeze_(),
        lambda L, x: x.unsqueeze_(-1).squeeze_(2),
    ],
)
def test_metadata_inplace_ops_match_torch(fn):
    def run(L, a):
        y = a * 1
        v = y._version
        out = fn(L, y)
        assert out is y and y._version > v
        return y * L.arange(y.numel(), dtype=a.dtype).reshape(y.shape)

    assert_like_torch(run, A34)
    shape_c = fn(cr, cr.zeros(3, 4)).shape
    assert tuple(shape_c) == tuple(fn(torch, torch.zeros(3, 4)).shape)


def test_metadata_inplace_on_a_view_keeps_writing_into_the_base():
    def fn(L, a):
        base = a * 1
        v = base[1:]  # (2, 4)
        v.t_()  # now (4, 2), still a view of base
        v.mul_(L.arange(8, dtype=a.dtype).reshape(4, 2))
        return base

    assert_like_torch(fn, A34)


@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (3, 3, 3)])
def test_fill_diagonal_matches_torch(shape, wrap):
    c = cr.zeros(*shape).fill_diagonal_(2.0, wrap=wrap)
    t = torch.zeros(*shape).fill_diagonal_(2.0, wrap=wrap)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_queries_match_torch():
    for L in (cr, torch):
        x = L.zeros(2, 3)
        assert x.nelement() == 6 and x.ndimension() == 2
        assert x.get_device() == -1 and L.get_device(x) == -1
        assert not x.is_complex() and not L.is_complex(x)
        assert tuple(x.reshape_as(L.zeros(3, 2)).shape) == (3, 2)
        assert tuple(L.ones(3, 4).sum_to_size(4).shape) == (4,)
    assert not hasattr(cr, "nelement") and not hasattr(cr, "sum_to_size")
    assert not hasattr(cr, "t_") and not hasattr(cr, "fill_diagonal_")


# ------------------------------------------------------------------ linear-algebra names
def test_svd_returns_v_not_vh():
    a = RNG.standard_normal((4, 3))
    for some in (True, False):
        u, s, v = cr.svd(cr.tensor(a), some=some)
        k = s.shape[-1]
        rebuilt = u[:, :k].numpy() @ np.diag(s.numpy()) @ v[:, :k].numpy().T
        np.testing.assert_allclose(rebuilt, a, atol=1e-12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tu, _, tv = torch.svd(torch.tensor(a), some=some)
        assert tuple(u.shape) == tuple(tu.shape) and tuple(v.shape) == tuple(tv.shape)


def test_svd_without_uv_gives_zero_square_factors():
    a = cr.tensor(RNG.standard_normal((2, 4, 3)))
    res = a.svd(compute_uv=False)
    assert tuple(res.U.shape) == (2, 4, 4) and tuple(res.V.shape) == (2, 3, 3)
    assert not res.U.numpy().any() and not res.V.numpy().any()
    np.testing.assert_allclose(res.S.numpy(), cr.linalg.svdvals(a).numpy())


def test_qr_complete_and_logdet_special_values_match_torch():
    a = RNG.standard_normal((4, 3))
    q, r = cr.qr(cr.tensor(a), some=False)
    tq, tr = torch.linalg.qr(torch.tensor(a), "complete")
    assert tuple(q.shape) == (4, 4) and tuple(r.shape) == (4, 3)
    np.testing.assert_allclose(np.abs(q.numpy()), np.abs(tq.numpy()), atol=1e-12)
    np.testing.assert_allclose(np.abs(r.numpy()), np.abs(tr.numpy()), atol=1e-12)
    mats = np.stack([-np.eye(3), np.zeros((3, 3)), np.diag([-1.0, -1.0, 2.0])])
    np.testing.assert_array_equal(
        cr.logdet(cr.tensor(mats)).numpy(), torch.logdet(torch.tensor(mats)).numpy()
    )
    sign, logabs = cr.tensor(mats[2]).slogdet()
    assert float(sign) == 1.0 and np.isclose(float(logabs), np.log(2.0))


def test_methods_match_functions():
    a = cr.tensor(RNG.standard_normal((3, 3)) + 3 * np.eye(3))
    for name in ("inverse", "det", "logdet", "pinverse", "matrix_exp"):
        np.testing.assert_allclose(getattr(a, name)().numpy(), getattr(cr, name)(a).numpy())
    np.testing.assert_allclose(a.matrix_power(2).numpy(), (a @ a).numpy(), atol=1e-12)
    spd = a @ a.mT
    np.testing.assert_allclose(spd.cholesky().numpy(), cr.linalg.cholesky(spd).numpy())


def test_matrix_exp_of_large_and_batched_matrices_matches_torch():
    a = RNG.standard_normal((2, 4, 4)) * 5
    np.testing.assert_allclose(
        cr.matrix_exp(cr.tensor(a)).numpy(),
        torch.matrix_exp(torch.tensor(a)).numpy(),
        rtol=1e-10,
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda L, x, s: x.index_add(0, L.tensor([0]), s[0]),
        lambda L, x, s: x.index_copy(0, L.tensor([0]), s[:1]),
        lambda L, x, s: x.index_fill(0, L.tensor([0]), s[1]),
        lambda L, x, s: x.masked_scatter(L.tensor(True), s),
        lambda L, x, s: x.masked_scatter(L.tensor(False), s),
        lambda L, x, s: (
            x.scatter_reduce(0, L.tensor(0), s[1], "amax") * L.take(x, L.tensor([0, 0]))
        ),
    ],
)
def test_zero_dim_self_matches_torch(fn):
    assert_like_torch(fn, np.array(0.7), np.array([-1.5, 2.0]))
