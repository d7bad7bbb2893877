"""Per-sample gradients with ``torch.func``: ``functional_call`` runs the model on a dict of
detached parameters and ``func.grad`` differentiates one sample's loss with respect to them, in a
Python loop over the batch (the form that works without ``vmap``; ``per_sample_grads_vmap`` is
the batched one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))


def sample_loss_fn(torch_like: Any, model: Any) -> Any:
    """The loss of one sample as a function of ``(params, x, y)``, as ``func.grad`` wants it."""
    F = torch_like.nn.functional

    def compute_loss(params: dict, sample: Any, target: Any) -> Any:
        logits = torch_like.func.functional_call(model, params, (sample.unsqueeze(0),))
        return F.cross_entropy(logits, target.unsqueeze(0))

    return compute_loss


def data(torch_like: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(6)
    return (
        as_tensor(torch_like, rng.standard_normal((5, 4))),
        as_tensor(torch_like, rng.integers(0, 3, 5)),
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    x, y = data(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    params = {k: v.detach() for k, v in model.named_parameters()}
    grad_fn = torch_like.func.grad(sample_loss_fn(torch_like, model))
    per_sample = [grad_fn(params, x[i], y[i]) for i in range(x.shape[0])]
    stacked = {k: torch_like.stack([g[k] for g in per_sample]) for k in params}

    # The mean of per-sample gradients is the ordinary batch gradient.
    model.zero_grad()
    torch_like.nn.functional.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        assert torch_like.allclose(stacked[name].mean(0), p.grad)
    return [v for k in sorted(stacked) for v in stacked[k].flatten().tolist()]
