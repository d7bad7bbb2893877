"""Building blocks of the ``nn.functional`` step kinds (:mod:`tests.fuzz.nn_steps`): operands
made from a program's slots whatever their shapes (:func:`_filled`: a slot's elements,
flattened and repeated to the size wanted, so gradients flow back to it), class targets,
reductions, and the longer steps (convolution, pooling, interpolation, activations with
kinks, Python-number or 0-d operands of every dtype).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .more_steps import near_zero

__all__ = [
    "_OFF", "_activation", "_classes", "_conv", "_filled", "_floating", "_interpolate",
    "_off_zero", "_pool", "_reduction", "_scalar", "_spread",
]  # fmt: skip


# Added to the outputs of the centring norms: their lines sum to 0, and a sum of one (a
# 0-d operand made by the other steps) is rounding noise whose sign flips comparisons.
_OFF = 0.125


def _filled(lib: Any, y: Any, shape: tuple) -> Any:
    """A tensor of ``shape`` holding ``y``'s elements (flattened, repeated), in ``y``'s
    dtype and differentiable in ``y``."""
    need = math.prod(shape)
    flat = y.reshape(-1)
    n = flat.shape[0]
    if n == 0:
        return y.sum() + lib.zeros(shape, dtype=y.dtype)
    if n < need:
        flat = flat.repeat(-(-need // n))
    return flat[:need].reshape(shape)


def _floating(lib: Any, y: Any, like: Any) -> Any:
    """``y`` in ``like``'s dtype where both are floating (torch refuses most mixed-float
    nn ops; the mixed case is fuzzed by the plain steps), else as it is."""
    if y.is_floating_point() and like.is_floating_point():
        return y.to(like.dtype)
    return y


def _spread(lib: Any, y: Any) -> Any:
    """A floating ``y`` plus 0.375 k² at its k-th element, so that no line it normalises is
    constant and no element equals its line's mean: there the normalised value is rounding
    noise of the mean (each library rounds its own way: chainrule's mean of equal values is
    exact, torch's fused scale-and-shift is off by an ulp, 1e-3 after dividing by
    sqrt(eps) in float32), and its sign, flipped, changes a later comparison (x > 0)."""
    if not y.is_floating_point():
        return y
    ramp = lib.arange(y.numel(), dtype=y.dtype).square().reshape(tuple(y.shape)) * 0.375
    return y + ramp


def _reduction(ints: tuple) -> str:
    return ("mean", "sum", "none")[ints[3] % 3]


def _classes(lib: Any, n: int, c: int, ints: tuple, ignore: int | None = None) -> Any:
    rng = np.random.default_rng(ints[4] + 31 * ints[3])
    t = rng.integers(0, c, n)
    if ignore is not None and n > 1:
        t[rng.integers(0, n)] = ignore
    return lib.tensor(t.astype(np.int64))


def _off_zero(x: Any) -> Any:
    """A floating ``x`` with its zeros (:func:`near_zero`) moved by 0.125 (differentiable)."""
    if x.is_floating_point() and bool(near_zero(x).any()):
        return x + 0.125 * near_zero(x)
    return x


def _conv(lib: Any, F: Any, x: Any, other: Any, third: Any, ints: tuple, val: float) -> Any:
    groups = 1 + ints[2] % 2
    cin, cout = groups * (1 + ints[3] % 2), groups * (1 + ints[4] % 2)
    k = 1 + ints[1] % 3
    two = ints[0] % 3 == 0
    spatial = (3, 2 + ints[4] % 3) if two else (2 + ints[3] % 4,)
    inp = _filled(lib, x, (1 + ints[1] % 2, cin, *spatial))
    w = _floating(lib, _filled(lib, other, (cout, cin // groups, *(k,) * len(spatial))), x)
    if w.dtype != inp.dtype and not (w.is_floating_point() and inp.is_floating_point()):
        # a float input with an integer weight: torch computes (it should refuse, as it
        # does for float32 with float64), chainrule refuses; not mirrored
        w = w.to(inp.dtype)
    b = _floating(lib, _filled(lib, third, (cout,)), x) if ints[4] % 2 else None
    if b is not None and not inp.is_floating_point():
        b = b.to(inp.dtype)  # an integer conv with a float bias: both refuse, differently
    if b is not None and b.is_complex() and not inp.is_complex():
        # a complex bias of a real conv: torch 2.13 with padding 'same'/'valid' casts it to
        # the input's dtype, dropping the imaginary part (a UserWarning); chainrule refuses
        # it (seed 933): its real part
        b = b.real
    if b is not None and inp.dtype == lib.float32 and (inp.shape[0] > 1 or groups > 1):
        # a bias of another dtype: torch adds it in the input's dtype with padding='same' or
        # 'valid' and in conv_transpose1d (mirrored, test_found_cases_nn.py), except in its
        # float32 oneDNN kernels, which take batches > 1 and groups > 1 and refuse it there
        # (a backend accident, not mirrored)
        b = b.to(inp.dtype)
    dil = 1 + ints[2] % 2
    padding: Any = ("same", "valid", 1, 0)[ints[3] % 4]
    stride = 1 if padding == "same" else 1 + ints[0] % 2
    if ints[2] % 4 == 3 and not two:  # a transposed convolution
        wt = _floating(lib, _filled(lib, other, (cin, cout // groups, k)), x)
        op = ints[4] % 2 if stride > 1 else 0
        return F.conv_transpose1d(
            inp, wt, b, stride=stride, padding=ints[3] % 2, output_padding=op, groups=groups
        )
    f = F.conv2d if two else F.conv1d
    return f(inp, w, b, stride=stride, padding=padding, dilation=dil, groups=groups)


def _pool(lib: Any, F: Any, x: Any, ints: tuple) -> Any:
    k = 1 + ints[2] % 3
    stride = 1 + ints[3] % 2
    pad = ints[4] % 2 if k > 1 else 0
    inp = _filled(lib, x, (1, 1 + ints[1] % 2, 2 + ints[3] % 4))
    which = ints[4] % 6
    if which == 0 and not inp.is_floating_point():
        inp = inp.double()  # torch has no integer or bool max_pool1d kernel, chainrule has
    if which == 0:
        return F.max_pool1d(inp, k, stride, pad, ceil_mode=bool(ints[1] % 2))
    if which == 1:
        return F.avg_pool1d(
            inp, k, stride, pad, ceil_mode=bool(ints[1] % 2), count_include_pad=bool(ints[0] % 2)
        )
    if which == 2:
        return F.adaptive_avg_pool1d(inp, 1 + ints[2] % 3)
    if which == 3:
        return F.adaptive_max_pool1d(inp, 1 + ints[2] % 3)
    inp2 = _filled(lib, x, (1, 1, 3, 2 + ints[1] % 3))
    if which == 4 and inp2.dtype == lib.bool:
        inp2 = inp2.long()  # torch has no bool max_pool2d kernel, chainrule has
    if which == 4:
        return F.max_pool2d(inp2, k if k < 3 else 2, 1, dilation=1 + ints[0] % 2)
    return F.avg_pool2d(inp2, 2, stride, divisor_override=None if ints[0] % 2 else 3)


def _interpolate(lib: Any, F: Any, x: Any, ints: tuple) -> Any:
    mode = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area")[ints[4] % 6]
    dims = 2 if mode in ("bilinear", "bicubic") or (ints[1] % 2 and mode != "linear") else 1
    inp = _filled(lib, x, (1, 1 + ints[3] % 2, *(2 + ints[2] % 2,) * dims))
    align = bool(ints[0] % 2) if mode in ("linear", "bilinear", "bicubic") else None
    if ints[3] % 3 == 0:
        return F.interpolate(inp, size=(3,) * dims, mode=mode, align_corners=align)
    scale = (0.5, 1.5, 2.0, 2.5)[ints[2] % 4]
    rsf = (None, True, False)[ints[1] % 3]
    return F.interpolate(
        inp, scale_factor=scale, mode=mode, align_corners=align, recompute_scale_factor=rsf
    )


def _activation(lib: Any, F: Any, x: Any, other: Any, ints: tuple, val: float) -> Any:
    # at kinks: x rounded to halves hits 0, +-1 and +-0.5 (relu6, hardtanh, thresholds)
    y = (x * 2).round() / 2 if x.is_floating_point() and ints[3] % 2 else x
    which = ints[4] % 12
    a = abs(val)
    if which == 0:
        return F.gelu(y, approximate="tanh" if ints[2] % 2 else "none")
    if which == 1:
        return F.softplus(y, beta=a, threshold=(20.0, 1.0)[ints[2] % 2])
    if which == 2:
        return F.elu(y, alpha=a)
    if which == 3:
        return F.leaky_relu(y, negative_slope=val)
    if which == 4:
        # NaN made 0 first: torch 2.13's hardtanh gradient at a NaN input is 0 in its 8-wide
        # vectorized chunks and 1 in the scalar tail (seed 984); chainrule's is 0 always
        y = y.nan_to_num(0.0) if y.is_floating_point() else y
        return F.hardtanh(y, -a, a) if a > 0 else F.relu6(y)
    if which == 5:
        return F.glu(_filled(lib, y, (2 * max(y.numel(), 1),)), dim=0)
    if which == 6:
        return F.threshold(y, val, -a)
    if which == 7:
        return F.softshrink(y, a) if ints[2] % 2 else F.hardshrink(y, a)
    if which == 8:
        return F.silu(y) if ints[2] % 2 else F.mish(y)
    if which == 9:
        return F.hardswish(y) if ints[2] % 2 else F.hardsigmoid(y)
    if which == 10:
        return F.celu(y, alpha=a) if ints[2] % 2 else F.selu(y)
    w = _floating(lib, _filled(lib, other, (1,)), y)
    return F.prelu(y, w) if y.dim() else F.logsigmoid(y)


def _scalar(lib: Any, ints: tuple, val: float) -> Any:
    """A Python number or a 0-d tensor of some dtype."""
    which = ints[2] % 8
    if which == 0:
        return int(val * 2)
    if which == 1:
        return bool(ints[3] % 2)
    if which == 2:
        return val
    dt = ("int64", "bool", "float32", "float64", "int32")[which - 3]
    v = val * 2 if dt.startswith("int") else (val > 0) if dt == "bool" else val
    return lib.tensor(v, dtype=getattr(lib, dt))
