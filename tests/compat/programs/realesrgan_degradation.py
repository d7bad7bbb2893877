"""Real-ESRGAN's on-the-fly degradation pipeline (``realesrgan/models/realesrnet_model.py``
``feed_data`` with BasicSR's ``img_process_util.py`` and ``degradations.py``), size-reduced, feeding
an ``SRVGGNetCompact`` generator: ``filter2D`` (``F.pad(img, (k // 2,) * 4, mode='reflect')``,
one kernel for the batch as ``img.view(b * c, 1, ph, pw)``, per-sample kernels as
``kernel.view(b, 1, k, k).repeat(1, c, 1, 1).view(b * c, 1, k, k)`` in a grouped
``F.conv2d(img, kernel, groups=b * c)``); ``USMSharp`` (a ``torch.FloatTensor(np.dot(kernel,
kernel.transpose())).unsqueeze_(0)`` buffer, ``mask = torch.abs(residual) * 255 > threshold``,
``torch.clip(sharp, 0, 1)``, the soft-mask blend); per-sample blur and sinc kernels (the NumPy
dataset's ``random_mixed_kernels`` / ``circular_lowpass_kernel`` with ``scipy.special.j1``);
random resizes by ``F.interpolate(out, scale_factor=scale, mode=mode)`` over ``area``,
``bilinear`` and ``bicubic`` and ``size=(h, w)``; ``random_add_gaussian_noise_pt`` (``sigma =
torch.rand(b, dtype=img.dtype) * (hi - lo) + lo``, ``gray_noise = (torch.rand(b) <
gray_prob).float()``, ``torch.randn(*img.size()[2:4], dtype=img.dtype) * sigma / 255.`` mixed as
``noise * (1 - gray_noise) + noise_gray * gray_noise``) and ``random_add_poisson_noise_pt``
(``rgb_to_grayscale``, ``torch.clamp((img * 255.0).round(), 0, 255) / 255.``, ``len(torch.unique(
img[i, :, :, :]))`` per sample, ``2**np.ceil(np.log2(vals))``, ``img.new_tensor(vals_list).view(b,
1, 1, 1)``, ``torch.poisson(img * vals) / vals``); the final ``torch.clamp((self.lq *
255.0).round(), 0, 255) / 255.``; the training-pair pool ``_dequeue_and_enqueue`` (``torch.randperm
(self.queue_size)`` shuffles, slice assignment of ``self.lq.clone()``); ``SRVGGNetCompact``
(``nn.PReLU(num_parameters=num_feat)``, ``nn.PixelShuffle``, ``base = F.interpolate(x,
scale_factor=self.upscale, mode='nearest')``, ``out += base``); ``L1Loss`` against the sharpened
GT, ``Adam(betas=(0.9, 0.99))`` and ``MultiStepLR``.

Changed: 256x256 GT crops -> 16x16, scale 4 -> 2, kernels 21x21 -> 7x7, one degradation stage
(the second repeats it), no JPEG stage (``DiffJPEG``), 64 features -> 6 with 2 body convs; the
``random``/``np.random`` draws come from a seeded NumPy generator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

DTYPE = "float32"
GT, SCALE, KSIZE, FEAT = 16, 2, 7, 6


def _gaussian_1d(ksize: int, sigma: float = 0) -> np.ndarray:
    """``cv2.getGaussianKernel(ksize, sigma)`` (sigma 0: OpenCV's default from the size)."""
    if sigma <= 0:
        sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8
    x = np.arange(ksize) - (ksize - 1) / 2
    k = np.exp(-(x**2) / (2 * sigma**2))
    return (k / k.sum()).reshape(-1, 1)


def _blur_kernel(rng: np.random.Generator) -> np.ndarray:
    """An anisotropic Gaussian blur kernel (``bivariate_Gaussian`` with a random rotation)."""
    sx, sy = rng.uniform(0.2, 3.0, size=2)
    theta = rng.uniform(-math.pi, math.pi)
    d = np.diag([sx**2, sy**2])
    u = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    inv = np.linalg.inv(u @ d @ u.T)
    ax = np.arange(-(KSIZE // 2), KSIZE // 2 + 1)
    xx, yy = np.meshgrid(ax, ax)
    grid = np.stack([xx, yy], -1)
    k = np.exp(-0.5 * np.sum((grid @ inv) * grid, -1))
    return k / k.sum()


def _sinc_kernel(cutoff: float) -> np.ndarray:
    """``circular_lowpass_kernel(cutoff, kernel_size, pad_to=0)``, with ``scipy.special.j1``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = np.fromfunction(
            lambda x, y: (
                cutoff
                * special.j1(
                    cutoff * np.sqrt((x - (KSIZE - 1) / 2) ** 2 + (y - (KSIZE - 1) / 2) ** 2)
                )
                / (2 * np.pi * np.sqrt((x - (KSIZE - 1) / 2) ** 2 + (y - (KSIZE - 1) / 2) ** 2))
            ),
            [KSIZE, KSIZE],
        )
    kernel[(KSIZE - 1) // 2, (KSIZE - 1) // 2] = cutoff**2 / (4 * np.pi)
    return kernel / np.sum(kernel)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class SRVGGNetCompact(nn.Module):
        def __init__(self, num_in_ch: int = 3, num_feat: int = FEAT, num_conv: int = 2) -> None:
            super().__init__()
            self.upscale = SCALE
            self.body = nn.ModuleList()
            self.body.append(nn.Conv2d(num_in_ch, num_feat, 3, 1, 1))
            self.body.append(nn.PReLU(num_parameters=num_feat))
            for _ in range(num_conv):
                self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
                self.body.append(nn.PReLU(num_parameters=num_feat))
            self.body.append(nn.Conv2d(num_feat, num_in_ch * SCALE * SCALE, 3, 1, 1))
            self.upsampler = nn.PixelShuffle(SCALE)

        def forward(self, x: Any) -> Any:
            out = x
            for i in range(0, len(self.body)):
                out = self.body[i](out)
            out = self.upsampler(out)
            # add the nearest upsampled image, so that the network learns the residual
            base = F.interpolate(x, scale_factor=self.upscale, mode="nearest")
            out += base
            return out

    return SRVGGNetCompact()


def _degradations(torch_like: Any) -> tuple[Any, ...]:
    torch = torch_like
    F = torch_like.nn.functional

    def filter2D(img: Any, kernel: Any) -> Any:
        k = kernel.size(-1)
        b, c, h, w = img.size()
        if k % 2 == 1:
            img = F.pad(img, (k // 2, k // 2, k // 2, k // 2), mode="reflect")
        else:
            raise ValueError("Wrong kernel size")
        ph, pw = img.size()[-2:]
        if kernel.size(0) == 1:
            # apply the same kernel to all batch images
            img = img.view(b * c, 1, ph, pw)
            kernel = kernel.view(1, 1, k, k)
            return F.conv2d(img, kernel, padding=0).view(b, c, h, w)
        img = img.view(1, b * c, ph, pw)
        kernel = kernel.view(b, 1, k, k).repeat(1, c, 1, 1).view(b * c, 1, k, k)
        return F.conv2d(img, kernel, groups=b * c).view(b, c, h, w)

    class USMSharp(torch.nn.Module):
        def __init__(self, radius: int = 50, sigma: float = 0) -> None:
            super().__init__()
            if radius % 2 == 0:
                radius += 1
            self.radius = radius
            kernel = _gaussian_1d(radius, sigma)
            kernel = torch.FloatTensor(np.dot(kernel, kernel.transpose())).unsqueeze_(0)
            self.register_buffer("kernel", kernel)

        def forward(self, img: Any, weight: float = 0.5, threshold: float = 10) -> Any:
            blur = filter2D(img, self.kernel)
            residual = img - blur
            mask = torch.abs(residual) * 255 > threshold
            mask = mask.float()
            soft_mask = filter2D(mask, self.kernel)
            sharp = img + weight * residual
            sharp = torch.clip(sharp, 0, 1)
            return soft_mask * sharp + (1 - soft_mask) * img

    def rgb_to_grayscale(img: Any, num_output_channels: int = 1) -> Any:
        r, g, b = img.unbind(dim=-3)
        l_img = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype)
        return l_img.unsqueeze(dim=-3)

    def random_add_gaussian_noise_pt(
        img: Any, sigma_range: tuple = (0, 1.0), gray_prob: float = 0, clip: bool = True
    ) -> Any:
        b, _, h, w = img.size()
        sigma = (
            torch.rand(img.size(0), dtype=img.dtype, device=img.device)
            * (sigma_range[1] - sigma_range[0])
            + sigma_range[0]
        )
        gray_noise = torch.rand(img.size(0), dtype=img.dtype, device=img.device)
        gray_noise = (gray_noise < gray_prob).float()
        sigma = sigma.view(img.size(0), 1, 1, 1)
        gray_noise = gray_noise.view(b, 1, 1, 1)
        cal_gray_noise = torch.sum(gray_noise) > 0
        if cal_gray_noise:
            noise_gray = (
                torch.randn(*img.size()[2:4], dtype=img.dtype, device=img.device) * sigma / 255.0
            )
            noise_gray = noise_gray.view(b, 1, h, w)
        noise = torch.randn(*img.size(), dtype=img.dtype, device=img.device) * sigma / 255.0
        if cal_gray_noise:
            noise = noise * (1 - gray_noise) + noise_gray * gray_noise
        out = img + noise
        return torch.clamp(out, 0, 1) if clip else out

    def random_add_poisson_noise_pt(
        img: Any, scale_range: tuple = (0, 1.0), gray_prob: float = 0
    ) -> Any:
        scale = (
            torch.rand(img.size(0), dtype=img.dtype, device=img.device)
            * (scale_range[1] - scale_range[0])
            + scale_range[0]
        )
        gray_noise = torch.rand(img.size(0), dtype=img.dtype, device=img.device)
        gray_noise = (gray_noise < gray_prob).float()
        b, _, h, w = img.size()
        gray_noise = gray_noise.view(b, 1, 1, 1)
        cal_gray_noise = torch.sum(gray_noise) > 0
        if cal_gray_noise:
            img_gray = rgb_to_grayscale(img, num_output_channels=1)
            # round and clip image for counting vals correctly
            img_gray = torch.clamp((img_gray * 255.0).round(), 0, 255) / 255.0
            # use for-loop to get the unique values for each sample
            vals_list = [len(torch.unique(img_gray[i, :, :, :])) for i in range(b)]
            vals_list = [2 ** np.ceil(np.log2(vals)) for vals in vals_list]
            vals = img_gray.new_tensor(vals_list).view(b, 1, 1, 1)
            out = torch.poisson(img_gray * vals) / vals
            noise_gray = out - img_gray
            noise_gray = noise_gray.expand(b, 3, h, w)
        # always calculate color noise
        img = torch.clamp((img * 255.0).round(), 0, 255) / 255.0
        vals_list = [len(torch.unique(img[i, :, :, :])) for i in range(b)]
        vals_list = [2 ** np.ceil(np.log2(vals)) for vals in vals_list]
        vals = img.new_tensor(vals_list).view(b, 1, 1, 1)
        out = torch.poisson(img * vals) / vals
        noise = out - img
        if cal_gray_noise:
            noise = noise * (1 - gray_noise) + noise_gray * gray_noise
        scale = scale.view(b, 1, 1, 1)
        return torch.clamp(img + noise * scale, 0, 1)

    return filter2D, USMSharp, random_add_gaussian_noise_pt, random_add_poisson_noise_pt


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    filter2D, USMSharp, gaussian_noise, poisson_noise = _degradations(torch_like)
    torch.manual_seed(350)
    rng = np.random.default_rng(350)
    model = make_model(torch_like)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    usm_sharpener = USMSharp(radius=4)
    cri_pix = torch.nn.L1Loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.9, 0.99))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[3], gamma=0.5)
    queue_size, b = 4, 2
    queue_lr = torch.zeros(queue_size, 3, GT // SCALE, GT // SCALE)
    queue_gt = torch.zeros(queue_size, 3, GT, GT)
    queue_ptr = 0
    values: list[float] = []
    for _step in range(5):
        gt = torch.from_numpy(rng.random((b, 3, GT, GT)).astype(np.float32))
        kernel1 = torch.from_numpy(np.stack([_blur_kernel(rng) for _ in range(b)]))
        sinc_kernel = torch.from_numpy(_sinc_kernel(rng.uniform(np.pi / 3, np.pi))[None])
        gt_usm = usm_sharpener(gt)
        ori_h, ori_w = gt.size()[2:4]
        # blur
        out = filter2D(gt_usm, kernel1.float())
        # random resize
        updown_type = ["up", "down", "keep"][int(rng.integers(0, 3))]
        scale = {"up": rng.uniform(1, 1.5), "down": rng.uniform(0.5, 1), "keep": 1}[updown_type]
        mode = ["area", "bilinear", "bicubic"][int(rng.integers(0, 3))]
        out = F.interpolate(out, scale_factor=scale, mode=mode)
        # add noise
        if rng.random() < 0.5:
            out = gaussian_noise(out, sigma_range=(1, 30), gray_prob=0.4)
        else:
            out = poisson_noise(out, scale_range=(0.05, 3), gray_prob=0.4)
        # resize back + the final sinc filter
        mode = ["area", "bilinear", "bicubic"][int(rng.integers(0, 3))]
        out = F.interpolate(out, size=(ori_h // SCALE, ori_w // SCALE), mode=mode)
        out = filter2D(out, sinc_kernel.float())
        # clamp and round
        lq = torch.clamp((out * 255.0).round(), 0, 255) / 255.0
        values.extend([lq.sum().item(), gt_usm.sum().item()])
        # training pair pool
        if queue_ptr == queue_size:  # the pool is full
            idx = torch.randperm(queue_size)
            queue_lr = queue_lr[idx]
            queue_gt = queue_gt[idx]
            lq_dequeue = queue_lr[0:b, :, :, :].clone()
            gt_dequeue = queue_gt[0:b, :, :, :].clone()
            queue_lr[0:b, :, :, :] = lq.clone()
            queue_gt[0:b, :, :, :] = gt_usm.clone()
            lq, gt_usm = lq_dequeue, gt_dequeue
        else:
            queue_lr[queue_ptr : queue_ptr + b, :, :, :] = lq.clone()
            queue_gt[queue_ptr : queue_ptr + b, :, :, :] = gt_usm.clone()
            queue_ptr = queue_ptr + b
        lq = lq.contiguous()
        output = model(lq)
        l_g_pix = cri_pix(output, gt_usm)
        optimizer.zero_grad()
        l_g_pix.backward()
        optimizer.step()
        scheduler.step()
        values.append(l_g_pix.item())
    return values
