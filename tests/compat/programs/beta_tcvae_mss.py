"""beta-TCVAE (Chen et al., 2018) as rtqichen/beta-tcvae writes it (``vae_quant.py``'s ``VAE``,
``MLPEncoder``, ``MLPDecoder``, ``anneal_kl`` and training loop; ``lib/dist.py``'s ``Normal``,
``Bernoulli`` and ``STHeaviside``; ``lib/utils.py``'s ``logsumexp`` and ``isnan``),
size-reduced.

The idioms: the distributions as ``nn.Module`` subclasses holding ``Variable(torch.Tensor(
[np.log(2 * np.pi)]))`` constants and a custom ``__repr__`` formatting ``'{:.3f}'.format(self.
mu.data[0])``; ``mu_logsigma.select(-1, 0).expand(size)``; sampling ``Variable(torch.randn(
mu.size()).type_as(mu.data))``; the Bernoulli's logistic noise ``torch.log(u + eps) - torch.log(1
- u + eps)`` and the straight-through ``STHeaviside`` ``Function`` (``y = torch.zeros(x.size()).
type_as(x)``, ``y[x >= 0] = 1``) with ``b.detach()``; ``log_density``'s ``(F.sigmoid(
presigm_ps) + eps) * (1 - 2 * eps)`` (the deprecated alias); ``self.register_buffer(
'prior_params', torch.zeros(self.z_dim, 2))`` expanded by ``Variable(self.prior_params.expand(
expanded_size))``; the hand-written ``logsumexp`` (``m, _ = torch.max(value, dim=dim,
keepdim=True)``, ``m.squeeze(dim)``); the total-correlation estimators on ``_logqz =
self.q_dist.log_density(zs.view(batch_size, 1, self.z_dim), z_params.view(1, batch_size,
self.z_dim, self.q_dist.nparams))``: minibatch weighted sampling (``- math.log(batch_size *
dataset_size)``) and minibatch stratified sampling through ``_log_importance_weight_matrix``
(``torch.Tensor(batch_size, batch_size).fill_(1 / M)``, the strided writes ``W.view(-1)[::M+1] =
1 / N`` and ``W.view(-1)[1::M+1] = strat_weight``, ``W[M-1, 0] = strat_weight``, ``W.log()``,
``Variable(...type_as(_logqz.data))``); the ``tcvae``/``include_mutinfo`` branches of the
modified ELBO; ``anneal_kl``'s ``vae.lamb = max(0, 0.95 - 1 / warmup_iter * iteration)`` and
``vae.beta = min(args.beta, args.beta / warmup_iter * iteration)``; the loop's
``utils.isnan(obj).any()`` (``tensor != tensor``), ``obj.mean().mul(-1).backward()`` and
``optim.Adam``.

Changed: 64x64 dSprites -> 4x4 NumPy-drawn binary "sprites" (16 pixels), the 1200-unit MLPs ->
10 units, ``z_dim`` 10 -> 3, batch 2048 -> 6 of a 30-image "dataset", ``warmup_iter`` 7000 ->
4; ``x.cuda(async=True)`` dropped; ``elbo.mean().data[0]`` -> ``.item()``; a few iterations of
each estimator (MWS with the TC-VAE objective, MSS with lambda annealing).
"""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

PIX, Z_DIM, HID, BATCH, DATASET, STEPS = 4, 3, 10, 6, 30, 3
eps = 1e-8


def _lib(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional
    Variable, Function = torch.autograd.Variable, torch.autograd.Function  # noqa: N806

    class STHeaviside(Function):
        @staticmethod
        def forward(ctx, x):  # noqa: ANN001, ANN205
            y = torch.zeros(x.size()).type_as(x)
            y[x >= 0] = 1
            return y

        @staticmethod
        def backward(ctx, grad_output):  # noqa: ANN001, ANN205
            return grad_output

    class Normal(nn.Module):
        """Samples from a Normal distribution using the reparameterization trick."""

        def __init__(self, mu=0, sigma=1):  # noqa: ANN001
            super(Normal, self).__init__()  # noqa: UP008 (as in the repository)
            self.normalization = Variable(torch.Tensor([np.log(2 * np.pi)]))
            self.mu = Variable(torch.Tensor([mu]))
            self.logsigma = Variable(torch.Tensor([math.log(sigma)]))

        def _check_inputs(self, size, mu_logsigma):  # noqa: ANN001, ANN202
            if size is None and mu_logsigma is None:
                raise ValueError("Either one of size or params should be provided.")
            elif size is not None and mu_logsigma is not None:
                mu = mu_logsigma.select(-1, 0).expand(size)
                logsigma = mu_logsigma.select(-1, 1).expand(size)
                return mu, logsigma
            elif size is not None:
                mu = self.mu.expand(size)
                logsigma = self.logsigma.expand(size)
                return mu, logsigma
            elif mu_logsigma is not None:
                mu = mu_logsigma.select(-1, 0)
                logsigma = mu_logsigma.select(-1, 1)
                return mu, logsigma
            else:
                raise ValueError(
                    "Given invalid inputs: size={}, mu_logsigma={})".format(size, mu_logsigma)  # noqa: UP032
                )

        def sample(self, size=None, params=None):  # noqa: ANN001, ANN202
            mu, logsigma = self._check_inputs(size, params)
            std_z = Variable(torch.randn(mu.size()).type_as(mu.data))
            sample = std_z * torch.exp(logsigma) + mu
            return sample

        def log_density(self, sample, params=None):  # noqa: ANN001, ANN202
            if params is not None:
                mu, logsigma = self._check_inputs(None, params)
            else:
                mu, logsigma = self._check_inputs(sample.size(), None)
                mu = mu.type_as(sample)
                logsigma = logsigma.type_as(sample)

            c = self.normalization.type_as(sample.data)
            inv_sigma = torch.exp(-logsigma)
            tmp = (sample - mu) * inv_sigma
            return -0.5 * (tmp * tmp + 2 * logsigma + c)

        @property
        def nparams(self):  # noqa: ANN202
            return 2

        def __repr__(self):  # noqa: ANN204
            tmpstr = self.__class__.__name__ + " ({:.3f}, {:.3f})".format(  # noqa: UP032
                self.mu.data[0], self.logsigma.exp().data[0]
            )
            return tmpstr

    class Bernoulli(nn.Module):
        """Samples from a Bernoulli distribution where the probability is given
        by the sigmoid of the given parameter.
        """

        def __init__(self, p=0.5, stgradient=False):  # noqa: ANN001
            super(Bernoulli, self).__init__()  # noqa: UP008
            p = torch.Tensor([p])
            self.p = Variable(torch.log(p / (1 - p) + eps))
            self.stgradient = stgradient

        def _check_inputs(self, size, ps):  # noqa: ANN001, ANN202
            if size is None and ps is None:
                raise ValueError("Either one of size or params should be provided.")
            elif size is not None and ps is not None:
                if ps.size() == size:
                    return ps
                else:
                    return ps.expand(size)
            elif size is not None:
                return self.p.expand(size)
            elif ps is not None:
                return ps
            else:
                raise ValueError("Given invalid inputs: size={}, ps={})".format(size, ps))  # noqa: UP032

        def _sample_logistic(self, size):  # noqa: ANN001, ANN202
            u = Variable(torch.rand(size))
            l = torch.log(u + eps) - torch.log(1 - u + eps)  # noqa: E741
            return l

        def sample(self, size=None, params=None):  # noqa: ANN001, ANN202
            presigm_ps = self._check_inputs(size, params)
            logp = F.logsigmoid(presigm_ps)
            logq = F.logsigmoid(-presigm_ps)
            l = self._sample_logistic(logp.size()).type_as(presigm_ps)  # noqa: E741
            z = logp - logq + l
            b = STHeaviside.apply(z)
            return b if self.stgradient else b.detach()

        def log_density(self, sample, params=None):  # noqa: ANN001, ANN202
            presigm_ps = self._check_inputs(sample.size(), params).type_as(sample)
            p = (F.sigmoid(presigm_ps) + eps) * (1 - 2 * eps)
            logp = sample * torch.log(p + eps) + (1 - sample) * torch.log(1 - p + eps)
            return logp

        def __repr__(self):  # noqa: ANN204
            tmpstr = self.__class__.__name__ + " ({:.3f})".format(torch.sigmoid(self.p.data)[0])  # noqa: UP032
            return tmpstr

    def logsumexp(value, dim=None, keepdim=False):  # noqa: ANN001, ANN202
        """Numerically stable implementation of the operation
        value.exp().sum(dim, keepdim).log()
        """
        if dim is not None:
            m, _ = torch.max(value, dim=dim, keepdim=True)
            value0 = value - m
            if keepdim is False:
                m = m.squeeze(dim)
            return m + torch.log(torch.sum(torch.exp(value0), dim=dim, keepdim=keepdim))
        else:
            m = torch.max(value)
            sum_exp = torch.sum(torch.exp(value - m))
            if isinstance(sum_exp, Number):
                return m + math.log(sum_exp)
            else:
                return m + torch.log(sum_exp)

    return Normal, Bernoulli, logsumexp


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    Variable = torch.autograd.Variable  # noqa: N806
    Normal, Bernoulli, logsumexp = _lib(torch_like)  # noqa: N806

    class MLPEncoder(nn.Module):
        def __init__(self, output_dim):  # noqa: ANN001
            super(MLPEncoder, self).__init__()  # noqa: UP008
            self.output_dim = output_dim
            self.fc1 = nn.Linear(PIX * PIX, HID)
            self.fc2 = nn.Linear(HID, HID)
            self.fc3 = nn.Linear(HID, output_dim)
            # setup the non-linearity
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):  # noqa: ANN001, ANN202
            h = x.view(-1, PIX * PIX)
            h = self.act(self.fc1(h))
            h = self.act(self.fc2(h))
            h = self.fc3(h)
            z = h.view(x.size(0), self.output_dim)
            return z

    class MLPDecoder(nn.Module):
        def __init__(self, input_dim):  # noqa: ANN001
            super(MLPDecoder, self).__init__()  # noqa: UP008
            self.net = nn.Sequential(
                nn.Linear(input_dim, HID), nn.Tanh(), nn.Linear(HID, HID), nn.Tanh(),
                nn.Linear(HID, PIX * PIX),
            )  # fmt: skip

        def forward(self, z):  # noqa: ANN001, ANN202
            h = z.view(z.size(0), -1)
            h = self.net(h)
            mu_img = h.view(z.size(0), 1, PIX, PIX)
            return mu_img

    class VAE(nn.Module):
        def __init__(self, z_dim, use_cuda=False, prior_dist=Normal(), q_dist=Normal(),  # noqa: ANN001, B008
                     include_mutinfo=True, tcvae=False, conv=False, mss=False):  # fmt: skip
            super(VAE, self).__init__()  # noqa: UP008
            self.use_cuda = use_cuda
            self.z_dim = z_dim
            self.include_mutinfo = include_mutinfo
            self.tcvae = tcvae
            self.lamb = 0
            self.beta = 1
            self.mss = mss
            self.x_dist = Bernoulli()
            # Model-specific
            # distribution family of p(z)
            self.prior_dist = prior_dist
            self.q_dist = q_dist
            # hyperparameters for prior p(z)
            self.register_buffer("prior_params", torch.zeros(self.z_dim, 2))
            # create the encoder and decoder networks
            self.encoder = MLPEncoder(z_dim * self.q_dist.nparams)
            self.decoder = MLPDecoder(z_dim)

        # return prior parameters wrapped in a suitable Variable
        def _get_prior_params(self, batch_size=1):  # noqa: ANN001, ANN202
            expanded_size = (batch_size,) + self.prior_params.size()
            prior_params = Variable(self.prior_params.expand(expanded_size))
            return prior_params

        def encode(self, x):  # noqa: ANN001, ANN202
            x = x.view(x.size(0), 1, PIX, PIX)
            # use the encoder to get the parameters used to define q(z|x)
            z_params = self.encoder.forward(x).view(x.size(0), self.z_dim, self.q_dist.nparams)
            # sample the latent code z
            zs = self.q_dist.sample(params=z_params)
            return zs, z_params

        def decode(self, z):  # noqa: ANN001, ANN202
            x_params = self.decoder.forward(z).view(z.size(0), 1, PIX, PIX)
            xs = self.x_dist.sample(params=x_params)
            return xs, x_params

        # define a helper function for reconstructing images
        def reconstruct_img(self, x):  # noqa: ANN001, ANN202
            zs, z_params = self.encode(x)
            xs, x_params = self.decode(zs)
            return xs, x_params, zs, z_params

        def _log_importance_weight_matrix(self, batch_size, dataset_size):  # noqa: ANN001, ANN202
            N = dataset_size  # noqa: N806
            M = batch_size - 1  # noqa: N806
            strat_weight = (N - M) / (N * M)
            W = torch.Tensor(batch_size, batch_size).fill_(1 / M)  # noqa: N806
            W.view(-1)[:: M + 1] = 1 / N
            W.view(-1)[1 :: M + 1] = strat_weight
            W[M - 1, 0] = strat_weight
            return W.log()

        def elbo(self, x, dataset_size):  # noqa: ANN001, ANN202
            # log p(x|z) + log p(z) - log q(z|x)
            batch_size = x.size(0)
            x = x.view(batch_size, 1, PIX, PIX)
            prior_params = self._get_prior_params(batch_size)
            x_recon, x_params, zs, z_params = self.reconstruct_img(x)
            logpx = self.x_dist.log_density(x, params=x_params).view(batch_size, -1).sum(1)
            logpz = self.prior_dist.log_density(zs, params=prior_params).view(batch_size, -1).sum(1)
            logqz_condx = self.q_dist.log_density(zs, params=z_params).view(batch_size, -1).sum(1)

            elbo = logpx + logpz - logqz_condx

            if self.beta == 1 and self.include_mutinfo and self.lamb == 0:
                return elbo, elbo.detach()

            # compute log q(z) ~= log 1/(NM) sum_m=1^M q(z|x_m) = - log(MN) + logsumexp_m(q(z|x_m))
            _logqz = self.q_dist.log_density(
                zs.view(batch_size, 1, self.z_dim),
                z_params.view(1, batch_size, self.z_dim, self.q_dist.nparams),
            )

            if not self.mss:
                # minibatch weighted sampling
                logqz_prodmarginals = (
                    logsumexp(_logqz, dim=1, keepdim=False) - math.log(batch_size * dataset_size)
                ).sum(1)
                logqz = logsumexp(_logqz.sum(2), dim=1, keepdim=False) - math.log(
                    batch_size * dataset_size
                )
            else:
                # minibatch stratified sampling
                logiw_matrix = Variable(
                    self._log_importance_weight_matrix(batch_size, dataset_size).type_as(
                        _logqz.data
                    )
                )
                logqz = logsumexp(logiw_matrix + _logqz.sum(2), dim=1, keepdim=False)
                logqz_prodmarginals = logsumexp(
                    logiw_matrix.view(batch_size, batch_size, 1) + _logqz, dim=1, keepdim=False
                ).sum(1)

            if not self.tcvae:
                if self.include_mutinfo:
                    modified_elbo = logpx - self.beta * (
                        (logqz_condx - logpz) - self.lamb * (logqz_prodmarginals - logpz)
                    )
                else:
                    modified_elbo = logpx - self.beta * (
                        (logqz - logqz_prodmarginals)
                        - (1 - self.lamb) * (logqz_prodmarginals - logpz)
                    )
            else:
                if self.include_mutinfo:
                    modified_elbo = (
                        logpx - (logqz_condx - logqz) - self.beta * (logqz - logqz_prodmarginals)
                        - (1 - self.lamb) * (logqz_prodmarginals - logpz)
                    )  # fmt: skip
                else:
                    modified_elbo = (
                        logpx - self.beta * (logqz - logqz_prodmarginals)
                        - (1 - self.lamb) * (logqz_prodmarginals - logpz)
                    )  # fmt: skip

            return modified_elbo, elbo.detach()

    return nn.ModuleList([
        VAE(Z_DIM, prior_dist=Normal(), q_dist=Normal(), include_mutinfo=True, tcvae=True,
            mss=False),
        VAE(Z_DIM, prior_dist=Normal(), q_dist=Normal(), include_mutinfo=True, tcvae=False,
            mss=True),
    ])  # fmt: skip


class _Args:
    def __init__(self, lambda_anneal: bool, beta_anneal: bool) -> None:
        self.dataset, self.beta = "shapes", 6.0
        self.lambda_anneal, self.beta_anneal = lambda_anneal, beta_anneal


def anneal_kl(args: Any, vae: Any, iteration: int) -> None:
    if args.dataset == "shapes":
        warmup_iter = 4
    elif args.dataset == "faces":
        warmup_iter = 2500

    if args.lambda_anneal:
        vae.lamb = max(0, 0.95 - 1 / warmup_iter * iteration)  # 1 --> 0
    else:
        vae.lamb = 0
    if args.beta_anneal:
        vae.beta = min(args.beta, args.beta / warmup_iter * iteration)  # 0 --> 1
    else:
        vae.beta = args.beta


def run(torch_like: Any, init: dict) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    Variable = torch.autograd.Variable  # noqa: N806
    vaes = make_model(torch_like)
    load_numpy_state(torch_like, vaes, init)

    def isnan(tensor):  # noqa: ANN001, ANN202
        return tensor != tensor

    rng = np.random.default_rng(27)
    dataset = (rng.random((DATASET, 1, PIX, PIX)) < 0.4).astype(np.float64)
    dataset_size = DATASET
    torch.manual_seed(5)
    values: list[float] = []
    for vae, args in zip(vaes, (_Args(False, True), _Args(True, False))):
        optimizer = optim.Adam(vae.parameters(), lr=0.01)
        for iteration in range(STEPS):
            x = torch.from_numpy(dataset[rng.choice(DATASET, BATCH, replace=False)])
            vae.train()
            anneal_kl(args, vae, iteration)
            optimizer.zero_grad()
            x = Variable(x)
            obj, elbo = vae.elbo(x, dataset_size)
            if isnan(obj).any():
                raise ValueError("NaN spotted in objective.")
            obj.mean().mul(-1).backward()
            optimizer.step()
            values.extend([obj.mean().item(), elbo.mean().item()])
        with torch.no_grad():
            xs, x_params, zs, z_params = vae.reconstruct_img(torch.from_numpy(dataset[:2]))
            values.extend([xs.sum().item(), x_params.sum().item(), z_params.sum().item()])
    return values
