"""Random draws: ``poisson`` (rates given by a tensor), the in-place fills ``uniform_``,
``normal_``, ``bernoulli_``, ``exponential_``, ``cauchy_``, ``log_normal_``, ``geometric_`` and
``random_`` (and ``Tensor.apply_``'s Python-level map, PyTorch's CPU-only escape hatch). No
gradients flow through a draw, as in PyTorch.

Each fill draws from the chainrule generator (or the ``generator=`` given), writes into the
tensor and bumps its version counter (on a tensor in the autograd graph it is recorded as
one zero-derivative node, as PyTorch: ``ops/sampling_graph.py``); arguments are validated as
PyTorch does, with errors that name the method. The fills are ``Tensor``-only methods (bound
through ``_TENSOR_ONLY`` in ``ops/__init__.py``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._kernels import random_draws
from .._type_names import type_name
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..backend import to_device
from ..creation_options import fill_normal_in_memory_order, memory_order
from ..meta.array import MetaArray
from ..meta.results import meta_result
from ..qtypes import scalar_type_name
from ..random import Generator, gen
from ..random_mt19937 import TorchStream, draw_dtype
from ._python_loops import loop_fill
from ._util import as_tensor
from .inplace import check_unrecorded_write
from .no_derivative import record_zero_derivative
from .sampling_graph import in_graph

__all__ = [
    "apply_",
    "bernoulli_",
    "cauchy_",
    "exponential_",
    "geometric_",
    "log_normal_",
    "normal_",
    "normal_values",
    "poisson",
    "random_",
    "uniform_",
    "uniform_values",
]

RANDOM_FILLS = ("bernoulli_", "cauchy_", "exponential_", "geometric_", "log_normal_", "random_")


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Poisson samples with rates ``input`` (same shape and floating dtype).

    Raises:
        RuntimeError: a negative or non-finite rate.
        NotImplementedError: rates of an integer, bool or complex dtype (as PyTorch).
    """
    if _vmap.state.vmap and isinstance(input, Tensor):  # inside cr.func.vmap: by its mode
        from ..func._random import batched_call  # noqa: PLC0415 - func imports the ops

        kw = {"generator": generator}
        if (res := batched_call(poisson, (input,), kw, expand=True)) is not None:
            return res
    rates = as_tensor(input)
    if rates.dtype.kind not in "fV":  # V: bfloat16
        raise NotImplementedError(  # PyTorch's CPU kernel has no integer, bool or complex form
            f"\"poisson_cpu\" not implemented for '{scalar_type_name(rates.dtype)}': poisson "
            f"takes a floating-point tensor of rates, got {rates.dtype}"
        )
    if type(rates._data) is MetaArray:  # no rates to draw by: the draws' shape, nothing drawn
        return record_zero_derivative(
            meta_result(rates.shape, rates.dtype), input, node="PoissonBackward0"
        )
    lam = np.asarray(rates._data, dtype=np.float64)
    if not np.isfinite(lam).all() or (lam < 0).any():
        raise RuntimeError(
            "poisson: invalid Poisson rate, expected rate to be non-negative and finite"
        )
    stream = gen(generator)
    if isinstance(stream, TorchStream):  # PyTorch's draws (see _kernels.random_draws)
        flat = np.ascontiguousarray(lam.reshape(-1))
        draws = random_draws.run(random_draws.poisson_torch, stream, flat).reshape(lam.shape)
    else:
        draws = np.asarray(stream.poisson(lam))
    # PyTorch keeps the draws in the graph of the rates (PoissonBackward0), zero gradients
    return record_zero_derivative(
        Tensor._new(draws.astype(rates.dtype)), input, node="PoissonBackward0"
    )


def apply_(x: Tensor, callable: Callable) -> Tensor:  # noqa: A002 - PyTorch's name
    """Replace every element by ``callable(element)`` in place (a Python loop: slow, as in
    PyTorch, where it is CPU-only too); each result is stored under PyTorch's conversion
    rules for the dtype (see :mod:`._python_loops`), over any strides.

    Raises:
        RuntimeError: ``x`` requires grad (the map is not differentiable), or a result does
            not fit an integer dtype.
        TypeError: a result of the wrong kind (``None`` for a float tensor, ...).
    """
    if x.requires_grad:
        raise RuntimeError(
            "Can't call apply_() on Variable that requires grad. Use var.detach().apply_() instead."
        )
    return loop_fill(x, callable)


def _vmap_fill(x: Tensor, name: str, *args: Any) -> None:
    """Inside ``cr.func.vmap``, a fill of a tensor no vmap level batches (a batched one has
    its own fills, func/_batched.py): refused by the levels' randomness modes as PyTorch
    refuses it (:func:`chainrule.func._random.unbatched_fill`)."""
    if _vmap.state.vmap and type(x) is Tensor:
        from ..func._random import unbatched_fill  # noqa: PLC0415 - func imports the ops

        unbatched_fill(name, args, {})


def _check_uniform_bounds(a: float, b: float, dtype: Any) -> None:
    """PyTorch's checks on ``uniform_``'s bounds: a floating (or complex) tensor, each bound
    finite and representable in its dtype, ``from <= to``."""
    dt = np.dtype(dtype)
    if dt.kind not in "fcV":  # V: bfloat16
        try:
            name = type_name(dt)[len("torch.") : -len("Tensor")]
        except TypeError:  # no legacy name (uint16, ...)
            name = dt.name
        raise NotImplementedError(f'"check_uniform_bounds" not implemented for {name!r}')
    if dt.kind == "V":  # bfloat16: float32's exponent, 8 significand bits
        limit, kind = 3.3895313892515355e38, "c10::BFloat16"
    else:
        real = np.finfo(dt).dtype  # a complex dtype's parts
        limit = float(np.finfo(real).max)
        kind = {"float16": "c10::Half", "float32": "float"}.get(real.name, "double")
    for label, bound in (("from", a), ("to", b)):
        if not -limit <= float(bound) <= limit:  # also NaN
            raise RuntimeError(f"{label} is out of bounds for {kind}")
    if a > b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}"
        )
    if float(b) - float(a) > limit:  # the draw is from + (to - from) * u
        tname = {"c10::Half": "Half", "float": "Float", "double": "Double"}.get(kind, kind)
        raise RuntimeError(
            f"uniform_ expects to-from <= std::numeric_limits<{tname}>::max(), but found "
            f"to={b:g} and from={a:g} which result in to-from to exceed the limit"
        )


def uniform_values(
    generator: Generator | None, a: float, b: float, shape: tuple, dtype: Any
) -> Any:
    """U[a, b) draws for a tensor of ``shape`` and ``dtype``; a complex tensor gets independent
    real and imaginary parts, each U[a, b) (PyTorch's rule)."""
    _check_uniform_bounds(a, b, dtype)
    g = gen(generator)
    base = draw_dtype(dtype)
    if np.dtype(dtype).kind == "c":
        pairs = np.asarray(g.uniform(a, b, (*shape, 2), dtype=base), np.float64)
        return pairs[..., 0] + 1j * pairs[..., 1]
    return g.uniform(a, b, shape, dtype=base)


def normal_values(
    generator: Generator | None, mean: float, std: float, shape: tuple, dtype: Any
) -> Any:
    """N(mean, std²) draws for a tensor of ``shape`` and ``dtype``; a complex tensor gets
    real and imaginary parts each N(mean, std²/2), so that E|z - mean|² = std² (PyTorch)."""
    if not float(std) >= 0.0:  # also NaN
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std):g}")
    g = gen(generator)
    base = draw_dtype(dtype)
    if np.dtype(dtype).kind == "c":
        pairs = g.normal(mean, std / math.sqrt(2.0), (*shape, 2), dtype=base)
        return np.asarray(pairs[..., 0], np.float64) + 1j * pairs[..., 1]
    narrow = np.dtype(dtype) if np.dtype(dtype).itemsize == 2 else base  # float16/bfloat16
    return g.normal(mean, std, shape, dtype=narrow if isinstance(g, TorchStream) else base)


def uniform_(
    x: Tensor,
    a: float = 0.0,
    b: float = 1.0,
    /,
    *,
    generator: Generator | None = None,
    **bounds: float,
) -> Tensor:
    """Fill ``x`` in place with samples from U[a, b) drawn from the chainrule generator.

    PyTorch names the bounds ``from`` and ``to``, which Python reserves (``from`` is a
    keyword), so they arrive as ``x.uniform_(**{"from": a, "to": b})`` in ``bounds``; the
    bounds are positional or those two keywords (``a=``/``b=`` are ``nn.init.uniform_``'s
    names, a TypeError here as in PyTorch).
    """
    unknown = sorted(set(bounds) - {"from", "to"})
    if unknown:
        raise TypeError(f"uniform_() got unexpected keyword arguments {unknown}")
    a, b = bounds.get("from", a), bounds.get("to", b)
    check_unrecorded_write(x, "uniform_")
    _vmap_fill(x, "uniform_")
    return _write(x, lambda shape: uniform_values(generator, a, b, shape, x._data.dtype))


def normal_(
    x: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill ``x`` in place with samples from N(mean, std**2) (floating and complex dtypes
    only: an integer or bool tensor is NotImplementedError, as PyTorch's kernel)."""
    check_unrecorded_write(x, "normal_")
    _vmap_fill(x, "normal_")
    if x._data.dtype.kind in "biu":
        raise NotImplementedError(
            f"normal_: not implemented for {x.dtype} (floating and complex only; PyTorch: "
            '"normal_kernel_cpu" not implemented)'
        )
    arr = x._data
    if type(arr) is MetaArray and float(std) >= 0.0:  # nothing drawn (PyTorch's meta fill)
        x._vc[0] += 1
        return x
    if type(arr) is np.ndarray and not arr.flags.c_contiguous and float(std) >= 0.0:
        if fill_normal_in_memory_order(gen(generator), arr, mean, std):  # PyTorch's path
            x._vc[0] += 1  # for memory that is not contiguous: one value at a time
            return x
    values = normal_values(generator, mean, std, x.shape, x._data.dtype)
    x._data[...] = to_device(values, x.device)
    x._vc[0] += 1
    return x


def _in_memory_order(arr: Any) -> Any:
    """``arr`` viewed with its dims in memory order (see :func:`memory_order`): PyTorch's
    kernels fill a tensor that is not contiguous one element at a time in memory order, so
    draws made for this view's shape, in row-major order, land where PyTorch's do."""
    order = memory_order(arr)
    return arr if order is None else arr.transpose(order)


def _write(x: Tensor, draw: Callable[[tuple], Any]) -> Tensor:
    """Fill ``x`` with ``draw(shape)``, drawn for its memory order (:func:`_in_memory_order`)."""
    if type(x._data) is MetaArray:  # nothing to write, nothing drawn (PyTorch's meta fills)
        x._vc[0] += 1
        return x
    arr = _in_memory_order(x._data)
    arr[...] = to_device(np.asarray(draw(arr.shape)).astype(x.dtype, copy=False), x.device)
    x._vc[0] += 1
    return x


def _continuous(x: Tensor, name: str, what: str) -> None:
    """The continuous distributions fill floating-point tensors only (as PyTorch)."""
    if x.dtype.kind not in "fV":  # V: bfloat16
        raise RuntimeError(
            f"{name}: {what} distribution is a continuous probability distribution. dtype "
            f"must be a floating point but you specified {x.dtype}"
        )


def _number(name: str, arg: str, v: Any) -> float:
    if isinstance(v, Tensor) or isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
        raise TypeError(f"{name}(): argument '{arg}' must be a number, not {type(v).__name__}")
    return float(v)


def bernoulli_(x: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    """Fill ``x`` with 0/1 draws that are 1 with probability ``p`` (a float, or a tensor
    broadcastable to ``x`` giving one probability per element); any dtype.

    Raises:
        RuntimeError: a probability outside [0, 1], or ``p``'s shape does not broadcast.
    """
    check_unrecorded_write(x, "bernoulli_")
    _vmap_fill(x, "bernoulli_", p)
    if isinstance(p, Tensor):
        probs = np.asarray(p._data, dtype=np.float64)
        try:
            probs = np.broadcast_to(probs, x.shape)  # (in x's memory order below: _write)
        except ValueError:
            raise RuntimeError(
                f"bernoulli_: p of shape {tuple(p.shape)} cannot be expanded to the tensor's "
                f"shape {tuple(x.shape)}"
            ) from None
        if probs.size and not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError("bernoulli_ expects all p values to be in [0, 1]")
    else:
        pv = _number("bernoulli_", "p", p)
        if not 0 <= pv <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        return _write(x, lambda shape: gen(generator).bernoulli(pv, shape))  # float64 < p
    order = memory_order(x._data)
    probs = probs if order is None else probs.transpose(order)
    return _write(x, lambda shape: gen(generator).bernoulli(probs, shape, dtype=p._data.dtype))


def exponential_(x: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill ``x`` with draws of density ``lambd * exp(-lambd * v)`` (mean ``1 / lambd``)."""
    check_unrecorded_write(x, "exponential_")
    _vmap_fill(x, "exponential_")
    lam = _number("exponential_", "lambd", lambd)
    if not lam > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    _continuous(x, "exponential_", "Exponential")
    return _write(x, lambda shape: gen(generator).exponential_fill(lam, shape))


def cauchy_(
    x: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Generator | None = None
) -> Tensor:
    """Fill ``x`` with Cauchy draws: ``median + sigma * tan(pi * (u - 1/2))``."""
    check_unrecorded_write(x, "cauchy_")
    _vmap_fill(x, "cauchy_")
    m, s = _number("cauchy_", "median", median), _number("cauchy_", "sigma", sigma)
    if not s > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    _continuous(x, "cauchy_", "Cauchy")
    return _write(x, lambda shape: gen(generator).cauchy_fill(m, s, shape))


def log_normal_(
    x: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Generator | None = None
) -> Tensor:
    """Fill ``x`` with ``exp(N(mean, std**2))`` draws (``mean``/``std`` of the logarithm)."""
    check_unrecorded_write(x, "log_normal_")
    _vmap_fill(x, "log_normal_")
    mu, s = _number("log_normal_", "mean", mean), _number("log_normal_", "std", std)
    if not s > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    if x.dtype.kind not in "fV":  # V: bfloat16
        raise NotImplementedError(f"log_normal_: not implemented for {x.dtype} (floating only)")
    rng = gen(generator)
    if isinstance(rng, TorchStream) and x._data.dtype == np.float64:  # bit-exact, per value
        return _write(x, lambda shape: rng.log_normal_fill_float64(mu, s, shape))
    return _write(x, lambda shape: rng.log_normal_fill(mu, s, shape))


def geometric_(x: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    """Fill ``x`` with the number of Bernoulli(``p``) trials up to the first success (1, 2,
    ...); any real dtype."""
    check_unrecorded_write(x, "geometric_")
    _vmap_fill(x, "geometric_")
    pv = _number("geometric_", "p", p)
    if not 0 < pv < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    if x._data.dtype.kind == "b":
        raise NotImplementedError("geometric_: not implemented for bool (PyTorch: geometric_cpu)")
    return _write(x, lambda shape: gen(generator).geometric_fill(pv, shape))


def _dtype_top(dtype: np.dtype) -> int:
    """The largest value ``random_()`` draws for a dtype: every integer below it is exact."""
    if dtype.kind == "b":
        return 1
    if dtype.kind in "iu":
        return int(np.iinfo(dtype).max)
    return 2 ** (np.finfo(dtype).nmant + 1)


def _check_range(dtype: np.dtype, lo: int, hi: int) -> None:
    """``from`` and ``to - 1`` (``hi``) must be representable, as PyTorch checks."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        for name, v in (("from", lo), ("to - 1", hi)):
            if not info.min <= v <= info.max:
                raise RuntimeError(f"random_: {name} is out of bounds for {dtype} (got {v})")
    elif dtype.kind == "f":
        top = _dtype_top(dtype)
        for name, v in (("from", lo), ("to - 1", hi)):
            if not -top <= v <= top:
                if dtype == np.float16:
                    raise RuntimeError(f"random_: {name} is out of bounds for {dtype} (got {v})")
                warnings.warn(
                    f"random_: {name} is out of bounds [-(2^{int(math.log2(top))}), "
                    f"2^{int(math.log2(top))}]; {dtype} cannot represent every integer there",
                    UserWarning,
                    stacklevel=3,
                )


def random_(x: Tensor, *args: Any, generator: Generator | None = None, **kwargs: Any) -> Tensor:
    """Fill ``x`` with integers drawn uniformly: ``random_()`` from [0, top] (top: the dtype's
    largest exactly representable integer), ``random_(to)`` from [0, to),
    ``random_(from, to)`` from [from, to) and ``random_(from, None)`` from [from, top].

    Raises:
        RuntimeError: ``from >= to``, or a bound the dtype cannot hold.
        TypeError: an unknown keyword or too many arguments.
    """
    check_unrecorded_write(x, "random_")
    _vmap_fill(x, "random_")
    if "from" in kwargs:  # x.random_(**{"from": 2, "to": 5}): PyTorch's keyword name
        kwargs["from_"] = kwargs.pop("from")
    unknown = set(kwargs) - {"to", "from_"}
    if unknown or len(args) > 2:
        raise TypeError(
            f"random_(): expected (), (to) or (from, to) plus generator=, got "
            f"{len(args)} positional and keywords {sorted(kwargs)}"
        )
    if len(args) == 2:
        lo, hi = args
    elif len(args) == 1 and "to" not in kwargs:
        lo, hi = 0, args[0]
    else:
        lo = args[0] if args else kwargs.get("from_", 0)
        hi = kwargs.get("to")
    for name, v in (("from", lo), ("to", hi)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise TypeError(f"random_(): argument '{name}' must be int, not {type(v).__name__}")
    lo = int(lo)
    top = _dtype_top(x.dtype)
    if hi is None:
        hi_incl = top
        _check_range(x.dtype, lo, hi_incl)
    else:
        if not lo < int(hi):
            raise RuntimeError(
                f"random_ expects 'from' to be less than 'to', but got from={lo} >= to={hi}"
            )
        hi_incl = int(hi) - 1
        _check_range(x.dtype, lo, hi_incl)
    if not args and not kwargs:  # random_(): PyTorch draws u % (top + 1), 64-bit words for
        # the 64-bit dtypes and 32-bit ones otherwise
        wide = np.dtype(x._data.dtype) in (np.int64, np.float64)
        return _write(x, lambda shape: gen(generator).random_bits(shape, top + 1, wide))
    return _write(
        x,
        lambda shape: gen(generator).integers(
            lo, hi_incl, size=shape, endpoint=True, dtype=np.int64
        ),
    )


# On a tensor in the autograd graph each fill is recorded as PyTorch records it (one node,
# zero gradient: ops/sampling_graph.py); elsewhere the fills above run as written.
uniform_ = in_graph(uniform_)
normal_ = in_graph(normal_)
bernoulli_ = in_graph(bernoulli_)
exponential_ = in_graph(exponential_)
cauchy_ = in_graph(cauchy_)
log_normal_ = in_graph(log_normal_)
geometric_ = in_graph(geometric_)
random_ = in_graph(random_)
