"""``nn.functional`` and signal step kinds of round 11 (:mod:`tests.fuzz.r11_steps` dispatches
them): ``affine_grid`` and ``grid_sample`` (modes, padding modes, ``align_corners``),
``scaled_dot_product_attention`` (masks, ``is_causal``, ``scale``), ``stft``/``istft`` round
trips, ``local_response_norm``, ``one_hot``, ``channel_shuffle``, ``ctc_loss``,
``as_strided_scatter`` and pointwise ops on nested tensors.

Operands are made from the program's slots (:func:`~tests.fuzz.nn_step_parts._filled`), so
gradients flow back to them; integer and bool slots are used as they are where both
libraries take or refuse them alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .extra_steps import no_nan
from .nn_step_parts import _filled, _floating, _reduction

__all__ = ["R11_NN", "r11_nn_step"]

R11_NN = ("grid_sample", "attention", "stft_trip", "nn_misc", "nested_pw")


def _float(y: Any) -> Any:
    return y if y.is_floating_point() else y.double()


def _grid_sample(lib: Any, F: Any, x: Any, other: Any, ints: tuple) -> Any:
    align = bool(ints[0] % 2)
    inp = _float(_filled(lib, other, (1, 2, 3, 2 + ints[1] % 3)))
    if ints[4] % 4 == 3:  # a 3-d (volumetric) sample
        inp = _float(_filled(lib, other, (1, 1, 2, 3, 2)))
        theta = _floating(lib, _float(_filled(lib, x, (1, 3, 4))), inp).tanh()
        grid = F.affine_grid(theta, [1, 1, 2, 2, 3], align_corners=align)
        mode = ("bilinear", "nearest")[ints[2] % 2]
    else:
        theta = _floating(lib, _float(_filled(lib, x, (1, 2, 3))), inp).tanh()
        grid = F.affine_grid(theta, [1, 2, 2 + ints[3] % 2, 3], align_corners=align)
        mode = ("bilinear", "nearest", "bicubic")[ints[2] % 3]
        grid = grid * 1.25  # some points outside: the padding mode decides them
    pad = ("zeros", "border", "reflection")[ints[3] % 3]
    # NaN-free: a NaN coordinate is clipped to some pixel by torch's border/reflection modes
    # (which one is its kernels' order of min/max), to 0 by chainrule's: not compared
    grid = no_nan(lib, grid)
    if ints[1] % 4 == 3:
        return grid  # affine_grid alone
    return F.grid_sample(inp, grid.to(inp.dtype), mode=mode, padding_mode=pad, align_corners=align)


def _attention(lib: Any, F: Any, x: Any, other: Any, third: Any, ints: tuple, val: float):
    L, S, E = 1 + ints[1] % 3, 1 + ints[2] % 3, 2 + ints[3] % 2
    q = _float(_filled(lib, x, (1, 2, L, E)))
    k = _floating(lib, _float(_filled(lib, other, (1, 2, S, E))), q)
    v = _floating(lib, _float(_filled(lib, third, (1, 2, S, 3))), q)
    kw: dict = {}
    f = ints[4] % 5
    if f == 1:
        kw["is_causal"] = True
    elif f == 2:
        m = np.random.default_rng(ints[0]).random((L, S)) > 0.3
        m[:, 0] = True  # every query attends somewhere (an all-masked row is NaN)
        kw["attn_mask"] = lib.tensor(m)
    elif f == 3:
        kw["attn_mask"] = _floating(lib, _float(_filled(lib, third, (L, S))), q) * 0.5
    elif f == 4:
        kw["scale"] = abs(val)
    return F.scaled_dot_product_attention(q, k, v, **kw)


def _stft_trip(lib: Any, x: Any, ints: tuple, val: float) -> Any:
    n_fft = 4
    hop = 1 + ints[1] % 2
    sig = _filled(lib, x, (8 + ints[2] % 4,))
    win = None if ints[3] % 3 == 0 else lib.hann_window(n_fft, dtype=_float(sig).dtype)
    center = bool(ints[0] % 2) or ints[4] % 4 == 3
    pad = ("reflect", "constant")[ints[3] % 2]
    norm = bool(ints[2] % 2)
    z = lib.stft(sig, n_fft, hop_length=hop, window=win, center=center, pad_mode=pad,
                 normalized=norm, onesided=True, return_complex=True)  # fmt: skip
    f = ints[4] % 4
    if f == 0:
        return lib.view_as_real(z)
    if f == 1:
        return z.abs()
    if f == 2:
        # not at (rounded) zeros: their angle is noise, and its second derivative there is
        # NaN in torch, 0 in chainrule (a singular point, as norms at 0)
        keep = z.abs() > 1e-6
        return lib.where(keep, z, 1.0).angle()
    return lib.istft(z, n_fft, hop_length=hop, window=win, center=True, normalized=norm,
                     length=sig.shape[0] if ints[1] % 2 else None)  # fmt: skip


def _nn_misc(lib: Any, F: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    f = ints[4] % 7
    if f == 0:
        inp = _filled(lib, x, (1, 2 + ints[1] % 3, 2 + ints[2] % 2))
        size = 1 + ints[3] % 3
        return F.local_response_norm(_float(inp), size, alpha=abs(val), beta=0.75, k=1.0)
    if f == 1:
        y = x.detach()
        idx = ((y.abs() * 2).floor() if y.is_floating_point() else y.abs()).long() % 4
        return F.one_hot(idx, num_classes=(-1, 4, 6)[ints[1] % 3])
    if f == 2:
        c = (4, 6)[ints[1] % 2]
        inp = _filled(lib, x, (1, c, 1 + ints[2] % 2))
        g = (2, c // 2)[ints[3] % 2]
        return F.channel_shuffle(inp, g) if ints[0] % 2 else lib.native_channel_shuffle(inp, g)
    if f == 3:
        T, C = 5, 3
        lp = _float(_filled(lib, x, (T, 2, C))).log_softmax(-1)
        tgt = lib.tensor([[1, 2], [2, 2]] if ints[1] % 2 else [[1, 1], [2, 1]])
        il = lib.tensor([T, T - ints[2] % 3])
        tl = lib.tensor([2, 1 + ints[3] % 2])
        return F.ctc_loss(
            lp, tgt, il, tl, reduction=_reduction(ints), zero_infinity=bool(ints[0] % 2)
        )
    if f == 4:
        # the base detached: torch 2.13 sends the base the gradient of the scattered
        # positions instead of the others (a torch bug, test_found_cases_r11.py, xfail)
        base = _filled(lib, x, (3, 3)).detach()
        src = _filled(lib, other, (2, 2))
        src = src.to(base.dtype) if base.dtype != src.dtype else src
        return lib.as_strided_scatter(base, src, (2, 2), (3, 1 + ints[1] % 2), ints[2] % 3)
    if f == 5:
        inp = _filled(lib, x, (1, 4, 2, 2))
        return F.pixel_shuffle(F.pixel_unshuffle(inp, 2), 2) * val
    inp = _float(_filled(lib, x, (2, 3)))
    return F.softmin(inp, dim=ints[1] % 2) * F.logsigmoid(inp)


def _nested_pw(lib: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """Pointwise ops on a nested tensor of two pieces of ``x`` (lengths 1..3 and 2), then
    back to a padded dense tensor."""
    flat = _float(_filled(lib, x, (5,)))
    n = 1 + ints[1] % 3
    pieces = [flat[:n], flat[n : n + 2]] if ints[3] % 2 else [flat[:n].reshape(n, 1), flat[:2]]
    if ints[3] % 2 == 0:
        pieces[1] = pieces[1].reshape(2, 1)
    layout = (lib.strided, lib.jagged)[ints[0] % 2]
    nt = lib.nested.as_nested_tensor(pieces, layout=layout)
    f = ints[4] % 5
    if f == 0:
        y = nt.sin() * val
    elif f == 1:
        y = nt * nt + nt
    elif f == 2:
        y = nt.relu() - nt.abs()
    elif f == 3:
        y = nt.exp().neg()
    else:
        y = nt * 2.0
    return lib.nested.to_padded_tensor(y, (0.0, -1.5)[ints[2] % 2])


def r11_nn_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place step of kind ``kind`` on ``x`` (``other``/``third``: other slots)."""
    F = lib.nn.functional
    if kind == "grid_sample":
        return _grid_sample(lib, F, x, other, ints)
    if kind == "attention":
        return _attention(lib, F, x, other, third, ints, val)
    if kind == "stft_trip":
        return _stft_trip(lib, x, ints, val)
    if kind == "nn_misc":
        return _nn_misc(lib, F, x, other, ints, val)
    if kind == "nested_pw":
        return _nested_pw(lib, x, other, ints, val)
    raise AssertionError(kind)
