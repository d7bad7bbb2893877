"""A preference reward model trained with the Bradley-Terry pairwise loss, as Hugging Face TRL's
``RewardTrainer.compute_loss``, ``transformers``' ``*ForSequenceClassification`` last-token
pooling, OpenRLHF's ``RewardModel`` and DeepSpeed-Chat's ``RewardModel.forward`` write it,
size-reduced to a two-layer causal transformer.

The idioms: last-token pooling three ways, ``sequence_lengths = torch.eq(input_ids,
pad_token_id).int().argmax(-1) - 1`` with ``% input_ids.shape[-1]`` and ``logits[torch.arange(
batch_size), sequence_lengths]`` (transformers), ``attention_mask.sum(-1) - 1`` with
``values.gather(dim=1, index=eos_indices.unsqueeze(1)).squeeze(1)`` and ``attention_mask.size(1)
- 1 - attention_mask.long().fliplr().argmax(dim=1, keepdim=True)`` (OpenRLHF); the losses
``-nn.functional.logsigmoid(rewards_chosen - rewards_rejected - margin).mean()`` and the
``center_rewards_coefficient * torch.mean((rewards_chosen + rewards_rejected) ** 2)`` term; the
DeepSpeed-Chat per-pair loop (``(chosen_id == PAD_ID).nonzero()``, ``c_inds[0].item() if
len(c_inds) > 0 else seq_len``, ``check_divergence = (chosen_id != rejected_id).nonzero()``,
``divergence_ind = check_divergence[0]``, the truncated rewards and ``chosen_mean_scores``);
the accuracy ``(rewards_chosen > rewards_rejected).float().mean()``; the model with
``nn.TransformerEncoderLayer(norm_first=True, activation="gelu")`` under a causal mask and a
``v_head = nn.Linear(d, 1, bias=False)``; ``torch.optim.AdamW`` with
``get_linear_schedule_with_warmup``'s ``LambdaLR`` and ``clip_grad_norm_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D, PAD, SEQ, BATCH, STEPS = 12, 8, 0, 7, 3, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyRewardModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D)
            self.wpe = nn.Embedding(SEQ, D)
            layer = nn.TransformerEncoderLayer(
                D, 2, 16, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            self.h = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.ln_f = nn.LayerNorm(D)
            self.v_head = nn.Linear(D, 1, bias=False)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            t = input_ids.size(1)
            pos = torch_like.arange(t, device=input_ids.device)
            causal = nn.Transformer.generate_square_subsequent_mask(t)
            hidden = self.h(
                self.wte(input_ids) + self.wpe(pos),
                mask=causal,
                src_key_padding_mask=attention_mask == 0,
                is_causal=True,
            )
            return self.v_head(self.ln_f(hidden)).squeeze(-1)  # (B, T) values

    return TinyRewardModel()


def hf_pool(torch_like: Any, values: Any, input_ids: Any) -> Any:
    torch = torch_like
    batch_size = input_ids.shape[0]
    sequence_lengths = torch.eq(input_ids, PAD).int().argmax(-1) - 1
    sequence_lengths = sequence_lengths % input_ids.shape[-1]
    return values[torch.arange(batch_size, device=values.device), sequence_lengths]


def openrlhf_pool(values: Any, attention_mask: Any, flip: bool) -> Any:
    if flip:
        eos_indices = (
            attention_mask.size(1) - 1 - attention_mask.long().fliplr().argmax(dim=1, keepdim=True)
        )
    else:
        eos_indices = (attention_mask.sum(-1) - 1).unsqueeze(1)
    return values.gather(dim=1, index=eos_indices).squeeze(1)


def deepspeed_chat_loss(torch_like: Any, chosen_ids: Any, rejected_ids: Any, chosen_rewards: Any,
                        rejected_rewards: Any) -> tuple[Any, Any]:  # fmt: skip
    torch = torch_like
    bs, seq_len = chosen_ids.shape
    loss = 0.0
    chosen_mean_scores = []
    for i in range(bs):
        chosen_id, rejected_id = chosen_ids[i], rejected_ids[i]
        chosen_reward, rejected_reward = chosen_rewards[i], rejected_rewards[i]
        c_inds = (chosen_id == PAD).nonzero()
        c_ind = c_inds[0].item() if len(c_inds) > 0 else seq_len
        check_divergence = (chosen_id != rejected_id).nonzero()
        if len(check_divergence) == 0:
            end_ind = rejected_reward.size(-1)
            divergence_ind = end_ind - 1
            r_ind = c_ind
        else:
            r_inds = (rejected_id == PAD).nonzero()
            r_ind = r_inds[0].item() if len(r_inds) > 0 else seq_len
            end_ind = max(c_ind, r_ind)
            divergence_ind = check_divergence[0]
        assert divergence_ind > 0
        c_truncated_reward = chosen_reward[divergence_ind:end_ind]
        r_truncated_reward = rejected_reward[divergence_ind:end_ind]
        chosen_mean_scores.append(chosen_reward[c_ind - 1])
        loss += -torch.nn.functional.logsigmoid(c_truncated_reward - r_truncated_reward).mean()
    return loss / bs, torch.stack(chosen_mean_scores)


def _pairs(rng: np.random.Generator) -> dict:
    out = {}
    prompt = rng.integers(1, VOCAB, (BATCH, 2))
    for name in ("chosen", "rejected"):
        ids = np.concatenate([prompt, rng.integers(1, VOCAB, (BATCH, SEQ - 2))], axis=1)
        mask = np.ones_like(ids)
        for b, length in enumerate(rng.integers(4, SEQ + 1, BATCH)):
            ids[b, length:], mask[b, length:] = PAD, 0
        out[f"input_ids_{name}"], out[f"attention_mask_{name}"] = ids, mask
    return out


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    warmup, total = 1, 2 * STEPS

    def lr_lambda(current_step: int) -> float:
        if current_step < warmup:
            return float(current_step) / float(max(1, warmup))
        return max(0.0, float(total - current_step) / float(max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    rng = np.random.default_rng(8)
    values: list[float] = []
    for step in range(2 * STEPS):
        inputs = {k: as_tensor(torch_like, v) for k, v in _pairs(rng).items()}
        inputs["margin"] = as_tensor(torch_like, rng.random(BATCH))
        chosen = model(inputs["input_ids_chosen"], inputs["attention_mask_chosen"])
        rejected = model(inputs["input_ids_rejected"], inputs["attention_mask_rejected"])
        if step % 4 == 0:
            rewards_chosen = hf_pool(torch_like, chosen, inputs["input_ids_chosen"])
            rewards_rejected = hf_pool(torch_like, rejected, inputs["input_ids_rejected"])
        else:
            flip = step % 2 == 1
            rewards_chosen = openrlhf_pool(chosen, inputs["attention_mask_chosen"], flip)
            rewards_rejected = openrlhf_pool(rejected, inputs["attention_mask_rejected"], flip)
        if step % 3 == 0:
            loss = -nn.functional.logsigmoid(
                rewards_chosen - rewards_rejected - inputs["margin"]
            ).mean()
        elif step % 3 == 1:
            loss = -nn.functional.logsigmoid(rewards_chosen - rewards_rejected).mean()
            loss += 0.01 * torch.mean((rewards_chosen + rewards_rejected) ** 2)
        else:
            loss, chosen_mean_scores = deepspeed_chat_loss(
                torch_like,
                inputs["input_ids_chosen"],
                inputs["input_ids_rejected"],
                chosen,
                rejected,
            )
            values.append(chosen_mean_scores.sum().item())
        accuracy = (rewards_chosen > rewards_rejected).float().mean()
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        values.extend([loss.item(), accuracy.item(), float(grad_norm)])
    return values
