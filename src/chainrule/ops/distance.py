"""Pairwise distances: ``cdist``.

The Euclidean case is one fused op: ``d[p, r] = ||x1[p] - x2[r]||``, computed from the
differences (exact, no cancellation), with the gradient ``(x1[p] - x2[r]) / d[p, r]`` defined as
0 where two points coincide (the removable singularity; PyTorch does the same). Every other
``p`` is a second fused op with PyTorch's gradient of ``d = (sum_k |diff_k|^p)^(1/p)``:
``sign(diff) |diff|^(p-1) / d^(p-1)``, 0 where the points coincide (and, for p < 1, where a
coordinate difference is 0); ``sign(diff)`` for p = 1; 0 for p = 0; for p = inf,
``sign(diff)`` on the coordinates that attain the maximum, shared equally among ties (a
deliberate difference, see ``cdist``). Composing the norm from ``pow`` instead gave NaN
gradients at coincident points.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._kernels.half_gemm import is_host_half
from ..autograd.function import Function
from ..autograd.saved_fields import given, given_value
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_floating
from ._util import as_tensor
from .number_arguments import parser_float
from .vector_norms import Norm1, Norm2, NormInf, NormNegInf, PNorm

__all__ = ["cdist"]

_MODES = (
    "use_mm_for_euclid_dist_if_necessary",
    "use_mm_for_euclid_dist",
    "donot_use_mm_for_euclid_dist",
)


class EuclideanCdist(Function):
    """(..., P, M) x (..., R, M) -> (..., P, R) Euclidean distances."""

    raw = True
    node_name = "CdistBackward0"  # PyTorch's name (its direct, not matrix-product, path)
    saved_fields = {"p": lambda n: 2.0, "result": 2, "x1": 0, "x2": 1}  # grad_fn._saved_*

    @staticmethod
    def forward(ctx, x1, x2, mode):
        ctx.mode = mode
        a, b = x1, x2
        if is_host_half(x1):  # float16: float32 arithmetic, rounded once (NumPy's float16
            a, b = x1.astype(np.float32), x2.astype(np.float32)  # loops are slow)
        diff = a[..., :, None, :] - b[..., None, :, :]
        d = get_array_module(x1).sqrt((diff * diff).sum(-1)).astype(x1.dtype, copy=False)
        ctx.save_for_backward(x1, x2, d)
        return d

    @staticmethod
    def backward(ctx, grad):
        x1, x2, d = ctx.saved_tensors
        if is_host_half(x1._data):  # in float32 with the float32 distances (recomputed:
            x1, x2, grad = (t.float() for t in (x1, x2, grad))  # the float16 ones lose
            d = EuclideanCdist.apply(x1, x2, ctx.mode)  # precision to cancellation), rounded once
            return (*(g.half() for g in EuclideanCdist._grads(x1, x2, d, grad)), None)
        return (*EuclideanCdist._grads(x1, x2, d, grad), None)

    @staticmethod
    def _grads(x1, x2, d, grad):
        safe = d.detach() > 0
        w = (grad / d.masked_fill(~safe, 1.0)).masked_fill(~safe, 0.0)
        g1 = w.sum(-1, keepdim=True) * x1 - w @ x2
        g2 = w.sum(-2).unsqueeze(-1) * x2 - w.transpose(-1, -2) @ x1
        return g1, g2

    @staticmethod
    def jvp(ctx, *_):
        raise NotImplementedError(no_forward_ad(_torch_kernel(*ctx.primals[:2], 2.0, ctx.mode)))


class PNormCdist(Function):
    """(..., P, M) x (..., R, M) -> (..., P, R) p-norm distances, any p >= 0 but 2."""

    raw = True
    node_name = "CdistBackward0"
    saved_fields = {"p": lambda n: n.p, "result": 2, "x1": 0, "x2": 1}  # grad_fn._saved_*

    @staticmethod
    def forward(ctx, x1, x2, p, mode):
        ctx.p, ctx.mode = p, mode
        xp = get_array_module(x1)
        a, b = x1, x2
        if is_host_half(x1):  # float16: float32 arithmetic, rounded once
            a, b = x1.astype(np.float32), x2.astype(np.float32)
        diff = xp.abs(a[..., :, None, :] - b[..., None, :, :])
        if p == 0.0:
            d = (diff != 0).sum(-1).astype(a.dtype)
        elif p == 1.0:
            d = diff.sum(-1)
        elif math.isinf(p):
            d = diff.max(-1) if diff.shape[-1] else diff.sum(-1)
        else:
            d = (diff**p).sum(-1) ** (1.0 / p)
        d = d.astype(x1.dtype, copy=False)
        ctx.save_for_backward(x1, x2, d)
        return d

    @staticmethod
    def backward(ctx, grad):
        x1, x2, d = ctx.saved_tensors
        if ctx.p == 0.0:  # PyTorch's _cdist_backward: zeros, whatever the values (inf, NaN)
            xp = get_array_module(x1._data)
            zero = [Tensor._make(xp.zeros_like(t._data), False, None, 0) for t in (x1, x2)]
            return zero[0], zero[1], None, None
        half = is_host_half(x1._data)
        if half:  # in float32 with the float32 distances (recomputed: the float16 ones
            x1, x2, grad = (t.float() for t in (x1, x2, grad))  # differ from the largest
            d = PNormCdist.apply(x1, x2, ctx.p, ctx.mode)  # |x1 - x2| for p = inf), rounded once
        w = _pnorm_weights(x1[..., :, None, :] - x2[..., None, :, :], d, ctx.p)
        w = w * grad.unsqueeze(-1)
        if half:
            return w.sum(-2).half(), (-w.sum(-3)).half(), None, None
        return w.sum(-2), -w.sum(-3), None, None

    @staticmethod
    def jvp(ctx, *_):
        raise NotImplementedError(no_forward_ad(_torch_kernel(*ctx.primals[:2], ctx.p, ctx.mode)))


def _pnorm_weights(diff: Tensor, d: Tensor, p: float) -> Tensor:
    """d(distance)/d(diff) for each coordinate, in Tensor ops (so it differentiates again),
    with PyTorch's values at the singular points (see the module doc)."""
    sign = diff.sign()
    if p == 0.0:
        return diff * 0.0
    if p == 1.0:
        return sign
    dd = d.detach().unsqueeze(-1)
    if math.isinf(p):  # the tied maxima share the gradient (see cdist's doc)
        ties = (diff.detach().abs() == dd).to(diff.dtype)
        return sign * ties / ties.sum(-1, keepdim=True)
    dist = d.unsqueeze(-1)
    ok = dd > 0
    if p < 1.0:
        ok = ok & (diff.detach() != 0)
    ratio = diff.abs() / dist.masked_fill(dd == 0, 1.0)  # |diff_k| / d, in [0, 1]
    ratio = ratio.masked_fill(~ok, 1.0) ** (p - 1.0)
    return (sign * ratio).masked_fill(~ok, 0.0)


def cdist(
    x1: Tensor,
    x2: Tensor,
    p: float = 2.0,
    compute_mode: str = "use_mm_for_euclid_dist_if_necessary",
) -> Tensor:
    """p-norm distance between each row of ``x1`` (B?, P, M) and each row of ``x2`` (B?, R, M).

    ``compute_mode`` chooses PyTorch's matrix-product shortcut for p=2 on large inputs; here
    every mode computes the exact difference form (the shortcut trades accuracy for speed on
    GPUs), so the modes are validated and give the same, more accurate, result.

    For p = inf with tied largest differences the gradient is split among the ties (a
    subgradient, as ``torch.linalg.vector_norm`` does), where PyTorch's cdist gives each tied
    element the full gradient (as its pdist does).

    Raises:
        RuntimeError: mismatched last dims, fewer than 2 dims, or a negative ``p``.
    """
    if type(p) is not float and type(p) is not int:  # PyTorch's parser, first
        p = parser_float("cdist", "p", 3, p, keywords=False)
    a, b = as_tensor(x1), as_tensor(x2)
    if compute_mode not in _MODES:
        raise ValueError(f"cdist: compute_mode must be one of {_MODES}, got {compute_mode!r}")
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(
            f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D, X2 got: {b.ndim}D"
        )
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"cdist: X1 and X2 must have the same number of columns. X1: "
            f"{a.shape[-1]} X2: {b.shape[-1]}"
        )
    if not (is_floating(a.dtype) and is_floating(b.dtype)):  # bfloat16 too, as PyTorch
        raise RuntimeError(
            f"cdist only supports floating-point dtypes, X1 got: {a.dtype}, X2 got: {b.dtype}"
        )
    if a.dtype != b.dtype:  # PyTorch promotes nothing here: RuntimeError
        raise RuntimeError(
            f"cdist: X1 and X2 must have the same dtype, got X1: {a.dtype}, X2: {b.dtype}; "
            f"convert one with .to({a.dtype}) (or .to({b.dtype}))"
        )
    p = float(p)
    if p < 0 or math.isnan(p):
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    if a.shape[:-2] != b.shape[:-2]:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = a.expand(*batch, *a.shape[-2:])
        b = b.expand(*batch, *b.shape[-2:])
    if p == 2.0:  # (the mode names the kernel PyTorch's forward-mode refusal names)
        return EuclideanCdist.apply(a, b, compute_mode)
    return PNormCdist.apply(a, b, p, compute_mode)


def _torch_kernel(a: Any, b: Any, p: float, compute_mode: str) -> str:
    """The ATen op PyTorch's ``cdist`` dispatches to: ``_euclidean_dist`` (its
    matrix-product path: p = 2, non-empty inputs, ``use_mm_for_euclid_dist``, or the default
    mode with more than 25 rows on a side), else ``_cdist_forward``."""
    mm = compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == _MODES[0] and (a.shape[-2] > 25 or b.shape[-2] > 25)
    )
    empty = a.size == 0 or b.size == 0  # (raw arrays)
    return "_euclidean_dist" if p == 2.0 and mm and not empty else "_cdist_forward"


def no_forward_ad(op: str) -> str:
    """PyTorch's NotImplementedError text for an op without a forward-mode rule (cdist's
    kernels have none in PyTorch 2.13: ``jvp``, ``jacfwd`` and ``forward_ad`` all refuse)."""
    return (
        f"Trying to use forward AD with {op} that does not support it because it has not been "
        "implemented yet.\nPlease file an issue to PyTorch at "
        "https://github.com/pytorch/pytorch/issues/new?template=feature-request.yml so that we "
        "can prioritize its implementation or submit a PR adding the implementation to "
        "derivatives.yaml"
    )


# ``at::norm(x, p, dim, keepdim)``, which PyTorch's pairwise_distance (and so its triplet
# losses) calls: the norms' math under PyTorch's name for that overload, ``NormBackward1``
# (``_saved_dim`` / ``_keepdim`` / ``_p`` / ``_result`` / ``_self``).
_NORM_DIM_FIELDS = {
    "dim": lambda n: tuple(n.axes),
    "keepdim": lambda n: n.keepdim,
    "p": lambda n: given_value(n, "p", 2.0),
    "result": 1,
    "self": 0,
}


def _norm_dim_class(base: type) -> type:
    attrs = {"node_name": "NormBackward1", "saved_fields": _NORM_DIM_FIELDS}
    return type(f"{base.__name__}Dim", (base,), {**attrs, "__module__": __name__})


_NORM_DIM = {
    2.0: _norm_dim_class(Norm2),
    1.0: _norm_dim_class(Norm1),
    math.inf: _norm_dim_class(NormInf),
    -math.inf: _norm_dim_class(NormNegInf),
}
_PNORM_DIM = _norm_dim_class(PNorm)


def norm_over_dim(x: Tensor, p: float, dim: int, keepdim: bool) -> Tensor | None:
    """``at::norm(x, p, dim, keepdim)`` of a real floating ``x`` as one ``NormBackward1``
    node; None where that needs the checks and cases of ``linalg.vector_norm`` (another
    dtype, p = 0, an empty slice)."""
    p = float(p)
    if x._data.dtype.kind not in "fV" or p == 0 or x.ndim == 0 or x.shape[dim] == 0:
        return None
    axes = (dim % x.ndim,)
    cls = _NORM_DIM.get(p)
    out = cls.apply(x, axes, keepdim) if cls is not None else _PNORM_DIM.apply(x, p, axes, keepdim)
    return given(out, p=p)
