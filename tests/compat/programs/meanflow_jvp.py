"""MeanFlow (Geng et al. 2025, "Mean Flows for One-step Generative Modeling"; the PyTorch
ports' ``MeanFlow.loss`` and ``sample_each_class``): a network of the average velocity
``u(z, r, t)`` trained with the MeanFlow identity, whose time derivative comes from one
forward-mode product, then one-step and two-step sampling.

The idioms kept: ``(t, r)`` drawn from a logit-normal, ordered with ``torch.maximum`` /
``torch.minimum`` and a fraction with ``r = t`` (``flow_ratio``) by ``torch.where``;
``z = (1 - t) * x + t * e`` and ``v = e - x``; the target's derivative along ``(v, 0, 1)``:
``u, dudt = torch.func.jvp(model_partial, (z, r, t), (v, torch.zeros_like(r),
torch.ones_like(t)))`` with ``functools.partial(model, y=labels)``, the same with
``torch.autograd.functional.jvp(..., create_graph=True)`` checked to agree;
``u_tgt = v - (t - r) * dudt`` behind ``.detach()`` (the ports' ``stopgrad``); the adaptive
loss ``delta = (error ** 2).sum(dim=1)``, ``w = 1.0 / (delta + 1e-3).pow(p)``,
``(w.detach() * delta).mean()``; class-conditional embeddings with a CFG drop to a null
class; sampling ``z_0 = z_1 - u(z_1, 0, 1)`` in one step and through ``t = 0.5`` in two,
under ``torch.no_grad()``; an EMA copy updated with ``torch._foreach_lerp_``.

Changed: a 2-D mixture of 3 Gaussians instead of ImageNet latents, an MLP with sinusoidal
``(t, t - r)`` embeddings instead of a DiT, batches of 16, 4 Adam steps; the noise and the
times come from NumPy.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DIM, HIDDEN, CLASSES, FREQS, BATCH, STEPS, FLOW_RATIO, P, EMA = 2, 32, 3, 4, 16, 4, 0.5, 1.0, 0.9


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    def time_embed(t: Any) -> Any:
        freqs = torch.exp(-math.log(100.0) * torch.arange(FREQS) / FREQS)
        args = t * freqs
        return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)

    class MeanFlowNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.label_embed = nn.Embedding(CLASSES + 1, HIDDEN)  # the last: no class (CFG)
            self.inp = nn.Linear(DIM + 4 * FREQS, HIDDEN)
            self.mid = nn.Linear(HIDDEN, HIDDEN)
            self.out = nn.Linear(HIDDEN, DIM)

        def forward(self, z: Any, r: Any, t: Any, y: Any) -> Any:
            h = self.inp(torch.cat([z, time_embed(t), time_embed(t - r)], dim=-1))
            h = nn.functional.silu(h + self.label_embed(y))
            return self.out(nn.functional.silu(self.mid(h)))

    return MeanFlowNet()


def _draws(rng: np.random.Generator) -> dict:
    labels = rng.integers(0, CLASSES, BATCH)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    t, r = 1 / (1 + np.exp(-(rng.standard_normal((2, BATCH, 1)) - 0.4)))
    same = rng.random((BATCH, 1)) < FLOW_RATIO
    return {"x": centers[labels] + 0.3 * rng.standard_normal((BATCH, DIM)),
            "e": rng.standard_normal((BATCH, DIM)), "t": t, "r": r, "same": same,
            "labels": labels, "drop": rng.random(BATCH) < 0.1}  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(21)
    values: list[float] = []
    for step in range(STEPS):
        d = {k: as_tensor(torch, v) for k, v in _draws(rng).items()}
        t0, r0 = d["t"], d["r"]
        t, r = torch.maximum(t0, r0), torch.minimum(t0, r0)
        r = torch.where(d["same"], t, r)
        labels = torch.where(d["drop"], torch.full_like(d["labels"], CLASSES), d["labels"])
        x, e = d["x"], d["e"]
        z = (1 - t) * x + t * e
        v = e - x
        model_partial = functools.partial(model, y=labels)
        tangents = (v, torch.zeros_like(r), torch.ones_like(t))
        u, dudt = torch.func.jvp(model_partial, (z, r, t), tangents)
        if step == 0:
            _, dudt_ref = torch.autograd.functional.jvp(model_partial, (z, r, t), tangents,
                                                        create_graph=True)  # fmt: skip
            values.append(float(torch.allclose(dudt, dudt_ref)))
        u_tgt = (v - (t - r) * dudt).detach()
        error = u - u_tgt
        delta = (error**2).sum(dim=1)
        w = 1.0 / (delta + 1e-3).pow(P)
        loss = (w.detach() * delta).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - EMA)
        values += [loss.item(), delta.mean().item(), model.mid.weight.grad.norm().item()]
    with torch.no_grad():
        z1 = as_tensor(torch, rng.standard_normal((6, DIM)))
        y = torch.arange(6) % CLASSES
        zero, half, one = (torch.full((6, 1), c) for c in (0.0, 0.5, 1.0))
        one_step = z1 - ema(z1, zero, one, y)
        z_half = z1 - 0.5 * model(z1, half, one, y)
        two_step = z_half - 0.5 * model(z_half, zero, half, y)
    return values + one_step.flatten().tolist() + two_step.flatten().tolist()
