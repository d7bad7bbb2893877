"""Similarities, distances and the losses built on them (``torch.nn.functional`` names).

All are compositions of differentiable ops. The Euclidean norms go through
``cr.linalg.vector_norm``, whose gradient at 0 is 0, so identical or zero vectors never give
NaN gradients; ``cosine_similarity`` clamps each norm at ``eps`` as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.grad_mode import no_grad
from ...autograd.lower_precision import autocast_float32, autocast_float32_op
from ...autograd.tensor import Tensor
from ...dtype_rules import result_type
from ...linalg.norms import vector_norm
from ...ops._tensor_args import first_not_tensor
from ...ops._util import NAMED_ERRORS, DtypeError, ShapeError, as_tensor, broadcast_error, lead_with
from ...ops.distance import norm_over_dim
from ...ops.margin_losses import add_number, clamp_min_number
from ._arg_types import as_float, as_int, bad_bool
from ._loss_args import _check_reduction, _legacy_reduction, _reduce

__all__ = [
    "cosine_similarity",
    "margin_ranking_loss",
    "pairwise_distance",
    "pdist",
    "triplet_margin_loss",
]


def _reduce_loss(loss: Tensor, reduction: str, op: str) -> Tensor:
    """``loss`` reduced, ``reduction`` checked first by the check every loss shares (PyTorch
    checks it after computing these two losses)."""
    _check_reduction(reduction, op)
    return _reduce(loss, reduction)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along ``dim`` (broadcasting)."""
    if not isinstance(x1, Tensor) or not isinstance(x2, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("cosine_similarity", (("x1", x1), ("x2", x2)))
    if type(dim) is not int or type(eps) is not float:  # PyTorch's parser: an int, a float
        dim = as_int("cosine_similarity", "dim", dim, 3)
        eps = as_float("cosine_similarity", "eps", eps, 4)
    if not eps >= 0:  # NaN too (PyTorch's check)
        raise RuntimeError(f"eps must be non-negative, got: {eps}")
    a, b = x1, x2
    if "c" in (a.dtype.kind, b.dtype.kind):
        raise RuntimeError(
            f"cosine_similarity: expected floating point inputs, got {a.dtype} and {b.dtype} "
            "(complex inputs are not supported, as in PyTorch)"
        )
    if a.dtype != b.dtype or a.dtype.kind not in "fV":  # both in their common dtype (PyTorch)
        common = result_type(a, b)
        if common.kind not in "fV":
            raise DtypeError(
                f"cosine_similarity: expected common dtype to be floating point, yet common "
                f"dtype is {a.dtype if a.dtype == b.dtype else common}"
            )
        a, b = a.to(common), b.to(common)
    if a.shape != b.shape:  # ``dim`` refers to the broadcast shape (PyTorch)
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise broadcast_error("cosine_similarity", a, b) from None
        a, b = a.expand(*shape), b.expand(*shape)
    try:
        # as PyTorch: the norms cloned, then clamped in place outside autograd (the
        # gradient passes through the clamp: CloneBackward0 under each DivBackward0)
        n1 = vector_norm(a, 2, dim, keepdim=True).clone()
        n2 = vector_norm(b, 2, dim, keepdim=True).clone()
    except NAMED_ERRORS as err:
        lead_with("cosine_similarity", err)
        raise
    with no_grad():
        n1.clamp_min_(eps)
        n2.clamp_min_(eps)
    return ((a / n1) * (b / n2)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (``eps`` keeps the gradient finite at 0)."""
    if not isinstance(x1, Tensor) or not isinstance(x2, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("pairwise_distance", (("x1", x1), ("x2", x2)))
    if type(p) is not float or type(eps) is not float or type(keepdim) is not bool:
        op = "pairwise_distance"  # PyTorch's parser: floats, then a bool
        p, eps = as_float(op, "p", p, 3), as_float(op, "eps", eps, 4)
        bad_bool(op, "keepdim", keepdim, 5)
    a, b = x1, x2
    try:
        # PyTorch's at::norm(x1 - x2 + eps, p, last dim, keepdim): the eps a C++ number
        # (AddBackward1), the norm its NormBackward1 (its dim counted from the front)
        d = a - b
        if d._data.dtype.kind in "fV":
            d = add_number(d, eps)
            out = norm_over_dim(d, p, max(a.ndim, b.ndim) - 1, keepdim) if d.ndim else None
            if out is not None:
                return out
        else:
            d = d + eps
        return vector_norm(d, p, -1, keepdim=keepdim)
    except NAMED_ERRORS as err:
        lead_with("pairwise_distance", err)
        raise


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distance between every pair of rows i < j of a 2-d ``input`` (N, M): the
    N(N - 1)/2 values of the upper triangle of ``cdist(input, input, p)``, row by row, as
    ``torch.nn.functional.pdist``. Identical rows get distance 0 and gradient 0 (the norm's
    subgradient at 0). For p = inf with tied largest differences the gradient is split among
    the ties (a subgradient, as ``torch.linalg.vector_norm`` does), where PyTorch's pdist gives
    each tied element the full gradient. One node (``PdistBackward0``,
    ``ops/pairwise_distances.py``); the row differences are formed explicitly: O(N² M)
    memory."""
    x = as_tensor(input)
    if x.ndim != 2:
        raise ShapeError(f"pdist: only supports 2D tensors, got: {x.ndim}D")
    if x.dtype.kind != "f":
        raise DtypeError(f"pdist: only supports floating-point dtypes, got {x.dtype}")
    if p < 0:
        raise ShapeError(f"pdist: only supports non-negative p values, got {p}")
    from ...ops.pairwise_distances import PdistFn  # noqa: PLC0415

    return PdistFn.apply(x, p)  # one PdistBackward0 node (self, p, result)


@autocast_float32_op
def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0), with ``swap`` using min(d(a, n), d(p, n)).

    The legacy ``size_average``/``reduce`` override ``reduction`` with PyTorch's warning.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    dims = [getattr(x, "ndim", None) for x in (anchor, positive, negative)]
    if not dims[0] == dims[1] == dims[2]:  # PyTorch's check and words (no broadcast of dims)
        raise ShapeError(
            "triplet_margin_loss: The anchor, positive, and negative tensors are expected to "
            f"have the same number of dimensions, but got: anchor {dims[0]}D, positive "
            f"{dims[1]}D, and negative {dims[2]}D inputs"
        )
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    if type(margin) is not float or type(p) is not float or type(eps) is not float:
        op = "triplet_margin_loss"  # PyTorch's parser reads the numbers, then swap
        margin, p = as_float(op, "margin", margin, 4), as_float(op, "p", p, 5)
        eps = as_float(op, "eps", eps, 6)
    if type(swap) is not bool:
        bad_bool("triplet_margin_loss", "swap", swap, 7)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = d_neg.minimum(d_swap)
    # PyTorch's clamp_min(margin + d_pos - d_neg, 0) (the margin a C++ number: AddBackward1);
    # clamp_min, not relu: at the kink the gradient passes
    loss = clamp_min_number(add_number(d_pos, margin) - d_neg, 0)
    return _reduce_loss(loss, reduction, "triplet_margin_loss")


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y * (x1 - x2) + margin) for targets y in {1, -1}.

    The legacy ``size_average``/``reduce`` override ``reduction`` with PyTorch's warning.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    x1, x2, y = as_tensor(input1), as_tensor(input2), as_tensor(target)
    # on PyTorch's CPU autocast float32 list: bfloat16 arguments are computed in float32
    x1, x2, y = autocast_float32(x1, x2, y)
    if not (x1.ndim == x2.ndim == y.ndim):
        # PyTorch's text word for word (its space before the colon, its Size reprs and
        # trailing space)
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension "
            f"but got sizes: input1: {x1.shape}, input2: {x2.shape}, target: {y.shape} "
        )
    if type(margin) is not float:  # PyTorch's parser: a real number
        margin = as_float("margin_ranking_loss", "margin", margin, 4)
    # PyTorch's (-y).mul_(x1 - x2).add_(margin).clamp_min_(0): the margin a C++ number
    # (AddBackward1); clamp_min, not relu: at the kink the gradient passes
    loss = clamp_min_number(add_number(-y * (x1 - x2), margin), 0)
    return _reduce_loss(loss, reduction, "margin_ranking_loss")
