"""MobileViT as chinhsuanwu/mobilevit-pytorch (``mobilevit.py``) writes it, size-reduced: the
hybrid network whose ``MobileViTBlock`` unfolds feature maps into patches, runs a transformer
across patches, and folds them back, trained a few steps.

The idioms: ``conv_1x1_bn`` / ``conv_nxn_bn`` (``nn.Conv2d(inp, oup, kernal_size, stride, 1,
bias=False)``, ``nn.BatchNorm2d``, ``nn.SiLU()``); ``MV2Block`` (the inverted residual with
``int(inp * expansion)`` hidden channels, the depthwise ``groups=hidden_dim`` conv, the
``expansion == 1`` branch and ``self.use_res_connect = self.stride == 1 and inp == oup``);
``PreNorm`` passing ``**kwargs`` on; ``FeedForward`` (``nn.Sequential`` of ``nn.Linear``,
``nn.SiLU()``, ``nn.Dropout``); ``Attention`` (``project_out = not (heads == 1 and dim_head ==
dim)``, ``self.scale = dim_head ** -0.5``, ``self.to_qkv(x).chunk(3, dim=-1)`` mapped by a
lambda over ``'b p n (h d) -> b p h n d'``, ``torch.matmul(q, k.transpose(-1, -2)) *
self.scale``, ``nn.Softmax(dim = -1)``, ``self.to_out`` or ``nn.Identity()``); ``Transformer``
over ``nn.ModuleList([nn.ModuleList([...]) ...])`` unpacked as ``for attn, ff in self.layers``;
``MobileViTBlock`` (``y = x.clone()``, ``_, _, h, w = x.shape``, the unfold ``'b d (h ph) (w
pw) -> b (ph pw) (h w) d'`` and the fold back with ``h=h//self.ph``, ``torch.cat((x, y), 1)``
then ``conv4``); ``MobileViT`` (the ``mv2`` / ``mvit`` ``nn.ModuleList``s indexed in
``forward``, ``nn.AvgPool2d(ih//32, 1)``, ``self.pool(x).view(-1, x.shape[1])``, a bias-free
``nn.Linear`` head); ``count_parameters``' ``sum(p.numel() for p in model.parameters() if
p.requires_grad)``.

Changed: 256 x 256 images -> 64 x 64 from NumPy, the xxs channels (16 .. 320) -> (4 .. 16), dims
(64, 80, 96) -> (8, 8, 8), depths (2, 4, 3) -> (1, 1, 1), 1000 classes -> 3; ``einops.rearrange``
is written as ``view`` + ``permute`` + ``reshape`` (einops dispatches on the tensor type); a
few AdamW steps with label-smoothed cross entropy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state


def _mobilevit(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def conv_1x1_bn(inp, oup):  # noqa: ANN001, ANN202
        return nn.Sequential(nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup),
                             nn.SiLU())  # fmt: skip

    def conv_nxn_bn(inp, oup, kernal_size=3, stride=1):  # noqa: ANN001, ANN202
        return nn.Sequential(
            nn.Conv2d(inp, oup, kernal_size, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.SiLU()
        )

    class PreNorm(nn.Module):
        def __init__(self, dim, fn):  # noqa: ANN001
            super().__init__()
            self.norm = nn.LayerNorm(dim)
            self.fn = fn

        def forward(self, x: Any, **kwargs: Any) -> Any:
            return self.fn(self.norm(x), **kwargs)

    class FeedForward(nn.Module):
        def __init__(self, dim, hidden_dim, dropout=0.0):  # noqa: ANN001
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(dim, hidden_dim),
                nn.SiLU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_dim, dim),
                nn.Dropout(dropout),
            )

        def forward(self, x: Any) -> Any:
            return self.net(x)

    class Attention(nn.Module):
        def __init__(self, dim, heads=8, dim_head=64, dropout=0.0):  # noqa: ANN001
            super().__init__()
            inner_dim = dim_head * heads
            project_out = not (heads == 1 and dim_head == dim)

            self.heads = heads
            self.scale = dim_head**-0.5

            self.attend = nn.Softmax(dim=-1)
            self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)

            self.to_out = (
                nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout))
                if project_out
                else nn.Identity()
            )

        def forward(self, x: Any) -> Any:
            qkv = self.to_qkv(x).chunk(3, dim=-1)
            b, p, n, _ = x.shape
            # rearrange(t, 'b p n (h d) -> b p h n d', h = self.heads)
            q, k, v = map(lambda t: t.view(b, p, n, self.heads, -1).permute(0, 1, 3, 2, 4), qkv)

            dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale
            attn = self.attend(dots)
            out = torch.matmul(attn, v)
            out = out.permute(0, 1, 3, 2, 4).reshape(b, p, n, -1)  # 'b p h n d -> b p n (h d)'
            return self.to_out(out)

    class Transformer(nn.Module):
        def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout=0.0):  # noqa: ANN001
            super().__init__()
            self.layers = nn.ModuleList([])
            for _ in range(depth):
                self.layers.append(
                    nn.ModuleList(
                        [
                            PreNorm(dim, Attention(dim, heads, dim_head, dropout)),
                            PreNorm(dim, FeedForward(dim, mlp_dim, dropout)),
                        ]
                    )
                )

        def forward(self, x: Any) -> Any:
            for attn, ff in self.layers:
                x = attn(x) + x
                x = ff(x) + x
            return x

    class MV2Block(nn.Module):
        def __init__(self, inp, oup, stride=1, expansion=4):  # noqa: ANN001
            super().__init__()
            self.stride = stride
            assert stride in [1, 2]

            hidden_dim = int(inp * expansion)
            self.use_res_connect = self.stride == 1 and inp == oup

            if expansion == 1:
                self.conv = nn.Sequential(
                    # dw
                    nn.Conv2d(
                        hidden_dim, hidden_dim, 3, stride, 1, groups=hidden_dim, bias=False
                    ),  # fmt: skip
                    nn.BatchNorm2d(hidden_dim),
                    nn.SiLU(),
                    # pw-linear
                    nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                    nn.BatchNorm2d(oup),
                )
            else:
                self.conv = nn.Sequential(
                    # pw
                    nn.Conv2d(inp, hidden_dim, 1, 1, 0, bias=False),
                    nn.BatchNorm2d(hidden_dim),
                    nn.SiLU(),
                    # dw
                    nn.Conv2d(
                        hidden_dim, hidden_dim, 3, stride, 1, groups=hidden_dim, bias=False
                    ),  # fmt: skip
                    nn.BatchNorm2d(hidden_dim),
                    nn.SiLU(),
                    # pw-linear
                    nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                    nn.BatchNorm2d(oup),
                )

        def forward(self, x: Any) -> Any:
            if self.use_res_connect:
                return x + self.conv(x)
            else:
                return self.conv(x)

    class MobileViTBlock(nn.Module):
        def __init__(self, dim, depth, channel, kernel_size, patch_size, mlp_dim, dropout=0.0):  # noqa: ANN001
            super().__init__()
            self.ph, self.pw = patch_size

            self.conv1 = conv_nxn_bn(channel, channel, kernel_size)
            self.conv2 = conv_1x1_bn(channel, dim)

            self.transformer = Transformer(dim, depth, 4, 8, mlp_dim, dropout)

            self.conv3 = conv_1x1_bn(dim, channel)
            self.conv4 = conv_nxn_bn(2 * channel, channel, kernel_size)

        def forward(self, x: Any) -> Any:
            y = x.clone()

            # Local representations
            x = self.conv1(x)
            x = self.conv2(x)

            # Global representations
            b, d, h, w = x.shape
            # rearrange(x, 'b d (h ph) (w pw) -> b (ph pw) (h w) d', ph=self.ph, pw=self.pw)
            x = x.view(b, d, h // self.ph, self.ph, w // self.pw, self.pw)
            x = x.permute(0, 3, 5, 2, 4, 1).reshape(b, self.ph * self.pw, -1, d)
            x = self.transformer(x)
            # rearrange(x, 'b (ph pw) (h w) d -> b d (h ph) (w pw)', h=h//self.ph, w=w//self.pw,
            #           ph=self.ph, pw=self.pw)
            x = x.view(b, self.ph, self.pw, h // self.ph, w // self.pw, d)
            x = x.permute(0, 5, 3, 1, 4, 2).reshape(b, d, h, w)

            # Fusion
            x = self.conv3(x)
            x = torch.cat((x, y), 1)
            x = self.conv4(x)
            return x

    class MobileViT(nn.Module):
        def __init__(self, image_size, dims, channels, num_classes, expansion=4, kernel_size=3,
                     patch_size=(2, 2)):  # noqa: ANN001 # fmt: skip
            super().__init__()
            ih, iw = image_size
            ph, pw = patch_size
            assert ih % ph == 0 and iw % pw == 0

            L = [1, 1, 1]

            self.conv1 = conv_nxn_bn(3, channels[0], stride=2)

            self.mv2 = nn.ModuleList([])
            self.mv2.append(MV2Block(channels[0], channels[1], 1, expansion))
            self.mv2.append(MV2Block(channels[1], channels[2], 2, expansion))
            self.mv2.append(MV2Block(channels[2], channels[3], 1, expansion))
            self.mv2.append(MV2Block(channels[2], channels[3], 1, expansion))  # Repeat
            self.mv2.append(MV2Block(channels[3], channels[4], 2, expansion))
            self.mv2.append(MV2Block(channels[5], channels[6], 2, expansion))
            self.mv2.append(MV2Block(channels[7], channels[8], 2, expansion))

            self.mvit = nn.ModuleList([])
            self.mvit.append(MobileViTBlock(dims[0], L[0], channels[5], kernel_size, patch_size,
                                            int(dims[0] * 2)))  # fmt: skip
            self.mvit.append(MobileViTBlock(dims[1], L[1], channels[7], kernel_size, patch_size,
                                            int(dims[1] * 4)))  # fmt: skip
            self.mvit.append(MobileViTBlock(dims[2], L[2], channels[9], kernel_size, patch_size,
                                            int(dims[2] * 4)))  # fmt: skip

            self.conv2 = conv_1x1_bn(channels[-2], channels[-1])

            self.pool = nn.AvgPool2d(ih // 32, 1)
            self.fc = nn.Linear(channels[-1], num_classes, bias=False)

        def forward(self, x: Any) -> Any:
            x = self.conv1(x)
            x = self.mv2[0](x)

            x = self.mv2[1](x)
            x = self.mv2[2](x)
            x = self.mv2[3](x)  # Repeat

            x = self.mv2[4](x)
            x = self.mvit[0](x)

            x = self.mv2[5](x)
            x = self.mvit[1](x)

            x = self.mv2[6](x)
            x = self.mvit[2](x)
            x = self.conv2(x)

            x = self.pool(x).view(-1, x.shape[1])
            x = self.fc(x)
            return x

    return MobileViT


def make_model(torch_like: Any) -> Any:
    dims = [8, 8, 8]
    channels = [4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 16]
    return _mobilevit(torch_like)((64, 64), dims, channels, num_classes=3, expansion=2)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)

    def count_parameters(model):  # noqa: ANN001, ANN202
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    rng = np.random.default_rng(31)
    values: list[float] = [float(count_parameters(model))]
    for _step in range(3):
        img = as_tensor(torch, rng.normal(size=(2, 3, 64, 64)))
        y = torch.from_numpy(rng.integers(0, 3, 2))
        model.train()
        out = model(img)
        loss = criterion(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        out = model(img)
    values += [out.sum().item(), out.shape[1]]
    return values
