"""Behaviour cloning with a tanh-squashed Gaussian-mixture policy as ARISE-Initiative/robomimic
writes it (``robomimic/models/policy_nets.py`` ``GMMActorNetwork.forward_train``,
``robomimic/models/distributions.py`` ``TanhWrapper``, ``robomimic/algo/bc.py``
``BC_GMM._compute_losses`` and ``robomimic/utils/torch_utils.py`` ``backprop_for_loss``),
size-reduced.

The idioms kept: the heads' outputs reshaped to ``(num_modes, ac_dim)``; ``if not
self.use_tanh: means = torch.tanh(means)``; the scale from ``self.activations[
self.std_activation](scales) + self.min_std`` (``{"softplus": F.softplus, "exp": torch.exp}``)
and, in eval mode with ``low_noise_eval``, ``torch.ones_like(means) * 1e-4``;
``D.Independent(D.Normal(loc=means, scale=scales), 1)`` components mixed by
``D.Categorical(logits=logits)`` in ``D.MixtureSameFamily(mixture_distribution=...,
component_distribution=...)``; ``TanhWrapper``, a ``D.Distribution`` subclass built with a
bare ``super(TanhWrapper, self).__init__()``, whose ``log_prob`` inverts the squash
(``(1. + value).clamp(min=self.tanh_epsilon)``, ``0.5 * torch.log(one_plus_x /
one_minus_x)``), subtracts ``torch.log(1 - value * value + self.tanh_epsilon)`` and sums it
when the base distribution already summed (``lp - tanh_lp.sum(-1)``); ``assert
len(dists.batch_shape) == 1``, ``-log_probs.mean()``; ``backprop_for_loss`` (``loss.backward(
retain_graph=retain_graph)``, ``clip_grad_norm_`` only when ``max_grad_norm`` is given, the
gradient-norm sum ``p.grad.data.norm(2).pow(2).item()``); Adam with ``weight_decay``; the
evaluation-mode mixture ``dists.mean`` (low noise) and ``dist.base_dist.component_distribution
.base_dist.scale``.

Changed: the observation encoder (``ObservationEncoder`` over a dict) is one flat vector into a
two-layer MLP; 1024 units -> 8, 5 modes -> 3, 7-dimensional actions -> 2, batch 100 -> 6 of
NumPy data; both ``use_tanh`` settings and both scale activations run (alternating steps), 6
steps; no ``sample()`` (a random stream). ``TanhWrapper`` defines no ``arg_constraints``, so
building it warns when validation is on (PyTorch's UserWarning): it is built under
``warnings.catch_warnings(record=True)`` and the number of such warnings is returned.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

OBS, HID, MODES, AC, BATCH = 5, 8, 3, 2, 6


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class GMMActorNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.num_modes, self.ac_dim = MODES, AC
            self.mlp = nn.Sequential(nn.Linear(OBS, HID), nn.ReLU(), nn.Linear(HID, HID), nn.ReLU())
            self.decoder = nn.ModuleDict(
                {
                    "mean": nn.Linear(HID, MODES * AC),
                    "scale": nn.Linear(HID, MODES * AC),
                    "logits": nn.Linear(HID, MODES),
                }
            )

        def _get_output_shapes(self):
            return {"mean": (self.num_modes, self.ac_dim), "scale": (self.num_modes, self.ac_dim),
                    "logits": (self.num_modes,)}  # fmt: skip

        def forward_mimo(self, obs):
            feats = self.mlp(obs)
            shapes = self._get_output_shapes()
            return {k: self.decoder[k](feats).reshape(-1, *shapes[k]) for k in shapes}

    return GMMActorNetwork()


def run(torch_like: Any, init: dict) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F, D = nn.functional, torch.distributions

    class TanhWrapper(D.Distribution):
        def __init__(self, base_dist, scale=1.0, epsilon=1e-6):
            self.base_dist = base_dist
            self.scale = scale
            self.tanh_epsilon = epsilon
            super(TanhWrapper, self).__init__()  # noqa: UP008

        def log_prob(self, value, pre_tanh_value=None):
            value = value / self.scale
            if pre_tanh_value is None:
                one_plus_x = (1.0 + value).clamp(min=self.tanh_epsilon)
                one_minus_x = (1.0 - value).clamp(min=self.tanh_epsilon)
                pre_tanh_value = 0.5 * torch.log(one_plus_x / one_minus_x)
            lp = self.base_dist.log_prob(pre_tanh_value)
            tanh_lp = torch.log(1 - value * value + self.tanh_epsilon)
            # In case the base dist already sums up the log probs, make sure we do the same
            return lp - tanh_lp if len(lp.shape) == len(tanh_lp.shape) else lp - tanh_lp.sum(-1)

        @property
        def mean(self):
            return torch.tanh(self.base_dist.mean) * self.scale

    activations = {"softplus": F.softplus, "exp": torch.exp}
    warned: list[int] = []  # arg_constraints warnings per TanhWrapper built (see Changed)
    net = make_model(torch_like)
    load_numpy_state(torch_like, net, init)
    min_std, low_noise_eval = 0.01, True

    def forward_train(obs, use_tanh, std_activation):
        out = net.forward_mimo(obs)
        means = out["mean"]
        scales = out["scale"]
        logits = out["logits"]
        # apply tanh squashing to means if not using tanh-GMM to ensure means are in [-1, 1]
        if not use_tanh:
            means = torch.tanh(means)
        # Calculate scale
        if low_noise_eval and (not net.training):
            # low-noise for all Gaussian dists
            scales = torch.ones_like(means) * 1e-4
        else:
            # post-process the scale accordingly
            scales = activations[std_activation](scales) + min_std
        # mixture components - make sure that `batch_shape` for the distribution is equal
        # to (batch_size, num_modes) since MixtureSameFamily expects this shape
        component_distribution = D.Normal(loc=means, scale=scales)
        component_distribution = D.Independent(component_distribution, 1)
        # unnormalized logits to categorical distribution for mixing the modes
        mixture_distribution = D.Categorical(logits=logits)
        dist = D.MixtureSameFamily(
            mixture_distribution=mixture_distribution,
            component_distribution=component_distribution,
        )
        if use_tanh:
            # Wrap distribution with Tanh
            with warnings.catch_warnings(record=True) as caught:  # see Changed
                warnings.simplefilter("always")
                dist = TanhWrapper(dist)
            warned.append(sum("`arg_constraints`" in str(w.message) for w in caught))
        return dist

    def backprop_for_loss(net, optim, loss, max_grad_norm=None, retain_graph=False):
        optim.zero_grad()
        loss.backward(retain_graph=retain_graph)
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), max_grad_norm)
        grad_norms = 0.0
        for p in net.parameters():
            # only clip gradients for parameters for which requires_grad is True
            if p.grad is not None:
                grad_norms += p.grad.data.norm(2).pow(2).item()
        optim.step()
        return grad_norms

    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
    rng = np.random.default_rng(41)
    out: list[float] = []
    for step in range(6):
        obs = as_tensor(torch, rng.normal(size=(BATCH, OBS)))
        actions = as_tensor(torch, np.tanh(rng.normal(size=(BATCH, AC))) * 0.95)
        use_tanh = step % 2 == 0
        std_activation = "softplus" if step % 3 != 2 else "exp"
        net.train()
        dists = forward_train(obs, use_tanh, std_activation)
        if not use_tanh:
            # make sure that this is a batch of multivariate action distributions, so that
            # the log probability computation will be correct
            assert len(dists.batch_shape) == 1
        log_probs = dists.log_prob(actions)
        action_loss = -log_probs.mean()
        grad_norms = backprop_for_loss(net, optimizer, action_loss,
                                       max_grad_norm=1.0 if step >= 3 else None)  # fmt: skip
        out += [action_loss.item(), grad_norms]
        net.eval()
        with torch.no_grad():
            eval_dist = forward_train(obs, use_tanh, std_activation)
            out.append(eval_dist.mean.sum().item())
            if use_tanh:
                base = eval_dist.base_dist
                out.append(base.component_distribution.base_dist.scale.sum().item())
                out.append(eval_dist.log_prob(actions.clamp(-0.5, 0.5)).mean().item() * 1e-6)
    return out + warned
