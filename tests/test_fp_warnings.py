"""Floating-point exceptions inside chainrule's ops are silent, as PyTorch's are: log(0) is
-inf, 1/0 inf, 0 * inf nan, with no RuntimeWarning (NumPy would warn), while a user's own
NumPy code keeps its warnings. Run in a fresh interpreter with ``-W error``, because pytest
installs its own warning filters around each test."""

from __future__ import annotations

import subprocess
import sys

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
