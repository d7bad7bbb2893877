"""The comparison the found-case files share: run a small program on torch and chainrule and
require the same results (values at float64 tolerance, other results equal) or both raising."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import chainrule as cr

__all__ = ["same"]


def _value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str, tuple)):
        return v
    return np.array(v.detach().tolist(), dtype=np.float64)


def _run(program: Callable[[Any], Any], lib: Any) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [_value(v) for v in program(lib)]
    except Exception as exc:  # noqa: BLE001 - raising is part of what is compared
        return exc


def same(program: Callable[[Any], Any]) -> None:
    """Run ``program(lib)`` on torch and chainrule; the results (or raising) must agree."""
    t, c = (_run(program, lib) for lib in (torch, cr))
    if isinstance(t, Exception) or isinstance(c, Exception):
        assert isinstance(t, Exception) and isinstance(c, Exception), f"torch {t!r}, cr {c!r}"
        return
    assert len(t) == len(c)
    for i, (a, b) in enumerate(zip(t, c)):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12, err_msg=f"result {i}")
        else:
            assert a == b, f"result {i}: torch {a!r}, chainrule {b!r}"
