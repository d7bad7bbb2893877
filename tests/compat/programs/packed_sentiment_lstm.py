"""bentrevett/pytorch-sentiment-analysis, notebook 2 "Upgraded Sentiment Analysis" (the
much-copied packed bidirectional LSTM classifier), size-reduced and without torchtext: the
``RNN`` (``nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)``, a two-layer
``nn.LSTM(..., bidirectional=bidirectional, dropout=dropout)``, ``nn.Linear(hidden_dim * 2,
output_dim)``, ``nn.Dropout``), its ``forward(text, text_lengths)`` (``nn.utils.rnn.
pack_padded_sequence(embedded, text_lengths.to('cpu'))``, ``packed_output, (hidden, cell) =
self.rnn(packed_embedded)``, ``nn.utils.rnn.pad_packed_sequence(packed_output)``, ``torch.cat((
hidden[-2, :, :], hidden[-1, :, :]), dim=1)``), the pretrained-embedding copy
``model.embedding.weight.data.copy_(pretrained_embeddings)`` with ``weight.data[UNK_IDX] =
torch.zeros(EMBEDDING_DIM)`` and ``[PAD_IDX]``, ``count_parameters``, ``binary_accuracy``
(``torch.round(torch.sigmoid(preds))``, ``(rounded_preds == y).float()``, ``correct.sum() /
len(correct)``), ``train``/``evaluate`` with ``nn.BCEWithLogitsLoss``, ``predictions =
model(text, text_lengths).squeeze(1)`` and ``Adam``, and ``predict_sentiment`` (``torch.
LongTensor(indexed).unsqueeze(1)``, ``torch.LongTensor(length)``). torchtext's
``BucketIterator(sort_within_batch=True)`` is replaced by what torchtext-free rewrites use: a
``torch.utils.data.Sampler`` subclass that yields length-bucketed index lists, given as
``DataLoader(batch_sampler=...)``, and a ``collate_fn`` that sorts by length and pads with
``nn.utils.rnn.pad_sequence(texts, padding_value=PAD_IDX)`` (sequence-first, as torchtext
made it). A second model packs unsorted batches with ``enforce_sorted=False`` and
``batch_first=True`` and reads ``output_lengths``; the learning rate warms up with
``SequentialLR([LinearLR, ExponentialLR], milestones=[...])``.

Changed: IMDb is 24 synthetic reviews (word ids from a seeded NumPy generator, the label decides
which ids dominate), the GloVe vectors are a seeded NumPy matrix; embedding 100 -> 6, hidden 256
-> 5, 5 epochs -> 3; ``dropout`` 0.5 -> 0 (random masks cannot agree between two frameworks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

VOCAB, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM, N_LAYERS = 16, 6, 5, 1, 2
UNK_IDX, PAD_IDX = 0, 1


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class RNN(nn.Module):
        def __init__(
            self,
            vocab_size: int,
            embedding_dim: int,
            hidden_dim: int,
            output_dim: int,
            n_layers: int,
            bidirectional: bool,
            dropout: float,
            pad_idx: int,
            batch_first: bool = False,
        ) -> None:
            super().__init__()
            self.batch_first = batch_first
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
            self.rnn = nn.LSTM(
                embedding_dim,
                hidden_dim,
                num_layers=n_layers,
                bidirectional=bidirectional,
                dropout=dropout,
                batch_first=batch_first,
            )
            self.fc = nn.Linear(hidden_dim * 2, output_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, text: Any, text_lengths: Any) -> Any:
            # text = [sent len, batch size] (or [batch size, sent len] when batch_first)
            embedded = self.dropout(self.embedding(text))
            # pack sequence; lengths need to be on CPU!
            packed_embedded = nn.utils.rnn.pack_padded_sequence(
                embedded,
                text_lengths.to("cpu"),
                batch_first=self.batch_first,
                enforce_sorted=not self.batch_first,
            )
            packed_output, (hidden, cell) = self.rnn(packed_embedded)
            # unpack sequence
            output, output_lengths = nn.utils.rnn.pad_packed_sequence(
                packed_output, batch_first=self.batch_first
            )
            self.last_output = (output, output_lengths)
            # hidden = [num layers * num directions, batch size, hid dim]
            hidden = self.dropout(torch_like.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
            return self.fc(hidden)

    args = (VOCAB, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM, N_LAYERS, True, 0.0, PAD_IDX)
    return nn.ModuleDict({"sorted": RNN(*args), "unsorted": RNN(*args, batch_first=True)})


def _reviews() -> list[tuple[list[int], float]]:
    rng = np.random.default_rng(13)
    data = []
    for _ in range(24):
        label = float(rng.random() < 0.5)
        n = int(rng.integers(2, 8))
        base = 2 + 7 * int(label)
        ids = (rng.integers(0, 7, size=n) + base).tolist()
        if rng.random() < 0.3:
            ids[int(rng.integers(n))] = UNK_IDX
        data.append((ids, label))
    return data


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    data_utils = torch_like.utils.data
    pad_sequence = nn.utils.rnn.pad_sequence
    rng = np.random.default_rng(2)
    reviews = _reviews()
    train_data, valid_data = reviews[:18], reviews[18:]
    models = make_model(torch_like)
    if init is not None:
        models.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    values: list[float] = []

    class BucketBatchSampler(data_utils.Sampler):
        """Index lists of similar lengths, like torchtext's BucketIterator."""

        def __init__(self, lengths: list[int], batch_size: int) -> None:
            self.order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
            self.batch_size = batch_size

        def __iter__(self) -> Any:
            for start in range(0, len(self.order), self.batch_size):
                yield self.order[start : start + self.batch_size]

        def __len__(self) -> int:
            return (len(self.order) + self.batch_size - 1) // self.batch_size

    def collate_batch(batch: list) -> tuple[Any, Any, Any]:
        batch = sorted(batch, key=lambda b: len(b[0]), reverse=True)  # sort_within_batch
        texts = [torch.tensor(ids, dtype=torch.long) for ids, _ in batch]
        lengths = torch.tensor([len(ids) for ids, _ in batch])
        labels = torch.tensor([label for _, label in batch])
        return pad_sequence(texts, padding_value=PAD_IDX), lengths, labels

    def count_parameters(model: Any) -> int:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def binary_accuracy(preds: Any, y: Any) -> Any:
        """
        Returns accuracy per batch, i.e. if you get 8/10 right, this returns 0.8, NOT 8
        """
        # round predictions to the closest integer
        rounded_preds = torch.round(torch.sigmoid(preds))
        correct = (rounded_preds == y).float()  # convert into float for division
        acc = correct.sum() / len(correct)
        return acc

    # the sorted, sequence-first model of the notebook
    model = models["sorted"]
    pretrained_embeddings = torch.from_numpy(rng.standard_normal((VOCAB, EMBEDDING_DIM)))
    model.embedding.weight.data.copy_(pretrained_embeddings)
    model.embedding.weight.data[UNK_IDX] = torch.zeros(EMBEDDING_DIM)
    model.embedding.weight.data[PAD_IDX] = torch.zeros(EMBEDDING_DIM)
    values.append(float(count_parameters(model)))

    train_iterator = data_utils.DataLoader(
        train_data,
        batch_sampler=BucketBatchSampler([len(r[0]) for r in train_data], 6),
        collate_fn=collate_batch,
    )
    valid_iterator = data_utils.DataLoader(
        valid_data, batch_size=6, shuffle=False, collate_fn=collate_batch
    )
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.BCEWithLogitsLoss()

    def train(model: Any, iterator: Any, optimizer: Any, criterion: Any) -> tuple[float, float]:
        epoch_loss = 0
        epoch_acc = 0
        model.train()
        for text, text_lengths, label in iterator:
            optimizer.zero_grad()
            predictions = model(text, text_lengths).squeeze(1)
            loss = criterion(predictions, label)
            acc = binary_accuracy(predictions, label)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
            epoch_acc += acc.item()
        return epoch_loss / len(iterator), epoch_acc / len(iterator)

    def evaluate(model: Any, iterator: Any, criterion: Any) -> tuple[float, float]:
        epoch_loss = 0
        epoch_acc = 0
        model.eval()
        with torch.no_grad():
            for text, text_lengths, label in iterator:
                predictions = model(text, text_lengths).squeeze(1)
                loss = criterion(predictions, label)
                acc = binary_accuracy(predictions, label)
                epoch_loss += loss.item()
                epoch_acc += acc.item()
        return epoch_loss / len(iterator), epoch_acc / len(iterator)

    best_valid_loss = float("inf")
    for _epoch in range(3):
        train_loss, train_acc = train(model, train_iterator, optimizer, criterion)
        valid_loss, valid_acc = evaluate(model, valid_iterator, criterion)
        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
        values += [train_loss, train_acc, valid_loss, valid_acc]
    values.append(model.embedding.weight[PAD_IDX].abs().sum().item())

    def predict_sentiment(model: Any, indexed: list[int]) -> float:
        model.eval()
        length = [len(indexed)]
        tensor = torch.LongTensor(indexed).unsqueeze(1)
        length_tensor = torch.LongTensor(length)
        prediction = torch.sigmoid(model(tensor, length_tensor))
        return prediction.item()

    values += [predict_sentiment(model, [9, 10, 11]), predict_sentiment(model, [2, 3, 0, 4])]

    # batch-first, unsorted batches packed with enforce_sorted=False, warm-up schedule
    model2 = models["unsorted"]
    optimizer2 = optim.Adam(model2.parameters(), lr=1e-2)
    scheduler = optim.lr_scheduler.SequentialLR(
        optimizer2,
        schedulers=[
            optim.lr_scheduler.LinearLR(optimizer2, start_factor=0.25, total_iters=2),
            optim.lr_scheduler.ExponentialLR(optimizer2, gamma=0.9),
        ],
        milestones=[2],
    )
    for _epoch in range(2):
        for start in range(0, 18, 6):
            batch = train_data[start : start + 6]  # not sorted by length
            texts = [torch.tensor(ids) for ids, _ in batch]
            lengths = torch.tensor([len(t) for t in texts])
            labels = torch.tensor([lab for _, lab in batch])
            padded = pad_sequence(texts, batch_first=True, padding_value=PAD_IDX)
            optimizer2.zero_grad()
            loss = criterion(model2(padded, lengths).squeeze(1), labels)
            loss.backward()
            optimizer2.step()
            scheduler.step()
            output, output_lengths = model2.last_output
            values += [loss.item(), output.sum().item(), scheduler.get_last_lr()[0]]
            values += output_lengths.tolist()
    return values
