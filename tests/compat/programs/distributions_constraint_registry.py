"""Unconstrained fitting through ``torch.distributions``' constraint registry, the way Pyro's
``pyro.param(..., constraint=...)`` and GPyTorch-style code use it
(https://pytorch.org/docs/stable/distributions.html#module-torch.distributions.constraint_registry):
``biject_to(constraints.positive)``, ``transform_to(constraints.simplex)`` (softmax) versus
``biject_to(constraints.simplex)`` (``StickBreakingTransform``) with its ``.inv`` and
``log_abs_det_jacobian``, ``biject_to(constraints.interval(0.0, 1.0))``,
``transform_to(constraints.lower_cholesky)`` feeding ``MultivariateNormal(scale_tril=...)``,
``biject_to(constraints.greater_than(1.0))``; the change-of-variables prior term ``prior.log_prob(
t(u)) + t.log_abs_det_jacobian(u, t(u))``; ``TransformedDistribution(Normal(...),
[ExpTransform()])`` checked against ``LogNormal``; ``TransformedDistribution(Dirichlet,
...)`` free; ``Beta``, ``Dirichlet``, ``Gamma`` log-likelihoods; ``constraints.simplex.check``.

Changed: synthetic observations from NumPy, 6 Adam steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["run"]


def run(torch_like: Any, init: Any) -> list[float]:
    torch = torch_like
    D = torch.distributions
    constraints = D.constraints
    rng = np.random.default_rng(9)
    obs_pos = as_tensor(torch_like, rng.gamma(2.0, 1.5, 20))
    obs_unit = as_tensor(torch_like, rng.beta(2.0, 5.0, 20))
    obs_simplex = as_tensor(torch_like, rng.dirichlet([1.0, 2.0, 3.0], 10))
    obs_mvn = as_tensor(torch_like, rng.standard_normal((20, 3)) @ np.array(
        [[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.2, -0.3, 0.7]]))  # fmt: skip
    u_rate = torch.zeros(2, requires_grad=True)
    u_mean = torch.zeros(2, requires_grad=True)
    u_probs = torch.zeros(2, requires_grad=True)  # stick-breaking: K - 1 free values
    u_logits = torch.zeros(3, requires_grad=True)
    u_tril = torch.zeros(3, 3, requires_grad=True)
    u_conc = torch.zeros(3, requires_grad=True)
    u_gt = torch.zeros(1, requires_grad=True)
    params = [u_rate, u_mean, u_probs, u_logits, u_tril, u_conc, u_gt]
    opt = torch.optim.Adam(params, lr=0.1)
    t_pos = D.biject_to(constraints.positive)
    t_unit = D.biject_to(constraints.interval(0.0, 1.0))
    t_stick = D.biject_to(constraints.simplex)
    t_soft = D.transform_to(constraints.simplex)
    t_tril = D.transform_to(constraints.lower_cholesky)
    t_gt = D.biject_to(constraints.greater_than(1.0))
    prior = D.Normal(torch.zeros(2), torch.ones(2))
    values: list[float] = []
    for _ in range(6):
        conc_rate = t_pos(u_rate)
        gamma_ll = D.Gamma(conc_rate[0], conc_rate[1]).log_prob(obs_pos).sum()
        ab = t_pos(u_mean)
        beta_ll = D.Beta(ab[0], ab[1]).log_prob(obs_unit).sum()
        probs = t_stick(u_probs)
        back = t_stick.inv(probs)
        stick_ll = D.Categorical(probs=probs).log_prob(obs_simplex.argmax(-1)).sum()
        ladj = t_stick.log_abs_det_jacobian(u_probs, probs)
        soft_ll = D.Categorical(probs=t_soft(u_logits)).log_prob(obs_simplex.argmax(-1)).sum()
        mvn = D.MultivariateNormal(torch.zeros(3), scale_tril=t_tril(u_tril))
        mvn_ll = mvn.log_prob(obs_mvn).sum()
        dir_ll = D.Dirichlet(t_pos(u_conc)).log_prob(obs_simplex).sum()
        unit = t_unit(u_mean)
        prior_term = prior.log_prob(u_mean).sum() + t_unit.log_abs_det_jacobian(u_mean, unit).sum()
        shape = t_gt(u_gt)
        pareto_ll = D.Pareto(torch.ones(1), shape).log_prob(obs_pos + 1.0).sum()
        lognormal = D.TransformedDistribution(D.Normal(u_mean[0], t_pos(u_rate[1])),
                                              [D.transforms.ExpTransform()])  # fmt: skip
        ln_ll = lognormal.log_prob(obs_pos).sum()
        ref_ll = D.LogNormal(u_mean[0], t_pos(u_rate[1])).log_prob(obs_pos).sum()
        loss = -(gamma_ll + beta_ll + stick_ll + ladj + soft_ll + mvn_ll + dir_ll + prior_term
                 + pareto_ll + ln_ll)  # fmt: skip
        opt.zero_grad()
        loss.backward()
        opt.step()
        values += [loss.item(), (ln_ll - ref_ll).item(), (back - u_probs).abs().sum().item()]
        values.append(float(constraints.simplex.check(probs).all()))
    return values
