"""The ``loss_type`` zoo of Hugging Face TRL's ``DPOTrainer`` (``trl/trainer/dpo_trainer.py``'s
``concatenated_forward`` and ``dpo_loss``, ``trl/trainer/utils.py``'s ``RunningMoments``,
``selective_log_softmax``, ``cap_exp`` and ``get_exp_cap``), size-reduced to a tiny causal LM.

The idioms: ``concatenated_forward``'s ``torch.cat((torch.zeros_like(prompt_attention_mask),
completion_attention_mask), dim=1)`` loss mask, ``labels = torch.roll(input_ids, shifts=-1,
dims=1)``, ``loss_mask = torch.roll(loss_mask, shifts=-1, dims=1).bool()``, ``labels[~loss_mask]
= 0``, ``selective_log_softmax`` (``torch.gather(logits, dim=-1, index=index.unsqueeze(-1))
.squeeze(-1)`` minus ``torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])``),
``per_token_logps[~loss_mask] = 0``, ``torch.roll(per_token_logps, shifts=1, dims=1)`` and
``[:, 1:].sum(-1)``; WPO's ``use_weighting`` (``torch.logsumexp(2 * logprobs, dim=-1)``,
``torch.clamp(torch.exp(chosen_weights + rejected_weights), max=1)`` under ``torch.no_grad()``)
and RPO's ``rpo_alpha * nll_loss`` (``F.cross_entropy(logits, labels, ignore_index=0)``);
``dpo_loss`` with the alpha-divergence ``cap_exp`` logits (``torch.zeros([1]).to(value.dtype) +
torch.finfo(value.dtype).max``, ``torch.floor(vdtype_log_max * 10**decimal) / 10**decimal``,
``torch.exp(torch.clamp(value, max=cap))``), the JS-divergence ``logits -=
F.softplus(chosen_logratios) - F.softplus(rejected_logratios)``, and the losses ``sigmoid``,
``robust``, ``exo_pair`` (``(self.beta * logits).sigmoid() * (F.logsigmoid(self.beta * logits) -
math.log(1 - self.label_smoothing))``), ``hinge`` (``torch.relu(1 - self.beta * logits)``),
``bco_pair`` (``RunningMoments.update``'s ``torch.var_mean(xs, unbiased=False)``, ``.float()``,
``.item()`` and the ``0 / 0`` of a one-element batch), ``sppo_hard``, ``nca_pair``, ``aot`` and
``aot_pair`` (``torch.sort(..., dim=0)``), ``apo_zero``, ``apo_down`` and ``discopop``
(``torch.sigmoid(logits / self.args.discopop_tau)``); and ``chosen_rewards = self.beta *
(chosen_logps.to(device) - ref_chosen_logps.to(device)).detach()``.

Changed: a GRU language model for the policy, 12 loss variants of 2 steps each (AdamW,
``clip_grad_norm_``), NumPy data; the accelerator is a ``device`` string.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, BATCH, PROMPT, COMPLETION, STEPS, BETA = 11, 8, 3, 3, 4, 2, 0.1


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyCausalLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, DIM)
            self.rnn = nn.GRU(DIM, DIM, batch_first=True)
            self.norm = nn.LayerNorm(DIM)
            self.lm_head = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, input_ids: Any, attention_mask: Any = None) -> Any:
            h, _ = self.rnn(self.embed_tokens(input_ids))
            return self.lm_head(self.norm(h))

    return TinyCausalLM()


def selective_log_softmax(torch: Any, logits: Any, index: Any) -> Any:
    if logits.dtype in [torch.float32, torch.float64]:
        selected_logits = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        # loop to reduce peak mem consumption
        logsumexp_values = torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])
        per_token_logps = selected_logits - logsumexp_values  # log_softmax(x_i) = x_i - lse(x)
    else:
        raise AssertionError("only full precision here")
    return per_token_logps


def get_exp_cap(torch: Any, value: Any, decimal: int = 4) -> Any:
    vdtype_max = torch.zeros([1]).to(value.dtype) + torch.finfo(value.dtype).max
    vdtype_log_max = torch.log(vdtype_max).to(value.device)
    return (
        torch.floor(vdtype_log_max * 10**decimal) / 10**decimal if decimal > 0 else vdtype_log_max
    )


def cap_exp(torch: Any, value: Any, cap: float = -1) -> Any:
    # Cap the exponent value below the upper-bound to avoid overflow, before calling torch.exp
    cap = get_exp_cap(torch, value) if cap < 0 else cap
    return torch.exp(torch.clamp(value, max=cap))


class RunningMoments:
    """TRL's running mean/std (a dataclass there), single-process branch."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.mean, self.std, self.var, self.count = 0.0, 1.0, 1.0, 1e-24

    def update(self, xs: Any) -> tuple[float, float]:
        torch = self.torch
        with torch.no_grad():
            xs_count = xs.numel()
            xs_var, xs_mean = torch.var_mean(xs, unbiased=False)
            xs_mean, xs_var = xs_mean.float(), xs_var.float()

            delta = xs_mean - self.mean
            tot_count = self.count + xs_count

            new_sum = xs_var * xs_count
            # correct old_sum deviation accounting for the new mean
            old_sum = self.var * self.count + delta**2 * self.count * xs_count / tot_count
            tot_sum = old_sum + new_sum

            self.mean += (delta * xs_count / tot_count).item()
            new_var = tot_sum / tot_count
            self.std = (new_var * tot_count / (tot_count - 1)).float().sqrt().item()
            self.var = new_var.item()
            return xs_mean.item(), (xs_var * xs_count / (xs_count - 1)).float().sqrt().item()


class Trainer:
    def __init__(self, torch: Any, loss_type: str, **kw: Any) -> None:
        self.torch, self.loss_type, self.beta = torch, loss_type, BETA
        self.label_smoothing = kw.get("label_smoothing", 0.0)
        self.f_divergence_type = kw.get("f_divergence_type", "reverse_kl")
        self.use_weighting = kw.get("use_weighting", False)
        self.rpo_alpha = kw.get("rpo_alpha")
        self.discopop_tau = 0.05
        self.reference_free = False
        self.running = RunningMoments(torch)
        self.device = "cpu"

    def concatenated_forward(self, model: Any, batch: dict) -> dict:
        torch, F = self.torch, self.torch.nn.functional
        num_examples = batch["prompt_input_ids"].shape[0]
        prompt_input_ids = torch.cat([batch["prompt_input_ids"]] * 2, dim=0)
        prompt_attention_mask = torch.cat([batch["prompt_attention_mask"]] * 2, dim=0)
        completion_input_ids = torch.cat(
            (batch["chosen_input_ids"], batch["rejected_input_ids"]), dim=0
        )
        completion_attention_mask = torch.cat(
            (batch["chosen_attention_mask"], batch["rejected_attention_mask"]), dim=0
        )
        input_ids = torch.cat((prompt_input_ids, completion_input_ids), dim=1)
        attention_mask = torch.cat((prompt_attention_mask, completion_attention_mask), dim=1)
        # Mask the prompt but not the completion for the loss
        loss_mask = torch.cat(
            (torch.zeros_like(prompt_attention_mask), completion_attention_mask), dim=1
        )
        outputs = model(input_ids, attention_mask=attention_mask)
        logits = outputs
        # Offset the logits by one to align with the labels
        labels = torch.roll(input_ids, shifts=-1, dims=1)
        loss_mask = torch.roll(loss_mask, shifts=-1, dims=1).bool()

        output = {}
        if self.use_weighting:
            with torch.no_grad():
                # Eq (2) of the WPO paper: https://huggingface.co/papers/2406.11827
                logprobs = F.log_softmax(logits, dim=-1)
                weights_adjustment_factor = torch.logsumexp(2 * logprobs, dim=-1)
                per_token_logps_adjusted = (
                    torch.gather(logprobs, -1, labels.unsqueeze(-1)).squeeze(-1)
                    - weights_adjustment_factor
                )
                all_weights = (per_token_logps_adjusted * loss_mask).sum(-1) / loss_mask.sum(-1)
                chosen_weights = all_weights[:num_examples]
                rejected_weights = all_weights[num_examples:]
                output["policy_weights"] = torch.clamp(
                    torch.exp(chosen_weights + rejected_weights), max=1
                )

        if self.rpo_alpha is not None:
            # Only use the chosen logits for the RPO loss
            chosen_logits = logits[:num_examples, :-1]
            chosen_labels = labels[:num_examples, :-1]
            # Compute the log probabilities of the labels
            output["nll_loss"] = F.cross_entropy(
                torch.flatten(chosen_logits, end_dim=1),
                torch.flatten(chosen_labels, end_dim=1),
                ignore_index=0,
            )

        labels[~loss_mask] = 0  # dummy token; we'll ignore the losses on these tokens later
        per_token_logps = selective_log_softmax(torch, logits, labels)
        per_token_logps[~loss_mask] = 0
        per_token_logps = torch.roll(per_token_logps, shifts=1, dims=1)
        all_logps = per_token_logps[:, 1:].sum(-1)
        output["chosen_logps"] = all_logps[:num_examples]
        output["rejected_logps"] = all_logps[num_examples:]
        output["mean_chosen_logits"] = logits[:num_examples][loss_mask[:num_examples]].mean()
        return output

    def dpo_loss(self, chosen_logps: Any, rejected_logps: Any, ref_chosen_logps: Any,
                 ref_rejected_logps: Any) -> tuple[Any, Any, Any]:  # fmt: skip
        torch, F = self.torch, self.torch.nn.functional
        device = self.device
        chosen_logratios = chosen_logps.to(device) - (
            not self.reference_free
        ) * ref_chosen_logps.to(device)
        rejected_logratios = rejected_logps.to(device) - (
            not self.reference_free
        ) * ref_rejected_logps.to(device)

        if self.f_divergence_type == "alpha_divergence":
            # The alpha-divergence formula: (1 - u^-alpha) / alpha
            alpha_coef = 1.0
            logits = (
                cap_exp(torch, rejected_logratios * -alpha_coef)
                - cap_exp(torch, chosen_logratios * -alpha_coef)
            ) / alpha_coef
        else:
            logratios = chosen_logps - rejected_logps
            if self.reference_free:
                ref_logratios = torch.tensor([0], dtype=logratios.dtype, device=logratios.device)
            else:
                ref_logratios = ref_chosen_logps - ref_rejected_logps
            logratios = logratios.to(self.device)
            ref_logratios = ref_logratios.to(self.device)
            logits = logratios - ref_logratios
            if self.f_divergence_type == "js_divergence":
                # The js-divergence formula: log(2 * u / (1 + u))
                logits -= F.softplus(chosen_logratios) - F.softplus(rejected_logratios)

        if self.loss_type == "sigmoid":
            losses = (
                -F.logsigmoid(self.beta * logits) * (1 - self.label_smoothing)
                - F.logsigmoid(-self.beta * logits) * self.label_smoothing
            )
        elif self.loss_type == "robust":
            losses = (
                -F.logsigmoid(self.beta * logits) * (1 - self.label_smoothing)
                + F.logsigmoid(-self.beta * logits) * self.label_smoothing
            ) / (1 - 2 * self.label_smoothing)
        elif self.loss_type == "exo_pair":
            if self.label_smoothing == 0:
                self.label_smoothing = 1e-3
            losses = (self.beta * logits).sigmoid() * (
                F.logsigmoid(self.beta * logits) - math.log(1 - self.label_smoothing)
            ) + (-self.beta * logits).sigmoid() * (
                F.logsigmoid(-self.beta * logits) - math.log(self.label_smoothing)
            )
        elif self.loss_type == "hinge":
            losses = torch.relu(1 - self.beta * logits)
        elif self.loss_type == "bco_pair":
            chosen_logratios = chosen_logps - ref_chosen_logps
            rejected_logratios = rejected_logps - ref_rejected_logps
            chosen_rewards = self.beta * chosen_logratios
            rejected_rewards = self.beta * rejected_logratios
            rewards = torch.cat((chosen_rewards, rejected_rewards), 0).mean().detach()
            self.running.update(rewards)
            delta = self.running.mean
            losses = -F.logsigmoid((self.beta * chosen_logratios) - delta) - F.logsigmoid(
                -(self.beta * rejected_logratios - delta)
            )
        elif self.loss_type == "sppo_hard":
            a = chosen_logps - ref_chosen_logps
            b = rejected_logps - ref_rejected_logps
            losses = (a - 0.5 / self.beta) ** 2 + (b + 0.5 / self.beta) ** 2
        elif self.loss_type == "nca_pair":
            chosen_rewards = (chosen_logps - ref_chosen_logps) * self.beta
            rejected_rewards = (rejected_logps - ref_rejected_logps) * self.beta
            losses = (
                -F.logsigmoid(chosen_rewards)
                - 0.5 * F.logsigmoid(-chosen_rewards)
                - 0.5 * F.logsigmoid(-rejected_rewards)
            )
        elif self.loss_type in ("aot_pair", "aot"):
            if self.loss_type == "aot_pair":
                chosen_logratios = chosen_logps - ref_chosen_logps
                rejected_logratios = rejected_logps - ref_rejected_logps
                chosen_logratios_sorted, _ = torch.sort(chosen_logratios, dim=0)
                rejected_logratios_sorted, _ = torch.sort(rejected_logratios, dim=0)
                delta = chosen_logratios_sorted - rejected_logratios_sorted
            else:
                logratios = chosen_logps - rejected_logps
                ref_logratios = ref_chosen_logps - ref_rejected_logps
                logratios_sorted, _ = torch.sort(logratios, dim=0)
                ref_logratios_sorted, _ = torch.sort(ref_logratios, dim=0)
                delta = logratios_sorted - ref_logratios_sorted
            losses = (
                -F.logsigmoid(self.beta * delta) * (1 - self.label_smoothing)
                - F.logsigmoid(-self.beta * delta) * self.label_smoothing
            )
        elif self.loss_type == "apo_zero":
            losses_chosen = 1 - F.sigmoid(
                self.beta * chosen_logratios
            )  # Increase chosen likelihood
            losses_rejected = F.sigmoid(self.beta * rejected_logratios)  # Decrease rejected
            losses = losses_chosen + losses_rejected
        elif self.loss_type == "apo_down":
            losses_chosen = F.sigmoid(self.beta * chosen_logratios)
            losses_rejected = 1 - F.sigmoid(self.beta * (chosen_logratios - rejected_logratios))
            losses = losses_chosen + losses_rejected
        elif self.loss_type == "discopop":
            logratios = chosen_logps - rejected_logps
            ref_logratios = ref_chosen_logps - ref_rejected_logps
            logits = logratios - ref_logratios
            logits = logits * self.beta
            # Modulate the mixing coefficient based on the log ratio magnitudes
            log_ratio_modulation = torch.sigmoid(logits / self.discopop_tau)
            logistic_component = -F.logsigmoid(logits)
            exp_component = torch.exp(-logits)
            # Blend between logistic and exponential component based on log ratio modulation
            losses = (
                logistic_component * (1 - log_ratio_modulation)
                + exp_component * log_ratio_modulation
            )
        else:
            raise ValueError(f"Unknown loss type: {self.loss_type}.")

        chosen_rewards = (
            self.beta * (chosen_logps.to(device) - ref_chosen_logps.to(device)).detach()
        )
        rejected_rewards = (
            self.beta * (rejected_logps.to(device) - ref_rejected_logps.to(device)).detach()
        )
        return losses, chosen_rewards, rejected_rewards


def make_batch(torch_like: Any, rng: np.random.Generator) -> dict:
    batch: dict = {}
    prompt = rng.integers(1, VOCAB, (BATCH, PROMPT))
    prompt_mask = np.ones_like(prompt)
    prompt[0, 0], prompt_mask[0, 0] = 0, 0  # left-padded prompt
    batch["prompt_input_ids"] = as_tensor(torch_like, prompt)
    batch["prompt_attention_mask"] = as_tensor(torch_like, prompt_mask)
    for name in ("chosen", "rejected"):
        ids = rng.integers(1, VOCAB, (BATCH, COMPLETION))
        mask = np.ones_like(ids)
        length = rng.integers(2, COMPLETION + 1)
        ids[-1, length:], mask[-1, length:] = 0, 0  # right padding
        batch[f"{name}_input_ids"] = as_tensor(torch_like, ids)
        batch[f"{name}_attention_mask"] = as_tensor(torch_like, mask)
    return batch


VARIANTS = [
    dict(loss_type="sigmoid", f_divergence_type="alpha_divergence"),
    dict(loss_type="sigmoid", f_divergence_type="js_divergence", use_weighting=True),
    dict(loss_type="robust", label_smoothing=0.1),
    dict(loss_type="exo_pair"),
    dict(loss_type="hinge", rpo_alpha=0.5),
    dict(loss_type="bco_pair"),
    dict(loss_type="sppo_hard"),
    dict(loss_type="nca_pair"),
    dict(loss_type="aot_pair", label_smoothing=0.05),
    dict(loss_type="aot"),
    dict(loss_type="apo_zero"),
    dict(loss_type="apo_down"),
    dict(loss_type="discopop"),
]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(17)
    policy = make_model(torch_like)
    load_numpy_state(torch_like, policy, init)
    ref_model = copy.deepcopy(policy)
    ref_model.requires_grad_(False)
    ref_model.eval()
    with torch.no_grad():  # the policy starts a little away from the SFT reference
        for param in policy.parameters():
            param.add_(0.05 * torch.tanh(param * 7.0))
    values: list[float] = []
    for variant in VARIANTS:
        trainer = Trainer(torch_like, **variant)
        model = copy.deepcopy(policy)
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
        for _ in range(STEPS):
            batch = make_batch(torch_like, rng)
            model_output = trainer.concatenated_forward(model, batch)
            with torch.no_grad():
                ref_output = trainer.concatenated_forward(ref_model, batch)
            losses, chosen_rewards, rejected_rewards = trainer.dpo_loss(
                model_output["chosen_logps"],
                model_output["rejected_logps"],
                ref_output["chosen_logps"],
                ref_output["rejected_logps"],
            )
            reward_accuracies = (chosen_rewards > rejected_rewards).float()
            if trainer.rpo_alpha is not None:
                losses = losses + trainer.rpo_alpha * model_output["nll_loss"]
            if trainer.use_weighting:
                losses = losses * model_output["policy_weights"]
            loss = losses.mean()
            optimizer.zero_grad()
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            values += [loss.item(), reward_accuracies.mean().item(), float(grad_norm)]
            values.append((chosen_rewards - rejected_rewards).mean().item())
            values.append(model_output["mean_chosen_logits"].item())
        values.append(trainer.running.mean)
    return values
