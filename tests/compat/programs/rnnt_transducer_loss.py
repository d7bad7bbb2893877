"""An RNN-Transducer trained with a transducer loss written in pure PyTorch, as Loren Lugosch's
"Sequence-to-sequence learning with Transducers" tutorial and its many copies write it,
size-reduced (batch 2, at most 6 frames, at most 3 labels, 5 symbols + blank).

The idioms: an ``nn.LSTM(batch_first=True)`` encoder; the prediction network ``nn.Embedding(V
+ 1, H)`` (a start symbol) + ``nn.LSTM`` run on ``F.pad(y, (1, 0), value=start)``; the joint
network ``encoder_out.unsqueeze(2) + predictor_out.unsqueeze(1)`` -> ``torch.tanh`` ->
``nn.Linear`` to ``(B, T, U + 1, V)`` logits; the forward variable filled in place
``log_alpha = torch.zeros(B, T, U + 1)``, ``log_alpha[:, t, u] = log_alpha[:, t - 1, u] +
log_probs[:, t - 1, 0, blank]`` on the first column, ``torch.gather(log_probs[:, t, u - 1],
dim=1, index=y[:, u - 1].view(-1, 1)).reshape(-1)`` for label emissions and
``torch.logsumexp(torch.stack([..., ...]), dim=0)`` where both moves meet, over
``F.log_softmax(joint_out, dim=3)``; the per-utterance end ``log_alpha[b, T[b] - 1, U[b]] +
log_probs[b, T[b] - 1, U[b], blank]`` gathered in a Python loop and ``torch.stack``'d; the loss
``-log_probs.mean()``; the same loss by the anti-diagonal (wavefront) form without in-place
writes, checked equal; one ``torch.optim.Adam`` step; greedy decoding (``argmax`` per frame,
at most ``max_symbols`` labels per frame, the predictor stepped with its ``(h, c)`` state on
each emission).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_FEATS, ENC, PRED, JOINT, VOCAB = 4, 8, 8, 10, 5  # symbols 1..VOCAB, blank = 0
BLANK, START, BATCH, T_MAX, U_MAX, LR, MAX_SYMBOLS = 0, VOCAB + 1, 2, 6, 3, 3e-3, 2


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(N_FEATS, ENC, batch_first=True)
            self.linear = nn.Linear(ENC, JOINT)

        def forward(self, x: Any) -> Any:
            out, _ = self.rnn(x)
            return self.linear(out)

    class Predictor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB + 2, PRED)
            self.rnn = nn.LSTM(PRED, PRED, batch_first=True)
            self.linear = nn.Linear(PRED, JOINT)

        def forward(self, y: Any) -> Any:
            y = F.pad(y, (1, 0), value=START)  # (B, U + 1), start symbol first
            out, _ = self.rnn(self.embed(y))
            return self.linear(out)

        def forward_one_step(self, token: Any, state: Any) -> tuple[Any, Any]:
            out, state = self.rnn(self.embed(token).unsqueeze(1), state)
            return self.linear(out[:, 0]), state

    class Joiner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(JOINT, VOCAB + 1)

        def forward(self, encoder_out: Any, predictor_out: Any) -> Any:
            combined = encoder_out.unsqueeze(2) + predictor_out.unsqueeze(1)  # (B, T, U+1, J)
            return self.linear(torch.tanh(combined))

    class Transducer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.predictor = Predictor()
            self.joiner = Joiner()

        def compute_forward_prob(self, joiner_out: Any, T: list[int], U: list[int], y: Any) -> Any:
            B, T_max, U_max = joiner_out.shape[:3]
            log_probs = F.log_softmax(joiner_out, dim=3)
            log_alpha = torch.zeros(B, T_max, U_max)
            for t in range(T_max):
                for u in range(U_max):
                    if u == 0:
                        if t == 0:
                            log_alpha[:, t, u] = 0.0
                        else:
                            log_alpha[:, t, u] = (
                                log_alpha[:, t - 1, u] + log_probs[:, t - 1, 0, BLANK]
                            )
                    else:
                        emit = torch.gather(
                            log_probs[:, t, u - 1], dim=1, index=y[:, u - 1].view(-1, 1)
                        ).reshape(-1)
                        if t == 0:
                            log_alpha[:, t, u] = log_alpha[:, t, u - 1] + emit
                        else:
                            log_alpha[:, t, u] = torch.logsumexp(
                                torch.stack(
                                    [
                                        log_alpha[:, t - 1, u] + log_probs[:, t - 1, u, BLANK],
                                        log_alpha[:, t, u - 1] + emit,
                                    ]
                                ),
                                dim=0,
                            )
            ends = []
            for b in range(B):
                t, u = T[b] - 1, U[b]
                ends.append(log_alpha[b, t, u] + log_probs[b, t, u, BLANK])
            return torch.stack(ends)

        def forward(self, x: Any, y: Any, T: list[int], U: list[int]) -> Any:
            joiner_out = self.joiner(self.encoder(x), self.predictor(y))
            return -self.compute_forward_prob(joiner_out, T, U, y).mean(), joiner_out

        def greedy_search(self, x: Any, T: int) -> list[int]:
            encoder_out = self.encoder(x)  # (1, T, J)
            token = torch.tensor([START])
            pred, state = self.predictor.forward_one_step(token, None)
            out: list[int] = []
            for t in range(T):
                for _ in range(MAX_SYMBOLS):
                    logits = self.joiner(encoder_out[:, t : t + 1], pred.unsqueeze(1))
                    symbol = int(logits.view(-1).argmax())
                    if symbol == BLANK:
                        break
                    out.append(symbol)
                    pred, state = self.predictor.forward_one_step(torch.tensor([symbol]), state)
            return out

    return Transducer()


def wavefront_log_likelihood(
    torch_like: Any, log_probs: Any, y: Any, T: list[int], U: list[int]
) -> Any:
    """The same recursion without in-place writes: alpha kept per anti-diagonal t + u = n."""
    torch = torch_like
    B, T_max, U1 = log_probs.shape[:3]
    blank = log_probs[..., BLANK]  # (B, T, U + 1)
    emit = torch.gather(log_probs[:, :, :-1], 3, y[:, None, :, None].expand(B, T_max, U1 - 1, 1))
    emit = emit.squeeze(-1)  # (B, T, U)
    neg_inf = torch.full((B,), float("-inf"))
    alpha = {(0, 0): torch.zeros(B)}
    for n in range(1, T_max + U1 - 1):
        for t in range(max(0, n - U1 + 1), min(n, T_max - 1) + 1):
            u = n - t
            from_blank = alpha[(t - 1, u)] + blank[:, t - 1, u] if t > 0 else neg_inf
            from_emit = alpha[(t, u - 1)] + emit[:, t, u - 1] if u > 0 else neg_inf
            alpha[(t, u)] = torch.logaddexp(from_blank, from_emit)
    return torch.stack([alpha[(T[b] - 1, U[b])][b] + blank[b, T[b] - 1, U[b]] for b in range(B)])


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(17)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    x = as_tensor(torch, rng.standard_normal((BATCH, T_MAX, N_FEATS)))
    T, U = [T_MAX, 4], [U_MAX, 2]
    y = torch.tensor([[2, 4, 1], [3, 5, 0]])  # the second utterance padded with 0

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    loss, joiner_out = model(x, y, T, U)
    optimizer.zero_grad()
    loss.backward()
    grad_norm = sum(p.grad.pow(2).sum() for p in model.parameters()).sqrt()
    values = [loss.item(), grad_norm.item(), *joiner_out.shape]
    values += model.joiner.linear.bias.grad.tolist()
    with torch.no_grad():
        wave = wavefront_log_likelihood(torch, F.log_softmax(joiner_out, dim=3), y, T, U)
        values += wave.tolist() + [abs(-wave.mean().item() - loss.item())]
    optimizer.step()

    # a few more steps on the first utterance alone, then greedy decoding
    for _ in range(3):
        loss, _ = model(x[:1], y[:1], T[:1], U[:1])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item()]
    model.eval()
    with torch.no_grad():
        for b in range(BATCH):
            hyp = model.greedy_search(x[b : b + 1], T[b])
            values += [len(hyp), *hyp]
    return values
