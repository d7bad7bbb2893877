"""An inf or NaN input changes only the outputs that read it, as in PyTorch.

Three places where chainrule used to differ: linear/cubic ``F.interpolate`` (dense weight
matrices put ``0 * inf = NaN`` into every output of the row), max pooling's argmax at a window
holding NaN (PyTorch takes the last NaN) or only -inf next to padding (PyTorch takes the first
in-bounds element), and the sign of ``relu(-0.0)``. Values, indices and gradients are compared
with PyTorch in float64 (and float32 where a compiled fast path runs).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._kernels import jit

INF, NAN = float("inf"), float("nan")
RNG = np.random.default_rng(11)


def _close(got: np.ndarray, want: np.ndarray, what: str, rtol: float = 1e-12) -> None:
    assert got.shape == want.shape, what
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True, err_msg=what)


def _input(shape: tuple, fill: float | None, dtype=np.float64) -> np.ndarray:
    x = RNG.standard_normal(shape)
    if fill is not None:
        x.reshape(-1)[x.size // 2 + 1] = fill
    return x.astype(dtype)


def _compare(
    cr_fn, th_fn, x: np.ndarray, what: str, upstream_inf: bool = False, rtol: float = 1e-12
) -> None:
    """Outputs (and integer indices exactly) and the gradient of ``sum(y * w)`` vs torch."""
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    touts, couts = th_fn(tx), cr_fn(cx)
    if not isinstance(touts, tuple):
        touts, couts = (touts,), (couts,)
    for t, c in zip(touts, couts):
        if t.dtype.is_floating_point:
            _close(c.detach().numpy(), t.detach().numpy(), what, rtol)
        else:
            np.testing.assert_array_equal(c.numpy(), t.numpy(), err_msg=f"{what} indices")
    w = RNG.standard_normal(tuple(touts[0].shape)).astype(x.dtype)
    if upstream_inf:
        w.reshape(-1)[w.size // 3] = INF
    (tg,) = torch.autograd.grad(touts[0], tx, torch.tensor(w))
    (cg,) = cr.autograd.grad(couts[0], cx, cr.tensor(w))
    _close(cg.numpy(), tg.numpy(), f"{what} gradient", rtol)


# ------------------------------------------------------------------------------ interpolate
INTERP = [  # (mode, spatial input shape, size/scale keyword sets)
    ("linear", (7,), [{"scale_factor": 2}, {"size": 5}, {"size": 7}, {"scale_factor": 1.7}]),
    ("bilinear", (5, 6), [{"scale_factor": 2}, {"size": (3, 8)}, {"size": (5, 6)}]),
    ("bicubic", (5, 6), [{"scale_factor": 2}, {"size": (4, 9)}, {"scale_factor": 0.6}]),
    ("trilinear", (3, 4, 5), [{"scale_factor": 2}, {"size": (4, 3, 6)}]),
]


@pytest.mark.parametrize("mode,spatial,sizes", INTERP, ids=[m for m, *_ in INTERP])
@pytest.mark.parametrize("fill", [None, INF, NAN, -INF], ids=["finite", "inf", "nan", "-inf"])
def test_interpolate_is_local_like_torch(mode, spatial, sizes, fill):
    x = _input((2, 2) + spatial, fill)
    for ac in (False, True):
        for kw in sizes:
            what = f"{mode} align_corners={ac} {kw}"
            _compare(
                lambda a, kw=kw, ac=ac: F.interpolate(a, mode=mode, align_corners=ac, **kw),
                lambda a, kw=kw, ac=ac: TF.interpolate(a, mode=mode, align_corners=ac, **kw),
                x,
                what,
            )


@pytest.mark.parametrize("mode,spatial", [("linear", (7,)), ("bilinear", (5, 6))])
def test_interpolate_gradient_of_an_inf_upstream_stays_local(mode, spatial):
    x = _input((1, 2) + spatial, None)
    for kw in ({"scale_factor": 2}, {"scale_factor": 0.6}):
        _compare(
            lambda a, kw=kw: F.interpolate(a, mode=mode, **kw),
            lambda a, kw=kw: TF.interpolate(a, mode=mode, **kw),
            x,
            f"{mode} {kw}",
            upstream_inf=True,
        )


def test_interpolate_nan_reaches_only_its_taps():
    """Without torch: one NaN among 32 x 32 upsampled x2 spoils at most a 4 x 4 patch."""
    x = np.zeros((1, 1, 32, 32), np.float32)
    x[0, 0, 10, 20] = np.nan
    y = F.interpolate(cr.tensor(x), scale_factor=2, mode="bilinear").numpy()
    assert 0 < np.isnan(y).sum() <= 16
    y = F.interpolate(cr.tensor(x), scale_factor=2, mode="bicubic").numpy()
    assert 0 < np.isnan(y).sum() <= 64


def test_upsample_module_is_local_like_torch():
    x = _input((1, 2, 4, 5), INF)
    _compare(
        cr.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
        torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
        x,
        "nn.Upsample",
    )


def test_interpolate_double_backward_and_forward_mode():
    x = cr.tensor(RNG.standard_normal((1, 2, 4, 5)), requires_grad=True)
    assert cr.autograd.gradcheck(lambda a: F.interpolate(a, scale_factor=2, mode="bicubic"), (x,))
    assert cr.autograd.gradgradcheck(
        lambda a: F.interpolate(a, size=(7, 3), mode="bilinear") ** 2, (x,)
    )


# ---------------------------------------------------------------------------- max pooling
def _nan_windows(shape: tuple, dtype=np.float64) -> np.ndarray:
    """Random values with NaN at every 7th element (windows holding one and two NaNs)."""
    x = RNG.standard_normal(shape)
    x.reshape(-1)[::7] = NAN
    return x.astype(dtype)


def _ninf(shape: tuple) -> np.ndarray:
    """-inf everywhere but a few elements: windows of only -inf, some touching padding."""
    x = np.full(shape, -INF)
    x.reshape(-1)[::11] = 1.0
    return x


POOLS = [  # (name, spatial rank, keyword arguments)
    ("max_pool1d", 1, dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool1d", 1, dict(kernel_size=2, dilation=2, padding=1)),
    ("max_pool2d", 2, dict(kernel_size=2)),
    ("max_pool2d", 2, dict(kernel_size=2, stride=1)),
    ("max_pool2d", 2, dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool2d", 2, dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("max_pool3d", 3, dict(kernel_size=2)),
    ("max_pool3d", 3, dict(kernel_size=3, stride=2, padding=1)),
]


@pytest.mark.parametrize("name,nd,kw", POOLS)
@pytest.mark.parametrize("values", ["nan", "ninf"])
def test_max_pool_nan_and_all_ninf_windows_like_torch(name, nd, kw, values):
    shape = (2, 3) + (6,) * nd
    x = _nan_windows(shape) if values == "nan" else _ninf(shape)
    for ri in (False, True):
        _compare(
            lambda a, ri=ri: getattr(F, name)(a, return_indices=ri, **kw),
            lambda a, ri=ri: getattr(TF, name)(a, return_indices=ri, **kw),
            x,
            f"{name} {kw} return_indices={ri}",
        )


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_max_pool_nan_like_torch(nd):
    x = _nan_windows((2, 2) + (6,) * nd)
    name = f"adaptive_max_pool{nd}d"
    for size in (3, 4):  # divisible (a max_pool) and not (PyTorch's bins)
        if nd == 2 and size == 4:
            continue  # chainrule's adaptive_max_pool2d returns indices for divisible sizes only
        _compare(
            lambda a, size=size: getattr(F, name)(a, size, return_indices=True),
            lambda a, size=size: getattr(TF, name)(a, size, return_indices=True),
            x,
            f"{name} {size}",
        )


def test_max_pool_modules_nan_like_torch():
    x = _nan_windows((1, 2, 6, 6))
    _compare(
        cr.nn.MaxPool2d(2, return_indices=True),
        torch.nn.MaxPool2d(2, return_indices=True),
        x,
        "MaxPool2d",
    )
    x = _nan_windows((1, 2, 4, 6, 6))
    _compare(cr.nn.MaxPool3d(3, 2, 1), torch.nn.MaxPool3d(3, 2, 1), x, "MaxPool3d")


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_compiled_2x2_pool_takes_the_last_nan(backend):
    """float32 (64, 6, 8, 8) is large enough for the compiled 2x2 kernel when Numba is there."""
    if backend == "numba" and jit.backend() != "numba":
        pytest.skip("numba is not installed")
    previous = jit.backend()
    jit.set_backend(backend)
    try:
        x = _nan_windows((64, 6, 8, 8), np.float32)
        x[0, 0, :2, :2] = NAN  # a window of four NaNs: the last one takes the gradient
        _compare(
            lambda a: F.max_pool2d(a, 2, return_indices=True),
            lambda a: TF.max_pool2d(a, 2, return_indices=True),
            x,
            "max_pool2d 2x2 float32",
            rtol=1e-6,
        )
    finally:
        jit.set_backend(previous)


# ------------------------------------------------------------------------------------ relu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, 1 << 15])  # the NumPy path and the compiled kernel's size
def test_relu_keeps_the_sign_of_negative_zero_like_torch(dtype, n):
    x = np.zeros(n, dtype)
    x[:5] = [-0.0, 0.0, NAN, -1.0, 2.0]
    fns = {
        "relu": lambda m, a: m.relu(a),
        "F.relu": lambda m, a: m.nn.functional.relu(a),
        "relu_": lambda m, a: a.clone().relu_(),
        "F.relu inplace": lambda m, a: m.nn.functional.relu(a.clone(), inplace=True),
        "clamp_min": lambda m, a: a.clamp_min(0),
    }
    for name, fn in fns.items():
        want = fn(torch, torch.tensor(x)).numpy()
        got = fn(cr, cr.tensor(x)).numpy()
        np.testing.assert_array_equal(got, want, err_msg=name)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want), err_msg=f"{name} sign")
