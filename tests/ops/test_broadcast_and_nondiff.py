"""Property tests for broadcasting binary ops (hypothesis) and non-differentiable ops vs torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "maximum": (cr.maximum, torch.maximum),
    "pow": (lambda a, b: a.abs() ** b, lambda a, b: a.abs() ** b),
    "where": (lambda a, b: cr.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b)),
}


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast together: sizes drawn per dim, some set to 1 or dropped."""
    nd = draw(st.integers(0, 4))
    full = [draw(st.integers(1, 3)) for _ in range(nd)]
    shapes = []
    for _ in range(2):
        keep = draw(st.integers(0, nd))
        s = [1 if draw(st.booleans()) else n for n in full[nd - keep :]]
        shapes.append(tuple(s))
    return shapes


@settings(max_examples=60, deadline=None)
@given(pair=broadcast_pair(), op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_binary_broadcasting_matches_torch(pair, op, seed):
    sa, sb = pair
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 1.5, sa) * rng.choice([-1, 1], sa)
    b = rng.uniform(0.5, 1.5, sb) * rng.choice([-1, 1], sb)
    fc, ft = BINARY[op]
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = fc(x, y), ft(tx, ty)
    assert out.shape == tuple(tout.shape) == np.broadcast_shapes(sa, sb)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    up = rng.standard_normal(out.shape)
    out.backward(cr.tensor(up))
    tout.backward(torch.tensor(up))
    for v, tv in ((x, tx), (y, ty)):
        assert v.grad.shape == v.shape
        np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(pair=broadcast_pair(), seed=st.integers(0, 2**16))
def test_broadcast_mismatch_is_a_clear_error(pair, seed):
    sa, _ = pair
    if not sa:
        return
    bad = list(sa)
    bad[-1] = sa[-1] + 1 if sa[-1] != 1 else 2
    bad = tuple(bad)
    if sa[-1] == 1:  # (.., 1) broadcasts with anything: make a genuine mismatch
        sa = sa[:-1] + (3,)
    with pytest.raises(ValueError, match=r"add: shapes .* cannot be broadcast"):
        cr.ones(sa) + cr.ones(bad)


# ---------------------------------------------------------------- non-differentiable
A = np.array([[1.5, -2.0, 0.0, 3.0], [2.0, 2.0, -1.0, 0.5], [0.0, -3.5, 4.0, 1.0]])
B = np.array([[1.5, 1.0, 0.0, -3.0], [2.5, 2.0, 1.0, 0.5], [0.5, -3.5, 3.0, 2.0]])
I = np.array([[7, -3, 0, 5], [-8, 9, 4, -1], [2, 6, -7, 3]])
J = np.array([[2, 3, -4, 5], [3, -2, 4, 7], [-5, 6, 2, 3]])
M = A > 0
N = B > 0

NONDIFF = {
    "eq": (lambda x, y: x == y, A, B),
    "ne": (lambda x, y: x != y, A, B),
    "lt": (lambda x, y: x < y, A, B),
    "le": (lambda x, y: x <= y, A, B),
    "gt": (lambda x, y: x > y, A, B),
    "ge": (lambda x, y: x >= y, A, B),
    "gt_scalar": (lambda x, y: x > 0.5, A, B),
    "and": (lambda x, y: x & y, M, N),
    "or": (lambda x, y: x | y, M, N),
    "xor": (lambda x, y: x ^ y, M, N),
    "not": (lambda x, y: ~x, M, N),
    "logical_and": (lambda x, y: x.logical_and(y), M, N),
    "logical_not": (lambda x, y: x.logical_not(), A, B),
    "argmax": (lambda x, y: x.argmax(), B, A),
    "argmax_dim": (lambda x, y: x.argmax(1), B, A),
    "argmin_keep": (lambda x, y: x.argmin(0, keepdim=True), B, A),
    "all": (lambda x, y: x.all(), M, N),
    "any_dim": (lambda x, y: x.any(1), M, N),
    "all_dim_keep": (lambda x, y: x.all(0, keepdim=True), M, N),
    "floor_divide_int": (lambda x, y: x // y, I, J),
    "floor_divide_float": (lambda x, y: x // y, A, B + 5),
    "remainder_int": (lambda x, y: x % y, I, J),
    "remainder_float": (lambda x, y: x % y, A, B + 5),
    "sign": (lambda x, y: x.sign(), A, B),
    "isfinite": (lambda x, y: x.isfinite(), A, B),
    "max_dim_indices": (lambda x, y: x.max(1)[1], B, A),
    "int_add": (lambda x, y: x + y, I, J),
    "int_mul": (lambda x, y: x * y, I, J),
    "int_sum": (lambda x, y: x.sum(0), I, J),
    "bool_sum": (lambda x, y: x.sum(), M, N),
    "int_truediv": (lambda x, y: x / y, I, J),
    "int_cumsum": (lambda x, y: x.cumsum(1), I, J),
    "nonzero": (lambda x, y: x.nonzero(), M, N),
    "argsort": (lambda x, y: x.argsort(1), B, A),
    "sort_indices": (lambda x, y: x.sort(0, descending=True)[1], B, A),
    "topk_indices": (lambda x, y: x.topk(2, 1)[1], B, A),
    "count_nonzero": (lambda x, y: x.count_nonzero(), A, B),
    "count_nonzero_dim": (lambda x, y: x.count_nonzero(1), A, B),
}


@pytest.mark.parametrize("name", sorted(NONDIFF))
def test_nondifferentiable_forward_matches_torch(name):
    fn, a, b = NONDIFF[name]
    out = fn(cr.tensor(a), cr.tensor(b))
    tout = fn(torch.tensor(a), torch.tensor(b))
    expected = tout.numpy()
    assert out.shape == tuple(tout.shape)
    assert str(out.dtype) == str(tout.dtype), name
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_one_hot_matches_torch():
    idx = np.array([[0, 3], [2, 1]])
    ref = torch.nn.functional.one_hot(torch.tensor(idx), 4).numpy()
    from chainrule.ops import one_hot

    np.testing.assert_array_equal(one_hot(cr.tensor(idx), 4).numpy(), ref)
    assert one_hot(cr.tensor(idx), 4).dtype == np.int64
    np.testing.assert_array_equal(
        one_hot(cr.tensor(np.array([1, 0, 2]))).numpy(),
        torch.nn.functional.one_hot(torch.tensor([1, 0, 2])).numpy(),
    )
    with pytest.raises(ValueError, match="^Class values must be smaller than num_classes.$"):
        one_hot(cr.tensor(np.array([0, 5])), 3)  # PyTorch's text (session 41)


def test_comparison_results_are_constants():
    x = cr.tensor(A, requires_grad=True)
    for r in (x > 0, x == 1.5, x.argmax(), (x > 0).all()):
        assert not r.requires_grad and r.grad_fn is None


@st.composite
def matmul_pair(draw):
    """Shapes for matmul: 1-d or n-d operands with broadcast-compatible batch dims."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    batch = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))]
    sa = tuple(1 if draw(st.booleans()) else b for b in batch[draw(st.integers(0, len(batch))) :])
    sb = tuple(1 if draw(st.booleans()) else b for b in batch[draw(st.integers(0, len(batch))) :])
    a = (k,) if draw(st.integers(0, 4)) == 0 else sa + (n, k)
    b = (k,) if draw(st.integers(0, 4)) == 0 else sb + (k, m)
    return a, b


@settings(max_examples=50, deadline=None)
@given(pair=matmul_pair(), seed=st.integers(0, 2**16))
def test_matmul_broadcasting_matches_torch(pair, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in pair)
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, tout = x @ y, tx @ ty
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = rng.standard_normal(out.shape)
    out.backward(cr.tensor(up))
    tout.backward(torch.tensor(up))
    for v, tv in ((x, tx), (y, ty)):
        assert v.grad.shape == v.shape
        np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-10, atol=1e-12)


REDUCTIONS = ["sum", "mean", "amax", "amin", "logsumexp", "var", "std", "norm"]


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    data=st.data(),
    op=st.sampled_from(REDUCTIONS),
    keepdim=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_reductions_over_random_dims_match_torch(shape, data, op, keepdim, seed):
    nd = len(shape)
    dims = data.draw(
        st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd, unique_by=lambda d: d % nd)
    )
    if op in ("var", "std") and np.prod([shape[d] for d in dims]) < 2:
        return  # n - 1 = 0: both give nan/inf
    rng = np.random.default_rng(seed)
    a = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 + rng.uniform(0, 0.1, shape)
    x = cr.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    if op == "norm":
        out = x.norm(dim=tuple(dims), keepdim=keepdim)
        tout = torch.linalg.vector_norm(tx, dim=tuple(dims), keepdim=keepdim)
    else:
        out = getattr(x, op)(tuple(dims), keepdim=keepdim)
        tout = getattr(tx, op)(tuple(dims), keepdim=keepdim)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = rng.standard_normal(out.shape)
    out.backward(cr.tensor(up))
    tout.backward(torch.tensor(up))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["tanh_grad", "sigmoid_grad", "relu_grad"])
def test_fused_activation_grads_third_order(name):
    """The fused backward kernels are differentiable twice more (checked numerically)."""
    from chainrule.ops import fused_grads

    fn = getattr(fused_grads, name)
    rng = np.random.default_rng(0)
    g = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = cr.tensor(rng.uniform(-0.9, 0.9, (2, 3)), requires_grad=True)
    assert cr.autograd.gradcheck(fn, [g, y])
    assert cr.autograd.gradgradcheck(fn, [g, y])
    assert cr.autograd.check_vjp_jvp(fn, [g.detach(), y.detach()])


@st.composite
def index_case(draw):
    """A shape and an index mixing ints, slices, None, Ellipsis and integer arrays."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    parts = []
    used_array = False
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "full", "array", "none"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            lo = draw(st.integers(0, n - 1))
            parts.append(slice(lo, draw(st.integers(lo + 1, n)), draw(st.integers(1, 2))))
        elif kind == "array" and not used_array:
            used_array = True
            parts.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5)))
        elif kind == "none":
            parts += [None, slice(None)]
        else:
            parts.append(slice(None))
    if draw(st.booleans()) and parts and not any(p is None for p in parts):
        parts = [Ellipsis] + parts[1:]
    return shape, tuple(parts)


@settings(max_examples=80, deadline=None)
@given(case=index_case(), seed=st.integers(0, 2**16))
def test_getitem_matches_torch_and_accumulates(case, seed):
    shape, idx = case
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out = x[idx]
    tout = tx[tuple(torch.tensor(i) if isinstance(i, list) else i for i in idx)]
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    up = rng.standard_normal(out.shape)
    out.backward(cr.tensor(up))
    tout.backward(torch.tensor(up))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
