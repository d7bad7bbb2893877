"""Rectified flow / conditional flow matching the way the minimal single-file implementations
(``rectified-flow`` notebooks, TorchCFM's ``ConditionalFlowMatcher`` examples, the "flow matching
in 100 lines" tutorials) write it, size-reduced: a ``SinusoidalTimeEmbedding`` (``half = dim //
2``, ``freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) /
half)``, ``args = t[:, None].float() * freqs[None]``, ``torch.cat([torch.cos(args),
torch.sin(args)], dim=-1)``); a velocity ``MLP`` fed ``torch.cat([x_t, t_emb], dim=-1)`` through
``nn.SiLU`` layers; the training step with ``x0 = noise``, ``x1 = data``, ``t`` uniform in
``[0, 1)`` reshaped with ``t.view(-1, *([1] * (x1.dim() - 1)))``, the straight path ``x_t = (1 -
t) * x0 + t * x1``, the velocity target ``x1 - x0`` and ``F.mse_loss``; ``torch.optim.Adam`` with
``torch.nn.utils.clip_grad_norm_``; an EMA of the weights (``ema_p.mul_(decay).add_(p.detach(),
alpha=1 - decay)`` under ``torch.no_grad()``); and two ODE samplers from noise to data: Euler
(``x = x + dt * v``) under ``@torch.no_grad()`` and the explicit midpoint rule (``x_mid = x + 0.5
* dt * v(x, t)``, ``x = x + dt * v(x_mid, t + 0.5 * dt)``) under ``torch.inference_mode()``,
with ``torch.full((n,), t_val)`` time batches, plus the 1-step "reflow" sample and the
straightness of the learned flow (mean ``||v(x_t, t) - (x1 - x0)||^2`` on the coupling).

Changed: the data are a NumPy two-moons-like 2-D set of 64 points; ``t`` and ``x0 = torch.
randn_like(x1)`` are drawn with a seeded NumPy generator (the frameworks' generators differ);
hidden 256 -> 16, 60 steps of batch 16, 8 sampler steps. The time embedding is float32
(``.float()``, as written) inside a float64 model, and float32 ``cos``/``sin`` differ by an
ulp between NumPy and PyTorch's kernels, so the run is compared at float32's tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

RTOL, ATOL = 1e-5, 1e-7
DIM, HIDDEN, T_EMB, STEPS, BATCH, SAMPLE_STEPS = 2, 16, 8, 60, 16, 8


def _model_class(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn

    class SinusoidalTimeEmbedding(nn.Module):
        def __init__(self, dim: int, max_period: float = 10000.0) -> None:
            super().__init__()
            self.dim = dim
            self.max_period = max_period

        def forward(self, t: Any) -> Any:
            half = self.dim // 2
            freqs = torch.exp(
                -math.log(self.max_period) * torch.arange(half, dtype=torch.float32) / half
            ).to(t.device)
            args = t[:, None].float() * freqs[None]
            emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
            return emb.to(t.dtype)

    class VelocityMLP(nn.Module):
        def __init__(self, dim: int = DIM, hidden: int = HIDDEN, t_dim: int = T_EMB) -> None:
            super().__init__()
            self.time_embed = nn.Sequential(
                SinusoidalTimeEmbedding(t_dim), nn.Linear(t_dim, t_dim), nn.SiLU()
            )
            self.net = nn.Sequential(
                nn.Linear(dim + t_dim, hidden),
                nn.SiLU(),
                nn.Linear(hidden, hidden),
                nn.SiLU(),
                nn.Linear(hidden, dim),
            )

        def forward(self, x: Any, t: Any) -> Any:
            # scale t to [0, 1000) as the DDPM-style embeddings expect
            t_emb = self.time_embed(t * 1000.0)
            return self.net(torch.cat([x, t_emb], dim=-1))

    return VelocityMLP


def make_model(torch_like: Any) -> Any:
    return _model_class(torch_like)()


def _moons(n: int, rng: np.random.Generator) -> np.ndarray:
    theta = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(theta), 1 - np.cos(theta))
    y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta))
    return np.stack([x, y], axis=1) + 0.05 * rng.standard_normal((n, 2))


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    rng = np.random.default_rng(7)
    data = torch.tensor(_moons(64, rng), dtype=torch.get_default_dtype())
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    ema = make_model(torch_like)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    values: list[float] = []

    def sample_batch() -> tuple[Any, Any, Any]:
        idx = rng.integers(0, data.shape[0], BATCH)
        x1 = data[torch.from_numpy(idx)]
        x0 = torch.from_numpy(rng.standard_normal(x1.shape)).to(x1.dtype)  # randn_like(x1)
        t = torch.from_numpy(rng.random(x1.shape[0])).to(x1)  # torch.rand(B)
        return x0, x1, t

    model.train()
    for step in range(STEPS):
        x0, x1, t = sample_batch()
        t_ = t.view(-1, *([1] * (x1.dim() - 1)))
        x_t = (1 - t_) * x0 + t_ * x1
        target = x1 - x0
        pred = model(x_t, t)
        loss = F.mse_loss(pred, target)
        optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            decay = min(0.9, (1 + step) / (10 + step))
            for ema_p, p in zip(ema.parameters(), model.parameters()):
                ema_p.mul_(decay).add_(p.detach(), alpha=1 - decay)
        if step % 5 == 0:
            values += [loss.item(), grad_norm.item()]

    model.eval()

    @torch.no_grad()
    def euler_sample(net: Any, x: Any, n_steps: int) -> Any:
        dt = 1.0 / n_steps
        for i in range(n_steps):
            t = torch.full((x.shape[0],), i * dt, dtype=x.dtype)
            x = x + dt * net(x, t)
        return x

    def midpoint_sample(net: Any, x: Any, n_steps: int) -> Any:
        dt = 1.0 / n_steps
        with torch.inference_mode():
            for i in range(n_steps):
                t = torch.full((x.shape[0],), i * dt, dtype=x.dtype)
                x_mid = x + 0.5 * dt * net(x, t)
                x = x + dt * net(x_mid, t + 0.5 * dt)
        return x

    z = torch.from_numpy(rng.standard_normal((32, DIM))).to(data.dtype)
    for net in (model, ema):
        xe = euler_sample(net, z, SAMPLE_STEPS)
        xm = midpoint_sample(net, z, SAMPLE_STEPS)
        x1step = euler_sample(net, z, 1)
        values += [xe.mean().item(), xe.std().item(), xm.mean(dim=0).tolist()[1]]
        values += [(xe - xm).pow(2).sum(-1).mean().item(), x1step.norm().item()]
        values += [float(xe.requires_grad), float(xm.requires_grad), float(xm.is_inference())]
    values.append(float(torch.is_grad_enabled()))

    # straightness of the learned flow on fresh couplings
    x0, x1, t = sample_batch()
    with torch.no_grad():
        t_ = t[:, None]
        v = model((1 - t_) * x0 + t_ * x1, t)
        values.append(((v - (x1 - x0)) ** 2).sum(dim=1).mean().item())
    return values
