"""Andrej Karpathy's "Neural Networks: Zero to Hero": micrograd's PyTorch cross-checks
(``micrograd/test/test_engine.py``'s ``test_sanity_check`` / ``test_more_ops`` and lecture 1's
tanh neuron) and "Let's build GPT" (``ng-video-lecture``'s ``bigram.py`` and the
``gpt-dev.ipynb`` notebook), size-reduced.

The idioms: the legacy constructor ``torch.Tensor([-4.0]).double()`` with ``x.requires_grad =
True`` assigned afterwards; Python-scalar arithmetic on one-element tensors (``2 * x + 2 + x``,
``z.relu()``, ``b**3``, ``(-a)``, ``f / 2.0``, ``10.0 / f``), ``y.backward()`` and the asserts
``ymg.data == ypt.data.item()`` / ``abs(amg.grad - apt.grad.item()) < tol`` against a scalar
autograd engine written in Python (micrograd's ``Value``, kept here to make the comparison);
lecture 1's neuron ``n = x1*w1 + x2*w2 + b``, ``o = torch.tanh(n)``, ``o.data.item()``,
``x2.grad.item()``. Then the GPT lecture: ``data = torch.tensor(encode(text),
dtype=torch.long)``, ``n = int(0.9*len(data))``, ``train_data = data[:n]``, the notebook's
``for t in range(block_size): context = x[:t+1]; target = y[t]`` printed with
``f"when input is {context} the target: {target}"`` (tensor reprs in f-strings); ``get_batch``
with ``torch.stack([data[i:i+block_size] for i in ix])`` (slices bounded by 0-d tensors);
``BigramLanguageModel`` (``nn.Embedding(vocab_size, vocab_size)``, ``B, T, C = logits.shape``,
``F.cross_entropy(logits.view(B*T, C), targets.view(B*T))``, ``generate`` with
``logits[:, -1, :]``, ``F.softmax(logits, dim=-1)``, ``torch.multinomial(probs,
num_samples=1)`` and ``torch.cat((idx, idx_next), dim=1)``); ``@torch.no_grad() estimate_loss``
(``model.eval()``, ``losses = torch.zeros(eval_iters)``, ``losses[k] = loss.item()``,
``losses.mean()``, ``model.train()``) logged with ``f"{losses['train']:.4f}"``; ``AdamW`` with
``optimizer.zero_grad(set_to_none=True)``; ``context = torch.zeros((1, 1), dtype=torch.long)``
and ``decode(m.generate(context, max_new_tokens=...)[0].tolist())``; the notebook's
"mathematical trick in self-attention": ``a = torch.tril(torch.ones(3, 3))``, ``a /
torch.sum(a, 1, keepdim=True)``, the ``xbow[b,t] = torch.mean(xprev, 0)`` loops, ``wei /
wei.sum(1, keepdim=True)``, ``torch.allclose(xbow, xbow2)``, ``wei.masked_fill(tril == 0,
float('-inf'))``, a single ``Head`` (``q @ k.transpose(-2, -1)``, ``* head_size**-0.5``),
``k.var()`` and ``torch.softmax(torch.tensor([0.1, -0.2, 0.3, -0.2, 0.5])*8, dim=-1)``, and the
scratch ``LayerNorm1d`` (``x.mean(1, keepdim=True)``, ``x.var(1, keepdim=True)``).

Changed: the Shakespeare text is a short fixed string; ``torch.randint`` / ``torch.randn`` draws
come from NumPy (the generators differ; ``torch.randint`` is still called for its shape and
range); batch 32 -> 4, block 8 -> 6, 3000 iterations -> 8. Before the compared ``generate`` the
trained table is replaced by its sharpened argmax (``F.one_hot(table.argmax(1), vocab_size).float()
* 1e3``) so every softmax row is exactly one-hot and ``multinomial`` draws the same tokens in both
frameworks; a draw from the trained model is checked only for its shape and range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n"
)
DTYPE = "float32"
BATCH, BLOCK, ITERS, EVAL_INTERVAL, EVAL_ITERS = 4, 6, 8, 4, 2


class Value:
    """micrograd's scalar autograd engine (``micrograd/engine.py``), the ops the tests use."""

    def __init__(self, data: float, _children: tuple = ()) -> None:
        self.data, self.grad = data, 0.0
        self._backward = lambda: None
        self._prev = set(_children)

    def __add__(self, other: Any) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other: float) -> Value:
        out = Value(self.data**other, (self,))

        def _backward() -> None:
            self.grad += (other * self.data ** (other - 1)) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(0 if self.data < 0 else self.data, (self,))

        def _backward() -> None:
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward() -> None:
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def backward(self) -> None:
        topo: list[Value] = []
        visited: set[Value] = set()

        def build_topo(v: Value) -> None:
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def __neg__(self) -> Value:
        return self * -1

    def __radd__(self, other: Any) -> Value:
        return self + other

    def __sub__(self, other: Any) -> Value:
        return self + (-other)

    def __rmul__(self, other: Any) -> Value:
        return self * other

    def __truediv__(self, other: Any) -> Value:
        return self * other**-1

    def __rtruediv__(self, other: Any) -> Value:
        return other * self**-1


def _text_code(s: str) -> float:
    """A number that changes with any character of ``s`` (strings compared across runs)."""
    return float(len(s) * 1000003 + sum((i + 1) * ord(c) for i, c in enumerate(s)) % 999983)


def _micrograd_checks(torch: Any) -> list[float]:
    values: list[float] = []
    # test_sanity_check
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y
    assert ymg.data == ypt.data.item()
    assert xmg.grad == xpt.grad.item()
    values += [ypt.data.item(), xpt.grad.item(), float(xpt.dtype == torch.float64)]

    # test_more_ops
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g
    tol = 1e-6
    assert abs(gmg.data - gpt.data.item()) < tol
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol
    values += [gpt.data.item(), apt.grad.item(), bpt.grad.item()]

    # lecture 1: a tanh neuron
    x1 = torch.Tensor([2.0]).double()
    x1.requires_grad = True
    x2 = torch.Tensor([0.0]).double()
    x2.requires_grad = True
    w1 = torch.Tensor([-3.0]).double()
    w1.requires_grad = True
    w2 = torch.Tensor([1.0]).double()
    w2.requires_grad = True
    b = torch.Tensor([6.8813735870195432]).double()
    b.requires_grad = True
    n = x1 * w1 + x2 * w2 + b
    o = torch.tanh(n)
    values.append(o.data.item())
    o.backward()
    values += [x2.grad.item(), w2.grad.item(), x1.grad.item(), w1.grad.item()]
    omg = (Value(2.0) * Value(-3.0) + Value(0.0) * Value(1.0) + Value(6.8813735870195432)).tanh()
    assert abs(omg.data - o.data.item()) < 1e-6  # torch.Tensor rounds b to float32 first
    return values


def _attention_trick(torch: Any, rng: np.random.Generator) -> list[float]:
    nn, F = torch.nn, torch.nn.functional
    values: list[float] = []
    a = torch.tril(torch.ones(3, 3))
    a = a / torch.sum(a, 1, keepdim=True)
    bb = torch.randint(0, 10, (3, 2)).float()
    values.append(float(tuple(bb.shape) == (3, 2) and bool(((bb >= 0) & (bb < 10)).all())))
    bb = as_tensor(torch, rng.integers(0, 10, (3, 2))).float()
    c = a @ bb
    values += [c.sum().item(), c[2, 1].item()]

    B, T, C = 2, 5, 2
    x = as_tensor(torch, rng.standard_normal((B, T, C)), dtype=torch.float)
    xbow = torch.zeros((B, T, C))
    for b in range(B):
        for t in range(T):
            xprev = x[b, : t + 1]  # (t,C)
            xbow[b, t] = torch.mean(xprev, 0)
    wei = torch.tril(torch.ones(T, T))
    wei = wei / wei.sum(1, keepdim=True)
    xbow2 = wei @ x  # (B, T, T) @ (B, T, C) ----> (B, T, C)
    values.append(float(torch.allclose(xbow, xbow2)))
    tril = torch.tril(torch.ones(T, T))
    wei = torch.zeros((T, T))
    wei = wei.masked_fill(tril == 0, float("-inf"))
    wei = F.softmax(wei, dim=-1)
    xbow3 = wei @ x
    values += [float(torch.allclose(xbow, xbow3)), xbow3.sum().item()]

    # version 4: self-attention!
    head_size = 4
    key = nn.Linear(C, head_size, bias=False)
    query = nn.Linear(C, head_size, bias=False)
    value = nn.Linear(C, head_size, bias=False)
    with torch.no_grad():
        for lin in (key, query, value):
            lin.weight.copy_(as_tensor(torch, rng.standard_normal((head_size, C)) * 0.5))
    k = key(x)  # (B, T, 16)
    q = query(x)  # (B, T, 16)
    wei = q @ k.transpose(-2, -1) * head_size**-0.5  # (B, T, 16) @ (B, 16, T) ---> (B, T, T)
    tril = torch.tril(torch.ones(T, T))
    wei = wei.masked_fill(tril == 0, float("-inf"))
    wei = F.softmax(wei, dim=-1)
    v = value(x)
    out = wei @ v
    values += [out.sum().item(), float(tuple(out.shape) == (B, T, head_size))]
    values += [k.var().item(), q.var().item(), wei[0].sum().item()]
    values += torch.softmax(torch.tensor([0.1, -0.2, 0.3, -0.2, 0.5]), dim=-1).tolist()
    values += torch.softmax(torch.tensor([0.1, -0.2, 0.3, -0.2, 0.5]) * 8, dim=-1).tolist()

    class LayerNorm1d:  # (used to be BatchNorm1d)
        def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
            self.eps = eps
            self.gamma = torch.ones(dim)
            self.beta = torch.zeros(dim)

        def __call__(self, x: Any) -> Any:
            xmean = x.mean(1, keepdim=True)  # batch mean
            xvar = x.var(1, keepdim=True)  # batch variance
            xhat = (x - xmean) / torch.sqrt(xvar + self.eps)  # normalize to unit variance
            self.out = self.gamma * xhat + self.beta
            return self.out

        def parameters(self) -> list[Any]:
            return [self.gamma, self.beta]

    module = LayerNorm1d(10)
    x = as_tensor(torch, rng.standard_normal((8, 10)), dtype=torch.float)
    x = module(x)
    values += [x[:, 0].mean().item(), x[:, 0].std().item(), x[0, :].mean().item()]
    values.append(x[0, :].std().item())
    return values


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(1337)
    values = _micrograd_checks(torch)
    values += _attention_trick(torch, rng)

    torch.manual_seed(1337)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    chars = sorted(list(set(TEXT)))
    vocab_size = len(chars)
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}
    encode = lambda s: [stoi[c] for c in s]  # noqa: E731 - the lecture's lambdas
    decode = lambda l: "".join([itos[i] for i in l])  # noqa: E731, E741

    data = torch.tensor(encode(TEXT), dtype=torch.long)
    values += [float(data.shape[0]), float(data.dtype == torch.int64), _text_code(str(data[:12]))]
    n = int(0.9 * len(data))
    train_data = data[:n]
    val_data = data[n:]

    x = train_data[:BLOCK]
    y = train_data[1 : BLOCK + 1]
    for t in range(BLOCK):
        context = x[: t + 1]
        target = y[t]
        values.append(_text_code(f"when input is {context} the target: {target}"))

    def get_batch(split: str) -> tuple[Any, Any]:
        data = train_data if split == "train" else val_data
        ix = torch.tensor(rng.integers(0, len(data) - BLOCK, (BATCH,)))
        x = torch.stack([data[i : i + BLOCK] for i in ix])
        y = torch.stack([data[i + 1 : i + BLOCK + 1] for i in ix])
        x, y = x.to(device), y.to(device)
        return x, y

    class BigramLanguageModel(nn.Module):
        def __init__(self, vocab_size: int) -> None:
            super().__init__()
            # each token directly reads off the logits for the next token from a lookup table
            self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

        def forward(self, idx: Any, targets: Any = None) -> tuple[Any, Any]:
            # idx and targets are both (B,T) tensor of integers
            logits = self.token_embedding_table(idx)  # (B,T,C)
            if targets is None:
                loss = None
            else:
                B, T, C = logits.shape
                logits = logits.view(B * T, C)
                targets = targets.view(B * T)
                loss = F.cross_entropy(logits, targets)
            return logits, loss

        def generate(self, idx: Any, max_new_tokens: int) -> Any:
            # idx is (B, T) array of indices in the current context
            for _ in range(max_new_tokens):
                logits, loss = self(idx)
                logits = logits[:, -1, :]  # becomes (B, C)
                probs = F.softmax(logits, dim=-1)  # (B, C)
                idx_next = torch.multinomial(probs, num_samples=1)  # (B, 1)
                idx = torch.cat((idx, idx_next), dim=1)  # (B, T+1)
            return idx

    model = BigramLanguageModel(vocab_size)
    with torch.no_grad():
        model.token_embedding_table.weight.copy_(
            as_tensor(torch, rng.standard_normal((vocab_size, vocab_size)))
        )
    m = model.to(device)

    @torch.no_grad()
    def estimate_loss() -> dict:
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(EVAL_ITERS)
            for k in range(EVAL_ITERS):
                X, Y = get_batch(split)
                logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-1)
    for iter in range(ITERS):
        if iter % EVAL_INTERVAL == 0 or iter == ITERS - 1:
            losses = estimate_loss()
            line = f"step {iter}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}"
            values += [losses["train"].item(), losses["val"].item(), _text_code(line)]
        xb, yb = get_batch("train")
        logits, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        values.append(float(model.token_embedding_table.weight.grad is None))
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    values.append(float(tuple(logits.shape) == (BATCH * BLOCK, vocab_size)))

    context = torch.zeros((1, 1), dtype=torch.long, device=device)
    sample = m.generate(context, max_new_tokens=5)
    values.append(float(tuple(sample.shape) == (1, 6) and sample.dtype == torch.int64))
    values.append(float(bool(((sample >= 0) & (sample < vocab_size)).all())))
    with torch.no_grad():
        table = m.token_embedding_table.weight.data
        m.token_embedding_table.weight.data = F.one_hot(table.argmax(1), vocab_size).float() * 1e3
    text = decode(m.generate(context, max_new_tokens=20)[0].tolist())
    values += [_text_code(text), float(len(text))]
    return values
