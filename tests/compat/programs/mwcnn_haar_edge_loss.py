"""lpj0/MWCNN_PyTorch (``model/common.py``, ``model/mwcnn.py``) with swz30/MPRNet
(``Denoising/losses.py``), size-reduced: MWCNN's Haar transforms ``dwt_init`` (strided reads
``x[:, :, 0::2, :] / 2``, ``x01[:, :, :, 1::2]``, the four sub-bands joined by
``torch.cat((x_LL, x_HL, x_LH, x_HH), 1)``) and ``iwt_init`` (``x.size()`` unpacked,
``torch.zeros([out_batch, out_channel, out_height, out_width]).float()`` filled through
strided slice writes ``h[:, :, 0::2, 0::2] = x1 - x2 - x3 + x4``), wrapped in ``DWT``/``IWT``
modules that set ``self.requires_grad = False``; the U-shaped ``MWCNN`` body (``DWT`` -> conv
blocks -> ``DWT`` -> ... -> ``IWT`` with the skip sums ``self.i_level1(self.i_level2(x2)) +
x1``) and its global residual ``+ x``; MPRNet's ``CharbonnierLoss`` (``torch.mean(torch.sqrt(
(diff * diff) + (self.eps*self.eps)))``) and ``EdgeLoss`` (``k = torch.Tensor([[.05, .25,
.4, .25, .05]])``, ``torch.matmul(k.t(),k).unsqueeze(0).repeat(3,1,1,1)``, ``F.pad(img,
(kw//2, kh//2, kw//2, kh//2), mode='replicate')``, the depthwise ``F.conv2d(img, self.kernel,
groups=n_channels)``, the Laplacian pyramid level ``new_filter[:,:,::2,::2] = down*4`` into
``torch.zeros_like(filtered)``); the MPRNet training step ``loss = loss_char + (0.05*
loss_edge)`` with ``optim.Adam(..., betas=(0.9, 0.999), eps=1e-8)`` under
``CosineAnnealingLR(optimizer, T_max, eta_min=1e-6)``.

Changed: ``.cuda()`` dropped, 64-160 channels -> 6/12, two wavelet levels on 8x8 colour
patches, 4 Adam steps on NumPy noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"


def dwt_init(torch: Any, x: Any) -> Any:
    x01 = x[:, :, 0::2, :] / 2
    x02 = x[:, :, 1::2, :] / 2
    x1 = x01[:, :, :, 0::2]
    x2 = x02[:, :, :, 0::2]
    x3 = x01[:, :, :, 1::2]
    x4 = x02[:, :, :, 1::2]
    x_LL = x1 + x2 + x3 + x4
    x_HL = -x1 - x2 + x3 + x4
    x_LH = -x1 + x2 - x3 + x4
    x_HH = x1 - x2 - x3 + x4

    return torch.cat((x_LL, x_HL, x_LH, x_HH), 1)


def iwt_init(torch: Any, x: Any) -> Any:
    r = 2
    in_batch, in_channel, in_height, in_width = x.size()
    out_batch, out_channel, out_height, out_width = (
        in_batch,
        int(in_channel / (r**2)),
        r * in_height,
        r * in_width,
    )
    x1 = x[:, 0:out_channel, :, :] / 2
    x2 = x[:, out_channel : out_channel * 2, :, :] / 2
    x3 = x[:, out_channel * 2 : out_channel * 3, :, :] / 2
    x4 = x[:, out_channel * 3 : out_channel * 4, :, :] / 2

    h = torch.zeros([out_batch, out_channel, out_height, out_width]).float()

    h[:, :, 0::2, 0::2] = x1 - x2 - x3 + x4
    h[:, :, 1::2, 0::2] = x1 - x2 + x3 - x4
    h[:, :, 0::2, 1::2] = x1 + x2 - x3 - x4
    h[:, :, 1::2, 1::2] = x1 + x2 + x3 + x4

    return h


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class DWT(nn.Module):
        def __init__(self) -> None:
            super(DWT, self).__init__()  # noqa: UP008
            self.requires_grad = False

        def forward(self, x: Any) -> Any:
            return dwt_init(torch, x)

    class IWT(nn.Module):
        def __init__(self) -> None:
            super(IWT, self).__init__()  # noqa: UP008
            self.requires_grad = False

        def forward(self, x: Any) -> Any:
            return iwt_init(torch, x)

    def BBlock(in_channels: int, out_channels: int) -> Any:  # noqa: N802
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=True), nn.ReLU(True)
        )

    class MWCNN(nn.Module):
        def __init__(self, n_feats: int = 6, n_colors: int = 3) -> None:
            super(MWCNN, self).__init__()  # noqa: UP008
            self.DWT = DWT()
            self.IWT = IWT()
            self.head = BBlock(n_colors, n_feats)
            self.d_l1 = BBlock(n_feats * 4, n_feats)
            self.d_l2 = BBlock(n_feats * 4, n_feats * 2)
            self.pro_l3 = BBlock(n_feats * 2, n_feats * 4)
            self.i_l1 = BBlock(n_feats, n_feats * 4)
            self.tail = nn.Conv2d(n_feats, n_colors, 3, padding=1)

        def forward(self, x: Any) -> Any:
            x0 = self.head(x)
            x1 = self.d_l1(self.DWT(x0))
            x2 = self.d_l2(self.DWT(x1))
            x_ = self.IWT(self.pro_l3(x2)) + x1
            x_ = self.IWT(self.i_l1(x_)) + x0
            x = self.tail(x_) + x
            return x

    return MWCNN()


def _losses(torch: Any) -> tuple:
    nn, F = torch.nn, torch.nn.functional

    class CharbonnierLoss(nn.Module):
        """Charbonnier Loss (L1)"""

        def __init__(self, eps: float = 1e-3) -> None:
            super(CharbonnierLoss, self).__init__()  # noqa: UP008
            self.eps = eps

        def forward(self, x: Any, y: Any) -> Any:
            diff = x - y
            # loss = torch.sum(torch.sqrt(diff * diff + self.eps))
            loss = torch.mean(torch.sqrt((diff * diff) + (self.eps * self.eps)))
            return loss

    class EdgeLoss(nn.Module):
        def __init__(self) -> None:
            super(EdgeLoss, self).__init__()  # noqa: UP008
            k = torch.Tensor([[0.05, 0.25, 0.4, 0.25, 0.05]])
            self.kernel = torch.matmul(k.t(), k).unsqueeze(0).repeat(3, 1, 1, 1)
            self.loss = CharbonnierLoss()

        def conv_gauss(self, img: Any) -> Any:
            n_channels, _, kw, kh = self.kernel.shape
            img = F.pad(img, (kw // 2, kh // 2, kw // 2, kh // 2), mode="replicate")
            return F.conv2d(img, self.kernel, groups=n_channels)

        def laplacian_kernel(self, current: Any) -> Any:
            filtered = self.conv_gauss(current)  # filter
            down = filtered[:, :, ::2, ::2]  # downsample
            new_filter = torch.zeros_like(filtered)
            new_filter[:, :, ::2, ::2] = down * 4  # upsample
            filtered = self.conv_gauss(new_filter)  # filter
            diff = current - filtered
            return diff

        def forward(self, x: Any, y: Any) -> Any:
            loss = self.loss(self.laplacian_kernel(x), self.laplacian_kernel(y))
            return loss

    return CharbonnierLoss, EdgeLoss


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, optim = torch_like, torch_like.optim
    rng = np.random.default_rng(12)
    model_restoration = make_model(torch_like)
    load_numpy_state(torch_like, model_restoration, init)
    CharbonnierLoss, EdgeLoss = _losses(torch)
    criterion_char = CharbonnierLoss()
    criterion_edge = EdgeLoss()
    optimizer = optim.Adam(model_restoration.parameters(), lr=2e-3, betas=(0.9, 0.999),
                           eps=1e-8)  # fmt: skip
    scheduler_cosine = optim.lr_scheduler.CosineAnnealingLR(optimizer, 4, eta_min=1e-6)
    values: list[float] = []
    model_restoration.train()
    for _ in range(4):
        target = rng.random((2, 3, 8, 8)).astype(np.float32)
        noisy = (target + rng.normal(0, 0.1, target.shape)).astype(np.float32)
        target, input_ = as_tensor(torch, target), as_tensor(torch, noisy)
        for param in model_restoration.parameters():
            param.grad = None
        restored = model_restoration(input_)
        loss_char = criterion_char(restored, target)
        loss_edge = criterion_edge(restored, target)
        loss = loss_char + (0.05 * loss_edge)
        loss.backward()
        optimizer.step()
        scheduler_cosine.step()
        values += [loss_char.item(), loss_edge.item(), scheduler_cosine.get_last_lr()[0]]
    return values
