"""Autograd's mutation and hook APIs from PyTorch's reference pages and the "autograd
mechanics" note (https://pytorch.org/docs/stable/autograd.html#saved-tensors-default-hooks,
https://pytorch.org/docs/stable/notes/autograd.html#backward-hooks-execution):
``torch.autograd.graph.allow_mutation_on_saved_tensors()`` (its docs example: ``b = a.clone();
out = (b**2).sum(); b.sin_(); out.sum().backward()`` gives the gradient of the unmutated
``b``), the error an in-place change of a saved tensor raises without it (``RuntimeError``,
"one of the variables needed for gradient computation has been modified by an inplace
operation", caught as user code does), ``Module.register_full_backward_pre_hook`` scaling
``grad_output`` (the note's gradient-rescaling example), ``register_full_backward_hook``
reading ``grad_input``, ``Tensor.register_post_accumulate_grad_hook`` (the "optimizer step in
backward" tutorial's hook, here recording ``p.grad.norm()``), ``Tensor._version``, and
``torch.autograd.graph.Node.register_prehook`` on ``loss.grad_fn``.

Changed: a two-layer MLP on 4 samples, three SGD steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(1)
    values: list[float] = []
    with torch.autograd.graph.allow_mutation_on_saved_tensors():
        a = as_tensor(torch_like, rng.random((2, 3))).requires_grad_()
        b = a.clone()
        out = (b**2).sum()
        b.sin_()
        out.sum().backward()
        values.extend(a.grad.flatten().tolist())
        values.extend(b.flatten().tolist())
    a = as_tensor(torch_like, rng.random((2, 3))).requires_grad_()
    b = a.clone()
    out = (b**2).sum()
    v0 = b._version
    b.sin_()
    values.append(float(b._version - v0))
    try:
        out.backward()
        values.append(0.0)
    except RuntimeError as err:
        values.append(float("modified by an inplace operation" in str(err)))

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen: list[float] = []
    model[2].register_full_backward_pre_hook(lambda mod, grad_output: (grad_output[0] * 0.5,))
    model[0].register_full_backward_hook(
        lambda mod, grad_input, grad_output: seen.append(grad_output[0].abs().sum().item())
    )
    for p in model.parameters():
        p.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.norm().item()))
    for _ in range(3):
        x = as_tensor(torch_like, rng.standard_normal((4, 3))).requires_grad_()
        y = as_tensor(torch_like, rng.standard_normal((4, 2)))
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.grad_fn.register_prehook(lambda grad_outputs: (grad_outputs[0] * 2.0,))
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.extend([loss.item(), x.grad.abs().sum().item()])
    values.extend(seen)  # in the order the hooks ran (a Linear's bias before its weight)
    return values
