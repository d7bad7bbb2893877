"""Character-aware neural language model (Kim et al. 2016, "Character-Aware Neural Language
Models"), as its PyTorch ports write it (FengZiYjun's ``CharLM``: ``model.py``, ``train.py``;
the architecture of jarfo's ``kchar``), size-reduced.

The idioms: words as zero-padded rows of character ids with begin/end-of-word markers, embedded
by ``nn.Embedding(num_char, char_emb_dim)`` after ``x.contiguous().view(-1, x.size()[2])``;
``nn.Conv1d`` filters of widths 1..6 in an ``nn.ModuleList`` over ``torch.transpose(x, 1, 2)``,
max-over-time ``torch.max(F.tanh(conv(x)), dim=2)[0]`` and ``torch.cat(chosen_list, 1)``;
``nn.BatchNorm1d(affine=False)``; two ``Highway`` layers (``t = F.sigmoid(self.fc1(x))``,
``torch.mul(t, F.relu(self.fc2(x))) + torch.mul(1 - t, x)``, the transform-gate bias
initialised to -2 by ``self.fc1.bias.data.fill_(-2)``); a 2-layer ``nn.LSTM(batch_first=True)``
fed ``x.contiguous().view(lstm_batch_size, lstm_seq_len, -1)``; ``nn.init.uniform_(p, -0.05,
0.05)`` over ``net.parameters()``; truncated BPTT over the batchified corpus with
``repackage_hidden`` (``[state.detach() for state in hidden]``), ``nn.CrossEntropyLoss``,
``nn.utils.clip_grad_norm_(net.parameters(), 5)``, ``optim.SGD(momentum=0.85)``; validation
perplexity ``torch.exp(loss)`` under ``net.eval()``/``torch.no_grad()``, and the learning rate
halved when perplexity stops improving by 1 -- by hand (``learning_rate /= 2`` written into
the param groups, as the port does) and by ``ReduceLROnPlateau(factor=0.5, patience=0,
threshold=1.0, threshold_mode="abs")``, which must agree.

Changed: sizes (char embedding 5, filters 2..5 channels, LSTM 8, words of at most 6 letters,
sequences of 4 words, batch 2, 3 epochs), dropout 0 (random masks cannot agree between two
frameworks) and the corpus (a fixed toy text).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

TEXT = (
    "the cat sat on the mat and the dog sat on the log while a bird sang "
    "the dog saw the cat and the cat saw the bird on the log by the mat "
    "a bird sat on the dog and the cat sang"
).split()
WORDS = sorted(set(TEXT))
CHARS = sorted(set("".join(WORDS)))
MAX_WORD = 6 + 2  # begin and end markers
NUM_CHAR = len(CHARS) + 3  # 0 pad, 1 begin, 2 end
FILTERS = [(2, 1), (2, 2), (3, 3), (3, 4), (4, 5), (4, 6)]  # (out_channels, width)
CHAR_EMB, WORD_EMB, SEQ, BATCH, EPOCHS = 5, 8, 4, 2, 3


def _char_ids(word: str) -> list[int]:
    ids = [1] + [CHARS.index(c) + 3 for c in word] + [2]
    return ids + [0] * (MAX_WORD - len(ids))


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class Highway(nn.Module):
        """Highway network"""

        def __init__(self, input_size: int) -> None:
            super(Highway, self).__init__()  # noqa: UP008
            self.fc1 = nn.Linear(input_size, input_size, bias=True)
            self.fc2 = nn.Linear(input_size, input_size, bias=True)

        def forward(self, x: Any) -> Any:
            t = F.sigmoid(self.fc1(x))
            return torch.mul(t, F.relu(self.fc2(x))) + torch.mul(1 - t, x)

    class charLM(nn.Module):
        """CNN + highway network + LSTM"""

        def __init__(
            self,
            char_emb_dim: int,
            word_emb_dim: int,
            vocab_size: int,
            num_char: int,
            use_gpu: bool,
        ) -> None:
            super(charLM, self).__init__()  # noqa: UP008
            self.char_emb_dim = char_emb_dim
            self.word_emb_dim = word_emb_dim
            self.vocab_size = vocab_size
            self.filter_num_width = FILTERS

            # char embedding layer
            self.char_embed = nn.Embedding(num_char, char_emb_dim)

            # convolutions of filters with different sizes
            self.convolutions = nn.ModuleList()
            for out_channel, filter_width in self.filter_num_width:
                self.convolutions.append(
                    nn.Conv1d(
                        char_emb_dim,  # in_channel
                        out_channel,  # out_channel
                        kernel_size=filter_width,  # (width)
                        bias=True,
                    )
                )

            self.highway_input_dim = sum([x for x, y in self.filter_num_width])
            self.batch_norm = nn.BatchNorm1d(self.highway_input_dim, affine=False)

            # highway net
            self.highway1 = Highway(self.highway_input_dim)
            self.highway2 = Highway(self.highway_input_dim)

            # LSTM
            self.lstm_num_layers = 2
            self.lstm = nn.LSTM(
                input_size=self.highway_input_dim,
                hidden_size=self.word_emb_dim,
                num_layers=self.lstm_num_layers,
                bias=True,
                dropout=0.0,
                batch_first=True,
            )

            # output layer
            self.dropout = nn.Dropout(p=0.0)
            self.linear = nn.Linear(self.word_emb_dim, self.vocab_size)

            for param in self.parameters():
                nn.init.uniform_(param.data, -0.05, 0.05)
            # carry the input through at first (Kim et al.: transform-gate bias -2)
            self.highway1.fc1.bias.data.fill_(-2)
            self.highway2.fc1.bias.data.fill_(-2)

            if use_gpu is True:
                for x in range(len(self.convolutions)):
                    self.convolutions[x] = self.convolutions[x].cuda()

        def forward(self, x: Any, hidden: Any) -> tuple[Any, Any]:
            # Input: Variable of Tensor with shape [num_seq, seq_len, max_word_len+2]
            # Return: Variable of Tensor with shape [num_words, len(word_dict)]
            lstm_batch_size = x.size()[0]
            lstm_seq_len = x.size()[1]

            x = x.contiguous().view(-1, x.size()[2])
            # [num_seq*seq_len, max_word_len+2]

            x = self.char_embed(x)
            # [num_seq*seq_len, max_word_len+2, char_emb_dim]

            x = torch.transpose(x, 1, 2)
            # [num_seq*seq_len, char_emb_dim, max_word_len+2]

            x = self.conv_layers(x)
            # [num_seq*seq_len, total_num_filters]

            x = self.batch_norm(x)

            x = self.highway1(x)
            x = self.highway2(x)

            x = x.contiguous().view(lstm_batch_size, lstm_seq_len, -1)
            # [num_seq, seq_len, total_num_filters]

            x, hidden = self.lstm(x, hidden)
            # [seq_len, num_seq, hidden_size]

            x = self.dropout(x)

            x = x.contiguous().view(lstm_batch_size * lstm_seq_len, -1)
            # [num_seq*seq_len, hidden_size]

            x = self.linear(x)
            # [num_seq*seq_len, vocab_size]
            return x, hidden

        def conv_layers(self, x: Any) -> Any:
            chosen_list = list()
            for conv in self.convolutions:
                feature_map = F.tanh(conv(x))
                # (batch_size, out_channel, width)
                chosen = torch.max(feature_map, dim=2)[0]
                # (batch_size, out_channel)
                chosen_list.append(chosen)
            # (batch_size, total_num_filers)
            return torch.cat(chosen_list, 1)

    return charLM(CHAR_EMB, WORD_EMB, len(WORDS), NUM_CHAR, False)


def _batchify(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    chars = np.array([_char_ids(w) for w in words], dtype=np.int64)
    ids = np.array([WORDS.index(w) for w in words], dtype=np.int64)
    n = (len(words) - 1) // (BATCH * SEQ) * (BATCH * SEQ)
    x = chars[:n].reshape(BATCH, -1, MAX_WORD)
    y = ids[1 : n + 1].reshape(BATCH, -1)
    return x, y


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    train_x, train_y = _batchify(TEXT[:-9])
    valid_x, valid_y = _batchify(TEXT[-9:])
    criterion = nn.CrossEntropyLoss()
    learning_rate = 1.0
    old_PPL = 100000.0
    shadow = optim.SGD([nn.Parameter(torch.zeros(1))], lr=learning_rate)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(
        shadow, mode="min", factor=0.5, patience=0, threshold=1.0, threshold_mode="abs"
    )
    optimizer = optim.SGD(net.parameters(), lr=learning_rate, momentum=0.85)
    values: list[float] = []

    def repackage_hidden(hidden: Any) -> Any:
        return [state.detach() for state in hidden]

    def init_hidden(batch: int) -> tuple[Any, Any]:
        return (
            torch.zeros(net.lstm_num_layers, batch, WORD_EMB),
            torch.zeros(net.lstm_num_layers, batch, WORD_EMB),
        )

    for _epoch in range(EPOCHS):
        net.train()
        hidden = init_hidden(BATCH)
        for t in range(0, train_x.shape[1], SEQ):
            hidden = repackage_hidden(hidden)
            net.zero_grad()
            inputs = torch.from_numpy(train_x[:, t : t + SEQ])
            targets = torch.from_numpy(train_y[:, t : t + SEQ]).contiguous().view(-1)
            output, hidden = net(inputs, hidden)
            loss = criterion(output, targets)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5, norm_type=2)
            optimizer.step()
            values.append(loss.item())

        net.eval()
        with torch.no_grad():
            hidden = init_hidden(BATCH)
            output, _ = net(torch.from_numpy(valid_x), hidden)
            loss = criterion(output, torch.from_numpy(valid_y).view(-1))
            PPL = torch.exp(loss.data)
        values.append(PPL.item())
        if float(old_PPL - PPL) <= 1.0:
            learning_rate /= 2
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
        old_PPL = float(PPL)
        plateau.step(PPL)
        assert shadow.param_groups[0]["lr"] == learning_rate, (shadow.param_groups, learning_rate)
        values.append(learning_rate)
    values.append(net.batch_norm.running_var.sum().item())
    return values
