"""Bad (and unusual) inputs for every op spec, run on chainrule and on PyTorch.

Each spec in ``op_specs.SPECS`` gets the same systematic mutations of its first input case
(:func:`mutations`), plus the explicit :class:`op_specs.BadInput` cases it declares in
``OpSpec.bad`` (a bad ``dim``, an out-of-range index, a wrong size argument).
:func:`compare` runs one on both libraries and returns what happened: both raised (with which
exception types), both returned (with equal values or not), or only one raised.
tests/ops/test_bad_inputs.py asserts that chainrule raises where PyTorch raises, with a
compatible exception type and a message naming the op, and returns PyTorch's value where
PyTorch returns one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

import chainrule as cr

from .op_specs import BadInput, OpSpec, make_inputs

__all__ = ["BadInput", "Outcome", "compare", "mutations"]


@dataclass
class Outcome:
    kind: str  # "both_raise" | "both_ok" | "only_torch_raises" | "only_cr_raises"
    torch_error: BaseException | None = None
    cr_error: BaseException | None = None
    same_value: bool = True
    detail: str = ""


def _bigger(arrays):
    """Input 0 with an extra leading dimension of size 2 (one rank too many)."""
    a = arrays[0]
    return [np.stack([a, a + 0.5])] + list(arrays[1:])


def _smaller(arrays):
    """Input 0 with its first dimension dropped (one rank too few)."""
    return [arrays[0][0]] + list(arrays[1:])


def _mismatch(arrays):
    """The last input with its last dimension one longer (does not broadcast)."""
    b = arrays[-1]
    pad = np.concatenate([b, b[..., :1] + 0.25], axis=-1)
    return list(arrays[:-1]) + [pad]


def _as_int(arrays):
    """Every input as int64 (values scaled so they are not all zero)."""
    return [np.round(3 * a).astype(np.int64) for a in arrays]


def _empty(arrays):
    """Input 0 with its first dimension of size 0."""
    a = arrays[0]
    return [a[:0]] + list(arrays[1:])


def mutations(spec: OpSpec, arrays: list) -> list[BadInput]:
    """The systematic bad inputs that apply to ``spec``'s first case ``arrays``."""
    out = [BadInput("int64", _as_int)]
    if arrays[0].ndim >= 1:
        out += [BadInput("rank_minus_1", _smaller), BadInput("empty", _empty)]
    if arrays[0].ndim <= 3:
        out.append(BadInput("rank_plus_1", _bigger))
    if len(arrays) >= 2 and arrays[-1].ndim >= 1:
        out.append(BadInput("mismatch", _mismatch))
    return out + list(spec.bad)


def _values(res) -> list:
    items = res if isinstance(res, (tuple, list)) else [res]
    return [np.asarray(r.detach().numpy() if hasattr(r, "detach") else r) for r in items]


def _run(lib, fn, arrays, call):
    tensors = [lib.tensor(a) for a in arrays]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = call(fn, *tensors) if call else fn(*tensors)
            return None, _values(res)
    except Exception as err:  # noqa: BLE001 - every error is compared with PyTorch's
        return err, None


def compare(spec: OpSpec, bad: BadInput) -> Outcome:
    """Run one bad input on both libraries and say how chainrule compares with PyTorch."""
    arrays = bad.arrays(make_inputs(spec, spec.shapes[0]))
    t_err, t_val = _run(torch, spec.th_fn, arrays, bad.call)
    c_err, c_val = _run(cr, spec.cr_fn, arrays, bad.call)
    if t_err is not None and c_err is not None:
        return Outcome("both_raise", t_err, c_err)
    if t_err is not None:
        return Outcome("only_torch_raises", t_err, None, detail=str(t_err)[:120])
    if c_err is not None:
        return Outcome(
            "only_cr_raises", None, c_err, detail=f"{type(c_err).__name__}: {str(c_err)[:120]}"
        )
    same = len(t_val) == len(c_val) and all(_same(t, c) for t, c in zip(t_val, c_val))
    detail = (
        ""
        if same
        else f"{len(t_val)} vs {len(c_val)} outputs; "
        + "; ".join(
            f"torch {t.shape} {t.dtype} vs cr {c.shape} {c.dtype}" for t, c in zip(t_val, c_val)
        )
    )
    return Outcome("both_ok", same_value=same, detail=detail)


def _same(t: np.ndarray, c: np.ndarray) -> bool:
    """Same shape, dtype and values (to the dtype's precision)."""
    if t.shape != c.shape or t.dtype != c.dtype:
        return False
    tol = 1e-5 if t.dtype in (np.float32, np.float16) else 1e-9
    return bool(np.allclose(c, t, rtol=tol, atol=tol, equal_nan=True))
