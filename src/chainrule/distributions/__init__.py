"""Probability distributions, mirroring ``torch.distributions``.

``Distribution`` is the base class; ``constraints`` describes parameter and sample spaces;
``kl_divergence``/``register_kl`` dispatch KL divergences by type pair. Sampling draws from
chainrule's seeded default generator (``cr.manual_seed`` makes it reproducible); ``rsample``
and ``log_prob`` are differentiable through chainrule ops.
"""

from __future__ import annotations

# _kl_pairs_a and kl_more register the KL pairs with register_kl when imported
from .._package_dir import package_dir as _package_dir
from . import _kl_pairs_a, constraints, kl, kl_more, transforms, utils  # noqa: F401
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .chi2 import Chi2
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .fishersnedecor import FisherSnedecor
from .gamma import Gamma
from .generalized_pareto import GeneralizedPareto
from .geometric import Geometric
from .gumbel import Gumbel
from .half_cauchy import HalfCauchy
from .half_normal import HalfNormal
from .independent import Independent
from .inverse_gamma import InverseGamma
from .kl import kl_divergence, register_kl
from .kumaraswamy import Kumaraswamy
from .laplace import Laplace
from .lkj_cholesky import LKJCholesky
from .log_normal import LogNormal
from .logistic_normal import LogisticNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .negative_binomial import NegativeBinomial
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .pareto import Pareto
from .poisson import Poisson
from .relaxed_bernoulli import RelaxedBernoulli
from .relaxed_categorical import RelaxedOneHotCategorical
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F403 - torch.distributions re-exports every transform
from .transforms import __all__ as _transforms_all
from .uniform import Uniform
from .von_mises import VonMises
from .weibull import Weibull
from .wishart import Wishart

__all__ = [
    "Bernoulli",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Distribution",
    "Exponential",
    "ExponentialFamily",
    "Geometric",
    "Independent",
    "Laplace",
    "Multinomial",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Poisson",
    "Uniform",
    "kl_divergence",
    "register_kl",
    "biject_to",
    "transform_to",
    "GeneralizedPareto",
    "InverseGamma",
    "LKJCholesky",
    "NegativeBinomial",
    "Wishart",
    "Beta",
    "Chi2",
    "ContinuousBernoulli",
    "Dirichlet",
    "FisherSnedecor",
    "Gamma",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Kumaraswamy",
    "LogNormal",
    "LogisticNormal",
    "LowRankMultivariateNormal",
    "MixtureSameFamily",
    "MultivariateNormal",
    "Pareto",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "StudentT",
    "TransformedDistribution",
    "VonMises",
    "Weibull",
]
__all__ += _transforms_all
# As in PyTorch, the submodules ``constraints``, ``kl``, ``transforms`` and ``utils`` are attributes
# (``cr.distributions.constraints.positive``) but not in ``__all__``.

# dir(): the public names, not the submodules importing binds (see _package_dir)
__dir__ = _package_dir(
    globals(),
    (
        "bernoulli",
        "beta",
        "binomial",
        "categorical",
        "cauchy",
        "chi2",
        "constraint_registry",
        "constraints",
        "continuous_bernoulli",
        "dirichlet",
        "distribution",
        "exp_family",
        "exponential",
        "fishersnedecor",
        "gamma",
        "generalized_pareto",
        "geometric",
        "gumbel",
        "half_cauchy",
        "half_normal",
        "independent",
        "inverse_gamma",
        "kl",
        "kumaraswamy",
        "laplace",
        "lkj_cholesky",
        "log_normal",
        "logistic_normal",
        "lowrank_multivariate_normal",
        "mixture_same_family",
        "multinomial",
        "multivariate_normal",
        "negative_binomial",
        "normal",
        "one_hot_categorical",
        "pareto",
        "poisson",
        "relaxed_bernoulli",
        "relaxed_categorical",
        "studentT",
        "transformed_distribution",
        "transforms",
        "uniform",
        "utils",
        "von_mises",
        "weibull",
        "wishart",
    ),
)
