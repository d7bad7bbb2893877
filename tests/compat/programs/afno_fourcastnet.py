"""FourCastNet's Adaptive Fourier Neural Operator (Guibas et al. 2022, Pathak et al. 2022) as
NVlabs/AFNO-transformer's ``afno/afno2d.py`` and NVlabs/FourCastNet's ``networks/afnonet.py``
write it, size-reduced to a one-step weather-style forecaster.

The idioms: ``AFNO2D.forward`` (``bias = x``, ``dtype = x.dtype``, ``x = x.float()``, ``x =
x.reshape(B, H, W, C)``, ``torch.fft.rfft2(x, dim=(1, 2), norm="ortho")``, the block-diagonal
complex MLP written on real and imaginary parts with ``torch.einsum('...bi,bio->...bo',
x.real, self.w1[0]) - torch.einsum(..., x.imag, self.w1[1]) + self.b1[0]`` into preallocated
``torch.zeros([B, H, W // 2 + 1, self.num_blocks, self.block_size * self.hidden_size_factor],
device=x.device)`` buffers sliced to the kept modes ``total_modes // 2 + 1 - kept_modes : ...``
with ``hard_thresholding_fraction``, ``F.relu``, ``torch.stack([o2_real, o2_imag], dim=-1)``,
``F.softshrink(x, lambd=self.sparsity_threshold)``, ``torch.view_as_complex(x)``,
``torch.fft.irfft2(x, s=(H, W), dim=(1, 2), norm="ortho")``, ``x.type(dtype)``, ``x + bias``);
the weights ``self.scale * torch.randn(2, self.num_blocks, self.block_size, self.block_size *
self.hidden_size_factor)``; ``PatchEmbed`` (a strided ``nn.Conv2d``, ``.flatten(2).transpose(1,
2)``); ``Block`` with ``double_skip``; ``trunc_normal_(self.pos_embed, std=.02)`` and
``_init_weights``; the head ``nn.Linear(embed_dim, out_chans * patch_size ** 2, bias=False)``
un-patchified by ``rearrange(x, "b h w (p1 p2 c_out) -> b c_out (h p1) (w p2)")`` (as
``reshape``/``permute``); FourCastNet's autoregressive two-step loss; ``torch.optim.AdamW`` with
``CosineAnnealingLR``.

Changed: 720x1440 -> 8x8 grid, 2 variables, patch 2, ``embed_dim`` 8 in 2 blocks, depth 2, 4
steps; ``DropPath`` 0 and no ``torch.utils.checkpoint``; the random weights drawn by the torch
model only (``init`` is its state dict).
the model runs in float32 as FourCastNet does (``x.float()`` around the FFTs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 1e-4, 1e-6
IMG, IN_CHANS, PATCH, EMBED, DEPTH, NUM_BLOCKS, BATCH, STEPS = 8, 2, 2, 8, 2, 2, 2, 4


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class AFNO2D(nn.Module):
        def __init__(
            self,
            hidden_size: int,
            num_blocks: int = 8,
            sparsity_threshold: float = 0.01,
            hard_thresholding_fraction: float = 1,
            hidden_size_factor: int = 1,
        ) -> None:
            super().__init__()
            assert hidden_size % num_blocks == 0
            self.hidden_size = hidden_size
            self.sparsity_threshold = sparsity_threshold
            self.num_blocks = num_blocks
            self.block_size = self.hidden_size // self.num_blocks
            self.hard_thresholding_fraction = hard_thresholding_fraction
            self.hidden_size_factor = hidden_size_factor
            self.scale = 0.02
            self.w1 = nn.Parameter(
                self.scale
                * torch.randn(
                    2, self.num_blocks, self.block_size, self.block_size * self.hidden_size_factor
                )
            )
            self.b1 = nn.Parameter(
                self.scale
                * torch.randn(2, self.num_blocks, self.block_size * self.hidden_size_factor)
            )
            self.w2 = nn.Parameter(
                self.scale
                * torch.randn(
                    2, self.num_blocks, self.block_size * self.hidden_size_factor, self.block_size
                )
            )
            self.b2 = nn.Parameter(self.scale * torch.randn(2, self.num_blocks, self.block_size))

        def forward(self, x: Any) -> Any:
            bias = x
            dtype = x.dtype
            x = x.float()
            B, H, W, C = x.shape
            x = torch.fft.rfft2(x, dim=(1, 2), norm="ortho")
            x = x.reshape(B, H, W // 2 + 1, self.num_blocks, self.block_size)
            o1_real = torch.zeros(
                [B, H, W // 2 + 1, self.num_blocks, self.block_size * self.hidden_size_factor],
                device=x.device,
            )
            o1_imag = torch.zeros(
                [B, H, W // 2 + 1, self.num_blocks, self.block_size * self.hidden_size_factor],
                device=x.device,
            )
            o2_real = torch.zeros(x.shape, device=x.device)
            o2_imag = torch.zeros(x.shape, device=x.device)
            total_modes = H // 2 + 1
            kept_modes = int(total_modes * self.hard_thresholding_fraction)
            lo, hi = total_modes - kept_modes, total_modes + kept_modes
            o1_real[:, lo:hi, :kept_modes] = F.relu(
                torch.einsum("...bi,bio->...bo", x[:, lo:hi, :kept_modes].real, self.w1[0])
                - torch.einsum("...bi,bio->...bo", x[:, lo:hi, :kept_modes].imag, self.w1[1])
                + self.b1[0]
            )
            o1_imag[:, lo:hi, :kept_modes] = F.relu(
                torch.einsum("...bi,bio->...bo", x[:, lo:hi, :kept_modes].imag, self.w1[0])
                + torch.einsum("...bi,bio->...bo", x[:, lo:hi, :kept_modes].real, self.w1[1])
                + self.b1[1]
            )
            o2_real[:, lo:hi, :kept_modes] = (
                torch.einsum("...bi,bio->...bo", o1_real[:, lo:hi, :kept_modes], self.w2[0])
                - torch.einsum("...bi,bio->...bo", o1_imag[:, lo:hi, :kept_modes], self.w2[1])
                + self.b2[0]
            )
            o2_imag[:, lo:hi, :kept_modes] = (
                torch.einsum("...bi,bio->...bo", o1_imag[:, lo:hi, :kept_modes], self.w2[0])
                + torch.einsum("...bi,bio->...bo", o1_real[:, lo:hi, :kept_modes], self.w2[1])
                + self.b2[1]
            )
            x = torch.stack([o2_real, o2_imag], dim=-1)
            x = F.softshrink(x, lambd=self.sparsity_threshold)
            x = torch.view_as_complex(x)
            x = x.reshape(B, H, W // 2 + 1, C)
            x = torch.fft.irfft2(x, s=(H, W), dim=(1, 2), norm="ortho")
            x = x.type(dtype)
            return x + bias

    class Mlp(nn.Module):
        def __init__(self, in_features: int, hidden_features: int) -> None:
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden_features, in_features)
            self.drop = nn.Dropout(0.0)

        def forward(self, x: Any) -> Any:
            return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))

    class Block(nn.Module):
        def __init__(self, dim: int, double_skip: bool = True) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.filter = AFNO2D(dim, NUM_BLOCKS, 0.01, 1.0)
            self.drop_path = nn.Identity()
            self.norm2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = Mlp(in_features=dim, hidden_features=int(dim * 4.0))
            self.double_skip = double_skip

        def forward(self, x: Any) -> Any:
            residual = x
            x = self.norm1(x)
            x = self.filter(x)
            if self.double_skip:
                x = x + residual
                residual = x
            x = self.norm2(x)
            x = self.mlp(x)
            x = self.drop_path(x)
            x = x + residual
            return x

    class PatchEmbed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Conv2d(IN_CHANS, EMBED, kernel_size=PATCH, stride=PATCH)

        def forward(self, x: Any) -> Any:
            B, C, H, W = x.shape
            x = self.proj(x).flatten(2).transpose(1, 2)
            return x

    class AFNONet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.h = IMG // PATCH
            self.w = IMG // PATCH
            self.patch_embed = PatchEmbed()
            self.pos_embed = nn.Parameter(torch.zeros(1, self.h * self.w, EMBED))
            self.pos_drop = nn.Dropout(p=0.0)
            self.blocks = nn.ModuleList([Block(EMBED) for _ in range(DEPTH)])
            self.norm = nn.LayerNorm(EMBED, eps=1e-6)
            self.head = nn.Linear(EMBED, IN_CHANS * PATCH * PATCH, bias=False)
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            self.apply(self._init_weights)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)

        def forward_features(self, x: Any) -> Any:
            B = x.shape[0]
            x = self.patch_embed(x)
            x = x + self.pos_embed
            x = self.pos_drop(x)
            x = x.reshape(B, self.h, self.w, EMBED)
            for blk in self.blocks:
                x = blk(x)
            return x

        def forward(self, x: Any) -> Any:
            x = self.forward_features(x)
            x = self.head(x)
            B = x.shape[0]
            x = x.reshape(B, self.h, self.w, PATCH, PATCH, IN_CHANS)
            x = x.permute(0, 5, 1, 3, 2, 4).reshape(B, IN_CHANS, self.h * PATCH, self.w * PATCH)
            return x

    return AFNONet()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)
    rng = np.random.default_rng(11)
    grid = np.linspace(0, 2 * np.pi, IMG, endpoint=False)
    values: list[float] = []
    for _ in range(STEPS):
        phase = rng.random((BATCH, IN_CHANS, 1, 1)) * 2 * np.pi
        states = [
            np.sin(grid[None, None, :, None] + phase + 0.3 * k) * np.cos(grid) for k in range(3)
        ]
        inp, tar1, tar2 = (as_tensor(torch, s.astype(np.float32)) for s in states)
        gen_step_one = model(inp)
        loss_step_one = torch.nn.functional.mse_loss(gen_step_one, tar1)
        gen_step_two = model(gen_step_one)
        loss_step_two = torch.nn.functional.mse_loss(gen_step_two, tar2)
        loss = loss_step_one + loss_step_two
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values.extend([loss_step_one.item(), loss_step_two.item()])
    return values
