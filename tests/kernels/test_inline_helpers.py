"""Helpers that kernels share through ``jit.inline`` (the polynomial exps, the GELU tail)."""

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


def test_gelu_tail_and_gauss_f32_accuracy():
    """Φ(-|x|), φ(x) = e^{-x²/2} / √(2π) and Φ(-|x|) - |x| φ(x) in float32 (the GELU kernels'
    shared step) over [-14, 14], relative, wherever the result and φ are normal float32s
    (|x| < 13.2): φ within 1.5 float32 ulp and Φ(-|x|) within 3.5 (1.3 and 3.4 measured
    on 4M points), and the derivative term within 5.5 (the module docstring's bound) away
    from its zero at |x| = 0.75."""
    from scipy.special import erfc

    for x in np.linspace(-14.0, 14.0, 4001).astype(np.float32):
        tail, phi, dn = gelu._tail_and_gauss_f32(x)
        a = abs(float(x))
        pdf = math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
        cdf = 0.5 * erfc(a / math.sqrt(2.0))
        for got, want, tol in ((phi, pdf, 1.5), (tail, cdf, 3.5), (dn, cdf - a * pdf, 5.5)):
            if min(abs(want), pdf) > np.finfo(np.float32).tiny and not 0.5 <= a <= 1.0:
                ulp = float(np.spacing(np.float32(abs(want))))
                assert abs(float(got) - want) <= tol * ulp, (x, got, want)


def test_taylor_tail_f32_is_the_exp_polynomial():
    """1 + r + r² q(r) is e^r to float32 accuracy for |r| <= ln 2 / 2."""
    for r in np.linspace(-0.35, 0.35, 701).astype(np.float32):
        q = transcendental.taylor_tail_f32(r)
        e = (q * r + np.float32(1.0)) * r + np.float32(1.0)
        assert abs(float(e) / math.exp(float(r)) - 1.0) < 1.5e-7, r


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
        "for f in (t.exp_poly, g._tail_and_gauss_f32):\n"
        "    assert f.targetoptions['inline'] == 'always'\n"
        "assert t.exp_poly.py_func is py\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    assert out.stdout.strip() == "ok"


@needs_numba
def test_reduction_helpers_are_reassociating_dispatchers():
    """``jit.reduction`` helpers compile with ``fastmath={"reassoc"}`` and are not inlined by
    Numba (the caller's IEEE flags would then apply to their additions)."""
    code = (
        "import numpy as np\n"
        "from chainrule._kernels import softmax as s, layernorm as ln\n"
        "x = np.ones((4, 8), np.float32)\n"
        "s.softmax_rows_f32.compiled(x, np.empty_like(x))\n"
        "for f in (s.row_sum, s.row_dot, ln._sq_dev_sum, ln._dot_standardised):\n"
        "    assert f.targetoptions['fastmath'] == {'reassoc'}, f\n"
        "    assert f.targetoptions.get('inline', 'never') == 'never', f\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    assert out.stdout.strip() == "ok"


@needs_numba
@pytest.mark.parametrize("n", [1, 7, 64, 128, 1001])
def test_reassociated_row_sums_match_exact_sums(n):
    """The vectorised float64 sums of float32 rows equal the exactly rounded sum to float64
    rounding (reassociation changes only the order), and keep NaN and inf."""
    from chainrule._kernels import layernorm, softmax

    jit._import_numba()
    rng = np.random.default_rng(n)
    a = (rng.standard_normal(n) * 10).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    scale = np.abs(a64).sum() + 1.0
    assert abs(softmax.row_sum(a) - math.fsum(a64)) <= 1e-14 * scale
    dot_scale = np.abs(a64 * b64).sum() + 1.0
    assert abs(softmax.row_dot(a, b) - math.fsum(a64 * b64)) <= 1e-14 * dot_scale
    mu = float(a64.mean())
    assert abs(layernorm._sq_dev_sum(a, mu) - math.fsum((a64 - mu) ** 2)) <= 1e-13 * scale**2
    got = layernorm._dot_standardised(b, a, mu, 0.5)
    assert abs(got - math.fsum(b64 * ((a64 - mu) * 0.5))) <= 1e-13 * scale
    for special, want in ((np.nan, np.nan), (np.inf, np.inf)):
        c = a.copy()
        c[n // 2] = special
        np.testing.assert_equal(softmax.row_sum(c), want)
    c = a.copy()
    c[0], c[-1] = np.inf, -np.inf
    if n > 1:
        assert math.isnan(softmax.row_sum(c))
