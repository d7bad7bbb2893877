"""The Sophia optimizer, as Liuhong99/Sophia's ``sophia.py`` (``SophiaG``: ``update_hessian``,
``step(bs=...)``, ``_single_tensor_sophiag``) and its nanoGPT ``train_sophiag.py`` loop write
it (the Gauss-Newton-Bartlett Hessian estimate from labels sampled off the model's own
logits), size-reduced to a tiny character LM; plus the paper's clipped update written as the
re-implementations do, ``torch.clamp(m / (rho * h + eps), -1, 1)``.

The idioms: an ``Optimizer`` subclass with ``__setstate__`` (``group.setdefault('maximize',
False)``), the per-parameter state ``torch.tensor(0.)`` step counter (a float32 0-d tensor
incremented in place, ``step_t += 1``), ``torch.zeros_like(p,
memory_format=torch.preserve_format)``, ``'hessian' not in state.keys()``; the EMA
``state['hessian'].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)``; the update
``param.mul_(1 - lr * weight_decay)``, ``exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)``,
``ratio = (exp_avg.abs() / (rho * bs * hess + 1e-15)).clamp(None, 1)`` and
``param.addcmul_(exp_avg.sign(), ratio, value=step_size_neg)``; ``torch.is_complex(param)``;
the loop's every-k-steps estimate ``samp_dist = torch.distributions.Categorical(
logits=logits)``, ``y_sample = samp_dist.sample()``, ``F.cross_entropy(logits.view(-1,
logits.size(-1)), y_sample.view(-1), ignore_index=-1)``, ``optimizer.update_hessian()``,
``optimizer.zero_grad(set_to_none=True)``; the ``clip_grad_norm_`` before ``step``; and the
``state_dict()`` / ``load_state_dict`` round trip of the optimizer (its tensors and
``hessian``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, D, T, B, STEPS, HESS_INTERVAL = 9, 8, 6, 4, 6, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(VOCAB, D)
            self.rnn = nn.GRU(D, D, batch_first=True)
            self.ln_f = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, VOCAB, bias=False)

        def forward(self, idx: Any, targets: Any = None) -> tuple[Any, Any]:
            h, _ = self.rnn(self.wte(idx))
            logits = self.lm_head(self.ln_f(h))
            loss = None
            if targets is not None:
                loss = nn.functional.cross_entropy(
                    logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
                )
            return logits, loss

    return TinyLM()


def _sophia_class(torch_like: Any, clamp_form: bool) -> Any:
    torch = torch_like
    Optimizer = torch.optim.Optimizer

    def _single_tensor_sophiag(params: list, grads: list, exp_avgs: list, hessian: list,
                               state_steps: list, *, bs: int, beta1: float, beta2: float,
                               rho: float, lr: float, weight_decay: float, maximize: bool,
                               capturable: bool) -> None:  # fmt: skip
        for i, param in enumerate(params):
            grad = grads[i] if not maximize else -grads[i]
            exp_avg = exp_avgs[i]
            hess = hessian[i]
            step_t = state_steps[i]
            if torch.is_complex(param):
                grad = torch.view_as_real(grad)
                exp_avg = torch.view_as_real(exp_avg)
                hess = torch.view_as_real(hess)
                param = torch.view_as_real(param)
            # update step
            step_t += 1
            # Perform stepweight decay
            param.mul_(1 - lr * weight_decay)
            # Decay the first and second moment running average coefficient
            exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            step_size_neg = -lr
            if clamp_form:
                update = torch.clamp(exp_avg / (rho * bs * hess + 1e-15), -1, 1)
                param.add_(update, alpha=step_size_neg)
            else:
                ratio = (exp_avg.abs() / (rho * bs * hess + 1e-15)).clamp(None, 1)
                param.addcmul_(exp_avg.sign(), ratio, value=step_size_neg)

    class SophiaG(Optimizer):
        def __init__(self, params: Any, lr: float = 1e-4, betas: tuple = (0.965, 0.99),
                     rho: float = 0.04, weight_decay: float = 1e-1, *, maximize: bool = False,
                     capturable: bool = False) -> None:  # fmt: skip
            if not 0.0 <= lr:
                raise ValueError(f"Invalid learning rate: {lr}")
            if not 0.0 <= betas[0] < 1.0:
                raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
            if not 0.0 <= rho:
                raise ValueError(f"Invalid rho parameter at index 1: {rho}")
            defaults = dict(lr=lr, betas=betas, rho=rho, weight_decay=weight_decay,
                            maximize=maximize, capturable=capturable)  # fmt: skip
            super().__init__(params, defaults)

        def __setstate__(self, state: dict) -> None:
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("maximize", False)
                group.setdefault("capturable", False)
            state_values = list(self.state.values())
            step_is_tensor = (len(state_values) != 0) and torch.is_tensor(state_values[0]["step"])
            if not step_is_tensor:
                for s in state_values:
                    s["step"] = torch.tensor(float(s["step"]))

        @torch.no_grad()
        def update_hessian(self) -> None:
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = torch.tensor(0.0)
                        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                        state["hessian"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if "hessian" not in state.keys():
                        state["hessian"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["hessian"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)

        @torch.no_grad()
        def step(self, closure: Any = None, bs: int = 5120) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                params_with_grad, grads, exp_avgs, state_steps, hessian = [], [], [], [], []
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    params_with_grad.append(p)
                    if p.grad.is_sparse:
                        raise RuntimeError("Hero does not support sparse gradients")
                    grads.append(p.grad)
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = torch.tensor(0.0)
                        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                        state["hessian"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if "hessian" not in state.keys():
                        state["hessian"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    exp_avgs.append(state["exp_avg"])
                    state_steps.append(state["step"])
                    hessian.append(state["hessian"])
                _single_tensor_sophiag(
                    params_with_grad, grads, exp_avgs, hessian, state_steps, bs=bs,
                    beta1=beta1, beta2=beta2, rho=group["rho"], lr=group["lr"],
                    weight_decay=group["weight_decay"], maximize=group["maximize"],
                    capturable=group["capturable"],
                )  # fmt: skip
            return loss

    return SophiaG


def run(torch_like: Any, init: dict) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(17)
    data = rng.integers(0, VOCAB, 200)
    values: list[float] = []
    for clamp_form in (False, True):
        SophiaG = _sophia_class(torch_like, clamp_form)
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        optimizer = SophiaG(model.parameters(), lr=2e-2, betas=(0.965, 0.99), rho=0.05,
                            weight_decay=0.1)  # fmt: skip
        torch.manual_seed(3)
        for iter_num in range(STEPS):
            ix = rng.integers(0, len(data) - T - 1, B)
            X = as_tensor(torch_like, np.stack([data[i : i + T] for i in ix]))
            Y = as_tensor(torch_like, np.stack([data[i + 1 : i + 1 + T] for i in ix]))
            logits, loss = model(X, Y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step(bs=B * T)
            optimizer.zero_grad(set_to_none=True)
            values.append(loss.item())
            if iter_num % HESS_INTERVAL == HESS_INTERVAL - 1:
                # update hessian EMA
                logits, _ = model(X, None)
                samp_dist = torch.distributions.Categorical(logits=logits)
                y_sample = samp_dist.sample()
                loss_sampled = F.cross_entropy(
                    logits.view(-1, logits.size(-1)), y_sample.view(-1), ignore_index=-1
                )
                loss_sampled.backward()
                optimizer.update_hessian()
                optimizer.zero_grad(set_to_none=True)
                values.append(loss_sampled.item())
        sd = copy.deepcopy(optimizer.state_dict())
        first = sd["state"][0]
        values += [first["step"].item(), first["hessian"].sum().item(), float(len(sd["state"]))]
        restored = SophiaG(model.parameters(), lr=2e-2)
        restored.load_state_dict(sd)
        values.append(restored.state[next(iter(model.parameters()))]["hessian"].abs().sum().item())
        values.append(str(restored.state[next(iter(model.parameters()))]["step"].dtype) != "")
    return values
