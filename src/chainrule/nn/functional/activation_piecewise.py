"""The piecewise-linear activations of ``nn.functional``: the ReLU family and its kin.

``relu``, ``relu6``, ``hardtanh``, ``leaky_relu``, ``prelu``, ``rrelu``, ``threshold``,
``hardsigmoid``, ``hardshrink``, ``softshrink`` and ``maxout``: each is linear on pieces of
its input (its derivative a per-element constant: 0, 1 or a slope), with PyTorch's value
and gradient at the kinks. Split out of ``activation.py`` (session 40), which re-exports
every name; the smooth activations are in ``activation_smooth.py``.

With ``inplace=True`` (and in the ``relu_``-style functions) the result is written into
the input through the in-place machinery (``ops/inplace.py``: version counter, leaf check,
views), as PyTorch's in-place activations do, and the input itself is returned.

``rrelu`` in training mode draws its slopes from chainrule's generator (``cr.manual_seed``
makes them reproducible, as for dropout) and multiplies by them as a constant, so the
gradient is exactly the slope each element used.
"""

from __future__ import annotations

import numpy as np

from ...autograd.lower_precision import autocast_lower_precision
from ...autograd.state import LOCAL as _vmap
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...meta.array import MetaArray, meta_empty
from ...ops._tensor_args import first_not_tensor
from ...ops._util import ShapeError
from ...ops.activation_primitives import (
    Hardshrink,
    LeakyRelu,
    Prelu,
    Softshrink,
    Threshold,
    ThresholdInplace,
)
from ...ops.binary import where
from ...ops.clamping import Hardtanh, clamp
from ...ops.extremes import amax
from ...ops.hardsigmoid import Hardsigmoid
from ...ops.inplace import composite_result as _result
from ...ops.inplace import single_node_result as _node
from ...ops.number_arguments import parser_numbers
from ...ops.single_node_activations import LeakyReluResult, RreluWithNoise, RreluWithNoiseResult
from ...ops.sparse_tensor import SPARSE_TYPES
from ...ops.unary import relu as _relu
from ...qtypes import scalar_type_name
from ...random import gen
from ...scalar_range import fit_scalar
from ...typeinfo import finfo
from ._activation_args import check_floating as _check
from ._arg_types import as_number, finite_bounds
from .linear import linear

__all__ = [
    "hardshrink",
    "hardsigmoid",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "maxout",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "softshrink",
    "threshold",
    "threshold_",
]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    if isinstance(input, Tensor) and (input.is_quantized or type(input) in SPARSE_TYPES):
        return input.relu_() if inplace else input.relu()  # quantized: clamps at the zero point
    return input.relu_() if inplace else _relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0, 6, inplace)  # int bounds: PyTorch's _saved_min_val / max_val


_PLAIN = frozenset({int, float})  # hardtanh's bounds that need no parsing


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """clamp(x, min_val, max_val); the gradient is 0 at the bounds themselves (PyTorch)."""
    if not (isinstance(input, Tensor) and input.dtype.kind in "iu"):
        _check(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")  # PyTorch's text
    if type(min_val) not in _PLAIN or type(max_val) not in _PLAIN:  # 0-d tensors: as numbers
        min_val, max_val = parser_numbers("hardtanh", [("min_val", min_val), ("max_val", max_val)])
    if input.dtype.kind in "iu":  # PyTorch clamps integers in their dtype (bounds truncated)
        min_val, max_val = int(min_val), int(max_val)
        return _node(input, inplace, "hardtanh", lambda t: clamp(t, min_val, max_val))
    # the gradient passes strictly inside the bounds (PyTorch's hardtanh_backward); in place
    # one HardtanhBackward0 saving a copy of the old input (PyTorch's original_self)
    return _node(input, inplace, "hardtanh", lambda t: Hardtanh.apply(t, lo=min_val, hi=max_val))


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    _check(input, "leaky_relu")
    if type(negative_slope) is not float:  # PyTorch's parser: a number
        negative_slope = as_number("leaky_relu", "negative_slope", negative_slope, 2)
    if inplace:  # LeakyReluBackward1, saving the result (a negative slope raises in backward)
        fn = lambda t: LeakyReluResult.apply(t, slope=negative_slope)  # noqa: E731
        return _node(input, True, "leaky_relu", fn)
    return LeakyRelu.apply(input, slope=negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else a * x, with learnable a of shape (1,) or (C,) (channel dim 1).

    On CPU autocast's lower-precision list: inside the block float32 arguments are cast to
    bfloat16 first, as in PyTorch."""
    if isinstance(input, Tensor) and isinstance(weight, Tensor):
        input, weight = autocast_lower_precision(input, weight)
    else:  # PyTorch's TypeError
        raise first_not_tensor("prelu", (("input", input), ("weight", weight)))
    _check(input, "prelu")
    n = weight.numel()
    # PyTorch's checks, in its order and words
    if weight.ndim > 1:
        raise ShapeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
    if weight.dtype != input.dtype:  # PyTorch promotes nothing here
        raise RuntimeError(
            f"prelu: Type promoting not supported. Got {scalar_type_name(input._data.dtype)} "
            f"and {scalar_type_name(weight._data.dtype)}"
        )
    if n != 1:
        if input.ndim == 0:
            raise ShapeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim > 1 else 1
        if channels != n:
            raise ShapeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {n} and channel size = {channels}."
            )
    # PyTorch's view of the weight (``_saved_weight``): (1, C, 1, ...) over an input of 2+
    # dims, () for a 0-d input, the weight itself over a 1-d one
    if input.ndim >= 2:
        weight = weight.reshape((1, n) + (1,) * (input.ndim - 2))
    elif input.ndim == 0:
        weight = weight.reshape(())
    return Prelu.apply(input, weight)


def _thresholded(t: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    # x <= threshold picks value, so NaN (never <= anything) stays NaN, as in PyTorch; in
    # place PyTorch's ThresholdBackward1 (saving a copy of the old input)
    if inplace:
        fn = lambda t: ThresholdInplace.apply(t, threshold=threshold, value=float(value))  # noqa: E731
        return _node(t, True, "threshold", fn)
    return Threshold.apply(t, threshold=threshold, value=float(value))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value. An integer input takes both numbers truncated to
    its dtype, as PyTorch (threshold(x, -1.5, 7.9) of int64 x: x if x > -1 else 7)."""
    if isinstance(input, Tensor) and input.dtype.kind in "iu":
        return _integer_threshold(input, threshold, value, inplace)
    _check(input, "threshold")
    if type(threshold) is not float or type(value) is not float:  # PyTorch's parser
        threshold = as_number("threshold", "threshold", threshold, 2)
        value = as_number("threshold", "value", value, 3)
    return _thresholded(input, threshold, value, inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    if isinstance(input, Tensor) and input.dtype.kind in "iu":
        return _integer_threshold(input, threshold, value, True)
    _check(input, "threshold")
    return _thresholded(input, threshold, value, True)


def _integer_threshold(input: Tensor, threshold: float, value: float, inplace: bool) -> Tensor:
    """:func:`threshold` of an integer tensor (no gradient): both numbers fitted to the
    dtype as PyTorch's (floats truncated toward zero, an int wrapped: -1 into uint8 is 255;
    a float or an int out of range, -0.5 or 300 into uint8, raises its overflow error)."""
    dt = input._data.dtype
    lo, fill = fit_scalar("threshold", threshold, dt), fit_scalar("threshold", value, dt)
    data = input._data
    out = get_array_module(data).where(data <= lo, fill, data).astype(data.dtype, copy=False)
    if inplace:
        return input.copy_(Tensor._make(out, False, None, 0))
    return Tensor._make(out, False, None, 0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """clamp(x + 3, 0, 6) / 6 (PyTorch's evaluation order), one node
    (``HardsigmoidBackward0``); as in PyTorch its gradient cannot be differentiated again."""
    _check(input, "hardsigmoid")
    return _node(input, inplace, "hardsigmoid", Hardsigmoid.apply)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x if |x| > lambd else 0 (NaN passes through, as in PyTorch)."""
    _check(input, "hardshrink")
    lambd = lambd if type(lambd) is float else as_number("hardshrink", "lambd", lambd, 2)
    # PyTorch's test is "-lambd <= x <= lambd gives 0": a negative lambd zeroes nothing.
    return Hardshrink.apply(input, lambd=lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0: x - clamp(x, -lambd, lambd).

    The clamp form is exact (x - x = 0 inside the band) and its gradient, 1 - 1[|x| <= lambd],
    is PyTorch's (0 at |x| = lambd). lambd must lie in [0, the dtype's largest value].
    """
    _check(input, "softshrink")
    lambd = lambd if type(lambd) is float else as_number("softshrink", "lambd", lambd, 2)
    top = float(finfo(input.dtype).max)
    if not 0.0 <= lambd <= top:
        raise RuntimeError(
            f"softshrink: lambda must be in range [0, {top:g}] for input dtype "
            f"{input.dtype}, but found {lambd}"
        )
    return Softshrink.apply(input, lambd=lambd)


def _rrelu_slopes(input: Tensor, lower: float, upper: float, generator: object = None) -> Tensor:
    """One slope per element, uniform in [lower, upper), from chainrule's default generator
    (a constant: the gradient with respect to x is the slope itself). As PyTorch, only the
    elements ``<= 0`` draw (one float64 uniform each, in element order; NaN and positive
    elements draw nothing and keep slope 1), so the stream matches torch's."""
    xp = get_array_module(input._data)
    if type(input._data) is np.ndarray and not _vmap.state.vmap:
        mask = input._data <= 0
        r = np.ones(mask.shape)
        r[mask] = lower + (upper - lower) * gen(generator).random(int(mask.sum()))
        r = r.astype(input._data.dtype, copy=False)
    elif type(input._data) is MetaArray:  # meta: no slopes drawn (torch's meta draws none)
        return Tensor._make(meta_empty(input.shape, input._data.dtype), False, None, 0)
    else:  # under vmap (a slope per element of each sample) or on a device array
        u = gen(generator).random(input.shape)
        r = (lower + (upper - lower) * u).astype(input._data.dtype, copy=False)  # vmap marks
    if xp is not np:
        r = xp.asarray(r)
    return Tensor._make(r, False, None, 0)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: x if x > 0 else a · x.

    Training: a is drawn uniformly from [lower, upper] for every element ``<= 0`` (chainrule's
    generator: ``cr.manual_seed(s)`` gives torch's slopes) and the gradient uses the drawn a.
    Evaluation: the fixed slope a = (lower + upper) / 2, i.e. ``leaky_relu``.
    """
    _check(input, "rrelu")
    if type(lower) is not float or type(upper) is not float or lower - lower or upper - upper:
        lower, upper = finite_bounds("rrelu", lower, upper)  # numbers, not inf or NaN
    if lower > upper:
        raise RuntimeError(
            f"rrelu: Lower bound should be less than or equal to the upper bound "
            f"(got lower={lower}, upper={upper})"
        )
    return _rrelu_with_noise(input, lower, upper, training, inplace)


def _rrelu_with_noise(
    input: Tensor, lower: float, upper: float, training: bool, inplace: bool, generator=None
) -> Tensor:
    """rrelu as one node (``RreluWithNoiseBackward0``, saving the input and the noise)."""
    if type(input._data) is not np.ndarray or (training and _vmap.state.vmap):
        # under vmap or on a device: the composition (inside vmap, a slope for every element)
        slopes = _rrelu_slopes(input, lower, upper, generator) if training else None
        a = slopes if training else (lower + upper) / 2
        return _result(input, inplace, "rrelu", lambda t: where(t._data > 0, t, t * a))
    if training:
        noise = _rrelu_slopes(input, lower, upper, generator)._data
    else:  # PyTorch leaves its noise uninitialised in evaluation; zeros here
        noise = get_array_module(input._data).zeros(input.shape, input._data.dtype)
    params = {"noise": noise, "lower": lower, "upper": upper, "training": bool(training)}
    if inplace:  # RreluWithNoiseBackward1, saving the noise and the result
        return _node(input, True, "rrelu", lambda t: RreluWithNoiseResult.apply(t, **params))
    return RreluWithNoise.apply(input, **params)


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


def maxout(input: Tensor, weight: Tensor, bias: Tensor | None, pieces: int) -> Tensor:
    """Maxout: y_j = max_k (x W_kᵀ + b_k)_j over ``pieces`` affine maps.

    ``weight`` has shape (out * pieces, in) laid out as (out, pieces) rows, ``bias``
    (out * pieces,). The gradient flows to the maximising piece only.
    """
    z = linear(input, weight, bias)
    out = weight.shape[0] // pieces
    z = z.reshape(z.shape[:-1] + (out, pieces))
    return amax(z, -1)
