"""chenmingxiang110/Growing-Neural-Cellular-Automata (``lib/CAModel.py``, ``lib/utils_vis.py``,
``growing_ca.ipynb``), the PyTorch port of distill.pub's "Growing Neural Cellular Automata",
size-reduced: ``CAModel`` with ``self.fc1.weight.zero_()`` under ``torch.no_grad()`` and
``self.to(self.device)``; ``alive`` as ``F.max_pool2d(x[:, 3:4, :, :], kernel_size=3,
stride=1, padding=1) > 0.1``; ``perceive`` building rotated Sobel filters in NumPy
(``np.outer([1, 2, 1], [-1, 0, 1]) / 8.0``, ``dx.T``, ``np.cos(angle*np.pi/180)``) and
applying them depthwise (``torch.from_numpy(weight.astype(np.float32))``, ``.view(1,1,3,3)
.repeat(self.channel_n, 1, 1, 1)``, ``F.conv2d(x, conv_weights, padding=1,
groups=self.channel_n)``), ``torch.cat((x,y1,y2),1)``; ``update`` on channels-last cells
(``x.transpose(1,3)``, the per-pixel ``nn.Linear`` MLP, the stochastic fire mask
``torch.rand([dx.size(0),dx.size(1),dx.size(2),1])>fire_rate`` then ``.float()``,
``(pre_life_mask & post_life_mask).float()``); the notebook's ``make_seed``, the sample pool
ranked by ``loss_f`` (``torch.mean(torch.pow(x[..., :4]-target, 2), [-2,-3,-1])``,
``.detach().cpu().numpy().argsort()[::-1]``, the worst replaced by the seed), ``train`` with
``F.mse_loss(x[:, :, :, :4], target)``, ``optim.Adam(ca.parameters(), lr=lr, betas=betas)``
and ``optim.lr_scheduler.ExponentialLR(optimizer, lr_gamma)`` (the target's batch of one
broadcast, with ``mse_loss``'s size warning), writing ``x.detach().cpu()
.numpy()`` back into the pool.

Changed: 40x40 emoji target -> an 8x8 NumPy pattern, 16 -> 8 channels, hidden 128 -> 16, pool
1024 -> 6 with batches of 3, 64-96 CA steps -> 4, 8000 iterations -> 3; the pool's random
indices from a seeded NumPy generator.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
CHANNEL_N, CELL_FIRE_RATE, TARGET_SIZE = 8, 0.5, 8


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class CAModel(nn.Module):
        def __init__(self, channel_n: int, fire_rate: float, device: Any,
                     hidden_size: int = 16) -> None:  # fmt: skip
            super(CAModel, self).__init__()  # noqa: UP008

            self.device = device
            self.channel_n = channel_n

            self.fc0 = nn.Linear(channel_n * 3, hidden_size)
            self.fc1 = nn.Linear(hidden_size, channel_n, bias=False)
            with torch.no_grad():
                self.fc1.weight.zero_()

            self.fire_rate = fire_rate
            self.to(self.device)

        def alive(self, x: Any) -> Any:
            return F.max_pool2d(x[:, 3:4, :, :], kernel_size=3, stride=1, padding=1) > 0.1

        def perceive(self, x: Any, angle: float) -> Any:
            def _perceive_with(x: Any, weight: Any) -> Any:
                conv_weights = torch.from_numpy(weight.astype(np.float32)).to(self.device)
                conv_weights = conv_weights.view(1, 1, 3, 3).repeat(self.channel_n, 1, 1, 1)
                return F.conv2d(x, conv_weights, padding=1, groups=self.channel_n)

            dx = np.outer([1, 2, 1], [-1, 0, 1]) / 8.0  # Sobel filter
            dy = dx.T
            c = np.cos(angle * np.pi / 180)
            s = np.sin(angle * np.pi / 180)
            w1 = c * dx - s * dy
            w2 = s * dx + c * dy

            y1 = _perceive_with(x, w1)
            y2 = _perceive_with(x, w2)
            y = torch.cat((x, y1, y2), 1)
            return y

        def update(self, x: Any, fire_rate: float | None, angle: float) -> Any:
            x = x.transpose(1, 3)
            pre_life_mask = self.alive(x)

            dx = self.perceive(x, angle)
            dx = dx.transpose(1, 3)
            dx = self.fc0(dx)
            dx = F.relu(dx)
            dx = self.fc1(dx)

            if fire_rate is None:
                fire_rate = self.fire_rate
            stochastic = torch.rand([dx.size(0), dx.size(1), dx.size(2), 1]) > fire_rate
            stochastic = stochastic.float().to(self.device)
            dx = dx * stochastic

            x = x + dx.transpose(1, 3)

            post_life_mask = self.alive(x)
            life_mask = (pre_life_mask & post_life_mask).float()
            x = x * life_mask
            return x.transpose(1, 3)

        def forward(self, x: Any, steps: int = 1, fire_rate: float | None = None,
                    angle: float = 0.0) -> Any:  # fmt: skip
            for _step in range(steps):
                x = self.update(x, fire_rate, angle)
            return x

    return CAModel(CHANNEL_N, CELL_FIRE_RATE, torch.device("cpu"))


def make_seed(shape: tuple, n_channels: int) -> np.ndarray:
    seed = np.zeros([shape[0], shape[1], n_channels], np.float32)
    seed[shape[0] // 2, shape[1] // 2, 3:] = 1.0
    return seed


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, F, optim = torch_like, torch_like.nn.functional, torch_like.optim
    rng = np.random.default_rng(21)
    torch.manual_seed(3)
    device = torch.device("cpu")
    target_img = rng.random((TARGET_SIZE, TARGET_SIZE, 4)).astype(np.float32)
    target_img[..., 3] = (target_img[..., 3] > 0.4).astype(np.float32)
    p = 1
    pad_target = np.pad(target_img, [(p, p), (p, p), (0, 0)])
    h, w = pad_target.shape[:2]
    pad_target = np.expand_dims(pad_target, axis=0)
    pad_target = torch.from_numpy(pad_target.astype(np.float32)).to(device)

    seed = make_seed((h, w), CHANNEL_N)
    pool = np.repeat(seed[None, ...], 6, 0)
    ca = make_model(torch_like)
    load_numpy_state(torch_like, ca, init)
    optimizer = optim.Adam(ca.parameters(), lr=2e-3, betas=(0.5, 0.5))
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, 0.9999)

    def loss_f(x: Any, target: Any) -> Any:
        return torch.mean(torch.pow(x[..., :4] - target, 2), [-2, -3, -1])

    def train(x: Any, target: Any, steps: int, optimizer: Any, scheduler: Any) -> tuple:
        x = ca(x, steps=steps)
        with warnings.catch_warnings():  # the (1, h, w, 4) target broadcast (a script goes on)
            warnings.filterwarnings("ignore", "Using a target size", UserWarning)
            loss = F.mse_loss(x[:, :, :, :4], target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        return x, loss

    values: list[float] = []
    batch_size = 3
    for _i in range(3):
        batch_idx = rng.choice(len(pool), batch_size, replace=False)
        x0 = pool[batch_idx]
        loss_rank = (
            loss_f(
                torch.from_numpy(x0.astype(np.float32)).to(device),
                pad_target.repeat(batch_size, 1, 1, 1),
            )  # fmt: skip
            .detach()
            .cpu()
            .numpy()
            .argsort()[::-1]
        )
        x0 = x0[loss_rank]
        x0[:1] = seed
        x0 = torch.from_numpy(x0.astype(np.float32)).to(device)
        x, loss = train(x0, pad_target, 4, optimizer, scheduler)
        pool[batch_idx] = x.detach().cpu().numpy()
        values += [loss.item(), float(np.abs(pool).sum()), optimizer.param_groups[0]["lr"]]
    return values
