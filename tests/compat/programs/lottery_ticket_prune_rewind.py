"""Iterative magnitude pruning with weight rewinding (the lottery-ticket procedure of Frankle &
Carbin, as open-source re-implementations write it with ``torch.nn.utils.prune``, e.g. the
``prune.global_unstructured`` + rewinding loops of the "Lottery Ticket Hypothesis" PyTorch
repositories), with the pruning APIs the pruning tutorial leaves out: ``prune.global_unstructured(
parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.3,
importance_scores=scores)`` (movement-style scores ``|w * grad|``), ``prune.l1_unstructured(...,
importance_scores=...)``, the rewind ``module.weight_orig.data.copy_(initial_state[name])``
(the mask kept in ``weight_mask``), ``prune.custom_from_mask(module, name="weight",
mask=...)`` to transfer a winning ticket to a fresh network, ``prune.is_pruned(model)``,
``prune.random_structured(module, "weight", amount=0.25, dim=1)`` (seeded) and
``prune.identity(module, "bias")``, the sparsity count ``float(torch.sum(module.weight == 0))``
and ``prune.remove`` at the end.

Changed: a 6-12-12-3 MLP on a 30-sample toy problem, two pruning rounds of three Adam steps.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 3)
    )


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    prune = importlib.import_module(f"{torch_like.__name__}.nn.utils.prune")  # import ... as prune
    rng = np.random.default_rng(19)
    x = as_tensor(torch_like, rng.standard_normal((30, 6)))
    y = as_tensor(torch_like, rng.integers(0, 3, 30))
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    initial_state = {i: m.weight.detach().clone() for i, m in enumerate(linears)}
    values: list[float] = [float(prune.is_pruned(model))]

    def train(steps: int) -> None:
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        for _ in range(steps):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            values.append(loss.item())

    train(3)
    for round_ in range(2):
        # movement-style importance from one more gradient
        model.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        parameters_to_prune = [(m, "weight") for m in linears[:2]]
        scores = {}
        for m, name in parameters_to_prune:
            w = getattr(m, name)
            g = (m.weight_orig if hasattr(m, "weight_orig") else m.weight).grad
            scores[(m, name)] = (w * g).abs().detach()
        prune.global_unstructured(
            parameters_to_prune,
            pruning_method=prune.L1Unstructured,
            amount=0.3,
            importance_scores=scores,
        )
        prune.l1_unstructured(linears[2], name="weight", amount=0.2 * (round_ + 1),
                              importance_scores=linears[2].weight.detach().abs() + 0.1)  # fmt: skip
        for i, m in enumerate(linears):  # rewind to the initial weights, keep the masks
            m.weight_orig.data.copy_(initial_state[i])
        values.append(float(prune.is_pruned(model)))
        values.extend(float(torch.sum(m.weight == 0)) for m in linears)
        train(3)
    # transfer the ticket to a fresh network
    fresh = make_model(torch_like)
    load_numpy_state(torch_like, fresh, init)
    for m_new, m_old in zip([m for m in fresh if isinstance(m, nn.Linear)], linears):
        prune.custom_from_mask(m_new, name="weight", mask=m_old.weight_mask)
        prune.identity(m_new, "bias")
    torch.manual_seed(2)
    prune.random_structured(fresh[0], "weight", amount=0.25, dim=1)
    values.append(float(torch.sum(fresh[0].weight == 0)))
    values.append(fresh(x).sum().item())
    for m in linears:
        prune.remove(m, "weight")
    values.append(float(prune.is_pruned(model)))
    values.append(sum(float(torch.sum(m.weight == 0)) for m in linears))
    return values
