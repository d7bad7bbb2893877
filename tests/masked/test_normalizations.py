"""``cr.masked``'s shape-keeping functions (cumsum, cumprod, softmax, log_softmax, softmin,
normalize, logaddexp) against ``torch.masked`` (torch 2.13, live) on seeded random shapes
and masks with fully masked-out slices, dtypes and integer inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr


def _case(seed: int, dtype=np.float64):
    rng = np.random.default_rng(100 + seed)
    shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 4)))
    x = rng.standard_normal(shape).astype(dtype)
    mask = rng.random(shape) < 0.6
    if shape[0] > 1:
        mask[-1] = False
    return x, mask


def _close(ours: cr.Tensor, theirs: torch.Tensor) -> None:
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("seed", range(8))
def test_along_dim_matches_torch(name, seed):
    x, mask = _case(seed)
    for dim in range(-x.ndim, x.ndim):
        theirs = getattr(torch.masked, name)(torch.tensor(x), dim, mask=torch.tensor(mask))
        ours = getattr(cr.masked, name)(cr.tensor(x), dim, mask=cr.tensor(mask))
        _close(ours, theirs)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "softmax", "log_softmax", "softmin"])
def test_dtype_and_no_mask_match_torch(name):
    x, mask = _case(1, np.float32)
    fn_t, fn_c = getattr(torch.masked, name), getattr(cr.masked, name)
    _close(
        fn_c(cr.tensor(x), 0, dtype=cr.float64, mask=cr.tensor(mask)),
        fn_t(torch.tensor(x), 0, dtype=torch.float64, mask=torch.tensor(mask)),
    )
    _close(fn_c(cr.tensor(x), -1), fn_t(torch.tensor(x), -1))


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("np_dtype", [np.int64, np.int32])
def test_integer_running_reductions_match_torch(name, np_dtype):
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, size=(3, 5)).astype(np_dtype)
    mask = rng.random((3, 5)) < 0.5
    for dim in (0, 1):
        theirs = getattr(torch.masked, name)(torch.tensor(x), dim, mask=torch.tensor(mask))
        ours = getattr(cr.masked, name)(cr.tensor(x), dim, mask=cr.tensor(mask))
        _close(ours, theirs)


@pytest.mark.parametrize("ord", [1, 2.0, math.inf])
@pytest.mark.parametrize("seed", range(5))
def test_normalize_matches_torch(ord, seed):
    x, mask = _case(seed)
    for dim in range(x.ndim):
        theirs = torch.masked.normalize(torch.tensor(x), ord, dim, mask=torch.tensor(mask))
        ours = cr.masked.normalize(cr.tensor(x), ord, dim, mask=cr.tensor(mask))
        _close(ours, theirs)
    _close(
        cr.masked.normalize(cr.tensor(x), ord, 0, eps=10.0, mask=cr.tensor(mask)),
        torch.masked.normalize(torch.tensor(x), ord, 0, eps=10.0, mask=torch.tensor(mask)),
    )


def test_logaddexp_matches_torch():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, 3, 4))
    ma, mb = rng.random((2, 3, 4)) < 0.5
    theirs = torch.masked.logaddexp(
        torch.tensor(a), torch.tensor(b), input_mask=torch.tensor(ma), other_mask=torch.tensor(mb)
    )
    ours = cr.masked.logaddexp(
        cr.tensor(a), cr.tensor(b), input_mask=cr.tensor(ma), other_mask=cr.tensor(mb)
    )
    _close(ours, theirs)


def test_fully_masked_softmax_slices_are_nan_as_torch():
    x = np.arange(6.0).reshape(2, 3)
    mask = np.array([[True, False, True], [False, False, False]])
    for name in ("softmax", "log_softmax", "softmin"):
        ours = getattr(cr.masked, name)(cr.tensor(x), 1, mask=cr.tensor(mask)).numpy()
        theirs = getattr(torch.masked, name)(torch.tensor(x), 1, mask=torch.tensor(mask)).numpy()
        np.testing.assert_array_equal(ours, theirs)
        assert np.isnan(ours[1]).all()


def test_errors():
    with pytest.raises(NotImplementedError, match="softmax"):
        cr.masked.softmax(cr.ones(2, 3, dtype=cr.int64), 1)
    with pytest.raises(IndexError, match="but got 2"):
        cr.masked.log_softmax(cr.ones(2, 3), 2)
    with pytest.raises(TypeError, match="input must be a Tensor"):
        cr.masked.cumsum([1.0], 0)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        cr.masked.softmax(cr.ones(2, 3), 1, mask=cr.ones(3, 2) > 0)
