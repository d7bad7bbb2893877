"""Karpathy's makemore part 4, "becoming a backprop ninja" (the ``makemore_part4_backprop``
notebook of karpathy/nn-zero-to-hero), size-reduced.

The idioms: a character-level dataset built from a few names (``stoi``/``itos``, a rolling
``context = context[1:] + [ix]`` window); parameters as plain tensors with ``requires_grad =
True`` set in a loop; the forward broken into its atoms (``emb = C[Xb]``, ``emb.view(
emb.shape[0], -1)``, ``hprebn = embcat @ W1 + b1``, the manual BatchNorm with ``bnmeani =
1/n*hprebn.sum(0, keepdim=True)``, Bessel's ``1/(n-1)`` variance, ``(bnvar + 1e-5)**-0.5``,
``torch.tanh``, ``logits.max(1, keepdim=True).values``, ``counts_sum**-1``, ``-logprobs[
range(n), Yb].mean()``) with ``t.retain_grad()`` on every intermediate; then the whole manual
backward (``torch.zeros_like(logprobs)`` written at ``[range(n), Yb]``, the broadcast sums
``.sum(1, keepdim=True)``, ``F.one_hot(logits.max(1).indices, num_classes=...)``, ``dC`` built
by a Python loop of ``dC[ix] += demb[k,j]``) compared with autograd by ``cmp()``
(``torch.all(dt == t.grad).item()``, ``torch.allclose``, ``(dt - t.grad).abs().max().item()``);
the fused cross-entropy backward (``F.softmax(logits, 1)``; ``dlogits[range(n), Yb] -= 1``;
``dlogits /= n``) and the fused BatchNorm backward; and training with the manual gradients,
``for p, grad in zip(parameters, grads): p.data += -lr * grad`` under ``torch.no_grad()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn"]
BLOCK, N_EMBD, N_HIDDEN, BATCH, STEPS, LR = 3, 4, 16, 12, 3, 0.1


def build_dataset(words: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    X, Y = [], []
    for w in words:
        context = [0] * BLOCK
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return np.array(X), np.array(Y), len(stoi)


def init_state(tmp_path: Path) -> dict[str, np.ndarray]:
    _, _, vocab = build_dataset(WORDS)
    rng = np.random.default_rng(2147483647)
    fan_in = N_EMBD * BLOCK
    return {
        "C": rng.standard_normal((vocab, N_EMBD)),
        "W1": rng.standard_normal((fan_in, N_HIDDEN)) * (5 / 3) / fan_in**0.5,
        "b1": rng.standard_normal(N_HIDDEN) * 0.1,
        "W2": rng.standard_normal((N_HIDDEN, vocab)) * 0.1,
        "b2": rng.standard_normal(vocab) * 0.1,
        "bngain": rng.standard_normal((1, N_HIDDEN)) * 0.1 + 1.0,
        "bnbias": rng.standard_normal((1, N_HIDDEN)) * 0.1,
    }


def cmp(torch_like: Any, s: str, dt: Any, t: Any) -> list[float]:
    torch = torch_like
    ex = torch.all(dt == t.grad).item()
    app = torch.allclose(dt, t.grad)
    maxdiff = (dt - t.grad).abs().max().item()
    _ = f"{s:15s} | exact: {str(ex):5s} | approximate: {str(app):5s} | maxdiff: {maxdiff}"
    return [float(app), maxdiff < 1e-10]


def run(torch_like: Any, init: dict[str, np.ndarray]) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    X, Y, vocab_size = build_dataset(WORDS)
    Xtr, Ytr = as_tensor(torch, X), as_tensor(torch, Y)
    C, W1, b1, W2, b2, bngain, bnbias = (
        as_tensor(torch, init[k]) for k in ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
    )
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    values: list[float] = [float(sum(p.nelement() for p in parameters))]
    for p in parameters:
        p.requires_grad = True

    rng = np.random.default_rng(5)
    n = BATCH
    ix = as_tensor(torch, rng.integers(0, Xtr.shape[0], BATCH))
    Xb, Yb = Xtr[ix], Ytr[ix]

    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum**-1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()

    for p in parameters:
        p.grad = None
    for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes,
              logits, h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani,
              embcat, emb]:  # fmt: skip
        t.retain_grad()
    loss.backward()
    values.append(loss.item())

    # exercise 1: backprop through the whole thing manually
    dlogprobs = torch.zeros_like(logprobs)
    dlogprobs[range(n), Yb] = -1.0 / n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = (-(counts_sum**-2)) * dcounts_sum_inv
    dcounts += torch.ones_like(counts) * dcounts_sum
    dnorm_logits = counts * dcounts
    dlogits = dnorm_logits.clone()
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h**2) * dh
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbndiff = bnvar_inv * dbnraw
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
    dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
    dbndiff += (2 * bndiff) * dbndiff2
    dhprebn = dbndiff.clone()
    dbnmeani = (-dbndiff).sum(0)
    dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = torch.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            ix = Xb[k, j]
            dC[ix] += demb[k, j]

    checks = [("logprobs", dlogprobs, logprobs), ("probs", dprobs, probs),
              ("counts_sum_inv", dcounts_sum_inv, counts_sum_inv),
              ("counts_sum", dcounts_sum, counts_sum), ("counts", dcounts, counts),
              ("norm_logits", dnorm_logits, norm_logits), ("logit_maxes", dlogit_maxes,
              logit_maxes), ("logits", dlogits, logits), ("h", dh, h), ("W2", dW2, W2),
              ("b2", db2, b2), ("hpreact", dhpreact, hpreact), ("bngain", dbngain, bngain),
              ("bnbias", dbnbias, bnbias), ("bnraw", dbnraw, bnraw), ("bnvar_inv", dbnvar_inv,
              bnvar_inv), ("bnvar", dbnvar, bnvar), ("bndiff2", dbndiff2, bndiff2),
              ("bndiff", dbndiff, bndiff), ("bnmeani", dbnmeani, bnmeani), ("hprebn", dhprebn,
              hprebn), ("embcat", dembcat, embcat), ("W1", dW1, W1), ("b1", db1, b1),
              ("emb", demb, emb), ("C", dC, C)]  # fmt: skip
    for name, dt, t in checks:
        values += cmp(torch, name, dt, t)
    values += [dC.abs().sum().item(), dlogit_maxes.abs().max().item()]

    # exercise 2: cross entropy backward in one go
    loss_fast = F.cross_entropy(logits, Yb)
    values += [(loss_fast - loss).item()]
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    values += cmp(torch, "logits", dlogits, logits)

    # exercise 3: batchnorm backward in one go
    hpreact_fast = (
        bngain * (hprebn - hprebn.mean(0, keepdim=True))
        / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
    )  # fmt: skip
    values += [(hpreact_fast - hpreact).abs().max().item()]
    dhprebn = (
        bngain * bnvar_inv / n
        * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
    )  # fmt: skip
    values += cmp(torch, "hprebn", dhprebn, hprebn)

    # exercise 4: train with the manual gradients
    with torch.no_grad():
        for step in range(STEPS):
            ix = as_tensor(torch, rng.integers(0, Xtr.shape[0], BATCH))
            Xb, Yb = Xtr[ix], Ytr[ix]
            emb = C[Xb]
            embcat = emb.view(emb.shape[0], -1)
            hprebn = embcat @ W1 + b1
            bnmean = hprebn.mean(0, keepdim=True)
            bnvar = hprebn.var(0, keepdim=True, unbiased=True)
            bnvar_inv = (bnvar + 1e-5) ** -0.5
            bnraw = (hprebn - bnmean) * bnvar_inv
            hpreact = bngain * bnraw + bnbias
            h = torch.tanh(hpreact)
            logits = h @ W2 + b2
            loss = F.cross_entropy(logits, Yb)
            dlogits = F.softmax(logits, 1)
            dlogits[range(n), Yb] -= 1
            dlogits /= n
            dh = dlogits @ W2.T
            dW2 = h.T @ dlogits
            db2 = dlogits.sum(0)
            dhpreact = (1.0 - h**2) * dh
            dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
            dbnbias = dhpreact.sum(0, keepdim=True)
            dhprebn = (
                bngain * bnvar_inv / n
                * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
            )  # fmt: skip
            dembcat = dhprebn @ W1.T
            dW1 = embcat.T @ dhprebn
            db1 = dhprebn.sum(0)
            demb = dembcat.view(emb.shape)
            dC = torch.zeros_like(C)
            for k in range(Xb.shape[0]):
                for j in range(Xb.shape[1]):
                    ix = Xb[k, j]
                    dC[ix] += demb[k, j]
            grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]
            lr = LR if step < 2 else LR / 10
            for p, grad in zip(parameters, grads):
                p.data += -lr * grad
            values.append(loss.item())
    values += [C.sum().item(), W1.abs().sum().item(), float(C.requires_grad)]
    values += [float(vocab_size)]
    return values
