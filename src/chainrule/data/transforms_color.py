"""``ColorJitter``: random brightness, contrast, saturation and hue, as torchvision does.

On a float image in [0, 1] of shape ``(..., 3, H, W)`` (or ``(..., 1, H, W)`` without
saturation/hue), each adjustment blends the image with a reference and clamps to [0, 1]:
brightness with black (``f * img``), contrast with the mean grey level, saturation with
the grey image (ITU-R 601-2 luma ``0.2989 R + 0.587 G + 0.114 B``); hue rotates the HSV hue
by ``h`` turns. The four are applied in a random order, each with a factor drawn uniformly
from its range. PIL images are converted to arrays and back.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..random import Generator, gen

try:  # Pillow is optional: only PIL images need it
    from PIL import Image as _Image
except ImportError:  # pragma: no cover
    _Image = None

__all__ = ["ColorJitter", "adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation"]

_LUMA = np.array([0.2989, 0.587, 0.114])


def _grey(img: np.ndarray) -> np.ndarray:
    """The luma image, keeping a channel dimension of size 1."""
    if img.shape[-3] == 1:
        return img
    return np.einsum("c,...chw->...hw", _LUMA.astype(img.dtype), img)[..., None, :, :]


def _blend(img: np.ndarray, other: Any, factor: float) -> np.ndarray:
    return np.clip(factor * img + (1.0 - factor) * other, 0.0, 1.0).astype(img.dtype)


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Scale all values by ``factor`` (0: black, 1: unchanged)."""
    return _blend(img, 0.0, factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the image's mean grey level (0: flat grey, 1: unchanged)."""
    mean = _grey(img).mean(axis=(-3, -2, -1), keepdims=True)
    return _blend(img, mean, factor)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the grey image (0: greyscale, 1: unchanged)."""
    return _blend(img, _grey(img), factor)


def adjust_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Rotate the hue by ``hue_factor`` turns (in [-0.5, 0.5])."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5]")
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    v, delta = maxc, maxc - minc
    s = np.where(maxc > 0, delta / np.where(maxc > 0, maxc, 1), 0)
    safe = np.where(delta > 0, delta, 1)
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    h = (h + hue_factor) % 1.0
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(int) % 6
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.stack(
        [np.select([i == k for k in range(6)], [c[ch] for c in choices]) for ch in range(3)],
        axis=-3,
    )
    return out.astype(img.dtype)


def _range(
    name: str, value: Any, center: float, bound: tuple[float, float], clip_first: bool = True
) -> tuple[float, float] | None:
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(
                f"ColorJitter: if {name} is a single number, it must be non negative, got {value}"
            )
        value = (center - value, center + value)
        if clip_first:
            value = (max(value[0], 0.0), value[1])
    elif not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise TypeError(
            f"ColorJitter: {name} should be a single number or a list/tuple with "
            f"length 2, got {value!r}"
        )
    lo, hi = float(value[0]), float(value[1])
    if not bound[0] <= lo <= hi <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, got {(lo, hi)}")
    return None if lo == hi == center else (lo, hi)


class ColorJitter:
    """Randomly change brightness, contrast, saturation and hue (torchvision's semantics).

    Args:
        brightness, contrast, saturation: ``b`` for factors in ``[max(0, 1-b), 1+b]``, or a
            ``(min, max)`` pair.
        hue: ``h`` for a hue shift in ``[-h, h]`` (``0 <= h <= 0.5``), or a pair.
        generator: the random stream.
    """

    def __init__(
        self,
        brightness: Any = 0,
        contrast: Any = 0,
        saturation: Any = 0,
        hue: Any = 0,
        generator: Generator | None = None,
    ):
        inf = float("inf")
        self.brightness = _range("brightness", brightness, 1.0, (0.0, inf))
        self.contrast = _range("contrast", contrast, 1.0, (0.0, inf))
        self.saturation = _range("saturation", saturation, 1.0, (0.0, inf))
        self.hue = _range("hue", hue, 0.0, (-0.5, 0.5), clip_first=False)
        self.generator = generator

    def __call__(self, img: Any) -> Any:
        pil = _Image is not None and isinstance(img, _Image.Image)
        if pil:
            mode = img.mode
            arr = np.asarray(img.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0
        elif isinstance(img, Tensor):
            arr = np.asarray(img.detach())
        elif isinstance(img, np.ndarray):
            arr = img
        else:
            raise TypeError(
                f"ColorJitter: expected a PIL image, Tensor or numpy.ndarray, got "
                f"{type(img).__name__}"
            )
        if arr.dtype.kind != "f":
            raise TypeError(
                f"ColorJitter: expected a float image in [0, 1], got dtype "
                f"{arr.dtype}; apply ToTensor() first"
            )
        rng = gen(self.generator)
        adjust = {
            0: (self.brightness, adjust_brightness),
            1: (self.contrast, adjust_contrast),
            2: (self.saturation, adjust_saturation),
            3: (self.hue, adjust_hue),
        }
        for k in rng.permutation(4):
            bounds, fn = adjust[int(k)]
            if bounds is not None:
                arr = fn(arr, float(rng.uniform(bounds[0], bounds[1])))
        if pil:
            out = _Image.fromarray(np.round(arr.transpose(1, 2, 0) * 255).astype(np.uint8))
            return out.convert(mode)
        if isinstance(img, Tensor):
            return Tensor._make(np.ascontiguousarray(arr), False, None, 0)
        return arr

    def __repr__(self) -> str:
        return (
            f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation}, hue={self.hue})"
        )
