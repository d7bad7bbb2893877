"""A Hugging Face ``accelerate`` example (``examples/nlp_example.py`` with
``by_feature/gradient_accumulation.py`` and ``by_feature/checkpointing.py``) with the
``Accelerator`` written out as the plain PyTorch it runs on a CPU, size-reduced.

The idioms: ``torch.autocast(device_type="cpu", dtype=torch.bfloat16)`` as
``accelerator.autocast()`` around the forward, with ``torch.is_autocast_enabled("cpu")``,
``torch.get_autocast_dtype("cpu")`` and the ``logits.float()`` upcast before the loss (the
``convert_outputs_to_fp32`` wrapper); ``get_linear_schedule_with_warmup`` and
``get_cosine_schedule_with_warmup`` written as ``LambdaLR(optimizer, lr_lambda, last_epoch)``
over closures (``float(current_step) / float(max(1, num_warmup_steps))``, ``max(0.0,
float(num_training_steps - current_step) / float(max(1, num_training_steps -
num_warmup_steps)))``, ``0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))``);
a ``collate_fn`` padding with ``torch.nn.utils.rnn.pad_sequence(..., batch_first=True,
padding_value=pad_id)`` to ``pad_to_multiple_of=8`` (``F.pad(input_ids, (0, extra),
value=pad_id)``) and building ``attention_mask = (input_ids != pad_id).long()``; the model's
masked mean pooling (``(hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)``)
returning a ``ModelOutput``-like dataclass with ``outputs.loss`` / ``outputs.logits``; the loop
``loss = outputs.loss / gradient_accumulation_steps``, ``loss.backward()``, ``if step %
gradient_accumulation_steps == 0:`` ``torch.nn.utils.clip_grad_norm_(model.parameters(),
max_norm=1.0)``, ``optimizer.step()``, ``lr_scheduler.step()``, ``optimizer.zero_grad(
set_to_none=True)``; ``AdamW(params=model.parameters(), lr=lr)``; ``model.eval()`` /
``torch.no_grad()`` evaluation with ``predictions = outputs.logits.argmax(dim=-1)`` and a
``gather_for_metrics`` that ``torch.cat``s the batches; ``save_state`` / ``load_state`` of the
model, optimizer, scheduler and RNG states (``torch.get_rng_state()``, ``torch.set_rng_state``,
``np.random.get_state()``, ``random.getstate()``) through ``torch.save`` into ``io.BytesIO`` and
``torch.load(..., weights_only=False)``, after which training resumes like the uninterrupted run
(a ``torch.rand`` draw after ``set_rng_state`` repeats the saved stream in each framework).

Changed: the BERT model on GLUE MRPC is a tiny embedding + GELU MLP classifier over 16 NumPy
token sequences; 3 epochs of 4 micro-batches with accumulation 2; ``accelerate`` itself is not
used. The compared run is float32; the bfloat16 run is compared with the float32 run within a
tolerance (bfloat16 keeps 8 bits of mantissa, and the two frameworks may round different
intermediates) instead of step by step.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import load_numpy_state

DTYPE = "float32"
VOCAB, DIM, N_LABELS, PAD_ID = 20, 8, 2, 0
BATCH, ACCUM, EPOCHS = 4, 2, 3


def _model_class(torch_like: Any) -> Any:
    nn, F = torch_like.nn, torch_like.nn.functional

    @dataclass
    class SequenceClassifierOutput:
        loss: Any = None
        logits: Any = None

    class TinyClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = nn.Embedding(VOCAB, DIM, padding_idx=PAD_ID)
            self.dense = nn.Linear(DIM, DIM)
            self.LayerNorm = nn.LayerNorm(DIM)
            self.classifier = nn.Linear(DIM, N_LABELS)

        def forward(self, input_ids: Any, attention_mask: Any, labels: Any = None) -> Any:
            hidden = self.LayerNorm(F.gelu(self.dense(self.embeddings(input_ids))))
            mask = attention_mask.to(hidden.dtype)
            pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
            logits = self.classifier(pooled)
            loss = None
            if labels is not None:
                loss = F.cross_entropy(logits.float().view(-1, N_LABELS), labels.view(-1))
            return SequenceClassifierOutput(loss=loss, logits=logits)

    return TinyClassifier


def make_model(torch_like: Any) -> Any:
    return _model_class(torch_like)()


def _schedules(torch: Any) -> tuple[Any, Any]:
    LambdaLR = torch.optim.lr_scheduler.LambdaLR

    def get_linear_schedule_with_warmup(
        optimizer: Any, num_warmup_steps: int, num_training_steps: int, last_epoch: int = -1
    ) -> Any:
        def lr_lambda(current_step: int) -> float:
            if current_step < num_warmup_steps:
                return float(current_step) / float(max(1, num_warmup_steps))
            return max(
                0.0,
                float(num_training_steps - current_step)
                / float(max(1, num_training_steps - num_warmup_steps)),
            )

        return LambdaLR(optimizer, lr_lambda, last_epoch)

    def get_cosine_schedule_with_warmup(
        optimizer: Any,
        num_warmup_steps: int,
        num_training_steps: int,
        num_cycles: float = 0.5,
        last_epoch: int = -1,
    ) -> Any:
        def lr_lambda(current_step: int) -> float:
            if current_step < num_warmup_steps:
                return float(current_step) / float(max(1, num_warmup_steps))
            progress = float(current_step - num_warmup_steps) / float(
                max(1, num_training_steps - num_warmup_steps)
            )
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))

        return LambdaLR(optimizer, lr_lambda, last_epoch)

    return get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup


def _data(rng: np.random.Generator, n: int) -> list[dict]:
    rows = []
    for _ in range(n):
        length = int(rng.integers(3, 11))
        ids = rng.integers(1, VOCAB, length)
        rows.append({"input_ids": ids.tolist(), "labels": int((ids % 2 == 0).sum() * 2 > length)})
    return rows


def _train(torch: Any, init: dict, bf16: bool, values: list[float]) -> list[float]:
    F, data = torch.nn.functional, torch.utils.data
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    linear_warmup, cosine_warmup = _schedules(torch)
    rng = np.random.default_rng(5)
    train_rows, eval_rows = _data(rng, 16), _data(rng, 8)
    losses: list[float] = []

    def collate_fn(examples: list[dict]) -> dict:
        # When using mixed precision we want round multiples of 8/16
        pad_to_multiple_of = 8 if bf16 else None
        input_ids = pad_sequence(
            [torch.tensor(e["input_ids"]) for e in examples],
            batch_first=True,
            padding_value=PAD_ID,
        )
        if pad_to_multiple_of is not None and input_ids.shape[1] % pad_to_multiple_of:
            extra = pad_to_multiple_of - input_ids.shape[1] % pad_to_multiple_of
            input_ids = F.pad(input_ids, (0, extra), value=PAD_ID)
        return {
            "input_ids": input_ids,
            "attention_mask": (input_ids != PAD_ID).long(),
            "labels": torch.tensor([e["labels"] for e in examples]),
        }

    train_dataloader = data.DataLoader(
        train_rows, shuffle=False, collate_fn=collate_fn, batch_size=BATCH
    )
    eval_dataloader = data.DataLoader(
        eval_rows, shuffle=False, collate_fn=collate_fn, batch_size=BATCH
    )

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(params=model.parameters(), lr=2e-2)
    num_training_steps = (len(train_dataloader) * EPOCHS) // ACCUM
    lr_scheduler = linear_warmup(
        optimizer, num_warmup_steps=2, num_training_steps=num_training_steps
    )
    autocast = torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16)

    def save_state() -> bytes:
        buffer = io.BytesIO()
        states = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": lr_scheduler.state_dict(),
            "random_state": random.getstate(),
            "numpy_random_seed": np.random.get_state(),
            "torch_manual_seed": torch.get_rng_state(),
        }
        torch.save(states, buffer)
        return buffer.getvalue()

    def load_state(blob: bytes) -> None:
        states = torch.load(io.BytesIO(blob), weights_only=False)
        model.load_state_dict(states["model"])
        optimizer.load_state_dict(states["optimizer"])
        lr_scheduler.load_state_dict(states["scheduler"])
        random.setstate(states["random_state"])
        np.random.set_state(states["numpy_random_seed"])
        torch.set_rng_state(states["torch_manual_seed"])

    checkpoint = None
    for epoch in range(EPOCHS):
        model.train()
        for step, batch in enumerate(train_dataloader, start=1):
            with autocast:
                if bf16:
                    values.append(float(torch.is_autocast_enabled("cpu")))
                    values.append(float(torch.get_autocast_dtype("cpu") == torch.bfloat16))
                outputs = model(**batch)
            if bf16 and step == 1:
                values.append(float(outputs.logits.dtype == torch.bfloat16))
                values.append(float(outputs.loss.dtype == torch.float32))
            loss = outputs.loss
            loss = loss / ACCUM
            loss.backward()
            losses.append(outputs.loss.item())
            if step % ACCUM == 0:
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                losses += [norm.item(), lr_scheduler.get_last_lr()[0]]
        model.eval()
        all_predictions, all_labels = [], []
        for batch in eval_dataloader:
            with torch.no_grad(), autocast:
                outputs = model(**batch)
            predictions = outputs.logits.argmax(dim=-1)
            all_predictions.append(predictions)
            all_labels.append(batch["labels"])
        predictions, references = torch.cat(all_predictions), torch.cat(all_labels)
        accuracy = (predictions == references).float().mean().item()
        losses.append(accuracy)
        if epoch == 0 and not bf16:
            checkpoint = save_state()
            stream = torch.rand(3)
            resumed_from = len(losses)

    if checkpoint is not None:
        load_state(checkpoint)
        values.append(float(torch.equal(torch.rand(3), stream)))
        values.append(float(lr_scheduler.last_epoch == len(train_dataloader) // ACCUM))
        replay: list[float] = []
        for _epoch in range(1, EPOCHS):
            model.train()
            for step, batch in enumerate(train_dataloader, start=1):
                outputs = model(**batch)
                (outputs.loss / ACCUM).backward()
                replay.append(outputs.loss.item())
                if step % ACCUM == 0:
                    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
                    optimizer.step()
                    lr_scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    replay += [norm.item(), lr_scheduler.get_last_lr()[0]]
            replay.append(losses[resumed_from + len(replay)])  # the accuracy slot
        values.append(float(np.allclose(replay, losses[resumed_from:], rtol=1e-6, atol=1e-7)))

    # the cosine schedule's multipliers, as logged
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = cosine_warmup(opt, num_warmup_steps=2, num_training_steps=8, num_cycles=0.5)
    for _ in range(8):
        opt.step()
        sched.step()
        values.append(sched.get_last_lr()[0])
    return losses


def run(torch_like: Any, init: dict) -> list[float]:
    values: list[float] = []
    fp32 = _train(torch_like, init, bf16=False, values=values)
    bf16 = _train(torch_like, init, bf16=True, values=values)
    close = np.allclose(bf16, fp32, rtol=5e-2, atol=5e-2)
    return values + fp32 + [float(close)]
