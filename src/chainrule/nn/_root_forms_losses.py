"""Root forms (``nn/root_forms.py``) of the losses, the pooling functions that return
indices and embedding_bag: ATen's signatures over ``cr.nn.functional``.

The losses take ATen's int ``reduction`` (0 none, 1 mean, 2 sum). adaptive_max_pool1d and
max_pool1d_with_indices return ``(values, indices)``; embedding_bag returns ATen's 4-tuple
``(output, offset2bag, bag_size, max_indices)`` where those values are defined (see there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._util import broadcast_error, constant, torch_words
from . import functional as F

__all__ = [
    "adaptive_max_pool1d",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "ctc_loss",
    "embedding_bag",
    "hinge_embedding_loss",
    "kl_div",
    "margin_ranking_loss",
    "max_pool1d_with_indices",
    "poisson_nll_loss",
    "triplet_margin_loss",
]

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def reduction_name(op: str, reduction: Any) -> str:
    """ATen's int reduction as ``F``'s string. Deliberate difference: PyTorch treats any int
    other than 1 and 2 as 0 (no reduction); chainrule raises instead of guessing.

    The root forms' ``reduction`` defaults to 0 (none): ATen's schemas say ``reduction=1``,
    but PyTorch 2.13's ``torch.kl_div(x, t)`` (and the other root losses) reduce nothing when
    it is omitted (measured), and chainrule mirrors what PyTorch returns."""
    if isinstance(reduction, bool) or reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: reduction must be 0 (none), 1 (mean) or 2 (sum) in the root form "
            f"(torch.{op}); got {reduction!r}"
        )
    return _REDUCTIONS[reduction]


def _tensor(op: str, name: str, v: Any) -> Tensor:
    """``v``, or PyTorch's TypeError for an argument ``name`` of ``op`` that must be a
    Tensor (the root forms here and in ``root_forms.py`` share it)."""
    if not isinstance(v, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(v).__name__}")
    return v


# ---------------------------------------------------------------------------------- losses
def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target: Tensor,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    reduction: int = 0,
) -> Tensor:
    """``torch.binary_cross_entropy_with_logits`` (``pos_weight`` before ``reduction``).

    ATen broadcasts where ``F``'s form wants equal shapes: its ``(1 - target).mul_(input)``
    takes any input that broadcasts to the target's shape (the loss has the target's shape),
    ``log_sigmoid(input).mul_(log_weight)`` a pos_weight whose product with the target fits
    the input, ``loss.mul_(weight)`` a weight that fits the loss; anything else fails as
    those in-place ops fail there."""
    r = reduction_name("binary_cross_entropy_with_logits", reduction)
    op = "binary_cross_entropy_with_logits"
    if isinstance(input, Tensor) and isinstance(target, Tensor) and input.shape != target.shape:
        _fits_in_place(op, target, input)
        if pos_weight is not None:
            log_weight = _fits_in_place(op, pos_weight, target, into=False)
            _fits_in_place(op, input, log_weight)
        if weight is not None:
            _fits_in_place(op, target, weight)
        input = input.expand(target.shape)
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=r, pos_weight=pos_weight
    )


def _fits_in_place(op: str, a: Any, b: Any, into: bool = True) -> tuple[int, ...]:
    """The broadcast shape of ``a`` and ``b`` (tensors or shapes) as ATen's ``a.mul_(b)``
    checks it: its broadcast error where they do not broadcast, and (``into``) its "output
    with shape" error where the result is not ``a``'s shape."""
    sa, sb = (tuple(getattr(v, "shape", v)) for v in (a, b))
    try:
        full = tuple(np.broadcast_shapes(sa, sb))
    except ValueError:
        raise broadcast_error(op, np.empty(sa, bool), np.empty(sb, bool)) from None
    if into and full != sa:
        raise torch_words(
            RuntimeError(
                f"output with shape {list(sa)} doesn't match the broadcast shape {list(full)}"
                f"\n{op}: a target of shape {sa} and an input of shape {sb}"
            )
        )
    return full


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: int = 0
) -> Tensor:
    """``torch.cosine_embedding_loss``."""
    r = reduction_name("cosine_embedding_loss", reduction)
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=r)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    blank: int = 0,
    reduction: int = 0,
    zero_infinity: bool = False,
) -> Tensor:
    """``torch.ctc_loss`` (both ATen overloads: lengths as tensors or int lists). The mean
    divides each loss by its target length first, as ``F.ctc_loss``."""
    r = reduction_name("ctc_loss", reduction)
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, r, zero_infinity)


def hinge_embedding_loss(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target: Tensor,
    margin: float = 1.0,
    reduction: int = 0,
) -> Tensor:
    """``torch.hinge_embedding_loss``."""
    r = reduction_name("hinge_embedding_loss", reduction)
    return F.hinge_embedding_loss(input, target, margin, reduction=r)


def kl_div(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target: Tensor,
    reduction: int = 0,
    *,
    log_target: bool = False,
) -> Tensor:
    """``torch.kl_div``: the pointwise KL terms (``F.kl_div(reduction='none')``) then ATen's
    reduction, a plain mean for 1 (so no ``batchmean`` advice is given, as in PyTorch)."""
    r = reduction_name("kl_div", reduction)
    out = F.kl_div(input, target, reduction="none", log_target=log_target)
    return out if r == "none" else out.mean() if r == "mean" else out.sum()


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction: int = 0
) -> Tensor:
    """``torch.margin_ranking_loss``."""
    r = reduction_name("margin_ranking_loss", reduction)
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=r)


def poisson_nll_loss(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target: Tensor,
    log_input: bool,
    full: bool,
    eps: float,
    reduction: int,
) -> Tensor:
    """``torch.poisson_nll_loss`` (every argument required, as ATen's)."""
    r = reduction_name("poisson_nll_loss", reduction)
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=r)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: int = 0,
) -> Tensor:
    """``torch.triplet_margin_loss``."""
    r = reduction_name("triplet_margin_loss", reduction)
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=r)


# ---------------------------------------------------------------------------------- pooling
def _single(op: str, name: str, v: Any) -> int:
    """ATen's ``int[1]``: an int or a one-element sequence."""
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise RuntimeError(f"{op}: {name} must be an int or a single int, got {v!r}")
        v = v[0]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(v).__name__}")
    return int(v)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple[Tensor, Tensor]:  # noqa: A002
    """``torch.adaptive_max_pool1d``: ``(values, indices)`` over (C, L) or (N, C, L), i.e.
    ``F.adaptive_max_pool1d_with_indices`` (window i covers [floor(i L / out),
    ceil((i + 1) L / out)); the first maximum, or the last NaN, as PyTorch's CPU kernel)."""
    op = "adaptive_max_pool1d"
    x = _tensor(op, "input", input)
    return F.adaptive_max_pool1d_with_indices(x, _single(op, "output_size", output_size))


def max_pool1d_with_indices(
    input: Tensor,  # noqa: A002 - PyTorch's name
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple[Tensor, Tensor]:
    """``torch.max_pool1d_with_indices``: ``F.max_pool1d(..., return_indices=True)``; an
    empty ``stride`` (ATen's default ``[]``) means the kernel size."""
    op = "max_pool1d_with_indices"
    k = _single(op, "kernel_size", kernel_size)
    no_stride = stride is None or isinstance(stride, (list, tuple)) and len(stride) == 0
    s = k if no_stride else _single(op, "stride", stride)
    p, dl = _single(op, "padding", padding), _single(op, "dilation", dilation)
    return F.max_pool1d(_tensor(op, "input", input), k, s, p, dl, ceil_mode, return_indices=True)


# ------------------------------------------------------------------------------ embedding_bag
def embedding_bag(
    weight: Tensor,
    indices: Tensor,
    offsets: Tensor,
    scale_grad_by_freq: bool = False,
    mode: int = 0,
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``torch.embedding_bag``: ``(output, offset2bag, bag_size, max_indices)`` for mode 1
    (mean) and 2 (max); ``output`` is ``F.embedding_bag``'s.

    offset2bag is each index's bag (as PyTorch: with ``include_last_offset`` the indices after
    the last offset count in the last bag), bag_size the number of non-padding indices per
    bag, max_indices the row each maximum came from (mode 2; 0 for an empty bag) or, in mode
    1, ``bag_size`` again, as PyTorch's kernel returns.

    Raises:
        NotImplementedError: mode 0 (sum). PyTorch's auxiliary outputs there are placeholders
            whose values depend on its CPU kernel's fast path (an empty offset2bag for
            contiguous float32/float16 weights without padding_idx, a filled one otherwise;
            zeros for bag_size): they cannot be mirrored honestly. For the sum itself use
            ``cr.nn.functional.embedding_bag(..., mode='sum')``.
    """
    op = "embedding_bag"
    modes = {0: "sum", 1: "mean", 2: "max"}
    if isinstance(mode, bool) or mode not in modes:
        raise ValueError(f"{op}: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode!r}")
    if mode == 0:
        raise NotImplementedError(
            f"{op}: the root form's mode=0 (sum) is not supported: PyTorch's offset2bag, "
            "bag_size and max_indices there are placeholders that depend on its CPU kernel's "
            "fast path; use cr.nn.functional.embedding_bag(input, weight, offsets, "
            "mode='sum') for the output"
        )
    w = _tensor(op, "weight", weight)
    idx, off = _tensor(op, "indices", indices), _tensor(op, "offsets", offsets)
    if idx.ndim != 1 or off.ndim != 1:
        raise ValueError(
            f"{op}: indices and offsets must be 1-d in the root form, got shapes "
            f"{tuple(idx.shape)} and {tuple(off.shape)}"
        )
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    out = F.embedding_bag(
        idx, w, off, None, 2, scale_grad_by_freq, modes[mode], sparse,
        per_sample_weights, include_last_offset, pad,
    )  # fmt: skip
    ii, oo = np.asarray(idx._data).astype(np.int64), np.asarray(off._data).astype(np.int64)
    starts = oo[:-1] if include_last_offset else oo
    nbags = len(starts)
    bag = np.searchsorted(starts, np.arange(len(ii)), side="right") - 1
    valid = ii != (-1 if pad is None else pad)
    size = np.bincount(bag[valid], minlength=nbags).astype(np.int64)
    if mode == 1:
        maxi = size.copy()
    else:
        wd = np.asarray(w._data)
        maxi = np.zeros((nbags, wd.shape[1]), dtype=np.int64)
        for b in range(nbags):
            rows = ii[(bag == b) & valid]
            if rows.size:
                maxi[b] = rows[np.argmax(wd[rows], axis=0)]
    xp = get_array_module(w._data)
    return out, *(constant(xp.asarray(a)) for a in (bag, size, maxi))
