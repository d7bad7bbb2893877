"""Random tensor constructors (``rand``, ``randn``, ``randint``, ``randperm``, ``normal``,
``bernoulli``, ``rand_like``/``randn_like``) drawn from chainrule's generators; the
deterministic ones, whose size, dtype and device handling these share, are ``creation.py``'s.
``normal`` is ``creation_normal.py``'s (its overloads and graph node), imported here."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.tensor import Tensor
from .backend import DEFAULT_DEVICE, is_meta_device, to_device
from .creation_normal import normal
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
    _vmap_batched,
)
from .creation_random_draws import _draws_of_kind, randn_out_fill
from .creation_required import require_size
from .meta import MetaArray, meta_empty
from .meta.results import meta_result
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
)
from .randint_bounds import check_randint_range
from .random import Generator, gen

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


class _NoSize:
    """``randint``'s ``size`` not given (PyTorch requires one; ``()`` is a size)."""

    def __repr__(self) -> str:
        return "<no size>"


_NO_SIZE: Any = _NoSize()


def randint(
    low: int,
    high: int | None = None,
    size: Sequence[int] = _NO_SIZE,
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
    if size is _NO_SIZE:  # PyTorch needs a size (randint(5, (2,)): high is the size)
        if not isinstance(high, (tuple, list)):
            _refuse_no_size(low, high, (generator, out, dtype, layout, device))
        size = ()
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


def _refuse_no_size(low: Any, high: Any, options: tuple) -> None:
    """PyTorch's parser errors for ``randint`` without a size: ``randint(5)`` fits none of
    its overloads (their listing), ``randint(0, 5)`` reads 5 as the ``(high, size)`` form's
    size, ``randint(5, dtype=...)`` misses the size."""
    if high is not None:
        raise TypeError(
            "randint(): argument 'size' (position 2) must be tuple of ints, not "
            + type(high).__name__
        )
    if all(o is None for o in options):  # (requires_grad/pin_memory alone: not told apart)
        raise randint_forms_error((low,))
    raise TypeError('randint() missing 1 required positional arguments: "size"')


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
