"""A pointer network (Vinyals et al. 2015) learning to sort numbers, as shirgur/PointerNet
(``PointerNet.py``, ``Train.py``) and the pointer-network tutorials derived from it write it,
size-reduced.

The idioms: the ``Encoder`` (``nn.LSTM(embedding_dim, hidden_dim, n_layers, dropout=dropout,
bidirectional=bidir)``, ``embedded_inputs.permute(1, 0, 2)``, the ``h0 =
Parameter(torch.zeros(1), requires_grad=False)`` kept "for propagating .cuda()" and
``init_hidden``'s ``self.h0.unsqueeze(0).unsqueeze(0).repeat(self.n_layers, batch_size,
self.hidden_dim)``); the additive ``Attention`` (``nn.Linear`` for the query, ``nn.Conv1d(
input_dim, hidden_dim, 1, 1)`` for the context, ``self.V = Parameter(torch.FloatTensor(
hidden_dim), requires_grad=True)`` with ``nn.init.uniform_(self.V, -1, 1)``, ``self._inf =
Parameter(torch.FloatTensor([float('-inf')]), requires_grad=False)``, ``self.V.unsqueeze(
0).expand(context.size(0), -1).unsqueeze(1)``, ``torch.bmm(V, self.tanh(inp + ctx)).squeeze(
1)``, ``if len(att[mask]) > 0: att[mask] = self.inf[mask]`` with ``self.inf =
self._inf.unsqueeze(1).expand(*mask_size)``, ``nn.Softmax(dim=1)``, ``torch.bmm(ctx,
alpha.unsqueeze(2)).squeeze(2)``); the ``Decoder`` (an ``nn.LSTMCell`` stepped in a Python
loop, ``self.mask.repeat(input_length).unsqueeze(0).repeat(batch_size, 1)``, the ``runner``
filled through ``runner.data[i] = i`` and ``.unsqueeze(0).expand(batch_size, -1).long()``,
``torch.eq(mask, 0)``, ``masked_outs = outs * mask``, ``max_probs, indices =
masked_outs.max(1)``, ``one_hot_pointers = (runner == indices.unsqueeze(1).expand(-1,
outs.size()[1])).float()``, ``mask = mask * (1 - one_hot_pointers)``, the next input picked
by a boolean embedding mask ``embedded_inputs[embedding_mask.data].view(batch_size,
self.embedding_dim)`` and by ``embedded_inputs[torch.arange(batch_size), indices]``,
``torch.cat(outputs).permute(1, 0, 2)``); a variant scoring with ``masked_fill(mask,
float('-inf'))`` and ``F.log_softmax`` over ``torch.max(alpha, 1)`` pointers, the mask updated
by ``scatter``; and ``Train.py``'s step (``o.contiguous().view(-1, o.size()[-1])``,
``nn.CrossEntropyLoss()`` over the attention weights, ``optim.Adam(filter(lambda p:
p.requires_grad, model.parameters()), lr=...)``, ``torch.nn.utils.clip_grad_norm_``).

Float32 as the repository's ``torch.FloatTensor`` parameters are. Changed: sequences of 5
numbers sorted, 2-d points as in the repository's TSP input (value, index/5), hidden size 8,
one-layer bidirectional encoder, dropout 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
EMB, HIDDEN, SEQ, BATCH, STEPS, LR, CLIP = 6, 8, 5, 4, 6, 0.01, 2.0


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    Parameter = torch_like.nn.Parameter

    class Encoder(nn.Module):
        def __init__(
            self, embedding_dim: int, hidden_dim: int, n_layers: int, dropout: float, bidir: bool
        ) -> None:
            super().__init__()
            self.hidden_dim = hidden_dim // 2 if bidir else hidden_dim
            self.n_layers = n_layers * 2 if bidir else n_layers
            self.bidir = bidir
            self.lstm = nn.LSTM(
                embedding_dim, self.hidden_dim, n_layers, dropout=dropout, bidirectional=bidir
            )
            # Used for propagating .cuda() command
            self.h0 = Parameter(torch.zeros(1), requires_grad=False)
            self.c0 = Parameter(torch.zeros(1), requires_grad=False)

        def forward(self, embedded_inputs: Any, hidden: Any) -> tuple[Any, Any]:
            embedded_inputs = embedded_inputs.permute(1, 0, 2)
            outputs, hidden = self.lstm(embedded_inputs, hidden)
            return outputs.permute(1, 0, 2), hidden

        def init_hidden(self, embedded_inputs: Any) -> tuple[Any, Any]:
            batch_size = embedded_inputs.size(0)
            h0 = (
                self.h0.unsqueeze(0).unsqueeze(0).repeat(self.n_layers, batch_size, self.hidden_dim)
            )
            c0 = (
                self.h0.unsqueeze(0).unsqueeze(0).repeat(self.n_layers, batch_size, self.hidden_dim)
            )
            return h0, c0

    class Attention(nn.Module):
        def __init__(self, input_dim: int, hidden_dim: int) -> None:
            super().__init__()
            self.input_dim = input_dim
            self.hidden_dim = hidden_dim
            self.input_linear = nn.Linear(input_dim, hidden_dim)
            self.context_linear = nn.Conv1d(input_dim, hidden_dim, 1, 1)
            self.V = Parameter(torch.FloatTensor(hidden_dim), requires_grad=True)
            self._inf = Parameter(torch.FloatTensor([float("-inf")]), requires_grad=False)
            self.tanh = nn.Tanh()
            self.softmax = nn.Softmax(dim=1)
            nn.init.uniform_(self.V, -1, 1)

        def forward(self, input: Any, context: Any, mask: Any) -> tuple[Any, Any]:
            inp = self.input_linear(input).unsqueeze(2).expand(-1, -1, context.size(1))
            context = context.permute(0, 2, 1)
            ctx = self.context_linear(context)
            V = self.V.unsqueeze(0).expand(context.size(0), -1).unsqueeze(1)
            att = torch.bmm(V, self.tanh(inp + ctx)).squeeze(1)
            if len(att[mask]) > 0:
                att[mask] = self.inf[mask]
            alpha = self.softmax(att)
            hidden_state = torch.bmm(ctx, alpha.unsqueeze(2)).squeeze(2)
            return hidden_state, alpha

        def init_inf(self, mask_size: Any) -> None:
            self.inf = self._inf.unsqueeze(1).expand(*mask_size)

    class Decoder(nn.Module):
        def __init__(self, embedding_dim: int, hidden_dim: int) -> None:
            super().__init__()
            self.embedding_dim = embedding_dim
            self.hidden_dim = hidden_dim
            self.cell = nn.LSTMCell(embedding_dim, hidden_dim)
            self.hidden_out = nn.Linear(hidden_dim * 2, hidden_dim)
            self.att = Attention(hidden_dim, hidden_dim)
            self.mask = Parameter(torch.ones(1), requires_grad=False)
            self.runner = Parameter(torch.zeros(1), requires_grad=False)

        def forward(
            self, embedded_inputs: Any, decoder_input: Any, hidden: Any, context: Any
        ) -> tuple[tuple[Any, Any], Any]:
            batch_size = embedded_inputs.size(0)
            input_length = embedded_inputs.size(1)
            mask = self.mask.repeat(input_length).unsqueeze(0).repeat(batch_size, 1)
            self.att.init_inf(mask.size())
            runner = self.runner.repeat(input_length)
            for i in range(input_length):
                runner.data[i] = i
            runner = runner.unsqueeze(0).expand(batch_size, -1).long()
            outputs = []
            pointers = []

            def step(x: Any, hidden: Any) -> tuple[Any, Any, Any]:
                h_t, c_t = self.cell(x, hidden)
                hidden_t, output = self.att(h_t, context, torch.eq(mask, 0))
                hidden_t = torch.tanh(self.hidden_out(torch.cat((hidden_t, h_t), 1)))
                return hidden_t, c_t, output

            for step_i in range(input_length):
                h_t, c_t, outs = step(decoder_input, hidden)
                hidden = (h_t, c_t)
                masked_outs = outs * mask
                max_probs, indices = masked_outs.max(1)
                one_hot_pointers = (
                    runner == indices.unsqueeze(1).expand(-1, outs.size()[1])
                ).float()
                mask = mask * (1 - one_hot_pointers)
                if step_i % 2 == 0:
                    embedding_mask = (
                        one_hot_pointers.unsqueeze(2).expand(-1, -1, self.embedding_dim).bool()
                    )
                    decoder_input = embedded_inputs[embedding_mask.data].view(
                        batch_size, self.embedding_dim
                    )
                else:
                    decoder_input = embedded_inputs[torch.arange(batch_size), indices]
                outputs.append(outs.unsqueeze(0))
                pointers.append(indices.unsqueeze(1))
            outputs = torch.cat(outputs).permute(1, 0, 2)
            pointers = torch.cat(pointers, 1)
            return (outputs, pointers), hidden

    class PointerNet(nn.Module):
        def __init__(
            self,
            embedding_dim: int,
            hidden_dim: int,
            lstm_layers: int,
            dropout: float,
            bidir: bool = False,
        ) -> None:
            super().__init__()
            self.embedding_dim = embedding_dim
            self.bidir = bidir
            self.embedding = nn.Linear(2, embedding_dim)
            self.encoder = Encoder(embedding_dim, hidden_dim, lstm_layers, dropout, bidir)
            self.decoder = Decoder(embedding_dim, hidden_dim)
            self.decoder_input0 = Parameter(torch.FloatTensor(embedding_dim), requires_grad=False)
            nn.init.uniform_(self.decoder_input0, -1, 1)

        def forward(self, inputs: Any) -> tuple[Any, Any]:
            batch_size = inputs.size(0)
            input_length = inputs.size(1)
            decoder_input0 = self.decoder_input0.unsqueeze(0).expand(batch_size, -1)
            inputs = inputs.view(batch_size * input_length, -1)
            embedded_inputs = self.embedding(inputs).view(batch_size, input_length, -1)
            encoder_hidden0 = self.encoder.init_hidden(embedded_inputs)
            encoder_outputs, encoder_hidden = self.encoder(embedded_inputs, encoder_hidden0)
            if self.bidir:
                decoder_hidden0 = (
                    torch.cat(tuple(encoder_hidden[0][-2:]), dim=-1),
                    torch.cat(tuple(encoder_hidden[1][-2:]), dim=-1),
                )
            else:
                decoder_hidden0 = (encoder_hidden[0][-1], encoder_hidden[1][-1])
            (outputs, pointers), decoder_hidden = self.decoder(
                embedded_inputs, decoder_input0, decoder_hidden0, encoder_outputs
            )
            return outputs, pointers

    return PointerNet


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)(EMB, HIDDEN, 1, 0.0, bidir=True)


def log_pointer_facts(torch_like: Any, scores: Any) -> list[float]:
    """The ``masked_fill`` / ``log_softmax`` / ``scatter`` form of greedy pointing."""
    torch = torch_like
    F = torch_like.nn.functional
    b, n = scores.shape
    mask = torch.zeros(b, n, dtype=torch.bool)
    values = []
    for _ in range(n):
        alpha = F.log_softmax(scores.masked_fill(mask, float("-inf")), dim=1)
        prob, idx = torch.max(alpha, 1)
        mask = mask.scatter(1, idx.unsqueeze(1), True)
        values += idx.tolist() + prob.tolist()
    values += [float(mask.all().item())]
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    CCE = nn.CrossEntropyLoss()
    model_optim = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=LR)
    values = []
    for _step in range(STEPS):
        numbers = rng.random((BATCH, SEQ))
        points = np.stack([numbers, np.broadcast_to(np.arange(SEQ) / SEQ, numbers.shape)], -1)
        train_batch = as_tensor(torch_like, points.astype(np.float32))
        target_batch = as_tensor(torch_like, np.argsort(numbers, axis=1))
        o, p = model(train_batch)
        o = o.contiguous().view(-1, o.size()[-1])
        target_batch = target_batch.view(-1)
        loss = CCE(o, target_batch)
        model_optim.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        model_optim.step()
        values += [loss.item(), norm.item()] + p.flatten().tolist()
        values += [float(sorted(row) == list(range(SEQ))) for row in p.tolist()]
    values += log_pointer_facts(torch_like, as_tensor(torch_like, rng.random((3, SEQ))))
    return values
