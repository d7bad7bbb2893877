"""Karpathy's "Neural Networks: Zero to Hero" makemore part 3, "Activations & Gradients,
BatchNorm" (``makemore_part3_bn.ipynb``), size-reduced. First half: the MLP with hand-scaled
Kaiming init (``torch.randn(..., generator=g) * (5/3)/((n_embd * block_size)**0.5)``, ``* 0.01``,
``* 0``), the inline batch norm (``hpreact.mean(0, keepdim=True)``, ``hpreact.std(0,
keepdim=True)``, ``bngain * (hpreact - bnmeani) / bnstdi + bnbias``, running statistics updated
under ``torch.no_grad()`` by rebinding ``bnmean_running = 0.999 * bnmean_running + 0.001 *
bnmeani``), ``sum(p.nelement() for p in parameters)``, ``p.requires_grad = True`` on plain
tensors, ``p.grad = None`` / ``p.data += -lr * p.grad``, ``loss.log10().item()``, the post-training
calibration of the batch-norm statistics over the whole training set, ``@torch.no_grad()
split_loss`` with a ``{'train': (Xtr, Ytr), ...}[split]`` lookup, and the saturation picture
``h.abs() > 0.99``. Second half, "PyTorch-ifying": the ``Linear`` / ``BatchNorm1d`` / ``Tanh``
layer classes, ``layers[-1].gamma *= 0.1`` and ``layer.weight *= 5/3`` under ``no_grad``
(``torch.nn.init.calculate_gain('tanh')``), ``layer.out.retain_grad()`` on every layer output,
the update-to-data ratios ``((lr*p.grad).std() / p.data.std()).log10().item()``, and the
diagnostics: the forward-pass activation statistics ``'layer %d (%10s): mean %+.2f, std %.2f,
saturated: %.2f%%' % (i, layer.__class__.__name__, t.mean(), t.std(), (t.abs() >
0.97).float().mean()*100)`` (0-d tensors through ``%``-formatting), ``hy, hx =
torch.histogram(t, density=True)`` with ``hx[:-1].detach()`` for plotting, the same for
``layer.out.grad``, and the weight-gradient table (``p.ndim == 2``, ``tuple(p.shape)``, ``t.std()
/ p.std()``).

Changed: the names file is a fixed list of 16 names; block_size 3, n_embd 10, n_hidden 200 ->
n_embd 4, n_hidden 12, five hidden layers -> three; 200000 steps -> 6 and 4. The initial weights
are NumPy draws copied into the tensors that ``torch.randn(..., generator=g)`` created (the
two frameworks' generators give different streams) and minibatch indices come from a seeded
NumPy generator instead of ``torch.randint``; histograms use 20 bins instead of the default 100
(the returned values stay few; the default is exercised once).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

WORDS = [
    "emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia",
    "harper", "evelyn", "abigail", "emily", "elizabeth", "mila", "ella", "avery",
]  # fmt: skip
BLOCK_SIZE, N_EMBD, N_HIDDEN = 3, 4, 12


def run(torch_like: Any, init: None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(2147483647)
    values: list[float] = []

    def randn_like_numpy(t: Any) -> Any:
        """Overwrite a ``torch.randn`` result with a NumPy draw (same shape, same scaling)."""
        with torch.no_grad():
            t.copy_(torch.from_numpy(rng.standard_normal(tuple(t.shape))))
        return t

    words = WORDS
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab_size = len(itos)
    block_size = BLOCK_SIZE

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
    Xtr, Ytr = build_dataset(words[:n1])
    Xdev, Ydev = build_dataset(words[n1:n2])
    Xte, Yte = build_dataset(words[n2:])
    values.extend([Xtr.shape[0], Xdev.shape[0], Xte.shape[0]])

    # --- the MLP with the inline batch norm -------------------------------------------------
    n_embd = N_EMBD  # the dimensionality of the character embedding vectors
    n_hidden = N_HIDDEN  # the number of neurons in the hidden layer of the MLP

    g = torch.Generator().manual_seed(2147483647)  # for reproducibility
    C = randn_like_numpy(torch.randn((vocab_size, n_embd), generator=g))
    W1 = randn_like_numpy(torch.randn((n_embd * block_size, n_hidden), generator=g)) * (
        (5 / 3) / ((n_embd * block_size) ** 0.5)
    )
    b1 = randn_like_numpy(torch.randn(n_hidden, generator=g)) * 0.01
    W2 = randn_like_numpy(torch.randn((n_hidden, vocab_size), generator=g)) * 0.01
    b2 = randn_like_numpy(torch.randn(vocab_size, generator=g)) * 0

    # BatchNorm parameters
    bngain = torch.ones((1, n_hidden))
    bnbias = torch.zeros((1, n_hidden))
    bnmean_running = torch.zeros((1, n_hidden))
    bnstd_running = torch.ones((1, n_hidden))

    parameters = [C, W1, W2, b2, bngain, bnbias]
    values.append(sum(p.nelement() for p in parameters))  # number of parameters in total
    for p in parameters:
        p.requires_grad = True

    max_steps = 6
    batch_size = 8
    lossi = []

    for i in range(max_steps):
        # minibatch construct
        ix = torch.from_numpy(rng.integers(0, Xtr.shape[0], (batch_size,)))
        Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y

        # forward pass
        emb = C[Xb]  # embed the characters into vectors
        embcat = emb.view(emb.shape[0], -1)  # concatenate the vectors
        # Linear layer
        hpreact = embcat @ W1  # + b1 # hidden layer pre-activation
        # BatchNorm layer
        bnmeani = hpreact.mean(0, keepdim=True)
        bnstdi = hpreact.std(0, keepdim=True)
        hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
        with torch.no_grad():
            bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani
            bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi
        # Non-linearity
        h = torch.tanh(hpreact)  # hidden layer
        logits = h @ W2 + b2  # output layer
        loss = F.cross_entropy(logits, Yb)  # loss function

        # backward pass
        for p in parameters:
            p.grad = None
        loss.backward()

        # update
        lr = 0.1 if i < 4 else 0.01  # step learning rate decay
        for p in parameters:
            p.data += -lr * p.grad

        # track stats
        if i % 2 == 0:  # print every once in a while
            line = f"{i:7d}/{max_steps:7d}: {loss.item():.4f}"
            assert line.endswith(f"{loss.item():.4f}")
        lossi.append(loss.log10().item())
    values.extend(lossi)
    values.append((h.abs() > 0.99).float().mean().item())  # plt.imshow(h.abs() > 0.99)
    values.extend(bnmean_running[0, :3].tolist() + bnstd_running[0, :3].tolist())

    # calibrate the batch norm at the end of training
    with torch.no_grad():
        # pass the training set through
        emb = C[Xtr]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1 + b1
        # measure the mean/std over the entire training set
        bnmean = hpreact.mean(0, keepdim=True)
        bnstd = hpreact.std(0, keepdim=True)

    @torch.no_grad()  # this decorator disables gradient tracking
    def split_loss(split: str) -> float:
        x, y = {
            "train": (Xtr, Ytr),
            "val": (Xdev, Ydev),
            "test": (Xte, Yte),
        }[split]
        emb = C[x]  # (N, block_size, n_embd)
        embcat = emb.view(emb.shape[0], -1)  # concat into (N, block_size * n_embd)
        hpreact = embcat @ W1 + b1
        hpreact = bngain * (hpreact - bnmean) / bnstd + bnbias
        h = torch.tanh(hpreact)  # (N, n_hidden)
        logits = h @ W2 + b2  # (N, vocab_size)
        loss = F.cross_entropy(logits, y)
        return loss.item()

    values.extend([split_loss("train"), split_loss("val")])

    # --- PyTorch-ifying: layer classes and the diagnostics ---------------------------------
    class Linear:
        def __init__(self, fan_in: int, fan_out: int, bias: bool = True) -> None:
            self.weight = (
                randn_like_numpy(torch.randn((fan_in, fan_out), generator=g)) / fan_in**0.5
            )
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
                xmean = x.mean(0, keepdim=True)  # batch mean
                xvar = x.var(0, keepdim=True)  # batch variance
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

    C = randn_like_numpy(torch.randn((vocab_size, n_embd), generator=g))
    layers = [
        Linear(n_embd * block_size, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, vocab_size, bias=False), BatchNorm1d(vocab_size),
    ]  # fmt: skip

    with torch.no_grad():
        # last layer: make less confident
        layers[-1].gamma *= 0.1
        # all other layers: apply gain
        for layer in layers[:-1]:
            if isinstance(layer, Linear):
                layer.weight *= torch.nn.init.calculate_gain("tanh")  # 5/3

    parameters = [C] + [p for layer in layers for p in layer.parameters()]
    values.append(sum(p.nelement() for p in parameters))  # number of parameters in total
    for p in parameters:
        p.requires_grad = True

    ud = []
    for i in range(4):
        # minibatch construct
        ix = torch.from_numpy(rng.integers(0, Xtr.shape[0], (batch_size,)))
        Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y

        # forward pass
        emb = C[Xb]  # embed the characters into vectors
        x = emb.view(emb.shape[0], -1)  # concatenate the vectors
        for layer in layers:
            x = layer(x)
        loss = F.cross_entropy(x, Yb)  # loss function

        # backward pass
        for layer in layers:
            layer.out.retain_grad()  # AFTER_DEBUG: would take out retain_graph
        for p in parameters:
            p.grad = None
        loss.backward()

        # update
        lr = 1.0 if i < 3 else 0.1  # step learning rate decay
        for p in parameters:
            p.data += -lr * p.grad

        # track stats
        lossi.append(loss.log10().item())
        with torch.no_grad():
            ud.append([((lr * p.grad).std() / p.data.std()).log10().item() for p in parameters])
    values.extend(lossi[-4:])
    values.extend(ud[-1])

    # visualize histograms: activation distribution (forward pass)
    for i, layer in enumerate(layers[:-1]):  # note: exclude the output layer
        if isinstance(layer, Tanh):
            t = layer.out
            with warnings.catch_warnings():  # PyTorch warns once: a scalar from a grad tensor
                warnings.simplefilter("ignore", UserWarning)
                line = "layer %d (%10s): mean %+.2f, std %.2f, saturated: %.2f%%" % (  # noqa: UP031 (as in the notebook)
                    i,
                    layer.__class__.__name__,
                    t.mean(),
                    t.std(),
                    (t.abs() > 0.97).float().mean() * 100,
                )
            assert line.startswith(f"layer {i} (      Tanh): mean "), line
            values.extend([t.mean().item(), t.std().item()])
            values.append((t.abs() > 0.97).float().mean().item() * 100)
            hy, hx = torch.histogram(t, bins=20, density=True)
            values.extend(hy.tolist()[::4] + hx[:-1].detach().tolist()[::5])
    # the default 100 bins
    hy, hx = torch.histogram(layers[2].out, density=True)
    values.extend([len(hy), len(hx), hy.sum().item(), hx[0].item(), hx[-1].item()])

    # gradient distribution (backward pass)
    for i, layer in enumerate(layers[:-1]):  # note: exclude the output layer
        if isinstance(layer, Tanh):
            t = layer.out.grad
            line = "layer %d (%10s): mean %+f, std %e" % (  # noqa: UP031 (as in the notebook)
                i,
                layer.__class__.__name__,
                t.mean(),
                t.std(),
            )
            assert "std " in line
            values.extend([t.mean().item(), t.std().item()])
            hy, hx = torch.histogram(t, bins=20, density=True)
            values.extend(hy.tolist()[::4])

    # weights gradient distribution
    for i, p in enumerate(parameters):
        t = p.grad
        if p.ndim == 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                line = "weight %10s | mean %+f | std %e | grad:data ratio %e" % (  # noqa: UP031 (as in the notebook)
                    tuple(p.shape),
                    t.mean(),
                    t.std(),
                    t.std() / p.std(),
                )
            assert line.startswith(f"weight {str(tuple(p.shape)):>10s} | mean "), line
            values.extend([i, (t.std() / p.std()).item()])
    return values
