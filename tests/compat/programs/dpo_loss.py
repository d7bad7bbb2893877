"""Direct Preference Optimization, as eric-mitchell/direct-preference-optimization's
``trainers.py`` and Hugging Face TRL's ``DPOTrainer`` write it, size-reduced to a tiny causal LM.

The idioms: ``_get_batch_logps(logits, labels, average_log_prob)`` with ``labels = labels[:,
1:].clone()``, ``logits = logits[:, :-1, :]``, ``loss_mask = (labels != -100)``, ``labels[labels
== -100] = 0``, ``per_token_logps = torch.gather(logits.log_softmax(-1), dim=2,
index=labels.unsqueeze(2)).squeeze(2)`` and ``(per_token_logps * loss_mask).sum(-1)`` (divided
by ``loss_mask.sum(-1)`` for the average); ``pad_to_length`` with ``torch.cat([tensor,
pad_value * torch.ones(*pad_size, dtype=tensor.dtype, device=tensor.device)], dim=dim)``;
``concatenated_inputs`` stacking chosen and rejected into one forward and splitting the
result with ``[:batch_size]`` / ``[batch_size:]``; a frozen reference model
(``copy.deepcopy``, ``requires_grad_(False)``, ``eval()``, ``torch.no_grad()``);
``preference_loss`` with ``pi_logratios - ref_logratios``, the sigmoid loss
``-F.logsigmoid(beta * logits)``, the conservative (label-smoothing) variant
``-F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) *
label_smoothing`` and IPO's ``(logits - 1 / (2 * beta)) ** 2``; ``chosen_rewards = beta *
(policy_chosen_logps - reference_chosen_logps).detach()``, ``reward_accuracies =
(chosen_rewards > rejected_rewards).float()``; and the train step with ``RMSprop`` or ``AdamW``,
``torch.nn.utils.clip_grad_norm_`` (its returned total norm logged) and ``loss.mean()``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, BATCH, PROMPT, STEPS, BETA, MAX_LEN = 11, 8, 3, 3, 3, 0.1, 9


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyCausalLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.rnn = nn.GRU(DIM, DIM, batch_first=True)
            self.norm = nn.LayerNorm(DIM)
            self.lm_head = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, input_ids: Any, attention_mask: Any = None) -> Any:
            h, _ = self.rnn(self.embed(input_ids))
            if attention_mask is not None:
                h = h * attention_mask.unsqueeze(-1).to(h.dtype)
            return self.lm_head(self.norm(h))

    return TinyCausalLM()


def _get_batch_logps(logits: Any, labels: Any, average_log_prob: bool = False) -> Any:
    torch = _TORCH[0]
    assert logits.shape[:-1] == labels.shape
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != -100
    # dummy token; we'll ignore the losses on these tokens later
    labels[labels == -100] = 0
    per_token_logps = torch.gather(
        logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)
    ).squeeze(2)
    if average_log_prob:
        return (per_token_logps * loss_mask).sum(-1) / loss_mask.sum(-1)
    return (per_token_logps * loss_mask).sum(-1)


_TORCH: list[Any] = [None]


def pad_to_length(tensor: Any, length: int, pad_value: float, dim: int = -1) -> Any:
    torch = _TORCH[0]
    if tensor.size(dim) >= length:
        return tensor
    pad_size = list(tensor.shape)
    pad_size[dim] = length - tensor.size(dim)
    return torch.cat(
        [tensor, pad_value * torch.ones(*pad_size, dtype=tensor.dtype, device=tensor.device)],
        dim=dim,
    )


def concatenated_inputs(batch: dict) -> dict:
    torch = _TORCH[0]
    max_length = max(batch["chosen_input_ids"].shape[1], batch["rejected_input_ids"].shape[1])
    out = {}
    for k in batch:
        if k.startswith("chosen") and isinstance(batch[k], torch.Tensor):
            pad_value = -100 if "labels" in k else 0
            out[k.replace("chosen", "concatenated")] = pad_to_length(
                batch[k], max_length, pad_value
            )
    for k in batch:
        if k.startswith("rejected") and isinstance(batch[k], torch.Tensor):
            pad_value = -100 if "labels" in k else 0
            name = k.replace("rejected", "concatenated")
            out[name] = torch.cat(
                (out[name], pad_to_length(batch[k], max_length, pad_value)), dim=0
            )
    return out


def preference_loss(
    policy_chosen_logps: Any,
    policy_rejected_logps: Any,
    reference_chosen_logps: Any,
    reference_rejected_logps: Any,
    beta: float,
    label_smoothing: float = 0.0,
    ipo: bool = False,
    reference_free: bool = False,
) -> tuple[Any, Any, Any]:
    F = _TORCH[0].nn.functional
    pi_logratios = policy_chosen_logps - policy_rejected_logps
    ref_logratios = reference_chosen_logps - reference_rejected_logps
    if reference_free:
        ref_logratios = 0
    logits = pi_logratios - ref_logratios
    if ipo:
        losses = (logits - 1 / (2 * beta)) ** 2
    else:
        losses = (
            -F.logsigmoid(beta * logits) * (1 - label_smoothing)
            - F.logsigmoid(-beta * logits) * label_smoothing
        )
    chosen_rewards = beta * (policy_chosen_logps - reference_chosen_logps).detach()
    rejected_rewards = beta * (policy_rejected_logps - reference_rejected_logps).detach()
    return losses, chosen_rewards, rejected_rewards


def concatenated_forward(model: Any, batch: dict, average: bool) -> tuple[Any, Any]:
    concatenated_batch = concatenated_inputs(batch)
    all_logits = model(
        concatenated_batch["concatenated_input_ids"],
        attention_mask=concatenated_batch["concatenated_attention_mask"],
    ).to(_TORCH[0].float64)
    all_logps = _get_batch_logps(
        all_logits, concatenated_batch["concatenated_labels"], average_log_prob=average
    )
    n = batch["chosen_input_ids"].shape[0]
    return all_logps[:n], all_logps[n:]


def make_batch(torch_like: Any, rng: np.random.Generator) -> dict:
    batch: dict = {}
    for name, length in (("chosen", MAX_LEN - 1), ("rejected", MAX_LEN - 3)):
        ids = rng.integers(1, VOCAB, (BATCH, length))
        mask = np.ones((BATCH, length), dtype=np.int64)
        ids[-1, -2:] = 0  # right padding of the last sequence
        mask[-1, -2:] = 0
        labels = ids.copy()
        labels[:, :PROMPT] = -100  # the prompt is not scored
        labels[mask == 0] = -100
        batch[f"{name}_input_ids"] = as_tensor(torch_like, ids)
        batch[f"{name}_attention_mask"] = as_tensor(torch_like, mask)
        batch[f"{name}_labels"] = as_tensor(torch_like, labels)
    batch["prompt"] = ["not a tensor"] * BATCH
    return batch


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    _TORCH[0] = torch_like
    rng = np.random.default_rng(5)
    policy = make_model(torch_like)
    load_numpy_state(torch_like, policy, init)
    reference = copy.deepcopy(policy)
    reference.requires_grad_(False)
    reference.eval()
    with torch.no_grad():  # the policy starts a little away from the SFT reference
        for param in policy.parameters():
            param.add_(0.05 * torch.tanh(param * 7.0))
    values: list[float] = []
    variants = [
        dict(opt="rmsprop", average=False, ipo=False, label_smoothing=0.0),
        dict(opt="adamw", average=True, ipo=False, label_smoothing=0.1),
        dict(opt="adamw", average=False, ipo=True, label_smoothing=0.0),
    ]
    for variant in variants:
        model = copy.deepcopy(policy)
        model.train()
        if variant["opt"] == "rmsprop":
            optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-2)
        else:
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
        for _step in range(STEPS):
            batch = make_batch(torch_like, rng)
            policy_chosen, policy_rejected = concatenated_forward(model, batch, variant["average"])
            with torch.no_grad():
                ref_chosen, ref_rejected = concatenated_forward(
                    reference, batch, variant["average"]
                )
            losses, chosen_rewards, rejected_rewards = preference_loss(
                policy_chosen,
                policy_rejected,
                ref_chosen,
                ref_rejected,
                beta=BETA,
                label_smoothing=variant["label_smoothing"],
                ipo=variant["ipo"],
            )
            reward_accuracies = (chosen_rewards > rejected_rewards).float()
            loss = losses.mean()
            optimizer.zero_grad()
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            values += [loss.item(), grad_norm.item(), reward_accuracies.mean().item()]
            values += chosen_rewards.cpu().numpy().tolist() + rejected_rewards.tolist()
            values += [(chosen_rewards - rejected_rewards).mean().item()]
            values += [policy_rejected.detach().cpu().mean().item()]
            values += [float(ref_chosen.requires_grad), float(policy_chosen.requires_grad)]
    values += [float(any(p.grad is not None for p in reference.parameters()))]
    return values
