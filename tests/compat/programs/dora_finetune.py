"""DoRA fine-tuning (weight-decomposed low-rank adaptation), the way Hugging Face PEFT's
``DoraLinearLayer`` and the paper's reference code (NVlabs/DoRA, ``nbasyl/DoRA``) write it, on a
tiny frozen MLP, size-reduced.

The idioms: a ``LoraLayer``-style wrapper around a frozen ``nn.Linear`` (``base_layer
.requires_grad_(False)``), ``lora_A`` initialised with ``nn.init.kaiming_uniform_(w,
a=math.sqrt(5))`` and ``lora_B`` with ``nn.init.zeros_``, ``scaling = lora_alpha / r``,
``lora_dropout = nn.Dropout(p)``; the magnitude vector initialised from the column norm of the
adapted weight, ``torch.linalg.norm(weight + scaling * lora_weight, dim=1).to(weight.dtype)``,
where PEFT builds ``lora_weight = lora_B(lora_A(x_eye)).T`` from ``x_eye = torch.eye(lora_A
.weight.shape[1], device=..., dtype=x.dtype)``; the forward ``weight_norm =
self.get_weight_norm(weight, lora_weight.detach(), scaling).detach()`` (the paper's
"treat the norm as a constant" trick), ``mag_norm_scale = (magnitude / weight_norm).view(1,
-1)``, ``result_dora = (mag_norm_scale - 1) * base_result + mag_norm_scale * lora_B(lora_A(x))
* scaling`` added to ``self.base_layer(x)`` (its bias taken out first); the paper's own
formulation ``new_weight_v = self.weight + (self.lora_B.weight @ self.lora_A.weight) *
self.scaling`` / ``(torch.linalg.norm(new_weight_v, dim=1)).unsqueeze(1).detach()`` as a
second, equivalent forward; the trainable-parameter count, ``AdamW`` over ``filter(lambda p:
p.requires_grad, ...)``; and ``merge()`` under ``torch.no_grad()``: ``dora_factor = magnitude /
weight_norm``, ``new_weight = dora_factor.view(-1, 1) * (orig_weight + delta_weight)``,
``base_layer.weight.data.copy_(new_weight)`` — the merged plain model must then give the
adapter's outputs in ``eval()`` mode, and ``unmerge`` gives the pretrained weights back.

Changed: a 3-layer MLP on random data, rank 2, a few steps; dropout 0.1 on the adapter input
(the masks agree, both frameworks draw them from the same seeded generator).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

IN, HIDDEN, OUT, RANK, ALPHA, BATCH, STEPS = 6, 10, 3, 2, 4, 8, 5


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(IN, HIDDEN),
        nn.GELU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.GELU(),
        nn.Linear(HIDDEN, OUT),
    )


def _classes(torch_like: Any) -> tuple[type, type]:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class DoraLinearLayer(nn.Module):
        def __init__(self, fan_in_fan_out: bool = False) -> None:
            super().__init__()
            self.fan_in_fan_out = fan_in_fan_out

        def get_weight_norm(self, weight: Any, lora_weight: Any, scaling: float) -> Any:
            weight = weight + scaling * lora_weight
            weight_norm = torch.linalg.norm(weight, dim=1).to(weight.dtype)
            return weight_norm

        def update_layer(
            self, *, base_layer: Any, lora_A: Any, lora_B: Any, scaling: float
        ) -> None:
            with torch.no_grad():
                lora_weight = lora_B @ lora_A
                weight_norm = self.get_weight_norm(base_layer.weight, lora_weight, scaling)
            self.weight = nn.Parameter(weight_norm, requires_grad=True)

        def forward(
            self,
            x: Any,
            *,
            lora_A: Any,
            lora_B: Any,
            scaling: float,
            base_layer: Any,
            base_result: Any = None,
        ) -> Any:
            x_eye = torch.eye(lora_A.weight.shape[1], device=lora_A.weight.device, dtype=x.dtype)
            lora_weight = lora_B(lora_A(x_eye)).T
            magnitude = self.weight
            weight = base_layer.weight.to(x.dtype)
            weight_norm = self.get_weight_norm(weight, lora_weight.detach(), scaling)
            weight_norm = weight_norm.detach()
            mag_norm_scale = (magnitude / weight_norm).view(1, -1)
            lora_result = lora_B(lora_A(x))
            if base_result is not None:
                bias = base_layer.bias
                if bias is not None:
                    base_result = base_result - bias
            else:
                base_result = F.linear(x, weight)
            return (mag_norm_scale - 1) * base_result + mag_norm_scale * lora_result * scaling

    class DoraLinear(nn.Module):
        def __init__(self, base_layer: Any, r: int, lora_alpha: int, lora_dropout: float) -> None:
            super().__init__()
            self.base_layer = base_layer
            self.base_layer.requires_grad_(False)
            in_features, out_features = base_layer.in_features, base_layer.out_features
            self.lora_A = nn.Linear(in_features, r, bias=False)
            self.lora_B = nn.Linear(r, out_features, bias=False)
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)
            self.lora_dropout = nn.Dropout(p=lora_dropout) if lora_dropout > 0.0 else nn.Identity()
            self.scaling = lora_alpha / r
            self.lora_magnitude_vector = DoraLinearLayer()
            self.lora_magnitude_vector.update_layer(
                base_layer=base_layer,
                lora_A=self.lora_A.weight,
                lora_B=self.lora_B.weight,
                scaling=self.scaling,
            )
            self.merged = False
            self.paper_forward = False

        def get_delta_weight(self) -> Any:
            return (self.lora_B.weight @ self.lora_A.weight) * self.scaling

        def forward(self, x: Any) -> Any:
            if self.merged:
                return self.base_layer(x)
            if self.paper_forward:  # nbasyl/DoRA: W' = m * V / ||V||_c, the norm detached
                new_weight_v = (
                    self.base_layer.weight
                    + (self.lora_B.weight @ self.lora_A.weight) * self.scaling
                )
                norm_scale = (
                    self.lora_magnitude_vector.weight.view(-1, 1)
                    / (torch.linalg.norm(new_weight_v, dim=1)).unsqueeze(1).detach()
                )
                return F.linear(
                    self.lora_dropout(x), new_weight_v * norm_scale, self.base_layer.bias
                )
            result = self.base_layer(x)
            x = self.lora_dropout(x)
            return result + self.lora_magnitude_vector(
                x,
                lora_A=self.lora_A,
                lora_B=self.lora_B,
                scaling=self.scaling,
                base_layer=self.base_layer,
                base_result=result,
            )

        def merge(self) -> None:
            base_layer = self.base_layer
            orig_weight = base_layer.weight.data.clone()
            delta_weight = self.get_delta_weight()
            weight_norm = self.lora_magnitude_vector.get_weight_norm(
                orig_weight, delta_weight, scaling=1
            ).detach()
            self._cache_weight_norm = weight_norm
            dora_factor = self.lora_magnitude_vector.weight / weight_norm
            new_weight = dora_factor.view(-1, 1) * (orig_weight + delta_weight)
            base_layer.weight.data.copy_(new_weight)
            self.merged = True

        def unmerge(self) -> None:
            weight = self.base_layer.weight.data
            dora_factor = self.lora_magnitude_vector.weight / self._cache_weight_norm
            weight_orig = weight.data / dora_factor.view(-1, 1) - self.get_delta_weight()
            weight.data.copy_(weight_orig)
            self.merged = False

    return DoraLinearLayer, DoraLinear


def _wrap(torch_like: Any, model: Any, dora_cls: type) -> None:
    for i, layer in enumerate(model):
        if isinstance(layer, torch_like.nn.Linear):
            model[i] = dora_cls(layer, r=RANK, lora_alpha=ALPHA, lora_dropout=0.1)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(3)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    x = as_tensor(torch, rng.standard_normal((BATCH, IN)))
    y = as_tensor(torch, rng.integers(0, OUT, BATCH))
    with torch.no_grad():
        pretrained = model(x).clone()
    _, dora_cls = _classes(torch)
    torch.manual_seed(7)
    _wrap(torch, model, dora_cls)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all("lora_" in n for n in names), names
    values: list[float] = [float(trainable)]
    model.eval()
    with torch.no_grad():
        values.append((model(x) - pretrained).abs().max().item())  # B = 0: the pretrained net
    values += model[0].lora_magnitude_vector.weight.tolist()

    optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=2e-2)
    model.train()
    torch.manual_seed(11)
    for _step in range(STEPS):
        optimizer.zero_grad()
        loss = F_cross_entropy(torch, model(x), y)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
        values.append(model[2].lora_magnitude_vector.weight.grad.norm().item())
    values += model[4].lora_magnitude_vector.weight.tolist()
    values.append(
        float(all(p.grad is None for n, p in model.named_parameters() if "base_layer" in n))
    )

    model.eval()
    with torch.no_grad():
        adapter_out = model(x)
        for layer in model:
            if isinstance(layer, dora_cls):
                layer.paper_forward = True
        paper_out = model(x)
        for layer in model:
            if isinstance(layer, dora_cls):
                layer.paper_forward = False
                layer.merge()
        merged_out = model(x)
    values += [
        (paper_out - adapter_out).abs().max().item(),
        (merged_out - adapter_out).abs().max().item(),
    ]
    values += merged_out.flatten().tolist()
    # the paper's forward also trains: one step through it
    model.train()
    for layer in model:
        if isinstance(layer, dora_cls):
            layer.unmerge()
            layer.paper_forward = True
    values.append(
        (model[0].base_layer.weight - as_tensor(torch, init["0.weight"])).abs().max().item()
    )
    optimizer.zero_grad()
    loss = F_cross_entropy(torch, model(x), y)
    loss.backward()
    values += [loss.item(), model[0].lora_A.weight.grad.abs().sum().item()]
    values += model[0].lora_magnitude_vector.weight.grad.tolist()
    return values


def F_cross_entropy(torch_like: Any, logits: Any, y: Any) -> Any:
    return torch_like.nn.functional.cross_entropy(logits, y)


def check(values: list[float]) -> None:
    lora = sum(RANK * (i + o) + o for i, o in ((IN, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, OUT)))
    assert values[0] == lora
    assert values[1] < 1e-12  # the magnitude is the weight's own norm, B = 0
    at = 2 + HIDDEN + 2 * STEPS + OUT
    frozen, paper_gap, merged_gap = values[at : at + 3]
    assert frozen == 1.0  # the base layers never got a gradient
    assert paper_gap < 1e-9 and merged_gap < 1e-9  # both forwards and the merge agree
    assert values[at + 3 + BATCH * OUT] < 1e-9  # unmerge restores the pretrained weights
