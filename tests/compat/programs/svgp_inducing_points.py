"""A sparse variational Gaussian process (SVGP, Hensman et al. 2013) with whitened inducing
points, trained on mini-batches with the variational ELBO, as GPyTorch's "SVGP regression"
tutorial runs it, with the library pieces it calls written in plain torch the way GPyTorch
and linear_operator write them (``gpytorch/variational/cholesky_variational_distribution.py``,
``whitened_variational_strategy.py`` / ``variational_strategy.py``, ``kernels/rbf_kernel.py``
and ``kernel.py``'s ``dist``, ``likelihoods/gaussian_likelihood.py``'s ``expected_log_prob``,
``mlls/variational_elbo.py``, ``constraints/constraints.py``'s ``Positive``/``GreaterThan``,
``linear_operator/utils/cholesky.py``'s ``psd_safe_cholesky``), size-reduced.

The idioms: ``CholeskyVariationalDistribution`` (``variational_mean`` and
``chol_variational_covar`` parameters, ``register_parameter(name=..., param=...)``,
``self.variational_mean.data.normal_(mean=0.0, std=mean_init_std)``, the lower triangle
through ``lower_mask = torch.ones(...).tril(0)``, ``variational_covar = L @ L.mT``,
``MultivariateNormal(mean, scale_tril=...)``); ``psd_safe_cholesky`` (``L, info =
torch.linalg.cholesky_ex(A)``, ``if not torch.any(info): return L``, the jitter loop with
``Aprime.diagonal(dim1=-2, dim2=-1).add_(jitter_new - jitter_prev)``); the kernel's ``dist``
(``adjustment = x1.mean(-2, keepdim=True)``, ``torch.cat([-2.0 * x1, x1_norm, x1_pad],
dim=-1)``, ``res.clamp_min_(0)``, ``if x1_eq_x2 and not x1.requires_grad ...:
res.diagonal(dim1=-2, dim2=-1).fill_(0)``, ``torch.equal``) and ``RBFKernel``
(``x1.div(self.lengthscale)``, ``dist.div_(-2).exp_()``) under a ``ScaleKernel``
(``outputscale``), the constraints (``softplus(raw) + lower_bound``); the variational strategy
(``torch.cat([inducing_points, x], dim=-2)``, ``L = psd_safe_cholesky(induc_induc_covar)``,
``torch.linalg.solve_triangular(L, induc_data_covar, upper=False)``, ``predictive_mean =
(interp_term.mT @ inducing_values.unsqueeze(-1)).squeeze(-1) + test_mean``, ``middle_term =
variational_covar - eye``, ``predictive_var = data_data_var + (interp_term * (middle_term @
interp_term)).sum(-2)``, whitened prior ``N(0, I)``, ``kl_divergence(variational_dist,
prior_dist)``); ``GaussianLikelihood.expected_log_prob`` (``((target - mean).square() +
variance) / noise + noise.log() + math.log(2 * math.pi)``, ``res.mul(-0.5)``);
``VariationalELBO`` (``log_likelihood.div(num_batch)``, ``kl_divergence.div(self.num_data /
self.beta)``, ``-mll(output, y_batch)``); ``torch.utils.data.TensorDataset`` / ``DataLoader(
batch_size=..., shuffle=True)``; ``torch.optim.Adam([{'params': model.parameters()},
{'params': likelihood.parameters()}], lr=0.05)``; the predictive ``MultivariateNormal``'s
``confidence_region`` (``mean - 2 * std``, ``mean + 2 * std``).

Changed: 500 -> 12 inducing points on 1-D inputs, 1000 training points -> 40, 4 epochs of
batch 16; GPyTorch's ``register_parameter(name=..., parameter=...)`` keyword is torch's
``param=``; the distributions are torch.distributions objects rather than GPyTorch's lazy ones,
and the strategy returns the marginal variances only (all the ELBO uses).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

NUM_INDUCING, N_TRAIN, BATCH, EPOCHS = 12, 40, 16, 4


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(42)
    train_x = np.sort(rng.random(N_TRAIN))
    train_y = np.sin(train_x * (2 * math.pi)) + 0.2 * rng.normal(size=N_TRAIN)
    return {"train_x": train_x, "train_y": train_y, "inducing": np.linspace(0, 1, NUM_INDUCING)}


def _gp(torch_like: Any) -> dict:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    MultivariateNormal = torch_like.distributions.MultivariateNormal
    kl_divergence = torch_like.distributions.kl_divergence

    def psd_safe_cholesky(A: Any, upper: bool = False, jitter: float | None = None,
                          max_tries: int = 3) -> Any:  # fmt: skip
        L, info = torch.linalg.cholesky_ex(A)
        if not torch.any(info):
            return L
        # Add jitter
        if jitter is None:
            jitter = 1e-6 if A.dtype == torch.float32 else 1e-8
        Aprime = A.clone()
        jitter_prev = 0
        for i in range(max_tries):
            jitter_new = jitter * (10**i)
            # add jitter to Aprime's diagonal
            Aprime.diagonal(dim1=-2, dim2=-1).add_(jitter_new - jitter_prev)
            jitter_prev = jitter_new
            L, info = torch.linalg.cholesky_ex(Aprime)
            if not torch.any(info):
                return L
        raise RuntimeError(f"Matrix not positive definite after repeatedly adding jitter up to "
                           f"{jitter_new:.1e}.")  # fmt: skip

    def dist(x1: Any, x2: Any, x1_eq_x2: bool) -> Any:
        # Zero out the diagonal for x1 == x2, then the square distance via the padded product
        adjustment = x1.mean(-2, keepdim=True)
        x1 = x1 - adjustment
        x2 = x2 - adjustment  # x1 and x2 should be identical in all dims except -2 at this point

        # Compute squared distance matrix using quadratic expansion
        x1_norm = x1.pow(2).sum(dim=-1, keepdim=True)
        x1_pad = torch.ones_like(x1_norm)
        if x1_eq_x2 and not x1.requires_grad and not x2.requires_grad:
            x2_norm, x2_pad = x1_norm, x1_pad
        else:
            x2_norm = x2.pow(2).sum(dim=-1, keepdim=True)
            x2_pad = torch.ones_like(x2_norm)
        x1_ = torch.cat([-2.0 * x1, x1_norm, x1_pad], dim=-1)
        x2_ = torch.cat([x2, x2_pad, x2_norm], dim=-1)
        res = x1_.matmul(x2_.transpose(-2, -1))

        if x1_eq_x2 and not x1.requires_grad and not x2.requires_grad:
            res.diagonal(dim1=-2, dim2=-1).fill_(0)

        # Zero out negative values
        res.clamp_min_(0)
        return res

    class Positive(nn.Module):
        def __init__(self, lower_bound: float = 0.0) -> None:
            super().__init__()
            self.lower_bound = lower_bound

        def transform(self, tensor: Any) -> Any:
            return F.softplus(tensor) + self.lower_bound

    class ScaledRBFKernel(nn.Module):
        """ScaleKernel(RBFKernel())"""

        def __init__(self) -> None:
            super().__init__()
            self.register_parameter(name="raw_lengthscale", param=nn.Parameter(
                torch.zeros(1, 1)))  # fmt: skip
            self.register_parameter(name="raw_outputscale", param=nn.Parameter(
                torch.tensor(0.0)))  # fmt: skip
            self.raw_lengthscale_constraint = Positive()
            self.raw_outputscale_constraint = Positive()

        @property
        def lengthscale(self) -> Any:
            return self.raw_lengthscale_constraint.transform(self.raw_lengthscale)

        @property
        def outputscale(self) -> Any:
            return self.raw_outputscale_constraint.transform(self.raw_outputscale)

        def forward(self, x1: Any, x2: Any, diag: bool = False) -> Any:
            if diag:
                return self.outputscale * torch.ones(x1.shape[:-1], dtype=x1.dtype)
            x1_eq_x2 = torch.equal(x1, x2)
            x1_ = x1.div(self.lengthscale)
            x2_ = x2.div(self.lengthscale)
            d = dist(x1_, x2_, x1_eq_x2)
            return self.outputscale * d.div_(-2).exp_()

    class SVGPModel(nn.Module):
        def __init__(self, inducing_points: Any) -> None:
            super().__init__()
            num_inducing = inducing_points.size(-2)
            # CholeskyVariationalDistribution
            mean_init_std = 1e-3
            self.register_parameter(name="variational_mean",
                                    param=nn.Parameter(torch.zeros(num_inducing)))  # fmt: skip
            self.register_parameter(name="chol_variational_covar",
                                    param=nn.Parameter(torch.eye(num_inducing)))  # fmt: skip
            self.chol_variational_covar.data.mul_(1.0)
            self.variational_mean.data.normal_(mean=0.0, std=mean_init_std)
            self.register_parameter(name="inducing_points",
                                    param=nn.Parameter(inducing_points))  # fmt: skip
            # ConstantMean, ScaleKernel(RBFKernel())
            self.mean_module_constant = nn.Parameter(torch.tensor(0.0))
            self.covar_module = ScaledRBFKernel()
            self.jitter_val = 1e-6

        def variational_distribution(self) -> Any:
            chol_variational_covar = self.chol_variational_covar
            dtype = chol_variational_covar.dtype
            device = chol_variational_covar.device
            # First make the cholesky factor is upper triangular
            lower_mask = torch.ones(self.chol_variational_covar.shape[-2:], dtype=dtype,
                                    device=device).tril(0)  # fmt: skip
            chol_variational_covar = chol_variational_covar.mul(lower_mask)
            return MultivariateNormal(self.variational_mean, scale_tril=chol_variational_covar)

        def prior_distribution(self) -> Any:
            zeros = torch.zeros_like(self.variational_mean)
            return MultivariateNormal(zeros, scale_tril=torch.diag_embed(torch.ones_like(zeros)))

        def kl_divergence(self) -> Any:
            return kl_divergence(self.variational_distribution(), self.prior_distribution())

        def forward(self, x: Any) -> tuple[Any, Any]:
            """(WhitenedVariationalStrategy) marginal predictive mean and variance at x."""
            inducing_points = self.inducing_points
            num_induc = inducing_points.size(-2)
            full_inputs = torch.cat([inducing_points, x], dim=-2)
            full_covar = self.covar_module(full_inputs, full_inputs)
            induc_induc_covar = full_covar[..., :num_induc, :num_induc]
            induc_induc_covar = induc_induc_covar + self.jitter_val * torch.eye(num_induc)
            induc_data_covar = full_covar[..., :num_induc, num_induc:]
            data_data_var = self.covar_module(x, x, diag=True) + self.jitter_val
            test_mean = self.mean_module_constant.expand(x.shape[:-1])

            L = psd_safe_cholesky(induc_induc_covar)
            interp_term = torch.linalg.solve_triangular(L, induc_data_covar, upper=False)

            variational = self.variational_distribution()
            inducing_values = variational.mean
            predictive_mean = (interp_term.mT @ inducing_values.unsqueeze(-1)).squeeze(-1)
            predictive_mean = predictive_mean + test_mean
            middle_term = variational.covariance_matrix - torch.eye(num_induc)
            predictive_var = data_data_var + (interp_term * (middle_term @ interp_term)).sum(-2)
            return predictive_mean, predictive_var

    class GaussianLikelihood(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.raw_noise = nn.Parameter(torch.zeros(1))
            self.raw_noise_constraint = Positive(lower_bound=1e-4)  # GreaterThan(1e-4)

        @property
        def noise(self) -> Any:
            return self.raw_noise_constraint.transform(self.raw_noise)

        def expected_log_prob(self, target: Any, mean: Any, variance: Any) -> Any:
            noise = self.noise.expand(mean.shape)
            res = (
                ((target - mean).square() + variance) / noise + noise.log() + math.log(2 * math.pi)
            )
            res = res.mul(-0.5)
            return res

    class VariationalELBO:
        def __init__(self, likelihood: Any, model: Any, num_data: int, beta: float = 1.0):
            self.likelihood, self.model = likelihood, model
            self.num_data, self.beta = num_data, beta

        def __call__(self, output: tuple[Any, Any], target: Any) -> Any:
            mean, variance = output
            num_batch = mean.size(-1)
            log_likelihood = self.likelihood.expected_log_prob(target, mean, variance).sum(-1)
            log_likelihood = log_likelihood.div(num_batch)
            kl_divergence = self.model.kl_divergence().div(self.num_data / self.beta)
            return log_likelihood - kl_divergence

    return {"SVGPModel": SVGPModel, "GaussianLikelihood": GaussianLikelihood,
            "VariationalELBO": VariationalELBO, "psd_safe_cholesky": psd_safe_cholesky}  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader
    gp = _gp(torch_like)
    torch.manual_seed(0)
    train_x = as_tensor(torch_like, init["train_x"]).unsqueeze(-1)
    train_y = as_tensor(torch_like, init["train_y"])
    train_dataset = TensorDataset(train_x, train_y)
    train_loader = DataLoader(train_dataset, batch_size=BATCH, shuffle=True)

    inducing_points = as_tensor(torch_like, init["inducing"]).unsqueeze(-1)
    model = gp["SVGPModel"](inducing_points=inducing_points)
    likelihood = gp["GaussianLikelihood"]()
    model.train()
    likelihood.train()
    optimizer = torch.optim.Adam([{"params": model.parameters()},
                                  {"params": likelihood.parameters()}], lr=0.05)  # fmt: skip
    # Our loss object. We're using the VariationalELBO
    mll = gp["VariationalELBO"](likelihood, model, num_data=train_y.size(0))
    values: list[float] = []
    for _i in range(EPOCHS):
        for x_batch, y_batch in train_loader:
            optimizer.zero_grad()
            output = model(x_batch)
            loss = -mll(output, y_batch)
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        values += [model.covar_module.lengthscale.item(), likelihood.noise.item()]

    model.eval()
    likelihood.eval()
    with torch.no_grad():
        test_x = torch.linspace(0, 1, 9).unsqueeze(-1)
        mean, var = model(test_x)
        var = var + likelihood.noise
        std = var.sqrt()
        lower, upper = mean - 2 * std, mean + 2 * std
        values += mean.tolist() + lower.tolist() + upper.tolist()
        values.append(model.kl_divergence().item())
        # the jitter path of psd_safe_cholesky on a singular matrix
        singular = torch.ones(3, 3)
        values.append(gp["psd_safe_cholesky"](singular).diagonal().sum().item())
    return values
