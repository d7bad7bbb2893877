"""The machinery of the central op-spec table: :class:`OpSpec`, :class:`BadInput`, the
input maker and the helpers the spec files share (tests/ops/op_specs.py assembles the
table from the family files op_specs_<family>.py and the other op_specs_*.py files).

Each :class:`OpSpec` names an op once, as tinygrad's ``helper_test_op`` does: ``fn`` is
either a dotted name found in both libraries (``"exp"``, ``"linalg.inv"``,
``"nn.functional.gelu"``; omitted in ``_unary``/``_binary`` when it is the spec's name) or
one callable written for both, with ``lib(x)`` / ``nnf(x)`` / ``const(x, array)`` picking
the library of its first tensor. ``torch_fn`` is given only where PyTorch's name or call
differs. A spec also gives the input shapes, a domain for the inputs (so log/sqrt get
positive values and kinked ops stay away from their kinks), bad inputs whose error must
match PyTorch's (``bad``, see tests/ops/test_bad_inputs.py) and the set of checks:

    fwd   forward values vs PyTorch
    bwd   input gradients vs PyTorch for the same random upstream gradient
    gc    gradcheck (finite differences, float64)
    jvp   forward mode vs reverse mode: <J v, u> == <v, J^T u>
    gg    gradgradcheck (double backward)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import chainrule as cr

__all__ = [
    "ALL",
    "NO_GG",
    "NO_JVP",
    "B",
    "BCAST",
    "BadInput",
    "OpSpec",
    "bad_call",
    "const",
    "lib",
    "nnf",
    "make_inputs",
    "_IDX_REP",
    "_GATHER_IDX",
    "_SCATTER_IDX",
    "_MASK",
    "_TAKE_IDX",
    "_CE_TARGET",
    "_EMB_IDX",
    "_CE_IDX",
    "_CE_WEIGHT",
    "_CE_PROBS",
    "_ZMASK",
    "_binary",
    "_unary",
    "_spd",
    "_sym",
    "_log_probs",
    "_probs",
    "_fit",
    "_gauge",
]

ALL = frozenset({"fwd", "bwd", "gc", "jvp", "gg"})
NO_GG = ALL - {"gg"}
NO_JVP = ALL - {"jvp"}


def lib(x: Any) -> Any:
    """The library ``x`` belongs to: ``chainrule`` or ``torch``."""
    return cr if isinstance(x, cr.Tensor) else torch


def nnf(x: Any) -> Any:
    """The ``nn.functional`` module of ``x``'s library."""
    return lib(x).nn.functional


def const(x: Any, array: Any) -> Any:
    """A constant tensor of ``x``'s library (floats in ``x``'s dtype, so float32 stays so)."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        return lib(x).tensor(array, dtype=x.dtype, device=x.device)
    return lib(x).tensor(array, device=x.device)


def _resolve(module: Any, path: str) -> Callable:
    return functools.reduce(getattr, path.split("."), module)


@dataclass(frozen=True)
class BadInput:
    """A bad call whose error (or value) must match PyTorch's (tests/ops/test_bad_inputs.py).

    ``arrays(spec_arrays) -> arrays`` builds the inputs (NumPy, the same for both libraries);
    ``call(fn, *tensors)`` calls the op (default ``fn(*tensors)``), so a spec can also pass a
    bad argument such as an out-of-range ``dim``."""

    label: str
    arrays: Callable = lambda arrays: arrays
    call: Callable | None = None


def bad_call(label: str, call: Callable) -> BadInput:
    """A bad input that keeps the spec's arrays and changes the call."""
    return BadInput(label, call=lambda fn, *xs: call(*xs))


@dataclass
class OpSpec:
    name: str
    fn: Callable | str  # a dotted name in both libraries, or one callable for both
    shapes: tuple  # one tuple of input shapes per case
    domain: str = "real"  # real | positive | unit | nokink | distinct
    checks: frozenset = ALL
    torch_fn: Callable | None = None  # only where PyTorch's name or call differs
    bad: tuple = ()  # BadInput cases (tests/ops/test_bad_inputs.py)
    bwd_rtol: float = 1e-9  # gradient tolerance vs PyTorch (float64)

    @property
    def id(self) -> str:
        return self.name

    @property
    def cr_fn(self) -> Callable:
        return _resolve(cr, self.fn) if isinstance(self.fn, str) else self.fn

    @property
    def th_fn(self) -> Callable:
        if self.torch_fn is not None:
            return self.torch_fn
        return _resolve(torch, self.fn) if isinstance(self.fn, str) else self.fn


def make_inputs(spec: OpSpec, shapes: tuple, seed: int = 0) -> list:
    """float64 NumPy arrays for ``shapes`` drawn to respect the spec's domain."""
    rng = np.random.default_rng(seed)
    out = []
    for i, s in enumerate(shapes):
        n = int(np.prod(s))
        if spec.domain == "positive":
            a = rng.uniform(0.5, 2.0, s)
        elif spec.domain == "unit":
            a = rng.uniform(-0.8, 0.8, s)
        elif spec.domain in ("nokink", "distinct"):
            # distinct values with magnitude >= 0.2: no ties, no kinks at 0 / +-0.5 bounds
            base = rng.permutation(n).astype(np.float64) + 1.0
            sign = rng.choice([-1.0, 1.0], n)
            a = (sign * (0.2 + base / (n + 1)) + 0.013 * i).reshape(s)
        else:
            a = rng.standard_normal(s)
        out.append(np.asarray(a, dtype=np.float64))
    return out


# Fixed integer indices (constants captured by the callables).
_IDX_REP = np.array([0, 2, 0, 1, 2, 2])
_GATHER_IDX = np.array([[0, 2, 2, 1], [1, 1, 0, 3], [3, 0, 0, 0]])  # for (3, 4), dim=1
_SCATTER_IDX = np.array([[0, 2], [1, 3], [3, 0]])  # for dim=1 of (3, 4), unique per row
_MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)
_TAKE_IDX = np.array([[2], [0], [3]])
_CE_TARGET = np.array([1, 0, 3])
_EMB_IDX = np.array([[0, 2, 2], [4, 1, 0]])
_CE_IDX = np.array([0, 2, 1, 2])  # class targets for (4, 3) logits
_CE_WEIGHT = np.array([0.5, 1.0, 2.0])
_CE_PROBS = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2], [0.3, 0.3, 0.4]])
_ZMASK = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])  # zeros for prod

B = ((3, 4), (3, 4))
BCAST = (((2, 3, 4), (3, 1)), ((4,), (2, 1, 4)), ((), (3, 2)))


def _binary(name, fn=None, domain="real", checks=ALL, **kw):
    return OpSpec(name, fn or name, (B,) + BCAST, domain, checks, **kw)


def _unary(name, fn=None, domain="real", checks=ALL, shapes=(((3, 4),), ((),)), **kw):
    return OpSpec(name, fn or name, shapes, domain, checks, **kw)


def _spd(a):
    """A symmetric positive-definite matrix built from any square ``a`` (for cholesky/eigh).

    A bad ``a`` (not a batch of square matrices) is passed through unchanged, so that the op
    under test, not this builder, meets it (tests/ops/test_bad_inputs.py)."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        return a
    return a @ a.mT + 3.0 * lib(a).eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _sym(a):
    """``a + a.mT`` for a batch of square matrices; anything else passes through (as _spd)."""
    return a + a.mT if a.ndim >= 2 and a.shape[-1] == a.shape[-2] else a


def _log_probs(a):
    """log_softmax over the last dim; an integer ``a`` (a bad input) passes through, so that
    the loss under test, not this builder, meets it."""
    return a.log_softmax(-1) if a.is_floating_point() else a


def _probs(a):
    """softmax over the last dim; an integer ``a`` passes through (as _log_probs)."""
    return a.softmax(-1) if a.is_floating_point() else a


def _fit(mask, a):
    """A constant mask cut to ``a``'s leading size when their ranks agree, so an input with an
    empty first dimension (a bad input) reaches the op under test instead of failing to
    broadcast against the mask."""
    mask = np.asarray(mask)
    return const(a, mask[: a.shape[0]] if a.ndim == mask.ndim >= 1 else mask)


def _gauge(result):
    """Eigen/singular vectors are defined up to sign: compare their squares."""
    return tuple(r**2 if r.ndim >= 2 else r for r in result)
