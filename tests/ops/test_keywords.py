"""NumPy-style aliases (axis=, keepdims=) and out= on the functional ops, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

X = np.arange(12.0).reshape(3, 4) - 5.0


@pytest.mark.parametrize(
    "name", ["sum", "mean", "prod", "amax", "amin", "std", "var", "logsumexp", "argmax", "argmin"]
)
@pytest.mark.parametrize("kw", [{"axis": 1}, {"axis": 0, "keepdims": True}])
def test_reductions_accept_numpy_names_like_torch(name, kw):
    if name == "logsumexp" and "keepdims" not in kw:
        kw = {**kw, "keepdims": False}
    ours = getattr(cr, name)(cr.tensor(X), **kw)
    theirs = getattr(torch, name)(torch.tensor(X), **kw)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    method = getattr(cr.tensor(X), name)(**kw)
    np.testing.assert_allclose(method.numpy(), theirs.numpy(), rtol=1e-12)


def test_count_nonzero_with_axis():
    np.testing.assert_array_equal(
        cr.count_nonzero(cr.tensor(X), axis=1).numpy(),
        torch.count_nonzero(torch.tensor(X), axis=1).numpy(),
    )


def test_cat_softmax_squeeze_with_axis():
    a = cr.tensor(X)
    t = torch.tensor(X)
    np.testing.assert_array_equal(cr.cat([a, a], axis=1).numpy(), torch.cat([t, t], axis=1))
    np.testing.assert_allclose(cr.softmax(a, axis=0).numpy(), torch.softmax(t, axis=0))
    assert cr.unsqueeze(a, axis=0).shape == tuple(torch.unsqueeze(t, axis=0).shape)
    with pytest.raises(TypeError, match="both 'dim' and its alias 'axis'"):
        cr.sum(a, dim=0, axis=1)


def test_out_writes_casts_resizes_and_refuses_autograd_like_torch():
    a = cr.tensor(X)
    out = cr.empty(3, 4, dtype=cr.float64)
    assert cr.add(a, a, out=out) is out
    np.testing.assert_array_equal(out.numpy(), 2 * X)
    empty = cr.empty(0, dtype=cr.float64)
    cr.matmul(a, a.T, out=empty)
    assert empty.shape == (3, 3)
    wrong = cr.empty(5, dtype=cr.float64)
    with pytest.warns(UserWarning, match="resized"):
        cr.sum(a, 0, out=wrong)
    assert wrong.shape == (4,)
    ints = cr.empty(3, 4, dtype=cr.int64)
    with pytest.raises(RuntimeError, match="can't be cast"):
        cr.mul(a, 1.5, out=ints)
    with pytest.raises(RuntimeError):
        torch.mul(torch.tensor(X), 1.5, out=torch.empty(3, 4, dtype=torch.int64))
    g = cr.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.exp(g, out=cr.empty(3))
    values, indices = cr.empty(3, dtype=cr.float64), cr.empty(3, dtype=cr.int64)
    res = cr.max(a, 1, out=(values, indices))
    ref = torch.max(torch.tensor(X), 1)
    np.testing.assert_array_equal(values.numpy(), ref.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), ref.indices.numpy())
    assert res[0] is values


_BINARY_KEYWORD_CALLS = {
    "add": lambda L, a, b: L.add(a, other=b, alpha=2),
    "add_method": lambda L, a, b: a.add(other=b),
    "add_": lambda L, a, b: a.clone().add_(other=b),
    "sub": lambda L, a, b: L.sub(input=a, other=b),
    "mul": lambda L, a, b: L.mul(input=a, other=b),
    "mul_method": lambda L, a, b: a.mul(other=b),
    "div": lambda L, a, b: L.div(a, other=b, rounding_mode="floor"),
    "div_": lambda L, a, b: a.clone().div_(other=b),
    "pow": lambda L, a, b: L.pow(a, exponent=b),
    "maximum": lambda L, a, b: L.maximum(input=a, other=b),
    "minimum": lambda L, a, b: L.minimum(a, other=b),
    "eq": lambda L, a, b: L.eq(a, other=b),
    "lt": lambda L, a, b: a.lt(other=b),
    "ge": lambda L, a, b: L.ge(input=a, other=b),
    "fmod": lambda L, a, b: L.fmod(input=a, other=b),
    "remainder": lambda L, a, b: L.remainder(a, other=b),
    "floor_divide": lambda L, a, b: L.floor_divide(a, other=b),
}


@pytest.mark.parametrize("name", sorted(_BINARY_KEYWORD_CALLS))
def test_binary_ops_take_pytorchs_keyword_names(name):
    """torch.add(input, other), torch.pow(input, exponent), ...: the same keywords work."""
    vals = np.array([1.5, -2.0, 3.0]), np.array([2.0, 0.5, -1.5])
    got, want = (_BINARY_KEYWORD_CALLS[name](L, *(L.tensor(v) for v in vals)) for L in (cr, torch))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_roll_of_a_0d_tensor_with_dims_raises_index_error_as_torch():
    for lib in (cr, torch):
        x = lib.tensor(2.0)
        assert x.roll(1).item() == 2.0
        for dims in (0, -1, (0,)):
            with pytest.raises(IndexError):
                x.roll(1, dims)
