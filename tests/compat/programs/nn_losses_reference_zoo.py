"""The less common loss modules of ``torch.nn``, each called as its reference page's example
writes it (https://pytorch.org/docs/stable/nn.html#loss-functions): ``MultiLabelSoftMarginLoss``
(with ``weight``), ``MultiLabelMarginLoss`` (targets ``-1``-terminated, the page's ``y =
torch.LongTensor([[3, 0, -1, 1]])``), ``MultiMarginLoss(p=2, margin=0.5, weight=...)``,
``HingeEmbeddingLoss(margin=2.0)``, ``SoftMarginLoss``, ``PoissonNLLLoss()`` on log-rates and
``PoissonNLLLoss(log_input=False, full=True)`` on rates (Stirling term),
``KLDivLoss(reduction="batchmean", log_target=True)``, ``MarginRankingLoss`` and
``CosineEmbeddingLoss(margin=0.2, reduction="sum")``; the functional forms
``F.multilabel_soft_margin_loss``, ``F.multi_margin_loss`` and ``F.poisson_nll_loss`` too.

Changed: one linear encoder shared by all the heads, batch of 6, four Adam steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

B, D, C = 6, 5, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(D, 16), nn.Tanh(), nn.Linear(16, C))


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(11)
    class_weight = torch.tensor([1.0, 2.0, 0.5, 1.5])
    losses = [
        nn.MultiLabelSoftMarginLoss(weight=class_weight),
        nn.MultiLabelMarginLoss(),
        nn.MultiMarginLoss(p=2, margin=0.5, weight=class_weight),
        nn.HingeEmbeddingLoss(margin=2.0),
        nn.SoftMarginLoss(),
        nn.PoissonNLLLoss(),
        nn.PoissonNLLLoss(log_input=False, full=True),
        nn.KLDivLoss(reduction="batchmean", log_target=True),
        nn.MarginRankingLoss(margin=0.1),
        nn.CosineEmbeddingLoss(margin=0.2, reduction="sum"),
    ]
    values: list[float] = []
    y_ml = torch.LongTensor([[3, 0, -1, 1]] * B)
    for _ in range(4):
        x = as_tensor(torch_like, rng.standard_normal((B, D)))
        out = model(x)
        multi_hot = as_tensor(torch_like, rng.integers(0, 2, (B, C)).astype(np.float64))
        cls = as_tensor(torch_like, rng.integers(0, C, B))
        sign = as_tensor(torch_like, rng.choice([-1.0, 1.0], (B, C)))
        counts = as_tensor(torch_like, rng.poisson(2.0, (B, C)).astype(np.float64))
        target_logp = torch.log_softmax(as_tensor(torch_like, rng.standard_normal((B, C))), 1)
        terms = [
            losses[0](out, multi_hot),
            losses[1](out, y_ml),
            losses[2](out, cls),
            losses[3](out.pow(2).sum(1), sign[:, 0]),
            losses[4](out, sign),
            losses[5](out, counts),
            losses[6](F.softplus(out) + 1e-3, counts),
            losses[7](F.log_softmax(out, dim=1), target_logp),
            losses[8](out[:, 0], out[:, 1], sign[:, 1]),
            losses[9](out[:, :2], out[:, 2:], sign[:, 2]),
            F.multilabel_soft_margin_loss(out, multi_hot, reduction="sum"),
            F.multi_margin_loss(out, cls, reduction="none").mean(),
            F.poisson_nll_loss(out.exp(), counts, log_input=False, eps=1e-6),
        ]
        values.extend(t.item() for t in terms)
        loss = torch.stack(terms).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    return values
