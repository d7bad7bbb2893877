"""``scatter_reduce``: reduce ``src`` into ``x`` at the positions an index names along a dim,
with ``reduce`` one of ``sum``, ``prod``, ``mean``, ``amax``, ``amin``.

The value is computed with NumPy's ``ufunc.at`` (exact, any dtype; on the GPU with CuPy's
``add.at`` for sum and mean, on the host otherwise: see :func:`_value`). For floating tensors
the result is one node, PyTorch's ``ScatterReduceBackward0`` (``index_reduce``'s
``IndexReduceBackward0``, :class:`ScatterReduceNode`): its first-order gradient and tangent
are computed on plain arrays with PyTorch's rules, and under ``create_graph`` its gradient is
taken through the same result expressed with differentiable ops (:func:`_composite`), whose
derivatives are PyTorch's:

    sum   scatter_add into ``x`` (``x`` zeroed at the written positions without include_self)
    mean  that sum divided by the number of contributions (a constant)
    amax  PyTorch's rule: the gradient is shared evenly by every contribution (self and
    amin  src) equal to the result: ``r + (sum of (v - r) over ties) / count`` (as PyTorch,
          ``count`` includes a tying self even with ``include_self=False``)
    prod  ``r * exp(L - L0)`` with ``L`` the scatter-sum of ``log|v|``: equal to the product
          near the input, so every derivative order is right. With a zero among the
          inputs: PyTorch's first-order rule (:class:`_ProdZeros`); no double backward.

The argument checks (PyTorch's order and words, physical under vmap) live in
``scatter_reduce_checks.py``, the value kernel in ``scatter_reduce_value.py``, the prod
derivatives in ``scatter_reduce_prod.py``, the refusals for a ``src`` larger than the index
in ``scatter_reduce_larger_src.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import grad as _autograd_grad
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module
from ..qtypes import scalar_type_name
from ._util import DtypeError, constant
from .binary import where
from .binding import tensor_method
from .gather_scatter import Scatter, ScatterAdd, _full_index, gather
from .scatter_reduce_checks import check_shapes, check_values
from .scatter_reduce_larger_src import refuse_larger_src
from .scatter_reduce_prod import _prod, _prod_coefficients
from .scatter_reduce_value import _add_counts, _value

__all__ = ["IndexReduceNode", "ScatterReduceNode", "reduce_node", "scatter_reduce"]

_REDUCES = ("sum", "prod", "mean", "amax", "amin")
_LEGACY = {"max": "amax", "min": "amin"}  # PyTorch accepts these (undocumented) too


@tensor_method(inplace=True)
def scatter_reduce(
    input: Tensor,
    dim: int,
    index: Any,
    src: Any,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` along ``dim`` (torch.scatter_reduce)."""
    reduce = _LEGACY.get(reduce, reduce) if isinstance(reduce, str) else reduce
    if reduce not in _REDUCES:
        raise RuntimeError(  # PyTorch's words (the name as given, unquoted)
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if _vmap.state.vmap:  # inside cr.func.vmap: batched arguments run per sample
        # in here: func imports the ops (a cycle)
        from ..func._per_sample import batch_levels, full_array, per_sample  # noqa: PLC0415

        levels = batch_levels(input, index, src)
        if levels:  # PyTorch's words name the physical dims and shapes (batch dims first)
            prefix = tuple(lv.size for lv in levels)
            d, idx, s = check_shapes(input, dim, index, src, prefix)
            _check_kernel(input, s, reduce)
            check_values(input, d, idx, s, levels, full_array)
        res = per_sample(scatter_reduce, input, dim, index, src, reduce, include_self=include_self)
        if res is not NotImplemented:
            return res
    d, idx, s = check_shapes(input, dim, index, src)
    _check_kernel(input, s, reduce)
    check_values(input, d, idx, s, [], None)
    if idx.ndim == 0 and input.ndim == 1:  # a 0-d index names one element (src read as 1-d)
        idx, s = idx.reshape(1), s.reshape(-1)
    if input.ndim == 0:  # a 0-d tensor acts as one element along dim 0 (a copy, not a view:
        one = input.reshape(1).clone()  # the node saves it, and scatter_reduce_ writes input)
        out = scatter_reduce(
            one, 0, idx.reshape(-1), s.reshape(-1), reduce, include_self=include_self
        )
        return out.reshape(())
    out = reduce_node(ScatterReduceNode, input, d, idx, s, reduce, include_self, None)
    if out is None:
        return constant(_value(input._data, d, idx._data, s._data, reduce, include_self)[0])
    return given(out, dim=dim)


def _check_kernel(x: Tensor, s: Tensor, reduce: str) -> None:
    """The dtypes PyTorch's CPU kernel has no reduction for (its words), then complex
    tensors' refusals (:func:`check_complex_reduce`)."""
    kind = x._data.dtype.kind
    if (reduce == "mean" and kind == "b") or (reduce in ("amax", "amin") and kind == "c"):
        raise DtypeError(
            f'"scatter_gather_tensor_cpu_reduce_{reduce}" not implemented for '
            f"'{scalar_type_name(x._data.dtype)}'"
        )
    if kind == "c":
        check_complex_reduce("scatter_reduce", x, s, reduce)


def reduce_node(
    cls: type,
    x: Tensor,
    d: int,
    idx: Tensor,
    s: Tensor,
    reduce: str,
    include_self: bool,
    vec: Tensor | None,
) -> Tensor | None:
    """``cls``'s node (:class:`ScatterReduceNode` or :class:`IndexReduceNode`) reducing ``s``
    into ``x`` at ``idx`` (one index per element of ``s``) when a floating result records a
    gradient or carries a tangent; None otherwise (the caller returns the plain value)."""
    recorded = grad_mode.is_grad_enabled() and (x.requires_grad or s.requires_grad)
    tangents = x._fw_tangent is not None or s._fw_tangent is not None
    if x.dtype.kind not in "fV" or not (recorded or tangents):  # V: bfloat16
        return None
    return cls.apply(x, s, d, idx, reduce, include_self, vec)


class ScatterReduceNode(Function):
    """``scatter_reduce`` of floating tensors as one node, PyTorch's ``ScatterReduceBackward0``
    (saving ``self``, ``src``, ``index``, ``result``, ``dim``, ``reduce``, ``include_self``).

    The value is :func:`_value`'s; the first-order gradient and the tangent are computed on
    plain arrays with PyTorch's rules (the module doc); under ``create_graph`` the gradient
    is taken through :func:`_composite` (the same value as differentiable ops) rebuilt from
    the saved inputs, so every higher order is the composite's. ``vec`` (index_reduce's
    index vector, or None) is kept for :class:`IndexReduceNode`'s ``_saved_index``."""

    raw = True
    node_name = ("ScatterReduceBackward0", (0, 1))
    saved_fields = {
        "dim": lambda n: given_dim(n, "dim", n.d),
        "include_self": lambda n: n.include_self,
        "index": 2,
        "reduce": lambda n: n.reduce,
        "result": 3,
        "self": 0,
        "src": 1,
    }

    @staticmethod
    def forward(ctx, x, src, d, idx, reduce, include_self, vec):
        r, count, written = _value(x, d, idx, src, reduce, include_self)
        ctx.d, ctx.reduce, ctx.include_self = d, reduce, include_self
        ctx.count, ctx.written = count, written
        ctx.save_for_backward(x, src, idx, r, vec)
        return r

    @staticmethod
    def backward(ctx, grad):
        xt, st, it, rt, _ = ctx.saved_tensors
        refuse_larger_src(ctx.reduce, st.shape, it.shape, ctx.needs_input_grad[1])
        if ctx.create_graph:
            return _composite_grads(ctx, (xt, st, it, rt), grad)
        x, src, idx, r = xt._data, st._data, it._data, rt._data
        g = grad._data.astype(x.dtype, copy=False)
        cx, cs = _coefficients(ctx, x, src, idx, r)
        xp = get_array_module(x)
        full, part = _full_index(idx, ctx.d), tuple(slice(0, n) for n in idx.shape)
        gx = gs = None
        if ctx.needs_input_grad[0]:
            gx = Tensor._make((g * cx).astype(x.dtype, copy=False), False, None, 0)
        if ctx.needs_input_grad[1]:
            ga = xp.zeros(src.shape, src.dtype)
            ga[part] = g[full] * cs
            gs = Tensor._make(ga, False, None, 0)
        return gx, gs, None, None, None, None, None

    @staticmethod
    def jvp(ctx, tx, ts, *_):
        x, src, idx, r = ctx.saved_arrays[:4]
        refuse_larger_src(ctx.reduce, src.shape, idx.shape, ts is not None, forward=True)
        cx, cs = _coefficients(ctx, x, src, idx, r, forward=True)
        xp = get_array_module(x)
        if tx is not None:
            # a self that does not count (excluded, or not the max / min) drops its tangent
            # rather than multiplying it by 0: a NaN tangent there gives 0, as PyTorch's
            # rules (a scatter over a zeroed self, a masked self) give
            tx = xp.where(cx == 0, 0, tx)
        out = xp.zeros(x.shape, x.dtype) if tx is None else (tx * cx).astype(x.dtype)
        if ts is not None:
            part = tuple(slice(0, n) for n in idx.shape)
            xp.add.at(out, _full_index(idx, ctx.d), ts[part] * cs)
        return out


class IndexReduceNode(ScatterReduceNode):
    """``index_reduce`` as one node, PyTorch's ``IndexReduceBackward0``: scatter_reduce's
    node with index_reduce's saved names (``source``, the index vector as given)."""

    node_name = ("IndexReduceBackward0", (0, 1))
    saved_fields = {
        "dim": lambda n: given_dim(n, "dim", n.d),
        "include_self": lambda n: n.include_self,
        "index": 4,
        "reduce": lambda n: n.reduce,
        "result": 3,
        "self": 0,
        "source": 1,
    }


def _coefficients(ctx: Any, x: Any, src: Any, idx: Any, r: Any, forward: bool = False) -> tuple:
    """d result / d self (x's shape) and d result[index] / d src (the index's shape), as
    PyTorch's backward (``forward``: its forward-mode rule, which differs for amax / amin
    without include_self: an excluded self that ties is not counted)."""
    reduce, include_self, d = ctx.reduce, ctx.include_self, ctx.d
    xp = get_array_module(x)
    full, part = _full_index(idx, d), tuple(slice(0, n) for n in idx.shape)
    if reduce == "prod":
        if (x == 0).any() or (src[part] == 0).any():
            return _prod_coefficients(x, src, d, idx, include_self, r)
        with errstate(xp, all="ignore"):  # no zeros: r / v (PyTorch's rule there)
            cx = r / x
            if not include_self:
                cx = xp.where(ctx.written, 0, cx).astype(x.dtype, copy=False)
            return cx, r[full] / src[part]
    dt = x.dtype
    if reduce in ("sum", "mean"):
        scale = xp.ones(x.shape, dt)
        if reduce == "mean":
            scale = scale / xp.maximum(ctx.count, 1).astype(dt)
        cx = scale if include_self else xp.where(ctx.written, 0, scale).astype(dt)
        return cx, scale[full]
    tie_src = src[part] == r[full]
    self_ties = x == r
    ties = self_ties.astype(np.int64)
    _add_counts(ties, full, tie_src)
    if forward and not include_self:
        ties = ties - (self_ties & ctx.written)
    share = 1 / xp.maximum(ties, 1).astype(dt)
    tie_self = self_ties if include_self else ~ctx.written
    return xp.where(tie_self, share, 0).astype(dt), xp.where(tie_src, share[full], 0).astype(dt)


def _composite_grads(ctx: Any, saved: tuple, grad: Tensor) -> tuple:
    """The gradients through :func:`_composite` rebuilt from the saved inputs, recorded
    (``create_graph``): the composite's double backward and beyond."""
    needs = ctx.needs_input_grad
    with grad_mode.enable_grad():
        # each input through its own alias: src computed from self (or self from src) must
        # not carry a second path into the other's gradient
        xt, st = (t.view_as(t) if t.requires_grad else t for t in saved[:2])
        it, rt = saved[2:]
        out = _composite(
            xt, ctx.d, it, st, rt._data, ctx.count, ctx.written, ctx.reduce, ctx.include_self, False
        )
    inputs = [t for t, n in zip((xt, st), needs[:2]) if n]
    grads = list(_autograd_grad(out, inputs, grad, create_graph=True, allow_unused=True))
    gx = grads.pop(0) if needs[0] else None
    gs = grads.pop(0) if needs[1] else None
    return gx, gs, None, None, None, None, None


def _composite(
    input: Tensor,
    d: int,
    idx: Tensor,
    s: Tensor,
    r: Any,
    count: Any,
    written: Any,
    reduce: str,
    include_self: bool,
    tangents: bool,
) -> Tensor:
    """The reduction's value ``r`` as differentiable ops whose derivatives are PyTorch's
    (the module doc)."""
    xp = get_array_module(r)
    kept = input if include_self else Scatter.apply(input, d, idx, 0.0)
    if reduce in ("sum", "mean"):
        total = ScatterAdd.apply(kept, d, idx, s)
        return total if reduce == "sum" else total / constant(xp.maximum(count, 1).astype(r.dtype))
    if reduce == "prod":
        return _prod(input, d, idx, s, r, include_self)
    rc = constant(r)
    tie_self = (input._data == r) if include_self else ~written
    tie_src = s._data[tuple(slice(0, n) for n in idx.shape)] == gather(rc, d, idx)._data
    # PyTorch counts self among the ties even without include_self (self then receives no
    # gradient at the written positions, but still takes its share from src's)
    ties = (input._data == r).astype(np.int64)
    _add_counts(ties, _full_index(idx._data, d), tie_src)
    zero = constant(xp.zeros((), r.dtype))
    # the deviations are taken from a finite base: at an infinite result the ties are that
    # infinity and inf - inf would be NaN; there the base is 0 and the mean of the tied
    # values (all the same infinity) is the result itself
    base = constant(xp.where(xp.isinf(r), 0, r).astype(r.dtype, copy=False))
    dev_self = where(constant(tie_self), input - base, zero)
    s_part = s[tuple(slice(0, n) for n in idx.shape)]
    dev_src = where(constant(tie_src), s_part - gather(base, d, idx), zero)
    spread = ScatterAdd.apply(dev_self, d, idx, dev_src)
    out = base + spread / constant(xp.maximum(ties, 1).astype(r.dtype))
    if include_self or not tangents:
        return out
    # forward mode: PyTorch's tangent counts only the contributions (not an excluded self
    # that ties), the exact derivative; its backward above keeps counting that self
    ties_fw = ties - ((input._data == r) & written)
    if (ties_fw == ties).all():
        return out
    return _GradFromFirst.apply(
        out, base + spread / constant(xp.maximum(ties_fw, 1).astype(r.dtype))
    )


class _GradFromFirst(Function):
    """Two tensors of one value: the value and gradient of the first, the tangent of the
    second (for a backward rule and a forward rule that differ, as PyTorch's)."""

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        return a

    @staticmethod
    def backward(ctx, grad):
        return grad, None

    @staticmethod
    def jvp(ctx, ta, tb):
        return tb


def check_complex_reduce(op: str, x: Tensor, s: Tensor, reduce: str) -> None:
    """Complex ``x`` and ``src``: amax/amin have no order to take (PyTorch's
    NotImplementedError), and no reduction records a gradient (PyTorch's RuntimeError, where
    the real path below would return a constant without one)."""
    if reduce in ("amax", "amin"):
        raise DtypeError(
            f"{op}(): reduce={reduce!r} is not implemented for complex tensors ({x.dtype}): "
            "complex numbers have no order"
        )
    recorded = grad_mode.is_grad_enabled() and (x.requires_grad or s.requires_grad)
    if recorded or x._fw_tangent is not None or s._fw_tangent is not None:
        raise RuntimeError(
            f"{op} does not support automatic differentiation for outputs with complex dtype."
        )
