"""Image, figure, audio and video encoding for ``SummaryWriter``, laid out as PyTorch's.

Images are PNG ``Summary.Image`` records, as ``torch.utils.tensorboard`` writes them for
``add_images`` and ``add_figure`` (1 channel repeated to RGB). Several images are tiled 8 to
a row; floats are scaled by 255, clipped and truncated to ``uint8`` (``uint8`` is kept).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import wave
from typing import Any

import numpy as np

GRID_ERROR = "Input should be a 4D numpy array with 3 channels"


def to_uint8(x: np.ndarray) -> np.ndarray:
    """PyTorch's pixel conversion: ``uint8`` unchanged, anything else ``x * 255`` clipped."""
    if x.dtype == np.uint8:
        return x
    return np.clip(x.astype(np.float32) * np.float32(255), 0, 255).astype(np.uint8)


def to_nchw(arr: np.ndarray, dataformats: str, what: str) -> np.ndarray:
    """``arr`` laid out as ``dataformats`` (a permutation of NCHW, CHW, HWC or HW...) as NCHW."""
    fmt = dataformats.upper()
    bad = len(set(fmt)) != len(fmt) or not set(fmt) <= set("NCHW") or not {"H", "W"} <= set(fmt)
    if bad or ("N" in fmt and "C" not in fmt):
        raise ValueError(f"{what}: unsupported dataformats {dataformats!r}")
    if arr.ndim != len(fmt):
        raise ValueError(
            f"{what}: dataformats {dataformats!r} does not fit an array of shape {tuple(arr.shape)}"
        )
    for axis in "NC":
        if axis not in fmt:
            arr, fmt = arr[None], axis + fmt
    return np.transpose(arr, [fmt.index(c) for c in "NCHW"])


def make_grid(nchw: np.ndarray, ncols: int = 8) -> np.ndarray:
    """Tile N CHW images (1 channel repeated to 3) into one CHW image, ``ncols`` a row."""
    if nchw.ndim != 4:
        raise AssertionError(GRID_ERROR)
    if nchw.shape[1] == 1:
        nchw = np.concatenate([nchw] * 3, 1)
    if nchw.shape[1] != 3:
        raise AssertionError(GRID_ERROR)
    n, c, h, w = nchw.shape
    ncols = min(n, ncols)
    nrows = math.ceil(n / ncols)
    canvas = np.zeros((c, nrows * h, ncols * w), dtype=nchw.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h : (y + 1) * h, x * w : (x + 1) * w] = nchw[i]
    return canvas


def png(hwc: np.ndarray, what: str = "SummaryWriter") -> bytes:
    """PNG bytes of a ``uint8`` HWC image with 1, 3 or 4 channels."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(f"{what} needs Pillow to encode PNG: pip install pillow") from e
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[hwc.shape[2]]
    buf = io.BytesIO()
    Image.fromarray(hwc[:, :, 0] if mode == "L" else hwc, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def image_value(pb: Any, tag: str, hwc: np.ndarray) -> Any:
    """A ``Summary.Value`` holding one ``uint8`` HWC image as a PNG ``Summary.Image``."""
    summary_pb2 = pb.summary
    image = summary_pb2.Summary.Image(
        height=hwc.shape[0],
        width=hwc.shape[1],
        colorspace=hwc.shape[2],
        encoded_image_string=png(hwc, "add_images"),
    )
    return summary_pb2.Summary.Value(tag=tag, image=image)


def images_hwc(arr: np.ndarray, dataformats: str) -> np.ndarray:
    """``add_images``' grid of ``arr`` as one ``uint8`` HWC image."""
    grid = make_grid(to_nchw(arr, dataformats, "add_images"))
    return to_uint8(np.transpose(grid, (1, 2, 0)))


def figure_chw(figure: Any) -> np.ndarray:
    """A matplotlib figure rendered with Agg, as a ``uint8`` CHW RGB array."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as e:
        raise ImportError("add_figure needs matplotlib: pip install matplotlib") from e
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.uint8)
    return np.ascontiguousarray(np.transpose(rgba[:, :, :3], (2, 0, 1)))


def close_figure(figure: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)


def wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono WAV of ``samples`` in [-1, 1] (clipped with PyTorch's warning if not)."""
    arr = np.squeeze(samples)
    if arr.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    arr = arr.astype(np.float64)
    if arr.size and np.abs(arr).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        arr = np.clip(arr, -1, 1)
    pcm = (arr * np.iinfo(np.int16).max).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(pcm.tobytes())
    return buf.getvalue()


def video_frames(vid: np.ndarray) -> np.ndarray:
    """(N, T, C, H, W) clips as (T, H', W', C) ``uint8`` frames: the batch padded to a power
    of two and tiled in a grid about as wide as it is tall."""
    if vid.ndim != 5:
        raise ValueError(f"add_video: expected an (N, T, C, H, W) tensor, got {vid.shape}")
    vid = to_uint8(vid)
    n = vid.shape[0]
    b = 1 << (n - 1).bit_length() if n > 1 else 1
    if b != n:
        vid = np.concatenate([vid, np.zeros((b - n, *vid.shape[1:]), vid.dtype)])
    rows = 2 ** ((b.bit_length() - 1) // 2)
    cols = b // rows
    _, t, c, h, w = vid.shape
    vid = vid.reshape(rows, cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3)
    return vid.reshape(t, rows * h, cols * w, c)


def gif(frames: np.ndarray, fps: float) -> bytes | None:
    """GIF bytes of ``frames`` written by moviepy; ``None`` (with PyTorch's message) when
    moviepy is not installed, as PyTorch."""
    try:
        import moviepy  # noqa: F401
    except ImportError:
        print("add_video needs package moviepy")
        return None
    try:
        from moviepy import ImageSequenceClip
    except ImportError:
        from moviepy.editor import ImageSequenceClip  # moviepy < 2
    clip = ImageSequenceClip(list(frames), fps=fps)
    fd, path = tempfile.mkstemp(suffix=".gif")
    os.close(fd)
    try:
        try:
            clip.write_gif(path, logger=None)
        except TypeError:
            clip.write_gif(path, verbose=False, logger=None)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.remove(path)
