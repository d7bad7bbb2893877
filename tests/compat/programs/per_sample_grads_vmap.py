"""Per-sample gradients the batched way: ``vmap(grad(loss), in_dims=(None, 0, 0))`` over the
batch, with the same model and loss as ``per_sample_grads_loop``.
"""
from __future__ import annotations

from typing import Any

from ._common import load_numpy_state
from .per_sample_grads_loop import data, make_model, sample_loss_fn

__all__ = ["make_model", "run"]

CHAINRULE_XFAIL = "chainrule.func.vmap does not exist (torch.func.vmap is not implemented)"


def run(torch_like: Any, init: dict | None) -> list[float]:
    x, y = data(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    params = {k: v.detach() for k, v in model.named_parameters()}
    func = torch_like.func
    per_sample = func.vmap(func.grad(sample_loss_fn(torch_like, model)),
                           in_dims=(None, 0, 0))(params, x, y)
    return [v for k in sorted(per_sample) for v in per_sample[k].flatten().tolist()]
