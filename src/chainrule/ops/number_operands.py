"""How Python numbers and ``alpha`` enter ``add``/``sub``/``mul``/``div``, as PyTorch's CPU
kernels take them: ``a + alpha * b`` rounded once (a fused multiply-add), a number beside a
float16 tensor kept in float32 for products and quotients, a number rounded to a
float16/bfloat16 tensor's dtype for sums and differences, and PyTorch's refusals of an
``alpha`` that does not fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..scalar_range import fit_scalar
from ._util import promote

__all__: list[str] = []  # helpers of binary.py; the ops are there


def _fused_multiply_add(a: Any, b: Any, alpha: Any) -> Any:
    """``a + alpha * b`` rounded once, as PyTorch's CPU kernel computes it (a fused
    multiply-add): float32 and float16 go through float64, where the product of two such
    numbers is exact, so the one rounding is the float64 -> float32 one; float64 and the
    rest in two steps (NumPy has no fused multiply-add)."""
    dt = np.result_type(a, b)
    if dt == np.bool_:  # in bool, as PyTorch: alpha is True or False (NumPy: an int product)
        return np.logical_or(a, np.logical_and(b, bool(alpha)))
    if dt == np.float32 or dt == np.float16:  # alpha in float32, PyTorch's compute type
        alpha = np.float64(np.float32(alpha))
        return (a.astype(np.float64) + alpha * b.astype(np.float64)).astype(dt)
    return a + alpha * b


def _half_by_number(ufunc: Any, a: Any, b: float) -> Any:
    """float16 ``a`` times (or over) a Python number, as PyTorch computes it: in float32 with
    the number kept in float32, rounded once (NumPy would first round the number to
    float16). bfloat16 gets the same from its float32 path (``elementwise.py``)."""
    return ufunc(a.astype(np.float32), np.float32(b)).astype(np.float16)


def _in_half_precision(number: float, dtype: Any) -> float:
    """``number`` rounded to ``dtype`` if that is float16 or bfloat16 (PyTorch converts a
    Python number to the tensor's dtype for add/sub/pow), else as it is."""
    if dtype == np.float16 or dtype.kind == "V":
        return float(np.float32(number).astype(dtype))
    return number


def _check_alpha(op: str, a: Any, b: Any, alpha: Any) -> None:
    """PyTorch refuses a floating ``alpha`` when ``a`` and ``b`` are integral (the result
    would silently become floating); a Python number beside a float tensor is fine. An
    ``alpha`` that does not fit the result dtype (300 for int8, 1e300 for float32) is refused
    too, where NumPy would wrap it or round it to inf. A bool ``alpha`` needs a bool result,
    a complex one a complex result."""
    if alpha is None:
        return
    if type(alpha) is bool or isinstance(alpha, (complex, np.complexfloating)):
        pa, pb = promote(op, a, b, wrap_ints=False)
        kind = (pa if isinstance(pa, Tensor) else pb)._data.dtype.kind
        if type(alpha) is bool and kind != "b":  # PyTorch's errors, word for word
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
        if type(alpha) is not bool and kind in "biu":
            raise RuntimeError(
                "For integral input tensors, argument alpha must not be a floating point number."
            )
        if type(alpha) is not bool and kind != "c":
            raise RuntimeError(
                "For non-complex input tensors, argument alpha must not be a complex number."
            )
        return
    if type(alpha) is int or (type(alpha) is float and not abs(alpha) <= 3.4e38):
        pa, pb = promote(op, a, b, wrap_ints=False)
        fit_scalar(op, alpha, (pa if isinstance(pa, Tensor) else pb)._data.dtype)
    if not isinstance(alpha, (float, np.floating, np.bool_)):  # np.bool_: a float to torch
        return
    kinds = [v._data.dtype.kind if isinstance(v, Tensor) else None for v in (a, b)]
    if not (
        any(k in ("f", "c", "V") for k in kinds)  # V: bfloat16
        or any(isinstance(v, (float, complex)) for v in (a, b))
    ):
        raise RuntimeError(
            f"{op}: for integral input tensors, argument alpha must not be a floating point "
            f"number (got alpha={alpha!r})"
        )
