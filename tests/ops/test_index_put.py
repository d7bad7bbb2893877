"""``index_put`` / ``index_put_`` (ops/indexing.py) against PyTorch: the recorded in-place
write (gradients to the written tensor's history and to the values, both accumulate modes,
repeated indices, broadcast values, bool masks, several index tensors, views), forward mode,
the unrecorded fast path and the errors. Op-level gradcheck/gradgradcheck/jvp run from
tests/ops/op_specs_index_put.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import forward_ad as fwAD

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
W = RNG.standard_normal((3, 4))  # a random upstream gradient

CASES = {
    "rows": ((np.array([2, 0]),), (2, 4)),
    "rows_rep": ((np.array([0, 2, 0, 2, 2]),), (5, 4)),
    "rows_bcast": ((np.array([1, 1, 0]),), (4,)),
    "scalar_value": ((np.array([1, 1, 0]),), ()),
    "pairs_rep": ((np.array([0, 2, 2, 1]), np.array([1, 3, 3, 0])), (4,)),
    "pairs_bcast_index": ((np.array([[0], [2]]), np.array([1, 3, 3])), (2, 3)),
    "mask": ((A > 0,), ((A > 0).sum(),)),
    "row_mask": ((np.array([True, False, True]),), (1, 4)),
    "mask_then_int": ((np.array([True, False, True]), np.array([3, 0])), (2,)),
}


def _run(lib, index, vshape, accumulate, inplace):
    a = lib.tensor(A, requires_grad=True)
    v = lib.tensor(RNG.standard_normal(vshape), dtype=lib.float64, requires_grad=True)
    idx = tuple(lib.tensor(i) for i in index)
    x = a * 2
    out = (
        x.index_put_(idx, v * 1, accumulate=accumulate)
        if inplace
        else lib.index_put(x, idx, v * 1, accumulate=accumulate)
    )
    if inplace:
        assert out is x
    (out * lib.tensor(W)).sum().backward()
    return out.detach().numpy(), a.grad.numpy(), v.grad.numpy()


# Overwrite with repeated indices is left out: which write wins is unspecified in PyTorch
# (test_repeated_overwrite_gives_every_value_its_gradient checks its gradient).
RUNS = [
    (case, acc, inplace)
    for case in CASES
    for acc in (False, True)
    for inplace in (True, False)
    if acc or not case.endswith("rep")
]


@pytest.mark.parametrize("case,accumulate,inplace", RUNS)
def test_values_and_gradients_match_torch(case, accumulate, inplace):
    index, vshape = CASES[case]
    seed = RNG.bit_generator.state
    got = _run(cr, index, vshape, accumulate, inplace)
    RNG.bit_generator.state = seed
    want = _run(torch, index, vshape, accumulate, inplace)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_repeated_overwrite_gives_every_value_its_gradient():
    """For overwrite with repeated indices PyTorch gives each value the upstream gradient at
    its position (whichever value was kept); so does chainrule."""
    for lib in (cr, torch):
        v = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = lib.zeros(3, dtype=v.dtype, requires_grad=True) * 1
        x.index_put_((lib.tensor([1, 1, 2]),), v * 1)
        (x * lib.tensor([10.0, 20.0, 30.0])).sum().backward()
        np.testing.assert_array_equal(v.grad.numpy(), [20.0, 20.0, 30.0])


@pytest.mark.parametrize("accumulate", [False, True])
def test_forward_mode_through_inplace(accumulate):
    idx = (cr.tensor([0, 2, 0]),)
    tv = RNG.standard_normal(4)
    ta = RNG.standard_normal((3, 4))
    with fwAD.dual_level():
        a = fwAD.make_dual(cr.tensor(A), cr.tensor(ta))
        v = fwAD.make_dual(cr.tensor(np.ones(4)), cr.tensor(tv))
        x = a * 2
        x.index_put_(idx, v, accumulate=accumulate)
        tangent = fwAD.unpack_dual(x).tangent.numpy()
    with torch.autograd.forward_ad.dual_level():
        a = torch.autograd.forward_ad.make_dual(torch.tensor(A), torch.tensor(ta))
        v = torch.autograd.forward_ad.make_dual(
            torch.ones(4, dtype=torch.float64), torch.tensor(tv)
        )
        x = a * 2
        x.index_put_((torch.tensor([0, 2, 0]),), v, accumulate=accumulate)
        want = torch.autograd.forward_ad.unpack_dual(x).tangent.numpy()
    np.testing.assert_allclose(tangent, want, rtol=1e-12)


def test_write_into_a_view_reaches_the_base():
    for lib in (cr, torch):
        a = lib.tensor(A, requires_grad=True)
        v = lib.tensor([5.0, 6.0], dtype=a.dtype, requires_grad=True)
        x = a * 1
        x[1].index_put_((lib.tensor([0, 3]),), v, accumulate=True)
        (x * lib.tensor(W)).sum().backward()
        if lib is cr:
            got = (x.detach().numpy(), a.grad.numpy(), v.grad.numpy())
        else:
            want = (x.detach().numpy(), a.grad.numpy(), v.grad.numpy())
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_unrecorded_write_is_in_place_and_counts_a_version():
    x = cr.zeros(3, 4)
    before = x._version
    data = x._data
    out = x.index_put_((cr.tensor([1, 1]),), cr.ones(4), accumulate=True)
    assert out is x and x._data is data and x._version == before + 1
    np.testing.assert_array_equal(x.numpy()[1], [2.0] * 4)
    y = cr.zeros(2, 3, dtype=cr.int64)
    y.index_put_((cr.tensor([0]), cr.tensor([2])), cr.tensor(7))
    assert y.dtype == cr.int64 and y.numpy()[0, 2] == 7


def test_out_of_place_leaves_input_alone_and_allows_leaves():
    a = cr.tensor(A, requires_grad=True)
    out = a.index_put((cr.tensor([0]),), cr.tensor(1.0, dtype=cr.float64))
    np.testing.assert_array_equal(a.detach().numpy(), A)
    assert out.requires_grad and out.detach().numpy()[0].tolist() == [1.0] * 4


def test_no_grad_write_into_leaf_is_allowed():
    a = cr.tensor(A, requires_grad=True)
    with cr.no_grad():
        a.index_put_((cr.tensor([0]),), cr.tensor(1.0, dtype=cr.float64))
    assert a.grad_fn is None and a.detach().numpy()[0].tolist() == [1.0] * 4


def _error(lib, call):
    try:
        call(lib)
    except Exception as err:  # noqa: BLE001 - compared with PyTorch's
        return err
    raise AssertionError(f"{lib.__name__}: no error")


BAD = {
    "leaf_requires_grad": lambda lib: lib.tensor(A, requires_grad=True).index_put_(
        (lib.tensor([0]),), lib.tensor(1.0, dtype=lib.float64)
    ),
    "dtype_mismatch": lambda lib: lib.tensor(A).index_put((lib.tensor([0]),), lib.tensor(1.0)),
    "scalar_values": lambda lib: lib.tensor(A).index_put((lib.tensor([0]),), 1.0),
    "index_not_tuple": lambda lib: lib.tensor(A).index_put(
        lib.tensor([0]), lib.tensor(1.0, dtype=lib.float64)
    ),
    "float_index": lambda lib: lib.tensor(A).index_put(
        (lib.tensor([0.0]),), lib.tensor(1.0, dtype=lib.float64)
    ),
    "none_index": lambda lib: lib.tensor(A).index_put(
        (None, lib.tensor([0])), lib.tensor(1.0, dtype=lib.float64)
    ),
    "too_many": lambda lib: lib.tensor(A).index_put(
        (lib.tensor([0]),) * 3, lib.tensor(1.0, dtype=lib.float64)
    ),
    "out_of_bounds": lambda lib: lib.tensor(A).index_put_(
        (lib.tensor([3]),), lib.tensor(1.0, dtype=lib.float64), accumulate=True
    ),
    "value_shape": lambda lib: lib.tensor(A).index_put(
        (lib.tensor([0, 1]),), lib.tensor(np.ones(3))
    ),
    "mask_shape": lambda lib: lib.tensor(A).index_put(
        (lib.tensor([True, False]),), lib.tensor(1.0, dtype=lib.float64)
    ),
    "index_shapes": lambda lib: lib.tensor(A).index_put(
        (lib.tensor([0, 1]), lib.tensor([0, 1, 2])), lib.tensor(1.0, dtype=lib.float64)
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_raise_like_torch(case):
    want = _error(torch, BAD[case])
    got = _error(cr, BAD[case])
    assert isinstance(got, type(want)), (case, got, want)
    if case == "leaf_requires_grad":  # PyTorch's own words, which name no op (session 39)
        assert str(got) == str(want), got
    else:
        assert "index_put" in str(got), got


def test_uint8_index_is_a_deprecated_mask():
    # (a one-element value without accumulate is torch 2.13's masked_fill_, which raises:
    # tests/ops/test_indexing_session31.py)
    x = cr.zeros(3)
    with pytest.warns(UserWarning, match="uint8"):
        x.index_put_(
            (cr.tensor(np.array([1, 0, 1], dtype=np.uint8)),), cr.tensor(2.0), accumulate=True
        )
    np.testing.assert_array_equal(x.numpy(), [2.0, 0.0, 2.0])


@pytest.mark.parametrize("accumulate", [False, True])
def test_under_vmap_matches_torch(accumulate):
    v = np.ones((3, 2)) * np.arange(3)[:, None]
    got, want = (
        lib.vmap(
            lambda a, b, lib=lib: (a * 1).index_put_(
                (lib.tensor([2, 0]),), b, accumulate=accumulate
            )
        )(lib.tensor(A), lib.tensor(v))
        for lib in (cr, torch)
    )
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_values_that_require_grad_make_a_plain_tensor_record():
    for lib in (cr, torch):
        x = lib.zeros(3, dtype=lib.float64)
        v = lib.tensor([2.0, 3.0], dtype=lib.float64, requires_grad=True)
        x.index_put_((lib.tensor([0, 0]),), v, accumulate=True)
        assert x.requires_grad and x.grad_fn is not None
        (x * lib.tensor([5.0, 1.0, 1.0], dtype=lib.float64)).sum().backward()
        np.testing.assert_array_equal(v.grad.numpy(), [5.0, 5.0])
        np.testing.assert_array_equal(x.detach().numpy(), [5.0, 0.0, 0.0])
