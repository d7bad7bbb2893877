"""The modern recurrent networks of "Dive into Deep Learning" (d2l.ai, PyTorch edition 1.0,
sections 9.5-9.6 and 10.1-10.4: ``RNNScratch``/``RNNLMScratch``, LSTM, GRU, deep and
bidirectional RNNs, each from scratch and concise), with the book's ``save_hyperparameters``,
``Classifier`` and gradient-clipping ``Trainer``, size-reduced.

The idioms: ``HyperParameters.save_hyperparameters`` (``inspect.currentframe().f_back``,
``inspect.getargvalues(frame)``, ``setattr(self, k, v)`` for every argument, so that a module
argument such as ``rnn`` becomes a registered submodule); ``LSTMScratch``'s ``init_weight =
lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)`` and ``triple`` unpacked into
``self.W_xi, self.W_hi, self.b_i``, the gates ``torch.sigmoid(torch.matmul(X, self.W_xi) +
torch.matmul(H, self.W_hi) + self.b_i)`` over ``for X in inputs:``, ``C = F * C + I *
C_tilde``; ``GRUScratch``'s ``torch.matmul(R * H, self.W_hh)`` and ``H = Z * H + (1 - Z) *
H_tilde``; ``RNNScratch``'s ``state, = state``; ``StackedRNNScratch`` (``nn.Sequential(*[
d2l.RNNScratch(num_inputs if i==0 else num_hiddens, ...)])``, ``Hs = [None] *
self.num_layers``, ``outputs = torch.stack(outputs, 0)``); ``BiRNNScratch`` (``self.num_hiddens
*= 2``, ``self.b_rnn(reversed(inputs), b_H)`` over a tensor, ``[torch.cat((f, b), -1) for f, b
in zip(f_outputs, reversed(b_outputs))]``); ``RNNLMScratch`` (``F.one_hot(X.T,
self.vocab_size).type(torch.float32)``, ``torch.stack(outputs, 1)``, ``predict``'s
``torch.tensor([[outputs[-1]]], device=device)`` and ``int(Y.argmax(axis=2).reshape(1))``) and
its concise ``RNNLM`` (``nn.LazyLinear(self.vocab_size)``, ``self.linear(hiddens).swapaxes(0,
1)``) over ``nn.GRU(num_inputs, num_hiddens, num_layers, dropout=dropout)``, ``nn.LSTM`` and
``nn.GRU(..., bidirectional=True)``; ``Classifier.loss``'s ``F.cross_entropy(Y_hat, Y,
reduction='mean')``; ``training_step``'s ``torch.exp(l)`` perplexity; the ``Trainer``'s
``clip_gradients`` (``sum(torch.sum((p.grad ** 2)) for p in params)``, ``param.grad[:] *=
grad_clip_val / norm``); the 1.0 data module (``torch.tensor([corpus[i:i+num_steps+1] for i in
range(len(corpus)-num_steps)])``, ``self.X, self.Y = array[:,:-1], array[:,1:]``,
``get_tensorloader``'s ``tuple(a[indices] for a in tensors)`` with a ``slice`` and
``DataLoader(dataset, self.batch_size, shuffle=train)``).

Changed: The Time Machine -> a seeded 160-character text over 6 letters; 32 hidden units ->
6, ``num_steps`` 32 -> 5, batch 1024 -> 8, 50 epochs -> 3 steps per model; lr 4 -> 1. Both runs
draw the initial weights from the same seed (the frameworks' generators agree).
"""

from __future__ import annotations

import inspect
import random
from typing import Any

DTYPE = "float32"
LETTERS = "abcde "
NUM_STEPS, BATCH = 5, 8


def init_state(tmp_path: Any) -> None:
    """No shared state: both runs draw the initial weights from the same seed."""
    return None


def save_hyperparameters(self: Any, ignore: list | None = None) -> None:
    """Save function arguments into class attributes (d2l's ``HyperParameters``)."""
    ignore = [] if ignore is None else ignore
    frame = inspect.currentframe().f_back
    _, _, _, local_vars = inspect.getargvalues(frame)
    self.hparams = {k: v for k, v in local_vars.items()
                    if k not in set(ignore + ['self']) and not k.startswith('_')}  # fmt: skip
    for k, v in self.hparams.items():
        setattr(self, k, v)


def _classes(torch_like: Any) -> dict:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class Module(nn.Module):
        save_hyperparameters = save_hyperparameters

    class RNNScratch(Module):
        """The RNN model implemented from scratch."""

        def __init__(self, num_inputs, num_hiddens, sigma=0.01):  # noqa: ANN001
            super().__init__()
            self.save_hyperparameters()
            self.W_xh = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
            self.W_hh = nn.Parameter(torch.randn(num_hiddens, num_hiddens) * sigma)
            self.b_h = nn.Parameter(torch.zeros(num_hiddens))

        def forward(self, inputs, state=None):  # noqa: ANN001,ANN201
            if state is None:
                # Initial state with shape: (batch_size, num_hiddens)
                state = torch.zeros((inputs.shape[1], self.num_hiddens),
                                    device=inputs.device)  # fmt: skip
            else:
                state, = state  # fmt: skip
            outputs = []
            for X in inputs:  # Shape of inputs: (num_steps, batch_size, num_inputs)
                state = torch.tanh(torch.matmul(X, self.W_xh) +
                                   torch.matmul(state, self.W_hh) + self.b_h)  # fmt: skip
                outputs.append(state)
            return outputs, state

    class LSTMScratch(Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):  # noqa: ANN001
            super().__init__()
            self.save_hyperparameters()

            init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)  # noqa: E731
            triple = lambda: (init_weight(num_inputs, num_hiddens),  # noqa: E731
                              init_weight(num_hiddens, num_hiddens),
                              nn.Parameter(torch.zeros(num_hiddens)))  # fmt: skip
            self.W_xi, self.W_hi, self.b_i = triple()  # Input gate
            self.W_xf, self.W_hf, self.b_f = triple()  # Forget gate
            self.W_xo, self.W_ho, self.b_o = triple()  # Output gate
            self.W_xc, self.W_hc, self.b_c = triple()  # Input node

        def forward(self, inputs, H_C=None):  # noqa: ANN001,ANN201
            if H_C is None:
                # Initial state with shape: (batch_size, num_hiddens)
                H = torch.zeros((inputs.shape[1], self.num_hiddens),
                              device=inputs.device)  # fmt: skip
                C = torch.zeros((inputs.shape[1], self.num_hiddens),
                              device=inputs.device)  # fmt: skip
            else:
                H, C = H_C
            outputs = []
            for X in inputs:
                I = torch.sigmoid(torch.matmul(X, self.W_xi) +  # noqa: E741
                                torch.matmul(H, self.W_hi) + self.b_i)  # fmt: skip
                F = torch.sigmoid(torch.matmul(X, self.W_xf) +  # noqa: N806
                                torch.matmul(H, self.W_hf) + self.b_f)  # fmt: skip
                O = torch.sigmoid(torch.matmul(X, self.W_xo) +  # noqa: E741
                                torch.matmul(H, self.W_ho) + self.b_o)  # fmt: skip
                C_tilde = torch.tanh(torch.matmul(X, self.W_xc) +
                                     torch.matmul(H, self.W_hc) + self.b_c)  # fmt: skip
                C = F * C + I * C_tilde
                H = O * torch.tanh(C)
                outputs.append(H)
            return outputs, (H, C)

    class GRUScratch(Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):  # noqa: ANN001
            super().__init__()
            self.save_hyperparameters()

            init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)  # noqa: E731
            triple = lambda: (init_weight(num_inputs, num_hiddens),  # noqa: E731
                              init_weight(num_hiddens, num_hiddens),
                              nn.Parameter(torch.zeros(num_hiddens)))  # fmt: skip
            self.W_xz, self.W_hz, self.b_z = triple()  # Update gate
            self.W_xr, self.W_hr, self.b_r = triple()  # Reset gate
            self.W_xh, self.W_hh, self.b_h = triple()  # Candidate hidden state

        def forward(self, inputs, H=None):  # noqa: ANN001,ANN201
            if H is None:
                # Initial state with shape: (batch_size, num_hiddens)
                H = torch.zeros((inputs.shape[1], self.num_hiddens),
                              device=inputs.device)  # fmt: skip
            outputs = []
            for X in inputs:
                Z = torch.sigmoid(torch.matmul(X, self.W_xz) +
                                torch.matmul(H, self.W_hz) + self.b_z)  # fmt: skip
                R = torch.sigmoid(torch.matmul(X, self.W_xr) +
                                torch.matmul(H, self.W_hr) + self.b_r)  # fmt: skip
                H_tilde = torch.tanh(torch.matmul(X, self.W_xh) +
                                   torch.matmul(R * H, self.W_hh) + self.b_h)  # fmt: skip
                H = Z * H + (1 - Z) * H_tilde
                outputs.append(H)
            return outputs, H

    class StackedRNNScratch(Module):
        def __init__(self, num_inputs, num_hiddens, num_layers, sigma=0.01):  # noqa: ANN001
            super().__init__()
            self.save_hyperparameters()
            self.rnns = nn.Sequential(*[RNNScratch(
                num_inputs if i==0 else num_hiddens, num_hiddens, sigma)
                                        for i in range(num_layers)])  # fmt: skip

        def forward(self, inputs, Hs=None):  # noqa: ANN001,ANN201
            outputs = inputs
            if Hs is None:
                Hs = [None] * self.num_layers
            for i in range(self.num_layers):
                outputs, Hs[i] = self.rnns[i](outputs, Hs[i])
                outputs = torch.stack(outputs, 0)
            return outputs, Hs

    class BiRNNScratch(Module):
        def __init__(self, num_inputs, num_hiddens, sigma=0.01):  # noqa: ANN001
            super().__init__()
            self.save_hyperparameters()
            self.f_rnn = RNNScratch(num_inputs, num_hiddens, sigma)
            self.b_rnn = RNNScratch(num_inputs, num_hiddens, sigma)
            self.num_hiddens *= 2  # The output dimension will be doubled

        def forward(self, inputs, Hs=None):  # noqa: ANN001,ANN201
            f_H, b_H = Hs if Hs is not None else (None, None)
            f_outputs, f_H = self.f_rnn(inputs, f_H)
            b_outputs, b_H = self.b_rnn(reversed(inputs), b_H)
            outputs = [torch.cat((f, b), -1) for f, b in zip(
                f_outputs, reversed(b_outputs))]  # fmt: skip
            return outputs, (f_H, b_H)

    class RNN(Module):
        """The RNN model implemented with high-level APIs."""

        def __init__(self, num_inputs, num_hiddens):  # noqa: ANN001
            super().__init__()
            self.save_hyperparameters()
            self.rnn = nn.RNN(num_inputs, num_hiddens)

        def forward(self, inputs, H=None):  # noqa: ANN001,ANN201
            return self.rnn(inputs, H)

    class GRU(RNN):
        """The multilayer GRU model."""

        def __init__(self, num_inputs, num_hiddens, num_layers, dropout=0):  # noqa: ANN001
            Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.GRU(num_inputs, num_hiddens, num_layers, dropout=dropout)

    class LSTM(RNN):
        def __init__(self, num_inputs, num_hiddens):  # noqa: ANN001
            Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.LSTM(num_inputs, num_hiddens)

        def forward(self, inputs, H_C=None):  # noqa: ANN001,ANN201
            return self.rnn(inputs, H_C)

    class BiGRU(RNN):
        def __init__(self, num_inputs, num_hiddens):  # noqa: ANN001
            Module.__init__(self)
            self.save_hyperparameters()
            self.rnn = nn.GRU(num_inputs, num_hiddens, bidirectional=True)
            self.num_hiddens *= 2

    class Classifier(Module):
        def loss(self, Y_hat, Y, averaged=True):  # noqa: ANN001,ANN201
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            Y = Y.reshape((-1,))
            return F.cross_entropy(
                Y_hat, Y, reduction='mean' if averaged else 'none')  # fmt: skip

        def configure_optimizers(self):  # noqa: ANN201
            return torch.optim.SGD(self.parameters(), self.lr)

    class RNNLMScratch(Classifier):
        """The RNN-based language model implemented from scratch."""

        def __init__(self, rnn, vocab_size, lr=0.01):  # noqa: ANN001
            super().__init__()
            self.save_hyperparameters()
            self.init_params()

        def init_params(self):  # noqa: ANN201
            self.W_hq = nn.Parameter(
                torch.randn(
                    self.rnn.num_hiddens, self.vocab_size) * self.rnn.sigma)  # fmt: skip
            self.b_q = nn.Parameter(torch.zeros(self.vocab_size))

        def training_step(self, batch):  # noqa: ANN001,ANN201
            l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
            self.ppl = torch.exp(l)
            return l

        def one_hot(self, X):  # noqa: ANN001,ANN201
            # Output shape: (num_steps, batch_size, vocab_size)
            return F.one_hot(X.T, self.vocab_size).type(torch.float32)

        def output_layer(self, rnn_outputs):  # noqa: ANN001,ANN201
            outputs = [torch.matmul(H, self.W_hq) + self.b_q for H in rnn_outputs]
            return torch.stack(outputs, 1)

        def forward(self, X, state=None):  # noqa: ANN001,ANN201
            embs = self.one_hot(X)
            rnn_outputs, _ = self.rnn(embs, state)
            return self.output_layer(rnn_outputs)

        def predict(self, prefix, num_preds, vocab, device=None):  # noqa: ANN001,ANN201
            state, outputs = None, [vocab[prefix[0]]]
            for i in range(len(prefix) + num_preds - 1):
                X = torch.tensor([[outputs[-1]]], device=device)
                embs = self.one_hot(X)
                rnn_outputs, state = self.rnn(embs, state)
                if i < len(prefix) - 1:  # Warm-up period
                    outputs.append(vocab[prefix[i + 1]])
                else:  # Predict num_preds steps
                    Y = self.output_layer(rnn_outputs)
                    outputs.append(int(Y.argmax(axis=2).reshape(1)))
            return "".join([vocab.idx_to_token[i] for i in outputs])

    class RNNLM(RNNLMScratch):
        """The RNN-based language model implemented with high-level APIs."""

        def init_params(self):  # noqa: ANN201
            self.linear = nn.LazyLinear(self.vocab_size)

        def output_layer(self, hiddens):  # noqa: ANN001,ANN201
            return self.linear(hiddens).swapaxes(0, 1)

    return {k: v for k, v in locals().items() if isinstance(v, type)}


class Vocab:
    def __init__(self, tokens: str) -> None:
        self.idx_to_token = sorted(set(tokens))
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, token: str) -> int:
        return self.token_to_idx[token]


def run(torch_like: Any, init: None) -> list[float]:
    torch = torch_like
    c = _classes(torch_like)
    letters = random.Random(95)
    text = "".join(letters.choice(LETTERS) for _ in range(160))
    vocab = Vocab(text)
    corpus = [vocab[ch] for ch in text]
    num_steps = NUM_STEPS
    array = torch.tensor([corpus[i:i+num_steps+1]
                          for i in range(len(corpus)-num_steps)])  # fmt: skip
    X, Y = array[:, :-1], array[:, 1:]
    num_train = 120

    def get_tensorloader(tensors, train, indices=slice(0, None)):  # noqa: ANN001,ANN202
        tensors = tuple(a[indices] for a in tensors)
        dataset = torch.utils.data.TensorDataset(*tensors)
        return torch.utils.data.DataLoader(dataset, BATCH, shuffle=train)

    def get_dataloader(train):  # noqa: ANN001,ANN202
        idx = slice(0, num_train) if train else slice(num_train, num_train + 24)
        return get_tensorloader([X, Y], train, idx)

    values: list[float] = []

    def fit(model, max_steps=3, gradient_clip_val=1):  # noqa: ANN001,ANN202
        optim = model.configure_optimizers()
        model.train()
        for step, batch in enumerate(get_dataloader(True)):
            if step == max_steps:
                break
            loss = model.training_step(batch)
            optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                params = [p for p in model.parameters() if p.requires_grad]
                norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))  # fmt: skip
                if norm > gradient_clip_val:
                    for param in params:
                        param.grad[:] *= gradient_clip_val / norm
                optim.step()
            values.extend([loss.item(), model.ppl.item(), norm.item()])
        model.eval()
        with torch.no_grad():
            for Xv, Yv in get_dataloader(False):
                values.append(model.loss(model(Xv), Yv).item())
        values.append(len(model.predict("ab", 6, vocab)))

    torch.manual_seed(10)
    num_hiddens, V = 6, len(vocab)
    for rnn in (
        c["RNNScratch"](num_inputs=V, num_hiddens=num_hiddens, sigma=0.5),
        c["LSTMScratch"](num_inputs=V, num_hiddens=num_hiddens, sigma=0.5),
        c["GRUScratch"](num_inputs=V, num_hiddens=num_hiddens, sigma=0.5),
        c["StackedRNNScratch"](num_inputs=V, num_hiddens=num_hiddens, num_layers=2, sigma=0.5),
        c["BiRNNScratch"](num_inputs=V, num_hiddens=num_hiddens, sigma=0.5),
    ):
        model = c["RNNLMScratch"](rnn, vocab_size=V, lr=1)
        values.append(sum(p.numel() for p in model.parameters()))
        fit(model)

    bi = c["BiRNNScratch"](num_inputs=V, num_hiddens=num_hiddens)
    outputs, (f_H, b_H) = bi(torch.ones((NUM_STEPS, 2, V)))
    values += [len(outputs), outputs[0].shape[-1], f_H.shape[-1], b_H.shape[-1]]

    for rnn in (
        c["GRU"](num_inputs=V, num_hiddens=num_hiddens, num_layers=2, dropout=0.1),
        c["LSTM"](num_inputs=V, num_hiddens=num_hiddens),
        c["BiGRU"](num_inputs=V, num_hiddens=num_hiddens),
    ):
        rnn.sigma = 0.01
        model = c["RNNLM"](rnn, vocab_size=V, lr=1)
        model(X[:2])  # materialise the lazy head
        fit(model)
    return values
