"""k-means and a Gaussian-mixture EM written in PyTorch, as kmeans_pytorch
(subhadarship/kmeans_pytorch) and the widely copied "GMM in PyTorch" gists
(ldeecke/gmm-torch) write them, size-reduced.

k-means: the Euclidean distance by ``torch.cdist`` and by the expanded form ``(x ** 2).sum(1,
keepdim=True) - 2 * x @ c.T + (c ** 2).sum(1)``, ``argmin(dim=1)``, centroid updates through
``index_add_`` and through ``scatter_add_`` with the index ``expand``ed over features, counts by
``torch.bincount(minlength=k)``, ``torch.where`` keeping the old centroid of an empty cluster,
convergence by ``torch.norm`` of the shift (``torch.sqrt(torch.sum((c - c_prev) ** 2,
dim=1))``), and the inertia ``dist.gather(1, labels[:, None]).sum()``.

GMM: the E-step's ``torch.distributions.MultivariateNormal(means, covariance_matrix=covs)
.log_prob(x[:, None, :])`` (one batch of components), the weighted log likelihoods
``+ torch.log(pi)``, log responsibilities with ``torch.logsumexp(dim=1, keepdim=True)``; the
M-step's ``resp.sum(0)``, ``torch.einsum('nk,nd->kd', ...)`` means and the covariances
``torch.einsum('nk,nkd,nke->kde', resp, diff, diff) / nk[:, None, None] + eps *
torch.eye(d)``, the log-likelihood history; the fitted mixture re-scored with
``MixtureSameFamily(Categorical(logits=...), MultivariateNormal(...)).log_prob``, its
``mean``/``variance`` and ``predict`` by ``argmax``. The initial centroids are picked by NumPy
(``np.random.choice`` without replacement), since the frameworks' generators differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["run"]

K, D, N_PER, KMEANS_ITERS, EM_ITERS, TOL, EPS = 3, 2, 12, 6, 5, 1e-4, 1e-6


def make_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20)
    centres = np.array([[0.0, 0.0], [3.0, 3.0], [-3.0, 2.5]])
    x = np.concatenate([c + rng.standard_normal((N_PER, D)) * 0.6 for c in centres])
    init_idx = rng.choice(len(x), K, replace=False)
    return x, init_idx


def pairwise_distance(torch_like: Any, data1: Any, data2: Any) -> Any:
    """kmeans_pytorch's ``pairwise_distance``: broadcast and sum the squared differences."""
    A = data1.unsqueeze(dim=1)  # N*1*M
    B = data2.unsqueeze(dim=0)  # 1*N*M
    dis = (A - B) ** 2.0
    # return N*N matrix for pairwise distance
    return dis.sum(dim=-1).squeeze()


def kmeans(torch_like: Any, x: Any, init_idx: np.ndarray) -> list[float]:
    torch = torch_like
    values: list[float] = []
    centroids = x[torch.from_numpy(init_idx)].clone()
    for _it in range(KMEANS_ITERS):
        dist = torch.cdist(x, centroids)
        sq = (x**2).sum(1, keepdim=True) - 2 * x @ centroids.T + (centroids**2).sum(1)
        values += [(dist**2 - sq).abs().max().item() < 1e-9]
        values += [(pairwise_distance(torch, x, centroids) - sq).abs().max().item() < 1e-9]
        labels = dist.argmin(dim=1)
        counts = torch.bincount(labels, minlength=K)
        sums = torch.zeros(K, D, dtype=x.dtype).index_add_(0, labels, x)
        sums2 = torch.zeros_like(centroids).scatter_add_(0, labels.unsqueeze(1).expand(-1, D), x)
        values += [(sums - sums2).abs().max().item()]
        new = torch.where(
            counts[:, None] > 0, sums / counts.clamp(min=1)[:, None].to(x.dtype), centroids
        )
        center_shift = torch.sum(torch.sqrt(torch.sum((new - centroids) ** 2, dim=1)))
        shift = torch.norm(new - centroids)
        centroids = new
        inertia = (dist**2).gather(1, labels[:, None]).sum()
        values += [*counts.tolist(), center_shift.item(), shift.item(), inertia.item()]
        if shift < TOL:
            break
    values += centroids.flatten().tolist()
    values += torch.cdist(x, centroids).argmin(dim=1).tolist()
    # one more update with a far-away centroid that wins no point: torch.where keeps it
    far = torch.cat([centroids, torch.tensor([[100.0, -100.0]])])
    labels = torch.cdist(x, far).argmin(dim=1)
    counts = torch.bincount(labels, minlength=K + 1)
    sums = torch.zeros_like(far).index_add_(0, labels, x)
    kept = torch.where(counts.unsqueeze(1) == 0, far, sums / counts.unsqueeze(1))
    values += counts.tolist() + kept.flatten().tolist()
    return values


def gmm_em(torch_like: Any, x: Any, init_idx: np.ndarray) -> list[float]:
    torch = torch_like
    dist = torch_like.distributions
    n, d = x.shape
    means = x[torch.as_tensor(init_idx)].clone()
    covs = torch.eye(d).unsqueeze(0).repeat(K, 1, 1)
    pi = torch.full((K,), 1.0 / K)
    log_likelihoods: list[float] = []
    values: list[float] = []
    for _it in range(EM_ITERS):
        # E-step
        mvn = dist.MultivariateNormal(means, covariance_matrix=covs)
        weighted = mvn.log_prob(x[:, None, :]) + torch.log(pi)  # (n, k)
        log_norm = torch.logsumexp(weighted, dim=1, keepdim=True)
        log_resp = weighted - log_norm
        resp = log_resp.exp()
        log_likelihoods.append(log_norm.sum().item())
        # M-step
        nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
        means = torch.einsum("nk,nd->kd", resp, x) / nk[:, None]
        diff = x[:, None, :] - means[None, :, :]  # (n, k, d)
        covs = torch.einsum("nk,nkd,nke->kde", resp, diff, diff) / nk[:, None, None]
        covs = covs + EPS * torch.eye(d)
        pi = nk / n
    values += log_likelihoods
    values += [float(all(b >= a - 1e-9 for a, b in zip(log_likelihoods, log_likelihoods[1:])))]
    values += means.flatten().tolist() + covs.flatten().tolist() + pi.tolist()

    mixture = dist.MixtureSameFamily(
        dist.Categorical(logits=torch.log(pi)),
        dist.MultivariateNormal(means, covariance_matrix=covs),
    )
    total = mixture.log_prob(x)
    values += [total.sum().item(), *mixture.mean.tolist(), *mixture.variance.tolist()]
    weighted = dist.MultivariateNormal(means, covs).log_prob(x.unsqueeze(1)) + pi.log()
    values += weighted.argmax(dim=1).tolist()
    values += [(torch.logsumexp(weighted, 1) - total).abs().max().item()]
    return values


def run(torch_like: Any, init: Any) -> list[float]:
    data, init_idx = make_data()
    x = as_tensor(torch_like, data)
    return kmeans(torch_like, x, init_idx) + gmm_em(torch_like, x, init_idx)
