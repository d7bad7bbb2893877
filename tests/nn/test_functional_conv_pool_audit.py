"""Audit of the functional convolution, pooling and resampling ops against PyTorch.

Each case runs the same call on ``torch.nn.functional`` and ``chainrule.nn.functional`` and
compares what comes back: the values, dtype and shape of every output, the gradient of a
random weighted sum with respect to every floating input, or the error type when PyTorch
refuses the call. The first block holds the cases the audit fixed (a silent wrong answer or a
wrong error type before); the rest is a sample of the cases that already agreed, kept so a
regression shows. The last block pins chainrule's answer where PyTorch's is inconsistent with
itself (its backward is not the adjoint of its forward; its antialiased resize of a width-1
output): there chainrule is checked against the mathematics instead.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(20260)


def _randn(*shape: int, dtype: Any = np.float64) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def _leaf(mod: Any, a: Any, grad: bool, layout: str | None = None) -> Any:
    """``a`` as a tensor of ``mod`` (torch or chainrule), laid out as asked."""
    if not isinstance(a, np.ndarray):
        return a
    if layout == "T":  # last two dims transposed in memory: a non-contiguous view
        t = mod.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).transpose(-1, -2)
    elif layout == "CL":
        fmt = mod.channels_last if a.ndim == 4 else mod.channels_last_3d
        t = mod.tensor(a).contiguous(memory_format=fmt)
    else:
        t = mod.tensor(a)
    if grad and t.is_floating_point():
        t = t.detach().requires_grad_(True)
    return t


def _run(mod: Any, fn: Callable, arrays: list, n_grad: int, layout: str | None) -> tuple:
    ts = [_leaf(mod, a, i < n_grad, layout if i == 0 else None) for i, a in enumerate(arrays)]
    out = fn(mod, *ts)
    outs = out if isinstance(out, tuple) else (out,)
    grads: list = []
    first = outs[0]
    if n_grad and first.is_floating_point() and first.requires_grad:
        w = np.random.default_rng(7).standard_normal(tuple(first.shape))
        (first * mod.tensor(w, dtype=first.dtype)).sum().backward()
        grads = [t.grad for t in ts[:n_grad] if getattr(t, "requires_grad", False)]
    return outs, grads


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy()


def compare(
    fn: Callable,
    arrays: list,
    *,
    n_grad: int = 99,
    layout: str | None = None,
    tol: float | None = None,
) -> None:
    """Run ``fn(mod, *tensors)`` with mod = torch and chainrule and compare everything."""
    try:
        with warnings.catch_warnings():  # PyTorch's notes (padding='same' with an even kernel)
            warnings.simplefilter("ignore")
            t_out, t_grads = _run(torch, fn, arrays, n_grad, layout)
    except Exception as err:  # noqa: BLE001 - whatever PyTorch raises, chainrule must too
        with pytest.raises(type(err)):
            _run(cr, fn, arrays, n_grad, layout)
        return
    c_out, c_grads = _run(cr, fn, arrays, n_grad, layout)
    assert len(c_out) == len(t_out)
    for a, b in zip(c_out, t_out):
        a_, b_ = _np(a), _np(b)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        assert a_.shape == b_.shape
        if b_.dtype.kind == "f":
            r = tol if tol is not None else (1e-4 if b_.dtype == np.float32 else 1e-9)
            np.testing.assert_allclose(a_, b_, rtol=r, atol=r)
        else:
            np.testing.assert_array_equal(a_, b_)
    assert len(c_grads) == len(t_grads)
    for a, b in zip(c_grads, t_grads):
        assert (a is None) == (b is None)
        if b is not None:
            r = tol if tol is not None else (2e-4 if b.dtype == torch.float32 else 1e-8)
            np.testing.assert_allclose(_np(a), _np(b), rtol=r, atol=r)


# ----------------------------------------------------------------------------- fixed cases
FIXED_ERRORS = {
    # a tuple of the wrong length was cut to its first entry (a silent wrong answer)
    "max_pool1d kernel (2, 3)": lambda m, x: m.nn.functional.max_pool1d(x, (2, 3)),
    "max_pool1d stride (2, 2)": lambda m, x: m.nn.functional.max_pool1d(x, 2, (2, 2)),
    "max_pool1d padding (1, 0)": lambda m, x: m.nn.functional.max_pool1d(x, 2, 2, (1, 0)),
    "max_pool1d dilation (1, 1)": lambda m, x: m.nn.functional.max_pool1d(x, 2, 2, 0, (1, 1)),
    "max_pool1d kernel ()": lambda m, x: m.nn.functional.max_pool1d(x, ()),
    "avg_pool1d kernel (2, 2)": lambda m, x: m.nn.functional.avg_pool1d(x, (2, 2)),
    "avg_pool1d stride (2, 2)": lambda m, x: m.nn.functional.avg_pool1d(x, 2, (2, 2)),
    "avg_pool1d padding (1, 1)": lambda m, x: m.nn.functional.avg_pool1d(x, 2, 2, (1, 1)),
    # ValueError where PyTorch raises RuntimeError
    "max_pool1d kernel 0": lambda m, x: m.nn.functional.max_pool1d(x, 0),
    "max_pool1d stride 0": lambda m, x: m.nn.functional.max_pool1d(x, 2, 0),
    "max_pool1d padding > k/2": lambda m, x: m.nn.functional.max_pool1d(x, 3, 1, 2),
    "max_pool1d padding < 0": lambda m, x: m.nn.functional.max_pool1d(x, 2, 1, -1),
    "max_pool1d dilation 0": lambda m, x: m.nn.functional.max_pool1d(x, 2, 1, 0, 0),
    "avg_pool1d stride 0": lambda m, x: m.nn.functional.avg_pool1d(x, 2, 0),
    "avg_pool1d padding > k/2": lambda m, x: m.nn.functional.avg_pool1d(x, 3, 1, 2),
    "max_pool2d kernel 0": lambda m, x: m.nn.functional.max_pool2d(x[None], 0),
    "max_pool2d dilation 0": lambda m, x: m.nn.functional.max_pool2d(x[None], 2, 1, 0, 0),
    "max_pool2d padding > k/2 with dilation": lambda m, x: m.nn.functional.max_pool2d(
        x[None], 2, 1, 2, 2
    ),
    "max_pool2d kernel (2, 2, 2)": lambda m, x: m.nn.functional.max_pool2d(x[None], (2, 2, 2)),
    "avg_pool2d kernel (2, 2, 2)": lambda m, x: m.nn.functional.avg_pool2d(x[None], (2, 2, 2)),
    "avg_pool2d stride 0": lambda m, x: m.nn.functional.avg_pool2d(x[None], 2, 0),
    "max_pool3d kernel (2, 2, 2, 2)": lambda m, x: m.nn.functional.max_pool3d(
        x[None, None], (2, 2, 2, 2)
    ),
    "avg_pool3d kernel (2, 2, 2, 2)": lambda m, x: m.nn.functional.avg_pool3d(
        x[None, None], (2, 2, 2, 2)
    ),
    # divisor_override=0 was taken for None; a float one was truncated
    "avg_pool2d divisor_override 0": lambda m, x: m.nn.functional.avg_pool2d(
        x[None], 2, divisor_override=0
    ),
    "avg_pool2d divisor_override 2.5": lambda m, x: m.nn.functional.avg_pool2d(
        x[None], 2, divisor_override=2.5
    ),
    "avg_pool3d divisor_override 2.5": lambda m, x: m.nn.functional.avg_pool3d(
        x[None, None], 2, divisor_override=2.5
    ),
    # a float size was truncated; a non-finite scale crashed inside math.floor
    "interpolate size (4.5, 3)": lambda m, x: m.nn.functional.interpolate(x[None], size=(4.5, 3)),
    "interpolate size 4.0": lambda m, x: m.nn.functional.interpolate(x[None], size=4.0),
    "interpolate scale nan": lambda m, x: m.nn.functional.interpolate(
        x[None], scale_factor=math.nan
    ),
    "interpolate scale inf": lambda m, x: m.nn.functional.interpolate(
        x[None], scale_factor=math.inf
    ),
    "interpolate scale 1e30": lambda m, x: m.nn.functional.interpolate(x[None], scale_factor=1e30),
}


@pytest.mark.parametrize("name", list(FIXED_ERRORS))
def test_fixed_errors_match_torch(name: str) -> None:
    fn = FIXED_ERRORS[name]
    x = _randn(3, 6, 8)
    with pytest.raises(Exception) as t_err:  # noqa: PT011 - any type: chainrule must match it
        fn(torch, torch.tensor(x))
    with pytest.raises(type(t_err.value)):
        fn(cr, cr.tensor(x))


CONV_ERRORS = {
    "conv1d padding 'foo'": lambda m, x, w: m.nn.functional.conv1d(x, w, padding="foo"),
    "conv2d padding 'foo'": lambda m, x, w: m.nn.functional.conv2d(x, w, padding="foo"),
    "conv3d padding 'foo'": lambda m, x, w: m.nn.functional.conv3d(x, w, padding="foo"),
    "conv1d same stride 2": lambda m, x, w: m.nn.functional.conv1d(x, w, padding="same", stride=2),
    "conv2d same stride 2": lambda m, x, w: m.nn.functional.conv2d(x, w, padding="same", stride=2),
    "conv1d padding (1, 1)": lambda m, x, w: m.nn.functional.conv1d(x, w, padding=(1, 1)),
    "conv2d padding (1, 1, 1)": lambda m, x, w: m.nn.functional.conv2d(x, w, padding=(1, 1, 1)),
    "conv3d padding (1, 2)": lambda m, x, w: m.nn.functional.conv3d(x, w, padding=(1, 2)),
    "conv2d stride (1, 1, 1)": lambda m, x, w: m.nn.functional.conv2d(x, w, stride=(1, 1, 1)),
    "conv3d stride (1, 1, 1, 1)": lambda m, x, w: m.nn.functional.conv3d(x, w, stride=(1,) * 4),
}


@pytest.mark.parametrize("name", list(CONV_ERRORS))
def test_conv_argument_errors_are_runtime_errors(name: str) -> None:
    d = int(name[4]) if name[4].isdigit() else 2
    x, w = _randn(2, 3, *(6,) * d), _randn(4, 3, *(3,) * d)
    with pytest.raises(RuntimeError):
        CONV_ERRORS[name](torch, torch.tensor(x), torch.tensor(w))
    with pytest.raises(RuntimeError):
        CONV_ERRORS[name](cr, cr.tensor(x), cr.tensor(w))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.nn.functional.max_pool1d(x, 2, ()),  # empty stride: the kernel size
        lambda m, x: m.nn.functional.max_pool1d(x, 2, []),
        lambda m, x: m.nn.functional.avg_pool1d(x, 3, ()),
        lambda m, x: m.nn.functional.max_pool1d(x, [3], [2], [1], [1], return_indices=True),
        lambda m, x: m.nn.functional.avg_pool1d(x, (3,), (2,), (1,), ceil_mode=True),
        lambda m, x: m.nn.functional.max_pool2d(x[None], m.tensor(2)),  # 0-d tensor kernel
        lambda m, x: m.nn.functional.max_pool1d(x, m.tensor(3), m.tensor(2)),
        lambda m, x: m.nn.functional.avg_pool2d(x[None], 3, 2, 1, divisor_override=2),
        lambda m, x: m.nn.functional.avg_pool3d(x[None, None], 2, 1, 1, divisor_override=3),
        lambda m, x: m.nn.functional.interpolate(x[None], size=(4, 3)),
        lambda m, x: m.nn.functional.interpolate(x[None], size=np.int64(5), mode="bilinear"),
    ],
)
def test_fixed_argument_forms_compute_as_torch(call: Callable) -> None:
    compare(call, [_randn(3, 6, 8)])


# ----------------------------------------------------------------------------- convolutions
CONV_CASES = [
    # (stride, padding, dilation, groups, kernel, bias, c_in, c_out, size)
    (1, 0, 1, 1, 3, True, 2, 3, 7),
    (2, 1, 1, 1, 3, True, 2, 3, 8),
    (1, "same", 1, 1, 4, True, 2, 3, 7),
    (1, "same", 2, 1, 4, False, 2, 3, 9),
    (1, "valid", 1, 1, 3, True, 2, 3, 5),
    (1, "same", 1, 2, 3, True, 4, 6, 5),
    (3, 2, 2, 2, 3, True, 4, 4, 11),
    (1, 0, 1, 3, 3, True, 4, 6, 5),  # channels not divisible by groups: error
    (1, 0, 1, 1, 3, True, 1, 1, 1),  # kernel larger than the input: error
    (1, 5, 1, 1, 3, True, 1, 1, 2),
]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv_matches_torch(d: int, case: tuple) -> None:
    stride, padding, dilation, groups, k, bias, cin, cout, size = case
    x = _randn(2, cin, *(size,) * d)
    w = _randn(cout, max(cin // groups, 1), *(k,) * d)
    arrays = [x, w] + ([_randn(cout)] if bias else [])

    def fn(m: Any, x: Any, w: Any, b: Any = None) -> Any:
        conv = getattr(m.nn.functional, f"conv{d}d")
        return conv(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    layout = (None, "T", "CL")[(CONV_CASES.index(case) + d) % (3 if d > 1 else 2)]
    compare(fn, arrays, layout=layout)


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize(
    "case",
    [
        # (stride, padding, output_padding, dilation, groups, kernel, c_in, c_out, size)
        (1, 0, 0, 1, 1, 3, 2, 3, 5),
        (2, 1, 1, 1, 1, 3, 2, 3, 4),
        (2, 0, 1, 2, 1, 3, 2, 3, 4),
        (3, 2, 2, 1, 2, 3, 4, 6, 3),
        (1, 0, 1, 1, 1, 3, 2, 3, 4),  # output_padding >= stride and dilation: error
        (1, 3, 0, 1, 1, 3, 1, 1, 3),  # negative output size: error
    ],
    ids=str,
)
def test_conv_transpose_matches_torch(d: int, case: tuple) -> None:
    stride, padding, out_pad, dilation, groups, k, cin, cout, size = case
    x, w, b = _randn(2, cin, *(size,) * d), _randn(cin, cout // groups, *(k,) * d), _randn(cout)

    def fn(m: Any, x: Any, w: Any, b: Any) -> Any:
        conv = getattr(m.nn.functional, f"conv_transpose{d}d")
        return conv(x, w, b, stride, padding, out_pad, groups, dilation)

    compare(fn, [x[0], w, b] if d == 2 else [x, w, b])  # (C, H, W): unbatched


def test_conv_non_contiguous_weight_and_bias() -> None:
    x, w, b = _randn(2, 3, 6, 5, dtype=np.float32), _randn(3, 4, 2, 3), _randn(8)
    compare(
        lambda m, x, w, b: m.nn.functional.conv2d(x, w.permute(1, 0, 2, 3).float(), b[::2].float()),
        [x, w, b],
        tol=1e-4,  # float32 values, float64 leaves
    )


# ----------------------------------------------------------------------------- pooling
POOL_CASES = [
    # (kernel, stride, padding, dilation, ceil_mode)
    (2, None, 0, 1, False),
    (3, 2, 1, 1, True),
    (3, 2, 1, 2, False),
    (2, 3, 1, 1, True),
    (4, 2, 2, 1, True),
    (3, 1, 2, 1, False),  # padding more than half the kernel: error
    (5, 1, 0, 1, False),  # kernel larger than the input of size 4: error
]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_max_and_avg_pool_match_torch(d: int, case: tuple) -> None:
    k, s, p, dil, ceil = case
    x = _randn(2, 3, *(7, 4, 5)[:d])
    compare(
        lambda m, x: getattr(m.nn.functional, f"max_pool{d}d")(x, k, s, p, dil, ceil, True), [x]
    )
    compare(lambda m, x: getattr(m.nn.functional, f"max_pool{d}d")(x, k, s, p, dil, ceil), [x[0]])
    for cip in (True, False):
        compare(
            lambda m, x, cip=cip: getattr(m.nn.functional, f"avg_pool{d}d")(x, k, s, p, ceil, cip),
            [x],
            layout="CL" if d > 1 else "T",
        )


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("out", [3, 1, 10, (None,), (2, None, 3)], ids=str)
def test_adaptive_pools_match_torch(d: int, out: Any) -> None:
    if isinstance(out, tuple):
        out = out[:d] if len(out) >= d else out * d
    x = _randn(2, 3, *(7, 5, 6)[:d])
    if d == 1 and out == (None,):  # PyTorch's 1-d adaptive pooling refuses None: so does ours
        for lib in (torch, cr):
            with pytest.raises(TypeError):
                lib.nn.functional.adaptive_max_pool1d(lib.tensor(x[0]), out, True)
        return
    compare(lambda m, x: getattr(m.nn.functional, f"adaptive_avg_pool{d}d")(x, out), [x])
    compare(lambda m, x: getattr(m.nn.functional, f"adaptive_max_pool{d}d")(x, out, True), [x[0]])


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("p", [1, 2, 3, 1.5, math.inf])
def test_lp_pool_matches_torch(d: int, p: float) -> None:
    x = np.abs(_randn(2, 3, *(7, 5, 6)[:d])) + 0.1
    compare(lambda m, x: getattr(m.nn.functional, f"lp_pool{d}d")(x, p, 2), [x])
    compare(lambda m, x: getattr(m.nn.functional, f"lp_pool{d}d")(x, p, 3, 2, True), [x])


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize(
    "args",
    [(2, 3, None), (3, None, (0.5, 0.5, 0.5)), ((2, 3, 2), (3, 2, 2), None), (6, 3, None)],
    ids=str,
)
def test_fractional_max_pool_matches_torch(d: int, args: tuple) -> None:
    k, size, ratio = args
    k = k[:d] if isinstance(k, tuple) else k
    size = size[:d] if isinstance(size, tuple) else size
    ratio = ratio[:d] if ratio is not None else None
    x, samples = _randn(2, 3, *(9, 8, 7)[:d]), RNG.random((2, 3, d))

    def fn(m: Any, x: Any, s: Any) -> Any:
        pool = getattr(m.nn.functional, f"fractional_max_pool{d}d")
        return pool(x, k, size, ratio, return_indices=True, _random_samples=s)

    compare(fn, [x, samples], n_grad=1, layout="CL")


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("case", [(2, None, 0, 6, None), (3, 2, 1, 7, None), (2, 2, 0, 7, 7)])
def test_max_unpool_matches_torch(d: int, case: tuple) -> None:
    k, s, p, size, out = case

    def fn(m: Any, x: Any) -> Any:
        y, i = getattr(m.nn.functional, f"max_pool{d}d")(x, k, s, p, return_indices=True)
        out_size = None if out is None else (out,) * d
        return getattr(m.nn.functional, f"max_unpool{d}d")(y, i, k, s, p, out_size)

    compare(fn, [_randn(2, 3, *(size,) * d)])
    idx = np.full((1, 2, *(3,) * d), 1000, np.int64)  # out of range: error
    compare(lambda m, y, i: getattr(m.nn.functional, f"max_unpool{d}d")(y, i, 2), [idx * 0.5, idx])


# ----------------------------------------------------------------------------- resampling
_MODES = {
    1: ["nearest", "nearest-exact", "linear", "area"],
    2: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
    3: ["nearest", "nearest-exact", "trilinear", "area"],
}
_SIZES = [
    {"size": 7},
    {"scale_factor": 2},
    {"scale_factor": 0.5},
    {"scale_factor": 1.7, "recompute_scale_factor": True},
    {"scale_factor": 0.3, "recompute_scale_factor": False},
    {"size": 1},
    {"size": 0},  # error
]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("kw", _SIZES, ids=str)
def test_interpolate_matches_torch(d: int, kw: dict) -> None:
    x = _randn(2, 3, *(5, 4, 3)[:d])
    for mode in _MODES[d]:
        corners = [None] if "nearest" in mode or mode == "area" else [False, True]
        for ac in corners:
            compare(
                lambda m, x, mode=mode, ac=ac: m.nn.functional.interpolate(
                    x, mode=mode, align_corners=ac, **kw
                ),
                [x],
            )


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size", [(3, 2), (9, 7), (2, 9)])
def test_interpolate_antialias_matches_torch(mode: str, size: tuple) -> None:
    x = _randn(2, 3, 5, 4, dtype=np.float32)
    for ac in (False, True):
        compare(
            lambda m, x, ac=ac: m.nn.functional.interpolate(
                x, size, mode=mode, align_corners=ac, antialias=True
            ),
            [x],
            layout="CL",
        )


@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "area"])
def test_interpolate_integer_input_matches_torch(dtype: Any, mode: str) -> None:
    x = RNG.integers(0, 200, (1, 2, 5, 5)).astype(dtype)
    compare(lambda m, x: m.nn.functional.interpolate(x, scale_factor=1.6, mode=mode), [x])


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_2d_matches_torch(mode: str, padding_mode: str, align_corners: bool) -> None:
    x, grid = _randn(2, 3, 5, 4), RNG.random((2, 3, 4, 2)) * 2.6 - 1.3
    compare(
        lambda m, x, g: m.nn.functional.grid_sample(x, g, mode, padding_mode, align_corners),
        [x, grid],
        layout="T",
    )


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_3d_and_affine_grid_match_torch(mode: str, padding_mode: str) -> None:
    x, grid = _randn(2, 3, 4, 3, 5), RNG.random((2, 2, 3, 2, 3)) * 2.6 - 1.3
    compare(lambda m, x, g: m.nn.functional.grid_sample(x, g, mode, padding_mode, False), [x, grid])
    for d, ac in itertools.product((2, 3), (False, True)):
        size = [2, 3, 5, 4, 6][: d + 2]
        compare(
            lambda m, t, size=size, ac=ac: m.nn.functional.affine_grid(t, size, ac),
            [_randn(2, d, d + 1)],
        )


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.nn.functional.pixel_shuffle(x, 2),
        lambda m, x: m.nn.functional.pixel_unshuffle(x, 2),
        lambda m, x: m.nn.functional.pixel_shuffle(x, 3),  # 8 channels: error
        lambda m, x: m.nn.functional.unfold(x, (2, 3), 2, 1, (2, 1)),
        lambda m, x: m.nn.functional.fold(
            m.nn.functional.unfold(x, 2, 1, 1, 2), (4, 6), 2, 1, 1, 2
        ),
        lambda m, x: m.nn.functional.unfold(x, 5),  # kernel larger than the padded input: error
    ],
)
def test_pixel_shuffle_and_fold_match_torch(call: Callable) -> None:
    compare(call, [_randn(2, 8, 4, 6)], layout="T")


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    "pads", [(1, 2), (-1, 2), (3, 3), (4, 0), (1, 2, 0, 1), (1, 0, -1, 2, 0, 1)], ids=str
)
def test_pad_matches_torch(mode: str, pads: tuple) -> None:
    x = _randn(2, 3, 4, 3, 3)
    for shape in ((3, 4), (2, 3, 4), (2, 3, 4, 3), (2, 3, 4, 3, 3)):
        if len(pads) // 2 > len(shape):
            continue
        compare(
            lambda m, x: m.nn.functional.pad(x, pads, mode, 1.5 if mode == "constant" else None),
            [x[tuple(slice(0, n) for n in shape) + (0,) * (5 - len(shape))]],
        )


# ----------------------------------------------------------------------------- PyTorch's bugs
def _adjoint_grad(forward: Callable, x: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """``J^T gy`` for the linear map ``forward``, its matrix built column by column."""
    cols = [forward(np.eye(x.size)[i].reshape(x.shape)).ravel() for i in range(x.size)]
    return (np.stack(cols, 1).T @ gy.ravel()).reshape(x.shape)


@pytest.mark.parametrize(
    "shape,scale", [((1, 2, 7), (2.088,)), ((2, 2, 2), (1.13,)), ((1, 1, 5, 4, 3), (1, 1, 2.3))]
)
def test_nearest_gradient_is_the_adjoint_of_the_forward(shape: tuple, scale: tuple) -> None:
    """PyTorch's 1-d and 3-d nearest backward maps with the size ratio where its forward
    used the given scale (a gradient that is not the forward's adjoint); chainrule's
    forward equals PyTorch's and its gradient is the forward's adjoint."""
    x = _randn(*shape)
    xt = torch.tensor(x)
    y_t = torch.nn.functional.interpolate(xt, scale_factor=scale, mode="nearest").numpy()
    xc = cr.tensor(x, requires_grad=True)
    y = cr.nn.functional.interpolate(xc, scale_factor=scale, mode="nearest")
    np.testing.assert_array_equal(y.detach().numpy(), y_t)
    gy = _randn(*y_t.shape)
    y.backward(cr.tensor(gy))

    def torch_forward(a: np.ndarray) -> np.ndarray:
        t = torch.tensor(a)
        return torch.nn.functional.interpolate(t, scale_factor=scale, mode="nearest").numpy()

    np.testing.assert_allclose(xc.grad.numpy(), _adjoint_grad(torch_forward, x, gy), atol=1e-12)


def test_antialiased_resize_to_width_one_is_separable() -> None:
    """PyTorch's antialiased bilinear resize to an output of width 1 returns a constant
    column (even for a (3, 1) input upsampled to (6, 1), where antialiasing changes nothing);
    chainrule's is the plain bilinear upsampling there, and the composition of its two
    one-axis resizes in general."""
    col = _randn(1, 1, 3, 1)
    aa = cr.nn.functional.interpolate(cr.tensor(col), (6, 1), mode="bilinear", antialias=True)
    plain = torch.nn.functional.interpolate(torch.tensor(col), (6, 1), mode="bilinear")
    np.testing.assert_allclose(aa.numpy(), plain.numpy(), atol=1e-12)
    x = _randn(1, 1, 3, 3)
    both = cr.nn.functional.interpolate(cr.tensor(x), (6, 1), mode="bilinear", antialias=True)
    rows = torch.nn.functional.interpolate(torch.tensor(x), (6, 3), mode="bilinear", antialias=True)
    sep = torch.nn.functional.interpolate(rows, (6, 1), mode="bilinear", antialias=True)
    np.testing.assert_allclose(both.numpy(), sep.numpy(), atol=1e-12)
