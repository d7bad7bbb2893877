"""OpenAI-style evolution strategies (Salimans et al.; the PyTorch ports such as
``atgambardella/pytorch-es`` and ``evolution-strategies-starter``'s ``es.py`` helpers),
size-reduced: a policy ``nn.Sequential`` is flattened with
``torch.nn.utils.parameters_to_vector``; each generation draws antithetic noise
(``torch.randn(n // 2, dim)`` and ``torch.cat([eps, -eps])``), evaluates every perturbed policy
under ``torch.no_grad()`` after ``vector_to_parameters(theta + sigma * e, model.parameters())``,
shapes the returns with ``compute_centered_ranks`` (``x.argsort().argsort()`` scaled to
``[-0.5, 0.5]``), estimates the gradient ``eps.t() @ ranks / (n * sigma)``, adds L2 decay, and
hands it to ``torch.optim.Adam`` by writing ``p.grad`` for each parameter from the vector
(``vector_to_parameters(-g, grads)``-style slicing with ``numel()``/``view_as``). The fitness is a
deterministic control task (a linear system steered to the origin).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

OBS, ACT, POP, SIGMA, GENERATIONS, HORIZON = 3, 2, 8, 0.05, 4, 6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(OBS, 8), nn.Tanh(), nn.Linear(8, ACT), nn.Tanh())


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    utils = torch.nn.utils
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(1)
    A = torch.tensor(np.eye(OBS) + 0.1 * rng.standard_normal((OBS, OBS)))
    B = torch.tensor(rng.standard_normal((OBS, ACT)) * 0.5)
    s0 = torch.tensor(rng.standard_normal((4, OBS)))

    @torch.no_grad()
    def fitness(policy: Any) -> float:
        s = s0.clone()
        total = torch.zeros(())
        for _ in range(HORIZON):
            a = policy(s)
            s = s @ A.T + a @ B.T
            total -= (s**2).sum(dim=1).mean() + 0.01 * (a**2).sum(dim=1).mean()
        return total.item()

    def compute_ranks(x: Any) -> Any:
        """Returns ranks in [0, len(x)) (the starter's ``compute_ranks``)."""
        assert x.ndim == 1
        return x.argsort().argsort()

    def compute_centered_ranks(x: Any) -> Any:
        y = compute_ranks(x.flatten()).reshape(x.shape).to(torch.get_default_dtype())
        y /= x.numel() - 1
        y -= 0.5
        return y

    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    torch.manual_seed(5)
    values: list[float] = []
    for _gen in range(GENERATIONS):
        theta = utils.parameters_to_vector(model.parameters()).detach()
        eps = torch.randn(POP // 2, theta.numel())
        eps = torch.cat([eps, -eps])
        returns = torch.empty(POP)
        with torch.no_grad():
            for i, e in enumerate(eps):
                utils.vector_to_parameters(theta + SIGMA * e, model.parameters())
                returns[i] = fitness(model)
            utils.vector_to_parameters(theta, model.parameters())
        ranks = compute_centered_ranks(returns)
        grad = eps.t() @ ranks / (POP * SIGMA)
        grad = grad - 0.005 * theta  # l2 decay, as the starter's optimizer adds it
        # write the (ascent) gradient into .grad, one parameter slice at a time
        pointer = 0
        for p in model.parameters():
            n = p.numel()
            p.grad = -grad[pointer : pointer + n].view_as(p).clone()
            pointer += n
        optimizer.step()
        values += [fitness(model), returns.max().item(), returns.mean().item()]
        values += ranks.tolist()[:3]
    values.append(utils.parameters_to_vector(model.parameters()).norm().item())
    return values
