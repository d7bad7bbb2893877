"""Growing Neural Cellular Automata (Mordvintsev et al., distill.pub 2020) as its PyTorch ports
write it (the ``CAModel`` of the distill colab's PyTorch rewrites and of the "Self-Organising
Textures" notebook), size-reduced.

The idioms: perception filters built from tensors (``ident = torch.tensor([[0.0, 0.0, 0.0],
[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])``, ``sobel_x = torch.outer(torch.tensor([1.0, 2.0, 1.0]),
torch.tensor([-1.0, 0.0, 1.0])) / 8.0``, the rotated pair ``c * sobel_x - s * sobel_x.T``,
``torch.stack([ident, dx, dy])``) and applied per channel (``filters.repeat(self.channel_n, 1,
1)[:, None]`` into ``F.conv2d(x, kernel, padding=1, groups=self.channel_n)``, and the textures
notebook's ``perchannel_conv``: ``x.reshape(b * ch, 1, h, w)``, ``F.pad(y, [1, 1, 1, 1],
"circular")``, ``F.conv2d(y, filters[:, None])``, ``y.reshape(b, -1, h, w)``); the update rule
as two 1x1 convolutions (``nn.Conv2d(channel_n * 3, hidden_size, 1)``, ``nn.Conv2d(hidden_size,
channel_n, 1, bias=False)`` with ``self.w2.weight.data.zero_()`` so that the CA starts as the
identity); the stochastic update ``update_mask = (torch.rand(b, 1, h, w) + fire_rate).floor()``
and the ``torch.rand(...) < fire_rate`` form; alive masking ``F.max_pool2d(x[:, 3:4, :, :],
kernel_size=3, stride=1, padding=1) > 0.1`` before and after the update, combined as
``(pre_life_mask & post_life_mask).float()``; the seed (``np.zeros([h, w, channel_n])`` with
``seed[h // 2, w // 2, 3:] = 1.0``); the sample pool (``batch_idx = np.random.choice(
len(pool), BATCH_SIZE, replace=False)``, ``x0 = pool[batch_idx]`` through an index tensor,
``loss_rank = loss_f(x0, target).argsort(descending=True)``, ``x0 = x0[loss_rank]``, ``x0[:1] =
seed``, and ``pool[batch_idx] = x.detach()`` after the step); the per-sample loss
``((x[:, :4] - target) ** 2).mean([-2, -3, -1])``; a random number of CA steps per batch
(``np.random.randint(64, 96)``); and the training step (``optim.Adam(ca.parameters(),
lr=2e-3)``, ``lr_scheduler.MultiStepLR(optimizer, [2000], 0.1)``, the per-parameter gradient
normalisation ``p.grad /= (p.grad.norm() + 1e-8)`` under ``torch.no_grad()``, ``loss.backward()``
after ``loss = loss.mean()``).

Changed: a 40x40 emoji target -> an 8x8 ring drawn by NumPy; 16 channels and 128 hidden units
-> 8 and 16; 64-96 steps -> 3-5; a pool of 1024 -> 8, batches of 8 -> 3; 3 training steps. The
update-mask draws come from NumPy (the two libraries' generators differ), through ``ca.rand``,
which is ``torch.rand`` unless a run supplies its own; one check uses ``torch.rand`` itself and
compares only what holds for every draw. Float64, so that an alive mask ``> 0.1`` cannot fall
on different sides of the threshold in the two runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

CHANNEL_N, HIDDEN, SIZE, POOL, BATCH, FIRE_RATE = 8, 16, 8, 8, 3, 0.5


def _classes(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def perception_filters(angle: float = 0.0) -> Any:
        ident = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
        sobel_x = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([-1.0, 0.0, 1.0])) / 8.0
        c, s = math.cos(angle), math.sin(angle)
        dx = c * sobel_x - s * sobel_x.T
        dy = s * sobel_x + c * sobel_x.T
        return torch.stack([ident, dx, dy])

    def perchannel_conv(x: Any, filters: Any) -> Any:
        """The textures notebook's wrap-around perception."""
        b, ch, h, w = x.shape
        y = x.reshape(b * ch, 1, h, w)
        y = F.pad(y, [1, 1, 1, 1], "circular")
        y = F.conv2d(y, filters[:, None])
        return y.reshape(b, -1, h, w)

    class CAModel(nn.Module):
        def __init__(self, channel_n: int, fire_rate: float, hidden_size: int = 128) -> None:
            super().__init__()
            self.channel_n = channel_n
            self.fire_rate = fire_rate
            self.w1 = nn.Conv2d(channel_n * 3, hidden_size, 1)
            self.w2 = nn.Conv2d(hidden_size, channel_n, 1, bias=False)
            self.w2.weight.data.zero_()
            self.rand = torch.rand

        def alive(self, x: Any) -> Any:
            return F.max_pool2d(x[:, 3:4, :, :], kernel_size=3, stride=1, padding=1) > 0.1

        def perceive(self, x: Any, angle: float = 0.0) -> Any:
            filters = perception_filters(angle).to(x.dtype)
            kernel = filters.repeat(self.channel_n, 1, 1)[:, None]
            return F.conv2d(x, kernel, padding=1, groups=self.channel_n)

        def update(self, x: Any, fire_rate: float | None, angle: float) -> Any:
            pre_life_mask = self.alive(x)
            y = self.perceive(x, angle)
            dx = self.w2(torch.relu(self.w1(y)))
            if fire_rate is None:
                fire_rate = self.fire_rate
            b, _, h, w = x.shape
            update_mask = (self.rand(b, 1, h, w) + fire_rate).floor()
            x = x + dx * update_mask.to(x.dtype)
            post_life_mask = self.alive(x)
            life_mask = (pre_life_mask & post_life_mask).float()
            return x * life_mask.to(x.dtype)

        def forward(self, x: Any, steps: int = 1, fire_rate: float | None = None) -> Any:
            for _step in range(steps):
                x = self.update(x, fire_rate, 0.0)
            return x

    return CAModel, perception_filters, perchannel_conv


def make_model(torch_like: Any) -> Any:
    CAModel, _, _ = _classes(torch_like)
    return CAModel(CHANNEL_N, FIRE_RATE, hidden_size=HIDDEN)


def _target() -> np.ndarray:
    """An RGBA ring: colour where alive, alpha 1 on the ring, 0 elsewhere."""
    yy, xx = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    r = np.sqrt(xx**2 + yy**2)
    alpha = ((r > 1.2) & (r < 3.2)).astype(np.float64)
    rgb = np.stack([alpha * 0.9, alpha * (0.3 + 0.1 * xx / SIZE), alpha * 0.5])
    return np.concatenate([rgb, alpha[None]])[None]  # (1, 4, h, w)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    CAModel, perception_filters, perchannel_conv = _classes(torch_like)
    rng = np.random.default_rng(11)

    def numpy_rand(*shape: int) -> Any:
        return as_tensor(torch, rng.random(shape))

    ca = CAModel(CHANNEL_N, FIRE_RATE, hidden_size=HIDDEN)
    load_numpy_state(torch, ca, init)
    with torch.no_grad():  # w2 starts at zero as in the notebook; nudge it so that steps move
        ca.w2.weight.copy_(as_tensor(torch, 0.05 * rng.standard_normal(ca.w2.weight.shape)))
    ca.rand = numpy_rand

    target = as_tensor(torch, _target())
    seed = np.zeros([CHANNEL_N, SIZE, SIZE])
    seed[3:, SIZE // 2, SIZE // 2] = 1.0
    seed_t = as_tensor(torch, seed)
    pool = torch.repeat_interleave(seed_t[None], POOL, dim=0)
    optimizer = torch.optim.Adam(ca.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [2], 0.1)

    def loss_f(x: Any, target: Any) -> Any:
        return ((x[:, :4] - target) ** 2).mean([-2, -3, -1])

    values: list[float] = []
    for _i in range(3):
        batch_idx = rng.choice(len(pool), BATCH, replace=False)
        x0 = pool[torch.from_numpy(batch_idx)]
        loss_rank = loss_f(x0, target).argsort(descending=True)
        x0 = x0[loss_rank]
        x0[:1] = seed_t
        steps = int(rng.integers(3, 6))
        x = ca(x0, steps=steps)
        loss = loss_f(x, target).mean()
        optimizer.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in ca.parameters():
                p.grad /= p.grad.norm() + 1e-8
        optimizer.step()
        scheduler.step()
        pool[torch.from_numpy(batch_idx)] = x.detach()
        values += [loss.item(), float(steps), x[:, 3].sum().item(), pool.abs().sum().item()]
        values += [ca.w1.weight.grad.norm().item(), optimizer.param_groups[0]["lr"]]

    # alive masking on its own: a lone live cell keeps its 3x3 neighbourhood
    with torch.no_grad():
        alive = ca.alive(seed_t[None])
        values += [alive.sum().item(), float(alive.dtype == torch.bool)]
        grown = ca(seed_t[None], steps=2, fire_rate=1.0)
        values += [grown.sum().item(), (grown[:, 3:4] > 0.1).sum().item()]

    # the filters and the two perception forms agree away from the border
    filters = perception_filters(0.3)
    values += filters.flatten().tolist()
    x = as_tensor(torch, rng.standard_normal((2, CHANNEL_N, SIZE, SIZE)))
    grouped = ca.perceive(x, 0.3)
    wrapped = perchannel_conv(x, filters)
    values += [grouped.sum().item(), wrapped.sum().item()]
    values.append((grouped[..., 1:-1, 1:-1] - wrapped[..., 1:-1, 1:-1]).abs().max().item())

    # torch.rand's own update mask: a 0/1 mask, whatever the draw
    torch.manual_seed(0)
    draw = torch.rand(4, 1, SIZE, SIZE) < FIRE_RATE
    update_mask = (torch.rand(4, 1, SIZE, SIZE) + FIRE_RATE).floor()
    values += [float(draw.dtype == torch.bool), float(0 < draw.float().mean().item() < 1)]
    values.append(float(set(update_mask.unique().tolist()) == {0.0, 1.0}))
    values.append(float(F.max_pool2d(x[:, 3:4], 3, 1, 1).shape == (2, 1, SIZE, SIZE)))
    return values
