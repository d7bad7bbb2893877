"""The cases of the printing fuzzer and how they are drawn.

A :class:`Case` is the data of one tensor (a NumPy array of values already representable in
its dtype, so both libraries hold the same bits), its dtype, the ``set_printoptions`` keywords
to print under, the default dtype, a view taken of it (flip, transpose, a stepped slice,
an expand, ``.real`` ...) and what it carries (``requires_grad``, a ``grad_fn``, being an
``nn.Parameter``). :func:`draw` picks all of that from a NumPy generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "COMPLEX",
    "FLOAT8",
    "FLOATS",
    "INTS",
    "UINTS",
    "Case",
    "draw",
    "literal",
    "representable",
]

FLOATS = ("float16", "bfloat16", "float32", "float64")
COMPLEX = ("complex64", "complex128")
INTS = ("int8", "int16", "int32", "int64", "uint8")
FLOAT8 = ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu")
UINTS = ("uint16", "uint32", "uint64")
DTYPES = FLOATS + COMPLEX + INTS + ("bool",) + FLOAT8 + UINTS
# drawn more often: what tutorials print
DTYPE_WEIGHTS = [2, 2, 6, 3, 2, 2, 1, 1, 1, 3, 1, 2] + [0.3] * 5 + [0.3] * 3

FLOAT_KINDS = (
    "normal",
    "ints",
    "mixed",
    "small",
    "big",
    "special",
    "denormal",
    "allequal",
    "hugeint",
    "zeros",
    "unit",
    "combo",
)
INT_KINDS = ("small", "wide", "allequal", "extremes", "zeros")
VIEWS = ("none", "flip", "transpose", "permute", "step", "expand", "diagonal", "select", "part")
SUFFIXES = (
    "none",
    "requires_grad",
    "grad_fn",
    "grad_view",
    "parameter",
    "parameter_nograd",
    "subclass",
    "buffer",
    "dual",
    "sparse_coo",
    "sparse_csr",
)
SPECIALS = (math.inf, -math.inf, math.nan, -0.0, 0.0)


@dataclass
class Case:
    """One tensor to print, and how (see the module docstring).

    ``data``: the values (float64, complex128, int64 or bool NumPy array, the shape the
    tensor's); ``options``: ``set_printoptions`` keywords; ``view``: ``(name, *args)``;
    ``suffix``: one of :data:`SUFFIXES`."""

    dtype: str
    data: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)
    default_dtype: str = "float32"
    view: tuple = ("none",)
    suffix: str = "none"

    def __repr__(self) -> str:
        return (
            f"Case({self.dtype!r}, {literal(self.data)}, options={self.options!r}, "
            f"default_dtype={self.default_dtype!r}, view={self.view!r}, suffix={self.suffix!r})"
        )


def literal(data: np.ndarray) -> str:
    """``data`` as a Python literal for ``numpy.array`` (``inf``/``nan`` as names from
    :mod:`math`, 0-d as ``array(v)``), so a shrunk case can be pasted into a test."""
    kind = {"f": "float64", "c": "complex128", "i": "int64", "u": "int64", "b": "bool"}
    body = repr(data.tolist())
    return f"np.array({body}, {kind[data.dtype.kind]!r})"


def representable(values: np.ndarray, dtype: str) -> np.ndarray:
    """``values`` rounded to ``dtype`` (by torch) and back, as float64/complex128, so both
    libraries are given numbers they hold exactly (no double-rounding question)."""
    t = torch.from_numpy(np.ascontiguousarray(values)).to(getattr(torch, dtype))
    wide = torch.complex128 if t.is_complex() else torch.float64
    return t.to(wide).numpy().copy()


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    ndim = int(rng.choice(6, p=[0.1, 0.3, 0.28, 0.16, 0.1, 0.06]))
    dims = []
    for _ in range(ndim):
        r = rng.random()
        if r < 0.08:
            dims.append(0)
        elif r < 0.8:
            dims.append(int(rng.integers(1, 7)))
        else:
            dims.append(int(rng.integers(7, 40 if ndim > 1 else 2500)))
    while math.prod(dims) > 4000:  # keep a case fast: halve the largest dimension
        k = int(np.argmax(dims))
        dims[k] //= 2
    return tuple(dims)


def _float_values(rng: np.random.Generator, n: int, kind: str, dtype: str) -> np.ndarray:
    sign = rng.choice([-1.0, 1.0], n)
    if kind == "normal":
        return rng.standard_normal(n) * 10.0 ** int(rng.integers(-3, 4))
    if kind == "ints":
        return (
            rng.integers(-(10 ** int(rng.integers(1, 6))), 10 ** int(rng.integers(1, 6)), n) * 1.0
        )
    if kind == "mixed":
        return sign * 10.0 ** rng.uniform(-8, 20, n)
    if kind == "small":
        return sign * 10.0 ** rng.uniform(-8, -4, n)
    if kind == "big":
        return sign * 10.0 ** rng.uniform(4, 20, n)
    if kind == "special":
        v = rng.standard_normal(n) * 10.0 ** int(rng.integers(-2, 3))
        k = rng.random(n) < 0.3
        v[k] = rng.choice(SPECIALS, int(k.sum()))
        return v
    if kind == "denormal":
        tiny = {"float16": 2.0**-24, "bfloat16": 2.0**-133, "float32": 2.0**-149}.get(dtype, 5e-324)
        v = rng.integers(1, 50, n) * tiny * sign
        k = rng.random(n) < 0.3
        v[k] = rng.standard_normal(int(k.sum()))
        return v
    if kind == "allequal":
        pool = (*SPECIALS, 1.0, -2.5, 1e-6, 1e10, 123456789.0, 0.1)
        return np.full(n, pool[int(rng.integers(len(pool)))])
    if kind == "hugeint":
        return np.floor(sign * 10.0 ** rng.uniform(12, 19, n))
    if kind == "zeros":
        return np.where(rng.random(n) < 0.5, 0.0, -0.0)
    if kind == "combo":  # each element of its own kind: the widths and modes mixed
        parts = [_float_values(rng, n, k, dtype) for k in rng.choice(FLOAT_KINDS[:-1], 3)]
        return np.choose(rng.integers(0, 3, n), parts)
    return rng.random(n)  # unit


def _int_values(rng: np.random.Generator, n: int, kind: str, dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    if dtype == "uint64":  # held in an int64 array (and torch's int() of more raises)
        info = np.iinfo("uint32" if rng.random() < 0.5 else "uint8")
    if kind == "small":
        return rng.integers(max(info.min, -10), 11, n)
    if kind == "wide":
        return rng.integers(info.min, info.max, n, endpoint=True)
    if kind == "allequal":
        return np.full(n, rng.integers(info.min, info.max, endpoint=True))
    if kind == "extremes":
        pool = np.array([info.min, info.max, 0, 1, info.max - 1], np.int64)
        return rng.choice(pool, n)
    return np.zeros(n, np.int64)


def _values(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    n = math.prod(shape)
    if dtype == "bool":
        r = rng.random()
        return (rng.random(n) < (0.5 if r < 0.6 else 1.0 if r < 0.8 else 0.0)).reshape(shape)
    if dtype in INTS + UINTS:
        kind = INT_KINDS[int(rng.integers(len(INT_KINDS)))]
        return _int_values(rng, n, kind, dtype).astype(np.int64).reshape(shape)
    part = "float32" if dtype == "complex64" else "float64" if dtype == "complex128" else dtype

    def one() -> np.ndarray:
        kind = FLOAT_KINDS[int(rng.integers(len(FLOAT_KINDS)))]
        return _float_values(rng, n, kind, part)

    if dtype in FLOATS + FLOAT8:
        return representable(one().reshape(shape), dtype)
    v = np.empty(n, np.complex128)  # not re + 1j * im: 1j * inf is nan+infj
    v.real, v.imag = one(), one()
    return representable(v.reshape(shape), dtype)


def _options(rng: np.random.Generator) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if rng.random() < 0.35:
        return opts
    if rng.random() < 0.2:
        opts["profile"] = str(rng.choice(["default", "short", "full"]))
    if rng.random() < 0.4:
        opts["precision"] = int(rng.choice([*range(11), 15, 20]))
    if rng.random() < 0.5:
        opts["threshold"] = [0, 1, 2.5, 4, 10, 30, 100, 1000, math.inf][int(rng.integers(9))]
    if rng.random() < 0.3:
        opts["edgeitems"] = int(rng.choice([0, 1, 2, 3, 4, 5, 10]))
    if rng.random() < 0.35:
        opts["linewidth"] = int(rng.choice([0, 5, 10, 20, 40, 60, 79, 80, 81, 100, 150, 200]))
    if rng.random() < 0.4:
        opts["sci_mode"] = [True, False, None][int(rng.integers(3))]
    return opts


def _view(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> tuple:
    name = VIEWS[int(rng.integers(len(VIEWS)))] if rng.random() < 0.5 else "none"
    ndim = len(shape)
    if name == "part":
        return ("real",) if dtype in COMPLEX and rng.random() < 0.5 else ("conj",)
    if ndim == 0:
        return ("expand", int(rng.integers(1, 4))) if name == "expand" else ("none",)
    if name in ("flip", "step", "select"):
        d = int(rng.integers(ndim))
        if name == "select" and shape[d] == 0:
            return ("none",)
        return (name, d)
    if name in ("transpose", "diagonal") and ndim < 2:
        return ("none",)
    if name == "permute":
        return ("permute", tuple(int(k) for k in rng.permutation(ndim)))
    if name == "expand":
        return ("expand", int(rng.integers(1, 4)))
    return (name,)


def draw(rng: np.random.Generator, n: int = 0) -> Case:
    """A random case (``n``, the case number, is unused: the generator alone decides)."""
    dtype = str(rng.choice(DTYPES, p=np.array(DTYPE_WEIGHTS) / sum(DTYPE_WEIGHTS)))
    shape = _shape(rng)
    data = _values(rng, shape, dtype)
    options = _options(rng)
    default = "float64" if rng.random() < 0.15 else "float32"
    # torch has few ops for float8 (flip_cpu ... raise): printed as made
    view = _view(rng, shape, dtype) if dtype not in FLOAT8 else ("none",)
    differentiable = dtype in FLOATS + COMPLEX
    suffix = "none"
    if rng.random() < 0.4:
        suffix = SUFFIXES[int(rng.integers(1, len(SUFFIXES)))]
        kept = ("parameter_nograd", "subclass", "buffer", "sparse_coo", "sparse_csr")
        if not differentiable and suffix not in kept:
            suffix = "none"
    if suffix.startswith("sparse") and (len(shape) != 2 or dtype in FLOAT8 + UINTS):
        suffix = "none"  # CSR is 2-d; COO of n-d is alike, 2-d kept for both
    if suffix == "grad_view" and view[0] == "real":
        # torch's z.real is SelectBackward0 over ViewAsRealBackward0, chainrule's one
        # RealBackward0: a graph-name difference (tests/autograd's), not a printing one
        suffix = "requires_grad"
    return Case(dtype, data, options, default, view, suffix)
