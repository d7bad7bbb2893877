"""Short-time Fourier transforms at torch's top level: ``stft`` and ``istft`` (built on the
FFT ops of ``ops/fft.py``).

Both are compositions of differentiable ops (slicing, flipping and joining for the padding,
advanced indexing for the frames, the window product, the FFT primitives, and overlap-add
by shifted joins), so reverse mode, forward mode and higher derivatives follow, for real and
complex signals and for a window that requires grad. Argument rules, warnings and errors
are PyTorch 2.13's (``aten/src/ATen/native/SpectralOps.cpp``).

Differences from PyTorch, each where PyTorch itself fails: ``align_to_window=True`` with an
odd ``n_fft - win_length`` (PyTorch overruns its input's storage and raises; chainrule pads
the signal by the window's offset on the left and the rest on the right, so every frame
lies inside it), and ``istft`` of a 1-d tensor raises RuntimeError where PyTorch raises an
IndexError from inside its shape checks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._user_warnings import warn_once
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import as_tensor
from .binding import tensor_method
from .complex_ops import view_as_real
from .fft import Plan, transform
from .joining import cat
from .rearranging import flip

__all__ = ["istft", "stft"]

_NO_WINDOW_STFT = (
    "A window was not provided. A rectangular window will be applied,which is known to cause "
    "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
    "recommended to reduce spectral leakage.To suppress this warning and use a rectangular "
    "window, explicitly set `window=torch.ones(n_fft, device=<device>)`."
)
_NO_WINDOW_ISTFT = (
    "A window was not provided. A rectangular window will be applied.Please provide the same "
    "window used by stft to make the inversion lossless.To suppress this warning and use a "
    "rectangular window, explicitly set `window=torch.ones(n_fft, device=<device>)`."
)


def _const(x: Tensor, shape: tuple, dtype: Any, fill: float = 0.0) -> Tensor:
    """A constant tensor on ``x``'s device."""
    xp = get_array_module(x._data)
    return Tensor._make(xp.full(shape, fill, dtype=dtype), False, None, 0)


def _check_pad(shape: tuple, pad: int, mode: str) -> None:
    """The errors of ``F.pad(x, [pad, pad], mode)`` along the last dim of a ``shape`` signal:
    an unknown mode, or a pad the mode cannot take from so short a signal."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(
            f"stft: Unrecognised padding mode {mode} (valid: 'constant', 'reflect', "
            "'replicate', 'circular')"
        )
    n = shape[-1]
    if pad and (
        (mode == "reflect" and pad >= n)
        or (mode == "circular" and pad > n)
        or (n == 0 and mode != "constant")
    ):
        raise RuntimeError(
            f"stft: Padding size should be less than the corresponding input dimension, but "
            f"got: padding ({pad}, {pad}) at dimension {len(shape) - 1} of input "
            f"{list(shape)} with pad_mode={mode!r}"
        )


def _pad_last(x: Tensor, pad: int, mode: str) -> Tensor:
    """``F.pad(x, [pad, pad], mode)`` along the last dim, from slices, flips and joins (so
    that complex signals are differentiable too)."""
    n = x.shape[-1]
    _check_pad(tuple(x.shape), pad, mode)
    if pad == 0:
        return x
    if mode == "constant":
        left = right = _const(x, x.shape[:-1] + (pad,), x.dtype)
    elif mode == "reflect":
        left = flip(x[..., 1 : pad + 1], (-1,))
        right = flip(x[..., n - pad - 1 : n - 1], (-1,))
    elif mode == "replicate":
        left = x[..., :1].expand(*x.shape[:-1], pad)
        right = x[..., n - 1 :].expand(*x.shape[:-1], pad)
    else:
        left, right = x[..., n - pad :], x[..., :pad]
    return cat([left, x, right], -1)


def _centered_window(window: Tensor | None, win_length: int, n_fft: int, like: Tensor):
    """The window zero-padded on both sides to ``n_fft`` (``None`` stays None when no
    padding is needed: the rectangular window multiplies by nothing)."""
    left = (n_fft - win_length) // 2
    right = n_fft - win_length - left
    if window is None:
        if win_length == n_fft:
            return None
        window = _const(like, (win_length,), like.dtype, 1.0)
    if left == 0 and right == 0:
        return window
    return cat(
        [_const(window, (left,), window.dtype), window, _const(window, (right,), window.dtype)], 0
    )


def _overlap_add(frames: Tensor, hop: int, length: int) -> Tensor:
    """Sum frames ``(B, F, n)`` placed ``hop`` apart into signals ``(B, length)`` (PyTorch's
    ``unfold_backward``): each frame is cut into chunks of ``hop``; chunk ``j`` of frame
    ``f`` lands on output chunk ``f + j``, so ``ceil(n / hop)`` shifted joins do it all."""
    b, f, n = frames.shape
    r = -(-n // hop)
    if r * hop > n:
        frames = cat([frames, _const(frames, (b, f, r * hop - n), frames.dtype)], 2)
    chunks = frames.reshape(b, f, r, hop)
    total = None
    for j in range(r):
        part = [chunks[:, :, j, :]]
        if j:
            part.insert(0, _const(frames, (b, j, hop), frames.dtype))
        if r - 1 - j:
            part.append(_const(frames, (b, r - 1 - j, hop), frames.dtype))
        placed = cat(part, 1) if len(part) > 1 else part[0]
        total = placed if total is None else total + placed
    return total.reshape(b, (f + r - 1) * hop)[:, :length]


def _check_int(v: Any, name: str, op: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(v).__name__}")
    return int(v)


@tensor_method
@autocast_float32_op
def stft(
    input: Tensor,  # noqa: A002
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Tensor | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
    onesided: bool | None = None,
    return_complex: bool | None = None,
    align_to_window: bool | None = None,
) -> Tensor:
    """Short-time Fourier transform: the FFT of ``window``-weighted frames of ``n_fft``
    samples, ``hop_length`` apart; shape ``(B?, freq, frames)`` (complex, or real with a last
    dim of 2 for ``return_complex=False``). ``center`` pads ``n_fft // 2`` on both sides
    with ``pad_mode``; ``onesided`` (default for real input) keeps ``n_fft // 2 + 1``
    frequencies; ``normalized`` scales by ``1 / sqrt(n_fft)``."""
    x = as_tensor(input)
    n_fft = _check_int(n_fft, "n_fft", "stft")
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if center and x.ndim in (1, 2):  # PyTorch pads first: its errors come before the warnings
        _check_pad(tuple(x.shape), n_fft // 2, pad_mode)
    hop = n_fft // 4 if hop_length is None else _check_int(hop_length, "hop_length", "stft")
    win = n_fft if win_length is None else _check_int(win_length, "win_length", "stft")
    is_complex = x.dtype.kind == "c" or (window is not None and window.dtype.kind == "c")
    want_complex = is_complex if return_complex is None else bool(return_complex)
    if not want_complex and return_complex is None:
        raise RuntimeError(
            "stft requires the return_complex parameter be given for real inputs, and will "
            "further require that return_complex=True in a future PyTorch release."
        )
    if window is None:  # once per process, as PyTorch (after the return_complex check)
        warn_once("stft_no_window", _NO_WINDOW_STFT)
    if not want_complex:
        warn_once(  # once per process, as PyTorch
            "stft_return_complex_false",
            "stft with return_complex=False is deprecated. In a future pytorch release, stft "
            "will return complex tensors for all inputs, and return_complex=False will raise "
            "an error.\nNote: you can still call torch.view_as_real on the complex output to "
            "recover the old return format.",
        )
    if x.dtype.kind not in "fc" and not _dt.is_bfloat16(x.dtype):
        raise RuntimeError(
            f"stft: expected a tensor of floating point or complex values, got {x.dtype}"
        )
    if x.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, got shape {list(x.shape)}")
    squeeze = x.ndim == 1
    if squeeze:
        x = x.unsqueeze(0)
    if center:
        x = _pad_last(x, n_fft // 2, pad_mode)
    length = x.shape[1]
    if n_fft <= 0 or n_fft > length:
        raise RuntimeError(f"stft: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    if win <= 0 or win > n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise RuntimeError(
            f"stft: expected a 1D window tensor of size equal to win_length={win}, but got "
            f"window with size {list(window.shape)}"
        )
    win_full = _centered_window(window, win, n_fft, x)
    if align_to_window and win < n_fft:  # frames aligned to the window, not to n_fft
        left = (n_fft - win) // 2
        x = cat([_const(x, (x.shape[0], left), x.dtype), x], 1)
        x = cat([x, _const(x, (x.shape[0], n_fft - win - left), x.dtype)], 1)
    n_frames = 1 + (x.shape[1] - n_fft) // hop
    index = hop * np.arange(n_frames)[:, None] + np.arange(n_fft)[None, :]
    frames = x[:, index]  # (B, n_frames, n_fft)
    if win_full is not None:
        frames = frames * win_full
    if frames.dtype.kind == "V" or frames.dtype.itemsize < 4:  # float16 / bfloat16 frames
        raise RuntimeError(  # as PyTorch on the CPU (a float32/64 window promotes them)
            f"stft: FFTs do not support tensors of type {frames.dtype} (give a float32 or "
            "float64 signal or window)"
        )
    complex_fft = frames.dtype.kind == "c"
    side = (not complex_fft) if onesided is None else bool(onesided)
    mode = 1 if normalized else 0
    if complex_fft:
        if side:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        out = transform(frames, Plan("c2c", (2,), mode, True))
    else:
        out = transform(frames, Plan("r2c", (2,), mode, True, onesided=side, last=n_fft))
    out = out.transpose(1, 2)
    if squeeze:
        out = out.squeeze(0)
    return out if want_complex else view_as_real(out.contiguous())


@tensor_method
def istft(
    input: Tensor,  # noqa: A002
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Tensor | None = None,
    center: bool = True,
    normalized: bool = False,
    onesided: bool | None = None,
    length: int | None = None,
    return_complex: bool = False,
) -> Tensor:
    """Inverse short-time Fourier transform: inverse FFT of each frame, times the window,
    overlap-added and divided by the overlap-added squared window (which must stay above
    1e-11 everywhere: the NOLA condition). ``length`` trims or zero-pads the result."""
    x = as_tensor(input)
    n_fft = _check_int(n_fft, "n_fft", "istft")
    if window is None:
        warn_once("istft_no_window", _NO_WINDOW_ISTFT)  # once per process, as PyTorch
    hop = n_fft >> 2 if hop_length is None else _check_int(hop_length, "hop_length", "istft")
    win = n_fft if win_length is None else _check_int(win_length, "win_length", "istft")
    if x.dtype.kind != "c":
        raise RuntimeError(
            "istft requires a complex-valued input tensor matching the output from stft with "
            "return_complex=True."
        )
    if x.numel() == 0:
        raise RuntimeError(f"istft: input tensor cannot be empty (got shape {list(x.shape)}).")
    if x.ndim not in (2, 3):
        raise RuntimeError(
            f"istft: expected a complex tensor with 2 or 3 dimensions, but got {x.ndim}"
        )
    fft_size, n_frames = x.shape[-2], x.shape[-1]
    side = fft_size != n_fft if onesided is None else bool(onesided)
    if side and n_fft // 2 + 1 != fft_size:
        raise RuntimeError(
            "istft: expected the frequency dimension (3rd to the last) of the input tensor to "
            f"match n_fft / 2 + 1 when onesided=True, but got {fft_size}"
        )
    if not side and n_fft != fft_size:
        raise RuntimeError(
            "istft: expected the frequency dimension (3rd to the last) of the input tensor to "
            f"match n_fft when onesided=False, but got {fft_size}"
        )
    if not 0 < hop <= win:
        raise RuntimeError(f"istft: expected 0 < hop_length <= win_length, got {hop} and {win}")
    if not 0 < win <= n_fft:
        raise RuntimeError(f"istft: expected 0 < win_length <= n_fft, got {win} and {n_fft}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise RuntimeError(
            "istft: Invalid window shape. window has to be 1D and length of `win_length` "
            f"({win}), got {list(window.shape)}"
        )
    real_dtype = x._data.real.dtype
    base = window if window is not None else _const(x, (win,), real_dtype, 1.0)
    win_full = _centered_window(base, win, n_fft, x)
    squeeze = x.ndim == 2
    if squeeze:
        x = x.unsqueeze(0)
    x = x.transpose(1, 2)  # (B, n_frames, fft_size)
    mode = 1 if normalized else 2
    if return_complex:
        if side:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = transform(x, Plan("c2c", (2,), mode, False))
    else:
        if window is not None and window.dtype.kind == "c":
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not side:
            x = x[..., : n_fft // 2 + 1]
        frames = transform(x, Plan("c2r", (2,), mode, False, last=n_fft))
    expected = n_fft + hop * (n_frames - 1)
    y = _overlap_add(frames * win_full, hop, expected)
    square = (win_full * win_full).expand(1, n_frames, n_fft)
    envelope = _overlap_add(square, hop, expected)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + _check_int(length, "length", "istft")
    else:
        end = -(n_fft // 2) if center else expected
    y, envelope = y[:, start:end], envelope[:, start:end]
    env = envelope._data
    lowest = float(abs(env).min()) if env.size else math.inf
    if lowest < 1e-11:
        raise RuntimeError(
            f"istft: window overlap add min: {lowest} is less than 1e-11 (the window and "
            "hop_length fail the nonzero overlap-add (NOLA) condition)"
        )
    y = y / envelope
    if squeeze:
        y = y.squeeze(0)
    if end > expected:
        warn_once(  # once per process, as PyTorch
            "istft_short_signal",
            "The length of signal is shorter than the length parameter. Result is being padded "
            "with zeros in the tail. Please check your center and hop_length settings.",
        )
        y = cat([y, _const(y, y.shape[:-1] + (end - expected,), y.dtype)], -1)
    return y
