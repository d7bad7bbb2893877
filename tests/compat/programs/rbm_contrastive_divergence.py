"""Restricted Boltzmann machines trained by contrastive divergence (CD-k), size-reduced, in
the two styles the public PyTorch RBM repositories write: odie2630463's
``Restricted-Boltzmann-Machines-using-pytorch`` (an ``nn.Module`` whose CD loss is the
difference of free energies, minimised by ``optim.SGD``) and GabrielBianconi's
``pytorch-rbm`` (plain tensors updated by hand, with momentum and weight decay).

The idioms: ``nn.Parameter(torch.randn(n_hin, n_vis) * 1e-2)``; ``sample_from_p``'s
``F.relu(torch.sign(p - Variable(torch.rand(p.size()))))``; ``F.sigmoid(F.linear(v, self.W,
self.h_bias))`` and ``F.linear(h, self.W.t(), self.v_bias)``; the Gibbs chain ``for _ in
range(self.k)``; ``free_energy``'s ``v.mv(self.v_bias)`` with ``wx_b.exp().add(1).log().sum(1)``
(and the ``F.softplus(wx_b).sum(1)`` form); ``sample_data = data.bernoulli()`` and
``torch.bernoulli(p)``; ``loss = rbm.free_energy(v) - rbm.free_energy(v1)``; ``loss_.append(
loss.data)`` and ``np.mean(loss_)``. The hand-written trainer: ``torch.randn(num_visible,
num_hidden) * 0.1``, ``torch.ones(num_visible) * 0.5``, ``(hidden_probabilities >=
self._random_probabilities(self.num_hidden)).float()``, ``torch.matmul(input_data.t(),
positive_hidden_activations)``, in-place momentum ``self.weights_momentum *=
self.momentum_coefficient`` / ``+=``, ``self.weights -= self.weights * self.weight_decay``,
``torch.sum(positive_hidden_probabilities - negative_hidden_probabilities, dim=0)`` and the
reconstruction error ``torch.sum((input_data - negative_visible_probabilities)**2)``, all
under ``torch.no_grad()``; a pseudo-likelihood estimate flipping one bit per row with
``torch.randint`` and ``scatter``; and bacnguyencong's ``rbm-pytorch`` form, whose
``sample_from_p`` is ``torch.bernoulli(p)`` of probabilities in the graph of ``W`` (the Gibbs
samples then require grad, with a zero gradient through the draws, as ``F.mse_loss(v_gibbs,
v)`` in the backward shows).

Changed: MNIST 784 -> 12 visible units of random binary patterns, 500 -> 6 hidden units, a
few batches. Both libraries reproduce PyTorch's CPU generator, so the samples come from
``torch.manual_seed`` directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
N_VIS, N_HIN, K, BATCH, BATCHES = 12, 6, 3, 5, 3


def make_model(torch_like: Any) -> Any:
    """odie2630463's ``RBM(nn.Module)``."""
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    Variable = torch_like.autograd.Variable

    class RBM(nn.Module):
        def __init__(self, n_vis: int = 784, n_hin: int = 500, k: int = 5) -> None:
            super().__init__()
            self.W = nn.Parameter(torch.randn(n_hin, n_vis) * 1e-2)
            self.v_bias = nn.Parameter(torch.zeros(n_vis))
            self.h_bias = nn.Parameter(torch.zeros(n_hin))
            self.k = k

        def sample_from_p(self, p: Any) -> Any:
            return F.relu(torch.sign(p - Variable(torch.rand(p.size()))))

        def v_to_h(self, v: Any) -> tuple[Any, Any]:
            p_h = F.sigmoid(F.linear(v, self.W, self.h_bias))
            sample_h = self.sample_from_p(p_h)
            return p_h, sample_h

        def h_to_v(self, h: Any) -> tuple[Any, Any]:
            p_v = F.sigmoid(F.linear(h, self.W.t(), self.v_bias))
            sample_v = self.sample_from_p(p_v)
            return p_v, sample_v

        def forward(self, v: Any) -> tuple[Any, Any]:
            pre_h1, h1 = self.v_to_h(v)
            h_ = h1
            for _ in range(self.k):
                pre_v_, v_ = self.h_to_v(h_)
                pre_h_, h_ = self.v_to_h(v_)
            return v, v_

        def free_energy(self, v: Any) -> Any:
            vbias_term = v.mv(self.v_bias)
            wx_b = F.linear(v, self.W, self.h_bias)
            hidden_term = wx_b.exp().add(1).log().sum(1)
            return (-hidden_term - vbias_term).mean()

        def free_energy_softplus(self, v: Any) -> Any:
            wx_b = F.linear(v, self.W, self.h_bias)
            return (-F.softplus(wx_b).sum(1) - v @ self.v_bias).mean()

    return RBM(N_VIS, N_HIN, K)


class ManualRBM:
    """GabrielBianconi's ``RBM`` (no autograd: the CD-k update written out)."""

    def __init__(self, torch_like: Any, num_visible: int, num_hidden: int, k: int) -> None:
        torch = torch_like
        self.torch = torch_like
        self.num_visible, self.num_hidden, self.k = num_visible, num_hidden, k
        self.learning_rate, self.momentum_coefficient, self.weight_decay = 0.1, 0.5, 1e-4
        self.weights = torch.randn(num_visible, num_hidden) * 0.1
        self.visible_bias = torch.ones(num_visible) * 0.5
        self.hidden_bias = torch.zeros(num_hidden)
        self.weights_momentum = torch.zeros(num_visible, num_hidden)
        self.visible_bias_momentum = torch.zeros(num_visible)
        self.hidden_bias_momentum = torch.zeros(num_hidden)

    def sample_hidden(self, visible_probabilities: Any) -> Any:
        hidden_activations = (
            self.torch.matmul(visible_probabilities, self.weights) + self.hidden_bias
        )
        return self._sigmoid(hidden_activations)

    def sample_visible(self, hidden_probabilities: Any) -> Any:
        visible_activations = (
            self.torch.matmul(hidden_probabilities, self.weights.t()) + self.visible_bias
        )
        return self._sigmoid(visible_activations)

    def contrastive_divergence(self, input_data: Any) -> Any:
        torch = self.torch
        # Positive phase
        positive_hidden_probabilities = self.sample_hidden(input_data)
        positive_hidden_activations = (
            positive_hidden_probabilities >= self._random_probabilities(self.num_hidden)
        ).float()
        positive_associations = torch.matmul(input_data.t(), positive_hidden_activations)
        # Negative phase
        hidden_activations = positive_hidden_activations
        for _step in range(self.k):
            visible_probabilities = self.sample_visible(hidden_activations)
            hidden_probabilities = self.sample_hidden(visible_probabilities)
            hidden_activations = (
                hidden_probabilities >= self._random_probabilities(self.num_hidden)
            ).float()
        negative_visible_probabilities = visible_probabilities
        negative_hidden_probabilities = hidden_probabilities
        negative_associations = torch.matmul(
            negative_visible_probabilities.t(), negative_hidden_probabilities
        )
        # Update parameters
        self.weights_momentum *= self.momentum_coefficient
        self.weights_momentum += positive_associations - negative_associations
        self.visible_bias_momentum *= self.momentum_coefficient
        self.visible_bias_momentum += torch.sum(input_data - negative_visible_probabilities, dim=0)
        self.hidden_bias_momentum *= self.momentum_coefficient
        self.hidden_bias_momentum += torch.sum(
            positive_hidden_probabilities - negative_hidden_probabilities, dim=0
        )
        batch_size = input_data.size(0)
        self.weights += self.weights_momentum * self.learning_rate / batch_size
        self.visible_bias += self.visible_bias_momentum * self.learning_rate / batch_size
        self.hidden_bias += self.hidden_bias_momentum * self.learning_rate / batch_size
        self.weights -= self.weights * self.weight_decay  # L2 weight decay
        # Compute reconstruction error
        error = torch.sum((input_data - negative_visible_probabilities) ** 2)
        return error

    def _sigmoid(self, x: Any) -> Any:
        return 1 / (1 + self.torch.exp(-x))

    def _random_probabilities(self, num: int) -> Any:
        random_probabilities = self.torch.rand(num)
        return random_probabilities


def train_bernoulli_rbm(torch_like: Any, data: list) -> list[float]:
    """The ``sample_from_p = torch.bernoulli(p)`` form of the module (bacnguyencong's
    ``rbm-pytorch``): the Gibbs samples stay in the graph of ``W`` (PyTorch's
    ``BernoulliBackward0``, a zero gradient), the reconstruction is monitored with
    ``F.mse_loss``, and the negative phase is detached explicitly only at the end."""
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class BernoulliRBM(nn.Module):
        def __init__(self, n_vis: int, n_hid: int, k: int) -> None:
            super().__init__()
            self.W = nn.Parameter(torch.randn(n_hid, n_vis) * 1e-2)
            self.v_bias = nn.Parameter(torch.zeros(n_vis))
            self.h_bias = nn.Parameter(torch.zeros(n_hid))
            self.k = k

        def sample_from_p(self, p: Any) -> Any:
            return torch.bernoulli(p)

        def v_to_h(self, v: Any) -> tuple[Any, Any]:
            p_h = torch.sigmoid(F.linear(v, self.W, self.h_bias))
            return p_h, self.sample_from_p(p_h)

        def h_to_v(self, h: Any) -> tuple[Any, Any]:
            p_v = torch.sigmoid(F.linear(h, self.W.t(), self.v_bias))
            return p_v, self.sample_from_p(p_v)

        def forward(self, v: Any) -> tuple[Any, Any]:
            h = self.v_to_h(v)[1]
            for _ in range(self.k):
                v_gibb = self.h_to_v(h)[1]
                h = self.v_to_h(v_gibb)[1]
            return v, v_gibb

        def free_energy(self, v: Any) -> Any:
            v_term = torch.matmul(v, self.v_bias.t())
            w_x_h = F.linear(v, self.W, self.h_bias)
            h_term = torch.sum(F.softplus(w_x_h), dim=1)
            return torch.mean(-h_term - v_term)

    model = BernoulliRBM(N_VIS, N_HIN, K)
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    values: list[float] = []
    for data_b in data:
        v, v_gibbs = model(data_b.bernoulli())
        loss = model.free_energy(v) - model.free_energy(v_gibbs)
        recon = F.mse_loss(v_gibbs, v)  # in the graph of W through the draws: zero gradient
        optimizer.zero_grad()
        (loss + recon).backward()
        optimizer.step()
        values += [loss.item(), recon.item(), float(v_gibbs.requires_grad)]
        values += [model.W.grad.abs().sum().item()]
    values.append(model.free_energy(v_gibbs.detach()).item())
    return values


def pseudo_likelihood(torch_like: Any, rbm: Any, v: Any) -> Any:
    """scikit-learn's ``BernoulliRBM.score_samples`` idiom: flip one random bit per row."""
    torch = torch_like
    F = torch_like.nn.functional
    ind = torch.randint(0, v.shape[1], (v.shape[0], 1))
    v_ = v.clone()
    flipped = 1 - v_.gather(1, ind)
    v_ = v_.scatter(1, ind, flipped)
    fe = -F.softplus(F.linear(v, rbm.W, rbm.h_bias)).sum(1) - v.mv(rbm.v_bias)
    fe_ = -F.softplus(F.linear(v_, rbm.W, rbm.h_bias)).sum(1) - v_.mv(rbm.v_bias)
    return v.shape[1] * F.logsigmoid(fe_ - fe)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(35)
    rbm = make_model(torch_like)
    load_numpy_state(torch_like, rbm, init)
    torch.manual_seed(7)
    protos = rng.uniform(size=(3, N_VIS))
    data = [
        as_tensor(torch, protos[rng.integers(0, 3, BATCH)] * 0.8 + 0.1).float()
        for _ in range(BATCHES)
    ]
    train_op = torch.optim.SGD(rbm.parameters(), 0.1)
    values: list[float] = []
    for _epoch in range(2):
        loss_ = []
        for data_b in data:
            data_b = data_b.view(-1, N_VIS)
            sample_data = data_b.bernoulli()
            v, v1 = rbm(sample_data)
            loss = rbm.free_energy(v) - rbm.free_energy(v1)
            loss_sp = rbm.free_energy_softplus(v) - rbm.free_energy_softplus(v1)
            loss_.append(loss.data)
            train_op.zero_grad()
            loss.backward()
            train_op.step()
            values += [loss.item(), loss_sp.item(), v1.sum().item(), sample_data.sum().item()]
        values.append(float(np.mean(loss_)))
    with torch.no_grad():
        values += pseudo_likelihood(torch, rbm, torch.bernoulli(data[0])).tolist()
    manual = ManualRBM(torch_like, N_VIS, N_HIN, K)
    with torch.no_grad():
        for _epoch in range(2):
            epoch_error = 0.0
            for data_b in data:
                batch_error = manual.contrastive_divergence(torch.bernoulli(data_b))
                epoch_error += batch_error
            values += [float(epoch_error), manual.weights.sum().item()]
            values += [manual.hidden_bias.abs().sum().item()]
    return values + train_bernoulli_rbm(torch_like, data)
