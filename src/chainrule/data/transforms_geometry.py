"""Geometric image transforms, mirroring ``torchvision.transforms``: ``Resize``,
``CenterCrop``, ``RandomResizedCrop`` and ``RandomRotation``.

A PIL image is transformed with Pillow and stays a PIL image (as torchvision does). A
Tensor or NumPy array is an image of shape ``(..., H, W)`` (``(C, H, W)`` after
``ToTensor``); it is resized with the antialiased bilinear filter that torchvision uses by
default (PIL's separable triangle filter, widened by the scale factor when shrinking) and
rotated by inverse mapping. Random parameters come from ``generator`` or chainrule's
default generator.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..random import Generator, gen

try:  # Pillow is optional: only PIL images need it, and they imply it is installed
    from PIL import Image as _Image
except ImportError:  # pragma: no cover - depends on the environment
    _Image = None

__all__ = ["CenterCrop", "RandomResizedCrop", "RandomRotation", "Resize"]


def _is_pil(img: Any) -> bool:
    # duck-typed (Pillow is optional); a Tensor has ``mode``/``size`` methods too (torch.mode)
    return (
        hasattr(img, "mode") and hasattr(img, "size") and not isinstance(img, (np.ndarray, Tensor))
    )


def _unwrap(img: Any, where: str) -> tuple[np.ndarray, bool]:
    if isinstance(img, Tensor):
        return np.asarray(img.detach()), True
    if isinstance(img, np.ndarray):
        return img, False
    raise TypeError(
        f"{where}: expected a PIL image, Tensor or numpy.ndarray, got {type(img).__name__}"
    )


def _wrap(arr: np.ndarray, is_tensor: bool) -> Any:
    return Tensor._make(np.ascontiguousarray(arr), False, None, 0) if is_tensor else arr


def _hw(img: Any) -> tuple[int, int]:
    if _is_pil(img):
        w, h = img.size
        return h, w
    arr = np.asarray(img.detach()) if isinstance(img, Tensor) else np.asarray(img)
    return int(arr.shape[-2]), int(arr.shape[-1])


def _size_pair(size: Any, where: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) in (1, 2):
        return int(size[0]), int(size[-1])
    raise ValueError(f"{where}: size should be an int or a sequence of length 1 or 2, got {size!r}")


def _weights(n_in: int, n_out: int) -> np.ndarray:
    """The ``(n_out, n_in)`` antialiased bilinear resampling matrix (PIL's algorithm)."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centers = (np.arange(n_out) + 0.5) * scale
    lo = np.maximum(np.floor(centers - support + 0.5), 0).astype(int)
    hi = np.minimum(np.floor(centers + support + 0.5), n_in).astype(int)
    j = np.arange(n_in)
    w = np.maximum(0.0, 1.0 - np.abs((j[None, :] - centers[:, None] + 0.5) / support))
    w *= (j[None, :] >= lo[:, None]) & (j[None, :] < hi[:, None])
    return w / w.sum(axis=1, keepdims=True)


def resize_array(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize the last two dimensions of ``arr`` to ``size`` (antialiased bilinear)."""
    h, w = arr.shape[-2:]
    wh, ww = _weights(h, size[0]), _weights(w, size[1])
    work = arr.astype(np.float64 if arr.dtype == np.float64 else np.float32)
    # two matmuls (rows, then columns): a three-operand einsum without a contraction path
    # loops over every (output pixel, input pixel) pair and was ~500x slower at 32x32
    out = np.matmul(np.matmul(wh.astype(work.dtype), work), ww.T.astype(work.dtype))
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        return np.clip(np.round(out), info.min, info.max).astype(arr.dtype)
    return out.astype(arr.dtype, copy=False)


def _target_size(h: int, w: int, size: Any, max_size: int | None) -> tuple[int, int]:
    if isinstance(size, numbers.Integral) or (isinstance(size, Sequence) and len(size) == 1):
        short = int(size if isinstance(size, numbers.Integral) else size[0])
        long_ = int(short * max(h, w) / min(h, w))
        if max_size is not None:
            if max_size <= short:
                raise ValueError(
                    f"Resize: max_size = {max_size} must be strictly greater "
                    f"than the requested size for the smaller edge = {short}"
                )
            if long_ > max_size:
                short, long_ = int(max_size * short / long_), max_size
        return (short, long_) if h <= w else (long_, short)
    if max_size is not None:
        raise ValueError("Resize: max_size is only supported when size is a single int")
    return _size_pair(size, "Resize")


class Resize:
    """Resize to ``size``: ``(h, w)``, or an int for the smaller edge (keeping the aspect).

    Args:
        size: the output size.
        interpolation: ``'bilinear'`` (the only mode implemented for arrays; PIL images
            accept any Pillow filter name).
        max_size: cap on the longer edge when ``size`` is an int.
        antialias: True (torchvision's default); False is not implemented.
    """

    def __init__(
        self,
        size: Any,
        interpolation: str = "bilinear",
        max_size: int | None = None,
        antialias: bool = True,
    ):
        self.size, self.max_size = size, max_size
        self.interpolation = str(getattr(interpolation, "value", interpolation)).lower()
        if not antialias:
            raise NotImplementedError(
                "Resize: antialias=False is not implemented; chainrule "
                "resizes with torchvision's default antialiased filter"
            )
        if self.interpolation != "bilinear":
            raise NotImplementedError(
                f"Resize: interpolation {interpolation!r} is not implemented; use 'bilinear'"
            )

    def __call__(self, img: Any) -> Any:
        h, w = _hw(img)
        th, tw = _target_size(h, w, self.size, self.max_size)
        if _is_pil(img):
            return img.resize((tw, th), _Image.Resampling.BILINEAR)
        arr, is_tensor = _unwrap(img, "Resize")
        return _wrap(resize_array(arr, (th, tw)), is_tensor)

    def __repr__(self) -> str:
        return f"Resize(size={self.size}, interpolation={self.interpolation})"


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height x width`` window at ``(top, left)``, zero-padded where it leaves the image
    (torchvision's ``F.crop``)."""
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    arr, is_tensor = _unwrap(img, "crop")
    h, w = arr.shape[-2:]
    out = np.zeros(arr.shape[:-2] + (height, width), arr.dtype)
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + height, h), min(left + width, w)
    if t1 > t0 and l1 > l0:
        out[..., t0 - top : t1 - top, l0 - left : l1 - left] = arr[..., t0:t1, l0:l1]
    return _wrap(out, is_tensor)


class CenterCrop:
    """Crop the central ``size`` window (zero-padded if the image is smaller)."""

    def __init__(self, size: Any):
        self.size = _size_pair(size, "CenterCrop")

    def __call__(self, img: Any) -> Any:
        h, w = _hw(img)
        th, tw = self.size
        return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class RandomResizedCrop:
    """Crop a random area and aspect ratio, then resize to ``size`` (Inception-style).

    Args:
        size: the output size.
        scale: range of the crop's area as a fraction of the image's.
        ratio: range of the crop's aspect ratio (width / height), sampled log-uniformly.
        generator: the random stream.
    """

    def __init__(
        self,
        size: Any,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: str = "bilinear",
        antialias: bool = True,
        generator: Generator | None = None,
    ):
        self.size = _size_pair(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(
                f"RandomResizedCrop: scale and ratio should be of kind (min, max), "
                f"got scale={scale}, ratio={ratio}"
            )
        self.scale, self.ratio = scale, ratio
        self.resize = Resize(self.size, interpolation, antialias=antialias)
        self.generator = generator

    def get_params(self, img: Any) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of a random crop (torchvision's procedure)."""
        height, width = _hw(img)
        area = height * width
        rng = gen(self.generator)
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * rng.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return (
                    int(rng.integers(0, height - h + 1)),
                    int(rng.integers(0, width - w + 1)),
                    h,
                    w,
                )
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            h, w = height, int(round(height * max(self.ratio)))
        else:
            h, w = height, width
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img: Any) -> Any:
        return self.resize(crop(img, *self.get_params(img)))

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (counter-clockwise, as torchvision).

    Args:
        degrees: ``d`` for ``(-d, d)``, or a ``(min, max)`` pair.
        interpolation: ``'nearest'`` (default) or ``'bilinear'``.
        expand: enlarge the output to hold the whole rotated image.
        center: the rotation centre ``(x, y)`` (default: the image centre).
        fill: the value of pixels outside the image.
    """

    def __init__(
        self,
        degrees: Any,
        interpolation: str = "nearest",
        expand: bool = False,
        center: Sequence[float] | None = None,
        fill: float = 0,
        generator: Generator | None = None,
    ):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(
                    "RandomRotation: if degrees is a single number, it must be "
                    f"positive, got {degrees}"
                )
            degrees = (-degrees, degrees)
        self.degrees = (float(degrees[0]), float(degrees[1]))
        self.interpolation = str(getattr(interpolation, "value", interpolation)).lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"RandomRotation: interpolation must be 'nearest' or 'bilinear', "
                f"got {interpolation!r}"
            )
        self.expand, self.center, self.fill = expand, center, fill
        self.generator = generator

    def __call__(self, img: Any) -> Any:
        angle = float(gen(self.generator).uniform(self.degrees[0], self.degrees[1]))
        return rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation})"


def rotate(
    img: Any,
    angle: float,
    interpolation: str = "nearest",
    expand: bool = False,
    center: Sequence[float] | None = None,
    fill: float = 0,
) -> Any:
    """Rotate ``img`` by ``angle`` degrees counter-clockwise about ``center``."""
    if _is_pil(img):
        resample = (
            _Image.Resampling.NEAREST if interpolation == "nearest" else _Image.Resampling.BILINEAR
        )
        return img.rotate(angle, resample=resample, expand=expand, center=center, fillcolor=fill)
    arr, is_tensor = _unwrap(img, "rotate")
    h, w = arr.shape[-2:]
    cx, cy = ((w - 1) / 2.0, (h - 1) / 2.0) if center is None else center
    a = math.radians(angle)
    cos, sin = math.cos(a), math.sin(a)
    oh, ow = h, w
    if expand:
        ow = int(math.ceil(abs(w * cos) + abs(h * sin) - 1e-9))
        oh = int(math.ceil(abs(w * sin) + abs(h * cos) - 1e-9))
    ocx, ocy = (ow - 1) / 2.0 + (cx - (w - 1) / 2.0), (oh - 1) / 2.0 + (cy - (h - 1) / 2.0)
    ys, xs = np.mgrid[0:oh, 0:ow].astype(np.float64)
    dx, dy = xs - ocx, ys - ocy
    # inverse map: the source of an output pixel is the output rotated clockwise
    sx = cos * dx - sin * dy + cx
    sy = sin * dx + cos * dy + cy
    out = _sample(arr, sx, sy, interpolation, fill)
    return _wrap(out, is_tensor)


def _sample(
    arr: np.ndarray, sx: np.ndarray, sy: np.ndarray, interpolation: str, fill: float
) -> np.ndarray:
    h, w = arr.shape[-2:]
    if interpolation == "nearest":
        ix, iy = np.floor(sx + 0.5).astype(int), np.floor(sy + 0.5).astype(int)
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        out = arr[..., np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
        return np.where(inside, out, np.asarray(fill, arr.dtype))
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    fx, fy = sx - x0, sy - y0
    work = arr.astype(np.float64)
    out = np.zeros(arr.shape[:-2] + sx.shape)
    for ox, oy, wgt in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        px, py = x0 + ox, y0 + oy
        inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        vals = work[..., np.clip(py, 0, h - 1), np.clip(px, 0, w - 1)]
        out += wgt * np.where(inside, vals, float(fill))
    if arr.dtype.kind in "iu":
        return np.round(out).astype(arr.dtype)
    return out.astype(arr.dtype)
