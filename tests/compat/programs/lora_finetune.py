"""LoRA fine-tuning of a frozen MLP, the way parametrization-based LoRA code writes it: the
pretrained model is frozen with ``requires_grad_(False)``, each ``nn.Linear`` weight gets a
low-rank update ``W + (B @ A) * alpha / r`` through
``torch.nn.utils.parametrize.register_parametrization`` (A drawn, B zero, so training starts
at the pretrained function), the optimizer sees only ``filter(lambda p: p.requires_grad,
model.parameters())``, and the trainable parameters are counted the usual way. The adapter
alone (the ``lora_`` entries of the state dict) goes through ``torch.save``/``torch.load``
into a fresh LoRA-wrapped copy (``load_state_dict(strict=False)``), which must then compute
what the trained model does (under ``parametrize.cached()``). Switching the adapters off gives
the pretrained function back. Finally the update is merged with
``remove_parametrizations(..., leave_parametrized=True)``: the merged plain model gives the
parametrized one's outputs, and the pretrained weights stayed untouched in
``parametrizations.weight.original`` until then.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

IN, HIDDEN, OUT, RANK, ALPHA, BATCH, STEPS = 8, 12, 3, 2, 4, 10, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(IN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, OUT),
    )


def make_lora(torch_like: Any, rng: np.random.Generator) -> Any:
    nn = torch_like.nn

    class LoRAParametrization(nn.Module):
        def __init__(self, features_in: int, features_out: int, rank: int, alpha: float) -> None:
            super().__init__()
            a = rng.standard_normal((rank, features_out)) * 0.1
            self.lora_A = nn.Parameter(torch_like.tensor(a, dtype=torch_like.get_default_dtype()))
            self.lora_B = nn.Parameter(torch_like.zeros((features_in, rank)))
            self.scale = alpha / rank
            self.enabled = True

        def forward(self, original_weights: Any) -> Any:
            if self.enabled:
                delta = torch_like.matmul(self.lora_B, self.lora_A).view(original_weights.shape)
                return original_weights + delta * self.scale
            return original_weights

    return LoRAParametrization


def run(torch_like: Any, init: dict) -> list[float]:
    nn = torch_like.nn
    parametrize = torch_like.nn.utils.parametrize
    rng = np.random.default_rng(41)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    x = as_tensor(torch_like, rng.standard_normal((BATCH, IN)))
    y = as_tensor(torch_like, rng.integers(0, OUT, BATCH))
    with torch_like.no_grad():
        pretrained_out = model(x).clone()
    total_before = sum(p.numel() for p in model.parameters())

    model.requires_grad_(False)
    lora_cls = make_lora(torch_like, rng)
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            features_in, features_out = layer.weight.shape
            parametrize.register_parametrization(
                layer, "weight", lora_cls(features_in, features_out, rank=RANK, alpha=ALPHA)
            )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all("lora_" in n for n in names), names
    start_gap = (model(x) - pretrained_out).abs().max().item()  # B = 0: nothing changed yet

    optimizer = torch_like.optim.AdamW(
        filter(lambda p: p.requires_grad, model.parameters()), lr=1e-2
    )
    loss_fn = nn.CrossEntropyLoss()
    values: list[float] = [float(total_before), float(trainable), float(total), start_gap]
    for _step in range(STEPS):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    frozen_grads = [p.grad is None for p in model.parameters() if not p.requires_grad]
    keys = list(model.state_dict())
    assert keys[:4] == [
        "0.bias",
        "0.parametrizations.weight.original",
        "0.parametrizations.weight.0.lora_A",
        "0.parametrizations.weight.0.lora_B",
    ], keys

    # save only the adapter, load it into a fresh copy of the pretrained model with LoRA added
    lora_state = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    buffer = io.BytesIO()
    torch_like.save(lora_state, buffer)
    buffer.seek(0)
    fresh = make_model(torch_like)
    load_numpy_state(torch_like, fresh, init)
    for layer in fresh.modules():
        if isinstance(layer, nn.Linear):
            features_in, features_out = layer.weight.shape
            parametrize.register_parametrization(
                layer, "weight", lora_cls(features_in, features_out, rank=RANK, alpha=ALPHA)
            )
    result = fresh.load_state_dict(torch_like.load(buffer, weights_only=True), strict=False)
    assert not result.unexpected_keys and len(result.missing_keys) == 6, result
    with torch_like.no_grad(), parametrize.cached():
        reload_gap = (fresh(x) - model(x)).abs().max().item()
    values.append(reload_gap)
    values.append(float(all(frozen_grads)))
    original = model[0].parametrizations.weight.original
    values.append((original - as_tensor(torch_like, init["0.weight"])).abs().max().item())
    assert parametrize.is_parametrized(model[0], "weight")

    # toggle LoRA off: back to the pretrained function
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            layer.parametrizations["weight"][0].enabled = False
    with torch_like.no_grad():
        disabled_gap = (model(x) - pretrained_out).abs().max().item()
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            layer.parametrizations["weight"][0].enabled = True

    with torch_like.no_grad():
        lora_out = model(x)
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)
    merged_out = model(x).detach()
    merged_gap = (merged_out - lora_out).abs().max().item()
    values += [disabled_gap, merged_gap, float(parametrize.is_parametrized(model[0]))]
    values.append(float(sum(p.numel() for p in model.parameters())))
    values += merged_out.flatten().tolist()
    values += model[2].weight.flatten().tolist()
    return values


def check(values: list[float]) -> None:
    total_before, trainable, total, start_gap = values[:4]
    lora = RANK * (IN + HIDDEN) + RANK * (HIDDEN + HIDDEN) + RANK * (HIDDEN + OUT)
    assert trainable == lora and total == total_before + lora
    assert start_gap == 0.0
    reload_gap, frozen_ok, original_gap, disabled_gap, merged_gap, still = values[
        4 + STEPS : 10 + STEPS
    ]
    assert reload_gap == 0.0  # the saved adapter restores the fine-tuned function
    assert frozen_ok == 1.0 and original_gap == 0.0 and disabled_gap < 1e-12
    assert merged_gap < 1e-12 and still == 0.0
    assert values[10 + STEPS] == total_before  # the merge leaves the plain weights only
