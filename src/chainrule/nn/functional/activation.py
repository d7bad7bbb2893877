"""Activation functions (``F.relu``, ``F.gelu``, ...), composed from primitive ops.

Each is written from differentiable primitives, so backward, double backward and forward
mode come for free; formulas follow PyTorch exactly (including its constants). With
``inplace=True`` (and in the ``relu_``-style functions) the result is written into the input
through the in-place machinery (``ops/inplace.py``: version counter, leaf check, views), as
PyTorch's in-place activations do, and the input itself is returned. Branches
that could overflow (e.g. ``exp`` in ELU for large positive inputs) are clamped before
the non-linearity so a masked-out branch never produces ``inf * 0 = NaN`` in backward.

``rrelu`` in training mode draws its slopes from chainrule's generator (``cr.manual_seed``
makes them reproducible, as for dropout) and multiplies by them as a constant, so the
gradient is exactly the slope each element used.
"""

from __future__ import annotations

import numpy as np

from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...autograd.lower_precision import autocast_lower_precision
from ...autograd.saved_fields import given  # grad_fn._saved_*
from ...autograd.state import LOCAL as _vmap
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._tensor_args import first_not_tensor
from ...ops._util import DtypeError, ShapeError
from ...ops.activation_primitives import (
    Celu,
    Elu,
    Hardshrink,
    LeakyRelu,
    LogSigmoid,
    Mish,
    Prelu,
    Softshrink,
    Threshold,
    ThresholdInplace,
)
from ...ops.binary import where
from ...ops.clamping import Hardtanh, clamp
from ...ops.gated_linear import Glu
from ...ops.gelu import gelu_exact, gelu_tanh
from ...ops.hardsigmoid import Hardsigmoid
from ...ops.inplace import composite_result as _result
from ...ops.inplace import single_node_result as _node
from ...ops.number_arguments import parser_numbers
from ...ops.silu import Silu
from ...ops.single_node_activations import (
    CeluResult,
    EluResult,
    Hardswish,
    LeakyReluResult,
    RreluWithNoise,
    RreluWithNoiseResult,
)
from ...ops.sparse_tensor import SPARSE_TYPES
from ...ops.unary import relu as _relu
from ...ops.unary import sigmoid, softplus, tanh
from ...random import gen
from ...scalar_range import fit_scalar
from ...typeinfo import finfo
from ._arg_types import as_int, as_number, bad_str, finite_bounds

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "logsigmoid",
    "maxout",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _check(x: object, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind not in "fV":  # V: bfloat16 (its Functions run in float32)
        raise DtypeError(f"{op}: expected a floating-point tensor, got dtype {x.dtype}")


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
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
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
    if n != 1:
        if input.ndim < 2 or input.shape[1] != n:
            raise ShapeError(
                f"prelu: weight has {n} parameters but the input of shape "
                f"{tuple(input.shape)} has {input.shape[1] if input.ndim > 1 else 1} "
                "channels (dim 1); use num_parameters=1 or match the channels"
            )
    if isinstance(weight, Tensor) and weight.dtype != input.dtype:
        raise RuntimeError(  # PyTorch: "Type promoting not supported"
            f"prelu: input ({input.dtype}) and weight ({weight.dtype}) must have the same "
            f"dtype; prelu promotes nothing: convert weight with .to({input.dtype})"
        )
    # PyTorch's view of the weight (``_saved_weight``): (1, C, 1, ...) over an input of 2+
    # dims, () for a 0-d input, the weight itself over a 1-d one
    if input.ndim >= 2:
        weight = weight.reshape((1, n) + (1,) * (input.ndim - 2))
    elif input.ndim == 0:
        weight = weight.reshape(())
    return Prelu.apply(input, weight)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    _check(input, "elu")
    alpha = alpha if type(alpha) is float else as_number("elu", "alpha", alpha, 2)
    return _elu(input, inplace, "elu", alpha, 1.0, 1.0)


def _elu(input: Tensor, inplace: bool, name: str, alpha: float, scale: float, inp: float):
    """elu / selu / celu as one node: in place PyTorch's ``EluBackward1`` /
    ``CeluBackward1``, saving the result; else ``EluBackward0`` / ``CeluBackward0``."""
    celu = name == "celu"
    if not inplace:
        return (Celu if celu else Elu).apply(input, alpha=alpha, scale=scale, input_scale=inp)
    node = CeluResult if celu else EluResult
    params = {"alpha": alpha, "scale": scale, "input_scale": inp}
    return _node(input, True, name, lambda t: node.apply(t, **params))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with alpha ≈ 1.6733, scale ≈ 1.0507 (self-normalising)."""
    _check(input, "selu")
    return _elu(input, inplace, "selu", SELU_ALPHA, SELU_SCALE, 1.0)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


class _CeluAlphaError(ValueError, RuntimeError):
    """celu's ``alpha == 0``: PyTorch's RuntimeError, and a ValueError as before."""


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    _check(input, "celu")
    alpha = alpha if type(alpha) is float else as_number("celu", "alpha", alpha, 2)
    if alpha == 0:  # PyTorch's RuntimeError (a ValueError too, as chainrule raised before)
        raise _CeluAlphaError("celu: alpha cannot be 0 (CELU divides by alpha)")
    return _elu(input, inplace, "celu", alpha, 1.0, 1.0 / alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Φ(x) = x/2 (1 + erf(x/√2)); 'tanh': x/2 (1 + tanh(√(2/π)(x + 0.044715 x³)))."""
    _check(input, "gelu")
    if approximate == "none":  # one fused op each way (ops/gelu.py): 5x fewer passes
        return gelu_exact(input)
    if approximate == "tanh":  # one node, PyTorch's GeluBackward0 (ops/gelu.py)
        return gelu_tanh(input)
    bad_str("gelu", "approximate", approximate)  # PyTorch's parser: a str
    raise _GeluApproximateError(
        f"gelu: approximate argument must be either none or tanh, got {approximate!r}"
    )


class _GeluApproximateError(ValueError, RuntimeError):
    """An unknown ``approximate=``: PyTorch raises RuntimeError, chainrule raised ValueError;
    this is both, so either ``except`` clause catches it."""


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x σ(x) (also called swish). A complex input is computed as PyTorch's complex kernel
    does, without a derivative (recording one raises, as in PyTorch)."""
    if isinstance(input, Tensor) and input.is_complex():
        return _complex_silu(input, inplace)
    _check(input, "silu")
    return _node(input, inplace, "silu", Silu.apply)


def _complex_silu(input: Tensor, inplace: bool) -> Tensor:
    """z σ(z) of a complex ``z``: PyTorch has this kernel but no derivative for it."""
    if is_grad_enabled() and input.requires_grad:
        raise RuntimeError(
            "silu does not support automatic differentiation for outputs with complex dtype "
            "(as in PyTorch); compute it as z * torch.sigmoid(z) for a gradient"
        )
    with no_grad():
        out = input * sigmoid(input)
        return input.copy_(out) if inplace else out


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    _check(input, "mish")
    return _node(input, inplace, "mish", Mish.apply)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """clamp(x + 3, 0, 6) / 6 (PyTorch's evaluation order), one node
    (``HardsigmoidBackward0``); as in PyTorch its gradient cannot be differentiated again."""
    _check(input, "hardsigmoid")
    return _node(input, inplace, "hardsigmoid", Hardsigmoid.apply)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · hardsigmoid(x), one node (``HardswishBackward0``), twice differentiable."""
    _check(input, "hardswish")
    return _node(input, inplace, "hardswish", Hardswish.apply)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|) (an integer input gives the default float dtype, as in PyTorch; a
    complex one is divided by the real 1 + |z|, as in PyTorch)."""
    if not (isinstance(input, Tensor) and input.dtype.kind in "iuc"):
        _check(input, "softsign")
    return input / (abs(input) + 1.0)


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


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), stable for large |x|."""
    _check(input, "logsigmoid")
    return LogSigmoid.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    if type(input) in SPARSE_TYPES:  # a sparse COO tensor minus its tanh: sparse (as torch)
        return input - input.tanh()
    return input - tanh(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a · σ(b), where a and b are the two halves of ``input`` along ``dim``.

    The gate σ(b) decides, per element, how much of a passes (Dauphin et al., 2017, gated
    convolutional language models). ``dim``'s size must be even; the output has half of it.
    """
    _check(input, "glu")
    dim = dim if type(dim) is int else as_int("glu", "dim", dim, 2)  # PyTorch's parser
    if input.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(
            f"glu: Dimension out of range (expected to be in range of "
            f"[{-input.ndim}, {input.ndim - 1}], but got {dim})"
        )
    d = dim % input.ndim
    size = input.shape[d]
    if size % 2:
        raise ShapeError(f"glu: Halving dimension must be even, but dimension {d} is size {size}")
    out = Glu.apply(input, d)  # one node, GluBackward0 as PyTorch (ops/gated_linear.py)
    return given(out, dim=dim)  # grad_fn._saved_dim as given


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
    from ...ops.extremes import amax
    from .linear import linear

    z = linear(input, weight, bias)
    out = weight.shape[0] // pieces
    z = z.reshape(z.shape[:-1] + (out, pieces))
    return amax(z, -1)
