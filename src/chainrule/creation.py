"""Creating tensors: filled and ranges. Re-exported here: tensors from data
(``creation_from_data.py``) and tensors made like another with ``Tensor.new_*``
(``creation_like.py``); random draws are in ``creation_random.py``, the shared
``layout``/``pin_memory``/``memory_format``/``out`` options in ``creation_options.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.tensor import Tensor
from .backend import DEFAULT_DEVICE, is_meta_device
from .creation_from_data import as_tensor, from_dlpack, from_numpy, tensor
from .creation_like import (
    check_fill_value,
    empty_like,
    full_like,
    new_empty,
    new_full,
    new_ones,
    new_tensor,
    new_zeros,
    ones_like,
    zeros_like,
)
from .creation_options import (
    _finish,
    _shape,
    check_layout,
    check_pin_memory,
    lay_out,
    refuse_bool,
    write_factory_out,
)
from .creation_required import REQUIRED, require_full_arguments, require_size
from .meta import meta_empty
from .ops.dtype_overloads import dtype_combination_error
from .ops.unset_arguments import ARANGE_UNSET, EYE_M_UNSET, arange_type_error, parser_eye_sizes
from .scalar_range import fit_scalar

__all__ = [
    "arange",
    "as_tensor",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "new_empty",
    "new_full",
    "new_ones",
    "new_tensor",
    "new_zeros",
    "ones",
    "ones_like",
    "tensor",
    "zeros",
    "zeros_like",
]


def _filled(
    op: str, fill: str, sizes: tuple, size: Any, dtype: Any, device: Any, requires_grad: bool
) -> Tensor:
    """``np.zeros``/``ones``/``empty`` (``fill``) of the given size, finished."""
    d = _dt.as_dtype(dtype or _dt.get_default_dtype())
    shape = _shape(sizes, op, size)
    # the meta device: a shape without data, nothing allocated
    if (device is not None or DEFAULT_DEVICE[0]) and is_meta_device(device):
        return _finish(meta_empty(shape, d), dtype, device, requires_grad)
    return _finish(getattr(np, fill)(shape, d), dtype, device, requires_grad)


def zeros(
    *sizes: Any,
    size: Any = None,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Zeros of ``size`` (``torch.zeros``; ``out``/``layout``: ``creation_options.py``)."""
    require_size("zeros", sizes, size)
    check_pin_memory("zeros", pin_memory)
    check_layout("zeros", layout)
    if out is not None:
        return write_factory_out(
            "zeros", out, dtype, requires_grad, lambda d: zeros(*sizes, size=size, dtype=d)
        )
    return _filled("zeros", "zeros", sizes, size, dtype, device, requires_grad)


def ones(
    *sizes: Any,
    size: Any = None,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Ones of ``size`` (``torch.ones``)."""
    require_size("ones", sizes, size)
    check_pin_memory("ones", pin_memory)
    check_layout("ones", layout)
    if out is not None:
        return write_factory_out(
            "ones", out, dtype, requires_grad, lambda d: ones(*sizes, size=size, dtype=d)
        )
    return _filled("ones", "ones", sizes, size, dtype, device, requires_grad)


def empty(
    *sizes: Any,
    size: Any = None,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
    memory_format: Any = None,
) -> Tensor:
    """Uninitialised values of ``size`` (``torch.empty``), their memory in ``memory_format``
    (``contiguous_format``, ``channels_last`` for a 4-d size, ``channels_last_3d`` for 5-d)."""
    require_size("empty", sizes, size)
    check_layout("empty", layout)
    check_pin_memory("empty", pin_memory)
    if out is not None:
        return write_factory_out(
            "empty", out, dtype, requires_grad, lambda d: empty(*sizes, size=size, dtype=d)
        )
    t = _filled("empty", "empty", sizes, size, dtype, device, requires_grad)
    if memory_format is not None:
        t._data = lay_out("empty", t._data, memory_format)
    return t


def full(
    size: Sequence[int] = REQUIRED,
    fill_value: Any = REQUIRED,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    out: Tensor | None = None,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """``fill_value`` everywhere (``torch.full``); the dtype follows the value's kind."""
    require_full_arguments(size, fill_value)
    check_pin_memory("full", pin_memory)
    check_layout("full", layout)
    if not isinstance(size, (tuple, list)):  # one int is no size here (PyTorch's parser)
        from .ops._tensor_args import torch_type_name  # noqa: PLC0415 - error path only

        raise TypeError(
            f"full(): argument 'size' (position 1) must be tuple of ints, not "
            f"{torch_type_name(size)}"
        )
    check_fill_value("full", fill_value)
    if out is not None:
        return write_factory_out(
            "full", out, dtype, requires_grad, lambda d: full(size, fill_value, dtype=d)
        )
    if isinstance(fill_value, Tensor):  # a 0-d tensor is read as a number (torch)
        fill_value = fill_value.item()
    if dtype is None:  # the fill value's kind decides, as in PyTorch (a NumPy bool: float)
        if isinstance(fill_value, bool):
            dtype = _dt.bool_
        elif isinstance(fill_value, (int, np.integer)):
            dtype = _dt.int64
        elif isinstance(fill_value, (complex, np.complexfloating)):
            dtype = _dt.get_default_complex_dtype()
        else:
            dtype = _dt.get_default_dtype()
    fill_value = fit_scalar("full", fill_value, _dt.as_dtype(dtype))
    shape = _shape((size,), "full")
    # the meta device: a shape without data, nothing allocated
    if (device is not None or DEFAULT_DEVICE[0]) and is_meta_device(device):
        return _finish(meta_empty(shape, _dt.as_dtype(dtype)), dtype, device, requires_grad)
    return _finish(np.full(shape, fill_value), dtype, device, requires_grad)


def arange(
    start: Any = ARANGE_UNSET,
    end: Any = ARANGE_UNSET,
    step: Any = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    out: Tensor | None = None,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """``[start, end)`` by ``step`` (``torch.arange``); int64 when every bound is an int.
    ``out=`` of as many elements keeps its shape; another non-empty one is resized with a
    warning, as PyTorch. ``arange(end=n)`` counts from 0, as PyTorch's ``(end)`` overload."""
    check_pin_memory("arange", pin_memory)
    check_layout("arange", layout)
    if start is ARANGE_UNSET:
        if end is ARANGE_UNSET:
            raise TypeError('arange() missing 1 required positional arguments: "end"')
        start, end = end, None
    elif end is ARANGE_UNSET:
        end = None
    elif end is None:  # given as None: PyTorch's parser refuses it
        raise arange_type_error([("start", start), ("end", end), ("step", step)])
    given = (start, end, step)
    if out is not None:
        return write_factory_out(
            "arange",
            out,
            dtype,
            requires_grad,
            lambda d: arange(*((0, start) if end is None else (start, end)), step, dtype=d),
            keep_shape_of_same_size=True,
        )
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    vals = [int(v) if isinstance(v, (bool, np.bool_)) else v for v in vals]  # True is 1 (torch)
    for v in vals:
        if not isinstance(v, (int, float, np.integer, np.floating)):
            if given[1] is None:  # the one-bound form: PyTorch calls its bound ``end``
                raise arange_type_error([("end", given[0])])
            raise arange_type_error([("start", given[0]), ("end", given[1]), ("step", step)])
    start, end, step = vals
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if np.isnan(float(step)) or not all(np.isfinite(float(v)) for v in (start, end)):
        raise RuntimeError(
            f"arange(): unsupported range: {start} -> {end} with step {step} "
            "(start, end and step must be finite)"
        )
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange(): upper bound and lower bound inconsistent with step "
            f"sign (start={start}, end={end}, step={step})"
        )
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = _dt.int64 if is_int else _dt.get_default_dtype()
    if not np.isfinite(float(step)):  # ceil((end - start) / inf) = 0 elements, as PyTorch
        return _finish(np.arange(0), dtype, device, requires_grad)
    refuse_bool("arange", dtype)
    d = _dt.as_dtype(dtype)
    if d.kind in "iu" and any(isinstance(v, (float, np.floating)) for v in (start, end, step)):
        return _finish(_integral_arange(start, end, step, d), dtype, device, requires_grad)
    return _finish(np.arange(start, end, step), dtype, device, requires_grad)


def _integral_arange(start: Any, end: Any, step: Any, d: np.dtype) -> np.ndarray:
    """``arange`` into an integer dtype from fractional bounds, as PyTorch's CPU kernel: the
    values are ``trunc(start) + i * trunc(step)`` (computed in int64, then wrapped into the
    dtype); their count is ``ceil((end - start) / step)`` from the bounds as given, except
    for int64, which counts with the truncated ones (``(xend - xstart + xstep - sign) //
    xstep``, rounding toward zero). ``arange(0, 10, 2.5, dtype=torch.int64)`` is ``[0, 2,
    4, 6, 8]``, the same in int32 ``[0, 2, 4, 6]``."""
    xstart, xend, xstep = (int(v) for v in (start, end, step))  # int() truncates, as C++
    if d == np.int64:
        if xstep == 0:
            raise ValueError("arange(): step must be nonzero (step truncates to 0 in int64)")
        n = xend - xstart + xstep - (1 if xstep > 0 else -1)
        size = abs(n) // abs(xstep) * (1 if (n >= 0) == (xstep > 0) else -1)
    else:
        size = int(np.ceil((float(end) - float(start)) / float(step)))
    return xstart + np.arange(max(size, 0), dtype=np.int64) * xstep


def steps_arg(op: str, steps: Any) -> int:
    """The ``steps`` of ``linspace``/``logspace`` as an int: a Python or NumPy int, or a
    one-element integer tensor (Deformable DETR passes a level's height ``H_``, a row of a
    long tensor, as PyTorch reads it through ``__index__``). Anything else (a float, a bool,
    a floating or multi-element tensor) is PyTorch's TypeError; a negative count its
    RuntimeError."""
    if isinstance(steps, Tensor) and steps.dim() == 0 and steps.dtype.kind in "iu":
        steps = int(steps.item())
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise dtype_combination_error(op) or TypeError(f"{op}(): steps must be an int")
    if steps < 0:
        raise RuntimeError(f"{op}(): number of steps must be non-negative, got {steps}")
    return int(steps)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    out: Tensor | None = None,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """``steps`` evenly spaced points from ``start`` to ``end`` (``torch.linspace``)."""
    check_pin_memory("linspace", pin_memory)
    check_layout("linspace", layout)
    if out is not None:
        return write_factory_out(
            "linspace", out, dtype, requires_grad, lambda d: linspace(start, end, steps, dtype=d)
        )
    steps = steps_arg("linspace", steps)
    refuse_bool("linspace", dtype)
    if dtype is None and (isinstance(start, complex) or isinstance(end, complex)):
        dtype = _dt.get_default_complex_dtype()  # a complex end: complex64, as PyTorch
    return _finish(_linspace_values(start, end, steps, dtype), dtype, device, requires_grad)


def _linspace_values(start: Any, end: Any, steps: int, dtype: Any) -> np.ndarray:
    """The points of :func:`linspace` as PyTorch computes them: :func:`linspace_points` for
    real floating dtypes (non-finite ends included: ``0 * inf`` is NaN there as in torch;
    float16 and bfloat16 round the product and the sum separately, as torch does) and for
    each component of a complex dtype; NumPy's linspace for integer dtypes. Ends the dtype
    cannot hold (1e308 in float32, inf or 300 in int8) raise PyTorch's overflow error
    (:func:`.scalar_range.fit_scalar`). Each rule matched torch on 300 random ranges per
    dtype."""
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    # an end the dtype cannot hold raises, as in torch, which reads only the ends it uses
    # (none for 0 steps, the start for 1); a Tensor end is cast
    for v in (start, end)[: min(steps, 2)]:
        fit_scalar("linspace()", v, d)
    if steps < 2:
        return np.array([start] * steps)
    if d.kind == "c":
        real = np.dtype(np.float32 if d == np.complex64 else np.float64)
        parts = [
            linspace_points(complex(start).real, complex(end).real, steps, real),
            linspace_points(complex(start).imag, complex(end).imag, steps, real),
        ]
        return parts[0] + 1j * parts[1].astype(d)
    if _dt.is_floating(d):
        return linspace_points(start, end, steps, d, fused=d.itemsize > 2)
    return np.linspace(start, end, steps)


_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant, splits a float64 into two 26-bit halves


def linspace_points(
    start: float, end: float, steps: int, dtype: Any, *, fused: bool = True
) -> np.ndarray:
    """PyTorch's CPU ``linspace`` bit for bit in a real floating dtype (``steps >= 2``): the
    step ``(end - start) / (steps - 1)`` rounded to the dtype, the first ``steps // 2``
    points ``start + i * step`` and the rest ``end - (steps - 1 - i) * step``, each a fused
    multiply-add (one rounding). float32: exact in float64, then rounded. float64: the step
    split into two 26-bit halves (exact products with the integer ``i``) and the sum carried
    with its rounding error (TwoSum). ``fused=False`` rounds the product and the sum separately
    in the dtype (torch's float16 and bfloat16 linspace). Non-finite ends or steps follow IEEE
    arithmetic as torch's does (``0 * inf`` is NaN). Matched PyTorch on 1,000 random ranges and
    lengths in float32 and float64. ``affine_grid``'s base grid uses it too."""
    dt = np.dtype(dtype).type
    with np.errstate(all="ignore"):  # non-finite ends give NaN/inf as in torch, not warnings
        s, e = dt(start), dt(end)
        step = np.float64((e - s) / dt(steps - 1))
        i = np.arange(steps, dtype=np.float64)
        half = steps // 2
        k = np.concatenate([i[:half], i[half:] - (steps - 1)])  # exact integers
        c = np.where(np.arange(steps) < half, np.float64(s), np.float64(e))
        if not fused:
            return (k * step).astype(dt) + c.astype(dt)
        if dt is not np.float64 or not np.isfinite(step) or not np.isfinite(c).all():
            return (k * step + c).astype(dt)
        hi = step * _SPLIT
        hi -= hi - step
        p_hi, p_lo = hi * k, (step - hi) * k
        total = p_hi + c
        back = total - p_hi
        error = (p_hi - (total - back)) + (c - back)
        return total + (error + p_lo)


def eye(
    n: int,
    m: Any = EYE_M_UNSET,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    *,
    out: Tensor | None = None,
    layout: Any = None,
    pin_memory: bool = False,
) -> Tensor:
    """The ``n`` x ``m`` identity (``torch.eye``)."""
    check_pin_memory("eye", pin_memory)
    check_layout("eye", layout)
    if type(n) is not int or (m is not EYE_M_UNSET and type(m) is not int):
        n, m = parser_eye_sizes(n, m)
    elif m is EYE_M_UNSET:
        m = None
    if out is not None:
        return write_factory_out(
            "eye", out, dtype, requires_grad, lambda d: eye(n, n if m is None else m, dtype=d)
        )
    for name, v in (("n", n), ("m", m)):
        if v is not None and (not isinstance(v, (int, np.integer)) or v < 0):
            raise RuntimeError(f"eye(): {name} must be an int greater or equal to 0, got {v!r}")
    if (device is not None or DEFAULT_DEVICE[0]) and is_meta_device(device):  # no values
        return _finish(
            meta_empty((n, n if m is None else m), np.float64), dtype, device, requires_grad
        )
    return _finish(np.eye(n, m), dtype, device, requires_grad)
