"""Batch image augmentation written with tensor ops only, as torchvision's tensor functional
transforms (``transforms/_functional_tensor.py``, ``RandomResizedCrop.get_params``,
``ColorJitter``, ``RandAugment``), timm's ``Mixup`` / ``cutmix_bbox_and_lam``, the Cutout paper's
``Cutout`` and the CutMix paper's ``rand_bbox`` write them, size-reduced.

The idioms: ``RandomResizedCrop.get_params``' ten tries of ``area * torch.empty(1).uniform_(
scale[0], scale[1], generator=g).item()``, ``torch.exp(torch.empty(1).uniform_(log_ratio[0],
log_ratio[1])).item()`` with ``log_ratio = torch.log(torch.tensor(ratio))`` and ``torch.randint(0,
height - h + 1, size=(1,), generator=g).item()``, the central-crop fallback, then the crop by
slicing and ``F.interpolate(img.unsqueeze(0), size, mode="bilinear", align_corners=False,
antialias=True)``; ``torch.flip(img, dims=[-1])`` behind ``torch.rand(1, generator=g) < p``;
``_blend``'s ``(ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound)``, ``rgb_to_grayscale``'s
``(0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(dim=-3)`` from ``img.unbind(dim=-3)``,
``adjust_contrast``'s ``torch.mean(gray, dim=(-3, -2, -1), keepdim=True)`` and the jitter order
``torch.randperm(4, generator=g)``; ``normalize``'s ``tensor.clone().sub_(mean.view(-1, 1,
1)).div_(std.view(-1, 1, 1))`` with ``torch.as_tensor(mean, dtype=..., device=...)``;
RandAugment's op table with magnitudes from ``torch.linspace(0.0, 0.9, num_bins)``, the op and
its sign chosen by ``int(torch.randint(lo, hi, size=(1,), generator=g).item())``: solarize
(``torch.where(img >= threshold, bound - img, img)``), posterize on ``uint8`` (``torch.bitwise_and(
img, -int(2 ** (8 - bits)))``), autocontrast (``amin`` / ``amax`` over ``dim=(-2, -1)``, masked
assignment where ``torch.isfinite(scale).logical_not()``), equalize (``torch.bincount(...,
minlength=256)``, ``torch.div(..., rounding_mode="floor")``, ``torch.cumsum`` and a ``pad``-shifted
look-up table indexed by the ``int64`` image), hue (``_rgb2hsv`` / ``_hsv2rgb`` with ``torch.fmod``,
boolean products, ``i % 6`` on ``int32`` and ``torch.einsum("...ijk, ...xijk -> ...xjk", ...)``),
Gaussian blur (``torch.linspace`` kernel, ``torch.mm`` outer product, ``expand``ed to a depthwise
``conv2d(..., groups=C)`` after a ``reflect`` pad), rotation by ``F.affine_grid`` / ``grid_sample``
with a ones channel as the fill mask, translation by ``torch.roll`` and ``torch.rot90``;
Cutout's ``img.masked_fill(box, 0.0)`` from an ``arange`` box; Mixup's ``lam = Beta(alpha,
alpha).sample()`` (checked for range and reproducibility under ``torch.manual_seed``), the
``x.flip(0)`` pairing ``lam * x + (1 - lam) * x.flip(0)`` and the mixed targets ``lam * y_onehot
+ (1 - lam) * y_onehot.flip(0)`` fed to ``F.cross_entropy`` with soft targets; CutMix's
``rand_bbox`` (``np.sqrt(1.0 - lam)``, ``np.clip``) pasting ``x[index, :, bby1:bby2,
bbx1:bbx2]`` and correcting ``lam`` by the box area; then one training step of a small CNN on
the augmented batch.

The two libraries' random generators differ, so the compared run draws every random parameter
with NumPy and passes it to the same transform code; the ``torch.Generator`` path is checked by
its properties (a seed reproduces the same batch, values stay in range, shapes match).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

BS, C, H, W, OUT, N_CLASSES = 4, 3, 12, 12, 8, 5
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Conv2d(C, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, N_CLASSES),
    )


# ---- transform functions (the parameters passed explicitly) ----


def resized_crop(torch: Any, img: Any, top: int, left: int, h: int, w: int, size: int) -> Any:
    crop = img[..., top : top + h, left : left + w]
    return torch.nn.functional.interpolate(
        crop.unsqueeze(0), size=[size, size], mode="bilinear", align_corners=False, antialias=True
    ).squeeze(0)


def rgb_to_grayscale(img: Any) -> Any:
    r, g, b = img.unbind(dim=-3)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(dim=-3)


def _blend(img1: Any, img2: Any, ratio: float) -> Any:
    bound = 1.0
    return (ratio * img1 + (1.0 - ratio) * img2).clamp(0, bound)


def adjust_brightness(torch: Any, img: Any, factor: float) -> Any:
    return _blend(img, torch.zeros_like(img), factor)


def adjust_contrast(torch: Any, img: Any, factor: float) -> Any:
    mean = torch.mean(rgb_to_grayscale(img), dim=(-3, -2, -1), keepdim=True)
    return _blend(img, mean, factor)


def adjust_saturation(torch: Any, img: Any, factor: float) -> Any:
    return _blend(img, rgb_to_grayscale(img), factor)


def solarize(torch: Any, img: Any, threshold: float) -> Any:
    return torch.where(img >= threshold, 1.0 - img, img)


def posterize(torch: Any, img: Any, bits: int) -> Any:
    as_uint8 = (img * 255).round().to(torch.uint8)
    mask = -int(2 ** (8 - bits))
    return torch.bitwise_and(as_uint8, mask).to(img.dtype) / 255


def autocontrast(torch: Any, img: Any) -> Any:
    bound = 1.0
    minimum = img.amin(dim=(-2, -1), keepdim=True)
    maximum = img.amax(dim=(-2, -1), keepdim=True)
    scale = bound / (maximum - minimum)
    eq_idxs = torch.isfinite(scale).logical_not()
    minimum[eq_idxs] = 0
    scale[eq_idxs] = 1
    return ((img - minimum) * scale).clamp(0, bound)


def _rgb2hsv(torch: Any, img: Any) -> Any:
    r, g, b = img.unbind(dim=-3)
    maxc = torch.max(img, dim=-3).values
    minc = torch.min(img, dim=-3).values
    eqc = maxc == minc
    cr = maxc - minc
    ones = torch.ones_like(maxc)
    s = cr / torch.where(eqc, ones, maxc)
    cr_divisor = torch.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = torch.fmod(((hr + hg + hb) / 6.0 + 1.0), 1.0)
    return torch.stack((h, s, maxc), dim=-3)


def _hsv2rgb(torch: Any, img: Any) -> Any:
    h, s, v = img.unbind(dim=-3)
    i = torch.floor(h * 6.0)
    f = (h * 6.0) - i
    i = i.to(dtype=torch.int32)
    p = torch.clamp((v * (1.0 - s)), 0.0, 1.0)
    q = torch.clamp((v * (1.0 - s * f)), 0.0, 1.0)
    t = torch.clamp((v * (1.0 - s * (1.0 - f))), 0.0, 1.0)
    i = i % 6
    mask = i.unsqueeze(dim=-3) == torch.arange(6, device=i.device).view(-1, 1, 1)
    a1 = torch.stack((v, q, p, p, t, v), dim=-3)
    a2 = torch.stack((t, v, v, q, p, p), dim=-3)
    a3 = torch.stack((p, p, t, v, v, q), dim=-3)
    a4 = torch.stack((a1, a2, a3), dim=-4)
    return torch.einsum("...ijk, ...xijk -> ...xjk", mask.to(dtype=img.dtype), a4)


def adjust_hue(torch: Any, img: Any, hue_factor: float) -> Any:
    h, s, v = _rgb2hsv(torch, img).unbind(dim=-3)
    h = (h + hue_factor) % 1.0
    return _hsv2rgb(torch, torch.stack((h, s, v), dim=-3))


def gaussian_blur(torch: Any, img: Any, kernel_size: int, sigma: float) -> Any:
    ksize_half = (kernel_size - 1) * 0.5
    x = torch.linspace(-ksize_half, ksize_half, steps=kernel_size)
    pdf = torch.exp(-0.5 * (x / sigma).pow(2))
    kernel1d = pdf / pdf.sum()
    kernel2d = torch.mm(kernel1d[:, None], kernel1d[None, :]).to(img.dtype)
    kernel = kernel2d.expand(img.shape[-3], 1, kernel2d.shape[0], kernel2d.shape[1])
    padded = torch.nn.functional.pad(img.unsqueeze(0), [kernel_size // 2] * 4, mode="reflect")
    return torch.nn.functional.conv2d(padded, kernel, groups=img.shape[-3]).squeeze(0)


def equalize(torch: Any, img: Any) -> Any:
    """Per-channel histogram equalisation of a float image through its ``uint8`` form."""
    as_uint8 = (img * 255).round().to(torch.uint8)
    channels = []
    for img_chan in as_uint8:
        hist = torch.bincount(img_chan.reshape(-1), minlength=256)
        nonzero_hist = hist[hist != 0]
        step = torch.div(nonzero_hist[:-1].sum(), 255, rounding_mode="floor")
        if step == 0:
            channels.append(img_chan)
            continue
        lut = torch.div(
            torch.cumsum(hist, 0) + torch.div(step, 2, rounding_mode="floor"),
            step,
            rounding_mode="floor",
        )
        lut = torch.nn.functional.pad(lut, [1, 0])[:-1].clamp(0, 255)
        channels.append(lut[img_chan.to(torch.int64)].to(torch.uint8))
    return torch.stack(channels).to(img.dtype) / 255


def rotate(torch: Any, img: Any, angle: float, fill: float = 0.5) -> Any:
    """Rotation by ``affine_grid`` / ``grid_sample``, the outside filled through a mask."""
    a = torch.tensor(math.radians(angle), dtype=img.dtype)
    zero = torch.zeros((), dtype=img.dtype)
    theta = torch.stack(
        [torch.stack([a.cos(), -a.sin(), zero]), torch.stack([a.sin(), a.cos(), zero])]
    ).unsqueeze(0)
    grid = torch.nn.functional.affine_grid(theta, [1, *img.shape], align_corners=False)
    with_mask = torch.cat([img, torch.ones_like(img[:1])], dim=0).unsqueeze(0)
    out = torch.nn.functional.grid_sample(
        with_mask, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )[0]
    mask = out[-1:].expand_as(out[:-1])
    return out[:-1] * mask + (1.0 - mask) * fill


def translate_x(torch: Any, img: Any, pixels: int) -> Any:
    return torch.roll(img, shifts=pixels, dims=-1)


def rotate90(torch: Any, img: Any, k: int) -> Any:
    return torch.rot90(img, k, dims=(-2, -1))


def cutout(torch: Any, img: Any, cy: int, cx: int, length: int) -> Any:
    ys = torch.arange(img.shape[-2]).view(-1, 1)
    xs = torch.arange(img.shape[-1]).view(1, -1)
    box = ((ys - cy).abs() <= length // 2) & ((xs - cx).abs() <= length // 2)
    return img.masked_fill(box, 0.0)


def normalize(torch: Any, tensor: Any, mean: tuple, std: tuple) -> Any:
    mean = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device)
    std = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device)
    return tensor.clone().sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))


def rand_bbox(size: tuple, lam: float, cx: int, cy: int) -> tuple[int, int, int, int]:
    W_, H_ = size[-1], size[-2]
    cut_rat = np.sqrt(1.0 - lam)
    cut_w, cut_h = int(W_ * cut_rat), int(H_ * cut_rat)
    bbx1 = int(np.clip(cx - cut_w // 2, 0, W_))
    bby1 = int(np.clip(cy - cut_h // 2, 0, H_))
    bbx2 = int(np.clip(cx + cut_w // 2, 0, W_))
    bby2 = int(np.clip(cy + cut_h // 2, 0, H_))
    return bbx1, bby1, bbx2, bby2


# ---- where the parameters come from: a torch.Generator (as torchvision) or NumPy ----


class TorchDraw:
    """Random parameters drawn as torchvision's transforms draw them."""

    def __init__(self, torch: Any, g: Any) -> None:
        self.torch, self.g = torch, g

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.torch.empty(1).uniform_(lo, hi, generator=self.g).item())

    def randint(self, lo: int, hi: int) -> int:
        return int(self.torch.randint(lo, hi, size=(1,), generator=self.g).item())

    def perm(self, n: int) -> list[int]:
        return self.torch.randperm(n, generator=self.g).tolist()

    def coin(self, p: float) -> bool:
        return bool(self.torch.rand(1, generator=self.g) < p)


class NumpyDraw:
    """The same draws from NumPy (identical under both libraries)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def randint(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

    def perm(self, n: int) -> list[int]:
        return self.rng.permutation(n).tolist()

    def coin(self, p: float) -> bool:
        return bool(self.rng.random() < p)


def random_resized_crop_params(
    torch: Any, draw: Any, height: int, width: int, scale: tuple, ratio: tuple
) -> tuple[int, int, int, int]:
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target_area = area * draw.uniform(scale[0], scale[1])
        aspect_ratio = math.exp(draw.uniform(log_ratio[0].item(), log_ratio[1].item()))
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            i = draw.randint(0, height - h + 1)
            j = draw.randint(0, width - w + 1)
            return i, j, h, w
    # Fallback to central crop
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w = width
        h = int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        h = height
        w = int(round(h * max(ratio)))
    else:  # whole image
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def rand_augment(torch: Any, img: Any, draw: Any, num_ops: int = 2, magnitude: int = 5) -> Any:
    num_bins = 10
    mags = torch.linspace(0.0, 0.9, num_bins)
    op_meta = ["Identity", "Brightness", "Contrast", "Solarize", "Posterize", "AutoContrast"]
    op_meta += ["TranslateX", "Rotate90", "Hue", "Equalize", "Rotate", "Blur"]
    for _ in range(num_ops):
        op_name = op_meta[draw.randint(0, len(op_meta))]
        mag = float(mags[magnitude].item())
        if draw.randint(0, 2):
            mag *= -1.0
        if op_name == "Brightness":
            img = adjust_brightness(torch, img, 1.0 + mag)
        elif op_name == "Contrast":
            img = adjust_contrast(torch, img, 1.0 + mag)
        elif op_name == "Solarize":
            img = solarize(torch, img, 1.0 - abs(mag))
        elif op_name == "Posterize":
            img = posterize(torch, img, 8 - magnitude // 2)
        elif op_name == "AutoContrast":
            img = autocontrast(torch, img)
        elif op_name == "TranslateX":
            img = translate_x(torch, img, int(mag * 4))
        elif op_name == "Rotate90":
            img = rotate90(torch, img, 1 if mag > 0 else -1)
        elif op_name == "Hue":
            img = adjust_hue(torch, img, mag / 2)
        elif op_name == "Equalize":
            img = equalize(torch, img)
        elif op_name == "Rotate":
            img = rotate(torch, img, 30.0 * mag)
        elif op_name == "Blur":
            img = gaussian_blur(torch, img, 3, 0.1 + abs(mag))
    return img


def augment(torch: Any, img: Any, draw: Any) -> Any:
    """RandomResizedCrop, RandomHorizontalFlip, ColorJitter, RandAugment, Cutout, Normalize."""
    i, j, h, w = random_resized_crop_params(torch, draw, H, W, (0.3, 1.0), (3 / 4, 4 / 3))
    img = resized_crop(torch, img, i, j, h, w, OUT)
    if draw.coin(0.5):
        img = torch.flip(img, dims=[-1])
    factors = [draw.uniform(0.6, 1.4) for _ in range(3)]
    for fn_id in draw.perm(4):
        if fn_id == 0:
            img = adjust_brightness(torch, img, factors[0])
        elif fn_id == 1:
            img = adjust_contrast(torch, img, factors[1])
        elif fn_id == 2:
            img = adjust_saturation(torch, img, factors[2])
    img = rand_augment(torch, img, draw)
    img = cutout(torch, img, draw.randint(0, OUT), draw.randint(0, OUT), 3)
    return img


def _batch(torch: Any, images: Any, draw: Any) -> Any:
    return torch.stack([augment(torch, img, draw) for img in images])


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(77)
    images = as_tensor(torch, rng.random((BS, C, H, W)))
    labels = as_tensor(torch, rng.integers(0, N_CLASSES, BS))
    values: list[float] = []

    # the torch.Generator path: reproducible per seed, in range, right shape
    g = torch.Generator().manual_seed(0)
    first = _batch(torch, images, TorchDraw(torch, g))
    again = _batch(torch, images, TorchDraw(torch, torch.Generator().manual_seed(0)))
    assert tuple(first.shape) == (BS, C, OUT, OUT)
    assert torch.equal(first, again)
    assert bool((first >= 0).all()) and bool((first <= 1).all())
    torch.manual_seed(3)
    lam_a = torch.distributions.Beta(torch.tensor([0.4]), torch.tensor([0.4])).sample()
    torch.manual_seed(3)
    lam_b = torch.distributions.Beta(torch.tensor([0.4]), torch.tensor([0.4])).sample()
    assert torch.equal(lam_a, lam_b) and 0.0 < lam_a.item() < 1.0

    # each op on its own, deterministic
    img = images[0]
    values += [
        resized_crop(torch, img, 1, 2, 9, 7, OUT).sum().item(),
        resized_crop(torch, img, 0, 0, H, W, 5).sum().item(),
        rgb_to_grayscale(img).sum().item(),
        adjust_contrast(torch, img, 1.7).sum().item(),
        adjust_saturation(torch, img, 0.3).sum().item(),
        solarize(torch, img, 0.6).sum().item(),
        posterize(torch, img, 3).sum().item(),
        autocontrast(torch, img * 0.5 + 0.2).sum().item(),
        autocontrast(torch, torch.full_like(img, 0.4)).sum().item(),
        (translate_x(torch, img, -3) * torch.arange(W)).sum().item(),
        (rotate90(torch, img, 1) * torch.arange(H).view(-1, 1)).sum().item(),
        float(cutout(torch, img, 1, 10, 4).eq(0).sum().item()),
        normalize(torch, img, MEAN, STD).mean().item(),
        adjust_hue(torch, img, 0.3).sum().item(),
        adjust_hue(torch, img, -0.45)[1].sum().item(),
        gaussian_blur(torch, img, 3, 0.8).sum().item(),
        equalize(torch, img).sum().item(),
        rotate(torch, img, 30.0).sum().item(),
    ]

    # the compared batch: the same transforms, their parameters from NumPy
    batch = _batch(torch, images, NumpyDraw(np.random.default_rng(5)))
    values += batch.sum(dim=(1, 2, 3)).tolist()
    batch = torch.stack([normalize(torch, b, MEAN, STD) for b in batch])

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    y_onehot = F.one_hot(labels, N_CLASSES).to(batch.dtype)

    # mixup: pair each sample with the flipped batch
    lam = float(rng.beta(0.4, 0.4))
    mixed_x = lam * batch + (1 - lam) * batch.flip(0)
    mixed_y = lam * y_onehot + (1 - lam) * y_onehot.flip(0)
    optimizer.zero_grad()
    loss = F.cross_entropy(model(mixed_x), mixed_y)
    loss.backward()
    optimizer.step()
    values += [lam, loss.item()]

    # cutmix: paste a box from a permuted batch and correct lam by its area
    lam = float(rng.beta(1.0, 1.0))
    index = as_tensor(torch, rng.permutation(BS))
    bbx1, bby1, bbx2, bby2 = rand_bbox(
        tuple(batch.shape), lam, rng.integers(OUT), rng.integers(OUT)
    )
    cut_x = batch.clone()
    cut_x[:, :, bby1:bby2, bbx1:bbx2] = batch[index, :, bby1:bby2, bbx1:bbx2]
    lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (OUT * OUT))
    optimizer.zero_grad()
    output = model(cut_x)
    loss = lam * F.cross_entropy(output, labels) + (1 - lam) * F.cross_entropy(
        output, labels[index]
    )
    loss.backward()
    optimizer.step()
    values += [lam, loss.item(), cut_x.sum().item()]
    values += [p.detach().sum().item() for p in model.parameters()]
    return values
