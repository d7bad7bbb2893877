"""Hugging Face ``transformers.Trainer``'s inner training loop written out by hand, the way
``Trainer._inner_training_loop`` / ``training_step`` / ``evaluation_loop`` and the
``EarlyStoppingCallback`` run it, size-reduced: ``get_linear_schedule_with_warmup`` as a
``LambdaLR`` over ``functools.partial(_get_linear_schedule_with_warmup_lr_lambda, ...)``;
``AdamW`` with the no-decay parameter groups chosen by name (``no_decay = ["bias",
"LayerNorm.weight"]``, ``any(nd in n for nd in no_decay)`` over ``model.named_parameters()``);
gradient accumulation over micro-batches (``loss = loss / args.gradient_accumulation_steps``,
``tr_loss += loss.detach()``, the step taken when ``(step + 1) % gradient_accumulation_steps == 0``
or at the epoch's last micro-batch); ``torch.nn.utils.clip_grad_norm_(model.parameters(),
args.max_grad_norm)`` whose returned norm is logged with ``.item()``; ``optimizer.step();
lr_scheduler.step(); optimizer.zero_grad(set_to_none=True)`` and the logged
``lr_scheduler.get_last_lr()[0]``; ``torch.autocast("cpu", dtype=torch.bfloat16)`` around the
forward when ``args.bf16`` (``autocast_smart_context_manager``); ``model.train()`` /
``model.eval()`` switching (dropout on and off); evaluation under ``torch.inference_mode()`` with
the logits and labels of every batch gathered by ``torch.cat`` and ``compute_metrics`` as
``logits.argmax(-1).eq(labels).float().mean()``; early stopping on ``eval_loss`` with
``early_stopping_patience`` / ``early_stopping_threshold``; and the best checkpoint's
``model.state_dict()``, ``optimizer.state_dict()`` and ``lr_scheduler.state_dict()`` saved with
``torch.save`` (into ``io.BytesIO``) and restored with ``load_state_dict``
(``load_best_model_at_end``), after which training resumes exactly as the uninterrupted run.

Changed: the pretrained model is a tiny embedding-bag + LayerNorm encoder with a classification
head; the dataset is 24 NumPy token sequences labelled by a token's presence; dropout is 0.0 in the
compared float32 run (random masks cannot agree between two frameworks) and 0.5 in a run that only
checks ``train()``/``eval()`` behaviour; bfloat16 losses are compared against the float32 run
within a tolerance instead of step by step.
"""

from __future__ import annotations

import copy
import functools
import io
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

DTYPE = "float32"
VOCAB, SEQ, HIDDEN, LABELS = 10, 6, 16, 2
N_TRAIN, N_EVAL, MICRO_BATCH, ACCUM = 16, 8, 4, 3


class TrainingArguments:
    learning_rate = 5e-2
    weight_decay = 0.1
    adam_beta1, adam_beta2, adam_epsilon = 0.9, 0.999, 1e-8
    max_grad_norm = 1.0
    num_train_epochs = 6
    warmup_steps = 2
    gradient_accumulation_steps = ACCUM
    per_device_train_batch_size = MICRO_BATCH
    bf16 = False
    early_stopping_patience = 2
    early_stopping_threshold = 1e-3


class ModelOutput(dict):
    """``transformers.utils.ModelOutput``: a dict whose keys read as attributes."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


def make_model(torch_like: Any, dropout: float = 0.0) -> Any:
    nn = torch_like.nn

    class TinyEncoderForSequenceClassification(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = nn.Embedding(VOCAB, HIDDEN, padding_idx=0)
            self.dense = nn.Linear(HIDDEN, HIDDEN)
            self.LayerNorm = nn.LayerNorm(HIDDEN, eps=1e-12)
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(HIDDEN, LABELS)

        def forward(self, input_ids: Any, attention_mask: Any, labels: Any = None) -> Any:
            h = self.embeddings(input_ids)
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            pooled = self.LayerNorm(torch_like.tanh(self.dense(pooled)) + pooled)
            logits = self.classifier(self.dropout(pooled))
            loss = None
            if labels is not None:
                loss_fct = nn.CrossEntropyLoss()
                loss = loss_fct(logits.view(-1, LABELS), labels.view(-1))
            return ModelOutput(loss=loss, logits=logits)

    return TinyEncoderForSequenceClassification()


def _get_linear_schedule_with_warmup_lr_lambda(
    current_step: int, *, num_warmup_steps: int, num_training_steps: int
) -> float:
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    return max(
        0.0,
        float(num_training_steps - current_step)
        / float(max(1, num_training_steps - num_warmup_steps)),
    )


def get_linear_schedule_with_warmup(
    torch_like: Any,
    optimizer: Any,
    num_warmup_steps: int,
    num_training_steps: int,
    last_epoch: int = -1,
) -> Any:
    lr_lambda = functools.partial(
        _get_linear_schedule_with_warmup_lr_lambda,
        num_warmup_steps=num_warmup_steps,
        num_training_steps=num_training_steps,
    )
    return torch_like.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)


def _data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, size=(n, SEQ))
    lengths = rng.integers(2, SEQ + 1, size=n)
    mask = (np.arange(SEQ)[None, :] < lengths[:, None]).astype(np.int64)
    ids = ids * mask
    labels = ((ids == 3).any(1) | (ids == 7).any(1)).astype(np.int64)
    return ids, mask, labels


def _batches(torch_like: Any, data: tuple, batch_size: int) -> list[dict]:
    ids, mask, labels = data
    out = []
    for i in range(0, len(ids), batch_size):
        out.append(
            {
                "input_ids": as_tensor(torch_like, ids[i : i + batch_size]),
                "attention_mask": as_tensor(torch_like, mask[i : i + batch_size]),
                "labels": as_tensor(torch_like, labels[i : i + batch_size]),
            }
        )
    return out


class Trainer:
    def __init__(self, torch_like: Any, model: Any, args: Any, train: list, evals: list) -> None:
        self.torch, self.model, self.args = torch_like, model, args
        self.train_dataloader, self.eval_dataloader = train, evals
        self.log_history: list[float] = []
        self.eval_losses: list[float] = []
        self.create_optimizer_and_scheduler()
        self.best_metric: float | None = None
        self.best_checkpoint: dict | None = None
        self.patience_counter = 0
        self.global_step = 0

    def num_update_steps(self) -> int:
        per_epoch = math.ceil(len(self.train_dataloader) / self.args.gradient_accumulation_steps)
        return per_epoch * self.args.num_train_epochs

    def create_optimizer_and_scheduler(self) -> None:
        args = self.args
        no_decay = ["bias", "LayerNorm.weight"]
        optimizer_grouped_parameters = [
            {
                "params": [
                    p
                    for n, p in self.model.named_parameters()
                    if not any(nd in n for nd in no_decay) and p.requires_grad
                ],
                "weight_decay": args.weight_decay,
            },
            {
                "params": [
                    p
                    for n, p in self.model.named_parameters()
                    if any(nd in n for nd in no_decay) and p.requires_grad
                ],
                "weight_decay": 0.0,
            },
        ]
        self.optimizer = self.torch.optim.AdamW(
            optimizer_grouped_parameters,
            lr=args.learning_rate,
            betas=(args.adam_beta1, args.adam_beta2),
            eps=args.adam_epsilon,
        )
        self.lr_scheduler = get_linear_schedule_with_warmup(
            self.torch, self.optimizer, args.warmup_steps, self.num_update_steps()
        )

    def autocast_smart_context_manager(self) -> Any:
        return self.torch.autocast("cpu", dtype=self.torch.bfloat16, enabled=self.args.bf16)

    def compute_loss(self, model: Any, inputs: dict) -> Any:
        with self.autocast_smart_context_manager():
            outputs = model(**inputs)
        return outputs["loss"] if isinstance(outputs, dict) else outputs[0]

    def training_step(self, model: Any, inputs: dict) -> Any:
        model.train()
        loss = self.compute_loss(model, inputs)
        loss = loss / self.args.gradient_accumulation_steps
        loss.backward()
        return loss.detach()

    def evaluate(self) -> dict:
        torch = self.torch
        model = self.model
        model.eval()
        all_logits, all_labels, losses = [], [], []
        with torch.inference_mode():
            for inputs in self.eval_dataloader:
                with self.autocast_smart_context_manager():
                    outputs = model(**inputs)
                losses.append(outputs.loss.float().repeat(inputs["labels"].shape[0]))
                all_logits.append(outputs.logits.float())
                all_labels.append(inputs["labels"])
        logits = torch.cat(all_logits, dim=0)
        labels = torch.cat(all_labels, dim=0)
        eval_loss = torch.cat(losses).mean().item()
        accuracy = logits.argmax(-1).eq(labels).float().mean().item()
        assert torch.is_inference_mode_enabled() is False
        assert logits.requires_grad is False and all_logits[0].is_inference()
        assert not logits.is_inference()  # made outside inference_mode
        return {"eval_loss": eval_loss, "eval_accuracy": accuracy}

    def _save_checkpoint(self) -> dict:
        files = {}
        for name, obj in (
            ("model", self.model),
            ("optimizer", self.optimizer),
            ("scheduler", self.lr_scheduler),
        ):
            buffer = io.BytesIO()
            self.torch.save(obj.state_dict(), buffer)
            files[name] = buffer.getvalue()
        files["global_step"] = self.global_step
        return files

    def _load_checkpoint(self, files: dict) -> None:
        torch = self.torch
        self.model.load_state_dict(torch.load(io.BytesIO(files["model"])))
        self.optimizer.load_state_dict(torch.load(io.BytesIO(files["optimizer"])))
        self.lr_scheduler.load_state_dict(torch.load(io.BytesIO(files["scheduler"])))
        self.global_step = files["global_step"]

    def on_evaluate(self, metrics: dict) -> bool:
        """``EarlyStoppingCallback`` + ``load_best_model_at_end``: True stops training."""
        metric = metrics["eval_loss"]
        if self.best_metric is None or metric < self.best_metric - (
            self.args.early_stopping_threshold
        ):
            self.best_metric = metric
            self.patience_counter = 0
            self.best_checkpoint = self._save_checkpoint()
        else:
            self.patience_counter += 1
        return self.patience_counter >= self.args.early_stopping_patience

    def train_epoch(self) -> bool:
        args, model = self.args, self.model
        tr_loss = self.torch.tensor(0.0)
        steps_in_epoch = len(self.train_dataloader)
        for step, inputs in enumerate(self.train_dataloader):
            tr_loss += self.training_step(model, inputs)
            last = step + 1 == steps_in_epoch
            if (step + 1) % args.gradient_accumulation_steps == 0 or last:
                grad_norm = self.torch.nn.utils.clip_grad_norm_(
                    model.parameters(), args.max_grad_norm
                )
                self.optimizer.step()
                self.lr_scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.global_step += 1
                self.log_history += [
                    grad_norm.item(),
                    self.lr_scheduler.get_last_lr()[0],
                    float(all(p.grad is None for p in model.parameters())),
                ]
        self.log_history.append(tr_loss.item())
        metrics = self.evaluate()
        self.log_history += [metrics["eval_loss"], metrics["eval_accuracy"]]
        self.eval_losses.append(metrics["eval_loss"])
        return self.on_evaluate(metrics)

    def train(self) -> int:
        for epoch in range(self.args.num_train_epochs):
            if self.train_epoch():
                return epoch
        return self.args.num_train_epochs


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    train_data, eval_data = _data(0, N_TRAIN), _data(1, N_EVAL)
    train = _batches(torch, train_data, MICRO_BATCH)
    evals = _batches(torch, eval_data, MICRO_BATCH)
    values: list[float] = []

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    trainer = Trainer(torch, model, TrainingArguments(), train, evals)
    groups = trainer.optimizer.param_groups
    values += [len(groups[0]["params"]), len(groups[1]["params"]), groups[1]["weight_decay"]]
    values += [trainer.lr_scheduler.get_last_lr()[0], trainer.num_update_steps()]
    stopped_at = trainer.train()
    values += trainer.log_history
    values += [stopped_at, trainer.global_step, trainer.best_metric or 0.0]

    # load_best_model_at_end: the best checkpoint restores model, optimizer and scheduler
    assert trainer.best_checkpoint is not None
    trainer._load_checkpoint(trainer.best_checkpoint)
    restored = trainer.evaluate()
    values += [restored["eval_loss"], float(restored["eval_loss"] == trainer.best_metric)]
    values += [trainer.lr_scheduler.last_epoch, trainer.optimizer.param_groups[0]["lr"]]
    values += [float(trainer.optimizer.state_dict()["state"][0]["step"])]

    # resuming from the checkpoint reproduces the run that continued from it
    resumed = Trainer(torch, make_model(torch), TrainingArguments(), train, evals)
    resumed._load_checkpoint(copy.deepcopy(trainer.best_checkpoint))
    resumed.train_epoch()
    trainer.log_history = []
    trainer.train_epoch()
    values += resumed.log_history + trainer.log_history

    # bfloat16 autocast around the forward: dtypes, and losses close to the float32 run
    args = TrainingArguments()
    args.bf16 = True
    args.num_train_epochs = 2
    bf16_model = make_model(torch)
    load_numpy_state(torch, bf16_model, init)
    bf16 = Trainer(torch, bf16_model, args, train, evals)
    with bf16.autocast_smart_context_manager():
        out = bf16_model(**train[0])
        values += [float(torch.is_autocast_enabled("cpu"))]
        values += [float(torch.get_autocast_dtype("cpu") == torch.bfloat16)]
    values += [float(out.logits.dtype == torch.bfloat16), float(out.loss.dtype == torch.float32)]
    values += [float(p.dtype == torch.float32) for p in bf16_model.parameters()][:1]
    bf16.train()
    reference = Trainer(torch, make_model(torch), TrainingArguments(), train, evals)
    load_numpy_state(torch, reference.model, init)
    reference.args.num_train_epochs = 2
    reference.train()
    values += [float(len(bf16.eval_losses) == len(reference.eval_losses) == 2)]
    values += [
        float(abs(a - b) < 5e-2)
        for a, b in zip(bf16.eval_losses, reference.eval_losses, strict=True)
    ]

    # train()/eval() switching: dropout active in training, the identity in evaluation
    dropout_model = make_model(torch, dropout=0.5)
    load_numpy_state(torch, dropout_model, init)
    torch.manual_seed(0)
    dropout_model.train()
    a = dropout_model(**evals[0]).logits
    b = dropout_model(**evals[0]).logits
    dropout_model.eval()
    with torch.inference_mode():
        c = dropout_model(**evals[0]).logits
        d = dropout_model(**evals[0]).logits
    values += [float(dropout_model.training), float(dropout_model.dropout.training)]
    values += [float(not torch.equal(a, b)), float(torch.equal(c, d)), float(c.is_inference())]
    return values


def check(values: list[float]) -> None:
    # the no-decay groups: embeddings/dense/classifier weights decay, biases and LayerNorm don't
    assert values[:3] == [3, 4, 0.0], values[:3]
