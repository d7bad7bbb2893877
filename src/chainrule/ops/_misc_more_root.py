"""Root functions of ``ops/misc_more.py`` that compute no gradient (re-exported there):
``binomial``, ``histogram``/``histogramdd`` (from ``histograms.py``), ``nonzero_static``,
the deprecated ``range``, the conjugation/negation-bit queries, ``to_dlpack``,
``frombuffer``, ``empty_permuted``, the deterministic debug mode and ``init_num_threads``.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import creation
from .. import dtypes as _dt
from .._kernels import random_draws
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..creation_options import check_layout, write_factory_out
from ..determinism import (
    are_deterministic_algorithms_enabled,
    is_deterministic_algorithms_warn_only_enabled,
    use_deterministic_algorithms,
)
from ..meta.results import refuse_meta
from ..random import Generator, gen
from ..random_mt19937 import TorchStream
from ._util import as_tensor
from .binding import tensor_method
from .histograms import Histogram, HistogramDD, histogram, histogramdd
from .no_derivative import record_no_derivative

__all__ = [
    "Histogram",
    "HistogramDD",
    "binomial",
    "empty_permuted",
    "frombuffer",
    "get_deterministic_debug_mode",
    "histogram",
    "histogramdd",
    "init_num_threads",
    "is_conj",
    "is_neg",
    "nonzero_static",
    "range",
    "resolve_conj",
    "resolve_neg",
    "set_deterministic_debug_mode",
    "to_dlpack",
]


def binomial(count: Tensor, prob: Tensor, generator: Generator | None = None) -> Tensor:
    """``torch.binomial``: draws from Binomial(``count``, ``prob``), elementwise, with
    chainrule's random generator (or ``generator``); a float tensor of ``count``'s dtype.

    The draws are not differentiable: when ``count`` or ``prob`` requires grad the result
    does too, under a node that raises when backward reaches it (as PyTorch).

    Raises:
        ValueError: ``count`` is not floating (as PyTorch).
        RuntimeError: ``prob`` has another dtype; a probability outside [0, 1] or a negative
            or non-integral count (PyTorch's CPU kernel returns unspecified values there).
    """
    if _vmap.state.vmap and isinstance(count, Tensor):  # inside cr.func.vmap: by its mode
        from ..func._random import batched_call  # noqa: PLC0415 - func imports the ops

        kw = {"generator": generator}
        if (res := batched_call(binomial, (count, prob), kw, expand=True)) is not None:
            return res
    c, p = as_tensor(count), as_tensor(prob)
    if c.dtype.kind != "f":
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: {c.dtype}")
    if p.dtype != c.dtype:
        raise RuntimeError(f"binomial: Found dtype {p.dtype} but expected {c.dtype}")
    refuse_meta("binomial", c, p)  # PyTorch has no meta kernel for it
    n, q = np.broadcast_arrays(np.asarray(c._data, np.float64), np.asarray(p._data, np.float64))
    if not ((q >= 0) & (q <= 1)).all():
        raise RuntimeError("binomial: prob must be in [0, 1]")
    if not ((n >= 0) & (n == np.floor(n)) & np.isfinite(n)).all():
        raise RuntimeError("binomial: count must be non-negative integers (as floats)")
    stream = gen(generator)
    if isinstance(stream, TorchStream):  # PyTorch's draws (see _kernels.random_draws)
        single = c.dtype != np.float64  # float32 parameters round 1 - p and n p
        flat_n, flat_q = (np.ascontiguousarray(v.reshape(-1)) for v in (n, q))
        draws = random_draws.run(random_draws.binomial_torch, stream, flat_n, flat_q, single)
        draws = draws.reshape(n.shape)
    else:
        draws = stream.binomial(n.astype(np.int64), q)
    drawn = Tensor._new(np.asarray(draws).astype(c.dtype))
    return record_no_derivative("binomial", drawn, count, prob)


@tensor_method
def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:  # noqa: A002
    """``torch.nonzero_static``: ``nonzero(input)`` cut or padded with rows of
    ``fill_value`` to exactly ``size`` rows, shape ``(size, input.dim())``, int64.

    Raises:
        RuntimeError: a negative ``size``.
    """
    x = as_tensor(input)
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    idx = np.argwhere(np.asarray(x._data)).astype(np.int64)[:size]
    out = np.full((size, x.ndim), fill_value, np.int64)
    out[: len(idx)] = idx
    return Tensor._new(out)


@tensor_method
def resolve_conj(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` itself: chainrule conjugates eagerly (``conj`` makes a new tensor), so no
    tensor carries PyTorch's lazy conjugate bit to resolve."""
    return input


@tensor_method
def resolve_neg(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` itself: chainrule has no lazy negative bit (see :func:`resolve_conj`)."""
    return input


@tensor_method
def is_conj(input: Tensor) -> bool:  # noqa: A002 - PyTorch's name
    """False: no chainrule tensor has PyTorch's lazy conjugate bit set."""
    return False


@tensor_method
def is_neg(input: Tensor) -> bool:  # noqa: A002 - PyTorch's name
    """False: no chainrule tensor has PyTorch's lazy negative bit set."""
    return False


def range(  # noqa: A001 - mirrors torch.range
    start: Any = 0,
    end: Any = None,
    step: Any = 1,
    *,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Deprecated ``torch.range``: ``start, start + step, ...`` up to and *including*
    ``end``, of the default float dtype unless ``dtype`` is given; warns, as PyTorch, to use
    ``arange`` (which excludes ``end``). ``out=`` receives the values in its own dtype
    (resized to fit); ``layout=`` takes only ``strided``."""
    check_layout("range", layout)
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    if out is not None:
        return write_factory_out(
            "range", out, dtype, requires_grad, lambda d: _range(start, end, step, d, None, False)
        )
    return _range(start, end, step, dtype, device, requires_grad)


def _range(start: Any, end: Any, step: Any, dtype: Any, device: Any, grad: bool) -> Tensor:
    """``range``'s values (``end`` included) as a new tensor."""
    if end is None:
        raise TypeError("range() missing required argument 'end'")
    if step == 0:
        raise RuntimeError("range: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = builtins.int(math.floor((end - start) / step)) + 1
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    values = np.asarray(start, np.float64) + np.arange(n, dtype=np.float64) * step
    return creation.tensor(values.astype(d), device=device, requires_grad=grad)


def to_dlpack(tensor: Tensor) -> Any:
    """``torch.to_dlpack``: a DLPack capsule of ``tensor``'s memory (shared, no copy), for
    ``from_dlpack`` of another library."""
    return as_tensor(tensor)._data.__dlpack__()


def frombuffer(
    buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False
) -> Tensor:
    """``torch.frombuffer``: a 1-d tensor over an object with the buffer protocol, sharing
    its memory: ``count`` items of ``dtype`` (all by default) from byte ``offset``. Warns, as
    PyTorch, when the buffer is read-only (writes to the tensor would then fail).

    Raises:
        ValueError: an offset or count outside the buffer, or an empty buffer.
    """
    mem = memoryview(buffer)
    d = _dt.as_dtype(dtype)
    size = mem.nbytes
    if size == 0 or not 0 <= offset < size:
        raise ValueError(
            f"both buffer length ({size}) and offset ({offset}) must be positive and the "
            "offset must be less than the buffer length"
        )
    if count <= 0 and count != -1:
        raise ValueError(f"expected 'count' to be either -1 or a positive number, got {count}")
    avail = (size - offset) // d.itemsize
    if count == -1:
        if (size - offset) % d.itemsize:
            raise ValueError(
                f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a "
                f"multiple of element size ({d.itemsize})"
            )
        count = avail
    elif count > avail:
        raise ValueError(
            f"requested buffer length ({count} * {d.itemsize} bytes) after offset ({offset} "
            f"bytes) must not be greater than actual buffer length ({size} bytes)"
        )
    if mem.readonly:
        warnings.warn(
            "The given buffer is not writable, and PyTorch does not support non-writable "
            "tensors. This means you can write to the underlying (supposedly non-writable) "
            "buffer using the tensor. You may want to copy the buffer to protect its data or "
            "make it writable before converting it to a tensor.",
            UserWarning,
            stacklevel=2,
        )
    arr = np.frombuffer(buffer, dtype=d, count=count, offset=offset)
    t = Tensor._make(arr, False, None, 0)  # _new would copy: this one shares the buffer
    return t._requires_grad_(True) if requires_grad else t


def empty_permuted(
    size: Sequence[int],
    physical_layout: Sequence[int],
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """``torch.empty_permuted``: an uninitialised tensor of ``size`` whose memory is laid
    out in the dim order ``physical_layout`` (outermost first): ``empty_permuted((2, 3, 4),
    (0, 2, 1))`` is channels-last-like, strides ``(12, 1, 3)``.

    Raises:
        RuntimeError: ``physical_layout`` not a permutation of the dims.
        NotImplementedError: ``pin_memory=True`` or a non-strided ``layout``.
    """
    if pin_memory:
        raise NotImplementedError(
            "empty_permuted: pin_memory=True is not supported (no pinned memory)"
        )
    if layout is not None and str(layout) not in ("torch.strided", "strided"):
        raise NotImplementedError(f"empty_permuted: only the strided layout, got {layout}")
    size = tuple(builtins.int(s) for s in size)
    perm = tuple(builtins.int(p) for p in physical_layout)
    if len(perm) != len(size) or sorted(perm) != list(builtins.range(len(size))):
        raise RuntimeError(
            f"Number of dimensions in size does not match the length of the physical_layout; "
            f"or physical_layout {perm} is not a permutation of the {len(size)} dims"
        )
    phys = creation.empty(tuple(size[p] for p in perm), dtype=dtype, device=device)
    out = phys.permute(tuple(np.argsort(perm).tolist())).detach()
    return out._requires_grad_(True) if requires_grad else out


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: int | str) -> None:
    """``torch.set_deterministic_debug_mode``: 0 / ``'default'`` turns deterministic
    algorithms off, 1 / ``'warn'`` on with warnings only, 2 / ``'error'`` on (see
    :func:`chainrule.use_deterministic_algorithms`; chainrule's ops are deterministic).

    Raises:
        RuntimeError: another string or int; TypeError: another type (as PyTorch).
    """
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                f"but got {debug_mode}"
            )
        debug_mode = _DEBUG_MODES[debug_mode]
    elif isinstance(debug_mode, bool) or not isinstance(debug_mode, builtins.int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(
            f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
        )
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """``torch.get_deterministic_debug_mode``: 0 (off), 1 (warn only) or 2 (error)."""
    if not are_deterministic_algorithms_enabled():
        return 0
    return 1 if is_deterministic_algorithms_warn_only_enabled() else 2


def init_num_threads() -> None:
    """``torch.init_num_threads``: initialise the intra-op thread pool of the calling
    thread. chainrule's pool (:func:`chainrule.set_num_threads`) needs no per-thread
    initialisation, so this does nothing, as PyTorch does once initialised."""
