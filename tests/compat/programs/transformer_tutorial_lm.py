"""The PyTorch tutorial "Language Modeling with nn.Transformer and torchtext"
(``beginner/transformer_tutorial``), size-reduced.

The idioms: ``TransformerModel(nn.Module)`` with ``self.model_type = 'Transformer'``,
``TransformerEncoderLayer(d_model, nhead, d_hid, dropout)`` stacked by
``TransformerEncoder(encoder_layers, nlayers)``, ``nn.Embedding(ntoken, d_model)``,
``init_weights`` (``self.embedding.weight.data.uniform_(-initrange, initrange)``,
``self.linear.bias.data.zero_()``), ``forward(src, src_mask=None)`` scaling ``self.embedding(src)
* math.sqrt(self.d_model)`` and, when no mask is given, ``nn.Transformer.generate_square_
subsequent_mask(len(src)).to(device)``; ``PositionalEncoding`` (``nn.Dropout(p=dropout)``,
``position = torch.arange(max_len).unsqueeze(1)``, ``div_term = torch.exp(torch.arange(0,
d_model, 2) * (-math.log(10000.0) / d_model))``, ``pe = torch.zeros(max_len, 1, d_model)``,
``pe[:, 0, 0::2] = torch.sin(position * div_term)``, ``self.register_buffer('pe', pe)``,
``x + self.pe[:x.size(0)]``); ``data_process`` (``torch.tensor(vocab(tokenizer(item)),
dtype=torch.long)`` per line, ``torch.cat(tuple(filter(lambda t: t.numel() > 0, data)))``);
``batchify`` (``seq_len = data.size(0) // bsz``, ``data[:seq_len * bsz]``, ``data.view(bsz,
seq_len).t().contiguous()``); ``get_batch`` (``seq_len = min(bptt, len(source) - 1 - i)``,
``source[i+1:i+1+seq_len].reshape(-1)``); ``train`` (``model.train()``, ``output.view(-1,
ntokens)``, ``nn.CrossEntropyLoss()``, ``optimizer.zero_grad()``, ``torch.nn.utils.
clip_grad_norm_(model.parameters(), 0.5)``, ``scheduler.get_last_lr()[0]``, ``math.exp(
cur_loss)`` perplexity); ``evaluate`` (``model.eval()``, ``torch.no_grad()``, ``seq_len *
criterion(output_flat, targets).item()``, ``total_loss / (len(eval_data) - 1)``); the epoch loop
with ``torch.optim.SGD(model.parameters(), lr=5.0)``, ``torch.optim.lr_scheduler.StepLR(
optimizer, 1.0, gamma=0.95)`` (a float step size), keeping the best model's
``torch.save(model.state_dict(), best_model_params_path)`` and ``model.load_state_dict(
torch.load(best_model_params_path))`` before the test evaluation.

Changed: WikiText-2 and its torchtext vocabulary are a fixed toy text split on spaces; emsize
200 -> 8, d_hid 200 -> 16, 2 layers, 2 heads, bptt 35 -> 5, batch 20/10 -> 4/2, 3 epochs of
all batches -> 2; dropout 0.2 -> 0 (random masks cannot agree between two frameworks).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ._common import load_numpy_state

TEXT = (
    "the cat sat on the mat and the dog sat on the log . "
    "a bird flew over the house and the cat saw the bird . "
    "the dog ran to the house and the bird sat on the dog . "
)
TRAIN_LINES = [TEXT, "", TEXT[::-1].split(" ", 3)[-1], TEXT.upper().lower()]
VAL_LINES = ["the cat ran to the log and the dog saw the mat . "]
TEST_LINES = ["a dog sat on the house . the bird flew over the cat . "]
EMSIZE, D_HID, NLAYERS, NHEAD, BPTT = 8, 16, 2, 2, 5


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    TransformerEncoder, TransformerEncoderLayer = nn.TransformerEncoder, nn.TransformerEncoderLayer
    Tensor = torch.Tensor

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)

            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x: Tensor) -> Tensor:
            """
            Arguments:
                x: Tensor, shape ``[seq_len, batch_size, embedding_dim]``
            """
            x = x + self.pe[: x.size(0)]
            return self.dropout(x)

    class TransformerModel(nn.Module):
        def __init__(
            self, ntoken: int, d_model: int, nhead: int, d_hid: int, nlayers: int, dropout=0.5
        ):
            super().__init__()
            self.model_type = "Transformer"
            self.pos_encoder = PositionalEncoding(d_model, dropout)
            encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers)
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)

            self.init_weights()

        def init_weights(self) -> None:
            initrange = 0.1
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.linear.bias.data.zero_()
            self.linear.weight.data.uniform_(-initrange, initrange)

        def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
            src = self.embedding(src) * math.sqrt(self.d_model)
            src = self.pos_encoder(src)
            if src_mask is None:
                """Generate a square causal mask for the sequence. The masked positions are
                filled with float('-inf'). Unmasked positions are filled with float(0.0).
                """
                src_mask = nn.Transformer.generate_square_subsequent_mask(len(src)).to(src.device)
            output = self.transformer_encoder(src, src_mask)
            output = self.linear(output)
            return output

    return TransformerModel


def _vocab() -> dict[str, int]:
    words = sorted({w for line in TRAIN_LINES for w in line.split()})
    return {w: i + 1 for i, w in enumerate(words)} | {"<unk>": 0}


def make_model(torch_like: Any) -> Any:
    model = _classes(torch_like)(len(_vocab()), EMSIZE, NHEAD, D_HID, NLAYERS, 0.0)
    return model


def run(torch_like: Any, init: dict[str, np.ndarray]) -> list[float]:
    torch = torch_like
    nn = torch.nn
    device = torch.device("cpu")
    stoi = _vocab()

    def tokenizer(line: str) -> list[str]:
        return line.split()

    def vocab(tokens: list[str]) -> list[int]:
        return [stoi.get(t, 0) for t in tokens]

    def data_process(raw_text_iter: Any) -> Any:
        """Converts raw text into a flat Tensor."""
        data = [torch.tensor(vocab(tokenizer(item)), dtype=torch.long) for item in raw_text_iter]
        return torch.cat(tuple(filter(lambda t: t.numel() > 0, data)))

    train_data = data_process(TRAIN_LINES)
    val_data = data_process(VAL_LINES)
    test_data = data_process(TEST_LINES)

    def batchify(data: Any, bsz: int) -> Any:
        """Divides the data into ``bsz`` separate sequences, removing extra elements
        that wouldn't cleanly fit."""
        seq_len = data.size(0) // bsz
        data = data[: seq_len * bsz]
        data = data.view(bsz, seq_len).t().contiguous()
        return data.to(device)

    batch_size = 4
    eval_batch_size = 2
    train_data = batchify(train_data, batch_size)  # shape ``[seq_len, batch_size]``
    val_data = batchify(val_data, eval_batch_size)
    test_data = batchify(test_data, eval_batch_size)
    bptt = BPTT

    def get_batch(source: Any, i: int) -> tuple[Any, Any]:
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i : i + seq_len]
        target = source[i + 1 : i + 1 + seq_len].reshape(-1)
        return data, target

    ntokens = len(stoi)  # size of vocabulary
    model = _classes(torch)(ntokens, EMSIZE, NHEAD, D_HID, NLAYERS, 0.0).to(device)
    load_numpy_state(torch, model, init)

    criterion = nn.CrossEntropyLoss()
    lr = 5.0  # learning rate
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    out: list[float] = []

    def train(model: Any) -> None:
        model.train()  # turn on train mode
        total_loss = 0.0
        log_interval = 2
        num_batches = len(train_data) // bptt
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            output = model(data)
            output_flat = output.view(-1, ntokens)
            loss = criterion(output_flat, targets)

            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()

            total_loss += loss.item()
            out.append(loss.item())
            if batch % log_interval == 0 and batch > 0:
                lr = scheduler.get_last_lr()[0]
                cur_loss = total_loss / log_interval
                ppl = math.exp(cur_loss)
                line = (
                    f"| {batch:5d}/{num_batches:5d} batches | lr {lr:02.2f} | "
                    f"loss {cur_loss:5.2f} | ppl {ppl:8.2f}"
                )
                assert line.startswith("|")
                out.append(cur_loss)
                total_loss = 0

    def evaluate(model: Any, eval_data: Any) -> float:
        model.eval()  # turn on evaluation mode
        total_loss = 0.0
        with torch.no_grad():
            for i in range(0, eval_data.size(0) - 1, bptt):
                data, targets = get_batch(eval_data, i)
                seq_len = data.size(0)
                output = model(data)
                output_flat = output.view(-1, ntokens)
                total_loss += seq_len * criterion(output_flat, targets).item()
        return total_loss / (len(eval_data) - 1)

    best_val_loss = float("inf")
    epochs = 2
    tempdir = os.environ.get("TMPDIR", "/tmp")
    best_model_params_path = os.path.join(tempdir, f"best_model_params_{torch.__name__}.pt")
    for epoch in range(1, epochs + 1):
        train(model)
        val_loss = evaluate(model, val_data)
        val_ppl = math.exp(val_loss)
        line = f"| end of epoch {epoch:3d} | valid loss {val_loss:5.2f} | valid ppl {val_ppl:8.2f}"
        assert line.startswith(f"| end of epoch {epoch:3d}")
        out += [val_loss, val_ppl, scheduler.get_last_lr()[0]]
        if val_loss < best_val_loss:
            best_val_loss = val_loss
            torch.save(model.state_dict(), best_model_params_path)
        scheduler.step()
    model.load_state_dict(torch.load(best_model_params_path))  # load best model states
    os.remove(best_model_params_path)
    test_loss = evaluate(model, test_data)
    out += [test_loss, math.exp(test_loss)]
    return out
