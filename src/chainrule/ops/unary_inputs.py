"""What the one-input elementwise ops share about their input: integers read as the
default float (``_float``, PyTorch's rule for transcendental functions), real input only
(``_floating``, ``_no_complex``), and a 0/1 mask as a constant derivative (``_mask``).

Split from ``unary.py`` (session 38) so that ``unary.py``, ``unary_activations.py`` and the
other pointwise families (trig, special functions, clamping) import them from one place
below all of them.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes
from ..autograd.tensor import Tensor
from ._util import DtypeError, as_tensor
from .cast import cast

__all__: list[str] = []  # helpers of the pointwise op modules; the ops are there


def _mask(m: Any, dtype: Any) -> Tensor:
    """A constant 0/1 Tensor of ``dtype`` from a boolean array (a derivative that is a mask)."""
    return Tensor._make(m.astype(dtype), False, None, 0)


def _no_complex(op: str, x: Tensor) -> None:
    if x._data.dtype.kind == "c":  # PyTorch: NotImplementedError; chainrule had TypeError
        raise DtypeError(
            f"{op}: complex tensors are not supported by {op} (got {x.dtype}); "
            "apply it to .real and .imag separately if that is what you mean"
        )


def _float(x: Any) -> Tensor:
    """Integer inputs to transcendental functions become the default float (PyTorch)."""
    x = as_tensor(x)
    if x._data.dtype.kind not in "fcV":  # V: bfloat16, a floating type
        return cast(x, dtypes.get_default_dtype())
    return x


def _floating(op: str, x: Any) -> Tensor:
    """Real input as a float tensor for the real-only functions (erfc, i0, copysign, the
    special functions): complex refused, bfloat16 kept, integers and bool as :func:`_float`."""
    x = as_tensor(x)
    if x._data.dtype.kind == "c":
        raise DtypeError(f"{op}: not implemented for complex tensors (got {x.dtype})")
    return _float(x)
