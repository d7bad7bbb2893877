"""The LoRA variants of Hugging Face ``peft`` (``tuners/lora/layer.py``, ``tuners/vera/layer.py``,
``tuners/vera/model.py``, ``optimizers/loraplus.py``), size-reduced: rsLoRA scaling, PiSSA and OLoRA
initialisation, VeRA's shared frozen projections, and LoRA+'s learning-rate ratio.

The idioms: ``LoraLayer.update_layer``'s ``self.scaling[adapter_name] = lora_alpha / math.sqrt(r)``
when ``use_rslora`` else ``lora_alpha / r``; ``reset_lora_parameters``'
``nn.init.kaiming_uniform_(self.lora_A[adapter_name].weight, a=math.sqrt(5))`` and
``nn.init.zeros_(self.lora_B[adapter_name].weight)``; ``pissa_init`` (``weight =
self.get_base_layer().weight``, ``V, S, Uh = torch.linalg.svd(weight.data, full_matrices=False)``,
``Vr = V[:, : self.r[adapter_name]]``, ``Sr /= self.scaling[adapter_name]``, ``lora_A =
torch.diag(torch.sqrt(Sr)) @ Uhr``, ``lora_B = Vr @ torch.diag(torch.sqrt(Sr))``,
``self.lora_A[adapter_name].weight.data = lora_A``, ``weight = weight.data -
self.scaling[adapter_name] * lora_B @ lora_A``, ``self.get_base_layer().weight.data = weight``);
``olora_init`` (``Q, R = torch.linalg.qr(weight.data)``, ``Qr, Rr = Q[:, :r], R[:r]``,
``self.lora_A[adapter_name].weight.data = Rr.contiguous()``, ``self.lora_B[...].weight.data =
Qr.contiguous()``, ``weight.data -= scale_factor * self.lora_B[adapter_name].weight @
self.lora_A[adapter_name].weight``); the LoRA forward ``result = result + lora_B(lora_A(dropout(x)))
* scaling`` with ``x = self._cast_input_dtype(x, lora_A.weight.dtype)``; VeRA's ``BufferDict``-held
shared ``vera_A`` / ``vera_B`` (``_kaiming_init`` with a ``torch.Generator().manual_seed(...)``,
here drawn once with NumPy), ``lambda_d = nn.Parameter(torch.ones(r), requires_grad=True)``,
``lambda_b = nn.Parameter(torch.zeros(out_features))``, the slices ``sliced_A = vera_A[:, :
self.in_features]``, ``sliced_B = vera_B[: self.out_features, :]`` and ``lambda_b *
F.linear(lambda_d * F.linear(dropout(x), sliced_A), sliced_B)``; ``get_delta_weight``'s
``(lambda_b.unsqueeze(-1) * sliced_B) @ (lambda_d.unsqueeze(-1) * sliced_A)`` and ``merge``
(``base_layer.weight.data += delta_weight``, ``self.merged_adapters.append``); LoRA+'s
``create_loraplus_optimizer`` (``param_groups["groupB"]`` for ``lora_B`` at ``lr *
loraplus_lr_ratio``, ``optimizer_cls(optimizer_grouped_parameters, **optimizer_kwargs)``);
``mark_only_lora_as_trainable`` via ``requires_grad_(False)`` on names without ``lora_`` /
``vera_lambda``; and the checks that PiSSA/OLoRA start at the base model's outputs and a merged VeRA
layer gives the unmerged outputs.

Changed: float32 (OLoRA raises ``TypeError`` on float64 weights); a 3-layer MLP (8 -> 12 -> 12 -> 4)
instead of a transformer; rank 2; 4 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # OLoRA refuses float64 base weights
D_IN, D_H, D_OUT, R, ALPHA, BATCH, STEPS = 8, 12, 4, 2, 4, 6, 4
INITS = ("rslora", "pissa", "olora", "vera")


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(D_IN, D_H), nn.Tanh(), nn.Linear(D_H, D_H), nn.Tanh(), nn.Linear(D_H, D_OUT)
    )


def build_adapters(torch_like: Any, base: Any, kind: str, vera_A: Any, vera_B: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class LoraLinear(nn.Module):
        def __init__(self, base_layer: Any) -> None:
            super().__init__()
            self.base_layer = base_layer
            self.in_features, self.out_features = base_layer.in_features, base_layer.out_features
            self.lora_dropout = nn.ModuleDict({"default": nn.Identity()})
            self.scaling = {}
            self.merged_adapters: list = []
            if kind == "vera":
                self.vera_A, self.vera_B = vera_A, vera_B
                self.vera_lambda_b = nn.ParameterDict(
                    {"default": nn.Parameter(torch.zeros(self.out_features), requires_grad=True)}
                )
                self.vera_lambda_d = nn.ParameterDict(
                    {"default": nn.Parameter(torch.ones(R), requires_grad=True)}
                )
                with torch.no_grad():
                    nn.init.zeros_(self.vera_lambda_d["default"]).fill_(0.1)
                    nn.init.zeros_(self.vera_lambda_b["default"])
                return
            self.lora_A = nn.ModuleDict({"default": nn.Linear(self.in_features, R, bias=False)})
            self.lora_B = nn.ModuleDict({"default": nn.Linear(R, self.out_features, bias=False)})
            self.scaling["default"] = ALPHA / math.sqrt(R) if kind == "rslora" else ALPHA / R
            nn.init.kaiming_uniform_(self.lora_A["default"].weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B["default"].weight)
            if kind == "pissa":
                self.pissa_init("default")
            elif kind == "olora":
                self.olora_init("default")

        def get_base_layer(self) -> Any:
            return self.base_layer

        def pissa_init(self, adapter_name: str) -> None:
            weight = self.get_base_layer().weight
            dtype = weight.dtype
            V, S, Uh = torch.linalg.svd(weight.data, full_matrices=False)
            Vr = V[:, :R]
            Sr = S[:R]
            Sr /= self.scaling[adapter_name]
            Uhr = Uh[:R]
            lora_A = torch.diag(torch.sqrt(Sr)) @ Uhr
            lora_B = Vr @ torch.diag(torch.sqrt(Sr))
            self.lora_A[adapter_name].weight.data = lora_A
            self.lora_B[adapter_name].weight.data = lora_B
            weight = weight.data - self.scaling[adapter_name] * lora_B @ lora_A
            weight = weight.to(dtype)
            self.get_base_layer().weight.data = weight

        def olora_init(self, adapter_name: str) -> None:
            base_layer = self.get_base_layer()
            orig_weight = base_layer.weight
            dtype = orig_weight.dtype
            if dtype in [torch.float32, torch.float16, torch.bfloat16]:
                weight_tensor = orig_weight
            else:
                raise TypeError(f"Unsupported data type for the base layer. Got {dtype}.")
            scale_factor = self.scaling[adapter_name]
            r = R
            weight_tensor = weight_tensor.to(torch.float32)
            Q, R_ = torch.linalg.qr(weight_tensor.data)
            Qr, Rr = Q[:, :r], R_[:r]
            self.lora_A[adapter_name].weight.data = Rr.contiguous()
            self.lora_B[adapter_name].weight.data = Qr.contiguous()
            weight_tensor.data -= (
                scale_factor * self.lora_B[adapter_name].weight @ self.lora_A[adapter_name].weight
            )
            weight_tensor = weight_tensor.to(dtype)
            self.get_base_layer().weight.data = weight_tensor

        def get_delta_weight(self, adapter: str) -> Any:
            sliced_A = self.vera_A[adapter][:, : self.in_features]
            sliced_B = self.vera_B[adapter][: self.out_features, :]
            lambda_d = self.vera_lambda_d[adapter]
            lambda_b = self.vera_lambda_b[adapter]
            return (lambda_b.unsqueeze(-1) * sliced_B) @ (lambda_d.unsqueeze(-1) * sliced_A)

        def merge(self) -> None:
            with torch.no_grad():
                self.base_layer.weight.data += self.get_delta_weight("default")
            self.merged_adapters.append("default")

        def forward(self, x: Any) -> Any:
            result = self.base_layer(x)
            if self.merged_adapters:
                return result
            if kind == "vera":
                lambda_d = self.vera_lambda_d["default"]
                lambda_b = self.vera_lambda_b["default"]
                sliced_A = self.vera_A["default"][:, : self.in_features].to(lambda_d.dtype)
                sliced_B = self.vera_B["default"][: self.out_features, :].to(lambda_d.dtype)
                dropout = self.lora_dropout["default"]
                x = x.to(lambda_d.dtype)
                return result + lambda_b * F.linear(
                    lambda_d * F.linear(dropout(x), sliced_A), sliced_B
                )
            lora_A = self.lora_A["default"]
            lora_B = self.lora_B["default"]
            dropout = self.lora_dropout["default"]
            x = x.to(lora_A.weight.dtype)
            return result + lora_B(lora_A(dropout(x))) * self.scaling["default"]

    for idx in (0, 2, 4):
        base[idx] = LoraLinear(base[idx])
    for n, p in base.named_parameters():
        if "lora_" not in n and "vera_lambda" not in n:
            p.requires_grad_(False)
    return base


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(9)
    x = as_tensor(torch, rng.standard_normal((BATCH, D_IN)).astype(np.float32))
    y = as_tensor(torch, rng.standard_normal((BATCH, D_OUT)).astype(np.float32))
    bound = math.sqrt(6.0 / R) / math.sqrt(1 + 5)  # kaiming_uniform_(a=sqrt(5)) on (R, D_H)
    vera_A = nn.ParameterDict(
        {
            "default": nn.Parameter(
                as_tensor(torch, rng.uniform(-bound, bound, (R, D_H)).astype(np.float32)),
                requires_grad=False,
            )
        }
    )
    vera_B = nn.ParameterDict(
        {
            "default": nn.Parameter(
                as_tensor(torch, rng.uniform(-bound, bound, (D_H, R)).astype(np.float32)),
                requires_grad=False,
            )
        }
    )
    values: list[float] = []
    for kind in INITS:
        base = make_model(torch_like)
        load_numpy_state(torch_like, base, init)
        with torch.no_grad():
            base_out = base(x)
        torch.manual_seed(0)
        model = build_adapters(torch_like, base, kind, vera_A, vera_B)
        with torch.no_grad():
            start_gap = (model(x) - base_out).abs().max().item()
        if kind in ("pissa", "olora", "vera"):
            values.append(float(start_gap < 1e-5))
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        values.append(trainable)
        if kind == "vera":
            optimizer = torch.optim.AdamW(
                [p for p in model.parameters() if p.requires_grad], lr=5e-2
            )
        else:
            param_groups = {"groupA": {}, "groupB": {}}
            for name, param in model.named_parameters():
                if not param.requires_grad:
                    continue
                if "lora_B" in name or param.ndim == 1:
                    param_groups["groupB"][name] = param
                else:
                    param_groups["groupA"][name] = param
            lr, loraplus_lr_ratio = 1e-2, 16
            optimizer_grouped_parameters = [
                {"params": list(param_groups["groupA"].values()), "weight_decay": 0.0, "lr": lr},
                {
                    "params": list(param_groups["groupB"].values()),
                    "weight_decay": 0.0,
                    "lr": lr * loraplus_lr_ratio,
                },
            ]
            optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=lr)
        for _ in range(STEPS):
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        if kind == "vera":
            with torch.no_grad():
                before = model(x)
                for idx in (0, 2, 4):
                    model[idx].merge()
                values.append(float((model(x) - before).abs().max().item() < 1e-5))
    return values


def check(values: list[float]) -> None:
    assert all(v == 1.0 for v in (values[5], values[11], values[17], values[-1])), values
