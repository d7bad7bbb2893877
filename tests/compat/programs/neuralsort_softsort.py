"""Differentiable sorting, size-reduced: ermongroup/neuralsort's ``NeuralSort`` and
sprillo/softsort's ``SoftSort`` relaxations of the permutation matrix, trained on the
papers' "sort N numbers" task (a scorer network reads each item, the relaxed permutation
sorts them, and the loss compares the soft-sorted items to the true order).

The idioms: NeuralSort's ``scores = scores.unsqueeze(-1)``, ``one =
torch.FloatTensor(dim, 1).fill_(1)``, ``A_scores = torch.abs(scores - scores.permute(0, 2,
1))``, ``B = torch.matmul(A_scores, torch.matmul(one, torch.transpose(one, 0, 1)))``,
``scaling = (dim + 1 - 2 * (torch.arange(dim) + 1)).type(torch.FloatTensor)``, ``C =
torch.matmul(scores, scaling.unsqueeze(0))``, ``P_max = (C-B).permute(0, 2, 1)``,
``torch.nn.Softmax(-1)``, the hard (straight-through) branch's ``torch.arange(bsize)
.repeat([1, dim]).view(dim, bsize).transpose(dim0=1, dim1=0).flatten().type(
torch.LongTensor)``, ``torch.argmax(P_hat, dim=-1).flatten()``, ``brc_idx =
torch.stack((b_idx, r_idx, c_idx))``, ``P[brc_idx[0], brc_idx[1], brc_idx[2]] = 1`` and
``(P-P_hat).detach() + P_hat``; SoftSort's ``scores.sort(descending=True, dim=1)[0]``,
``(scores.transpose(1, 2) - sorted).abs().pow(self.pow).neg() / self.tau``,
``pairwise_diff.softmax(-1)``, ``P.scatter_(-1, P_hat.topk(1, -1)[1], value=1)``; the
sorting losses (``torch.bmm(P_hat, x)``, the true permutation from ``torch.argsort(
..., descending=True)`` and ``F.one_hot``, a cross-entropy on the rows ``-(P_true *
torch.log(P_hat + 1e-20)).sum(-1).mean()``), the rank accuracy ``(P_hat.argmax(-1) ==
true_perm).all(-1).float().mean()`` and a Spearman-style rank correlation via a double
``argsort``.

Changed: MNIST digit images -> 6-d feature vectors, n = 5 items, a few Adam steps; the data
from ``torch.randn`` (both libraries reproduce PyTorch's CPU generator).
"""

from __future__ import annotations

from typing import Any

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
N_ITEMS, FEAT, BATCH, STEPS = 5, 6, 4, 3


def make_model(torch_like: Any) -> Any:
    """The per-item scorer (a small MLP reading one item's features)."""
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(FEAT, 16), nn.ReLU(), nn.Linear(16, 1))


def neural_sort_cls(torch_like: Any) -> Any:
    torch = torch_like

    class NeuralSort(torch.nn.Module):
        def __init__(self, tau: float = 1.0, hard: bool = False) -> None:
            super().__init__()
            self.hard = hard
            self.tau = tau

        def forward(self, scores: Any) -> Any:
            """
            scores: elements to be sorted. Typical shape: batch_size x n
            """
            scores = scores.unsqueeze(-1)
            bsize = scores.size()[0]
            dim = scores.size()[1]
            one = torch.FloatTensor(dim, 1).fill_(1)

            A_scores = torch.abs(scores - scores.permute(0, 2, 1))
            B = torch.matmul(A_scores, torch.matmul(one, torch.transpose(one, 0, 1)))
            scaling = (dim + 1 - 2 * (torch.arange(dim) + 1)).type(torch.FloatTensor)
            C = torch.matmul(scores, scaling.unsqueeze(0))

            P_max = (C - B).permute(0, 2, 1)
            sm = torch.nn.Softmax(-1)
            P_hat = sm(P_max / self.tau)

            if self.hard:
                P = torch.zeros_like(P_hat)
                b_idx = (
                    torch.arange(bsize)
                    .repeat([1, dim])
                    .view(dim, bsize)
                    .transpose(dim0=1, dim1=0)
                    .flatten()
                    .type(torch.LongTensor)
                )
                r_idx = torch.arange(dim).repeat([bsize, 1]).flatten().type(torch.LongTensor)
                c_idx = torch.argmax(P_hat, dim=-1).flatten()  # this is on cuda
                brc_idx = torch.stack((b_idx, r_idx, c_idx))

                P[brc_idx[0], brc_idx[1], brc_idx[2]] = 1
                P_hat = (P - P_hat).detach() + P_hat
            return P_hat

    return NeuralSort


def soft_sort_cls(torch_like: Any) -> Any:
    torch = torch_like

    class SoftSort(torch.nn.Module):
        def __init__(self, tau: float = 1.0, hard: bool = False, pow: float = 1.0) -> None:
            super().__init__()
            self.hard = hard
            self.tau = tau
            self.pow = pow

        def forward(self, scores: Any) -> Any:
            """
            scores: elements to be sorted. Typical shape: batch_size x n
            """
            scores = scores.unsqueeze(-1)
            sorted = scores.sort(descending=True, dim=1)[0]
            pairwise_diff = (scores.transpose(1, 2) - sorted).abs().pow(self.pow).neg() / self.tau
            P_hat = pairwise_diff.softmax(-1)

            if self.hard:
                P = torch.zeros_like(P_hat)
                P.scatter_(-1, P_hat.topk(1, -1)[1], value=1)
                P_hat = (P - P_hat).detach() + P_hat
            return P_hat

    return SoftSort


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    scorer = make_model(torch_like)
    load_numpy_state(torch_like, scorer, init)
    torch.manual_seed(5)
    direction = torch.randn(FEAT)
    sorters = [
        neural_sort_cls(torch)(tau=1.0),
        neural_sort_cls(torch)(tau=0.5, hard=True),
        soft_sort_cls(torch)(tau=1.0),
        soft_sort_cls(torch)(tau=0.5, hard=True, pow=2.0),
    ]
    optimizer = torch.optim.Adam(scorer.parameters(), lr=1e-2)
    values: list[float] = []
    for step in range(STEPS * len(sorters)):
        sorter = sorters[step % len(sorters)]
        x = torch.randn(BATCH, N_ITEMS, FEAT)
        true_key = x @ direction
        true_perm = torch.argsort(true_key, dim=-1, descending=True)
        P_true = F.one_hot(true_perm, N_ITEMS).float()
        scores = scorer(x.view(-1, FEAT)).view(BATCH, N_ITEMS)
        P_hat = sorter(scores)
        ce = -(P_true * torch.log(P_hat + 1e-20)).sum(-1).mean()
        sorted_x = torch.bmm(P_hat, x)
        target_x = torch.gather(x, 1, true_perm.unsqueeze(-1).expand(-1, -1, FEAT))
        mse = F.mse_loss(sorted_x, target_x)
        loss = ce + mse
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        acc = (P_hat.argmax(-1) == true_perm).all(-1).float().mean()
        ranks = scores.argsort(-1).argsort(-1).float()
        true_ranks = true_key.argsort(-1).argsort(-1).float()
        rc = ranks - ranks.mean(-1, keepdim=True)
        tc = true_ranks - true_ranks.mean(-1, keepdim=True)
        spearman = (rc * tc).sum(-1) / (rc.norm(dim=-1) * tc.norm(dim=-1))
        values += [loss.item(), ce.item(), mse.item(), acc.item(), spearman.mean().item()]
        values += [P_hat.sum(-1).mean().item(), P_hat.detach().max().item()]
    return values
