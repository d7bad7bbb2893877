"""What ``cr.nn.init``'s initialisers share (split from :mod:`chainrule.nn.init`): PyTorch's
gain table (:func:`calculate_gain`), fans (``_calculate_fan_in_and_fan_out``, which PyTorch
code imports from ``nn.init``), filling a tensor in place in memory order with values drawn
for it, and the two wrappers every initialiser goes through: the no-op on meta tensors and
the deprecated names without the trailing underscore.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..creation_options import memory_order, normals_one_at_a_time
from ..meta import MetaArray
from ..ops.sampling import normal_values
from ..random import Generator, gen
from ..random_mt19937 import TorchStream

__all__ = ["calculate_gain"]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended std gain for a non-linearity (PyTorch's table).

    linear/conv/sigmoid: 1, tanh: 5/3, relu: √2, leaky_relu: √(2 / (1 + slope²)),
    selu: 3/4.
    """
    linear = (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    )
    if nonlinearity in linear:
        return 1  # an int, as PyTorch's (``f"gain={gain}"`` prints "gain=1")
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(  # PyTorch's words, then the op
                f"negative_slope {param} not a valid number\ncalculate_gain: leaky_relu's "
                f"param must be an int or a float, got {type(param).__name__}"
            )
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(  # PyTorch's words, then the valid names
        f"Unsupported nonlinearity {nonlinearity}\ncalculate_gain: valid nonlinearities: "
        f"{', '.join(linear)}, tanh, relu, leaky_relu, selu"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(
            f"init: fan in and fan out can not be computed for a tensor with "
            f"fewer than 2 dimensions (got shape {tuple(tensor.shape)})"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _lowered_mode(mode: Any) -> str:
    """PyTorch's ``_calculate_correct_fan``: ``mode.lower()`` (its AttributeError for no
    str, e.g. "'NoneType' object has no attribute 'lower'"; ``"FAN_IN"`` is accepted), then
    its ValueError for a mode that is neither fan."""
    lowered = mode.lower()
    if lowered not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {lowered} not supported, please use one of ['fan_in', 'fan_out']")
    return lowered


def _fan(tensor: Tensor, mode: str) -> int:
    if type(mode) is not str or mode not in ("fan_in", "fan_out"):
        mode = _lowered_mode(mode)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values: Any) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init: expected a Tensor, got {type(tensor).__name__}")
    xp = get_array_module(tensor._data)
    tensor._data[...] = xp.asarray(values, dtype=tensor.dtype) if xp is not np else values
    tensor._vc[0] += 1
    return tensor


def _memory_shape(tensor: Tensor) -> tuple:
    """``tensor``'s shape with its dims in memory order (:func:`memory_order`): the shape
    its random draws are made for, as PyTorch's kernels fill a tensor that is not contiguous
    (a transposed weight) one element at a time in memory order."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init: expected a Tensor, got {type(tensor).__name__}")
    order = memory_order(tensor._data)
    return tuple(tensor.shape) if order is None else tuple(tensor.shape[i] for i in order)


def _fill_drawn(tensor: Tensor, values: Any) -> Tensor:
    """Fill ``tensor`` with ``values``, drawn for :func:`_memory_shape`, in memory order."""
    order = memory_order(tensor._data)
    if order is None:
        return _fill(tensor, values)
    view = tensor._data.transpose(order)
    xp = get_array_module(view)
    view[...] = xp.asarray(values, dtype=tensor.dtype) if xp is not np else values
    tensor._vc[0] += 1
    return tensor


def _normals(generator: Generator | None, tensor: Tensor, mean: float, std: float) -> Any:
    """N(mean, std²) draws for :func:`_memory_shape` as ``tensor.normal_(mean, std)`` makes
    them: one at a time (PyTorch's path for memory that is not contiguous) or in blocks."""
    shape, dt = _memory_shape(tensor), tensor._data.dtype
    rng = gen(generator)
    if memory_order(tensor._data) is not None and isinstance(rng, TorchStream) and std >= 0:
        return normals_one_at_a_time(rng, math.prod(shape), dt, mean, std).reshape(shape)
    return normal_values(generator, mean, std, shape, dt)


def _random_fill_dtype(tensor: Tensor, op: str) -> None:
    """The random fills take floating and complex tensors only: PyTorch's kernels raise
    NotImplementedError for an integer or bool tensor (the xavier_/kaiming_ forms too)."""
    if isinstance(tensor, Tensor) and tensor._data.dtype.kind in "biu":
        raise NotImplementedError(
            f"{op}: not implemented for {tensor.dtype} (floating and complex tensors only)"
        )


_FAN_BASED = ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_")


def _meta_noop(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``fn`` that leaves a meta tensor as it is (it has no values to fill), draws nothing
    and returns it, as PyTorch's init functions do on meta; the fan-based ones still check
    the shape (their ValueError for fewer than 2 dims)."""

    @functools.wraps(fn)
    def init_fn(tensor: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if isinstance(tensor, Tensor) and type(tensor._data) is MetaArray:
            if fn.__name__ in _FAN_BASED:
                _calculate_fan_in_and_fan_out(tensor)
            return tensor
        return fn(tensor, *args, **kwargs)

    return init_fn


def _make_deprecate(meth: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """PyTorch's old name without the trailing underscore: warns (FutureWarning) and calls
    ``meth``."""
    new_name = meth.__name__
    old_name = new_name[:-1]

    @functools.wraps(meth)
    def deprecated_init(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = (
        f"{old_name}(...): deprecated alias of :func:`{new_name}` (emits a FutureWarning)."
    )
    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    return deprecated_init
