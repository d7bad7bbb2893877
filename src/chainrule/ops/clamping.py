"""Limiting values: ``clamp`` (``clip``, ``clamp_min``, ``clamp_max``) and ``nan_to_num``.

Both are elementwise with a 0/1 derivative: the gradient passes where the value was kept
(``min <= x <= max``, as PyTorch, boundaries included; finite for ``nan_to_num``) and is
0 where it was replaced.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..scalar_range import fit_scalar
from ._util import (
    NAMED_ERRORS,
    DtypeError,
    as_tensor,
    check_broadcast,
    lead_with,
    promote_tensors,
)
from .binding import tensor_method
from .cast import cast
from .elementwise import UnaryElementwise
from .fused_grads import mask_first_grad, mask_grad
from .overload_errors import is_number_or_tensor, number_or_tensor_error
from .unary_inputs import _mask, _no_complex

__all__ = ["clamp", "clamp_max", "clamp_min", "clip", "nan_to_num"]

# Not public ops: nn.functional.hardtanh / relu6 use it.
_INTERNAL = ["Hardtanh"]


class Clamp(UnaryElementwise):
    """clamp(x, min, max); the gradient passes where min <= x <= max (as PyTorch)."""

    node_name = "ClampBackward1"  # PyTorch's name for clamp with number bounds
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): the bounds as given
        "max": lambda n: n.params["hi"],
        "min": lambda n: n.params["lo"],
        "self": 0,
    }

    @staticmethod
    def f(x, lo, hi):
        xp = get_array_module(x)
        y = x
        # bound first: NumPy returns its second operand on a tie, so clamp(-0.0, min=0.0)
        # keeps -0.0 as PyTorch does (x is replaced only where it is beyond a bound)
        if lo is not None:
            y = xp.maximum(lo, y)
        if hi is not None:
            y = xp.minimum(hi, y)
        return y.astype(x.dtype, copy=False) if y is not x else x.copy()

    @staticmethod
    def derivative(ctx, x, y):
        return _mask(Clamp.kept(ctx, x._data), x.dtype)

    @staticmethod
    def kept(ctx, xd: Any) -> Any:
        """Where ``min <= x <= max``: the positions whose gradient passes."""
        lo, hi = ctx.params["lo"], ctx.params["hi"]
        if lo is None and hi is None:
            return get_array_module(xd).ones(xd.shape, dtype=bool)
        m = xd >= lo if lo is not None else xd <= hi  # (in x's layout, as PyTorch's mask)
        if lo is not None and hi is not None:
            m &= xd <= hi
        return m if xd.ndim else get_array_module(xd).asarray(m)  # (0-d: an array, not a bool)

    @classmethod
    def chain(cls, ctx, g, x, y):
        # a masked inf/NaN gives 0, laid out by the mask first (PyTorch's where(mask, g, 0))
        return mask_first_grad(g, Clamp.kept(ctx, x._data))


class Hardtanh(Clamp):
    """hardtanh(x, min_val, max_val): clamp's values, but PyTorch's gradient passes only
    strictly inside (``min_val < x < max_val``; 0 at the bounds, unlike clamp)."""

    node_name = None  # not clamp's: the class name, HardtanhBackward0 as PyTorch
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "max_val": lambda n: n.params["hi"],
        "min_val": lambda n: n.params["lo"],
        "self": 0,
    }
    tie_saved = True  # a mask derivative PyTorch records (clamp's it does not)

    @staticmethod
    def kept(ctx, xd: Any) -> Any:
        return (xd > ctx.params["lo"]) & (xd < ctx.params["hi"])

    @classmethod
    def chain(cls, ctx, g, x, y):
        return mask_grad(g, Hardtanh.kept(ctx, x._data))

    @staticmethod
    def derivative(ctx, x, y):
        return _mask(Hardtanh.kept(ctx, x._data), x.dtype)


class ClampTensor(Function):
    """clamp(x, min, max) with Tensor bounds (either may be None), PyTorch's gradient rule:
    ``x`` gets ``g`` where ``min <= x <= max`` (boundaries included, so a tie goes wholly to
    ``x``), ``min`` where ``x < min < max``, ``max`` where ``x > max`` or ``max < min`` (the
    result is then ``max``). With ``x < min == max`` nothing receives it, as in PyTorch."""

    raw = True
    node_name = "ClampBackward0"  # PyTorch's name for clamp with Tensor bounds
    saved_fields = {"max": 2, "min": 1, "self": 0}  # grad_fn._saved_* (saved_fields.py)
    saved_optional_inputs = {1: 1, 2: 2}  # a bound left out reads None after backward

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = get_array_module(x)
        y = x if lo is None else xp.maximum(lo, x)  # x kept on a tie, as Clamp.f
        y = y if hi is None else xp.minimum(hi, y)
        ctx.save_for_backward(x, lo, hi)
        return y

    @staticmethod
    def masks(x: Any, lo: Any, hi: Any) -> tuple:
        """Where the gradient goes to (x, min, max): PyTorch's ``clamp_backward_min_max``."""
        if hi is None:
            return x >= lo, x < lo, None
        if lo is None:
            return x <= hi, None, x > hi
        return (x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        keep, below, above = ClampTensor.masks(
            x._data, None if lo is None else lo._data, None if hi is None else hi._data
        )
        needs = ctx.needs_input_grad
        return tuple(
            mask_first_grad(g, m) if need and m is not None else None  # (where(mask, g, 0))
            for need, m in zip(needs, (keep, below, above))
        )

    @staticmethod
    def jvp(ctx, tx, tlo, thi):
        """PyTorch's tangent, which picks one operand's everywhere (NaNs and ties included,
        unlike :meth:`masks`): with one bound the bound's unless ``x`` is strictly inside,
        with two ``max``'s where ``max < min``, else ``min``'s below, ``max``'s above, else
        ``x``'s."""
        x, lo, hi = ctx.primals
        xp = get_array_module(x)
        with np.errstate(invalid="ignore"):
            if hi is None:
                picks = [(x > lo, tx)]
                rest = tlo
            elif lo is None:
                picks = [(x < hi, tx)]
                rest = thi
            else:
                picks = [(lo > hi, thi), (x < lo, tlo), (x > hi, thi)]
                rest = tx
        out = xp.zeros(ctx.out.shape, ctx.out.dtype) if rest is None else rest
        for m, t in reversed(picks):
            out = xp.where(m, 0 if t is None else t, out)
        return xp.broadcast_to(out, ctx.out.shape).astype(ctx.out.dtype)


class NanToNum(UnaryElementwise):
    """nan_to_num: NaN, +inf, -inf replaced by numbers; the gradient is 0 where replaced."""

    @staticmethod
    def f(x, nan, posinf, neginf):
        return get_array_module(x).nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def derivative(ctx, x, y):
        return _mask(get_array_module(x._data).isfinite(x._data), x.dtype)


class ClampMin(Clamp):
    """``clamp_min(x, number)``: clamp's math, PyTorch's ``ClampMinBackward0``."""

    node_name = "ClampMinBackward0"
    saved_fields = {"min": lambda n: n.params["lo"], "self": 0}  # grad_fn._saved_*


class ClampMax(Clamp):
    """``clamp_max(x, number)``: clamp's math, PyTorch's ``ClampMaxBackward0``."""

    node_name = "ClampMaxBackward0"
    saved_fields = {"max": lambda n: n.params["hi"], "self": 0}  # grad_fn._saved_*


def _pick_tangent(ctx: Any, keep: Any, t_x: Any, t_bound: Any) -> Any:
    """``t_x`` where ``keep``, else ``t_bound`` (a missing tangent is 0), in the out's shape."""
    out = ctx.out
    xp = get_array_module(out)
    zero = xp.zeros((), out.dtype)
    picked = xp.where(keep, zero if t_x is None else t_x, zero if t_bound is None else t_bound)
    return xp.broadcast_to(picked, out.shape).astype(out.dtype)


class ClampMinTensor(ClampTensor):
    """``clamp_min(x, tensor)``: PyTorch's ``ClampMinBackward1`` listing (self, min); its
    tangent is ``x``'s where ``x >= min`` (a tie included, unlike clamp's), else min's."""

    node_name = ("ClampMinBackward1", (0, 1))
    saved_fields = {"min": 1, "self": 0}  # grad_fn._saved_*

    @staticmethod
    def jvp(ctx, tx, tlo, thi):
        x, lo, _ = ctx.primals
        with np.errstate(invalid="ignore"):
            return _pick_tangent(ctx, x >= lo, tx, tlo)


class ClampMaxTensor(ClampTensor):
    """``clamp_max(x, tensor)``: PyTorch's ``ClampMaxBackward1`` listing (self, max); its
    tangent is ``x``'s where ``x <= max`` (a tie included), else max's."""

    node_name = ("ClampMaxBackward1", (0, 2))
    saved_fields = {"max": 2, "self": 0}  # grad_fn._saved_*

    @staticmethod
    def jvp(ctx, tx, tlo, thi):
        x, _, hi = ctx.primals
        with np.errstate(invalid="ignore"):
            return _pick_tangent(ctx, x <= hi, tx, thi)


_PLAIN_BOUNDS = frozenset((int, float, Tensor))  # the fast test of a bound's type


@tensor_method(inplace=True, keywords=True)
def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; either bound may be None, a number or a Tensor."""
    for bound in (min, max):  # PyTorch's parser refuses a string, a tuple, ... first
        if bound is not None and type(bound) not in _PLAIN_BOUNDS:
            if not is_number_or_tensor(bound):
                params = [("input", input), ("min", min), ("max", max)]
                raise number_or_tensor_error("clamp", params)
    return _clamp(input, min, max, Clamp, ClampTensor)


def _clamp(input: Any, min: Any, max: Any, number_fn: type, tensor_fn: type) -> Tensor:  # noqa: A002
    """:func:`clamp`, recorded as ``number_fn`` (number bounds) or ``tensor_fn`` (Tensor
    bounds): clamp's nodes, or clamp_min's / clamp_max's (PyTorch names them apart)."""
    input = as_tensor(input)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    _no_complex("clamp", input)
    if min is not None and max is not None and isinstance(min, Tensor) != isinstance(max, Tensor):
        # PyTorch has a (Tensor, Tensor) and a (Number, Number) overload: a 0-d tensor not
        # requiring grad beside a number is read as a number (its dtype then counts as one)
        min, max = (_as_number(b) if isinstance(b, Tensor) else b for b in (min, max))
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        try:
            lo = None if min is None else as_tensor(min, input)
            hi = None if max is None else as_tensor(max, input)
            for bound in (lo, hi):
                if bound is not None:
                    check_broadcast("clamp", input, bound)
            if lo is not None and hi is not None:
                check_broadcast("clamp", lo, hi)
            input, lo, hi = _promote_bounds(input, lo, hi)
            _no_complex("clamp", input)  # a complex bound (PyTorch: no complex clamp)
            return tensor_fn.apply(input, lo, hi)
        except NAMED_ERRORS as err:
            lead_with("clamp", err)
            raise
    # number bounds promote as numbers do: bool with an int is int64, an integer tensor
    # with a float (a NumPy one too) the default float; no complex bound, no bool clamp
    dt = input._data.dtype
    for bound in (min, max):
        if bound is not None:
            if isinstance(bound, (complex, np.complexfloating)):
                raise DtypeError("clamp: clamp is not supported for complex types")
            dt = dtypes.scalar_result_dtype(dt, bound)
    if dt.kind == "b":
        raise DtypeError("clamp: not implemented for bool tensors with bool bounds")
    if dt != input._data.dtype:
        input = cast(input, dt)
    # an int bound is converted to the dtype as PyTorch does: out of range raises, a
    # negative one wraps around for uint8
    min, max = (
        int(fit_scalar("clamp", b, dt)) if type(b) is int and dt.kind in "iu" else b
        for b in (min, max)
    )
    for bound in (min, max):
        fit_scalar("clamp", bound, input._data.dtype)
    return number_fn.apply(input, lo=min, hi=max)


clip = clamp


def _as_number(bound: Tensor) -> Any:
    """A Tensor bound of clamp beside a number bound: its value, or PyTorch's TypeError."""
    if bound._data.ndim != 0 or bound.requires_grad:
        raise TypeError(
            "clamp() received an invalid combination of arguments: min and max must be both "
            "Tensors or both numbers (a 0-d tensor not requiring grad counts as a number), "
            f"got a Tensor of shape {tuple(bound.shape)} beside a number"
        )
    return bound.item()


def _promote_bounds(x: Tensor, lo: Tensor | None, hi: Tensor | None) -> tuple:
    """``x`` and the Tensor bounds cast to their common dtype (PyTorch's promotion: a 0-d
    operand beside one with dimensions counts only through a higher category)."""
    return promote_tensors(x, lo, hi)


@tensor_method(inplace=True, keywords=True)
def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    """max(input, min) elementwise (``clamp(input, min=min)``; PyTorch's ClampMin node)."""
    return _clamp(input, min, None, ClampMin, ClampMinTensor)


@tensor_method(inplace=True, keywords=True)
def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    """min(input, max) elementwise (``clamp(input, max=max)``; PyTorch's ClampMax node)."""
    return _clamp(input, None, max, ClampMax, ClampMaxTensor)


@tensor_method(inplace=True, keywords=True)
def nan_to_num(
    input: Tensor,
    nan: float | None = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Tensor:
    """Replace NaN by ``nan`` and +-inf by ``posinf``/``neginf`` (default: the dtype's
    largest/smallest finite value, as PyTorch; ``nan=None`` means 0, as in ATen)."""
    input = as_tensor(input)
    if nan is None:
        nan = 0.0
    if input._data.dtype.kind not in "fcV":  # V: bfloat16
        return Tensor._make(input._data.copy(), False, None, 0)
    if dtypes.is_bfloat16(input._data.dtype):  # computed in float32: bfloat16's own limits
        top = float.fromhex("0x1.fep127")  # bfloat16's largest finite value
        posinf = top if posinf is None else posinf
        neginf = -top if neginf is None else neginf
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)
