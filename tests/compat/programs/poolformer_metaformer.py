"""sail-sg/poolformer (``models/poolformer.py``) with the timm pieces it imports
(``timm/layers/drop.py``'s ``DropPath``, ``helpers.to_2tuple``, ``optim_factory``'s
``param_groups_weight_decay``), size-reduced: a MetaFormer whose token mixer is average pooling,
trained a few steps.

The idioms: ``Pooling`` (``nn.AvgPool2d(pool_size, stride=1, padding=pool_size//2,
count_include_pad=False)`` and ``self.pool(x) - x``); ``GroupNorm(nn.GroupNorm)`` with
``super().__init__(1, num_channels, **kwargs)`` (a layer norm over C, H, W); ``PatchEmbed``
(``to_2tuple`` through ``collections.abc.Iterable`` and ``tuple(repeat(x, 2))``, a strided
``nn.Conv2d`` and ``norm_layer(embed_dim) if norm_layer else nn.Identity()``); ``Mlp`` of 1x1
``nn.Conv2d``s with ``self.apply(self._init_weights)`` and ``trunc_normal_(m.weight,
std=.02)``; ``PoolFormerBlock`` (``nn.Parameter(layer_scale_init_value * torch.ones((dim)),
requires_grad=True)``, ``self.layer_scale_1.unsqueeze(-1).unsqueeze(-1) *
self.token_mixer(self.norm1(x))``, ``DropPath(drop_path) if drop_path > 0. else
nn.Identity()``); timm's ``drop_path`` (``shape = (x.shape[0],) + (1,) * (x.ndim - 1)``,
``x.new_empty(shape).bernoulli_(keep_prob)``, ``random_tensor.div_(keep_prob)``) and
``DropPath.extra_repr`` (``f'drop_prob={round(self.drop_prob,3):0.3f}'``); ``basic_blocks``'
stochastic-depth rate ``drop_path_rate * (block_idx + sum(layers[:index])) / (sum(layers) -
1)``; ``PoolFormer`` (the ``network`` list of stages and downsampling ``PatchEmbed``s with the
``if i >= len(layers) - 1: break`` guard, ``nn.ModuleList(network)``, ``forward_tokens``,
``self.head(x.mean([-2, -1]))``, ``cls_init_weights``); timm's ``param_groups_weight_decay``
(``param.ndim <= 1 or name.endswith(".bias")`` into a ``weight_decay: 0.`` group) for
``torch.optim.AdamW``, and ``nn.CrossEntropyLoss(label_smoothing=0.1)``.

Changed: the s12 layout ``[2, 2, 6, 2]`` with dims ``[64, 128, 320, 512]`` -> ``[1, 2]`` with
``[4, 8]``, 224 x 224 images -> 16 x 16 NumPy images of 3 classes; ``drop_path_rate`` 0.1
kept (the ``bernoulli_`` draws are torch's under both libraries).
"""

from __future__ import annotations

import collections.abc
from itertools import repeat
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def to_2tuple(x: Any) -> tuple:
    if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
        return tuple(x)
    return tuple(repeat(x, 2))


def _poolformer(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    trunc_normal_ = nn.init.trunc_normal_

    def drop_path(x, drop_prob: float = 0.0, training: bool = False, scale_by_keep: bool = True):  # noqa: ANN001, ANN202
        if drop_prob == 0.0 or not training:
            return x
        keep_prob = 1 - drop_prob
        shape = (x.shape[0],) + (1,) * (
            x.ndim - 1
        )  # work with diff dim tensors, not just 2D ConvNets
        random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
        if keep_prob > 0.0 and scale_by_keep:
            random_tensor.div_(keep_prob)
        return x * random_tensor

    class DropPath(nn.Module):
        """Drop paths (Stochastic Depth) per sample  (when applied in main path of residual
        blocks)."""

        def __init__(self, drop_prob: float = 0.0, scale_by_keep: bool = True):
            super(DropPath, self).__init__()  # noqa: UP008 (as in the repository)
            self.drop_prob = drop_prob
            self.scale_by_keep = scale_by_keep

        def forward(self, x: Any) -> Any:
            return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

        def extra_repr(self) -> str:
            return f"drop_prob={round(self.drop_prob, 3):0.3f}"

    class PatchEmbed(nn.Module):
        """
        Patch Embedding that is implemented by a layer of conv.
        Input: tensor in shape [B, C, H, W]
        Output: tensor in shape [B, C, H/stride, W/stride]
        """

        def __init__(self, patch_size=16, stride=16, padding=0, in_chans=3, embed_dim=768,
                     norm_layer=None):  # noqa: ANN001 # fmt: skip
            super().__init__()
            patch_size = to_2tuple(patch_size)
            stride = to_2tuple(stride)
            padding = to_2tuple(padding)
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride,
                                  padding=padding)  # fmt: skip
            self.norm = norm_layer(embed_dim) if norm_layer else nn.Identity()

        def forward(self, x: Any) -> Any:
            x = self.proj(x)
            x = self.norm(x)
            return x

    class GroupNorm(nn.GroupNorm):
        """
        Group Normalization with 1 group.
        Input: tensor in shape [B, C, H, W]
        """

        def __init__(self, num_channels, **kwargs):  # noqa: ANN001, ANN003
            super().__init__(1, num_channels, **kwargs)

    class Pooling(nn.Module):
        """
        Implementation of pooling for PoolFormer
        --pool_size: pooling size
        """

        def __init__(self, pool_size=3):  # noqa: ANN001
            super().__init__()
            self.pool = nn.AvgPool2d(pool_size, stride=1, padding=pool_size // 2,
                                     count_include_pad=False)  # fmt: skip

        def forward(self, x: Any) -> Any:
            return self.pool(x) - x

    class Mlp(nn.Module):
        """
        Implementation of MLP with 1*1 convolutions.
        Input: tensor with shape [B, C, H, W]
        """

        def __init__(self, in_features, hidden_features=None, out_features=None,
                     act_layer=nn.GELU, drop=0.0):  # noqa: ANN001 # fmt: skip
            super().__init__()
            out_features = out_features or in_features
            hidden_features = hidden_features or in_features
            self.fc1 = nn.Conv2d(in_features, hidden_features, 1)
            self.act = act_layer()
            self.fc2 = nn.Conv2d(hidden_features, out_features, 1)
            self.drop = nn.Dropout(drop)
            self.apply(self._init_weights)

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Conv2d):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

        def forward(self, x: Any) -> Any:
            x = self.fc1(x)
            x = self.act(x)
            x = self.drop(x)
            x = self.fc2(x)
            x = self.drop(x)
            return x

    class PoolFormerBlock(nn.Module):
        """
        Implementation of one PoolFormer block.
        """

        def __init__(self, dim, pool_size=3, mlp_ratio=4.0, act_layer=nn.GELU,
                     norm_layer=GroupNorm, drop=0.0, drop_path=0.0, use_layer_scale=True,
                     layer_scale_init_value=1e-5):  # noqa: ANN001 # fmt: skip
            super().__init__()

            self.norm1 = norm_layer(dim)
            self.token_mixer = Pooling(pool_size=pool_size)
            self.norm2 = norm_layer(dim)
            mlp_hidden_dim = int(dim * mlp_ratio)
            self.mlp = Mlp(in_features=dim, hidden_features=mlp_hidden_dim, act_layer=act_layer,
                           drop=drop)  # fmt: skip

            # The following two techniques are useful to train deep PoolFormers.
            self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
            self.use_layer_scale = use_layer_scale
            if use_layer_scale:
                self.layer_scale_1 = nn.Parameter(
                    layer_scale_init_value * torch.ones(dim), requires_grad=True
                )
                self.layer_scale_2 = nn.Parameter(
                    layer_scale_init_value * torch.ones(dim), requires_grad=True
                )

        def forward(self, x: Any) -> Any:
            if self.use_layer_scale:
                x = x + self.drop_path(
                    self.layer_scale_1.unsqueeze(-1).unsqueeze(-1) * self.token_mixer(self.norm1(x))
                )
                x = x + self.drop_path(
                    self.layer_scale_2.unsqueeze(-1).unsqueeze(-1) * self.mlp(self.norm2(x))
                )
            else:
                x = x + self.drop_path(self.token_mixer(self.norm1(x)))
                x = x + self.drop_path(self.mlp(self.norm2(x)))
            return x

    def basic_blocks(dim, index, layers, pool_size=3, mlp_ratio=4.0, act_layer=nn.GELU,
                     norm_layer=GroupNorm, drop_rate=0.0, drop_path_rate=0.0,
                     use_layer_scale=True, layer_scale_init_value=1e-5):  # noqa: ANN001, ANN202 # fmt: skip
        """
        generate PoolFormer blocks for a stage
        return: PoolFormer blocks
        """
        blocks = []
        for block_idx in range(layers[index]):
            block_dpr = drop_path_rate * (block_idx + sum(layers[:index])) / (sum(layers) - 1)
            blocks.append(
                PoolFormerBlock(
                    dim,
                    pool_size=pool_size,
                    mlp_ratio=mlp_ratio,
                    act_layer=act_layer,
                    norm_layer=norm_layer,
                    drop=drop_rate,
                    drop_path=block_dpr,
                    use_layer_scale=use_layer_scale,
                    layer_scale_init_value=layer_scale_init_value,
                )  # fmt: skip
            )
        blocks = nn.Sequential(*blocks)

        return blocks

    class PoolFormer(nn.Module):
        """
        PoolFormer, the main class of our model
        """

        def __init__(self, layers, embed_dims=None, mlp_ratios=None, downsamples=None,
                     pool_size=3, norm_layer=GroupNorm, act_layer=nn.GELU, num_classes=1000,
                     in_patch_size=7, in_stride=4, in_pad=2, down_patch_size=3, down_stride=2,
                     down_pad=1, drop_rate=0.0, drop_path_rate=0.0, use_layer_scale=True,
                     layer_scale_init_value=1e-5, fork_feat=False):  # noqa: ANN001 # fmt: skip
            super().__init__()

            if not fork_feat:
                self.num_classes = num_classes
            self.fork_feat = fork_feat

            self.patch_embed = PatchEmbed(
                patch_size=in_patch_size, stride=in_stride, padding=in_pad, in_chans=3,
                embed_dim=embed_dims[0],
            )  # fmt: skip

            # set the main block in network
            network = []
            for i in range(len(layers)):
                stage = basic_blocks(embed_dims[i], i, layers, pool_size=pool_size,
                                     mlp_ratio=mlp_ratios[i], act_layer=act_layer,
                                     norm_layer=norm_layer, drop_rate=drop_rate,
                                     drop_path_rate=drop_path_rate,
                                     use_layer_scale=use_layer_scale,
                                     layer_scale_init_value=layer_scale_init_value)  # fmt: skip
                network.append(stage)
                if i >= len(layers) - 1:
                    break
                if downsamples[i] or embed_dims[i] != embed_dims[i + 1]:
                    # downsampling between two stages
                    network.append(
                        PatchEmbed(
                            patch_size=down_patch_size,
                            stride=down_stride,
                            padding=down_pad,
                            in_chans=embed_dims[i],
                            embed_dim=embed_dims[i + 1],
                        )  # fmt: skip
                    )

            self.network = nn.ModuleList(network)

            # Classifier head
            self.norm = norm_layer(embed_dims[-1])
            self.head = nn.Linear(embed_dims[-1], num_classes) if num_classes > 0 else nn.Identity()

            self.apply(self.cls_init_weights)

        # init for classification
        def cls_init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)

        def forward_embeddings(self, x: Any) -> Any:
            x = self.patch_embed(x)
            return x

        def forward_tokens(self, x: Any) -> Any:
            outs = []
            for _idx, block in enumerate(self.network):
                x = block(x)
            if self.fork_feat:
                # output the features of four stages for dense prediction
                return outs
            # output only the features of last layer for image classification
            return x

        def forward(self, x: Any) -> Any:
            # input embedding
            x = self.forward_embeddings(x)
            # through backbone
            x = self.forward_tokens(x)
            if self.fork_feat:
                # otuput features of four stages for dense prediction
                return x
            x = self.norm(x)
            cls_out = self.head(x.mean([-2, -1]))
            # for image classification
            return cls_out

    return PoolFormer


def make_model(torch_like: Any) -> Any:
    PoolFormer = _poolformer(torch_like)
    layers = [1, 2]
    embed_dims = [4, 8]
    mlp_ratios = [4, 4]
    downsamples = [True, True]
    return PoolFormer(layers, embed_dims=embed_dims, mlp_ratios=mlp_ratios,
                      downsamples=downsamples, num_classes=3, drop_path_rate=0.1)  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    def param_groups_weight_decay(model, weight_decay=1e-5, no_weight_decay_list=()):  # noqa: ANN001, ANN202
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

    optimizer = torch.optim.AdamW(param_groups_weight_decay(model, 0.05), lr=4e-3)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    rng = np.random.default_rng(12)
    torch.manual_seed(0)
    values: list[float] = [float(len(optimizer.param_groups[0]["params"]))]
    for _step in range(4):
        x = as_tensor(torch, rng.normal(size=(4, 3, 16, 16)))
        y = torch.from_numpy(rng.integers(0, 3, 4))
        model.train()
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        out = model(x)
    values += [out.sum().item(), model.network[2][1].layer_scale_1.sum().item()]
    return values
