"""The PyTorch port of hardmaru's "Mixture Density Networks" notebook (``mdn.ipynb`` of the
pytorch-mdn repositories, on the inverted-sine toy problem), size-reduced, in both of its common
spellings: the notebook's ``MDN`` (``nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh())`` then
``z_pi``/``z_sigma``/``z_mu`` heads, ``F.softmax(self.z_pi(z_h), -1)``,
``torch.exp(self.z_sigma(z_h))``) with its hand-written loss (``oneDivSqrtTwoPI = 1.0 /
math.sqrt(2.0*math.pi)``, ``gaussian_distribution`` via ``y.expand_as(mu)`` and
``torch.reciprocal(sigma)``, ``mdn_loss_fn`` as ``-torch.log(torch.sum(result, dim=1))``
averaged), and the ``torch.distributions`` rewrite that later versions of such code use
(``D.MixtureSameFamily(D.Categorical(logits=...), D.Normal(mu, sigma))``, ``-gmm.log_prob(
y).mean()``; a 2-D target through ``D.Independent(D.Normal(mu, sigma), 1)`` components);
``optim.Adam``; the mixture's ``mean``/``variance``/``cdf`` and the notebook's "most likely
component" prediction (``pi.argmax(1)`` then ``mu.gather(1, ...)``).

Changed: 2500 samples -> 40 (NumPy, noise from a seeded generator), 24 hidden units / 5
Gaussians -> 8 / 3, 10000 epochs -> 6; the notebook's Gumbel sampling of new points (NumPy
random draws on the network's output) is left out -- it would be compared through an argmax
that tiny rounding differences may flip.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

N_HIDDEN, N_GAUSSIANS, N = 8, 3, 40


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class MDN(nn.Module):
        def __init__(self, n_hidden: int, n_gaussians: int, n_out: int = 1) -> None:
            super(MDN, self).__init__()  # noqa: UP008 (as in the notebook)
            self.z_h = nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh())
            self.z_pi = nn.Linear(n_hidden, n_gaussians)
            self.z_sigma = nn.Linear(n_hidden, n_gaussians * n_out)
            self.z_mu = nn.Linear(n_hidden, n_gaussians * n_out)

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            z_h = self.z_h(x)
            pi = F.softmax(self.z_pi(z_h), -1)
            sigma = torch.exp(self.z_sigma(z_h))
            mu = self.z_mu(z_h)
            return pi, sigma, mu

    class Both(nn.Module):
        """The 1-D notebook network and a 2-D-output one, trained side by side."""

        def __init__(self) -> None:
            super().__init__()
            self.mdn = MDN(N_HIDDEN, N_GAUSSIANS)
            self.mdn2 = MDN(N_HIDDEN, N_GAUSSIANS, n_out=2)

    return Both()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    D = torch_like.distributions
    rng = np.random.default_rng(3)
    y_data = rng.uniform(-10.5, 10.5, (N, 1))
    r_data = rng.normal(size=(N, 1))
    x_data = np.sin(0.75 * y_data) * 7.0 + y_data * 0.5 + r_data * 1.0
    x_train = torch.from_numpy(x_data.reshape(N, 1)) / 10.0
    y_train = torch.from_numpy(y_data.reshape(N, 1))
    y2_train = torch.cat([y_train, torch.cos(y_train)], dim=1)

    both = make_model(torch_like)
    if init is not None:
        both.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    network, network2 = both.mdn, both.mdn2

    oneDivSqrtTwoPI = 1.0 / math.sqrt(2.0 * math.pi)  # normalisation factor for gaussians

    def gaussian_distribution(y: Any, mu: Any, sigma: Any) -> Any:
        # make |mu|=K copies of y, subtract mu, divide by sigma
        result = (y.expand_as(mu) - mu) * torch.reciprocal(sigma)
        result = -0.5 * (result * result)
        return (torch.exp(result) * torch.reciprocal(sigma)) * oneDivSqrtTwoPI

    def mdn_loss_fn(pi: Any, sigma: Any, mu: Any, y: Any) -> Any:
        result = gaussian_distribution(y, mu, sigma) * pi
        result = torch.sum(result, dim=1)
        result = -torch.log(result)
        return torch.mean(result)

    values: list[float] = []
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    for _epoch in range(6):
        pi_variable, sigma_variable, mu_variable = network(x_train)
        loss = mdn_loss_fn(pi_variable, sigma_variable, mu_variable, y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    # the torch.distributions spelling of the same loss, on the same network
    pi, sigma, mu = network(x_train)
    gmm = D.MixtureSameFamily(D.Categorical(probs=pi), D.Normal(mu, sigma))
    nll = -gmm.log_prob(y_train.squeeze(-1)).mean()
    values += [nll.item(), mdn_loss_fn(pi, sigma, mu, y_train).item()]
    values += [
        gmm.mean.sum().item(),
        gmm.variance.sum().item(),
        gmm.cdf(y_train[:, 0]).sum().item(),
    ]
    values += [gmm.mixture_distribution.entropy().sum().item(), float(gmm.batch_shape[0])]
    # "most likely component" prediction
    with torch.no_grad():
        best = pi.argmax(1, keepdim=True)
        values.append(mu.gather(1, best).sum().item())

    # 2-D targets: Independent Normal components over the last dimension
    optimizer2 = torch.optim.Adam(network2.parameters(), lr=0.01)
    for _epoch in range(6):
        pi, sigma, mu = network2(x_train)
        logits = torch.log(pi)
        comp = D.Independent(
            D.Normal(mu.view(-1, N_GAUSSIANS, 2), sigma.view(-1, N_GAUSSIANS, 2)), 1
        )
        gmm2 = D.MixtureSameFamily(D.Categorical(logits=logits), comp)
        loss = -gmm2.log_prob(y2_train).mean()
        optimizer2.zero_grad()
        loss.backward()
        optimizer2.step()
        values.append(loss.item())
    values += [gmm2.mean.sum().item(), gmm2.variance.sum().item(), float(gmm2.event_shape[0])]
    return values


def check(values: list[float]) -> None:
    """The distributions loss equals the notebook's hand-written one."""
    assert abs(values[6] - values[7]) < 1e-9 * abs(values[7]), values[6:8]
