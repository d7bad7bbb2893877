"""Three decoding-time contrasts: contrastive decoding between an expert and an amateur model
(Li et al. 2023, XiangLi1999/ContrastiveDecoding and Hugging Face's reference ``cd`` logits
processor), contrastive search with the degeneration penalty (transformers'
``generation/utils.py``: ``_contrastive_search`` and ``_ranking_fast``) and DoLa's layer
contrast (transformers' ``_dola_select_contrast``), size-reduced to two tiny GPT-style models
trained a few steps first.

The idioms: the expert/amateur contrast with the plausibility cutoff (``cutoff =
torch.log(torch.tensor(alpha)) + expert_logprobs.max(dim=-1, keepdim=True).values``,
``diffs = expert_logprobs - amateur_logprobs``, ``cd_logits = diffs.masked_fill(
expert_logprobs < cutoff, -float("inf"))``) and greedy decoding from it; ``_ranking_fast``
(``norm_context_hidden = context_hidden / context_hidden.norm(dim=2, keepdim=True)``,
``cosine_matrix = torch.matmul(norm_context_hidden, norm_next_hidden.transpose(1,
2)).squeeze(-1)``, ``degeneration_penalty, _ = torch.max(cosine_matrix, dim=-1)``,
``contrastive_score = (1.0 - alpha) * next_top_k_probs - alpha * degeneration_penalty``,
``torch.stack(torch.split(contrastive_score, beam_width))``, ``selected_idx =
contrastive_score.argmax(dim=-1)``); ``_contrastive_search``'s ``top_k_probs, top_k_ids =
torch.topk(next_probs, dim=-1, k=top_k)``, ``last_hidden_states.repeat_interleave(top_k,
dim=0)``, ``top_k_ids.view(-1, 1)``, ``torch.stack(torch.split(next_hidden, top_k))``,
``range(batch_size)`` gathers with ``selected_idx``; DoLa (``F.softmax(final_logits,
dim=-1)``, ``F.log_softmax``, ``avg_dist = 0.5 * (softmax_mature_layer[None, :, :] +
softmax_premature_layers)``, ``F.kl_div(log_softmax_mature_layer[None, :, :], avg_dist,
reduction="none").mean(-1)``, ``js_divs = 0.5 * (kl1 + kl2)``, ``js_divs.mean(-1)``,
``premature_layer = candidate_premature_layers[int(js_divs.argmax().cpu().item())]``,
``_relative_top_filter`` with ``torch.sort(scores_normalized, descending=True)``,
``min_thresh = sorted_logits[..., min_tokens_to_keep - 1]``, ``probs_max +
np.log(relative_top)``, ``torch.min(min_thresh, probs_thresh)``, ``scores_normalized[
scores_normalized < probs_thresh] = filter_value``); the models trained first with ``Adam`` on a
next-token ``cross_entropy``.

Changed: GPT-2 XL / small -> 3-layer / 1-layer GPT-style blocks of width 8 on a vocabulary of
12, trained 3 steps on seeded sequences; 6 new tokens per method, a batch of 2 prompts, top_k
4, penalty_alpha 0.6, DoLa's candidate layers [0, 2] read through a shared ``lm_head``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

VOCAB, D, SEQ, NEW = 12, 8, 4, 6


def _gpt(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn

    class TinyGPT(nn.Module):
        def __init__(self, n_layer: int) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D)
            self.wpe = nn.Embedding(SEQ + NEW, D)
            self.h = nn.ModuleList(
                [nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True,
                                            norm_first=True) for _ in range(n_layer)]
            )  # fmt: skip
            self.ln_f = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, VOCAB, bias=False)

        def forward(self, input_ids: Any, output_hidden_states: bool = False) -> tuple:
            t = input_ids.size(1)
            mask = nn.Transformer.generate_square_subsequent_mask(t)
            x = self.wte(input_ids) + self.wpe(torch.arange(t))
            hidden_states = [x]
            for block in self.h:
                x = block(x, src_mask=mask, is_causal=True)
                hidden_states.append(x)
            x = self.ln_f(x)
            logits = self.lm_head(x)
            return logits, (tuple(hidden_states[:-1]) + (x,)) if output_hidden_states else None

    return TinyGPT


def init_state(tmp_path: Any) -> dict:
    import torch  # in here: the reference weights come from torch, which src never imports

    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        gpt = _gpt(torch)
        expert, amateur = gpt(3), gpt(1)
    finally:
        torch.set_default_dtype(prev)
    return {name: {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
            for name, m in (("expert", expert), ("amateur", amateur))}  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    gpt = _gpt(torch_like)
    expert, amateur = gpt(3), gpt(1)
    for model, name in ((expert, "expert"), (amateur, "amateur")):
        model.load_state_dict({k: torch.tensor(v) for k, v in init[name].items()})
    rng = np.random.default_rng(99)
    values: list[float] = []

    # a few steps of language modelling on a noisy counting sequence
    for model, steps in ((expert, 3), (amateur, 1)):
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
        for _ in range(steps):
            start = rng.integers(0, VOCAB, (4, 1))
            seq = (start + np.arange(SEQ + NEW)) % VOCAB
            seq = as_tensor(torch_like, seq)
            logits, _ = model(seq[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), seq[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
    expert.eval()
    amateur.eval()
    prompt = as_tensor(torch_like, rng.integers(0, VOCAB, (2, SEQ)))

    with torch.no_grad():
        # contrastive decoding (expert - amateur under the plausibility constraint)
        alpha = 0.1
        input_ids = prompt
        for _ in range(NEW):
            expert_logprobs = expert(input_ids)[0][:, -1, :].log_softmax(dim=-1)
            amateur_logprobs = amateur(input_ids)[0][:, -1, :].log_softmax(dim=-1)
            cutoff = (torch.log(torch.tensor(alpha))
                      + expert_logprobs.max(dim=-1, keepdim=True).values)  # fmt: skip
            diffs = expert_logprobs - amateur_logprobs
            cd_logits = diffs.masked_fill(expert_logprobs < cutoff, -float("inf"))
            next_tokens = cd_logits.argmax(dim=-1)
            values.append(cd_logits.max(dim=-1).values.sum().item())
            input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        values += input_ids[:, SEQ:].flatten().tolist()

        # contrastive search
        def _ranking_fast(context_hidden: Any, next_hidden: Any, next_top_k_probs: Any,
                          alpha: float, beam_width: int) -> Any:  # fmt: skip
            norm_context_hidden = context_hidden / context_hidden.norm(dim=2, keepdim=True)
            norm_next_hidden = next_hidden / next_hidden.norm(dim=2, keepdim=True)
            cosine_matrix = torch.matmul(norm_context_hidden,
                                         norm_next_hidden.transpose(1, 2)).squeeze(-1)  # fmt: skip
            degeneration_penalty, _ = torch.max(cosine_matrix, dim=-1)  # [B*K]
            next_top_k_probs = next_top_k_probs.view(-1)  # [B*K]
            contrastive_score = (1.0 - alpha) * next_top_k_probs - alpha * degeneration_penalty
            contrastive_score = torch.stack(torch.split(contrastive_score, beam_width))  # [B, K]
            selected_idx = contrastive_score.argmax(dim=-1)  # [B]
            return selected_idx

        top_k, penalty_alpha = 4, 0.6
        input_ids = prompt
        batch_size = input_ids.shape[0]
        for _ in range(NEW):
            logits, hidden = expert(input_ids, output_hidden_states=True)
            last_hidden_states = hidden[-1]
            next_probs = F.softmax(logits[:, -1, :], dim=-1)
            top_k_probs, top_k_ids = torch.topk(next_probs, dim=-1, k=top_k)
            expanded = input_ids.repeat_interleave(top_k, dim=0)
            candidates = torch.cat([expanded, top_k_ids.view(-1, 1)], dim=-1)
            _, cand_hidden = expert(candidates, output_hidden_states=True)
            next_hidden = cand_hidden[-1][:, -1:, :]
            context_hidden = last_hidden_states.repeat_interleave(top_k, dim=0)
            selected_idx = _ranking_fast(context_hidden, next_hidden, top_k_probs,
                                         penalty_alpha, top_k)  # fmt: skip
            next_tokens = top_k_ids[range(batch_size), selected_idx]
            next_hidden = torch.stack(torch.split(next_hidden.squeeze(dim=1), top_k))
            next_hidden = next_hidden[range(batch_size), selected_idx, :]
            values.append(next_hidden.sum().item())
            input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        values += input_ids[:, SEQ:].flatten().tolist()

        # DoLa: contrast the final layer with the most distant early layer
        def _relative_top_filter(scores: Any, baseline_scores: Any, relative_top: float = 0.1,
                                 filter_value: float = -float("Inf"),
                                 base_filter_value: float = -1e-3,
                                 min_tokens_to_keep: int = 1) -> tuple[Any, Any]:  # fmt: skip
            scores_normalized = scores.log_softmax(dim=-1)
            baseline_scores_normalized = baseline_scores.log_softmax(dim=-1)
            sorted_logits, sorted_indices = torch.sort(scores_normalized, descending=True)
            min_thresh = sorted_logits[..., min_tokens_to_keep - 1]
            probs_max = torch.max(scores_normalized, dim=-1).values
            probs_thresh = probs_max + np.log(relative_top)
            probs_thresh = torch.min(min_thresh, probs_thresh)
            probs_thresh = probs_thresh.unsqueeze(-1)
            baseline_scores_normalized[scores_normalized < probs_thresh] = base_filter_value
            scores_normalized[scores_normalized < probs_thresh] = filter_value
            return scores_normalized, baseline_scores_normalized

        candidate_premature_layers = [0, 2]
        input_ids = prompt
        for _ in range(NEW):
            _, hidden = expert(input_ids, output_hidden_states=True)
            candidate_premature_logits = {
                i: expert.lm_head(expert.ln_f(hidden[i][:, -1, :]))
                for i in candidate_premature_layers
            }
            final_logits = expert.lm_head(hidden[-1][:, -1, :])
            stacked_premature_layers = torch.stack(
                [candidate_premature_logits[i] for i in candidate_premature_layers], dim=0
            )
            softmax_mature_layer = F.softmax(final_logits, dim=-1)
            softmax_premature_layers = F.softmax(stacked_premature_layers, dim=-1)
            avg_dist = 0.5 * (softmax_mature_layer[None, :, :] + softmax_premature_layers)
            log_softmax_mature_layer = F.log_softmax(final_logits, dim=-1)
            log_softmax_premature_layers = F.log_softmax(stacked_premature_layers, dim=-1)
            kl1 = F.kl_div(log_softmax_mature_layer[None, :, :], avg_dist,
                           reduction="none").mean(-1)  # fmt: skip
            kl2 = F.kl_div(log_softmax_premature_layers, avg_dist, reduction="none").mean(-1)
            js_divs = 0.5 * (kl1 + kl2)  # shape: (num_premature_layers, batch_size)
            js_divs = js_divs.mean(-1)
            premature_layer = candidate_premature_layers[int(js_divs.argmax().cpu().item())]
            base_logits = candidate_premature_logits[premature_layer]
            final_logits, base_logits = _relative_top_filter(final_logits, base_logits)
            logits = final_logits - base_logits
            next_tokens = logits.argmax(dim=-1)
            values += [float(premature_layer), js_divs.sum().item()]
            input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        values += input_ids[:, SEQ:].flatten().tolist()
    return values
