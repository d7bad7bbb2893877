"""Bayes by Backprop (Blundell et al. 2015) as the popular PyTorch notebooks and repositories
write it (nitarshan/bayes-by-backprop's ``Weight Uncertainty in Neural Networks``,
kumar-shridhar/PyTorch-BayesianCNN's ``metrics.calculate_kl``), size-reduced.

The idioms: ``Gaussian`` (``self.normal = torch.distributions.Normal(0, 1)``, the ``sigma``
property ``torch.log1p(torch.exp(self.rho))``, ``sample()`` as ``self.mu + self.sigma *
epsilon`` moved ``.to(DEVICE)``, ``log_prob`` as ``(-math.log(math.sqrt(2 * math.pi)) -
torch.log(self.sigma) - ((input - self.mu) ** 2) / (2 * self.sigma ** 2)).sum()``);
``ScaleMixtureGaussian`` (``torch.distributions.Normal(0, sigma1)`` with ``SIGMA_1 =
torch.FloatTensor([math.exp(-0)])``, ``torch.exp(self.gaussian1.log_prob(input))``,
``torch.log(self.pi * prob1 + (1 - self.pi) * prob2).sum()``); ``BayesianLinear``
(``nn.Parameter(torch.Tensor(out_features, in_features).uniform_(-0.2, 0.2))`` for ``mu`` and
``.uniform_(-5, -4)`` for ``rho``, ``if self.training or sample``, ``F.linear(input, weight,
bias)``, the ``log_prior`` / ``log_variational_posterior`` attributes reset to 0 in eval);
``BayesianNetwork.sample_elbo`` (``outputs = torch.zeros(samples, BATCH_SIZE, CLASSES).to(
DEVICE)``, ``outputs[i] = self(input, sample=True)``, ``log_priors[i] = self.log_prior()``,
``F.nll_loss(outputs.mean(0), target, reduction='sum')``, ``(log_variational_posterior -
log_prior) / NUM_BATCHES + negative_log_likelihood``); ``F.softplus`` as the other sigma;
the test ensemble (``model.train()`` for MC samples, ``torch.stack([...]).mean(0)``,
``output.max(1, keepdim=True)[1]``, ``pred.eq(target.view_as(pred)).sum().item()``); MC
dropout's masks checked for what holds for every draw (zeros and survivors scaled by ``1 / (1
- p)``); and the closed-form KL ``torch.distributions.kl_divergence(Normal(mu, sigma),
Normal(0, prior_sigma)).sum()`` against ``Normal.log_prob`` sums.

Changed: 28 x 28 MNIST -> 6 features and 3 classes from NumPy, two 8-unit layers, 2 samples;
the epsilon of each draw comes from NumPy (``torch.from_numpy(rng.standard_normal(
self.rho.size()))``), since the two libraries' generators differ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IN, HIDDEN, CLASSES, BATCH, SAMPLES, NUM_BATCHES, STEPS, TEST_SAMPLES = 6, 8, 3, 5, 2, 4, 4, 3
PI = 0.5


def _classes(torch_like: Any, rng: np.random.Generator) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    DEVICE = torch.device("cpu")
    SIGMA_1 = torch.FloatTensor([math.exp(-0)])
    SIGMA_2 = torch.FloatTensor([math.exp(-6)])

    class Gaussian:
        def __init__(self, mu: Any, rho: Any) -> None:
            super().__init__()
            self.mu = mu
            self.rho = rho
            self.normal = torch.distributions.Normal(0, 1)

        @property
        def sigma(self) -> Any:
            return torch.log1p(torch.exp(self.rho))

        def sample(self) -> Any:
            epsilon = torch.from_numpy(rng.standard_normal(self.rho.size())).to(DEVICE)
            return self.mu + self.sigma * epsilon

        def log_prob(self, input: Any) -> Any:
            return (
                -math.log(math.sqrt(2 * math.pi))
                - torch.log(self.sigma)
                - ((input - self.mu) ** 2) / (2 * self.sigma**2)
            ).sum()

    class ScaleMixtureGaussian:
        def __init__(self, pi: float, sigma1: Any, sigma2: Any) -> None:
            super().__init__()
            self.pi = pi
            self.sigma1 = sigma1
            self.sigma2 = sigma2
            self.gaussian1 = torch.distributions.Normal(0, sigma1)
            self.gaussian2 = torch.distributions.Normal(0, sigma2)

        def log_prob(self, input: Any) -> Any:
            prob1 = torch.exp(self.gaussian1.log_prob(input))
            prob2 = torch.exp(self.gaussian2.log_prob(input))
            return (torch.log(self.pi * prob1 + (1 - self.pi) * prob2)).sum()

    class BayesianLinear(nn.Module):
        def __init__(self, in_features: int, out_features: int) -> None:
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.weight_mu = nn.Parameter(
                torch.Tensor(out_features, in_features).uniform_(-0.2, 0.2)
            )
            self.weight_rho = nn.Parameter(torch.Tensor(out_features, in_features).uniform_(-5, -4))
            self.weight = Gaussian(self.weight_mu, self.weight_rho)
            self.bias_mu = nn.Parameter(torch.Tensor(out_features).uniform_(-0.2, 0.2))
            self.bias_rho = nn.Parameter(torch.Tensor(out_features).uniform_(-5, -4))
            self.bias = Gaussian(self.bias_mu, self.bias_rho)
            self.weight_prior = ScaleMixtureGaussian(PI, SIGMA_1, SIGMA_2)
            self.bias_prior = ScaleMixtureGaussian(PI, SIGMA_1, SIGMA_2)
            self.log_prior = 0
            self.log_variational_posterior = 0

        def forward(
            self, input: Any, sample: bool = False, calculate_log_probs: bool = False
        ) -> Any:
            if self.training or sample:
                weight = self.weight.sample()
                bias = self.bias.sample()
            else:
                weight = self.weight.mu
                bias = self.bias.mu
            if self.training or calculate_log_probs:
                self.log_prior = self.weight_prior.log_prob(weight) + self.bias_prior.log_prob(bias)
                self.log_variational_posterior = self.weight.log_prob(weight) + self.bias.log_prob(
                    bias
                )
            else:
                self.log_prior, self.log_variational_posterior = 0, 0
            return F.linear(input, weight, bias)

    class BayesianNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1 = BayesianLinear(IN, HIDDEN)
            self.l2 = BayesianLinear(HIDDEN, HIDDEN)
            self.l3 = BayesianLinear(HIDDEN, CLASSES)

        def forward(self, x: Any, sample: bool = False) -> Any:
            x = x.view(-1, IN)
            x = F.relu(self.l1(x, sample))
            x = F.relu(self.l2(x, sample))
            return F.log_softmax(self.l3(x, sample), dim=1)

        def log_prior(self) -> Any:
            return self.l1.log_prior + self.l2.log_prior + self.l3.log_prior

        def log_variational_posterior(self) -> Any:
            return (
                self.l1.log_variational_posterior
                + self.l2.log_variational_posterior
                + self.l3.log_variational_posterior
            )

        def sample_elbo(self, input: Any, target: Any, samples: int = SAMPLES) -> tuple:
            outputs = torch.zeros(samples, BATCH, CLASSES).to(DEVICE)
            log_priors = torch.zeros(samples).to(DEVICE)
            log_variational_posteriors = torch.zeros(samples).to(DEVICE)
            for i in range(samples):
                outputs[i] = self(input, sample=True)
                log_priors[i] = self.log_prior()
                log_variational_posteriors[i] = self.log_variational_posterior()
            log_prior = log_priors.mean()
            log_variational_posterior = log_variational_posteriors.mean()
            negative_log_likelihood = F.nll_loss(outputs.mean(0), target, reduction="sum")
            loss = (log_variational_posterior - log_prior) / NUM_BATCHES + negative_log_likelihood
            return loss, log_prior, log_variational_posterior, negative_log_likelihood

    return BayesianNetwork


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like, np.random.default_rng(0))()


def kl_facts(torch_like: Any, model: Any) -> list[float]:
    """The closed-form KL of each layer's posterior to a wide prior, and its sigma two ways."""
    torch = torch_like
    F = torch_like.nn.functional
    Normal = torch.distributions.Normal
    values = []
    for layer in (model.l1, model.l2, model.l3):
        sigma = F.softplus(layer.weight_rho)
        same = torch.allclose(sigma, layer.weight.sigma)
        q = Normal(layer.weight_mu, sigma)
        p = Normal(torch.zeros_like(layer.weight_mu), 0.1 * torch.ones_like(sigma))
        kl = torch.distributions.kl_divergence(q, p).sum()
        values += [float(same), kl.item(), q.entropy().sum().item(), q.stddev.mean().item()]
    return values


def dropout_facts(torch_like: Any) -> list[float]:
    """MC dropout at test time: each draw zeroes some entries and scales the rest by 1/(1-p)."""
    torch = torch_like
    nn = torch_like.nn
    drop = nn.Dropout(p=0.25)
    drop.train()
    x = torch.arange(1.0, 41.0).view(5, 8)
    draws = torch.stack([drop(x) for _ in range(4)])
    kept = draws != 0
    scaled = torch.where(kept, draws, x / 0.75 * kept)
    return [
        *draws.shape,
        float(torch.allclose(scaled, x.expand_as(draws) / 0.75 * kept)),
        float(draws.mean(0).shape == x.shape),
    ]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(7)
    model = _classes(torch_like, rng)()
    load_numpy_state(torch_like, model, init)
    values = kl_facts(torch_like, model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    data_rng = np.random.default_rng(3)
    centres = data_rng.standard_normal((CLASSES, IN))
    for _step in range(STEPS):
        target_np = data_rng.integers(0, CLASSES, BATCH)
        data = as_tensor(
            torch_like, centres[target_np] + 0.3 * data_rng.standard_normal((BATCH, IN))
        )
        target = as_tensor(torch_like, target_np)
        model.train()
        model.zero_grad()
        loss, log_prior, log_var_post, nll = model.sample_elbo(data, target)
        loss.backward()
        optimizer.step()
        values += [loss.item(), log_prior.item(), log_var_post.item(), nll.item()]

    model.eval()
    test_np = data_rng.integers(0, CLASSES, BATCH)
    test = as_tensor(torch_like, centres[test_np] + 0.3 * data_rng.standard_normal((BATCH, IN)))
    target = as_tensor(torch_like, test_np)
    with torch.no_grad():
        mean_out = model(test)
        values += mean_out.flatten().tolist() + [model.l1.log_prior, model.log_prior()]
        model.train()
        outputs = torch.stack([model(test, sample=True) for _ in range(TEST_SAMPLES)])
        output = outputs.mean(0)
        pred = output.max(1, keepdim=True)[1]
        correct = pred.eq(target.view_as(pred)).sum().item()
        nll = F.nll_loss(output, target, reduction="sum").item()
        values += output.flatten().tolist() + [correct, nll]
    values += dropout_facts(torch_like)
    return values
