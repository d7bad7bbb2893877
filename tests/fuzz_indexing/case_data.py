"""The plain data of an indexing case and its materialization with one library (``torch``
or ``chainrule``): the leaf, the index, the value written.

Index item specs (materialized by :func:`index_item`):

``("i", k)`` int; ``("s", start, stop, step)`` slice; ``("n",)`` None; ``("e",)`` Ellipsis;
``("b", flag)`` Python bool; ``("B0", flag)`` 0-d bool tensor; ``("I0", k)`` 0-d int64
tensor; ``("t", shape, flat, dtype)`` an index tensor, maybe empty (int64/int32; int16/int8:
refused unless 0-d); ``("m", shape, flat)`` bool mask tensor; ``("l", nested)`` a Python
list (of ints, or of bools; maybe empty).

Modes: ``get`` (``x[idx]``), ``set`` (``y = x.clone(); y[idx] = v``; op ``leaf`` writes into
the leaf itself), ``put`` (``index_put_``/``index_put``, op ``acc``/``noacc`` with a trailing
``_`` for the in-place form), ``chain`` (``y = x.clone(); a = y[idx]; a[idx2]`` then op
``mul_``/``add_``/``zero_``/``set``), ``dim`` (the dim-wise ops named by ``op``: take, gather,
index_select, take_along_dim, masked_select, put_, put_acc_, masked_fill_, and the index
ops index_fill_, index_add_ (``alpha`` 2 when the dim item's position is odd) and
index_copy_, written into a clone; scatter_add_ and scatter_reduce_ with a gather-shaped
index and a source of its shape, the reduction (not prod) and ``include_self`` picked by
the seed).
``edge`` is
drawn only (0-d/empty tensors under ``...``/``None``/bools, masks written with broadcast
values) and stored as ``get``/``set``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

DTYPES = ("float64", "float64", "float32", "int64", "bool")
MODES = ("get", "get", "get", "set", "set", "put", "chain", "dim", "edge")
DIM_OPS = (
    "take", "gather", "index_select", "take_along_dim", "masked_select", "put_", "put_acc_",
    "masked_fill_", "index_fill_", "index_add_", "index_copy_", "scatter_add_",
    "scatter_reduce_",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    shape: tuple
    dtype: str = "float64"
    layout: int = 0  # 0 contiguous, 1 permuted (a transposed base), 2 every other row of a base
    mode: str = "get"
    index: tuple = ()
    bare: bool = False  # x[item] rather than x[(item,)] (one item only)
    value: tuple | None = None  # ("scalar", number) | ("tensor", shape, dtype, const)
    index2: tuple = ()
    bare2: bool = False
    op: str = ""
    seed: int = 0

    def __repr__(self) -> str:
        fields = [f"{self.shape!r}", f"{self.dtype!r}"]
        for name, default in (
            ("layout", 0), ("mode", "get"), ("index", ()), ("bare", False), ("value", None),
            ("index2", ()), ("bare2", False), ("op", ""), ("seed", 0),
        ):  # fmt: skip
            v = getattr(self, name)
            if v != default:
                fields.append(f"{name}={v!r}")
        return f"Case({', '.join(fields)})"


# ---------------------------------------------------------------------------------------
# materializing a case with one library


def _dtype(lib: Any, name: str) -> Any:
    return getattr(lib, name)


def index_item(lib: Any, spec: tuple) -> Any:
    kind = spec[0]
    if kind == "i":
        return spec[1]
    if kind == "s":
        return slice(*spec[1:])
    if kind == "n":
        return None
    if kind == "e":
        return Ellipsis
    if kind == "b":
        return spec[1]
    if kind == "B0":
        return lib.tensor(spec[1])
    if kind == "I0":
        return lib.tensor(spec[1], dtype=lib.int64)
    if kind == "t":  # ("t", shape, flat, dtype[, "T": laid out transposed])
        arr = np.array(spec[2], dtype=np.int64).reshape(spec[1])
        if len(spec) > 4 and arr.ndim > 1:
            perm = tuple(reversed(range(arr.ndim)))
            t = lib.tensor(np.ascontiguousarray(arr.transpose(perm)), dtype=_dtype(lib, spec[3]))
            return t.permute(*perm)
        return lib.tensor(arr, dtype=_dtype(lib, spec[3]))
    if kind == "m":  # ("m", shape, flat[, "uint8": the deprecated byte mask])
        arr = np.array(spec[2], dtype=bool).reshape(spec[1])
        return lib.tensor(arr.astype(np.uint8) if len(spec) > 3 else arr)
    if kind == "np":  # a NumPy integer array
        return np.array(spec[2], dtype=np.int64).reshape(spec[1])
    if kind == "npi":  # a NumPy integer scalar
        return np.int64(spec[1])
    if kind == "l":
        return _as_list(spec[1])
    raise ValueError(spec)


def _as_list(nested: Any) -> Any:
    return [_as_list(i) for i in nested] if isinstance(nested, tuple) else nested


def make_index(lib: Any, items: tuple, bare: bool) -> Any:
    parts = tuple(index_item(lib, s) for s in items)
    return parts[0] if bare and len(parts) == 1 else parts


def _data(shape: tuple, dtype: str, rng: np.random.Generator) -> np.ndarray:
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype == "int64":
        return rng.integers(-5, 6, shape).astype(np.int64)
    return np.round(rng.standard_normal(shape), 3).astype(dtype)


def make_leaf(lib: Any, case: Case) -> Any:
    """The leaf: contiguous, a permutation of a contiguous base, or every other row of one;
    requiring grad where it is floating."""
    data = _data(case.shape, case.dtype, np.random.default_rng(case.seed))
    nd = len(case.shape)
    if case.layout == 1 and nd >= 2:
        perm = tuple(reversed(range(nd)))
        x = lib.tensor(np.ascontiguousarray(data.transpose(perm))).permute(*perm)
    elif case.layout == 2 and nd >= 1:
        big = np.zeros((2 * case.shape[0],) + case.shape[1:], dtype=data.dtype)
        big[::2] = data
        x = lib.tensor(big)[::2]
    else:
        x = lib.tensor(data)
    if case.dtype.startswith("float"):
        x.requires_grad_()
    return x


def _rand(lib: Any, shape: tuple, dtype: Any, seed: int, const: bool = False) -> Any:
    rng = np.random.default_rng(seed)
    arr = np.round(rng.standard_normal(shape), 3)
    if const:
        arr = np.full(shape, arr.flat[0] if arr.size else 0.5)
    return lib.tensor(arr, dtype=dtype)


def make_value(lib: Any, case: Case, grad: bool = True) -> Any:
    spec = case.value
    if spec is None or spec[0] == "scalar":
        return 1.5 if spec is None else spec[1]
    _, shape, dtype, const = spec
    data = _data(shape, dtype, np.random.default_rng(case.seed + 7))
    if const and data.size:
        data = np.full(shape, data.flat[0])
    v = lib.tensor(data)
    if grad and dtype.startswith("float"):
        v.requires_grad_()
    return v
