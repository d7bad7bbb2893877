"""BiDAF (bi-directional attention flow) for extractive question answering, as galsang/BiDAF-pytorch
writes it (``model/model.py``, ``utils/nn.py``, ``model/ema.py``, ``run.py``), size-reduced.

The idioms: the character CNN (``nn.Embedding(char_vocab_size, char_dim, padding_idx=1)`` with
``nn.init.uniform_(self.char_emb.weight, -0.001, 0.001)``, ``x.view(-1, char_dim,
x.size(2)).unsqueeze(1)``, ``nn.Conv2d(1, char_channel_size, (char_dim, char_channel_width))``,
``self.char_conv(x).squeeze()``, ``F.max_pool1d(x, x.size(2)).squeeze()``); the frozen word
vectors ``nn.Embedding.from_pretrained(pretrained, freeze=True)``; the two-layer highway network
built with ``setattr(self, f'highway_linear{i}', ...)`` and read back with ``getattr``, ``x = g *
h + (1 - g) * x``; the ``LSTM`` wrapper (input ``nn.Dropout``, ``torch.sort(x_len,
descending=True)``, ``x.index_select(dim=0, index=x_idx)``, ``pack_padded_sequence`` /
``pad_packed_sequence``, ``h.permute(1, 0, 2).contiguous().view(-1, h.size(0) * h.size(2))``,
``reset_params`` with ``nn.init.orthogonal_``/``kaiming_normal_`` on ``getattr(self.rnn,
f'weight_hh_l{i}')`` and the forget-gate ``bias_hh.chunk(4)[1].fill_(1)``); the ``Linear`` wrapper
with an optional dropout found by ``hasattr(self, 'dropout')``; the attention flow layer (the
trilinear similarity with ``q.select(1, i).unsqueeze(1)``, ``self.att_weight_cq(c *
qi).squeeze()`` per question word, ``torch.stack(cq, dim=-1)``, ``expand(-1, -1, q_len)`` and
``permute(0, 2, 1).expand(-1, c_len, -1)``, context-to-query ``torch.bmm(F.softmax(s, dim=2),
q)``, query-to-context ``F.softmax(torch.max(s, dim=2)[0], dim=1).unsqueeze(1)`` tiled with
``unsqueeze(1).expand(-1, c_len, -1)``, ``torch.cat([c, c2q_att, c * c2q_att, c * q2c_att],
dim=-1)``); the modelling and output LSTMs and span logits; training with ``optim.Adadelta``, the
summed start/end ``CrossEntropyLoss`` and the ``EMA`` class (``val.clone()`` shadows, ``(1.0 -
self.mu) * x + self.mu * self.shadow[name]``) updated from ``param.data``; the dev pass that
swaps EMA weights in with ``param.data.copy_(ema.get(name))`` and back, under
``torch.set_grad_enabled(False)``, decoding spans with ``nn.LogSoftmax(dim=1)``, the ``(torch.ones(
c_len, c_len) * float('-inf')).tril(-1).unsqueeze(0).expand(batch_size, -1, -1)`` mask, two
``max(dim=1)`` and ``torch.gather(s_idx, 1, e_idx.view(-1, 1)).squeeze()``.

Changed: hidden 100 -> 4, char channels 100 -> 4, char/word dims 8/100 -> 3/4, contexts of at
most 6 words of 3 characters and questions of 4 words drawn by NumPy instead of SQuAD through
torchtext, 3 training batches of 3; the forget-gate ``fill_`` runs under ``torch.no_grad()``
(current PyTorch refuses an in-place write to a ``chunk`` view of a parameter under autograd);
dropout 0.2 kept (both libraries draw the same masks from ``torch.manual_seed``).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

ARGS = SimpleNamespace(
    char_vocab_size=10, char_dim=3, char_channel_size=4, char_channel_width=2, word_vocab_size=15,
    word_dim=4, hidden_size=4, dropout=0.2, learning_rate=0.5, exp_decay_rate=0.999,
)  # fmt: skip
BATCH, C_LEN, Q_LEN, WORD_LEN = 3, 6, 4, 3


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class LSTM(nn.Module):
        def __init__(self, input_size: int, hidden_size: int, batch_first: bool = False,
                     num_layers: int = 1, bidirectional: bool = False,
                     dropout: float = 0.2) -> None:  # fmt: skip
            super().__init__()
            self.rnn = nn.LSTM(input_size=input_size, hidden_size=hidden_size,
                               num_layers=num_layers, bidirectional=bidirectional,
                               batch_first=batch_first)  # fmt: skip
            self.reset_params()
            self.dropout = nn.Dropout(p=dropout)

        def reset_params(self) -> None:
            for i in range(self.rnn.num_layers):
                nn.init.orthogonal_(getattr(self.rnn, f"weight_hh_l{i}"))
                nn.init.kaiming_normal_(getattr(self.rnn, f"weight_ih_l{i}"))
                nn.init.constant_(getattr(self.rnn, f"bias_hh_l{i}"), val=0)
                nn.init.constant_(getattr(self.rnn, f"bias_ih_l{i}"), val=0)
                with torch.no_grad():
                    getattr(self.rnn, f"bias_hh_l{i}").chunk(4)[1].fill_(1)
                if self.rnn.bidirectional:
                    nn.init.orthogonal_(getattr(self.rnn, f"weight_hh_l{i}_reverse"))
                    nn.init.kaiming_normal_(getattr(self.rnn, f"weight_ih_l{i}_reverse"))
                    nn.init.constant_(getattr(self.rnn, f"bias_hh_l{i}_reverse"), val=0)
                    nn.init.constant_(getattr(self.rnn, f"bias_ih_l{i}_reverse"), val=0)
                    with torch.no_grad():
                        getattr(self.rnn, f"bias_hh_l{i}_reverse").chunk(4)[1].fill_(1)

        def forward(self, x: Any) -> Any:
            x, x_len = x
            x = self.dropout(x)
            x_len_sorted, x_idx = torch.sort(x_len, descending=True)
            x_sorted = x.index_select(dim=0, index=x_idx)
            _, x_ori_idx = torch.sort(x_idx)
            x_packed = nn.utils.rnn.pack_padded_sequence(x_sorted, x_len_sorted, batch_first=True)
            x_packed, (h, c) = self.rnn(x_packed)
            x = nn.utils.rnn.pad_packed_sequence(x_packed, batch_first=True)[0]
            x = x.index_select(dim=0, index=x_ori_idx)
            h = h.permute(1, 0, 2).contiguous().view(-1, h.size(0) * h.size(2)).squeeze()
            h = h.index_select(dim=0, index=x_ori_idx)
            return x, h

    class Linear(nn.Module):
        def __init__(self, in_features: int, out_features: int, dropout: float = 0.0) -> None:
            super().__init__()
            self.linear = nn.Linear(in_features=in_features, out_features=out_features)
            if dropout > 0:
                self.dropout = nn.Dropout(p=dropout)
            self.reset_params()

        def reset_params(self) -> None:
            nn.init.kaiming_normal_(self.linear.weight)
            nn.init.constant_(self.linear.bias, 0)

        def forward(self, x: Any) -> Any:
            if hasattr(self, "dropout"):
                x = self.dropout(x)
            x = self.linear(x)
            return x

    class BiDAF(nn.Module):
        def __init__(self, args: Any, pretrained: Any) -> None:
            super().__init__()
            self.args = args
            self.char_emb = nn.Embedding(args.char_vocab_size, args.char_dim, padding_idx=1)
            nn.init.uniform_(self.char_emb.weight, -0.001, 0.001)
            self.char_conv = nn.Sequential(
                nn.Conv2d(1, args.char_channel_size, (args.char_dim, args.char_channel_width)),
                nn.ReLU(),
            )
            self.word_emb = nn.Embedding.from_pretrained(pretrained, freeze=True)
            assert self.args.hidden_size * 2 == (self.args.char_channel_size + self.args.word_dim)
            for i in range(2):
                setattr(self, f"highway_linear{i}",
                        nn.Sequential(Linear(args.hidden_size * 2, args.hidden_size * 2),
                                      nn.ReLU()))  # fmt: skip
                setattr(self, f"highway_gate{i}",
                        nn.Sequential(Linear(args.hidden_size * 2, args.hidden_size * 2),
                                      nn.Sigmoid()))  # fmt: skip
            self.context_LSTM = LSTM(input_size=args.hidden_size * 2,
                                     hidden_size=args.hidden_size, bidirectional=True,
                                     batch_first=True, dropout=args.dropout)  # fmt: skip
            self.att_weight_c = Linear(args.hidden_size * 2, 1)
            self.att_weight_q = Linear(args.hidden_size * 2, 1)
            self.att_weight_cq = Linear(args.hidden_size * 2, 1)
            self.modeling_LSTM1 = LSTM(input_size=args.hidden_size * 8,
                                       hidden_size=args.hidden_size, bidirectional=True,
                                       batch_first=True, dropout=args.dropout)  # fmt: skip
            self.modeling_LSTM2 = LSTM(input_size=args.hidden_size * 2,
                                       hidden_size=args.hidden_size, bidirectional=True,
                                       batch_first=True, dropout=args.dropout)  # fmt: skip
            self.p1_weight_g = Linear(args.hidden_size * 8, 1, dropout=args.dropout)
            self.p1_weight_m = Linear(args.hidden_size * 2, 1, dropout=args.dropout)
            self.p2_weight_g = Linear(args.hidden_size * 8, 1, dropout=args.dropout)
            self.p2_weight_m = Linear(args.hidden_size * 2, 1, dropout=args.dropout)
            self.output_LSTM = LSTM(input_size=args.hidden_size * 2,
                                    hidden_size=args.hidden_size, bidirectional=True,
                                    batch_first=True, dropout=args.dropout)  # fmt: skip
            self.dropout = nn.Dropout(p=args.dropout)

        def forward(self, batch: Any) -> Any:
            def char_emb_layer(x: Any) -> Any:
                batch_size = x.size(0)
                x = self.dropout(self.char_emb(x))
                x = x.view(-1, self.args.char_dim, x.size(2)).unsqueeze(1)
                x = self.char_conv(x).squeeze()
                x = F.max_pool1d(x, x.size(2)).squeeze()
                x = x.view(batch_size, -1, self.args.char_channel_size)
                return x

            def highway_network(x1: Any, x2: Any) -> Any:
                x = torch.cat([x1, x2], dim=-1)
                for i in range(2):
                    h = getattr(self, f"highway_linear{i}")(x)
                    g = getattr(self, f"highway_gate{i}")(x)
                    x = g * h + (1 - g) * x
                return x

            def att_flow_layer(c: Any, q: Any) -> Any:
                c_len = c.size(1)
                q_len = q.size(1)
                cq = []
                for i in range(q_len):
                    qi = q.select(1, i).unsqueeze(1)
                    ci = self.att_weight_cq(c * qi).squeeze()
                    cq.append(ci)
                cq = torch.stack(cq, dim=-1)
                s = (
                    self.att_weight_c(c).expand(-1, -1, q_len)
                    + self.att_weight_q(q).permute(0, 2, 1).expand(-1, c_len, -1)
                    + cq
                )
                a = F.softmax(s, dim=2)
                c2q_att = torch.bmm(a, q)
                b = F.softmax(torch.max(s, dim=2)[0], dim=1).unsqueeze(1)
                q2c_att = torch.bmm(b, c).squeeze()
                q2c_att = q2c_att.unsqueeze(1).expand(-1, c_len, -1)
                x = torch.cat([c, c2q_att, c * c2q_att, c * q2c_att], dim=-1)
                return x

            def output_layer(g: Any, m: Any, l: Any) -> Any:  # noqa: E741 (the original's name)
                p1 = (self.p1_weight_g(g) + self.p1_weight_m(m)).squeeze()
                m2 = self.output_LSTM((m, l))[0]
                p2 = (self.p2_weight_g(g) + self.p2_weight_m(m2)).squeeze()
                return p1, p2

            c_char = char_emb_layer(batch.c_char)
            q_char = char_emb_layer(batch.q_char)
            c_word = self.word_emb(batch.c_word[0])
            q_word = self.word_emb(batch.q_word[0])
            c_lens = batch.c_word[1]
            q_lens = batch.q_word[1]
            c = highway_network(c_char, c_word)
            q = highway_network(q_char, q_word)
            c = self.context_LSTM((c, c_lens))[0]
            q = self.context_LSTM((q, q_lens))[0]
            g = att_flow_layer(c, q)
            m = self.modeling_LSTM2((self.modeling_LSTM1((g, c_lens))[0], c_lens))[0]
            p1, p2 = output_layer(g, m, c_lens)
            return p1, p2

    pretrained = torch.tensor(np.random.default_rng(2).normal(size=(ARGS.word_vocab_size, 4)))
    return BiDAF(ARGS, pretrained)


class EMA:
    def __init__(self, mu: float) -> None:
        self.mu = mu
        self.shadow: dict = {}

    def register(self, name: str, val: Any) -> None:
        self.shadow[name] = val.clone()

    def get(self, name: str) -> Any:
        return self.shadow[name]

    def update(self, name: str, x: Any) -> None:
        assert name in self.shadow
        new_average = (1.0 - self.mu) * x + self.mu * self.shadow[name]
        self.shadow[name] = new_average.clone()


def _batch(torch_like: Any, rng: np.random.Generator) -> SimpleNamespace:
    def side(max_len: int) -> tuple[Any, Any, Any]:
        lengths = rng.integers(2, max_len + 1, BATCH)
        lengths[rng.integers(BATCH)] = max_len
        words = np.ones((BATCH, max_len), dtype=np.int64)
        chars = np.ones((BATCH, max_len, WORD_LEN), dtype=np.int64)
        for b, length in enumerate(lengths):
            words[b, :length] = rng.integers(2, ARGS.word_vocab_size, length)
            chars[b, :length] = rng.integers(2, ARGS.char_vocab_size, (length, WORD_LEN))
        return (
            as_tensor(torch_like, chars),
            as_tensor(torch_like, words),
            as_tensor(torch_like, lengths.astype(np.int64)),
        )

    c_char, c_word, c_lens = side(C_LEN)
    q_char, q_word, q_lens = side(Q_LEN)
    s_idx = rng.integers(0, 2, BATCH)
    e_idx = s_idx + rng.integers(0, 2, BATCH)
    return SimpleNamespace(
        c_char=c_char, q_char=q_char, c_word=(c_word, c_lens), q_word=(q_word, q_lens),
        s_idx=as_tensor(torch_like, s_idx), e_idx=as_tensor(torch_like, e_idx),
    )  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn, optim = torch_like, torch_like.nn, torch_like.optim
    torch.manual_seed(0)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    device = "cpu"
    ema = EMA(ARGS.exp_decay_rate)
    for name, param in model.named_parameters():
        if param.requires_grad:
            ema.register(name, param.data)
    parameters = filter(lambda p: p.requires_grad, model.parameters())
    optimizer = optim.Adadelta(parameters, lr=ARGS.learning_rate)
    criterion = nn.CrossEntropyLoss()
    rng = np.random.default_rng(4)
    values: list[float] = []
    model.train()
    loss = 0
    for _ in range(3):
        batch = _batch(torch_like, rng)
        p1, p2 = model(batch)
        optimizer.zero_grad()
        batch_loss = criterion(p1, batch.s_idx) + criterion(p2, batch.e_idx)
        loss += batch_loss.item()
        batch_loss.backward()
        optimizer.step()
        for name, param in model.named_parameters():
            if param.requires_grad:
                ema.update(name, param.data)
        values.append(batch_loss.item())

    # test(): evaluate with the EMA weights swapped in
    model.eval()
    backup_params = EMA(0)
    for name, param in model.named_parameters():
        if param.requires_grad:
            backup_params.register(name, param.data)
            param.data.copy_(ema.get(name))
    with torch.set_grad_enabled(False):
        batch = _batch(torch_like, rng)
        p1, p2 = model(batch)
        batch_loss = criterion(p1, batch.s_idx) + criterion(p2, batch.e_idx)
        batch_size, c_len = p1.size()
        ls = nn.LogSoftmax(dim=1)
        mask = (
            (torch.ones(c_len, c_len) * float("-inf"))
            .to(device)
            .tril(-1)
            .unsqueeze(0)
            .expand(batch_size, -1, -1)
        )
        score = (ls(p1).unsqueeze(2) + ls(p2).unsqueeze(1)) + mask
        score, s_idx = score.max(dim=1)
        score, e_idx = score.max(dim=1)
        s_idx = torch.gather(s_idx, 1, e_idx.view(-1, 1)).squeeze()
    for name, param in model.named_parameters():
        if param.requires_grad:
            param.data.copy_(backup_params.get(name))
    values += [batch_loss.item(), score.sum().item(), *s_idx.tolist(), *e_idx.tolist()]
    values.append(sum(p.sum().item() for p in model.parameters()))
    return values
