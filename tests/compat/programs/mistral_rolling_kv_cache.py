"""Mistral 7B's sliding-window attention with a rolling (rotating) KV cache, as
mistralai/mistral-src's ``one_file_ref.py`` writes it (``ModelArgs``, ``repeat_kv``,
``Attention`` with ``cache_k``/``cache_v`` buffers, ``FeedForward``, ``RMSNorm``,
``TransformerBlock``, ``precompute_freqs_cis``, ``apply_rotary_emb``, ``Transformer.forward``,
``generate``), size-reduced.

The idioms: ``@dataclass class ModelArgs``; ``repeat_kv`` (``torch.repeat_interleave(keys,
repeats=repeats, dim=2)``); the cache as plain tensors filled with ``scatter_``:
``scatter_pos = (positions[-self.sliding_window:] % self.sliding_window)[None, :, None, None]``,
``scatter_pos.repeat(bsz, 1, self.n_kv_heads, self.args.head_dim)``,
``self.cache_k[:bsz].scatter_(dim=1, index=scatter_pos, src=xk[:, -self.sliding_window:])``;
the prefill path attending to the fresh keys, the one-token path reading ``self.cache_k[:bsz,
:cur_pos, ...]`` with ``cur_pos = positions[-1].item() + 1``; ``precompute_freqs_cis``
(``torch.outer``, ``torch.polar(torch.ones_like(freqs), freqs)``) and ``apply_rotary_emb``
(``torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))``,
``freqs_cis[:, None, :]``, ``torch.view_as_real(xq_ * freqs_cis).flatten(2)``,
``.type_as(xq)``); the sliding-window mask ``torch.full((seqlen, seqlen), dtype=h.dtype,
fill_value=1)``, ``torch.tril(tensor, diagonal=0)``, ``torch.triu(mask, diagonal=-
self.args.sliding_window)``, ``torch.log(mask)`` (``-inf`` outside the band);
``RMSNorm._norm`` (``x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)``,
``.float()`` / ``.type_as(x)``); ``FeedForward`` (``self.w2(nn.functional.silu(self.w1(x)) *
self.w3(x))``); ``scores = torch.matmul(query, key.transpose(2, 3)) * self.scale``,
``scores += mask[None, None, ...]``, ``F.softmax(scores.float(), dim=-1).type_as(query)``;
``generate``'s ``logprobs = nn.functional.log_softmax(logits, dim=-1)``, the greedy
``torch.argmax(logprobs[:, -1, :], dim=-1, keepdim=True)``, ``logprobs[:, :-1, :].gather(2,
input_tokens[:, 1:, None]).squeeze(-1)``.

Changed: dim 4096 -> 8, 32 layers -> 2, 32/8 heads -> 4/2, sliding window 4096 -> 3, vocab
32000 -> 11; the prompt is read in one prefill and the rest token by token (``generate``'s
loop), tokens from a seeded NumPy generator instead of a tokenizer; after generation the same
model is trained two steps on a language-modelling loss with the cache-free forward (``positions``
covering the whole sequence), which the reference file does not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # apply_rotary_emb runs in float32 (``xq.float()``) as in the repository


@dataclass
class ModelArgs:
    dim: int
    n_layers: int
    head_dim: int
    hidden_dim: int
    n_heads: int
    n_kv_heads: int
    sliding_window: int
    norm_eps: float
    vocab_size: int

    max_batch_size: int = 0


ARGS = ModelArgs(dim=8, n_layers=2, head_dim=2, hidden_dim=12, n_heads=4, n_kv_heads=2,
                 sliding_window=3, norm_eps=1e-5, vocab_size=11, max_batch_size=2)  # fmt: skip


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def repeat_kv(keys: Any, values: Any, repeats: int) -> tuple[Any, Any]:
        keys = torch.repeat_interleave(keys, repeats=repeats, dim=2)
        values = torch.repeat_interleave(values, repeats=repeats, dim=2)
        return keys, values

    def _reshape_for_broadcast(freqs_cis: Any, x: Any) -> Any:
        """
        freqs_cis: complex - (seq_len, head_dim / 2)
        x: complex - (bsz, seq_len, head_dim / 2)
        """
        ndim = x.ndim
        assert 1 < ndim
        assert freqs_cis.shape == (x.shape[1], x.shape[-1]), (
            freqs_cis.shape,
            (x.shape[1], x.shape[-1]),
        )
        shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
        return freqs_cis.view(*shape)

    def apply_rotary_emb(xq: Any, xk: Any, freqs_cis: Any) -> tuple[Any, Any]:
        xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
        xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
        freqs_cis = _reshape_for_broadcast(freqs_cis, xq_)
        xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
        xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
        return xq_out.type_as(xq), xk_out.type_as(xk)

    class Attention(nn.Module):
        def __init__(self, args: ModelArgs) -> None:
            super().__init__()
            self.args = args

            self.n_heads: int = args.n_heads
            self.n_kv_heads: int = args.n_kv_heads

            self.repeats = self.n_heads // self.n_kv_heads
            self.sliding_window = self.args.sliding_window

            self.scale = self.args.head_dim**-0.5

            self.wq = nn.Linear(args.dim, args.n_heads * args.head_dim, bias=False)
            self.wk = nn.Linear(args.dim, args.n_kv_heads * args.head_dim, bias=False)
            self.wv = nn.Linear(args.dim, args.n_kv_heads * args.head_dim, bias=False)
            self.wo = nn.Linear(args.n_heads * args.head_dim, args.dim, bias=False)
            self.cache_k = torch.empty(
                (args.max_batch_size, args.sliding_window, self.n_kv_heads, self.args.head_dim),
                dtype=torch.get_default_dtype(),
            )
            self.cache_v = torch.empty(
                (args.max_batch_size, args.sliding_window, self.n_kv_heads, self.args.head_dim),
                dtype=torch.get_default_dtype(),
            )

        def forward(self, x: Any, freqs_cis: Any, positions: Any, mask: Any | None,
                    use_cache: bool = True) -> Any:  # fmt: skip
            bsz, seqlen, _ = x.shape

            xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
            xq = xq.view(bsz, seqlen, self.n_heads, self.args.head_dim)
            xk = xk.view(bsz, seqlen, self.n_kv_heads, self.args.head_dim)
            xv = xv.view(bsz, seqlen, self.n_kv_heads, self.args.head_dim)
            xq, xk = apply_rotary_emb(xq, xk, freqs_cis=freqs_cis)

            if use_cache:
                # The cache is a rotating buffer
                scatter_pos = (positions[-self.sliding_window :] % self.sliding_window)[
                    None, :, None, None
                ]
                scatter_pos = scatter_pos.repeat(bsz, 1, self.n_kv_heads, self.args.head_dim)
                self.cache_k[:bsz].scatter_(
                    dim=1, index=scatter_pos, src=xk[:, -self.sliding_window :].detach()
                )
                self.cache_v[:bsz].scatter_(
                    dim=1, index=scatter_pos, src=xv[:, -self.sliding_window :].detach()
                )

            if positions.shape[0] > 1 or not use_cache:
                # prefill
                key, value = repeat_kv(xk, xv, self.repeats)
            else:
                cur_pos = positions[-1].item() + 1
                key, value = repeat_kv(
                    self.cache_k[:bsz, :cur_pos, ...], self.cache_v[:bsz, :cur_pos, ...],
                    self.repeats,
                )  # fmt: skip

            query = xq.transpose(1, 2)
            key = key.transpose(1, 2)
            value = value.transpose(1, 2)
            # scores : [bsz, n_heads, seqlen | 1, seqlen]
            scores = torch.matmul(query, key.transpose(2, 3)) * self.scale

            if mask is not None:
                scores += mask[None, None, ...]

            scores = scores.float()
            scores = nn.functional.softmax(scores, dim=-1).type_as(query)
            output = torch.matmul(scores, value)  # (bs, n_local_heads, slen, head_dim)
            output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1)
            return self.wo(output)

    class FeedForward(nn.Module):
        def __init__(self, args: ModelArgs) -> None:
            super().__init__()

            self.w1 = nn.Linear(args.dim, args.hidden_dim, bias=False)
            self.w2 = nn.Linear(args.hidden_dim, args.dim, bias=False)
            self.w3 = nn.Linear(args.dim, args.hidden_dim, bias=False)

        def forward(self, x: Any) -> Any:
            return self.w2(nn.functional.silu(self.w1(x)) * self.w3(x))

    class RMSNorm(torch.nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def _norm(self, x: Any) -> Any:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x: Any) -> Any:
            output = self._norm(x.float()).type_as(x)
            return output * self.weight

    class TransformerBlock(nn.Module):
        def __init__(self, args: ModelArgs) -> None:
            super().__init__()
            self.n_heads = args.n_heads
            self.dim = args.dim
            self.attention = Attention(args)
            self.feed_forward = FeedForward(args=args)
            self.attention_norm = RMSNorm(args.dim, eps=args.norm_eps)
            self.ffn_norm = RMSNorm(args.dim, eps=args.norm_eps)
            self.args = args

        def forward(self, x: Any, freqs_cis: Any, positions: Any, mask: Any | None,
                    use_cache: bool) -> Any:  # fmt: skip
            r = self.attention.forward(self.attention_norm(x), freqs_cis, positions, mask,
                                       use_cache)  # fmt: skip
            h = x + r
            r = self.feed_forward.forward(self.ffn_norm(h))
            out = h + r
            return out

    def precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0) -> Any:
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
        t = torch.arange(end, device=freqs.device)  # type: ignore
        freqs = torch.outer(t, freqs).float()  # type: ignore
        return torch.polar(torch.ones_like(freqs), freqs)  # complex64

    class Transformer(nn.Module):
        def __init__(self, args: ModelArgs) -> None:
            super().__init__()
            self.args = args
            self.vocab_size = args.vocab_size
            self.n_layers = args.n_layers
            assert self.vocab_size > 0

            self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)

            self.layers = torch.nn.ModuleList(
                [TransformerBlock(args=args) for _ in range(args.n_layers)]
            )

            self.norm = RMSNorm(args.dim, eps=args.norm_eps)

            self.output = nn.Linear(args.dim, args.vocab_size, bias=False)

            self.freqs_cis = precompute_freqs_cis(self.args.head_dim, 128_000)

        def forward(self, input_ids: Any, positions: Any, use_cache: bool = True) -> Any:
            h = self.tok_embeddings(input_ids)
            freqs_cis = self.freqs_cis[positions]

            mask: Any | None = None
            if input_ids.shape[1] > 1:
                seqlen = input_ids.shape[1]
                tensor = torch.full((seqlen, seqlen), dtype=h.dtype, fill_value=1)
                mask = torch.tril(tensor, diagonal=0).to(h.dtype)
                # make the mask banded to account for sliding window
                mask = torch.triu(mask, diagonal=-self.args.sliding_window)
                mask = torch.log(mask)

            for layer in self.layers:
                h = layer(h, freqs_cis, positions, mask, use_cache)

            return self.output(self.norm(h)).float()

    return Transformer


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)(ARGS)


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(7)
    prompts = rng.integers(0, ARGS.vocab_size, (2, 3))
    max_tokens = 5
    values: list[float] = []

    # generate (greedy), a one-shot prefill then token by token through the rotating cache
    with torch.no_grad():
        input_tokens = as_tensor(torch_like, prompts)
        seqlen = input_tokens.shape[1]
        positions = torch.arange(0, seqlen)
        logits = model.forward(input_tokens, positions)
        logprobs = nn.functional.log_softmax(logits, dim=-1)
        generated = []
        cur = seqlen
        for _ in range(max_tokens):
            next_token = torch.argmax(logprobs[:, -1, :], dim=-1, keepdim=True)
            generated.append(next_token)
            logits = model.forward(next_token, torch.LongTensor([cur]))
            logprobs = torch.cat([logprobs, nn.functional.log_softmax(logits, dim=-1)], dim=1)
            cur += 1
        all_tokens = torch.cat([input_tokens, *generated], dim=1)
        token_logprobs = logprobs[:, :-1, :].gather(2, all_tokens[:, 1:, None]).squeeze(-1)
    values += all_tokens.flatten().tolist() + token_logprobs.flatten().tolist()

    # the cache-free forward over the whole sequence sees the same window
    with torch.no_grad():
        full = model.forward(all_tokens, torch.arange(all_tokens.shape[1]), use_cache=False)
        full_logprobs = nn.functional.log_softmax(full, dim=-1)
    values.append((full_logprobs[:, -1] - logprobs[:, -1]).abs().max().item())

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(2):
        tokens = as_tensor(torch_like, rng.integers(0, ARGS.vocab_size, (2, 7)))
        logits = model(tokens[:, :-1], torch.arange(6), use_cache=False)
        loss = nn.functional.cross_entropy(logits.reshape(-1, ARGS.vocab_size),
                                           tokens[:, 1:].reshape(-1))  # fmt: skip
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    return values
