"""Karpathy's "Neural Networks: Zero to Hero" makemore part 5, "Building a WaveNet"
(``makemore_part5_cnn1.ipynb``), size-reduced: the dataset built from a word list
(``chars = sorted(list(set(''.join(words))))``, ``stoi = {s:i+1 ...}``, ``stoi['.'] = 0``,
``build_dataset`` with a sliding ``context = context[1:] + [ix]`` and ``torch.tensor(X)``), the
hand-written layers that are plain Python classes, not ``nn.Module``s -- ``Linear`` (``x @
self.weight``, in-place ``self.out += self.bias``), ``BatchNorm1d`` (batch statistics over
``dim = (0, 1)`` for 3-D input, ``x.var(dim, keepdim=True)``, running buffers replaced under
``torch.no_grad()``, a ``training`` flag), ``Tanh``, ``Embedding`` (``self.weight[IX]``),
``FlattenConsecutive`` (``x.view(B, T//self.n, C*self.n)``, ``squeeze(1)`` when one step is
left) and ``Sequential`` with ``parameters()`` lists; ``model.layers[-1].weight *= 0.1`` under
``no_grad``, ``p.requires_grad = True`` on plain tensors, the training loop (``Xtr[ix]``
minibatches, ``F.cross_entropy``, ``p.grad = None``, ``p.data += -lr * p.grad``,
``loss.log10().item()``), ``layer.training = False`` for evaluation, the ``@torch.no_grad()``
``split_loss`` and sampling (``model(torch.tensor([context]))``, ``F.softmax(logits, dim=1)``).

Changed: the names file is a fixed list of 16 names; block_size 8 with n_embd 24, n_hidden 128
-> block_size 4 (two ``FlattenConsecutive(2)`` stages), n_embd 5, n_hidden 8; 200000 steps ->
8. The initial weights are NumPy draws copied into the tensors that ``torch.randn(...,
generator=g)`` created (the two frameworks' generators give different streams), minibatch
indices come from a seeded NumPy generator instead of ``torch.randint``, and sampling draws its
token by inverse CDF on a NumPy uniform (``(probs.cumsum(1) < u).sum()``) instead of
``torch.multinomial(probs, num_samples=1, generator=g)``.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

WORDS = [
    "emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia",
    "harper", "evelyn", "abigail", "emily", "elizabeth", "mila", "ella", "avery",
]  # fmt: skip
BLOCK_SIZE, N_EMBD, N_HIDDEN = 4, 5, 8
CHARS = sorted(list(set("".join(WORDS))))
VOCAB_SIZE = len(CHARS) + 1
SHAPES = [
    (VOCAB_SIZE, N_EMBD),  # Embedding
    (N_EMBD * 2, N_HIDDEN), (N_HIDDEN,), (N_HIDDEN,),  # Linear, BatchNorm1d gamma/beta
    (N_HIDDEN * 2, N_HIDDEN), (N_HIDDEN,), (N_HIDDEN,),
    (N_HIDDEN, VOCAB_SIZE), (VOCAB_SIZE,),  # output Linear with bias
]  # fmt: skip


def init_state(tmp_path: Any) -> list[np.ndarray]:
    rng = np.random.default_rng(42)
    out = []
    for shape in SHAPES:
        w = rng.standard_normal(shape)
        if len(shape) == 2 and shape[0] != VOCAB_SIZE:
            w = w / shape[0] ** 0.5  # note: kaiming init
        elif len(shape) == 1:
            w = np.ones(shape) if len(out) % 3 == 2 else np.zeros(shape)
        out.append(w)
    out[-1] = np.zeros(SHAPES[-1])
    return out


def _layers(torch_like: Any) -> dict[str, type]:
    torch = torch_like

    class Linear:
        def __init__(self, fan_in: int, fan_out: int, bias: bool = True) -> None:
            self.weight = torch.randn((fan_in, fan_out)) / fan_in**0.5  # note: kaiming init
            self.bias = torch.zeros(fan_out) if bias else None

        def __call__(self, x: Any) -> Any:
            self.out = x @ self.weight
            if self.bias is not None:
                self.out += self.bias
            return self.out

        def parameters(self) -> list:
            return [self.weight] + ([] if self.bias is None else [self.bias])

    class BatchNorm1d:
        def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
            self.eps = eps
            self.momentum = momentum
            self.training = True
            # parameters (trained with backprop)
            self.gamma = torch.ones(dim)
            self.beta = torch.zeros(dim)
            # buffers (trained with a running 'momentum update')
            self.running_mean = torch.zeros(dim)
            self.running_var = torch.ones(dim)

        def __call__(self, x: Any) -> Any:
            # calculate the forward pass
            if self.training:
                if x.ndim == 2:
                    dim = 0
                elif x.ndim == 3:
                    dim = (0, 1)
                xmean = x.mean(dim, keepdim=True)  # batch mean
                xvar = x.var(dim, keepdim=True)  # batch variance
            else:
                xmean = self.running_mean
                xvar = self.running_var
            xhat = (x - xmean) / torch.sqrt(xvar + self.eps)  # normalize to unit variance
            self.out = self.gamma * xhat + self.beta
            # update the buffers
            if self.training:
                with torch.no_grad():
                    self.running_mean = (1 - self.momentum) * self.running_mean + (
                        self.momentum * xmean
                    )
                    self.running_var = (1 - self.momentum) * self.running_var + (
                        self.momentum * xvar
                    )
            return self.out

        def parameters(self) -> list:
            return [self.gamma, self.beta]

    class Tanh:
        def __call__(self, x: Any) -> Any:
            self.out = torch.tanh(x)
            return self.out

        def parameters(self) -> list:
            return []

    class Embedding:
        def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
            self.weight = torch.randn((num_embeddings, embedding_dim))

        def __call__(self, IX: Any) -> Any:
            self.out = self.weight[IX]
            return self.out

        def parameters(self) -> list:
            return [self.weight]

    class FlattenConsecutive:
        def __init__(self, n: int) -> None:
            self.n = n

        def __call__(self, x: Any) -> Any:
            B, T, C = x.shape
            x = x.view(B, T // self.n, C * self.n)
            if x.shape[1] == 1:
                x = x.squeeze(1)
            self.out = x
            return self.out

        def parameters(self) -> list:
            return []

    class Sequential:
        def __init__(self, layers: list) -> None:
            self.layers = layers

        def __call__(self, x: Any) -> Any:
            for layer in self.layers:
                x = layer(x)
            self.out = x
            return self.out

        def parameters(self) -> list:
            # get parameters of all layers and stretch them out into one list
            return [p for layer in self.layers for p in layer.parameters()]

    return dict(
        Linear=Linear, BatchNorm1d=BatchNorm1d, Tanh=Tanh, Embedding=Embedding,
        FlattenConsecutive=FlattenConsecutive, Sequential=Sequential,
    )  # fmt: skip


def run(torch_like: Any, init: list[np.ndarray]) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    L = _layers(torch_like)
    Linear, BatchNorm1d, Tanh = L["Linear"], L["BatchNorm1d"], L["Tanh"]
    Embedding, FlattenConsecutive, Sequential = (
        L["Embedding"], L["FlattenConsecutive"], L["Sequential"],
    )  # fmt: skip

    # read in all the words
    words = list(WORDS)
    # build the vocabulary of characters and mappings to/from integers
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab_size = len(itos)

    # shuffle up the words
    random.Random(42).shuffle(words)

    # build the dataset
    block_size = (
        BLOCK_SIZE  # context length: how many characters do we take to predict the next one?
    )

    def build_dataset(words: list[str]) -> tuple[Any, Any]:
        X, Y = [], []

        for w in words:
            context = [0] * block_size
            for ch in w + ".":
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]  # crop and append

        X = torch.tensor(X)
        Y = torch.tensor(Y)
        return X, Y

    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1])  # 80%
    Xdev, Ydev = build_dataset(words[n1:n2])  # 10%
    Xte, Yte = build_dataset(words[n2:])  # 10%

    # hierarchical network
    n_embd = N_EMBD  # the dimensionality of the character embedding vectors
    n_hidden = N_HIDDEN  # the number of neurons in the hidden layer of the MLP
    model = Sequential(
        [
            Embedding(vocab_size, n_embd),
            FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False),
            BatchNorm1d(n_hidden), Tanh(),
            FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False),
            BatchNorm1d(n_hidden), Tanh(),
            Linear(n_hidden, vocab_size),
        ]
    )  # fmt: skip

    parameters = model.parameters()
    with torch.no_grad():
        for p, a in zip(parameters, init, strict=True):
            p.copy_(torch.from_numpy(a))  # the NumPy draws instead of torch.randn's stream
        # parameter init
        model.layers[-1].weight *= 0.1  # last layer make less confident

    values = [float(sum(p.nelement() for p in parameters))]  # number of parameters in total
    for p in parameters:
        p.requires_grad = True

    # same optimization as last time
    max_steps = 8
    batch_size = 6
    lossi = []
    rng = np.random.default_rng(3)

    for i in range(max_steps):
        # minibatch construct
        ix = torch.from_numpy(rng.integers(0, Xtr.shape[0], size=(batch_size,)))
        Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y

        # forward pass
        logits = model(Xb)
        loss = F.cross_entropy(logits, Yb)  # loss function

        # backward pass
        for p in parameters:
            p.grad = None
        loss.backward()

        # update: simple SGD
        lr = 0.1 if i < 6 else 0.01  # step learning rate decay
        for p in parameters:
            p.data += -lr * p.grad

        # track stats
        lossi.append(loss.log10().item())
    values += lossi

    # put layers into eval mode (needed for batchnorm especially)
    for layer in model.layers:
        layer.training = False

    # evaluate the loss
    @torch.no_grad()  # this decorator disables gradient tracking inside pytorch
    def split_loss(split: str) -> float:
        x, y = {
            "train": (Xtr, Ytr),
            "val": (Xdev, Ydev),
            "test": (Xte, Yte),
        }[split]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        return loss.item()

    values += [split_loss("train"), split_loss("val")]
    values += model.layers[3].running_mean.flatten().tolist()

    # sample from the model
    for _ in range(3):
        out = []
        context = [0] * block_size  # initialize with all ...
        while True:
            # forward pass the neural net
            logits = model(torch.tensor([context]))
            probs = F.softmax(logits, dim=1)
            # sample from the distribution
            u = float(rng.random())
            ix = min(int((probs.cumsum(1) < u).sum().item()), vocab_size - 1)
            # shift the context window and track the samples
            context = context[1:] + [ix]
            out.append(ix)
            # if we sample the special '.' token, break
            if ix == 0 or len(out) > 10:
                break
        values += [float(len(out)), float(sum(out))]
    return values
