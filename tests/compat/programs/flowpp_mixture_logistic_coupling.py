"""Flow++'s mixture-of-logistics CDF coupling (Ho et al. 2019), chrischute/flowplusplus
(``models/flowplusplus/coupling.py``: ``MixLogCDFCoupling``, ``NN``, ``Rescale``;
``models/flowplusplus/inv_sigmoid.py``: ``inverse``; ``util/nn_util.py``: ``safe_log``,
``mixture_log_pdf``, ``mixture_log_cdf``, ``mixture_inv_cdf``, ``WNConv2d``; ``util/
optim_util.py``: ``NLLLoss``, ``bits_per_dim``, ``clip_grad_norm``; ``train.py``),
size-reduced.

The idioms kept: the logistic log density ``z - log_scale - 2 * F.softplus(z)`` and log CDF
``F.logsigmoid(z)`` with ``z = (x - mean) * torch.exp(-log_scale)``, mixed by
``F.log_softmax(prior_logits, dim=1) + ...(x.unsqueeze(1), ...)`` and ``torch.logsumexp(...,
dim=1)``; the bisection inverse ``mixture_inv_cdf`` (the ``y.min() <= 0 or y.max() >= 1``
guard, ``gt = (cur_y > y).type(y.dtype)``, bounds from ``(means - 20 * max_scales).min(dim=1)``,
``diff = (new_x - x).abs().max()`` compared with ``eps`` in a ``while`` loop); the inverse
sigmoid ``-safe_log(x.reciprocal() - 1.)`` with its log-Jacobian and the ``reverse`` branch
(``torch.sigmoid``, ``-F.softplus(x) - F.softplus(-x)``), ``safe_log = torch.log(x.clamp(
min=1e-22))``; the coupling's ``out = (out + b) * a.exp()`` / ``x_change * a.mul(-1).exp() - b``
and ``out.clamp(1e-5, 1. - 1e-5)``, log-determinants by ``.flatten(1).sum(-1)``; the network's
output ``x.view(b, -1, 2 + 3 * self.k, h, w)`` ... ``x.split((1, 1, self.k, self.k, self.k),
dim=2)``, ``self.rescale(torch.tanh(s))`` with ``Rescale`` wrapped in
``nn.utils.weight_norm`` (the deprecated hook API, a ``FutureWarning``), ``scales.clamp(min=-7)``,
``WNConv2d`` as ``nn.utils.weight_norm(nn.Conv2d(...))``; the channel split
``x.chunk(2, dim=1)``; ``NLLLoss`` (``prior_ll.flatten(1).sum(-1) - np.log(self.k) *
np.prod(z.size()[1:])``, ``-ll.mean()``), ``bits_per_dim``, per-group
``utils.clip_grad_norm_(group['params'], max_norm, norm_type)``, and the warm-up
``sched.LambdaLR(optimizer, lambda s: min(1., s / warm_up))`` stepped each batch.

Changed: CIFAR-10 -> random 4-channel 4x4 images (logit-space dequantised values from NumPy);
the gated-attention ``NN`` (``GatedConv``, ``NNBlock`` with multi-head self-attention) -> two
weight-normalised 3x3 convolutions with ``F.relu``; 32 mixture components -> 3, one coupling
kept (with the channel swap of the flow's next step); 100 epochs -> 6 batches; the reverse pass
(sampling) is run on the training batch to check the bisection inverse.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

IN_CH, MID, K = 2, 6, 3


def _coupling(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def safe_log(x):  # noqa: ANN001, ANN202
        return torch.log(x.clamp(min=1e-22))

    def _log_pdf(x, mean, log_scale):  # noqa: ANN001, ANN202
        """Element-wise log density of the logistic distribution."""
        z = (x - mean) * torch.exp(-log_scale)
        log_p = z - log_scale - 2 * F.softplus(z)

        return log_p

    def _log_cdf(x, mean, log_scale):  # noqa: ANN001, ANN202
        """Element-wise log CDF of the logistic distribution."""
        z = (x - mean) * torch.exp(-log_scale)
        log_p = F.logsigmoid(z)

        return log_p

    def mixture_log_pdf(x, prior_logits, means, log_scales):  # noqa: ANN001, ANN202
        """Log PDF of a mixture of logistic distributions."""
        log_ps = F.log_softmax(prior_logits, dim=1) + _log_pdf(x.unsqueeze(1), means, log_scales)
        log_p = torch.logsumexp(log_ps, dim=1)

        return log_p

    def mixture_log_cdf(x, prior_logits, means, log_scales):  # noqa: ANN001, ANN202
        """Log CDF of a mixture of logistic distributions."""
        log_ps = F.log_softmax(prior_logits, dim=1) + _log_cdf(x.unsqueeze(1), means, log_scales)
        log_p = torch.logsumexp(log_ps, dim=1)

        return log_p

    def mixture_inv_cdf(y, prior_logits, means, log_scales, eps=1e-10, max_iters=100):  # noqa: ANN001, ANN202
        """Inverse CDF of a mixture of logisitics. Iterative algorithm."""
        if y.min() <= 0 or y.max() >= 1:
            raise RuntimeError("Inverse logisitic CDF got y outside (0, 1)")

        def body(x_, lb_, ub_):  # noqa: ANN001, ANN202
            cur_y = torch.exp(mixture_log_cdf(x_, prior_logits, means, log_scales))
            gt = (cur_y > y).type(y.dtype)
            lt = 1 - gt
            new_x_ = gt * (x_ + lb_) / 2.0 + lt * (x_ + ub_) / 2.0
            new_lb = gt * lb_ + lt * x_
            new_ub = gt * x_ + lt * ub_
            return new_x_, new_lb, new_ub

        x = torch.zeros_like(y)
        max_scales = torch.sum(torch.exp(log_scales), dim=1, keepdim=True)
        lb, _ = (means - 20 * max_scales).min(dim=1)
        ub, _ = (means + 20 * max_scales).max(dim=1)
        diff = float("inf")

        i = 0
        while diff > eps and i < max_iters:
            new_x, lb, ub = body(x, lb, ub)
            diff = (new_x - x).abs().max()
            x = new_x
            i += 1

        return x

    def inverse(x, reverse=False):  # noqa: ANN001, ANN202
        """Inverse logistic function."""
        if reverse:
            z = torch.sigmoid(x)
            ldj = -F.softplus(x) - F.softplus(-x)
        else:
            z = -safe_log(x.reciprocal() - 1.0)
            ldj = -safe_log(x) - safe_log(1.0 - x)

        return z, ldj

    class WNConv2d(nn.Module):
        """Weight-normalized 2d convolution."""

        def __init__(self, in_channels, out_channels, kernel_size, padding, bias=True):  # noqa: ANN001
            super(WNConv2d, self).__init__()  # noqa: UP008
            self.conv = nn.utils.weight_norm(
                nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=bias)
            )

        def forward(self, x):  # noqa: ANN001, ANN201
            x = self.conv(x)
            return x

    class Rescale(nn.Module):
        """Per-channel rescaling. Need a proper `nn.Module` so we can wrap it
        with `torch.nn.utils.weight_norm`."""

        def __init__(self, num_channels):  # noqa: ANN001
            super(Rescale, self).__init__()  # noqa: UP008
            self.weight = nn.Parameter(torch.ones(num_channels, 1, 1))

        def forward(self, x):  # noqa: ANN001, ANN201
            x = self.weight * x
            return x

    class NN(nn.Module):
        """Neural network used to parametrize the transformations of an MLCoupling."""

        def __init__(self, in_channels, out_channels, num_components):  # noqa: ANN001
            super(NN, self).__init__()  # noqa: UP008
            self.k = num_components  # k = number of mixture components
            self.in_conv = WNConv2d(in_channels, MID, kernel_size=3, padding=1)
            self.out_conv = WNConv2d(MID, out_channels * (2 + 3 * self.k), kernel_size=3, padding=1)
            self.rescale = nn.utils.weight_norm(Rescale(out_channels))

        def forward(self, x, aux=None):  # noqa: ANN001, ANN201
            b, c, h, w = x.size()
            x = F.relu(self.in_conv(x))
            x = self.out_conv(x)

            # Split into components and post-process
            x = x.view(b, -1, 2 + 3 * self.k, h, w)
            s, t, pi, mu, scales = x.split((1, 1, self.k, self.k, self.k), dim=2)
            s = self.rescale(torch.tanh(s.squeeze(2)))
            t = t.squeeze(2)
            scales = scales.clamp(min=-7)  # From the code in original Flow++ paper

            return s, t, pi.transpose(1, 2), mu.transpose(1, 2), scales.transpose(1, 2)

    class MixLogCDFCoupling(nn.Module):
        """Mixture-of-Logistics Coupling layer in Flow++"""

        def __init__(self, in_channels, num_components):  # noqa: ANN001
            super(MixLogCDFCoupling, self).__init__()  # noqa: UP008
            self.nn = NN(in_channels, in_channels, num_components)

        def forward(self, x, sldj=None, reverse=False, aux=None):  # noqa: ANN001, ANN201
            x_change, x_id = x
            a, b, pi, mu, s = self.nn(x_id, aux)

            if reverse:
                out = x_change * a.mul(-1).exp() - b
                out, scale_ldj = inverse(out, reverse=True)
                out = out.clamp(1e-5, 1.0 - 1e-5)
                out = mixture_inv_cdf(out, pi, mu, s)
                logistic_ldj = mixture_log_pdf(out, pi, mu, s)
                sldj = sldj - (
                    a.flatten(1).sum(-1)
                    + scale_ldj.flatten(1).sum(-1)
                    + logistic_ldj.flatten(1).sum(-1)
                )
            else:
                out = mixture_log_cdf(x_change, pi, mu, s).exp()
                out, scale_ldj = inverse(out)
                out = (out + b) * a.exp()
                logistic_ldj = mixture_log_pdf(x_change, pi, mu, s)
                sldj = (
                    sldj
                    + logistic_ldj.flatten(1).sum(-1)
                    + scale_ldj.flatten(1).sum(-1)
                    + a.flatten(1).sum(-1)
                )

            x = (out, x_id)

            return x, sldj

    return MixLogCDFCoupling


def make_model(torch_like: Any) -> Any:
    Coupling = _coupling(torch_like)
    with warnings.catch_warnings():  # torch.nn.utils.weight_norm is deprecated
        warnings.simplefilter("ignore", FutureWarning)
        return torch_like.nn.ModuleList([Coupling(IN_CH, K), Coupling(IN_CH, K)])


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    sched, utils = torch_like.optim.lr_scheduler, torch_like.nn.utils

    class NLLLoss(torch.nn.Module):
        """Negative log-likelihood loss assuming isotropic gaussian with unit norm."""

        def __init__(self, k=256):  # noqa: ANN001
            super(NLLLoss, self).__init__()  # noqa: UP008
            self.k = k

        def forward(self, z, sldj):  # noqa: ANN001, ANN201
            prior_ll = -0.5 * (z**2 + np.log(2 * np.pi))
            prior_ll = prior_ll.flatten(1).sum(-1) - np.log(self.k) * np.prod(z.size()[1:])
            ll = prior_ll + sldj
            nll = -ll.mean()

            return nll

    def bits_per_dim(x, nll):  # noqa: ANN001, ANN202
        dim = np.prod(x.size()[1:])
        bpd = nll / (np.log(2) * dim)

        return bpd

    def clip_grad_norm(optimizer, max_norm, norm_type=2):  # noqa: ANN001, ANN202
        for group in optimizer.param_groups:
            utils.clip_grad_norm_(group["params"], max_norm, norm_type)

    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    def flow(x, sldj, reverse=False):  # noqa: ANN001, ANN202
        x_a, x_b = x.chunk(2, dim=1)
        if not reverse:
            (x_a, x_b), sldj = model[0]((x_a, x_b), sldj)
            (x_b, x_a), sldj = model[1]((x_b, x_a), sldj)
        else:
            (x_b, x_a), sldj = model[1]((x_b, x_a), sldj, reverse=True)
            (x_a, x_b), sldj = model[0]((x_a, x_b), sldj, reverse=True)
        return torch.cat((x_a, x_b), dim=1), sldj

    rng = np.random.default_rng(8)
    images = rng.normal(size=(24, 2 * IN_CH, 4, 4)) * 0.7
    images += np.linspace(-1, 1, 4)[None, :, None, None]
    loss_fn = NLLLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    warm_up = 3
    scheduler = sched.LambdaLR(optimizer, lambda s: min(1.0, s / warm_up))
    values: list[float] = []
    model.train()
    for step in range(6):
        x = torch.tensor(images[(step % 3) * 8 : (step % 3) * 8 + 8])
        optimizer.zero_grad()
        sldj = torch.zeros(x.size(0))
        z, sldj = flow(x, sldj)
        loss = loss_fn(z, sldj)
        loss.backward()
        clip_grad_norm(optimizer, 1.0)
        optimizer.step()
        scheduler.step()
        values += [loss.item(), bits_per_dim(x, loss.item()), optimizer.param_groups[0]["lr"]]

    # the bisection inverse recovers the input (sampling runs the flow backwards)
    model.eval()
    with torch.no_grad():
        x = torch.tensor(images[:4])
        z, sldj = flow(x, torch.zeros(4))
        x_rec, sldj_back = flow(z, sldj, reverse=True)
    values += [(x_rec - x).abs().max().item(), sldj_back.sum().item(), z.sum().item()]
    values.append(model[0].nn.rescale.weight_g.sum().item())
    return values


def check(values: list[float]) -> None:
    assert values[-4] < 1e-4
