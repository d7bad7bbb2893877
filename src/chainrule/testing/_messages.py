"""Default tolerances and the failure messages of :func:`chainrule.testing.assert_close`.

Both follow ``torch.testing._comparison`` word for word, so a failing comparison reads the
same in chainrule and in PyTorch: the header (``Tensor-likes are not close!``), the
mismatch count (``Mismatched elements: 1 / 4 (25.0%)``) and the greatest absolute and
relative differences with their index and the allowed tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dtypes as _dt

__all__ = [
    "DTYPE_PRECISIONS",
    "ErrorMeta",
    "bfloat16_steps",
    "default_tolerances",
    "get_tolerances",
    "make_scalar_mismatch_msg",
    "make_tensor_mismatch_msg",
]

# {dtype: (rtol, atol)}: PyTorch's table (dtypes chainrule has); every other dtype gets 0, 0.
DTYPE_PRECISIONS: dict[np.dtype, tuple[float, float]] = {
    np.dtype("float16"): (0.001, 1e-5),
    np.dtype("float32"): (1.3e-6, 1e-5),
    np.dtype("float64"): (1e-7, 1e-7),
    np.dtype("complex64"): (1.3e-6, 1e-5),
    np.dtype("complex128"): (1e-7, 1e-7),
}


class ErrorMeta(Exception):
    """An internal failure record: the exception type to raise, its message and the position
    (``id``) of the failing item inside nested sequences/mappings."""

    def __init__(self, type: type[Exception], msg: str, *, id: tuple[Any, ...] = ()) -> None:
        super().__init__(msg)
        self.type = type
        self.msg = msg
        self.id = id

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        """The user-facing exception: ``msg`` (a str) replaces the message, a callable
        receives the generated message (with the item position) and returns the new one."""
        if not isinstance(msg, str):
            generated = self.msg
            if self.id:
                where = "".join(str([item]) for item in self.id)
                generated += f"\n\nThe failure occurred for item {where}"
            msg = msg(generated) if callable(msg) else generated
        return self.type(msg)


# bfloat16's entry, keyed by name: its dtype object needs ml_dtypes, imported on first use.
_BFLOAT16_PRECISION = (0.016, 1e-5)


def _precision(table: dict[np.dtype, tuple[float, float]], dtype: np.dtype) -> tuple:
    if dtype in table:
        return table[dtype]
    if _dt.is_bfloat16(dtype):
        return _BFLOAT16_PRECISION
    return (0.0, 0.0)


def default_tolerances(
    *dtypes: np.dtype, dtype_precisions: dict[np.dtype, tuple[float, float]] | None = None
) -> tuple[float, float]:
    """The loosest ``(rtol, atol)`` of the given dtypes (0, 0 for dtypes not in the table)."""
    table = dtype_precisions or DTYPE_PRECISIONS
    rtols, atols = zip(*[_precision(table, np.dtype(d)) for d in dtypes])
    return max(rtols), max(atols)


def get_tolerances(
    *dtypes: np.dtype, rtol: float | None, atol: float | None, id: tuple[Any, ...] = ()
) -> tuple[float, float]:
    """Both tolerances given: use them; both omitted: the dtype defaults; one alone is an
    error (PyTorch's rule: ``atol=0`` alone would silently keep a nonzero ``rtol``)."""
    if (rtol is None) ^ (atol is None):
        raise ErrorMeta(
            ValueError,
            f"Both 'rtol' and 'atol' must be either specified or omitted, "
            f"but got no {'rtol' if rtol is None else 'atol'}.",
            id=id,
        )
    if rtol is not None and atol is not None:
        return rtol, atol
    return default_tolerances(*dtypes)


def _mismatch_msg(
    *,
    default_identifier: str,
    identifier: str | Callable[[str], str] | None,
    extra: str | None,
    abs_diff: float,
    abs_diff_idx: tuple[int, ...] | None,
    atol: float,
    rel_diff: float,
    rel_diff_idx: tuple[int, ...] | None,
    rtol: float,
) -> str:
    equality = rtol == 0 and atol == 0

    def diff_line(kind: str, diff: float, idx: tuple[int, ...] | None, tol: float) -> str:
        if idx is None:
            line = f"{kind.title()} difference: {diff}"
        else:
            line = f"Greatest {kind} difference: {diff} at index {idx}"
        if not equality:
            line += f" (up to {tol} allowed)"
        return line + "\n"

    if identifier is None:
        identifier = default_identifier
    elif callable(identifier):
        identifier = identifier(default_identifier)
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += f"{extra.strip()}\n"
    msg += diff_line("absolute", abs_diff, abs_diff_idx, atol)
    msg += diff_line("relative", rel_diff, rel_diff_idx, rtol)
    return msg.strip()


def make_scalar_mismatch_msg(
    actual: Any,
    expected: Any,
    *,
    rtol: float,
    atol: float,
    identifier: str | Callable[[str], str] | None = None,
) -> str:
    """The message for two numbers (or 0-d tensors) that are not close."""
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg(
        default_identifier="Scalars",
        identifier=identifier,
        extra=f"Expected {expected} but got {actual}.",
        abs_diff=abs_diff,
        abs_diff_idx=None,
        atol=atol,
        rel_diff=rel_diff,
        rel_diff_idx=None,
        rtol=rtol,
    )


def bfloat16_steps(a: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, Callable]:
    """bfloat16 arrays as float32 (exact) with a rounding back to bfloat16 to apply after
    each arithmetic step, which emulates PyTorch's bfloat16 arithmetic; other arrays as
    they are, with no rounding."""
    if not _dt.is_bfloat16(a.dtype):
        return a, e, _unchanged
    bf16 = a.dtype

    def rnd(v: Any) -> Any:
        return np.asarray(v, np.float32).astype(bf16).astype(np.float32)

    return a.astype(np.float32), e.astype(np.float32), rnd


def _unchanged(v: Any) -> Any:
    return v


def make_tensor_mismatch_msg(
    actual: np.ndarray,
    expected: np.ndarray,
    matches: np.ndarray,
    *,
    rtol: float,
    atol: float,
    identifier: str | Callable[[str], str] | None = None,
) -> str:
    """The message for two arrays (same shape and dtype) that are not close: how many
    elements mismatch and the greatest absolute/relative difference among them.

    Differences are computed as PyTorch does: in the arrays' dtype for floating and complex
    data, in int64 for integers and bools (the relative difference of integers in the default
    float dtype, as PyTorch's true division gives), so the printed numbers agree."""
    n = matches.size
    mismatches = n - int(np.count_nonzero(matches))
    extra = f"Mismatched elements: {mismatches} / {n} ({mismatches / n:.1%})"
    a = actual.reshape(-1)
    e = expected.reshape(-1)
    m = matches.reshape(-1)
    a, e, rnd = bfloat16_steps(a, e)
    if a.dtype.kind not in "fc":
        a = a.astype(np.int64)
        e = e.astype(np.int64)
    with np.errstate(all="ignore"):
        abs_diff = rnd(np.abs(a - e))
        abs_diff[m] = 0
        abs_idx = int(np.argmax(abs_diff))  # NaN counts as greatest, first one wins (as torch)
        if abs_diff.dtype.kind in "fc":
            rel_diff = rnd(abs_diff / np.abs(e))
        else:  # true division of integers: both operands in the default float dtype first
            f = _dt.get_default_dtype()
            rel_diff = abs_diff.astype(f) / np.abs(e).astype(f)
        rel_diff[m] = 0
        rel_idx = int(np.argmax(rel_diff))
    return _mismatch_msg(
        default_identifier="Tensor-likes",
        identifier=identifier,
        extra=extra,
        abs_diff=abs_diff[abs_idx].item(),
        abs_diff_idx=_unravel(abs_idx, matches.shape),
        atol=atol,
        rel_diff=rel_diff[rel_idx].item(),
        rel_diff_idx=_unravel(rel_idx, matches.shape),
        rtol=rtol,
    )


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
