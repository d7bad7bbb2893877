"""Intra-op threads: cr.set_num_threads / get_num_threads and the threaded NumPy kernels."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import threads
from chainrule.ops._im2col import im2col
from chainrule.threads import parallel_copy


def test_set_and_get_num_threads_validate():
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(3)
        assert cr.get_num_threads() == 3
        for bad in (0, -1, 1.5, True, "2"):
            with pytest.raises(ValueError, match="set_num_threads: expected a positive int"):
                cr.set_num_threads(bad)
        assert cr.get_num_threads() == 3
    finally:
        cr.set_num_threads(before)


def test_parallel_slices_covers_range_once_and_reraises(two_threads):
    seen = np.zeros(10_000, np.int64)

    def mark(a, b):
        seen[a:b] += 1

    threads.parallel_slices(mark, len(seen), threads.MIN_PARALLEL_BYTES)
    assert (seen == 1).all()

    def boom(a, b):
        if a > 0:
            raise RuntimeError(f"slice {a}:{b} failed")

    with pytest.raises(RuntimeError, match="slice 5000:10000 failed"):
        threads.parallel_slices(boom, 10_000, threads.MIN_PARALLEL_BYTES)


# (a, b) pairs chosen to cover broadcasting, scalars, mixed layouts and a short axis 0
RNG = np.random.default_rng(0)
BIG = (16, 64, 16, 32)  # 2 MiB of float32, above the threshold
CASES = {
    "same": (RNG.standard_normal(BIG, dtype=np.float32), RNG.standard_normal(BIG, np.float32)),
    "channel-major": (
        RNG.standard_normal((64, 16, 16, 32), np.float32).transpose(1, 0, 2, 3),
        RNG.standard_normal((64, 16, 16, 32), np.float32).transpose(1, 0, 2, 3),
    ),
    "mixed-layout": (
        RNG.standard_normal((64, 16, 16, 32), np.float32).transpose(1, 0, 2, 3),
        RNG.standard_normal(BIG, np.float32),
    ),
    "per-channel": (
        RNG.standard_normal(BIG, np.float32),
        RNG.standard_normal((1, 64, 1, 1), np.float32),
    ),
    "lower-rank": (RNG.standard_normal(BIG, np.float32), RNG.standard_normal(32, np.float32)),
    "scalar": (RNG.standard_normal(BIG, np.float32), 2.5),
    "short-axis0": (RNG.standard_normal((1, 600, 1000), np.float32), 1.0),
    "float64+float32": (RNG.standard_normal(BIG), RNG.standard_normal(BIG, np.float32)),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.subtract])
def test_parallel_ufunc_equals_numpy_values_dtype_and_layout(two_threads, case, ufunc):
    a, b = CASES[case]
    want = ufunc(a, b)
    got = threads.parallel_ufunc(ufunc, a, b)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype and got.strides == want.strides
    out = np.empty_like(want)
    assert threads.parallel_ufunc(ufunc, a, b, out=out) is out
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(threads.elementwise(ufunc, a, b), want)


def test_one_thread_and_small_arrays_take_the_plain_path(two_threads, monkeypatch):
    calls = []
    monkeypatch.setattr(threads, "parallel_slices", lambda *a: calls.append(a))
    a = np.ones((4, 4), np.float32)
    np.testing.assert_array_equal(threads.parallel_ufunc(np.add, a, a), 2 * a)
    cr.set_num_threads(1)
    try:
        big = np.ones(BIG, np.float32)
        np.testing.assert_array_equal(threads.parallel_ufunc(np.add, big, big), 2 * big)
    finally:
        cr.set_num_threads(2)
    assert calls == []


def test_parallel_copy_and_threaded_im2col_match_serial(two_threads):
    src = RNG.standard_normal((3, 8, 40, 50, 30))[..., ::2]
    dst = np.empty(src.shape)
    parallel_copy(dst, src)
    np.testing.assert_array_equal(dst, src)
    x = RNG.standard_normal((64, 16, 32, 32)).astype(np.float32)
    threaded = im2col(x, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)).copy()
    cr.set_num_threads(1)
    serial = im2col(x, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1))
    np.testing.assert_array_equal(threaded, serial)


def test_threaded_col2im_matches_serial_and_torch_fold(two_threads):
    import torch

    from chainrule.ops._im2col import col2im

    cols = RNG.standard_normal((16, 3, 3, 64, 16, 16)).astype(np.float32)
    x_shape, stride, pad, dil = (64, 16, 32, 32), (2, 2), (1, 1, 1, 1), (1, 1)
    threaded = col2im(cols, x_shape, stride, pad, dil).copy()
    cr.set_num_threads(1)
    serial = col2im(cols, x_shape, stride, pad, dil)
    np.testing.assert_array_equal(threaded, serial)
    # the adjoint of im2col is torch's fold on (N, C*kh*kw, L) columns
    folded = torch.nn.functional.fold(
        torch.tensor(cols.reshape(16 * 9, 64, 256).transpose(1, 0, 2)),
        (32, 32),
        3,
        padding=1,
        stride=2,
    )
    np.testing.assert_allclose(threaded, folded.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "preset,numpy_first,expected",
    [
        (None, False, "4"),  # chainrule sets a short spin before NumPy loads OpenBLAS
        ("30", False, "30"),  # an explicit setting is respected
        (None, True, "unset"),  # too late once NumPy is loaded: left alone
    ],
)
def test_openblas_spin_time_set_only_before_numpy(preset, numpy_first, expected):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if preset is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = preset
    code = ("import numpy\n" if numpy_first else "") + (
        "import os, chainrule\nprint(os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == expected


def test_slices_follow_the_callers_errstate(two_threads):
    big = np.zeros(BIG, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = threads.parallel_ufunc(np.divide, big, big)  # 0/0 in every slice
    assert np.isnan(out).all()
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        threads.parallel_ufunc(np.divide, big, big)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_forked_child_gets_a_working_pool(two_threads):
    import os

    a = np.ones(BIG, np.float32)
    threads.parallel_ufunc(np.add, a, a)  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # child: would hang on the parent's (absent) threads without the reset
        ok = bool((threads.parallel_ufunc(np.add, a, a) == 2).all())
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
