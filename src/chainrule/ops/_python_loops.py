"""The element loops behind the legacy CPU methods ``Tensor.apply_``, ``map_`` and ``map2_``:
PyTorch calls a Python callable once per element (with the element as a Python ``bool``,
``int``, ``float`` or ``complex``) and stores each result back under the tensor's dtype, with
the conversion rules of its Python argument parser:

- floating tensors take anything with ``__float__`` (or ``__index__``), not ``complex``:
  ``TypeError: must be real number, not NoneType``;
- complex tensors take ``complex`` too;
- integer tensors take a Python ``float`` (truncated; out of range or NaN: ``RuntimeError:
  value cannot be converted to type int32 without overflow``) or anything with ``__index__``
  (``TypeError: 'str' object cannot be interpreted as an integer``); integers past int64 raise
  ``ValueError: Overflow when unpacking long long``; unsigned dtypes wrap a negative integer
  down to ``-max`` (``-1`` stores 255 in uint8), signed ones range-check;
- bool tensors take the truth value of a bool, int, float or complex, or of ``__index__``.

The loops run over any strides (a transposed tensor works, as in PyTorch) and refuse, like
PyTorch, a tensor that requires grad (and ``map_``'s other tensors when they do).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._type_names import type_name
from ..autograd.tensor import Tensor

__all__ = ["check_loop_tensors", "loop_fill", "map_type_name"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _qualified(v: Any) -> str:
    cls = type(v)
    module = getattr(cls, "__module__", "builtins")
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _real(v: Any) -> float:
    cls = type(v)
    if isinstance(v, complex) or not (hasattr(cls, "__float__") or hasattr(cls, "__index__")):
        raise TypeError(f"must be real number, not {_qualified(v)}")
    return float(v)


def _complex(v: Any) -> complex:
    if isinstance(v, complex) or hasattr(type(v), "__complex__"):
        return complex(v)
    return complex(_real(v))


def _index(v: Any) -> int:
    i = operator.index(v)
    if not _INT64_MIN <= i <= _INT64_MAX:
        raise ValueError("Overflow when unpacking long long")
    return i


def _integer(dtype: np.dtype) -> Callable[[Any], int]:
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    unsigned = lo == 0
    message = f"value cannot be converted to type {dtype.name} without overflow"

    def convert(v: Any) -> int:
        if isinstance(v, float):
            if not lo <= v <= hi:  # also NaN
                raise RuntimeError(message)
            return int(v)
        i = _index(v)
        if unsigned and -hi <= i < 0:  # two's complement wrap, as PyTorch allows
            return i % (hi + 1)
        if not lo <= i <= hi:
            raise RuntimeError(message)
        return i

    return convert


def _boolean(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_, int, float, complex)):
        return bool(v)
    return bool(operator.index(v))


def _converter(dtype: np.dtype) -> Callable[[Any], Any]:
    if dtype.kind == "b":
        return _boolean
    if dtype.kind in "iu":
        return _integer(dtype)
    if dtype.kind == "c":
        return _complex
    return _real  # float16/32/64 and bfloat16


def _python_values(data: np.ndarray) -> list:
    """The elements in row-major order as Python scalars (bfloat16 as ``float``)."""
    if data.dtype.kind == "V" or data.dtype.name == "bfloat16":
        data = data.astype(np.float32)
    return data.reshape(-1).tolist()


def map_type_name(dtype: np.dtype) -> str:
    """PyTorch's name of a tensor type in ``map_``'s dtype errors: the legacy name where there
    is a legacy constructor (``torch.FloatTensor``), else ``CPU<Scalar>Type``."""
    special = {
        "bool": "CPUBoolType",
        "bfloat16": "CPUBFloat16Type",
        "complex64": "CPUComplexFloatType",
        "complex128": "CPUComplexDoubleType",
        "uint16": "CPUUInt16Type",
        "uint32": "CPUUInt32Type",
        "uint64": "CPUUInt64Type",
    }
    return special.get(dtype.name) or type_name(dtype)


def check_loop_tensors(op: str, self: Tensor, others: Sequence[tuple[str, Any]]) -> list:
    """PyTorch's checks for ``map_``/``map2_``: each other argument a Tensor of ``self``'s
    dtype, nothing requiring grad; returns the others expanded to ``self``'s shape."""
    for position, (label, other) in enumerate(others, start=1):
        if not isinstance(other, Tensor):
            raise TypeError(
                f"{op}(): argument '{label}' (position {position}) must be Tensor, "
                f"not {type(other).__name__}"
            )
    for t in (self, *(o for _, o in others)):
        if t.requires_grad:
            raise RuntimeError(
                f"Can't call {op}() on Variable that requires grad. "
                f"Use var.detach().{op}() instead."
            )
    expanded = []
    for label, other in others:
        if other.dtype != self.dtype:
            what = "for 'other'" if op == "map_" else f"for argument '{label}'"
            raise TypeError(
                f"{op}: expected {map_type_name(np.dtype(self._data.dtype))} {what} "
                f"(got {map_type_name(np.dtype(other._data.dtype))})"
            )
        expanded.append(other.expand(self.shape))
    return expanded


def _writable(data: np.ndarray) -> np.ndarray | None:
    """A writable array over ``data``'s memory when ``data`` is a read-only view (an
    expanded tensor's broadcast array) of writable memory, as PyTorch writes through an
    expanded tensor's storage; None when no writable array owns the memory."""
    owner = data.base
    while owner is not None and not (isinstance(owner, np.ndarray) and owner.flags.writeable):
        owner = getattr(owner, "base", None)
    if owner is None:
        return None

    class _Memory:  # the interface of ``data`` marked writable, keeping the owner alive
        base = owner

    interface = dict(data.__array_interface__)
    interface["data"] = (interface["data"][0], False)
    memory = _Memory()
    memory.__array_interface__ = interface
    out = np.asarray(memory)
    return out if out.dtype == data.dtype else out.view(data.dtype)


def loop_fill(x: Tensor, callable: Callable, others: Sequence[Tensor] = ()) -> Tensor:  # noqa: A002
    """``x[i] = callable(x[i], *(o[i] for o in others))`` for every element, in place (the
    ``others`` already of ``x``'s shape). The version counter is left alone, as PyTorch's
    loops do. An expanded ``x`` is written through its shared memory, each element read just
    before its call (so a broadcast element sees the earlier writes), as in PyTorch."""
    data = x._data
    if data.size == 0:
        return x
    convert = _converter(np.dtype(data.dtype))
    shared = not data.flags.writeable
    if shared:
        data = _writable(x._data)
        if data is None:
            raise RuntimeError(
                f"{type(x).__name__} memory is read-only: cannot write elements in place"
            )
    columns = [_python_values(data)] + [_python_values(o._data) for o in others]
    flat = data.reshape(-1)
    in_place = not shared and np.shares_memory(flat, data)
    shape = data.shape
    with np.errstate(over="ignore", invalid="ignore"):  # float16 overflow stores inf
        for i, args in enumerate(zip(*columns)):
            if shared:  # read the element now: an earlier write may have changed it
                index = np.unravel_index(i, shape)
                args = (_python_values(data[index][None])[0], *args[1:])
                data[index] = convert(callable(*args))
                continue
            value = convert(callable(*args))
            if in_place:
                flat[i] = value
            else:
                data[np.unravel_index(i, shape)] = value
    return x
