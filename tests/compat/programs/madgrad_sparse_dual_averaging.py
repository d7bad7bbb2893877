"""MADGRAD, the momentumized dual-averaged adaptive optimizer, as facebookresearch/madgrad
writes it (``madgrad/madgrad.py``), training a bag-of-embeddings classifier whose
``nn.Embedding(sparse=True)`` table takes the optimizer's sparse path and whose dense layers
take the momentum path with decoupled weight decay.

The idioms kept: the step counter kept in the state under a string key (``if 'k' not in
self.state: self.state['k'] = torch.tensor([0], dtype=torch.long)``, ``self.state['k'] += 1``,
so ``state_dict``/``load_state_dict`` carry a non-parameter key); ``lr = group["lr"] + eps``,
``lamb = lr * math.pow(k + 1, 0.5)``; ``torch.zeros_like(p.data).detach()``,
``torch.clone(p.data).detach()``; the dense path (``grad_sum_sq.pow(1 / 3).add_(eps)``,
``p.data.addcdiv(s, rms, value=1)`` for ``x0`` without momentum, ``grad_sum_sq.addcmul_(grad,
grad, value=lamb)``, ``s.data.add_(grad, alpha=lamb)``, ``z = x0.addcdiv(s, rms, value=-1)``,
``p.data.mul_(1 - ck).add_(z, alpha=ck)``, ``p_old = p.data.clone()`` and ``p.data.add_(p_old,
alpha=-lr * decay)``); the sparse path (``grad.coalesce()``, ``grad._values()``,
``p.sparse_mask(grad)``, ``grad_sum_sq.sparse_mask(grad)``, ``grad_sq = grad * grad``, dense
``grad_sum_sq.add_(grad_sq, alpha=lamb)`` and sparse ``grad_sum_sq_masked.add_(grad_sq,
alpha=lamb)``, ``_values().pow_(1 / 3).add_(eps)``, ``s_masked._values().add_(grad_val,
alpha=lamb)``, ``x0_masked_vals.addcdiv(...)``, ``p_masked._values().add_(..., alpha=-1)``
and the dense-plus-sparse ``p.data.add_(p_masked, alpha=-1)``); the argument checks.

Changed: a 10-word vocabulary, 4-dim embeddings, 3 classes, bags of 4 words, 6 steps; the
optimizer's state dict is reloaded into a fresh MADGRAD after step 3.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, CLASSES, BAG, BATCH, STEPS = 10, 4, 3, 4, 5, 6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class BagClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, DIM, sparse=True)
            self.hidden = nn.Linear(DIM, 6)
            self.out = nn.Linear(6, CLASSES)

        def forward(self, words: Any) -> Any:
            return self.out(torch_like.tanh(self.hidden(self.embed(words).mean(1))))

    return BagClassifier()


def _madgrad(torch: Any) -> type:
    class MADGRAD(torch.optim.Optimizer):
        def __init__(self, params: Any, lr: float = 1e-2, momentum: float = 0.9,
                     weight_decay: float = 0, eps: float = 1e-6,
                     decouple_decay: bool = False) -> None:  # fmt: skip
            if momentum < 0 or momentum >= 1:
                raise ValueError(f"Momentum {momentum} must be in the range [0,1]")
            if lr <= 0:
                raise ValueError(f"Learning rate {lr} must be positive")
            if weight_decay < 0:
                raise ValueError(f"Weight decay {weight_decay} must be non-negative")
            if eps < 0:
                raise ValueError("Eps must be non-negative")
            defaults = dict(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay,
                            decouple_decay=decouple_decay)  # fmt: skip
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
            # step counter must be stored in state to ensure correct behavior under
            # optimizer sharding
            if "k" not in self.state:
                self.state["k"] = torch.tensor([0], dtype=torch.long)
            k = self.state["k"].item()
            for group in self.param_groups:
                eps = group["eps"]
                lr = group["lr"] + eps
                decay = group["weight_decay"]
                momentum = group["momentum"]
                decouple_decay = group["decouple_decay"]
                ck = 1 - momentum
                lamb = lr * math.pow(k + 1, 0.5)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    state = self.state[p]
                    if "grad_sum_sq" not in state:
                        state["grad_sum_sq"] = torch.zeros_like(p.data).detach()
                        state["s"] = torch.zeros_like(p.data).detach()
                        if momentum != 0:
                            state["x0"] = torch.clone(p.data).detach()
                    if momentum != 0.0 and grad.is_sparse:
                        raise RuntimeError("momentum != 0 is not compatible with sparse gradients")
                    grad_sum_sq = state["grad_sum_sq"]
                    s = state["s"]
                    # Apply weight decay
                    if decay != 0 and not decouple_decay:
                        if grad.is_sparse:
                            raise RuntimeError(
                                "weight_decay option is not compatible with sparse gradients"
                            )
                        grad.add_(p.data, alpha=decay)
                    if decay != 0 and decouple_decay:
                        p_old = p.data.clone()
                    if grad.is_sparse:
                        grad = grad.coalesce()
                        grad_val = grad._values()
                        p_masked = p.sparse_mask(grad)
                        grad_sum_sq_masked = grad_sum_sq.sparse_mask(grad)
                        s_masked = s.sparse_mask(grad)
                        # Compute x_0 from other known quantities
                        rms_masked_vals = grad_sum_sq_masked._values().pow(1 / 3).add_(eps)
                        x0_masked_vals = p_masked._values().addcdiv(
                            s_masked._values(), rms_masked_vals, value=1
                        )
                        # Dense + sparse op
                        grad_sq = grad * grad
                        grad_sum_sq.add_(grad_sq, alpha=lamb)
                        grad_sum_sq_masked.add_(grad_sq, alpha=lamb)
                        rms_masked_vals = grad_sum_sq_masked._values().pow_(1 / 3).add_(eps)
                        if eps == 0:
                            rms_masked_vals[rms_masked_vals == 0] = float("inf")
                        s.add_(grad, alpha=lamb)
                        s_masked._values().add_(grad_val, alpha=lamb)
                        # update masked copy of p
                        p_kp1_masked_vals = x0_masked_vals.addcdiv(
                            s_masked._values(), rms_masked_vals, value=-1
                        )
                        # Copy updated masked p to dense p using an add operation
                        p_masked._values().add_(p_kp1_masked_vals, alpha=-1)
                        p.data.add_(p_masked, alpha=-1)
                    else:
                        if momentum == 0:
                            # Compute x_0 from other known quantities
                            rms = grad_sum_sq.pow(1 / 3).add_(eps)
                            x0 = p.data.addcdiv(s, rms, value=1)
                        else:
                            x0 = state["x0"]
                        # Accumulate second moments
                        grad_sum_sq.addcmul_(grad, grad, value=lamb)
                        rms = grad_sum_sq.pow(1 / 3).add_(eps)
                        # Update s
                        s.data.add_(grad, alpha=lamb)
                        # Step
                        if momentum == 0:
                            p.data.copy_(x0.addcdiv(s, rms, value=-1))
                        else:
                            z = x0.addcdiv(s, rms, value=-1)
                            # p is a moving average of z
                            p.data.mul_(1 - ck).add_(z, alpha=ck)
                    if decay != 0 and decouple_decay:
                        p.data.add_(p_old, alpha=-lr * decay)
            self.state["k"] += 1
            return loss

    return MADGRAD


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    MADGRAD = _madgrad(torch)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = []
    for bad in (dict(momentum=1.0), dict(lr=0.0), dict(weight_decay=-1.0)):
        try:
            MADGRAD(model.parameters(), **bad)
        except ValueError as e:
            values.append(len(str(e)))

    def make() -> tuple:
        sparse = MADGRAD(model.embed.parameters(), lr=0.05, momentum=0.0)
        dense = MADGRAD(
            [{"params": model.hidden.parameters()},
             {"params": model.out.parameters(), "momentum": 0.0}],
            lr=0.02, momentum=0.9, weight_decay=0.1, decouple_decay=True,
        )  # fmt: skip
        return sparse, dense

    optimizers = make()
    rng = np.random.default_rng(6)
    for step in range(STEPS):
        if step == 3:  # resume: the 'k' counter travels in the state dict
            states = [o.state_dict() for o in optimizers]
            optimizers = make()
            for o, s in zip(optimizers, states):
                o.load_state_dict(s)
        words = as_tensor(torch, rng.integers(0, VOCAB // 2 + step, (BATCH, BAG)))
        labels = as_tensor(torch, rng.integers(0, CLASSES, BATCH))
        for o in optimizers:
            o.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(words), labels)
        loss.backward()
        for o in optimizers:
            o.step()
        values.append(loss.item())
    values += [float(o.state["k"].item()) for o in optimizers]
    values += [float(p.detach().sum()) for p in model.parameters()]
    return values
