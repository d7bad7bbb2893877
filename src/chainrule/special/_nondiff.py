"""The half of ``cr.special`` that PyTorch does not differentiate: the Bessel functions of the
first and second kind, the modified Bessel functions (unscaled, and K scaled), the spherical
j0, the Airy function Ai and the orthogonal polynomials.

As in PyTorch, their results never require grad (a backward through them finds no graph),
integer input gives the default float, complex input raises. The kernels compute in float64
(``_bessel_jy.py``, ``_airy.py``, ``_polynomials.py``, ``ops/_special_more_bessel_ik.py``)
and round to the input's floating dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..ops import _special_more_bessel_ik as _ik
from ..ops._util import DtypeError, as_tensor, constant, promote
from ..ops.special_more import _floating, _kernel
from . import _airy, _bessel_jy, _polynomials
from ._differentiable import finish, tensor_input

__all__ = [
    "airy_ai",
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "spherical_bessel_j0",
]


def _unary(op: str, kernel: Callable, doc: str, x_name: bool = False) -> Callable:
    """``op(input, *, out=None)``: ``kernel`` on the float64 values, as a constant Tensor.
    ``x_name``: the argument is called ``x`` (PyTorch's keyword for airy_ai, the scaled K
    and spherical_bessel_j0; ``input`` for the others)."""

    def apply(value: Any, out: Tensor | None) -> Tensor:
        t = _floating(op, tensor_input(op, value))
        return finish(op, constant(_kernel(kernel, t._data)), out)

    if x_name:

        def special_fn(x: Tensor, *, out: Tensor | None = None) -> Tensor:
            return apply(x, out)

    else:

        def special_fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
            return apply(input, out)

    special_fn.__name__ = special_fn.__qualname__ = op
    special_fn.__doc__ = f"``torch.special.{op}``: {doc} (no gradient, as in PyTorch)."
    return special_fn


airy_ai = _unary("airy_ai", _airy.airy_ai, "the Airy function Ai(x)", x_name=True)
bessel_j0 = _unary("bessel_j0", lambda x: _bessel_jy.bessel_j(0, x), "Bessel J0(x)")
bessel_j1 = _unary("bessel_j1", lambda x: _bessel_jy.bessel_j(1, x), "Bessel J1(x)")
bessel_y0 = _unary("bessel_y0", lambda x: _bessel_jy.bessel_y(0, x), "Bessel Y0(x)")
bessel_y1 = _unary("bessel_y1", lambda x: _bessel_jy.bessel_y(1, x), "Bessel Y1(x)")
modified_bessel_i0 = _unary("modified_bessel_i0", lambda x: _ik.modified_i(0, x), "I0(x)")
modified_bessel_i1 = _unary("modified_bessel_i1", lambda x: _ik.modified_i(1, x), "I1(x)")
modified_bessel_k0 = _unary("modified_bessel_k0", lambda x: _ik.modified_k(0, x), "K0(x)")
modified_bessel_k1 = _unary("modified_bessel_k1", lambda x: _ik.modified_k(1, x), "K1(x)")
scaled_modified_bessel_k0 = _unary(
    "scaled_modified_bessel_k0", lambda x: _ik.k_scaled(0, x), "e^x K0(x)", x_name=True
)
scaled_modified_bessel_k1 = _unary(
    "scaled_modified_bessel_k1", lambda x: _ik.k_scaled(1, x), "e^x K1(x)", x_name=True
)
spherical_bessel_j0 = _unary(
    "spherical_bessel_j0", _bessel_jy.spherical_j0, "sin(x) / x", x_name=True
)


def _polynomial(op: str, doc: str) -> Callable:
    """``op(x, n, *, out=None)``: PyTorch's parameter names; x or n may be a number (not
    both); both are promoted to their common floating dtype, n then truncated to an integer."""
    kernel = _polynomials.POLYNOMIALS[op]

    def special_fn(x: Any, n: Any, *, out: Tensor | None = None) -> Tensor:
        if not isinstance(x, Tensor) and not isinstance(n, Tensor):
            raise TypeError(
                f"{op}(): expected x or n to be a Tensor, got {type(x).__name__} and "
                f"{type(n).__name__}"
            )
        if not isinstance(n, Tensor) and not isinstance(n, (int, float, np.number)):
            raise TypeError(f"{op}(): argument 'n' must be a Tensor or a number, not {n!r}")
        a, b = promote(op, x, n)
        a = as_tensor(a, b if isinstance(b, Tensor) else None)
        b = as_tensor(b, a)
        if a._data.dtype.kind == "c" or b._data.dtype.kind == "c":
            raise DtypeError(f"{op}: not implemented for complex tensors")
        a, b = _floating(op, a), _floating(op, b)
        try:
            xs, ns = np.broadcast_arrays(a._data, b._data)
        except ValueError:
            raise RuntimeError(
                f"{op}: the shapes of x {tuple(a.shape)} and n {tuple(b.shape)} do not broadcast"
            ) from None
        values = _kernel(lambda u, v: kernel(u, _polynomials.degree(v)), xs, ns)
        return finish(op, constant(values), out)

    special_fn.__name__ = special_fn.__qualname__ = op
    special_fn.__doc__ = f"``torch.special.{op}``: {doc} (no gradient, as in PyTorch)."
    return special_fn


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", "Chebyshev T_n(x)")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", "Chebyshev U_n(x)")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", "Chebyshev V_n(x)")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", "Chebyshev W_n(x)")
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t", "T*_n(x)")
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u", "U*_n(x)")
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v", "V*_n(x)")
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w", "W*_n(x)")
hermite_polynomial_h = _polynomial("hermite_polynomial_h", "physicists' Hermite H_n(x)")
hermite_polynomial_he = _polynomial("hermite_polynomial_he", "probabilists' Hermite He_n(x)")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", "Laguerre L_n(x)")
legendre_polynomial_p = _polynomial("legendre_polynomial_p", "Legendre P_n(x)")
