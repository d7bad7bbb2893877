"""Weight initialisation (``cr.nn.init``), with PyTorch's names and formulas.

Every function fills ``tensor._data`` in place (no graph is recorded), draws from
chainrule's default generator unless ``generator=`` is given (so ``cr.manual_seed`` makes
models reproducible) and returns the tensor. Fans follow PyTorch: for a weight of shape
(out, in, *kernel), fan_in = in · prod(kernel) and fan_out = out · prod(kernel) (for a
grouped convolution the weight's ``in`` is already in_channels / groups).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..autograd.tensor import Tensor
from ..ops._tensor_args import torch_type_name
from ..ops.number_arguments import parser_float
from ..ops.parser_type_errors import fill_value_error
from ..ops.sampling import normal_values, uniform_values
from ..qtypes import scalar_type_name
from ..random import Generator, gen
from .init_common import (
    _calculate_fan_in_and_fan_out,
    _fan,
    _fill,
    _fill_drawn,
    _make_deprecate,
    _memory_shape,
    _meta_noop,
    _normals,
    _random_fill_dtype,
    calculate_gain,
)

__all__ = [
    "calculate_gain",
    "constant",
    "constant_",
    "dirac",
    "dirac_",
    "eye",
    "eye_",
    "kaiming_normal",
    "kaiming_normal_",
    "kaiming_uniform",
    "kaiming_uniform_",
    "normal",
    "normal_",
    "ones_",
    "orthogonal",
    "orthogonal_",
    "sparse",
    "sparse_",
    "trunc_normal_",
    "uniform",
    "uniform_",
    "xavier_normal",
    "xavier_normal_",
    "xavier_uniform",
    "xavier_uniform_",
    "zeros_",
]


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with U(a, b) (a complex tensor: its real and imaginary parts each; an integer or
    bool tensor raises torch's NotImplementedError, from ``uniform_values``' bound checks)."""
    if type(a) is not float or type(b) is not float:  # PyTorch's tensor.uniform_(a, b) parser
        a = parser_float("uniform_", "from", 1, a, keywords=False)
        b = parser_float("uniform_", "to", 2, b, keywords=False)
    shape = _memory_shape(tensor)
    return _fill_drawn(tensor, uniform_values(generator, a, b, shape, tensor._data.dtype))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with N(mean, std²) (a complex tensor: each part N(mean, std²/2), as PyTorch)."""
    if type(mean) is not float or type(std) is not float:  # tensor.normal_(mean, std)'s parser
        mean = parser_float("normal_", "mean", 1, mean, keywords=False)
        std = parser_float("normal_", "std", 2, std, keywords=False)
    _random_fill_dtype(tensor, "normal_")
    return _fill_drawn(tensor, _normals(generator, tensor, mean, std))


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill with N(mean, std²) truncated to [a, b], by PyTorch 2.13's two samplers (the same
    draws after the same seed), chosen by the probability ``mass`` of [a, b] under N(mean, std²):

    * ``mass >= 0.3``: rejection. The tensor is filled by ``normal_(mean, std)``; while an
      element lies outside [a, b], a whole new ``normal_(mean, std)`` tensor is drawn and
      the outside elements take its values.
    * below (a narrow interval, or one far in a tail): a uniform proposal. A round draws a
      whole tensor ``x ~ U(a, b)`` and a whole tensor ``u ~ U(0, 1)`` and accepts ``x``
      where ``u <= exp((z*² - z²) / 2)``, ``z = (x - mean) / std`` and ``z*`` the point of
      the standardised interval nearest 0; rounds repeat for the rest.

    As PyTorch: warns when ``mean`` is more than 2 std outside [a, b]; ``std == 0`` raises
    ZeroDivisionError, ``a > b`` uniform_'s RuntimeError, ``a == b`` fills with ``a``. A
    negative ``std`` (PyTorch accepts it) samples [a, b] correctly but not with torch's
    numbers.
    """
    _random_fill_dtype(tensor, "trunc_normal_")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    za, zb = (a - mean) / std, (b - mean) / std  # std == 0: ZeroDivisionError, as PyTorch
    # every draw in the tensor's memory order (PyTorch draws into tensors laid out like it)
    shape, dt = _memory_shape(tensor), tensor._data.dtype
    if _normal_cdf(zb) - _normal_cdf(za) >= _REJECTION_MIN_MASS:  # (negative for std < 0)
        x = np.asarray(_normals(generator, tensor, mean, std)).astype(dt)
        lo, hi = dt.type(a), dt.type(b)
        outside = ~((x >= lo) & (x <= hi))
        while outside.any():
            y = np.asarray(_normals(generator, tensor, mean, std)).astype(dt)
            x = np.where(outside, y, x)
            outside = ~((x >= lo) & (x <= hi))
        return _fill_drawn(tensor, x)
    za, zb = min(za, zb), max(za, zb)
    nearest = 0.0 if za <= 0.0 <= zb else (za if za > 0.0 else zb)
    x = np.zeros(shape, dtype=dt)
    todo = np.ones(shape, dtype=bool)
    while todo.any():  # a > b: uniform_'s RuntimeError, as PyTorch
        proposal = np.asarray(uniform_values(generator, a, b, shape, dt)).astype(dt)
        u = np.asarray(uniform_values(generator, 0.0, 1.0, shape, dt)).astype(dt)
        z = (proposal - dt.type(mean)) / dt.type(std)
        with np.errstate(over="ignore", under="ignore"):
            ratio = np.exp((dt.type(nearest * nearest) - z * z) / dt.type(2))
        take = todo & (u <= ratio)
        x[take] = proposal[take]
        todo &= ~take
    return _fill_drawn(tensor, x)


_REJECTION_MIN_MASS = 0.3
"""PyTorch's trunc_normal_ rejects normal draws when [a, b] holds at least this much of
N(mean, std²) (found by bisection against torch 2.13), else it samples a uniform proposal."""


def _normal_cdf(z: float) -> float:
    return (1.0 + math.erf(z / math.sqrt(2.0))) / 2.0


_NO_FILL_VALUE = frozenset({type(None), str, tuple, list})
"""The types of ``constant_``'s ``val`` PyTorch's ``fill_`` refuses (its TypeError)."""


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val`` (None, a str or a sequence: PyTorch's ``fill_`` TypeError, not NaN)."""
    if type(val) in _NO_FILL_VALUE:  # one set look-up on the fill path
        raise fill_value_error(val)
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    if not isinstance(tensor, Tensor):  # PyTorch calls tensor.zero_(): Python's words
        raise AttributeError(f"'{torch_type_name(tensor)}' object has no attribute 'zero_'")
    return _fill(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity (preserves inputs in a Linear layer)."""
    if tensor.ndimension() != 2:  # (PyTorch calls it: its AttributeError for a non-tensor)
        raise ValueError(
            "Only tensors with 2 dimensions are supported\neye_: only 2-d tensors are "
            f"supported, got shape {tuple(tensor.shape)}"
        )
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3/4/5-d conv weight with the Dirac delta (identity convolution per group)."""
    if tensor.ndimension() not in (3, 4, 5):
        raise ValueError(
            f"Only tensors with 3, 4, or 5 dimensions are supported\ndirac_: got {tensor.shape}"
        )
    out = tensor.shape[0]
    if out % groups != 0:
        raise ValueError(f"dirac_: dim 0 ({out}) must be divisible by groups ({groups})")
    per = out // groups
    vals = np.zeros(tensor.shape)
    centre = tuple(s // 2 for s in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per, tensor.shape[1])):
            vals[(g * per + d, d) + centre] = 1.0
    return _fill(tensor, vals)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """U(-a, a) with a = gain · √(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """U(-b, b) with b = gain · √(3 / fan) (He et al., 2015); gain from ``nonlinearity``, a."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)  # as torch
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """N(0, std²) with std = gain / √fan."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)  # as torch
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix
    (Saxe et al., 2013); dims after the first are flattened."""
    if tensor.ndim < 2:
        raise ValueError(
            f"orthogonal_: only tensors with 2 or more dimensions are supported, "
            f"got shape {tuple(tensor.shape)}"
        )
    if tensor.numel() == 0:
        return tensor
    _random_fill_dtype(tensor, "orthogonal_")
    name = scalar_type_name(tensor.dtype)  # PyTorch's errors, in its order: QR, sign, mul_
    if tensor._data.dtype.itemsize <= 2 or name == "ComplexHalf":  # no half QR kernel
        raise NotImplementedError(f"\"geqrf_cpu\" not implemented for '{name}'")
    if tensor.is_complex():  # PyTorch's d.sign() of the complex R fails
        raise NotImplementedError(
            "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
            "torch.sgn instead.\northogonal_: complex tensors are not supported (as PyTorch)"
        )
    if not isinstance(gain, (numbers.Number, np.number, Tensor)):
        raise TypeError(
            f"mul_(): argument 'other' (position 1) must be Tensor, not {torch_type_name(gain)}"
        )
    if isinstance(gain, complex) or (isinstance(gain, Tensor) and gain.is_complex()):
        raise RuntimeError(
            f"result type Complex{name} can't be cast to the desired output type {name}"
        )
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    # PyTorch's draw: normal_(0, 1) on a (rows, cols) tensor of this dtype; QR in float64
    flat = np.asarray(normal_values(generator, 0.0, 1.0, (rows, cols), tensor._data.dtype))
    flat = flat.astype(np.complex128 if flat.dtype.kind == "c" else np.float64)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


def sparse_(
    tensor: Tensor, sparsity: float, std: float = 0.01, generator: Generator | None = None
) -> Tensor:
    """Fill a 2-d tensor as a sparse matrix (Martens, 2010): entries from N(0, std²), then in
    every column ``ceil(sparsity · rows)`` entries, at random rows, set to zero.

    Both draws come from ``generator`` (PyTorch draws the zero positions from its global
    generator even when ``generator`` is given; here one generator makes the whole fill
    reproducible).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"sparse_: expected a Tensor, got {type(tensor).__name__}")
    if tensor.ndim != 2:
        raise ValueError(
            f"sparse_: only tensors with 2 dimensions are supported, got shape "
            f"{tuple(tensor.shape)}"
        )
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    rng = gen(generator)
    values = np.asarray(normal_values(generator, 0.0, std, (rows, cols), tensor._data.dtype))
    for col in range(cols):
        values[rng.permutation(rows)[:num_zeros], col] = 0.0
    return _fill(tensor, values)


# every in-place initialiser is a no-op on meta tensors (module construction on meta)
uniform_ = _meta_noop(uniform_)
normal_ = _meta_noop(normal_)
trunc_normal_ = _meta_noop(trunc_normal_)
constant_ = _meta_noop(constant_)
zeros_ = _meta_noop(zeros_)
ones_ = _meta_noop(ones_)
eye_ = _meta_noop(eye_)
dirac_ = _meta_noop(dirac_)
xavier_uniform_ = _meta_noop(xavier_uniform_)
xavier_normal_ = _meta_noop(xavier_normal_)
kaiming_uniform_ = _meta_noop(kaiming_uniform_)
kaiming_normal_ = _meta_noop(kaiming_normal_)
orthogonal_ = _meta_noop(orthogonal_)
sparse_ = _meta_noop(sparse_)


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
sparse = _make_deprecate(sparse_)
