"""A character-level RNN language model from scratch and its concise form, as "Dive into Deep
Learning" (d2l.ai, PyTorch edition, sections 8.5 and 8.6) writes them, size-reduced.

The idioms: d2l's ``Vocab`` (``collections.Counter``, tokens sorted by frequency, ``<unk>``) and
``seq_data_iter_sequential`` / ``seq_data_iter_random`` (``torch.tensor(corpus[offset: offset +
num_tokens])``, ``Xs.reshape(batch_size, -1)``, ``Xs[:, i: i + num_steps]``); ``F.one_hot(
torch.tensor([0, 2]), len(vocab))`` and ``F.one_hot(X.T, 28).shape``; ``get_params``' ``normal(
shape)`` = ``torch.randn(size=shape, device=device) * 0.01``, ``torch.zeros(num_hiddens,
device=device)`` and ``param.requires_grad_(True)``; ``init_rnn_state`` returning the 1-tuple
``(torch.zeros((batch_size, num_hiddens), device=device), )``; ``rnn``'s ``for X in inputs:``
loop with ``torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)`` and ``torch.cat(outputs,
dim=0)``; ``RNNModelScratch.__call__``'s ``F.one_hot(X.T, self.vocab_size).type(torch.float32)``
(why the run is float32: the parameters must match it); ``predict_ch8``'s ``torch.tensor(
[outputs[-1]], device=device).reshape((1, 1))`` and ``int(y.argmax(dim=1).reshape(1))``;
``grad_clipping``'s ``isinstance(net, nn.Module)`` switch, ``torch.sqrt(sum(torch.sum((p.grad
** 2)) for p in params))`` (Python's ``sum`` starting from 0) and ``param.grad[:] *= theta /
norm``; ``train_epoch_ch8``'s ``for s in state: s.detach_()`` / ``state.detach_()``, ``y =
Y.T.reshape(-1)``, ``X.to(device)``, ``loss(y_hat, y.long()).mean()`` with
``nn.CrossEntropyLoss()``, ``metric.add(l * y.numel(), y.numel())`` and the perplexity
``math.exp(metric[0] / metric[1])``; the scratch ``sgd`` updater vs ``torch.optim.SGD``; and
the concise ``nn.RNN(len(vocab), num_hiddens)`` (``rnn_layer(X, state)`` with ``state =
torch.zeros((1, batch_size, num_hiddens))``) inside ``RNNModel`` (``super(RNNModel,
self).__init__(**kwargs)``, ``self.rnn.hidden_size``, ``self.rnn.bidirectional``, ``F.one_hot(
inputs.T.long(), self.vocab_size)``, ``X.to(torch.float32)``, ``Y.reshape((-1, Y.shape[-1]))``,
``begin_state``'s ``isinstance(self.rnn, nn.LSTM)`` and ``self.num_directions *
self.rnn.num_layers``).

The initial weights come from NumPy (copied into the tensors ``torch.randn`` made); the random
data iterator's offsets and shuffles come from a seeded ``random.Random``.
"""

from __future__ import annotations

import collections
import math
import random
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

DTYPE = "float32"
RTOL, ATOL = 2e-4, 1e-5

TEXT = (
    "the time traveller for so it will be convenient to speak of him was expounding a "
    "recondite matter to us his grey eyes shone and twinkled and his usually pale face "
    "was flushed and animated"
)
BATCH, NUM_STEPS, NUM_HIDDENS, LR, EPOCHS, NUM_PREDS = 4, 5, 12, 1.0, 3, 8


class Vocab:
    """Vocabulary for text (d2l's, for characters)."""

    def __init__(self, tokens: list, min_freq: int = 0, reserved_tokens: list | None = None):
        reserved_tokens = reserved_tokens or []
        counter = collections.Counter(tokens)
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ["<unk>"] + reserved_tokens
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens: Any) -> Any:
        if not isinstance(tokens, list | tuple):
            return self.token_to_idx.get(tokens, 0)
        return [self.__getitem__(token) for token in tokens]


VOCAB = Vocab(list(TEXT))
CORPUS = [VOCAB[token] for token in TEXT]


def init_state(tmp_path: Any) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(8)
    v, h = len(VOCAB), NUM_HIDDENS
    bound = 1 / math.sqrt(h)
    return {
        "scratch": [rng.standard_normal(s) * 0.01 for s in ((v, h), (h, h), (h, v))],
        "rnn.weight_ih_l0": rng.uniform(-bound, bound, (h, v)),
        "rnn.weight_hh_l0": rng.uniform(-bound, bound, (h, h)),
        "rnn.bias_ih_l0": rng.uniform(-bound, bound, h),
        "rnn.bias_hh_l0": rng.uniform(-bound, bound, h),
        "linear.weight": rng.uniform(-bound, bound, (v, h)),
        "linear.bias": rng.uniform(-bound, bound, v),
        "probe": rng.uniform(0, 1, (NUM_STEPS, BATCH, v)),
    }


def seq_data_iter_random(torch: Any, corpus: list, batch_size: int, num_steps: int, r: Any):
    corpus = corpus[r.randint(0, num_steps - 1) :]
    num_subseqs = (len(corpus) - 1) // num_steps
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    r.shuffle(initial_indices)

    def data(pos: int) -> list:
        return corpus[pos : pos + num_steps]

    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        initial_indices_per_batch = initial_indices[i : i + batch_size]
        X = [data(j) for j in initial_indices_per_batch]
        Y = [data(j + 1) for j in initial_indices_per_batch]
        yield torch.tensor(X), torch.tensor(Y)


def seq_data_iter_sequential(torch: Any, corpus: list, batch_size: int, num_steps: int, r: Any):
    offset = r.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[offset : offset + num_tokens])
    Ys = torch.tensor(corpus[offset + 1 : offset + 1 + num_tokens])
    Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        X = Xs[:, i : i + num_steps]
        Y = Ys[:, i : i + num_steps]
        yield X, Y


def get_params(torch: Any, vocab_size: int, num_hiddens: int, device: Any, init: dict) -> list:
    num_inputs = num_outputs = vocab_size
    draws = iter(init["scratch"])

    def normal(shape: tuple) -> Any:
        w = torch.randn(size=shape, device=device) * 0.01
        return w.copy_(as_tensor(torch, next(draws)))  # NumPy's draw, in both runs

    # Hidden layer parameters
    W_xh = normal((num_inputs, num_hiddens))
    W_hh = normal((num_hiddens, num_hiddens))
    b_h = torch.zeros(num_hiddens, device=device)
    # Output layer parameters
    W_hq = normal((num_hiddens, num_outputs))
    b_q = torch.zeros(num_outputs, device=device)
    # Attach gradients
    params = [W_xh, W_hh, b_h, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


def init_rnn_state(torch: Any, batch_size: int, num_hiddens: int, device: Any) -> tuple:
    return (torch.zeros((batch_size, num_hiddens), device=device),)


def rnn(torch: Any, inputs: Any, state: tuple, params: list) -> tuple:
    # Shape of inputs: (num_steps, batch_size, vocab_size)
    W_xh, W_hh, b_h, W_hq, b_q = params
    (H,) = state
    outputs = []
    # Shape of X: (batch_size, vocab_size)
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        Y = torch.mm(H, W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)


class RNNModelScratch:
    """A RNN model implemented from scratch."""

    def __init__(self, torch: Any, vocab_size: int, num_hiddens: int, device: Any, init: dict):
        self.torch = torch
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(torch, vocab_size, num_hiddens, device, init)

    def __call__(self, X: Any, state: tuple) -> tuple:
        torch = self.torch
        X = torch.nn.functional.one_hot(X.T, self.vocab_size).type(torch.float32)
        return rnn(torch, X, state, self.params)

    def begin_state(self, batch_size: int, device: Any) -> tuple:
        return init_rnn_state(self.torch, batch_size, self.num_hiddens, device)


def make_rnn_model(torch: Any) -> type:
    nn = torch.nn
    F = torch.nn.functional

    class RNNModel(nn.Module):
        """The RNN model."""

        def __init__(self, rnn_layer: Any, vocab_size: int, **kwargs: Any) -> None:
            super(RNNModel, self).__init__(**kwargs)  # noqa: UP008 - d2l's spelling
            self.rnn = rnn_layer
            self.vocab_size = vocab_size
            self.num_hiddens = self.rnn.hidden_size
            # If the RNN is bidirectional, num_directions should be 2, else it should be 1.
            if not self.rnn.bidirectional:
                self.num_directions = 1
                self.linear = nn.Linear(self.num_hiddens, self.vocab_size)
            else:
                self.num_directions = 2
                self.linear = nn.Linear(self.num_hiddens * 2, self.vocab_size)

        def forward(self, inputs: Any, state: Any) -> tuple:
            X = F.one_hot(inputs.T.long(), self.vocab_size)
            X = X.to(torch.float32)
            Y, state = self.rnn(X, state)
            # The fully connected layer will first change the shape of `Y` to
            # (`num_steps` * `batch_size`, `num_hiddens`).
            output = self.linear(Y.reshape((-1, Y.shape[-1])))
            return output, state

        def begin_state(self, device: Any, batch_size: int = 1) -> Any:
            shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
            if not isinstance(self.rnn, nn.LSTM):
                # `nn.GRU` takes a tensor as hidden state
                return torch.zeros(shape, device=device)
            # `nn.LSTM` takes a tuple of hidden states
            return (torch.zeros(shape, device=device), torch.zeros(shape, device=device))

    return RNNModel


def predict_ch8(torch: Any, prefix: str, num_preds: int, net: Any, vocab: Vocab, device: Any):
    """Generate new characters following the `prefix`."""
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]
    get_input = lambda: torch.tensor([outputs[-1]], device=device).reshape((1, 1))  # noqa: E731
    for y in prefix[1:]:  # Warm-up period
        _, state = net(get_input(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):  # Predict `num_preds` steps
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join([vocab.idx_to_token[i] for i in outputs])


def grad_clipping(torch: Any, net: Any, theta: float) -> float:
    """Clip the gradient (returns the norm, for the comparison)."""
    if isinstance(net, torch.nn.Module):
        params = [p for p in net.parameters() if p.requires_grad]
    else:
        params = net.params
    norm = torch.sqrt(sum(torch.sum((p.grad**2)) for p in params))  # noqa: UP034 - as d2l
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm
    return float(norm)


def sgd(torch: Any, params: list, lr: float, batch_size: int) -> None:
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def train_epoch_ch8(
    torch: Any,
    net: Any,
    train_iter: Any,
    loss: Any,
    updater: Any,
    device: Any,
    use_random_iter: bool,
) -> tuple:
    state = None
    metric = [0.0, 0.0]
    norms = []
    for X, Y in train_iter:
        if state is None or use_random_iter:
            # Initialize `state` when either it is the first iteration or using random sampling
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            if isinstance(net, torch.nn.Module) and not isinstance(state, tuple):
                # `state` is a tensor for `nn.GRU`
                state.detach_()
            else:
                # `state` is a tuple of tensors for `nn.LSTM` and for our custom scratch
                for s in state:
                    s.detach_()
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()  # noqa: E741 - d2l's name
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            norms.append(grad_clipping(torch, net, 1))
            updater.step()
        else:
            l.backward()
            norms.append(grad_clipping(torch, net, 1))
            # Since the `mean` function has been invoked
            updater(batch_size=1)
        metric = [a + float(b) for a, b in zip(metric, (l * y.numel(), y.numel()), strict=True)]
    return math.exp(metric[0] / metric[1]), norms


def train_ch8(
    torch: Any,
    net: Any,
    vocab: Vocab,
    lr: float,
    num_epochs: int,
    device: Any,
    use_random_iter: bool = False,
) -> list[float]:
    loss = torch.nn.CrossEntropyLoss()
    if isinstance(net, torch.nn.Module):
        updater = torch.optim.SGD(net.parameters(), lr)
    else:
        updater = lambda batch_size: sgd(torch, net.params, lr, batch_size)  # noqa: E731
    values = []
    r = random.Random(3)
    for _epoch in range(num_epochs):
        make = seq_data_iter_random if use_random_iter else seq_data_iter_sequential
        train_iter = make(torch, CORPUS, BATCH, NUM_STEPS, r)
        ppl, norms = train_epoch_ch8(torch, net, train_iter, loss, updater, device, use_random_iter)
        values += [ppl, *norms]
    text = predict_ch8(torch, "time ", NUM_PREDS, net, vocab, device)
    return values + [float(vocab.token_to_idx.get(c, 0)) for c in text]


def scratch(torch: Any, init: dict, device: Any) -> list[float]:
    F = torch.nn.functional
    values = F.one_hot(torch.tensor([0, 2]), len(VOCAB)).flatten().tolist()
    X = torch.arange(10).reshape((2, 5))
    values += list(F.one_hot(X.T, 28).shape) + [float(F.one_hot(X.T, 28).dtype == torch.int64)]
    net = RNNModelScratch(torch, len(VOCAB), NUM_HIDDENS, device, init)
    state = net.begin_state(X.shape[0], device)
    Y, new_state = net(X.to(device), state)
    values += list(Y.shape) + [len(new_state), *new_state[0].shape, float(Y.dtype == torch.float32)]
    values += [float(all(p.is_leaf and p.requires_grad for p in net.params))]
    values += train_ch8(torch, net, VOCAB, LR, EPOCHS, device)
    values += [float(p.abs().sum()) for p in net.params]
    net = RNNModelScratch(torch, len(VOCAB), NUM_HIDDENS, device, init)
    values += train_ch8(torch, net, VOCAB, LR, 2, device, use_random_iter=True)
    return values


def concise(torch: Any, init: dict, device: Any) -> list[float]:
    nn = torch.nn
    rnn_layer = nn.RNN(len(VOCAB), NUM_HIDDENS)
    state = torch.zeros((1, BATCH, NUM_HIDDENS))
    values = list(state.shape)
    net = make_rnn_model(torch)(rnn_layer, vocab_size=len(VOCAB))
    net.load_state_dict(
        {
            k: as_tensor(torch, v, dtype=torch.float32)
            for k, v in init.items()
            if k.startswith(("rnn.", "linear."))
        }
    )
    X = as_tensor(torch, init["probe"], dtype=torch.float32)
    Y, state_new = rnn_layer(X, state)
    values += list(Y.shape) + list(state_new.shape) + [float(Y.sum()), float(state_new.sum())]
    net = net.to(device)
    values += [float(net.num_directions), float(net.num_hiddens)]
    text = predict_ch8(torch, "time ", 4, net, VOCAB, device)
    values += [float(c == p) for c, p in zip("time ", text, strict=False)]
    values += train_ch8(torch, net, VOCAB, LR, EPOCHS, device)
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    device = torch_like.device("cpu")
    with warnings.catch_warnings():  # float(l * y.numel()) of a graph's tensor, as d2l does
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
        return scratch(torch_like, init, device) + concise(torch_like, init, device)
