"""Adversarial training on the word embeddings (FGM and PGD), the trick of Chinese NLP competition
code, as the widely copied ``FGM``/``PGD`` classes of the Zhihu article "功守道：NLP中的对抗训练 +
PyTorch实现" (zhuanlan.zhihu.com/p/91269728) write them, on a tiny BERT-like classifier,
size-reduced.

The idioms: ``FGM.attack`` (``emb_name in name`` over ``named_parameters()``, ``self.backup[name]
= param.data.clone()``, ``norm = torch.norm(param.grad)``, ``if norm != 0 and not
torch.isnan(norm)``, ``r_at = epsilon * param.grad / norm``, ``param.data.add_(r_at)``) and
``FGM.restore`` (``param.data = self.backup[name]``); ``PGD`` with ``is_first_attack`` backups,
``param.data = self.project(name, param.data, epsilon)`` (``if torch.norm(r) > epsilon: r =
epsilon * r / torch.norm(r)``), ``backup_grad``/``restore_grad`` (``param.grad =
self.grad_backup[name]``) and the ``K = 3`` loop (``model.zero_grad()`` on all but the last
attack, ``loss_adv.backward()`` accumulating); the model's ``embeddings.word_embeddings`` /
``position_embeddings`` / ``LayerNorm`` naming (as BERT's), ``nn.TransformerEncoderLayer(
batch_first=True)`` with ``src_key_padding_mask``, first-token pooling; ``AdamW`` with BERT's
no-decay parameter groups (``any(nd in n for nd in no_decay)``) and ``get_linear_schedule_with_
warmup``'s ``LambdaLR``.

Changed: BERT -> one encoder layer of width 8 with 2 heads, vocabulary 16, sentences of at most 6
tokens drawn by NumPy, 3 FGM steps then 3 PGD steps; dropout 0.1 kept (same masks in both
libraries from ``torch.manual_seed``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D, SEQ, BATCH, CLASSES = 16, 8, 6, 4, 3


def _attackers(torch_like: Any) -> tuple[Any, Any]:
    torch = torch_like

    class FGM:
        def __init__(self, model: Any) -> None:
            self.model = model
            self.backup: dict = {}

        def attack(self, epsilon: float = 1.0, emb_name: str = "word_embeddings") -> None:
            for name, param in self.model.named_parameters():
                if param.requires_grad and emb_name in name:
                    self.backup[name] = param.data.clone()
                    norm = torch.norm(param.grad)
                    if norm != 0 and not torch.isnan(norm):
                        r_at = epsilon * param.grad / norm
                        param.data.add_(r_at)

        def restore(self, emb_name: str = "word_embeddings") -> None:
            for name, param in self.model.named_parameters():
                if param.requires_grad and emb_name in name:
                    assert name in self.backup
                    param.data = self.backup[name]
            self.backup = {}

    class PGD:
        def __init__(self, model: Any) -> None:
            self.model = model
            self.emb_backup: dict = {}
            self.grad_backup: dict = {}

        def attack(self, epsilon: float = 1.0, alpha: float = 0.3,
                   emb_name: str = "word_embeddings",
                   is_first_attack: bool = False) -> None:  # fmt: skip
            for name, param in self.model.named_parameters():
                if param.requires_grad and emb_name in name:
                    if is_first_attack:
                        self.emb_backup[name] = param.data.clone()
                    norm = torch.norm(param.grad)
                    if norm != 0 and not torch.isnan(norm):
                        r_at = alpha * param.grad / norm
                        param.data.add_(r_at)
                        param.data = self.project(name, param.data, epsilon)

        def restore(self, emb_name: str = "word_embeddings") -> None:
            for name, param in self.model.named_parameters():
                if param.requires_grad and emb_name in name:
                    assert name in self.emb_backup
                    param.data = self.emb_backup[name]
            self.emb_backup = {}

        def project(self, param_name: str, param_data: Any, epsilon: float) -> Any:
            r = param_data - self.emb_backup[param_name]
            if torch.norm(r) > epsilon:
                r = epsilon * r / torch.norm(r)
            return self.emb_backup[param_name] + r

        def backup_grad(self) -> None:
            for name, param in self.model.named_parameters():
                if param.requires_grad:
                    self.grad_backup[name] = param.grad.clone()

        def restore_grad(self) -> None:
            for name, param in self.model.named_parameters():
                if param.requires_grad:
                    param.grad = self.grad_backup[name]

    return FGM, PGD


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Embeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(VOCAB, D, padding_idx=0)
            self.position_embeddings = nn.Embedding(SEQ, D)
            self.LayerNorm = nn.LayerNorm(D, eps=1e-12)
            self.dropout = nn.Dropout(0.1)

        def forward(self, input_ids: Any) -> Any:
            position_ids = torch.arange(input_ids.size(1)).unsqueeze(0)
            x = self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
            return self.dropout(self.LayerNorm(x))

    class TinyBertClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = Embeddings()
            self.encoder = nn.TransformerEncoderLayer(D, 2, 16, dropout=0.1, batch_first=True)
            self.classifier = nn.Linear(D, CLASSES)
            self.loss_fct = nn.CrossEntropyLoss()

        def forward(self, input_ids: Any, attention_mask: Any, labels: Any) -> Any:
            hidden = self.encoder(
                self.embeddings(input_ids), src_key_padding_mask=attention_mask == 0
            )
            logits = self.classifier(hidden[:, 0])
            return self.loss_fct(logits.view(-1, CLASSES), labels.view(-1))

    return TinyBertClassifier()


def _batch(torch_like: Any, rng: np.random.Generator) -> tuple[Any, Any, Any]:
    ids = rng.integers(1, VOCAB, (BATCH, SEQ))
    mask = np.ones_like(ids)
    for b, length in enumerate(rng.integers(3, SEQ + 1, BATCH)):
        ids[b, length:], mask[b, length:] = 0, 0
    labels = ids[:, 1] % CLASSES
    return as_tensor(torch_like, ids), as_tensor(torch_like, mask), as_tensor(torch_like, labels)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    torch.manual_seed(0)
    FGM, PGD = _attackers(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    no_decay = ["bias", "LayerNorm.weight"]
    optimizer_grouped_parameters = [
        {
            "params": [
                p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)
            ],  # fmt: skip
            "weight_decay": 0.01,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=1e-2)
    num_warmup_steps, num_training_steps = 1, 6

    def lr_lambda(current_step: int) -> float:
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(
            0.0,
            float(num_training_steps - current_step)
            / float(max(1, num_training_steps - num_warmup_steps)),
        )

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    rng = np.random.default_rng(19)
    values: list[float] = []
    model.train()
    fgm = FGM(model)
    for _ in range(3):
        batch_input, batch_mask, batch_label = _batch(torch_like, rng)
        loss = model(batch_input, batch_mask, batch_label)
        loss.backward()
        fgm.attack()
        loss_adv = model(batch_input, batch_mask, batch_label)
        loss_adv.backward()
        fgm.restore()
        optimizer.step()
        scheduler.step()
        model.zero_grad()
        values += [loss.item(), loss_adv.item()]
    pgd = PGD(model)
    K = 3
    for _ in range(3):
        batch_input, batch_mask, batch_label = _batch(torch_like, rng)
        loss = model(batch_input, batch_mask, batch_label)
        loss.backward()
        pgd.backup_grad()
        for t in range(K):
            pgd.attack(is_first_attack=(t == 0))
            if t != K - 1:
                model.zero_grad()
            else:
                pgd.restore_grad()
            loss_adv = model(batch_input, batch_mask, batch_label)
            loss_adv.backward()
            values.append(loss_adv.item())
        pgd.restore()
        optimizer.step()
        scheduler.step()
        model.zero_grad()
        values.append(loss.item())
    values.append(model.embeddings.word_embeddings.weight.sum().item())
    return values
