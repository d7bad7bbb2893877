"""A discrete hidden Markov model and GloVe, as PyTorch HMM tutorials (e.g. "Implementing a
Hidden Markov Model in PyTorch", lorenlugosch's HMM notebook) and the common GloVe ports
(``glove-pytorch``, "GloVe from scratch in PyTorch") write them, size-reduced.

HMM idioms: log-space parameters normalised by ``log_softmax``; the forward algorithm with
``torch.logsumexp(log_alpha[:, None] + log_A, dim=0)`` (an ``(N, 1) + (N, N)`` broadcast), the
backward algorithm ``torch.logsumexp(log_A + (log_B[:, o] + log_beta)[None, :], dim=1)``,
posterior marginals ``log_alpha + log_beta - log_Z``; Viterbi with ``torch.max(scores, dim=0)``
returning ``values``/``indices``, the backpointers stacked and walked back with
``torch.gather``; one Baum-Welch EM step (pairwise posteriors ``xi``, expected counts,
parameters normalised by ``.sum(-1, keepdim=True)``) whose likelihood must not fall; and
``torch.distributions.Categorical`` for the emission log probabilities.

GloVe idioms: a co-occurrence matrix built with ``torch.sparse_coo_tensor(indices, values,
size, check_invariants=True).coalesce()`` (duplicate pairs summed; the explicit opt-in that
torch 2.13's "Sparse invariant checks are implicitly disabled" warning asks for) and read
back through ``.indices()`` / ``.values()``, the weighting ``torch.clamp((x / x_max) **
alpha, max=1)``, ``nn.Embedding`` tables for ``w``, ``w~`` and the two biases, the loss
``torch.sum(weight * (dot + b_i + b_j - torch.log(x_ij)) ** 2)``, ``optim.Adagrad``, and the
final embeddings ``W + W~``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

STATES, SYMBOLS, T = 3, 4, 7
VOCAB, DIM, WINDOW, X_MAX, ALPHA, GLOVE_STEPS = 8, 4, 2, 4.0, 0.75, 4
CORPUS = [0, 1, 2, 3, 1, 2, 4, 5, 6, 2, 1, 7, 3, 0, 1, 2, 5, 6, 4, 3]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class GloVe(nn.Module):
        def __init__(self, vocab_size: int, embedding_dim: int) -> None:
            super().__init__()
            self.w = nn.Embedding(vocab_size, embedding_dim)
            self.w_tilde = nn.Embedding(vocab_size, embedding_dim)
            self.b = nn.Embedding(vocab_size, 1)
            self.b_tilde = nn.Embedding(vocab_size, 1)
            for emb in (self.w, self.w_tilde, self.b, self.b_tilde):
                nn.init.uniform_(emb.weight, -0.5, 0.5)

        def forward(self, i: Any, j: Any) -> Any:
            dot = (self.w(i) * self.w_tilde(j)).sum(dim=1)
            return dot + self.b(i).squeeze(1) + self.b_tilde(j).squeeze(1)

    return GloVe(VOCAB, DIM)


def hmm_params(torch_like: Any, rng: np.random.Generator) -> tuple[Any, Any, Any]:
    torch = torch_like
    log_pi = torch.log_softmax(as_tensor(torch, rng.standard_normal(STATES)), dim=0)
    log_A = torch.log_softmax(as_tensor(torch, rng.standard_normal((STATES, STATES))), dim=-1)
    log_B = torch.log_softmax(as_tensor(torch, rng.standard_normal((STATES, SYMBOLS))), dim=-1)
    return log_pi, log_A, log_B


def forward_backward(torch_like: Any, obs: Any, log_pi: Any, log_A: Any, log_B: Any) -> Any:
    torch = torch_like
    n = len(obs)
    log_alpha = torch.zeros(n, STATES)
    log_alpha[0] = log_pi + log_B[:, obs[0]]
    for t in range(1, n):
        log_alpha[t] = torch.logsumexp(log_alpha[t - 1][:, None] + log_A, dim=0) + log_B[:, obs[t]]
    log_beta = torch.zeros(n, STATES)
    for t in range(n - 2, -1, -1):
        log_beta[t] = torch.logsumexp(log_A + (log_B[:, obs[t + 1]] + log_beta[t + 1])[None, :], 1)
    log_Z = torch.logsumexp(log_alpha[-1], dim=0)
    return log_alpha, log_beta, log_Z


def viterbi(torch_like: Any, obs: Any, log_pi: Any, log_A: Any, log_B: Any) -> tuple[Any, Any]:
    torch = torch_like
    delta = log_pi + log_B[:, obs[0]]
    psi = []
    for t in range(1, len(obs)):
        scores = delta[:, None] + log_A  # scores[i, j]: best path ending in i, then i -> j
        best = torch.max(scores, dim=0)
        psi.append(best.indices)
        delta = best.values + log_B[:, obs[t]]
    best_score, last = delta.max(dim=0)
    path = [last.view(1)]
    for back in reversed(psi):
        path.append(torch.gather(back, 0, path[-1]))
    return best_score, torch.cat(path[::-1])


def baum_welch_step(torch_like: Any, obs: Any, log_pi: Any, log_A: Any, log_B: Any) -> Any:
    torch = torch_like
    log_alpha, log_beta, log_Z = forward_backward(torch, obs, log_pi, log_A, log_B)
    gamma = torch.exp(log_alpha + log_beta - log_Z)
    log_xi = (
        log_alpha[:-1, :, None]
        + log_A[None]
        + (log_B[:, obs[1:]].T + log_beta[1:])[:, None, :]
        - log_Z
    )
    xi = log_xi.exp()
    pi = gamma[0] / gamma[0].sum()
    A = xi.sum(0)
    A = A / A.sum(-1, keepdim=True)
    onehot = torch.nn.functional.one_hot(obs, SYMBOLS).to(gamma.dtype)
    B = gamma.T @ onehot
    B = B / B.sum(-1, keepdim=True)
    return pi.log(), A.log(), B.log(), gamma, xi


def hmm(torch_like: Any) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    log_pi, log_A, log_B = hmm_params(torch, rng)
    obs = torch.from_numpy(rng.integers(0, SYMBOLS, T))
    log_alpha, log_beta, log_Z = forward_backward(torch, obs, log_pi, log_A, log_B)
    posterior = torch.exp(log_alpha + log_beta - log_Z)
    emissions = torch.distributions.Categorical(logits=log_B)
    values = [log_Z.item(), (posterior.sum(1) - 1).abs().max().item()]
    values += posterior.flatten().tolist()
    values += [torch.logsumexp(log_pi + log_B[:, obs[0]] + log_beta[0], 0).item()]
    values += emissions.log_prob(obs[:, None]).flatten().tolist()
    score, path = viterbi(torch, obs, log_pi, log_A, log_B)
    values += [score.item(), *path.tolist(), float(path.dtype == torch.int64)]
    likelihoods = [log_Z.item()]
    for _em in range(2):
        log_pi, log_A, log_B, gamma, xi = baum_welch_step(torch, obs, log_pi, log_A, log_B)
        likelihoods.append(forward_backward(torch, obs, log_pi, log_A, log_B)[2].item())
        values += [(xi.sum(2) - gamma[:-1]).abs().max().item()]
    values += likelihoods + [float(likelihoods[2] >= likelihoods[1] >= likelihoods[0])]
    values += log_A.exp().flatten().tolist() + log_B.exp().flatten().tolist()
    return values


def cooccurrence(torch_like: Any) -> Any:
    torch = torch_like
    rows, cols, weights = [], [], []
    for centre, word in enumerate(CORPUS):
        for offset in range(1, WINDOW + 1):
            if centre + offset < len(CORPUS):
                other = CORPUS[centre + offset]
                rows += [word, other]
                cols += [other, word]
                weights += [1.0 / offset] * 2
    indices = torch.tensor([rows, cols])
    # explicit opt-in: torch warns once when check_invariants is left implicit
    matrix = torch.sparse_coo_tensor(
        indices, torch.tensor(weights), (VOCAB, VOCAB), check_invariants=True
    )
    return matrix.coalesce()


def glove(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    X = cooccurrence(torch)
    i_idx, j_idx = X.indices()
    x_ij = X.values()
    values = [float(X.is_coalesced()), float(X._nnz()), x_ij.sum().item()]
    values += [(X.to_dense() - X.to_dense().t()).abs().max().item()]
    weight = torch.clamp((x_ij / X_MAX) ** ALPHA, max=1)
    values += [weight.sum().item(), float((weight == 1).sum())]
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.05)
    for _step in range(GLOVE_STEPS):
        optimizer.zero_grad()
        pred = model(i_idx, j_idx)
        loss = torch.sum(weight * (pred - torch.log(x_ij)) ** 2)
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.w.weight.grad.norm().item()]
    embeddings = model.w.weight.data + model.w_tilde.weight.data
    values += embeddings.flatten().tolist()
    sims = torch.nn.functional.cosine_similarity(embeddings[1:2], embeddings)
    return values + sims.tolist()


def run(torch_like: Any, init: dict) -> list[float]:
    return hmm(torch_like) + glove(torch_like, init)
