"""Sebastian Raschka, "Build a Large Language Model (From Scratch)" (rasbt/LLMs-from-scratch):
chapter 6 (``ch06/01_main-chapter-code/gpt_class_finetune.py``, classification finetuning)
with appendix E (``appendix-E/01_main-chapter-code/appendix-E.ipynb``, LoRA), on the chapter-4
``GPTModel`` (``_raschka_gpt.py``). Kept: ``SpamDataset`` padding each encoded text with
``[pad_token_id] * (self.max_length - len(encoded_text))`` and returning
``torch.tensor(..., dtype=torch.long)`` pairs, ``DataLoader(shuffle=True, drop_last=True,
num_workers=0)``; freezing every parameter (``param.requires_grad = False``), a new
``model.out_head = torch.nn.Linear(in_features=..., out_features=num_classes)``, unfreezing
``model.trf_blocks[-1]`` and ``model.final_norm``; ``calc_loss_batch`` on the last token
(``model(input_batch)[:, -1, :]``), ``calc_accuracy_loader`` (``torch.argmax(logits,
dim=-1)``, ``(predicted_labels == target_batch).sum().item()``), ``calc_loss_loader``
(``num_batches = min(num_batches, len(data_loader))``), ``train_classifier_simple`` with
``eval_freq``/``eval_iter`` and ``examples_seen``; AdamW(lr=5e-5, weight_decay=0.1). Then
appendix E: ``LoRALayer`` (``torch.nn.Parameter(torch.empty(in_dim, rank))``,
``torch.nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))``, ``self.alpha * (x @ self.A @
self.B)``), ``LinearWithLoRA`` and the recursive ``replace_linear_with_lora`` over
``named_children`` with ``setattr``, the trainable-parameter counts, and a second finetuning.

Changed: GPT-2 124M -> vocab 16, context 8, emb 8, 2 heads, 2 layers (``drop_rate`` 0.0 as in
the chapter's ``BASE_CONFIG``), the SMS spam texts -> 24 seeded random token lists, 5 epochs ->
2 per stage, batch 8 -> 4, lr 5e-5 -> 5e-3, LoRA rank 16 -> 2 (alpha 16 kept); no pretrained
GPT-2 weights (the model's own seeded initialisation).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state
from ._raschka_gpt import gpt_classes

BASE_CONFIG = {
    "vocab_size": 16,  # Vocabulary size
    "context_length": 8,  # Context length
    "drop_rate": 0.0,  # Dropout rate
    "qkv_bias": True,  # Query-key-value bias
    "emb_dim": 8,
    "n_layers": 2,
    "n_heads": 2,
}


def make_model(torch_like: Any) -> Any:
    return gpt_classes(torch_like)(BASE_CONFIG)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader
    rng = np.random.default_rng(7)
    pad_token_id = 15
    texts = [list(rng.integers(0, 15, size=int(rng.integers(3, 8)))) for _ in range(24)]
    labels = [int(sum(t) % 2) for t in texts]

    class SpamDataset(Dataset):
        def __init__(self, encoded, labels, max_length=None, pad_token_id=50256):  # noqa: ANN001
            self.labels = labels
            # Pre-tokenize texts
            self.encoded_texts = [[int(i) for i in text] for text in encoded]
            if max_length is None:
                self.max_length = self._longest_encoded_length()
            else:
                self.max_length = max_length
                # Truncate sequences if they are longer than max_length
                self.encoded_texts = [
                    encoded_text[: self.max_length] for encoded_text in self.encoded_texts
                ]
            # Pad sequences to the longest sequence
            self.encoded_texts = [
                encoded_text + [pad_token_id] * (self.max_length - len(encoded_text))
                for encoded_text in self.encoded_texts
            ]

        def __getitem__(self, index):  # noqa: ANN001, ANN204
            encoded = self.encoded_texts[index]
            label = self.labels[index]
            return (
                torch.tensor(encoded, dtype=torch.long),
                torch.tensor(label, dtype=torch.long),
            )

        def __len__(self):  # noqa: ANN204
            return len(self.labels)

        def _longest_encoded_length(self):  # noqa: ANN202
            max_length = 0
            for encoded_text in self.encoded_texts:
                encoded_length = len(encoded_text)
                if encoded_length > max_length:
                    max_length = encoded_length
            return max_length

    train_dataset = SpamDataset(texts[:16], labels[:16], max_length=None, pad_token_id=pad_token_id)
    val_dataset = SpamDataset(texts[16:], labels[16:], max_length=train_dataset.max_length,
                              pad_token_id=pad_token_id)  # fmt: skip
    torch.manual_seed(123)
    train_loader = DataLoader(dataset=train_dataset, batch_size=4, shuffle=True, num_workers=0,
                              drop_last=True)  # fmt: skip
    val_loader = DataLoader(dataset=val_dataset, batch_size=4, num_workers=0, drop_last=False)
    device = torch.device("cpu")

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    model.eval()

    def calc_accuracy_loader(data_loader, model, device, num_batches=None):  # noqa: ANN001, ANN202
        model.eval()
        correct_predictions, num_examples = 0, 0

        if num_batches is None:
            num_batches = len(data_loader)
        else:
            num_batches = min(num_batches, len(data_loader))
        for i, (input_batch, target_batch) in enumerate(data_loader):
            if i < num_batches:
                input_batch, target_batch = input_batch.to(device), target_batch.to(device)

                with torch.no_grad():
                    logits = model(input_batch)[:, -1, :]  # Logits of last output token
                predicted_labels = torch.argmax(logits, dim=-1)

                num_examples += predicted_labels.shape[0]
                correct_predictions += (predicted_labels == target_batch).sum().item()
            else:
                break
        return correct_predictions / num_examples

    def calc_loss_batch(input_batch, target_batch, model, device):  # noqa: ANN001, ANN202
        input_batch, target_batch = input_batch.to(device), target_batch.to(device)
        logits = model(input_batch)[:, -1, :]  # Logits of last output token
        loss = torch.nn.functional.cross_entropy(logits, target_batch)
        return loss

    def calc_loss_loader(data_loader, model, device, num_batches=None):  # noqa: ANN001, ANN202
        total_loss = 0.0
        if len(data_loader) == 0:
            return float("nan")
        elif num_batches is None:
            num_batches = len(data_loader)
        else:
            num_batches = min(num_batches, len(data_loader))
        for i, (input_batch, target_batch) in enumerate(data_loader):
            if i < num_batches:
                loss = calc_loss_batch(input_batch, target_batch, model, device)
                total_loss += loss.item()
            else:
                break
        return total_loss / num_batches

    def evaluate_model(model, train_loader, val_loader, device, eval_iter):  # noqa: ANN001, ANN202
        model.eval()
        with torch.no_grad():
            train_loss = calc_loss_loader(train_loader, model, device, num_batches=eval_iter)
            val_loss = calc_loss_loader(val_loader, model, device, num_batches=eval_iter)
        model.train()
        return train_loss, val_loss

    def train_classifier_simple(model, train_loader, val_loader, optimizer, device, num_epochs,
                                eval_freq, eval_iter):  # noqa: ANN001, ANN202 # fmt: skip
        # Initialize lists to track losses and tokens seen
        train_losses, val_losses, train_accs, val_accs = [], [], [], []
        examples_seen, global_step = 0, -1

        # Main training loop
        for epoch in range(num_epochs):  # noqa: B007
            model.train()  # Set model to training mode

            for input_batch, target_batch in train_loader:
                optimizer.zero_grad()  # Reset loss gradients from previous batch iteration
                loss = calc_loss_batch(input_batch, target_batch, model, device)
                loss.backward()  # Calculate loss gradients
                optimizer.step()  # Update model weights using loss gradients
                examples_seen += input_batch.shape[0]  # New: track examples instead of tokens
                global_step += 1

                # Optional evaluation step
                if global_step % eval_freq == 0:
                    train_loss, val_loss = evaluate_model(
                        model, train_loader, val_loader, device, eval_iter)  # fmt: skip
                    train_losses.append(train_loss)
                    val_losses.append(val_loss)

            # Calculate accuracy after each epoch
            train_accuracy = calc_accuracy_loader(
                train_loader, model, device, num_batches=eval_iter
            )  # noqa: E501
            val_accuracy = calc_accuracy_loader(val_loader, model, device, num_batches=eval_iter)
            train_accs.append(train_accuracy)
            val_accs.append(val_accuracy)

        return train_losses, val_losses, train_accs, val_accs, examples_seen

    # chapter 6: freeze, new head, unfreeze the last block and the final norm
    for param in model.parameters():
        param.requires_grad = False
    torch.manual_seed(123)
    num_classes = 2
    model.out_head = torch.nn.Linear(in_features=BASE_CONFIG["emb_dim"], out_features=num_classes)
    for param in model.trf_blocks[-1].parameters():
        param.requires_grad = True
    for param in model.final_norm.parameters():
        param.requires_grad = True

    out: list[float] = [calc_accuracy_loader(train_loader, model, device, num_batches=2)]
    torch.manual_seed(123)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.1)
    train_losses, val_losses, train_accs, val_accs, examples_seen = train_classifier_simple(
        model, train_loader, val_loader, optimizer, device,
        num_epochs=2, eval_freq=2, eval_iter=2,
    )  # fmt: skip
    out += train_losses + val_losses + train_accs + val_accs + [examples_seen]

    # appendix E: LoRA on every Linear layer of the frozen model
    class LoRALayer(torch.nn.Module):
        def __init__(self, in_dim, out_dim, rank, alpha):  # noqa: ANN001
            super().__init__()
            self.A = torch.nn.Parameter(torch.empty(in_dim, rank))
            torch.nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # noqa: E501 - similar to standard weight initialization
            self.B = torch.nn.Parameter(torch.zeros(rank, out_dim))
            self.alpha = alpha

        def forward(self, x):  # noqa: ANN001, ANN202
            x = self.alpha * (x @ self.A @ self.B)
            return x

    class LinearWithLoRA(torch.nn.Module):
        def __init__(self, linear, rank, alpha):  # noqa: ANN001
            super().__init__()
            self.linear = linear
            self.lora = LoRALayer(linear.in_features, linear.out_features, rank, alpha)

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.linear(x) + self.lora(x)

    def replace_linear_with_lora(model, rank, alpha):  # noqa: ANN001, ANN202
        for name, module in model.named_children():
            if isinstance(module, torch.nn.Linear):
                # Replace the Linear layer with LinearWithLoRA
                setattr(model, name, LinearWithLoRA(module, rank, alpha))
            else:
                # Recursively apply the same function to child modules
                replace_linear_with_lora(module, rank, alpha)

    total_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    for param in model.parameters():
        param.requires_grad = False
    total_params_frozen = sum(p.numel() for p in model.parameters() if p.requires_grad)
    torch.manual_seed(123)
    replace_linear_with_lora(model, rank=2, alpha=16)
    total_params_lora = sum(p.numel() for p in model.parameters() if p.requires_grad)
    out += [total_params, total_params_frozen, total_params_lora]
    assert "LinearWithLoRA" in str(model.trf_blocks[0].att)

    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.1)
    train_losses, val_losses, train_accs, val_accs, _ = train_classifier_simple(
        model, train_loader, val_loader, optimizer, device,
        num_epochs=2, eval_freq=2, eval_iter=2,
    )  # fmt: skip
    out += train_losses + val_losses + train_accs + val_accs
    out.append(calc_accuracy_loader(val_loader, model, device))
    return out
