"""Two research optimizers as their repositories write them, as ``torch.optim.Optimizer``
subclasses: facebookresearch/schedule_free's ``AdamWScheduleFree`` (``adamw_schedulefree.py``)
and sail-sg/Adan's ``Adan`` (``adan.py``, the multi-tensor and single-tensor paths), on a tiny
MLP regression, size-reduced.

Schedule-Free AdamW: ``defaults`` with the bookkeeping entries (``k=0``, ``train_mode=False``,
``weight_sum=0.0``, ``lr_max=-1.0``, ``scheduled_lr``, ``foreach=hasattr(torch,
"_foreach_mul_")``); ``@torch.no_grad() def eval(self)`` / ``train(self)`` switching the
parameters between the interpolated ``y`` and the average ``x`` with ``p.lerp_(end=state['z']
.to(p.device), weight=1 - 1 / beta1)``; ``step`` raising when not in train mode, the warmup
``sched``, ``lr_max = group['lr_max'] = max(lr, group['lr_max'])``, ``weight = ((k + 1) ** r) *
(lr_max ** weight_lr_power)``, the ``try: ckp1 = weight / weight_sum except
ZeroDivisionError``, the lazy ``state['z'] = torch.clone(p, memory_format=
torch.preserve_format)``; the foreach path (``y, grad, exp_avg_sq, z = zip(*[...])``,
``torch._foreach_mul_``, ``_foreach_addcmul_(..., value=1 - beta2)``, ``_foreach_div`` by a
number, ``_foreach_sqrt_``, ``_foreach_add_`` of a number and of a list with ``alpha``,
``_foreach_div_`` by a list, ``_foreach_lerp_(y, z, weight=ckp1)``, ``_foreach_sub_(z, grad,
alpha=lr)``) and the loop path (``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 -
beta2)``, ``exp_avg_sq.div(bias_correction2).sqrt_().add_(eps)``, ``grad.div_(denom)``,
``y.lerp_(end=z, weight=ckp1)``), which must agree. The training loop calls
``optimizer.train()`` / ``optimizer.eval()`` next to ``model.train()`` / ``model.eval()``,
saves a checkpoint in eval mode (``torch.save`` of both state dicts), resumes in a fresh model
and optimizer, and grows the optimizer with ``add_param_group`` (a new head, which gets the
defaults, ``train_mode=False`` included).

Adan: the ``ValueError`` checks of ``__init__``, ``__setstate__`` with ``group.setdefault(
'no_prox', False)``, the global gradient clipping (``global_grad_norm = torch.zeros(1,
device=device)``, ``global_grad_norm.add_(grad.pow(2).sum())``, ``torch.clamp(max_grad_norm /
(global_grad_norm + group['eps']), max=1.0).item()``), a per-group ``group['step']``,
``state['neg_pre_grad'] = p.grad.clone().mul_(-clip_global_grad_norm)``, and
``_multi_tensor_adan`` (``_foreach_mul_`` / ``_foreach_add_`` with ``alpha``,
``_foreach_addcmul_``, ``denom = torch._foreach_sqrt(exp_avg_sqs)``, ``_foreach_div_`` /
``_foreach_add_`` by numbers, ``_foreach_addcdiv_(params, exp_avgs, denom,
value=-step_size)``, ``_foreach_div_(params, 1 + lr * weight_decay)``, ``_foreach_zero_``)
checked against ``_single_tensor_adan`` (``param.addcdiv_``, ``neg_grad_or_diff.zero_().add_(
grad, alpha=-1.0)``), with and without ``no_prox``; ``restart_opt``.

Changed: a two-layer MLP on 8 random samples instead of a real model; a few steps each.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N_IN, N_HIDDEN, N_OUT, BATCH = 5, 7, 2, 8


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(N_IN, N_HIDDEN)
            self.norm = nn.LayerNorm(N_HIDDEN)
            self.fc2 = nn.Linear(N_HIDDEN, N_OUT)

        def forward(self, x: Any) -> Any:
            return self.fc2(nn.functional.gelu(self.norm(self.fc1(x))))

    return Net()


def _optimizers(torch_like: Any) -> tuple[type, type]:
    torch = torch_like

    class AdamWScheduleFree(torch.optim.Optimizer):
        def __init__(
            self,
            params: Any,
            lr: float = 0.0025,
            betas: tuple[float, float] = (0.9, 0.999),
            eps: float = 1e-8,
            weight_decay: float = 0,
            warmup_steps: int = 0,
            r: float = 0.0,
            weight_lr_power: float = 2.0,
            foreach: bool | None = hasattr(torch, "_foreach_mul_"),
        ) -> None:
            defaults = dict(
                lr=lr,
                betas=betas,
                eps=eps,
                r=r,
                k=0,
                warmup_steps=warmup_steps,
                train_mode=False,
                weight_sum=0.0,
                lr_max=-1.0,
                scheduled_lr=0.0,
                weight_lr_power=weight_lr_power,
                weight_decay=weight_decay,
                foreach=foreach,
            )
            super().__init__(params, defaults)

        @torch.no_grad()
        def eval(self) -> None:
            for group in self.param_groups:
                train_mode = group["train_mode"]
                beta1, _ = group["betas"]
                if train_mode:
                    for p in group["params"]:
                        state = self.state[p]
                        if "z" in state:
                            # Set p to x
                            p.lerp_(end=state["z"].to(p.device), weight=1 - 1 / beta1)
                    group["train_mode"] = False

        @torch.no_grad()
        def train(self) -> None:
            for group in self.param_groups:
                train_mode = group["train_mode"]
                beta1, _ = group["betas"]
                if not train_mode:
                    for p in group["params"]:
                        state = self.state[p]
                        if "z" in state:
                            # Set p to y
                            p.lerp_(end=state["z"].to(p.device), weight=1 - beta1)
                    group["train_mode"] = True

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            if not self.param_groups[0]["train_mode"]:
                raise Exception(
                    "Optimizer was not in train mode when step is called. "
                    "Please insert .train() and .eval() calls on the "
                    "optimizer. See documentation for details."
                )

            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()

            for group in self.param_groups:
                eps = group["eps"]
                beta1, beta2 = group["betas"]
                decay = group["weight_decay"]
                k = group["k"]
                r = group["r"]
                warmup_steps = group["warmup_steps"]
                weight_lr_power = group["weight_lr_power"]

                if k < warmup_steps:
                    sched = (k + 1) / warmup_steps
                else:
                    sched = 1.0

                bias_correction2 = 1 - beta2 ** (k + 1)
                lr = group["lr"] * sched
                group["scheduled_lr"] = lr  # For logging purposes

                lr_max = group["lr_max"] = max(lr, group["lr_max"])

                weight = ((k + 1) ** r) * (lr_max**weight_lr_power)
                weight_sum = group["weight_sum"] = group["weight_sum"] + weight

                try:
                    ckp1 = weight / weight_sum
                except ZeroDivisionError:
                    ckp1 = 0

                active_p = [p for p in group["params"] if p.grad is not None]

                for p in active_p:
                    if "z" not in self.state[p]:
                        self.state[p]["z"] = torch.clone(p, memory_format=torch.preserve_format)
                        self.state[p]["exp_avg_sq"] = torch.zeros_like(
                            p, memory_format=torch.preserve_format
                        )

                if group["foreach"] and len(active_p) > 0:
                    y, grad, exp_avg_sq, z = zip(
                        *[
                            (p, p.grad, self.state[p]["exp_avg_sq"], self.state[p]["z"])
                            for p in active_p
                        ]
                    )

                    # Decay the first and second moment running average coefficient
                    torch._foreach_mul_(exp_avg_sq, beta2)
                    torch._foreach_addcmul_(exp_avg_sq, grad, grad, value=1 - beta2)
                    denom = torch._foreach_div(exp_avg_sq, bias_correction2)
                    torch._foreach_sqrt_(denom)
                    torch._foreach_add_(denom, eps)

                    # Normalize grad in-place for memory efficiency
                    torch._foreach_div_(grad, denom)

                    # Weight decay calculated at y
                    if decay != 0:
                        torch._foreach_add_(grad, y, alpha=decay)

                    # These operations update y in-place,
                    # without computing x explicitly.
                    torch._foreach_lerp_(y, z, weight=ckp1)
                    torch._foreach_add_(y, grad, alpha=lr * (beta1 * (1 - ckp1) - 1))

                    # z step
                    torch._foreach_sub_(z, grad, alpha=lr)
                else:
                    for p in active_p:
                        y = p  # Notation to match theory
                        grad = p.grad

                        state = self.state[p]

                        z = state["z"]
                        exp_avg_sq = state["exp_avg_sq"]

                        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                        denom = exp_avg_sq.div(bias_correction2).sqrt_().add_(eps)

                        # Reuse grad buffer for memory efficiency
                        grad_normalized = grad.div_(denom)

                        # Weight decay calculated at y
                        if decay != 0:
                            grad_normalized.add_(y, alpha=decay)

                        # These operations update y in-place,
                        # without computing x explicitly.
                        y.lerp_(end=z, weight=ckp1)
                        y.add_(grad_normalized, alpha=lr * (beta1 * (1 - ckp1) - 1))

                        # z step
                        z.sub_(grad_normalized, alpha=lr)

                group["k"] = k + 1
            return loss

    def _multi_tensor_adan(
        params, grads, exp_avgs, exp_avg_sqs, exp_avg_diffs, neg_pre_grads, *, beta1, beta2,
        beta3, bias_correction1, bias_correction2, bias_correction3_sqrt, lr, weight_decay, eps,
        no_prox, clip_global_grad_norm,
    ) -> None:  # fmt: skip
        if len(params) == 0:
            return

        torch._foreach_mul_(grads, clip_global_grad_norm)

        # for memory saving, we use `neg_pre_grads`
        # to get some temp variable in a inplace way
        torch._foreach_add_(neg_pre_grads, grads)

        torch._foreach_mul_(exp_avgs, beta1)
        torch._foreach_add_(exp_avgs, grads, alpha=1 - beta1)  # m_t

        torch._foreach_mul_(exp_avg_diffs, beta2)
        torch._foreach_add_(exp_avg_diffs, neg_pre_grads, alpha=1 - beta2)  # diff_t

        torch._foreach_mul_(neg_pre_grads, beta2)
        torch._foreach_add_(neg_pre_grads, grads)
        torch._foreach_mul_(exp_avg_sqs, beta3)
        torch._foreach_addcmul_(exp_avg_sqs, neg_pre_grads, neg_pre_grads, value=1 - beta3)

        denom = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denom, bias_correction3_sqrt)
        torch._foreach_add_(denom, eps)

        step_size_diff = lr * beta2 / bias_correction2
        step_size = lr / bias_correction1

        if no_prox:
            torch._foreach_mul_(params, 1 - lr * weight_decay)
            torch._foreach_addcdiv_(params, exp_avgs, denom, value=-step_size)
            torch._foreach_addcdiv_(params, exp_avg_diffs, denom, value=-step_size_diff)
        else:
            torch._foreach_addcdiv_(params, exp_avgs, denom, value=-step_size)
            torch._foreach_addcdiv_(params, exp_avg_diffs, denom, value=-step_size_diff)
            torch._foreach_div_(params, 1 + lr * weight_decay)
        torch._foreach_zero_(neg_pre_grads)
        torch._foreach_add_(neg_pre_grads, grads, alpha=-1.0)

    def _single_tensor_adan(
        params, grads, exp_avgs, exp_avg_sqs, exp_avg_diffs, neg_pre_grads, *, beta1, beta2,
        beta3, bias_correction1, bias_correction2, bias_correction3_sqrt, lr, weight_decay, eps,
        no_prox, clip_global_grad_norm,
    ) -> None:  # fmt: skip
        for i, param in enumerate(params):
            grad = grads[i]
            exp_avg = exp_avgs[i]
            exp_avg_sq = exp_avg_sqs[i]
            exp_avg_diff = exp_avg_diffs[i]
            neg_grad_or_diff = neg_pre_grads[i]

            grad.mul_(clip_global_grad_norm)

            # for memory saving, we use `neg_grad_or_diff`
            # to get some temp variable in a inplace way
            neg_grad_or_diff.add_(grad)

            exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)  # m_t
            exp_avg_diff.mul_(beta2).add_(neg_grad_or_diff, alpha=1 - beta2)  # diff_t

            neg_grad_or_diff.mul_(beta2).add_(grad)
            exp_avg_sq.mul_(beta3).addcmul_(
                neg_grad_or_diff, neg_grad_or_diff, value=1 - beta3
            )  # n_t

            denom = ((exp_avg_sq).sqrt() / bias_correction3_sqrt).add_(eps)
            step_size_diff = lr * beta2 / bias_correction2
            step_size = lr / bias_correction1

            if no_prox:
                param.mul_(1 - lr * weight_decay)
                param.addcdiv_(exp_avg, denom, value=-step_size)
                param.addcdiv_(exp_avg_diff, denom, value=-step_size_diff)
            else:
                param.addcdiv_(exp_avg, denom, value=-step_size)
                param.addcdiv_(exp_avg_diff, denom, value=-step_size_diff)
                param.div_(1 + lr * weight_decay)

            neg_grad_or_diff.zero_().add_(grad, alpha=-1.0)

    class Adan(torch.optim.Optimizer):
        def __init__(
            self,
            params: Any,
            lr: float = 1e-3,
            betas: tuple[float, float, float] = (0.98, 0.92, 0.99),
            eps: float = 1e-8,
            weight_decay: float = 0.0,
            max_grad_norm: float = 0.0,
            no_prox: bool = False,
            foreach: bool = True,
        ) -> None:
            if not 0.0 <= max_grad_norm:
                raise ValueError("Invalid Max grad norm: {}".format(max_grad_norm))  # noqa: UP032
            if not 0.0 <= lr:
                raise ValueError("Invalid learning rate: {}".format(lr))  # noqa: UP032
            if not 0.0 <= eps:
                raise ValueError("Invalid epsilon value: {}".format(eps))  # noqa: UP032
            if not 0.0 <= betas[0] < 1.0:
                raise ValueError("Invalid beta parameter at index 0: {}".format(betas[0]))  # noqa: UP032
            defaults = dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                max_grad_norm=max_grad_norm,
                no_prox=no_prox,
                foreach=foreach,
            )
            super().__init__(params, defaults)

        def __setstate__(self, state: dict) -> None:
            super(Adan, self).__setstate__(state)  # noqa: UP008 (as in the repo)
            for group in self.param_groups:
                group.setdefault("no_prox", False)

        @torch.no_grad()
        def restart_opt(self) -> None:
            for group in self.param_groups:
                group["step"] = 0
                for p in group["params"]:
                    if p.requires_grad:
                        state = self.state[p]
                        # State initialization

                        # Exponential moving average of gradient values
                        state["exp_avg"] = torch.zeros_like(p)
                        # Exponential moving average of squared gradient values
                        state["exp_avg_sq"] = torch.zeros_like(p)
                        # Exponential moving average of gradient difference
                        state["exp_avg_diff"] = torch.zeros_like(p)

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()

            if self.defaults["max_grad_norm"] > 0:
                device = self.param_groups[0]["params"][0].device
                global_grad_norm = torch.zeros(1, device=device)

                max_grad_norm = torch.tensor(self.defaults["max_grad_norm"], device=device)
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            grad = p.grad
                            global_grad_norm.add_(grad.pow(2).sum())

                global_grad_norm = torch.sqrt(global_grad_norm)

                clip_global_grad_norm = torch.clamp(
                    max_grad_norm / (global_grad_norm + group["eps"]), max=1.0
                ).item()
            else:
                clip_global_grad_norm = 1.0

            for group in self.param_groups:
                params_with_grad = []
                grads = []
                exp_avgs = []
                exp_avg_sqs = []
                exp_avg_diffs = []
                neg_pre_grads = []

                beta1, beta2, beta3 = group["betas"]
                # assume same step across group now to simplify things
                # per parameter step can be easily support
                # by making it tensor, or pass list into kernel
                if "step" in group:
                    group["step"] += 1
                else:
                    group["step"] = 1

                bias_correction1 = 1.0 - beta1 ** group["step"]
                bias_correction2 = 1.0 - beta2 ** group["step"]
                bias_correction3 = 1.0 - beta3 ** group["step"]

                for p in group["params"]:
                    if p.grad is None:
                        continue
                    params_with_grad.append(p)
                    grads.append(p.grad)

                    state = self.state[p]
                    if len(state) == 0:
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                        state["exp_avg_diff"] = torch.zeros_like(p)

                    if "neg_pre_grad" not in state or group["step"] == 1:
                        state["neg_pre_grad"] = p.grad.clone().mul_(-clip_global_grad_norm)

                    exp_avgs.append(state["exp_avg"])
                    exp_avg_sqs.append(state["exp_avg_sq"])
                    exp_avg_diffs.append(state["exp_avg_diff"])
                    neg_pre_grads.append(state["neg_pre_grad"])

                kwargs = dict(
                    params=params_with_grad,
                    grads=grads,
                    exp_avgs=exp_avgs,
                    exp_avg_sqs=exp_avg_sqs,
                    exp_avg_diffs=exp_avg_diffs,
                    neg_pre_grads=neg_pre_grads,
                    beta1=beta1,
                    beta2=beta2,
                    beta3=beta3,
                    bias_correction1=bias_correction1,
                    bias_correction2=bias_correction2,
                    bias_correction3_sqrt=math.sqrt(bias_correction3),
                    lr=group["lr"],
                    weight_decay=group["weight_decay"],
                    eps=group["eps"],
                    no_prox=group["no_prox"],
                    clip_global_grad_norm=clip_global_grad_norm,
                )

                if group["foreach"]:
                    _multi_tensor_adan(**kwargs)
                else:
                    _single_tensor_adan(**kwargs)

            return loss

    return AdamWScheduleFree, Adan


def _data(torch_like: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((BATCH, N_IN))
    y = np.stack([np.sin(x[:, 0]) + x[:, 1], x[:, 2] * x[:, 3]], axis=1)
    return as_tensor(torch_like, x), as_tensor(torch_like, y)


def _fresh(torch_like: Any, init: dict | None) -> Any:
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    return model


def _groups(model: Any) -> list[dict]:
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}]


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    AdamWScheduleFree, Adan = _optimizers(torch_like)
    x, y = _data(torch_like)
    values: list[float] = []

    def train_epoch(model: Any, optimizer: Any, steps: int) -> list[float]:
        model.train()
        optimizer.train()
        losses = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    def evaluate(model: Any, optimizer: Any) -> float:
        model.eval()
        optimizer.eval()
        with torch.no_grad():
            return F.mse_loss(model(x), y).item()

    # Schedule-Free AdamW, foreach and loop paths side by side
    runs = []
    for foreach in (True, False):
        model = _fresh(torch_like, init)
        optimizer = AdamWScheduleFree(
            _groups(model), lr=0.05, warmup_steps=2, betas=(0.9, 0.99), foreach=foreach
        )
        try:
            optimizer.step()
        except Exception as e:  # the optimizer starts in eval mode
            values.append(float("not in train mode" in str(e)))
        losses = train_epoch(model, optimizer, 4)
        losses.append(evaluate(model, optimizer))
        losses += train_epoch(model, optimizer, 2)
        losses.append(evaluate(model, optimizer))
        runs.append((model, optimizer))
        values += losses
    (m1, o1), (m2, o2) = runs
    values.append(
        float(all(torch.allclose(a, b) for a, b in zip(m1.parameters(), m2.parameters())))
    )
    group = o1.param_groups[0]
    values += [group["k"], group["weight_sum"], group["lr_max"], group["scheduled_lr"]]
    values.append(float(group["train_mode"] is False))
    values += o1.state[m1.fc1.weight]["z"].flatten()[:5].tolist()

    # checkpoint in eval mode, resume in a fresh model / optimizer
    buffer = io.BytesIO()
    torch.save({"model": m1.state_dict(), "optimizer": o1.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    values.append(float(checkpoint["optimizer"]["param_groups"][0]["k"]))
    values.append(float(sorted(checkpoint["optimizer"]["state"][0]) == ["exp_avg_sq", "z"]))
    twin = make_model(torch_like)
    twin.load_state_dict(checkpoint["model"])
    twin_opt = AdamWScheduleFree(_groups(twin), lr=0.05, warmup_steps=2, betas=(0.9, 0.99))
    twin_opt.load_state_dict(checkpoint["optimizer"])
    values.append(float(twin_opt.param_groups[1]["weight_sum"]))
    original = train_epoch(m1, o1, 2) + [evaluate(m1, o1)]
    resumed = train_epoch(twin, twin_opt, 2) + [evaluate(twin, twin_opt)]
    values += original + resumed
    values.append(float(all(torch.equal(a, b) for a, b in zip(m1.parameters(), twin.parameters()))))

    # a head added later through add_param_group: it starts with the defaults (eval mode)
    head = torch.nn.Linear(N_OUT, 1)
    head.weight.data.fill_(0.1)
    head.bias.data.zero_()
    o1.add_param_group({"params": head.parameters(), "lr": 0.01})
    values.append(float(o1.param_groups[2]["train_mode"] is False))
    values.append(float(o1.param_groups[2]["k"]))
    o1.train()
    m1.train()
    for _ in range(2):
        o1.zero_grad(set_to_none=True)
        loss = head(m1(x)).pow(2).mean()
        loss.backward()
        o1.step()
        values.append(loss.item())
    values += head.weight.flatten().tolist() + [o1.param_groups[2]["k"]]

    # Adan: multi-tensor against single-tensor, with gradient clipping, with and without no_prox
    for no_prox in (False, True):
        adan_runs = []
        for foreach in (True, False):
            model = _fresh(torch_like, init)
            opt = Adan(
                _groups(model),
                lr=0.02,
                weight_decay=0.02,
                max_grad_norm=0.5,
                no_prox=no_prox,
                foreach=foreach,
            )

            def closure(model: Any = model, opt: Any = opt) -> Any:
                opt.zero_grad()
                loss = F.mse_loss(model(x), y)
                loss.backward()
                return loss

            losses = [opt.step(closure).item() for _ in range(4)]
            adan_runs.append((model, opt))
            values += losses
        (ma, oa), (mb, ob) = adan_runs
        values.append(
            float(all(torch.allclose(a, b) for a, b in zip(ma.parameters(), mb.parameters())))
        )
        values += oa.state[ma.fc2.weight]["neg_pre_grad"].flatten()[:4].tolist()
        values.append(float(oa.param_groups[0]["step"]))

    # restart, then a state_dict round trip (``__setstate__`` fills a missing ``no_prox``)
    oa.restart_opt()
    values.append(float(oa.state[ma.fc1.weight]["exp_avg"].abs().sum().item() == 0))
    opt_sd = oa.state_dict()
    del opt_sd["param_groups"][0]["no_prox"]
    twin_opt = Adan(_groups(ma), lr=0.02, foreach=True)
    twin_opt.load_state_dict(opt_sd)
    values.append(float(twin_opt.param_groups[0]["no_prox"] is False))
    values.append(float(twin_opt.param_groups[1]["no_prox"] is True))
    values.append(float(twin_opt.param_groups[0]["step"]))
    try:
        Adan(ma.parameters(), max_grad_norm=-1.0)
    except ValueError as e:
        values.append(float("Invalid Max grad norm" in str(e)))
    return values


def check(values: list[float]) -> None:
    assert values[0] == 1.0 and values[9] == 1.0, "step before train() must raise"
