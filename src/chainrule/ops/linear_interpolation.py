"""Linear interpolation, ``torch.lerp``: start + weight (end - start). Operands of one dtype
make one node (``LerpBackward0`` / ``LerpBackward1`` of :mod:`.fused_pointwise`); other
cases are composed from the arithmetic of :mod:`.binary`, with its promotion. Both are
differentiable in all three arguments and take complex inputs (the formula is
holomorphic)."""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.tensor import Tensor
from ._result_layout import elementwise_tensor
from ._util import DtypeError, ShapeError
from .binary import where
from .binding import tensor_method
from .fused_pointwise import LerpScalar, LerpTensor
from .invalid_arguments import combination_error

__all__ = ["lerp"]


def _lerp_dtypes(start: Tensor, end: Any, weight: Any) -> None:
    """``end`` and a tensor ``weight`` of ``lerp`` have ``start``'s dtype: PyTorch promotes
    nothing here and raises RuntimeError. A Python number or a 0-d tensor ``weight`` is
    exempt (PyTorch treats it as a scalar: it joins the usual promotion)."""
    for arg, v in (("end", end), ("weight", weight)):
        if not isinstance(v, Tensor) or v.dtype == start.dtype:
            continue
        if arg == "weight" and v.ndim == 0:
            continue
        raise RuntimeError(
            f"lerp: expected dtype {start.dtype} for `{arg}` (the dtype of input) but got "
            f"{v.dtype}; PyTorch promotes nothing here: convert it with .to({start.dtype})"
        )


_LERP_FORMS = (
    "(Tensor input, Tensor end, Tensor weight, *, Tensor out = None)",
    "(Tensor input, Tensor end, Number weight, *, Tensor out = None)",
)
_LERP_METHOD_FORMS = ("(Tensor end, Tensor weight)", "(Tensor end, Number weight)")


@tensor_method(inplace=True, keywords=True)
def lerp(input: Any, end: Any, weight: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """start + weight * (end - start) for |weight| < 0.5, else end - (end - start) * (1 -
    weight), composed (differentiable in all three). The second form, PyTorch's, is exact at
    weight = 1 (lerp(1e308, -2.0, 1.0) is -2.0, not 0.0) and keeps an infinite start from
    turning an infinite result into NaN. The result is laid out as PyTorch's elementwise ops
    order (``start``, ``end``, ``weight``), whatever order the composition's parts give."""
    if (
        not isinstance(input, Tensor)
        or not isinstance(end, Tensor)
        or not isinstance(weight, (Tensor, Number, np.generic))
    ):  # no overload takes it (a weight that is neither a Tensor nor a Number too)
        params = (("input", input), ("end", end), ("weight", weight))
        raise combination_error("lerp", params, _LERP_FORMS, _LERP_METHOD_FORMS)
    start = input
    if (
        start._data.dtype.kind in "biu"
        and isinstance(weight, Tensor)
        and weight.ndim == 0
        and weight._data.dtype.kind in "fc"
        and isinstance(end, Tensor)
        and end.dtype == start.dtype
    ):  # integer ends with a 0-d floating weight: computed in the weight's dtype (torch)
        start, end = start.to(weight.dtype), end.to(weight.dtype)
    if not (start._data.dtype.kind == "c" or dtypes.is_floating(start._data.dtype)):
        raise DtypeError(f"lerp: expects a floating or complex tensor, got {start.dtype}")
    if isinstance(weight, complex) and start._data.dtype.kind != "c":
        raise RuntimeError(
            f"lerp: value {weight} cannot be converted to type {start.dtype} without overflow "
            "(a complex Python weight needs complex tensors)"
        )
    _lerp_dtypes(start, end, weight)  # for complex too: the composition is holomorphic
    if isinstance(weight, Tensor) and weight.ndim == 0 and weight._data.dtype.kind in "biu":
        weight = weight.to(start.dtype)  # a 0-d bool/integer weight is a number (PyTorch)
    shapes = [tuple(getattr(t, "shape", ())) for t in (start, end, weight)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(
            f"lerp: input {shapes[0]}, end {shapes[1]} and weight {shapes[2]} "
            "cannot be broadcast together"
        ) from None
    if isinstance(end, Tensor) and end.dtype == start.dtype:  # one node, PyTorch's
        if isinstance(weight, Tensor) and weight.dtype == start.dtype:
            return LerpTensor.apply(start, end, weight)
        if type(weight) in (int, float) or (
            isinstance(weight, np.floating) and start._data.dtype.kind == "f"
        ):
            return LerpScalar.apply(start, end, float(weight))
    diff = end - start  # mixed dtypes: composed, with its promotion
    if isinstance(weight, Tensor):
        near_start = Tensor._make(np.abs(weight._data) < 0.5, False, None, 0)
        out = where(near_start, start + weight * diff, end - diff * (1 - weight))
    elif abs(weight) < 0.5:
        out = start + weight * diff
    else:
        out = end - diff * (1 - weight)
    return elementwise_tensor(out, start, end, weight)  # PyTorch's layout, not the parts'
