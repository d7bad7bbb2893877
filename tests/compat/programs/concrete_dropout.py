"""Concrete dropout, size-reduced from Yarin Gal's ``ConcreteDropout`` PyTorch notebook
(``concrete-dropout-pytorch.ipynb``: a heteroscedastic regression MLP whose dropout rates are
learned through the Concrete relaxation) with the ``RelaxedBernoulli`` form of the same mask
and MC-dropout prediction.

The idioms: ``init_min = np.log(init_min) - np.log(1. - init_min)``, ``self.p_logit =
nn.Parameter(torch.empty(1).uniform_(init_min, init_max))``; ``forward(self, x, layer)``
returning ``(out, regularization)`` with ``sum_of_square += torch.sum(torch.pow(param, 2))``
over ``layer.parameters()``, ``self.weight_regularizer * sum_of_square / (1 - p)``,
``dropout_regularizer = p * torch.log(p)``, ``dropout_regularizer += (1. - p) * torch.log(1.
- p)``, ``input_dimensionality = x[0].numel()``, ``dropout_regularizer *=
self.dropout_regularizer * input_dimensionality``; ``_concrete_dropout``'s
``torch.rand_like(x)``, the logit sum ``torch.log(p + eps) - torch.log(1 - p + eps) +
torch.log(unif_noise + eps) - torch.log(1 - unif_noise + eps)``, ``torch.sigmoid(drop_prob /
temp)``, ``x = torch.mul(x, random_tensor)``, ``x /= retain_prob``; the model's
``regularization = torch.empty(5, device=x.device)`` filled slot by slot with
``x1, regularization[0] = self.conc_drop1(x, nn.Sequential(self.linear1, self.relu))``
(a one-element tensor stored into a differentiable buffer) and ``regularization.sum()``;
``heteroscedastic_loss``'s ``precision = torch.exp(-log_var)`` and ``torch.mean(torch.sum(
precision * (true - mean)**2 + log_var, 1), 0)``; ``l = 1e-4``, ``wr = l**2. / N``, ``dr =
2. / N``; the printed rates ``np.array([torch.sigmoid(module.p_logit).cpu().data.numpy()[0]
for module in model.modules() if hasattr(module, 'p_logit')])``; MC sampling ``MC_samples =
[model(X_val[:K_test]) for _ in range(K_test)]``, ``torch.stack(...).detach()``; and the
``torch.distributions.RelaxedBernoulli(temperature, probs=1 - p).rsample(x.shape)`` mask
(its ``log_prob`` too).

Changed: 20 toy 1-d points with noise, features 1024 -> 16, 2 epochs of full-batch Adam; the
noise and mask draws from ``torch.manual_seed`` (both libraries reproduce PyTorch's CPU
generator).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

N, NB_FEATURES, D, EPOCHS, K_TEST = 20, 16, 1, 4, 3
L = 1e-4
WR = L**2.0 / N
DR = 2.0 / N


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ConcreteDropout(nn.Module):
        def __init__(self, weight_regularizer=1e-6, dropout_regularizer=1e-5, init_min=0.1,
                     init_max=0.1) -> None:  # fmt: skip
            super().__init__()
            self.weight_regularizer = weight_regularizer
            self.dropout_regularizer = dropout_regularizer
            init_min = np.log(init_min) - np.log(1.0 - init_min)
            init_max = np.log(init_max) - np.log(1.0 - init_max)
            self.p_logit = nn.Parameter(torch.empty(1).uniform_(init_min, init_max))

        def forward(self, x: Any, layer: Any) -> tuple[Any, Any]:
            p = torch.sigmoid(self.p_logit)
            out = layer(self._concrete_dropout(x, p))
            sum_of_square = 0
            for param in layer.parameters():
                sum_of_square += torch.sum(torch.pow(param, 2))
            weights_regularizer = self.weight_regularizer * sum_of_square / (1 - p)
            dropout_regularizer = p * torch.log(p)
            dropout_regularizer += (1.0 - p) * torch.log(1.0 - p)
            input_dimensionality = x[0].numel()  # Number of elements of first item in batch
            dropout_regularizer *= self.dropout_regularizer * input_dimensionality
            regularization = weights_regularizer + dropout_regularizer
            return out, regularization

        def _concrete_dropout(self, x: Any, p: Any) -> Any:
            eps = 1e-7
            temp = 0.1
            unif_noise = torch.rand_like(x)
            drop_prob = (
                torch.log(p + eps)
                - torch.log(1 - p + eps)
                + torch.log(unif_noise + eps)
                - torch.log(1 - unif_noise + eps)
            )
            drop_prob = torch.sigmoid(drop_prob / temp)
            random_tensor = 1 - drop_prob
            retain_prob = 1 - p
            x = torch.mul(x, random_tensor)
            x /= retain_prob
            return x

    class Model(nn.Module):
        def __init__(self, weight_regularizer: float, dropout_regularizer: float) -> None:
            super().__init__()
            self.linear1 = nn.Linear(1, NB_FEATURES)
            self.linear2 = nn.Linear(NB_FEATURES, NB_FEATURES)
            self.linear3 = nn.Linear(NB_FEATURES, NB_FEATURES)
            self.linear4_mu = nn.Linear(NB_FEATURES, D)
            self.linear4_logvar = nn.Linear(NB_FEATURES, D)
            kw = dict(weight_regularizer=weight_regularizer,
                      dropout_regularizer=dropout_regularizer)  # fmt: skip
            self.conc_drop1 = ConcreteDropout(**kw)
            self.conc_drop2 = ConcreteDropout(**kw)
            self.conc_drop3 = ConcreteDropout(**kw)
            self.conc_drop_mu = ConcreteDropout(**kw)
            self.conc_drop_logvar = ConcreteDropout(**kw)
            self.relu = nn.ReLU()

        def forward(self, x: Any) -> tuple[Any, Any, Any]:
            regularization = torch.empty(5, device=x.device)
            x1, regularization[0] = self.conc_drop1(x, nn.Sequential(self.linear1, self.relu))
            x2, regularization[1] = self.conc_drop2(x1, nn.Sequential(self.linear2, self.relu))
            x3, regularization[2] = self.conc_drop3(x2, nn.Sequential(self.linear3, self.relu))
            mean, regularization[3] = self.conc_drop_mu(x3, self.linear4_mu)
            log_var, regularization[4] = self.conc_drop_logvar(x3, self.linear4_logvar)
            return mean, log_var, regularization.sum()

    return Model(WR, DR)


def heteroscedastic_loss(torch_like: Any, true: Any, mean: Any, log_var: Any) -> Any:
    precision = torch_like.exp(-log_var)
    return torch_like.mean(torch_like.sum(precision * (true - mean) ** 2 + log_var, 1), 0)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(N, 1))
    Y = 2 * X + 0.5 * np.sin(3 * X) + rng.normal(size=(N, 1)) * (0.1 + 0.2 * np.abs(X))
    X, Y = as_tensor(torch, X), as_tensor(torch, Y)
    torch.manual_seed(2)
    optimizer = torch.optim.Adam(model.parameters())
    values: list[float] = []
    for _i in range(EPOCHS):
        mean, log_var, regularization = model(X)
        loss = heteroscedastic_loss(torch, Y, mean, log_var) + regularization
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), regularization.item()]
        values += [model.conc_drop1.p_logit.grad.item(), model.conc_drop_mu.p_logit.grad.item()]
    ps = np.array(
        [
            torch.sigmoid(module.p_logit).cpu().data.numpy()[0]
            for module in model.modules()
            if hasattr(module, "p_logit")
        ]
    )
    values += ps.tolist()
    MC_samples = [model(X[:K_TEST]) for _ in range(K_TEST)]
    means = torch.stack([tup[0] for tup in MC_samples]).view(K_TEST, K_TEST).detach()
    logvar = torch.stack([tup[1] for tup in MC_samples]).view(K_TEST, K_TEST).detach()
    epistemic_uncertainty = means.var(0).mean().item()
    aleatoric_uncertainty = logvar.exp().mean().item()
    values += [epistemic_uncertainty, aleatoric_uncertainty]

    # the RelaxedBernoulli form of the concrete mask
    p = torch.sigmoid(model.conc_drop2.p_logit)
    mask_dist = torch.distributions.RelaxedBernoulli(torch.tensor(0.1), probs=1 - p)
    keep = mask_dist.rsample(X[:4].shape)
    dropped = X[:4] * keep / (1 - p)
    dropped.sum().backward()
    values += keep.flatten().tolist() + [model.conc_drop2.p_logit.grad.item()]
    values += mask_dist.log_prob(keep.detach().clamp(1e-4, 1 - 1e-4)).flatten().tolist()
    return values
