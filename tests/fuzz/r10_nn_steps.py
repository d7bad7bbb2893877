"""``nn.functional`` step kinds of round 10 (:mod:`tests.fuzz.r10_steps` dispatches them):
pooling variants (``return_indices`` and ``max_unpool``, dilation, ``ceil_mode``,
``count_include_pad``, ``divisor_override``, power-average pools, 2-d/3-d adaptive pools),
convolutions in 3-d and transposed in 2-d (dilation, output padding, groups), 2-d/3-d
padding modes, interpolation with ``antialias`` and ``trilinear``, ``pixel_shuffle``,
``embedding_bag`` (modes, offsets, per-sample weights, ``include_last_offset``,
``padding_idx``) and the losses :mod:`tests.fuzz.nn_steps` leaves out (margin, embedding,
triplet, multi-label, Gaussian NLL, weighted and smoothed 2-d cross entropy).

Operands are made from the program's slots (:func:`~tests.fuzz.nn_step_parts._filled`), so
gradients flow back to them; integer and bool slots are used as they are where both
libraries take or refuse them alike (the exceptions are cast, with the reason).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .nn_step_parts import _classes, _filled, _floating, _reduction, _spread

__all__ = ["R10_NN", "r10_nn_step"]

R10_NN = ("pool_idx", "pool_more", "conv_more", "pad_nd", "interp_more", "embedding_bag",
          "loss_more", "loss_class")  # fmt: skip


def _float(y: Any) -> Any:
    """``y`` as a float64 tensor where it is an integer or bool one (the kernels torch has
    no integer version of, where chainrule has one: not mirrored), else as it is."""
    return y if y.is_floating_point() else y.double()


def _pool_idx(lib: Any, F: Any, x: Any, ints: tuple) -> Any:
    """max pools with ``return_indices`` (indices compared exactly; ties steered off by
    :func:`_spread`), and ``max_unpool`` of their result."""
    two = ints[0] % 2
    k = 2 if two else 1 + ints[2] % 3
    stride = 1 + ints[3] % 2
    pad = ints[4] % 2 if k > 1 else 0
    dil = 1 + ints[1] % 2
    ceil = bool(ints[2] % 2)
    if two:
        inp = _spread(lib, _float(_filled(lib, x, (1, 1, 3, 2 + ints[1] % 3))))
        v, i = F.max_pool2d(inp, k, stride, pad, dilation=1, ceil_mode=ceil, return_indices=True)
        if ints[4] % 3 == 2:
            return i
        if ints[3] % 2:
            return F.max_unpool2d(v, i, k, stride, pad, output_size=tuple(inp.shape[-2:]))
        return v
    inp = _spread(lib, _float(_filled(lib, x, (1, 1 + ints[1] % 2, 3 + ints[3] % 3))))
    if (k - 1) * dil + 1 > inp.shape[-1] + 2 * pad:
        dil = 1
    v, i = F.max_pool1d(inp, k, stride, pad, dilation=dil, ceil_mode=ceil, return_indices=True)
    if ints[4] % 3 == 2:
        return i
    if ints[4] % 3 == 1 and dil == 1:
        return F.max_unpool1d(v, i, k, stride, pad, output_size=tuple(inp.shape[-1:]))
    return v


def _pool_more(lib: Any, F: Any, x: Any, ints: tuple) -> Any:
    which = ints[4] % 7
    if which == 0:
        inp = _filled(lib, x, (1, 2, 3, 2 + ints[1] % 3))
        k = (2, 1 + ints[2] % 2)
        return F.avg_pool2d(
            inp, k, 1 + ints[3] % 2, padding=(1, ints[0] % 2) if k[1] > 1 else (1, 0),
            ceil_mode=bool(ints[1] % 2), count_include_pad=bool(ints[0] % 2),
            divisor_override=None if ints[2] % 3 else 2,
        )  # fmt: skip
    if which == 1:
        inp = _filled(lib, x, (1, 1, 2, 3, 2 + ints[1] % 2))
        return F.avg_pool3d(
            inp, 2, 1, padding=ints[3] % 2, ceil_mode=bool(ints[2] % 2),
            count_include_pad=bool(ints[0] % 2),
        )  # fmt: skip
    if which == 2:
        inp = _float(_filled(lib, x, (1, 1, 2, 3, 3)))
        return F.max_pool3d(inp, 2, 1 + ints[3] % 2, ceil_mode=bool(ints[2] % 2))
    if which == 3:
        inp = _float(_filled(lib, x, (1, 2, 2 + ints[3] % 4)))
        if inp.is_floating_point():
            inp = inp.abs() + 0.5  # a power mean of positive values (0 has no derivative)
        p = (1.0, 2.0, 3.0)[ints[2] % 3]
        return F.lp_pool1d(inp, p, 1 + ints[1] % 2, 1 + ints[0] % 2, ceil_mode=False)
    if which == 4:
        inp = _float(_filled(lib, x, (1, 1, 3, 4)))
        if inp.is_floating_point():
            inp = inp.abs() + 0.5
        return F.lp_pool2d(inp, 2.0, (2, 1 + ints[1] % 2), 1 + ints[0] % 2)
    if which == 5:
        inp = _spread(lib, _float(_filled(lib, x, (1, 2, 3, 4))))
        out = (1 + ints[2] % 3, (None, 2, 3)[ints[3] % 3])
        if ints[0] % 2:
            v, i = F.adaptive_max_pool2d(inp, out, return_indices=True)
            return i if ints[1] % 2 else v
        return F.adaptive_avg_pool2d(inp, out)
    inp = _filled(lib, x, (1, 1, 2, 3, 3))
    return F.adaptive_avg_pool3d(_float(inp), (1 + ints[2] % 2, 2, 1 + ints[3] % 3))


def _conv_more(lib: Any, F: Any, x: Any, other: Any, third: Any, ints: tuple) -> Any:
    groups = 1 + ints[2] % 2
    cin, cout = groups, groups * (1 + ints[4] % 2)
    b = _floating(lib, _filled(lib, third, (cout,)), x) if ints[4] % 2 else None
    if ints[0] % 2:
        inp = _filled(lib, x, (1, cin, 2, 3, 3))
        w = _floating(lib, _filled(lib, other, (cout, 1, 2, 1 + ints[1] % 2, 2)), x)
        if w.dtype != inp.dtype or (b is not None and b.dtype != inp.dtype):
            w, b = w.to(inp.dtype), None if b is None else b.to(inp.dtype)  # as nn_step_parts
        padding: Any = ("same", "valid", 1, (0, 1, 0))[ints[3] % 4]
        stride = 1 if padding == "same" else 1 + ints[1] % 2
        return F.conv3d(inp, w, b, stride=stride, padding=padding, groups=groups,
                        dilation=1 + ints[3] % 2 if padding != "valid" else 1)  # fmt: skip
    inp = _filled(lib, x, (1 + ints[1] % 2, cin, 2, 3))
    w = _floating(lib, _filled(lib, other, (cin, cout // groups, 2, 1 + ints[3] % 2)), x)
    if w.dtype != inp.dtype or (b is not None and b.dtype != inp.dtype):
        w, b = w.to(inp.dtype), None if b is None else b.to(inp.dtype)
    stride = (1 + ints[1] % 2, 1 + ints[3] % 2)
    dil = 1 + ints[0] // 2 % 2
    outpad = tuple(min(ints[4] % 2, s - 1, dil - 1 + s - 1) for s in stride)
    outpad = tuple(o if o < max(s, dil) else 0 for o, s in zip(outpad, stride))
    return F.conv_transpose2d(inp, w, b, stride=stride, padding=(ints[2] % 2, 0),
                              output_padding=outpad, groups=groups, dilation=dil)  # fmt: skip


def _pad_nd(lib: Any, F: Any, x: Any, ints: tuple, val: float) -> Any:
    mode = ("reflect", "replicate", "circular", "constant")[ints[4] % 4]
    three = ints[0] % 2
    shape = (1, 1, 2, 3, 3) if three else (1, 2, 3, 3)
    inp = _filled(lib, x, shape)
    if inp.dtype == lib.bool and mode in ("reflect", "replicate"):
        inp = inp.long()  # torch has no bool reflect/replicate kernel, chainrule has
    pads = [ints[1] % 3, ints[2] % 2, ints[3] % 2, (ints[3] + ints[1]) % 3]
    if three:
        pads += [ints[2] % 2, 1]
    if mode == "reflect":
        pads = [min(p, 1) for p in pads]  # below each padded dim's size
    if mode == "constant":
        pads[0] = -1 if ints[2] % 3 == 0 else pads[0]  # a negative pad crops
        return F.pad(inp, pads, value=val)
    return F.pad(inp, pads, mode=mode)


def _interp_more(lib: Any, F: Any, x: Any, ints: tuple) -> Any:
    which = ints[4] % 5
    if which in (0, 1):  # antialiased down- and upsampling
        mode = ("bilinear", "bicubic")[which]
        inp = _float(_filled(lib, x, (1, 1, 4, 3 + ints[3] % 2)))
        size = ((2, 2), (3, 5), (1, 2), (4, 3))[ints[2] % 4]
        return F.interpolate(inp, size=size, mode=mode, antialias=True,
                             align_corners=bool(ints[0] % 2))  # fmt: skip
    if which == 2:
        inp = _float(_filled(lib, x, (1, 1, 2, 2, 1 + ints[3] % 2)))
        scale = (1.5, 2.0, 0.5)[ints[2] % 3]
        return F.interpolate(inp, scale_factor=scale, mode="trilinear",
                             align_corners=bool(ints[0] % 2))  # fmt: skip
    if which == 3:
        inp = _filled(lib, x, (1, 1, 2, 3, 2))
        mode = ("nearest", "nearest-exact", "area")[ints[2] % 3]
        return F.interpolate(_float(inp) if mode == "area" else inp, size=(3, 2, 3), mode=mode)
    r = 2
    if ints[3] % 2:
        return F.pixel_unshuffle(_filled(lib, x, (1, 1 + ints[2] % 2, 2, 4)), r)
    return F.pixel_shuffle(_filled(lib, x, (1, 4 * (1 + ints[2] % 2), 2, 1 + ints[1] % 2)), r)


def _embedding_bag(lib: Any, F: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    vocab, dim = 3 + ints[2] % 2, 1 + ints[3] % 3
    weight = _filled(lib, x.real if x.is_complex() else x, (vocab, dim))
    if not weight.is_floating_point():
        weight = weight.double()  # torch's embedding_bag wants floating weights, both refuse
    mode = ("sum", "mean", "max")[ints[4] % 3]
    rng = np.random.default_rng(ints[4] + 7 * ints[1])
    pad = (None, 0, -1)[ints[0] % 3]
    if mode == "max":
        # distinct rows in a bag... a row's elements tie with another's rarely: spread
        weight = _spread(lib, weight)
    if ints[1] % 2:  # 2-d input: fixed-size bags
        idx = lib.tensor(rng.integers(0, vocab, (2, 2 + ints[2] % 2)))
        psw = None
        if mode == "sum" and ints[3] % 2:
            psw = _floating(lib, _filled(lib, other, tuple(idx.shape)), weight)
            psw = psw if psw.is_floating_point() else psw.to(weight.dtype)
        return F.embedding_bag(idx, weight, mode=mode, per_sample_weights=psw, padding_idx=pad)
    count = 4 + ints[2] % 3
    idx = lib.tensor(rng.integers(0, vocab, (count,)))
    last = bool(ints[3] % 2)
    offs = [0, 1 + ints[0] % 2, 3] + ([count] if last else [])
    psw = None
    if mode == "sum" and ints[0] % 2:
        psw = _floating(lib, _filled(lib, other, (count,)), weight)
        psw = psw if psw.is_floating_point() else psw.to(weight.dtype)
    return F.embedding_bag(idx, weight, lib.tensor(offs), mode=mode, per_sample_weights=psw,
                           include_last_offset=last, padding_idx=pad)  # fmt: skip


def _loss_more(lib: Any, F: Any, x: Any, other: Any, third: Any, ints: tuple, val: float):
    red = _reduction(ints)
    which = ints[4] % 7
    n = 2 + ints[2] % 2
    a = _filled(lib, x, (n, 3))
    b = _floating(lib, _filled(lib, other, (n, 3)), a)
    b = b if b.dtype == a.dtype or not a.is_floating_point() else b.to(a.dtype)
    sign = lib.tensor(np.where(np.arange(n) % 2, 1.0, -1.0)).to(a.dtype) if a.is_floating_point() \
        else lib.tensor(np.where(np.arange(n) % 2, 1, -1))  # fmt: skip
    if which == 0:
        return F.margin_ranking_loss(a[:, 0], b[:, 0], sign, margin=abs(val), reduction=red)
    if which == 1:
        return F.hinge_embedding_loss(a, sign.unsqueeze(-1).expand(n, 3), margin=abs(val),
                                      reduction=red)  # fmt: skip
    if which == 2:
        if a.is_floating_point():
            a = a + lib.tensor([1.0, 0.0, 0.5], dtype=a.dtype)  # off the zero vector
            b = b + lib.tensor([0.0, 1.0, 0.25], dtype=b.dtype)
        return F.cosine_embedding_loss(a, b, sign, margin=val / 4, reduction=red)
    if which == 3:
        c = _floating(lib, _filled(lib, third, (n, 3)), a)
        c = c if c.dtype == a.dtype or not a.is_floating_point() else c.to(a.dtype)
        if a.is_floating_point():
            # apart: a distance at 0 has no derivative (eps keeps it finite: 1e-6 apart)
            b = b + 3.0
            c = c - 3.0
        p = (2.0, 1.0, 3.0)[ints[3] % 3]
        return F.triplet_margin_loss(a, b, c, margin=abs(val), p=p, swap=bool(ints[0] % 2),
                                     reduction=red)  # fmt: skip
    if which == 4:
        var = _floating(lib, _filled(lib, third, (n, 3 if ints[3] % 2 else 1)), a)
        var = var.abs() + 0.25 if var.is_floating_point() else var
        return F.gaussian_nll_loss(a, b, var, full=bool(ints[0] % 2), eps=1e-6, reduction=red)
    if which == 5:
        tgt = (b > 0).to(a.dtype) if a.is_floating_point() else (b > 0).long()
        w = _floating(lib, _filled(lib, third, (3,)), a).abs().detach() if ints[0] % 2 else None
        return F.multilabel_soft_margin_loss(a, tgt, weight=w, reduction=red)
    if not a.is_floating_point():
        return a * 1
    # multilabel_margin: per row, target classes then -1 (the rest ignored)
    tgt = lib.tensor(np.array([[ints[0] % 3, -1, 1], [2, 0, -1], [1, -1, -1]][:n]))
    return F.multilabel_margin_loss(a, tgt, reduction=red)


def _loss_class(lib: Any, F: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    """multi_margin and 2-d (per-pixel) cross entropy / nll, with class weights,
    ``ignore_index`` and ``label_smoothing``."""
    c = 2 + ints[2] % 2
    red = _reduction(ints)
    weight = None
    if ints[1] % 2:
        # detached: torch refuses a class weight that requires grad (as nn_steps' losses)
        weight = _floating(lib, _filled(lib, other, (c,)).abs() + 0.5, x).detach()
    if ints[4] % 3 == 0:
        logits = _filled(lib, x, (3, c))
        tgt = _classes(lib, 3, c, ints)
        if weight is not None and not logits.is_floating_point():
            weight = None
        return F.multi_margin_loss(logits, tgt, p=1 + ints[0] % 2, margin=abs(val),
                                   weight=weight, reduction=red)  # fmt: skip
    logits = _filled(lib, x, (2, c, 2, 2)) * 1  # a copy, as nn_steps' cross_entropy
    ignore = (c - 1) if ints[0] % 2 else -100
    tgt = _classes(lib, 8, c, ints, ignore).reshape(2, 2, 2)
    if ints[4] % 3 == 1:
        return F.nll_loss(logits.log_softmax(1) if logits.is_floating_point() else logits, tgt,
                          weight, ignore_index=ignore, reduction=red)  # fmt: skip
    smooth = (0.0, 0.2)[ints[3] % 2]
    return F.cross_entropy(logits, tgt, weight, ignore_index=ignore, reduction=red,
                           label_smoothing=smooth)  # fmt: skip


def r10_nn_step(lib: Any, kind: str, x: Any, other: Any, third: Any, ints: tuple, val: float):
    """One out-of-place ``nn.functional`` step of kind ``kind`` on ``x``."""
    F = lib.nn.functional
    if kind == "pool_idx":
        return _pool_idx(lib, F, x, ints)
    if kind == "pool_more":
        return _pool_more(lib, F, x, ints)
    if kind == "conv_more":
        return _conv_more(lib, F, x, other, third, ints)
    if kind == "pad_nd":
        return _pad_nd(lib, F, x, ints, val)
    if kind == "interp_more":
        return _interp_more(lib, F, x, ints)
    if kind == "embedding_bag":
        return _embedding_bag(lib, F, x, other, ints, val)
    if kind == "loss_more":
        return _loss_more(lib, F, x, other, third, ints, val)
    if kind == "loss_class":
        return _loss_class(lib, F, x, other, ints, val)
    raise AssertionError(kind)
