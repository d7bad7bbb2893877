"""RLHF PPO with a value head and a KL penalty to a frozen reference model, as Hugging Face TRL's
``PPOTrainer`` (``trl/trainer/ppo_trainer.py`` of TRL 0.4-0.11), ``trl/models/
modeling_value_head.py`` (``ValueHead``, ``AutoModelForCausalLMWithValueHead``) and
``trl/core.py`` write it, size-reduced to a one-layer causal transformer.

The idioms: ``ValueHead`` (``nn.Dropout``, ``nn.Linear(hidden_size, 1)``, ``nn.Flatten()``,
``if output.dtype != self.summary.weight.dtype: output = output.to(self.summary.weight.dtype)``)
with ``_init_weights``'s ``self.v_head.summary.weight.data.normal_(mean=0.0, std=
v_head_initializer_range)`` / ``bias.data.zero_()``; the reference model as a frozen
``copy.deepcopy`` (``create_reference_model``: ``param.requires_grad = False`` and ``.eval()``);
``core.py``'s ``logprobs_from_logits`` (``F.log_softmax(logits, dim=2)``, ``torch.gather(logp,
2, labels.unsqueeze(2)).squeeze(-1)``), ``masked_mean`` / ``masked_var`` / ``masked_whiten``
(``(values * mask).sum(axis=axis) / mask.sum(axis=axis)``, the Bessel correction, ``(values -
mean) * torch.rsqrt(var + 1e-8)``, ``whitened += mean``), ``entropy_from_logits``
(``torch.logsumexp(logits, axis=-1) - torch.sum(pd * logits, axis=-1)``, the NumPy-style
``axis=`` keyword), ``clip_by_value`` (``torch.max(torch.min(x, tensor_max), tensor_min)``);
``AdaptiveKLController.update`` (``np.clip(current / self.target - 1, -0.2, 0.2)``);
``_kl_penalty`` in its four forms (``"kl"``, ``"abs"``, ``"mse"`` and ``"full"`` with
``F.kl_div(ref_logprob, logprob, log_target=True, reduction="none").sum(-1)``);
``compute_rewards`` (``non_score_reward = -self.kl_ctl.value * kl``, ``reward =
non_score_reward.clone()``, ``last_non_masked_index = mask.nonzero()[-1]``, ``reward[
last_non_masked_index] += score``, ``torch.stack``); ``compute_advantages`` (the reversed GAE
loop, ``torch.stack(advantages_reversed[::-1]).transpose(0, 1)``, ``advantages.detach()``);
``loss`` (clipped value loss with ``torch.gt(vf_losses2, vf_losses1).float()``, clipped ratio
``torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)``, ``approxkl``, ``policykl``);
``ppo_epochs`` over shuffled mini-batches (a NumPy permutation) with ``Adam`` and
``clip_grad_norm_``.

Changed: a GPT-2 -> one ``nn.TransformerEncoderLayer`` under a causal mask; responses sampled
with ``torch.multinomial`` from the policy's softmax (``generate``'s sampling), 4 queries of 3
tokens, responses of 4 tokens, the reward a fixed function of the tokens instead of a
sentiment classifier; 4 PPO steps of 1 epoch of 2 mini-batches, the KL penalty form changing
with the step.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # the value head model upcasts its logits to float32 (``lm_logits.float()``)

VOCAB, D, Q_LEN, R_LEN, BATCH = 10, 8, 3, 4, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ValueHead(nn.Module):
        r"""The ValueHead class implements a head for GPT2 that returns a scalar for each output
        token."""

        def __init__(self, config: Any, **kwargs: Any) -> None:
            super().__init__()
            summary_dropout_prob = kwargs.pop("summary_dropout_prob", 0.1)
            self.dropout = (
                nn.Dropout(summary_dropout_prob) if summary_dropout_prob else nn.Identity()
            )
            hidden_size = config["hidden_size"]
            self.summary = nn.Linear(hidden_size, 1)
            self.flatten = nn.Flatten()

        def forward(self, hidden_states: Any) -> Any:
            output = self.dropout(hidden_states)
            # For now force upcast in fp32 if needed. Let's keep the
            # output in fp32 for numerical stability.
            if output.dtype != self.summary.weight.dtype:
                output = output.to(self.summary.weight.dtype)
            output = self.summary(output)
            return output

    class TinyCausalLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D)
            self.wpe = nn.Embedding(Q_LEN + R_LEN, D)
            self.h = nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True,
                                                norm_first=True)  # fmt: skip
            self.ln_f = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, VOCAB, bias=False)

        def forward(self, input_ids: Any) -> tuple[Any, Any]:
            t = input_ids.shape[1]
            mask = nn.Transformer.generate_square_subsequent_mask(t)
            pos = torch.arange(t)
            hidden = self.h(self.wte(input_ids) + self.wpe(pos), src_mask=mask, is_causal=True)
            hidden = self.ln_f(hidden)
            return self.lm_head(hidden), hidden

    class AutoModelForCausalLMWithValueHead(nn.Module):
        def __init__(self, pretrained_model: Any, **kwargs: Any) -> None:
            super().__init__()
            self.pretrained_model = pretrained_model
            self.v_head = ValueHead({"hidden_size": D}, summary_dropout_prob=0.0)
            self._init_weights(v_head_init_strategy="normal", v_head_initializer_range=0.2)

        def _init_weights(self, **kwargs: Any) -> None:
            initializer_range = kwargs.pop("v_head_initializer_range", 0.2)
            init_strategy = kwargs.pop("v_head_init_strategy", None)
            if init_strategy is None:
                pass
            elif init_strategy == "normal":
                self.v_head.summary.weight.data.normal_(mean=0.0, std=initializer_range)
                self.v_head.summary.bias.data.zero_()

        def forward(self, input_ids: Any) -> tuple[Any, None, Any]:
            lm_logits, last_hidden_state = self.pretrained_model(input_ids)
            if last_hidden_state.device != self.v_head.summary.weight.device:
                last_hidden_state = last_hidden_state.to(self.v_head.summary.weight.device)
            value = self.v_head(last_hidden_state).squeeze(-1)
            # force upcast in fp32 if logits are in half-precision
            if lm_logits.dtype != torch.float32:
                lm_logits = lm_logits.float()
            return (lm_logits, None, value)

    return AutoModelForCausalLMWithValueHead(TinyCausalLM())


def _core(torch_like: Any) -> dict:
    torch, F = torch_like, torch_like.nn.functional

    def logprobs_from_logits(logits: Any, labels: Any, gather: bool = True) -> Any:
        logp = F.log_softmax(logits, dim=2)
        if not gather:
            return logp
        logpy = torch.gather(logp, 2, labels.unsqueeze(2)).squeeze(-1)
        return logpy

    def masked_mean(values: Any, mask: Any, axis: int | None = None) -> Any:
        """Compute mean of tensor with a masked values."""
        if axis is not None:
            return (values * mask).sum(axis=axis) / mask.sum(axis=axis)
        else:
            return (values * mask).sum() / mask.sum()

    def masked_var(values: Any, mask: Any, unbiased: bool = True) -> Any:
        """Compute variance of tensor with masked values."""
        mean = masked_mean(values, mask)
        centered_values = values - mean
        variance = masked_mean(centered_values**2, mask)
        if unbiased:
            mask_sum = mask.sum()
            if mask_sum == 0:
                raise ValueError("The sum of the mask is zero.")
            bessel_correction = mask_sum / (mask_sum - 1)
            variance = variance * bessel_correction
        return variance

    def masked_whiten(values: Any, mask: Any, shift_mean: bool = True) -> Any:
        """Whiten values with masked values."""
        mean, var = masked_mean(values, mask), masked_var(values, mask)
        whitened = (values - mean) * torch.rsqrt(var + 1e-8)
        if not shift_mean:
            whitened += mean
        return whitened

    def clip_by_value(x: Any, tensor_min: Any, tensor_max: Any) -> Any:
        """Tensor extenstion to torch.clamp
        https://github.com/pytorch/pytorch/issues/2793#issuecomment-428784713
        """
        clipped = torch.max(torch.min(x, tensor_max), tensor_min)
        return clipped

    def entropy_from_logits(logits: Any) -> Any:
        """Calculate entropy from logits."""
        pd = torch.nn.functional.softmax(logits, dim=-1)
        entropy = torch.logsumexp(logits, axis=-1) - torch.sum(pd * logits, axis=-1)
        return entropy

    return {
        "logprobs_from_logits": logprobs_from_logits,
        "masked_mean": masked_mean,
        "masked_whiten": masked_whiten,
        "clip_by_value": clip_by_value,
        "entropy_from_logits": entropy_from_logits,
    }


class AdaptiveKLController:
    """Adaptive KL controller described in the paper: https://huggingface.co/papers/1909.08593"""

    def __init__(self, init_kl_coef: float, target: float, horizon: int) -> None:
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current: float, n_steps: int) -> None:
        target = self.target
        proportional_error = np.clip(current / target - 1, -0.2, 0.2)
        mult = 1 + proportional_error * n_steps / self.horizon
        self.value *= mult


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    core = _core(torch_like)
    masked_mean, masked_whiten = core["masked_mean"], core["masked_whiten"]
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    ref_model = copy.deepcopy(model)
    for param in ref_model.parameters():
        param.requires_grad = False
    ref_model = ref_model.eval()
    optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-2)
    kl_ctl = AdaptiveKLController(0.2, 6.0, 10000)
    gamma, lam, cliprange, cliprange_value, vf_coef = 1.0, 0.95, 0.2, 0.2, 0.1
    rng = np.random.default_rng(3)
    values: list[float] = []

    def kl_penalty(kind: str, logprob: Any, ref_logprob: Any) -> Any:
        if kind == "kl":
            return logprob - ref_logprob
        if kind == "abs":
            return (logprob - ref_logprob).abs()
        if kind == "mse":
            return 0.5 * (logprob - ref_logprob).square()
        # "full": flip is required due to torch.kl_div's argument order
        return F.kl_div(ref_logprob, logprob, log_target=True, reduction="none").sum(-1)

    def batched_forward_pass(m: Any, input_ids: Any) -> tuple[Any, Any, Any, Any]:
        logits, _, v = m(input_ids)
        logprobs = core["logprobs_from_logits"](logits[:, :-1, :], input_ids[:, 1:])
        start = Q_LEN - 1
        mask = torch.zeros_like(input_ids[:, 1:], dtype=torch.float)
        mask[:, start:] = 1
        return logprobs, logits[:, :-1, :], v[:, :-1], mask

    for kind in ["kl", "abs", "mse", "full"]:
        queries = as_tensor(torch_like, rng.integers(1, VOCAB, (BATCH, Q_LEN)))
        with torch.no_grad():
            input_ids = queries
            for _ in range(R_LEN):
                logits, _, _ = model(input_ids)
                probs = F.softmax(logits[:, -1, :], dim=-1)
                next_tokens = torch.multinomial(probs, num_samples=1).squeeze(1)
                input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
        responses = input_ids[:, Q_LEN:]
        scores = [((r == 3).float().sum() - 0.5 * (r == 7).float().sum()) for r in responses]

        with torch.no_grad():
            all_logprobs, all_logits, old_values, masks = batched_forward_pass(model, input_ids)
            ref_logprobs, ref_logits, _, _ = batched_forward_pass(ref_model, input_ids)

        # compute_rewards
        rewards, non_score_rewards, kls = [], [], []
        for score, logprob, ref_logprob, mask, lg, rlg in zip(
            scores, all_logprobs, ref_logprobs, masks, all_logits, ref_logits
        ):
            if kind == "full":
                kl = kl_penalty(kind, lg.log_softmax(-1), rlg.log_softmax(-1))
            else:
                kl = kl_penalty(kind, logprob, ref_logprob)
            kls.append(kl)
            non_score_reward = -kl_ctl.value * kl
            non_score_rewards.append(non_score_reward)
            reward = non_score_reward.clone()
            last_non_masked_index = mask.nonzero()[-1]
            reward[last_non_masked_index] += score
            rewards.append(reward)
        rewards = torch.stack(rewards)
        non_score_reward = torch.stack(non_score_rewards)

        # compute_advantages
        lastgaelam = 0
        advantages_reversed = []
        gen_len = rewards.shape[-1]
        old_values = old_values * masks
        rewards = rewards * masks
        for t in reversed(range(gen_len)):
            nextvalues = old_values[:, t + 1] if t < gen_len - 1 else 0.0
            delta = rewards[:, t] + gamma * nextvalues - old_values[:, t]
            lastgaelam = delta + gamma * lam * lastgaelam
            advantages_reversed.append(lastgaelam)
        advantages = torch.stack(advantages_reversed[::-1]).transpose(0, 1)
        returns = advantages + old_values
        advantages = masked_whiten(advantages, masks)
        advantages = advantages.detach()

        for _ppo_epoch in range(1):
            b_inds = rng.permutation(BATCH)
            for start in range(0, BATCH, 2):
                mb = torch.from_numpy(b_inds[start : start + 2])
                logprobs, logits, vpreds, mask = batched_forward_pass(model, input_ids[mb])
                old_logprobs, vals = all_logprobs[mb], old_values[mb]
                adv, ret = advantages[mb], returns[mb]
                vpredclipped = core["clip_by_value"](
                    vpreds, vals - cliprange_value, vals + cliprange_value
                )
                vf_losses1 = (vpreds - ret) ** 2
                vf_losses2 = (vpredclipped - ret) ** 2
                vf_loss = 0.5 * masked_mean(torch.max(vf_losses1, vf_losses2), mask)
                vf_clipfrac = masked_mean(torch.gt(vf_losses2, vf_losses1).float(), mask)
                ratio = torch.exp(logprobs - old_logprobs)
                pg_losses = -adv * ratio
                pg_losses2 = -adv * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
                pg_loss = masked_mean(torch.max(pg_losses, pg_losses2), mask)
                pg_clipfrac = masked_mean(torch.gt(pg_losses2, pg_losses).float(), mask)
                loss = pg_loss + vf_coef * vf_loss
                entropy = masked_mean(core["entropy_from_logits"](logits), mask)
                approxkl = 0.5 * masked_mean((logprobs - old_logprobs) ** 2, mask)
                policykl = masked_mean(old_logprobs - logprobs, mask)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                values += [loss.item(), vf_clipfrac.item(), pg_clipfrac.item(), entropy.item()]
                values += [approxkl.item(), policykl.item()]
        mean_kl = masked_mean(torch.stack(kls), masks, axis=-1).sum(0).mean()
        mean_non_score_reward = masked_mean(non_score_reward, masks, axis=1).sum(0)
        kl_ctl.update(mean_kl.item(), BATCH)
        values += [mean_kl.item(), mean_non_score_reward.item(), kl_ctl.value]
        values += [float(s) for s in scores]
    return values
