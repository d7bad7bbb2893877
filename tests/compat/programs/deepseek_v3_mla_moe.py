"""DeepSeek-V3's multi-head latent attention and auxiliary-loss-free MoE, as the reference
``inference/model.py`` of deepseek-ai/DeepSeek-V3 writes them (with the training-side pieces of
Hugging Face's ``modeling_deepseek.py``: the sequence-wise balance loss and the bias update),
size-reduced, trained a few steps and then decoded with the KV cache.

The idioms: a ``@dataclass ModelArgs``; ``precompute_freqs_cis`` with the YaRN correction
(``find_correction_dim`` / ``find_correction_range`` with ``math.floor`` / ``math.ceil``,
``linear_ramp_factor``'s ``torch.clamp((torch.arange(dim, dtype=torch.float32) - min) / (max -
min), 0, 1)``, ``freqs / factor * (1 - smooth) + freqs * smooth``, ``torch.outer``,
``torch.polar(torch.ones_like(freqs), freqs)``) and the ``mscale`` of the softmax scale;
``apply_rotary_emb`` (``torch.view_as_complex(x.float().view(*x.shape[:-1], -1, 2))``,
``freqs_cis.view(1, x.size(1), 1, x.size(-1))``, ``torch.view_as_real(x * freqs_cis)
.flatten(3)``, ``y.to(dtype)``); ``RMSNorm`` through ``F.rms_norm(x, (self.dim,), self.weight,
self.eps)``; MLA with the low-rank query (``wq_a`` -> ``q_norm`` -> ``wq_b``) and the compressed
KV (``wkv_a`` to ``kv_lora_rank + qk_rope_head_dim``, ``torch.split(kv, [...], dim=-1)``, the
decoupled rope key ``k_pe.unsqueeze(2)`` broadcast with ``k_pe.expand(-1, -1, n_heads, -1)``),
both attention implementations on the KV cache (``register_buffer(..., persistent=False)``
caches written by slice, ``self.k_cache[:bsz, start_pos:end_pos] = k``): "naive" (``torch.einsum(
"bshd,bthd->bsht", ...)``) and "absorb" (``wkv_b.view(n_heads, -1, kv_lora_rank)``, the query
absorbed with ``torch.einsum("bshd,hdc->bshc", q_nope, wkv_b[:, :qk_nope_head_dim])``, scores on
the latent ``kv_cache`` plus the rope ``pe_cache``, values through ``wkv_b[:, -v_head_dim:]``),
which must agree; ``scores += mask.unsqueeze(1)``, ``scores.softmax(dim=-1,
dtype=torch.float32).type_as(x)``; the causal mask ``torch.full((seqlen, seqlen),
float("-inf")).triu_(1)``. The ``Gate``: sigmoid scores, the correction bias used only to choose
(``scores + self.bias``), group-limited routing (``scores.view(x.size(0), n_groups, -1)``,
``scores.topk(2, dim=-1)[0].sum(dim=-1)``, ``scores.new_ones(..., dtype=bool).scatter_(1,
indices, False)``, ``masked_fill_(mask.unsqueeze(-1), float("-inf")).flatten(1)``),
``original_scores.gather(1, indices)``, ``weights /= weights.sum(dim=-1, keepdim=True)``,
``weights *= self.route_scale``. The ``MoE``: ``torch.bincount(indices.flatten(),
minlength=n_routed_experts).tolist()``, ``idx, top = torch.where(indices == i)``, ``y[idx] +=
expert(x[idx]) * weights[idx, top, None]`` (checked against ``index_add_``), shared experts.
Training: HF's sequence-wise aux loss (``ce.scatter_add_(1, topk_idx, torch.ones(...))
.div_(seq_len * top_k / n_routed_experts)``), and the aux-loss-free balancing, a bias
buffer moved by ``update_rate * torch.sign(counts.mean() - counts)`` under ``torch.no_grad()``.
Generation runs under ``@torch.inference_mode()`` with ``logits = self.head(h[:, -1])``.

Changed: dim 16, 2 layers (the first dense), 4 heads, 6 routed experts in 2 groups, a few steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # the rotary embedding runs in complex64 (``x.float()``), as in the repo
RTOL = 1e-4
ATOL = 1e-5


@dataclass
class ModelArgs:
    max_batch_size: int = 2
    max_seq_len: int = 12
    vocab_size: int = 19
    dim: int = 16
    inter_dim: int = 24
    moe_inter_dim: int = 8
    n_layers: int = 2
    n_dense_layers: int = 1
    n_heads: int = 4
    # moe
    n_routed_experts: int = 6
    n_shared_experts: int = 1
    n_activated_experts: int = 2
    n_expert_groups: int = 2
    n_limited_groups: int = 1
    score_func: str = "sigmoid"
    route_scale: float = 2.5
    # mla
    q_lora_rank: int = 8
    kv_lora_rank: int = 6
    qk_nope_head_dim: int = 4
    qk_rope_head_dim: int = 4
    v_head_dim: int = 4
    # yarn
    original_seq_len: int = 8
    rope_theta: float = 10000.0
    rope_factor: float = 4.0
    beta_fast: int = 32
    beta_slow: int = 1
    mscale: float = 1.0
    # training
    seq_aux_alpha: float = 0.01
    bias_update_speed: float = 0.01


def _build(torch_like: Any) -> dict[str, Any]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    def precompute_freqs_cis(args: ModelArgs) -> Any:
        dim = args.qk_rope_head_dim
        seqlen = args.max_seq_len
        beta_fast = args.beta_fast
        beta_slow = args.beta_slow
        base = args.rope_theta
        factor = args.rope_factor

        def find_correction_dim(num_rotations: float, dim: int, base: float, max_seq_len: int):
            return (
                dim * math.log(max_seq_len / (num_rotations * 2 * math.pi)) / (2 * math.log(base))
            )

        def find_correction_range(low_rot, high_rot, dim, base, max_seq_len):  # noqa: ANN001,ANN202
            low = math.floor(find_correction_dim(low_rot, dim, base, max_seq_len))
            high = math.ceil(find_correction_dim(high_rot, dim, base, max_seq_len))
            return max(low, 0), min(high, dim - 1)

        def linear_ramp_factor(min, max, dim):  # noqa: A002,ANN001,ANN202
            if min == max:
                max += 0.001
            linear_func = (torch.arange(dim, dtype=torch.float32) - min) / (max - min)
            ramp_func = torch.clamp(linear_func, 0, 1)
            return ramp_func

        freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        if seqlen > args.original_seq_len:
            low, high = find_correction_range(
                beta_fast, beta_slow, dim, base, args.original_seq_len
            )
            smooth = 1 - linear_ramp_factor(low, high, dim // 2)
            freqs = freqs / factor * (1 - smooth) + freqs * smooth

        t = torch.arange(seqlen)
        freqs = torch.outer(t, freqs)
        freqs_cis = torch.polar(torch.ones_like(freqs), freqs)
        return freqs_cis

    def apply_rotary_emb(x: Any, freqs_cis: Any) -> Any:
        dtype = x.dtype
        x = torch.view_as_complex(x.float().view(*x.shape[:-1], -1, 2))
        freqs_cis = freqs_cis.view(1, x.size(1), 1, x.size(-1))
        y = torch.view_as_real(x * freqs_cis).flatten(3)
        return y.to(dtype)

    class RMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.dim = dim
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x: Any) -> Any:
            return F.rms_norm(x, (self.dim,), self.weight, self.eps)

    class MLA(nn.Module):
        attn_impl = "absorb"

        def __init__(self, args: ModelArgs) -> None:
            super().__init__()
            self.dim = args.dim
            self.n_heads = args.n_heads
            self.n_local_heads = args.n_heads
            self.q_lora_rank = args.q_lora_rank
            self.kv_lora_rank = args.kv_lora_rank
            self.qk_nope_head_dim = args.qk_nope_head_dim
            self.qk_rope_head_dim = args.qk_rope_head_dim
            self.qk_head_dim = args.qk_nope_head_dim + args.qk_rope_head_dim
            self.v_head_dim = args.v_head_dim

            self.wq_a = nn.Linear(self.dim, self.q_lora_rank, bias=False)
            self.q_norm = RMSNorm(self.q_lora_rank)
            self.wq_b = nn.Linear(self.q_lora_rank, self.n_heads * self.qk_head_dim, bias=False)
            self.wkv_a = nn.Linear(self.dim, self.kv_lora_rank + self.qk_rope_head_dim, bias=False)
            self.kv_norm = RMSNorm(self.kv_lora_rank)
            self.wkv_b = nn.Linear(
                self.kv_lora_rank, self.n_heads * (self.qk_nope_head_dim + self.v_head_dim),
                bias=False,
            )  # fmt: skip
            self.wo = nn.Linear(self.n_heads * self.v_head_dim, self.dim, bias=False)
            self.softmax_scale = self.qk_head_dim**-0.5
            if args.max_seq_len > args.original_seq_len:
                mscale = 0.1 * args.mscale * math.log(args.rope_factor) + 1.0
                self.softmax_scale = self.softmax_scale * mscale * mscale

            b, s, h = args.max_batch_size, args.max_seq_len, self.n_local_heads
            self.register_buffer(
                "k_cache", torch.zeros(b, s, h, self.qk_head_dim), persistent=False
            )
            self.register_buffer("v_cache", torch.zeros(b, s, h, self.v_head_dim), persistent=False)
            self.register_buffer("kv_cache", torch.zeros(b, s, self.kv_lora_rank), persistent=False)
            self.register_buffer(
                "pe_cache", torch.zeros(b, s, self.qk_rope_head_dim), persistent=False
            )

        def forward(self, x: Any, start_pos: int, freqs_cis: Any, mask: Any) -> Any:
            bsz, seqlen, _ = x.size()
            end_pos = start_pos + seqlen
            q = self.wq_b(self.q_norm(self.wq_a(x)))
            q = q.view(bsz, seqlen, self.n_local_heads, self.qk_head_dim)
            q_nope, q_pe = torch.split(q, [self.qk_nope_head_dim, self.qk_rope_head_dim], dim=-1)
            q_pe = apply_rotary_emb(q_pe, freqs_cis)
            kv = self.wkv_a(x)
            kv, k_pe = torch.split(kv, [self.kv_lora_rank, self.qk_rope_head_dim], dim=-1)
            k_pe = apply_rotary_emb(k_pe.unsqueeze(2), freqs_cis)
            if self.training:  # no cache: the keys and values of this sequence only
                q = torch.cat([q_nope, q_pe], dim=-1)
                kv = self.wkv_b(self.kv_norm(kv))
                kv = kv.view(
                    bsz, seqlen, self.n_local_heads, self.qk_nope_head_dim + self.v_head_dim
                )
                k_nope, v = torch.split(kv, [self.qk_nope_head_dim, self.v_head_dim], dim=-1)
                k = torch.cat([k_nope, k_pe.expand(-1, -1, self.n_local_heads, -1)], dim=-1)
                scores = torch.einsum("bshd,bthd->bsht", q, k) * self.softmax_scale
                if mask is not None:
                    scores += mask.unsqueeze(1)
                scores = scores.softmax(dim=-1, dtype=torch.float32).type_as(x)
                x = torch.einsum("bsht,bthd->bshd", scores, v)
                return self.wo(x.flatten(2))
            if self.attn_impl == "naive":
                q = torch.cat([q_nope, q_pe], dim=-1)
                kv = self.wkv_b(self.kv_norm(kv))
                kv = kv.view(
                    bsz, seqlen, self.n_local_heads, self.qk_nope_head_dim + self.v_head_dim
                )
                k_nope, v = torch.split(kv, [self.qk_nope_head_dim, self.v_head_dim], dim=-1)
                k = torch.cat([k_nope, k_pe.expand(-1, -1, self.n_local_heads, -1)], dim=-1)
                self.k_cache[:bsz, start_pos:end_pos] = k
                self.v_cache[:bsz, start_pos:end_pos] = v
                scores = (
                    torch.einsum("bshd,bthd->bsht", q, self.k_cache[:bsz, :end_pos])
                    * self.softmax_scale
                )
            else:
                wkv_b = self.wkv_b.weight
                wkv_b = wkv_b.view(self.n_local_heads, -1, self.kv_lora_rank)
                q_nope = torch.einsum("bshd,hdc->bshc", q_nope, wkv_b[:, : self.qk_nope_head_dim])
                self.kv_cache[:bsz, start_pos:end_pos] = self.kv_norm(kv)
                self.pe_cache[:bsz, start_pos:end_pos] = k_pe.squeeze(2)
                scores = (
                    torch.einsum("bshc,btc->bsht", q_nope, self.kv_cache[:bsz, :end_pos])
                    + torch.einsum("bshr,btr->bsht", q_pe, self.pe_cache[:bsz, :end_pos])
                ) * self.softmax_scale
            if mask is not None:
                scores += mask.unsqueeze(1)
            scores = scores.softmax(dim=-1, dtype=torch.float32).type_as(x)
            if self.attn_impl == "naive":
                x = torch.einsum("bsht,bthd->bshd", scores, self.v_cache[:bsz, :end_pos])
            else:
                x = torch.einsum("bsht,btc->bshc", scores, self.kv_cache[:bsz, :end_pos])
                x = torch.einsum("bshc,hdc->bshd", x, wkv_b[:, -self.v_head_dim :])
            x = self.wo(x.flatten(2))
            return x

    class MLP(nn.Module):
        def __init__(self, dim: int, inter_dim: int) -> None:
            super().__init__()
            self.w1 = nn.Linear(dim, inter_dim, bias=False)
            self.w2 = nn.Linear(inter_dim, dim, bias=False)
            self.w3 = nn.Linear(dim, inter_dim, bias=False)

        def forward(self, x: Any) -> Any:
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class Gate(nn.Module):
        def __init__(self, args: ModelArgs) -> None:
            super().__init__()
            self.dim = args.dim
            self.topk = args.n_activated_experts
            self.n_groups = args.n_expert_groups
            self.topk_groups = args.n_limited_groups
            self.score_func = args.score_func
            self.route_scale = args.route_scale
            self.weight = nn.Parameter(torch.empty(args.n_routed_experts, args.dim))
            nn.init.normal_(self.weight, std=0.3)
            # the correction bias: chosen by load, not by gradient
            self.register_buffer("bias", torch.zeros(args.n_routed_experts, dtype=torch.float32))

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            scores = F.linear(x, self.weight)
            if self.score_func == "softmax":
                scores = scores.softmax(dim=-1, dtype=torch.float32)
            else:
                scores = scores.sigmoid()
            original_scores = scores
            if self.bias is not None:
                scores = scores + self.bias
            if self.n_groups > 1:
                scores = scores.view(x.size(0), self.n_groups, -1)
                if self.bias is None:
                    group_scores = scores.amax(dim=-1)
                else:
                    group_scores = scores.topk(2, dim=-1)[0].sum(dim=-1)
                indices = group_scores.topk(self.topk_groups, dim=-1)[1]
                mask = scores.new_ones(x.size(0), self.n_groups, dtype=bool).scatter_(
                    1, indices, False
                )
                scores = scores.masked_fill_(mask.unsqueeze(-1), float("-inf")).flatten(1)
            indices = torch.topk(scores, self.topk, dim=-1)[1]
            weights = original_scores.gather(1, indices)
            if self.score_func == "sigmoid":
                weights /= weights.sum(dim=-1, keepdim=True)
            weights *= self.route_scale
            return weights.type_as(x), indices, original_scores

    class MoE(nn.Module):
        def __init__(self, args: ModelArgs) -> None:
            super().__init__()
            self.dim = args.dim
            self.n_routed_experts = args.n_routed_experts
            self.n_activated_experts = args.n_activated_experts
            self.experts_start_idx = 0
            self.experts_end_idx = args.n_routed_experts
            self.gate = Gate(args)
            self.experts = nn.ModuleList(
                [MLP(args.dim, args.moe_inter_dim) for _ in range(self.n_routed_experts)]
            )
            self.shared_experts = MLP(args.dim, args.n_shared_experts * args.moe_inter_dim)
            self.alpha = args.seq_aux_alpha
            self.aux_loss: Any = None
            self.counts: Any = None

        def forward(self, x: Any) -> Any:
            shape = x.size()
            bsz, seq_len = shape[0], shape[1]
            x = x.view(-1, self.dim)
            weights, indices, scores = self.gate(x)
            y = torch.zeros_like(x)
            counts = torch.bincount(indices.flatten(), minlength=self.n_routed_experts).tolist()
            for i in range(self.experts_start_idx, self.experts_end_idx):
                if counts[i] == 0:
                    continue
                expert = self.experts[i]
                idx, top = torch.where(indices == i)
                y[idx] += expert(x[idx]) * weights[idx, top, None]
            if not self.training:  # the same dispatch through index_add_
                y2 = torch.zeros_like(x)
                for i, expert in enumerate(self.experts):
                    idx, top = torch.where(indices == i)
                    y2.index_add_(0, idx, expert(x[idx]) * weights[idx, top, None])
                self.dispatch_gap = (y - y2).abs().max().item()
            z = self.shared_experts(x)
            if self.training and self.alpha > 0.0:
                aux_topk = self.n_activated_experts
                topk_idx_for_aux_loss = indices.view(bsz, -1)
                scores_for_seq_aux = (scores / scores.sum(dim=-1, keepdim=True)).view(
                    bsz, seq_len, -1
                )
                ce = torch.zeros(bsz, self.n_routed_experts, device=x.device)
                ce.scatter_add_(
                    1, topk_idx_for_aux_loss,
                    torch.ones(bsz, seq_len * aux_topk, device=x.device),
                ).div_(seq_len * aux_topk / self.n_routed_experts)  # fmt: skip
                self.aux_loss = (ce * scores_for_seq_aux.mean(dim=1)).sum(dim=1).mean() * self.alpha
            self.counts = torch.tensor(counts, dtype=torch.float32)
            return (y + z).view(shape)

    class Block(nn.Module):
        def __init__(self, layer_id: int, args: ModelArgs) -> None:
            super().__init__()
            self.attn = MLA(args)
            self.ffn = (
                MLP(args.dim, args.inter_dim) if layer_id < args.n_dense_layers else MoE(args)
            )
            self.attn_norm = RMSNorm(args.dim)
            self.ffn_norm = RMSNorm(args.dim)

        def forward(self, x: Any, start_pos: int, freqs_cis: Any, mask: Any) -> Any:
            x = x + self.attn(self.attn_norm(x), start_pos, freqs_cis, mask)
            x = x + self.ffn(self.ffn_norm(x))
            return x

    class Transformer(nn.Module):
        def __init__(self, args: ModelArgs) -> None:
            super().__init__()
            self.max_seq_len = args.max_seq_len
            self.embed = nn.Embedding(args.vocab_size, args.dim)
            self.layers = torch.nn.ModuleList()
            for layer_id in range(args.n_layers):
                self.layers.append(Block(layer_id, args))
            self.norm = RMSNorm(args.dim)
            self.head = nn.Linear(args.dim, args.vocab_size, bias=False)
            self.register_buffer("freqs_cis", precompute_freqs_cis(args), persistent=False)

        def hidden(self, tokens: Any, start_pos: int = 0) -> Any:
            seqlen = tokens.size(1)
            h = self.embed(tokens)
            freqs_cis = self.freqs_cis[start_pos : start_pos + seqlen]
            mask = None
            if seqlen > 1:
                mask = torch.full((seqlen, seqlen), float("-inf"), device=tokens.device).triu_(1)
            for layer in self.layers:
                h = layer(h, start_pos, freqs_cis, mask)
            return self.norm(h)

        def forward(self, tokens: Any) -> Any:  # training: logits at every position
            return self.head(self.hidden(tokens))

        @torch.inference_mode()
        def generate_step(self, tokens: Any, start_pos: int = 0) -> Any:
            h = self.hidden(tokens, start_pos)[:, -1]
            logits = self.head(h)
            return logits

    return {"Transformer": Transformer, "MoE": MoE, "freqs": precompute_freqs_cis}


def make_model(torch_like: Any) -> Any:
    return _build(torch_like)["Transformer"](ModelArgs())


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    parts = _build(torch_like)
    args = ModelArgs()
    model = parts["Transformer"](args)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []
    freqs_cis = parts["freqs"](args)
    values.append(float(freqs_cis.dtype == torch.complex64))
    values += torch.view_as_real(freqs_cis[-1]).flatten().tolist()
    values.append(float(sorted(model.state_dict()) == sorted(init)))  # caches not persistent

    rng = np.random.default_rng(11)
    tokens = as_tensor(torch, rng.integers(0, args.vocab_size, (2, 7)))
    moe_layers = [m for m in model.modules() if isinstance(m, parts["MoE"])]
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(3):
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())
        aux = sum(m.aux_loss for m in moe_layers)
        optimizer.zero_grad()
        (loss + aux).backward()
        optimizer.step()
        values += [loss.item(), aux.item()]
        with torch.no_grad():  # auxiliary-loss-free balancing: nudge the bias against the load
            for m in moe_layers:
                load_error = m.counts.mean() - m.counts
                m.gate.bias += args.bias_update_speed * torch.sign(load_error)
        values += moe_layers[0].counts.tolist()
    values += moe_layers[0].gate.bias.tolist()

    # generation on the KV cache: prefill, then two decode steps; both attention forms
    model.eval()
    prompt = tokens[:, :5]
    outputs = {}
    for impl in ("naive", "absorb"):
        for m in model.modules():
            if type(m).__name__ == "MLA":
                m.attn_impl = impl
        logits = model.generate_step(prompt, 0)
        next_token = logits.argmax(dim=-1)
        steps = [logits]
        for pos in range(5, 7):
            logits = model.generate_step(next_token[:, None], pos)
            next_token = logits.argmax(dim=-1)
            steps.append(logits)
        outputs[impl] = torch.stack(steps)
        values.append(float(logits.requires_grad is False and torch.is_inference(logits)))
    values.append(float((outputs["naive"] - outputs["absorb"]).abs().max().item() < 1e-4))
    values += outputs["absorb"][:, 0, :5].flatten().tolist()
    values.append(float(moe_layers[0].dispatch_gap < 1e-5))
    # the cached decode reproduces the full forward's last position
    with torch.no_grad():
        full = model.head(model.hidden(prompt))
    values.append(float((full[:, -1] - outputs["absorb"][0]).abs().max().item() < 1e-4))
    return values
