"""Evidential deep learning for classification uncertainty, as dougbrion/pytorch-classification-
uncertainty (``losses.py``: ``kl_divergence``, ``loglikelihood_loss``, ``mse_loss``,
``edl_loss``, ``edl_mse_loss`` / ``edl_log_loss`` / ``edl_digamma_loss``; ``helpers.py``'s
``one_hot_embedding`` and the evidence functions; ``train.py``'s loop) writes it, size-reduced
to a small MLP on 3-class blobs.

The idioms: ``torch.ones([1, num_classes], dtype=torch.float32)`` mixed into float64 Dirichlet
parameters; the KL to the uniform Dirichlet ``torch.lgamma(sum_alpha) -
torch.lgamma(alpha).sum(dim=1, keepdim=True) + torch.lgamma(ones).sum(dim=1, keepdim=True) -
torch.lgamma(ones.sum(dim=1, keepdim=True))`` plus ``(alpha - ones).mul(torch.digamma(alpha) -
torch.digamma(sum_alpha)).sum(dim=1, keepdim=True)``; the annealing coefficient
``torch.min(torch.tensor(1.0, dtype=torch.float32), torch.tensor(epoch_num / annealing_step,
dtype=torch.float32))`` (a float32 0-d tensor scaling float64 values); ``kl_alpha = (alpha - 1)
* (1 - y) + 1``; the three evidences ``F.relu``, ``torch.exp(torch.clamp(y, -10, 10))`` and
``F.softplus``; ``one_hot_embedding`` as ``torch.eye(num_classes)[labels]``; the loop's
uncertainty ``u = num_classes / torch.sum(alpha, dim=1, keepdim=True)``, ``match =
torch.reshape(torch.eq(preds, labels).float(), (-1, 1))`` and ``mean_evidence_succ =
torch.sum(torch.sum(evidence, 1, keepdim=True) * match) / torch.sum(match + 1e-20)``; Adam with
``weight_decay=0.005`` and ``StepLR(step_size=2, gamma=0.1)``; the Dirichlet itself via
``torch.distributions.Dirichlet(alpha).mean`` / ``.entropy()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_CLASSES, EPOCHS, ANNEALING_STEP = 3, 4, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, NUM_CLASSES))


def _losses(torch_like: Any) -> dict:
    torch, F = torch_like, torch_like.nn.functional

    def relu_evidence(y: Any) -> Any:
        return F.relu(y)

    def exp_evidence(y: Any) -> Any:
        return torch.exp(torch.clamp(y, -10, 10))

    def softplus_evidence(y: Any) -> Any:
        return F.softplus(y)

    def kl_divergence(alpha: Any, num_classes: int, device: Any = None) -> Any:
        ones = torch.ones([1, num_classes], dtype=torch.float32, device=device)
        sum_alpha = torch.sum(alpha, dim=1, keepdim=True)
        first_term = (
            torch.lgamma(sum_alpha)
            - torch.lgamma(alpha).sum(dim=1, keepdim=True)
            + torch.lgamma(ones).sum(dim=1, keepdim=True)
            - torch.lgamma(ones.sum(dim=1, keepdim=True))
        )
        second_term = (
            (alpha - ones)
            .mul(torch.digamma(alpha) - torch.digamma(sum_alpha))
            .sum(dim=1, keepdim=True)
        )
        kl = first_term + second_term
        return kl

    def loglikelihood_loss(y: Any, alpha: Any, device: Any = None) -> Any:
        y = y.to(device)
        alpha = alpha.to(device)
        S = torch.sum(alpha, dim=1, keepdim=True)
        loglikelihood_err = torch.sum((y - (alpha / S)) ** 2, dim=1, keepdim=True)
        loglikelihood_var = torch.sum(alpha * (S - alpha) / (S * S * (S + 1)), dim=1, keepdim=True)
        loglikelihood = loglikelihood_err + loglikelihood_var
        return loglikelihood

    def annealing(epoch_num: int, annealing_step: int) -> Any:
        return torch.min(
            torch.tensor(1.0, dtype=torch.float32),
            torch.tensor(epoch_num / annealing_step, dtype=torch.float32),
        )

    def mse_loss(y: Any, alpha: Any, epoch_num: int, num_classes: int, annealing_step: int,
                 device: Any = None) -> Any:  # fmt: skip
        loglikelihood = loglikelihood_loss(y, alpha, device=device)
        annealing_coef = annealing(epoch_num, annealing_step)
        kl_alpha = (alpha - 1) * (1 - y) + 1
        kl_div = annealing_coef * kl_divergence(kl_alpha, num_classes, device=device)
        return loglikelihood + kl_div

    def edl_loss(func: Any, y: Any, alpha: Any, epoch_num: int, num_classes: int,
                 annealing_step: int, device: Any = None) -> Any:  # fmt: skip
        S = torch.sum(alpha, dim=1, keepdim=True)
        A = torch.sum(y * (func(S) - func(alpha)), dim=1, keepdim=True)
        annealing_coef = annealing(epoch_num, annealing_step)
        kl_alpha = (alpha - 1) * (1 - y) + 1
        kl_div = annealing_coef * kl_divergence(kl_alpha, num_classes, device=device)
        return A + kl_div

    def edl_mse_loss(output: Any, target: Any, epoch_num: int, num_classes: int,
                     annealing_step: int, device: Any = None) -> Any:  # fmt: skip
        evidence = relu_evidence(output)
        alpha = evidence + 1
        return torch.mean(mse_loss(target, alpha, epoch_num, num_classes, annealing_step, device))

    def edl_log_loss(output: Any, target: Any, epoch_num: int, num_classes: int,
                     annealing_step: int, device: Any = None) -> Any:  # fmt: skip
        evidence = exp_evidence(output)
        alpha = evidence + 1
        return torch.mean(
            edl_loss(torch.log, target, alpha, epoch_num, num_classes, annealing_step, device)
        )

    def edl_digamma_loss(output: Any, target: Any, epoch_num: int, num_classes: int,
                         annealing_step: int, device: Any = None) -> Any:  # fmt: skip
        evidence = softplus_evidence(output)
        alpha = evidence + 1
        return torch.mean(
            edl_loss(torch.digamma, target, alpha, epoch_num, num_classes, annealing_step, device)
        )

    return {"mse": (edl_mse_loss, relu_evidence), "log": (edl_log_loss, exp_evidence),
            "digamma": (edl_digamma_loss, softplus_evidence)}  # fmt: skip


def _blobs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, NUM_CLASSES, n)
    centres = np.array([[0.0, 1.5], [1.3, -0.8], [-1.3, -0.8]])
    return centres[labels] + 0.8 * rng.standard_normal((n, 2)), labels


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    losses = _losses(torch_like)
    device = torch.device("cpu")
    rng = np.random.default_rng(21)
    batches = [_blobs(rng, 8) for _ in range(3)]

    def one_hot_embedding(labels: Any, num_classes: int = 10) -> Any:
        y = torch.eye(num_classes)
        return y[labels]

    values: list[float] = []
    for _name, (criterion, evidence_fn) in losses.items():
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=0.005)
        exp_lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
        for epoch in range(EPOCHS):
            model.train()
            running_loss, running_corrects, evidences = 0.0, 0.0, []
            for x, y in batches:
                inputs, labels = as_tensor(torch_like, x), as_tensor(torch_like, y)
                optimizer.zero_grad()
                with torch.set_grad_enabled(True):
                    y1h = one_hot_embedding(labels, NUM_CLASSES).to(device)
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(
                        outputs, y1h.float(), epoch, NUM_CLASSES, ANNEALING_STEP, device
                    )
                    match = torch.reshape(torch.eq(preds, labels).float(), (-1, 1))
                    acc = torch.mean(match)
                    evidence = evidence_fn(outputs)
                    alpha = evidence + 1
                    u = NUM_CLASSES / torch.sum(alpha, dim=1, keepdim=True)
                    total_evidence = torch.sum(evidence, 1, keepdim=True)
                    mean_evidence_succ = torch.sum(total_evidence * match) / torch.sum(
                        match + 1e-20
                    )
                    loss.backward()
                    optimizer.step()
                running_loss += loss.item() * inputs.size(0)
                running_corrects += torch.sum(preds == labels.data).item()
                evidences += [u.mean().item(), mean_evidence_succ.item(), acc.item()]
            exp_lr_scheduler.step()
            values += [running_loss, running_corrects, *evidences]
        with torch.no_grad():
            dirichlet = torch.distributions.Dirichlet(evidence_fn(model(inputs)) + 1)
            values += [dirichlet.mean.sum().item(), dirichlet.entropy().sum().item()]
    return values
