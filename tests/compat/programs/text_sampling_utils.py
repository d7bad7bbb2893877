"""Decoding utilities as people copy them out of Hugging Face transformers (the old
``modeling_utils.top_k_top_p_filtering`` and ``_generate_beam_search`` with
``BeamHypotheses``, and today's ``generation/logits_process.py`` warpers), over a tiny GRU
language model, size-reduced.

The idioms: ``top_k_top_p_filtering`` (``logits < torch.topk(logits, top_k)[0][..., -1,
None]`` set to ``-float("Inf")`` by boolean-mask assignment, ``sorted_logits, sorted_indices =
torch.sort(logits, descending=True)``, ``cumulative_probs = torch.cumsum(F.softmax(
sorted_logits, dim=-1), dim=-1)``, ``sorted_indices_to_remove[..., 1:] =
sorted_indices_to_remove[..., :-1].clone()``, ``sorted_indices_to_remove[..., 0] = 0``,
``sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)``); the
warpers' ``scores.masked_fill(indices_to_remove, self.filter_value)``, ``TopPLogitsWarper``'s
ascending sort and ``cumulative_probs <= (1 - self.top_p)``, ``TypicalLogitsWarper``
(``log_softmax``, ``-(normalized * p).nansum(-1, keepdim=True)``, ``last_ind.clamp_(max=...)``,
``sorted_scores.gather(1, last_ind.view(-1, 1))``), ``MinPLogitsWarper`` (``probs.max(dim=-1,
keepdim=True)``, ``torch.argsort(scores, descending=True, dim=-1)``, ``torch.gather`` of a bool
mask), ``RepetitionPenaltyLogitsProcessor`` (``torch.gather(scores, 1, input_ids)``,
``torch.where(score < 0, score * self.penalty, score / self.penalty)``, ``scores.scatter(1,
input_ids, score)`` and the older in-place ``scatter_``); greedy decoding with ``torch.argmax``
and ``unfinished_sequences`` (``input_ids.new(input_ids.shape[0]).fill_(1)``, ``next_tokens *
unfinished_sequences + pad_token_id * (1 - unfinished_sequences)``, ``.mul((next_tokens !=
eos_token_id).long())``); sampling with ``torch.multinomial(probs, num_samples=1,
generator=g)`` over a seeded ``torch.Generator().manual_seed(...)`` and gpt-fast's
``torch.argmax(probs / q, dim=-1, keepdim=True)`` with exponential ``q``; beam search with
``beam_scores.new_zeros``, ``beam_scores[:, 1:] = -1e9``, ``next_scores.view(batch_size,
num_beams * vocab_size)``, ``torch.topk(next_scores, 2 * num_beams, dim=1, largest=True,
sorted=True)``, ``torch.div(next_tokens, vocab_size, rounding_mode="floor")``, ``next_tokens %
vocab_size``, ``beam_scores.new([...])`` / ``input_ids.new([...])`` from lists of 0-d tensors,
``torch.cat([input_ids[beam_idx, :], beam_tokens.unsqueeze(1)], dim=-1)``, ``BeamHypotheses``'
length penalty ``sum_logprobs / len(hyp) ** self.length_penalty`` and the padded output
``input_ids.new_full((batch, max_len), pad_token_id)``.

The GRU LM, trained a few Adam steps on a noisy cyclic corpus so that it has preferences,
keeps its hidden state between steps (``output, hidden = self.rnn(emb, hidden)``).
The two libraries' generators differ, so the multinomial draws are compared by what holds for
every draw (a kept token, the same draws from the same seed); the sampled loop uses exponential
noise drawn by NumPy in the gpt-fast form, so its token ids are compared exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, EMBED, HIDDEN, BATCH, PROMPT, NEW_TOKENS, NUM_BEAMS = 11, 8, 12, 2, 3, 5, 3
EOS, PAD, TRAIN_STEPS = 8, 0, 12


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class GRULM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.rnn = nn.GRU(EMBED, HIDDEN, batch_first=True)
            self.lm_head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, input_ids: Any, hidden: Any = None) -> tuple[Any, Any]:
            emb = self.embed(input_ids)
            output, hidden = self.rnn(emb, hidden)
            return self.lm_head(output), hidden

    return GRULM()


def top_k_top_p_filtering(
    torch_like: Any,
    logits: Any,
    top_k: int = 0,
    top_p: float = 1.0,
    filter_value: float = -float("Inf"),
    min_tokens_to_keep: int = 1,
) -> Any:
    """Filter a distribution of logits using top-k and/or nucleus (top-p) filtering"""
    torch = torch_like
    F = torch_like.nn.functional
    if top_k > 0:
        top_k = min(max(top_k, min_tokens_to_keep), logits.size(-1))  # Safety check
        # Remove all tokens with a probability less than the last token of the top-k
        indices_to_remove = logits < torch.topk(logits, top_k)[0][..., -1, None]
        logits[indices_to_remove] = filter_value
    if top_p < 1.0:
        sorted_logits, sorted_indices = torch.sort(logits, descending=True)
        cumulative_probs = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        # Remove tokens with cumulative probability above the threshold (token with 0 are kept)
        sorted_indices_to_remove = cumulative_probs > top_p
        if min_tokens_to_keep > 1:
            # Keep at least min_tokens_to_keep (set to min_tokens_to_keep-1 because we add the
            # first one below)
            sorted_indices_to_remove[..., :min_tokens_to_keep] = 0
        # Shift the indices to the right to keep also the first token above the threshold
        sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
        sorted_indices_to_remove[..., 0] = 0
        # scatter sorted tensors to original indexing
        indices_to_remove = sorted_indices_to_remove.scatter(
            1, sorted_indices, sorted_indices_to_remove
        )
        logits[indices_to_remove] = filter_value
    return logits


def make_warpers(torch_like: Any) -> dict:
    torch = torch_like

    class TopKLogitsWarper:
        def __init__(self, top_k: int, filter_value: float = -float("Inf")) -> None:
            self.top_k = top_k
            self.filter_value = filter_value

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            top_k = min(self.top_k, scores.size(-1))  # Safety check
            indices_to_remove = scores < torch.topk(scores, top_k)[0][..., -1, None]
            return scores.masked_fill(indices_to_remove, self.filter_value)

    class TopPLogitsWarper:
        def __init__(self, top_p: float, min_tokens_to_keep: int = 1) -> None:
            self.top_p = top_p
            self.filter_value = -float("Inf")
            self.min_tokens_to_keep = min_tokens_to_keep

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            sorted_logits, sorted_indices = torch.sort(scores, descending=False)
            cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
            # Remove tokens with cumulative top_p above the threshold (token with 0 are kept)
            sorted_indices_to_remove = cumulative_probs <= (1 - self.top_p)
            # Keep at least min_tokens_to_keep
            sorted_indices_to_remove[..., -self.min_tokens_to_keep :] = 0
            indices_to_remove = sorted_indices_to_remove.scatter(
                1, sorted_indices, sorted_indices_to_remove
            )
            return scores.masked_fill(indices_to_remove, self.filter_value)

    class TypicalLogitsWarper:
        def __init__(self, mass: float = 0.9, min_tokens_to_keep: int = 1) -> None:
            self.filter_value = -float("Inf")
            self.mass = mass
            self.min_tokens_to_keep = min_tokens_to_keep

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            # calculate entropy
            normalized = torch.nn.functional.log_softmax(scores, dim=-1)
            p = torch.exp(normalized)
            ent = -(normalized * p).nansum(-1, keepdim=True)
            # shift and sort
            shifted_scores = torch.abs((-normalized) - ent)
            sorted_scores, sorted_indices = torch.sort(shifted_scores, descending=False)
            sorted_logits = scores.gather(-1, sorted_indices)
            cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
            # Remove tokens with cumulative mass above the threshold
            last_ind = (cumulative_probs < self.mass).sum(dim=1)
            last_ind.clamp_(max=sorted_scores.shape[-1] - 1)
            sorted_indices_to_remove = sorted_scores > sorted_scores.gather(1, last_ind.view(-1, 1))
            sorted_indices_to_remove[..., : self.min_tokens_to_keep] = 0
            indices_to_remove = sorted_indices_to_remove.scatter(
                1, sorted_indices, sorted_indices_to_remove
            )
            return scores.masked_fill(indices_to_remove, self.filter_value)

    class MinPLogitsWarper:
        def __init__(self, min_p: float, min_tokens_to_keep: int = 1) -> None:
            self.min_p = min_p
            self.filter_value = -float("Inf")
            self.min_tokens_to_keep = min_tokens_to_keep

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            # Convert logits to probabilities
            probs = torch.softmax(scores, dim=-1)
            # Get the probability of the top token for each sequence in the batch
            top_probs, _ = probs.max(dim=-1, keepdim=True)
            # Calculate the actual min_p threshold by scaling min_p with the top token's prob
            scaled_min_p = self.min_p * top_probs
            # Create a mask for tokens that have a probability less than the scaled min_p
            tokens_to_remove = probs < scaled_min_p
            sorted_indices = torch.argsort(scores, descending=True, dim=-1)
            sorted_indices_to_remove = torch.gather(tokens_to_remove, dim=-1, index=sorted_indices)
            # Keep at least min_tokens_to_keep
            sorted_indices_to_remove[..., : self.min_tokens_to_keep] = False
            indices_to_remove = sorted_indices_to_remove.scatter(
                1, sorted_indices, sorted_indices_to_remove
            )
            return scores.masked_fill(indices_to_remove, self.filter_value)

    class RepetitionPenaltyLogitsProcessor:
        def __init__(self, penalty: float) -> None:
            self.penalty = penalty

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            score = torch.gather(scores, 1, input_ids)
            # if score < 0 then repetition penalty has to be multiplied to reduce the token
            # probabilities
            score = torch.where(score < 0, score * self.penalty, score / self.penalty)
            return scores.scatter(1, input_ids, score)

    return dict(
        top_k=TopKLogitsWarper,
        top_p=TopPLogitsWarper,
        typical=TypicalLogitsWarper,
        min_p=MinPLogitsWarper,
        repetition=RepetitionPenaltyLogitsProcessor,
    )


def enforce_repetition_penalty_(lprobs: Any, batch_size: int, prev_output_tokens: Any, p: float):
    """repetition penalty (from CTRL paper https://arxiv.org/abs/1909.05858)."""
    for i in range(batch_size):
        for previous_token in set(prev_output_tokens[i].tolist()):
            # if score < 0 then repetition penalty has to multiplied to reduce the token prob
            if lprobs[i, previous_token] < 0:
                lprobs[i, previous_token] *= p
            else:
                lprobs[i, previous_token] /= p


class BeamHypotheses:
    def __init__(self, num_beams: int, max_length: int, length_penalty: float, early_stopping):
        """Initialize n-best list of hypotheses."""
        self.max_length = max_length - 1  # ignoring bos_token
        self.length_penalty = length_penalty
        self.early_stopping = early_stopping
        self.num_beams = num_beams
        self.beams: list = []
        self.worst_score = 1e9

    def __len__(self) -> int:
        return len(self.beams)

    def add(self, hyp: Any, sum_logprobs: float) -> None:
        """Add a new hypothesis to the list."""
        score = sum_logprobs / len(hyp) ** self.length_penalty
        if len(self) < self.num_beams or score > self.worst_score:
            self.beams.append((score, hyp))
            if len(self) > self.num_beams:
                sorted_scores = sorted([(s, idx) for idx, (s, _) in enumerate(self.beams)])
                del self.beams[sorted_scores[0][1]]
                self.worst_score = sorted_scores[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs: float, cur_len: int) -> bool:
        if len(self) < self.num_beams:
            return False
        elif self.early_stopping:
            return True
        else:
            cur_score = best_sum_logprobs / cur_len**self.length_penalty
            return self.worst_score >= cur_score


def greedy(torch_like: Any, model: Any, input_ids: Any, processors: list) -> tuple[Any, list]:
    torch = torch_like
    unfinished_sequences = input_ids.new(input_ids.shape[0]).fill_(1)
    logits, hidden = model(input_ids)
    scores: list[float] = []
    for _ in range(NEW_TOKENS):
        next_token_logits = logits[:, -1, :]
        for processor in processors:
            next_token_logits = processor(input_ids, next_token_logits)
        next_tokens = torch.argmax(next_token_logits, dim=-1)
        scores += next_token_logits.max(dim=-1).values.tolist()
        next_tokens = next_tokens * unfinished_sequences + PAD * (1 - unfinished_sequences)
        input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        unfinished_sequences = unfinished_sequences.mul((next_tokens != EOS).long())
        if unfinished_sequences.max() == 0:
            break
        logits, hidden = model(next_tokens[:, None], hidden)
    return input_ids, scores


def sample(torch_like: Any, model: Any, input_ids: Any, warpers: dict, noise: np.ndarray):
    """Top-k then top-p sampling with NumPy's exponential noise (gpt-fast's sampler)."""
    torch = torch_like
    F = torch_like.nn.functional
    top_k, top_p = warpers["top_k"](6), warpers["top_p"](0.85)
    penalty = warpers["repetition"](1.3)
    logits, hidden = model(input_ids)
    values: list[float] = []
    for step in range(NEW_TOKENS):
        next_token_logits = penalty(input_ids, logits[:, -1, :])
        next_token_logits = top_p(input_ids, top_k(input_ids, next_token_logits / 0.9))
        probs = F.softmax(next_token_logits, dim=-1)
        q = as_tensor(torch_like, noise[step])
        next_tokens = torch.argmax(probs / q, dim=-1, keepdim=True)
        kept = torch.gather(torch.isfinite(next_token_logits), 1, next_tokens)
        values += [float(bool(kept.all())), float(torch.isinf(next_token_logits).sum().item())]
        values += torch.gather(probs, 1, next_tokens).flatten().tolist()
        input_ids = torch.cat([input_ids, next_tokens], dim=-1)
        logits, hidden = model(next_tokens, hidden)
    return input_ids, values


def beam_search(torch_like: Any, model: Any, input_ids: Any, length_penalty: float = 1.2):
    torch = torch_like
    F = torch_like.nn.functional
    batch_size, cur_len = input_ids.shape
    max_length = cur_len + NEW_TOKENS
    num_beams, vocab_size = NUM_BEAMS, VOCAB
    input_ids = input_ids.unsqueeze(1).expand(batch_size, num_beams, cur_len)
    input_ids = input_ids.contiguous().view(batch_size * num_beams, cur_len)
    generated_hyps = [
        BeamHypotheses(num_beams, max_length, length_penalty, early_stopping=False)
        for _ in range(batch_size)
    ]
    beam_scores = torch.zeros((batch_size, num_beams), dtype=torch.float64)
    beam_scores = beam_scores.new_zeros((batch_size, num_beams))
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)  # shape (batch_size * num_beams,)
    done = [False for _ in range(batch_size)]
    while cur_len < max_length:
        outputs, _ = model(input_ids)
        next_token_logits = outputs[:, -1, :]
        scores = F.log_softmax(next_token_logits, dim=-1)  # (batch_size * num_beams, vocab_size)
        next_scores = scores + beam_scores[:, None].expand_as(scores)
        # re-organize to group the beam together (we are keeping top hypothesis across beams)
        next_scores = next_scores.view(batch_size, num_beams * vocab_size)
        next_scores, next_tokens = torch.topk(
            next_scores, 2 * num_beams, dim=1, largest=True, sorted=True
        )
        next_indices = torch.div(next_tokens, vocab_size, rounding_mode="floor")
        next_tokens = next_tokens % vocab_size
        next_batch_beam = []
        for batch_idx in range(batch_size):
            if done[batch_idx]:
                next_batch_beam.extend([(0, PAD, 0)] * num_beams)  # pad the batch
                continue
            next_sent_beam = []
            for beam_token_rank, (beam_id, token_id, beam_token_score) in enumerate(
                zip(next_indices[batch_idx], next_tokens[batch_idx], next_scores[batch_idx])
            ):
                effective_beam_id = batch_idx * num_beams + beam_id
                if token_id.item() == EOS:
                    if beam_token_rank >= num_beams:
                        continue
                    generated_hyps[batch_idx].add(
                        input_ids[effective_beam_id].clone(), beam_token_score.item()
                    )
                else:
                    next_sent_beam.append((beam_token_score, token_id, effective_beam_id))
                if len(next_sent_beam) == num_beams:
                    break
            done[batch_idx] = done[batch_idx] or generated_hyps[batch_idx].is_done(
                next_scores[batch_idx].max().item(), cur_len
            )
            next_batch_beam.extend(next_sent_beam)
        if all(done):
            break
        beam_scores = beam_scores.new([x[0] for x in next_batch_beam])
        beam_tokens = input_ids.new([x[1] for x in next_batch_beam])
        beam_idx = input_ids.new([x[2] for x in next_batch_beam])
        input_ids = torch.cat([input_ids[beam_idx, :], beam_tokens.unsqueeze(1)], dim=-1)
        cur_len = cur_len + 1
    # finalize all open beam hypotheses and add to generated hypotheses
    for batch_idx in range(batch_size):
        if done[batch_idx]:
            continue
        for beam_id in range(num_beams):
            effective_beam_id = batch_idx * num_beams + beam_id
            final_score = beam_scores[effective_beam_id].item()
            generated_hyps[batch_idx].add(input_ids[effective_beam_id], final_score)
    best, best_scores = [], []
    for hypotheses in generated_hyps:
        score, hyp = max(hypotheses.beams, key=lambda x: x[0])
        best.append(hyp)
        best_scores.append(score)
    sent_lengths = input_ids.new([len(h) for h in best])
    decoded = input_ids.new_full((batch_size, int(sent_lengths.max().item())), PAD)
    for i, hypo in enumerate(best):
        decoded[i, : sent_lengths[i]] = hypo
    return decoded, best_scores


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(23)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    # a little training on a noisy cyclic corpus, so that the LM has preferences
    start = rng.integers(2, VOCAB, (16, 1))
    corpus = (start + 3 * np.arange(PROMPT + NEW_TOKENS + 1)) % (VOCAB - 2) + 2
    corpus = np.where(rng.random(corpus.shape) < 0.15, rng.integers(1, VOCAB, corpus.shape), corpus)
    corpus_t = as_tensor(torch_like, corpus)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    values: list[float] = []
    for _ in range(TRAIN_STEPS):
        logits, _ = model(corpus_t[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), corpus_t[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    warpers = make_warpers(torch_like)
    prompt = as_tensor(torch_like, rng.integers(2, VOCAB, (BATCH, PROMPT)))
    with torch.no_grad():
        logits = model(prompt)[0][:, -1, :]
        # the old in-place filter and today's warpers agree
        filtered = top_k_top_p_filtering(torch_like, logits.clone(), top_k=7, top_p=0.8)
        warped = warpers["top_p"](0.8)(prompt, warpers["top_k"](7)(prompt, logits))
        values += [float(torch.equal(torch.isinf(filtered), torch.isinf(warped)))]
        values += filtered.masked_fill(torch.isinf(filtered), 0.0).sum(-1).tolist()
        values += [float(torch.isinf(filtered).sum().item())]
        values += [float(torch.isinf(warpers["typical"](0.7)(prompt, logits)).sum().item())]
        values += [float(torch.isinf(warpers["min_p"](0.2)(prompt, logits)).sum().item())]
        kept = top_k_top_p_filtering(torch_like, logits.clone(), top_p=0.6, min_tokens_to_keep=3)
        values += [float(torch.isinf(kept).sum().item())]
        penalised = warpers["repetition"](1.5)(prompt, logits)
        old = logits.clone()
        enforce_repetition_penalty_(old, BATCH, prompt, 1.5)
        values += penalised.sum(-1).tolist() + [float(torch.equal(penalised, old))]

        ids, scores = greedy(torch_like, model, prompt, [warpers["repetition"](1.2)])
        values += ids.flatten().float().tolist() + scores

        # torch.multinomial with a seeded generator: reproducible, and only kept tokens
        probs = F.softmax(filtered, dim=-1)
        g = torch.Generator().manual_seed(1234)
        first = torch.multinomial(probs, num_samples=1, generator=g)
        g = torch.Generator().manual_seed(1234)
        again = torch.multinomial(probs, num_samples=1, generator=g)
        values += [float(torch.equal(first, again)), float(first.dtype == torch.int64)]
        values += [float(bool(torch.isfinite(filtered.gather(1, first)).all()))]
        values += [float(tuple(first.shape) == (BATCH, 1))]

        noise = rng.exponential(1.0, (NEW_TOKENS, BATCH, VOCAB))
        ids, sampled = sample(torch_like, model, prompt, warpers, noise)
        values += ids.flatten().float().tolist() + sampled

        decoded, best_scores = beam_search(torch_like, model, prompt)
        values += decoded.flatten().float().tolist() + best_scores
    return values
