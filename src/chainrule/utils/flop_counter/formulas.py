"""FLOP formulas as plain functions of shapes, with PyTorch's names and values.

A GEMM of an (m, k) matrix by a (k, n) one costs ``2·m·n·k`` floating-point operations (one
multiply and one add per term); an addition of a bias or a scaling is not counted, as in
PyTorch's ``torch.utils.flop_counter``. A convolution is a GEMM per output position:
``2 · batch · prod(weight.shape) · prod(spatial positions)``, where the positions are those
of the output for a plain convolution and those of the input for a transposed one (the
weight slides over the input then). Attention is two batched GEMMs: ``Q Kᵀ`` and ``P V``.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

__all__ = [
    "addmm_flop",
    "baddbmm_flop",
    "bmm_flop",
    "conv_backward_flop",
    "conv_flop",
    "conv_flop_count",
    "get_shape",
    "mm_flop",
    "normalize_tuple",
    "sdpa_backward_flop",
    "sdpa_backward_flop_count",
    "sdpa_flop",
    "sdpa_flop_count",
]


def get_shape(i: Any) -> Any:
    """The shape of a tensor or array, or the value itself when it has none."""
    shape = getattr(i, "shape", None)
    return tuple(shape) if shape is not None else i


def normalize_tuple(x: Any) -> tuple:
    """``x`` as a tuple: a tuple stays, a list or a scalar is wrapped."""
    return x if isinstance(x, tuple) else (x,)


def _check(name: str, ok: bool, detail: str) -> None:
    if not ok:
        raise AssertionError(f"{name}: {detail}")


def mm_flop(a_shape: Sequence[int], b_shape: Sequence[int], *args: Any, out_shape=None, **kwargs):
    """FLOPs of ``a @ b`` for an (m, k) by a (k, n) matrix: ``2·m·n·k``."""
    m, k = a_shape
    k2, n = b_shape
    _check("mm_flop", k == k2, f"inner dimensions differ: {a_shape} and {b_shape}")
    return m * n * 2 * k


def addmm_flop(
    self_shape: Any, a_shape: Sequence[int], b_shape: Sequence[int], out_shape=None, **kwargs: Any
) -> int:
    """FLOPs of ``input + a @ b``: the product's, the addition is not counted."""
    return mm_flop(a_shape, b_shape)


def bmm_flop(a_shape: Sequence[int], b_shape: Sequence[int], out_shape=None, **kwargs) -> int:
    """FLOPs of a batched product of (b, m, k) by (b, k, n): ``2·b·m·n·k``."""
    b, m, k = a_shape
    b2, k2, n = b_shape
    _check("bmm_flop", b == b2 and k == k2, f"shapes do not match: {a_shape} and {b_shape}")
    return b * m * n * 2 * k


def baddbmm_flop(
    self_shape: Any, a_shape: Sequence[int], b_shape: Sequence[int], out_shape=None, **kwargs: Any
) -> int:
    """FLOPs of ``input + bmm(a, b)``: the batched product's."""
    return bmm_flop(a_shape, b_shape)


def conv_flop_count(
    x_shape: list[int], w_shape: list[int], out_shape: list[int], transposed: bool = False
) -> int:
    """FLOPs of a convolution: ``2 · batch · prod(w_shape) · positions``, the positions being
    the output's spatial ones (the input's for a transposed convolution)."""
    batch = x_shape[0]
    positions = prod((x_shape if transposed else out_shape)[2:])
    return 2 * batch * prod(w_shape) * positions


def conv_flop(
    x_shape,
    w_shape,
    _bias,
    _stride,
    _padding,
    _dilation,
    transposed,
    *args,
    out_shape=None,
    **kwargs,
) -> int:
    """FLOPs of ``convolution(x, w, bias, stride, padding, dilation, transposed, ...)``; the
    output is ``out_shape`` or, as PyTorch's registered formulas are called, ``out_val``."""
    if out_shape is None and "out_val" in kwargs:
        out_shape = get_shape(kwargs["out_val"])
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=transposed)


def _transposed_w(w_shape: Sequence[int]) -> list[int]:
    return [w_shape[1], w_shape[0], *w_shape[2:]]


def conv_backward_flop(
    grad_out_shape,
    x_shape,
    w_shape,
    _bias,
    _stride,
    _padding,
    _dilation,
    transposed,
    _output_padding,
    _groups,
    output_mask,
    out_shape,
    **kwargs: Any,
) -> int:
    """FLOPs of a convolution's backward: the input gradient (``output_mask[0]``) and the
    weight gradient (``output_mask[1]``) each cost what the forward convolution costs; the
    bias gradient is a sum and is not counted."""
    forward = conv_flop_count(x_shape, w_shape, grad_out_shape, transposed)
    return forward * (bool(output_mask[0]) + bool(output_mask[1]))


def _sdpa_dims(name: str, q: Sequence[int], k: Sequence[int], v: Sequence[int]) -> tuple:
    _check(name, len(q) == len(k) == len(v) == 4, f"expected 4-d shapes, got {q}, {k}, {v}")
    b, h, s_q, d_q = q
    _check(
        name,
        tuple(k[:2]) == (b, h) and tuple(v[:2]) == (b, h) and k[3] == d_q,
        f"shapes do not match: {q}, {k}, {v}",
    )
    _check(name, v[2] == k[2], f"keys and values differ in length: {k}, {v}")
    return b * h, s_q, k[2], d_q, v[3]


def sdpa_flop_count(query_shape, key_shape, value_shape) -> int:
    """FLOPs of attention on (b, h, s_q, d) queries: ``Q Kᵀ`` then ``P V``."""
    bh, s_q, s_k, d_q, d_v = _sdpa_dims("sdpa_flop_count", query_shape, key_shape, value_shape)
    return 2 * bh * s_q * s_k * d_q + 2 * bh * s_q * s_k * d_v


def sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape) -> int:
    """FLOPs of a fused attention kernel's backward: the scores ``Q Kᵀ`` recomputed, then
    ``dV = Pᵀ g``, ``dP = g Vᵀ``, ``dQ = dS K`` and ``dK = dSᵀ Q``."""
    bh, s_q, s_k, d_q, d_v = _sdpa_dims(
        "sdpa_backward_flop_count", query_shape, key_shape, value_shape
    )
    _check(
        "sdpa_backward_flop_count",
        tuple(grad_out_shape) == (*query_shape[:3], d_v),
        f"gradient shape {grad_out_shape} does not match the output",
    )
    scores = 2 * bh * s_q * s_k * d_q
    return 3 * scores + 2 * (2 * bh * s_q * s_k * d_v)


def sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of ``scaled_dot_product_attention`` (its fused kernels' signature)."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def sdpa_backward_flop(
    grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs
) -> int:
    """FLOPs of the fused attention kernels' backward."""
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)
