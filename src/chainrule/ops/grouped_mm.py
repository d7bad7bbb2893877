"""``torch._grouped_mm`` (and ``F.grouped_mm``): one matrix product per group of a jagged
dimension, the kernel Mixture-of-Experts layers (torchtitan's ``GroupedExperts``, DeepSeek-V3
and Llama 4 ports) call on tokens sorted by expert.

The four layouts PyTorch accepts, with ``offs`` (int32, one end per group: group ``i`` is
``[offs[i-1], offs[i])``, the first starting at 0) slicing the operand that is 2-d:

- ``(M, K) x (G, K, N) -> (M, N)``: rows of ``mat_a`` grouped, ``out[s:e] = a[s:e] @ b[g]``
  (the MoE forward);
- ``(G, M, K) x (K, N) -> (M, N)``: columns of ``mat_b`` grouped, ``out[:, s:e] = a[g] @
  b[:, s:e]``;
- ``(M, K) x (K, N) -> (G, M, N)``: the contraction grouped, ``out[g] = a[:, s:e] @ b[s:e]``
  (the MoE weight gradient);
- ``(G, M, K) x (G, K, N) -> (G, M, N)``: a batched product, without ``offs``.

Each layout's derivatives are grouped products of the others (``GroupedMmBackward0``):
``dA = grouped_mm(dOut, Bᵀ)``, ``dB = grouped_mm(Aᵀ, dOut)`` with the same groups, so double
backward works. Rows (or columns) past ``offs[-1]`` are left uninitialised by PyTorch's kernel;
they are zeros here. PyTorch's CPU kernel takes float32, bfloat16 and float16 operands of the
same dtype whose strides are multiples of 16 bytes (one of the last two strides 1); half
precision is computed in float32 and rounded once. PyTorch has no forward-mode rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layout import is_vmap_batched
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._tensor_args import not_tensor
from .distance import no_forward_ad

__all__ = ["grouped_mm"]

# the layout of dA's and dB's products for each layout (see the module docstring)
_GRAD_A = {"2d3d": "2d3d", "3d2d": "2d2d", "2d2d": "3d2d", "3d3d": "3d3d"}
_GRAD_B = {"2d3d": "2d2d", "3d2d": "3d2d", "2d2d": "2d3d", "3d3d": "3d3d"}
_KINDS = ("float32", "bfloat16", "float16")


def _product(a: Any, b: Any, mode: str, bounds: tuple[tuple[int, int], ...]) -> Any:
    """The grouped product of the raw arrays ``a`` and ``b`` (float16 summed in float32)."""
    xp = get_array_module(a, b)
    dtype = a.dtype
    if dtype == np.float16:
        a, b = a.astype(np.float32), b.astype(np.float32)
    if mode == "3d3d":
        return xp.matmul(a, b).astype(dtype, copy=False)
    if mode == "2d3d":
        out = xp.zeros((a.shape[0], b.shape[-1]), dtype=a.dtype)
        for g, (s, e) in enumerate(bounds):
            out[s:e] = a[s:e] @ b[g]
    elif mode == "3d2d":
        out = xp.zeros((a.shape[1], b.shape[1]), dtype=a.dtype)
        for g, (s, e) in enumerate(bounds):
            out[:, s:e] = a[g] @ b[:, s:e]
    else:
        out = xp.zeros((len(bounds), a.shape[0], b.shape[1]), dtype=a.dtype)
        for g, (s, e) in enumerate(bounds):
            out[g] = a[:, s:e] @ b[s:e]
    return out.astype(dtype, copy=False)


class GroupedMm(Function):
    """``out = grouped_mm(A, B)``; ``dA = grouped_mm(dOut, Bᵀ)``, ``dB = grouped_mm(Aᵀ,
    dOut)`` over the same groups (each in the layout ``_GRAD_A`` / ``_GRAD_B`` names)."""

    raw = True
    node_name = "GroupedMmBackward0"

    @staticmethod
    def forward(ctx, a, b, *, mode, bounds):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        ctx.mode, ctx.bounds = mode, bounds
        return _product(a, b, mode, bounds)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        mode, bounds = ctx.mode, ctx.bounds
        grad_a = grad_b = None
        if needs[0]:
            grad_a = GroupedMm.apply(grad, b.transpose(-2, -1), mode=_GRAD_A[mode], bounds=bounds)
        if needs[1]:
            grad_b = GroupedMm.apply(a.transpose(-2, -1), grad, mode=_GRAD_B[mode], bounds=bounds)
        return grad_a, grad_b

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError(no_forward_ad("_grouped_mm"))


def _check_strides(m: Tensor) -> None:
    """PyTorch's layout rule for a grouped GEMM operand: row- or column-major matrices whose
    other strides are multiples of 16 bytes."""
    strides, size = m.stride(), m.element_size()
    if strides[-1] != 1 and strides[-2] != 1:
        raise RuntimeError(
            f"Invalid strides/sizes, got {list(strides)} for strides and {list(m.shape)} for sizes"
        )
    if any(s != 1 and (s * size) % 16 for s in strides):
        raise RuntimeError("strides should be multiple of 16 bytes")


def _check_operands(mat_a: Tensor, mat_b: Tensor, offs: Any, bias: Any, out_dtype: Any) -> str:
    """PyTorch's checks in its order (each first error of two is torch's); the layout's name
    (``"2d3d"``, ...)."""
    for name, m in (("mat_a", mat_a), ("mat_b", mat_b)):
        kind = str(m.dtype).rsplit(".", 1)[-1]
        if kind not in _KINDS:
            got = {"float64": "Double", "int32": "Int", "int64": "Long"}.get(kind, kind)
            raise RuntimeError(
                f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got {got}"
            )
    for name, m in (("mat_a", mat_a), ("mat_b", mat_b)):
        if m.dim() not in (2, 3):
            raise RuntimeError(f"{name} has to be 2 or 3d")
    mode = f"{mat_a.dim()}d{mat_b.dim()}d"
    if mat_a.shape[-1] != (mat_b.shape[-2] if mat_b.dim() == 3 else mat_b.shape[0]):
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    _check_strides(mat_a)
    _check_strides(mat_b)
    if (offs is None) != (mode == "3d3d"):
        raise RuntimeError(
            "Have to provide offsets if there is a 2d matrix, or no offset if both matrices are 3d"
        )
    if offs is not None:
        if offs.dim() != 1:
            raise RuntimeError("offs has to be 1D")
        if str(offs.dtype) != "torch.int32":
            raise RuntimeError("Offsets have to be int32")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if out_dtype is not None and out_dtype != mat_a.dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    if mode == "3d3d" and mat_a.shape[0] != mat_b.shape[0]:
        raise RuntimeError("batched dimension has to match")
    groups = {"2d3d": mat_b.shape[0], "3d2d": mat_a.shape[0]}.get(mode)
    if groups is not None and offs.shape[0] != groups:
        raise RuntimeError("matrix batch sizes have to match")
    if mat_a.dtype != mat_b.dtype:
        names = {"float32": "float", "bfloat16": "c10::BFloat16", "float16": "c10::Half"}
        a, b = (names[str(m.dtype).rsplit(".", 1)[-1]] for m in (mat_a, mat_b))
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a} != {b}")
    return mode


def grouped_mm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    mat2: Tensor,
    offs: Tensor | None = None,
    bias: Tensor | None = None,
    out_dtype: Any = None,
) -> Tensor:
    """``torch._grouped_mm(input, mat2, offs=None, bias=None, out_dtype=None)``: one
    product per group of ``offs`` (see the module docstring for the four layouts; PyTorch's
    errors call the operands ``mat_a`` and ``mat_b``)."""
    mat_a, mat_b = input, mat2
    for pos, (name, m) in enumerate((("input", mat_a), ("mat2", mat_b))):
        if not isinstance(m, Tensor):
            raise not_tensor("_grouped_mm", name, pos + 1, m)
    if offs is not None and not isinstance(offs, Tensor):
        raise TypeError(f"_grouped_mm(): argument 'offs' must be Tensor, not {type(offs).__name__}")
    raw = (mat_a._data, mat_b._data, getattr(offs, "_data", None))
    if any(type(a) is not np.ndarray and is_vmap_batched(a) for a in raw if a is not None):
        from ..func._per_sample import per_sample  # noqa: PLC0415 - in here: func imports ops

        # cr.func.vmap: once per sample, PyTorch's fallback (it has no batching rule either)
        return per_sample(grouped_mm, mat_a, mat_b, offs, bias, out_dtype)
    mode = _check_operands(mat_a, mat_b, offs, bias, out_dtype)
    ends = [] if offs is None else [int(e) for e in offs.tolist()]
    bounds = tuple(zip([0, *ends], ends, strict=False))
    return GroupedMm.apply(mat_a, mat_b, mode=mode, bounds=bounds)
