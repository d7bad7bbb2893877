"""FlashAttention and memory-efficient (chunked) attention written in plain PyTorch, as
lucidrains/memory-efficient-attention-pytorch writes them (``memory_efficient_attention_pytorch/
flash_attention.py``'s ``FlashAttentionFunction`` and ``FlashAttention``,
``memory_efficient_attention.py``'s ``summarize_qkv_chunk``, ``memory_efficient_attention`` and
``Attention``), size-reduced, trained against each other and the plain softmax attention.

The idioms: a ``torch.autograd.Function`` whose ``forward`` and ``backward`` are decorated
``@torch.no_grad()`` and loop over ``q.split(q_bucket_size, dim = -2)`` zipped with
``o.split(...)``, ``all_row_sums.split(...)`` and ``all_row_maxes.split(...)`` (views written in
place: ``oc.mul_((row_sums / new_row_sums) * exp_row_max_diff).add_(...)``,
``row_maxes.copy_(new_row_maxes)``, ``dqc.add_(dq_chunk)`` into ``torch.zeros_like(q)``);
``torch.full((*q.shape[:-1], 1), max_neg_value)`` with ``max_neg_value = -torch.finfo(q.dtype)
.max``; ``einsum('... i d, ... j d -> ... i j', qc, kc)``; the causal block mask
``torch.ones((qc.shape[-2], kc.shape[-2]), dtype = torch.bool).triu(q_start_index -
k_start_index + 1)``; ``amax(dim = -1, keepdims =
True)`` and ``sum(dim = -1, keepdims = True).clamp(min = EPSILON)`` (NumPy's ``keepdims``
spelling); ``ctx.args`` and ``ctx.save_for_backward`` of the row statistics; the backward's ``D
= (doc * oc).sum(dim = -1, keepdims = True)`` and ``ds = p * scale * (dp - D)``; and
``memory_efficient_attention``'s ``partial(checkpoint, summarize_qkv_chunk)`` (chosen only
``if q.requires_grad or k.requires_grad or v.requires_grad``), ``weight.amax(dim = -1, keepdim
= True).detach()``, the fully masked causal chunks skipped, ``torch.stack(..., dim = -1)`` of
the per-chunk summaries, ``renorm_factor = (weight_maxes - global_max).exp().detach()`` and the
attention bias split ``attn_bias.split(q_bucket_size, dim = -2)`` then ``t.split(k_bucket_size,
dim = -1)``.

Changed: ``einops.rearrange`` -> the equivalent indexing/``unsqueeze`` (``'b n -> b 1 1 n'``,
``'... 1 -> ...'``); ``checkpoint`` gets ``use_reentrant=False`` (torch asks for it to be
explicit); bucket sizes 512/1024 -> 3/2 on sequences of 7 (cross-attention to 9 keys when not
causal); dim 16 with 2 heads; 2 Adam steps per variant.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, HEADS, DIM_HEAD, SEQ, EXTRA_KV, BATCH, STEPS = 16, 2, 4, 7, 2, 2, 2
EPSILON = 1e-10


def exists(val: Any) -> bool:
    return val is not None


def default(val: Any, d: Any) -> Any:
    return val if exists(val) else d


def flash_attention_function(torch: Any) -> Any:
    einsum = torch.einsum

    class FlashAttentionFunction(torch.autograd.Function):
        @staticmethod
        @torch.no_grad()
        def forward(ctx: Any, q: Any, k: Any, v: Any, mask: Any, causal: bool, q_bucket_size: int,
                    k_bucket_size: int) -> Any:  # fmt: skip
            """Algorithm 2 in the paper"""

            device = q.device
            max_neg_value = -torch.finfo(q.dtype).max
            qk_len_diff = max(k.shape[-2] - q.shape[-2], 0)

            o = torch.zeros_like(q)
            all_row_sums = torch.zeros((*q.shape[:-1], 1), device=device)
            all_row_maxes = torch.full((*q.shape[:-1], 1), max_neg_value, device=device)

            scale = q.shape[-1] ** -0.5

            if not exists(mask):
                mask = (None,) * math.ceil(q.shape[-2] / q_bucket_size)
            else:
                mask = mask[:, None, None, :]  # rearrange(mask, 'b n -> b 1 1 n')
                mask = mask.split(q_bucket_size, dim=-1)

            row_splits = zip(
                q.split(q_bucket_size, dim=-2),
                o.split(q_bucket_size, dim=-2),
                mask,
                all_row_sums.split(q_bucket_size, dim=-2),
                all_row_maxes.split(q_bucket_size, dim=-2),
            )

            for ind, (qc, oc, row_mask, row_sums, row_maxes) in enumerate(row_splits):
                q_start_index = ind * q_bucket_size - qk_len_diff

                col_splits = zip(
                    k.split(k_bucket_size, dim=-2),
                    v.split(k_bucket_size, dim=-2),
                )

                for k_ind, (kc, vc) in enumerate(col_splits):
                    k_start_index = k_ind * k_bucket_size

                    attn_weights = einsum("... i d, ... j d -> ... i j", qc, kc) * scale

                    if exists(row_mask):
                        attn_weights.masked_fill_(~row_mask, max_neg_value)

                    if causal and q_start_index < (k_start_index + k_bucket_size - 1):
                        causal_mask = torch.ones(
                            (qc.shape[-2], kc.shape[-2]), dtype=torch.bool, device=device
                        ).triu(q_start_index - k_start_index + 1)
                        attn_weights.masked_fill_(causal_mask, max_neg_value)

                    block_row_maxes = attn_weights.amax(dim=-1, keepdims=True)
                    attn_weights -= block_row_maxes
                    exp_weights = torch.exp(attn_weights)

                    if exists(row_mask):
                        exp_weights.masked_fill_(~row_mask, 0.0)

                    block_row_sums = exp_weights.sum(dim=-1, keepdims=True).clamp(min=EPSILON)

                    new_row_maxes = torch.maximum(block_row_maxes, row_maxes)

                    exp_values = einsum("... i j, ... j d -> ... i d", exp_weights, vc)

                    exp_row_max_diff = torch.exp(row_maxes - new_row_maxes)
                    exp_block_row_max_diff = torch.exp(block_row_maxes - new_row_maxes)

                    new_row_sums = (
                        exp_row_max_diff * row_sums + exp_block_row_max_diff * block_row_sums
                    )

                    oc.mul_((row_sums / new_row_sums) * exp_row_max_diff).add_(
                        (exp_block_row_max_diff / new_row_sums) * exp_values
                    )

                    row_maxes.copy_(new_row_maxes)
                    row_sums.copy_(new_row_sums)

            ctx.args = (causal, scale, mask, q_bucket_size, k_bucket_size)
            ctx.save_for_backward(q, k, v, o, all_row_sums, all_row_maxes)

            return o

        @staticmethod
        @torch.no_grad()
        def backward(ctx: Any, do: Any) -> tuple:
            """Algorithm 4 in the paper"""

            causal, scale, mask, q_bucket_size, k_bucket_size = ctx.args
            q, k, v, o, l, m = ctx.saved_tensors  # noqa: E741

            device = q.device

            max_neg_value = -torch.finfo(q.dtype).max
            qk_len_diff = max(k.shape[-2] - q.shape[-2], 0)

            dq = torch.zeros_like(q)
            dk = torch.zeros_like(k)
            dv = torch.zeros_like(v)

            row_splits = zip(
                q.split(q_bucket_size, dim=-2),
                o.split(q_bucket_size, dim=-2),
                do.split(q_bucket_size, dim=-2),
                mask,
                l.split(q_bucket_size, dim=-2),
                m.split(q_bucket_size, dim=-2),
                dq.split(q_bucket_size, dim=-2),
            )

            for ind, (qc, oc, doc, row_mask, lc, mc, dqc) in enumerate(row_splits):
                q_start_index = ind * q_bucket_size - qk_len_diff

                col_splits = zip(
                    k.split(k_bucket_size, dim=-2),
                    v.split(k_bucket_size, dim=-2),
                    dk.split(k_bucket_size, dim=-2),
                    dv.split(k_bucket_size, dim=-2),
                )

                for k_ind, (kc, vc, dkc, dvc) in enumerate(col_splits):
                    k_start_index = k_ind * k_bucket_size

                    attn_weights = einsum("... i d, ... j d -> ... i j", qc, kc) * scale

                    if causal and q_start_index < (k_start_index + k_bucket_size - 1):
                        causal_mask = torch.ones(
                            (qc.shape[-2], kc.shape[-2]), dtype=torch.bool, device=device
                        ).triu(q_start_index - k_start_index + 1)
                        attn_weights.masked_fill_(causal_mask, max_neg_value)

                    exp_attn_weights = torch.exp(attn_weights - mc)

                    if exists(row_mask):
                        exp_attn_weights.masked_fill_(~row_mask, 0.0)

                    p = exp_attn_weights / lc

                    dv_chunk = einsum("... i j, ... i d -> ... j d", p, doc)
                    dp = einsum("... i d, ... j d -> ... i j", doc, vc)

                    D = (doc * oc).sum(dim=-1, keepdims=True)
                    ds = p * scale * (dp - D)

                    dq_chunk = einsum("... i j, ... j d -> ... i d", ds, kc)
                    dk_chunk = einsum("... i j, ... i d -> ... j d", ds, qc)

                    dqc.add_(dq_chunk)
                    dkc.add_(dk_chunk)
                    dvc.add_(dv_chunk)

            return dq, dk, dv, None, None, None, None

    return FlashAttentionFunction


def summarize_qkv_chunk(
    torch: Any,
    q: Any,
    k: Any,
    v: Any,
    mask: Any,
    attn_bias_chunk: Any,
    causal: bool,
    qk_start_indices: tuple,
    dropout: float,
) -> tuple:
    F = torch.nn.functional
    q_start_index, k_start_index, q_chunk_size, k_chunk_size, device = (
        *qk_start_indices,
        q.shape[-2],
        k.shape[-2],
        q.device,
    )

    weight = torch.einsum("b h i d, b h j d -> b h i j", q, k)

    if exists(attn_bias_chunk):
        weight = weight + attn_bias_chunk

    mask_value = -torch.finfo(weight.dtype).max

    if exists(mask):
        mask = mask[:, None, None, :]  # rearrange(mask, 'b j -> b 1 1 j')
        weight = weight.masked_fill(~mask, mask_value)

    if causal and q_start_index < (k_start_index + k_chunk_size - 1):
        causal_mask = torch.ones(
            (q_chunk_size, k_chunk_size), dtype=torch.bool, device=device
        ).triu(q_start_index - k_start_index + 1)
        weight = weight.masked_fill(causal_mask, mask_value)

    weight_max = weight.amax(dim=-1, keepdim=True).detach()
    weight = weight - weight_max

    exp_weight = weight.exp()

    exp_weight = F.dropout(exp_weight, p=dropout)

    weighted_value = torch.einsum("b h i j, b h j d -> b h i d", exp_weight, v)

    return exp_weight.sum(dim=-1), weighted_value, weight_max.squeeze(-1)


def memory_efficient_attention(torch: Any, q: Any, k: Any, v: Any, mask: Any = None,
                               causal: bool = False, attn_bias: Any = None,
                               q_bucket_size: int = 512, k_bucket_size: int = 1024,
                               eps: float = 1e-8, dropout: float = 0.0,
                               training: bool = False) -> Any:  # fmt: skip
    from_torch = partial(summarize_qkv_chunk, torch)
    checkpointed_summarize_qkv_chunk = partial(
        torch.utils.checkpoint.checkpoint, from_torch, use_reentrant=False
    )
    scale = q.shape[-1] ** -0.5
    q = q * scale

    # function

    needs_backwards = q.requires_grad or k.requires_grad or v.requires_grad
    summarize_qkv_fn = checkpointed_summarize_qkv_chunk if needs_backwards else from_torch

    # chunk all the inputs

    q_chunks = q.split(q_bucket_size, dim=-2)
    k_chunks = k.split(k_bucket_size, dim=-2)
    v_chunks = v.split(k_bucket_size, dim=-2)
    mask_chunks = mask.split(k_bucket_size, dim=-1) if exists(mask) else ((None,) * len(k_chunks))

    if exists(attn_bias):
        i, j = attn_bias.shape[-2:]
        attn_bias_chunks = attn_bias.split(q_bucket_size, dim=-2)
        attn_bias_chunks = list(map(lambda t: t.split(k_bucket_size, dim=-1), attn_bias_chunks))

    # loop through all chunks and accumulate

    out = []
    for q_index, q_chunk in enumerate(q_chunks):
        exp_weights = []
        weighted_values = []
        weight_maxes = []

        for k_index, (k_chunk, v_chunk, mask_chunk) in enumerate(
            zip(k_chunks, v_chunks, mask_chunks)
        ):
            q_start_index = q_index * q_bucket_size
            k_start_index = k_index * k_bucket_size

            if causal and k_start_index > (q_start_index + q_chunk.shape[-2] - 1):
                # if chunk is to be all masked out causally, skip
                continue

            attn_bias_chunk = attn_bias_chunks[q_index][k_index] if exists(attn_bias) else None

            exp_weight_chunk, weighted_value_chunk, weight_max_chunk = summarize_qkv_fn(
                q_chunk,
                k_chunk,
                v_chunk,
                mask_chunk,
                attn_bias_chunk,
                causal,
                (q_start_index, k_start_index),
                dropout if training else 0.0,
            )

            exp_weights.append(exp_weight_chunk)
            weighted_values.append(weighted_value_chunk)
            weight_maxes.append(weight_max_chunk)

        weight_maxes = torch.stack(weight_maxes, dim=-1)

        weighted_values = torch.stack(weighted_values, dim=-1)
        exp_weights = torch.stack(exp_weights, dim=-1)

        global_max = weight_maxes.amax(dim=-1, keepdim=True)
        renorm_factor = (weight_maxes - global_max).exp().detach()

        exp_weights = exp_weights * renorm_factor
        weighted_values = weighted_values * renorm_factor.unsqueeze(-2)  # '... c -> ... 1 c'

        all_values = weighted_values.sum(dim=-1)
        all_weights = exp_weights.sum(dim=-1)

        normalized_values = all_values / (all_weights.unsqueeze(-1) + eps)
        out.append(normalized_values)

    return torch.cat(out, dim=-2)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int = 8, dim_head: int = 64) -> None:
            super().__init__()
            self.heads = heads
            inner_dim = heads * dim_head
            self.to_q = nn.Linear(dim, inner_dim, bias=False)
            self.to_kv = nn.Linear(dim, inner_dim * 2, bias=False)
            self.to_out = nn.Linear(inner_dim, dim, bias=False)

        def forward(self, x: Any, context: Any = None, mask: Any = None, attn_bias: Any = None,
                    causal: bool = False, kind: str = "flash") -> Any:  # fmt: skip
            torch = torch_like
            h = self.heads
            context = default(context, x)
            q = self.to_q(x)
            k, v = self.to_kv(context).chunk(2, dim=-1)

            def split_heads(t: Any) -> Any:  # rearrange(t, 'b n (h d) -> b h n d', h = h)
                return t.reshape(t.shape[0], t.shape[1], h, -1).transpose(1, 2)

            q, k, v = map(split_heads, (q, k, v))
            if kind == "flash":
                out = flash_attention_function(torch).apply(q, k, v, mask, causal, 3, 2)
            elif kind == "memory_efficient":
                out = memory_efficient_attention(
                    torch, q, k, v, mask=mask, causal=causal, attn_bias=attn_bias,
                    q_bucket_size=3, k_bucket_size=2, training=self.training,
                )  # fmt: skip
            else:
                scores = torch.einsum("b h i d, b h j d -> b h i j", q, k) * q.shape[-1] ** -0.5
                if attn_bias is not None:
                    scores = scores + attn_bias
                if mask is not None:
                    scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
                if causal:
                    i, j = scores.shape[-2:]
                    causal_mask = torch.ones((i, j), dtype=torch.bool).triu(j - i + 1)
                    scores = scores.masked_fill(causal_mask, float("-inf"))
                out = scores.softmax(dim=-1) @ v
            out = out.transpose(1, 2).reshape(out.shape[0], out.shape[2], -1)
            return self.to_out(out)

    return Attention(DIM, heads=HEADS, dim_head=DIM_HEAD)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(9)
    x_np = rng.normal(size=(BATCH, SEQ, DIM))
    ctx_np = rng.normal(size=(BATCH, SEQ + EXTRA_KV, DIM))
    mask_np = np.ones((BATCH, SEQ + EXTRA_KV), dtype=bool)
    mask_np[1, -3:] = False
    bias_np = rng.normal(size=(1, HEADS, SEQ, SEQ + EXTRA_KV)) * 0.3
    target_np = rng.normal(size=(BATCH, SEQ, DIM))
    values: list[float] = []
    cases = [
        dict(mask=False, causal=False, bias=False),
        dict(mask=True, causal=False, bias=False),
        dict(mask=False, causal=True, bias=False),
        dict(mask=True, causal=True, bias=True),
    ]
    for case in cases:
        for kind in ("reference", "flash", "memory_efficient"):
            if kind == "flash" and (case["bias"] or case["mask"]):
                # FlashAttentionFunction has no bias argument, and its key mask is split by
                # ``q_bucket_size`` and zipped with the query rows (right only for one bucket
                # size and equal lengths), so it runs unmasked here
                continue
            model = make_model(torch_like)
            load_numpy_state(torch_like, model, init)
            opt = torch.optim.Adam(model.parameters(), lr=1e-2)
            # causal runs are self-attention: the two files align an offset causal mask
            # differently (FlashAttention to the end of the keys, the chunked one to the start)
            n_kv = SEQ if case["causal"] else SEQ + EXTRA_KV
            x, context = as_tensor(torch, x_np), as_tensor(torch, ctx_np[:, :n_kv])
            mask = as_tensor(torch, mask_np[:, :n_kv]) if case["mask"] else None
            bias = as_tensor(torch, bias_np[..., :n_kv]) if case["bias"] else None
            target = as_tensor(torch, target_np)
            for _ in range(STEPS):
                out = model(x, context=context, mask=mask, attn_bias=bias,
                            causal=case["causal"], kind=kind)  # fmt: skip
                loss = ((out - target) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                values.append(loss.item())
            values.append(model.to_kv.weight.grad.abs().sum().item())
    return values


def check(values: list[float]) -> None:
    """The two chunked attentions train exactly as the plain softmax attention does."""
    per_run = STEPS + 1
    runs = [values[i : i + per_run] for i in range(0, len(values), per_run)]
    groups = [runs[0:3], runs[3:5], runs[5:8], runs[8:10]]
    for group in groups:
        for other in group[1:]:
            np.testing.assert_allclose(other, group[0], rtol=1e-7)
