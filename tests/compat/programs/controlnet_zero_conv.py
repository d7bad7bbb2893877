"""ControlNet as lllyasviel/ControlNet (``cldm/cldm.py``, ``tool_add_control.py``,
``tutorial_train.py``) and diffusers' ``ControlNetModel.from_unet`` write it, on a tiny
U-Net, size-reduced.

The idioms: ``zero_module`` (``for p in module.parameters(): p.detach().zero_()``) and
``nn.init.zeros_`` on the 1x1 ``make_zero_conv`` convs; the ``input_hint_block`` (3x3 convs,
``stride=2`` downsampling, ``nn.SiLU()``, ending in a zero conv); the trainable copy of the
encoder (``copy.deepcopy(unet.down_blocks)``, and a ``ControlNet`` built empty then filled with
``model.load_state_dict(target_dict, strict=False)`` from the U-Net's ``state_dict()`` as
``tool_add_control.py`` does, its ``missing_keys`` / ``unexpected_keys`` read back); the
residual injection (``h = h + hint`` after the first block, ``outs.append(zero_conv(h,
emb))``, ``control.pop()`` added to each skip, ``h += control.pop()`` at the middle block,
``control_scales``); the check that a fresh ControlNet leaves the base model's output unchanged
(``torch.equal``, ``torch.allclose``); training with the base frozen (``unet.requires_grad_(
False)``, ``params = list(self.control_model.parameters())``, ``torch.optim.AdamW(params,
lr=lr)``, ``sd_locked``), checking that the base weights did not move and that only the zero
convs' gradient is non-zero on the first step (the zero-conv trick); ``@torch.no_grad()``
inference with a guess-mode-style scale ``[strength * (0.825 ** float(12 - i)) for i in
range(13)]``.

Changed: SD's 4-level U-Net -> 2 levels of 8 / 16 channels on 8 x 8 inputs (hints 32 x 32), a
sinusoidal-free scalar time embedding; data from NumPy.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

C1, C2, IMG, HINT, BATCH = 8, 16, 8, 32, 2


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    def zero_module(module: Any) -> Any:
        for p in module.parameters():
            p.detach().zero_()
        return module

    class ResBlock(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.norm = nn.GroupNorm(4, cin)
            self.conv = nn.Conv2d(cin, cout, 3, padding=1)
            self.emb = nn.Linear(4, cout)
            self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x: Any, emb: Any) -> Any:
            h = self.conv(F.silu(self.norm(x)))
            h = h + self.emb(emb)[:, :, None, None]
            return self.skip(x) + h

    class DownBlocks(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv_in = nn.Conv2d(3, C1, 3, padding=1)
            self.block1 = ResBlock(C1, C1)
            self.down = nn.Conv2d(C1, C1, 3, stride=2, padding=1)
            self.block2 = ResBlock(C1, C2)
            self.mid = ResBlock(C2, C2)

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.time_embed = nn.Sequential(nn.Linear(1, 4), nn.SiLU(), nn.Linear(4, 4))
            self.down_blocks = DownBlocks()
            self.up2 = ResBlock(C2 + C2, C1)
            self.up1 = ResBlock(C1 + C1, C1)
            self.out = nn.Sequential(nn.GroupNorm(4, C1), nn.SiLU(), nn.Conv2d(C1, 3, 3, padding=1))

        def forward(self, x: Any, timesteps: Any, control: Any = None) -> Any:
            emb = self.time_embed(timesteps[:, None].to(x.dtype) / 100)
            d = self.down_blocks
            hs = []
            h = d.conv_in(x)
            h = d.block1(h, emb)
            hs.append(h)
            h = d.block2(d.down(h), emb)
            hs.append(h)
            h = d.mid(h, emb)
            if control is not None:
                h += control.pop()
            for up in (self.up2, self.up1):
                skip = hs.pop()
                if control is not None:
                    skip = skip + control.pop()
                if skip.shape[-1] != h.shape[-1]:
                    h = F.interpolate(h, scale_factor=2, mode="nearest")
                h = up(torch.cat([h, skip], dim=1), emb)
            return self.out(h)

    class ControlNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.time_embed = nn.Sequential(nn.Linear(1, 4), nn.SiLU(), nn.Linear(4, 4))
            self.down_blocks = DownBlocks()
            self.input_hint_block = nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1),
                nn.SiLU(),
                nn.Conv2d(4, 4, 3, padding=1, stride=2),
                nn.SiLU(),
                nn.Conv2d(4, 8, 3, padding=1, stride=2),
                nn.SiLU(),
                zero_module(nn.Conv2d(8, C1, 3, padding=1)),
            )
            self.zero_convs = nn.ModuleList([self.make_zero_conv(C1), self.make_zero_conv(C2)])
            self.middle_block_out = self.make_zero_conv(C2)

        def make_zero_conv(self, channels: int) -> Any:
            conv = nn.Conv2d(channels, channels, 1, padding=0)
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
            return conv

        def forward(self, x: Any, hint: Any, timesteps: Any) -> list[Any]:
            emb = self.time_embed(timesteps[:, None].to(x.dtype) / 100)
            guided_hint = self.input_hint_block(hint)
            d = self.down_blocks
            outs = []
            h = d.conv_in(x)
            h = h + guided_hint
            h = d.block1(h, emb)
            outs.append(self.zero_convs[0](h))
            h = d.block2(d.down(h), emb)
            outs.append(self.zero_convs[1](h))
            h = d.mid(h, emb)
            outs.append(self.middle_block_out(h))
            return outs

    return UNet, ControlNet


def make_model(torch_like: Any) -> Any:
    UNet, _ = _classes(torch_like)
    return UNet()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(17)
    UNet, ControlNet = _classes(torch)
    unet = UNet()
    load_numpy_state(torch, unet, init)
    values: list[float] = []

    x = as_tensor(torch, rng.standard_normal((BATCH, 3, IMG, IMG)))
    t = as_tensor(torch, np.array([10, 70]))
    target = as_tensor(torch, rng.standard_normal((BATCH, 3, IMG, IMG)))
    base_opt = torch.optim.SGD(unet.parameters(), lr=0.05, momentum=0.9)
    for _ in range(2):
        loss = F.mse_loss(unet(x, t), target)
        base_opt.zero_grad()
        loss.backward()
        base_opt.step()
        values.append(loss.item())

    control_model = ControlNet()
    # the hint encoder's own random init, the same in both runs (from NumPy)
    hint_init = {
        k: as_tensor(torch, 0.3 * rng.standard_normal(tuple(v.shape)))
        for k, v in control_model.input_hint_block.state_dict().items()
        if not k.startswith("6.")
    }
    control_model.input_hint_block.load_state_dict(hint_init, strict=False)
    scratch = {k: v.clone() for k, v in control_model.state_dict().items()}
    target_dict = {}
    for k in scratch:
        if k in unet.state_dict():
            target_dict[k] = unet.state_dict()[k].clone()
    result = control_model.load_state_dict(target_dict, strict=False)
    values += [float(len(result.missing_keys)), float(len(result.unexpected_keys))]
    values.append(float(sorted(result.missing_keys)[0] == "input_hint_block.0.bias"))
    copied = copy.deepcopy(unet.down_blocks)
    values.append(
        float(
            all(
                torch.equal(a, b)
                for a, b in zip(copied.parameters(), control_model.down_blocks.parameters())
            )
        )
    )
    values.append(float(copied.conv_in.weight is not unet.down_blocks.conv_in.weight))
    control_model.down_blocks = copied

    hint = as_tensor(torch, (rng.uniform(size=(BATCH, 1, HINT, HINT)) > 0.5).astype(np.float64))
    with torch.no_grad():
        base_out = unet(x, t)
        control = control_model(x, hint, t)
        values += [c.abs().sum().item() for c in control]
        with_control = unet(x, t, control=list(control))
        values += [
            float(torch.equal(base_out, with_control)),
            float(torch.allclose(base_out, with_control)),
        ]

    unet.requires_grad_(False)
    unet.eval()
    params = list(control_model.parameters())
    opt = torch.optim.AdamW(params, lr=1e-2)
    frozen = [p.clone() for p in unet.parameters()]
    for step in range(3):
        control = control_model(x, hint, t)
        eps = unet(x, t, control=control)
        loss = F.mse_loss(eps, target, reduction="mean")
        opt.zero_grad()
        loss.backward()
        if step == 0:
            nonzero = [
                n
                for n, p in control_model.named_parameters()
                if p.grad is not None and p.grad.abs().sum().item() > 0
            ]
            values += [
                float(len(nonzero)),
                float(
                    all(
                        "zero" in n or "middle" in n or n.startswith("input_hint_block.6")
                        for n in nonzero
                    )
                ),
            ]
        opt.step()
        values.append(loss.item())
    values.append(float(all(p.grad is None for p in unet.parameters())))
    values.append(float(all(torch.equal(a, b) for a, b in zip(frozen, unet.parameters()))))
    values += [
        control_model.zero_convs[0].weight.abs().sum().item(),
        control_model.middle_block_out.bias.abs().sum().item(),
    ]

    strength = 0.7
    control_scales = [strength * (0.825 ** float(2 - i)) for i in range(3)]
    with torch.no_grad():
        control = control_model(x, hint, t)
        control = [c * scale for c, scale in zip(control, control_scales)]
        out = unet(x, t, control=control)
        values += [out.abs().mean().item(), (out - base_out).abs().max().item()]
    return values
