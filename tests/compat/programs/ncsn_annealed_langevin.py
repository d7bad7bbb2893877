"""ermongroup/ncsn (``losses/dsm.py``, ``runners/anneal_runner.py``,
``models/cond_refinenet_dilated.py``), noise-conditional score networks trained with annealed
denoising score matching and sampled with annealed Langevin dynamics, size-reduced.

Kept verbatim: ``anneal_dsm_score_estimation`` (``sigmas[labels].view(samples.shape[0],
*([1] * len(samples.shape[1:])))``, ``torch.randn_like(samples) * used_sigmas``, the target ``- 1
/ (used_sigmas ** 2) * (perturbed_samples - samples)``, ``1 / 2. * ((scores - target) **
2).sum(dim=-1) * used_sigmas.squeeze() ** anneal_power``, ``loss.mean(dim=0)``); the runner's
geometric ``sigmas = torch.tensor(np.exp(np.linspace(np.log(...), np.log(...), n))).float()``,
the dequantisation ``X / 256. * 255. + torch.rand_like(X) / 256.``, ``logit_transform``
(``torch.log(image) - torch.log1p(-image)``), ``torch.randint(0, len(sigmas), (X.shape[0],),
device=X.device)``, ``optim.Adam(..., weight_decay=..., betas=(beta1, 0.999), amsgrad=...)``;
``anneal_Langevin_dynamics`` (``enumerate(sigmas)``, ``torch.ones(x_mod.shape[0],
device=x_mod.device) * c`` then ``.long()``, ``step_lr * (sigma / sigmas[-1]) ** 2``,
``torch.clamp(x_mod, 0.0, 1.0).to('cpu')``, ``torch.randn_like(x_mod) * np.sqrt(step_size *
2)`` with NumPy's sqrt of a 0-d tensor); ``ConditionalInstanceNorm2dPlus`` (``nn.InstanceNorm2d(
num_features, affine=False, track_running_stats=False)``, an ``nn.Embedding(num_classes,
num_features * 3)`` initialised through ``.weight.data[:, :2 * num_features].normal_(1,
0.02)``/``.zero_()``, ``torch.mean(x, dim=(2, 3))``, ``torch.var(means, dim=-1,
keepdim=True)``, ``.chunk(3, dim=-1)``, ``means[..., None, None] * alpha[..., None, None]``)
between ``nn.ELU`` and dilated ``nn.Conv2d``.

Changed: the RefineNet (CondRefineNetDilated) -> two conditional conv blocks of 4 channels
with the same normalisation; CIFAR-10/MNIST -> 8x8 one-channel NumPy images; 10 sigmas from
1 to 0.01 -> 4; 200k iterations -> 6 of batch 5, the logit transform on every other one;
100 Langevin steps per sigma -> 2; no tqdm; NumPy 2's DeprecationWarning about torch's
``Tensor.__array_wrap__`` (raised by ``np.sqrt`` of a tensor) filtered.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["init_state", "make_model", "run"]

N_SIGMAS, NF, STEPS, BATCH = 4, 4, 6, 5


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class ConditionalInstanceNorm2dPlus(nn.Module):
        def __init__(self, num_features, num_classes, bias=True):  # noqa: ANN001, ANN204
            super().__init__()
            self.num_features = num_features
            self.bias = bias
            self.instance_norm = nn.InstanceNorm2d(
                num_features, affine=False, track_running_stats=False
            )
            if bias:
                self.embed = nn.Embedding(num_classes, num_features * 3)
                self.embed.weight.data[:, : 2 * num_features].normal_(
                    1, 0.02
                )  # Initialise scale at N(1, 0.02)
                self.embed.weight.data[:, 2 * num_features :].zero_()  # Initialise bias at 0

        def forward(self, x, y):  # noqa: ANN001, ANN201
            means = torch.mean(x, dim=(2, 3))
            m = torch.mean(means, dim=-1, keepdim=True)
            v = torch.var(means, dim=-1, keepdim=True)
            means = (means - m) / (torch.sqrt(v + 1e-5))
            h = self.instance_norm(x)

            if self.bias:
                gamma, alpha, beta = self.embed(y).chunk(3, dim=-1)
                h = h + means[..., None, None] * alpha[..., None, None]
                out = gamma.view(-1, self.num_features, 1, 1) * h + beta.view(
                    -1, self.num_features, 1, 1
                )
            return out

    class CondScoreNet(nn.Module):
        def __init__(self, ngf=NF, num_classes=N_SIGMAS):  # noqa: ANN001, ANN204
            super().__init__()
            self.begin_conv = nn.Conv2d(1, ngf, 3, stride=1, padding=1)
            self.normalizer = ConditionalInstanceNorm2dPlus(ngf, num_classes)
            self.res_conv = nn.Conv2d(ngf, ngf, 3, stride=1, padding=2, dilation=2)
            self.res_norm = ConditionalInstanceNorm2dPlus(ngf, num_classes)
            self.end_norm = ConditionalInstanceNorm2dPlus(ngf, num_classes)
            self.act = nn.ELU()
            self.end_conv = nn.Conv2d(ngf, 1, 3, stride=1, padding=1)

        def forward(self, x, y):  # noqa: ANN001, ANN201
            x = 2 * x - 1.0
            output = self.begin_conv(x)
            h = self.act(self.normalizer(output, y))
            output = output + self.res_conv(self.act(self.res_norm(h, y)))
            output = self.act(self.end_norm(output, y))
            return self.end_conv(output)

    return CondScoreNet()


def init_state(tmp_path: Any) -> dict:
    import torch  # the starting weights, as the harness makes them

    torch.manual_seed(0)
    model = make_model(torch)
    rng = np.random.default_rng(11)
    return {
        "model": {k: v.detach().numpy().copy() for k, v in model.state_dict().items()},
        "images": (rng.integers(0, 256, (STEPS, BATCH, 1, 8, 8)) / 255.0).astype(np.float32),
    }


DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like

    def anneal_dsm_score_estimation(scorenet, samples, labels, sigmas, anneal_power=2.0):  # noqa: ANN001, ANN201
        used_sigmas = sigmas[labels].view(samples.shape[0], *([1] * len(samples.shape[1:])))
        perturbed_samples = samples + torch.randn_like(samples) * used_sigmas
        target = -1 / (used_sigmas**2) * (perturbed_samples - samples)
        scores = scorenet(perturbed_samples, labels)
        target = target.view(target.shape[0], -1)
        scores = scores.view(scores.shape[0], -1)
        loss = (
            1 / 2.0 * ((scores - target) ** 2).sum(dim=-1) * used_sigmas.squeeze() ** anneal_power
        )
        return loss.mean(dim=0)

    def logit_transform(image, lam=1e-6):  # noqa: ANN001, ANN202
        image = lam + (1 - 2 * lam) * image
        return torch.log(image) - torch.log1p(-image)

    def anneal_Langevin_dynamics(x_mod, scorenet, sigmas, n_steps_each=100, step_lr=0.00002):  # noqa: ANN001, ANN202
        images = []
        with torch.no_grad():
            for c, sigma in enumerate(sigmas):
                labels = torch.ones(x_mod.shape[0], device=x_mod.device) * c
                labels = labels.long()
                step_size = step_lr * (sigma / sigmas[-1]) ** 2
                for _s in range(n_steps_each):
                    images.append(torch.clamp(x_mod, 0.0, 1.0).to("cpu"))
                    noise = torch.randn_like(x_mod) * np.sqrt(step_size * 2)
                    grad = scorenet(x_mod, labels)
                    x_mod = x_mod + step_size * grad + noise
            return images

    torch.manual_seed(0)
    score = make_model(torch)
    load_numpy_state(torch, score, init["model"])
    optimizer = torch.optim.Adam(score.parameters(), lr=1e-3, weight_decay=0.0,
                                 betas=(0.9, 0.999), amsgrad=False)  # fmt: skip
    sigmas = torch.tensor(np.exp(np.linspace(np.log(1.0), np.log(0.01), N_SIGMAS))).float()
    values: list[float] = []
    for step in range(STEPS):
        X = torch.tensor(init["images"][step])
        X = X / 256.0 * 255.0 + torch.rand_like(X) / 256.0
        if step % 2:  # config.data.logit_transform on every other step
            X = logit_transform(X)
        labels = torch.randint(0, len(sigmas), (X.shape[0],), device=X.device)
        loss = anneal_dsm_score_estimation(score, X, labels, sigmas, 2.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    score.eval()
    with warnings.catch_warnings():  # NumPy 2's note on torch's Tensor.__array_wrap__
        warnings.filterwarnings("ignore", "__array_wrap__ must accept", DeprecationWarning)
        images = anneal_Langevin_dynamics(torch.rand(3, 1, 8, 8), score, sigmas, 2, 0.00002)
    values += [len(images), images[-1].sum().item(), images[-1].mean().item()]
    return values
