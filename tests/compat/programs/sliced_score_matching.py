"""Sliced score matching, size-reduced from ermongroup/sliced_score_matching
(``losses/sliced_sm.py``: ``sliced_score_matching``, ``sliced_score_estimation_vr``,
``anneal_sliced_score_estimation_vr``) with a Hutchinson trace estimator as FFJORD's and the
score-SDE code write it, training a small energy network and a noise-conditional score
network on a 2-d toy density.

The idioms: ``dup_samples = samples.unsqueeze(0).expand(n_particles, *samples.shape)
.contiguous().view(-1, *samples.shape[1:])``, ``dup_samples.requires_grad_(True)``,
``vectors = torch.randn_like(dup_samples)``, ``vectors / torch.norm(vectors, dim=-1,
keepdim=True)``, ``logp = -energy_net(dup_samples).sum()``, ``grad1 = autograd.grad(logp,
dup_samples, create_graph=True)[0]``, ``gradv = torch.sum(grad1 * vectors)``, ``loss1 =
torch.sum(grad1 * vectors, dim=-1) ** 2 * 0.5``, a second ``autograd.grad(gradv, dup_samples,
create_graph=True)`` for the projected Hessian, ``loss1.view(n_particles, -1).mean(dim=0)``;
the annealed version's ``used_sigmas = sigmas[labels].view(samples.shape[0], *([1] *
len(samples.shape[1:])))``, ``perturbed_samples = samples + torch.randn_like(samples) *
used_sigmas``, ``dup_labels = labels.unsqueeze(0).expand(n_particles, *labels.shape)
.contiguous().view(-1)``, ``(loss1 + loss2) * (used_sigmas.squeeze() ** 2)``; the noise
levels ``torch.tensor(np.exp(np.linspace(np.log(sigma_begin), np.log(sigma_end),
num_classes)))`` and a conditional network reading ``sigmas[y]``; the Hutchinson divergence
``e = torch.randint_like(x, low=0, high=2) * 2 - 1``, ``e_dzdx = torch.autograd.grad(f, x,
e, create_graph=True)[0]``, ``(e_dzdx * e).view(x.shape[0], -1).sum(dim=1)``, checked
against the exact trace from ``torch.autograd.functional.jacobian``; ``nn.Softplus`` and
``nn.ELU`` energies; ``optim.Adam`` steps.

Changed: the 2-d datasets (a mixture of Gaussians) drawn by ``torch.randn``; tiny MLPs and a
few steps. PyTorch's CPU generator is reproduced by chainrule, so ``torch.manual_seed``
seeds both runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

HIDDEN, BATCH, STEPS, N_PARTICLES, N_SIGMAS = 16, 8, 3, 2, 4


def make_model(torch_like: Any) -> Any:
    """The energy network of the toy experiments (``Softplus`` MLP to a scalar)."""
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(2, HIDDEN), nn.Softplus(), nn.Linear(HIDDEN, HIDDEN), nn.Softplus(),
        nn.Linear(HIDDEN, 1),
    )  # fmt: skip


def sliced_score_matching(torch_like: Any, energy_net: Any, samples: Any, n_particles: int = 1):
    torch = torch_like
    autograd = torch_like.autograd
    dup_samples = (
        samples.unsqueeze(0)
        .expand(n_particles, *samples.shape)
        .contiguous()
        .view(-1, *samples.shape[1:])
    )
    dup_samples.requires_grad_(True)
    vectors = torch.randn_like(dup_samples)
    vectors = vectors / torch.norm(vectors, dim=-1, keepdim=True)

    logp = -energy_net(dup_samples).sum()
    grad1 = autograd.grad(logp, dup_samples, create_graph=True)[0]
    gradv = torch.sum(grad1 * vectors)
    loss1 = torch.sum(grad1 * vectors, dim=-1) ** 2 * 0.5
    grad2 = autograd.grad(gradv, dup_samples, create_graph=True)[0]
    loss2 = torch.sum(vectors * grad2, dim=-1)

    loss1 = loss1.view(n_particles, -1).mean(dim=0)
    loss2 = loss2.view(n_particles, -1).mean(dim=0)
    loss = loss1 + loss2
    return loss.mean(), loss1.mean(), loss2.mean()


def sliced_score_estimation_vr(torch_like: Any, score_net: Any, samples: Any, n_particles=1):
    torch = torch_like
    autograd = torch_like.autograd
    dup_samples = (
        samples.unsqueeze(0)
        .expand(n_particles, *samples.shape)
        .contiguous()
        .view(-1, *samples.shape[1:])
    )
    dup_samples.requires_grad_(True)
    vectors = torch.randn_like(dup_samples)

    grad1 = score_net(dup_samples)
    gradv = torch.sum(grad1 * vectors)
    loss1 = torch.sum(grad1 * grad1, dim=-1) / 2.0
    grad2 = autograd.grad(gradv, dup_samples, create_graph=True)[0]
    loss2 = torch.sum(vectors * grad2, dim=-1)

    loss1 = loss1.view(n_particles, -1).mean(dim=0)
    loss2 = loss2.view(n_particles, -1).mean(dim=0)
    loss = loss1 + loss2
    return loss.mean(), loss1.mean(), loss2.mean()


def anneal_sliced_score_estimation_vr(torch_like, scorenet, samples, labels, sigmas, n_particles=1):
    torch = torch_like
    autograd = torch_like.autograd
    used_sigmas = sigmas[labels].view(samples.shape[0], *([1] * len(samples.shape[1:])))
    perturbed_samples = samples + torch.randn_like(samples) * used_sigmas
    dup_samples = (
        perturbed_samples.unsqueeze(0)
        .expand(n_particles, *samples.shape)
        .contiguous()
        .view(-1, *samples.shape[1:])
    )
    dup_labels = labels.unsqueeze(0).expand(n_particles, *labels.shape).contiguous().view(-1)
    dup_samples.requires_grad_(True)

    # use Rademacher
    vectors = torch.randn_like(dup_samples)

    grad1 = scorenet(dup_samples, dup_labels)
    gradv = torch.sum(grad1 * vectors)
    grad2 = autograd.grad(gradv, dup_samples, create_graph=True)[0]

    grad1 = grad1.view(dup_samples.shape[0], -1)
    loss1 = torch.sum(grad1 * grad1, dim=-1) / 2.0

    loss2 = torch.sum((vectors * grad2).view(dup_samples.shape[0], -1), dim=-1)

    loss1 = loss1.view(n_particles, -1).mean(dim=0)
    loss2 = loss2.view(n_particles, -1).mean(dim=0)

    loss = (loss1 + loss2) * (used_sigmas.squeeze() ** 2)

    return loss.mean(dim=0)


def make_cond_score_net(torch_like: Any, sigmas: Any) -> Any:
    """A toy noise-conditional score network: the output is divided by ``sigmas[y]``."""
    nn = torch_like.nn

    class CondScore(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(N_SIGMAS, HIDDEN)
            self.fc1 = nn.Linear(2, HIDDEN)
            self.act = nn.ELU()
            self.fc2 = nn.Linear(HIDDEN, 2)
            self.register_buffer("sigmas", sigmas)

        def forward(self, x: Any, y: Any) -> Any:
            h = self.act(self.fc1(x) + self.embed(y))
            used_sigmas = self.sigmas[y].view(x.shape[0], *([1] * len(x.shape[1:])))
            return self.fc2(h) / used_sigmas

    return CondScore()


def divergence_approx(torch_like: Any, f: Any, y: Any, e: Any) -> Any:
    """FFJORD's Hutchinson estimator of the trace of df/dy."""
    e_dzdx = torch_like.autograd.grad(f, y, e, create_graph=True)[0]
    e_dzdx_e = e_dzdx * e
    approx_tr_dzdx = e_dzdx_e.view(y.shape[0], -1).sum(dim=1)
    return approx_tr_dzdx


def toy_data(torch_like: Any, n: int) -> Any:
    torch = torch_like
    centers = torch.tensor([[1.5, 0.0], [-1.5, 0.5], [0.0, -1.5]])
    idx = torch.randint(0, 3, (n,))
    return centers[idx] + 0.3 * torch.randn(n, 2)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    energy_net = make_model(torch_like)
    load_numpy_state(torch_like, energy_net, init)
    torch.manual_seed(11)
    values: list[float] = []
    optimizer = torch.optim.Adam(energy_net.parameters(), lr=1e-3)
    for _step in range(STEPS):
        samples = toy_data(torch, BATCH)
        loss, loss1, loss2 = sliced_score_matching(torch, energy_net, samples, N_PARTICLES)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), loss1.item(), loss2.item()]

    def score_net(x: Any) -> Any:
        # the score of the energy model, differentiable in its input
        with torch.enable_grad():
            logp = -energy_net(x).sum()
            return torch.autograd.grad(logp, x, create_graph=True)[0]

    samples = toy_data(torch, BATCH)
    loss, loss1, loss2 = sliced_score_estimation_vr(torch, score_net, samples, N_PARTICLES)
    loss.backward()
    values += [loss.item(), loss1.item(), loss2.item()]
    values += [p.grad.abs().sum().item() for p in energy_net.parameters() if p.grad is not None]

    sigma_begin, sigma_end = 1.0, 0.05
    sigmas = torch.tensor(np.exp(np.linspace(np.log(sigma_begin), np.log(sigma_end), N_SIGMAS)))
    sigmas = sigmas.float().to(torch.get_default_dtype())
    scorenet = make_cond_score_net(torch, sigmas)
    optimizer = torch.optim.Adam(scorenet.parameters(), lr=1e-3, betas=(0.9, 0.999))
    for _step in range(STEPS):
        samples = toy_data(torch, BATCH)
        labels = torch.randint(0, len(sigmas), (samples.shape[0],), device=samples.device)
        loss = anneal_sliced_score_estimation_vr(
            torch, scorenet, samples, labels, sigmas, n_particles=N_PARTICLES
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    # Hutchinson trace of the score network's Jacobian vs the exact trace
    x = toy_data(torch, 3).requires_grad_(True)
    y = torch.full((3,), 1, dtype=torch.long)
    f = scorenet(x, y)
    estimates = []
    for _ in range(4):
        e = torch.randint_like(x, low=0, high=2).to(x) * 2 - 1
        estimates.append(divergence_approx(torch, f, x, e))
    approx = torch.stack(estimates).mean(0)
    jac = torch.autograd.functional.jacobian(lambda z: scorenet(z, y).sum(0), x.detach())
    exact = torch.einsum("iji->j", jac)
    values += approx.tolist() + exact.tolist()
    approx.sum().backward()
    values.append(scorenet.fc1.weight.grad.norm().item())
    return values
