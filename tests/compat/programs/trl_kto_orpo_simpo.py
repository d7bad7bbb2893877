"""Preference losses other than DPO, as Hugging Face TRL's ``KTOTrainer``, ``ORPOTrainer`` and
``CPOTrainer`` (``loss_type="simpo"``) write them, on a tiny causal transformer LM, size-reduced.

The shared idioms: ``get_batch_logps(logits, labels, average_log_prob, label_pad_token_id=-100)``
with ``if logits.shape[:-1] != labels.shape: raise ValueError``, ``labels = labels[:,
1:].clone()``, ``loss_mask = labels != label_pad_token_id``, ``labels = torch.where(labels ==
label_pad_token_id, 0, labels)``, ``torch.gather(logits.log_softmax(-1), dim=2,
index=labels.unsqueeze(2)).squeeze(2)``; a model returning an output object with ``.logits``
(``nn.TransformerEncoderLayer(batch_first=True, norm_first=True)`` under
``nn.Transformer.generate_square_subsequent_mask(T)`` and ``is_causal=True``).

KTO: the KL estimate from mismatched prompt/completion pairs (TRL's ``_get_kl_dataset`` rotates
the completions by one), computed ``with torch.no_grad()``; ``chosen_idx = [i for i in
range(completion_logps.shape[0]) if batch["label"][i] is True]`` indexing
``completion_logps[chosen_idx, ...]``; ``kl = (policy_KL_logps -
reference_KL_logps).mean().detach()`` and ``.clamp(min=0)``; ``chosen_losses = 1 -
F.sigmoid(self.beta * (chosen_logratios - kl))``, ``rejected_losses = 1 - F.sigmoid(self.beta *
(kl - rejected_logratios))``; an all-desirable batch taking the ``torch.Tensor([]).to(device)``
branch; ``torch.cat((self.desirable_weight * chosen_losses, self.undesirable_weight *
rejected_losses), 0)`` and ``losses.nanmean()``, rewards summed with ``.nansum()``.

ORPO: average per-token log-probs, ``log_odds = (policy_chosen_logps - policy_rejected_logps) -
(torch.log1p(-torch.exp(policy_chosen_logps)) - torch.log1p(-torch.exp(policy_rejected_logps)))``,
``ratio = F.logsigmoid(log_odds)``, ``losses = self.beta * ratio``, and the SFT term: TRL's
``cross_entropy_loss`` (``logits[..., :-1, :].contiguous()``, ``labels[..., 1:].contiguous()``,
``nn.CrossEntropyLoss()`` over ``.view(-1, logits.shape[-1])``), ``loss = policy_nll_loss -
losses.mean()``.

SimPO (CPO trainer): length-normalised rewards (``average_log_prob=self.loss_type in ["ipo",
"simpo"]``), ``gamma_logratios = self.simpo_gamma / self.beta``, ``logits = logits -
gamma_logratios`` and the label-smoothed ``-F.logsigmoid(self.beta * logits) * (1 -
self.label_smoothing) - F.logsigmoid(-self.beta * logits) * self.label_smoothing``, plus
``cpo_alpha * policy_nll_loss``.

Changed: a one-layer width-8 transformer on random token ids, a few AdamW steps per loss.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, BATCH, PROMPT, LEN, STEPS = 13, 8, 4, 3, 8, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Output:
        def __init__(self, logits: Any) -> None:
            self.logits = logits

    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.pos = nn.Parameter(torch_like.zeros(1, LEN, DIM))
            self.layer = nn.TransformerEncoderLayer(
                DIM, 2, dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=True
            )
            self.lm_head = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, input_ids: Any, attention_mask: Any = None) -> Any:
            t = input_ids.shape[1]
            h = self.embed(input_ids) + self.pos[:, :t]
            mask = nn.Transformer.generate_square_subsequent_mask(t)
            h = self.layer(h, src_mask=mask, is_causal=True)
            if attention_mask is not None:
                h = h * attention_mask.unsqueeze(-1)
            return Output(self.lm_head(h))

    return TinyLM()


_T: list[Any] = [None]


def get_batch_logps(
    logits: Any, labels: Any, average_log_prob: bool = False, label_pad_token_id: int = -100
) -> Any:
    torch = _T[0]
    if logits.shape[:-1] != labels.shape:
        raise ValueError(
            "Logits (batch and sequence length dim) and labels must have the same shape."
        )
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != label_pad_token_id
    labels = torch.where(labels == label_pad_token_id, 0, labels)
    per_token_logps = torch.gather(
        logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)
    ).squeeze(2)
    if average_log_prob:
        return (per_token_logps * loss_mask).sum(-1) / loss_mask.sum(-1)
    return (per_token_logps * loss_mask).sum(-1)


def cross_entropy_loss(logits: Any, labels: Any) -> Any:
    nn = _T[0].nn
    logits = logits[..., :-1, :].contiguous()
    labels = labels[..., 1:].contiguous()
    loss_fct = nn.CrossEntropyLoss()
    logits = logits.view(-1, logits.shape[-1])
    labels = labels.view(-1)
    labels = labels.to(logits.device)
    return loss_fct(logits, labels)


def make_pairs(torch_like: Any, rng: np.random.Generator) -> dict:
    """Chosen and rejected sequences (prompt + completion, right padded), TRL's layout."""
    out = {}
    for name in ("chosen", "rejected"):
        ids = rng.integers(1, VOCAB, (BATCH, LEN))
        ids[:, :PROMPT] = ids[0, :PROMPT] if name == "chosen" else ids[:, :PROMPT]
        mask = np.ones((BATCH, LEN))
        mask[1, -2:] = 0
        ids[mask == 0] = 0
        labels = ids.copy()
        labels[:, :PROMPT] = -100
        labels[mask == 0] = -100
        out[f"{name}_input_ids"] = as_tensor(torch_like, ids)
        out[f"{name}_attention_mask"] = as_tensor(torch_like, mask)
        out[f"{name}_labels"] = as_tensor(torch_like, labels)
    return out


def kto_loss(
    beta: float,
    policy_chosen_logps: Any,
    policy_rejected_logps: Any,
    policy_KL_logps: Any,
    reference_chosen_logps: Any,
    reference_rejected_logps: Any,
    reference_KL_logps: Any,
) -> tuple:
    torch = _T[0]
    F = torch.nn.functional
    desirable_weight, undesirable_weight = 1.0, 1.33
    kl = (policy_KL_logps - reference_KL_logps).mean().detach()
    kl = kl.mean().clamp(min=0)
    if policy_chosen_logps.shape[0] != 0 or reference_chosen_logps.shape[0] != 0:
        chosen_logratios = policy_chosen_logps - reference_chosen_logps
        chosen_losses = 1 - F.sigmoid(beta * (chosen_logratios - kl))
        chosen_rewards = beta * chosen_logratios.detach()
    else:
        chosen_losses = torch.Tensor([]).to(policy_KL_logps.device)
        chosen_rewards = torch.Tensor([]).to(policy_KL_logps.device)
    if policy_rejected_logps.shape[0] != 0 or reference_rejected_logps.shape[0] != 0:
        rejected_logratios = policy_rejected_logps - reference_rejected_logps
        rejected_losses = 1 - F.sigmoid(beta * (kl - rejected_logratios))
        rejected_rewards = beta * rejected_logratios.detach()
    else:
        rejected_losses = torch.Tensor([]).to(policy_KL_logps.device)
        rejected_rewards = torch.Tensor([]).to(policy_KL_logps.device)
    losses = torch.cat((desirable_weight * chosen_losses, undesirable_weight * rejected_losses), 0)
    return losses, chosen_rewards, rejected_rewards, kl


def run_kto(torch: Any, policy: Any, reference: Any, rng: np.random.Generator) -> list[float]:
    values: list[float] = []
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-2)
    for step in range(STEPS):
        pairs = make_pairs(torch, rng)
        # KTO sees unpaired completions with a desirable flag
        ids = torch.cat((pairs["chosen_input_ids"], pairs["rejected_input_ids"]))
        labels = torch.cat((pairs["chosen_labels"], pairs["rejected_labels"]))
        flags = [True] * BATCH + [False] * BATCH if step else [True] * (2 * BATCH)
        # the KL batch: every prompt with another example's completion
        kl_ids = ids.clone()
        kl_ids[:, PROMPT:] = torch.roll(ids[:, PROMPT:], 1, dims=0)
        kl_labels = labels.clone()
        kl_labels[:, PROMPT:] = torch.roll(labels[:, PROMPT:], 1, dims=0)
        with torch.no_grad():
            policy_kl = get_batch_logps(policy(kl_ids).logits, kl_labels)
            ref_kl = get_batch_logps(reference(kl_ids).logits, kl_labels)
            ref_logps = get_batch_logps(reference(ids).logits, labels)
        completion_logps = get_batch_logps(policy(ids).logits, labels)
        chosen_idx = [i for i in range(completion_logps.shape[0]) if flags[i] is True]
        rejected_idx = [i for i in range(completion_logps.shape[0]) if flags[i] is False]
        losses, chosen_rewards, rejected_rewards, kl = kto_loss(
            0.1,
            completion_logps[chosen_idx, ...],
            completion_logps[rejected_idx, ...],
            policy_kl,
            ref_logps[chosen_idx, ...],
            ref_logps[rejected_idx, ...],
            ref_kl,
        )
        loss = losses.nanmean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [
            loss.item(),
            kl.item(),
            chosen_rewards.nansum().item(),
            rejected_rewards.nansum().item(),
            float(rejected_rewards.numel()),
            float(losses.dtype == torch.get_default_dtype()),
        ]
    return values


def run_orpo_simpo(
    torch: Any, policy: Any, loss_type: str, rng: np.random.Generator
) -> list[float]:
    F = torch.nn.functional
    beta, gamma, label_smoothing, cpo_alpha = (
        (0.1, 0, 0, 0) if loss_type == "orpo" else (2.0, 0.5, 0.1, 0.2)
    )
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-2, weight_decay=0.0)
    values: list[float] = []
    for _ in range(STEPS):
        pairs = make_pairs(torch, rng)
        ids = torch.cat((pairs["chosen_input_ids"], pairs["rejected_input_ids"]), dim=0)
        mask = torch.cat((pairs["chosen_attention_mask"], pairs["rejected_attention_mask"]), dim=0)
        labels = torch.cat((pairs["chosen_labels"], pairs["rejected_labels"]), dim=0)
        all_logits = policy(ids, attention_mask=mask).logits
        all_logps = get_batch_logps(all_logits, labels, average_log_prob=True)
        len_chosen = pairs["chosen_labels"].shape[0]
        chosen_logps, rejected_logps = all_logps[:len_chosen], all_logps[len_chosen:]
        policy_nll_loss = cross_entropy_loss(all_logits[:len_chosen], labels[:len_chosen].clone())
        if loss_type == "orpo":
            log_odds = (chosen_logps - rejected_logps) - (
                torch.log1p(-torch.exp(chosen_logps)) - torch.log1p(-torch.exp(rejected_logps))
            )
            ratio = F.logsigmoid(log_odds)
            losses = beta * ratio
            loss = policy_nll_loss - losses.mean()
            extra = [torch.mean(ratio).item(), torch.mean(log_odds).item()]
        else:
            logits = chosen_logps - rejected_logps
            gamma_logratios = gamma / beta
            logits = logits - gamma_logratios
            losses = (
                -F.logsigmoid(beta * logits) * (1 - label_smoothing)
                - F.logsigmoid(-beta * logits) * label_smoothing
            )
            loss = losses.mean() + cpo_alpha * policy_nll_loss
            extra = [logits.mean().item()]
        chosen_rewards = beta * chosen_logps.detach()
        rejected_rewards = beta * rejected_logps.detach()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), policy_nll_loss.item(), *extra]
        values.append((chosen_rewards > rejected_rewards).float().mean().item())
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    _T[0] = torch
    rng = np.random.default_rng(12)
    base = make_model(torch)
    load_numpy_state(torch, base, init)
    values: list[float] = []
    reference = copy.deepcopy(base)
    reference.requires_grad_(False)
    reference.eval()
    values += run_kto(torch, copy.deepcopy(base), reference, rng)
    values += run_orpo_simpo(torch, copy.deepcopy(base), "orpo", rng)
    values += run_orpo_simpo(torch, copy.deepcopy(base), "simpo", rng)
    try:
        get_batch_logps(
            base(make_pairs(torch, rng)["chosen_input_ids"]).logits,
            torch.zeros(BATCH, LEN - 1, dtype=torch.long),
        )
    except ValueError as err:
        values.append(float("same shape" in str(err)))
    return values
