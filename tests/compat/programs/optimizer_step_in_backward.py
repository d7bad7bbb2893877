"""PyTorch's recipe "How to save memory by fusing the optimizer step into the backward pass"
(``recipes/optimizer_step_in_backward_tutorial``), size-reduced, next to the standard loop it
replaces.

The idioms: ``optimizer_dict = {p: torch.optim.Adam([p], foreach=False) for p in
model.parameters()}``; ``def optimizer_hook(parameter) -> None:
optimizer_dict[parameter].step(); optimizer_dict[parameter].zero_grad()``; ``for p in
model.parameters(): p.register_post_accumulate_grad_hook(optimizer_hook)``; ``train`` running
``loss = model.forward(fake_image)``, ``loss.sum().backward()`` and no ``optimizer.step()``
(the recipe's "no longer need optimizer.step()"); the ViT of the recipe is a small conv + MLP
model here. The same model trained by the standard ``optimizer.step()`` / ``zero_grad()`` loop
from the same weights must end at the same parameters, loss for loss (Adam is per-parameter,
so one optimizer per parameter is the same algorithm). Around it: the hook sees the
accumulated ``.grad`` (its norm is recorded), ``p.grad`` is ``None`` after the hook's
``zero_grad()``, a parameter used twice in the forward (a tied weight) is stepped once per
backward, the handles' ``remove()`` turns the fused steps off, a per-parameter
``StepLR`` stepped alongside, and registering on a non-leaf tensor raises ``RuntimeError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

IMAGE_SIZE, STEPS = 6, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SmallNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.proj = nn.Linear(4 * (IMAGE_SIZE // 2) ** 2, 8)
            self.tied = nn.Linear(8, 8, bias=False)  # applied twice: a shared weight
            self.head = nn.Linear(8, 5)

        def forward(self, x: Any) -> Any:
            x = nn.functional.max_pool2d(torch_like.relu(self.conv(x)), 2)
            x = torch_like.tanh(self.proj(x.flatten(1)))
            x = torch_like.tanh(self.tied(torch_like.tanh(self.tied(x))))
            return self.head(x)

    return SmallNet()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(7)
    images = [as_tensor(torch, rng.random((2, 3, IMAGE_SIZE, IMAGE_SIZE))) for _ in range(STEPS)]
    values: list[float] = []

    # the standard loop
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    standard = []
    for fake_image in images:
        loss = model.forward(fake_image)
        loss.sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        standard.append(loss.sum().item())
    values.extend(standard)

    # the fused loop: one optimizer per parameter, stepped by the post-accumulate-grad hook
    fused_model = make_model(torch_like)
    load_numpy_state(torch_like, fused_model, init)
    optimizer_dict = {
        p: torch.optim.Adam([p], lr=1e-2, foreach=False) for p in fused_model.parameters()
    }
    scheduler_dict = {
        p: torch.optim.lr_scheduler.StepLR(optimizer_dict[p], step_size=1, gamma=0.9)
        for p in fused_model.parameters()
    }
    seen: list[float] = []
    calls = {"n": 0}

    def optimizer_hook(parameter: Any) -> None:
        calls["n"] += 1
        seen.append(parameter.grad.norm().item())
        optimizer_dict[parameter].step()
        optimizer_dict[parameter].zero_grad()

    handles = [
        p.register_post_accumulate_grad_hook(optimizer_hook) for p in fused_model.parameters()
    ]

    def train(model: Any, fake_image: Any) -> float:
        loss = model.forward(fake_image)
        loss.sum().backward()
        # no longer need optimizer.step()
        return loss.sum().item()

    fused = [train(fused_model, fake_image) for fake_image in images]
    values.extend(fused)
    values.append(float(np.allclose(fused, standard, rtol=1e-12, atol=1e-12)))
    values.append(float(calls["n"]))  # one step per parameter per backward (the tied one too)
    values.append(float(sum(seen)))
    values.append(float(all(p.grad is None for p in fused_model.parameters())))
    for p, q in zip(model.parameters(), fused_model.parameters()):
        values.append(float((p - q).abs().max().item()))
    values.append(float(sum(p.sum().item() for p in fused_model.parameters())))

    # schedulers alongside, then the hooks removed: backward no longer steps
    for p in fused_model.parameters():
        scheduler_dict[p].step()
    values.append(optimizer_dict[fused_model.head.weight].param_groups[0]["lr"])
    train(fused_model, images[0])
    for h in handles:
        h.remove()
    before = [p.detach().clone() for p in fused_model.parameters()]
    n_before = calls["n"]
    train(fused_model, images[1])
    values.append(float(calls["n"] - n_before))
    values.append(float(all(torch.equal(b, p) for b, p in zip(before, fused_model.parameters()))))
    values.append(float(fused_model.head.weight.grad is not None))

    # a non-leaf tensor cannot have one
    nonleaf = fused_model.head.weight * 2
    try:
        nonleaf.register_post_accumulate_grad_hook(optimizer_hook)
        values.append(0.0)
    except RuntimeError:
        values.append(1.0)
    return values
