"""The PyTorch "Text classification with the torchtext library" tutorial
(``beginner/text_sentiment_ngrams_tutorial``), size-reduced and without torchtext: the
``text_pipeline``/``label_pipeline`` lambdas over a vocabulary, ``collate_batch`` (``label_list``,
``text_list`` of ``torch.tensor(text_pipeline(_text), dtype=torch.int64)``, ``offsets`` started
at ``[0]``, ``torch.tensor(offsets[:-1]).cumsum(dim=0)``, ``torch.cat(text_list)``) run by a
``DataLoader(..., collate_fn=collate_batch)``; ``TextClassificationModel`` (``nn.EmbeddingBag(
vocab_size, embed_dim, sparse=False)`` -- mean mode, the default -- and ``nn.Linear``, with
``init_weights`` doing ``uniform_(-initrange, initrange)`` and ``bias.data.zero_()``);
``train`` (``CrossEntropyLoss``, ``clip_grad_norm_(model.parameters(), 0.1)``, the running
``(predicted_label.argmax(1) == label).sum().item()``) and ``evaluate`` under ``no_grad``;
``optim.SGD(lr=LR)`` with ``lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)`` stepped only when
the validation accuracy stops improving (``total_accu``); ``predict`` on a new text
(``torch.tensor(text_pipeline(text))``, ``model(text, torch.tensor([0]))``,
``output.argmax(1).item() + 1``). Also the ``mode='sum'`` and ``mode='max'`` bags and a 2-D
(fixed-length) input without offsets, as the ``nn.EmbeddingBag`` docs show them.

Changed: AG_NEWS is 32 synthetic "sentences" whose class decides which word ids dominate;
``get_tokenizer('basic_english')``/``build_vocab_from_iterator`` are ``str.split`` and a dict;
``to_map_style_dataset``/``random_split`` are a fixed split; the loader does not shuffle;
embed_dim 64 -> 6, 4 classes, 10 epochs -> 4, LR 5 -> 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_CLASSES, EMSIZE, BATCH_SIZE = 4, 6, 8


def _corpus() -> tuple[list[tuple[int, str]], dict[str, int]]:
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(20)]
    vocab = {"<unk>": 0}
    for w in words:
        vocab[w] = len(vocab)
    data = []
    for _ in range(32):
        label = int(rng.integers(1, N_CLASSES + 1))  # AG_NEWS labels are 1..4
        n = int(rng.integers(2, 7))
        own = rng.integers(0, 5, size=n) + 5 * (label - 1)
        noise = rng.integers(0, 20, size=int(rng.integers(0, 3)))
        toks = [words[i] for i in np.concatenate([own, noise])]
        data.append((label, " ".join(toks + ["oov"])))
    return data, vocab


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size: int, embed_dim: int, num_class: int) -> None:
            super(TextClassificationModel, self).__init__()  # noqa: UP008 (as in the tutorial)
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()

        def init_weights(self) -> None:
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text: Any, offsets: Any) -> Any:
            embedded = self.embedding(text, offsets)
            return self.fc(embedded)

    return TextClassificationModel(21, EMSIZE, N_CLASSES)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    from_data = torch_like.utils.data
    data, vocab = _corpus()
    tokenizer = str.split
    text_pipeline = lambda x: [vocab.get(t, vocab["<unk>"]) for t in tokenizer(x)]  # noqa: E731
    label_pipeline = lambda x: int(x) - 1  # noqa: E731
    device = "cpu"

    def collate_batch(batch: list) -> tuple[Any, Any, Any]:
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(label_pipeline(_label))
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list.to(device), text_list.to(device), offsets.to(device)

    model = make_model(torch_like).to(device)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    train_dataloader = from_data.DataLoader(
        data[:24], batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch
    )
    valid_dataloader = from_data.DataLoader(
        data[24:], batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch
    )
    LR = 2  # learning rate
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    values: list[float] = []

    def train(dataloader: Any) -> None:
        model.train()
        total_acc, total_count = 0, 0
        for _idx, (label, text, offsets) in enumerate(dataloader):
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
            values.append(loss.item())
        values.append(total_acc / total_count)

    def evaluate(dataloader: Any) -> float:
        model.eval()
        total_acc, total_count = 0, 0
        with torch.no_grad():
            for _idx, (label, text, offsets) in enumerate(dataloader):
                predicted_label = model(text, offsets)
                values.append(criterion(predicted_label, label).item())
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count

    total_accu = None
    for _epoch in range(1, 5):
        train(train_dataloader)
        accu_val = evaluate(valid_dataloader)
        if total_accu is not None and total_accu > accu_val:
            scheduler.step()
        else:
            total_accu = accu_val
        values += [accu_val, scheduler.get_last_lr()[0]]

    def predict(text: str, text_pipeline: Any) -> int:
        with torch.no_grad():
            text = torch.tensor(text_pipeline(text))
            output = model(text, torch.tensor([0]))
            return output.argmax(1).item() + 1

    values.append(predict("w5 w6 w7 unknown", text_pipeline))

    # the other bag modes and the fixed-length 2-D input of the nn.EmbeddingBag docs
    weight = model.embedding.weight.detach()
    text = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
    offsets = torch.tensor([0, 4])
    for mode in ("sum", "max"):
        bag = torch.nn.EmbeddingBag.from_pretrained(weight, mode=mode, freeze=False)
        out = bag(text, offsets)
        out.pow(2).sum().backward()
        values += [out.sum().item(), bag.weight.grad.abs().sum().item()]
    bag = torch.nn.EmbeddingBag.from_pretrained(weight, mode="mean")
    values.append(bag(torch.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])).sum().item())
    weighted = torch.nn.functional.embedding_bag(
        text, weight, offsets, mode="sum", per_sample_weights=torch.linspace(0.5, 2.0, 8)
    )
    values.append(weighted.sum().item())
    return values
