"""Connectionist temporal classification loss (``F.ctc_loss``), as PyTorch computes it.

CTC (Graves et al., 2006) scores a label sequence against T frames of per-class
log-probabilities without a given alignment, summing over every frame-level path that
collapses to it. This module checks and normalises the arguments as PyTorch does (padded or
concatenated targets, lengths as tensors or int sequences, unbatched input, reductions,
``zero_infinity``); the recursions and the gradient are the op ``ops/ctc.py``
(``CtcLoss``; its docstring has the formulas and the deliberate differences from PyTorch's
kernel). Like PyTorch's, the gradient is once differentiable and there is no
forward-mode rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd.lower_precision import autocast_float32_op
from ...autograd.saved_fields import given  # grad_fn._saved_*
from ...autograd.state import LOCAL as _vmap
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...meta.array import MetaArray
from ...ops._util import DtypeError, ShapeError
from ...ops.ctc import CtcLoss
from ._loss_args import _check_reduction

__all__ = ["ctc_loss"]

_OP = "ctc_loss"


def _lengths(value: Any, name: str) -> np.ndarray:
    """``input_lengths`` / ``target_lengths`` as a flat int64 array (PyTorch takes a Tensor of
    any shape, read flat, or a list/tuple of ints or 0-d integer Tensors)."""
    if isinstance(value, Tensor):
        arr = value.detach().cpu().numpy()
        if arr.dtype.kind not in "iu":
            raise RuntimeError(f"{_OP}: {name} must be integral, got dtype {value.dtype}")
        return np.asarray(arr, dtype=np.int64).reshape(-1)
    out = []
    for v in value:
        if isinstance(v, Tensor) and v.ndim == 0 and v.dtype.kind in "iu":
            out.append(int(v.item()))
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out.append(int(v))
        else:
            raise TypeError(
                f"{_OP}: {name} must be a Tensor or a list/tuple of ints, got an element "
                f"of type {type(v).__name__}"
            )
    return np.asarray(out, dtype=np.int64)


def _check_length_kinds(input_lengths: Any, target_lengths: Any) -> None:
    """PyTorch's two overloads: both lengths Tensors, or both lists/tuples of ints."""
    both_tensors = isinstance(input_lengths, Tensor) and isinstance(target_lengths, Tensor)
    both_seqs = all(
        isinstance(v, Sequence) and not isinstance(v, (str, bytes))
        for v in (input_lengths, target_lengths)
    )
    if not (both_tensors or both_seqs):
        raise TypeError(
            f"{_OP}: input_lengths and target_lengths must both be Tensors or both be "
            f"lists/tuples of ints, got {type(input_lengths).__name__} and "
            f"{type(target_lengths).__name__}"
        )


def _padded_targets(targets: Tensor, tgt_len: np.ndarray, batch: int) -> np.ndarray:
    """``targets`` as a padded (N, max S) int64 array: from padded (N, S) or concatenated
    (sum of target_lengths,) form, checked as PyTorch checks them."""
    data = targets._data  # meta: no labels to read, its zero-stride view reads zeros (the
    # shape checks stay; torch's meta kernel checks no label either)
    tg = data.view(np.ndarray) if type(data) is MetaArray else targets.detach().cpu().numpy()
    if tg.ndim not in (1, 2):
        raise ShapeError(
            f"{_OP}: targets must be 1-D (concatenated) or 2-D (padded, (N, S)), got a "
            f"{tg.ndim}-D tensor of shape {tuple(tg.shape)}"
        )
    tg = tg.astype(np.int64)
    width = int(tgt_len.max()) if tgt_len.size else 0
    out = np.zeros((batch, width), dtype=np.int64)
    if tg.ndim == 2:
        if tg.shape[0] != batch:
            raise ShapeError(
                f"{_OP}: padded targets must have batch size {batch} in dim 0, got shape "
                f"{tuple(tg.shape)}"
            )
        if width > tg.shape[1]:
            raise ShapeError(
                f"{_OP}: a target length of {width} exceeds the padded targets' width "
                f"{tg.shape[1]} (shape {tuple(tg.shape)})"
            )
        for b, n in enumerate(tgt_len.tolist()):
            out[b, :n] = tg[b, :n]
        return out
    total = int(tgt_len.sum())
    if tg.shape[0] != total:
        raise ShapeError(
            f"{_OP}: concatenated (1-D) targets must hold sum(target_lengths) = {total} "
            f"labels, got {tg.shape[0]}"
        )
    offsets = np.concatenate([[0], np.cumsum(tgt_len)])
    for b, n in enumerate(tgt_len.tolist()):
        out[b, :n] = tg[offsets[b] : offsets[b] + n]
    return out


@autocast_float32_op
def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | Sequence[int],
    target_lengths: Tensor | Sequence[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """The connectionist temporal classification loss (PyTorch's ``F.ctc_loss``).

    Args:
        log_probs: (T, N, C), or (T, C) unbatched: log-probabilities over C classes (blank
            included) per frame, normally ``log_softmax`` outputs (see the module docstring
            for the gradient PyTorch defines for unnormalised inputs). float32 or float64.
        targets: padded (N, S) labels, or the N targets concatenated (1-D, of length
            ``sum(target_lengths)``). Labels are class indices in [0, C); like PyTorch, a
            label equal to ``blank`` is not refused (it is scored as given).
        input_lengths, target_lengths: per-sample frame and label counts, as integer
            Tensors (any shape, read flat) or both as lists/tuples of ints.
        blank: the blank class index. reduction: 'none' (per-sample losses, shape (N,), or
            () unbatched), 'sum', or 'mean' (each loss divided by its target length, at
            least 1, then averaged over the batch).
        zero_infinity: infinite losses (no alignment fits in input_length frames) and their
            gradients become 0.
    """
    _check_reduction(reduction, _OP)
    if _vmap.state.vmap:  # cr.func.vmap: once per sample (lengths and labels are read raw)
        from ...func._per_sample import per_sample  # noqa: PLC0415 - func imports nn

        res = per_sample(
            ctc_loss,
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            blank,
            reduction,
            zero_infinity,
        )
        if res is not NotImplemented:
            return res
    if not isinstance(log_probs, Tensor) or not isinstance(targets, Tensor):
        raise TypeError(
            f"{_OP}: log_probs and targets must be Tensors, got {type(log_probs).__name__} "
            f"and {type(targets).__name__}"
        )
    integer_tensor = isinstance(blank, Tensor) and blank.ndim == 0 and blank.dtype.kind in "iu"
    if isinstance(blank, bool) or not (isinstance(blank, (int, np.integer)) or integer_tensor):
        raise TypeError(  # PyTorch's parser (blank=2.5 was truncated, True read as 1)
            f"ctc_loss() received an invalid combination of arguments: argument 'blank' must be "
            f"int, not {type(blank).__name__}"
        )
    if type(zero_infinity) is not bool:  # PyTorch's parser: a Python bool only
        raise TypeError(
            f"ctc_loss() received an invalid combination of arguments: argument "
            f"'zero_infinity' must be bool, not {type(zero_infinity).__name__}"
        )
    _check_length_kinds(input_lengths, target_lengths)
    in_len = _lengths(input_lengths, "input_lengths")
    tgt_len = _lengths(target_lengths, "target_lengths")
    batched = log_probs.ndim == 3
    if log_probs.ndim not in (2, 3):
        raise ShapeError(
            f"{_OP}: log_probs must be 3-D (T, N, C) or 2-D (T, C) unbatched, got a "
            f"{log_probs.ndim}-D tensor of shape {tuple(log_probs.shape)}"
        )
    if log_probs._data.dtype not in (np.float32, np.float64):
        raise DtypeError(
            f"{_OP}: not implemented for log_probs of dtype {log_probs.dtype} "
            "(float32 and float64 only)"
        )
    lp = log_probs if batched else log_probs.unsqueeze(1)
    T, N, C = lp.shape
    for name, arr in (("input_lengths", in_len), ("target_lengths", tgt_len)):
        if arr.size != N:
            raise ShapeError(
                f"{_OP}: {name} must be of size batch_size ({N}), got {arr.size} values"
            )
    if lp.numel() == 0:
        raise RuntimeError(
            f"{_OP}: log_probs tensor must not be empty, got shape {tuple(lp.shape)}"
        )
    if not 0 <= blank < C:
        raise RuntimeError(f"{_OP}: blank must be in label range [0, {C}), got {blank}")
    if in_len.min() < 0 or in_len.max() > T:
        raise RuntimeError(f"{_OP}: input_lengths must lie in [0, T = {T}], got {in_len.tolist()}")
    if tgt_len.min() < 0:
        raise RuntimeError(f"{_OP}: target_lengths must be >= 0, got {tgt_len.tolist()}")
    tg = _padded_targets(targets, tgt_len, N)
    used = np.arange(tg.shape[1])[None, :] < tgt_len[:, None]
    if used.any() and (tg[used].min() < 0 or tg[used].max() >= C):
        raise RuntimeError(
            f"{_OP}: target labels must be class indices in [0, {C}), got values from "
            f"{int(tg[used].min())} to {int(tg[used].max())}"
        )
    ext = np.full((N, 2 * tg.shape[1] + 1), blank, dtype=np.int64)
    ext[:, 1::2] = np.where(used, tg, blank)
    xp = get_array_module(lp._data)
    if xp is not np:
        ext, in_len_d, tgt_len_d = xp.asarray(ext), xp.asarray(in_len), xp.asarray(tgt_len)
    else:
        in_len_d, tgt_len_d = in_len, tgt_len
    losses = CtcLoss.apply(lp, ext, in_len_d, tgt_len_d, bool(zero_infinity))
    given(  # the node's _saved_* as PyTorch's (ops/ctc.py)
        losses,
        blank=blank,
        input_lengths=tuple(int(v) for v in in_len.reshape(-1).tolist()),
        target_lengths=tuple(int(v) for v in tgt_len.reshape(-1).tolist()),
        targets=targets,
    )
    if reduction == "mean":
        denom = np.maximum(tgt_len, 1).astype(lp._data.dtype)
        losses = (losses / Tensor._make(xp.asarray(denom), False, None, 0)).mean()
    elif reduction == "sum":
        losses = losses.sum()
    elif not batched:
        losses = losses.squeeze(0)
    return losses
