"""``cr.masked``'s reductions on dense tensors against ``torch.masked`` (torch 2.13, live):
seeded random shapes and masks (with fully masked slices), every dim form, keepdim, dtype,
integer inputs, the fill values of empty slices, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr

pytestmark = pytest.mark.filterwarnings("ignore:The PyTorch API of MaskedTensors")

REDUCTIONS = ["sum", "prod", "amax", "amin", "mean", "logsumexp", "var", "std", "norm"]


def _case(seed: int, dtype=np.float64):
    """A random input of 1-4 dims and a mask with a fully masked-out slice along dim 0."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 5)))
    x = rng.standard_normal(shape).astype(dtype)
    mask = rng.random(shape) < 0.6
    if shape[0] > 1:
        mask[0] = False  # fully masked-out slices along every other dim
    return x, mask, rng


def _close(ours: cr.Tensor, theirs: torch.Tensor, rtol: float = 1e-6) -> None:
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=1e-6)


def _call(lib, name: str, x, *args, **kwargs):
    return getattr(lib.masked, name)(x, *args, **kwargs)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("seed", range(8))
def test_reduction_dims_match_torch(name, seed):
    x, mask, rng = _case(seed)
    ndim = x.ndim
    dims = [None, 0, -1, tuple(range(ndim))]
    if ndim > 1:
        dims.append((0, ndim - 1))
    for dim in dims:
        for keepdim in (False, True):
            pre = (2.0,) if name == "norm" else ()
            kw = {"keepdim": keepdim, "mask": torch.tensor(mask)}
            theirs = _call(torch, name, torch.tensor(x), *pre, dim, **kw)
            kw["mask"] = cr.tensor(mask)
            ours = _call(cr, name, cr.tensor(x), *pre, dim, **kw)
            _close(ours, theirs)


@pytest.mark.parametrize("name", ["sum", "prod", "amax", "amin", "mean", "logsumexp"])
def test_no_mask_is_the_plain_reduction(name):
    x, _, _ = _case(3)
    _close(_call(cr, name, cr.tensor(x), 0), _call(torch, name, torch.tensor(x), 0))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("seed", range(6))
def test_argmax_argmin_match_torch(name, seed):
    x, mask, _ = _case(seed)
    for dim in [None, 0, -1]:
        for keepdim in (False, True):
            if dim is None and keepdim:
                continue
            kw = {"keepdim": keepdim, "mask": torch.tensor(mask)}
            theirs = _call(torch, name, torch.tensor(x), dim, **kw)
            ours = _call(cr, name, cr.tensor(x), dim, keepdim=keepdim, mask=cr.tensor(mask))
            _close(ours, theirs)  # in the input's dtype, as torch's


@pytest.mark.parametrize("seed", range(6))
def test_median_matches_torch(seed):
    x, mask, _ = _case(seed)
    for dim in [0, -1]:
        for keepdim in (False, True):
            kw = {"keepdim": keepdim, "mask": torch.tensor(mask)}
            theirs = torch.masked.median(torch.tensor(x), dim, **kw)
            ours = cr.masked.median(cr.tensor(x), dim, keepdim=keepdim, mask=cr.tensor(mask))
            _close(ours, theirs)
    # the default dim is -1; a tuple reduces along its first dim only, as torch's
    _close(
        cr.masked.median(cr.tensor(x), mask=cr.tensor(mask)),
        torch.masked.median(torch.tensor(x), mask=torch.tensor(mask)),
    )


@pytest.mark.parametrize("ord", [1, 2.0, 3, math.inf, -math.inf, 0])
def test_norm_orders_match_torch(ord):
    x, mask, _ = _case(11)
    for dim in [None, 0]:
        theirs = torch.masked.norm(torch.tensor(x), ord, dim, mask=torch.tensor(mask))
        ours = cr.masked.norm(cr.tensor(x), ord, dim, mask=cr.tensor(mask))
        _close(ours, theirs)


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_corrections_match_torch(name):
    x = np.random.default_rng(5).standard_normal((4, 5))
    mask = np.array([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
    for kw in ({"unbiased": False}, {"unbiased": True}, {"correction": 0}, {"correction": 2}):
        theirs = getattr(torch.masked, name)(torch.tensor(x), 1, mask=torch.tensor(mask), **kw)
        ours = getattr(cr.masked, name)(cr.tensor(x), 1, mask=cr.tensor(mask), **kw)
        _close(ours, theirs)


def test_fully_masked_fill_values_match_torch():
    x = np.arange(6.0).reshape(2, 3)
    mask = np.zeros((2, 3), bool)
    for name in ["sum", "prod", "amax", "amin", "mean", "logsumexp", "var", "std", "norm"]:
        pre = (2.0,) if name == "norm" else ()
        theirs = _call(torch, name, torch.tensor(x), *pre, 1, mask=torch.tensor(mask))
        ours = _call(cr, name, cr.tensor(x), *pre, 1, mask=cr.tensor(mask))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)
    theirs = torch.masked.median(torch.tensor(x), 1, mask=torch.tensor(mask))
    assert np.isnan(cr.masked.median(cr.tensor(x), 1, mask=cr.tensor(mask)).numpy()).all()
    assert np.isnan(theirs.numpy()).all()


@pytest.mark.parametrize("np_dtype", [np.int64, np.int32, np.float32])
@pytest.mark.parametrize("name", ["sum", "prod", "amax", "amin", "argmax", "argmin", "logsumexp"])
def test_dtypes_match_torch(name, np_dtype):
    rng = np.random.default_rng(2)
    x = rng.integers(-5, 6, size=(3, 4)).astype(np_dtype)
    mask = rng.random((3, 4)) < 0.5
    mask[1] = False
    theirs = _call(torch, name, torch.tensor(x), 1, mask=torch.tensor(mask))
    ours = _call(cr, name, cr.tensor(x), 1, mask=cr.tensor(mask))
    _close(ours, theirs)


@pytest.mark.parametrize("name", ["sum", "prod", "amax", "amin", "mean", "logsumexp", "var"])
def test_dtype_argument_matches_torch(name):
    x, mask, _ = _case(4, np.float32)
    theirs = _call(torch, name, torch.tensor(x), 0, dtype=torch.float64, mask=torch.tensor(mask))
    ours = _call(cr, name, cr.tensor(x), 0, dtype=cr.float64, mask=cr.tensor(mask))
    _close(ours, theirs)


def test_norm_dtype_matches_torch():
    x, mask, _ = _case(6, np.float32)
    for ord in (2.0, -math.inf):
        _close(
            cr.masked.norm(cr.tensor(x), ord, 0, dtype=cr.float64, mask=cr.tensor(mask)),
            torch.masked.norm(
                torch.tensor(x), ord, 0, dtype=torch.float64, mask=torch.tensor(mask)
            ),
        )


def test_broadcast_and_non_bool_masks_match_torch():
    x = np.random.default_rng(1).standard_normal((3, 4))
    row = np.array([True, False, True, False])
    _close(
        cr.masked.sum(cr.tensor(x), 1, mask=cr.tensor(row)),
        torch.masked.sum(torch.tensor(x), 1, mask=torch.tensor(row)),
    )
    ones = np.array([[1.0, 0.0, 1.0, 1.0]] * 3)
    _close(
        cr.masked.amax(cr.tensor(x), 1, mask=cr.tensor(ones)),
        torch.masked.amax(torch.tensor(x), 1, mask=torch.tensor(ones)),
    )


def _error(lib, fn):
    try:
        fn(lib)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc)
    return None


@pytest.mark.parametrize(
    "case",
    [
        lambda L: L.masked.sum(L.ones(2, 3), 5, mask=L.ones(2, 3) > 0),
        lambda L: L.masked.sum(L.ones(2, 3), 1, mask=L.ones(2, 4) > 0),
        lambda L: L.masked.mean(L.ones(2, 3, dtype=L.int64), 1),
        lambda L: L.masked.argmax(L.ones(2, 3), (0, 1)),
        lambda L: L.masked.median(L.ones(2, 3, dtype=L.int64), 1, mask=L.zeros(2, 3) > 0),
        lambda L: L.masked.amax(L.ones(2, 3) > 0, 1, mask=L.zeros(2, 3) > 0),
        lambda L: L.masked.softmax(L.ones(2, 3), 2),
        lambda L: L.masked.norm(L.ones(2, 3, dtype=L.float64), 2, 1, dtype=L.float32),
        lambda L: L.masked.softmax(L.ones(2, 3, dtype=L.int64), 1),
    ],
)
def test_errors_match_torch_types(case):
    expected = _error(torch, case)
    assert expected is not None
    assert _error(cr, case) is expected


def test_messages_name_the_problem():
    with pytest.raises(TypeError, match=r"torch.masked.sum\(\): input must be a Tensor"):
        cr.masked.sum([1.0, 2.0], 0)
    with pytest.raises(TypeError, match="mask must be a bool Tensor"):
        cr.masked.sum(cr.ones(2), 0, mask=[True, False])
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 5"):
        cr.masked.sum(cr.ones(2, 3), 5)
    with pytest.raises(ValueError, match="Could not infer output dtype"):
        cr.masked.mean(cr.ones(2, dtype=cr.int64))
