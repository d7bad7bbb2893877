"""The differential bad-input table: every case runs on chainrule and on PyTorch.

A :class:`Case` is a function of a library module (``chainrule`` or ``torch``; the APIs
match, so one lambda serves both) plus the op name that an error message must mention.
The cases are generated per op family by crossing each op with a grid of inputs and
arguments (valid, edge and invalid), so a new op added to a family's table is probed
with every bad argument automatically. :mod:`tests.reliability.test_bad_inputs_vs_torch`
states the contract:

- PyTorch raises -> chainrule raises an error of a compatible type whose message names
  the op (never a raw NumPy error, never a silent result);
- PyTorch returns -> chainrule returns the same values (shape, dtype and numbers).

Where PyTorch's behaviour is undefined or deliberately not mirrored, the case carries a
``divergence`` string saying why, and the test checks only that chainrule raises clearly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Case", "CASES", "T", "arr"]


@dataclass(frozen=True)
class Case:
    """One probe: ``fn(lib)`` on both libraries; ``op`` (or one of its ``|``-separated
    alternatives) must appear in an error message."""

    name: str
    op: str
    fn: Callable[[Any], Any]
    random: bool = False  # compare shape and dtype only
    divergence: str = ""  # chainrule must raise clearly here even though PyTorch returns


_RNG = np.random.default_rng(1234)
ARRAYS = {
    "2x3": _RNG.standard_normal((2, 3)),
    "3x1x2": _RNG.standard_normal((3, 1, 2)),
    "0d": np.array(1.5),
    "2x0": np.zeros((2, 0)),
    "empty": np.zeros((0,)),
    "1x3": _RNG.standard_normal((1, 3)),
    "3": _RNG.standard_normal(3),
}


def arr(key: str) -> np.ndarray:
    """A copy of one of the shared input arrays (float64)."""
    return ARRAYS[key].copy()


def T(lib: Any, data: Any, **kwargs: Any) -> Any:
    """``lib.tensor(data)``: a fresh tensor on either library."""
    return lib.tensor(np.array(data) if isinstance(data, np.ndarray) else data, **kwargs)


def _collect() -> list[Case]:
    from . import cases_api, cases_tensor

    out: list[Case] = []
    for family in (
        cases_tensor.reduction_cases,
        cases_tensor.shape_cases,
        cases_tensor.indexing_cases,
        cases_tensor.alias_cases,
        cases_tensor.binary_cases,
        cases_api.creation_cases,
        cases_api.nn_cases,
        cases_api.layer_ctor_cases,
        cases_api.functional_cases,
        cases_api.optim_data_cases,
        cases_api.autograd_cases,
    ):
        out.extend(family())
    names = [c.name for c in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate case names: {sorted(dupes)[:5]}")
    return out


CASES: list[Case] = _collect()
