"""Score-based generative modelling as Yang Song's SDE tutorial notebook writes it (with the
``ExponentialMovingAverage`` of yang-song/score_sde_pytorch's ``models/ema.py``),
size-reduced (8x8 one-channel images, two resolutions).

The idioms: ``marginal_prob_std(t, sigma)`` (``t = torch.tensor(t, device=device)`` on a
tensor, which warns, then ``torch.sqrt((sigma**(2 * t) - 1.) / 2. / np.log(sigma))``) and
``diffusion_coeff`` (``torch.tensor(sigma**t, device=device)``) bound with
``functools.partial``; ``GaussianFourierProjection`` (``nn.Parameter(torch.randn(embed_dim //
2) * scale, requires_grad=False)``, ``x[:, None] * self.W[None, :] * 2 * np.pi``,
``torch.cat([torch.sin(x_proj), torch.cos(x_proj)], dim=-1)``); ``Dense`` returning
``self.dense(x)[..., None, None]``; the U-Net ``ScoreNet`` (bias-free ``Conv2d`` /
``ConvTranspose2d`` with ``output_padding=1``, ``nn.GroupNorm(4, num_channels=...)``, the swish
``self.act = lambda x: x * torch.sigmoid(x)``, ``h1 += self.dense1(embed)``, skip ``torch.cat(
[h, h2], dim=1)``, ``h / self.marginal_prob_std(t)[:, None, None, None]``); the denoising
score-matching ``loss_fn`` (``torch.rand(x.shape[0], device=x.device) * (1. - eps) + eps``,
``torch.randn_like(x)``, ``x + z * std[:, None, None, None]``, ``torch.mean(torch.sum((score *
std[:, None, None, None] + z)**2, dim=(1,2,3)))``); Adam steps with the EMA's ``update`` (``min(
decay, (1 + num_updates) / (10 + num_updates))``, ``s_param.sub_(one_minus_decay * (s_param -
param))`` under ``torch.no_grad()``), ``store`` / ``copy_to`` / ``restore`` via
``param.data.copy_``; the Euler-Maruyama sampler (``torch.linspace(1., eps, num_steps)``,
``step_size = time_steps[0] - time_steps[1]``, ``(g**2)[:, None, None, None] * score_model(x,
batch_time_step) * step_size``, ``torch.sqrt(step_size)``) and the predictor-corrector sampler
(``np.linspace`` time steps, ``torch.ones(batch_size) * time_step`` with a NumPy scalar,
``torch.norm(grad.reshape(grad.shape[0], -1), dim=-1).mean()``, ``np.sqrt(np.prod(x.shape[
1:]))``, ``2 * (snr * noise_norm / grad_norm)**2`` with NumPy scalars on the left of a tensor,
``torch.sqrt(2 * langevin_step_size)``), both under ``torch.no_grad()`` and returning
``mean_x``. The random draws (``torch.rand``, ``torch.randn_like``) are checked for what holds
for every draw; the values compared come from NumPy's generator.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

SIGMA, CHANNELS, EMBED, SIZE, BATCH = 25.0, (4, 8), 8, 8, 3
STEPS, LR, NUM_STEPS, SNR, EPS = 3, 1e-3, 3, 0.16, 1e-3
# the samplers cancel terms of size sigma**2 * score: the weights moved by 1e-14 (relative) move
# the last predictor-corrector samples by ~1e-8 under torch itself
ATOL = 1e-7


def marginal_prob_std(torch_like: Any, t: Any, sigma: float, device: str = "cpu") -> Any:
    torch = torch_like
    t = torch.as_tensor(t, device=device)
    return torch.sqrt((sigma ** (2 * t) - 1.0) / 2.0 / np.log(sigma))


def diffusion_coeff(torch_like: Any, t: Any, sigma: float, device: str = "cpu") -> Any:
    return torch_like.as_tensor(sigma**t, device=device)


def tutorial_marginal_prob_std(torch_like: Any, t: Any, sigma: float, device: str = "cpu") -> Any:
    """The notebook's own spelling: ``torch.tensor`` on a tensor (a copy, and a warning)."""
    torch = torch_like
    t = torch.tensor(t, device=device)
    return torch.sqrt((sigma ** (2 * t) - 1.0) / 2.0 / np.log(sigma))


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class GaussianFourierProjection(nn.Module):
        def __init__(self, embed_dim: int, scale: float = 30.0) -> None:
            super().__init__()
            self.W = nn.Parameter(torch.randn(embed_dim // 2) * scale, requires_grad=False)

        def forward(self, x: Any) -> Any:
            x_proj = x[:, None] * self.W[None, :] * 2 * np.pi
            return torch.cat([torch.sin(x_proj), torch.cos(x_proj)], dim=-1)

    class Dense(nn.Module):
        def __init__(self, input_dim: int, output_dim: int) -> None:
            super().__init__()
            self.dense = nn.Linear(input_dim, output_dim)

        def forward(self, x: Any) -> Any:
            return self.dense(x)[..., None, None]

    class ScoreNet(nn.Module):
        def __init__(
            self, marginal_prob_std: Any, channels: tuple = CHANNELS, embed_dim: int = EMBED
        ) -> None:
            super().__init__()
            self.embed = nn.Sequential(
                GaussianFourierProjection(embed_dim=embed_dim), nn.Linear(embed_dim, embed_dim)
            )
            self.conv1 = nn.Conv2d(1, channels[0], 3, stride=1, bias=False)
            self.dense1 = Dense(embed_dim, channels[0])
            self.gnorm1 = nn.GroupNorm(4, num_channels=channels[0])
            self.conv2 = nn.Conv2d(channels[0], channels[1], 3, stride=2, bias=False)
            self.dense2 = Dense(embed_dim, channels[1])
            self.gnorm2 = nn.GroupNorm(4, num_channels=channels[1])
            self.tconv2 = nn.ConvTranspose2d(
                channels[1], channels[0], 3, stride=2, bias=False, output_padding=1
            )
            self.dense3 = Dense(embed_dim, channels[0])
            self.tgnorm2 = nn.GroupNorm(4, num_channels=channels[0])
            self.tconv1 = nn.ConvTranspose2d(channels[0] + channels[0], 1, 3, stride=1)
            self.act = lambda x: x * torch.sigmoid(x)
            self.marginal_prob_std = marginal_prob_std

        def forward(self, x: Any, t: Any) -> Any:
            embed = self.act(self.embed(t))
            h1 = self.conv1(x)
            h1 += self.dense1(embed)
            h1 = self.gnorm1(h1)
            h1 = self.act(h1)
            h2 = self.conv2(h1)
            h2 += self.dense2(embed)
            h2 = self.gnorm2(h2)
            h2 = self.act(h2)
            h = self.tconv2(h2)
            h += self.dense3(embed)
            h = self.tgnorm2(h)
            h = self.act(h)
            h = self.tconv1(torch.cat([h, h1], dim=1))
            h = h / self.marginal_prob_std(t)[:, None, None, None]
            return h

    return ScoreNet(functools.partial(marginal_prob_std, torch_like, sigma=SIGMA))


class ExponentialMovingAverage:
    """score_sde_pytorch's EMA of the parameters (shadow copies, a warm-up decay)."""

    def __init__(
        self, torch_like: Any, parameters: Any, decay: float, use_num_updates: bool = True
    ) -> None:
        if decay < 0.0 or decay > 1.0:
            raise ValueError("Decay must be between 0 and 1")
        self.torch = torch_like
        self.decay = decay
        self.num_updates = 0 if use_num_updates else None
        self.shadow_params = [p.clone().detach() for p in parameters if p.requires_grad]
        self.collected_params = []

    def update(self, parameters: Any) -> None:
        decay = self.decay
        if self.num_updates is not None:
            self.num_updates += 1
            decay = min(decay, (1 + self.num_updates) / (10 + self.num_updates))
        one_minus_decay = 1.0 - decay
        with self.torch.no_grad():
            parameters = [p for p in parameters if p.requires_grad]
            for s_param, param in zip(self.shadow_params, parameters):
                s_param.sub_(one_minus_decay * (s_param - param))

    def copy_to(self, parameters: Any) -> None:
        parameters = [p for p in parameters if p.requires_grad]
        for s_param, param in zip(self.shadow_params, parameters):
            if param.requires_grad:
                param.data.copy_(s_param.data)

    def store(self, parameters: Any) -> None:
        self.collected_params = [param.clone() for param in parameters]

    def restore(self, parameters: Any) -> None:
        for c_param, param in zip(self.collected_params, parameters):
            param.data.copy_(c_param.data)

    def state_dict(self) -> dict:
        return dict(
            decay=self.decay, num_updates=self.num_updates, shadow_params=self.shadow_params
        )


def loss_fn(
    torch_like: Any, model: Any, x: Any, marginal_prob_std: Any, random_t: Any, z: Any
) -> Any:
    std = marginal_prob_std(random_t)
    perturbed_x = x + z * std[:, None, None, None]
    score = model(perturbed_x, random_t)
    return torch_like.mean(
        torch_like.sum((score * std[:, None, None, None] + z) ** 2, dim=(1, 2, 3))
    )


def draw_facts(torch_like: Any, x: Any, eps: float = 1e-5) -> list[float]:
    """The notebook's own draws: what holds for every one of them."""
    torch = torch_like
    torch.manual_seed(0)
    random_t = torch.rand(x.shape[0], device=x.device) * (1.0 - eps) + eps
    z = torch.randn_like(x)
    return [
        float(bool((random_t >= eps).all() and (random_t <= 1.0).all())),
        float(random_t.dtype == x.dtype),
        float(z.shape == x.shape),
        float(z.dtype == x.dtype),
    ]


def euler_maruyama_sampler(
    torch_like: Any,
    score_model: Any,
    marginal_prob_std: Any,
    diffusion_coeff: Any,
    noise: Any,
    batch_size: int = BATCH,
    num_steps: int = NUM_STEPS,
    device: str = "cpu",
    eps: float = EPS,
) -> Any:
    torch = torch_like
    t = torch.ones(batch_size, device=device)
    init_x = noise((batch_size, 1, SIZE, SIZE)) * marginal_prob_std(t)[:, None, None, None]
    time_steps = torch.linspace(1.0, eps, num_steps, device=device)
    step_size = time_steps[0] - time_steps[1]
    x = init_x
    with torch.no_grad():
        for time_step in time_steps:
            batch_time_step = torch.ones(batch_size, device=device) * time_step
            g = diffusion_coeff(batch_time_step)
            mean_x = x + (g**2)[:, None, None, None] * score_model(x, batch_time_step) * step_size
            x = mean_x + torch.sqrt(step_size) * g[:, None, None, None] * noise(x.shape)
    return mean_x


def pc_sampler(
    torch_like: Any,
    score_model: Any,
    marginal_prob_std: Any,
    diffusion_coeff: Any,
    noise: Any,
    batch_size: int = BATCH,
    num_steps: int = NUM_STEPS,
    snr: float = SNR,
    device: str = "cpu",
    eps: float = EPS,
) -> tuple:
    torch = torch_like
    t = torch.ones(batch_size, device=device)
    init_x = noise((batch_size, 1, SIZE, SIZE)) * marginal_prob_std(t)[:, None, None, None]
    time_steps = np.linspace(1.0, eps, num_steps)
    step_size = time_steps[0] - time_steps[1]
    x = init_x
    grad_norms = []
    with torch.no_grad():
        for time_step in time_steps:
            batch_time_step = torch.ones(batch_size, device=device) * time_step
            grad = score_model(x, batch_time_step)
            grad_norm = torch.norm(grad.reshape(grad.shape[0], -1), dim=-1).mean()
            noise_norm = np.sqrt(np.prod(x.shape[1:]))
            langevin_step_size = 2 * (snr * noise_norm / grad_norm) ** 2
            x = x + langevin_step_size * grad + torch.sqrt(2 * langevin_step_size) * noise(x.shape)
            g = diffusion_coeff(batch_time_step)
            x_mean = x + (g**2)[:, None, None, None] * score_model(x, batch_time_step) * step_size
            x = x_mean + torch.sqrt(g**2 * step_size)[:, None, None, None] * noise(x.shape)
            grad_norms.append(grad_norm.item())
    return x_mean, grad_norms


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(13)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    std_fn = functools.partial(marginal_prob_std, torch, sigma=SIGMA)
    coeff_fn = functools.partial(diffusion_coeff, torch, sigma=SIGMA)
    images = np.tanh(rng.standard_normal((BATCH, 1, SIZE, SIZE)).cumsum(-1) / 3)
    x = as_tensor(torch, images)
    values = draw_facts(torch, x)

    t = as_tensor(torch, rng.random(BATCH))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        std_copy = tutorial_marginal_prob_std(torch, t, SIGMA)
    values += [float(len(caught)), float(issubclass(caught[0].category, UserWarning))]
    values += (std_copy - std_fn(t)).abs().tolist() + coeff_fn(t).tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    ema = ExponentialMovingAverage(torch, model.parameters(), decay=0.999)
    values += [float(len(ema.shadow_params)), float(sum(p.numel() for p in ema.shadow_params))]
    for _step in range(STEPS):
        random_t = as_tensor(torch, rng.random(BATCH) * (1.0 - 1e-5) + 1e-5)
        z = as_tensor(torch, rng.standard_normal(x.shape))
        loss = loss_fn(torch, model, x, std_fn, random_t, z)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update(model.parameters())
        values += [loss.item(), float(model.embed[0].W.grad is None)]
    values += [float(ema.state_dict()["num_updates"])]

    def noise(shape: Any) -> Any:
        return as_tensor(torch, rng.standard_normal(tuple(shape)))

    ema.store(model.parameters())
    ema.copy_to(model.parameters())
    samples = euler_maruyama_sampler(torch, model, std_fn, coeff_fn, noise)
    values += samples.flatten()[::7].tolist() + [float(samples.requires_grad)]
    pc_samples, grad_norms = pc_sampler(torch, model, std_fn, coeff_fn, noise)
    values += pc_samples.flatten()[::7].tolist() + grad_norms
    ema.restore(model.parameters())
    values += [p.detach().sum().item() for p in model.parameters()]
    return values
