"""GRPO (DeepSeekMath's Group Relative Policy Optimization) as Hugging Face TRL's ``GRPOTrainer``
writes it, size-reduced: ``selective_log_softmax`` (row by row ``F.log_softmax(row_logits,
dim=-1)`` then ``row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(-1)``, and the
float32 path ``torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1) - torch.stack(
[torch.logsumexp(lg, dim=-1) for lg in logits])``); ``_get_per_token_logps`` (``logits[:, :-1,
:]``, ``input_ids[:, -logits_to_keep:]``, ``logits[:, -logits_to_keep:]``, ``logits /
temperature``); the completion mask from the first EOS (``is_eos = completion_ids == eos``,
``eos_idx = torch.full((B,), L, dtype=torch.long)``, ``eos_idx[is_eos.any(dim=1)] = is_eos.int()
.argmax(dim=1)[is_eos.any(dim=1)]``, ``(sequence_indices <= eos_idx.unsqueeze(1)).int()``);
group-normalised advantages (``rewards.view(-1, num_generations).mean(dim=1)`` and ``.std(dim=1)``,
``repeat_interleave(num_generations, dim=0)``, ``(rewards - mean) / (std + 1e-4)``); the loss
(``coef_1 = torch.exp(per_token_logps - old_per_token_logps)``, ``coef_2 = torch.clamp(coef_1, 1
- epsilon_low, 1 + epsilon_high)``, ``-torch.min(coef_1 * adv.unsqueeze(1), coef_2 *
adv.unsqueeze(1))``, the k3 KL ``torch.exp(ref - logp) - (ref - logp) - 1`` weighted by ``beta``,
and the "grpo" / "bnpo" / "dr_grpo" normalisations with ``completion_mask.sum(-1).clamp(min=1.0)``);
the logged metrics (masked mean KL, the low/high/region clip ratios from ``(coef_1 < 1 -
epsilon_low) & (advantages.unsqueeze(1) < 0)``); ``ref_model = copy.deepcopy(model)`` in eval
under ``torch.no_grad()``; ``num_iterations = 2`` so the second pass sees ``old_per_token_logps``
from the generation step; AdamW with ``clip_grad_norm_``.

Changed: the policy is a 1-layer causal transformer LM (vocab 8, d_model 16) instead of a
pretrained LLM; ``model.generate`` is a token-by-token loop whose sampling is an inverse-CDF draw
from a seeded NumPy generator (the frameworks' generators differ); prompts are 2 sequences of 3
tokens, 4 generations each, 5 completion tokens; the reward is the count of token 3 plus a bonus
for stopping; 2 generation rounds of 2 iterations. The rewards are float32 (``.float()``, as
TRL's reward functions give) inside a float64 run, and a float32 ``mean`` sums in a different
order in PyTorch's vectorised kernel than in NumPy's pairwise sum (an ulp apart), so the run is
compared at a float32 tolerance.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

RTOL, ATOL = 1e-6, 1e-9
VOCAB, D, HEADS, CTX, EOS, PAD = 8, 16, 2, 16, 7, 0
NUM_GEN, MAX_COMPLETION = 4, 5


def _lm_class(torch_like: Any) -> type:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = nn.Linear(D, 3 * D)
            self.c_proj = nn.Linear(D, D)

        def forward(self, x: Any, attention_mask: Any) -> Any:
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(D, dim=2)
            q = q.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            k = k.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            v = v.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            causal = torch.ones(T, T, dtype=torch.bool).tril()
            mask = causal[None, None] & attention_mask[:, None, None, :].bool()
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D)
            self.wpe = nn.Embedding(CTX, D)
            self.ln_1 = nn.LayerNorm(D)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(D)
            self.mlp = nn.Sequential(nn.Linear(D, 2 * D), nn.GELU(approximate="tanh"))
            self.mlp_out = nn.Linear(2 * D, D)
            self.ln_f = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, VOCAB, bias=False)

        def forward(self, input_ids: Any, attention_mask: Any, logits_to_keep: int = 0) -> Any:
            pos = torch.arange(input_ids.size(1), dtype=torch.long)
            x = self.wte(input_ids) + self.wpe(pos)
            x = x + self.attn(self.ln_1(x), attention_mask)
            x = x + self.mlp_out(self.mlp(self.ln_2(x)))
            h = self.ln_f(x)
            if logits_to_keep:
                h = h[:, -logits_to_keep:, :]
            return self.lm_head(h)

    return TinyLM


def make_model(torch_like: Any) -> Any:
    return _lm_class(torch_like)()


def _selective_log_softmax(torch_like: Any, logits: Any, index: Any) -> Any:
    torch, F = torch_like, torch_like.nn.functional
    if logits.dtype in [torch.float32, torch.float64]:
        selected_logits = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        # loop to reduce peak mem consumption
        logsumexp_values = torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])
        per_token_logps = selected_logits - logsumexp_values  # log_softmax(x_i) = x_i - lse(x)
    else:
        per_token_logps = []
        for row_logits, row_labels in zip(logits, index):  # loop to reduce peak mem consumption
            row_logps = F.log_softmax(row_logits, dim=-1)
            row_per_token_logps = row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(
                -1
            )
            per_token_logps.append(row_per_token_logps)
        per_token_logps = torch.stack(per_token_logps)
    return per_token_logps


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(3)
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    ref_model = copy.deepcopy(model).eval()
    for p in ref_model.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-2, weight_decay=0.0)
    beta, epsilon_low, epsilon_high, temperature, num_iterations = 0.04, 0.2, 0.28, 0.9, 2
    values: list[float] = []

    def get_per_token_logps(net: Any, input_ids: Any, attention_mask: Any, keep: int) -> Any:
        # We add 1 to `logits_to_keep` because the last logits of the sequence is later excluded
        logits = net(input_ids, attention_mask, logits_to_keep=keep + 1)
        logits = logits[
            :, :-1, :
        ]  # (B, L-1, V), exclude the last logit: it corresponds to the next token pred
        input_ids = input_ids[:, -keep:]
        logits = logits[:, -keep:]
        logits = logits / temperature
        return _selective_log_softmax(torch_like, logits, input_ids)

    @torch.no_grad()
    def generate(prompt_ids: Any) -> Any:
        ids = prompt_ids
        for _ in range(MAX_COMPLETION):
            logits = model(ids, torch.ones_like(ids))[:, -1, :] / temperature
            probs = logits.softmax(dim=-1).cpu().numpy()
            u = rng.random(probs.shape[0])
            nxt = [min(int(np.searchsorted(np.cumsum(p), x)), VOCAB - 1) for p, x in zip(probs, u)]
            ids = torch.cat([ids, torch.tensor(nxt, dtype=torch.long).unsqueeze(1)], dim=1)
        return ids

    for _step in range(2):
        prompts = torch.from_numpy(rng.integers(1, EOS, (2, 3)))
        prompt_ids = prompts.repeat_interleave(NUM_GEN, dim=0)
        prompt_mask = torch.ones_like(prompt_ids)
        prompt_completion_ids = generate(prompt_ids)
        prompt_length = prompt_ids.size(1)
        completion_ids = prompt_completion_ids[:, prompt_length:]

        # Mask everything after the first EOS token
        is_eos = completion_ids == EOS
        eos_idx = torch.full((is_eos.size(0),), is_eos.size(1), dtype=torch.long)
        eos_idx[is_eos.any(dim=1)] = is_eos.int().argmax(dim=1)[is_eos.any(dim=1)]
        sequence_indices = torch.arange(is_eos.size(1)).expand(is_eos.size(0), -1)
        completion_mask = (sequence_indices <= eos_idx.unsqueeze(1)).int()
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
        logits_to_keep = completion_ids.size(1)

        with torch.no_grad():
            old_per_token_logps = get_per_token_logps(
                model, prompt_completion_ids, attention_mask, logits_to_keep
            )
            ref_per_token_logps = get_per_token_logps(
                ref_model, prompt_completion_ids, attention_mask, logits_to_keep
            )

        rewards = ((completion_ids == 3) * completion_mask).sum(dim=1).float()
        rewards = rewards + 0.5 * is_eos.any(dim=1).float()
        mean_grouped_rewards = rewards.view(-1, NUM_GEN).mean(dim=1)
        std_grouped_rewards = rewards.view(-1, NUM_GEN).std(dim=1)
        mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(NUM_GEN, dim=0)
        std_grouped_rewards = std_grouped_rewards.repeat_interleave(NUM_GEN, dim=0)
        advantages = rewards - mean_grouped_rewards
        advantages = advantages / (std_grouped_rewards + 1e-4)
        values += [rewards.mean().item(), std_grouped_rewards.mean().item()]
        values += [completion_mask.sum().item(), float(completion_mask.dtype == torch.int32)]

        for _it in range(num_iterations):
            per_token_logps = get_per_token_logps(
                model, prompt_completion_ids, attention_mask, logits_to_keep
            )
            per_token_kl = (
                torch.exp(ref_per_token_logps - per_token_logps)
                - (ref_per_token_logps - per_token_logps)
                - 1
            )
            coef_1 = torch.exp(per_token_logps - old_per_token_logps)
            coef_2 = torch.clamp(coef_1, 1 - epsilon_low, 1 + epsilon_high)
            per_token_loss1 = coef_1 * advantages.unsqueeze(1)
            per_token_loss2 = coef_2 * advantages.unsqueeze(1)
            per_token_loss = -torch.min(per_token_loss1, per_token_loss2)
            per_token_loss = per_token_loss + beta * per_token_kl
            loss = (
                (per_token_loss * completion_mask).sum(-1) / completion_mask.sum(-1).clamp(min=1.0)
            ).mean()
            bnpo = (per_token_loss * completion_mask).sum() / completion_mask.sum().clamp(min=1.0)
            dr_grpo = (per_token_loss * completion_mask).sum() / (
                per_token_loss.size(0) * MAX_COMPLETION
            )

            optimizer.zero_grad()
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

            # metrics
            mean_kl = (per_token_kl * completion_mask).sum() / completion_mask.sum()
            is_low_clipped = (coef_1 < 1 - epsilon_low) & (advantages.unsqueeze(1) < 0)
            is_high_clipped = (coef_1 > 1 + epsilon_high) & (advantages.unsqueeze(1) > 0)
            is_region_clipped = is_low_clipped | is_high_clipped
            low_clip = (is_low_clipped * completion_mask).sum() / completion_mask.sum()
            high_clip = (is_high_clipped * completion_mask).sum() / completion_mask.sum()
            clip_ratio = (is_region_clipped * completion_mask).sum() / completion_mask.sum()
            values += [loss.item(), bnpo.item(), dr_grpo.item(), grad_norm.item()]
            values += [mean_kl.item(), low_clip.item(), high_clip.item(), clip_ratio.item()]
            values.append(per_token_logps[0].sum().item())

    # the two selective_log_softmax paths agree with log_softmax + gather
    logits = model(prompt_completion_ids, attention_mask).detach()
    idx = prompt_completion_ids
    a = _selective_log_softmax(torch_like, logits, idx)
    b = _selective_log_softmax(torch_like, logits.to(torch.bfloat16), idx)
    c = F.log_softmax(logits, dim=-1).gather(-1, idx.unsqueeze(-1)).squeeze(-1)
    values += [(a - c).abs().max().item(), float(b.dtype == torch.bfloat16), a.sum().item()]
    return values
