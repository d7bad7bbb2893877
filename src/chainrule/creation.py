"""Creating tensors: from data, filled, ranges, and `Tensor.new_*` (random draws are in
``creation_random.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.shared_memory import mark_shared
from .autograd.tensor import Tensor
from .backend import get_array_module, to_device
from .scalar_range import fit_scalar


def _shape(size: Sequence, op: str = "tensor", keyword: Any = None) -> tuple:
    """Validate a size given as ints or one sequence of ints (PyTorch's ``*size``), or as
    the keyword ``size=(2, 3)`` (``keyword``; ``torch.empty(size=...)`` in pytorch/examples)."""
    size = _size_keyword(op, size, keyword)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if (
            isinstance(s, bool)
            or not isinstance(s, (int, np.integer))
            and not (isinstance(s, Tensor) and s.ndim == 0 and s.dtype.kind in "iu")
        ):
            raise TypeError(
                f"{op}(): size must be a tuple of ints, got {size!r} (an element "
                f"of type {type(s).__name__})"
            )
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise ValueError(
            f"{op}(): trying to create a tensor with negative dimension in size "
            f"{list(shape)}; every size must be >= 0"
        )
    return shape


def _size_keyword(op: str, sizes: Sequence, size: Any) -> Sequence:
    """The ``*size`` arguments, or PyTorch's keyword ``size=`` in their place."""
    if size is None:
        return sizes
    if len(sizes):
        raise TypeError(f"{op}() got multiple values for argument 'size'")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{op}(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    return (tuple(size),)


_NUMPY_OK = "biufc"  # bool, int, uint, float, complex: what a tensor can hold


def _check_nested(data: Any, op: str) -> None:
    """Ragged nested lists: PyTorch's 'expected sequence of length n at dim d' message."""

    def shape_of(x: Any, depth: int) -> tuple | None:
        if isinstance(x, (list, tuple)):
            subs = [shape_of(e, depth + 1) for e in x]
            first = subs[0] if subs else None
            kinds = {isinstance(e, (list, tuple)) for e in x}
            if len(kinds) > 1:
                raise TypeError(
                    f"{op}(): mixed numbers and sequences at dim {depth + 1} of a "
                    "nested list; every element at one depth must be a sequence "
                    "of the same length, or every one a number"
                )
            for e, sub in zip(x, subs):
                if sub != first:
                    got = len(e) if isinstance(e, (list, tuple)) else "a scalar"
                    want = first[0] if first else "a scalar"
                    raise ValueError(
                        f"{op}(): expected sequence of length {want} at dim "
                        f"{depth + 1} (got {got}); nested lists must be "
                        "rectangular"
                    )
            return (len(x),) + (first or ())
        return ()

    if isinstance(data, (list, tuple)):
        shape_of(data, 0)


def _finish(arr: Any, dtype: Any, device: Any, requires_grad: bool, default: Any = None) -> Tensor:
    d = _dt.as_dtype(dtype) if dtype is not None else (default or _dt.get_default_dtype())
    arr = arr.astype(d, copy=False)
    if device is not None:
        arr = to_device(arr, device)
    t = Tensor._make(arr, False, None, 0)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (floats default to float32, ints to int64)."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in _NUMPY_OK:
        raise TypeError(
            f"tensor(): can't convert np.ndarray of dtype {data.dtype}; supported "
            "kinds are bool, integer, floating point and complex"
        )
    try:
        return Tensor._new(data, dtype=dtype, requires_grad=requires_grad, device=device)
    except (ValueError, TypeError):
        _check_nested(data, "tensor")  # a ragged list: say where (costs nothing when valid)
        raise


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but avoids a copy when ``data`` is already a suitable array/tensor."""
    if isinstance(data, Tensor):
        return data.to(dtype) if dtype is not None else data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data) if device is None else Tensor._new(mark_shared(data), device=device)
    return Tensor._new(data, dtype=dtype, device=device)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (changes to one show in the other)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    if ndarray.dtype.kind not in _NUMPY_OK:
        raise TypeError(
            f"from_numpy: can't convert np.ndarray of dtype {ndarray.dtype}. The "
            "only supported kinds are bool, integer, floating point and complex"
        )
    return Tensor._make(mark_shared(ndarray), False, None, 0)


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """Zero-copy import of any DLPack producer (a PyTorch or CuPy tensor, a NumPy array);
    ``copy=True`` copies it. ``device=`` is not implemented: call ``.to(device)`` on the result.
    """
    if device is not None:
        raise NotImplementedError(
            "from_dlpack: device= is not supported; call .to(device) on the result"
        )
    if copy:
        return from_dlpack(ext_tensor).clone()
    dev_type = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") else 1
    if int(dev_type) == 2:  # kDLCUDA
        import cupy  # type: ignore

        return Tensor._make(mark_shared(cupy.from_dlpack(ext_tensor)), False, None, 0)
    return Tensor._make(mark_shared(np.from_dlpack(ext_tensor)), False, None, 0)


def zeros(
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return _finish(
        np.zeros(_shape(sizes, "zeros", size), _dt.as_dtype(dtype or _dt.get_default_dtype())),
        dtype,
        device,
        requires_grad,
    )


def ones(
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return _finish(
        np.ones(_shape(sizes, "ones", size), _dt.as_dtype(dtype or _dt.get_default_dtype())),
        dtype,
        device,
        requires_grad,
    )


def empty(
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return _finish(
        np.empty(_shape(sizes, "empty", size), _dt.as_dtype(dtype or _dt.get_default_dtype())),
        dtype,
        device,
        requires_grad,
    )


def full(
    size: Sequence[int],
    fill_value: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if dtype is None:  # the fill value's kind decides, as in PyTorch
        if isinstance(fill_value, (bool, np.bool_)):
            dtype = _dt.bool_
        elif isinstance(fill_value, (int, np.integer)):
            dtype = _dt.int64
        elif isinstance(fill_value, (complex, np.complexfloating)):
            dtype = _dt.get_default_complex_dtype()
        else:
            dtype = _dt.get_default_dtype()
    fill_value = fit_scalar("full", fill_value, _dt.as_dtype(dtype))
    return _finish(np.full(_shape((size,), "full"), fill_value), dtype, device, requires_grad)


def _is_sparse(x: Tensor) -> bool:
    return type(x) is not Tensor and getattr(x, "is_sparse", False)


def _like(x: Tensor, dtype: Any, op: str = "") -> Any:
    """The dtype of a tensor made like ``x``; a sparse ``x`` is refused (dense ``op`` only)."""
    if _is_sparse(x):
        raise NotImplementedError(
            f"{op}: not supported for sparse COO tensors (layout=chainrule.sparse_coo); "
            "call .to_dense() first"
        )
    return dtype if dtype is not None else x.dtype


def _filled_like(
    x: Tensor, fill: str, dtype: Any, device: Any, requires_grad: bool, op: str
) -> Tensor:
    """``xp.zeros``/``ones``/``empty`` (``fill``) of ``x``'s shape, on ``x``'s array module."""
    dt = _like(x, dtype, op)
    make = getattr(get_array_module(x._data), fill)
    return _finish(make(x.shape, dt), dt, device, requires_grad)


def zeros_like(
    input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    if _is_sparse(input):
        return input._zeros_like(dtype)  # a sparse tensor without entries, as PyTorch
    return _filled_like(input, "zeros", dtype, device, requires_grad, "zeros_like")


def ones_like(
    input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return _filled_like(input, "ones", dtype, device, requires_grad, "ones_like")


def empty_like(
    input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    if _is_sparse(input):
        return input._zeros_like(dtype)  # a sparse tensor without entries, as PyTorch
    return _filled_like(input, "empty", dtype, device, requires_grad, "empty_like")


def full_like(
    input: Tensor,
    fill_value: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    dt = _like(input, dtype, "full_like")
    fill_value = fit_scalar("full_like", fill_value, _dt.as_dtype(dt))
    xp = get_array_module(input._data)
    return _finish(xp.full(input.shape, fill_value, dt), dt, device, requires_grad)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange(): start, end and step must be real numbers, got {v!r}")
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
    return _finish(np.arange(start, end, step), dtype, device, requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be a non-negative int, got {steps!r}")
    return _finish(np.linspace(start, end, steps), dtype, device, requires_grad)


def eye(
    n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    for name, v in (("n", n), ("m", m)):
        if v is not None and (not isinstance(v, (int, np.integer)) or v < 0):
            raise RuntimeError(f"eye(): {name} must be an int greater or equal to 0, got {v!r}")
    return _finish(np.eye(n, m), dtype, device, requires_grad)


# ----------------------------------------------- Tensor.new_*: x's dtype and device by default
def _new(x: Tensor, arr: Any, dtype: Any, requires_grad: bool, device: Any = None) -> Tensor:
    arr = arr.astype(_dt.as_dtype(dtype) if dtype is not None else x.dtype, copy=False)
    if device is not None:
        arr = to_device(arr, device)
    t = Tensor._make(arr, False, None, 0)
    return t.requires_grad_() if requires_grad else t


def _new_size(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(int(s) for s in size)


def new_zeros(
    x: Tensor,
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Zeros of ``size`` with ``x``'s dtype and device (``Tensor.new_zeros``)."""
    shape = _new_size(_size_keyword("new_zeros", sizes, size))
    return _new(x, get_array_module(x._data).zeros(shape), dtype, requires_grad, device)


def new_ones(
    x: Tensor,
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Ones of ``size`` with ``x``'s dtype and device (``Tensor.new_ones``)."""
    shape = _new_size(_size_keyword("new_ones", sizes, size))
    return _new(x, get_array_module(x._data).ones(shape), dtype, requires_grad, device)


def new_empty(
    x: Tensor,
    *sizes: Any,
    size: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uninitialised values of ``size`` with ``x``'s dtype and device."""
    shape = _new_size(_size_keyword("new_empty", sizes, size))
    return _new(x, get_array_module(x._data).empty(shape), dtype, requires_grad, device)


def new_full(
    x: Tensor,
    size: Any,
    fill_value: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` everywhere, ``size`` and ``x``'s dtype and device."""
    fill_value = fit_scalar(
        "new_full", fill_value, _dt.as_dtype(dtype if dtype is not None else x.dtype)
    )
    arr = get_array_module(x._data).full(_new_size((size,)), fill_value)
    return _new(x, arr, dtype, requires_grad, device)


def new_tensor(
    x: Tensor, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A copy of ``data`` with this tensor's dtype (unless ``dtype`` is given)."""
    dtype = dtype if dtype is not None else x.dtype
    return Tensor._new(data, dtype=dtype, requires_grad=requires_grad, device=device)
