"""ConvNeXt blocks as facebookresearch/ConvNeXt (``models/convnext.py``) and timm write them,
size-reduced: the ``Block`` (a depthwise ``nn.Conv2d(dim, dim, kernel_size=7, padding=3,
groups=dim)``, ``x.permute(0, 2, 3, 1)`` to channels-last, ``nn.LayerNorm(dim, eps=1e-6)``, the
inverted bottleneck ``nn.Linear(dim, 4 * dim)`` -> ``nn.GELU()`` -> ``nn.Linear(4 * dim, dim)``,
the layer scale ``gamma = nn.Parameter(layer_scale_init_value * torch.ones((dim)),
requires_grad=True)``, ``x.permute(0, 3, 1, 2)`` back, and ``input + self.drop_path(x)``), the
channels-first ``LayerNorm`` of the repository (``u = x.mean(1, keepdim=True)``, ``s = (x -
u).pow(2).mean(1, keepdim=True)``, ``x = (x - u) / torch.sqrt(s + self.eps)``,
``self.weight[:, None, None] * x + self.bias[:, None, None]``) checked against timm's
``LayerNorm2d`` (an ``nn.LayerNorm`` subclass whose forward is ``F.layer_norm(x.permute(0, 2,
3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)``), the
patchify stem ``nn.Conv2d(in_chans, dims[0], kernel_size=4, stride=4)``, downsampling layers,
the head ``self.norm(x.mean([-2, -1]))``, timm's input-size check ``torch._assert(...)``,
``_init_weights`` with ``nn.init.trunc_normal_`` and ``nn.init.constant_`` through
``self.apply``, and ``head.weight.data.mul_(head_init_scale)``.

Stochastic depth: timm's ``drop_path`` (``keep_prob = 1 - drop_prob``, ``shape = (x.shape[0],)
+ (1,) * (x.ndim - 1)``, ``random_tensor = x.new_empty(shape).bernoulli_(keep_prob)``,
``random_tensor.div_(keep_prob)``) runs in train mode after ``torch.manual_seed``; the two
libraries' generators differ, so what is compared is what holds for every draw (each sample is
either the input or the input plus the scaled branch, and only those two values occur), with
the kept fraction checked in-program. The training steps use the original ConvNeXt form
(``keep_prob + torch.rand(shape)``, ``random_tensor.floor_()``, ``x.div(keep_prob) *
random_tensor``) with its uniform draws taken from NumPy, so both runs drop the same samples.
The last stage uses ConvNeXt-V2 blocks: ``GRN`` (``Gx = torch.norm(x, p=2, dim=(1, 2),
keepdim=True)``, ``Nx = Gx / (Gx.mean(dim=-1, keepdim=True) + 1e-6)``, ``self.gamma * (x * Nx) +
self.beta + x``) and no layer scale. Training follows ConvNeXt's ``main.py``/``engine.py``:
``AdamW`` over ``optim_factory.get_parameter_groups`` (no weight decay on 1-d parameters, biases
and ``gamma``; one group per layer with a layer-wise-decay ``lr_scale`` key), per-iteration
``cosine_scheduler`` arrays from NumPy (warm-up by ``np.linspace``) written into each group as
``param_group["lr"] = lr_schedule_values[it] * param_group["lr_scale"]`` and
``param_group["weight_decay"] = wd_schedule_values[it]``, label-smoothed cross-entropy,
``clip_grad_norm_``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

IN_CHANS, CLASSES, DIMS, DEPTHS, SIZE, BATCH, STEPS = 3, 5, (4, 8), (2, 1), 16, 4, 3
DROP_PATH_RATE, LAYER_SCALE, HEAD_INIT_SCALE = 0.3, 0.5, 1.0
BASE_LR, WEIGHT_DECAY, LAYER_DECAY = 4e-3, 0.05, 0.8
STAT_BATCH, STAT_KEEP = 2000, 0.75


def drop_path(x: Any, drop_prob: float = 0.0, training: bool = False, scale_by_keep: bool = True):
    """timm's stochastic depth: drop whole samples of a residual branch."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # work with diff dim tensors, not just 2D ConvNets
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0 and scale_by_keep:
        random_tensor.div_(keep_prob)
    return x * random_tensor


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class DropPath(nn.Module):
        """The original ConvNeXt form; ``uniform`` is ``torch.rand`` unless a run supplies
        its own draws (the training loop below hands in NumPy's)."""

        def __init__(self, drop_prob: float | None = None) -> None:
            super().__init__()
            self.drop_prob = drop_prob
            self.uniform = None

        def forward(self, x: Any) -> Any:
            if self.drop_prob == 0.0 or not self.training:
                return x
            keep_prob = 1 - self.drop_prob
            shape = (x.shape[0],) + (1,) * (x.ndim - 1)
            draw = self.uniform(shape) if self.uniform is not None else torch.rand(shape)
            random_tensor = keep_prob + draw.to(dtype=x.dtype, device=x.device)
            random_tensor.floor_()  # binarize
            return x.div(keep_prob) * random_tensor

        def extra_repr(self) -> str:
            return f"drop_prob={round(self.drop_prob, 3):0.3f}"

    class LayerNorm(nn.Module):
        """ConvNeXt's LayerNorm: channels_last (F.layer_norm) or channels_first (by hand)."""

        def __init__(
            self, normalized_shape: int, eps: float = 1e-6, data_format: str = "channels_last"
        ) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(normalized_shape))
            self.bias = nn.Parameter(torch.zeros(normalized_shape))
            self.eps = eps
            self.data_format = data_format
            if self.data_format not in ["channels_last", "channels_first"]:
                raise NotImplementedError
            self.normalized_shape = (normalized_shape,)

        def forward(self, x: Any) -> Any:
            if self.data_format == "channels_last":
                return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]

    class LayerNorm2d(nn.LayerNorm):
        """timm's LayerNorm for channels of '2D' spatial NCHW tensors."""

        def __init__(self, num_channels: int, eps: float = 1e-6, affine: bool = True) -> None:
            super().__init__(num_channels, eps=eps, elementwise_affine=affine)

        def forward(self, x: Any) -> Any:
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class GRN(nn.Module):
        """ConvNeXt-V2's Global Response Normalization (channels-last input)."""

        def __init__(self, dim: int) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.zeros(1, 1, 1, dim))
            self.beta = nn.Parameter(torch.zeros(1, 1, 1, dim))

        def forward(self, x: Any) -> Any:
            Gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
            Nx = Gx / (Gx.mean(dim=-1, keepdim=True) + 1e-6)
            return self.gamma * (x * Nx) + self.beta + x

    class Block(nn.Module):
        def __init__(
            self,
            dim: int,
            drop_path: float = 0.0,
            layer_scale_init_value: float = 1e-6,
            grn: bool = False,
        ) -> None:
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
            self.norm = LayerNorm(dim, eps=1e-6)
            self.pwconv1 = nn.Linear(dim, 4 * dim)  # pointwise/1x1 convs, implemented with linear
            self.act = nn.GELU()
            self.grn = GRN(4 * dim) if grn else nn.Identity()
            self.pwconv2 = nn.Linear(4 * dim, dim)
            self.gamma = (
                nn.Parameter(layer_scale_init_value * torch.ones((dim,)), requires_grad=True)
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
            x = self.act(x)
            x = self.grn(x)
            x = self.pwconv2(x)
            if self.gamma is not None:
                x = self.gamma * x
            x = x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
            return input + self.drop_path(x)

    class ConvNeXt(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.downsample_layers = nn.ModuleList()
            stem = nn.Sequential(
                nn.Conv2d(IN_CHANS, DIMS[0], kernel_size=4, stride=4),
                LayerNorm(DIMS[0], eps=1e-6, data_format="channels_first"),
            )
            self.downsample_layers.append(stem)
            for i in range(len(DIMS) - 1):
                downsample_layer = nn.Sequential(
                    LayerNorm2d(DIMS[i], eps=1e-6),
                    nn.Conv2d(DIMS[i], DIMS[i + 1], kernel_size=2, stride=2),
                )
                self.downsample_layers.append(downsample_layer)
            self.stages = nn.ModuleList()
            dp_rates = [x.item() for x in torch.linspace(0, DROP_PATH_RATE, sum(DEPTHS))]
            cur = 0
            for i in range(len(DIMS)):
                stage = nn.Sequential(
                    *[
                        Block(
                            DIMS[i],
                            dp_rates[cur + j],
                            layer_scale_init_value=LAYER_SCALE if i == 0 else 0.0,
                            grn=i > 0,  # the last stage is a ConvNeXt-V2 stage
                        )
                        for j in range(DEPTHS[i])
                    ]
                )
                self.stages.append(stage)
                cur += DEPTHS[i]
            self.norm = nn.LayerNorm(DIMS[-1], eps=1e-6)  # final norm layer
            self.head = nn.Linear(DIMS[-1], CLASSES)
            self.apply(self._init_weights)
            self.head.weight.data.mul_(HEAD_INIT_SCALE)
            self.head.bias.data.mul_(HEAD_INIT_SCALE)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.constant_(m.bias, 0)

        def forward_features(self, x: Any) -> Any:
            H, W = x.shape[-2:]
            torch._assert(H % 4 == 0 and W % 4 == 0, f"input size ({H}*{W}) must divide by 4")
            for i in range(len(DIMS)):
                x = self.downsample_layers[i](x)
                x = self.stages[i](x)
            return self.norm(x.mean([-2, -1]))  # global average pooling, (N, C, H, W) -> (N, C)

        def forward(self, x: Any) -> Any:
            return self.head(self.forward_features(x))

    return ConvNeXt()


def layer_norms_agree(torch_like: Any, model: Any, x: Any) -> float:
    """ConvNeXt's channels-first LayerNorm and timm's LayerNorm2d give the same result."""
    stem_norm = model.downsample_layers[0][1]
    features = model.downsample_layers[0][0](x)
    by_hand = stem_norm(features)
    nn = torch_like.nn
    ln2d = model.downsample_layers[1][0].__class__(DIMS[0], eps=1e-6)
    with torch_like.no_grad():
        ln2d.weight.copy_(stem_norm.weight)
        ln2d.bias.copy_(stem_norm.bias)
    channels_last = nn.LayerNorm(DIMS[0], eps=1e-6)
    channels_last.load_state_dict({"weight": stem_norm.weight, "bias": stem_norm.bias})
    permuted = channels_last(features.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    gaps = [(by_hand - ln2d(features)).abs().max(), (by_hand - permuted).abs().max()]
    return max(gap.item() for gap in gaps)


def seeded_drop_path(torch_like: Any, rng: np.random.Generator) -> list[float]:
    """timm's ``drop_path`` in train mode after ``manual_seed``: the values every draw shares."""
    torch_like.manual_seed(0)
    x = as_tensor(torch_like, rng.standard_normal((STAT_BATCH, 2, 3)))
    branch = as_tensor(torch_like, rng.standard_normal((STAT_BATCH, 2, 3)))
    out = x + drop_path(branch, 1 - STAT_KEEP, training=True)
    dropped = (out - x).abs().flatten(1).amax(1)
    kept = (out - (x + branch / STAT_KEEP)).abs().flatten(1).amax(1)
    per_sample = torch_like.minimum(dropped, kept)
    fraction = (kept < 1e-12).double().mean().item()
    assert abs(fraction - STAT_KEEP) < 0.05, fraction
    ones = drop_path(torch_like.ones(STAT_BATCH, 1, 1), 1 - STAT_KEEP, training=True)
    same_in_eval = drop_path(branch, 0.5, training=False) is branch
    return [per_sample.max().item(), *ones.unique().tolist(), float(same_in_eval)]


def cosine_scheduler(
    base_value: float,
    final_value: float,
    epochs: int,
    niter_per_ep: int,
    warmup_epochs: int = 0,
    start_warmup_value: float = 0,
) -> np.ndarray:
    """ConvNeXt's ``utils.cosine_scheduler``: a per-iteration NumPy schedule."""
    warmup_schedule = np.array([])
    warmup_iters = warmup_epochs * niter_per_ep
    if warmup_epochs > 0:
        warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = np.array(
        [
            final_value
            + 0.5 * (base_value - final_value) * (1 + math.cos(math.pi * i / len(iters)))
            for i in iters
        ]
    )
    schedule = np.concatenate((warmup_schedule, schedule))
    assert len(schedule) == epochs * niter_per_ep
    return schedule


def get_layer_id(var_name: str) -> int:
    """ConvNeXt's ``get_num_layer_for_convnext`` for a two-stage net: stem 0, stage i -> i+1."""
    if var_name.startswith("downsample_layers"):
        return int(var_name.split(".")[1])
    if var_name.startswith("stages"):
        return int(var_name.split(".")[1]) + 1
    return len(DIMS) + 1


def get_parameter_groups(model: Any, weight_decay: float) -> list[dict]:
    """timm/BEiT/ConvNeXt's ``optim_factory.get_parameter_groups``: no decay on 1-d params and
    biases, one group per (layer, decay) with a layer-wise ``lr_scale``."""
    parameter_group_names: dict[str, dict] = {}
    parameter_group_vars: dict[str, dict] = {}
    num_layers = len(DIMS) + 2
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue  # frozen weights
        if len(param.shape) == 1 or name.endswith(".bias") or name.endswith(".gamma"):
            group_name, this_weight_decay = "no_decay", 0.0
        else:
            group_name, this_weight_decay = "decay", weight_decay
        layer_id = get_layer_id(name)
        group_name = f"layer_{layer_id}_{group_name}"
        if group_name not in parameter_group_names:
            scale = LAYER_DECAY ** (num_layers - layer_id - 1)
            parameter_group_names[group_name] = {
                "weight_decay": this_weight_decay,
                "params": [],
                "lr_scale": scale,
            }
            parameter_group_vars[group_name] = {
                "weight_decay": this_weight_decay,
                "params": [],
                "lr_scale": scale,
            }
        parameter_group_vars[group_name]["params"].append(param)
        parameter_group_names[group_name]["params"].append(name)
    return list(parameter_group_vars.values())


def run(torch_like: Any, init: dict) -> list[float]:
    F = torch_like.nn.functional
    rng = np.random.default_rng(7)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    optimizer = torch_like.optim.AdamW(
        get_parameter_groups(model, WEIGHT_DECAY), lr=BASE_LR, betas=(0.9, 0.999)
    )
    lr_schedule_values = cosine_scheduler(BASE_LR, 1e-6, STEPS, 1, warmup_epochs=1)
    wd_schedule_values = cosine_scheduler(WEIGHT_DECAY, 0.1, STEPS, 1)

    def numpy_uniform(shape: tuple[int, ...]) -> Any:
        return as_tensor(torch_like, rng.random(shape))

    for module in model.modules():
        if type(module).__name__ == "DropPath":
            module.uniform = numpy_uniform

    criterion = torch_like.nn.CrossEntropyLoss(label_smoothing=0.1)
    x = as_tensor(torch_like, rng.standard_normal((BATCH, IN_CHANS, SIZE, SIZE)))
    target = as_tensor(torch_like, rng.integers(0, CLASSES, BATCH))
    values: list[float] = [layer_norms_agree(torch_like, model, x)]
    model.train()
    for it in range(STEPS):
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr_schedule_values[it] * param_group["lr_scale"]
            if param_group["weight_decay"] > 0:
                param_group["weight_decay"] = wd_schedule_values[it]
        optimizer.zero_grad()
        output = model(x)
        loss = criterion(output, target)
        loss.backward()
        norm = torch_like.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        values += [loss.item(), norm.item(), model.stages[0][0].gamma.grad.abs().sum().item()]
    model.eval()
    with torch_like.no_grad():
        probs = F.softmax(model(x), dim=-1)
    values += probs.flatten().tolist()
    values += model.stages[1][0].grn.gamma.flatten().tolist()
    values += [group["lr"] for group in optimizer.param_groups]
    values += [len(optimizer.state_dict()["param_groups"]), optimizer.param_groups[-1]["lr_scale"]]
    return values + seeded_drop_path(torch_like, rng)


def check(values: list[float]) -> None:
    assert values[0] < 1e-12  # the three channel LayerNorms agree
    assert values[-4] < 1e-12  # every sample is dropped or kept-and-scaled
    assert values[-3:] == [0.0, 1 / STAT_KEEP, 1.0]
