"""Chronos time-series language modelling (amazon-science/chronos-forecasting,
``src/chronos/chronos.py``, ``scripts/training/train.py``), size-reduced: series are mean-scaled
and quantised into tokens, an encoder-decoder is trained with cross-entropy on the future's
tokens, and forecasts are sampled token by token and de-quantised into quantiles.

The idioms kept: ``MeanScaleUniformBins`` (``torch.linspace`` centres, ``torch.concat((
torch.tensor([-1e20]), (centers[1:] + centers[:-1]) / 2, torch.tensor([1e20])))``
boundaries; ``context.to(dtype=torch.float32)``, ``attention_mask = ~torch.isnan(context)``,
``torch.nansum(torch.abs(context) * attention_mask, dim=-1) / torch.nansum(attention_mask,
dim=-1)``, ``scale[~(scale > 0)] = 1.0``, ``torch.bucketize(input=..., boundaries=...,
right=True) + n_special_tokens``, ``token_ids.clamp_(0, n_tokens - 1)``, ``token_ids[
~attention_mask] = pad_token_id``; ``_append_eos_token`` with ``torch.full((batch_size, 1),
fill_value=...)``; ``output_transform``'s ``torch.clamp(samples - n_special_tokens - 1,
min=0, max=len(self.centers) - 1)`` and ``self.centers[indices] * scale_unsqueezed``);
``left_pad_and_stack_1D`` (``torch.full(size=(n,), fill_value=torch.nan)`` left padding);
``ChronosDataset.to_hf_format``'s ``labels[labels_mask == 0] = -100``; T5's ``_shift_right``
(``input_ids.new_zeros``, ``[..., 1:] = input_ids[..., :-1].clone()``, ``masked_fill_(
shifted == -100, pad_token_id)``); HF sampling (``TopKLogitsWarper``'s ``scores <
torch.topk(scores, top_k)[0][..., -1, None]`` and ``masked_fill``, temperature,
``torch.multinomial(probs, num_samples=1).squeeze(1)``, ``repeat_interleave`` of the encoder
state over ``num_samples``); ``predict_quantiles``'s ``torch.quantile(predictions,
q=torch.tensor(quantile_levels, dtype=predictions.dtype), dim=-1).permute(1, 2, 0)`` and
``predictions.mean(dim=-1)``.

Changed: T5 (efficient) is a one-layer ``nn.Transformer`` (batch_first, shared embedding) of
width 8, 4096 tokens -> 20, context 512 -> 12, prediction length 64 -> 4, 20 samples -> 3,
the training data are seeded NumPy sine waves with random gaps (NaN) instead of GluonTS
datasets, 5 AdamW steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
N_TOKENS, N_SPECIAL, PAD_ID, EOS_ID = 20, 2, 0, 1
CONTEXT, PRED, D = 12, 4, 8


class ChronosConfig:
    n_tokens = N_TOKENS
    n_special_tokens = N_SPECIAL
    pad_token_id = PAD_ID
    eos_token_id = EOS_ID
    use_eos_token = True
    model_type = "seq2seq"
    context_length = CONTEXT
    prediction_length = PRED


def _tokenizer(torch: Any) -> type:
    class MeanScaleUniformBins:
        def __init__(self, low_limit: float, high_limit: float, config: Any) -> None:
            self.config = config
            self.centers = torch.linspace(
                low_limit, high_limit, config.n_tokens - config.n_special_tokens - 1
            )
            self.boundaries = torch.concat(
                (
                    torch.tensor([-1e20], device=self.centers.device),
                    (self.centers[1:] + self.centers[:-1]) / 2,
                    torch.tensor([1e20], device=self.centers.device),
                )
            )

        def _input_transform(self, context: Any, scale: Any = None) -> tuple:
            context = context.to(dtype=torch.float32)
            attention_mask = ~torch.isnan(context)
            if scale is None:
                scale = torch.nansum(torch.abs(context) * attention_mask, dim=-1) / torch.nansum(
                    attention_mask, dim=-1
                )
                scale[~(scale > 0)] = 1.0
            scaled_context = context / scale.unsqueeze(dim=-1)
            token_ids = (
                torch.bucketize(
                    input=scaled_context,
                    boundaries=self.boundaries,
                    # buckets are open to the right, see:
                    # https://pytorch.org/docs/2.1/generated/torch.bucketize.html#torch-bucketize
                    right=True,
                )
                + self.config.n_special_tokens
            )
            token_ids.clamp_(0, self.config.n_tokens - 1)
            token_ids[~attention_mask] = self.config.pad_token_id
            return token_ids, attention_mask, scale

        def _append_eos_token(self, token_ids: Any, attention_mask: Any) -> tuple:
            batch_size = token_ids.shape[0]
            eos_tokens = torch.full((batch_size, 1), fill_value=self.config.eos_token_id)
            token_ids = torch.concat((token_ids, eos_tokens), dim=1)
            eos_mask = torch.full((batch_size, 1), fill_value=True)
            attention_mask = torch.concat((attention_mask, eos_mask), dim=1)
            return token_ids, attention_mask

        def context_input_transform(self, context: Any) -> tuple:
            length = context.shape[-1]
            if length > self.config.context_length:
                context = context[..., -self.config.context_length :]
            token_ids, attention_mask, scale = self._input_transform(context=context)
            if self.config.use_eos_token and self.config.model_type == "seq2seq":
                token_ids, attention_mask = self._append_eos_token(
                    token_ids=token_ids, attention_mask=attention_mask
                )
            return token_ids, attention_mask, scale

        def label_input_transform(self, label: Any, scale: Any) -> tuple:
            length = label.shape[-1]
            assert length == self.config.prediction_length
            token_ids, attention_mask, _ = self._input_transform(context=label, scale=scale)
            if self.config.use_eos_token:
                token_ids, attention_mask = self._append_eos_token(
                    token_ids=token_ids, attention_mask=attention_mask
                )
            return token_ids, attention_mask

        def output_transform(self, samples: Any, scale: Any) -> Any:
            scale_unsqueezed = scale.unsqueeze(-1).unsqueeze(-1)
            indices = torch.clamp(
                samples - self.config.n_special_tokens - 1,
                min=0,
                max=len(self.centers) - 1,
            )
            return self.centers[indices] * scale_unsqueezed

    return MeanScaleUniformBins


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyChronosT5(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.shared = nn.Embedding(N_TOKENS, D)
            self.transformer = nn.Transformer(d_model=D, nhead=2, num_encoder_layers=1,
                                              num_decoder_layers=1, dim_feedforward=16,
                                              dropout=0.0, batch_first=True)  # fmt: skip
            self.lm_head = nn.Linear(D, N_TOKENS, bias=False)

        def encode(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.transformer.encoder(
                self.shared(input_ids), src_key_padding_mask=~attention_mask
            )

        def decode(self, decoder_input_ids: Any, memory: Any, attention_mask: Any) -> Any:
            t = decoder_input_ids.shape[1]
            causal = nn.Transformer.generate_square_subsequent_mask(t)
            out = self.transformer.decoder(self.shared(decoder_input_ids), memory,
                                           tgt_mask=causal,
                                           memory_key_padding_mask=~attention_mask)  # fmt: skip
            return self.lm_head(out)

    return TinyChronosT5()


def _shift_right(input_ids: Any, decoder_start_token_id: int, pad_token_id: int) -> Any:
    shifted_input_ids = input_ids.new_zeros(input_ids.shape)
    shifted_input_ids[..., 1:] = input_ids[..., :-1].clone()
    shifted_input_ids[..., 0] = decoder_start_token_id
    shifted_input_ids.masked_fill_(shifted_input_ids == -100, pad_token_id)
    return shifted_input_ids


def left_pad_and_stack_1D(torch: Any, tensors: list) -> Any:
    max_len = max(len(c) for c in tensors)
    padded = []
    for c in tensors:
        assert isinstance(c, torch.Tensor)
        assert c.ndim == 1
        padding = torch.full(size=(max_len - len(c),), fill_value=torch.nan, device=c.device)
        padded.append(torch.concat((padding, c), dim=-1))
    return torch.stack(padded)


def _series(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(CONTEXT + PRED)
    y = rng.uniform(0.5, 3) * np.sin(2 * np.pi * t / rng.uniform(4, 9)) + rng.uniform(-1, 2)
    y[rng.random(len(y)) < 0.1] = np.nan
    return y.astype(np.float32)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    config = ChronosConfig()
    tokenizer = _tokenizer(torch)(-3.0, 3.0, config)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    loss_fct = torch.nn.CrossEntropyLoss(ignore_index=-100)
    rng = np.random.default_rng(4096)
    values: list[float] = []
    for _step in range(5):
        entries = []
        for _ in range(3):
            series = as_tensor(torch, _series(rng))
            past_target, future_target = series[:CONTEXT], series[CONTEXT:]
            input_ids, attention_mask, scale = tokenizer.context_input_transform(
                past_target.unsqueeze(0)
            )
            labels, labels_mask = tokenizer.label_input_transform(future_target.unsqueeze(0), scale)
            labels[labels_mask == 0] = -100
            entries.append((input_ids.squeeze(0), attention_mask.squeeze(0), labels.squeeze(0)))
        input_ids = torch.stack([e[0] for e in entries])
        attention_mask = torch.stack([e[1] for e in entries])
        labels = torch.stack([e[2] for e in entries])
        decoder_input_ids = _shift_right(labels, PAD_ID, PAD_ID)
        memory = model.encode(input_ids, attention_mask)
        lm_logits = model.decode(decoder_input_ids, memory, attention_mask)
        loss = loss_fct(lm_logits.view(-1, lm_logits.size(-1)), labels.view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    # ChronosPipeline.predict on ragged contexts, then predict_quantiles
    model.eval()
    torch.manual_seed(7)
    context = left_pad_and_stack_1D(
        torch, [as_tensor(torch, _series(rng)[: CONTEXT - k]) for k in (0, 3)]
    )
    num_samples, top_k, temperature = 3, 5, 0.9
    with torch.no_grad():
        token_ids, attention_mask, scale = tokenizer.context_input_transform(context)
        memory = model.encode(token_ids, attention_mask)
        memory = memory.repeat_interleave(num_samples, dim=0)
        attention_mask = attention_mask.repeat_interleave(num_samples, dim=0)
        generated = torch.full((memory.shape[0], 1), PAD_ID, dtype=torch.long)
        for _ in range(PRED):
            scores = model.decode(generated, memory, attention_mask)[:, -1, :] / temperature
            indices_to_remove = scores < torch.topk(scores, top_k)[0][..., -1, None]
            scores = scores.masked_fill(indices_to_remove, -float("Inf"))
            probs = torch.nn.functional.softmax(scores, dim=-1)
            next_tokens = torch.multinomial(probs, num_samples=1).squeeze(1)
            generated = torch.cat([generated, next_tokens[:, None]], dim=-1)
        samples = generated[..., 1:].reshape(context.size(0), num_samples, -1)
        prediction = tokenizer.output_transform(samples, scale)
    predictions = prediction.swapaxes(1, 2)  # (batch, prediction_length, num_samples)
    quantile_levels = [0.1, 0.5, 0.9]
    quantiles = torch.quantile(
        predictions, q=torch.tensor(quantile_levels, dtype=predictions.dtype), dim=-1
    ).permute(1, 2, 0)
    mean = predictions.mean(dim=-1)
    values += [float(samples.sum()), float(quantiles.sum()), float(mean.sum()), float(scale.sum())]
    return values
