"""Compute-bound compiled kernels split over the intra-op threads give exactly the
one-thread results (each element or row is computed independently)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import threads
from chainrule._kernels import dispatch, jit
from chainrule.ops import gelu


@pytest.fixture
def restore_threads():
    n = threads.get_num_threads()
    yield
    threads.set_num_threads(n)


def _both(fn):
    out = {}
    for n in (1, 2):
        threads.set_num_threads(n)
        out[n] = fn()
    return out[1], out[2]


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
def test_split_kernels_equal_one_thread(restore_threads):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((700, 1000)) * 5).astype(np.float32)  # 2.8 MB: split
    g = rng.standard_normal(x.shape).astype(np.float32)
    with jit.use_backend("numba"):
        _check(x, g)


def _check(x, g):
    y = dispatch.softmax_last(x, 1)
    for fn in (
        lambda: dispatch.sigmoid(x),
        lambda: dispatch.softmax_last(x, 1),
        lambda: dispatch.softmax_last_grad(g, y, 1),
        lambda: gelu._gelu_grad_array(g, x),
        lambda: gelu._gelu_with_grad(x),
    ):
        one, two = _both(fn)
        assert one is not None
        for a, b in zip(
            one if isinstance(one, tuple) else (one,), two if isinstance(two, tuple) else (two,)
        ):
            np.testing.assert_array_equal(a, b)
