"""The building blocks of timm's ``vision_transformer.py`` and ``layers/`` as timm writes them,
size-reduced: ``drop_path`` (``keep_prob = 1 - drop_prob``, ``shape = (x.shape[0],) + (1,) *
(x.ndim - 1)``, ``random_tensor = x.new_empty(shape).bernoulli_(keep_prob)``, ``random_tensor.
div_(keep_prob)`` when ``scale_by_keep``) and its ``DropPath`` module with ``extra_repr``
(``f"drop_prob={round(self.drop_prob, 3):0.3f}"``); ``LayerScale`` (``self.gamma =
nn.Parameter(init_values * torch.ones(dim))``, ``x.mul_(self.gamma) if self.inplace else x *
self.gamma``); ``Mlp`` (fc1, act, drop1, norm, fc2, drop2); ``Attention`` with ``qkv.reshape(B,
N, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)``, ``q, k = self.q_norm(q), self.k_norm(k)``
and ``F.scaled_dot_product_attention``; the pre-norm ``Block`` (``x + self.drop_path1(self.ls1(
self.attn(self.norm1(x))))``); the stochastic-depth rule ``dpr = [x.item() for x in
torch.linspace(0, drop_path_rate, depth)]`` with ``DropPath(dpr[i]) if dpr[i] > 0.0 else
nn.Identity()``; ``trunc_normal_(self.pos_embed, std=0.02)`` and ``nn.init.normal_(
self.cls_token, std=1e-6)``; ``named_apply(init_weights_vit_timm, self)`` (timm's recursive
``named_apply`` with ``depth_first`` / ``include_root``); the ``@torch.jit.ignore``
``no_weight_decay()`` set; ``param_groups_weight_decay`` (``param.ndim <= 1 or
name.endswith(".bias") or name in no_weight_decay_list`` goes to the ``weight_decay=0.0`` group);
and a short AdamW fine-tune with ``model.train()`` / ``model.eval()``.

The stochastic path cannot agree value for value between two generators, so its checks are
structural: with ``drop_prob=0.0`` (or in eval) ``drop_path`` returns its input unchanged;
with ``drop_prob=0.5`` in training each sample is either zeroed or scaled by ``1/keep_prob``
(``scale_by_keep=False``: kept as is), and the random tensor has shape ``(B, 1, 1)``. The
freshly initialised weights are checked by their statistics (``trunc_normal_`` within
``[-2, 2]``, std near 0.02; LayerScale gamma all ``init_values``), then the torch model's
weights are loaded so the training losses compare step by step.

Changed: ImageNet is 12 random 3x8x8 NumPy images with 3 classes; patch 16 -> 4, embed_dim
768 -> 8, 2 heads, depth 12 -> 2, ``drop_path_rate`` 0.1 (its DropPath modules are switched to
``drop_prob = 0.0`` for the compared training run, as ConvNeXt-style ``update_drop_path``
schedules do).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

IMG, PATCH, CHANS, EMBED, HEADS, DEPTH, CLASSES, N = 8, 4, 3, 8, 2, 2, 3, 12


_LAYERS: dict[str, dict[str, Any]] = {}


def _layers(torch_like: Any) -> dict[str, Any]:
    """timm's layers, built once per framework (so ``isinstance(m, DropPath)`` works)."""
    if torch_like.__name__ not in _LAYERS:
        _LAYERS[torch_like.__name__] = _build_layers(torch_like)
    return _LAYERS[torch_like.__name__]


def _build_layers(torch_like: Any) -> dict[str, Any]:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    def drop_path(
        x: Any, drop_prob: float = 0.0, training: bool = False, scale_by_keep: bool = True
    ) -> Any:
        if drop_prob == 0.0 or not training:
            return x
        keep_prob = 1 - drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # work with diff dim tensors, not just 2D
        random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
        if keep_prob > 0.0 and scale_by_keep:
            random_tensor.div_(keep_prob)
        return x * random_tensor

    class DropPath(nn.Module):
        """Drop paths (Stochastic Depth) per sample (when applied in main path of residual
        blocks)."""

        def __init__(self, drop_prob: float = 0.0, scale_by_keep: bool = True) -> None:
            super().__init__()
            self.drop_prob = drop_prob
            self.scale_by_keep = scale_by_keep

        def forward(self, x: Any) -> Any:
            return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

        def extra_repr(self) -> str:
            return f"drop_prob={round(self.drop_prob, 3):0.3f}"

    class LayerScale(nn.Module):
        def __init__(self, dim: int, init_values: float = 1e-5, inplace: bool = False) -> None:
            super().__init__()
            self.inplace = inplace
            self.gamma = nn.Parameter(init_values * torch.ones(dim))

        def forward(self, x: Any) -> Any:
            return x.mul_(self.gamma) if self.inplace else x * self.gamma

    class Mlp(nn.Module):
        def __init__(
            self,
            in_features: int,
            hidden_features: int | None = None,
            out_features: int | None = None,
            act_layer: Any = nn.GELU,
            norm_layer: Any = None,
            bias: bool = True,
            drop: float = 0.0,
        ) -> None:
            super().__init__()
            out_features = out_features or in_features
            hidden_features = hidden_features or in_features
            self.fc1 = nn.Linear(in_features, hidden_features, bias=bias)
            self.act = act_layer()
            self.drop1 = nn.Dropout(drop)
            self.norm = norm_layer(hidden_features) if norm_layer is not None else nn.Identity()
            self.fc2 = nn.Linear(hidden_features, out_features, bias=bias)
            self.drop2 = nn.Dropout(drop)

        def forward(self, x: Any) -> Any:
            x = self.fc1(x)
            x = self.act(x)
            x = self.drop1(x)
            x = self.norm(x)
            x = self.fc2(x)
            x = self.drop2(x)
            return x

    class Attention(nn.Module):
        def __init__(
            self,
            dim: int,
            num_heads: int = 8,
            qkv_bias: bool = False,
            qk_norm: bool = False,
            attn_drop: float = 0.0,
            proj_drop: float = 0.0,
            norm_layer: Any = nn.LayerNorm,
        ) -> None:
            super().__init__()
            assert dim % num_heads == 0, "dim should be divisible by num_heads"
            self.num_heads = num_heads
            self.head_dim = dim // num_heads
            self.scale = self.head_dim**-0.5
            self.fused_attn = True
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.q_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
            self.k_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
            self.attn_drop = nn.Dropout(attn_drop)
            self.proj = nn.Linear(dim, dim)
            self.proj_drop = nn.Dropout(proj_drop)

        def forward(self, x: Any) -> Any:
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            q, k = self.q_norm(q), self.k_norm(k)
            if self.fused_attn:
                x = F.scaled_dot_product_attention(
                    q, k, v, dropout_p=self.attn_drop.p if self.training else 0.0
                )
            else:
                q = q * self.scale
                attn = q @ k.transpose(-2, -1)
                attn = attn.softmax(dim=-1)
                attn = self.attn_drop(attn)
                x = attn @ v
            x = x.transpose(1, 2).reshape(B, N, C)
            x = self.proj(x)
            x = self.proj_drop(x)
            return x

    class Block(nn.Module):
        def __init__(
            self,
            dim: int,
            num_heads: int,
            mlp_ratio: float = 4.0,
            qkv_bias: bool = False,
            qk_norm: bool = False,
            init_values: float | None = None,
            drop_path: float = 0.0,
            inplace_ls: bool = False,
            norm_layer: Any = nn.LayerNorm,
        ) -> None:
            super().__init__()
            self.norm1 = norm_layer(dim)
            self.attn = Attention(dim, num_heads, qkv_bias, qk_norm, norm_layer=norm_layer)
            self.ls1 = (
                LayerScale(dim, init_values=init_values, inplace=inplace_ls)
                if init_values
                else nn.Identity()
            )
            self.drop_path1 = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
            self.norm2 = norm_layer(dim)
            self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio))
            self.ls2 = (
                LayerScale(dim, init_values=init_values, inplace=inplace_ls)
                if init_values
                else nn.Identity()
            )
            self.drop_path2 = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

        def forward(self, x: Any) -> Any:
            x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x))))
            x = x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
            return x

    return {
        "drop_path": drop_path,
        "DropPath": DropPath,
        "LayerScale": LayerScale,
        "Block": Block,
    }


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


def _vit_class(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn
    trunc_normal_ = nn.init.trunc_normal_
    Block = _layers(torch_like)["Block"]

    def init_weights_vit_timm(module: Any, name: str = "") -> None:
        """ViT weight initialization, original timm impl (for reproducibility)"""
        if isinstance(module, nn.Linear):
            trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    class VisionTransformer(nn.Module):
        def __init__(
            self,
            img_size: int = IMG,
            patch_size: int = PATCH,
            in_chans: int = CHANS,
            num_classes: int = CLASSES,
            embed_dim: int = EMBED,
            depth: int = DEPTH,
            num_heads: int = HEADS,
            mlp_ratio: float = 4.0,
            qkv_bias: bool = True,
            init_values: float | None = 0.1,
            drop_path_rate: float = 0.1,
            inplace_ls: bool = True,
        ) -> None:
            super().__init__()
            norm_layer = partial(nn.LayerNorm, eps=1e-6)
            self.num_classes = num_classes
            self.num_features = self.embed_dim = embed_dim
            self.num_prefix_tokens = 1
            self.patch_embed = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)
            num_patches = (img_size // patch_size) ** 2
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.pos_embed = nn.Parameter(torch.randn(1, num_patches + 1, embed_dim) * 0.02)
            self.pos_drop = nn.Dropout(p=0.0)
            dpr = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
            self.blocks = nn.Sequential(
                *[
                    Block(
                        dim=embed_dim,
                        num_heads=num_heads,
                        mlp_ratio=mlp_ratio,
                        qkv_bias=qkv_bias,
                        init_values=init_values,
                        drop_path=dpr[i],
                        inplace_ls=inplace_ls,
                        norm_layer=norm_layer,
                    )
                    for i in range(depth)
                ]
            )
            self.norm = norm_layer(embed_dim)
            self.head = nn.Linear(self.embed_dim, num_classes) if num_classes > 0 else nn.Identity()
            self.init_weights()

        def init_weights(self, mode: str = "") -> None:
            head_bias = -math.log(self.num_classes) if "nlhb" in mode else 0.0
            trunc_normal_(self.pos_embed, std=0.02)
            nn.init.normal_(self.cls_token, std=1e-6)
            named_apply(init_weights_vit_timm, self)
            nn.init.constant_(self.head.bias, head_bias)

        @torch.jit.ignore
        def no_weight_decay(self) -> set:
            return {"pos_embed", "cls_token", "dist_token"}

        def forward_features(self, x: Any) -> Any:
            x = self.patch_embed(x).flatten(2).transpose(1, 2)  # NCHW -> NLC
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
            x = self.pos_drop(x + self.pos_embed)
            x = self.blocks(x)
            x = self.norm(x)
            return x

        def forward_head(self, x: Any, pre_logits: bool = False) -> Any:
            x = x[:, 0]  # global_pool == "token"
            return x if pre_logits else self.head(x)

        def forward(self, x: Any) -> Any:
            x = self.forward_features(x)
            x = self.forward_head(x)
            return x

    return VisionTransformer


def make_model(torch_like: Any) -> Any:
    return _vit_class(torch_like)()


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


def _structure_checks(torch_like: Any) -> list[float]:
    """drop_path's and the fresh init's properties that hold whatever the generator draws."""
    torch = torch_like
    layers = _layers(torch_like)
    drop_path, DropPath = layers["drop_path"], layers["DropPath"]
    x = torch.tensor(np.random.default_rng(0).standard_normal((64, 3, 4)))
    out: list[float] = []
    # no drop: the very same tensor, in training and in eval
    out.append(float(drop_path(x, 0.0, training=True) is x))
    out.append(float(drop_path(x, 0.5, training=False) is x))
    for scale_by_keep, scale in ((True, 2.0), (False, 1.0)):
        y = drop_path(x, 0.5, training=True, scale_by_keep=scale_by_keep)
        zeroed = (y == 0).flatten(1).all(dim=1)
        scaled = torch.isclose(y, x * scale).flatten(1).all(dim=1)
        out.append(float((zeroed | scaled).all().item()))
        out.append(float(zeroed.any().item() and scaled.any().item()))  # 64 draws: both happen
        out.append(float(y.shape == x.shape and y.dtype == x.dtype))
    random_tensor = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(0.75)
    out.append(float(tuple(random_tensor.shape) == (64, 1, 1)))
    out.append(float(((random_tensor == 0) | (random_tensor == 1)).all().item()))
    # a DropPath in training keeps the gradient path: d(sum)/dx is the mask
    xr = x.clone().requires_grad_(True)
    module = DropPath(0.5).train()
    y = module(xr)
    y.sum().backward()
    kept = (y.detach() != 0).flatten(1).any(dim=1)
    want = kept.to(x.dtype)[:, None, None].expand_as(x) * 2.0
    out.append(float(torch.equal(xr.grad, want)))
    out.append(float(repr(DropPath(0.1234)) == "DropPath(drop_prob=0.123)"))
    # trunc_normal_(std=.02): bounds are absolute (-2, 2), so it is an untruncated N(0, .02)
    w = torch.empty(64, 64)
    torch.nn.init.trunc_normal_(w, std=0.02)
    out.append(float(w.abs().max().item() < 0.2))
    out.append(float(0.018 < w.std().item() < 0.022 and abs(w.mean().item()) < 0.002))
    t = torch.nn.init.trunc_normal_(torch.empty(1000), mean=0.0, std=1.0, a=-0.5, b=0.5)
    out.append(float(t.min().item() >= -0.5 and t.max().item() <= 0.5))
    model = make_model(torch_like)
    out.append(float(model.head.bias.abs().max().item() == 0.0))
    out.append(float(model.cls_token.abs().max().item() < 1e-4))
    gammas = [p for n, p in model.named_parameters() if n.endswith("gamma")]
    out.append(float(len(gammas)))
    out.append(float(all(torch.all(g == 0.1).item() for g in gammas)))
    names = []
    named_apply(lambda module, name: names.append(name), model, include_root=True)
    out.append(float(names[-1] == "" and "blocks.0.attn.qkv" in names))
    out.append(float(len(names)))
    names_bf = []
    named_apply(
        lambda module, name: names_bf.append(name), model, depth_first=False, include_root=True
    )
    out.append(float(names_bf[0] == "" and sorted(names_bf) == sorted(names)))
    drop_paths = [m for m in model.modules() if isinstance(m, DropPath)]
    out += [float(len(drop_paths))] + [m.drop_prob for m in drop_paths]
    return out


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    images = rng.standard_normal((N, CHANS, IMG, IMG))
    labels = rng.integers(0, CLASSES, size=N)
    images[np.arange(N), labels] += 1.0
    return images, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    values = _structure_checks(torch_like)
    images, labels = _data()
    model = make_model(torch_like)
    if init is not None:
        model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    DropPath = type(model.blocks[1].drop_path1)
    for m in model.modules():
        if isinstance(m, DropPath):
            m.drop_prob = 0.0
    skip = set()
    if hasattr(model, "no_weight_decay"):
        skip = model.no_weight_decay()
    groups = param_groups_weight_decay(model, weight_decay=0.05, no_weight_decay_list=skip)
    values += [float(len(groups[0]["params"])), float(len(groups[1]["params"]))]
    optimizer = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.999))
    criterion = nn.CrossEntropyLoss()
    x_all, y_all = torch.tensor(images), torch.tensor(labels)
    for _epoch in range(3):
        model.train()
        for i in range(0, N, 4):
            x, y = x_all[i : i + 4], y_all[i : i + 4]
            loss = criterion(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            values.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(x_all)
        values.append((logits.argmax(dim=-1) == y_all).float().mean().item())
        values.append(logits.sum().item())
    values += dict(model.named_parameters())["blocks.1.ls2.gamma"].tolist()
    return values
