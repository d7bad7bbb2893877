"""MADE and MAF as karpathy/pytorch-made (``made.py``, ``run.py``) and
karpathy/pytorch-normalizing-flows (``nflib/made.py``, ``nflib/flows.py``) write them,
size-reduced.

The idioms: ``MaskedLinear(nn.Linear)`` with ``self.register_buffer('mask', torch.ones(
out_features, in_features))``, ``set_mask`` as ``self.mask.data.copy_(torch.from_numpy(
mask.astype(np.uint8).T))`` (a uint8 array copied into the float buffer) and the forward
``F.linear(input, self.mask * self.weight, self.bias)``; ``MADE`` building ``self.net`` as a
list (``extend([MaskedLinear(h0, h1), nn.ReLU()])``, ``pop()``, ``nn.Sequential(*self.net)``)
and ``update_masks`` from ``np.random.RandomState(self.seed)`` connectivity (``self.m[l-1][:,
None] <= self.m[l][None,:]``, the output's strict ``<``, ``np.concatenate([masks[-1]]*k,
axis=1)`` for ``nout = k * nin``), the layers found with ``[l for l in self.net.modules() if
isinstance(l, MaskedLinear)]``; order-agnostic training with ``num_masks > 1`` (``
model.update_masks()`` each step) and ``F.binary_cross_entropy_with_logits(xbhat, xb,
size_average=False) / B`` (the deprecated argument and its warning); the MAF layer (``ARMLP``
= MADE with ``natural_ordering=True``, ``s, t = st.split(self.dim, dim=1)``, ``z = x *
torch.exp(s) + t``, ``z.flip(dims=(1,)) if self.parity else z``, ``log_det = torch.sum(s,
dim=1)``) and its sequential inverse (``x = torch.zeros_like(z)``, ``st = self.net(
x.clone())``, ``x[:, i] = (z[:, i] - t[:, i]) * torch.exp(-s[:, i])``, ``log_det += -s[:,
i]``); ``NormalizingFlow`` (``nn.ModuleList(flows)``, ``m, _ = x.shape``, ``log_det =
torch.zeros(m)``, ``log_det += ld``) and ``NormalizingFlowModel`` with a
``torch.distributions.Normal(torch.zeros(D), torch.ones(D))`` prior, ``self.prior.log_prob(
zs[-1]).view(x.size(0), -1).sum(1)``; the training step ``logprob = prior_logprob + log_det;
loss = -torch.sum(logprob)`` with ``optim.Adam(model.parameters(), lr=1e-4,
weight_decay=1e-5)``; and the autoregressive property checked the way ``made.py``'s
``__main__`` does (the gradient of one output w.r.t. the input, ``res.append(
(depends_ix, isok))``).

Changed: hidden sizes and data (a NumPy two-dimensional "crescent" and binarised vectors, not
MNIST / sklearn moons); lr 1e-4 -> 1e-2; ``prior.sample`` replaced by a NumPy standard-normal
draw pushed through the inverse (the generators differ).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["make_model", "run"]

D, NH, N_FLOWS, BATCH, STEPS = 3, 12, 3, 16, 5
BIN_D, BIN_HIDDEN, NUM_MASKS = 5, [10, 10], 2


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class MaskedLinear(nn.Linear):
        """same as Linear except has a configurable mask on the weights"""

        def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
            super().__init__(in_features, out_features, bias)
            self.register_buffer("mask", torch.ones(out_features, in_features))

        def set_mask(self, mask: np.ndarray) -> None:
            self.mask.data.copy_(torch.from_numpy(mask.astype(np.uint8).T))

        def forward(self, input: Any) -> Any:
            return F.linear(input, self.mask * self.weight, self.bias)

    class MADE(nn.Module):
        def __init__(
            self,
            nin: int,
            hidden_sizes: list[int],
            nout: int,
            num_masks: int = 1,
            natural_ordering: bool = False,
        ) -> None:
            super().__init__()
            self.nin = nin
            self.nout = nout
            self.hidden_sizes = hidden_sizes
            assert self.nout % self.nin == 0, "nout must be integer multiple of nin"

            self.net = []
            hs = [nin] + hidden_sizes + [nout]
            for h0, h1 in zip(hs, hs[1:]):
                self.net.extend([MaskedLinear(h0, h1), nn.ReLU()])
            self.net.pop()  # pop the last ReLU for the output layer
            self.net = nn.Sequential(*self.net)

            self.natural_ordering = natural_ordering
            self.num_masks = num_masks
            self.seed = 0  # for cycling through num_masks orderings

            self.m = {}
            self.update_masks()  # builds the initial self.m connectivity

        def update_masks(self) -> None:
            if self.m and self.num_masks == 1:
                return  # only a single seed, skip for efficiency
            L = len(self.hidden_sizes)

            rng = np.random.RandomState(self.seed)
            self.seed = (self.seed + 1) % self.num_masks

            self.m[-1] = np.arange(self.nin) if self.natural_ordering else rng.permutation(self.nin)
            for l in range(L):  # noqa: E741 (as in made.py)
                self.m[l] = rng.randint(
                    self.m[l - 1].min(), self.nin - 1, size=self.hidden_sizes[l]
                )

            masks = [self.m[l - 1][:, None] <= self.m[l][None, :] for l in range(L)]
            masks.append(self.m[L - 1][:, None] < self.m[-1][None, :])

            if self.nout > self.nin:
                k = int(self.nout / self.nin)
                masks[-1] = np.concatenate([masks[-1]] * k, axis=1)

            layers = [l for l in self.net.modules() if isinstance(l, MaskedLinear)]  # noqa: E741
            for l, m in zip(layers, masks):  # noqa: E741
                l.set_mask(m)

        def forward(self, x: Any) -> Any:
            return self.net(x)

    class ARMLP(nn.Module):
        """a 4-layer auto-regressive MLP, wrapper around MADE net"""

        def __init__(self, nin: int, nout: int, nh: int) -> None:
            super().__init__()
            self.net = MADE(nin, [nh, nh, nh], nout, num_masks=1, natural_ordering=True)

        def forward(self, x: Any) -> Any:
            return self.net(x)

    class MAF(nn.Module):
        """Masked Autoregressive Flow that uses a MADE-style network for fast forward"""

        def __init__(self, dim: int, parity: bool, net_class: Any = ARMLP, nh: int = 24) -> None:
            super().__init__()
            self.dim = dim
            self.net = net_class(dim, dim * 2, nh)
            self.parity = parity

        def forward(self, x: Any) -> Any:
            # here we see that we are evaluating all of z in parallel, so density estimation is fast
            st = self.net(x)
            s, t = st.split(self.dim, dim=1)
            z = x * torch.exp(s) + t
            # reverse order, so if we stack MAFs correct things happen
            z = z.flip(dims=(1,)) if self.parity else z
            log_det = torch.sum(s, dim=1)
            return z, log_det

        def backward(self, z: Any) -> Any:
            # we have to decode the x one at a time, sequentially
            x = torch.zeros_like(z)
            log_det = torch.zeros(z.size(0))
            z = z.flip(dims=(1,)) if self.parity else z
            for i in range(self.dim):
                st = self.net(x.clone())  # clone to avoid in-place op errors if using IAF
                s, t = st.split(self.dim, dim=1)
                x[:, i] = (z[:, i] - t[:, i]) * torch.exp(-s[:, i])
                log_det += -s[:, i]
            return x, log_det

    class NormalizingFlow(nn.Module):
        """A sequence of Normalizing Flows is a Normalizing Flow"""

        def __init__(self, flows: list) -> None:
            super().__init__()
            self.flows = nn.ModuleList(flows)

        def forward(self, x: Any) -> Any:
            m, _ = x.shape
            log_det = torch.zeros(m)
            zs = [x]
            for flow in self.flows:
                x, ld = flow.forward(x)
                log_det += ld
                zs.append(x)
            return zs, log_det

        def backward(self, z: Any) -> Any:
            m, _ = z.shape
            log_det = torch.zeros(m)
            xs = [z]
            for flow in self.flows[::-1]:
                z, ld = flow.backward(z)
                log_det += ld
                xs.append(z)
            return xs, log_det

    class NormalizingFlowModel(nn.Module):
        """A Normalizing Flow Model is a (prior, flow) pair"""

        def __init__(self, prior: Any, flows: list) -> None:
            super().__init__()
            self.prior = prior
            self.flow = NormalizingFlow(flows)

        def forward(self, x: Any) -> Any:
            zs, log_det = self.flow.forward(x)
            prior_logprob = self.prior.log_prob(zs[-1]).view(x.size(0), -1).sum(1)
            return zs, prior_logprob, log_det

        def backward(self, z: Any) -> Any:
            xs, log_det = self.flow.backward(z)
            return xs, log_det

    return MADE, MAF, NormalizingFlowModel


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    MADE, MAF, NormalizingFlowModel = _classes(torch_like)

    class Both(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            prior = torch.distributions.Normal(torch.zeros(D), torch.ones(D))
            flows = [MAF(dim=D, parity=i % 2, nh=NH) for i in range(N_FLOWS)]
            self.flow = NormalizingFlowModel(prior, flows)
            self.made = MADE(BIN_D, BIN_HIDDEN, BIN_D, num_masks=NUM_MASKS)

    return Both()


def crescent(rng: np.random.Generator, n: int) -> np.ndarray:
    theta = rng.uniform(0.0, np.pi, n)
    x = np.stack([np.cos(theta), np.sin(theta), 0.5 * np.cos(2 * theta)], axis=1)
    return x + 0.1 * rng.standard_normal((n, D))


def autoregressive_check(torch_like: Any, made: Any) -> list[float]:
    """made.py's ``__main__``: output k depends only on inputs earlier in the ordering."""
    torch = torch_like
    rng = np.random.RandomState(14)
    x = (rng.rand(1, BIN_D) > 0.5).astype(np.float64)
    res = []
    for k in range(BIN_D):
        xtr = torch.from_numpy(x).requires_grad_(True)
        xtrhat = made(xtr)
        loss = xtrhat[0, k]
        loss.backward()
        depends = xtr.grad[0].numpy() != 0
        depends_ix = list(np.where(depends)[0])
        isok = k % BIN_D not in depends_ix
        res.append((len(depends_ix), isok))
    return [float(n) for n, _ in res] + [float(all(ok for _, ok in res))]


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    flow_model, made = model.flow, model.made
    rng = np.random.default_rng(3)
    values: list[float] = []
    values += made.net[0].mask.flatten().tolist() + [float(made.net[0].mask.dtype == torch.float64)]
    values += [float(len(list(model.buffers()))), float(len(list(model.parameters())))]

    optimizer = torch.optim.Adam(flow_model.parameters(), lr=1e-2, weight_decay=1e-5)
    flow_model.train()
    for _k in range(STEPS):
        x = as_tensor(torch_like, crescent(rng, BATCH))
        zs, prior_logprob, log_det = flow_model(x)
        logprob = prior_logprob + log_det
        loss = -torch.sum(logprob)  # NLL

        flow_model.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), log_det.mean().item(), float(len(zs))]

    flow_model.eval()
    x = as_tensor(torch_like, crescent(rng, 6))
    zs, prior_logprob, log_det = flow_model(x)
    xs, inv_log_det = flow_model.backward(zs[-1].detach())
    values += [(xs[-1] - x).abs().max().item(), (inv_log_det + log_det).abs().max().item()]
    z = as_tensor(torch_like, rng.standard_normal((4, D)))
    xs, _ = flow_model.backward(z)
    values += xs[-1].detach().flatten().tolist()

    # order-agnostic MADE training on binary vectors (run.py)
    opt = torch.optim.Adam(made.parameters(), lr=1e-2, weight_decay=1e-4)
    B = 8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _step in range(4):
            xb = as_tensor(torch_like, (rng.random((B, BIN_D)) > 0.4).astype(np.float64))
            made.update_masks()
            xbhat = made(xb)
            loss = F.binary_cross_entropy_with_logits(xbhat, xb, size_average=False) / B
            opt.zero_grad()
            loss.backward()
            opt.step()
            values += [loss.item(), float(made.seed)]
    messages = {str(w.message) for w in caught}
    values += [float(len(messages)), float(any("reduction='sum'" in m for m in messages))]
    made.update_masks()
    values += autoregressive_check(torch_like, made)
    return values
