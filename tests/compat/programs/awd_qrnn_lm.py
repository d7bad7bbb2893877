"""An AWD-QRNN language model, as salesforce/awd-lstm-lm (``model.py``, ``weight_drop.py``,
``embed_regularize.py``, ``locked_dropout.py``, ``utils.py``, ``main.py``) and salesforce/
pytorch-qrnn (``torchqrnn/qrnn.py``, ``torchqrnn/forget_mult.py``'s ``CPUForgetMult``) write it,
size-reduced.

The idioms: ``QRNNLayer`` (``window=2`` with ``self.prevX if self.prevX is not None else X[:1, :,
:] * 0``, ``torch.cat([X, Xm1], 2)``, one ``nn.Linear`` for Z, F, O split by ``Y.chunk(3,
dim=2)``, ``torch.nn.functional.tanh``/``sigmoid``, zoneout with ``Variable(F.data.new(*F.size())
.bernoulli_(1 - self.zoneout), requires_grad=False)`` in training and ``F *= 1 - self.zoneout``
in evaluation, ``save_prev_x`` keeping ``Variable(X[-1:, :, :].data, requires_grad=False)``);
``CPUForgetMult`` (``f.split(1, dim=0)``, ``h = h + (1 - forgets[i]) * prev_h``,
``h.view(h.size()[1:])``, ``torch.stack(result)``); ``WeightDrop`` (``del
self.module._parameters[name_w]``, ``register_parameter(name_w + '_raw', Parameter(w.data))``,
``setattr(self.module, name_w, w)`` of the dropped weight before ``self.module.forward(*args)``;
in evaluation ``F.dropout`` hands back the raw ``Parameter`` itself, so the setattr registers it
again, and a later training call then raises the ``TypeError`` current PyTorch is known for);
``embedded_dropout`` (``embed.weight.data.new().resize_((embed.weight.size(0), 1)).bernoulli_(1
- dropout).expand_as(embed.weight) / (1 - dropout)``, ``torch.nn.functional.embedding(words,
masked_embed_weight, padding_idx, embed.max_norm, ...)`` with ``padding_idx = -1``);
``LockedDropout`` (``x.data.new(1, x.size(1), x.size(2)).bernoulli_(1 - dropout)``); ``RNNModel``
with tied weights (``self.decoder.weight = self.encoder.weight``), ``init_weights`` through
``.data.uniform_``/``.data.fill_``, ``init_hidden`` (``Variable(weight.new(1, bsz, ...).zero_())``
from ``next(self.parameters()).data``) and ``return_h``; ``batchify`` (``data.narrow(0, 0, nbatch
* bsz)``, ``data.view(bsz, -1).t().contiguous()``), ``get_batch`` and ``repackage_hidden``; the
training loop with the variable BPTT length (``args.bptt if np.random.random() < 0.95 else
args.bptt / 2.``, ``max(5, int(np.random.normal(bptt, 5)))``, the rescaled
``optimizer.param_groups[0]['lr'] = lr2 * seq_len / args.bptt``), activation and temporal
activation regularisation (``dropped_rnn_h.pow(2).mean()``, ``(rnn_h[1:] - rnn_h[:-1]).pow(2)
.mean()``), ``clip_grad_norm_``, ``total_loss += raw_loss.data``; the NT-ASGD switch to
``torch.optim.ASGD(model.parameters(), lr=args.lr, t0=0, lambd=0., weight_decay=args.wdecay)`` and
evaluation with the averaged weights swapped in (``if 't0' in optimizer.param_groups[0]``,
``prm.data = optimizer.state[prm]['ax'].clone()`` and back).

Changed: 400/1550 -> 6/8 units, 2 layers (the first with window 2), vocabulary 20, a 72-token
NumPy corpus, batch 3, BPTT 7 (minimum length 5 -> 3), 2 epochs with the ASGD switch after the
first; the criterion is plain cross entropy on the tied decoder instead of
``SplitCrossEntropyLoss``; zoneout 0 -> 0.2 to exercise it; the BPTT lengths come from a seeded
``np.random.RandomState`` instead of the global one; the ``print`` calls are dropped.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

ARGS = SimpleNamespace(
    emsize=6, nhid=8, nlayers=2, lr=2.0, clip=0.25, bptt=7, batch_size=3, dropout=0.3,
    dropouth=0.2, dropouti=0.4, dropoute=0.1, wdrop=0.3, alpha=2.0, beta=1.0, wdecay=1.2e-6,
)  # fmt: skip
NTOKENS = 20


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    Variable = torch.autograd.Variable
    Parameter = torch.nn.Parameter

    class CPUForgetMult(torch.nn.Module):
        def forward(self, f: Any, x: Any, hidden_init: Any = None) -> Any:
            result = []
            forgets = f.split(1, dim=0)
            prev_h = hidden_init
            for i, h in enumerate((f * x).split(1, dim=0)):
                if prev_h is not None:
                    h = h + (1 - forgets[i]) * prev_h
                h = h.view(h.size()[1:])
                result.append(h)
                prev_h = h
            return torch.stack(result)

    class ForgetMult(torch.nn.Module):
        def forward(self, f: Any, x: Any, hidden_init: Any = None, use_cuda: bool = True) -> Any:
            use_cuda = use_cuda and torch.cuda.is_available()
            assert not use_cuda
            return CPUForgetMult()(f, x, hidden_init)

    class QRNNLayer(nn.Module):
        def __init__(self, input_size: int, hidden_size: int | None = None,
                     save_prev_x: bool = False, zoneout: float = 0, window: int = 1,
                     output_gate: bool = True, use_cuda: bool = True) -> None:  # fmt: skip
            super().__init__()
            assert window in [1, 2], (
                "This QRNN implementation currently only handles convolutional window of size 1 "
                "or size 2"
            )
            self.window = window
            self.input_size = input_size
            self.hidden_size = hidden_size if hidden_size else input_size
            self.zoneout = zoneout
            self.save_prev_x = save_prev_x
            self.prevX = None
            self.output_gate = output_gate
            self.use_cuda = use_cuda
            self.linear = nn.Linear(
                self.window * self.input_size,
                3 * self.hidden_size if self.output_gate else 2 * self.hidden_size,
            )

        def reset(self) -> None:
            self.prevX = None

        def forward(self, X: Any, hidden: Any = None) -> Any:
            seq_len, batch_size, _ = X.size()
            source = None
            if self.window == 1:
                source = X
            elif self.window == 2:
                Xm1 = []
                Xm1.append(self.prevX if self.prevX is not None else X[:1, :, :] * 0)
                if len(X) > 1:
                    Xm1.append(X[:-1, :, :])
                Xm1 = torch.cat(Xm1, 0)
                source = torch.cat([X, Xm1], 2)
            Y = self.linear(source)
            if self.output_gate:
                Y = Y.view(seq_len, batch_size, 3 * self.hidden_size)
                Z, F, O = Y.chunk(3, dim=2)
            else:
                Y = Y.view(seq_len, batch_size, 2 * self.hidden_size)
                Z, F = Y.chunk(2, dim=2)
            Z = torch.nn.functional.tanh(Z)
            F = torch.nn.functional.sigmoid(F)
            if self.zoneout:
                if self.training:
                    mask = Variable(
                        F.data.new(*F.size()).bernoulli_(1 - self.zoneout), requires_grad=False
                    )
                    F = F * mask
                else:
                    F *= 1 - self.zoneout
            Z = Z.contiguous()
            F = F.contiguous()
            C = ForgetMult()(F, Z, hidden, use_cuda=self.use_cuda)
            if self.output_gate:
                H = torch.nn.functional.sigmoid(O) * C
            else:
                H = C
            if self.window > 1 and self.save_prev_x:
                self.prevX = Variable(X[-1:, :, :].data, requires_grad=False)
            return H, C[-1:, :, :]

    class WeightDrop(torch.nn.Module):
        def __init__(self, module: Any, weights: list, dropout: float = 0,
                     variational: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.module = module
            self.weights = weights
            self.dropout = dropout
            self.variational = variational
            self._setup()

        def widget_demagnetizer_y2k_edition(*args: Any, **kwargs: Any) -> None:
            return

        def _setup(self) -> None:
            if issubclass(type(self.module), torch.nn.RNNBase):
                self.module.flatten_parameters = self.widget_demagnetizer_y2k_edition
            for name_w in self.weights:
                w = getattr(self.module, name_w)
                del self.module._parameters[name_w]
                self.module.register_parameter(name_w + "_raw", Parameter(w.data))

        def _setweights(self) -> None:
            for name_w in self.weights:
                raw_w = getattr(self.module, name_w + "_raw")
                w = None
                if self.variational:
                    mask = torch.autograd.Variable(torch.ones(raw_w.size(0), 1))
                    mask = torch.nn.functional.dropout(mask, p=self.dropout, training=True)
                    w = mask.expand_as(raw_w) * raw_w
                else:
                    w = torch.nn.functional.dropout(raw_w, p=self.dropout, training=self.training)
                setattr(self.module, name_w, w)

        def forward(self, *args: Any) -> Any:
            self._setweights()
            return self.module.forward(*args)

    class LockedDropout(nn.Module):
        def forward(self, x: Any, dropout: float = 0.5) -> Any:
            if not self.training or not dropout:
                return x
            m = x.data.new(1, x.size(1), x.size(2)).bernoulli_(1 - dropout)
            mask = Variable(m, requires_grad=False) / (1 - dropout)
            mask = mask.expand_as(x)
            return mask * x

    def embedded_dropout(embed: Any, words: Any, dropout: float = 0.1, scale: Any = None) -> Any:
        if dropout:
            mask = embed.weight.data.new().resize_((embed.weight.size(0), 1)).bernoulli_(
                1 - dropout
            ).expand_as(embed.weight) / (1 - dropout)
            masked_embed_weight = mask * embed.weight
        else:
            masked_embed_weight = embed.weight
        if scale:
            masked_embed_weight = scale.expand_as(masked_embed_weight) * masked_embed_weight
        padding_idx = embed.padding_idx
        if padding_idx is None:
            padding_idx = -1
        X = torch.nn.functional.embedding(
            words, masked_embed_weight, padding_idx, embed.max_norm, embed.norm_type,
            embed.scale_grad_by_freq, embed.sparse,
        )  # fmt: skip
        return X

    class RNNModel(nn.Module):
        """Container module with an encoder, a recurrent module, and a decoder."""

        def __init__(self, rnn_type: str, ntoken: int, ninp: int, nhid: int, nlayers: int,
                     dropout: float = 0.5, dropouth: float = 0.5, dropouti: float = 0.5,
                     dropoute: float = 0.1, wdrop: float = 0,
                     tie_weights: bool = False) -> None:  # fmt: skip
            super().__init__()
            self.lockdrop = LockedDropout()
            self.idrop = nn.Dropout(dropouti)
            self.hdrop = nn.Dropout(dropouth)
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            assert rnn_type in ["LSTM", "QRNN", "GRU"], "RNN type is not supported"
            self.rnns = [
                QRNNLayer(
                    input_size=ninp if l == 0 else nhid,
                    hidden_size=nhid if l != nlayers - 1 else (ninp if tie_weights else nhid),
                    save_prev_x=True,
                    zoneout=0.2,
                    window=2 if l == 0 else 1,
                    output_gate=True,
                )  # fmt: skip
                for l in range(nlayers)  # noqa: E741 (the original's name)
            ]
            for rnn in self.rnns:
                rnn.linear = WeightDrop(rnn.linear, ["weight"], dropout=wdrop)
            self.rnns = torch.nn.ModuleList(self.rnns)
            self.decoder = nn.Linear(nhid, ntoken)
            if tie_weights:
                self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.rnn_type = rnn_type
            self.ninp = ninp
            self.nhid = nhid
            self.nlayers = nlayers
            self.dropout = dropout
            self.dropouti = dropouti
            self.dropouth = dropouth
            self.dropoute = dropoute
            self.tie_weights = tie_weights

        def reset(self) -> None:
            if self.rnn_type == "QRNN":
                [r.reset() for r in self.rnns]

        def init_weights(self) -> None:
            initrange = 0.1
            self.encoder.weight.data.uniform_(-initrange, initrange)
            self.decoder.bias.data.fill_(0)
            self.decoder.weight.data.uniform_(-initrange, initrange)

        def forward(self, input: Any, hidden: Any, return_h: bool = False) -> Any:
            emb = embedded_dropout(
                self.encoder, input, dropout=self.dropoute if self.training else 0
            )
            emb = self.lockdrop(emb, self.dropouti)
            raw_output = emb
            new_hidden = []
            raw_outputs = []
            outputs = []
            for l, rnn in enumerate(self.rnns):  # noqa: E741
                raw_output, new_h = rnn(raw_output, hidden[l])
                new_hidden.append(new_h)
                raw_outputs.append(raw_output)
                if l != self.nlayers - 1:
                    raw_output = self.lockdrop(raw_output, self.dropouth)
                    outputs.append(raw_output)
            hidden = new_hidden
            output = self.lockdrop(raw_output, self.dropout)
            outputs.append(output)
            result = output.view(output.size(0) * output.size(1), output.size(2))
            if return_h:
                return result, hidden, raw_outputs, outputs
            return result, hidden

        def init_hidden(self, bsz: int) -> list:
            weight = next(self.parameters()).data
            return [
                Variable(
                    weight.new(
                        1,
                        bsz,
                        self.nhid
                        if l != self.nlayers - 1
                        else (self.ninp if self.tie_weights else self.nhid),
                    ).zero_()
                )  # fmt: skip
                for l in range(self.nlayers)  # noqa: E741
            ]

    return RNNModel("QRNN", NTOKENS, ARGS.emsize, ARGS.nhid, ARGS.nlayers, ARGS.dropout,
                    ARGS.dropouth, ARGS.dropouti, ARGS.dropoute, ARGS.wdrop,
                    tie_weights=True)  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    torch.manual_seed(0)
    args = ARGS
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    F = torch.nn.functional

    def criterion(weight: Any, bias: Any, output: Any, targets: Any) -> Any:
        return F.cross_entropy(F.linear(output, weight, bias), targets)

    def batchify(data: Any, bsz: int, args: Any) -> Any:
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        data = data.view(bsz, -1).t().contiguous()
        return data

    def get_batch(source: Any, i: int, args: Any, seq_len: int | None = None) -> Any:
        seq_len = min(seq_len if seq_len else args.bptt, len(source) - 1 - i)
        data = source[i : i + seq_len]
        target = source[i + 1 : i + 1 + seq_len].view(-1)
        return data, target

    def repackage_hidden(h: Any) -> Any:
        if isinstance(h, torch.Tensor):
            return h.detach()
        else:
            return tuple(repackage_hidden(v) for v in h)

    corpus_rng = np.random.default_rng(29)
    corpus = (np.cumsum(corpus_rng.integers(1, 4, 74)) % NTOKENS).astype(np.int64)
    train_data = batchify(as_tensor(torch_like, corpus[:60]), args.batch_size, args)
    val_data = batchify(as_tensor(torch_like, corpus[60:]), 2, args)
    params = list(model.parameters())
    optimizer = torch.optim.SGD(params, lr=args.lr, weight_decay=args.wdecay)
    np_random = np.random.RandomState(3)
    values: list[float] = []

    def evaluate(data_source: Any, batch_size: int = 2) -> float:
        model.eval()
        model.reset()
        total_loss = 0
        hidden = model.init_hidden(batch_size)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, args.bptt):
                data, targets = get_batch(data_source, i, args)
                output, hidden = model(data, hidden)
                total_loss += (
                    len(data)
                    * criterion(model.decoder.weight, model.decoder.bias, output, targets).data
                )
                hidden = repackage_hidden(hidden)
        return total_loss.item() / len(data_source)

    def train() -> None:
        model.reset()
        total_loss = 0
        hidden = model.init_hidden(args.batch_size)
        i = 0
        while i < train_data.size(0) - 1 - 1:
            bptt = args.bptt if np_random.random() < 0.95 else args.bptt / 2.0
            seq_len = max(3, int(np_random.normal(bptt, 5)))
            lr2 = optimizer.param_groups[0]["lr"]
            optimizer.param_groups[0]["lr"] = lr2 * seq_len / args.bptt
            model.train()
            data, targets = get_batch(train_data, i, args, seq_len=seq_len)
            hidden = repackage_hidden(hidden)
            optimizer.zero_grad()
            output, hidden, rnn_hs, dropped_rnn_hs = model(data, hidden, return_h=True)
            raw_loss = criterion(model.decoder.weight, model.decoder.bias, output, targets)
            loss = raw_loss
            if args.alpha:
                loss = loss + sum(
                    args.alpha * dropped_rnn_h.pow(2).mean()
                    for dropped_rnn_h in dropped_rnn_hs[-1:]
                )
            if args.beta:
                loss = loss + sum(
                    args.beta * (rnn_h[1:] - rnn_h[:-1]).pow(2).mean() for rnn_h in rnn_hs[-1:]
                )
            loss.backward()
            if args.clip:
                torch.nn.utils.clip_grad_norm_(params, args.clip)
            optimizer.step()
            total_loss += raw_loss.data
            optimizer.param_groups[0]["lr"] = lr2
            values.extend([raw_loss.item(), loss.item(), seq_len])
            i += seq_len
        values.append(total_loss.item())

    train()
    optimizer = torch.optim.ASGD(
        model.parameters(), lr=args.lr, t0=0, lambd=0.0, weight_decay=args.wdecay
    )
    train()
    if "t0" in optimizer.param_groups[0]:
        tmp = {}
        for prm in model.parameters():
            tmp[prm] = prm.data.clone()
            prm.data = optimizer.state[prm]["ax"].clone()
        values.append(evaluate(val_data))
        for prm in model.parameters():
            prm.data = tmp[prm].clone()
    values.append(evaluate(val_data))
    values.append(len(model.state_dict()))
    model.train()
    try:
        model(val_data[:2], model.init_hidden(2))
    except TypeError:
        values.append(-1.0)
    return values
