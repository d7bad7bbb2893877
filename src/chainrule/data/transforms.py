"""Image transforms, mirroring ``torchvision.transforms``: compose, convert, normalise, augment.

Images are ``(C, H, W)`` float tensors after ``ToTensor``; the random transforms work on the
last two dimensions, so they also accept ``(H, W)`` images and ``(N, C, H, W)`` batches (one
random draw per call). Randomness comes from ``generator`` if given, else from chainrule's
default generator, so ``cr.manual_seed(s)`` makes augmentation reproducible.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..random import Generator, gen
from .transforms_color import ColorJitter
from .transforms_geometry import (
    CenterCrop,
    RandomResizedCrop,
    RandomRotation,
    Resize,
    _Image,
    _is_pil,
)

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "Lambda",
    "Normalize",
    "RandomCrop",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomRotation",
    "Resize",
    "ToTensor",
]


def _array(img: Any, where: str) -> tuple[np.ndarray, bool]:
    if isinstance(img, Tensor):
        return img._data, True
    if isinstance(img, np.ndarray):
        return img, False
    raise TypeError(f"{where}: expected a Tensor or numpy.ndarray image, got {type(img).__name__}")


def _like(arr: np.ndarray, is_tensor: bool) -> Any:
    return Tensor._make(arr, False, None, 0) if is_tensor else arr


class Compose:
    """Apply transforms one after another: ``Compose([ToTensor(), Normalize(m, s)])``."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class Lambda:
    """Wrap a user function as a transform."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)


_CHANNELS = (1, 3, 4)


class ToTensor:
    """Convert an image to a float32 ``(C, H, W)`` Tensor, scaling uint8 values to [0, 1].

    Accepts ``(H, W)`` (one channel added), ``(H, W, C)`` (the NumPy/PIL layout, moved to
    channels-first) or ``(C, H, W)`` arrays (recognised when the first dimension is 1, 3 or 4
    and the last is not; an ambiguous shape is read as HWC, as torchvision does), PIL images,
    and Tensors (assumed CHW already). uint8 input is divided by 255; float input is kept.
    """

    def __call__(self, pic: Any) -> Tensor:
        if isinstance(pic, Tensor):
            arr = pic._data
            if arr.ndim == 2:
                arr = arr[None]
        else:
            if not isinstance(pic, np.ndarray) and hasattr(pic, "mode"):  # a PIL image
                pic = np.asarray(pic)
            if not isinstance(pic, np.ndarray):
                raise TypeError(
                    f"ToTensor: expected a numpy.ndarray, PIL image or Tensor, "
                    f"got {type(pic).__name__}"
                )
            arr = pic
            if arr.ndim == 2:
                arr = arr[None]
            elif arr.ndim == 3:
                chw = arr.shape[0] in _CHANNELS and arr.shape[2] not in _CHANNELS
                if not chw:
                    arr = arr.transpose(2, 0, 1)
            else:
                raise ValueError(
                    f"ToTensor: expected an image of shape (H, W), (H, W, C) or "
                    f"(C, H, W), got shape {tuple(arr.shape)}"
                )
        if arr.dtype == np.uint8:
            out = arr.astype(np.float32) / np.float32(255.0)
        elif arr.dtype == np.bool_ or arr.dtype.kind in "iu":
            out = arr.astype(np.float32)
        else:
            out = arr.astype(np.float32, copy=True)
        return Tensor._make(np.ascontiguousarray(out), False, None, 0)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """Normalise each channel: ``out[c] = (img[c] - mean[c]) / std[c]``.

    Args:
        mean: per-channel means (a sequence, or one number for all channels).
        std: per-channel standard deviations (must be non-zero).
        inplace: modify the input array instead of returning a new one.
    """

    def __init__(
        self, mean: Sequence[float] | float, std: Sequence[float] | float, inplace: bool = False
    ):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if np.any(self.std == 0):
            raise ValueError(
                f"Normalize: std evaluated to zero ({list(self.std)}), leading to division by zero"
            )
        self.inplace = inplace

    def __call__(self, img: Any) -> Any:
        arr, is_tensor = _array(img, "Normalize")
        if arr.ndim < 3 or arr.dtype.kind != "f":
            raise ValueError(
                f"Normalize: expected a float image of shape (C, H, W) or "
                f"(N, C, H, W), got shape {tuple(arr.shape)} dtype {arr.dtype}"
            )
        c = arr.shape[-3]
        if self.mean.size not in (1, c) or self.std.size not in (1, c):
            raise ValueError(
                f"Normalize: {self.mean.size} means / {self.std.size} stds for an "
                f"image with {c} channels"
            )
        mean = self.mean.astype(arr.dtype).reshape(-1, 1, 1)
        std = self.std.astype(arr.dtype).reshape(-1, 1, 1)
        if self.inplace:
            arr -= mean
            arr /= std
            return img
        return _like((arr - mean) / std, is_tensor)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _pair(size: Any, where: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{where}: size should be an int or a (h, w) pair, got {size!r}")
    return int(size[0]), int(size[1])


class RandomCrop:
    """Crop a random ``size`` window, after optional zero/edge padding (CIFAR augmentation).

    Args:
        size: output (h, w), or one int for a square.
        padding: pixels added on each border first: int, (left/right, top/bottom) or
            (left, top, right, bottom).
        pad_if_needed: pad images smaller than ``size``.
        fill: constant for ``padding_mode='constant'``.
        padding_mode: 'constant', 'edge', 'reflect' or 'symmetric'.
        generator: random stream (default: chainrule's default generator).
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: Any = None,
        pad_if_needed: bool = False,
        fill: float = 0,
        padding_mode: str = "constant",
        generator: Generator | None = None,
    ):
        self.size = _pair(size, "RandomCrop")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(
                f"RandomCrop: padding_mode must be constant, edge, reflect or "
                f"symmetric, got {padding_mode!r}"
            )
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.generator = generator

    def _pad(self, arr: np.ndarray, left: int, top: int, right: int, bottom: int) -> np.ndarray:
        width = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
        if self.padding_mode == "constant":
            return np.pad(arr, width, mode="constant", constant_values=self.fill)
        return np.pad(arr, width, mode=self.padding_mode)

    def __call__(self, img: Any) -> Any:
        arr, is_tensor = _array(img, "RandomCrop")
        if arr.ndim < 2:
            raise ValueError(
                f"RandomCrop: expected an image (..., H, W), got shape {tuple(arr.shape)}"
            )
        if self.padding is not None:
            p = self.padding
            p = [p] if isinstance(p, numbers.Number) else list(p)
            if len(p) == 1:
                p = p * 4
            elif len(p) == 2:
                p = [p[0], p[1], p[0], p[1]]
            elif len(p) != 4:
                raise ValueError(
                    f"RandomCrop: padding should be an int or a sequence of 1, 2 "
                    f"or 4 ints, got {self.padding!r}"
                )
            arr = self._pad(arr, *[int(v) for v in p])
        th, tw = self.size
        h, w = arr.shape[-2:]
        if self.pad_if_needed and (h < th or w < tw):
            dh, dw = max(th - h, 0), max(tw - w, 0)
            arr = self._pad(arr, dw, dh, dw, dh)
            h, w = arr.shape[-2:]
        if h < th or w < tw:
            raise ValueError(
                f"RandomCrop: required crop size {(th, tw)} is larger than the "
                f"(padded) image size {(h, w)}"
            )
        rng = gen(self.generator)
        i = int(rng.integers(0, h - th + 1))
        j = int(rng.integers(0, w - tw + 1))
        return _like(np.ascontiguousarray(arr[..., i : i + th, j : j + tw]), is_tensor)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, generator: Generator | None = None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, img: Any) -> Any:
        if _is_pil(img):  # PIL images are flipped by Pillow and stay PIL images
            flip = gen(self.generator).random() < self.p
            return img.transpose(_Image.Transpose.FLIP_LEFT_RIGHT) if flip else img
        arr, is_tensor = _array(img, "RandomHorizontalFlip")
        if gen(self.generator).random() < self.p:
            return _like(np.ascontiguousarray(arr[..., ::-1]), is_tensor)
        return img

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomErasing:
    """Erase a random rectangle (Zhong et al., 2017), as ``torchvision.transforms.RandomErasing``.

    With probability ``p``, up to 10 attempts draw an area fraction from ``scale`` and a
    log-uniform aspect ratio from ``ratio``; the first rectangle that fits is set to ``value``.

    Args:
        p: probability of erasing.
        scale: (min, max) fraction of the image area to erase.
        ratio: (min, max) aspect ratio h/w of the rectangle.
        value: fill value: a number, a per-channel sequence, or 'random' (standard normal).
        inplace: modify the input array.
        generator: random stream (default: chainrule's default generator).
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: Any = 0,
        inplace: bool = False,
        generator: Generator | None = None,
    ):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomErasing: p must be in [0, 1], got {p}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(
                f"RandomErasing: scale and ratio should be (min, max) ranges, "
                f"got scale={scale}, ratio={ratio}"
            )
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale should be within [0, 1], got {scale}")
        if isinstance(value, str) and value != "random":
            raise ValueError(
                f"RandomErasing: value must be a number, a sequence or 'random', got {value!r}"
            )
        self.p, self.scale, self.ratio = p, tuple(scale), tuple(ratio)
        self.value, self.inplace, self.generator = value, inplace, generator

    def get_params(self, arr: np.ndarray, rng: np.random.Generator) -> tuple | None:
        """(top, left, h, w) of a rectangle that fits, or None after 10 failed attempts."""
        img_h, img_w = arr.shape[-2:]
        area = img_h * img_w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            erase_area = area * rng.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
            h = round(math.sqrt(erase_area * aspect))
            w = round(math.sqrt(erase_area / aspect))
            if not (h < img_h and w < img_w) or h == 0 or w == 0:
                continue
            i = int(rng.integers(0, img_h - h + 1))
            j = int(rng.integers(0, img_w - w + 1))
            return i, j, h, w
        return None

    def __call__(self, img: Any) -> Any:
        arr, is_tensor = _array(img, "RandomErasing")
        if arr.ndim < 3:
            raise ValueError(
                f"RandomErasing: expected a (C, H, W) image, got shape {tuple(arr.shape)}"
            )
        rng = gen(self.generator)
        if rng.random() >= self.p:
            return img
        box = self.get_params(arr, rng)
        if box is None:
            return img
        i, j, h, w = box
        out = arr if self.inplace else arr.copy()
        c = arr.shape[-3]
        if isinstance(self.value, str):
            fill = rng.standard_normal((c, h, w)).astype(arr.dtype)
        else:
            v = np.atleast_1d(np.asarray(self.value, dtype=arr.dtype))
            if v.size not in (1, c):
                raise ValueError(
                    f"RandomErasing: value has {v.size} entries for an image with {c} channels"
                )
            fill = v.reshape(-1, 1, 1)
        out[..., i : i + h, j : j + w] = fill
        return img if self.inplace else _like(out, is_tensor)

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio})"
