"""Starting chainrule's compiled kernels leaves torch's OpenMP thread count as the user set it.

Numba's OpenMP threading layer calls ``omp_set_num_threads(NUMBA_NUM_THREADS)`` and
``omp_set_nested(1)`` when it starts, in the libgomp that PyTorch shares when torch was
imported first; :func:`chainrule._kernels.jit_threads.configure_numba` restores both. The
check needs a process where Numba's threads have not started yet: one fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chainrule._kernels import jit

pytest.importorskip("torch")

_SCRIPT = """
import ctypes, json
import torch
import chainrule as cr
import numba
from chainrule._kernels import jit

libgomp = ctypes.CDLL(None)
def openmp():
    if not hasattr(libgomp, "omp_get_max_active_levels"):
        return None
    return [libgomp.omp_get_max_threads(), libgomp.omp_get_nested(),
            libgomp.omp_get_max_active_levels()]

before = [torch.get_num_threads(), openmp()]
cr.manual_seed(0)
a = cr.randn(192, 192)
(a @ a).sum()
x = cr.randn(2, 3, 8, 8, requires_grad=True)
w = cr.randn(4, 3, 3, 3, requires_grad=True)
cr.nn.functional.conv2d(x, w, padding=1).sum().backward()
print(json.dumps({
    "before": before,
    "after": [torch.get_num_threads(), openmp()],
    "numba_started": jit._numba is not None,
    "layer": numba.threading_layer(),
    "numba_threads": numba.get_num_threads(),
    "chainrule_threads": cr.get_num_threads(),
}))
"""


@pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")
def test_chainrule_kernels_keep_torch_thread_count():
    env = dict(os.environ)
    env.pop("CHAINRULE_NUMBA", None)
    env.pop("NUMBA_THREADING_LAYER", None)
    env["OMP_NUM_THREADS"] = "1"  # the user's choice, which torch reports
    env["NUMBA_NUM_THREADS"] = "2"  # Numba starts 2 threads even on a 1-core runner
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["numba_started"]  # the compiled kernels (and Numba's threads) did run
    assert result["before"][0] == 1
    assert result["after"] == result["before"]
    # chainrule's own parallel kernels still get their threads (its count, at most Numba's 2)
    assert result["numba_threads"] == min(2, result["chainrule_threads"])
