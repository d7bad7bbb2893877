"""The comparison of :mod:`tests.fuzz`'s ``test_found_cases*.py`` files (split by theme from
one file): run a small program on torch and chainrule and require the same results (values at
float64 tolerance, other results equal) or both raising. Unlike :mod:`tests.fuzz._compare`,
warnings are not silenced (pytest turns them into errors, which count as raising)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import chainrule as cr

__all__ = ["same", "tensor", "forward"]


def _value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return np.array(v.detach().tolist(), dtype=np.float64)


def _run(program: Callable[[Any], Any], lib: Any) -> Any:
    try:
        return [_value(v) for v in program(lib)]
    except Exception as exc:  # noqa: BLE001 - raising is part of what is compared
        return exc


def same(program: Callable[[Any], Any]) -> None:
    """Run ``program(lib)`` on torch and chainrule; the results (or raising) must agree."""
    results = [_run(program, lib) for lib in (torch, cr)]
    t, c = results
    if isinstance(t, Exception) or isinstance(c, Exception):
        assert isinstance(t, Exception) and isinstance(c, Exception), f"torch {t!r}, cr {c!r}"
        return
    assert len(t) == len(c)
    for i, (a, b) in enumerate(zip(t, c)):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12, err_msg=f"result {i}")
        else:
            assert a == b, f"result {i}: torch {a!r}, chainrule {b!r}"


def tensor(lib: Any, values: Any, rg: bool = True) -> Any:
    """A float64 tensor of ``values`` in ``lib``, requiring grad when ``rg``."""
    return lib.tensor(np.asarray(values, dtype=np.float64), requires_grad=rg)


def forward(lib: Any, program: Callable[[Any, Any], Any], values: Any, tangent: Any) -> list:
    """``program(lib, dual)`` under forward-mode AD: the value and tangent of its result."""
    fwad = lib.autograd.forward_ad
    with fwad.dual_level():
        x = fwad.make_dual(tensor(lib, values, False), tensor(lib, tangent, False))
        out = fwad.unpack_dual(program(lib, x))
        return [out.primal, out.tangent]
