"""Older idioms that go through ``Tensor.data`` (still common in examples): a DCGAN-style
``weights_init`` with ``m.weight.data.normal_(0.0, 0.02)`` and ``m.bias.data.fill_(0)``, and a
hand-written SGD update ``p.data.add_(p.grad.data, alpha=-lr)`` outside autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2)
    )


def weights_init(m: Any) -> None:
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch_like.manual_seed(0)
    model = make_model(torch_like)
    model.apply(weights_init)
    assert model[0].weight.detach().std().item() < 0.1
    load_numpy_state(torch_like, model, init)  # the same starting point in both frameworks
    rng = np.random.default_rng(11)
    x = as_tensor(torch_like, rng.standard_normal((4, 1, 6, 6)))
    y = as_tensor(torch_like, rng.integers(0, 2, 4))
    lr, losses = 0.1, []
    for _step in range(3):
        model.zero_grad()
        loss = torch_like.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        for p in model.parameters():
            p.data.add_(p.grad.data, alpha=-lr)
        losses.append(loss.item())
    return losses
