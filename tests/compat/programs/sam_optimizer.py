"""Sharpness-Aware Minimization as davda54/sam's ``sam.py`` and ``example/train.py`` write it
(and the many projects that vendor it), size-reduced to a tiny MLP with BatchNorm.

The idioms: ``class SAM(torch.optim.Optimizer)`` whose ``__init__`` checks ``rho`` with an
``assert``, builds ``defaults = dict(rho=rho, adaptive=adaptive, **kwargs)``, wraps the base
optimizer over its own groups (``self.base_optimizer = base_optimizer(self.param_groups,
**kwargs)``), then shares them (``self.param_groups = self.base_optimizer.param_groups``) and
merges ``self.defaults.update(self.base_optimizer.defaults)``; ``first_step`` /
``second_step`` decorated ``@torch.no_grad()``, saving ``self.state[p]["old_p"] =
p.data.clone()``, the ascent ``e_w = (torch.pow(p, 2) if group["adaptive"] else 1.0) * p.grad
* scale.to(p)`` with ``p.add_(e_w)``, the restore ``p.data = self.state[p]["old_p"]`` and
``self.base_optimizer.step()``; a closure ``step`` wrapping the closure in
``torch.enable_grad()(closure)``; ``_grad_norm`` as ``torch.norm(torch.stack([((torch.abs(p)
if group["adaptive"] else 1.0) * p.grad).norm(p=2).to(shared_device) for ...]), p=2)``;
``load_state_dict`` re-pointing the base optimizer's groups. From ``example/``:
``smooth_crossentropy`` (``torch.full_like``, ``scatter_(dim=1, index=gold.unsqueeze(1),
value=1.0 - smoothing)``, ``F.kl_div(..., reduction='none').sum(-1)``),
``enable_running_stats`` / ``disable_running_stats`` (``isinstance(module,
nn.modules.batchnorm._BatchNorm)``, ``module.backup_momentum = module.momentum``,
``module.momentum = 0``), the two-pass loop (``loss.mean().backward()``,
``optimizer.first_step(zero_grad=True)``, second forward, ``optimizer.second_step(
zero_grad=True)``), a step-decay scheduler writing ``param_group["lr"]`` and the accuracy
``torch.argmax(predictions.data, 1) == targets``. Then the closure form (``optimizer.step(
closure)``) with adaptive SAM (ASAM) over ``SGD(momentum=0.9)``, and a state-dict round trip.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN, HIDDEN, CLASSES, BATCH, STEPS = 6, 12, 3, 10, 4


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(IN, HIDDEN),
                nn.BatchNorm1d(HIDDEN),
                nn.ReLU(inplace=True),
                nn.Linear(HIDDEN, CLASSES),
            )

        def forward(self, x: Any) -> Any:
            return self.net(x)

    return MLP()


def make_sam(torch_like: Any) -> type:
    torch = torch_like

    class SAM(torch.optim.Optimizer):
        def __init__(
            self,
            params: Any,
            base_optimizer: Any,
            rho: float = 0.05,
            adaptive: bool = False,
            **kwargs: Any,
        ) -> None:
            assert rho >= 0.0, f"Invalid rho, should be non-negative: {rho}"

            defaults = dict(rho=rho, adaptive=adaptive, **kwargs)
            super(SAM, self).__init__(params, defaults)  # noqa: UP008 (as in sam.py)

            self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
            self.param_groups = self.base_optimizer.param_groups
            self.defaults.update(self.base_optimizer.defaults)

        @torch.no_grad()
        def first_step(self, zero_grad: bool = False) -> None:
            grad_norm = self._grad_norm()
            for group in self.param_groups:
                scale = group["rho"] / (grad_norm + 1e-12)

                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self.state[p]["old_p"] = p.data.clone()
                    e_w = (torch.pow(p, 2) if group["adaptive"] else 1.0) * p.grad * scale.to(p)
                    p.add_(e_w)  # climb to the local maximum "w + e(w)"

            if zero_grad:
                self.zero_grad()

        @torch.no_grad()
        def second_step(self, zero_grad: bool = False) -> None:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p.data = self.state[p]["old_p"]  # get back to "w" from "w + e(w)"

            self.base_optimizer.step()  # do the actual "sharpness-aware" update

            if zero_grad:
                self.zero_grad()

        @torch.no_grad()
        def step(self, closure: Any = None) -> None:
            assert closure is not None, "Sharpness Aware Minimization requires closure"
            closure = torch.enable_grad()(closure)  # the closure should do a full pass

            self.first_step(zero_grad=True)
            closure()
            self.second_step()

        def _grad_norm(self) -> Any:
            # put everything on the same device, in case of model parallelism
            shared_device = self.param_groups[0]["params"][0].device
            norm = torch.norm(
                torch.stack(
                    [
                        ((torch.abs(p) if group["adaptive"] else 1.0) * p.grad)
                        .norm(p=2)
                        .to(shared_device)
                        for group in self.param_groups
                        for p in group["params"]
                        if p.grad is not None
                    ]
                ),
                p=2,
            )
            return norm

        def load_state_dict(self, state_dict: Any) -> None:
            super().load_state_dict(state_dict)
            self.base_optimizer.param_groups = self.param_groups

    return SAM


def smooth_crossentropy(torch_like: Any, pred: Any, gold: Any, smoothing: float = 0.1) -> Any:
    torch = torch_like
    F = torch_like.nn.functional
    n_class = pred.size(1)

    one_hot = torch.full_like(pred, fill_value=smoothing / (n_class - 1))
    one_hot.scatter_(dim=1, index=gold.unsqueeze(1), value=1.0 - smoothing)
    log_prob = F.log_softmax(pred, dim=1)

    return F.kl_div(input=log_prob, target=one_hot, reduction="none").sum(-1)


def disable_running_stats(torch_like: Any, model: Any) -> None:
    nn = torch_like.nn

    def _disable(module: Any) -> None:
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.backup_momentum = module.momentum
            module.momentum = 0

    model.apply(_disable)


def enable_running_stats(torch_like: Any, model: Any) -> None:
    nn = torch_like.nn

    def _enable(module: Any) -> None:
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and hasattr(
            module, "backup_momentum"
        ):
            module.momentum = module.backup_momentum

    model.apply(_enable)


class StepLR:
    """example/utility/step_lr.py: a step decay written into every group's ``lr``."""

    def __init__(self, optimizer: Any, learning_rate: float, total_epochs: int) -> None:
        self.optimizer = optimizer
        self.total_epochs = total_epochs
        self.base = learning_rate

    def __call__(self, epoch: int) -> None:
        if epoch < self.total_epochs * 3 / 10:
            lr = self.base
        elif epoch < self.total_epochs * 6 / 10:
            lr = self.base * 0.2
        else:
            lr = self.base * 0.04

        for param_group in self.optimizer.param_groups:
            param_group["lr"] = lr

    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(0)
    x = as_tensor(torch, rng.standard_normal((BATCH, IN)))
    y = as_tensor(torch, rng.integers(0, CLASSES, BATCH))
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    SAM = make_sam(torch)
    values: list[float] = []

    base_optimizer = torch.optim.SGD
    optimizer = SAM(model.parameters(), base_optimizer, rho=0.5, lr=0.1, momentum=0.9)
    scheduler = StepLR(optimizer, 0.1, STEPS)
    values += [float(optimizer.param_groups is optimizer.base_optimizer.param_groups)]
    values += [optimizer.defaults["rho"], optimizer.defaults["momentum"]]
    values += [float(optimizer.defaults["nesterov"])]
    for epoch in range(STEPS):
        model.train()
        # first forward-backward step
        enable_running_stats(torch, model)
        predictions = model(x)
        loss = smooth_crossentropy(torch, predictions, y, smoothing=0.1)
        loss.mean().backward()
        optimizer.first_step(zero_grad=True)
        values += [float(model.net[0].weight.grad is None)]

        # second forward-backward step
        disable_running_stats(torch, model)
        smooth_crossentropy(torch, model(x), y, smoothing=0.1).mean().backward()
        optimizer.second_step(zero_grad=True)

        with torch.no_grad():
            correct = torch.argmax(predictions.data, 1) == y
            values += [loss.mean().item(), correct.sum().item(), scheduler.lr()]
            scheduler(epoch)
        values += [model.net[1].running_mean.sum().item(), model.net[1].momentum]
    values += [p.sum().item() for p in model.parameters()]
    old = optimizer.state[model.net[0].weight]["old_p"]
    values += [float(old is model.net[0].weight.data), float(len(optimizer.state))]
    values += [float(len(optimizer.base_optimizer.state))]

    # adaptive SAM (ASAM) with the closure form of step()
    model2 = make_model(torch)
    load_numpy_state(torch, model2, init)
    asam = SAM(model2.parameters(), torch.optim.SGD, rho=2.0, adaptive=True, lr=0.05, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()

    def closure() -> Any:
        loss = criterion(model2(x), y)
        loss.backward()
        return loss

    for _ in range(STEPS):
        loss = criterion(model2(x), y)
        loss.backward()
        values += [loss.item(), asam._grad_norm().item()]
        asam.step(closure)
        asam.zero_grad()
    values += [p.abs().sum().item() for p in model2.parameters()]

    state = asam.state_dict()
    values += [float(len(state["state"])), state["param_groups"][0]["rho"]]
    values += [state["state"][0]["old_p"].sum().item()]
    asam2 = SAM(model2.parameters(), torch.optim.SGD, rho=0.1, lr=0.3)
    asam2.load_state_dict(state)
    values += [asam2.base_optimizer.param_groups[0]["lr"], asam2.param_groups[0]["rho"]]
    values += [float(asam2.base_optimizer.param_groups is asam2.param_groups)]
    try:
        SAM(model2.parameters(), torch.optim.SGD, rho=-1.0, lr=0.1)
        values += [0.0]
    except AssertionError:
        values += [1.0]
    try:
        asam.step()
        values += [0.0]
    except AssertionError:
        values += [1.0]
    return values
