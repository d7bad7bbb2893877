"""HuggingFace NLP course, chapter 7 section 6, "Training a causal language model from scratch"
(huggingface/course, ``chapters/en/chapter7/6.mdx``, the "Training with 🤗 Accelerate" part
without Accelerate): ``keytoken_weighted_loss`` (``CrossEntropyLoss(reduce=False)``, the legacy
argument, on ``logits[..., :-1, :].contiguous()`` and ``inputs[..., 1:].contiguous()``, whose
deprecation warning is checked here, ``loss.view(logits.size(0), logits.size(1)).mean(axis=1)``,
``torch.stack([(inputs == kt).float() for kt in keytoken_ids]).sum(axis=[0, 2])``, ``alpha *
(1.0 + weights)``), ``get_grouped_params`` (no weight decay for ``"bias"`` and
``"LayerNorm.weight"`` names), ``evaluate`` (``losses.append(outputs.loss)``,
``torch.mean(torch.cat(losses))`` over ``loss.reshape(1)``, ``torch.exp(loss)`` as perplexity
with the ``OverflowError`` guard), and the loop with ``gradient_accumulation_steps`` (``loss =
loss / gradient_accumulation_steps``, ``torch.nn.utils.clip_grad_norm_(model.parameters(),
1.0)`` before each step) and the transformers ``get_scheduler(name="linear",
num_warmup_steps=..., ...)`` (its ``LambdaLR`` lambda written out, as
``transformers.optimization`` defines it).

Changed: GPT-2 (``GPT2LMHeadModel``) -> a two-layer causal Transformer of 8-dim embeddings with
a ``LayerNorm`` and an ``lm_head`` whose ``outputs.loss`` is computed as GPT-2's (shifted
``CrossEntropyLoss``); the codeparrot data -> seeded token ids (vocab 12, keytokens ``[3, 5]``
for "plt", "pd", ...), context 128 -> 8, batch 32 -> 4, 8 accumulation steps -> 2, 1000 warmup
steps -> 2, lr 5e-4 kept, one epoch of 12 batches.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

VOCAB, D, CTX = 12, 8, 8


def make_model(torch_like: Any) -> Any:
    nn, torch = torch_like.nn, torch_like

    class Output(dict):
        __getattr__ = dict.__getitem__

    class TinyCausalLM(nn.Module):
        """A stand-in for ``GPT2LMHeadModel``: ``model(batch, labels=batch)`` returns
        ``.logits`` and ``.loss`` (labels shifted inside, as GPT-2's)."""

        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D)
            self.wpe = nn.Embedding(CTX, D)
            layer = nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True)
            self.h = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.LayerNorm = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, VOCAB, bias=False)

        def forward(self, input_ids, labels=None):  # noqa: ANN001, ANN202
            n = input_ids.shape[1]
            x = self.wte(input_ids) + self.wpe(torch.arange(n))
            mask = nn.Transformer.generate_square_subsequent_mask(n)
            logits = self.lm_head(self.LayerNorm(self.h(x, mask=mask, is_causal=True)))
            out = Output(logits=logits)
            if labels is not None:
                shift_logits = logits[..., :-1, :].contiguous()
                shift_labels = labels[..., 1:].contiguous()
                out["loss"] = nn.CrossEntropyLoss()(
                    shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1)
                )
            return out

    return TinyCausalLM()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    CrossEntropyLoss = torch.nn.CrossEntropyLoss
    AdamW = torch.optim.AdamW
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(11)
    train = [torch.tensor(rng.integers(0, VOCAB, size=(4, CTX))) for _ in range(12)]
    valid = [torch.tensor(rng.integers(0, VOCAB, size=(4, CTX))) for _ in range(2)]
    train_dataloader = [{"input_ids": b} for b in train]
    eval_dataloader = [{"input_ids": b} for b in valid]
    keytoken_ids = [3, 5]

    def keytoken_weighted_loss(inputs, logits, keytoken_ids, alpha=1.0):  # noqa: ANN001, ANN202
        # Shift so that tokens < n predict n
        shift_labels = inputs[..., 1:].contiguous()
        shift_logits = logits[..., :-1, :].contiguous()
        # Calculate per-token loss
        with warnings.catch_warnings(record=True) as caught:  # (the script shows it)
            warnings.simplefilter("always")
            loss_fct = CrossEntropyLoss(reduce=False)
        assert "size_average and reduce args will be deprecated" in str(caught[0].message)
        loss = loss_fct(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
        # Resize and average loss per sample
        loss_per_sample = loss.view(shift_logits.size(0), shift_logits.size(1)).mean(axis=1)
        # Calculate and scale weighting
        weights = torch.stack([(inputs == kt).float() for kt in keytoken_ids]).sum(axis=[0, 2])
        weights = alpha * (1.0 + weights)
        # Calculate weighted average
        weighted_loss = (loss_per_sample * weights).mean()
        return weighted_loss

    weight_decay = 0.1

    def get_grouped_params(model, no_decay=["bias", "LayerNorm.weight"]):  # noqa: ANN001, ANN202, B006
        params_with_wd, params_without_wd = [], []
        for n, p in model.named_parameters():
            if any(nd in n for nd in no_decay):
                params_without_wd.append(p)
            else:
                params_with_wd.append(p)
        return [
            {"params": params_with_wd, "weight_decay": weight_decay},
            {"params": params_without_wd, "weight_decay": 0.0},
        ]

    def evaluate():  # noqa: ANN202
        model.eval()
        losses = []
        for step, batch in enumerate(eval_dataloader):  # noqa: B007
            with torch.no_grad():
                outputs = model(batch["input_ids"], labels=batch["input_ids"])

            losses.append(outputs.loss.reshape(1))
        loss = torch.mean(torch.cat(losses))
        try:
            perplexity = torch.exp(loss)
        except OverflowError:
            perplexity = float("inf")
        return loss.item(), perplexity.item()

    def get_scheduler(name, optimizer, num_warmup_steps, num_training_steps):  # noqa: ANN001, ANN202
        assert name == "linear"

        def lr_lambda(current_step: int):  # noqa: ANN202
            if current_step < num_warmup_steps:
                return float(current_step) / float(max(1, num_warmup_steps))
            return max(0.0, float(num_training_steps - current_step) / float(
                max(1, num_training_steps - num_warmup_steps)))  # fmt: skip

        return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, -1)

    optimizer = AdamW(get_grouped_params(model), lr=5e-4)
    gradient_accumulation_steps = 2
    num_train_epochs = 1
    num_update_steps_per_epoch = len(train_dataloader)
    num_training_steps = num_train_epochs * num_update_steps_per_epoch
    lr_scheduler = get_scheduler(
        name="linear",
        optimizer=optimizer,
        num_warmup_steps=2,
        num_training_steps=num_training_steps,
    )
    out: list[float] = list(evaluate())
    eval_steps = 4
    model.train()
    completed_steps = 0
    for epoch in range(num_train_epochs):  # noqa: B007
        for step, batch in enumerate(train_dataloader, start=1):
            logits = model(batch["input_ids"]).logits
            loss = keytoken_weighted_loss(batch["input_ids"], logits, keytoken_ids)
            out.append(loss.item())
            loss = loss / gradient_accumulation_steps
            loss.backward()
            if step % gradient_accumulation_steps == 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
                completed_steps += 1
                out.append(lr_scheduler.get_last_lr()[0])
            if (step % (eval_steps * gradient_accumulation_steps)) == 0:
                eval_loss, perplexity = evaluate()
                out += [eval_loss, perplexity]
                model.train()
    return out
