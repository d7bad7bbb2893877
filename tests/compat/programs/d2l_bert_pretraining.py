"""BERT and its pretraining as "Dive into Deep Learning" (d2l.ai, PyTorch edition, sections
15.8 "BERT", 15.9 "The Dataset for Pretraining BERT", 15.10 "Pretraining BERT" and 16.6-16.7's
``BERTClassifier``) write them, size-reduced.

The idioms: ``get_tokens_and_segments`` (``['<cls>'] + tokens_a + ['<sep>']``, segments ``[0] *
(len(tokens_a) + 2)`` and ``[1] * (len(tokens_b) + 1)``); ``BERTEncoder`` (``nn.Embedding(2,
num_hiddens)`` segments, ``self.blks = nn.Sequential()`` filled by ``add_module(f"{i}",
d2l.TransformerEncoderBlock(..., True))``, the learnable ``nn.Parameter(torch.randn(1, max_len,
num_hiddens))`` sliced as ``self.pos_embedding[:, :X.shape[1], :]``, ``for blk in self.blks: X
= blk(X, valid_lens)``) over d2l's ``MultiHeadAttention`` of ``nn.LazyLinear``s
(``transpose_qkv``/``transpose_output``, ``torch.repeat_interleave(valid_lens,
repeats=self.num_heads, dim=0)``), ``DotProductAttention`` and ``masked_softmax`` (``X[~mask] =
value`` with an ``arange(..., dtype=torch.float32)`` mask against float ``valid_lens``),
``AddNorm`` and ``PositionWiseFFN``; ``MaskLM`` (``nn.Sequential(nn.LazyLinear(num_hiddens),
nn.ReLU(), nn.LayerNorm(num_hiddens), nn.LazyLinear(vocab_size))``, ``batch_idx =
torch.repeat_interleave(torch.arange(0, batch_size), num_pred_positions)``, ``masked_X =
X[batch_idx, pred_positions]``); ``NextSentencePred``'s ``nn.LazyLinear(2)``; ``BERTModel``'s
``nn.Sequential(nn.LazyLinear(num_hiddens), nn.Tanh())`` on ``encoded_X[:, 0, :]``; the
pretraining data (``_get_next_sentence`` with ``random.random() < 0.5``, ``_replace_mlm_tokens``'
80/10/10 rule with ``random.shuffle(candidate_pred_positions)`` and ``random.choice(
vocab.idx_to_token)``, ``_get_mlm_data_from_tokens``, ``_pad_bert_inputs`` building
``torch.tensor(..., dtype=torch.long)`` rows, 0-d ``torch.tensor(len(token_ids),
dtype=torch.float32)`` valid lengths and ``torch.tensor(is_next, dtype=torch.long)`` labels)
in a ``_WikiTextDataset`` whose 7-tuples the default collate stacks; ``train_bert``'s
``nn.DataParallel(net, device_ids=devices).to(devices[0])`` (a pass-through without CUDA), the
lazy dry run, ``torch.optim.Adam(net.parameters(), lr=0.01)``, ``_get_batch_loss_bert``
(``loss(mlm_Y_hat.reshape(-1, vocab_size), mlm_Y.reshape(-1)) * mlm_weights_X.reshape(-1, 1)``,
``mlm_l.sum() / (mlm_weights_X.sum() + 1e-8)``, with ``loss = nn.CrossEntropyLoss()``); and
``get_bert_encoding`` (``torch.tensor(vocab[tokens], device=devices[0]).unsqueeze(0)``,
``torch.tensor([len(tokens)], device=devices[0])``) plus the fine-tuning ``BERTClassifier``
(``self.encoder = bert.encoder``, ``self.hidden = bert.hidden``, ``nn.LazyLinear(3)``).

Changed: WikiText-2 -> a seeded synthetic corpus of 12 paragraphs over a 14-word vocabulary;
``max_len`` 64 -> 12, 128 hidden units / 2 heads / 2 blocks -> 8 / 2 / 2, dropout 0.2 -> 0.1,
batch 512 -> 4, 50 steps -> 4; both runs draw the initial weights from the same seed (the
frameworks' generators agree); the ``d2l.Vocab`` is a local class with the same lookups.
"""

from __future__ import annotations

import collections
import math
import random
from typing import Any

MAX_LEN, NUM_HIDDENS, NUM_HEADS, NUM_BLKS = 12, 8, 2, 2
WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away", "fast", "sun"]


class Vocab:
    """Vocabulary for text (d2l's ``Vocab``: tokens sorted by frequency after the reserved)."""

    def __init__(self, tokens: list | None = None, min_freq: int = 0,
                 reserved_tokens: list | None = None) -> None:  # fmt: skip
        if tokens is None:
            tokens = []
        if reserved_tokens is None:
            reserved_tokens = []
        if tokens and isinstance(tokens[0], list):
            tokens = [token for line in tokens for token in line]
        counter = collections.Counter(tokens)
        self.token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = list(sorted(set(["<unk>"] + reserved_tokens + [
            token for token, freq in self.token_freqs if freq >= min_freq])))  # fmt: skip
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens: Any) -> Any:
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    @property
    def unk(self) -> int:
        return self.token_to_idx["<unk>"]


def get_tokens_and_segments(tokens_a: list, tokens_b: list | None = None) -> tuple:
    """Get tokens of the BERT input sequence and their segment IDs."""
    tokens = ["<cls>"] + tokens_a + ["<sep>"]
    # 0 and 1 are marking segment A and B, respectively
    segments = [0] * (len(tokens_a) + 2)
    if tokens_b is not None:
        tokens += tokens_b + ["<sep>"]
        segments += [1] * (len(tokens_b) + 1)
    return tokens, segments


def _classes(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn

    def masked_softmax(X, valid_lens):  # noqa: ANN001,ANN202
        """Perform softmax operation by masking elements on the last axis."""

        # X: 3D tensor, valid_lens: 1D or 2D tensor
        def _sequence_mask(X, valid_len, value=0):  # noqa: ANN001,ANN202
            maxlen = X.size(1)
            mask = torch.arange((maxlen), dtype=torch.float32,
                                device=X.device)[None, :] < valid_len[:, None]  # fmt: skip
            X[~mask] = value
            return X

        if valid_lens is None:
            return nn.functional.softmax(X, dim=-1)
        else:
            shape = X.shape
            if valid_lens.dim() == 1:
                valid_lens = torch.repeat_interleave(valid_lens, shape[1])
            else:
                valid_lens = valid_lens.reshape(-1)
            # On the last axis, replace masked elements with a very large negative
            # value, whose exponentiation outputs 0
            X = _sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
            return nn.functional.softmax(X.reshape(shape), dim=-1)

    class DotProductAttention(nn.Module):
        """Scaled dot product attention."""

        def __init__(self, dropout):  # noqa: ANN001
            super().__init__()
            self.dropout = nn.Dropout(dropout)

        def forward(self, queries, keys, values, valid_lens=None):  # noqa: ANN001,ANN201
            d = queries.shape[-1]
            # Swap the last two dimensions of keys with keys.transpose(1, 2)
            scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
            self.attention_weights = masked_softmax(scores, valid_lens)
            return torch.bmm(self.dropout(self.attention_weights), values)

    class MultiHeadAttention(nn.Module):
        """Multi-head attention."""

        def __init__(self, num_hiddens, num_heads, dropout, bias=False, **kwargs):  # noqa: ANN001
            super().__init__()
            self.num_heads = num_heads
            self.attention = DotProductAttention(dropout)
            self.W_q = nn.LazyLinear(num_hiddens, bias=bias)
            self.W_k = nn.LazyLinear(num_hiddens, bias=bias)
            self.W_v = nn.LazyLinear(num_hiddens, bias=bias)
            self.W_o = nn.LazyLinear(num_hiddens, bias=bias)

        def forward(self, queries, keys, values, valid_lens):  # noqa: ANN001,ANN201
            queries = self.transpose_qkv(self.W_q(queries))
            keys = self.transpose_qkv(self.W_k(keys))
            values = self.transpose_qkv(self.W_v(values))
            if valid_lens is not None:
                # On axis 0, copy the first item (scalar or vector) for num_heads
                # times, then copy the next item, and so on
                valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
            output = self.attention(queries, keys, values, valid_lens)
            output_concat = self.transpose_output(output)
            return self.W_o(output_concat)

        def transpose_qkv(self, X):  # noqa: ANN001,ANN201
            """Transposition for parallel computation of multiple attention heads."""
            X = X.reshape(X.shape[0], X.shape[1], self.num_heads, -1)
            X = X.permute(0, 2, 1, 3)
            return X.reshape(-1, X.shape[2], X.shape[3])

        def transpose_output(self, X):  # noqa: ANN001,ANN201
            """Reverse the operation of transpose_qkv."""
            X = X.reshape(-1, self.num_heads, X.shape[1], X.shape[2])
            X = X.permute(0, 2, 1, 3)
            return X.reshape(X.shape[0], X.shape[1], -1)

    class PositionWiseFFN(nn.Module):
        """The positionwise feed-forward network."""

        def __init__(self, ffn_num_hiddens, ffn_num_outputs):  # noqa: ANN001
            super().__init__()
            self.dense1 = nn.LazyLinear(ffn_num_hiddens)
            self.relu = nn.ReLU()
            self.dense2 = nn.LazyLinear(ffn_num_outputs)

        def forward(self, X):  # noqa: ANN001,ANN201
            return self.dense2(self.relu(self.dense1(X)))

    class AddNorm(nn.Module):
        """The residual connection followed by layer normalization."""

        def __init__(self, norm_shape, dropout):  # noqa: ANN001
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            self.ln = nn.LayerNorm(norm_shape)

        def forward(self, X, Y):  # noqa: ANN001,ANN201
            return self.ln(self.dropout(Y) + X)

    class TransformerEncoderBlock(nn.Module):
        """The Transformer encoder block."""

        def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout,
                     use_bias=False):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout, use_bias)
            self.addnorm1 = AddNorm(num_hiddens, dropout)
            self.ffn = PositionWiseFFN(ffn_num_hiddens, num_hiddens)
            self.addnorm2 = AddNorm(num_hiddens, dropout)

        def forward(self, X, valid_lens):  # noqa: ANN001,ANN201
            Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
            return self.addnorm2(Y, self.ffn(Y))

    class BERTEncoder(nn.Module):
        """BERT encoder."""

        def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads,
                     num_blks, dropout, max_len=1000, **kwargs):  # noqa: ANN001 # fmt: skip
            super(BERTEncoder, self).__init__(**kwargs)  # noqa: UP008
            self.token_embedding = nn.Embedding(vocab_size, num_hiddens)
            self.segment_embedding = nn.Embedding(2, num_hiddens)
            self.blks = nn.Sequential()
            for i in range(num_blks):
                self.blks.add_module(f"{i}", TransformerEncoderBlock(
                    num_hiddens, ffn_num_hiddens, num_heads, dropout, True))  # fmt: skip
            # In BERT, positional embeddings are learnable, thus we create a
            # parameter of positional embeddings that are long enough
            self.pos_embedding = nn.Parameter(torch.randn(1, max_len, num_hiddens))

        def forward(self, tokens, segments, valid_lens):  # noqa: ANN001,ANN201
            # Shape of `X` remains unchanged in the following code snippet:
            # (batch size, max sequence length, `num_hiddens`)
            X = self.token_embedding(tokens) + self.segment_embedding(segments)
            X = X + self.pos_embedding[:, : X.shape[1], :]
            for blk in self.blks:
                X = blk(X, valid_lens)
            return X

    class MaskLM(nn.Module):
        """The masked language model task of BERT."""

        def __init__(self, vocab_size, num_hiddens, **kwargs):  # noqa: ANN001
            super(MaskLM, self).__init__(**kwargs)  # noqa: UP008
            self.mlp = nn.Sequential(nn.LazyLinear(num_hiddens),
                                     nn.ReLU(),
                                     nn.LayerNorm(num_hiddens),
                                     nn.LazyLinear(vocab_size))  # fmt: skip

        def forward(self, X, pred_positions):  # noqa: ANN001,ANN201
            num_pred_positions = pred_positions.shape[1]
            pred_positions = pred_positions.reshape(-1)
            batch_size = X.shape[0]
            batch_idx = torch.arange(0, batch_size)
            # Suppose that `batch_size` = 2, `num_pred_positions` = 3, then
            # `batch_idx` is `torch.tensor([0, 0, 0, 1, 1, 1])`
            batch_idx = torch.repeat_interleave(batch_idx, num_pred_positions)
            masked_X = X[batch_idx, pred_positions]
            masked_X = masked_X.reshape((batch_size, num_pred_positions, -1))
            mlm_Y_hat = self.mlp(masked_X)
            return mlm_Y_hat

    class NextSentencePred(nn.Module):
        """The next sentence prediction task of BERT."""

        def __init__(self, **kwargs):  # noqa: ANN003
            super(NextSentencePred, self).__init__(**kwargs)  # noqa: UP008
            self.output = nn.LazyLinear(2)

        def forward(self, X):  # noqa: ANN001,ANN201
            # `X` shape: (batch size, `num_hiddens`)
            return self.output(X)

    class BERTModel(nn.Module):
        """The BERT model."""

        def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens,
                     num_heads, num_blks, dropout, max_len=1000):  # noqa: ANN001 # fmt: skip
            super(BERTModel, self).__init__()  # noqa: UP008
            self.encoder = BERTEncoder(vocab_size, num_hiddens, ffn_num_hiddens,
                                       num_heads, num_blks, dropout,
                                       max_len=max_len)  # fmt: skip
            self.hidden = nn.Sequential(nn.LazyLinear(num_hiddens),
                                        nn.Tanh())  # fmt: skip
            self.mlm = MaskLM(vocab_size, num_hiddens)
            self.nsp = NextSentencePred()

        def forward(self, tokens, segments, valid_lens=None, pred_positions=None):  # noqa: ANN001,ANN201
            encoded_X = self.encoder(tokens, segments, valid_lens)
            if pred_positions is not None:
                mlm_Y_hat = self.mlm(encoded_X, pred_positions)
            else:
                mlm_Y_hat = None
            # The hidden layer of the MLP classifier for next sentence prediction.
            # 0 is the index of the '<cls>' token
            nsp_Y_hat = self.nsp(self.hidden(encoded_X[:, 0, :]))
            return encoded_X, mlm_Y_hat, nsp_Y_hat

    class BERTClassifier(nn.Module):
        def __init__(self, bert):  # noqa: ANN001
            super(BERTClassifier, self).__init__()  # noqa: UP008
            self.encoder = bert.encoder
            self.hidden = bert.hidden
            self.output = nn.LazyLinear(3)

        def forward(self, inputs):  # noqa: ANN001,ANN201
            tokens_X, segments_X, valid_lens_x = inputs
            encoded_X = self.encoder(tokens_X, segments_X, valid_lens_x)
            return self.output(self.hidden(encoded_X[:, 0, :]))

    return {
        "masked_softmax": masked_softmax,
        "MultiHeadAttention": MultiHeadAttention,
        "PositionWiseFFN": PositionWiseFFN,
        "AddNorm": AddNorm,
        "TransformerEncoderBlock": TransformerEncoderBlock,
        "BERTModel": BERTModel,
        "BERTClassifier": BERTClassifier,
    }


def _vocab() -> Vocab:
    return Vocab(WORDS, reserved_tokens=["<pad>", "<mask>", "<cls>", "<sep>"])


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)["BERTModel"](
        len(_vocab()),
        num_hiddens=NUM_HIDDENS,
        ffn_num_hiddens=16,
        num_heads=NUM_HEADS,
        num_blks=NUM_BLKS,
        dropout=0.1,
        max_len=MAX_LEN,
    )


def _dry_run(torch_like: Any, net: Any) -> None:
    torch = torch_like
    net(*[torch.zeros((2, MAX_LEN), dtype=torch.long)] * 2, torch.tensor([MAX_LEN] * 2),
        torch.zeros((2, 2), dtype=torch.long))  # fmt: skip


def init_state(tmp_path: Any) -> None:
    """No shared state: both runs draw the (lazy) initial weights from the same seed."""
    return None


def _paragraphs(rng: random.Random) -> list:
    return [
        [[rng.choice(WORDS) for _ in range(rng.randint(2, 4))] for _ in range(rng.randint(2, 4))]
        for _ in range(12)
    ]


def _get_next_sentence(sentence: list, next_sentence: list, paragraphs: list) -> tuple:
    if random.random() < 0.5:
        is_next = True
    else:
        # `paragraphs` is a list of lists of lists
        next_sentence = random.choice(random.choice(paragraphs))
        is_next = False
    return sentence, next_sentence, is_next


def _get_nsp_data_from_paragraph(paragraph: list, paragraphs: list, vocab: Vocab,
                                 max_len: int) -> list:  # fmt: skip
    nsp_data_from_paragraph = []
    for i in range(len(paragraph) - 1):
        tokens_a, tokens_b, is_next = _get_next_sentence(
            paragraph[i], paragraph[i + 1], paragraphs)  # fmt: skip
        # Consider 1 '<cls>' token and 2 '<sep>' tokens
        if len(tokens_a) + len(tokens_b) + 3 > max_len:
            continue
        tokens, segments = get_tokens_and_segments(tokens_a, tokens_b)
        nsp_data_from_paragraph.append((tokens, segments, is_next))
    return nsp_data_from_paragraph


def _replace_mlm_tokens(tokens: list, candidate_pred_positions: list, num_mlm_preds: int,
                        vocab: Vocab) -> tuple:  # fmt: skip
    # For the input of a masked language model, make a new copy of tokens and
    # replace some of them by '<mask>' or random tokens
    mlm_input_tokens = [token for token in tokens]
    pred_positions_and_labels = []
    # Shuffle for getting 15% random tokens for prediction in the masked
    # language modeling task
    random.shuffle(candidate_pred_positions)
    for mlm_pred_position in candidate_pred_positions:
        if len(pred_positions_and_labels) >= num_mlm_preds:
            break
        masked_token = None
        # 80% of the time: replace the word with the '<mask>' token
        if random.random() < 0.8:
            masked_token = "<mask>"
        else:
            # 10% of the time: keep the word unchanged
            if random.random() < 0.5:
                masked_token = tokens[mlm_pred_position]
            # 10% of the time: replace the word with a random word
            else:
                masked_token = random.choice(vocab.idx_to_token)
        mlm_input_tokens[mlm_pred_position] = masked_token
        pred_positions_and_labels.append((mlm_pred_position, tokens[mlm_pred_position]))
    return mlm_input_tokens, pred_positions_and_labels


def _get_mlm_data_from_tokens(tokens: list, vocab: Vocab) -> tuple:
    candidate_pred_positions = []
    # `tokens` is a list of strings
    for i, token in enumerate(tokens):
        # Special tokens are not predicted in the masked language modeling
        # task
        if token in ["<cls>", "<sep>"]:
            continue
        candidate_pred_positions.append(i)
    # 15% of random tokens are predicted in the masked language modeling task
    num_mlm_preds = max(1, round(len(tokens) * 0.15))
    mlm_input_tokens, pred_positions_and_labels = _replace_mlm_tokens(
        tokens, candidate_pred_positions, num_mlm_preds, vocab)  # fmt: skip
    pred_positions_and_labels = sorted(pred_positions_and_labels, key=lambda x: x[0])
    pred_positions = [v[0] for v in pred_positions_and_labels]
    mlm_pred_labels = [v[1] for v in pred_positions_and_labels]
    return vocab[mlm_input_tokens], pred_positions, vocab[mlm_pred_labels]


def _pad_bert_inputs(torch_like: Any, examples: list, max_len: int, vocab: Vocab) -> tuple:
    torch = torch_like
    max_num_mlm_preds = round(max_len * 0.15)
    all_token_ids, all_segments, valid_lens, = [], [], []  # fmt: skip
    all_pred_positions, all_mlm_weights, all_mlm_labels = [], [], []
    nsp_labels = []
    for token_ids, pred_positions, mlm_pred_label_ids, segments, is_next in examples:
        all_token_ids.append(torch.tensor(token_ids + [vocab["<pad>"]] * (
            max_len - len(token_ids)), dtype=torch.long))  # fmt: skip
        all_segments.append(torch.tensor(segments + [0] * (
            max_len - len(segments)), dtype=torch.long))  # fmt: skip
        # `valid_lens` excludes count of '<pad>' tokens
        valid_lens.append(torch.tensor(len(token_ids), dtype=torch.float32))
        all_pred_positions.append(torch.tensor(pred_positions + [0] * (
            max_num_mlm_preds - len(pred_positions)), dtype=torch.long))  # fmt: skip
        # Predictions of padded tokens will be filtered out in the loss via
        # multiplication of 0 weights
        all_mlm_weights.append(
            torch.tensor([1.0] * len(mlm_pred_label_ids) + [0.0] * (
                max_num_mlm_preds - len(pred_positions)),
                dtype=torch.float32))  # fmt: skip
        all_mlm_labels.append(torch.tensor(mlm_pred_label_ids + [0] * (
            max_num_mlm_preds - len(mlm_pred_label_ids)), dtype=torch.long))  # fmt: skip
        nsp_labels.append(torch.tensor(is_next, dtype=torch.long))
    return (all_token_ids, all_segments, valid_lens, all_pred_positions,
            all_mlm_weights, all_mlm_labels, nsp_labels)  # fmt: skip


def run(torch_like: Any, init: None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    random.seed(159)
    paragraphs = _paragraphs(random.Random(15))
    vocab = _vocab()
    max_len = MAX_LEN

    class _WikiTextDataset(torch.utils.data.Dataset):
        def __init__(self, paragraphs: list, max_len: int) -> None:
            self.vocab = vocab
            # Get data for the next sentence prediction task
            examples = []
            for paragraph in paragraphs:
                examples.extend(_get_nsp_data_from_paragraph(
                    paragraph, paragraphs, self.vocab, max_len))  # fmt: skip
            # Get data for the masked language model task
            examples = [(_get_mlm_data_from_tokens(tokens, self.vocab)
                         + (segments, is_next))
                        for tokens, segments, is_next in examples]  # fmt: skip
            # Pad inputs
            (self.all_token_ids, self.all_segments, self.valid_lens,
             self.all_pred_positions, self.all_mlm_weights,
             self.all_mlm_labels, self.nsp_labels) = _pad_bert_inputs(
                torch_like, examples, max_len, self.vocab)  # fmt: skip

        def __getitem__(self, idx: int) -> tuple:
            return (self.all_token_ids[idx], self.all_segments[idx],
                    self.valid_lens[idx], self.all_pred_positions[idx],
                    self.all_mlm_weights[idx], self.all_mlm_labels[idx],
                    self.nsp_labels[idx])  # fmt: skip

        def __len__(self) -> int:
            return len(self.all_token_ids)

    train_set = _WikiTextDataset(paragraphs, max_len)
    train_iter = torch.utils.data.DataLoader(train_set, 4, shuffle=True, num_workers=0)
    torch.manual_seed(3)
    net = make_model(torch_like)
    devices = [torch.device("cpu")]
    loss = nn.CrossEntropyLoss()
    values: list[float] = [len(train_set)]

    def _get_batch_loss_bert(net, loss, vocab_size, tokens_X,
                             segments_X, valid_lens_x,
                             pred_positions_X, mlm_weights_X,
                             mlm_Y, nsp_y):  # noqa: ANN001,ANN202 # fmt: skip
        # Forward pass
        _, mlm_Y_hat, nsp_Y_hat = net(tokens_X, segments_X,
                                      valid_lens_x.reshape(-1),
                                      pred_positions_X)  # fmt: skip
        # Compute masked language model loss
        mlm_l = loss(mlm_Y_hat.reshape(-1, vocab_size), mlm_Y.reshape(-1)) *\
        mlm_weights_X.reshape(-1, 1)  # fmt: skip
        mlm_l = mlm_l.sum() / (mlm_weights_X.sum() + 1e-8)
        # Compute next sentence prediction loss
        nsp_l = loss(nsp_Y_hat, nsp_y)
        l = mlm_l + nsp_l  # noqa: E741
        return mlm_l, nsp_l, l

    def train_bert(train_iter, net, loss, vocab_size, devices, num_steps):  # noqa: ANN001,ANN202
        _dry_run(torch_like, net)
        net = nn.DataParallel(net, device_ids=devices).to(devices[0])
        trainer = torch.optim.Adam(net.parameters(), lr=0.01)
        step, num_steps_reached = 0, False
        while step < num_steps and not num_steps_reached:
            for tokens_X, segments_X, valid_lens_x, pred_positions_X,\
                mlm_weights_X, mlm_Y, nsp_y in train_iter:  # fmt: skip
                tokens_X = tokens_X.to(devices[0])
                segments_X = segments_X.to(devices[0])
                valid_lens_x = valid_lens_x.to(devices[0])
                pred_positions_X = pred_positions_X.to(devices[0])
                mlm_weights_X = mlm_weights_X.to(devices[0])
                mlm_Y, nsp_y = mlm_Y.to(devices[0]), nsp_y.to(devices[0])
                trainer.zero_grad()
                mlm_l, nsp_l, l = _get_batch_loss_bert(  # noqa: E741
                    net, loss, vocab_size, tokens_X, segments_X, valid_lens_x,
                    pred_positions_X, mlm_weights_X, mlm_Y, nsp_y)  # fmt: skip
                l.backward()
                trainer.step()
                values.extend([mlm_l.item(), nsp_l.item(), tokens_X.shape[0]])
                step += 1
                if step == num_steps:
                    num_steps_reached = True
                    break
        return net

    net = train_bert(train_iter, net, loss, len(vocab), devices, 4)

    def get_bert_encoding(net, tokens_a, tokens_b=None):  # noqa: ANN001,ANN202
        tokens, segments = get_tokens_and_segments(tokens_a, tokens_b)
        token_ids = torch.tensor(vocab[tokens], device=devices[0]).unsqueeze(0)
        segments = torch.tensor(segments, device=devices[0]).unsqueeze(0)
        valid_len = torch.tensor(len(tokens), device=devices[0]).unsqueeze(0)
        encoded_X, _, _ = net(token_ids, segments, valid_len)
        return encoded_X

    net.eval()
    encoded_text = get_bert_encoding(net, ["a", "cat", "sat"])
    values += [encoded_text.shape[1], encoded_text[:, 0, :].sum().item()]
    encoded_pair = get_bert_encoding(net, ["a", "cat", "sat"], ["the", "dog", "ran"])
    values += [encoded_pair.shape[1], encoded_pair[0][:2].abs().sum().item()]

    BERTClassifier = _classes(torch_like)["BERTClassifier"]
    clf = BERTClassifier(net.module)
    clf.output(torch.zeros(1, NUM_HIDDENS))
    nn.init.constant_(clf.output.weight, 0.1)
    nn.init.zeros_(clf.output.bias)
    clf.train()
    trainer = torch.optim.Adam(clf.parameters(), lr=1e-3)
    for tokens_X, segments_X, valid_lens_x, *_rest, nsp_y in train_iter:
        trainer.zero_grad()
        l = nn.CrossEntropyLoss(reduction="none")(  # noqa: E741
            clf((tokens_X, segments_X, valid_lens_x)), nsp_y
        )
        l.sum().backward()
        trainer.step()
        values.append(l.sum().item())
    return values
