"""Madry-style PGD adversarial training as locuslab/fast_adversarial (``CIFAR10/train_pgd.py``,
``train_fgsm.py``, ``utils.py``) and MadryLab/robustness (``attack_steps.py``, ``attacker.py``)
write it, size-reduced.

fast_adversarial idioms: the per-channel bounds ``mu = torch.tensor(cifar10_mean).view(3, 1,
1)``, ``std = ...``, ``upper_limit = ((1 - mu) / std)``, ``lower_limit = ((0 - mu) / std)``,
``epsilon = (args.epsilon / 255.) / std``, ``alpha = (args.alpha / 255.) / std``; ``clamp(X,
lower_limit, upper_limit)`` as ``torch.max(torch.min(X, upper_limit), lower_limit)`` and as
``torch.clamp(delta, min=lower_limit - X, max=upper_limit - X)`` with tensor bounds; the random
start ``delta = torch.zeros_like(X)`` with ``delta[:, i, :, :].uniform_(-epsilon[i][0][0].item(),
epsilon[i][0][0].item())`` per channel; ``delta.data = clamp(delta, lower_limit - X, upper_limit
- X)``, ``delta.requires_grad = True``, the attack loop (``loss.backward()``, ``grad =
delta.grad.detach()``, ``delta.data = clamp(delta + alpha * torch.sign(grad), -epsilon,
epsilon)``, ``delta.grad.zero_()``), ``attack_pgd`` with restarts (``index = torch.where(
output.max(1)[1] == y)``, ``delta.data[index[0], :, :, :] = d``, ``all_loss = F.cross_entropy(
model(X + delta), y, reduction='none').detach()``, ``max_delta[all_loss >= max_loss] =
delta.detach()[all_loss >= max_loss]``, ``max_loss = torch.max(max_loss, all_loss)``);
``evaluate_pgd`` under ``model.eval()`` and the training loop under ``model.train()``
(``train_acc += (output.max(1)[1] == y).sum().item()``, ``train_loss += loss.item() *
y.size(0)``); ``torch.optim.lr_scheduler.CyclicLR(opt, base_lr=args.lr_min, max_lr=args.lr_max,
step_size_up=lr_steps / 2, step_size_down=lr_steps / 2)`` stepped per batch after ``opt.step()``
and, for the FGSM run, ``OneCycleLR``; FGSM's ``delta.data[:X.size(0)] = clamp(...)``.

robustness idioms: ``LinfStep`` / ``L2Step`` (``ch.clamp(diff, -self.eps, self.eps)``,
``x + 2 * (ch.rand_like(x) - 0.5) * self.eps``, ``g_norm = ch.norm(g.reshape(g.shape[0], -1),
dim=1).view(-1, *([1] * l))``, ``scaled_g = g / (g_norm + 1e-10)``, ``diff.renorm(p=2, dim=0,
maxnorm=self.eps)``), ``x = x.clone().detach().requires_grad_(True)``, ``grad, =
ch.autograd.grad(m * loss, [x])`` under ``ch.enable_grad()``, ``with ch.no_grad(): x =
step.step(x, grad); x = step.project(x)``, and the accuracy ``torch.max(model(X + delta),
dim=1)[1]``.

Changed: CIFAR-10 and PreActResNet18 -> 3 x 8 x 8 NumPy images and a small conv net with
``BatchNorm2d``; the random starts are checked for their range, then replaced by NumPy draws
(the two frameworks' generators differ); apex ``amp.scale_loss`` -> plain ``backward``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

BATCH, N_BATCHES, SIDE, N_CLASSES, EPOCHS, ATTACK_ITERS, RESTARTS = 4, 2, 8, 3, 2, 3, 2
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2471, 0.2435, 0.2616)
EPS_255, ALPHA_255 = 8.0, 2.0


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Flatten(nn.Module):
        def forward(self, x: Any) -> Any:
            return x.view(x.size(0), -1)

    return nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, stride=2, padding=1),
        nn.ReLU(),
        Flatten(),
        nn.Linear(6 * 2 * 2, 10),
        nn.ReLU(),
        nn.Linear(10, N_CLASSES),
    )


def clamp(torch_like: Any, X: Any, lower_limit: Any, upper_limit: Any) -> Any:
    torch = torch_like
    return torch.max(torch.min(X, upper_limit), lower_limit)


def random_start(
    torch_like: Any, X: Any, epsilon: Any, rng: np.random.Generator
) -> tuple[Any, list[float]]:
    """fast_adversarial's per-channel ``uniform_`` start; its range is checked, then the draw is
    replaced by a NumPy one of the same law so that both frameworks continue alike."""
    torch = torch_like
    delta = torch.zeros_like(X)
    for i in range(len(epsilon)):
        delta[:, i, :, :].uniform_(-epsilon[i][0][0].item(), epsilon[i][0][0].item())
    facts = [float((delta.abs() <= epsilon).all()), float((delta != 0).any())]
    with torch.no_grad():
        delta.copy_(as_tensor(torch, rng.uniform(-1, 1, tuple(X.shape))) * epsilon)
    return delta, facts


def attack_pgd(
    torch_like: Any, model: Any, X: Any, y: Any, bounds: dict, rng: Any
) -> tuple[Any, list[float]]:
    torch = torch_like
    F = torch_like.nn.functional
    epsilon, alpha = bounds["epsilon"], bounds["alpha"]
    lower_limit, upper_limit = bounds["lower"], bounds["upper"]
    max_loss = torch.zeros(y.shape[0])
    max_delta = torch.zeros_like(X)
    facts: list[float] = []
    for _zz in range(RESTARTS):
        delta, start_facts = random_start(torch, X, epsilon, rng)
        facts += start_facts
        delta.data = clamp(torch, delta, lower_limit - X, upper_limit - X)
        delta.requires_grad = True
        for _ in range(ATTACK_ITERS):
            output = model(X + delta)
            index = torch.where(output.max(1)[1] == y)
            if len(index[0]) == 0:
                break
            loss = F.cross_entropy(output, y)
            loss.backward()
            grad = delta.grad.detach()
            d = delta[index[0], :, :, :]
            g = grad[index[0], :, :, :]
            d = clamp(torch, d + alpha * torch.sign(g), -epsilon, epsilon)
            d = clamp(
                torch, d, lower_limit - X[index[0], :, :, :], upper_limit - X[index[0], :, :, :]
            )
            delta.data[index[0], :, :, :] = d
            delta.grad.zero_()
        all_loss = F.cross_entropy(model(X + delta), y, reduction="none").detach()
        max_delta[all_loss >= max_loss] = delta.detach()[all_loss >= max_loss]
        max_loss = torch.max(max_loss, all_loss)
        facts += [float(len(index[0]))]
    return max_delta, facts + max_loss.tolist()


class LinfStep:
    def __init__(self, torch_like: Any, orig_input: Any, eps: float, step_size: float) -> None:
        self.ch = torch_like
        self.orig_input, self.eps, self.step_size = orig_input, eps, step_size

    def project(self, x: Any) -> Any:
        diff = x - self.orig_input
        diff = self.ch.clamp(diff, -self.eps, self.eps)
        return self.ch.clamp(diff + self.orig_input, 0, 1)

    def step(self, x: Any, g: Any) -> Any:
        step = self.ch.sign(g) * self.step_size
        return x + step


class L2Step(LinfStep):
    def project(self, x: Any) -> Any:
        diff = x - self.orig_input
        diff = diff.renorm(p=2, dim=0, maxnorm=self.eps)
        return self.ch.clamp(self.orig_input + diff, 0, 1)

    def step(self, x: Any, g: Any) -> Any:
        l = len(x.shape) - 1  # noqa: E741 (the repository's name)
        g_norm = self.ch.norm(g.reshape(g.shape[0], -1), dim=1).view(-1, *([1] * l))
        scaled_g = g / (g_norm + 1e-10)
        return x + scaled_g * self.step_size


def robustness_attack(
    torch_like: Any, model: Any, x01: Any, y: Any, bounds: dict, constraint: str
) -> list[float]:
    """robustness' attacker on [0, 1] images (the model sees them normalised)."""
    ch = torch_like
    F = torch_like.nn.functional
    mu, std = bounds["mu"], bounds["std"]
    orig_input = x01.detach()
    step_cls = LinfStep if constraint == "inf" else L2Step
    eps, step_size = (8 / 255, 2 / 255) if constraint == "inf" else (0.5, 0.2)
    step = step_cls(ch, orig_input, eps, step_size)
    m = 1  # targeted = False
    x = x01.clone().detach().requires_grad_(True)
    for _ in range(ATTACK_ITERS):
        x = x.clone().detach().requires_grad_(True)
        with ch.enable_grad():
            losses = F.cross_entropy(model((x - mu) / std), y, reduction="none")
            loss = ch.mean(losses)
        (grad,) = ch.autograd.grad(m * loss, [x])
        with ch.no_grad():
            x = step.step(x, grad)
            x = step.project(x)
    diff = (x - orig_input).reshape(x.shape[0], -1)
    pred = ch.max(model((x - mu) / std), dim=1)[1]
    return [diff.abs().max().item(), diff.norm(dim=1).max().item(), (pred == y).sum().item()]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    rng = np.random.default_rng(11)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    mu = torch.tensor(CIFAR10_MEAN).view(3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(3, 1, 1)
    bounds = {
        "mu": mu,
        "std": std,
        "upper": ((1 - mu) / std),
        "lower": ((0 - mu) / std),
        "epsilon": (EPS_255 / 255.0) / std,
        "alpha": (ALPHA_255 / 255.0) / std,
    }
    epsilon, alpha = bounds["epsilon"], bounds["alpha"]
    lower_limit, upper_limit = bounds["lower"], bounds["upper"]
    images = rng.uniform(0, 1, (N_BATCHES, BATCH, 3, SIDE, SIDE))
    labels = rng.integers(0, N_CLASSES, (N_BATCHES, BATCH))
    train_loader = [
        ((as_tensor(torch, images[b]) - mu) / std, as_tensor(torch, labels[b]))
        for b in range(N_BATCHES)
    ]

    criterion = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    lr_steps = EPOCHS * len(train_loader)
    scheduler = torch.optim.lr_scheduler.CyclicLR(
        opt, base_lr=0.0, max_lr=0.05, step_size_up=lr_steps / 2, step_size_down=lr_steps / 2
    )
    values: list[float] = []
    for _epoch in range(EPOCHS):
        model.train()
        train_loss, train_acc, train_n = 0.0, 0, 0
        for X, y in train_loader:
            delta, facts = random_start(torch, X, epsilon, rng)
            values += facts
            delta.data = torch.clamp(delta, min=lower_limit - X, max=upper_limit - X)
            delta.requires_grad = True
            for _ in range(ATTACK_ITERS):
                output = model(X + delta)
                loss = criterion(output, y)
                loss.backward()
                grad = delta.grad.detach()
                delta.data = clamp(torch, delta + alpha * torch.sign(grad), -epsilon, epsilon)
                delta.data = torch.clamp(delta, min=lower_limit - X, max=upper_limit - X)
                delta.grad.zero_()
            delta = delta.detach()
            output = model(X + delta)
            loss = criterion(output, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            train_loss += loss.item() * y.size(0)
            train_acc += (output.max(1)[1] == y).sum().item()
            train_n += y.size(0)
            scheduler.step()
            values += [loss.item(), scheduler.get_last_lr()[0], opt.param_groups[0]["momentum"]]
        values += [train_loss / train_n, train_acc / train_n]

    # FGSM ("fast is better than free") with OneCycleLR, stepped per batch
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=lr_steps)
    model.train()
    for _epoch in range(EPOCHS):
        for X, y in train_loader:
            delta, _ = random_start(torch, X, epsilon, rng)
            delta.data = clamp(torch, delta, lower_limit - X, upper_limit - X)
            delta.requires_grad = True
            output = model(X + delta[: X.size(0)])
            loss = nn.functional.cross_entropy(output, y)
            loss.backward()
            grad = delta.grad.detach()
            delta.data = clamp(torch, delta + 1.25 * epsilon * torch.sign(grad), -epsilon, epsilon)
            delta.data[: X.size(0)] = clamp(
                torch, delta[: X.size(0)], lower_limit - X, upper_limit - X
            )
            delta = delta.detach()
            output = model(X + delta[: X.size(0)])
            loss = nn.functional.cross_entropy(output, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            scheduler.step()
            values += [loss.item(), scheduler.get_last_lr()[0]]

    # evaluate_pgd: restarts, eval mode
    model.eval()
    pgd_loss, pgd_acc, n = 0.0, 0, 0
    for X, y in train_loader:
        pgd_delta, facts = attack_pgd(torch, model, X, y, bounds, rng)
        values += facts
        with torch.no_grad():
            output = model(X + pgd_delta)
            loss = nn.functional.cross_entropy(output, y)
            pgd_loss += loss.item() * y.size(0)
            pgd_acc += (torch.max(output, dim=1)[1] == y).sum().item()
            n += y.size(0)
        within = (pgd_delta.abs() <= epsilon + 1e-12).all() & (
            X + pgd_delta <= upper_limit + 1e-12
        ).all()
        values += [float(within)]
    values += [pgd_loss / n, pgd_acc / n]
    x01 = as_tensor(torch, images[0])
    y0 = as_tensor(torch, labels[0])
    values += robustness_attack(torch, model, x01, y0, bounds, "inf")
    values += robustness_attack(torch, model, x01, y0, bounds, "2")
    values += [float(model.training), model[1].running_mean.abs().sum().item()]
    return values
