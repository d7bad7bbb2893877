"""megvii-research/NAFNet (``basicsr/models/archs/NAFNet_arch.py``, ``arch_util.py``'s
``LayerNormFunction``/``LayerNorm2d``, ``losses.PSNRLoss`` and the ``ImageRestorationModel``
step), size-reduced: ``LayerNorm2d`` is a custom ``torch.autograd.Function`` with its own
``backward`` (``ctx.eps``, ``ctx.save_for_backward(y, var, weight)``, ``ctx.saved_variables``,
``(grad_output * y).sum(dim=3).sum(dim=2).sum(dim=0)``, a ``None`` gradient for ``eps``) held
by ``register_parameter('weight', nn.Parameter(torch.ones(channels)))``; ``SimpleGate``
(``x.chunk(2, dim=1)``, ``x1 * x2``); ``NAFBlock`` with the depthwise ``Conv2d(groups=
dw_channel)``, simplified channel attention (``nn.AdaptiveAvgPool2d(1)`` + 1x1 conv, ``x *
self.sca(x)``), ``nn.Identity()`` dropouts and the zero-initialised ``beta``/``gamma``
``nn.Parameter(torch.zeros((1, c, 1, 1)), requires_grad=True)`` residual scales; ``NAFNet``'s
encoders/downs (``Conv2d(chan, 2*chan, 2, 2)``), middle blocks, ups (1x1 conv +
``nn.PixelShuffle(2)``), ``zip(self.decoders, self.ups, encs[::-1])``, the ``check_image_size``
padding (``F.pad(x, (0, mod_pad_w, 0, mod_pad_h))``) and ``x[:, :, :H, :W]``; ``PSNRLoss``
(``10 / np.log(10)``, ``torch.log(((pred - target) ** 2).mean(dim=(1, 2, 3)) + 1e-8).mean()``);
AdamW with ``betas=(0.9, 0.9)``, ``CosineAnnealingLR`` and ``clip_grad_norm_(..., 0.01)``.

Changed: width 32 -> 4, blocks ``[1, 1]``/1/``[1, 1]``, 256x256 patches -> 10x10 (padded to
12x12), 3 iterations; data from a seeded NumPy generator.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class LayerNormFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, weight: Any, bias: Any, eps: float) -> Any:
            ctx.eps = eps
            N, C, H, W = x.size()
            mu = x.mean(1, keepdim=True)
            var = (x - mu).pow(2).mean(1, keepdim=True)
            y = (x - mu) / (var + eps).sqrt()
            ctx.save_for_backward(y, var, weight)
            y = weight.view(1, C, 1, 1) * y + bias.view(1, C, 1, 1)
            return y

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            eps = ctx.eps

            N, C, H, W = grad_output.size()
            y, var, weight = ctx.saved_variables
            g = grad_output * weight.view(1, C, 1, 1)
            mean_g = g.mean(dim=1, keepdim=True)

            mean_gy = (g * y).mean(dim=1, keepdim=True)
            gx = 1.0 / torch.sqrt(var + eps) * (g - y * mean_gy - mean_g)
            return (
                gx,
                (grad_output * y).sum(dim=3).sum(dim=2).sum(dim=0),
                grad_output.sum(dim=3).sum(dim=2).sum(dim=0),
                None,
            )

    class LayerNorm2d(nn.Module):
        def __init__(self, channels: int, eps: float = 1e-6) -> None:
            super(LayerNorm2d, self).__init__()  # noqa: UP008 (as in the repository)
            self.register_parameter("weight", nn.Parameter(torch.ones(channels)))
            self.register_parameter("bias", nn.Parameter(torch.zeros(channels)))
            self.eps = eps

        def forward(self, x: Any) -> Any:
            return LayerNormFunction.apply(x, self.weight, self.bias, self.eps)

    class SimpleGate(nn.Module):
        def forward(self, x: Any) -> Any:
            x1, x2 = x.chunk(2, dim=1)
            return x1 * x2

    class NAFBlock(nn.Module):
        def __init__(
            self, c: int, DW_Expand: int = 2, FFN_Expand: int = 2, drop_out_rate: float = 0.0
        ) -> None:
            super().__init__()
            dw_channel = c * DW_Expand
            self.conv1 = nn.Conv2d(in_channels=c, out_channels=dw_channel, kernel_size=1,
                                   padding=0, stride=1, groups=1, bias=True)  # fmt: skip
            self.conv2 = nn.Conv2d(in_channels=dw_channel, out_channels=dw_channel,
                                   kernel_size=3, padding=1, stride=1, groups=dw_channel,
                                   bias=True)  # fmt: skip
            self.conv3 = nn.Conv2d(in_channels=dw_channel // 2, out_channels=c, kernel_size=1,
                                   padding=0, stride=1, groups=1, bias=True)  # fmt: skip

            # Simplified Channel Attention
            self.sca = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Conv2d(in_channels=dw_channel // 2, out_channels=dw_channel // 2,
                          kernel_size=1, padding=0, stride=1, groups=1, bias=True),
            )  # fmt: skip

            # SimpleGate
            self.sg = SimpleGate()

            ffn_channel = FFN_Expand * c
            self.conv4 = nn.Conv2d(in_channels=c, out_channels=ffn_channel, kernel_size=1,
                                   padding=0, stride=1, groups=1, bias=True)  # fmt: skip
            self.conv5 = nn.Conv2d(in_channels=ffn_channel // 2, out_channels=c, kernel_size=1,
                                   padding=0, stride=1, groups=1, bias=True)  # fmt: skip

            self.norm1 = LayerNorm2d(c)
            self.norm2 = LayerNorm2d(c)

            self.dropout1 = nn.Dropout(drop_out_rate) if drop_out_rate > 0.0 else nn.Identity()
            self.dropout2 = nn.Dropout(drop_out_rate) if drop_out_rate > 0.0 else nn.Identity()

            self.beta = nn.Parameter(torch.zeros((1, c, 1, 1)), requires_grad=True)
            self.gamma = nn.Parameter(torch.zeros((1, c, 1, 1)), requires_grad=True)

        def forward(self, inp: Any) -> Any:
            x = inp

            x = self.norm1(x)

            x = self.conv1(x)
            x = self.conv2(x)
            x = self.sg(x)
            x = x * self.sca(x)
            x = self.conv3(x)

            x = self.dropout1(x)

            y = inp + x * self.beta

            x = self.conv4(self.norm2(y))
            x = self.sg(x)
            x = self.conv5(x)

            x = self.dropout2(x)

            return y + x * self.gamma

    class NAFNet(nn.Module):
        def __init__(
            self,
            img_channel: int = 3,
            width: int = 16,
            middle_blk_num: int = 1,
            enc_blk_nums: list[int] = [],  # noqa: B006 (as in the repository)
            dec_blk_nums: list[int] = [],  # noqa: B006
        ) -> None:
            super().__init__()

            self.intro = nn.Conv2d(in_channels=img_channel, out_channels=width, kernel_size=3,
                                   padding=1, stride=1, groups=1, bias=True)  # fmt: skip
            self.ending = nn.Conv2d(in_channels=width, out_channels=img_channel, kernel_size=3,
                                    padding=1, stride=1, groups=1, bias=True)  # fmt: skip

            self.encoders = nn.ModuleList()
            self.decoders = nn.ModuleList()
            self.middle_blks = nn.ModuleList()
            self.ups = nn.ModuleList()
            self.downs = nn.ModuleList()

            chan = width
            for num in enc_blk_nums:
                self.encoders.append(nn.Sequential(*[NAFBlock(chan) for _ in range(num)]))
                self.downs.append(nn.Conv2d(chan, 2 * chan, 2, 2))
                chan = chan * 2

            self.middle_blks = nn.Sequential(*[NAFBlock(chan) for _ in range(middle_blk_num)])

            for num in dec_blk_nums:
                self.ups.append(
                    nn.Sequential(nn.Conv2d(chan, chan * 2, 1, bias=False), nn.PixelShuffle(2))
                )
                chan = chan // 2
                self.decoders.append(nn.Sequential(*[NAFBlock(chan) for _ in range(num)]))

            self.padder_size = 2 ** len(self.encoders)

        def forward(self, inp: Any) -> Any:
            B, C, H, W = inp.shape
            inp = self.check_image_size(inp)

            x = self.intro(inp)

            encs = []

            for encoder, down in zip(self.encoders, self.downs):
                x = encoder(x)
                encs.append(x)
                x = down(x)

            x = self.middle_blks(x)

            for decoder, up, enc_skip in zip(self.decoders, self.ups, encs[::-1]):
                x = up(x)
                x = x + enc_skip
                x = decoder(x)

            x = self.ending(x)
            x = x + inp

            return x[:, :, :H, :W]

        def check_image_size(self, x: Any) -> Any:
            _, _, h, w = x.size()
            mod_pad_h = (self.padder_size - h % self.padder_size) % self.padder_size
            mod_pad_w = (self.padder_size - w % self.padder_size) % self.padder_size
            x = F.pad(x, (0, mod_pad_w, 0, mod_pad_h))
            return x

    return NAFNet(img_channel=3, width=4, middle_blk_num=1, enc_blk_nums=[1, 1],
                  dec_blk_nums=[1, 1])  # fmt: skip


def run(torch_like: Any, init: dict | None) -> list[float]:
    # a script does not show the DeprecationWarning of ctx.saved_variables; the suite turns
    # warnings into errors
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'saved_variables' is deprecated", DeprecationWarning)
        return _run(torch_like, init)


def _run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn

    class PSNRLoss(nn.Module):
        def __init__(self, loss_weight: float = 1.0, reduction: str = "mean", toY: bool = False):
            super(PSNRLoss, self).__init__()  # noqa: UP008
            assert reduction == "mean"
            self.loss_weight = loss_weight
            self.scale = 10 / np.log(10)
            self.toY = toY
            self.coef = torch.tensor([65.481, 128.553, 24.966]).reshape(1, 3, 1, 1)
            self.first = True

        def forward(self, pred: Any, target: Any) -> Any:
            assert len(pred.size()) == 4
            if self.toY:
                if self.first:
                    self.coef = self.coef.to(pred.device)
                    self.first = False

                pred = (pred * self.coef).sum(dim=1).unsqueeze(dim=1) + 16.0
                target = (target * self.coef).sum(dim=1).unsqueeze(dim=1) + 16.0

                pred, target = pred / 255.0, target / 255.0
            return (
                self.loss_weight
                * self.scale
                * torch.log(((pred - target) ** 2).mean(dim=(1, 2, 3)) + 1e-8).mean()
            )

    rng = np.random.default_rng(77)
    net_g = make_model(torch_like)
    load_numpy_state(torch_like, net_g, init)
    net_g.train()
    cri_pix = PSNRLoss()
    cri_y = PSNRLoss(toY=True)
    optim_params = []
    for _k, v in net_g.named_parameters():
        if v.requires_grad:
            optim_params.append(v)
    optimizer_g = torch.optim.AdamW(
        [{"params": optim_params}], lr=1e-2, weight_decay=0.0, betas=(0.9, 0.9)
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer_g, T_max=4, eta_min=1e-7)

    values: list[float] = []
    for _current_iter in range(3):
        gt = torch.from_numpy(rng.random((2, 3, 10, 10)))
        lq = gt + torch.from_numpy(0.1 * rng.standard_normal((2, 3, 10, 10)))
        optimizer_g.zero_grad()
        preds = net_g(lq)
        if not isinstance(preds, list):
            preds = [preds]
        output = preds[-1]
        l_total = 0
        l_pix = 0.0
        for pred in preds:
            l_pix += cri_pix(pred, gt)
        l_total += l_pix
        l_total = l_total + 0.0 * sum(p.sum() for p in net_g.parameters())
        l_total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(net_g.parameters(), 0.01)
        optimizer_g.step()
        scheduler.step()
        values += [l_pix.item(), float(grad_norm), output.mean().item()]
    with torch.no_grad():
        net_g.eval()
        gt = torch.from_numpy(rng.random((1, 3, 9, 11)))
        out = net_g(gt + 0.05)
        values += [cri_y(out, gt).item(), out.shape[-1], net_g.middle_blks[0].beta.sum().item()]
    return values
