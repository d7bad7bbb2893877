"""REINFORCE Leave-One-Out (RLOO, Ahmadian et al. 2024) as Hugging Face TRL's ``RLOOTrainer``
writes it (``trl/trainer/rloo_trainer.py`` of TRL 0.11-0.13 and ``trl/trainer/utils.py``:
``first_true_indices``, ``truncate_response``, ``get_reward``, ``batch_generation``,
``forward``), size-reduced to a GRU policy and a GRU reward model.

The idioms: the queries repeated ``rloo_k`` times (``queries.repeat(args.rloo_k, 1)``);
``first_true_indices`` (``row_len * (~bools).type(dtype) + torch.arange(row_len,
dtype=dtype, device=bools.device)``, ``torch.min(zero_or_index, dim=-1).values``);
``truncate_response`` (``trunc_idxs = first_true_indices(responses == stop_token_id).unsqueeze(
-1)``, ``new_size = [1] * (len(responses.size()) - 1) + [responses.shape[1]]``, ``idxs =
torch.arange(responses.shape[1], device=responses.device).view(*new_size)``,
``torch.masked_fill(responses, idxs > trunc_idxs, pad_token_id)``); ``logprob =
selective_log_softmax``'s ``torch.gather(all_logprob, 2, response.unsqueeze(-1)).squeeze(-1)``
after ``logits /= args.temperature + 1e-7``; ``sequence_lengths = first_true_indices(
postprocessed_response == pad_token_id) - 1``; ``padding_mask = response_idxs >
sequence_lengths.unsqueeze(1)``, ``torch.masked_fill(logprobs, padding_mask, INVALID_LOGPROB)``;
``get_reward``'s last-token gather (``reward_logits[torch.arange(reward_logits.size(0)),
sequence_lengths].squeeze(-1)``); ``contain_eos_token = torch.any(postprocessed_responses ==
eos_token_id, dim=-1)``, ``scores[~contain_eos_token] -= args.missing_eos_penalty``; the KL
``kl = logprobs - ref_logprobs``, ``non_score_reward = (-args.kl_coef * kl).sum(1)``,
``rlhf_reward = scores + non_score_reward``; the leave-one-out baseline (``rlhf_reward =
rlhf_reward.reshape(args.rloo_k, -1)``, ``baseline = (rlhf_reward.sum(0) - rlhf_reward) /
(args.rloo_k - 1)``, ``advantages = rlhf_reward - baseline``, ``advantages.flatten()``) and the
``normalize_advantage`` option; the PPO-style update (``new_ratio = (new_logprobs -
mb_logprobs).exp()``, sequence-level ``new_logprobs.sum(1)``, ``pg_losses2 = -mb_advantage *
torch.clamp(ratio, 1.0 - args.cliprange, 1.0 + args.cliprange)``, ``pg_loss_max =
torch.max(pg_losses, pg_losses2)``, ``pg_clipfrac = (pg_losses2 > pg_losses).float().mean()``,
``approxkl = 0.5 * (logprobs_diff**2).mean()``) with ``np.random.permutation`` mini-batches,
``torch.optim.Adam(eps=1e-5)`` and ``clip_grad_norm_``; ``torch.no_grad()`` generation with
``torch.multinomial(probs, num_samples=1)``.

Changed: the LLM -> a one-layer ``nn.GRU`` language model (vocabulary 9, width 8), 2 prompts
of 3 tokens, ``rloo_k`` 3, responses of 5 tokens, the reward model a GRU with a scalar head;
2 RLOO iterations of 2 epochs over 2 mini-batches.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D, Q_LEN, R_LEN, N_PROMPTS, RLOO_K = 9, 8, 3, 5, 2, 3
PAD, EOS, INVALID_LOGPROB = 0, 1, 1.0


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class GRULM(nn.Module):
        def __init__(self, n_out: int) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, D)
            self.rnn = nn.GRU(D, D, batch_first=True)
            self.head = nn.Linear(D, n_out)

        def forward(self, input_ids: Any) -> Any:
            out, _ = self.rnn(self.embed(input_ids))
            return self.head(out)

    class PolicyAndReward(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.policy = GRULM(VOCAB)
            self.reward_model = GRULM(1)

    return PolicyAndReward()


def _utils(torch_like: Any) -> dict:
    torch = torch_like

    def first_true_indices(bools: Any, dtype: Any = torch.long) -> Any:
        """
        Takes an N-dimensional bool tensor and returns an (N-1)-dimensional tensor of integers
        giving the position of the first True in each "row".

        Returns the length of the rows (bools.size(-1)) if no element is True in a given row.
        """
        row_len = bools.size(-1)
        zero_or_index = row_len * (~bools).type(dtype) + torch.arange(
            row_len, dtype=dtype, device=bools.device
        )
        return torch.min(zero_or_index, dim=-1).values

    def truncate_response(stop_token_id: int, pad_token_id: int, responses: Any) -> Any:
        trunc_idxs = first_true_indices(responses == stop_token_id).unsqueeze(-1)
        new_size = [1] * (len(responses.size()) - 1) + [responses.shape[1]]
        idxs = torch.arange(responses.shape[1], device=responses.device).view(*new_size)
        postprocessed_responses = torch.masked_fill(responses, idxs > trunc_idxs, pad_token_id)
        return postprocessed_responses

    def get_reward(model: Any, query_responses: Any, pad_token_id: int,
                   context_length: int) -> tuple[Any, Any, Any]:  # fmt: skip
        reward_logits = model(query_responses)
        sequence_lengths = (
            first_true_indices(query_responses[:, context_length:] == pad_token_id)
            - 1
            + context_length
        )
        # https://github.com/huggingface/transformers/blob/dc68a39c8111217683bf49a4912d0c9018bab33d/src/transformers/models/gpt2/modeling_gpt2.py#L1454
        return (
            reward_logits,
            reward_logits[
                torch.arange(reward_logits.size(0), device=reward_logits.device),
                sequence_lengths,
            ].squeeze(-1),
            sequence_lengths,
        )

    return {"first_true_indices": first_true_indices, "truncate_response": truncate_response,
            "get_reward": get_reward}  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    utils = _utils(torch_like)
    first_true_indices = utils["first_true_indices"]
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    policy, reward_model = model.policy, model.reward_model
    ref_policy = copy.deepcopy(policy)
    for p in (*ref_policy.parameters(), *reward_model.parameters()):
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2, eps=1e-5)
    temperature, kl_coef, cliprange, missing_eos_penalty = 0.7, 0.05, 0.2, 1.0
    rng = np.random.default_rng(12)
    values: list[float] = []

    def forward_logprobs(m: Any, query_responses: Any, responses: Any,
                         context_length: int) -> Any:  # fmt: skip
        logits = m(query_responses)[:, context_length - 1 : -1]
        logits /= temperature + 1e-7
        all_logprob = F.log_softmax(logits, dim=-1)
        return torch.gather(all_logprob, 2, responses.unsqueeze(-1)).squeeze(-1)

    for iteration in range(2):
        queries = as_tensor(torch_like, rng.integers(2, VOCAB, (N_PROMPTS, Q_LEN)))
        queries = queries.repeat(RLOO_K, 1)
        context_length = queries.shape[1]
        with torch.no_grad():
            query_responses = queries
            for _ in range(R_LEN):
                logits = policy(query_responses)[:, -1, :] / (temperature + 1e-7)
                probs = torch.softmax(logits, dim=-1)
                next_token = torch.multinomial(probs, num_samples=1)
                query_responses = torch.cat((query_responses, next_token), dim=1)
            responses = query_responses[:, context_length:]
            logprobs = forward_logprobs(policy, query_responses, responses, context_length)
            ref_logprobs = forward_logprobs(ref_policy, query_responses, responses, context_length)

            # Response Processing 1. truncate response after the first occurrence of `stop_token_id`
            postprocessed_responses = utils["truncate_response"](EOS, PAD, responses)
            # Response Processing 2. run reward model on the truncated responses
            postprocessed_query_responses = torch.cat((queries, postprocessed_responses), 1)
            sequence_lengths = first_true_indices(postprocessed_responses == PAD) - 1
            _, scores, _ = utils["get_reward"](reward_model, postprocessed_query_responses, PAD,
                                               context_length)  # fmt: skip

            # Response Processing 3. filter response. Ensure that the sample contains stop_token_id
            contain_eos_token = torch.any(postprocessed_responses == EOS, dim=-1)
            scores[~contain_eos_token] -= missing_eos_penalty

            # be very careful with `padding_mask_p1`; see https://excalidraw.com/#json=...
            response_idxs = torch.arange(responses.shape[1], device=responses.device).repeat(
                responses.shape[0], 1
            )
            padding_mask = response_idxs > sequence_lengths.unsqueeze(1)
            logprobs = torch.masked_fill(logprobs, padding_mask, INVALID_LOGPROB)
            ref_logprobs = torch.masked_fill(ref_logprobs, padding_mask, INVALID_LOGPROB)

            # 4. compute rewards
            kl = logprobs - ref_logprobs
            non_score_reward = (-kl_coef * kl).sum(1)
            rlhf_reward = scores + non_score_reward

            # vectorized RLOO advantages implementation
            rlhf_reward = rlhf_reward.reshape(RLOO_K, -1)
            baseline = (rlhf_reward.sum(0) - rlhf_reward) / (RLOO_K - 1)
            advantages = rlhf_reward - baseline
            advantages = advantages.flatten()

            # Normalize advantages
            if iteration == 1:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        values += postprocessed_responses.flatten().tolist()
        values += [scores.sum().item(), rlhf_reward.sum().item(), advantages.abs().sum().item()]

        batch_size = queries.shape[0]
        for _ppo_epoch_idx in range(2):
            b_inds = rng.permutation(batch_size)
            for mini_batch_start in range(0, batch_size, 3):
                mini_batch_inds = b_inds[mini_batch_start : mini_batch_start + 3]
                mb_advantage = advantages[mini_batch_inds]
                mb_responses = responses[mini_batch_inds]
                mb_query_responses = query_responses[mini_batch_inds]
                mb_logprobs = logprobs[mini_batch_inds]

                new_logprobs = forward_logprobs(policy, mb_query_responses, mb_responses,
                                                context_length)  # fmt: skip
                new_logprobs = torch.masked_fill(new_logprobs, padding_mask[mini_batch_inds],
                                                 INVALID_LOGPROB)  # fmt: skip

                # Compute probability ratios
                new_ratio = (new_logprobs - mb_logprobs).exp()
                new_logprobs = new_logprobs.sum(1)
                mb_logprobs = mb_logprobs.sum(1)
                logprobs_diff = new_logprobs - mb_logprobs
                ratio = torch.exp(logprobs_diff)

                # PPO clipped loss
                pg_losses = -mb_advantage * ratio
                pg_losses2 = -mb_advantage * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
                pg_loss_max = torch.max(pg_losses, pg_losses2)
                pg_loss = pg_loss_max.mean()

                # Final loss
                loss = pg_loss

                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
                optimizer.step()

                with torch.no_grad():
                    pg_clipfrac = (pg_losses2 > pg_losses).float().mean()
                    approxkl = 0.5 * (logprobs_diff**2).mean()
                values += [loss.item(), pg_clipfrac.item(), approxkl.item(),
                           new_ratio.mean().item()]  # fmt: skip
    return values
