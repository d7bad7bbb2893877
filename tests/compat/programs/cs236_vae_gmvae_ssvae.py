"""Stanford CS236 (Deep Generative Models) homework 2 codebase (``codebase/utils.py``,
``codebase/models/vae.py``, ``gmvae.py``, ``ssvae.py``, ``codebase/models/nns/v1.py``,
``codebase/train.py``), size-reduced.

The idioms: ``ut.sample_gaussian`` (``m + (v**0.5)*torch.randn(m.shape)``), ``log_normal``
(``-0.5 * (torch.log(v) + (x - m).pow(2) / v + np.log(2 * np.pi))``), ``log_normal_mixture``
through ``log_mean_exp`` / the hand-written ``log_sum_exp`` (``torch.max(x, dim)[0]``,
``max_x.unsqueeze(dim).expand_as(x)``), ``gaussian_parameters``' ``torch.split(h, h.size(dim) //
2, dim=dim)`` and ``F.softplus(h) + 1e-8``, ``log_bernoulli_with_logits`` through
``torch.nn.BCEWithLogitsLoss(reduction='none')(input=logits, target=x)``, ``kl_normal``,
``kl_cat`` and ``duplicate`` (``x.expand(rep, *x.shape).reshape(-1, *x.shape[1:])``); the v1
``Encoder``/``Decoder``/``Classifier`` (``nn.Sequential`` of ``nn.Linear``/``nn.ELU``,
``torch.cat((x, y), dim=1)``); ``VAE`` with its frozen prior ``torch.nn.Parameter(torch.zeros(1),
requires_grad=False)`` (``self.z_prior_m.expand_as(m)``), ``negative_elbo_bound``,
``negative_iwae_bound`` (``log_w.reshape(iw, -1)``), ``sample_z`` / ``sample_x_given``
(``torch.bernoulli(torch.sigmoid(logits))``); ``GMVAE``'s learned mixture prior
``torch.nn.Parameter(torch.randn(1, 2 * self.k, self.z_dim) / np.sqrt(self.k * self.z_dim))`` and
``self.pi`` buffer-like parameter; ``SSVAE``'s ``y = np.repeat(np.arange(self.y_dim), x.size(0))``
and ``x.new(np.eye(self.y_dim)[y])`` (the legacy ``Tensor.new`` from a NumPy array),
``torch.softmax(y_logprob, dim=1)`` and ``F.cross_entropy(y_logits, y.argmax(1))``;
``train.py``'s ``torch.bernoulli(xu.reshape(xu.size(0), -1))`` binarisation and ``yu.new(np.eye(
10)[yu]).float()`` one-hots, ``optim.Adam(model.parameters(), lr=1e-3)``.

Changed: 784 -> 12 pixels, 300 -> 8 hidden units, z_dim 10 -> 2, k 500 -> 3, 10 -> 3 classes,
MNIST -> seeded NumPy intensities, 20000 iterations -> 3 per model; lr 1e-3 -> 1e-2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, state_to_numpy

__all__ = ["init_state", "run"]

X_DIM, HID, Z_DIM, K, Y_DIM, BATCH, STEPS = 12, 8, 2, 3, 3, 4, 3


def _codebase(torch_like: Any) -> dict:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class ut:  # noqa: N801  (the ``codebase.utils as ut`` namespace)
        @staticmethod
        def sample_gaussian(m, v):  # noqa: ANN001, ANN205
            sample = torch.randn(m.shape)
            z = m + (v**0.5) * sample
            return z

        @staticmethod
        def log_normal(x, m, v):  # noqa: ANN001, ANN205
            log_prob = -0.5 * (torch.log(v) + (x - m).pow(2) / v + np.log(2 * np.pi))
            log_prob = log_prob.sum(-1)
            return log_prob

        @staticmethod
        def log_normal_mixture(z, m, v):  # noqa: ANN001, ANN205
            z = z.unsqueeze(1)
            log_probs = ut.log_normal(z, m, v)
            log_prob = ut.log_mean_exp(log_probs, 1)
            return log_prob

        @staticmethod
        def gaussian_parameters(h, dim=-1):  # noqa: ANN001, ANN205
            m, h = torch.split(h, h.size(dim) // 2, dim=dim)
            v = F.softplus(h) + 1e-8
            return m, v

        @staticmethod
        def log_bernoulli_with_logits(x, logits):  # noqa: ANN001, ANN205
            bce = torch.nn.BCEWithLogitsLoss(reduction="none")
            log_prob = -bce(input=logits, target=x).sum(-1)
            return log_prob

        @staticmethod
        def kl_cat(q, log_q, log_p):  # noqa: ANN001, ANN205
            element_wise = q * (log_q - log_p)
            kl = element_wise.sum(-1)
            return kl

        @staticmethod
        def kl_normal(qm, qv, pm, pv):  # noqa: ANN001, ANN205
            element_wise = 0.5 * (
                torch.log(pv) - torch.log(qv) + qv / pv + (qm - pm).pow(2) / pv - 1
            )
            kl = element_wise.sum(-1)
            return kl

        @staticmethod
        def duplicate(x, rep):  # noqa: ANN001, ANN205
            return x.expand(rep, *x.shape).reshape(-1, *x.shape[1:])

        @staticmethod
        def log_mean_exp(x, dim):  # noqa: ANN001, ANN205
            return ut.log_sum_exp(x, dim) - np.log(x.size(dim))

        @staticmethod
        def log_sum_exp(x, dim=0):  # noqa: ANN001, ANN205
            max_x = torch.max(x, dim)[0]
            new_x = x - max_x.unsqueeze(dim).expand_as(x)
            return max_x + (new_x.exp().sum(dim)).log()

    class Encoder(nn.Module):
        def __init__(self, z_dim, y_dim=0):  # noqa: ANN001
            super().__init__()
            self.z_dim = z_dim
            self.y_dim = y_dim
            self.net = nn.Sequential(
                nn.Linear(X_DIM + y_dim, HID), nn.ELU(), nn.Linear(HID, HID), nn.ELU(),
                nn.Linear(HID, 2 * z_dim),
            )  # fmt: skip

        def encode(self, x, y=None):  # noqa: ANN001, ANN202
            xy = x if y is None else torch.cat((x, y), dim=1)
            h = self.net(xy)
            m, v = ut.gaussian_parameters(h, dim=1)
            return m, v

    class Decoder(nn.Module):
        def __init__(self, z_dim, y_dim=0):  # noqa: ANN001
            super().__init__()
            self.z_dim = z_dim
            self.y_dim = y_dim
            self.net = nn.Sequential(
                nn.Linear(z_dim + y_dim, HID), nn.ELU(), nn.Linear(HID, HID), nn.ELU(),
                nn.Linear(HID, X_DIM),
            )  # fmt: skip

        def decode(self, z, y=None):  # noqa: ANN001, ANN202
            zy = z if y is None else torch.cat((z, y), dim=1)
            return self.net(zy)

    class Classifier(nn.Module):
        def __init__(self, y_dim):  # noqa: ANN001
            super().__init__()
            self.y_dim = y_dim
            self.net = nn.Sequential(
                nn.Linear(X_DIM, HID), nn.ReLU(), nn.Linear(HID, HID), nn.ReLU(),
                nn.Linear(HID, y_dim),
            )  # fmt: skip

        def classify(self, x):  # noqa: ANN001, ANN202
            return self.net(x)

    class VAE(nn.Module):
        def __init__(self, nn="v1", name="vae", z_dim=2):  # noqa: ANN001
            super().__init__()
            self.name = name
            self.z_dim = z_dim
            self.enc = Encoder(self.z_dim)
            self.dec = Decoder(self.z_dim)
            self.z_prior_m = torch.nn.Parameter(torch.zeros(1), requires_grad=False)
            self.z_prior_v = torch.nn.Parameter(torch.ones(1), requires_grad=False)
            self.z_prior = (self.z_prior_m, self.z_prior_v)

        def negative_elbo_bound(self, x):  # noqa: ANN001, ANN202
            m, v = self.enc.encode(x)
            z = ut.sample_gaussian(m, v)
            logits = self.dec.decode(z)
            rec = -ut.log_bernoulli_with_logits(x, logits).mean()
            kl = ut.kl_normal(m, v, self.z_prior_m.expand_as(m), self.z_prior_v.expand_as(v)).mean()
            nelbo = rec + kl
            return nelbo, kl, rec

        def negative_iwae_bound(self, x, iw):  # noqa: ANN001, ANN202
            m, v = self.enc.encode(x)
            m = ut.duplicate(m, iw)
            v = ut.duplicate(v, iw)
            x = ut.duplicate(x, iw)
            z = ut.sample_gaussian(m, v)
            logits = self.dec.decode(z)
            log_px_z = ut.log_bernoulli_with_logits(x, logits)
            log_pz = ut.log_normal(z, self.z_prior_m.expand_as(z), self.z_prior_v.expand_as(z))
            log_qz_x = ut.log_normal(z, m, v)
            log_w = (log_px_z + log_pz - log_qz_x).reshape(iw, -1)
            niwae = -ut.log_mean_exp(log_w, 0).mean()
            return niwae

        def loss(self, x):  # noqa: ANN001, ANN202
            nelbo, kl, rec = self.negative_elbo_bound(x)
            loss = nelbo
            summaries = dict(
                (("train/loss", nelbo), ("gen/elbo", -nelbo), ("gen/kl_z", kl), ("gen/rec", rec))
            )
            return loss, summaries

        def compute_sigmoid_given(self, z):  # noqa: ANN001, ANN202
            logits = self.dec.decode(z)
            return torch.sigmoid(logits)

        def sample_z(self, batch):  # noqa: ANN001, ANN202
            return ut.sample_gaussian(
                self.z_prior[0].expand(batch, self.z_dim), self.z_prior[1].expand(batch, self.z_dim)
            )

        def sample_x_given(self, z):  # noqa: ANN001, ANN202
            return torch.bernoulli(self.compute_sigmoid_given(z))

    class GMVAE(VAE):
        def __init__(self, nn="v1", z_dim=2, k=500, name="gmvae"):  # noqa: ANN001
            super().__init__(nn, name, z_dim)
            self.k = k
            self.z_pre = torch.nn.Parameter(
                torch.randn(1, 2 * self.k, self.z_dim) / np.sqrt(self.k * self.z_dim)
            )
            self.pi = torch.nn.Parameter(torch.ones(k) / k, requires_grad=False)

        def negative_elbo_bound(self, x):  # noqa: ANN001, ANN202
            prior = ut.gaussian_parameters(self.z_pre, dim=1)
            m, v = self.enc.encode(x)
            z = ut.sample_gaussian(m, v)
            logits = self.dec.decode(z)
            rec = -ut.log_bernoulli_with_logits(x, logits)
            log_q = ut.log_normal(z, m, v)
            log_p = ut.log_normal_mixture(z, prior[0], prior[1])
            kl = log_q - log_p
            nelbo = (rec + kl).mean()
            return nelbo, kl.mean(), rec.mean()

    class SSVAE(nn.Module):
        def __init__(self, nn="v1", name="ssvae", gen_weight=1, class_weight=100):  # noqa: ANN001
            super().__init__()
            self.name = name
            self.z_dim = Z_DIM
            self.y_dim = Y_DIM
            self.gen_weight = gen_weight
            self.class_weight = class_weight
            self.enc = Encoder(self.z_dim, self.y_dim)
            self.dec = Decoder(self.z_dim, self.y_dim)
            self.cls = Classifier(self.y_dim)
            self.z_prior_m = torch.nn.Parameter(torch.zeros(1), requires_grad=False)
            self.z_prior_v = torch.nn.Parameter(torch.ones(1), requires_grad=False)

        def negative_elbo_bound(self, x):  # noqa: ANN001, ANN202
            y_logits = self.cls.classify(x)
            y_logprob = F.log_softmax(y_logits, dim=1)
            y_prob = torch.softmax(y_logprob, dim=1)  # (batch, y_dim)
            y = np.repeat(np.arange(self.y_dim), x.size(0))
            y = x.new(np.eye(self.y_dim)[y])
            x = ut.duplicate(x, self.y_dim)
            m, v = self.enc.encode(x, y)
            z = ut.sample_gaussian(m, v)
            logits = self.dec.decode(z, y)
            kl_y = ut.kl_cat(y_prob, y_logprob, np.log(1.0 / self.y_dim))
            kl_z = ut.kl_normal(m, v, self.z_prior_m.expand_as(m), self.z_prior_v.expand_as(v))
            rec = -ut.log_bernoulli_with_logits(x, logits)
            kl_z = kl_z.reshape(self.y_dim, -1).t()
            rec = rec.reshape(self.y_dim, -1).t()
            kl_y, kl_z, rec = (
                kl_y.mean(),
                (y_prob * kl_z).sum(-1).mean(),
                (y_prob * rec).sum(-1).mean(),
            )
            nelbo = kl_y + kl_z + rec
            return nelbo, kl_z, kl_y, rec

        def classification_cross_entropy(self, x, y):  # noqa: ANN001, ANN202
            y_logits = self.cls.classify(x)
            return F.cross_entropy(y_logits, y.argmax(1))

        def loss(self, x, xl, yl):  # noqa: ANN001, ANN202
            if self.gen_weight > 0:
                nelbo, kl_z, kl_y, rec = self.negative_elbo_bound(x)
            else:
                nelbo = 0
            ce_loss = self.classification_cross_entropy(xl, yl)
            loss = self.gen_weight * nelbo + self.class_weight * ce_loss
            return loss, {"train/loss": loss, "class/ce": ce_loss}

    return {"VAE": VAE, "GMVAE": GMVAE, "SSVAE": SSVAE, "ut": ut}


def _models(torch_like: Any) -> dict:
    c = _codebase(torch_like)
    torch_like.manual_seed(0)
    return {"vae": c["VAE"](z_dim=Z_DIM), "gmvae": c["GMVAE"](z_dim=Z_DIM, k=K),
            "ssvae": c["SSVAE"](gen_weight=1, class_weight=1)}  # fmt: skip


def init_state(tmp_path: Any) -> dict:
    import torch

    with torch.random.fork_rng():
        return {k: state_to_numpy(m) for k, m in _models(torch).items()}


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    models = _models(torch_like)
    c = _codebase(torch_like)
    rng = np.random.default_rng(236)
    values: list[float] = []
    torch.manual_seed(5)
    for name, model in models.items():
        model.load_state_dict({k: torch.tensor(v) for k, v in init[name].items()})
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(STEPS):
            xu = as_tensor(torch_like, rng.random((BATCH, 1, 3, 4)))
            yu = as_tensor(torch_like, rng.integers(0, Y_DIM, BATCH))
            optimizer.zero_grad()
            xu = torch.bernoulli(xu.reshape(xu.size(0), -1))
            yu = yu.new(np.eye(Y_DIM)[yu]).float()
            if name == "ssvae":
                loss, summaries = model.loss(xu, xu[:2], yu[:2].double())
            else:
                loss, summaries = model.loss(xu)
            loss.backward()
            optimizer.step()
            values += [loss.item()] + [s.item() for s in summaries.values()]
        if name != "ssvae":
            xt = torch.bernoulli(as_tensor(torch_like, rng.random((2, X_DIM))))
            values.append(model.negative_iwae_bound(xt, 4).item())
            with torch.no_grad():
                values += model.sample_x_given(model.sample_z(3)).flatten().tolist()
        assert not model.z_prior_m.requires_grad and model.z_prior_m.grad is None
    ut = c["ut"]
    x = as_tensor(torch_like, rng.standard_normal((2, 5)))
    values += ut.log_sum_exp(x, 1).tolist() + ut.log_mean_exp(x, 0).tolist()
    values += ut.duplicate(x, 3).sum(1).tolist()
    return values
