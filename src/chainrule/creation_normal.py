"""``normal``, the random constructor of PyTorch's four overloads (numbers or tensors for
``mean``/``std``, a ``size`` or none, ``out=``), apart from ``creation_random.py``'s other
draws because its overload rules, its complex draws and its graph node are its own;
``chainrule.creation_random.normal`` is this function."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.tensor import Tensor
from .creation_options import _finish, _shape, check_pin_memory, write_factory_out
from .creation_random_checks import (
    _bf16_array,
    _refuse_out_grad,
    _refuse_tensor_factory_options,
    _tracked_inputs,
    _vmap_batched,
)
from .creation_random_draws import _bfloat16_draws, normal_out_fill
from .meta import meta_empty
from .meta.results import any_meta
from .meta.results import to_meta as _to_meta
from .ops.no_derivative import record_zero_derivative
from .ops.parser_type_errors import normal_number_error
from .random import Generator, gen
from .random_mt19937 import draw_dtype

__all__ = ["normal"]


_PLAIN_NUMBERS = frozenset({float, int})
"""``normal``'s usual ``mean``/``std`` types, tested before the slower ``numbers.Real``."""


def _float_of_0d(v: Any) -> Any:
    """A 0-d real tensor that records no gradient as its float (``normal(0.0,
    tensor(1), (2,))``: PyTorch's ``(float mean, float std, tuple of ints size)`` form takes
    it); anything else as it is, for the overload checks."""
    if isinstance(v, Tensor) and v.ndim == 0 and not v.requires_grad and v.dtype.kind in "biuf":
        return float(v.item())
    return v


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Sequence[int] | None = None,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    out: Tensor | None = None,
    pin_memory: bool = False,
) -> Tensor:
    """Normal samples with the given mean and std (numbers or tensors, broadcast). With
    ``out=``: a tensor ``mean`` with a number ``std`` needs an ``out`` of its shape (PyTorch
    raises otherwise); the other forms, and a ``size``, resize ``out``.

    As PyTorch's overloads: two numbers need ``size``, a tensor ``mean`` or ``std`` takes none
    (TypeError otherwise), and tensors whose shapes do not broadcast raise RuntimeError."""
    check_pin_memory("normal", pin_memory)
    _refuse_tensor_factory_options(mean, std, dtype, device, requires_grad)
    kw = {"generator": generator, "dtype": dtype, "device": device, "out": out}
    if (res := _vmap_batched(normal, (mean, std, size), kw)) is not None:
        return res
    given = (mean, std)
    if size is not None:  # PyTorch's parser reads a 0-d tensor as the float overload's number
        mean, std = _float_of_0d(mean), _float_of_0d(std)
    tensors = isinstance(mean, Tensor) or isinstance(std, Tensor)
    plain = type(mean) in _PLAIN_NUMBERS and type(std) in _PLAIN_NUMBERS  # skips the ABC test
    if not (tensors or plain or (isinstance(mean, Real) and isinstance(std, Real))):
        raise normal_number_error(mean, std, size)  # a tuple std: PyTorch's parser refuses
    if tensors == (size is not None):  # PyTorch's parser's TypeError, the values as given
        raise normal_number_error(*given, size)
    if out is not None:
        _refuse_out_grad("normal", mean, std)
        mean, std = (v.detach() if isinstance(v, Tensor) else v for v in (mean, std))
        if (fill := normal_out_fill(out, mean, std, size, generator, dtype)) is not None:
            make = lambda d: _draw_normal(mean, std, size, generator, d)  # noqa: E731
            return write_factory_out("normal", out, dtype, requires_grad, make, fill=fill)
        result = _draw_normal(mean, std, size, generator, dtype if dtype else out.dtype)
        if size is None and isinstance(out, Tensor) and tuple(out.shape) != tuple(result.shape):
            if not isinstance(std, Tensor):  # PyTorch's (Tensor mean, float std) overload
                raise RuntimeError(
                    f"normal(): out has shape {list(out.shape)}, but mean broadcasts to "
                    f"{list(result.shape)}; pass an out of that shape (or a size)"
                )
            if out.numel():  # the other overloads resize out, as every op does
                warnings.warn(
                    f"normal(): an output with one or more elements was resized since it had "
                    f"shape {list(out.shape)}, which does not match the required output shape "
                    f"{list(result.shape)}.",
                    UserWarning,
                    stacklevel=2,
                )
        return write_factory_out("normal", out, dtype, requires_grad, lambda d: result)
    return _draw_normal(mean, std, size, generator, dtype, device, requires_grad)


def _draw_normal(
    mean: Any,
    std: Any,
    size: Sequence[int] | None,
    generator: Generator | None,
    dtype: Any,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``normal``'s draws once its overload is settled (no ``out``): checks std and the
    shapes, picks the dtype (given, else the tensor mean's or std's floating dtype, else the
    default) and draws, kept in the graph of a tensor mean/std with zero gradients."""
    if isinstance(std, Tensor) and std.is_complex():
        raise RuntimeError("normal expects standard deviation to be non-complex")
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    m, s = (np.asarray(v, np.float32) if _bf16_array(v) else v for v in (m, s))
    if not np.all(np.asarray(s) >= 0):  # also catches NaN; PyTorch's words per overload
        if isinstance(std, Tensor):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(s):g}")
    if size is not None:
        shape = _shape((size,), "normal")
    else:
        try:
            shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        except ValueError:
            raise RuntimeError(
                f"normal(): the shape of mean {list(np.shape(m))} and of std "
                f"{list(np.shape(s))} do not broadcast"
            ) from None
    if dtype is None:  # PyTorch: the dtype of tensor ``mean``, else of tensor ``std``
        like = mean if isinstance(mean, Tensor) else std
        dtype = (
            like.dtype
            if isinstance(like, Tensor) and (_dt.is_floating(like.dtype) or like.is_complex())
            else None
        )
    elif _dt.as_dtype(dtype).kind not in "fcV":  # V: bfloat16
        raise NotImplementedError(
            f"normal(): not implemented for dtype {dtype}; pass a floating point dtype"
        )
    if _to_meta(device) if size is not None else any_meta(mean, std):  # nothing drawn
        target = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        made = _finish(
            meta_empty(shape, target), dtype, device, requires_grad, default_device=size is not None
        )
        return _normal_node(made, mean, std)
    if dtype is not None and _dt.as_dtype(dtype).kind == "c":  # PyTorch: the real and the
        # imaginary part each drawn from N(mean, std**2 / 2), as its view of pairs of reals
        base = draw_dtype(dtype)
        pairs = gen(generator).normal(0.0, 1.0, (*shape, 2), dtype=base)
        sd = np.asarray(s, base) / base(np.sqrt(2.0))  # on PyTorch's view of pairs of reals
        if isinstance(mean, Tensor) and mean.is_complex():  # each part about its own mean
            draws = (pairs[..., 0] * sd + np.real(m)) + 1j * (pairs[..., 1] * sd + np.imag(m))
        else:
            draws = (pairs[..., 0] * sd + m) + 1j * (pairs[..., 1] * sd + m)
        if _tracked_inputs(mean, std):
            raise RuntimeError(
                "normal does not support automatic differentiation for outputs with complex dtype."
            )
        return _normal_node(_finish(draws, dtype, device, requires_grad), mean, std)
    target = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    base = draw_dtype(target)
    narrow = target if target.itemsize == 2 else base  # float16/bfloat16 (TorchStream.normal)
    draws = gen(generator).normal(m, s, size=shape, dtype=narrow)
    if dtype is not None and _dt.is_bfloat16(_dt.as_dtype(dtype)):
        draws = _bfloat16_draws("normal", draws)
    return _normal_node(_finish(draws, dtype, device, requires_grad), mean, std)


def _normal_node(drawn: Tensor, mean: Any, std: Any) -> Tensor:
    """``normal``'s draws kept in the graph of a tensor ``mean``/``std`` with zero gradients,
    under PyTorch's node names (NormalBackward1: tensor mean, 2: tensor std, 3: both)."""
    kind = isinstance(mean, Tensor) + 2 * isinstance(std, Tensor)
    if not kind:
        return drawn
    return record_zero_derivative(drawn, mean, std, node=f"NormalBackward{kind}")
