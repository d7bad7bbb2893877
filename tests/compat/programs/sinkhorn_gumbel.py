"""Entropic optimal transport and a categorical VAE, two staples of "differentiable discrete"
PyTorch code, size-reduced.

Sinkhorn, as dfdazac/wassdistance's ``SinkhornDistance`` writes it (and the many copies of it):
``torch.empty(batch, n, dtype=..., requires_grad=False).fill_(1.0 / n).squeeze()`` marginals,
log-domain updates ``u = eps * (torch.log(mu + 1e-8) - torch.logsumexp(self.M(C, u, v),
dim=-1)) + u`` and the same for ``v`` on ``.transpose(-2, -1)``, ``M = (-C + u.unsqueeze(-1) +
v.unsqueeze(-2)) / eps``, the stopping test ``err = (u - u1).abs().sum(-1).mean()`` with
``if err.item() < thresh: break``, the plan ``pi = torch.exp(self.M(C, U, V))`` and the cost
``torch.sum(pi * C, dim=(-2, -1))``; the cost matrix ``torch.sum((torch.abs(x_col - y_lin)) **
p, -1)`` is checked against ``torch.cdist(x, y) ** 2``. A point cloud (an ``nn.Parameter``) is
pulled towards a target cloud by the Sinkhorn cost, with ``Adam``, and the debiased Sinkhorn
divergence ``OT(x, y) - (OT(x, x) + OT(y, y)) / 2`` is reported. POT's plain-domain
``sinkhorn_knopp`` (``K = torch.exp(M / (-reg))``, ``Kp = (1 / a).reshape(-1, 1) * K``, ``v =
torch.div(b, KtransposeU)``, ``u = 1.0 / torch.matmul(Kp, v)``, the plan as a broadcast product
and as ``einsum("i,ij,j->ij", u, K, v)``) gives the log-domain plan (to its stopping threshold).

Categorical VAE, as YongfeiYan/Gumbel_Softmax_VAE and ericjang's notebook port write it: an MLP
encoder giving ``(batch, latent_dim, categorical_dim)`` logits, ``gumbel_softmax_sample``
(``y = logits + sample_gumbel(logits.size())``, ``F.softmax(y / temperature, dim=-1)``) with
``sample_gumbel`` = ``-torch.log(-torch.log(U + eps) + eps)``, the straight-through hard sample
(``_, ind = y.max(dim=-1)``, ``y_hard = torch.zeros_like(y).view(-1, shape[-1])``,
``y_hard.scatter_(1, ind.view(-1, 1), 1)``, ``(y_hard - y).detach() + y``), the decoder with
``nn.Sigmoid``, ``F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')``, the KL to
a uniform prior (``qy = F.softmax(q_y, dim=-1)``, ``log_ratio = torch.log(qy * categorical_dim +
1e-20)``, ``torch.sum(qy * log_ratio, dim=-1).mean()``), and the temperature annealed as
``np.maximum(temp * np.exp(-ANNEAL_RATE * batch_idx), temp_min)``; the same KL from
``torch.distributions`` (``kl_divergence`` of two ``OneHotCategorical``, ``log K - entropy()``)
and the density of the relaxed sample under ``RelaxedOneHotCategorical(temperature,
probs=qy).log_prob``.

The uniform draws ``U`` (the notebook's ``torch.rand(shape)``) come from NumPy, since the two
libraries' generators differ. ``F.gumbel_softmax(logits, tau=..., hard=True)`` itself draws
inside the library, so after ``torch.manual_seed`` what is compared is what holds for every
draw: its hard samples are one-hot rows, they are the arg-max when the logits are far apart, and
the straight-through gradient (the softmax's, so of any loss of the sample) sums to zero over
each row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

PIXELS, HIDDEN, LATENT, CATEGORIES, BATCH, STEPS = 16, 12, 3, 4, 6, 4
TEMP, TEMP_MIN, ANNEAL_RATE = 1.0, 0.5, 0.3
POINTS, TARGETS, OT_EPS, OT_ITERS, OT_STEPS = 5, 6, 0.5, 100, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class VAE_gumbel(nn.Module):
        def __init__(self, temp: float) -> None:
            super().__init__()
            self.fc1 = nn.Linear(PIXELS, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, LATENT * CATEGORIES)
            self.fc3 = nn.Linear(LATENT * CATEGORIES, HIDDEN)
            self.fc4 = nn.Linear(HIDDEN, PIXELS)
            self.relu = nn.ReLU()
            self.sigmoid = nn.Sigmoid()

        def encode(self, x: Any) -> Any:
            h1 = self.relu(self.fc1(x))
            return self.relu(self.fc2(h1))

        def decode(self, z: Any) -> Any:
            h3 = self.relu(self.fc3(z))
            return self.sigmoid(self.fc4(h3))

        def forward(self, x: Any, temp: float, uniform: Any, hard: bool) -> tuple[Any, Any]:
            q = self.encode(x.view(-1, PIXELS))
            q_y = q.view(q.size(0), LATENT, CATEGORIES)
            z = gumbel_softmax(torch_like, q_y, temp, uniform, hard)
            return self.decode(z), F.softmax(q_y, dim=-1).reshape(*q_y.size())

    return VAE_gumbel(TEMP)


def sample_gumbel(torch_like: Any, uniform: Any, eps: float = 1e-20) -> Any:
    """Gumbel(0, 1) noise from uniform draws (the notebook's ``U = torch.rand(shape)``)."""
    U = uniform
    return -torch_like.log(-torch_like.log(U + eps) + eps)


def gumbel_softmax(
    torch_like: Any, logits: Any, temperature: float, uniform: Any, hard: bool = False
) -> Any:
    """ST-gumbel-softmax: a relaxed sample, or a one-hot one with the relaxed gradient."""
    F = torch_like.nn.functional
    y = F.softmax((logits + sample_gumbel(torch_like, uniform)) / temperature, dim=-1)
    if not hard:
        return y.view(-1, LATENT * CATEGORIES)
    shape = y.size()
    _, ind = y.max(dim=-1)
    y_hard = torch_like.zeros_like(y).view(-1, shape[-1])
    y_hard.scatter_(1, ind.view(-1, 1), 1)
    y_hard = y_hard.view(*shape)
    # Set gradients w.r.t. y_hard gradients w.r.t. y
    y_hard = (y_hard - y).detach() + y
    return y_hard.view(-1, LATENT * CATEGORIES)


def vae_loss(torch_like: Any, recon_x: Any, x: Any, qy: Any) -> Any:
    F = torch_like.nn.functional
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, PIXELS), reduction="sum") / x.shape[0]
    log_ratio = torch_like.log(qy * CATEGORIES + 1e-20)
    KLD = torch_like.sum(qy * log_ratio, dim=-1).mean()
    return BCE + KLD


class SinkhornDistance:
    """Log-domain Sinkhorn iterations for the entropy-regularised transport cost."""

    def __init__(self, torch_like: Any, eps: float, max_iter: int) -> None:
        self.torch = torch_like
        self.eps = eps
        self.max_iter = max_iter

    def __call__(self, x: Any, y: Any) -> tuple[Any, Any, Any, int]:
        torch = self.torch
        C = self._cost_matrix(x, y)  # Wasserstein cost function
        x_points = x.shape[-2]
        y_points = y.shape[-2]
        batch_size = 1 if x.dim() == 2 else x.shape[0]
        mu = (
            torch.empty(batch_size, x_points, dtype=x.dtype, requires_grad=False)
            .fill_(1.0 / x_points)
            .squeeze()
        )
        nu = (
            torch.empty(batch_size, y_points, dtype=x.dtype, requires_grad=False)
            .fill_(1.0 / y_points)
            .squeeze()
        )
        u = torch.zeros_like(mu)
        v = torch.zeros_like(nu)
        actual_nits = 0
        thresh = 1e-7
        for _i in range(self.max_iter):
            u1 = u  # useful to check the update
            u = self.eps * (torch.log(mu + 1e-8) - torch.logsumexp(self.M(C, u, v), dim=-1)) + u
            v = (
                self.eps
                * (
                    torch.log(nu + 1e-8)
                    - torch.logsumexp(self.M(C, u, v).transpose(-2, -1), dim=-1)
                )
                + v
            )
            err = (u - u1).abs().sum(-1).mean()
            actual_nits += 1
            if err.item() < thresh:
                break
        U, V = u, v
        pi = torch.exp(self.M(C, U, V))  # Transport plan pi = diag(a)*K*diag(b)
        cost = torch.sum(pi * C, dim=(-2, -1))
        return cost, pi, C, actual_nits

    def M(self, C: Any, u: Any, v: Any) -> Any:
        """Modified cost for logarithmic updates: (-C_ij + u_i + v_j) / eps."""
        return (-C + u.unsqueeze(-1) + v.unsqueeze(-2)) / self.eps

    @staticmethod
    def _cost_matrix(x: Any, y: Any, p: int = 2) -> Any:
        """Returns the matrix of |x_i - y_j|^p."""
        x_col = x.unsqueeze(-2)
        y_lin = y.unsqueeze(-3)
        return (abs(x_col - y_lin) ** p).sum(-1)


def sinkhorn_knopp(torch_like: Any, a: Any, b: Any, M: Any, reg: float, n_iter: int) -> Any:
    """POT's ``sinkhorn_knopp`` in the plain domain: scalings ``u``, ``v`` of ``K = exp(-M /
    reg)``, the plan ``u.reshape((-1, 1)) * K * v.reshape((1, -1))``."""
    torch = torch_like
    u = torch.ones(a.shape[0], dtype=M.dtype) / a.shape[0]
    v = torch.ones(b.shape[0], dtype=M.dtype) / b.shape[0]
    K = torch.exp(M / (-reg))
    Kp = (1 / a).reshape(-1, 1) * K
    for _ii in range(n_iter):
        KtransposeU = torch.matmul(K.T, u)
        v = torch.div(b, KtransposeU)
        u = 1.0 / torch.matmul(Kp, v)
    plan = u.reshape((-1, 1)) * K * v.reshape((1, -1))
    assert torch.allclose(plan, torch.einsum("i,ij,j->ij", u, K, v))
    return plan


def sinkhorn_steps(torch_like: Any, rng: np.random.Generator) -> list[float]:
    """Pull a point cloud towards a target with the Sinkhorn cost; report costs and plans."""
    nn = torch_like.nn
    points = nn.Parameter(as_tensor(torch_like, rng.standard_normal((POINTS, 2))))
    target = as_tensor(torch_like, rng.standard_normal((TARGETS, 2)) + 1.0)
    sinkhorn = SinkhornDistance(torch_like, eps=OT_EPS, max_iter=OT_ITERS)
    optimizer = torch_like.optim.Adam([points], lr=0.1)
    values: list[float] = []
    for _step in range(OT_STEPS):
        optimizer.zero_grad()
        cost, pi, C, nits = sinkhorn(points, target)
        cdist_gap = (torch_like.cdist(points, target) ** 2 - C).abs().max()
        cost.backward()
        optimizer.step()
        marginal_gap = (pi.sum(-1) - 1.0 / POINTS).abs().max()
        values += [cost.item(), float(nits), cdist_gap.item(), marginal_gap.item()]
        values += points.grad.flatten().tolist()
    with torch_like.no_grad():
        batched = torch_like.stack([points, points + 0.5])
        costs, _, _, _ = sinkhorn(batched, target.expand(2, -1, -1))
        xy, _, _, _ = sinkhorn(points, target)
        xx, _, _, _ = sinkhorn(points, points)
        yy, _, _, _ = sinkhorn(target, target)
        _, pi, C, _ = sinkhorn(points, target)
        a = torch_like.full((POINTS,), 1.0 / POINTS)
        b = torch_like.full((TARGETS,), 1.0 / TARGETS)
        plan = sinkhorn_knopp(torch_like, a, b, C, OT_EPS, OT_ITERS)
    plan_gap = (plan - pi).abs().max().item()
    return values + costs.tolist() + [(xy - (xx + yy) / 2).item(), plan_gap]


def seeded_gumbel_softmax(torch_like: Any, rng: np.random.Generator) -> list[float]:
    """``F.gumbel_softmax`` after ``manual_seed``: the facts every draw shares."""
    F = torch_like.nn.functional
    torch_like.manual_seed(0)
    logits = as_tensor(torch_like, rng.standard_normal((8, CATEGORIES)), requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True)
    weights = as_tensor(torch_like, rng.standard_normal((8, CATEGORIES)))
    (y * weights).sum().backward()
    one_hot = bool(((y == 0) | (y == 1)).all()) and bool((y.sum(-1) == 1).all())
    row_grad = logits.grad.sum(-1).abs().max().item()  # softmax's Jacobian rows sum to zero
    far = torch_like.tensor([[0.0, 200.0, -50.0, 10.0], [300.0, 0.0, 0.0, -300.0]])
    sure = F.gumbel_softmax(far, tau=1.0, hard=True, dim=-1)
    soft = F.gumbel_softmax(far, tau=1.0)
    expected = F.one_hot(far.argmax(-1), CATEGORIES).to(far.dtype)
    return [float(one_hot), row_grad, *sure.flatten().tolist(), (soft - expected).abs().max()]


def run(torch_like: Any, init: dict) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(3)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch_like.optim.Adam(model.parameters(), lr=1e-2)
    data = as_tensor(torch_like, (rng.random((BATCH, 1, 4, 4)) > 0.5).astype(np.float64))
    values: list[float] = []
    temp = TEMP
    model.train()
    for batch_idx in range(STEPS):
        uniform = as_tensor(torch_like, rng.random((BATCH, LATENT, CATEGORIES)))
        optimizer.zero_grad()
        recon_batch, qy = model(data, temp, uniform, hard=True)
        loss = vae_loss(torch_like, recon_batch, data, qy)
        dists = torch_like.distributions
        posterior = dists.OneHotCategorical(probs=qy)
        prior = dists.OneHotCategorical(logits=torch_like.zeros_like(qy))
        kl_dist = dists.kl_divergence(posterior, prior).mean()
        kl_entropy = (math.log(CATEGORIES) - posterior.entropy()).mean()
        relaxed = dists.RelaxedOneHotCategorical(torch_like.tensor(temp), probs=qy)
        soft = F.softmax(torch_like.log(qy) + sample_gumbel(torch_like, uniform), dim=-1)
        log_density = relaxed.log_prob(soft.detach()).sum(-1).mean()
        loss.backward()
        optimizer.step()
        temp = np.maximum(temp * np.exp(-ANNEAL_RATE * batch_idx), TEMP_MIN)
        values += [loss.item(), float(temp), model.fc2.weight.grad.abs().sum().item()]
        values += [kl_dist.item(), kl_entropy.item(), log_density.item()]
    model.eval()
    with torch_like.no_grad():
        uniform = as_tensor(torch_like, rng.random((BATCH, LATENT, CATEGORIES)))
        soft, _ = model(data, TEMP_MIN, uniform, hard=False)
        codes = torch_like.zeros(BATCH * LATENT, CATEGORIES)
        codes.scatter_(1, qy.detach().view(-1, CATEGORIES).argmax(1, keepdim=True), 1)
        sample = model.decode(codes.view(BATCH, LATENT * CATEGORIES))
    values += soft.flatten().tolist() + sample.flatten().tolist()
    values += sinkhorn_steps(torch_like, rng)
    return values + [float(v) for v in seeded_gumbel_softmax(torch_like, rng)]


def check(values: list[float]) -> None:
    for step in range(STEPS):
        kl_dist, kl_entropy = values[6 * step + 3 : 6 * step + 5]
        assert abs(kl_dist - kl_entropy) < 1e-12  # two spellings of KL(q || uniform)
    assert values[-12] < 1e-6  # log-domain and plain Sinkhorn plans agree
    assert values[-11] == 1.0  # F.gumbel_softmax(hard=True) gives one-hot rows
    assert values[-10] < 1e-12  # its straight-through gradient sums to zero per row
    assert values[-9:-1] == [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert values[-1] < 1e-12  # far-apart logits: the soft sample is the arg-max one-hot
