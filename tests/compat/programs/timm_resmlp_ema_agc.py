"""timm's ResMLP (``models/mlp_mixer.py``: ``Affine``, ``ResBlock``, ``MlpMixer``) trained the
way timm's ``train.py`` drives a model, with the training utilities of ``timm/utils`` and
``timm/loss`` written as timm writes them, size-reduced.

The idioms: ``PatchEmbed`` (``nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size,
stride=patch_size)``, ``x.flatten(2).transpose(1, 2)`` when ``flatten``, ``norm_layer(embed_dim)
if norm_layer else nn.Identity()``, the ``_assert`` of the input size); ``Affine``
(``torch.addcmul(self.beta, self.alpha, x)`` with ``(1, 1, dim)`` parameters); ``ResBlock``
(``self.linear_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)``, ``x + self.drop_path(
self.ls1 * ...)``, ``self.ls1 = nn.Parameter(init_values * torch.ones(dim))``); ``Mlp`` with
``norm_layer=None`` giving ``nn.Identity()`` and ``to_2tuple`` biases/drops; the
``grad_checkpointing`` switch (``@torch.jit.ignore def set_grad_checkpointing(self,
enable=True)``, ``if self.grad_checkpointing and not torch.jit.is_scripting(): x =
checkpoint_seq(self.blocks, x)``) with timm's ``checkpoint_seq`` (``functions.children()``,
``run_function(start, end, functions)`` closures, ``checkpoint(..., preserve_rng_state=True,
use_reentrant=False)``, ``every`` / ``skip_last``) and ``torch.utils.checkpoint.
checkpoint_sequential(self.blocks, 2, x, use_reentrant=False)``; ``_init_weights(module, name,
head_bias=...)`` by ``named_apply(partial(_init_weights, head_bias=-math.log(num_classes)),
self)`` (``name.startswith('head')`` zero weight and constant bias, ``nn.init.xavier_uniform_``,
``nn.init.normal_(module.bias, std=1e-6) if 'mlp' in name else nn.init.zeros_``, a module's own
``init_weights()``); ``forward_features`` / ``forward_head(x, pre_logits=False)`` with
``x.mean(dim=1)`` pooling; ``param_groups_weight_decay``; ``create_optimizer``'s AdamW with
``CosineAnnealingWarmRestarts(T_0, T_mult=2, eta_min)`` stepped with fractional epochs
(``epoch + batch_idx / num_updates_per_epoch``); the losses ``LabelSmoothingCrossEntropy``
(``logprobs.gather(dim=-1, index=target.unsqueeze(1))``, ``nll_loss.squeeze(1)``,
``-logprobs.mean(dim=-1)``, ``self.confidence * nll_loss + self.smoothing * smooth_loss``) and
``SoftTargetCrossEntropy`` (``torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1)``) on
``mixup_target``'s one-hot targets (``torch.full((x.size()[0], num_classes), off_value)
.scatter_(1, x, on_value)``, ``y1 * lam + y2 * (1. - lam)`` with ``target.flip(0)``) and the
matching ``x.flip(0).mul_(1. - lam)``, ``x.mul_(lam).add_(x_flipped)`` batch mix;
``dispatch_clip_grad`` (``mode='norm'``: ``torch.nn.utils.clip_grad_norm_``, ``'value'``:
``clip_grad_value_``, ``'agc'``: ``adaptive_clip_grad`` with ``unitwise_norm`` (``x.norm(p=2.0,
dim=tuple(range(1, x.ndim)), keepdim=True)``), ``.clamp_(min=eps).mul_(clip_factor)``,
``torch.where(grad_norm < max_norm, g, clipped_grad)``, ``p.grad.detach().copy_(new_grads)``);
``ModelEmaV2`` (``deepcopy(model)``, ``self.module.eval()``, ``with torch.no_grad(): for ema_v,
model_v in zip(self.module.state_dict().values(), model.state_dict().values()):
ema_v.copy_(update_fn(ema_v, model_v))``) and ``ModelEmaV3``'s ``get_decay`` warm-up (``1 - (1
+ step / inv_gamma) ** -power``, clamped) with ``ema_v.lerp_(model_v, weight=1. - decay)`` for
floating tensors and ``ema_v.copy_(model_v)`` for the rest; the ``accuracy`` helper
(``output.topk(maxk, 1, True, True)``, ``pred.t()``, ``pred.eq(target.reshape(1,
-1).expand_as(pred))``, ``correct[:min(k, maxk)].reshape(-1).float().sum(0) * 100. /
batch_size``); and ``AverageMeter``.

The model is trained three ways from the same weights -- plain, through ``checkpoint_seq``,
through ``checkpoint_sequential`` -- and ``check`` asserts the three loss curves equal.

Changed: ImageNet is 16 NumPy 3x8x8 images of 4 classes (patch 16 -> 4, embed dim 384 -> 12,
depth 12 -> 4 blocks); drop rates are 0 (random masks cannot agree between two frameworks);
the mixup ``lam`` is a fixed 0.7 instead of a Beta draw.
"""

from __future__ import annotations

import math
from copy import deepcopy
from functools import partial
from itertools import chain
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

IMG, PATCH, CHANS, DIM, DEPTH, CLASSES, N = 8, 4, 3, 12, 4, 4, 16


def to_2tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x, x)


def named_apply(
    fn: Any, module: Any, name: str = "", depth_first: bool = True, include_root: bool = False
) -> Any:
    if not depth_first and include_root:
        fn(module=module, name=name)
    for child_name, child_module in module.named_children():
        child_name = ".".join((name, child_name)) if name else child_name
        named_apply(
            fn=fn, module=child_module, name=child_name, depth_first=depth_first, include_root=True
        )
    if depth_first and include_root:
        fn(module=module, name=name)
    return module


def _checkpoint_seq(torch_like: Any) -> Any:
    checkpoint = torch_like.utils.checkpoint.checkpoint

    def checkpoint_seq(
        functions: Any,
        x: Any,
        every: int = 1,
        flatten: bool = False,
        skip_last: bool = False,
        preserve_rng_state: bool = True,
    ) -> Any:
        def run_function(start: int, end: int, functions: Any) -> Any:
            def forward(_x: Any) -> Any:
                for j in range(start, end + 1):
                    _x = functions[j](_x)
                return _x

            return forward

        if isinstance(functions, torch_like.nn.Sequential):
            functions = functions.children()
        if flatten:
            functions = chain.from_iterable(functions)
        if not isinstance(functions, (tuple, list)):
            functions = tuple(functions)

        num_checkpointed = len(functions)
        if skip_last:
            num_checkpointed -= 1
        end = -1
        for start in range(0, num_checkpointed, every):
            end = min(start + every - 1, num_checkpointed - 1)
            x = checkpoint(
                run_function(start, end, functions),
                x,
                preserve_rng_state=preserve_rng_state,
                use_reentrant=False,
            )
        if skip_last:
            return run_function(end + 1, len(functions) - 1, functions)(x)
        return x

    return checkpoint_seq


def _init_weights(
    torch_like: Any, module: Any, name: str, head_bias: float = 0.0, flax: bool = False
) -> None:
    """Mixer weight initialization (trying to match Flax defaults)"""
    nn = torch_like.nn
    if isinstance(module, nn.Linear):
        if name.startswith("head"):
            nn.init.zeros_(module.weight)
            nn.init.constant_(module.bias, head_bias)
        else:
            if flax:
                # Flax defaults
                nn.init.trunc_normal_(module.weight, std=0.02)  # lecun_normal in timm
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            else:
                # like MLP init in vit (my original init)
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    if "mlp" in name:
                        nn.init.normal_(module.bias, std=1e-6)
                    else:
                        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.LayerNorm, nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif hasattr(module, "init_weights"):
        # NOTE if a parent module contains init_weights method, it can override the init of the
        # child modules as this will be called in depth-first order.
        module.init_weights()


def make_model(torch_like: Any, grad_checkpointing: Any = False) -> Any:
    torch, nn = torch_like, torch_like.nn
    checkpoint_seq = _checkpoint_seq(torch_like)

    def _assert(condition: bool, message: str) -> None:
        assert condition, message

    class PatchEmbed(nn.Module):
        """2D Image to Patch Embedding"""

        def __init__(
            self,
            img_size: int = IMG,
            patch_size: int = PATCH,
            in_chans: int = CHANS,
            embed_dim: int = DIM,
            norm_layer: Any = None,
            flatten: bool = True,
            bias: bool = True,
        ) -> None:
            super().__init__()
            self.img_size = to_2tuple(img_size)
            self.patch_size = to_2tuple(patch_size)
            self.grid_size = tuple(s // p for s, p in zip(self.img_size, self.patch_size))
            self.num_patches = self.grid_size[0] * self.grid_size[1]
            self.flatten = flatten
            self.proj = nn.Conv2d(
                in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=bias
            )
            self.norm = norm_layer(embed_dim) if norm_layer else nn.Identity()

        def forward(self, x: Any) -> Any:
            B, C, H, W = x.shape
            _assert(
                H == self.img_size[0],
                f"Input height ({H}) doesn't match model ({self.img_size[0]}).",
            )
            _assert(
                W == self.img_size[1],
                f"Input width ({W}) doesn't match model ({self.img_size[1]}).",
            )
            x = self.proj(x)
            if self.flatten:
                x = x.flatten(2).transpose(1, 2)  # NCHW -> NLC
            x = self.norm(x)
            return x

    class Mlp(nn.Module):
        """MLP as used in Vision Transformer, MLP-Mixer and related networks"""

        def __init__(
            self,
            in_features: int,
            hidden_features: int | None = None,
            out_features: int | None = None,
            act_layer: Any = nn.GELU,
            norm_layer: Any = None,
            bias: Any = True,
            drop: Any = 0.0,
        ) -> None:
            super().__init__()
            out_features = out_features or in_features
            hidden_features = hidden_features or in_features
            bias = to_2tuple(bias)
            drop_probs = to_2tuple(drop)
            self.fc1 = nn.Linear(in_features, hidden_features, bias=bias[0])
            self.act = act_layer()
            self.drop1 = nn.Dropout(drop_probs[0])
            self.norm = norm_layer(hidden_features) if norm_layer is not None else nn.Identity()
            self.fc2 = nn.Linear(hidden_features, out_features, bias=bias[1])
            self.drop2 = nn.Dropout(drop_probs[1])

        def forward(self, x: Any) -> Any:
            x = self.fc1(x)
            x = self.act(x)
            x = self.drop1(x)
            x = self.norm(x)
            x = self.fc2(x)
            x = self.drop2(x)
            return x

    class Affine(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.alpha = nn.Parameter(torch.ones((1, 1, dim)))
            self.beta = nn.Parameter(torch.zeros((1, 1, dim)))

        def forward(self, x: Any) -> Any:
            return torch.addcmul(self.beta, self.alpha, x)

    class ResBlock(nn.Module):
        """Residual MLP block w/ LayerScale and Affine 'norm'"""

        def __init__(
            self,
            dim: int,
            seq_len: int,
            mlp_ratio: float = 4,
            mlp_layer: Any = Mlp,
            norm_layer: Any = Affine,
            act_layer: Any = nn.GELU,
            init_values: float = 1e-4,
            drop: float = 0.0,
            drop_path: float = 0.0,
        ) -> None:
            super().__init__()
            channel_dim = int(dim * mlp_ratio)
            self.norm1 = norm_layer(dim)
            self.linear_tokens = nn.Linear(seq_len, seq_len)
            self.drop_path = nn.Identity()  # DropPath(drop_path) if drop_path > 0. else
            self.norm2 = norm_layer(dim)
            self.mlp_channels = mlp_layer(dim, channel_dim, act_layer=act_layer, drop=drop)
            self.ls1 = nn.Parameter(init_values * torch.ones(dim))
            self.ls2 = nn.Parameter(init_values * torch.ones(dim))

        def forward(self, x: Any) -> Any:
            x = x + self.drop_path(
                self.ls1 * self.linear_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
            )
            x = x + self.drop_path(self.ls2 * self.mlp_channels(self.norm2(x)))
            return x

    class MlpMixer(nn.Module):
        def __init__(
            self,
            num_classes: int = CLASSES,
            img_size: int = IMG,
            in_chans: int = CHANS,
            patch_size: int = PATCH,
            num_blocks: int = DEPTH,
            embed_dim: int = DIM,
            mlp_ratio: float = 4,
            block_layer: Any = ResBlock,
            norm_layer: Any = Affine,
            global_pool: str = "avg",
            nlhb: bool = False,
            stem_norm: bool = False,
        ) -> None:
            super().__init__()
            self.num_classes = num_classes
            self.global_pool = global_pool
            self.num_features = self.embed_dim = embed_dim  # num_features for consistency
            self.grad_checkpointing = False

            self.stem = PatchEmbed(
                img_size=img_size,
                patch_size=patch_size,
                in_chans=in_chans,
                embed_dim=embed_dim,
                norm_layer=norm_layer if stem_norm else None,
            )
            self.blocks = nn.Sequential(
                *[
                    block_layer(
                        embed_dim,
                        self.stem.num_patches,
                        mlp_ratio,
                        norm_layer=norm_layer,
                        init_values=0.1,
                    )
                    for _ in range(num_blocks)
                ]
            )
            self.norm = norm_layer(embed_dim)
            self.head_drop = nn.Dropout(0.0)
            self.head = nn.Linear(embed_dim, self.num_classes) if num_classes > 0 else nn.Identity()
            self.init_weights(nlhb=nlhb)

        @torch.jit.ignore
        def init_weights(self, nlhb: bool = False) -> None:
            head_bias = -math.log(self.num_classes) if nlhb else 0.0
            named_apply(
                partial(_init_weights, torch_like, head_bias=head_bias), module=self
            )  # depth-first

        @torch.jit.ignore
        def set_grad_checkpointing(self, enable: Any = True) -> None:
            self.grad_checkpointing = enable

        def forward_features(self, x: Any) -> Any:
            x = self.stem(x)
            if self.grad_checkpointing == "sequential":
                x = torch.utils.checkpoint.checkpoint_sequential(
                    self.blocks, 2, x, use_reentrant=False
                )
            elif self.grad_checkpointing and not torch.jit.is_scripting():
                x = checkpoint_seq(self.blocks, x, every=1, skip_last=True)
            else:
                x = self.blocks(x)
            x = self.norm(x)
            return x

        def forward_head(self, x: Any, pre_logits: bool = False) -> Any:
            if self.global_pool == "avg":
                x = x.mean(dim=1)
            x = self.head_drop(x)
            return x if pre_logits else self.head(x)

        def forward(self, x: Any) -> Any:
            x = self.forward_features(x)
            x = self.forward_head(x)
            return x

    model = MlpMixer(nlhb=True)
    model.set_grad_checkpointing(grad_checkpointing)
    return model


def param_groups_weight_decay(
    model: Any, weight_decay: float = 1e-5, no_weight_decay_list: Any = ()
) -> list[dict]:
    no_weight_decay_list = set(no_weight_decay_list)
    decay = []
    no_decay = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or name in no_weight_decay_list:
            no_decay.append(param)
        else:
            decay.append(param)
    return [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": weight_decay},
    ]


def _losses(torch_like: Any) -> tuple[Any, Any]:
    nn, F = torch_like.nn, torch_like.nn.functional

    class LabelSmoothingCrossEntropy(nn.Module):
        """NLL loss with label smoothing."""

        def __init__(self, smoothing: float = 0.1) -> None:
            super().__init__()
            assert smoothing < 1.0
            self.smoothing = smoothing
            self.confidence = 1.0 - smoothing

        def forward(self, x: Any, target: Any) -> Any:
            logprobs = F.log_softmax(x, dim=-1)
            nll_loss = -logprobs.gather(dim=-1, index=target.unsqueeze(1))
            nll_loss = nll_loss.squeeze(1)
            smooth_loss = -logprobs.mean(dim=-1)
            loss = self.confidence * nll_loss + self.smoothing * smooth_loss
            return loss.mean()

    class SoftTargetCrossEntropy(nn.Module):
        def __init__(self) -> None:
            super().__init__()

        def forward(self, x: Any, target: Any) -> Any:
            loss = torch_like.sum(-target * F.log_softmax(x, dim=-1), dim=-1)
            return loss.mean()

    return LabelSmoothingCrossEntropy, SoftTargetCrossEntropy


def one_hot(torch_like: Any, x: Any, num_classes: int, on_value: float = 1.0, off_value=0.0):
    x = x.long().view(-1, 1)
    return torch_like.full((x.size()[0], num_classes), off_value, device=x.device).scatter_(
        1, x, on_value
    )


def mixup_target(torch_like: Any, target: Any, num_classes: int, lam: float = 1.0, smoothing=0.0):
    off_value = smoothing / num_classes
    on_value = 1.0 - smoothing + off_value
    y1 = one_hot(torch_like, target, num_classes, on_value=on_value, off_value=off_value)
    y2 = one_hot(torch_like, target.flip(0), num_classes, on_value=on_value, off_value=off_value)
    return y1 * lam + y2 * (1.0 - lam)


def _clip_grad(torch_like: Any) -> Any:
    torch = torch_like

    def unitwise_norm(x: Any, norm_type: float = 2.0) -> Any:
        if x.ndim <= 1:
            return x.norm(norm_type)
        # works for nn.ConvNd and nn,Linear where output dim is first in the kernel/weight
        # tensor might need special cases for other weights (possibly MHA) where this may not
        # be true
        return x.norm(norm_type, dim=tuple(range(1, x.ndim)), keepdim=True)

    def adaptive_clip_grad(parameters: Any, clip_factor=0.01, eps=1e-3, norm_type=2.0) -> None:
        if isinstance(parameters, torch.Tensor):
            parameters = [parameters]
        for p in parameters:
            if p.grad is None:
                continue
            p_data = p.detach()
            g_data = p.grad.detach()
            max_norm = unitwise_norm(p_data, norm_type=norm_type).clamp_(min=eps).mul_(clip_factor)
            grad_norm = unitwise_norm(g_data, norm_type=norm_type)
            clipped_grad = g_data * (max_norm / grad_norm.clamp(min=1e-6))
            new_grads = torch.where(grad_norm < max_norm, g_data, clipped_grad)
            p.grad.detach().copy_(new_grads)

    def dispatch_clip_grad(parameters, value: float, mode: str = "norm", norm_type=2.0) -> Any:
        """Dispatch to gradient clipping method"""
        if mode == "norm":
            return torch.nn.utils.clip_grad_norm_(parameters, value, norm_type=norm_type)
        elif mode == "value":
            return torch.nn.utils.clip_grad_value_(parameters, value)
        elif mode == "agc":
            return adaptive_clip_grad(parameters, value, norm_type=norm_type)
        else:
            raise AssertionError(f"Unknown clip mode ({mode}), need to be one of norm, value, agc")

    return dispatch_clip_grad


def _emas(torch_like: Any) -> tuple[Any, Any]:
    torch, nn = torch_like, torch_like.nn

    class ModelEmaV2(nn.Module):
        def __init__(self, model: Any, decay: float = 0.9999, device: Any = None) -> None:
            super().__init__()
            # make a copy of the model for accumulating moving average of weights
            self.module = deepcopy(model)
            self.module.eval()
            self.decay = decay
            self.device = device  # perform ema on different device from model if set
            if self.device is not None:
                self.module.to(device=device)

        def _update(self, model: Any, update_fn: Any) -> None:
            with torch.no_grad():
                for ema_v, model_v in zip(
                    self.module.state_dict().values(), model.state_dict().values()
                ):
                    if self.device is not None:
                        model_v = model_v.to(device=self.device)
                    ema_v.copy_(update_fn(ema_v, model_v))

        def update(self, model: Any) -> None:
            self._update(model, update_fn=lambda e, m: self.decay * e + (1.0 - self.decay) * m)

        def set(self, model: Any) -> None:
            self._update(model, update_fn=lambda e, m: m)

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return self.module(*args, **kwargs)

    class ModelEmaV3(nn.Module):
        def __init__(
            self,
            model: Any,
            decay: float = 0.9999,
            min_decay: float = 0.0,
            update_after_step: int = 0,
            use_warmup: bool = False,
            warmup_gamma: float = 1.0,
            warmup_power: float = 2 / 3,
        ) -> None:
            super().__init__()
            self.module = deepcopy(model)
            self.module.eval()
            self.decay = decay
            self.min_decay = min_decay
            self.update_after_step = update_after_step
            self.use_warmup = use_warmup
            self.warmup_gamma = warmup_gamma
            self.warmup_power = warmup_power

        def get_decay(self, step: int | None = None) -> float:
            """Compute the decay factor for the exponential moving average."""
            if step is None:
                return self.decay
            step = max(0, step - self.update_after_step - 1)
            if step <= 0:
                return 0.0
            if self.use_warmup:
                decay = 1 - (1 + step / self.warmup_gamma) ** -self.warmup_power
                decay = max(min(decay, self.decay), self.min_decay)
            else:
                decay = self.decay
            return decay

        @torch.no_grad()
        def update(self, model: Any, step: int | None = None) -> None:
            decay = self.get_decay(step)
            for ema_v, model_v in zip(
                self.module.state_dict().values(), model.state_dict().values()
            ):
                if ema_v.is_floating_point():
                    ema_v.lerp_(model_v, weight=1.0 - decay)
                else:
                    ema_v.copy_(model_v)

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return self.module(*args, **kwargs)

    return ModelEmaV2, ModelEmaV3


class AverageMeter:
    """Computes and stores the average and current value"""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val: float, n: int = 1) -> None:
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


def accuracy(output: Any, target: Any, topk: tuple = (1,)) -> list:
    """Computes the accuracy over the k top predictions for the specified values of k"""
    maxk = min(max(topk), output.size()[1])
    batch_size = target.size(0)
    _, pred = output.topk(maxk, 1, True, True)
    pred = pred.t()
    correct = pred.eq(target.reshape(1, -1).expand_as(pred))
    return [correct[: min(k, maxk)].reshape(-1).float().sum(0) * 100.0 / batch_size for k in topk]


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(290)
    labels = np.arange(N) % CLASSES
    images = 0.3 * rng.standard_normal((N, CHANS, IMG, IMG))
    for i, c in enumerate(labels):
        images[i, c % CHANS, (c // CHANS) * 4 : (c // CHANS) * 4 + 4] += 1.0  # a class pattern
    return images, labels.astype(np.int64)


def _train(torch_like: Any, init: dict, grad_checkpointing: Any) -> list[float]:
    torch = torch_like
    images, labels = _data()
    x_all, y_all = as_tensor(torch, images), as_tensor(torch, labels)
    model = make_model(torch_like, grad_checkpointing)
    load_numpy_state(torch, model, init)
    LabelSmoothingCrossEntropy, SoftTargetCrossEntropy = _losses(torch_like)
    ModelEmaV2, ModelEmaV3 = _emas(torch_like)
    dispatch_clip_grad = _clip_grad(torch_like)
    model_ema = ModelEmaV2(model, decay=0.9)
    model_ema_v3 = ModelEmaV3(model, decay=0.99, use_warmup=True)
    optimizer = torch.optim.AdamW(
        param_groups_weight_decay(model, weight_decay=0.05), lr=5e-3, betas=(0.9, 0.999)
    )
    lr_scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=1, T_mult=2, eta_min=1e-4
    )
    train_loss_fn = SoftTargetCrossEntropy()
    smooth_loss_fn = LabelSmoothingCrossEntropy(smoothing=0.1)
    clip_modes = ["norm", "value", "agc"]
    values: list[float] = []
    num_updates_per_epoch, bs, num_updates, lam = N // 8, 8, 0, 0.7
    for epoch in range(3):
        model.train()
        losses_m = AverageMeter()
        for batch_idx in range(num_updates_per_epoch):
            input = x_all[batch_idx * bs : (batch_idx + 1) * bs].clone()
            target = y_all[batch_idx * bs : (batch_idx + 1) * bs]
            if epoch < 2:  # mixup: the batch mixed with its flip, soft targets
                x_flipped = input.flip(0).mul_(1.0 - lam)
                input.mul_(lam).add_(x_flipped)
                soft = mixup_target(torch, target, CLASSES, lam, smoothing=0.1)
                loss = train_loss_fn(model(input), soft)
            else:
                loss = smooth_loss_fn(model(input), target)
            losses_m.update(loss.item(), input.size(0))
            optimizer.zero_grad()
            loss.backward()
            mode = clip_modes[num_updates % 3]
            norm = dispatch_clip_grad(model.parameters(), {"agc": 0.05}.get(mode, 0.5), mode=mode)
            if norm is not None:
                values.append(float(norm))
            optimizer.step()
            num_updates += 1
            model_ema.update(model)
            model_ema_v3.update(model, step=num_updates)
            lr_scheduler.step(epoch + (batch_idx + 1) / num_updates_per_epoch)
            values.extend([loss.item(), optimizer.param_groups[0]["lr"]])
        values.append(losses_m.avg)
        for m in (model, model_ema.module, model_ema_v3.module):
            m.eval()
            with torch.no_grad():
                output = m(x_all)
                acc1, acc3 = accuracy(output, y_all, topk=(1, 3))
            values.extend([acc1.item(), acc3.item(), output.sum().item()])
    values.append(model_ema_v3.get_decay(num_updates))
    values.extend(model_ema.module.blocks[1].ls2.tolist())
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    values: list[float] = []
    # the fresh init: zero head weight, -log(C) head bias, tiny mlp biases, Affine ones/zeros
    fresh = make_model(torch_like)
    values.append(fresh.head.weight.abs().sum().item())
    values.append(fresh.head.bias[0].item())
    values.append(float(fresh.blocks[0].mlp_channels.fc1.bias.abs().max().item() < 1e-4))
    values.append(fresh.blocks[0].norm1.alpha.sum().item())
    values.append(fresh.stem.proj.weight.abs().max().item() <= 0.04)  # trunc_normal_ std 0.02
    values.append(type(fresh.stem.norm).__name__ == "Identity")
    try:
        fresh(torch.zeros(1, CHANS, IMG + 4, IMG))
    except AssertionError as e:
        values.append("doesn't match model" in str(e))
    plain = _train(torch_like, init, False)
    ckpt = _train(torch_like, init, True)
    seq = _train(torch_like, init, "sequential")
    return values + plain + ckpt + seq


def check(values: list[float]) -> None:
    rest = values[7:]
    n = len(rest) // 3
    plain, ckpt, seq = rest[:n], rest[n : 2 * n], rest[2 * n :]
    np.testing.assert_allclose(ckpt, plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(seq, plain, rtol=1e-12, atol=1e-12)
