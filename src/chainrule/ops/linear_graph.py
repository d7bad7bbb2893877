"""The Functions of ``F.linear``'s and ``F.bilinear``'s graphs as PyTorch records them
(``nn/functional/linear.py`` composes them; Functions live in ``ops``, not ``nn.functional``):
``addmm(b, x, w.t())`` given the transposed weight (:class:`LinearOfTransposedFn` under a
``TBackward0``, :class:`WeightT`), matmul's ``squeeze`` and ``_unsafe_view`` around other input
ranks, and ``_trilinear`` (:class:`TrilinearFn`)."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.lower_precision import AUTOCAST
from ..autograd.saved_fields import product_fields
from ..autograd.tensor import Tensor
from ._first_order import autocast_products
from ._util import wide
from .affine import LinearFn, _linear_backward_arrays, _recorded_backward
from .einsum import einsum
from .linalg import matmul
from .matmul_autocast import autocast_trilinear_grads
from .permutations import Permute
from .views import Reshape

__all__ = ["LinearOfTransposedFn", "SqueezeDims", "TrilinearFn", "UnsafeView", "WeightT"]


class LinearOfTransposedFn(LinearFn):
    """:class:`LinearFn` given ``weight.t()`` (PyTorch's ``addmm(b, x, w.t())`` / ``mm``:
    the node lists a ``TBackward0`` before the weight). The same GEMMs on the weight's own
    memory (``wt.T`` is the weight's array); the weight's gradient returned transposed (a
    view), which ``TBackward0`` turns back."""

    @staticmethod
    def node_name(ctx):  # addmm whenever a bias is given (one not requiring grad: None)
        if ctx.__dict__.get("has_bias", True):
            return "AddmmBackward0", (2, 0, 1)
        return "MmBackward0", (0, 1)

    @staticmethod
    def saved_fields(node):  # as LinearFn's, the saved matrix being weight.t() itself
        names = ("self", "mat2") if node.name() == "MmBackward0" else ("mat1", "mat2")
        fields = product_fields(names, (0, 1))
        # PyTorch keeps each matrix only where the other's gradient reads it
        fields[names[0]] = (0, lambda n, t: t if n.needs_input_grad[1] else None)
        fields[names[1]] = (1, lambda n, t: t if n.needs_input_grad[0] else None)
        if names[0] == "self":
            return fields
        return {"alpha": lambda n: 1, "beta": lambda n: 1, **fields}

    @staticmethod
    def forward(ctx, x, wt, b):
        y = LinearFn.forward(ctx, x, wt.T, b)
        needs = ctx.needs_input_grad  # each where the other's gradient reads it (LinearFn)
        ctx.save_for_backward(x if needs[1] else None, wt if needs[0] else None)
        ctx.has_bias = b is not None
        return y

    @staticmethod
    def backward(ctx, grad):
        x, wt = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if AUTOCAST[0]:  # inside an autocast block: PyTorch's mm operands are cast (LinearFn)
            gc, xc, wtc = autocast_products(grad, x, wt)
            if gc is not grad:  # (the engine casts the products back; the bias's sum uncast)
                w = None if wtc is None else wtc.t()
                gx, gw, _ = _recorded_backward(gc, xc, w, needs[:2])
                gb = grad.sum(0) if len(needs) > 2 and needs[2] else None
                return gx, None if gw is None else gw.t(), gb
        if not ctx.create_graph:
            xa = None if x is None else x._data
            gx, gw, gb = _linear_backward_arrays(
                xa, None if wt is None else wt._data.T, grad._data, needs
            )
            if gw is not None:
                gw = gw._data
                edge = ctx.next_edges[1]
                if gw.base is None and type(edge) is tuple:  # a fresh array: TBackward0
                    edge[0]._fresh = gw  # may hand it on as it is (WeightT)
                gw = Tensor._make(gw.T, False, None, 0)
            return gx, gw, gb
        gx = gw = gb = None
        if needs[0]:
            gx = matmul(grad, wt.t())
        if needs[1]:
            gw = matmul(x.t(), grad)
        if len(needs) > 2 and needs[2]:
            gb = grad.sum(0)
        return gx, gw, gb

    @staticmethod
    def jvp(ctx, tx, tw, tb):
        x, wt, _ = ctx.primals
        out = None if tx is None else tx @ wt
        if tw is not None:
            out = x @ tw if out is None else out + x @ tw
        if tb is not None:
            out = tb if out is None else out + tb
        return out


class WeightT(Permute):
    """``weight.t()`` for F.linear (``TBackward0``). Its backward hands the weight the array
    that :class:`LinearOfTransposedFn` computed, not a transposed view of its transpose (a
    view would be copied again on its way into ``weight.grad``)."""

    node_name = "TBackward0"

    @staticmethod
    def backward(ctx, grad):
        fresh = ctx.__dict__.pop("_fresh", None)  # LinearOfTransposedFn's own new array
        if fresh is not None and type(grad) is Tensor and grad._data.base is fresh:
            a = grad._data
            if a.shape == fresh.shape[::-1] and a.flags.f_contiguous and fresh.flags.c_contiguous:
                return Tensor._make(fresh, False, None, 0), None  # fresh.T.T: fresh itself
        return Permute.backward(ctx, grad)


class SqueezeDims(Reshape):
    """``squeeze(0)`` of matmul's 1-d result as PyTorch's (``squeeze.dims``)."""

    node_name = "SqueezeBackward4"
    saved_fields = {"dim": lambda n: 0, "self_sym_sizes": lambda n: tuple(n.in_shape)}


class UnsafeView(Reshape):
    """PyTorch's ``_unsafe_view`` (matmul's fold back of the leading dims): the reshape's
    math, a result that is not a view (its own ``UnsafeViewBackward0``)."""

    node_name = "UnsafeViewBackward0"
    saved_fields = {"self_sym_sizes": lambda n: tuple(n.in_shape)}


class TrilinearFn(Function):
    """``y[n, k] = Σ_ij a[n, i] w[k, i, j] c[n, j]``: PyTorch's ``_trilinear`` as bilinear
    calls it (``TrilinearBackward0``); each gradient the other two contracted with it."""

    node_name = "TrilinearBackward0"
    saved_fields = {  # grad_fn._saved_* as PyTorch's (bilinear's fixed dims)
        "expand1": lambda n: (1, 3),
        "expand2": lambda n: (0,),
        "expand3": lambda n: (1, 2),
        "i1": 0,
        "i2": 1,
        "i3": 2,
        "sumdim": lambda n: (2, 3),
    }
    raw = True

    @staticmethod
    def forward(ctx, a, w, c):
        ctx.save_for_backward(a, w, c)
        y = np.einsum("ni,kij,nj->nk", wide(a), wide(w), wide(c), optimize=True)
        return np.asarray(y, dtype=a.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, w, c = ctx.saved_tensors
        if AUTOCAST[0]:  # inside a block: PyTorch's bmm products cast (matmul_autocast.py)
            cast = autocast_trilinear_grads(matmul, ctx, grad, a, w, c)
            if cast is not None:
                return cast
        needs = ctx.needs_input_grad
        ga = einsum("nk,kij,nj->ni", grad, w, c) if needs[0] else None
        gw = einsum("nk,ni,nj->kij", grad, a, c) if needs[1] else None
        gc = einsum("nk,kij,ni->nj", grad, w, a) if needs[2] else None
        return ga, gw, gc

    @staticmethod
    def jvp(ctx, ta, tw, tc):
        a, w, c = ctx.primals
        out = None
        for spec, ops in (
            ("ni,kij,nj->nk", (ta, w, c)),
            ("ni,kij,nj->nk", (a, tw, c)),
            ("ni,kij,nj->nk", (a, w, tc)),
        ):
            if all(o is not None for o in ops):
                term = np.einsum(spec, *ops, optimize=True)
                out = term if out is None else out + term
        return out
