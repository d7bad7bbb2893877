"""``cr.nn.attention.flex_attention``: attention with a user score modification and a mask
(PyTorch's ``torch.nn.attention.flex_attention``, FlexAttention).

For query Q (B, Hq, L, E), key K (B, Hkv, S, E), value V (B, Hkv, S, Ev):

    A = score_mod(scale · Q Kᵀ, b, h, q_idx, kv_idx)      (B, Hq, L, S)
    A = -inf where mask_mod(b, h, q_idx, kv_idx) is False
    P = softmax(A) row-wise,  O = P V,  lse = logsumexp(A) row-wise (natural log)

PyTorch compiles ``score_mod`` and ``mask_mod`` into a fused kernel and traces them one
(b, h, q, kv) element at a time; its eager path materialises the scores and evaluates both
densely. chainrule has that one path: it calls ``score_mod`` once on the whole score tensor
with broadcastable int32 index tensors ``b (B,1,1,1)``, ``h (1,Hq,1,1)``, ``q_idx (1,1,L,1)``,
``kv_idx (1,1,1,S)``, so element-wise code (arithmetic, comparisons, ``cr.where``,
``cr.tanh``, indexing into captured tensors such as a bias table ``bias[q_idx - kv_idx]``)
works unchanged, and the result is differentiable with respect to Q, K, V and every tensor
``score_mod`` captures, through chainrule's ordinary autograd. (PyTorch 2.13 refuses the
backward on the CPU; chainrule gives it, as PyTorch does on CUDA.) Half-precision inputs are
computed in float32: the output has the query's dtype, the lse is float32, as in PyTorch.

The softmax is stable (the row maximum is subtracted, outside the graph since softmax does
not depend on it) and safe: a row whose keys are all masked gives output 0 and lse ``-inf``,
with zero gradients, as PyTorch. ``kernel_options`` are tuning hints for PyTorch's compiled
kernels: chainrule checks them as PyTorch does and has nothing to tune.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypedDict

from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...dtypes import float32
from ...ops.attention_inputs import repeat_heads
from ...ops.binary import where
from ...ops.linalg import matmul
from ...ops.logical import isfinite
from ...ops.unary import exp, log
from ._block_mask import (
    BlockMask,
    and_masks,
    create_block_mask,
    create_mask,
    dense_mask,
    index_grids,
    noop_mask,
    or_masks,
)

__all__ = [
    "AuxOutput",
    "AuxRequest",
    "BlockMask",
    "FlexKernelOptions",
    "and_masks",
    "create_block_mask",
    "create_mask",
    "flex_attention",
    "noop_mask",
    "or_masks",
]

_BACKENDS = ("AUTO", "TRITON", "FLASH", "TRITON_DECODE")


class AuxRequest(NamedTuple):
    """Which auxiliary outputs :func:`flex_attention` returns (``return_aux=``)."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """The auxiliary outputs requested by an :class:`AuxRequest` (``None`` when not)."""

    lse: Tensor | None = None
    max_scores: Tensor | None = None


class FlexKernelOptions(TypedDict, total=False):
    """PyTorch's tuning hints for its compiled kernels (block sizes, warps, stages, ...);
    chainrule validates ``BACKEND`` as PyTorch does and has no kernel to tune."""

    num_warps: int
    num_stages: int
    BLOCK_M: int
    BLOCK_N: int
    BLOCK_M1: int
    BLOCK_N1: int
    BLOCK_M2: int
    BLOCK_N2: int
    PRESCALE_QK: bool
    ROWS_GUARANTEED_SAFE: bool
    BLOCKS_ARE_CONTIGUOUS: bool
    WRITE_DQ: bool
    FORCE_USE_FLEX_ATTENTION: bool
    USE_TMA: bool
    kpack: int
    matrix_instr_nonkdim: int
    waves_per_eu: int
    BACKEND: str


def _check_kernel_options(kernel_options: Any) -> None:
    if kernel_options is None:
        return
    if not isinstance(kernel_options, Mapping):
        raise TypeError(
            "flex_attention: kernel_options must be a dict of kernel options, got "
            f"{type(kernel_options).__name__}"
        )
    backend = kernel_options.get("BACKEND", "AUTO")
    if backend not in _BACKENDS:
        raise ValueError(f"Invalid BACKEND value {backend!r}. Must be one of {_BACKENDS}")


def _check_inputs(query: Any, key: Any, value: Any, block_mask: Any, enable_gqa: bool) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"flex_attention: {name} must be a Tensor, got {type(t).__name__}")
    if not query.ndim == key.ndim == value.ndim == 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.dtype.kind not in "fV":  # V: bfloat16
            raise RuntimeError(
                f"flex_attention: expected floating-point query, key and value, got {name} of "
                f"dtype {t.dtype}"
            )
    if block_mask is not None and not isinstance(block_mask, BlockMask):
        raise TypeError(
            f"flex_attention: block_mask must be a BlockMask or None, got "
            f"{type(block_mask).__name__}"
        )
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(
            "Expect query and key/value to have the same embedding dimension but got "
            f"E={query.shape[-1]} and E={key.shape[-1]}."
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"flex_attention: key and value must have the same sequence length (dim 2), got "
            f"key {tuple(key.shape)} and value {tuple(value.shape)}"
        )
    bq, bkv = query.shape[0], key.shape[0]
    if block_mask is None and bq != bkv:
        raise ValueError(
            "Expect query and key/value to have the same batch size, or non-none block_mask, "
            f"but got block_mask=None, Bq={bq}, and Bkv={bkv}."
        )
    hq, hkv = query.shape[1], key.shape[1]
    if not enable_gqa and hq != hkv:
        raise ValueError(
            f"Expect query and key/value to have the same number of heads but got Hq={hq} "
            f"and Hkv={hkv}. Try setting enable_gqa=True for GQA."
        )
    if enable_gqa and hq % hkv != 0:
        raise ValueError(
            "Expect number of query heads to be a multiple of kv heads for GQA but got "
            f"Hq={hq} and Hkv={hkv}."
        )
    if enable_gqa and value.shape[1] != hkv:
        raise RuntimeError(
            f"flex_attention: key and value must have the same number of heads, got "
            f"{hkv} and {value.shape[1]}"
        )


def _check_lengths(block_mask: BlockMask, L: int, S: int) -> None:
    q_len, kv_len = block_mask.seq_lengths
    if (q_len, kv_len) == (L, S):
        return
    head = (
        f"block_mask was created for block_mask.shape={block_mask.shape} but got q_len={L} "
        f"and kv_len={S}. "
    )
    if q_len >= L and kv_len >= S:
        raise ValueError(
            head + "As the block mask was created for a larger length than you're using it "
            "for, create a new block mask with the correct length."
        )
    raise ValueError(
        head + "As the block mask was created for a smaller length than you're using it for, "
        "you likely need to create a new block mask."
    )


def _modified_scores(q: Tensor, k: Tensor, score_mod: Callable | None, scale: float) -> Tensor:
    scores = matmul(q, k.transpose(-2, -1)) * scale
    if score_mod is None:
        return scores
    if not callable(score_mod):
        raise TypeError(
            f"flex_attention: score_mod must be callable or None, got {type(score_mod).__name__}"
        )
    B, H, L, S = scores.shape
    out = score_mod(scores, *index_grids(B, H, L, S, q.device))
    if not isinstance(out, Tensor):
        raise TypeError(
            "flex_attention: score_mod must return a Tensor (the modified scores), got "
            f"{type(out).__name__}"
        )
    if out.dtype != scores.dtype:
        out = out.to(scores.dtype)
    return out.expand(B, H, L, S)


def flex_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    score_mod: Callable | None = None,
    block_mask: BlockMask | None = None,
    scale: float | None = None,
    enable_gqa: bool = False,
    return_lse: bool = False,
    kernel_options: FlexKernelOptions | None = None,
    *,
    return_aux: AuxRequest | None = None,
) -> Tensor | tuple[Tensor, Tensor] | tuple[Tensor, AuxOutput]:
    """Attention of ``query`` over ``key``/``value`` with ``score_mod`` applied to the scaled
    scores and ``block_mask.mask_mod`` deciding which pairs count (see the module doc).

    Args:
        query: (B, Hq, L, E). key: (B, Hkv, S, E). value: (B, Hkv, S, Ev).
        score_mod: ``(score, b, h, q_idx, kv_idx) -> score``, called once on the whole
            (B, Hq, L, S) scores with broadcastable int32 indices; may capture tensors that
            require grad.
        block_mask: a :class:`BlockMask`; its ``mask_mod`` is evaluated densely.
        scale: factor on Q Kᵀ; default 1/sqrt(E).
        enable_gqa: let Hkv divide Hq; key/value head ``h // (Hq // Hkv)`` serves query
            head ``h``.
        return_lse: deprecated (FutureWarning): also return the (B, Hq, L) logsumexp.
        kernel_options: tuning hints of PyTorch's kernels; ``BACKEND`` is checked.
        return_aux: an :class:`AuxRequest`; returns ``(output, AuxOutput)``.

    Returns:
        The (B, Hq, L, Ev) output; with ``return_lse``, ``(output, lse)``; with
        ``return_aux``, ``(output, AuxOutput)``.

    Raises:
        NotImplementedError: tensors that are not 4-D (as PyTorch), or
            ``AuxRequest(max_scores=True)``, which PyTorch computes only on CUDA.
        ValueError: mismatched heads, embedding sizes or batch sizes, a block mask made for
            other sequence lengths, both ``return_lse`` and ``return_aux``, a bad
            ``kernel_options['BACKEND']``.
    """
    if return_lse and return_aux is not None:
        raise ValueError(
            "Cannot specify both return_lse and return_aux. return_lse is deprecated, please "
            "use return_aux=AuxRequest(lse=True) instead."
        )
    if return_lse:
        warnings.warn(
            "return_lse is deprecated and will be removed in a future version. Please use "
            "return_aux=AuxRequest(lse=True) instead.",
            FutureWarning,
            stacklevel=2,
        )
    if return_aux is not None and not isinstance(return_aux, AuxRequest):
        raise TypeError(
            f"flex_attention: return_aux must be an AuxRequest or None, got "
            f"{type(return_aux).__name__}"
        )
    if return_aux is not None and return_aux.max_scores:
        raise NotImplementedError("Returning max scores is not supported on CPU/MPS.")
    _check_kernel_options(kernel_options)
    _check_inputs(query, key, value, block_mask, enable_gqa)
    B, hq, L, E = query.shape
    S = key.shape[2]
    if block_mask is not None:
        _check_lengths(block_mask, L, S)
    if key.shape[1] != hq:
        key = repeat_heads(key, hq // key.shape[1])
        value = repeat_heads(value, hq // value.shape[1])
    out_dtype = query.dtype
    # half-precision inputs are computed in float32 (PyTorch's lse is float32 for them)
    work = query.dtype if query.dtype.itemsize >= 4 else float32
    query, key, value = query.to(work), key.to(work), value.to(work)
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)

    scores = _modified_scores(query, key, score_mod, scale)
    if block_mask is not None:
        allowed = dense_mask(block_mask.mask_mod, B, hq, L, S, query.device)
        scores = where(allowed, scores, float("-inf"))
    with no_grad():
        row_max = scores.amax(-1, keepdim=True)
        row_max = where(isfinite(row_max), row_max, 0.0)
    weights = exp(scores - row_max)
    total = weights.sum(-1, keepdim=True)
    alive = total > 0
    safe_total = where(alive, total, 1.0)
    out = matmul(weights / safe_total, value).to(out_dtype)
    if not (return_lse or (return_aux is not None and return_aux.lse)):
        return out if return_aux is None else (out, AuxOutput())
    lse = where(alive, log(safe_total) + row_max, float("-inf")).squeeze(-1)
    return (out, lse) if return_aux is None else (out, AuxOutput(lse=lse))
