"""Two optimizers as the public repos write them, as ``torch.optim.Optimizer`` subclasses:
lucidrains/lion-pytorch's ``Lion`` and KellerJordan/Muon's ``Muon`` /
``SingleDeviceMuonWithAuxAdam`` (the version modded-nanogpt and many training repos vendor),
on a tiny conv + MLP classifier, size-reduced.

Lion: ``defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay)``, the ``assert`` on
``lr`` and ``betas``, ``@torch.no_grad() def step(self, closure=None)`` evaluating the closure
``with torch.enable_grad()``, ``filter(lambda p: exists(p.grad), group['params'])``, the lazily
made ``state['exp_avg'] = torch.zeros_like(p)``, decoupled weight decay ``p.data.mul_(1 - lr *
wd)``, the sign update ``exp_avg.clone().mul_(beta1).add(grad, alpha=1 - beta1).sign_()``,
``p.add_(update, alpha=-lr)`` and ``exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)``; two
param groups (decay / no decay, each with its own ``lr``).

Muon: ``zeropower_via_newtonschulz5`` with the quintic coefficients ``(3.4445, -4.7750,
2.0315)``, ``X = G.bfloat16()``, the ``.mT`` transpose of tall matrices, the Frobenius
normalisation ``X.norm(dim=(-2, -1), keepdim=True) + 1e-7`` and ``X = a * X + B @ X`` with ``B
= b * A + c * A @ A``; ``muon_update`` (``momentum.lerp_(grad, 1 - beta)``, the Nesterov
``grad.lerp_(momentum, beta)``, ``update.view(len(update), -1)`` for a 4-d conv filter, the
``max(1, grad.size(-2) / grad.size(-1))**0.5`` scale); ``Muon.__init__`` sorting its params by
``x.size()``; ``SingleDeviceMuonWithAuxAdam`` with ``use_muon`` groups, ``group.get(...)``
defaults checked by ``set(group.keys())``, ``super().__init__(param_groups, dict())``, the aux
``adam_update`` (``buf1.lerp_``, ``buf2.lerp_(grad.square(), ...)``, bias correction with an
int ``state["step"]``); ``p.add_(update.reshape(p.shape), alpha=-group["lr"])``.

Then an optimizer ``state_dict()`` / ``load_state_dict`` round trip into a fresh optimizer
(through ``torch.save`` / ``torch.load`` of a checkpoint dict, into a fresh model), which must
continue exactly as the original.

The iteration alone is also run on fixed wide, tall and batched matrices (its output and
singular values, ``torch.linalg.svdvals``).

Changed: the model and data are tiny (a 3x3 conv with 4 filters on 6x6 inputs, a 16-wide
hidden layer), a few steps each.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
# Muon rounds its Newton-Schulz iteration to bfloat16 (2**-8 relative): a float32 gradient that
# differs in its last bit between the two frameworks can flip one rounding, and the training
# losses then agree to ~1e-4 only. The iteration itself, on the same input, agrees bit for bit.
RTOL = 1e-3
ATOL = 1e-5
BATCH, CLASSES, STEPS = 8, 3, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.fc1 = nn.Linear(4 * 3 * 3, 16)
            self.fc2 = nn.Linear(16, 12)
            self.head = nn.Linear(12, CLASSES)

        def forward(self, x: Any) -> Any:
            x = nn.functional.max_pool2d(nn.functional.relu(self.conv(x)), 2)
            x = nn.functional.relu(self.fc1(x.flatten(1)))
            x = nn.functional.relu(self.fc2(x))
            return self.head(x)

    return Net()


def _optimizers(torch_like: Any) -> tuple[type, type, type, Any]:
    torch = torch_like
    from_optim = torch.optim.Optimizer

    def exists(val: Any) -> bool:
        return val is not None

    class Lion(from_optim):
        def __init__(
            self,
            params: Any,
            lr: float = 1e-4,
            betas: tuple[float, float] = (0.9, 0.99),
            weight_decay: float = 0.0,
        ) -> None:
            assert lr > 0.0
            assert all([0.0 <= beta <= 1.0 for beta in betas])  # noqa: C419 (as in the repo)
            defaults = dict(lr=lr, betas=betas, weight_decay=weight_decay)
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if exists(closure):
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in filter(lambda p: exists(p.grad), group["params"]):
                    grad, lr, wd, beta1, beta2, state = (
                        p.grad, group["lr"], group["weight_decay"], *group["betas"], self.state[p]
                    )  # fmt: skip
                    if len(state) == 0:
                        state["exp_avg"] = torch.zeros_like(p)
                    exp_avg = state["exp_avg"]
                    p.data.mul_(1 - lr * wd)
                    update = exp_avg.clone().mul_(beta1).add(grad, alpha=1 - beta1).sign_()
                    p.add_(update, alpha=-lr)
                    exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)
            return loss

    def zeropower_via_newtonschulz5(G: Any, steps: int) -> Any:
        assert G.ndim >= 2
        a, b, c = (3.4445, -4.7750, 2.0315)
        X = G.bfloat16()
        if G.size(-2) > G.size(-1):
            X = X.mT
        X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
        for _ in range(steps):
            A = X @ X.mT
            B = b * A + c * A @ A
            X = a * X + B @ X
        if G.size(-2) > G.size(-1):
            X = X.mT
        return X

    def muon_update(
        grad: Any, momentum: Any, beta: float = 0.95, ns_steps: int = 5, nesterov: bool = True
    ) -> Any:
        momentum.lerp_(grad, 1 - beta)
        update = grad.lerp_(momentum, beta) if nesterov else momentum
        if update.ndim == 4:
            update = update.view(len(update), -1)
        update = zeropower_via_newtonschulz5(update, steps=ns_steps)
        update *= max(1, grad.size(-2) / grad.size(-1)) ** 0.5
        return update

    def adam_update(
        grad: Any, buf1: Any, buf2: Any, step: int, betas: tuple[float, float], eps: float
    ) -> Any:
        buf1.lerp_(grad, 1 - betas[0])
        buf2.lerp_(grad.square(), 1 - betas[1])
        buf1c = buf1 / (1 - betas[0] ** step)
        buf2c = buf2 / (1 - betas[1] ** step)
        return buf1c / (buf2c.sqrt() + eps)

    class Muon(from_optim):
        def __init__(
            self, params: Any, lr: float = 0.02, weight_decay: float = 0, momentum: float = 0.95
        ) -> None:
            defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum)
            assert (
                isinstance(params, list)
                and len(params) >= 1
                and isinstance(params[0], torch.nn.Parameter)
            )
            params = sorted(params, key=lambda x: x.size(), reverse=True)
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
                        p.grad = torch.zeros_like(p)
                    state = self.state[p]
                    if len(state) == 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    update = muon_update(p.grad, state["momentum_buffer"], beta=group["momentum"])
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update.reshape(p.shape), alpha=-group["lr"])
            return loss

    class SingleDeviceMuonWithAuxAdam(from_optim):
        def __init__(self, param_groups: list[dict]) -> None:
            for group in param_groups:
                assert "use_muon" in group
                if group["use_muon"]:
                    group["lr"] = group.get("lr", 0.02)
                    group["momentum"] = group.get("momentum", 0.95)
                    group["weight_decay"] = group.get("weight_decay", 0)
                    assert set(group.keys()) == set(
                        ["params", "lr", "momentum", "weight_decay", "use_muon"]
                    )
                else:
                    group["lr"] = group.get("lr", 3e-4)
                    group["betas"] = group.get("betas", (0.9, 0.95))
                    group["eps"] = group.get("eps", 1e-10)
                    group["weight_decay"] = group.get("weight_decay", 0)
                    assert set(group.keys()) == set(
                        ["params", "lr", "betas", "eps", "weight_decay", "use_muon"]
                    )
            super().__init__(param_groups, dict())

        @torch.no_grad()
        def step(self, closure: Any = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                if group["use_muon"]:
                    for p in group["params"]:
                        if p.grad is None:
                            p.grad = torch.zeros_like(p)
                        state = self.state[p]
                        if len(state) == 0:
                            state["momentum_buffer"] = torch.zeros_like(p)
                        update = muon_update(
                            p.grad, state["momentum_buffer"], beta=group["momentum"]
                        )
                        p.mul_(1 - group["lr"] * group["weight_decay"])
                        p.add_(update.reshape(p.shape), alpha=-group["lr"])
                else:
                    for p in group["params"]:
                        if p.grad is None:
                            p.grad = torch.zeros_like(p)
                        state = self.state[p]
                        if len(state) == 0:
                            state["exp_avg"] = torch.zeros_like(p)
                            state["exp_avg_sq"] = torch.zeros_like(p)
                            state["step"] = 0
                        state["step"] += 1
                        update = adam_update(
                            p.grad,
                            state["exp_avg"],
                            state["exp_avg_sq"],
                            state["step"],
                            group["betas"],
                            group["eps"],
                        )
                        p.mul_(1 - group["lr"] * group["weight_decay"])
                        p.add_(update, alpha=-group["lr"])
            return loss

    return Lion, Muon, SingleDeviceMuonWithAuxAdam, zeropower_via_newtonschulz5


def _data(torch_like: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = as_tensor(torch_like, rng.standard_normal((BATCH, 1, 6, 6)).astype(np.float32))
    y = as_tensor(torch_like, rng.integers(0, CLASSES, BATCH))
    return x, y


def _train(torch_like: Any, model: Any, opt: Any, x: Any, y: Any, steps: int) -> list[float]:
    F = torch_like.nn.functional
    losses = []
    for _ in range(steps):

        def closure() -> Any:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss

        losses.append(opt.step(closure).item())
    return losses


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    Lion, Muon, MuonWithAuxAdam, zeropower_via_newtonschulz5 = _optimizers(torch_like)
    x, y = _data(torch_like)
    values: list[float] = []

    # the bfloat16 Newton-Schulz iteration itself, on fixed wide / tall / batched matrices:
    # singular values pushed into the quintic's band around 1 (not exactly 1)
    rng = np.random.default_rng(1)
    for shape in [(6, 10), (12, 5), (2, 4, 7)]:
        G = as_tensor(torch, rng.standard_normal(shape).astype(np.float32) * 1e-3)
        X = zeropower_via_newtonschulz5(G, steps=5)
        values.append(float(X.dtype == torch.bfloat16 and X.shape == G.shape))
        values += X.float().flatten()[:8].tolist()
        values += torch.linalg.svdvals(X.float()).flatten().tolist()

    # Lion: decay on weights, none on biases, a smaller lr for the biases
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    lion = Lion(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "lr": 1e-3}],
        lr=3e-3,
        betas=(0.9, 0.99),
    )
    values += _train(torch_like, model, lion, x, y, STEPS)
    values.append(float(lion.param_groups[1]["weight_decay"]))
    values.append(float(sorted(lion.state[decay[0]].keys()) == ["exp_avg"]))
    values += lion.state[decay[0]]["exp_avg"].flatten()[:6].tolist()

    # Muon alone over the hidden matrices (a 4-d conv filter and two 2-d weights)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    hidden = [model.conv.weight, model.fc1.weight, model.fc2.weight]
    muon = Muon(hidden, lr=0.02, momentum=0.95, weight_decay=0.01)
    values.append(float([tuple(p.shape) for p in muon.param_groups[0]["params"]] == [
        (16, 36), (12, 16), (4, 1, 3, 3)
    ]))  # fmt: skip
    for _ in range(STEPS):
        muon.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        muon.step()
        values.append(loss.item())
    values.append(float(muon.state[model.fc1.weight]["momentum_buffer"].dtype == torch.float32))

    # Muon with the aux Adam, as modded-nanogpt splits a model
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    hidden_weights = [p for n, p in model.named_parameters() if p.ndim >= 2 and "head" not in n]
    hidden_gains_biases = [p for n, p in model.named_parameters() if p.ndim < 2 and "head" not in n]
    head_params = list(model.head.parameters())
    param_groups = [
        dict(params=hidden_weights, use_muon=True, lr=0.02, weight_decay=0.01),
        dict(params=hidden_gains_biases + head_params, use_muon=False, lr=3e-3, betas=(0.9, 0.95)),
    ]
    opt = MuonWithAuxAdam(param_groups)
    values += _train(torch_like, model, opt, x, y, 2)

    # state_dict round trip through a checkpoint: a fresh model + optimizer resumes exactly
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer)
    sd = checkpoint["optimizer"]
    values.append(float(sd["param_groups"][1]["eps"]))
    values.append(float(sd["state"][len(hidden_weights)]["step"]))
    twin = make_model(torch_like)
    twin.load_state_dict(checkpoint["model"])
    twin_opt = MuonWithAuxAdam(
        [
            dict(params=[p for n, p in twin.named_parameters() if p.ndim >= 2 and "head" not in n],
                 use_muon=True),
            dict(params=[p for n, p in twin.named_parameters() if p.ndim < 2 and "head" not in n]
                 + list(twin.head.parameters()), use_muon=False),
        ]
    )  # fmt: skip
    values.append(float(twin_opt.param_groups[0]["weight_decay"]))
    twin_opt.load_state_dict(sd)
    values.append(float(twin_opt.param_groups[0]["weight_decay"]))
    values.append(float(twin_opt.param_groups[1]["lr"]))
    values.append(float(type(twin_opt.param_groups[1]["betas"]) is tuple))
    values.append(float(twin_opt.state[twin.fc1.weight]["momentum_buffer"].dtype == torch.float32))
    values.append(float(type(twin_opt.state[twin.head.bias]["step"]) is int))  # kept a number
    original = _train(torch_like, model, opt, x, y, 2)
    resumed = _train(torch_like, twin, twin_opt, x, y, 2)
    values += original + resumed
    values.append(
        float(all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters())))
    )
    return values


def check(values: list[float]) -> None:
    assert values[-1] == 1.0, "the reloaded optimizer diverged from the original"
