"""htdt/self-supervised (``methods/whitening.py``, ``methods/w_mse.py``, ``methods/base.py``,
``methods/norm_mse.py``), W-MSE: self-supervised embeddings whitened by a Cholesky factor of
each sub-batch's covariance, size-reduced.

Kept verbatim: ``Whitening2d`` (buffers ``torch.zeros([1, self.num_features, 1, 1])`` and
``torch.eye(self.num_features)``, ``x.unsqueeze(2).unsqueeze(3)``, ``x.mean(0).view(
self.num_features, -1).mean(-1).view(1, -1, 1, 1)``, ``xn.permute(1, 0, 2, 3).contiguous().view(
self.num_features, -1)``, ``torch.mm(T, T.permute(1, 0)) / (T.shape[-1] - 1)``,
``torch.eye(...).type(f_cov.type())``, the shrinkage ``(1 - self.eps) * f_cov + self.eps *
eye``, ``torch.triangular_solve(eye, torch.cholesky(f_cov_shrinked), upper=False)[0]`` (both
deprecated: their warnings, once per process in torch, filtered), ``conv2d(xn, inv_sqrt)`` with
a 1x1 kernel, the running statistics through ``torch.add(..., out=self.running_mean)``,
``.squeeze(2).squeeze(2)``); ``WMSE.forward`` (``torch.cat(h)`` of the views through the head,
``torch.empty_like(h)`` filled by ``z[idx + i * bs] = self.whitening(h[idx + i * bs])`` for
``idx`` in ``torch.randperm(bs).view(-1, self.w_size)``, the pairs ``z[i * bs : (i + 1) * bs]``,
``loss /= self.w_iter * self.num_pairs``); ``norm_mse_loss`` (``2 - 2 * (x0 * x1).sum(dim=-1)
.mean()`` of ``F.normalize``d views); the head ``nn.Sequential(nn.Linear, nn.BatchNorm1d,
nn.ReLU, nn.Linear)``; ``optim.Adam(..., weight_decay=cfg.adam_l2)``.

Changed: the ResNet-18 backbone -> a two-layer MLP; CIFAR-10 augmented views -> two noisy
copies of seeded NumPy vectors; emb 64 -> 3, bs 256 -> 12, w_size 128 -> 6 (two whitening
sub-batches), w_iter 1 -> 2, 200 epochs -> 5 steps; an extra ``Whitening2d`` with running
statistics updated on the embeddings, then read in ``eval()``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "make_model", "run"]

IN, HID, EMB, BS, W_SIZE, W_ITER, STEPS = 6, 12, 3, 12, 6, 2, 5


def _whitening(torch: Any) -> type:
    nn = torch.nn
    conv2d = torch.nn.functional.conv2d

    class Whitening2d(nn.Module):
        def __init__(self, num_features, momentum=0.01, track_running_stats=True, eps=0):  # noqa: ANN001, ANN204
            super(Whitening2d, self).__init__()  # noqa: UP008
            self.num_features = num_features
            self.momentum = momentum
            self.track_running_stats = track_running_stats
            self.eps = eps

            if self.track_running_stats:
                self.register_buffer("running_mean", torch.zeros([1, self.num_features, 1, 1]))
                self.register_buffer("running_variance", torch.eye(self.num_features))

        def forward(self, x):  # noqa: ANN001, ANN201
            x = x.unsqueeze(2).unsqueeze(3)
            m = x.mean(0).view(self.num_features, -1).mean(-1).view(1, -1, 1, 1)
            if not self.training and self.track_running_stats:  # for inference
                m = self.running_mean
            xn = x - m

            T = xn.permute(1, 0, 2, 3).contiguous().view(self.num_features, -1)
            f_cov = torch.mm(T, T.permute(1, 0)) / (T.shape[-1] - 1)

            eye = torch.eye(self.num_features).type(f_cov.type())

            if not self.training and self.track_running_stats:  # for inference
                f_cov = self.running_variance

            f_cov_shrinked = (1 - self.eps) * f_cov + self.eps * eye

            inv_sqrt = torch.triangular_solve(eye, torch.cholesky(f_cov_shrinked), upper=False)[0]
            inv_sqrt = inv_sqrt.contiguous().view(self.num_features, self.num_features, 1, 1)

            decorrelated = conv2d(xn, inv_sqrt)

            if self.training and self.track_running_stats:
                self.running_mean = torch.add(
                    self.momentum * m.detach(),
                    (1 - self.momentum) * self.running_mean,
                    out=self.running_mean,
                )
                self.running_variance = torch.add(
                    self.momentum * f_cov.detach(),
                    (1 - self.momentum) * self.running_variance,
                    out=self.running_variance,
                )

            return decorrelated.squeeze(2).squeeze(2)

    return Whitening2d


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch.nn.functional
    Whitening2d = _whitening(torch)

    def norm_mse_loss(x0, x1):  # noqa: ANN001, ANN202
        x0 = F.normalize(x0)
        x1 = F.normalize(x1)
        return 2 - 2 * (x0 * x1).sum(dim=-1).mean()

    class WMSE(nn.Module):
        """implements W-MSE loss"""

        def __init__(self, emb=EMB, w_eps=0.0, w_iter=W_ITER, w_size=W_SIZE):  # noqa: ANN001, ANN204
            super().__init__()
            self.model = nn.Sequential(nn.Linear(IN, HID), nn.ReLU())  # get_model(cfg.arch, ...)
            self.out_size = HID
            self.head = nn.Sequential(
                nn.Linear(self.out_size, HID),
                nn.BatchNorm1d(HID),
                nn.ReLU(),
                nn.Linear(HID, emb),
            )
            self.num_pairs = 1  # cfg.num_samples * (cfg.num_samples - 1) // 2
            self.whitening = Whitening2d(emb, eps=w_eps, track_running_stats=False)
            self.loss_f = norm_mse_loss
            self.w_iter = w_iter
            self.w_size = w_size

        def forward(self, samples):  # noqa: ANN001, ANN201
            bs = len(samples[0])
            h = [self.model(x) for x in samples]
            h = self.head(torch.cat(h))
            loss = 0
            for _ in range(self.w_iter):
                z = torch.empty_like(h)
                perm = torch.randperm(bs).view(-1, self.w_size)
                for idx in perm:
                    for i in range(len(samples)):
                        z[idx + i * bs] = self.whitening(h[idx + i * bs])
                for i in range(len(samples) - 1):
                    for j in range(i + 1, len(samples)):
                        x0 = z[i * bs : (i + 1) * bs]
                        x1 = z[j * bs : (j + 1) * bs]
                        loss += self.loss_f(x0, x1)
            loss /= self.w_iter * self.num_pairs
            return loss

    return WMSE()


def init_state(tmp_path: Any) -> dict:
    import torch  # the starting weights, as the harness makes them

    torch.manual_seed(0)
    rng = np.random.default_rng(5)
    return {
        "model": {k: v.detach().numpy().copy() for k, v in make_model(torch).state_dict().items()},
        "data": rng.standard_normal((STEPS, BS, IN)),
        "noise": 0.1 * rng.standard_normal((STEPS, 2, BS, IN)),
    }


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    torch.manual_seed(0)
    model = make_model(torch)
    load_numpy_state(torch, model, init["model"])
    tracked = _whitening(torch)(EMB, momentum=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-6)
    values: list[float] = []
    with warnings.catch_warnings():  # the script shows them (once per process) and goes on
        warnings.filterwarnings("ignore", ".*is deprecated", UserWarning)
        for step in range(STEPS):
            x = torch.tensor(init["data"][step])
            samples = [x + torch.tensor(init["noise"][step, v]) for v in range(2)]
            model.train()
            loss = model(samples)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                emb = model.head(model.model(x))
                tracked(emb)
            values.append(loss.item())
        tracked.eval()
        with torch.no_grad():
            white = tracked(model.head(model.model(torch.tensor(init["data"][0]))))
    values += [white.sum().item(), tracked.running_variance.trace().item()]
    return values
