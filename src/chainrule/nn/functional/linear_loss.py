"""``F.linear_cross_entropy``: a linear layer and the cross-entropy of its logits in one call
(``torch.nn.functional.linear_cross_entropy``), and ``LinearCrossEntropyOptions``, the
settings of its chunked, memory-saving path.

With ``options=None`` (the reference path) the loss is, as PyTorch documents it,
``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``, composed from
chainrule's ops: every autograd feature (double backward, forward mode, vmap) works. With
options, the batch is processed in chunks by
:class:`~chainrule.ops.linear_cross_entropy.LinearCrossEntropyChunkedFn`, which never keeps
the (N, C) logits; PyTorch's rules for when that path applies, how the chunk size is chosen
and what it does not support are mirrored.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...ops.linear_cross_entropy import LinearCrossEntropyChunkedFn
from .classification_loss import cross_entropy
from .linear import linear

__all__ = ["linear_cross_entropy"]

_POLICIES = ("auto", "accurate", "balanced", "compact")
_ACC_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
# PyTorch's per-(device, dtype) picks of (acc_policy, chunking_method) for "auto", and its
# fallback for the pairs it does not list (every chainrule device/dtype pair but CPU halves).
_AUTO_DEFAULTS = {("cpu", np.dtype(np.float16)): ("accurate", "aspect_ratio")}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Settings of the chunked path of :func:`linear_cross_entropy`
    (``torch.nn.LinearCrossEntropyOptions``; the same fields, defaults and checks).

    Attributes:
        allow_retain_graph: allow a second backward through a 'mean'/'sum' loss (without
            it, the second backward raises, as in PyTorch).
        batch_chunk_size: rows per chunk; None: one chunk, or what ``chunking_method``
            picks. Must agree with ``chunking_method`` when both are given.
        chunking_method: "auto", "aspect_ratio", "aspect_ratio:N" or None: chunks of
            ``next_pow2(ceil(N / ceil(C / in_features))) // N_factor`` rows ("auto" is
            "aspect_ratio:2" except for float16 on the CPU, "aspect_ratio", as PyTorch).
        acc_policy: "auto", "accurate", "balanced" or "compact": PyTorch's precision and
            memory trade-off when ``acc_dtype`` differs from the input's dtype. chainrule
            computes every chunk in the input's dtype (the one case in which PyTorch says the
            policies agree), so any other ``acc_dtype`` raises NotImplementedError.
        acc_dtype: dtype of the internal accumulation; None: the input's dtype (float16
            input under "auto", which PyTorch accumulates in float32, raises
            NotImplementedError).
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: Any = None

    def __post_init__(self) -> None:
        if self.acc_policy not in _POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = str(self.chunking_method).partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        size = self.batch_chunk_size
        if not (
            size is None or (isinstance(size, int) and not isinstance(size, bool) and size > 0)
        ):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {size!r}")
        if self.acc_dtype is not None and _dtype_or_none(self.acc_dtype) not in _ACC_DTYPES:
            raise ValueError(
                "acc_dtype must be one of {None, float16, float32, float64} (bfloat16 is not "
                f"supported here), got {self.acc_dtype!r}. Pass acc_dtype=None "
                "to let the op pick automatically."
            )


def _dtype_or_none(d: Any) -> Any:
    try:
        return np.dtype(d)
    except TypeError:
        return None


def _chunk_size(opts: LinearCrossEntropyOptions, n: int, d: int, c: int, dtype: Any) -> int:
    """The rows per chunk, resolved as PyTorch's ``LinearCrossEntropyOptions._adjust``."""
    method = opts.chunking_method
    if method == "auto" and opts.batch_chunk_size is not None:
        method = None  # an explicit size switches the heuristic off
    if method == "auto":
        method = _AUTO_DEFAULTS.get(("cpu", np.dtype(dtype)), _AUTO_FALLBACK)[1]
    size = n if opts.batch_chunk_size is None else min(opts.batch_chunk_size, n)
    if method is not None:
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        target = -(-n // -(-c // d))
        size = min((1 << (target - 1).bit_length()) // factor, n)
        if opts.batch_chunk_size is not None and opts.batch_chunk_size != size:
            raise ValueError(
                f"batch_chunk_size (={opts.batch_chunk_size}) and chunking_method "
                f"('{method}') give different chunk sizes ({opts.batch_chunk_size} vs "
                f"{size}); pass only one."
            )
    return max(1, size)


def _check_acc(opts: LinearCrossEntropyOptions, dtype: Any) -> None:
    """Only accumulation in the input's own dtype is implemented (see the options)."""
    dtype = np.dtype(dtype)
    acc = _dtype_or_none(opts.acc_dtype) if opts.acc_dtype is not None else None
    if acc is None and opts.acc_policy == "auto" and dtype == np.float16:
        acc = np.dtype(np.float32)  # PyTorch's "auto" pick for half input on the CPU
    if acc is not None and acc != dtype:
        raise NotImplementedError(
            f"linear_cross_entropy: options with acc_dtype={acc} for {dtype} input (mixed-"
            "precision accumulation) is not supported; chainrule's chunked path accumulates "
            "in the input's dtype: pass acc_dtype=None with a non-'auto' acc_policy, or "
            "float32/float64 input, or options=None"
        )


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: LinearCrossEntropyOptions | None = None,
) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``.

    Shapes: input (D,) or (N, D); linear_weight (C, D) or, for a K-dimensional loss,
    (C, d1, ..., dK, D) with batched input (logits (N, C, d1, ..., dK)); linear_bias
    (C, d1, ..., dK); target class indices (), (N,) or (N, d1, ...) or class probabilities
    of the logits' shape. ``ignore_index`` None means -100 for class indices (and must be
    None for probabilities). Gradient: that of the composition (see ``F.linear`` and
    ``F.cross_entropy``).

    ``options`` (a :class:`LinearCrossEntropyOptions`) selects the chunked path, which
    saves the memory of the logits; as in PyTorch it applies to class-index (int64) targets
    with reduction 'mean'/'sum'/'none', no label smoothing and a (C, D) weight; otherwise a
    UserWarning says so and the reference path runs. The chunked path has no double backward
    and no forward mode (as PyTorch's).
    """
    if not isinstance(input, Tensor) or not isinstance(linear_weight, Tensor):
        raise TypeError(
            "linear_cross_entropy: input and linear_weight must be Tensors, got "
            f"{type(input).__name__} and {type(linear_weight).__name__}"
        )
    if not isinstance(target, Tensor):
        raise TypeError(f"linear_cross_entropy: target must be a Tensor, got {type(target)}")
    if options is not None and not isinstance(options, LinearCrossEntropyOptions):
        raise TypeError(
            "linear_cross_entropy: options must be a LinearCrossEntropyOptions or None, got "
            f"{type(options).__name__}"
        )
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(
            f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}"
        )
    batch = tuple(input.shape[:-1])
    d = input.shape[-1]
    if d != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), got "
            f"{d} and {linear_weight.shape[-1]}, respectively"
        )
    c = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (c, *out_features):
        raise RuntimeError(
            f"expected linear_bias shape {(c, *out_features)}, got {tuple(linear_bias.shape)}"
        )
    if out_features and not batch:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {d}), got unbatched input with shape "
            f"{tuple(input.shape)}"
        )
    logits_shape = (*batch, c, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    if options is not None:
        chunked = (
            not out_features
            and reduction in ("mean", "sum", "none")
            and label_smoothing == 0.0
            and target.dtype == np.int64
        )
        if chunked:
            return _chunked(
                input, linear_weight, target, linear_bias, weight, reduction, ignore_index, options
            )
        warnings.warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
            "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features "
            f"== (). Got reduction={reduction!r}, label_smoothing={label_smoothing}, "
            f"target.dtype={target.dtype}, out_features={out_features}, linear_bias.shape="
            f"{None if linear_bias is None else tuple(linear_bias.shape)}.",
            UserWarning,
            stacklevel=2,
        )
    if out_features:
        flat = math.prod(out_features, start=c)
        linear_weight = linear_weight.reshape((flat, d))
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(flat)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(
        logits,
        target,
        weight=weight,
        reduction=reduction,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
    )


def _chunked(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    linear_bias: Tensor | None,
    weight: Tensor | None,
    reduction: str,
    ignore_index: int,
    options: LinearCrossEntropyOptions,
) -> Tensor:
    """The chunked path: (N, D) rows (an unbatched input is one row), chunk size resolved."""
    op = "linear_cross_entropy"
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {input.dtype}")
    for name, t in (("linear_weight", linear_weight), ("linear_bias", linear_bias)):
        if t is not None and t.dtype != input.dtype:
            raise RuntimeError(
                f"{op}: {name} must have the input's dtype {input.dtype}, got {t.dtype}"
            )
    c = linear_weight.shape[0]
    if weight is not None and tuple(weight.shape) != (c,):
        raise RuntimeError(
            f"{op}: weight must have shape ({c},) (one per class), got {tuple(weight.shape)}"
        )
    batched = input.dim() == 2
    x = input if batched else input.reshape((1, -1))
    t = target if batched else target.reshape((1,))
    if tuple(t.shape) != (x.shape[0],):
        raise ValueError(
            f"{op}: expected target of shape {tuple(x.shape[:1]) if batched else ()} for input "
            f"of shape {tuple(input.shape)}, got {tuple(target.shape)}"
        )
    _check_acc(options, x.dtype)
    chunk = _chunk_size(options, x.shape[0], x.shape[1], c, x.dtype)
    out = LinearCrossEntropyChunkedFn.apply(
        x,
        linear_weight,
        linear_bias,
        t,
        weight,
        int(ignore_index),
        reduction,
        chunk,
        bool(options.allow_retain_graph),
    )
    return out.reshape(()) if reduction == "none" and not batched else out
