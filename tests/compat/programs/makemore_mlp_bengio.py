"""Karpathy's "Neural Networks: Zero to Hero" makemore part 2, the MLP of Bengio et al. 2003
(``makemore_part2_mlp.ipynb``), size-reduced.

The idioms: ``words = open('names.txt', 'r').read().splitlines()``-style word list, ``stoi =
{s: i + 1 for i, s in enumerate(chars)}`` with ``stoi['.'] = 0`` and ``itos = {i: s for s, i in
stoi.items()}``; ``build_dataset`` sliding ``context = context[1:] + [ix]`` and returning
``X = torch.tensor(X)`` / ``Y = torch.tensor(Y)`` (int64 from nested Python lists), the
``random.seed(42); random.shuffle(words)`` 80/10/10 split with ``int(0.8*len(words))``;
``g = torch.Generator().manual_seed(2147483647)`` and ``C = torch.randn((27, 10), generator=g)``
/ ``W1`` / ``b1`` / ``W2`` / ``b2``, ``parameters = [C, W1, b1, W2, b2]``, ``sum(p.nelement() for
p in parameters)``, ``for p in parameters: p.requires_grad = True``; the learning-rate search
``lre = torch.linspace(-3, 0, 1000)``, ``lrs = 10**lre`` with ``lri.append(lre[i])``; the
training loop: ``ix = torch.randint(0, Xtr.shape[0], (32,))``, ``emb = C[Xtr[ix]]`` (an integer
tensor of shape (32, 3) indexing the table), ``h = torch.tanh(emb.view(-1, 30) @ W1 + b1)``,
``logits = h @ W2 + b2``, ``loss = F.cross_entropy(logits, Ytr[ix])`` cross-checked against the
notebook's manual ``counts = logits.exp()``, ``prob = counts / counts.sum(1, keepdims=True)``,
``-prob[torch.arange(32), Y].log().mean()``; ``p.grad = None``, ``loss.backward()``, the manual
decay ``lr = 0.1 if i < 100000 else 0.01`` and ``p.data += -lr * p.grad``, ``stepi.append(i)``,
``lossi.append(loss.log10().item())``; evaluation of ``emb = C[Xdev]`` on the dev split; the
embedding picture ``C[:, 0].data, C[:, 1].data`` with ``itos[i]``; and sampling with
``g = torch.Generator().manual_seed(2147483647 + 10)``, ``emb = C[torch.tensor([context])]``,
``probs = F.softmax(logits, dim=1)``, ``ix = torch.multinomial(probs, num_samples=1,
generator=g).item()``, ``''.join(itos[i] for i in out)``.

Changed: 32033 names -> 16, embedding 10 -> 3, hidden 200 -> 12, minibatch 32 -> 8, 200000
steps -> 8 (the decay at step 5 instead of 100000), the lr search over 6 steps. The two
frameworks' generators give different streams, so the ``torch.randn(..., generator=g)``
weights are overwritten with NumPy draws under ``no_grad`` and the minibatch indices are NumPy
draws; the sampler's ``torch.multinomial(..., generator=g)`` is run (its characters are not
compared) and the returned values are the log-likelihoods of the sampled names under the model.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

WORDS = [
    "emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia",
    "harper", "evelyn", "abigail", "emily", "elizabeth", "mila", "ella", "avery",
]  # fmt: skip
BLOCK_SIZE, N_EMBD, N_HIDDEN, BATCH = 3, 3, 12, 8


def init_state(tmp_path: Any) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2147483647)
    vocab = len(sorted(set("".join(WORDS)))) + 1
    return {
        "C": rng.standard_normal((vocab, N_EMBD)),
        "W1": rng.standard_normal((BLOCK_SIZE * N_EMBD, N_HIDDEN)) * 0.3,
        "b1": rng.standard_normal(N_HIDDEN) * 0.1,
        "W2": rng.standard_normal((N_HIDDEN, vocab)) * 0.3,
        "b2": rng.standard_normal(vocab) * 0.1,
        "ix": rng.integers(0, 40, (20, BATCH)),
    }


def run(torch_like: Any, init: dict[str, np.ndarray]) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    words = list(WORDS)
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab = len(itos)

    def build_dataset(words: list[str]) -> tuple[Any, Any]:
        X, Y = [], []
        for w in words:
            context = [0] * BLOCK_SIZE
            for ch in w + ".":
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]  # crop and append
        X = torch.tensor(X)
        Y = torch.tensor(Y)
        return X, Y

    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1])
    Xdev, Ydev = build_dataset(words[n1:n2])
    Xte, Yte = build_dataset(words[n2:])
    assert Xtr.dtype == torch.int64 and tuple(Xtr.shape) == (Xtr.shape[0], BLOCK_SIZE)
    out: list[float] = [float(Xtr.shape[0]), float(Xdev.shape[0] + Xte.shape[0])]

    g = torch.Generator().manual_seed(2147483647)  # for reproducibility
    C = torch.randn((vocab, N_EMBD), generator=g)
    W1 = torch.randn((BLOCK_SIZE * N_EMBD, N_HIDDEN), generator=g)
    b1 = torch.randn(N_HIDDEN, generator=g)
    W2 = torch.randn((N_HIDDEN, vocab), generator=g)
    b2 = torch.randn(vocab, generator=g)
    parameters = [C, W1, b1, W2, b2]
    with torch.no_grad():  # the generators differ: copy the NumPy draws in
        for p, name in zip(parameters, ["C", "W1", "b1", "W2", "b2"]):
            p.copy_(torch.from_numpy(init[name]))
    out.append(sum(p.nelement() for p in parameters))
    for p in parameters:
        p.requires_grad = True

    lre = torch.linspace(-3, 0, 1000)
    lrs = 10**lre
    lri, lossi, stepi = [], [], []
    draws = init["ix"] % Xtr.shape[0]

    # the learning-rate search: a few steps at increasing rates
    for i in range(6):
        ix = torch.from_numpy(draws[i])  # ix = torch.randint(0, Xtr.shape[0], (32,))
        emb = C[Xtr[ix]]  # (32, 3, 10)
        h = torch.tanh(emb.view(-1, BLOCK_SIZE * N_EMBD) @ W1 + b1)  # (32, 200)
        logits = h @ W2 + b2  # (32, 27)
        loss = F.cross_entropy(logits, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = lrs[600 + 70 * i]
        for p in parameters:
            p.data += -lr * p.grad
        lri.append(lre[600 + 70 * i])
        lossi.append(loss.item())
    out += lossi + [float(v) for v in lri]

    lossi = []
    for i in range(8):
        # minibatch construct
        ix = torch.from_numpy(draws[6 + i])
        # forward pass
        emb = C[Xtr[ix]]
        h = torch.tanh(emb.view(-1, BLOCK_SIZE * N_EMBD) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Ytr[ix])
        # the notebook's manual version of the same loss
        counts = logits.exp()
        prob = counts / counts.sum(1, keepdims=True)
        manual = -prob[torch.arange(BATCH), Ytr[ix]].log().mean()
        out.append(manual.item() - loss.item())
        # backward pass
        for p in parameters:
            p.grad = None
        loss.backward()
        # update
        lr = 0.1 if i < 5 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        # track stats
        stepi.append(i)
        lossi.append(loss.log10().item())
    out += lossi

    emb = C[Xtr]
    h = torch.tanh(emb.view(-1, BLOCK_SIZE * N_EMBD) @ W1 + b1)
    out.append(F.cross_entropy(h @ W2 + b2, Ytr).item())
    emb = C[Xdev]  # (32, 3, 2)
    h = torch.tanh(emb.view(-1, BLOCK_SIZE * N_EMBD) @ W1 + b1)  # (32, 100)
    logits = h @ W2 + b2  # (32, 27)
    out.append(F.cross_entropy(logits, Ydev).item())

    # visualize dimensions 0 and 1 of the embedding matrix C for all characters
    xs, ys = C[:, 0].data, C[:, 1].data
    labels = [itos[i] for i in range(C.shape[0])]
    out += [xs.sum().item(), ys.sum().item(), float(len(labels))]

    # sample from the model
    g = torch.Generator().manual_seed(2147483647 + 10)
    for _ in range(4):
        name, context, logp = [], [0] * BLOCK_SIZE, 0.0
        while True:
            emb = C[torch.tensor([context])]  # (1,block_size,d)
            h = torch.tanh(emb.view(1, -1) @ W1 + b1)
            logits = h @ W2 + b2
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            assert isinstance(ix, int)
            context = context[1:] + [ix]
            name.append(ix)
            if ix == 0 or len(name) >= 10:
                break
        text = "".join(itos[i] for i in name)
        assert len(text) == len(name)
        # the sampled characters differ between generators; score a fixed name instead
    for w in ["emma.", "ava."]:
        context, logp = [0] * BLOCK_SIZE, 0.0
        for ch in w:
            emb = C[torch.tensor([context])]
            h = torch.tanh(emb.view(1, -1) @ W1 + b1)
            probs = F.softmax(h @ W2 + b2, dim=1)
            logp += probs[0, stoi[ch]].log().item()
            context = context[1:] + [stoi[ch]]
        out.append(logp)
    return out
