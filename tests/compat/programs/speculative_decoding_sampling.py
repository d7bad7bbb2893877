"""Speculative sampling (Leviathan et al. 2023, Chen et al. 2023) as feifeibear/
LLMSpeculativeSampling (``sampling/speculative_sampling.py``, ``sampling/utils.py``) and
DeepMind-style re-implementations write it, with a draft and a target tiny causal LM,
size-reduced.

The idioms: ``top_k_top_p_filter`` (``torch.topk(logits, min(top_k, logits.size(-1)))[0]``,
``logits[logits < filter[:, [-1]]] = float("-inf")``, ``torch.sort(logits, descending=True)``,
``torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)``, ``filter[..., 1:] = filter[...,
:-1].clone()``, ``filter[..., 0] = 0``, ``filter.scatter(1, sorted_indices, filter)``);
``norm_logits`` (``logits / temperature`` then ``F.softmax(logits, dim=1)``); ``max_fn``
(``torch.where(x > 0, x, torch.zeros_like(x))``, normalised by ``torch.sum(..., dim=1,
keepdim=True)``); the draft loop ``x = torch.cat((x, next_tok), dim=1)``; re-normalising each
position in place (``q[:, i, :] = norm_logits(q[:, i, :], ...)``) under ``torch.no_grad()``;
the acceptance test ``r < torch.min(torch.tensor([1], device=q.device), p[:, prefix_len + i -
1, j] / q[:, prefix_len + i - 1, j])``; the residual ``max_fn(p[:, n, :] - q[:, n, :])``;
``prefix = x[:, :n + 1]`` and the bonus token ``sample(p[:, -1, :])`` when every draft token
is accepted; accepted / rejected / target-call counters; plain autoregressive sampling for
comparison; HF-style model outputs (``model(x).logits``) of a causal LM without KV cache
(``torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)``, ``masked_fill(mask,
float("-inf"))``, ``torch.arange(T)`` positions).

Changed: ``torch.multinomial`` and ``torch.rand`` draw from their own generators, which differ
between the two libraries; sampling is by the inverse CDF with NumPy uniforms
(``torch.searchsorted(torch.cumsum(probs, dim=-1), u, right=True)``) and the acceptance
uniforms come from NumPy; vocabulary of 12, models of width 8 / 16.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, CTX = 12, 32


class CausalLMOutput(NamedTuple):
    logits: Any


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class TinyLM(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, d)
            self.wpe = nn.Embedding(CTX, d)
            self.ln = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, VOCAB, bias=False)

        def forward(self, idx: Any) -> CausalLMOutput:
            B, T = idx.shape
            pos = torch.arange(0, T, dtype=torch.long, device=idx.device)
            x = self.wte(idx) + self.wpe(pos)
            q, k, v = self.qkv(self.ln(x)).split(x.size(-1), dim=2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / k.size(-1) ** 0.5)
            mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=idx.device), diagonal=1)
            att = att.masked_fill(mask, float("-inf"))
            att = F.softmax(att, dim=-1)
            x = x + self.proj(att @ v)
            x = x + self.mlp(x)
            return CausalLMOutput(logits=self.lm_head(self.ln_f(x)))

    return nn.ModuleDict({"draft": TinyLM(8), "target": TinyLM(16)})


def _sampling(torch_like: Any, rng: np.random.Generator) -> Any:
    torch = torch_like
    F = torch_like.nn.functional

    def top_k_top_p_filter(logits: Any, top_k: int = 0, top_p: float = 0.0) -> Any:
        if top_k > 0:
            filter = torch.topk(logits, min(top_k, logits.size(-1)))[0]
            logits[logits < filter[:, [-1]]] = float("-inf")
        if top_p > 0.0:
            sorted_logits, sorted_indices = torch.sort(logits, descending=True)
            cumulative_probs = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
            filter = cumulative_probs > top_p
            filter[..., 1:] = filter[..., :-1].clone()
            filter[..., 0] = 0
            indices_to_remove = filter.scatter(1, sorted_indices, filter)
            logits[indices_to_remove] = float("-inf")
        return logits

    def norm_logits(logits: Any, temperature: float, top_k: float, top_p: float) -> Any:
        assert logits.dim() == 2
        logits = logits / temperature
        logits = top_k_top_p_filter(logits, top_k=top_k, top_p=top_p)
        probs = F.softmax(logits, dim=1)
        return probs

    def sample(probs: Any, num_samples: int = 1) -> Any:
        # torch.multinomial(probs, num_samples=1) by the inverse CDF, uniforms from NumPy
        cdf = torch.cumsum(probs, dim=-1)
        u = torch.from_numpy(rng.random((probs.shape[0], num_samples))).to(cdf.dtype)
        idx_next = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)
        idx_next = idx_next.clamp(max=probs.shape[-1] - 1)
        return idx_next

    def max_fn(x: Any) -> Any:
        x_max = torch.where(x > 0, x, torch.zeros_like(x))
        x_max_sum = torch.sum(x_max, dim=1, keepdim=True)
        return x_max / x_max_sum

    return top_k_top_p_filter, norm_logits, sample, max_fn


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(29)
    models = make_model(torch)
    load_numpy_state(torch, models, init)
    models.eval()
    approx_model, target_model = models["draft"], models["target"]
    top_k_top_p_filter, norm_logits, sample, max_fn = _sampling(torch, rng)
    values: list[float] = []

    logits = as_tensor(torch, rng.standard_normal((3, VOCAB)))
    values += top_k_top_p_filter(logits.clone(), top_k=4).isinf().sum(1).tolist()
    filtered = top_k_top_p_filter(logits.clone(), top_k=0, top_p=0.7)
    values += filtered.isinf().flatten().tolist()
    probs = norm_logits(logits.clone(), 0.7, 6, 0.9)
    values += probs.flatten().tolist()
    values += max_fn(probs - norm_logits(logits.clone(), 1.3, 0, 0.0)).flatten().tolist()

    @torch.no_grad()
    def autoregressive_sampling(
        x: Any, model: Any, N: int, temperature: float = 1.0, top_k: int = 0, top_p: float = 0
    ) -> Any:
        n = len(x)
        T = len(x) + N
        while n < T:
            outputs = model(x)
            last_p = norm_logits(outputs.logits[::, -1, :], temperature, top_k, top_p)
            idx_next = sample(last_p)
            x = torch.cat((x, idx_next), dim=1)
            n += 1
        return x

    stats = {"accepted": 0, "rejected": 0, "target_calls": 0, "bonus": 0}

    @torch.no_grad()
    def speculative_sampling(
        prefix: Any,
        approx_model: Any,
        target_model: Any,
        max_len: int,
        gamma: int = 4,
        temperature: float = 1,
        top_k: int = 0,
        top_p: float = 0,
    ) -> Any:
        seq_len = prefix.shape[1]
        T = seq_len + max_len
        assert prefix.shape[0] == 1, "input batch size must be 1"
        while prefix.shape[1] < T:
            x = prefix
            prefix_len = prefix.shape[1]
            for _ in range(gamma):
                q = approx_model(x).logits
                next_tok = sample(norm_logits(q[:, -1, :], temperature, top_k, top_p))
                x = torch.cat((x, next_tok), dim=1)
            for i in range(q.shape[1]):
                q[:, i, :] = norm_logits(q[:, i, :], temperature, top_k, top_p)
            p = target_model(x).logits
            stats["target_calls"] += 1
            for i in range(p.shape[1]):
                p[:, i, :] = norm_logits(p[:, i, :], temperature, top_k, top_p)
            is_all_accept = True
            n = prefix_len - 1
            for i in range(gamma):
                r = torch.from_numpy(rng.random(1))
                j = x[:, prefix_len + i]
                if r < torch.min(
                    torch.tensor([1], device=q.device),
                    p[:, prefix_len + i - 1, j] / q[:, prefix_len + i - 1, j],
                ):
                    n += 1
                    stats["accepted"] += 1
                else:
                    t = sample(max_fn(p[:, n, :] - q[:, n, :]))
                    is_all_accept = False
                    stats["rejected"] += 1
                    break
            prefix = x[:, : n + 1]
            if is_all_accept:
                t = sample(p[:, -1, :])
                stats["bonus"] += 1
            prefix = torch.cat((prefix, t), dim=1)
        return prefix

    input_ids = torch.tensor([[3, 7, 1]])
    out = autoregressive_sampling(input_ids, target_model, 6, temperature=0.9, top_k=8)
    values += out[0].tolist()
    out = speculative_sampling(
        input_ids, approx_model, target_model, 10, gamma=3, temperature=0.8, top_k=8, top_p=0.95
    )
    values += out[0].tolist() + [float(out.shape[1])] + list(stats.values())
    values.append(
        float(
            stats["accepted"] + stats["rejected"] + stats["bonus"]
            == out.shape[1] - input_ids.shape[1]
            or out.shape[1] > input_ids.shape[1] + 10
        )
    )
    for key in stats:
        stats[key] = 0
    # the draft is the target: every draft token is accepted
    out = speculative_sampling(input_ids, target_model, target_model, 8, gamma=4)
    values += out[0].tolist() + list(stats.values())
    return values
