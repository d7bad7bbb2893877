"""Two community optimizers as their repositories write them: lessw2020's
``Ranger-Deep-Learning-Optimizer`` (``ranger/ranger2020.py``: RAdam + LookAhead + Gradient
Centralization) and juntang-zhuang's ``Adabelief-Optimizer`` (``adabelief_pytorch/
AdaBelief.py`` v0.2), training a small CNN on a seeded NumPy stream.

The idioms kept: ``centralized_gradient`` (``x.add_(-x.mean(dim=tuple(range(1, size)),
keepdim=True))``, conv-only or conv + fc); Ranger's ``grad = p.grad.data.float()``,
``p_data_fp32 = p.data.float()``, state made with ``torch.zeros_like``/``torch.empty_like(
p.data)`` + ``copy_``, ``state['exp_avg'].type_as(p_data_fp32)`` on later steps, the deprecated
overloads ``exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)`` and
``exp_avg.mul_(beta1).add_(1 - beta1, grad)`` (their warnings shown and filtered), the
``radam_buffer[int(state['step'] % 10)]`` cache, ``G_grad = exp_avg / denom`` or ``exp_avg``
itself (so weight decay's ``G_grad.add_(p_data_fp32, alpha=...)`` mutates the moment, as in
the repository), ``p_data_fp32.add_(G_grad, alpha=-step_size * group['lr'])``,
``p.data.copy_(p_data_fp32)`` and the LookAhead ``slow_p.add_(p.data - slow_p,
alpha=self.alpha)``; AdaBelief's ``group['buffer']`` in the defaults, decoupled decay
``p.data.mul_(1.0 - group['lr'] * group['weight_decay'])``, ``grad_residual = grad - exp_avg``,
``exp_avg_var.mul_(beta2).addcmul_(grad_residual, grad_residual, value=1 - beta2)``, AMSGrad's
``torch.max(max_exp_avg_var, exp_avg_var.add_(group['eps']), out=max_exp_avg_var)``, the
rectified (``N_sma >= 5``) and default (``p.data.addcdiv_(exp_avg, denom, value=-step_size)``)
updates; ``optimizer.state_dict()``/``load_state_dict`` into a fresh optimizer mid-run.

Changed: the CNN is two 3x3 convolutions and a ``Linear`` on 6x6 inputs, 6 steps of batch 4,
``k=3`` LookAhead steps so the slow weights sync twice, ``N_sma_threshhold`` left at 5.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
STEPS = 6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(1, 3, 3),
        nn.ReLU(),
        nn.Conv2d(3, 4, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16, 3),
    )


def centralized_gradient(x: Any, use_gc: bool = True, gc_conv_only: bool = False) -> Any:
    """credit - https://github.com/Yonghongwei/Gradient-Centralization"""
    size = len(list(x.size()))
    if use_gc:
        if gc_conv_only:
            if size > 3:
                x.add_(-x.mean(dim=tuple(range(1, size)), keepdim=True))
        else:
            if size > 1:
                x.add_(-x.mean(dim=tuple(range(1, size)), keepdim=True))
    return x


def _optimizers(torch: Any) -> tuple[type, type]:
    Optimizer = torch.optim.Optimizer

    class Ranger(Optimizer):
        def __init__(self, params, lr=1e-3, alpha=0.5, k=5, N_sma_threshhold=5,
                     betas=(0.95, 0.999), eps=1e-5, weight_decay=0, use_gc=True,
                     gc_conv_only=False, gc_loc=True):  # noqa: ANN001 # fmt: skip
            if not 0.0 <= alpha <= 1.0:
                raise ValueError(f"Invalid slow update rate: {alpha}")
            if not 1 <= k:
                raise ValueError(f"Invalid lookahead steps: {k}")
            if not lr > 0:
                raise ValueError(f"Invalid Learning Rate: {lr}")
            if not eps > 0:
                raise ValueError(f"Invalid eps: {eps}")
            defaults = dict(lr=lr, alpha=alpha, k=k, step_counter=0, betas=betas,
                            N_sma_threshhold=N_sma_threshhold, eps=eps,
                            weight_decay=weight_decay)  # fmt: skip
            super().__init__(params, defaults)
            self.N_sma_threshhold = N_sma_threshhold
            self.alpha = alpha
            self.k = k
            self.radam_buffer = [[None, None, None] for ind in range(10)]
            self.gc_loc = gc_loc
            self.use_gc = use_gc
            self.gc_conv_only = gc_conv_only

        def __setstate__(self, state: dict) -> None:
            super(Ranger, self).__setstate__(state)  # noqa: UP008

        def step(self, closure=None):  # noqa: ANN001, ANN201
            loss = None
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data.float()
                    if grad.is_sparse:
                        raise RuntimeError("Ranger optimizer does not support sparse gradients")
                    p_data_fp32 = p.data.float()
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["exp_avg"] = torch.zeros_like(p_data_fp32)
                        state["exp_avg_sq"] = torch.zeros_like(p_data_fp32)
                        state["slow_buffer"] = torch.empty_like(p.data)
                        state["slow_buffer"].copy_(p.data)
                    else:
                        state["exp_avg"] = state["exp_avg"].type_as(p_data_fp32)
                        state["exp_avg_sq"] = state["exp_avg_sq"].type_as(p_data_fp32)
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    beta1, beta2 = group["betas"]
                    if self.gc_loc:
                        grad = centralized_gradient(
                            grad, use_gc=self.use_gc, gc_conv_only=self.gc_conv_only
                        )
                    state["step"] += 1
                    exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
                    exp_avg.mul_(beta1).add_(1 - beta1, grad)
                    buffered = self.radam_buffer[int(state["step"] % 10)]
                    if state["step"] == buffered[0]:
                        N_sma, step_size = buffered[1], buffered[2]
                    else:
                        buffered[0] = state["step"]
                        beta2_t = beta2 ** state["step"]
                        N_sma_max = 2 / (1 - beta2) - 1
                        N_sma = N_sma_max - 2 * state["step"] * beta2_t / (1 - beta2_t)
                        buffered[1] = N_sma
                        if N_sma > self.N_sma_threshhold:
                            step_size = math.sqrt(
                                (1 - beta2_t) * (N_sma - 4) / (N_sma_max - 4) * (N_sma - 2)
                                / N_sma * N_sma_max / (N_sma_max - 2)
                            ) / (1 - beta1 ** state["step"])  # fmt: skip
                        else:
                            step_size = 1.0 / (1 - beta1 ** state["step"])
                        buffered[2] = step_size
                    if N_sma > self.N_sma_threshhold:
                        denom = exp_avg_sq.sqrt().add_(group["eps"])
                        G_grad = exp_avg / denom
                    else:
                        G_grad = exp_avg
                    if group["weight_decay"] != 0:
                        G_grad.add_(p_data_fp32, alpha=group["weight_decay"])
                    if self.gc_loc == False:  # noqa: E712 (as in the repository)
                        G_grad = centralized_gradient(
                            G_grad, use_gc=self.use_gc, gc_conv_only=self.gc_conv_only
                        )
                    p_data_fp32.add_(G_grad, alpha=-step_size * group["lr"])
                    p.data.copy_(p_data_fp32)
                    if state["step"] % group["k"] == 0:
                        slow_p = state["slow_buffer"]
                        slow_p.add_(p.data - slow_p, alpha=self.alpha)
                        p.data.copy_(slow_p)
            return loss

    class AdaBelief(Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0,
                     amsgrad=False, weight_decouple=True, fixed_decay=False, rectify=True,
                     degenerated_to_sgd=True):  # noqa: ANN001 # fmt: skip
            if not 0.0 <= lr:
                raise ValueError(f"Invalid learning rate: {lr}")
            if not 0.0 <= eps:
                raise ValueError(f"Invalid epsilon value: {eps}")
            self.degenerated_to_sgd = degenerated_to_sgd
            if (
                isinstance(params, (list, tuple))
                and len(params) > 0
                and isinstance(params[0], dict)
            ):
                for param in params:
                    if "betas" in param and (
                        param["betas"][0] != betas[0] or param["betas"][1] != betas[1]
                    ):
                        param["buffer"] = [[None, None, None] for _ in range(10)]
            defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                            amsgrad=amsgrad,
                            buffer=[[None, None, None] for _ in range(10)])  # fmt: skip
            super().__init__(params, defaults)
            self.weight_decouple = weight_decouple
            self.rectify = rectify
            self.fixed_decay = fixed_decay

        def step(self, closure=None):  # noqa: ANN001, ANN201
            loss = None
            if closure is not None:
                loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    amsgrad = group["amsgrad"]
                    state = self.state[p]
                    beta1, beta2 = group["betas"]
                    if len(state) == 0:
                        state["rho_inf"] = 2.0 / (1.0 - beta2) - 1.0
                        state["step"] = 0
                        state["exp_avg"] = torch.zeros_like(
                            p.data, memory_format=torch.preserve_format
                        )
                        state["exp_avg_var"] = torch.zeros_like(
                            p.data, memory_format=torch.preserve_format
                        )
                        if amsgrad:
                            state["max_exp_avg_var"] = torch.zeros_like(
                                p.data, memory_format=torch.preserve_format
                            )
                    if self.weight_decouple:
                        if not self.fixed_decay:
                            p.data.mul_(1.0 - group["lr"] * group["weight_decay"])
                        else:
                            p.data.mul_(1.0 - group["weight_decay"])
                    else:
                        if group["weight_decay"] != 0:
                            grad.add_(p.data, alpha=group["weight_decay"])
                    exp_avg, exp_avg_var = state["exp_avg"], state["exp_avg_var"]
                    state["step"] += 1
                    bias_correction1 = 1 - beta1 ** state["step"]
                    bias_correction2 = 1 - beta2 ** state["step"]
                    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                    grad_residual = grad - exp_avg
                    exp_avg_var.mul_(beta2).addcmul_(grad_residual, grad_residual, value=1 - beta2)
                    if amsgrad:
                        max_exp_avg_var = state["max_exp_avg_var"]
                        torch.max(max_exp_avg_var, exp_avg_var.add_(group["eps"]),
                                  out=max_exp_avg_var)  # fmt: skip
                        denom = (max_exp_avg_var.sqrt() / math.sqrt(bias_correction2)).add_(
                            group["eps"]
                        )
                    else:
                        denom = (
                            exp_avg_var.add_(group["eps"]).sqrt() / math.sqrt(bias_correction2)
                        ).add_(group["eps"])
                    if not self.rectify:
                        step_size = group["lr"] / bias_correction1
                        p.data.addcdiv_(exp_avg, denom, value=-step_size)
                    else:
                        buffered = group["buffer"][int(state["step"] % 10)]
                        if state["step"] == buffered[0]:
                            N_sma, step_size = buffered[1], buffered[2]
                        else:
                            buffered[0] = state["step"]
                            beta2_t = beta2 ** state["step"]
                            N_sma_max = 2 / (1 - beta2) - 1
                            N_sma = N_sma_max - 2 * state["step"] * beta2_t / (1 - beta2_t)
                            buffered[1] = N_sma
                            if N_sma >= 5:
                                step_size = math.sqrt(
                                    (1 - beta2_t) * (N_sma - 4) / (N_sma_max - 4) * (N_sma - 2)
                                    / N_sma * N_sma_max / (N_sma_max - 2)
                                ) / (1 - beta1 ** state["step"])  # fmt: skip
                            elif self.degenerated_to_sgd:
                                step_size = 1.0 / (1 - beta1 ** state["step"])
                            else:
                                step_size = -1
                            buffered[2] = step_size
                        if N_sma >= 5:
                            denom = exp_avg_var.sqrt().add_(group["eps"])
                            p.data.addcdiv_(exp_avg, denom, value=-step_size * group["lr"])
                        elif step_size > 0:
                            p.data.add_(exp_avg, alpha=-step_size * group["lr"])
            return loss

    return Ranger, AdaBelief


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    Ranger, AdaBelief = _optimizers(torch)
    rng = np.random.default_rng(20)
    values: list[float] = []
    for which in ("ranger", "ranger_gc_after", "adabelief"):
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        if which == "ranger":
            make = lambda params: Ranger(params, lr=0.03, k=3, weight_decay=1e-3)  # noqa: E731
        elif which == "ranger_gc_after":
            make = lambda params: Ranger(params, lr=0.03, k=3, gc_conv_only=True,  # noqa: E731
                                         gc_loc=False, N_sma_threshhold=4)  # fmt: skip
        else:
            convs = [p for n, p in model.named_parameters() if n.startswith(("0.", "2."))]
            head = list(model[5].parameters())

            def make(params: Any, convs: list = convs, head: list = head) -> Any:
                return AdaBelief([{"params": convs, "amsgrad": True},
                                  {"params": head, "betas": (0.8, 0.99), "rectify": False}],
                                 lr=0.02, weight_decay=1e-2, eps=1e-12)  # fmt: skip

        optimizer = make(model.parameters())
        for step in range(STEPS):
            if step == 4:  # a fresh optimizer resumed from the state dict
                state = optimizer.state_dict()
                optimizer = make(model.parameters())
                optimizer.load_state_dict(state)
            x = as_tensor(torch, rng.standard_normal((4, 1, 6, 6)).astype(np.float32))
            y = as_tensor(torch, rng.integers(0, 3, 4))
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "This overload of add", UserWarning)
                optimizer.step()
            values.append(loss.item())
        values.append(sum(p.detach().abs().sum().item() for p in model.parameters()))
    return values
