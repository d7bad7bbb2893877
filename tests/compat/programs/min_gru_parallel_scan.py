"""minGRU and minLSTM ("Were RNNs All We Needed?", Feng et al. 2024) with Heinsen's log-space
parallel scan, as the reference code and lucidrains/minGRU-pytorch write them, size-reduced.

The idioms: ``parallel_scan_log(log_coeffs, log_values)`` as ``a_star = F.pad(torch.cumsum(
log_coeffs, dim=1), (0, 0, 1, 0))``, ``log_h0_plus_b_star = torch.logcumsumexp(log_values -
a_star, dim=1)``, ``log_h = a_star + log_h0_plus_b_star`` and ``torch.exp(log_h)[:, 1:]`` (the
paper's form, used by minLSTM) and lucidrains' ``heinsen_associative_scan_log``
(``log_coeffs.cumsum(dim=1)``, ``(log_values - a_star).logcumsumexp(dim=1)``, ``log_h.exp()``,
used by minGRU); the positive activation ``g(x) = torch.where(x >= 0, x + 0.5,
torch.sigmoid(x))`` and its log ``log_g(x) = torch.where(x >= 0, (F.relu(x) + 0.5).log(),
-F.softplus(-x))``; minGRU's ``hidden, gate = self.to_hidden_and_gate(x).chunk(2, dim=-1)``,
``log_coeffs = -F.softplus(gate)``, ``log_z = -F.softplus(-gate)``, ``log_tilde_h =
log_g(hidden)``, the initial state entering as ``torch.cat((prev_hidden.log(), log_values),
dim=1)`` with ``log_coeffs = F.pad(log_coeffs, (0, 0, 1, 0))``; minLSTM's normalised gates
``diff = F.softplus(-f_gate) - F.softplus(-i_gate)``, ``log_f = -F.softplus(diff)``, ``log_i =
-F.softplus(-diff)``; the sequential mode ``h_t = torch.lerp(h_prev, g(hidden), z)`` that must
equal the parallel scan (checked with ``torch.allclose``), the ``next_prev_hidden = out[:, -1:]``
of lucidrains' ``return_next_prev_hidden``; a small language model over ``nn.Embedding`` with
``nn.RMSNorm`` pre-norm residual blocks, cross-entropy via ``F.cross_entropy(logits.transpose(
1, 2), labels)``, and a few AdamW steps with ``clip_grad_norm_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

VOCAB, DIM, EXPANSION, DEPTH, BATCH, SEQ, STEPS, LR = 11, 8, 1.5, 2, 3, 7, 4, 3e-3


def parallel_scan_log(torch_like: Any, log_coeffs: Any, log_values: Any) -> Any:
    # log_coeffs: (batch_size, seq_len, input_size)
    # log_values: (batch_size, seq_len + 1, input_size)
    torch = torch_like
    F = torch_like.nn.functional
    a_star = F.pad(torch.cumsum(log_coeffs, dim=1), (0, 0, 1, 0))
    log_h0_plus_b_star = torch.logcumsumexp(log_values - a_star, dim=1)
    log_h = a_star + log_h0_plus_b_star
    return torch.exp(log_h)[:, 1:]


def heinsen_associative_scan_log(log_coeffs: Any, log_values: Any) -> Any:
    """lucidrains' form: no padding, the initial state (if any) is the first row of both."""
    a_star = log_coeffs.cumsum(dim=1)
    log_h0_plus_b_star = (log_values - a_star).logcumsumexp(dim=1)
    log_h = a_star + log_h0_plus_b_star
    return log_h.exp()


def g(torch_like: Any, x: Any) -> Any:
    return torch_like.where(x >= 0, x + 0.5, torch_like.sigmoid(x))


def log_g(torch_like: Any, x: Any) -> Any:
    F = torch_like.nn.functional
    return torch_like.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class MinGRU(nn.Module):
        def __init__(self, dim: int, expansion_factor: float = 1.0) -> None:
            super().__init__()
            dim_inner = int(dim * expansion_factor)
            self.to_hidden_and_gate = nn.Linear(dim, dim_inner * 2, bias=False)
            self.to_out = (
                nn.Linear(dim_inner, dim, bias=False) if expansion_factor != 1.0 else nn.Identity()
            )

        def forward(
            self,
            x: Any,
            prev_hidden: Any = None,
            return_next_prev_hidden: bool = False,
            sequential: bool = False,
        ) -> Any:
            hidden, gate = self.to_hidden_and_gate(x).chunk(2, dim=-1)
            if sequential:
                hidden_state = g(torch, hidden[:, :1]) * 0 if prev_hidden is None else prev_hidden
                outs = []
                for t in range(x.shape[1]):
                    z = gate[:, t : t + 1].sigmoid()
                    hidden_state = torch.lerp(hidden_state, g(torch, hidden[:, t : t + 1]), z)
                    outs.append(hidden_state)
                out = torch.cat(outs, dim=1)
            else:
                log_coeffs = -F.softplus(gate)
                log_z = -F.softplus(-gate)
                log_tilde_h = log_g(torch, hidden)
                log_values = log_z + log_tilde_h
                if prev_hidden is not None:
                    log_values = torch.cat((prev_hidden.log(), log_values), dim=1)
                    log_coeffs = F.pad(log_coeffs, (0, 0, 1, 0))
                out = heinsen_associative_scan_log(log_coeffs, log_values)
                out = out[:, -x.shape[1] :]
            next_prev_hidden = out[:, -1:]
            out = self.to_out(out)
            if not return_next_prev_hidden:
                return out
            return out, next_prev_hidden

    class MinLSTM(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.linear_f = nn.Linear(dim, dim)
            self.linear_i = nn.Linear(dim, dim)
            self.linear_h = nn.Linear(dim, dim)

        def forward(self, x_t: Any, h_0: Any) -> Any:
            diff = F.softplus(-self.linear_f(x_t)) - F.softplus(-self.linear_i(x_t))
            log_f = -F.softplus(diff)
            log_i = -F.softplus(-diff)
            log_h_0 = log_g(torch, h_0)
            log_tilde_h = log_g(torch, self.linear_h(x_t))
            h = parallel_scan_log(torch, log_f, torch.cat([log_h_0, log_i + log_tilde_h], dim=1))
            return h

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.RMSNorm(DIM)
            self.rnn = MinGRU(DIM, EXPANSION)
            self.ff_norm = nn.RMSNorm(DIM)
            self.ff = nn.Sequential(nn.Linear(DIM, DIM * 2), nn.GELU(), nn.Linear(DIM * 2, DIM))

        def forward(self, x: Any) -> Any:
            x = self.rnn(self.norm(x)) + x
            return self.ff(self.ff_norm(x)) + x

    class MinGRULM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token_emb = nn.Embedding(VOCAB, DIM)
            self.layers = nn.ModuleList([Block() for _ in range(DEPTH)])
            self.lstm = MinLSTM(DIM)
            self.norm = nn.RMSNorm(DIM)
            self.to_logits = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, x: Any, return_loss: bool = False) -> Any:
            if return_loss:
                x, labels = x[:, :-1], x[:, 1:]
            x = self.token_emb(x)
            for layer in self.layers:
                x = layer(x)
            h0 = torch.full_like(x[:, :1], 0.25)
            x = self.lstm(x, h0) + x
            logits = self.to_logits(self.norm(x))
            if not return_loss:
                return logits
            return F.cross_entropy(logits.transpose(1, 2), labels)

    return MinGRULM()


def scan_facts(torch_like: Any, model: Any, x: Any) -> list[float]:
    """The parallel scan equals the sequential recurrence, with and without an initial state;
    running the sequence in two halves with the carried state equals one pass."""
    torch = torch_like
    rnn = model.layers[0].rnn
    with torch.no_grad():
        parallel = rnn(x)
        sequential = rnn(x, sequential=True)
        h0 = torch.full((x.shape[0], 1, rnn.to_hidden_and_gate.out_features // 2), 0.3)
        par_h0 = rnn(x, prev_hidden=h0)
        seq_h0 = rnn(x, prev_hidden=h0, sequential=True)
        first, carry = rnn(x[:, :3], return_next_prev_hidden=True)
        second = rnn(x[:, 3:], prev_hidden=carry)
    split = torch.cat([first, second], dim=1)
    return [
        float(torch.allclose(parallel, sequential, atol=1e-12)),
        float(torch.allclose(par_h0, seq_h0, atol=1e-12)),
        float(torch.allclose(split, parallel, atol=1e-12)),
        (parallel - sequential).abs().max().item() < 1e-12,
        *carry.shape,
        *parallel.flatten()[:10].tolist(),
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    x = as_tensor(torch_like, rng.standard_normal((BATCH, SEQ, DIM)))
    values = scan_facts(torch_like, model, x)
    probe = as_tensor(torch_like, np.array([-3.0, -0.5, 0.0, 0.25, 2.0]))
    values += log_g(torch_like, probe).tolist() + g(torch_like, probe).log().tolist()

    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    for _step in range(STEPS):
        tokens = as_tensor(torch_like, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        optimizer.zero_grad()
        loss = model(tokens, return_loss=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item(), norm.item()]
    with torch.no_grad():
        logits = model(as_tensor(torch_like, rng.integers(0, VOCAB, (1, SEQ))))
    values += logits[0, -1].softmax(-1).tolist()
    return values


def check(values: list[float]) -> None:
    """The parallel scan matched the sequential loop and the split run in both frameworks."""
    assert values[:4] == [1.0, 1.0, 1.0, 1.0], values[:4]
