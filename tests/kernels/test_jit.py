"""The kernel registry and path selection (chainrule._kernels.jit)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from chainrule._kernels import activations, jit

needs_numba = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")


def _backend_in_subprocess(env_value: str | None) -> str:
    env = dict(os.environ)
    env.pop("CHAINRULE_NUMBA", None)
    if env_value is not None:
        env["CHAINRULE_NUMBA"] = env_value
    code = "from chainrule._kernels import backend; print(backend())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_env_var_zero_selects_numpy():
    assert _backend_in_subprocess("0") == "numpy"


def test_default_backend_follows_numba_availability():
    assert _backend_in_subprocess(None) == ("numba" if jit.numba_available() else "numpy")


def test_import_chainrule_does_not_import_numba():
    code = "import sys, chainrule; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_set_backend_rejects_unknown_name():
    with pytest.raises(ValueError, match="set_backend: expected 'numba' or 'numpy'"):
        jit.set_backend("cuda")


def test_set_backend_numba_without_numba(monkeypatch):
    monkeypatch.setattr(jit, "numba_available", lambda: False)
    with pytest.raises(RuntimeError, match="pip install chainrule\\[fast\\]"):
        jit.set_backend("numba")


def test_use_backend_restores():
    before = jit.backend()
    with jit.use_backend("numpy"):
        assert jit.backend() == "numpy"
        assert not jit.eligible(np.ones(1 << 20, np.float32))
    assert jit.backend() == before


def test_registry_lists_kernels():
    names = jit.registry()
    assert activations.relu.name in names
    assert all(isinstance(k, jit.Kernel) for k in names.values())


def test_fallback_runs_under_numpy_backend():
    x = np.array([-1.0, 2.0, np.nan])
    with jit.use_backend("numpy"):
        out = np.empty_like(x)
        activations.relu(x, out)
        np.testing.assert_array_equal(out, [0.0, 2.0, np.nan])


@needs_numba
def test_eligible_rules(monkeypatch):
    monkeypatch.setattr(jit, "MIN_PARALLEL_SIZE", 4)
    with jit.use_backend("numba"):
        a = np.zeros((4, 4), np.float32)
        assert jit.eligible(a, a)
        assert not jit.eligible(a[:, ::2])  # not contiguous
        assert not jit.eligible(a.T, a)  # F order
        assert not jit.eligible(a, a.astype(np.float64))  # mixed dtypes
        assert not jit.eligible(a.astype(np.int32))  # not float
        assert not jit.eligible(np.zeros(2, np.float32))  # too small
        assert not jit.eligible([1.0, 2.0])  # not an array


@needs_numba
def test_compiled_kernel_is_cached_on_disk(tmp_path):
    """A second process loads the machine code that the first compiled (cache=True)."""
    code = (
        "import time, numpy as np; from chainrule._kernels import activations as a;"
        "x = np.ones(8, np.float32); t = time.perf_counter(); a.relu.compiled(x, x.copy());"
        "d = a.relu.compiled; print(len(d.stats.cache_hits), len(d.stats.cache_misses))"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0] == ["0", "1"]  # compiled and written
    assert runs[1] == ["1", "0"]  # loaded from the cache
