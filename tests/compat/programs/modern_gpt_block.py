"""A current-style decoder-only transformer as in gpt-fast, Meta's Llama reference code and
nanoGPT, size-reduced: a ``@dataclass ModelArgs`` with ``find_multiple`` for the SwiGLU width;
rotary embeddings precomputed with ``torch.outer`` and ``torch.polar(torch.ones_like(freqs),
freqs)`` and applied two ways -- Llama's complex product (``torch.view_as_complex(
x.float().reshape(*x.shape[:-1], -1, 2))``, ``reshape_for_broadcast``, ``torch.view_as_real(
...).flatten(3)``, ``.type_as(x)``) in even layers and gpt-fast's real cos/sin cache
(``torch.stack([freqs_cis.real, freqs_cis.imag], dim=-1)`` and the rotated ``stack`` of
``xshaped[..., 0]``/``[..., 1]``) in odd ones; grouped-query attention with Llama's
``repeat_kv`` (``x[:, :, :, None, :].expand(...).reshape(...)``) and gpt-fast's
``repeat_interleave``; ``F.scaled_dot_product_attention(q, k, v, attn_mask=None,
dropout_p=..., is_causal=True)`` inside ``with torch.nn.attention.sdpa_kernel(
[SDPBackend.FLASH_ATTENTION, SDPBackend.MATH])``; a hand-written ``RMSNorm`` (``x *
torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)``) in the blocks and ``nn.RMSNorm`` at
the end; the SwiGLU ``w2(F.silu(w1(x)) * w3(x))``, in one layer through a custom
``autograd.Function`` whose ``forward``/``backward`` carry ``@torch.amp.custom_fwd(
device_type="cpu", cast_inputs=torch.float32)``/``@torch.amp.custom_bwd(device_type="cpu")``;
weight tying, nanoGPT's ``_init_weights`` with the scaled ``normal_`` of the output
projections, ``configure_optimizers`` (decay/no-decay groups, ``'fused' in
inspect.signature(torch.optim.AdamW).parameters`` and ``fused=True``, which PyTorch runs on
CPU), the warm-up + cosine ``get_lr``, gradient accumulation, ``clip_grad_norm_`` (its
returned norm is compared) and ``zero_grad(set_to_none=True)``; then greedy decoding under
``torch.inference_mode()``, and gpt-fast's cached decoding (``KVCache`` buffers written by
``k_out[:, :, input_pos] = k_val``, ``setup_caches`` with the bool ``torch.tril(torch.ones(n,
n, dtype=torch.bool))`` mask indexed by ``input_pos``, ``F.scaled_dot_product_attention(...,
attn_mask=mask, enable_gqa=True)``, prefill then one token at a time under
``@torch.no_grad()``), checked against the full forward.

Changed: dimensions are tiny (dim 16, 4 query heads over 2 KV heads, 2 layers, vocab 29,
sequence 8), the tokens are a seeded NumPy sequence, dropout is 0.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
RTOL = 2e-5


def find_multiple(n: int, k: int) -> int:
    if n % k == 0:
        return n
    return n + k - (n % k)


@dataclass
class ModelArgs:
    block_size: int = 8
    vocab_size: int = 29
    n_layer: int = 2
    n_head: int = 4
    n_local_heads: int = 2
    dim: int = 16
    intermediate_size: int | None = None
    rope_base: float = 10000
    norm_eps: float = 1e-5
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.intermediate_size is None:
            hidden_dim = 4 * self.dim
            n_hidden = int(2 * hidden_dim / 3)
            self.intermediate_size = find_multiple(n_hidden, 8)
        self.head_dim = self.dim // self.n_head


def _build(torch_like: Any) -> dict:
    torch = torch_like
    nn, F = torch.nn, torch.nn.functional
    from_attention = torch.nn.attention
    sdpa_kernel, SDPBackend = from_attention.sdpa_kernel, from_attention.SDPBackend

    def precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0) -> Any:
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
        t = torch.arange(end, device=freqs.device)
        freqs = torch.outer(t, freqs).float()
        return torch.polar(torch.ones_like(freqs), freqs)  # complex64

    def reshape_for_broadcast(freqs_cis: Any, x: Any) -> Any:
        ndim = x.ndim
        assert freqs_cis.shape == (x.shape[1], x.shape[-1])
        shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
        return freqs_cis.view(*shape)

    def apply_rotary_emb_complex(xq: Any, xk: Any, freqs_cis: Any) -> tuple[Any, Any]:
        xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
        xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
        freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
        xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
        xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
        return xq_out.type_as(xq), xk_out.type_as(xk)

    def apply_rotary_emb_real(x: Any, freqs_cis: Any) -> Any:
        xshaped = x.float().reshape(*x.shape[:-1], -1, 2)
        freqs_cis = freqs_cis.view(1, xshaped.size(1), 1, xshaped.size(3), 2)
        x_out2 = torch.stack(
            [
                xshaped[..., 0] * freqs_cis[..., 0] - xshaped[..., 1] * freqs_cis[..., 1],
                xshaped[..., 1] * freqs_cis[..., 0] + xshaped[..., 0] * freqs_cis[..., 1],
            ],
            -1,
        )
        x_out2 = x_out2.flatten(3)
        return x_out2.type_as(x)

    def repeat_kv(x: Any, n_rep: int) -> Any:
        """torch.repeat_interleave(x, dim=2, repeats=n_rep)"""
        bs, slen, n_kv_heads, head_dim = x.shape
        if n_rep == 1:
            return x
        return (
            x[:, :, :, None, :]
            .expand(bs, slen, n_kv_heads, n_rep, head_dim)
            .reshape(bs, slen, n_kv_heads * n_rep, head_dim)
        )

    class SwiGLUFunction(torch.autograd.Function):
        """silu(a) * b with a hand-written backward, kept in float32 under autocast."""

        @staticmethod
        @torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)
        def forward(ctx: Any, a: Any, b: Any) -> Any:
            ctx.save_for_backward(a, b)
            return F.silu(a) * b

        @staticmethod
        @torch.amp.custom_bwd(device_type="cpu")
        def backward(ctx: Any, grad_out: Any) -> tuple[Any, Any]:
            a, b = ctx.saved_tensors
            sig = torch.sigmoid(a)
            silu = a * sig
            grad_a = grad_out * b * sig * (1 + a * (1 - sig))
            return grad_a, grad_out * silu

    class RMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float = 1e-5) -> None:
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def _norm(self, x: Any) -> Any:
            return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + self.eps)

        def forward(self, x: Any) -> Any:
            output = self._norm(x.float()).type_as(x)
            return output * self.weight

    class KVCache(nn.Module):
        def __init__(
            self, max_batch_size: int, max_seq_length: int, n_heads: int, head_dim: int
        ) -> None:
            super().__init__()
            cache_shape = (max_batch_size, n_heads, max_seq_length, head_dim)
            self.register_buffer("k_cache", torch.zeros(cache_shape))
            self.register_buffer("v_cache", torch.zeros(cache_shape))

        def update(self, input_pos: Any, k_val: Any, v_val: Any) -> tuple[Any, Any]:
            # input_pos: [S], k_val: [B, H, S, D]
            assert input_pos.shape[0] == k_val.shape[2]
            k_out = self.k_cache
            v_out = self.v_cache
            k_out[:, :, input_pos] = k_val
            v_out[:, :, input_pos] = v_val
            return k_out, v_out

    class Attention(nn.Module):
        def __init__(self, config: ModelArgs, layer_id: int) -> None:
            super().__init__()
            total_head_dim = (config.n_head + 2 * config.n_local_heads) * config.head_dim
            self.wqkv = nn.Linear(config.dim, total_head_dim, bias=False)
            self.wo = nn.Linear(config.dim, config.dim, bias=False)
            self.n_head = config.n_head
            self.head_dim = config.head_dim
            self.n_local_heads = config.n_local_heads
            self.dim = config.dim
            self.dropout = config.dropout
            self.complex_rope = layer_id % 2 == 0
            self.kv_cache: Any = None

        def forward(
            self, x: Any, freqs_cis: Any, freqs_cache: Any, mask: Any = None, input_pos: Any = None
        ) -> Any:
            bsz, seqlen, _ = x.shape
            kv_size = self.n_local_heads * self.head_dim
            q, k, v = self.wqkv(x).split([self.dim, kv_size, kv_size], dim=-1)
            q = q.view(bsz, seqlen, self.n_head, self.head_dim)
            k = k.view(bsz, seqlen, self.n_local_heads, self.head_dim)
            v = v.view(bsz, seqlen, self.n_local_heads, self.head_dim)
            if self.kv_cache is not None:  # gpt-fast's decoding: cache, bool mask, GQA in SDPA
                q, k = apply_rotary_emb_complex(q, k, freqs_cis)
                q, k, v = (t.transpose(1, 2) for t in (q, k, v))
                k, v = self.kv_cache.update(input_pos, k, v)
                y = F.scaled_dot_product_attention(
                    q, k, v, attn_mask=mask, dropout_p=0.0, enable_gqa=True
                )
                return self.wo(y.transpose(1, 2).contiguous().view(bsz, seqlen, self.dim))
            if self.complex_rope:  # Llama
                q, k = apply_rotary_emb_complex(q, k, freqs_cis)
                k = repeat_kv(k, self.n_head // self.n_local_heads)
                v = repeat_kv(v, self.n_head // self.n_local_heads)
                q, k, v = (t.transpose(1, 2) for t in (q, k, v))
            else:  # gpt-fast
                q = apply_rotary_emb_real(q, freqs_cache)
                k = apply_rotary_emb_real(k, freqs_cache)
                q, k, v = (t.transpose(1, 2) for t in (q, k, v))
                k = k.repeat_interleave(self.n_head // self.n_local_heads, dim=1)
                v = v.repeat_interleave(self.n_head // self.n_local_heads, dim=1)
            with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
                y = F.scaled_dot_product_attention(
                    q,
                    k,
                    v,
                    attn_mask=None,
                    dropout_p=self.dropout if self.training else 0,
                    is_causal=True,
                )
            y = y.transpose(1, 2).contiguous().view(bsz, seqlen, self.dim)
            return self.wo(y)

    class FeedForward(nn.Module):
        def __init__(self, config: ModelArgs, fused: bool) -> None:
            super().__init__()
            self.w1 = nn.Linear(config.dim, config.intermediate_size, bias=False)
            self.w3 = nn.Linear(config.dim, config.intermediate_size, bias=False)
            self.w2 = nn.Linear(config.intermediate_size, config.dim, bias=False)
            self.fused = fused

        def forward(self, x: Any) -> Any:
            if self.fused:
                return self.w2(SwiGLUFunction.apply(self.w1(x), self.w3(x)))
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class TransformerBlock(nn.Module):
        def __init__(self, config: ModelArgs, layer_id: int) -> None:
            super().__init__()
            self.attention = Attention(config, layer_id)
            self.feed_forward = FeedForward(config, fused=layer_id == 1)
            self.ffn_norm = RMSNorm(config.dim, config.norm_eps)
            self.attention_norm = RMSNorm(config.dim, config.norm_eps)

        def forward(
            self, x: Any, freqs_cis: Any, freqs_cache: Any, mask: Any = None, input_pos: Any = None
        ) -> Any:
            h = x + self.attention(self.attention_norm(x), freqs_cis, freqs_cache, mask, input_pos)
            return h + self.feed_forward(self.ffn_norm(h))

    class Transformer(nn.Module):
        def __init__(self, config: ModelArgs) -> None:
            super().__init__()
            self.config = config
            self.tok_embeddings = nn.Embedding(config.vocab_size, config.dim)
            self.layers = nn.ModuleList(TransformerBlock(config, i) for i in range(config.n_layer))
            self.norm = nn.RMSNorm(config.dim, eps=config.norm_eps)
            self.output = nn.Linear(config.dim, config.vocab_size, bias=False)
            self.tok_embeddings.weight = self.output.weight  # weight tying
            freqs_cis = precompute_freqs_cis(config.head_dim, config.block_size, config.rope_base)
            cache = torch.stack([freqs_cis.real, freqs_cis.imag], dim=-1)
            self.register_buffer("freqs_cis", freqs_cis, persistent=False)
            self.register_buffer("freqs_cache", cache, persistent=False)
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith("wo.weight") or pn.endswith("w2.weight"):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

        def _init_weights(self, module: Any) -> None:
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def get_num_params(self) -> int:
            return sum(p.numel() for p in self.parameters())

        def setup_caches(self, max_batch_size: int, max_seq_length: int) -> None:
            config = self.config
            for b in self.layers:
                b.attention.kv_cache = KVCache(
                    max_batch_size, max_seq_length, config.n_local_heads, config.head_dim
                )
            self.causal_mask = torch.tril(
                torch.ones(max_seq_length, max_seq_length, dtype=torch.bool)
            )

        def forward(self, idx: Any, targets: Any = None, input_pos: Any = None) -> tuple[Any, Any]:
            _, seqlen = idx.shape
            h = self.tok_embeddings(idx)
            mask = None
            if input_pos is not None:
                mask = self.causal_mask[None, None, input_pos]
                freqs_cis = self.freqs_cis[input_pos]
                freqs_cache = self.freqs_cache[input_pos]
            else:
                freqs_cis = self.freqs_cis[:seqlen]
                freqs_cache = self.freqs_cache[:seqlen]
            for layer in self.layers:
                h = layer(h, freqs_cis, freqs_cache, mask, input_pos)
            logits = self.output(self.norm(h))
            if targets is None:
                return logits, None
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
            return logits, loss

        def configure_optimizers(
            self, weight_decay: float, learning_rate: float, betas: tuple, device_type: str
        ) -> Any:
            param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
            decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
            nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
            optim_groups = [
                {"params": decay_params, "weight_decay": weight_decay},
                {"params": nodecay_params, "weight_decay": 0.0},
            ]
            fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
            use_fused = fused_available and device_type in ("cuda", "cpu")
            extra_args = dict(fused=True) if use_fused else dict()
            return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)

        @torch.inference_mode()
        def generate(self, idx: Any, max_new_tokens: int) -> Any:
            for _ in range(max_new_tokens):
                idx_cond = idx[:, -self.config.block_size :]
                logits, _ = self(idx_cond)
                next_token = torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)
                idx = torch.cat((idx, next_token), dim=1)
            return idx

    @torch.no_grad()
    def generate_cached(model: Any, prompt: Any, max_new_tokens: int) -> tuple[Any, Any]:
        """gpt-fast's ``generate``: prefill the caches with the prompt, then decode one
        token at a time at ``input_pos = [T + i]`` (greedy)."""
        t = prompt.size(0)
        model.setup_caches(max_batch_size=1, max_seq_length=t + max_new_tokens)
        input_pos = torch.arange(0, t)
        logits, _ = model(prompt.view(1, -1), input_pos=input_pos)
        next_token = torch.argmax(logits[:, -1], dim=-1, keepdim=True)
        new_tokens = [next_token]
        for i in range(max_new_tokens - 1):
            input_pos = torch.tensor([t + i])
            logits, _ = model(next_token.view(1, -1), input_pos=input_pos)
            next_token = torch.argmax(logits[:, -1], dim=-1, keepdim=True)
            new_tokens.append(next_token.clone())
        for b in model.layers:
            b.attention.kv_cache = None
        return torch.cat(new_tokens, dim=-1), logits

    return {"Transformer": Transformer, "generate_cached": generate_cached}


def make_model(torch_like: Any) -> Any:
    return _build(torch_like)["Transformer"](ModelArgs())


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    config = ModelArgs()
    rng = np.random.default_rng(2024)
    data = rng.integers(0, config.vocab_size, 200)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    assert model.tok_embeddings.weight is model.output.weight
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    optimizer = model.configure_optimizers(0.1, 6e-3, (0.9, 0.95), "cpu")
    warmup_iters, lr_decay_iters, learning_rate, min_lr = 2, 6, 6e-3, 6e-4
    gradient_accumulation_steps, grad_clip, batch_size = 2, 1.0, 3

    def get_lr(it: int) -> float:
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (learning_rate - min_lr)

    def get_batch() -> tuple[Any, Any]:
        ix = rng.integers(0, len(data) - config.block_size, batch_size)
        x = torch.stack([as_tensor(torch, data[i : i + config.block_size]) for i in ix])
        y = torch.stack([as_tensor(torch, data[i + 1 : i + 1 + config.block_size]) for i in ix])
        return x, y

    values: list[float] = [float(model.get_num_params())]
    model.train()
    X, Y = get_batch()
    for iter_num in range(5):
        lr = get_lr(iter_num)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        for _micro_step in range(gradient_accumulation_steps):
            _, loss = model(X, Y)
            loss = loss / gradient_accumulation_steps
            X, Y = get_batch()
            loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        values += [loss.item() * gradient_accumulation_steps, norm.item()]
    model.eval()
    out = model.generate(as_tensor(torch, data[None, :4]), max_new_tokens=4)
    values += out[0, 4:].tolist()
    generate_cached = _build(torch)["generate_cached"]
    cached, last_logits = generate_cached(model, as_tensor(torch, data[:4]), max_new_tokens=4)
    with torch.no_grad():  # out is an inference tensor: no graph may save it
        full_logits, _ = model(out[:, :7])
    values += cached[0].tolist()
    values += [
        last_logits.sum().item(),
        (last_logits[0, -1] - full_logits[0, -1]).abs().max().item(),
    ]
    return values


def check(values: list[float]) -> None:
    """Decoding with the KV cache gives the tokens and logits of the full forward."""
    assert values[11:15] == values[15:19], values[11:19]
    assert values[20] < 1e-5, values[20]
