"""Helpers that kernels share through ``jit.inline`` (the polynomial exp, the rational erf)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from chainrule._kernels import gelu, jit, transcendental

needs_numba = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")


@pytest.mark.parametrize(
    ("full", "lo", "tol_wide", "tol_110"),
    [(True, -200.0, 1e-7, 5e-11), (False, -200.0, 1e-6, 1e-9)],
)
def test_exp_poly_accuracy(full, lo, tol_wide, tol_110):
    """Relative error of e^c on [-200, 110]: the bounds the kernels' docstrings state."""
    for c in np.linspace(lo, 110.0, 2001):
        err = abs(transcendental.exp_poly(float(c), full) / math.exp(c) - 1.0)
        assert err < (tol_110 if abs(c) <= 110.0 else tol_wide), (c, err)


def test_erf_f32_accuracy():
    """1.6e-9 inside |z| < 4; beyond, ±1 (erf(4) = 1 - 1.5e-8, which float32 rounds to 1)."""
    for z in np.linspace(-6.0, 6.0, 2001):
        tol = 2e-9 if abs(z) < 3.99 else 2e-8
        assert abs(gelu._erf_f32(float(z)) - math.erf(z)) < tol, z


@needs_numba
def test_helpers_become_inline_dispatchers_when_numba_loads():
    """In a fresh process the helper is the Python function until Numba is imported (by the
    first compiled kernel), then its module name is rebound to an inline-always dispatcher."""
    code = (
        "import numpy as np\n"
        "from chainrule._kernels import transcendental as t, gelu as g\n"
        "py = t.exp_poly\n"
        "assert not hasattr(py, 'targetoptions')\n"
        "x = np.linspace(-3, 3, 64).astype(np.float32)\n"
        "out = np.empty_like(x)\n"
        "t.sigmoid_f32.compiled(x, out)\n"
        "assert np.allclose(out, 1 / (1 + np.exp(-x.astype(np.float64))), rtol=1e-6)\n"
        "for f in (t.exp_poly, g._erf_f32):\n"
        "    assert f.targetoptions['inline'] == 'always'\n"
        "assert t.exp_poly.py_func is py\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    assert out.stdout.strip() == "ok"
