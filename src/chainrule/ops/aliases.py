"""PyTorch's alternative names for pointwise ops chainrule already has.

``torch.absolute`` is ``torch.abs``, ``torch.multiply`` is ``torch.mul`` and so on: code
written for PyTorch uses either name, so both must work. Where the alias takes the same
arguments under the same names it is the very same function object (so ``Tensor.absolute_``
follows from ``abs``'s mark); where PyTorch's alias names its arguments differently
(``multiply(input, other)``) or makes one keyword-only, it is a one-line wrapper with
PyTorch's signature. ``rad2deg`` and ``sgn`` are new small ops that sit here because each
mirrors an existing one (``deg2rad``, ``sign``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..autograd.tensor import Tensor
from ._util import NAMED_ERRORS, as_tensor, lead_with
from .binary import div, mul, sub
from .binding import tensor_method
from .complex_sgn import ComplexSgn
from .inplace_names import NOTHING_SAVED, renamed_node
from .rounding import Sgn, signum, trunc
from .unary import _float, abs, neg

__all__ = [
    "absolute",
    "divide",
    "fix",
    "multiply",
    "negative",
    "rad2deg",
    "sgn",
    "subtract",
]

# Same arguments, same names: the same op object (its in-place form comes with it).
absolute = abs
negative = neg
fix = trunc


@tensor_method(inplace=True, keywords=True)
def multiply(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input * other`` with broadcasting (``torch.multiply``, an alias of ``mul``)."""
    return _named("multiply", mul, input, other)


@tensor_method(inplace=True, keywords=True)
def divide(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    """``input / other`` (``torch.divide``, an alias of ``div``); ``rounding_mode`` is None,
    ``'trunc'`` or ``'floor'`` as in :func:`chainrule.div`."""
    return _named("divide", div, input, other, rounding_mode=rounding_mode)


@tensor_method(inplace=True, keywords=True)
def subtract(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """``input - alpha * other`` (``torch.subtract``, an alias of ``sub``)."""
    one = not isinstance(alpha, (bool, Tensor)) and alpha == 1
    return _named("subtract", sub, input, other, **({} if one else {"alpha": alpha}))


def _named(op: str, fn: Callable[..., Tensor], *args: Any, **kwargs: Any) -> Tensor:
    """``fn(*args)``, its errors naming ``op`` (the alias the user called) first."""
    try:
        return fn(*args, **kwargs)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise


@tensor_method(inplace=True, keywords=True)
def rad2deg(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Radians to degrees, ``input * 180 / pi`` (``torch.rad2deg``; integers become the
    default float). The product's node, shown as PyTorch's ``Rad2DegBackward0``."""
    x = _float(input)
    if x._data.dtype.kind == "c":  # an angle is real (PyTorch refuses too)
        raise RuntimeError("rad2deg is not supported for complex tensors.")
    out = x * (180.0 / math.pi)
    if out._grad_fn is not None:
        renamed_node(out._grad_fn, "Rad2DegBackward0", NOTHING_SAVED)
    return out


@tensor_method(inplace=True, keywords=True)
def sgn(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.sgn``: ``x / |x|`` for complex input (0 where ``x == 0``); for real input
    exactly :func:`chainrule.sign`."""
    x = as_tensor(input)
    if x._data.dtype.kind == "c":  # one SgnBackward0 (two real divisions: see complex_sgn)
        return ComplexSgn.apply(x)
    return signum(x, Sgn)
