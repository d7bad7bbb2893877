"""Random tensor constructors (``rand``, ``randn``, ``randint``, ``randperm``, ``normal``,
``bernoulli``, ``rand_like``/``randn_like``) drawn from chainrule's generators; the
deterministic ones, whose size, dtype and device handling these share, are ``creation.py``'s."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.tensor import Tensor
from .backend import DEFAULT_DEVICE, is_meta_device, to_device
from .creation_options import (
    _finish,
    _format,
    _like,
    _shape,
    check_layout,
    check_pin_memory,
    fill_memory_in_order,
    lay_out_like,
    normal_like_strided,
    refuse_negative_size,
    write_factory_out,
)
from .creation_random_checks import (
    _bf16_array,
    _meta_draws,
    _refuse_out_grad,
    _refuse_tensor_factory_options,
    _tracked_inputs,
    _vmap_batched,
)
from .creation_random_draws import _bfloat16_draws, _draws_of_kind, normal_out_fill, randn_out_fill
from .creation_required import require_size
from .meta import MetaArray, meta_empty
from .meta.results import any_meta, meta_result
from .meta.results import to_meta as _to_meta
from .meta.strides import lay_meta_like
from .ops.no_derivative import record_no_derivative, record_zero_derivative
from .ops.number_arguments import (
    parser_int,
    randint_forms_error,
    refuse_randint_size,
    refuse_randint_types,
)
from .ops.parser_type_errors import (
    BERNOULLI_P_UNSET,
    bernoulli_p_error,
    normal_number_error,
)
from .randint_bounds import check_randint_range
from .random import Generator, gen
from .random_mt19937 import draw_dtype

__all__ = [
    "bernoulli",
    "normal",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
]


def rand(
    *sizes: Any,
    size: Any = None,
    generator: Generator | None = None,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Uniform samples on [0, 1) (a complex dtype: both parts)."""
    require_size("rand", sizes, size)
    check_layout("rand", layout)
    check_pin_memory("rand", pin_memory)
    if out is not None:
        return write_factory_out(
            "rand",
            out,
            dtype,
            requires_grad,
            lambda d: rand(*sizes, size=size, generator=generator, dtype=d),
            draws=True,
        )
    shape = _shape(sizes, "rand", size)
    # no data: nothing drawn, the generator untouched (torch)
    if (device is not None or DEFAULT_DEVICE[0]) and is_meta_device(device):
        return _finish(_meta_draws(dtype, shape), dtype, device, requires_grad)
    draws = _draws_of_kind("rand", dtype, gen(generator).random, shape)
    return _finish(draws, dtype, device, requires_grad)


def randn(
    *sizes: Any,
    size: Any = None,
    generator: Generator | None = None,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Standard normal samples (a complex dtype: E|z|^2 = 1)."""
    require_size("randn", sizes, size)
    check_layout("randn", layout)
    check_pin_memory("randn", pin_memory)
    if out is not None:
        return write_factory_out(
            "randn",
            out,
            dtype,
            requires_grad,
            lambda d: randn(*sizes, size=size, generator=generator, dtype=d),
            fill=randn_out_fill(_shape(sizes, "randn", size), generator),
        )
    shape = _shape(sizes, "randn", size)
    # no data: nothing drawn, the generator untouched (torch)
    if (device is not None or DEFAULT_DEVICE[0]) and is_meta_device(device):
        return _finish(_meta_draws(dtype, shape), dtype, device, requires_grad)
    draws = _draws_of_kind("randn", dtype, gen(generator).standard_normal, shape)
    return _finish(draws, dtype, device, requires_grad)


def randint(
    low: int,
    high: int | None = None,
    size: Sequence[int] = (),
    *more: Any,
    generator: Generator | None = None,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Integers uniformly from [low, high) (``randint(high, size)`` also works). ``more``:
    positional arguments past the size, which PyTorch's overloads refuse (its generator is
    keyword-only)."""
    if more:
        raise randint_forms_error((low, high, size, *more))
    check_pin_memory("randint", pin_memory)
    check_layout("randint", layout)
    if out is not None:
        return write_factory_out(
            "randint",
            out,
            dtype,
            requires_grad,
            lambda d: randint(low, high, size, generator=generator, dtype=d),
            draws=True,
        )
    if type(low) is not int or type(high) is not int or type(size) is not tuple:
        refuse_randint_types(low, high, size)
    two_args = high is None or isinstance(high, (tuple, list))  # the (high, size) form
    if high is None:
        low, high = 0, low
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if size and type(size[0]) is not int:  # PyTorch's parser on the size's first int
        refuse_randint_size(two_args, (high, size) if two_args else (low, high, size), size)
    if int(low) >= int(high):
        raise RuntimeError(
            f"randint(): expects 'low' to be less than 'high', but got low={low} >= high={high}"
        )
    check_randint_range(dtype if dtype is not None else _dt.int64, int(low), int(high))
    if _to_meta(device):  # no data: nothing drawn, the generator untouched (torch)
        meta = meta_empty(_shape((size,), "randint"), np.int64)
        return _finish(meta, dtype, device, requires_grad, default=_dt.int64)
    return _finish(
        gen(generator).integers(int(low), int(high), size=_shape((size,), "randint")),
        dtype,
        device,
        requires_grad,
        default=_dt.int64,
    )


def randperm(
    n: int,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    out: Tensor | None = None,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` says otherwise)."""
    check_layout("randperm", layout)
    check_pin_memory("randperm", pin_memory)
    if out is not None:
        return write_factory_out(
            "randperm", out, dtype, requires_grad, lambda d: randperm(n, generator, dtype=d)
        )
    if type(n) is not int:  # PyTorch's parser: a NumPy or 0-d tensor int, else its error
        n = parser_int("randperm", "n", 1, n)
    refuse_negative_size("randperm", (int(n),))
    if _to_meta(device):  # no data: nothing drawn, the generator untouched (torch)
        meta = meta_empty((int(n),), np.int64)
        return _finish(meta, dtype, device, requires_grad, default=_dt.int64)
    perm = gen(generator).permutation(n)
    return _finish(perm, dtype, device, requires_grad, default=_dt.int64)


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


def _random_like(
    op: str,
    sampler: str,
    input: Tensor,  # noqa: A002
    generator: Generator | None,
    dtype: Any,
    layout: Any,
    device: Any,
    requires_grad: bool,
    memory_format: Any,
) -> Tensor:
    """``rand_like``/``randn_like``: the generator's ``sampler`` drawn in ``input``'s layout."""
    check_layout(op, layout)
    dt, rng, like = _like(input, dtype, op), gen(generator), input._data
    if is_meta_device(device) if device is not None else type(like) is MetaArray:
        arr = _meta_draws(dt, tuple(input.shape))  # nothing drawn, as torch on meta
        lay_meta_like(arr, like, _format(op, memory_format))  # its strides, as torch's
        return _finish(arr, dt, device, requires_grad, default_device=False)
    laid = None if sampler == "random" else normal_like_strided(op, rng, dt, memory_format, like)
    if laid is None:  # (else a result that is not contiguous: PyTorch's one-at-a-time normals)
        draws = _draws_of_kind(op, dt, getattr(rng, sampler), tuple(input.shape))
        if draws.dtype != _dt.as_dtype(dt):  # (float16 normals: a cast would drop the layout)
            draws = _dt.convert(draws, _dt.as_dtype(dt))
        laid = lay_out_like(op, draws, memory_format, like)
        fill_memory_in_order(laid, draws, uniform=sampler == "random")
    return _finish(laid, dt, device, requires_grad, default_device=False)


def rand_like(
    input: Tensor,  # noqa: A002 - PyTorch's name
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """``rand`` in ``input``'s shape, dtype and (by default) memory format."""
    check_pin_memory("rand_like", pin_memory)
    return _random_like(
        "rand_like", "random", input, generator, dtype, layout, device, requires_grad,
        memory_format,
    )  # fmt: skip


def randn_like(
    input: Tensor,  # noqa: A002
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """``randn`` in ``input``'s shape, dtype and (by default) memory format."""
    check_pin_memory("randn_like", pin_memory)
    return _random_like(
        "randn_like", "standard_normal", input, generator, dtype, layout, device,
        requires_grad, memory_format,
    )  # fmt: skip


def bernoulli(
    input: Any,  # noqa: A002 - PyTorch's name
    p: float | None = BERNOULLI_P_UNSET,  # type: ignore[assignment]
    *,
    generator: Generator | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """0/1 samples with probability ``input`` (a floating tensor of probabilities in [0, 1]);
    ``out=`` takes them in its own dtype (an integer one too), as PyTorch. With a number
    ``p`` (PyTorch's second form), each draw is 1 with probability ``p``, in ``input``'s
    shape and dtype (any dtype).

    Raises:
        NotImplementedError: integer or bool probabilities (as PyTorch).
        RuntimeError: a probability outside [0, 1].
        TypeError: ``p`` given as None or a str (PyTorch's parser's message).
    """
    if p is not BERNOULLI_P_UNSET and not isinstance(p, (Real, np.number, Tensor, Generator)):
        raise bernoulli_p_error(input, p)  # PyTorch's parser: None, a str, a tuple
    if (
        res := _vmap_batched(bernoulli, (input, p), {"generator": generator, "out": out})
    ) is not None:
        return res
    if p is not BERNOULLI_P_UNSET:
        if out is not None:
            raise TypeError("bernoulli(input, p) takes no out=; use out.bernoulli_(p)")
        if isinstance(p, Generator):
            raise TypeError("bernoulli: pass the generator as generator=, not positionally")
        pv = float(p)
        if not 0 <= pv <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={pv:g}")
        shape = tuple(input.shape)
        if type(getattr(input, "_data", None)) is MetaArray:  # nothing drawn (PyTorch's meta)
            drawn = meta_result(shape, input._data.dtype)
        else:
            draws = gen(generator).bernoulli(pv, shape)
            drawn = _finish(draws, input.dtype, None, False, default_device=False)
        return record_no_derivative("bernoulli", drawn, input)  # PyTorch's node raises
    if out is not None:
        _refuse_out_grad("bernoulli", input)
        draws = bernoulli(
            input.detach() if isinstance(input, Tensor) else input, generator=generator
        )
        return write_factory_out("bernoulli", out, None, False, lambda d: draws.to(d))
    pt = input._data if isinstance(input, Tensor) else np.asarray(input)
    if isinstance(input, Tensor) and not _dt.is_floating(pt.dtype):
        raise NotImplementedError(
            f"bernoulli: not implemented for {input.dtype} probabilities; pass a floating "
            "point tensor (e.g. probs.float()), or a number p: bernoulli(input, p)"
        )
    if type(pt) is MetaArray:  # no probabilities to draw by: the draws' shape, nothing drawn
        return record_zero_derivative(
            meta_result(pt.shape, pt.dtype), input, node="BernoulliBackward0"
        )
    p = to_device(pt, "cpu")
    if _bf16_array(p):  # compared in float32 (exactly the bfloat16 probabilities)
        p = p.astype(np.float32)
    if not ((p >= 0) & (p <= 1)).all():
        raise RuntimeError("bernoulli: expected all probabilities in [0, 1] (no NaN)")
    draws = gen(generator).bernoulli(p, pt.shape, dtype=p.dtype)  # a uniform of p's dtype
    dt = pt.dtype if _dt.is_floating(pt.dtype) else None
    drawn = _finish(draws, dt, None, False, default_device=False)
    # PyTorch keeps the draws in the graph of p (BernoulliBackward0), with zero gradients
    return record_zero_derivative(drawn, input, node="BernoulliBackward0")
