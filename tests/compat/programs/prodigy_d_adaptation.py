"""Prodigy, the learning-rate-free Adam (konstmish/prodigy, ``prodigyopt/prodigy.py``), with the
cosine schedule its README recommends, training a small MLP regressor.

The idioms kept: the per-group D-adaptation scalars in ``defaults`` (``d``, ``d0``,
``d_max``, ``d_numerator``, ``d_coef``, ``k``, ``growth_rate``, ``slice_p``), read from
``self.param_groups[0]``; ``lr = max(group['lr'] for group in self.param_groups)``; the bias
correction ``((1 - beta2**(k+1))**0.5) / (1 - beta1**(k+1))``; ``beta3 = math.sqrt(beta2)``;
state made with ``torch.zeros_like(p.data.flatten()[::slice_p]).detach()`` and ``p0 =
p.flatten()[::slice_p].detach().clone()`` (or ``torch.tensor(0, device=p.device,
dtype=p.dtype)`` when ``not p.any()``); ``d_numerator += (d / d0) * dlr * torch.dot(
sliced_grad, p0.data - p.data.flatten()[::slice_p]).item()``; ``exp_avg.mul_(beta1).add_(grad,
alpha=d * (1 - beta1))``, ``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=d * d * (1 -
beta2))``, ``s.mul_(beta3).add_(sliced_grad, alpha=...)``, ``d_denom += s.abs().sum().item()``;
``d_hat = d_coef * global_d_numerator / global_d_denom`` with ``max``/``min`` growth; the
decoupled decay ``p.data.add_(p.data, alpha=-decay * dlr)``, ``denom =
exp_avg_sq.sqrt().add_(d * eps)``, ``p.data.addcdiv_(exp_avg, denom, value=-dlr)`` (or of the
gradient when ``beta1 == 0``); coupled decay ``grad.add_(p.data, alpha=decay)``;
``CosineAnnealingLR(optimizer, T_max=...)``.

Changed: no FSDP all-reduce of the D sums (one process), a 3-8-1 MLP (one bias initialised
to zeros, for the ``p.any()`` branch), 8 steps, ``slice_p=2`` on one run and ``beta1=0`` with
coupled decay and ``safeguard_warmup`` on the other.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

STEPS = 8


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    model = nn.Sequential(nn.Linear(3, 8), nn.SiLU(), nn.Linear(8, 1))
    nn.init.zeros_(model[2].bias)
    return model


def _prodigy(torch: Any) -> type:
    class Prodigy(torch.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 1.0, betas: tuple = (0.9, 0.999),
                     beta3: Any = None, eps: float = 1e-8, weight_decay: float = 0,
                     decouple: bool = True, use_bias_correction: bool = False,
                     safeguard_warmup: bool = False, d0: float = 1e-6, d_coef: float = 1.0,
                     growth_rate: float = float("inf"), fsdp_in_use: bool = False,
                     slice_p: int = 1) -> None:  # fmt: skip
            if not 0.0 < d0:
                raise ValueError(f"Invalid d0 value: {d0}")
            if not 0.0 < lr:
                raise ValueError(f"Invalid learning rate: {lr}")
            if not 0.0 < eps:
                raise ValueError(f"Invalid epsilon value: {eps}")
            if not 0.0 <= betas[0] < 1.0:
                raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
            if not 0.0 <= betas[1] < 1.0:
                raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
            defaults = dict(lr=lr, betas=betas, beta3=beta3, eps=eps,
                            weight_decay=weight_decay, d=d0, d0=d0, d_max=d0,
                            d_numerator=0.0, d_coef=d_coef, k=0, growth_rate=growth_rate,
                            use_bias_correction=use_bias_correction, decouple=decouple,
                            safeguard_warmup=safeguard_warmup, fsdp_in_use=fsdp_in_use,
                            slice_p=slice_p)  # fmt: skip
            self.d0 = d0
            super().__init__(params, defaults)

        @property
        def supports_memory_efficient_fp16(self) -> bool:
            return False

        @property
        def supports_flat_params(self) -> bool:
            return True

        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                loss = closure()
            d_denom = 0.0
            group = self.param_groups[0]
            use_bias_correction = group["use_bias_correction"]
            beta1, beta2 = group["betas"]
            beta3 = group["beta3"]
            if beta3 is None:
                beta3 = math.sqrt(beta2)
            k = group["k"]
            d = group["d"]
            d_max = group["d_max"]
            d_coef = group["d_coef"]
            lr = max(group["lr"] for group in self.param_groups)
            if use_bias_correction:
                bias_correction = ((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1))
            else:
                bias_correction = 1
            dlr = d * lr * bias_correction
            growth_rate = group["growth_rate"]
            decouple = group["decouple"]
            fsdp_in_use = group["fsdp_in_use"]
            d_numerator = group["d_numerator"]
            d_numerator *= beta3
            for group in self.param_groups:
                decay = group["weight_decay"]
                k = group["k"]
                eps = group["eps"]
                group_lr = group["lr"]
                d0 = group["d0"]
                safeguard_warmup = group["safeguard_warmup"]
                slice_p = group["slice_p"]
                if group_lr not in [lr, 0.0]:
                    raise RuntimeError(
                        "Setting different lr values in different parameter groups is only "
                        "supported for values of 0"
                    )
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if hasattr(p, "_fsdp_flattened"):
                        fsdp_in_use = True
                    grad = p.grad.data
                    # Apply weight decay (coupled variant)
                    if decay != 0 and not decouple:
                        grad.add_(p.data, alpha=decay)
                    state = self.state[p]
                    # State initialization
                    if "step" not in state:
                        state["step"] = 0
                        state["s"] = torch.zeros_like(p.data.flatten()[::slice_p]).detach()
                        if p.any():
                            state["p0"] = p.flatten()[::slice_p].detach().clone()
                        else:
                            # All values are zero, so save VRAM with a zero-tensor
                            state["p0"] = torch.tensor(0, device=p.device, dtype=p.dtype)
                        # Exponential moving average of gradient values
                        if beta1 > 0:
                            state["exp_avg"] = torch.zeros_like(p.data).detach()
                        # Exponential moving average of squared gradient values
                        state["exp_avg_sq"] = torch.zeros_like(p.data).detach()
                    exp_avg_sq = state["exp_avg_sq"]
                    s = state["s"]
                    p0 = state["p0"]
                    if group_lr > 0.0:
                        # we use d / d0 instead of just d to avoid getting values that are too small
                        sliced_grad = grad.flatten()[::slice_p]
                        d_numerator += (
                            (d / d0)
                            * dlr
                            * torch.dot(sliced_grad, p0.data - p.data.flatten()[::slice_p]).item()
                        )
                        # Adam EMA updates
                        if beta1 > 0:
                            exp_avg = state["exp_avg"]
                            exp_avg.mul_(beta1).add_(grad, alpha=d * (1 - beta1))
                        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=d * d * (1 - beta2))
                        if safeguard_warmup:
                            s.mul_(beta3).add_(sliced_grad, alpha=((d / d0) * d))
                        else:
                            s.mul_(beta3).add_(sliced_grad, alpha=((d / d0) * dlr))
                        d_denom += s.abs().sum().item()
            d_hat = d
            # if we have not done any progres, return
            # if we have any gradients available, will have d_denom > 0 (unless \|g\|=0)
            if d_denom == 0:
                return loss
            if lr > 0.0:
                if fsdp_in_use:  # (the all-reduce of the two sums: no process group here)
                    raise RuntimeError("fsdp_in_use needs torch.distributed")
                else:
                    global_d_numerator = d_numerator
                    global_d_denom = d_denom
                d_hat = d_coef * global_d_numerator / global_d_denom
                if d == group["d0"]:
                    d = max(d, d_hat)
                d_max = max(d_max, d_hat)
                d = min(d_max, d * growth_rate)
            for group in self.param_groups:
                group["d_numerator"] = global_d_numerator
                group["d_denom"] = global_d_denom
                group["d"] = d
                group["d_max"] = d_max
                group["d_hat"] = d_hat
                decay = group["weight_decay"]
                k = group["k"]
                eps = group["eps"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    state = self.state[p]
                    exp_avg_sq = state["exp_avg_sq"]
                    state["step"] += 1
                    denom = exp_avg_sq.sqrt().add_(d * eps)
                    # Apply weight decay (decoupled variant)
                    if decay != 0 and decouple:
                        p.data.add_(p.data, alpha=-decay * dlr)
                    ### Take step
                    if beta1 > 0:
                        exp_avg = state["exp_avg"]
                        p.data.addcdiv_(exp_avg, denom, value=-dlr)
                    else:
                        p.data.addcdiv_(grad, denom, value=-dlr * d)
                group["k"] = k + 1
            return loss

    return Prodigy


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    Prodigy = _prodigy(torch)
    rng = np.random.default_rng(1)
    values: list[float] = []
    settings = (
        dict(weight_decay=0.01, slice_p=2, use_bias_correction=True),
        dict(betas=(0.0, 0.99), weight_decay=0.01, decouple=False, safeguard_warmup=True),
    )
    for kwargs in settings:
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        optimizer = Prodigy(model.parameters(), lr=1.0, **kwargs)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)
        for _step in range(STEPS):
            x = rng.standard_normal((6, 3))
            y = np.sin(x.sum(1, keepdims=True))
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(as_tensor(torch, x)), as_tensor(torch, y))
            loss.backward()
            optimizer.step()
            scheduler.step()
            values += [loss.item(), optimizer.param_groups[0]["d"]]
    return values
