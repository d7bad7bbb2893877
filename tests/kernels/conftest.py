"""Fixtures for the kernel tests: run a test under each kernel path."""

from __future__ import annotations

import pytest

from chainrule._kernels import jit

BACKENDS = [
    "numpy",
    pytest.param(
        "numba",
        marks=pytest.mark.skipif(
            not jit.numba_available(), reason="numba is not installed (pip install chainrule[fast])"
        ),
    ),
]


@pytest.fixture(params=BACKENDS)
def kernel_backend(request, monkeypatch):
    """Each test runs with the NumPy fallback and with Numba, where Numba takes every array
    (``MIN_PARALLEL_SIZE`` = 1, so small float64 tensors reach the compiled kernels)."""
    monkeypatch.setattr(jit, "MIN_PARALLEL_SIZE", 1)
    with jit.use_backend(request.param):
        yield request.param
