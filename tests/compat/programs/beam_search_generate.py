"""Hugging Face style ``generate`` over a tiny decoder-only transformer with a key/value cache
(``GenerationMixin``'s greedy search, ``BeamSearchScorer``/``BeamHypotheses`` and the top-p
sampling loop, as people re-implement them for their own models), size-reduced; the model is
first trained a few steps so its next-token distributions are peaked.

The idioms: a causal self-attention layer returning its ``(key, value)`` cache (``torch.cat([
past_key, key], dim=-2)``, ``F.scaled_dot_product_attention(..., is_causal=...)``), tied input
and output embeddings (``self.lm_head.weight = self.wte.weight``);
``SuppressTokensLogitsProcessor``'s ``scores[..., self.suppress_tokens] = -float("inf")``;
greedy decoding with
``unfinished_sequences = torch.ones(batch, dtype=torch.long)``, ``torch.argmax(next_token_logits,
dim=-1)``, ``next_tokens * unfinished_sequences + pad_token_id * (1 - unfinished_sequences)``,
``unfinished_sequences.mul((next_tokens != eos_token_id).long())`` and ``unfinished_sequences
.max() == 0``; beam search with ``input_ids.repeat_interleave(num_beams, dim=0)``,
``beam_scores[:, 1:] = -1e9``, ``F.log_softmax(next_token_logits, dim=-1)``,
``next_token_scores + beam_scores[:, None].expand_as(next_token_scores)``, ``.view(batch_size,
num_beams * vocab_size)``, ``torch.topk(next_token_scores, 2 * num_beams, dim=1, largest=True,
sorted=True)``, ``torch.div(next_tokens, vocab_size, rounding_mode="floor")``, ``next_tokens %
vocab_size``, ``BeamHypotheses``' length penalty ``sum_logprobs / (len(hyp) **
self.length_penalty)`` and its ``early_stopping`` rule, ``_reorder_cache``'s
``past_state.index_select(0, beam_idx)``, the ``torch.cat([input_ids[beam_idx, :],
beam_next_tokens.unsqueeze(-1)], dim=-1)`` update, and the padded output (``input_ids.new(
batch, sent_max_len).fill_(pad_token_id)``, ``decoded[i, sent_lengths[i]] = eos_token_id``);
the same beams' scores re-derived with
``torch.gather(log_probs, 2, tokens.unsqueeze(-1))``; and nucleus sampling (``torch.sort(
logits, descending=True)``, ``torch.cumsum(sorted_logits.softmax(dim=-1), dim=-1)``, the
shifted ``sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()``,
``sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)``,
``masked_fill(indices_to_remove, -float("inf"))``) drawing with ``torch.multinomial(probs, 1,
generator=torch.Generator().manual_seed(...))``. The two libraries' generators differ, so
those draws are compared by what must hold (reproducible under the same seed, inside the
nucleus); the compared trajectory draws by inverse CDF from NumPy's uniforms
(``torch.searchsorted(probs.cumsum(-1), u)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

VOCAB, DIM, HEADS, BLOCK, BATCH, BEAMS, NEW_TOKENS = 12, 16, 2, 16, 2, 3, 6
PAD, BOS, EOS, TRAIN_STEPS, TOP_P, LENGTH_PENALTY = 0, 1, 2, 4, 0.8, 1.2


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = torch.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = nn.Linear(DIM, 3 * DIM)
            self.c_proj = nn.Linear(DIM, DIM)

        def forward(self, x: Any, layer_past: Any = None) -> tuple[Any, Any]:
            b, t, c = x.size()
            q, k, v = self.c_attn(x).split(DIM, dim=2)
            q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
            if layer_past is not None:
                past_key, past_value = layer_past
                k = torch.cat([past_key, k], dim=-2)
                v = torch.cat([past_value, v], dim=-2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=layer_past is None)
            y = y.transpose(1, 2).contiguous().view(b, t, c)
            return self.c_proj(y), (k, v)

    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, DIM)
            self.wpe = nn.Embedding(BLOCK, DIM)
            self.ln_1 = nn.LayerNorm(DIM)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(DIM)
            self.mlp = nn.Sequential(nn.Linear(DIM, 2 * DIM), nn.GELU(), nn.Linear(2 * DIM, DIM))
            self.ln_f = nn.LayerNorm(DIM)
            self.lm_head = nn.Linear(DIM, VOCAB, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, input_ids: Any, past_key_values: Any = None) -> tuple[Any, Any]:
            past_length = 0 if past_key_values is None else past_key_values[0].size(-2)
            pos = torch.arange(past_length, past_length + input_ids.size(1), dtype=torch.long)
            x = self.wte(input_ids) + self.wpe(pos).unsqueeze(0)
            a, present = self.attn(self.ln_1(x), past_key_values)
            x = x + a
            x = x + self.mlp(self.ln_2(x))
            return self.lm_head(self.ln_f(x)), present

    return TinyLM()


class BeamHypotheses:
    def __init__(self, num_beams: int, length_penalty: float, early_stopping: bool) -> None:
        self.length_penalty = length_penalty
        self.early_stopping = early_stopping
        self.num_beams = num_beams
        self.beams: list[tuple[float, Any]] = []
        self.worst_score = 1e9

    def __len__(self) -> int:
        return len(self.beams)

    def add(self, hyp: Any, sum_logprobs: float) -> None:
        score = sum_logprobs / (hyp.shape[-1] ** self.length_penalty)
        if len(self) < self.num_beams or score > self.worst_score:
            self.beams.append((score, hyp))
            if len(self) > self.num_beams:
                sorted_next_scores = sorted([(s, idx) for idx, (s, _) in enumerate(self.beams)])
                del self.beams[sorted_next_scores[0][1]]
                self.worst_score = sorted_next_scores[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs: float, cur_len: int) -> bool:
        if len(self) < self.num_beams:
            return False
        if self.early_stopping:
            return True
        return self.worst_score >= best_sum_logprobs / cur_len**self.length_penalty


def suppress(torch_like: Any, scores: Any) -> Any:
    """``SuppressTokensLogitsProcessor``: PAD and BOS are never generated."""
    scores = scores.clone()
    scores[..., [PAD, BOS]] = -float("inf")
    return scores


def greedy_search(torch_like: Any, model: Any, input_ids: Any) -> Any:
    torch = torch_like
    unfinished_sequences = torch.ones(input_ids.shape[0], dtype=torch.long)
    logits, past = model(input_ids)
    for _ in range(NEW_TOKENS):
        next_tokens = torch.argmax(suppress(torch, logits[:, -1, :]), dim=-1)
        next_tokens = next_tokens * unfinished_sequences + PAD * (1 - unfinished_sequences)
        input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        unfinished_sequences = unfinished_sequences.mul((next_tokens != EOS).long())
        if unfinished_sequences.max() == 0:
            break
        logits, past = model(next_tokens[:, None], past)
    return input_ids


def beam_search(torch_like: Any, model: Any, prompt: Any, early_stopping: bool) -> tuple:
    torch = torch_like
    F = torch.nn.functional
    batch_size, prompt_len = prompt.shape
    input_ids = prompt.repeat_interleave(BEAMS, dim=0)
    hyps = [BeamHypotheses(BEAMS, LENGTH_PENALTY, early_stopping) for _ in range(batch_size)]
    done = [False] * batch_size
    beam_scores = torch.zeros((batch_size, BEAMS), dtype=torch.float64)
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view((batch_size * BEAMS,))
    logits, past = model(input_ids)
    for _step in range(NEW_TOKENS):
        cur_len = input_ids.shape[-1]
        next_token_scores = F.log_softmax(suppress(torch, logits[:, -1, :]), dim=-1)
        next_token_scores = next_token_scores + beam_scores[:, None].expand_as(next_token_scores)
        next_token_scores = next_token_scores.view(batch_size, BEAMS * VOCAB)
        next_token_scores, next_tokens = torch.topk(
            next_token_scores, 2 * BEAMS, dim=1, largest=True, sorted=True
        )
        next_indices = torch.div(next_tokens, VOCAB, rounding_mode="floor")
        next_tokens = next_tokens % VOCAB

        next_beam_scores = torch.zeros((batch_size, BEAMS), dtype=next_token_scores.dtype)
        next_beam_tokens = torch.zeros((batch_size, BEAMS), dtype=next_tokens.dtype)
        next_beam_indices = torch.zeros((batch_size, BEAMS), dtype=next_indices.dtype)
        for batch_idx in range(batch_size):
            if done[batch_idx]:
                next_beam_tokens[batch_idx, :] = PAD
                continue
            beam_idx = 0
            for rank, (token, score, index) in enumerate(
                zip(next_tokens[batch_idx], next_token_scores[batch_idx], next_indices[batch_idx])
            ):
                batch_beam_idx = batch_idx * BEAMS + index
                if token.item() == EOS:
                    if rank >= BEAMS:
                        continue
                    hyps[batch_idx].add(input_ids[batch_beam_idx].clone(), score.item())
                else:
                    next_beam_scores[batch_idx, beam_idx] = score
                    next_beam_tokens[batch_idx, beam_idx] = token
                    next_beam_indices[batch_idx, beam_idx] = batch_beam_idx
                    beam_idx += 1
                if beam_idx == BEAMS:
                    break
            done[batch_idx] = done[batch_idx] or hyps[batch_idx].is_done(
                next_token_scores[batch_idx].max().item(), cur_len
            )
        beam_scores = next_beam_scores.view(-1)
        beam_next_tokens = next_beam_tokens.view(-1)
        beam_idx = next_beam_indices.view(-1)
        input_ids = torch.cat([input_ids[beam_idx, :], beam_next_tokens.unsqueeze(-1)], dim=-1)
        if all(done):
            break
        past = tuple(past_state.index_select(0, beam_idx) for past_state in past)
        logits, past = model(beam_next_tokens[:, None], past)

    for batch_idx in range(batch_size):
        if done[batch_idx]:
            continue
        for beam_id in range(BEAMS):
            batch_beam_idx = batch_idx * BEAMS + beam_id
            hyps[batch_idx].add(input_ids[batch_beam_idx], beam_scores[batch_beam_idx].item())
    best, best_scores = [], []
    for hyp in hyps:
        score, seq = max(hyp.beams, key=lambda x: x[0])
        best.append(seq)
        best_scores.append(score)
    max_length = prompt_len + NEW_TOKENS
    sent_lengths = input_ids.new(batch_size)
    for i, seq in enumerate(best):
        sent_lengths[i] = len(seq)
    sent_max_len = min(sent_lengths.max().item() + 1, max_length)
    decoded = input_ids.new(batch_size, sent_max_len).fill_(PAD)
    for i, seq in enumerate(best):
        decoded[i, : sent_lengths[i]] = seq
        if sent_lengths[i] < max_length:
            decoded[i, sent_lengths[i]] = EOS
    return decoded, torch.tensor(best_scores), prompt_len


def top_p_filter(torch_like: Any, logits: Any, top_p: float) -> Any:
    torch = torch_like
    sorted_logits, sorted_indices = torch.sort(logits, descending=True)
    cumulative_probs = torch.cumsum(sorted_logits.softmax(dim=-1), dim=-1)
    sorted_indices_to_remove = cumulative_probs > top_p
    sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
    sorted_indices_to_remove[..., 0] = False
    indices_to_remove = sorted_indices_to_remove.scatter(
        1, sorted_indices, sorted_indices_to_remove
    )
    return logits.masked_fill(indices_to_remove, -float("inf"))


def sequence_log_prob(torch_like: Any, model: Any, seqs: Any, prompt_len: int) -> Any:
    """Summed log-probability of each sequence's generated tokens, up to and with EOS."""
    torch = torch_like
    log_probs = torch.log_softmax(suppress(torch, model(seqs)[0][:, :-1]), dim=-1)
    targets = seqs[:, 1:]
    token_lp = torch.gather(log_probs, 2, targets.unsqueeze(-1)).squeeze(-1)
    generated = torch.arange(targets.shape[1]) >= prompt_len - 1
    after_eos = (targets == EOS).long().cumsum(-1) - (targets == EOS).long()
    keep = generated & (after_eos == 0) & (targets != PAD)
    return token_lp.masked_fill(~keep, 0.0).sum(-1), keep.sum(-1)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    # a toy corpus: BOS, then counting up by one from a random start, then EOS
    rows = []
    for _ in range(8):
        start = int(rng.integers(3, 8))
        length = int(rng.integers(4, 8))
        rows.append([BOS] + [3 + (start - 3 + j) % (VOCAB - 3) for j in range(length)] + [EOS])
    width = max(len(r) for r in rows)
    data = as_tensor(torch, np.array([r + [PAD] * (width - len(r)) for r in rows]))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    values: list[float] = []
    model.train()
    for _step in range(TRAIN_STEPS):
        logits, _ = model(data[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), data[:, 1:].reshape(-1), ignore_index=PAD)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    model.eval()
    prompt = as_tensor(torch, np.array([[BOS, 4], [BOS, 8]]))
    with torch.no_grad():
        # the cache gives the full forward's logits
        full, _ = model(prompt)
        _, past = model(prompt[:, :-1])
        last, _ = model(prompt[:, -1:], past)
        checks = [(full[:, -1] - last[:, -1]).abs().max().item()]

        greedy = greedy_search(torch, model, prompt)
        values += greedy.flatten().tolist()
        for early in (True, False):
            decoded, scores, prompt_len = beam_search(torch, model, prompt, early)
            values += decoded.flatten().tolist() + scores.tolist() + [float(decoded.shape[1])]
            sum_lp, lengths = sequence_log_prob(torch, model, decoded, prompt_len)
            total_len = lengths + prompt_len
            has_eos = (decoded == EOS).any(-1)
            rescored = sum_lp / (total_len - has_eos.long()).double() ** LENGTH_PENALTY
            checks.append((rescored - scores).abs().max().item())

        # nucleus sampling: seeded draws reproducible and inside the nucleus
        logits = suppress(torch, model(prompt)[0][:, -1, :])
        filtered = top_p_filter(torch, logits, TOP_P)
        probs = F.softmax(filtered, dim=-1)
        g = torch.Generator().manual_seed(1234)
        first = torch.multinomial(probs, num_samples=4, replacement=True, generator=g)
        again = torch.multinomial(
            probs, num_samples=4, replacement=True, generator=torch.Generator().manual_seed(1234)
        )
        kept = torch.isfinite(filtered)
        checks += [float(torch.equal(first, again)), float(kept.gather(1, first).all())]
        values += kept.sum(-1).tolist() + probs.sum(-1).tolist()

        # a sampled trajectory by inverse CDF from NumPy's uniforms
        seqs, past = prompt, None
        logits, past = model(prompt)
        for _ in range(NEW_TOKENS):
            scores = suppress(torch, logits[:, -1, :]) / 0.9
            probs = F.softmax(top_p_filter(torch, scores, TOP_P), dim=-1)
            u = as_tensor(torch, rng.random((BATCH, 1)))
            cdf = probs.cumsum(-1)
            next_tokens = torch.searchsorted(cdf, u * cdf[:, -1:]).clamp(max=VOCAB - 1)
            seqs = torch.cat([seqs, next_tokens], dim=-1)
            logits, past = model(next_tokens, past)
        values += seqs.flatten().tolist()
    return values + checks


def check(values: list[float]) -> None:
    assert values[TRAIN_STEPS - 1] < values[0]
    cache_gap, rescore_early, rescore_late, reproducible, in_nucleus = values[-5:]
    assert cache_gap < 1e-12  # the cache reproduces the full forward
    assert rescore_early < 1e-12 and rescore_late < 1e-12  # beam scores = penalised log-probs
    assert reproducible == 1.0 and in_nucleus == 1.0
