"""Sebastian Raschka, "Build a Large Language Model (From Scratch)" (rasbt/LLMs-from-scratch):
chapter 5 (``ch05/01_main-chapter-code/gpt_train.py``: ``calc_loss_batch`` with
``cross_entropy(logits.flatten(0, 1), target_batch.flatten())``, ``calc_loss_loader``,
``train_model_simple`` with ``tokens_seen += input_batch.numel()``, and ``generate`` with
``idx[:, -context_size:]``, top-k filtering by ``torch.where(logits < min_val,
torch.tensor(float("-inf")).to(logits.device), logits)``, temperature with
``torch.multinomial(probs, num_samples=1)``, greedy ``torch.argmax(logits, dim=-1,
keepdim=True)`` and the ``idx_next == eos_id`` stop) and chapter 7
(``ch07/01_main-chapter-code/gpt_instruction_finetuning.py``: the Alpaca ``format_input``,
``InstructionDataset``, ``custom_collate_fn`` padding with an end token, masking the padding
targets after the first with ``torch.nonzero(mask).squeeze()`` and ``targets[indices[1:]] =
ignore_index`` (-100), ``allowed_max_length`` truncation, ``torch.stack(inputs_lst).to(device)``,
bound with ``functools.partial``; AdamW(lr=0.00005, weight_decay=0.1); responses extracted
after generation). The model is chapter 4's ``GPTModel`` (``_raschka_gpt.py``).

Changed: GPT-2 355M -> vocab 32 (a character tokenizer over a 31-letter alphabet, the end
token 31 standing for ``<|endoftext|>`` 50256), context 24, emb 8, 2 heads, 2 layers; the
1100 Alpaca-style entries -> 6 made-up ones; 2 epochs, batch 8 -> 3, lr 5e-5 -> 5e-3,
``allowed_max_length`` 1024 -> 24, ``max_new_tokens`` 256 -> 6; no pretrained weights.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ._common import load_numpy_state
from ._raschka_gpt import gpt_classes

BASE_CONFIG = {
    "vocab_size": 32,
    "context_length": 24,
    "drop_rate": 0.0,
    "qkv_bias": True,
    "emb_dim": 8,
    "n_layers": 2,
    "n_heads": 2,
}
_ALPHABET = "abcdefghijklmnopqrstuvwxyz #:.\n"
EOT = 31

data = [
    {"instruction": "rev", "input": "abc", "output": "cba"},
    {"instruction": "up", "input": "", "output": "ok"},
    {"instruction": "rev", "input": "xy", "output": "yx"},
    {"instruction": "dup", "input": "q", "output": "qq"},
    {"instruction": "dup", "input": "zz", "output": "zzzz"},
    {"instruction": "up", "input": "hi", "output": "no"},
]


class CharTokenizer:
    """A stand-in for ``tiktoken.get_encoding("gpt2")``: ``encode``/``decode`` over
    :data:`_ALPHABET` (unknown characters map to the space)."""

    def encode(self, text: str, allowed_special: Any = None) -> list[int]:
        return [_ALPHABET.find(c) if c in _ALPHABET else 26 for c in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(_ALPHABET[i] if i < len(_ALPHABET) else "|" for i in ids)


def make_model(torch_like: Any) -> Any:
    return gpt_classes(torch_like)(BASE_CONFIG)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    Dataset, DataLoader = torch.utils.data.Dataset, torch.utils.data.DataLoader
    tokenizer = CharTokenizer()

    def format_input(entry):  # noqa: ANN001, ANN202
        instruction_text = f"## instr:\n{entry['instruction']}"
        input_text = f"\n\n## in:\n{entry['input']}" if entry["input"] else ""
        return instruction_text + input_text

    class InstructionDataset(Dataset):
        def __init__(self, data, tokenizer):  # noqa: ANN001
            self.data = data

            # Pre-tokenize texts
            self.encoded_texts = []
            for entry in data:
                instruction_plus_input = format_input(entry)
                response_text = f"\n\n## r:\n{entry['output']}"
                full_text = instruction_plus_input + response_text
                self.encoded_texts.append(tokenizer.encode(full_text))

        def __getitem__(self, index):  # noqa: ANN001, ANN204
            return self.encoded_texts[index]

        def __len__(self):  # noqa: ANN204
            return len(self.data)

    def custom_collate_fn(batch, pad_token_id=50256, ignore_index=-100,
                          allowed_max_length=None, device="cpu"):  # noqa: ANN001, ANN202 # fmt: skip
        # Find the longest sequence in the batch
        batch_max_length = max(len(item) + 1 for item in batch)

        # Pad and prepare inputs and targets
        inputs_lst, targets_lst = [], []

        for item in batch:
            new_item = item.copy()
            # Add an <|endoftext|> token
            new_item += [pad_token_id]
            # Pad sequences to max_length
            padded = new_item + [pad_token_id] * (batch_max_length - len(new_item))
            inputs = torch.tensor(padded[:-1])  # Truncate the last token for inputs
            targets = torch.tensor(padded[1:])  # Shift +1 to the right for targets

            # New: Replace all but the first padding tokens in targets by ignore_index
            mask = targets == pad_token_id
            indices = torch.nonzero(mask).squeeze()
            if indices.numel() > 1:
                targets[indices[1:]] = ignore_index

            # New: Optionally truncate to maximum sequence length
            if allowed_max_length is not None:
                inputs = inputs[:allowed_max_length]
                targets = targets[:allowed_max_length]

            inputs_lst.append(inputs)
            targets_lst.append(targets)

        # Convert list of inputs and targets to tensors and transfer to target device
        inputs_tensor = torch.stack(inputs_lst).to(device)
        targets_tensor = torch.stack(targets_lst).to(device)

        return inputs_tensor, targets_tensor

    def calc_loss_batch(input_batch, target_batch, model, device):  # noqa: ANN001, ANN202
        input_batch, target_batch = input_batch.to(device), target_batch.to(device)
        logits = model(input_batch)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())
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

    def train_model_simple(model, train_loader, optimizer, device, num_epochs):  # noqa: ANN001, ANN202
        train_losses, track_tokens_seen = [], []
        tokens_seen, global_step = 0, -1
        for epoch in range(num_epochs):  # noqa: B007
            model.train()  # Set model to training mode
            for input_batch, target_batch in train_loader:
                optimizer.zero_grad()  # Reset loss gradients from previous batch iteration
                loss = calc_loss_batch(input_batch, target_batch, model, device)
                loss.backward()  # Calculate loss gradients
                optimizer.step()  # Update model weights using loss gradients
                tokens_seen += input_batch.numel()
                global_step += 1
                train_losses.append(loss.item())
                track_tokens_seen.append(tokens_seen)
        return train_losses, track_tokens_seen

    def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None,
                 eos_id=None):  # noqa: ANN001, ANN202 # fmt: skip
        # For-loop is the same as before: Get logits, and only focus on last time step
        for _ in range(max_new_tokens):
            idx_cond = idx[:, -context_size:]
            with torch.no_grad():
                logits = model(idx_cond)
            logits = logits[:, -1, :]

            # New: Filter logits with top_k sampling
            if top_k is not None:
                # Keep only top_k values
                top_logits, _ = torch.topk(logits, top_k)
                min_val = top_logits[:, -1]
                logits = torch.where(
                    logits < min_val, torch.tensor(float("-inf")).to(logits.device), logits
                )  # noqa: E501

            # New: Apply temperature scaling
            if temperature > 0.0:
                logits = logits / temperature

                # Apply softmax to get probabilities
                probs = torch.softmax(logits, dim=-1)  # (batch_size, context_len)

                # Sample from the distribution
                idx_next = torch.multinomial(probs, num_samples=1)  # (batch_size, 1)

            # Otherwise same as before: get idx of the vocab entry with the highest logits value
            else:
                idx_next = torch.argmax(logits, dim=-1, keepdim=True)  # (batch_size, 1)

            if idx_next == eos_id:  # noqa: E501 - Stop generating early if end-of-sequence token is encountered and eos_id is specified
                break

            # Same as before: append sampled index to the running sequence
            idx = torch.cat((idx, idx_next), dim=1)  # (batch_size, num_tokens+1)

        return idx

    def text_to_token_ids(text, tokenizer):  # noqa: ANN001, ANN202
        encoded = tokenizer.encode(text, allowed_special={"<|endoftext|>"})
        encoded_tensor = torch.tensor(encoded).unsqueeze(0)  # add batch dimension
        return encoded_tensor

    def token_ids_to_text(token_ids, tokenizer):  # noqa: ANN001, ANN202
        flat = token_ids.squeeze(0)  # remove batch dimension
        return tokenizer.decode(flat.tolist())

    device = torch.device("cpu")
    customized_collate_fn = partial(custom_collate_fn, device=device,
                                    allowed_max_length=BASE_CONFIG["context_length"],
                                    pad_token_id=EOT)  # fmt: skip
    num_workers = 0
    batch_size = 3
    torch.manual_seed(123)
    train_dataset = InstructionDataset(data, tokenizer)
    train_loader = DataLoader(
        train_dataset,
        batch_size=batch_size,
        collate_fn=customized_collate_fn,
        shuffle=True,
        drop_last=True,
        num_workers=num_workers,
    )
    inputs, targets = next(iter(DataLoader(train_dataset, batch_size=2,
                                           collate_fn=customized_collate_fn)))  # fmt: skip
    out: list[float] = [float((targets == -100).sum()), float(inputs.shape[1])]

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    model.to(device)
    model.eval()
    torch.manual_seed(123)
    with torch.no_grad():
        out.append(calc_loss_loader(train_loader, model, device, num_batches=2))

    optimizer = torch.optim.AdamW(model.parameters(), lr=0.005, weight_decay=0.1)
    num_epochs = 2
    train_losses, tokens_seen = train_model_simple(model, train_loader, optimizer, device,
                                                   num_epochs=num_epochs)  # fmt: skip
    out += train_losses + tokens_seen

    model.eval()
    for i, entry in enumerate(data[:3]):  # noqa: B007
        input_text = format_input(entry)
        token_ids = generate(
            model=model,
            idx=text_to_token_ids(input_text, tokenizer).to(device),
            max_new_tokens=6,
            context_size=BASE_CONFIG["context_length"],
            eos_id=EOT,
        )
        generated_text = token_ids_to_text(token_ids, tokenizer)
        response_text = generated_text[len(input_text) :].replace("## r:", "").strip()
        out += [float(len(response_text)), float(token_ids.sum())]
    torch.manual_seed(123)
    token_ids = generate(model=model, idx=text_to_token_ids("## instr:\nrev", tokenizer),
                         max_new_tokens=6, context_size=BASE_CONFIG["context_length"],
                         top_k=5, temperature=1.4)  # fmt: skip
    out += token_ids.flatten().tolist()
    return out
