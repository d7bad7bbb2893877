"""``index_select`` and ``index_add`` as one graph node each, under PyTorch's names.

Both were compositions (``index_select`` an advanced subscript, ``IndexBackward0``;
``index_add`` a multiply, a broadcast index and a ``scatter_add``). As single nodes they
print as PyTorch's (``IndexSelectBackward0``, ``IndexAddBackward0``) and save what PyTorch's
save: the index (``index_select``: not the input, which may then be modified in place;
``index_add``: the index and ``source``).

The two are each other's adjoint along ``dim``:

* ``y = index_select(x, dim, idx)``: ``y[..., i, ...] = x[..., idx[i], ...]``; its gradient
  adds ``g[..., i, ...]`` into zeros of ``x``'s shape at ``idx[i]`` (an ``index_add``);
* ``y = index_add(x, dim, idx, s, alpha)``: ``y = x`` with ``alpha * s[..., i, ...]`` added
  at ``idx[i]``; ``dy/dx`` is the identity and ``dy/ds`` reads ``alpha * g`` at ``idx``
  (an ``index_select``).

So every rule, including double backward, is one of the two ops again. A 0-d ``x`` reads as
one element (PyTorch's rule): ``index_select`` then returns a 0-d result.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.saved_fields import given_dim, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["IndexAddFn", "IndexSelect", "index_added", "index_selected"]


def index_selected(x: Any, dim: int, idx: Any) -> Any:
    """``x``'s slices ``idx`` along ``dim`` (raw arrays; a 0-d ``x`` gives a 0-d result)."""
    xp = get_array_module(x)
    if x.ndim == 0:
        return xp.take(x.reshape(1), idx.reshape(-1)).reshape(())
    return xp.take(x, idx.reshape(-1), axis=dim)


def index_added(x: Any, dim: int, idx: Any, src: Any) -> Any:
    """A copy of ``x`` with ``src``'s slices added at ``idx`` along ``dim``; repeated indices
    accumulate (raw arrays; a 0-d ``x`` takes ``src``'s elements as its one element's)."""
    out = x.copy()
    if x.ndim == 0:
        view, where, src = out.reshape(1), (idx.reshape(-1),), src.reshape(-1)
    else:
        view, where = out, (slice(None),) * dim + (idx.reshape(-1),)
    xp = get_array_module(x)
    xp.add.at(view, where, src)  # cupy.add.at on the GPU
    return out


class IndexSelect(Function):
    """``x``'s slices at ``index`` along ``dim`` (``torch.index_select``). Saves the index
    (version-checked) and ``x``'s shape, as PyTorch's node: ``x`` itself may be modified in
    place after forward."""

    raw = True
    complex_grad = True  # a real-linear selection: its transpose is right for complex
    node_name = "IndexSelectBackward0"
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "dim": lambda n: given_dim(n, default=n.dim),  # as given where the op kept it
        "index": 0,
        "self_sym_sizes": lambda n: tuple(n.in_shape),
    }

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.in_shape, ctx.dim = x.shape, dim
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(index)
        return index_selected(x, dim, index)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        zeros = get_array_module(grad._data).zeros(ctx.in_shape, grad.dtype)
        gx = IndexAddFn.apply(Tensor._make(zeros, False, None, 0), ctx.dim, index, grad)
        gx._vc[0] = 1  # PyTorch's zeros.index_add_(...): version 1 (a leaf's .grad shows it)
        return gx, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else index_selected(t, ctx.dim, ctx.primals[2])


class IndexAddFn(Function):
    """``x`` with ``alpha * source`` added at ``index`` along ``dim`` (``torch.index_add``).
    Saves the index and ``source`` (PyTorch's node keeps both; the rule reads only the
    index, so modifying ``source`` in place after forward raises, as there)."""

    raw = True
    complex_grad = True  # real-linear in (x, source) for a real alpha
    node_name = ("IndexAddBackward0", (0, 3))
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py); index and source: saved
        "alpha": lambda n: n.alpha,  # only where the source needs a gradient, as PyTorch's
        "dim": lambda n: given_dim(n, default=n.dim),  # as given where the op kept it
        "index": 0,
        "source": 1,
        "source_dim": lambda n: given_value(
            n, "source_dim", len(n.input_meta[3][0]) if n.input_meta[3] else None
        ),
    }
    saved_optional_inputs = {0: 3, 1: 3}  # saved where the source needs a gradient: else None

    @staticmethod
    def forward(ctx, x, dim, index, source, alpha=1):
        ctx.dim, ctx.alpha = dim, alpha
        if ctx.needs_input_grad[3]:
            ctx.save_for_backward(index, source)
        if x.size == 0:  # nothing to add to (a source that needs a gradient gets here)
            return x.copy()
        src = source if _is_one(alpha) else (source * alpha).astype(x.dtype, copy=False)
        return index_added(x, dim, index, src)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.needs_input_grad[3]:
            return grad, None, None, None
        index, source = ctx.saved_tensors
        if grad.ndim and grad.shape[ctx.dim] == 0 and index.numel():
            # an empty self along dim (its index unchecked in forward): PyTorch's
            # grad.index_select(dim, index) refuses
            raise RuntimeError("index_select(): self indexing axis dim should be positive")
        gs = IndexSelect.apply(grad, ctx.dim, index)
        if source.ndim == 0 and gs.ndim != 0:  # one index into a 0-d self: source 0-d too
            gs = gs.reshape(())
        if not _is_one(ctx.alpha):
            gs = gs * ctx.alpha
        return grad, None, None, gs

    @staticmethod
    def jvp(ctx, tx, _dim, _index, ts):
        out = ctx.out
        tx = get_array_module(out).zeros(out.shape, out.dtype) if tx is None else tx
        if ts is None or out.size == 0:
            return tx
        if not _is_one(ctx.alpha):
            ts = ts * ctx.alpha
        return index_added(tx, ctx.dim, ctx.primals[2], ts)


def _is_one(alpha: Any) -> bool:
    return isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha == 1
