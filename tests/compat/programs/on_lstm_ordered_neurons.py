"""ON-LSTM ("Ordered Neurons: Integrating Tree Structures into Recurrent Neural Networks") as
yikangshen/Ordered-Neurons writes it (``ON_LSTM.py``, ``model.py``, ``main.py``,
``test_phrase_grammar.py``), size-reduced.

The idioms: ``cumsoftmax`` (``torch.cumsum(F.softmax(x, dim=dim), dim=dim)``);
``LinearDropConnect(nn.Linear)`` (``sample_mask`` drawing ``self.weight.new_empty(
self.weight.size(), dtype=...)`` then ``mask.bernoulli_(self.dropout)`` and keeping
``self._weight = self.weight.masked_fill(mask, 0.)`` as a plain attribute; evaluation with
``self.weight * (1 - self.dropout)``); ``ONLSTMCell`` (the master gates ``gates[:,
:self.n_chunk*2].chunk(2, 1)``, the chunked gates ``gates[:,self.n_chunk*2:].view(-1,
self.n_chunk*4, self.chunk_size).chunk(4, 1)`` of a column slice, ``1. - cumsoftmax(cingate)``,
``cingate[:, :, None]``, ``F.sigmoid``/``F.tanh``, the overlap arithmetic, ``hy.view(-1,
self.hidden_size)``, the distances ``1. - cforgetgate.sum(-1) / self.n_chunk``; ``init_hidden``
with ``weight.new(bsz, self.n_chunk, self.chunk_size).zero_()``; ``self.drop_weight_modules``);
``ONLSTMStack`` (``self.cells[l].ih(prev_layer)`` for the whole sequence, ``prev_state[l] =
hidden, cell`` overwritten every step, ``zip(*dist)``, ``torch.stack`` of the distances); the
tied ``RNNModel`` (``self.decoder.weight = self.encoder.weight``) with ``LockedDropout``; the
training loop's ``optimizer = torch.optim.Adam(params, lr=args.lr, betas=(0, 0.999), eps=1e-9,
weight_decay=args.wdecay)`` (refused by current PyTorch, whose ``Adam`` wants both betas floats:
the refusal is checked, then ``betas=(0.0, 0.999)`` trains) with
``lr_scheduler.ReduceLROnPlateau(optimizer, 'min', 0.5, patience=2, threshold=0)`` stepped on
the validation loss; ``test_phrase_grammar.py``'s parse:
``torch.LongTensor(x[:, None])``, ``model.encoder(input)``, ``model.rnn(emb, hidden)``,
``distances[0].squeeze().data.cpu().numpy()`` and the recursive ``build_tree`` over
``numpy.argmax(depth)``, the trees compared by their leaves' depths.

Changed: 1150 -> 8 hidden units, chunk size 10 -> 2, 3 layers kept (6/8/6 units), vocabulary
16, a 60-token NumPy corpus, batch 3, BPTT 5, 2 epochs; no embedding dropout (awd_qrnn_lm covers
it); the drop-connect mask is drawn with ``dtype=torch.bool`` (the repository's ``torch.uint8``
mask is refused by current PyTorch's ``masked_fill``; that refusal, its type and text, is
checked too); dropconnect 0.3 and dropouts kept (same masks in both libraries from
``torch.manual_seed``).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

ARGS = SimpleNamespace(
    emsize=6, nhid=8, chunk_size=2, nlayers=3, lr=3e-3, bptt=5, batch_size=3, dropout=0.2,
    dropouth=0.2, dropouti=0.2, wdrop=0.3, wdecay=1.2e-6, clip=0.25,
)  # fmt: skip
NTOKENS = 16


def make_model(torch_like: Any, mask_dtype: str = "bool") -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def cumsoftmax(x: Any, dim: int = -1) -> Any:
        return torch.cumsum(F.softmax(x, dim=dim), dim=dim)

    class LinearDropConnect(nn.Linear):
        def __init__(self, in_features: int, out_features: int, bias: bool = True,
                     dropout: float = 0.0) -> None:  # fmt: skip
            super().__init__(in_features=in_features, out_features=out_features, bias=bias)
            self.dropout = dropout

        def sample_mask(self) -> None:
            if self.dropout == 0.0:
                self._weight = self.weight
            else:
                mask = self.weight.new_empty(self.weight.size(), dtype=getattr(torch, mask_dtype))
                mask.bernoulli_(self.dropout)
                self._weight = self.weight.masked_fill(mask, 0.0)

        def forward(self, input: Any, sample_mask: bool = False) -> Any:
            if self.training:
                if sample_mask:
                    self.sample_mask()
                return F.linear(input, self._weight, self.bias)
            else:
                return F.linear(input, self.weight * (1 - self.dropout), self.bias)

    class ONLSTMCell(nn.Module):
        def __init__(self, input_size: int, hidden_size: int, chunk_size: int,
                     dropconnect: float = 0.0) -> None:  # fmt: skip
            super().__init__()
            self.input_size = input_size
            self.hidden_size = hidden_size
            self.chunk_size = chunk_size
            self.n_chunk = int(hidden_size / chunk_size)
            self.ih = nn.Sequential(
                nn.Linear(input_size, hidden_size * 4 + self.n_chunk * 2, bias=True),
            )
            self.hh = LinearDropConnect(hidden_size, hidden_size * 4 + self.n_chunk * 2,
                                        bias=True, dropout=dropconnect)  # fmt: skip
            self.drop_weight_modules = [self.hh]

        def forward(self, input: Any, hidden: Any, transformed_input: Any = None) -> Any:
            hx, cx = hidden
            if transformed_input is None:
                transformed_input = self.ih(input)
            gates = transformed_input + self.hh(hx)
            cingate, cforgetgate = gates[:, : self.n_chunk * 2].chunk(2, 1)
            outgate, cell, ingate, forgetgate = (
                gates[:, self.n_chunk * 2 :].view(-1, self.n_chunk * 4, self.chunk_size).chunk(4, 1)
            )
            cingate = 1.0 - cumsoftmax(cingate)
            cforgetgate = cumsoftmax(cforgetgate)
            distance_cforget = 1.0 - cforgetgate.sum(-1) / self.n_chunk
            distance_cin = cingate.sum(-1) / self.n_chunk
            cingate = cingate[:, :, None]
            cforgetgate = cforgetgate[:, :, None]
            ingate = F.sigmoid(ingate)
            forgetgate = F.sigmoid(forgetgate)
            cell = F.tanh(cell)
            outgate = F.sigmoid(outgate)
            overlap = cforgetgate * cingate
            forgetgate = forgetgate * overlap + (cforgetgate - overlap)
            ingate = ingate * overlap + (cingate - overlap)
            cy = forgetgate * cx + ingate * cell
            hy = outgate * F.tanh(cy)
            return hy.view(-1, self.hidden_size), cy, (distance_cforget, distance_cin)

        def init_hidden(self, bsz: int) -> tuple[Any, Any]:
            weight = next(self.parameters()).data
            return (
                weight.new(bsz, self.hidden_size).zero_(),
                weight.new(bsz, self.n_chunk, self.chunk_size).zero_(),
            )

        def sample_masks(self) -> None:
            for m in self.drop_weight_modules:
                m.sample_mask()

    Variable = torch.autograd.Variable

    class LockedDropout(nn.Module):
        def forward(self, x: Any, dropout: float = 0.5) -> Any:
            if not self.training or not dropout:
                return x
            m = x.data.new(1, x.size(1), x.size(2)).bernoulli_(1 - dropout)
            mask = Variable(m, requires_grad=False) / (1 - dropout)
            mask = mask.expand_as(x)
            return mask * x

    class ONLSTMStack(nn.Module):
        def __init__(self, layer_sizes: list, chunk_size: int, dropout: float = 0.0,
                     dropconnect: float = 0.0) -> None:  # fmt: skip
            super().__init__()
            self.cells = nn.ModuleList(
                [
                    ONLSTMCell(
                        layer_sizes[i], layer_sizes[i + 1], chunk_size, dropconnect=dropconnect
                    )  # fmt: skip
                    for i in range(len(layer_sizes) - 1)
                ]  # fmt: skip
            )
            self.lockdrop = LockedDropout()
            self.dropout = dropout
            self.sizes = layer_sizes

        def init_hidden(self, bsz: int) -> list:
            return [c.init_hidden(bsz) for c in self.cells]

        def forward(self, input: Any, hidden: Any) -> Any:
            length, batch_size, _ = input.size()
            if self.training:
                for c in self.cells:
                    c.sample_masks()
            prev_state = list(hidden)
            prev_layer = input
            raw_outputs = []
            outputs = []
            distances_forget = []
            distances_in = []
            for l in range(len(self.cells)):  # noqa: E741 (the original's name)
                curr_layer = [None] * length
                dist = [None] * length
                t_input = self.cells[l].ih(prev_layer)
                for t in range(length):
                    hidden, cell, d = self.cells[l](
                        None, prev_state[l], transformed_input=t_input[t]
                    )
                    prev_state[l] = hidden, cell
                    curr_layer[t] = hidden
                    dist[t] = d
                prev_layer = torch.stack(curr_layer)
                dist_cforget, dist_cin = zip(*dist)
                dist_layer_cforget = torch.stack(dist_cforget)
                dist_layer_cin = torch.stack(dist_cin)
                raw_outputs.append(prev_layer)
                if l < len(self.cells) - 1:
                    prev_layer = self.lockdrop(prev_layer, self.dropout)
                outputs.append(prev_layer)
                distances_forget.append(dist_layer_cforget)
                distances_in.append(dist_layer_cin)
            output = prev_layer
            return (output, prev_state, raw_outputs, outputs,
                    (torch.stack(distances_forget), torch.stack(distances_in)))  # fmt: skip

    class RNNModel(nn.Module):
        def __init__(self, ntoken: int, ninp: int, nhid: int, chunk_size: int, nlayers: int,
                     dropout: float = 0.5, dropouth: float = 0.5, dropouti: float = 0.5,
                     wdrop: float = 0, tie_weights: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.lockdrop = LockedDropout()
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = ONLSTMStack([ninp] + [nhid] * (nlayers - 1) + [ninp],
                                   chunk_size=chunk_size, dropconnect=wdrop,
                                   dropout=dropouth)  # fmt: skip
            self.decoder = nn.Linear(ninp, ntoken)
            if tie_weights:
                self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.ninp, self.nhid, self.nlayers = ninp, nhid, nlayers
            self.dropout, self.dropouti, self.dropouth = dropout, dropouti, dropouth
            self.tie_weights = tie_weights

        def init_weights(self) -> None:
            initrange = 0.1
            self.encoder.weight.data.uniform_(-initrange, initrange)
            self.decoder.bias.data.fill_(0)
            self.decoder.weight.data.uniform_(-initrange, initrange)

        def forward(self, input: Any, hidden: Any, return_h: bool = False) -> Any:
            emb = self.encoder(input)
            emb = self.lockdrop(emb, self.dropouti)
            raw_output, hidden, raw_outputs, outputs, distances = self.rnn(emb, hidden)
            self.distance = distances
            output = self.lockdrop(raw_output, self.dropout)
            result = output.view(output.size(0) * output.size(1), output.size(2))
            if return_h:
                return result, hidden, raw_outputs, outputs
            else:
                return result, hidden

        def init_hidden(self, bsz: int) -> list:
            return self.rnn.init_hidden(bsz)

    return RNNModel(NTOKENS, ARGS.emsize, ARGS.nhid, ARGS.chunk_size, ARGS.nlayers, ARGS.dropout,
                    ARGS.dropouth, ARGS.dropouti, ARGS.wdrop, tie_weights=True)  # fmt: skip


def build_tree(depth: Any, sen: list) -> Any:
    assert len(depth) == len(sen)
    if len(depth) == 1:
        parse_tree = sen[0]
    else:
        idx_max = numpy.argmax(depth)
        parse_tree = []
        if len(sen[:idx_max]) > 0:
            tree0 = build_tree(depth[:idx_max], sen[:idx_max])
            parse_tree.append(tree0)
        tree1 = sen[idx_max]
        if len(sen[idx_max + 1 :]) > 0:
            tree2 = build_tree(depth[idx_max + 1 :], sen[idx_max + 1 :])
            tree1 = [tree1, tree2]
        if parse_tree == []:
            parse_tree = tree1
        else:
            parse_tree.append(tree1)
    return parse_tree


def _leaves_depth(tree: Any, depth: int = 0) -> list:
    if not isinstance(tree, list):
        return [(tree, depth)]
    return [p for sub in tree for p in _leaves_depth(sub, depth + 1)]


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    torch.manual_seed(0)
    args = ARGS
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    params = list(model.parameters())
    try:  # the repository's betas=(0, 0.999): current PyTorch wants both floats
        torch.optim.Adam(params, lr=args.lr, betas=(0, 0.999), eps=1e-9, weight_decay=args.wdecay)
    except ValueError:
        refused = 1.0
    optimizer = torch.optim.Adam(params, lr=args.lr, betas=(0.0, 0.999), eps=1e-9,
                                 weight_decay=args.wdecay)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, "min", 0.5, patience=2, threshold=0
    )
    rng = numpy.random.default_rng(37)
    corpus = (numpy.cumsum(rng.integers(1, 5, 62)) % NTOKENS).astype(numpy.int64)
    train_data = as_tensor(torch_like, corpus[:48]).view(args.batch_size, -1).t().contiguous()
    val_data = as_tensor(torch_like, corpus[48:]).view(2, -1).t().contiguous()

    def repackage_hidden(h: Any) -> Any:
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    def criterion(output: Any, targets: Any) -> Any:
        return F.cross_entropy(model.decoder(output), targets)

    def evaluate(data_source: Any, batch_size: int) -> float:
        model.eval()
        total_loss = 0
        hidden = model.init_hidden(batch_size)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, args.bptt):
                seq_len = min(args.bptt, len(data_source) - 1 - i)
                data, targets = data_source[i : i + seq_len], data_source[i + 1 : i + 1 + seq_len]
                output, hidden = model(data, hidden)
                total_loss += len(data) * criterion(output, targets.reshape(-1)).item()
                hidden = [repackage_hidden(h) for h in hidden]
        return total_loss / len(data_source)

    values: list[float] = [refused]
    for _epoch in range(2):
        model.train()
        hidden = model.init_hidden(args.batch_size)
        for i in range(0, train_data.size(0) - 1, args.bptt):
            seq_len = min(args.bptt, len(train_data) - 1 - i)
            data, targets = train_data[i : i + seq_len], train_data[i + 1 : i + 1 + seq_len]
            hidden = [repackage_hidden(h) for h in hidden]
            optimizer.zero_grad()
            output, hidden, rnn_hs, dropped_rnn_hs = model(data, hidden, return_h=True)
            raw_loss = criterion(output, targets.reshape(-1))
            raw_loss.backward()
            torch.nn.utils.clip_grad_norm_(params, args.clip)
            optimizer.step()
            values.append(raw_loss.item())
        val_loss = evaluate(val_data, 2)
        scheduler.step(val_loss)
        values += [val_loss, optimizer.param_groups[0]["lr"]]

    # test_phrase_grammar.py: a parse from the first layer's forget-gate distances
    model.eval()
    x = corpus[:7]
    hidden = model.init_hidden(1)
    input = torch.LongTensor(x[:, None])
    emb = model.encoder(input)
    output, hidden, raw_outputs, outputs, distances = model.rnn(emb, hidden)
    distance = distances[0].squeeze().data.cpu().numpy()
    distance_in = distances[1].squeeze().data.cpu().numpy()
    sen = [str(w) for w in x.tolist()]
    for gates in (distance[0], distance_in[0]):
        depth = gates[1:-1]
        parse_tree = build_tree(depth, sen[1:-1])
        values += [d for _, d in _leaves_depth(parse_tree)]
    values.append(float(distance.sum()))

    uint8_cell = make_model(torch_like, mask_dtype="uint8").rnn.cells[0]
    try:
        uint8_cell.sample_masks()
    except RuntimeError as e:
        values.append(len(str(e)))
    return values
