"""A Shampoo optimizer ("distributed Shampoo"-lite) wrapped in timm's ``Lookahead``, size-reduced,
on a tiny conv + MLP classifier.

Shampoo, as facebookresearch/optimizers' ``distributed_shampoo`` and the paper's Algorithm 1
write it: per 2-d (or flattened conv) weight, Kronecker factors initialised as ``epsilon *
torch.eye(n, dtype=..., device=...)`` and accumulated with ``factor.mul_(beta2).add_(g @ g.T,
alpha=1 - beta2)``; the inverse root of ``matrix_functions._matrix_inverse_root_eigen``: ``L, Q =
torch.linalg.eigh(A)``, ``lambda_min = torch.min(L)``, ``L += -torch.minimum(lambda_min,
torch.as_tensor(0.0))``, ``L += epsilon``, ``Q * L.pow(alpha).unsqueeze(0) @ Q.T`` with ``alpha =
-1.0 / root``, and the clamp form ``L.clamp(min=epsilon).pow(-1 / root)`` with ``torch.diag_embed``;
a ``precondition_frequency`` and ``start_preconditioning_step``; ``G_hat = inv_root_L @ G @
inv_root_R`` grafted to the norm of the Adam direction (``adam_dir.norm() / shampoo_dir.norm()``);
1-d parameters Adam only; ``state["step"] = torch.tensor(0.0)``, ``exp_avg.lerp_(direction, 1 -
beta1)``, decoupled weight decay ``p.mul_(1 - lr * weight_decay)``.

Lookahead, as timm's ``timm/optim/lookahead.py``: ``super().__init__()`` deliberately not called
(``self._optimizer_step_pre_hooks = OrderedDict()`` set by hand), ``self.param_groups =
base_optimizer.param_groups``, ``self.defaults.update(defaults)``, ``group.setdefault(name,
default)`` for ``lookahead_alpha`` / ``lookahead_k`` / ``lookahead_step``; ``update_slow`` keeping
``param_state['lookahead_slow_buff'] = torch.empty_like(fast_p)`` in the *base* optimizer's state,
``slow.add_(fast_p - slow, alpha=group['lookahead_alpha'])``, ``fast_p.copy_(slow)``;
``state_dict()`` / ``load_state_dict`` forwarded to the base optimizer. A checkpoint of model and
optimizer (``torch.save`` / ``torch.load`` of a dict) taken mid-run and loaded into a fresh model
and optimizer must continue exactly as the uninterrupted run.

Changed: a 4-filter conv and two small linears, 8 samples, a few steps, root 4 (the 2-d
Shampoo exponent ``-1 / (2 * order)``), preconditioners refreshed every 2 steps.
"""

from __future__ import annotations

import io
from collections import OrderedDict, defaultdict
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

BATCH, CLASSES, STEPS, SPLIT = 8, 3, 8, 5


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 10),
        nn.Tanh(),
        nn.Linear(10, CLASSES),
    )


def _optimizers(torch_like: Any) -> tuple[type, type]:
    torch = torch_like

    def matrix_inverse_root(
        A: Any, root: float, epsilon: float = 0.0, make_positive_semidefinite: bool = True
    ) -> Any:
        L, Q = torch.linalg.eigh(A)
        lambda_min = torch.min(L)
        if make_positive_semidefinite:
            L += -torch.minimum(lambda_min, torch.as_tensor(0.0))
        L += epsilon
        alpha = -1.0 / root
        return Q * L.pow(alpha).unsqueeze(0) @ Q.T

    def matrix_inverse_root_clamped(A: Any, root: float, epsilon: float) -> Any:
        L, Q = torch.linalg.eigh(A)
        return Q @ torch.diag_embed(L.clamp(min=epsilon).pow(-1 / root)) @ Q.mT

    class Shampoo(torch.optim.Optimizer):
        def __init__(
            self,
            params: Any,
            lr: float = 1e-2,
            betas: tuple = (0.9, 0.999),
            epsilon: float = 1e-12,
            matrix_eps: float = 1e-6,
            weight_decay: float = 0.0,
            precondition_frequency: int = 2,
            start_preconditioning_step: int = 2,
            clamp_eigenvalues: bool = False,
        ) -> None:
            if not 0.0 <= lr:
                raise ValueError(f"Invalid learning rate: {lr}")
            defaults = dict(
                lr=lr,
                betas=betas,
                epsilon=epsilon,
                matrix_eps=matrix_eps,
                weight_decay=weight_decay,
                precondition_frequency=precondition_frequency,
                start_preconditioning_step=start_preconditioning_step,
                clamp_eigenvalues=clamp_eigenvalues,
            )
            super().__init__(params, defaults)

        def _init_state(self, p: Any, state: dict, group: dict) -> None:
            state["step"] = torch.tensor(0.0)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["grafting_sq"] = torch.zeros_like(p)
            if p.dim() >= 2:
                rows, cols = p.shape[0], p[0].numel()
                for name, n in (("L", rows), ("R", cols)):
                    eye = torch.eye(n, dtype=p.dtype, device=p.device)
                    state[f"factor_{name}"] = group["matrix_eps"] * eye
                    state[f"inv_root_{name}"] = eye.clone()

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    state = self.state[p]
                    if len(state) == 0:
                        self._init_state(p, state, group)
                    state["step"] += 1
                    step = state["step"].item()
                    grafting_sq = state["grafting_sq"]
                    grafting_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    bias_correction2 = 1 - beta2**step
                    adam_dir = grad / (grafting_sq / bias_correction2).sqrt().add_(group["epsilon"])
                    direction = adam_dir
                    if "factor_L" in state:
                        g = grad.reshape(grad.shape[0], -1)
                        state["factor_L"].mul_(beta2).add_(g @ g.T, alpha=1 - beta2)
                        state["factor_R"].mul_(beta2).add_(g.T @ g, alpha=1 - beta2)
                        if step % group["precondition_frequency"] == 0:
                            for name in ("L", "R"):
                                factor = state[f"factor_{name}"]
                                if group["clamp_eigenvalues"]:
                                    root = matrix_inverse_root_clamped(
                                        factor, 4, group["matrix_eps"]
                                    )
                                else:
                                    root = matrix_inverse_root(
                                        factor, 4, epsilon=group["matrix_eps"]
                                    )
                                state[f"inv_root_{name}"].copy_(root)
                        if step >= group["start_preconditioning_step"]:
                            shampoo_dir = (state["inv_root_L"] @ g @ state["inv_root_R"]).view_as(
                                grad
                            )
                            # grafting: Shampoo's direction, the Adam step's size
                            direction = shampoo_dir * (
                                adam_dir.norm() / shampoo_dir.norm().clamp(min=1e-16)
                            )
                    if group["weight_decay"] != 0:
                        p.mul_(1 - group["lr"] * group["weight_decay"])
                    state["exp_avg"].lerp_(direction, 1 - beta1)
                    p.add_(state["exp_avg"], alpha=-group["lr"] / (1 - beta1**step))
            return loss

    class Lookahead(torch.optim.Optimizer):
        def __init__(self, base_optimizer: Any, alpha: float = 0.5, k: int = 6) -> None:
            # NOTE super().__init__() not called on purpose
            self._optimizer_step_pre_hooks: dict = OrderedDict()
            self._optimizer_step_post_hooks: dict = OrderedDict()
            if not 0.0 <= alpha <= 1.0:
                raise ValueError(f"Invalid slow update rate: {alpha}")
            if not 1 <= k:
                raise ValueError(f"Invalid lookahead steps: {k}")
            defaults = dict(lookahead_alpha=alpha, lookahead_k=k, lookahead_step=0)
            self._base_optimizer = base_optimizer
            self.param_groups = base_optimizer.param_groups
            self.defaults = base_optimizer.defaults
            self.defaults.update(defaults)
            self.state = defaultdict(dict)
            for name, default in defaults.items():
                for group in self._base_optimizer.param_groups:
                    group.setdefault(name, default)

        @torch.no_grad()
        def update_slow(self, group: dict) -> None:
            for fast_p in group["params"]:
                if fast_p.grad is None:
                    continue
                param_state = self._base_optimizer.state[fast_p]
                if "lookahead_slow_buff" not in param_state:
                    param_state["lookahead_slow_buff"] = torch.empty_like(fast_p)
                    param_state["lookahead_slow_buff"].copy_(fast_p)
                slow = param_state["lookahead_slow_buff"]
                slow.add_(fast_p - slow, alpha=group["lookahead_alpha"])
                fast_p.copy_(slow)

        def sync_lookahead(self) -> None:
            for group in self._base_optimizer.param_groups:
                self.update_slow(group)

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = self._base_optimizer.step(closure)
            for group in self._base_optimizer.param_groups:
                group["lookahead_step"] += 1
                if group["lookahead_step"] % group["lookahead_k"] == 0:
                    self.update_slow(group)
            return loss

        def state_dict(self) -> dict:
            return self._base_optimizer.state_dict()

        def load_state_dict(self, state_dict: dict) -> None:
            self._base_optimizer.load_state_dict(state_dict)
            self.param_groups = self._base_optimizer.param_groups

    return Shampoo, Lookahead


def _make(torch_like: Any, init: dict, clamp: bool) -> tuple[Any, Any]:
    shampoo_cls, lookahead_cls = _optimizers(torch_like)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    base = shampoo_cls(
        [{"params": decay, "weight_decay": 1e-2}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-2,
        clamp_eigenvalues=clamp,
    )
    return model, lookahead_cls(base, alpha=0.5, k=3)


def _train_step(torch_like: Any, model: Any, optimizer: Any, x: Any, y: Any) -> float:
    def closure() -> Any:
        optimizer.zero_grad()
        loss = torch_like.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    return optimizer.step(closure).item()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(21)
    x = as_tensor(torch, rng.standard_normal((BATCH, 2, 5, 5)))
    y = as_tensor(torch, rng.integers(0, CLASSES, BATCH))
    values: list[float] = []
    for clamp in (False, True):
        model, optimizer = _make(torch, init, clamp)
        for _ in range(STEPS):
            values.append(_train_step(torch, model, optimizer, x, y))
        values.append(model[4].weight.norm().item())
        values.append(float(optimizer.param_groups[0]["lookahead_step"]))

    # checkpoint mid-run, resume in a fresh model and optimizer
    model, optimizer = _make(torch, init, False)
    for _ in range(SPLIT):
        values.append(_train_step(torch, model, optimizer, x, y))
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    model, optimizer = _make(torch, init, False)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    state = optimizer._base_optimizer.state[model[0].weight]
    values += [state["step"].item(), float("lookahead_slow_buff" in state)]
    values += list(state["inv_root_R"].shape)
    for _ in range(STEPS - SPLIT):
        values.append(_train_step(torch, model, optimizer, x, y))
    values.append(model[4].weight.norm().item())
    optimizer.sync_lookahead()
    values.append(model[6].weight.norm().item())
    return values


def check(values: list[float]) -> None:
    first = values[: STEPS + 1]
    at = 2 * (STEPS + 2)
    resumed = values[at : at + SPLIT] + values[at + SPLIT + 4 : at + STEPS + 5]
    np.testing.assert_allclose(resumed, first, rtol=1e-12)
