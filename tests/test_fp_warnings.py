"""Floating-point exceptions inside chainrule's ops are silent, as PyTorch's are: log(0) is
-inf, 1/0 inf, 0 * inf nan, with no RuntimeWarning (NumPy would warn), while a user's own
NumPy code keeps its warnings. Run in a fresh interpreter with ``-W error``, because pytest
installs its own warning filters around each test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr

_PROGRAM = """
import numpy as np
import chainrule as cr
x = cr.tensor([0.0, 1.0], requires_grad=True)
y = x.log() + x.reciprocal() + (x * float("inf")) + x.exp() * 1e308 * 1e308
y.sum().backward()
print(y.detach().numpy().tolist(), x.grad.numpy().tolist())
try:
    np.log(np.zeros(1))
except RuntimeWarning:
    print("user numpy still warns")
"""


def test_fp_exceptions_in_ops_are_silent_and_user_numpy_still_warns():
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", _PROGRAM], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "user numpy still warns"
    assert "nan" in lines[0] and "inf" in lines[0]


# Inside pytest, ``filterwarnings = error`` turns every warning into an exception, in front
# of chainrule's own filter: the path a user's ``warnings.simplefilter("error")`` takes.
# Each case runs the same code on chainrule and torch; the IEEE results must agree.
_INF = float("inf")


def _adam_step(t: Any, grad: list) -> Any:
    p = t.nn.Parameter(t.zeros(len(grad), dtype=t.float64))
    p.grad = t.tensor(grad, dtype=t.float64)
    t.optim.Adam([p], lr=0.1).step()
    return p.detach()


def _momentum_step(t: Any, grad: list) -> Any:
    p = t.nn.Parameter(t.zeros(len(grad), dtype=t.float64))
    p.grad = t.tensor(grad, dtype=t.float64)
    t.optim.SGD([p], lr=0.1, momentum=0.9).step()
    return p.detach()


def _clipped(t: Any) -> Any:
    p = t.nn.Parameter(t.zeros(2, dtype=t.float64))
    p.grad = t.tensor([_INF, 1.0], dtype=t.float64)
    t.nn.utils.clip_grad_norm_([p], 1.0)
    return p.grad


def _grad_of(t: Any, f: Callable, x: list) -> Any:
    v = t.tensor(x, dtype=t.float64, requires_grad=True)
    f(t, v).sum().backward()
    return v.grad


def _big(t: Any) -> Any:
    return t.tensor([1e308, 1e308], dtype=t.float64)


def _ninf(t: Any) -> Any:
    return t.tensor([-_INF, -_INF, -_INF], dtype=t.float64)


_CASES = {
    "tensor_cast_f32": lambda t: t.tensor([1e308], dtype=t.float32),
    "to_float32": lambda t: t.tensor([1e308], dtype=t.float64).float(),
    "sum": lambda t: _big(t).sum(),
    "mean": lambda t: _big(t).mean(),
    "prod": lambda t: _big(t).prod(),
    "cumsum": lambda t: _big(t).cumsum(0),
    "cumprod": lambda t: _big(t).cumprod(0),
    "var": lambda t: _big(t).var(),
    "norm": lambda t: _big(t).norm(),
    "softmax_all_masked": lambda t: t.softmax(_ninf(t), 0),
    "log_softmax_all_masked": lambda t: t.log_softmax(_ninf(t), 0),
    "matmul": lambda t: (
        t.full((1, 1), 1e200, dtype=t.float64) @ t.full((1, 1), 1e200, dtype=t.float64)
    ),
    "linear": lambda t: t.nn.functional.linear(
        t.full((1, 2), 1e200, dtype=t.float64), t.full((2, 2), 1e200, dtype=t.float64)
    ),
    "conv1d": lambda t: t.nn.functional.conv1d(
        t.full((1, 1, 3), 1e200, dtype=t.float64), t.full((1, 1, 2), 1e200, dtype=t.float64)
    ),
    "add_inplace_cast": lambda t: t.zeros(1).add_(t.tensor([1e308], dtype=t.float64)),
    "copy_cast": lambda t: t.zeros(1).copy_(t.tensor([1e308], dtype=t.float64)),
    "grad_sum_overflow": lambda t: _grad_of(t, lambda t, v: (v * 1e308) * 1e308, [1.0]),
    "grad_two_paths_overflow": lambda t: _grad_of(
        t, lambda t, v: v * 1e308 * 10 + v * 1e308 * 10, [1.0]
    ),
    "grad_sqrt_at_0": lambda t: _grad_of(t, lambda t, v: v.sqrt(), [0.0, 1.0]),
    "grad_log_softmax_masked": lambda t: _grad_of(
        t, lambda t, v: t.log_softmax(v, 0)[1:], [-_INF, 0.0, 1.0]
    ),
    "adam_inf_grad": lambda t: _adam_step(t, [_INF, 1.0]),
    "sgd_momentum_inf_grad": lambda t: _momentum_step(t, [_INF, 1.0]),
    "clip_grad_norm_inf": _clipped,
}


@pytest.mark.parametrize("name", list(_CASES))
def test_ieee_results_under_warnings_as_errors_match_torch(name):
    torch = pytest.importorskip("torch")
    got = _CASES[name](cr)
    want = _CASES[name](torch)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


def test_other_runtime_warnings_still_reach_the_caller():
    """Only NumPy's floating-point warnings are treated as IEEE results; var's warning
    about degrees of freedom (PyTorch's too) is still raised as an error."""
    with pytest.raises(UserWarning, match="degrees of freedom"):
        cr.tensor([1.0]).var()
