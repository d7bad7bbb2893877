"""The hierarchical-backbone plumbing that Swin, ConvNeXt and the Vision-Mamba (VMamba) stages
share, as their reference repositories write it, size-reduced, with the selective-scan mixer
replaced by a depthwise-conv + MLP token mixer.

The idioms: the patch embedding ``nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size,
stride=patch_size)`` followed by ``.permute(0, 2, 3, 1)`` to channels-last and ``nn.LayerNorm``
on the last dim; Swin's ``PatchMerging`` (``x0 = x[:, 0::2, 0::2, :]``, ``x1 = x[:, 1::2, 0::2,
:]``, ``x2 = x[:, 0::2, 1::2, :]``, ``x3 = x[:, 1::2, 1::2, :]``, ``torch.cat([x0, x1, x2, x3],
-1)``, ``nn.LayerNorm(4 * dim)``, ``nn.Linear(4 * dim, 2 * dim, bias=False)``); the ConvNeXt
block (``nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)``, ``x.permute(0, 2, 3,
1)``, ``pwconv1``/``F.gelu``/``pwconv2``, the layer scale ``self.gamma = nn.Parameter(
layer_scale_init_value * torch.ones(dim), requires_grad=True)`` applied as ``self.gamma *
x``, ``x.permute(0, 3, 1, 2)``, ``input + self.drop_path(x)``); timm's ``drop_path`` (``shape
= (x.shape[0],) + (1,) * (x.ndim - 1)``, ``random_tensor = x.new_empty(shape).bernoulli_(
keep_prob)``, ``random_tensor.div_(keep_prob)`` under ``scale_by_keep``, the ``if drop_prob ==
0. or not training: return x`` shortcut, ``extra_repr`` with ``f'drop_prob={round(
self.drop_prob,3):0.3f}'``); the stochastic-depth decay rule ``[x.item() for x in
torch.linspace(0, drop_path_rate, sum(depths))]``; ``_init_weights`` applied with
``self.apply`` (``trunc_normal_(m.weight, std=.02)``, ``nn.init.constant_(m.bias, 0)``, the
LayerNorm ones/zeros); the head (``self.norm(x.mean([1, 2]))``, ``nn.Linear``); ``AdamW`` with
the no-weight-decay groups (``if p.ndim <= 1 or name.endswith(".bias")``).

Determinism: training runs with drop-path keep probability 1 where randomness would reach the
result (``drop_path_rate`` > 0 only in the eval-mode comparison, where it is the identity), and
the drop-path mask itself is checked only through its statistics (0 or ``1 / keep``).

Changed: ImageNet -> 3x8x8 NumPy images, 4 classes; depths (3, 3, 9, 3) -> (1, 1); dims 96 ->
4 -> 8; 300 epochs -> 3 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

IN_CHANS, IMG, PATCH, DIMS, DEPTHS, N_CLASSES, BATCH, STEPS = 3, 8, 2, (4, 8), (1, 1), 4, 3, 3


def make_model(torch_like: Any, drop_path_rate: float = 0.0) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional
    trunc_normal_ = torch_like.nn.init.trunc_normal_

    def drop_path(x: Any, drop_prob: float = 0.0, training: bool = False, scale_by_keep=True):
        if drop_prob == 0.0 or not training:
            return x
        keep_prob = 1 - drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
        if keep_prob > 0.0 and scale_by_keep:
            random_tensor.div_(keep_prob)
        return x * random_tensor

    class DropPath(nn.Module):
        def __init__(self, drop_prob: float = 0.0, scale_by_keep: bool = True) -> None:
            super().__init__()
            self.drop_prob = drop_prob
            self.scale_by_keep = scale_by_keep

        def forward(self, x: Any) -> Any:
            return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

        def extra_repr(self) -> str:
            return f"drop_prob={round(self.drop_prob, 3):0.3f}"

    class Block(nn.Module):
        def __init__(self, dim: int, drop_path: float = 0.0, layer_scale_init_value=1e-6):
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.pwconv1 = nn.Linear(dim, 4 * dim)
            self.pwconv2 = nn.Linear(4 * dim, dim)
            self.gamma = (
                nn.Parameter(layer_scale_init_value * torch.ones(dim), requires_grad=True)
                if layer_scale_init_value > 0
                else None
            )
            self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

        def forward(self, x: Any) -> Any:
            input = x
            x = self.dwconv(x)
            x = x.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
            x = self.norm(x)
            x = self.pwconv1(x)
            x = F.gelu(x)
            x = self.pwconv2(x)
            if self.gamma is not None:
                x = self.gamma * x
            x = x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
            return input + self.drop_path(x)

    class PatchMerging(nn.Module):
        def __init__(self, dim: int, norm_layer=nn.LayerNorm) -> None:
            super().__init__()
            self.dim = dim
            self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
            self.norm = norm_layer(4 * dim)

        def forward(self, x: Any) -> Any:
            """x: B, H, W, C"""
            B, H, W, C = x.shape
            assert H % 2 == 0 and W % 2 == 0, f"x size ({H}*{W}) are not even."
            x0 = x[:, 0::2, 0::2, :]  # B H/2 W/2 C
            x1 = x[:, 1::2, 0::2, :]
            x2 = x[:, 0::2, 1::2, :]
            x3 = x[:, 1::2, 1::2, :]
            x = torch.cat([x0, x1, x2, x3], -1)  # B H/2 W/2 4*C
            x = self.norm(x)
            x = self.reduction(x)
            return x

    class Backbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch_embed = nn.Conv2d(IN_CHANS, DIMS[0], kernel_size=PATCH, stride=PATCH)
            self.embed_norm = nn.LayerNorm(DIMS[0])
            dp_rates = [x.item() for x in torch.linspace(0, drop_path_rate, sum(DEPTHS))]
            self.stages = nn.ModuleList()
            cur = 0
            for i, depth in enumerate(DEPTHS):
                blocks = [Block(DIMS[i], drop_path=dp_rates[cur + j]) for j in range(depth)]
                self.stages.append(nn.Sequential(*blocks))
                cur += depth
            self.merge = PatchMerging(DIMS[0])
            self.norm = nn.LayerNorm(DIMS[-1], eps=1e-6)
            self.head = nn.Linear(DIMS[-1], N_CLASSES)
            self.apply(self._init_weights)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)

        def forward(self, x: Any) -> Any:
            x = self.embed_norm(self.patch_embed(x).permute(0, 2, 3, 1))  # B H W C
            x = self.stages[0](x.permute(0, 3, 1, 2))
            x = self.merge(x.permute(0, 2, 3, 1))  # channels-last in and out
            x = self.stages[1](x.permute(0, 3, 1, 2).contiguous())
            x = self.norm(x.mean([-2, -1]))
            return self.head(x)

    return Backbone()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    # the layer scale starts at 1e-6: grow it so the blocks matter within three steps
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.fill_(0.5)
    rng = np.random.default_rng(3)
    images = torch.tensor(rng.standard_normal((BATCH, IN_CHANS, IMG, IMG)))
    labels = torch.tensor(rng.integers(0, N_CLASSES, size=BATCH))

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim <= 1 or name.endswith(".bias"):
            no_decay.append(p)
        else:
            decay.append(p)
    optimizer = torch.optim.AdamW(
        [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": 0.05}],
        lr=4e-3,
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    values: list[float] = [float(len(no_decay)), float(len(decay))]
    model.train()
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        values.append(loss.item())

    # a drop-path model in eval mode is the plain model; in train mode its mask is 0 or 1/keep
    dropped = make_model(torch_like, drop_path_rate=0.5)
    dropped.load_state_dict(model.state_dict())
    dropped.eval()
    with torch.no_grad():
        values += (dropped(images) - model(images)).abs().max().reshape(1).tolist()
        values += model(images).flatten().tolist()
        block = dropped.stages[1][0]
        values.append(float(block.drop_path.drop_prob))
        block.drop_path.train()
        torch.manual_seed(0)
        ones = torch.ones(64, 2, 2)
        kept = block.drop_path(ones)
        values.append(float(((kept == 0) | (kept == 2.0)).all()))
        values.append(float(kept[:, 0, 0].unique().numel() <= 2))
    values.append(float(repr(block.drop_path) == "DropPath(drop_prob=0.500)"))
    return values
