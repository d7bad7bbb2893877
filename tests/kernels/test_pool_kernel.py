"""The compiled 2x2 max pool (``_kernels/pooling.py``): equal to the NumPy tournament on
special values and ties (values and argmax offsets), and, through ``F.max_pool2d`` on both
kernel paths, equal to PyTorch in values, indices and gradients for both memory orders a CNN
produces."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._kernels import dispatch, jit, pooling

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.0, -1.0]


def _input(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(shape) * 2)  # many tied maxima inside windows
    flat = x.reshape(-1)
    pos = rng.choice(flat.size, size=min(flat.size, 40), replace=False)
    flat[pos] = rng.choice(SPECIAL, size=pos.size)
    return x.astype(dtype)


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (3, 2, 9, 7), (1, 1, 2, 2), (2, 5, 6, 11)])
def test_compiled_equals_fallback(dtype, shape):
    x = _input(shape, dtype)
    ho, wo = shape[2] // 2, shape[3] // 2
    outs = []
    for fn in (pooling.max_pool2x2.fallback, pooling.max_pool2x2.compiled):
        out = np.empty(shape[:2] + (ho, wo), dtype)
        arg = np.empty(out.shape, np.int8)
        fn(x, out, arg)
        outs.append((out, arg))
    (o1, a1), (o2, a2) = outs
    np.testing.assert_array_equal(a1, a2)
    # equal values and NaN positions; a tie of -0.0 and 0.0 may keep either sign (NumPy's own
    # SIMD maximum does not promise one either)
    np.testing.assert_array_equal(o1, o2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels_first_memory", [False, True])
@pytest.mark.parametrize("shape", [(4, 3, 8, 8), (2, 3, 9, 7)])
def test_max_pool2d_matches_torch_on_both_paths(
    kernel_backend, dtype, channels_first_memory, shape
):
    x = _input(shape, dtype, seed=1)
    x[np.isnan(x)] = 0.5  # NaN gradients differ only in where torch routes them
    if channels_first_memory:  # a conv output: (C, N, H, W) memory seen as (N, C, H, W)
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    cx = cr.tensor(x, requires_grad=True)
    if channels_first_memory:
        assert not cx._data.flags.c_contiguous
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yc, ic = F.max_pool2d(cx, 2, return_indices=True)
    yt, it = TF.max_pool2d(tx, 2, return_indices=True)
    np.testing.assert_array_equal(yc._data, yt.detach().numpy())
    np.testing.assert_array_equal(ic._data, it.numpy())
    g = np.random.default_rng(2).standard_normal(tuple(yt.shape)).astype(dtype)
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(cx.grad._data, tx.grad.numpy())
    with cr.no_grad():  # inference: no argmax kept
        np.testing.assert_array_equal(F.max_pool2d(cx, 2)._data, yt.detach().numpy())


def test_dispatch_declines_what_the_kernel_is_not_for(kernel_backend):
    x = np.ones((2, 3, 4, 4), np.float32)
    assert dispatch.max_pool2x2(x[:, :, ::2]) is None  # neither memory order contiguous
    assert dispatch.max_pool2x2(x.astype(np.int32)) is None
    assert dispatch.max_pool2x2(np.ones((3, 4, 4), np.float32)) is None
    if kernel_backend == "numpy":
        assert dispatch.max_pool2x2(x) is None
    else:
        out, arg = dispatch.max_pool2x2(x)
        assert out.shape == arg.shape == (2, 3, 2, 2) and arg.dtype == np.int8
