"""Numerical stability table: extreme logits, tiny variances and constant inputs in float16,
float32 and float64, against a float64 reference computed with stable formulas.

Each row is (op, chainrule/torch callable, float64 reference, inputs). For every dtype the
input is first rounded to that dtype, the reference is evaluated on the rounded values,
and chainrule must be finite wherever the reference is, and within the dtype's tolerance
(or no worse than PyTorch on the same input, for the few cases where rounding the output
to the dtype dominates). Gradients at the same points must be finite and match PyTorch's
float64 gradient within the dtype's tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy import special

import chainrule as cr

_TOL = {"float16": 2e-3, "float32": 2e-6, "float64": 1e-12}
_LOGITS = [
    [1000.0, 0.0, -1000.0],
    [-1.0e4, -1.0e4 + 1.0, -1.0e4 + 2.0],
    [88.7, 89.0, -89.0],
    [0.0, 0.0, 0.0],
    [60000.0, 60000.0, -60000.0],
]
_SCALARS = [-1000.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1000.0]
_TINY_VAR = [[1.0, 1.0 + 2**-9, 1.0 + 2**-8, 1.0 + 3 * 2**-9], [1000.0, 1000.5, 1001.0, 1000.5]]
_CONST = [[0.1] * 7, [1.0e4] * 7, [-3.3] * 5]


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def _normalized(x: np.ndarray, axis: Any, eps: float = 1e-5) -> np.ndarray:
    xc = x - x.mean(axis, keepdims=True)
    return xc / np.sqrt((xc * xc).mean(axis, keepdims=True) + eps)


def _ce(lib: Any, x: Any) -> Any:
    target = lib.tensor([2] * x.shape[0])
    return lib.nn.functional.cross_entropy(x, target, reduction="none")


def _bce_logits(lib: Any, x: Any) -> Any:
    y = lib.ones(x.shape, dtype=x.dtype) * 0.25
    return lib.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")


def _bn(lib: Any, x: Any) -> Any:
    return lib.nn.functional.batch_norm(x.t(), None, None, training=True).t()


# (name, f(lib, x) -> tensor, reference(float64 array) -> array, inputs, differentiable)
ROWS: list[tuple[str, Callable, Callable, list, bool]] = [
    (
        "softmax",
        lambda lib, x: lib.softmax(x, -1),
        lambda a: np.exp(_log_softmax(a)),
        _LOGITS,
        True,
    ),
    ("log_softmax", lambda lib, x: lib.log_softmax(x, -1), _log_softmax, _LOGITS, True),
    (
        "logsumexp",
        lambda lib, x: lib.logsumexp(x, -1),
        lambda a: special.logsumexp(a, -1),
        _LOGITS,
        True,
    ),
    ("cross_entropy", _ce, lambda a: -_log_softmax(a)[:, 2], _LOGITS, True),
    ("sigmoid", lambda lib, x: lib.sigmoid(x), special.expit, [_SCALARS], True),
    (
        "softplus",
        lambda lib, x: lib.nn.functional.softplus(x),
        lambda a: np.logaddexp(0, a),
        [_SCALARS],
        True,
    ),
    (
        "logsigmoid",
        lambda lib, x: lib.nn.functional.logsigmoid(x),
        lambda a: -np.logaddexp(0, -a),
        [_SCALARS],
        True,
    ),
    (
        "bce_with_logits",
        _bce_logits,
        lambda a: np.maximum(a, 0) - 0.25 * a + np.log1p(np.exp(-np.abs(a))),
        [_SCALARS],
        True,
    ),
    (
        "layer_norm",
        lambda lib, x: lib.nn.functional.layer_norm(x, (x.shape[-1],)),
        lambda a: _normalized(a, -1),
        _TINY_VAR,
        True,
    ),
    ("batch_norm", _bn, lambda a: _normalized(a, -1), _TINY_VAR, True),
    # the gradient of std/var at a rounded constant is rounding noise (PyTorch's too): the
    # exact-constant gradient (0) is checked in test_removable_singularities
    ("std", lambda lib, x: x.std(-1), lambda a: np.zeros(a.shape[:-1]), _CONST, False),
    ("var", lambda lib, x: x.var(-1), lambda a: np.zeros(a.shape[:-1]), _CONST, False),
    (
        "norm",
        lambda lib, x: x.norm(dim=-1),
        lambda a: np.sqrt((a * a).sum(-1)),
        _CONST + [[300.0, 300.0], [1e-5, 1e-5]],
        True,
    ),
]
_CASES = [
    (row, i, dt)
    for row in ROWS
    for i in range(len(row[3]))
    for dt in ("float16", "float32", "float64")
]


def _err(got: np.ndarray, ref: np.ndarray, dt: str) -> float:
    """Largest error relative to max(|ref|, 1) (absolute near zero), NaN/inf mismatch = inf."""
    got, ref = got.astype(np.float64), ref.astype(np.float64)
    if not np.array_equal(np.isfinite(got), np.isfinite(ref)):
        return float("inf")
    fin = np.isfinite(ref)
    if not fin.any():
        return 0.0 if np.array_equal(got, ref, equal_nan=True) else float("inf")
    return float((np.abs(got[fin] - ref[fin]) / np.maximum(np.abs(ref[fin]), 1.0)).max())


def _run(lib: Any, f: Callable, data: np.ndarray, dt: str, grad: bool) -> tuple:
    x = lib.tensor(data, dtype=getattr(lib, dt), requires_grad=grad)
    y = f(lib, x)
    g = None
    if grad:
        y.sum().backward()
        g = x.grad
    to_np = (lambda t: t.detach().numpy()) if lib is torch else (lambda t: np.asarray(t.data))
    return to_np(y), None if g is None else to_np(g)


@pytest.mark.parametrize("row,i,dt", _CASES, ids=[f"{r[0]}-{i}-{dt}" for r, i, dt in _CASES])
def test_value_and_gradient_are_stable(row: tuple, i: int, dt: str) -> None:
    name, f, ref_fn, inputs, diff = row
    data = np.asarray(inputs[i], dtype=dt)
    if data.ndim == 1 and name not in ("sigmoid", "softplus", "logsigmoid", "bce_with_logits"):
        data = data[None]
    rounded = data.astype(np.float64)
    with np.errstate(over="ignore", under="ignore"):
        ref = np.asarray(ref_fn(rounded), dtype=np.float64)
    grad = diff and dt != "float16"  # PyTorch's CPU half backward is not a fair reference
    got, g_cr = _run(cr, f, data, dt, grad)
    err = _err(got, ref, dt)
    if err > _TOL[dt]:
        t_val, _ = _run(torch, f, data, dt, False)
        t_err = _err(t_val, ref, dt)
        assert err <= 2 * t_err, (
            f"{name} on {data.tolist()} ({dt}): chainrule {got.tolist()} vs reference "
            f"{ref.tolist()} (error {err:.3g}, PyTorch's {t_err:.3g}, tolerance {_TOL[dt]})"
        )
    if grad:
        _, g_ref = _run(torch, f, rounded, "float64", True)
        assert np.isfinite(g_cr).all() == np.isfinite(g_ref).all(), (
            f"{name} gradient on {data.tolist()} ({dt}): {g_cr.tolist()} vs {g_ref.tolist()}"
        )
        np.testing.assert_allclose(
            g_cr.astype(np.float64),
            g_ref,
            rtol=50 * _TOL[dt],
            atol=50 * _TOL[dt],
            err_msg=f"{name} gradient ({dt})",
        )


def test_table_covers_every_dtype_and_family() -> None:
    assert len(_CASES) >= 90
    assert {r[0] for r in ROWS} >= {
        "softmax",
        "log_softmax",
        "logsumexp",
        "cross_entropy",
        "sigmoid",
        "softplus",
        "bce_with_logits",
        "layer_norm",
        "batch_norm",
        "std",
        "var",
        "norm",
    }
