"""Shared test set-up: every test starts from the same seed and default dtype, and with the
public API unwrapped (a test that defines a Tensor subclass installs the __torch_function__
wrappers; they are removed again after it, so the other tests see the API users have)."""

import os
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import _user_warnings


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (pyproject's ``-n auto``) the workers share the cores, so each one
    starts with one OpenBLAS and one OpenMP (PyTorch) thread unless the environment says
    otherwise: two workers whose BLAS calls each spin up threads on the other's core made
    small LAPACK-heavy tests ~10x slower (measured: linalg gradchecks, 1.8 s -> 19 s).
    chainrule's own pool keeps its default (tests of it use the ``two_threads`` fixture).
    Only the controller sets this, before it starts the workers, which inherit it.

    OpenMP threads also sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``): Numba's
    OpenMP layer, once a compiled kernel imports it, sets every core's threads in the libgomp
    torch shares, so the worker's later torch ops ran parallel regions whose threads spun
    against the other worker's. Measured (session 46, 2 cores, ``-n 2``): the drop-in programs
    (``tests/compat/test_programs.py``, 1364 tests) 523 -> 150 s of CPU, 266 -> 78 s wall; the
    same results (torch keeps its thread count, so its reductions' order)."""
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(autouse=True)
def _reset_state():
    # chainrule's warn-once warnings (PyTorch's TORCH_WARN_ONCE): each test starts as a
    # fresh process would, so a test expecting one sees it whatever ran before
    _user_warnings._issued.clear()
    if cr.overrides._installed[0]:  # a subclass defined at import (collection) time
        cr.overrides._uninstall()
    cr.manual_seed(0)
    np.random.seed(0)
    prev = cr.get_default_dtype()
    prev_grad = cr.is_grad_enabled()
    # torch.cond (and anything else entering Dynamo) turns torch's distribution argument
    # validation off for the rest of the process: later tests comparing errors need it back
    torch = sys.modules.get("torch")
    torch_dist = torch.distributions.Distribution if torch is not None else None
    prev_validate = torch_dist._validate_args if torch_dist is not None else None
    yield
    cr.set_default_dtype(prev)
    cr.set_grad_enabled(prev_grad)
    if torch_dist is not None:
        torch_dist.set_default_validate_args(prev_validate)
    if cr.overrides._installed[0]:
        cr.overrides._uninstall()


@pytest.fixture
def two_threads():
    """Run the test with two intra-op threads (the compiled pool and the Python threads),
    restoring the count afterwards."""
    before = cr.get_num_threads()
    cr.set_num_threads(2)
    yield
    cr.set_num_threads(before)


# In CI, property-based tests run a fixed set of examples so that a run is reproducible; run
# locally (no CI variable) they explore new random examples each time.
try:
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # pragma: no cover
    pass
