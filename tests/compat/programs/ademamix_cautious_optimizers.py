"""Two 2024-25 user optimizers as their reference repositories write them: Apple's AdEMAMix
(apple/ml-ademamix, ``pytorch/ademamix.py``) and Cautious AdamW (kyleliang919/C-Optim,
``c_adamw.py``), each training a small MLP, then a resume from a checkpoint whose
hyper-parameters came from a YAML/JSON config (lists, not tuples).

AdEMAMix: ``linear_warmup_scheduler`` and the half-life ``linear_hl_warmup_scheduler``
(``math.log(0.5)/math.log(beta+eps)-1`` and its inverse ``math.pow(0.5, 1/(t+1))``), three
betas unpacked from one group entry (``beta1, beta2, beta3_final = group["betas"]``), the
``alpha_warmup`` / ``beta3_warmup`` warm-ups, state ``exp_avg_fast`` only when ``beta1 !=
0.0``, ``exp_avg_slow``, ``exp_avg_sq``; ``denom = (exp_avg_sq.sqrt() /
math.sqrt(bias_correction2)).add_(eps)``, ``update = (exp_avg_fast.div(bias_correction1) +
alpha * exp_avg_slow) / denom``, ``update.add_(p, alpha=lmbda)``, ``p.add_(-lr * update)``;
``@torch.no_grad()`` on ``step`` with ``with torch.enable_grad(): loss = closure()``; an
``__setstate__`` override.

Cautious AdamW: the usual moments with ``step_size = group["lr"] / bias_correction1`` and
``denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])``, the mask
``(exp_avg * grad > 0).to(grad.dtype)`` rescaled by ``mask.numel() / (mask.sum() + 1)``,
``p.add_(norm_grad, alpha=-step_size)``, then the decay ``p.add_(p, alpha=(-group["lr"] *
group["weight_decay"]))``; an int ``state["step"]``.

The resume: ``optimizer.state_dict()`` edited with the config's list ``betas`` and loaded into a
fresh optimizer, which must equal the config (``group["betas"] == cfg["betas"]``: a list, as
torch keeps it) and continue the same run.

Changed: a 4-12-1 MLP, 6 steps per optimizer, warm-ups of 4 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

STEPS = 6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(4, 12), nn.Tanh(), nn.Linear(12, 1))


def linear_warmup_scheduler(step: int, alpha_end: float, alpha_start: float = 0,
                            warmup: int = 1) -> float:  # fmt: skip
    if step < warmup:
        a = step / float(warmup)
        return (1.0 - a) * alpha_start + a * alpha_end
    return alpha_end


def linear_hl_warmup_scheduler(step: int, beta_end: float, beta_start: float = 0,
                               warmup: int = 1) -> float:  # fmt: skip
    def f(beta: float, eps: float = 1e-8) -> float:
        return math.log(0.5) / math.log(beta + eps) - 1

    def f_inv(t: float) -> float:
        return math.pow(0.5, 1 / (t + 1))

    if step < warmup:
        a = step / float(warmup)
        return f_inv((1.0 - a) * f(beta_start) + a * f(beta_end))
    return beta_end


def _optimizers(torch: Any) -> tuple[type, type]:
    class AdEMAMix(torch.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 1e-3, betas: Any = (0.9, 0.999, 0.9999),
                     alpha: float = 2.0, beta3_warmup: Any = None, alpha_warmup: Any = None,
                     eps: float = 1e-8, weight_decay: float = 0) -> None:  # fmt: skip
            if not 0.0 <= lr:
                raise ValueError(f"Invalid learning rate: {lr}")
            if not 0.0 <= betas[2] < 1.0:
                raise ValueError(f"Invalid beta parameter at index 2: {betas[2]}")
            defaults = dict(lr=lr, betas=betas, eps=eps, alpha=alpha, beta3_warmup=beta3_warmup,
                            alpha_warmup=alpha_warmup, weight_decay=weight_decay)  # fmt: skip
            super().__init__(params, defaults)

        def __setstate__(self, state: dict) -> None:
            super().__setstate__(state)

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                lr = group["lr"]
                lmbda = group["weight_decay"]
                eps = group["eps"]
                beta1, beta2, beta3_final = group["betas"]
                beta3_warmup = group["beta3_warmup"]
                alpha_final = group["alpha"]
                alpha_warmup = group["alpha_warmup"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        if beta1 != 0.0:
                            state["exp_avg_fast"] = torch.zeros_like(
                                p, memory_format=torch.preserve_format
                            )
                        else:
                            state["exp_avg_fast"] = None
                        state["exp_avg_slow"] = torch.zeros_like(
                            p, memory_format=torch.preserve_format
                        )
                        state["exp_avg_sq"] = torch.zeros_like(
                            p, memory_format=torch.preserve_format
                        )
                    exp_avg_fast, exp_avg_slow, exp_avg_sq = (
                        state["exp_avg_fast"], state["exp_avg_slow"], state["exp_avg_sq"]
                    )  # fmt: skip
                    state["step"] += 1
                    bias_correction1 = 1 - beta1 ** state["step"]
                    bias_correction2 = 1 - beta2 ** state["step"]
                    if alpha_warmup is not None:
                        alpha = linear_warmup_scheduler(
                            state["step"], alpha_end=alpha_final, alpha_start=0, warmup=alpha_warmup
                        )
                    else:
                        alpha = alpha_final
                    if beta3_warmup is not None:
                        beta3 = linear_hl_warmup_scheduler(
                            state["step"],
                            beta_end=beta3_final,
                            beta_start=beta1,
                            warmup=beta3_warmup,
                        )
                    else:
                        beta3 = beta3_final
                    if beta1 != 0.0:
                        exp_avg_fast.mul_(beta1).add_(grad, alpha=1 - beta1)
                    else:
                        exp_avg_fast = grad
                    exp_avg_slow.mul_(beta3).add_(grad, alpha=1 - beta3)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(eps)
                    update = (exp_avg_fast.div(bias_correction1) + alpha * exp_avg_slow) / denom
                    update.add_(p, alpha=lmbda)
                    p.add_(-lr * update)
            return loss

    class AdamW(torch.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 1e-3, betas: Any = (0.9, 0.999),
                     eps: float = 1e-6, weight_decay: float = 0.0) -> None:  # fmt: skip
            defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    state = self.state[p]
                    if "step" not in state:
                        state["step"] = 0
                        state["exp_avg"] = torch.zeros_like(grad)
                        state["exp_avg_sq"] = torch.zeros_like(grad)
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    beta1, beta2 = group["betas"]
                    state["step"] += 1
                    exp_avg.mul_(beta1).add_(grad, alpha=(1.0 - beta1))
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                    step_size = group["lr"]
                    bias_correction1 = 1.0 - beta1 ** state["step"]
                    bias_correction2 = 1.0 - beta2 ** state["step"]
                    step_size = step_size / bias_correction1
                    denom = (exp_avg_sq.sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])
                    mask = (exp_avg * grad > 0).to(grad.dtype)
                    mask = mask * (mask.numel() / (mask.sum() + 1))
                    norm_grad = (exp_avg * mask) / denom
                    p.add_(norm_grad, alpha=-step_size)
                    if group["weight_decay"] > 0.0:
                        p.add_(p, alpha=(-group["lr"] * group["weight_decay"]))
            return loss

    return AdEMAMix, AdamW


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    AdEMAMix, CAdamW = _optimizers(torch)
    rng = np.random.default_rng(8)
    batches = [rng.standard_normal((10, 4)) for _ in range(STEPS)]
    values: list[float] = []
    configs = (
        (AdEMAMix, {"lr": 1e-2, "betas": [0.9, 0.999, 0.9999], "alpha": 5.0, "beta3_warmup": 4,
                    "alpha_warmup": 4, "weight_decay": 0.01}),
        (AdEMAMix, {"lr": 1e-2, "betas": [0.0, 0.99, 0.999], "alpha": 2.0}),
        (CAdamW, {"lr": 1e-2, "betas": [0.9, 0.95], "weight_decay": 0.1}),
    )  # fmt: skip
    for Optim, cfg in configs:
        model = make_model(torch)
        load_numpy_state(torch, model, init)
        kwargs = {**cfg, "betas": tuple(cfg["betas"])}
        optimizer = Optim(model.parameters(), **kwargs)

        def closure(x: Any, model: Any = model) -> Any:
            model.zero_grad()
            loss = F.mse_loss(model(x), torch.sin(x).sum(-1, keepdim=True))
            loss.backward()
            return loss

        for step, batch in enumerate(batches):
            x = as_tensor(torch, batch)
            loss = optimizer.step(lambda x=x: closure(x))
            values.append(loss.item())
            if step == STEPS // 2:  # resume from a checkpoint with the config's hyper-parameters
                sd = optimizer.state_dict()
                sd["param_groups"][0]["betas"] = cfg["betas"]
                optimizer = Optim(model.parameters(), **kwargs)
                optimizer.load_state_dict(sd)
                values.append(float(optimizer.param_groups[0]["betas"] == cfg["betas"]))
    return values
