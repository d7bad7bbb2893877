"""A tour of ``torch.distributions`` as probabilistic-modelling code uses it (Pyro-style
guides, mixture density networks, normalizing-flow baselines, VAE priors), size-reduced.

The idioms: a Gaussian-mixture head ``MixtureSameFamily(Categorical(logits=...),
Independent(Normal(loc, scale), 1))`` trained a few Adam steps on its negative log-likelihood,
with its ``mean``/``variance`` and per-component posteriors; ``TransformedDistribution(
Normal(0, 1), ComposeTransform([AffineTransform(loc, scale), ExpTransform()]))`` checked
against ``LogNormal`` and ``[AffineTransform, SigmoidTransform]`` (a logit-normal), with
``transform.inv``, ``log_abs_det_jacobian`` and ``cdf``/``icdf`` through the transforms;
``LowRankMultivariateNormal(loc, cov_factor, cov_diag)`` against the dense
``MultivariateNormal`` it equals (``covariance_matrix``, ``precision_matrix``, ``log_prob``,
``entropy``); ``Dirichlet``/``Beta`` ``rsample`` gradients (compared through the analytic
gradient of the mean they estimate); ``kl_divergence`` across registered pairs and a user
``@register_kl`` for a subclass; ``log_prob``/``entropy``/``cdf``/``icdf`` of the common
families; ``expand``, ``Independent`` and the ``batch_shape``/``event_shape`` bookkeeping;
seeded ``sample``/``rsample`` shapes.

Draws come from each framework's own random stream, so samples are compared through their
shapes and through statistics whose tolerance the program asserts; densities, KLs and the
mixture's training losses are compared exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

K, D = 3, 2


def shapes(dist: Any) -> list[float]:
    return [*dist.batch_shape, -1.0, *dist.event_shape, -2.0]


def mixture(torch: Any) -> list[float]:
    """A 2-D mixture-density head fitted to fixed points by NLL."""
    dist = torch.distributions
    rng = np.random.default_rng(3)
    points = as_tensor(torch, rng.standard_normal((10, D)) + np.array([1.0, -0.5]))
    logits = torch.zeros(K, requires_grad=True)
    loc = as_tensor(torch, rng.standard_normal((K, D))).requires_grad_()
    log_scale = torch.zeros(K, D, requires_grad=True)
    optimizer = torch.optim.Adam([logits, loc, log_scale], lr=0.1)
    out: list[float] = []
    for _ in range(5):
        gmm = dist.MixtureSameFamily(
            dist.Categorical(logits=logits),
            dist.Independent(dist.Normal(loc, log_scale.exp()), 1),
        )
        nll = -gmm.log_prob(points).mean()
        optimizer.zero_grad()
        nll.backward()
        optimizer.step()
        out.append(nll.item())
    out += shapes(gmm) + shapes(gmm.component_distribution) + shapes(gmm.mixture_distribution)
    with torch.no_grad():
        out += gmm.mean.flatten().tolist() + gmm.variance.flatten().tolist()
        comp = gmm.component_distribution.log_prob(points.unsqueeze(-2))  # (10, K)
        posterior = torch.softmax(comp + gmm.mixture_distribution.logits, dim=-1)
        out += posterior[:3].flatten().tolist()
        torch.manual_seed(0)
        draws = gmm.sample((4, 2))
        out += [*draws.shape]
        batched = dist.MixtureSameFamily(
            dist.Categorical(probs=torch.full((5, K), 1.0 / K)),
            dist.Normal(torch.zeros(5, K), torch.ones(5, K)),
        )
        out += shapes(batched) + [*batched.sample((3,)).shape]
        out += batched.cdf(torch.linspace(-1, 1, 5)).tolist()
    return out


def transformed(torch: Any) -> list[float]:
    dist, T = torch.distributions, torch.distributions.transforms
    out: list[float] = []
    mu, sigma = torch.tensor([0.2, -0.3]), torch.tensor([0.5, 1.5])
    base = dist.Normal(torch.zeros(2), torch.ones(2))
    lognormal = dist.TransformedDistribution(
        base, T.ComposeTransform([T.AffineTransform(mu, sigma), T.ExpTransform()])
    )
    x = torch.tensor([[0.5, 2.0], [1.3, 0.1]])
    reference = dist.LogNormal(mu, sigma)
    out += lognormal.log_prob(x).flatten().tolist() + reference.log_prob(x).flatten().tolist()
    out += lognormal.cdf(x).flatten().tolist()
    out += lognormal.icdf(torch.tensor([0.1, 0.9])).tolist()
    out += reference.mean.tolist() + reference.entropy().tolist()
    logit_normal = dist.TransformedDistribution(
        dist.Normal(torch.tensor(0.3), torch.tensor(0.8)),
        [T.AffineTransform(loc=0.0, scale=2.0), T.SigmoidTransform()],
    )
    u = torch.tensor([0.05, 0.4, 0.93])
    out += logit_normal.log_prob(u).tolist() + logit_normal.cdf(u).tolist()
    chain = T.ComposeTransform([T.AffineTransform(1.0, 3.0), T.SigmoidTransform()])
    y = chain(torch.tensor([-0.4, 0.2]))
    out += y.tolist() + chain.inv(y).tolist()
    out += chain.log_abs_det_jacobian(torch.tensor([-0.4, 0.2]), y).tolist()
    out += shapes(logit_normal) + [*lognormal.rsample((3,)).shape]
    sigmoid = T.SigmoidTransform()
    out += [float(sigmoid.inv(sigmoid(torch.tensor(4.0)))), float(sigmoid.sign)]
    return out


def low_rank(torch: Any) -> list[float]:
    dist = torch.distributions
    rng = np.random.default_rng(5)
    loc = as_tensor(torch, rng.standard_normal(4))
    factor = as_tensor(torch, rng.standard_normal((4, 2)))
    diag = as_tensor(torch, rng.random(4) + 0.5)
    lowrank = dist.LowRankMultivariateNormal(loc, cov_factor=factor, cov_diag=diag)
    dense = dist.MultivariateNormal(loc, covariance_matrix=factor @ factor.T + torch.diag(diag))
    x = as_tensor(torch, rng.standard_normal((3, 4)))
    out = lowrank.log_prob(x).tolist() + dense.log_prob(x).tolist()
    out += [lowrank.entropy().item(), dense.entropy().item()]
    out += lowrank.covariance_matrix.flatten().tolist()
    out += lowrank.precision_matrix.diagonal().tolist() + lowrank.variance.tolist()
    out += [dist.kl_divergence(lowrank, dense).item()]
    other = dist.LowRankMultivariateNormal(torch.zeros(4), factor * 0.5, torch.ones(4))
    out += [dist.kl_divergence(lowrank, other).item(), dist.kl_divergence(dense, other).item()]
    batched = dist.LowRankMultivariateNormal(
        loc.expand(3, 4), cov_factor=factor.expand(3, 4, 2), cov_diag=diag
    )
    out += shapes(batched) + [*batched.rsample((2,)).shape] + batched.log_prob(x).tolist()
    return out


def reparameterized(torch: Any) -> list[float]:
    """rsample gradients of Dirichlet and Beta, checked against d E[x] / d alpha."""
    dist = torch.distributions
    out: list[float] = []
    torch.manual_seed(1)
    alpha = torch.tensor([2.0, 3.0, 5.0], requires_grad=True)
    samples = dist.Dirichlet(alpha).rsample((4000,))
    samples[:, 0].mean().backward()
    total = alpha.detach().sum()
    analytic = torch.cat(
        [(total - alpha[:1].detach()) / total**2, -alpha[:1].detach() / total**2 * torch.ones(2)]
    )
    assert torch.allclose(alpha.grad, analytic, atol=0.01), (alpha.grad, analytic)
    out += analytic.tolist() + [*samples.shape]
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(4.0, requires_grad=True)
    beta = dist.Beta(a, b)
    beta.rsample((4000,)).mean().backward()
    mean_grad = torch.stack([b / (a + b) ** 2, -a / (a + b) ** 2]).detach()
    got = torch.stack([a.grad, b.grad])
    assert torch.allclose(got, mean_grad, atol=0.01), (got, mean_grad)
    out += mean_grad.tolist()
    out += [float(dist.Beta.has_rsample), float(dist.Dirichlet.has_rsample)]
    out += [float(dist.Categorical.has_rsample), float(dist.Dirichlet(alpha).has_rsample)]
    # the entropy's gradient goes through trigamma, where PyTorch's series is good to ~1e-10
    # (chainrule's, SciPy's, to rounding): compared to 1e-6 here, not to the program's 1e-9
    a.grad = None  # the rsample gradient above depends on the draw
    entropy = beta.entropy()
    entropy.backward()
    out += [entropy.item(), round(a.grad.item(), 6)]
    return out


def kl_pairs(torch: Any) -> list[float]:
    dist = torch.distributions
    kl = dist.kl_divergence
    pairs = [
        (dist.Normal(torch.tensor([0.0, 1.0]), 1.5), dist.Normal(0.5, torch.tensor([1.0, 2.0]))),
        (
            dist.Categorical(probs=torch.tensor([0.2, 0.3, 0.5])),
            dist.Categorical(logits=torch.zeros(3)),
        ),
        (dist.Bernoulli(probs=torch.tensor(0.3)), dist.Bernoulli(logits=torch.tensor(0.4))),
        (dist.Beta(torch.tensor(2.0), 3.0), dist.Beta(torch.tensor(1.5), 1.5)),
        (dist.Dirichlet(torch.tensor([1.0, 2.0, 3.0])), dist.Dirichlet(torch.ones(3))),
        (dist.Gamma(torch.tensor(2.0), 1.5), dist.Gamma(torch.tensor(3.0), 0.5)),
        (dist.Exponential(torch.tensor(2.0)), dist.Gamma(torch.tensor(1.5), 1.0)),
        (dist.Laplace(torch.tensor(0.0), 1.0), dist.Laplace(torch.tensor(1.0), 2.0)),
        (dist.Uniform(torch.tensor(0.0), 1.0), dist.Normal(torch.tensor(0.5), 1.0)),
        (dist.Poisson(torch.tensor(3.0)), dist.Poisson(torch.tensor(1.0))),
        (
            dist.Independent(dist.Normal(torch.zeros(2, 3), 1.0), 1),
            dist.Independent(dist.Normal(torch.ones(2, 3), 2.0), 1),
        ),
    ]
    out: list[float] = []
    for p, q in pairs:
        value = kl(p, q)
        out += [*value.reshape(-1).tolist(), *value.shape, -3.0]
    infinite = kl(dist.Uniform(torch.tensor(0.0), 2.0), dist.Uniform(torch.tensor(0.0), 1.0))
    out.append(float(torch.isinf(infinite)))

    class Tempered(dist.Normal):
        """A Normal with a temperature: a user subclass that gets its own KL rule."""

        def __init__(self, loc: Any, scale: Any, temperature: float) -> None:
            super().__init__(loc, scale)
            self.temperature = temperature

    @dist.register_kl(Tempered, dist.Normal)
    def _kl_tempered_normal(p: Any, q: Any) -> Any:
        plain = dist.Normal(p.loc, p.scale)
        return kl(plain, q) / p.temperature

    p = Tempered(torch.tensor([0.0, 0.3]), torch.tensor([1.0, 0.7]), temperature=2.0)
    q = dist.Normal(torch.tensor(0.2), torch.tensor(1.1))
    out += kl(p, q).tolist() + kl(q, p).tolist()  # the reverse falls back to Normal-Normal
    return out


def densities(torch: Any) -> list[float]:
    dist = torch.distributions
    x = torch.tensor([0.1, 0.7, 1.9])
    families = [
        dist.Normal(torch.tensor(0.5), torch.tensor(1.2)),
        dist.Laplace(torch.tensor(0.5), torch.tensor(0.8)),
        dist.Cauchy(torch.tensor(0.2), torch.tensor(0.5)),
        dist.Exponential(torch.tensor(1.5)),
        dist.Uniform(torch.tensor(0.0), torch.tensor(2.0)),
        dist.Gumbel(torch.tensor(0.3), torch.tensor(1.1)),
        dist.HalfNormal(torch.tensor(1.3)),
    ]
    out: list[float] = []
    q = torch.tensor([0.1, 0.5, 0.95])
    for d in families:
        out += d.log_prob(x).tolist() + d.cdf(x).tolist() + [d.entropy().item()]
        if not isinstance(d, dist.Gumbel):
            out += d.icdf(q).tolist()
        out += [*d.sample((2, 3)).shape]
    for d in (dist.Gamma(torch.tensor(2.5), torch.tensor(1.5)), dist.Beta(2.0, 3.0)):
        value = torch.tensor([0.2, 0.6])
        out += d.log_prob(value).tolist() + [d.entropy().item(), d.mean.item(), d.variance.item()]
    counts = torch.tensor([2.0, 0.0, 1.0])
    mult = dist.Multinomial(3, probs=torch.tensor([0.5, 0.2, 0.3]))
    out += [mult.log_prob(counts).item(), *mult.sample((4,)).shape, *mult.mean.tolist()]
    binom = dist.Binomial(total_count=5, probs=torch.tensor([0.3, 0.6]))
    out += binom.log_prob(torch.tensor([2.0, 5.0])).tolist() + binom.entropy().tolist()
    return out


def shape_bookkeeping(torch: Any) -> list[float]:
    dist = torch.distributions
    out: list[float] = []
    normal = dist.Normal(torch.zeros(3), torch.ones(3))
    expanded = normal.expand(torch.Size([4, 3]))
    out += shapes(expanded) + [*expanded.log_prob(torch.zeros(4, 3)).shape]
    diag = dist.Independent(expanded, 1)
    out += shapes(diag) + [*diag.log_prob(torch.zeros(4, 3)).shape]
    out += [*diag.sample((2,)).shape, float(diag.reinterpreted_batch_ndims)]
    mvn = dist.MultivariateNormal(torch.zeros(2, 3), scale_tril=torch.eye(3).expand(2, 3, 3))
    out += shapes(mvn) + shapes(mvn.expand([5, 2]))
    out += shapes(dist.Dirichlet(torch.ones(4, 5))) + shapes(
        dist.Categorical(logits=torch.zeros(2, 6))
    )
    out += shapes(dist.OneHotCategorical(probs=torch.full((3,), 1.0 / 3)))
    torch.manual_seed(7)
    out += [*dist.Dirichlet(torch.ones(4, 5)).sample((2,)).shape]
    out += [*dist.Categorical(logits=torch.zeros(2, 6)).sample((3, 1)).shape]
    out += [*dist.Bernoulli(torch.full((2, 2), 0.5)).sample().shape]
    first = dist.Normal(0.0, 1.0).sample((3,))
    out += [float(first.dtype == torch.get_default_dtype()), *first.shape]
    bad = 0.0
    try:
        dist.Normal(torch.tensor(0.0), torch.tensor(-1.0))
    except ValueError:
        bad = 1.0
    out.append(bad)
    return out


def run(torch_like: Any, init: dict | None) -> list[float]:
    out: list[float] = []
    for part in (mixture, transformed, low_rank, reparameterized, kl_pairs, densities):
        out += part(torch_like)
    out += shape_bookkeeping(torch_like)
    return out
