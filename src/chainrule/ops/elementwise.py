"""Base classes for elementwise ops: an op states its local derivative once.

An elementwise op ``y = f(x)`` has a diagonal Jacobian, so its backward rule (``g * f'(x)``)
and its forward-mode rule (``t * f'(x)``) are the same product. A subclass therefore writes

- ``f(x, **params)``: the forward on raw arrays (NumPy or CuPy),
- ``derivative(ctx, x, y)``: ``dy/dx`` as a Tensor expression (x the input, y the output,
  each given only when named in ``saves``),

and both rules follow: backward multiplies the upstream gradient by the derivative with
Tensor ops (so ``create_graph=True`` differentiates it again), and ``jvp`` runs the very same
expression on the tangent. An op may override ``chain(ctx, g, x, y)`` (``g * f'(x)`` by
default) with a fused kernel or an exact cheaper form, e.g. tanh's ``TanhGrad`` or sqrt's
``g / (2y)``; the override is then used by both rules as well.

Binary ops (``y = f(a, b)``, broadcasting) state one partial derivative per input,
``derivative_a`` and ``derivative_b``; the engine sums each gradient back to its input's
shape, so no rule here handles broadcasting.

bfloat16 (``native_bfloat16``): an op whose tensor arguments are all bfloat16 (numbers
beside them allowed) runs inside its own node, as PyTorch's CPU kernels do: ``f`` on the
inputs widened to float32, the result rounded to bfloat16 once. So ``a * b`` records one
``MulBackward0`` (no casts around it). The backward rule's Tensor ops then run on bfloat16,
each rounding once, as PyTorch's composed derivative formulas do (measured against torch:
this matches it on far more elements than one float32 pass rounded at the end); an op whose
PyTorch backward is one fused kernel sets ``fused_bfloat16_backward``. The tangent rule
widens and rounds once. Other mixes (bfloat16 beside a float32 tensor) keep the
cast-wrapped float32 path (``autograd/lower_precision.run_in_float32``).

Example::

    class Exp(UnaryElementwise):
        saves = "y"
        f = staticmethod(np.exp)

        @staticmethod
        def derivative(ctx, x, y):
            return y
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..dtypes import _BFLOAT16
from ._first_order import grad_array, plain_array
from ._result_layout import in_elementwise_layout

__all__ = ["BinaryElementwise", "UnaryElementwise", "scale"]


def _const(v: Any) -> Any:
    """A raw array as a constant Tensor (Python scalars and None pass through)."""
    if v is None or isinstance(v, (int, float, bool, complex, Tensor)):
        return v
    return Tensor._make(v, False, None, 0)


def _raw(v: Any) -> Any:
    return v._data if isinstance(v, Tensor) else v


def _all_bfloat16(args: tuple) -> bool:
    """``native_bfloat16`` of the elementwise ops: every Tensor argument is bfloat16 (numbers
    may stand beside them), so the result is bfloat16 and the op computes it in its node."""
    bf16 = _BFLOAT16[0]
    return all(
        a._data.dtype == bf16 if isinstance(a, Tensor) else isinstance(a, (int, float, bool))
        for a in args
    )


def _is_bfloat16(a: Any) -> bool:
    """Whether a raw argument is a bfloat16 array (only asked once bfloat16 was used)."""
    return getattr(a, "dtype", None) == _BFLOAT16[0]


def _wide(a: Any) -> Any:
    """A raw bfloat16 array in float32; numbers, None and other arrays as they are."""
    return a.astype(np.float32) if _is_bfloat16(a) else a


def _rounded(y: Any) -> Any:
    """A float32 result of a bfloat16 op rounded to bfloat16 (other dtypes as they are)."""
    return y.astype(_BFLOAT16[0]) if y.dtype == np.float32 else y


def _widened(t: Any) -> Any:
    """A saved bfloat16 Tensor (or gradient) in float32 for a rule; None and numbers pass
    through."""
    return t.float() if isinstance(t, Tensor) and t._data.dtype == _BFLOAT16[0] else t


def _rounded_grad(g: Any) -> Any:
    """A float32 gradient computed for a bfloat16 input, rounded to bfloat16 once."""
    return g.to(_BFLOAT16[0]) if isinstance(g, Tensor) and g._data.dtype == np.float32 else g


def scale(g: Any, d: Any) -> Any:
    """``g * d``, where a derivative stated as the int 1 or -1 costs no multiply."""
    if type(d) is int:
        return g if d == 1 else -g if d == -1 else g * d
    return g * d


class UnaryElementwise(Function):
    """``y = f(x)`` applied elementwise; subclasses give ``f`` and ``derivative`` (see module).

    Class attributes:
        saves: what ``derivative`` reads: ``"x"`` (the input), ``"y"`` (the output),
            ``"xy"`` (both) or ``""`` (nothing: a constant derivative).
        fused_bfloat16_backward: on bfloat16, compute the backward in float32 and round
            once, for ops whose PyTorch backward is one fused kernel (softplus). Otherwise
            the rule's Tensor ops run on bfloat16, each rounding, as PyTorch's composed
            formulas do.
        array_chain: optional ``(g, x, y) -> Tensor`` on NumPy arrays (x or y None where
            ``saves`` leaves it out): ``chain``'s first-order result by the very NumPy steps
            its recorded ops take, without recording them (``_first_order.py``; 1-3 us less
            per backward of a small tensor). Used only where :func:`grad_array` allows it.
    """

    raw = True
    saves = "x"
    native_bfloat16 = staticmethod(_all_bfloat16)
    fused_bfloat16_backward = False  # see the class docstring
    array_chain: Any = None  # see the class docstring

    @staticmethod
    def f(x: Any, **params: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError("UnaryElementwise subclasses define f(x)")

    @staticmethod
    def derivative(ctx: Any, x: Any, y: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError("UnaryElementwise subclasses define derivative(ctx, x, y)")

    @classmethod
    def chain(cls, ctx: Any, g: Any, x: Any, y: Any) -> Any:
        """``g * dy/dx``: the backward and the tangent rule (the Jacobian is diagonal)."""
        d = cls.derivative(ctx, x, y)
        return scale(g, d) if type(d) is int else g * d

    @classmethod
    def forward(cls, ctx, x, **params):
        if params:
            ctx.params = params
        if _BFLOAT16 and _is_bfloat16(x):  # computed in float32, rounded once
            y = _rounded(cls.f(x.astype(np.float32), **params))
        else:
            y = cls.f(x, **params) if params else cls.f(x)
        saves = cls.saves
        if not ctx.needs_input_grad[0]:  # nothing records a gradient: keep nothing alive
            return y
        if saves == "y":
            ctx.save_for_backward(y)
        elif saves == "x":
            ctx.save_for_backward(x)
        elif saves == "xy":
            ctx.save_for_backward(x, y)
        return y

    @classmethod
    def backward(cls, ctx, grad):
        saves = cls.saves
        if saves == "y":
            x, (y,) = None, ctx.saved_tensors
        elif saves == "x":
            (x,), y = ctx.saved_tensors, None
        elif saves == "xy":
            x, y = ctx.saved_tensors
        else:
            x = y = None
        if cls.array_chain is not None:
            out = _array_chain(cls, ctx, grad, x, y)
            if out is not None:
                return (out,)  # (a tuple: the engine's call_rule takes it as it is, -0.3 us)
        if cls.fused_bfloat16_backward and _BFLOAT16 and grad._data.dtype == _BFLOAT16[0]:
            return _rounded_grad(cls.chain(ctx, grad.float(), _widened(x), _widened(y)))
        return cls.chain(ctx, grad, x, y)

    @classmethod
    def jvp(cls, ctx, t):
        if t is None:
            return None
        x, y = ctx.primals[0], ctx.out
        if _BFLOAT16 and _is_bfloat16(y):
            x, y, t = _wide(x), _wide(y), _wide(t)
            return _rounded(_raw(cls.chain(ctx, _const(t), _const(x), _const(y))))
        return _raw(cls.chain(ctx, _const(t), _const(x), _const(y)))


def _array_chain(cls: type, ctx: Any, grad: Any, x: Any, y: Any) -> Any:
    """``cls.array_chain`` on the arrays of ``grad`` and the saved ``x``/``y`` when the
    first-order array path applies to all of them, else None (the recorded ``chain``)."""
    g = grad_array(ctx, grad)
    if g is None:
        return None
    if x is not None:
        x = plain_array(x, g)
        if x is None:
            return None
    if y is not None:
        y = plain_array(y, g)
        if y is None:
            return None
    return cls.array_chain(g, x, y)


class BinaryElementwise(Function):
    """``y = f(a, b)`` elementwise with broadcasting; subclasses give ``f`` and one partial
    derivative per input (``derivative_a``, ``derivative_b``), or override ``chain_a`` /
    ``chain_b`` (``g * dy/da``, ``g * dy/db``) with a fused or exact cheaper form.

    Class attributes:
        saves_a, saves_b: the subset of ``"a"``, ``"b"``, ``"y"`` that ``derivative_a`` /
            ``derivative_b`` read (the rest arrive as None). Only what the derivatives of the
            inputs that need a gradient read is saved (``ctx.needs_input_grad``).
    """

    raw = True
    saves_a = "ab"
    saves_b = "ab"
    native_bfloat16 = staticmethod(_all_bfloat16)
    _save_plan: tuple | None = None

    @staticmethod
    def f(a: Any, b: Any, **params: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError("BinaryElementwise subclasses define f(a, b)")

    @staticmethod
    def derivative_a(ctx: Any, a: Any, b: Any, y: Any) -> Any:  # pragma: no cover
        raise NotImplementedError("BinaryElementwise subclasses define derivative_a")

    @staticmethod
    def derivative_b(ctx: Any, a: Any, b: Any, y: Any) -> Any:  # pragma: no cover
        raise NotImplementedError("BinaryElementwise subclasses define derivative_b")

    @classmethod
    def chain_a(cls, ctx: Any, g: Any, a: Any, b: Any, y: Any) -> Any:
        d = cls.derivative_a(ctx, a, b, y)
        return scale(g, d) if type(d) is int else g * d

    @classmethod
    def chain_b(cls, ctx: Any, g: Any, a: Any, b: Any, y: Any) -> Any:
        d = cls.derivative_b(ctx, a, b, y)
        return scale(g, d) if type(d) is int else g * d

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Precompute which of (a, b, y) to save for each ``needs_input_grad`` pattern: only
        what the needed derivatives read (as PyTorch), so e.g. ``(x * 2).mul_(mask)`` keeps
        no copy of ``x * 2`` and an in-place change to it stays legal."""
        super().__init_subclass__(**kwargs)

        def flags(s: str) -> tuple | None:
            return ("a" in s, "b" in s, "y" in s) if s else None

        sa, sb = cls.saves_a, cls.saves_b
        # indexed by 2 * needs_a + needs_b
        cls._save_plan = (None, flags(sb), flags(sa), flags(sa + sb)) if sa + sb else None

    @classmethod
    def forward(cls, ctx, a, b, **params):
        if params:
            ctx.params = params
        if _BFLOAT16 and (_is_bfloat16(a) or _is_bfloat16(b)):  # in float32, rounded once
            y = _rounded(cls.f(_wide(a), _wide(b), **params))
        else:
            y = cls.f(a, b, **params) if params else cls.f(a, b)
        if y.ndim > 1:  # PyTorch's layout for operands not row-major (see there)
            y = in_elementwise_layout(y, a, b)
        plan = cls._save_plan
        if plan is not None:
            needs = ctx.needs_input_grad
            keep = plan[2 * needs[0] + needs[1]]
            if keep is not None:
                ctx.save_for_backward(
                    a if keep[0] else None, b if keep[1] else None, y if keep[2] else None
                )
        return y

    @classmethod
    def backward(cls, ctx, grad):
        saved = ctx.saved_tensors if cls._save_plan is not None else ()
        a, b, y = saved if saved else (None, None, None)
        needs = ctx.needs_input_grad
        return (
            cls.chain_a(ctx, grad, a, b, y) if needs[0] else None,
            cls.chain_b(ctx, grad, a, b, y) if needs[1] else None,
        )

    @classmethod
    def jvp(cls, ctx, ta, tb):
        a, b = ctx.primals
        y = ctx.out
        bf16 = _BFLOAT16 and _is_bfloat16(y)
        if bf16:
            a, b, y = _wide(a), _wide(b), _wide(y)
            ta, tb = _wide(ta), _wide(tb)
        a, b, y = _const(a), _const(b), _const(y)
        out = None
        if ta is not None:
            out = _raw(cls.chain_a(ctx, _const(ta), a, b, y))
        if tb is not None:
            term = _raw(cls.chain_b(ctx, _const(tb), a, b, y))
            if term is not None:
                out = term if out is None else out + term
        return _rounded(out) if bf16 and out is not None else out
