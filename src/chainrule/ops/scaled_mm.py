"""``torch._scaled_mm``: the float8 matrix product that float8 training recipes (torchao's
``Float8Linear``, Transformer Engine-style delayed scaling, the "fp8 from scratch" posts) call.

PyTorch's CPU kernel, which this mirrors: both operands float8 (``float8_e4m3fn`` or
``float8_e5m2``, mixed allowed), each widened to float32 and multiplied by its float32 scale
(one element: tensor-wise; ``(M, 1)`` and ``(1, N)``: row-wise), then multiplied, a ``bias``
of ``N`` elements added in float32, and the result cast to ``out_dtype`` (the operands' dtype
when not given): ``(a.float() * scale_a) @ (b.float() * scale_b) + bias``. ``scale_result``
and ``use_fast_accum`` change nothing on the CPU (PyTorch's CPU kernel takes and ignores them:
checked against it), so they are accepted as PyTorch accepts them. PyTorch registers no
derivative: a result of an input that requires grad (a scale, or a float8 operand) is in the
graph under a node whose backward raises ``derivative for aten::_scaled_mm is not
implemented``.
"""

from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..dtypes import float32
from .no_derivative import record_no_derivative

__all__ = ["scaled_mm"]

_MISSING: Any = object()
_FLOAT8 = frozenset({"float8_e4m3fn", "float8_e5m2"})


def _is_float8(t: Any) -> bool:
    return isinstance(t, Tensor) and str(t.dtype).rsplit(".", 1)[-1] in _FLOAT8


def _valid_scaling(a: Tensor, b: Tensor, scale_a: Any, scale_b: Any) -> bool:
    """PyTorch's accepted configurations: float8 operands with float32 scales, tensor-wise
    (one element each) or row-wise (``(M, 1)`` and ``(1, N)``)."""
    if not (_is_float8(a) and _is_float8(b)):
        return False
    if not all(isinstance(s, Tensor) and s.dtype == float32 for s in (scale_a, scale_b)):
        return False
    if scale_a.numel() == 1 and scale_b.numel() == 1:
        return True
    return tuple(scale_a.shape) == (a.shape[0], 1) and tuple(scale_b.shape) == (1, b.shape[1])


def scaled_mm(
    self: Tensor,
    mat2: Tensor,
    scale_a: Tensor = _MISSING,
    scale_b: Tensor = _MISSING,
    bias: Tensor | None = None,
    scale_result: Tensor | None = None,
    out_dtype: Any = None,
    use_fast_accum: bool = False,
) -> Tensor:
    """``torch._scaled_mm(self, mat2, scale_a, scale_b, bias=None, scale_result=None,
    out_dtype=None, use_fast_accum=False)``: ``(self.float() * scale_a) @ (mat2.float() *
    scale_b) (+ bias)`` cast to ``out_dtype`` (see the module docstring)."""
    missing = [n for n, v in (("scale_a", scale_a), ("scale_b", scale_b)) if v is _MISSING]
    if missing:  # PyTorch's parser's words, its plural included
        plural = "s" if len(missing) == 1 else ""
        names = ", ".join(f'"{n}"' for n in missing)
        raise TypeError(
            f"_scaled_mm() missing {len(missing)} required positional argument{plural}: {names}"
        )
    for name, m in (("mat1", self), ("mat2", mat2)):
        if not isinstance(m, Tensor) or m.dim() != 2:
            raise RuntimeError(f"{name} must be a matrix")
    (rows, inner), (inner2, cols) = self.shape, mat2.shape
    if inner != inner2:
        raise RuntimeError(
            f"mat_a and mat_b shapes cannot be multiplied ({rows}x{inner} and {inner2}x{cols})"
        )
    if not _valid_scaling(self, mat2, scale_a, scale_b):
        got = [str(t.dtype) if isinstance(t, Tensor) else type(t).__name__ for t in
               (self, mat2, scale_a, scale_b)]  # fmt: skip
        raise ValueError(
            "Invalid scaling configuration.\n_scaled_mm takes float8 operands and float32 "
            f"scales of one element each or of shapes ({rows}, 1) and (1, {cols}); got {got}"
        )
    if bias is not None and bias.numel() != cols:
        raise RuntimeError(f"Bias must be size {cols} but got {bias.numel()}")
    with no_grad():
        result = (self.to(float32) * scale_a) @ (mat2.to(float32) * scale_b)
        if bias is not None:
            result = result + bias.to(float32)
        result = result.to(self.dtype if out_dtype is None else out_dtype)
    # recorded over the operands, scales and bias: PyTorch keeps a result of any input that
    # requires grad (a float8 operand included) under a node whose backward raises
    return record_no_derivative("_scaled_mm", result, self, mat2, scale_a, scale_b, bias)
