"""TTT-Linear (Sun et al., "Learning to (Learn at Test Time): RNNs with Expressive Hidden
States", 2024, and the ``ttt-lm-pytorch`` reference's primal form): a sequence layer whose
hidden state is the weight of an inner linear model, trained by one gradient step per
mini-batch of tokens on a self-supervised reconstruction loss, the whole inner loop
differentiated by the outer optimizer.

The idioms kept: the views ``XK = self.theta_K(x)``, ``XV = self.theta_V(x)``, ``XQ =
self.theta_Q(x)`` reshaped into heads; the inner model ``f(x) = x + LN(x @ W + b)`` with the
reference's per-head layer norm written out (``mu = x.mean(dim=-1, keepdim=True)``,
``var = x.var(dim=-1, keepdim=True, unbiased=False)``, ``std = torch.sqrt(var + eps)``);
the reconstruction target ``XV - XK``; the inner gradient ``torch.autograd.grad(loss, (W, b),
create_graph=self.training)``; the learnable, token-dependent inner learning rate
``eta = self.base_lr * torch.sigmoid(self.learnable_lr(x)) / head_dim`` averaged over the
mini-batch; ``W = W - eta * grad_W`` carried across mini-batches with ``torch.split(...,
mini_batch_size, dim=1)`` and the outputs joined with ``torch.cat``; the initial state
``W0 = nn.Parameter(torch.normal(0, 0.02, size=(heads, head_dim, head_dim)))`` learned by the
outer loop; an ``nn.GELU(approximate="tanh")`` MLP after the layer; the inner losses before
and after the step logged; evaluation without ``torch.no_grad()`` (the inner step needs
gradients) and with ``create_graph=False``.

Changed: width 16, 2 heads of 8, sequences of 8 in mini-batches of 4, batches of 2, one layer,
3 AdamW steps of next-token prediction over 9 symbols.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, HEADS, SEQ, MINI, BATCH, VOCAB, STEPS, EPS = 16, 2, 8, 4, 2, 9, 3, 1e-6
HEAD_DIM = DIM // HEADS


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    def ln(x: Any, gamma: Any, beta: Any) -> Any:
        mu = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        std = torch.sqrt(var + EPS)
        return gamma * (x - mu) / std + beta

    class TTTLinear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.theta_K = nn.Linear(DIM, DIM, bias=False)
            self.theta_V = nn.Linear(DIM, DIM, bias=False)
            self.theta_Q = nn.Linear(DIM, DIM, bias=False)
            self.learnable_lr = nn.Linear(DIM, HEADS)
            self.W0 = nn.Parameter(torch.normal(0, 0.02, size=(HEADS, HEAD_DIM, HEAD_DIM)))
            self.b0 = nn.Parameter(torch.zeros(HEADS, 1, HEAD_DIM))
            self.ln_weight = nn.Parameter(torch.ones(HEADS, 1, HEAD_DIM))
            self.ln_bias = nn.Parameter(torch.zeros(HEADS, 1, HEAD_DIM))
            self.o_proj = nn.Linear(DIM, DIM, bias=False)
            self.base_lr = 1.0
            self.inner_losses: list[float] = []

        def heads(self, t: Any) -> Any:
            b, n, _ = t.shape
            return t.view(b, n, HEADS, HEAD_DIM).transpose(1, 2)

        def forward(self, x: Any) -> Any:
            b, n, _ = x.shape
            XK, XV, XQ = (self.heads(p(x)) for p in (self.theta_K, self.theta_V, self.theta_Q))
            eta = self.base_lr * torch.sigmoid(self.learnable_lr(x)).transpose(1, 2) / HEAD_DIM
            W = self.W0.expand(b, -1, -1, -1)
            bias = self.b0.expand(b, -1, -1, -1)
            outs = []
            self.inner_losses = []
            chunks = zip(*(torch.split(t, MINI, dim=2) for t in (XK, XV, XQ)),
                         torch.split(eta, MINI, dim=2), strict=True)  # fmt: skip
            for xk, xv, xq, lr in chunks:
                pred = ln(xk @ W + bias, self.ln_weight, self.ln_bias)
                loss = ((pred - (xv - xk)) ** 2).mean(dim=(-2, -1)).sum()
                gW, gb = torch.autograd.grad(loss, (W, bias), create_graph=self.training)
                step = lr.mean(dim=-1)[..., None, None]
                W, bias = W - step * gW, bias - step * gb
                after = ln(xk @ W + bias, self.ln_weight, self.ln_bias)
                self.inner_losses += [loss.item(), ((after - (xv - xk)) ** 2).mean().item()]
                outs.append(xq + ln(xq @ W + bias, self.ln_weight, self.ln_bias))
            z = torch.cat(outs, dim=2).transpose(1, 2).reshape(b, n, DIM)
            return self.o_proj(z)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM)
            self.norm1 = nn.LayerNorm(DIM)
            self.ttt = TTTLinear()
            self.norm2 = nn.LayerNorm(DIM)
            self.mlp = nn.Sequential(nn.Linear(DIM, 2 * DIM), nn.GELU(approximate="tanh"),
                                     nn.Linear(2 * DIM, DIM))  # fmt: skip
            self.head = nn.Linear(DIM, VOCAB)

        def forward(self, tokens: Any) -> Any:
            h = self.embed(tokens)
            h = h + self.ttt(self.norm1(h))
            return self.head(h + self.mlp(self.norm2(h)))

    return Model()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(43)
    values: list[float] = []
    for _ in range(STEPS):
        start = rng.integers(0, VOCAB, (BATCH, 1))
        tokens = as_tensor(torch, (start + 2 * np.arange(SEQ + 1)) % VOCAB)
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.ttt.W0.grad.norm().item()] + model.ttt.inner_losses
    model.eval()  # the inner steps still need gradients: no ``no_grad`` here, no graph kept
    logits = model(tokens[:, :-1])
    return (
        values + [logits.sum().item(), float(logits.grad_fn is not None)] + (model.ttt.inner_losses)
    )
