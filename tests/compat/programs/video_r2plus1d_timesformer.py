"""Two video classifiers on tiny clips: torchvision's ``r2plus1d_18`` (``torchvision/models/video/
resnet.py``) and facebookresearch/TimeSformer's divided space-time attention
(``timesformer/models/vit.py``), size-reduced and trained side by side.

R(2+1)D: ``R2Plus1dStem`` (``Conv3d(3, 45, kernel_size=(1, 7, 7), stride=(1, 2, 2),
padding=(0, 3, 3), bias=False)`` then ``Conv3d(..., kernel_size=(3, 1, 1), padding=(1, 0, 0))``),
``Conv2Plus1D(nn.Sequential)`` with ``midplanes = (in_planes * out_planes * 3 * 3 * 3) //
(in_planes * 3 * 3 + 3 * out_planes)``, ``BasicBlock`` with a strided ``downsample`` of
``Conv3d(kernel_size=1, stride=stride)`` + ``BatchNorm3d``, ``nn.AdaptiveAvgPool3d((1, 1, 1))``,
``x.flatten(1)``, and the ``kaiming_normal_(mode="fan_out", nonlinearity="relu")`` /
``constant_`` init loop over ``self.modules()``.

TimeSformer: ``PatchEmbed`` folds time into the batch (``rearrange(x, 'b c t h w -> (b t) c h w')``,
here ``permute(0, 2, 1, 3, 4).reshape``), ``cls_token.expand``, ``pos_embed`` and a
``time_embed`` added after ``'(b t) n m -> (b n) t m'``; each ``Block`` runs temporal attention
on ``'b (h w t) m -> (b h w) t m'`` with a ``temporal_fc``, then spatial attention with the
class token ``repeat(1, T, 1)``-ed into every frame and averaged back with
``torch.mean(cls_token, 1, True)``; all ``rearrange`` calls are written with
``view``/``permute``/``reshape``. ``Attention`` is the timm one (``qkv(x).reshape(B, N, 3, H,
C // H).permute(2, 0, 3, 1, 4)``, ``q @ k.transpose(-2, -1) * scale``). Weights come from
``trunc_normal_(std=.02)`` and the LayerNorm/Linear init of ``_init_weights``; ``temporal_fc``
starts at zero (``nn.init.constant_``) as in the source for blocks after the first.
Clips are 2x3x4x8x8 (224^2 x 8 frames there); widths 64.. / 768 become 4.. / 8.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_CLASSES = 5


def _r2plus1d(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Conv2Plus1D(nn.Sequential):
        def __init__(
            self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1, padding: int = 1
        ) -> None:
            super().__init__(
                nn.Conv3d(
                    in_planes,
                    midplanes,
                    kernel_size=(1, 3, 3),
                    stride=(1, stride, stride),
                    padding=(0, padding, padding),
                    bias=False,
                ),
                nn.BatchNorm3d(midplanes),
                nn.ReLU(inplace=True),
                nn.Conv3d(
                    midplanes,
                    out_planes,
                    kernel_size=(3, 1, 1),
                    stride=(stride, 1, 1),
                    padding=(padding, 0, 0),
                    bias=False,
                ),
            )

        @staticmethod
        def get_downsample_stride(stride: int) -> tuple[int, int, int]:
            return stride, stride, stride

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(
            self,
            inplanes: int,
            planes: int,
            conv_builder: Any,
            stride: int = 1,
            downsample: Any = None,
        ) -> None:
            midplanes = (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)
            super().__init__()
            self.conv1 = nn.Sequential(
                conv_builder(inplanes, planes, midplanes, stride),
                nn.BatchNorm3d(planes),
                nn.ReLU(inplace=True),
            )
            self.conv2 = nn.Sequential(
                conv_builder(planes, planes, midplanes), nn.BatchNorm3d(planes)
            )
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x: Any) -> Any:
            residual = x
            out = self.conv1(x)
            out = self.conv2(out)
            if self.downsample is not None:
                residual = self.downsample(x)
            out += residual
            out = self.relu(out)
            return out

    class R2Plus1dStem(nn.Sequential):
        def __init__(self) -> None:
            super().__init__(
                nn.Conv3d(
                    3, 6, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False
                ),
                nn.BatchNorm3d(6),
                nn.ReLU(inplace=True),
                nn.Conv3d(
                    6, 4, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False
                ),
                nn.BatchNorm3d(4),
                nn.ReLU(inplace=True),
            )

    class VideoResNet(nn.Module):
        def __init__(self, widths: tuple = (4, 8), num_classes: int = N_CLASSES) -> None:
            super().__init__()
            self.inplanes = 4
            self.stem = R2Plus1dStem()
            self.layer1 = self._make_layer(BasicBlock, Conv2Plus1D, widths[0], 1, stride=1)
            self.layer2 = self._make_layer(BasicBlock, Conv2Plus1D, widths[1], 1, stride=2)
            self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
            self.fc = nn.Linear(widths[1] * BasicBlock.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv3d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm3d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x: Any) -> Any:
            x = self.stem(x)
            x = self.layer1(x)
            x = self.layer2(x)
            x = self.avgpool(x)
            # Flatten the layer to fc
            x = x.flatten(1)
            x = self.fc(x)
            return x

        def _make_layer(
            self, block: Any, conv_builder: Any, planes: int, blocks: int, stride: int = 1
        ) -> Any:
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                ds_stride = conv_builder.get_downsample_stride(stride)
                downsample = nn.Sequential(
                    nn.Conv3d(
                        self.inplanes,
                        planes * block.expansion,
                        kernel_size=1,
                        stride=ds_stride,
                        bias=False,
                    ),
                    nn.BatchNorm3d(planes * block.expansion),
                )
            layers = [block(self.inplanes, planes, conv_builder, stride, downsample)]
            self.inplanes = planes * block.expansion
            for _i in range(1, blocks):
                layers.append(block(self.inplanes, planes, conv_builder))
            return nn.Sequential(*layers)

    return VideoResNet()


def _timesformer(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    trunc_normal_ = nn.init.trunc_normal_

    class Mlp(nn.Module):
        def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0) -> None:
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = nn.GELU()
            self.fc2 = nn.Linear(hidden_features, in_features)
            self.drop = nn.Dropout(drop)

        def forward(self, x: Any) -> Any:
            return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))

    class Attention(nn.Module):
        def __init__(self, dim: int, num_heads: int = 2, qkv_bias: bool = True) -> None:
            super().__init__()
            self.num_heads = num_heads
            head_dim = dim // num_heads
            self.scale = head_dim**-0.5
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)
            self.proj_drop = nn.Dropout(0.0)
            self.attn_drop = nn.Dropout(0.0)

        def forward(self, x: Any) -> Any:
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
            qkv = qkv.permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            attn = self.attn_drop(attn)
            x = (attn @ v).transpose(1, 2).reshape(B, N, C)
            x = self.proj(x)
            x = self.proj_drop(x)
            return x

    class Block(nn.Module):
        def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 2.0) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.attn = Attention(dim, num_heads=num_heads)
            self.temporal_norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.temporal_attn = Attention(dim, num_heads=num_heads)
            self.temporal_fc = nn.Linear(dim, dim)
            self.drop_path = nn.Identity()
            self.norm2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio))

        def forward(self, x: Any, B: int, T: int, W: int) -> Any:
            num_spatial_tokens = (x.size(1) - 1) // T
            H = num_spatial_tokens // W
            M = x.size(2)
            # Temporal: 'b (h w t) m -> (b h w) t m'
            xt = x[:, 1:, :]
            xt = xt.reshape(B * H * W, T, M)
            res_temporal = self.drop_path(self.temporal_attn(self.temporal_norm1(xt)))
            # '(b h w) t m -> b (h w t) m'
            res_temporal = res_temporal.reshape(B, H * W * T, M)
            res_temporal = self.temporal_fc(res_temporal)
            xt = x[:, 1:, :] + res_temporal

            # Spatial
            init_cls_token = x[:, 0, :].unsqueeze(1)
            cls_token = init_cls_token.repeat(1, T, 1)
            # 'b t m -> (b t) m'
            cls_token = cls_token.reshape(B * T, M).unsqueeze(1)
            xs = xt
            # 'b (h w t) m -> (b t) (h w) m'
            xs = xs.view(B, H * W, T, M).permute(0, 2, 1, 3).reshape(B * T, H * W, M)
            xs = torch.cat((cls_token, xs), 1)
            res_spatial = self.drop_path(self.attn(self.norm1(xs)))

            # Taking care of CLS token
            cls_token = res_spatial[:, 0, :]
            cls_token = cls_token.view(B, T, M)  # '(b t) m -> b t m'
            cls_token = torch.mean(cls_token, 1, True)  # averaging for every frame
            res_spatial = res_spatial[:, 1:, :]
            # '(b t) (h w) m -> b (h w t) m'
            res_spatial = res_spatial.reshape(B, T, H * W, M).permute(0, 2, 1, 3)
            res_spatial = res_spatial.reshape(B, H * W * T, M)
            res = res_spatial
            x = xt

            # Mlp
            x = torch.cat((init_cls_token, x), 1) + torch.cat((cls_token, res), 1)
            x = x + self.drop_path(self.mlp(self.norm2(x)))
            return x

    class PatchEmbed(nn.Module):
        def __init__(
            self, img_size: int = 8, patch_size: int = 4, in_chans: int = 3, embed_dim: int = 8
        ) -> None:
            super().__init__()
            self.num_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x: Any) -> tuple[Any, int, int]:
            B, C, T, H, W = x.shape
            x = x.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W)  # 'b c t h w -> (b t) c h w'
            x = self.proj(x)
            W = x.size(-1)
            x = x.flatten(2).transpose(1, 2)
            return x, T, W

    class VisionTransformer(nn.Module):
        def __init__(
            self,
            num_classes: int = N_CLASSES,
            embed_dim: int = 8,
            depth: int = 2,
            num_heads: int = 2,
            num_frames: int = 4,
        ) -> None:
            super().__init__()
            self.patch_embed = PatchEmbed(embed_dim=embed_dim)
            num_patches = self.patch_embed.num_patches
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim))
            self.pos_drop = nn.Dropout(p=0.0)
            self.time_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dim))
            self.time_drop = nn.Dropout(p=0.0)
            self.blocks = nn.ModuleList([Block(embed_dim, num_heads) for _ in range(depth)])
            self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
            self.head = nn.Linear(embed_dim, num_classes)
            trunc_normal_(self.pos_embed, std=0.02)
            trunc_normal_(self.cls_token, std=0.02)
            self.apply(self._init_weights)
            i = 0
            for m in self.blocks.modules():
                m_str = str(m)
                if "Block" in m_str:
                    if i > 0:
                        nn.init.constant_(m.temporal_fc.weight, 0)
                        nn.init.constant_(m.temporal_fc.bias, 0)
                    i += 1

        def _init_weights(self, m: Any) -> None:
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.bias, 0)
                nn.init.constant_(m.weight, 1.0)

        def forward_features(self, x: Any) -> Any:
            B = x.shape[0]
            x, T, W = self.patch_embed(x)
            cls_tokens = self.cls_token.expand(x.size(0), -1, -1)
            x = torch.cat((cls_tokens, x), dim=1)
            x = x + self.pos_embed
            x = self.pos_drop(x)
            # Time Embeddings
            cls_tokens = x[:B, 0, :].unsqueeze(1)
            x = x[:, 1:]
            n, m = x.size(1), x.size(2)
            # '(b t) n m -> (b n) t m'
            x = x.view(B, T, n, m).permute(0, 2, 1, 3).reshape(B * n, T, m)
            x = x + self.time_embed
            x = self.time_drop(x)
            x = x.view(B, n * T, m)  # '(b n) t m -> b (n t) m'
            x = torch.cat((cls_tokens, x), dim=1)
            for blk in self.blocks:
                x = blk(x, B, T, W)
            x = self.norm(x)
            return x[:, 0]

        def forward(self, x: Any) -> Any:
            return self.head(self.forward_features(x))

    return VisionTransformer()


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class Both(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.r2plus1d = _r2plus1d(torch_like)
            self.timesformer = _timesformer(torch_like)

    return Both()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    rng = np.random.default_rng(33)
    clips = rng.standard_normal((4, 3, 4, 8, 8))
    # a class-dependent moving bar, so the labels are learnable
    labels = np.array([0, 1, 2, 3])
    for i, c in enumerate(labels):
        for t in range(4):
            clips[i, c % 3, t, :, (c + t) % 8] += 2.0
    both = make_model(torch_like)
    load_numpy_state(torch_like, both, init)
    criterion = nn.CrossEntropyLoss()
    values = []
    video, target = as_tensor(torch, clips), as_tensor(torch, labels)
    opt_r = torch.optim.SGD(both.r2plus1d.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    opt_t = torch.optim.AdamW(both.timesformer.parameters(), lr=5e-3, weight_decay=0.05)
    for model, optimizer in ((both.r2plus1d, opt_r), (both.timesformer, opt_t)):
        model.train()
        for start in (0, 2, 0):
            output = model(video[start : start + 2])
            loss = criterion(output, target[start : start + 2])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=20)
            optimizer.step()
            values.append(loss.item())
        model.eval()
        with torch.no_grad():
            output = model(video)
            _, pred = output.topk(1, 1, True, True)
            values.append(pred.t().eq(target.view(1, -1).expand_as(pred.t())).float().sum().item())
            values.extend(torch.softmax(output, dim=1)[:, 0].tolist())
    values.append(both.r2plus1d.stem[1].running_var.sum().item())
    return values
