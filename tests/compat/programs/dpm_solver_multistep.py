"""DPM-Solver++(2M) sampling as Hugging Face diffusers' ``DPMSolverMultistepScheduler``
(``schedulers/scheduling_dpmsolver_multistep.py``) writes it, driving a tiny noise-prediction
network trained for a few steps, size-reduced.

The idioms: the ``scaled_linear`` schedule (``torch.linspace(beta_start**0.5, beta_end**0.5,
num_train_timesteps, dtype=torch.float32) ** 2``), ``torch.cumprod(self.alphas, dim=0)``,
``self.lambda_t = torch.log(self.alpha_t) - torch.log(self.sigma_t)``, ``self.sigmas = ((1 -
self.alphas_cumprod) / self.alphas_cumprod) ** 0.5``; ``set_timesteps`` with NumPy
(``np.linspace(0, last_timestep - 1, num_inference_steps + 1).round()[::-1][:-1].copy()
.astype(np.int64)`` for ``"linspace"``, ``(np.arange(0, num_inference_steps + 1) *
step_ratio).round()[::-1][:-1]`` plus ``steps_offset`` for ``"leading"``, ``np.arange(
last_timestep, 0, -step_ratio).round().copy().astype(np.int64) - 1`` for ``"trailing"``),
``np.interp`` of the sigmas (read with ``.numpy()``: diffusers' ``np.array(tensor)`` warns
under NumPy 2), ``np.concatenate([sigmas, [sigma_last]]).astype(np.float32)``,
``torch.from_numpy(sigmas)`` and ``torch.from_numpy(timesteps).to(device=device,
dtype=torch.int64)``; ``_sigma_to_alpha_sigma_t`` (``1 / ((sigma**2 + 1) ** 0.5)``);
``index_for_timestep`` (``(schedule_timesteps == timestep).nonzero()``, ``.item()``);
``convert_model_output`` for ``"epsilon"`` to the data prediction ``(sample - sigma_t *
model_output) / alpha_t``, with dynamic thresholding (``torch.quantile(abs_sample, ratio,
dim=1)``, ``torch.clamp(s, min=1, max=sample_max_value)``, ``s.unsqueeze(1)``); the
first-order update (``(sigma_t / sigma_s) * sample - (alpha_t * (torch.exp(-h) - 1.0)) *
model_output``, which meets ``torch.log(0)`` = -inf at the final zero sigma) and the
second-order multistep update (``r0 = h_0 / h``, ``D1 = (1.0 / r0) * (m0 - m1)``, the
``"midpoint"`` and ``"heun"`` solver types); the ``model_outputs`` list shifted each step,
``lower_order_nums``, ``lower_order_final``; ``add_noise`` (``alphas_cumprod[timesteps] **
0.5``, ``.flatten()``, ``while len(sqrt_alpha_prod.shape) < len(original_samples.shape):
sqrt_alpha_prod = sqrt_alpha_prod.unsqueeze(-1)``); and the pipeline's ``torch.no_grad()``
loop ``for i, t in enumerate(scheduler.timesteps)`` with ``latents = latents *
scheduler.init_noise_sigma``.

Changed: a 2-layer MLP on 6-d samples instead of the UNet; 100 training timesteps, 6 inference
steps; every noise draw comes from NumPy through ``torch.from_numpy``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-5
T_TRAIN, INFER, D, BATCH, STEPS = 100, 6, 6, 4, 4


def _scheduler(torch_like: Any) -> Any:
    torch = torch_like

    class DPMSolverMultistepScheduler:
        def __init__(
            self,
            num_train_timesteps: int = T_TRAIN,
            beta_start: float = 0.00085,
            beta_end: float = 0.012,
            beta_schedule: str = "scaled_linear",
            solver_order: int = 2,
            algorithm_type: str = "dpmsolver++",
            solver_type: str = "midpoint",
            lower_order_final: bool = True,
            thresholding: bool = False,
            dynamic_thresholding_ratio: float = 0.995,
            sample_max_value: float = 1.0,
            timestep_spacing: str = "linspace",
            steps_offset: int = 0,
            final_sigmas_type: str = "zero",
        ) -> None:
            if beta_schedule == "linear":
                self.betas = torch.linspace(
                    beta_start, beta_end, num_train_timesteps, dtype=torch.float32
                )
            elif beta_schedule == "scaled_linear":
                self.betas = (
                    torch.linspace(
                        beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=torch.float32
                    )
                    ** 2
                )
            else:
                raise NotImplementedError(
                    f"{beta_schedule} is not implemented for {self.__class__}"
                )
            self.config = dict(
                num_train_timesteps=num_train_timesteps,
                solver_order=solver_order,
                algorithm_type=algorithm_type,
                solver_type=solver_type,
                lower_order_final=lower_order_final,
                thresholding=thresholding,
                dynamic_thresholding_ratio=dynamic_thresholding_ratio,
                sample_max_value=sample_max_value,
                timestep_spacing=timestep_spacing,
                steps_offset=steps_offset,
                final_sigmas_type=final_sigmas_type,
            )
            self.alphas = 1.0 - self.betas
            self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
            self.alpha_t = torch.sqrt(self.alphas_cumprod)
            self.sigma_t = torch.sqrt(1 - self.alphas_cumprod)
            self.lambda_t = torch.log(self.alpha_t) - torch.log(self.sigma_t)
            self.sigmas = ((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5
            self.init_noise_sigma = 1.0
            self.num_inference_steps = None
            timesteps = np.linspace(
                0, num_train_timesteps - 1, num_train_timesteps, dtype=np.float32
            )[::-1].copy()
            self.timesteps = torch.from_numpy(timesteps)
            self.model_outputs = [None] * solver_order
            self.lower_order_nums = 0
            self._step_index = None

        @property
        def step_index(self) -> Any:
            return self._step_index

        def set_timesteps(self, num_inference_steps: int, device: Any = None) -> None:
            cfg = self.config
            last_timestep = cfg["num_train_timesteps"]
            if cfg["timestep_spacing"] == "linspace":
                timesteps = (
                    np.linspace(0, last_timestep - 1, num_inference_steps + 1)
                    .round()[::-1][:-1]
                    .copy()
                    .astype(np.int64)
                )
            elif cfg["timestep_spacing"] == "leading":
                step_ratio = last_timestep // (num_inference_steps + 1)
                timesteps = (
                    (np.arange(0, num_inference_steps + 1) * step_ratio)
                    .round()[::-1][:-1]
                    .copy()
                    .astype(np.int64)
                )
                timesteps += cfg["steps_offset"]
            elif cfg["timestep_spacing"] == "trailing":
                step_ratio = cfg["num_train_timesteps"] / num_inference_steps
                timesteps = np.arange(last_timestep, 0, -step_ratio).round().copy().astype(np.int64)
                timesteps -= 1
            else:
                raise ValueError(f"{cfg['timestep_spacing']} is not supported.")
            sigmas = (((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5).numpy()
            sigmas = np.interp(timesteps, np.arange(0, len(sigmas)), sigmas)
            if cfg["final_sigmas_type"] == "sigma_min":
                sigma_last = ((1 - self.alphas_cumprod[0]) / self.alphas_cumprod[0]) ** 0.5
            else:
                sigma_last = 0
            sigmas = np.concatenate([sigmas, [sigma_last]]).astype(np.float32)
            self.sigmas = torch.from_numpy(sigmas)
            self.timesteps = torch.from_numpy(timesteps).to(device=device, dtype=torch.int64)
            self.num_inference_steps = len(timesteps)
            self.model_outputs = [None] * cfg["solver_order"]
            self.lower_order_nums = 0
            self._step_index = None
            self.sigmas = self.sigmas.to("cpu")

        def _threshold_sample(self, sample: Any) -> Any:
            dtype = sample.dtype
            batch_size, channels, *remaining_dims = sample.shape
            if dtype not in (torch.float32, torch.float64):
                sample = sample.float()
            sample = sample.reshape(batch_size, channels * int(np.prod(remaining_dims)))
            abs_sample = sample.abs()
            s = torch.quantile(abs_sample, self.config["dynamic_thresholding_ratio"], dim=1)
            s = torch.clamp(s, min=1, max=self.config["sample_max_value"])
            s = s.unsqueeze(1)
            sample = torch.clamp(sample, -s, s) / s
            sample = sample.reshape(batch_size, channels, *remaining_dims)
            return sample.to(dtype)

        def _sigma_to_alpha_sigma_t(self, sigma: Any) -> tuple[Any, Any]:
            alpha_t = 1 / ((sigma**2 + 1) ** 0.5)
            sigma_t = sigma * alpha_t
            return alpha_t, sigma_t

        def convert_model_output(self, model_output: Any, *args: Any, sample: Any = None) -> Any:
            sigma = self.sigmas[self.step_index]
            alpha_t, sigma_t = self._sigma_to_alpha_sigma_t(sigma)
            x0_pred = (sample - sigma_t * model_output) / alpha_t
            if self.config["thresholding"]:
                x0_pred = self._threshold_sample(x0_pred)
            return x0_pred

        def dpm_solver_first_order_update(
            self, model_output: Any, *args: Any, sample: Any = None
        ) -> Any:
            sigma_t, sigma_s = self.sigmas[self.step_index + 1], self.sigmas[self.step_index]
            alpha_t, sigma_t = self._sigma_to_alpha_sigma_t(sigma_t)
            alpha_s, sigma_s = self._sigma_to_alpha_sigma_t(sigma_s)
            lambda_t = torch.log(alpha_t) - torch.log(sigma_t)
            lambda_s = torch.log(alpha_s) - torch.log(sigma_s)
            h = lambda_t - lambda_s
            x_t = (sigma_t / sigma_s) * sample - (alpha_t * (torch.exp(-h) - 1.0)) * model_output
            return x_t

        def multistep_dpm_solver_second_order_update(
            self, model_output_list: list[Any], *args: Any, sample: Any = None
        ) -> Any:
            sigma_t, sigma_s0, sigma_s1 = (
                self.sigmas[self.step_index + 1],
                self.sigmas[self.step_index],
                self.sigmas[self.step_index - 1],
            )
            alpha_t, sigma_t = self._sigma_to_alpha_sigma_t(sigma_t)
            alpha_s0, sigma_s0 = self._sigma_to_alpha_sigma_t(sigma_s0)
            alpha_s1, sigma_s1 = self._sigma_to_alpha_sigma_t(sigma_s1)
            lambda_t = torch.log(alpha_t) - torch.log(sigma_t)
            lambda_s0 = torch.log(alpha_s0) - torch.log(sigma_s0)
            lambda_s1 = torch.log(alpha_s1) - torch.log(sigma_s1)
            m0, m1 = model_output_list[-1], model_output_list[-2]
            h, h_0 = lambda_t - lambda_s0, lambda_s0 - lambda_s1
            r0 = h_0 / h
            D0, D1 = m0, (1.0 / r0) * (m0 - m1)
            if self.config["solver_type"] == "midpoint":
                x_t = (
                    (sigma_t / sigma_s0) * sample
                    - (alpha_t * (torch.exp(-h) - 1.0)) * D0
                    - 0.5 * (alpha_t * (torch.exp(-h) - 1.0)) * D1
                )
            else:
                x_t = (
                    (sigma_t / sigma_s0) * sample
                    - (alpha_t * (torch.exp(-h) - 1.0)) * D0
                    + (alpha_t * ((torch.exp(-h) - 1.0) / h + 1.0)) * D1
                )
            return x_t

        def index_for_timestep(self, timestep: Any, schedule_timesteps: Any = None) -> int:
            if schedule_timesteps is None:
                schedule_timesteps = self.timesteps
            index_candidates = (schedule_timesteps == timestep).nonzero()
            if len(index_candidates) == 0:
                step_index = len(self.timesteps) - 1
            elif len(index_candidates) > 1:
                step_index = index_candidates[1].item()
            else:
                step_index = index_candidates[0].item()
            return step_index

        def _init_step_index(self, timestep: Any) -> None:
            if isinstance(timestep, torch.Tensor):
                timestep = timestep.to(self.timesteps.device)
            self._step_index = self.index_for_timestep(timestep)

        def step(
            self, model_output: Any, timestep: Any, sample: Any, return_dict: bool = True
        ) -> Any:
            if self.num_inference_steps is None:
                raise ValueError("Number of inference steps is 'None', run 'set_timesteps'")
            if self.step_index is None:
                self._init_step_index(timestep)
            lower_order_final = (self.step_index == len(self.timesteps) - 1) and (
                (self.config["lower_order_final"] and len(self.timesteps) < 15)
                or self.config["final_sigmas_type"] == "zero"
            )
            lower_order_second = (
                (self.step_index == len(self.timesteps) - 2)
                and self.config["lower_order_final"]
                and len(self.timesteps) < 15
            )
            model_output = self.convert_model_output(model_output, sample=sample)
            for i in range(self.config["solver_order"] - 1):
                self.model_outputs[i] = self.model_outputs[i + 1]
            self.model_outputs[-1] = model_output
            sample = sample.to(torch.float32)
            if self.config["solver_order"] == 1 or self.lower_order_nums < 1 or lower_order_final:
                prev_sample = self.dpm_solver_first_order_update(model_output, sample=sample)
            elif (
                self.config["solver_order"] == 2 or self.lower_order_nums < 2 or lower_order_second
            ):
                prev_sample = self.multistep_dpm_solver_second_order_update(
                    self.model_outputs, sample=sample
                )
            if self.lower_order_nums < self.config["solver_order"]:
                self.lower_order_nums += 1
            prev_sample = prev_sample.to(model_output.dtype)
            self._step_index += 1
            if not return_dict:
                return (prev_sample,)
            return {"prev_sample": prev_sample}

        def add_noise(self, original_samples: Any, noise: Any, timesteps: Any) -> Any:
            alphas_cumprod = self.alphas_cumprod.to(
                device=original_samples.device, dtype=original_samples.dtype
            )
            timesteps = timesteps.to(original_samples.device)
            sqrt_alpha_prod = alphas_cumprod[timesteps] ** 0.5
            sqrt_alpha_prod = sqrt_alpha_prod.flatten()
            while len(sqrt_alpha_prod.shape) < len(original_samples.shape):
                sqrt_alpha_prod = sqrt_alpha_prod.unsqueeze(-1)
            sqrt_one_minus_alpha_prod = (1 - alphas_cumprod[timesteps]) ** 0.5
            sqrt_one_minus_alpha_prod = sqrt_one_minus_alpha_prod.flatten()
            while len(sqrt_one_minus_alpha_prod.shape) < len(original_samples.shape):
                sqrt_one_minus_alpha_prod = sqrt_one_minus_alpha_prod.unsqueeze(-1)
            return sqrt_alpha_prod * original_samples + sqrt_one_minus_alpha_prod * noise

    return DPMSolverMultistepScheduler


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn

    class Denoiser(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.time_mlp = nn.Sequential(nn.Linear(8, 16), nn.SiLU())
            self.net = nn.Sequential(nn.Linear(D + 16, 32), nn.SiLU(), nn.Linear(32, D))

        def forward(self, x: Any, t: Any) -> Any:
            if not torch.is_tensor(t):
                t = torch.tensor([t], dtype=torch.long)
            elif t.ndim == 0:
                t = t[None]
            t = t.expand(x.shape[0])
            freqs = torch.exp(-math.log(10000) * torch.arange(4, dtype=torch.float32) / 4)
            args = t[:, None].float() * freqs[None]
            emb = self.time_mlp(torch.cat([torch.sin(args), torch.cos(args)], dim=-1))
            return self.net(torch.cat([x, emb], dim=-1))

    return Denoiser()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(3)
    Scheduler = _scheduler(torch)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    values: list[float] = []

    train_sched = Scheduler()
    values += [train_sched.lambda_t[0].item(), train_sched.lambda_t[-1].item()]
    values += [train_sched.sigmas[50].item(), train_sched.alphas_cumprod[-1].item()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    data = np.tanh(rng.standard_normal((BATCH, D))).astype(np.float32)
    clean = torch.from_numpy(data)
    for _ in range(STEPS):
        noise = torch.from_numpy(rng.standard_normal((BATCH, D)).astype(np.float32))
        timesteps = torch.from_numpy(rng.integers(0, T_TRAIN, (BATCH,)))
        noisy = train_sched.add_noise(clean, noise, timesteps)
        loss = F.mse_loss(model(noisy, timesteps), noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    model.eval()
    configs = [
        dict(timestep_spacing="linspace"),
        dict(timestep_spacing="leading", steps_offset=1, solver_type="heun"),
        dict(timestep_spacing="trailing", thresholding=True, sample_max_value=1.5),
        dict(timestep_spacing="linspace", solver_order=1, final_sigmas_type="sigma_min"),
    ]
    start = rng.standard_normal((BATCH, 2, 3)).astype(np.float32)
    for cfg in configs:
        scheduler = Scheduler(**cfg)
        scheduler.set_timesteps(INFER)
        values += scheduler.timesteps.tolist() + scheduler.sigmas.tolist()
        latents = torch.from_numpy(start.copy()) * scheduler.init_noise_sigma
        with torch.no_grad():
            for _i, t in enumerate(scheduler.timesteps):
                noise_pred = model(latents.reshape(BATCH, D), t).reshape(latents.shape)
                latents = scheduler.step(noise_pred, t, latents).get("prev_sample")
                values += [latents.abs().mean().item(), float(scheduler.lower_order_nums)]
        values += latents.flatten().tolist()
    one = Scheduler()
    one.set_timesteps(INFER)
    out = one.step(
        as_tensor(torch, start), one.timesteps[2], as_tensor(torch, start), return_dict=False
    )[0]
    values += [float(one.step_index), out.sum().item()]
    return values
