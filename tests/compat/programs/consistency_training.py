"""Song et al. 2023 "Consistency Models" (and the pseudo-Huber loss of "Improved Techniques for
Training Consistency Models") as openai/consistency_models' ``cm/karras_diffusion.py``,
``cm/script_util.py`` and ``cm/train_util.py`` write consistency training, size-reduced:
``get_sigmas_karras`` (``ramp = torch.linspace(0, 1, n)``, ``(max_inv_rho + ramp *
(min_inv_rho - max_inv_rho)) ** rho`` with ``rho = 7``, ``append_zero``);
``get_scalings_for_boundary_condition`` (``c_skip = sigma_data ** 2 / ((sigma - sigma_min) ** 2
+ sigma_data ** 2)``, ``c_out = (sigma - sigma_min) * sigma_data / (sigma ** 2 + sigma_data ** 2)
** 0.5``, ``c_in``) applied through ``append_dims`` (``x[(...,) + (None,) * dims_to_append]``),
``rescaled_t = 1000 * 0.25 * th.log(sigmas + 1e-44)``; ``consistency_losses`` without a teacher
(``indices`` of adjacent Karras steps, ``x_t = x_start + noise * append_dims(t, dims)``, the
dropout RNG state kept with ``th.get_rng_state()``/``th.set_rng_state`` so the online and target
networks see the same dropout, the target's denoise under ``@th.no_grad()`` and ``.detach()``,
``mean_flat``, the uniform weighting) with the pseudo-Huber distance ``sqrt((x - y) ** 2 + c **
2) - c`` (``c = 0.00054 * sqrt(d)``); ``create_ema_and_scales_fn``'s progressive schedule
(``num_scales = np.ceil(np.sqrt((step / total_steps) * ((end_scales + 1) ** 2 - start_scales **
2) + start_scales ** 2) - 1)``, ``target_ema = np.exp(start_scales * np.log(target_ema) /
scales)``); the target network, a ``copy.deepcopy`` with ``requires_grad_(False)``, updated by
``update_ema`` under ``th.no_grad()`` as ``torch._foreach_mul_`` / ``torch._foreach_add_(...,
alpha=1 - rate)`` (and the online EMA copy by ``torch._foreach_lerp_``); RAdam; and
``karras_sample``'s one-step (``x_T * sigma_max`` denoised once) and multistep
(``stochastic_iterative_sampler``: ``x0 + randn_like(x) * np.sqrt(next_t ** 2 - t_min ** 2)``
with ``np.clip(next_t, t_min, t_max)``) samplers.

Changed: the U-Net is an MLP over 4-D points from two clusters with a sinusoidal embedding of
``rescaled_t``; no dropout (the frameworks' generators differ), so the RNG-state round trip is
kept only as the idiom; every ``randn`` is a NumPy draw made a tensor; 4 training steps of
batch 8 (``start_scales 2 -> end_scales 10`` over them), two-step sampling at ``ts = (0, 5,
10)``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DIM, HIDDEN, EMB, BATCH, STEPS = 4, 16, 8, 8, 4
SIGMA_MIN, SIGMA_MAX, SIGMA_DATA, RHO = 0.002, 20.0, 0.5, 7.0
START_SCALES, END_SCALES, START_EMA = 2, 10, 0.95


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class MLPDenoiser(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.time_embed = nn.Sequential(nn.Linear(EMB, HIDDEN), nn.SiLU())
            self.inp = nn.Linear(DIM, HIDDEN)
            self.mid = nn.Linear(HIDDEN, HIDDEN)
            self.out = nn.Linear(HIDDEN, DIM)

        def forward(self, x: Any, timesteps: Any) -> Any:
            half = EMB // 2
            freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=x.dtype) / half)
            args = timesteps[:, None] / 1000 * freqs[None]
            emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
            h = torch.nn.functional.silu(self.inp(x) + self.time_embed(emb))
            h = torch.nn.functional.silu(self.mid(h))
            return self.out(h)

    return MLPDenoiser()


def _data(rng: np.random.Generator) -> np.ndarray:
    centers = np.array([[1.0, -1.0, 0.5, 0.0], [-1.0, 0.5, -0.5, 1.0]]) * 0.5
    return centers[rng.integers(0, 2, 32)] + 0.05 * rng.standard_normal((32, DIM))


def run(torch_like: Any, init: dict | None) -> list[float]:
    th = torch_like
    rng = np.random.default_rng(21)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    data = th.from_numpy(_data(rng))

    def append_dims(x: Any, target_dims: int) -> Any:
        dims_to_append = target_dims - x.ndim
        if dims_to_append < 0:
            raise ValueError(f"input has {x.ndim} dims but target_dims is {target_dims}")
        return x[(...,) + (None,) * dims_to_append]

    def append_zero(x: Any) -> Any:
        return th.cat([x, x.new_zeros([1])])

    def get_sigmas_karras(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> Any:
        ramp = th.linspace(0, 1, n)
        min_inv_rho = sigma_min ** (1 / rho)
        max_inv_rho = sigma_max ** (1 / rho)
        sigmas = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho
        return append_zero(sigmas)

    def mean_flat(tensor: Any) -> Any:
        return tensor.mean(dim=list(range(1, len(tensor.shape))))

    def get_scalings_for_boundary_condition(sigma: Any) -> tuple[Any, Any, Any]:
        c_skip = SIGMA_DATA**2 / ((sigma - SIGMA_MIN) ** 2 + SIGMA_DATA**2)
        c_out = (sigma - SIGMA_MIN) * SIGMA_DATA / (sigma**2 + SIGMA_DATA**2) ** 0.5
        c_in = 1 / (sigma**2 + SIGMA_DATA**2) ** 0.5
        return c_skip, c_out, c_in

    def denoise(net: Any, x_t: Any, sigmas: Any) -> tuple[Any, Any]:
        c_skip, c_out, c_in = [
            append_dims(x, x_t.ndim) for x in get_scalings_for_boundary_condition(sigmas)
        ]
        rescaled_t = 1000 * 0.25 * th.log(sigmas + 1e-44)
        model_output = net(c_in * x_t, rescaled_t)
        denoised = c_out * model_output + c_skip * x_t
        return model_output, denoised

    def randn_like(x: Any) -> Any:
        return th.from_numpy(rng.standard_normal(tuple(x.shape)))

    def ema_and_scales_fn(step: int) -> tuple[float, int]:
        scales = np.ceil(
            np.sqrt((step / STEPS) * ((END_SCALES + 1) ** 2 - START_SCALES**2) + START_SCALES**2)
            - 1
        ).astype(np.int32)
        scales = np.maximum(scales, 1)
        c = -np.log(START_EMA) * START_SCALES
        target_ema = np.exp(-c / scales)
        return float(target_ema), int(scales + 1)

    def consistency_losses(
        net: Any, x_start: Any, num_scales: int, target_model: Any
    ) -> dict[str, Any]:
        noise = randn_like(x_start)
        dims = x_start.ndim

        def denoise_fn(x: Any, t: Any) -> Any:
            return denoise(net, x, t)[1]

        @th.no_grad()
        def target_denoise_fn(x: Any, t: Any) -> Any:
            return denoise(target_model, x, t)[1]

        indices = th.from_numpy(rng.integers(0, num_scales - 1, x_start.shape[0]))
        t = SIGMA_MAX ** (1 / RHO) + indices / (num_scales - 1) * (
            SIGMA_MIN ** (1 / RHO) - SIGMA_MAX ** (1 / RHO)
        )
        t = t**RHO
        t2 = SIGMA_MAX ** (1 / RHO) + (indices + 1) / (num_scales - 1) * (
            SIGMA_MIN ** (1 / RHO) - SIGMA_MAX ** (1 / RHO)
        )
        t2 = t2**RHO

        x_t = x_start + noise * append_dims(t, dims)
        dropout_state = th.get_rng_state()
        distiller = denoise_fn(x_t, t)
        x_t2 = x_start + noise * append_dims(t2, dims)
        x_t2 = x_t2.detach()
        th.set_rng_state(dropout_state)
        distiller_target = target_denoise_fn(x_t2, t2).detach()

        c = 0.00054 * math.sqrt(DIM)
        diffs = th.sqrt((distiller - distiller_target) ** 2 + c**2) - c
        weights = th.ones_like(t)
        loss = mean_flat(diffs) * weights
        return {"loss": loss, "t": t, "t2": t2}

    target_model = copy.deepcopy(model)
    target_model.requires_grad_(False)
    target_model.train()
    ema_model = copy.deepcopy(model).requires_grad_(False)
    opt = th.optim.RAdam(model.parameters(), lr=5e-3)
    values: list[float] = []

    sig = get_sigmas_karras(6, SIGMA_MIN, SIGMA_MAX, RHO)
    values += sig.tolist()
    c_skip, c_out, c_in = get_scalings_for_boundary_condition(sig[:-1])
    values += c_skip.tolist() + c_out.tolist() + c_in.tolist()

    for step in range(STEPS):
        target_ema, num_scales = ema_and_scales_fn(step)
        batch = data[th.from_numpy(rng.integers(0, data.shape[0], BATCH))]
        losses = consistency_losses(model, batch, num_scales, target_model)
        loss = losses["loss"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        params = list(model.parameters())
        with th.no_grad():
            targ = list(target_model.parameters())
            th._foreach_mul_(targ, target_ema)
            th._foreach_add_(targ, params, alpha=1 - target_ema)
            th._foreach_lerp_(list(ema_model.parameters()), params, 1 - 0.9)
        values += [loss.item(), target_ema, float(num_scales), losses["t"].sum().item()]
        values.append(sum(p.abs().sum().item() for p in target_model.parameters()))
        values.append(target_model.out.weight.requires_grad)

    @th.no_grad()
    def distiller(x: Any, t: Any) -> Any:
        return denoise(ema_model, x, t)[1].clamp(-1, 1)

    n = 6
    x_T = th.from_numpy(rng.standard_normal((n, DIM))) * SIGMA_MAX
    s_in = x_T.new_ones([x_T.shape[0]])
    onestep = distiller(x_T, SIGMA_MAX * s_in)
    values += onestep.flatten().tolist()

    ts, steps = (0, 5, 10), 11
    t_max_rho, t_min_rho = SIGMA_MAX ** (1 / RHO), SIGMA_MIN ** (1 / RHO)
    x = x_T
    for i in range(len(ts) - 1):
        t = (t_max_rho + ts[i] / (steps - 1) * (t_min_rho - t_max_rho)) ** RHO
        x0 = distiller(x, t * s_in)
        next_t = (t_max_rho + ts[i + 1] / (steps - 1) * (t_min_rho - t_max_rho)) ** RHO
        next_t = np.clip(next_t, SIGMA_MIN, SIGMA_MAX)
        x = x0 + randn_like(x) * np.sqrt(next_t**2 - SIGMA_MIN**2)
        values.append(float(next_t))
    values += [x.mean().item(), x.std().item()] + x[0].tolist()
    return values
