"""The larger or smaller of two tensors, elementwise: ``maximum``/``minimum`` (the hard
choice, its gradient sent to the winner, split on ties) and ``logaddexp`` (the smooth
maximum, log(e^a + e^b), its gradient the sigmoid of the difference).

Split from ``binary.py`` (session 38), which keeps the arithmetic (``add``, ``sub``,
``mul``, ``div``) and re-exports these names. Each op is a :class:`BinaryElementwise`
stating one partial derivative per input; the engine sums broadcast gradients back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.ieee import fp_ignoring
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._raw_checks import tensor_argument
from ._result_layout import in_elementwise_layout
from ._util import DtypeError, promote
from .binary_call import _call
from .binding import tensor_method
from .complex_binary import ComplexLogAddExp
from .elementwise import BinaryElementwise
from .input_first_grads import plain_layout
from .selection_where import where
from .unary import exp
from .unary_activations import sigmoid

__all__ = ["logaddexp", "maximum", "minimum"]  # (the nodes are imported by name)

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_OVER = fp_ignoring("over")


class _WinnerTakesGradient(BinaryElementwise):
    """Maximum and Minimum's chain rule: the tie weights times the gradient, with nothing
    (not 0 * NaN) reaching the input that lost (:func:`_masked_chain`)."""

    @classmethod
    def chain_a(cls, ctx, g, a, b, y):
        return _winner_chain(g, cls.derivative_a(ctx, a, b, y), a, b)

    @classmethod
    def chain_b(cls, ctx, g, a, b, y):
        return _winner_chain(g, cls.derivative_b(ctx, a, b, y), a, b)

    @classmethod
    def jvp(cls, ctx, ta, tb):
        """PyTorch's forward rule, ``tb + w * (ta - tb)`` with ``w`` 1 where ``a`` wins, 0.5
        on ties and 0 where ``b`` wins or either is NaN: a NaN or inf tangent of the input
        that lost still spreads (0 * inf), as torch's (core seed 987)."""
        out = super().jvp(ctx, ta, tb)
        a, b = (v._data if isinstance(v, Tensor) else np.asarray(v) for v in ctx.primals)
        if out is None or a.dtype.kind not in "fV" and b.dtype.kind not in "fV":
            return out
        xp = get_array_module(out)
        w = xp.where(a == b, 0.5, cls._a_wins(a, b).astype(np.float64))
        return torch_choice_jvp(out, w, ta, tb)


def torch_choice_jvp(out: Any, w: Any, ta: Any, tb: Any) -> Any:
    """``tb + w * (ta - tb)`` (a missing tangent 0) in ``out``'s shape and dtype: PyTorch's
    tangent of maximum / minimum / fmax / fmin, where the loser's NaN or inf tangent spreads
    (``out``: the tie-weighted tangent, which gives the shape and dtype)."""
    xp = get_array_module(out)
    ta = 0 if ta is None else (ta._data if isinstance(ta, Tensor) else ta)
    tb = 0 if tb is None else (tb._data if isinstance(tb, Tensor) else tb)
    res = xp.empty_like(out)
    with np.errstate(invalid="ignore", over="ignore"):
        res[...] = tb + w.astype(out.dtype, copy=False) * (ta - tb)
    return res


class Maximum(_WinnerTakesGradient):
    """Elementwise max; on ties the gradient is split evenly and at a NaN both inputs take it
    (as PyTorch)."""

    node_name = ("MaximumBackward0", (0, 1))  # PyTorch's name and the inputs its node lists

    @staticmethod
    def f(a, b):
        return get_array_module(a, b).maximum(a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return _tie_weights(a, b, first_loses=lambda u, v: u < v)

    @staticmethod
    def _a_wins(a, b):
        return a > b

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return _tie_weights(b, a, first_loses=lambda u, v: u < v)


class Minimum(_WinnerTakesGradient):
    """Elementwise min; on ties the gradient is split evenly and at a NaN both inputs take it
    (as PyTorch)."""

    node_name = ("MinimumBackward0", (0, 1))  # PyTorch's name and the inputs its node lists

    @staticmethod
    def f(a, b):
        return get_array_module(a, b).minimum(a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return _tie_weights(a, b, first_loses=lambda u, v: u > v)

    @staticmethod
    def _a_wins(a, b):
        return a < b

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return _tie_weights(b, a, first_loses=lambda u, v: u > v)


class LogAddExp(BinaryElementwise):
    """log(e^a + e^b) without overflow; d/da = e^a / (e^a + e^b) = sigmoid(a - b), d/db =
    sigmoid(b - a) (NaN where both inputs are -inf, as in PyTorch). Written with the inputs,
    not the output, as PyTorch does, so changing the output in place later is allowed."""

    node_name = ("LogaddexpBackward0", (0, 1))  # PyTorch's name and the inputs its node lists

    saves_a = saves_b = "ab"

    @staticmethod
    def f(a, b):
        with _IGNORE_OVER():  # NumPy's a - b may overflow; the result does not
            return get_array_module(a, b).logaddexp(a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return sigmoid(a - b)

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return sigmoid(b - a)

    # PyTorch's form, g / (1 + e^(b - a)) (bit-equal in bfloat16); NaN where both are -inf
    @staticmethod
    def chain_a(ctx, g, a, b, y):
        return g / (exp(b - a) + 1)

    @staticmethod
    def chain_b(ctx, g, a, b, y):
        return g / (exp(a - b) + 1)


def _winner_chain(g: Tensor, w: Tensor, a: Any, b: Any) -> Tensor:
    """:func:`_masked_chain` of maximum / minimum, laid out as PyTorch's ``where(a == b,
    g / 2, g).masked_fill_(...)``: the tie weights ``w`` in the elementwise layout of
    ``(a, b)``, then first (session 46; ``g`` first, as before, where a layout mark is on
    ``a`` or ``b``: ``input_first_grads.py``)."""
    if not plain_layout(a, b):
        return _masked_chain(g, w)
    wd = w._data
    if wd.ndim > 1:
        laid = in_elementwise_layout(wd, getattr(a, "_data", a), getattr(b, "_data", b))
        if laid is not wd:
            w = Tensor._make(laid, False, None, 0)
    return _masked_chain(g, w, first=True)


def _masked_chain(g: Tensor, w: Tensor, first: bool = False) -> Tensor:
    """``g * w`` for tie weights ``w`` (0, 0.5, 1), with 0 where ``w`` is 0 even where ``g``
    is NaN or infinite: the input that lost gets no gradient, as PyTorch's masked rule (a
    NaN gradient of max(x, 0.5) would otherwise reach the 0.5 through 0 * NaN). ``first``:
    ``w * g`` (the same values, laid out by ``w`` first: PyTorch's operand order where its
    backward reads the input first)."""
    out = w * g if first else g * w
    gd = g._data
    if get_array_module(gd).isfinite(gd).all():
        return out
    return where(w == 0, 0.0, out)


def _tie_weights(mine: Any, other: Any, first_loses: Any) -> Tensor:
    """0 where ``mine`` loses, 0.5 on ties, else 1 (also where either is NaN: the NaN result
    came from both): a constant derivative."""
    dtype = (mine if isinstance(mine, Tensor) else other).dtype
    u = mine._data if isinstance(mine, Tensor) else mine
    v = other._data if isinstance(other, Tensor) else other
    w = (~first_loses(u, v)).astype(dtype)
    w -= (u == v).astype(dtype) * 0.5
    return Tensor._make(w, False, None, 0)


@tensor_method(keywords=True)
def maximum(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    return _call(Maximum, "maximum", *_real_pair("maximum", input, other))


@tensor_method(keywords=True)
def minimum(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    return _call(Minimum, "minimum", *_real_pair("minimum", input, other))


@tensor_method(keywords=True)
def logaddexp(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """log(exp(input) + exp(other)) elementwise, with broadcasting (``torch.logaddexp``)."""
    tensor_argument("logaddexp", "input", 1, input)
    tensor_argument("logaddexp", "other", 2, other)
    if input._data.dtype.kind == "c" or other._data.dtype.kind == "c":
        return _call(ComplexLogAddExp, "logaddexp", input, other)  # its own kernel
    # the operands promote first (float32 with int32 is float32, bool with float64 float64)
    a, b = promote("logaddexp", input, other)
    if not dtypes.is_floating(a._data.dtype):
        raise NotImplementedError(
            f"logaddexp: not implemented for {a.dtype} (PyTorch computes it for floating "
            "and complex tensors only); use .float()"
        )
    return _call(LogAddExp, "logaddexp", a, b)


def _real_pair(op: str, a: Any, b: Any) -> tuple:
    """``maximum``/``minimum``'s operands: two tensors (PyTorch refuses a Python or NumPy
    number, a list, an array: TypeError), neither complex (no order: PyTorch's RuntimeError,
    here a DtypeError that is also the TypeError chainrule raised before)."""
    tensor_argument(op, "input", 1, a)
    tensor_argument(op, "other", 2, b)
    for v in (a, b):
        if v._data.dtype.kind == "c":
            raise DtypeError(
                f"{op} not implemented for complex tensors (complex numbers have no order)"
            )
    return a, b
