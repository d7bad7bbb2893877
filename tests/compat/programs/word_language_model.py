"""pytorch/examples ``word_language_model`` (``model.py`` and ``main.py``), size-reduced: both
models of ``model.py`` -- ``RNNModel`` (``getattr(nn, rnn_type)(ninp, nhid, nlayers,
dropout=dropout)``, tied encoder/decoder weights ``self.decoder.weight = self.encoder.weight``,
``nn.init.uniform_``/``zeros_``, ``init_hidden`` with ``weight.new_zeros``) and
``TransformerModel`` (a subclass of ``nn.Transformer`` whose ``decoder`` is replaced by a
``Linear``, ``PositionalEncoding`` with a ``register_buffer``'d table built by slice assignment
``pe[:, 0::2] = torch.sin(...)``, the causal mask ``torch.log(torch.tril(torch.ones(sz, sz)))``,
``self.encoder(src, mask=self.src_mask)``); and ``main.py``'s ``batchify``
(``data.narrow(0, 0, nbatch * bsz)``, ``.view(bsz, -1).t().contiguous()``), ``get_batch``,
``repackage_hidden`` (``isinstance(h, torch.Tensor)``, ``h.detach()``), the training loop
(``model.zero_grad()``, ``clip_grad_norm_``, the manual update ``p.data.add_(p.grad, alpha=-lr)``)
and ``evaluate`` (``model.eval()``, ``no_grad``, ``len(data) * criterion(...).item()``),
annealing ``lr /= 4.0`` when validation loss stops improving.

The corpus is a fixed toy text; emsize/nhid 200 -> 8, bptt 35 -> 5, batch 20 -> 3, 2 layers,
``dropout`` 0 (``--dropout 0``; for the Transformer, whose ``nn.Transformer`` base keeps its
default dropout 0.1, the dropout probabilities are set to 0 after construction) since random
masks cannot agree between two frameworks.
"""

from __future__ import annotations

import math
from typing import Any

TEXT = (
    "the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
    "the dog saw the cat on the mat . a log is on the mat . the cat saw the log . "
    "a dog sat on a cat . the mat is on the log ."
).split()
WORDS = sorted(set(TEXT))
NTOKENS = len(WORDS)
EMSIZE, NHID, NLAYERS, NHEAD = 8, 8, 2, 2
BPTT, BATCH, EVAL_BATCH = 5, 3, 2


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class RNNModel(nn.Module):
        """Container module with an encoder, a recurrent module, and a decoder."""

        def __init__(
            self,
            rnn_type: str,
            ntoken: int,
            ninp: int,
            nhid: int,
            nlayers: int,
            dropout: float = 0.5,
            tie_weights: bool = False,
        ) -> None:
            super(RNNModel, self).__init__()  # noqa: UP008 (as in the example)
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            if rnn_type in ["LSTM", "GRU"]:
                self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            else:
                try:
                    nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
                except KeyError as e:
                    raise ValueError(
                        "An invalid option for `--model` was supplied, "
                        "options are ['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']"
                    ) from e
                self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)

            # Optionally tie weights as in:
            # "Using the Output Embedding to Improve Language Models" (Press & Wolf 2016)
            if tie_weights:
                if nhid != ninp:
                    raise ValueError("When using the tied flag, nhid must be equal to emsize")
                self.decoder.weight = self.encoder.weight

            self.init_weights()

            self.rnn_type = rnn_type
            self.nhid = nhid
            self.nlayers = nlayers

        def init_weights(self) -> None:
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, input: Any, hidden: Any) -> tuple[Any, Any]:
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            decoded = decoded.view(-1, self.ntoken)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz: int) -> Any:
            weight = next(self.parameters())
            if self.rnn_type == "LSTM":
                return (
                    weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid),
                )
            else:
                return weight.new_zeros(self.nlayers, bsz, self.nhid)

    class PositionalEncoding(nn.Module):
        """Inject some information about the relative or absolute position of the tokens."""

        def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000) -> None:
            super(PositionalEncoding, self).__init__()  # noqa: UP008
            self.dropout = nn.Dropout(p=dropout)

            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(
                torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model)
            )
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0).transpose(0, 1)
            self.register_buffer("pe", pe)

        def forward(self, x: Any) -> Any:
            x = x + self.pe[: x.size(0), :]
            return self.dropout(x)

    class TransformerModel(nn.Transformer):
        """Container module with an encoder, a recurrent or transformer module, and a decoder."""

        def __init__(
            self, ntoken: int, ninp: int, nhead: int, nhid: int, nlayers: int, dropout: float = 0.5
        ) -> None:
            super(TransformerModel, self).__init__(  # noqa: UP008
                d_model=ninp, nhead=nhead, dim_feedforward=nhid, num_encoder_layers=nlayers
            )
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)

            self.input_emb = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)

            self.init_weights()

        def _generate_square_subsequent_mask(self, sz: int) -> Any:
            return torch.log(torch.tril(torch.ones(sz, sz)))

        def init_weights(self) -> None:
            initrange = 0.1
            nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, src: Any, has_mask: bool = True) -> Any:
            if has_mask:
                device = src.device
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    mask = self._generate_square_subsequent_mask(len(src)).to(device)
                    self.src_mask = mask
            else:
                self.src_mask = None

            src = self.input_emb(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.encoder(src, mask=self.src_mask)
            output = self.decoder(output)
            return F.log_softmax(output, dim=-1)

    return RNNModel, TransformerModel


def make_model(torch_like: Any) -> Any:
    rnn_cls, transformer_cls = _classes(torch_like)
    return torch_like.nn.ModuleDict(
        {
            "LSTM": rnn_cls("LSTM", NTOKENS, EMSIZE, NHID, NLAYERS, 0.0, tie_weights=True),
            "Transformer": transformer_cls(NTOKENS, EMSIZE, NHEAD, NHID, NLAYERS, 0.0),
        }
    )


def _no_dropout(torch_like: Any, model: Any) -> None:
    """Dropout probabilities to 0, including those ``nn.Transformer`` built with its default."""
    for m in model.modules():
        if isinstance(m, torch_like.nn.Dropout):
            m.p = 0.0
        elif isinstance(m, torch_like.nn.MultiheadAttention):
            m.dropout = 0.0


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    ids = [WORDS.index(w) for w in TEXT]
    corpus_train = torch.tensor(ids[:36], dtype=torch.long)
    corpus_valid = torch.tensor(ids[36:], dtype=torch.long)
    device = torch.device("cpu")

    # Starting from sequential data, batchify arranges the dataset into columns.
    def batchify(data: Any, bsz: int) -> Any:
        # Work out how cleanly we can divide the dataset into bsz parts.
        nbatch = data.size(0) // bsz
        # Trim off any extra elements that wouldn't cleanly fit (remainders).
        data = data.narrow(0, 0, nbatch * bsz)
        # Evenly divide the data across the bsz batches.
        data = data.view(bsz, -1).t().contiguous()
        return data.to(device)

    train_data = batchify(corpus_train, BATCH)
    val_data = batchify(corpus_valid, EVAL_BATCH)

    models = make_model(torch_like)
    if init is not None:
        models.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    values: list[float] = []
    for model_type in ("LSTM", "Transformer"):
        model = models[model_type].to(device)
        _no_dropout(torch_like, model)
        values += _main(torch_like, model, model_type, train_data, val_data)
    return values


def _main(torch_like: Any, model: Any, model_type: str, train_data: Any, val_data: Any) -> list:
    """``main.py`` from the criterion on, for one ``--model`` (its functions are module-level
    there, reading the globals this function's locals stand for)."""
    torch, nn = torch_like, torch_like.nn
    values = []

    def repackage_hidden(h: Any) -> Any:
        """Wraps hidden states in new Tensors, to detach them from their history."""
        if isinstance(h, torch.Tensor):
            return h.detach()
        else:
            return tuple(repackage_hidden(v) for v in h)

    def get_batch(source: Any, i: int) -> tuple[Any, Any]:
        seq_len = min(BPTT, len(source) - 1 - i)
        data = source[i : i + seq_len]
        target = source[i + 1 : i + 1 + seq_len].view(-1)
        return data, target

    criterion = nn.NLLLoss()
    lr, clip = 5.0 if model_type == "LSTM" else 1.0, 0.25

    def evaluate(data_source: Any) -> float:
        # Turn on evaluation mode which disables dropout.
        model.eval()
        total_loss = 0.0
        if model_type != "Transformer":
            hidden = model.init_hidden(EVAL_BATCH)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, BPTT):
                data, targets = get_batch(data_source, i)
                if model_type == "Transformer":
                    output = model(data)
                    output = output.view(-1, NTOKENS)
                else:
                    output, hidden = model(data, hidden)
                    hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    def train() -> None:
        # Turn on training mode which enables dropout.
        model.train()
        total_loss = 0.0
        if model_type != "Transformer":
            hidden = model.init_hidden(BATCH)
        for _batch, i in enumerate(range(0, train_data.size(0) - 1, BPTT)):
            data, targets = get_batch(train_data, i)
            # Starting each batch, we detach the hidden state from how it was previously
            # produced. If we didn't, the model would try backpropagating all the way to
            # start of the dataset.
            model.zero_grad()
            if model_type == "Transformer":
                output = model(data)
                output = output.view(-1, NTOKENS)
            else:
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()

            # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)

            total_loss += loss.item()
        values.append(total_loss)

    best_val_loss = None
    for _epoch in range(1, 4):
        train()
        val_loss = evaluate(val_data)
        values.append(val_loss)
        if not best_val_loss or val_loss < best_val_loss:
            best_val_loss = val_loss
        else:
            # Anneal the learning rate if no improvement has been seen in the validation
            # dataset.
            lr /= 4.0
    values.append(lr)
    return values
