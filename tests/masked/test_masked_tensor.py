"""``cr.masked.MaskedTensor``'s construction, printing and pointwise ops against torch's
(torch 2.13, live): masks propagate, mismatched masks raise torch's ValueError, and ops
torch's MaskedTensor has no rule for raise TypeError as there."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import arrays, error_type, pair, same

pytestmark = pytest.mark.filterwarnings("ignore:The PyTorch API of MaskedTensors")

WARNING = "The PyTorch API of MaskedTensors is in prototype stage"


def test_construction_and_accessors():
    x, mask = arrays(0, (2, 3))
    with pytest.warns(UserWarning, match=WARNING):
        mt = cr.masked.masked_tensor(cr.tensor(x), cr.tensor(mask))
    with pytest.warns(UserWarning, match=WARNING):
        cr.masked.as_masked_tensor(cr.tensor(x), cr.tensor(mask))
    with pytest.warns(UserWarning, match=WARNING):
        direct = cr.masked.MaskedTensor(cr.tensor(x), cr.tensor(mask))
    assert isinstance(mt, cr.Tensor) and cr.is_tensor(mt)
    assert cr.masked.is_masked_tensor(direct) and not cr.masked.is_masked_tensor(cr.tensor(x))
    assert not mt.is_sparse
    assert type(mt.get_data()) is cr.Tensor
    np.testing.assert_array_equal(mt.get_data().numpy(), x)
    np.testing.assert_array_equal(mt.get_mask().numpy(), mask)
    assert mt.dim() == 2 and mt.shape == (2, 3) and mt.numel() == 6 and len(mt) == 2
    assert mt.dtype == cr.float64


@pytest.mark.parametrize("value", [0.0, -1, math.nan])
def test_to_tensor_matches_torch(value):
    theirs, ours = pair(3, (3, 4))
    np.testing.assert_array_equal(ours.to_tensor(value).numpy(), theirs.to_tensor(value).numpy())
    assert str(ours.to_tensor(value).dtype) == str(theirs.to_tensor(value).dtype)


def _mt(lib, data, mask):
    return lib.masked.masked_tensor(lib.tensor(data), lib.tensor(mask))


@pytest.mark.parametrize(
    "data,mask",
    [
        (3.0, True),
        (3.0, False),
        (3, True),
        ([1, 2, 3], [True, False, True]),
        ([True, False], [True, True]),
        ([12345.678, -0.5, math.nan, math.inf], [True, True, True, False]),
        ([[1, -20], [300, 4]], [[True, True], [True, False]]),
        ([12345.678, 1.0], [False, True]),
        ([[12345.678, 1.0], [1.0, 1.0]], [[True, True], [True, False]]),
        ([1.0, 2.0, 1e10], [True, False, True]),
        ([[1.0, 2.0], [3.0, 4.0]], [[False, False], [False, False]]),
    ],
)
def test_repr_matches_torch(data, mask):
    assert repr(_mt(cr, data, mask)) == repr(_mt(torch, data, mask))


@pytest.mark.parametrize("seed", range(4))
def test_repr_random_matches_torch(seed):
    theirs, ours = pair(seed)
    assert repr(ours) == repr(theirs)
    assert str(ours) == str(theirs)


@pytest.mark.parametrize(
    "case",
    [
        lambda L: L.masked.masked_tensor(L.tensor([1, 2]), L.tensor([1, 0])),
        lambda L: L.masked.masked_tensor(L.zeros(2), L.tensor([True, False, True])),
        lambda L: L.masked.masked_tensor([1.0, 2.0], L.tensor([True, False])),
        lambda L: L.masked.masked_tensor(L.zeros(2), [True, False]),
        lambda L: L.masked.masked_tensor(L.tensor([1, 2]), L.tensor([True, False]), True),
        lambda L: L.masked.masked_tensor(L.zeros(2), L.tensor([True, False])).tolist(),
        lambda L: L.masked.masked_tensor(L.zeros(2), L.tensor([True, False])).numpy(),
        lambda L: repr(L.masked.masked_tensor(L.zeros(2, 0), L.zeros(2, 0) > 0)),
    ],
)
def test_construction_errors_match_torch(case):
    expected = error_type(lambda: case(torch))
    assert expected is not None
    assert issubclass(error_type(lambda: case(cr)), expected)


UNARY = (
    "abs absolute acos asin atan atanh ceil cos cosh deg2rad erf erfc exp exp2 expm1 fix "
    "floor frac log log10 log1p log2 neg negative positive rad2deg reciprocal round rsqrt "
    "sigmoid sign sgn signbit sin sinc sinh sqrt square tan tanh trunc isnan isfinite"
).split()


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_keep_the_mask_as_torch(name):
    theirs, ours = pair(1, (3, 4))
    if name in ("acos", "asin", "atanh", "log", "log10", "log2", "sqrt", "rsqrt", "log1p"):
        theirs, ours = theirs.abs() / 4, ours.abs() / 4  # in the domain
    same(getattr(cr, name)(ours), getattr(torch, name)(theirs))
    same(getattr(ours, name)(), getattr(theirs, name)())


@pytest.mark.parametrize(
    "call",
    [
        lambda L, x: L.clamp(x, -0.5, 0.5),
        lambda L, x: L.pow(x, 2),
        lambda L, x: x**3,
        lambda L, x: -x,
        lambda L, x: abs(x),
        lambda L, x: L.nan_to_num(x),
        lambda L, x: x.float(),
        lambda L, x: x.to(L.float32),
        lambda L, x: x.clone(),
        lambda L, x: x.detach(),
        lambda L, x: x.contiguous(),
        lambda L, x: x.bool(),
        lambda L, x: x.int(),
    ],
)
def test_more_unary_calls_match_torch(call):
    theirs, ours = pair(2, (2, 5))
    same(call(cr, ours), call(torch, theirs))


BINARY = (
    "add sub mul div true_divide floor_divide fmod remainder atan2 eq ne lt le gt ge "
    "greater less maximum minimum fmin fmax logaddexp logaddexp2 nextafter isclose"
).split()


@pytest.mark.parametrize("name", BINARY)
def test_binary_ops_match_torch(name):
    theirs, ours = pair(4, (3, 4))
    x, _ = arrays(5, (3, 4))
    mask = theirs.get_mask().numpy()
    other_t = torch.masked.masked_tensor(torch.tensor(x), torch.tensor(mask))
    other_c = cr.masked.masked_tensor(cr.tensor(x), cr.tensor(mask))
    same(getattr(cr, name)(ours, other_c), getattr(torch, name)(theirs, other_t))
    same(getattr(cr, name)(ours, cr.tensor(x)), getattr(torch, name)(theirs, torch.tensor(x)))
    if name not in ("atan2", "maximum", "minimum", "fmin", "fmax", "isclose") and "log" not in name:
        if name != "nextafter":
            same(getattr(cr, name)(ours, 1.5), getattr(torch, name)(theirs, 1.5))


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b, t: a + b,
        lambda a, b, t: a * b - a,
        lambda a, b, t: a / b,
        lambda a, b, t: a + t,
        lambda a, b, t: t * a,
        lambda a, b, t: a > 0.5,
        lambda a, b, t: a == b,
        lambda a, b, t: 2 * a + 1,
    ],
)
def test_operators_match_torch(call):
    theirs, ours = pair(6, (4, 3))
    x, _ = arrays(7, (4, 3))
    mask = theirs.get_mask().numpy()
    bt = torch.masked.masked_tensor(torch.tensor(x), torch.tensor(mask))
    bc = cr.masked.masked_tensor(cr.tensor(x), cr.tensor(mask))
    same(call(ours, bc, cr.tensor(x)), call(theirs, bt, torch.tensor(x)))


def test_inplace_ops_match_torch():
    theirs, ours = pair(8, (3, 3))
    x, _ = arrays(9, (3, 3))
    theirs.exp_()
    ours.exp_()
    same(ours, theirs)
    mask = theirs.get_mask()
    theirs.add_(torch.masked.masked_tensor(torch.tensor(x), mask))
    ours.add_(cr.masked.masked_tensor(cr.tensor(x), cr.tensor(mask.numpy())))
    same(ours, theirs)
    theirs += 1
    ours += 1
    same(ours, theirs)


@pytest.mark.parametrize(
    "case",
    [
        lambda L, a, b: a + b,  # masks differ
        lambda L, a, b: L.mul(a, b),
        lambda L, a, b: L.pow(a, a),  # a unary op with a tensor argument
        lambda L, a, b: L.pow(a, L.ones(3, 4)),
        lambda L, a, b: L.relu(a),
        lambda L, a, b: L.isinf(a),
        lambda L, a, b: L.logical_not(a),
        lambda L, a, b: L.hypot(a, a),
        lambda L, a, b: L.xlogy(a, a),
        lambda L, a, b: L.matmul(a, a.t()),
        lambda L, a, b: 2.0 - a,
        lambda L, a, b: a.masked_fill(a.get_mask(), 0.0),
    ],
)
def test_errors_match_torch(case):
    theirs_a, ours_a = pair(10, (3, 4))
    theirs_b, ours_b = pair(11, (3, 4))
    expected = error_type(lambda: case(torch, theirs_a, theirs_b))
    assert expected is not None
    assert error_type(lambda: case(cr, ours_a, ours_b)) is expected


def test_error_messages():
    _, a = pair(10, (3, 4))
    _, b = pair(11, (3, 4))
    with pytest.raises(ValueError, match="Input masks must match"):
        a + b
    with pytest.raises(TypeError, match="unary ops do not support additional Tensor"):
        cr.pow(a, a)
    with pytest.raises(TypeError, match="MaskedTensor does not support 'relu'"):
        cr.relu(a)
