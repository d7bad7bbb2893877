"""tanelp/tiny-diffusion (``ddpm.py``, ``positional_embeddings.py``, ``datasets.py``), the
much-copied minimal DDPM on 2-D toy data, size-reduced: ``SinusoidalEmbedding`` (``x *
self.scale``, ``torch.log(torch.Tensor([10000.0])) / (half_size - 1)``, ``torch.exp(-emb *
torch.arange(half_size))``, ``x.unsqueeze(-1) * emb.unsqueeze(0)``, ``torch.cat((torch.sin(emb),
torch.cos(emb)), dim=-1)``, ``__len__``) and the ``LinearEmbedding``/``LearnableEmbedding``/
``IdentityEmbedding``/``ZeroEmbedding`` choices of ``PositionalEmbedding``; the residual
``Block`` (``x + self.act(self.ff(x))`` with ``nn.GELU``) and the ``MLP`` that concatenates the
embeddings of ``x[:, 0]``, ``x[:, 1]`` and ``t`` (``len(self.time_mlp.layer)`` sizes the first
``nn.Linear``); the ``NoiseScheduler`` (``torch.linspace(..., dtype=torch.float32)`` betas,
linear and quadratic, ``torch.cumprod(alphas, axis=0)``, ``F.pad(alphas_cumprod[:-1], (1, 0),
value=1.)``, the posterior coefficients, ``reconstruct_x0``/``q_posterior``/``get_variance``
(``variance.clip(1e-20)``)/``step``/``add_noise`` indexing the schedules with a timestep tensor
and ``reshape(-1, 1)``, ``__len__``); the ``moons`` dataset as ``TensorDataset(torch.from_numpy(
X.astype(np.float32)))``; the training loop (``DataLoader(..., drop_last=True)``,
``F.mse_loss(noise_pred, noise)``, ``loss.backward(loss)``, ``nn.utils.clip_grad_norm_(
model.parameters(), 1.0)``, ``AdamW``) and the sampling loop (``timesteps =
list(range(len(noise_scheduler)))[::-1]``, ``torch.from_numpy(np.repeat(t,
eval_batch_size)).long()``, ``model(sample, t)`` under ``no_grad``, ``noise_scheduler.step(
residual, t[0], sample)``). Also the Annotated Diffusion ``extract(a, t, x_shape)`` helper
(``a.gather(-1, t)``, ``out.reshape(batch_size, *((1,) * (len(x_shape) - 1)))``) checked
against ``add_noise``.

Changed: 8000 moons points -> 64 (NumPy, without scikit-learn), 50 timesteps; hidden 128 -> 16,
3 blocks -> 2, embedding 128 -> 8; 200 epochs -> 2 of 4 batches, 1000 samples -> 8. Every
random draw -- ``torch.randn(batch.shape)``, ``torch.randint(0, num_timesteps, ...)``, the
starting ``torch.randn(eval_batch_size, 2)`` and the ``torch.randn_like(model_output)`` inside
``step`` -- comes from a seeded NumPy generator through ``from_numpy`` (the two frameworks'
generators differ); ``step`` takes that noise as an extra argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float32"
RTOL = 2e-4
ATOL = 1e-5
HIDDEN, LAYERS, EMB, T = 16, 2, 8, 50


def _classes(torch_like: Any) -> tuple[type, type]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class SinusoidalEmbedding(nn.Module):
        def __init__(self, size: int, scale: float = 1.0):
            super().__init__()
            self.size = size
            self.scale = scale

        def forward(self, x: Any) -> Any:
            x = x * self.scale
            half_size = self.size // 2
            emb = torch.log(torch.Tensor([10000.0])) / (half_size - 1)
            emb = torch.exp(-emb * torch.arange(half_size))
            emb = x.unsqueeze(-1) * emb.unsqueeze(0)
            emb = torch.cat((torch.sin(emb), torch.cos(emb)), dim=-1)
            return emb

        def __len__(self) -> int:
            return self.size

    class LinearEmbedding(nn.Module):
        def __init__(self, size: int, scale: float = 1.0):
            super().__init__()
            self.size = size
            self.scale = scale

        def forward(self, x: Any) -> Any:
            x = x / self.size * self.scale
            return x.unsqueeze(-1)

        def __len__(self) -> int:
            return 1

    class LearnableEmbedding(nn.Module):
        def __init__(self, size: int):
            super().__init__()
            self.size = size
            self.linear = nn.Linear(1, size)

        def forward(self, x: Any) -> Any:
            return self.linear(x.unsqueeze(-1).float() / self.size)

        def __len__(self) -> int:
            return self.size

    class IdentityEmbedding(nn.Module):
        def forward(self, x: Any) -> Any:
            return x.unsqueeze(-1)

        def __len__(self) -> int:
            return 1

    class ZeroEmbedding(nn.Module):
        def forward(self, x: Any) -> Any:
            return x.unsqueeze(-1) * 0

        def __len__(self) -> int:
            return 1

    class PositionalEmbedding(nn.Module):
        def __init__(self, size: int, type: str, **kwargs: Any):  # noqa: A002 (as in the repo)
            super().__init__()

            if type == "sinusoidal":
                self.layer = SinusoidalEmbedding(size, **kwargs)
            elif type == "linear":
                self.layer = LinearEmbedding(size, **kwargs)
            elif type == "learnable":
                self.layer = LearnableEmbedding(size)
            elif type == "zero":
                self.layer = ZeroEmbedding()
            elif type == "identity":
                self.layer = IdentityEmbedding()
            else:
                raise ValueError(f"Unknown positional embedding type: {type}")

        def forward(self, x: Any) -> Any:
            return self.layer(x)

    class Block(nn.Module):
        def __init__(self, size: int):
            super().__init__()
            self.ff = nn.Linear(size, size)
            self.act = nn.GELU()

        def forward(self, x: Any) -> Any:
            return x + self.act(self.ff(x))

    class MLP(nn.Module):
        def __init__(
            self,
            hidden_size: int = 128,
            hidden_layers: int = 3,
            emb_size: int = 128,
            time_emb: str = "sinusoidal",
            input_emb: str = "sinusoidal",
        ):
            super().__init__()

            self.time_mlp = PositionalEmbedding(emb_size, time_emb)
            self.input_mlp1 = PositionalEmbedding(emb_size, input_emb, scale=25.0)
            self.input_mlp2 = PositionalEmbedding(emb_size, input_emb, scale=25.0)

            concat_size = (
                len(self.time_mlp.layer) + len(self.input_mlp1.layer) + len(self.input_mlp2.layer)
            )
            layers = [nn.Linear(concat_size, hidden_size), nn.GELU()]
            for _ in range(hidden_layers):
                layers.append(Block(hidden_size))
            layers.append(nn.Linear(hidden_size, 2))
            self.joint_mlp = nn.Sequential(*layers)

        def forward(self, x: Any, t: Any) -> Any:
            x1_emb = self.input_mlp1(x[:, 0])
            x2_emb = self.input_mlp2(x[:, 1])
            t_emb = self.time_mlp(t)
            x = torch.cat((x1_emb, x2_emb, t_emb), dim=-1)
            x = self.joint_mlp(x)
            return x

    class NoiseScheduler:
        def __init__(
            self,
            num_timesteps: int = 1000,
            beta_start: float = 0.0001,
            beta_end: float = 0.02,
            beta_schedule: str = "linear",
        ):
            self.num_timesteps = num_timesteps
            if beta_schedule == "linear":
                self.betas = torch.linspace(
                    beta_start, beta_end, num_timesteps, dtype=torch.float32
                )
            elif beta_schedule == "quadratic":
                self.betas = (
                    torch.linspace(
                        beta_start**0.5, beta_end**0.5, num_timesteps, dtype=torch.float32
                    )
                    ** 2
                )

            self.alphas = 1.0 - self.betas
            self.alphas_cumprod = torch.cumprod(self.alphas, axis=0)
            self.alphas_cumprod_prev = F.pad(self.alphas_cumprod[:-1], (1, 0), value=1.0)

            # required for self.add_noise
            self.sqrt_alphas_cumprod = self.alphas_cumprod**0.5
            self.sqrt_one_minus_alphas_cumprod = (1 - self.alphas_cumprod) ** 0.5

            # required for reconstruct_x0
            self.sqrt_inv_alphas_cumprod = torch.sqrt(1 / self.alphas_cumprod)
            self.sqrt_inv_alphas_cumprod_minus_one = torch.sqrt(1 / self.alphas_cumprod - 1)

            # required for q_posterior
            self.posterior_mean_coef1 = (
                self.betas * torch.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
            )
            self.posterior_mean_coef2 = (
                (1.0 - self.alphas_cumprod_prev)
                * torch.sqrt(self.alphas)
                / (1.0 - self.alphas_cumprod)
            )

        def reconstruct_x0(self, x_t: Any, t: Any, noise: Any) -> Any:
            s1 = self.sqrt_inv_alphas_cumprod[t]
            s2 = self.sqrt_inv_alphas_cumprod_minus_one[t]
            s1 = s1.reshape(-1, 1)
            s2 = s2.reshape(-1, 1)
            return s1 * x_t - s2 * noise

        def q_posterior(self, x_0: Any, x_t: Any, t: Any) -> Any:
            s1 = self.posterior_mean_coef1[t]
            s2 = self.posterior_mean_coef2[t]
            s1 = s1.reshape(-1, 1)
            s2 = s2.reshape(-1, 1)
            mu = s1 * x_0 + s2 * x_t
            return mu

        def get_variance(self, t: Any) -> Any:
            if t == 0:
                return 0

            variance = (
                self.betas[t] * (1.0 - self.alphas_cumprod_prev[t]) / (1.0 - self.alphas_cumprod[t])
            )
            variance = variance.clip(1e-20)
            return variance

        def step(self, model_output: Any, timestep: Any, sample: Any, noise: Any) -> Any:
            t = timestep
            pred_original_sample = self.reconstruct_x0(sample, t, model_output)
            pred_prev_sample = self.q_posterior(pred_original_sample, sample, t)

            variance = 0
            if t > 0:
                variance = (self.get_variance(t) ** 0.5) * noise

            pred_prev_sample = pred_prev_sample + variance

            return pred_prev_sample

        def add_noise(self, x_start: Any, x_noise: Any, timesteps: Any) -> Any:
            s1 = self.sqrt_alphas_cumprod[timesteps]
            s2 = self.sqrt_one_minus_alphas_cumprod[timesteps]

            s1 = s1.reshape(-1, 1)
            s2 = s2.reshape(-1, 1)

            return s1 * x_start + s2 * x_noise

        def __len__(self) -> int:
            return self.num_timesteps

    return MLP, NoiseScheduler


def make_model(torch_like: Any) -> Any:
    MLP, _ = _classes(torch_like)
    models = torch_like.nn.ModuleDict(
        {
            "sinusoidal": MLP(HIDDEN, LAYERS, EMB),
            "learnable": MLP(HIDDEN, LAYERS, EMB, time_emb="learnable", input_emb="identity"),
        }
    )
    return models


def _moons(rng: np.random.Generator, n: int) -> np.ndarray:
    half = n // 2
    a = np.linspace(0, np.pi, half)
    X = np.concatenate(
        [np.stack([np.cos(a), np.sin(a)], 1), np.stack([1 - np.cos(a), 0.5 - np.sin(a)], 1)]
    )
    X = X + rng.normal(scale=0.03, size=X.shape)
    X[:, 0] = (X[:, 0] + 0.3) * 2 - 1
    X[:, 1] = (X[:, 1] + 0.3) * 3 - 1
    return X


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    TensorDataset = torch_like.utils.data.TensorDataset
    DataLoader = torch_like.utils.data.DataLoader
    _, NoiseScheduler = _classes(torch_like)
    rng = np.random.default_rng(11)
    X = _moons(rng, 64)
    dataset = TensorDataset(torch.from_numpy(X.astype(np.float32)))
    models = make_model(torch_like)
    if init is not None:
        models.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    values: list[float] = []

    def extract(a: Any, t: Any, x_shape: Any) -> Any:
        batch_size = t.shape[0]
        out = a.gather(-1, t.cpu())
        return out.reshape(batch_size, *((1,) * (len(x_shape) - 1))).to(t.device)

    for (name, model), schedule in zip(models.items(), ("linear", "quadratic")):
        dataloader = DataLoader(dataset, batch_size=16, shuffle=False, drop_last=True)
        noise_scheduler = NoiseScheduler(num_timesteps=T, beta_schedule=schedule)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        values.append(float(len(noise_scheduler)))
        for epoch in range(2):
            model.train()
            for step, batch in enumerate(dataloader):
                batch = batch[0]
                noise = torch.from_numpy(rng.standard_normal(batch.shape).astype(np.float32))
                timesteps = torch.from_numpy(rng.integers(0, T, size=(batch.shape[0],))).long()

                noisy = noise_scheduler.add_noise(batch, noise, timesteps)
                noise_pred = model(noisy, timesteps)
                loss = F.mse_loss(noise_pred, noise)
                loss.backward(loss)

                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad()
                values.append(loss.detach().item())
                if epoch == 0 and step == 0:
                    sqrt_ac = extract(noise_scheduler.sqrt_alphas_cumprod, timesteps, batch.shape)
                    sqrt_1m = extract(
                        noise_scheduler.sqrt_one_minus_alphas_cumprod, timesteps, batch.shape
                    )
                    q_sample = sqrt_ac * batch + sqrt_1m * noise
                    values.append((q_sample - noisy).abs().max().item())
            print(f"{name} epoch {epoch}: loss {values[-1]:.4f}")

        # generate data with the model to later visualize the learning process
        model.eval()
        eval_batch_size = 8
        sample = torch.from_numpy(rng.standard_normal((eval_batch_size, 2)).astype(np.float32))
        timesteps = list(range(len(noise_scheduler)))[::-1]
        for _i, t in enumerate(timesteps):
            t = torch.from_numpy(np.repeat(t, eval_batch_size)).long()
            step_noise = torch.from_numpy(
                rng.standard_normal((eval_batch_size, 2)).astype(np.float32)
            )
            with torch.no_grad():
                residual = model(sample, t)
            sample = noise_scheduler.step(residual, t[0], sample, step_noise)
        values += [sample.mean().item(), sample.std().item()]
        values.append(float(noise_scheduler.get_variance(torch.tensor(T - 1))))
    return values


def check(values: list[float]) -> None:
    """The Annotated Diffusion ``extract``-based ``q_sample`` equals ``add_noise``."""
    assert values[2] < 1e-6 and values[15] < 1e-6, (values[2], values[15])
