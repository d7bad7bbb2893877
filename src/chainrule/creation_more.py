"""More tensor constructors PyTorch has at its top level: ``logspace``, the window functions
(``hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``,
``kaiser_window``), ``scalar_tensor``, ``randint_like``, ``asarray`` and ``empty_strided``.

They follow creation.py's conventions: ``dtype``/``device``/``requires_grad`` keywords, floats
in the default dtype unless ``dtype`` says otherwise, random draws from chainrule's generator
(so ``cr.manual_seed`` makes them reproducible). Windows are computed in float64 and then
cast, as NumPy/SciPy define them; a ``periodic`` window of length N is the symmetric window
of length N + 1 without its last point (for spectral analysis), as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.tensor import Tensor
from .backend import (
    DEFAULT_DEVICE,
    Device,
    device_of,
    get_array_module,
    is_meta_device,
    to_device,
)
from .creation import from_dlpack, from_numpy, steps_arg
from .creation import tensor as _tensor
from .creation_options import (
    _finish,
    _format,
    _shape,
    check_layout,
    check_pin_memory,
    lay_out_like,
    refuse_bool,
    write_factory_out,
)
from .meta import meta_empty
from .meta.strides import lay_meta_like, set_geometry
from .randint_bounds import check_randint_range
from .random import Generator, gen
from .signal import _window_math as _wm

__all__ = [
    "asarray",
    "bartlett_window",
    "blackman_window",
    "empty_strided",
    "hamming_window",
    "hann_window",
    "kaiser_window",
    "logspace",
    "randint_like",
    "scalar_tensor",
]


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


class _Default:
    """A default left in place: PyTorch's window overloads take ``alpha``/``beta`` only after
    the arguments before them, so the functions tell a default from a value given."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:  # the signature reads as PyTorch's defaults
        return repr(self.value)


def _overload_args(op: str, *named: tuple[str, Any]) -> list[Any]:
    """The values of a chain of optional arguments of which PyTorch's overloads accept a
    prefix only (``periodic``, then ``alpha``, then ``beta``): a later one given without the
    one before it raises PyTorch's TypeError."""
    values = []
    for i, (name, v) in enumerate(named):
        if i and not isinstance(v, _Default) and isinstance(named[i - 1][1], _Default):
            prefix = ", ".join(n for n, _ in named[:i])
            raise TypeError(
                f"{op}() received an invalid combination of arguments: {name} is accepted only "
                f"after {prefix} (PyTorch's overloads take window_length, then {prefix}, in that "
                f"order); pass {named[i - 1][0]}= too"
            )
        values.append(v.value if isinstance(v, _Default) else v)
    return values


def _real(op: str, name: str, v: Any) -> float:
    """A real number given as a Python/NumPy number or a one-element real tensor."""
    if isinstance(v, Tensor) and v.numel() == 1 and v.dtype.kind in "iuf":
        return v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}(): {name} must be a real number, got {v!r}")
    return v.item() if isinstance(v, np.generic) else v


def logspace(
    start: Any,
    end: Any,
    steps: int,
    base: float = 10.0,
    *,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """``steps`` points base ** linspace(start, end, steps) (computed in float64, then cast;
    an integer ``dtype`` truncates, as PyTorch)."""
    check_pin_memory("logspace", pin_memory)
    op = "logspace"
    check_layout(op, layout)
    if out is not None:
        return write_factory_out(
            op, out, dtype, requires_grad, lambda d: logspace(start, end, steps, base, dtype=d)
        )
    start, end = _real(op, "start", start), _real(op, "end", end)
    base = _real(op, "base", base)
    steps = steps_arg(op, steps)
    refuse_bool(op, dtype)
    vals = np.power(float(base), np.linspace(float(start), float(end), int(steps)))
    return _finish(vals, dtype, device, requires_grad)


def _window(
    op: str, window_length: Any, periodic: Any, dtype: Any, device: Any, requires_grad: bool, fn
) -> Tensor:
    """Validate the common arguments and build the window from ``fn(m)``, the symmetric
    window of ``m`` points (m >= 2) in float64."""
    if not _is_int(window_length):
        raise TypeError(f"{op}(): window_length must be an int, got {window_length!r}")
    if not isinstance(periodic, bool):  # an argument-type error: before the value checks
        raise TypeError(f"{op}(): periodic must be a bool, got {periodic!r}")
    if window_length < 0:
        raise RuntimeError(
            f"{op} requires non-negative window_length, got window_length={window_length}"
        )
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if d.kind not in "fcV":  # V: bfloat16
        raise RuntimeError(f"{op} expects floating point dtypes, got {d}")
    n = int(window_length)
    if d.kind == "c" and n > 1:  # PyTorch takes a complex dtype, but its CPU arange fails
        raise NotImplementedError(
            f"{op}: complex dtype {d} is not supported for window_length > 1; use a float dtype"
        )
    vals = _wm.window(n, not periodic, fn)
    return _finish(vals, d, device, requires_grad)


def hann_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """The Hann window 0.5 - 0.5 cos(2 pi i / (N - 1)) (N + 1 points less the last when
    ``periodic``)."""
    check_pin_memory("hann_window", pin_memory)
    check_layout("hann_window", layout)
    return _window(
        "hann_window",
        window_length,
        periodic,
        dtype,
        device,
        requires_grad,
        _wm.cosine_sum(0.5, 0.5),
    )


def hamming_window(
    window_length: int,
    periodic: bool = _Default(True),  # type: ignore[assignment]
    alpha: float = _Default(0.54),  # type: ignore[assignment]
    beta: float = _Default(0.46),  # type: ignore[assignment]
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """The Hamming window alpha - beta cos(2 pi i / (N - 1)).

    As PyTorch's overloads, ``alpha`` is taken only with ``periodic`` and ``beta`` only with
    ``alpha`` (``hamming_window(5, alpha=0.5)`` raises its TypeError).
    """
    op = "hamming_window"
    periodic, alpha, beta = _overload_args(
        op, ("periodic", periodic), ("alpha", alpha), ("beta", beta)
    )
    check_layout(op, layout)
    check_pin_memory(op, pin_memory)
    a, b = _real(op, "alpha", alpha), _real(op, "beta", beta)
    return _window(op, window_length, periodic, dtype, device, requires_grad, _wm.cosine_sum(a, b))


def blackman_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """The Blackman window 0.42 - 0.5 cos(2 pi i / (N - 1)) + 0.08 cos(4 pi i / (N - 1))."""
    check_pin_memory("blackman_window", pin_memory)
    check_layout("blackman_window", layout)
    return _window(
        "blackman_window",
        window_length,
        periodic,
        dtype,
        device,
        requires_grad,
        _wm.cosine_sum(0.42, 0.5, 0.08),
    )


def bartlett_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """The Bartlett (triangular) window 1 - |2 i / (N - 1) - 1|."""
    check_pin_memory("bartlett_window", pin_memory)
    check_layout("bartlett_window", layout)
    return _window(
        "bartlett_window",
        window_length,
        periodic,
        dtype,
        device,
        requires_grad,
        _wm.bartlett,
    )


def kaiser_window(
    window_length: int,
    periodic: bool = _Default(True),  # type: ignore[assignment]
    beta: float = _Default(12.0),  # type: ignore[assignment]
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """The Kaiser window I0(beta sqrt(1 - (2 i / (N - 1) - 1)^2)) / I0(beta).

    As PyTorch's overloads, ``beta`` is taken only with ``periodic``.
    """
    op = "kaiser_window"
    periodic, beta = _overload_args(op, ("periodic", periodic), ("beta", beta))
    check_pin_memory("kaiser_window", pin_memory)
    check_layout(op, layout)
    b = float(_real(op, "beta", beta))
    return _window(op, window_length, periodic, dtype, device, requires_grad, _wm.kaiser(b))


def scalar_tensor(
    s: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A 0-d tensor holding the number ``s``, in the default float dtype unless ``dtype``
    says otherwise (an int or bool ``s`` too, as PyTorch)."""
    check_pin_memory("scalar_tensor", pin_memory)
    op = "scalar_tensor"
    if isinstance(s, Tensor) and s.numel() == 1:
        s = s.item()
    if not isinstance(s, (bool, int, float, complex, np.number, np.bool_)):
        raise TypeError(f"{op}(): argument 's' must be a number, not {type(s).__name__}")
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    if isinstance(s, (complex, np.complexfloating)) and d.kind != "c":
        raise RuntimeError(
            f"{op}(): value {s} cannot be converted to type {d} without overflow; pass a "
            "complex dtype"
        )
    return _finish(np.asarray(s), d, device, requires_grad)


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    memory_format: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """Integers drawn uniformly from [low, high) in ``input``'s shape and (unless ``dtype``
    is given) dtype and memory format; ``randint_like(x, high)`` draws from [0, high)."""
    check_pin_memory("randint_like", pin_memory)
    op = "randint_like"
    check_layout(op, layout)
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): input must be a Tensor, got {type(input).__name__}")
    if high is None:
        low, high = 0, low
    for name, v in (("low", low), ("high", high)):
        if not _is_int(v):
            raise TypeError(f"{op}(): {name} must be an int, got {v!r}")
    if int(low) >= int(high):
        raise RuntimeError(
            f"{op}(): expects 'low' to be less than 'high', but got low={low} >= high={high}"
        )
    d = dtype if dtype is not None else input.dtype
    check_randint_range(d, int(low), int(high))
    to = device if device is not None else input.device
    if is_meta_device(to):  # no data: nothing drawn, the generator untouched (torch)
        arr = lay_meta_like(
            meta_empty(tuple(input.shape), np.int64), input._data, _format(op, memory_format)
        )
        return _finish(arr, d, to, requires_grad)
    draws = gen(generator).integers(int(low), int(high), size=tuple(input.shape))
    draws = lay_out_like(op, draws, memory_format, input._data)
    return _finish(draws, d, device if device is not None else input.device, requires_grad)


def _alias_error(what: str, dtype: Any) -> ValueError:
    return ValueError(f"asarray(): can't alias {what} into dtype {dtype} (copy=False)")


def asarray(
    obj: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    copy: bool | None = None,
    requires_grad: bool | None = None,
) -> Tensor:
    """``obj`` as a tensor, sharing memory when it can (PyTorch's ``asarray``).

    A Tensor is returned as it is (or converted, which copies, when ``dtype``/``device``
    differ); a NumPy array (or any object with ``__array_interface__``) and a DLPack
    producer are wrapped without a copy; Python scalars and sequences are copied.
    ``copy=True`` always copies (a tensor's copy is a differentiable ``clone``),
    ``copy=False`` raises ``ValueError`` where a copy would be needed. ``requires_grad``:
    None keeps a tensor's own (False for other objects); True sets it (on the tensor itself
    when it is returned as it is, as PyTorch); False detaches.
    """
    want = _dt.as_dtype(dtype) if dtype is not None else None
    if isinstance(obj, np.generic) and copy is False:
        raise RuntimeError(
            "asarray(): can't alias a NumPy scalar (copy=False); pass an ndarray or drop copy"
        )
    if isinstance(obj, Tensor):
        out = _tensor_asarray(obj, want, device, copy)
    else:
        arr = obj
        if not isinstance(obj, np.ndarray) and hasattr(obj, "__dlpack__"):
            arr = from_dlpack(obj)._data
        elif not isinstance(obj, np.ndarray) and hasattr(obj, "__array_interface__"):
            arr = np.asarray(obj)
        if isinstance(arr, np.ndarray) or get_array_module(arr) is not np:
            out = _array_asarray(arr, want, device, copy)
        else:
            if copy is False:
                raise ValueError("asarray(): can't alias an arbitrary sequence into a tensor")
            out = _tensor(obj, dtype=want, device=device)
    if requires_grad is True and not out.requires_grad:
        out._requires_grad_(True)
    elif requires_grad is False and out.requires_grad:
        out = out.detach()
    return out


def _moves(array: Any, device: Any) -> bool:
    return device is not None and Device(device) != device_of(array)


def _tensor_asarray(obj: Tensor, want: Any, device: Any, copy: bool | None) -> Tensor:
    convert = (want is not None and want != obj.dtype) or _moves(obj._data, device)
    if convert and copy is False:
        raise _alias_error(f"a tensor of dtype {obj.dtype} on {obj.device}", want or obj.dtype)
    out = obj.clone() if copy else obj
    if want is not None and want != out.dtype:
        out = out.to(want)
    if _moves(out._data, device):
        out = out.to(device)
    return out


def _array_asarray(arr: Any, want: Any, device: Any, copy: bool | None) -> Tensor:
    convert = (want is not None and want != arr.dtype) or _moves(arr, device)
    if convert and copy is False:
        raise _alias_error(f"an array of dtype {arr.dtype}", want or arr.dtype)
    if copy:
        arr = arr.copy()
    out = from_numpy(arr) if isinstance(arr, np.ndarray) else Tensor._make(arr, False, None, 0)
    if want is not None and want != out.dtype:
        out = out.to(want)
    return out.to(device) if _moves(out._data, device) else out


def empty_strided(
    size: Sequence[int],
    stride: Sequence[int],
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor of ``size`` whose elements are ``stride`` elements apart in a
    new buffer (strides may be 0, or overlap, as PyTorch's; they cannot be negative)."""
    op = "empty_strided"
    check_layout(op, layout)
    check_pin_memory(op, pin_memory)
    shape = _shape((size,), op)
    if not isinstance(stride, (list, tuple)) or not all(_is_int(s) for s in stride):
        raise TypeError(f"{op}(): stride must be a tuple of ints, got {stride!r}")
    strides = tuple(int(s) for s in stride)
    if len(strides) != len(shape):
        raise RuntimeError(
            f"{op}(): dimensionality of sizes ({len(shape)}) must match dimensionality of "
            f"strides ({len(strides)})"
        )
    if any(s < 0 for s in strides):
        raise RuntimeError(
            f"{op}(): strides must be non-negative, got {list(strides)} for sizes {list(shape)}"
        )
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    storage = 0 if 0 in shape else 1 + sum((n - 1) * s for n, s in zip(shape, strides))
    # the meta device: the shape and (beside it, meta/strides.py) the strides
    if (device is not None or DEFAULT_DEVICE[0]) and is_meta_device(device):
        t = Tensor._make(set_geometry(meta_empty(shape, d), strides), False, None, 0)
        return t._requires_grad_(True) if requires_grad else t
    xp = np if device is None else get_array_module(to_device(np.empty(0), device))
    buf = xp.empty(storage, d)
    arr = xp.lib.stride_tricks.as_strided(
        buf, shape=shape, strides=tuple(s * d.itemsize for s in strides)
    )
    t = Tensor._make(arr, False, None, 0)
    return t._requires_grad_(True) if requires_grad else t
