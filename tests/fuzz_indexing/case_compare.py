"""Comparing torch's and chainrule's observations of an indexing case; :func:`check` runs
both and compares."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import chainrule as cr

from .case_data import Case
from .case_draw import _target_shape
from .case_observe import Err, observe


def _tol(a: np.ndarray, loose: bool) -> float:
    return 1e-5 if loose or a.dtype == np.float32 else 1e-10


_TORCH_BACKWARD_BUGS = (
    # index_put_ of one bool mask with a one-element value of more dims than the indexed
    # result (a masked_fill_, which takes any such value): IndexPutBackward0 returns the
    # value's gradient in the indexed result's shape, and the engine refuses it
    "returned an invalid gradient",
)


def compare(ref: dict, got: dict, loose: bool = False) -> list[str]:
    """The differences of chainrule's observation ``got`` from torch's ``ref``; ``loose``:
    float32 was involved, so float64 results are compared at float32's tolerance too."""
    diffs = []
    for key, related in (("backward", ("grad ",)), ("double", ("first ", "second "))):
        err = ref.get(key)
        if isinstance(err, Err) and any(m in err.msg for m in _TORCH_BACKWARD_BUGS):
            ref = {k: v for k, v in ref.items() if k != key}
            # (chainrule raising the same error is no difference either)
            mine = got.get(key)
            same = isinstance(mine, Err) and any(m in mine.msg for m in _TORCH_BACKWARD_BUGS)
            got = {k: v for k, v in got.items() if not k.startswith(related)
                   and not (same and k == key)}  # fmt: skip
    for key in ref.keys() | got.keys():
        a, b = ref.get(key, "<absent>"), got.get(key, "<absent>")
        if isinstance(a, Err) or isinstance(b, Err):
            if not (isinstance(a, Err) and isinstance(b, Err)):
                diffs.append(f"{key}: torch {a!r} vs chainrule {_short(b)}")
            elif a.type not in b.types:
                diffs.append(f"{key}: error type torch {a!r} vs chainrule {b!r}")
            continue
        if isinstance(a, str) or isinstance(b, str):
            diffs.append(f"{key}: torch {_short(a)} vs chainrule {_short(b)}")
            continue
        if key.startswith("second ") and (a is None or b is None):
            # a gradient that is zero whatever x is: torch's first-order gradient may not
            # require grad there (the backward of a full overwrite is a plain zeros), which
            # leaves the second-order one None; chainrule's zeros are recorded
            a, b = (np.zeros_like(b) if a is None else a), (np.zeros_like(a) if b is None else b)
        if a is None or b is None:
            if a is not b:
                diffs.append(f"{key}: torch {_short(a)} vs chainrule {_short(b)}")
            continue
        if not isinstance(a, np.ndarray):
            if a != b:
                diffs.append(f"{key}: torch {a!r} vs chainrule {b!r}")
            continue
        if a.shape != b.shape or a.dtype != b.dtype:
            diffs.append(f"{key}: torch {a.shape} {a.dtype} vs chainrule {b.shape} {b.dtype}")
        elif a.dtype.kind not in "fc":
            if not np.array_equal(a, b):
                diffs.append(f"{key}: values differ torch {a.tolist()} vs chainrule {b.tolist()}")
        elif not np.allclose(b, a, rtol=_tol(a, loose), atol=_tol(a, loose), equal_nan=True):
            diffs.append(f"{key}: values differ (max {np.nanmax(np.abs(a - b)):.3g})")
    return sorted(diffs)


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    return repr(v)[:120]


def check(case: Case, forward: bool = True) -> list[str]:
    """The differences between torch and chainrule on ``case`` (empty if they agree)."""
    try:
        ref = observe(torch, case, forward)
    except Exception as exc:  # noqa: BLE001 - the harness on torch
        return [f"HARNESS torch {Err(exc)!r}"]
    try:
        got = observe(cr, case, forward)
    except Exception as exc:  # noqa: BLE001 - the harness on chainrule
        return [f"HARNESS chainrule {Err(exc)!r}"]
    err = got.get("forward")
    if isinstance(err, Err) and "IndexError" in err.types and _empty_region(case):
        if not isinstance(ref.get("forward"), Err) or ref["forward"].type != "IndexError":
            return []  # torch's quirk (see _empty_region): it fails later or not at all
    loose = case.dtype == "float32" or (case.value is not None and "float32" in case.value)
    return compare(ref, got, loose)


def _empty_region(case: Case) -> bool:
    """Whether the index of ``case`` selects no element. torch checks an index tensor's
    positions while it copies, so an out-of-range position in an index whose result is
    empty (``x[0:0, [7]]`` on 4 columns) passes unnoticed; chainrule checks them all
    first and raises IndexError. Steered around: the error is the more useful answer."""
    if case.mode != "dim" and 0 in case.shape:
        return True  # (x empty: so is any region, whatever positions the index names)
    shapes = [_target_shape(case.shape, case.index, case.bare)]
    if case.mode == "chain" and shapes[0] is not None:
        shapes.append(_target_shape(shapes[0], case.index2, case.bare2))
    if case.mode == "dim":
        return case.op not in ("masked_select", "masked_fill_") and any(
            0 in item[1] for item in case.index
        )
    return any(s is not None and 0 in s for s in shapes)
